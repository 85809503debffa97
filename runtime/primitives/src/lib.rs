//! Arceon's primitive types, encoded byte for byte as Substrate encodes them.
//!
//! Everything a block, an extrinsic or a key is made of lives here: hashes, account ids
//! with SS58, headers and digests, the v4 `UncheckedExtrinsic` with its era and signed
//! payload, and the dev keyring. Invariants: every `Encode` here produces exactly the bytes
//! Substrate's tooling produces for the same value (pinned by
//! `shared/test-vectors/substrate.json`), and every `Decode` rejects trailing garbage and
//! unknown variants instead of guessing.

pub mod era;
pub mod extrinsic;
pub mod header;
pub mod keyring;
pub mod session;
pub mod type_info;
pub mod validity;

pub use era::Era;
pub use extrinsic::{
    verify_sr25519_batch, AdditionalSigned, CheckedSignature, ExtrinsicError, MultiAddress,
    MultiSignature, OpaqueCall, SignatureError, SignedExtra, SignedPayload, UncheckedExtrinsic,
    EXTRINSIC_FORMAT_VERSION,
};
pub use header::{
    Block, ConsensusEngineId, Digest, DigestItem, Header, AURA_ENGINE_ID, GRANDPA_ENGINE_ID,
};
pub use keyring::Keyring;
pub use session::{key_scheme, KeyScheme, KeyTypeId, SessionKeys, AURA_KEY_TYPE, GRANDPA_KEY_TYPE};
pub use validity::{
    InvalidTransaction, TransactionSource, TransactionTag, TransactionValidity,
    TransactionValidityError, UnknownTransaction, ValidTransaction,
};

pub use sp_core::crypto::{AccountId32, Ss58Codec};
pub use sp_core::{ed25519, sr25519, H256};
pub use sp_crypto_hashing::{blake2_128, blake2_256, twox_128, twox_64};

/// Block numbers: `u32`, compact-encoded in headers.
pub type BlockNumber = u32;
/// Block, extrinsic and state hashes: blake2-256.
pub type Hash = H256;
/// Accounts are sr25519 public keys.
pub type AccountId = AccountId32;
/// ArcM amounts, in plancks (12 decimals).
pub type Balance = u128;
/// Per-account transaction counter.
pub type Nonce = u32;

/// The SS58 address prefix of Arceon (the generic Substrate prefix).
pub const SS58_PREFIX: u16 = 42;
/// ArcM has 12 decimals.
pub const TOKEN_DECIMALS: u32 = 12;
/// The token symbol in `system_properties`.
pub const TOKEN_SYMBOL: &str = "ArcM";
/// One ArcM in plancks.
pub const ARCM: Balance = 1_000_000_000_000;

/// Encodes an account as an SS58 address with Arceon's prefix.
pub fn to_ss58(account: &AccountId32) -> String {
    account.to_ss58check_with_version(SS58_PREFIX.into())
}

/// Parses an SS58 address (any prefix is rejected except 42) or a `0x` hex public key.
pub fn parse_account(text: &str) -> Result<AccountId32, AddressError> {
    if let Some(hex_part) = text.strip_prefix("0x") {
        let bytes = hex::decode(hex_part).map_err(|_| AddressError::BadHex)?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| AddressError::BadLength)?;
        return Ok(AccountId32::new(raw));
    }
    let (account, version) = AccountId32::from_ss58check_with_version(text)
        .map_err(|e| AddressError::BadSs58(format!("{e:?}")))?;
    let prefix = u16::from(version);
    if prefix != SS58_PREFIX {
        return Err(AddressError::WrongPrefix(prefix));
    }
    Ok(account)
}

/// Why a text is not an Arceon address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The `0x` form was not valid hex.
    #[error("address is not valid hex")]
    BadHex,
    /// The `0x` form was not 32 bytes.
    #[error("a hex account id must be 32 bytes")]
    BadLength,
    /// The SS58 form failed to decode (bad base58, checksum or length).
    #[error("invalid SS58 address: {0}")]
    BadSs58(String),
    /// A valid SS58 address for another network.
    #[error("SS58 address has prefix {0}, Arceon uses 42")]
    WrongPrefix(u16),
}

/// Runtime version, as Substrate's `RuntimeVersion` (what `state_getRuntimeVersion` returns).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    codec::Encode,
    codec::Decode,
    serde::Serialize,
    scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeVersion {
    /// Identifies the runtime: always "arceon".
    pub spec_name: String,
    /// Name of the implementation.
    pub impl_name: String,
    /// Authoring runtime version (unused, kept for the Substrate shape).
    pub authoring_version: u32,
    /// Bumped on every change of runtime behaviour; part of the signed payload.
    pub spec_version: u32,
    /// Implementation version.
    pub impl_version: u32,
    /// Runtime APIs as (8-byte id, version) pairs.
    #[serde(serialize_with = "serialize_apis")]
    pub apis: Vec<([u8; 8], u32)>,
    /// Bumped when the extrinsic format or call indices change; part of the signed payload.
    pub transaction_version: u32,
    /// State trie version (1 = LayoutV1).
    pub state_version: u8,
}

fn serialize_apis<S: serde::Serializer>(apis: &[([u8; 8], u32)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(apis.len()))?;
    for (id, version) in apis {
        seq.serialize_element(&(format!("0x{}", hex::encode(id)), version))?;
    }
    seq.end()
}

/// Formats bytes as Substrate's JSON does: `0x` + lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Parses `0x`-prefixed (or bare) hex.
pub fn from_hex(text: &str) -> Result<Vec<u8>, hex::FromHexError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
}
