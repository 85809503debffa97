//! `arceon-explorer`: the block explorer and indexer of an Arceon chain. It follows a
//! node over WebSocket (finalized heads), backfills from genesis, and indexes blocks,
//! extrinsics (call decoded through the node's metadata, signer, outcome, fee, tip),
//! events, transfers, balances, and the world (areas and committees, players, NPCs,
//! structures, validators) into SQLite (default) or PostgreSQL; the same process serves
//! the web pages and their JSON API.
//!
//! Invariants: each block and everything derived from it is written in one database
//! transaction, so the index always ends at a complete block and a restart continues at
//! the next one; nothing received from the node, the database or an HTTP client can
//! panic the process (undecodable data is stored as hex and marked undecoded).

pub mod api;
pub mod db;
pub mod db_world;
pub mod decode;
pub mod error;
pub mod indexer;
pub mod node;
pub mod query;
pub mod world;

pub use db::{Db, Engine, DEFAULT_DATABASE};
pub use error::{ExplorerError, Result};
pub use indexer::{Counts, Indexer, SharedStatus, Status};
