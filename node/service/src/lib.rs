//! Wires a running node together: the chain client on RocksDB, the transaction pool
//! validating through the runtime, the Aura authoring task, the JSON-RPC server and the
//! Prometheus endpoint.
//!
//! Invariants: the pool is maintained on every new best block (included transactions
//! leave it, the rest are re-validated) and told about every finalized block; a node
//! authors only in slots whose author (`authorities[slot % n]` at the best block) has
//! its key in the keystore; with a single authority a block is final when authored.

mod authoring;
mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arceon_chain_spec::ChainSpec;
use arceon_client::keystore::Keystore;
use arceon_client::{ChainEvent, Client, Pruning};
use arceon_primitives::{TransactionSource, TransactionValidity, H256};
use arceon_txpool::{ChainApi, Pool};

pub use metrics::Metrics;

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
    stop: Arc<AtomicBool>,
    authoring: Option<std::thread::JoinHandle<()>>,
    rpc: Option<arceon_rpc::RpcServer>,
}

impl Service {
    /// Opens the chain and starts every task. Must run inside a tokio runtime.
    pub async fn start(config: Configuration) -> Result<Service, ServiceError> {
        let chain_dir = config.base_path.join("chains").join(&config.chain_spec.id);
        let genesis = config.chain_spec.genesis_block()?;
        let client = Client::open(&chain_dir.join("db"), config.pruning, &genesis)?;
        let keystore = Keystore::open(&chain_dir.join("keystore"))?;
        if let Some(seed) = &config.dev_key_seed {
            keystore.insert("aura", seed, None)?;
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
            arceon_txpool::Options::default(),
        ));
        let metrics = Arc::new(Metrics::new());
        metrics.set_heights(client.best().0, client.finalized().0);
        spawn_pool_maintenance(client.clone(), pool.clone(), metrics.clone());

        let stop = Arc::new(AtomicBool::new(false));
        let authoring = if config.validator {
            Some(authoring::spawn(
                client.clone(),
                pool.clone(),
                keystore.clone(),
                metrics.clone(),
                stop.clone(),
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
        if let Err(e) = self.client.db().flush() {
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
                metrics.set_pool(pool.status().ready + pool.status().future);
            })
            .await;
        }
    });
}
