//! Offences: the unsigned calls (Aura and GRANDPA equivocation reports, heartbeats), the
//! era an offence belongs to, punishment at most once per offence, and the deferred
//! slashes applied when their era comes.

use super::*;

/// Checks an unsigned call for the pool without writing state. Dispatching it with
/// `Origin::None` checks everything again.
pub fn validate_unsigned(ext: &mut Ext, call: &Call) -> Result<UnsignedValidity, Error> {
    match call {
        Call::ReportEquivocation { proof } => {
            let (_, stash) = check_equivocation(ext, proof)?;
            let mut tag = b"staking:equivocation".to_vec();
            (&stash, proof.slot).encode_to(&mut tag);
            Ok(UnsignedValidity {
                priority: EQUIVOCATION_PRIORITY,
                provides: vec![tag],
                longevity: u64::from(EraLength::get_or_default(ext).max(1)),
            })
        }
        Call::ReportVoteEquivocation { proof } => {
            let (_, stash) = check_vote_equivocation(ext, proof)?;
            let mut tag = b"staking:vote-equivocation".to_vec();
            (&stash, proof.set_id, proof.round).encode_to(&mut tag);
            Ok(UnsignedValidity {
                priority: EQUIVOCATION_PRIORITY,
                provides: vec![tag],
                longevity: u64::from(EraLength::get_or_default(ext).max(1)),
            })
        }
        Call::Heartbeat {
            heartbeat,
            signature,
        } => {
            check_heartbeat(ext, heartbeat, signature)?;
            let mut tag = b"staking:heartbeat".to_vec();
            (heartbeat.session_index, &heartbeat.validator).encode_to(&mut tag);
            Ok(UnsignedValidity {
                priority: HEARTBEAT_PRIORITY,
                provides: vec![tag],
                longevity: u64::from(session_length(ext)),
            })
        }
        _ => Err(Error::NoUnsignedValidator),
    }
}

/// Whether `signature` is a 64-byte sr25519 signature of `message` by `signer`.
pub(crate) fn verify_sr25519(signature: &[u8], message: &[u8], signer: &sr25519::Public) -> bool {
    use sp_core::Pair as _;
    match <[u8; 64]>::try_from(signature) {
        Ok(raw) => sr25519::Pair::verify(&sr25519::Signature::from_raw(raw), message, signer),
        Err(_) => false,
    }
}

/// Whether `signature` is an ed25519 signature of `message` by `signer`.
pub(crate) fn verify_ed25519(
    signature: &[u8; 64],
    message: &[u8],
    signer: &ed25519::Public,
) -> bool {
    use sp_core::Pair as _;
    ed25519::Pair::verify(&ed25519::Signature::from_raw(*signature), message, signer)
}

/// The stash whose session key of `key_type` was `public` in `era`.
pub(crate) fn key_owner(
    ext: &mut Ext,
    era: EraIndex,
    key_type: KeyTypeId,
    public: &[u8; 32],
) -> Result<AccountId32, Error> {
    session::key_owner_in_era(ext, era, key_type, public).ok_or(Error::OffenderNotValidator)
}

/// The unsealed header, if `header` claims `slot` and carries an Aura seal by `offender`.
pub(crate) fn verified_unsealed(
    header: &Header,
    slot: u64,
    offender: &sr25519::Public,
) -> Option<Header> {
    if header.digest.aura_slot() != Some(slot) {
        return None;
    }
    let (unsealed, seal) = header.split_seal();
    let signature = match seal {
        Some(arceon_primitives::DigestItem::Seal(id, signature)) if id == AURA_ENGINE_ID => {
            signature
        }
        _ => return None,
    };
    verify_sr25519(&signature, unsealed.hash().as_bytes(), offender).then_some(unsealed)
}

/// How many eras back an offence can still be punished: the bonding duration (an
/// offender's backers may have withdrawn what they bonded before that), capped by the
/// exposure history kept.
pub fn offence_window(ext: &mut Ext) -> EraIndex {
    BondingDuration::get_or_default(ext).min(HISTORY_DEPTH.saturating_sub(1))
}

/// Records when era `era` started: the runtime calls this in the era's first block,
/// after the new active set became the Aura authorities and any GRANDPA set change was
/// signalled.
pub fn note_era_start(ext: &mut Ext, era: EraIndex, start: &EraStart) {
    ErasStart::insert(ext, &era, start);
}

/// When `era` started, if that is still known (era 0 started at genesis).
pub fn era_start(ext: &mut Ext, era: EraIndex) -> Option<EraStart> {
    match ErasStart::get(ext, &era) {
        Some(start) => Some(start),
        None if era == 0 => Some(EraStart::default()),
        None => None,
    }
}

/// The eras an offence can still be punished in, newest first.
pub(crate) fn punishable_eras(ext: &mut Ext) -> impl Iterator<Item = EraIndex> {
    let active = active_era_index(ext);
    let oldest = active.saturating_sub(offence_window(ext));
    (oldest..=active).rev()
}

/// The era Aura slot `slot` belongs to: the newest whose first block was sealed before
/// `slot` (that block itself was the previous era's). `OffenceTooOld` when that era is
/// outside the window. An active era whose start was never recorded (state set up by
/// hand, or from before the records) is taken to hold every slot.
pub(crate) fn slot_era(ext: &mut Ext, slot: u64) -> Result<EraIndex, Error> {
    let active = active_era_index(ext);
    for era in punishable_eras(ext) {
        match era_start(ext, era) {
            Some(start) if era == 0 || start.slot < slot => return Ok(era),
            Some(_) => {}
            None if era == active => return Ok(era),
            None => break,
        }
    }
    Err(Error::OffenceTooOld)
}

/// The era a GRANDPA vote equivocation in set `set_id` belongs to. A set spans the eras
/// from the one that signalled it to the next change; within them the offence is placed
/// in the newest era begun by block `target` (the highest block the votes name: they
/// cannot have been cast before it existed), or in the set's first era if they name an
/// older block. A set that does not exist yet is no GRANDPA set; an offence in eras
/// outside the window, or named by a block older than the window while its set began
/// before it, is `OffenceTooOld`.
pub(crate) fn vote_era(ext: &mut Ext, set_id: u64, target: BlockNumber) -> Result<EraIndex, Error> {
    let active = active_era_index(ext);
    let Some(current) = era_start(ext, active) else {
        // No record of the active era's start: nothing older can be told apart.
        return Ok(active);
    };
    if set_id > current.finality_set {
        return Err(Error::InvalidVoteEquivocationProof);
    }
    let mut first_of_set = None;
    for era in punishable_eras(ext) {
        let Some(start) = era_start(ext, era) else {
            break;
        };
        if start.finality_set > set_id {
            continue;
        }
        if start.finality_set < set_id {
            break;
        }
        if start.block <= target {
            return Ok(era);
        }
        first_of_set = Some(era);
    }
    // Every era of the set in the window began after the voted block.
    let first = first_of_set.ok_or(Error::OffenceTooOld)?;
    let began_here =
        first == 0 || era_start(ext, first - 1).is_some_and(|before| before.finality_set < set_id);
    if began_here {
        Ok(first)
    } else {
        Err(Error::OffenceTooOld)
    }
}

/// Whether `offender` was elected in `era`: its exposure of that era is what answers for
/// an offence committed then.
pub(crate) fn offender_exposed(
    ext: &mut Ext,
    era: EraIndex,
    offender: &AccountId32,
) -> Result<(), Error> {
    if ErasStakers::contains_key(ext, &era, offender) {
        Ok(())
    } else {
        Err(Error::OffenderNotValidator)
    }
}

/// Checks a proof without writing; returns the era whose exposure is slashed and the
/// offending stash.
pub(crate) fn check_equivocation(
    ext: &mut Ext,
    proof: &EquivocationProof,
) -> Result<(EraIndex, AccountId32), Error> {
    let era = slot_era(ext, proof.slot)?;
    let stash = key_owner(ext, era, AURA_KEY_TYPE, &proof.offender.0)?;
    if ReportedOffences::contains_key(ext, &(stash.clone(), proof.slot)) {
        return Err(Error::DuplicateOffenceReport);
    }
    offender_exposed(ext, era, &stash)?;
    let first = verified_unsealed(&proof.first_header, proof.slot, &proof.offender)
        .ok_or(Error::InvalidEquivocationProof)?;
    let second = verified_unsealed(&proof.second_header, proof.slot, &proof.offender)
        .ok_or(Error::InvalidEquivocationProof)?;
    // The same block sealed twice (sr25519 signatures are randomised) is no offence.
    if first.hash() == second.hash() {
        return Err(Error::InvalidEquivocationProof);
    }
    Ok((era, stash))
}

pub(crate) fn report_equivocation(ext: &mut Ext, proof: &EquivocationProof) -> DispatchResult {
    let (exposure_era, offender) = check_equivocation(ext, proof)?;
    let active = active_era_index(ext);
    ReportedOffences::insert(ext, &(offender.clone(), proof.slot), &active);
    punish_offence(ext, &offender, exposure_era);
    deposit_event(
        ext,
        &Event::OffenceReported {
            offender,
            slot: proof.slot,
            era: exposure_era,
        },
    );
    Ok(())
}

/// Checks a vote equivocation proof without writing; returns the era whose exposure is
/// slashed and the offending stash.
pub(crate) fn check_vote_equivocation(
    ext: &mut Ext,
    proof: &VoteEquivocationProof,
) -> Result<(EraIndex, AccountId32), Error> {
    let (first, first_signature) = &proof.first;
    let (second, second_signature) = &proof.second;
    let target = first.target_number.max(second.target_number);
    let era = vote_era(ext, proof.set_id, target)?;
    let stash = key_owner(ext, era, GRANDPA_KEY_TYPE, &proof.offender.0)?;
    let key = (stash.clone(), proof.set_id, proof.round);
    if ReportedVoteOffences::contains_key(ext, &key) {
        return Err(Error::DuplicateVoteOffenceReport);
    }
    offender_exposed(ext, era, &stash)?;
    if first.stage != second.stage
        || !matches!(first.stage, STAGE_PREVOTE | STAGE_PRECOMMIT)
        || first == second
    {
        return Err(Error::InvalidVoteEquivocationProof);
    }
    for (vote, signature) in [(first, first_signature), (second, second_signature)] {
        let payload = VoteEquivocationProof::signed_payload(vote, proof.round, proof.set_id);
        if !verify_ed25519(signature, &payload, &proof.offender) {
            return Err(Error::InvalidVoteEquivocationProof);
        }
    }
    Ok((era, stash))
}

pub(crate) fn report_vote_equivocation(
    ext: &mut Ext,
    proof: &VoteEquivocationProof,
) -> DispatchResult {
    let (exposure_era, offender) = check_vote_equivocation(ext, proof)?;
    let active = active_era_index(ext);
    ReportedVoteOffences::insert(ext, &(offender.clone(), proof.set_id, proof.round), &active);
    punish_offence(ext, &offender, exposure_era);
    deposit_event(
        ext,
        &Event::VoteOffenceReported {
            offender,
            set_id: proof.set_id,
            round: proof.round,
            era: exposure_era,
        },
    );
    Ok(())
}

/// A fast-lane equivocation (two certified batches at one lane position) proven
/// against `offenders`, the committee members that signed both: each is punished as
/// for any offence in the active era (reputation, a slash of its exposure, disabling,
/// its intents, and so its committee seats), then pays an equal share of `owed` from
/// what is left of its bond. Returns what was taken for `owed` (burned here: the caller
/// pays it out).
pub fn punish_lane_equivocation(
    ext: &mut Ext,
    offenders: &[AccountId32],
    owed: Balance,
) -> Balance {
    let era = active_era_index(ext);
    take_shares(ext, offenders, owed, |ext, offender| {
        punish_offence(ext, offender, era)
    })
}

/// A fast-lane receipt the chain did not honour, certified by `signers`: each counts
/// an offence of the active era (its trust falls at the era's end) and they pay an
/// equal share of `owed` from their bonds; no slash of the exposure, no disabling.
/// Returns what was taken (burned here: the caller pays it out).
pub fn fine_lane_signers(ext: &mut Ext, signers: &[AccountId32], owed: Balance) -> Balance {
    let active = active_era_index(ext);
    take_shares(ext, signers, owed, |ext, signer| {
        count_offence(ext, active, signer)
    })
}

/// Runs `first` for each of `members`, then takes its equal share of `owed` from its
/// bond (burned); returns what was taken in all.
pub(crate) fn take_shares(
    ext: &mut Ext,
    members: &[AccountId32],
    owed: Balance,
    mut first: impl FnMut(&mut Ext, &AccountId32),
) -> Balance {
    if members.is_empty() {
        return 0;
    }
    let share = owed.div_ceil(members.len() as Balance);
    let mut taken: Balance = 0;
    for member in members {
        first(ext, member);
        let due = share.min(owed.saturating_sub(taken));
        taken = taken.saturating_add(slash_staker(ext, member, due));
    }
    taken
}

/// One more offence of `who` in era `active` (its trust falls at the era's end).
pub(crate) fn count_offence(ext: &mut Ext, active: EraIndex, who: &AccountId32) {
    let offences = ErasOffences::get(ext, &active, who).unwrap_or(0);
    ErasOffences::insert(ext, &active, who, &offences.saturating_add(1));
}

/// What every proven offence costs `offender`: reputation, a slash of its exposure in
/// `exposure_era` (once per era), disabling, and its intents.
pub(crate) fn punish_offence(ext: &mut Ext, offender: &AccountId32, exposure_era: EraIndex) {
    let offender = offender.clone();
    let active = active_era_index(ext);
    Reputation::mutate(ext, &offender, |rep| {
        rep.invalid_proposals = rep.invalid_proposals.saturating_add(1);
    });
    count_offence(ext, active, &offender);

    // One slash per exposure: further offences in the same era only cost reputation.
    if !SlashedInEra::contains_key(ext, &exposure_era, &offender) {
        let fraction = SlashFractionEquivocation::get_or_default(ext);
        SlashedInEra::insert(ext, &exposure_era, &offender, &fraction);
        // Those who backed the offender when it offended answer for it, not those who
        // backed it later (the checks made sure it was elected in `exposure_era`).
        let exposure = ErasStakers::get(ext, &exposure_era, &offender).unwrap_or_default();
        let slash = UnappliedSlash {
            validator: offender.clone(),
            own: fraction.mul_floor(exposure.own),
            others: exposure
                .others
                .iter()
                .map(|backer| (backer.who.clone(), fraction.mul_floor(backer.value)))
                .collect(),
            reporters: Vec::new(),
        };
        let defer = SlashDeferDuration::get_or_default(ext);
        let slash_era = active.saturating_add(defer);
        if defer == 0 {
            apply_slash(ext, &slash);
        } else {
            UnappliedSlashes::mutate(ext, &slash_era, |slashes| slashes.push(slash));
        }
        deposit_event(
            ext,
            &Event::SlashReported {
                validator: offender.clone(),
                fraction,
                slash_era,
            },
        );
    }

    let mut disabled = DisabledValidators::get_or_default(ext);
    if !disabled.contains(&offender) {
        disabled.push(offender.clone());
        DisabledValidators::put(ext, &disabled);
        deposit_event(
            ext,
            &Event::ValidatorDisabled {
                validator: offender.clone(),
            },
        );
    }
    // A committee candidate (active, not disabled, intending to validate) loses its
    // intent here, which marks the committees for re-selection; an offender that was no
    // candidate changes nothing there, so a stream of further reports against it costs
    // no committee refresh.
    remove_intents(ext, &offender);
}

/// Checks a heartbeat without writing.
pub(crate) fn check_heartbeat(
    ext: &mut Ext,
    heartbeat: &Heartbeat,
    signature: &[u8; 64],
) -> Result<(), Error> {
    if heartbeat.session_index != current_session(ext) {
        return Err(Error::InvalidHeartbeat);
    }
    if !active_validators(ext).contains(&heartbeat.validator) {
        return Err(Error::NotActiveValidator);
    }
    if ReceivedHeartbeats::contains_key(ext, &heartbeat.session_index, &heartbeat.validator) {
        return Err(Error::DuplicateHeartbeat);
    }
    // Signed with the Aura session key the validator authors with in this era.
    let era = active_era_index(ext);
    let Some(keys) = ErasSessionKeys::get(ext, &era, &heartbeat.validator) else {
        return Err(Error::NotActiveValidator);
    };
    if !verify_sr25519(signature, &heartbeat.encode(), &keys.aura) {
        return Err(Error::InvalidHeartbeat);
    }
    Ok(())
}

pub(crate) fn receive_heartbeat(
    ext: &mut Ext,
    heartbeat: &Heartbeat,
    signature: &[u8; 64],
) -> DispatchResult {
    check_heartbeat(ext, heartbeat, signature)?;
    ReceivedHeartbeats::insert(
        ext,
        &heartbeat.session_index,
        &heartbeat.validator,
        &heartbeat.block_number,
    );
    let era = active_era_index(ext);
    let count = ErasHeartbeats::get(ext, &era, &heartbeat.validator).unwrap_or(0);
    ErasHeartbeats::insert(ext, &era, &heartbeat.validator, &count.saturating_add(1));
    deposit_event(
        ext,
        &Event::HeartbeatReceived {
            validator: heartbeat.validator.clone(),
        },
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Slashing.
// ---------------------------------------------------------------------------------------

pub(crate) fn apply_slash(ext: &mut Ext, slash: &UnappliedSlash) {
    slash_staker(ext, &slash.validator, slash.own);
    for (who, amount) in &slash.others {
        slash_staker(ext, who, *amount);
    }
}

/// Burns up to `amount` of `who`'s bond: from the active part first, then from the
/// unlocking chunks (oldest first). The lock is lowered before the balance is burned, so
/// the staker's free balance always covers its remaining bond. Returns what was burned.
pub(crate) fn slash_staker(ext: &mut Ext, who: &AccountId32, amount: Balance) -> Balance {
    if amount == 0 {
        return 0;
    }
    let Some(mut ledger) = Ledger::get(ext, who) else {
        return 0;
    };
    let value = amount.min(ledger.total);
    let mut left = value;
    let from_active = left.min(ledger.active);
    ledger.active -= from_active;
    left -= from_active;
    for chunk in ledger.unlocking.iter_mut() {
        let take = left.min(chunk.value);
        chunk.value -= take;
        left -= take;
    }
    ledger.unlocking.retain(|chunk| chunk.value > 0);
    ledger.recompute_total();
    // The ledger stays, even when emptied (the staker may still be in the active set);
    // `withdraw_unbonded` removes an empty one.
    if put_ledger(ext, &ledger).is_err() {
        // Only a missing account makes lowering an existing lock fail; nothing to burn.
        return 0;
    }
    if ledger.active == 0 {
        remove_intents(ext, who);
    }
    let burnable = balances::reducible_balance(ext, who, Existence::AllowDeath).min(value);
    let burned = match balances::withdraw(ext, who, burnable, Existence::AllowDeath) {
        Ok(()) => burnable,
        Err(_) => 0,
    };
    deposit_event(
        ext,
        &Event::Slashed {
            staker: who.clone(),
            amount: burned,
        },
    );
    burned
}

pub(crate) fn apply_slashes(ext: &mut Ext, era: EraIndex) {
    let Some(slashes) = UnappliedSlashes::get(ext, &era) else {
        return;
    };
    UnappliedSlashes::remove(ext, &era);
    for slash in &slashes {
        apply_slash(ext, slash);
    }
}
