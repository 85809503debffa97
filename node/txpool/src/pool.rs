//! The thread-safe pool: validation through the [`ChainApi`] outside the lock, then every
//! change to the graph, the bans and the watchers under one lock, so watchers see the
//! changes in the order they happened.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arceon_primitives::{BlockNumber, H256};
use parking_lot::{Condvar, Mutex, RwLock};

use crate::graph::{Graph, Journal};
use crate::listener::Listeners;
use crate::{
    ChainApi, InvalidTransaction, Observer, Options, PoolError, PoolEvent, PoolStatus, Transaction,
    TransactionSource, TransactionTag, TransactionValidity, TransactionValidityError, TxStatus,
    ValidTransaction, Watcher,
};

/// Bans kept at most, so a flood of distinct invalid transactions cannot grow memory
/// without bound within one ban period; the oldest bans go first.
const MAX_BANS: usize = 100_000;

/// Recently banned hashes, oldest first in `order` so expiry is amortised O(1).
#[derive(Debug, Default)]
struct Bans {
    since: HashMap<H256, Instant>,
    /// May hold stale entries (re-banned or lifted hashes); they are recognised by a
    /// timestamp that no longer matches `since`.
    order: VecDeque<(H256, Instant)>,
}

impl Bans {
    fn ban(&mut self, hash: H256) {
        let now = Instant::now();
        self.since.insert(hash, now);
        self.order.push_back((hash, now));
        while self.since.len() > MAX_BANS || self.order.len() > 2 * MAX_BANS {
            if !self.pop_oldest() {
                break;
            }
        }
    }

    fn pop_oldest(&mut self) -> bool {
        let Some((hash, at)) = self.order.pop_front() else {
            return false;
        };
        if self.since.get(&hash) == Some(&at) {
            self.since.remove(&hash);
        }
        true
    }

    fn is_banned(&self, hash: &H256, ban_time: Duration) -> bool {
        self.since
            .get(hash)
            .is_some_and(|since| since.elapsed() < ban_time)
    }

    fn lift(&mut self, hash: &H256) {
        self.since.remove(hash);
    }

    fn prune(&mut self, ban_time: Duration) {
        while self
            .order
            .front()
            .is_some_and(|(_, at)| at.elapsed() >= ban_time)
        {
            if !self.pop_oldest() {
                break;
            }
        }
    }
}

/// Whether no later chain state can make a transaction with this error valid again, so
/// banning it only saves pointless revalidation. Errors that may heal (a balance topped
/// up, a fuller block, a runtime-specific reason) are not banned.
fn is_permanent(error: &InvalidTransaction) -> bool {
    matches!(
        error,
        InvalidTransaction::Call
            | InvalidTransaction::Stale
            | InvalidTransaction::BadProof
            | InvalidTransaction::AncientBirthBlock
            | InvalidTransaction::BadMandatory
            | InvalidTransaction::MandatoryValidation
            | InvalidTransaction::BadSigner
    )
}

/// Removes duplicate tags, keeping the first occurrence: the graph counts requirements
/// per tag.
fn dedup(tags: Vec<TransactionTag>) -> Vec<TransactionTag> {
    let mut seen = HashSet::new();
    tags.into_iter()
        .filter(|tag| seen.insert(tag.clone()))
        .collect()
}

fn valid_till(at_number: BlockNumber, longevity: u64) -> BlockNumber {
    at_number.saturating_add(BlockNumber::try_from(longevity).unwrap_or(BlockNumber::MAX))
}

/// A transaction after validation, before it meets the pool's lock.
enum Checked {
    Valid {
        hash: H256,
        data: Vec<u8>,
        validity: ValidTransaction,
    },
    Invalid {
        hash: H256,
        error: InvalidTransaction,
    },
    Failed(PoolError),
}

/// Ready transactions revalidated on each new best block besides those the block
/// concerns, taken in turn through the pool (oldest first, from where the last block
/// stopped): a pool smaller than this is revalidated whole on every block, a bigger one
/// over several, so that a full pool does not re-run the runtime for every transaction
/// on every block. Every future transaction, and every one waiting for a tag the block's
/// transactions provided, is revalidated on every block.
pub const REVALIDATE_PER_BLOCK: usize = 1_024;

#[derive(Debug, Default)]
struct Inner {
    graph: Graph,
    bans: Bans,
    listeners: Listeners,
    next_insertion_id: u64,
    /// The insertion id the rotating revalidation stopped at.
    revalidation_cursor: u64,
}

impl Inner {
    /// What to revalidate on a new best block whose transactions provided `freed`: every
    /// future transaction, every one requiring a freed tag, and the next
    /// [`REVALIDATE_PER_BLOCK`] other ready ones after the cursor (wrapping around).
    fn revalidation_set(&mut self, freed: &HashSet<TransactionTag>) -> Vec<Arc<Transaction>> {
        let all = self.graph.all();
        let mut chosen = Vec::new();
        let mut others = Vec::new();
        for tx in all {
            let waiting = self.graph.state(&tx.hash) != Some(true)
                || tx.requires.iter().any(|tag| freed.contains(tag));
            if waiting {
                chosen.push(tx);
            } else {
                others.push(tx);
            }
        }
        if others.len() <= REVALIDATE_PER_BLOCK {
            chosen.extend(others);
            return chosen;
        }
        // `others` is in insertion order: start after the cursor, wrap around.
        let start = others.partition_point(|tx| tx.insertion_id <= self.revalidation_cursor);
        let taken: Vec<Arc<Transaction>> = others
            .iter()
            .cycle()
            .skip(start)
            .take(REVALIDATE_PER_BLOCK)
            .cloned()
            .collect();
        if let Some(last) = taken.last() {
            self.revalidation_cursor = last.insertion_id;
        }
        chosen.extend(taken);
        chosen
    }

    fn import(
        &mut self,
        checked: Checked,
        at_number: BlockNumber,
        source: TransactionSource,
        watch: bool,
        options: &Options,
    ) -> Result<(H256, Option<Watcher>), PoolError> {
        let (hash, data, validity) = match checked {
            Checked::Failed(error) => return Err(error),
            Checked::Invalid { hash, error } => {
                if is_permanent(&error) {
                    self.bans.ban(hash);
                }
                return Err(PoolError::Invalid(error));
            }
            Checked::Valid {
                hash,
                data,
                validity,
            } => (hash, data, validity),
        };
        // Checked again under the lock: the block that included this transaction may have
        // been processed while it was being validated.
        if self.bans.is_banned(&hash, options.ban_time) {
            return Err(PoolError::TemporarilyBanned);
        }
        if self.graph.contains(&hash) {
            return Err(PoolError::AlreadyImported(hash));
        }
        let insertion_id = self.next_insertion_id;
        self.next_insertion_id = self.next_insertion_id.saturating_add(1);
        let tx = Arc::new(Transaction {
            hash,
            data,
            priority: validity.priority,
            requires: dedup(validity.requires),
            provides: dedup(validity.provides),
            longevity: validity.longevity,
            valid_till: valid_till(at_number, validity.longevity),
            propagate: validity.propagate,
            source,
            insertion_id,
            inserted_at: Instant::now(),
        });

        let mut journal = Journal::default();
        let usurped = self.graph.insert(tx, &mut journal)?;
        for old in &usurped {
            log::debug!("txpool: {:?} usurped by {hash:?}", old.hash);
            self.listeners.finish(&old.hash, TxStatus::Usurped(hash));
        }
        let dropped_self = self.enforce_limits(options, &mut journal).contains(&hash);
        let watcher = (watch && !dropped_self).then(|| {
            let (receiver, waker) = self.listeners.watch(hash);
            Watcher {
                hash,
                receiver,
                waker,
                ended: false,
            }
        });
        self.publish(journal);
        if dropped_self {
            return Err(PoolError::ImmediatelyDropped);
        }
        Ok((hash, watcher))
    }

    /// Sends Ready/Future to the watchers of the transactions whose readiness the
    /// operation changed, and the newly ready ones to the subscribers.
    fn publish(&mut self, journal: Journal) {
        let mut changed: Vec<(u64, H256, bool, bool)> = journal
            .into_entries()
            .filter_map(|(hash, before)| {
                let tx = self.graph.get(&hash)?;
                let ready = self.graph.state(&hash)?;
                Some((tx.insertion_id, hash, ready, before != Some(true)))
            })
            .collect();
        // Insertion order, so the streams are deterministic.
        changed.sort_unstable_by_key(|(id, ..)| *id);
        for (_, hash, ready, was_not_ready) in changed {
            self.listeners.readiness(&hash, ready);
            if ready && was_not_ready {
                self.listeners.became_ready(hash);
            }
        }
    }

    fn remove_for_good(&mut self, hash: &H256, status: TxStatus, journal: &mut Journal) {
        if self.graph.remove(hash, journal).is_some() {
            self.listeners.finish(hash, status);
        }
    }

    /// Rebuilds the graph from the revalidated transactions: validity changes can move
    /// transactions either way, and rebuilding is simpler and as cheap as patching since
    /// every transaction was revalidated anyway.
    fn rebuild(
        &mut self,
        mut revalidated: HashMap<H256, TransactionValidity>,
        at_number: BlockNumber,
        mut journal: Journal,
        options: &Options,
    ) {
        let mut current = self.graph.drain();
        current.sort_unstable_by_key(|(tx, _)| tx.insertion_id);
        for (tx, ready) in &current {
            journal.note(tx.hash, Some(*ready));
        }
        for (tx, _) in current {
            let hash = tx.hash;
            let tx = match revalidated.remove(&hash) {
                // Submitted during revalidation, or undecidable now: keep what we knew.
                None | Some(Err(TransactionValidityError::Unknown(_))) => tx,
                Some(Err(TransactionValidityError::Invalid(error))) => {
                    log::debug!("txpool: {hash:?} is no longer valid: {error}");
                    if is_permanent(&error) {
                        self.bans.ban(hash);
                    }
                    self.listeners.finish(&hash, TxStatus::Invalid);
                    continue;
                }
                Some(Ok(validity)) => refreshed(tx, validity, at_number),
            };
            match self.graph.insert(tx, &mut journal) {
                Ok(usurped) => {
                    for old in usurped {
                        self.listeners.finish(&old.hash, TxStatus::Usurped(hash));
                    }
                }
                Err(PoolError::NoTagsProvided) => {
                    self.listeners.finish(&hash, TxStatus::Invalid);
                }
                Err(error) => {
                    log::debug!("txpool: {hash:?} dropped on revalidation: {error}");
                    self.listeners.finish(&hash, TxStatus::Dropped);
                }
            }
        }
        self.enforce_limits(options, &mut journal);
        self.publish(journal);
    }

    /// Evicts what exceeds the limits, reporting it `Dropped`; removals can demote ready
    /// transactions into a full future set, so every removal path ends here.
    fn enforce_limits(&mut self, options: &Options, journal: &mut Journal) -> Vec<H256> {
        let evicted = self
            .graph
            .enforce_limits(options.ready_limit, options.future_limit, journal);
        evicted
            .into_iter()
            .map(|tx| {
                log::debug!("txpool: {:?} dropped to respect the limits", tx.hash);
                self.listeners.finish(&tx.hash, TxStatus::Dropped);
                tx.hash
            })
            .collect()
    }
}

/// `tx` as the runtime now sees it. Its lifetime never grows: `valid_till` keeps the
/// earliest bound, since a runtime may report longevity relative to the current block.
fn refreshed(
    tx: Arc<Transaction>,
    validity: ValidTransaction,
    at_number: BlockNumber,
) -> Arc<Transaction> {
    let requires = dedup(validity.requires);
    let provides = dedup(validity.provides);
    let till = tx.valid_till.min(valid_till(at_number, validity.longevity));
    if tx.priority == validity.priority
        && tx.requires == requires
        && tx.provides == provides
        && tx.longevity == validity.longevity
        && tx.propagate == validity.propagate
        && tx.valid_till == till
    {
        // Nothing changed: keep sharing the data instead of copying it every block.
        return tx;
    }
    Arc::new(Transaction {
        hash: tx.hash,
        data: tx.data.clone(),
        priority: validity.priority,
        requires,
        provides,
        longevity: validity.longevity,
        valid_till: till,
        propagate: validity.propagate,
        source: tx.source,
        insertion_id: tx.insertion_id,
        inserted_at: tx.inserted_at,
    })
}

/// A Substrate-style transaction pool over the runtime `A`. Cheap to share in an `Arc`;
/// every method takes `&self` and may be called from any thread.
pub struct Pool<A: ChainApi> {
    api: Arc<A>,
    options: Options,
    inner: RwLock<Inner>,
    /// Serialises [`Pool::maintain`] calls, which release the main lock while
    /// revalidating.
    maintenance: Mutex<()>,
    /// The block the pool was last maintained at, and a signal when it changes.
    maintained: Mutex<Option<(BlockNumber, H256)>>,
    maintained_changed: Condvar,
    /// See [`Pool::maintained_block`].
    validation_block: Mutex<Option<(BlockNumber, H256)>>,
    observer: RwLock<Option<Observer>>,
}

impl<A: ChainApi> std::fmt::Debug for Pool<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("options", &self.options)
            .field("status", &self.status())
            .finish()
    }
}

impl<A: ChainApi> Pool<A> {
    /// An empty pool validating through `api`.
    pub fn new(api: Arc<A>, options: Options) -> Self {
        Pool {
            api,
            options,
            inner: RwLock::new(Inner::default()),
            maintenance: Mutex::new(()),
            maintained: Mutex::new(None),
            maintained_changed: Condvar::new(),
            validation_block: Mutex::new(None),
            observer: RwLock::new(None),
        }
    }

    /// Reports the pool's work to `observer` from now on (replacing any earlier one).
    pub fn set_observer(&self, observer: Observer) {
        *self.observer.write() = Some(observer);
    }

    fn observe(&self, event: PoolEvent) {
        if let Some(observer) = self.observer.read().as_ref() {
            observer(event);
        }
    }

    /// The runtime the pool validates with.
    pub fn api(&self) -> &Arc<A> {
        &self.api
    }

    /// The pool's limits.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Validates `extrinsic` against block `at` (number `at_number`) and imports it.
    pub fn submit_one(
        &self,
        at: H256,
        at_number: BlockNumber,
        source: TransactionSource,
        extrinsic: Vec<u8>,
    ) -> Result<H256, PoolError> {
        self.submit(at, at_number, source, vec![extrinsic], false)
            .pop()
            .unwrap_or(Err(PoolError::ImmediatelyDropped))
            .map(|(hash, _)| hash)
    }

    /// Validates and imports several extrinsics, one result each, in order. They are
    /// validated first, then imported under a single lock.
    pub fn submit_at(
        &self,
        at: H256,
        at_number: BlockNumber,
        source: TransactionSource,
        extrinsics: Vec<Vec<u8>>,
    ) -> Vec<Result<H256, PoolError>> {
        self.submit(at, at_number, source, extrinsics, false)
            .into_iter()
            .map(|result| result.map(|(hash, _)| hash))
            .collect()
    }

    /// Like [`Pool::submit_one`], and returns the stream of the transaction's statuses,
    /// starting with `Ready` or `Future`.
    pub fn submit_and_watch(
        &self,
        at: H256,
        at_number: BlockNumber,
        source: TransactionSource,
        extrinsic: Vec<u8>,
    ) -> Result<(H256, Watcher), PoolError> {
        match self
            .submit(at, at_number, source, vec![extrinsic], true)
            .pop()
        {
            Some(Ok((hash, Some(watcher)))) => Ok((hash, watcher)),
            Some(Err(error)) => Err(error),
            // `import` always returns a watcher when asked for one and it succeeds.
            Some(Ok((_, None))) | None => Err(PoolError::ImmediatelyDropped),
        }
    }

    /// Validates and imports `extrinsics` together, watching each when `watch` is set.
    pub(crate) fn submit(
        &self,
        at: H256,
        at_number: BlockNumber,
        source: TransactionSource,
        extrinsics: Vec<Vec<u8>>,
        watch: bool,
    ) -> Vec<Result<(H256, Option<Watcher>), PoolError>> {
        let started = Instant::now();
        let count = extrinsics.len();
        if count > 1 {
            let refs: Vec<&[u8]> = extrinsics.iter().map(Vec::as_slice).collect();
            self.api.preverify(at, &refs);
        }
        let checked: Vec<Checked> = extrinsics
            .into_iter()
            .map(|extrinsic| self.check(at, source, extrinsic))
            .collect();
        let validation = started.elapsed().as_secs_f64();
        let results: Vec<_> = {
            let mut inner = self.inner.write();
            checked
                .into_iter()
                .map(|checked| inner.import(checked, at_number, source, watch, &self.options))
                .collect()
        };
        self.observe(PoolEvent::Submitted {
            source,
            count,
            accepted: results.iter().filter(|r| r.is_ok()).count(),
            validation,
        });
        results
    }

    /// Everything about a submission that needs no lock held: the cheap refusals first,
    /// then the runtime's verdict.
    fn check(&self, at: H256, source: TransactionSource, extrinsic: Vec<u8>) -> Checked {
        let hash = self.api.hash(&extrinsic);
        let limit = self.options.ready_limit.total_bytes;
        if extrinsic.len() > limit {
            return Checked::Failed(PoolError::TooLarge {
                size: extrinsic.len(),
                limit,
            });
        }
        {
            let inner = self.inner.read();
            if inner.bans.is_banned(&hash, self.options.ban_time) {
                return Checked::Failed(PoolError::TemporarilyBanned);
            }
            if inner.graph.contains(&hash) {
                return Checked::Failed(PoolError::AlreadyImported(hash));
            }
        }
        match self.api.validate(at, source, &extrinsic) {
            Ok(validity) if validity.provides.is_empty() => {
                Checked::Failed(PoolError::NoTagsProvided)
            }
            Ok(validity) => Checked::Valid {
                hash,
                data: extrinsic,
                validity,
            },
            Err(TransactionValidityError::Invalid(error)) => Checked::Invalid { hash, error },
            Err(TransactionValidityError::Unknown(error)) => {
                Checked::Failed(PoolError::Unknown(error))
            }
        }
    }

    /// Like [`Pool::submit_at`], watching each imported transaction (see
    /// [`Pool::submit_and_watch`]). The transactions are validated together first (their
    /// signatures in one batch through [`ChainApi::preverify`]), then imported under a
    /// single lock.
    pub fn submit_and_watch_at(
        &self,
        at: H256,
        at_number: BlockNumber,
        source: TransactionSource,
        extrinsics: Vec<Vec<u8>>,
    ) -> Vec<Result<(H256, Watcher), PoolError>> {
        self.submit(at, at_number, source, extrinsics, true)
            .into_iter()
            .map(|result| match result {
                Ok((hash, Some(watcher))) => Ok((hash, watcher)),
                Ok((_, None)) => Err(PoolError::ImmediatelyDropped),
                Err(error) => Err(error),
            })
            .collect()
    }

    /// A stream of the hashes of transactions as they become ready (imported or
    /// promoted), for gossip and authoring.
    pub fn import_notification_stream(&self) -> Receiver<H256> {
        self.inner.write().listeners.subscribe_ready()
    }

    /// The sizes of the ready and future sets.
    pub fn status(&self) -> PoolStatus {
        self.inner.read().graph.status()
    }

    /// Whether the transaction is in the pool (ready or future).
    pub fn contains(&self, hash: &H256) -> bool {
        self.inner.read().graph.contains(hash)
    }

    /// The transaction, if in the pool.
    pub fn get(&self, hash: &H256) -> Option<Arc<Transaction>> {
        self.inner.read().graph.get(hash)
    }

    /// Whether the transaction is in the pool and ready.
    pub fn is_ready(&self, hash: &H256) -> bool {
        self.inner.read().graph.state(hash) == Some(true)
    }

    /// Whether the hash is refused for now (recently included or permanently invalid).
    pub fn is_banned(&self, hash: &H256) -> bool {
        self.inner
            .read()
            .bans
            .is_banned(hash, self.options.ban_time)
    }

    /// The ready transactions in block order: each after the ones providing its required
    /// tags, otherwise highest priority first, ties in insertion order.
    pub fn ready(&self) -> Vec<Arc<Transaction>> {
        self.inner.read().graph.best()
    }

    /// The same as [`Pool::ready`] (the name block authoring code expects).
    pub fn ready_iter(&self) -> Vec<Arc<Transaction>> {
        self.ready()
    }

    /// The future transactions, oldest first.
    pub fn future(&self) -> Vec<Arc<Transaction>> {
        self.inner.read().graph.future()
    }

    /// Ready transactions in block order, then future ones oldest first (for
    /// `author_pendingExtrinsics`), from one consistent snapshot.
    pub fn pending(&self) -> Vec<Arc<Transaction>> {
        let inner = self.inner.read();
        let mut pending = inner.graph.best();
        pending.extend(inner.graph.future());
        pending
    }

    /// Every transaction in the pool, in insertion order.
    pub fn transactions(&self) -> Vec<Arc<Transaction>> {
        self.inner.read().graph.all()
    }

    /// Whether a ready transaction provides `tag`.
    pub fn ready_provides_tag(&self, tag: &[u8]) -> bool {
        self.inner.read().graph.ready_provides(tag)
    }

    /// Removes transactions found invalid outside the pool (e.g. failing during block
    /// building), bans them, and reports them `Invalid`. Transactions that depended on them
    /// go back to future. Returns the ones that were in the pool.
    pub fn remove_invalid(&self, hashes: &[H256]) -> Vec<Arc<Transaction>> {
        let mut inner = self.inner.write();
        let mut journal = Journal::default();
        let mut removed = Vec::new();
        for hash in hashes {
            if let Some(tx) = inner.graph.remove(hash, &mut journal) {
                inner.bans.ban(*hash);
                inner.listeners.finish(hash, TxStatus::Invalid);
                removed.push(tx);
            }
        }
        inner.enforce_limits(&self.options, &mut journal);
        inner.publish(journal);
        removed
    }

    /// Brings the pool up to a new best block `at` (number `at_number`) whose extrinsics
    /// hash to `included`: those leave the pool (`InBlock`) and are banned, transactions
    /// past their `valid_till` leave it (`Invalid`), and the remaining ones the block may
    /// concern are revalidated against `at` (every future one, every one waiting for a
    /// tag the included ones provided, and [`REVALIDATE_PER_BLOCK`] other ready ones in
    /// turn), leaving if invalid and moving between ready and future as their
    /// requirements changed.
    ///
    /// The runtime is called without the lock held, so submissions proceed meanwhile;
    /// those are kept as validated and revalidated on the next call.
    pub fn maintain(&self, at: H256, at_number: BlockNumber, included: &[H256]) {
        let _serial = self.maintenance.lock();
        let started = Instant::now();
        let (snapshot, journal) = {
            let mut inner = self.inner.write();
            let inner = &mut *inner;
            inner.bans.prune(self.options.ban_time);
            let mut journal = Journal::default();
            let mut seen = HashSet::new();
            // Tags the block's transactions provided: what their successors waited for.
            let mut freed: HashSet<TransactionTag> = HashSet::new();
            for hash in included {
                if !seen.insert(*hash) {
                    continue;
                }
                if let Some(tx) = inner.graph.get(hash) {
                    freed.extend(tx.provides.iter().cloned());
                }
                // Dependents this demotes are not reported: revalidation decides below
                // whether they really wait (normally they become roots, still ready).
                inner.graph.remove(hash, &mut journal);
                inner.bans.ban(*hash);
                inner.listeners.in_block(*hash, at, at_number);
            }
            let expired: Vec<H256> = inner
                .graph
                .all()
                .iter()
                .filter(|tx| tx.valid_till < at_number)
                .map(|tx| tx.hash)
                .collect();
            for hash in &expired {
                log::debug!("txpool: {hash:?} outlived its longevity");
                inner.bans.ban(*hash);
                inner.remove_for_good(hash, TxStatus::Invalid, &mut journal);
            }
            inner.listeners.finality_timeouts(at_number);
            let graph = &inner.graph;
            inner.listeners.drop_orphans(|hash| graph.contains(hash));
            // New submissions now validate against `at`, which agrees with the pool: the
            // transactions it included are gone.
            *self.validation_block.lock() = Some((at_number, at));
            (inner.revalidation_set(&freed), journal)
        };

        let revalidating = Instant::now();
        let revalidated: HashMap<H256, TransactionValidity> = snapshot
            .iter()
            .map(|tx| (tx.hash, self.api.validate(at, tx.source, &tx.data)))
            .collect();
        let revalidation = revalidating.elapsed().as_secs_f64();

        self.inner
            .write()
            .rebuild(revalidated, at_number, journal, &self.options);
        *self.maintained.lock() = Some((at_number, at));
        self.maintained_changed.notify_all();
        self.observe(PoolEvent::Maintained {
            revalidated: snapshot.len(),
            revalidation,
            total: started.elapsed().as_secs_f64(),
        });
    }

    /// The block (number, hash) whose included transactions have left the pool (the
    /// latest [`Pool::maintain`], from the moment it removed them): the state new
    /// submissions should be validated against. On a newer best block a transaction
    /// whose predecessor that block included, but which the pool still holds, would wait
    /// in the future set for a tag nobody provides until the next maintenance; on an
    /// older one, one whose predecessor has just left the pool would. On this one the
    /// pool and the state agree.
    pub fn maintained_block(&self) -> Option<(BlockNumber, H256)> {
        *self.validation_block.lock()
    }

    /// Waits at most `timeout` for [`Pool::maintain`] at block `at` to complete; `true`
    /// once the pool is maintained at `at`. A block author calls it before taking the
    /// ready transactions for a block on `at`: until then the pool still holds the
    /// transactions `at` included, which would be taken for stale.
    pub fn wait_maintained(&self, at: H256, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut maintained = self.maintained.lock();
        while maintained.map(|(_, hash)| hash) != Some(at) {
            if self
                .maintained_changed
                .wait_until(&mut maintained, deadline)
                .timed_out()
            {
                return maintained.map(|(_, hash)| hash) == Some(at);
            }
        }
        true
    }

    /// Reports `Finalized(block)` to the watchers of the `included` transactions, ending
    /// their streams. Any of them still in the pool (finality outran [`Pool::maintain`])
    /// leaves it and is banned.
    pub fn on_finalized(&self, block: H256, included: &[H256]) {
        let mut inner = self.inner.write();
        let mut journal = Journal::default();
        for hash in included {
            if inner.graph.remove(hash, &mut journal).is_some() {
                inner.bans.ban(*hash);
            }
            inner.listeners.finalized(hash, block);
        }
        inner.enforce_limits(&self.options, &mut journal);
        inner.publish(journal);
    }

    /// `block` left the best chain: reports `Retracted(block)` to the watchers of its
    /// `included` transactions and lifts their bans, so that the caller can resubmit them
    /// (with [`TransactionSource::InBlock`]) before calling [`Pool::maintain`] for the new
    /// best chain; their watchers then follow the resubmitted transactions, and get
    /// `Dropped` at that `maintain` if they were not resubmitted.
    pub fn on_retracted(&self, block: H256, included: &[H256]) {
        let mut inner = self.inner.write();
        for hash in included {
            inner.listeners.retracted(*hash, block);
            inner.bans.lift(hash);
        }
    }

    /// Reports `Broadcast(peers)` to the watchers of gossiped transactions.
    pub fn on_broadcasted(&self, propagated: HashMap<H256, Vec<String>>) {
        let mut inner = self.inner.write();
        for (hash, peers) in propagated {
            inner.listeners.broadcast(&hash, peers);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bans_expire_and_stay_bounded() {
        let mut bans = Bans::default();
        let hash = H256::repeat_byte(1);
        bans.ban(hash);
        assert!(bans.is_banned(&hash, Duration::from_secs(60)));
        assert!(!bans.is_banned(&hash, Duration::ZERO));
        bans.prune(Duration::ZERO);
        assert!(bans.since.is_empty() && bans.order.is_empty());
        for i in 0..(MAX_BANS as u64 + 10) {
            bans.ban(H256::from_low_u64_be(i));
        }
        assert_eq!(bans.since.len(), MAX_BANS);
        assert!(!bans.is_banned(&H256::from_low_u64_be(0), Duration::MAX));
        assert!(bans.is_banned(&H256::from_low_u64_be(MAX_BANS as u64), Duration::MAX));
        bans.lift(&H256::from_low_u64_be(MAX_BANS as u64));
        assert!(!bans.is_banned(&H256::from_low_u64_be(MAX_BANS as u64), Duration::MAX));
    }

    #[test]
    fn longevity_saturates() {
        assert_eq!(valid_till(10, u64::MAX), BlockNumber::MAX);
        assert_eq!(valid_till(BlockNumber::MAX - 1, 5), BlockNumber::MAX);
        assert_eq!(valid_till(10, 64), 74);
    }

    #[test]
    fn dedup_keeps_first_occurrence() {
        let tags = vec![b"a".to_vec(), b"b".to_vec(), b"a".to_vec()];
        assert_eq!(dedup(tags), vec![b"a".to_vec(), b"b".to_vec()]);
    }
}
