//! Bonding: stake, unstake and rebond, and the validator and nominator intents, keeping
//! every ledger equal to its stash's `staking ` lock (the crate's invariants).

use super::*;

/// Writes the ledger and sets the lock to its total.
pub(crate) fn put_ledger(ext: &mut Ext, ledger: &StakingLedger) -> DispatchResult {
    balances::set_lock(
        ext,
        STAKING_LOCK_ID,
        &ledger.stash,
        ledger.total,
        Reasons::All,
    )?;
    Ledger::insert(ext, &ledger.stash, ledger);
    Ok(())
}

/// Removes validator and nominator intent; returns whether validator intent was removed.
/// Emits `Chilled` when anything was removed.
pub(crate) fn remove_intents(ext: &mut Ext, who: &AccountId32) -> bool {
    let was_validator = Validators::contains_key(ext, who);
    let was_nominator = Nominators::contains_key(ext, who);
    if was_validator {
        Validators::remove(ext, who);
        CounterForValidators::mutate(ext, |count| *count = count.saturating_sub(1));
        CommitteeDirty::put(ext, &true);
    }
    if was_nominator {
        Nominators::remove(ext, who);
        CounterForNominators::mutate(ext, |count| *count = count.saturating_sub(1));
    }
    if was_validator || was_nominator {
        deposit_event(ext, &Event::Chilled { stash: who.clone() });
    }
    was_validator
}

/// Removes the ledger, the lock and any intent.
pub(crate) fn kill_stash(ext: &mut Ext, who: &AccountId32) {
    Ledger::remove(ext, who);
    balances::remove_lock(ext, STAKING_LOCK_ID, who);
    remove_intents(ext, who);
}

/// The least active bond the account's role needs.
pub(crate) fn min_active_bond(ext: &mut Ext, who: &AccountId32) -> Balance {
    if Validators::contains_key(ext, who) {
        MinValidatorBond::get_or_default(ext)
    } else if Nominators::contains_key(ext, who) {
        MinNominatorBond::get_or_default(ext)
    } else {
        0
    }
}

pub(crate) fn bond(ext: &mut Ext, who: &AccountId32, value: Balance) -> DispatchResult {
    if Ledger::contains_key(ext, who) {
        return Err(Error::AlreadyBonded.into());
    }
    if value < balances::EXISTENTIAL_DEPOSIT {
        return Err(Error::InsufficientBond.into());
    }
    if value > balances::free_balance(ext, who) {
        return Err(Error::InsufficientBalance.into());
    }
    let ledger = StakingLedger {
        stash: who.clone(),
        total: value,
        active: value,
        unlocking: Vec::new(),
    };
    put_ledger(ext, &ledger)?;
    deposit_event(
        ext,
        &Event::Bonded {
            stash: who.clone(),
            amount: value,
        },
    );
    Ok(())
}

pub(crate) fn bond_extra(
    ext: &mut Ext,
    who: &AccountId32,
    max_additional: Balance,
) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotStash)?;
    let available = balances::free_balance(ext, who).saturating_sub(ledger.total);
    let extra = max_additional.min(available);
    if extra == 0 {
        return Err(Error::InsufficientBalance.into());
    }
    ledger.active = ledger.active.saturating_add(extra);
    ledger.recompute_total();
    put_ledger(ext, &ledger)?;
    deposit_event(
        ext,
        &Event::Bonded {
            stash: who.clone(),
            amount: extra,
        },
    );
    Ok(())
}

pub(crate) fn unbond(ext: &mut Ext, who: &AccountId32, value: Balance) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    let mut value = value.min(ledger.active);
    if value == 0 {
        return Ok(());
    }
    let mut remaining = ledger.active - value;
    // Never leave an unspendable sliver bonded.
    if remaining < balances::EXISTENTIAL_DEPOSIT {
        value = ledger.active;
        remaining = 0;
    }
    if remaining > 0 && remaining < min_active_bond(ext, who) {
        return Err(Error::InsufficientBond.into());
    }
    let era = CurrentEra::get_or_default(ext).saturating_add(BondingDuration::get_or_default(ext));
    match ledger.unlocking.last_mut() {
        Some(chunk) if chunk.era == era => chunk.value = chunk.value.saturating_add(value),
        _ => {
            if ledger.unlocking.len() >= MAX_UNLOCKING_CHUNKS {
                return Err(Error::NoMoreChunks.into());
            }
            ledger.unlocking.push(UnlockChunk { value, era });
        }
    }
    ledger.active = remaining;
    ledger.recompute_total();
    put_ledger(ext, &ledger)?;
    if remaining == 0 {
        // Nothing left to back a role with.
        remove_intents(ext, who);
    }
    deposit_event(
        ext,
        &Event::Unbonded {
            stash: who.clone(),
            amount: value,
        },
    );
    Ok(())
}

pub(crate) fn withdraw_unbonded(ext: &mut Ext, who: &AccountId32) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    let current = CurrentEra::get_or_default(ext);
    let before = ledger.total;
    ledger.unlocking.retain(|chunk| chunk.era > current);
    ledger.recompute_total();
    let emptied = ledger.unlocking.is_empty() && ledger.active < balances::EXISTENTIAL_DEPOSIT;
    // An active validator keeps its ledger until it leaves the set.
    let withdrawn = if emptied && !active_validators(ext).contains(who) {
        // Nothing (or only dust) stays bonded: release everything.
        kill_stash(ext, who);
        before
    } else {
        let withdrawn = before.saturating_sub(ledger.total);
        if withdrawn > 0 {
            put_ledger(ext, &ledger)?;
        }
        withdrawn
    };
    if withdrawn > 0 {
        deposit_event(
            ext,
            &Event::Withdrawn {
                stash: who.clone(),
                amount: withdrawn,
            },
        );
    }
    Ok(())
}

pub(crate) fn rebond(ext: &mut Ext, who: &AccountId32, value: Balance) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    if ledger.unlocking.is_empty() {
        return Err(Error::NoUnlockChunk.into());
    }
    let mut left = value;
    let mut rebonded: Balance = 0;
    while left > 0 {
        let Some(chunk) = ledger.unlocking.last_mut() else {
            break;
        };
        if chunk.value <= left {
            left -= chunk.value;
            rebonded = rebonded.saturating_add(chunk.value);
            ledger.unlocking.pop();
        } else {
            chunk.value -= left;
            rebonded = rebonded.saturating_add(left);
            left = 0;
        }
    }
    ledger.active = ledger.active.saturating_add(rebonded);
    if ledger.active < balances::EXISTENTIAL_DEPOSIT {
        return Err(Error::InsufficientBond.into());
    }
    ledger.recompute_total();
    put_ledger(ext, &ledger)?;
    deposit_event(
        ext,
        &Event::Bonded {
            stash: who.clone(),
            amount: rebonded,
        },
    );
    Ok(())
}

pub(crate) fn validate(ext: &mut Ext, who: &AccountId32, prefs: ValidatorPrefs) -> DispatchResult {
    let ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    if ledger.active == 0 || ledger.active < MinValidatorBond::get_or_default(ext) {
        return Err(Error::InsufficientBond.into());
    }
    if !Validators::contains_key(ext, who) {
        let count = CounterForValidators::get_or_default(ext);
        if count >= MAX_VALIDATOR_INTENTS {
            return Err(Error::TooManyValidators.into());
        }
        CounterForValidators::put(ext, &count.saturating_add(1));
    }
    if Nominators::contains_key(ext, who) {
        Nominators::remove(ext, who);
        CounterForNominators::mutate(ext, |count| *count = count.saturating_sub(1));
    }
    Validators::insert(ext, who, &prefs);
    deposit_event(
        ext,
        &Event::ValidatorPrefsSet {
            stash: who.clone(),
            prefs,
        },
    );
    Ok(())
}

pub(crate) fn nominate(
    ext: &mut Ext,
    who: &AccountId32,
    targets: &[MultiAddress],
) -> DispatchResult {
    let ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    if ledger.active == 0 || ledger.active < MinNominatorBond::get_or_default(ext) {
        return Err(Error::InsufficientBond.into());
    }
    if targets.is_empty() {
        return Err(Error::EmptyTargets.into());
    }
    if targets.len() > MAX_NOMINATIONS {
        return Err(Error::TooManyTargets.into());
    }
    let mut seen = BTreeSet::new();
    let mut resolved = Vec::with_capacity(targets.len());
    for target in targets {
        let target = lookup(target)?;
        if !seen.insert(target.clone()) {
            return Err(Error::DuplicateTarget.into());
        }
        if target == *who || !Validators::contains_key(ext, &target) {
            return Err(Error::BadTarget.into());
        }
        resolved.push(target);
    }
    if !Nominators::contains_key(ext, who) {
        let count = CounterForNominators::get_or_default(ext);
        if count >= MAX_NOMINATOR_INTENTS {
            return Err(Error::TooManyNominators.into());
        }
        CounterForNominators::put(ext, &count.saturating_add(1));
    }
    if Validators::contains_key(ext, who) {
        Validators::remove(ext, who);
        CounterForValidators::mutate(ext, |count| *count = count.saturating_sub(1));
        CommitteeDirty::put(ext, &true);
    }
    let nominations = Nominations {
        targets: resolved.clone(),
        submitted_in: CurrentEra::get_or_default(ext),
    };
    Nominators::insert(ext, who, &nominations);
    deposit_event(
        ext,
        &Event::Nominated {
            stash: who.clone(),
            targets: resolved,
        },
    );
    Ok(())
}

pub(crate) fn chill(ext: &mut Ext, who: &AccountId32) -> DispatchResult {
    if !Ledger::contains_key(ext, who) {
        return Err(Error::NotController.into());
    }
    remove_intents(ext, who);
    Ok(())
}
