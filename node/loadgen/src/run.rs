//! `arceon-loadgen run`: plays the spec's players against running nodes.
//!
//! Each rate of the sweep is an open-loop Poisson process: arrival times are drawn
//! first, and at each one a random player that is free (nothing in flight, its last
//! send and its last batch's lane time at least `--min-interval-ms` ago) acts. The
//! latency of an action is counted from its arrival time, so a generator or node that
//! falls behind shows up in the figures instead of slowing the offered load down.
//!
//! Players are *wanderers* (small moves inside their area, some gathers and crafts) or
//! *walkers* (standing next to a border at the start: every action crosses it, the next
//! one submitted to the lane the player just entered). A player learns its nonce, area
//! and position from its receipts; after a failure it asks the node (`fastlane_player`).
//!
//! After each rate: wait until the chain's lane heads cover every receipt, wait for
//! finality, read the finalized blocks' certified batches and count the receipted
//! actions that are not there with the receipted batch hash, action and outcome
//! (`lost`), then compare every player's on-chain nonce and position with what its
//! receipts said.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use arceon_pallet_areas::{AreaId, Bounds, Coord, Position, UNIT};
use arceon_pallet_fastlane::{
    ActionKind, CertifiedBatch, LaneAction, Outcome, Receipt, SignedLaneAction,
};
use arceon_primitives::{sr25519, to_hex, to_ss58, AccountId32, H256};
use clap::{Args, ValueEnum};
use codec::{DecodeAll, Encode};
use futures::StreamExt;
use jsonrpsee::core::client::{Error as RpcError, SubscriptionClientT};
use parking_lot::{Mutex, RwLock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::chain::{self, AreaInfo, Rpc};
use crate::keys;
use crate::spec::{PLANK_RECIPE, PLANK_WOOD, WALKER_BAND, WOOD};
use crate::stats::{self, RateStats};

mod faults;
mod handover;
mod reshape;

/// JSON-RPC error code of a lane rejection (`Players.TooFast` ...).
const LANE_REJECTED: i32 = 1030;
/// Shortest and longest wanderer step (milli-units): under the 0.5 units a player may
/// walk in the lanes' 50 ms minimum interval.
const STEP: (Coord, Coord) = (100, 400);
/// How far inside its area a wanderer stays, so that it never crosses by accident.
const INSET: Coord = UNIT;
/// Random players tried per arrival before it counts as skipped.
const PICK_TRIES: usize = 32;
/// Sends of one action while its node dies under it (each to a node that is up).
const RESEND_ATTEMPTS: u32 = 4;
/// Rejections after which the player re-reads its state from the node.
const RESYNC_ON: [&str; 6] = [
    "FastLane.NoCommittee",
    "FastLane.StaleNonce",
    "FastLane.FutureNonce",
    "FastLane.NotInArea",
    "FastLane.WrongArea",
    "FastLane.WrongVersion",
];

/// Which connection a player's actions go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Route {
    /// The player's own connection, to whichever node it is (most forward to the primary).
    Any,
    /// A connection to the node that is the primary of the player's area.
    Primary,
}

/// Options of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// WebSocket RPC endpoints of the nodes (`ws://127.0.0.1:9971,...`); connections are
    /// spread over them.
    #[arg(long, value_delimiter = ',', required = true)]
    pub rpc: Vec<String>,
    /// Players `//player/0..N` (as in the spec).
    #[arg(long, default_value_t = 10_000)]
    pub players: u32,
    /// WebSocket connections.
    #[arg(long, default_value_t = 1_000)]
    pub connections: usize,
    /// Connections that also hold an area subscription with an interest radius.
    #[arg(long, default_value_t = 1_000)]
    pub subscribers: usize,
    /// Interest radius of the subscriptions (milli-units).
    #[arg(long, default_value_t = 10_000)]
    pub radius: i64,
    /// Offered rates (actions per second), in order.
    #[arg(long, value_delimiter = ',', default_values_t = vec![250.0, 500.0, 1000.0, 2000.0, 3000.0])]
    pub rates: Vec<f64>,
    /// Seconds of load per rate.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Most seconds to wait after a rate for its batches to be in finalized blocks.
    #[arg(long, default_value_t = 90)]
    pub settle: u64,
    /// Least time between two actions of one player (ms; the lanes allow one per 50 ms).
    #[arg(long, default_value_t = 60)]
    pub min_interval_ms: u64,
    /// Percentage of wanderer actions that gather wood.
    #[arg(long, default_value_t = 3.0)]
    pub gather_pct: f64,
    /// Percentage of wanderer actions that craft a plank (when the player has the wood).
    #[arg(long, default_value_t = 1.0)]
    pub craft_pct: f64,
    /// How long one submission may take before it counts as failed (ms).
    #[arg(long, default_value_t = 5_000)]
    pub timeout_ms: u64,
    /// Receipt p99 a rate must stay under to count for the ceiling (ms).
    #[arg(long, default_value_t = 25.0)]
    pub target_p99_ms: f64,
    /// Which connection an action goes through.
    #[arg(long, value_enum, default_value_t = Route::Any)]
    pub route: Route,
    /// Worker threads of the generator.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Seed of the arrivals and of the players' choices.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Kill the primary of a busy area every this many seconds (SIGKILL, then a
    /// restart), `--kills` times, under the load of the one rate given; prints
    /// `RESULT kills= lost= failover_p50_ms= failover_p99_ms=
    /// receipt_p99_during_failover_ms=`. The run lasts (kills + 1) x SECONDS.
    #[arg(long)]
    pub kill_primary_every: Option<f64>,
    /// How many kills (`--kill-primary-every`).
    #[arg(long, default_value_t = 100)]
    pub kills: usize,
    /// The program that kills and restarts node i (1-based): `<control> crash i` and
    /// `<control> restart i`.
    #[arg(long, default_value = "scripts/testnet.sh")]
    pub control: String,
    /// How long a killed node stays down (ms).
    #[arg(long, default_value_t = 1_000)]
    pub restart_after_ms: u64,
    /// Cut the network in two (`<control> partition A B`) for this many seconds under
    /// the load of the one rate given, `--partition-around` seconds after it starts,
    /// then heal it (`<control> heal`) and go on as long again; prints `RESULT
    /// partition_s= receipts_during= unavailable_during= timeouts_during=
    /// other_failures_during= receipt_p99_after_heal_ms= lost=`.
    #[arg(long, conflicts_with = "kill_primary_every")]
    pub partition_for: Option<f64>,
    /// Seconds of load before the partition and after the heal.
    #[arg(long, default_value_t = 10.0)]
    pub partition_around: f64,
    /// The partition's sides, as 1-based node lists: `A|B`.
    #[arg(long, default_value = "1,2|3,4")]
    pub sides: String,
    /// This many seconds into the load of the one rate given, have `--chill-node`'s
    /// validator stop validating (`<control> chill i`): the committees of its areas
    /// change; the load goes on 30 s more. Prints `RESULT handover areas_changed=
    /// receipts_during= receipt_p99_during_ms= receipt_max_during_ms=
    /// longest_area_gap_ms= wrong_version= unavailable= timeouts= other_failures=
    /// lost=`.
    #[arg(long, conflicts_with_all = ["kill_primary_every", "partition_for"])]
    pub chill_at: Option<f64>,
    /// The node (1-based) whose validator `--chill-at` chills.
    #[arg(long, default_value_t = 4)]
    pub chill_node: usize,
    /// This many seconds into the load of the one rate given, have root split the
    /// busiest area (`<control> split A`), and merge it back 10 s after the split is
    /// made (`<control> merge A`); the load goes on 10 s more. Prints `RESULT reshape
    /// area= children= split_made_after_ms= merge_made_after_ms= receipts_during=
    /// receipt_p99_during_ms= receipt_max_during_ms= longest_region_gap_ms= unavailable=
    /// other_failures= lost=`.
    #[arg(long, conflicts_with_all = ["kill_primary_every", "partition_for", "chill_at"])]
    pub reshape_at: Option<f64>,
}

/// When a fault given as `flag SECONDS` strikes: a number of seconds into the load of
/// the one rate given.
fn fault_at(seconds: f64, flag: &str, args: &RunArgs) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        seconds.is_finite() && seconds >= 0.0,
        "{flag} must be a number of seconds"
    );
    anyhow::ensure!(
        args.rates.len() == 1,
        "{flag} runs under one rate: give one --rates value"
    );
    Ok(Duration::from_secs_f64(seconds))
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// How a player plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Small moves inside its area, some gathers and crafts.
    Wanderer,
    /// Crosses the border at `border` (a vertical line `x = border` when `vertical`)
    /// back and forth.
    Walker { vertical: bool, border: Coord },
}

/// What the generator believes about a player.
#[derive(Debug, Clone)]
struct PlayerState {
    nonce: u64,
    area: AreaId,
    position: Position,
    wood: u32,
    /// An action or a state read is in flight.
    busy: bool,
    /// The state is unknown until read from the node again.
    stale: bool,
    /// Unix ms before which it must not send.
    ready_at_ms: u64,
    /// Not joined or never readable: never plays.
    retired: bool,
    /// A submission got no answer, or a state read replaced what the receipts said:
    /// an action may have been executed without a receipt, so the on-chain
    /// comparison skips the player from then on.
    uncertain: bool,
}

/// A receipted action, to find in the chain later.
#[derive(Debug, Clone)]
struct ReceiptRecord {
    area: AreaId,
    height: u64,
    index: u32,
    batch: H256,
    /// The view of the receipted batch and who signed it (for the report of a receipt
    /// the chain contradicts).
    view: u32,
    signers: Vec<u8>,
    action: H256,
    outcome: Outcome,
}

/// An action about to be sent.
struct Plan {
    player: usize,
    action: LaneAction,
    crossing: bool,
    connection: usize,
}

/// Deliveries to subscribers, matched with receipts by (batch hash, index).
enum Fan {
    Receipted {
        at: Instant,
        rate: usize,
    },
    /// Delivered before its submitter had the receipt (counted as 0 ms once it does).
    Early(u32),
}

/// Receipts waiting for a best block that holds their batch.
#[derive(Default)]
struct Inclusion {
    /// Lane heights in the latest best block seen.
    heights: HashMap<AreaId, u64>,
    /// That block's number.
    best: u32,
    /// (area, height, arrival, rate).
    pending: Vec<(AreaId, u64, Instant, usize)>,
}

struct Bench {
    args: RunArgs,
    genesis: H256,
    pairs: Vec<sr25519::Pair>,
    accounts: Vec<AccountId32>,
    roles: Vec<Role>,
    players: Vec<Mutex<PlayerState>>,
    /// Connection `c` goes to node `c % nodes`; replaced when its node restarts.
    connections: Vec<RwLock<Arc<Rpc>>>,
    /// Nodes the fault driver has taken down (their connections are not used).
    down: Vec<AtomicBool>,
    /// Actions sent per area (the fault driver kills the primaries of the busiest).
    sent_by_area: Mutex<HashMap<AreaId, u64>>,
    /// Primary kills and what followed them (`--kill-primary-every`).
    failovers: Mutex<Vec<faults::Failover>>,
    /// The area subscriptions: (connection, area, point), made again after a restart.
    watches: Mutex<Vec<(usize, AreaId, Position)>>,
    /// What players saw of a partition (`--partition-for`).
    partition: Mutex<faults::PartitionFigures>,
    /// What players of changed areas saw of a committee handover (`--chill-at`).
    handover: Mutex<handover::HandoverLog>,
    /// What players of the reshaped region saw (`--reshape-at`).
    reshape: Mutex<reshape::ReshapeLog>,
    areas: RwLock<BTreeMap<AreaId, AreaInfo>>,
    /// Node index of each area's primary.
    primaries: RwLock<HashMap<AreaId, usize>>,
    rates: Vec<Mutex<RateStats>>,
    records: Vec<Mutex<Vec<ReceiptRecord>>>,
    fanout: Mutex<HashMap<(H256, u32), Fan>>,
    deliveries: AtomicU64,
    inclusion: Mutex<Inclusion>,
    in_flight: AtomicUsize,
    refreshing_areas: AtomicBool,
}

impl Bench {
    fn nodes(&self) -> usize {
        self.args.rpc.len().max(1)
    }

    /// Connection `c`, or while its node is down the same-numbered connection of the
    /// next node that is up.
    fn rpc(&self, c: usize) -> Arc<Rpc> {
        let count = self.connections.len();
        let nodes = self.nodes();
        for step in 0..nodes {
            let candidate = (c + step) % count;
            if !self.down[candidate % nodes].load(Ordering::SeqCst) {
                return self.connections[candidate].read().clone();
            }
        }
        self.connections[c % count].read().clone()
    }

    /// The connection player `player` sends an action for `area` through.
    fn connection_for(&self, player: usize, area: AreaId) -> usize {
        let count = self.connections.len();
        let own = player % count;
        if self.args.route == Route::Any {
            return own;
        }
        let nodes = self.nodes();
        let Some(node) = self.primaries.read().get(&area).copied() else {
            return own;
        };
        // Connection c goes to node c % nodes.
        let per_node = count / nodes;
        if per_node == 0 {
            return own;
        }
        let candidate = (player % per_node) * nodes + node;
        if candidate < count {
            candidate
        } else {
            own
        }
    }

    /// Picks a free player and what it does, and marks it busy.
    fn pick(&self, rng: &mut StdRng) -> Option<Plan> {
        let now_ms = unix_ms();
        for _ in 0..PICK_TRIES {
            let index = rng.gen_range(0..self.players.len());
            let mut player = self.players[index].lock();
            if player.busy || player.stale || player.retired || now_ms < player.ready_at_ms {
                continue;
            }
            let Some(area) = self.areas.read().get(&player.area).cloned() else {
                continue;
            };
            let role = self.roles[index];
            let (kind, crossing) = self.choose(role, &player, &area.bounds, rng);
            let action = LaneAction {
                genesis: self.genesis,
                area: player.area,
                version: area.version,
                player: self.accounts[index].clone(),
                nonce: player.nonce,
                kind,
            };
            player.busy = true;
            let connection = self.connection_for(index, player.area);
            return Some(Plan {
                player: index,
                action,
                crossing,
                connection,
            });
        }
        None
    }

    fn choose(
        &self,
        role: Role,
        player: &PlayerState,
        bounds: &Bounds,
        rng: &mut StdRng,
    ) -> (ActionKind, bool) {
        let Position { x, y } = player.position;
        if let Role::Walker { vertical, border } = role {
            let (x, y) = if vertical {
                (2 * border - x, y)
            } else {
                (x, 2 * border - y)
            };
            return (ActionKind::Move { x, y }, true);
        }
        let roll = rng.gen_range(0.0..100.0);
        if roll < self.args.gather_pct {
            return (ActionKind::Gather { resource: WOOD }, false);
        }
        if roll < self.args.gather_pct + self.args.craft_pct && player.wood >= PLANK_WOOD {
            return (
                ActionKind::Craft {
                    recipe: PLANK_RECIPE,
                },
                false,
            );
        }
        let angle = rng.gen_range(0.0..std::f64::consts::TAU);
        let step = rng.gen_range(STEP.0..=STEP.1) as f64;
        let clamp = |value: f64, min: Coord, max: Coord| {
            (value.round() as Coord).clamp(min + INSET, max - INSET - 1)
        };
        let target_x = clamp(x as f64 + step * angle.cos(), bounds.min_x, bounds.max_x);
        let target_y = clamp(y as f64 + step * angle.sin(), bounds.min_y, bounds.max_y);
        (
            ActionKind::Move {
                x: target_x,
                y: target_y,
            },
            false,
        )
    }

    /// Sends one action and books its answer.
    async fn act(self: Arc<Self>, plan: Plan, arrival: Instant, rate: usize) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let signed = SignedLaneAction::sign(plan.action.clone(), &self.pairs[plan.player]);
        let hash = signed.hash();
        let hex = to_hex(&signed.encode());
        let sent_ms = unix_ms();
        self.rates[rate].lock().sent += 1;
        *self
            .sent_by_area
            .lock()
            .entry(plan.action.area)
            .or_default() += 1;
        // A node that dies with the submission in flight: the same signed action goes
        // to a node that is up (a lane answers a re-sent action with its receipt).
        let mut answer: Result<Value, RpcError>;
        let mut attempt = 0;
        loop {
            let rpc = self.rpc(plan.connection);
            answer = chain::call(
                &rpc,
                "fastlane_submitAction",
                vec![Value::from(hex.clone())],
            )
            .await;
            let transport = matches!(
                answer,
                Err(RpcError::Transport(_) | RpcError::RestartNeeded(_))
            );
            attempt += 1;
            if !transport
                || attempt >= RESEND_ATTEMPTS
                || arrival.elapsed() >= Duration::from_millis(self.args.timeout_ms)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let now = Instant::now();
        let latency = millis(now.saturating_duration_since(arrival));
        let answered = match &answer {
            Ok(_) => faults::Answer::Receipt,
            Err(RpcError::RequestTimeout) => faults::Answer::Timeout,
            Err(RpcError::Call(object)) => faults::Answer::Failed(object.message()),
            Err(_) => faults::Answer::Failed("transport"),
        };
        self.note_handover(plan.action.area, arrival, latency, &answered);
        self.note_reshape(plan.action.area, arrival, latency, &answered);
        self.note_partition(arrival, latency, answered);
        match answer {
            Ok(value) => self.on_receipt(&plan, hash, &value, latency, sent_ms, arrival, rate),
            Err(RpcError::Call(object)) if object.code() == LANE_REJECTED => {
                let name = object.message().to_string();
                RateStats::count(&mut self.rates[rate].lock().rejected, &name);
                if RESYNC_ON.contains(&name.as_str()) {
                    if name == "FastLane.WrongVersion" || name == "FastLane.NoCommittee" {
                        self.clone().refresh_areas();
                    }
                    self.clone().resync(plan.player);
                } else {
                    let mut player = self.players[plan.player].lock();
                    player.busy = false;
                    player.ready_at_ms = unix_ms() + self.args.min_interval_ms;
                }
            }
            Err(error) => {
                let kind = match &error {
                    RpcError::Call(object) => {
                        // "the primary of area 3 (0x...) is not connected": one count
                        // for every area and key.
                        let message: String = object
                            .message()
                            .split(" (")
                            .next()
                            .unwrap_or_default()
                            .chars()
                            .take(48)
                            .collect();
                        let message = match message.strip_prefix("the primary of area ") {
                            Some(_) => "the primary of area N".to_string(),
                            None => message,
                        };
                        format!("{}[{message}]", object.code())
                    }
                    RpcError::RequestTimeout => "timeout".to_string(),
                    RpcError::Transport(_) | RpcError::RestartNeeded(_) => "transport".into(),
                    _ => "other".to_string(),
                };
                RateStats::count(&mut self.rates[rate].lock().failed, &kind);
                // A committee handing its lane over: actions are signed for the new
                // version from now on.
                if matches!(&error, RpcError::Call(object) if object.message().contains("handing over"))
                {
                    self.clone().refresh_areas();
                }
                // The action may still have been sequenced: ask the node.
                self.clone().resync(plan.player);
            }
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_receipt(
        self: &Arc<Self>,
        plan: &Plan,
        hash: H256,
        value: &Value,
        latency: f64,
        sent_ms: u64,
        arrival: Instant,
        rate: usize,
    ) {
        let now = Instant::now();
        let receipt = value
            .get("receipt")
            .and_then(|r| chain::parse_bytes(r).ok())
            .and_then(|bytes| Receipt::decode_all(&mut &bytes[..]).ok());
        let Some(receipt) = receipt.filter(|r| r.action_hash == hash && r.entry_proven()) else {
            self.rates[rate].lock().bad_receipts += 1;
            self.clone().resync(plan.player);
            return;
        };
        let header = &receipt.header;
        let batch = header.hash();
        {
            let mut player = self.players[plan.player].lock();
            player.nonce = plan.action.nonce + 1;
            match receipt.outcome {
                Outcome::Moved { area, position } => {
                    player.area = area;
                    player.position = position;
                }
                Outcome::Crossed { to, position, .. } => {
                    player.area = to;
                    player.position = position;
                }
                Outcome::Gathered { resource, amount } => {
                    if resource == WOOD {
                        player.wood = player.wood.saturating_add(amount);
                    }
                }
                Outcome::Crafted { recipe, .. } => {
                    if recipe == PLANK_RECIPE {
                        player.wood = player.wood.saturating_sub(PLANK_WOOD);
                    }
                }
                // The load generator sends no structure actions.
                Outcome::Placed { .. } | Outcome::Upgraded { .. } | Outcome::Demolished { .. } => {}
            }
            player.ready_at_ms = sent_ms.max(header.time_ms) + self.args.min_interval_ms;
            player.busy = false;
        }
        self.note_failover(header.area, header.view, arrival, latency, now);
        {
            let mut stats = self.rates[rate].lock();
            stats.receipt.push(latency);
            if plan.crossing {
                stats.border.push(latency);
            }
        }
        self.records[rate].lock().push(ReceiptRecord {
            area: header.area,
            height: header.height,
            index: receipt.index,
            batch,
            view: header.view,
            signers: receipt
                .certificate
                .signatures
                .iter()
                .map(|(member, _)| *member)
                .collect(),
            action: hash,
            outcome: receipt.outcome,
        });
        let early = match self
            .fanout
            .lock()
            .insert((batch, receipt.index), Fan::Receipted { at: now, rate })
        {
            Some(Fan::Early(count)) => count,
            _ => 0,
        };
        if early > 0 {
            let mut stats = self.rates[rate].lock();
            for _ in 0..early {
                stats.fanout.push(0.0);
            }
        }
        let included_already = {
            let mut inclusion = self.inclusion.lock();
            let included = inclusion
                .heights
                .get(&header.area)
                .is_some_and(|h| *h >= header.height);
            if !included {
                inclusion
                    .pending
                    .push((header.area, header.height, arrival, rate));
            }
            included
        };
        if included_already {
            self.rates[rate]
                .lock()
                .included
                .push(millis(now.saturating_duration_since(arrival)));
        }
    }

    /// Re-reads a player's nonce, area and position from the node (`fastlane_player`).
    fn resync(self: Arc<Self>, index: usize) {
        {
            let mut player = self.players[index].lock();
            player.stale = true;
            player.uncertain = true;
            player.busy = true;
        }
        tokio::spawn(async move {
            for attempt in 0..20u32 {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                let connection = self.rpc(index % self.connections.len());
                let who = Value::from(to_ss58(&self.accounts[index]));
                let Ok(view) =
                    chain::call::<Value>(&connection, "fastlane_player", vec![who]).await
                else {
                    continue;
                };
                let Some((nonce, area, position)) = lane_view(&view) else {
                    continue;
                };
                // An area split or merged since: the map is read again.
                if !self.areas.read().contains_key(&area) {
                    self.clone().refresh_areas();
                }
                let mut player = self.players[index].lock();
                player.nonce = nonce;
                player.area = area;
                player.position = position;
                player.stale = false;
                player.busy = false;
                player.ready_at_ms = unix_ms() + self.args.min_interval_ms;
                return;
            }
            eprintln!("player {index}: state unreadable after 20 attempts; it stops playing");
            self.players[index].lock().retired = true;
        });
    }

    /// Re-reads the committees' versions (after a `WrongVersion`), once at a time.
    fn refresh_areas(self: Arc<Self>) {
        if self.refreshing_areas.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(async move {
            if let Ok(areas) = chain::areas(&self.rpc(0)).await {
                // Players of an area split or merged away read where they are now.
                let gone: Vec<usize> = self
                    .players
                    .iter()
                    .enumerate()
                    .filter(|(_, player)| {
                        let player = player.lock();
                        !player.busy
                            && !player.stale
                            && !player.retired
                            && !areas.contains_key(&player.area)
                    })
                    .map(|(index, _)| index)
                    .collect();
                *self.areas.write() = areas;
                for index in gone {
                    self.clone().resync(index);
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            self.refreshing_areas.store(false, Ordering::SeqCst);
        });
    }

    /// Books a subscription notification.
    fn on_area_update(&self, update: &Value) {
        let now = Instant::now();
        let Some(batch) = update
            .get("batchHash")
            .and_then(|h| chain::parse_hash(h).ok())
        else {
            return;
        };
        let Some(actions) = update.get("actions").and_then(Value::as_array) else {
            return;
        };
        let mut samples: Vec<(usize, f64)> = Vec::new();
        {
            let mut fanout = self.fanout.lock();
            for action in actions {
                let Some(index) = action.get("index").and_then(Value::as_u64) else {
                    continue;
                };
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                let key = (batch, index as u32);
                match fanout.get_mut(&key) {
                    Some(Fan::Receipted { at, rate }) => {
                        samples.push((*rate, millis(now.saturating_duration_since(*at))))
                    }
                    Some(Fan::Early(count)) => *count += 1,
                    None => {
                        fanout.insert(key, Fan::Early(1));
                    }
                }
            }
        }
        for (rate, ms) in samples {
            self.rates[rate].lock().fanout.push(ms);
        }
    }

    /// Books a new best block's lane heights.
    fn on_best_block(&self, number: u32, heights: HashMap<AreaId, u64>, seen: Instant) {
        let mut done: Vec<(usize, f64)> = Vec::new();
        {
            let mut inclusion = self.inclusion.lock();
            inclusion.best = number;
            inclusion.pending.retain(|(area, height, arrival, rate)| {
                if heights.get(area).is_some_and(|h| h >= height) {
                    done.push((*rate, millis(seen.saturating_duration_since(*arrival))));
                    false
                } else {
                    true
                }
            });
            inclusion.heights = heights;
        }
        for (rate, ms) in done {
            self.rates[rate].lock().included.push(ms);
        }
    }
}

/// A joined player's next lane nonce, area and position, as a node sees them.
type LaneView = (u64, AreaId, Position);

/// The [`LaneView`] in a `fastlane_player` answer (`None` unless joined).
fn lane_view(view: &Value) -> Option<LaneView> {
    if view.get("joined").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let nonce = view.get("nonce")?.as_u64()?;
    let area = view.get("area")?.as_u64()? as AreaId;
    let x = view.get("x")?.as_i64()?;
    let y = view.get("y")?.as_i64()?;
    Some((nonce, area, Position::new(x, y)))
}

/// A walker when the player stands within [`WALKER_BAND`] of an edge with another area
/// right across it.
fn role_of(area: AreaId, position: Position, areas: &BTreeMap<AreaId, AreaInfo>) -> Role {
    let Some(own) = areas.get(&area) else {
        return Role::Wanderer;
    };
    let b = own.bounds;
    let Position { x, y } = position;
    let edges = [
        (true, b.max_x, b.max_x - x),
        (true, b.min_x, x - b.min_x),
        (false, b.max_y, b.max_y - y),
        (false, b.min_y, y - b.min_y),
    ];
    for (vertical, border, distance) in edges {
        if !(1..=WALKER_BAND).contains(&distance) {
            continue;
        }
        let across = if vertical {
            Position::new(2 * border - x, y)
        } else {
            Position::new(x, 2 * border - y)
        };
        let other = areas
            .iter()
            .any(|(id, info)| *id != area && info.bounds.contains(&across));
        if other {
            return Role::Walker { vertical, border };
        }
    }
    Role::Wanderer
}

/// Connects `count` connections, connection `c` to `urls[c % urls.len()]`.
pub(crate) async fn connect_all(
    urls: &[String],
    count: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Rpc>> {
    let results: Vec<(usize, anyhow::Result<Rpc>)> = futures::stream::iter((0..count).map(|c| {
        let url = urls[c % urls.len()].clone();
        async move { (c, chain::connect(&url, timeout).await) }
    }))
    .buffer_unordered(64)
    .collect()
    .await;
    let mut sorted: Vec<Option<Rpc>> = (0..count).map(|_| None).collect();
    for (c, result) in results {
        sorted[c] = Some(result.with_context(|| format!("connection {c}"))?);
    }
    sorted
        .into_iter()
        .map(|c| c.context("a connection is missing"))
        .collect()
}

/// Which node is each area's primary (`role` in `fastlane_laneState` on each node).
async fn find_primaries(
    connections: &[Rpc],
    nodes: usize,
    areas: &[AreaId],
) -> HashMap<AreaId, usize> {
    let mut primaries = HashMap::new();
    for (node, connection) in connections.iter().enumerate().take(nodes) {
        for area in areas {
            let state: Result<Value, _> =
                chain::call(connection, "fastlane_laneState", vec![json!(area)]).await;
            if let Ok(state) = state {
                if state.get("role").and_then(Value::as_str) == Some("primary") {
                    primaries.insert(*area, node);
                }
            }
        }
    }
    primaries
}

/// Follows new best blocks and their lane heads, through a node that is up (again on
/// another one when its node goes down).
async fn watch_heads(bench: Arc<Bench>) {
    let areas: Vec<AreaId> = bench.areas.read().keys().copied().collect();
    let mut node = 0;
    loop {
        while bench.down[node].load(Ordering::SeqCst) {
            node = (node + 1) % bench.nodes();
        }
        let url = &bench.args.rpc[node];
        let subscription = match chain::connect(url, Duration::from_secs(10)).await {
            Ok(rpc) => rpc
                .subscribe::<Value, _>(
                    "chain_subscribeNewHeads",
                    chain::params(vec![]),
                    "chain_unsubscribeNewHeads",
                )
                .await
                .map(|subscription| (rpc, subscription))
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        let (rpc, mut subscription) = match subscription {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("cannot follow new heads through {url}: {e:#}");
                node = (node + 1) % bench.nodes();
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        while let Some(item) = subscription.next().await {
            let seen = Instant::now();
            let Ok(value) = item else {
                continue;
            };
            let Ok(header) = chain::parse_header(&value) else {
                continue;
            };
            match chain::lane_heights(&rpc, &areas, header.hash()).await {
                Ok(heights) => bench.on_best_block(header.number, heights, seen),
                Err(e) => eprintln!("lane heads of #{}: {e:#}", header.number),
            }
        }
        eprintln!("the new-heads subscription through {url} ended; following another node");
        node = (node + 1) % bench.nodes();
    }
}

/// Holds an area subscription and books its deliveries.
async fn subscribe(bench: Arc<Bench>, connection: usize, area: AreaId, point: Position) -> bool {
    bench.watches.lock().push((connection, area, point));
    resubscribe(bench, connection, area, point).await
}

/// Makes an area subscription (again, after its node restarted).
async fn resubscribe(bench: Arc<Bench>, connection: usize, area: AreaId, point: Position) -> bool {
    let filter = json!({"x": point.x, "y": point.y, "radius": bench.args.radius});
    let subscription = bench
        .rpc(connection)
        .subscribe::<Value, _>(
            "fastlane_subscribeArea",
            chain::params(vec![json!(area), filter]),
            "fastlane_unsubscribeArea",
        )
        .await;
    let Ok(mut subscription) = subscription else {
        return false;
    };
    tokio::spawn(async move {
        while let Some(item) = subscription.next().await {
            if let Ok(update) = item {
                bench.on_area_update(&update);
            }
        }
    });
    true
}

/// What the chain says about one rate's receipts.
#[derive(Debug, Default)]
struct Verdict {
    lost: u64,
    not_in_chain: u64,
    mismatched: u64,
    state_mismatches: u64,
    uncertain: u64,
    finalized: u32,
}

/// The certified batches in blocks `from + 1 ..= to` of the node's best chain, by (area,
/// height).
async fn included_between(
    rpc: &Rpc,
    from: u32,
    to: u32,
) -> anyhow::Result<HashMap<(AreaId, u64), CertifiedBatch>> {
    let mut included = HashMap::new();
    for number in from.saturating_add(1)..=to {
        let hash = chain::block_hash(rpc, number)
            .await?
            .with_context(|| format!("no block #{number}"))?;
        for certified in chain::included_batches(rpc, hash).await? {
            let header = &certified.batch.header;
            included.insert((header.area, header.height), certified);
        }
    }
    Ok(included)
}

/// Receipts whose batch is not in `included` at all, and those whose (area, height) holds
/// another batch, action or outcome than the receipt says.
fn count_lost(
    records: &[ReceiptRecord],
    included: &HashMap<(AreaId, u64), CertifiedBatch>,
) -> (u64, u64) {
    let (mut not_in_chain, mut mismatched) = (0, 0);
    for record in records {
        match included.get(&(record.area, record.height)) {
            None => not_in_chain += 1,
            Some(certified) => {
                let batch = &certified.batch;
                let index = record.index as usize;
                let same = batch.header.hash() == record.batch
                    && batch.actions.get(index).map(SignedLaneAction::hash) == Some(record.action)
                    && batch.outcomes.get(index) == Some(&record.outcome);
                if !same {
                    mismatched += 1;
                    if mismatched <= 5 {
                        eprintln!(
                            "receipt contradicted: area {} height {} batch {:?} (view {}, signers {:?}); the chain has {:?} (view {}, signers {:?})",
                            record.area,
                            record.height,
                            record.batch,
                            record.view,
                            record.signers,
                            batch.header.hash(),
                            batch.header.view,
                            certified.certificate.signatures.iter().map(|(member, _)| *member).collect::<Vec<_>>(),
                        );
                    }
                }
            }
        }
    }
    (not_in_chain, mismatched)
}

/// Checks a rate's receipts against the finalized blocks after `from`, and every
/// player's on-chain state against what the generator believes.
async fn verify(bench: &Bench, rate: usize, from: u32, settled: bool) -> anyhow::Result<Verdict> {
    let rpc = &*bench.rpc(0);
    let (finalized, finalized_hash) = chain::finalized(rpc).await?;
    let included = included_between(rpc, from, finalized).await?;
    let (not_in_chain, mismatched) = count_lost(&bench.records[rate].lock(), &included);
    let mut verdict = Verdict {
        finalized,
        lost: not_in_chain + mismatched,
        not_in_chain,
        mismatched,
        ..Verdict::default()
    };
    if settled {
        let states = chain::player_states(rpc, &bench.accounts, finalized_hash).await?;
        let mut shown = 0;
        for (index, (lane, player)) in states.iter().enumerate() {
            let local = bench.players[index].lock().clone();
            if local.stale || local.retired {
                continue;
            }
            if local.uncertain {
                verdict.uncertain += 1;
                continue;
            }
            let chain_view = match (lane, player) {
                (Some(lane), Some(player)) => Some((lane.nonce, player.area, player.position)),
                _ => None,
            };
            if chain_view != Some((local.nonce, local.area, local.position)) {
                verdict.state_mismatches += 1;
                if shown < 5 {
                    shown += 1;
                    eprintln!(
                        "player {index}: chain {chain_view:?}, receipts say ({}, {}, {:?})",
                        local.nonce, local.area, local.position
                    );
                }
            }
        }
    }
    Ok(verdict)
}

/// Receipts missing from the chain right after their rate may only be late: after the
/// sweep, wait once more (at most `--settle`) for every receipted batch to be in a
/// finalized block, then count again, over every block since the earliest such rate.
/// Returns each rate's lost receipts (`None`: the chain could not be read).
async fn final_check(bench: &Bench, outcomes: &[(f64, u32, Option<u64>)]) -> Vec<Option<u64>> {
    let mut lost: Vec<Option<u64>> = outcomes.iter().map(|(_, _, lost)| *lost).collect();
    let recheck: Vec<usize> = (0..outcomes.len())
        .filter(|i| lost[*i] != Some(0))
        .collect();
    let Some(from) = recheck.iter().map(|i| outcomes[*i].1).min() else {
        return lost;
    };
    let rpc = &*bench.rpc(0);
    let deadline = Instant::now() + Duration::from_secs(bench.args.settle);
    while Instant::now() < deadline {
        let (waiting, best) = {
            let inclusion = bench.inclusion.lock();
            (inclusion.pending.len(), inclusion.best)
        };
        let finalized = chain::finalized(rpc).await;
        if waiting == 0 && finalized.is_ok_and(|(number, _)| number >= best) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let included = match chain::finalized(rpc).await {
        Ok((finalized, _)) => included_between(rpc, from, finalized).await,
        Err(e) => Err(e),
    };
    match included {
        Ok(included) => {
            for index in recheck {
                let (not_in_chain, mismatched) =
                    count_lost(&bench.records[index].lock(), &included);
                eprintln!(
                    "INFO final check rate={}: not_in_chain={not_in_chain} mismatched={mismatched}",
                    outcomes[index].0
                );
                lost[index] = Some(not_in_chain + mismatched);
            }
        }
        Err(e) => eprintln!("final check: the chain cannot be read: {e:#}"),
    }
    lost
}

/// `run`: see the module docs.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.rpc.is_empty(), "--rpc names no node");
    anyhow::ensure!(args.connections >= 1, "at least one connection");
    anyhow::ensure!(
        args.subscribers <= args.connections,
        "--subscribers cannot exceed --connections"
    );
    anyhow::ensure!(
        args.rates.iter().all(|r| *r > 0.0),
        "rates must be positive"
    );
    let mut kill_plan = match args.kill_primary_every {
        Some(every) => {
            anyhow::ensure!(
                every.is_finite() && every > 0.0,
                "--kill-primary-every must be a positive number of seconds"
            );
            anyhow::ensure!(
                args.rates.len() == 1,
                "--kill-primary-every runs under one rate: give one --rates value"
            );
            anyhow::ensure!(
                args.rpc.len() >= 2 && args.connections >= args.rpc.len(),
                "--kill-primary-every needs at least two nodes and a connection to each"
            );
            Some(faults::KillPlan {
                every: Duration::from_secs_f64(every),
                kills: args.kills,
                control: args.control.clone(),
                restart_after: Duration::from_millis(args.restart_after_ms),
                seed: args.seed,
            })
        }
        None => None,
    };
    let mut partition_plan = match args.partition_for {
        Some(length) => {
            anyhow::ensure!(
                length.is_finite() && length > 0.0 && args.partition_around >= 0.0,
                "--partition-for and --partition-around must be positive numbers of seconds"
            );
            anyhow::ensure!(
                args.rates.len() == 1,
                "--partition-for runs under one rate: give one --rates value"
            );
            let (a, b) = args
                .sides
                .split_once('|')
                .context("--sides must be two node lists, e.g. 1,2|3,4")?;
            Some(faults::PartitionPlan {
                around: Duration::from_secs_f64(args.partition_around),
                length: Duration::from_secs_f64(length),
                sides: (a.to_string(), b.to_string()),
                control: args.control.clone(),
            })
        }
        None => None,
    };
    let mut handover_plan = match args.chill_at {
        Some(at) => {
            let at = fault_at(at, "--chill-at", &args)?;
            anyhow::ensure!(
                (1..=args.rpc.len()).contains(&args.chill_node),
                "--chill-node must be one of the nodes (1 to {})",
                args.rpc.len()
            );
            Some(handover::HandoverPlan {
                at,
                node: args.chill_node,
                control: args.control.clone(),
            })
        }
        None => None,
    };
    let mut reshape_plan = match args.reshape_at {
        Some(at) => Some(reshape::ReshapePlan {
            at: fault_at(at, "--reshape-at", &args)?,
            control: args.control.clone(),
        }),
        None => None,
    };
    let duration = match (&kill_plan, &partition_plan, &handover_plan, &reshape_plan) {
        (Some(plan), _, _, _) => plan.every * (plan.kills as u32 + 1),
        (None, Some(plan), _, _) => plan.around * 2 + plan.length,
        (None, None, Some(plan), _) => plan.at + handover::WINDOW * 2,
        (None, None, None, Some(plan)) => plan.at + reshape::MERGE_AFTER * 3,
        (None, None, None, None) => Duration::from_secs(args.duration),
    };
    let started = Instant::now();
    let timeout = Duration::from_millis(args.timeout_ms);
    eprintln!("deriving {} player keys", args.players);
    let pairs = keys::player_pairs(args.players)?;
    let accounts: Vec<AccountId32> = pairs.iter().map(keys::account).collect();
    eprintln!(
        "connecting {} WebSocket connections to {} nodes",
        args.connections,
        args.rpc.len()
    );
    let connections = connect_all(&args.rpc, args.connections, timeout).await?;
    let genesis = chain::block_hash(&connections[0], 0)
        .await?
        .context("the node has no genesis block")?;
    let areas = chain::areas(&connections[0]).await?;
    anyhow::ensure!(!areas.is_empty(), "the chain has no area with a committee");
    let area_ids: Vec<AreaId> = areas.keys().copied().collect();
    let primaries = find_primaries(&connections, args.rpc.len(), &area_ids).await;
    eprintln!(
        "{} areas; primaries known for {} of them",
        areas.len(),
        primaries.len()
    );

    eprintln!("reading the players' lane state");
    let views: Vec<(usize, Option<LaneView>)> =
        futures::stream::iter((0..accounts.len()).map(|i| {
            let rpc = &connections[i % connections.len()];
            let who = Value::from(to_ss58(&accounts[i]));
            async move {
                let view: Option<Value> = chain::call(rpc, "fastlane_player", vec![who]).await.ok();
                (i, view.as_ref().and_then(lane_view))
            }
        }))
        .buffer_unordered(256)
        .collect()
        .await;
    let mut states: Vec<Option<LaneView>> = vec![None; accounts.len()];
    for (i, view) in views {
        states[i] = view;
    }
    let retired = states.iter().filter(|s| s.is_none()).count();
    anyhow::ensure!(
        retired < accounts.len(),
        "no player has joined the fast lanes: was the node started with the benchmark spec?"
    );
    let roles: Vec<Role> = states
        .iter()
        .map(|s| match s {
            Some((_, area, position)) => role_of(*area, *position, &areas),
            None => Role::Wanderer,
        })
        .collect();
    let walkers = roles.iter().filter(|r| **r != Role::Wanderer).count();
    eprintln!(
        "{} players ({walkers} walkers at borders, {retired} not playable)",
        accounts.len()
    );
    let players = states
        .iter()
        .map(|s| {
            let (nonce, area, position) = s.unwrap_or((0, 0, Position::new(0, 0)));
            Mutex::new(PlayerState {
                nonce,
                area,
                position,
                wood: 0,
                busy: false,
                stale: false,
                ready_at_ms: 0,
                retired: s.is_none(),
                uncertain: false,
            })
        })
        .collect();
    let bench = Arc::new(Bench {
        genesis,
        pairs,
        accounts,
        roles,
        players,
        connections: connections
            .into_iter()
            .map(|c| RwLock::new(Arc::new(c)))
            .collect(),
        down: args.rpc.iter().map(|_| AtomicBool::new(false)).collect(),
        sent_by_area: Mutex::new(HashMap::new()),
        failovers: Mutex::new(Vec::new()),
        watches: Mutex::new(Vec::new()),
        partition: Mutex::new(faults::PartitionFigures::default()),
        handover: Mutex::new(handover::HandoverLog::default()),
        reshape: Mutex::new(reshape::ReshapeLog::default()),
        areas: RwLock::new(areas),
        primaries: RwLock::new(primaries),
        rates: args.rates.iter().map(|_| Mutex::default()).collect(),
        records: args.rates.iter().map(|_| Mutex::default()).collect(),
        fanout: Mutex::new(HashMap::new()),
        deliveries: AtomicU64::new(0),
        inclusion: Mutex::new(Inclusion::default()),
        in_flight: AtomicUsize::new(0),
        refreshing_areas: AtomicBool::new(false),
        args,
    });

    // Each subscription watches around a player, where it stands; the players are
    // spread evenly over the population, so areas are watched as much as they are used.
    let subscriptions: Vec<bool> = futures::stream::iter((0..bench.args.subscribers).map(|c| {
        let bench = bench.clone();
        let watched = c * bench.players.len() / bench.args.subscribers.max(1);
        let (area, position) = {
            let player = bench.players[watched % bench.players.len()].lock();
            (player.area, player.position)
        };
        async move { subscribe(bench, c, area, position).await }
    }))
    .buffer_unordered(64)
    .collect()
    .await;
    let subscribed = subscriptions.iter().filter(|ok| **ok).count();
    eprintln!(
        "{subscribed} area subscriptions with radius {} (setup took {:.1} s)",
        bench.args.radius,
        started.elapsed().as_secs_f64()
    );
    tokio::spawn(watch_heads(bench.clone()));
    // Let the head watcher see a first block.
    let deadline = Instant::now() + Duration::from_secs(10);
    while bench.inclusion.lock().best == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut ceiling: f64 = 0.0;
    let player_count = bench.players.len();
    // (rate, its first block, receipts lost as of its own check) for the final check.
    let mut outcomes: Vec<(f64, u32, Option<u64>)> = Vec::new();
    // How long each rate's load lasted.
    let mut loaded: Vec<Duration> = Vec::new();
    for (rate_index, rate) in bench.args.rates.clone().into_iter().enumerate() {
        // A node too busy to answer does not end the sweep: the head watcher knows a
        // recent best block too.
        let from = match chain::best_number(&bench.rpc(0)).await {
            Ok(number) => number,
            Err(e) => {
                eprintln!("best block unreadable ({e:#}); using the last new head");
                bench.inclusion.lock().best
            }
        };
        eprintln!(
            "rate {rate}/s for {:.0} s (from block #{from})",
            duration.as_secs_f64()
        );
        let driver = match (
            kill_plan.take(),
            partition_plan.take(),
            handover_plan.take(),
            reshape_plan.take(),
        ) {
            (Some(plan), ..) => Some(tokio::spawn(faults::drive(bench.clone(), plan))),
            (None, Some(plan), ..) => Some(tokio::spawn(faults::partition(bench.clone(), plan))),
            (None, None, Some(plan), _) => Some(tokio::spawn(handover::drive(bench.clone(), plan))),
            (None, None, None, Some(plan)) => {
                Some(tokio::spawn(reshape::drive(bench.clone(), plan)))
            }
            (None, None, None, None) => None,
        };
        let mut rng = StdRng::seed_from_u64(bench.args.seed ^ ((rate_index as u64) << 32));
        let start = Instant::now();
        let mut end = start + duration;
        let mut next = start;
        loop {
            let uniform: f64 = rng.gen_range(f64::EPSILON..1.0);
            next += Duration::from_secs_f64(-uniform.ln() / rate);
            // Under faults the load lasts as long as the fault driver (at most four
            // times the planned run).
            if next >= end
                && driver.as_ref().is_some_and(|d| !d.is_finished())
                && next < start + duration * 4
            {
                end = next + Duration::from_millis(100);
            }
            if next >= end {
                break;
            }
            tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
            match bench.pick(&mut rng) {
                Some(plan) => {
                    tokio::spawn(bench.clone().act(plan, next, rate_index));
                }
                None => bench.rates[rate_index].lock().skipped += 1,
            }
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(end)).await;
        loaded.push(end.saturating_duration_since(start));
        if let Some(driver) = driver {
            // The last killed node is back before the chain is checked.
            let _ = driver.await;
        }
        // Answers still on their way.
        let drain = Instant::now() + Duration::from_millis(bench.args.timeout_ms + 2_000);
        while bench.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < drain {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Inclusion in a best block, then finality.
        let settle_deadline = Instant::now() + Duration::from_secs(bench.args.settle);
        let mut settled = false;
        while Instant::now() < settle_deadline {
            let (waiting, best) = {
                let inclusion = bench.inclusion.lock();
                let waiting = inclusion
                    .pending
                    .iter()
                    .filter(|p| p.3 == rate_index)
                    .count();
                (waiting, inclusion.best)
            };
            if waiting == 0 {
                let finalized = chain::finalized(&bench.rpc(0)).await;
                if finalized.is_ok_and(|(number, _)| number >= best) {
                    settled = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // Without a readable chain nothing can be said about losses: `lost=na`.
        let verdict = verify(&bench, rate_index, from, settled)
            .await
            .map_err(|e| eprintln!("cannot check rate {rate} against the chain: {e:#}"))
            .ok();
        outcomes.push((rate, from, verdict.as_ref().map(|v| v.lost)));
        let verdict = verdict.unwrap_or_default();
        bench.fanout.lock().clear();
        let stats = bench.rates[rate_index].lock().clone();
        eprintln!(
            "INFO rate={rate} sent={} receipts={} borders={} skipped={} rejected={} failed={} bad_receipts={} fanout_samples={} deliveries_total={} not_in_chain={} mismatched={} state_mismatches={} uncertain_players={} settled={settled} finalized=#{}",
            stats.sent,
            stats.receipt.len(),
            stats.border.len(),
            stats.skipped,
            stats::show_counts(&stats.rejected),
            stats::show_counts(&stats.failed),
            stats.bad_receipts,
            stats.fanout.len(),
            bench.deliveries.load(Ordering::Relaxed),
            verdict.not_in_chain,
            verdict.mismatched,
            verdict.state_mismatches,
            verdict.uncertain,
            verdict.finalized,
        );
        if stats
            .receipt
            .quantile(0.99)
            .is_some_and(|p99| p99 < bench.args.target_p99_ms)
        {
            ceiling = ceiling.max(rate);
        }
    }
    let lost = final_check(&bench, &outcomes).await;
    // The one rate's `lost`, for the fault modes' RESULT lines.
    let lost_of_run = lost
        .first()
        .copied()
        .flatten()
        .map_or("na".to_string(), |n| n.to_string());
    for (index, (rate, _, _)) in outcomes.iter().enumerate() {
        let stats = bench.rates[index].lock().clone();
        let seconds = loaded.get(index).unwrap_or(&duration).as_secs_f64();
        let achieved = stats.receipt.len() as f64 / seconds.max(1.0);
        println!(
            "RESULT players={player_count} rate={rate} actions_per_s={achieved:.0} receipt_p50_ms={} receipt_p99_ms={} border_p99_ms={} fanout_p99_ms={} included_p99_ms={} lost={}",
            stats.receipt.show(0.5),
            stats.receipt.show(0.99),
            stats.border.show(0.99),
            stats.fanout.show(0.99),
            stats.included.show(0.99),
            lost[index].map_or("na".to_string(), |n| n.to_string()),
        );
    }
    if bench.args.kill_primary_every.is_some() {
        let figures = bench.failover_figures();
        eprintln!(
            "INFO kills={} failovers_measured={} failovers_missing={} receipts_during_failover={}",
            figures.kills,
            figures.failover.len(),
            figures.missing,
            figures.during.len()
        );
        for (ms, area, from, to, at) in &figures.slowest {
            eprintln!(
                "INFO slow failover: area {area} view {from} -> {to} in {ms:.1} ms (killed at Unix ms {at})"
            );
        }
        println!(
            "RESULT kills={} lost={} failover_p50_ms={} failover_p99_ms={} receipt_p99_during_failover_ms={}",
            figures.kills,
            lost_of_run.clone(),
            figures.failover.show(0.5),
            figures.failover.show(0.99),
            figures.during.show(0.99),
        );
        return Ok(());
    }
    if bench.args.partition_for.is_some() {
        let figures = bench.partition_figures();
        println!(
            "RESULT partition_s={:.1} receipts_during={} unavailable_during={} timeouts_during={} other_failures_during={} receipt_p99_after_heal_ms={} lost={}",
            figures.seconds(),
            figures.receipts,
            figures.unavailable,
            figures.timeouts,
            figures.other,
            figures.after_heal.show(0.99),
            lost_of_run.clone(),
        );
        return Ok(());
    }
    if bench.args.reshape_at.is_some() {
        let figures = bench.reshape_figures();
        let ms = |value: Option<f64>| value.map_or("na".to_string(), |ms| format!("{ms:.0}"));
        println!(
            "RESULT reshape area={} children={} split_made_after_ms={} merge_made_after_ms={} receipts_during={} receipt_p99_during_ms={} receipt_max_during_ms={} longest_region_gap_ms={:.1} unavailable={} other_failures={} lost={}",
            figures.area.map_or("na".to_string(), |area| area.to_string()),
            figures.children,
            ms(figures.split_after_ms),
            ms(figures.merge_after_ms),
            figures.receipts.len(),
            figures.receipts.show(0.99),
            figures.receipts.show(1.0),
            figures.longest_gap_ms,
            figures.unavailable,
            figures.other,
            lost_of_run.clone(),
        );
        return Ok(());
    }
    if bench.args.chill_at.is_some() {
        let figures = bench.handover_figures();
        println!(
            "RESULT handover areas_changed={} change_seen_after_ms={} receipts_during={} receipt_p99_during_ms={} receipt_max_during_ms={} longest_area_gap_ms={:.1} wrong_version={} unavailable={} timeouts={} other_failures={} lost={}",
            figures.changed,
            figures
                .seen_after_ms
                .map_or("na".to_string(), |ms| format!("{ms:.0}")),
            figures.receipts.len(),
            figures.receipts.show(0.99),
            figures.receipts.show(1.0),
            figures.longest_gap_ms,
            figures.wrong_version,
            figures.unavailable,
            figures.timeouts,
            figures.other,
            lost_of_run.clone(),
        );
        return Ok(());
    }
    println!("RESULT ceiling_actions_per_s={ceiling}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(min_x: Coord, min_y: Coord) -> AreaInfo {
        AreaInfo {
            bounds: Bounds::new(min_x, min_y, min_x + 100 * UNIT, min_y + 100 * UNIT),
            version: 1,
        }
    }

    #[test]
    fn players_next_to_a_border_with_an_area_beyond_walk_across_it() {
        let mut areas = BTreeMap::new();
        areas.insert(0, area(0, 0));
        areas.insert(1, area(100 * UNIT, 0));
        // Near the east border, area 1 beyond.
        assert_eq!(
            role_of(0, Position::new(100 * UNIT - 200, 5 * UNIT), &areas),
            Role::Walker {
                vertical: true,
                border: 100 * UNIT
            }
        );
        // Near the west border of area 1.
        assert_eq!(
            role_of(1, Position::new(100 * UNIT + 200, 50 * UNIT), &areas),
            Role::Walker {
                vertical: true,
                border: 100 * UNIT
            }
        );
        // Near the west edge of the world: nothing beyond.
        assert_eq!(
            role_of(0, Position::new(200, 50 * UNIT), &areas),
            Role::Wanderer
        );
        // Inside.
        assert_eq!(
            role_of(0, Position::new(50 * UNIT, 50 * UNIT), &areas),
            Role::Wanderer
        );
    }

    #[test]
    fn lane_views_need_a_joined_player() {
        let view = json!({"joined": true, "nonce": 4, "area": 3, "version": 1, "x": 10, "y": -2});
        assert_eq!(lane_view(&view), Some((4, 3, Position::new(10, -2))));
        let view = json!({"joined": false, "nonce": 0, "area": 3, "x": 10, "y": 2});
        assert_eq!(lane_view(&view), None);
        assert_eq!(lane_view(&Value::Null), None);
    }
}
