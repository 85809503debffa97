//! The fast-lane protocol of one area, as a sans-IO state machine.
//!
//! A [`Lane`] is one committee member's view of one area's lane. It owns no socket,
//! clock, thread or database: the node (or a deterministic simulator) feeds it
//! submissions, peer messages, timer ticks (with the current lane time) and chain
//! events, and carries out the [`Output`]s it returns, in order. The area's state is
//! reached through the [`LaneState`] trait: the node executes actions on its best block
//! plus the lane batches not yet in a block; a simulator can plug in anything that
//! applies the same rules.
//!
//! Protocol, within a view (its primary is member `view % members`):
//! - The primary checks each submitted action (signature, then the area's rules through
//!   [`LaneState::execute`]) and answers a refusal at once. Accepted actions join the
//!   open batch, stamped with the batch's lane time (set when the batch opens:
//!   monotonic, at least 1 ms after the previous batch). A replica takes submissions
//!   too: it holds them and forwards them to the primary ([`Output::Forward`]).
//! - A batch is sealed when it is [`LaneConfig::batch_interval_ms`] old or holds
//!   [`LaneConfig::max_batch`] actions, as long as fewer than
//!   [`LaneConfig::max_in_flight`] batches await their certificate. The primary persists
//!   it, has its header signed ([`Output::Sign`]) and proposes it to every replica.
//! - A replica takes proposals in height order (buffering a few ahead), checks the
//!   header (area, version, view, height, parent, time), verifies the player signatures
//!   (batched), re-executes the actions and requires the primary's outcomes. It then
//!   persists the batch and votes (has the header signed). Outputs are ordered: the
//!   driver makes every `Persist` durable before it sends any later message, so a member
//!   never lets out a signature of what it could forget.
//! - Signing is the driver's: a lane asks for a header's signature with [`Output::Sign`]
//!   and gets it back through [`Lane::signed`]. The node signs all the headers its lanes
//!   asked for in one round with one signature over their Merkle root
//!   ([`arceon_pallet_fastlane::sign_round`]), so a member of many busy lanes signs once
//!   per round, not once per batch.
//! - [`quorum`] signatures, the primary's included, form the certificate: the primary
//!   emits the certified batch (for blocks and observers) and one receipt per action,
//!   and sends every replica a `Commit` (header and certificate), from which a replica
//!   answers the submissions it holds. Proposals not yet certified are re-sent every
//!   [`LaneConfig::resend_ms`].
//!
//! The one rule that keeps receipts safe, in every view: **a member signs at most one
//! header per height** (its tip only moves up, and it votes only at its tip's next
//! height or again for the very header it voted for). Two quorums share at least
//! `2q - n >= f + 1` members, so two certificates at one height need `f + 1` members
//! that broke the rule, and those signatures are the evidence against them.
//!
//! View change ([`view`] module): a replica that waits on the primary (it holds a
//! submission, or voted for a batch it has not seen certified) and hears nothing from it
//! for [`LaneConfig::view_timeout_ms`] moves to the next view and sends every member a
//! `ViewChange` with the batches it holds beyond the chain. A member joins a higher view
//! when `f + 1` members asked for it. The next view's primary, with a quorum of reports,
//! extends its own chain with the reported batches that follow it (so every batch a
//! quorum may have certified is carried: an honest member of that quorum reported it),
//! proposes every batch beyond what it knows certified again (same headers, new view),
//! and announces the view (`NewView`). Held submissions go to the new primary; the lane
//! nonce makes a re-sent action idempotent (a pending one gets the client attached, a
//! recently certified one its receipt at once).
//!
//! Every message and batch header names its area, committee version and view, so old
//! messages are told from new ones.

use std::collections::{BTreeMap, HashMap};

use arceon_pallet_areas::AreaId;
pub use arceon_pallet_fastlane::seal::MemberIndex;
pub use arceon_pallet_fastlane::seal::{
    carried, report_digest, report_valid, verify_member, ReportEntry, Seal, SignedReport,
    MAX_REPORT_ENTRIES, SEAL_VIEW,
};
pub use arceon_pallet_fastlane::types::{
    merkle_paths, merkle_proof, merkle_root, quorum, sign_round, Batch, BatchHeader, Certificate,
    CertifiedBatch, LaneAction, MemberSignature, Outcome, Receipt, SignedLaneAction,
    MAX_BATCH_ACTIONS, MAX_ROUND_HEADERS,
};
use arceon_pallet_fastlane::{Error as LaneRuleError, LaneHead};
use arceon_primitives::H256;
use arceon_support::DispatchError;
use codec::{Decode, Encode};

pub mod byzantine;
mod clients;
mod replica;
pub mod view;

use clients::{Held, Recent};
use view::Timer;

/// A proposed batch with the primary's header signature.
type Proposal = (Batch, MemberSignature);
/// A member's verified view-change report with the batch bodies it sent.
type Report = (SignedReport, Vec<Batch>);

/// Whoever submitted an action, as the driver names it (an RPC call, a forwarding peer).
pub type ClientId = u64;

/// Timing and size limits of a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneConfig {
    /// Seal an open batch once it is this old (ms).
    pub batch_interval_ms: u64,
    /// Seal an open batch once it holds this many actions.
    pub max_batch: usize,
    /// The most sealed batches awaiting their certificate.
    pub max_in_flight: usize,
    /// Re-send an uncertified proposal after this long (ms).
    pub resend_ms: u64,
    /// The most proposals a replica buffers ahead of the next height.
    pub max_buffered: usize,
    /// The most actions waiting in the open and in-flight batches (or held by a replica
    /// for the primary); more are refused (`Overloaded`).
    pub max_pending: usize,
    /// A replica that waits on a silent primary for this long (ms) moves to the next
    /// view.
    pub view_timeout_ms: u64,
    /// The most bytes of batch bodies one view-change message carries: a report's
    /// bodies go to the new primary in as many messages as they need.
    pub report_chunk_bytes: usize,
}

impl Default for LaneConfig {
    fn default() -> Self {
        LaneConfig {
            batch_interval_ms: 2,
            max_batch: 256,
            max_in_flight: 8,
            resend_ms: 100,
            max_buffered: 64,
            max_pending: 8_192,
            view_timeout_ms: 150,
            report_chunk_bytes: 128 * 1024,
        }
    }
}

/// The committee a lane runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    /// The area.
    pub area: AreaId,
    /// The committee version.
    pub version: u64,
    /// The members' signing keys (Aura session keys), primary of view 0 first.
    pub keys: Vec<[u8; 32]>,
}

impl Committee {
    /// Signatures a certificate needs.
    pub fn quorum(&self) -> usize {
        quorum(self.keys.len())
    }

    /// The most faulty members the committee tolerates (`f`, with `n >= 3f + 1`).
    pub fn faults(&self) -> usize {
        self.keys.len().saturating_sub(1) / 3
    }

    /// The primary of `view`.
    pub fn primary(&self, view: u32) -> MemberIndex {
        (view as usize % self.keys.len().max(1)) as MemberIndex
    }
}

/// Why a lane refused an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneError {
    /// The world's rules refused it: a players or fastlane error (`Players.TooFast`,
    /// `FastLane.StaleNonce`, ...).
    Rule(DispatchError),
    /// A relayed submission reached a member that is not the primary of the view it
    /// runs (the relaying member holds it and tries again).
    NotPrimary,
    /// The lane has no working primary: its members are changing views and no quorum of
    /// them has agreed on the next one for a while (a partition, too many members down).
    Unavailable,
    /// Too many actions are waiting; try again shortly.
    Overloaded,
    /// The lane moved past the batch the action was sequenced in before it was
    /// certified (another batch holds its height); submit it again.
    Superseded,
    /// The committee is handing its lane over to the next committee version
    /// ([`Lane::retire`]): it sequences nothing new; sign the action for the new
    /// version.
    Retired,
}

impl From<LaneRuleError> for LaneError {
    fn from(error: LaneRuleError) -> Self {
        LaneError::Rule(error.into())
    }
}

/// A message between committee members.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum LaneMessage {
    /// A batch proposed in `view` (its header names the view it was first proposed in,
    /// `header.view <= view`), with the view's primary's signature on its header.
    #[codec(index = 0)]
    Propose {
        /// The view the proposal is made in.
        view: u32,
        /// The batch.
        batch: Batch,
        /// The primary's signature of the header.
        signature: MemberSignature,
    },
    /// A member's signature of a proposed header.
    #[codec(index = 1)]
    Vote {
        /// The area.
        area: AreaId,
        /// The committee version.
        version: u64,
        /// The view.
        view: u32,
        /// The batch height.
        height: u64,
        /// The header hash.
        hash: H256,
        /// The member's signature of the header.
        signature: MemberSignature,
    },
    /// The primary of `view` certified a batch: its header and certificate.
    #[codec(index = 2)]
    Commit {
        /// The view the primary certified it in.
        view: u32,
        /// The certified header.
        header: BatchHeader,
        /// Its certificate.
        certificate: Certificate,
    },
    /// The sender moved to `view`: its signed report of the batches it holds beyond
    /// the chain, and (to the view's primary) their bodies.
    #[codec(index = 3)]
    ViewChange {
        /// The area.
        area: AreaId,
        /// The committee version.
        version: u64,
        /// The view asked for.
        view: u32,
        /// The sender's signed report.
        report: SignedReport,
        /// The reported batches, in height order (to the view's primary; the most recent
        /// may be left out to bound the message).
        batches: Vec<Batch>,
    },
    /// The primary of `view` started it, with the quorum of reports it started from:
    /// from them every member computes which batch the view carries at each height
    /// ([`view::carried`]), and may give up a batch of its own that the view does not
    /// carry (no quorum can have certified it).
    #[codec(index = 4)]
    NewView {
        /// The area.
        area: AreaId,
        /// The committee version.
        version: u64,
        /// The view.
        view: u32,
        /// A quorum of signed reports for `view`.
        reports: Vec<SignedReport>,
    },
    /// The sender is in `view` (`running`: the view started): the answer to a message
    /// of an older view, and what a restarted member says first.
    #[codec(index = 5)]
    Status {
        /// The area.
        area: AreaId,
        /// The committee version.
        version: u64,
        /// The sender's view.
        view: u32,
        /// Whether that view runs (else the sender is changing to it).
        running: bool,
    },
}

/// The height a lane names in [`Output::Sign`] for its view-change report (whose hash
/// is the report's digest).
pub const REPORT_HEIGHT: u64 = u64::MAX;

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a message to a member.
    Send {
        /// The member.
        to: MemberIndex,
        /// The message.
        message: LaneMessage,
    },
    /// Store a batch durably before sending anything that follows.
    Persist(Batch),
    /// The batches this member stored above `above` are not the lane's (the chain
    /// included another batch at a height where this member held one, or a view carries
    /// another): forget them, rebuild the view (chain state plus [`Lane::log`]) and call
    /// [`Lane::replay_open`]; the lane takes no proposal until then.
    Discard {
        /// The chain's lane height.
        above: u64,
    },
    /// Sign the header of this lane's batch at `height` (hashed `hash`; at
    /// [`REPORT_HEIGHT`], this member's view-change report) with this member's key, in a round with any other headers to sign, and hand the signature to
    /// [`Lane::signed`].
    Sign {
        /// The batch height.
        height: u64,
        /// The header hash.
        hash: H256,
    },
    /// Hand `client`'s action to member `to` (the primary) and give the client what it
    /// answers; tell the lane with [`Lane::answered`]. The lane may forward an action
    /// again (to a new primary, or when the answer is late): answer each client once.
    Forward {
        /// The primary.
        to: MemberIndex,
        /// Who submitted it here.
        client: ClientId,
        /// The action.
        action: SignedLaneAction,
    },
    /// A batch got its certificate: hand it to block authors and observers.
    Certified(CertifiedBatch),
    /// An action was sequenced and certified.
    Receipt {
        /// Who submitted it.
        client: ClientId,
        /// The receipt.
        receipt: Receipt,
    },
    /// An action was refused; nothing was sequenced.
    Rejected {
        /// Who submitted it.
        client: ClientId,
        /// Why.
        error: LaneError,
    },
}

/// The area's state as the lane sees it: the best block plus this node's lane batches
/// not yet in a block. Execution follows the fastlane pallet's rules exactly.
pub trait LaneState {
    /// Executes `action` at lane time `time_ms` under `committee` (its signature is
    /// already verified); on success its writes stay in the view.
    fn execute(
        &mut self,
        committee: &Committee,
        time_ms: u64,
        action: &SignedLaneAction,
    ) -> Result<Outcome, DispatchError>;
    /// Opens a layer that [`LaneState::rollback`] can discard.
    fn checkpoint(&mut self);
    /// Keeps the writes since the last checkpoint.
    fn commit(&mut self);
    /// Discards the writes since the last checkpoint.
    fn rollback(&mut self);
}

/// A rule of the protocol broken on purpose, to show the simulator catches it.
#[cfg(any(test, feature = "broken-rules"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenRule {
    /// A new primary starts from its own highest batch, ignoring the batches the
    /// quorum's reports hold beyond it.
    NewPrimaryIgnoresReports,
}

struct Open {
    opened_ms: u64,
    time_ms: u64,
    actions: Vec<SignedLaneAction>,
    outcomes: Vec<Outcome>,
    hashes: Vec<H256>,
    /// `(index, client)`: who waits on which action.
    clients: Vec<(u32, ClientId)>,
}

struct InFlight {
    batch: Batch,
    hashes: Vec<H256>,
    /// `(index, client)`: who waits on which action.
    clients: Vec<(u32, ClientId)>,
    votes: BTreeMap<MemberIndex, MemberSignature>,
    sent_ms: u64,
}

impl InFlight {
    fn new(batch: Batch, clients: Vec<(u32, ClientId)>, now_ms: u64) -> Self {
        InFlight {
            hashes: batch.actions.iter().map(SignedLaneAction::hash).collect(),
            batch,
            clients,
            votes: BTreeMap::new(),
            sent_ms: now_ms,
        }
    }

    /// The primary's proposal of this batch in `view` (signed `signature`) to each of
    /// the committee's `members` that has not voted for it.
    fn proposals(
        &self,
        view: u32,
        me: MemberIndex,
        members: usize,
        signature: &MemberSignature,
    ) -> Vec<Output> {
        (0..members)
            .map(|to| to as MemberIndex)
            .filter(|to| *to != me && !self.votes.contains_key(to))
            .map(|to| Output::Send {
                to,
                message: LaneMessage::Propose {
                    view,
                    batch: self.batch.clone(),
                    signature: signature.clone(),
                },
            })
            .collect()
    }
}

/// Where a pending action of the primary waits: the open batch, or a sealed one.
const OPEN: u64 = u64::MAX;

/// One member's view of one area's lane.
pub struct Lane {
    genesis: H256,
    committee: Committee,
    me: MemberIndex,
    view: u32,
    /// Whether the current view started (its primary announced it, or this member is
    /// that primary and a quorum reported to it); `false` while changing views.
    active: bool,
    config: LaneConfig,
    /// The last batch this member sealed or accepted (height, hash, time).
    tip: LaneHead,
    /// The chain's lane height, as last followed.
    included: LaneHead,
    /// The highest height of this member's batches it knows certified.
    committed: u64,
    /// The batches this member sealed or accepted above the chain's lane head.
    log: BTreeMap<u64, Batch>,
    /// The last view this member voted in for each batch of its log (see
    /// [`ReportEntry::voted`]), and whether that changed since the driver last took it.
    vote_views: BTreeMap<u64, u32>,
    vote_views_changed: bool,
    open: Option<Open>,
    in_flight: BTreeMap<u64, InFlight>,
    /// Primary: the hashes of the actions in the open and in-flight batches, with the
    /// height of their batch ([`OPEN`] for the open one).
    sequenced: HashMap<H256, u64>,
    buffered: BTreeMap<u64, Proposal>,
    /// Replica: the header hashes this member voted for beyond the chain's lane head and
    /// its signatures (`None` until [`Lane::signed`]), so a re-sent proposal whose vote
    /// was lost is answered again (bounded by [`MAX_VOTED`]).
    voted: BTreeMap<u64, (H256, Option<MemberSignature>)>,
    /// Submissions this member holds for the primary, by action hash.
    held: BTreeMap<H256, Held>,
    /// Arrivals of held submissions so far (their order).
    held_seq: u64,
    /// Recently certified batches, for re-sent actions and late votes.
    recent: Recent,
    timer: Timer,
    /// Members that asked for a view above the current one (and, for the views this
    /// member is primary of, their verified reports and the bodies they sent).
    changes: BTreeMap<u32, BTreeMap<MemberIndex, Option<Report>>>,
    /// A view after the first and what it carries above what the chain decided, as its
    /// announcement proved (`NewView`): a replica votes in such a view only once it holds
    /// this, and at a carried height only for the carried batch.
    justified: Option<(u32, BTreeMap<u64, H256>)>,
    /// The latest view each member said it runs in (`Status`).
    statuses: BTreeMap<MemberIndex, u32>,
    /// This member's report for the view it moved to, and its signature once signed.
    report: Option<(u32, u64, Vec<ReportEntry>, Option<MemberSignature>)>,
    /// This member gave up batches ([`Output::Discard`]) and waits for the driver to
    /// rebuild its view ([`Lane::replay_open`]).
    stale: bool,
    /// Primary: the `NewView` of the running view, re-sent (a few times) to members that
    /// did not vote in it yet.
    announced: Option<(LaneMessage, u32)>,
    voters: std::collections::BTreeSet<MemberIndex>,
    /// The reports that started the running sealing view (its announcement's).
    seal_reports: Option<Vec<SignedReport>>,
    /// The last batch of the previous committee's lane (its seal): decided for this
    /// lane like what the chain includes ([`Lane::set_base`]).
    base: LaneHead,
    #[cfg(any(test, feature = "broken-rules"))]
    broken: Option<BrokenRule>,
}

/// The most recent votes a replica remembers for re-sent proposals.
const MAX_VOTED: usize = 256;
/// The most batches a primary seals beyond the chain (its log): past it, submissions are
/// refused (`Overloaded`) until blocks include some. A batch leaves a log only once the
/// chain includes it (a certified batch missing from a view-change report could be
/// given up), so this bounds the lane's lead on the chain.
const MAX_LOG: usize = 512;
/// What a replica's log (and so a report) may hold beyond [`MAX_LOG`]: batches the
/// primary sealed while this member had not yet seen the chain include older ones.
const LOG_SLACK: usize = 16;

impl Lane {
    /// A lane for `committee` where this node is member `me`, continuing after `tip` (the
    /// last batch it knows: in a block, or persisted) in view 0.
    pub fn new(
        genesis: H256,
        committee: Committee,
        me: MemberIndex,
        tip: LaneHead,
        config: LaneConfig,
    ) -> Self {
        let timer = Timer::starting(tip.height == 0);
        Lane {
            genesis,
            committee,
            me,
            view: 0,
            active: true,
            config,
            included: LaneHead::default(),
            committed: 0,
            tip,
            log: BTreeMap::new(),
            vote_views: BTreeMap::new(),
            vote_views_changed: false,
            open: None,
            in_flight: BTreeMap::new(),
            sequenced: HashMap::new(),
            buffered: BTreeMap::new(),
            voted: BTreeMap::new(),
            held: BTreeMap::new(),
            held_seq: 0,
            recent: Recent::default(),
            timer,
            changes: BTreeMap::new(),
            justified: None,
            statuses: BTreeMap::new(),
            report: None,
            stale: false,
            announced: None,
            voters: std::collections::BTreeSet::new(),
            seal_reports: None,
            base: LaneHead::default(),
            #[cfg(any(test, feature = "broken-rules"))]
            broken: None,
        }
    }

    /// A restarted member resumes in `view`, the highest it was in (the driver keeps it
    /// durable): views never go back, since a member that reported for a view must not
    /// vote in an earlier one. It waits (changing) until it hears which view runs.
    pub fn resume_view(&mut self, view: u32) {
        if view > self.view || (view == self.view && view > 0) {
            self.view = view;
            self.active = false;
            self.timer.resumed();
        }
    }

    /// The committee is replaced (a new version of the area's committee is in force):
    /// this member moves to the first sealing view ([`SEAL_VIEW`]). Its report there
    /// binds it never to vote in an earlier view; that view's primary carries what a
    /// quorum reports, has it certified and sequences nothing new, so the lane ends at a
    /// defined batch ([`Lane::sealed`]). New submissions, and held ones not yet in a
    /// batch, are refused ([`LaneError::Retired`]); actions already in a batch get their
    /// receipts when it is certified.
    pub fn retire(&mut self, state: &mut dyn LaneState, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        if self.sealing() {
            return out;
        }
        self.timer.set_now(now_ms);
        self.start_view_change(state, SEAL_VIEW, &mut out);
        let unplaced: Vec<H256> = self
            .held
            .iter()
            .filter(|(_, held)| held.at.is_none())
            .map(|(hash, _)| *hash)
            .collect();
        for hash in unplaced {
            if let Some(held) = self.held.remove(&hash) {
                for client in held.clients {
                    out.push(Output::Rejected {
                        client,
                        error: LaneError::Retired,
                    });
                }
            }
        }
        out
    }

    /// The driver lost its connection to `member` (its process died, or the network cut
    /// it off). When `member` leads this member's view, the view is given up at once,
    /// as after the view timeout: a crash is detected in the time a connection takes to
    /// break rather than in a timeout. Only the view's primary matters; a connection
    /// lost by mistake costs one view change, never safety (view changes are always
    /// safe).
    pub fn member_lost(
        &mut self,
        state: &mut dyn LaneState,
        member: MemberIndex,
        now_ms: u64,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if member == self.me || member != self.primary() {
            return out;
        }
        self.timer.set_now(now_ms);
        self.start_view_change(state, self.view.saturating_add(1), &mut out);
        out
    }

    /// This lane continues a replaced committee's lane that ended at `base` (its seal,
    /// kept durable by the driver): batches up to it are decided, as if the chain
    /// included them (reports say so, so a view never carries another batch there), and
    /// certified. A member whose tip is below it catches up before it leads a view.
    pub fn set_base(&mut self, base: LaneHead) {
        if base.height > self.base.height {
            self.committed = self.committed.max(base.height);
            self.base = base;
        }
    }

    /// Whether this member is in a sealing view (its committee is being replaced).
    pub fn sealing(&self) -> bool {
        self.view >= SEAL_VIEW
    }

    /// Once a sealing view runs and everything it carried is certified: the proof that
    /// the lane ended at this member's tip, for the next committee.
    pub fn sealed(&self) -> Option<Seal> {
        if !self.sealing()
            || !self.active
            || self.committed < self.tip.height
            || !self.in_flight.is_empty()
            || self.open.is_some()
        {
            return None;
        }
        let reports = self.seal_reports.clone()?;
        let seal = Seal {
            area: self.committee.area,
            version: self.committee.version,
            view: self.view,
            head: self.tip.clone(),
            reports,
        };
        // A member that heard of certificates before it holds every carried batch
        // (commits overtaking proposals) is not at the end yet.
        seal.ends_what_it_carries().then_some(seal)
    }

    /// Breaks a rule of the protocol on purpose (simulator self-test).
    #[cfg(any(test, feature = "broken-rules"))]
    pub fn break_rule(&mut self, rule: BrokenRule) {
        self.broken = Some(rule);
    }

    /// The committee.
    pub fn committee(&self) -> &Committee {
        &self.committee
    }

    /// This member's index in the committee.
    pub fn me(&self) -> MemberIndex {
        self.me
    }

    /// The current view.
    pub fn view(&self) -> u32 {
        self.view
    }

    /// Whether the current view started (`false` while changing views).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The primary of the current view.
    pub fn primary(&self) -> MemberIndex {
        self.committee.primary(self.view)
    }

    /// Whether this member orders the lane in the current view (and the view started).
    pub fn is_primary(&self) -> bool {
        self.active && self.me == self.primary()
    }

    /// A one-line summary of this member's lane state (for logs and replays).
    pub fn describe(&self) -> String {
        format!(
            "member {} view {}{} tip {} committed {} included {} log {:?} in flight {:?} open {} held {} buffered {:?}",
            self.me,
            self.view,
            if self.active { "" } else { " (changing)" },
            self.tip.height,
            self.committed,
            self.included.height,
            self.log.keys().collect::<Vec<_>>(),
            self.in_flight
                .iter()
                .map(|(height, flight)| (*height, flight.votes.keys().copied().collect::<Vec<_>>()))
                .collect::<Vec<_>>(),
            self.open.as_ref().map_or(0, |open| open.actions.len()),
            self.held.len(),
            self.buffered.keys().collect::<Vec<_>>(),
        )
    }

    /// The last batch sealed or accepted.
    pub fn tip(&self) -> &LaneHead {
        &self.tip
    }

    /// The batches this member holds beyond the chain (sealed or accepted), in height
    /// order: with the chain's state, they make this member's view of the area.
    pub fn log(&self) -> impl Iterator<Item = &Batch> {
        self.log.values()
    }

    /// Actions this member waits on: sequenced but not yet certified, or held for the
    /// primary.
    pub fn pending(&self) -> usize {
        self.open.as_ref().map_or(0, |open| open.actions.len())
            + self
                .in_flight
                .values()
                .map(|flight| flight.batch.actions.len())
                .sum::<usize>()
            + self.held.len()
    }

    /// Whether this member, as primary, has sealed batches no quorum has certified yet.
    pub fn awaits_certificates(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// The lane time of the next [`Lane::tick`] that has work to do (sealing the open
    /// batch, re-sending a proposal, a view-change timer), if any.
    pub fn next_deadline(&self) -> Option<u64> {
        let seal = self
            .open
            .as_ref()
            .filter(|_| self.in_flight.len() < self.config.max_in_flight)
            .map(|open| open.opened_ms.saturating_add(self.config.batch_interval_ms));
        let resend = self
            .in_flight
            .values()
            .map(|flight| flight.sent_ms.saturating_add(self.config.resend_ms))
            .min();
        [seal, resend, self.timer_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// A submission from `client` at lane time `now_ms`.
    pub fn submit(
        &mut self,
        state: &mut dyn LaneState,
        client: ClientId,
        action: SignedLaneAction,
        now_ms: u64,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if let Err(error) = self.take(state, client, action, now_ms, &mut out) {
            out.push(Output::Rejected { client, error });
        }
        self.seal_if_due(now_ms, &mut out);
        out
    }

    /// A submission another member's lane relayed here (its `Output::Forward`): only
    /// the primary takes it; a relay is never relayed again, so forwards cannot loop
    /// between members that disagree on the view.
    pub fn submit_relayed(
        &mut self,
        state: &mut dyn LaneState,
        client: ClientId,
        action: SignedLaneAction,
        now_ms: u64,
    ) -> Vec<Output> {
        if !self.is_primary() {
            return vec![Output::Rejected {
                client,
                error: LaneError::NotPrimary,
            }];
        }
        self.submit(state, client, action, now_ms)
    }

    fn take(
        &mut self,
        state: &mut dyn LaneState,
        client: ClientId,
        action: SignedLaneAction,
        now_ms: u64,
        out: &mut Vec<Output>,
    ) -> Result<(), LaneError> {
        let fields = &action.action;
        if fields.genesis != self.genesis {
            return Err(LaneRuleError::WrongGenesis.into());
        }
        if fields.area != self.committee.area {
            return Err(LaneRuleError::WrongArea.into());
        }
        if fields.version != self.committee.version {
            return Err(LaneRuleError::WrongVersion.into());
        }
        let hash = action.hash();
        // Idempotent: an action certified a moment ago gets its receipt again.
        if let Some(receipt) = self.recent.receipt(&hash) {
            out.push(Output::Receipt { client, receipt });
            return Ok(());
        }
        if self.sealing() {
            return Err(LaneError::Retired);
        }
        if !self.is_primary() {
            return self.hold(client, action, hash, now_ms, out);
        }
        if let Some(height) = self.sequenced.get(&hash).copied() {
            self.attach(height, &hash, client);
            return Ok(());
        }
        self.sequence(state, client, action, hash, now_ms)
    }

    /// Adds `client` to those waiting on the pending action hashed `hash` (in the batch
    /// at `height`, or the open one).
    fn attach(&mut self, height: u64, hash: &H256, client: ClientId) {
        let (hashes, clients) = if height == OPEN {
            match self.open.as_mut() {
                Some(open) => (&open.hashes, &mut open.clients),
                None => return,
            }
        } else {
            match self.in_flight.get_mut(&height) {
                Some(flight) => (&flight.hashes, &mut flight.clients),
                None => return,
            }
        };
        if let Some(index) = hashes.iter().position(|h| h == hash) {
            if clients.len() < MAX_BATCH_ACTIONS * 2 {
                clients.push((index as u32, client));
            }
        }
    }

    fn sequence(
        &mut self,
        state: &mut dyn LaneState,
        client: ClientId,
        action: SignedLaneAction,
        hash: H256,
        now_ms: u64,
    ) -> Result<(), LaneError> {
        // The open batch never outgrows a batch: it is what the next proposal carries,
        // and an oversized proposal would be refused by every replica's network layer.
        let open_full = self
            .open
            .as_ref()
            .is_some_and(|open| open.actions.len() >= self.config.max_batch.min(MAX_BATCH_ACTIONS));
        if open_full || self.pending() >= self.config.max_pending || self.log.len() >= MAX_LOG {
            return Err(LaneError::Overloaded);
        }
        if !action.verify() {
            return Err(LaneRuleError::BadSignature.into());
        }
        let tip_time = self.tip.time_ms;
        let open = self.open.get_or_insert_with(|| Open {
            opened_ms: now_ms,
            time_ms: now_ms.max(tip_time.saturating_add(1)),
            actions: Vec::new(),
            outcomes: Vec::new(),
            hashes: Vec::new(),
            clients: Vec::new(),
        });
        state.checkpoint();
        match state.execute(&self.committee, open.time_ms, &action) {
            Ok(outcome) => {
                state.commit();
                open.clients.push((open.actions.len() as u32, client));
                open.actions.push(action);
                open.outcomes.push(outcome);
                open.hashes.push(hash);
                self.sequenced.insert(hash, OPEN);
                Ok(())
            }
            Err(error) => {
                state.rollback();
                if open.actions.is_empty() {
                    self.open = None;
                }
                Err(LaneError::Rule(error))
            }
        }
    }

    /// A timer tick at lane time `now_ms`: seals a due batch, re-sends proposals still
    /// waiting for votes, and runs the view-change timers.
    pub fn tick(&mut self, state: &mut dyn LaneState, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        if self.is_primary() {
            self.propose_log(now_ms, &mut out);
        }
        self.seal_if_due(now_ms, &mut out);
        if self.is_primary() {
            let resend = self.config.resend_ms;
            let (view, me, members) = (self.view, self.me, self.committee.keys.len());
            for flight in self.in_flight.values_mut() {
                if now_ms.saturating_sub(flight.sent_ms) < resend {
                    continue;
                }
                flight.sent_ms = now_ms;
                let Some(signature) = flight.votes.get(&me) else {
                    continue;
                };
                out.extend(flight.proposals(view, me, members, signature));
            }
        }
        self.watch(state, now_ms, &mut out);
        out
    }

    /// The primary proposes every batch of its log beyond what it knows certified that
    /// awaits no certificate yet: batches restored after a restart, carried into a new
    /// view. (A batch on top of them must never be certified before them.)
    fn propose_log(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        if self.log.range(self.committed + 1..).count() == self.in_flight.len() {
            return;
        }
        let missing: Vec<Batch> = self
            .log
            .range(self.committed + 1..)
            .filter(|(height, _)| !self.in_flight.contains_key(height))
            .map(|(_, batch)| batch.clone())
            .collect();
        for batch in missing {
            let (height, hash) = (batch.header.height, batch.header.hash());
            let flight = InFlight::new(batch, Vec::new(), now_ms);
            for action in &flight.hashes {
                self.sequenced.insert(*action, height);
            }
            self.in_flight.insert(height, flight);
            out.push(Output::Sign { height, hash });
        }
    }

    fn seal_if_due(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let Some(open) = &self.open else {
            return;
        };
        let full = open.actions.len() >= self.config.max_batch.min(MAX_BATCH_ACTIONS);
        let old = now_ms.saturating_sub(open.opened_ms) >= self.config.batch_interval_ms;
        if !(full || old) || self.in_flight.len() >= self.config.max_in_flight {
            return;
        }
        if let Some((batch, clients)) = self.seal() {
            let (height, hash) = (batch.header.height, batch.header.hash());
            out.push(Output::Persist(batch.clone()));
            out.push(Output::Sign { height, hash });
            // Proposed once signed (see `signed`).
            self.in_flight
                .insert(height, InFlight::new(batch, clients, now_ms));
        }
    }

    /// Seals the open batch (if any) on the tip: the new tip, in the log.
    fn seal(&mut self) -> Option<(Batch, Vec<(u32, ClientId)>)> {
        let open = self.open.take()?;
        let mut batch = Batch {
            header: BatchHeader {
                genesis: self.genesis,
                area: self.committee.area,
                version: self.committee.version,
                view: self.view,
                height: self.tip.height.saturating_add(1),
                parent: self.tip.hash,
                time_ms: open.time_ms,
                entries_root: H256::zero(),
                count: open.actions.len() as u32,
            },
            actions: open.actions,
            outcomes: open.outcomes,
        };
        batch.header.entries_root = merkle_root(&batch.entries());
        let height = batch.header.height;
        for hash in &open.hashes {
            self.sequenced.insert(*hash, height);
        }
        self.extend_log(batch.clone());
        Some((batch, open.clients))
    }

    /// `batch` (sealed or accepted on the tip) becomes the tip and joins the log.
    fn extend_log(&mut self, batch: Batch) {
        let header = &batch.header;
        self.tip = LaneHead {
            height: header.height,
            hash: header.hash(),
            time_ms: header.time_ms,
        };
        self.vote_views.insert(header.height, self.view);
        self.vote_views_changed = true;
        self.log.insert(header.height, batch);
    }

    /// This member votes for its log's batch at `height` in its current view (again).
    pub(crate) fn mark_voted(&mut self, height: u64) {
        if !self.log.contains_key(&height) {
            return;
        }
        let view = self.view;
        let entry = self.vote_views.entry(height).or_insert(view);
        if *entry < view {
            *entry = view;
        }
        self.vote_views_changed = true;
    }

    /// The last view this member voted in for its log's batch at `height`.
    pub(crate) fn voted_view(&self, height: u64) -> u32 {
        let first = self.log.get(&height).map_or(0, |batch| batch.header.view);
        self.vote_views
            .get(&height)
            .copied()
            .unwrap_or(first)
            .max(first)
    }

    /// The views this member last voted in for the batches of its log, when they
    /// changed since the last call: the driver makes them durable with the round's
    /// batches, before anything the lane says leaves (a restarted member must report
    /// them as they were, see [`Lane::restore_vote_views`]).
    pub fn take_vote_views(&mut self) -> Option<Vec<(u64, u32)>> {
        if !std::mem::take(&mut self.vote_views_changed) {
            return None;
        }
        let log = &self.log;
        self.vote_views.retain(|height, _| log.contains_key(height));
        Some(self.vote_views.iter().map(|(h, v)| (*h, *v)).collect())
    }

    /// A restarted member: the views it last voted in for its restored batches.
    pub fn restore_vote_views(&mut self, views: &[(u64, u32)]) {
        for (height, view) in views {
            if self.log.contains_key(height) {
                let entry = self.vote_views.entry(*height).or_insert(*view);
                *entry = (*entry).max(*view);
            }
        }
    }

    /// The driver signed the header at `height` (hashed `hash`) that this lane asked for
    /// with [`Output::Sign`]: the primary proposes the batch (and counts its own vote), a
    /// replica sends its vote. A signature for a header the lane no longer waits on (the
    /// chain moved past it, the view changed) is dropped.
    pub fn signed(&mut self, height: u64, hash: H256, signature: MemberSignature) -> Vec<Output> {
        let mut out = Vec::new();
        if height == REPORT_HEIGHT {
            self.report_signed(hash, signature, &mut out);
        } else if self.is_primary() {
            let (view, me, members) = (self.view, self.me, self.committee.keys.len());
            let Some(flight) = self.in_flight.get_mut(&height) else {
                return out;
            };
            if flight.batch.header.hash() != hash || flight.votes.contains_key(&me) {
                return out;
            }
            out.extend(flight.proposals(view, me, members, &signature));
            flight.votes.insert(me, signature);
            self.certify_ready(&mut out);
        } else if let Some((voted, pending @ None)) = self.voted.get_mut(&height) {
            if *voted == hash {
                *pending = Some(signature.clone());
                if self.active {
                    out.push(self.vote_message(height, hash, signature));
                }
            }
        }
        out
    }

    /// A message from member `from`.
    pub fn on_message(
        &mut self,
        state: &mut dyn LaneState,
        from: MemberIndex,
        message: LaneMessage,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if usize::from(from) >= self.committee.keys.len() || from == self.me {
            return out;
        }
        let ours = |area: AreaId, version: u64| {
            area == self.committee.area && version == self.committee.version
        };
        match message {
            LaneMessage::Propose {
                view,
                batch,
                signature,
            } => self.on_proposal(state, from, view, batch, signature, &mut out),
            LaneMessage::Vote {
                area,
                version,
                view,
                height,
                hash,
                signature,
            } if ours(area, version) => {
                if view == self.view && self.is_primary() {
                    self.on_vote(from, height, hash, signature, &mut out);
                } else if view < self.view {
                    self.tell_status(from, &mut out);
                }
            }
            LaneMessage::Commit {
                view,
                header,
                certificate,
            } => self.on_commit(state, from, view, header, certificate, &mut out),
            LaneMessage::ViewChange {
                area,
                version,
                view,
                report,
                batches,
            } if ours(area, version) => {
                self.on_view_change(state, from, view, report, batches, &mut out)
            }
            LaneMessage::NewView {
                area,
                version,
                view,
                reports,
            } if ours(area, version) => self.on_new_view(state, from, view, reports, &mut out),
            LaneMessage::Status {
                area,
                version,
                view,
                running,
            } if ours(area, version) => self.on_status(state, from, view, running, &mut out),
            _ => {}
        }
        out
    }

    fn on_vote(
        &mut self,
        from: MemberIndex,
        height: u64,
        hash: H256,
        signature: MemberSignature,
        out: &mut Vec<Output>,
    ) {
        let Some(key) = self.committee.keys.get(usize::from(from)).copied() else {
            return;
        };
        let Some(flight) = self.in_flight.get_mut(&height) else {
            // A vote for a batch certified already: the voter missed the commit.
            if let Some(certified) = self.recent.batch(height) {
                if certified.batch.header.hash() == hash {
                    out.push(Output::Send {
                        to: from,
                        message: LaneMessage::Commit {
                            view: self.view,
                            header: certified.batch.header.clone(),
                            certificate: certified.certificate.clone(),
                        },
                    });
                }
            }
            return;
        };
        if flight.batch.header.hash() != hash || flight.votes.contains_key(&from) {
            return;
        }
        if !verify_member(&hash, &signature, &key) {
            return;
        }
        self.voters.insert(from);
        flight.votes.insert(from, signature);
        self.certify_ready(out);
    }

    /// Emits, in height order, every in-flight batch that has its quorum: the certified
    /// batch, the commit to every replica, and the receipts.
    fn certify_ready(&mut self, out: &mut Vec<Output>) {
        let quorum = self.committee.quorum();
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.get().votes.len() < quorum {
                break;
            }
            let flight = entry.remove();
            let certificate = Certificate {
                signatures: flight.votes.into_iter().take(quorum).collect(),
            };
            let header = flight.batch.header.clone();
            self.committed = self.committed.max(header.height);
            for hash in &flight.hashes {
                self.sequenced.remove(hash);
            }
            let certified = CertifiedBatch {
                batch: flight.batch,
                certificate: certificate.clone(),
            };
            // The certified batch goes out before any receipt: whatever a player was
            // promised is already on its way to block authors.
            out.push(Output::Certified(certified.clone()));
            for to in 0..self.committee.keys.len() as MemberIndex {
                if to != self.me {
                    out.push(Output::Send {
                        to,
                        message: LaneMessage::Commit {
                            view: self.view,
                            header: header.clone(),
                            certificate: certificate.clone(),
                        },
                    });
                }
            }
            if !flight.clients.is_empty() {
                let (_, proofs) = merkle_paths(&certified.batch.entries());
                for (index, client) in flight.clients {
                    let i = index as usize;
                    let (Some(hash), Some(outcome), Some(proof)) = (
                        flight.hashes.get(i),
                        certified.batch.outcomes.get(i),
                        proofs.get(i),
                    ) else {
                        continue;
                    };
                    out.push(Output::Receipt {
                        client,
                        receipt: Receipt {
                            header: header.clone(),
                            certificate: certificate.clone(),
                            index,
                            action_hash: *hash,
                            outcome: *outcome,
                            proof: proof.clone(),
                        },
                    });
                }
            }
            self.recent.insert(certified);
        }
    }

    /// The view was rebuilt on a new best block (the batches of the log already
    /// re-applied by the driver): re-executes the open batch's actions on it, refusing
    /// those that no longer pass.
    pub fn replay_open(&mut self, state: &mut dyn LaneState) -> Vec<Output> {
        let mut out = Vec::new();
        self.stale = false;
        let Some(open) = self.open.take() else {
            return out;
        };
        let mut kept = Open {
            opened_ms: open.opened_ms,
            time_ms: open.time_ms,
            actions: Vec::new(),
            outcomes: Vec::new(),
            hashes: Vec::new(),
            clients: Vec::new(),
        };
        let mut waiting: BTreeMap<u32, Vec<ClientId>> = BTreeMap::new();
        for (index, client) in open.clients {
            waiting.entry(index).or_default().push(client);
        }
        for (index, (action, hash)) in open.actions.into_iter().zip(open.hashes).enumerate() {
            let clients = waiting.remove(&(index as u32)).unwrap_or_default();
            state.checkpoint();
            match state.execute(&self.committee, kept.time_ms, &action) {
                Ok(outcome) => {
                    state.commit();
                    let at = kept.actions.len() as u32;
                    kept.clients.extend(clients.into_iter().map(|c| (at, c)));
                    kept.actions.push(action);
                    kept.outcomes.push(outcome);
                    kept.hashes.push(hash);
                }
                Err(error) => {
                    state.rollback();
                    self.sequenced.remove(&hash);
                    for client in clients {
                        out.push(Output::Rejected {
                            client,
                            error: LaneError::Rule(error),
                        });
                    }
                }
            }
        }
        if !kept.actions.is_empty() {
            self.open = Some(kept);
        }
        // Proposals that waited for the rebuilt view.
        if !self.is_primary() {
            self.accept_next(state, &mut out);
        }
        out
    }

    /// The chain included the lane up to `head`: a member that fell behind (it missed
    /// proposals) continues from there, and one whose batches beyond it went another way
    /// than the chain forgets them ([`Output::Discard`]).
    ///
    /// Batches this member sealed at those heights that never got their certificate were
    /// superseded by the chain's: their actions are refused (`Superseded`), to be
    /// submitted again.
    pub fn on_included(&mut self, head: &LaneHead) -> Vec<Output> {
        let mut out = Vec::new();
        let diverged = self
            .log
            .get(&head.height)
            .is_some_and(|batch| batch.header.hash() != head.hash)
            || (head.height == self.tip.height && head.hash != self.tip.hash);
        if diverged && self.log.range(head.height + 1..).next().is_some() {
            out.push(Output::Discard { above: head.height });
        }
        if head.height > self.tip.height || diverged {
            self.tip = head.clone();
            self.log.clear();
            self.voted.clear();
            self.committed = self.committed.min(head.height);
        }
        if head.height >= self.included.height {
            self.included = head.clone();
        }
        self.committed = self.committed.max(head.height);
        self.log.retain(|height, _| *height > head.height);
        self.buffered.retain(|height, _| *height > head.height);
        self.voted.retain(|height, _| *height > head.height);
        let mut superseded = Vec::new();
        while let Some(entry) = self.in_flight.first_entry() {
            if *entry.key() > head.height && !diverged {
                break;
            }
            superseded.push(entry.remove());
        }
        for flight in superseded {
            let included = flight.batch.header.height == head.height
                && flight.batch.header.hash() == head.hash;
            for hash in &flight.hashes {
                self.sequenced.remove(hash);
            }
            if !included {
                for (_, client) in flight.clients {
                    out.push(Output::Rejected {
                        client,
                        error: LaneError::Superseded,
                    });
                }
            }
        }
        self.unplace_held();
        out
    }
}

impl Lane {
    /// The certified batch that follows this member's tip, learned from gossip (the
    /// driver applied it to the view): a replica that missed the proposals continues
    /// after it. Any other batch is ignored: the driver feeds them in order.
    /// The batch joins its log (persisted first: [`Output::Persist`]), so a view-change
    /// report carries it, after a restart too.
    pub fn catch_up(&mut self, certified: &CertifiedBatch) -> Vec<Output> {
        let mut out = Vec::new();
        let header = &certified.batch.header;
        // Only the batch that follows its tip: a log with a hole would report the
        // batches above the hole without those below it, and a view could then carry
        // another batch at a certified height in the hole.
        if header.height != self.tip.height + 1
            || header.parent != self.tip.hash
            || self.is_primary()
            || self.log.len() >= MAX_LOG + LOG_SLACK
        {
            return out;
        }
        let height = header.height;
        // Durable like every batch of its log: it votes on top of it, and a restart
        // must report it (a report without it could let a view carry another batch at
        // its height while this member's later votes count for a certificate above).
        out.push(Output::Persist(certified.batch.clone()));
        self.extend_log(certified.batch.clone());
        self.committed = self.committed.max(height);
        self.timer.dead = false;
        self.buffered.retain(|h, _| *h > height);
        self.voted.retain(|h, _| *h > height);
        self.answer_held(certified, &mut out);
        self.recent.insert(certified.clone());
        out
    }
}

pub mod sim;
#[cfg(test)]
mod tests;
