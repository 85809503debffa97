//! Aura block authoring: time is cut into slots of `slot_duration` ms; in each slot the
//! node checks whether the slot's author (`authorities[slot % n]` at the best block) is
//! one of its keys and, if so, builds a block from the pool's ready transactions, seals
//! it and imports it. Once per staking session, each of its keys that is an active
//! validator signs a heartbeat and puts it in the pool (it feeds the validator's uptime
//! score).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arceon_client::keystore::Keystore;
use arceon_client::{Client, ImportOptions};
use arceon_primitives::{
    sr25519, InvalidTransaction, TransactionSource, TransactionValidityError, H256,
};
use arceon_runtime::{aura, Call, Extrinsic};
use arceon_support::Ext;
use codec::Encode;
use sp_core::Pair as _;

use crate::{Metrics, NetworkBridge, TransactionPool};

/// What authoring does besides building blocks.
pub struct Options {
    /// Announce authored blocks to peers.
    pub network: Option<Arc<NetworkBridge>>,
    /// Test-only: seal a second, different block in each of the node's slots.
    pub double_sign: bool,
    /// The fast lanes, whose certified batches go into blocks first.
    pub lanes: Option<Arc<crate::lanes::LaneService>>,
}

/// The share of a slot spent applying transactions; the rest is for sealing, storing and
/// propagating the block.
const BUILD_SHARE: f64 = 0.5;

/// The most a slot's author waits for the pool to be maintained at the parent block (the
/// pool removes what the parent included; until then those look stale).
const POOL_MAINTENANCE_WAIT: Duration = Duration::from_millis(250);

/// Transactions refused for exhausting the block's resources before it counts as full.
/// Each dispatch class has its own limit, so one that does not fit may leave room for
/// others behind it (an operational report once normal transactions filled their share,
/// a small transfer after a large one); past this many the block is taken to be full.
const MAX_EXHAUSTING_SKIPPED: usize = 8;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Starts the authoring thread; it stops when `stop` is set.
pub fn spawn(
    client: Arc<Client>,
    pool: Arc<TransactionPool>,
    keystore: Keystore,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    options: Options,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("aura-authoring".into())
        .spawn(move || run(&client, &pool, &keystore, &metrics, &stop, &options))
}

fn run(
    client: &Client,
    pool: &TransactionPool,
    keystore: &Keystore,
    metrics: &Metrics,
    stop: &AtomicBool,
    options: &Options,
) {
    let mut last_slot = 0u64;
    let mut heartbeat_session = None;
    while !stop.load(Ordering::SeqCst) {
        let best = client.best();
        let slot_ms = client
            .slot_duration(&best.1)
            .unwrap_or(aura::DEFAULT_SLOT_DURATION_MS);
        let now = unix_ms();
        let slot = now / slot_ms;
        if slot <= last_slot {
            // Sleep until the next slot starts, waking regularly to notice `stop`.
            let next = (slot + 1) * slot_ms;
            let wait = next.saturating_sub(now).min(100);
            std::thread::sleep(Duration::from_millis(wait.max(1)));
            continue;
        }
        last_slot = slot;
        if let Err(e) = send_heartbeats(client, pool, keystore, &mut heartbeat_session) {
            log::warn!("heartbeat: {e}");
        }
        let slot_end = Instant::now() + Duration::from_millis((slot + 1) * slot_ms - now);
        if let Err(e) = author_slot(
            client, pool, keystore, metrics, options, best.1, slot, slot_ms, slot_end,
        ) {
            log::warn!("slot {slot}: {e}");
        }
    }
}

/// Puts one signed heartbeat per local session key of an authoring validator in the pool, once per
/// session (`sent` remembers the session already covered).
fn send_heartbeats(
    client: &Client,
    pool: &TransactionPool,
    keystore: &Keystore,
    sent: &mut Option<u32>,
) -> Result<(), String> {
    let (number, best) = client.best();
    let state = client.state_at(&best).map_err(|e| e.to_string())?;
    let mut ext = Ext::new(&state);
    let (session, due) = arceon_runtime::offchain::heartbeats_due(&mut ext);
    if *sent == Some(session) {
        return Ok(());
    }
    // Each authoring validator signs with the Aura session key it registered.
    for (validator, aura) in due {
        let Some(pair) = keystore.pair("aura", &aura).map_err(|e| e.to_string())? else {
            continue;
        };
        let xt = arceon_runtime::offchain::heartbeat(number, session, validator, |bytes| {
            pair.sign(bytes).0
        });
        match pool.submit_one(best, number, TransactionSource::Local, xt.encode()) {
            Ok(hash) => log::debug!("heartbeat for session {session} in the pool: {hash:?}"),
            Err(e) => log::warn!("heartbeat for session {session} refused: {e}"),
        }
    }
    *sent = Some(session);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn author_slot(
    client: &Client,
    pool: &TransactionPool,
    keystore: &Keystore,
    metrics: &Metrics,
    options: &Options,
    parent: H256,
    slot: u64,
    slot_ms: u64,
    slot_end: Instant,
) -> Result<(), String> {
    let authorities = client.authorities(&parent).map_err(|e| e.to_string())?;
    let Some(author) = aura::slot_author(&authorities, slot) else {
        return Err("no authorities".into());
    };
    let Some(key) = keystore.pair("aura", &author).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    if options.network.as_ref().is_some_and(|n| n.is_syncing()) {
        // Far behind the network: a block on this old head would only make a fork.
        log::info!("slot {slot}: skipped while syncing");
        return Ok(());
    }
    let started = Instant::now();
    let deadline = started + Duration::from_millis((slot_ms as f64 * BUILD_SHARE) as u64);
    let deadline = deadline.min(slot_end);
    let mut invalid = Vec::new();
    let mut applied = 0usize;
    let mut exhausting = 0usize;
    let lane_batches = options
        .lanes
        .as_ref()
        .map(|lanes| lanes.batches_for_block())
        .unwrap_or_default();
    let mut lane_included = 0usize;
    let maintained = pool.wait_maintained(
        parent,
        POOL_MAINTENANCE_WAIT.min(deadline.saturating_duration_since(Instant::now())),
    );
    if !maintained {
        log::debug!("slot {slot}: the pool is not maintained at {parent:?} yet");
    }
    let built = client
        .build_block(&parent, slot, |builder| {
            lane_included = include_lane_batches(builder, lane_batches, deadline);
            applied += lane_included;
            for tx in pool.ready_iter() {
                if Instant::now() >= deadline {
                    break;
                }
                match builder.apply_extrinsic(tx.data.clone()) {
                    Ok(_) => applied += 1,
                    // It stays in the pool for a later block.
                    Err(TransactionValidityError::Invalid(
                        InvalidTransaction::ExhaustsResources,
                    )) => {
                        exhausting += 1;
                        if exhausting >= MAX_EXHAUSTING_SKIPPED {
                            break;
                        }
                    }
                    // A future nonce waits for its predecessor: it may fit a later block.
                    Err(TransactionValidityError::Invalid(InvalidTransaction::Future)) => {}
                    // Probably included by the parent, which the pool has not caught up
                    // with: maintenance removes it (reporting it in that block).
                    Err(TransactionValidityError::Invalid(InvalidTransaction::Stale))
                        if !maintained => {}
                    Err(TransactionValidityError::Unknown(_)) => {}
                    Err(_) => invalid.push(tx.hash),
                }
            }
        })
        .map_err(|e| e.to_string())?;
    if !invalid.is_empty() {
        pool.remove_invalid(&invalid);
    }
    let single_authority = arceon_finality::final_on_import(&authorities);
    let (block, imported) = client
        .import_own(
            built,
            &key,
            ImportOptions {
                finalize: single_authority,
            },
        )
        .map_err(|e| e.to_string())?;
    metrics.observe_import(started.elapsed());
    metrics.note_authored();
    log::info!(
        "authored #{} {:?} in slot {slot} with {applied} extrinsics ({} ms){}",
        imported.number,
        imported.hash,
        started.elapsed().as_millis(),
        if single_authority { ", finalized" } else { "" }
    );
    if let Some(network) = &options.network {
        network.announce(&block);
    }
    if options.double_sign && !single_authority {
        double_sign(client, &key, options, parent, slot)?;
    }
    Ok(())
}

/// Applies certified lane batches, each lane in height order. A batch can depend on
/// another lane's (a player crossing into the area), so lanes are tried in rounds until
/// none makes progress; a batch that does not apply yet waits for a later block.
/// Returns how many were included.
fn include_lane_batches<S: arceon_state::NodeStore>(
    builder: &mut arceon_runtime::BlockBuilder<'_, S>,
    batches: Vec<arceon_pallet_fastlane::CertifiedBatch>,
    deadline: Instant,
) -> usize {
    use std::collections::{BTreeMap, VecDeque};
    let mut lanes: BTreeMap<u32, VecDeque<arceon_pallet_fastlane::CertifiedBatch>> =
        BTreeMap::new();
    for batch in batches {
        lanes
            .entry(batch.batch.header.area)
            .or_default()
            .push_back(batch);
    }
    // Batches the parent's chain already holds (the pool keeps them until finality).
    for (area, queue) in lanes.iter_mut() {
        let head = arceon_pallet_fastlane::lane_head(builder.ext(), *area).height;
        queue.retain(|batch| batch.batch.header.height > head);
    }
    let mut included = 0;
    loop {
        let mut progress = false;
        for queue in lanes.values_mut() {
            while let Some(batch) = queue.front() {
                if Instant::now() >= deadline {
                    return included;
                }
                let xt = Extrinsic::new_unsigned(Call::FastLane(
                    arceon_pallet_fastlane::Call::SubmitBatch {
                        batch: batch.clone(),
                    },
                ));
                match builder.apply_extrinsic(xt.encode()) {
                    Ok(_) => {
                        queue.pop_front();
                        included += 1;
                        progress = true;
                    }
                    Err(e) => {
                        let header = &batch.batch.header;
                        log::debug!(
                            "lane batch {}#{} not included yet: {e:?}",
                            header.area,
                            header.height
                        );
                        if log::log_enabled!(log::Level::Debug) {
                            explain_divergence(builder, batch);
                        }
                        break;
                    }
                }
            }
        }
        if !progress {
            return included;
        }
    }
}

/// Test-only misbehaviour: seals a second block for the same slot on the same parent,
/// made different by an extra pre-runtime digest item, and announces it.
fn double_sign(
    client: &Client,
    key: &sr25519::Pair,
    options: &Options,
    parent: H256,
    slot: u64,
) -> Result<(), String> {
    let extra = vec![arceon_primitives::DigestItem::PreRuntime(
        *b"dbls",
        b"unsafe-double-sign".to_vec(),
    )];
    let built = client
        .build_block_with(&parent, slot, extra, |_| {})
        .map_err(|e| e.to_string())?;
    let (block, imported) = client
        .import_own(built, key, ImportOptions { finalize: false })
        .map_err(|e| e.to_string())?;
    log::warn!(
        "--unsafe-double-sign: sealed a second block #{} {:?} in slot {slot}",
        imported.number,
        imported.hash
    );
    if let Some(network) = &options.network {
        network.announce(&block);
    }
    Ok(())
}

/// Logs which action of a certified batch the block being built would execute
/// differently from its certificate (debug: such a batch cannot enter a block).
fn explain_divergence<S: arceon_state::NodeStore>(
    builder: &mut arceon_runtime::BlockBuilder<'_, S>,
    batch: &arceon_pallet_fastlane::CertifiedBatch,
) {
    let header = &batch.batch.header;
    if let Some((index, got)) = arceon_pallet_fastlane::first_divergence(builder.ext(), batch) {
        let signed = &batch.batch.actions[index];
        log::debug!(
            "lane batch {}#{} (view time {}): action {index} of {} (nonce {}, {:?}) gives {got:?} here, certified {:?}",
            header.area,
            header.height,
            header.time_ms,
            signed.action.player,
            signed.action.nonce,
            signed.action.kind,
            batch.batch.outcomes.get(index)
        );
    }
}
