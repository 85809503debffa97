//! The watchers of transactions and the subscribers to newly ready ones. Sending never
//! blocks (unbounded std channels), so it happens under the pool's lock, which keeps every
//! stream in the order the pool changed. Each watcher's channel also carries a waker, so a
//! watcher can be awaited as a stream without a thread blocked on it.

use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, SendError, Sender};
use std::sync::Arc;

use arceon_primitives::{BlockNumber, H256};
use futures::task::AtomicWaker;

use crate::TxStatus;

/// The pool's end of a watcher: every send, and the end of the stream (drop), wakes the
/// task awaiting the watcher, if any.
#[derive(Debug)]
pub(crate) struct StatusSender {
    sender: Sender<TxStatus>,
    waker: Arc<AtomicWaker>,
}

impl StatusSender {
    fn send(&self, status: TxStatus) -> Result<(), SendError<TxStatus>> {
        let sent = self.sender.send(status);
        self.waker.wake();
        sent
    }
}

impl Drop for StatusSender {
    fn drop(&mut self) {
        self.waker.wake();
    }
}

/// A new watcher channel: the pool's sender, and the watcher's receiver and waker.
pub(crate) fn status_channel() -> (StatusSender, Receiver<TxStatus>, Arc<AtomicWaker>) {
    let (sender, receiver) = channel();
    let waker = Arc::new(AtomicWaker::new());
    (
        StatusSender {
            sender,
            waker: waker.clone(),
        },
        receiver,
        waker,
    )
}

/// Blocks after inclusion without finality before a watcher gets
/// [`TxStatus::FinalityTimeout`] (Substrate's threshold), so abandoned forks cannot keep
/// watchers forever.
pub(crate) const FINALITY_TIMEOUT: BlockNumber = 128;

#[derive(Debug, Default)]
struct Watch {
    senders: Vec<StatusSender>,
    /// The last of Ready/Future sent, so a status is only sent when it changes.
    reported_ready: Option<bool>,
}

#[derive(Debug)]
struct Included {
    block: H256,
    number: BlockNumber,
    senders: Vec<StatusSender>,
}

#[derive(Debug, Default)]
pub(crate) struct Listeners {
    /// Transactions in the pool, or retracted and awaiting resubmission.
    watching: HashMap<H256, Watch>,
    /// Transactions in a block of the best chain, awaiting finality.
    included: HashMap<H256, Included>,
    ready_subscribers: Vec<Sender<H256>>,
}

/// Sends to every live sender, forgetting the ones whose receiver is gone.
fn send_all(senders: &mut Vec<StatusSender>, status: &TxStatus) {
    senders.retain(|sender| sender.send(status.clone()).is_ok());
}

impl Listeners {
    pub(crate) fn watch(&mut self, hash: H256) -> (Receiver<TxStatus>, Arc<AtomicWaker>) {
        let (sender, receiver, waker) = status_channel();
        self.watching.entry(hash).or_default().senders.push(sender);
        (receiver, waker)
    }

    pub(crate) fn subscribe_ready(&mut self) -> Receiver<H256> {
        let (sender, receiver) = channel();
        self.ready_subscribers.push(sender);
        receiver
    }

    /// Reports the readiness of a transaction in the pool, if it changed since last sent.
    pub(crate) fn readiness(&mut self, hash: &H256, ready: bool) {
        let Some(watch) = self.watching.get_mut(hash) else {
            return;
        };
        if watch.reported_ready == Some(ready) {
            return;
        }
        watch.reported_ready = Some(ready);
        let status = if ready {
            TxStatus::Ready
        } else {
            TxStatus::Future
        };
        send_all(&mut watch.senders, &status);
        if watch.senders.is_empty() {
            self.watching.remove(hash);
        }
    }

    pub(crate) fn became_ready(&mut self, hash: H256) {
        self.ready_subscribers
            .retain(|sender| sender.send(hash).is_ok());
    }

    /// Sends a final status: the transaction left the pool for good.
    pub(crate) fn finish(&mut self, hash: &H256, status: TxStatus) {
        if let Some(mut watch) = self.watching.remove(hash) {
            send_all(&mut watch.senders, &status);
        }
    }

    pub(crate) fn broadcast(&mut self, hash: &H256, peers: Vec<String>) {
        if let Some(watch) = self.watching.get_mut(hash) {
            send_all(&mut watch.senders, &TxStatus::Broadcast(peers));
            if watch.senders.is_empty() {
                self.watching.remove(hash);
            }
        }
    }

    /// The transaction is in `block`; its watchers now wait for finality.
    pub(crate) fn in_block(&mut self, hash: H256, block: H256, number: BlockNumber) {
        let mut senders = match (self.watching.remove(&hash), self.included.remove(&hash)) {
            (Some(watch), Some(included)) => {
                let mut senders = watch.senders;
                senders.extend(included.senders);
                senders
            }
            (Some(watch), None) => watch.senders,
            (None, Some(included)) => included.senders,
            (None, None) => return,
        };
        send_all(&mut senders, &TxStatus::InBlock(block));
        if !senders.is_empty() {
            self.included.insert(
                hash,
                Included {
                    block,
                    number,
                    senders,
                },
            );
        }
    }

    /// `block` left the best chain: its transactions' watchers wait for them again.
    pub(crate) fn retracted(&mut self, hash: H256, block: H256) {
        let Some(included) = self.included.remove(&hash) else {
            return;
        };
        if included.block != block {
            self.included.insert(hash, included);
            return;
        }
        let mut senders = included.senders;
        send_all(&mut senders, &TxStatus::Retracted(block));
        if !senders.is_empty() {
            let watch = self.watching.entry(hash).or_default();
            watch.senders.extend(senders);
            watch.reported_ready = None;
        }
    }

    pub(crate) fn finalized(&mut self, hash: &H256, block: H256) {
        let senders = self
            .included
            .remove(hash)
            .map(|included| included.senders)
            .into_iter()
            .chain(self.watching.remove(hash).map(|watch| watch.senders))
            .flatten();
        for sender in senders {
            let _ = sender.send(TxStatus::Finalized(block));
        }
    }

    /// Ends the watch of transactions included too long ago without finality.
    pub(crate) fn finality_timeouts(&mut self, best: BlockNumber) {
        let expired: Vec<H256> = self
            .included
            .iter()
            .filter(|(_, included)| included.number.saturating_add(FINALITY_TIMEOUT) < best)
            .map(|(hash, _)| *hash)
            .collect();
        for hash in expired {
            if let Some(included) = self.included.remove(&hash) {
                let status = TxStatus::FinalityTimeout(included.block);
                for sender in included.senders {
                    let _ = sender.send(status.clone());
                }
            }
        }
    }

    /// Ends with `Dropped` the watch of transactions no longer in the pool (retracted ones
    /// that were not resubmitted).
    pub(crate) fn drop_orphans(&mut self, in_pool: impl Fn(&H256) -> bool) -> usize {
        let orphans: Vec<H256> = self
            .watching
            .keys()
            .filter(|hash| !in_pool(hash))
            .copied()
            .collect();
        for hash in &orphans {
            self.finish(hash, TxStatus::Dropped);
        }
        orphans.len()
    }
}
