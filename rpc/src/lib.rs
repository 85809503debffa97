//! Arceon's JSON-RPC server (jsonrpsee, HTTP and WebSocket on one port) with Substrate's
//! method names and JSON shapes, so Substrate wallets and explorers work unchanged:
//! `chain_*`, `state_*`, `author_*`, `system_*`, `payment_queryInfo`, `rpc_methods`, and
//! the new JSON-RPC interface spec (`chainHead_v1_*`, `transactionWatch_v1_*`,
//! `transaction_v1_*`, `chainSpec_v1_*`, `archive_v1_*`; see [`spec_v2`]).
//!
//! Invariants: every malformed request (bad JSON, wrong parameters, invalid hex,
//! undecodable or badly signed extrinsics) gets a JSON-RPC error and changes nothing;
//! request and response size, connections, batch length, calls per minute and
//! subscriptions per connection are bounded; a request (HTTP or WebSocket upgrade) from a
//! browser origin outside `--rpc-cors` is refused before any method runs; unsafe methods
//! (`author_insertKey`, `author_rotateKeys`, `author_hasKey`, `author_hasSessionKeys`, reserved peers) answer only when the node allows
//! them.

mod access;
pub mod fastlane;
mod json;
mod methods;
mod spec_v2;
mod state_extra;
mod subscriptions;
mod world;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use arceon_client::keystore::Keystore;
use arceon_client::Client;
use arceon_txpool::{ChainApi, Pool};
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::RpcModule;

pub use access::{AllowedOrigins, OriginPattern, DEFAULT_ORIGINS, TOO_MANY_CALLS_CODE};
pub use json::{header_json, parse_hash};

/// Which methods the server exposes (`--rpc-methods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcMethods {
    /// Only safe methods.
    Safe,
    /// Every method.
    Unsafe,
    /// Unsafe methods only when listening on a loopback address.
    Auto,
}

impl std::str::FromStr for RpcMethods {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "safe" => Ok(RpcMethods::Safe),
            "unsafe" => Ok(RpcMethods::Unsafe),
            "auto" => Ok(RpcMethods::Auto),
            other => Err(format!("'{other}' is not one of safe, unsafe, auto")),
        }
    }
}

/// Server limits and exposure.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Which methods are callable.
    pub methods: RpcMethods,
    /// Browser origins whose requests and WebSocket upgrades are served.
    pub cors: AllowedOrigins,
    /// Most simultaneous connections.
    pub max_connections: u32,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_bytes: u32,
    /// Most subscriptions per connection.
    pub max_subscriptions_per_connection: u32,
    /// Most calls in one batch; a longer batch is answered with one error (0 refuses
    /// every batch).
    pub max_batch_len: u32,
    /// Most calls per minute per connection (WebSocket connection or HTTP request);
    /// `None` for no limit.
    pub rate_limit_per_minute: Option<NonZeroU32>,
}

/// Default of [`RpcConfig::max_batch_len`].
pub const DEFAULT_MAX_BATCH_LEN: u32 = 1_000;
/// Default of [`RpcConfig::rate_limit_per_minute`]: 100 calls a second, sustained, with
/// a minute's worth available at once.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 6_000;

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            methods: RpcMethods::Auto,
            cors: AllowedOrigins::local(),
            max_connections: 100,
            max_request_bytes: 15 * 1024 * 1024,
            max_response_bytes: 15 * 1024 * 1024,
            max_subscriptions_per_connection: 1024,
            max_batch_len: DEFAULT_MAX_BATCH_LEN,
            rate_limit_per_minute: NonZeroU32::new(DEFAULT_RATE_LIMIT_PER_MINUTE),
        }
    }
}

/// What the RPC methods read and act on.
pub struct RpcDeps<A: ChainApi> {
    /// The chain.
    pub client: Arc<Client>,
    /// The transaction pool.
    pub pool: Arc<Pool<A>>,
    /// The keystore (`author_insertKey`).
    pub keystore: Keystore,
    /// `system_chain`.
    pub chain_name: String,
    /// `system_chainType`.
    pub chain_type: String,
    /// `system_properties`.
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// The node's name (`--name`).
    pub node_name: String,
    /// Whether the node authors blocks (`system_nodeRoles`).
    pub is_validator: bool,
    /// Per-method call counter for metrics.
    pub rpc_calls: Option<prometheus::IntCounterVec>,
    /// The peer-to-peer network (`system_peers`, `system_health`, ...), if running.
    pub network: Option<Arc<dyn NetworkInfo>>,
    /// The finality gadget (`grandpa_*`), if running.
    pub finality: Option<Arc<dyn FinalityInfo>>,
    /// The fast lanes (`fastlane_*`), if running.
    pub fastlane: Option<Arc<dyn fastlane::FastLaneApi>>,
}

/// A connected peer as `system_peers` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerSummary {
    /// Base58 peer id.
    pub peer_id: String,
    /// `"FULL"` or `"AUTHORITY"` when known.
    pub roles: String,
    /// The peer's best block hash as last reported (hex), if known.
    pub best_hash: Option<String>,
    /// The peer's best block number as last reported.
    pub best_number: u32,
}

/// What RPC reads from the network.
pub trait NetworkInfo: Send + Sync {
    /// Connected peers.
    fn peers(&self) -> Vec<PeerSummary>;
    /// Whether the node is catching up.
    fn is_syncing(&self) -> bool;
    /// Base58 local peer id.
    fn local_peer_id(&self) -> String;
    /// Listen addresses with `/p2p/<id>`.
    fn listen_addresses(&self) -> Vec<String>;
    /// `system_addReservedPeer`: dial `/ip4/../tcp/../p2p/<id>` and keep it connected.
    fn add_reserved_peer(&self, address: &str) -> Result<(), String>;
    /// `system_removeReservedPeer`: disconnect the peer and refuse it until it is added
    /// again.
    fn remove_reserved_peer(&self, peer_id: &str) -> Result<(), String>;
}

/// What RPC reads from the finality gadget.
pub trait FinalityInfo: Send + Sync {
    /// `grandpa_roundState`.
    fn round_state(&self) -> serde_json::Value;
    /// `grandpa_proveFinality`: the encoded proof for block `number`, if it can be proven.
    fn prove_finality(&self, number: u32) -> Result<Option<Vec<u8>>, String>;
    /// Justifications as they are produced (encoded).
    fn subscribe_justifications(&self) -> tokio::sync::broadcast::Receiver<Vec<u8>>;
}

/// The state shared by all methods.
pub(crate) struct Context<A: ChainApi> {
    pub deps: RpcDeps<A>,
    pub allow_unsafe: bool,
    /// Routes certified lane batches to `fastlane_subscribeArea` subscriptions.
    pub lane_hub: std::sync::OnceLock<Arc<fastlane::Hub>>,
    /// Takes `author_submit*` transactions to the pool in batches.
    pub submitter: arceon_txpool::Submitter,
    /// The best block when the node started (`system_syncState`).
    pub starting_block: u32,
    /// Follow subscriptions and broadcasts of the new JSON-RPC spec.
    pub spec_v2: spec_v2::SpecV2,
}

impl<A: ChainApi> Context<A> {
    pub fn count(&self, method: &str) {
        if let Some(counter) = &self.deps.rpc_calls {
            counter.with_label_values(&[method]).inc();
        }
    }
}

/// A running server.
pub struct RpcServer {
    handle: ServerHandle,
    /// Where it listens.
    pub local_addr: SocketAddr,
}

impl RpcServer {
    /// Stops the server and waits until it has stopped.
    pub async fn stop(self) {
        if self.handle.stop().is_ok() {
            self.handle.stopped().await;
        }
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// A method was registered twice (a bug).
    #[error("method registration: {0}")]
    Register(String),
    /// The transaction submission thread could not be started.
    #[error("cannot start the submission thread: {0}")]
    Thread(std::io::Error),
}

/// Submitted transactions waiting for validation at most; past that the pool is not
/// keeping up and a submission is refused at once (1016).
const SUBMISSION_QUEUE: usize = 8_192;

/// Builds the module with every method.
pub(crate) fn module<A: ChainApi>(
    deps: RpcDeps<A>,
    allow_unsafe: bool,
) -> Result<RpcModule<Context<A>>, RpcError> {
    let client = deps.client.clone();
    let pool = deps.pool.clone();
    let submitter = arceon_txpool::Submitter::start(
        deps.pool.clone(),
        // The block the pool is in step with (see `Pool::maintained_block`).
        Box::new(move || pool.maintained_block().unwrap_or_else(|| client.best())),
        SUBMISSION_QUEUE,
    )
    .map_err(RpcError::Thread)?;
    let starting_block = deps.client.best().0;
    let mut module = RpcModule::new(Context {
        starting_block,
        deps,
        allow_unsafe,
        lane_hub: std::sync::OnceLock::new(),
        submitter,
        spec_v2: spec_v2::SpecV2::new(),
    });
    methods::register(&mut module).map_err(|e| RpcError::Register(e.to_string()))?;
    state_extra::register(&mut module).map_err(|e| RpcError::Register(e.to_string()))?;
    subscriptions::register(&mut module).map_err(|e| RpcError::Register(e.to_string()))?;
    world::register(&mut module).map_err(|e| RpcError::Register(e.to_string()))?;
    fastlane::register(&mut module).map_err(|e| RpcError::Register(e.to_string()))?;
    spec_v2::register(&mut module).map_err(|e| RpcError::Register(e.to_string()))?;
    let mut names: Vec<String> = module.method_names().map(|m| m.to_string()).collect();
    names.push("rpc_methods".into());
    names.sort();
    module
        .register_method(
            "rpc_methods",
            move |_, _, _| serde_json::json!({ "version": 1, "methods": names.clone() }),
        )
        .map_err(|e| RpcError::Register(e.to_string()))?;
    Ok(module)
}

/// Starts the server on `addr`.
pub async fn start<A: ChainApi>(
    addr: SocketAddr,
    config: RpcConfig,
    deps: RpcDeps<A>,
) -> Result<RpcServer, RpcError> {
    let allow_unsafe = match config.methods {
        RpcMethods::Safe => false,
        RpcMethods::Unsafe => true,
        RpcMethods::Auto => addr.ip().is_loopback(),
    };
    let module = module(deps, allow_unsafe)?;
    let allowed = Arc::new(config.cors.clone());
    let cors = match &config.cors {
        AllowedOrigins::Any => tower_http::cors::CorsLayer::permissive(),
        AllowedOrigins::Only(_) => {
            let allowed = allowed.clone();
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::AllowOrigin::predicate(
                    move |origin, _| origin.to_str().is_ok_and(|o| allowed.allows(o)),
                ))
                .allow_headers([http::header::CONTENT_TYPE])
                .allow_methods([http::Method::POST])
        }
    };
    // The origin guard goes first: a browser request from a foreign origin is refused
    // whole, preflight, POST or WebSocket upgrade alike.
    let http_middleware = tower::ServiceBuilder::new()
        .layer(access::OriginGuardLayer::new(allowed))
        .layer(cors);
    let rpc_middleware = RpcServiceBuilder::new().option_layer(
        config
            .rate_limit_per_minute
            .map(access::CallBudgetLayer::new),
    );
    let server = Server::builder()
        .set_config(
            ServerConfig::builder()
                .max_connections(config.max_connections)
                .max_request_body_size(config.max_request_bytes)
                .max_response_body_size(config.max_response_bytes)
                .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
                .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
                // Opaque string ids, as Substrate gives and the new spec describes.
                .set_id_provider(jsonrpsee::server::RandomStringIdProvider::new(16))
                .build(),
        )
        .set_http_middleware(http_middleware)
        .set_rpc_middleware(rpc_middleware)
        .build(addr)
        .await
        .map_err(|source| RpcError::Bind { addr, source })?;
    let local_addr = server
        .local_addr()
        .map_err(|source| RpcError::Bind { addr, source })?;
    let handle = server.start(module);
    log::info!(
        "RPC: unsafe methods {}; browser origins: {}; at most {} calls a batch, {} a minute per connection",
        if allow_unsafe { "allowed" } else { "refused" },
        config.cors,
        config.max_batch_len,
        config
            .rate_limit_per_minute
            .map_or("unlimited".to_string(), |n| n.to_string()),
    );
    Ok(RpcServer { handle, local_addr })
}
