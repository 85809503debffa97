//! Arceon's peer-to-peer network over libp2p: TCP + noise + yamux transport, identify,
//! ping, Kademlia discovery, gossipsub for block announcements, transactions and finality
//! messages, and one request-response protocol for block ranges, state chunks, warp
//! proofs and finality catch-ups.
//!
//! The swarm runs in its own tokio task; the rest of the node talks to it through a
//! [`NetworkHandle`] (commands) and a stream of [`NetworkEvent`]s. The network knows
//! nothing of blocks' meaning: the node validates every gossip message and answers every
//! request, and reports misbehaving peers.
//!
//! Invariants: every protocol name carries the genesis hash, so nodes of different chains
//! never exchange messages; a gossip message is forwarded only after the node accepted
//! it; a peer whose reputation falls below [`BAN_THRESHOLD`] is disconnected and refused
//! for [`BAN_DURATION`]; frames above the protocol limits are never buffered.

pub mod protocol;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arceon_primitives::H256;
use futures::channel::oneshot;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity};
use libp2p::identity::Keypair;
use libp2p::kad;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{connection_limits, identify, ping, Multiaddr, PeerId, Swarm};
use parking_lot::RwLock;
use tokio::sync::mpsc;

pub use libp2p::gossipsub::MessageId;
pub use libp2p::identity;
pub use libp2p::{Multiaddr as Address, PeerId as NetworkPeerId};
pub use libp2p::{Stream, StreamProtocol};
pub use libp2p_stream::{Control as StreamControl, IncomingStreams, OpenStreamError};
pub use protocol::{
    BlockData, BlocksRequest, Direction, FromBlock, Request, Response, StateChunk, StateRequest,
    Status,
};

/// Default TCP port.
pub const DEFAULT_PORT: u16 = 30333;
/// Largest gossip message (a full block of the runtime's maximum length plus its header).
pub const MAX_GOSSIP_BYTES: usize = 6 * 1024 * 1024;
/// Reputation below which a peer is disconnected and banned.
pub const BAN_THRESHOLD: i32 = -100;
/// How long a banned peer is refused.
pub const BAN_DURATION: Duration = Duration::from_secs(120);
/// How long an outbound request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const EVENT_BUFFER: usize = 4096;
const REDIAL_INTERVAL: Duration = Duration::from_secs(3);
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(20);

/// Most transactions one `Transactions` gossip message may carry.
pub const MAX_TRANSACTIONS_PER_GOSSIP: usize = 1_024;

/// A gossip topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Newly authored blocks.
    Blocks,
    /// Transactions, in batches (a SCALE `Vec` of encoded extrinsics; see
    /// [`MAX_TRANSACTIONS_PER_GOSSIP`]).
    Transactions,
    /// Finality votes and commits.
    Finality,
    /// Certified fast-lane batches (for block authors and area observers).
    Lanes,
}

impl Topic {
    const ALL: [Topic; 4] = [
        Topic::Blocks,
        Topic::Transactions,
        Topic::Finality,
        Topic::Lanes,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Topic::Blocks => "blocks",
            // Batches since the submit benchmark (issue 19); single transactions before.
            Topic::Transactions => "transaction-batches",
            Topic::Finality => "finality",
            Topic::Lanes => "lanes",
        }
    }

    fn ident(self, genesis: &H256) -> IdentTopic {
        IdentTopic::new(format!(
            "/arceon/{}/{}",
            hex::encode(genesis.as_bytes()),
            self.suffix()
        ))
    }
}

/// What the node decided about a gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it.
    Accept,
    /// Not useful (duplicate, stale, cannot check yet): drop it without blame.
    Ignore,
    /// Invalid: drop it and penalise the sender.
    Reject,
}

/// A reputation change with its reason (logged).
#[derive(Debug, Clone, Copy)]
pub struct Reputation {
    /// Added to the peer's score (negative is bad).
    pub value: i32,
    /// Why.
    pub reason: &'static str,
}

impl Reputation {
    /// Data that cannot be valid (garbage, bad signature, oversized): one strike bans.
    pub const fn fatal(reason: &'static str) -> Self {
        Reputation {
            value: BAN_THRESHOLD,
            reason,
        }
    }
    /// A lesser fault.
    pub const fn bad(reason: &'static str) -> Self {
        Reputation { value: -25, reason }
    }
    /// A change of `value` (negative is bad): for faults honest peers also commit now and
    /// then, which only cost a peer when they come in a stream.
    pub const fn with_value(value: i32, reason: &'static str) -> Self {
        Reputation { value, reason }
    }
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its id.
    pub peer_id: PeerId,
    /// The address of the connection.
    pub address: Multiaddr,
    /// Whether we dialed it.
    pub outbound: bool,
    /// Its agent string, once identified.
    pub agent: Option<String>,
    /// Its reputation.
    pub reputation: i32,
}

/// Something the node must handle.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A peer connected (first connection).
    PeerConnected(PeerId),
    /// A peer's last connection closed.
    PeerDisconnected(PeerId),
    /// A gossip message to validate; answer with [`NetworkHandle::validation_result`].
    Gossip {
        /// Its topic.
        topic: Topic,
        /// The peer that forwarded it.
        source: PeerId,
        /// Its id (content hash).
        id: MessageId,
        /// Its payload.
        data: Vec<u8>,
    },
    /// A request to answer through `respond` (dropping it refuses the request).
    Request {
        /// The requesting peer.
        peer: PeerId,
        /// The request.
        request: Request,
        /// Where the response goes.
        respond: oneshot::Sender<Response>,
    },
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The transport could not be built.
    #[error("transport: {0}")]
    Transport(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The node key is unusable.
    #[error("node key: {0}")]
    NodeKey(String),
    /// Gossipsub configuration.
    #[error("gossip: {0}")]
    Gossip(String),
}

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    /// The peer is not connected or could not be reached.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// The request failed on the wire (timeout, closed stream, bad response).
    #[error("request failed: {0}")]
    Failed(String),
    /// The network task has stopped.
    #[error("network stopped")]
    Stopped,
}

/// How the network runs.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// The chain's genesis hash (in every protocol name).
    pub genesis_hash: H256,
    /// Agent string sent through identify.
    pub agent: String,
    /// The node key.
    pub keypair: Keypair,
    /// Where to listen.
    pub listen_addresses: Vec<Multiaddr>,
    /// Peers to dial at start and whenever not connected (`/ip4/../tcp/../p2p/<id>`).
    pub boot_nodes: Vec<Multiaddr>,
    /// Most inbound connections.
    pub in_peers: u32,
    /// Most outbound connections.
    pub out_peers: u32,
    /// Peers always kept connected (`--reserved-nodes`, `/ip4/../tcp/../p2p/<id>`).
    pub reserved_nodes: Vec<Multiaddr>,
    /// Talk only to reserved peers (`--reserved-only`): a validator behind sentries.
    /// Every other connection is closed as soon as it is made, nothing is discovered,
    /// and boot nodes are dialed only if they are reserved.
    pub reserved_only: bool,
    /// Addresses other peers should dial to reach this node (`--public-addr`), announced
    /// through identify.
    pub public_addresses: Vec<Multiaddr>,
}

enum Command {
    Publish(Topic, Vec<u8>),
    Validation(MessageId, PeerId, Verdict),
    Request(
        PeerId,
        Request,
        oneshot::Sender<Result<Response, RequestError>>,
    ),
    Report(PeerId, Reputation),
    Dial(Multiaddr),
    AddReserved(PeerId, Multiaddr),
    Deny(PeerId),
}

#[derive(Default)]
struct Shared {
    listen_addresses: RwLock<Vec<Multiaddr>>,
    peers: RwLock<HashMap<PeerId, PeerInfo>>,
}

/// Talks to the running network. Cheap to clone.
#[derive(Clone)]
pub struct NetworkHandle {
    local_peer_id: PeerId,
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    streams: libp2p_stream::Control,
}

impl NetworkHandle {
    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// The addresses the node listens on (with `/p2p/<id>`).
    pub fn listen_addresses(&self) -> Vec<Multiaddr> {
        self.shared
            .listen_addresses
            .read()
            .iter()
            .map(|a| a.clone().with(Protocol::P2p(self.local_peer_id)))
            .collect()
    }

    /// Connected peers.
    pub fn peers(&self) -> Vec<PeerInfo> {
        let mut peers: Vec<PeerInfo> = self.shared.peers.read().values().cloned().collect();
        peers.sort_by_key(|p| p.peer_id.to_base58());
        peers
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        self.shared.peers.read().len()
    }

    /// Opens and accepts long-lived streams of a protocol (one per peer and direction is
    /// the caller's rule): for traffic too frequent for a request each. Streams of a
    /// protocol nobody accepts are refused; each protocol has one acceptor.
    pub fn streams(&self) -> libp2p_stream::Control {
        self.streams.clone()
    }

    /// Gossips `data` on `topic`.
    pub fn publish(&self, topic: Topic, data: Vec<u8>) {
        let _ = self.commands.send(Command::Publish(topic, data));
    }

    /// The node's verdict on a gossip message: accepted messages are forwarded.
    pub fn validation_result(&self, id: MessageId, source: PeerId, verdict: Verdict) {
        let _ = self.commands.send(Command::Validation(id, source, verdict));
    }

    /// Sends a request and waits for the answer.
    pub async fn request(&self, peer: PeerId, request: Request) -> Result<Response, RequestError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Request(peer, request, tx))
            .map_err(|_| RequestError::Stopped)?;
        rx.await.map_err(|_| RequestError::Stopped)?
    }

    /// Changes a peer's reputation; below [`BAN_THRESHOLD`] it is dropped and banned.
    pub fn report(&self, peer: PeerId, change: Reputation) {
        let _ = self.commands.send(Command::Report(peer, change));
    }

    /// Dials an address.
    pub fn dial(&self, address: Multiaddr) {
        let _ = self.commands.send(Command::Dial(address));
    }

    /// Keeps `peer` at `address` connected (redialed like a boot node); lifts a denial.
    pub fn add_reserved(&self, peer: PeerId, address: Multiaddr) {
        let _ = self.commands.send(Command::AddReserved(peer, address));
    }

    /// Disconnects `peer` and refuses it (and stops dialing it) until it is added again.
    pub fn deny(&self, peer: PeerId) {
        let _ = self.commands.send(Command::Deny(peer));
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    gossip: gossipsub::Behaviour,
    sync: request_response::Behaviour<protocol::SyncCodec>,
    streams: libp2p_stream::Behaviour,
}

/// Reads the ed25519 node key from `path` (32 raw bytes or 64 hex characters), creating
/// the file with a fresh key if it does not exist.
pub fn load_or_generate_node_key(path: &Path) -> Result<Keypair, NetworkError> {
    match std::fs::read(path) {
        Ok(bytes) => parse_node_key(&bytes)
            .map_err(|e| NetworkError::NodeKey(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keypair = Keypair::generate_ed25519();
            let secret = ed25519_secret(&keypair)?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| NetworkError::NodeKey(format!("{}: {e}", dir.display())))?;
            }
            write_private(path, &secret)
                .map_err(|e| NetworkError::NodeKey(format!("{}: {e}", path.display())))?;
            Ok(keypair)
        }
        Err(e) => Err(NetworkError::NodeKey(format!("{}: {e}", path.display()))),
    }
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(data)?;
    file.sync_all()
}

/// Parses a node key: 32 raw bytes, or 64 hex characters (optionally `0x`-prefixed,
/// surrounding whitespace ignored).
pub fn parse_node_key(bytes: &[u8]) -> Result<Keypair, String> {
    let secret: Vec<u8> = if bytes.len() == 32 {
        bytes.to_vec()
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| "neither 32 bytes nor hex text")?;
        let text = text.trim();
        let text = text.strip_prefix("0x").unwrap_or(text);
        hex::decode(text).map_err(|e| format!("not hex: {e}"))?
    };
    if secret.len() != 32 {
        return Err(format!(
            "an ed25519 secret is 32 bytes, got {}",
            secret.len()
        ));
    }
    Keypair::ed25519_from_bytes(secret).map_err(|e| e.to_string())
}

/// The 32-byte ed25519 secret of a node key.
pub fn ed25519_secret(keypair: &Keypair) -> Result<Vec<u8>, NetworkError> {
    keypair
        .clone()
        .try_into_ed25519()
        .map(|k| k.secret().as_ref().to_vec())
        .map_err(|e| NetworkError::NodeKey(e.to_string()))
}

/// The peer id an address names with `/p2p/<id>`, if any.
pub fn peer_id_of(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

fn build_behaviour(config: &NetworkConfig, key: &Keypair) -> Result<Behaviour, NetworkError> {
    let genesis = &config.genesis_hash;
    let local = key.public().to_peer_id();
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established_incoming(Some(config.in_peers))
        .with_max_established_outgoing(Some(config.out_peers))
        .with_max_established_per_peer(Some(2))
        .with_max_pending_incoming(Some(config.in_peers.max(8)));
    let identify = identify::Behaviour::new(
        identify::Config::new(
            protocol::protocol_name(genesis, "1").to_string(),
            key.public(),
        )
        .with_agent_version(config.agent.clone())
        .with_interval(Duration::from_secs(60)),
    );
    let mut kad_config = kad::Config::new(protocol::protocol_name(genesis, "kad"));
    kad_config.set_query_timeout(Duration::from_secs(30));
    let mut kad =
        kad::Behaviour::with_config(local, kad::store::MemoryStore::new(local), kad_config);
    kad.set_mode(Some(kad::Mode::Server));

    let gossip_config = gossipsub::ConfigBuilder::default()
        .protocol_id_prefix(format!(
            "/arceon/{}/meshsub",
            hex::encode(genesis.as_bytes())
        ))
        .heartbeat_interval(Duration::from_millis(700))
        // Unsigned: every message is checked in full by its consumer (signed extrinsics,
        // sealed blocks, GRANDPA votes, certified lane batches), peers are judged by who
        // relayed a message, and ids are content hashes, so a per-message ed25519
        // signature would prove nothing; verifying it was 7% of a validator's CPU under
        // fast-lane load.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .message_id_fn(|message: &gossipsub::Message| {
            MessageId::from(sp_crypto_hashing::blake2_256(&message.data).to_vec())
        })
        .mesh_n_low(2)
        .mesh_n(6)
        .mesh_n_high(12)
        .mesh_outbound_min(1)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| NetworkError::Gossip(e.to_string()))?;
    let mut gossip = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
        .map_err(|e| NetworkError::Gossip(e.to_string()))?;
    let mut score = gossipsub::PeerScoreParams::default();
    for topic in Topic::ALL {
        let params = gossipsub::TopicScoreParams {
            invalid_message_deliveries_weight: -100.0,
            invalid_message_deliveries_decay: 0.5,
            ..Default::default()
        };
        score.topics.insert(topic.ident(genesis).hash(), params);
    }
    gossip
        .with_peer_score(score, gossipsub::PeerScoreThresholds::default())
        .map_err(NetworkError::Gossip)?;
    for topic in Topic::ALL {
        gossip
            .subscribe(&topic.ident(genesis))
            .map_err(|e| NetworkError::Gossip(e.to_string()))?;
    }
    let sync = request_response::Behaviour::with_codec(
        protocol::SyncCodec,
        [(protocol::sync_protocol(genesis), ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(REQUEST_TIMEOUT)
            .with_max_concurrent_streams(64),
    );
    Ok(Behaviour {
        limits: connection_limits::Behaviour::new(limits),
        identify,
        ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(15))),
        kad,
        gossip,
        sync,
        streams: libp2p_stream::Behaviour::new(),
    })
}

/// Starts the network on the current tokio runtime.
pub fn start(
    config: NetworkConfig,
) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
    let behaviour = build_behaviour(&config, &config.keypair)?;
    let streams = behaviour.streams.new_control();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    for addr in &config.listen_addresses {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NetworkError::Listen {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
    }
    let local_peer_id = *swarm.local_peer_id();
    let shared = Arc::new(Shared::default());
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (events, event_rx) = mpsc::channel(EVENT_BUFFER);
    for addr in &config.public_addresses {
        swarm.add_external_address(addr.clone());
    }
    let mut reserved = std::collections::HashSet::new();
    for addr in &config.reserved_nodes {
        match peer_id_of(addr) {
            Some(peer) => {
                reserved.insert(peer);
            }
            None => log::warn!("reserved node {addr} has no /p2p/<peer id>: ignored"),
        }
    }
    let mut boot_nodes = Vec::new();
    for addr in config.reserved_nodes.iter().chain(&config.boot_nodes) {
        match peer_id_of(addr) {
            Some(peer) if peer == local_peer_id => {}
            Some(peer) if config.reserved_only && !reserved.contains(&peer) => {
                log::info!("boot node {addr} is not reserved: not dialed (--reserved-only)");
            }
            Some(peer) => {
                swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
                if !boot_nodes.iter().any(|(p, _)| *p == peer) {
                    boot_nodes.push((peer, addr.clone()));
                }
            }
            None => log::warn!("boot node {addr} has no /p2p/<peer id>: ignored"),
        }
    }
    let task = Task {
        swarm,
        genesis: config.genesis_hash,
        shared: shared.clone(),
        events,
        commands: command_rx,
        boot_nodes,
        pending_requests: HashMap::new(),
        pending_responses: FuturesUnordered::new(),
        reputations: HashMap::new(),
        banned: HashMap::new(),
        denied: Default::default(),
        out_peers: config.out_peers as usize,
        reserved,
        reserved_only: config.reserved_only,
    };
    tokio::spawn(task.run());
    Ok((
        NetworkHandle {
            local_peer_id,
            commands,
            shared,
            streams,
        },
        event_rx,
    ))
}

type PendingResponse = futures::future::BoxFuture<
    'static,
    (
        PeerId,
        ResponseChannel<Response>,
        Result<Response, oneshot::Canceled>,
    ),
>;

struct Task {
    swarm: Swarm<Behaviour>,
    genesis: H256,
    shared: Arc<Shared>,
    events: mpsc::Sender<NetworkEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    boot_nodes: Vec<(PeerId, Multiaddr)>,
    pending_requests: HashMap<OutboundRequestId, oneshot::Sender<Result<Response, RequestError>>>,
    pending_responses: FuturesUnordered<PendingResponse>,
    reputations: HashMap<PeerId, i32>,
    banned: HashMap<PeerId, Instant>,
    denied: std::collections::HashSet<PeerId>,
    out_peers: usize,
    /// Peers added by `--reserved-nodes` or `system_addReservedPeer`.
    reserved: std::collections::HashSet<PeerId>,
    reserved_only: bool,
}

impl Task {
    async fn run(mut self) {
        let mut redial = tokio::time::interval(REDIAL_INTERVAL);
        let mut discovery = tokio::time::interval(DISCOVERY_INTERVAL);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    // Every handle is gone: the node is shutting down.
                    None => break,
                },
                Some((peer, channel, response)) = self.pending_responses.next() => {
                    let response = response.unwrap_or_else(|_| Response::Refused("not served".into()));
                    if self.swarm.behaviour_mut().sync.send_response(channel, response).is_err() {
                        log::debug!("response to {peer} not sent: connection closed");
                    }
                }
                _ = redial.tick() => self.redial(),
                _ = discovery.tick() => self.discover(),
            }
        }
        log::debug!("network task stopped");
    }

    fn is_connected(&self, peer: &PeerId) -> bool {
        self.shared.peers.read().contains_key(peer)
    }

    fn refused(&self, peer: &PeerId) -> bool {
        self.banned.contains_key(peer)
            || self.denied.contains(peer)
            || (self.reserved_only && !self.reserved.contains(peer))
    }

    fn redial(&mut self) {
        let now = Instant::now();
        self.banned.retain(|_, until| *until > now);
        // Reputation heals slowly: a peer that misbehaved once is not distrusted forever.
        for value in self.reputations.values_mut() {
            *value -= *value / 10;
        }
        let boot: Vec<(PeerId, Multiaddr)> = self.boot_nodes.clone();
        for (peer, addr) in boot {
            if !self.is_connected(&peer) && !self.refused(&peer) {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    log::trace!("dialing boot node {addr}: {e}");
                }
            }
        }
    }

    fn discover(&mut self) {
        // A reserved-only node talks to its reserved peers and no one else.
        if self.reserved_only || self.shared.peers.read().is_empty() {
            return;
        }
        if let Err(e) = self.swarm.behaviour_mut().kad.bootstrap() {
            log::trace!("kademlia bootstrap: {e:?}");
        }
    }

    fn emit(&self, event: NetworkEvent) {
        if let Err(e) = self.events.try_send(event) {
            log::warn!("network event dropped (node busy): {e}");
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish(topic, data) => {
                let topic = topic.ident(&self.genesis);
                match self.swarm.behaviour_mut().gossip.publish(topic, data) {
                    Ok(_) => {}
                    Err(gossipsub::PublishError::NoPeersSubscribedToTopic)
                    | Err(gossipsub::PublishError::Duplicate) => {}
                    Err(e) => log::debug!("gossip publish failed: {e}"),
                }
            }
            Command::Validation(id, source, verdict) => {
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                    Verdict::Reject => MessageAcceptance::Reject,
                };
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&id, &source, acceptance);
                if verdict == Verdict::Reject {
                    self.report(source, Reputation::bad("invalid gossip message"));
                }
            }
            Command::Request(peer, request, reply) => {
                if !self.is_connected(&peer) {
                    let _ = reply.send(Err(RequestError::Unreachable(peer.to_base58())));
                    return;
                }
                let id = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer, protocol::Inbound::Valid(request));
                self.pending_requests.insert(id, reply);
            }
            Command::Report(peer, change) => self.report(peer, change),
            Command::Dial(addr) => {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    log::debug!("dialing {addr}: {e}");
                }
            }
            Command::AddReserved(peer, addr) => {
                self.reserved.insert(peer);
                self.denied.remove(&peer);
                self.banned.remove(&peer);
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .remove_blacklisted_peer(&peer);
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, addr.clone());
                if !self.boot_nodes.iter().any(|(p, _)| *p == peer) {
                    self.boot_nodes.push((peer, addr.clone()));
                }
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    log::debug!("dialing {addr}: {e}");
                }
            }
            Command::Deny(peer) => {
                log::info!("denying peer {peer}");
                self.reserved.remove(&peer);
                self.denied.insert(peer);
                self.swarm.behaviour_mut().gossip.blacklist_peer(&peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }

    fn report(&mut self, peer: PeerId, change: Reputation) {
        let score = self.reputations.entry(peer).or_insert(0);
        *score = score.saturating_add(change.value);
        let score = *score;
        if let Some(info) = self.shared.peers.write().get_mut(&peer) {
            info.reputation = score;
        }
        log::debug!(
            "peer {peer}: {} ({:+}) -> {score}",
            change.reason,
            change.value
        );
        if score <= BAN_THRESHOLD {
            log::info!(
                "dropping peer {peer}: {} (reputation {score})",
                change.reason
            );
            self.banned.insert(peer, Instant::now() + BAN_DURATION);
            self.reputations.remove(&peer);
            self.swarm.behaviour_mut().gossip.blacklist_peer(&peer);
            self.swarm.behaviour_mut().kad.remove_peer(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                log::info!(
                    "listening on {}",
                    address
                        .clone()
                        .with(Protocol::P2p(*self.swarm.local_peer_id()))
                );
                self.shared.listen_addresses.write().push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.shared
                    .listen_addresses
                    .write()
                    .retain(|a| *a != address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if self.refused(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if num_established.get() == 1 {
                    let outbound = endpoint.is_dialer();
                    let address = endpoint.get_remote_address().clone();
                    if outbound {
                        self.swarm
                            .behaviour_mut()
                            .kad
                            .add_address(&peer_id, address.clone());
                    }
                    self.shared.peers.write().insert(
                        peer_id,
                        PeerInfo {
                            peer_id,
                            address,
                            outbound,
                            agent: None,
                            reputation: self.reputations.get(&peer_id).copied().unwrap_or(0),
                        },
                    );
                    log::info!("peer connected: {peer_id}");
                    self.emit(NetworkEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.shared.peers.write().remove(&peer_id);
                log::info!("peer disconnected: {peer_id}");
                self.emit(NetworkEvent::PeerDisconnected(peer_id));
            }
            SwarmEvent::IncomingConnectionError {
                error,
                send_back_addr,
                ..
            } => {
                log::debug!("incoming connection from {send_back_addr} failed: {error}");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                log::trace!("dialing {peer_id:?} failed: {error}");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let ours = protocol::protocol_name(&self.genesis, "1");
                if info.protocol_version != ours.as_ref() {
                    log::info!(
                        "peer {peer_id} is on another chain ({}): disconnecting",
                        info.protocol_version
                    );
                    self.report(peer_id, Reputation::fatal("different chain"));
                    return;
                }
                if let Some(peer) = self.shared.peers.write().get_mut(&peer_id) {
                    peer.agent = Some(info.agent_version.clone());
                }
                for addr in info.listen_addrs {
                    if is_dialable(&addr) {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, addresses, ..
            }) => {
                let outbound = self
                    .shared
                    .peers
                    .read()
                    .values()
                    .filter(|p| p.outbound)
                    .count();
                if !self.is_connected(&peer)
                    && !self.refused(&peer)
                    && peer != *self.swarm.local_peer_id()
                    && outbound < self.out_peers
                {
                    let addr = addresses.first().clone();
                    let _ = self.swarm.dial(addr.with(Protocol::P2p(peer)));
                }
            }
            BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                let topic = Topic::ALL
                    .into_iter()
                    .find(|t| t.ident(&self.genesis).hash() == message.topic);
                match topic {
                    Some(topic) => self.emit(NetworkEvent::Gossip {
                        topic,
                        source: propagation_source,
                        id: message_id,
                        data: message.data,
                    }),
                    None => {
                        self.swarm
                            .behaviour_mut()
                            .gossip
                            .report_message_validation_result(
                                &message_id,
                                &propagation_source,
                                MessageAcceptance::Reject,
                            );
                    }
                }
            }
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            _ => {}
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<protocol::Inbound, Response>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let request = match request {
                        protocol::Inbound::Valid(request) => request,
                        protocol::Inbound::Malformed(reason) => {
                            log::debug!("malformed request from {peer}: {reason}");
                            drop(channel);
                            self.report(peer, Reputation::fatal("malformed or oversized request"));
                            return;
                        }
                    };
                    let (tx, rx) = oneshot::channel();
                    self.emit(NetworkEvent::Request {
                        peer,
                        request,
                        respond: tx,
                    });
                    self.pending_responses
                        .push(Box::pin(async move { (peer, channel, rx.await) }));
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.pending_requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let request_response::OutboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.report(peer, Reputation::fatal("malformed or oversized response"));
                    }
                }
                if let Some(reply) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Err(RequestError::Failed(error.to_string())));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                if let request_response::InboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.report(peer, Reputation::fatal("malformed or oversized request"));
                        return;
                    }
                }
                log::debug!("inbound request from {peer} failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}

fn is_dialable(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::Tcp(_)))
        && !addr
            .iter()
            .any(|p| matches!(p, Protocol::Ip4(ip) if ip.is_unspecified()))
}
