//! Prometheus metrics: best and finalized height, pool size (ready and future), the
//! pool's submissions, validation and maintenance times, block import and authoring
//! times, RPC calls per method, peers and sync status, the finality voter's set and
//! round; served as text on `GET /metrics`. Beside Arceon's own `arceon_*` names, the
//! figures Substrate dashboards chart are also exported under Substrate's names
//! (`substrate_block_height{status}`, `substrate_sub_libp2p_peers_count`,
//! `substrate_ready_transactions_number`, `substrate_block_verification_and_import_time`,
//! ...), so those dashboards and alerts work unchanged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{ServiceError, TransactionPool};

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    heights: IntGaugeVec,
    pool_size: IntGauge,
    pool_ready: IntGauge,
    pool_future: IntGauge,
    pool_submitted: IntCounterVec,
    pool_validation: HistogramVec,
    pool_validated: IntCounterVec,
    pool_maintain: Histogram,
    import_time: Histogram,
    authored: prometheus::IntCounter,
    /// JSON-RPC calls by method (shared with the RPC server).
    pub rpc_calls: IntCounterVec,
    peers: IntGauge,
    syncing: IntGauge,
    finality: IntGaugeVec,
    lane_receipt: HistogramVec,
    lane_batch_size: HistogramVec,
    lane_batch_interval: HistogramVec,
    lane_pending: IntGaugeVec,
    /// Read just before each scrape: values owned by other parts of the node.
    samplers: parking_lot::Mutex<Vec<Sampler>>,
    substrate: SubstrateMetrics,
}

/// The same figures under the names Substrate nodes export (prefix `substrate_`).
struct SubstrateMetrics {
    registry: Registry,
    block_height: IntGaugeVec,
    peers: IntGauge,
    major_syncing: IntGauge,
    ready_transactions: IntGauge,
    import_time: Histogram,
    grandpa_round: IntGauge,
}

fn static_metric<T>(metric: Result<T, prometheus::Error>) -> T {
    metric.unwrap_or_else(|e| unreachable!("static metric definition: {e}"))
}

impl SubstrateMetrics {
    fn new() -> SubstrateMetrics {
        let registry = Registry::new_custom(Some("substrate".into()), None)
            .unwrap_or_else(|_| Registry::new());
        let block_height = static_metric(IntGaugeVec::new(
            Opts::new("block_height", "Block height info of the chain"),
            &["status"],
        ));
        let peers = static_metric(IntGauge::new(
            "sub_libp2p_peers_count",
            "Number of connected peers",
        ));
        let major_syncing = static_metric(IntGauge::new(
            "sub_libp2p_is_major_syncing",
            "Whether the node is performing a major sync or not",
        ));
        let ready_transactions = static_metric(IntGauge::new(
            "ready_transactions_number",
            "Number of transactions in the ready queue",
        ));
        let import_time = static_metric(Histogram::with_opts(
            HistogramOpts::new(
                "block_verification_and_import_time",
                "Time taken to verify and import blocks",
            )
            .buckets(prometheus::exponential_buckets(0.001, 2.0, 14).unwrap_or_default()),
        ));
        let grandpa_round = static_metric(IntGauge::new(
            "finality_grandpa_round",
            "Highest completed GRANDPA round",
        ));
        let build_info = static_metric(IntGaugeVec::new(
            Opts::new(
                "build_info",
                "A metric with a constant '1' value labeled by name and version",
            ),
            &["name", "version"],
        ));
        build_info
            .with_label_values(&["arceon-node", env!("CARGO_PKG_VERSION")])
            .set(1);
        let start_time = static_metric(IntGauge::new(
            "process_start_time_seconds",
            "Number of seconds between the UNIX epoch and the moment the process started",
        ));
        start_time.set(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
        );
        for collector in [
            Box::new(block_height.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(peers.clone()),
            Box::new(major_syncing.clone()),
            Box::new(ready_transactions.clone()),
            Box::new(import_time.clone()),
            Box::new(grandpa_round.clone()),
            Box::new(build_info),
            Box::new(start_time),
        ] {
            if let Err(e) = registry.register(collector) {
                log::warn!("metric registration: {e}");
            }
        }
        SubstrateMetrics {
            registry,
            block_height,
            peers,
            major_syncing,
            ready_transactions,
            import_time,
            grandpa_round,
        }
    }
}

/// Updates some metrics from their source when they are scraped.
pub type Sampler = Box<dyn Fn(&Metrics) + Send + Sync>;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("arceon".into()), None).unwrap_or_else(|_| Registry::new());
        let heights = IntGaugeVec::new(
            Opts::new("block_height", "Block height of the chain"),
            &["status"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let pool_size = IntGauge::new("txpool_size", "Transactions in the pool (ready and future)")
            .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let pool_ready = IntGauge::new("txpool_ready", "Ready transactions in the pool")
            .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let pool_future = IntGauge::new(
            "txpool_future",
            "Future transactions in the pool (waiting for an earlier nonce)",
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let pool_submitted = IntCounterVec::new(
            Opts::new(
                "txpool_submitted_total",
                "Transactions submitted to the pool, by source (external: RPC and peers, local: the node) and result (accepted, refused)",
            ),
            &["source", "result"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let pool_validation = HistogramVec::new(
            HistogramOpts::new(
                "txpool_validation_seconds",
                "Time to validate one batch of transactions: submit (new ones, signatures checked in one batch) or revalidate (the whole pool on a new best block)",
            )
            .buckets(vec![
                0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            &["kind"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let pool_validated = IntCounterVec::new(
            Opts::new(
                "txpool_validated_total",
                "Transactions validated (submit or revalidate); with txpool_validation_seconds_sum, the time per transaction",
            ),
            &["kind"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let pool_maintain = Histogram::with_opts(
            HistogramOpts::new(
                "txpool_maintain_seconds",
                "Time to bring the pool up to a new best block",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]),
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let import_time = Histogram::with_opts(
            HistogramOpts::new(
                "block_import_seconds",
                "Time to build or import and store a block",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let authored = prometheus::IntCounter::new(
            "blocks_authored_total",
            "Blocks this node authored (as a validator, in its Aura slots)",
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let rpc_calls = IntCounterVec::new(
            Opts::new("rpc_calls_total", "JSON-RPC calls by method"),
            &["method"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let peers = IntGauge::new("network_peers", "Connected peers")
            .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let syncing = IntGauge::new(
            "network_syncing",
            "1 while the node downloads blocks it is missing, else 0",
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let finality = IntGaugeVec::new(
            Opts::new(
                "finality_voter",
                "The GRANDPA voter's authority set id and best round",
            ),
            &["value"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let lane_receipt = HistogramVec::new(
            HistogramOpts::new(
                "fastlane_receipt_seconds",
                "Time from a lane action's arrival at its primary to its certified receipt",
            )
            .buckets(vec![
                0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["area"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let lane_batch_size = HistogramVec::new(
            HistogramOpts::new("fastlane_batch_actions", "Actions per certified lane batch")
                .buckets(vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
                ]),
            &["area"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let lane_batch_interval = HistogramVec::new(
            HistogramOpts::new(
                "fastlane_batch_interval_seconds",
                "Time between consecutive certified batches of a lane",
            )
            .buckets(vec![
                0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0,
            ]),
            &["area"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        let lane_pending = IntGaugeVec::new(
            Opts::new(
                "fastlane_pending_actions",
                "Actions a lane served here has sequenced but not yet certified",
            ),
            &["area"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition: {e}"));
        for collector in [
            Box::new(heights.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(lane_receipt.clone()),
            Box::new(lane_batch_size.clone()),
            Box::new(lane_batch_interval.clone()),
            Box::new(lane_pending.clone()),
            Box::new(peers.clone()),
            Box::new(syncing.clone()),
            Box::new(finality.clone()),
            Box::new(pool_size.clone()),
            Box::new(pool_ready.clone()),
            Box::new(pool_future.clone()),
            Box::new(pool_submitted.clone()),
            Box::new(pool_validation.clone()),
            Box::new(pool_validated.clone()),
            Box::new(pool_maintain.clone()),
            Box::new(import_time.clone()),
            Box::new(authored.clone()),
            Box::new(rpc_calls.clone()),
        ] {
            if let Err(e) = registry.register(collector) {
                log::warn!("metric registration: {e}");
            }
        }
        Metrics {
            registry,
            heights,
            pool_size,
            pool_ready,
            pool_future,
            pool_submitted,
            pool_validation,
            pool_validated,
            pool_maintain,
            import_time,
            authored,
            rpc_calls,
            peers,
            syncing,
            finality,
            lane_receipt,
            lane_batch_size,
            lane_batch_interval,
            lane_pending,
            samplers: Default::default(),
            substrate: SubstrateMetrics::new(),
        }
    }

    /// Records one lane receipt's latency at its primary.
    pub fn observe_lane_receipt(&self, area: u32, took: Duration) {
        self.lane_receipt
            .with_label_values(&[&area.to_string()])
            .observe(took.as_secs_f64());
    }

    /// Records one certified lane batch: its size and the time since the previous one.
    pub fn observe_lane_batch(&self, area: u32, actions: usize, interval: Option<Duration>) {
        let label = area.to_string();
        self.lane_batch_size
            .with_label_values(&[&label])
            .observe(actions as f64);
        if let Some(interval) = interval {
            self.lane_batch_interval
                .with_label_values(&[&label])
                .observe(interval.as_secs_f64());
        }
    }

    /// Records the actions waiting for a certificate in a lane served here.
    pub fn set_lane_pending(&self, area: u32, pending: usize) {
        self.lane_pending
            .with_label_values(&[&area.to_string()])
            .set(pending as i64);
    }

    /// Registers a sampler run before every scrape.
    pub fn add_sampler(&self, sampler: Sampler) {
        self.samplers.lock().push(sampler);
    }

    /// Records the connected peers and whether the node is syncing.
    pub fn set_network(&self, peers: usize, syncing: bool) {
        self.peers.set(peers as i64);
        self.syncing.set(i64::from(syncing));
        self.substrate.peers.set(peers as i64);
        self.substrate.major_syncing.set(i64::from(syncing));
    }

    /// Records the finality voter's authority set id and best round.
    pub fn set_finality(&self, set_id: u64, round: u64) {
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.finality
            .with_label_values(&["set_id"])
            .set(gauge(set_id));
        self.finality
            .with_label_values(&["round"])
            .set(gauge(round));
        self.substrate.grandpa_round.set(gauge(round));
    }

    /// Records the best and finalized heights.
    pub fn set_heights(&self, best: u32, finalized: u32) {
        self.heights.with_label_values(&["best"]).set(best as i64);
        self.heights
            .with_label_values(&["finalized"])
            .set(finalized as i64);
        let substrate = &self.substrate.block_height;
        substrate.with_label_values(&["best"]).set(best as i64);
        substrate
            .with_label_values(&["finalized"])
            .set(finalized as i64);
    }

    /// Records the pool's ready and future transactions.
    pub fn set_pool(&self, status: arceon_txpool::PoolStatus) {
        self.pool_size.set((status.ready + status.future) as i64);
        self.pool_ready.set(status.ready as i64);
        self.pool_future.set(status.future as i64);
        self.substrate.ready_transactions.set(status.ready as i64);
    }

    /// Records the pool's work (its observer).
    pub fn observe_pool(&self, event: arceon_txpool::PoolEvent) {
        match event {
            arceon_txpool::PoolEvent::Submitted {
                source,
                count,
                accepted,
                validation,
            } => {
                let source = match source {
                    arceon_txpool::TransactionSource::External => "external",
                    arceon_txpool::TransactionSource::Local => "local",
                    arceon_txpool::TransactionSource::InBlock => "in_block",
                };
                self.pool_submitted
                    .with_label_values(&[source, "accepted"])
                    .inc_by(accepted as u64);
                self.pool_submitted
                    .with_label_values(&[source, "refused"])
                    .inc_by(count.saturating_sub(accepted) as u64);
                self.pool_validation
                    .with_label_values(&["submit"])
                    .observe(validation);
                self.pool_validated
                    .with_label_values(&["submit"])
                    .inc_by(count as u64);
            }
            arceon_txpool::PoolEvent::Maintained {
                revalidated,
                revalidation,
                total,
            } => {
                self.pool_validation
                    .with_label_values(&["revalidate"])
                    .observe(revalidation);
                self.pool_validated
                    .with_label_values(&["revalidate"])
                    .inc_by(revalidated as u64);
                self.pool_maintain.observe(total);
            }
        }
    }

    /// Counts one block this node authored.
    pub fn note_authored(&self) {
        self.authored.inc();
    }

    /// Records one block import.
    pub fn observe_import(&self, took: Duration) {
        self.import_time.observe(took.as_secs_f64());
        self.substrate.import_time.observe(took.as_secs_f64());
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        for sampler in self.samplers.lock().iter() {
            sampler(self);
        }
        let mut buffer = Vec::new();
        let mut families = self.registry.gather();
        families.extend(self.substrate.registry.gather());
        if let Err(e) = TextEncoder::new().encode(&families, &mut buffer) {
            log::warn!("encoding metrics: {e}");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

/// Serves `GET /metrics` on `addr`; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    pool: Arc<TransactionPool>,
) -> Result<SocketAddr, ServiceError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServiceError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServiceError::Bind { addr, source })?;
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let read =
                    tokio::time::timeout(Duration::from_secs(5), socket.read(&mut request)).await;
                let Ok(Ok(n)) = read else { return };
                let head = String::from_utf8_lossy(&request[..n]);
                let response = if head.starts_with("GET /metrics") {
                    metrics.set_pool(pool.status());
                    let body = metrics.render();
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(local)
}
