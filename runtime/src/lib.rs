//! The Arceon runtime: composes the pallets into one state machine. It fixes the pallet
//! and call indices of [`Call`] and [`RuntimeEvent`] (the extrinsic format clients sign),
//! the block limits and fee schedule, the genesis builder, and the [`executive`] that
//! applies extrinsics and whole blocks on top of a parent state.
//!
//! The runtime is native Rust with no I/O: it reads the parent state through
//! [`arceon_support::StateRead`] and returns the block's storage changes and state root.
//! Invariants: executing the same block on the same parent state always gives the same
//! state root and events; a block whose extrinsics fail validity checks, or whose roots do
//! not match its header, is rejected as a whole with a typed [`BlockError`]; a valid
//! extrinsic whose call fails still pays its fee and bumps its sender's nonce, and the
//! call's own writes are rolled back.

pub mod api;
pub mod aura;
pub mod executive;
pub mod genesis;
pub mod grandpa;
pub mod metadata;
pub mod offchain;
pub mod payment;
pub mod queries;
pub mod sudo;
pub mod world;

use arceon_pallet_areas as areas;
use arceon_pallet_balances as balances;
use arceon_pallet_fastlane as fastlane;
use arceon_pallet_npcs as npcs;
use arceon_pallet_players as players;
use arceon_pallet_staking as staking;
use arceon_pallet_structures as structures;
use arceon_pallet_system as system;
use arceon_primitives::{
    blake2_256, AccountId32, InvalidTransaction, RuntimeVersion, TransactionValidityError,
    UncheckedExtrinsic, UnknownTransaction,
};
use arceon_support::{DispatchClass, DispatchInfo, DispatchResult, Ext, Origin, Pays, Weight};

use codec::Decode;

pub use executive::{
    execute_block, validate_transaction, ApplyExtrinsicResult, BlockBuilder, BlockError,
    BuiltBlock, ExecutedBlock,
};
pub use genesis::{GenesisConfig, GenesisError};

/// `spec_name` of every Arceon runtime.
pub const SPEC_NAME: &str = "arceon";
/// Bumped on every change of runtime behaviour.
pub const SPEC_VERSION: u32 = 100;
/// Bumped when call indices or the extrinsic format change.
pub const TRANSACTION_VERSION: u32 = 1;

/// The runtime APIs this runtime answers through `state_call`, with Substrate's versions.
const RUNTIME_APIS: &[(&str, u32)] = &[
    ("Core", 5),
    ("Metadata", 2),
    ("TaggedTransactionQueue", 3),
    ("AuraApi", 1),
    ("GrandpaApi", 3),
    ("SessionKeys", 1),
    ("AccountNonceApi", 1),
    ("TransactionPaymentApi", 4),
];

/// The runtime's version, as `state_getRuntimeVersion` reports it.
pub fn version() -> RuntimeVersion {
    RuntimeVersion {
        spec_name: SPEC_NAME.into(),
        impl_name: "arceon-node".into(),
        authoring_version: 1,
        spec_version: SPEC_VERSION,
        impl_version: 1,
        apis: RUNTIME_APIS
            .iter()
            .map(|(name, version)| (api_id(name), *version))
            .collect(),
        transaction_version: TRANSACTION_VERSION,
        // 2: the extrinsics root is a LayoutV1 trie, like the state.
        state_version: 2,
    }
}

/// Substrate's well-known storage key of the runtime code (`:code`).
pub const CODE_KEY: &[u8] = b":code";

/// What `:code` holds: the runtime is native, so instead of wasm the key holds the
/// runtime's identity (a tag and its encoded version). Clients that follow runtimes by
/// the hash of `:code` (polkadot-api) see one runtime per identity; nothing executes it.
pub fn code_identity() -> Vec<u8> {
    let mut code = b"arceon-native-runtime:".to_vec();
    code.extend(codec::Encode::encode(&version()));
    code
}

/// A runtime API's 8-byte identifier: blake2-64 of its trait name, as Substrate derives it.
pub fn api_id(name: &str) -> [u8; 8] {
    let mut id = [0u8; 8];
    id.copy_from_slice(&sp_crypto_hashing::blake2_64(name.as_bytes()));
    id
}

arceon_support::construct_runtime! {
    /// Accounts, nonces, events and the recent block hashes.
    System: system = 0 { Call, Event, Error, Storage, Constants, Hooks },
    /// The block authors and the current slot.
    Aura: aura = 2 { Storage, Constants },
    /// ArcM: free and reserved balances, transfers and locks.
    Balances: balances = 5 { Call, Event, Error, Storage, Constants, Hooks },
    /// Fees: base + length + weight, plus the tip.
    TransactionPayment: payment = 6 { Event, Constants },
    /// ArcM bonding, validators, nominators, eras and rewards.
    Staking: staking = 7 { Call, Event, Error, Storage, Constants, Hooks },
    /// One key may dispatch any call as Root.
    Sudo: sudo = 8 { Call, Event, Error, Storage },
    /// The keys validators author and finalize with.
    Session: staking::session = 9 { Call, Error, Storage },
    /// The finality authorities and their set id.
    Grandpa: grandpa = 10 { Storage },
    /// The world's map: areas, their neighbours and committees.
    Areas: areas = 40 { Call, Event, Error, Storage, Constants, Hooks },
    /// Who plays, where they stand and what they carry.
    Players: players = 41 { Call, Event, Error, Storage, Constants, Hooks },
    /// The world's non-player characters.
    Npcs: npcs = 42 { Call, Event, Error, Storage, Constants, Hooks },
    /// Buildings players place in the world.
    Structures: structures = 43 { Call, Event, Error, Storage, Constants, Hooks },
    /// Certified fast-lane batches enter the chain here.
    FastLane: fastlane = 45 { Call, Event, Error, Storage, Constants },
}

/// A pallet error as `Pallet.Name` (`Players.TooFast`), or its indices when unknown.
pub fn module_error_text(pallet: u8, error: u8) -> String {
    match (pallet_name(pallet), module_error_name(pallet, error)) {
        (Some(pallet), Some(name)) => format!("{pallet}.{name}"),
        (Some(pallet), None) => format!("{pallet}.Error#{error}"),
        _ => format!("Module {{ index: {pallet}, error: {error} }}"),
    }
}

/// What [`Call::check_unsigned`] keeps for the dispatch.
#[derive(Debug)]
pub enum UnsignedChecked {
    /// A lane batch, with the keys that certified it.
    LaneBatch(Vec<[u8; 32]>),
    /// Any other call (its dispatch checks what it needs).
    Other,
}

/// How a lane batch's failed check refuses its extrinsic: a batch the chain already
/// passed is stale, a certificate that does not prove it is a bad proof.
fn batch_refusal(error: fastlane::Error) -> TransactionValidityError {
    TransactionValidityError::Invalid(match error {
        fastlane::Error::BrokenChain => InvalidTransaction::Stale,
        fastlane::Error::BadCertificate | fastlane::Error::NotEnoughSignatures => {
            InvalidTransaction::BadProof
        }
        other => InvalidTransaction::Custom(other as u8),
    })
}

/// How the pool should hold an unsigned extrinsic its pallet vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedValidity {
    /// Ordering among ready transactions.
    pub priority: u64,
    /// Tags that make duplicates of the same evidence collide.
    pub provides: Vec<Vec<u8>>,
    /// Blocks the extrinsic stays valid for.
    pub longevity: u64,
}

impl Call {
    /// The weight, class and fee liability of the call.
    pub fn info(&self) -> DispatchInfo {
        let weight = self.pallet_weight();
        let unsigned = self.is_unsigned_evidence();
        DispatchInfo {
            weight,
            class: if unsigned {
                DispatchClass::Operational
            } else {
                DispatchClass::Normal
            },
            pays_fee: if unsigned { Pays::No } else { Pays::Yes },
        }
    }

    /// Whether the call is one a pallet accepts without a signed origin.
    fn is_unsigned_evidence(&self) -> bool {
        matches!(
            self,
            Call::Staking(
                staking::Call::ReportEquivocation { .. }
                    | staking::Call::ReportVoteEquivocation { .. }
                    | staking::Call::Heartbeat { .. }
            ) | Call::FastLane(
                fastlane::Call::SubmitBatch { .. }
                    | fastlane::Call::ReportEquivocation { .. }
                    | fastlane::Call::ChallengeReceipt { .. }
                    | fastlane::Call::EndLane { .. }
            )
        )
    }

    /// Whether a failure of the call makes the extrinsic invalid rather than failed: a
    /// certified lane batch either executes exactly as certified or is not in the block.
    pub fn must_succeed(&self) -> bool {
        matches!(self, Call::FastLane(fastlane::Call::SubmitBatch { .. }))
    }

    /// Checks an unsigned extrinsic's call: only evidence that proves itself (equivocation
    /// reports, validator heartbeats) may come without a signature. Writes nothing.
    pub fn validate_unsigned(
        &self,
        ext: &mut Ext,
    ) -> Result<UnsignedValidity, TransactionValidityError> {
        match self {
            Call::Staking(call) if self.is_unsigned_evidence() => {
                // Staking names forged proofs `BadProof` and duplicates `Stale`, so the
                // pool bans them instead of re-validating them forever.
                let validity = staking::validate_unsigned(ext, call)
                    .map_err(TransactionValidityError::from)?;
                Ok(UnsignedValidity {
                    priority: validity.priority,
                    provides: validity.provides,
                    longevity: validity.longevity,
                })
            }
            Call::FastLane(fastlane::Call::SubmitBatch { batch }) => {
                let provides = fastlane::validate_batch(ext, batch).map_err(batch_refusal)?;
                Ok(UnsignedValidity {
                    priority: u64::MAX / 2,
                    provides: vec![provides],
                    longevity: 64,
                })
            }
            Call::FastLane(fastlane::Call::ReportEquivocation { proof }) => {
                lane_evidence(fastlane::validate_equivocation(ext, proof))
            }
            Call::FastLane(fastlane::Call::ChallengeReceipt { challenge }) => {
                lane_evidence(fastlane::validate_challenge(ext, challenge))
            }
            Call::FastLane(fastlane::Call::EndLane { seal }) => {
                lane_evidence(fastlane::validate_end(ext, seal))
            }
            _ => Err(UnknownTransaction::NoUnsignedValidator.into()),
        }
    }

    /// Checks an unsigned extrinsic's call in a block, with the verdicts of
    /// [`Call::validate_unsigned`], keeping what [`Call::dispatch_unsigned`] reuses: a lane
    /// batch's checked committee keys (its certificate, body and header are checked
    /// once, not again to dispatch).
    pub fn check_unsigned(
        &self,
        ext: &mut Ext,
    ) -> Result<UnsignedChecked, TransactionValidityError> {
        match self {
            Call::FastLane(fastlane::Call::SubmitBatch { batch }) => {
                fastlane::check_batch_keys(ext, batch)
                    .map(UnsignedChecked::LaneBatch)
                    .map_err(batch_refusal)
            }
            _ => self.validate_unsigned(ext).map(|_| UnsignedChecked::Other),
        }
    }

    /// Dispatches an unsigned call that [`Call::check_unsigned`] checked (`checked`) on
    /// this state just before.
    pub fn dispatch_unsigned(self, ext: &mut Ext, checked: UnsignedChecked) -> DispatchResult {
        match (self, checked) {
            (
                Call::FastLane(fastlane::Call::SubmitBatch { batch }),
                UnsignedChecked::LaneBatch(keys),
            ) => fastlane::apply_checked_batch(ext, &batch, keys),
            (call, _) => call.dispatch(ext, Origin::None),
        }
    }

    /// Executes the call with `origin`.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        match self {
            // Splits and merges wait for the lanes they end (see `world`).
            Call::Areas(call) => world::dispatch_areas(ext, origin, call),
            other => other.dispatch_to_pallet(ext, origin),
        }
    }
}

/// The pool's view of unsigned fast-lane evidence (an equivocation report, a receipt
/// challenge) from its check: what was punished already or names a committee no longer
/// in force is `Stale`, what proves nothing `BadProof` (so the pool bans it instead of
/// checking it again); valid evidence goes ahead of everything, as staking's does.
fn lane_evidence(
    checked: Result<Vec<u8>, fastlane::Error>,
) -> Result<UnsignedValidity, TransactionValidityError> {
    let provides = checked.map_err(|error| {
        TransactionValidityError::Invalid(match error {
            fastlane::Error::DuplicateEquivocationReport
            | fastlane::Error::DuplicateChallenge
            | fastlane::Error::StaleEvidence
            | fastlane::Error::LaneEnded
            | fastlane::Error::NotEnding => InvalidTransaction::Stale,
            fastlane::Error::InvalidEquivocationProof
            | fastlane::Error::InvalidReceipt
            | fastlane::Error::BadSeal
            | fastlane::Error::BadCertificate
            | fastlane::Error::NotEnoughSignatures => InvalidTransaction::BadProof,
            other => InvalidTransaction::Custom(other as u8),
        })
    })?;
    Ok(UnsignedValidity {
        priority: u64::MAX,
        provides: vec![provides],
        longevity: 64,
    })
}

/// The account behind the Aura key that sealed a block: the stash that registered it as
/// a session key for the active era, or the key itself on a chain without staking.
pub fn author_account(ext: &mut Ext, author: &arceon_primitives::sr25519::Public) -> AccountId32 {
    let era = staking::active_era_index(ext);
    staking::session::key_owner_in_era(ext, era, arceon_primitives::AURA_KEY_TYPE, &author.0)
        .unwrap_or_else(|| AccountId32::from(*author))
}

/// Credits the block's author (reward points, authored blocks) before its extrinsics.
pub fn note_author(ext: &mut Ext, author: &AccountId32) {
    staking::note_author(ext, author);
}

/// Runs every pallet's `on_initialize` in row order, following an era change through the
/// world (committees, area splits and merges, Aura authorities) right after staking's;
/// returns their weight.
pub fn on_initialize(ext: &mut Ext, n: arceon_primitives::BlockNumber) -> Weight {
    let era_before = staking::active_era_index(ext);
    let slot = aura::CurrentSlot::get_or_default(ext);
    let slot_ms = aura::slot_duration(ext);
    fastlane::note_clock(ext, slot, slot_ms);
    pallets_on_initialize(ext, n, |pallet, ext| {
        if pallet == pallet_index::STAKING {
            world::follow_staking(ext, n, era_before)
        } else {
            Weight::ZERO
        }
    })
}

/// Runs every pallet's `on_finalize` in row order, after the world's own end-of-block work.
pub fn on_finalize(ext: &mut Ext, n: arceon_primitives::BlockNumber) {
    // A validator that chilled or was reported in this block leaves its committees in
    // this block's state, never later; the work counts as the block's mandatory weight.
    let refresh = world::refresh_committees(ext, n);
    // A split or merge whose lanes ended with this block's batches is made in it, so the
    // new areas' lanes start with the next best block.
    let reshape = world::reshape_when_ready(ext, n);
    system::BlockWeight::mutate(ext, |consumed| {
        consumed.mandatory = consumed
            .mandatory
            .saturating_add(refresh)
            .saturating_add(reshape)
    });
    pallets_on_finalize(ext, n);
}

/// A decoded `System.Events` record.
pub type EventRecord = arceon_support::EventRecord<RuntimeEvent>;

/// Decodes the value of `System.Events`.
pub fn decode_events(raw: &[u8]) -> Result<Vec<EventRecord>, codec::Error> {
    Vec::<EventRecord>::decode(&mut &raw[..])
}

/// Arceon's extrinsic type.
pub type Extrinsic = UncheckedExtrinsic<Call>;

/// Block limits, per dispatch class as Substrate's `BlockWeights::with_sensible_defaults`
/// and `BlockLength::max_with_normal_ratio` give them with a 75% normal ratio:
/// - normal transactions use at most 75% of the block's weight and length, and never
///   take the block's total weight past [`MAX_BLOCK_WEIGHT`](limits::MAX_BLOCK_WEIGHT);
/// - operational ones (fee-free evidence and heartbeats) may use the whole block: the
///   normal share plus a reserved 25% that normal transactions cannot take, so evidence
///   still gets in when normal traffic fills its share. Past the block's total they are
///   held to that reserve;
/// - mandatory work (the hooks) is unbounded, and counted.
///
/// A transaction that would exceed its class's limit is refused with
/// `ExhaustsResources`: by the pool if it could not fit even an empty block, and when
/// building or importing a block if it does not fit what is left.
pub mod limits {
    use arceon_pallet_system::ConsumedWeight;
    use arceon_support::{DispatchClass, Weight};

    /// The most weight a block can hold: two seconds of reference computation (proof
    /// size is not limited: Arceon is a standalone chain with no validity proofs).
    pub const MAX_BLOCK_WEIGHT: Weight = Weight::from_parts(2_000_000_000_000, u64::MAX);
    /// The part of the block weight normal transactions may use (75%); the rest is kept
    /// for hooks and operational work.
    pub const MAX_NORMAL_WEIGHT: Weight = Weight::from_parts(1_500_000_000_000, u64::MAX);
    /// The most weight operational extrinsics may use: the whole block.
    pub const MAX_OPERATIONAL_WEIGHT: Weight = MAX_BLOCK_WEIGHT;
    /// The part of the block only operational extrinsics may use (25%): they get it even
    /// when normal transactions and hooks used the rest.
    pub const OPERATIONAL_RESERVE: Weight = Weight::from_parts(
        MAX_BLOCK_WEIGHT.ref_time - MAX_NORMAL_WEIGHT.ref_time,
        u64::MAX,
    );
    /// Weight charged for every extrinsic on top of its call: decoding, signature check,
    /// nonce and fee handling.
    pub const EXTRINSIC_BASE_WEIGHT: Weight = Weight::from_parts(10_000_000, 0);
    /// The most bytes of extrinsics a block can hold (5 MiB).
    pub const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;
    /// The part of the block length normal transactions may use (75%).
    pub const MAX_NORMAL_LENGTH: u32 = MAX_BLOCK_LENGTH / 4 * 3;
    /// The block length operational extrinsics may use: all of it.
    pub const MAX_OPERATIONAL_LENGTH: u32 = MAX_BLOCK_LENGTH;

    /// The most weight extrinsics of `class` may consume in a block (`None`: unbounded).
    pub fn max_class_weight(class: DispatchClass) -> Option<Weight> {
        match class {
            DispatchClass::Normal => Some(MAX_NORMAL_WEIGHT),
            DispatchClass::Operational => Some(MAX_OPERATIONAL_WEIGHT),
            DispatchClass::Mandatory => None,
        }
    }

    /// How much of its allowance `class` keeps once the block's total weight is reached
    /// (`None`: all of it).
    pub fn reserved_weight(class: DispatchClass) -> Option<Weight> {
        match class {
            DispatchClass::Normal => Some(Weight::ZERO),
            DispatchClass::Operational => Some(OPERATIONAL_RESERVE),
            DispatchClass::Mandatory => None,
        }
    }

    /// The most bytes of extrinsics a block may hold once one of `class` is added.
    pub fn max_class_length(class: DispatchClass) -> u32 {
        match class {
            DispatchClass::Normal => MAX_NORMAL_LENGTH,
            DispatchClass::Operational => MAX_OPERATIONAL_LENGTH,
            DispatchClass::Mandatory => MAX_BLOCK_LENGTH,
        }
    }

    /// Whether an extrinsic of `class` and `weight` fits a block that has consumed
    /// `consumed` so far: within its class's limit, and, if the block's total would pass
    /// [`MAX_BLOCK_WEIGHT`], within its class's reserve.
    pub fn weight_fits(consumed: &ConsumedWeight, class: DispatchClass, weight: Weight) -> bool {
        let mut after = *consumed;
        after.add(class, weight);
        let used = after.get(class);
        if max_class_weight(class).is_some_and(|max| used.any_gt(max)) {
            return false;
        }
        if after.total().any_gt(MAX_BLOCK_WEIGHT) {
            return !reserved_weight(class).is_some_and(|reserve| used.any_gt(reserve));
        }
        true
    }

    /// Whether `len` more bytes of class `class` fit a block already holding `block_len`.
    pub fn length_fits(block_len: u32, class: DispatchClass, len: u32) -> bool {
        block_len.saturating_add(len) <= max_class_length(class)
    }
}

/// The total weight of an extrinsic with this call info.
pub fn extrinsic_weight(info: &DispatchInfo) -> Weight {
    info.weight.saturating_add(limits::EXTRINSIC_BASE_WEIGHT)
}

/// The hash of an encoded extrinsic, as the pool and RPC name it.
pub fn extrinsic_hash(encoded: &[u8]) -> arceon_primitives::H256 {
    arceon_primitives::H256(blake2_256(encoded))
}
