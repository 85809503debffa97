//! The pool as its users see it, over a mock runtime that behaves like Arceon's: an
//! extrinsic is `(sender, nonce, tip, longevity, payload)`, it provides `(sender, nonce)`
//! and requires `(sender, nonce - 1)` when its nonce is ahead of the chain's.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the assertion

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::TryRecvError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arceon_primitives::{
    InvalidTransaction, TransactionSource, TransactionValidity, UnknownTransaction,
    ValidTransaction, H256,
};
use arceon_txpool::{ChainApi, Limits, Options, Pool, PoolError, Transaction, TxStatus};
use proptest::prelude::*;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

/// A sender whose lookups fail, to get `Unknown` validity.
const UNKNOWN_SENDER: u8 = 255;

#[derive(Default)]
struct MockApi {
    nonces: Mutex<HashMap<u8, u32>>,
    invalid: Mutex<HashMap<(u8, u32), InvalidTransaction>>,
    /// The size of each batch handed to `preverify`.
    preverified: Mutex<Vec<usize>>,
    /// While held by a test, `validate` waits for it (after setting `validating`).
    gate: Arc<Mutex<()>>,
    validating: std::sync::atomic::AtomicBool,
}

impl MockApi {
    fn chain_nonce(&self, sender: u8) -> u32 {
        self.nonces
            .lock()
            .unwrap()
            .get(&sender)
            .copied()
            .unwrap_or(0)
    }

    fn set_nonce(&self, sender: u8, nonce: u32) {
        self.nonces.lock().unwrap().insert(sender, nonce);
    }

    fn mark_invalid(&self, sender: u8, nonce: u32, error: InvalidTransaction) {
        self.invalid.lock().unwrap().insert((sender, nonce), error);
    }
}

struct Decoded {
    sender: u8,
    nonce: u32,
    tip: u64,
    longevity: u64,
}

fn decode(bytes: &[u8]) -> Option<Decoded> {
    Some(Decoded {
        sender: *bytes.first()?,
        nonce: u32::from_le_bytes(bytes.get(1..5)?.try_into().ok()?),
        tip: u64::from_le_bytes(bytes.get(5..13)?.try_into().ok()?),
        longevity: u64::from_le_bytes(bytes.get(13..21)?.try_into().ok()?),
    })
}

fn tag(sender: u8, nonce: u32) -> Vec<u8> {
    let mut tag = vec![sender];
    tag.extend_from_slice(&nonce.to_le_bytes());
    tag
}

impl ChainApi for MockApi {
    fn preverify(&self, _at: H256, extrinsics: &[&[u8]]) {
        self.preverified.lock().unwrap().push(extrinsics.len());
    }

    fn validate(&self, _at: H256, _source: TransactionSource, bytes: &[u8]) -> TransactionValidity {
        self.validating
            .store(true, std::sync::atomic::Ordering::SeqCst);
        drop(self.gate.lock().unwrap());
        let Some(xt) = decode(bytes) else {
            return Err(InvalidTransaction::Call.into());
        };
        if xt.sender == UNKNOWN_SENDER {
            return Err(UnknownTransaction::CannotLookup.into());
        }
        if let Some(error) = self.invalid.lock().unwrap().get(&(xt.sender, xt.nonce)) {
            return Err((*error).into());
        }
        let chain = self.chain_nonce(xt.sender);
        if xt.nonce < chain {
            return Err(InvalidTransaction::Stale.into());
        }
        Ok(ValidTransaction {
            priority: xt.tip,
            requires: if xt.nonce > chain {
                vec![tag(xt.sender, xt.nonce - 1)]
            } else {
                vec![]
            },
            provides: vec![tag(xt.sender, xt.nonce)],
            longevity: xt.longevity,
            propagate: true,
        })
    }
}

fn xt_full(sender: u8, nonce: u32, tip: u64, longevity: u64, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![sender];
    bytes.extend_from_slice(&nonce.to_le_bytes());
    bytes.extend_from_slice(&tip.to_le_bytes());
    bytes.extend_from_slice(&longevity.to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

fn xt(sender: u8, nonce: u32, tip: u64) -> Vec<u8> {
    xt_full(sender, nonce, tip, 64, &[])
}

fn big_options() -> Options {
    Options {
        ready_limit: Limits {
            count: 10_000,
            total_bytes: 10_000_000,
        },
        future_limit: Limits {
            count: 10_000,
            total_bytes: 10_000_000,
        },
        ban_time: Duration::from_secs(60),
    }
}

fn setup(options: Options) -> (Arc<MockApi>, Pool<MockApi>) {
    let api = Arc::new(MockApi::default());
    (api.clone(), Pool::new(api, options))
}

fn block(number: u32) -> H256 {
    H256::from_low_u64_be(0xb10c_0000 + u64::from(number))
}

const GENESIS: H256 = H256::zero();

fn submit(pool: &Pool<MockApi>, bytes: Vec<u8>) -> Result<H256, PoolError> {
    pool.submit_one(GENESIS, 0, TransactionSource::External, bytes)
}

fn watch(pool: &Pool<MockApi>, bytes: Vec<u8>) -> (H256, arceon_txpool::Watcher) {
    pool.submit_and_watch(GENESIS, 0, TransactionSource::Local, bytes)
        .unwrap()
}

/// Imports a block made of `hashes` the way the chain would: the runtime's nonces move on,
/// then the pool is told.
fn import_block(api: &MockApi, pool: &Pool<MockApi>, number: u32, hashes: &[H256]) {
    for hash in hashes {
        let tx = pool
            .get(hash)
            .expect("included transactions come from the pool");
        let xt = decode(&tx.data).unwrap();
        assert_eq!(
            xt.nonce,
            api.chain_nonce(xt.sender),
            "block order must be includable"
        );
        api.set_nonce(xt.sender, xt.nonce + 1);
    }
    pool.maintain(block(number), number, hashes);
}

fn order(txs: &[Arc<Transaction>]) -> Vec<(u8, u32)> {
    txs.iter()
        .map(|tx| {
            let xt = decode(&tx.data).unwrap();
            (xt.sender, xt.nonce)
        })
        .collect()
}

/// The invariants a block author relies on, checked from the public API only.
fn assert_sound(pool: &Pool<MockApi>) {
    let ready = pool.ready();
    let future = pool.future();
    let status = pool.status();
    assert_eq!(status.ready, ready.len());
    assert_eq!(status.future, future.len());
    assert_eq!(
        status.ready_bytes,
        ready.iter().map(|tx| tx.bytes()).sum::<usize>()
    );
    assert_eq!(
        status.future_bytes,
        future.iter().map(|tx| tx.bytes()).sum::<usize>()
    );
    let mut provided = HashSet::new();
    for tx in &ready {
        for required in &tx.requires {
            assert!(
                provided.contains(required),
                "ready tx before its requirement"
            );
        }
        for tag in &tx.provides {
            assert!(provided.insert(tag.clone()), "tag provided twice");
            assert!(pool.ready_provides_tag(tag));
        }
    }
    let mut future_tags = HashSet::new();
    for tx in &future {
        assert!(
            !tx.requires.iter().all(|tag| provided.contains(tag)),
            "a future tx has all its requirements met"
        );
        for tag in &tx.provides {
            assert!(!provided.contains(tag) && future_tags.insert(tag.clone()));
        }
    }
    assert_eq!(pool.pending().len(), ready.len() + future.len());
    assert_eq!(pool.transactions().len(), ready.len() + future.len());
}

#[test]
fn ready_orders_by_nonce_per_sender_and_by_priority_across_senders() {
    let (_, pool) = setup(big_options());
    for nonce in (1..4).rev() {
        submit(&pool, xt(1, nonce, 1)).unwrap();
    }
    assert_eq!(pool.status().future, 3, "nonces 1..3 wait for nonce 0");
    submit(&pool, xt(1, 0, 1)).unwrap();
    assert_eq!(pool.status().future, 0);
    submit(&pool, xt(2, 0, 10)).unwrap();
    submit(&pool, xt(2, 1, 10)).unwrap();
    submit(&pool, xt(3, 0, 10)).unwrap();
    assert_sound(&pool);
    assert_eq!(
        order(&pool.ready()),
        vec![(2, 0), (2, 1), (3, 0), (1, 0), (1, 1), (1, 2), (1, 3)]
    );
    assert_eq!(order(&pool.ready_iter()), order(&pool.ready()));
}

#[test]
fn a_high_tip_waits_behind_its_senders_earlier_nonce() {
    let (_, pool) = setup(big_options());
    submit(&pool, xt(1, 0, 1)).unwrap();
    submit(&pool, xt(1, 1, 100)).unwrap();
    submit(&pool, xt(2, 0, 50)).unwrap();
    assert_eq!(order(&pool.ready()), vec![(2, 0), (1, 0), (1, 1)]);
}

#[test]
fn future_tx_waits_then_becomes_ready_when_the_gap_is_filled() {
    let (_, pool) = setup(big_options());
    let (hash2, watcher2) = watch(&pool, xt(1, 2, 5));
    let (hash1, watcher1) = watch(&pool, xt(1, 1, 5));
    assert_eq!(watcher2.drain(), vec![TxStatus::Future]);
    assert_eq!(watcher1.drain(), vec![TxStatus::Future]);
    assert!(!pool.is_ready(&hash1) && pool.contains(&hash1));
    assert_eq!(pool.status().future, 2);
    assert!(pool.ready().is_empty());
    assert_eq!(order(&pool.pending()), vec![(1, 2), (1, 1)]);

    submit(&pool, xt(1, 0, 5)).unwrap();
    assert_eq!(watcher1.drain(), vec![TxStatus::Ready]);
    assert_eq!(watcher2.drain(), vec![TxStatus::Ready]);
    assert!(pool.is_ready(&hash2));
    assert_eq!(order(&pool.ready()), vec![(1, 0), (1, 1), (1, 2)]);
    assert_eq!(order(&pool.pending()), vec![(1, 0), (1, 1), (1, 2)]);
    assert_sound(&pool);
}

#[test]
fn higher_tip_usurps_and_equal_tip_is_refused() {
    let (_, pool) = setup(big_options());
    let (first, watcher) = watch(&pool, xt(1, 0, 5));
    submit(&pool, xt(1, 1, 5)).unwrap();
    assert_eq!(
        submit(&pool, xt_full(1, 0, 5, 64, b"other")),
        Err(PoolError::TooLowPriority { old: 5, new: 5 })
    );
    assert_eq!(
        submit(&pool, xt_full(1, 0, 4, 64, b"other")),
        Err(PoolError::TooLowPriority { old: 5, new: 4 })
    );
    let better = submit(&pool, xt_full(1, 0, 6, 64, b"other")).unwrap();
    assert_eq!(
        watcher.collect::<Vec<_>>(),
        vec![TxStatus::Ready, TxStatus::Usurped(better)],
        "the stream ends after Usurped"
    );
    assert!(!pool.contains(&first) && pool.is_ready(&better));
    // Nonce 1 still follows, now behind the replacement.
    assert_eq!(order(&pool.ready()), vec![(1, 0), (1, 1)]);
    assert_eq!(pool.ready()[0].hash, better);
    assert_sound(&pool);
}

#[test]
fn duplicates_and_invalid_transactions_are_refused() {
    let (api, pool) = setup(big_options());
    let hash = submit(&pool, xt(1, 0, 1)).unwrap();
    assert_eq!(
        submit(&pool, xt(1, 0, 1)),
        Err(PoolError::AlreadyImported(hash))
    );
    let batch = pool.submit_at(
        GENESIS,
        0,
        TransactionSource::External,
        vec![xt(2, 0, 1), xt(2, 0, 1), vec![1, 2, 3]],
    );
    assert!(batch[0].is_ok());
    assert_eq!(
        batch[1],
        Err(PoolError::AlreadyImported(*batch[0].as_ref().unwrap()))
    );
    assert_eq!(batch[2], Err(PoolError::Invalid(InvalidTransaction::Call)));

    api.set_nonce(3, 5);
    assert_eq!(
        submit(&pool, xt(3, 4, 1)),
        Err(PoolError::Invalid(InvalidTransaction::Stale))
    );
    api.mark_invalid(4, 0, InvalidTransaction::BadProof);
    api.mark_invalid(5, 0, InvalidTransaction::Payment);
    assert_eq!(
        submit(&pool, xt(4, 0, 1)),
        Err(PoolError::Invalid(InvalidTransaction::BadProof))
    );
    assert_eq!(
        submit(&pool, xt(5, 0, 1)),
        Err(PoolError::Invalid(InvalidTransaction::Payment))
    );
    assert_eq!(
        submit(&pool, xt(UNKNOWN_SENDER, 0, 1)),
        Err(PoolError::Unknown(UnknownTransaction::CannotLookup))
    );
    // A bad proof can never heal, so it is banned; a payment failure may (top-up).
    api.invalid.lock().unwrap().clear();
    assert_eq!(
        submit(&pool, xt(4, 0, 1)),
        Err(PoolError::TemporarilyBanned)
    );
    assert!(submit(&pool, xt(5, 0, 1)).is_ok());
    assert_eq!(pool.status().ready, 3);
    assert_sound(&pool);
}

#[test]
fn transactions_providing_nothing_or_too_large_are_refused() {
    struct NoTags;
    impl ChainApi for NoTags {
        fn validate(&self, _: H256, _: TransactionSource, _: &[u8]) -> TransactionValidity {
            Ok(ValidTransaction {
                priority: 1,
                requires: vec![],
                provides: vec![],
                longevity: 1,
                propagate: true,
            })
        }
    }
    let pool = Pool::new(Arc::new(NoTags), big_options());
    assert_eq!(
        pool.submit_one(GENESIS, 0, TransactionSource::Local, vec![1]),
        Err(PoolError::NoTagsProvided)
    );

    let mut options = big_options();
    options.ready_limit.total_bytes = 30;
    let (_, pool) = setup(options);
    assert_eq!(
        submit(&pool, xt_full(1, 0, 1, 64, &[0; 10])),
        Err(PoolError::TooLarge {
            size: 31,
            limit: 30
        })
    );
}

#[test]
fn count_limit_evicts_the_lowest_priority() {
    let mut options = big_options();
    options.ready_limit.count = 3;
    let (_, pool) = setup(options);
    submit(&pool, xt(1, 0, 5)).unwrap();
    let (low, low_watcher) = watch(&pool, xt(2, 0, 1));
    submit(&pool, xt(3, 0, 7)).unwrap();
    submit(&pool, xt(4, 0, 4)).unwrap();
    assert_eq!(
        low_watcher.collect::<Vec<_>>(),
        vec![TxStatus::Ready, TxStatus::Dropped]
    );
    assert!(!pool.contains(&low));
    assert_eq!(order(&pool.ready()), vec![(3, 0), (1, 0), (4, 0)]);
    assert_eq!(
        submit(&pool, xt(5, 0, 0)),
        Err(PoolError::ImmediatelyDropped)
    );
    assert_eq!(
        pool.submit_and_watch(GENESIS, 0, TransactionSource::Local, xt(6, 0, 0))
            .err(),
        Some(PoolError::ImmediatelyDropped)
    );
    assert_eq!(pool.status().ready, 3);
    assert_sound(&pool);
}

#[test]
fn byte_limit_evicts_the_lowest_priority() {
    let mut options = big_options();
    let size = xt_full(1, 0, 0, 64, &[0; 20]).len();
    options.ready_limit.total_bytes = 2 * size + 25;
    let (_, pool) = setup(options);
    let low = submit(&pool, xt_full(1, 0, 1, 64, &[0; 20])).unwrap();
    let mid = submit(&pool, xt_full(2, 0, 2, 64, &[0; 20])).unwrap();
    let high = submit(&pool, xt_full(3, 0, 3, 64, &[0; 20])).unwrap();
    assert!(!pool.contains(&low) && pool.contains(&mid) && pool.contains(&high));
    assert_eq!(pool.status().ready_bytes, 2 * size);
    // A small one fits beside them without evicting.
    submit(&pool, xt(4, 0, 0)).unwrap();
    assert_eq!(pool.status().ready, 3);
    assert_sound(&pool);
}

#[test]
fn a_full_future_set_refuses_the_newcomer() {
    let mut options = big_options();
    options.future_limit.count = 2;
    let (_, pool) = setup(options);
    let (oldest, watcher) = watch(&pool, xt(1, 5, 100));
    let second = submit(&pool, xt(2, 5, 1)).unwrap();
    // Accepted transactions stay; the one that does not fit is refused (1016).
    assert_eq!(
        submit(&pool, xt(3, 5, 1)),
        Err(PoolError::ImmediatelyDropped)
    );
    assert_eq!(watcher.drain(), vec![TxStatus::Future]);
    assert!(pool.contains(&oldest) && pool.contains(&second));
    assert_eq!(pool.status().future, 2);
    assert_sound(&pool);
}

#[test]
fn evicting_a_ready_tx_sends_its_successors_back_to_future() {
    let mut options = big_options();
    options.ready_limit.count = 2;
    let (_, pool) = setup(options);
    submit(&pool, xt(1, 0, 10)).unwrap();
    // Nonce 1 of sender 2 waits; when nonce 0 arrives with the lowest tip, it is dropped
    // at once and nonce 1 keeps waiting instead of being lost.
    let (waiting, watcher) = watch(&pool, xt(2, 1, 50));
    submit(&pool, xt(3, 0, 9)).unwrap();
    assert_eq!(
        submit(&pool, xt(2, 0, 1)),
        Err(PoolError::ImmediatelyDropped)
    );
    assert!(pool.contains(&waiting) && !pool.is_ready(&waiting));
    assert_eq!(watcher.drain(), vec![TxStatus::Future]);
    assert_sound(&pool);
}

#[test]
fn maintain_removes_included_transactions_and_bans_them() {
    let (api, pool) = setup(big_options());
    let (h0, w0) = watch(&pool, xt(1, 0, 1));
    let (h1, w1) = watch(&pool, xt(1, 1, 1));
    let h2 = submit(&pool, xt(1, 2, 1)).unwrap();
    import_block(&api, &pool, 1, &[h0]);
    assert_eq!(
        w0.drain(),
        vec![TxStatus::Ready, TxStatus::InBlock(block(1))]
    );
    // Nonce 1 no longer requires anything but stays ready without a spurious Future.
    assert_eq!(w1.drain(), vec![TxStatus::Ready]);
    assert!(!pool.contains(&h0) && pool.is_ready(&h1) && pool.is_ready(&h2));
    assert!(pool.get(&h1).unwrap().requires.is_empty());
    assert!(pool.is_banned(&h0));
    assert_eq!(
        submit(&pool, xt(1, 0, 1)),
        Err(PoolError::TemporarilyBanned)
    );
    assert_eq!(order(&pool.ready()), vec![(1, 1), (1, 2)]);
    assert_sound(&pool);
}

#[test]
fn bans_expire() {
    let mut options = big_options();
    options.ban_time = Duration::from_millis(50);
    let (api, pool) = setup(options);
    let hash = submit(&pool, xt(1, 0, 1)).unwrap();
    pool.maintain(block(1), 1, &[hash]);
    assert_eq!(
        submit(&pool, xt(1, 0, 1)),
        Err(PoolError::TemporarilyBanned)
    );
    std::thread::sleep(Duration::from_millis(80));
    assert!(!pool.is_banned(&hash));
    // The block was never applied to the mock chain, so the tx is valid again.
    assert_eq!(api.chain_nonce(1), 0);
    assert_eq!(submit(&pool, xt(1, 0, 1)), Ok(hash));
}

#[test]
fn revalidation_removes_transactions_made_stale_elsewhere() {
    let (api, pool) = setup(big_options());
    let (h0, w0) = watch(&pool, xt(1, 0, 1));
    let (h1, w1) = watch(&pool, xt(1, 1, 1));
    let h2 = submit(&pool, xt(1, 2, 1)).unwrap();
    // Another node's block used nonces 0 and 1 with other transactions.
    api.set_nonce(1, 2);
    pool.maintain(block(1), 1, &[]);
    assert_eq!(
        w0.collect::<Vec<_>>(),
        vec![TxStatus::Ready, TxStatus::Invalid]
    );
    assert_eq!(
        w1.collect::<Vec<_>>(),
        vec![TxStatus::Ready, TxStatus::Invalid]
    );
    assert!(!pool.contains(&h0) && !pool.contains(&h1));
    assert!(pool.is_ready(&h2));
    // Stale can never heal, so it is banned.
    assert!(pool.is_banned(&h0));
    assert_sound(&pool);
}

#[test]
fn revalidation_removes_transactions_that_became_invalid() {
    let (api, pool) = setup(big_options());
    let (h0, w0) = watch(&pool, xt(1, 0, 1));
    let (h1, w1) = watch(&pool, xt(1, 1, 1));
    api.mark_invalid(1, 0, InvalidTransaction::Payment);
    pool.maintain(block(1), 1, &[]);
    assert_eq!(
        w0.collect::<Vec<_>>(),
        vec![TxStatus::Ready, TxStatus::Invalid]
    );
    assert_eq!(w1.drain(), vec![TxStatus::Ready, TxStatus::Future]);
    assert!(!pool.contains(&h0) && pool.contains(&h1) && !pool.is_ready(&h1));
    assert!(!pool.is_banned(&h0), "a payment failure may heal");
    assert_sound(&pool);
}

#[test]
fn maintain_moves_future_transactions_to_ready() {
    let (api, pool) = setup(big_options());
    let (h3, w3) = watch(&pool, xt(1, 3, 1));
    let (h4, w4) = watch(&pool, xt(1, 4, 1));
    assert_eq!(pool.status().future, 2);
    // Nonces 0..2 were included in someone else's block.
    api.set_nonce(1, 3);
    pool.maintain(block(1), 1, &[]);
    assert_eq!(w3.drain(), vec![TxStatus::Future, TxStatus::Ready]);
    assert_eq!(w4.drain(), vec![TxStatus::Future, TxStatus::Ready]);
    assert!(pool.is_ready(&h3) && pool.is_ready(&h4));
    assert_eq!(order(&pool.ready()), vec![(1, 3), (1, 4)]);
    assert_sound(&pool);
}

#[test]
fn transactions_past_their_longevity_are_removed() {
    let (_, pool) = setup(big_options());
    let (short, watcher) = pool
        .submit_and_watch(
            GENESIS,
            10,
            TransactionSource::Local,
            xt_full(1, 0, 1, 5, &[]),
        )
        .unwrap();
    let long = submit(&pool, xt_full(2, 0, 1, 64, &[])).unwrap();
    assert_eq!(pool.get(&short).unwrap().valid_till, 15);
    pool.maintain(block(15), 15, &[]);
    assert!(pool.contains(&short), "still valid in its last block");
    // The mock answers the same longevity on every revalidation; the bound must not move.
    assert_eq!(pool.get(&short).unwrap().valid_till, 15);
    pool.maintain(block(16), 16, &[]);
    assert!(!pool.contains(&short) && pool.contains(&long));
    assert_eq!(
        watcher.collect::<Vec<_>>(),
        vec![TxStatus::Ready, TxStatus::Invalid]
    );
}

#[test]
fn watchers_see_in_block_then_finalized() {
    let (api, pool) = setup(big_options());
    let (hash, watcher) = watch(&pool, xt(1, 0, 1));
    pool.on_broadcasted(HashMap::from([(hash, vec!["peer-1".to_string()])]));
    import_block(&api, &pool, 1, &[hash]);
    pool.on_finalized(block(1), &[hash]);
    assert_eq!(
        watcher.collect::<Vec<_>>(),
        vec![
            TxStatus::Ready,
            TxStatus::Broadcast(vec!["peer-1".to_string()]),
            TxStatus::InBlock(block(1)),
            TxStatus::Finalized(block(1)),
        ]
    );
}

#[test]
fn retracted_transactions_can_come_back() {
    let (api, pool) = setup(big_options());
    let (hash, watcher) = watch(&pool, xt(1, 0, 1));
    import_block(&api, &pool, 1, &[hash]);
    // Reorg: block 1 is replaced by an empty sibling.
    api.set_nonce(1, 0);
    pool.on_retracted(block(1), &[hash]);
    assert_eq!(
        pool.submit_at(GENESIS, 0, TransactionSource::InBlock, vec![xt(1, 0, 1)]),
        vec![Ok(hash)]
    );
    pool.maintain(block(101), 1, &[]);
    import_block(&api, &pool, 2, &[hash]);
    pool.on_finalized(block(2), &[hash]);
    assert_eq!(
        watcher.collect::<Vec<_>>(),
        vec![
            TxStatus::Ready,
            TxStatus::InBlock(block(1)),
            TxStatus::Retracted(block(1)),
            TxStatus::Ready,
            TxStatus::InBlock(block(2)),
            TxStatus::Finalized(block(2)),
        ]
    );
}

#[test]
fn retracted_transactions_not_resubmitted_are_dropped() {
    let (api, pool) = setup(big_options());
    let (hash, watcher) = watch(&pool, xt(1, 0, 1));
    import_block(&api, &pool, 1, &[hash]);
    pool.on_retracted(block(1), &[hash]);
    pool.maintain(block(101), 1, &[]);
    assert_eq!(
        watcher.collect::<Vec<_>>(),
        vec![
            TxStatus::Ready,
            TxStatus::InBlock(block(1)),
            TxStatus::Retracted(block(1)),
            TxStatus::Dropped,
        ]
    );
}

#[test]
fn watchers_of_unfinalized_blocks_time_out() {
    let (api, pool) = setup(big_options());
    let (hash, watcher) = watch(&pool, xt(1, 0, 1));
    import_block(&api, &pool, 1, &[hash]);
    pool.maintain(block(129), 129, &[]);
    assert_eq!(watcher.try_recv(), Ok(TxStatus::Ready));
    assert_eq!(watcher.try_recv(), Ok(TxStatus::InBlock(block(1))));
    assert_eq!(watcher.try_recv(), Err(TryRecvError::Empty));
    pool.maintain(block(130), 130, &[]);
    assert_eq!(
        watcher.collect::<Vec<_>>(),
        vec![TxStatus::FinalityTimeout(block(1))]
    );
}

#[test]
fn remove_invalid_sends_successors_back_to_future() {
    let (_, pool) = setup(big_options());
    let (h0, w0) = watch(&pool, xt(1, 0, 1));
    let (h1, w1) = watch(&pool, xt(1, 1, 1));
    let removed = pool.remove_invalid(&[h0, H256::repeat_byte(9)]);
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].hash, h0);
    assert_eq!(
        w0.collect::<Vec<_>>(),
        vec![TxStatus::Ready, TxStatus::Invalid]
    );
    assert_eq!(w1.drain(), vec![TxStatus::Ready, TxStatus::Future]);
    assert!(pool.contains(&h1) && !pool.is_ready(&h1));
    assert!(pool.is_banned(&h0));
    assert_sound(&pool);
}

#[test]
fn import_notifications_list_newly_ready_transactions() {
    let (_, pool) = setup(big_options());
    let stream = pool.import_notification_stream();
    let h1 = submit(&pool, xt(1, 1, 1)).unwrap();
    assert!(
        stream.try_recv().is_err(),
        "future transactions are not announced"
    );
    let h0 = submit(&pool, xt(1, 0, 1)).unwrap();
    assert_eq!(stream.try_iter().collect::<Vec<_>>(), vec![h1, h0]);
}

#[test]
fn dropped_watchers_are_forgotten() {
    let (api, pool) = setup(big_options());
    let (hash, watcher) = watch(&pool, xt(1, 0, 1));
    drop(watcher);
    import_block(&api, &pool, 1, &[hash]);
    pool.on_finalized(block(1), &[hash]);
    assert_eq!(pool.status().ready, 0);
}

#[test]
fn concurrent_submissions_end_up_ready_in_nonce_order() {
    const SENDERS: u8 = 20;
    const NONCES: u32 = 10;
    const THREADS: u8 = 4;
    let (_, pool) = setup(big_options());
    let pool = Arc::new(pool);
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut txs: Vec<Vec<u8>> = (0..SENDERS)
                    .filter(|sender| sender % THREADS == thread)
                    .flat_map(|sender| {
                        (0..NONCES).map(move |nonce| xt(sender, nonce, u64::from(sender)))
                    })
                    .collect();
                txs.shuffle(&mut StdRng::seed_from_u64(u64::from(thread)));
                for tx in txs {
                    submit(&pool, tx).unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let status = pool.status();
    assert_eq!(status.ready, usize::from(SENDERS) * NONCES as usize);
    assert_eq!(status.future, 0);
    let ready = order(&pool.ready());
    for sender in 0..SENDERS {
        let nonces: Vec<u32> = ready
            .iter()
            .filter(|(s, _)| *s == sender)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(nonces, (0..NONCES).collect::<Vec<_>>());
    }
    // Every sender's tip is its id, so senders come out highest first, each in one run.
    let senders: Vec<u8> = ready.iter().map(|(s, _)| *s).collect();
    let mut runs = senders;
    runs.dedup();
    assert_eq!(runs, (0..SENDERS).rev().collect::<Vec<_>>());
    assert_sound(&pool);
}

#[test]
fn blocks_imported_while_submitting_keep_the_pool_sound() {
    let (api, pool) = setup(big_options());
    let pool = Arc::new(pool);
    let submitters: Vec<_> = (0..2u8)
        .map(|thread| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for nonce in 0..30 {
                    for sender in (thread * 5)..(thread * 5 + 5) {
                        // Some fail as stale or banned once blocks include their nonce.
                        let _ = submit(&pool, xt(sender, nonce, 1));
                    }
                }
            })
        })
        .collect();
    for number in 1..=20 {
        let included: Vec<H256> = pool.ready().iter().take(7).map(|tx| tx.hash).collect();
        import_block(&api, &pool, number, &included);
        // Only single-snapshot properties hold while submissions race with the checks.
        let mut provided = HashSet::new();
        for tx in pool.ready() {
            assert!(tx.requires.iter().all(|tag| provided.contains(tag)));
            provided.extend(tx.provides.iter().cloned());
        }
    }
    for handle in submitters {
        handle.join().unwrap();
    }
    pool.maintain(block(21), 21, &[]);
    assert_sound(&pool);
    for tx in pool.transactions() {
        let xt = decode(&tx.data).unwrap();
        assert!(xt.nonce >= api.chain_nonce(xt.sender));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Submit {
        sender: u8,
        nonce: u32,
        tip: u64,
        padding: usize,
    },
    /// Include the first `take` ready transactions in a block.
    Block {
        take: usize,
    },
    /// Someone else's block used the sender's next nonce.
    Elsewhere {
        sender: u8,
    },
    RemoveInvalid {
        index: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, 0u32..6, 0u64..4, 0usize..3).prop_map(|(sender, nonce, tip, padding)| {
            Op::Submit {
                sender,
                nonce,
                tip,
                padding,
            }
        }),
        2 => (0usize..5).prop_map(|take| Op::Block { take }),
        1 => (0u8..4).prop_map(|sender| Op::Elsewhere { sender }),
        1 => (0usize..10).prop_map(|index| Op::RemoveInvalid { index }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_operations_keep_the_pool_sound(ops in proptest::collection::vec(op(), 1..60)) {
        let options = Options {
            ready_limit: Limits { count: 6, total_bytes: 200 },
            future_limit: Limits { count: 3, total_bytes: 100 },
            ban_time: Duration::from_secs(60),
        };
        let (api, pool) = setup(options.clone());
        let mut number = 0;
        let mut watched: Vec<(arceon_txpool::Watcher, Vec<TxStatus>)> = Vec::new();
        for op in ops {
            match op {
                Op::Submit { sender, nonce, tip, padding } => {
                    let bytes = xt_full(sender, nonce, tip, 64, &vec![0; padding * 10]);
                    let source = TransactionSource::External;
                    if let Ok((_, watcher)) = pool.submit_and_watch(block(number), number, source, bytes) {
                        // A resubmission after eviction: the old stream has ended.
                        watched.retain(|(old, _)| old.hash() != watcher.hash());
                        watched.push((watcher, Vec::new()));
                    }
                }
                Op::Block { take } => {
                    number += 1;
                    let included: Vec<H256> =
                        pool.ready().iter().take(take).map(|tx| tx.hash).collect();
                    import_block(&api, &pool, number, &included);
                }
                Op::Elsewhere { sender } => {
                    number += 1;
                    api.set_nonce(sender, api.chain_nonce(sender) + 1);
                    pool.maintain(block(number), number, &[]);
                }
                Op::RemoveInvalid { index } => {
                    if let Some(tx) = pool.pending().get(index) {
                        pool.remove_invalid(&[tx.hash]);
                    }
                }
            }
            assert_sound(&pool);
            let status = pool.status();
            prop_assert!(status.ready <= options.ready_limit.count);
            prop_assert!(status.ready_bytes <= options.ready_limit.total_bytes);
            prop_assert!(status.future <= options.future_limit.count);
            prop_assert!(status.future_bytes <= options.future_limit.total_bytes);
            for tx in pool.transactions() {
                let xt = decode(&tx.data).unwrap();
                prop_assert!(xt.nonce >= api.chain_nonce(xt.sender), "stale tx kept");
            }
            for (watcher, log) in &mut watched {
                log.extend(watcher.drain());
                let hash = watcher.hash();
                if let Some(end) = log.iter().position(TxStatus::is_final) {
                    prop_assert_eq!(end, log.len() - 1, "status after a final one: {:?}", log);
                    prop_assert!(!pool.contains(&hash), "final status for a pooled tx");
                }
                prop_assert!(
                    log.windows(2).all(|pair| pair[0] != pair[1]),
                    "repeated status: {:?}", log
                );
                if pool.contains(&hash) {
                    let last = log
                        .iter()
                        .rev()
                        .find(|status| matches!(status, TxStatus::Ready | TxStatus::Future));
                    let expected = if pool.is_ready(&hash) { TxStatus::Ready } else { TxStatus::Future };
                    prop_assert_eq!(last, Some(&expected));
                } else {
                    let last = log.last();
                    prop_assert!(
                        last.is_some_and(|s| s.is_final() || matches!(s, TxStatus::InBlock(_))),
                        "left the pool silently: {:?}", log
                    );
                }
            }
        }
    }
}

#[test]
fn watchers_are_streams_the_pool_wakes() {
    use futures::StreamExt;
    let (api, pool) = setup(big_options());
    let pool = Arc::new(pool);
    let (hash, mut watcher) = watch(&pool, xt(1, 0, 0));
    let maintainer = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            import_block(&api, &pool, 1, &[hash]);
            std::thread::sleep(Duration::from_millis(50));
            pool.on_finalized(block(1), &[hash]);
        })
    };
    // No thread polls in a loop: each status wakes the awaiting task.
    let statuses = futures::executor::block_on(async {
        let mut statuses = Vec::new();
        while let Some(status) = StreamExt::next(&mut watcher).await {
            statuses.push(status);
        }
        statuses
    });
    maintainer.join().unwrap();
    assert_eq!(
        statuses,
        vec![
            TxStatus::Ready,
            TxStatus::InBlock(block(1)),
            TxStatus::Finalized(block(1))
        ]
    );
}

#[test]
fn an_author_waits_until_the_pool_is_maintained_at_its_parent() {
    let (api, pool) = setup(big_options());
    let pool = Arc::new(pool);
    let hash = submit(&pool, xt(1, 0, 0)).unwrap();
    assert_eq!(pool.maintained_block(), None);
    assert!(!pool.wait_maintained(block(1), Duration::from_millis(10)));
    let maintainer = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            import_block(&api, &pool, 1, &[hash]);
        })
    };
    assert!(pool.wait_maintained(block(1), Duration::from_secs(10)));
    maintainer.join().unwrap();
    // Once maintained, the included transaction is gone: nothing stale is offered.
    assert!(pool.ready().is_empty());
    assert_eq!(pool.maintained_block(), Some((1, block(1))));
    assert!(pool.wait_maintained(block(1), Duration::ZERO));
    assert!(!pool.wait_maintained(block(2), Duration::ZERO));
}

#[test]
fn batches_are_preverified_together_and_single_submissions_are_not() {
    let (api, pool) = setup(big_options());
    submit(&pool, xt(1, 0, 0)).unwrap();
    assert!(api.preverified.lock().unwrap().is_empty());
    let results = pool.submit_at(
        GENESIS,
        0,
        TransactionSource::External,
        (1..6).map(|nonce| xt(1, nonce, 0)).collect(),
    );
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(*api.preverified.lock().unwrap(), vec![5]);
    let watched = pool.submit_and_watch_at(
        GENESIS,
        0,
        TransactionSource::External,
        vec![xt(2, 0, 0), xt(2, 0, 0), xt(3, 1, 0)],
    );
    assert!(watched[0].is_ok());
    assert!(matches!(watched[1], Err(PoolError::AlreadyImported(_))));
    let (_, future) = watched[2].as_ref().unwrap();
    assert_eq!(future.try_recv(), Ok(TxStatus::Future));
    assert_sound(&pool);
}

fn submitter(pool: &Arc<Pool<MockApi>>, capacity: usize) -> arceon_txpool::Submitter {
    arceon_txpool::Submitter::start(pool.clone(), Box::new(|| (0, GENESIS)), capacity).unwrap()
}

fn wait_until_validating(api: &MockApi) {
    for _ in 0..1_000 {
        if api.validating.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the submitter never validated");
}

#[test]
fn the_submitter_validates_what_queued_meanwhile_as_one_batch() {
    let (api, pool) = setup(big_options());
    let pool = Arc::new(pool);
    let submitter = submitter(&pool, 1_000);
    let gate = api.gate.clone();
    let held = gate.lock().unwrap();
    // The first submission is taken alone and waits in validation...
    let first = {
        let submitter = submitter.clone();
        std::thread::spawn(move || {
            futures::executor::block_on(submitter.submit(
                TransactionSource::External,
                xt(1, 0, 0),
                true,
            ))
        })
    };
    wait_until_validating(&api);
    // ...while 40 more queue up; they are answered together, each with its watcher.
    let rest: Vec<_> = (0..40u8)
        .map(|sender| {
            let submitter = submitter.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(submitter.submit(
                    TransactionSource::External,
                    xt(10 + sender, 0, 0),
                    true,
                ))
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    drop(held);
    let (_, watcher) = first.join().unwrap().unwrap();
    assert_eq!(watcher.unwrap().try_recv(), Ok(TxStatus::Ready));
    for handle in rest {
        let (hash, watcher) = handle.join().unwrap().unwrap();
        assert!(pool.is_ready(&hash));
        assert_eq!(watcher.unwrap().try_recv(), Ok(TxStatus::Ready));
    }
    assert_eq!(*api.preverified.lock().unwrap(), vec![40]);
    assert_eq!(pool.status().ready, 41);
}

#[test]
fn a_full_submission_queue_refuses_at_once_with_pool_full() {
    let (api, pool) = setup(big_options());
    let pool = Arc::new(pool);
    let submitter = submitter(&pool, 1);
    let gate = api.gate.clone();
    let held = gate.lock().unwrap();
    let first = {
        let submitter = submitter.clone();
        std::thread::spawn(move || {
            futures::executor::block_on(submitter.submit(
                TransactionSource::External,
                xt(1, 0, 0),
                false,
            ))
        })
    };
    wait_until_validating(&api);
    let queued = {
        let submitter = submitter.clone();
        std::thread::spawn(move || {
            futures::executor::block_on(submitter.submit(
                TransactionSource::External,
                xt(2, 0, 0),
                false,
            ))
        })
    };
    // Give the second submission time to take the queue's one place.
    std::thread::sleep(Duration::from_millis(200));
    // The queue is full: the next is refused without waiting, never lost silently.
    let refused = futures::executor::block_on(submitter.submit(
        TransactionSource::External,
        xt(3, 0, 0),
        false,
    ))
    .err();
    assert_eq!(refused, Some(PoolError::ImmediatelyDropped));
    drop(held);
    assert!(first.join().unwrap().is_ok());
    assert!(queued.join().unwrap().is_ok());
    assert_eq!(pool.status().ready, 2);
}

#[test]
fn the_observer_sees_submissions_and_maintenance() {
    let (api, pool) = setup(big_options());
    let events = Arc::new(Mutex::new(Vec::new()));
    {
        let events = events.clone();
        pool.set_observer(Box::new(move |event| events.lock().unwrap().push(event)));
    }
    let results = pool.submit_at(
        GENESIS,
        0,
        TransactionSource::External,
        vec![xt(1, 0, 0), xt(1, 0, 0), xt(2, 0, 0)],
    );
    import_block(&api, &pool, 1, &[*results[0].as_ref().unwrap()]);
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        events[0],
        arceon_txpool::PoolEvent::Submitted {
            source: TransactionSource::External,
            count: 3,
            accepted: 2,
            ..
        }
    ));
    assert!(matches!(
        events[1],
        arceon_txpool::PoolEvent::Maintained { revalidated: 1, .. }
    ));
}

#[test]
fn a_big_pool_is_revalidated_in_turns_and_what_a_block_concerns_at_once() {
    use arceon_txpool::{PoolEvent, REVALIDATE_PER_BLOCK};
    let (api, pool) = setup(big_options());
    let revalidated = Arc::new(Mutex::new(Vec::new()));
    {
        let revalidated = revalidated.clone();
        pool.set_observer(Box::new(move |event| {
            if let PoolEvent::Maintained { revalidated: n, .. } = event {
                revalidated.lock().unwrap().push(n);
            }
        }));
    }
    let count = REVALIDATE_PER_BLOCK as u32 + 500;
    let chain: Vec<Vec<u8>> = (0..count).map(|nonce| xt(1, nonce, 0)).collect();
    assert!(pool
        .submit_at(GENESIS, 0, TransactionSource::External, chain)
        .iter()
        .all(Result::is_ok));
    let second = submit(&pool, xt(2, 0, 0)).unwrap();
    submit(&pool, xt(2, 1, 0)).unwrap();
    // Outside the first turn (the chain's last nonces come after it).
    api.mark_invalid(1, count - 10, InvalidTransaction::BadProof);
    import_block(&api, &pool, 1, &[second]);
    // (2, 1) waited for what the block included: revalidated at once, with one turn.
    assert_eq!(*revalidated.lock().unwrap(), vec![REVALIDATE_PER_BLOCK + 1]);
    assert_eq!(pool.status().ready, count as usize + 1);
    assert_eq!(pool.status().future, 0);
    // The next turn reaches the invalid one: it leaves, its successors wait.
    pool.maintain(block(2), 2, &[]);
    assert_eq!(pool.status().ready, count as usize - 10 + 1);
    assert_eq!(pool.status().future, 9);
    // Futures are revalidated on every block (and still wait).
    pool.maintain(block(3), 3, &[]);
    assert!(revalidated.lock().unwrap()[2] >= 9);
    assert_sound(&pool);
}
