//! `--kill-primary-every SECONDS`: real primary crashes under load.
//!
//! SECONDS after the previous kill's node is back (a restart takes a second or two
//! more), the driver picks one of the [`BUSIEST`] areas with the most actions sent
//! since the last kill, at random, and finds the node leading it (`role` of
//! `fastlane_laneState`, asked of every node that is up). It marks that node down (the
//! generator stops sending through its connections), kills it with SIGKILL
//! (`<control> crash <i>`), starts it again `--restart-after-ms` later (`<control>
//! restart <i>`) on its own data, and once it answers JSON-RPC makes its connections and
//! area subscriptions again. A kill waits for the node of the previous one to be back:
//! never more than one validator is down.
//!
//! A *failover* lasts from the kill to the first receipt for the chosen area from a later
//! view (a batch sealed by a new primary). Receipts during failover are those of actions
//! for any area the killed node led that arrived from the kill to the end of its area's
//! failover (at most [`WINDOW`] after the kill); their latency counts from arrival, with
//! the re-sends a dead connection forced.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arceon_pallet_areas::AreaId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::Bench;
use crate::chain;
use crate::stats::Samples;

/// The kill picks among this many of the busiest areas.
const BUSIEST: usize = 5;
/// A failover without a receipt from a new view within this long counts as missing.
const WINDOW: Duration = Duration::from_secs(10);
/// How many times the busiest areas are asked for a primary before a kill is skipped.
const FIND_LEADER_ROUNDS: usize = 10;
/// How many of the slowest failovers the run names.
const SHOW_SLOWEST: usize = 10;
/// How long a restarted node may take to answer JSON-RPC.
const RESTART_DEADLINE: Duration = Duration::from_secs(60);

/// One kill and what followed it.
pub(super) struct Failover {
    /// The area whose primary was killed.
    area: AreaId,
    /// Its view at the kill.
    view: u32,
    killed_at: Instant,
    /// The kill's wall-clock time (Unix ms), to find it in the nodes' logs.
    killed_unix_ms: u128,
    /// Every area the killed node led.
    led: HashSet<AreaId>,
    /// The first receipt of `area` from a later view, and that view.
    done_at: Option<(Instant, u32)>,
    /// (arrival, latency ms) of the receipts of `led` areas' actions that arrived after
    /// the kill, within [`WINDOW`].
    receipts: Vec<(Instant, f64)>,
}

/// What the kills measured.
pub(super) struct FailoverFigures {
    pub kills: usize,
    /// Kills whose area got no receipt from a new view within [`WINDOW`].
    pub missing: usize,
    pub failover: Samples,
    pub during: Samples,
    /// The slowest failovers: (ms, area, view at the kill, view that answered, kill's
    /// Unix ms), slowest first.
    pub slowest: Vec<(f64, AreaId, u32, u32, u128)>,
}

impl Bench {
    /// Books a receipt for the failovers in progress.
    pub(super) fn note_failover(
        &self,
        area: AreaId,
        view: u32,
        arrival: Instant,
        latency_ms: f64,
        now: Instant,
    ) {
        let mut failovers = self.failovers.lock();
        for failover in failovers.iter_mut().rev().take(3) {
            if now.saturating_duration_since(failover.killed_at) > WINDOW {
                continue;
            }
            if failover.done_at.is_none() && area == failover.area && view > failover.view {
                failover.done_at = Some((now, view));
            }
            if failover.led.contains(&area) && arrival >= failover.killed_at {
                failover.receipts.push((arrival, latency_ms));
            }
        }
    }

    /// The figures of every kill so far.
    pub(super) fn failover_figures(&self) -> FailoverFigures {
        let failovers = self.failovers.lock();
        let mut figures = FailoverFigures {
            kills: failovers.len(),
            missing: 0,
            failover: Samples::default(),
            during: Samples::default(),
            slowest: Vec::new(),
        };
        for failover in failovers.iter() {
            let end = match failover.done_at {
                Some((done, view)) => {
                    let ms = done.duration_since(failover.killed_at).as_secs_f64() * 1e3;
                    figures.failover.push(ms);
                    figures.slowest.push((
                        ms,
                        failover.area,
                        failover.view,
                        view,
                        failover.killed_unix_ms,
                    ));
                    done
                }
                None => {
                    figures.missing += 1;
                    failover.killed_at + WINDOW
                }
            };
            for (arrival, latency) in &failover.receipts {
                if *arrival <= end {
                    figures.during.push(*latency);
                }
            }
        }
        figures
            .slowest
            .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        figures.slowest.truncate(SHOW_SLOWEST);
        figures
    }
}

/// How the driver kills.
pub(super) struct KillPlan {
    pub every: Duration,
    pub kills: usize,
    pub control: String,
    pub restart_after: Duration,
    pub seed: u64,
}

/// Runs `plan.kills` kills, each `plan.every` after the previous node is back; returns
/// when the last killed node is back.
pub(super) async fn drive(bench: Arc<Bench>, plan: KillPlan) {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    for kill in 0..plan.kills {
        // SECONDS of load between a node's return and the next kill.
        tokio::time::sleep(plan.every).await;
        let busiest: Vec<AreaId> = {
            let mut sent: Vec<(AreaId, u64)> = bench.sent_by_area.lock().drain().collect();
            sent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            sent.into_iter()
                .take(BUSIEST)
                .map(|(area, _)| area)
                .collect()
        };
        if busiest.is_empty() {
            eprintln!("kill {kill}: no area was busy; skipped");
            continue;
        }
        // A busy area whose primary is known (one in a view change has none: the next
        // busiest is asked, then all of them again a little later).
        let mut target = None;
        'find: for _ in 0..FIND_LEADER_ROUNDS {
            let first = rng.gen_range(0..busiest.len());
            for i in 0..busiest.len() {
                let area = busiest[(first + i) % busiest.len()];
                if let Some((node, view)) = leader(&bench, area).await {
                    target = Some((area, node, view));
                    break 'find;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let Some((area, node, view)) = target else {
            eprintln!("kill {kill}: no node leads any of the busiest areas; skipped");
            continue;
        };
        let led = led_by(&bench, node).await;
        bench.down[node].store(true, Ordering::SeqCst);
        // Timed from before the kill command: the SIGKILL lands within the few
        // milliseconds the command takes to start, while the command itself returns
        // only once the process is gone (which can take seconds).
        let killed_at = Instant::now();
        let killed_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        if !control(&plan.control, "crash", node) {
            bench.down[node].store(false, Ordering::SeqCst);
            continue;
        }
        eprintln!(
            "kill {kill}: node {} (primary of area {area} in view {view}, leading {} areas)",
            node + 1,
            led.len()
        );
        bench.failovers.lock().push(Failover {
            area,
            view,
            killed_at,
            killed_unix_ms,
            led,
            done_at: None,
            receipts: Vec::new(),
        });
        tokio::time::sleep(plan.restart_after).await;
        restart(&bench, &plan.control, node).await;
    }
}

/// The node leading `area` and its view, from the nodes that are up.
async fn leader(bench: &Bench, area: AreaId) -> Option<(usize, u32)> {
    for node in 0..bench.nodes() {
        if bench.down[node].load(Ordering::SeqCst) {
            continue;
        }
        let state: Result<Value, _> =
            chain::call(&bench.rpc(node), "fastlane_laneState", vec![json!(area)]).await;
        if let Ok(state) = state {
            // A primary whose view still changes leads nothing yet.
            if state.get("role").and_then(Value::as_str) == Some("primary")
                && state.get("viewActive").and_then(Value::as_bool) != Some(false)
            {
                let view = state.get("view").and_then(Value::as_u64).unwrap_or(0);
                return Some((node, view as u32));
            }
        }
    }
    None
}

/// The areas `node` leads now.
async fn led_by(bench: &Bench, node: usize) -> HashSet<AreaId> {
    let areas: Vec<AreaId> = bench.areas.read().keys().copied().collect();
    let rpc = bench.rpc(node);
    let mut led = HashSet::new();
    for area in areas {
        let state: Result<Value, _> =
            chain::call(&rpc, "fastlane_laneState", vec![json!(area)]).await;
        if state.is_ok_and(|s| s.get("role").and_then(Value::as_str) == Some("primary")) {
            led.insert(area);
        }
    }
    led
}

/// Runs `<control> <verb> <node + 1>`; false (and says why) when it fails.
fn control(program: &str, verb: &str, node: usize) -> bool {
    match Command::new(program)
        .arg(verb)
        .arg((node + 1).to_string())
        .output()
    {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!(
                "{program} {verb} {}: {}{}",
                node + 1,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("cannot run {program}: {e}");
            false
        }
    }
}

/// Starts `node` again, waits until it answers, and makes its connections and area
/// subscriptions again before the generator uses it.
async fn restart(bench: &Arc<Bench>, program: &str, node: usize) {
    if !control(program, "restart", node) {
        return;
    }
    let url = bench.args.rpc[node].clone();
    let timeout = Duration::from_millis(bench.args.timeout_ms);
    let deadline = Instant::now() + RESTART_DEADLINE;
    let nodes = bench.nodes();
    let mine: Vec<usize> = (0..bench.connections.len())
        .filter(|c| c % nodes == node)
        .collect();
    let mut fresh = Vec::new();
    for c in &mine {
        loop {
            match chain::connect(&url, timeout).await {
                Ok(rpc) => {
                    fresh.push((*c, rpc));
                    break;
                }
                Err(e) if Instant::now() >= deadline => {
                    eprintln!("node {} does not answer after its restart: {e:#}", node + 1);
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    for (c, rpc) in fresh {
        *bench.connections[c].write() = Arc::new(rpc);
    }
    bench.down[node].store(false, Ordering::SeqCst);
    let watches: Vec<_> = bench
        .watches
        .lock()
        .iter()
        .filter(|(c, _, _)| c % nodes == node)
        .copied()
        .collect();
    for (c, area, point) in watches {
        super::resubscribe(bench.clone(), c, area, point).await;
    }
}

/// How the driver partitions the network (`--partition-for`).
pub(super) struct PartitionPlan {
    /// Load before the cut, and again after the heal.
    pub around: Duration,
    pub length: Duration,
    /// The two sides, as `<control> partition` takes them (`1,2` and `3,4`).
    pub sides: (String, String),
    pub control: String,
}

/// What the players saw of a partition: the answers to actions that arrived while it
/// lasted, and the receipt latency of those that arrived after the heal.
#[derive(Default)]
pub(super) struct PartitionFigures {
    start: Option<Instant>,
    end: Option<Instant>,
    pub receipts: u64,
    /// Refused at once as "lane unavailable" (the side without a quorum).
    pub unavailable: u64,
    /// No answer before the generator's timeout (silence).
    pub timeouts: u64,
    /// Any other failure or refusal.
    pub other: u64,
    pub after_heal: Samples,
}

impl Bench {
    /// Books an action's answer for the partition figures.
    pub(super) fn note_partition(&self, arrival: Instant, latency_ms: f64, answer: Answer<'_>) {
        let mut figures = self.partition.lock();
        let Some(start) = figures.start else {
            return;
        };
        if arrival < start {
            return;
        }
        match figures.end {
            Some(end) if arrival >= end => {
                if let Answer::Receipt = answer {
                    figures.after_heal.push(latency_ms);
                }
            }
            _ => match answer {
                Answer::Receipt => figures.receipts += 1,
                Answer::Failed(message) if message.contains("unavailable") => {
                    figures.unavailable += 1
                }
                Answer::Timeout => figures.timeouts += 1,
                Answer::Failed(_) => figures.other += 1,
            },
        }
    }

    /// The partition figures so far.
    pub(super) fn partition_figures(&self) -> PartitionFigures {
        let figures = self.partition.lock();
        PartitionFigures {
            start: figures.start,
            end: figures.end,
            receipts: figures.receipts,
            unavailable: figures.unavailable,
            timeouts: figures.timeouts,
            other: figures.other,
            after_heal: figures.after_heal.clone(),
        }
    }
}

impl PartitionFigures {
    /// How long the partition lasted (s).
    pub fn seconds(&self) -> f64 {
        match (self.start, self.end) {
            (Some(start), Some(end)) => end.duration_since(start).as_secs_f64(),
            _ => 0.0,
        }
    }
}

/// How an action was answered, for [`Bench::note_partition`].
pub(super) enum Answer<'a> {
    Receipt,
    Timeout,
    Failed(&'a str),
}

/// Cuts the network in two after `plan.around`, heals it `plan.length` later.
pub(super) async fn partition(bench: Arc<Bench>, plan: PartitionPlan) {
    tokio::time::sleep(plan.around).await;
    let (a, b) = &plan.sides;
    let cut = Command::new(&plan.control)
        .args(["partition", a, b])
        .output()
        .map(|output| output.status.success());
    if !matches!(cut, Ok(true)) {
        eprintln!("{} partition {a} {b} failed: {cut:?}", plan.control);
        return;
    }
    bench.partition.lock().start = Some(Instant::now());
    eprintln!(
        "partitioned {{{a}}} | {{{b}}} for {:.0} s",
        plan.length.as_secs_f64()
    );
    tokio::time::sleep(plan.length).await;
    let healed = Command::new(&plan.control)
        .arg("heal")
        .output()
        .map(|output| output.status.success());
    bench.partition.lock().end = Some(Instant::now());
    eprintln!("healed ({healed:?})");
}
