//! The command line: Substrate's habits (`--dev`, `--chain`, `--base-path`, `--tmp`,
//! `--alice`, `--rpc-port`, subcommands).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use arceon_chain_spec::ChainSpec;
use arceon_client::Pruning;
use arceon_rpc::{AllowedOrigins, RpcConfig, RpcMethods};
use arceon_service::{Configuration, NetworkParams, Service, SyncMode};
use clap::{Args, Parser, Subcommand};

use crate::benchmark::{self, ImportBenchmark};
use crate::chain_ops;

/// The Arceon node.
#[derive(Debug, Parser)]
#[command(
    name = "arceon-node",
    version,
    about = "Arceon: a blockchain for a persistent online world"
)]
pub struct Cli {
    /// What to do (runs the node when omitted).
    #[command(subcommand)]
    pub subcommand: Option<Command>,
    /// Node options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options of a running node.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Development mode: `--chain dev --alice --tmp` (unless --base-path is given) with
    /// unsafe RPC methods allowed on localhost.
    #[arg(long)]
    pub dev: bool,
    /// The chain: `dev`, `local` or a path to a chain-spec JSON file.
    #[arg(long, global = true)]
    pub chain: Option<String>,
    /// Where to keep the chain's data.
    #[arg(long, short = 'd', global = true)]
    pub base_path: Option<PathBuf>,
    /// Keep the data in a temporary directory deleted on exit.
    #[arg(long)]
    pub tmp: bool,
    /// Author blocks with the keys in the keystore.
    #[arg(long)]
    pub validator: bool,
    /// Shortcut for `--name Alice --validator` with `//Alice` in the keystore.
    #[arg(long, conflicts_with_all = ["bob", "charlie", "dave", "eve", "ferdie"])]
    pub alice: bool,
    /// Shortcut for `--name Bob --validator` with `//Bob` in the keystore.
    #[arg(long)]
    pub bob: bool,
    /// Shortcut for `--name Charlie --validator` with `//Charlie` in the keystore.
    #[arg(long)]
    pub charlie: bool,
    /// Shortcut for `--name Dave --validator` with `//Dave` in the keystore.
    #[arg(long)]
    pub dave: bool,
    /// Shortcut for `--name Eve --validator` with `//Eve` in the keystore.
    #[arg(long)]
    pub eve: bool,
    /// Shortcut for `--name Ferdie --validator` with `//Ferdie` in the keystore.
    #[arg(long)]
    pub ferdie: bool,
    /// The node's human-readable name.
    #[arg(long)]
    pub name: Option<String>,
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, default_value_t = 9944)]
    pub rpc_port: u16,
    /// Listen for RPC on all interfaces instead of 127.0.0.1.
    #[arg(long)]
    pub rpc_external: bool,
    /// Which RPC methods to expose: safe, unsafe or auto (unsafe on localhost only).
    #[arg(long, default_value = "auto")]
    pub rpc_methods: RpcMethods,
    /// Browser origins allowed to use RPC (HTTP and WebSocket): `all` or a
    /// comma-separated list such as `http://localhost:*,https://app.example` (`:*` for
    /// any port). Default: localhost, 127.0.0.1 and https://polkadot.js.org; all under
    /// --dev. A request from any other origin is refused with 403.
    #[arg(long)]
    pub rpc_cors: Option<AllowedOrigins>,
    /// Most simultaneous RPC connections.
    #[arg(long, default_value_t = 100)]
    pub rpc_max_connections: u32,
    /// Largest RPC request, in MiB.
    #[arg(long, default_value_t = 15)]
    pub rpc_max_request_size: u32,
    /// Largest RPC response, in MiB.
    #[arg(long, default_value_t = 15)]
    pub rpc_max_response_size: u32,
    /// Most subscriptions per RPC connection.
    #[arg(long, default_value_t = 1024)]
    pub rpc_max_subscriptions_per_connection: u32,
    /// Most calls in one RPC batch; a longer batch gets a single error (0 refuses
    /// batches).
    #[arg(long, default_value_t = arceon_rpc::DEFAULT_MAX_BATCH_LEN)]
    pub rpc_max_batch_request_len: u32,
    /// Most RPC calls per minute per connection (each HTTP request counts as its own
    /// connection); calls over it get error -32029. 0 turns the limit off.
    #[arg(long, default_value_t = arceon_rpc::DEFAULT_RATE_LIMIT_PER_MINUTE)]
    pub rpc_rate_limit: u32,
    /// Disable the RPC server.
    #[arg(long)]
    pub no_rpc: bool,
    /// Most ready transactions in the pool (a tenth as many more may wait for an earlier
    /// nonce); past it a submission is refused with 1016. Two slots' worth of what a
    /// block can hold at the import rate.
    #[arg(long, default_value_t = 32_768)]
    pub pool_limit: usize,
    /// Most KiB of ready transactions in the pool (a tenth as many more for the future
    /// ones).
    #[arg(long, default_value_t = 65_536)]
    pub pool_kbytes: usize,
    /// State pruning: `archive` or the number of recent blocks whose state is kept.
    #[arg(long, default_value = "256", global = true)]
    pub state_pruning: Pruning,
    /// Block bodies and justifications to keep: `archive`, `archive-canonical` or the
    /// number of recent finalized blocks (justifications of authority-set changes, which
    /// warp proofs need, are always kept).
    #[arg(long, default_value = "archive", global = true)]
    pub blocks_pruning: arceon_db::BlocksPruning,
    /// RocksDB block cache, in MiB.
    #[arg(long, default_value_t = 64)]
    pub db_cache: usize,
    /// Prometheus port.
    #[arg(long, default_value_t = 9615)]
    pub prometheus_port: u16,
    /// Disable the Prometheus endpoint.
    #[arg(long)]
    pub no_prometheus: bool,
    /// Serve Prometheus on every interface, not only on localhost.
    #[arg(long)]
    pub prometheus_external: bool,
    /// Log filter, e.g. `info` or `arceon_service=debug`.
    #[arg(long, short = 'l', global = true)]
    pub log: Option<String>,
    /// TCP port for peer-to-peer connections.
    #[arg(long, default_value_t = arceon_network::DEFAULT_PORT)]
    pub port: u16,
    /// Listen on these multiaddresses instead of `/ip4/0.0.0.0/tcp/<port>`.
    #[arg(long, value_delimiter = ',')]
    pub listen_addr: Vec<String>,
    /// Peers to connect to, as `/ip4/<ip>/tcp/<port>/p2p/<peer id>` (added to the chain
    /// spec's `bootNodes`).
    #[arg(long, value_delimiter = ',')]
    pub bootnodes: Vec<String>,
    /// The node's libp2p secret key (64 hex characters).
    #[arg(long, conflicts_with = "node_key_file")]
    pub node_key: Option<String>,
    /// A file holding the node key (hex or 32 raw bytes); created if missing.
    #[arg(long)]
    pub node_key_file: Option<PathBuf>,
    /// Peers always kept connected, as `/ip4/<ip>/tcp/<port>/p2p/<peer id>`.
    #[arg(long, value_delimiter = ',')]
    pub reserved_nodes: Vec<String>,
    /// Connect only to reserved peers (a validator behind sentry nodes): every other
    /// connection is refused and nothing is discovered.
    #[arg(long)]
    pub reserved_only: bool,
    /// Addresses other peers should use to reach this node (announced to them).
    #[arg(long, value_delimiter = ',')]
    pub public_addr: Vec<String>,
    /// Most inbound peer connections.
    #[arg(long, default_value_t = 32)]
    pub in_peers: u32,
    /// Most outbound peer connections.
    #[arg(long, default_value_t = 8)]
    pub out_peers: u32,
    /// How to catch up with the network: `full` or `warp`.
    #[arg(long, default_value = "full")]
    pub sync: SyncArg,
    /// Run without the peer-to-peer network.
    #[arg(long)]
    pub no_network: bool,
    /// How long (ms) a fast-lane member waits on a silent primary before it moves its
    /// lane to the next view (the next member leads).
    #[arg(long, default_value_t = arceon_service::DEFAULT_LANE_VIEW_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(20..=60_000))]
    pub lane_view_timeout: u64,
    /// Store a justification at least every this many finalized blocks.
    #[arg(long, default_value_t = 32)]
    pub justification_period: u32,
    /// TEST ONLY: seal two different blocks in each of this validator's slots, so that
    /// the network reports and slashes it.
    #[arg(long, hide = true)]
    pub unsafe_double_sign: bool,
    /// TEST ONLY: as a fast-lane primary, seal a second batch at the height of the first
    /// batch of two or more actions and show it to half the committee, so that the
    /// network reports the equivocation and slashes the signers.
    #[arg(long, hide = true)]
    pub unsafe_lane_equivocate: bool,
    /// TEST ONLY: as a fast-lane member, vote for every proposal shown (also a second
    /// one at a height).
    #[arg(long, hide = true)]
    pub unsafe_lane_sign_anything: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a chain specification as JSON.
    BuildSpec {
        /// Print the genesis as raw storage.
        #[arg(long)]
        raw: bool,
    },
    /// Delete the chain's database.
    PurgeChain {
        /// Do not ask for confirmation.
        #[arg(short = 'y')]
        yes: bool,
    },
    /// Write the chain's blocks to a file (SCALE-encoded, or JSON with --json).
    ExportBlocks(chain_ops::ExportBlocks),
    /// Import blocks from a file written by export-blocks.
    ImportBlocks(chain_ops::ImportBlocks),
    /// Write the world state at a block as human-readable JSON.
    ExportState(chain_ops::ExportState),
    /// Write a finalized block's state with the finality proof from genesis (zstd).
    ExportSnapshot(crate::snapshot::ExportSnapshot),
    /// Start a fresh database from a snapshot, after verifying it as warp sync would.
    ImportSnapshot(crate::snapshot::ImportSnapshot),
    /// Show the best and finalized blocks, pruning and database size of a stopped node.
    ChainInfo,
    /// Re-execute a block on its parent's state and report whether it is valid.
    CheckBlock(chain_ops::CheckBlock),
    /// Check the world's cross-pallet invariants at a block of a stopped node.
    CheckState(chain_ops::CheckState),
    /// Undo the last N unfinalized blocks of a stopped node (never finalized ones).
    Revert {
        /// How many blocks.
        #[arg(default_value_t = 256)]
        count: u32,
    },
    /// Key management.
    #[command(subcommand)]
    Key(crate::key::KeyCommand),
    /// Measure the node's speed.
    #[command(subcommand)]
    Benchmark(BenchmarkCommand),
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchmarkCommand {
    /// Import blocks of signed transfers into a fresh RocksDB database.
    Import(ImportBenchmark),
    /// Measure call execution times against the pallets' declared weights.
    Pallet(crate::bench_pallet::PalletBenchmark),
    /// Author blocks into the node's database as fast as they build (sealed by dev keys;
    /// for sync benchmarks and tests).
    MakeChain(crate::chain_ops::MakeChain),
}

impl RunArgs {
    /// The chain spec `--chain`/`--dev` select.
    pub fn chain_spec(&self) -> anyhow::Result<ChainSpec> {
        let name = match (&self.chain, self.dev) {
            (Some(chain), _) => chain.clone(),
            (None, true) => "dev".into(),
            (None, false) => "local".into(),
        };
        ChainSpec::load(&name).with_context(|| format!("loading chain '{name}'"))
    }

    fn dev_key(&self) -> Option<&'static str> {
        [
            (self.alice || (self.dev && !self.any_key()), "Alice"),
            (self.bob, "Bob"),
            (self.charlie, "Charlie"),
            (self.dave, "Dave"),
            (self.eve, "Eve"),
            (self.ferdie, "Ferdie"),
        ]
        .into_iter()
        .find(|(set, _)| *set)
        .map(|(_, name)| name)
    }

    fn any_key(&self) -> bool {
        self.alice || self.bob || self.charlie || self.dave || self.eve || self.ferdie
    }

    /// The base path, or a default under the user's data directory.
    pub fn base_path_or_default(&self) -> PathBuf {
        self.base_path.clone().unwrap_or_else(default_base_path)
    }
}

fn default_base_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/arceon-node")
}

fn init_logging(filter: Option<&str>) {
    let filter = filter.unwrap_or("info");
    let _ = env_logger::Builder::new()
        .parse_filters(filter)
        .format_timestamp_millis()
        .try_init();
}

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.run.log.as_deref());
    match cli.subcommand {
        Some(Command::BuildSpec { raw }) => {
            let spec = cli.run.chain_spec()?;
            let spec = if raw { spec.to_raw()? } else { spec };
            println!("{}", spec.to_json()?);
            Ok(())
        }
        Some(Command::PurgeChain { yes }) => chain_ops::purge_chain(&cli.run, yes),
        Some(Command::ExportBlocks(args)) => chain_ops::export_blocks(&cli.run, &args),
        Some(Command::ImportBlocks(args)) => chain_ops::import_blocks(&cli.run, &args),
        Some(Command::ExportState(args)) => chain_ops::export_state(&cli.run, &args),
        Some(Command::ExportSnapshot(args)) => crate::snapshot::export(&cli.run, &args),
        Some(Command::ImportSnapshot(args)) => crate::snapshot::import(&cli.run, &args),
        Some(Command::ChainInfo) => chain_ops::chain_info(&cli.run),
        Some(Command::CheckBlock(args)) => chain_ops::check_block(&cli.run, &args),
        Some(Command::CheckState(args)) => chain_ops::check_state(&cli.run, &args),
        Some(Command::Revert { count }) => chain_ops::revert(&cli.run, count),
        Some(Command::Key(command)) => crate::key::run(&cli.run, command),
        Some(Command::Benchmark(BenchmarkCommand::Import(args))) => benchmark::import(&args),
        Some(Command::Benchmark(BenchmarkCommand::Pallet(args))) => crate::bench_pallet::run(&args),
        Some(Command::Benchmark(BenchmarkCommand::MakeChain(args))) => {
            chain_ops::make_chain(&cli.run, &args)
        }
        None => run_node(cli.run),
    }
}

/// How the node catches up (`--sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncArg {
    /// Download and execute every block.
    Full,
    /// Prove the latest finalized block, download its state, then follow.
    Warp,
}

fn network_params(args: &RunArgs) -> anyhow::Result<Option<NetworkParams>> {
    if args.no_network {
        return Ok(None);
    }
    let parse = |text: &String, what: &str| -> anyhow::Result<arceon_network::Address> {
        text.parse()
            .map_err(|e| anyhow::anyhow!("invalid {what} '{text}': {e}"))
    };
    let listen_addresses = if args.listen_addr.is_empty() {
        vec![parse(&format!("/ip4/0.0.0.0/tcp/{}", args.port), "--port")?]
    } else {
        args.listen_addr
            .iter()
            .map(|a| parse(a, "--listen-addr"))
            .collect::<Result<_, _>>()?
    };
    let with_peer_id =
        |texts: &[String], flag: &str| -> anyhow::Result<Vec<arceon_network::Address>> {
            texts
                .iter()
                .map(|text| {
                    let addr = parse(text, &format!("{flag} address"))?;
                    if arceon_network::peer_id_of(&addr).is_none() {
                        anyhow::bail!("{flag} address '{text}' must end with /p2p/<peer id>");
                    }
                    Ok(addr)
                })
                .collect()
        };
    let boot_nodes = with_peer_id(&args.bootnodes, "--bootnodes")?;
    let reserved_nodes = with_peer_id(&args.reserved_nodes, "--reserved-nodes")?;
    if args.reserved_only && reserved_nodes.is_empty() {
        anyhow::bail!("--reserved-only needs --reserved-nodes: the node would talk to no one");
    }
    let public_addresses = args
        .public_addr
        .iter()
        .map(|a| parse(a, "--public-addr"))
        .collect::<Result<_, _>>()?;
    let node_key = match (&args.node_key, &args.node_key_file) {
        (Some(hex), _) => Some(
            arceon_network::parse_node_key(hex.as_bytes())
                .map_err(|e| anyhow::anyhow!("invalid --node-key: {e}"))?,
        ),
        (None, Some(path)) => Some(arceon_network::load_or_generate_node_key(path)?),
        (None, None) => None,
    };
    Ok(Some(NetworkParams {
        listen_addresses,
        boot_nodes,
        node_key,
        in_peers: args.in_peers,
        out_peers: args.out_peers,
        sync: match args.sync {
            SyncArg::Full => SyncMode::Full,
            SyncArg::Warp => SyncMode::Warp,
        },
        reserved_nodes,
        reserved_only: args.reserved_only,
        public_addresses,
    }))
}

fn run_node(args: RunArgs) -> anyhow::Result<()> {
    let chain_spec = args.chain_spec()?;
    let temporary = if args.tmp || (args.dev && args.base_path.is_none()) {
        Some(tempfile::Builder::new().prefix("arceon-node").tempdir()?)
    } else {
        None
    };
    let base_path = match &temporary {
        Some(dir) => dir.path().to_path_buf(),
        None => args.base_path_or_default(),
    };
    let dev_key = args.dev_key();
    let validator = args.validator || dev_key.is_some();
    let node_name = args
        .name
        .clone()
        .or(dev_key.map(String::from))
        .unwrap_or_else(|| "arceon".into());
    let host = if args.rpc_external {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    };
    // Substrate's habit: a dev node serves any web page, others only local ones.
    let cors = args.rpc_cors.clone().unwrap_or(if args.dev {
        AllowedOrigins::Any
    } else {
        AllowedOrigins::local()
    });
    let config = Configuration {
        chain_spec,
        base_path,
        pruning: args.state_pruning,
        db_cache_bytes: args.db_cache.saturating_mul(1024 * 1024),
        blocks_pruning: args.blocks_pruning,
        node_name,
        validator,
        dev_key_seed: dev_key.map(|name| format!("//{name}")),
        rpc_addr: (!args.no_rpc).then_some(SocketAddr::new(host, args.rpc_port)),
        rpc: RpcConfig {
            methods: args.rpc_methods,
            cors,
            max_connections: args.rpc_max_connections,
            max_request_bytes: args.rpc_max_request_size.saturating_mul(1024 * 1024),
            max_response_bytes: args.rpc_max_response_size.saturating_mul(1024 * 1024),
            max_subscriptions_per_connection: args.rpc_max_subscriptions_per_connection,
            max_batch_len: args.rpc_max_batch_request_len,
            rate_limit_per_minute: std::num::NonZeroU32::new(args.rpc_rate_limit),
        },
        prometheus_addr: (!args.no_prometheus).then_some(SocketAddr::new(
            IpAddr::V4(if args.prometheus_external {
                Ipv4Addr::UNSPECIFIED
            } else {
                Ipv4Addr::LOCALHOST
            }),
            args.prometheus_port,
        )),
        network: network_params(&args)?,
        justification_period: args.justification_period,
        unsafe_double_sign: args.unsafe_double_sign,
        lane_view_timeout_ms: args.lane_view_timeout,
        lane_byzantine: arceon_service::LaneByzantine {
            equivocate: args.unsafe_lane_equivocate,
            sign_anything: args.unsafe_lane_sign_anything,
        },
        pool: arceon_service::pool_options(args.pool_limit, args.pool_kbytes),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("arceon-worker")
        .build()?;
    runtime.block_on(async move {
        log::info!("Arceon node {}", env!("CARGO_PKG_VERSION"));
        log::info!(
            "node name: {}, role: {}",
            config.node_name,
            if config.validator {
                "authority"
            } else {
                "full"
            }
        );
        let service = Service::start(config).await?;
        wait_for_shutdown().await;
        log::info!("shutting down");
        service.stop().await;
        drop(temporary);
        anyhow::Ok(())
    })
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
