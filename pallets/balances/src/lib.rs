//! The balances pallet (index 5): ArcM, with 12 decimals. Free and reserved balances live
//! in `System.Account`'s `AccountData`; this pallet owns the total issuance and the named
//! locks, and the rules that move value: transfers, the existential deposit and reaping
//! of dust accounts, reserves (bonds, deposits) and locks (staking), fee withdrawal.
//!
//! Invariants: `TotalIssuance` equals the sum of `free + reserved` over all accounts
//! (dust that is reaped is burned from both); an account exists exactly while
//! `free + reserved >= EXISTENTIAL_DEPOSIT`; `frozen` is the largest lock and `free`
//! never drops below it; an account with reserves or locks (consumers) is never reaped.
//! Every failing operation returns a typed error and changes nothing.

use arceon_pallet_system::{self as system, AccountData, AccountInfo, NEW_LOGIC_FLAG};
use arceon_primitives::{AccountId32, Balance, MultiAddress, ARCM};
use arceon_support::{
    ensure_root, ensure_signed, storage, ArithmeticError, Blake2_128Concat, DispatchError,
    DispatchResult, Ext, Origin, TokenError, Weight,
};
use codec::{Decode, Encode};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 5;

/// The pallet, for its hooks.
pub struct Pallet;

/// Balances does no per-block work: every change is driven by a call.
impl arceon_support::Hooks for Pallet {}

/// The minimum balance an account must hold to exist: 0.01 ArcM.
pub const EXISTENTIAL_DEPOSIT: Balance = ARCM / 100;

/// The most named locks one account can carry.
pub const MAX_LOCKS: usize = 50;

/// A lock identifier, as Substrate's `LockIdentifier`.
pub type LockId = [u8; 8];

/// What a lock restricts, as Substrate's `Reasons`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Reasons {
    /// Paying fees.
    Fee,
    /// Anything but fees.
    Misc,
    /// Everything.
    All,
}

/// A named lock on part of an account's free balance, as Substrate's `BalanceLock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct BalanceLock {
    /// Who holds the lock (e.g. `b"staking "`).
    pub id: LockId,
    /// How much it locks.
    pub amount: Balance,
    /// What it restricts.
    pub reasons: Reasons,
}

storage! { pallet "Balances";
    /// The total ArcM in existence.
    pub TotalIssuance: value Balance;
    /// Named locks per account.
    pub Locks: map Blake2_128Concat, AccountId32 => Vec<BalanceLock>;
}

/// Balances events, with Substrate's indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// An account was created with some free balance.
    #[codec(index = 0)]
    Endowed {
        /// The account.
        account: AccountId32,
        /// Its initial free balance.
        free_balance: Balance,
    },
    /// An account was reaped and its remaining balance burned.
    #[codec(index = 1)]
    DustLost {
        /// The account.
        account: AccountId32,
        /// The burned dust.
        amount: Balance,
    },
    /// A transfer succeeded.
    #[codec(index = 2)]
    Transfer {
        /// Sender.
        from: AccountId32,
        /// Recipient.
        to: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// A balance was set by root.
    #[codec(index = 3)]
    BalanceSet {
        /// The account.
        who: AccountId32,
        /// Its new free balance.
        free: Balance,
    },
    /// Some balance was reserved (moved from free to reserved).
    #[codec(index = 4)]
    Reserved {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Some balance was unreserved (moved from reserved to free).
    #[codec(index = 5)]
    Unreserved {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Some amount was deposited (e.g. fees to the block author, rewards).
    #[codec(index = 7)]
    Deposit {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Some amount was withdrawn (e.g. transaction fees).
    #[codec(index = 8)]
    Withdraw {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Some reserved balance was slashed.
    #[codec(index = 9)]
    Slashed {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Some balance was locked.
    #[codec(index = 17)]
    Locked {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Some balance was unlocked.
    #[codec(index = 18)]
    Unlocked {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
}

arceon_support::pallet_error! {
    /// Balances errors, with Substrate's indices.
    pub enum Error for pallet PALLET_INDEX {
        /// Vesting balance too high to send value.
        VestingBalance,
        /// Account liquidity restrictions prevent withdrawal (a lock).
        LiquidityRestrictions,
        /// Balance too low to send value.
        InsufficientBalance,
        /// Value too low to create an account due to the existential deposit.
        ExistentialDeposit,
        /// Transfer or payment would kill the account.
        Expendability,
        /// A vesting schedule already exists.
        ExistingVestingSchedule,
        /// Beneficiary account must pre-exist.
        DeadAccount,
        /// Number of named reserves exceeds the limit.
        TooManyReserves,
        /// Number of holds exceeds the limit.
        TooManyHolds,
        /// Number of freezes (locks) exceeds the limit.
        TooManyFreezes,
        /// The issuance cannot be modified since it is already deactivated.
        IssuanceDeactivated,
        /// The delta cannot be zero.
        DeltaZero,
    }
}

/// Balances calls, with Substrate's call indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Transfer, reaping the sender if it drops below the existential deposit (index 0).
    #[codec(index = 0)]
    TransferAllowDeath {
        /// Recipient.
        dest: MultiAddress,
        /// Amount.
        #[codec(compact)]
        value: Balance,
    },
    /// Transfer between any two accounts (root only, index 2).
    #[codec(index = 2)]
    ForceTransfer {
        /// Sender.
        source: MultiAddress,
        /// Recipient.
        dest: MultiAddress,
        /// Amount.
        #[codec(compact)]
        value: Balance,
    },
    /// Transfer, failing if the sender would be reaped (index 3).
    #[codec(index = 3)]
    TransferKeepAlive {
        /// Recipient.
        dest: MultiAddress,
        /// Amount.
        #[codec(compact)]
        value: Balance,
    },
    /// Transfer the whole spendable balance (index 4).
    #[codec(index = 4)]
    TransferAll {
        /// Recipient.
        dest: MultiAddress,
        /// Keep the sender alive (leave the existential deposit).
        keep_alive: bool,
    },
    /// Unreserve some balance of an account (root only, index 5).
    #[codec(index = 5)]
    ForceUnreserve {
        /// The account.
        who: MultiAddress,
        /// Amount.
        amount: Balance,
    },
    /// Set an account's free balance (root only, index 8).
    #[codec(index = 8)]
    ForceSetBalance {
        /// The account.
        who: MultiAddress,
        /// Its new free balance.
        #[codec(compact)]
        new_free: Balance,
    },
}

/// Weights of this pallet's calls (reference time in picoseconds). `arceon-node benchmark
/// pallet` measures each call on a 10,000-account in-memory state (11-12 us for a transfer
/// into a new account on the 2-core reference machine); the declared values keep a margin
/// of about 4x for reads through the trie and database during import.
pub mod weights {
    use arceon_support::Weight;

    /// `transfer_allow_death` into a new account (worst case).
    pub const TRANSFER_ALLOW_DEATH: Weight = Weight::from_parts(55_000_000, 3_593);
    /// `transfer_keep_alive` into a new account.
    pub const TRANSFER_KEEP_ALIVE: Weight = Weight::from_parts(45_000_000, 3_593);
    /// `force_transfer` between two accounts.
    pub const FORCE_TRANSFER: Weight = Weight::from_parts(57_000_000, 6_196);
    /// `transfer_all`.
    pub const TRANSFER_ALL: Weight = Weight::from_parts(55_000_000, 3_593);
    /// `force_unreserve`.
    pub const FORCE_UNRESERVE: Weight = Weight::from_parts(20_000_000, 3_593);
    /// `force_set_balance`.
    pub const FORCE_SET_BALANCE: Weight = Weight::from_parts(22_000_000, 3_593);
}

/// How a withdrawal may affect the account's existence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existence {
    /// The account must stay above the existential deposit.
    KeepAlive,
    /// The account may be reaped.
    AllowDeath,
}

fn lookup(address: &MultiAddress) -> Result<AccountId32, DispatchError> {
    match address {
        MultiAddress::Id(account) => Ok(account.clone()),
        MultiAddress::Address32(bytes) => Ok(AccountId32::new(*bytes)),
        _ => Err(DispatchError::CannotLookup),
    }
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::TransferAllowDeath { .. } => weights::TRANSFER_ALLOW_DEATH,
            Call::ForceTransfer { .. } => weights::FORCE_TRANSFER,
            Call::TransferKeepAlive { .. } => weights::TRANSFER_KEEP_ALIVE,
            Call::TransferAll { .. } => weights::TRANSFER_ALL,
            Call::ForceUnreserve { .. } => weights::FORCE_UNRESERVE,
            Call::ForceSetBalance { .. } => weights::FORCE_SET_BALANCE,
        }
    }

    /// Executes the call. Runs inside the executive's transactional layer, so an error
    /// discards every write the call made.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        match self {
            Call::TransferAllowDeath { dest, value } => {
                let from = ensure_signed(origin)?;
                transfer(ext, &from, &lookup(&dest)?, value, Existence::AllowDeath)
            }
            Call::TransferKeepAlive { dest, value } => {
                let from = ensure_signed(origin)?;
                transfer(ext, &from, &lookup(&dest)?, value, Existence::KeepAlive)
            }
            Call::ForceTransfer {
                source,
                dest,
                value,
            } => {
                ensure_root(origin)?;
                transfer(
                    ext,
                    &lookup(&source)?,
                    &lookup(&dest)?,
                    value,
                    Existence::AllowDeath,
                )
            }
            Call::TransferAll { dest, keep_alive } => {
                let from = ensure_signed(origin)?;
                let existence = if keep_alive {
                    Existence::KeepAlive
                } else {
                    Existence::AllowDeath
                };
                let value = reducible_balance(ext, &from, existence);
                transfer(ext, &from, &lookup(&dest)?, value, existence)
            }
            Call::ForceUnreserve { who, amount } => {
                ensure_root(origin)?;
                unreserve(ext, &lookup(&who)?, amount);
                Ok(())
            }
            Call::ForceSetBalance { who, new_free } => {
                ensure_root(origin)?;
                let who = lookup(&who)?;
                force_set_balance(ext, &who, new_free)
            }
        }
    }
}

/// Deposits a balances event.
pub fn deposit_event(ext: &mut Ext, event: &Event) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The account's balances.
pub fn account_data(ext: &mut Ext, who: &AccountId32) -> AccountData {
    system::account(ext, who).data
}

/// The account's free balance.
pub fn free_balance(ext: &mut Ext, who: &AccountId32) -> Balance {
    account_data(ext, who).free
}

/// The account's reserved balance.
pub fn reserved_balance(ext: &mut Ext, who: &AccountId32) -> Balance {
    account_data(ext, who).reserved
}

/// The account's total balance, free plus reserved.
pub fn total_balance(ext: &mut Ext, who: &AccountId32) -> Balance {
    let data = account_data(ext, who);
    data.free.saturating_add(data.reserved)
}

/// The total ArcM in existence.
pub fn total_issuance(ext: &mut Ext) -> Balance {
    TotalIssuance::get_or_default(ext)
}

/// How much of the free balance can leave the account under `existence`.
pub fn reducible_balance(ext: &mut Ext, who: &AccountId32, existence: Existence) -> Balance {
    let info = system::account(ext, who);
    let data = info.data;
    let mut untouchable = data.frozen;
    let must_stay = existence == Existence::KeepAlive || info.consumers > 0;
    if must_stay && data.reserved < EXISTENTIAL_DEPOSIT {
        untouchable = untouchable.max(EXISTENTIAL_DEPOSIT - data.reserved);
    }
    data.free.saturating_sub(untouchable)
}

/// What happened to an account's existence in [`mutate_account`].
enum Lifecycle {
    Unchanged,
    Created,
    Reaped(Balance),
}

/// Applies `f` to the account's balances and enforces the existence rules: a new account
/// needs `free + reserved >= ED` (else `ExistentialDeposit`); an account dropping below
/// the existential deposit is reaped unless `existence` is `KeepAlive` (`Expendability`)
/// or it still has consumers (`ConsumerRemaining`). Writes nothing on error.
fn mutate_account<R>(
    ext: &mut Ext,
    who: &AccountId32,
    existence: Existence,
    f: impl FnOnce(&mut AccountData) -> Result<R, DispatchError>,
) -> Result<R, DispatchError> {
    let mut info: AccountInfo = system::account(ext, who);
    let existed = system::account_exists(ext, who);
    let result = f(&mut info.data)?;
    if info.data.free < info.data.frozen {
        return Err(Error::LiquidityRestrictions.into());
    }
    let total = info.data.free.saturating_add(info.data.reserved);
    let lifecycle = match (existed, total >= EXISTENTIAL_DEPOSIT) {
        (true, true) => Lifecycle::Unchanged,
        (false, true) => Lifecycle::Created,
        (false, false) if total == 0 => return Ok(result),
        (false, false) => return Err(Error::ExistentialDeposit.into()),
        (true, false) => {
            if existence == Existence::KeepAlive {
                return Err(Error::Expendability.into());
            }
            if info.consumers > 0 {
                return Err(DispatchError::ConsumerRemaining);
            }
            Lifecycle::Reaped(total)
        }
    };
    match lifecycle {
        Lifecycle::Unchanged => system::put_account(ext, who, &info),
        Lifecycle::Created => {
            info.providers = info.providers.saturating_add(1);
            info.data.flags |= NEW_LOGIC_FLAG;
            let free_balance = info.data.free;
            system::put_account(ext, who, &info);
            deposit_event(
                ext,
                &Event::Endowed {
                    account: who.clone(),
                    free_balance,
                },
            );
        }
        Lifecycle::Reaped(dust) => {
            info.providers = info.providers.saturating_sub(1);
            info.data = AccountData::default();
            system::put_account(ext, who, &info);
            if dust > 0 {
                TotalIssuance::mutate(ext, |issuance| *issuance = issuance.saturating_sub(dust));
                deposit_event(
                    ext,
                    &Event::DustLost {
                        account: who.clone(),
                        amount: dust,
                    },
                );
            }
            Locks::remove(ext, who);
        }
    }
    Ok(result)
}

/// Moves `value` from `from` to `to`. Fails with `InsufficientBalance` /
/// `LiquidityRestrictions` when `from` cannot spend it, `ExistentialDeposit` when it would
/// create `to` with less than the existential deposit, `Expendability` when it would reap
/// `from` under `KeepAlive`.
pub fn transfer(
    ext: &mut Ext,
    from: &AccountId32,
    to: &AccountId32,
    value: Balance,
    existence: Existence,
) -> DispatchResult {
    if value == 0 || from == to {
        return Ok(());
    }
    // Checked up front so the sender is not touched when the recipient cannot accept.
    let to_data = account_data(ext, to);
    let to_total = to_data.free.saturating_add(to_data.reserved);
    if to_total.checked_add(value).is_none() {
        return Err(DispatchError::Arithmetic(ArithmeticError::Overflow));
    }
    if !system::account_exists(ext, to) && to_total.saturating_add(value) < EXISTENTIAL_DEPOSIT {
        return Err(Error::ExistentialDeposit.into());
    }
    let sender_data = account_data(ext, from);
    if sender_data.free < value {
        return Err(Error::InsufficientBalance.into());
    }
    if sender_data.free - value < sender_data.frozen {
        return Err(Error::LiquidityRestrictions.into());
    }
    if value > reducible_balance(ext, from, existence) {
        return Err(match existence {
            Existence::KeepAlive => Error::Expendability.into(),
            // Reserves or locks depend on the account: it must keep its deposit.
            Existence::AllowDeath => DispatchError::ConsumerRemaining,
        });
    }
    mutate_account(ext, from, existence, |data| {
        data.free -= value;
        Ok(())
    })?;
    mutate_account(ext, to, Existence::AllowDeath, |data| {
        data.free = data
            .free
            .checked_add(value)
            .ok_or(DispatchError::Arithmetic(ArithmeticError::Overflow))?;
        Ok(())
    })?;
    deposit_event(
        ext,
        &Event::Transfer {
            from: from.clone(),
            to: to.clone(),
            amount: value,
        },
    );
    Ok(())
}

/// Withdraws and burns `amount` from `who`'s free balance (fees). `KeepAlive` keeps the
/// account above the existential deposit. Fails with `Token(FundsUnavailable)` when the
/// spendable balance is too small.
pub fn withdraw(
    ext: &mut Ext,
    who: &AccountId32,
    amount: Balance,
    existence: Existence,
) -> DispatchResult {
    if amount == 0 {
        return Ok(());
    }
    if reducible_balance(ext, who, existence) < amount {
        return Err(DispatchError::Token(TokenError::FundsUnavailable));
    }
    mutate_account(ext, who, existence, |data| {
        data.free -= amount;
        Ok(())
    })?;
    TotalIssuance::mutate(ext, |issuance| *issuance = issuance.saturating_sub(amount));
    deposit_event(
        ext,
        &Event::Withdraw {
            who: who.clone(),
            amount,
        },
    );
    Ok(())
}

/// Mints `amount` into `who` (fees to the block author, rewards, genesis). Returns
/// `false` and mints nothing when it would create an account below the existential
/// deposit.
pub fn deposit_creating(ext: &mut Ext, who: &AccountId32, amount: Balance) -> bool {
    if amount == 0 {
        return true;
    }
    let minted = mutate_account(ext, who, Existence::AllowDeath, |data| {
        data.free = data
            .free
            .checked_add(amount)
            .ok_or(DispatchError::Arithmetic(ArithmeticError::Overflow))?;
        Ok(())
    });
    if minted.is_err() {
        return false;
    }
    TotalIssuance::mutate(ext, |issuance| *issuance = issuance.saturating_add(amount));
    deposit_event(
        ext,
        &Event::Deposit {
            who: who.clone(),
            amount,
        },
    );
    true
}

/// Moves `amount` from free to reserved. The account gains a consumer while it has
/// reserves, so it cannot be reaped.
pub fn reserve(ext: &mut Ext, who: &AccountId32, amount: Balance) -> DispatchResult {
    if amount == 0 {
        return Ok(());
    }
    let data = account_data(ext, who);
    if data.free < amount {
        return Err(Error::InsufficientBalance.into());
    }
    if data.free - amount < data.frozen {
        return Err(Error::LiquidityRestrictions.into());
    }
    let had_reserve = data.reserved > 0;
    mutate_account(ext, who, Existence::KeepAlive, |data| {
        data.free -= amount;
        data.reserved = data.reserved.saturating_add(amount);
        Ok(())
    })?;
    if !had_reserve {
        inc_consumers(ext, who);
    }
    deposit_event(
        ext,
        &Event::Reserved {
            who: who.clone(),
            amount,
        },
    );
    Ok(())
}

/// Moves up to `amount` from reserved back to free; returns what could not be moved.
pub fn unreserve(ext: &mut Ext, who: &AccountId32, amount: Balance) -> Balance {
    let data = account_data(ext, who);
    let actual = amount.min(data.reserved);
    if actual == 0 {
        return amount;
    }
    let moved = mutate_account(ext, who, Existence::AllowDeath, |data| {
        data.reserved -= actual;
        data.free = data.free.saturating_add(actual);
        Ok(())
    });
    if moved.is_err() {
        return amount;
    }
    if account_data(ext, who).reserved == 0 {
        dec_consumers(ext, who);
    }
    deposit_event(
        ext,
        &Event::Unreserved {
            who: who.clone(),
            amount: actual,
        },
    );
    amount - actual
}

/// Burns up to `amount` of reserved balance (slashing); returns what was slashed.
pub fn slash_reserved(ext: &mut Ext, who: &AccountId32, amount: Balance) -> Balance {
    let data = account_data(ext, who);
    let actual = amount.min(data.reserved);
    if actual == 0 {
        return 0;
    }
    let mut info = system::account(ext, who);
    info.data.reserved -= actual;
    let emptied = info.data.reserved == 0;
    if emptied {
        info.consumers = info.consumers.saturating_sub(1);
    }
    system::put_account(ext, who, &info);
    TotalIssuance::mutate(ext, |issuance| *issuance = issuance.saturating_sub(actual));
    deposit_event(
        ext,
        &Event::Slashed {
            who: who.clone(),
            amount: actual,
        },
    );
    // A slash can leave an account with only dust: reap it like any other.
    let total = total_balance(ext, who);
    if total < EXISTENTIAL_DEPOSIT && system::account(ext, who).consumers == 0 {
        let _ = mutate_account(ext, who, Existence::AllowDeath, |_| Ok(()));
    }
    actual
}

/// Creates or changes the lock `id` on `who` to `amount`. The account gains a consumer
/// while it has locks.
pub fn set_lock(
    ext: &mut Ext,
    id: LockId,
    who: &AccountId32,
    amount: Balance,
    reasons: Reasons,
) -> DispatchResult {
    if amount == 0 {
        remove_lock(ext, id, who);
        return Ok(());
    }
    let mut locks = Locks::get_or_default(ext, who);
    let had_locks = !locks.is_empty();
    match locks.iter_mut().find(|lock| lock.id == id) {
        Some(lock) => {
            lock.amount = amount;
            lock.reasons = reasons;
        }
        None => {
            if locks.len() >= MAX_LOCKS {
                return Err(Error::TooManyFreezes.into());
            }
            locks.push(BalanceLock {
                id,
                amount,
                reasons,
            });
        }
    }
    update_locks(ext, who, locks, had_locks);
    Ok(())
}

/// Removes the lock `id` from `who`.
pub fn remove_lock(ext: &mut Ext, id: LockId, who: &AccountId32) {
    let mut locks = Locks::get_or_default(ext, who);
    let had_locks = !locks.is_empty();
    locks.retain(|lock| lock.id != id);
    update_locks(ext, who, locks, had_locks);
}

/// The locks on `who`.
pub fn locks(ext: &mut Ext, who: &AccountId32) -> Vec<BalanceLock> {
    Locks::get_or_default(ext, who)
}

fn update_locks(ext: &mut Ext, who: &AccountId32, locks: Vec<BalanceLock>, had_locks: bool) {
    let frozen = locks.iter().map(|lock| lock.amount).max().unwrap_or(0);
    let mut info = system::account(ext, who);
    if !system::account_exists(ext, who) {
        return;
    }
    let before = info.data.frozen;
    info.data.frozen = frozen;
    match (had_locks, locks.is_empty()) {
        (false, false) => info.consumers = info.consumers.saturating_add(1),
        (true, true) => info.consumers = info.consumers.saturating_sub(1),
        _ => {}
    }
    system::put_account(ext, who, &info);
    if locks.is_empty() {
        Locks::remove(ext, who);
    } else {
        Locks::insert(ext, who, &locks);
    }
    if frozen > before {
        deposit_event(
            ext,
            &Event::Locked {
                who: who.clone(),
                amount: frozen - before,
            },
        );
    } else if frozen < before {
        deposit_event(
            ext,
            &Event::Unlocked {
                who: who.clone(),
                amount: before - frozen,
            },
        );
    }
}

fn inc_consumers(ext: &mut Ext, who: &AccountId32) {
    let mut info = system::account(ext, who);
    info.consumers = info.consumers.saturating_add(1);
    system::put_account(ext, who, &info);
}

fn dec_consumers(ext: &mut Ext, who: &AccountId32) {
    let mut info = system::account(ext, who);
    info.consumers = info.consumers.saturating_sub(1);
    system::put_account(ext, who, &info);
}

fn force_set_balance(ext: &mut Ext, who: &AccountId32, new_free: Balance) -> DispatchResult {
    let old = account_data(ext, who).free;
    let new_free = if new_free < EXISTENTIAL_DEPOSIT && account_data(ext, who).reserved == 0 {
        0
    } else {
        new_free
    };
    mutate_account(ext, who, Existence::AllowDeath, |data| {
        data.free = new_free;
        Ok(())
    })?;
    // Anything under the existential deposit was set to zero above, so reaping burned
    // no dust and the difference is the whole change in issuance.
    TotalIssuance::mutate(ext, |issuance| {
        if new_free > old {
            *issuance = issuance.saturating_add(new_free - old);
        } else {
            *issuance = issuance.saturating_sub(old - new_free);
        }
    });
    deposit_event(
        ext,
        &Event::BalanceSet {
            who: who.clone(),
            free: new_free,
        },
    );
    Ok(())
}

/// Genesis: initial balances. Total issuance is their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// `(account, free balance)` pairs.
    pub balances: Vec<(AccountId32, Balance)>,
}

/// Why a genesis configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// A balance below the existential deposit would create a dust account.
    #[error("genesis balance of {0} is below the existential deposit")]
    BelowExistentialDeposit(AccountId32),
    /// The same account is endowed twice.
    #[error("account {0} is endowed twice")]
    Duplicate(AccountId32),
    /// The balances sum past the largest representable amount.
    #[error("genesis balances overflow the total issuance")]
    Overflow,
}

impl arceon_support::BuildGenesis for GenesisConfig {
    type Error = GenesisError;

    /// Checks the configuration and writes the balances and total issuance.
    fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut issuance: Balance = 0;
        for (who, amount) in &self.balances {
            if *amount < EXISTENTIAL_DEPOSIT {
                return Err(GenesisError::BelowExistentialDeposit(who.clone()));
            }
            if !seen.insert(who.clone()) {
                return Err(GenesisError::Duplicate(who.clone()));
            }
            issuance = issuance
                .checked_add(*amount)
                .ok_or(GenesisError::Overflow)?;
        }
        for (who, amount) in &self.balances {
            let info = AccountInfo {
                providers: 1,
                data: AccountData {
                    free: *amount,
                    flags: NEW_LOGIC_FLAG,
                    ..Default::default()
                },
                ..Default::default()
            };
            system::Account::insert(ext, who, &info);
        }
        TotalIssuance::put(ext, &issuance);
        Ok(())
    }
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![
        arceon_support::metadata::constant(
            "ExistentialDeposit",
            &(EXISTENTIAL_DEPOSIT),
            &["The least free balance an account may keep."],
        ),
        arceon_support::metadata::constant(
            "MaxLocks",
            &(MAX_LOCKS as u32),
            &["The most named locks one account can carry."],
        ),
    ]
}

#[cfg(test)]
mod tests;
