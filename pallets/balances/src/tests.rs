use super::*;
use arceon_primitives::keyring::Keyring;
use arceon_support::{BuildGenesis, MemoryState, PalletError};
use proptest::prelude::*;

const ED: Balance = EXISTENTIAL_DEPOSIT;

fn genesis(balances: &[(AccountId32, Balance)]) -> MemoryState {
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    GenesisConfig {
        balances: balances.to_vec(),
    }
    .build(&mut ext)
    .expect("valid genesis");
    ext.into_changes()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn alice() -> AccountId32 {
    Keyring::Alice.account()
}
fn bob() -> AccountId32 {
    Keyring::Bob.account()
}
fn charlie() -> AccountId32 {
    Keyring::Charlie.account()
}

/// Sum of free + reserved over every stored account.
fn sum_of_balances(ext: &mut Ext) -> Balance {
    system::Account::iter(ext)
        .into_iter()
        .map(|(_, info)| info.data.free + info.data.reserved)
        .sum()
}

fn assert_invariants(ext: &mut Ext) {
    assert_eq!(total_issuance(ext), sum_of_balances(ext), "issuance == sum");
    for (who, info) in system::Account::iter(ext) {
        assert!(
            info.data.free + info.data.reserved >= ED,
            "{who} exists below the existential deposit"
        );
        assert!(info.data.free >= info.data.frozen, "{who} free < frozen");
    }
}

fn module_error(error: Error) -> DispatchError {
    error.into()
}

/// Runs `f` in a transactional layer, as the executive does for a dispatch.
fn dispatch(ext: &mut Ext, f: impl FnOnce(&mut Ext) -> DispatchResult) -> DispatchResult {
    ext.transactional(f)
}

/// The block's deposited events; each item is an encoded `EventRecord`.
struct Events(Vec<Vec<u8>>);

impl Events {
    /// Whether some record carries exactly this encoded runtime event.
    fn contains(&self, event: &[u8]) -> bool {
        self.0
            .iter()
            .any(|record| record.windows(event.len()).any(|window| window == event))
    }
}

fn events(ext: &mut Ext) -> Events {
    Events(ext.take_events())
}

fn balances_event(event: Event) -> Vec<u8> {
    let mut bytes = vec![PALLET_INDEX];
    event.encode_to(&mut bytes);
    bytes
}

#[test]
fn genesis_sets_issuance_and_accounts() {
    let state = genesis(&[(alice(), 100 * ARCM), (bob(), 50 * ARCM)]);
    let mut ext = Ext::new(&state);
    assert_eq!(total_issuance(&mut ext), 150 * ARCM);
    assert_eq!(free_balance(&mut ext, &alice()), 100 * ARCM);
    assert_eq!(system::account(&mut ext, &alice()).providers, 1);
    assert_invariants(&mut ext);
}

#[test]
fn genesis_rejects_dust_and_duplicates() {
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    let dust = GenesisConfig {
        balances: vec![(alice(), ED - 1)],
    };
    assert_eq!(
        dust.build(&mut ext),
        Err(GenesisError::BelowExistentialDeposit(alice()))
    );
    let twice = GenesisConfig {
        balances: vec![(alice(), ARCM), (alice(), ARCM)],
    };
    assert_eq!(twice.build(&mut ext), Err(GenesisError::Duplicate(alice())));
    let overflow = GenesisConfig {
        balances: vec![(alice(), Balance::MAX), (bob(), ARCM)],
    };
    assert_eq!(overflow.build(&mut ext), Err(GenesisError::Overflow));
}

#[test]
fn transfer_moves_value_and_endows_new_account() {
    let state = genesis(&[(alice(), 100 * ARCM)]);
    let mut ext = Ext::new(&state);
    let call = Call::TransferAllowDeath {
        dest: MultiAddress::Id(bob()),
        value: 10 * ARCM,
    };
    call.dispatch(&mut ext, Origin::Signed(alice()))
        .expect("transfer");
    assert_eq!(free_balance(&mut ext, &alice()), 90 * ARCM);
    assert_eq!(free_balance(&mut ext, &bob()), 10 * ARCM);
    let events = events(&mut ext);
    assert!(events.contains(&balances_event(Event::Endowed {
        account: bob(),
        free_balance: 10 * ARCM
    })));
    assert!(events.contains(&balances_event(Event::Transfer {
        from: alice(),
        to: bob(),
        amount: 10 * ARCM
    })));
    assert_invariants(&mut ext);
}

#[test]
fn transfer_below_ed_to_new_account_fails() {
    let state = genesis(&[(alice(), 100 * ARCM)]);
    let mut ext = Ext::new(&state);
    let result = dispatch(&mut ext, |ext| {
        transfer(ext, &alice(), &bob(), ED - 1, Existence::AllowDeath)
    });
    assert_eq!(result, Err(module_error(Error::ExistentialDeposit)));
    assert_eq!(free_balance(&mut ext, &alice()), 100 * ARCM);
    assert!(!system::account_exists(&mut ext, &bob()));
    assert_invariants(&mut ext);
}

#[test]
fn transfer_more_than_free_fails_with_insufficient_balance() {
    let state = genesis(&[(alice(), ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    let result = Call::TransferAllowDeath {
        dest: MultiAddress::Id(bob()),
        value: 2 * ARCM,
    }
    .dispatch(&mut ext, Origin::Signed(alice()));
    assert_eq!(result, Err(module_error(Error::InsufficientBalance)));
    assert_eq!(
        module_error(Error::InsufficientBalance),
        DispatchError::Module(arceon_support::ModuleError {
            index: 5,
            error: 2,
            name: "InsufficientBalance"
        })
    );
    assert_eq!(Error::InsufficientBalance.name(), "InsufficientBalance");
    assert_invariants(&mut ext);
}

#[test]
fn allow_death_reaps_sender_and_burns_dust() {
    let state = genesis(&[(alice(), ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    let dust = ED / 2;
    transfer(
        &mut ext,
        &alice(),
        &bob(),
        ARCM - dust,
        Existence::AllowDeath,
    )
    .expect("transfer");
    assert!(!system::account_exists(&mut ext, &alice()));
    assert_eq!(free_balance(&mut ext, &alice()), 0);
    assert_eq!(total_issuance(&mut ext), 2 * ARCM - dust);
    let events = events(&mut ext);
    assert!(events.contains(&balances_event(Event::DustLost {
        account: alice(),
        amount: dust
    })));
    let mut killed = vec![system::PALLET_INDEX];
    system::Event::KilledAccount { account: alice() }.encode_to(&mut killed);
    assert!(events.contains(&killed));
    assert_invariants(&mut ext);
}

#[test]
fn keep_alive_refuses_to_reap() {
    let state = genesis(&[(alice(), ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    let result = Call::TransferKeepAlive {
        dest: MultiAddress::Id(bob()),
        value: ARCM - ED / 2,
    }
    .dispatch(&mut ext, Origin::Signed(alice()));
    assert_eq!(result, Err(module_error(Error::Expendability)));
    assert_eq!(free_balance(&mut ext, &alice()), ARCM);
    // Leaving exactly the existential deposit is fine.
    transfer(&mut ext, &alice(), &bob(), ARCM - ED, Existence::KeepAlive).expect("keep alive");
    assert_eq!(free_balance(&mut ext, &alice()), ED);
    assert_invariants(&mut ext);
}

#[test]
fn force_transfer_needs_root() {
    let state = genesis(&[(alice(), ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    let call = Call::ForceTransfer {
        source: MultiAddress::Id(bob()),
        dest: MultiAddress::Id(charlie()),
        value: ARCM / 2,
    };
    assert_eq!(
        call.clone().dispatch(&mut ext, Origin::Signed(alice())),
        Err(DispatchError::BadOrigin)
    );
    call.dispatch(&mut ext, Origin::Root).expect("root");
    assert_eq!(free_balance(&mut ext, &charlie()), ARCM / 2);
    assert_invariants(&mut ext);
}

#[test]
fn unknown_address_forms_cannot_be_looked_up() {
    let state = genesis(&[(alice(), ARCM)]);
    let mut ext = Ext::new(&state);
    let result = Call::TransferAllowDeath {
        dest: MultiAddress::Index(3),
        value: ED,
    }
    .dispatch(&mut ext, Origin::Signed(alice()));
    assert_eq!(result, Err(DispatchError::CannotLookup));
}

#[test]
fn transfer_all_keep_alive_leaves_existential_deposit() {
    let state = genesis(&[(alice(), ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    Call::TransferAll {
        dest: MultiAddress::Id(bob()),
        keep_alive: true,
    }
    .dispatch(&mut ext, Origin::Signed(alice()))
    .expect("transfer all");
    assert_eq!(free_balance(&mut ext, &alice()), ED);
    Call::TransferAll {
        dest: MultiAddress::Id(bob()),
        keep_alive: false,
    }
    .dispatch(&mut ext, Origin::Signed(alice()))
    .expect("transfer all");
    assert!(!system::account_exists(&mut ext, &alice()));
    assert_eq!(free_balance(&mut ext, &bob()), 2 * ARCM);
    assert_invariants(&mut ext);
}

#[test]
fn reserves_move_between_free_and_reserved_and_block_reaping() {
    let state = genesis(&[(alice(), 10 * ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    reserve(&mut ext, &alice(), 4 * ARCM).expect("reserve");
    assert_eq!(account_data(&mut ext, &alice()).reserved, 4 * ARCM);
    assert_eq!(system::account(&mut ext, &alice()).consumers, 1);
    assert_eq!(
        reserve(&mut ext, &alice(), 7 * ARCM),
        Err(module_error(Error::InsufficientBalance))
    );
    // The reserve keeps the account alive even with no free balance left.
    transfer(&mut ext, &alice(), &bob(), 6 * ARCM, Existence::AllowDeath).expect("send free");
    assert!(system::account_exists(&mut ext, &alice()));
    assert_eq!(free_balance(&mut ext, &alice()), 0);
    assert_eq!(unreserve(&mut ext, &alice(), 5 * ARCM), ARCM);
    assert_eq!(free_balance(&mut ext, &alice()), 4 * ARCM);
    assert_eq!(account_data(&mut ext, &alice()).reserved, 0);
    assert_eq!(system::account(&mut ext, &alice()).consumers, 0);
    assert_invariants(&mut ext);
}

#[test]
fn slashing_reserved_burns_it() {
    let state = genesis(&[(alice(), 10 * ARCM)]);
    let mut ext = Ext::new(&state);
    reserve(&mut ext, &alice(), 4 * ARCM).expect("reserve");
    assert_eq!(slash_reserved(&mut ext, &alice(), 5 * ARCM), 4 * ARCM);
    assert_eq!(total_issuance(&mut ext), 6 * ARCM);
    assert_eq!(system::account(&mut ext, &alice()).consumers, 0);
    assert_invariants(&mut ext);
}

#[test]
fn locks_freeze_free_balance() {
    let state = genesis(&[(alice(), 10 * ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    set_lock(&mut ext, *b"staking ", &alice(), 8 * ARCM, Reasons::All).expect("lock");
    set_lock(&mut ext, *b"vote    ", &alice(), 3 * ARCM, Reasons::All).expect("lock");
    assert_eq!(account_data(&mut ext, &alice()).frozen, 8 * ARCM);
    assert_eq!(system::account(&mut ext, &alice()).consumers, 1);
    assert_eq!(
        dispatch(&mut ext, |ext| transfer(
            ext,
            &alice(),
            &bob(),
            3 * ARCM,
            Existence::AllowDeath
        )),
        Err(module_error(Error::LiquidityRestrictions))
    );
    transfer(&mut ext, &alice(), &bob(), 2 * ARCM, Existence::AllowDeath).expect("unlocked part");
    remove_lock(&mut ext, *b"staking ", &alice());
    assert_eq!(account_data(&mut ext, &alice()).frozen, 3 * ARCM);
    remove_lock(&mut ext, *b"vote    ", &alice());
    assert_eq!(account_data(&mut ext, &alice()).frozen, 0);
    assert_eq!(system::account(&mut ext, &alice()).consumers, 0);
    assert!(locks(&mut ext, &alice()).is_empty());
    assert_invariants(&mut ext);
}

#[test]
fn too_many_locks_is_an_error() {
    let state = genesis(&[(alice(), 10 * ARCM)]);
    let mut ext = Ext::new(&state);
    for i in 0..MAX_LOCKS {
        let mut id = [0u8; 8];
        id[0] = i as u8;
        set_lock(&mut ext, id, &alice(), ARCM, Reasons::All).expect("lock");
    }
    assert_eq!(
        set_lock(&mut ext, [0xff; 8], &alice(), ARCM, Reasons::All),
        Err(module_error(Error::TooManyFreezes))
    );
}

#[test]
fn withdraw_for_fees_keeps_alive_and_burns() {
    let state = genesis(&[(alice(), ARCM)]);
    let mut ext = Ext::new(&state);
    withdraw(&mut ext, &alice(), ARCM / 2, Existence::KeepAlive).expect("fee");
    assert_eq!(total_issuance(&mut ext), ARCM / 2);
    assert_eq!(
        withdraw(&mut ext, &alice(), ARCM / 2, Existence::KeepAlive),
        Err(DispatchError::Token(TokenError::FundsUnavailable))
    );
    assert_eq!(free_balance(&mut ext, &alice()), ARCM / 2);
    assert_invariants(&mut ext);
}

#[test]
fn deposit_creating_mints_or_refuses_dust() {
    let state = genesis(&[(alice(), ARCM)]);
    let mut ext = Ext::new(&state);
    assert!(!deposit_creating(&mut ext, &bob(), ED - 1));
    assert!(!system::account_exists(&mut ext, &bob()));
    assert!(deposit_creating(&mut ext, &bob(), ED));
    assert!(deposit_creating(&mut ext, &alice(), 1));
    assert_eq!(total_issuance(&mut ext), ARCM + ED + 1);
    assert_invariants(&mut ext);
}

#[test]
fn force_set_balance_adjusts_issuance() {
    let state = genesis(&[(alice(), ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    Call::ForceSetBalance {
        who: MultiAddress::Id(alice()),
        new_free: 5 * ARCM,
    }
    .dispatch(&mut ext, Origin::Root)
    .expect("set");
    assert_eq!(total_issuance(&mut ext), 6 * ARCM);
    Call::ForceSetBalance {
        who: MultiAddress::Id(bob()),
        new_free: 0,
    }
    .dispatch(&mut ext, Origin::Root)
    .expect("set");
    assert!(!system::account_exists(&mut ext, &bob()));
    assert_eq!(total_issuance(&mut ext), 5 * ARCM);
    Call::ForceUnreserve {
        who: MultiAddress::Id(alice()),
        amount: ARCM,
    }
    .dispatch(&mut ext, Origin::Root)
    .expect("unreserve nothing");
    assert_invariants(&mut ext);
}

#[test]
fn call_encoding_matches_substrate() {
    // Balances.transfer_keep_alive(Id(Bob), 12345) as polkadot.js encodes it (without the
    // pallet index, which the runtime's Call adds).
    let call = Call::TransferKeepAlive {
        dest: MultiAddress::Id(bob()),
        value: 12345,
    };
    let mut expected = vec![3u8, 0];
    expected.extend_from_slice(bob().as_ref());
    expected.extend_from_slice(&codec::Compact(12345u128).encode());
    assert_eq!(call.encode(), expected);
    assert_eq!(Call::decode(&mut &expected[..]).expect("decode"), call);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random transfers among six accounts, many of them draining or reaping accounts,
    /// keep the total issuance equal to the sum of all balances.
    #[test]
    fn issuance_equals_sum_of_balances(
        ops in proptest::collection::vec((0usize..6, 0usize..6, 0u128..3 * ARCM, any::<bool>()), 1..60)
    ) {
        let accounts: Vec<AccountId32> = Keyring::ALL.iter().map(|k| k.account()).collect();
        let state = genesis(&[
            (accounts[0].clone(), 2 * ARCM),
            (accounts[1].clone(), ARCM),
            (accounts[2].clone(), ED),
        ]);
        let mut ext = Ext::new(&state);
        for (from, to, amount, keep_alive) in ops {
            // Sometimes move everything, to hit reaping exactly.
            let amount = if amount % 7 == 0 { free_balance(&mut ext, &accounts[from]) } else { amount };
            let existence = if keep_alive { Existence::KeepAlive } else { Existence::AllowDeath };
            let before: Vec<Balance> = accounts.iter().map(|a| free_balance(&mut ext, a)).collect();
            let result = dispatch(&mut ext, |ext| {
                transfer(ext, &accounts[from], &accounts[to], amount, existence)
            });
            if result.is_err() {
                let after: Vec<Balance> = accounts.iter().map(|a| free_balance(&mut ext, a)).collect();
                prop_assert_eq!(before, after, "a failed transfer changed balances");
            }
            prop_assert_eq!(total_issuance(&mut ext), sum_of_balances(&mut ext));
        }
        assert_invariants(&mut ext);
    }
}

#[test]
fn small_reserve_keeps_existential_deposit_in_free() {
    let state = genesis(&[(alice(), ARCM), (bob(), ARCM)]);
    let mut ext = Ext::new(&state);
    reserve(&mut ext, &alice(), ED / 2).expect("reserve");
    // Reserves are a consumer: the account may not be reaped, so the free part must
    // keep what the reserve lacks of the existential deposit.
    let result = dispatch(&mut ext, |ext| {
        transfer(ext, &alice(), &bob(), ARCM - ED / 2, Existence::AllowDeath)
    });
    assert_eq!(result, Err(DispatchError::ConsumerRemaining));
    assert_eq!(free_balance(&mut ext, &alice()), ARCM - ED / 2);
    assert_invariants(&mut ext);
}
