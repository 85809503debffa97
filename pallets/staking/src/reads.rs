//! Read helpers for the runtime and other pallets: the active set and era, sessions,
//! ledgers, reputation, the crate's invariants, committee candidates, authorship notes.

use super::*;

/// The active era's validators, in order.
pub fn active_validators(ext: &mut Ext) -> Vec<AccountId32> {
    ActiveValidators::get_or_default(ext)
}

/// The active era.
pub fn active_era_index(ext: &mut Ext) -> EraIndex {
    ActiveEra::get_or_default(ext).index
}

/// The current session.
pub fn current_session(ext: &mut Ext) -> SessionIndex {
    CurrentSession::get_or_default(ext)
}

/// Blocks per session (at least one).
pub fn session_length(ext: &mut Ext) -> BlockNumber {
    let era_length = EraLength::get_or_default(ext).max(1);
    let sessions = SessionsPerEra::get_or_default(ext).max(1);
    (era_length / sessions).max(1)
}

/// The account's ledger, if it bonded.
pub fn ledger(ext: &mut Ext, who: &AccountId32) -> Option<StakingLedger> {
    Ledger::get(ext, who)
}

/// The account's reputation (a new validator's if it has none).
pub fn reputation(ext: &mut Ext, who: &AccountId32) -> NodeReputation {
    Reputation::get(ext, who).unwrap_or_default()
}

/// Whether the validator is disabled for the rest of the era.
pub fn is_disabled(ext: &mut Ext, who: &AccountId32) -> bool {
    DisabledValidators::get_or_default(ext).contains(who)
}

/// Checks staking's invariants at this state: every ledger is its stash's, `active` plus
/// the unlocking chunks is `total`, the bond never exceeds the free balance and is exactly
/// the staking lock; the active set is bounded, without duplicates, and every
/// member has a ledger. Names the first broken one.
pub fn check_invariants(ext: &mut Ext) -> Result<(), String> {
    for (who, ledger) in Ledger::iter(ext) {
        if ledger.stash != who {
            return Err(format!("{who}: ledger belongs to {}", ledger.stash));
        }
        let unlocking = ledger
            .unlocking
            .iter()
            .fold(0u128, |sum, chunk| sum.saturating_add(chunk.value));
        if ledger.active.saturating_add(unlocking) != ledger.total {
            return Err(format!("{who}: active + unlocking != total"));
        }
        let free = balances::free_balance(ext, &who);
        if ledger.total > free {
            return Err(format!(
                "{who}: bonded {} exceeds free balance {free}",
                ledger.total
            ));
        }
        let lock = balances::locks(ext, &who)
            .iter()
            .find(|lock| lock.id == STAKING_LOCK_ID)
            .map(|lock| lock.amount)
            .unwrap_or(0);
        if lock != ledger.total {
            return Err(format!(
                "{who}: staking lock {lock} differs from bond {}",
                ledger.total
            ));
        }
    }
    let set = active_validators(ext);
    if set.len() > MAX_VALIDATOR_COUNT as usize {
        return Err(format!("active set of {} is too large", set.len()));
    }
    let unique: BTreeSet<&AccountId32> = set.iter().collect();
    if unique.len() != set.len() {
        return Err("duplicate member in the active set".to_string());
    }
    for who in &set {
        if !Ledger::contains_key(ext, who) {
            return Err(format!("{who}: active without a ledger"));
        }
    }
    Ok(())
}

/// Active validators that still intend to validate and are not disabled, in active-set
/// order, with their backing and trust: who may serve on area committees.
pub fn committee_candidates(ext: &mut Ext) -> Vec<CommitteeCandidate> {
    let era = active_era_index(ext);
    let disabled = DisabledValidators::get_or_default(ext);
    let mut candidates = Vec::new();
    for who in active_validators(ext) {
        if disabled.contains(&who) || !Validators::contains_key(ext, &who) {
            continue;
        }
        let stake = ErasStakers::get(ext, &era, &who)
            .map(|exposure| exposure.total)
            .unwrap_or(0);
        let trust = reputation(ext, &who).trust_score;
        candidates.push(CommitteeCandidate { who, stake, trust });
    }
    candidates
}

/// Whether the committee candidates may have changed since the last call; clears the flag.
pub fn take_committee_dirty(ext: &mut Ext) -> bool {
    let dirty = CommitteeDirty::get_or_default(ext);
    if dirty {
        CommitteeDirty::kill(ext);
    }
    dirty
}

/// Credits the block's author (called by the runtime once per block): reward points and
/// an authored block in the active era. Authors outside the active set are ignored.
pub fn note_author(ext: &mut Ext, author: &AccountId32) {
    if !active_validators(ext).contains(author) {
        return;
    }
    let era = active_era_index(ext);
    ErasRewardPoints::mutate(ext, &era, |points| {
        points.total = points.total.saturating_add(REWARD_POINTS_PER_BLOCK);
        match points
            .individual
            .binary_search_by(|(who, _)| who.cmp(author))
        {
            Ok(i) => {
                if let Some(entry) = points.individual.get_mut(i) {
                    entry.1 = entry.1.saturating_add(REWARD_POINTS_PER_BLOCK);
                }
            }
            Err(i) => points
                .individual
                .insert(i, (author.clone(), REWARD_POINTS_PER_BLOCK)),
        }
    });
    let authored = AuthoredBlocks::get(ext, &era, author).unwrap_or(0);
    AuthoredBlocks::insert(ext, &era, author, &authored.saturating_add(1));
}
