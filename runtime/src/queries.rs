//! The storage keys and reads that nodes and client apps (the explorer) use without
//! naming pallet crates: the runtime's read-side facade (its write side, the extrinsics
//! a node builds, is [`crate::offchain`]).

use arceon_primitives::{AccountId32, KeyTypeId};
use arceon_support::Ext;

pub use arceon_pallet_players::Player;
pub use arceon_pallet_system::AccountInfo;

/// `System.Events`: the block's events as a SCALE `Vec<EventRecord>`.
pub fn events_key() -> Vec<u8> {
    arceon_pallet_system::events_key()
}

/// `System.Number`: the number of the block being built or executed.
pub fn block_number_key() -> Vec<u8> {
    arceon_pallet_system::Number::key()
}

/// `System.Account` of `who`: its nonce and balances ([`AccountInfo`]).
pub fn account_key(who: &AccountId32) -> Vec<u8> {
    arceon_pallet_system::Account::key(who)
}

/// `Session.KeyOwner` of a session key: the stash that registered it.
pub fn key_owner_key(key_type: KeyTypeId, public: &[u8]) -> Vec<u8> {
    arceon_pallet_staking::session::KeyOwner::key(&(key_type, public.to_vec()))
}

/// The player record of `who`, if registered.
pub fn player(ext: &mut Ext, who: &AccountId32) -> Option<Player> {
    arceon_pallet_players::player(ext, who)
}

/// The storage prefixes (pallet and item, 32 bytes) of the staking items that lane
/// committees' signing keys are read from (the active era, each era's session keys and
/// the session's validator list): a block that writes under none of them leaves every
/// committee's keys as they were, unless it changed the committee itself.
pub fn committee_key_prefixes() -> Vec<Vec<u8>> {
    use arceon_pallet_staking as staking;
    let era_keys = staking::ErasSessionKeys::prefix_key(&0);
    vec![
        staking::ActiveEra::key(),
        era_keys[..32.min(era_keys.len())].to_vec(),
        staking::session::Validators::key(),
    ]
}
