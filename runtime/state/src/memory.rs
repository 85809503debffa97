//! A reference-counted node store in memory (genesis building, tests, benchmarks).

use std::collections::HashMap;

use crate::{NodeStore, StateDelta, StateError, H256};

/// Trie nodes in a hash map, each with its reference count. Applying every [`StateDelta`]
/// of a chain of states in full keeps exactly the nodes of the latest state.
#[derive(Debug, Clone, Default)]
pub struct MemoryNodeStore {
    nodes: HashMap<H256, (Vec<u8>, i64)>,
}

impl MemoryNodeStore {
    /// An empty store (it holds the empty state).
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding exactly the nodes of `delta` (typically a genesis state from
    /// [`crate::storage_root`]).
    pub fn from_delta(delta: &StateDelta) -> Result<Self, StateError> {
        let mut store = Self::new();
        store.apply(delta)?;
        Ok(store)
    }

    /// Applies the reference-count changes of `delta`: nodes gaining references are stored,
    /// nodes whose count reaches zero are dropped. All-or-nothing: a delta that would make a
    /// count negative, or add an unknown node without its bytes, changes nothing.
    pub fn apply(&mut self, delta: &StateDelta) -> Result<(), StateError> {
        for change in &delta.nodes {
            let current = self.refcount(&change.hash);
            let next = current + i64::from(change.rc_delta);
            if next < 0 {
                return Err(StateError::InvalidDelta {
                    hash: change.hash,
                    reason: format!("reference count {current} {:+} < 0", change.rc_delta),
                });
            }
            if current == 0 && next > 0 && change.data.is_none() {
                return Err(StateError::InvalidDelta {
                    hash: change.hash,
                    reason: "new node without data".into(),
                });
            }
        }
        for change in &delta.nodes {
            let entry = self
                .nodes
                .entry(change.hash)
                .or_insert_with(|| (Vec::new(), 0));
            entry.1 += i64::from(change.rc_delta);
            if let Some(data) = &change.data {
                if entry.0.is_empty() {
                    entry.0.clone_from(data);
                }
            }
            if entry.1 == 0 {
                self.nodes.remove(&change.hash);
            }
        }
        Ok(())
    }

    /// The reference count of a node (0 if absent).
    pub fn refcount(&self, hash: &H256) -> i64 {
        self.nodes.get(hash).map_or(0, |(_, rc)| *rc)
    }

    /// Whether the store holds this node.
    pub fn contains(&self, hash: &H256) -> bool {
        self.nodes.contains_key(hash)
    }

    /// Number of distinct nodes stored.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The hashes of all stored nodes, in no particular order.
    pub fn node_hashes(&self) -> impl Iterator<Item = &H256> {
        self.nodes.keys()
    }
}

impl NodeStore for MemoryNodeStore {
    fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.nodes.get(hash).map(|(data, _)| data.clone()))
    }
}
