//! Storage proofs in Substrate's format, and their verification.

use std::collections::BTreeSet;

use codec::{Decode, Encode};
use hash_db::{HashDB, EMPTY_PREFIX};
use memory_db::{HashKey, MemoryDB};
use sp_core::Blake2Hasher;
use sp_trie::{DBValue, Trie, TrieDBBuilder};

use crate::trie::{collect_pairs, map_trie_error};
use crate::{KeyValue, Layout, ProvenValue, StateError, H256};

/// A set of trie nodes proving some keys' values (or absence) against a state root.
///
/// Encodes exactly as Substrate's `StorageProof` (a `BTreeSet<Vec<u8>>`, i.e. a compact
/// length followed by the nodes in ascending byte order): `nodes` is kept sorted and free of
/// duplicates by every constructor of this crate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct StorageProof {
    /// The encoded trie nodes, sorted, without duplicates.
    pub nodes: Vec<Vec<u8>>,
}

impl StorageProof {
    /// A proof holding these nodes (sorted and deduplicated).
    pub fn new(nodes: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let set: BTreeSet<Vec<u8>> = nodes.into_iter().collect();
        Self {
            nodes: set.into_iter().collect(),
        }
    }

    /// Total size of the nodes in bytes.
    pub fn size(&self) -> usize {
        self.nodes.iter().map(Vec::len).sum()
    }
}

/// Checks `proof` against `root` and returns each key with its proven value (`None`: the
/// key is proven absent). A proof missing a node on the way to any key, or holding a
/// tampered node, is an error ([`StateError::BadProof`]).
pub fn verify_read_proof(
    root: &H256,
    proof: &StorageProof,
    keys: &[Vec<u8>],
) -> Result<Vec<ProvenValue>, StateError> {
    let mut db = MemoryDB::<Blake2Hasher, HashKey<Blake2Hasher>, DBValue>::default();
    for node in &proof.nodes {
        db.insert(EMPTY_PREFIX, node);
    }
    let trie = TrieDBBuilder::<Layout>::new(&db, root).build();
    keys.iter()
        .map(|key| {
            let value = trie.get(key).map_err(|e| match map_trie_error(*e, None) {
                StateError::MissingNode(hash) => {
                    StateError::BadProof(format!("node {hash:?} is not in the proof"))
                }
                other => StateError::BadProof(other.to_string()),
            })?;
            Ok((key.clone(), value))
        })
        .collect()
}

/// Checks a range of state against `root` (see `TrieState::range_proof`): `entries` must
/// be exactly the pairs that follow `start_after` in the trie proven by `proof`, and
/// `complete` must say truly whether any pair follows them. Nothing but the root is
/// trusted, so a peer cannot invent, alter, reorder or skip pairs.
pub fn verify_range_proof(
    root: &H256,
    proof: &StorageProof,
    start_after: Option<&[u8]>,
    entries: &[KeyValue],
    complete: bool,
) -> Result<(), StateError> {
    let mut db = MemoryDB::<Blake2Hasher, HashKey<Blake2Hasher>, DBValue>::default();
    for node in &proof.nodes {
        db.insert(EMPTY_PREFIX, node);
    }
    let trie = TrieDBBuilder::<Layout>::new(&db, root).build();
    let mut proven = Vec::with_capacity(entries.len() + 1);
    collect_pairs(&trie, &[], start_after, entries.len() + 1, &mut proven).map_err(|e| {
        match map_trie_error(*e, None) {
            StateError::MissingNode(hash) => {
                StateError::BadProof(format!("node {hash:?} is not in the proof"))
            }
            other => StateError::BadProof(other.to_string()),
        }
    })?;
    let more = proven.len() > entries.len();
    proven.truncate(entries.len());
    if proven != entries {
        return Err(StateError::BadProof(
            "the entries are not the state's pairs in this range".into(),
        ));
    }
    if more == complete {
        return Err(StateError::BadProof(if complete {
            "pairs follow a range that claims to be the last".into()
        } else {
            "no pair follows a range that claims more".into()
        }));
    }
    Ok(())
}
