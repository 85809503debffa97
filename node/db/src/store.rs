//! The `trie` column as an `arceon_state::NodeStore`.

use std::sync::Arc;

use arceon_primitives::H256;
use arceon_state::{NodeStore, StateError, EMPTY_NODE, EMPTY_ROOT};

use crate::{schema, Inner};

/// Reads trie nodes from the database, through the shared node cache. Cheap to clone.
#[derive(Clone)]
pub struct DbNodeStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DbNodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbNodeStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl DbNodeStore {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// `(hits, misses)` of the node cache, if it is enabled.
    pub fn cache_stats(&self) -> Option<(u64, u64)> {
        self.inner.node_cache.as_ref().map(|c| c.stats())
    }
}

impl NodeStore for DbNodeStore {
    fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
        if *hash == EMPTY_ROOT {
            return Ok(Some(EMPTY_NODE.to_vec()));
        }
        if let Some(node) = self.inner.node_cache.as_ref().and_then(|c| c.get(hash)) {
            return Ok(Some(node));
        }
        let node = self
            .inner
            .db
            .get_cf(self.inner.cf(schema::TRIE), hash.as_bytes())
            .map_err(|e| StateError::Store(Box::new(e)))?;
        if let (Some(cache), Some(node)) = (&self.inner.node_cache, &node) {
            cache.insert(*hash, node.clone());
        }
        Ok(node)
    }
}
