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
//! Protocol (view 0; a view change replaces the primary in the follow-up):
//! - The primary checks each submitted action (signature, then the area's rules through
//!   [`LaneState::execute`]) and answers a refusal at once. Accepted actions join the
//!   open batch, stamped with the batch's lane time (set when the batch opens:
//!   monotonic, at least 1 ms after the previous batch).
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
//!   emits the certified batch (for blocks and observers) and one receipt per action.
//!   Proposals not yet certified are re-sent every [`LaneConfig::resend_ms`].
//!
//! Every message and batch header names its area, committee version and view, so a
//! view change can tell old messages from new ones.

use std::collections::BTreeMap;

use arceon_pallet_areas::AreaId;
pub use arceon_pallet_fastlane::types::{
    merkle_paths, merkle_proof, merkle_root, quorum, sign_round, Batch, BatchHeader, Certificate,
    CertifiedBatch, LaneAction, MemberSignature, Outcome, Receipt, SignedLaneAction,
    MAX_BATCH_ACTIONS, MAX_ROUND_HEADERS,
};
use arceon_pallet_fastlane::{sigcache, Error as LaneRuleError, LaneHead};
use arceon_primitives::H256;
use arceon_support::DispatchError;
use codec::{Decode, Encode};

/// A proposed batch with the primary's header signature.
type Proposal = (Batch, MemberSignature);

/// Index of a member in its committee (primary first).
pub type MemberIndex = u8;
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
    /// The most actions waiting in the open and in-flight batches; more are refused
    /// (`Overloaded`).
    pub max_pending: usize,
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
    /// The members' signing keys (Aura session keys), primary first.
    pub keys: Vec<[u8; 32]>,
}

impl Committee {
    /// Signatures a certificate needs.
    pub fn quorum(&self) -> usize {
        quorum(self.keys.len())
    }
}

/// Why a lane refused an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneError {
    /// The world's rules refused it: a players or fastlane error (`Players.TooFast`,
    /// `FastLane.StaleNonce`, ...).
    Rule(DispatchError),
    /// This member is not the area's primary.
    NotPrimary,
    /// Too many actions are waiting; try again shortly.
    Overloaded,
    /// The lane moved past the batch the action was sequenced in before it was
    /// certified (another batch holds its height); submit it again.
    Superseded,
}

impl From<LaneRuleError> for LaneError {
    fn from(error: LaneRuleError) -> Self {
        LaneError::Rule(error.into())
    }
}

/// A message between committee members.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum LaneMessage {
    /// A sealed batch, with the primary's signature on its header.
    #[codec(index = 0)]
    Propose {
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
}

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
    /// Sign the header of this lane's batch at `height` (hashed `hash`) with this
    /// member's key, in a round with any other headers to sign, and hand the signature to
    /// [`Lane::signed`].
    Sign {
        /// The batch height.
        height: u64,
        /// The header hash.
        hash: H256,
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

struct Open {
    opened_ms: u64,
    time_ms: u64,
    actions: Vec<SignedLaneAction>,
    outcomes: Vec<Outcome>,
    clients: Vec<ClientId>,
}

struct InFlight {
    batch: Batch,
    clients: Vec<ClientId>,
    votes: BTreeMap<MemberIndex, MemberSignature>,
    sent_ms: u64,
}

impl InFlight {
    /// The primary's proposal of this batch (signed `signature`) to each of the
    /// committee's `members` that has not voted for it.
    fn proposals(
        &self,
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
                    batch: self.batch.clone(),
                    signature: signature.clone(),
                },
            })
            .collect()
    }
}

/// One member's view of one area's lane.
pub struct Lane {
    genesis: H256,
    committee: Committee,
    me: MemberIndex,
    view: u32,
    config: LaneConfig,
    /// The last batch this member sealed or accepted (height, hash, time).
    tip: LaneHead,
    open: Option<Open>,
    in_flight: BTreeMap<u64, InFlight>,
    buffered: BTreeMap<u64, Proposal>,
    /// Replica: the header hashes this member voted for beyond the chain's lane head and
    /// its signatures (`None` until [`Lane::signed`]), so a re-sent proposal whose vote
    /// was lost is answered again (bounded by [`MAX_VOTED`]).
    voted: BTreeMap<u64, (H256, Option<MemberSignature>)>,
}

/// The most recent votes a replica remembers for re-sent proposals.
const MAX_VOTED: usize = 256;

impl Lane {
    /// A lane for `committee` where this node is member `me`, continuing after `tip` (the
    /// last batch it knows: in a block, or persisted).
    pub fn new(
        genesis: H256,
        committee: Committee,
        me: MemberIndex,
        tip: LaneHead,
        config: LaneConfig,
    ) -> Self {
        Lane {
            genesis,
            committee,
            me,
            view: 0,
            config,
            tip,
            open: None,
            in_flight: BTreeMap::new(),
            buffered: BTreeMap::new(),
            voted: BTreeMap::new(),
        }
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

    /// Whether this member orders the lane in the current view.
    pub fn is_primary(&self) -> bool {
        usize::from(self.me) == self.view as usize % self.committee.keys.len().max(1)
    }

    /// The last batch sealed or accepted.
    pub fn tip(&self) -> &LaneHead {
        &self.tip
    }

    /// Actions sequenced but not yet certified.
    pub fn pending(&self) -> usize {
        self.open.as_ref().map_or(0, |open| open.actions.len())
            + self
                .in_flight
                .values()
                .map(|flight| flight.batch.actions.len())
                .sum::<usize>()
    }

    /// The lane time of the next [`Lane::tick`] that has work to do (sealing the open
    /// batch, re-sending a proposal), if any.
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
        match (seal, resend) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
        if let Err(error) = self.sequence(state, client, action, now_ms) {
            out.push(Output::Rejected { client, error });
        }
        self.seal_if_due(now_ms, &mut out);
        out
    }

    fn sequence(
        &mut self,
        state: &mut dyn LaneState,
        client: ClientId,
        action: SignedLaneAction,
        now_ms: u64,
    ) -> Result<(), LaneError> {
        if !self.is_primary() {
            return Err(LaneError::NotPrimary);
        }
        // The open batch never outgrows a batch: it is what the next proposal carries,
        // and an oversized proposal would be refused by every replica's network layer.
        let open_full = self
            .open
            .as_ref()
            .is_some_and(|open| open.actions.len() >= self.config.max_batch.min(MAX_BATCH_ACTIONS));
        if open_full || self.pending() >= self.config.max_pending {
            return Err(LaneError::Overloaded);
        }
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
        if !action.verify() {
            return Err(LaneRuleError::BadSignature.into());
        }
        let tip_time = self.tip.time_ms;
        let open = self.open.get_or_insert_with(|| Open {
            opened_ms: now_ms,
            time_ms: now_ms.max(tip_time.saturating_add(1)),
            actions: Vec::new(),
            outcomes: Vec::new(),
            clients: Vec::new(),
        });
        state.checkpoint();
        match state.execute(&self.committee, open.time_ms, &action) {
            Ok(outcome) => {
                state.commit();
                open.actions.push(action);
                open.outcomes.push(outcome);
                open.clients.push(client);
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
    /// waiting for votes.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.seal_if_due(now_ms, &mut out);
        if self.is_primary() {
            let resend = self.config.resend_ms;
            let me = self.me;
            let members = self.committee.keys.len();
            for flight in self.in_flight.values_mut() {
                if now_ms.saturating_sub(flight.sent_ms) < resend {
                    continue;
                }
                flight.sent_ms = now_ms;
                let Some(signature) = flight.votes.get(&me) else {
                    continue;
                };
                out.extend(flight.proposals(me, members, signature));
            }
        }
        out
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
        let Some(open) = self.open.take() else {
            return;
        };
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
        let hash = batch.header.hash();
        let height = batch.header.height;
        self.tip = LaneHead {
            height,
            hash,
            time_ms: batch.header.time_ms,
        };
        out.push(Output::Persist(batch.clone()));
        out.push(Output::Sign { height, hash });
        // Proposed once signed (see `signed`).
        self.in_flight.insert(
            height,
            InFlight {
                batch,
                clients: open.clients,
                votes: BTreeMap::new(),
                sent_ms: now_ms,
            },
        );
    }

    /// The driver signed the header at `height` (hashed `hash`) that this lane asked for
    /// with [`Output::Sign`]: the primary proposes the batch (and counts its own vote), a
    /// replica sends its vote. A signature for a header the lane no longer waits on (the
    /// chain moved past it) is dropped.
    pub fn signed(&mut self, height: u64, hash: H256, signature: MemberSignature) -> Vec<Output> {
        let mut out = Vec::new();
        if self.is_primary() {
            let me = self.me;
            let Some(flight) = self.in_flight.get_mut(&height) else {
                return out;
            };
            if flight.batch.header.hash() != hash || flight.votes.contains_key(&me) {
                return out;
            }
            out.extend(flight.proposals(me, self.committee.keys.len(), &signature));
            flight.votes.insert(me, signature);
            self.certify_ready(&mut out);
        } else if let Some((voted, pending @ None)) = self.voted.get_mut(&height) {
            if *voted == hash {
                *pending = Some(signature.clone());
                out.push(self.vote_message(height, hash, signature));
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
        match message {
            LaneMessage::Propose { batch, signature } => {
                self.on_proposal(state, from, batch, signature, &mut out)
            }
            LaneMessage::Vote {
                area,
                version,
                view,
                height,
                hash,
                signature,
            } => {
                let current = area == self.committee.area
                    && version == self.committee.version
                    && view == self.view;
                if current {
                    self.on_vote(from, height, hash, signature, &mut out);
                }
            }
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
            return;
        };
        if flight.batch.header.hash() != hash || flight.votes.contains_key(&from) {
            return;
        }
        if !verify_member(&hash, &signature, &key) {
            return;
        }
        flight.votes.insert(from, signature);
        self.certify_ready(out);
    }

    /// Emits, in height order, every in-flight batch that has its quorum.
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
            let (_, proofs) = merkle_paths(&flight.batch.entries());
            // The certified batch goes out before any receipt: whatever a player was
            // promised is already on its way to block authors.
            let certified = CertifiedBatch {
                batch: flight.batch,
                certificate: certificate.clone(),
            };
            out.push(Output::Certified(certified.clone()));
            let flight_batch = certified.batch;
            for (index, (client, proof)) in flight.clients.iter().zip(proofs).enumerate() {
                let (Some(action), Some(outcome)) = (
                    flight_batch.actions.get(index),
                    flight_batch.outcomes.get(index),
                ) else {
                    continue;
                };
                out.push(Output::Receipt {
                    client: *client,
                    receipt: Receipt {
                        header: flight_batch.header.clone(),
                        certificate: certificate.clone(),
                        index: index as u32,
                        action_hash: action.hash(),
                        outcome: *outcome,
                        proof,
                    },
                });
            }
        }
    }

    fn on_proposal(
        &mut self,
        state: &mut dyn LaneState,
        from: MemberIndex,
        batch: Batch,
        signature: MemberSignature,
        out: &mut Vec<Output>,
    ) {
        let header = &batch.header;
        let primary = self.view as usize % self.committee.keys.len().max(1);
        let current = header.genesis == self.genesis
            && header.area == self.committee.area
            && header.version == self.committee.version
            && header.view == self.view
            && usize::from(from) == primary
            && !self.is_primary();
        if !current || header.height <= self.tip.height {
            // Stale or not ours. A re-sent proposal we already voted on is answered
            // again, in case our vote was lost: the primary certifies in height order, so
            // one lost vote below our tip would otherwise stall the lane for good.
            if let Some((hash, vote)) = self.voted.get(&header.height) {
                if current && *hash == header.hash() {
                    out.push(match vote {
                        Some(vote) => self.vote_message(header.height, *hash, vote.clone()),
                        // Voted before a restart (or the signature is on its way):
                        // signing the same header again is no equivocation.
                        None => Output::Sign {
                            height: header.height,
                            hash: *hash,
                        },
                    });
                }
            }
            return;
        }
        if header.height > self.tip.height.saturating_add(1) {
            if self.buffered.len() < self.config.max_buffered {
                self.buffered.insert(header.height, (batch, signature));
            }
            return;
        }
        self.buffered.insert(header.height, (batch, signature));
        self.accept_next(state, out);
    }

    /// Accepts the buffered proposals that follow the tip, in order. One whose actions do
    /// not apply on this member's view stays buffered for [`Lane::retry`]: it may depend
    /// on another lane's batch (a player crossing in) this member has not applied yet.
    fn accept_next(&mut self, state: &mut dyn LaneState, out: &mut Vec<Output>) {
        while let Some((batch, signature)) = self.buffered.remove(&(self.tip.height + 1)) {
            match self.accept(state, batch, signature, out) {
                Ok(()) => {}
                Err(Some(waiting)) => {
                    self.buffered.insert(self.tip.height + 1, *waiting);
                    break;
                }
                Err(None) => break,
            }
        }
        self.buffered.retain(|height, _| *height > self.tip.height);
    }

    /// A replica restarted: it persisted (and so may have voted for) the batch at
    /// `height` hashed `hash` beyond the chain's lane head. It answers the primary's
    /// re-sent proposal of that batch with a vote again: the primary certifies in height
    /// order, so a vote lost in the crash would otherwise stall the lane for good.
    pub fn restore_vote(&mut self, height: u64, hash: H256) {
        if !self.is_primary() && height > 0 {
            self.voted.insert(height, (hash, None));
            while self.voted.len() > MAX_VOTED {
                self.voted.pop_first();
            }
        }
    }

    /// Whether a replica holds a proposal for the next height that did not apply yet.
    pub fn is_waiting(&self) -> bool {
        !self.is_primary() && self.buffered.contains_key(&(self.tip.height + 1))
    }

    /// The driver applied batches of other lanes: tries the proposal that did not apply
    /// again (see [`Lane::is_waiting`]).
    pub fn retry(&mut self, state: &mut dyn LaneState) -> Vec<Output> {
        let mut out = Vec::new();
        if self.is_waiting() {
            self.accept_next(state, &mut out);
        }
        out
    }

    /// Checks a next-height proposal in full, re-executes it, and persists and votes.
    /// `Err(Some(proposal))`: well formed and signed, but its actions do not apply (yet)
    /// on this member's view; `Err(None)`: invalid.
    fn accept(
        &mut self,
        state: &mut dyn LaneState,
        batch: Batch,
        signature: MemberSignature,
        out: &mut Vec<Output>,
    ) -> Result<(), Option<Box<Proposal>>> {
        let header = &batch.header;
        let primary = self.view as usize % self.committee.keys.len().max(1);
        let Some(primary_key) = self.committee.keys.get(primary).copied() else {
            return Err(None);
        };
        let shaped = header.height == self.tip.height.saturating_add(1)
            && header.parent == self.tip.hash
            && header.time_ms > self.tip.time_ms
            && !batch.actions.is_empty()
            && batch.actions.len() <= MAX_BATCH_ACTIONS
            && batch.body_matches()
            && batch.actions.iter().all(|signed| {
                signed.action.genesis == self.genesis
                    && signed.action.area == self.committee.area
                    && signed.action.version == self.committee.version
            });
        if !shaped
            || !verify_member(&header.hash(), &signature, &primary_key)
            || !arceon_pallet_fastlane::verify_actions(&batch.actions)
        {
            return Err(None);
        }
        state.checkpoint();
        for (action, certified) in batch.actions.iter().zip(&batch.outcomes) {
            match state.execute(&self.committee, header.time_ms, action) {
                Ok(outcome) if outcome == *certified => {}
                _ => {
                    state.rollback();
                    return Err(Some(Box::new((batch, signature))));
                }
            }
        }
        state.commit();
        self.tip = LaneHead {
            height: header.height,
            hash: header.hash(),
            time_ms: header.time_ms,
        };
        out.push(Output::Persist(batch.clone()));
        self.vote(&batch, out);
        Ok(())
    }

    /// Asks for this member's signature of an accepted header; the vote leaves when it
    /// comes back (see [`Lane::signed`]).
    fn vote(&mut self, batch: &Batch, out: &mut Vec<Output>) {
        let header = &batch.header;
        let hash = header.hash();
        self.voted.insert(header.height, (hash, None));
        while self.voted.len() > MAX_VOTED {
            self.voted.pop_first();
        }
        out.push(Output::Sign {
            height: header.height,
            hash,
        });
    }

    fn vote_message(&self, height: u64, hash: H256, signature: MemberSignature) -> Output {
        let primary = (self.view as usize % self.committee.keys.len().max(1)) as MemberIndex;
        Output::Send {
            to: primary,
            message: LaneMessage::Vote {
                area: self.committee.area,
                version: self.committee.version,
                view: self.view,
                height,
                hash,
                signature,
            },
        }
    }

    /// The view was rebuilt on a new best block (the batches in flight already
    /// re-applied by the driver): re-executes the open batch's actions on it, refusing
    /// those that no longer pass.
    pub fn replay_open(&mut self, state: &mut dyn LaneState) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(open) = self.open.take() else {
            return out;
        };
        let mut kept = Open {
            opened_ms: open.opened_ms,
            time_ms: open.time_ms,
            actions: Vec::new(),
            outcomes: Vec::new(),
            clients: Vec::new(),
        };
        for (action, client) in open.actions.into_iter().zip(open.clients) {
            state.checkpoint();
            match state.execute(&self.committee, kept.time_ms, &action) {
                Ok(outcome) => {
                    state.commit();
                    kept.actions.push(action);
                    kept.outcomes.push(outcome);
                    kept.clients.push(client);
                }
                Err(error) => {
                    state.rollback();
                    out.push(Output::Rejected {
                        client,
                        error: LaneError::Rule(error),
                    });
                }
            }
        }
        if !kept.actions.is_empty() {
            self.open = Some(kept);
        }
        out
    }

    /// The chain included the lane up to `head`: a member that fell behind (it missed
    /// proposals) continues from there.
    ///
    /// Batches this member sealed at those heights that never got their certificate were
    /// superseded by the chain's: their actions are refused (`Superseded`), to be
    /// submitted again.
    pub fn on_included(&mut self, head: &LaneHead) -> Vec<Output> {
        let mut out = Vec::new();
        if head.height > self.tip.height
            || (head.height == self.tip.height && head.hash != self.tip.hash)
        {
            self.tip = head.clone();
        }
        self.buffered.retain(|height, _| *height > head.height);
        self.voted.retain(|height, _| *height > head.height);
        let mut superseded = Vec::new();
        while let Some(entry) = self.in_flight.first_entry() {
            if *entry.key() > head.height {
                break;
            }
            superseded.push(entry.remove());
        }
        for flight in superseded {
            let included = flight.batch.header.height == head.height
                && flight.batch.header.hash() == head.hash;
            if !included {
                for client in flight.clients {
                    out.push(Output::Rejected {
                        client,
                        error: LaneError::Superseded,
                    });
                }
            }
        }
        out
    }
}

/// Whether `signature` is member `key`'s signature of the header hashed `hash` (through
/// the verified-signature cache: a round's signature is verified once for all its
/// headers).
fn verify_member(hash: &H256, signature: &MemberSignature, key: &[u8; 32]) -> bool {
    signature
        .message_for(hash)
        .is_some_and(|message| sigcache::verify(&message, &signature.signature, key))
}

pub mod sim;
#[cfg(test)]
mod tests;
