//! `fastlane_*`: player actions through the area fast lanes.
//!
//! - `fastlane_submitAction(hex)`: the receipt (`confirmed` fields below), or a JSON-RPC
//!   error [`LANE_REJECTED`] whose message names the rule (`Players.TooFast`), or
//!   [`LANE_UNAVAILABLE`] when no lane could take it.
//! - `fastlane_submitAndWatchAction(hex)` (notifications `fastlane_actionUpdate`,
//!   unsubscribe `fastlane_unwatchAction`): `{"confirmed": {area, height, index,
//!   batchHash, signatures: [{member, key, signature, round: {index, size, path}}],
//!   latencyMs, ...}}`, then `{"inBlock": hash}` and
//!   `{"finalized": hash}`; or `{"rejected": {"error": name}}`; or `{"dropped": reason}`
//!   when the batch is not in a block within [`INCLUSION_WINDOW`] blocks.
//! - `fastlane_laneState(area)`: committee, view, chain height and head, pending work.
//! - `fastlane_player(account)`: whether it joined the lanes, its next lane nonce, area,
//!   committee version and position, as the freshest lane batches leave them.
//! - `fastlane_subscribeArea(area, {x, y, radius}?)` (notifications `fastlane_areaUpdate`,
//!   unsubscribe `fastlane_unsubscribeArea`): every certified action of the area, or with
//!   a point only those whose player stands within `radius` of it, in any area (so a
//!   client near a border sees its neighbours).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arceon_client::{ChainEvent, Client};
use arceon_pallet_areas::{AreaId, Position};
use arceon_pallet_fastlane::{
    self as fastlane, ActionKind, CertifiedBatch, Outcome, Receipt, SignedLaneAction,
};
use arceon_primitives::{to_hex, to_ss58, AccountId32, H256};
use arceon_support::Ext;
use arceon_txpool::ChainApi;
use codec::{DecodeAll, Encode};
use futures::future::BoxFuture;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage, SubscriptionSink};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::json::{error, invalid_params, parse_bytes};
use crate::Context;

/// The action was refused by the lane's rules (message: `Pallet.Error`).
pub const LANE_REJECTED: i32 = 1030;
/// No lane could take the action (no committee reachable, overloaded, not running).
pub const LANE_UNAVAILABLE: i32 = 1031;
/// Blocks a watched action's batch has to reach a block before it is reported dropped.
pub const INCLUSION_WINDOW: u32 = 64;
/// The largest interest radius a subscription may ask for (milli-units).
pub const MAX_RADIUS: i64 = 1_000_000;

/// A certified action as the lane answered it.
#[derive(Debug, Clone)]
pub struct LaneConfirmation {
    /// The receipt.
    pub receipt: Receipt,
    /// The committee's signing keys, in member order (to name the signers).
    pub committee: Vec<[u8; 32]>,
}

/// Why a submission got no receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneSubmitError {
    /// The rules refused it: `Pallet.Error`.
    Rejected(String),
    /// No lane could take it.
    Unavailable(String),
}

/// What RPC needs from the node's fast lanes.
pub trait FastLaneApi: Send + Sync {
    /// Submits an action (forwarded to the area's primary when this node is not it).
    fn submit(
        &self,
        action: SignedLaneAction,
    ) -> BoxFuture<'static, Result<LaneConfirmation, LaneSubmitError>>;
    /// `fastlane_laneState`.
    fn lane_state(&self, area: AreaId) -> Result<Value, String>;
    /// Certified batches as this node learns them.
    fn subscribe_batches(&self) -> tokio::sync::broadcast::Receiver<Arc<CertifiedBatch>>;
    /// `fastlane_player`: the player as the freshest lane batches leave it (`null` when
    /// not registered).
    fn player(&self, who: &AccountId32) -> Result<Value, String>;
}

fn outcome_json(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Moved { area, position } => {
            json!({"moved": {"area": area, "x": position.x, "y": position.y}})
        }
        Outcome::Crossed { from, to, position } => {
            json!({"crossed": {"from": from, "to": to, "x": position.x, "y": position.y}})
        }
        Outcome::Gathered { resource, amount } => {
            json!({"gathered": {"resource": resource, "amount": amount}})
        }
        Outcome::Crafted {
            recipe,
            output,
            amount,
        } => json!({"crafted": {"recipe": recipe, "output": output, "amount": amount}}),
        Outcome::Placed { kind, position } => {
            json!({"placed": {"kind": kind, "x": position.x, "y": position.y}})
        }
        Outcome::Upgraded {
            kind,
            position,
            level,
        } => json!({"upgraded": {"kind": kind, "x": position.x, "y": position.y, "level": level}}),
        Outcome::Demolished { kind, position } => {
            json!({"demolished": {"kind": kind, "x": position.x, "y": position.y}})
        }
    }
}

fn kind_json(kind: &ActionKind) -> Value {
    match kind {
        ActionKind::Move { x, y } => json!({"move": {"x": x, "y": y}}),
        ActionKind::Gather { resource } => json!({"gather": {"resource": resource}}),
        ActionKind::Craft { recipe } => json!({"craft": {"recipe": recipe}}),
        ActionKind::Place { kind, x, y } => json!({"place": {"kind": kind, "x": x, "y": y}}),
        ActionKind::Upgrade { x, y } => json!({"upgrade": {"x": x, "y": y}}),
        ActionKind::Demolish { x, y } => json!({"demolish": {"x": x, "y": y}}),
    }
}

/// The `confirmed` object of a receipt.
pub fn confirmation_json(confirmation: &LaneConfirmation, latency_ms: f64) -> Value {
    let receipt = &confirmation.receipt;
    let header = &receipt.header;
    let signatures: Vec<Value> = receipt
        .certificate
        .signatures
        .iter()
        .map(|(member, signature)| {
            let key = confirmation
                .committee
                .get(usize::from(*member))
                .map(|key| to_hex(key));
            let path: Vec<String> = signature
                .path
                .iter()
                .map(|node| format!("{node:?}"))
                .collect();
            json!({
                "member": member,
                "key": key,
                "signature": to_hex(&signature.signature),
                "round": {"index": signature.index, "size": signature.count, "path": path},
            })
        })
        .collect();
    json!({
        "area": header.area,
        "version": header.version,
        "view": header.view,
        "height": header.height,
        "index": receipt.index,
        "batchHash": format!("{:?}", header.hash()),
        "timeMs": header.time_ms,
        "actionHash": format!("{:?}", receipt.action_hash),
        "outcome": outcome_json(&receipt.outcome),
        "signatures": signatures,
        "latencyMs": latency_ms,
        "receipt": to_hex(&receipt.encode()),
    })
}

fn submit_error(error: LaneSubmitError) -> ErrorObjectOwned {
    match error {
        LaneSubmitError::Rejected(name) => {
            let data = json!({ "error": name }).to_string();
            crate::json::error(LANE_REJECTED, name, Some(data))
        }
        LaneSubmitError::Unavailable(reason) => crate::json::error(LANE_UNAVAILABLE, reason, None),
    }
}

fn lanes<A: ChainApi>(ctx: &Context<A>) -> Result<Arc<dyn FastLaneApi>, ErrorObjectOwned> {
    ctx.deps
        .fastlane
        .clone()
        .ok_or_else(|| error(LANE_UNAVAILABLE, "fast lanes are not running", None))
}

fn parse_action(text: &str) -> Result<SignedLaneAction, ErrorObjectOwned> {
    let bytes = parse_bytes(text)?;
    SignedLaneAction::decode_all(&mut &bytes[..])
        .map_err(|_| invalid_params("not a SCALE-encoded signed lane action"))
}

async fn send(sink: &SubscriptionSink, value: &Value) -> bool {
    match serde_json::value::to_raw_value(value) {
        Ok(raw) => sink.send(SubscriptionMessage::from(raw)).await.is_ok(),
        Err(_) => false,
    }
}

/// The lane head of `area` in the state of block `at`.
fn lane_height(client: &Client, at: &H256, area: AreaId) -> Option<u64> {
    let state = client.state_at(at).ok()?;
    let mut ext = Ext::new(&state);
    Some(fastlane::lane_head(&mut ext, area).height)
}

async fn watch_action<A: ChainApi>(
    params: jsonrpsee::types::Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let text: String = match params.one() {
        Ok(text) => text,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let (action, lanes) = match parse_action(&text).and_then(|a| Ok((a, lanes(&ctx)?))) {
        Ok(found) => found,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let mut events = ctx.deps.client.subscribe();
    let started = Instant::now();
    let result = lanes.submit(action).await;
    let sink = pending.accept().await?;
    let confirmation = match result {
        Ok(confirmation) => confirmation,
        Err(LaneSubmitError::Rejected(name)) | Err(LaneSubmitError::Unavailable(name)) => {
            send(&sink, &json!({"rejected": {"error": name}})).await;
            return Ok(());
        }
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1_000.0;
    if !send(
        &sink,
        &json!({"confirmed": confirmation_json(&confirmation, latency_ms)}),
    )
    .await
    {
        return Ok(());
    }
    let area = confirmation.receipt.header.area;
    let height = confirmation.receipt.header.height;
    let client = ctx.deps.client.clone();
    let start_number = client.best().0;
    let mut in_block: Option<H256> = None;
    // The batch may already be in the best or finalized block.
    let best = client.best().1;
    if lane_height(&client, &best, area).is_some_and(|h| h >= height) {
        in_block = Some(best);
        if !send(&sink, &json!({"inBlock": format!("{best:?}")})).await {
            return Ok(());
        }
    }
    let finalized = client.finalized().1;
    if lane_height(&client, &finalized, area).is_some_and(|h| h >= height) {
        send(&sink, &json!({"finalized": format!("{finalized:?}")})).await;
        return Ok(());
    }
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            event = events.recv() => match event {
                Ok(ChainEvent::Imported { header, hash, is_new_best: true }) => {
                    if in_block.is_none() && lane_height(&client, &hash, area).is_some_and(|h| h >= height) {
                        in_block = Some(hash);
                        if !send(&sink, &json!({"inBlock": format!("{hash:?}")})).await {
                            return Ok(());
                        }
                    }
                    if in_block.is_none() && header.number > start_number + INCLUSION_WINDOW {
                        send(&sink, &json!({"dropped": "not in a block within the inclusion window"})).await;
                        return Ok(());
                    }
                }
                Ok(ChainEvent::Finalized { hash, .. }) => {
                    if lane_height(&client, &hash, area).is_some_and(|h| h >= height) {
                        if in_block.is_none() {
                            send(&sink, &json!({"inBlock": format!("{hash:?}")})).await;
                        }
                        send(&sink, &json!({"finalized": format!("{hash:?}")})).await;
                        return Ok(());
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// What an area subscription asked for.
#[derive(Debug, Clone, Copy)]
struct Interest {
    area: AreaId,
    point: Option<(Position, i64)>,
}

impl Interest {
    fn parse(params: &jsonrpsee::types::Params<'static>) -> Result<Interest, ErrorObjectOwned> {
        let mut seq = params.sequence();
        let area: AreaId = seq.next()?;
        let filter: Option<Value> = seq.optional_next()?;
        let point = match filter {
            None | Some(Value::Null) => None,
            Some(value) => {
                let field = |name: &str| {
                    value.get(name).and_then(Value::as_i64).ok_or_else(|| {
                        invalid_params(format!("the filter needs an integer '{name}'"))
                    })
                };
                let (x, y, radius) = (field("x")?, field("y")?, field("radius")?);
                if !(0..=MAX_RADIUS).contains(&radius) {
                    return Err(invalid_params(format!(
                        "radius must be between 0 and {MAX_RADIUS}"
                    )));
                }
                Some((Position::new(x, y), radius))
            }
        };
        Ok(Interest { area, point })
    }
}

/// Side of the grid cells radius subscriptions are indexed by (milli-units).
const CELL: i64 = 50_000;
/// Updates buffered for one slow subscriber; beyond that its updates are dropped.
const SUBSCRIBER_QUEUE: usize = 1_024;
/// The most player positions the hub remembers (to place gathers and crafts).
const MAX_TRACKED: usize = 200_000;

/// Routes certified batches to area subscriptions: one task reads every batch and wakes
/// only the subscriptions an action concerns (by area, or by grid cell for those with a
/// radius), instead of every subscription reading every batch.
pub(crate) struct Hub {
    state: parking_lot::Mutex<HubState>,
}

#[derive(Default)]
struct HubState {
    next: u64,
    subscribers: HashMap<u64, (Interest, tokio::sync::mpsc::Sender<Value>)>,
    by_area: HashMap<AreaId, Vec<u64>>,
    by_cell: HashMap<(i64, i64), Vec<u64>>,
    positions: HashMap<AccountId32, Position>,
}

fn cell_of(position: &Position) -> (i64, i64) {
    (position.x.div_euclid(CELL), position.y.div_euclid(CELL))
}

impl Hub {
    /// Starts the hub's routing task.
    fn start(lanes: &Arc<dyn FastLaneApi>) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            state: parking_lot::Mutex::new(HubState::default()),
        });
        let mut batches = lanes.subscribe_batches();
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            loop {
                let certified = match batches.recv().await {
                    Ok(certified) => certified,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                let Some(hub) = weak.upgrade() else { return };
                hub.route(&certified);
            }
        });
        hub
    }

    fn subscribe(&self, interest: Interest) -> (u64, tokio::sync::mpsc::Receiver<Value>) {
        let (tx, rx) = tokio::sync::mpsc::channel(SUBSCRIBER_QUEUE);
        let mut state = self.state.lock();
        let id = state.next;
        state.next += 1;
        match interest.point {
            None => state.by_area.entry(interest.area).or_default().push(id),
            Some((point, radius)) => {
                let (low_x, low_y) = cell_of(&Position::new(point.x - radius, point.y - radius));
                let (high_x, high_y) = cell_of(&Position::new(point.x + radius, point.y + radius));
                for cx in low_x..=high_x {
                    for cy in low_y..=high_y {
                        state.by_cell.entry((cx, cy)).or_default().push(id);
                    }
                }
            }
        }
        state.subscribers.insert(id, (interest, tx));
        (id, rx)
    }

    fn unsubscribe(&self, id: u64) {
        let mut state = self.state.lock();
        state.subscribers.remove(&id);
        for ids in state.by_area.values_mut() {
            ids.retain(|other| *other != id);
        }
        for ids in state.by_cell.values_mut() {
            ids.retain(|other| *other != id);
        }
        state.by_area.retain(|_, ids| !ids.is_empty());
        state.by_cell.retain(|_, ids| !ids.is_empty());
    }

    /// Sends each interested subscription the actions of `certified` it asked for.
    fn route(&self, certified: &CertifiedBatch) {
        let batch = &certified.batch;
        let header = &batch.header;
        let mut state = self.state.lock();
        let mut updates: HashMap<u64, Vec<Value>> = HashMap::new();
        for (index, (signed, outcome)) in batch.actions.iter().zip(&batch.outcomes).enumerate() {
            let player = &signed.action.player;
            let position = match outcome {
                Outcome::Moved { position, .. } | Outcome::Crossed { position, .. } => {
                    if state.positions.len() < MAX_TRACKED || state.positions.contains_key(player) {
                        state.positions.insert(player.clone(), *position);
                    }
                    Some(*position)
                }
                // A structure action is seen where the structure stands.
                _ => outcome
                    .position()
                    .or_else(|| state.positions.get(player).copied()),
            };
            let mut wanted: Vec<u64> = state.by_area.get(&header.area).cloned().unwrap_or_default();
            if let Some(position) = position {
                for id in state.by_cell.get(&cell_of(&position)).into_iter().flatten() {
                    let near = state
                        .subscribers
                        .get(id)
                        .and_then(|(interest, _)| interest.point)
                        .is_some_and(|(point, radius)| {
                            let r = u128::from(radius.unsigned_abs());
                            position.distance_squared(&point) <= r * r
                        });
                    if near {
                        wanted.push(*id);
                    }
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let item = json!({
                "index": index,
                "player": to_ss58(player),
                "nonce": signed.action.nonce,
                "action": kind_json(&signed.action.kind),
                "outcome": outcome_json(outcome),
            });
            for id in wanted {
                let items = updates.entry(id).or_default();
                if !items.contains(&item) {
                    items.push(item.clone());
                }
            }
        }
        let hash = format!("{:?}", header.hash());
        for (id, actions) in updates {
            let Some((_, tx)) = state.subscribers.get(&id) else {
                continue;
            };
            let update = json!({
                "area": header.area,
                "height": header.height,
                "batchHash": hash,
                "timeMs": header.time_ms,
                "actions": actions,
            });
            // A subscriber that does not keep up misses updates rather than holding
            // memory for them.
            let _ = tx.try_send(update);
        }
    }
}

async fn subscribe_area<A: ChainApi>(
    params: jsonrpsee::types::Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let interest = match Interest::parse(&params) {
        Ok(interest) => interest,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let lanes = match lanes(&ctx) {
        Ok(lanes) => lanes,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let hub = ctx.lane_hub.get_or_init(|| Hub::start(&lanes)).clone();
    let sink = pending.accept().await?;
    let (id, mut updates) = hub.subscribe(interest);
    loop {
        tokio::select! {
            _ = sink.closed() => break,
            update = updates.recv() => match update {
                Some(update) => {
                    if !send(&sink, &update).await {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    hub.unsubscribe(id);
    Ok(())
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_async_method("fastlane_submitAction", |params, ctx, _| async move {
        ctx.count("fastlane_submitAction");
        let text: String = params.one()?;
        let action = parse_action(&text)?;
        let lanes = lanes(&ctx)?;
        let started = Instant::now();
        let confirmation = lanes.submit(action).await.map_err(submit_error)?;
        let latency_ms = started.elapsed().as_secs_f64() * 1_000.0;
        Ok::<Value, ErrorObjectOwned>(confirmation_json(&confirmation, latency_ms))
    })?;
    module.register_blocking_method("fastlane_player", |params, ctx, _| {
        ctx.count("fastlane_player");
        let text: String = params.one()?;
        let who = arceon_primitives::parse_account(&text)
            .map_err(|e| invalid_params(format!("'{text}': {e}")))?;
        lanes(&ctx)?
            .player(&who)
            .map_err(|e| error(LANE_UNAVAILABLE, e, None))
    })?;
    module.register_blocking_method("fastlane_laneState", |params, ctx, _| {
        ctx.count("fastlane_laneState");
        let area: AreaId = params.one()?;
        lanes(&ctx)?
            .lane_state(area)
            .map_err(|e| error(LANE_UNAVAILABLE, e, None))
    })?;
    module.register_subscription(
        "fastlane_submitAndWatchAction",
        "fastlane_actionUpdate",
        "fastlane_unwatchAction",
        |params, pending, ctx, _| async move {
            ctx.count("fastlane_submitAndWatchAction");
            watch_action(params, pending, ctx).await
        },
    )?;
    module.register_subscription(
        "fastlane_subscribeArea",
        "fastlane_areaUpdate",
        "fastlane_unsubscribeArea",
        |params, pending, ctx, _| async move {
            ctx.count("fastlane_subscribeArea");
            subscribe_area(params, pending, ctx).await
        },
    )?;
    Ok(())
}
