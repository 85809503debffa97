//! Arceon's block and state database on RocksDB: headers, bodies, justifications, the
//! canonical-chain lookups, chain metadata and the state trie of every block still inside
//! the pruning window.
//!
//! Invariants, all kept by writing each logical operation (genesis, block import, new best
//! block, finalization) as ONE RocksDB `WriteBatch` behind a single writer lock, so a
//! process killed at any instant reopens in a consistent state (RocksDB's WAL replays
//! whole batches only):
//! - every stored block's parent is stored, except genesis; blocks above the finalized one
//!   form a tree rooted at it (forks are discarded when a sibling branch is finalized);
//! - `best` descends from `finalized`; `hash(n)` follows the best chain;
//! - trie nodes are shared by all states and reference-counted in `trie_rc`: importing a
//!   block adds its positive `rc_delta`s at once (so every fork's state is readable), its
//!   negative ones are applied only when the block leaves the pruning window as a
//!   canonical block, and a discarded fork's positive ones are reverted; a node is deleted
//!   exactly when its count reaches zero. Hence the state of every unpruned block (canonical
//!   ones from `oldest_state` on, and every unfinalized one) is complete, and nothing else
//!   is kept;
//! - nothing read from disk is trusted: an undecodable value is a [`DbError::Corrupt`].

mod schema;
mod store;
mod txn;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arceon_primitives::{BlockNumber, Header, H256};
use arceon_state::{NodeCache, StateDelta, StateError, TrieState};
use codec::{Decode, Encode};
use parking_lot::{Mutex, RwLock};
use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options, DB};

pub use schema::SCHEMA_VERSION;
pub use store::DbNodeStore;

/// How much state history the database keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Pruning {
    /// Keep the state of every canonical block forever.
    Archive,
    /// Keep the states of the last `n` finalized blocks (plus the finalized one and every
    /// unfinalized block); older states are deleted on finalization.
    Window(u32),
}

impl Default for Pruning {
    fn default() -> Self {
        Pruning::Window(256)
    }
}

impl fmt::Display for Pruning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pruning::Archive => f.write_str("archive"),
            Pruning::Window(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for Pruning {
    type Err = DbError;

    /// `archive`, or the window length as a number (`--state-pruning`).
    fn from_str(text: &str) -> Result<Self, DbError> {
        match text.trim() {
            "archive" => Ok(Pruning::Archive),
            number => number
                .parse::<u32>()
                .map(Pruning::Window)
                .map_err(|_| DbError::InvalidPruning(text.to_string())),
        }
    }
}

/// How many block bodies and justifications the database keeps (`--blocks-pruning`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BlocksPruning {
    /// Keep every block.
    #[default]
    Archive,
    /// Keep every canonical block. The same as `Archive` here: blocks off the finalized
    /// chain are discarded at finalization whatever the mode.
    ArchiveCanonical,
    /// Keep the bodies of the last `n` finalized blocks (and every unfinalized one);
    /// older bodies are deleted on finalization, and so are older justifications except
    /// those warp proofs need: a block announcing a GRANDPA authority-set change, and the
    /// newest justified block.
    Window(u32),
}

impl fmt::Display for BlocksPruning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlocksPruning::Archive => f.write_str("archive"),
            BlocksPruning::ArchiveCanonical => f.write_str("archive-canonical"),
            BlocksPruning::Window(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for BlocksPruning {
    type Err = DbError;

    /// `archive`, `archive-canonical`, or the window length (`--blocks-pruning`).
    fn from_str(text: &str) -> Result<Self, DbError> {
        match text.trim() {
            "archive" => Ok(BlocksPruning::Archive),
            "archive-canonical" => Ok(BlocksPruning::ArchiveCanonical),
            number => number
                .parse::<u32>()
                .map(BlocksPruning::Window)
                .map_err(|_| DbError::InvalidPruning(text.to_string())),
        }
    }
}

/// Tuning knobs; [`Database::open`] uses the defaults.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// State pruning mode.
    pub pruning: Pruning,
    /// RocksDB block cache shared by all columns, in bytes.
    pub block_cache_bytes: usize,
    /// Decoded-node cache in front of the `trie` column, in bytes (0 disables it).
    pub node_cache_bytes: usize,
    /// How many block bodies and justifications to keep (may change between runs).
    pub blocks_pruning: BlocksPruning,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            pruning: Pruning::default(),
            block_cache_bytes: 64 << 20,
            node_cache_bytes: 64 << 20,
            blocks_pruning: BlocksPruning::Archive,
        }
    }
}

/// A block to import, with the state delta its execution produced.
#[derive(Debug, Clone)]
pub struct ImportBlock {
    /// The header; its `state_root` must equal `state.root`.
    pub header: Header,
    /// Encoded extrinsics, in order.
    pub body: Vec<Vec<u8>>,
    /// Finality justification, if the block comes with one.
    pub justification: Option<Vec<u8>>,
    /// The state transition from the parent's state, from `TrieState::apply_changes`.
    pub state: StateDelta,
    /// Make this block the best block.
    pub set_best: bool,
    /// Finalize this block (and its ancestors) in the same write.
    pub finalize: bool,
}

/// Size of the trie column, from a full scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrieStats {
    /// Number of stored trie nodes.
    pub nodes: u64,
    /// Their total size in bytes (keys not included).
    pub bytes: u64,
}

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// RocksDB failed: I/O error, corruption detected by RocksDB, or the database is locked
    /// by another process.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A value on disk does not decode: the database is corrupt.
    #[error("corrupt value in column {column} at key {key}: {reason}")]
    Corrupt {
        /// The column family.
        column: &'static str,
        /// The key, hex-encoded.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The database was written by an incompatible schema version.
    #[error("database schema version {found}, this node reads version {expected}")]
    SchemaVersion {
        /// Version on disk.
        found: u32,
        /// Version this build understands.
        expected: u32,
    },
    /// The database was created with another pruning mode than the one requested.
    #[error("database was created with state pruning '{stored}', cannot open it with '{requested}' (use '{stored}' or a new database)")]
    PruningMismatch {
        /// The mode on disk.
        stored: Pruning,
        /// The mode asked for.
        requested: Pruning,
    },
    /// A pruning mode given as text is neither `archive` nor a block count.
    #[error("invalid state pruning mode '{0}': expected 'archive' or a number of blocks")]
    InvalidPruning(String),
    /// The operation needs a genesis block and none was stored yet.
    #[error("the database has no genesis block")]
    NoGenesis,
    /// A different genesis block is already stored (another chain's database).
    #[error("database holds genesis {stored:?}, not {given:?}")]
    GenesisMismatch {
        /// Genesis on disk.
        stored: H256,
        /// Genesis given.
        given: H256,
    },
    /// No such block: never imported, or discarded as a fork of a finalized block.
    #[error("unknown block {0:?}")]
    UnknownBlock(H256),
    /// A block's parent is not stored.
    #[error("block {block:?} has unknown parent {parent:?}")]
    UnknownParent {
        /// The block being imported.
        block: H256,
        /// Its missing parent.
        parent: H256,
    },
    /// A block's number is not its parent's plus one (or genesis is not block 0).
    #[error("block {block:?} has number {number}, expected {expected}")]
    InvalidNumber {
        /// The block.
        block: H256,
        /// The number in its header.
        number: BlockNumber,
        /// The number it should have.
        expected: BlockNumber,
    },
    /// A header's state root is not the root of the state delta given with it.
    #[error("block {block:?} claims state root {header:?} but its state delta has root {delta:?}")]
    StateRootMismatch {
        /// The block.
        block: H256,
        /// Root in the header.
        header: H256,
        /// Root of the delta.
        delta: H256,
    },
    /// A state delta cannot be stored: a new node without its bytes, or a genesis state
    /// that removes nodes.
    #[error("invalid state delta: {0}")]
    InvalidStateDelta(String),
    /// A block would fork the chain at or below the finalized block.
    #[error("block {block:?} (#{number}) conflicts with finalized block #{finalized}")]
    BelowFinalized {
        /// The block.
        block: H256,
        /// Its number.
        number: BlockNumber,
        /// The finalized height.
        finalized: BlockNumber,
    },
    /// A revert would remove finalized blocks.
    #[error("cannot revert {requested} blocks: only {unfinalized} blocks lie above finalized block #{finalized}, and finalized blocks are never reverted")]
    RevertPastFinality {
        /// Blocks asked to revert.
        requested: BlockNumber,
        /// Blocks above the finalized one on the best chain.
        unfinalized: BlockNumber,
        /// The finalized block's number.
        finalized: BlockNumber,
    },
    /// The block to make best or final does not descend from the finalized block.
    #[error("block {block:?} does not descend from finalized block {finalized:?}")]
    NotDescendantOfFinalized {
        /// The block.
        block: H256,
        /// The finalized block.
        finalized: H256,
    },
    /// The state of this block was pruned.
    #[error("state of block #{number} is pruned (states up to #{pruned_up_to} are gone)")]
    StatePruned {
        /// The block asked for.
        number: BlockNumber,
        /// The newest block whose state is pruned.
        pruned_up_to: BlockNumber,
    },
    /// The database directory could not be created.
    #[error("cannot create the database directory: {0}")]
    Io(#[from] std::io::Error),
    /// Reading or updating a trie failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Chain pointers, cached in memory and persisted in `meta` by every write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChainMeta {
    pub genesis: Option<H256>,
    pub best: (BlockNumber, H256),
    pub finalized: (BlockNumber, H256),
    /// States of canonical blocks below this number are pruned.
    pub oldest_state: BlockNumber,
    /// Bodies of canonical blocks below this number are pruned (`--blocks-pruning`).
    pub oldest_body: BlockNumber,
    /// Justifications of canonical blocks below this number were pruned, but those of
    /// authority-set changes.
    pub justifications_pruned_to: BlockNumber,
    /// The highest block stored with a justification.
    pub latest_justified: BlockNumber,
}

pub(crate) struct Inner {
    pub db: DB,
    pub path: PathBuf,
    pub pruning: Pruning,
    pub blocks_pruning: BlocksPruning,
    pub meta: RwLock<ChainMeta>,
    /// Serializes writers: a write batch is built from reads that must not go stale.
    pub write_lock: Mutex<()>,
    pub node_cache: Option<Arc<NodeCache>>,
}

impl Inner {
    pub fn cf(&self, name: &'static str) -> &rocksdb::ColumnFamily {
        match self.db.cf_handle(name) {
            Some(cf) => cf,
            // `open` creates every column of `COLUMNS` before an `Inner` exists.
            None => unreachable!("column family {name} opened with the database"),
        }
    }

    pub fn get(&self, column: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.db.get_cf(self.cf(column), key)?)
    }

    pub fn get_decoded<T: Decode>(
        &self,
        column: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, DbError> {
        match self.db.get_pinned_cf(self.cf(column), key)? {
            Some(bytes) => schema::decode(column, key, &bytes).map(Some),
            None => Ok(None),
        }
    }
}

/// An auxiliary key (without the `aux:` prefix) with its value.
pub type AuxEntry = (Vec<u8>, Vec<u8>);

/// The node's database. Cheap to clone; every method takes `&self` and is safe to call
/// from many threads (writes are serialized internally).
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.path)
            .field("pruning", &self.inner.pruning)
            .field("meta", &*self.inner.meta.read())
            .finish()
    }
}

fn column_options(name: &str, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_format_version(5);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut opts = Options::default();
    opts.set_compression_type(DBCompressionType::Lz4);
    opts.set_level_compaction_dynamic_level_bytes(true);
    match name {
        schema::TRIE | schema::TRIE_RC => {
            if name == schema::TRIE_RC {
                // Random hashes and 8-byte counts: nothing to compress.
                opts.set_compression_type(DBCompressionType::None);
            }
            // Point lookups by random hash: a bloom filter saves a disk read for most
            // misses (new nodes at import, nodes of other forks).
            table.set_bloom_filter(10.0, false);
            table.set_whole_key_filtering(true);
            opts.set_write_buffer_size(32 << 20);
        }
        schema::LOOKUP | schema::HEADERS | schema::JOURNAL => {
            table.set_bloom_filter(10.0, false);
            opts.set_write_buffer_size(8 << 20);
        }
        _ => opts.set_write_buffer_size(8 << 20),
    }
    if name == schema::TRIE_RC {
        opts.set_merge_operator_associative("arceon_rc_add", schema::merge_rc);
    }
    opts.set_block_based_table_factory(&table);
    opts
}

impl Database {
    /// Opens (or creates) the database at `path` with default tuning.
    pub fn open(path: &Path, pruning: Pruning) -> Result<Self, DbError> {
        Self::open_with_config(
            path,
            DbConfig {
                pruning,
                ..DbConfig::default()
            },
        )
    }

    /// Opens (or creates) the database at `path`. The pruning mode is recorded at creation;
    /// reopening with another one is [`DbError::PruningMismatch`].
    pub fn open_with_config(path: &Path, config: DbConfig) -> Result<Self, DbError> {
        std::fs::create_dir_all(path)?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.increase_parallelism(2);
        opts.set_max_background_jobs(2);
        // Bound the WAL: columns holding old log data are flushed when it grows past this.
        opts.set_max_total_wal_size(128 << 20);
        opts.set_keep_log_file_num(4);
        opts.set_max_log_file_size(8 << 20);
        // One memtable budget for all columns, so memory stays bounded however the writes
        // spread over them.
        opts.set_db_write_buffer_size(96 << 20);
        let cache = Cache::new_lru_cache(config.block_cache_bytes);
        let columns = schema::COLUMNS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, column_options(name, &cache)));
        let db = DB::open_cf_descriptors(&opts, path, columns)?;

        let node_cache = (config.node_cache_bytes > 0)
            .then(|| Arc::new(NodeCache::new(config.node_cache_bytes)));
        let inner = Inner {
            db,
            path: path.to_path_buf(),
            pruning: config.pruning,
            blocks_pruning: config.blocks_pruning,
            meta: RwLock::new(ChainMeta::default()),
            write_lock: Mutex::new(()),
            node_cache,
        };
        let meta = Self::load_meta(&inner, config.pruning)?;
        *inner.meta.write() = meta;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    fn load_meta(inner: &Inner, pruning: Pruning) -> Result<ChainMeta, DbError> {
        use schema::meta as key;
        let schema_version: Option<u32> = inner.get_decoded(schema::META, key::SCHEMA)?;
        let stored_pruning: Option<Pruning> = inner.get_decoded(schema::META, key::PRUNING)?;
        match (schema_version, stored_pruning) {
            (None, None) => {
                // A new database: record what it is.
                let mut batch = rocksdb::WriteBatch::default();
                batch.put_cf(inner.cf(schema::META), key::SCHEMA, SCHEMA_VERSION.encode());
                batch.put_cf(inner.cf(schema::META), key::PRUNING, pruning.encode());
                inner.db.write(batch)?;
            }
            (Some(found), _) if found != SCHEMA_VERSION => {
                return Err(DbError::SchemaVersion {
                    found,
                    expected: SCHEMA_VERSION,
                })
            }
            (Some(_), Some(stored)) if stored != pruning => {
                return Err(DbError::PruningMismatch {
                    stored,
                    requested: pruning,
                })
            }
            (Some(_), Some(_)) => {}
            (None, Some(_)) | (Some(_), None) => {
                return Err(DbError::Corrupt {
                    column: schema::META,
                    key: hex::encode(key::SCHEMA),
                    reason: "schema version and pruning mode must be stored together".into(),
                })
            }
        }
        let genesis: Option<H256> = inner.get_decoded(schema::META, key::GENESIS)?;
        let Some(genesis) = genesis else {
            return Ok(ChainMeta::default());
        };
        let missing = |what: &[u8]| DbError::Corrupt {
            column: schema::META,
            key: hex::encode(what),
            reason: "missing while a genesis is stored".into(),
        };
        Ok(ChainMeta {
            genesis: Some(genesis),
            best: inner
                .get_decoded(schema::META, key::BEST)?
                .ok_or_else(|| missing(key::BEST))?,
            finalized: inner
                .get_decoded(schema::META, key::FINALIZED)?
                .ok_or_else(|| missing(key::FINALIZED))?,
            oldest_state: inner
                .get_decoded(schema::META, key::OLDEST_STATE)?
                .ok_or_else(|| missing(key::OLDEST_STATE))?,
            // Absent in databases that never pruned blocks.
            oldest_body: inner
                .get_decoded(schema::META, key::OLDEST_BODY)?
                .unwrap_or(0),
            justifications_pruned_to: inner
                .get_decoded(schema::META, key::JUSTIFICATIONS_PRUNED_TO)?
                .unwrap_or(0),
            latest_justified: inner
                .get_decoded(schema::META, key::LATEST_JUSTIFIED)?
                .unwrap_or(0),
        })
    }

    /// Stores the genesis block and its state. Idempotent for the same genesis; a database
    /// already holding another genesis is [`DbError::GenesisMismatch`].
    pub fn initialize_genesis(&self, header: &Header, state: &StateDelta) -> Result<(), DbError> {
        let _guard = self.inner.write_lock.lock();
        let hash = header.hash();
        let meta = *self.inner.meta.read();
        if let Some(stored) = meta.genesis {
            return if stored == hash {
                Ok(())
            } else {
                Err(DbError::GenesisMismatch {
                    stored,
                    given: hash,
                })
            };
        }
        let mut txn = txn::Txn::new(&self.inner, meta);
        txn.genesis(header, hash, state)?;
        self.commit(txn)
    }

    /// Imports a block (see [`ImportBlock`]) in one atomic write, with its optional best
    /// and finalization updates. The parent must be stored with its state, the block must
    /// not fork below the finalized block, and its header's state root must be its delta's.
    /// Importing a block already stored writes nothing but its justification (if given)
    /// and still applies `set_best` / `finalize`.
    pub fn import_block(&self, block: ImportBlock) -> Result<(), DbError> {
        let _guard = self.inner.write_lock.lock();
        let mut txn = self.begin()?;
        let hash = txn.import(&block)?;
        if block.set_best {
            txn.set_best(hash)?;
        }
        if block.finalize {
            txn.finalize(hash)?;
        }
        self.commit(txn)
    }

    /// Makes `hash` the best block (it must descend from the finalized block); the
    /// number-to-hash lookups follow the new best chain.
    pub fn set_best(&self, hash: &H256) -> Result<(), DbError> {
        let _guard = self.inner.write_lock.lock();
        let mut txn = self.begin()?;
        txn.set_best(*hash)?;
        self.commit(txn)
    }

    /// Finalizes `hash` and its ancestors in one atomic write: their lookups become
    /// canonical, every block not descending from `hash` is discarded with its state, and
    /// canonical states that fell out of the pruning window are deleted. If the best block
    /// was discarded, the highest remaining descendant of `hash` becomes best. Finalizing
    /// an already finalized block does nothing.
    pub fn finalize(&self, hash: &H256) -> Result<(), DbError> {
        let _guard = self.inner.write_lock.lock();
        let mut txn = self.begin()?;
        txn.finalize(*hash)?;
        self.commit(txn)
    }

    /// Reverts the top `count` blocks of the best chain (see `revert` in the transaction
    /// code): refused with [`DbError::RevertPastFinality`] if that would cross the
    /// finalized block. Returns the new best block.
    pub fn revert(&self, count: BlockNumber) -> Result<(BlockNumber, H256), DbError> {
        let _guard = self.inner.write_lock.lock();
        let mut txn = self.begin()?;
        let best = txn.revert(count)?;
        self.commit(txn)?;
        Ok(best)
    }

    /// Stores a block proven final by warp sync with its whole state (built from nothing,
    /// its root checked against the header) as the chain's new base: best, finalized and
    /// the oldest block with state. Blocks below it stay unknown. Refused unless the
    /// database holds only genesis. `aux` values (the authority set in force from the
    /// base) are written in the same atomic write.
    pub fn import_warp_base(
        &self,
        header: &Header,
        body: &[Vec<u8>],
        justification: &[u8],
        state: &StateDelta,
        aux: &[(&[u8], &[u8])],
    ) -> Result<H256, DbError> {
        let _guard = self.inner.write_lock.lock();
        let mut txn = self.begin()?;
        let hash = txn.warp_base(header, body, justification, state)?;
        for (key, value) in aux {
            txn.put_aux(key, value);
        }
        self.commit(txn)?;
        Ok(hash)
    }

    /// Stores (or replaces) the justification of a stored block.
    pub fn set_justification(&self, hash: &H256, justification: &[u8]) -> Result<(), DbError> {
        let _guard = self.inner.write_lock.lock();
        let mut txn = self.begin()?;
        txn.set_justification(*hash, justification)?;
        self.commit(txn)
    }

    fn begin(&self) -> Result<txn::Txn<'_>, DbError> {
        let meta = *self.inner.meta.read();
        if meta.genesis.is_none() {
            return Err(DbError::NoGenesis);
        }
        Ok(txn::Txn::new(&self.inner, meta))
    }

    fn commit(&self, txn: txn::Txn<'_>) -> Result<(), DbError> {
        let (meta, new_nodes) = txn.commit()?;
        *self.inner.meta.write() = meta;
        if let Some(cache) = &self.inner.node_cache {
            // The next block's execution reads what this one wrote: keep it hot.
            for (hash, data) in new_nodes {
                cache.insert(hash, data);
            }
        }
        Ok(())
    }

    /// Hash of the genesis block, once stored.
    pub fn genesis_hash(&self) -> Option<H256> {
        self.inner.meta.read().genesis
    }

    /// The best block as `(number, hash)`; `(0, zero hash)` before genesis.
    pub fn best(&self) -> (BlockNumber, H256) {
        self.inner.meta.read().best
    }

    /// The last finalized block as `(number, hash)`; `(0, zero hash)` before genesis.
    pub fn finalized(&self) -> (BlockNumber, H256) {
        self.inner.meta.read().finalized
    }

    /// The pruning mode.
    pub fn pruning(&self) -> Pruning {
        self.inner.pruning
    }

    /// The lowest block number whose canonical state is still stored.
    pub fn oldest_state(&self) -> BlockNumber {
        self.inner.meta.read().oldest_state
    }

    /// The oldest canonical block whose body is still stored (`--blocks-pruning`).
    pub fn oldest_body(&self) -> BlockNumber {
        self.inner.meta.read().oldest_body
    }

    /// The header of a stored block.
    pub fn header(&self, hash: &H256) -> Result<Option<Header>, DbError> {
        self.inner.get_decoded(schema::HEADERS, hash.as_bytes())
    }

    /// The encoded extrinsics of a stored block.
    pub fn body(&self, hash: &H256) -> Result<Option<Vec<Vec<u8>>>, DbError> {
        self.inner.get_decoded(schema::BODIES, hash.as_bytes())
    }

    /// The justification of a block, if one was stored.
    pub fn justification(&self, hash: &H256) -> Result<Option<Vec<u8>>, DbError> {
        self.inner.get(schema::JUSTIFICATIONS, hash.as_bytes())
    }

    /// The hash of the block at `number` on the best chain.
    pub fn hash(&self, number: BlockNumber) -> Result<Option<H256>, DbError> {
        self.inner
            .get_decoded(schema::LOOKUP, &schema::number_key(number))
    }

    /// The number of a stored block.
    pub fn number(&self, hash: &H256) -> Result<Option<BlockNumber>, DbError> {
        self.inner
            .get_decoded(schema::LOOKUP, &schema::hash_key(hash))
    }

    /// The unfinalized blocks without children (the heads of all branches above the
    /// finalized block), or the finalized block alone if there are none; sorted by number.
    pub fn leaves(&self) -> Result<Vec<(BlockNumber, H256)>, DbError> {
        let meta = *self.inner.meta.read();
        let blocks = txn::scan_unfinalized(&self.inner)?;
        let parents: std::collections::HashSet<H256> = blocks.iter().map(|b| b.2).collect();
        let mut leaves: Vec<(BlockNumber, H256)> = blocks
            .iter()
            .filter(|(_, hash, _)| !parents.contains(hash))
            .map(|(number, hash, _)| (*number, *hash))
            .collect();
        if leaves.is_empty() && meta.genesis.is_some() {
            leaves.push(meta.finalized);
        }
        Ok(leaves)
    }

    /// The state after block `hash`. [`DbError::StatePruned`] if it is a canonical block
    /// older than the pruning window, [`DbError::UnknownBlock`] if no such block is stored.
    pub fn state_at(&self, hash: &H256) -> Result<TrieState<DbNodeStore>, DbError> {
        let number = self.number(hash)?.ok_or(DbError::UnknownBlock(*hash))?;
        let oldest = self.oldest_state();
        if number < oldest {
            return Err(DbError::StatePruned {
                number,
                pruned_up_to: oldest - 1,
            });
        }
        let header = self.header(hash)?.ok_or_else(|| DbError::Corrupt {
            column: schema::HEADERS,
            key: hex::encode(hash),
            reason: "block has a number but no header".into(),
        })?;
        Ok(TrieState::new(self.node_store(), header.state_root))
    }

    /// A node store reading this database's trie (for states given by root).
    pub fn node_store(&self) -> DbNodeStore {
        DbNodeStore::new(self.inner.clone())
    }

    /// Whether the `trie` column holds this node (bypasses the node cache).
    pub fn contains_trie_node(&self, hash: &H256) -> Result<bool, DbError> {
        Ok(self
            .inner
            .db
            .get_pinned_cf(self.inner.cf(schema::TRIE), hash.as_bytes())?
            .is_some())
    }

    /// Every stored trie node with its reference count, from a full scan (diagnostics and
    /// tests; slow on a large state).
    pub fn trie_nodes(&self) -> Result<Vec<(H256, i64)>, DbError> {
        let mut nodes = Vec::new();
        let iter = self
            .inner
            .db
            .iterator_cf(self.inner.cf(schema::TRIE), rocksdb::IteratorMode::Start);
        for item in iter {
            let (key, _) = item?;
            if key.len() != 32 {
                return Err(DbError::Corrupt {
                    column: schema::TRIE,
                    key: hex::encode(&key),
                    reason: "trie node key is not a 32-byte hash".into(),
                });
            }
            let rc = match self.inner.get(schema::TRIE_RC, &key)? {
                Some(bytes) => schema::decode_rc(&key, &bytes)?,
                None => 0,
            };
            nodes.push((H256::from_slice(&key), rc));
        }
        Ok(nodes)
    }

    /// Number and total size of the stored trie nodes, from a full scan.
    pub fn trie_stats(&self) -> Result<TrieStats, DbError> {
        let mut stats = TrieStats::default();
        let iter = self
            .inner
            .db
            .iterator_cf(self.inner.cf(schema::TRIE), rocksdb::IteratorMode::Start);
        for item in iter {
            let (_, value) = item?;
            stats.nodes += 1;
            stats.bytes += value.len() as u64;
        }
        Ok(stats)
    }

    /// An auxiliary value (consensus bookkeeping: authority sets, persisted votes),
    /// kept in the `meta` column under an `aux:` prefix so it never meets chain keys.
    pub fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        self.inner.get(schema::META, &schema::aux_key(key))
    }

    /// Every auxiliary value whose key starts with `prefix`, in key order, with its key
    /// (without the `aux:` prefix); at most `limit` of them.
    pub fn aux_scan(&self, prefix: &[u8], limit: usize) -> Result<Vec<AuxEntry>, DbError> {
        let start = schema::aux_key(prefix);
        let strip = schema::aux_key(&[]).len();
        let iter = self.inner.db.iterator_cf(
            self.inner.cf(schema::META),
            rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward),
        );
        let mut found = Vec::new();
        for item in iter {
            let (key, value) = item?;
            if !key.starts_with(&start) || found.len() >= limit {
                break;
            }
            found.push((key[strip..].to_vec(), value.to_vec()));
        }
        Ok(found)
    }

    /// Writes (`Some`) or deletes (`None`) auxiliary values in one atomic, synced write:
    /// when this returns, the values survive a crash.
    ///
    /// It does not wait for the chain's writers (`write_lock`): it reads nothing, and
    /// the chain's write batches read no auxiliary value, so RocksDB's own ordering of
    /// atomic batches is all it needs. A fast lane persisting its batches every few
    /// milliseconds thus never waits for a block import to build its write.
    pub fn aux_put(&self, changes: &[(&[u8], Option<&[u8]>)]) -> Result<(), DbError> {
        let cf = self.inner.cf(schema::META);
        let mut batch = rocksdb::WriteBatch::default();
        for (key, value) in changes {
            let key = schema::aux_key(key);
            match value {
                Some(value) => batch.put_cf(cf, key, value),
                None => batch.delete_cf(cf, key),
            }
        }
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(true);
        self.inner.db.write_opt(batch, &options)?;
        Ok(())
    }

    /// Writes every memtable to disk (shutdown, size reports).
    pub fn flush(&self) -> Result<(), DbError> {
        for name in schema::COLUMNS {
            self.inner.db.flush_cf(self.inner.cf(name))?;
        }
        Ok(())
    }

    /// Bytes on disk: live SST files of every column plus the write-ahead log (data still
    /// only in memtables is counted through the WAL).
    pub fn size_on_disk(&self) -> u64 {
        let sst: u64 = schema::COLUMNS
            .iter()
            .filter_map(|name| {
                self.inner
                    .db
                    .property_int_value_cf(self.inner.cf(name), "rocksdb.live-sst-files-size")
                    .ok()
                    .flatten()
            })
            .sum();
        let wal: u64 = std::fs::read_dir(&self.inner.path)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|ext| ext == "log"))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        sst + wal
    }
}
