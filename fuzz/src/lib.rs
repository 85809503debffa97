//! Fixtures shared by Arceon's fuzz targets: a fixed GRANDPA authority set (the dev
//! keys Alice..Dave), a small chain of headers they finalize, the dev chain's genesis
//! state, a small state trie with its root, and the seed inputs of every target.
//!
//! Invariants: every fixture is deterministic (GRANDPA signs with ed25519, which is
//! deterministic; extrinsic seeds' sr25519 signatures are randomized), so a crash input replays the same way on every run; nothing here touches
//! the disk unless `ARCEON_FUZZ_WRITE_SEEDS` names a directory (see [`write_seeds`]).

use std::collections::HashMap;
use std::sync::OnceLock;

use arceon_finality::justification::GrandpaJustification;
use arceon_finality::wire::{GossipMessage, WarpFragment, WarpProof};
use arceon_finality::{vote_payload, AuthorityId, Commit, CompactCommit};
use arceon_primitives::{
    ed25519, keyring::ed25519_pair_from_suri, BlockNumber, Digest, DigestItem, Header, Keyring, AURA_ENGINE_ID, GRANDPA_ENGINE_ID,
    H256,
};
use arceon_runtime::grandpa::ScheduledChange;
use arceon_state::{MemoryNodeStore, StorageProof, TrieState};
use arceon_support::MemoryState;
use codec::Encode;
use sp_core::Pair as _;

pub mod net;
pub mod rpc;
pub mod seeds;

/// The GRANDPA set every finality target verifies against (the dev keys' ed25519
/// GRANDPA session keys, weight 1 each).
pub fn authority_pairs() -> &'static [ed25519::Pair] {
    static PAIRS: OnceLock<Vec<ed25519::Pair>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        [
            Keyring::Alice,
            Keyring::Bob,
            Keyring::Charlie,
            Keyring::Dave,
        ]
        .iter()
        .map(|k| ed25519_pair_from_suri(&k.suri()).expect("dev seed"))
        .collect()
    })
}

/// The public keys of [`authority_pairs`].
pub fn authorities() -> &'static [AuthorityId] {
    static IDS: OnceLock<Vec<AuthorityId>> = OnceLock::new();
    IDS.get_or_init(|| authority_pairs().iter().map(|p| p.public()).collect())
}

/// The set that follows [`authorities`] in the warp-proof fixture (Eve and Ferdie join).
pub fn next_authority_pairs() -> &'static [ed25519::Pair] {
    static PAIRS: OnceLock<Vec<ed25519::Pair>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        [
            Keyring::Bob,
            Keyring::Charlie,
            Keyring::Dave,
            Keyring::Eve,
            Keyring::Ferdie,
        ]
        .iter()
        .map(|k| ed25519_pair_from_suri(&k.suri()).expect("dev seed"))
        .collect()
    })
}

/// A header after `parent` with a slot claim, optionally signalling a set change.
pub fn header(parent: &Header, change: Option<&[ed25519::Pair]>) -> Header {
    let mut logs = vec![DigestItem::PreRuntime(
        AURA_ENGINE_ID,
        u64::from(parent.number + 1).encode(),
    )];
    if let Some(next) = change {
        let change = ScheduledChange {
            next_authorities: next.iter().map(|p| (p.public(), 1u64)).collect(),
            delay: 0,
        };
        logs.push(DigestItem::Consensus(GRANDPA_ENGINE_ID, change.encode()));
    }
    logs.push(DigestItem::Seal(AURA_ENGINE_ID, vec![7; 64]));
    Header {
        parent_hash: parent.hash(),
        number: parent.number + 1,
        state_root: H256::repeat_byte(0x51),
        extrinsics_root: H256::repeat_byte(0x52),
        digest: Digest { logs },
    }
}

/// A fixed chain of headers `#0..=#8`: the blocks fuzzed commits and votes may refer to.
pub fn chain() -> &'static [Header] {
    static CHAIN: OnceLock<Vec<Header>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut headers = vec![Header {
            parent_hash: H256::zero(),
            number: 0,
            state_root: H256::repeat_byte(0x50),
            extrinsics_root: H256::zero(),
            digest: Digest::default(),
        }];
        for _ in 0..8 {
            let next = header(headers.last().expect("genesis is there"), None);
            headers.push(next);
        }
        headers
    })
}

/// [`chain`] as a `finality_grandpa::Chain`, for commit validation.
pub struct FixedChain {
    parents: HashMap<H256, H256>,
}

impl FixedChain {
    /// The fixed chain.
    pub fn get() -> &'static FixedChain {
        static FIXED: OnceLock<FixedChain> = OnceLock::new();
        FIXED.get_or_init(|| FixedChain {
            parents: chain().iter().map(|h| (h.hash(), h.parent_hash)).collect(),
        })
    }

    /// Whether the block is in the chain.
    pub fn contains(&self, hash: &H256) -> bool {
        self.parents.contains_key(hash)
    }
}

impl finality_grandpa::Chain<H256, BlockNumber> for FixedChain {
    fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
        let mut route = Vec::new();
        let mut cursor = block;
        while cursor != base {
            cursor = *self
                .parents
                .get(&cursor)
                .ok_or(finality_grandpa::Error::NotDescendent)?;
            route.push(cursor);
        }
        route.pop();
        Ok(route)
    }
}

/// A justification by `pairs` (set `set_id`, round `round`) of `target`: the i-th
/// voter precommits `votes[i % votes.len()]` (`target` or a descendant given with its
/// `ancestry`). The target must be the precommits' GHOST, or the commit is invalid.
pub fn justification(
    pairs: &[ed25519::Pair],
    set_id: u64,
    round: u64,
    target: &Header,
    votes: &[&Header],
    ancestry: Vec<Header>,
) -> GrandpaJustification {
    let precommits = pairs
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            let vote_for = votes[i % votes.len()];
            let precommit = finality_grandpa::Precommit {
                target_hash: vote_for.hash(),
                target_number: vote_for.number,
            };
            let message = finality_grandpa::Message::Precommit(precommit.clone());
            finality_grandpa::SignedPrecommit {
                precommit,
                signature: pair.sign(&vote_payload(&message, round, set_id)),
                id: pair.public(),
            }
        })
        .collect();
    GrandpaJustification {
        round,
        commit: Commit {
            target_hash: target.hash(),
            target_number: target.number,
            precommits,
        },
        votes_ancestries: ancestry,
    }
}

/// A gossiped commit of [`authorities`] for block `#n` of [`chain`].
pub fn commit_message(set_id: u64, round: u64, n: usize) -> GossipMessage {
    let target = &chain()[n];
    let full = justification(authority_pairs(), set_id, round, target, &[target], vec![]);
    let compact: CompactCommit = full.commit.into();
    GossipMessage::Commit {
        round,
        set_id,
        commit: compact,
    }
}

/// A signed vote of Alice, gossiped.
pub fn vote_message(message: finality_grandpa::Message<H256, BlockNumber>) -> GossipMessage {
    let (round, set_id) = (3, 0);
    let pair = &authority_pairs()[0];
    let signature = pair.sign(&vote_payload(&message, round, set_id));
    GossipMessage::Vote {
        round,
        set_id,
        message: finality_grandpa::SignedMessage {
            message,
            signature,
            id: pair.public(),
        },
    }
}

/// A warp proof from [`authorities`]: a set-change block by them, then a later block
/// finalized by the next set.
pub fn warp_proof() -> WarpProof {
    let genesis = &chain()[0];
    let change = header(genesis, Some(next_authority_pairs()));
    let mut later = vec![header(&change, None)];
    for _ in 0..2 {
        let next = header(later.last().expect("one header"), None);
        later.push(next);
    }
    let first = justification(authority_pairs(), 0, 1, &change, &[&change], vec![]);
    let latest = &later[1];
    // One of the next set's five votes for the block after the latest (the ancestry
    // links it): the latest block is the highest with the four votes needed.
    let second = justification(
        next_authority_pairs(),
        1,
        4,
        latest,
        &[latest, latest, latest, latest, &later[2]],
        vec![later[2].clone()],
    );
    WarpProof {
        fragments: vec![
            WarpFragment {
                header: change,
                justification: first,
            },
            WarpFragment {
                header: latest.clone(),
                justification: second,
            },
        ],
        is_finished: true,
    }
}

/// The dev chain's genesis storage and hash: the state RPC and transaction validation
/// run against.
pub fn dev_genesis() -> &'static (MemoryState, H256) {
    static GENESIS: OnceLock<(MemoryState, H256)> = OnceLock::new();
    GENESIS.get_or_init(|| {
        let spec = arceon_chain_spec::ChainSpec::load("dev").expect("the dev spec loads");
        let genesis = spec.genesis_block().expect("the dev genesis builds");
        (genesis.storage, genesis.hash)
    })
}

/// A small state (keys of several shapes, inline and hashed values) and its trie.
pub fn small_state() -> &'static (TrieState<MemoryNodeStore>, Vec<(Vec<u8>, Vec<u8>)>) {
    static STATE: OnceLock<(TrieState<MemoryNodeStore>, Vec<(Vec<u8>, Vec<u8>)>)> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = (0u32..40)
            .map(|i| {
                let key = match i % 4 {
                    0 => i.to_le_bytes().to_vec(),
                    1 => vec![i as u8],
                    2 => [b"arceon".as_slice(), &i.to_be_bytes()].concat(),
                    _ => vec![0xab; (i as usize % 7) + 1],
                };
                let value = vec![i as u8; if i % 3 == 0 { 40 } else { (i % 5) as usize }];
                (key, value)
            })
            .collect();
        pairs.sort();
        pairs.dedup_by(|a, b| a.0 == b.0);
        let delta = arceon_state::storage_root(pairs.clone());
        let store = MemoryNodeStore::from_delta(&delta).expect("a fresh delta applies");
        (TrieState::new(store, delta.root), pairs)
    })
}

/// A range proof of [`small_state`]: up to `limit` pairs after `start_after`.
pub fn range_proof(
    start_after: Option<&[u8]>,
    limit: usize,
) -> (Vec<(Vec<u8>, Vec<u8>)>, bool, StorageProof) {
    small_state()
        .0
        .range_proof(start_after, limit)
        .expect("the fixture trie is complete")
}

/// Writes the seeds of `target` into the directory named by `ARCEON_FUZZ_WRITE_SEEDS`,
/// if set: `scripts/fuzz.sh` asks for it when a target's corpus has no seeds yet.
pub fn write_seeds(target: &str) {
    let Some(dir) = std::env::var_os("ARCEON_FUZZ_WRITE_SEEDS") else {
        return;
    };
    if let Err(e) = seeds::check(target) {
        panic!("the seeds of {target} do not pass their checks: {e}");
    }
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return;
    }
    for (name, bytes) in seeds::for_target(target) {
        let path = dir.join(format!("seed-{name}"));
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!("cannot write {}: {e}", path.display());
        }
    }
}
