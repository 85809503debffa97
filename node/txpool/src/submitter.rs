//! Batched submission: callers (the RPC server's connections) queue transactions and await
//! the pool's answer; one thread takes whatever has queued up since its last round and
//! submits it as one batch, so that the signatures of concurrent submissions are checked
//! together ([`ChainApi::preverify`]: batch verification over every core) and the pool's
//! lock is taken once per batch instead of once per transaction. Nobody blocks a thread
//! while waiting: the answer comes through a future.
//!
//! The queue is bounded: a submission that finds it full is refused at once with
//! [`PoolError::ImmediatelyDropped`] (the pool is not keeping up), never held.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use arceon_primitives::{BlockNumber, H256};
use futures::channel::oneshot;

use crate::{ChainApi, Pool, PoolError, TransactionSource, Watcher};

/// Most transactions validated and imported together.
pub const MAX_BATCH: usize = 1_024;

/// The answer to one submission: its hash, and its watcher if asked for.
pub type Submitted = Result<(H256, Option<Watcher>), PoolError>;

struct Request {
    extrinsic: Vec<u8>,
    source: TransactionSource,
    watch: bool,
    reply: oneshot::Sender<Submitted>,
}

/// The best block to validate against, as `(number, hash)`.
pub type BestBlock = Box<dyn Fn() -> (BlockNumber, H256) + Send + Sync>;

/// A handle to the submission thread; cheap to clone. The thread ends when every handle is
/// gone.
#[derive(Clone)]
pub struct Submitter {
    queue: SyncSender<Request>,
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter").finish_non_exhaustive()
    }
}

impl Submitter {
    /// Starts the submission thread for `pool`, validating against `best()` at each
    /// batch, with room for `capacity` queued transactions.
    pub fn start<A: ChainApi>(
        pool: Arc<Pool<A>>,
        best: BestBlock,
        capacity: usize,
    ) -> std::io::Result<Submitter> {
        let (queue, requests) = sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("txpool-submit".into())
            .spawn(move || run(&pool, &best, &requests))?;
        Ok(Submitter { queue })
    }

    /// Validates and imports `extrinsic`, watching it when `watch` is set.
    pub async fn submit(
        &self,
        source: TransactionSource,
        extrinsic: Vec<u8>,
        watch: bool,
    ) -> Submitted {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            extrinsic,
            source,
            watch,
            reply,
        };
        match self.queue.try_send(request) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(PoolError::ImmediatelyDropped)
            }
        }
        // A dropped reply means the thread is gone: the transaction was not imported.
        answer.await.unwrap_or(Err(PoolError::ImmediatelyDropped))
    }
}

fn run<A: ChainApi>(pool: &Pool<A>, best: &BestBlock, requests: &Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (number, at) = best();
        // One pool call per (source, watch) group, in arrival order within each.
        let mut groups: Vec<((TransactionSource, bool), Vec<Request>)> = Vec::new();
        for request in batch {
            let key = (request.source, request.watch);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(request),
                None => groups.push((key, vec![request])),
            }
        }
        for ((source, watch), members) in groups {
            let (extrinsics, replies): (Vec<Vec<u8>>, Vec<oneshot::Sender<Submitted>>) = members
                .into_iter()
                .map(|request| (request.extrinsic, request.reply))
                .unzip();
            let results = pool.submit(at, number, source, extrinsics, watch);
            for (result, reply) in results.into_iter().zip(replies) {
                // The caller may have gone (connection closed): nothing to tell.
                let _ = reply.send(result);
            }
        }
    }
}
