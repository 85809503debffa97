//! The node's fast lanes: drives one [`arceon_fastlane::Lane`] per area whose committee
//! holds one of this node's Aura session keys, and follows every other area's certified
//! batches as an observer.
//!
//! One thread owns every lane and the lane view of the world ([`Overlay`]: the best
//! block's state plus every lane batch this node knows that is not in it yet). It takes
//! submissions (RPC, or forwarded by peers), member messages, validated certified
//! batches and a 1 ms tick, in rounds of at most [`ROUND`], and carries out the lanes'
//! outputs in order:
//! - `Persist`: the batch is written to RocksDB (one synced write for all batches of a
//!   round, before any of the round's messages leaves: group commit, durable before
//!   signing);
//! - `Send`: at the end of the round, each peer gets all its member messages (proposals,
//!   votes) in one frame (`Members`) on this node's long-lived lane stream to that peer
//!   (`/arceon/<genesis>/lane/1`, length-prefixed frames, no answers); votes come back
//!   on the peer's stream to us;
//! - `Certified`: the batch joins the pool block authors include from, is gossiped on
//!   the `lanes` topic and goes to `fastlane_subscribeArea` subscribers;
//! - `Receipt` / `Rejected`: the submitter's answer. A node outside the committee
//!   forwards submissions to the primary (`Forwards`), which pushes the results back the
//!   same way (`Results`), so nothing waits for a receipt. A stream's writer sends what
//!   queued while it was writing in one write: under load the writes grow, not their
//!   number.
//!
//! Peers prove which session keys they hold with a signed identity exchanged when they
//! connect (`Hello`), so a member's messages are only taken from its own connection.
//! Gossiped certified batches are checked in full (committee, certificate, body, player
//! signatures) on their own thread before they are forwarded or used. A node that finds
//! a hole below a gossiped batch (it missed their gossip, e.g. while it was down) asks a
//! committee member for the batches in it (`Fetch`, answered with `Fetched`: at most
//! [`MAX_FETCH`], one answer per peer per [`FETCH_ANSWER_GAP`], taken only from a peer
//! asked and checked like gossip), so a restarted replica votes again within moments
//! instead of once blocks include what it missed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arceon_client::keystore::Keystore;
use arceon_client::Client;
use arceon_fastlane::{
    ClientId, Committee, Lane, LaneConfig, LaneError, LaneMessage, MemberIndex, Output, Seal,
};
use arceon_network::protocol::{lane_protocol, read_frame, MAX_LANE_FRAME_BYTES};
use arceon_network::{
    MessageId, NetworkHandle, NetworkPeerId as PeerId, Request, Response, Stream, StreamControl,
    StreamProtocol, Topic, Verdict,
};
use arceon_pallet_areas::{self as areas, AreaId, Position};
use arceon_pallet_fastlane::{
    self as fastlane, Batch, Certificate, CertifiedBatch, LaneHead, Outcome, Receipt,
    SignedLaneAction,
};
use arceon_primitives::{sr25519, AccountId32, H256};
use arceon_rpc::fastlane::{FastLaneApi, LaneConfirmation, LaneSubmitError};
use arceon_support::{DispatchError, Ext};
use codec::{Decode, DecodeAll, Encode};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sp_core::Pair as _;
use tokio::sync::{broadcast, oneshot};

mod committees;
mod evidence;
mod handover;
mod overlay;
mod reshape;

use overlay::Overlay;

/// Prefix of the message a node signs to prove it holds a session key.
const IDENTITY_TAG: &[u8] = b"arceon/lane-peer/v1";
/// The default of `--lane-view-timeout`: how long a member waits on a silent primary
/// before it moves to the next view. The lane protocol works with 150 ms (the
/// simulator's); on a loaded validator the lane thread still stalls now and then (it
/// rebuilds its view of the world on each new best block), and a slow primary must not
/// be voted out for that.
pub const DEFAULT_LANE_VIEW_TIMEOUT_MS: u64 = 2_000;
/// How long a submission (local or forwarded) waits for its receipt or refusal.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How many committee members a forwarded submission tries when their connections break
/// before they answer.
const MAX_FORWARD_ATTEMPTS: usize = 3;
/// The most events the lane thread takes from its queue before handling them.
const MAX_BURST: usize = 256;
/// A submission that waited longer than this for the lane thread is refused as
/// overloaded.
const MAX_SUBMIT_WAIT: Duration = Duration::from_millis(250);
/// The lane thread's shortest wait.
const TICK: Duration = Duration::from_millis(1);
/// The longest round of events the lane thread takes before ticking and sending.
const ROUND: Duration = Duration::from_millis(2);
/// How often the keystore is asked again for committee keys this node lacked.
const KEYSTORE_RECHECK: Duration = Duration::from_secs(10);
/// The lane thread's longest wait when no lane has work due.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// Events waiting for the lane thread; more are refused (`Overloaded`).
const EVENT_QUEUE: usize = 65_536;
/// Gossiped batches waiting for validation; more are ignored.
const GOSSIP_QUEUE: usize = 4_096;
/// Submissions waiting for their player's crossing to be certified; more are refused.
const MAX_DEFERRED: usize = 16_384;
/// The most batches beyond the chain this node keeps per area.
const MAX_KNOWN_PER_AREA: usize = 4_096;
/// How often the batches the finalized chain holds are deleted from the database (each
/// time reads the lane heads at the finalized block: a stall of the lane thread, so not
/// on every block).
const PRUNE_EVERY: Duration = Duration::from_secs(5);
/// How often the lanes' state is published for RPC and metrics.
const PUBLISH_EVERY: Duration = Duration::from_millis(20);
/// Certified batches buffered for slow area subscribers.
const SUBSCRIBER_BUFFER: usize = 4_096;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Lane traffic between nodes: the identity exchange as a request (`Request::Lane` /
/// `Response::Lane`), everything else one-way as frames on lane streams; what a frame
/// leads to (a vote, a forwarded submission's result) comes back as a frame of its own.
#[derive(Debug, Clone, Encode, Decode)]
enum Wire {
    /// Which session keys do you hold?
    #[codec(index = 0)]
    Hello,
    /// Keys with signatures of `IDENTITY_TAG ++ genesis ++ responder peer id`.
    #[codec(index = 1)]
    Identity(Vec<([u8; 32], [u8; 64])>),
    /// Member messages for areas' lanes: everything one member has for another after a
    /// round of the lane thread (proposals, votes), in one request.
    #[codec(index = 2)]
    Members(Vec<(AreaId, LaneMessage)>),
    /// Submissions forwarded to the area's primary, each with the forwarder's handle;
    /// their results come back in `Results`.
    #[codec(index = 4)]
    Forwards(Vec<(u64, SignedLaneAction)>),
    /// Results of forwarded submissions, pushed back to the forwarder by handle.
    #[codec(index = 5)]
    Results(Vec<(u64, Forwarded)>),
    /// Submissions a member's lane relays to the primary of the view it runs: taken
    /// only by that primary, never relayed again (results come back in `Results`).
    #[codec(index = 6)]
    Relays(Vec<(u64, SignedLaneAction)>),
    /// Proofs that a replaced committee's lane ended (`Seal`), from its members to the
    /// new committee's: the new lane continues after the sealed batch.
    #[codec(index = 7)]
    Seals(Vec<Seal>),
    /// The certified batches of `area` from `from` to `to` that the asker lacks (it
    /// missed their gossip, e.g. while it was down): answered with `Fetched`.
    #[codec(index = 8)]
    Fetch { area: AreaId, from: u64, to: u64 },
    /// Certified batches asked for with `Fetch` (at most [`MAX_FETCH`], in height
    /// order), checked in full like gossiped ones.
    #[codec(index = 9)]
    Fetched(Vec<CertifiedBatch>),
}

/// The most certified batches one `Fetch` asks for (and one `Fetched` carries).
const MAX_FETCH: u64 = 64;
/// How often a node asks for the batches it lacks of one area.
const FETCH_EVERY: Duration = Duration::from_millis(300);
/// The shortest time between two answers to one peer's `Fetch`.
const FETCH_ANSWER_GAP: Duration = Duration::from_millis(100);
/// How long a peer's `Fetched` answer is taken after the question.
const FETCH_ANSWER_WINDOW: Duration = Duration::from_secs(5);

/// What became of a forwarded submission.
#[derive(Debug, Clone, Encode, Decode)]
enum Forwarded {
    #[codec(index = 0)]
    Receipt(Box<Receipt>),
    /// Refused by a rule (the error's name, e.g. `Players.TooFast`).
    #[codec(index = 1)]
    Rejected(String),
    /// The lane could not take it.
    #[codec(index = 2)]
    Unavailable(String),
}

impl From<Result<Receipt, LaneSubmitError>> for Forwarded {
    fn from(result: Result<Receipt, LaneSubmitError>) -> Self {
        match result {
            Ok(receipt) => Forwarded::Receipt(Box::new(receipt)),
            Err(LaneSubmitError::Rejected(text)) => Forwarded::Rejected(text),
            Err(LaneSubmitError::Unavailable(text)) => Forwarded::Unavailable(text),
        }
    }
}

impl From<Forwarded> for Result<Receipt, LaneSubmitError> {
    fn from(forwarded: Forwarded) -> Self {
        match forwarded {
            Forwarded::Receipt(receipt) => Ok(*receipt),
            Forwarded::Rejected(text) => Err(LaneSubmitError::Rejected(text)),
            Forwarded::Unavailable(text) => Err(LaneSubmitError::Unavailable(text)),
        }
    }
}

/// Member messages packed into one frame up to this many encoded bytes (one full
/// proposal is under 48 KiB; a frame may hold [`MAX_LANE_FRAME_BYTES`]).
const BUNDLE_BYTES: usize = 48 * 1024;
/// Packs `items`, in order, into bundles of at most [`BUNDLE_BYTES`] encoded bytes (an
/// item that is larger alone gets a bundle of its own).
fn bundles<T: Encode>(items: Vec<T>) -> Vec<Vec<T>> {
    let mut bundles: Vec<Vec<T>> = Vec::new();
    let mut size = 0usize;
    for item in items {
        let bytes = item.encoded_size();
        match bundles.last_mut() {
            Some(bundle) if size + bytes <= BUNDLE_BYTES => {
                size += bytes;
                bundle.push(item);
            }
            _ => {
                size = bytes;
                bundles.push(vec![item]);
            }
        }
    }
    bundles
}

/// Frames queued for one peer's lane stream; more are dropped (proposals are re-sent,
/// votes repeated, forwarded submissions time out).
const LINK_QUEUE: usize = 8_192;
/// The most peers with a lane stream (ours to them, or theirs to us) at once.
const MAX_LINKS: usize = 1_024;
/// A lane stream idle this long is closed; the next frame opens a new one.
const LINK_IDLE: Duration = Duration::from_secs(60);
/// The most bytes one write to a lane stream carries.
const LINK_WRITE_BYTES: usize = 256 * 1024;
/// Forwarded submissions awaiting their result; more are refused.
const MAX_FORWARDS: usize = 65_536;

/// The database key of a persisted lane batch.
fn batch_key(area: AreaId, height: u64) -> Vec<u8> {
    (b"lane:", area, height).encode()
}

/// The database key of the last batch persisted for an area.
fn tip_key(area: AreaId) -> Vec<u8> {
    (b"lane-tip:", area).encode()
}

/// Where a certified batch this node learned (its own lanes' or any other's) is kept
/// until the finalized chain holds its height: a restarted node offers it to block
/// authors and to peers that fetch it again. Without this, a batch whose certificate
/// only restarted nodes had seen was in no author's hands, and its receipts were lost.
const CERT_PREFIX: &[u8] = b"lane-cert:";

/// The most certified batches read back at start.
const MAX_RESTORED_CERTIFIED: usize = 64 * MAX_KNOWN_PER_AREA;

fn cert_key(area: AreaId, height: u64) -> Vec<u8> {
    let mut key = CERT_PREFIX.to_vec();
    key.extend((area, height).encode());
    key
}

/// The database key of the highest view an area's lane was in, with its committee
/// version (views never go back: see `Lane::resume_view`).
/// The views a member last voted in for its batches beyond the chain (see
/// [`Lane::take_vote_views`]).
fn votes_key(area: AreaId) -> Vec<u8> {
    (b"lane-votes:", area).encode()
}

fn view_key(area: AreaId) -> Vec<u8> {
    (b"lane-view:", area).encode()
}

/// Where the lane of a committee version continues after its predecessor's seal:
/// `(version, last batch of the replaced committee's lane)`.
fn base_key(area: AreaId) -> Vec<u8> {
    (b"lane-base:", area).encode()
}

/// Whether `key` may act now, at most once per `gap` (it then acts: its time is noted).
/// Keys whose gap passed are forgotten once the map holds 1,024, so it stays bounded.
fn take_turn<K: std::hash::Hash + Eq>(
    turns: &mut HashMap<K, Instant>,
    key: K,
    gap: Duration,
) -> bool {
    let now = Instant::now();
    if turns
        .get(&key)
        .is_some_and(|at| now.duration_since(*at) < gap)
    {
        return false;
    }
    if turns.len() >= 1_024 {
        turns.retain(|_, at| now.duration_since(*at) < gap);
    }
    turns.insert(key, now);
    true
}

fn rejection_text(error: &LaneError) -> LaneSubmitError {
    match error {
        LaneError::Rule(DispatchError::Module(module)) => LaneSubmitError::Rejected(
            arceon_runtime::module_error_text(module.index, module.error),
        ),
        LaneError::Rule(other) => LaneSubmitError::Rejected(format!("{other:?}")),
        LaneError::NotPrimary => {
            LaneSubmitError::Unavailable("not the primary of the view its lane runs".into())
        }
        LaneError::Unavailable => LaneSubmitError::Unavailable(
            "lane unavailable: no quorum of the area's committee is reachable".into(),
        ),
        LaneError::Overloaded => LaneSubmitError::Unavailable("lane overloaded".into()),
        LaneError::Superseded => LaneSubmitError::Unavailable(
            "the lane moved past the action's batch before it was certified: submit again".into(),
        ),
        LaneError::Retired => LaneSubmitError::Unavailable(
            "lane unavailable: the area's lane is handing over (to a new committee version, or to the areas of a split or merge): sign the action again for what follows"
                .into(),
        ),
    }
}

type SubmitReply = oneshot::Sender<Result<Receipt, LaneSubmitError>>;

enum Event {
    Submit {
        action: SignedLaneAction,
        reply: SubmitReply,
        /// When it was queued for the lane thread.
        queued: Instant,
        /// Relayed by another member's lane: only a primary takes it.
        relayed: bool,
    },
    Member {
        area: AreaId,
        from: Vec<[u8; 32]>,
        message: LaneMessage,
    },
    Certified(CertifiedBatch),
    /// A replaced committee's lane ended (checked on the lane thread).
    Sealed(Seal),
    /// The connection to the peer holding these session keys broke.
    Lost(Vec<[u8; 32]>),
    /// A peer proved it holds these session keys (it connected, or came back).
    Met(PeerId, Vec<[u8; 32]>),
    /// A peer asks for certified batches of `area` it lacks.
    Fetch {
        peer: PeerId,
        area: AreaId,
        from: u64,
        to: u64,
    },
    /// The primary answered an action a lane of this node forwarded to it.
    Answered {
        area: AreaId,
        client: ClientId,
        action: H256,
        result: Result<Receipt, LaneSubmitError>,
    },
}

/// A checked gossiped certified batch.
enum Checked {
    /// Valid, and the first this node sees at its position.
    New,
    /// Valid, and this node holds another certified batch at its position.
    Conflicts(Box<CertifiedBatch>),
    /// Included or known already, or of a committee this node cannot check.
    Old,
}

/// What the lane thread shares with RPC, authoring and the network side.
#[derive(Default)]
struct Shared {
    /// Certified batches not in the best block, by (area, height).
    certified: BTreeMap<(AreaId, u64), CertifiedBatch>,
    /// Lanes this node serves: committee, view, tip, pending actions, own index.
    lanes: HashMap<AreaId, LaneInfo>,
    /// Session key -> peer holding it.
    key_peers: HashMap<[u8; 32], PeerId>,
    /// Peer -> session keys it proved.
    peer_keys: HashMap<PeerId, Vec<[u8; 32]>>,
    /// Committees at the best block (area -> version, keys), for routing and checks.
    committees: HashMap<AreaId, (u64, Vec<[u8; 32]>)>,
    /// Committees replaced at the best block whose lanes still end: the version of the
    /// lane's last included batch and its keys (their certified batches still enter
    /// blocks until the new committee's first one does).
    retired: HashMap<AreaId, (u64, Vec<[u8; 32]>)>,
    /// What lane batches beyond the chain say of each player: next nonce, area, position.
    players: HashMap<AccountId32, PlayerView>,
    /// Each lane's height at the best block: gossip at or below it is old news.
    heads: HashMap<AreaId, u64>,
}

/// A player as the latest lane batches this node knows leave it.
#[derive(Debug, Clone, Copy)]
struct PlayerView {
    nonce: u64,
    area: Option<AreaId>,
    position: Option<Position>,
}

/// The most players whose lane view is kept beyond the chain.
const MAX_PLAYER_VIEWS: usize = 1_000_000;

impl Shared {
    /// Follows a batch's actions in the players' views.
    fn note_batch(&mut self, batch: &Batch) {
        for (signed, outcome) in batch.actions.iter().zip(&batch.outcomes) {
            let who = &signed.action.player;
            if self.players.len() >= MAX_PLAYER_VIEWS && !self.players.contains_key(who) {
                continue;
            }
            let view = self.players.entry(who.clone()).or_insert(PlayerView {
                nonce: 0,
                area: None,
                position: None,
            });
            view.nonce = view.nonce.max(signed.action.nonce.saturating_add(1));
            match outcome {
                Outcome::Moved { area, position } => {
                    view.area = Some(*area);
                    view.position = Some(*position);
                }
                Outcome::Crossed { to, position, .. } => {
                    view.area = Some(*to);
                    view.position = Some(*position);
                }
                _ => {}
            }
        }
    }
}

#[derive(Clone)]
struct LaneInfo {
    version: u64,
    view: u32,
    /// Whether the view runs (`false` while the members change views).
    active: bool,
    tip: u64,
    pending: usize,
    me: MemberIndex,
}

/// The node's fast lanes; see the module docs.
pub struct LaneService {
    client: Arc<Client>,
    genesis: H256,
    keystore: Keystore,
    net: Mutex<Option<NetworkHandle>>,
    events: SyncSender<Event>,
    /// Certified batches to check: gossiped (with the gossip message to validate) or
    /// fetched.
    gossip: SyncSender<(PeerId, Option<MessageId>, Vec<u8>)>,
    shared: Mutex<Shared>,
    batches: broadcast::Sender<Arc<CertifiedBatch>>,
    runtime: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
    metrics: Arc<crate::Metrics>,
    /// When each peer was last asked for its identity.
    asked: Mutex<HashMap<PeerId, Instant>>,
    /// This service (for tasks started from `&self`).
    me: Mutex<std::sync::Weak<LaneService>>,
    /// Submissions this node forwarded, by handle: the primary's peer and the waiter.
    forwards: Mutex<HashMap<u64, (PeerId, SubmitReply)>>,
    /// Peers asked for certified batches (`Fetch`), and when: only their answers are
    /// taken.
    fetches: Mutex<HashMap<PeerId, Instant>>,
    /// When each peer's last `Fetch` was taken: one per [`FETCH_ANSWER_GAP`], counted
    /// as frames arrive, so a flood of them never reaches the lane thread's queue (where
    /// it would crowd out players' submissions).
    fetch_answered: Mutex<HashMap<PeerId, Instant>>,
    next_forward: std::sync::atomic::AtomicU64,
    /// The frame queue of this node's lane stream to each peer.
    links: Mutex<HashMap<PeerId, tokio::sync::mpsc::Sender<Vec<u8>>>>,
    /// The reader of each peer's lane stream to this node (one per peer).
    readers: Mutex<HashMap<PeerId, tokio::task::AbortHandle>>,
    /// How long a member waits on a silent primary (`--lane-view-timeout`).
    view_timeout_ms: u64,
    /// Test-only dishonesty.
    byzantine: LaneByzantine,
    /// Where equivocation reports go.
    pool: Arc<crate::TransactionPool>,
}

/// How the node's lanes run.
pub struct LaneOptions {
    /// How long a member waits on a silent primary (ms).
    pub view_timeout_ms: u64,
    /// Test-only dishonesty.
    pub byzantine: LaneByzantine,
    /// The transaction pool, for equivocation reports.
    pub pool: Arc<crate::TransactionPool>,
}

/// Test-only dishonest lane behaviour (`--unsafe-lane-equivocate`,
/// `--unsafe-lane-sign-anything`), see [`arceon_fastlane::byzantine`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LaneByzantine {
    /// As a primary, fork the first batch of two or more actions.
    pub equivocate: bool,
    /// As a member, vote for every proposal shown.
    pub sign_anything: bool,
}

impl LaneService {
    /// Starts the lane thread and the gossip validator. Must run inside tokio.
    pub fn start(
        client: Arc<Client>,
        keystore: Keystore,
        metrics: Arc<crate::Metrics>,
        stop: Arc<AtomicBool>,
        options: LaneOptions,
    ) -> std::io::Result<Arc<LaneService>> {
        let (events, event_rx) = std::sync::mpsc::sync_channel(EVENT_QUEUE);
        let (gossip, gossip_rx) = std::sync::mpsc::sync_channel(GOSSIP_QUEUE);
        let service = Arc::new(LaneService {
            genesis: client.genesis_hash(),
            client,
            keystore,
            net: Mutex::new(None),
            events,
            gossip,
            shared: Mutex::new(Shared::default()),
            batches: broadcast::channel(SUBSCRIBER_BUFFER).0,
            runtime: tokio::runtime::Handle::current(),
            stop,
            metrics,
            asked: Mutex::new(HashMap::new()),
            me: Mutex::new(std::sync::Weak::new()),
            forwards: Mutex::new(HashMap::new()),
            fetches: Mutex::new(HashMap::new()),
            fetch_answered: Mutex::new(HashMap::new()),
            next_forward: std::sync::atomic::AtomicU64::new(0),
            links: Mutex::new(HashMap::new()),
            readers: Mutex::new(HashMap::new()),
            view_timeout_ms: options.view_timeout_ms,
            byzantine: options.byzantine,
            pool: options.pool,
        });
        *service.me.lock() = Arc::downgrade(&service);
        let worker = service.clone();
        std::thread::Builder::new()
            .name("fastlane".into())
            .spawn(move || Worker::new(worker).run(event_rx))?;
        let validator = service.clone();
        std::thread::Builder::new()
            .name("fastlane-gossip".into())
            .spawn(move || validator.gossip_worker(gossip_rx))?;
        Ok(service)
    }

    /// Connects the lanes to the network and takes peers' lane streams.
    pub fn set_network(self: &Arc<Self>, net: NetworkHandle) {
        match net.streams().accept(lane_protocol(&self.genesis)) {
            Ok(mut incoming) => {
                let service = self.clone();
                self.runtime.spawn(async move {
                    use futures::StreamExt as _;
                    while let Some((peer, stream)) = incoming.next().await {
                        service.read_link(peer, stream);
                    }
                });
            }
            Err(_) => log::error!("fast lanes: lane streams are already taken"),
        }
        *self.net.lock() = Some(net);
    }

    /// Reads `peer`'s lane stream frame by frame until it ends. One stream per peer: a
    /// new one replaces the old. An oversized or undecodable frame ends it and costs the
    /// peer reputation.
    fn read_link(self: &Arc<Self>, peer: PeerId, mut stream: Stream) {
        let service = self.clone();
        let task = self.runtime.spawn(async move {
            loop {
                match read_frame(&mut stream, MAX_LANE_FRAME_BYTES).await {
                    Ok(frame) => {
                        if !service.on_frame(peer, &frame) {
                            return;
                        }
                    }
                    Err(e) => {
                        if e.kind() == std::io::ErrorKind::InvalidData {
                            service.report_fatal(peer, "oversized lane frame");
                        }
                        return;
                    }
                }
            }
        });
        let mut readers = self.readers.lock();
        if readers.len() >= MAX_LINKS {
            readers.retain(|_, reader| !reader.is_finished());
        }
        if let Some(old) = readers.insert(peer, task.abort_handle()) {
            old.abort();
        }
    }

    /// Takes one frame of `peer`'s lane stream; false when it is not a lane message
    /// (the stream is then dropped).
    fn on_frame(&self, peer: PeerId, frame: &[u8]) -> bool {
        match Wire::decode_all(&mut &frame[..]) {
            Ok(
                wire @ (Wire::Members(_)
                | Wire::Forwards(_)
                | Wire::Relays(_)
                | Wire::Results(_)
                | Wire::Seals(_)
                | Wire::Fetch { .. }
                | Wire::Fetched(_)),
            ) => {
                self.take(peer, wire);
                true
            }
            _ => {
                self.report_fatal(peer, "undecodable lane frame");
                false
            }
        }
    }

    fn report(&self, peer: PeerId, what: &'static str) {
        if let Some(net) = self.network() {
            net.report(peer, arceon_network::Reputation::bad(what));
        }
    }

    /// Reports what no honest peer sends (a frame on a lane stream is always one of our
    /// messages, within the limit): one strike bans.
    fn report_fatal(&self, peer: PeerId, what: &'static str) {
        if let Some(net) = self.network() {
            net.report(peer, arceon_network::Reputation::fatal(what));
        }
    }

    /// Sends `wire` to `peer` on this node's lane stream to it (opened when needed).
    /// Never waits: a frame that does not fit the stream's queue is dropped.
    fn send_wire(&self, peer: PeerId, wire: &Wire) {
        use tokio::sync::mpsc::error::TrySendError;
        let mut frame = wire.encode();
        if frame.len() > MAX_LANE_FRAME_BYTES {
            log::warn!("fast lanes: a {}-byte lane frame is too large", frame.len());
            return;
        }
        let mut links = self.links.lock();
        if let Some(link) = links.get(&peer) {
            match link.try_send(frame) {
                Ok(()) | Err(TrySendError::Full(_)) => return,
                Err(TrySendError::Closed(returned)) => {
                    links.remove(&peer);
                    frame = returned;
                }
            }
        }
        if links.len() >= MAX_LINKS {
            links.retain(|_, link| !link.is_closed());
            if links.len() >= MAX_LINKS {
                return;
            }
        }
        let Some(net) = self.network() else {
            return;
        };
        let (link, frames) = tokio::sync::mpsc::channel(LINK_QUEUE);
        let _ = link.try_send(frame);
        links.insert(peer, link);
        self.runtime.spawn(write_link(
            net.streams(),
            lane_protocol(&self.genesis),
            peer,
            frames,
        ));
    }

    fn network(&self) -> Option<NetworkHandle> {
        self.net.lock().clone()
    }

    /// The node's Aura session keys among `keys`, with their pairs.
    fn own_pair(&self, key: &[u8; 32]) -> Option<sr25519::Pair> {
        self.keystore
            .pair("aura", &sr25519::Public::from_raw(*key))
            .ok()
            .flatten()
    }

    /// Certified batches not in the finalized chain, per area in lane order, for a
    /// block author (who skips those its parent already holds).
    pub fn batches_for_block(&self) -> Vec<CertifiedBatch> {
        self.shared.lock().certified.values().cloned().collect()
    }

    /// A peer connected: learn which session keys it holds.
    pub fn on_peer_connected(self: &Arc<Self>, peer: PeerId) {
        let Some(net) = self.network() else {
            return;
        };
        let genesis = self.genesis;
        let service = self.clone();
        self.runtime.spawn(async move {
            let request = Request::Lane(Wire::Hello.encode());
            let Ok(Response::Lane(bytes)) = net.request(peer, request).await else {
                return;
            };
            let Ok(Wire::Identity(keys)) = Wire::decode_all(&mut &bytes[..]) else {
                return;
            };
            let mut message = IDENTITY_TAG.to_vec();
            message.extend_from_slice(genesis.as_bytes());
            message.extend_from_slice(&peer.to_bytes());
            let proven: Vec<[u8; 32]> = keys
                .into_iter()
                .take(16)
                .filter(|(key, signature)| fastlane::sigcache::verify(&message, signature, key))
                .map(|(key, _)| key)
                .collect();
            {
                let mut shared = service.shared.lock();
                for key in &proven {
                    shared.key_peers.insert(*key, peer);
                }
                shared.peer_keys.insert(peer, proven.clone());
            }
            if !proven.is_empty() {
                let _ = service.events.try_send(Event::Met(peer, proven));
            }
        });
    }

    /// Asks `peer` for its identity unless that was done in the last second.
    fn hello_soon(&self, peer: PeerId) {
        let now = Instant::now();
        {
            let mut asked = self.asked.lock();
            if asked
                .get(&peer)
                .is_some_and(|at| now.duration_since(*at) < Duration::from_secs(1))
            {
                return;
            }
            if asked.len() > 4_096 {
                asked.clear();
            }
            asked.insert(peer, now);
        }
        let service = self.me.lock().upgrade();
        if let Some(service) = service {
            service.on_peer_connected(peer);
        }
    }

    /// A peer disconnected.
    /// A peer disconnected: lanes it leads change views at once (a crashed primary's
    /// connections break long before a view times out).
    pub fn on_peer_disconnected(&self, peer: &PeerId) {
        let lost: Vec<[u8; 32]> = {
            let mut shared = self.shared.lock();
            let Some(keys) = shared.peer_keys.remove(peer) else {
                return;
            };
            keys.into_iter()
                .filter(|key| {
                    let held = shared.key_peers.get(key) == Some(peer);
                    if held {
                        shared.key_peers.remove(key);
                    }
                    held
                })
                .collect()
        };
        if !lost.is_empty() {
            let _ = self.events.try_send(Event::Lost(lost));
        }
        // Submissions forwarded to it will get no answer: their senders go, so each is
        // sent again to another member at once (see [`LaneService::submit_action`]).
        self.forwards.lock().retain(|_, (to, _)| to != peer);
    }

    /// A gossiped certified batch: validated on the gossip thread (a full queue ignores
    /// it).
    pub fn on_gossip(&self, source: PeerId, id: MessageId, data: Vec<u8>) {
        if let Err(e) = self.gossip.try_send((source, Some(id), data)) {
            let (std::sync::mpsc::TrySendError::Full((source, id, _))
            | std::sync::mpsc::TrySendError::Disconnected((source, id, _))) = e;
            if let (Some(net), Some(id)) = (self.network(), id) {
                net.validation_result(id, source, Verdict::Ignore);
            }
        }
    }

    fn gossip_worker(&self, queue: Receiver<(PeerId, Option<MessageId>, Vec<u8>)>) {
        while let Ok((source, id, data)) = queue.recv() {
            let verdict = match CertifiedBatch::decode_all(&mut &data[..]) {
                Ok(certified) => match self.check_certified(&certified) {
                    Ok(Checked::New) => {
                        let _ = self.events.try_send(Event::Certified(certified));
                        Verdict::Accept
                    }
                    Ok(Checked::Conflicts(known)) => {
                        // Passed on, so that every node sees the evidence.
                        self.report_equivocation(*known, certified);
                        Verdict::Accept
                    }
                    Ok(Checked::Old) => Verdict::Ignore,
                    Err(()) => Verdict::Reject,
                },
                Err(_) => Verdict::Reject,
            };
            if let Some(net) = self.network() {
                if verdict == Verdict::Reject {
                    net.report(
                        source,
                        arceon_network::Reputation::bad("invalid certified lane batch"),
                    );
                }
                if let Some(id) = id {
                    net.validation_result(id, source, verdict);
                }
            }
        }
    }

    /// Checks a gossiped certified batch against the best block's committees: valid
    /// and new, valid and conflicting with a certified batch this node holds (an
    /// equivocation), stale or not checkable, or (`Err`) invalid.
    fn check_certified(&self, certified: &CertifiedBatch) -> Result<Checked, ()> {
        let batch = &certified.batch;
        let header = &batch.header;
        if header.genesis != self.genesis
            || batch.actions.is_empty()
            || batch.actions.len() > fastlane::types::MAX_BATCH_ACTIONS
            || !batch.body_matches()
        {
            return Err(());
        }
        // One look at the shared state: the committee's keys (in force, or ending its lane)
        // and what this node holds at the batch's position. Certified batches stay here
        // until finalized: one at this position with another header is an equivocation,
        // also when the chain included it.
        let (keys, conflict) = {
            let shared = self.shared.lock();
            let keys = [
                shared.committees.get(&header.area),
                shared.retired.get(&header.area),
            ]
            .into_iter()
            .flatten()
            .find(|(version, _)| *version == header.version)
            .map(|(_, keys)| keys.clone());
            let Some(keys) = keys else {
                return Ok(Checked::Old);
            };
            let conflict = match shared.certified.get(&(header.area, header.height)) {
                Some(known)
                    if known.batch.header.version == header.version
                        && known.batch.header.hash() != header.hash() =>
                {
                    Some(Box::new(known.clone()))
                }
                Some(_) => return Ok(Checked::Old),
                None => {
                    let included = shared
                        .heads
                        .get(&header.area)
                        .is_some_and(|head| header.height <= *head);
                    if included {
                        return Ok(Checked::Old);
                    }
                    None
                }
            };
            (keys, conflict)
        };
        fastlane::verify_certificate(header, &certified.certificate, &keys).map_err(|_| ())?;
        if !fastlane::verify_actions(&batch.actions) {
            return Err(());
        }
        Ok(conflict.map_or(Checked::New, Checked::Conflicts))
    }

    /// Answers a peer's `Request::Lane`: the identity exchange (the one-way messages
    /// travel on lane streams, see [`LaneService::on_frame`]).
    pub fn answer(&self, peer: PeerId, bytes: &[u8]) -> Response {
        match Wire::decode_all(&mut &bytes[..]) {
            Ok(Wire::Hello) => Response::Lane(Wire::Identity(self.identity()).encode()),
            Ok(_) => Response::Refused("lane messages travel on lane streams".into()),
            Err(_) => {
                self.report(peer, "undecodable lane request");
                Response::Refused("undecodable lane request".into())
            }
        }
    }

    /// Takes a one-way lane message from `peer`.
    fn take(&self, peer: PeerId, wire: Wire) {
        let relayed = matches!(wire, Wire::Relays(_));
        match wire {
            Wire::Members(messages) => {
                let from = self
                    .shared
                    .lock()
                    .peer_keys
                    .get(&peer)
                    .cloned()
                    .unwrap_or_default();
                if from.is_empty() {
                    // Members prove their keys when they connect; a member message from a
                    // peer whose identity is not known (yet) is never taken. It costs the
                    // peer nothing: an honest member's proposal can overtake its identity
                    // answer, and it is re-sent. Ask for the identity now.
                    self.hello_soon(peer);
                    return;
                }
                for (area, message) in messages {
                    let event = Event::Member {
                        area,
                        from: from.clone(),
                        message,
                    };
                    // A full queue drops the rest: proposals are re-sent, votes repeated.
                    if self.events.try_send(event).is_err() {
                        return;
                    }
                }
            }
            Wire::Forwards(submissions) | Wire::Relays(submissions) => {
                let Some(service) = self.me.lock().upgrade() else {
                    return;
                };
                for (id, action) in submissions {
                    let (tx, rx) = oneshot::channel();
                    let event = Event::Submit {
                        action,
                        reply: tx,
                        queued: Instant::now(),
                        relayed,
                    };
                    let queued = self.events.try_send(event).is_ok();
                    let service = service.clone();
                    self.runtime.spawn(async move {
                        let result = if queued {
                            match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
                                Ok(Ok(result)) => result.into(),
                                _ => Forwarded::Unavailable("no answer from the lane".into()),
                            }
                        } else {
                            Forwarded::Unavailable("lane overloaded".into())
                        };
                        service.send_wire(peer, &Wire::Results(vec![(id, result)]));
                    });
                }
            }
            Wire::Fetch { area, from, to } => {
                if !take_turn(&mut self.fetch_answered.lock(), peer, FETCH_ANSWER_GAP) {
                    return;
                }
                let _ = self.events.try_send(Event::Fetch {
                    peer,
                    area,
                    from,
                    to,
                });
            }
            Wire::Fetched(batches) => {
                let asked = self
                    .fetches
                    .lock()
                    .get(&peer)
                    .is_some_and(|at| at.elapsed() < FETCH_ANSWER_WINDOW);
                if !asked {
                    self.report(peer, "lane batches nobody asked for");
                    return;
                }
                // Checked in full on the gossip thread, like gossiped batches (an invalid
                // one costs the peer its reputation there).
                for certified in batches.into_iter().take(MAX_FETCH as usize) {
                    if self
                        .gossip
                        .try_send((peer, None, certified.encode()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Wire::Seals(seals) => {
                for seal in seals.into_iter().take(handover::MAX_SEALS_PER_FRAME) {
                    if self.events.try_send(Event::Sealed(seal)).is_err() {
                        return;
                    }
                }
            }
            Wire::Results(results) => {
                let mut forwards = self.forwards.lock();
                for (id, result) in results {
                    // Only the peer the submission went to can answer it.
                    if forwards.get(&id).is_some_and(|(to, _)| *to == peer) {
                        if let Some((_, reply)) = forwards.remove(&id) {
                            let _ = reply.send(result.into());
                        }
                    }
                }
            }
            Wire::Hello | Wire::Identity(_) => {}
        }
    }

    /// This node's session keys with signatures binding them to its peer id.
    fn identity(&self) -> Vec<([u8; 32], [u8; 64])> {
        let Some(net) = self.network() else {
            return Vec::new();
        };
        let mut message = IDENTITY_TAG.to_vec();
        message.extend_from_slice(self.genesis.as_bytes());
        message.extend_from_slice(&net.local_peer_id().to_bytes());
        let mut keys: Vec<[u8; 32]> = {
            let shared = self.shared.lock();
            shared
                .committees
                .values()
                .flat_map(|(_, keys)| keys.iter().copied())
                .collect()
        };
        // Before the lanes have read their committees: the validators' keys.
        let best = self.client.best().1;
        if let Ok(state) = self.client.state_at(&best) {
            let mut ext = Ext::new(&state);
            keys.extend(
                arceon_runtime::offchain::authoring_set(&mut ext)
                    .into_iter()
                    .map(|(_, keys)| keys.aura.0),
            );
        }
        let mut seen = std::collections::HashSet::new();
        keys.into_iter()
            .filter(|key| seen.insert(*key))
            .filter_map(|key| self.own_pair(&key))
            .map(|pair| (pair.public().0, pair.sign(&message).0))
            .collect()
    }

    /// Submits an action: to this node's lane when it is the area's primary, else
    /// forwarded to the primary's peer.
    async fn submit_action(
        self: Arc<Self>,
        action: SignedLaneAction,
    ) -> Result<Receipt, LaneSubmitError> {
        let area = action.action.area;
        // A member of the area's committee takes it into its lane: the primary sequences
        // it, a replica holds it for the primary (through view changes).
        let member = self.shared.lock().lanes.contains_key(&area);
        if member {
            let (tx, rx) = oneshot::channel();
            self.events
                .try_send(Event::Submit {
                    action,
                    reply: tx,
                    queued: Instant::now(),
                    relayed: false,
                })
                .map_err(|_| LaneSubmitError::Unavailable("lane overloaded".into()))?;
            return match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
                Ok(Ok(result)) => result,
                _ => Err(LaneSubmitError::Unavailable(format!(
                    "lane unavailable: no answer from area {area}'s lane within {} s",
                    ANSWER_TIMEOUT.as_secs()
                ))),
            };
        }
        // Not a member: to a connected member of the committee (it forwards to the
        // primary of the view it runs), the first primary's peer when connected. When
        // that member's connection breaks before it answers (it crashed), the action goes
        // to the next connected member at once: a replica holds it for the next primary,
        // and the lane nonce makes a second submission of a sequenced action return its
        // receipt.
        for _ in 0..MAX_FORWARD_ATTEMPTS {
            let peer = {
                let shared = self.shared.lock();
                let Some((_, keys)) = shared.committees.get(&area) else {
                    return Err(LaneSubmitError::Rejected(
                        arceon_runtime::module_error_text(
                            fastlane::PALLET_INDEX,
                            fastlane::Error::NoCommittee as u8,
                        ),
                    ));
                };
                keys.iter()
                    .find_map(|key| shared.key_peers.get(key).copied())
            };
            let Some(peer) = peer else {
                return Err(LaneSubmitError::Unavailable(format!(
                    "no member of area {area}'s committee is connected"
                )));
            };
            if let Some(result) = self.forward_to(peer, action.clone(), false).await {
                return result;
            }
        }
        Err(LaneSubmitError::Unavailable(format!(
            "lane unavailable: {MAX_FORWARD_ATTEMPTS} members of area {area}'s committee went away before answering"
        )))
    }

    /// Forwards an action to `peer` (a committee member; `relay`: to the primary, from
    /// this node's lane) and waits for its answer.
    async fn forward_to(
        &self,
        peer: PeerId,
        action: SignedLaneAction,
        relay: bool,
    ) -> Option<Result<Receipt, LaneSubmitError>> {
        let id = self.next_forward.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut forwards = self.forwards.lock();
            if forwards.len() >= MAX_FORWARDS {
                return Some(Err(LaneSubmitError::Unavailable(
                    "too many forwarded submissions waiting".into(),
                )));
            }
            forwards.insert(id, (peer, tx));
        }
        let submissions = vec![(id, action)];
        self.send_wire(
            peer,
            &if relay {
                Wire::Relays(submissions)
            } else {
                Wire::Forwards(submissions)
            },
        );
        let result = match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
            Ok(Ok(result)) => Some(result),
            // The peer's connection broke (its reply sender was dropped).
            Ok(Err(_)) => None,
            Err(_) => Some(Err(LaneSubmitError::Unavailable(format!(
                "lane unavailable: no answer from the committee member within {} s",
                ANSWER_TIMEOUT.as_secs()
            )))),
        };
        self.forwards.lock().remove(&id);
        result
    }
}

/// Writes frames queued for `peer` to this node's lane stream to it: what queued while a
/// write was under way goes in the next write. The stream is opened on the first frame
/// and again after an error (the frames of a failed write are lost: proposals are
/// re-sent, votes repeated, forwarded submissions time out); the task ends when the
/// link has been idle for [`LINK_IDLE`] or its queue is gone.
async fn write_link(
    mut control: StreamControl,
    protocol: StreamProtocol,
    peer: PeerId,
    mut frames: tokio::sync::mpsc::Receiver<Vec<u8>>,
) {
    use futures::AsyncWriteExt as _;
    let mut stream: Option<Stream> = None;
    let mut buffer = Vec::new();
    loop {
        let Ok(Some(first)) = tokio::time::timeout(LINK_IDLE, frames.recv()).await else {
            return;
        };
        buffer.clear();
        for frame in std::iter::once(first).chain(std::iter::from_fn(|| frames.try_recv().ok())) {
            buffer.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            buffer.extend_from_slice(&frame);
            if buffer.len() >= LINK_WRITE_BYTES {
                break;
            }
        }
        if stream.is_none() {
            match control.open_stream(peer, protocol.clone()).await {
                Ok(opened) => stream = Some(opened),
                Err(e) => {
                    log::debug!("fast lanes: no lane stream to {peer}: {e}");
                    continue;
                }
            }
        }
        if let Some(open) = stream.as_mut() {
            let written = async {
                open.write_all(&buffer).await?;
                open.flush().await
            };
            if let Err(e) = written.await {
                log::debug!("fast lanes: lane stream to {peer} failed: {e}");
                stream = None;
            }
        }
    }
}

/// Checks the player signatures of the submissions among `events` in one batch, so the
/// lanes' own check of each is a hit in the verified-signature cache. A batch holding a
/// bad signature proves nothing: each submission is then checked on its own as before.
fn preverify(events: &[Event]) {
    let actions: Vec<&SignedLaneAction> = events
        .iter()
        .filter_map(|event| match event {
            Event::Submit { action, .. } => Some(action),
            _ => None,
        })
        .collect();
    if actions.len() > 1 {
        fastlane::verify_actions(actions);
    }
}

/// The RPC side of the lanes.
pub struct RpcLanes(pub Arc<LaneService>);

impl FastLaneApi for RpcLanes {
    fn submit(
        &self,
        action: SignedLaneAction,
    ) -> BoxFuture<'static, Result<LaneConfirmation, LaneSubmitError>> {
        let service = self.0.clone();
        Box::pin(async move {
            let area = action.action.area;
            let receipt = service.clone().submit_action(action).await?;
            let committee = service
                .shared
                .lock()
                .committees
                .get(&area)
                .map(|(_, keys)| keys.clone())
                .unwrap_or_default();
            Ok(LaneConfirmation { receipt, committee })
        })
    }

    fn lane_state(&self, area: AreaId) -> Result<Value, String> {
        let service = &self.0;
        let best = service.client.best().1;
        let state = service.client.state_at(&best).map_err(|e| e.to_string())?;
        let mut ext = Ext::new(&state);
        let authority = areas::authority(&mut ext, area)
            .ok_or_else(|| format!("area {area} has no committee"))?;
        let head = fastlane::lane_head(&mut ext, area);
        let keys = fastlane::committee_keys(&mut ext, area)
            .map(|(_, keys)| keys)
            .unwrap_or_default();
        let shared = service.shared.lock();
        let lane = shared.lanes.get(&area);
        let certified = shared
            .certified
            .range((area, head.height + 1)..=(area, u64::MAX))
            .count();
        let members: Vec<Value> = authority
            .members()
            .iter()
            .enumerate()
            .map(|(i, who)| {
                json!({
                    "account": arceon_primitives::to_ss58(who),
                    "key": keys.get(i).map(|k| format!("0x{}", hex::encode(k))),
                })
            })
            .collect();
        let view = lane.map_or(0, |lane| lane.view);
        Ok(json!({
            "area": area,
            "version": authority.version,
            "view": view,
            "viewActive": lane.is_none_or(|lane| lane.active),
            "primary": arceon_primitives::to_ss58(&authority.primary),
            "viewPrimary": members.get(view as usize % members.len().max(1)).cloned(),
            "committee": members,
            "quorum": fastlane::quorum(members.len()),
            "height": head.height,
            "headHash": format!("{:?}", head.hash),
            "headTimeMs": head.time_ms,
            "laneTip": lane.map(|lane| lane.tip),
            "laneVersion": lane.map(|lane| lane.version),
            "pending": lane.map_or(0, |lane| lane.pending),
            "certifiedNotInBlock": certified,
            "role": match lane {
                Some(lane)
                    if lane.active && usize::from(lane.me) == view as usize % members.len().max(1) =>
                {
                    "primary"
                }
                Some(_) => "replica",
                None => "observer",
            },
        }))
    }

    fn subscribe_batches(&self) -> broadcast::Receiver<Arc<CertifiedBatch>> {
        self.0.batches.subscribe()
    }

    fn player(&self, who: &AccountId32) -> Result<Value, String> {
        let service = &self.0;
        let best = service.client.best().1;
        let state = service.client.state_at(&best).map_err(|e| e.to_string())?;
        let mut ext = Ext::new(&state);
        let Some(player) = arceon_runtime::queries::player(&mut ext, who) else {
            return Ok(Value::Null);
        };
        let record = fastlane::player_lane(&mut ext, who);
        let seen = service.shared.lock().players.get(who).copied();
        let nonce = record
            .map_or(0, |r| r.nonce)
            .max(seen.map_or(0, |view| view.nonce));
        // The lanes' view of its area, unless that area was split or merged away since
        // (the runtime moved the player; a reshape waits until the chain holds every
        // batch of the lanes it ends, so the chain's area is the player's).
        let area = seen
            .and_then(|view| view.area)
            .filter(|area| areas::area(&mut ext, *area).is_some_and(|area| area.active))
            .unwrap_or(player.area);
        let position = seen
            .and_then(|view| view.position)
            .unwrap_or(player.position);
        let version = areas::authority(&mut ext, area).map(|authority| authority.version);
        Ok(json!({
            "account": arceon_primitives::to_ss58(who),
            "joined": record.is_some(),
            "nonce": nonce,
            "area": area,
            "version": version,
            "x": position.x,
            "y": position.y,
            "genesis": format!("{:?}", service.genesis),
        }))
    }
}

/// A lane batch this node knows that is not in the best block.
struct Known {
    batch: Batch,
    certificate: Option<Certificate>,
    /// Applied to the overlay.
    applied: bool,
}

/// The lane thread.
struct Worker {
    service: Arc<LaneService>,
    lanes: HashMap<AreaId, Lane>,
    overlay: Overlay,
    best: H256,
    known: BTreeMap<(AreaId, u64), Known>,
    /// Per area: the height the overlay has applied up to.
    applied: HashMap<AreaId, u64>,
    /// Per area: the chain's lane head at the best block.
    heads: HashMap<AreaId, LaneHead>,
    clients: HashMap<ClientId, (SubmitReply, Instant)>,
    next_client: ClientId,
    /// Which session keys this node holds (refreshed on every new best block).
    own_keys: HashMap<[u8; 32], Option<sr25519::Pair>>,
    /// When the keystore was last asked for the committee keys this node lacked.
    keys_checked: Option<Instant>,
    /// When each area's last certified batch was learned (batch interval metric).
    last_certified: HashMap<AreaId, Instant>,
    /// Each lane's height at the finalized block (`final_at`).
    final_heads: HashMap<AreaId, u64>,
    final_at: H256,
    /// Batches written to the database and not yet pruned.
    persisted: std::collections::BTreeSet<(AreaId, u64)>,
    /// The finalized block persisted batches were last pruned at.
    pruned_at: H256,
    /// When they were last pruned.
    pruned_when: Option<Instant>,
    to_persist: Vec<Batch>,
    /// Certified batches learned this round, made durable by [`Worker::flush`].
    to_certify: Vec<CertifiedBatch>,
    /// The certified batches kept on disk (deleted once finalized).
    persisted_certified: std::collections::BTreeSet<(AreaId, u64)>,
    /// Headers this round's lanes asked to have signed: (area, height, hash).
    to_sign: Vec<(AreaId, u64, H256)>,
    /// Member messages of this round, per peer, sent once the round is durable.
    outbox: HashMap<PeerId, Vec<(AreaId, LaneMessage)>>,
    /// Areas whose next known batch did not apply on the view.
    blocked: std::collections::BTreeSet<AreaId>,
    /// Players whose last crossing is in a batch this node holds uncertified, with that
    /// batch's (area, height). Their actions in the area they entered wait for its
    /// certificate: a batch must never depend on one that may never be certified.
    crossings: HashMap<AccountId32, (AreaId, u64)>,
    /// Submissions waiting for the certificate of the batch holding their player's
    /// crossing, by that batch.
    deferred: BTreeMap<(AreaId, u64), Vec<(SignedLaneAction, SubmitReply)>>,
    deferred_count: usize,
    /// The view applied batches since the last [`Worker::settle`].
    progress: bool,
    /// A lane gave up batches the overlay holds: it is rebuilt before the next tick.
    stale: bool,
    /// The view (with its committee version) last written for each lane.
    views: HashMap<AreaId, (u64, u32)>,
    /// `--unsafe-lane-equivocate`: the forks made, with their votes.
    forks: arceon_fastlane::byzantine::Forks,
    /// `--unsafe-lane-equivocate`: whether the one fork was made.
    equivocated: bool,
    /// Since when each lane has (as primary) waited for certificates, or held actions
    /// through a view change, without certifying anything ([`Worker::stuck_for`]).
    stuck_since: HashMap<AreaId, Instant>,
    /// Areas whose committee changed: the old lane seals, then the new one starts.
    handovers: HashMap<AreaId, handover::Handover>,
    /// The latest valid seal of each area's replaced committee.
    seals: HashMap<AreaId, Seal>,
    /// Seals of committee changes this node has not seen yet (checked when it does).
    unchecked_seals: HashMap<AreaId, Seal>,
    /// When this node last asked for each area's missing certified batches.
    fetched_at: HashMap<AreaId, Instant>,
    /// Which member the next fetch goes to.
    next_fetch: usize,
    /// When this node last answered each peer's `Fetch`.
    /// Committees replaced at the best block whose lanes still end (version, keys).
    retired: HashMap<AreaId, (u64, Vec<[u8; 32]>)>,
    /// Lanes of areas a scheduled split or merge ends ([`reshape`]).
    endings: HashMap<AreaId, reshape::Ending>,
    /// The chain's slot duration (ms), read while a reshape waits.
    slot_ms: u64,
    /// The committees, replaced committees and lane heads at `best`.
    chain: committees::LaneChain,
    /// Whether `chain` was read (at `best`).
    chain_read: bool,
    /// The storage prefixes that say what a block touched of `chain`.
    prefixes: committees::Prefixes,
}

impl Worker {
    fn new(service: Arc<LaneService>) -> Self {
        Worker {
            overlay: Overlay::new(service.genesis),
            service,
            lanes: HashMap::new(),
            best: H256::zero(),
            known: BTreeMap::new(),
            applied: HashMap::new(),
            heads: HashMap::new(),
            clients: HashMap::new(),
            next_client: 0,
            own_keys: HashMap::new(),
            keys_checked: None,
            last_certified: HashMap::new(),
            final_heads: HashMap::new(),
            final_at: H256::zero(),
            persisted: std::collections::BTreeSet::new(),
            pruned_at: H256::zero(),
            pruned_when: None,
            to_persist: Vec::new(),
            to_certify: Vec::new(),
            persisted_certified: std::collections::BTreeSet::new(),
            to_sign: Vec::new(),
            outbox: HashMap::new(),
            blocked: std::collections::BTreeSet::new(),
            progress: false,
            stale: false,
            views: HashMap::new(),
            crossings: HashMap::new(),
            deferred: BTreeMap::new(),
            deferred_count: 0,
            forks: Default::default(),
            equivocated: false,
            stuck_since: HashMap::new(),
            handovers: HashMap::new(),
            seals: HashMap::new(),
            unchecked_seals: HashMap::new(),
            fetched_at: HashMap::new(),
            next_fetch: 0,
            retired: HashMap::new(),
            endings: HashMap::new(),
            slot_ms: 0,
            chain: committees::LaneChain::default(),
            chain_read: false,
            prefixes: committees::Prefixes::new(),
        }
    }

    /// How long `area`'s lane has certified nothing while it waited for certificates of
    /// its batches or held actions through a view change, once that is longer than a
    /// few view changes take (four view timeouts, at least two seconds: a view that
    /// fails doubles the next one's timeout): its committee has no quorum that answers
    /// (a partition, or too many members down), and a new submission is refused at once
    /// as unavailable rather than left waiting for nothing.
    fn stuck_for(&self, area: AreaId) -> Option<Duration> {
        let limit = Duration::from_millis((4 * self.service.view_timeout_ms).max(2_000));
        let stuck = self.stuck_since.get(&area)?.elapsed();
        (stuck > limit).then_some(stuck)
    }

    /// Reads back the certified batches kept before a restart: block authors and
    /// fetching peers get them again (those the chain holds by now are dropped as the
    /// chain is followed).
    fn restore_certified(&mut self) {
        let kept = match self
            .service
            .client
            .aux_scan(CERT_PREFIX, MAX_RESTORED_CERTIFIED)
        {
            Ok(kept) => kept,
            Err(e) => {
                log::error!("fast lanes: cannot read the kept certified batches: {e}");
                return;
            }
        };
        let mut shared = self.service.shared.lock();
        for (key, value) in kept {
            let Ok(certified) = CertifiedBatch::decode_all(&mut &value[..]) else {
                log::warn!("fast lanes: a kept certified batch does not decode");
                continue;
            };
            let header = &certified.batch.header;
            let at = (header.area, header.height);
            if key != cert_key(at.0, at.1) {
                continue;
            }
            self.persisted_certified.insert(at);
            shared.certified.insert(at, certified);
        }
        if !self.persisted_certified.is_empty() {
            log::info!(
                "fast lanes: {} certified batches kept before a restart are offered to blocks again",
                self.persisted_certified.len()
            );
        }
    }

    fn run(mut self, events: Receiver<Event>) {
        self.restore_certified();
        let mut last_publish = Instant::now();
        let mut last_hole_scan = Instant::now();
        while !self.service.stop.load(Ordering::SeqCst) {
            self.follow_chain();
            // Sleep until a lane has work due (or an event, or at most IDLE_WAIT: the
            // chain is followed between events too).
            let now = unix_ms();
            let due = self
                .lanes
                .values()
                .filter_map(Lane::next_deadline)
                .min()
                .map_or(IDLE_WAIT, |at| {
                    Duration::from_millis(at.saturating_sub(now)).clamp(TICK, IDLE_WAIT)
                });
            match events.recv_timeout(due) {
                Ok(event) => {
                    let round = Instant::now();
                    // A block imported while we waited may hold what the event relies
                    // on (a player's join the submitter saw in the best block).
                    self.follow_chain();
                    // Take what else is waiting before ticking, for a round of at most
                    // ROUND: its messages leave together after one synced write. What is
                    // waiting is taken in bursts, whose submissions' signatures are
                    // checked in one batch first.
                    let mut burst = vec![event];
                    loop {
                        while burst.len() < MAX_BURST {
                            match events.try_recv() {
                                Ok(event) => burst.push(event),
                                Err(_) => break,
                            }
                        }
                        preverify(&burst);
                        for event in burst.drain(..) {
                            self.handle(event);
                        }
                        if round.elapsed() >= ROUND {
                            break;
                        }
                        match events.try_recv() {
                            Ok(event) => burst.push(event),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if std::mem::take(&mut self.stale) {
                // A lane gave up batches: the view is built again without them, on the
                // same block (its cached reads kept), and the lanes replay on it.
                self.overlay.restart();
                let lanes: Vec<AreaId> = self.lanes.keys().copied().collect();
                self.reapply_known(&lanes);
            }
            let now = unix_ms();
            let areas: Vec<AreaId> = self.lanes.keys().copied().collect();
            for area in areas {
                if let Some(lane) = self.lanes.get_mut(&area) {
                    let outputs = lane.tick(&mut self.overlay, now);
                    self.carry_out(area, outputs);
                }
            }
            if !self.handovers.is_empty() {
                self.hand_over();
            }
            if !self.endings.is_empty() {
                self.end_lanes();
            }
            self.settle();
            // Durable first, then signed: a member never signs a batch it could forget,
            // and a lane of one member (which certifies as it signs) never receipts one.
            self.flush();
            self.sign_round();
            self.release();
            if last_publish.elapsed() >= PUBLISH_EVERY {
                self.publish_info();
                last_publish = Instant::now();
            }
            if last_hole_scan.elapsed() >= FETCH_EVERY {
                self.fetch_holes();
                last_hole_scan = Instant::now();
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Submit {
                action,
                reply,
                queued,
                relayed,
            } => {
                // Admission control: a submission that waited this long for the lane
                // thread finds it overloaded. Refusing it at once (a clear error the
                // client can retry on) keeps the receipts of what the lane does take
                // fast, instead of every submission waiting ever longer.
                if queued.elapsed() > MAX_SUBMIT_WAIT {
                    let _ = reply.send(Err(LaneSubmitError::Unavailable(
                        "lane overloaded: try again".into(),
                    )));
                    return;
                }
                let area = action.action.area;
                if let Some(handover) = self
                    .handovers
                    .get(&area)
                    .filter(|handover| handover.version == action.action.version)
                {
                    let _ = reply.send(Err(LaneSubmitError::Unavailable(format!(
                        "lane unavailable: area {area}'s committee is handing over to version {} ({} ms so far)",
                        handover.version,
                        handover.since.elapsed().as_millis()
                    ))));
                    return;
                }
                if let Some(batch) = self.crossings.get(&action.action.player).copied() {
                    if batch.0 != area {
                        if self.deferred_count >= MAX_DEFERRED {
                            let _ = reply
                                .send(Err(LaneSubmitError::Unavailable("lane overloaded".into())));
                            return;
                        }
                        self.deferred_count += 1;
                        self.deferred
                            .entry(batch)
                            .or_default()
                            .push((action, reply));
                        return;
                    }
                }
                if let Some(stuck) = self.stuck_for(area) {
                    let _ = reply.send(Err(LaneSubmitError::Unavailable(format!(
                        "lane unavailable: area {area} has certified nothing for {} ms (no quorum of its committee answers)",
                        stuck.as_millis()
                    ))));
                    return;
                }
                let Some(lane) = self.lanes.get_mut(&area) else {
                    // A lane that ended for a reshape or a committee change, or an area
                    // reshaped away: answered as the lane itself would, so that clients
                    // read the area again.
                    let answer = if !self.heads.is_empty() && !self.heads.contains_key(&area) {
                        LaneSubmitError::Rejected(arceon_runtime::module_error_text(
                            fastlane::PALLET_INDEX,
                            fastlane::Error::NoCommittee as u8,
                        ))
                    } else if self.endings.contains_key(&area) || self.handovers.contains_key(&area)
                    {
                        rejection_text(&LaneError::Retired)
                    } else {
                        LaneSubmitError::Unavailable(format!(
                            "this node does not serve area {area}"
                        ))
                    };
                    let _ = reply.send(Err(answer));
                    return;
                };
                let client = self.next_client;
                self.next_client += 1;
                self.clients.insert(client, (reply, Instant::now()));
                let now = unix_ms();
                let outputs = if relayed {
                    lane.submit_relayed(&mut self.overlay, client, action, now)
                } else {
                    lane.submit(&mut self.overlay, client, action, now)
                };
                self.carry_out(area, outputs);
            }
            Event::Member {
                area,
                from,
                message,
            } => {
                let Some(lane) = self.lanes.get_mut(&area) else {
                    return;
                };
                let Some(index) = lane
                    .committee()
                    .keys
                    .iter()
                    .position(|key| from.contains(key))
                else {
                    return;
                };
                if self.byzantine_takes(area, index as MemberIndex, &message) {
                    return;
                }
                let Some(lane) = self.lanes.get_mut(&area) else {
                    return;
                };
                let outputs = lane.on_message(&mut self.overlay, index as MemberIndex, message);
                self.carry_out(area, outputs);
            }
            Event::Certified(certified) => self.learn_certified(certified),
            Event::Sealed(seal) => self.on_seal(seal),
            Event::Lost(keys) => self.member_lost(&keys),
            Event::Met(peer, keys) => self.send_seals_to(peer, &keys),
            Event::Fetch {
                peer,
                area,
                from,
                to,
            } => self.answer_fetch(peer, area, from, to),
            Event::Answered {
                area,
                client,
                action,
                result,
            } => {
                if let Some(lane) = self.lanes.get_mut(&area) {
                    lane.answered(&action);
                }
                self.answer(area, client, result);
            }
        }
    }

    /// Carries out a lane's outputs in order. Member messages wait in the outbox until
    /// the end of the round ([`Worker::release`]), after the round's batches are durable.
    fn carry_out(&mut self, area: AreaId, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Persist(batch) => {
                    let key = (batch.header.area, batch.header.height);
                    let hash = batch.header.hash();
                    if self
                        .known
                        .get(&key)
                        .is_some_and(|known| known.applied && known.batch.header.hash() == hash)
                    {
                        // A certified batch the lane caught up on: already in the view
                        // (and known with its certificate); it only becomes durable.
                        self.to_persist.push(batch);
                        continue;
                    }
                    self.applied.insert(area, batch.header.height);
                    self.progress = true;
                    for (signed, outcome) in batch.actions.iter().zip(&batch.outcomes) {
                        if matches!(outcome, Outcome::Crossed { .. }) {
                            self.crossings.insert(signed.action.player.clone(), key);
                        }
                    }
                    self.service.shared.lock().note_batch(&batch);
                    self.to_persist.push(batch.clone());
                    self.known.insert(
                        key,
                        Known {
                            batch,
                            certificate: None,
                            applied: true,
                        },
                    );
                }
                Output::Sign { height, hash } => self.to_sign.push((area, height, hash)),
                Output::Send { to, message } => {
                    for message in self.maybe_equivocate(area, to, message) {
                        self.queue_send(area, to, message);
                    }
                }
                Output::Certified(certified) => {
                    // Certified after its proposal left, so after its persist was durable.
                    self.certified(certified, true);
                }
                Output::Receipt { client, receipt } => self.answer(area, client, Ok(receipt)),
                Output::Rejected { client, error } => {
                    self.answer(area, client, Err(rejection_text(&error)))
                }
                Output::Forward { to, client, action } => self.forward(area, to, client, action),
                Output::Discard { above } => self.discard(area, above),
            }
        }
    }

    /// Answers a client once (a lane may answer an action twice: from its primary and
    /// from a commit).
    fn answer(&mut self, area: AreaId, client: ClientId, result: Result<Receipt, LaneSubmitError>) {
        if let Some((reply, started)) = self.clients.remove(&client) {
            if result.is_ok() {
                self.service
                    .metrics
                    .observe_lane_receipt(area, started.elapsed());
            }
            let _ = reply.send(result);
        }
    }

    /// Hands a held action to the member `to` of `area`'s committee (the primary of the
    /// view the lane runs); its answer comes back as [`Event::Answered`]. A forward that
    /// gets no answer is not answered to the client: the lane holds the action and
    /// forwards it again (to a new primary if the view changes).
    fn forward(
        &mut self,
        area: AreaId,
        to: MemberIndex,
        client: ClientId,
        action: SignedLaneAction,
    ) {
        if !self.clients.contains_key(&client) {
            return;
        }
        let Some(key) = self
            .lanes
            .get(&area)
            .and_then(|lane| lane.committee().keys.get(usize::from(to)).copied())
        else {
            return;
        };
        let Some(peer) = self.service.shared.lock().key_peers.get(&key).copied() else {
            return;
        };
        let service = self.service.clone();
        let hash = action.hash();
        self.service.runtime.spawn(async move {
            // Unanswered (the primary went away) or unavailable: the lane still holds
            // the action for the next primary.
            let Some(result) = service.forward_to(peer, action, true).await else {
                return;
            };
            if matches!(result, Err(LaneSubmitError::Unavailable(_))) {
                return;
            }
            let _ = service.events.try_send(Event::Answered {
                area,
                client,
                action: hash,
                result,
            });
        });
    }

    /// `area`'s lane left the chain's way: the batches it persisted above `above` are
    /// forgotten (in memory and on disk; the chain is followed before the overlay is
    /// rebuilt, so the overlay never holds them again).
    fn discard(&mut self, area: AreaId, above: u64) {
        let gone: Vec<u64> = self
            .known
            .range((area, above + 1)..=(area, u64::MAX))
            .filter(|(_, known)| known.certificate.is_none())
            .map(|((_, height), _)| *height)
            .collect();
        for height in &gone {
            self.known.remove(&(area, *height));
        }
        // Only what it gives up leaves its disk: a batch it knows certified stays, so a
        // restart cannot forget it (and sign another at its height).
        let keys: Vec<Vec<u8>> = gone
            .iter()
            .filter(|height| self.persisted.contains(&(area, **height)))
            .map(|height| batch_key(area, *height))
            .collect();
        for height in &gone {
            self.persisted.remove(&(area, *height));
        }
        // The lane's tip after giving up is the last batch it keeps (a restart continues
        // after it, never signing another at its height).
        let mut head = self
            .lanes
            .get(&area)
            .map(|lane| lane.tip().clone())
            .or_else(|| self.heads.get(&area).cloned())
            .unwrap_or_default();
        // Certified batches kept on disk beyond it are restored after a restart too.
        if let Some(known) = self
            .persisted
            .range((area, head.height + 1)..=(area, u64::MAX))
            .next_back()
            .and_then(|key| self.known.get(key))
        {
            head = LaneHead {
                height: known.batch.header.height,
                hash: known.batch.header.hash(),
                time_ms: known.batch.header.time_ms,
            };
        }
        let head = head.encode();
        let tip = tip_key(area);
        let mut changes: Vec<(&[u8], Option<&[u8]>)> =
            keys.iter().map(|k| (k.as_slice(), None)).collect();
        changes.push((tip.as_slice(), Some(head.as_slice())));
        if let Err(e) = self.service.client.aux_put(&changes) {
            log::warn!("fast lane {area}: cannot forget batches beyond the chain: {e}");
        }
        log::info!(
            "fast lane {area}: {} batches of this node's beyond batch {above} given up (the chain or the lane's view went another way)",
            gone.len()
        );
        let certified: Vec<(u64, u32)> = if log::log_enabled!(log::Level::Debug) {
            self.known
                .range((area, above + 1)..=(area, u64::MAX))
                .filter(|(_, known)| known.certificate.is_some())
                .map(|((_, height), known)| (*height, known.batch.header.view))
                .collect()
        } else {
            Vec::new()
        };
        if !certified.is_empty() {
            let lane = self.lanes.get(&area);
            log::debug!(
                "fast lane {area}: gave up batches it knows certified (height, view): {certified:?}; \
                 lane view {:?} primary {:?} tip {:?}, chain lane height {}",
                lane.map(|lane| lane.view()),
                lane.map(|lane| lane.is_primary()),
                lane.map(|lane| lane.tip().height),
                self.heads.get(&area).map_or(0, |head| head.height)
            );
        }
        self.stale = true;
    }

    /// Signs every header the round's lanes asked for with one signature per own key (over
    /// their Merkle root, [`fastlane::sign_round`]) and hands each lane its signatures:
    /// their proposals and votes then join the round's outbox.
    fn sign_round(&mut self) {
        if self.to_sign.is_empty() {
            return;
        }
        let mut by_key: HashMap<[u8; 32], Vec<(AreaId, u64, H256)>> = HashMap::new();
        for (area, height, hash) in std::mem::take(&mut self.to_sign) {
            let Some(lane) = self.lanes.get(&area) else {
                continue;
            };
            if let Some(key) = lane.committee().keys.get(usize::from(lane.me())) {
                by_key.entry(*key).or_default().push((area, height, hash));
            }
        }
        for (key, requests) in by_key {
            let Some(Some(pair)) = self.own_keys.get(&key).cloned() else {
                continue;
            };
            for round in requests.chunks(fastlane::types::MAX_ROUND_HEADERS) {
                let hashes: Vec<H256> = round.iter().map(|(_, _, hash)| *hash).collect();
                let signatures = fastlane::sign_round(&pair, &hashes);
                // Valid by construction: certificates holding it (gossiped, then in
                // blocks) cost this node no verification.
                if let Some(message) = signatures.first().and_then(|s| s.message_for(&hashes[0])) {
                    fastlane::sigcache::note_own(&message, &signatures[0].signature, &key);
                }
                for ((area, height, hash), signature) in round.iter().zip(signatures) {
                    if let Some(lane) = self.lanes.get_mut(area) {
                        let outputs = lane.signed(*height, *hash, signature);
                        self.carry_out(*area, outputs);
                    }
                }
            }
        }
    }

    /// Queues a member message for its member's peer.
    fn queue_send(&mut self, area: AreaId, to: MemberIndex, message: LaneMessage) {
        let Some(lane) = self.lanes.get(&area) else {
            return;
        };
        let Some(key) = lane.committee().keys.get(usize::from(to)).copied() else {
            return;
        };
        let Some(peer) = self.service.shared.lock().key_peers.get(&key).copied() else {
            log::debug!("fast lane {area}: member {to} is not connected");
            return;
        };
        self.outbox.entry(peer).or_default().push((area, message));
    }

    /// Ends a round: makes the round's batches durable (one synced write), then sends
    /// each peer its member messages in as few frames as fit.
    fn release(&mut self) {
        self.flush();
        if self.outbox.is_empty() {
            return;
        }
        for (peer, messages) in self.outbox.drain() {
            for bundle in bundles(messages) {
                self.service.send_wire(peer, &Wire::Members(bundle));
            }
        }
    }

    /// Writes the batches persisted this round in one synced write.
    fn flush(&mut self) {
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(self.to_persist.len());
        // Views first: a member's report for a view (signed after this write) binds it
        // never to vote in an earlier one, across restarts too.
        for (area, lane) in &self.lanes {
            let view = (lane.committee().version, lane.view());
            if self.views.get(area) != Some(&view) {
                if self.views.contains_key(area) {
                    log::info!(
                        "fast lane {area}: view {} (primary: member {})",
                        view.1,
                        lane.primary()
                    );
                }
                self.views.insert(*area, view);
                entries.push((view_key(*area), view.encode()));
            }
        }
        // The views of its votes too: a restarted member reports them as they were.
        for (area, lane) in self.lanes.iter_mut() {
            if let Some(votes) = lane.take_vote_views() {
                entries.push((votes_key(*area), votes.encode()));
            }
        }
        for certified in self.to_certify.drain(..) {
            let header = &certified.batch.header;
            self.persisted_certified
                .insert((header.area, header.height));
            entries.push((cert_key(header.area, header.height), certified.encode()));
        }
        if self.to_persist.is_empty() && entries.is_empty() {
            return;
        }
        let mut tips: BTreeMap<AreaId, LaneHead> = BTreeMap::new();
        for batch in self.to_persist.drain(..) {
            let header = &batch.header;
            let tip = LaneHead {
                height: header.height,
                hash: header.hash(),
                time_ms: header.time_ms,
            };
            if tips.get(&header.area).is_none_or(|t| t.height < tip.height) {
                tips.insert(header.area, tip);
            }
            self.persisted.insert((header.area, header.height));
            entries.push((batch_key(header.area, header.height), batch.encode()));
        }
        for (area, tip) in tips {
            entries.push((tip_key(area), tip.encode()));
        }
        let changes: Vec<(&[u8], Option<&[u8]>)> = entries
            .iter()
            .map(|(k, v)| (k.as_slice(), Some(v.as_slice())))
            .collect();
        if let Err(e) = self.service.client.aux_put(&changes) {
            log::error!("fast lane: cannot persist batches: {e}");
        }
    }

    /// The batches this node persisted for `area` beyond the chain's `head` (a restart:
    /// the lane continues after them rather than signing a second batch at their
    /// heights). They join the known batches.
    fn restore(&mut self, area: AreaId, head: &LaneHead, base: u64) -> Option<LaneHead> {
        let db = &self.service.client;
        let tip = db
            .aux_get(&tip_key(area))
            .ok()
            .flatten()
            .and_then(|bytes| LaneHead::decode(&mut &bytes[..]).ok())?;
        if tip.height <= head.height {
            return None;
        }
        let mut last = None;
        for height in head.height + 1..=tip.height.min(head.height + MAX_KNOWN_PER_AREA as u64) {
            let Some(batch) = db
                .aux_get(&batch_key(area, height))
                .ok()
                .flatten()
                .and_then(|bytes| Batch::decode(&mut &bytes[..]).ok())
            else {
                // Up to the base (where a replaced committee's lane ended) batches are
                // decided: one this node never persisted is no hole in its log.
                if height <= base {
                    continue;
                }
                break;
            };
            last = Some(LaneHead {
                height,
                hash: batch.header.hash(),
                time_ms: batch.header.time_ms,
            });
            self.persisted.insert((area, height));
            // Its certificate, when this node had learned it before the restart.
            let certificate = self
                .service
                .shared
                .lock()
                .certified
                .get(&(area, height))
                .filter(|certified| certified.batch.header == batch.header)
                .map(|certified| certified.certificate.clone());
            self.known.entry((area, height)).or_insert(Known {
                batch,
                certificate,
                applied: false,
            });
        }
        if let Some(last) = &last {
            log::info!(
                "fast lane {area}: continuing after batch {} persisted before a restart",
                last.height
            );
        }
        last
    }

    /// Reads each lane's height at the finalized block when it changed.
    fn follow_finality(&mut self) {
        let finalized = self.service.client.finalized().1;
        if finalized == self.final_at {
            return;
        }
        let Ok(state) = self.service.client.state_at(&finalized) else {
            return;
        };
        self.final_at = finalized;
        let mut ext = Ext::new(&state);
        let areas: Vec<AreaId> = self.heads.keys().copied().collect();
        self.final_heads = areas
            .into_iter()
            .map(|area| (area, fastlane::lane_head(&mut ext, area).height))
            .collect();
    }

    /// Deletes persisted batches the finalized chain holds.
    fn prune_persisted(&mut self) {
        let finalized = self.service.client.finalized().1;
        if finalized == self.pruned_at
            || (self.persisted.is_empty() && self.persisted_certified.is_empty())
            || self
                .pruned_when
                .is_some_and(|at| at.elapsed() < PRUNE_EVERY)
        {
            return;
        }
        self.pruned_at = finalized;
        self.pruned_when = Some(Instant::now());
        let Ok(state) = self.service.client.state_at(&finalized) else {
            return;
        };
        let mut ext = Ext::new(&state);
        let areas: std::collections::BTreeSet<AreaId> = self
            .persisted
            .iter()
            .chain(&self.persisted_certified)
            .map(|(area, _)| *area)
            .collect();
        let mut gone = Vec::new();
        let mut gone_certified = Vec::new();
        // The finalized lane heads [`Worker::follow_finality`] read (the lanes' areas);
        // the state only for the others (areas reshaped away).
        let known_heads = self.final_at == finalized;
        for area in areas {
            let head = match self.final_heads.get(&area) {
                Some(head) if known_heads => *head,
                _ => fastlane::lane_head(&mut ext, area).height,
            };
            gone.extend(self.persisted.range((area, 0)..=(area, head)).copied());
            gone_certified.extend(
                self.persisted_certified
                    .range((area, 0)..=(area, head))
                    .copied(),
            );
        }
        if gone.is_empty() && gone_certified.is_empty() {
            return;
        }
        let keys: Vec<Vec<u8>> = gone
            .iter()
            .map(|(a, h)| batch_key(*a, *h))
            .chain(gone_certified.iter().map(|(a, h)| cert_key(*a, *h)))
            .collect();
        for entry in gone {
            self.persisted.remove(&entry);
        }
        for entry in gone_certified {
            self.persisted_certified.remove(&entry);
        }
        // The deletes go to disk off the lane thread (thousands of keys take
        // milliseconds). One that fails leaves batches the chain finalized on disk: a
        // restart does not restore a lane's batches below the chain's lane head, and reads
        // the certified ones back only to prune them again.
        let client = self.service.client.clone();
        self.service.runtime.spawn_blocking(move || {
            let changes: Vec<(&[u8], Option<&[u8]>)> =
                keys.iter().map(|k| (k.as_slice(), None)).collect();
            if let Err(e) = client.aux_put(&changes) {
                log::warn!("fast lane: cannot prune persisted batches: {e}");
            }
        });
    }

    /// A certified batch this node produced (`own`) or learned: pool it for blocks,
    /// gossip it, tell subscribers, and follow it in the overlay.
    fn certified(&mut self, certified: CertifiedBatch, own: bool) {
        let header = &certified.batch.header;
        let key = (header.area, header.height);
        if let Some(known) = self.known.get_mut(&key) {
            known.certificate = Some(certified.certificate.clone());
        }
        self.crossing_settled(key, &certified.batch);
        let now = Instant::now();
        // The lane moves: whatever still waits, waits from now.
        if let Some(since) = self.stuck_since.get_mut(&header.area) {
            *since = now;
        }
        let interval = self
            .last_certified
            .insert(header.area, now)
            .map(|before| now.duration_since(before));
        self.service
            .metrics
            .observe_lane_batch(header.area, header.count as usize, interval);
        self.to_certify.push(certified.clone());
        let replaced = self
            .service
            .shared
            .lock()
            .certified
            .insert(key, certified.clone());
        // Another certified batch at this position (one came by gossip while the other
        // was on its way here): an equivocation.
        if let Some(other) = replaced.filter(|other| {
            other.batch.header.version == header.version && other.batch.header != *header
        }) {
            self.service.report_equivocation(other, certified.clone());
        }
        if own {
            if let Some(net) = self.service.network() {
                net.publish(Topic::Lanes, certified.encode());
            }
        }
        let _ = self.service.batches.send(Arc::new(certified));
    }

    /// The batch at `key` is certified or in the chain: its crossings are settled, and
    /// the submissions that waited for it are taken now.
    fn crossing_settled(&mut self, key: (AreaId, u64), batch: &Batch) {
        for (signed, outcome) in batch.actions.iter().zip(&batch.outcomes) {
            if matches!(outcome, Outcome::Crossed { .. })
                && self.crossings.get(&signed.action.player) == Some(&key)
            {
                self.crossings.remove(&signed.action.player);
            }
        }
        self.release_deferred(key);
    }

    fn release_deferred(&mut self, key: (AreaId, u64)) {
        let Some(waiting) = self.deferred.remove(&key) else {
            return;
        };
        self.deferred_count = self.deferred_count.saturating_sub(waiting.len());
        for (action, reply) in waiting {
            // They waited for a certificate, not for the lane thread.
            let queued = Instant::now();
            self.handle(Event::Submit {
                action,
                reply,
                queued,
                relayed: false,
            });
        }
    }

    fn learn_certified(&mut self, certified: CertifiedBatch) {
        let header = certified.batch.header.clone();
        let key = (header.area, header.height);
        let head = self.heads.get(&header.area).map_or(0, |h| h.height);
        if header.height <= head {
            return;
        }
        let already = self
            .known
            .get(&key)
            .is_some_and(|known| known.batch.header.hash() == header.hash());
        if !already {
            self.service.shared.lock().note_batch(&certified.batch);
            let per_area = self
                .known
                .range((header.area, 0)..=(header.area, u64::MAX))
                .count();
            if per_area >= MAX_KNOWN_PER_AREA {
                return;
            }
            self.known.insert(
                key,
                Known {
                    batch: certified.batch.clone(),
                    certificate: Some(certified.certificate.clone()),
                    applied: false,
                },
            );
        }
        self.certified(certified.clone(), false);
        self.apply_known(header.area);
        self.catch_up(header.area);
        // A hole below it (gossip this node missed, e.g. while it was down): fetched
        // from the committee rather than waited for from blocks.
        let applied = self.applied_height(header.area);
        if header.height > applied + 1 {
            self.fetch(header.area, applied + 1, header.height - 1);
        }
    }

    /// Fetches what is missing below the known batches of every area whose view stops
    /// at a hole (a lane that certifies nothing new any more brings no gossip that
    /// would show the hole: one whose batches others depend on could stall them).
    fn fetch_holes(&mut self) {
        let mut holes = Vec::new();
        let mut next_area = Some(0);
        while let Some(area) = next_area {
            let Some((&(area, _), _)) = self.known.range((area, 0)..).next() else {
                break;
            };
            let next = self.applied_height(area) + 1;
            if !self.known.contains_key(&(area, next)) {
                if let Some((&(_, above), _)) =
                    self.known.range((area, next)..=(area, u64::MAX)).next()
                {
                    holes.push((area, next, above - 1));
                }
            }
            next_area = area.checked_add(1);
        }
        for (area, from, to) in holes {
            self.fetch(area, from, to);
        }
    }

    /// Asks a member of `area`'s committee for the certified batches from `from` to
    /// `to` (at most [`MAX_FETCH`]; once per [`FETCH_EVERY`] per area, from the members
    /// in turn).
    fn fetch(&mut self, area: AreaId, from: u64, to: u64) {
        let peers: Vec<PeerId> = {
            let shared = self.service.shared.lock();
            let Some((_, keys)) = shared.committees.get(&area) else {
                return;
            };
            keys.iter()
                .filter_map(|key| shared.key_peers.get(key).copied())
                .collect()
        };
        if peers.is_empty() || !take_turn(&mut self.fetched_at, area, FETCH_EVERY) {
            return;
        }
        let now = Instant::now();
        self.next_fetch = self.next_fetch.wrapping_add(1);
        let peer = peers[self.next_fetch % peers.len()];
        let to = to.min(from + MAX_FETCH - 1);
        {
            let mut fetches = self.service.fetches.lock();
            fetches.retain(|_, at| at.elapsed() < FETCH_ANSWER_WINDOW);
            fetches.insert(peer, now);
        }
        log::debug!("fast lane {area}: fetching certified batches {from}..={to}");
        self.service
            .send_wire(peer, &Wire::Fetch { area, from, to });
    }

    /// Every lane whose view a member holding one of `keys` leads gives that view up
    /// (see [`Lane::member_lost`]).
    fn member_lost(&mut self, keys: &[[u8; 32]]) {
        let now = unix_ms();
        let areas: Vec<(AreaId, MemberIndex)> = self
            .lanes
            .iter()
            .filter_map(|(area, lane)| {
                let primary = lane.primary();
                let key = lane.committee().keys.get(usize::from(primary))?;
                (keys.contains(key) && !lane.is_primary()).then_some((*area, primary))
            })
            .collect();
        if !areas.is_empty() {
            log::info!(
                "fast lanes: the primary of {} lanes is unreachable; they change views",
                areas.len()
            );
        }
        for (area, primary) in areas {
            if let Some(lane) = self.lanes.get_mut(&area) {
                let outputs = lane.member_lost(&mut self.overlay, primary, now);
                self.carry_out(area, outputs);
            }
        }
    }

    /// Answers a peer's `Fetch` with the certified batches this node holds of it (one
    /// answer per peer per [`FETCH_ANSWER_GAP`]: a peer cannot make this node send more
    /// than that, whatever it asks).
    fn answer_fetch(&mut self, peer: PeerId, area: AreaId, from: u64, to: u64) {
        let to = to.min(from.saturating_add(MAX_FETCH - 1));
        // Every certified batch this node holds beyond the chain, its lanes' or learned
        // (also those kept across a restart).
        let batches: Vec<CertifiedBatch> = self
            .service
            .shared
            .lock()
            .certified
            .range((area, from)..=(area, to))
            .map(|(_, certified)| certified.clone())
            .collect();
        if !batches.is_empty() {
            self.service.send_wire(peer, &Wire::Fetched(batches));
        }
    }

    /// A replica that missed proposals continues after the certified batches this node
    /// knows and applied, one by one from its tip (the primary's own batches come back
    /// to it through gossip too: nothing to do). Never past a batch it lacks: its log
    /// (what it reports in a view change) must hold every batch below its tip.
    fn catch_up(&mut self, area: AreaId) {
        let applied = self.applied.get(&area).copied().unwrap_or(0);
        loop {
            let Some(lane) = self.lanes.get_mut(&area) else {
                return;
            };
            let next = lane.tip().height + 1;
            if lane.is_primary() || next > applied {
                return;
            }
            let Some(certified) = self.known.get(&(area, next)).and_then(|known| {
                let certificate = known.certificate.clone()?;
                (known.applied && known.batch.header.parent == lane.tip().hash).then(|| {
                    CertifiedBatch {
                        batch: known.batch.clone(),
                        certificate,
                    }
                })
            }) else {
                return;
            };
            let outputs = lane.catch_up(&certified);
            if outputs.is_empty() && lane.tip().height < next {
                return;
            }
            self.carry_out(area, outputs);
        }
    }

    /// The height of `area`'s last batch in the overlay: the last applied known batch,
    /// else the chain's lane head.
    fn applied_height(&self, area: AreaId) -> u64 {
        self.applied
            .get(&area)
            .copied()
            .unwrap_or_else(|| self.heads.get(&area).map_or(0, |h| h.height))
    }

    /// Applies the known batches of `area` that follow what the overlay has, in order.
    /// A batch that does not apply waits (`blocked`): it may depend on another lane's
    /// batch (a player crossing in) that has not arrived; [`Worker::settle`] retries it.
    fn apply_known(&mut self, area: AreaId) {
        self.blocked.remove(&area);
        loop {
            let next = self.applied_height(area) + 1;
            let Some(known) = self.known.get_mut(&(area, next)) else {
                return;
            };
            if !known.applied {
                if !self.overlay.apply_batch(&known.batch) {
                    log::debug!(
                        "fast lane {area}: certified batch {next} does not apply on this node's view yet"
                    );
                    self.blocked.insert(area);
                    return;
                }
                known.applied = true;
                self.progress = true;
            }
            self.applied.insert(area, next);
        }
    }

    /// After the view moved on (batches applied): applies the certified batches and
    /// votes on the proposals that were waiting for another lane's batch, until nothing
    /// more applies. Each pass must apply something, so this ends.
    fn settle(&mut self) {
        while std::mem::take(&mut self.progress) {
            let blocked: Vec<AreaId> = self.blocked.iter().copied().collect();
            for area in blocked {
                self.apply_known(area);
            }
            let waiting: Vec<AreaId> = self
                .lanes
                .iter()
                .filter(|(_, lane)| lane.is_waiting())
                .map(|(area, _)| *area)
                .collect();
            for area in waiting {
                if let Some(lane) = self.lanes.get_mut(&area) {
                    let outputs = lane.retry(&mut self.overlay);
                    self.carry_out(area, outputs);
                }
            }
        }
    }

    /// On a new best block: rebuilds the overlay, drops what the block included, and
    /// refreshes the lanes this node serves.
    fn follow_chain(&mut self) {
        let (number, best) = self.service.client.best();
        if best == self.best {
            return;
        }
        let Ok(state) = self.service.client.state_at(&best) else {
            return;
        };
        let started = Instant::now();
        let previous = std::mem::replace(&mut self.best, best);
        // The block's storage changes: what it touched of the committees, and how the
        // overlay's cached reads follow it.
        let changes = match self.service.client.changes_of(&best) {
            Some((parent, changes)) if parent == previous => Some(changes),
            _ => None,
        };
        let touched = match &changes {
            Some(changes) if self.chain_read => self.prefixes.touched(changes),
            _ => committees::Touched::All,
        };
        let mut ext = Ext::new(&state);
        let last = std::mem::take(&mut self.chain);
        let chain = self.read_lane_chain(&mut ext, &last, touched);
        drop(ext);
        self.chain_read = true;
        self.chain = chain.clone();
        let committees::LaneChain {
            committees,
            retired,
            heads,
        } = chain;
        self.heads = heads;
        // Peers whose identity we do not know yet (they answered before their lanes
        // started, or the exchange failed) are asked again.
        if let Some(net) = self.service.network() {
            let unknown: Vec<PeerId> = {
                let shared = self.service.shared.lock();
                net.peers()
                    .into_iter()
                    .map(|peer| peer.peer_id)
                    .filter(|peer| shared.peer_keys.get(peer).is_none_or(Vec::is_empty))
                    .collect()
            };
            for peer in unknown {
                self.service.on_peer_connected(peer);
            }
        }
        // Batches leave the pools once the finalized chain holds them: until then a
        // reorg may drop the block that included them, and authors of the new best
        // chain must still have them.
        self.follow_finality();
        let heads = &self.final_heads;
        self.known
            .retain(|(area, height), _| *height > heads.get(area).copied().unwrap_or(0));
        self.service
            .shared
            .lock()
            .certified
            .retain(|(area, height), _| *height > heads.get(area).copied().unwrap_or(0));
        // Lanes: one per area whose committee holds one of our keys.
        // A pair comes out of the keystore once (a seed phrase takes milliseconds to
        // derive); keys this node lacks are asked for again every KEYSTORE_RECHECK, in
        // case an operator inserted them.
        if self
            .keys_checked
            .is_none_or(|at| at.elapsed() >= KEYSTORE_RECHECK)
        {
            self.own_keys.retain(|_, pair| pair.is_some());
            self.keys_checked = Some(Instant::now());
        }
        for (_, keys) in committees.values() {
            for key in keys {
                if !self.own_keys.contains_key(key) {
                    let pair = self.service.own_pair(key);
                    self.own_keys.insert(*key, pair);
                }
            }
        }
        for (area, (version, keys)) in &committees {
            let me = keys
                .iter()
                .position(|key| self.own_keys.get(key).is_some_and(Option::is_some));
            let running = self.lanes.get(area).map(|lane| lane.committee().version);
            if running == Some(*version) || self.ended(*area) {
                continue;
            }
            if running.is_some_and(|running| running > *version) {
                // The best chain went back to an older committee (a reorg): the lane
                // of the newer one stops; its batches cannot enter this chain.
                self.lanes.remove(area);
            }
            // A committee replaced: its lane seals first ([`Lane::retire`]), or, if this
            // node did not serve it, the new lane waits for its seal.
            let old_lane = self.lanes.contains_key(area);
            if old_lane || self.awaits_seal(*area, *version, &retired) {
                let handover = self
                    .handovers
                    .entry(*area)
                    .or_insert_with(|| handover::Handover {
                        version: *version,
                        keys: keys.clone(),
                        me,
                        since: Instant::now(),
                    });
                if handover.version != *version {
                    *handover = handover::Handover {
                        version: *version,
                        keys: keys.clone(),
                        me,
                        since: Instant::now(),
                    };
                }
                continue;
            }
            self.handovers.remove(area);
            if let Some(index) = me {
                self.start_lane(*area, *version, keys.clone(), index);
            }
        }
        self.handovers
            .retain(|area, _| committees.contains_key(area));
        self.retired = retired.clone();
        if !self.unchecked_seals.is_empty() {
            self.recheck_seals();
        }
        self.lanes.retain(|area, _| committees.contains_key(area));
        {
            let mut shared = self.service.shared.lock();
            shared.committees = committees;
            shared.retired = retired;
            shared.heads = self
                .heads
                .iter()
                .map(|(area, head)| (*area, head.height))
                .collect();
        }
        let committees_ms = started.elapsed().as_secs_f64() * 1e3;
        // The lanes follow the chain first: one that went another way forgets its
        // batches beyond it before the overlay is built.
        let lanes: Vec<AreaId> = self.lanes.keys().copied().collect();
        for area in &lanes {
            let head = self.heads.get(area).cloned().unwrap_or_default();
            if let Some(lane) = self.lanes.get_mut(area) {
                let outputs = lane.on_included(&head);
                self.carry_out(*area, outputs);
            }
        }
        // The overlay: the new best state plus every known batch beyond it, in order.
        let rebased = match &changes {
            Some(changes) => {
                self.overlay.rebase(state, number, changes);
                true
            }
            None => {
                self.overlay.reset(state, number);
                false
            }
        };
        let memo = self.reapply_known(&lanes);
        let overlay_ms = started.elapsed().as_secs_f64() * 1e3 - committees_ms;
        // Crossings in batches at or below the chain's lane heads are settled: included,
        // or superseded by another batch (then the player never crossed).
        let heads = &self.heads;
        let settled: Vec<(AreaId, u64)> = self
            .deferred
            .keys()
            .filter(|(area, height)| heads.get(area).is_some_and(|h| h.height >= *height))
            .copied()
            .collect();
        self.crossings
            .retain(|_, (area, height)| heads.get(area).is_none_or(|h| h.height < *height));
        for key in settled {
            self.release_deferred(key);
        }
        let before_prune = started.elapsed().as_secs_f64() * 1e3;
        self.prune_persisted();
        let prune_ms = started.elapsed().as_secs_f64() * 1e3 - before_prune;
        log::debug!(
            "fast lanes: followed best block #{number} in {:.1} ms (committees {committees_ms:.1} ms, \
             {} batches beyond it re-applied in {overlay_ms:.1} ms: {} actions replayed, {} executed; \
             pruning {prune_ms:.1} ms; {} values cached{})",
            started.elapsed().as_secs_f64() * 1e3,
            self.known.values().filter(|known| known.applied).count(),
            memo.replayed,
            memo.executed,
            self.overlay.cached(),
            if rebased { "" } else { ", view built anew" }
        );
    }

    /// Applies every known batch beyond the chain on the overlay (started over), in order,
    /// then has `lanes` replay their open batches on it and catch up.
    fn reapply_known(&mut self, lanes: &[AreaId]) -> overlay::MemoStats {
        self.overlay.begin_rebuild();
        self.applied.clear();
        for known in self.known.values_mut() {
            known.applied = false;
        }
        let areas: Vec<AreaId> = self
            .known
            .keys()
            .map(|(area, _)| *area)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        self.blocked.clear();
        for area in areas {
            self.apply_known(area);
        }
        // Batches that wait for another area's, applied after it.
        self.settle();
        for area in lanes {
            if let Some(lane) = self.lanes.get_mut(area) {
                let outputs = lane.replay_open(&mut self.overlay);
                self.carry_out(*area, outputs);
            }
            // The chain moved a lagging replica up: it continues after the certified
            // batches it knows beyond the chain.
            self.catch_up(*area);
        }
        self.overlay.end_rebuild()
    }

    /// Starts this node's lane as member `index` of `area`'s committee `version`
    /// (`keys`): after the last batch it knows (certified, persisted before a restart, or
    /// the chain's), in the view it was in before a restart under the same committee.
    fn start_lane(&mut self, area: AreaId, version: u64, keys: Vec<[u8; 32]>, index: usize) {
        let head = self.heads.get(&area).cloned().unwrap_or_default();
        // Where it continues after a replaced committee's lane: decided.
        let base = self
            .aux::<(u64, LaneHead)>(&base_key(area))
            .filter(|(base_version, _)| *base_version == version)
            .map(|(_, base)| base);
        let restored = self.restore(area, &head, base.as_ref().map_or(0, |b| b.height));
        let tip = self
            .latest_known(area)
            .or(restored)
            .unwrap_or_else(|| head.clone());
        log::info!(
            "fast lane {area}: serving as member {index} of {} (version {version})",
            keys.len()
        );
        let mut lane = Lane::new(
            self.service.genesis,
            Committee {
                area,
                version,
                keys,
            },
            index as MemberIndex,
            tip,
            LaneConfig {
                view_timeout_ms: self.service.view_timeout_ms,
                ..LaneConfig::default()
            },
        );
        if let Some(base) = base {
            lane.set_base(base);
        }
        // Batches persisted beyond the chain (before a restart) may hold this member's
        // lost votes: a re-sent proposal gets them again. (A replaced committee's
        // batches are decided: they stay out of the log it reports.)
        for known in self
            .known
            .range((area, head.height + 1)..=(area, u64::MAX))
            .map(|(_, known)| known)
            .filter(|known| known.batch.header.version == version)
        {
            lane.restore(known.batch.clone());
        }
        if let Some(votes) = self.aux::<Vec<(u64, u32)>>(&votes_key(area)) {
            lane.restore_vote_views(&votes);
        }
        // The view it was in before a restart (same committee version).
        if let Some((saved_version, view)) = self.saved_view(area) {
            if saved_version == version {
                lane.resume_view(view);
                self.views.insert(area, (saved_version, view));
            }
        }
        self.lanes.insert(area, lane);
    }

    /// A value this node keeps beside its chain (`aux` column), decoded.
    fn aux<T: Decode>(&self, key: &[u8]) -> Option<T> {
        self.service
            .client
            .aux_get(key)
            .ok()
            .flatten()
            .and_then(|bytes| T::decode(&mut &bytes[..]).ok())
    }

    /// The committee version and view this node's lane of `area` last ran in (durable).
    fn saved_view(&self, area: AreaId) -> Option<(u64, u32)> {
        self.aux::<(u64, u32)>(&view_key(area))
    }

    /// The last batch of `area`'s lane that this node knows certified, with every batch
    /// between it and the chain's `head`.
    fn certified_tip(&self, area: AreaId, head: &LaneHead) -> LaneHead {
        let mut tip = head.clone();
        for ((_, height), known) in self.known.range((area, head.height + 1)..=(area, u64::MAX)) {
            if *height != tip.height + 1 || known.certificate.is_none() {
                break;
            }
            tip = LaneHead {
                height: *height,
                hash: known.batch.header.hash(),
                time_ms: known.batch.header.time_ms,
            };
        }
        tip
    }

    fn latest_known(&self, area: AreaId) -> Option<LaneHead> {
        self.known
            .range((area, 0)..=(area, u64::MAX))
            .next_back()
            .map(|(_, known)| LaneHead {
                height: known.batch.header.height,
                hash: known.batch.header.hash(),
                time_ms: known.batch.header.time_ms,
            })
    }

    fn publish_info(&mut self) {
        let now = Instant::now();
        for (area, lane) in &self.lanes {
            if lane.awaits_certificates() || (!lane.is_active() && lane.pending() > 0) {
                self.stuck_since.entry(*area).or_insert(now);
            } else {
                self.stuck_since.remove(area);
            }
        }
        self.stuck_since
            .retain(|area, _| self.lanes.contains_key(area));
        let mut shared = self.service.shared.lock();
        shared.lanes = self
            .lanes
            .iter()
            .map(|(area, lane)| {
                (
                    *area,
                    LaneInfo {
                        version: lane.committee().version,
                        view: lane.view(),
                        active: lane.is_active(),
                        tip: lane.tip().height,
                        pending: lane.pending(),
                        me: lane.me(),
                    },
                )
            })
            .collect();
        for (area, lane) in &self.lanes {
            self.service.metrics.set_lane_pending(*area, lane.pending());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_keep_order_and_stay_under_the_request_limit() {
        // 1,000 items of 1,004 encoded bytes: 48 per bundle under 48 KiB.
        let items: Vec<(u32, Vec<u8>)> = (0..1_000u32).map(|i| (i, vec![0u8; 998])).collect();
        let packed = bundles(items.clone());
        assert_eq!(packed.len(), 21);
        assert!(packed.iter().all(|b| b.encoded_size() <= BUNDLE_BYTES + 8));
        assert_eq!(packed.concat(), items, "every item, in order");
        // An item larger than a bundle travels alone.
        let big = vec![vec![0u8; BUNDLE_BYTES + 1], vec![1u8]];
        assert_eq!(bundles(big).len(), 2);
        assert!(bundles(Vec::<u8>::new()).is_empty());
    }
}
