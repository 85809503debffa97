//! Reading and updating one state of the trie through a [`NodeStore`].

use hash_db::{AsHashDB, HashDB, HashDBRef, Prefix};
use memory_db::{HashKey, MemoryDB};
use parking_lot::Mutex;
use sp_core::Blake2Hasher;
use sp_trie::{
    DBValue, Recorder, Trie, TrieConfiguration, TrieDBBuilder, TrieDBIterator, TrieDBKeyIterator,
    TrieDBMutBuilder, TrieMut,
};
use trie_db::{TrieError as RawTrieError, TrieIterator};

use crate::{
    KeyValue, Layout, NodeChange, NodeStore, StateDelta, StateError, StorageProof, EMPTY_ROOT, H256,
};

/// Appends to `pairs`, up to `limit` in all, the pairs whose key starts with `prefix`,
/// in key order, strictly after `start_after` when given.
pub(crate) fn collect_pairs(
    trie: &sp_trie::TrieDB<'_, '_, Layout>,
    prefix: &[u8],
    start_after: Option<&[u8]>,
    limit: usize,
    pairs: &mut Vec<KeyValue>,
) -> Result<(), TrieError> {
    if pairs.len() >= limit {
        return Ok(());
    }
    let iter =
        TrieDBIterator::new_prefixed_then_seek(trie, prefix, start_after.unwrap_or_default())?;
    for item in iter {
        let (key, value) = item?;
        if !key.starts_with(prefix) {
            break;
        }
        if start_after.is_some_and(|after| key.as_slice() <= after) {
            continue;
        }
        pairs.push((key, value));
        if pairs.len() >= limit {
            break;
        }
    }
    Ok(())
}

/// Trie-db's error type for our layout.
pub(crate) type TrieError = Box<sp_trie::TrieError<Layout>>;

/// Turns a trie-db error into a [`StateError`], preferring the store failure that caused a
/// node to look absent.
pub(crate) fn map_trie_error(
    err: sp_trie::TrieError<Layout>,
    store_error: Option<StateError>,
) -> StateError {
    if let Some(store_error) = store_error {
        return store_error;
    }
    match err {
        RawTrieError::InvalidStateRoot(hash) | RawTrieError::IncompleteDatabase(hash) => {
            StateError::MissingNode(hash)
        }
        RawTrieError::DecoderError(hash, codec_error) => StateError::CorruptNode {
            hash: Some(hash),
            reason: codec_error.to_string(),
        },
        RawTrieError::InvalidHash(hash, bytes) => StateError::CorruptNode {
            hash: Some(hash),
            reason: format!("child reference of {} bytes is not a hash", bytes.len()),
        },
        RawTrieError::ValueAtIncompleteKey(_, _) => StateError::CorruptNode {
            hash: None,
            reason: "value stored at a key that is not a whole number of bytes".into(),
        },
    }
}

/// Read access to a [`NodeStore`] in the shape trie-db wants. The store's errors cannot
/// travel through `HashDBRef::get`, so the first one is kept aside and reported instead of
/// the "missing node" trie-db then sees.
pub(crate) struct StoreReader<'a, S: ?Sized> {
    store: &'a S,
    error: Mutex<Option<StateError>>,
}

impl<'a, S: NodeStore + ?Sized> StoreReader<'a, S> {
    pub(crate) fn new(store: &'a S) -> Self {
        Self {
            store,
            error: Mutex::new(None),
        }
    }

    fn fetch(&self, key: &H256) -> Option<DBValue> {
        if *key == EMPTY_ROOT {
            return Some(crate::EMPTY_NODE.to_vec());
        }
        match self.store.get_node(key) {
            Ok(node) => node,
            Err(e) => {
                let mut slot = self.error.lock();
                if slot.is_none() {
                    *slot = Some(e);
                }
                None
            }
        }
    }

    pub(crate) fn map_error(&self, err: sp_trie::TrieError<Layout>) -> StateError {
        map_trie_error(err, self.error.lock().take())
    }
}

impl<S: NodeStore + ?Sized> HashDBRef<Blake2Hasher, DBValue> for StoreReader<'_, S> {
    fn get(&self, key: &H256, _prefix: Prefix) -> Option<DBValue> {
        self.fetch(key)
    }

    fn contains(&self, key: &H256, _prefix: Prefix) -> bool {
        self.fetch(key).is_some()
    }
}

/// A writable view for `TrieDBMut`: reads fall through to the store, writes are
/// reference-counted in memory and become the [`StateDelta`].
struct Overlay<'a, S: ?Sized> {
    reader: StoreReader<'a, S>,
    changes: MemoryDB<Blake2Hasher, HashKey<Blake2Hasher>, DBValue>,
}

impl<S: NodeStore + ?Sized> HashDB<Blake2Hasher, DBValue> for Overlay<'_, S> {
    fn get(&self, key: &H256, prefix: Prefix) -> Option<DBValue> {
        // A node removed in the overlay (rc <= 0 there) may still be referenced elsewhere in
        // the stored state, so only a live overlay entry shadows the store.
        HashDB::get(&self.changes, key, prefix).or_else(|| self.reader.fetch(key))
    }

    fn contains(&self, key: &H256, prefix: Prefix) -> bool {
        HashDB::get(self, key, prefix).is_some()
    }

    fn insert(&mut self, prefix: Prefix, value: &[u8]) -> H256 {
        self.changes.insert(prefix, value)
    }

    fn emplace(&mut self, key: H256, prefix: Prefix, value: DBValue) {
        self.changes.emplace(key, prefix, value)
    }

    fn remove(&mut self, key: &H256, prefix: Prefix) {
        self.changes.remove(key, prefix)
    }
}

impl<S: NodeStore + ?Sized> AsHashDB<Blake2Hasher, DBValue> for Overlay<'_, S> {
    fn as_hash_db(&self) -> &dyn HashDB<Blake2Hasher, DBValue> {
        self
    }

    fn as_hash_db_mut<'b>(&'b mut self) -> &'b mut (dyn HashDB<Blake2Hasher, DBValue> + 'b) {
        self
    }
}

/// A read-only view of the state at one root.
#[derive(Debug, Clone)]
pub struct TrieState<S: NodeStore> {
    store: S,
    root: H256,
}

impl<S: NodeStore> TrieState<S> {
    /// The state with this root in `store`. Nothing is read until a query runs, so a root
    /// absent from the store shows up as [`StateError::MissingNode`] on first use.
    pub fn new(store: S, root: H256) -> Self {
        Self { store, root }
    }

    /// The state root.
    pub fn root(&self) -> H256 {
        self.root
    }

    /// The node store this state reads from.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The value at `key`, or `None` if the key is not set.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let reader = StoreReader::new(&self.store);
        let trie = TrieDBBuilder::<Layout>::new(&reader, &self.root).build();
        trie.get(key).map_err(|e| reader.map_error(*e))
    }

    /// The smallest key strictly greater than `key` (Substrate's `next_storage_key`).
    pub fn next_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let reader = StoreReader::new(&self.store);
        let trie = TrieDBBuilder::<Layout>::new(&reader, &self.root).build();
        let next = || -> Result<Option<Vec<u8>>, TrieError> {
            let mut iter = TrieDBKeyIterator::new(&trie)?;
            iter.seek(key)?;
            for item in iter {
                let found = item?;
                if found.as_slice() != key {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        };
        next().map_err(|e| reader.map_error(*e))
    }

    /// Up to `limit` `(key, value)` pairs whose key starts with `prefix`, in key order,
    /// starting strictly after `start_after` when given (pagination as in
    /// `state_getKeysPaged`).
    pub fn pairs_with_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StateError> {
        let mut pairs = Vec::new();
        if limit == 0 {
            return Ok(pairs);
        }
        let reader = StoreReader::new(&self.store);
        let trie = TrieDBBuilder::<Layout>::new(&reader, &self.root).build();
        collect_pairs(&trie, prefix, start_after, limit, &mut pairs)
            .map_err(|e| reader.map_error(*e))?;
        Ok(pairs)
    }

    /// The Merkle value of the trie node at `key` or, when no node sits exactly there, of
    /// the closest node below it (branch nodes included): the node's encoding when it is
    /// shorter than 32 bytes (inlined in its parent), else its hash. `None` when no key
    /// starts with `key`. This is the new JSON-RPC spec's `closestDescendantMerkleValue`,
    /// which lets a client tell cheaply whether anything under a prefix changed.
    pub fn closest_descendant_merkle_value(
        &self,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StateError> {
        let reader = StoreReader::new(&self.store);
        let trie = TrieDBBuilder::<Layout>::new(&reader, &self.root).build();
        match trie.lookup_first_descendant(key) {
            Ok(Some(trie_db::MerkleValue::Node(node))) => Ok(Some(node)),
            Ok(Some(trie_db::MerkleValue::Hash(hash))) => Ok(Some(hash.as_bytes().to_vec())),
            Ok(None) => Ok(None),
            Err(e) => Err(reader.map_error(*e)),
        }
    }

    /// Up to `limit` `(key, value)` pairs of the whole state after `start_after`, with a
    /// proof that they are exactly the state's next pairs: the trie nodes visited while
    /// reading them and the pair after them (or the end). `true` when no pair follows.
    /// [`crate::verify_range_proof`] checks it against the root alone.
    pub fn range_proof(
        &self,
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<KeyValue>, bool, StorageProof), StateError> {
        let reader = StoreReader::new(&self.store);
        let mut recorder = Recorder::<Layout>::new();
        let mut pairs = Vec::new();
        {
            let trie = TrieDBBuilder::<Layout>::new(&reader, &self.root)
                .with_recorder(&mut recorder)
                .build();
            collect_pairs(&trie, &[], start_after, limit.saturating_add(1), &mut pairs)
                .map_err(|e| reader.map_error(*e))?;
        }
        let complete = pairs.len() <= limit;
        pairs.truncate(limit);
        let proof = StorageProof::new(recorder.drain().into_iter().map(|record| record.data));
        Ok((pairs, complete, proof))
    }

    /// Applies `changes` (a value of `None` deletes the key; for a key given twice the last
    /// change wins) and returns the new root with the node delta. The store is not touched.
    pub fn apply_changes<I, K, V>(&self, changes: I) -> Result<StateDelta, StateError>
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut changes: Vec<(K, Option<V>)> = changes.into_iter().collect();
        // Stable: equal keys keep their order, so the last change to a key wins.
        changes.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));

        let mut overlay = Overlay {
            reader: StoreReader::new(&self.store),
            changes: MemoryDB::default(),
        };
        let mut root = self.root;
        let outcome = {
            let mut trie = TrieDBMutBuilder::<Layout>::from_existing(&mut overlay, &mut root)
                .disable_commit_on_drop()
                .build();
            let mut write = || -> Result<(), TrieError> {
                for (key, value) in &changes {
                    match value {
                        Some(value) => {
                            trie.insert(key.as_ref(), value.as_ref())?;
                        }
                        None => {
                            trie.remove(key.as_ref())?;
                        }
                    }
                }
                Ok(())
            };
            let outcome = write();
            if outcome.is_ok() {
                trie.commit();
            }
            outcome
        };
        outcome.map_err(|e| overlay.reader.map_error(*e))?;

        let mut nodes: Vec<NodeChange> = overlay
            .changes
            .drain()
            .into_iter()
            .filter(|(_, (_, rc))| *rc != 0)
            .map(|(hash, (data, rc))| NodeChange {
                hash,
                rc_delta: rc,
                data: (rc > 0).then_some(data),
            })
            .collect();
        nodes.sort_by_key(|n| n.hash);
        Ok(StateDelta { root, nodes })
    }

    /// A Substrate storage proof for `keys`: every node visited while reading them (present
    /// keys prove their value, absent keys prove their absence).
    pub fn read_proof(&self, keys: &[Vec<u8>]) -> Result<StorageProof, StateError> {
        let reader = StoreReader::new(&self.store);
        let mut recorder = Recorder::<Layout>::new();
        {
            let trie = TrieDBBuilder::<Layout>::new(&reader, &self.root)
                .with_recorder(&mut recorder)
                .build();
            for key in keys {
                trie.get(key).map_err(|e| reader.map_error(*e))?;
            }
        }
        Ok(StorageProof::new(
            recorder.drain().into_iter().map(|record| record.data),
        ))
    }
}

/// The state of `pairs` built from the empty state (a genesis state): its root and every
/// node, each with its number of occurrences as `rc_delta`.
pub fn storage_root(pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) -> StateDelta {
    let empty = TrieState::new(EmptyStore, EMPTY_ROOT);
    match empty.apply_changes(pairs.into_iter().map(|(k, v)| (k, Some(v)))) {
        Ok(delta) => delta,
        // Building from the empty trie never reads the store: every node comes from the
        // in-memory overlay, so there is nothing that could fail.
        Err(e) => unreachable!("building a trie from scratch cannot miss a node: {e}"),
    }
}

/// Substrate's extrinsics root: the `LayoutV1` trie root of `Compact<u32>(index) -> item`.
pub fn ordered_trie_root(items: &[Vec<u8>]) -> H256 {
    Layout::ordered_trie_root(items)
}

/// The root of the empty state ([`EMPTY_ROOT`]).
pub fn empty_root() -> H256 {
    sp_trie::empty_trie_root::<Layout>()
}

/// The store of the empty state: holds nothing.
struct EmptyStore;

impl NodeStore for EmptyStore {
    fn get_node(&self, _hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
        Ok(None)
    }
}
