//! Session keys: the keys a validator signs with, kept on its node and registered on
//! chain by its stash (`Session.set_keys`), so the stash secret never lives on the node.
//! Aura seals blocks with the sr25519 key; GRANDPA votes with the ed25519 key, as
//! Substrate's finality verifiers and light clients expect. The SCALE encoding is the
//! two public keys in this order (64 bytes), what `author_rotateKeys` returns.

use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use sp_core::{ed25519, sr25519};

/// A key type id: four ASCII bytes naming what a key is for (`aura`, `gran`).
pub type KeyTypeId = [u8; 4];

/// The Aura (block sealing) key type.
pub const AURA_KEY_TYPE: KeyTypeId = *b"aura";
/// The GRANDPA (finality voting) key type.
pub const GRANDPA_KEY_TYPE: KeyTypeId = *b"gran";

/// The crypto scheme behind a key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScheme {
    /// Schnorrkel sr25519.
    Sr25519,
    /// Ed25519.
    Ed25519,
}

/// The scheme keys of `key_type` use: ed25519 for GRANDPA, sr25519 for everything else.
pub fn key_scheme(key_type: KeyTypeId) -> KeyScheme {
    if key_type == GRANDPA_KEY_TYPE {
        KeyScheme::Ed25519
    } else {
        KeyScheme::Sr25519
    }
}

/// A validator's session keys.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    scale_info::TypeInfo,
)]
pub struct SessionKeys {
    /// Seals blocks (sr25519).
    pub aura: sr25519::Public,
    /// Signs GRANDPA votes (ed25519).
    pub grandpa: ed25519::Public,
}

impl SessionKeys {
    /// Every key with its type, as `Session.KeyOwner` indexes them.
    pub fn typed(&self) -> [(KeyTypeId, [u8; 32]); 2] {
        [
            (AURA_KEY_TYPE, self.aura.0),
            (GRANDPA_KEY_TYPE, self.grandpa.0),
        ]
    }

    /// The dev session keys derived from a secret URI (`//Alice`): the same seed gives
    /// the sr25519 Aura key and the ed25519 GRANDPA key, as Substrate's dev chains do.
    pub fn from_suri(suri: &str) -> Result<SessionKeys, String> {
        use sp_core::Pair as _;
        let aura = crate::keyring::pair_from_suri(suri)?.public();
        let grandpa = crate::keyring::ed25519_pair_from_suri(suri)?.public();
        Ok(SessionKeys { aura, grandpa })
    }

    /// The keys from their SCALE encoding, with a clear error for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<SessionKeys, String> {
        if bytes.len() != 64 {
            return Err(format!(
                "session keys are 64 bytes (aura sr25519 ++ grandpa ed25519), got {}",
                bytes.len()
            ));
        }
        let mut aura = [0u8; 32];
        let mut grandpa = [0u8; 32];
        aura.copy_from_slice(&bytes[..32]);
        grandpa.copy_from_slice(&bytes[32..]);
        Ok(SessionKeys {
            aura: sr25519::Public::from_raw(aura),
            grandpa: ed25519::Public::from_raw(grandpa),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_as_aura_then_grandpa() {
        let keys = SessionKeys::from_suri("//Alice").expect("keys");
        let bytes = keys.encode();
        assert_eq!(bytes.len(), 64);
        assert_eq!(&bytes[..32], keys.aura.as_ref() as &[u8]);
        assert_eq!(&bytes[32..], keys.grandpa.as_ref() as &[u8]);
        assert_eq!(SessionKeys::from_bytes(&bytes), Ok(keys));
        assert!(SessionKeys::from_bytes(&bytes[..63]).is_err());
        // Substrate's //Alice ed25519 key (its dev chains' GRANDPA authority).
        assert_eq!(
            hex::encode(keys.grandpa.0),
            "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
        );
    }
}
