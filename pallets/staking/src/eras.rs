//! Sessions and eras: the block hooks that start sessions and eras, era payouts by reward
//! points, reputation updates, and the election of the active validator set.

use super::*;

impl arceon_support::Hooks for Pallet {
    /// Starts a new era when the active one has lasted `EraLength` blocks (or one was
    /// forced), else a new session at every session boundary.
    fn on_initialize(ext: &mut Ext, n: BlockNumber) -> Weight {
        let active = ActiveEra::get_or_default(ext);
        let era_length = EraLength::get_or_default(ext).max(1);
        let forced = ForceNewEra::get_or_default(ext);
        if n > active.start && (forced || n >= active.start.saturating_add(era_length)) {
            let intents = CounterForValidators::get_or_default(ext);
            let nominators = CounterForNominators::get_or_default(ext);
            let set = u32::try_from(active_validators(ext).len()).unwrap_or(u32::MAX);
            new_era(ext, n);
            return weights::new_era(intents, nominators, set);
        }
        let elapsed = n.saturating_sub(active.start);
        let length = session_length(ext);
        let sessions = SessionsPerEra::get_or_default(ext).max(1);
        if elapsed > 0 && elapsed.is_multiple_of(length) && elapsed / length < sessions {
            new_session(ext);
            return weights::NEW_SESSION;
        }
        weights::ON_INITIALIZE
    }
}

pub(crate) fn new_session(ext: &mut Ext) {
    let ended = current_session(ext);
    let session_index = ended.saturating_add(1);
    CurrentSession::put(ext, &session_index);
    // Heartbeats are only accepted for the current session: the old ones are spent.
    ReceivedHeartbeats::clear_prefix(ext, &ended);
    deposit_event(ext, &Event::NewSession { session_index });
}

/// Ends the active era at block `n` and starts the next: pays it, rates its validators,
/// applies the slashes due, elects the next set and records its exposures.
pub(crate) fn new_era(ext: &mut Ext, n: BlockNumber) {
    let active = ActiveEra::get_or_default(ext);
    let ending = active.index;
    let next = ending.saturating_add(1);
    let previous_set = active_validators(ext);

    let (validator_payout, remainder) = pay_era(ext, ending);
    update_reputation(ext, ending, &previous_set, n, active.start);
    // Slashes first, so the new exposures show what is really left at stake.
    apply_slashes(ext, next);

    let mut elected = elect(ext);
    if elected.is_empty() {
        deposit_event(ext, &Event::StakingElectionFailed);
        elected = keep_previous(ext, ending, &previous_set);
    } else {
        deposit_event(ext, &Event::StakersElected);
    }
    let validators: Vec<AccountId32> = elected.iter().map(|e| e.who.clone()).collect();
    for entry in &elected {
        ErasStakers::insert(ext, &next, &entry.who, &entry.exposure);
        ErasValidatorPrefs::insert(ext, &next, &entry.who, &entry.prefs);
    }
    ActiveValidators::put(ext, &validators);
    DisabledValidators::kill(ext);

    CurrentEra::put(ext, &next);
    ActiveEra::put(
        ext,
        &ActiveEraInfo {
            index: next,
            start: n,
        },
    );
    new_session(ext);
    session::rotate(ext, next);
    let first_session = current_session(ext);
    EraStartSession::put(ext, &first_session);
    ForceNewEra::kill(ext);
    CommitteeDirty::put(ext, &true);
    prune_history(ext, next);

    deposit_event(
        ext,
        &Event::EraPaid {
            era_index: ending,
            validator_payout,
            remainder,
        },
    );
    deposit_event(
        ext,
        &Event::NewEra {
            era_index: next,
            validators,
        },
    );
}

/// Drops per-era records older than [`HISTORY_DEPTH`] eras (each holds at most a few
/// hundred entries: the active set and the offenders).
pub(crate) fn prune_history(ext: &mut Ext, next: EraIndex) {
    let Some(old) = next.checked_sub(HISTORY_DEPTH) else {
        return;
    };
    ErasStart::remove(ext, &old);
    ErasStakers::clear_prefix(ext, &old);
    ErasValidatorPrefs::clear_prefix(ext, &old);
    ErasRewardPoints::remove(ext, &old);
    ErasValidatorReward::remove(ext, &old);
    SlashedInEra::clear_prefix(ext, &old);
    ErasHeartbeats::clear_prefix(ext, &old);
    AuthoredBlocks::clear_prefix(ext, &old);
    ErasOffences::clear_prefix(ext, &old);
    ErasSessionKeys::clear_prefix(ext, &old);
    ErasKeyOwner::clear_prefix(ext, &old);
}

/// Mints the era's payout by reward points: each validator's share is split into its
/// commission, then pro rata to its own stake and its nominators' by exposure. Returns
/// (minted, not minted).
pub(crate) fn pay_era(ext: &mut Ext, era: EraIndex) -> (Balance, Balance) {
    let payout = EraPayout::get_or_default(ext);
    let points = ErasRewardPoints::get(ext, &era).unwrap_or_default();
    let mut minted: Balance = 0;
    if payout > 0 && points.total > 0 {
        let mut pay = |ext: &mut Ext, who: &AccountId32, amount: Balance| {
            if amount > 0 && balances::deposit_creating(ext, who, amount) {
                minted = minted.saturating_add(amount);
            }
        };
        for (validator, validator_points) in &points.individual {
            let share = multiply_by_rational(
                payout,
                u128::from(*validator_points),
                u128::from(points.total),
            );
            let commission = ErasValidatorPrefs::get(ext, &era, validator)
                .map_or(Perbill::zero(), |prefs| prefs.commission);
            let commission_part = commission.mul_floor(share);
            let rest = share.saturating_sub(commission_part);
            match ErasStakers::get(ext, &era, validator) {
                Some(exposure) if exposure.total > 0 => {
                    let own_part = multiply_by_rational(rest, exposure.own, exposure.total);
                    pay(ext, validator, commission_part.saturating_add(own_part));
                    for backer in &exposure.others {
                        let part = multiply_by_rational(rest, backer.value, exposure.total);
                        pay(ext, &backer.who, part);
                    }
                }
                _ => pay(ext, validator, share),
            }
        }
    }
    ErasValidatorReward::insert(ext, &era, &minted);
    (minted, payout.saturating_sub(minted))
}

/// Rates the ending era's validators from heartbeats and authored blocks, and penalises
/// every offender reported in it.
pub(crate) fn update_reputation(
    ext: &mut Ext,
    era: EraIndex,
    validators: &[AccountId32],
    n: BlockNumber,
    start: BlockNumber,
) {
    let sessions = current_session(ext)
        .saturating_sub(EraStartSession::get_or_default(ext))
        .saturating_add(1);
    // Block 0 is genesis, not authored: the genesis era's blocks start at 1.
    let blocks = n.saturating_sub(start.max(1));
    let set_size = validators.len() as u128;
    let penalty = |offences: u32| INVALID_PROPOSAL_PENALTY.saturating_mul_int(offences);
    for who in validators {
        let mut rep = reputation(ext, who);
        let heartbeats = ErasHeartbeats::get(ext, &era, who).unwrap_or(0);
        rep.uptime_score = Perbill::from_rational(u128::from(heartbeats), u128::from(sessions));
        let authored = AuthoredBlocks::get(ext, &era, who).unwrap_or(0);
        // authored / (blocks / set size), without rounding the fair share.
        rep.consensus_participation = Perbill::from_rational(
            u128::from(authored).saturating_mul(set_size),
            u128::from(blocks),
        );
        let blended = (2 * u64::from(rep.trust_score.deconstruct())
            + u64::from(rep.uptime_score.deconstruct())
            + u64::from(rep.consensus_participation.deconstruct()))
            / 4;
        let offences = ErasOffences::get(ext, &era, who).unwrap_or(0);
        rep.trust_score = Perbill::from_parts(u32::try_from(blended).unwrap_or(u32::MAX))
            .saturating_sub(penalty(offences));
        Reputation::insert(ext, who, &rep);
    }
    // Offenders that were not in the ending set (previous-era offences).
    for (who, offences) in ErasOffences::iter_prefix(ext, &era, None, usize::MAX) {
        if validators.contains(&who) {
            continue;
        }
        let mut rep = reputation(ext, &who);
        rep.trust_score = rep.trust_score.saturating_sub(penalty(offences));
        Reputation::insert(ext, &who, &rep);
    }
}

/// One elected validator.
pub(crate) struct Elected {
    pub(crate) who: AccountId32,
    pub(crate) exposure: Exposure,
    pub(crate) prefs: ValidatorPrefs,
}

/// Picks the next active set: validators with intent, not disabled, with an active bond
/// of at least `MinValidatorBond`, ranked by backing (own bond plus nominations, each
/// nominator's active bond split equally among its eligible targets, at most
/// [`MAX_NOMINATORS_REWARDED_PER_VALIDATOR`] largest backers counted), ties broken by
/// account bytes; the top `ValidatorCount`.
pub(crate) fn elect(ext: &mut Ext) -> Vec<Elected> {
    let min_validator = MinValidatorBond::get_or_default(ext);
    let min_nominator = MinNominatorBond::get_or_default(ext);
    let disabled = DisabledValidators::get_or_default(ext);

    let mut candidates: BTreeMap<AccountId32, (ValidatorPrefs, Balance)> = BTreeMap::new();
    for (who, prefs) in Validators::iter(ext) {
        if disabled.contains(&who) {
            continue;
        }
        let active = Ledger::get(ext, &who).map_or(0, |ledger| ledger.active);
        if active == 0 || active < min_validator {
            continue;
        }
        candidates.insert(who, (prefs, active));
    }

    let mut backers: BTreeMap<AccountId32, Vec<IndividualExposure>> = BTreeMap::new();
    for (nominator, nominations) in Nominators::iter(ext) {
        if candidates.contains_key(&nominator) {
            continue;
        }
        let active = Ledger::get(ext, &nominator).map_or(0, |ledger| ledger.active);
        if active == 0 || active < min_nominator {
            continue;
        }
        let targets: BTreeSet<&AccountId32> = nominations
            .targets
            .iter()
            .filter(|target| candidates.contains_key(*target))
            .collect();
        let count = targets.len() as u128;
        if count == 0 {
            continue;
        }
        let (share, rest) = (active / count, active % count);
        for (i, target) in targets.into_iter().enumerate() {
            let value = if i == 0 { share + rest } else { share };
            if value > 0 {
                backers
                    .entry(target.clone())
                    .or_default()
                    .push(IndividualExposure {
                        who: nominator.clone(),
                        value,
                    });
            }
        }
    }

    let mut ranked: Vec<Elected> = candidates
        .into_iter()
        .map(|(who, (prefs, own))| {
            let mut others = backers.remove(&who).unwrap_or_default();
            others.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.who.cmp(&b.who)));
            others.truncate(MAX_NOMINATORS_REWARDED_PER_VALIDATOR);
            let total = others
                .iter()
                .fold(own, |sum, backer| sum.saturating_add(backer.value));
            Elected {
                who,
                exposure: Exposure { total, own, others },
                prefs,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.exposure
            .total
            .cmp(&a.exposure.total)
            .then_with(|| a.who.cmp(&b.who))
    });
    let count = ValidatorCount::get_or_default(ext).min(MAX_VALIDATOR_COUNT) as usize;
    ranked.truncate(count);
    ranked
}

/// The previous set, when nobody is electable: the chain must keep authors. Members that
/// still have a ledger are kept with their own bond as exposure; if none has, all stay.
pub(crate) fn keep_previous(
    ext: &mut Ext,
    ending: EraIndex,
    previous: &[AccountId32],
) -> Vec<Elected> {
    let mut kept = Vec::new();
    for who in previous {
        if let Some(ledger) = Ledger::get(ext, who) {
            let prefs = match Validators::get(ext, who) {
                Some(prefs) => prefs,
                None => ErasValidatorPrefs::get(ext, &ending, who).unwrap_or_default(),
            };
            kept.push(Elected {
                who: who.clone(),
                exposure: Exposure {
                    total: ledger.active,
                    own: ledger.active,
                    others: Vec::new(),
                },
                prefs,
            });
        }
    }
    if kept.is_empty() {
        kept = previous
            .iter()
            .map(|who| Elected {
                who: who.clone(),
                exposure: Exposure::default(),
                prefs: ValidatorPrefs::default(),
            })
            .collect();
    }
    kept
}
