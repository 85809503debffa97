//! The node's view of the chain: the database joined with the runtime. It imports blocks
//! (seal check, re-execution, one atomic database write), builds and seals new ones, and
//! answers state queries at any stored block.
//!
//! Invariants: a block enters the database only after its Aura seal verified against the
//! author its slot names in the parent state and its re-execution reproduced its state
//! root; imports are serialized, so the best block only moves forward along the longest
//! chain descending from the finalized block; a rejected block leaves the database as it
//! was.

pub mod keystore;

use std::path::Path;
use std::sync::Arc;

use arceon_chain_spec::GenesisBlock;
use arceon_db::{Database, DbError, ImportBlock};
use arceon_primitives::{
    ed25519, sr25519, Block, BlockNumber, Digest, DigestItem, Header, AURA_ENGINE_ID, H256,
};
use arceon_runtime::{aura, execute_block, BlockBuilder, BlockError, BuiltBlock};
use arceon_state::TrieState;
use arceon_support::{Ext, StorageChanges};
use codec::Encode;
use parking_lot::Mutex;
use sp_core::Pair as _;

pub use arceon_db::{DbNodeStore, Pruning};

/// The state of a stored block.
pub type State = TrieState<DbNodeStore>;

/// Why a block was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// The runtime rejected the block.
    #[error("execution: {0}")]
    Execution(#[from] BlockError),
    /// The parent is not stored.
    #[error("unknown parent {0:?}")]
    UnknownParent(H256),
    /// The seal is missing, malformed, or not by the slot's author.
    #[error("bad seal: {0}")]
    BadSeal(&'static str),
}

/// Why a runtime API call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The block's state is not available.
    #[error("state: {0}")]
    Db(#[from] DbError),
    /// The runtime refused the call.
    #[error("{0}")]
    Api(#[from] arceon_runtime::api::ApiError),
}

/// A block that was imported.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Its hash.
    pub hash: H256,
    /// Its number.
    pub number: BlockNumber,
    /// Its events, as encoded `EventRecord`s (empty if it was already stored).
    pub events: Vec<Vec<u8>>,
    /// Whether it became the best block.
    pub is_new_best: bool,
    /// Whether it was already stored.
    pub already_known: bool,
    /// Time spent computing its state root during execution.
    pub state_root_time: std::time::Duration,
    /// Time spent verifying its extrinsics' signatures.
    pub signature_time: std::time::Duration,
    /// Time spent executing it (signatures and state root included).
    pub execution_time: std::time::Duration,
    /// Time spent writing it to the database.
    pub store_time: std::time::Duration,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Finalize the block in the same write.
    pub finalize: bool,
}

/// What happened to the chain, for subscribers (RPC, pool, authoring).
#[derive(Debug, Clone)]
pub enum ChainEvent {
    /// A block was stored.
    Imported {
        /// Its header.
        header: Header,
        /// Its hash.
        hash: H256,
        /// Whether it is now the best block.
        is_new_best: bool,
    },
    /// A block (and its ancestors) became final.
    Finalized {
        /// Its header.
        header: Header,
        /// Its hash.
        hash: H256,
    },
}

/// How many chain events a slow subscriber may lag behind before it misses some.
const EVENT_BUFFER: usize = 1024;

/// How many recently imported blocks keep their storage changes in memory.
const RECENT_CHANGES: usize = 32;

/// A recently imported block's storage changes (see [`Client::changes_of`]).
struct RecentChanges {
    hash: H256,
    parent: H256,
    changes: Arc<StorageChanges>,
}

/// The chain: database plus runtime.
pub struct Client {
    db: Database,
    genesis_hash: H256,
    import_lock: Mutex<()>,
    events: tokio::sync::broadcast::Sender<ChainEvent>,
    /// The storage changes of the last [`RECENT_CHANGES`] imported blocks, oldest first.
    recent: Mutex<std::collections::VecDeque<RecentChanges>>,
}

impl Client {
    /// Opens the chain in `db`, storing `genesis` if the database is new. A database of
    /// another chain is refused.
    pub fn new(db: Database, genesis: &GenesisBlock) -> Result<Arc<Client>, DbError> {
        db.initialize_genesis(&genesis.header, &genesis.state)?;
        Ok(Arc::new(Client {
            db,
            genesis_hash: genesis.hash,
            import_lock: Mutex::new(()),
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
            recent: Mutex::new(std::collections::VecDeque::new()),
        }))
    }

    /// Opens the RocksDB database at `path` and the chain in it.
    pub fn open(
        path: &Path,
        pruning: Pruning,
        genesis: &GenesisBlock,
    ) -> Result<Arc<Client>, DbError> {
        Self::new(Database::open(path, pruning)?, genesis)
    }

    /// Like [`Client::open`], with the database's caches sized by `config`.
    pub fn open_with_config(
        path: &Path,
        config: arceon_db::DbConfig,
        genesis: &GenesisBlock,
    ) -> Result<Arc<Client>, DbError> {
        Self::new(Database::open_with_config(path, config)?, genesis)
    }

    /// The parent and the storage changes of `hash`, if this process imported it
    /// recently: every key the block wrote with its new value, so a reader holding values
    /// of the parent's state can bring them to this block's without reading the trie.
    pub fn changes_of(&self, hash: &H256) -> Option<(H256, Arc<StorageChanges>)> {
        self.recent
            .lock()
            .iter()
            .rev()
            .find(|recent| recent.hash == *hash)
            .map(|recent| (recent.parent, recent.changes.clone()))
    }

    fn remember_changes(&self, header: &Header, changes: Arc<StorageChanges>) {
        let mut recent = self.recent.lock();
        if recent.len() >= RECENT_CHANGES {
            recent.pop_front();
        }
        recent.push_back(RecentChanges {
            hash: header.hash(),
            parent: header.parent_hash,
            changes,
        });
    }

    /// Chain events from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    fn notify(&self, header: &Header, is_new_best: bool, finalized: bool) {
        let hash = header.hash();
        // Nobody listening is fine: send only fails without receivers.
        let _ = self.events.send(ChainEvent::Imported {
            header: header.clone(),
            hash,
            is_new_best,
        });
        if finalized {
            let _ = self.events.send(ChainEvent::Finalized {
                header: header.clone(),
                hash,
            });
        }
    }

    /// The database, for the stores built on it (the finality gadget's persisted state).
    /// Everything else goes through the narrow methods below.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The stored justification of `hash`, if any.
    pub fn justification(&self, hash: &H256) -> Result<Option<Vec<u8>>, DbError> {
        self.db.justification(hash)
    }

    /// Stores a justification of `hash` (replacing any).
    pub fn set_justification(&self, hash: &H256, justification: &[u8]) -> Result<(), DbError> {
        self.db.set_justification(hash, justification)
    }

    /// The extrinsics of `hash`, if its body is stored (not pruned).
    pub fn body(&self, hash: &H256) -> Result<Option<Vec<Vec<u8>>>, DbError> {
        self.db.body(hash)
    }

    /// The chain's leaves as `(number, hash)`.
    pub fn leaves(&self) -> Result<Vec<(BlockNumber, H256)>, DbError> {
        self.db.leaves()
    }

    /// A value the node keeps beside the chain (aux column).
    pub fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        self.db.aux_get(key)
    }

    /// At most `limit` aux entries whose keys start with `prefix` (prefix stripped).
    pub fn aux_scan(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<arceon_db::AuxEntry>, DbError> {
        self.db.aux_scan(prefix, limit)
    }

    /// Writes and deletes (`None`) aux values in one synced write.
    pub fn aux_put(&self, changes: &[(&[u8], Option<&[u8]>)]) -> Result<(), DbError> {
        self.db.aux_put(changes)
    }

    /// Writes what the database buffers to disk (before a clean stop).
    pub fn flush(&self) -> Result<(), DbError> {
        self.db.flush()
    }

    /// The genesis hash.
    pub fn genesis_hash(&self) -> H256 {
        self.genesis_hash
    }

    /// The best block.
    pub fn best(&self) -> (BlockNumber, H256) {
        self.db.best()
    }

    /// The finalized block.
    pub fn finalized(&self) -> (BlockNumber, H256) {
        self.db.finalized()
    }

    /// A stored header.
    pub fn header(&self, hash: &H256) -> Result<Option<Header>, DbError> {
        self.db.header(hash)
    }

    /// A stored block with its body (`None` if unknown or its body was pruned).
    pub fn block(&self, hash: &H256) -> Result<Option<Block>, DbError> {
        let Some(header) = self.db.header(hash)? else {
            return Ok(None);
        };
        // A pruned body (`--blocks-pruning`) makes the block unavailable: a header with an
        // empty body would contradict its extrinsics root.
        let Some(extrinsics) = self.db.body(hash)? else {
            return Ok(None);
        };
        Ok(Some(Block { header, extrinsics }))
    }

    /// The hash of the canonical block at `number`.
    pub fn hash(&self, number: BlockNumber) -> Result<Option<H256>, DbError> {
        self.db.hash(number)
    }

    /// The state after block `at`.
    pub fn state_at(&self, at: &H256) -> Result<State, DbError> {
        self.db.state_at(at)
    }

    /// One storage value at block `at`.
    pub fn storage(&self, at: &H256, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.state_at(at)?.get(key)?)
    }

    /// The Aura authorities in the state of `at`.
    pub fn authorities(&self, at: &H256) -> Result<Vec<sr25519::Public>, DbError> {
        let state = self.state_at(at)?;
        let mut ext = Ext::new(&state);
        Ok(aura::authorities(&mut ext))
    }

    /// The GRANDPA voters (ed25519 session keys) in force from the latest set change
    /// signalled at or before `at`: the genesis set at block 0.
    pub fn grandpa_authorities(&self, at: &H256) -> Result<Vec<ed25519::Public>, DbError> {
        let state = self.state_at(at)?;
        let mut ext = Ext::new(&state);
        Ok(arceon_runtime::grandpa::authorities(&mut ext))
    }

    /// Milliseconds per slot in the state of `at`.
    pub fn slot_duration(&self, at: &H256) -> Result<u64, DbError> {
        let state = self.state_at(at)?;
        let mut ext = Ext::new(&state);
        Ok(aura::slot_duration(&mut ext))
    }

    /// Checks the block's Aura seal: signed by the author of its slot, as named by the
    /// parent state's authorities.
    fn verify_seal(&self, parent: &State, header: &Header) -> Result<(), ImportError> {
        let (unsealed, seal) = header.split_seal();
        let signature = match seal {
            Some(DigestItem::Seal(id, data)) if id == AURA_ENGINE_ID => data,
            Some(_) => return Err(ImportError::BadSeal("seal is not an Aura seal")),
            None => return Err(ImportError::BadSeal("block is not sealed")),
        };
        let signature = <[u8; 64]>::try_from(&signature[..])
            .map(sr25519::Signature::from_raw)
            .map_err(|_| ImportError::BadSeal("seal is not a 64-byte sr25519 signature"))?;
        let slot = unsealed
            .digest
            .aura_slot()
            .ok_or(ImportError::BadSeal("no slot in the digest"))?;
        let mut ext = Ext::new(parent);
        let authorities = aura::authorities(&mut ext);
        let author =
            aura::slot_author(&authorities, slot).ok_or(ImportError::BadSeal("no authorities"))?;
        if !sr25519::Pair::verify(&signature, unsealed.hash().as_bytes(), &author) {
            return Err(ImportError::BadSeal("not signed by the slot's author"));
        }
        Ok(())
    }

    /// Verifies, executes and stores `block`. It becomes best if it is higher than the
    /// current best block.
    pub fn import_block(
        &self,
        block: &Block,
        options: ImportOptions,
    ) -> Result<Imported, ImportError> {
        let _guard = self.import_lock.lock();
        let hash = block.header.hash();
        let number = block.header.number;
        if self.db.header(&hash)?.is_some() {
            if options.finalize {
                self.db.finalize(&hash)?;
            }
            return Ok(Imported {
                hash,
                number,
                events: Vec::new(),
                is_new_best: false,
                already_known: true,
                state_root_time: Default::default(),
                signature_time: Default::default(),
                execution_time: Default::default(),
                store_time: Default::default(),
            });
        }
        let (executed, execution_time) = self.verify_and_execute(block)?;
        let started = std::time::Instant::now();
        // Remembered before the block can become best, so a reader that sees it best
        // finds its changes.
        self.remember_changes(&block.header, executed.changes);
        self.store(block, executed.delta, options)?;
        let store_time = started.elapsed();
        let is_new_best = self.db.best().1 == hash;
        self.notify(&block.header, is_new_best, options.finalize);
        Ok(Imported {
            hash,
            number,
            events: executed.events,
            is_new_best,
            already_known: false,
            state_root_time: executed.state_root_time,
            signature_time: executed.signature_time,
            execution_time,
            store_time,
        })
    }

    /// Reverts the top `count` unfinalized blocks of the best chain (refused if that would
    /// cross finality); returns the new best block.
    pub fn revert(&self, count: BlockNumber) -> Result<(BlockNumber, H256), DbError> {
        let _guard = self.import_lock.lock();
        self.db.revert(count)
    }

    /// Checks `block` as import would (seal, execution on its parent's state, roots)
    /// without storing anything; returns the block's events and the execution time.
    pub fn check_block(
        &self,
        block: &Block,
    ) -> Result<(Vec<Vec<u8>>, std::time::Duration), ImportError> {
        let (executed, took) = self.verify_and_execute(block)?;
        Ok((executed.events, took))
    }

    /// The checks every import makes: a known parent, the author's seal, and execution on
    /// the parent's state to the header's roots.
    fn verify_and_execute(
        &self,
        block: &Block,
    ) -> Result<(arceon_runtime::ExecutedBlock, std::time::Duration), ImportError> {
        let parent_hash = block.header.parent_hash;
        if self.db.header(&parent_hash)?.is_none() {
            return Err(ImportError::UnknownParent(parent_hash));
        }
        let parent = self.db.state_at(&parent_hash)?;
        self.verify_seal(&parent, &block.header)?;
        let started = std::time::Instant::now();
        let executed = execute_block(&parent, block, self.genesis_hash)?;
        Ok((executed, started.elapsed()))
    }

    fn store(
        &self,
        block: &Block,
        state: arceon_state::StateDelta,
        options: ImportOptions,
    ) -> Result<(), DbError> {
        let set_best = block.header.number > self.db.best().0;
        self.db.import_block(ImportBlock {
            header: block.header.clone(),
            body: block.extrinsics.clone(),
            justification: None,
            state,
            set_best,
            finalize: options.finalize,
        })
    }

    /// Builds a block on `parent` claiming `slot`; `fill` applies extrinsics to it.
    pub fn build_block<F>(
        &self,
        parent: &H256,
        slot: u64,
        fill: F,
    ) -> Result<BuiltBlock, ImportError>
    where
        F: FnOnce(&mut BlockBuilder<'_, DbNodeStore>),
    {
        self.build_block_with(parent, slot, Vec::new(), fill)
    }

    /// Like [`Client::build_block`], with extra pre-runtime digest items after the slot.
    pub fn build_block_with<F>(
        &self,
        parent: &H256,
        slot: u64,
        extra_digest: Vec<DigestItem>,
        fill: F,
    ) -> Result<BuiltBlock, ImportError>
    where
        F: FnOnce(&mut BlockBuilder<'_, DbNodeStore>),
    {
        let parent_header = self
            .db
            .header(parent)?
            .ok_or(ImportError::UnknownParent(*parent))?;
        let state = self.db.state_at(parent)?;
        let mut logs = vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())];
        logs.extend(extra_digest);
        let digest = Digest { logs };
        let mut builder = BlockBuilder::new(
            &state,
            *parent,
            parent_header.number + 1,
            digest,
            self.genesis_hash,
        )?;
        fill(&mut builder);
        Ok(builder.finalize()?)
    }

    /// Seals a built block with `key` and stores it without re-executing it.
    pub fn import_own(
        &self,
        built: BuiltBlock,
        key: &sr25519::Pair,
        options: ImportOptions,
    ) -> Result<(Block, Imported), ImportError> {
        let _guard = self.import_lock.lock();
        let block = seal(built.header, built.extrinsics, key);
        if self.db.header(&block.header.parent_hash)?.is_none() {
            return Err(ImportError::UnknownParent(block.header.parent_hash));
        }
        self.remember_changes(&block.header, built.changes);
        self.store(&block, built.delta, options)?;
        let hash = block.header.hash();
        let is_new_best = self.db.best().1 == hash;
        self.notify(&block.header, is_new_best, options.finalize);
        let imported = Imported {
            hash,
            number: block.header.number,
            events: built.events,
            is_new_best,
            already_known: false,
            state_root_time: built.state_root_time,
            signature_time: Default::default(),
            execution_time: Default::default(),
            store_time: Default::default(),
        };
        Ok((block, imported))
    }

    /// Stores a warp-synced finalized block with its complete state as the chain's base
    /// (see [`Database::import_warp_base`]).
    pub fn import_warp_base(
        &self,
        header: &Header,
        body: &[Vec<u8>],
        justification: &[u8],
        state: &arceon_state::StateDelta,
        aux: &[(&[u8], &[u8])],
    ) -> Result<H256, DbError> {
        let _guard = self.import_lock.lock();
        let hash = self
            .db
            .import_warp_base(header, body, justification, state, aux)?;
        self.notify(header, true, true);
        Ok(hash)
    }

    /// Finalizes `hash` and its ancestors.
    pub fn finalize(&self, hash: &H256) -> Result<(), DbError> {
        let _guard = self.import_lock.lock();
        let before = self.db.finalized();
        self.db.finalize(hash)?;
        if self.db.finalized() != before {
            if let Some(header) = self.db.header(hash)? {
                let _ = self.events.send(ChainEvent::Finalized {
                    header,
                    hash: *hash,
                });
            }
        }
        Ok(())
    }

    /// Calls a runtime API (`state_call`) on the state of `at`.
    pub fn call(&self, at: &H256, method: &str, input: &[u8]) -> Result<Vec<u8>, CallError> {
        let state = self.state_at(at)?;
        Ok(arceon_runtime::api::call(
            &state,
            self.genesis_hash,
            method,
            input,
        )?)
    }

    /// Batch-verifies the signatures of transactions about to be validated at `at`, over
    /// every core, into the verified-signature cache (nothing if the state is gone).
    pub fn preverify_signatures(&self, at: &H256, extrinsics: &[&[u8]]) {
        if let Ok(state) = self.state_at(at) {
            arceon_runtime::executive::preverify_signatures(
                &state,
                *at,
                extrinsics,
                self.genesis_hash,
            );
        }
    }

    /// Validates a transaction for the pool on the state of `at`.
    pub fn validate_transaction(
        &self,
        at: &H256,
        source: arceon_primitives::TransactionSource,
        extrinsic: &[u8],
    ) -> arceon_primitives::TransactionValidity {
        match self.state_at(at) {
            Ok(state) => arceon_runtime::validate_transaction(
                &state,
                *at,
                source,
                extrinsic,
                self.genesis_hash,
            ),
            // The state is gone or unreadable: the pool cannot decide, it must not ban.
            Err(_) => Err(arceon_primitives::UnknownTransaction::Custom(0).into()),
        }
    }
}

/// Appends an Aura seal by `key` over the unsealed header's hash.
pub fn seal(mut header: Header, extrinsics: Vec<Vec<u8>>, key: &sr25519::Pair) -> Block {
    let signature = key.sign(header.hash().as_bytes());
    header
        .digest
        .logs
        .push(DigestItem::Seal(AURA_ENGINE_ID, signature.0.to_vec()));
    Block { header, extrinsics }
}
