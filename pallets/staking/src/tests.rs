use super::*;
use arceon_pallet_system as system;
use arceon_primitives::{keyring::Keyring, Digest, DigestItem, ARCM, H256};
use arceon_support::{BuildGenesis, Hooks, MemoryState};
use proptest::prelude::*;
use sp_core::Pair as _;

const ED: Balance = balances::EXISTENTIAL_DEPOSIT;

fn alice() -> AccountId32 {
    Keyring::Alice.account()
}
fn bob() -> AccountId32 {
    Keyring::Bob.account()
}
fn charlie() -> AccountId32 {
    Keyring::Charlie.account()
}
fn dave() -> AccountId32 {
    Keyring::Dave.account()
}
fn eve() -> AccountId32 {
    Keyring::Eve.account()
}
fn ferdie() -> AccountId32 {
    Keyring::Ferdie.account()
}

/// Everyone starts with 1,000 ArcM.
fn endowments() -> Vec<(AccountId32, Balance)> {
    Keyring::ALL
        .iter()
        .map(|k| (k.account(), 1_000 * ARCM))
        .collect()
}

/// Alice (100) and Bob (50) are elected, Eve (20) validates but is third, Charlie (30)
/// nominates Alice; Dave and Ferdie have not bonded. Eras of 10 blocks in two sessions.
fn config() -> GenesisConfig {
    GenesisConfig {
        stakers: vec![
            (alice(), 100 * ARCM, StakerStatus::Validator),
            (bob(), 50 * ARCM, StakerStatus::Validator),
            (eve(), 20 * ARCM, StakerStatus::Validator),
            (charlie(), 30 * ARCM, StakerStatus::Nominator(vec![alice()])),
        ],
        validator_count: 2,
        min_validator_bond: 10 * ARCM,
        min_nominator_bond: 5 * ARCM,
        era_length: 10,
        sessions_per_era: 2,
        bonding_duration: 3,
        slash_defer_duration: 2,
        era_payout: 1_000 * ARCM,
        slash_fraction_equivocation: Perbill::from_percent(10),
    }
}

/// Builds system, balances and staking genesis, in the runtime's order.
fn try_build(
    balances: &[(AccountId32, Balance)],
    staking: &GenesisConfig,
) -> Result<MemoryState, GenesisError> {
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    system::build_genesis(&mut ext, "arceon", 1);
    balances::GenesisConfig {
        balances: balances.to_vec(),
    }
    .build(&mut ext)
    .expect("balances genesis");
    // Every dev account has its dev session keys (sr25519 aura = its account key).
    session::GenesisConfig {
        keys: Keyring::ALL
            .iter()
            .map(|k| (k.account(), k.account(), k.session_keys()))
            .collect(),
    }
    .build(&mut ext)
    .expect("session genesis");
    staking.build(&mut ext)?;
    Ok(ext
        .into_changes()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

fn build(staking: &GenesisConfig) -> MemoryState {
    try_build(&endowments(), staking).expect("staking genesis")
}

fn standard() -> MemoryState {
    build(&config())
}

/// Runs a dispatch as the executive does: in a transactional layer.
fn dispatch(ext: &mut Ext, origin: Origin, call: Call) -> DispatchResult {
    ext.transactional(|ext| call.dispatch(ext, origin))
}

fn signed(who: &AccountId32) -> Origin {
    Origin::Signed(who.clone())
}

fn error(e: Error) -> Result<(), DispatchError> {
    Err(e.into())
}

/// Runs `on_initialize` for every block up to `n`, crediting `author(block)` if any.
/// Block `b` claims slot `b`; at every era change the era's start is recorded as the
/// runtime does, with a new GRANDPA set whenever the active set's membership changed.
fn run_to_block_with(
    ext: &mut Ext,
    n: BlockNumber,
    mut author: impl FnMut(BlockNumber) -> Option<AccountId32>,
) {
    let now = system::Number::get_or_default(ext);
    for block in now + 1..=n {
        system::Number::put(ext, &block);
        let era_before = active_era_index(ext);
        let set_before: BTreeSet<AccountId32> = active_validators(ext).into_iter().collect();
        Pallet::on_initialize(ext, block);
        let era = active_era_index(ext);
        if era != era_before {
            let set: BTreeSet<AccountId32> = active_validators(ext).into_iter().collect();
            let previous = era_start(ext, era_before).expect("the previous era's start");
            let finality_set = previous.finality_set + u64::from(set != set_before);
            let start = EraStart {
                block,
                slot: u64::from(block),
                finality_set,
            };
            note_era_start(ext, era, &start);
        }
        if let Some(who) = author(block) {
            note_author(ext, &who);
        }
    }
}

fn run_to_block(ext: &mut Ext, n: BlockNumber) {
    run_to_block_with(ext, n, |_| None);
}

/// Runs blocks until the next era has started.
fn next_era(ext: &mut Ext) {
    let era = active_era_index(ext);
    while active_era_index(ext) == era {
        let next = system::Number::get_or_default(ext) + 1;
        run_to_block(ext, next);
    }
}

struct Events(Vec<Vec<u8>>);

impl Events {
    fn contains(&self, event: &Event) -> bool {
        let mut encoded = vec![PALLET_INDEX];
        event.encode_to(&mut encoded);
        self.0
            .iter()
            .any(|record| record.windows(encoded.len()).any(|w| w == encoded))
    }
}

fn events(ext: &mut Ext) -> Events {
    Events(ext.take_events())
}

fn free(ext: &mut Ext, who: &AccountId32) -> Balance {
    balances::free_balance(ext, who)
}

fn staking_lock(ext: &mut Ext, who: &AccountId32) -> Option<Balance> {
    balances::locks(ext, who)
        .iter()
        .find(|lock| lock.id == STAKING_LOCK_ID)
        .map(|lock| lock.amount)
}

fn total_issuance(ext: &mut Ext) -> Balance {
    balances::total_issuance(ext)
}

/// The invariants every test ends with.
fn assert_invariants(ext: &mut Ext) {
    let sum: Balance = system::Account::iter(ext)
        .into_iter()
        .map(|(_, info)| info.data.free + info.data.reserved)
        .sum();
    assert_eq!(total_issuance(ext), sum, "issuance == sum of balances");
    for (who, ledger) in Ledger::iter(ext) {
        assert_eq!(ledger.stash, who);
        let unlocking: Balance = ledger.unlocking.iter().map(|c| c.value).sum();
        assert_eq!(
            ledger.active + unlocking,
            ledger.total,
            "{who}: active + unlocking"
        );
        assert!(
            ledger.total <= free(ext, &who),
            "{who}: bonded more than free"
        );
        // An emptied ledger (slashed to nothing) has no lock left.
        assert_eq!(
            staking_lock(ext, &who).unwrap_or(0),
            ledger.total,
            "{who}: lock"
        );
        assert!(ledger.unlocking.len() <= MAX_UNLOCKING_CHUNKS);
        assert!(ledger.unlocking.iter().all(|c| c.value > 0));
    }
    for (who, _) in balances::Locks::iter(ext) {
        if staking_lock(ext, &who).is_some() {
            assert!(
                Ledger::contains_key(ext, &who),
                "{who}: lock without ledger"
            );
        }
    }
    let set = active_validators(ext);
    assert!(!set.is_empty(), "active set is empty");
    assert!(set.len() <= MAX_VALIDATOR_COUNT as usize);
    let unique: BTreeSet<_> = set.iter().collect();
    assert_eq!(unique.len(), set.len(), "duplicate in the active set");
    for who in &set {
        assert!(
            Ledger::contains_key(ext, who),
            "{who}: active without ledger"
        );
    }
    let validators = Validators::iter(ext);
    let nominators = Nominators::iter(ext);
    assert_eq!(
        CounterForValidators::get_or_default(ext) as usize,
        validators.len()
    );
    assert_eq!(
        CounterForNominators::get_or_default(ext) as usize,
        nominators.len()
    );
    for (who, _) in &validators {
        assert!(Ledger::contains_key(ext, who));
        assert!(!Nominators::contains_key(ext, who), "{who}: both roles");
    }
    for (who, nominations) in &nominators {
        assert!(Ledger::contains_key(ext, who));
        assert!(!nominations.targets.is_empty());
        assert!(nominations.targets.len() <= MAX_NOMINATIONS);
    }
    assert!(!ext.has_fault(), "storage fault");
}

fn sealed_header(key: Keyring, slot: u64, parent: u8) -> Header {
    let mut header = Header {
        parent_hash: H256::repeat_byte(parent),
        number: 5,
        state_root: H256::repeat_byte(2),
        extrinsics_root: H256::repeat_byte(3),
        digest: Digest {
            logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
        },
    };
    let signature = key.pair().sign(header.hash().as_bytes());
    header.digest.logs.push(DigestItem::Seal(
        AURA_ENGINE_ID,
        AsRef::<[u8]>::as_ref(&signature).to_vec(),
    ));
    header
}

fn equivocation(key: Keyring, slot: u64) -> EquivocationProof {
    EquivocationProof {
        offender: key.session_keys().aura,
        slot,
        first_header: sealed_header(key, slot, 1),
        second_header: sealed_header(key, slot, 9),
    }
}

fn report(ext: &mut Ext, proof: EquivocationProof) -> DispatchResult {
    dispatch(
        ext,
        Origin::None,
        Call::ReportEquivocation {
            proof: Box::new(proof),
        },
    )
}

fn signed_heartbeat(signer: Keyring, heartbeat: Heartbeat) -> Call {
    let signature = signer.pair().sign(&heartbeat.encode());
    Call::Heartbeat {
        heartbeat,
        signature: AsRef::<[u8]>::as_ref(&signature).try_into().unwrap(),
    }
}

fn heartbeat_of(key: Keyring, session_index: SessionIndex) -> Call {
    signed_heartbeat(
        key,
        Heartbeat {
            block_number: 1,
            session_index,
            validator: key.account(),
        },
    )
}

// ---------------------------------------------------------------------------------------
// Genesis.
// ---------------------------------------------------------------------------------------

#[test]
fn genesis_bonds_locks_and_elects_era_zero() {
    let state = standard();
    let mut ext = Ext::new(&state);
    assert_eq!(active_validators(&mut ext), vec![alice(), bob()]);
    assert_eq!(
        ActiveEra::get(&mut ext),
        Some(ActiveEraInfo { index: 0, start: 0 })
    );
    assert_eq!(CurrentEra::get(&mut ext), Some(0));
    assert_eq!(current_session(&mut ext), 0);
    assert_eq!(
        ledger(&mut ext, &alice()),
        Some(StakingLedger {
            stash: alice(),
            total: 100 * ARCM,
            active: 100 * ARCM,
            unlocking: vec![]
        })
    );
    assert_eq!(staking_lock(&mut ext, &charlie()), Some(30 * ARCM));
    assert_eq!(
        ErasStakers::get(&mut ext, &0, &alice()),
        Some(Exposure {
            total: 130 * ARCM,
            own: 100 * ARCM,
            others: vec![IndividualExposure {
                who: charlie(),
                value: 30 * ARCM
            }]
        })
    );
    assert!(ErasStakers::get(&mut ext, &0, &eve()).is_none());
    assert_eq!(CounterForValidators::get(&mut ext), Some(3));
    assert_eq!(CounterForNominators::get(&mut ext), Some(1));
    assert_eq!(reputation(&mut ext, &alice()).trust_score, INITIAL_TRUST);
    assert!(take_committee_dirty(&mut ext));
    assert!(!take_committee_dirty(&mut ext));
    assert_invariants(&mut ext);
}

#[test]
fn genesis_rejects_bad_configurations() {
    let check = |staking: GenesisConfig, expected: GenesisError| {
        assert_eq!(try_build(&endowments(), &staking).err(), Some(expected));
    };
    let mut poor = endowments();
    poor.retain(|(who, _)| *who != bob());
    poor.push((bob(), 10 * ARCM));
    assert_eq!(
        try_build(&poor, &config()).err(),
        Some(GenesisError::InsufficientBalance(bob()))
    );
    let mut no_account = config();
    no_account
        .stakers
        .push((AccountId32::new([7; 32]), ARCM, StakerStatus::Idle));
    check(
        no_account,
        GenesisError::InsufficientBalance(AccountId32::new([7; 32])),
    );
    let mut low = config();
    low.stakers[2].1 = 5 * ARCM;
    check(low, GenesisError::BelowMinValidatorBond(eve()));
    let mut low_nominator = config();
    low_nominator.stakers[3].1 = ARCM;
    check(
        low_nominator,
        GenesisError::BelowMinNominatorBond(charlie()),
    );
    let mut dust = config();
    dust.stakers.push((dave(), ED - 1, StakerStatus::Idle));
    check(dust, GenesisError::BondBelowExistentialDeposit(dave()));
    let mut twice = config();
    twice.stakers.push((alice(), ARCM, StakerStatus::Idle));
    check(twice, GenesisError::DuplicateStaker(alice()));
    let mut bad_target = config();
    bad_target.stakers[3].2 = StakerStatus::Nominator(vec![dave()]);
    check(bad_target, GenesisError::BadNominations(charlie()));
    let mut empty_targets = config();
    empty_targets.stakers[3].2 = StakerStatus::Nominator(vec![]);
    check(empty_targets, GenesisError::BadNominations(charlie()));
    let mut no_validators = config();
    no_validators.stakers = vec![(alice(), ARCM, StakerStatus::Idle)];
    check(no_validators, GenesisError::NoValidators);
    let mut era = config();
    era.sessions_per_era = 11;
    check(
        era,
        GenesisError::InvalidEraLength {
            era_length: 10,
            sessions_per_era: 11,
        },
    );
    let mut count = config();
    count.validator_count = 0;
    check(count, GenesisError::InvalidValidatorCount(0));
    let mut defer = config();
    defer.slash_defer_duration = 3;
    check(
        defer,
        GenesisError::SlashDeferTooLong {
            slash_defer_duration: 3,
            bonding_duration: 3,
        },
    );
}

#[test]
fn genesis_json_is_camel_case_with_defaults() {
    let json = format!(
        r#"{{
            "stakers": [["{}", 100000000000000, "Validator"], ["{}", 5000000000000, {{"Nominator": ["{}"]}}], ["{}", 1000000000000, "Idle"]],
            "validatorCount": 3,
            "minValidatorBond": 1000000000000,
            "eraLength": 600,
            "sessionsPerEra": 6,
            "bondingDuration": 4,
            "slashDeferDuration": 2,
            "eraPayout": 1000000000000000,
            "slashFractionEquivocation": 100000000
        }}"#,
        arceon_primitives::to_ss58(&alice()),
        arceon_primitives::to_ss58(&bob()),
        arceon_primitives::to_ss58(&alice()),
        arceon_primitives::to_ss58(&dave()),
    );
    let parsed: GenesisConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.stakers[1].2, StakerStatus::Nominator(vec![alice()]));
    assert_eq!(parsed.validator_count, 3);
    assert_eq!(parsed.min_nominator_bond, 0, "missing fields take defaults");
    assert_eq!(
        parsed.slash_fraction_equivocation,
        Perbill::from_percent(10)
    );
    let round_trip: GenesisConfig =
        serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
    assert_eq!(round_trip, parsed);
    assert!(serde_json::from_str::<GenesisConfig>(r#"{"eraLen": 5}"#).is_err());
    assert!(
        serde_json::from_str::<GenesisConfig>(r#"{"slashFractionEquivocation": 2000000000}"#)
            .is_err()
    );
    let defaults: GenesisConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults, GenesisConfig::default());
    // The parsed configuration builds.
    let state = build(&parsed);
    let mut ext = Ext::new(&state);
    assert_eq!(active_validators(&mut ext), vec![alice()]);
    assert_invariants(&mut ext);
}

// ---------------------------------------------------------------------------------------
// Bonding calls.
// ---------------------------------------------------------------------------------------

#[test]
fn bond_locks_funds_and_emits_bonded() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 400 * ARCM }).unwrap();
    assert_eq!(staking_lock(&mut ext, &dave()), Some(400 * ARCM));
    assert_eq!(balances::account_data(&mut ext, &dave()).frozen, 400 * ARCM);
    assert!(events(&mut ext).contains(&Event::Bonded {
        stash: dave(),
        amount: 400 * ARCM
    }));
    // Bonded funds cannot leave the account.
    let moved = ext.transactional(|ext| {
        balances::transfer(ext, &dave(), &eve(), 700 * ARCM, Existence::AllowDeath)
    });
    assert_eq!(moved, Err(balances::Error::LiquidityRestrictions.into()));
    assert_invariants(&mut ext);
}

#[test]
fn bond_errors() {
    let state = standard();
    let mut ext = Ext::new(&state);
    assert_eq!(
        dispatch(&mut ext, signed(&alice()), Call::Bond { value: ARCM }),
        error(Error::AlreadyBonded)
    );
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&dave()),
            Call::Bond {
                value: 1_001 * ARCM
            }
        ),
        error(Error::InsufficientBalance)
    );
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::Bond { value: ED - 1 }),
        error(Error::InsufficientBond)
    );
    assert_eq!(
        dispatch(&mut ext, Origin::Root, Call::Bond { value: ARCM }),
        Err(DispatchError::BadOrigin)
    );
    assert!(ledger(&mut ext, &dave()).is_none());
    assert_invariants(&mut ext);
}

#[test]
fn bond_extra_adds_up_to_the_free_balance() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(
        &mut ext,
        signed(&alice()),
        Call::BondExtra {
            max_additional: 50 * ARCM,
        },
    )
    .unwrap();
    assert_eq!(ledger(&mut ext, &alice()).unwrap().active, 150 * ARCM);
    // Capped at what is free.
    dispatch(
        &mut ext,
        signed(&alice()),
        Call::BondExtra {
            max_additional: 5_000 * ARCM,
        },
    )
    .unwrap();
    assert_eq!(ledger(&mut ext, &alice()).unwrap().total, 1_000 * ARCM);
    assert!(events(&mut ext).contains(&Event::Bonded {
        stash: alice(),
        amount: 850 * ARCM
    }));
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&alice()),
            Call::BondExtra { max_additional: 1 }
        ),
        error(Error::InsufficientBalance)
    );
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&dave()),
            Call::BondExtra { max_additional: 1 }
        ),
        error(Error::NotStash)
    );
    assert_invariants(&mut ext);
}

#[test]
fn unbond_moves_active_into_a_chunk_maturing_after_the_bonding_duration() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(
        &mut ext,
        signed(&alice()),
        Call::Unbond { value: 30 * ARCM },
    )
    .unwrap();
    dispatch(
        &mut ext,
        signed(&alice()),
        Call::Unbond { value: 10 * ARCM },
    )
    .unwrap();
    let ledger_now = ledger(&mut ext, &alice()).unwrap();
    assert_eq!(ledger_now.active, 60 * ARCM);
    assert_eq!(ledger_now.total, 100 * ARCM);
    // Same era: one chunk.
    assert_eq!(
        ledger_now.unlocking,
        vec![UnlockChunk {
            value: 40 * ARCM,
            era: 3
        }]
    );
    assert_eq!(staking_lock(&mut ext, &alice()), Some(100 * ARCM));
    assert!(events(&mut ext).contains(&Event::Unbonded {
        stash: alice(),
        amount: 10 * ARCM
    }));
    // A validator must keep the minimum validator bond, unless it leaves entirely.
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&alice()),
            Call::Unbond { value: 55 * ARCM }
        ),
        error(Error::InsufficientBond)
    );
    // A nominator must keep the minimum nominator bond.
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&charlie()),
            Call::Unbond { value: 26 * ARCM }
        ),
        error(Error::InsufficientBond)
    );
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::Unbond { value: ARCM }),
        error(Error::NotController)
    );
    // Nothing to unbond is a no-op.
    dispatch(&mut ext, signed(&alice()), Call::Unbond { value: 0 }).unwrap();
    assert_invariants(&mut ext);
}

#[test]
fn unbonding_everything_chills() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&bob()), Call::Unbond { value: u128::MAX }).unwrap();
    assert_eq!(ledger(&mut ext, &bob()).unwrap().active, 0);
    assert!(!Validators::contains_key(&mut ext, &bob()));
    assert!(events(&mut ext).contains(&Event::Chilled { stash: bob() }));
    // Leaving less than the existential deposit unbonds it all.
    dispatch(
        &mut ext,
        signed(&charlie()),
        Call::Unbond {
            value: 30 * ARCM - ED / 2,
        },
    )
    .unwrap();
    assert_eq!(ledger(&mut ext, &charlie()).unwrap().active, 0);
    assert!(!Nominators::contains_key(&mut ext, &charlie()));
    assert_invariants(&mut ext);
}

#[test]
fn unlocking_chunks_are_bounded() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 100 * ARCM }).unwrap();
    for _ in 0..MAX_UNLOCKING_CHUNKS {
        dispatch(&mut ext, signed(&dave()), Call::Unbond { value: ARCM }).unwrap();
        next_era(&mut ext);
    }
    assert_eq!(
        ledger(&mut ext, &dave()).unwrap().unlocking.len(),
        MAX_UNLOCKING_CHUNKS
    );
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::Unbond { value: ARCM }),
        error(Error::NoMoreChunks)
    );
    // Withdrawing the matured chunks makes room again.
    dispatch(&mut ext, signed(&dave()), Call::WithdrawUnbonded).unwrap();
    dispatch(&mut ext, signed(&dave()), Call::Unbond { value: ARCM }).unwrap();
    assert_invariants(&mut ext);
}

#[test]
fn withdraw_unbonded_after_the_bonding_duration() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 100 * ARCM }).unwrap();
    dispatch(&mut ext, signed(&dave()), Call::Unbond { value: 40 * ARCM }).unwrap();
    next_era(&mut ext);
    dispatch(&mut ext, signed(&dave()), Call::Unbond { value: 60 * ARCM }).unwrap();
    next_era(&mut ext);
    // Era 2: nothing matured (chunks at eras 3 and 4).
    events(&mut ext);
    dispatch(&mut ext, signed(&dave()), Call::WithdrawUnbonded).unwrap();
    assert_eq!(ledger(&mut ext, &dave()).unwrap().total, 100 * ARCM);
    assert!(!events(&mut ext).contains(&Event::Withdrawn {
        stash: dave(),
        amount: 40 * ARCM
    }));
    next_era(&mut ext);
    dispatch(&mut ext, signed(&dave()), Call::WithdrawUnbonded).unwrap();
    assert_eq!(ledger(&mut ext, &dave()).unwrap().total, 60 * ARCM);
    assert_eq!(staking_lock(&mut ext, &dave()), Some(60 * ARCM));
    assert!(events(&mut ext).contains(&Event::Withdrawn {
        stash: dave(),
        amount: 40 * ARCM
    }));
    next_era(&mut ext);
    dispatch(&mut ext, signed(&dave()), Call::WithdrawUnbonded).unwrap();
    assert!(ledger(&mut ext, &dave()).is_none());
    assert_eq!(staking_lock(&mut ext, &dave()), None);
    assert_eq!(balances::account_data(&mut ext, &dave()).frozen, 0);
    assert_eq!(system::account(&mut ext, &dave()).consumers, 0);
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::WithdrawUnbonded),
        error(Error::NotController)
    );
    // Free to move everything again.
    balances::transfer(
        &mut ext,
        &dave(),
        &eve(),
        1_000 * ARCM,
        Existence::AllowDeath,
    )
    .unwrap();
    assert_invariants(&mut ext);
}

#[test]
fn rebond_takes_back_the_newest_chunks_first() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 100 * ARCM }).unwrap();
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::Rebond { value: ARCM }),
        error(Error::NoUnlockChunk)
    );
    dispatch(&mut ext, signed(&dave()), Call::Unbond { value: 20 * ARCM }).unwrap();
    next_era(&mut ext);
    dispatch(&mut ext, signed(&dave()), Call::Unbond { value: 30 * ARCM }).unwrap();
    dispatch(&mut ext, signed(&dave()), Call::Rebond { value: 35 * ARCM }).unwrap();
    let l = ledger(&mut ext, &dave()).unwrap();
    assert_eq!(l.active, 85 * ARCM);
    assert_eq!(
        l.unlocking,
        vec![UnlockChunk {
            value: 15 * ARCM,
            era: 3
        }]
    );
    assert!(events(&mut ext).contains(&Event::Bonded {
        stash: dave(),
        amount: 35 * ARCM
    }));
    // Rebonding more than is unlocking takes what there is.
    dispatch(&mut ext, signed(&dave()), Call::Rebond { value: u128::MAX }).unwrap();
    assert_eq!(ledger(&mut ext, &dave()).unwrap().active, 100 * ARCM);
    assert_eq!(
        dispatch(&mut ext, signed(&eve()), Call::Rebond { value: 1 }),
        error(Error::NoUnlockChunk)
    );
    assert_eq!(
        dispatch(&mut ext, signed(&ferdie()), Call::Rebond { value: 1 }),
        error(Error::NotController)
    );
    // Rebonding a sliver after unbonding everything would leave dust bonded.
    dispatch(&mut ext, signed(&dave()), Call::Unbond { value: u128::MAX }).unwrap();
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::Rebond { value: 1 }),
        error(Error::InsufficientBond)
    );
    assert_invariants(&mut ext);
}

// ---------------------------------------------------------------------------------------
// Intent.
// ---------------------------------------------------------------------------------------

#[test]
fn validate_sets_prefs_and_replaces_nominations() {
    let state = standard();
    let mut ext = Ext::new(&state);
    let prefs = ValidatorPrefs {
        commission: Perbill::from_percent(5),
    };
    dispatch(&mut ext, signed(&charlie()), Call::Validate { prefs }).unwrap();
    assert_eq!(Validators::get(&mut ext, &charlie()), Some(prefs));
    assert!(!Nominators::contains_key(&mut ext, &charlie()));
    assert!(events(&mut ext).contains(&Event::ValidatorPrefsSet {
        stash: charlie(),
        prefs
    }));
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 5 * ARCM }).unwrap();
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::Validate { prefs }),
        error(Error::InsufficientBond)
    );
    assert_eq!(
        dispatch(&mut ext, signed(&ferdie()), Call::Validate { prefs }),
        error(Error::NotController)
    );
    assert_invariants(&mut ext);
}

#[test]
fn validator_and_nominator_intents_are_capped() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 100 * ARCM }).unwrap();
    CounterForValidators::put(&mut ext, &MAX_VALIDATOR_INTENTS);
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&dave()),
            Call::Validate {
                prefs: ValidatorPrefs::default()
            }
        ),
        error(Error::TooManyValidators)
    );
    // Existing validators may still change their terms.
    dispatch(
        &mut ext,
        signed(&alice()),
        Call::Validate {
            prefs: ValidatorPrefs::default(),
        },
    )
    .unwrap();
    CounterForNominators::put(&mut ext, &MAX_NOMINATOR_INTENTS);
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&dave()),
            Call::Nominate {
                targets: vec![alice().into()]
            }
        ),
        error(Error::TooManyNominators)
    );
    CounterForValidators::put(&mut ext, &3);
    CounterForNominators::put(&mut ext, &1);
    assert_invariants(&mut ext);
}

#[test]
fn nominate_checks_its_targets() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 100 * ARCM }).unwrap();
    let nominate = |targets: Vec<MultiAddress>| Call::Nominate { targets };
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), nominate(vec![])),
        error(Error::EmptyTargets)
    );
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&dave()),
            nominate(vec![alice().into(); MAX_NOMINATIONS + 1])
        ),
        error(Error::TooManyTargets)
    );
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), nominate(vec![ferdie().into()])),
        error(Error::BadTarget)
    );
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), nominate(vec![dave().into()])),
        error(Error::BadTarget)
    );
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&dave()),
            nominate(vec![alice().into(), bob().into(), alice().into()])
        ),
        error(Error::DuplicateTarget)
    );
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&dave()),
            nominate(vec![MultiAddress::Index(0)])
        ),
        Err(DispatchError::CannotLookup)
    );
    assert_eq!(
        dispatch(&mut ext, signed(&ferdie()), nominate(vec![alice().into()])),
        error(Error::NotController)
    );
    dispatch(
        &mut ext,
        signed(&dave()),
        nominate(vec![bob().into(), MultiAddress::Address32(eve().into())]),
    )
    .unwrap();
    assert_eq!(
        Nominators::get(&mut ext, &dave()),
        Some(Nominations {
            targets: vec![bob(), eve()],
            submitted_in: 0
        })
    );
    assert!(events(&mut ext).contains(&Event::Nominated {
        stash: dave(),
        targets: vec![bob(), eve()]
    }));
    // Below the minimum nominator bond.
    dispatch(&mut ext, signed(&ferdie()), Call::Bond { value: 4 * ARCM }).unwrap();
    assert_eq!(
        dispatch(&mut ext, signed(&ferdie()), nominate(vec![alice().into()])),
        error(Error::InsufficientBond)
    );
    // A validator that nominates stops validating.
    dispatch(&mut ext, signed(&eve()), nominate(vec![alice().into()])).unwrap();
    assert!(!Validators::contains_key(&mut ext, &eve()));
    assert_invariants(&mut ext);
}

#[test]
fn chill_removes_intent_from_the_next_election_and_the_committee() {
    let state = standard();
    let mut ext = Ext::new(&state);
    take_committee_dirty(&mut ext);
    assert_eq!(
        committee_candidates(&mut ext)
            .into_iter()
            .map(|c| c.who)
            .collect::<Vec<_>>(),
        vec![alice(), bob()]
    );
    dispatch(&mut ext, signed(&bob()), Call::Chill).unwrap();
    assert!(!Validators::contains_key(&mut ext, &bob()));
    assert!(events(&mut ext).contains(&Event::Chilled { stash: bob() }));
    assert!(take_committee_dirty(&mut ext));
    // Still active this era, but no longer a committee candidate.
    assert!(active_validators(&mut ext).contains(&bob()));
    let candidates = committee_candidates(&mut ext);
    assert_eq!(
        candidates,
        vec![CommitteeCandidate {
            who: alice(),
            stake: 130 * ARCM,
            trust: INITIAL_TRUST
        }]
    );
    next_era(&mut ext);
    assert_eq!(active_validators(&mut ext), vec![alice(), eve()]);
    // A nominator chills too; someone without a ledger cannot.
    dispatch(&mut ext, signed(&charlie()), Call::Chill).unwrap();
    assert!(!Nominators::contains_key(&mut ext, &charlie()));
    assert_eq!(
        dispatch(&mut ext, signed(&dave()), Call::Chill),
        error(Error::NotController)
    );
    assert_invariants(&mut ext);
}

// ---------------------------------------------------------------------------------------
// Eras, sessions and election.
// ---------------------------------------------------------------------------------------

#[test]
fn sessions_and_eras_follow_the_block_number() {
    let state = standard();
    let mut ext = Ext::new(&state);
    run_to_block(&mut ext, 4);
    assert_eq!(current_session(&mut ext), 0);
    run_to_block(&mut ext, 5);
    assert_eq!(current_session(&mut ext), 1);
    assert!(events(&mut ext).contains(&Event::NewSession { session_index: 1 }));
    run_to_block(&mut ext, 9);
    assert_eq!(active_era_index(&mut ext), 0);
    run_to_block(&mut ext, 10);
    assert_eq!(active_era_index(&mut ext), 1);
    assert_eq!(
        ActiveEra::get(&mut ext),
        Some(ActiveEraInfo {
            index: 1,
            start: 10
        })
    );
    assert_eq!(current_session(&mut ext), 2);
    assert_eq!(EraStartSession::get(&mut ext), Some(2));
    let events = events(&mut ext);
    assert!(events.contains(&Event::NewEra {
        era_index: 1,
        validators: vec![alice(), bob()]
    }));
    assert!(events.contains(&Event::StakersElected));
    run_to_block(&mut ext, 15);
    assert_eq!(current_session(&mut ext), 3);
    run_to_block(&mut ext, 20);
    assert_eq!(active_era_index(&mut ext), 2);
    assert_eq!(current_session(&mut ext), 4);
    assert_eq!(session_length(&mut ext), 5);
    assert_invariants(&mut ext);
}

#[test]
fn election_picks_the_top_validators_by_backing() {
    let state = standard();
    let mut ext = Ext::new(&state);
    // Ferdie backs Bob and Eve with 100 ArcM and a planck: 50 each, the odd planck to
    // the lower account id.
    dispatch(
        &mut ext,
        signed(&ferdie()),
        Call::Bond {
            value: 100 * ARCM + 1,
        },
    )
    .unwrap();
    dispatch(
        &mut ext,
        signed(&ferdie()),
        Call::Nominate {
            targets: vec![eve().into(), bob().into()],
        },
    )
    .unwrap();
    // Dave backs Eve alone: Eve 20 + 50 + 40 = 110 passes Bob's 50 + 50.
    dispatch(&mut ext, signed(&dave()), Call::Bond { value: 40 * ARCM }).unwrap();
    dispatch(
        &mut ext,
        signed(&dave()),
        Call::Nominate {
            targets: vec![eve().into()],
        },
    )
    .unwrap();
    next_era(&mut ext);
    assert_eq!(active_validators(&mut ext), vec![alice(), eve()]);
    let ferdie_to_eve = 50 * ARCM + Balance::from(eve() < bob());
    assert_eq!(
        ErasStakers::get(&mut ext, &1, &eve()),
        Some(Exposure {
            total: 60 * ARCM + ferdie_to_eve,
            own: 20 * ARCM,
            others: vec![
                IndividualExposure {
                    who: ferdie(),
                    value: ferdie_to_eve
                },
                IndividualExposure {
                    who: dave(),
                    value: 40 * ARCM
                },
            ]
        })
    );
    assert!(ErasStakers::get(&mut ext, &1, &bob()).is_none());
    // Root widens the set.
    dispatch(&mut ext, Origin::Root, Call::SetValidatorCount { new: 3 }).unwrap();
    next_era(&mut ext);
    assert_eq!(active_validators(&mut ext), vec![alice(), eve(), bob()]);
    assert_invariants(&mut ext);
}

#[test]
fn election_ties_are_broken_by_account_bytes() {
    let mut staking = config();
    staking.stakers = vec![
        (alice(), 50 * ARCM, StakerStatus::Validator),
        (bob(), 50 * ARCM, StakerStatus::Validator),
        (charlie(), 50 * ARCM, StakerStatus::Validator),
    ];
    staking.validator_count = 1;
    let state = build(&staking);
    let mut ext = Ext::new(&state);
    let lowest = [alice(), bob(), charlie()].into_iter().min().unwrap();
    assert_eq!(active_validators(&mut ext), vec![lowest]);
    assert_invariants(&mut ext);
}

#[test]
fn election_below_min_bond_or_failed_keeps_a_set() {
    let state = standard();
    let mut ext = Ext::new(&state);
    // Raising the minimum validator bond drops Bob and Eve; Alice stays.
    dispatch(
        &mut ext,
        Origin::Root,
        Call::SetMinBonds {
            min_validator_bond: 60 * ARCM,
            min_nominator_bond: ARCM,
        },
    )
    .unwrap();
    assert!(events(&mut ext).contains(&Event::MinBondsSet {
        min_validator_bond: 60 * ARCM,
        min_nominator_bond: ARCM
    }));
    next_era(&mut ext);
    assert_eq!(active_validators(&mut ext), vec![alice()]);
    // Nobody electable: the previous set stays rather than none.
    dispatch(&mut ext, signed(&alice()), Call::Chill).unwrap();
    events(&mut ext);
    next_era(&mut ext);
    assert_eq!(active_validators(&mut ext), vec![alice()]);
    assert!(events(&mut ext).contains(&Event::StakingElectionFailed));
    assert_eq!(
        ErasStakers::get(&mut ext, &2, &alice()).map(|e| e.total),
        Some(100 * ARCM)
    );
    assert_invariants(&mut ext);
}

#[test]
fn root_calls_need_root_and_valid_values() {
    let state = standard();
    let mut ext = Ext::new(&state);
    for call in [
        Call::SetValidatorCount { new: 3 },
        Call::ForceNewEra,
        Call::SetMinBonds {
            min_validator_bond: 1,
            min_nominator_bond: 1,
        },
    ] {
        assert_eq!(
            dispatch(&mut ext, signed(&alice()), call.clone()),
            Err(DispatchError::BadOrigin)
        );
        assert_eq!(
            dispatch(&mut ext, Origin::None, call),
            Err(DispatchError::BadOrigin)
        );
    }
    assert_eq!(
        dispatch(&mut ext, Origin::Root, Call::SetValidatorCount { new: 0 }),
        error(Error::InvalidValidatorCount)
    );
    assert_eq!(
        dispatch(
            &mut ext,
            Origin::Root,
            Call::SetValidatorCount {
                new: MAX_VALIDATOR_COUNT + 1
            }
        ),
        error(Error::InvalidValidatorCount)
    );
    dispatch(&mut ext, Origin::Root, Call::SetValidatorCount { new: 3 }).unwrap();
    assert_eq!(ValidatorCount::get(&mut ext), Some(3));
    assert!(events(&mut ext).contains(&Event::ValidatorCountSet { count: 3 }));
    assert_invariants(&mut ext);
}

#[test]
fn force_new_era_starts_one_at_the_next_block() {
    let state = standard();
    let mut ext = Ext::new(&state);
    run_to_block(&mut ext, 3);
    dispatch(&mut ext, Origin::Root, Call::ForceNewEra).unwrap();
    assert!(events(&mut ext).contains(&Event::NewEraForced));
    run_to_block(&mut ext, 4);
    assert_eq!(
        ActiveEra::get(&mut ext),
        Some(ActiveEraInfo { index: 1, start: 4 })
    );
    assert_eq!(ForceNewEra::get(&mut ext), None);
    // The next era runs its full length again.
    run_to_block(&mut ext, 13);
    assert_eq!(active_era_index(&mut ext), 1);
    run_to_block(&mut ext, 14);
    assert_eq!(active_era_index(&mut ext), 2);
    assert_invariants(&mut ext);
}

#[test]
fn history_is_pruned_after_the_history_depth() {
    let state = standard();
    let mut ext = Ext::new(&state);
    run_to_block_with(&mut ext, 5, |_| Some(alice()));
    assert!(AuthoredBlocks::get(&mut ext, &0, &alice()).is_some());
    for _ in 0..HISTORY_DEPTH {
        next_era(&mut ext);
    }
    assert_eq!(active_era_index(&mut ext), HISTORY_DEPTH);
    assert!(ErasStakers::get(&mut ext, &0, &alice()).is_none());
    assert!(ErasRewardPoints::get(&mut ext, &0).is_none());
    assert!(AuthoredBlocks::get(&mut ext, &0, &alice()).is_none());
    assert!(ErasStakers::get(&mut ext, &1, &alice()).is_some());
    assert_invariants(&mut ext);
}

// ---------------------------------------------------------------------------------------
// Rewards.
// ---------------------------------------------------------------------------------------

#[test]
fn rewards_follow_reward_points() {
    let state = standard();
    let mut ext = Ext::new(&state);
    let issuance = total_issuance(&mut ext);
    // Era 0: Alice authors blocks 1-3, Bob block 4; nobody else is credited.
    run_to_block_with(&mut ext, 9, |n| match n {
        1..=3 => Some(alice()),
        4 => Some(bob()),
        _ => Some(dave()),
    });
    assert_eq!(
        ErasRewardPoints::get(&mut ext, &0).map(|p| p.total),
        Some(4 * REWARD_POINTS_PER_BLOCK)
    );
    let before: Vec<Balance> = [alice(), bob(), charlie()]
        .iter()
        .map(|who| free(&mut ext, who))
        .collect();
    events(&mut ext);
    next_era(&mut ext);
    let gained: Vec<Balance> = [alice(), bob(), charlie()]
        .iter()
        .zip(&before)
        .map(|(who, b)| free(&mut ext, who) - b)
        .collect();
    // Alice's side (Alice + Charlie) earned 3x Bob's: 750 vs 250 ArcM.
    assert_eq!(gained[1], 250 * ARCM);
    assert_eq!(gained[0] + gained[2], 750 * ARCM - 1);
    // Split by exposure: 100 : 30.
    assert_eq!(gained[0], 576_923_076_923_076);
    assert_eq!(gained[2], 173_076_923_076_923);
    let minted = gained.iter().sum::<Balance>();
    assert_eq!(total_issuance(&mut ext), issuance + minted);
    assert!(1_000 * ARCM - minted <= 2, "only rounding dust is lost");
    assert!(events(&mut ext).contains(&Event::EraPaid {
        era_index: 0,
        validator_payout: minted,
        remainder: 1_000 * ARCM - minted
    }));
    assert_eq!(ErasValidatorReward::get(&mut ext, &0), Some(minted));
    assert_invariants(&mut ext);
}

#[test]
fn commission_is_taken_before_the_split() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(
        &mut ext,
        signed(&alice()),
        Call::Validate {
            prefs: ValidatorPrefs {
                commission: Perbill::from_percent(10),
            },
        },
    )
    .unwrap();
    next_era(&mut ext);
    // Era 1 (blocks 10-19): Alice 3 blocks, Bob 1.
    run_to_block_with(&mut ext, 19, |n| match n {
        11..=13 => Some(alice()),
        14 => Some(bob()),
        _ => None,
    });
    let before: Vec<Balance> = [alice(), bob(), charlie()]
        .iter()
        .map(|who| free(&mut ext, who))
        .collect();
    let issuance = total_issuance(&mut ext);
    next_era(&mut ext);
    let gained: Vec<Balance> = [alice(), bob(), charlie()]
        .iter()
        .zip(&before)
        .map(|(who, b)| free(&mut ext, who) - b)
        .collect();
    // Alice: 75 commission + 675 * 100/130; Charlie: 675 * 30/130.
    assert_eq!(gained[0], 75 * ARCM + 519_230_769_230_769);
    assert_eq!(gained[2], 155_769_230_769_230);
    assert_eq!(gained[1], 250 * ARCM);
    assert_eq!(total_issuance(&mut ext), issuance + 1_000 * ARCM - 1);
    // A commission change mid-era does not touch the era being rewarded.
    assert_eq!(
        ErasValidatorPrefs::get(&mut ext, &2, &alice()).map(|p| p.commission),
        Some(Perbill::from_percent(10))
    );
    assert_invariants(&mut ext);
}

#[test]
fn no_points_mint_nothing() {
    let state = standard();
    let mut ext = Ext::new(&state);
    let issuance = total_issuance(&mut ext);
    events(&mut ext);
    next_era(&mut ext);
    assert_eq!(total_issuance(&mut ext), issuance);
    assert!(events(&mut ext).contains(&Event::EraPaid {
        era_index: 0,
        validator_payout: 0,
        remainder: 1_000 * ARCM
    }));
    assert_invariants(&mut ext);
}

// ---------------------------------------------------------------------------------------
// Equivocation.
// ---------------------------------------------------------------------------------------

#[test]
fn equivocation_disables_chills_and_defers_the_slash() {
    let state = standard();
    let mut ext = Ext::new(&state);
    take_committee_dirty(&mut ext);
    let issuance = total_issuance(&mut ext);
    let proof = equivocation(Keyring::Alice, 7);
    let before = ext.changes().len();
    let validity = validate_unsigned(
        &mut ext,
        &Call::ReportEquivocation {
            proof: Box::new(proof.clone()),
        },
    )
    .unwrap();
    assert_eq!(ext.changes().len(), before, "validation writes nothing");
    assert_eq!(validity.priority, EQUIVOCATION_PRIORITY);
    assert_eq!(validity.provides.len(), 1);
    assert_eq!(validity.longevity, 10);

    report(&mut ext, proof.clone()).unwrap();
    assert!(is_disabled(&mut ext, &alice()));
    assert!(!Validators::contains_key(&mut ext, &alice()));
    assert_eq!(reputation(&mut ext, &alice()).invalid_proposals, 1);
    assert!(take_committee_dirty(&mut ext));
    assert!(committee_candidates(&mut ext)
        .iter()
        .all(|c| c.who != alice()));
    assert_eq!(
        UnappliedSlashes::get(&mut ext, &2),
        Some(vec![UnappliedSlash {
            validator: alice(),
            own: 10 * ARCM,
            others: vec![(charlie(), 3 * ARCM)],
            reporters: vec![],
        }])
    );
    let events_now = events(&mut ext);
    assert!(events_now.contains(&Event::OffenceReported {
        offender: alice(),
        slot: 7,
        era: 0
    }));
    assert!(events_now.contains(&Event::SlashReported {
        validator: alice(),
        fraction: Perbill::from_percent(10),
        slash_era: 2
    }));
    assert!(events_now.contains(&Event::ValidatorDisabled { validator: alice() }));
    assert!(events_now.contains(&Event::Chilled { stash: alice() }));

    // The same offence again.
    assert_eq!(
        report(&mut ext, proof),
        error(Error::DuplicateOffenceReport)
    );

    // Era 1: Alice is out of the set, the slash is still pending.
    next_era(&mut ext);
    assert_eq!(active_validators(&mut ext), vec![bob(), eve()]);
    assert!(!is_disabled(&mut ext, &alice()));
    assert_eq!(ledger(&mut ext, &alice()).unwrap().total, 100 * ARCM);
    // Her trust was cut by the offence: 25% for an idle era, minus 10%.
    assert_eq!(
        reputation(&mut ext, &alice()).trust_score,
        Perbill::from_percent(15)
    );
    assert_eq!(total_issuance(&mut ext), issuance);

    // Era 2: applied.
    events(&mut ext);
    next_era(&mut ext);
    let l = ledger(&mut ext, &alice()).unwrap();
    assert_eq!((l.active, l.total), (90 * ARCM, 90 * ARCM));
    assert_eq!(staking_lock(&mut ext, &alice()), Some(90 * ARCM));
    assert_eq!(free(&mut ext, &alice()), 990 * ARCM);
    assert_eq!(ledger(&mut ext, &charlie()).unwrap().total, 27 * ARCM);
    assert_eq!(staking_lock(&mut ext, &charlie()), Some(27 * ARCM));
    assert_eq!(total_issuance(&mut ext), issuance - 13 * ARCM);
    let applied = events(&mut ext);
    assert!(applied.contains(&Event::Slashed {
        staker: alice(),
        amount: 10 * ARCM
    }));
    assert!(applied.contains(&Event::Slashed {
        staker: charlie(),
        amount: 3 * ARCM
    }));
    assert!(UnappliedSlashes::get(&mut ext, &2).is_none());
    assert!(!active_validators(&mut ext).contains(&alice()));
    assert_invariants(&mut ext);
}

#[test]
fn further_offences_in_the_same_era_cost_reputation_not_stake() {
    let state = standard();
    let mut ext = Ext::new(&state);
    take_committee_dirty(&mut ext);
    report(&mut ext, equivocation(Keyring::Alice, 7)).unwrap();
    assert!(
        take_committee_dirty(&mut ext),
        "Alice leaves the committees"
    );
    report(&mut ext, equivocation(Keyring::Alice, 8)).unwrap();
    // She already left them: nothing to re-select.
    assert!(!take_committee_dirty(&mut ext));
    assert_eq!(reputation(&mut ext, &alice()).invalid_proposals, 2);
    assert_eq!(
        UnappliedSlashes::get(&mut ext, &2).map(|s| s.len()),
        Some(1)
    );
    next_era(&mut ext);
    // 25% for the idle era, minus 10% per offence.
    assert_eq!(
        reputation(&mut ext, &alice()).trust_score,
        Perbill::from_percent(5)
    );
    assert_invariants(&mut ext);
}

#[test]
fn previous_era_validators_can_be_reported() {
    let state = standard();
    let mut ext = Ext::new(&state);
    dispatch(&mut ext, signed(&bob()), Call::Chill).unwrap();
    next_era(&mut ext);
    assert!(!active_validators(&mut ext).contains(&bob()));
    report(&mut ext, equivocation(Keyring::Bob, 3)).unwrap();
    assert_eq!(
        UnappliedSlashes::get(&mut ext, &3),
        Some(vec![UnappliedSlash {
            validator: bob(),
            own: 5 * ARCM,
            others: vec![],
            reporters: vec![],
        }])
    );
    assert!(events(&mut ext).contains(&Event::OffenceReported {
        offender: bob(),
        slot: 3,
        era: 0
    }));
    // Two eras on, another era-0 offence still costs reputation (the era-0 exposure was
    // slashed once already).
    next_era(&mut ext);
    report(&mut ext, equivocation(Keyring::Bob, 4)).unwrap();
    assert_eq!(reputation(&mut ext, &bob()).invalid_proposals, 2);
    assert_eq!(
        UnappliedSlashes::get(&mut ext, &3).map(|s| s.len()),
        Some(1)
    );
    // Bob was not elected in era 2: its slots are not his.
    assert_eq!(
        report(&mut ext, equivocation(Keyring::Bob, 25)),
        error(Error::OffenderNotValidator)
    );
    next_era(&mut ext);
    assert_eq!(ledger(&mut ext, &bob()).unwrap().total, 45 * ARCM);
    assert_invariants(&mut ext);
}

#[test]
fn slash_without_defer_applies_at_once_and_reaches_unlocking_chunks() {
    let mut staking = config();
    staking.slash_defer_duration = 0;
    staking.slash_fraction_equivocation = Perbill::from_percent(50);
    let state = build(&staking);
    let mut ext = Ext::new(&state);
    let issuance = total_issuance(&mut ext);
    // Bob tries to leave before the report lands.
    dispatch(&mut ext, signed(&bob()), Call::Unbond { value: 40 * ARCM }).unwrap();
    report(&mut ext, equivocation(Keyring::Bob, 5)).unwrap();
    let l = ledger(&mut ext, &bob()).unwrap();
    assert_eq!(l.active, 0);
    assert_eq!(l.total, 25 * ARCM);
    assert_eq!(l.unlocking[0].value, 25 * ARCM);
    assert_eq!(staking_lock(&mut ext, &bob()), Some(25 * ARCM));
    assert_eq!(total_issuance(&mut ext), issuance - 25 * ARCM);
    assert_invariants(&mut ext);
}

#[test]
fn slashing_a_whole_bond_removes_the_ledger() {
    let mut staking = config();
    staking.slash_defer_duration = 0;
    staking.slash_fraction_equivocation = Perbill::one();
    let state = build(&staking);
    let mut ext = Ext::new(&state);
    report(&mut ext, equivocation(Keyring::Bob, 5)).unwrap();
    let emptied = ledger(&mut ext, &bob()).unwrap();
    assert_eq!((emptied.active, emptied.total), (0, 0));
    assert_eq!(staking_lock(&mut ext, &bob()), None);
    assert_eq!(free(&mut ext, &bob()), 950 * ARCM);
    // Still in this era's set: the empty ledger stays until Bob has left it.
    dispatch(&mut ext, signed(&bob()), Call::WithdrawUnbonded).unwrap();
    assert!(ledger(&mut ext, &bob()).is_some());
    next_era(&mut ext);
    assert!(!active_validators(&mut ext).contains(&bob()));
    dispatch(&mut ext, signed(&bob()), Call::WithdrawUnbonded).unwrap();
    assert!(ledger(&mut ext, &bob()).is_none());
    assert_invariants(&mut ext);
}

#[test]
fn invalid_equivocation_proofs_are_rejected() {
    let state = standard();
    let mut ext = Ext::new(&state);
    let invalid = error(Error::InvalidEquivocationProof);

    let mut same = equivocation(Keyring::Alice, 7);
    same.second_header = same.first_header.clone();
    assert_eq!(report(&mut ext, same), invalid);

    // The same block sealed twice (fresh randomness) is not two blocks.
    let mut resealed = equivocation(Keyring::Alice, 7);
    resealed.second_header = sealed_header(Keyring::Alice, 7, 1);
    assert_ne!(resealed.first_header, resealed.second_header);
    assert_eq!(report(&mut ext, resealed), invalid);

    let mut wrong_slot = equivocation(Keyring::Alice, 7);
    wrong_slot.slot = 8;
    assert_eq!(report(&mut ext, wrong_slot), invalid);

    let mut mixed_slots = equivocation(Keyring::Alice, 7);
    mixed_slots.second_header = sealed_header(Keyring::Alice, 8, 9);
    assert_eq!(report(&mut ext, mixed_slots), invalid);

    let mut wrong_signer = equivocation(Keyring::Bob, 7);
    wrong_signer.offender = Keyring::Alice.public();
    assert_eq!(report(&mut ext, wrong_signer), invalid);

    let mut unsealed = equivocation(Keyring::Alice, 7);
    unsealed.first_header.digest.logs.pop();
    assert_eq!(report(&mut ext, unsealed), invalid);

    let mut short_seal = equivocation(Keyring::Alice, 7);
    short_seal.first_header.digest.logs.pop();
    short_seal
        .first_header
        .digest
        .logs
        .push(DigestItem::Seal(AURA_ENGINE_ID, vec![1; 10]));
    assert_eq!(report(&mut ext, short_seal), invalid);

    // Eve validates but is not active; Dave never validated.
    assert_eq!(
        report(&mut ext, equivocation(Keyring::Eve, 7)),
        error(Error::OffenderNotValidator)
    );
    assert_eq!(
        report(&mut ext, equivocation(Keyring::Dave, 7)),
        error(Error::OffenderNotValidator)
    );
    // Only as an unsigned extrinsic.
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&bob()),
            Call::ReportEquivocation {
                proof: Box::new(equivocation(Keyring::Alice, 7))
            }
        ),
        Err(DispatchError::BadOrigin)
    );
    assert_eq!(
        validate_unsigned(
            &mut ext,
            &Call::ReportEquivocation {
                proof: Box::new(equivocation(Keyring::Dave, 7))
            }
        ),
        Err(Error::OffenderNotValidator)
    );
    // Nothing happened.
    assert!(ReportedOffences::iter(&mut ext).is_empty());
    assert!(Validators::contains_key(&mut ext, &alice()));
    assert!(!is_disabled(&mut ext, &alice()));
    assert_invariants(&mut ext);
}

/// Runs `report` on `ext` and checks that it failed with `expected` and wrote nothing.
fn assert_refused_unchanged(
    ext: &mut Ext,
    expected: Error,
    report: impl FnOnce(&mut Ext) -> DispatchResult,
) {
    let changes = ext.changes().clone();
    let deposited = ext.events().len();
    assert_eq!(report(ext), error(expected));
    assert_eq!(ext.changes(), &changes, "a refused report changed state");
    assert_eq!(
        ext.events().len(),
        deposited,
        "a refused report deposited events"
    );
}

#[test]
fn offences_older_than_the_window_are_refused_and_change_nothing() {
    // Alice is elected in every era; the bonding duration (3 eras) is the window.
    let state = standard();
    let mut ext = Ext::new(&state);
    assert_eq!(offence_window(&mut ext), 3);
    let old_offence = equivocation(Keyring::Alice, 7);
    let old_call = Call::ReportEquivocation {
        proof: Box::new(old_offence.clone()),
    };
    for _ in 0..3 {
        next_era(&mut ext);
    }
    assert_eq!(active_era_index(&mut ext), 3);
    assert!(active_validators(&mut ext).contains(&alice()));
    // Three eras on, the era-0 offence can still be punished.
    assert!(validate_unsigned(&mut ext, &old_call).is_ok());

    next_era(&mut ext);
    assert_eq!(active_era_index(&mut ext), 4);
    assert!(active_validators(&mut ext).contains(&alice()));
    events(&mut ext);
    // Four eras on, it is too old: refused by the pool (for good) and by dispatch.
    assert_eq!(
        validate_unsigned(&mut ext, &old_call),
        Err(Error::OffenceTooOld)
    );
    assert_eq!(
        TransactionValidityError::from(Error::OffenceTooOld),
        InvalidTransaction::Stale.into()
    );
    assert_refused_unchanged(&mut ext, Error::OffenceTooOld, |ext| {
        report(ext, old_offence)
    });
    // GRANDPA set 0 still votes (the active set never changed), but votes naming era-0
    // blocks are as old as those blocks.
    assert_eq!(era_start(&mut ext, 4).map(|s| s.finality_set), Some(0));
    assert_refused_unchanged(&mut ext, Error::OffenceTooOld, |ext| {
        report_votes(ext, vote_equivocation(Keyring::Alice, STAGE_PRECOMMIT))
    });
    assert!(ReportedOffences::iter(&mut ext).is_empty());
    assert!(ReportedVoteOffences::iter(&mut ext).is_empty());
    assert!(!is_disabled(&mut ext, &alice()));
    assert!(Validators::contains_key(&mut ext, &alice()));
    assert_eq!(reputation(&mut ext, &alice()).invalid_proposals, 0);
    assert!(UnappliedSlashes::iter(&mut ext).is_empty());

    // Offences of the eras in the window are punished: a slot of era 2, and votes of the
    // long-lived set 0 naming a block of era 4.
    report(&mut ext, equivocation(Keyring::Alice, 25)).unwrap();
    assert!(events(&mut ext).contains(&Event::OffenceReported {
        offender: alice(),
        slot: 25,
        era: 2
    }));
    report_votes(
        &mut ext,
        vote_equivocation_at(Keyring::Alice, STAGE_PREVOTE, 0, 41),
    )
    .unwrap();
    assert!(events(&mut ext).contains(&Event::VoteOffenceReported {
        offender: alice(),
        set_id: 0,
        round: 11,
        era: 4
    }));
    assert_invariants(&mut ext);
}

#[test]
fn a_nominator_who_bonded_after_the_offence_is_not_slashed() {
    let state = standard();
    let mut ext = Ext::new(&state);
    // Alice seals two blocks for slot 7 in era 0, backed by Charlie (30).
    run_to_block(&mut ext, 8);
    let offence = equivocation(Keyring::Alice, 7);
    // Later in era 0, Ferdie starts backing her: from era 1 on he is exposed with her.
    dispatch(&mut ext, signed(&ferdie()), Call::Bond { value: 40 * ARCM }).unwrap();
    dispatch(
        &mut ext,
        signed(&ferdie()),
        Call::Nominate {
            targets: vec![alice().into()],
        },
    )
    .unwrap();
    next_era(&mut ext);
    let era_one = ErasStakers::get(&mut ext, &1, &alice()).unwrap();
    assert!(era_one.others.iter().any(|backer| backer.who == ferdie()));

    // Reported in era 1, the offence answers with the era-0 exposure.
    events(&mut ext);
    report(&mut ext, offence).unwrap();
    assert!(events(&mut ext).contains(&Event::OffenceReported {
        offender: alice(),
        slot: 7,
        era: 0
    }));
    assert_eq!(
        UnappliedSlashes::get(&mut ext, &3),
        Some(vec![UnappliedSlash {
            validator: alice(),
            own: 10 * ARCM,
            others: vec![(charlie(), 3 * ARCM)],
            reporters: vec![],
        }])
    );
    // An offence of era 1 (slot 15) answers with the era-1 exposure: Ferdie backed her
    // when she committed it.
    report(&mut ext, equivocation(Keyring::Alice, 15)).unwrap();
    let slashes = UnappliedSlashes::get(&mut ext, &3).unwrap();
    assert_eq!(slashes.len(), 2);
    assert!(slashes[1].others.contains(&(ferdie(), 4 * ARCM)));

    next_era(&mut ext);
    next_era(&mut ext);
    assert_eq!(active_era_index(&mut ext), 3);
    // Era 0's slash: Alice 10, Charlie 3; era 1's: 10% of what each had exposed then.
    let era_one_alice = era_one.own / 10;
    let era_one_charlie = era_one
        .others
        .iter()
        .find(|backer| backer.who == charlie())
        .map_or(0, |backer| backer.value / 10);
    assert_eq!(
        ledger(&mut ext, &alice()).unwrap().total,
        90 * ARCM - era_one_alice
    );
    assert_eq!(
        ledger(&mut ext, &charlie()).unwrap().total,
        27 * ARCM - era_one_charlie
    );
    assert_eq!(ledger(&mut ext, &ferdie()).unwrap().total, 36 * ARCM);
    assert_invariants(&mut ext);
}

#[test]
fn a_nominator_who_bonded_after_the_offence_escapes_the_era_zero_slash() {
    // The same as above with only the era-0 offence: Ferdie keeps everything.
    let state = standard();
    let mut ext = Ext::new(&state);
    run_to_block(&mut ext, 8);
    let offence = equivocation(Keyring::Alice, 7);
    dispatch(&mut ext, signed(&ferdie()), Call::Bond { value: 40 * ARCM }).unwrap();
    dispatch(
        &mut ext,
        signed(&ferdie()),
        Call::Nominate {
            targets: vec![alice().into()],
        },
    )
    .unwrap();
    next_era(&mut ext);
    report(&mut ext, offence).unwrap();
    next_era(&mut ext);
    next_era(&mut ext);
    assert_eq!(ledger(&mut ext, &alice()).unwrap().total, 90 * ARCM);
    assert_eq!(ledger(&mut ext, &charlie()).unwrap().total, 27 * ARCM);
    assert_eq!(ledger(&mut ext, &ferdie()).unwrap().total, 40 * ARCM);
    assert_eq!(staking_lock(&mut ext, &ferdie()), Some(40 * ARCM));
    assert_invariants(&mut ext);
}

// ---------------------------------------------------------------------------------------
// Heartbeats and reputation.
// ---------------------------------------------------------------------------------------

#[test]
fn heartbeats_once_per_session_from_active_validators() {
    let state = standard();
    let mut ext = Ext::new(&state);
    let call = heartbeat_of(Keyring::Alice, 0);
    let validity = validate_unsigned(&mut ext, &call).unwrap();
    assert_eq!(validity.priority, HEARTBEAT_PRIORITY);
    assert_eq!(validity.longevity, 5);
    assert_eq!(
        dispatch(&mut ext, signed(&alice()), call.clone()),
        Err(DispatchError::BadOrigin)
    );
    dispatch(&mut ext, Origin::None, call.clone()).unwrap();
    assert!(events(&mut ext).contains(&Event::HeartbeatReceived { validator: alice() }));
    assert_eq!(
        dispatch(&mut ext, Origin::None, call.clone()),
        error(Error::DuplicateHeartbeat)
    );
    assert_eq!(
        validate_unsigned(&mut ext, &call),
        Err(Error::DuplicateHeartbeat)
    );
    // Not active: Eve validates but was not elected; Dave never validated.
    assert_eq!(
        dispatch(&mut ext, Origin::None, heartbeat_of(Keyring::Eve, 0)),
        error(Error::NotActiveValidator)
    );
    assert_eq!(
        dispatch(&mut ext, Origin::None, heartbeat_of(Keyring::Dave, 0)),
        error(Error::NotActiveValidator)
    );
    // Bob's heartbeat signed by Charlie.
    let forged = signed_heartbeat(
        Keyring::Charlie,
        Heartbeat {
            block_number: 1,
            session_index: 0,
            validator: bob(),
        },
    );
    assert_eq!(
        dispatch(&mut ext, Origin::None, forged),
        error(Error::InvalidHeartbeat)
    );
    // Another session's.
    assert_eq!(
        dispatch(&mut ext, Origin::None, heartbeat_of(Keyring::Bob, 1)),
        error(Error::InvalidHeartbeat)
    );
    // A new session accepts Alice again, and clears the old session's records.
    run_to_block(&mut ext, 5);
    dispatch(&mut ext, Origin::None, heartbeat_of(Keyring::Alice, 1)).unwrap();
    assert!(!ReceivedHeartbeats::contains_key(&mut ext, &0, &alice()));
    assert_eq!(ErasHeartbeats::get(&mut ext, &0, &alice()), Some(2));
    assert_invariants(&mut ext);
}

#[test]
fn reputation_reflects_heartbeats_and_authored_blocks() {
    let mut staking = config();
    staking.era_length = 20;
    let state = build(&staking);
    let mut ext = Ext::new(&state);
    // Era 0 (blocks 1-19): nothing happens, trust halves towards zero.
    next_era(&mut ext);
    let idle = reputation(&mut ext, &alice());
    assert_eq!(idle.uptime_score, Perbill::zero());
    assert_eq!(idle.consensus_participation, Perbill::zero());
    assert_eq!(idle.trust_score, Perbill::from_percent(25));
    // Era 1 (blocks 20-39, sessions 2 and 3): Alice authors her fair share (10 of 20
    // blocks with two validators) and beats in both sessions; Bob authors half his share
    // and beats once.
    assert_eq!(
        ActiveEra::get(&mut ext),
        Some(ActiveEraInfo {
            index: 1,
            start: 20
        })
    );
    dispatch(&mut ext, Origin::None, heartbeat_of(Keyring::Alice, 2)).unwrap();
    dispatch(&mut ext, Origin::None, heartbeat_of(Keyring::Bob, 2)).unwrap();
    run_to_block_with(&mut ext, 39, |n| {
        if n % 2 == 0 {
            Some(alice())
        } else if n % 4 == 1 {
            Some(bob())
        } else {
            None
        }
    });
    // Block 20 ran before the heartbeats, with no author; credit it by hand.
    note_author(&mut ext, &alice());
    assert_eq!(AuthoredBlocks::get(&mut ext, &1, &alice()), Some(10));
    assert_eq!(AuthoredBlocks::get(&mut ext, &1, &bob()), Some(5));
    dispatch(&mut ext, Origin::None, heartbeat_of(Keyring::Alice, 3)).unwrap();
    next_era(&mut ext);
    let full = reputation(&mut ext, &alice());
    assert_eq!(full.uptime_score, Perbill::one());
    assert_eq!(full.consensus_participation, Perbill::one());
    // 50% of 25% + 25% of 100% + 25% of 100%.
    assert_eq!(full.trust_score, Perbill::from_parts(625_000_000));
    let half = reputation(&mut ext, &bob());
    assert_eq!(half.uptime_score, Perbill::from_percent(50));
    assert_eq!(half.consensus_participation, Perbill::from_percent(50));
    assert_eq!(half.trust_score, Perbill::from_parts(375_000_000));
    assert_eq!(half.invalid_proposals, 0);
    // Committee candidates carry the trust.
    let candidates = committee_candidates(&mut ext);
    assert_eq!(
        candidates.iter().map(|c| c.trust).collect::<Vec<_>>(),
        vec![
            Perbill::from_parts(625_000_000),
            Perbill::from_parts(375_000_000)
        ]
    );
    assert_invariants(&mut ext);
}

#[test]
fn note_author_ignores_accounts_outside_the_active_set() {
    let state = standard();
    let mut ext = Ext::new(&state);
    note_author(&mut ext, &eve());
    note_author(&mut ext, &dave());
    assert!(ErasRewardPoints::get(&mut ext, &0).is_none());
    note_author(&mut ext, &bob());
    note_author(&mut ext, &alice());
    note_author(&mut ext, &bob());
    let points = ErasRewardPoints::get(&mut ext, &0).unwrap();
    assert_eq!(points.total, 60);
    let mut expected = vec![(alice(), 20), (bob(), 40)];
    expected.sort();
    assert_eq!(points.individual, expected);
    assert_invariants(&mut ext);
}

// ---------------------------------------------------------------------------------------
// Encoding and errors.
// ---------------------------------------------------------------------------------------

#[test]
fn call_encoding_and_indices() {
    let bond = Call::Bond { value: 12345 };
    let mut expected = vec![0u8];
    expected.extend_from_slice(&codec::Compact(12345u128).encode());
    assert_eq!(bond.encode(), expected);
    assert_eq!(Call::decode(&mut &expected[..]).unwrap(), bond);
    assert_eq!(Call::Chill.encode(), vec![6]);
    assert_eq!(Call::ForceNewEra.encode(), vec![13]);
    assert_eq!(Call::Rebond { value: 1 }.encode()[0], 19);
    assert_eq!(heartbeat_of(Keyring::Alice, 0).encode()[0], 31);
    let report = Call::ReportEquivocation {
        proof: Box::new(equivocation(Keyring::Alice, 1)),
    };
    assert_eq!(report.encode()[0], 30);
    assert_eq!(Call::decode(&mut &report.encode()[..]).unwrap(), report);
    // A commission above 100% does not decode.
    let mut validate = vec![4u8];
    validate.extend_from_slice(&1_000_000_001u32.encode());
    assert!(Call::decode(&mut &validate[..]).is_err());
    assert!(report.is_unsigned() && !bond.is_unsigned());
    assert!(report.weight().ref_time > bond.weight().ref_time);
}

#[test]
fn errors_are_module_errors_of_pallet_seven() {
    assert_eq!(
        DispatchError::from(Error::InsufficientBond),
        DispatchError::Module(arceon_support::ModuleError {
            index: 7,
            error: 7,
            name: "InsufficientBond"
        })
    );
    assert_eq!(Error::NoUnlockChunk.error_index(), 9);
    assert_eq!(Error::NotController.name(), "NotController");
    assert_eq!(
        TransactionValidityError::from(Error::DuplicateHeartbeat),
        InvalidTransaction::Stale.into()
    );
    assert_eq!(
        TransactionValidityError::from(Error::InvalidEquivocationProof),
        InvalidTransaction::BadProof.into()
    );
    let state = standard();
    let mut ext = Ext::new(&state);
    assert_eq!(
        validate_unsigned(&mut ext, &Call::Chill),
        Err(Error::NoUnsignedValidator)
    );
    assert_eq!(
        TransactionValidityError::from(Error::NoUnsignedValidator),
        UnknownTransaction::NoUnsignedValidator.into()
    );
}

// ---------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Bond(usize, u128),
    BondExtra(usize, u128),
    Unbond(usize, u128),
    Rebond(usize, u128),
    Withdraw(usize),
    Validate(usize, u32),
    Nominate(usize, Vec<usize>),
    Chill(usize),
    Author(usize),
    Report(usize, u64),
    Blocks(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0usize..6;
    let amount = 0u128..400 * ARCM;
    prop_oneof![
        (who.clone(), amount.clone()).prop_map(|(w, a)| Op::Bond(w, a)),
        (who.clone(), amount.clone()).prop_map(|(w, a)| Op::BondExtra(w, a)),
        (who.clone(), amount.clone()).prop_map(|(w, a)| Op::Unbond(w, a)),
        (who.clone(), amount).prop_map(|(w, a)| Op::Rebond(w, a)),
        who.clone().prop_map(Op::Withdraw),
        (who.clone(), 0u32..=100).prop_map(|(w, c)| Op::Validate(w, c)),
        (who.clone(), proptest::collection::vec(0usize..6, 0..4))
            .prop_map(|(w, t)| Op::Nominate(w, t)),
        who.clone().prop_map(Op::Chill),
        who.clone().prop_map(Op::Author),
        (who, 0u64..4).prop_map(|(w, s)| Op::Report(w, s)),
        (1u32..12).prop_map(Op::Blocks),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any sequence of calls, blocks, authorship and offences keeps the ledgers, locks,
    /// issuance and active set consistent, and a failed call changes nothing.
    #[test]
    fn random_operations_keep_the_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        let state = standard();
        let mut ext = Ext::new(&state);
        let keys = Keyring::ALL;
        let account = |i: usize| keys[i].account();
        for op in ops {
            let before = ext.changes().clone();
            let result = match op.clone() {
                Op::Bond(w, a) => dispatch(&mut ext, signed(&account(w)), Call::Bond { value: a }),
                Op::BondExtra(w, a) => dispatch(&mut ext, signed(&account(w)), Call::BondExtra { max_additional: a }),
                Op::Unbond(w, a) => dispatch(&mut ext, signed(&account(w)), Call::Unbond { value: a }),
                Op::Rebond(w, a) => dispatch(&mut ext, signed(&account(w)), Call::Rebond { value: a }),
                Op::Withdraw(w) => dispatch(&mut ext, signed(&account(w)), Call::WithdrawUnbonded),
                Op::Validate(w, c) => dispatch(
                    &mut ext,
                    signed(&account(w)),
                    Call::Validate { prefs: ValidatorPrefs { commission: Perbill::from_percent(c) } },
                ),
                Op::Nominate(w, t) => dispatch(
                    &mut ext,
                    signed(&account(w)),
                    Call::Nominate { targets: t.into_iter().map(|i| account(i).into()).collect() },
                ),
                Op::Chill(w) => dispatch(&mut ext, signed(&account(w)), Call::Chill),
                Op::Author(w) => {
                    note_author(&mut ext, &account(w));
                    Ok(())
                }
                Op::Report(w, slot) => report(&mut ext, equivocation(keys[w], slot)),
                Op::Blocks(k) => {
                    let now = system::Number::get_or_default(&mut ext);
                    run_to_block(&mut ext, now + k);
                    Ok(())
                }
            };
            if result.is_err() {
                prop_assert_eq!(&before, ext.changes(), "failed {:?} changed state", op);
            }
            assert_invariants(&mut ext);
        }
    }
}

// ---------------------------------------------------------------------------------------
// GRANDPA vote equivocations.
// ---------------------------------------------------------------------------------------

fn finality_vote(stage: u8, target: u8, number: BlockNumber) -> FinalityVote {
    FinalityVote {
        stage,
        target_hash: H256::repeat_byte(target),
        target_number: number,
    }
}

fn signed_vote(
    key: Keyring,
    vote: FinalityVote,
    round: u64,
    set_id: u64,
) -> (FinalityVote, [u8; 64]) {
    let payload = VoteEquivocationProof::signed_payload(&vote, round, set_id);
    let grandpa = arceon_primitives::keyring::ed25519_pair_from_suri(&key.suri()).expect("dev");
    (vote, grandpa.sign(&payload).0)
}

/// Two votes of `stage` by `key` in round 11 of GRANDPA set 0, for blocks 5 and 6.
fn vote_equivocation(key: Keyring, stage: u8) -> VoteEquivocationProof {
    vote_equivocation_at(key, stage, 0, 5)
}

/// Two votes of `stage` by `key` in round 11 of set `set_id`, for blocks `target` and
/// `target + 1`.
fn vote_equivocation_at(
    key: Keyring,
    stage: u8,
    set_id: u64,
    target: BlockNumber,
) -> VoteEquivocationProof {
    VoteEquivocationProof {
        set_id,
        round: 11,
        offender: key.session_keys().grandpa,
        first: signed_vote(key, finality_vote(stage, 1, target), 11, set_id),
        second: signed_vote(key, finality_vote(stage, 2, target + 1), 11, set_id),
    }
}

fn report_votes(ext: &mut Ext, proof: VoteEquivocationProof) -> DispatchResult {
    dispatch(
        ext,
        Origin::None,
        Call::ReportVoteEquivocation {
            proof: Box::new(proof),
        },
    )
}

#[test]
fn vote_equivocation_is_slashed_once_like_an_authoring_one() {
    let state = standard();
    let mut ext = Ext::new(&state);
    take_committee_dirty(&mut ext);
    let proof = vote_equivocation(Keyring::Alice, STAGE_PRECOMMIT);
    let call = Call::ReportVoteEquivocation {
        proof: Box::new(proof.clone()),
    };
    assert!(call.is_unsigned());
    let before = ext.changes().len();
    let validity = validate_unsigned(&mut ext, &call).unwrap();
    assert_eq!(ext.changes().len(), before, "validation writes nothing");
    assert_eq!(validity.priority, EQUIVOCATION_PRIORITY);
    assert_eq!(validity.provides.len(), 1);

    report_votes(&mut ext, proof.clone()).unwrap();
    assert!(is_disabled(&mut ext, &alice()));
    assert!(!Validators::contains_key(&mut ext, &alice()));
    assert_eq!(reputation(&mut ext, &alice()).invalid_proposals, 1);
    assert!(take_committee_dirty(&mut ext));
    assert_eq!(
        UnappliedSlashes::get(&mut ext, &2),
        Some(vec![UnappliedSlash {
            validator: alice(),
            own: 10 * ARCM,
            others: vec![(charlie(), 3 * ARCM)],
            reporters: vec![],
        }])
    );
    let seen = events(&mut ext);
    assert!(seen.contains(&Event::VoteOffenceReported {
        offender: alice(),
        set_id: 0,
        round: 11,
        era: 0
    }));
    assert!(seen.contains(&Event::ValidatorDisabled { validator: alice() }));

    // The same offence again: refused, and the pool drops it as stale.
    assert_eq!(
        report_votes(&mut ext, proof),
        error(Error::DuplicateVoteOffenceReport)
    );
    assert_eq!(
        TransactionValidityError::from(validate_unsigned(&mut ext, &call).unwrap_err()),
        InvalidTransaction::Stale.into()
    );
    // A prevote equivocation in the same round counts as the same offence.
    assert_eq!(
        report_votes(&mut ext, vote_equivocation(Keyring::Alice, STAGE_PREVOTE)),
        error(Error::DuplicateVoteOffenceReport)
    );
    assert_invariants(&mut ext);
}

#[test]
fn forged_or_harmless_vote_pairs_are_refused() {
    let state = standard();
    let mut ext = Ext::new(&state);
    let bad_proof = |proof: VoteEquivocationProof| Call::ReportVoteEquivocation {
        proof: Box::new(proof),
    };
    let mut cases = Vec::new();
    // Signed by someone else.
    let mut forged = vote_equivocation(Keyring::Alice, STAGE_PREVOTE);
    forged.second = signed_vote(Keyring::Bob, finality_vote(STAGE_PREVOTE, 2, 6), 11, 0);
    cases.push(forged);
    // Signed for another round or set.
    let mut other_round = vote_equivocation(Keyring::Alice, STAGE_PREVOTE);
    other_round.round = 12;
    cases.push(other_round);
    let mut other_set = vote_equivocation(Keyring::Alice, STAGE_PREVOTE);
    other_set.set_id = 4;
    cases.push(other_set);
    // Validly signed, but in a set that does not exist yet.
    cases.push(vote_equivocation_at(Keyring::Alice, STAGE_PREVOTE, 1, 5));
    // The same vote twice.
    let mut same = vote_equivocation(Keyring::Alice, STAGE_PREVOTE);
    same.second = signed_vote(Keyring::Alice, finality_vote(STAGE_PREVOTE, 1, 5), 11, 0);
    cases.push(same);
    // A prevote and a precommit are not an equivocation.
    let mut stages = vote_equivocation(Keyring::Alice, STAGE_PREVOTE);
    stages.second = signed_vote(Keyring::Alice, finality_vote(STAGE_PRECOMMIT, 2, 6), 11, 0);
    cases.push(stages);
    // Primary proposals are not votes.
    cases.push(vote_equivocation(Keyring::Alice, 2));
    for proof in cases {
        assert_eq!(
            report_votes(&mut ext, proof.clone()),
            error(Error::InvalidVoteEquivocationProof),
            "{proof:?}"
        );
        assert_eq!(
            TransactionValidityError::from(
                validate_unsigned(&mut ext, &bad_proof(proof)).unwrap_err()
            ),
            InvalidTransaction::BadProof.into()
        );
    }
    // Not a validator.
    assert_eq!(
        report_votes(&mut ext, vote_equivocation(Keyring::Dave, STAGE_PREVOTE)),
        error(Error::OffenderNotValidator)
    );
    // Only unsigned.
    assert_eq!(
        dispatch(
            &mut ext,
            signed(&bob()),
            bad_proof(vote_equivocation(Keyring::Alice, STAGE_PREVOTE))
        ),
        Err(DispatchError::BadOrigin)
    );
    assert!(ReportedVoteOffences::iter(&mut ext).is_empty());
    assert!(!is_disabled(&mut ext, &alice()));
    assert_invariants(&mut ext);
}

#[test]
fn vote_offences_answer_with_the_exposure_of_their_set_and_block() {
    let state = standard();
    let mut ext = Ext::new(&state);
    // Era 0: Alice and Bob vote in set 0; Bob leaves and Ferdie starts backing Alice.
    run_to_block(&mut ext, 8);
    dispatch(&mut ext, signed(&bob()), Call::Chill).unwrap();
    dispatch(&mut ext, signed(&ferdie()), Call::Bond { value: 40 * ARCM }).unwrap();
    dispatch(
        &mut ext,
        signed(&ferdie()),
        Call::Nominate {
            targets: vec![alice().into()],
        },
    )
    .unwrap();
    // Era 1: Alice and Eve, a new membership, so GRANDPA set 1.
    next_era(&mut ext);
    assert_eq!(era_start(&mut ext, 1).map(|s| s.finality_set), Some(1));

    // Set 0 votes for blocks 5 and 6, reported in era 1: era 0's exposure.
    events(&mut ext);
    report_votes(&mut ext, vote_equivocation(Keyring::Alice, STAGE_PRECOMMIT)).unwrap();
    assert!(events(&mut ext).contains(&Event::VoteOffenceReported {
        offender: alice(),
        set_id: 0,
        round: 11,
        era: 0
    }));
    let slashes = UnappliedSlashes::get(&mut ext, &3).unwrap();
    assert_eq!(slashes[0].others, vec![(charlie(), 3 * ARCM)]);
    // Set 0 votes naming a block of era 1 still belong to set 0's last era, 0; Bob
    // voted in set 0 but not in set 1.
    report_votes(
        &mut ext,
        vote_equivocation_at(Keyring::Bob, STAGE_PREVOTE, 0, 12),
    )
    .unwrap();
    assert!(events(&mut ext).contains(&Event::VoteOffenceReported {
        offender: bob(),
        set_id: 0,
        round: 11,
        era: 0
    }));
    assert_refused_unchanged(&mut ext, Error::OffenderNotValidator, |ext| {
        report_votes(
            ext,
            vote_equivocation_at(Keyring::Bob, STAGE_PREVOTE, 1, 12),
        )
    });
    // Set 1 votes naming a block before the set began are set 1's first era's: era 1,
    // where Ferdie backs Alice.
    report_votes(
        &mut ext,
        vote_equivocation_at(Keyring::Alice, STAGE_PREVOTE, 1, 3),
    )
    .unwrap();
    assert!(events(&mut ext).contains(&Event::VoteOffenceReported {
        offender: alice(),
        set_id: 1,
        round: 11,
        era: 1
    }));
    let slashes = UnappliedSlashes::get(&mut ext, &3).unwrap();
    assert!(slashes
        .iter()
        .any(|slash| slash.validator == alice() && slash.others.contains(&(ferdie(), 4 * ARCM))));
    // Set 2 does not exist yet.
    assert_refused_unchanged(&mut ext, Error::InvalidVoteEquivocationProof, |ext| {
        report_votes(
            ext,
            vote_equivocation_at(Keyring::Alice, STAGE_PREVOTE, 2, 12),
        )
    });
    assert_invariants(&mut ext);
}
