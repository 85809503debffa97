//! The glue between the world pallets and staking. Pallets do not know each other's
//! storage beyond their declared dependencies (players on areas; structures and NPCs on
//! areas and players); what must happen across them happens here:
//! - at an era change, the new active set becomes the Aura authorities (and, if it
//!   differs, is signalled as the next GRANDPA set in the header digest), staking records
//!   the era's start slot, block and GRANDPA set (to place offences in eras), area
//!   committees are re-chosen from the eligible validators, busy areas split and quiet
//!   ones merge, and players, structures and NPCs follow the map by position;
//! - when a validator chills or is slashed mid-era, committees are re-chosen at once so
//!   that it is never a primary;
//! - on a chain whose players act through fast lanes, a split or merge (an era's, or
//!   root's) is scheduled instead of made: the lanes of the areas it ends are sealed by
//!   their committees (`FastLane.end_lane`), and the reshape is made at the end of the
//!   first block where the chain holds every batch up to each seal ([`reshape_when_ready`]),
//!   so no receipted lane action is lost; after [`RESHAPE_DEADLINE_BLOCKS`] it is made
//!   anyway (a committee without a quorum cannot seal; its receipts can be challenged).

use arceon_primitives::{ed25519, sr25519, BlockNumber};
use arceon_support::{DispatchResult, Ext, Origin, Weight};

use crate::{areas, aura, fastlane, grandpa, npcs, players, staking, structures};

/// How many blocks a scheduled split or merge waits at most for the lanes it ends.
pub const RESHAPE_DEADLINE_BLOCKS: BlockNumber = 60;
/// Weight of checking one scheduled reshape's lanes (a seal and a lane head per area).
const RESHAPE_CHECK_WEIGHT: Weight = Weight::from_parts(20_000_000, 2_000);

/// Weight of migrating one split or merged area's residents (players, structures and
/// NPCs of one area, each pallet bounded by its per-area limit).
const AREA_CHANGE_WEIGHT: Weight = Weight::from_parts(2_000_000_000, 0);

/// An upper bound on the number of areas (ids are never reused), for weights.
fn area_bound(ext: &mut Ext) -> usize {
    areas::NextAreaId::get_or_default(ext) as usize
}

/// The validators eligible for area committees, as the areas pallet weighs them.
pub fn committee_candidates(ext: &mut Ext) -> Vec<areas::Candidate> {
    staking::committee_candidates(ext)
        .into_iter()
        .map(|candidate| areas::Candidate {
            who: candidate.who,
            stake: candidate.stake,
            trust: candidate.trust.deconstruct(),
        })
        .collect()
}

/// Follows staking after its `on_initialize`: an era change (the active era differs from
/// `era_before`) or a mid-era loss of eligibility.
pub fn follow_staking(ext: &mut Ext, n: BlockNumber, era_before: u32) -> Weight {
    let era = staking::active_era_index(ext);
    let dirty = staking::take_committee_dirty(ext);
    if era != era_before {
        // The era's authoring validators, with the session keys they registered.
        let set = staking::session::authoring_set(ext);
        let authorities: Vec<sr25519::Public> = set.iter().map(|(_, keys)| keys.aura).collect();
        let previous = aura::authorities(ext);
        if !authorities.is_empty() && authorities != previous {
            aura::Authorities::put(ext, &authorities);
        }
        // Finality follows the session keys: a different GRANDPA key set (GRANDPA
        // ignores order) becomes the next set once this block is final.
        let voters: Vec<ed25519::Public> = set.iter().map(|(_, keys)| keys.grandpa).collect();
        let (mut next, mut before) = (voters.clone(), grandpa::authorities(ext));
        next.sort();
        before.sort();
        if !voters.is_empty() && next != before {
            grandpa::schedule_change(ext, &voters);
        }
        // Offences are stated in slots and GRANDPA sets; staking needs to know which era
        // they fall in to slash the exposure of that era.
        let start = staking::EraStart {
            block: n,
            slot: aura::CurrentSlot::get_or_default(ext),
            finality_set: grandpa::current_set_id(ext),
        };
        staking::note_era_start(ext, era, &start);
        players::on_new_era(ext, era);
        let candidates = committee_candidates(ext);
        let weight = areas::weights::new_era(area_bound(ext), candidates.len());
        if fastlane::in_use(ext) {
            areas::new_era_scheduling(ext, era, &candidates, n);
            return weight;
        }
        let changes = areas::new_era(ext, era, &candidates, n);
        let count = changes.len() as u64;
        for change in &changes {
            apply_area_change(ext, change);
        }
        weight.saturating_add(AREA_CHANGE_WEIGHT.saturating_mul(count))
    } else if dirty {
        let candidates = committee_candidates(ext);
        areas::rebalance(ext, &candidates, n);
        areas::weights::rebalance(area_bound(ext), candidates.len())
    } else {
        Weight::from_parts(0, 0)
    }
}

/// Re-chooses area committees at once when a validator lost eligibility (chill, slash)
/// since the last choice; returns the weight spent.
pub fn refresh_committees(ext: &mut Ext, n: BlockNumber) -> Weight {
    if !staking::take_committee_dirty(ext) {
        return Weight::from_parts(0, 0);
    }
    let candidates = committee_candidates(ext);
    areas::rebalance(ext, &candidates, n);
    areas::weights::rebalance(area_bound(ext), candidates.len())
}

/// Moves everything positioned in a split or merged area to where it now belongs.
pub fn apply_area_change(ext: &mut Ext, change: &areas::AreaChange) {
    match change {
        areas::AreaChange::Split { parent, children } => {
            let targets: Vec<(areas::AreaId, areas::Bounds)> = children
                .iter()
                .filter_map(|child| areas::area(ext, *child).map(|area| (*child, area.bounds)))
                .collect();
            migrate(ext, *parent, &targets);
        }
        areas::AreaChange::Merged { children, into } => {
            let Some(parent) = areas::area(ext, *into) else {
                ext.record_fault(format!("merged area {into} is missing"));
                return;
            };
            let targets = [(*into, parent.bounds)];
            for child in children {
                migrate(ext, *child, &targets);
            }
        }
    }
}

fn migrate(ext: &mut Ext, from: areas::AreaId, targets: &[(areas::AreaId, areas::Bounds)]) {
    players::migrate_area(ext, from, targets);
    structures::migrate_area(ext, from, targets);
    npcs::migrate_area(ext, from, targets);
}

/// Makes the scheduled splits and merges whose lanes have ended and whose batches are
/// all in the chain, or that waited [`RESHAPE_DEADLINE_BLOCKS`]; returns the weight.
pub fn reshape_when_ready(ext: &mut Ext, n: BlockNumber) -> Weight {
    let scheduled = areas::scheduled(ext);
    let mut weight = RESHAPE_CHECK_WEIGHT.saturating_mul(scheduled.len() as u64);
    for waiting in scheduled {
        let ending = areas::ending_of(ext, &waiting.reshape);
        let ready = ending.iter().all(|area| {
            fastlane::lane_closed(ext, *area) || areas::authority(ext, *area).is_none()
        });
        let late = n >= waiting.since.saturating_add(RESHAPE_DEADLINE_BLOCKS);
        if !ready && !late {
            continue;
        }
        areas::unschedule(ext, &waiting.reshape);
        match areas::reshape_now(ext, waiting.reshape, n) {
            Ok(change) => {
                let mut ended = ending;
                if let areas::AreaChange::Merged { into, .. } = &change {
                    ended.push(*into);
                }
                for area in ended {
                    fastlane::forget_end(ext, area);
                }
                apply_area_change(ext, &change);
                weight = weight.saturating_add(AREA_CHANGE_WEIGHT);
            }
            // The map changed since it was scheduled (root edited it): the reshape is
            // dropped; the ended lanes start again under new committee versions.
            Err(_) => {
                for area in &ending {
                    fastlane::forget_end(ext, *area);
                }
                areas::renew_committees(ext, &ending, n);
            }
        }
    }
    weight
}

/// Dispatches an areas call; a forced split or merge queues its change, which moves the
/// area's residents here, in the same transaction. On a chain whose players act through
/// the fast lanes, it is scheduled instead (see the module doc).
pub fn dispatch_areas(ext: &mut Ext, origin: Origin, call: areas::Call) -> DispatchResult {
    let reshape = match &call {
        areas::Call::ForceSplit { id } => Some(areas::Reshape::Split { area: *id }),
        areas::Call::ForceMerge { parent } => Some(areas::Reshape::Merge { parent: *parent }),
        _ => None,
    };
    if let Some(reshape) = reshape.filter(|_| fastlane::in_use(ext)) {
        arceon_support::ensure_root(origin)?;
        let n = crate::system::Number::get_or_default(ext);
        return areas::schedule(ext, reshape, n);
    }
    call.dispatch(ext, origin)?;
    for change in areas::take_pending_changes(ext) {
        apply_area_change(ext, &change);
    }
    Ok(())
}

/// Checks every cross-pallet invariant of the world at this state; the first broken one
/// is named. Used by tests after every block and by `arceon-node check-state`.
pub fn check_invariants(ext: &mut Ext) -> Result<(), String> {
    let issuance = arceon_pallet_balances::total_issuance(ext);
    let sum: u128 = arceon_pallet_system::Account::iter(ext)
        .into_iter()
        .map(|(_, info)| info.data.free.saturating_add(info.data.reserved))
        .sum();
    if issuance != sum {
        return Err(format!(
            "total issuance {issuance} differs from the sum of balances {sum}"
        ));
    }
    staking::check_invariants(ext).map_err(|e| format!("staking: {e}"))?;
    areas::check_invariants(ext).map_err(|e| format!("areas: {e}"))?;
    let candidates = committee_candidates(ext);
    areas::check_committees(ext, &candidates).map_err(|e| format!("committees: {e}"))?;
    players::check_invariants(ext).map_err(|e| format!("players: {e}"))?;
    structures::check_invariants(ext).map_err(|e| format!("structures: {e}"))?;
    npcs::check_invariants(ext).map_err(|e| format!("npcs: {e}"))?;
    Ok(())
}
