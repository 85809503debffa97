//! `--reshape-at SECONDS`: a split and a merge of the busiest area under load.
//!
//! SECONDS into the load, the driver has root split the area its players sent the most
//! actions to (`<control> split A`, a sudo `Areas.force_split`). On a chain whose players
//! act through the lanes the split is scheduled: the area's committee seals its lane,
//! the seal goes on chain, and the split is made once blocks hold every batch up to it;
//! the quadrants' committees then start their lanes. The driver reads the map every
//! [`POLL`] until the split is made, lets the quadrants run [`MERGE_AFTER`], has root
//! merge them back (`<control> merge A`) and follows that the same way. From the split
//! command until [`TAIL`] after the merge it books every answer to an action in the area
//! or its quadrants: receipts and their latency, "lane unavailable" while a lane ends,
//! other failures, and the longest the region went without a receipt: the stall its
//! players saw (each player acts only now and then, so the region's gap is what one
//! acting all along would have seen).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arceon_pallet_areas::AreaId;

use super::faults::Answer;
use super::Bench;
use crate::chain;
use crate::stats::Samples;

/// How often the driver reads the map while a reshape waits.
const POLL: Duration = Duration::from_millis(200);
/// How long the quadrants run before the merge.
pub(super) const MERGE_AFTER: Duration = Duration::from_secs(10);
/// How long answers are booked after the merge is made.
const TAIL: Duration = Duration::from_secs(10);
/// How long the driver waits for a reshape to be made.
const DEADLINE: Duration = Duration::from_secs(90);

/// When the driver reshapes.
pub(super) struct ReshapePlan {
    pub at: Duration,
    pub control: String,
}

/// What the players of the reshaped region saw.
#[derive(Default)]
pub(super) struct ReshapeLog {
    start: Option<Instant>,
    end: Option<Instant>,
    /// The split area.
    area: Option<AreaId>,
    /// Its quadrants.
    children: Vec<AreaId>,
    /// From the split command to the split being made, and likewise for the merge.
    split_after: Option<Duration>,
    merge_after: Option<Duration>,
    /// (area, arrival, latency ms, receipt?, unavailable?).
    answers: Vec<(AreaId, Instant, f64, bool, bool)>,
}

/// The reshape figures.
pub(super) struct ReshapeFigures {
    pub area: Option<AreaId>,
    pub children: usize,
    pub split_after_ms: Option<f64>,
    pub merge_after_ms: Option<f64>,
    pub receipts: Samples,
    pub unavailable: u64,
    pub other: u64,
    /// The longest the region went without a receipt (ms).
    pub longest_gap_ms: f64,
}

impl Bench {
    /// Books an answer to an action of `area` that arrived at `arrival`.
    pub(super) fn note_reshape(
        &self,
        area: AreaId,
        arrival: Instant,
        latency_ms: f64,
        answer: &Answer<'_>,
    ) {
        let mut log = self.reshape.lock();
        let Some(start) = log.start else {
            return;
        };
        if arrival < start || log.end.is_some_and(|end| arrival > end) {
            return;
        }
        let receipt = matches!(answer, Answer::Receipt);
        let unavailable =
            matches!(answer, Answer::Failed(message) if message.contains("unavailable"));
        log.answers
            .push((area, arrival, latency_ms, receipt, unavailable));
    }

    /// The figures of the reshaped region.
    pub(super) fn reshape_figures(&self) -> ReshapeFigures {
        let log = self.reshape.lock();
        let mut figures = ReshapeFigures {
            area: log.area,
            children: log.children.len(),
            split_after_ms: log.split_after.map(|d| d.as_secs_f64() * 1e3),
            merge_after_ms: log.merge_after.map(|d| d.as_secs_f64() * 1e3),
            receipts: Samples::default(),
            unavailable: 0,
            other: 0,
            longest_gap_ms: 0.0,
        };
        let (Some(start), Some(area)) = (log.start, log.area) else {
            return figures;
        };
        let region: BTreeSet<AreaId> = std::iter::once(area)
            .chain(log.children.iter().copied())
            .collect();
        let mut answers: Vec<&(AreaId, Instant, f64, bool, bool)> = log
            .answers
            .iter()
            .filter(|(area, ..)| region.contains(area))
            .collect();
        answers.sort_by_key(|(_, arrival, latency, ..)| {
            *arrival + Duration::from_secs_f64(latency / 1e3)
        });
        let mut last_receipt = start;
        for (_, arrival, latency, receipt, unavailable) in answers {
            let answered = *arrival + Duration::from_secs_f64(latency / 1e3);
            if *receipt {
                figures.receipts.push(*latency);
                let gap = answered.saturating_duration_since(last_receipt);
                figures.longest_gap_ms = figures.longest_gap_ms.max(gap.as_secs_f64() * 1e3);
                last_receipt = last_receipt.max(answered);
            } else if *unavailable {
                figures.unavailable += 1;
            } else {
                figures.other += 1;
            }
        }
        figures
    }
}

/// Runs `<control> <what> <area>`; whether it succeeded.
fn control(plan: &ReshapePlan, what: &str, area: AreaId) -> bool {
    match Command::new(&plan.control)
        .args([what, &area.to_string()])
        .output()
    {
        Ok(output) if output.status.success() => true,
        other => {
            eprintln!("{} {what} {area} failed: {other:?}", plan.control);
            false
        }
    }
}

/// Reads the map every [`POLL`] until `done` holds for it; the time it took.
async fn wait_for(
    bench: &Arc<Bench>,
    since: Instant,
    done: impl Fn(&BTreeMap<AreaId, super::AreaInfo>) -> bool,
) -> Option<Duration> {
    while since.elapsed() < DEADLINE {
        tokio::time::sleep(POLL).await;
        let Ok(now) = chain::areas(&bench.rpc(0)).await else {
            continue;
        };
        if done(&now) {
            let took = since.elapsed();
            bench.clone().refresh_areas();
            return Some(took);
        }
    }
    None
}

/// Splits the busiest area after `plan.at`, merges it back [`MERGE_AFTER`] after the
/// split is made, and books what its players saw until [`TAIL`] after the merge.
pub(super) async fn drive(bench: Arc<Bench>, plan: ReshapePlan) {
    tokio::time::sleep(plan.at).await;
    let known: Vec<AreaId> = bench.areas.read().keys().copied().collect();
    let busiest = {
        let sent = bench.sent_by_area.lock();
        known.iter().copied().max_by_key(|area| {
            (
                sent.get(area).copied().unwrap_or(0),
                std::cmp::Reverse(*area),
            )
        })
    };
    let Some(area) = busiest else {
        eprintln!("no area to split");
        return;
    };
    let Some(bounds) = bench.areas.read().get(&area).map(|info| info.bounds) else {
        return;
    };
    let start = Instant::now();
    {
        let mut log = bench.reshape.lock();
        log.start = Some(start);
        log.area = Some(area);
    }
    if !control(&plan, "split", area) {
        return;
    }
    eprintln!("asked for area {area}'s split");
    let split = wait_for(&bench, start, |map| {
        !map.contains_key(&area)
            && map
                .values()
                .filter(|info| bounds.contains(&info.bounds.centre()))
                .count()
                == 4
    })
    .await;
    let Some(split) = split else {
        eprintln!("area {area} was not split within {DEADLINE:?}");
        bench.reshape.lock().end = Some(Instant::now());
        return;
    };
    let children: Vec<AreaId> = match chain::areas(&bench.rpc(0)).await {
        Ok(map) => map
            .iter()
            .filter(|(_, info)| bounds.contains(&info.bounds.centre()))
            .map(|(id, _)| *id)
            .collect(),
        Err(_) => Vec::new(),
    };
    eprintln!(
        "area {area} split into {children:?} {:.1} s after the request",
        split.as_secs_f64()
    );
    {
        let mut log = bench.reshape.lock();
        log.split_after = Some(split);
        log.children = children;
    }
    tokio::time::sleep(MERGE_AFTER).await;
    let merge_start = Instant::now();
    if !control(&plan, "merge", area) {
        bench.reshape.lock().end = Some(Instant::now());
        return;
    }
    let merged = wait_for(&bench, merge_start, |map| map.contains_key(&area)).await;
    match merged {
        Some(took) => eprintln!(
            "area {area} merged back {:.1} s after the request",
            took.as_secs_f64()
        ),
        None => eprintln!("area {area} was not merged back within {DEADLINE:?}"),
    }
    bench.reshape.lock().merge_after = merged;
    tokio::time::sleep(TAIL).await;
    bench.reshape.lock().end = Some(Instant::now());
}
