//! `--chill-at SECONDS`: a committee handover under load.
//!
//! SECONDS into the load, the driver has node `--chill-node`'s validator stop
//! validating (`<control> chill <i>`, a signed `Staking.chill`): the chain chooses the
//! area committees again in that block, and every area whose committee held it moves to
//! a new committee version. The driver reads the committees every [`POLL`] until their
//! versions change. For [`WINDOW`] from the chill it books every answer to an action of
//! a changed area: receipts and their latency, refusals of actions signed for the old
//! version (the player signs its next action for the new one), "lane unavailable",
//! timeouts and other failures, and the longest an area went without a receipt (from
//! the chill on): the stall its players saw.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arceon_pallet_areas::AreaId;

use super::faults::Answer;
use super::Bench;
use crate::chain;
use crate::stats::Samples;

/// How often the driver reads the committees after the chill.
const POLL: Duration = Duration::from_millis(200);
/// How long after the chill answers are booked.
pub(super) const WINDOW: Duration = Duration::from_secs(15);
/// How long the driver waits for the committees to change.
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);

/// When and whom the driver chills.
pub(super) struct HandoverPlan {
    pub at: Duration,
    /// 1-based node index.
    pub node: usize,
    pub control: String,
}

/// How an action of a changed area was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Receipt,
    WrongVersion,
    Unavailable,
    Timeout,
    Other,
}

/// What the players of the changed areas saw.
#[derive(Default)]
pub(super) struct HandoverLog {
    start: Option<Instant>,
    /// The areas whose committee version changed, with the new version.
    changed: BTreeMap<AreaId, u64>,
    /// When the change was first seen.
    seen_after: Option<Duration>,
    /// (area, answered at, latency ms, how).
    answers: Vec<(AreaId, Instant, f64, Kind)>,
}

/// The handover figures.
pub(super) struct HandoverFigures {
    pub changed: usize,
    pub seen_after_ms: Option<f64>,
    pub receipts: Samples,
    pub wrong_version: u64,
    pub unavailable: u64,
    pub timeouts: u64,
    pub other: u64,
    /// The longest time a changed area went without a receipt, from the chill (ms).
    pub longest_gap_ms: f64,
}

impl Bench {
    /// Books an answer to an action of `area` that arrived at `arrival`.
    pub(super) fn note_handover(
        &self,
        area: AreaId,
        arrival: Instant,
        latency_ms: f64,
        answer: &Answer<'_>,
    ) {
        let mut log = self.handover.lock();
        let Some(start) = log.start else {
            return;
        };
        if arrival < start || arrival.duration_since(start) > WINDOW {
            return;
        }
        let kind = match answer {
            Answer::Receipt => Kind::Receipt,
            Answer::Timeout => Kind::Timeout,
            Answer::Failed(message) if message.contains("WrongVersion") => Kind::WrongVersion,
            Answer::Failed(message) if message.contains("unavailable") => Kind::Unavailable,
            Answer::Failed(_) => Kind::Other,
        };
        let answered = arrival + Duration::from_secs_f64(latency_ms / 1_000.0);
        log.answers.push((area, answered, latency_ms, kind));
    }

    /// The figures of the changed areas.
    pub(super) fn handover_figures(&self) -> HandoverFigures {
        let log = self.handover.lock();
        let mut figures = HandoverFigures {
            changed: log.changed.len(),
            seen_after_ms: log.seen_after.map(|d| d.as_secs_f64() * 1_000.0),
            receipts: Samples::default(),
            wrong_version: 0,
            unavailable: 0,
            timeouts: 0,
            other: 0,
            longest_gap_ms: 0.0,
        };
        let Some(start) = log.start else {
            return figures;
        };
        let mut last_receipt: BTreeMap<AreaId, Instant> = BTreeMap::new();
        let mut answers: Vec<&(AreaId, Instant, f64, Kind)> = log
            .answers
            .iter()
            .filter(|(area, ..)| log.changed.contains_key(area))
            .collect();
        answers.sort_by_key(|(_, answered, ..)| *answered);
        for (area, answered, latency, kind) in answers {
            match kind {
                Kind::Receipt => {
                    figures.receipts.push(*latency);
                    let before = last_receipt.insert(*area, *answered).unwrap_or(start);
                    let gap = answered.saturating_duration_since(before).as_secs_f64() * 1e3;
                    figures.longest_gap_ms = figures.longest_gap_ms.max(gap);
                }
                Kind::WrongVersion => figures.wrong_version += 1,
                Kind::Unavailable => figures.unavailable += 1,
                Kind::Timeout => figures.timeouts += 1,
                Kind::Other => figures.other += 1,
            }
        }
        figures
    }
}

/// Chills `plan.node`'s validator after `plan.at` and follows the committees until
/// their versions change.
pub(super) async fn drive(bench: Arc<Bench>, plan: HandoverPlan) {
    tokio::time::sleep(plan.at).await;
    let before = match chain::areas(&bench.rpc(0)).await {
        Ok(areas) => areas,
        Err(e) => {
            eprintln!("committees unreadable before the chill ({e:#}); no handover");
            return;
        }
    };
    let start = Instant::now();
    bench.handover.lock().start = Some(start);
    let chilled = Command::new(&plan.control)
        .args(["chill", &plan.node.to_string()])
        .output();
    match chilled {
        Ok(output) if output.status.success() => {
            eprintln!("chilled node {}'s validator", plan.node)
        }
        other => {
            eprintln!("{} chill {} failed: {other:?}", plan.control, plan.node);
            return;
        }
    }
    while start.elapsed() < CHANGE_DEADLINE {
        tokio::time::sleep(POLL).await;
        let Ok(now) = chain::areas(&bench.rpc(0)).await else {
            continue;
        };
        let changed: BTreeMap<AreaId, u64> = now
            .iter()
            .filter(|(area, info)| {
                before
                    .get(area)
                    .is_none_or(|old| old.version != info.version)
            })
            .map(|(area, info)| (*area, info.version))
            .collect();
        if changed.is_empty() {
            continue;
        }
        eprintln!(
            "{} of {} areas changed committee {:.1} s after the chill",
            changed.len(),
            now.len(),
            start.elapsed().as_secs_f64()
        );
        *bench.areas.write() = now;
        let mut log = bench.handover.lock();
        log.changed = changed;
        log.seen_after = Some(start.elapsed());
        return;
    }
    eprintln!("no committee changed within {CHANGE_DEADLINE:?} of the chill");
}
