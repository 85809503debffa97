//! Arceon's world state: a base-16 Merkle-Patricia trie with Substrate's `LayoutV1`
//! (`sp-trie` over blake2-256), so the same keys and values give the same state root,
//! the same storage proofs and the same extrinsics root as a Substrate chain.
//!
//! The trie lives in a [`NodeStore`]: a content-addressed map from a node's blake2-256 hash
//! to its encoded bytes, without Substrate's key-prefixing, so every state of every block
//! shares one store and a node stored once is referenced by all of them. Invariants:
//! a [`TrieState`] never writes to its store; [`TrieState::apply_changes`] describes the
//! new state as a [`StateDelta`] whose `rc_delta`s are the exact net reference-count change
//! of each node (the caller persists it, see `arceon-db`), so a store that applies every
//! delta in full holds exactly the nodes reachable from the latest root, each with a
//! reference count equal to the number of places it occurs. The empty trie's single node
//! (`0x00`, hash [`EMPTY_ROOT`]) is never stored: every reader resolves it itself. Any
//! missing or corrupt node, store failure or bad proof is a [`StateError`], never a panic.

mod cache;
mod memory;
mod proof;
mod trie;

use std::sync::Arc;

pub use arceon_primitives::H256;
pub use cache::{CachedNodeStore, NodeCache};
pub use memory::MemoryNodeStore;
pub use proof::{verify_range_proof, verify_read_proof, StorageProof};
pub use trie::{empty_root, ordered_trie_root, storage_root, TrieState};

/// The trie layout of Arceon's state: Substrate's `LayoutV1<BlakeTwo256>` (values longer
/// than 32 bytes are stored in their own node and referenced by hash).
pub type Layout = sp_trie::LayoutV1<sp_core::Blake2Hasher>;

/// A storage key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);
/// A storage key and its proven value (`None`: proven absent).
pub type ProvenValue = (Vec<u8>, Option<Vec<u8>>);

/// Root of the empty trie: blake2-256 of the single byte `0x00`.
pub const EMPTY_ROOT: H256 = H256([
    0x03, 0x17, 0x0a, 0x2e, 0x75, 0x97, 0xb7, 0xb7, 0xe3, 0xd8, 0x4c, 0x05, 0x39, 0x1d, 0x13, 0x9a,
    0x62, 0xb1, 0x57, 0xe7, 0x87, 0x86, 0xd8, 0xc0, 0x82, 0xf2, 0x9d, 0xcf, 0x4c, 0x11, 0x13, 0x14,
]);

/// The encoding of the empty trie's root node.
pub const EMPTY_NODE: [u8; 1] = [0u8];

/// Why a state read, update or proof check failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A trie node the state needs is not in the store: that state was pruned, or the store
    /// (or a proof) is incomplete.
    #[error("trie node {0:?} is missing")]
    MissingNode(H256),
    /// The node store itself failed (I/O error, corrupt database value).
    #[error("node store failure: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored node does not decode as a `LayoutV1` trie node, or the trie's structure is
    /// impossible (a value at a half-byte key).
    #[error("corrupt trie node {hash:?}: {reason}")]
    CorruptNode {
        /// The node's hash, when the trie code knows it.
        hash: Option<H256>,
        /// What is wrong with it.
        reason: String,
    },
    /// A storage proof does not prove the requested keys against the given root (a node was
    /// tampered with or left out).
    #[error("invalid storage proof: {0}")]
    BadProof(String),
    /// A delta cannot be applied to a [`MemoryNodeStore`]: it would drive a reference count
    /// below zero, or it adds a node that is not stored without giving its bytes.
    #[error("invalid state delta for node {hash:?}: {reason}")]
    InvalidDelta {
        /// The node concerned.
        hash: H256,
        /// What is inconsistent.
        reason: String,
    },
}

/// Where trie nodes are read from, by hash.
///
/// Implementations return exactly the bytes that hash to `hash`; they need not resolve
/// [`EMPTY_ROOT`] (every reader in this crate does that itself).
pub trait NodeStore: Send + Sync {
    /// The raw trie node with this hash; `Ok(None)` if the store does not hold it.
    fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError>;
}

impl<S: NodeStore + ?Sized> NodeStore for &S {
    fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get_node(hash)
    }
}

impl<S: NodeStore + ?Sized> NodeStore for Arc<S> {
    fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get_node(hash)
    }
}

impl<S: NodeStore + ?Sized> NodeStore for Box<S> {
    fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get_node(hash)
    }
}

/// The effect of a state transition on the node store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDelta {
    /// The state root after the transition.
    pub root: H256,
    /// Every node whose reference count changes, sorted by hash, none with `rc_delta == 0`.
    pub nodes: Vec<NodeChange>,
}

impl StateDelta {
    /// The nodes this transition references more often (new nodes and new references).
    pub fn inserted(&self) -> impl Iterator<Item = &NodeChange> {
        self.nodes.iter().filter(|n| n.rc_delta > 0)
    }

    /// The nodes this transition references less often.
    pub fn removed(&self) -> impl Iterator<Item = &NodeChange> {
        self.nodes.iter().filter(|n| n.rc_delta < 0)
    }
}

/// One node's net reference-count change in a [`StateDelta`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeChange {
    /// The node's hash (its key in the store).
    pub hash: H256,
    /// Net change of its reference count: `+n` for `n` new references, `-n` for `n` dropped.
    pub rc_delta: i32,
    /// The node's bytes: always `Some` when `rc_delta > 0`, `None` otherwise.
    pub data: Option<Vec<u8>>,
}
