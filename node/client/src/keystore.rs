//! The node's keystore, in Substrate's layout: one file per key in the keystore
//! directory, named `hex(key_type) ++ hex(public key)`, holding the secret URI as a JSON
//! string. `author_insertKey` writes here; the authoring task reads its Aura key here.

use std::path::{Path, PathBuf};

use arceon_primitives::{keyring::pair_from_suri, sr25519};
use sp_core::Pair as _;

/// Why a key could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The key type is not four ASCII bytes such as `aura`.
    #[error("key type must be 4 ASCII characters (e.g. 'aura'), got '{0}'")]
    BadKeyType(String),
    /// The secret URI is not a valid sr25519 secret.
    #[error("invalid secret URI: {0}")]
    BadSuri(String),
    /// The given public key is not the one the secret derives.
    #[error("the public key does not match the secret")]
    PublicMismatch,
    /// The keystore directory could not be read or written.
    #[error("keystore I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Keys stored on disk (or only in memory for `--tmp`/dev nodes without a base path).
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// A keystore in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<Keystore, KeystoreError> {
        std::fs::create_dir_all(dir)?;
        Ok(Keystore {
            dir: dir.to_path_buf(),
        })
    }

    fn key_type(key_type: &str) -> Result<[u8; 4], KeystoreError> {
        let bytes = key_type.as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Err(KeystoreError::BadKeyType(key_type.into()));
        }
        Ok([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    fn file(&self, key_type: [u8; 4], public: &[u8]) -> PathBuf {
        self.dir
            .join(format!("{}{}", hex::encode(key_type), hex::encode(public)))
    }

    /// Stores the sr25519 key `suri` under `key_type`; if `public` is given it must match.
    pub fn insert(
        &self,
        key_type: &str,
        suri: &str,
        public: Option<&[u8]>,
    ) -> Result<sr25519::Public, KeystoreError> {
        let key_type = Self::key_type(key_type)?;
        let pair = pair_from_suri(suri).map_err(KeystoreError::BadSuri)?;
        let derived = pair.public();
        if let Some(public) = public {
            if public != derived.as_ref() as &[u8] {
                return Err(KeystoreError::PublicMismatch);
            }
        }
        let json = serde_json::to_string(suri).map_err(|e| std::io::Error::other(e.to_string()))?;
        std::fs::write(self.file(key_type, derived.as_ref()), json)?;
        Ok(derived)
    }

    /// Whether a key of `key_type` with this public key is stored.
    pub fn has_key(&self, key_type: &str, public: &[u8]) -> Result<bool, KeystoreError> {
        let key_type = Self::key_type(key_type)?;
        Ok(self.file(key_type, public).exists())
    }

    /// The stored key of `key_type` with this public key.
    pub fn pair(
        &self,
        key_type: &str,
        public: &sr25519::Public,
    ) -> Result<Option<sr25519::Pair>, KeystoreError> {
        let key_type = Self::key_type(key_type)?;
        let path = self.file(key_type, public.as_ref());
        let json = match std::fs::read_to_string(&path) {
            Ok(json) => json,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let suri: String = serde_json::from_str(&json)
            .map_err(|e| KeystoreError::BadSuri(format!("{}: {e}", path.display())))?;
        let pair = pair_from_suri(&suri).map_err(KeystoreError::BadSuri)?;
        if pair.public() != *public {
            return Err(KeystoreError::PublicMismatch);
        }
        Ok(Some(pair))
    }

    /// The first stored key of `key_type` among `candidates` (e.g. the authorities).
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
}
