//! The execution context: transactional storage overlay, events and fault tracking.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use arceon_primitives::H256;
use codec::{Decode, Encode};

/// A failed read from the state backend (missing trie node, I/O, pruned state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state backend: {0}")]
pub struct BackendError(pub String);

/// Read access to the state a block executes on top of.
pub trait StateRead {
    /// The value at `key`.
    fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;
    /// The smallest key strictly greater than `key`.
    fn next_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;
}

/// An in-memory state: genesis building and tests.
pub type MemoryState = BTreeMap<Vec<u8>, Vec<u8>>;

impl StateRead for MemoryState {
    fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.get(key).cloned())
    }

    fn next_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self
            .range::<[u8], _>((Bound::Excluded(key), Bound::Unbounded))
            .next()
            .map(|(k, _)| k.clone()))
    }
}

/// Key changes relative to the backend: `None` deletes the key.
pub type StorageChanges = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// When an event was deposited, as Substrate's `Phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Phase {
    /// While applying the extrinsic at this index (index 0).
    ApplyExtrinsic(u32),
    /// In `on_finalize` (index 1).
    Finalization,
    /// In `on_initialize` (index 2).
    Initialization,
}

/// A deposited event as stored in `System.Events`: `phase ++ event ++ topics`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct EventRecord<E> {
    /// When it happened.
    pub phase: Phase,
    /// The runtime event.
    pub event: E,
    /// Indexing topics.
    pub topics: Vec<H256>,
}

/// The context pallets run in: reads go through the transactional layers to the backend,
/// writes stay in the overlay until the executive turns them into a state root.
pub struct Ext<'a> {
    backend: &'a dyn StateRead,
    committed: StorageChanges,
    layers: Vec<StorageChanges>,
    /// Encoded `EventRecord`s, in deposit order.
    events: Vec<Vec<u8>>,
    /// Event count at the start of each open layer, for rollback.
    event_marks: Vec<usize>,
    phase: Phase,
    fault: Option<String>,
    /// Values already read from the backend: a block reads the same accounts many times,
    /// and each backend read walks the trie from its root.
    reads: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Deepest allowed nesting of transactional layers.
const MAX_LAYERS: usize = 64;

impl<'a> Ext<'a> {
    /// A fresh context over `backend`.
    pub fn new(backend: &'a dyn StateRead) -> Self {
        Ext {
            backend,
            committed: BTreeMap::new(),
            layers: Vec::new(),
            events: Vec::new(),
            event_marks: Vec::new(),
            phase: Phase::Initialization,
            fault: None,
            reads: HashMap::new(),
        }
    }

    /// The value of `key`, seen through all open layers.
    pub fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        if let Some(value) = self.overlay_value(key) {
            return value.cloned();
        }
        if let Some(value) = self.reads.get(key) {
            return value.clone();
        }
        match self.backend.storage(key) {
            Ok(value) => {
                self.reads.insert(key.to_vec(), value.clone());
                value
            }
            Err(e) => {
                self.record_fault(e.0);
                None
            }
        }
    }

    /// Whether `key` holds a value.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Writes `value` at `key` in the top layer.
    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.top().insert(key, Some(value));
    }

    /// Deletes `key` in the top layer.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.top().insert(key, None);
    }

    /// The smallest existing key strictly greater than `key`.
    pub fn next_key(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        // Backend candidate: skip keys the overlay deleted.
        let mut cursor = key.to_vec();
        let backend_next = loop {
            match self.backend.next_key(&cursor) {
                Ok(Some(next)) => match self.overlay_value(&next) {
                    Some(None) => cursor = next,
                    _ => break Some(next),
                },
                Ok(None) => break None,
                Err(e) => {
                    self.record_fault(e.0);
                    break None;
                }
            }
        };
        // Overlay candidate: the first key above `key` whose topmost value is present.
        let mut overlay_next: Option<Vec<u8>> = None;
        for layer in std::iter::once(&self.committed).chain(self.layers.iter()) {
            for (candidate, _) in layer.range::<[u8], _>((Bound::Excluded(key), Bound::Unbounded)) {
                if overlay_next.as_ref().is_some_and(|best| candidate >= best) {
                    break;
                }
                if matches!(self.overlay_value(candidate), Some(Some(_))) {
                    overlay_next = Some(candidate.clone());
                    break;
                }
            }
        }
        match (backend_next, overlay_next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// All keys starting with `prefix`, in order.
    pub fn keys_with_prefix(&mut self, prefix: &[u8]) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        let mut cursor = prefix.to_vec();
        if self.exists(prefix) {
            keys.push(prefix.to_vec());
        }
        while let Some(next) = self.next_key(&cursor) {
            if !next.starts_with(prefix) {
                break;
            }
            cursor = next.clone();
            keys.push(next);
        }
        keys
    }

    /// Deletes every key starting with `prefix`; returns how many.
    pub fn clear_prefix(&mut self, prefix: &[u8]) -> usize {
        let keys = self.keys_with_prefix(prefix);
        let count = keys.len();
        for key in keys {
            self.remove(key);
        }
        count
    }

    /// Runs `f` in a new transactional layer: its writes and events are kept if it returns
    /// `Ok` and discarded if it returns `Err`.
    pub fn transactional<R, E>(&mut self, f: impl FnOnce(&mut Self) -> Result<R, E>) -> Result<R, E>
    where
        E: From<crate::DispatchError>,
    {
        if self.layers.len() >= MAX_LAYERS {
            return Err(crate::DispatchError::Exhausted.into());
        }
        self.layers.push(BTreeMap::new());
        self.event_marks.push(self.events.len());
        let result = f(self);
        let layer = self.layers.pop().unwrap_or_default();
        let mark = self.event_marks.pop().unwrap_or(0);
        if result.is_ok() {
            let below = self.top();
            below.extend(layer);
        } else {
            self.events.truncate(mark);
        }
        result
    }

    /// Sets the phase recorded with deposited events.
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Deposits a runtime event whose encoding is `pallet_index ++ event`.
    pub fn deposit_event<E: Encode>(&mut self, pallet_index: u8, event: &E) {
        self.deposit_event_with_topics(pallet_index, event, &[]);
    }

    /// Deposits a runtime event with topics.
    pub fn deposit_event_with_topics<E: Encode>(
        &mut self,
        pallet_index: u8,
        event: &E,
        topics: &[H256],
    ) {
        let mut record = self.phase.encode();
        record.push(pallet_index);
        event.encode_to(&mut record);
        topics.encode_to(&mut record);
        self.events.push(record);
    }

    /// The encoded event records deposited so far.
    pub fn events(&self) -> &[Vec<u8>] {
        &self.events
    }

    /// Removes and returns the deposited events.
    pub fn take_events(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.events)
    }

    /// Records that state could not be read or decoded: the block is invalid.
    pub fn record_fault(&mut self, reason: String) {
        if self.fault.is_none() {
            self.fault = Some(reason);
        }
    }

    /// The first fault recorded, if any, clearing it.
    pub fn take_fault(&mut self) -> Option<String> {
        self.fault.take()
    }

    /// Whether a fault has been recorded.
    pub fn has_fault(&self) -> bool {
        self.fault.is_some()
    }

    /// The accumulated changes. Open layers (there should be none) are discarded.
    pub fn into_changes(self) -> StorageChanges {
        self.committed
    }

    /// The accumulated changes so far, without consuming the context.
    pub fn changes(&self) -> &StorageChanges {
        &self.committed
    }

    fn top(&mut self) -> &mut StorageChanges {
        match self.layers.last_mut() {
            Some(layer) => layer,
            None => &mut self.committed,
        }
    }

    /// `Some(Some(v))` set in the overlay, `Some(None)` deleted there, `None` untouched.
    fn overlay_value(&self, key: &[u8]) -> Option<Option<&Vec<u8>>> {
        for layer in self.layers.iter().rev() {
            if let Some(value) = layer.get(key) {
                return Some(value.as_ref());
            }
        }
        self.committed.get(key).map(|v| v.as_ref())
    }
}

impl<S: arceon_state::NodeStore> StateRead for arceon_state::TrieState<S> {
    fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        self.get(key).map_err(|e| BackendError(e.to_string()))
    }

    fn next_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        arceon_state::TrieState::next_key(self, key).map_err(|e| BackendError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DispatchError;

    fn backend() -> MemoryState {
        [
            (b"a1".to_vec(), vec![1]),
            (b"a3".to_vec(), vec![3]),
            (b"b".to_vec(), vec![9]),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn transactional_rolls_back_writes_and_events() {
        let state = backend();
        let mut ext = Ext::new(&state);
        ext.set(b"a2".to_vec(), vec![2]);
        let result: Result<(), DispatchError> = ext.transactional(|ext| {
            ext.set(b"a1".to_vec(), vec![10]);
            ext.remove(b"a3".to_vec());
            ext.deposit_event(0, &1u8);
            Err(DispatchError::Other("nope"))
        });
        assert!(result.is_err());
        assert_eq!(ext.get(b"a1"), Some(vec![1]));
        assert_eq!(ext.get(b"a3"), Some(vec![3]));
        assert!(ext.events().is_empty());

        let ok: Result<(), DispatchError> = ext.transactional(|ext| {
            ext.transactional(|ext| {
                ext.remove(b"a3".to_vec());
                ext.deposit_event(0, &2u8);
                Ok::<(), DispatchError>(())
            })?;
            ext.set(b"a1".to_vec(), vec![11]);
            Ok(())
        });
        assert!(ok.is_ok());
        assert_eq!(ext.get(b"a1"), Some(vec![11]));
        assert_eq!(ext.get(b"a3"), None);
        assert_eq!(ext.events().len(), 1);
        let changes = ext.into_changes();
        assert_eq!(changes.get(&b"a3"[..]), Some(&None));
        assert_eq!(changes.get(&b"a2"[..]), Some(&Some(vec![2])));
    }

    #[test]
    fn next_key_merges_overlay_and_backend() {
        let state = backend();
        let mut ext = Ext::new(&state);
        ext.remove(b"a1".to_vec());
        ext.set(b"a2".to_vec(), vec![2]);
        let _ = ext.transactional(|ext| {
            ext.remove(b"a2".to_vec());
            ext.set(b"a4".to_vec(), vec![4]);
            assert_eq!(
                ext.keys_with_prefix(b"a"),
                vec![b"a3".to_vec(), b"a4".to_vec()]
            );
            Ok::<(), DispatchError>(())
        });
        assert_eq!(ext.next_key(b""), Some(b"a3".to_vec()));
        assert_eq!(ext.next_key(b"a3"), Some(b"a4".to_vec()));
        assert_eq!(ext.next_key(b"a4"), Some(b"b".to_vec()));
        assert_eq!(ext.next_key(b"b"), None);
        assert_eq!(ext.clear_prefix(b"a"), 2);
        assert_eq!(ext.next_key(b""), Some(b"b".to_vec()));
    }

    struct Broken;
    impl StateRead for Broken {
        fn storage(&self, _: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
            Err(BackendError("missing trie node".into()))
        }
        fn next_key(&self, _: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
            Err(BackendError("missing trie node".into()))
        }
    }

    #[test]
    fn backend_errors_become_faults_not_panics() {
        let mut ext = Ext::new(&Broken);
        assert_eq!(ext.get(b"x"), None);
        assert!(ext.has_fault());
        assert_eq!(ext.take_fault().as_deref(), Some("missing trie node"));
    }
}
