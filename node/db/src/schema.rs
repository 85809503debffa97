//! On-disk layout: column families, key formats and value codecs.
//!
//! Every value is SCALE-encoded except trie nodes (raw bytes) and reference counts (i64
//! little-endian, which is also their SCALE encoding, summed by RocksDB's merge operator).

use arceon_primitives::{BlockNumber, H256};
use codec::{Decode, DecodeAll, Encode};

use crate::DbError;

/// Bumped whenever the layout below changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// hash -> SCALE `Header`.
pub const HEADERS: &str = "headers";
/// hash -> SCALE `Vec<Vec<u8>>` of encoded extrinsics.
pub const BODIES: &str = "bodies";
/// hash -> justification bytes.
pub const JUSTIFICATIONS: &str = "justifications";
/// node hash -> node bytes.
pub const TRIE: &str = "trie";
/// node hash -> i64 LE reference count (merge operator: addition).
pub const TRIE_RC: &str = "trie_rc";
/// block hash -> [`Journal`] of that block's node reference-count changes.
pub const JOURNAL: &str = "journal";
/// [`number_key`], [`hash_key`] and [`unfinalized_key`] entries.
pub const LOOKUP: &str = "lookup";
/// [`meta`] keys.
pub const META: &str = "meta";
/// Reserved for the fast-lane logs; empty for now.
pub const FASTLANE: &str = "fastlane";

/// Every column family, in the order they are created.
pub const COLUMNS: [&str; 9] = [
    HEADERS,
    BODIES,
    JUSTIFICATIONS,
    TRIE,
    TRIE_RC,
    JOURNAL,
    LOOKUP,
    META,
    FASTLANE,
];

/// Key of an auxiliary value in the `meta` column.
pub fn aux_key(key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(4 + key.len());
    full.extend_from_slice(b"aux:");
    full.extend_from_slice(key);
    full
}

/// Keys of the `meta` column.
pub mod meta {
    /// `u32`: [`super::SCHEMA_VERSION`] of the database.
    pub const SCHEMA: &[u8] = b"schema";
    /// `Pruning`: the mode the database was created with.
    pub const PRUNING: &[u8] = b"pruning";
    /// `H256`: hash of block 0.
    pub const GENESIS: &[u8] = b"genesis";
    /// `(u32, H256)`: the best block.
    pub const BEST: &[u8] = b"best";
    /// `(u32, H256)`: the last finalized block.
    pub const FINALIZED: &[u8] = b"finalized";
    /// `u32`: the oldest canonical block whose state is still complete.
    pub const OLDEST_STATE: &[u8] = b"oldest_state";
    /// `u32`: the oldest canonical block whose body is still stored (absent: 0).
    pub const OLDEST_BODY: &[u8] = b"oldest_body";
    /// `u32`: justifications below this block were pruned, but set changes' (absent: 0).
    pub const JUSTIFICATIONS_PRUNED_TO: &[u8] = b"justifications_pruned_to";
    /// `u32`: the highest block stored with a justification (absent: 0).
    pub const LATEST_JUSTIFIED: &[u8] = b"latest_justified";
}

const NUMBER_TAG: u8 = b'n';
const HASH_TAG: u8 = b'h';
const UNFINALIZED_TAG: u8 = b'u';

/// `n ++ number(BE)` -> hash of the block at that height on the best chain.
pub fn number_key(number: BlockNumber) -> [u8; 5] {
    let mut key = [NUMBER_TAG; 5];
    key[1..].copy_from_slice(&number.to_be_bytes());
    key
}

/// `h ++ hash` -> the block's number (every stored block has one).
pub fn hash_key(hash: &H256) -> [u8; 33] {
    let mut key = [HASH_TAG; 33];
    key[1..].copy_from_slice(hash.as_bytes());
    key
}

/// `u ++ number(BE) ++ hash` -> parent hash, for every block above the finalized one
/// (ordered by height, so finalization scans them in one pass).
pub fn unfinalized_key(number: BlockNumber, hash: &H256) -> [u8; 37] {
    let mut key = [UNFINALIZED_TAG; 37];
    key[1..5].copy_from_slice(&number.to_be_bytes());
    key[5..].copy_from_slice(hash.as_bytes());
    key
}

/// Prefix shared by all [`unfinalized_key`]s.
pub const UNFINALIZED_PREFIX: [u8; 1] = [UNFINALIZED_TAG];

/// Splits an [`unfinalized_key`] back into its number and hash.
pub fn parse_unfinalized_key(key: &[u8]) -> Option<(BlockNumber, H256)> {
    if key.len() != 37 || key[0] != UNFINALIZED_TAG {
        return None;
    }
    let mut number = [0u8; 4];
    number.copy_from_slice(&key[1..5]);
    Some((
        BlockNumber::from_be_bytes(number),
        H256::from_slice(&key[5..]),
    ))
}

/// A block's net node reference-count changes, kept until the block is pruned (its
/// negative entries are applied) or discarded as a fork (its positive ones are reverted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct Journal {
    /// `(node hash, rc delta)`, as in the block's `StateDelta`.
    pub changes: Vec<(H256, i32)>,
}

/// Decodes a value read from `column` under `key`, naming both in the error.
pub fn decode<T: Decode>(column: &'static str, key: &[u8], bytes: &[u8]) -> Result<T, DbError> {
    T::decode_all(&mut &bytes[..]).map_err(|e| DbError::Corrupt {
        column,
        key: hex::encode(key),
        reason: e.to_string(),
    })
}

/// A reference count as stored in `trie_rc`.
pub fn decode_rc(key: &[u8], bytes: &[u8]) -> Result<i64, DbError> {
    let raw: [u8; 8] = bytes.try_into().map_err(|_| DbError::Corrupt {
        column: TRIE_RC,
        key: hex::encode(key),
        reason: format!("reference count of {} bytes", bytes.len()),
    })?;
    Ok(i64::from_le_bytes(raw))
}

/// RocksDB merge operator of `trie_rc`: sums i64 LE operands onto the existing count.
/// Returning `None` on a malformed operand makes RocksDB report a corruption on read
/// instead of silently guessing a count.
pub fn merge_rc(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    fn parse(bytes: &[u8]) -> Option<i64> {
        Some(i64::from_le_bytes(bytes.try_into().ok()?))
    }
    let mut total = match existing {
        Some(bytes) => parse(bytes)?,
        None => 0,
    };
    for operand in operands {
        total = total.checked_add(parse(operand)?)?;
    }
    Some(total.to_le_bytes().to_vec())
}
