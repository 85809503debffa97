//! The `arceon-explorer` command: index a node and serve the explorer (the default), time
//! an index of a whole chain (`bench`), or print an index's row counts and checksum
//! (`fingerprint`). Errors go to stderr as `error: <message>` with exit status 1.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use arceon_explorer::api::{router, AppState};
use arceon_explorer::db_world::fingerprint;
use arceon_explorer::{Counts, Db, ExplorerError, Indexer, Status, DEFAULT_DATABASE};
use clap::{Parser, Subcommand};

/// Block explorer and indexer for Arceon.
#[derive(Debug, Parser)]
#[command(name = "arceon-explorer", version)]
struct Cli {
    /// The node's WebSocket JSON-RPC.
    #[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
    node: String,
    /// Where the index lives: sqlite://FILE or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.
    #[arg(long, global = true, default_value = DEFAULT_DATABASE)]
    database: String,
    /// Port of the web pages and JSON API.
    #[arg(long, default_value_t = 8080)]
    http_port: u16,
    /// Address the web server listens on.
    #[arg(long, default_value = "127.0.0.1")]
    http_host: std::net::IpAddr,
    /// Do not draw the backfill progress bar on stderr.
    #[arg(long, global = true)]
    no_progress: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index the node's finalized chain into the (empty) database, then print
    /// `RESULT indexed_blocks_per_s=<n> indexed_extrinsics_per_s=<n> database=<engine>`.
    Bench,
    /// Print the index's row counts per table and a checksum of its content.
    Fingerprint,
}

async fn serve(cli: &Cli, db: Db) -> Result<(), ExplorerError> {
    let status = Arc::new(RwLock::new(Status::default()));
    let indexer = Indexer::new(db.clone(), &cli.node, status.clone(), !cli.no_progress);
    let addr = SocketAddr::new(cli.http_host, cli.http_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ExplorerError::Http(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().unwrap_or(addr);
    eprintln!(
        "explorer: http://{local}/ indexing {} into {}",
        cli.node,
        db.engine().name()
    );
    let app = router(AppState { db, status });
    let server = async move {
        axum::serve(listener, app)
            .await
            .map_err(|e| ExplorerError::Http(e.to_string()))
    };
    let index = async move {
        let mut counts = Counts::default();
        indexer.run(false, &mut counts).await
    };
    tokio::select! {
        result = server => result,
        result = index => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

async fn bench(cli: &Cli, db: Db) -> Result<(), ExplorerError> {
    let status = Arc::new(RwLock::new(Status::default()));
    let indexer = Indexer::new(db.clone(), &cli.node, status, !cli.no_progress);
    let mut counts = Counts::default();
    let start = Instant::now();
    indexer.run(true, &mut counts).await?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    println!(
        "RESULT indexed_blocks_per_s={:.1} indexed_extrinsics_per_s={:.1} database={} blocks={} extrinsics={} seconds={secs:.2}",
        counts.blocks as f64 / secs,
        counts.extrinsics as f64 / secs,
        db.engine().name(),
        counts.blocks,
        counts.extrinsics,
    );
    Ok(())
}

async fn run(cli: Cli) -> Result<(), ExplorerError> {
    let db = Db::open(&cli.database).await?;
    match cli.command {
        None => serve(&cli, db).await,
        Some(Command::Bench) => bench(&cli, db).await,
        Some(Command::Fingerprint) => {
            let (counts, checksum) = fingerprint(db.pool()).await?;
            for (table, n) in counts {
                println!("{table} {n}");
            }
            println!("checksum {checksum}");
            Ok(())
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(run(cli)) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
