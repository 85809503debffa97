//! The indexer: connects to the node (reconnecting with exponential backoff when it goes
//! away), checks that the database indexes the same chain, backfills every finalized
//! block from the highest indexed one (fetching ahead while writing in order, one
//! transaction per block), then follows `chain_subscribeFinalizedHeads`. The world
//! snapshot is taken at each finalized head it reaches. [`Status`] is what the web pages
//! show: connected or not, heights, finality lag, the last error.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::db::Db;
use crate::error::{ExplorerError, Result};
use crate::node::NodeConn;
use crate::world;

/// Blocks fetched ahead of the one being written.
const PIPELINE: usize = 16;
/// First reconnection delay; doubled after each failure.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// Longest reconnection delay.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Longest wait for a finalized head before asking the node directly.
const HEAD_WAIT: Duration = Duration::from_secs(5);
/// While following the chain, the world is read again at a head whose events touch it
/// (players, structures, areas, lanes, staking), and otherwise at most this often (NPCs
/// act every block).
const WORLD_INTERVAL: Duration = Duration::from_secs(5);
/// Pallets whose events change what the map and the staking page show.
const WORLD_PALLETS: [&str; 5] = ["Players", "Structures", "Areas", "FastLane", "Staking"];

/// Whether `block` must be followed by a new world snapshot.
fn world_due(block: &crate::node::FetchedBlock, last: Option<Instant>) -> bool {
    last.is_none_or(|t| t.elapsed() >= WORLD_INTERVAL)
        || block
            .content
            .events
            .iter()
            .any(|e| WORLD_PALLETS.contains(&e.pallet.as_str()))
}

/// What the indexer knows about the node and its own progress.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The node's URL.
    pub node: String,
    /// Whether the indexer is connected to the node now.
    pub connected: bool,
    /// The node's best height, as last seen.
    pub best_height: Option<u32>,
    /// The node's finalized height, as last seen.
    pub finalized_height: Option<u32>,
    /// The highest indexed block.
    pub indexed_height: Option<u32>,
    /// The last connection or indexing error.
    pub last_error: Option<String>,
    /// Reconnection attempts since the connection was lost.
    pub reconnect_attempts: u32,
}

/// The status shared between the indexer and the web server.
pub type SharedStatus = Arc<RwLock<Status>>;

fn update(status: &SharedStatus, f: impl FnOnce(&mut Status)) {
    let mut guard = status.write().unwrap_or_else(|e| e.into_inner());
    f(&mut guard);
}

/// Counts what one run indexed (for `bench`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Blocks written.
    pub blocks: u64,
    /// Extrinsics written.
    pub extrinsics: u64,
}

/// A progress line on stderr: redrawn in a terminal, a line every few seconds otherwise.
struct Progress {
    enabled: bool,
    tty: bool,
    start: Instant,
    first: u32,
    target: u32,
    last_draw: Option<Instant>,
}

impl Progress {
    fn new(enabled: bool, first: u32, target: u32) -> Progress {
        Progress {
            enabled: enabled && target.saturating_sub(first) > 0,
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            first,
            target,
            last_draw: None,
        }
    }

    fn tick(&mut self, done: u32) {
        if !self.enabled {
            return;
        }
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        let finished = done >= self.target;
        if !finished && self.last_draw.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let total = f64::from(self.target - self.first + 1);
        let count = f64::from(done.saturating_sub(self.first) + 1);
        let fraction = (count / total).clamp(0.0, 1.0);
        let width = 30usize;
        let filled = (fraction * width as f64) as usize;
        let rate = count / self.start.elapsed().as_secs_f64().max(1e-3);
        let line = format!(
            "backfill [{}{}] #{done}/{} {:.0}% {rate:.0} blocks/s",
            "#".repeat(filled),
            ".".repeat(width - filled.min(width)),
            self.target,
            fraction * 100.0,
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r{line}{}", if finished { "\n" } else { "" })
        } else {
            writeln!(err, "{line}")
        };
    }
}

/// The indexer of one node into one database.
#[derive(Debug, Clone)]
pub struct Indexer {
    db: Db,
    url: String,
    status: SharedStatus,
    progress: bool,
}

enum SessionEnd {
    CaughtUp,
}

impl Indexer {
    /// An indexer of the node at `url` into `db`, reporting to `status`.
    pub fn new(db: Db, url: &str, status: SharedStatus, progress: bool) -> Indexer {
        update(&status, |s| s.node = url.to_string());
        Indexer {
            db,
            url: url.to_string(),
            status,
            progress,
        }
    }

    /// Indexes and follows the chain forever (or, with `until_caught_up`, until the
    /// index holds the node's finalized head). Returns only on a fatal error (another
    /// chain in the database, a failed migration) or when caught up.
    pub async fn run(&self, until_caught_up: bool, counts: &mut Counts) -> Result<()> {
        let mut backoff = MIN_BACKOFF;
        loop {
            let outcome = match NodeConn::connect(&self.url).await {
                Ok(node) => {
                    update(&self.status, |s| {
                        s.connected = true;
                        s.reconnect_attempts = 0;
                        s.last_error = None;
                    });
                    backoff = MIN_BACKOFF;
                    self.session(&node, until_caught_up, counts).await
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok(SessionEnd::CaughtUp) => return Ok(()),
                Err(
                    error @ (ExplorerError::WrongChain { .. }
                    | ExplorerError::Migration(_)
                    | ExplorerError::BadNodeUrl(_)),
                ) => return Err(error),
                Err(error) => {
                    eprintln!("explorer: {error}; reconnecting in {backoff:?}");
                    update(&self.status, |s| {
                        s.connected = false;
                        s.reconnect_attempts = s.reconnect_attempts.saturating_add(1);
                        s.last_error = Some(error.to_string());
                    });
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn session(
        &self,
        node: &NodeConn,
        until_caught_up: bool,
        counts: &mut Counts,
    ) -> Result<SessionEnd> {
        self.db.check_genesis(node.genesis()).await?;
        let mut heads = node.finalized_heads().await?;
        let mut last_world = None;
        loop {
            let finalized = node.finalized_number().await?;
            let best = node.best_number().await?;
            update(&self.status, |s| {
                s.finalized_height = Some(finalized);
                s.best_height = Some(best);
            });
            self.catch_up(node, finalized, counts, &mut last_world)
                .await?;
            if until_caught_up {
                return Ok(SessionEnd::CaughtUp);
            }
            match tokio::time::timeout(HEAD_WAIT, heads.next()).await {
                Ok(Some(Ok(_))) | Err(_) => {}
                Ok(Some(Err(e))) => return Err(ExplorerError::Node(e.to_string())),
                Ok(None) => {
                    return Err(ExplorerError::Node(
                        "the node closed the finalized-heads subscription".into(),
                    ))
                }
            }
        }
    }

    /// Indexes every block after the highest indexed one up to `target`.
    async fn catch_up(
        &self,
        node: &NodeConn,
        target: u32,
        counts: &mut Counts,
        last_world: &mut Option<Instant>,
    ) -> Result<()> {
        let first = match self.db.highest().await? {
            Some(h) => h.saturating_add(1),
            None => 0,
        };
        update(&self.status, |s| s.indexed_height = first.checked_sub(1));
        if first > target {
            return Ok(());
        }
        let mut progress = Progress::new(self.progress, first, target);
        let mut blocks = futures::stream::iter(first..=target)
            .map(|n| node.fetch_block(n))
            .buffered(PIPELINE);
        while let Some(block) = blocks.next().await {
            let block = block?;
            let snapshot = if block.number == target && world_due(&block, *last_world) {
                *last_world = Some(Instant::now());
                match world::snapshot(node, block.number, &block.hash).await {
                    Ok(world) => Some(world),
                    // The node answered but not with a world (e.g. no `arceon_*` methods):
                    // index the block anyway; the map keeps its last snapshot.
                    Err(error @ (ExplorerError::NodeAnswer(_) | ExplorerError::BadResponse(_))) => {
                        eprintln!("explorer: no world snapshot at #{}: {error}", block.number);
                        None
                    }
                    Err(error) => return Err(error),
                }
            } else {
                None
            };
            self.db.store_block(&block, snapshot.as_ref()).await?;
            counts.blocks += 1;
            counts.extrinsics += block.content.extrinsics.len() as u64;
            update(&self.status, |s| s.indexed_height = Some(block.number));
            progress.tick(block.number);
        }
        Ok(())
    }
}
