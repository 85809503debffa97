//! The dependency graph of the pool's transactions: which are ready, which wait, who
//! provides each tag, and the ready order. No locking and no notifications here: the
//! callers hold the pool's lock and turn the [`Journal`] into statuses.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use arceon_primitives::{TransactionTag, H256};

use crate::{Limits, PoolError, PoolStatus, Transaction};

/// The state, before the current operation, of every transaction it touched: `None` when
/// it was not in the graph, else whether it was ready. Only the first touch is recorded,
/// so a transaction demoted then promoted again within one operation reports no change.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    before: HashMap<H256, Option<bool>>,
}

impl Journal {
    pub(crate) fn note(&mut self, hash: H256, state: Option<bool>) {
        self.before.entry(hash).or_insert(state);
    }

    /// The touched transactions with their state before the operation.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (H256, Option<bool>)> {
        self.before.into_iter()
    }
}

#[derive(Debug)]
struct Node {
    tx: Arc<Transaction>,
    ready: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Graph {
    nodes: HashMap<H256, Node>,
    /// The unique provider of each tag, ready or future.
    providers: HashMap<TransactionTag, H256>,
    /// Every transaction requiring each tag, ready or future.
    dependents: HashMap<TransactionTag, HashSet<H256>>,
    /// Ready transactions, worst (lowest priority, then newest) first: the eviction order.
    ready_by_priority: BTreeSet<(u64, Reverse<u64>, H256)>,
    /// Future transactions, oldest first (evicted newest first).
    future_by_age: BTreeSet<(u64, H256)>,
    ready_bytes: usize,
    future_bytes: usize,
}

impl Graph {
    pub(crate) fn status(&self) -> PoolStatus {
        PoolStatus {
            ready: self.ready_by_priority.len(),
            ready_bytes: self.ready_bytes,
            future: self.future_by_age.len(),
            future_bytes: self.future_bytes,
        }
    }

    pub(crate) fn contains(&self, hash: &H256) -> bool {
        self.nodes.contains_key(hash)
    }

    pub(crate) fn get(&self, hash: &H256) -> Option<Arc<Transaction>> {
        self.nodes.get(hash).map(|node| node.tx.clone())
    }

    /// `None` when absent, else whether it is ready.
    pub(crate) fn state(&self, hash: &H256) -> Option<bool> {
        self.nodes.get(hash).map(|node| node.ready)
    }

    /// Whether a ready transaction provides `tag`.
    pub(crate) fn ready_provides(&self, tag: &[u8]) -> bool {
        self.providers
            .get(tag)
            .and_then(|hash| self.nodes.get(hash))
            .is_some_and(|node| node.ready)
    }

    /// Every transaction, in insertion order.
    pub(crate) fn all(&self) -> Vec<Arc<Transaction>> {
        let mut all: Vec<_> = self.nodes.values().map(|node| node.tx.clone()).collect();
        all.sort_by_key(|tx| tx.insertion_id);
        all
    }

    /// Every transaction with its readiness, emptying the graph.
    pub(crate) fn drain(&mut self) -> Vec<(Arc<Transaction>, bool)> {
        let drained = std::mem::take(&mut self.nodes)
            .into_values()
            .map(|node| (node.tx, node.ready))
            .collect();
        *self = Graph::default();
        drained
    }

    /// Future transactions, oldest first.
    pub(crate) fn future(&self) -> Vec<Arc<Transaction>> {
        self.future_by_age
            .iter()
            .filter_map(|(_, hash)| self.get(hash))
            .collect()
    }

    /// Ready transactions in an order a block can include them: each after the providers
    /// of its required tags, otherwise highest priority first, ties oldest first (Kahn's
    /// topological sort with a priority queue, as Substrate's "best" iterator).
    pub(crate) fn best(&self) -> Vec<Arc<Transaction>> {
        let mut waiting_on: HashMap<H256, usize> = HashMap::new();
        let mut queue = BinaryHeap::new();
        for (hash, node) in &self.nodes {
            if !node.ready {
                continue;
            }
            if node.tx.requires.is_empty() {
                queue.push((node.tx.priority, Reverse(node.tx.insertion_id), *hash));
            } else {
                waiting_on.insert(*hash, node.tx.requires.len());
            }
        }
        let mut best = Vec::with_capacity(self.ready_by_priority.len());
        while let Some((_, _, hash)) = queue.pop() {
            let Some(node) = self.nodes.get(&hash) else {
                continue;
            };
            for tag in &node.tx.provides {
                for dependent in self.dependents.get(tag).into_iter().flatten() {
                    // Tags are provided once and required without duplicates, so each
                    // dependent is counted down exactly once per required tag.
                    let Some(count) = waiting_on.get_mut(dependent) else {
                        continue;
                    };
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        waiting_on.remove(dependent);
                        if let Some(next) = self.nodes.get(dependent) {
                            queue.push((
                                next.tx.priority,
                                Reverse(next.tx.insertion_id),
                                *dependent,
                            ));
                        }
                    }
                }
            }
            best.push(node.tx.clone());
        }
        best
    }

    /// Inserts `tx`, replacing the transactions that provide one of its tags, and makes it
    /// and whatever it unlocks ready when their requirements are met. Returns the replaced
    /// transactions.
    pub(crate) fn insert(
        &mut self,
        tx: Arc<Transaction>,
        journal: &mut Journal,
    ) -> Result<Vec<Arc<Transaction>>, PoolError> {
        if self.nodes.contains_key(&tx.hash) {
            return Err(PoolError::AlreadyImported(tx.hash));
        }
        if tx.provides.is_empty() {
            return Err(PoolError::NoTagsProvided);
        }
        let mut conflicts: Vec<H256> = Vec::new();
        let mut highest: Option<u64> = None;
        for tag in &tx.provides {
            let Some(hash) = self.providers.get(tag) else {
                continue;
            };
            if conflicts.contains(hash) {
                continue;
            }
            if let Some(node) = self.nodes.get(hash) {
                highest = Some(highest.map_or(node.tx.priority, |h| h.max(node.tx.priority)));
            }
            conflicts.push(*hash);
        }
        if let Some(old) = highest {
            if tx.priority <= old {
                return Err(PoolError::TooLowPriority {
                    old,
                    new: tx.priority,
                });
            }
        }
        if self.depends_on(&tx, &conflicts) {
            return Err(PoolError::CycleDetected);
        }

        let usurped = conflicts
            .iter()
            .filter_map(|hash| self.remove(hash, journal))
            .collect();

        let hash = tx.hash;
        journal.note(hash, None);
        for tag in &tx.provides {
            self.providers.insert(tag.clone(), hash);
        }
        for tag in &tx.requires {
            self.dependents.entry(tag.clone()).or_default().insert(hash);
        }
        self.future_by_age.insert((tx.insertion_id, hash));
        self.future_bytes = self.future_bytes.saturating_add(tx.bytes());
        self.nodes.insert(hash, Node { tx, ready: false });
        self.promote(hash, journal);
        Ok(usurped)
    }

    /// Whether `tx` requires, directly or through the transactions providing its
    /// requirements, one of its own tags or a tag of `replaced`: then it could never
    /// become ready once inserted.
    fn depends_on(&self, tx: &Transaction, replaced: &[H256]) -> bool {
        let mut visited: HashSet<H256> = HashSet::new();
        let mut tags: Vec<&TransactionTag> = tx.requires.iter().collect();
        while let Some(tag) = tags.pop() {
            if tx.provides.contains(tag) {
                return true;
            }
            let Some(provider) = self.providers.get(tag) else {
                continue;
            };
            if replaced.contains(provider) {
                return true;
            }
            if visited.insert(*provider) {
                if let Some(node) = self.nodes.get(provider) {
                    tags.extend(node.tx.requires.iter());
                }
            }
        }
        false
    }

    /// Removes one transaction; the ready ones that depended on it become future.
    pub(crate) fn remove(
        &mut self,
        hash: &H256,
        journal: &mut Journal,
    ) -> Option<Arc<Transaction>> {
        let node = self.nodes.remove(hash)?;
        journal.note(*hash, Some(node.ready));
        let tx = node.tx;
        if node.ready {
            self.ready_by_priority
                .remove(&(tx.priority, Reverse(tx.insertion_id), *hash));
            self.ready_bytes = self.ready_bytes.saturating_sub(tx.bytes());
        } else {
            self.future_by_age.remove(&(tx.insertion_id, *hash));
            self.future_bytes = self.future_bytes.saturating_sub(tx.bytes());
        }
        for tag in &tx.provides {
            if self.providers.get(tag) == Some(hash) {
                self.providers.remove(tag);
            }
        }
        for tag in &tx.requires {
            if let Some(set) = self.dependents.get_mut(tag) {
                set.remove(hash);
                if set.is_empty() {
                    self.dependents.remove(tag);
                }
            }
        }
        if node.ready {
            let unlocked = self.ready_dependents(&tx);
            self.demote(unlocked, journal);
        }
        Some(tx)
    }

    /// Evicts the worst ready transactions, then the newest future ones, until both sets
    /// are within their limits. Both orders put the newcomer first among equals: a
    /// transaction the pool has accepted is not pushed out by later ones of no higher
    /// priority; the newcomer is refused instead (1016), which its sender hears at once. Evicting a ready transaction demotes its dependents rather
    /// than dropping them: they are still valid, only waiting again.
    pub(crate) fn enforce_limits(
        &mut self,
        ready: Limits,
        future: Limits,
        journal: &mut Journal,
    ) -> Vec<Arc<Transaction>> {
        let mut evicted = Vec::new();
        while self.ready_by_priority.len() > ready.count || self.ready_bytes > ready.total_bytes {
            let Some(&(_, _, worst)) = self.ready_by_priority.first() else {
                break;
            };
            match self.remove(&worst, journal) {
                Some(tx) => evicted.push(tx),
                None => break,
            }
        }
        while self.future_by_age.len() > future.count || self.future_bytes > future.total_bytes {
            let Some(&(_, newest)) = self.future_by_age.last() else {
                break;
            };
            match self.remove(&newest, journal) {
                Some(tx) => evicted.push(tx),
                None => break,
            }
        }
        evicted
    }

    fn requirements_met(&self, tx: &Transaction) -> bool {
        tx.requires.iter().all(|tag| self.ready_provides(tag))
    }

    /// Ready transactions requiring a tag that `tx` provides.
    fn ready_dependents(&self, tx: &Transaction) -> Vec<H256> {
        tx.provides
            .iter()
            .filter_map(|tag| self.dependents.get(tag))
            .flatten()
            .filter(|hash| self.state(hash) == Some(true))
            .copied()
            .collect()
    }

    /// Makes `start` ready if its requirements are met, then everything that unlocks.
    /// Only ever promotes, so each transaction flips at most once.
    fn promote(&mut self, start: H256, journal: &mut Journal) {
        let mut stack = vec![start];
        while let Some(hash) = stack.pop() {
            let Some(node) = self.nodes.get(&hash) else {
                continue;
            };
            if node.ready || !self.requirements_met(&node.tx) {
                continue;
            }
            let tx = node.tx.clone();
            self.set_ready(&hash, true, journal);
            stack.extend(
                tx.provides
                    .iter()
                    .filter_map(|tag| self.dependents.get(tag))
                    .flatten()
                    .filter(|hash| self.state(hash) == Some(false)),
            );
        }
    }

    /// Makes the given ready transactions future if a requirement is no longer met, then
    /// the ready ones depending on them. Only ever demotes, so each flips at most once.
    fn demote(&mut self, mut stack: Vec<H256>, journal: &mut Journal) {
        while let Some(hash) = stack.pop() {
            let Some(node) = self.nodes.get(&hash) else {
                continue;
            };
            if !node.ready || self.requirements_met(&node.tx) {
                continue;
            }
            let tx = node.tx.clone();
            self.set_ready(&hash, false, journal);
            stack.extend(self.ready_dependents(&tx));
        }
    }

    fn set_ready(&mut self, hash: &H256, ready: bool, journal: &mut Journal) {
        let Some(node) = self.nodes.get_mut(hash) else {
            return;
        };
        if node.ready == ready {
            return;
        }
        journal.note(*hash, Some(node.ready));
        node.ready = ready;
        let tx = &node.tx;
        let by_priority = (tx.priority, Reverse(tx.insertion_id), *hash);
        let by_age = (tx.insertion_id, *hash);
        if ready {
            self.future_by_age.remove(&by_age);
            self.future_bytes = self.future_bytes.saturating_sub(tx.bytes());
            self.ready_by_priority.insert(by_priority);
            self.ready_bytes = self.ready_bytes.saturating_add(tx.bytes());
        } else {
            self.ready_by_priority.remove(&by_priority);
            self.ready_bytes = self.ready_bytes.saturating_sub(tx.bytes());
            self.future_by_age.insert(by_age);
            self.future_bytes = self.future_bytes.saturating_add(tx.bytes());
        }
    }

    /// Checks every invariant of the graph against a recomputation from scratch.
    #[cfg(test)]
    pub(crate) fn assert_consistent(&self) {
        let mut providers = HashMap::new();
        for (hash, node) in &self.nodes {
            for tag in &node.tx.provides {
                assert!(
                    providers.insert(tag.clone(), *hash).is_none(),
                    "tag provided twice"
                );
            }
        }
        assert_eq!(providers, self.providers);
        // Least fixed point: iterate readiness from nothing.
        let mut ready: HashSet<H256> = HashSet::new();
        loop {
            let before = ready.len();
            for (hash, node) in &self.nodes {
                if node.tx.requires.iter().all(|tag| {
                    providers
                        .get(tag)
                        .is_some_and(|provider| ready.contains(provider))
                }) {
                    ready.insert(*hash);
                }
            }
            if ready.len() == before {
                break;
            }
        }
        for (hash, node) in &self.nodes {
            assert_eq!(node.ready, ready.contains(hash), "readiness of {hash:?}");
        }
        let status = self.status();
        assert_eq!(status.ready, ready.len());
        assert_eq!(status.future, self.nodes.len() - ready.len());
        let ready_bytes: usize = self
            .nodes
            .values()
            .filter(|node| node.ready)
            .map(|node| node.tx.bytes())
            .sum();
        let future_bytes: usize = self
            .nodes
            .values()
            .filter(|node| !node.ready)
            .map(|node| node.tx.bytes())
            .sum();
        assert_eq!(status.ready_bytes, ready_bytes);
        assert_eq!(status.future_bytes, future_bytes);
        let best = self.best();
        assert_eq!(best.len(), ready.len());
        let mut provided = HashSet::new();
        for tx in &best {
            assert!(tx.requires.iter().all(|tag| provided.contains(tag)));
            provided.extend(tx.provides.iter().cloned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use arceon_primitives::TransactionSource;

    fn tx(id: u64, priority: u64, requires: &[&str], provides: &[&str]) -> Arc<Transaction> {
        Arc::new(Transaction {
            hash: H256::from_low_u64_be(id),
            data: vec![0; 10 + id as usize],
            priority,
            requires: requires.iter().map(|t| t.as_bytes().to_vec()).collect(),
            provides: provides.iter().map(|t| t.as_bytes().to_vec()).collect(),
            longevity: 64,
            valid_till: 64,
            propagate: true,
            source: TransactionSource::External,
            insertion_id: id,
            inserted_at: Instant::now(),
        })
    }

    fn hashes(txs: &[Arc<Transaction>]) -> Vec<u64> {
        txs.iter().map(|tx| tx.hash.to_low_u64_be()).collect()
    }

    #[test]
    fn chain_becomes_ready_when_gap_filled() {
        let mut graph = Graph::default();
        let mut journal = Journal::default();
        graph
            .insert(tx(3, 1, &["b"], &["c"]), &mut journal)
            .unwrap();
        graph
            .insert(tx(2, 1, &["a"], &["b"]), &mut journal)
            .unwrap();
        assert_eq!(graph.status().future, 2);
        graph.insert(tx(1, 1, &[], &["a"]), &mut journal).unwrap();
        graph.assert_consistent();
        assert_eq!(hashes(&graph.best()), vec![1, 2, 3]);
    }

    #[test]
    fn best_prefers_priority_but_respects_dependencies() {
        let mut graph = Graph::default();
        let mut journal = Journal::default();
        graph.insert(tx(1, 1, &[], &["a0"]), &mut journal).unwrap();
        graph
            .insert(tx(2, 100, &["a0"], &["a1"]), &mut journal)
            .unwrap();
        graph.insert(tx(3, 50, &[], &["b0"]), &mut journal).unwrap();
        graph.insert(tx(4, 50, &[], &["c0"]), &mut journal).unwrap();
        graph.assert_consistent();
        // 3 and 4 tie on priority, so the older one goes first.
        assert_eq!(hashes(&graph.best()), vec![3, 4, 1, 2]);
    }

    #[test]
    fn replacement_keeps_dependents_ready() {
        let mut graph = Graph::default();
        let mut journal = Journal::default();
        graph.insert(tx(1, 1, &[], &["a"]), &mut journal).unwrap();
        graph
            .insert(tx(2, 1, &["a"], &["b"]), &mut journal)
            .unwrap();
        assert_eq!(
            graph.insert(tx(3, 1, &[], &["a"]), &mut journal),
            Err(PoolError::TooLowPriority { old: 1, new: 1 })
        );
        let mut journal = Journal::default();
        let usurped = graph.insert(tx(4, 2, &[], &["a"]), &mut journal).unwrap();
        assert_eq!(hashes(&usurped), vec![1]);
        graph.assert_consistent();
        assert_eq!(hashes(&graph.best()), vec![4, 2]);
        // The dependent was demoted and promoted within the operation: no net change.
        let changed: Vec<_> = journal
            .into_entries()
            .filter(|(hash, before)| graph.state(hash) != *before && graph.contains(hash))
            .collect();
        assert_eq!(changed.len(), 1, "only the newcomer changed: {changed:?}");
    }

    #[test]
    fn replacement_dropping_a_tag_demotes_its_dependents() {
        let mut graph = Graph::default();
        let mut journal = Journal::default();
        graph
            .insert(tx(1, 1, &[], &["a", "x"]), &mut journal)
            .unwrap();
        graph
            .insert(tx(2, 1, &["x"], &["b"]), &mut journal)
            .unwrap();
        graph
            .insert(tx(3, 1, &["b"], &["c"]), &mut journal)
            .unwrap();
        graph.insert(tx(4, 2, &[], &["a"]), &mut journal).unwrap();
        graph.assert_consistent();
        assert_eq!(graph.state(&H256::from_low_u64_be(2)), Some(false));
        assert_eq!(graph.state(&H256::from_low_u64_be(3)), Some(false));
    }

    #[test]
    fn cycles_are_refused() {
        let mut graph = Graph::default();
        let mut journal = Journal::default();
        assert_eq!(
            graph.insert(tx(1, 1, &["a"], &["a"]), &mut journal),
            Err(PoolError::CycleDetected)
        );
        graph.insert(tx(2, 1, &[], &["a"]), &mut journal).unwrap();
        graph
            .insert(tx(3, 1, &["a"], &["b"]), &mut journal)
            .unwrap();
        // Would replace 2 while needing 3, which needs 2's tag.
        assert_eq!(
            graph.insert(tx(4, 5, &["b"], &["a"]), &mut journal),
            Err(PoolError::CycleDetected)
        );
        // A cycle among future transactions: the closing one is refused.
        graph
            .insert(tx(5, 1, &["q"], &["p"]), &mut journal)
            .unwrap();
        assert_eq!(
            graph.insert(tx(6, 1, &["p"], &["q"]), &mut journal),
            Err(PoolError::CycleDetected)
        );
        graph.assert_consistent();
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            priority: u64,
            requires: Vec<u8>,
            provides: Vec<u8>,
        },
        Remove(usize),
        Enforce(usize, usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let tags = |range| proptest::collection::vec(0u8..8, range);
        prop_oneof![
            6 => (0u64..5, tags(0..3), tags(1..3)).prop_map(|(priority, requires, provides)| {
                Op::Insert { priority, requires, provides }
            }),
            2 => (0usize..20).prop_map(Op::Remove),
            1 => (0usize..6, 0usize..6).prop_map(|(ready, future)| Op::Enforce(ready, future)),
        ]
    }

    proptest::proptest! {
        /// Arbitrary tag graphs (shared tags, several per transaction, would-be cycles),
        /// which the runtime's nonce tags never produce, keep every invariant.
        #[test]
        fn arbitrary_graphs_stay_consistent(ops in proptest::collection::vec(op(), 1..50)) {
            let mut graph = Graph::default();
            for (id, op) in ops.into_iter().enumerate() {
                let mut journal = Journal::default();
                match op {
                    Op::Insert { priority, requires, provides } => {
                        let name = |tags: Vec<u8>| -> Vec<String> {
                            tags.iter().map(|t| format!("t{t}")).collect()
                        };
                        let (requires, provides) = (name(requires), name(provides));
                        let requires: Vec<&str> = requires.iter().map(String::as_str).collect();
                        let provides: Vec<&str> = provides.iter().map(String::as_str).collect();
                        let mut tx = tx(id as u64, priority, &requires, &provides);
                        let inner = Arc::make_mut(&mut tx);
                        inner.requires.sort();
                        inner.requires.dedup();
                        inner.provides.sort();
                        inner.provides.dedup();
                        let before = graph.status();
                        if graph.insert(tx, &mut journal).is_err() {
                            proptest::prop_assert_eq!(graph.status(), before);
                        }
                    }
                    Op::Remove(index) => {
                        if let Some(tx) = graph.all().get(index) {
                            graph.remove(&tx.hash, &mut journal);
                        }
                    }
                    Op::Enforce(ready, future) => {
                        let limit = |count| Limits { count, total_bytes: usize::MAX };
                        graph.enforce_limits(limit(ready), limit(future), &mut journal);
                        proptest::prop_assert!(graph.status().ready <= ready);
                        proptest::prop_assert!(graph.status().future <= future);
                    }
                }
                graph.assert_consistent();
            }
        }
    }

    #[test]
    fn removal_demotes_and_eviction_picks_worst() {
        let mut graph = Graph::default();
        let mut journal = Journal::default();
        graph.insert(tx(1, 1, &[], &["a"]), &mut journal).unwrap();
        graph
            .insert(tx(2, 9, &["a"], &["b"]), &mut journal)
            .unwrap();
        graph.insert(tx(3, 5, &[], &["c"]), &mut journal).unwrap();
        graph.assert_consistent();
        let limit = Limits {
            count: 2,
            total_bytes: usize::MAX,
        };
        let evicted = graph.enforce_limits(limit, limit, &mut journal);
        assert_eq!(hashes(&evicted), vec![1]);
        graph.assert_consistent();
        assert_eq!(graph.state(&H256::from_low_u64_be(2)), Some(false));
        assert_eq!(hashes(&graph.best()), vec![3]);
        graph.remove(&H256::from_low_u64_be(3), &mut journal);
        graph.assert_consistent();
        assert_eq!(graph.status().future, 1);
    }
}
