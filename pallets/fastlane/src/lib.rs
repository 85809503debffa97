//! The fastlane pallet (index 45): certified fast-lane batches enter the chain here.
//!
//! Each area's committee (`Areas.Authorities`) orders its players' actions off chain and
//! signs batches of them (see [`types`] for every byte). A block author includes
//! certified batches as unsigned `submit_batch` extrinsics, in lane order; this pallet
//! checks each one against the chain before executing anything:
//! - the header: the area's committee version, the next height, the previous header's
//!   hash, and a lane time after the previous batch's and within
//!   [`MAX_BATCH_AGE_MS`] before / [`MAX_DRIFT_MS`] after the including block's slot;
//! - the certificate: [`types::quorum`] distinct members of that committee, each signing
//!   the header with its Aura session key;
//! - the body: count and entries root, and every player signature (batched, through the
//!   node's verified-signature cache, [`sigcache`]).
//!
//! Then it executes the actions in order with the players pallet's own rules, paced by
//! lane time instead of blocks, and requires every result to equal the outcome the
//! committee certified. A batch that fails any of this is not valid in a block: a
//! receipt is a promise that the including block produces exactly its outcome.
//!
//! A player opts into the lanes once with `join`; from then on its world actions
//! (moves, gathers, crafts, structure actions) are refused as extrinsics
//! (`Players.InFastLane`), so nothing on chain can contradict a receipt it holds.
//! Structures are built through the lanes on ground only the area's lane can change (see
//! the structures pallet: in an area with a committee, `place` extrinsics are refused and
//! a lane places only where its claim touches grid cells wholly inside the area).
//! Lane-time rules: a player acts at most once per [`MIN_ACTION_INTERVAL_MS`] of lane
//! time, and walks at most `MAX_SPEED_PER_BLOCK` per second of lane time (up to
//! [`MAX_IDLE_MS`] of accumulated time), so it can move several times a second.
//!
//! Slashable receipts: two certified batches at one `(area, version, height)` are
//! complete evidence ([`EquivocationProof`]). Anyone submits them as the unsigned
//! `report_equivocation` (nodes do it as soon as they see both); every member that
//! signed both is punished through staking (a slash of its exposure, disabled, its
//! committee seats taken away), and then pays [`RECEIPT_COMPENSATION`] for each contested
//! receipt out of what is left of its bond (shared equally among the offenders), which
//! goes to the receipt's player. Evidence is taken while the committee version it names
//! is in force (the committee's keys are needed to check it) and once per lane position.
//!
//! Broken receipts: a certified batch must be in a block before its lane time is
//! [`MAX_BATCH_AGE_MS`] old (after that no block can take it). A player whose receipt's
//! batch missed that window while the chain's lane stayed below its height, or whose
//! receipt's height the chain filled with another batch (shown by the chain's lane
//! headers from that height to the lane's head), challenges it with the unsigned
//! `challenge_receipt`. The smaller penalty: every member that signed the receipt counts
//! an offence (its trust falls at the era's end) and together they pay the player
//! [`RECEIPT_COMPENSATION`] from their bonds; no slash of their exposure, no disabling
//! (a batch can miss its blocks without anyone lying). Once per receipted action.
//!
//! Committee handover: when an area's committee changes (a new version, at an era
//! change or when a member chills or is slashed), batches the old committee certified
//! still enter blocks, checked against the old committee's keys (`Signers`), until the
//! first batch of the new version is included: the old lane ends at its last included
//! batch and the new committee's lane continues from it. After that, batches of the old
//! version are refused (`WrongVersion`).
//!
//! Lane ends before a split or merge: on a chain where players joined the lanes
//! ([`InUse`]), the runtime schedules reshapes (`Areas.Scheduled`). The committee of
//! each area a reshape ends seals its lane (see [`seal`]) and anyone submits the seal as
//! the unsigned `end_lane`: checked against the committee in force, at or above the
//! lane's last included batch, it is kept in [`Ends`]; batches beyond it are refused
//! (`LaneEnded`). The runtime makes the reshape once every such lane's head reached its
//! end ([`lane_closed`]), and [`forget_end`] clears what the old lane left.
//!
//! Invariants: `Lanes[area]` is the last included batch of the area's lane; every
//! joined player has a `PlayerLanes` entry whose nonce counts its included lane actions.

pub mod genesis;
pub mod seal;
pub mod sigcache;
pub mod types;

use std::collections::BTreeMap;

use arceon_pallet_areas::{self as areas, AreaId, Position};
use arceon_pallet_balances as balances;
use arceon_pallet_players as players;
use arceon_pallet_staking as staking;
use arceon_pallet_structures as structures;
use arceon_pallet_system as system;
use arceon_primitives::{AccountId32, Balance, ARCM, H256};
use arceon_support::{
    ensure_signed, storage, Blake2_128Concat, DispatchError, DispatchResult, Ext, Origin,
    Twox64Concat, Weight,
};
use codec::{Decode, Encode};

pub use seal::Seal;
pub use types::{
    entry_hash, merkle_proof, merkle_root, quorum, sign_round, verify_merkle, ActionKind, Batch,
    BatchHeader, Certificate, CertifiedBatch, EquivocationProof, LaneAction, MemberSignature,
    Outcome, Receipt, ReceiptChallenge, SignedLaneAction,
};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 45;
/// The least lane time between two actions of one player.
pub const MIN_ACTION_INTERVAL_MS: u64 = 50;
/// The most lane time a move may count as elapsed since the player's previous action.
pub const MAX_IDLE_MS: u64 = 10_000;
/// How far past the end of the including block's slot a batch time may lie.
pub const MAX_DRIFT_MS: u64 = 2_000;
/// How far before the start of the including block's slot a batch time may lie.
pub const MAX_BATCH_AGE_MS: u64 = 120_000;

/// What the double signers pay the player of each contested receipt of an equivocation
/// (see the module doc).
pub const RECEIPT_COMPENSATION: Balance = ARCM;

/// The last included batch of an area's lane.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct LaneHead {
    /// Its height (0: none yet).
    pub height: u64,
    /// Its header hash (zero: none yet).
    pub hash: H256,
    /// Its lane time.
    pub time_ms: u64,
}

/// A joined player's lane record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct PlayerLane {
    /// The nonce its next lane action must carry.
    pub nonce: u64,
    /// The lane time of its last included action (0: none yet).
    pub last_ms: u64,
}

/// The including block's slot, for batch-time checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct LaneClock {
    /// Start of the block's slot, unix ms.
    pub slot_start_ms: u64,
    /// Slot length, ms.
    pub slot_ms: u64,
}

storage! { pallet "FastLane";
    /// Each area lane's last included batch.
    pub Lanes: map Twox64Concat, AreaId => LaneHead;
    /// The committee version of each lane's last included batch, with the signing keys
    /// its certificates were checked against (written when the version changes).
    pub Signers: map Twox64Concat, AreaId => (u64, Vec<[u8; 32]>);
    /// Each joined player's lane nonce and last lane time.
    pub PlayerLanes: map Blake2_128Concat, AccountId32 => PlayerLane;
    /// The current block's slot (set at block initialisation).
    pub Clock: value LaneClock;
    /// Lane positions `(area, version, height)` whose equivocation was punished, with
    /// the block that took the evidence.
    pub Equivocations: map Twox64Concat, (AreaId, u64, u64) => arceon_primitives::BlockNumber;
    /// Receipted actions `(area, height, action hash)` whose broken receipt was paid,
    /// with the block that took the challenge.
    pub BrokenReceipts: map Twox64Concat, (AreaId, u64, H256) => arceon_primitives::BlockNumber;
    /// The proven last batch of each lane that ends before its area is split or merged
    /// (`end_lane`); batches beyond it are refused.
    pub Ends: map Twox64Concat, AreaId => LaneHead;
    /// Whether any player has joined the lanes: from then on splits and merges wait for
    /// the lanes of the areas they end.
    pub InUse: value bool;
}

arceon_support::pallet_error! {
    /// Fast-lane errors: the typed rejections players and block importers see.
    pub enum Error for pallet 45 {
        /// The player has not joined the fast lanes (`FastLane.join`).
        NotJoined,
        /// The player has already joined.
        AlreadyJoined,
        /// The player's signature does not verify.
        BadSignature,
        /// The action names another chain.
        WrongGenesis,
        /// The action names another area than the lane's.
        WrongArea,
        /// The action or batch names another committee version than the area's.
        WrongVersion,
        /// The lane nonce was already used.
        StaleNonce,
        /// The lane nonce skips ahead.
        FutureNonce,
        /// The player stands in another area.
        NotInArea,
        /// The player acted less than [`MIN_ACTION_INTERVAL_MS`] ago.
        TooSoon,
        /// The area has no committee.
        NoCommittee,
        /// A certificate signature is not a member's, or members repeat or are unordered.
        BadCertificate,
        /// Fewer member signatures than the quorum.
        NotEnoughSignatures,
        /// The batch does not follow the lane's last included batch.
        BrokenChain,
        /// The batch time is not after the previous batch's or outside the slot window.
        BadTime,
        /// The header's count or entries root does not match the actions and outcomes.
        BadBody,
        /// An action's result differs from the certified outcome.
        OutcomeMismatch,
        /// The batch holds no action or more than [`types::MAX_BATCH_ACTIONS`].
        BatchSize,
        /// The evidence does not show two certified batches at one lane position.
        InvalidEquivocationProof,
        /// This lane position's equivocation was punished already.
        DuplicateEquivocationReport,
        /// The evidence names a committee version no longer in force.
        StaleEvidence,
        /// The receipt does not prove its action (entry, hash or certificate).
        InvalidReceipt,
        /// The receipt's batch may still be included, or the chain included it.
        ReceiptNotBroken,
        /// This receipt's challenge was paid already.
        DuplicateChallenge,
        /// No split or merge waits for this area's lane.
        NotEnding,
        /// The lane has ended (`end_lane`): nothing follows its last batch.
        LaneEnded,
        /// The seal does not prove the lane's end: too few valid member reports, or a
        /// last batch below the chain's or short of what the reports carry.
        BadSeal,
    }
}

/// Fast-lane events.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// A player joined the fast lanes.
    #[codec(index = 0)]
    Joined {
        /// The player.
        who: AccountId32,
    },
    /// A certified batch was executed.
    #[codec(index = 1)]
    BatchIncluded {
        /// The area.
        area: AreaId,
        /// Its height in the lane.
        height: u64,
        /// Its header hash.
        hash: H256,
        /// Its actions.
        count: u32,
    },
    /// A committee certified two batches at one lane position; the members that signed
    /// both were punished.
    #[codec(index = 2)]
    EquivocationReported {
        /// The area.
        area: AreaId,
        /// The committee version.
        version: u64,
        /// The lane height.
        height: u64,
        /// The members that signed both batches.
        offenders: Vec<AccountId32>,
        /// The contested receipts.
        contested: u32,
    },
    /// A player was paid for a contested or broken receipt.
    #[codec(index = 3)]
    Compensated {
        /// The player.
        who: AccountId32,
        /// What it received.
        amount: Balance,
    },
    /// An area's lane ended before its split or merge.
    #[codec(index = 5)]
    LaneEnded {
        /// The area.
        area: AreaId,
        /// The committee version that sealed it.
        version: u64,
        /// Its last batch's height.
        height: u64,
    },
    /// A receipt the chain did not honour was challenged; its signers were fined.
    #[codec(index = 4)]
    ReceiptBroken {
        /// The area.
        area: AreaId,
        /// The receipt's lane height.
        height: u64,
        /// The receipted action.
        action: H256,
        /// The members that signed the receipt.
        signers: Vec<AccountId32>,
    },
}

/// Fast-lane calls.
// The batch is held inline, as clients and block authors build it: a call lives only
// while its extrinsic is checked and applied.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Act through the fast lanes from now on (signed, index 0).
    #[codec(index = 0)]
    Join,
    /// Execute a certified batch (unsigned: the certificate is the proof, index 1).
    #[codec(index = 1)]
    SubmitBatch {
        /// The batch and its certificate.
        batch: CertifiedBatch,
    },
    /// Prove that a committee certified two batches at one lane position (unsigned: the
    /// certificates are the proof, index 2).
    #[codec(index = 2)]
    ReportEquivocation {
        /// Both certified batches.
        proof: Box<EquivocationProof>,
    },
    /// Claim that the chain broke a receipt (unsigned: the receipt and the chain are the
    /// proof, index 3).
    #[codec(index = 3)]
    ChallengeReceipt {
        /// The receipt, its action and the chain's headers.
        challenge: Box<ReceiptChallenge>,
    },
    /// End an area's lane before a scheduled split or merge (unsigned: the committee's
    /// seal is the proof, index 4).
    #[codec(index = 4)]
    EndLane {
        /// The seal.
        seal: Box<Seal>,
    },
}

/// Weights of the calls.
pub mod weights {
    use arceon_support::Weight;

    /// `join`: the player, two writes.
    pub const JOIN: Weight = Weight::from_parts(30_000_000, 2_000);
    /// `submit_batch` without actions: header, committee, session keys, certificate.
    pub const BATCH_BASE: Weight = Weight::from_parts(200_000_000, 8_000);
    /// Per action: its signature (batched) and the heaviest player rule (a cross-area
    /// move).
    pub const PER_ACTION: Weight = Weight::from_parts(160_000_000, 20_000);
    /// Per structure action on top of [`PER_ACTION`]: the structures pallet's weight of
    /// a placement next to full cells (an upgrade or demolition weighs less).
    pub const PER_STRUCTURE_ACTION: Weight = arceon_pallet_structures::weights::PLACE;

    /// `report_equivocation` without actions: two certificates, the committee, the
    /// offenders' punishment.
    pub const EQUIVOCATION_BASE: Weight = Weight::from_parts(600_000_000, 40_000);
    /// Per action in the evidence: its entry hash and, when contested, a payment.
    pub const PER_REPORTED_ACTION: Weight = Weight::from_parts(40_000_000, 3_000);
    /// `challenge_receipt` without headers: a certificate, the action's signature, the
    /// signers' fines and the payment.
    pub const CHALLENGE_BASE: Weight = Weight::from_parts(400_000_000, 20_000);
    /// Per included header of a challenge: its hash.
    pub const PER_CHALLENGE_HEADER: Weight = Weight::from_parts(2_000_000, 200);
    /// `end_lane` without report entries: the committee, one signature per report.
    pub const END_LANE_BASE: Weight = Weight::from_parts(400_000_000, 20_000);
    /// Per report entry of a seal: its share of the digest and of `carried`.
    pub const PER_SEAL_ENTRY: Weight = Weight::from_parts(1_000_000, 100);

    /// `base` plus `count` times `each`.
    pub fn scaled(base: Weight, each: Weight, count: usize) -> Weight {
        let count = count as u64;
        Weight::from_parts(
            base.ref_time
                .saturating_add(each.ref_time.saturating_mul(count)),
            base.proof_size
                .saturating_add(each.proof_size.saturating_mul(count)),
        )
    }

    /// The weight one action adds to a batch.
    pub fn action(kind: &crate::ActionKind) -> Weight {
        use crate::ActionKind;
        match kind {
            ActionKind::Move { .. } | ActionKind::Gather { .. } | ActionKind::Craft { .. } => {
                PER_ACTION
            }
            ActionKind::Place { .. } | ActionKind::Upgrade { .. } | ActionKind::Demolish { .. } => {
                Weight::from_parts(
                    PER_ACTION
                        .ref_time
                        .saturating_add(PER_STRUCTURE_ACTION.ref_time),
                    PER_ACTION
                        .proof_size
                        .saturating_add(PER_STRUCTURE_ACTION.proof_size),
                )
            }
        }
    }
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::Join => weights::JOIN,
            Call::SubmitBatch { batch } => {
                batch
                    .batch
                    .actions
                    .iter()
                    .fold(weights::BATCH_BASE, |total, signed| {
                        let action = weights::action(&signed.action.kind);
                        Weight::from_parts(
                            total.ref_time.saturating_add(action.ref_time),
                            total.proof_size.saturating_add(action.proof_size),
                        )
                    })
            }
            Call::ChallengeReceipt { challenge } => weights::scaled(
                weights::CHALLENGE_BASE,
                weights::PER_CHALLENGE_HEADER,
                challenge.included.len(),
            ),
            Call::EndLane { seal } => weights::scaled(
                weights::END_LANE_BASE,
                weights::PER_SEAL_ENTRY,
                seal.reports.iter().map(|report| report.entries.len()).sum(),
            ),
            Call::ReportEquivocation { proof } => weights::scaled(
                weights::EQUIVOCATION_BASE,
                weights::PER_REPORTED_ACTION,
                proof.first.batch.actions.len() + proof.second.batch.actions.len(),
            ),
        }
    }

    /// Executes the call. `SubmitBatch` must succeed to be in a block at all (see
    /// [`apply_batch`]).
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        match self {
            Call::Join => {
                let who = ensure_signed(origin)?;
                join(ext, &who)
            }
            Call::SubmitBatch { batch } => {
                if !matches!(origin, Origin::None) {
                    return Err(DispatchError::BadOrigin);
                }
                apply_batch(ext, &batch)
            }
            Call::ReportEquivocation { proof } => {
                if !matches!(origin, Origin::None) {
                    return Err(DispatchError::BadOrigin);
                }
                report_equivocation(ext, &proof)
            }
            Call::ChallengeReceipt { challenge } => {
                if !matches!(origin, Origin::None) {
                    return Err(DispatchError::BadOrigin);
                }
                challenge_receipt(ext, &challenge)
            }
            Call::EndLane { seal } => {
                if !matches!(origin, Origin::None) {
                    return Err(DispatchError::BadOrigin);
                }
                end_lane(ext, &seal)
            }
        }
    }
}

/// Deposits a fastlane event.
pub fn deposit_event(ext: &mut Ext, event: &Event) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The chain's genesis hash, as the state records it.
pub fn genesis_hash(ext: &mut Ext) -> H256 {
    system::BlockHash::get(ext, &0).unwrap_or_default()
}

/// Records the including block's slot (the runtime calls it at block initialisation).
pub fn note_clock(ext: &mut Ext, slot: u64, slot_ms: u64) {
    Clock::put(
        ext,
        &LaneClock {
            slot_start_ms: slot.saturating_mul(slot_ms),
            slot_ms,
        },
    );
}

/// `who` acts through the lanes from now on.
pub fn join(ext: &mut Ext, who: &AccountId32) -> DispatchResult {
    players::registered(ext, who)?;
    if PlayerLanes::contains_key(ext, who) {
        return Err(Error::AlreadyJoined.into());
    }
    // The lane clock starts at the joining block's slot: a player cannot bank idle time
    // from before it joined (its on-chain moves already used that time).
    let joined_at = Clock::get_or_default(ext).slot_start_ms;
    PlayerLanes::insert(
        ext,
        who,
        &PlayerLane {
            nonce: 0,
            last_ms: joined_at,
        },
    );
    players::bind_to_lanes(ext, who);
    InUse::put(ext, &true);
    deposit_event(ext, &Event::Joined { who: who.clone() });
    Ok(())
}

/// The lane record of a joined player.
pub fn player_lane(ext: &mut Ext, who: &AccountId32) -> Option<PlayerLane> {
    PlayerLanes::get(ext, who)
}

/// The last included batch of `area`'s lane.
pub fn lane_head(ext: &mut Ext, area: AreaId) -> LaneHead {
    Lanes::get(ext, &area).unwrap_or_default()
}

/// The signing keys of `area`'s committee, in member order (primary first), with its
/// version: each member's Aura session key of the active era (or the account itself on
/// a chain without session keys).
pub fn committee_keys(ext: &mut Ext, area: AreaId) -> Result<(u64, Vec<[u8; 32]>), Error> {
    CommitteeKeys::new(ext).of(ext, area)
}

/// Looks up the signing keys of many committees in one state, reading the active era
/// and each member's session key once (validators sit on many committees).
pub struct CommitteeKeys {
    era: staking::EraIndex,
    /// Whether the chain has session keys (else members sign with their accounts):
    /// read when a member has none (it decodes the whole validator list).
    sessions: Option<bool>,
    keys: BTreeMap<AccountId32, Option<[u8; 32]>>,
}

impl CommitteeKeys {
    /// A lookup in the state `ext` reads.
    pub fn new(ext: &mut Ext) -> Self {
        CommitteeKeys {
            era: staking::active_era_index(ext),
            sessions: None,
            keys: BTreeMap::new(),
        }
    }

    /// `area`'s committee version and signing keys (see [`committee_keys`]).
    pub fn of(&mut self, ext: &mut Ext, area: AreaId) -> Result<(u64, Vec<[u8; 32]>), Error> {
        let authority = areas::authority(ext, area).ok_or(Error::NoCommittee)?;
        let members = authority.members();
        if members.is_empty() {
            return Err(Error::NoCommittee);
        }
        let keys = members
            .iter()
            .map(|member| {
                let key = match self.keys.get(member) {
                    Some(key) => *key,
                    None => {
                        let key = staking::ErasSessionKeys::get(ext, &self.era, member)
                            .map(|keys| keys.aura.0);
                        self.keys.insert(member.clone(), key);
                        key
                    }
                };
                match key {
                    Some(key) => Ok(key),
                    None if !self.has_sessions(ext) => {
                        Ok(*<AccountId32 as AsRef<[u8; 32]>>::as_ref(member))
                    }
                    None => Err(Error::NoCommittee),
                }
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((authority.version, keys))
    }

    /// Whether the chain has session keys: only a chain without them (no staking) signs
    /// with the accounts.
    fn has_sessions(&mut self, ext: &mut Ext) -> bool {
        *self
            .sessions
            .get_or_insert_with(|| !staking::session::Validators::get_or_default(ext).is_empty())
    }
}

/// Checks `certificate` on `header` against `keys`: strictly increasing member
/// indices, each a valid signature of its signing round with a path from the header, at
/// least [`quorum`] of them.
pub fn verify_certificate(
    header: &BatchHeader,
    certificate: &Certificate,
    keys: &[[u8; 32]],
) -> Result<(), Error> {
    if certificate.signatures.len() > types::MAX_CERTIFICATE_SIGNATURES {
        return Err(Error::BadCertificate);
    }
    let mut previous: Option<u8> = None;
    let hash = header.hash();
    let mut items = Vec::with_capacity(certificate.signatures.len());
    for (index, signature) in &certificate.signatures {
        if previous.is_some_and(|p| p >= *index) {
            return Err(Error::BadCertificate);
        }
        previous = Some(*index);
        let key = keys.get(usize::from(*index)).ok_or(Error::BadCertificate)?;
        let message = signature.message_for(&hash).ok_or(Error::BadCertificate)?;
        items.push((message, signature.signature, *key));
    }
    if certificate.signatures.len() < quorum(keys.len()) {
        return Err(Error::NotEnoughSignatures);
    }
    if !sigcache::verify_all(&items) {
        return Err(Error::BadCertificate);
    }
    Ok(())
}

/// The signing keys that certify batches of `version` in `area`'s lane: the committee
/// in force's, or, for the version of the lane's last included batch when a newer
/// committee has not had a batch included yet, that committee's (see the module doc on
/// handover).
pub fn lane_keys(ext: &mut Ext, area: AreaId, version: u64) -> Result<Vec<[u8; 32]>, Error> {
    let current = areas::authority(ext, area).map(|authority| authority.version);
    if current == Some(version) {
        return committee_keys(ext, area).map(|(_, keys)| keys);
    }
    match Signers::get(ext, &area) {
        Some((last, keys)) if last == version => Ok(keys),
        _ if current.is_none() => Err(Error::NoCommittee),
        _ => Err(Error::WrongVersion),
    }
}

/// Checks a batch header against the chain: the area's committee version, the next
/// height after the lane's head, its hash as parent, and a lane time after the head's
/// and within the slot window.
pub fn check_header(ext: &mut Ext, header: &BatchHeader) -> Result<(), Error> {
    header_keys(ext, header).map(|_| ())
}

/// [`check_header`], returning the keys that certify the header's batches.
fn header_keys(ext: &mut Ext, header: &BatchHeader) -> Result<Vec<[u8; 32]>, Error> {
    if header.genesis != genesis_hash(ext) {
        return Err(Error::WrongGenesis);
    }
    let keys = lane_keys(ext, header.area, header.version)?;
    if Ends::get(ext, &header.area).is_some_and(|end| header.height > end.height) {
        return Err(Error::LaneEnded);
    }
    let head = lane_head(ext, header.area);
    if header.height != head.height.saturating_add(1) || header.parent != head.hash {
        return Err(Error::BrokenChain);
    }
    if header.time_ms <= head.time_ms {
        return Err(Error::BadTime);
    }
    let clock = Clock::get_or_default(ext);
    let latest = clock
        .slot_start_ms
        .saturating_add(clock.slot_ms)
        .saturating_add(MAX_DRIFT_MS);
    let earliest = clock.slot_start_ms.saturating_sub(MAX_BATCH_AGE_MS);
    if header.time_ms > latest || header.time_ms < earliest {
        return Err(Error::BadTime);
    }
    Ok(keys)
}

/// The checks of a lane action that need no execution: chain, area, version, the
/// player's lane record, nonce and pace.
pub fn check_action(
    ext: &mut Ext,
    action: &LaneAction,
    genesis: &H256,
    area: AreaId,
    version: u64,
    time_ms: u64,
) -> Result<PlayerLane, DispatchError> {
    if action.genesis != *genesis {
        return Err(Error::WrongGenesis.into());
    }
    if action.area != area {
        return Err(Error::WrongArea.into());
    }
    if action.version != version {
        return Err(Error::WrongVersion.into());
    }
    let record = PlayerLanes::get(ext, &action.player).ok_or(Error::NotJoined)?;
    if action.nonce < record.nonce {
        return Err(Error::StaleNonce.into());
    }
    if action.nonce > record.nonce {
        return Err(Error::FutureNonce.into());
    }
    let player = players::registered(ext, &action.player)?;
    if player.area != area {
        return Err(Error::NotInArea.into());
    }
    let acted = record.nonce > 0;
    if acted && time_ms < record.last_ms.saturating_add(MIN_ACTION_INTERVAL_MS) {
        return Err(Error::TooSoon.into());
    }
    Ok(record)
}

/// How far a player may walk (milli-units) in `elapsed_ms` of lane time.
pub fn reach(elapsed_ms: u64) -> u128 {
    let elapsed = u128::from(elapsed_ms.min(MAX_IDLE_MS));
    u128::from(players::MAX_SPEED_PER_BLOCK.unsigned_abs()).saturating_mul(elapsed) / 1_000
}

/// Executes one lane action at lane time `time_ms` (signature already verified): the
/// checks of [`check_action`], then the players pallet's rules. On success the player's
/// nonce and last lane time advance. Runs in its own transactional layer: an error
/// writes nothing.
pub fn apply_action(
    ext: &mut Ext,
    action: &LaneAction,
    genesis: &H256,
    area: AreaId,
    version: u64,
    time_ms: u64,
) -> Result<Outcome, DispatchError> {
    ext.transactional(|ext| {
        let record = check_action(ext, action, genesis, area, version, time_ms)?;
        let who = &action.player;
        let outcome = match action.kind {
            ActionKind::Move { x, y } => {
                let elapsed = if record.last_ms == 0 {
                    MAX_IDLE_MS
                } else {
                    time_ms.saturating_sub(record.last_ms)
                };
                let position = Position::new(x, y);
                let (from, to) = players::lane_move(ext, who, position, reach(elapsed))?;
                if from == to {
                    Outcome::Moved { area: to, position }
                } else {
                    Outcome::Crossed { from, to, position }
                }
            }
            ActionKind::Gather { resource } => {
                let amount = players::lane_gather(ext, who, resource)?;
                Outcome::Gathered { resource, amount }
            }
            ActionKind::Craft { recipe } => {
                let (output, amount) = players::lane_craft(ext, who, recipe)?;
                Outcome::Crafted {
                    recipe,
                    output,
                    amount,
                }
            }
            ActionKind::Place { kind, x, y } => {
                let position = Position::new(x, y);
                structures::lane_place(ext, who, area, position, kind)?;
                Outcome::Placed { kind, position }
            }
            ActionKind::Upgrade { x, y } => {
                let upgraded = structures::lane_upgrade(ext, who, area, &Position::new(x, y))?;
                Outcome::Upgraded {
                    kind: upgraded.kind,
                    position: upgraded.position,
                    level: upgraded.level,
                }
            }
            ActionKind::Demolish { x, y } => {
                let removed = structures::lane_demolish(ext, who, area, &Position::new(x, y))?;
                Outcome::Demolished {
                    kind: removed.kind,
                    position: removed.position,
                }
            }
        };
        PlayerLanes::insert(
            ext,
            who,
            &PlayerLane {
                nonce: record.nonce.saturating_add(1),
                last_ms: time_ms,
            },
        );
        Ok(outcome)
    })
}

/// [`apply_action`] for an action of the batch with `header`.
fn apply_in_batch(
    ext: &mut Ext,
    header: &BatchHeader,
    action: &LaneAction,
) -> Result<Outcome, DispatchError> {
    apply_action(
        ext,
        action,
        &header.genesis,
        header.area,
        header.version,
        header.time_ms,
    )
}

/// Verifies every player signature of `actions` (batched, through the cache).
pub fn verify_actions<'a>(actions: impl IntoIterator<Item = &'a SignedLaneAction>) -> bool {
    if sigcache::player_signatures_assumed() {
        return true;
    }
    let items: Vec<(Vec<u8>, [u8; 64], [u8; 32])> = actions
        .into_iter()
        .map(|signed| {
            (
                signed.action.signing_message(),
                signed.signature,
                *<AccountId32 as AsRef<[u8; 32]>>::as_ref(&signed.action.player),
            )
        })
        .collect();
    sigcache::verify_all(&items)
}

/// The checks of a certified batch that need no execution: size, body, header against
/// the chain, certificate against the committee. Writes nothing.
pub fn check_batch(ext: &mut Ext, certified: &CertifiedBatch) -> Result<(), Error> {
    check_batch_keys(ext, certified).map(|_| ())
}

/// [`check_batch`], returning the keys that certified the batch (for
/// [`apply_checked_batch`]).
pub fn check_batch_keys(ext: &mut Ext, certified: &CertifiedBatch) -> Result<Vec<[u8; 32]>, Error> {
    let batch = &certified.batch;
    if batch.actions.is_empty() || batch.actions.len() > types::MAX_BATCH_ACTIONS {
        return Err(Error::BatchSize);
    }
    if !batch.body_matches() {
        return Err(Error::BadBody);
    }
    let keys = header_keys(ext, &batch.header)?;
    verify_certificate(&batch.header, &certified.certificate, &keys)?;
    Ok(keys)
}

/// Checks and executes a certified batch: [`check_batch`], every player signature, then
/// every action, whose result must equal its certified outcome. Advances the lane head.
/// All or nothing: when an action fails or differs from its outcome, the actions before
/// it are rolled back too (a batch is never half in the chain, whoever calls this).
pub fn apply_batch(ext: &mut Ext, certified: &CertifiedBatch) -> DispatchResult {
    ext.transactional(|ext| execute_batch(ext, certified))
}

/// [`apply_batch`] for a batch whose [`check_batch_keys`] passed on this state just
/// before (and returned `keys`): a block checks each batch once, when the executive
/// validates the unsigned extrinsic, not again to dispatch it.
pub fn apply_checked_batch(
    ext: &mut Ext,
    certified: &CertifiedBatch,
    keys: Vec<[u8; 32]>,
) -> DispatchResult {
    ext.transactional(|ext| execute_checked(ext, certified, keys))
}

fn execute_batch(ext: &mut Ext, certified: &CertifiedBatch) -> DispatchResult {
    let keys = check_batch_keys(ext, certified)?;
    execute_checked(ext, certified, keys)
}

fn execute_checked(
    ext: &mut Ext,
    certified: &CertifiedBatch,
    keys: Vec<[u8; 32]>,
) -> DispatchResult {
    let batch = &certified.batch;
    if !verify_actions(&batch.actions) {
        return Err(Error::BadSignature.into());
    }
    let header = &batch.header;
    for (signed, certified_outcome) in batch.actions.iter().zip(&batch.outcomes) {
        let outcome =
            apply_in_batch(ext, header, &signed.action).map_err(|_| Error::OutcomeMismatch)?;
        if !honours(ext, certified_outcome, &outcome) {
            return Err(Error::OutcomeMismatch.into());
        }
    }
    let hash = header.hash();
    if Signers::get(ext, &header.area).is_none_or(|(version, _)| version != header.version) {
        Signers::insert(ext, &header.area, &(header.version, keys));
    }
    Lanes::insert(
        ext,
        &header.area,
        &LaneHead {
            height: header.height,
            hash,
            time_ms: header.time_ms,
        },
    );
    deposit_event(
        ext,
        &Event::BatchIncluded {
            area: header.area,
            height: header.height,
            hash,
            count: header.count,
        },
    );
    Ok(())
}

/// Whether executing an action gave what its certified outcome promised: the same
/// outcome, or the same crossing (from the same area to the same position) into an area
/// that a split or merge has reshaped since the lane certified it. A neighbour's lane
/// may certify a crossing into an area before a reshape that its block follows; the
/// chain then names the quadrant (or the merged area) that holds the position, and the
/// receipt is honoured.
pub fn honours(ext: &mut Ext, certified: &Outcome, actual: &Outcome) -> bool {
    if certified == actual {
        return true;
    }
    match (certified, actual) {
        (
            Outcome::Crossed { from, to, position },
            Outcome::Crossed {
                from: actual_from,
                position: actual_position,
                ..
            },
        ) => {
            from == actual_from
                && position == actual_position
                && areas::area(ext, *to)
                    .is_none_or(|area| !area.active && area.bounds.contains(position))
        }
        _ => false,
    }
}

/// Why a certified batch whose checks pass does not execute as certified here: the index
/// of its first action whose result differs from the certified outcome, with the result
/// this state gives (an error, or another outcome). `None` when every action matches.
/// Writes nothing (for diagnostics: a block author logs it).
pub fn first_divergence(
    ext: &mut Ext,
    certified: &CertifiedBatch,
) -> Option<(usize, Result<Outcome, DispatchError>)> {
    let header = &certified.batch.header;
    let mut found = None;
    let _ = ext.transactional(|ext| -> Result<(), DispatchError> {
        for (index, (signed, expected)) in certified
            .batch
            .actions
            .iter()
            .zip(&certified.batch.outcomes)
            .enumerate()
        {
            let got = apply_in_batch(ext, header, &signed.action);
            if !got
                .as_ref()
                .is_ok_and(|outcome| honours(ext, expected, outcome))
            {
                found = Some((index, got));
                break;
            }
        }
        // Always rolled back: this only looks.
        Err(DispatchError::Other("rolled back"))
    });
    found
}

/// The pool's view of an unsigned `submit_batch`: valid when [`check_batch`] passes;
/// returns the `provides` tag, the (area, height) slot, so two batches for one slot
/// collide.
pub fn validate_batch(ext: &mut Ext, certified: &CertifiedBatch) -> Result<Vec<u8>, Error> {
    check_batch(ext, certified)?;
    let header = &certified.batch.header;
    Ok((b"fastlane", header.area, header.height).encode())
}

/// What checked evidence proves: the lane position, the offenders, the contested
/// receipts' players.
pub struct Equivocation {
    /// `(area, version, height)`.
    pub position: (AreaId, u64, u64),
    /// The members that signed both batches.
    pub offenders: Vec<AccountId32>,
    /// The player of each contested receipt.
    pub contested: Vec<AccountId32>,
}

/// Checks equivocation evidence without writing: two well-formed batches for one
/// position of this chain's lanes under the committee version in force, different
/// headers, both certificates valid, and no earlier report of that position.
pub fn check_equivocation(ext: &mut Ext, proof: &EquivocationProof) -> Result<Equivocation, Error> {
    let (first, second) = (&proof.first.batch, &proof.second.batch);
    let (a, b) = (&first.header, &second.header);
    if a.genesis != b.genesis
        || a.area != b.area
        || a.version != b.version
        || a.height != b.height
        || a.hash() == b.hash()
    {
        return Err(Error::InvalidEquivocationProof);
    }
    for batch in [first, second] {
        if batch.actions.len() > types::MAX_BATCH_ACTIONS || !batch.body_matches() {
            return Err(Error::InvalidEquivocationProof);
        }
    }
    if a.genesis != genesis_hash(ext) {
        return Err(Error::WrongGenesis);
    }
    let position = (a.area, a.version, a.height);
    if Equivocations::contains_key(ext, &position) {
        return Err(Error::DuplicateEquivocationReport);
    }
    let authority = areas::authority(ext, a.area).ok_or(Error::StaleEvidence)?;
    if authority.version != a.version {
        return Err(Error::StaleEvidence);
    }
    let (_, keys) = committee_keys(ext, a.area)?;
    verify_certificate(a, &proof.first.certificate, &keys)?;
    verify_certificate(b, &proof.second.certificate, &keys)?;
    let members = authority.members();
    let offenders: Vec<AccountId32> = proof
        .double_signers()
        .into_iter()
        .filter_map(|index| members.get(usize::from(index)).cloned())
        .collect();
    // Two quorums always share a member: an empty intersection cannot verify.
    if offenders.is_empty() {
        return Err(Error::InvalidEquivocationProof);
    }
    Ok(Equivocation {
        position,
        offenders,
        contested: proof.contested(),
    })
}

/// Punishes a proven equivocation: the offenders through staking, then each contested
/// receipt's player paid [`RECEIPT_COMPENSATION`] from the offenders' bonds (pro rata
/// when the bonds fall short).
pub fn report_equivocation(ext: &mut Ext, proof: &EquivocationProof) -> DispatchResult {
    let Equivocation {
        position,
        offenders,
        contested,
    } = check_equivocation(ext, proof)?;
    let number = system::Number::get_or_default(ext);
    Equivocations::insert(ext, &position, &number);
    let owed = RECEIPT_COMPENSATION.saturating_mul(contested.len() as Balance);
    let taken = staking::punish_lane_equivocation(ext, &offenders, owed);
    let (area, version, height) = position;
    deposit_event(
        ext,
        &Event::EquivocationReported {
            area,
            version,
            height,
            offenders,
            contested: contested.len() as u32,
        },
    );
    if contested.is_empty() {
        return Ok(());
    }
    let each = taken / contested.len() as Balance;
    if each == 0 {
        return Ok(());
    }
    let mut paid: BTreeMap<AccountId32, Balance> = BTreeMap::new();
    for who in contested {
        *paid.entry(who).or_default() += each;
    }
    for (who, amount) in paid {
        compensate(ext, who, amount);
    }
    Ok(())
}

/// Pays `who` `amount` for a broken or contested receipt (taken from the offenders'
/// bonds) and says so.
fn compensate(ext: &mut Ext, who: AccountId32, amount: Balance) {
    if amount > 0 && balances::deposit_creating(ext, &who, amount) {
        deposit_event(ext, &Event::Compensated { who, amount });
    }
}

/// The most chain headers a receipt challenge may carry.
pub const MAX_CHALLENGE_HEADERS: usize = 1_024;

/// Checks a receipt challenge without writing; returns the receipt's signers and the
/// player to pay. The receipt must prove its action under the committee version in
/// force, and the chain must have broken it: the lane below the receipt's height past
/// the inclusion window, or `included` linking another header at that height to the
/// lane's head.
pub fn check_challenge(
    ext: &mut Ext,
    challenge: &ReceiptChallenge,
) -> Result<(Vec<AccountId32>, AccountId32), Error> {
    let receipt = &challenge.receipt;
    let header = &receipt.header;
    if challenge.action.hash() != receipt.action_hash
        || challenge.action.action.area != header.area
        || !receipt.entry_proven()
        || challenge.included.len() > MAX_CHALLENGE_HEADERS
    {
        return Err(Error::InvalidReceipt);
    }
    if header.genesis != genesis_hash(ext) {
        return Err(Error::WrongGenesis);
    }
    let key = (header.area, header.height, receipt.action_hash);
    if BrokenReceipts::contains_key(ext, &key) {
        return Err(Error::DuplicateChallenge);
    }
    let authority = areas::authority(ext, header.area).ok_or(Error::StaleEvidence)?;
    if authority.version != header.version {
        return Err(Error::StaleEvidence);
    }
    let (_, keys) = committee_keys(ext, header.area)?;
    verify_certificate(header, &receipt.certificate, &keys).map_err(|_| Error::InvalidReceipt)?;
    if !verify_actions([&challenge.action]) {
        return Err(Error::InvalidReceipt);
    }
    let head = lane_head(ext, header.area);
    match challenge.included.first() {
        None => {
            // Below the receipt's height, and too old for any block to take it now.
            let clock = Clock::get_or_default(ext);
            let expired = clock.slot_start_ms > header.time_ms.saturating_add(MAX_BATCH_AGE_MS);
            if head.height >= header.height || !expired {
                return Err(Error::ReceiptNotBroken);
            }
        }
        Some(first) => {
            if first.height != header.height || first.hash() == header.hash() {
                return Err(Error::ReceiptNotBroken);
            }
            let mut previous = first;
            for next in &challenge.included[1..] {
                if next.parent != previous.hash() || next.height != previous.height + 1 {
                    return Err(Error::InvalidReceipt);
                }
                previous = next;
            }
            if previous.hash() != head.hash || previous.height != head.height {
                return Err(Error::InvalidReceipt);
            }
        }
    }
    let members = authority.members();
    let signers = receipt
        .certificate
        .signatures
        .iter()
        .filter_map(|(index, _)| members.get(usize::from(*index)).cloned())
        .collect();
    Ok((signers, challenge.action.action.player.clone()))
}

/// Pays a broken receipt: the signers fined through staking, the player paid
/// [`RECEIPT_COMPENSATION`] from their bonds (less when the bonds fall short).
pub fn challenge_receipt(ext: &mut Ext, challenge: &ReceiptChallenge) -> DispatchResult {
    let (signers, player) = check_challenge(ext, challenge)?;
    let header = &challenge.receipt.header;
    let number = system::Number::get_or_default(ext);
    BrokenReceipts::insert(
        ext,
        &(header.area, header.height, challenge.receipt.action_hash),
        &number,
    );
    let taken = staking::fine_lane_signers(ext, &signers, RECEIPT_COMPENSATION);
    deposit_event(
        ext,
        &Event::ReceiptBroken {
            area: header.area,
            height: header.height,
            action: challenge.receipt.action_hash,
            signers,
        },
    );
    compensate(ext, player, taken);
    Ok(())
}

/// The pool's view of an unsigned `challenge_receipt`: valid when [`check_challenge`]
/// passes; returns the `provides` tag, the receipted action.
pub fn validate_challenge(ext: &mut Ext, challenge: &ReceiptChallenge) -> Result<Vec<u8>, Error> {
    check_challenge(ext, challenge)?;
    let header = &challenge.receipt.header;
    Ok((
        b"fastlane:receipt",
        header.area,
        header.height,
        challenge.receipt.action_hash,
    )
        .encode())
}

/// The pool's view of an unsigned `report_equivocation`: valid when
/// [`check_equivocation`] passes; returns the `provides` tag, the lane position.
pub fn validate_equivocation(ext: &mut Ext, proof: &EquivocationProof) -> Result<Vec<u8>, Error> {
    let proven = check_equivocation(ext, proof)?;
    Ok((b"fastlane:equivocation", proven.position).encode())
}

/// Checks a lane's seal against the chain without writing: a split or merge waits for
/// the area's lane, which has not ended yet; the seal is the area's committee in force's,
/// valid ([`Seal::verify`]), and ends at or above the chain's last batch of the lane (on
/// it, when level).
pub fn check_end(ext: &mut Ext, seal: &Seal) -> Result<(), Error> {
    if !areas::ending_areas(ext).contains(&seal.area) {
        return Err(Error::NotEnding);
    }
    if Ends::contains_key(ext, &seal.area) {
        return Err(Error::LaneEnded);
    }
    let (version, keys) = committee_keys(ext, seal.area)?;
    if seal.version != version {
        return Err(Error::WrongVersion);
    }
    let head = lane_head(ext, seal.area);
    if seal.head.height < head.height || (seal.head.height == head.height && seal.head != head) {
        return Err(Error::BadSeal);
    }
    if !seal.verify(&genesis_hash(ext), &keys) {
        return Err(Error::BadSeal);
    }
    Ok(())
}

/// Ends an area's lane at its seal's last batch ([`check_end`]): batches up to it still
/// enter blocks, none after it.
pub fn end_lane(ext: &mut Ext, seal: &Seal) -> DispatchResult {
    check_end(ext, seal)?;
    Ends::insert(ext, &seal.area, &seal.head);
    deposit_event(
        ext,
        &Event::LaneEnded {
            area: seal.area,
            version: seal.version,
            height: seal.head.height,
        },
    );
    Ok(())
}

/// The pool's view of an unsigned `end_lane`: valid when [`check_end`] passes; returns
/// the `provides` tag, the area (one seal ends a lane).
pub fn validate_end(ext: &mut Ext, seal: &Seal) -> Result<Vec<u8>, Error> {
    check_end(ext, seal)?;
    Ok((b"fastlane:end", seal.area).encode())
}

/// Whether `area`'s lane ended and the chain holds every batch up to its end.
pub fn lane_closed(ext: &mut Ext, area: AreaId) -> bool {
    Ends::get(ext, &area).is_some_and(|end| lane_head(ext, area).height >= end.height)
}

/// Whether splits and merges must wait for lanes (a player has joined them).
pub fn in_use(ext: &mut Ext) -> bool {
    InUse::get_or_default(ext)
}

/// Forgets how `area`'s lane ended once its area was reshaped: a lane that runs there
/// again (a merged parent) continues after the chain's last batch with the new
/// committee, checked against no older one.
pub fn forget_end(ext: &mut Ext, area: AreaId) {
    Ends::remove(ext, &area);
    Signers::remove(ext, &area);
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![
        arceon_support::metadata::constant(
            "MinActionIntervalMs",
            &(MIN_ACTION_INTERVAL_MS),
            &["The least time between two lane actions of one player."],
        ),
        arceon_support::metadata::constant(
            "ReceiptCompensation",
            &(RECEIPT_COMPENSATION),
            &["What a player with a broken receipt is paid."],
        ),
    ]
}

/// Shifts every block number this pallet stores down by `by` (saturating at 0), so the
/// state of block `by` can be the genesis of a new chain with the same elapsed times
/// (`export-state --chain-spec`).
pub fn rebase(ext: &mut Ext, by: arceon_primitives::BlockNumber) {
    Equivocations::translate_values(ext, |at: &mut arceon_primitives::BlockNumber| {
        *at = at.saturating_sub(by);
    });
    BrokenReceipts::translate_values(ext, |at: &mut arceon_primitives::BlockNumber| {
        *at = at.saturating_sub(by);
    });
}

#[cfg(test)]
mod tests;
