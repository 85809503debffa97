//! The voter's environment: chain queries over the client, per-round vote routing, vote
//! signing with persistence before sending, and the hooks the voter calls (completed
//! rounds, finalization, equivocations).

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arceon_primitives::{BlockNumber, H256};
use codec::Encode;
use finality_grandpa::voter::{CommunicationOut, Environment, RoundData};
use finality_grandpa::voter_set::VoterSet;
use finality_grandpa::{
    Chain, Equivocation, HistoricalVotes, Message, Precommit, Prevote, PrimaryPropose,
};
use futures::channel::mpsc;
use futures::{Future, Sink};

use crate::justification::sign_vote;
use crate::state::{self, CompletedRound, Stage};
use crate::wire::GossipMessage;
use crate::{AuthorityId, AuthoritySignature, Commit, FinalityError, Inner, SignedMessage};

/// Incoming votes of one round.
pub(crate) type VoteStream = mpsc::UnboundedReceiver<Result<SignedMessage, FinalityError>>;

/// A voter timer.
pub(crate) type Timer = Pin<Box<dyn Future<Output = Result<(), FinalityError>> + Send>>;

fn timer(after: Duration) -> Timer {
    Box::pin(async move {
        tokio::time::sleep(after).await;
        Ok(())
    })
}

/// The votes seen in one round, and the voter's subscriptions to them.
#[derive(Default)]
struct RoundVotes {
    seen: Vec<SignedMessage>,
    encoded: HashSet<Vec<u8>>,
    /// Votes kept per (voter, stage): at most its vote and one equivocation.
    per_voter: std::collections::HashMap<(AuthorityId, u8), usize>,
    subscribers: Vec<mpsc::UnboundedSender<Result<SignedMessage, FinalityError>>>,
}

/// Routes verified votes of the current set to the voter's rounds.
pub(crate) struct Router {
    /// The set whose votes are routed.
    pub set_id: u64,
    /// The voter's best round.
    pub current_round: u64,
    rounds: BTreeMap<u64, RoundVotes>,
}

/// Rounds older than the best round minus this are forgotten.
const KEEP_ROUNDS: u64 = 8;
/// Votes this far ahead of the best round are still buffered; a voter further behind
/// catches up by request instead (see `request_catch_up`).
pub(crate) const FUTURE_ROUNDS: u64 = 32;
/// Votes kept per voter, stage and round: its vote and one equivocation (the evidence).
/// More from one voter is junk that would only cost memory.
pub(crate) const VOTES_PER_VOTER_STAGE: usize = 2;

fn stage_of(vote: &SignedMessage) -> u8 {
    match vote.message {
        Message::PrimaryPropose(_) => 0,
        Message::Prevote(_) => 1,
        Message::Precommit(_) => 2,
    }
}

impl Router {
    pub(crate) fn new(set_id: u64) -> Router {
        Router {
            set_id,
            current_round: 1,
            rounds: BTreeMap::new(),
        }
    }

    /// Whether `round` is within the window of rounds votes are kept for.
    pub(crate) fn in_window(&self, round: u64) -> bool {
        round + KEEP_ROUNDS >= self.current_round
            && round <= self.current_round.saturating_add(FUTURE_ROUNDS)
    }

    /// Whether this exact signed vote was already routed, or its voter already has as
    /// many votes in this stage of the round as are kept.
    pub(crate) fn is_duplicate(&self, round: u64, vote: &SignedMessage) -> bool {
        self.rounds.get(&round).is_some_and(|r| {
            r.encoded.contains(&vote.encode())
                || r.per_voter
                    .get(&(vote.id, stage_of(vote)))
                    .is_some_and(|n| *n >= VOTES_PER_VOTER_STAGE)
        })
    }

    /// Hands a verified vote to the round's subscribers; false if it was a duplicate.
    pub(crate) fn deliver(&mut self, round: u64, vote: SignedMessage) -> bool {
        if !self.in_window(round) {
            return false;
        }
        let entry = self.rounds.entry(round).or_default();
        let count = entry
            .per_voter
            .entry((vote.id, stage_of(&vote)))
            .or_default();
        if *count >= VOTES_PER_VOTER_STAGE {
            return false;
        }
        if !entry.encoded.insert(vote.encode()) {
            return false;
        }
        *count += 1;
        entry
            .subscribers
            .retain(|tx| tx.unbounded_send(Ok(vote.clone())).is_ok());
        entry.seen.push(vote);
        true
    }

    /// Every vote routed for the best round and the one before it.
    pub(crate) fn recent_votes(&self) -> Vec<(u64, SignedMessage)> {
        self.rounds
            .range(self.current_round.saturating_sub(1)..=self.current_round)
            .flat_map(|(round, votes)| votes.seen.iter().map(|vote| (*round, vote.clone())))
            .collect()
    }

    fn subscribe(&mut self, round: u64) -> VoteStream {
        let (tx, rx) = mpsc::unbounded();
        let entry = self.rounds.entry(round).or_default();
        for vote in &entry.seen {
            let _ = tx.unbounded_send(Ok(vote.clone()));
        }
        entry.subscribers.push(tx);
        rx
    }

    fn advance(&mut self, round: u64) {
        self.current_round = self.current_round.max(round);
        let keep_from = self.current_round.saturating_sub(KEEP_ROUNDS);
        self.rounds = self.rounds.split_off(&keep_from);
    }
}

/// The environment of one set's voter.
pub(crate) struct Env {
    pub inner: Arc<Inner>,
    pub set_id: u64,
    pub voters: VoterSet<AuthorityId>,
    pub local: Option<sp_core::ed25519::Pair>,
}

impl Env {
    fn local_id(&self) -> Option<AuthorityId> {
        use sp_core::Pair as _;
        self.local.as_ref().map(|pair| pair.public())
    }

    /// Signs and persists our vote unless one was already cast in this stage (then the
    /// earlier one stands and is what the outgoing sink sends).
    fn note_vote(
        &self,
        round: u64,
        message: Message<H256, BlockNumber>,
    ) -> Result<(), FinalityError> {
        let Some(pair) = &self.local else {
            return Ok(());
        };
        if self.inner.set.read().set_id != self.set_id {
            // This voter's set is over: it is about to be replaced.
            return Ok(());
        }
        let db = self.inner.client.db();
        if state::load_vote(db, self.set_id, round, Stage::of(&message))?.is_some() {
            return Ok(());
        }
        use sp_core::Pair as _;
        let signed = SignedMessage {
            signature: sign_vote(pair, &message, round, self.set_id),
            id: pair.public(),
            message,
        };
        state::store_vote(db, self.set_id, round, &signed)
    }

    fn report_equivocation(
        &self,
        round: u64,
        stage: u8,
        offender: AuthorityId,
        first: ((H256, BlockNumber), AuthoritySignature),
        second: ((H256, BlockNumber), AuthoritySignature),
    ) {
        use arceon_consensus_primitives::{FinalityVote, VoteEquivocationProof};
        let vote = |(target_hash, target_number): (H256, BlockNumber)| FinalityVote {
            stage,
            target_hash,
            target_number,
        };
        let proof = VoteEquivocationProof {
            set_id: self.set_id,
            round,
            offender,
            first: (vote(first.0), first.1 .0),
            second: (vote(second.0), second.1 .0),
        };
        log::warn!(
            target: "finality",
            "equivocation by {offender:?} in round {round} of set {} (stage {stage}); reporting",
            self.set_id
        );
        let call = arceon_runtime::offchain::report_vote_equivocation(proof);
        let extrinsic = arceon_runtime::Extrinsic::new_unsigned(call).encode();
        if let Err(e) = (self.inner.submit_extrinsic)(extrinsic) {
            log::warn!(target: "finality", "equivocation report not submitted: {e}");
        }
    }
}

impl Chain<H256, BlockNumber> for Env {
    fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
        self.inner
            .ancestry(base, block)
            .map_err(|_| finality_grandpa::Error::NotDescendent)
    }
}

/// Sends our votes of one round: the persisted vote of its stage (so a restarted node
/// re-sends exactly what it sent before), gossiped and looped back to the round.
pub(crate) struct RoundSink {
    inner: Arc<Inner>,
    set_id: u64,
    round: u64,
    local: bool,
}

impl Sink<Message<H256, BlockNumber>> for RoundSink {
    type Error = FinalityError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(
        self: Pin<&mut Self>,
        message: Message<H256, BlockNumber>,
    ) -> Result<(), Self::Error> {
        if !self.local || self.inner.set.read().set_id != self.set_id {
            return Ok(());
        }
        let db = self.inner.client.db();
        let Some(signed) = state::load_vote(db, self.set_id, self.round, Stage::of(&message))?
        else {
            // The environment persists every vote before the voter sends it.
            log::error!(target: "finality", "unpersisted vote not sent: {message:?}");
            return Ok(());
        };
        if signed.message != message {
            log::info!(
                target: "finality",
                "round {}: re-sending the vote cast before a restart", self.round
            );
        }
        let wire = GossipMessage::Vote {
            round: self.round,
            set_id: self.set_id,
            message: signed.clone(),
        };
        self.inner.network.gossip(wire.encode());
        self.inner.router.lock().deliver(self.round, signed);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

/// Gossips the voter's commits.
pub(crate) struct CommitSink {
    pub inner: Arc<Inner>,
    pub set_id: u64,
}

type CommitOut = CommunicationOut<H256, BlockNumber, AuthoritySignature, AuthorityId>;

impl Sink<CommitOut> for CommitSink {
    type Error = FinalityError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: CommitOut) -> Result<(), Self::Error> {
        let CommunicationOut::Commit(round, commit) = item;
        let wire = GossipMessage::Commit {
            round,
            set_id: self.set_id,
            commit: commit.into(),
        };
        self.inner.network.gossip(wire.encode());
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

type BestChain = futures::future::Ready<Result<Option<(H256, BlockNumber)>, FinalityError>>;

impl Environment<H256, BlockNumber> for Env {
    type Timer = Timer;
    type BestChain = BestChain;
    type Id = AuthorityId;
    type Signature = AuthoritySignature;
    type In = VoteStream;
    type Out = Pin<Box<RoundSink>>;
    type Error = FinalityError;

    fn best_chain_containing(&self, base: H256) -> Self::BestChain {
        futures::future::ready(self.inner.best_chain_containing(base))
    }

    fn round_data(&self, round: u64) -> RoundData<AuthorityId, Timer, VoteStream, Self::Out> {
        let gossip = self.inner.gossip_duration;
        let incoming = {
            let mut router = self.inner.router.lock();
            if router.set_id == self.set_id {
                router.subscribe(round)
            } else {
                // The set changed under this voter: it is about to be replaced.
                mpsc::unbounded().1
            }
        };
        let voter_id = self.local_id().filter(|id| self.voters.contains(id));
        RoundData {
            voter_id,
            prevote_timer: timer(gossip * 2),
            precommit_timer: timer(gossip * 4),
            incoming,
            outgoing: Box::pin(RoundSink {
                inner: self.inner.clone(),
                set_id: self.set_id,
                round,
                local: voter_id.is_some(),
            }),
        }
    }

    fn round_commit_timer(&self) -> Self::Timer {
        use rand::Rng as _;
        let max = self.inner.gossip_duration.as_millis().max(1) as u64;
        timer(Duration::from_millis(rand::thread_rng().gen_range(0..max)))
    }

    fn proposed(
        &self,
        round: u64,
        propose: PrimaryPropose<H256, BlockNumber>,
    ) -> Result<(), Self::Error> {
        self.note_vote(round, Message::PrimaryPropose(propose))
    }

    fn prevoted(&self, round: u64, prevote: Prevote<H256, BlockNumber>) -> Result<(), Self::Error> {
        self.note_vote(round, Message::Prevote(prevote))
    }

    fn precommitted(
        &self,
        round: u64,
        precommit: Precommit<H256, BlockNumber>,
    ) -> Result<(), Self::Error> {
        self.note_vote(round, Message::Precommit(precommit))
    }

    fn completed(
        &self,
        round: u64,
        _state: finality_grandpa::round::State<H256, BlockNumber>,
        base: (H256, BlockNumber),
        votes: &HistoricalVotes<H256, BlockNumber, AuthoritySignature, AuthorityId>,
    ) -> Result<(), Self::Error> {
        let completed = CompletedRound {
            set_id: self.set_id,
            number: round,
            base,
            votes: votes.seen().to_vec(),
        };
        let previous = {
            let last = self.inner.last_completed.lock();
            last.as_ref()
                .filter(|c| c.set_id == self.set_id)
                .map_or(0, |c| c.number)
        };
        state::store_completed(self.inner.client.db(), &completed, previous + 1)?;
        *self.inner.last_completed.lock() = Some(completed);
        let mut router = self.inner.router.lock();
        if router.set_id == self.set_id {
            router.advance(round + 1);
        }
        Ok(())
    }

    /// A background round concluded: it votes no more, so this node's votes of it can go
    /// (not before: see [`state::store_completed`]).
    fn concluded(
        &self,
        round: u64,
        _state: finality_grandpa::round::State<H256, BlockNumber>,
        _base: (H256, BlockNumber),
        _votes: &HistoricalVotes<H256, BlockNumber, AuthoritySignature, AuthorityId>,
    ) -> Result<(), Self::Error> {
        state::forget_votes(self.inner.client.db(), self.set_id, round)
    }

    fn finalize_block(
        &self,
        hash: H256,
        number: BlockNumber,
        round: u64,
        commit: Commit,
    ) -> Result<(), Self::Error> {
        if let Err(e) = self
            .inner
            .finalize_with_commit(self.set_id, hash, number, round, commit)
        {
            // A block we cannot finalize (pruned fork, database error) must not stop the
            // voter: later rounds finalize descendants.
            log::warn!(target: "finality", "finalizing #{number} ({hash:?}) failed: {e}");
        }
        Ok(())
    }

    fn prevote_equivocation(
        &self,
        round: u64,
        equivocation: Equivocation<AuthorityId, Prevote<H256, BlockNumber>, AuthoritySignature>,
    ) {
        let (first, second) = (equivocation.first, equivocation.second);
        self.report_equivocation(
            round,
            arceon_consensus_primitives::STAGE_PREVOTE,
            equivocation.identity,
            ((first.0.target_hash, first.0.target_number), first.1),
            ((second.0.target_hash, second.0.target_number), second.1),
        );
    }

    fn precommit_equivocation(
        &self,
        round: u64,
        equivocation: Equivocation<AuthorityId, Precommit<H256, BlockNumber>, AuthoritySignature>,
    ) {
        let (first, second) = (equivocation.first, equivocation.second);
        self.report_equivocation(
            round,
            arceon_consensus_primitives::STAGE_PRECOMMIT,
            equivocation.identity,
            ((first.0.target_hash, first.0.target_number), first.1),
            ((second.0.target_hash, second.0.target_number), second.1),
        );
    }
}
