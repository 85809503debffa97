//! Genesis: the stakers and staking parameters of a chain spec, and how they are built
//! into storage.

use super::*;

/// Genesis: stakers and the staking parameters. Balances must be built first (the
/// stakers' bonds are locked from their free balances).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GenesisConfig {
    /// `(account, bond, role)`.
    pub stakers: Vec<(AccountId32, Balance, StakerStatus)>,
    /// Validators to elect (1 to [`MAX_VALIDATOR_COUNT`]).
    pub validator_count: u32,
    /// The least active bond to validate.
    pub min_validator_bond: Balance,
    /// The least active bond to nominate.
    pub min_nominator_bond: Balance,
    /// Blocks per era.
    pub era_length: BlockNumber,
    /// Sessions per era (at most `era_length`).
    pub sessions_per_era: u32,
    /// Eras before unbonded funds can be withdrawn.
    pub bonding_duration: EraIndex,
    /// Eras between an offence and its slash (below `bonding_duration`).
    pub slash_defer_duration: EraIndex,
    /// ArcM minted as rewards per era.
    pub era_payout: Balance,
    /// The share of its exposure an equivocating validator loses.
    pub slash_fraction_equivocation: Perbill,
}

/// One-hour eras of 1-second blocks in six sessions, a day's bonding, no inflation.
impl Default for GenesisConfig {
    fn default() -> Self {
        GenesisConfig {
            stakers: Vec::new(),
            validator_count: 4,
            min_validator_bond: 0,
            min_nominator_bond: 0,
            era_length: 3_600,
            sessions_per_era: 6,
            bonding_duration: 24,
            slash_defer_duration: 6,
            era_payout: 0,
            slash_fraction_equivocation: Perbill::from_percent(10),
        }
    }
}

/// Why a staking genesis configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// `era_length` is zero, or `sessions_per_era` is zero or more than `era_length`.
    #[error("era length {era_length} with {sessions_per_era} sessions per era is unusable")]
    InvalidEraLength {
        /// Blocks per era.
        era_length: BlockNumber,
        /// Sessions per era.
        sessions_per_era: u32,
    },
    /// `validator_count` is zero or above the cap.
    #[error("validator count {0} is not between 1 and {MAX_VALIDATOR_COUNT}")]
    InvalidValidatorCount(u32),
    /// Slashes would come after the offender could have withdrawn.
    #[error("slash defer duration {slash_defer_duration} is not below the bonding duration {bonding_duration}")]
    SlashDeferTooLong {
        /// Eras a slash waits.
        slash_defer_duration: EraIndex,
        /// Eras an unbond waits.
        bonding_duration: EraIndex,
    },
    /// The same account is listed twice.
    #[error("staker {0} is listed twice")]
    DuplicateStaker(AccountId32),
    /// The staker's free balance (built by balances' genesis) is below its bond.
    #[error("staker {0} does not have the balance it bonds")]
    InsufficientBalance(AccountId32),
    /// A bond below the existential deposit.
    #[error("staker {0} bonds less than the existential deposit")]
    BondBelowExistentialDeposit(AccountId32),
    /// A validator bonds less than `min_validator_bond`.
    #[error("validator {0} bonds less than the minimum validator bond")]
    BelowMinValidatorBond(AccountId32),
    /// A nominator bonds less than `min_nominator_bond`.
    #[error("nominator {0} bonds less than the minimum nominator bond")]
    BelowMinNominatorBond(AccountId32),
    /// Nominations that are empty, too many, duplicated, or not of genesis validators.
    #[error("nominator {0} has invalid nominations")]
    BadNominations(AccountId32),
    /// More validators or nominators than the caps allow.
    #[error("more stakers than the validator or nominator caps allow")]
    TooManyStakers,
    /// Stakers are given but none of them can be elected validator.
    #[error("genesis has stakers but elects no validator")]
    NoValidators,
    /// None of the validators elected at genesis has session keys (`session.keys`).
    #[error("no validator elected at genesis has session keys: add them to session.keys")]
    NoSessionKeys,
    /// The bond could not be locked: the account already carries the most locks.
    #[error("cannot lock the bond of {0}")]
    Lock(AccountId32),
}

impl arceon_support::BuildGenesis for GenesisConfig {
    type Error = GenesisError;

    /// Checks the configuration, bonds and locks the stakers, and elects era 0's set.
    fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        self.check(ext)?;
        EraLength::put(ext, &self.era_length);
        SessionsPerEra::put(ext, &self.sessions_per_era);
        ValidatorCount::put(ext, &self.validator_count);
        MinValidatorBond::put(ext, &self.min_validator_bond);
        MinNominatorBond::put(ext, &self.min_nominator_bond);
        BondingDuration::put(ext, &self.bonding_duration);
        SlashDeferDuration::put(ext, &self.slash_defer_duration);
        EraPayout::put(ext, &self.era_payout);
        SlashFractionEquivocation::put(ext, &self.slash_fraction_equivocation);
        let mut validators = 0u32;
        let mut nominators = 0u32;
        for (who, bond, status) in &self.stakers {
            let ledger = StakingLedger {
                stash: who.clone(),
                total: *bond,
                active: *bond,
                unlocking: Vec::new(),
            };
            put_ledger(ext, &ledger).map_err(|_| GenesisError::Lock(who.clone()))?;
            match status {
                StakerStatus::Validator => {
                    Validators::insert(ext, who, &ValidatorPrefs::default());
                    validators += 1;
                }
                StakerStatus::Nominator(targets) => {
                    let nominations = Nominations {
                        targets: targets.clone(),
                        submitted_in: 0,
                    };
                    Nominators::insert(ext, who, &nominations);
                    nominators += 1;
                }
                StakerStatus::Idle => {}
            }
        }
        CounterForValidators::put(ext, &validators);
        CounterForNominators::put(ext, &nominators);
        let elected = elect(ext);
        // No stakers at all: staking is unused at genesis and the chain spec's Aura
        // authorities author until validators bond.
        if elected.is_empty() && !self.stakers.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        let set: Vec<AccountId32> = elected.iter().map(|e| e.who.clone()).collect();
        for entry in &elected {
            ErasStakers::insert(ext, &0, &entry.who, &entry.exposure);
            ErasValidatorPrefs::insert(ext, &0, &entry.who, &entry.prefs);
        }
        ActiveValidators::put(ext, &set);
        CurrentEra::put(ext, &0);
        ActiveEra::put(ext, &ActiveEraInfo { index: 0, start: 0 });
        CurrentSession::put(ext, &0);
        EraStartSession::put(ext, &0);
        if !set.is_empty() && !session::rotate(ext, 0) {
            return Err(GenesisError::NoSessionKeys);
        }
        CommitteeDirty::put(ext, &true);
        Ok(())
    }
}

impl GenesisConfig {
    /// Every check that does not need writing.
    fn check(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        if self.era_length == 0
            || self.sessions_per_era == 0
            || self.sessions_per_era > self.era_length
        {
            return Err(GenesisError::InvalidEraLength {
                era_length: self.era_length,
                sessions_per_era: self.sessions_per_era,
            });
        }
        if self.validator_count == 0 || self.validator_count > MAX_VALIDATOR_COUNT {
            return Err(GenesisError::InvalidValidatorCount(self.validator_count));
        }
        if self.slash_defer_duration >= self.bonding_duration.max(1) {
            return Err(GenesisError::SlashDeferTooLong {
                slash_defer_duration: self.slash_defer_duration,
                bonding_duration: self.bonding_duration,
            });
        }
        let mut seen = BTreeSet::new();
        let mut validators = BTreeSet::new();
        let mut nominators = 0usize;
        for (who, bond, status) in &self.stakers {
            if !seen.insert(who.clone()) {
                return Err(GenesisError::DuplicateStaker(who.clone()));
            }
            if *bond < balances::EXISTENTIAL_DEPOSIT {
                return Err(GenesisError::BondBelowExistentialDeposit(who.clone()));
            }
            if balances::free_balance(ext, who) < *bond {
                return Err(GenesisError::InsufficientBalance(who.clone()));
            }
            if balances::locks(ext, who).len() >= balances::MAX_LOCKS {
                return Err(GenesisError::Lock(who.clone()));
            }
            match status {
                StakerStatus::Validator => {
                    if *bond < self.min_validator_bond {
                        return Err(GenesisError::BelowMinValidatorBond(who.clone()));
                    }
                    validators.insert(who.clone());
                }
                StakerStatus::Nominator(_) => {
                    if *bond < self.min_nominator_bond {
                        return Err(GenesisError::BelowMinNominatorBond(who.clone()));
                    }
                    nominators += 1;
                }
                StakerStatus::Idle => {}
            }
        }
        if validators.len() > MAX_VALIDATOR_INTENTS as usize
            || nominators > MAX_NOMINATOR_INTENTS as usize
        {
            return Err(GenesisError::TooManyStakers);
        }
        for (who, _, status) in &self.stakers {
            if let StakerStatus::Nominator(targets) = status {
                let unique: BTreeSet<&AccountId32> = targets.iter().collect();
                let valid = !targets.is_empty()
                    && targets.len() <= MAX_NOMINATIONS
                    && unique.len() == targets.len()
                    && targets.iter().all(|t| validators.contains(t) && t != who);
                if !valid {
                    return Err(GenesisError::BadNominations(who.clone()));
                }
            }
        }
        if validators.is_empty() && !self.stakers.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        Ok(())
    }
}
