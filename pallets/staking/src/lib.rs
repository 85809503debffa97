//! The staking pallet (index 7): ArcM bonding, validator and nominator intent, eras and
//! sessions, election of the active validator set, era rewards by reward points, deferred
//! slashing of equivocating authors and GRANDPA voters, validator heartbeats, and the on-chain
//! `NodeReputation` that area committees are weighted by. The stash is its own controller.
//!
//! Invariants: every ledger satisfies `active + sum(unlocking) == total`, and its stash
//! carries a balances lock `b"staking "` of exactly `total`, so bonded funds never exceed
//! what the account holds and cannot be moved while bonded; an account is a validator or
//! a nominator, never both, and only while it has a ledger; the active set is never empty
//! once genesis elected it, has no duplicates and at most [`MAX_VALIDATOR_COUNT`] members;
//! rewards mint at most `EraPayout` per era and slashes burn exactly what they take from
//! ledgers, so `TotalIssuance` keeps equalling the sum of balances; an offence
//! `(offender, slot)` (or GRANDPA `(offender, set_id, round)`) is punished at most once,
//! and a validator's exposure in an era is slashed at most once. An offence answers with
//! the exposure of the era it was committed in (placed by the start slot, block and
//! GRANDPA set the runtime records for each era), so nominators who backed the offender
//! only later lose nothing; offences committed more than the bonding duration ago (capped
//! by the exposure history kept) are refused. All arithmetic is integer and saturating or
//! checked; no input makes the pallet panic, and the work of any block is bounded by the
//! caps below.

mod bonding;
mod eras;
mod genesis;
mod offences;
mod perbill;
mod reads;
pub mod session;

use bonding::*;
use eras::*;
pub use genesis::*;
pub use offences::*;
pub use reads::*;

pub use perbill::{multiply_by_rational, Perbill, PerbillOutOfRange};

use std::collections::{BTreeMap, BTreeSet};

use arceon_pallet_balances::{self as balances, Existence, LockId, Reasons};
use arceon_primitives::{
    ed25519, sr25519, AccountId32, Balance, BlockNumber, Header, InvalidTransaction, KeyTypeId,
    MultiAddress, SessionKeys, TransactionValidityError, UnknownTransaction, AURA_ENGINE_ID,
    AURA_KEY_TYPE, GRANDPA_KEY_TYPE,
};
use arceon_support::{
    ensure_none, ensure_root, ensure_signed, storage, Blake2_128Concat, DispatchError,
    DispatchResult, Ext, Origin, PalletError, Twox64Concat, Weight,
};
use codec::{Decode, Encode};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 7;

/// Counter of eras.
pub type EraIndex = u32;
/// Counter of sessions (an era is `SessionsPerEra` sessions).
pub type SessionIndex = u32;

/// The balances lock that holds bonded ArcM.
pub const STAKING_LOCK_ID: LockId = *b"staking ";
/// Most unlocking chunks a ledger can carry (unbonds in the same era share one chunk).
pub const MAX_UNLOCKING_CHUNKS: usize = 32;
/// Most validators one nominator can back.
pub const MAX_NOMINATIONS: usize = 16;
/// Largest active set (`ValidatorCount` cap).
pub const MAX_VALIDATOR_COUNT: u32 = 100;
/// Nominators counted (backing, rewards, slashes) per validator: the largest ones.
pub const MAX_NOMINATORS_REWARDED_PER_VALIDATOR: usize = 64;
/// Most accounts with validator intent at once: bounds the election's work.
pub const MAX_VALIDATOR_INTENTS: u32 = 512;
/// Most accounts with nominator intent at once: bounds the election's work.
pub const MAX_NOMINATOR_INTENTS: u32 = 2_048;
/// Eras of exposures, points, prefs, era starts and per-era counters kept before pruning.
pub const HISTORY_DEPTH: EraIndex = 8;
/// Reward points for authoring a block.
pub const REWARD_POINTS_PER_BLOCK: u32 = 20;
/// Trust lost per invalid proposal (equivocation) reported in an era.
pub const INVALID_PROPOSAL_PENALTY: Perbill = Perbill::from_percent(10);
/// The trust a validator starts with.
pub const INITIAL_TRUST: Perbill = Perbill::from_percent(50);
/// Pool priority of equivocation reports: ahead of everything.
pub const EQUIVOCATION_PRIORITY: u64 = u64::MAX;
/// Pool priority of heartbeats: ahead of any realistic tip.
pub const HEARTBEAT_PRIORITY: u64 = u64::MAX / 2;

/// The pallet, for its hooks.
pub struct Pallet;

/// A part of a ledger on its way out: withdrawable once `era` is reached.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct UnlockChunk {
    /// Amount unlocking.
    #[codec(compact)]
    pub value: Balance,
    /// The era from which it can be withdrawn.
    #[codec(compact)]
    pub era: EraIndex,
}

/// What an account has bonded.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct StakingLedger {
    /// The bonded account (its own controller).
    pub stash: AccountId32,
    /// Everything bonded: `active` plus the unlocking chunks. Equals the lock.
    #[codec(compact)]
    pub total: Balance,
    /// The part that backs validation or nominations and earns rewards.
    #[codec(compact)]
    pub active: Balance,
    /// Unbonded parts, oldest first.
    pub unlocking: Vec<UnlockChunk>,
}

impl StakingLedger {
    /// Recomputes `total` from `active` and the chunks.
    fn recompute_total(&mut self) {
        self.total = self
            .unlocking
            .iter()
            .fold(self.active, |sum, chunk| sum.saturating_add(chunk.value));
    }
}

/// A validator's terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ValidatorPrefs {
    /// The cut of the era reward the validator takes before sharing with its backers.
    pub commission: Perbill,
}

/// A nominator's choice of validators.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Nominations {
    /// The validators backed, at most [`MAX_NOMINATIONS`].
    pub targets: Vec<AccountId32>,
    /// The era the nominations were made in.
    pub submitted_in: EraIndex,
}

/// The era being rewarded and when it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ActiveEraInfo {
    /// The era.
    pub index: EraIndex,
    /// The block at which it started (0 for the genesis era).
    pub start: BlockNumber,
}

/// When an era started, on the clocks offences are stated in: the runtime records it in
/// the era's first block (see [`note_era_start`]). Era 0 started at genesis: block 0,
/// slot 0, GRANDPA set 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct EraStart {
    /// The era's first block.
    pub block: BlockNumber,
    /// The Aura slot of that block. It was sealed by the previous era's authorities (the
    /// new set takes over in that block), so the era's own slots are the later ones.
    pub slot: u64,
    /// The GRANDPA authority set whose voters are the era's validators: the set that
    /// block signalled, or the one before it when the membership did not change.
    pub finality_set: u64,
}

/// A nominator's stake behind one validator.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct IndividualExposure {
    /// The nominator.
    pub who: AccountId32,
    /// The stake.
    #[codec(compact)]
    pub value: Balance,
}

/// The stake behind a validator in an era: what is rewarded and what can be slashed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Exposure {
    /// `own` plus all of `others`.
    #[codec(compact)]
    pub total: Balance,
    /// The validator's own active bond.
    #[codec(compact)]
    pub own: Balance,
    /// Nominators' stakes, largest first.
    pub others: Vec<IndividualExposure>,
}

/// Reward points of an era.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct EraRewardPoints {
    /// Sum of all points.
    pub total: u32,
    /// Points per validator, sorted by account (encodes as Substrate's `BTreeMap`).
    pub individual: Vec<(AccountId32, u32)>,
}

/// A slash waiting for its era.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct UnappliedSlash {
    /// The offending validator.
    pub validator: AccountId32,
    /// Taken from the validator's own bond.
    pub own: Balance,
    /// Taken from each nominator.
    pub others: Vec<(AccountId32, Balance)>,
    /// Who reported it (empty: reports are unsigned).
    pub reporters: Vec<AccountId32>,
}

/// A validator's track record, updated at every era end from on-chain facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct NodeReputation {
    /// Share of the era's sessions with a heartbeat.
    pub uptime_score: Perbill,
    /// Blocks authored relative to a fair share of the era's blocks (capped at one).
    pub consensus_participation: Perbill,
    /// Equivocations reported against it, ever.
    pub invalid_proposals: u32,
    /// `50% previous + 25% uptime + 25% participation`, minus a penalty per offence.
    pub trust_score: Perbill,
}

/// A new validator's reputation: no history, half trust.
impl Default for NodeReputation {
    fn default() -> Self {
        NodeReputation {
            uptime_score: Perbill::zero(),
            consensus_participation: Perbill::zero(),
            invalid_proposals: 0,
            trust_score: INITIAL_TRUST,
        }
    }
}

/// An active validator eligible for area committees.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct CommitteeCandidate {
    /// The validator.
    pub who: AccountId32,
    /// Its total backing in the active era.
    pub stake: Balance,
    /// Its trust score.
    pub trust: Perbill,
}

/// "I am online", signed by an active validator once per session.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Heartbeat {
    /// The block the validator saw when it signed (informational: the session index is
    /// what is checked).
    pub block_number: BlockNumber,
    /// The session it is for: must be the current one.
    pub session_index: SessionIndex,
    /// The validator's stash; the heartbeat is signed with its Aura session key.
    pub validator: AccountId32,
}

pub use arceon_consensus_primitives::{
    EquivocationProof, FinalityVote, VoteEquivocationProof, STAGE_PRECOMMIT, STAGE_PREVOTE,
};

/// How the pool should hold a valid unsigned staking call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedValidity {
    /// Pool priority.
    pub priority: u64,
    /// Tags it provides: a second call with the same tag is a duplicate.
    pub provides: Vec<Vec<u8>>,
    /// Blocks it stays valid for.
    pub longevity: u64,
}

/// A genesis staker's role.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
    scale_info::TypeInfo,
)]
pub enum StakerStatus {
    /// Validates (commission 0).
    Validator,
    /// Nominates these genesis validators.
    Nominator(Vec<AccountId32>),
    /// Only bonds.
    Idle,
}

storage! { pallet "Staking";
    /// Bonded accounts and their ledgers.
    pub Ledger: map Blake2_128Concat, AccountId32 => StakingLedger;
    /// Accounts that intend to validate, and their terms.
    pub Validators: map Twox64Concat, AccountId32 => ValidatorPrefs;
    /// Number of entries in `Validators`.
    pub CounterForValidators: value u32;
    /// Accounts that nominate, and whom.
    pub Nominators: map Twox64Concat, AccountId32 => Nominations;
    /// Number of entries in `Nominators`.
    pub CounterForNominators: value u32;
    /// The latest planned era (equals the active era: eras start as soon as planned).
    pub CurrentEra: value EraIndex;
    /// The era being rewarded and its start block.
    pub ActiveEra: value ActiveEraInfo;
    /// Set by `force_new_era`: the next block starts a new era.
    pub ForceNewEra: value bool;
    /// Blocks per era.
    pub EraLength: value BlockNumber;
    /// Sessions per era; a session is `EraLength / SessionsPerEra` blocks.
    pub SessionsPerEra: value u32;
    /// The current session.
    pub CurrentSession: value SessionIndex;
    /// The first session of the active era.
    pub EraStartSession: value SessionIndex;
    /// How many validators the election picks.
    pub ValidatorCount: value u32;
    /// The least active bond to validate.
    pub MinValidatorBond: value Balance;
    /// The least active bond to nominate.
    pub MinNominatorBond: value Balance;
    /// Eras an unbonded chunk waits before it can be withdrawn.
    pub BondingDuration: value EraIndex;
    /// Eras between an offence report and its slash.
    pub SlashDeferDuration: value EraIndex;
    /// ArcM minted as rewards per era.
    pub EraPayout: value Balance;
    /// The share of its exposure an equivocating validator loses.
    pub SlashFractionEquivocation: value Perbill;
    /// The active era's validators, in election order (the Aura authority order).
    pub ActiveValidators: value Vec<AccountId32>;
    /// When each era started (era 0 is implicit), kept as long as its exposures.
    pub ErasStart: map Twox64Concat, EraIndex => EraStart;
    /// Exposure of each elected validator per era.
    pub ErasStakers: double_map Twox64Concat, EraIndex, Blake2_128Concat, AccountId32 => Exposure;
    /// Terms of each elected validator per era, fixed at election.
    pub ErasValidatorPrefs: double_map Twox64Concat, EraIndex, Blake2_128Concat, AccountId32 => ValidatorPrefs;
    /// Reward points per era.
    pub ErasRewardPoints: map Twox64Concat, EraIndex => EraRewardPoints;
    /// ArcM actually minted as rewards for each era.
    pub ErasValidatorReward: map Twox64Concat, EraIndex => Balance;
    /// Slashes to apply when the era starts.
    pub UnappliedSlashes: map Twox64Concat, EraIndex => Vec<UnappliedSlash>;
    /// Validators whose exposure in the era has been slashed, and by how much.
    pub SlashedInEra: double_map Twox64Concat, EraIndex, Twox64Concat, AccountId32 => Perbill;
    /// Active validators disabled for the rest of the era (offenders).
    pub DisabledValidators: value Vec<AccountId32>;
    /// Each validator's reputation.
    pub Reputation: map Blake2_128Concat, AccountId32 => NodeReputation;
    /// Heartbeats of the current session, with the block number they carried.
    pub ReceivedHeartbeats: double_map Twox64Concat, SessionIndex, Twox64Concat, AccountId32 => BlockNumber;
    /// Sessions with a heartbeat, per era and validator.
    pub ErasHeartbeats: double_map Twox64Concat, EraIndex, Twox64Concat, AccountId32 => u32;
    /// Blocks authored, per era and validator.
    pub AuthoredBlocks: double_map Twox64Concat, EraIndex, Twox64Concat, AccountId32 => u32;
    /// The session keys each authoring validator signed with in an era.
    pub ErasSessionKeys: double_map Twox64Concat, EraIndex, Twox64Concat, AccountId32 => SessionKeys;
    /// The stash behind each session key in force in an era.
    pub ErasKeyOwner: double_map Twox64Concat, EraIndex, Twox64Concat, (KeyTypeId, [u8; 32]) => AccountId32;
    /// Offences reported, per era of the report and offender.
    pub ErasOffences: double_map Twox64Concat, EraIndex, Twox64Concat, AccountId32 => u32;
    /// Every `(offender, slot)` punished, with the era of the report. Kept forever (one
    /// entry per proven offence, each of which cost the offender its stake or standing),
    /// so an old offence can never be punished twice.
    pub ReportedOffences: map Twox64Concat, (AccountId32, u64) => EraIndex;
    /// Every GRANDPA vote equivocation `(offender, set_id, round)` punished, with the era
    /// of the report; kept forever like `ReportedOffences`.
    pub ReportedVoteOffences: map Twox64Concat, (AccountId32, u64, u64) => EraIndex;
    /// Set whenever the set of committee candidates may have changed (era change, chill,
    /// offence); the runtime takes it to re-select area committees.
    pub CommitteeDirty: value bool;
}

/// Staking events; indices follow Substrate's staking pallet where the event exists there.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// An era's rewards were minted.
    #[codec(index = 0)]
    EraPaid {
        /// The era rewarded.
        era_index: EraIndex,
        /// ArcM minted to validators and nominators.
        validator_payout: Balance,
        /// Part of `EraPayout` not minted (no points, rounding, uncreatable accounts).
        remainder: Balance,
    },
    /// Bonded ArcM was burned.
    #[codec(index = 2)]
    Slashed {
        /// The staker.
        staker: AccountId32,
        /// ArcM burned.
        amount: Balance,
    },
    /// A slash was recorded, to be applied at `slash_era`.
    #[codec(index = 3)]
    SlashReported {
        /// The offender.
        validator: AccountId32,
        /// The share of its exposure.
        fraction: Perbill,
        /// The era at whose start it applies.
        slash_era: EraIndex,
    },
    /// The election picked the next active set (see `NewEra`).
    #[codec(index = 5)]
    StakersElected,
    /// ArcM was bonded (also by `rebond`).
    #[codec(index = 6)]
    Bonded {
        /// The stash.
        stash: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// ArcM started unbonding.
    #[codec(index = 7)]
    Unbonded {
        /// The stash.
        stash: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Unbonded ArcM was unlocked.
    #[codec(index = 8)]
    Withdrawn {
        /// The stash.
        stash: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// The election found no eligible validator; the previous set stays.
    #[codec(index = 10)]
    StakingElectionFailed,
    /// An account stopped validating or nominating.
    #[codec(index = 11)]
    Chilled {
        /// The stash.
        stash: AccountId32,
    },
    /// A validator set its terms.
    #[codec(index = 13)]
    ValidatorPrefsSet {
        /// The stash.
        stash: AccountId32,
        /// The terms.
        prefs: ValidatorPrefs,
    },
    /// A new era started with this active set.
    #[codec(index = 30)]
    NewEra {
        /// The era.
        era_index: EraIndex,
        /// Its validators, in order.
        validators: Vec<AccountId32>,
    },
    /// A new session started.
    #[codec(index = 31)]
    NewSession {
        /// The session.
        session_index: SessionIndex,
    },
    /// An equivocation was proven.
    #[codec(index = 32)]
    OffenceReported {
        /// The offender.
        offender: AccountId32,
        /// The slot it sealed twice.
        slot: u64,
        /// The era whose exposure answers for it.
        era: EraIndex,
    },
    /// An active validator signalled it is online.
    #[codec(index = 33)]
    HeartbeatReceived {
        /// The validator.
        validator: AccountId32,
    },
    /// An account nominated.
    #[codec(index = 34)]
    Nominated {
        /// The stash.
        stash: AccountId32,
        /// The validators it backs.
        targets: Vec<AccountId32>,
    },
    /// Root set the number of validators to elect.
    #[codec(index = 35)]
    ValidatorCountSet {
        /// The new count.
        count: u32,
    },
    /// Root forced a new era at the next block.
    #[codec(index = 36)]
    NewEraForced,
    /// Root set the minimum bonds.
    #[codec(index = 37)]
    MinBondsSet {
        /// To validate.
        min_validator_bond: Balance,
        /// To nominate.
        min_nominator_bond: Balance,
    },
    /// An active validator was disabled for the rest of the era.
    #[codec(index = 38)]
    ValidatorDisabled {
        /// The validator.
        validator: AccountId32,
    },
    /// A GRANDPA vote equivocation was proven.
    #[codec(index = 39)]
    VoteOffenceReported {
        /// The offender.
        offender: AccountId32,
        /// The authority set it voted in.
        set_id: u64,
        /// The round it voted twice in.
        round: u64,
        /// The era whose exposure answers for it.
        era: EraIndex,
    },
}

arceon_support::pallet_error! {
    /// Staking errors; the first ten have Substrate's indices.
    pub enum Error for pallet PALLET_INDEX {
        /// The account has no ledger (it has not bonded).
        NotController,
        /// The account has no ledger to add to.
        NotStash,
        /// The account has already bonded.
        AlreadyBonded,
        /// Controllers are stashes on Arceon (Substrate's index kept).
        AlreadyPaired,
        /// `nominate` with no targets.
        EmptyTargets,
        /// Substrate's index kept; not produced.
        DuplicateIndex,
        /// Substrate's index kept; not produced.
        InvalidSlashIndex,
        /// The bond is below the existential deposit or the minimum for the role, or
        /// an unbond would leave less than that minimum.
        InsufficientBond,
        /// Too many unlocking chunks: withdraw or wait for an era to pass.
        NoMoreChunks,
        /// `rebond` with nothing unlocking.
        NoUnlockChunk,
        /// More than [`MAX_NOMINATIONS`] targets.
        TooManyTargets,
        /// A target does not intend to validate, or is the nominator itself.
        BadTarget,
        /// A target is listed twice.
        DuplicateTarget,
        /// Not enough free balance to bond that much.
        InsufficientBalance,
        /// [`MAX_VALIDATOR_INTENTS`] accounts already validate.
        TooManyValidators,
        /// [`MAX_NOMINATOR_INTENTS`] accounts already nominate.
        TooManyNominators,
        /// The validator count must be between 1 and [`MAX_VALIDATOR_COUNT`].
        InvalidValidatorCount,
        /// The headers are not two different blocks sealed by the offender for the slot.
        InvalidEquivocationProof,
        /// This `(offender, slot)` was already reported.
        DuplicateOffenceReport,
        /// The offender is neither active nor in the previous era's set.
        OffenderNotValidator,
        /// Wrong session or bad signature.
        InvalidHeartbeat,
        /// The validator already sent a heartbeat this session.
        DuplicateHeartbeat,
        /// Only active validators send heartbeats.
        NotActiveValidator,
        /// The call is not one that may be submitted unsigned.
        NoUnsignedValidator,
        /// The votes are not two different, validly signed votes of one stage by the
        /// offender, in a GRANDPA set that exists.
        InvalidVoteEquivocationProof,
        /// This `(offender, set_id, round)` was already reported.
        DuplicateVoteOffenceReport,
        /// The offence was committed in an era older than the bonding duration (or than
        /// the exposure history kept, if shorter): it can no longer be punished.
        OffenceTooOld,
    }
}

/// What the pool should make of a refused unsigned call.
impl From<Error> for TransactionValidityError {
    fn from(error: Error) -> Self {
        match error {
            Error::DuplicateOffenceReport
            | Error::DuplicateHeartbeat
            | Error::DuplicateVoteOffenceReport
            | Error::OffenceTooOld => InvalidTransaction::Stale.into(),
            Error::InvalidEquivocationProof
            | Error::InvalidHeartbeat
            | Error::InvalidVoteEquivocationProof => InvalidTransaction::BadProof.into(),
            Error::OffenderNotValidator | Error::NotActiveValidator => {
                InvalidTransaction::BadSigner.into()
            }
            Error::NoUnsignedValidator => UnknownTransaction::NoUnsignedValidator.into(),
            other => InvalidTransaction::Custom(other.error_index()).into(),
        }
    }
}

/// Staking calls; indices follow Substrate's staking pallet where the call exists there.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Bond `value` of the sender's free balance (index 0). Rewards go to free balance.
    #[codec(index = 0)]
    Bond {
        /// Amount.
        #[codec(compact)]
        value: Balance,
    },
    /// Bond up to `max_additional` more of the free balance (index 1).
    #[codec(index = 1)]
    BondExtra {
        /// Upper bound on the amount.
        #[codec(compact)]
        max_additional: Balance,
    },
    /// Start unbonding `value` of the active bond (index 2).
    #[codec(index = 2)]
    Unbond {
        /// Amount (capped at the active bond).
        #[codec(compact)]
        value: Balance,
    },
    /// Unlock every chunk whose era has come (index 3).
    #[codec(index = 3)]
    WithdrawUnbonded,
    /// Intend to validate with these terms (index 4).
    #[codec(index = 4)]
    Validate {
        /// Terms.
        prefs: ValidatorPrefs,
    },
    /// Back these validators (index 5).
    #[codec(index = 5)]
    Nominate {
        /// Validators with intent, at most [`MAX_NOMINATIONS`], no duplicates.
        targets: Vec<MultiAddress>,
    },
    /// Stop validating or nominating (index 6).
    #[codec(index = 6)]
    Chill,
    /// Set the number of validators to elect (root, index 9).
    #[codec(index = 9)]
    SetValidatorCount {
        /// Between 1 and [`MAX_VALIDATOR_COUNT`].
        #[codec(compact)]
        new: u32,
    },
    /// Start a new era at the next block (root, index 13).
    #[codec(index = 13)]
    ForceNewEra,
    /// Move `value` from the newest unlocking chunks back to active (index 19).
    #[codec(index = 19)]
    Rebond {
        /// Amount (capped at what is unlocking).
        #[codec(compact)]
        value: Balance,
    },
    /// Prove an equivocation (unsigned, index 30).
    #[codec(index = 30)]
    ReportEquivocation {
        /// Two sealed headers for one slot.
        proof: Box<EquivocationProof>,
    },
    /// An active validator's heartbeat (unsigned, index 31).
    #[codec(index = 31)]
    Heartbeat {
        /// What is signed.
        heartbeat: Heartbeat,
        /// sr25519 signature by the validator's Aura session key over `heartbeat.encode()`.
        signature: [u8; 64],
    },
    /// Set the minimum bonds (root, index 32).
    #[codec(index = 32)]
    SetMinBonds {
        /// To validate.
        #[codec(compact)]
        min_validator_bond: Balance,
        /// To nominate.
        #[codec(compact)]
        min_nominator_bond: Balance,
    },
    /// Prove a GRANDPA vote equivocation (unsigned, index 33).
    #[codec(index = 33)]
    ReportVoteEquivocation {
        /// Two signed votes of one stage and round.
        proof: Box<VoteEquivocationProof>,
    },
}

/// Weights of this pallet's calls and hooks (reference time in picoseconds, proof size in
/// bytes). The call weights are set from `arceon-node benchmark pallet` (release build,
/// 2-core reference machine, 400 validators, 2,000 nominators): about 4x each measured
/// in-memory median (bond 9.2 us, bond_extra 13.7, unbond 18.6, withdraw_unbonded 23.1,
/// rebond 15.4, validate 7.1, chill 1.0 (declared 10), heartbeat 68, report_equivocation
/// 159), to cover reads through the trie and database during import; hook weights and
/// `nominate` remain estimates above their measurements.
pub mod weights {
    use arceon_support::Weight;

    /// `bond`: ledger, account and locks.
    pub const BOND: Weight = Weight::from_parts(40_000_000, 7_000);
    /// `bond_extra`.
    pub const BOND_EXTRA: Weight = Weight::from_parts(55_000_000, 7_000);
    /// `unbond`, including a chill when the active bond reaches zero.
    pub const UNBOND: Weight = Weight::from_parts(75_000_000, 8_000);
    /// `withdraw_unbonded`, worst case killing the ledger.
    pub const WITHDRAW_UNBONDED: Weight = Weight::from_parts(95_000_000, 8_000);
    /// `validate`.
    pub const VALIDATE: Weight = Weight::from_parts(30_000_000, 5_000);
    /// `chill`.
    pub const CHILL: Weight = Weight::from_parts(10_000_000, 5_000);
    /// `rebond` (at most [`super::MAX_UNLOCKING_CHUNKS`] chunks touched).
    pub const REBOND: Weight = Weight::from_parts(65_000_000, 8_000);
    /// `set_validator_count`.
    pub const SET_VALIDATOR_COUNT: Weight = Weight::from_parts(8_000_000, 0);
    /// `force_new_era`.
    pub const FORCE_NEW_ERA: Weight = Weight::from_parts(8_000_000, 0);
    /// `set_min_bonds`.
    pub const SET_MIN_BONDS: Weight = Weight::from_parts(10_000_000, 0);
    /// `report_equivocation`: two sr25519 verifications, hashing two headers, the
    /// exposure read and the slash record.
    pub const REPORT_EQUIVOCATION: Weight = Weight::from_parts(635_000_000, 20_000);
    /// `report_vote_equivocation`: two sr25519 verifications over short payloads, the
    /// exposure read and the slash record (bounded by `report_equivocation`'s measurement,
    /// which also hashes two headers).
    pub const REPORT_VOTE_EQUIVOCATION: Weight = REPORT_EQUIVOCATION;
    /// `heartbeat`: one sr25519 verification.
    pub const HEARTBEAT: Weight = Weight::from_parts(275_000_000, 4_000);
    /// `on_initialize` in a block that starts neither a session nor an era.
    pub const ON_INITIALIZE: Weight = Weight::from_parts(6_000_000, 1_000);
    /// `on_initialize` starting a session (clears at most the active set's heartbeats).
    pub const NEW_SESSION: Weight = Weight::from_parts(60_000_000, 4_000);
    /// `note_author`.
    pub const NOTE_AUTHOR: Weight = Weight::from_parts(25_000_000, 4_000);

    /// `nominate` with `targets` targets.
    pub fn nominate(targets: usize) -> Weight {
        Weight::from_parts(35_000_000, 5_000)
            .saturating_add(Weight::from_parts(10_000_000, 100).saturating_mul(targets as u64))
    }

    /// `on_initialize` starting an era: paying, electing among `intents` validators and
    /// `nominators` nominators, rating and pruning `active` validators.
    pub fn new_era(intents: u32, nominators: u32, active: u32) -> Weight {
        Weight::from_parts(2_000_000_000, 50_000)
            .saturating_add(Weight::from_parts(60_000_000, 200).saturating_mul(u64::from(intents)))
            .saturating_add(
                Weight::from_parts(80_000_000, 300).saturating_mul(u64::from(nominators)),
            )
            .saturating_add(
                Weight::from_parts(1_200_000_000, 20_000).saturating_mul(u64::from(active)),
            )
    }
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
            Call::Bond { .. } => weights::BOND,
            Call::BondExtra { .. } => weights::BOND_EXTRA,
            Call::Unbond { .. } => weights::UNBOND,
            Call::WithdrawUnbonded => weights::WITHDRAW_UNBONDED,
            Call::Validate { .. } => weights::VALIDATE,
            Call::Nominate { targets } => weights::nominate(targets.len()),
            Call::Chill => weights::CHILL,
            Call::SetValidatorCount { .. } => weights::SET_VALIDATOR_COUNT,
            Call::ForceNewEra => weights::FORCE_NEW_ERA,
            Call::Rebond { .. } => weights::REBOND,
            Call::ReportEquivocation { .. } => weights::REPORT_EQUIVOCATION,
            Call::ReportVoteEquivocation { .. } => weights::REPORT_VOTE_EQUIVOCATION,
            Call::Heartbeat { .. } => weights::HEARTBEAT,
            Call::SetMinBonds { .. } => weights::SET_MIN_BONDS,
        }
    }

    /// Whether this call is submitted unsigned (evidence and heartbeats, which carry
    /// their own proof and pay no fee).
    pub fn is_unsigned(&self) -> bool {
        matches!(
            self,
            Call::ReportEquivocation { .. }
                | Call::ReportVoteEquivocation { .. }
                | Call::Heartbeat { .. }
        )
    }

    /// Checks an unsigned call for the pool; see [`validate_unsigned`].
    pub fn validate_unsigned(&self, ext: &mut Ext) -> Result<UnsignedValidity, Error> {
        validate_unsigned(ext, self)
    }

    /// Executes the call. Runs inside the executive's transactional layer, so an error
    /// discards every write the call made.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        match self {
            Call::Bond { value } => bond(ext, &ensure_signed(origin)?, value),
            Call::BondExtra { max_additional } => {
                bond_extra(ext, &ensure_signed(origin)?, max_additional)
            }
            Call::Unbond { value } => unbond(ext, &ensure_signed(origin)?, value),
            Call::WithdrawUnbonded => withdraw_unbonded(ext, &ensure_signed(origin)?),
            Call::Validate { prefs } => validate(ext, &ensure_signed(origin)?, prefs),
            Call::Nominate { targets } => nominate(ext, &ensure_signed(origin)?, &targets),
            Call::Chill => chill(ext, &ensure_signed(origin)?),
            Call::Rebond { value } => rebond(ext, &ensure_signed(origin)?, value),
            Call::SetValidatorCount { new } => {
                ensure_root(origin)?;
                if new == 0 || new > MAX_VALIDATOR_COUNT {
                    return Err(Error::InvalidValidatorCount.into());
                }
                ValidatorCount::put(ext, &new);
                deposit_event(ext, &Event::ValidatorCountSet { count: new });
                Ok(())
            }
            Call::ForceNewEra => {
                ensure_root(origin)?;
                ForceNewEra::put(ext, &true);
                deposit_event(ext, &Event::NewEraForced);
                Ok(())
            }
            Call::SetMinBonds {
                min_validator_bond,
                min_nominator_bond,
            } => {
                ensure_root(origin)?;
                MinValidatorBond::put(ext, &min_validator_bond);
                MinNominatorBond::put(ext, &min_nominator_bond);
                deposit_event(
                    ext,
                    &Event::MinBondsSet {
                        min_validator_bond,
                        min_nominator_bond,
                    },
                );
                Ok(())
            }
            Call::ReportEquivocation { proof } => {
                ensure_none(origin)?;
                report_equivocation(ext, &proof)
            }
            Call::Heartbeat {
                heartbeat,
                signature,
            } => {
                ensure_none(origin)?;
                receive_heartbeat(ext, &heartbeat, &signature)
            }
            Call::ReportVoteEquivocation { proof } => {
                ensure_none(origin)?;
                report_vote_equivocation(ext, &proof)
            }
        }
    }
}

/// Deposits a staking event.
pub fn deposit_event(ext: &mut Ext, event: &Event) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![
        arceon_support::metadata::constant(
            "MaxNominations",
            &(MAX_NOMINATIONS as u32),
            &["The most validators one nominator may back."],
        ),
        arceon_support::metadata::constant(
            "HistoryDepth",
            &(HISTORY_DEPTH),
            &["How many past eras' rewards can still be claimed."],
        ),
        arceon_support::metadata::constant(
            "MaxUnlockingChunks",
            &(MAX_UNLOCKING_CHUNKS as u32),
            &["The most unbonding chunks one ledger holds."],
        ),
    ]
}

/// Shifts every block number this pallet stores down by `by` (saturating at 0), so the
/// state of block `by` can be the genesis of a new chain with the same elapsed times
/// (`export-state --chain-spec`).
pub fn rebase(ext: &mut Ext, by: BlockNumber) {
    if ActiveEra::exists(ext) {
        ActiveEra::mutate(ext, |era| era.start = era.start.saturating_sub(by));
    }
    ErasStart::translate_values(ext, |start: &mut EraStart| {
        start.block = start.block.saturating_sub(by);
    });
    ReceivedHeartbeats::translate_values(ext, |at: &mut BlockNumber| {
        *at = at.saturating_sub(by);
    });
}

#[cfg(test)]
mod tests;
