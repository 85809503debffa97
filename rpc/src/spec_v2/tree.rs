//! The block tree one `chainHead_v1_follow` subscription reported: the finalized block and
//! every non-finalized block it announced, with the best one. Finality prunes it to the
//! new finalized block's descendants and lists what it pruned.
//!
//! Invariant: every block in the tree descends from its finalized block.

use std::collections::{HashMap, HashSet};

use arceon_primitives::{BlockNumber, H256};

/// The non-finalized blocks a subscription reported, rooted at its finalized block.
#[derive(Debug, Clone)]
pub(crate) struct BlockTree {
    pub(crate) finalized: (BlockNumber, H256),
    /// The finalized block's runtime (`Core_version` output), when following it.
    pub(crate) finalized_runtime: Option<Vec<u8>>,
    pub(crate) blocks: HashMap<H256, TreeBlock>,
    pub(crate) best: H256,
}

#[derive(Debug, Clone)]
pub(crate) struct TreeBlock {
    parent: H256,
    number: BlockNumber,
    runtime: Option<Vec<u8>>,
}

impl BlockTree {
    pub(crate) fn new(finalized: (BlockNumber, H256), runtime: Option<Vec<u8>>) -> Self {
        BlockTree {
            finalized,
            finalized_runtime: runtime,
            blocks: HashMap::new(),
            best: finalized.1,
        }
    }

    pub(crate) fn contains(&self, hash: &H256) -> bool {
        *hash == self.finalized.1 || self.blocks.contains_key(hash)
    }

    pub(crate) fn runtime_of(&self, hash: &H256) -> Option<&Vec<u8>> {
        if *hash == self.finalized.1 {
            self.finalized_runtime.as_ref()
        } else {
            self.blocks.get(hash).and_then(|b| b.runtime.as_ref())
        }
    }

    /// Adds a block whose parent is in the tree.
    pub(crate) fn insert(
        &mut self,
        hash: H256,
        parent: H256,
        number: BlockNumber,
        runtime: Option<Vec<u8>>,
    ) {
        self.blocks.insert(
            hash,
            TreeBlock {
                parent,
                number,
                runtime,
            },
        );
    }

    /// Whether `hash` is `ancestor` or descends from it.
    pub(crate) fn descends_from(&self, hash: &H256, ancestor: &H256) -> bool {
        let mut current = *hash;
        loop {
            if current == *ancestor {
                return true;
            }
            match self.blocks.get(&current) {
                Some(block) => current = block.parent,
                None => return false,
            }
        }
    }

    /// Makes `hash` (a reported non-finalized block) the finalized block: the blocks
    /// finalized with it, oldest first and ending with it, and the blocks pruned (not its
    /// descendants). `None` if it is not in the tree.
    pub(crate) fn finalize(&mut self, hash: &H256) -> Option<(Vec<H256>, Vec<H256>)> {
        let number = self.blocks.get(hash)?.number;
        let mut route = vec![*hash];
        let mut current = *hash;
        while let Some(block) = self.blocks.get(&current) {
            if block.parent == self.finalized.1 {
                break;
            }
            route.push(block.parent);
            current = block.parent;
        }
        route.reverse();
        let on_route: HashSet<H256> = route.iter().copied().collect();
        let pruned: Vec<H256> = self
            .blocks
            .keys()
            .filter(|b| !on_route.contains(b) && !self.descends_from(b, hash))
            .copied()
            .collect();
        let runtime = self.blocks.get(hash).and_then(|b| b.runtime.clone());
        for gone in route.iter().chain(&pruned) {
            self.blocks.remove(gone);
        }
        self.finalized = (number, *hash);
        self.finalized_runtime = runtime;
        Some((route, pruned))
    }
}
