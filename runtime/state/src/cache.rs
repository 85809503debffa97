//! A bounded cache of trie nodes in front of a slower [`NodeStore`].
//!
//! Nodes are content-addressed, so a cached node can never be stale: the only effect of a
//! node deleted from the store but still cached is that a pruned state may remain partly
//! readable for a while, which is harmless.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::{NodeStore, StateError, H256};

/// Node hashes are already uniformly random: hashing them again is wasted work.
#[derive(Default)]
struct NodeHashHasher(u64);

impl Hasher for NodeHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, byte) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*byte) << (8 * i);
        }
    }
}

type NodeMap = HashMap<H256, Vec<u8>, BuildHasherDefault<NodeHashHasher>>;

/// Approximate bookkeeping cost of one entry beyond its bytes (key, map slot, vec header).
const ENTRY_OVERHEAD: usize = 80;

/// A two-generation ("segmented") node cache bounded in bytes: new and recently used nodes
/// live in the hot generation; when it is full it becomes the cold generation and the old
/// cold one is dropped. A hit in the cold generation moves the node back to the hot one, so
/// the cache behaves like an LRU at a fraction of its bookkeeping.
pub struct NodeCache {
    capacity: usize,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    hot: NodeMap,
    hot_bytes: usize,
    cold: NodeMap,
    hits: u64,
    misses: u64,
}

impl Generations {
    fn insert(&mut self, hash: H256, node: Vec<u8>, half: usize) {
        let cost = node.len() + ENTRY_OVERHEAD;
        if self.hot.insert(hash, node).is_none() {
            self.hot_bytes += cost;
        }
        if self.hot_bytes > half {
            self.cold = std::mem::take(&mut self.hot);
            self.hot_bytes = 0;
        }
    }
}

impl std::fmt::Debug for NodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (hits, misses) = self.stats();
        f.debug_struct("NodeCache")
            .field("capacity", &self.capacity)
            .field("hits", &hits)
            .field("misses", &misses)
            .finish()
    }
}

impl NodeCache {
    /// A cache holding at most about `capacity_bytes` of nodes.
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            capacity: capacity_bytes,
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The cached node with this hash.
    pub fn get(&self, hash: &H256) -> Option<Vec<u8>> {
        let mut g = self.generations.lock();
        if let Some(node) = g.hot.get(hash) {
            let node = node.clone();
            g.hits += 1;
            return Some(node);
        }
        match g.cold.remove(hash) {
            Some(node) => {
                g.hits += 1;
                g.insert(*hash, node.clone(), self.capacity / 2);
                Some(node)
            }
            None => {
                g.misses += 1;
                None
            }
        }
    }

    /// Caches a node (its bytes must hash to `hash`).
    pub fn insert(&self, hash: H256, node: Vec<u8>) {
        if node.len() + ENTRY_OVERHEAD > self.capacity / 2 {
            return;
        }
        self.generations
            .lock()
            .insert(hash, node, self.capacity / 2);
    }

    /// Drops every cached node.
    pub fn clear(&self) {
        let mut g = self.generations.lock();
        g.hot.clear();
        g.cold.clear();
        g.hot_bytes = 0;
    }

    /// `(hits, misses)` since creation.
    pub fn stats(&self) -> (u64, u64) {
        let g = self.generations.lock();
        (g.hits, g.misses)
    }
}

/// A [`NodeStore`] that looks in a shared [`NodeCache`] before asking `inner`.
#[derive(Debug, Clone)]
pub struct CachedNodeStore<S> {
    inner: S,
    cache: Arc<NodeCache>,
}

impl<S: NodeStore> CachedNodeStore<S> {
    /// `inner` behind `cache` (the cache may be shared by many stores over the same nodes).
    pub fn new(inner: S, cache: Arc<NodeCache>) -> Self {
        Self { inner, cache }
    }

    /// The uncached store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<NodeCache> {
        &self.cache
    }
}

impl<S: NodeStore> NodeStore for CachedNodeStore<S> {
    fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(node) = self.cache.get(hash) {
            return Ok(Some(node));
        }
        let node = self.inner.get_node(hash)?;
        if let Some(node) = &node {
            self.cache.insert(*hash, node.clone());
        }
        Ok(node)
    }
}
