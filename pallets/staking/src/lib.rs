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

mod perbill;
pub mod session;

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

// ---------------------------------------------------------------------------------------
// Read helpers for the runtime and other pallets.
// ---------------------------------------------------------------------------------------

/// The active era's validators, in order.
pub fn active_validators(ext: &mut Ext) -> Vec<AccountId32> {
    ActiveValidators::get_or_default(ext)
}

/// The active era.
pub fn active_era_index(ext: &mut Ext) -> EraIndex {
    ActiveEra::get_or_default(ext).index
}

/// The current session.
pub fn current_session(ext: &mut Ext) -> SessionIndex {
    CurrentSession::get_or_default(ext)
}

/// Blocks per session (at least one).
pub fn session_length(ext: &mut Ext) -> BlockNumber {
    let era_length = EraLength::get_or_default(ext).max(1);
    let sessions = SessionsPerEra::get_or_default(ext).max(1);
    (era_length / sessions).max(1)
}

/// The account's ledger, if it bonded.
pub fn ledger(ext: &mut Ext, who: &AccountId32) -> Option<StakingLedger> {
    Ledger::get(ext, who)
}

/// The account's reputation (a new validator's if it has none).
pub fn reputation(ext: &mut Ext, who: &AccountId32) -> NodeReputation {
    Reputation::get(ext, who).unwrap_or_default()
}

/// Whether the validator is disabled for the rest of the era.
pub fn is_disabled(ext: &mut Ext, who: &AccountId32) -> bool {
    DisabledValidators::get_or_default(ext).contains(who)
}

/// Checks staking's invariants at this state: every ledger is its stash's, `active` plus
/// the unlocking chunks is `total`, the bond never exceeds the free balance and is exactly
/// the staking lock; the active set is bounded, without duplicates, and every
/// member has a ledger. Names the first broken one.
pub fn check_invariants(ext: &mut Ext) -> Result<(), String> {
    for (who, ledger) in Ledger::iter(ext) {
        if ledger.stash != who {
            return Err(format!("{who}: ledger belongs to {}", ledger.stash));
        }
        let unlocking = ledger
            .unlocking
            .iter()
            .fold(0u128, |sum, chunk| sum.saturating_add(chunk.value));
        if ledger.active.saturating_add(unlocking) != ledger.total {
            return Err(format!("{who}: active + unlocking != total"));
        }
        let free = balances::free_balance(ext, &who);
        if ledger.total > free {
            return Err(format!(
                "{who}: bonded {} exceeds free balance {free}",
                ledger.total
            ));
        }
        let lock = balances::locks(ext, &who)
            .iter()
            .find(|lock| lock.id == STAKING_LOCK_ID)
            .map(|lock| lock.amount)
            .unwrap_or(0);
        if lock != ledger.total {
            return Err(format!(
                "{who}: staking lock {lock} differs from bond {}",
                ledger.total
            ));
        }
    }
    let set = active_validators(ext);
    if set.len() > MAX_VALIDATOR_COUNT as usize {
        return Err(format!("active set of {} is too large", set.len()));
    }
    let unique: BTreeSet<&AccountId32> = set.iter().collect();
    if unique.len() != set.len() {
        return Err("duplicate member in the active set".to_string());
    }
    for who in &set {
        if !Ledger::contains_key(ext, who) {
            return Err(format!("{who}: active without a ledger"));
        }
    }
    Ok(())
}

/// Active validators that still intend to validate and are not disabled, in active-set
/// order, with their backing and trust: who may serve on area committees.
pub fn committee_candidates(ext: &mut Ext) -> Vec<CommitteeCandidate> {
    let era = active_era_index(ext);
    let disabled = DisabledValidators::get_or_default(ext);
    let mut candidates = Vec::new();
    for who in active_validators(ext) {
        if disabled.contains(&who) || !Validators::contains_key(ext, &who) {
            continue;
        }
        let stake = ErasStakers::get(ext, &era, &who)
            .map(|exposure| exposure.total)
            .unwrap_or(0);
        let trust = reputation(ext, &who).trust_score;
        candidates.push(CommitteeCandidate { who, stake, trust });
    }
    candidates
}

/// Whether the committee candidates may have changed since the last call; clears the flag.
pub fn take_committee_dirty(ext: &mut Ext) -> bool {
    let dirty = CommitteeDirty::get_or_default(ext);
    if dirty {
        CommitteeDirty::kill(ext);
    }
    dirty
}

/// Credits the block's author (called by the runtime once per block): reward points and
/// an authored block in the active era. Authors outside the active set are ignored.
pub fn note_author(ext: &mut Ext, author: &AccountId32) {
    if !active_validators(ext).contains(author) {
        return;
    }
    let era = active_era_index(ext);
    ErasRewardPoints::mutate(ext, &era, |points| {
        points.total = points.total.saturating_add(REWARD_POINTS_PER_BLOCK);
        match points
            .individual
            .binary_search_by(|(who, _)| who.cmp(author))
        {
            Ok(i) => {
                if let Some(entry) = points.individual.get_mut(i) {
                    entry.1 = entry.1.saturating_add(REWARD_POINTS_PER_BLOCK);
                }
            }
            Err(i) => points
                .individual
                .insert(i, (author.clone(), REWARD_POINTS_PER_BLOCK)),
        }
    });
    let authored = AuthoredBlocks::get(ext, &era, author).unwrap_or(0);
    AuthoredBlocks::insert(ext, &era, author, &authored.saturating_add(1));
}

// ---------------------------------------------------------------------------------------
// Bonding.
// ---------------------------------------------------------------------------------------

/// Writes the ledger and sets the lock to its total.
fn put_ledger(ext: &mut Ext, ledger: &StakingLedger) -> DispatchResult {
    balances::set_lock(
        ext,
        STAKING_LOCK_ID,
        &ledger.stash,
        ledger.total,
        Reasons::All,
    )?;
    Ledger::insert(ext, &ledger.stash, ledger);
    Ok(())
}

/// Removes validator and nominator intent; returns whether validator intent was removed.
/// Emits `Chilled` when anything was removed.
fn remove_intents(ext: &mut Ext, who: &AccountId32) -> bool {
    let was_validator = Validators::contains_key(ext, who);
    let was_nominator = Nominators::contains_key(ext, who);
    if was_validator {
        Validators::remove(ext, who);
        CounterForValidators::mutate(ext, |count| *count = count.saturating_sub(1));
        CommitteeDirty::put(ext, &true);
    }
    if was_nominator {
        Nominators::remove(ext, who);
        CounterForNominators::mutate(ext, |count| *count = count.saturating_sub(1));
    }
    if was_validator || was_nominator {
        deposit_event(ext, &Event::Chilled { stash: who.clone() });
    }
    was_validator
}

/// Removes the ledger, the lock and any intent.
fn kill_stash(ext: &mut Ext, who: &AccountId32) {
    Ledger::remove(ext, who);
    balances::remove_lock(ext, STAKING_LOCK_ID, who);
    remove_intents(ext, who);
}

/// The least active bond the account's role needs.
fn min_active_bond(ext: &mut Ext, who: &AccountId32) -> Balance {
    if Validators::contains_key(ext, who) {
        MinValidatorBond::get_or_default(ext)
    } else if Nominators::contains_key(ext, who) {
        MinNominatorBond::get_or_default(ext)
    } else {
        0
    }
}

fn bond(ext: &mut Ext, who: &AccountId32, value: Balance) -> DispatchResult {
    if Ledger::contains_key(ext, who) {
        return Err(Error::AlreadyBonded.into());
    }
    if value < balances::EXISTENTIAL_DEPOSIT {
        return Err(Error::InsufficientBond.into());
    }
    if value > balances::free_balance(ext, who) {
        return Err(Error::InsufficientBalance.into());
    }
    let ledger = StakingLedger {
        stash: who.clone(),
        total: value,
        active: value,
        unlocking: Vec::new(),
    };
    put_ledger(ext, &ledger)?;
    deposit_event(
        ext,
        &Event::Bonded {
            stash: who.clone(),
            amount: value,
        },
    );
    Ok(())
}

fn bond_extra(ext: &mut Ext, who: &AccountId32, max_additional: Balance) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotStash)?;
    let available = balances::free_balance(ext, who).saturating_sub(ledger.total);
    let extra = max_additional.min(available);
    if extra == 0 {
        return Err(Error::InsufficientBalance.into());
    }
    ledger.active = ledger.active.saturating_add(extra);
    ledger.recompute_total();
    put_ledger(ext, &ledger)?;
    deposit_event(
        ext,
        &Event::Bonded {
            stash: who.clone(),
            amount: extra,
        },
    );
    Ok(())
}

fn unbond(ext: &mut Ext, who: &AccountId32, value: Balance) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    let mut value = value.min(ledger.active);
    if value == 0 {
        return Ok(());
    }
    let mut remaining = ledger.active - value;
    // Never leave an unspendable sliver bonded.
    if remaining < balances::EXISTENTIAL_DEPOSIT {
        value = ledger.active;
        remaining = 0;
    }
    if remaining > 0 && remaining < min_active_bond(ext, who) {
        return Err(Error::InsufficientBond.into());
    }
    let era = CurrentEra::get_or_default(ext).saturating_add(BondingDuration::get_or_default(ext));
    match ledger.unlocking.last_mut() {
        Some(chunk) if chunk.era == era => chunk.value = chunk.value.saturating_add(value),
        _ => {
            if ledger.unlocking.len() >= MAX_UNLOCKING_CHUNKS {
                return Err(Error::NoMoreChunks.into());
            }
            ledger.unlocking.push(UnlockChunk { value, era });
        }
    }
    ledger.active = remaining;
    ledger.recompute_total();
    put_ledger(ext, &ledger)?;
    if remaining == 0 {
        // Nothing left to back a role with.
        remove_intents(ext, who);
    }
    deposit_event(
        ext,
        &Event::Unbonded {
            stash: who.clone(),
            amount: value,
        },
    );
    Ok(())
}

fn withdraw_unbonded(ext: &mut Ext, who: &AccountId32) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    let current = CurrentEra::get_or_default(ext);
    let before = ledger.total;
    ledger.unlocking.retain(|chunk| chunk.era > current);
    ledger.recompute_total();
    let emptied = ledger.unlocking.is_empty() && ledger.active < balances::EXISTENTIAL_DEPOSIT;
    // An active validator keeps its ledger until it leaves the set.
    let withdrawn = if emptied && !active_validators(ext).contains(who) {
        // Nothing (or only dust) stays bonded: release everything.
        kill_stash(ext, who);
        before
    } else {
        let withdrawn = before.saturating_sub(ledger.total);
        if withdrawn > 0 {
            put_ledger(ext, &ledger)?;
        }
        withdrawn
    };
    if withdrawn > 0 {
        deposit_event(
            ext,
            &Event::Withdrawn {
                stash: who.clone(),
                amount: withdrawn,
            },
        );
    }
    Ok(())
}

fn rebond(ext: &mut Ext, who: &AccountId32, value: Balance) -> DispatchResult {
    let mut ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    if ledger.unlocking.is_empty() {
        return Err(Error::NoUnlockChunk.into());
    }
    let mut left = value;
    let mut rebonded: Balance = 0;
    while left > 0 {
        let Some(chunk) = ledger.unlocking.last_mut() else {
            break;
        };
        if chunk.value <= left {
            left -= chunk.value;
            rebonded = rebonded.saturating_add(chunk.value);
            ledger.unlocking.pop();
        } else {
            chunk.value -= left;
            rebonded = rebonded.saturating_add(left);
            left = 0;
        }
    }
    ledger.active = ledger.active.saturating_add(rebonded);
    if ledger.active < balances::EXISTENTIAL_DEPOSIT {
        return Err(Error::InsufficientBond.into());
    }
    ledger.recompute_total();
    put_ledger(ext, &ledger)?;
    deposit_event(
        ext,
        &Event::Bonded {
            stash: who.clone(),
            amount: rebonded,
        },
    );
    Ok(())
}

fn validate(ext: &mut Ext, who: &AccountId32, prefs: ValidatorPrefs) -> DispatchResult {
    let ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    if ledger.active == 0 || ledger.active < MinValidatorBond::get_or_default(ext) {
        return Err(Error::InsufficientBond.into());
    }
    if !Validators::contains_key(ext, who) {
        let count = CounterForValidators::get_or_default(ext);
        if count >= MAX_VALIDATOR_INTENTS {
            return Err(Error::TooManyValidators.into());
        }
        CounterForValidators::put(ext, &count.saturating_add(1));
    }
    if Nominators::contains_key(ext, who) {
        Nominators::remove(ext, who);
        CounterForNominators::mutate(ext, |count| *count = count.saturating_sub(1));
    }
    Validators::insert(ext, who, &prefs);
    deposit_event(
        ext,
        &Event::ValidatorPrefsSet {
            stash: who.clone(),
            prefs,
        },
    );
    Ok(())
}

fn nominate(ext: &mut Ext, who: &AccountId32, targets: &[MultiAddress]) -> DispatchResult {
    let ledger = Ledger::get(ext, who).ok_or(Error::NotController)?;
    if ledger.active == 0 || ledger.active < MinNominatorBond::get_or_default(ext) {
        return Err(Error::InsufficientBond.into());
    }
    if targets.is_empty() {
        return Err(Error::EmptyTargets.into());
    }
    if targets.len() > MAX_NOMINATIONS {
        return Err(Error::TooManyTargets.into());
    }
    let mut seen = BTreeSet::new();
    let mut resolved = Vec::with_capacity(targets.len());
    for target in targets {
        let target = lookup(target)?;
        if !seen.insert(target.clone()) {
            return Err(Error::DuplicateTarget.into());
        }
        if target == *who || !Validators::contains_key(ext, &target) {
            return Err(Error::BadTarget.into());
        }
        resolved.push(target);
    }
    if !Nominators::contains_key(ext, who) {
        let count = CounterForNominators::get_or_default(ext);
        if count >= MAX_NOMINATOR_INTENTS {
            return Err(Error::TooManyNominators.into());
        }
        CounterForNominators::put(ext, &count.saturating_add(1));
    }
    if Validators::contains_key(ext, who) {
        Validators::remove(ext, who);
        CounterForValidators::mutate(ext, |count| *count = count.saturating_sub(1));
        CommitteeDirty::put(ext, &true);
    }
    let nominations = Nominations {
        targets: resolved.clone(),
        submitted_in: CurrentEra::get_or_default(ext),
    };
    Nominators::insert(ext, who, &nominations);
    deposit_event(
        ext,
        &Event::Nominated {
            stash: who.clone(),
            targets: resolved,
        },
    );
    Ok(())
}

fn chill(ext: &mut Ext, who: &AccountId32) -> DispatchResult {
    if !Ledger::contains_key(ext, who) {
        return Err(Error::NotController.into());
    }
    remove_intents(ext, who);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Unsigned calls: equivocation reports and heartbeats.
// ---------------------------------------------------------------------------------------

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
fn verify_sr25519(signature: &[u8], message: &[u8], signer: &sr25519::Public) -> bool {
    use sp_core::Pair as _;
    match <[u8; 64]>::try_from(signature) {
        Ok(raw) => sr25519::Pair::verify(&sr25519::Signature::from_raw(raw), message, signer),
        Err(_) => false,
    }
}

/// Whether `signature` is an ed25519 signature of `message` by `signer`.
fn verify_ed25519(signature: &[u8; 64], message: &[u8], signer: &ed25519::Public) -> bool {
    use sp_core::Pair as _;
    ed25519::Pair::verify(&ed25519::Signature::from_raw(*signature), message, signer)
}

/// The stash whose session key of `key_type` was `public` in `era`.
fn key_owner(
    ext: &mut Ext,
    era: EraIndex,
    key_type: KeyTypeId,
    public: &[u8; 32],
) -> Result<AccountId32, Error> {
    session::key_owner_in_era(ext, era, key_type, public).ok_or(Error::OffenderNotValidator)
}

/// The unsealed header, if `header` claims `slot` and carries an Aura seal by `offender`.
fn verified_unsealed(header: &Header, slot: u64, offender: &sr25519::Public) -> Option<Header> {
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
fn punishable_eras(ext: &mut Ext) -> impl Iterator<Item = EraIndex> {
    let active = active_era_index(ext);
    let oldest = active.saturating_sub(offence_window(ext));
    (oldest..=active).rev()
}

/// The era Aura slot `slot` belongs to: the newest whose first block was sealed before
/// `slot` (that block itself was the previous era's). `OffenceTooOld` when that era is
/// outside the window. An active era whose start was never recorded (state set up by
/// hand, or from before the records) is taken to hold every slot.
fn slot_era(ext: &mut Ext, slot: u64) -> Result<EraIndex, Error> {
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
fn vote_era(ext: &mut Ext, set_id: u64, target: BlockNumber) -> Result<EraIndex, Error> {
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
fn offender_exposed(ext: &mut Ext, era: EraIndex, offender: &AccountId32) -> Result<(), Error> {
    if ErasStakers::contains_key(ext, &era, offender) {
        Ok(())
    } else {
        Err(Error::OffenderNotValidator)
    }
}

/// Checks a proof without writing; returns the era whose exposure is slashed and the
/// offending stash.
fn check_equivocation(
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

fn report_equivocation(ext: &mut Ext, proof: &EquivocationProof) -> DispatchResult {
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
fn check_vote_equivocation(
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

fn report_vote_equivocation(ext: &mut Ext, proof: &VoteEquivocationProof) -> DispatchResult {
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
fn take_shares(
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
fn count_offence(ext: &mut Ext, active: EraIndex, who: &AccountId32) {
    let offences = ErasOffences::get(ext, &active, who).unwrap_or(0);
    ErasOffences::insert(ext, &active, who, &offences.saturating_add(1));
}

/// What every proven offence costs `offender`: reputation, a slash of its exposure in
/// `exposure_era` (once per era), disabling, and its intents.
fn punish_offence(ext: &mut Ext, offender: &AccountId32, exposure_era: EraIndex) {
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
fn check_heartbeat(
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

fn receive_heartbeat(ext: &mut Ext, heartbeat: &Heartbeat, signature: &[u8; 64]) -> DispatchResult {
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

fn apply_slash(ext: &mut Ext, slash: &UnappliedSlash) {
    slash_staker(ext, &slash.validator, slash.own);
    for (who, amount) in &slash.others {
        slash_staker(ext, who, *amount);
    }
}

/// Burns up to `amount` of `who`'s bond: from the active part first, then from the
/// unlocking chunks (oldest first). The lock is lowered before the balance is burned, so
/// the staker's free balance always covers its remaining bond. Returns what was burned.
fn slash_staker(ext: &mut Ext, who: &AccountId32, amount: Balance) -> Balance {
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

fn apply_slashes(ext: &mut Ext, era: EraIndex) {
    let Some(slashes) = UnappliedSlashes::get(ext, &era) else {
        return;
    };
    UnappliedSlashes::remove(ext, &era);
    for slash in &slashes {
        apply_slash(ext, slash);
    }
}

// ---------------------------------------------------------------------------------------
// Sessions, eras, rewards, reputation and election.
// ---------------------------------------------------------------------------------------

impl arceon_support::Hooks for Pallet {
    /// Starts a new era when the active one has lasted `EraLength` blocks (or one was
    /// forced), else a new session at every session boundary.
    fn on_initialize(ext: &mut Ext, n: BlockNumber) -> Weight {
        let active = ActiveEra::get_or_default(ext);
        let era_length = EraLength::get_or_default(ext).max(1);
        let forced = ForceNewEra::get_or_default(ext);
        if n > active.start && (forced || n >= active.start.saturating_add(era_length)) {
            let intents = CounterForValidators::get_or_default(ext);
            let nominators = CounterForNominators::get_or_default(ext);
            let set = u32::try_from(active_validators(ext).len()).unwrap_or(u32::MAX);
            new_era(ext, n);
            return weights::new_era(intents, nominators, set);
        }
        let elapsed = n.saturating_sub(active.start);
        let length = session_length(ext);
        let sessions = SessionsPerEra::get_or_default(ext).max(1);
        if elapsed > 0 && elapsed.is_multiple_of(length) && elapsed / length < sessions {
            new_session(ext);
            return weights::NEW_SESSION;
        }
        weights::ON_INITIALIZE
    }
}

fn new_session(ext: &mut Ext) {
    let ended = current_session(ext);
    let session_index = ended.saturating_add(1);
    CurrentSession::put(ext, &session_index);
    // Heartbeats are only accepted for the current session: the old ones are spent.
    ReceivedHeartbeats::clear_prefix(ext, &ended);
    deposit_event(ext, &Event::NewSession { session_index });
}

/// Ends the active era at block `n` and starts the next: pays it, rates its validators,
/// applies the slashes due, elects the next set and records its exposures.
fn new_era(ext: &mut Ext, n: BlockNumber) {
    let active = ActiveEra::get_or_default(ext);
    let ending = active.index;
    let next = ending.saturating_add(1);
    let previous_set = active_validators(ext);

    let (validator_payout, remainder) = pay_era(ext, ending);
    update_reputation(ext, ending, &previous_set, n, active.start);
    // Slashes first, so the new exposures show what is really left at stake.
    apply_slashes(ext, next);

    let mut elected = elect(ext);
    if elected.is_empty() {
        deposit_event(ext, &Event::StakingElectionFailed);
        elected = keep_previous(ext, ending, &previous_set);
    } else {
        deposit_event(ext, &Event::StakersElected);
    }
    let validators: Vec<AccountId32> = elected.iter().map(|e| e.who.clone()).collect();
    for entry in &elected {
        ErasStakers::insert(ext, &next, &entry.who, &entry.exposure);
        ErasValidatorPrefs::insert(ext, &next, &entry.who, &entry.prefs);
    }
    ActiveValidators::put(ext, &validators);
    DisabledValidators::kill(ext);

    CurrentEra::put(ext, &next);
    ActiveEra::put(
        ext,
        &ActiveEraInfo {
            index: next,
            start: n,
        },
    );
    new_session(ext);
    session::rotate(ext, next);
    let first_session = current_session(ext);
    EraStartSession::put(ext, &first_session);
    ForceNewEra::kill(ext);
    CommitteeDirty::put(ext, &true);
    prune_history(ext, next);

    deposit_event(
        ext,
        &Event::EraPaid {
            era_index: ending,
            validator_payout,
            remainder,
        },
    );
    deposit_event(
        ext,
        &Event::NewEra {
            era_index: next,
            validators,
        },
    );
}

/// Drops per-era records older than [`HISTORY_DEPTH`] eras (each holds at most a few
/// hundred entries: the active set and the offenders).
fn prune_history(ext: &mut Ext, next: EraIndex) {
    let Some(old) = next.checked_sub(HISTORY_DEPTH) else {
        return;
    };
    ErasStart::remove(ext, &old);
    ErasStakers::clear_prefix(ext, &old);
    ErasValidatorPrefs::clear_prefix(ext, &old);
    ErasRewardPoints::remove(ext, &old);
    ErasValidatorReward::remove(ext, &old);
    SlashedInEra::clear_prefix(ext, &old);
    ErasHeartbeats::clear_prefix(ext, &old);
    AuthoredBlocks::clear_prefix(ext, &old);
    ErasOffences::clear_prefix(ext, &old);
    ErasSessionKeys::clear_prefix(ext, &old);
    ErasKeyOwner::clear_prefix(ext, &old);
}

/// Mints the era's payout by reward points: each validator's share is split into its
/// commission, then pro rata to its own stake and its nominators' by exposure. Returns
/// (minted, not minted).
fn pay_era(ext: &mut Ext, era: EraIndex) -> (Balance, Balance) {
    let payout = EraPayout::get_or_default(ext);
    let points = ErasRewardPoints::get(ext, &era).unwrap_or_default();
    let mut minted: Balance = 0;
    if payout > 0 && points.total > 0 {
        let mut pay = |ext: &mut Ext, who: &AccountId32, amount: Balance| {
            if amount > 0 && balances::deposit_creating(ext, who, amount) {
                minted = minted.saturating_add(amount);
            }
        };
        for (validator, validator_points) in &points.individual {
            let share = multiply_by_rational(
                payout,
                u128::from(*validator_points),
                u128::from(points.total),
            );
            let commission = ErasValidatorPrefs::get(ext, &era, validator)
                .map_or(Perbill::zero(), |prefs| prefs.commission);
            let commission_part = commission.mul_floor(share);
            let rest = share.saturating_sub(commission_part);
            match ErasStakers::get(ext, &era, validator) {
                Some(exposure) if exposure.total > 0 => {
                    let own_part = multiply_by_rational(rest, exposure.own, exposure.total);
                    pay(ext, validator, commission_part.saturating_add(own_part));
                    for backer in &exposure.others {
                        let part = multiply_by_rational(rest, backer.value, exposure.total);
                        pay(ext, &backer.who, part);
                    }
                }
                _ => pay(ext, validator, share),
            }
        }
    }
    ErasValidatorReward::insert(ext, &era, &minted);
    (minted, payout.saturating_sub(minted))
}

/// Rates the ending era's validators from heartbeats and authored blocks, and penalises
/// every offender reported in it.
fn update_reputation(
    ext: &mut Ext,
    era: EraIndex,
    validators: &[AccountId32],
    n: BlockNumber,
    start: BlockNumber,
) {
    let sessions = current_session(ext)
        .saturating_sub(EraStartSession::get_or_default(ext))
        .saturating_add(1);
    // Block 0 is genesis, not authored: the genesis era's blocks start at 1.
    let blocks = n.saturating_sub(start.max(1));
    let set_size = validators.len() as u128;
    let penalty = |offences: u32| INVALID_PROPOSAL_PENALTY.saturating_mul_int(offences);
    for who in validators {
        let mut rep = reputation(ext, who);
        let heartbeats = ErasHeartbeats::get(ext, &era, who).unwrap_or(0);
        rep.uptime_score = Perbill::from_rational(u128::from(heartbeats), u128::from(sessions));
        let authored = AuthoredBlocks::get(ext, &era, who).unwrap_or(0);
        // authored / (blocks / set size), without rounding the fair share.
        rep.consensus_participation = Perbill::from_rational(
            u128::from(authored).saturating_mul(set_size),
            u128::from(blocks),
        );
        let blended = (2 * u64::from(rep.trust_score.deconstruct())
            + u64::from(rep.uptime_score.deconstruct())
            + u64::from(rep.consensus_participation.deconstruct()))
            / 4;
        let offences = ErasOffences::get(ext, &era, who).unwrap_or(0);
        rep.trust_score = Perbill::from_parts(u32::try_from(blended).unwrap_or(u32::MAX))
            .saturating_sub(penalty(offences));
        Reputation::insert(ext, who, &rep);
    }
    // Offenders that were not in the ending set (previous-era offences).
    for (who, offences) in ErasOffences::iter_prefix(ext, &era, None, usize::MAX) {
        if validators.contains(&who) {
            continue;
        }
        let mut rep = reputation(ext, &who);
        rep.trust_score = rep.trust_score.saturating_sub(penalty(offences));
        Reputation::insert(ext, &who, &rep);
    }
}

/// One elected validator.
struct Elected {
    who: AccountId32,
    exposure: Exposure,
    prefs: ValidatorPrefs,
}

/// Picks the next active set: validators with intent, not disabled, with an active bond
/// of at least `MinValidatorBond`, ranked by backing (own bond plus nominations, each
/// nominator's active bond split equally among its eligible targets, at most
/// [`MAX_NOMINATORS_REWARDED_PER_VALIDATOR`] largest backers counted), ties broken by
/// account bytes; the top `ValidatorCount`.
fn elect(ext: &mut Ext) -> Vec<Elected> {
    let min_validator = MinValidatorBond::get_or_default(ext);
    let min_nominator = MinNominatorBond::get_or_default(ext);
    let disabled = DisabledValidators::get_or_default(ext);

    let mut candidates: BTreeMap<AccountId32, (ValidatorPrefs, Balance)> = BTreeMap::new();
    for (who, prefs) in Validators::iter(ext) {
        if disabled.contains(&who) {
            continue;
        }
        let active = Ledger::get(ext, &who).map_or(0, |ledger| ledger.active);
        if active == 0 || active < min_validator {
            continue;
        }
        candidates.insert(who, (prefs, active));
    }

    let mut backers: BTreeMap<AccountId32, Vec<IndividualExposure>> = BTreeMap::new();
    for (nominator, nominations) in Nominators::iter(ext) {
        if candidates.contains_key(&nominator) {
            continue;
        }
        let active = Ledger::get(ext, &nominator).map_or(0, |ledger| ledger.active);
        if active == 0 || active < min_nominator {
            continue;
        }
        let targets: BTreeSet<&AccountId32> = nominations
            .targets
            .iter()
            .filter(|target| candidates.contains_key(*target))
            .collect();
        let count = targets.len() as u128;
        if count == 0 {
            continue;
        }
        let (share, rest) = (active / count, active % count);
        for (i, target) in targets.into_iter().enumerate() {
            let value = if i == 0 { share + rest } else { share };
            if value > 0 {
                backers
                    .entry(target.clone())
                    .or_default()
                    .push(IndividualExposure {
                        who: nominator.clone(),
                        value,
                    });
            }
        }
    }

    let mut ranked: Vec<Elected> = candidates
        .into_iter()
        .map(|(who, (prefs, own))| {
            let mut others = backers.remove(&who).unwrap_or_default();
            others.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.who.cmp(&b.who)));
            others.truncate(MAX_NOMINATORS_REWARDED_PER_VALIDATOR);
            let total = others
                .iter()
                .fold(own, |sum, backer| sum.saturating_add(backer.value));
            Elected {
                who,
                exposure: Exposure { total, own, others },
                prefs,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.exposure
            .total
            .cmp(&a.exposure.total)
            .then_with(|| a.who.cmp(&b.who))
    });
    let count = ValidatorCount::get_or_default(ext).min(MAX_VALIDATOR_COUNT) as usize;
    ranked.truncate(count);
    ranked
}

/// The previous set, when nobody is electable: the chain must keep authors. Members that
/// still have a ledger are kept with their own bond as exposure; if none has, all stay.
fn keep_previous(ext: &mut Ext, ending: EraIndex, previous: &[AccountId32]) -> Vec<Elected> {
    let mut kept = Vec::new();
    for who in previous {
        if let Some(ledger) = Ledger::get(ext, who) {
            let prefs = match Validators::get(ext, who) {
                Some(prefs) => prefs,
                None => ErasValidatorPrefs::get(ext, &ending, who).unwrap_or_default(),
            };
            kept.push(Elected {
                who: who.clone(),
                exposure: Exposure {
                    total: ledger.active,
                    own: ledger.active,
                    others: Vec::new(),
                },
                prefs,
            });
        }
    }
    if kept.is_empty() {
        kept = previous
            .iter()
            .map(|who| Elected {
                who: who.clone(),
                exposure: Exposure::default(),
                prefs: ValidatorPrefs::default(),
            })
            .collect();
    }
    kept
}

// ---------------------------------------------------------------------------------------
// Genesis.
// ---------------------------------------------------------------------------------------

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
