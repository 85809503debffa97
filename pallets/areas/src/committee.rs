//! Area committees, chosen by weighted rendezvous hashing and changed as little as
//! possible.
//!
//! **Method.** For area `a` and candidate `v` with weight `w` (stake times trust, below),
//! let `h = (u + 1) / 2^64` where `u` is the first 8 bytes (little endian) of
//! `blake2_256(SCALE(a) ++ v)`, so `h` is uniform in `(0, 1]`. The candidate's score is
//! `w / -log2(h)`, computed in integers as `(w << 32) / L` with `L = -log2(h)` in 32-bit
//! fixed point (exact integer log2 by repeated squaring). This is weighted rendezvous
//! hashing (Schindelhauer and Schomaker, "Weighted distributed hash tables", 2005):
//! `-ln(h) / w` is exponentially distributed with rate `w`, so the highest score — the
//! smallest such variable — belongs to `v` with probability `w(v) / sum(w)`; using log2
//! instead of ln scales every score by the same constant and changes no ranking. The
//! committee's best members are the top scores, i.e. weighted sampling without
//! replacement.
//!
//! **Why weighted.** A committee orders an area's actions and signs its receipts; the
//! stake behind its members is what a misbehaving member can be slashed, and trust
//! (reputation, parts per billion) reflects its record. Weighting by both puts areas in
//! the hands of those with the most at risk and the best record, in proportion, while
//! every validator still serves some areas. Weight = `max(stake >> s, 1) * (PPB / 10 +
//! min(trust, PPB))`, where `s` is the smallest shift that fits the largest stake in 64
//! bits (so weights fit `u128` after the fixed-point shift); the trust floor of a tenth
//! keeps a newcomer without reputation selectable.
//!
//! **Minimal movement.** A committee keeps every member that is still a candidate. Only
//! seats left empty (members that left or lost eligibility, a new area, a grown target
//! size) are filled, by the best-scoring non-members; if the primary left, the
//! best-scoring remaining member becomes primary; replicas keep their order (the
//! view-change order). A committee larger than the target (the size was lowered) drops
//! its lowest-scoring replicas. Rendezvous scores do not depend on the other candidates,
//! so a validator joining or leaving moves no other area.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use arceon_primitives::{blake2_256, AccountId32, BlockNumber};
use arceon_support::Ext;
use codec::Encode;

use crate::{
    committee_size, deposit_event, AreaAuthority, AreaId, Areas, Authorities, Candidate,
    Candidates, Event, RetiredVersions, MAX_CANDIDATES, MIN_COMMITTEE, PPB,
};

/// The first 8 bytes (little endian) of `blake2_256(SCALE(area) ++ who)`.
pub fn rendezvous_hash(area: AreaId, who: &AccountId32) -> u64 {
    let mut input = [0u8; 36];
    area.using_encoded(|encoded| input[..4].copy_from_slice(encoded));
    input[4..].copy_from_slice(who.as_ref());
    let hash = blake2_256(&input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(first)
}

/// `log2(x)` in 32-bit fixed point, for `1 <= x <= 2^64` (0 for `x = 0`).
fn log2_fixed(x: u128) -> u128 {
    if x == 0 {
        return 0;
    }
    let integer = 127 - x.leading_zeros();
    // The mantissa in [1, 2) with 63 fractional bits.
    let mut mantissa: u128 = if integer >= 63 {
        x >> (integer - 63)
    } else {
        x << (63 - integer)
    };
    let mut fraction: u128 = 0;
    for bit in (0..32).rev() {
        // mantissa < 2^64, so the square fits in u128.
        mantissa = (mantissa * mantissa) >> 63;
        if mantissa >= 1 << 64 {
            mantissa >>= 1;
            fraction |= 1 << bit;
        }
    }
    (u128::from(integer) << 32) | fraction
}

/// The rendezvous score of `who` with effective weight `weight` for `area`:
/// `weight / -log2(h)` (see the module documentation). Higher is better.
pub fn rendezvous_score(area: AreaId, who: &AccountId32, weight: u128) -> u128 {
    let h = u128::from(rendezvous_hash(area, who)) + 1;
    let minus_log2 = ((64u128 << 32) - log2_fixed(h)).max(1);
    (weight.min(u128::MAX >> 32) << 32) / minus_log2
}

/// The eligible validators of one rebalance: distinct, at most [`MAX_CANDIDATES`]
/// (largest stakes first), sorted by account, with their rendezvous weights.
pub(crate) struct Pool {
    list: Vec<Candidate>,
    /// `weights[i]` is the weight of `list[i]`.
    weights: Vec<u128>,
}

impl Pool {
    pub(crate) fn new(candidates: &[Candidate]) -> Pool {
        let mut seen = BTreeSet::new();
        let mut list: Vec<Candidate> = candidates
            .iter()
            .filter(|candidate| seen.insert(candidate.who.clone()))
            .cloned()
            .collect();
        if list.len() > MAX_CANDIDATES {
            list.sort_by(|a, b| b.stake.cmp(&a.stake).then_with(|| a.who.cmp(&b.who)));
            list.truncate(MAX_CANDIDATES);
        }
        list.sort_by(|a, b| a.who.cmp(&b.who));
        // The smallest shift that fits the largest stake in 64 bits.
        let largest = list
            .iter()
            .map(|candidate| candidate.stake)
            .max()
            .unwrap_or(0);
        let shift = (128 - largest.leading_zeros()).saturating_sub(64);
        let weights = list
            .iter()
            .map(|candidate| {
                let stake = (candidate.stake >> shift).max(1);
                let trust = u128::from(PPB / 10 + candidate.trust.min(PPB));
                stake * trust
            })
            .collect();
        Pool { list, weights }
    }

    fn index(&self, who: &AccountId32) -> Option<usize> {
        self.list
            .binary_search_by(|candidate| candidate.who.cmp(who))
            .ok()
    }

    fn contains(&self, who: &AccountId32) -> bool {
        self.index(who).is_some()
    }

    /// `who`'s score for `area` (0 for a non-candidate).
    fn score(&self, area: AreaId, who: &AccountId32) -> u128 {
        self.index(who)
            .and_then(|index| self.weights.get(index))
            .map_or(0, |weight| rendezvous_score(area, who, *weight))
    }

    /// The best `count` candidates for `area` that are not in `taken`, best first
    /// (highest score, then lowest account).
    fn best(&self, area: AreaId, taken: &[&AccountId32], count: usize) -> Vec<AccountId32> {
        if count == 0 {
            return Vec::new();
        }
        let mut keyed: Vec<(Reverse<u128>, &AccountId32)> = self
            .list
            .iter()
            .zip(&self.weights)
            .filter(|(candidate, _)| !taken.contains(&&candidate.who))
            .map(|(candidate, weight)| {
                let score = rendezvous_score(area, &candidate.who, *weight);
                (Reverse(score), &candidate.who)
            })
            .collect();
        if keyed.len() > count {
            keyed.select_nth_unstable(count - 1);
            keyed.truncate(count);
        }
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, who)| who.clone()).collect()
    }

    /// The index of the best (`best = true`) or worst member of `members` for `area`.
    fn pick(&self, area: AreaId, members: &[AccountId32], best: bool) -> Option<usize> {
        let keyed = members
            .iter()
            .enumerate()
            .map(|(index, who)| ((Reverse(self.score(area, who)), who), index));
        let chosen = if best { keyed.min() } else { keyed.max() };
        chosen.map(|(_, index)| index)
    }
}

/// Removes `area`'s committee, remembering its version for the next one.
pub(crate) fn retire(ext: &mut Ext, area: AreaId) {
    if let Some(authority) = Authorities::get(ext, &area) {
        RetiredVersions::insert(ext, &area, &authority.version);
        Authorities::remove(ext, &area);
    }
}

/// Brings the committee of the active area `area` to `target` members from `pool`,
/// moving as few members as possible (see the module documentation).
fn refresh(ext: &mut Ext, area: AreaId, pool: &Pool, target: usize, now: BlockNumber) {
    if target == 0 {
        retire(ext, area);
        deposit_event(ext, &Event::CommitteeUnderstaffed { area, members: 0 });
        return;
    }
    let current = Authorities::get(ext, &area);
    let mut primary: Option<AccountId32> = None;
    let mut replicas: Vec<AccountId32> = Vec::new();
    if let Some(authority) = &current {
        for (index, who) in authority.members().into_iter().enumerate() {
            if !pool.contains(&who) || primary.as_ref() == Some(&who) || replicas.contains(&who) {
                continue;
            }
            if index == 0 {
                primary = Some(who);
            } else {
                replicas.push(who);
            }
        }
    }
    let mut count = usize::from(primary.is_some()) + replicas.len();
    while count > target {
        let Some(worst) = pool.pick(area, &replicas, false) else {
            break;
        };
        replicas.remove(worst);
        count -= 1;
    }
    let mut fresh: Vec<AccountId32> = Vec::new();
    if count < target {
        let taken: Vec<&AccountId32> = primary.iter().chain(replicas.iter()).collect();
        fresh = pool.best(area, &taken, target - count);
    }
    let primary = match primary {
        Some(primary) => primary,
        // The primary left: the best remaining member (who holds the lane's state)
        // takes over; only a committee with no one left gets a newcomer as primary.
        None => match pool.pick(area, &replicas, true) {
            Some(best) => replicas.remove(best),
            None if !fresh.is_empty() => fresh.remove(0),
            None => {
                retire(ext, area);
                deposit_event(ext, &Event::CommitteeUnderstaffed { area, members: 0 });
                return;
            }
        },
    };
    replicas.extend(fresh);
    let unchanged = current
        .as_ref()
        .is_some_and(|c| c.primary == primary && c.replicas == replicas);
    if !unchanged {
        let previous = match &current {
            Some(authority) => authority.version,
            None => RetiredVersions::get(ext, &area).unwrap_or(0),
        };
        let version = previous.saturating_add(1);
        let authority = AreaAuthority {
            area_id: area,
            primary: primary.clone(),
            replicas: replicas.clone(),
            version,
            last_update: now,
        };
        Authorities::insert(ext, &area, &authority);
        RetiredVersions::remove(ext, &area);
        deposit_event(
            ext,
            &Event::CommitteeChanged {
                area,
                primary,
                replicas: replicas.clone(),
                version,
            },
        );
    }
    let members = 1 + replicas.len();
    if members < MIN_COMMITTEE {
        deposit_event(
            ext,
            &Event::CommitteeUnderstaffed {
                area,
                members: members as u32,
            },
        );
    }
}

/// Rebalances every committee over `candidates` at block `now` (called by the runtime
/// at genesis and, through [`crate::new_era`], at every era change). Active areas get
/// `min(CommitteeSize, candidates)` members, changing only where a member left or a
/// seat is empty (see the module documentation); inactive areas lose their committee.
/// `version` and `last_update` change, and `CommitteeChanged` is deposited, only for
/// committees that changed; `CommitteeUnderstaffed` is deposited for every area left
/// with fewer than [`MIN_COMMITTEE`] members. The candidates are stored for staffing
/// areas root creates or reshapes before the next rebalance.
pub fn rebalance(ext: &mut Ext, candidates: &[Candidate], now: BlockNumber) {
    let pool = Pool::new(candidates);
    Candidates::put(ext, &pool.list);
    let target = usize::from(committee_size(ext)).min(pool.list.len());
    let mut areas = Areas::iter(ext);
    areas.sort_by_key(|(id, _)| *id);
    for (id, area) in &areas {
        if area.active {
            refresh(ext, *id, &pool, target, now);
        } else {
            retire(ext, *id);
        }
    }
    for (id, _) in Authorities::iter(ext) {
        if !Areas::contains_key(ext, &id) {
            Authorities::remove(ext, &id);
        }
    }
}

/// Staffs (or, if inactive, retires) the committees of `areas` only, from the candidates
/// of the last rebalance.
pub(crate) fn staff(ext: &mut Ext, areas: &[AreaId], now: BlockNumber) {
    let pool = Pool::new(&Candidates::get_or_default(ext));
    let target = usize::from(committee_size(ext)).min(pool.list.len());
    for id in areas {
        match Areas::get(ext, id) {
            Some(area) if area.active => refresh(ext, *id, &pool, target, now),
            _ => retire(ext, *id),
        }
    }
}

/// The members of `area`'s committee, primary first; empty when it has none.
pub fn committee_of(ext: &mut Ext, area: AreaId) -> Vec<AccountId32> {
    Authorities::get(ext, &area)
        .map(|authority| authority.members())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_fixed_is_exact_on_powers_and_close_elsewhere() {
        assert_eq!(log2_fixed(1), 0);
        assert_eq!(log2_fixed(2), 1 << 32);
        assert_eq!(log2_fixed(1 << 40), 40 << 32);
        assert_eq!(log2_fixed(1u128 << 64), 64 << 32);
        // log2(3) = 1.584962500721156...
        let expected = (1.584_962_500_721_156_f64 * (1u64 << 32) as f64) as i128;
        assert!((log2_fixed(3) as i128 - expected).abs() <= 2);
        let expected = (63.999_999_999_999_999_92_f64 * (1u64 << 32) as f64) as i128;
        assert!((log2_fixed(u128::from(u64::MAX)) as i128 - expected).abs() <= 2);
    }

    #[test]
    fn scores_grow_with_weight_and_never_overflow() {
        let who = AccountId32::new([7; 32]);
        let low = rendezvous_score(1, &who, 1_000);
        let high = rendezvous_score(1, &who, 10_000);
        assert!(high >= 9 * low && high <= 11 * low);
        let _ = rendezvous_score(1, &who, u128::MAX);
    }
}
