//! The glue between the world pallets and staking. Pallets do not know each other's
//! storage beyond their declared dependencies (players on areas; structures and NPCs on
//! areas and players); what must happen across them happens here:
//! - at an era change, the new active set becomes the Aura authorities (and, if it
//!   differs, is signalled as the next GRANDPA set in the header digest), staking records
//!   the era's start slot, block and GRANDPA set (to place offences in eras), area
//!   committees are re-chosen from the eligible validators, busy areas split and quiet
//!   ones merge, and players, structures and NPCs follow the map by position;
//! - when a validator chills or is slashed mid-era, committees are re-chosen at once so
//!   that it is never a primary.

use arceon_primitives::{ed25519, sr25519, BlockNumber};
use arceon_support::{DispatchResult, Ext, Origin, Weight};

use crate::{areas, aura, grandpa, npcs, players, staking, structures};

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

/// Dispatches an areas call; a forced split or merge queues its change, which moves the
/// area's residents here, in the same transaction.
pub fn dispatch_areas(ext: &mut Ext, origin: Origin, call: areas::Call) -> DispatchResult {
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
