//! The lane view of the world ([`Overlay`]): the best block's state under the lane writes
//! this node knows beyond it.
//!
//! On every new best block the view starts over on the block's state and every known
//! batch beyond it is applied again, in order (the block may have changed what they
//! read). Executing them all again stalled the lane thread for tens of milliseconds per
//! block under load, so each execution is remembered ([`Memo`]): what the action read
//! (every value, with the value seen, and every `next_key` answer) and what it wrote. An
//! action applied again with the same arguments whose reads all still hold on the view
//! gets its writes and outcome back without executing: execution is a deterministic
//! function of the action and the values it reads, so this is the result executing would
//! give. An action any of whose reads changed executes again (and is remembered anew).
//!
//! Two kinds of read are not compared, because no outcome depends on them and every
//! block changes them:
//! - the block number, for moves: a move reads it only to stamp `last_move` in the
//!   player's record (moves cost no energy); the replayed record keeps the stamp of the
//!   block the move was first executed on, one of the blocks the chain may execute it in;
//! - `Areas.Load`, the per-area action counter that splits follow: a replay adds the
//!   action's count to the view's counter instead of writing the old total.
//!
//! Memos live until a rebuild that does not use them (so a memo lasts while its action
//! is beyond the best block), and at most [`MAX_MEMOS`] are kept.

use std::cell::RefCell;
use std::collections::HashMap;

use arceon_client::State;
use arceon_fastlane::{Committee, LaneState};
use arceon_pallet_areas::{self as areas, AreaId};
use arceon_pallet_fastlane::{
    self as fastlane, ActionKind, Batch, LaneAction, Outcome, SignedLaneAction,
};
use arceon_primitives::{AccountId32, BlockNumber, H256};
use arceon_support::{BackendError, DispatchError, Ext, StateRead, StorageChanges};
use codec::{Decode, Encode};

/// How many base values the lane view keeps cached across blocks (beyond it the cache
/// starts over on the next block).
const MAX_CACHED_READS: usize = 262_144;
/// The most executions remembered.
const MAX_MEMOS: usize = 131_072;

/// What the view did since the last rebuild began: actions replayed from their memo and
/// actions executed.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct MemoStats {
    pub replayed: usize,
    pub executed: usize,
}

/// One execution of a lane action: its arguments, what it read and what it wrote.
struct Memo {
    action: LaneAction,
    area: AreaId,
    version: u64,
    time_ms: u64,
    outcome: Outcome,
    /// Every value read, with the value seen (`None`: no value).
    reads: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Every `next_key` asked, with the answer.
    next: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Counters the action added to: the key and the amount.
    counters: Vec<(Vec<u8>, u32)>,
    /// Every other write.
    writes: StorageChanges,
    /// The rebuild that last used it.
    used: u64,
}

/// The reads of one execution.
#[derive(Default)]
struct Record {
    reads: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    next: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The lane view of the world: the best block's state (`B`) under layers of lane writes.
pub(super) struct Overlay<B = State> {
    genesis: H256,
    base: Option<B>,
    /// Values read from the base (valid until the base changes).
    reads: parking_lot::Mutex<HashMap<Vec<u8>, Option<Vec<u8>>>>,
    /// Lane writes; the last layer is the open checkpoint.
    layers: Vec<StorageChanges>,
    /// The base's block number.
    number: BlockNumber,
    /// Executions remembered, by player and lane nonce.
    memos: HashMap<(AccountId32, u64), Memo>,
    /// Counts rebuilds; a memo not used by the latest one is forgotten.
    generation: u64,
    stats: MemoStats,
    /// `System.Number`'s key.
    number_key: Vec<u8>,
    /// The prefix of `Areas.Load`'s keys.
    load_prefix: Vec<u8>,
}

struct View<'a, B> {
    overlay: &'a Overlay<B>,
    record: Option<&'a RefCell<Record>>,
}

impl<B: StateRead> StateRead for View<'_, B> {
    fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let value = self.overlay.value(key)?;
        if let Some(record) = self.record {
            record
                .borrow_mut()
                .reads
                .push((key.to_vec(), value.clone()));
        }
        Ok(value)
    }

    fn next_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let next = self.overlay.next_key(key)?;
        if let Some(record) = self.record {
            record.borrow_mut().next.push((key.to_vec(), next.clone()));
        }
        Ok(next)
    }
}

impl<B: StateRead> Overlay<B> {
    pub(super) fn new(genesis: H256) -> Self {
        let load_key = areas::Load::key(&0);
        Overlay {
            genesis,
            base: None,
            reads: parking_lot::Mutex::new(HashMap::new()),
            layers: vec![StorageChanges::new()],
            number: 0,
            memos: HashMap::new(),
            generation: 0,
            stats: MemoStats::default(),
            number_key: arceon_runtime::queries::block_number_key(),
            load_prefix: load_key[..32.min(load_key.len())].to_vec(),
        }
    }

    /// How many base values are cached.
    pub(super) fn cached(&self) -> usize {
        self.reads.lock().len()
    }

    /// Starts over on `state` (block `number`), executing as block `number + 1`.
    pub(super) fn reset(&mut self, state: B, number: BlockNumber) {
        self.base = Some(state);
        self.reads.lock().clear();
        self.number = number;
        self.restart();
    }

    /// Drops every lane write and starts over on the same base, whose values read so far
    /// stay cached. The memos stay: a rebuild follows ([`Overlay::begin_rebuild`]).
    pub(super) fn restart(&mut self) {
        let mut first = StorageChanges::new();
        first.insert(
            self.number_key.clone(),
            Some(self.number.saturating_add(1).encode()),
        );
        self.layers = vec![first];
    }

    /// Like [`Overlay::reset`], on a child of the current base whose storage changes are
    /// known: the values read from the old base stay cached, brought up to date by the
    /// changes (every key the block wrote), so re-applying the batches beyond the new
    /// block reads almost nothing from the trie.
    pub(super) fn rebase(&mut self, state: B, number: BlockNumber, changes: &StorageChanges) {
        let mut reads = std::mem::take(&mut *self.reads.lock());
        if reads.len() > MAX_CACHED_READS {
            reads.clear();
        } else {
            for (key, value) in changes {
                if let Some(cached) = reads.get_mut(key) {
                    cached.clone_from(value);
                }
            }
        }
        self.reset(state, number);
        *self.reads.lock() = reads;
    }

    /// A rebuild begins: what it replays or executes is counted from here, and memos it
    /// does not use are forgotten at [`Overlay::end_rebuild`].
    pub(super) fn begin_rebuild(&mut self) {
        self.generation += 1;
        self.stats = MemoStats::default();
    }

    /// The rebuild is over: forgets the memos it did not use (their actions are in the
    /// chain, or were given up). Returns what it replayed and executed.
    pub(super) fn end_rebuild(&mut self) -> MemoStats {
        let generation = self.generation;
        self.memos.retain(|_, memo| memo.used == generation);
        self.stats
    }

    fn merge(&mut self, changes: StorageChanges) {
        if let Some(top) = self.layers.last_mut() {
            top.extend(changes);
        }
    }

    /// The value at `key` in the view (cached once read from the base).
    fn value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        for layer in self.layers.iter().rev() {
            if let Some(value) = layer.get(key) {
                return Ok(value.clone());
            }
        }
        if let Some(value) = self.reads.lock().get(key) {
            return Ok(value.clone());
        }
        let value = match &self.base {
            Some(base) => StateRead::storage(base, key)?,
            None => None,
        };
        self.reads.lock().insert(key.to_vec(), value.clone());
        Ok(value)
    }

    /// Whether the view holds `expected` at `key` (without copying the value when it is
    /// in the layers or the cache).
    fn holds(&self, key: &[u8], expected: &Option<Vec<u8>>) -> bool {
        for layer in self.layers.iter().rev() {
            if let Some(value) = layer.get(key) {
                return value == expected;
            }
        }
        if let Some(value) = self.reads.lock().get(key) {
            return value == expected;
        }
        self.value(key).is_ok_and(|value| value == *expected)
    }

    /// The smallest key after `key` that is live in the layers or the base.
    fn next_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let mut after = key.to_vec();
        loop {
            let from_base = match &self.base {
                Some(base) => StateRead::next_key(base, &after)?,
                None => None,
            };
            let from_layers = self
                .layers
                .iter()
                .filter_map(|layer| {
                    layer
                        .range::<[u8], _>((
                            std::ops::Bound::Excluded(after.as_slice()),
                            std::ops::Bound::Unbounded,
                        ))
                        .next()
                        .map(|(k, _)| k.clone())
                })
                .min();
            let candidate = match (from_base, from_layers) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => return Ok(None),
            };
            if self.value(&candidate)?.is_some() {
                return Ok(Some(candidate));
            }
            after = candidate;
        }
    }

    /// Applies a batch known to be certified (an observer following another lane).
    pub(super) fn apply_batch(&mut self, batch: &Batch) -> bool {
        self.checkpoint();
        let committee = Committee {
            area: batch.header.area,
            version: batch.header.version,
            keys: Vec::new(),
        };
        for (action, outcome) in batch.actions.iter().zip(&batch.outcomes) {
            match self.execute(&committee, batch.header.time_ms, action) {
                Ok(result)
                    if result == *outcome
                        || self
                            .with_ext(None, |ext| fastlane::honours(ext, outcome, &result))
                            .0 => {}
                _ => {
                    self.rollback();
                    return false;
                }
            }
        }
        self.commit();
        true
    }

    fn with_ext<R>(
        &self,
        record: Option<&RefCell<Record>>,
        f: impl FnOnce(&mut Ext) -> R,
    ) -> (R, StorageChanges) {
        let view = View {
            overlay: self,
            record,
        };
        let mut ext = Ext::new(&view);
        let result = f(&mut ext);
        (result, ext.into_changes())
    }

    /// The outcome of `action` (at `area`, `version`, `time_ms`) from its memo, with its
    /// writes applied, when every value it read still holds.
    fn replay(
        &mut self,
        action: &LaneAction,
        area: AreaId,
        version: u64,
        time_ms: u64,
    ) -> Option<Outcome> {
        let key = (action.player.clone(), action.nonce);
        let memo = self.memos.get(&key)?;
        if memo.time_ms != time_ms
            || memo.area != area
            || memo.version != version
            || memo.action != *action
            || !memo.reads.iter().all(|(key, value)| self.holds(key, value))
            || !memo
                .next
                .iter()
                .all(|(after, next)| self.next_key(after).is_ok_and(|found| found == *next))
        {
            return None;
        }
        let mut writes = memo.writes.clone();
        for (key, added) in &memo.counters {
            let current = self
                .value(key)
                .ok()
                .flatten()
                .and_then(|bytes| u32::decode(&mut &bytes[..]).ok())
                .unwrap_or(0);
            writes.insert(key.clone(), Some(current.saturating_add(*added).encode()));
        }
        let outcome = memo.outcome;
        if let Some(memo) = self.memos.get_mut(&key) {
            memo.used = self.generation;
        }
        self.merge(writes);
        Some(outcome)
    }

    /// Remembers an execution (see the module doc for the reads left out).
    fn remember(
        &mut self,
        action: &LaneAction,
        (area, version, time_ms): (AreaId, u64, u64),
        outcome: &Outcome,
        record: Record,
        changes: &StorageChanges,
    ) {
        let key = (action.player.clone(), action.nonce);
        if self.memos.len() >= MAX_MEMOS && !self.memos.contains_key(&key) {
            return;
        }
        let is_move = matches!(action.kind, ActionKind::Move { .. });
        let mut writes = changes.clone();
        let mut reads = Vec::with_capacity(record.reads.len());
        let mut counters = Vec::new();
        for (key, value) in record.reads {
            if is_move && key == self.number_key {
                continue;
            }
            if key.len() > self.load_prefix.len() && key.starts_with(&self.load_prefix) {
                let count = |value: Option<&Vec<u8>>| {
                    value.map_or(Some(0), |bytes| u32::decode(&mut &bytes[..]).ok())
                };
                let before = count(value.as_ref());
                let after = match writes.remove(&key) {
                    Some(written) => count(written.as_ref()),
                    None => before,
                };
                match (before, after) {
                    (Some(before), Some(after)) if after >= before => {
                        counters.push((key, after - before));
                        continue;
                    }
                    // Not a counter that only grew: compared like any read.
                    _ => {
                        if let Some(written) = changes.get(&key) {
                            writes.insert(key.clone(), written.clone());
                        }
                    }
                }
            }
            reads.push((key, value));
        }
        self.memos.insert(
            key,
            Memo {
                action: action.clone(),
                area,
                version,
                time_ms,
                outcome: *outcome,
                reads,
                next: record.next,
                counters,
                writes,
                used: self.generation,
            },
        );
    }
}

impl<B: StateRead> LaneState for Overlay<B> {
    fn execute(
        &mut self,
        committee: &Committee,
        time_ms: u64,
        action: &SignedLaneAction,
    ) -> Result<Outcome, DispatchError> {
        let (area, version) = (committee.area, committee.version);
        if let Some(outcome) = self.replay(&action.action, area, version, time_ms) {
            self.stats.replayed += 1;
            return Ok(outcome);
        }
        self.stats.executed += 1;
        let genesis = self.genesis;
        let record = RefCell::new(Record::default());
        let (result, changes) = self.with_ext(Some(&record), |ext| {
            fastlane::apply_action(ext, &action.action, &genesis, area, version, time_ms)
        });
        if let Ok(outcome) = &result {
            self.remember(
                &action.action,
                (area, version, time_ms),
                outcome,
                record.into_inner(),
                &changes,
            );
            self.merge(changes);
        }
        result
    }

    fn checkpoint(&mut self) {
        self.layers.push(StorageChanges::new());
    }

    fn commit(&mut self) {
        if self.layers.len() > 1 {
            if let Some(top) = self.layers.pop() {
                self.merge(top);
            }
        }
    }

    fn rollback(&mut self) {
        if self.layers.len() > 1 {
            self.layers.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_pallet_areas::{Position, UNIT};
    use arceon_primitives::keyring::Keyring;
    use arceon_support::MemoryState;
    use sp_core::Pair as _;

    const VERSION: u64 = 1;
    const T0: u64 = 1_700_000_000_000;

    fn bob() -> AccountId32 {
        Keyring::Bob.pair().public().into()
    }

    /// The local chain's genesis with Bob registered (at the starting area's spawn) and
    /// in the lanes.
    fn world() -> MemoryState {
        let mut spec: serde_json::Value =
            serde_json::from_str(arceon_chain_spec::LOCAL_JSON).expect("local spec is JSON");
        let bob = arceon_primitives::to_ss58(&bob());
        let config = spec
            .pointer_mut("/genesis/runtimeGenesis/config")
            .expect("a runtime genesis");
        config["players"]["players"] = serde_json::json!([[bob, "bob"]]);
        config["fastLane"] = serde_json::json!({ "joined": [bob] });
        arceon_chain_spec::ChainSpec::from_json(&spec.to_string())
            .expect("spec parses")
            .genesis_storage()
            .expect("genesis builds")
    }

    fn read<T>(state: &MemoryState, f: impl FnOnce(&mut Ext) -> T) -> T {
        let mut ext = Ext::new(state);
        f(&mut ext)
    }

    fn bob_now(state: &MemoryState) -> arceon_runtime::queries::Player {
        read(state, |ext| arceon_runtime::queries::player(ext, &bob())).expect("Bob plays")
    }

    fn action(nonce: u64, kind: ActionKind, area: AreaId) -> SignedLaneAction {
        SignedLaneAction {
            action: LaneAction {
                genesis: H256::zero(),
                area,
                version: VERSION,
                player: bob(),
                nonce,
                kind,
            },
            signature: [0; 64],
        }
    }

    fn step(from: &Position, units: i64) -> ActionKind {
        ActionKind::Move {
            x: from.x + units * UNIT,
            y: from.y,
        }
    }

    fn overlay(state: MemoryState, number: BlockNumber) -> Overlay<MemoryState> {
        let mut overlay = Overlay::new(H256::zero());
        overlay.reset(state, number);
        overlay
    }

    fn committee(area: AreaId) -> Committee {
        Committee {
            area,
            version: VERSION,
            keys: Vec::new(),
        }
    }

    /// Every value the view holds under the lane writes (the base's and the layers').
    fn lane_writes(overlay: &Overlay<MemoryState>) -> StorageChanges {
        let mut all = StorageChanges::new();
        for layer in &overlay.layers {
            all.extend(layer.clone());
        }
        all
    }

    #[test]
    fn a_replayed_action_writes_and_answers_what_executing_it_gives() {
        let state = world();
        let player = bob_now(&state);
        let area = player.area;
        let first = action(0, step(&player.position, 1), area);
        let second = action(1, step(&player.position, 2), area);
        // Executed once, remembered; then the view is rebuilt on the same block.
        let mut remembered = overlay(state.clone(), 5);
        let outcomes: Vec<_> = [(&first, T0), (&second, T0 + 100)]
            .into_iter()
            .map(|(a, t)| remembered.execute(&committee(area), t, a))
            .collect();
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        remembered.begin_rebuild();
        remembered.restart();
        let replayed: Vec<_> = [(&first, T0), (&second, T0 + 100)]
            .into_iter()
            .map(|(a, t)| remembered.execute(&committee(area), t, a))
            .collect();
        let stats = remembered.end_rebuild();
        assert_eq!((stats.replayed, stats.executed), (2, 0));
        assert_eq!(replayed, outcomes);
        // A view that never saw them executes them to the same writes.
        let mut fresh = overlay(state, 5);
        for (a, t) in [(&first, T0), (&second, T0 + 100)] {
            fresh.execute(&committee(area), t, a).expect("applies");
        }
        assert_eq!(lane_writes(&remembered), lane_writes(&fresh));
        assert!(!lane_writes(&fresh).is_empty());
    }

    #[test]
    fn an_action_whose_reads_changed_executes_again() {
        let state = world();
        let player = bob_now(&state);
        let area = player.area;
        let walk = action(0, step(&player.position, 1), area);
        let mut view = overlay(state.clone(), 5);
        assert!(view.execute(&committee(area), T0, &walk).is_ok());
        // The next block holds Bob's action with this nonce (another lane's batch, say):
        // the remembered move read his old lane record, so it executes again, and fails.
        let mut next = state;
        next.insert(
            fastlane::PlayerLanes::key(&bob()),
            fastlane::PlayerLane {
                nonce: 1,
                last_ms: T0 - 1_000,
            }
            .encode(),
        );
        view.begin_rebuild();
        view.reset(next, 6);
        let again = view.execute(&committee(area), T0, &walk);
        let stats = view.end_rebuild();
        assert_eq!((stats.replayed, stats.executed), (0, 1));
        assert_eq!(
            again,
            Err(fastlane::Error::StaleNonce.into()),
            "the remembered outcome was not used"
        );
    }

    #[test]
    fn a_move_replays_on_a_later_block_and_counts_into_the_areas_load_there() {
        let state = world();
        let player = bob_now(&state);
        let area = player.area;
        let walk = action(0, step(&player.position, 1), area);
        let load = areas::Load::key(&area);
        let mut view = overlay(state.clone(), 5);
        let outcome = view.execute(&committee(area), T0, &walk);
        assert!(outcome.is_ok(), "{outcome:?}");
        let counted = view.value(&load).expect("reads");
        // The next block counted 100 actions in the area (other players' extrinsics):
        // the move is replayed (a move's outcome does not depend on the block number),
        // and its one action is added to the block's count, not its old total written.
        let mut next = state;
        next.insert(load.clone(), 100u32.encode());
        view.begin_rebuild();
        view.reset(next, 6);
        assert_eq!(view.execute(&committee(area), T0, &walk), outcome);
        let stats = view.end_rebuild();
        assert_eq!((stats.replayed, stats.executed), (1, 0));
        assert_ne!(counted, Some(101u32.encode()));
        assert_eq!(view.value(&load).expect("reads"), Some(101u32.encode()));
        // A rebuild that no longer applies it forgets it.
        view.begin_rebuild();
        view.end_rebuild();
        assert!(view.memos.is_empty());
    }
}
