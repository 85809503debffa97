//! The session pallet (index 9): the keys validators sign with. A stash registers its
//! session keys with `set_keys` (Substrate's call); they take effect at the next era,
//! when the elected validators that have keys become the Aura authorities (their aura
//! keys, in election order) and the GRANDPA voters (their ed25519 keys). The stash
//! secret is never needed on the validator's node: the node holds only the session
//! keys, which `author_rotateKeys` creates there.
//!
//! Storage follows Substrate's `Session` pallet: `NextKeys` (stash to keys) and
//! `KeyOwner` ((key type, public key) to stash, so one key never serves two stashes),
//! and `Validators`, the validators authoring in the active era, in Aura order. The keys
//! in force in each era are kept by staking (`ErasSessionKeys`, `ErasKeyOwner`) as long
//! as the era's exposures, so an offence signed with an old key still finds its stash.
//!
//! Invariants: `KeyOwner` holds exactly the keys of `NextKeys`, each naming its stash;
//! `Validators` is a subset of the active validators, all with keys recorded for the
//! active era.

use arceon_primitives::{AccountId32, KeyTypeId, SessionKeys};
use arceon_support::{ensure_signed, storage, DispatchResult, Ext, Origin, Twox64Concat, Weight};
use codec::{Decode, Encode};

use crate::{active_era_index, ActiveValidators, EraIndex, ErasKeyOwner, ErasSessionKeys, Ledger};

/// This pallet's index in the runtime (Substrate's `Session` index on Polkadot).
pub const PALLET_INDEX: u8 = 9;
/// The longest `proof` accepted by `set_keys` (Substrate accepts an opaque proof; Arceon
/// bounds it and does not otherwise interpret it).
pub const MAX_PROOF_LEN: usize = 256;

storage! { pallet "Session";
    /// Each stash's keys, effective from the next era.
    pub NextKeys: map Twox64Concat, AccountId32 => SessionKeys;
    /// The stash each registered key belongs to.
    pub KeyOwner: map Twox64Concat, (KeyTypeId, Vec<u8>) => AccountId32;
    /// The validators authoring in the active era, in Aura authority order.
    pub Validators: value Vec<AccountId32>;
}

arceon_support::pallet_error! {
    /// Session errors, with Substrate's indices.
    pub enum Error for pallet 9 {
        /// The proof is longer than [`MAX_PROOF_LEN`].
        InvalidProof,
        /// The sender has not bonded: only stashes register session keys.
        NoAssociatedValidatorId,
        /// One of the keys is already registered by another stash.
        DuplicatedKey,
        /// `purge_keys` without registered keys.
        NoKeys,
        /// Substrate's index kept; not produced.
        NoAccount,
    }
}

/// Session calls, with Substrate's indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Register the sender's session keys, effective from the next era (index 0).
    #[codec(index = 0)]
    SetKeys {
        /// The keys, as `author_rotateKeys` returns them.
        keys: SessionKeys,
        /// Opaque; at most [`MAX_PROOF_LEN`] bytes.
        proof: Vec<u8>,
    },
    /// Remove the sender's session keys (index 1): it stops authoring from the next era.
    #[codec(index = 1)]
    PurgeKeys,
}

/// Weights of the session calls.
pub mod weights {
    use arceon_support::Weight;

    /// `set_keys`: the ledger, the old keys and up to four key-owner entries.
    pub const SET_KEYS: Weight = Weight::from_parts(40_000_000, 6_000);
    /// `purge_keys`.
    pub const PURGE_KEYS: Weight = Weight::from_parts(30_000_000, 5_000);
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::SetKeys { .. } => weights::SET_KEYS,
            Call::PurgeKeys => weights::PURGE_KEYS,
        }
    }

    /// Executes the call; an error leaves state untouched (the executive's layer).
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        let who = ensure_signed(origin)?;
        match self {
            Call::SetKeys { keys, proof } => set_keys(ext, &who, &keys, &proof),
            Call::PurgeKeys => purge_keys(ext, &who),
        }
    }
}

fn owner_key(key_type: KeyTypeId, public: &[u8; 32]) -> (KeyTypeId, Vec<u8>) {
    (key_type, public.to_vec())
}

/// Registers `keys` for `stash`, replacing its previous keys.
pub fn set_keys(
    ext: &mut Ext,
    stash: &AccountId32,
    keys: &SessionKeys,
    proof: &[u8],
) -> DispatchResult {
    if proof.len() > MAX_PROOF_LEN {
        return Err(Error::InvalidProof.into());
    }
    if !Ledger::contains_key(ext, stash) {
        return Err(Error::NoAssociatedValidatorId.into());
    }
    for (key_type, public) in keys.typed() {
        match KeyOwner::get(ext, &owner_key(key_type, &public)) {
            Some(owner) if owner != *stash => return Err(Error::DuplicatedKey.into()),
            _ => {}
        }
    }
    insert_keys(ext, stash, keys);
    Ok(())
}

/// Writes `keys` as `stash`'s next keys without checks (genesis and `set_keys`).
fn insert_keys(ext: &mut Ext, stash: &AccountId32, keys: &SessionKeys) {
    if let Some(old) = NextKeys::get(ext, stash) {
        for (key_type, public) in old.typed() {
            KeyOwner::remove(ext, &owner_key(key_type, &public));
        }
    }
    for (key_type, public) in keys.typed() {
        KeyOwner::insert(ext, &owner_key(key_type, &public), stash);
    }
    NextKeys::insert(ext, stash, keys);
}

fn purge_keys(ext: &mut Ext, stash: &AccountId32) -> DispatchResult {
    let Some(old) = NextKeys::get(ext, stash) else {
        return Err(Error::NoKeys.into());
    };
    for (key_type, public) in old.typed() {
        KeyOwner::remove(ext, &owner_key(key_type, &public));
    }
    NextKeys::remove(ext, stash);
    Ok(())
}

/// The genesis session keys: `(account, validator id, keys)` as in Substrate's
/// `session.keys` (the account and the validator id are both the stash on Arceon).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// Each stash's keys.
    #[serde(default)]
    pub keys: Vec<(AccountId32, AccountId32, SessionKeys)>,
}

/// Why the session genesis is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The account and validator id of an entry differ (the stash is its own controller).
    #[error("session keys of {0}: the account and the validator id must be the same stash")]
    Mismatch(String),
    /// A stash is listed twice.
    #[error("session keys of {0} are listed twice")]
    DuplicateStash(String),
    /// A key is given to two stashes.
    #[error("session key {0} is given to two stashes")]
    DuplicateKey(String),
}

impl GenesisConfig {
    /// Writes the keys; built before staking, whose genesis election starts era 0 with
    /// the elected validators' keys.
    pub fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        let ss58 = arceon_primitives::to_ss58;
        for (i, (account, validator, keys)) in self.keys.iter().enumerate() {
            if account != validator {
                return Err(GenesisError::Mismatch(ss58(account)));
            }
            for (other, _, other_keys) in &self.keys[..i] {
                if other == account {
                    return Err(GenesisError::DuplicateStash(ss58(account)));
                }
                if other_keys.aura == keys.aura || other_keys.grandpa == keys.grandpa {
                    return Err(GenesisError::DuplicateKey(format!(
                        "of {} and {}",
                        ss58(other),
                        ss58(account)
                    )));
                }
            }
            insert_keys(ext, account, keys);
        }
        Ok(())
    }
}

/// The keys `stash` registered (effective from the next era).
pub fn next_keys(ext: &mut Ext, stash: &AccountId32) -> Option<SessionKeys> {
    NextKeys::get(ext, stash)
}

/// The validators authoring in the active era, with their keys, in Aura order.
pub fn authoring_set(ext: &mut Ext) -> Vec<(AccountId32, SessionKeys)> {
    let era = active_era_index(ext);
    Validators::get_or_default(ext)
        .into_iter()
        .filter_map(|who| ErasSessionKeys::get(ext, &era, &who).map(|keys| (who, keys)))
        .collect()
}

/// The stash whose key of `key_type` was `public` in `era`.
pub fn key_owner_in_era(
    ext: &mut Ext,
    era: EraIndex,
    key_type: KeyTypeId,
    public: &[u8; 32],
) -> Option<AccountId32> {
    ErasKeyOwner::get(ext, &era, &(key_type, *public))
}

/// Starts `era`'s authoring set: the active validators with registered keys, whose keys
/// are recorded for the era. Returns whether the set is non-empty (an empty one keeps
/// the previous era's authorities, recorded again for `era`).
pub(crate) fn rotate(ext: &mut Ext, era: EraIndex) -> bool {
    let mut set = Vec::new();
    for who in ActiveValidators::get_or_default(ext) {
        if let Some(keys) = NextKeys::get(ext, &who) {
            set.push((who, keys));
        }
    }
    let fresh = !set.is_empty();
    if !fresh {
        // Nobody elected has keys: the previous authorities keep authoring.
        let previous = era.checked_sub(1);
        set = match previous {
            Some(previous) => Validators::get_or_default(ext)
                .into_iter()
                .filter_map(|who| {
                    ErasSessionKeys::get(ext, &previous, &who).map(|keys| (who, keys))
                })
                .collect(),
            None => Vec::new(),
        };
    }
    for (who, keys) in &set {
        ErasSessionKeys::insert(ext, &era, who, keys);
        for (key_type, public) in keys.typed() {
            ErasKeyOwner::insert(ext, &era, &(key_type, public), who);
        }
    }
    let validators: Vec<AccountId32> = set.into_iter().map(|(who, _)| who).collect();
    Validators::put(ext, &validators);
    fresh
}
