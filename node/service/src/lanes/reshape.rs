//! Splits and merges: the lanes of the areas a scheduled reshape ends are sealed and
//! their end goes on chain before the map changes.
//!
//! On a chain whose players act through the lanes, the runtime schedules a split or
//! merge instead of making it (`Areas.Scheduled`). A node serving the lane of an area it
//! ends retires the lane, exactly as in a committee handover ([`Lane::retire`]: sealing
//! views carry what a quorum holds and sequence nothing new; submissions are refused as
//! retired), in the last [`RETIRE_LEAD_PERCENT`] of a slot: the lane keeps receipting
//! until then, and its seal and last batches still reach the next slot's block. Once
//! sealed, the node submits the seal as the unsigned `FastLane.end_lane`
//! through its pool, again every [`END_RESUBMIT`] until a block holds it (every member
//! does; the pool takes one per area). The runtime makes the reshape at the end of the first block
//! where the chain holds every batch up to each seal, and the child (or merged) areas'
//! new committees start their lanes from the chain.

use super::*;
use arceon_runtime::Call;

/// How often a sealed lane's end is offered to the pool again until a block holds it.
const END_RESUBMIT: Duration = Duration::from_secs(2);
/// How much of a slot (percent) before its end an ending lane retires.
const RETIRE_LEAD_PERCENT: u64 = 40;

/// The lane of an area a scheduled reshape ends.
#[derive(Default)]
pub(super) struct Ending {
    /// The end the chain holds (`FastLane.Ends`), once it does.
    pub(super) on_chain: Option<LaneHead>,
    /// This node's seal of the lane, once sealed.
    pub(super) seal: Option<Seal>,
    /// When the seal last went to the pool.
    pub(super) offered: Option<Instant>,
}

impl Worker {
    /// Reads which lanes the chain's scheduled reshapes end, and the ends it holds.
    pub(super) fn read_endings(&mut self, ext: &mut Ext) {
        let ending = areas::ending_areas(ext);
        if !ending.is_empty() {
            self.slot_ms = arceon_runtime::aura::slot_duration(ext);
        }
        self.endings.retain(|area, _| ending.contains(area));
        for area in ending {
            let on_chain = fastlane::Ends::get(ext, &area);
            self.endings.entry(area).or_default().on_chain = on_chain;
        }
    }

    /// Whether `area`'s lane has ended on chain (no lane of it may start).
    pub(super) fn ended(&self, area: AreaId) -> bool {
        self.endings
            .get(&area)
            .is_some_and(|ending| ending.on_chain.is_some())
    }

    /// Moves every ending lane on: retires it, offers its seal to the pool, and drops it
    /// once the chain holds its end.
    pub(super) fn end_lanes(&mut self) {
        let areas: Vec<AreaId> = self.endings.keys().copied().collect();
        for area in areas {
            if self.ended(area) {
                if self.lanes.remove(&area).is_some() {
                    log::info!(
                        "fast lane {area}: ended on chain after batch {}; the area is reshaped once blocks hold it",
                        self.endings[&area].on_chain.as_ref().map_or(0, |end| end.height)
                    );
                }
                continue;
            }
            let Some(lane) = self.lanes.get_mut(&area) else {
                continue;
            };
            if !lane.sealing() {
                // Late in the slot, so that the next block can take the seal.
                let slot = self.slot_ms.max(1);
                if slot - unix_ms() % slot > slot * RETIRE_LEAD_PERCENT / 100 {
                    continue;
                }
                log::info!(
                    "fast lane {area}: the area is about to be split or merged: sealing its lane"
                );
                let outputs = lane.retire(&mut self.overlay, unix_ms());
                self.carry_out(area, outputs);
            }
            let sealed = self.lanes.get(&area).and_then(Lane::sealed);
            let Some(ending) = self.endings.get_mut(&area) else {
                continue;
            };
            if ending.seal.is_none() {
                if let Some(seal) = sealed {
                    log::info!(
                        "fast lane {area}: version {} sealed after batch {} (view {}) for the reshape",
                        seal.version,
                        seal.head.height,
                        seal.view
                    );
                    ending.seal = Some(seal);
                }
            }
            let due = ending.offered.is_none_or(|at| at.elapsed() >= END_RESUBMIT);
            if let (Some(seal), true) = (&ending.seal, due) {
                ending.offered = Some(Instant::now());
                crate::pool_evidence(
                    &self.service.client,
                    &self.service.pool,
                    Call::FastLane(fastlane::Call::EndLane {
                        seal: Box::new(seal.clone()),
                    }),
                    "lane end",
                );
            }
        }
    }
}
