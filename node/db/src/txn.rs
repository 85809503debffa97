//! One logical write: reads the committed database, stages every change in a single
//! `WriteBatch`, and keeps small overlays of what it staged so later steps of the same
//! operation (import, then best, then finalize and prune) see it.
//!
//! Reference counts are not written as they are computed: all changes to a node within
//! the operation are summed first and written once at commit. That is what makes a node
//! pruned and re-inserted in the same batch survive, and lets the commit decide deletions
//! from the final count.

use std::collections::{BTreeMap, HashMap, HashSet};

use arceon_primitives::{BlockNumber, Header, H256};
use arceon_state::StateDelta;
use codec::Encode;
use rocksdb::{Direction, IteratorMode, WriteBatch};

use crate::schema::{self, meta as meta_key, Journal};
use crate::{BlocksPruning, ChainMeta, DbError, ImportBlock, Inner, Pruning};

/// Nodes written by a commit, for the node cache.
pub(crate) type StoredNodes = Vec<(H256, Vec<u8>)>;

/// A node's summed reference-count change in this operation.
#[derive(Default)]
struct RcChange {
    delta: i64,
    data: Option<Vec<u8>>,
}

/// A block imported by this operation (not yet readable from the database).
struct NewBlock {
    number: BlockNumber,
    parent: H256,
    journal: Journal,
}

pub(crate) struct Txn<'a> {
    inner: &'a Inner,
    batch: WriteBatch,
    meta: ChainMeta,
    rc: HashMap<H256, RcChange>,
    new_blocks: HashMap<H256, NewBlock>,
    /// Staged number -> hash lookups (`None`: deleted).
    canon: BTreeMap<BlockNumber, Option<H256>>,
    /// Blocks discarded by this operation.
    discarded: HashSet<H256>,
}

/// Every block above the finalized one, as `(number, hash, parent)`, by height.
pub(crate) fn scan_unfinalized(inner: &Inner) -> Result<Vec<(BlockNumber, H256, H256)>, DbError> {
    let mut blocks = Vec::new();
    let iter = inner.db.iterator_cf(
        inner.cf(schema::LOOKUP),
        IteratorMode::From(&schema::UNFINALIZED_PREFIX, Direction::Forward),
    );
    for item in iter {
        let (key, value) = item?;
        if !key.starts_with(&schema::UNFINALIZED_PREFIX) {
            break;
        }
        let (number, hash) =
            schema::parse_unfinalized_key(&key).ok_or_else(|| DbError::Corrupt {
                column: schema::LOOKUP,
                key: hex::encode(&key),
                reason: "malformed unfinalized-block key".into(),
            })?;
        let parent: H256 = schema::decode(schema::LOOKUP, &key, &value)?;
        blocks.push((number, hash, parent));
    }
    Ok(blocks)
}

impl<'a> Txn<'a> {
    pub fn new(inner: &'a Inner, meta: ChainMeta) -> Self {
        Self {
            inner,
            batch: WriteBatch::default(),
            meta,
            rc: HashMap::new(),
            new_blocks: HashMap::new(),
            canon: BTreeMap::new(),
            discarded: HashSet::new(),
        }
    }

    fn put(&mut self, column: &'static str, key: &[u8], value: &[u8]) {
        self.batch.put_cf(self.inner.cf(column), key, value);
    }

    /// Stages an auxiliary value (see `Database::aux_put`) in this transaction's write.
    pub fn put_aux(&mut self, key: &[u8], value: &[u8]) {
        self.put(schema::META, &schema::aux_key(key), value);
    }

    fn delete(&mut self, column: &'static str, key: &[u8]) {
        self.batch.delete_cf(self.inner.cf(column), key);
    }

    fn add_rc(&mut self, hash: H256, delta: i64, data: Option<&Vec<u8>>) {
        let entry = self.rc.entry(hash).or_default();
        entry.delta += delta;
        if entry.data.is_none() {
            entry.data = data.cloned();
        }
    }

    fn block_number(&self, hash: &H256) -> Result<Option<BlockNumber>, DbError> {
        if self.discarded.contains(hash) {
            return Ok(None);
        }
        if let Some(block) = self.new_blocks.get(hash) {
            return Ok(Some(block.number));
        }
        self.inner
            .get_decoded(schema::LOOKUP, &schema::hash_key(hash))
    }

    fn parent_of(&self, hash: &H256) -> Result<H256, DbError> {
        if let Some(block) = self.new_blocks.get(hash) {
            return Ok(block.parent);
        }
        let header: Header = self
            .inner
            .get_decoded(schema::HEADERS, hash.as_bytes())?
            .ok_or(DbError::UnknownBlock(*hash))?;
        Ok(header.parent_hash)
    }

    fn canonical_hash(&self, number: BlockNumber) -> Result<Option<H256>, DbError> {
        if let Some(staged) = self.canon.get(&number) {
            return Ok(*staged);
        }
        self.inner
            .get_decoded(schema::LOOKUP, &schema::number_key(number))
    }

    fn journal(&self, hash: &H256) -> Result<Journal, DbError> {
        if let Some(block) = self.new_blocks.get(hash) {
            return Ok(block.journal.clone());
        }
        self.inner
            .get_decoded(schema::JOURNAL, hash.as_bytes())?
            .ok_or_else(|| DbError::Corrupt {
                column: schema::JOURNAL,
                key: hex::encode(hash),
                reason: "unpruned block without a journal".into(),
            })
    }

    fn add_inserted_nodes(&mut self, state: &StateDelta) -> Result<(), DbError> {
        for node in state.inserted() {
            let Some(data) = &node.data else {
                return Err(DbError::InvalidStateDelta(format!(
                    "node {:?} gains {} references but comes without its bytes",
                    node.hash, node.rc_delta
                )));
            };
            self.add_rc(node.hash, i64::from(node.rc_delta), Some(data));
        }
        Ok(())
    }

    /// Writes a block that starts the chain's stored state (genesis or a warp-sync base):
    /// its state must be built from nothing and hash to the header's state root.
    fn put_base_block(
        &mut self,
        header: &Header,
        hash: H256,
        body: &[Vec<u8>],
        state: &StateDelta,
        what: &str,
    ) -> Result<(), DbError> {
        if state.root != header.state_root {
            return Err(DbError::StateRootMismatch {
                block: hash,
                header: header.state_root,
                delta: state.root,
            });
        }
        if state.removed().next().is_some() {
            return Err(DbError::InvalidStateDelta(format!(
                "{what} is built from nothing and cannot remove nodes"
            )));
        }
        self.add_inserted_nodes(state)?;
        self.put(schema::HEADERS, hash.as_bytes(), &header.encode());
        self.put(schema::BODIES, hash.as_bytes(), &body.to_vec().encode());
        self.put(
            schema::LOOKUP,
            &schema::hash_key(&hash),
            &header.number.encode(),
        );
        self.canon.insert(header.number, Some(hash));
        Ok(())
    }

    pub fn genesis(
        &mut self,
        header: &Header,
        hash: H256,
        state: &StateDelta,
    ) -> Result<(), DbError> {
        if header.number != 0 {
            return Err(DbError::InvalidNumber {
                block: hash,
                number: header.number,
                expected: 0,
            });
        }
        self.put_base_block(header, hash, &[], state, "a genesis state")?;
        self.put(schema::META, meta_key::GENESIS, &hash.encode());
        self.meta = ChainMeta {
            genesis: Some(hash),
            best: (0, hash),
            finalized: (0, hash),
            ..ChainMeta::default()
        };
        Ok(())
    }

    /// Stores a finalized block proven by warp sync, with its complete state, as the new
    /// base of the chain: it becomes best and finalized and the oldest block with state.
    /// Only a database holding nothing but genesis accepts it.
    pub fn warp_base(
        &mut self,
        header: &Header,
        body: &[Vec<u8>],
        justification: &[u8],
        state: &StateDelta,
    ) -> Result<H256, DbError> {
        let hash = header.hash();
        if self.meta.best.0 != 0 || self.meta.finalized.0 != 0 {
            return Err(DbError::InvalidStateDelta(
                "warp sync needs a database holding only genesis".into(),
            ));
        }
        if header.number == 0 {
            return Err(DbError::InvalidNumber {
                block: hash,
                number: 0,
                expected: 1,
            });
        }
        self.put_base_block(header, hash, body, state, "a warp-synced state")?;
        self.put(schema::JUSTIFICATIONS, hash.as_bytes(), justification);
        self.meta.best = (header.number, hash);
        self.meta.finalized = (header.number, hash);
        self.meta.oldest_state = header.number;
        self.meta.oldest_body = header.number;
        self.meta.justifications_pruned_to = header.number;
        self.meta.latest_justified = header.number;
        Ok(hash)
    }

    /// Stages a block (unless already stored) and returns its hash.
    pub fn import(&mut self, block: &ImportBlock) -> Result<H256, DbError> {
        let header = &block.header;
        let hash = header.hash();
        if self.block_number(&hash)?.is_some() {
            if let Some(justification) = &block.justification {
                self.put(schema::JUSTIFICATIONS, hash.as_bytes(), justification);
                self.meta.latest_justified = self.meta.latest_justified.max(header.number);
            }
            return Ok(hash);
        }
        let parent = header.parent_hash;
        let parent_number = self.block_number(&parent)?.ok_or(DbError::UnknownParent {
            block: hash,
            parent,
        })?;
        let expected = parent_number.saturating_add(1);
        if header.number != expected {
            return Err(DbError::InvalidNumber {
                block: hash,
                number: header.number,
                expected,
            });
        }
        if parent_number < self.meta.oldest_state {
            return Err(DbError::StatePruned {
                number: parent_number,
                pruned_up_to: self.meta.oldest_state - 1,
            });
        }
        let (finalized_number, _) = self.meta.finalized;
        if header.number <= finalized_number {
            return Err(DbError::BelowFinalized {
                block: hash,
                number: header.number,
                finalized: finalized_number,
            });
        }
        if block.state.root != header.state_root {
            return Err(DbError::StateRootMismatch {
                block: hash,
                header: header.state_root,
                delta: block.state.root,
            });
        }

        self.add_inserted_nodes(&block.state)?;
        let journal = Journal {
            changes: block
                .state
                .nodes
                .iter()
                .map(|n| (n.hash, n.rc_delta))
                .collect(),
        };
        self.put(schema::HEADERS, hash.as_bytes(), &header.encode());
        self.put(schema::BODIES, hash.as_bytes(), &block.body.encode());
        if let Some(justification) = &block.justification {
            self.put(schema::JUSTIFICATIONS, hash.as_bytes(), justification);
            self.meta.latest_justified = self.meta.latest_justified.max(header.number);
        }
        self.put(schema::JOURNAL, hash.as_bytes(), &journal.encode());
        self.put(
            schema::LOOKUP,
            &schema::hash_key(&hash),
            &header.number.encode(),
        );
        self.put(
            schema::LOOKUP,
            &schema::unfinalized_key(header.number, &hash),
            &parent.encode(),
        );
        self.new_blocks.insert(
            hash,
            NewBlock {
                number: header.number,
                parent,
                journal,
            },
        );
        Ok(hash)
    }

    pub fn set_justification(&mut self, hash: H256, justification: &[u8]) -> Result<(), DbError> {
        let number = self
            .block_number(&hash)?
            .ok_or(DbError::UnknownBlock(hash))?;
        self.put(schema::JUSTIFICATIONS, hash.as_bytes(), justification);
        self.meta.latest_justified = self.meta.latest_justified.max(number);
        Ok(())
    }

    /// `--blocks-pruning <n>`: deletes the bodies of canonical blocks more than `window`
    /// below `finalized`, and their justifications once a newer block has one, keeping
    /// the justifications of blocks that change the GRANDPA authority set (warp proofs
    /// are made of them).
    fn prune_blocks(&mut self, finalized: BlockNumber, window: BlockNumber) -> Result<(), DbError> {
        let new_oldest = finalized.saturating_sub(window);
        // Genesis has no body to prune.
        for number in self.meta.oldest_body.max(1)..new_oldest {
            if let Some(hash) = self.canonical_hash(number)? {
                self.delete(schema::BODIES, hash.as_bytes());
            }
        }
        self.meta.oldest_body = self.meta.oldest_body.max(new_oldest);
        let justified_to = new_oldest.min(self.meta.latest_justified);
        for number in self.meta.justifications_pruned_to.max(1)..justified_to {
            let Some(hash) = self.canonical_hash(number)? else {
                continue;
            };
            let header: Option<Header> =
                self.inner.get_decoded(schema::HEADERS, hash.as_bytes())?;
            let changes_set = header.is_some_and(|h| {
                h.digest.logs.iter().any(|item| {
                    matches!(item, arceon_primitives::DigestItem::Consensus(id, _) if *id == arceon_primitives::GRANDPA_ENGINE_ID)
                })
            });
            if !changes_set {
                self.delete(schema::JUSTIFICATIONS, hash.as_bytes());
            }
        }
        self.meta.justifications_pruned_to = self.meta.justifications_pruned_to.max(justified_to);
        Ok(())
    }

    /// Makes `hash` best and points the number lookups along its chain.
    pub fn set_best(&mut self, hash: H256) -> Result<(), DbError> {
        let number = self
            .block_number(&hash)?
            .ok_or(DbError::UnknownBlock(hash))?;
        let (finalized_number, finalized_hash) = self.meta.finalized;
        let not_descendant = DbError::NotDescendantOfFinalized {
            block: hash,
            finalized: finalized_hash,
        };
        if number < finalized_number {
            return Err(not_descendant);
        }
        // Walk down until the lookups already agree: the best chain above that point is
        // re-pointed, the part below is shared. Reaching the finalized height means the
        // whole unfinalized part changes, and the block must sit on the finalized one.
        let mut rewrite = Vec::new();
        let (mut cursor, mut cursor_number) = (hash, number);
        loop {
            if cursor_number == finalized_number {
                if cursor != finalized_hash {
                    return Err(not_descendant);
                }
                break;
            }
            if self.canonical_hash(cursor_number)? == Some(cursor) {
                break;
            }
            rewrite.push((cursor_number, cursor));
            cursor = self.parent_of(&cursor)?;
            cursor_number -= 1;
        }
        for (n, h) in rewrite {
            self.canon.insert(n, Some(h));
        }
        let (old_best_number, _) = self.meta.best;
        for n in number.saturating_add(1)..=old_best_number {
            self.canon.insert(n, None);
        }
        self.meta.best = (number, hash);
        Ok(())
    }

    /// Finalizes `target`: canonicalizes its chain, discards every block not descending
    /// from it, moves best if it was discarded, and prunes states out of the window.
    pub fn finalize(&mut self, target: H256) -> Result<(), DbError> {
        let (finalized_number, finalized_hash) = self.meta.finalized;
        let target_number = self
            .block_number(&target)?
            .ok_or(DbError::UnknownBlock(target))?;
        let not_descendant = DbError::NotDescendantOfFinalized {
            block: target,
            finalized: finalized_hash,
        };
        if target_number <= finalized_number {
            return if self.canonical_hash(target_number)? == Some(target) {
                Ok(())
            } else {
                Err(not_descendant)
            };
        }

        // The newly finalized route, from just above the old finalized block to the target.
        let mut route = Vec::new();
        let (mut cursor, mut cursor_number) = (target, target_number);
        while cursor_number > finalized_number {
            route.push((cursor_number, cursor));
            cursor = self.parent_of(&cursor)?;
            cursor_number -= 1;
        }
        if cursor != finalized_hash {
            return Err(not_descendant);
        }
        route.reverse();
        let on_route: HashSet<H256> = route.iter().map(|(_, h)| *h).collect();

        // Every unfinalized block, by height: at or below the target only the route stays;
        // above it, a block stays iff its parent stayed.
        let mut unfinalized = scan_unfinalized(self.inner)?;
        unfinalized.extend(
            self.new_blocks
                .iter()
                .map(|(h, b)| (b.number, *h, b.parent)),
        );
        unfinalized.sort();
        unfinalized.dedup();
        let mut kept: HashSet<H256> = HashSet::from([target]);
        let mut kept_blocks = Vec::new();
        for (number, hash, parent) in unfinalized {
            if number <= target_number {
                if on_route.contains(&hash) {
                    self.delete(schema::LOOKUP, &schema::unfinalized_key(number, &hash));
                } else {
                    self.discard(number, hash)?;
                }
            } else if kept.contains(&parent) {
                kept.insert(hash);
                kept_blocks.push((number, hash));
            } else {
                self.discard(number, hash)?;
            }
        }

        for (number, hash) in &route {
            self.canon.insert(*number, Some(*hash));
            if self.inner.pruning == Pruning::Archive {
                // Archive states are never pruned: the journal has no further use.
                self.delete(schema::JOURNAL, hash.as_bytes());
            }
        }
        self.meta.finalized = (target_number, target);

        let (best_number, best_hash) = self.meta.best;
        if !kept.contains(&best_hash) || best_number < target_number {
            // The best branch lost: take the highest surviving block (lowest hash on a tie,
            // so every node picks the same one).
            let new_best = kept_blocks
                .iter()
                .copied()
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
                .unwrap_or((target_number, target));
            // The old best chain is gone: clear its lookups above the new finalized block
            // first, so set_best re-points everything from there.
            for n in target_number.saturating_add(1)..=best_number {
                self.canon.insert(n, None);
            }
            self.meta.best = (target_number, target);
            self.set_best(new_best.1)?;
        }

        if let Pruning::Window(window) = self.inner.pruning {
            let new_oldest = target_number.saturating_sub(window);
            for number in self.meta.oldest_state.saturating_add(1)..=new_oldest {
                let hash = self
                    .canonical_hash(number)?
                    .ok_or_else(|| DbError::Corrupt {
                        column: schema::LOOKUP,
                        key: hex::encode(schema::number_key(number)),
                        reason: "finalized block without a canonical lookup".into(),
                    })?;
                for (node, delta) in self.journal(&hash)?.changes {
                    if delta < 0 {
                        self.add_rc(node, i64::from(delta), None);
                    }
                }
                self.delete(schema::JOURNAL, hash.as_bytes());
            }
            self.meta.oldest_state = self.meta.oldest_state.max(new_oldest);
        }
        if let BlocksPruning::Window(window) = self.inner.blocks_pruning {
            self.prune_blocks(target_number, window)?;
        }
        Ok(())
    }

    /// Undoes the top `count` blocks of the best chain: every block above the new best
    /// height (on any fork) is discarded with the nodes only it added, and best moves
    /// down. Finalized blocks are never touched: a revert that would reach below the
    /// finalized block is refused whole.
    pub fn revert(&mut self, count: BlockNumber) -> Result<(BlockNumber, H256), DbError> {
        let (best_number, _) = self.meta.best;
        let (finalized_number, _) = self.meta.finalized;
        let target = best_number.saturating_sub(count);
        if count > best_number.saturating_sub(finalized_number) {
            return Err(DbError::RevertPastFinality {
                requested: count,
                unfinalized: best_number.saturating_sub(finalized_number),
                finalized: finalized_number,
            });
        }
        let target_hash = self
            .canonical_hash(target)?
            .ok_or_else(|| DbError::Corrupt {
                column: schema::LOOKUP,
                key: hex::encode(schema::number_key(target)),
                reason: "best-chain block without a canonical lookup".into(),
            })?;
        for (number, hash, _) in scan_unfinalized(self.inner)? {
            if number > target {
                self.discard(number, hash)?;
            }
        }
        for n in target.saturating_add(1)..=best_number {
            self.canon.insert(n, None);
        }
        self.meta.best = (target, target_hash);
        Ok((target, target_hash))
    }

    /// Drops a block that can no longer become canonical, with the nodes only it added.
    fn discard(&mut self, number: BlockNumber, hash: H256) -> Result<(), DbError> {
        for (node, delta) in self.journal(&hash)?.changes {
            if delta > 0 {
                self.add_rc(node, -i64::from(delta), None);
            }
        }
        for column in [
            schema::HEADERS,
            schema::BODIES,
            schema::JUSTIFICATIONS,
            schema::JOURNAL,
        ] {
            self.delete(column, hash.as_bytes());
        }
        self.delete(schema::LOOKUP, &schema::hash_key(&hash));
        self.delete(schema::LOOKUP, &schema::unfinalized_key(number, &hash));
        self.new_blocks.remove(&hash);
        self.discarded.insert(hash);
        Ok(())
    }

    /// Writes the batch. Returns the new chain metadata and the nodes it stored (for the
    /// node cache).
    pub fn commit(mut self) -> Result<(ChainMeta, StoredNodes), DbError> {
        let mut changes: Vec<(H256, RcChange)> =
            self.rc.drain().filter(|(_, c)| c.delta != 0).collect();
        changes.sort_by_key(|c| c.0);

        // Counts that go down need the stored value to know whether the node dies.
        let decreasing: Vec<&H256> = changes
            .iter()
            .filter(|(_, c)| c.delta < 0)
            .map(|(h, _)| h)
            .collect();
        let inner: &'a Inner = self.inner;
        let rc_cf = inner.cf(schema::TRIE_RC);
        let current =
            inner
                .db
                .batched_multi_get_cf(rc_cf, decreasing.iter().map(|h| h.as_bytes()), true);
        let mut current_rc = HashMap::with_capacity(decreasing.len());
        for (hash, value) in decreasing.iter().zip(current) {
            let rc = match value? {
                Some(bytes) => schema::decode_rc(hash.as_bytes(), &bytes)?,
                None => 0,
            };
            current_rc.insert(**hash, rc);
        }

        let mut stored = Vec::new();
        for (hash, change) in changes {
            let key = hash.as_bytes();
            if change.delta > 0 {
                let Some(data) = change.data else {
                    return Err(DbError::InvalidStateDelta(format!(
                        "node {hash:?} gains references but no block supplied its bytes"
                    )));
                };
                self.batch.merge_cf(rc_cf, key, change.delta.to_le_bytes());
                self.put(schema::TRIE, key, &data);
                stored.push((hash, data));
            } else {
                let rc = current_rc.get(&hash).copied().unwrap_or(0) + change.delta;
                if rc <= 0 {
                    if rc < 0 {
                        log::error!(
                            target: "db",
                            "trie node {hash:?} reference count would be {rc}; deleting it"
                        );
                    }
                    self.delete(schema::TRIE, key);
                    self.delete(schema::TRIE_RC, key);
                } else {
                    self.put(schema::TRIE_RC, key, &rc.to_le_bytes());
                }
            }
        }

        for (number, hash) in std::mem::take(&mut self.canon) {
            let key = schema::number_key(number);
            match hash {
                Some(hash) => self.put(schema::LOOKUP, &key, &hash.encode()),
                None => self.delete(schema::LOOKUP, &key),
            }
        }
        if self.meta.genesis.is_some() {
            self.put(schema::META, meta_key::BEST, &self.meta.best.encode());
            self.put(
                schema::META,
                meta_key::FINALIZED,
                &self.meta.finalized.encode(),
            );
            self.put(
                schema::META,
                meta_key::OLDEST_STATE,
                &self.meta.oldest_state.encode(),
            );
            self.put(
                schema::META,
                meta_key::OLDEST_BODY,
                &self.meta.oldest_body.encode(),
            );
            self.put(
                schema::META,
                meta_key::JUSTIFICATIONS_PRUNED_TO,
                &self.meta.justifications_pruned_to.encode(),
            );
            self.put(
                schema::META,
                meta_key::LATEST_JUSTIFIED,
                &self.meta.latest_justified.encode(),
            );
        }
        self.inner.db.write(self.batch)?;
        Ok((self.meta, stored))
    }
}
