//! Wires a running node together: the chain client on RocksDB, the transaction pool
//! validating through the runtime, the Aura authoring task, the JSON-RPC server and the
//! Prometheus endpoint.
//!
//! Invariants: the pool is maintained on every new best block (included transactions
//! leave it, the rest are re-validated) and told about every finalized block; a node
//! authors only in slots whose author (`authorities[slot % n]` at the best block) has
//! its key in the keystore; with a single authority a block is final when authored.

mod authoring;
pub mod lanes;
mod metrics;
mod network;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arceon_chain_spec::ChainSpec;
use arceon_client::keystore::Keystore;
use arceon_client::{ChainEvent, Client, Pruning};
use arceon_primitives::{TransactionSource, TransactionValidity, H256};
use arceon_txpool::{ChainApi, Pool};

pub use lanes::{LaneByzantine, DEFAULT_LANE_VIEW_TIMEOUT_MS};
pub use metrics::Metrics;
pub use network::{NetworkBridge, SyncMode};

/// The pool as the node runs it.
pub type TransactionPool = Pool<RuntimeApi>;

/// Validates pool transactions through the runtime at a stored block.
pub struct RuntimeApi {
    client: Arc<Client>,
}

impl ChainApi for RuntimeApi {
    fn validate(
        &self,
        at: H256,
        source: TransactionSource,
        extrinsic: &[u8],
    ) -> TransactionValidity {
        self.client.validate_transaction(&at, source, extrinsic)
    }

    fn preverify(&self, at: H256, extrinsics: &[&[u8]]) {
        self.client.preverify_signatures(&at, extrinsics)
    }
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The database could not be opened.
    #[error("database: {0}")]
    Db(#[from] arceon_db::DbError),
    /// The chain spec is unusable.
    #[error("chain spec: {0}")]
    ChainSpec(#[from] arceon_chain_spec::ChainSpecError),
    /// The keystore failed.
    #[error("keystore: {0}")]
    Keystore(#[from] arceon_client::keystore::KeystoreError),
    /// A server could not bind its port.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The RPC server failed to start.
    #[error("rpc: {0}")]
    Rpc(String),
    /// The network failed to start.
    #[error("network: {0}")]
    Network(#[from] arceon_network::NetworkError),
    /// The finality gadget failed to start.
    #[error("finality: {0}")]
    Finality(String),
}

/// How the node joins the peer-to-peer network.
#[derive(Debug, Clone)]
pub struct NetworkParams {
    /// Where to listen.
    pub listen_addresses: Vec<arceon_network::Address>,
    /// Peers to dial (chain spec `bootNodes` plus `--bootnodes`).
    pub boot_nodes: Vec<arceon_network::Address>,
    /// The node key (`None`: `<chain dir>/network/secret_ed25519`, created if missing).
    pub node_key: Option<arceon_network::identity::Keypair>,
    /// Most inbound peers.
    pub in_peers: u32,
    /// Most outbound peers.
    pub out_peers: u32,
    /// How to catch up.
    pub sync: SyncMode,
    /// Peers always kept connected (`--reserved-nodes`).
    pub reserved_nodes: Vec<arceon_network::Address>,
    /// Talk only to reserved peers (`--reserved-only`).
    pub reserved_only: bool,
    /// Addresses announced to peers (`--public-addr`).
    pub public_addresses: Vec<arceon_network::Address>,
}

/// What the node runs with.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// The chain.
    pub chain_spec: ChainSpec,
    /// Where the chain's data lives (`<base>/chains/<id>/{db,keystore}`).
    pub base_path: PathBuf,
    /// State pruning.
    pub pruning: Pruning,
    /// RocksDB block cache, in bytes (`--db-cache`, MiB on the command line).
    pub db_cache_bytes: usize,
    /// How many block bodies and justifications to keep (`--blocks-pruning`).
    pub blocks_pruning: arceon_db::BlocksPruning,
    /// The node's human-readable name (`system_name` reports the implementation).
    pub node_name: String,
    /// Author blocks when the keystore holds an authority key.
    pub validator: bool,
    /// A dev key (`--alice` ...) to put in the keystore at start.
    pub dev_key_seed: Option<String>,
    /// JSON-RPC listen address (`None` disables RPC).
    pub rpc_addr: Option<SocketAddr>,
    /// RPC limits and exposure.
    pub rpc: arceon_rpc::RpcConfig,
    /// Prometheus listen address (`None` disables metrics).
    pub prometheus_addr: Option<SocketAddr>,
    /// The peer-to-peer network (`None`: a node on its own).
    pub network: Option<NetworkParams>,
    /// A justification is stored for every finalized block whose number is a multiple of
    /// this (and for every authority-set change).
    pub justification_period: u32,
    /// Test-only: author two different blocks in each of the node's slots.
    pub unsafe_double_sign: bool,
    /// The transaction pool's limits.
    pub pool: arceon_txpool::Options,
    /// How long a fast-lane member waits on a silent primary before a view change (ms).
    pub lane_view_timeout_ms: u64,
    /// Test-only: dishonest fast-lane behaviour.
    pub lane_byzantine: LaneByzantine,
}

/// Puts unsigned evidence (an equivocation report; `what` names it in the log) into the
/// node's own pool at its best block, from where it is gossiped and included.
pub(crate) fn pool_evidence(
    client: &Client,
    pool: &TransactionPool,
    call: arceon_runtime::Call,
    what: &str,
) {
    use codec::Encode;
    let xt = arceon_runtime::Extrinsic::new_unsigned(call);
    let (number, best) = client.best();
    match pool.submit_one(best, number, TransactionSource::Local, xt.encode()) {
        Ok(hash) => log::info!("{what} {hash:?} in the pool"),
        Err(e) => log::info!("{what} not pooled: {e}"),
    }
}

/// The pool's limits from `--pool-limit` (ready transactions) and `--pool-kbytes` (their
/// size), as Substrate reads them: the future set gets a tenth of each (at least
/// Substrate's own defaults for it).
pub fn pool_options(limit: usize, kbytes: usize) -> arceon_txpool::Options {
    let defaults = arceon_txpool::Options::default();
    let ready_bytes = kbytes.saturating_mul(1024);
    arceon_txpool::Options {
        ready_limit: arceon_txpool::Limits {
            count: limit,
            total_bytes: ready_bytes,
        },
        future_limit: arceon_txpool::Limits {
            count: (limit / 10).max(defaults.future_limit.count),
            total_bytes: (ready_bytes / 10).max(defaults.future_limit.total_bytes),
        },
        ban_time: defaults.ban_time,
    }
}

/// A running node. Dropping it does not stop it: call [`Service::stop`].
pub struct Service {
    /// The chain.
    pub client: Arc<Client>,
    /// The transaction pool.
    pub pool: Arc<TransactionPool>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Where JSON-RPC listens.
    pub rpc_addr: Option<SocketAddr>,
    /// Where Prometheus listens.
    pub prometheus_addr: Option<SocketAddr>,
    /// The network side, if the network runs.
    pub network: Option<Arc<NetworkBridge>>,
    /// The finality gadget.
    pub finality: arceon_finality::Finality,
    stop: Arc<AtomicBool>,
    authoring: Option<std::thread::JoinHandle<()>>,
    rpc: Option<arceon_rpc::RpcServer>,
}

impl Service {
    /// Opens the chain and starts every task. Must run inside a tokio runtime.
    pub async fn start(config: Configuration) -> Result<Service, ServiceError> {
        let chain_dir = config.base_path.join("chains").join(&config.chain_spec.id);
        let genesis = config.chain_spec.genesis_block()?;
        let db_config = arceon_db::DbConfig {
            pruning: config.pruning,
            block_cache_bytes: config.db_cache_bytes,
            blocks_pruning: config.blocks_pruning,
            ..Default::default()
        };
        let client = Client::open_with_config(&chain_dir.join("db"), db_config, &genesis)?;
        let keystore = Keystore::open(&chain_dir.join("keystore"))?;
        if let Some(seed) = &config.dev_key_seed {
            // A dev validator's session keys: the seed as sr25519 (Aura) and ed25519
            // (GRANDPA), matching the session keys of the built-in chain specs.
            keystore.insert_session_keys(seed)?;
        }
        let (best_number, best_hash) = client.best();
        log::info!(
            "chain '{}' ({}), genesis {:?}, best #{} {:?}, finalized #{}, data in {}",
            config.chain_spec.name,
            config.chain_spec.id,
            genesis.hash,
            best_number,
            best_hash,
            client.finalized().0,
            chain_dir.display()
        );
        let pool = Arc::new(Pool::new(
            Arc::new(RuntimeApi {
                client: client.clone(),
            }),
            config.pool.clone(),
        ));
        let metrics = Arc::new(Metrics::new());
        metrics.set_heights(client.best().0, client.finalized().0);
        {
            let metrics = metrics.clone();
            pool.set_observer(Box::new(move |event| metrics.observe_pool(event)));
        }
        spawn_pool_maintenance(client.clone(), pool.clone(), metrics.clone());

        let bridge = match &config.network {
            Some(params) => Some(start_network(&config, params, &chain_dir, &client, &pool)?),
            None => None,
        };
        let finality_net: Arc<dyn arceon_finality::FinalityNetwork> = match &bridge {
            Some(bridge) => FinalityNet::new(bridge),
            None => Arc::new(NoNetwork),
        };
        let submit_pool = pool.clone();
        let submit_client = client.clone();
        let finality = arceon_finality::Finality::start(arceon_finality::FinalityConfig {
            client: client.clone(),
            keystore: keystore.clone(),
            network: finality_net,
            submit_extrinsic: Arc::new(move |xt: Vec<u8>| {
                let (number, best) = submit_client.best();
                submit_pool
                    .submit_one(best, number, TransactionSource::Local, xt)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
            justification_period: config.justification_period.max(1),
            gossip_duration: arceon_finality::DEFAULT_GOSSIP_DURATION,
        })
        .map_err(|e| ServiceError::Finality(e.to_string()))?;
        if let Some(bridge) = &bridge {
            bridge.set_finality(finality.clone());
            let bridge = Arc::downgrade(bridge);
            metrics.add_sampler(Box::new(move |metrics| {
                if let Some(bridge) = bridge.upgrade() {
                    metrics.set_network(bridge.network().peers().len(), bridge.is_syncing());
                }
            }));
        }
        {
            let finality = finality.downgrade();
            metrics.add_sampler(Box::new(move |metrics| {
                if let Some(finality) = finality.upgrade() {
                    let state = finality.round_state();
                    metrics.set_finality(state.set_id, state.best.round);
                }
            }));
        }

        let stop = Arc::new(AtomicBool::new(false));
        let lanes = lanes::LaneService::start(
            client.clone(),
            keystore.clone(),
            metrics.clone(),
            stop.clone(),
            lanes::LaneOptions {
                view_timeout_ms: config.lane_view_timeout_ms,
                byzantine: config.lane_byzantine,
                pool: pool.clone(),
            },
        )?;
        if let Some(bridge) = &bridge {
            bridge.set_lanes(lanes.clone());
            // Peers connected before the lanes started still need their identities.
            for peer in bridge.network().peers() {
                lanes.on_peer_connected(peer.peer_id);
            }
        }
        let authoring = if config.validator {
            Some(authoring::spawn(
                client.clone(),
                pool.clone(),
                keystore.clone(),
                metrics.clone(),
                stop.clone(),
                authoring::Options {
                    network: bridge.clone(),
                    double_sign: config.unsafe_double_sign,
                    lanes: Some(lanes.clone()),
                },
            )?)
        } else {
            None
        };

        let rpc = match config.rpc_addr {
            Some(addr) => {
                let deps = arceon_rpc::RpcDeps {
                    client: client.clone(),
                    pool: pool.clone(),
                    keystore,
                    chain_name: config.chain_spec.name.clone(),
                    chain_type: config.chain_spec.chain_type.as_str().to_string(),
                    properties: config.chain_spec.properties.clone(),
                    node_name: config.node_name.clone(),
                    is_validator: config.validator,
                    rpc_calls: Some(metrics.rpc_calls.clone()),
                    network: bridge
                        .clone()
                        .map(|b| Arc::new(RpcNetwork(b)) as Arc<dyn arceon_rpc::NetworkInfo>),
                    finality: Some(Arc::new(RpcFinality(finality.clone()))),
                    fastlane: Some(Arc::new(lanes::RpcLanes(lanes.clone()))),
                };
                Some(
                    arceon_rpc::start(addr, config.rpc.clone(), deps)
                        .await
                        .map_err(|e| ServiceError::Rpc(e.to_string()))?,
                )
            }
            None => None,
        };
        let rpc_addr = rpc.as_ref().map(|server| server.local_addr);
        if let Some(addr) = rpc_addr {
            log::info!("JSON-RPC server listening on {addr} (HTTP and WebSocket)");
        }
        let prometheus_addr = match config.prometheus_addr {
            Some(addr) => Some(metrics::serve(addr, metrics.clone(), pool.clone()).await?),
            None => None,
        };
        if let Some(addr) = prometheus_addr {
            log::info!("Prometheus metrics on http://{addr}/metrics");
        }
        Ok(Service {
            client,
            pool,
            metrics,
            rpc_addr,
            prometheus_addr,
            network: bridge,
            finality,
            stop,
            authoring,
            rpc,
        })
    }

    /// Stops authoring and the RPC server and flushes the database.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(rpc) = self.rpc.take() {
            rpc.stop().await;
        }
        if let Some(handle) = self.authoring.take() {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        if let Err(e) = self.client.flush() {
            log::warn!("flushing the database: {e}");
        }
    }
}

/// Keeps the pool in step with the chain: on a new best block, included transactions
/// leave the pool and the rest are re-validated; on finality, watchers learn it.
fn spawn_pool_maintenance(client: Arc<Client>, pool: Arc<TransactionPool>, metrics: Arc<Metrics>) {
    let mut events = client.subscribe();
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    log::warn!("pool maintenance missed {missed} chain events");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let client = client.clone();
            let pool = pool.clone();
            let metrics = metrics.clone();
            // Re-validation runs the runtime: keep it off the async threads.
            let _ = tokio::task::spawn_blocking(move || {
                let included = |hash: &H256| -> Vec<H256> {
                    client
                        .block(hash)
                        .ok()
                        .flatten()
                        .map(|block| {
                            block
                                .extrinsics
                                .iter()
                                .map(|xt| arceon_runtime::extrinsic_hash(xt))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                match event {
                    ChainEvent::Imported {
                        header,
                        hash,
                        is_new_best,
                    } => {
                        if is_new_best {
                            pool.maintain(hash, header.number, &included(&hash));
                        }
                    }
                    ChainEvent::Finalized { hash, .. } => {
                        pool.on_finalized(hash, &included(&hash));
                    }
                }
                metrics.set_heights(client.best().0, client.finalized().0);
                metrics.set_pool(pool.status());
            })
            .await;
        }
    });
}

fn start_network(
    config: &Configuration,
    params: &NetworkParams,
    chain_dir: &std::path::Path,
    client: &Arc<Client>,
    pool: &Arc<TransactionPool>,
) -> Result<Arc<NetworkBridge>, ServiceError> {
    let keypair = match &params.node_key {
        Some(key) => key.clone(),
        None => arceon_network::load_or_generate_node_key(
            &chain_dir.join("network").join("secret_ed25519"),
        )?,
    };
    let mut boot_nodes = params.boot_nodes.clone();
    for text in &config.chain_spec.boot_nodes {
        match text.parse() {
            Ok(addr) => boot_nodes.push(addr),
            Err(e) => log::warn!("chain spec boot node {text}: {e}"),
        }
    }
    let (handle, events) = arceon_network::start(arceon_network::NetworkConfig {
        genesis_hash: client.genesis_hash(),
        agent: format!(
            "arceon-node/{} ({})",
            env!("CARGO_PKG_VERSION"),
            config.node_name
        ),
        keypair,
        listen_addresses: params.listen_addresses.clone(),
        boot_nodes,
        in_peers: params.in_peers,
        out_peers: params.out_peers,
        reserved_nodes: params.reserved_nodes.clone(),
        reserved_only: params.reserved_only,
        public_addresses: params.public_addresses.clone(),
    })?;
    log::info!("local peer id {}", handle.local_peer_id());
    Ok(NetworkBridge::start(
        client.clone(),
        pool.clone(),
        handle,
        events,
        params.sync,
    )?)
}

/// How often a node re-gossips its latest finality messages, and how many: a peer that
/// was down or partitioned when a vote went out gets it again. They are re-sent for as
/// long as they are the latest, however old: a round stalled by a partition only
/// completes once the other side hears the votes cast during the cut.
const FINALITY_REBROADCAST: std::time::Duration = std::time::Duration::from_secs(2);
const FINALITY_REBROADCAST_MAX: usize = 16;

/// Finality messages over the libp2p network. Each gossip payload is the finality
/// message followed by an 8-byte send time, so that a re-gossiped message gets a new
/// content id; receivers strip it (see `NetworkBridge`).
struct FinalityNet {
    net: arceon_network::NetworkHandle,
    recent: Arc<parking_lot::Mutex<RecentMessages>>,
    /// Fetches the forks finality votes name.
    bridge: std::sync::Weak<NetworkBridge>,
}

/// The latest finality messages this node sent, oldest first.
type RecentMessages = std::collections::VecDeque<Vec<u8>>;

impl FinalityNet {
    fn new(bridge: &Arc<NetworkBridge>) -> Arc<FinalityNet> {
        let this = Arc::new(FinalityNet {
            net: bridge.network().clone(),
            recent: Default::default(),
            bridge: Arc::downgrade(bridge),
        });
        let weak = Arc::downgrade(&this);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FINALITY_REBROADCAST);
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { break };
                let messages: Vec<Vec<u8>> = this.recent.lock().iter().cloned().collect();
                for message in messages {
                    this.publish(message);
                }
            }
        });
        this
    }

    fn publish(&self, mut message: Vec<u8>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        message.extend_from_slice(&now.to_le_bytes());
        self.net.publish(arceon_network::Topic::Finality, message);
    }
}

impl arceon_finality::FinalityNetwork for FinalityNet {
    fn gossip(&self, message: Vec<u8>) {
        // Votes published again while finality stalls (`GossipMessage::VoteAgain`,
        // index 2) are not among the latest messages this node re-sends.
        if message.first() != Some(&2) {
            let mut recent = self.recent.lock();
            recent.push_back(message.clone());
            while recent.len() > FINALITY_REBROADCAST_MAX {
                recent.pop_front();
            }
        }
        self.publish(message);
    }

    fn request(
        &self,
        peer: String,
        request: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<Vec<u8>, String>> {
        let net = self.net.clone();
        Box::pin(async move {
            let peer: arceon_network::NetworkPeerId = peer
                .parse()
                .map_err(|e| format!("bad peer id {peer}: {e}"))?;
            match net
                .request(peer, arceon_network::Request::Finality(request))
                .await
            {
                Ok(arceon_network::Response::Finality(bytes)) => Ok(bytes),
                Ok(arceon_network::Response::Refused(reason)) => Err(reason),
                Ok(_) => Err("wrong response to a finality request".into()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    fn report_misbehaviour(&self, peer: &str, reason: &'static str) {
        if let Ok(peer) = peer.parse::<arceon_network::NetworkPeerId>() {
            self.net
                .report(peer, arceon_network::Reputation::bad(reason));
        }
    }

    fn fetch_block(&self, peer: &str, block: arceon_primitives::H256) {
        let (Some(bridge), Ok(peer)) = (
            self.bridge.upgrade(),
            peer.parse::<arceon_network::NetworkPeerId>(),
        ) else {
            return;
        };
        bridge.fetch_fork(peer, block);
    }
}

/// A node without a network: finality messages go nowhere.
struct NoNetwork;

impl arceon_finality::FinalityNetwork for NoNetwork {
    fn gossip(&self, _message: Vec<u8>) {}

    fn request(
        &self,
        _peer: String,
        _request: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<Vec<u8>, String>> {
        Box::pin(async { Err("no network".to_string()) })
    }
}

struct RpcNetwork(Arc<NetworkBridge>);

impl arceon_rpc::NetworkInfo for RpcNetwork {
    fn peers(&self) -> Vec<arceon_rpc::PeerSummary> {
        let bests = self.0.peer_bests();
        self.0
            .network()
            .peers()
            .into_iter()
            .map(|peer| {
                let best = bests.get(&peer.peer_id).map(|b| b.0).unwrap_or(0);
                arceon_rpc::PeerSummary {
                    peer_id: peer.peer_id.to_base58(),
                    roles: "FULL".into(),
                    best_hash: None,
                    best_number: best,
                }
            })
            .collect()
    }

    fn is_syncing(&self) -> bool {
        self.0.is_syncing()
    }

    fn local_peer_id(&self) -> String {
        self.0.network().local_peer_id().to_base58()
    }

    fn listen_addresses(&self) -> Vec<String> {
        self.0
            .network()
            .listen_addresses()
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    fn add_reserved_peer(&self, address: &str) -> Result<(), String> {
        let address: arceon_network::Address = address
            .parse()
            .map_err(|e| format!("invalid multiaddress: {e}"))?;
        let peer = arceon_network::peer_id_of(&address)
            .ok_or("the address must end with /p2p/<peer id>")?;
        self.0.network().add_reserved(peer, address);
        Ok(())
    }

    fn remove_reserved_peer(&self, peer_id: &str) -> Result<(), String> {
        let peer: arceon_network::NetworkPeerId = peer_id
            .parse()
            .map_err(|e| format!("invalid peer id: {e}"))?;
        self.0.network().deny(peer);
        Ok(())
    }
}

struct RpcFinality(arceon_finality::Finality);

impl arceon_rpc::FinalityInfo for RpcFinality {
    fn round_state(&self) -> serde_json::Value {
        serde_json::to_value(self.0.round_state()).unwrap_or(serde_json::Value::Null)
    }

    fn prove_finality(&self, number: u32) -> Result<Option<Vec<u8>>, String> {
        self.0.prove_finality(number).map_err(|e| e.to_string())
    }

    fn subscribe_justifications(&self) -> tokio::sync::broadcast::Receiver<Vec<u8>> {
        self.0.subscribe_justifications()
    }
}
