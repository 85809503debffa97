//! The system pallet (index 0): accounts and their nonces and reference counts, the block
//! number and parent hash, the block-hash history that mortal eras are checked against,
//! the block's events, extrinsic count, consumed weight and length, and the runtime
//! version recorded at genesis and upgrades.
//!
//! Invariants: an `AccountInfo` is stored exactly while the account has a provider or a
//! sufficient reference (it "exists"); `NewAccount` and `KilledAccount` are deposited
//! when that changes. `BlockHash` always holds the genesis hash and the hashes of the last
//! [`BLOCK_HASH_COUNT`] blocks. Storage keys match FRAME's `System` pallet.

use arceon_primitives::{
    blake2_256, AccountId32, Balance, BlockNumber, Digest as HeaderDigest, Nonce, H256,
};
use arceon_support::{
    ensure_root, ensure_signed, storage, Blake2_128Concat, DispatchClass, DispatchInfo,
    DispatchResult, Ext, Origin, Twox64Concat, Weight,
};
use codec::{Compact, Decode, Encode};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 0;

/// The pallet, for its hooks.
pub struct Pallet;

/// System's block bookkeeping runs in [`initialize`] and [`finalize`], which the
/// executive calls before and after every other pallet's hooks.
impl arceon_support::Hooks for Pallet {}

/// How many recent block hashes are kept for era checks (Substrate's default).
pub const BLOCK_HASH_COUNT: BlockNumber = 4096;

/// What the balances pallet keeps in each account, as Substrate's `AccountData`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct AccountData {
    /// Spendable (unless frozen) balance.
    pub free: Balance,
    /// Balance set aside by reserves (bonds, deposits); cannot be spent.
    pub reserved: Balance,
    /// The part of `free` that locks prevent from leaving the account.
    pub frozen: Balance,
    /// Substrate's extra flags (the new-logic bit is set on every account).
    pub flags: u128,
}

/// Substrate's `ExtraFlags` value marking accounts on the current balances logic.
pub const NEW_LOGIC_FLAG: u128 = 1u128 << 127;

/// An account's record, as Substrate's `AccountInfo<Nonce, AccountData>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct AccountInfo {
    /// Transactions sent so far; the next valid nonce.
    pub nonce: Nonce,
    /// Modules that depend on this account existing (reserves, locks).
    pub consumers: u32,
    /// Modules that keep this account alive (a balance above the existential deposit).
    pub providers: u32,
    /// Self-sufficient references.
    pub sufficients: u32,
    /// Balances.
    pub data: AccountData,
}

/// The spec version and name of the last runtime upgrade, as Substrate's
/// `LastRuntimeUpgradeInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct LastRuntimeUpgradeInfo {
    /// `spec_version` of the runtime.
    pub spec_version: Compact<u32>,
    /// `spec_name` of the runtime.
    pub spec_name: String,
}

/// Weight consumed in a block, per dispatch class (normal, operational, mandatory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ConsumedWeight {
    /// Ordinary transactions.
    pub normal: Weight,
    /// Operational transactions.
    pub operational: Weight,
    /// Hooks and inherents.
    pub mandatory: Weight,
}

impl ConsumedWeight {
    /// All classes together.
    pub fn total(&self) -> Weight {
        self.normal
            .saturating_add(self.operational)
            .saturating_add(self.mandatory)
    }

    /// What one class consumed.
    pub fn get(&self, class: DispatchClass) -> Weight {
        match class {
            DispatchClass::Normal => self.normal,
            DispatchClass::Operational => self.operational,
            DispatchClass::Mandatory => self.mandatory,
        }
    }

    /// Adds `weight` to one class (saturating).
    pub fn add(&mut self, class: DispatchClass, weight: Weight) {
        let consumed = match class {
            DispatchClass::Normal => &mut self.normal,
            DispatchClass::Operational => &mut self.operational,
            DispatchClass::Mandatory => &mut self.mandatory,
        };
        *consumed = consumed.saturating_add(weight);
    }
}

storage! { pallet "System";
    /// Every existing account.
    pub Account: map Blake2_128Concat, AccountId32 => AccountInfo;
    /// Extrinsics applied so far in this block.
    pub ExtrinsicCount: value u32;
    /// Weight consumed so far in this block.
    pub BlockWeight: value ConsumedWeight;
    /// Length of the extrinsics applied so far in this block.
    pub AllExtrinsicsLen: value u32;
    /// Hashes of recent blocks, and of the genesis block forever.
    pub BlockHash: map Twox64Concat, BlockNumber => H256;
    /// The current block's number.
    pub Number: value BlockNumber;
    /// The current block's parent.
    pub ParentHash: value H256;
    /// The current block's digest.
    pub Digest: value HeaderDigest;
    /// The number of events in `Events`.
    pub EventCount: value u32;
    /// The last runtime upgrade.
    pub LastRuntimeUpgrade: value LastRuntimeUpgradeInfo;
}

/// `System.Events`: written raw, since records are encoded by the runtime's event type.
pub fn events_key() -> Vec<u8> {
    arceon_support::storage::item_prefix("System", "Events").to_vec()
}

/// System events, with Substrate's variant indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// An extrinsic completed successfully.
    ExtrinsicSuccess {
        /// What it cost.
        dispatch_info: DispatchInfo,
    },
    /// An extrinsic failed (its fee was still paid).
    ExtrinsicFailed {
        /// Why.
        dispatch_error: arceon_support::DispatchError,
        /// What it cost.
        dispatch_info: DispatchInfo,
    },
    /// The runtime code was updated.
    CodeUpdated,
    /// A new account was created.
    NewAccount {
        /// The account.
        account: AccountId32,
    },
    /// An account was reaped.
    KilledAccount {
        /// The account.
        account: AccountId32,
    },
    /// A remark was made on chain.
    Remarked {
        /// Who made it.
        sender: AccountId32,
        /// The blake2-256 hash of the remark.
        hash: H256,
    },
}

arceon_support::pallet_error! {
    /// System errors, with Substrate's indices.
    pub enum Error for pallet PALLET_INDEX {
        /// The runtime code is not valid.
        InvalidSpecName,
        /// The new spec version is not higher.
        SpecVersionNeedsToIncrease,
        /// Failed to extract the runtime version.
        FailedToExtractRuntimeVersion,
        /// Cannot decrement a provider while consumers remain.
        NonDefaultComposite,
        /// There is a non-zero reference count preventing the account from being purged.
        NonZeroRefCount,
        /// The origin filter prevented the call.
        CallFiltered,
    }
}

/// System calls, with Substrate's call indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Put a remark on chain (index 0).
    #[codec(index = 0)]
    Remark {
        /// The remark's bytes.
        remark: Vec<u8>,
    },
    /// Set storage items directly (root only, index 4).
    #[codec(index = 4)]
    SetStorage {
        /// Key/value pairs to write.
        items: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// Remove storage items (root only, index 5).
    #[codec(index = 5)]
    KillStorage {
        /// Keys to remove.
        keys: Vec<Vec<u8>>,
    },
    /// Put a remark on chain and emit `Remarked` (index 7).
    #[codec(index = 7)]
    RemarkWithEvent {
        /// The remark's bytes.
        remark: Vec<u8>,
    },
}

/// Weights of this pallet's calls, checked against `arceon-node benchmark pallet`.
pub mod weights {
    use arceon_support::Weight;

    /// `remark`: a fixed part plus hashing nothing.
    pub fn remark(len: usize) -> Weight {
        Weight::from_parts(2_000_000 + 1_000 * len as u64, 0)
    }
    /// `remark_with_event`: hashing the remark and one event.
    pub fn remark_with_event(len: usize) -> Weight {
        Weight::from_parts(8_000_000 + 2_000 * len as u64, 0)
    }
    /// `set_storage` / `kill_storage`: one write per item.
    pub fn set_storage(items: usize) -> Weight {
        Weight::from_parts(2_000_000 + 10_000_000 * items as u64, 0)
    }
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::Remark { remark } => weights::remark(remark.len()),
            Call::RemarkWithEvent { remark } => weights::remark_with_event(remark.len()),
            Call::SetStorage { items } => weights::set_storage(items.len()),
            Call::KillStorage { keys } => weights::set_storage(keys.len()),
        }
    }

    /// Executes the call.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        match self {
            Call::Remark { .. } => {
                ensure_signed(origin)?;
                Ok(())
            }
            Call::RemarkWithEvent { remark } => {
                let sender = ensure_signed(origin)?;
                let hash = H256(blake2_256(&remark));
                deposit_event(ext, &Event::Remarked { sender, hash });
                Ok(())
            }
            Call::SetStorage { items } => {
                ensure_root(origin)?;
                for (key, value) in items {
                    ext.set(key, value);
                }
                Ok(())
            }
            Call::KillStorage { keys } => {
                ensure_root(origin)?;
                for key in keys {
                    ext.remove(key);
                }
                Ok(())
            }
        }
    }
}

/// Deposits a system event.
pub fn deposit_event(ext: &mut Ext, event: &Event) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The account's record (default when it does not exist).
pub fn account(ext: &mut Ext, who: &AccountId32) -> AccountInfo {
    Account::get_or_default(ext, who)
}

/// Whether the account exists (has a provider or sufficient reference).
pub fn account_exists(ext: &mut Ext, who: &AccountId32) -> bool {
    Account::contains_key(ext, who)
}

/// The account's next nonce.
pub fn account_nonce(ext: &mut Ext, who: &AccountId32) -> Nonce {
    account(ext, who).nonce
}

/// Increments the account's nonce (the account must exist: fees were paid).
pub fn inc_account_nonce(ext: &mut Ext, who: &AccountId32) {
    if let Some(mut info) = Account::get(ext, who) {
        info.nonce = info.nonce.wrapping_add(1);
        Account::insert(ext, who, &info);
    }
}

/// Stores the account's record, creating or reaping it as its references say:
/// an account with no providers and no sufficients is removed.
pub fn put_account(ext: &mut Ext, who: &AccountId32, info: &AccountInfo) {
    let existed = Account::contains_key(ext, who);
    let alive = info.providers > 0 || info.sufficients > 0;
    match (existed, alive) {
        (_, true) => {
            Account::insert(ext, who, info);
            if !existed {
                deposit_event(
                    ext,
                    &Event::NewAccount {
                        account: who.clone(),
                    },
                );
            }
        }
        (true, false) => {
            Account::remove(ext, who);
            deposit_event(
                ext,
                &Event::KilledAccount {
                    account: who.clone(),
                },
            );
        }
        (false, false) => {}
    }
}

/// Starts block `number` on top of `parent_hash`: resets the per-block items and records
/// the parent in the block-hash history.
pub fn initialize(ext: &mut Ext, number: BlockNumber, parent_hash: H256, digest: &HeaderDigest) {
    ext.set_phase(arceon_support::Phase::Initialization);
    ext.remove(events_key());
    EventCount::kill(ext);
    ExtrinsicCount::kill(ext);
    BlockWeight::kill(ext);
    AllExtrinsicsLen::kill(ext);
    Number::put(ext, &number);
    ParentHash::put(ext, &parent_hash);
    Digest::put(ext, digest);
    let parent_number = number.saturating_sub(1);
    BlockHash::insert(ext, &parent_number, &parent_hash);
    // Keep the genesis hash forever: mortal eras never reach it, but tools look it up.
    if parent_number > BLOCK_HASH_COUNT {
        BlockHash::remove(ext, &(parent_number - BLOCK_HASH_COUNT));
    }
}

/// Ends the block: writes the events deposited during it as `System.Events` (a SCALE
/// `Vec<EventRecord>` built from the already-encoded records) and their count.
pub fn finalize(ext: &mut Ext) {
    let events = ext.events().to_vec();
    let mut value = Compact(events.len() as u32).encode();
    for record in &events {
        value.extend_from_slice(record);
    }
    ext.set(events_key(), value);
    EventCount::put(ext, &(events.len() as u32));
}

/// Records `len` bytes and `weight` of a successfully applied extrinsic.
pub fn note_applied_extrinsic(ext: &mut Ext, len: u32, weight: Weight, class: DispatchClass) {
    let count = ExtrinsicCount::get_or_default(ext);
    ExtrinsicCount::put(ext, &count.saturating_add(1));
    let total_len = AllExtrinsicsLen::get_or_default(ext);
    AllExtrinsicsLen::put(ext, &total_len.saturating_add(len));
    BlockWeight::mutate(ext, |consumed| consumed.add(class, weight));
}

/// Makes a block's state a genesis state (`export-state --chain-spec`): the block's own
/// records (events, counters, digest, block-hash history) go, and the number and parent
/// are genesis's; accounts stay.
pub fn rebase_to_genesis(ext: &mut Ext) {
    ext.remove(events_key());
    EventCount::kill(ext);
    ExtrinsicCount::kill(ext);
    BlockWeight::kill(ext);
    AllExtrinsicsLen::kill(ext);
    Digest::kill(ext);
    BlockHash::clear(ext);
    Number::put(ext, &0);
    ParentHash::put(ext, &H256::zero());
}

/// Writes the system pallet's genesis items.
pub fn build_genesis(ext: &mut Ext, spec_name: &str, spec_version: u32) {
    Number::put(ext, &0);
    ParentHash::put(ext, &H256::zero());
    LastRuntimeUpgrade::put(
        ext,
        &LastRuntimeUpgradeInfo {
            spec_version: Compact(spec_version),
            spec_name: spec_name.to_string(),
        },
    );
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![
        arceon_support::metadata::constant(
            "BlockHashCount",
            &(BLOCK_HASH_COUNT),
            &["How many recent block hashes `BlockHash` keeps."],
        ),
        arceon_support::metadata::constant(
            "SS58Prefix",
            &(arceon_primitives::SS58_PREFIX),
            &["The SS58 address format of this chain."],
        ),
    ]
}

#[cfg(test)]
mod tests;
