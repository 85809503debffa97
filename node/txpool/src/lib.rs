//! Arceon's transaction pool: the node keeps here every extrinsic it has heard of (from its
//! own RPC or the network) until a block includes it, and block authoring takes its
//! extrinsics from here, in an order the runtime will accept.
//!
//! It is Substrate's "graph" pool, simplified: the runtime (reached through [`ChainApi`])
//! says what each transaction `provides` and `requires` as opaque tags (Arceon uses
//! `(account, nonce)`), and the pool keeps them in two sets. Invariants, kept under one lock
//! by every operation:
//! - a transaction is *ready* exactly when each tag it requires is provided by a ready
//!   transaction (the least fixed point, so cycles never become ready); every other one is
//!   *future*, waiting for the gap to be filled;
//! - a tag is provided by at most one transaction of the pool: a newcomer providing an
//!   existing tag must have a strictly higher priority, and the older one is usurped;
//! - [`Pool::ready`] lists every ready transaction after the ones providing its required
//!   tags, otherwise highest priority first, ties in insertion order;
//! - the ready and future sets stay within their [`Limits`] (the lowest-priority ready
//!   transactions go first, newest first among equals, and the newest future ones): a
//!   full pool refuses the newcomer rather than drop what it accepted;
//! - every watched transaction gets each status change in order, and exactly one final
//!   status ([`TxStatus::is_final`]) after which its stream ends.
//!
//! Nothing here panics on any input: untrusted bytes only reach the runtime, and every loop
//! is bounded by the size of the pool.

mod graph;
mod listener;
mod pool;
mod submitter;

use std::sync::mpsc::{Receiver, RecvError, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arceon_primitives::{blake2_256, BlockNumber, H256};
pub use arceon_primitives::{
    InvalidTransaction, TransactionSource, TransactionTag, TransactionValidity,
    TransactionValidityError, UnknownTransaction, ValidTransaction,
};

pub use pool::{Pool, REVALIDATE_PER_BLOCK};
pub use submitter::{BestBlock, Submitted, Submitter, MAX_BATCH};

/// The runtime, as the pool sees it.
pub trait ChainApi: Send + Sync + 'static {
    /// Validates an encoded extrinsic against the state of block `at`.
    fn validate(
        &self,
        at: H256,
        source: TransactionSource,
        extrinsic: &[u8],
    ) -> TransactionValidity;

    /// Called with transactions about to be validated one by one against `at`: a runtime
    /// can check their signatures here in one batch over every core and remember the
    /// valid ones, so that [`ChainApi::validate`] finds them checked. Nothing by default.
    fn preverify(&self, _at: H256, _extrinsics: &[&[u8]]) {}

    /// The hash identifying an extrinsic: blake2-256 of its encoding.
    fn hash(&self, extrinsic: &[u8]) -> H256 {
        H256(blake2_256(extrinsic))
    }
}

impl<T: ChainApi + ?Sized> ChainApi for Arc<T> {
    fn validate(
        &self,
        at: H256,
        source: TransactionSource,
        extrinsic: &[u8],
    ) -> TransactionValidity {
        (**self).validate(at, source, extrinsic)
    }

    fn preverify(&self, at: H256, extrinsics: &[&[u8]]) {
        (**self).preverify(at, extrinsics)
    }

    fn hash(&self, extrinsic: &[u8]) -> H256 {
        (**self).hash(extrinsic)
    }
}

/// Bounds of one of the pool's two sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of transactions.
    pub count: usize,
    /// Maximum sum of the encoded lengths of the transactions.
    pub total_bytes: usize,
}

/// How the pool is bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Bounds of the ready set.
    pub ready_limit: Limits,
    /// Bounds of the future set.
    pub future_limit: Limits,
    /// How long an included (or permanently invalid) transaction is refused.
    pub ban_time: Duration,
}

impl Default for Options {
    /// Substrate's defaults.
    fn default() -> Self {
        Options {
            ready_limit: Limits {
                count: 8192,
                total_bytes: 20 * 1024 * 1024,
            },
            future_limit: Limits {
                count: 512,
                total_bytes: 1024 * 1024,
            },
            ban_time: Duration::from_secs(30 * 60),
        }
    }
}

/// A validated transaction held by the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Its hash ([`ChainApi::hash`]).
    pub hash: H256,
    /// The encoded extrinsic.
    pub data: Vec<u8>,
    /// Higher goes first.
    pub priority: u64,
    /// Tags that earlier transactions must provide (without duplicates).
    pub requires: Vec<TransactionTag>,
    /// Tags it provides (without duplicates, never empty).
    pub provides: Vec<TransactionTag>,
    /// Blocks it stays valid for, as the runtime last said.
    pub longevity: u64,
    /// The last block number at which it may be included.
    pub valid_till: BlockNumber,
    /// Whether it may be gossiped.
    pub propagate: bool,
    /// Where it came from.
    pub source: TransactionSource,
    /// Position in the order of insertion into the pool (unique, increasing).
    pub insertion_id: u64,
    /// When it entered the pool.
    pub inserted_at: Instant,
}

impl Transaction {
    /// Its encoded length, which counts against the byte limits.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
}

/// Counts of the pool's two sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Ready transactions.
    pub ready: usize,
    /// Sum of the ready transactions' lengths.
    pub ready_bytes: usize,
    /// Future transactions.
    pub future: usize,
    /// Sum of the future transactions' lengths.
    pub future_bytes: usize,
}

/// The pool's work, reported to its [`Observer`] (for metrics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoolEvent {
    /// A submission batch was validated and imported.
    Submitted {
        /// Where the transactions came from.
        source: TransactionSource,
        /// How many were submitted.
        count: usize,
        /// How many the pool took.
        accepted: usize,
        /// Seconds spent validating them (signatures and runtime checks).
        validation: f64,
    },
    /// The pool was maintained at a new best block.
    Maintained {
        /// Transactions revalidated.
        revalidated: usize,
        /// Seconds the revalidation took.
        revalidation: f64,
        /// Seconds the whole maintenance took.
        total: f64,
    },
}

/// Told about the pool's work as it happens; must be quick (it runs on the pool's
/// threads, outside its lock).
pub type Observer = Box<dyn Fn(PoolEvent) + Send + Sync>;

/// What happened to a watched transaction, with Substrate's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// Waiting for a transaction providing a tag it requires.
    Future,
    /// Can be included in the next block.
    Ready,
    /// Gossiped to these peers.
    Broadcast(Vec<String>),
    /// Included in this block of the best chain.
    InBlock(H256),
    /// The block that included it left the best chain.
    Retracted(H256),
    /// The block that included it was not finalized in time; the pool stops watching.
    FinalityTimeout(H256),
    /// Included in this finalized block.
    Finalized(H256),
    /// Replaced by this transaction, which provides the same tag at a higher priority.
    Usurped(H256),
    /// Evicted to keep the pool within its limits.
    Dropped,
    /// The runtime no longer accepts it, or its longevity ran out.
    Invalid,
}

impl TxStatus {
    /// Whether this status ends the stream: no other status follows it.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TxStatus::FinalityTimeout(_)
                | TxStatus::Finalized(_)
                | TxStatus::Usurped(_)
                | TxStatus::Dropped
                | TxStatus::Invalid
        )
    }
}

/// Why a transaction was not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// A transaction with this hash is already in the pool.
    #[error("transaction {0:?} is already in the pool")]
    AlreadyImported(H256),
    /// The runtime says it can never be valid on this state.
    #[error("invalid transaction: {0}")]
    Invalid(InvalidTransaction),
    /// The runtime cannot decide whether it is valid.
    #[error("unknown transaction validity: {0}")]
    Unknown(UnknownTransaction),
    /// It was recently included or found permanently invalid, and is refused for a while.
    #[error("transaction is temporarily banned")]
    TemporarilyBanned,
    /// A transaction providing one of its tags is in the pool with at least its priority.
    #[error("priority too low to replace a transaction providing the same tag ({new} <= {old})")]
    TooLowPriority {
        /// The highest priority among the transactions it would replace.
        old: u64,
        /// Its own priority.
        new: u64,
    },
    /// The pool is full and it is the transaction that had to go.
    #[error("transaction was dropped at once to keep the pool within its limits")]
    ImmediatelyDropped,
    /// It requires, directly or through other transactions, a tag that it provides itself or
    /// that the transactions it would replace provide, so it could never become ready.
    #[error("transaction would create a dependency cycle")]
    CycleDetected,
    /// It provides no tag, so the pool could neither identify nor order it.
    #[error("transaction provides no tags")]
    NoTagsProvided,
    /// It is longer than the whole ready set may be.
    #[error("transaction of {size} bytes exceeds the pool's limit of {limit} bytes")]
    TooLarge {
        /// Its encoded length.
        size: usize,
        /// The ready set's byte limit.
        limit: usize,
    },
}

/// The stream of a watched transaction's statuses; it ends after a final status. Read it
/// from a thread (`recv`, the iterator) or await it as a [`futures::Stream`] (no thread
/// waits on it: the pool wakes the task on each status).
#[derive(Debug)]
pub struct Watcher {
    hash: H256,
    receiver: Receiver<TxStatus>,
    waker: Arc<futures::task::AtomicWaker>,
    /// A final status came out: the stream has ended (whether or not the pool dropped
    /// its sender yet, which wakes nobody).
    ended: bool,
}

impl futures::Stream for Watcher {
    type Item = TxStatus;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<TxStatus>> {
        let this = self.get_mut();
        if this.ended {
            return std::task::Poll::Ready(None);
        }
        // Register before looking again, so a status sent in between wakes us.
        for attempt in 0..2 {
            match this.receiver.try_recv() {
                Ok(status) => {
                    this.ended = status.is_final();
                    return std::task::Poll::Ready(Some(status));
                }
                Err(TryRecvError::Disconnected) => return std::task::Poll::Ready(None),
                Err(TryRecvError::Empty) if attempt == 0 => this.waker.register(cx.waker()),
                Err(TryRecvError::Empty) => {}
            }
        }
        std::task::Poll::Pending
    }
}

impl Watcher {
    /// The watched transaction's hash.
    pub fn hash(&self) -> H256 {
        self.hash
    }

    /// Blocks until the next status; `Err` once the stream has ended.
    pub fn recv(&self) -> Result<TxStatus, RecvError> {
        self.receiver.recv()
    }

    /// The next status if one is waiting.
    pub fn try_recv(&self) -> Result<TxStatus, TryRecvError> {
        self.receiver.try_recv()
    }

    /// Blocks until the next status, at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<TxStatus, RecvTimeoutError> {
        self.receiver.recv_timeout(timeout)
    }

    /// Every status already sent, without blocking.
    pub fn drain(&self) -> Vec<TxStatus> {
        self.receiver.try_iter().collect()
    }

    /// The underlying channel.
    pub fn into_receiver(self) -> Receiver<TxStatus> {
        self.receiver
    }
}

impl Iterator for Watcher {
    type Item = TxStatus;

    /// Blocks until the next status; `None` once the stream has ended.
    fn next(&mut self) -> Option<TxStatus> {
        self.receiver.recv().ok()
    }
}
