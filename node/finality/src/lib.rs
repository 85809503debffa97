//! GRANDPA finality for Arceon: the `finality-grandpa` voter driven by an environment
//! over the client, with votes gossiped through a [`FinalityNetwork`], justifications
//! stored and served, authority-set changes followed from the header digest, catch-up
//! between voters, equivocations reported on chain, and warp-sync proofs.
//!
//! Invariants: a vote leaves the node only after it was persisted (synced), and a node
//! never casts two different votes in one stage of one round, even across restarts (it
//! re-sends the persisted one); a block is finalized by this crate only with a
//! justification of the set in force, which never skips a set-change block (the voter
//! caps its target at the first unfinalized signal); the authority set follows the
//! finalized chain, however blocks were finalized (voter, synced justification, or the
//! dev node's authoring).

mod catch_up;
mod gossip;
pub mod justification;
pub mod state;
pub mod warp;
pub mod wire;

mod environment;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arceon_client::{ChainEvent, Client};
use arceon_primitives::{ed25519, BlockNumber, Header, H256};
use arceon_runtime::grandpa::scheduled_change;
use codec::{Decode, Encode};
use finality_grandpa::voter::{Callback, CommunicationIn, Voter, VoterState};
use futures::channel::mpsc;
use parking_lot::{Mutex, RwLock};
use sp_core::Pair as _;

use environment::{CommitSink, Env, Router};
pub use justification::{voter_set, GrandpaJustification};
use state::{AuthoritySetState, CompletedRound, SetChange};
pub use warp::{verify_warp_proof, WarpTarget};
use wire::{FinalityProof, FinalityRequest, GossipMessage};

/// A GRANDPA authority: the validator's ed25519 GRANDPA session key.
pub type AuthorityId = ed25519::Public;
/// A vote signature: ed25519 over SCALE `(message, round, set_id)`.
pub type AuthoritySignature = ed25519::Signature;
/// A signed vote.
pub type SignedMessage =
    finality_grandpa::SignedMessage<H256, BlockNumber, AuthoritySignature, AuthorityId>;
/// A commit.
pub type Commit = finality_grandpa::Commit<H256, BlockNumber, AuthoritySignature, AuthorityId>;
/// A commit as gossiped.
pub type CompactCommit =
    finality_grandpa::CompactCommit<H256, BlockNumber, AuthoritySignature, AuthorityId>;
/// A catch-up response.
pub type CatchUp = finality_grandpa::CatchUp<H256, BlockNumber, AuthoritySignature, AuthorityId>;

type GlobalIn = CommunicationIn<H256, BlockNumber, AuthoritySignature, AuthorityId>;
/// The running voter's state report, tagged with its set id.
type SharedVoterState = Option<(u64, Box<dyn VoterState<AuthorityId> + Send + Sync>)>;
/// Where commits and catch-ups for the running voter go, tagged with its set id.
type GlobalSender = Option<(u64, mpsc::UnboundedSender<Result<GlobalIn, FinalityError>>)>;

/// Blocks between stored justifications by default.
pub const DEFAULT_JUSTIFICATION_PERIOD: u32 = 32;
/// The default gossip duration `T`: prevotes at `2T`, precommits at `4T` after a round
/// starts. 100 ms gives several rounds per 1 s slot on loopback and a LAN, so a block is
/// usually final within a second of its slot (`scripts/bench-finality.sh`: p50 0.76 s,
/// p99 1.2 s with 4 validators; 200 ms gave 1.45 s and 2.0 s).
pub const DEFAULT_GOSSIP_DURATION: Duration = Duration::from_millis(100);
/// Votes and commits for unknown blocks kept until the block arrives, in all.
const MAX_WAITING: usize = 1_024;
/// ... and per peer, so one peer's junk cannot push out the others' messages.
const MAX_WAITING_PER_PEER: usize = 32;
/// A waiting message is dropped when its block has not arrived within this time.
const WAITING_TTL: Duration = Duration::from_secs(60);
/// Bytes of one signed precommit in a commit (target hash and number, signature, id)
/// with room for SCALE's prefixes.
const SIGNED_PRECOMMIT_BYTES: usize = 140;

/// The largest finality gossip message or catch-up response a set of `authorities`
/// can produce: every authority's precommits (and prevotes), each voter at most twice.
/// Anything longer is refused before it is decoded.
pub fn max_message_bytes(authorities: usize) -> usize {
    512 + 2 * authorities.max(1) * justification::MAX_VOTES_PER_VOTER * SIGNED_PRECOMMIT_BYTES
}
/// Without a newly finalized block for this long, every voter publishes the votes of its
/// best round and the one before again (a voter that restarted missed them).
const STALL_REBROADCAST: Duration = Duration::from_secs(4);
/// How far back `prove_finality` looks for a stored justification.
const MAX_PROOF_SCAN: u32 = 4_096;

/// The bytes a vote signature covers.
pub fn vote_payload(
    message: &finality_grandpa::Message<H256, BlockNumber>,
    round: u64,
    set_id: u64,
) -> Vec<u8> {
    (message, round, set_id).encode()
}

/// Why a finality operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FinalityError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] arceon_db::DbError),
    /// A persisted finality record does not decode.
    #[error("corrupt finality state: {0}")]
    Corrupt(String),
    /// The block is not stored.
    #[error("unknown block {0:?}")]
    UnknownBlock(H256),
    /// The block does not descend from the finalized block (or the given base).
    #[error("block is not a descendant of the finalized block")]
    NotDescendant,
    /// A justification is malformed or does not prove finality.
    #[error("bad justification: {0}")]
    BadJustification(String),
    /// A justification would finalize past a set-change block that is not final yet.
    #[error("block #{0} changes the authority set and must be finalized first")]
    UnjustifiedSetChange(BlockNumber),
    /// The authority set is empty.
    #[error("empty authority set")]
    EmptyAuthoritySet,
    /// A warp proof is malformed or does not verify.
    #[error("bad warp proof: {0}")]
    BadWarpProof(String),
    /// The set id is ahead of this node's.
    #[error("unknown authority set {0}")]
    UnknownSet(u64),
    /// A set-change block's justification is missing from the database.
    #[error("no justification stored for block #{0}, which the proof needs")]
    MissingJustification(BlockNumber),
    /// The keystore could not be read.
    #[error("keystore: {0}")]
    Keystore(String),
    /// The GRANDPA voter failed.
    #[error("voter: {0}")]
    Voter(String),
}

impl From<finality_grandpa::Error> for FinalityError {
    fn from(e: finality_grandpa::Error) -> Self {
        FinalityError::Voter(format!("{e:?}"))
    }
}

/// What finality needs from the network (implemented by the service over libp2p).
pub trait FinalityNetwork: Send + Sync + 'static {
    /// Gossips `message` (an encoded finality wire message) to all peers.
    fn gossip(&self, message: Vec<u8>);
    /// Sends `request` to the peer (base58 PeerId string) and resolves to its response.
    fn request(
        &self,
        peer: String,
        request: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<Vec<u8>, String>>;
    /// The peer (base58 PeerId string) answered a request with data that can never be
    /// valid; the network lowers its reputation. Nothing by default.
    fn report_misbehaviour(&self, _peer: &str, _reason: &'static str) {}
    /// A message from `peer` names `block`, which this node does not have (a fork it
    /// never saw): fetch it and its missing ancestors from the peer. Nothing by default.
    fn fetch_block(&self, _peer: &str, _block: H256) {}
}

/// Puts an encoded unsigned extrinsic in the transaction pool.
pub type SubmitExtrinsic = Arc<dyn Fn(Vec<u8>) -> Result<(), String> + Send + Sync>;

/// How to run finality.
pub struct FinalityConfig {
    /// The chain.
    pub client: Arc<Client>,
    /// Votes only if it holds an `aura` key of the current set.
    pub keystore: arceon_client::keystore::Keystore,
    /// Gossip and requests.
    pub network: Arc<dyn FinalityNetwork>,
    /// Puts an encoded unsigned extrinsic (equivocation report) in the pool.
    pub submit_extrinsic: SubmitExtrinsic,
    /// A justification is stored for the first finalized block at or past each multiple
    /// of this (and for every set-change block).
    pub justification_period: u32,
    /// The voter's gossip duration `T` (see [`DEFAULT_GOSSIP_DURATION`]).
    pub gossip_duration: Duration,
}

/// What to do with a gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GossipVerdict {
    /// Valid and new: forward it.
    Accept,
    /// Stale, duplicate or for another set: drop it quietly.
    Ignore,
    /// Invalid: the peer misbehaved.
    Reject,
}

/// Vote weights of one stage in `grandpa_roundState`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageView {
    /// Weight of the votes seen.
    pub current_weight: u64,
    /// Authorities (SS58) whose vote is missing.
    pub missing: Vec<String>,
}

/// One round in `grandpa_roundState`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoundView {
    /// The round number.
    pub round: u64,
    /// Total weight of the set.
    pub total_weight: u64,
    /// Weight needed to finalize.
    pub threshold_weight: u64,
    /// Prevotes.
    pub prevotes: StageView,
    /// Precommits.
    pub precommits: StageView,
}

/// `grandpa_roundState`'s answer (Substrate's shape).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoundStateView {
    /// The current set id.
    pub set_id: u64,
    /// The best round.
    pub best: RoundView,
    /// Rounds still running in the background.
    pub background: Vec<RoundView>,
}

/// The chain's finality policy, decided here only: a chain whose block producers are a
/// single Aura authority finalizes each block as it is imported (by its author and by
/// every node that imports it), with no round to wait for; the voter still commits to
/// those blocks and its commits are kept as justifications under the usual period, so
/// such a chain can be warp-synced and snapshotted. Every other chain finalizes through
/// GRANDPA rounds (the voter, or justifications received) only.
pub fn final_on_import(aura_authorities: &[arceon_primitives::sr25519::Public]) -> bool {
    aura_authorities.len() == 1
}

/// A message waiting for a block to be imported.
struct Waiting {
    block: H256,
    peer: String,
    message: Vec<u8>,
    since: Instant,
}

/// Shared state of the finality tasks.
pub(crate) struct Inner {
    client: Arc<Client>,
    keystore: arceon_client::keystore::Keystore,
    network: Arc<dyn FinalityNetwork>,
    submit_extrinsic: SubmitExtrinsic,
    justification_period: u32,
    gossip_duration: Duration,
    runtime: tokio::runtime::Handle,
    set: RwLock<AuthoritySetState>,
    /// Serializes set changes.
    set_lock: Mutex<()>,
    router: Mutex<Router>,
    last_completed: Mutex<Option<CompletedRound>>,
    latest_justification: Mutex<Option<(H256, BlockNumber, Vec<u8>)>>,
    justifications: tokio::sync::broadcast::Sender<Vec<u8>>,
    voter_state: Mutex<SharedVoterState>,
    set_changed: tokio::sync::Notify,
    global_in: Mutex<GlobalSender>,
    last_catch_up: Mutex<Option<Instant>>,
    waiting: Mutex<Vec<Waiting>>,
}

fn signal(header: &Header) -> Option<Vec<AuthorityId>> {
    match scheduled_change(&header.digest) {
        Some(Ok(change)) => Some(
            change
                .next_authorities
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
        ),
        Some(Err(e)) => {
            log::warn!(target: "finality", "undecodable FRNK log in #{}: {e}", header.number);
            None
        }
        None => None,
    }
}

impl Inner {
    fn header(&self, hash: &H256) -> Result<Header, FinalityError> {
        self.client
            .header(hash)?
            .ok_or(FinalityError::UnknownBlock(*hash))
    }

    /// Hashes strictly between `base` and `block`, from `block`'s parent down.
    fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, FinalityError> {
        let base_number = self.header(&base)?.number;
        let mut cursor = self.header(&block)?;
        if cursor.number <= base_number {
            return Err(FinalityError::NotDescendant);
        }
        let mut route = Vec::new();
        loop {
            let parent = cursor.parent_hash;
            if cursor.number - 1 == base_number {
                return if parent == base {
                    Ok(route)
                } else {
                    Err(FinalityError::NotDescendant)
                };
            }
            route.push(parent);
            cursor = self.header(&parent)?;
        }
    }

    /// The best block containing `base`, capped at the first unfinalized set-change
    /// block (which the current set must finalize itself).
    fn best_chain_containing(
        &self,
        base: H256,
    ) -> Result<Option<(H256, BlockNumber)>, FinalityError> {
        let Some(base_header) = self.client.header(&base)? else {
            return Ok(None);
        };
        let base_number = base_header.number;
        let (best_number, best_hash) = self.client.best();
        let finalized = self.client.finalized().0;
        if best_number <= base_number {
            return Ok(Some((base, base_number)));
        }
        let mut target = (best_hash, best_number);
        let mut pending = None;
        let (mut hash, mut header) = (best_hash, self.header(&best_hash)?);
        while header.number > base_number {
            if header.number > finalized {
                if let Some(next) = signal(&header) {
                    target = (hash, header.number);
                    pending = Some(state::PendingChange {
                        signal: target,
                        next_authorities: next,
                    });
                }
            }
            hash = header.parent_hash;
            header = self.header(&hash)?;
        }
        if hash != base {
            // The best chain forked off below the base: vote for the base itself.
            return Ok(Some((base, base_number)));
        }
        // A signal at or below the base that is not final yet: this set may finalize up
        // to it and no further, so never vote past the base.
        let mut below = base_header;
        while below.number > finalized {
            if signal(&below).is_some() {
                return Ok(Some((base, base_number)));
            }
            below = self.header(&below.parent_hash)?;
        }
        self.note_pending(pending)?;
        Ok(Some(target))
    }

    fn note_pending(&self, pending: Option<state::PendingChange>) -> Result<(), FinalityError> {
        let _guard = self.set_lock.lock();
        let mut set = self.set.write();
        if set.pending != pending {
            let mut updated = set.clone();
            updated.pending = pending;
            state::store_set(self.client.db(), &updated)?;
            *set = updated;
        }
        Ok(())
    }

    /// Headers from each precommit target back to (excluding) the commit target.
    fn votes_ancestries(&self, commit: &Commit) -> Result<Vec<Header>, FinalityError> {
        let mut seen = std::collections::HashSet::new();
        let mut headers = Vec::new();
        for signed in &commit.precommits {
            let mut cursor = signed.precommit.target_hash;
            while cursor != commit.target_hash && !seen.contains(&cursor) {
                let header = self.header(&cursor)?;
                if header.number <= commit.target_number {
                    return Err(FinalityError::NotDescendant);
                }
                seen.insert(cursor);
                cursor = header.parent_hash;
                headers.push(header);
            }
        }
        Ok(headers)
    }

    /// The voter finalized `hash` in `round`.
    fn finalize_with_commit(
        &self,
        set_id: u64,
        hash: H256,
        number: BlockNumber,
        round: u64,
        commit: Commit,
    ) -> Result<(), FinalityError> {
        if set_id != self.set.read().set_id {
            return Ok(());
        }
        if number <= self.client.finalized().0 {
            return self.justify_finalized(hash, number, round, commit);
        }
        let justification = GrandpaJustification {
            round,
            votes_ancestries: self.votes_ancestries(&commit)?,
            commit,
        };
        let header = self.header(&hash)?;
        self.finalize_justified(hash, &header, justification.encode())
    }

    /// The voter committed to `hash`, which is final already: the single authority of a
    /// dev chain finalizes its blocks as it authors them. The commit still proves them
    /// final to others (warp sync, snapshots), so it is kept under the same rule as the
    /// voter's own finality: the block crossing each multiple of the period.
    fn justify_finalized(
        &self,
        hash: H256,
        number: BlockNumber,
        round: u64,
        commit: Commit,
    ) -> Result<(), FinalityError> {
        if self.client.hash(number)? != Some(hash) {
            return Ok(());
        }
        let period = self.justification_period.max(1);
        let last = self
            .latest_justification
            .lock()
            .as_ref()
            .map_or(0, |(_, n, _)| *n);
        let header = self.header(&hash)?;
        if number <= last || (signal(&header).is_none() && number / period <= last / period) {
            return Ok(());
        }
        let justification = GrandpaJustification {
            round,
            votes_ancestries: self.votes_ancestries(&commit)?,
            commit,
        }
        .encode();
        self.client.set_justification(&hash, &justification)?;
        log::debug!(target: "finality", "justified finalized #{number} ({hash:?})");
        *self.latest_justification.lock() = Some((hash, number, justification.clone()));
        let _ = self.justifications.send(justification);
        Ok(())
    }

    /// Stores the justification where due, finalizes the block and follows set changes.
    fn finalize_justified(
        &self,
        hash: H256,
        header: &Header,
        justification: Vec<u8>,
    ) -> Result<(), FinalityError> {
        let period = self.justification_period.max(1);
        let before = self.client.finalized().0;
        // Finality moves in jumps: keep the justification of the block that crosses each
        // multiple of the period (Substrate's rule), and of every set change.
        if signal(header).is_some() || header.number / period > before / period {
            self.client.set_justification(&hash, &justification)?;
        }
        self.client.finalize(&hash)?;
        log::debug!(target: "finality", "finalized #{} ({hash:?})", header.number);
        *self.latest_justification.lock() = Some((hash, header.number, justification.clone()));
        // Nobody subscribed is fine.
        let _ = self.justifications.send(justification);
        self.on_finalized()?;
        Ok(())
    }

    /// Applies the set changes signalled in newly finalized blocks.
    fn on_finalized(&self) -> Result<(), FinalityError> {
        let _guard = self.set_lock.lock();
        let (finalized, _) = self.client.finalized();
        let mut set = self.set.read().clone();
        if finalized <= set.scanned {
            return Ok(());
        }
        let before = set.set_id;
        for number in set.scanned.saturating_add(1)..=finalized {
            // Blocks below a warp-sync base are unknown: nothing to follow there.
            let Some(hash) = self.client.hash(number)? else {
                continue;
            };
            let Some(header) = self.client.header(&hash)? else {
                continue;
            };
            if let Some(next) = signal(&header) {
                set.set_id += 1;
                set.authorities = next;
                set.start = (hash, number);
                set.pending = None;
                set.history.push(SetChange {
                    set_id: set.set_id,
                    block: (hash, number),
                });
                log::info!(
                    target: "finality",
                    "authority set {} ({} authorities) from block #{number}",
                    set.set_id,
                    set.authorities.len()
                );
            }
        }
        set.scanned = finalized;
        state::store_set(self.client.db(), &set)?;
        let changed = set.set_id != before;
        let set_id = set.set_id;
        *self.set.write() = set;
        if changed {
            *self.router.lock() = Router::new(set_id);
            *self.last_completed.lock() = None;
            self.set_changed.notify_one();
        }
        Ok(())
    }

    /// Runs the voter of the current set; restarts it when the set changes or it fails.
    async fn run_voters(self: Arc<Self>) {
        loop {
            let set = self.set.read().clone();
            let Some(voters) = voter_set(&set.authorities) else {
                self.set_changed.notified().await;
                continue;
            };
            let local = match self.keystore.find_ed25519("gran", &set.authorities) {
                Ok(local) => local,
                Err(e) => {
                    log::warn!(target: "finality", "keystore unreadable, observing only: {e}");
                    None
                }
            };
            let env = Arc::new(Env {
                inner: self.clone(),
                set_id: set.set_id,
                voters: voters.clone(),
                local,
            });
            let (tx, rx) = mpsc::unbounded();
            *self.global_in.lock() = Some((set.set_id, tx));
            let completed = self
                .last_completed
                .lock()
                .clone()
                .filter(|c| c.set_id == set.set_id);
            let (last_round, votes, base) = match completed {
                Some(c) => (c.number, c.votes, c.base),
                None => (0, Vec::new(), set.start),
            };
            {
                let mut router = self.router.lock();
                if router.set_id != set.set_id {
                    *router = Router::new(set.set_id);
                }
                router.current_round = router.current_round.max(last_round + 1);
            }
            let (finalized_number, finalized_hash) = self.client.finalized();
            let last_finalized = if finalized_number >= set.start.1 {
                (finalized_hash, finalized_number)
            } else {
                set.start
            };
            let sink = CommitSink {
                inner: self.clone(),
                set_id: set.set_id,
            };
            let voter = Voter::new(
                env,
                voters,
                (rx, sink),
                last_round,
                votes,
                base,
                last_finalized,
            );
            *self.voter_state.lock() = Some((set.set_id, voter.voter_state()));
            log::info!(
                target: "finality",
                "voter for set {} starts after round {last_round}", set.set_id
            );
            tokio::select! {
                result = voter => {
                    if let Err(e) = result {
                        log::warn!(target: "finality", "voter stopped: {e}; restarting");
                    }
                    tokio::time::sleep(self.gossip_duration * 4).await;
                }
                _ = self.set_changed.notified() => {}
            }
        }
    }

    /// While finality stalls, publishes the recent rounds' votes again every
    /// [`STALL_REBROADCAST`]: gossip reaches a peer once, so a voter that restarted
    /// during a round never saw the votes cast before, and with two such voters (of
    /// four) no round completes again.
    async fn rebroadcast_when_stalled(self: Arc<Self>) {
        let mut tick = tokio::time::interval(STALL_REBROADCAST);
        let mut last = self.client.finalized().0;
        let mut nonce: u64 = 0;
        loop {
            tick.tick().await;
            let finalized = self.client.finalized().0;
            if finalized != last {
                last = finalized;
                continue;
            }
            let (set_id, votes) = {
                let router = self.router.lock();
                (router.set_id, router.recent_votes())
            };
            if !votes.is_empty() {
                log::debug!(
                    target: "finality",
                    "no block finalized for {} s: publishing {} recent votes again",
                    STALL_REBROADCAST.as_secs(),
                    votes.len()
                );
            }
            for (round, message) in votes {
                nonce = nonce.wrapping_add(1);
                self.network.gossip(
                    GossipMessage::VoteAgain {
                        round,
                        set_id,
                        nonce,
                        message,
                    }
                    .encode(),
                );
            }
        }
    }

    /// Follows the chain: set changes on finalization, waiting messages on import.
    async fn follow_chain(self: Arc<Self>) {
        let mut events = self.client.subscribe();
        loop {
            let event = events.recv().await;
            let result = match event {
                Ok(ChainEvent::Finalized { .. }) => self.on_finalized(),
                Ok(ChainEvent::Imported { .. }) => {
                    self.flush_waiting();
                    Ok(())
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    self.flush_waiting();
                    self.on_finalized()
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if let Err(e) = result {
                log::warn!(target: "finality", "following the finalized chain: {e}");
            }
        }
    }
}

/// The client as a GRANDPA chain.
struct ClientChain(Arc<Inner>);

impl finality_grandpa::Chain<H256, BlockNumber> for ClientChain {
    fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
        self.0
            .ancestry(base, block)
            .map_err(|_| finality_grandpa::Error::NotDescendent)
    }
}

/// Stops the tasks when the last handle is dropped.
struct Tasks {
    inner: Arc<Inner>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

/// The running finality gadget: a cheap handle.
#[derive(Clone)]
pub struct Finality {
    tasks: Arc<Tasks>,
}

/// A handle to the finality gadget that does not keep it running.
#[derive(Clone)]
pub struct WeakFinality(std::sync::Weak<Tasks>);

impl WeakFinality {
    /// The gadget, unless it has been dropped.
    pub fn upgrade(&self) -> Option<Finality> {
        self.0.upgrade().map(|tasks| Finality { tasks })
    }
}

impl Finality {
    fn inner(&self) -> &Arc<Inner> {
        &self.tasks.inner
    }

    /// A handle for observers (metrics) that must not keep the voter alive.
    pub fn downgrade(&self) -> WeakFinality {
        WeakFinality(Arc::downgrade(&self.tasks))
    }

    /// Loads (or initialises from the genesis state) the persisted authority set and
    /// starts the voter tasks on the current tokio runtime.
    pub fn start(config: FinalityConfig) -> Result<Finality, FinalityError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| FinalityError::Voter(format!("no tokio runtime: {e}")))?;
        let client = config.client;
        let db = client.db();
        let set = match state::load_set(db)? {
            Some(set) => set,
            None => {
                let genesis = client.genesis_hash();
                // A database filled without the gadget (`import-blocks`, `make-chain`) may
                // have pruned the genesis state: start from the finalized block's set.
                let (start, scanned, authorities) = match client.grandpa_authorities(&genesis) {
                    Ok(authorities) => ((genesis, 0), 0, authorities),
                    Err(_) => {
                        let (number, hash) = client.finalized();
                        ((hash, number), number, client.grandpa_authorities(&hash)?)
                    }
                };
                let set = AuthoritySetState {
                    set_id: 0,
                    authorities,
                    start,
                    pending: None,
                    scanned,
                    history: Vec::new(),
                };
                state::store_set(db, &set)?;
                set
            }
        };
        let completed = state::load_completed(db)?.filter(|c| c.set_id == set.set_id);
        let mut router = Router::new(set.set_id);
        if let Some(c) = &completed {
            router.current_round = c.number + 1;
        }
        let inner = Arc::new(Inner {
            client: client.clone(),
            keystore: config.keystore,
            network: config.network,
            submit_extrinsic: config.submit_extrinsic,
            justification_period: config.justification_period.max(1),
            gossip_duration: config.gossip_duration,
            runtime: runtime.clone(),
            set: RwLock::new(set),
            set_lock: Mutex::new(()),
            router: Mutex::new(router),
            last_completed: Mutex::new(completed),
            latest_justification: Mutex::new(None),
            justifications: tokio::sync::broadcast::channel(64).0,
            voter_state: Mutex::new(None),
            set_changed: tokio::sync::Notify::new(),
            global_in: Mutex::new(None),
            last_catch_up: Mutex::new(None),
            waiting: Mutex::new(Vec::new()),
        });
        inner.on_finalized()?;
        let handles = vec![
            runtime.spawn(inner.clone().follow_chain()),
            runtime.spawn(inner.clone().run_voters()),
            runtime.spawn(inner.clone().rebroadcast_when_stalled()),
        ];
        Ok(Finality {
            tasks: Arc::new(Tasks { inner, handles }),
        })
    }

    /// A gossip message from `peer`: verified (decoding, set id, round window, voter in
    /// set, signature) and fed to the voter.
    pub fn on_gossip(&self, peer: &str, message: &[u8]) -> GossipVerdict {
        self.inner().on_gossip(peer, message)
    }

    /// A request from `peer` (catch-up): the response bytes, or `None` to refuse.
    pub fn on_request(&self, _peer: &str, request: &[u8]) -> Option<Vec<u8>> {
        self.inner().on_request(request)
    }

    /// A justification received with a synced (already imported) block: verified against
    /// the set that finalizes it, then the block is finalized.
    pub fn import_justification(
        &self,
        hash: H256,
        justification: &[u8],
    ) -> Result<(), FinalityError> {
        let inner = self.inner();
        let decoded = GrandpaJustification::decode_exact(justification)?;
        let header = inner.header(&hash)?;
        inner.on_finalized()?;
        let (finalized_number, finalized_hash) = inner.client.finalized();
        if header.number <= finalized_number {
            if inner.client.hash(header.number)? != Some(hash) {
                return Err(FinalityError::NotDescendant);
            }
            // Already final: still refuse a justification the current set did not sign
            // (older sets' blocks are taken as they are).
            let (set_id, authorities, start) = {
                let set = inner.set.read();
                (set.set_id, set.authorities.clone(), set.start.1)
            };
            if header.number > start {
                decoded.verify(set_id, &authorities, (hash, header.number))?;
            }
            return Ok(());
        }
        let mut cursor = header.parent_hash;
        let mut number = header.number - 1;
        while number > finalized_number {
            let ancestor = inner.header(&cursor)?;
            if signal(&ancestor).is_some() {
                return Err(FinalityError::UnjustifiedSetChange(number));
            }
            cursor = ancestor.parent_hash;
            number -= 1;
        }
        if cursor != finalized_hash {
            return Err(FinalityError::NotDescendant);
        }
        let (set_id, authorities) = self.authority_set();
        decoded.verify(set_id, &authorities, (hash, header.number))?;
        inner.finalize_justified(hash, &header, justification.to_vec())
    }

    /// `grandpa_roundState`.
    pub fn round_state(&self) -> RoundStateView {
        let inner = self.inner();
        let (set_id, authorities) = self.authority_set();
        let total = authorities.len() as u64;
        let threshold = voter_set(&authorities).map_or(0, |v| v.threshold().get());
        let ss58 = |id: &AuthorityId| {
            use sp_core::crypto::Ss58Codec as _;
            id.to_ss58check()
        };
        let stage = |weight: u64, ids: &std::collections::HashSet<AuthorityId>| StageView {
            current_weight: weight,
            missing: authorities
                .iter()
                .filter(|a| !ids.contains(a))
                .map(ss58)
                .collect(),
        };
        let view =
            |round: u64, r: &finality_grandpa::voter::report::RoundState<AuthorityId>| RoundView {
                round,
                total_weight: r.total_weight.get(),
                threshold_weight: r.threshold_weight.get(),
                prevotes: stage(r.prevote_current_weight.0, &r.prevote_ids),
                precommits: stage(r.precommit_current_weight.0, &r.precommit_ids),
            };
        let report = inner
            .voter_state
            .lock()
            .as_ref()
            .filter(|(id, _)| *id == set_id)
            .map(|(_, state)| state.get());
        match report {
            Some(report) => {
                let mut background: Vec<RoundView> = report
                    .background_rounds
                    .iter()
                    .map(|(round, r)| view(*round, r))
                    .collect();
                background.sort_by_key(|r| r.round);
                RoundStateView {
                    set_id,
                    best: view(report.best_round.0, &report.best_round.1),
                    background,
                }
            }
            None => RoundStateView {
                set_id,
                best: RoundView {
                    round: inner.router.lock().current_round,
                    total_weight: total,
                    threshold_weight: threshold,
                    prevotes: stage(0, &Default::default()),
                    precommits: stage(0, &Default::default()),
                },
                background: Vec::new(),
            },
        }
    }

    /// `grandpa_proveFinality`: an encoded [`FinalityProof`] that canonical block
    /// `number` is final, or `None` if it is not final or no justification covers it.
    pub fn prove_finality(&self, number: BlockNumber) -> Result<Option<Vec<u8>>, FinalityError> {
        let inner = self.inner();
        let (finalized, _) = inner.client.finalized();
        if number > finalized || inner.client.hash(number)?.is_none() {
            return Ok(None);
        }
        let latest = inner.latest_justification.lock().clone();
        let mut found = None;
        let last = finalized.min(number.saturating_add(MAX_PROOF_SCAN));
        for n in number..=last {
            let Some(hash) = inner.client.hash(n)? else {
                continue;
            };
            if let Some(justification) = inner.client.justification(&hash)? {
                found = Some((hash, n, justification));
                break;
            }
            if let Some((latest_hash, latest_number, bytes)) = &latest {
                if *latest_hash == hash {
                    found = Some((hash, *latest_number, bytes.clone()));
                    break;
                }
            }
        }
        if found.is_none() {
            found = latest.filter(|(_, n, _)| *n >= number);
        }
        let Some((block, justified, justification)) = found else {
            return Ok(None);
        };
        let mut unknown_headers = Vec::new();
        for n in number.saturating_add(1)..=justified {
            let hash = inner
                .client
                .hash(n)?
                .ok_or(FinalityError::Corrupt(format!("no canonical block #{n}")))?;
            unknown_headers.push(inner.header(&hash)?);
        }
        Ok(Some(
            FinalityProof {
                block,
                justification,
                unknown_headers,
            }
            .encode(),
        ))
    }

    /// Justifications as they are produced (encoded), for `grandpa_subscribeJustifications`.
    pub fn subscribe_justifications(&self) -> tokio::sync::broadcast::Receiver<Vec<u8>> {
        self.inner().justifications.subscribe()
    }

    /// The latest justification this node produced or imported: `(block, number, bytes)`.
    pub fn latest_justification(&self) -> Option<(H256, BlockNumber, Vec<u8>)> {
        self.inner().latest_justification.lock().clone()
    }

    /// The current set id and authorities.
    pub fn authority_set(&self) -> (u64, Vec<ed25519::Public>) {
        let set = self.inner().set.read();
        (set.set_id, set.authorities.clone())
    }
}
