//! The node's keystore, in Substrate's layout: one file per key in the keystore
//! directory, named `hex(key_type) ++ hex(public key)`, holding the secret URI (or the
//! `0x` seed of a generated key) as a JSON string. Files are written 0600 in a 0700
//! directory: only the node's user reads its keys. The key type names the scheme:
//! `gran` keys are ed25519 (GRANDPA), every other type is sr25519 (`aura`, ...).
//! `author_insertKey` and `author_rotateKeys` write here; authoring and finality read
//! their session keys here.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use arceon_primitives::{
    ed25519, key_scheme,
    keyring::{ed25519_pair_from_suri, pair_from_suri},
    sr25519, KeyScheme, KeyTypeId, SessionKeys, AURA_KEY_TYPE, GRANDPA_KEY_TYPE,
};
use sp_core::Pair as _;

/// Why a key could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The key type is not four ASCII bytes such as `aura`.
    #[error("key type must be 4 ASCII characters (e.g. 'aura'), got '{0}'")]
    BadKeyType(String),
    /// The secret URI is not a valid secret for the key type's scheme.
    #[error("invalid secret URI: {0}")]
    BadSuri(String),
    /// The given public key is not the one the secret derives.
    #[error("the public key does not match the secret")]
    PublicMismatch,
    /// The keystore directory could not be read or written.
    #[error("keystore I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Keys stored on disk.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

/// The public key `suri` derives under `scheme`.
fn derive_public(scheme: KeyScheme, suri: &str) -> Result<Vec<u8>, KeystoreError> {
    Ok(match scheme {
        KeyScheme::Sr25519 => pair_from_suri(suri)
            .map_err(KeystoreError::BadSuri)?
            .public()
            .0
            .to_vec(),
        KeyScheme::Ed25519 => ed25519_pair_from_suri(suri)
            .map_err(KeystoreError::BadSuri)?
            .public()
            .0
            .to_vec(),
    })
}

impl Keystore {
    /// A keystore in `dir` (created 0700 if missing).
    pub fn open(dir: &Path) -> Result<Keystore, KeystoreError> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Keystore {
            dir: dir.to_path_buf(),
        })
    }

    /// Parses a key type name such as `aura`.
    pub fn key_type(key_type: &str) -> Result<KeyTypeId, KeystoreError> {
        let bytes = key_type.as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Err(KeystoreError::BadKeyType(key_type.into()));
        }
        Ok([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    fn file(&self, key_type: KeyTypeId, public: &[u8]) -> PathBuf {
        self.dir
            .join(format!("{}{}", hex::encode(key_type), hex::encode(public)))
    }

    /// Writes `suri` for the key, readable by the owner only, replacing it atomically.
    fn write(&self, key_type: KeyTypeId, public: &[u8], suri: &str) -> Result<(), KeystoreError> {
        let json = serde_json::to_string(suri).map_err(|e| std::io::Error::other(e.to_string()))?;
        let path = self.file(key_type, public);
        let tmp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(json.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// Stores the key `suri` under `key_type` (sr25519, or ed25519 for `gran`); if
    /// `public` is given it must match. Returns the public key.
    pub fn insert(
        &self,
        key_type: &str,
        suri: &str,
        public: Option<&[u8]>,
    ) -> Result<Vec<u8>, KeystoreError> {
        let key_type = Self::key_type(key_type)?;
        let derived = derive_public(key_scheme(key_type), suri)?;
        if let Some(public) = public {
            if public != derived.as_slice() {
                return Err(KeystoreError::PublicMismatch);
            }
        }
        self.write(key_type, &derived, suri)?;
        Ok(derived)
    }

    /// Creates a fresh random key of `key_type` and returns its public key.
    pub fn generate(&self, key_type: KeyTypeId) -> Result<Vec<u8>, KeystoreError> {
        // 32 random bytes from the OS: a mini-secret for sr25519, a seed for ed25519.
        let (_, seed) = ed25519::Pair::generate();
        let suri = format!("0x{}", hex::encode(seed));
        let public = derive_public(key_scheme(key_type), &suri)?;
        self.write(key_type, &public, &suri)?;
        Ok(public)
    }

    /// Creates fresh session keys (Aura sr25519, GRANDPA ed25519), as
    /// `author_rotateKeys` does.
    pub fn generate_session_keys(&self) -> Result<SessionKeys, KeystoreError> {
        let aura = self.generate(AURA_KEY_TYPE)?;
        let grandpa = self.generate(GRANDPA_KEY_TYPE)?;
        let mut both = aura;
        both.extend_from_slice(&grandpa);
        SessionKeys::from_bytes(&both).map_err(KeystoreError::BadSuri)
    }

    /// Stores the session keys `suri` derives (a dev validator's `//Alice`).
    pub fn insert_session_keys(&self, suri: &str) -> Result<SessionKeys, KeystoreError> {
        let keys = SessionKeys::from_suri(suri).map_err(KeystoreError::BadSuri)?;
        self.insert("aura", suri, Some(keys.aura.as_ref()))?;
        self.insert("gran", suri, Some(keys.grandpa.as_ref()))?;
        Ok(keys)
    }

    /// Whether a key of `key_type` with this public key is stored.
    pub fn has_key(&self, key_type: &str, public: &[u8]) -> Result<bool, KeystoreError> {
        let key_type = Self::key_type(key_type)?;
        Ok(self.file(key_type, public).exists())
    }

    /// Whether every key of `keys` is stored (`author_hasSessionKeys`).
    pub fn has_session_keys(&self, keys: &SessionKeys) -> Result<bool, KeystoreError> {
        Ok(self.has_key("aura", keys.aura.as_ref())?
            && self.has_key("gran", keys.grandpa.as_ref())?)
    }

    /// The secret URI stored for a key, if any.
    fn suri(&self, key_type: &str, public: &[u8]) -> Result<Option<String>, KeystoreError> {
        let key_type = Self::key_type(key_type)?;
        let path = self.file(key_type, public);
        let json = match std::fs::read_to_string(&path) {
            Ok(json) => json,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let suri: String = serde_json::from_str(&json)
            .map_err(|e| KeystoreError::BadSuri(format!("{}: {e}", path.display())))?;
        Ok(Some(suri))
    }

    /// The stored sr25519 key of `key_type` with this public key.
    pub fn pair(
        &self,
        key_type: &str,
        public: &sr25519::Public,
    ) -> Result<Option<sr25519::Pair>, KeystoreError> {
        let Some(suri) = self.suri(key_type, public.as_ref())? else {
            return Ok(None);
        };
        let pair = pair_from_suri(&suri).map_err(KeystoreError::BadSuri)?;
        if pair.public() != *public {
            return Err(KeystoreError::PublicMismatch);
        }
        Ok(Some(pair))
    }

    /// The stored ed25519 key of `key_type` with this public key.
    pub fn ed25519_pair(
        &self,
        key_type: &str,
        public: &ed25519::Public,
    ) -> Result<Option<ed25519::Pair>, KeystoreError> {
        let Some(suri) = self.suri(key_type, public.as_ref())? else {
            return Ok(None);
        };
        let pair = ed25519_pair_from_suri(&suri).map_err(KeystoreError::BadSuri)?;
        if pair.public() != *public {
            return Err(KeystoreError::PublicMismatch);
        }
        Ok(Some(pair))
    }

    /// The first stored sr25519 key of `key_type` among `candidates` (the authorities).
    pub fn find(
        &self,
        key_type: &str,
        candidates: &[sr25519::Public],
    ) -> Result<Option<sr25519::Pair>, KeystoreError> {
        for public in candidates {
            if let Some(pair) = self.pair(key_type, public)? {
                return Ok(Some(pair));
            }
        }
        Ok(None)
    }

    /// The first stored ed25519 key of `key_type` among `candidates` (the voters).
    pub fn find_ed25519(
        &self,
        key_type: &str,
        candidates: &[ed25519::Public],
    ) -> Result<Option<ed25519::Pair>, KeystoreError> {
        for public in candidates {
            if let Some(pair) = self.ed25519_pair(key_type, public)? {
                return Ok(Some(pair));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_primitives::keyring::Keyring;

    #[test]
    fn keys_round_trip_and_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Keystore::open(dir.path()).expect("open");
        let alice = Keyring::Alice.public();
        assert!(!store.has_key("aura", alice.as_ref()).expect("has"));
        store
            .insert("aura", "//Alice", Some(alice.as_ref()))
            .expect("insert");
        assert!(store.has_key("aura", alice.as_ref()).expect("has"));
        let pair = store.pair("aura", &alice).expect("read").expect("present");
        assert_eq!(pair.public(), alice);
        assert!(matches!(
            store.insert("aura", "//Bob", Some(alice.as_ref())),
            Err(KeystoreError::PublicMismatch)
        ));
        assert!(matches!(
            store.insert("toolong", "//Bob", None),
            Err(KeystoreError::BadKeyType(_))
        ));
        let bob = Keyring::Bob.public();
        let found = store
            .find("aura", &[bob, alice])
            .expect("find")
            .expect("alice");
        assert_eq!(found.public(), alice);
    }

    #[test]
    fn session_keys_are_generated_with_their_schemes_and_kept_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Keystore::open(&dir.path().join("keystore")).expect("open");
        let keys = store.generate_session_keys().expect("generate");
        assert!(store.has_session_keys(&keys).expect("has"));
        let aura = store.pair("aura", &keys.aura).expect("read").expect("aura");
        assert_eq!(aura.public(), keys.aura);
        let gran = store
            .ed25519_pair("gran", &keys.grandpa)
            .expect("read")
            .expect("gran");
        assert_eq!(gran.public(), keys.grandpa);
        // A second rotation gives different keys.
        let again = store.generate_session_keys().expect("generate");
        assert_ne!(again, keys);
        // Dev keys: the same seed as sr25519 and ed25519.
        let alice = store.insert_session_keys("//Alice").expect("dev keys");
        assert_eq!(alice, Keyring::Alice.session_keys());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let dir_mode = std::fs::metadata(dir.path().join("keystore"))
                .expect("dir")
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
            for entry in std::fs::read_dir(dir.path().join("keystore")).expect("list") {
                let mode = entry
                    .expect("entry")
                    .metadata()
                    .expect("meta")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "key files are private");
            }
        }
        // An ed25519 secret under `gran` is checked against its own public key.
        assert!(matches!(
            store.insert("gran", "//Bob", Some(Keyring::Bob.public().as_ref())),
            Err(KeystoreError::PublicMismatch)
        ));
    }
}
