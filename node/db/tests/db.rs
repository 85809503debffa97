//! The database as the node sees it: blocks and states survive a reopen, pruning deletes
//! old states and nothing else, forks are discarded on finalization, bad input is refused.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the assertion

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use arceon_db::{Database, DbConfig, DbError, ImportBlock, Pruning};
use arceon_primitives::{Digest, DigestItem, Header, H256};
use arceon_state::EMPTY_ROOT;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn open(dir: &std::path::Path, pruning: Pruning) -> Database {
    Database::open(dir, pruning).unwrap()
}

fn init(db: &Database, keys: u32) -> (Model, Header) {
    let (model, delta, header) = genesis_state(keys, 42);
    db.initialize_genesis(&header, &delta).unwrap();
    (model, header)
}

#[test]
fn chain_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let mut models: HashMap<H256, Model> = HashMap::new();
    let mut headers: Vec<Header> = Vec::new();
    let mut bodies = Vec::new();
    {
        let db = open(dir.path(), Pruning::Window(32));
        let (model, genesis) = init(&db, 400);
        models.insert(genesis.hash(), model.clone());
        let mut model = model;
        headers.push(genesis);
        for n in 1..=200u64 {
            let changes = random_changes(&mut rng, 25, 500);
            let mut block = child(&db, headers.last().unwrap(), &changes, n);
            block.set_best = true;
            block.finalize = n % 10 == 0 && n <= 190;
            block.justification = (n % 10 == 0).then(|| vec![n as u8; 8]);
            apply(&mut model, &changes);
            models.insert(block.header.hash(), model.clone());
            headers.push(block.header.clone());
            bodies.push(block.body.clone());
            db.import_block(block).unwrap();
        }
        // Finality lags best by a few blocks.
        db.finalize(&headers[195].hash()).unwrap();
    }

    let db = open(dir.path(), Pruning::Window(32));
    let best = headers.last().unwrap();
    assert_eq!(db.best(), (200, best.hash()));
    assert_eq!(db.finalized(), (195, headers[195].hash()));
    assert_eq!(db.genesis_hash(), Some(headers[0].hash()));
    for (n, header) in headers.iter().enumerate() {
        let hash = header.hash();
        assert_eq!(db.header(&hash).unwrap().as_ref(), Some(header));
        assert_eq!(db.hash(n as u32).unwrap(), Some(hash));
        assert_eq!(db.number(&hash).unwrap(), Some(n as u32));
        if n > 0 {
            assert_eq!(db.body(&hash).unwrap().as_ref(), Some(&bodies[n - 1]));
            let expected_justification = (n % 10 == 0).then(|| vec![n as u8; 8]);
            assert_eq!(db.justification(&hash).unwrap(), expected_justification);
        }
    }
    // The best state is complete and intact, and every retained state reads back.
    assert_eq!(recomputed_root(&db, &best.hash()), best.state_root);
    assert_eq!(read_all(&db, &best.hash()), models[&best.hash()]);
    for header in &headers[195 - 32..] {
        assert_eq!(
            read_all(&db, &header.hash()),
            models[&header.hash()],
            "#{}",
            header.number
        );
    }
    assert!(matches!(
        db.state_at(&headers[100].hash()),
        Err(DbError::StatePruned { number: 100, .. })
    ));
    assert_eq!(db.leaves().unwrap(), vec![(200, best.hash())]);
}

struct PruningRun {
    trie_nodes_at_1000: u64,
    stats: arceon_db::TrieStats,
    size_on_disk: u64,
    per_block_ms: f64,
}

/// Imports and finalizes `blocks` blocks, each changing 20 of 3,000 keys.
fn run_pruning(
    pruning: Pruning,
    blocks: u32,
) -> (
    tempfile::TempDir,
    Database,
    Vec<Header>,
    Vec<Model>,
    PruningRun,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), pruning);
    let (mut model, genesis) = init(&db, 2_000);
    let mut rng = StdRng::seed_from_u64(9);
    let mut headers = vec![genesis];
    let mut models = vec![model.clone()];
    let mut trie_nodes_at_1000 = 0;
    let started = Instant::now();
    for n in 1..=blocks {
        let changes = random_changes(&mut rng, 20, 3_000);
        let mut block = child(&db, headers.last().unwrap(), &changes, u64::from(n));
        block.set_best = true;
        block.finalize = true;
        apply(&mut model, &changes);
        headers.push(block.header.clone());
        // Keep models only where the test reads states (they are large).
        models.push(if n == 100 || n + 300 > blocks {
            model.clone()
        } else {
            Model::new()
        });
        db.import_block(block).unwrap();
        if n == 1_000 {
            trie_nodes_at_1000 = db.trie_stats().unwrap().nodes;
        }
    }
    let per_block_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(blocks);
    db.flush().unwrap();
    let run = PruningRun {
        trie_nodes_at_1000,
        stats: db.trie_stats().unwrap(),
        size_on_disk: db.size_on_disk(),
        per_block_ms,
    };
    (dir, db, headers, models, run)
}

#[test]
fn pruning_window_deletes_old_states_and_bounds_the_trie() {
    let blocks = 2_000;
    let (_dir, db, headers, models, window) = run_pruning(Pruning::Window(256), blocks);
    let (_adir, archive_db, archive_headers, _, archive) = run_pruning(Pruning::Archive, blocks);
    println!(
        "window 256: {} trie nodes ({} at block 1000), {} node bytes, {} bytes on disk, {:.2} ms/block",
        window.stats.nodes, window.trie_nodes_at_1000, window.stats.bytes, window.size_on_disk, window.per_block_ms
    );
    println!(
        "archive:    {} trie nodes ({} at block 1000), {} node bytes, {} bytes on disk, {:.2} ms/block",
        archive.stats.nodes, archive.trie_nodes_at_1000, archive.stats.bytes, archive.size_on_disk, archive.per_block_ms
    );

    // Old states are gone, with the error saying so.
    match db.state_at(&headers[100].hash()) {
        Err(DbError::StatePruned {
            number: 100,
            pruned_up_to,
        }) => assert_eq!(pruned_up_to, blocks - 257),
        other => panic!("expected StatePruned, got {other:?}"),
    }
    assert!(matches!(
        db.state_at(&headers[(blocks - 257) as usize].hash()),
        Err(DbError::StatePruned { .. })
    ));
    // The last 256 blocks (and the finalized one) are intact.
    for header in &headers[(blocks - 256) as usize..] {
        let state = db.state_at(&header.hash()).unwrap();
        let model = &models[header.number as usize];
        for (k, v) in model.iter().step_by(97) {
            assert_eq!(
                state.get(k).unwrap().as_ref(),
                Some(v),
                "#{}",
                header.number
            );
        }
    }
    let best = headers.last().unwrap();
    assert_eq!(recomputed_root(&db, &best.hash()), best.state_root);
    let oldest = &headers[(blocks - 256) as usize];
    assert_eq!(recomputed_root(&db, &oldest.hash()), oldest.state_root);
    // Headers and bodies are kept: only state is pruned.
    assert!(db.header(&headers[100].hash()).unwrap().is_some());

    // The pruned trie stops growing; the archive keeps every version.
    assert!(
        window.stats.nodes * 10 < window.trie_nodes_at_1000 * 12,
        "trie grew from {} to {} nodes between blocks 1000 and 2000",
        window.trie_nodes_at_1000,
        window.stats.nodes
    );
    assert!(archive.stats.nodes > 2 * window.stats.nodes);
    assert!(archive.stats.nodes > archive.trie_nodes_at_1000 * 3 / 2);

    // Same blocks (same seed), and the archive still serves block 100's state.
    assert_eq!(archive_headers[100], headers[100]);
    assert_eq!(read_all(&archive_db, &headers[100].hash()), models[100]);
    assert_eq!(
        recomputed_root(&archive_db, &headers[100].hash()),
        headers[100].state_root
    );
    assert_eq!(archive_db.oldest_state(), 0);
}

/// The set of trie nodes the retained states need: everything reachable from them.
fn live_nodes(db: &Database, blocks: &[H256]) -> BTreeSet<H256> {
    let mut live = BTreeSet::new();
    for hash in blocks {
        let state = db.state_at(hash).unwrap();
        let keys: Vec<Vec<u8>> = state
            .pairs_with_prefix(&[], None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for node in state.read_proof(&keys).unwrap().nodes {
            live.insert(H256(arceon_primitives::blake2_256(&node)));
        }
    }
    live.remove(&EMPTY_ROOT);
    live
}

fn assert_trie_is_exactly(db: &Database, expected: &BTreeSet<H256>) {
    let stored = db.trie_nodes().unwrap();
    assert!(
        stored.iter().all(|(_, rc)| *rc > 0),
        "a stored node has a non-positive count"
    );
    let stored: BTreeSet<H256> = stored.into_iter().map(|(h, _)| h).collect();
    let leaked: Vec<_> = stored.difference(expected).collect();
    let lost: Vec<_> = expected.difference(&stored).collect();
    assert!(
        leaked.is_empty() && lost.is_empty(),
        "{} leaked nodes, {} lost nodes",
        leaked.len(),
        lost.len()
    );
}

#[test]
fn finalizing_one_fork_discards_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), Pruning::Window(16));
    let (genesis_model, genesis) = init(&db, 300);
    let mut rng = StdRng::seed_from_u64(5);

    let mut a = child(&db, &genesis, &random_changes(&mut rng, 10, 300), 1);
    a.set_best = true;
    let a_header = a.header.clone();
    db.import_block(a).unwrap();

    // Two children of A touching different keys with distinct values, and a grandchild on C.
    let b_changes: Vec<_> = (0..20)
        .map(|i| (key(i), Some(vec![0xB0; 40 + i as usize])))
        .collect();
    let c_changes: Vec<_> = (100..120)
        .map(|i| (key(i), Some(vec![0xC0; 40 + i as usize])))
        .collect();
    let mut b = child(&db, &a_header, &b_changes, 2);
    b.set_best = true;
    let b_header = b.header.clone();
    let b_nodes: BTreeSet<H256> = b.state.inserted().map(|n| n.hash).collect();
    db.import_block(b).unwrap();
    let c = child(&db, &a_header, &c_changes, 3);
    let c_header = c.header.clone();
    let mut c_nodes: BTreeSet<H256> = c.state.inserted().map(|n| n.hash).collect();
    db.import_block(c).unwrap();
    let mut c2 = child(&db, &c_header, &[(key(7), Some(vec![0xC2; 50]))], 4);
    c2.set_best = true;
    let c2_header = c2.header.clone();
    c_nodes.extend(c2.state.inserted().map(|n| n.hash));
    db.import_block(c2).unwrap();

    // Longest chain is best; lookups follow it; both forks' states are readable.
    assert_eq!(db.best(), (3, c2_header.hash()));
    assert_eq!(db.hash(2).unwrap(), Some(c_header.hash()));
    assert_eq!(db.hash(3).unwrap(), Some(c2_header.hash()));
    assert_eq!(recomputed_root(&db, &b_header.hash()), b_header.state_root);
    assert_eq!(
        recomputed_root(&db, &c2_header.hash()),
        c2_header.state_root
    );
    let leaves: BTreeSet<_> = db.leaves().unwrap().into_iter().collect();
    assert_eq!(
        leaves,
        BTreeSet::from([(2, b_header.hash()), (3, c2_header.hash())])
    );
    // Re-pointing best back to B moves the lookups and drops #3.
    db.set_best(&b_header.hash()).unwrap();
    assert_eq!(db.hash(2).unwrap(), Some(b_header.hash()));
    assert_eq!(db.hash(3).unwrap(), None);
    db.set_best(&c2_header.hash()).unwrap();
    let c_unique: BTreeSet<H256> = c_nodes.difference(&b_nodes).copied().collect();
    assert!(!c_unique.is_empty());
    for node in &c_unique {
        assert!(db.contains_trie_node(node).unwrap());
    }

    db.finalize(&b_header.hash()).unwrap();

    for gone in [c_header.hash(), c2_header.hash()] {
        assert!(db.header(&gone).unwrap().is_none());
        assert!(db.body(&gone).unwrap().is_none());
        assert_eq!(db.number(&gone).unwrap(), None);
        assert!(matches!(db.state_at(&gone), Err(DbError::UnknownBlock(h)) if h == gone));
    }
    for node in &c_unique {
        assert!(
            !db.contains_trie_node(node).unwrap(),
            "fork node {node:?} survived"
        );
    }
    assert_eq!(db.best(), (2, b_header.hash()));
    assert_eq!(db.finalized(), (2, b_header.hash()));
    assert_eq!(db.hash(2).unwrap(), Some(b_header.hash()));
    assert_eq!(db.hash(3).unwrap(), None);
    assert_eq!(recomputed_root(&db, &b_header.hash()), b_header.state_root);
    let mut expected = genesis_model;
    apply(&mut expected, &b_changes);
    assert_eq!(read_all(&db, &b_header.hash())[&key(0)], expected[&key(0)]);
    // Exactly the nodes of the retained states (genesis, A, B) remain.
    let live = live_nodes(&db, &[genesis.hash(), a_header.hash(), b_header.hash()]);
    assert_trie_is_exactly(&db, &live);
    // Blocks on the dead branch can no longer be built on.
    let orphan = child(&db, &a_header, &[], 9);
    assert!(matches!(
        db.import_block(orphan),
        Err(DbError::BelowFinalized { .. })
    ));
}

/// A random block tree with frequent forks, lagging finality and a short window: at every
/// checkpoint the trie holds exactly the nodes of the retained states, and each of those
/// reads back its expected contents.
#[test]
fn trie_holds_exactly_the_nodes_of_retained_states() {
    let dir = tempfile::tempdir().unwrap();
    let window = 6;
    let db = open(dir.path(), Pruning::Window(window));
    let (genesis_model, genesis) = init(&db, 200);
    let mut rng = StdRng::seed_from_u64(77);
    let mut headers: HashMap<H256, Header> = HashMap::from([(genesis.hash(), genesis.clone())]);
    let mut models: HashMap<H256, Model> = HashMap::from([(genesis.hash(), genesis_model)]);

    for step in 1..=240u64 {
        // Build on a random leaf, sometimes on a random unfinalized block (a new fork).
        let leaves = db.leaves().unwrap();
        let (_, parent_hash) = if rng.gen_bool(0.25) {
            let (fin_number, _) = db.finalized();
            let candidates: Vec<_> = headers
                .values()
                .filter(|h| h.number >= fin_number && db.number(&h.hash()).unwrap().is_some())
                .map(|h| (h.number, h.hash()))
                .collect();
            candidates[rng.gen_range(0..candidates.len())]
        } else {
            leaves[rng.gen_range(0..leaves.len())]
        };
        let parent = headers[&parent_hash].clone();
        // Some blocks repeat an earlier value, so nodes get shared and re-inserted.
        let count = rng.gen_range(0..12);
        let mut changes = random_changes(&mut rng, count, 260);
        if rng.gen_bool(0.3) {
            changes.push((key(1), Some(vec![1; 40])));
        }
        let mut block = child(&db, &parent, &changes, step);
        block.set_best = rng.gen_bool(0.5);
        let hash = block.header.hash();
        let mut model = models[&parent_hash].clone();
        apply(&mut model, &changes);
        models.insert(hash, model);
        headers.insert(hash, block.header.clone());
        db.import_block(block).unwrap();

        if rng.gen_bool(0.3) {
            // Finalize an ancestor of the best block, a few blocks back.
            let (best_number, best_hash) = db.best();
            let mut target = headers[&best_hash].clone();
            let back = rng.gen_range(0..4).min(best_number - db.finalized().0);
            for _ in 0..back {
                target = headers[&target.parent_hash].clone();
            }
            db.finalize(&target.hash()).unwrap();
        }

        if step % 20 == 0 {
            let (fin_number, _) = db.finalized();
            let mut retained = Vec::new();
            for n in db.oldest_state()..=fin_number {
                retained.push(db.hash(n).unwrap().unwrap());
            }
            let mut stack: Vec<H256> = db.leaves().unwrap().into_iter().map(|(_, h)| h).collect();
            while let Some(h) = stack.pop() {
                let header = &headers[&h];
                if header.number > fin_number && !retained.contains(&h) {
                    retained.push(h);
                    stack.push(header.parent_hash);
                }
            }
            for h in &retained {
                assert_eq!(
                    read_all(&db, h),
                    models[h],
                    "state of #{}",
                    headers[h].number
                );
            }
            assert_trie_is_exactly(&db, &live_nodes(&db, &retained));
            if let Some(pruned) = db.oldest_state().checked_sub(1) {
                let pruned_hash = db.hash(pruned).unwrap().unwrap();
                assert!(matches!(
                    db.state_at(&pruned_hash),
                    Err(DbError::StatePruned { .. })
                ));
            }
        }
    }
    assert!(db.finalized().0 > 2 * window, "the test should prune");
}

#[test]
fn bad_blocks_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), Pruning::Window(4));
    let mut rng = StdRng::seed_from_u64(3);

    // Nothing works before genesis.
    let (_, delta, genesis) = genesis_state(50, 42);
    let early = ImportBlock {
        header: genesis.clone(),
        body: vec![],
        justification: None,
        state: delta.clone(),
        set_best: false,
        finalize: false,
    };
    assert!(matches!(db.import_block(early), Err(DbError::NoGenesis)));
    assert!(matches!(
        db.finalize(&genesis.hash()),
        Err(DbError::NoGenesis)
    ));
    assert_eq!(db.genesis_hash(), None);

    db.initialize_genesis(&genesis, &delta).unwrap();
    let nodes_before = db.trie_nodes().unwrap();

    let good = child(&db, &genesis, &random_changes(&mut rng, 5, 50), 1);

    let mut orphan = good.clone();
    orphan.header.parent_hash = H256::repeat_byte(7);
    assert!(matches!(
        db.import_block(orphan),
        Err(DbError::UnknownParent { .. })
    ));

    let mut wrong_number = good.clone();
    wrong_number.header.number = 5;
    assert!(matches!(
        db.import_block(wrong_number),
        Err(DbError::InvalidNumber { expected: 1, .. })
    ));

    let mut wrong_root = good.clone();
    wrong_root.header.state_root = H256::repeat_byte(1);
    assert!(matches!(
        db.import_block(wrong_root),
        Err(DbError::StateRootMismatch { .. })
    ));

    let mut no_bytes = good.clone();
    if let Some(node) = no_bytes.state.nodes.iter_mut().find(|n| n.rc_delta > 0) {
        node.data = None;
    }
    assert!(matches!(
        db.import_block(no_bytes),
        Err(DbError::InvalidStateDelta(_))
    ));

    // None of the refused imports wrote anything.
    assert_eq!(db.trie_nodes().unwrap(), nodes_before);
    assert_eq!(db.best(), (0, genesis.hash()));

    // Importing the same block twice changes no reference count.
    let hash = good.header.hash();
    db.import_block(good.clone()).unwrap();
    let once = db.trie_nodes().unwrap();
    db.import_block(good.clone()).unwrap();
    assert_eq!(db.trie_nodes().unwrap(), once);
    assert_eq!(db.best(), (0, genesis.hash()));
    let mut again = good.clone();
    again.set_best = true;
    again.justification = Some(b"late justification".to_vec());
    db.import_block(again).unwrap();
    assert_eq!(db.best(), (1, hash));
    assert_eq!(
        db.justification(&hash).unwrap(),
        Some(b"late justification".to_vec())
    );

    // Unknown targets.
    let unknown = H256::repeat_byte(0xEE);
    assert!(matches!(
        db.set_best(&unknown),
        Err(DbError::UnknownBlock(_))
    ));
    assert!(matches!(
        db.finalize(&unknown),
        Err(DbError::UnknownBlock(_))
    ));
    assert!(matches!(
        db.state_at(&unknown),
        Err(DbError::UnknownBlock(_))
    ));
    assert!(matches!(
        db.set_justification(&unknown, b"x"),
        Err(DbError::UnknownBlock(_))
    ));

    // Build 10 finalized blocks; then a fork from an old, pruned block is refused, and so
    // is one from a finalized block whose state is still there.
    let mut chain = vec![genesis.clone(), good.header.clone()];
    for n in 2..=10 {
        let mut block = child(
            &db,
            chain.last().unwrap(),
            &random_changes(&mut rng, 5, 50),
            n,
        );
        block.set_best = true;
        block.finalize = true;
        chain.push(block.header.clone());
        db.import_block(block).unwrap();
    }
    assert_eq!(db.oldest_state(), 6);
    let pruned_parent = chain[2].clone();
    let fork = ImportBlock {
        header: Header {
            parent_hash: pruned_parent.hash(),
            number: 3,
            digest: Digest {
                logs: vec![DigestItem::Other(b"fork".to_vec())],
            },
            ..chain[3].clone()
        },
        ..child(&db, &chain[9], &[], 99)
    };
    assert!(matches!(
        db.import_block(fork),
        Err(DbError::StatePruned {
            number: 2,
            pruned_up_to: 5
        })
    ));
    let late_fork = child(&db, &chain[8], &[(key(1), Some(vec![9]))], 98);
    assert!(matches!(
        db.import_block(late_fork),
        Err(DbError::BelowFinalized {
            number: 9,
            finalized: 10,
            ..
        })
    ));
    // Best and finality cannot move off the finalized chain or backwards.
    assert!(matches!(
        db.set_best(&chain[9].hash()),
        Err(DbError::NotDescendantOfFinalized { .. })
    ));
    db.finalize(&chain[9].hash()).unwrap(); // already final: nothing to do
    assert_eq!(db.finalized(), (10, chain[10].hash()));
}

#[test]
fn genesis_and_pruning_mode_are_checked_on_reopen() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Database>();
    shareable::<arceon_db::DbNodeStore>();
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path(), Pruning::Archive);
        let (_, genesis) = init(&db, 20);
        // The same genesis again is fine; another one is not.
        let (_, delta, header) = genesis_state(20, 42);
        db.initialize_genesis(&header, &delta).unwrap();
        assert_eq!(db.genesis_hash(), Some(genesis.hash()));
        let (_, other_delta, other) = genesis_state(21, 42);
        assert!(matches!(
            db.initialize_genesis(&other, &other_delta),
            Err(DbError::GenesisMismatch { .. })
        ));
    }
    match Database::open(dir.path(), Pruning::Window(256)) {
        Err(
            err @ DbError::PruningMismatch {
                stored: Pruning::Archive,
                requested: Pruning::Window(256),
            },
        ) => {
            assert!(err.to_string().contains("archive"), "{err}");
        }
        other => panic!("expected PruningMismatch, got {other:?}"),
    }
    let db = open(dir.path(), Pruning::Archive);
    assert_eq!(db.best().0, 0);

    assert_eq!("archive".parse::<Pruning>().unwrap(), Pruning::Archive);
    assert_eq!("1000".parse::<Pruning>().unwrap(), Pruning::Window(1000));
    assert!(matches!(
        "forever".parse::<Pruning>(),
        Err(DbError::InvalidPruning(_))
    ));
    assert_eq!(Pruning::default(), Pruning::Window(256));
    assert_eq!(Pruning::Window(7).to_string(), "7");

    // A genesis that is not block 0 or whose state does not match is refused.
    let fresh = tempfile::tempdir().unwrap();
    let db = open(fresh.path(), Pruning::default());
    let (_, delta, mut header) = genesis_state(5, 1);
    header.number = 1;
    assert!(matches!(
        db.initialize_genesis(&header, &delta),
        Err(DbError::InvalidNumber { .. })
    ));
    header.number = 0;
    header.state_root = EMPTY_ROOT;
    assert!(matches!(
        db.initialize_genesis(&header, &delta),
        Err(DbError::StateRootMismatch { .. })
    ));
}

#[test]
fn corrupt_values_on_disk_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let block_hash;
    {
        let db = open(dir.path(), Pruning::Window(8));
        let (_, genesis) = init(&db, 30);
        let mut block = child(
            &db,
            &genesis,
            &random_changes(&mut StdRng::seed_from_u64(1), 3, 30),
            1,
        );
        block.set_best = true;
        block_hash = block.header.hash();
        db.import_block(block).unwrap();
    }
    // Scribble over a header, a lookup and a trie node with raw RocksDB.
    {
        // trie_rc needs its merge operator even to replay the log of a block import.
        let sum = |_: &[u8], existing: Option<&[u8]>, operands: &rocksdb::MergeOperands| {
            let parse = |b: &[u8]| i64::from_le_bytes(b.try_into().unwrap());
            let total = existing.map_or(0, parse) + operands.iter().map(parse).sum::<i64>();
            Some(total.to_le_bytes().to_vec())
        };
        let opts = rocksdb::Options::default();
        let cfs = rocksdb::DB::list_cf(&opts, dir.path()).unwrap();
        let descriptors = cfs.iter().map(|name| {
            let mut cf_opts = rocksdb::Options::default();
            if name == "trie_rc" {
                cf_opts.set_merge_operator_associative("arceon_rc_add", sum);
            }
            rocksdb::ColumnFamilyDescriptor::new(name, cf_opts)
        });
        let raw = rocksdb::DB::open_cf_descriptors(&opts, dir.path(), descriptors).unwrap();
        let headers = raw.cf_handle("headers").unwrap();
        raw.put_cf(headers, block_hash.as_bytes(), [0xFF, 0x01])
            .unwrap();
        let lookup = raw.cf_handle("lookup").unwrap();
        let mut number_key = vec![b'n'];
        number_key.extend_from_slice(&1u32.to_be_bytes());
        raw.put_cf(lookup, &number_key, [1, 2, 3]).unwrap();
    }
    let db = open(dir.path(), Pruning::Window(8));
    assert!(matches!(
        db.header(&block_hash),
        Err(DbError::Corrupt {
            column: "headers",
            ..
        })
    ));
    assert!(matches!(
        db.state_at(&block_hash),
        Err(DbError::Corrupt { .. })
    ));
    assert!(matches!(
        db.hash(1),
        Err(DbError::Corrupt {
            column: "lookup",
            ..
        })
    ));
    // The rest of the database still works.
    assert!(db.header(&db.genesis_hash().unwrap()).unwrap().is_some());
}

#[test]
fn a_large_state_imports_with_the_node_cache() {
    // Not a benchmark: checks that a cache much smaller than the state serves reads
    // correctly and gets hits (the top of the trie), on a state of 20,000 keys.
    let dir = tempfile::tempdir().unwrap();
    let config = DbConfig {
        pruning: Pruning::Window(4),
        node_cache_bytes: 256 << 10,
        ..DbConfig::default()
    };
    let db = Database::open_with_config(dir.path(), config).unwrap();
    let (mut model, genesis) = init(&db, 20_000);
    let mut rng = StdRng::seed_from_u64(11);
    let mut parent = genesis;
    for n in 1..=20 {
        let changes = random_changes(&mut rng, 300, 20_000);
        let mut block = child(&db, &parent, &changes, n);
        block.set_best = true;
        block.finalize = true;
        apply(&mut model, &changes);
        parent = block.header.clone();
        db.import_block(block).unwrap();
    }
    let state = db.state_at(&parent.hash()).unwrap();
    for (k, v) in model.iter().step_by(53) {
        assert_eq!(state.get(k).unwrap().as_ref(), Some(v));
    }
    let (hits, misses) = db.node_store().cache_stats().unwrap();
    println!("node cache: {hits} hits, {misses} misses");
    assert!(hits > 0);
}

/// A node that pruning drops while the block imported in the same write brings it back
/// (a value set, changed, then set again) must survive: counts are summed before deciding.
#[test]
fn node_pruned_and_reinserted_in_one_batch_survives() {
    for window in [0, 1] {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), Pruning::Window(window));
        let (_, genesis) = init(&db, 10);
        let value_v = vec![0x56; 40]; // long enough to be its own node
        let value_node = H256(arceon_primitives::blake2_256(&value_v));
        let sets = [
            value_v.clone(),
            vec![0x57; 40],
            value_v.clone(),
            vec![0x58; 40],
            value_v.clone(),
        ];
        let mut parent = genesis;
        for (i, value) in sets.iter().enumerate() {
            let mut block = child(&db, &parent, &[(key(500), Some(value.clone()))], i as u64);
            block.set_best = true;
            block.finalize = true;
            parent = block.header.clone();
            db.import_block(block).unwrap();
            let state = db.state_at(&parent.hash()).unwrap();
            assert_eq!(
                state.get(&key(500)).unwrap().as_ref(),
                Some(value),
                "window {window}, block {}",
                i + 1
            );
            // The node is stored iff a retained state (the last `window` + 1 blocks) uses it.
            let number = i + 1;
            let retained = number.saturating_sub(window as usize).max(1)..=number;
            let expected = retained.into_iter().any(|n| sets[n - 1] == value_v);
            assert_eq!(
                db.contains_trie_node(&value_node).unwrap(),
                expected,
                "window {window}, block {number}"
            );
        }
        assert_eq!(recomputed_root(&db, &parent.hash()), parent.state_root);
    }
}

#[test]
fn a_warp_synced_base_is_checked_and_carries_the_chain_on() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = open(source_dir.path(), Pruning::Window(8));
    let mut rng = StdRng::seed_from_u64(11);
    let (mut model, genesis) = init(&source, 200);
    let mut head = genesis.clone();
    for n in 1..=20u64 {
        let changes = random_changes(&mut rng, 20, 300);
        let mut block = child(&source, &head, &changes, n);
        block.set_best = true;
        block.finalize = true;
        apply(&mut model, &changes);
        head = block.header.clone();
        source.import_block(block).unwrap();
    }
    let body = source.body(&head.hash()).unwrap().unwrap();
    // The state as warp sync rebuilds it: every pair, inserted into an empty trie.
    let state = arceon_state::storage_root(read_all(&source, &head.hash()));
    assert_eq!(state.root, head.state_root);

    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path(), Pruning::Window(8));
        let (_, delta, genesis_b) = genesis_state(200, 42);
        assert!(matches!(
            db.import_warp_base(&head, &body, b"proof", &state, &[]),
            Err(DbError::NoGenesis)
        ));
        db.initialize_genesis(&genesis_b, &delta).unwrap();
        let nodes_before = db.trie_nodes().unwrap();

        // Genesis is no warp target.
        assert!(matches!(
            db.import_warp_base(&genesis, &[], b"proof", &delta, &[]),
            Err(DbError::InvalidNumber { number: 0, .. })
        ));
        // A state that does not hash to the header's root is refused whole.
        let mut lying = head.clone();
        lying.state_root = H256::repeat_byte(9);
        assert!(matches!(
            db.import_warp_base(
                &lying,
                &body,
                b"proof",
                &state,
                &[(&b"warp-set"[..], &b"lying"[..])]
            ),
            Err(DbError::StateRootMismatch { .. })
        ));
        let partial =
            arceon_state::storage_root(read_all(&source, &head.hash()).into_iter().skip(1));
        assert!(matches!(
            db.import_warp_base(&head, &body, b"proof", &partial, &[]),
            Err(DbError::StateRootMismatch { .. })
        ));
        assert_eq!(db.trie_nodes().unwrap(), nodes_before);
        assert_eq!(db.aux_get(b"warp-set").unwrap(), None);
        assert_eq!(db.best(), (0, genesis_b.hash()));
        assert_eq!(db.header(&head.hash()).unwrap(), None);

        let hash = db
            .import_warp_base(
                &head,
                &body,
                b"proof",
                &state,
                &[(&b"warp-set"[..], &b"set 3"[..])],
            )
            .unwrap();
        assert_eq!(hash, head.hash());
        // Only a database holding nothing but genesis takes a warp base.
        assert!(matches!(
            db.import_warp_base(&head, &body, b"proof", &state, &[]),
            Err(DbError::InvalidStateDelta(_))
        ));
    }

    // The base survives a reopen and the chain grows on it.
    let db = open(dir.path(), Pruning::Window(8));
    assert_eq!(db.best(), (20, head.hash()));
    assert_eq!(db.finalized(), (20, head.hash()));
    // The records written with the base (the authority set) are there with it.
    assert_eq!(db.aux_get(b"warp-set").unwrap(), Some(b"set 3".to_vec()));
    assert_eq!(db.hash(20).unwrap(), Some(head.hash()));
    assert_eq!(db.body(&head.hash()).unwrap(), Some(body));
    assert_eq!(
        db.justification(&head.hash()).unwrap(),
        Some(b"proof".to_vec())
    );
    assert_eq!(read_all(&db, &head.hash()), model);
    let changes = random_changes(&mut rng, 20, 300);
    let mut next = child(&db, &head, &changes, 21);
    next.set_best = true;
    next.finalize = true;
    let next_hash = next.header.hash();
    let next_root = next.header.state_root;
    db.import_block(next).unwrap();
    apply(&mut model, &changes);
    assert_eq!(db.best(), (21, next_hash));
    assert_eq!(recomputed_root(&db, &next_hash), next_root);
    assert_eq!(read_all(&db, &next_hash), model);
}

#[test]
fn auxiliary_values_are_scanned_by_prefix_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path(), Pruning::Window(8));
        init(&db, 4);
        db.aux_put(&[
            (&b"lane-cert:\x01"[..], Some(&b"one"[..])),
            (&b"lane-cert:\x02"[..], Some(&b"two"[..])),
            (&b"lane-cert:\x03"[..], Some(&b"three"[..])),
            // Neighbours of the prefix on both sides are not part of it.
            (&b"lane-cer"[..], Some(&b"before"[..])),
            (&b"lane-tip:\x01"[..], Some(&b"after"[..])),
        ])
        .unwrap();
        db.aux_put(&[(&b"lane-cert:\x02"[..], None)]).unwrap();
    }
    let db = open(dir.path(), Pruning::Window(8));
    assert_eq!(
        db.aux_scan(b"lane-cert:", 100).unwrap(),
        vec![
            (b"lane-cert:\x01".to_vec(), b"one".to_vec()),
            (b"lane-cert:\x03".to_vec(), b"three".to_vec()),
        ]
    );
    // The limit bounds what one scan reads.
    assert_eq!(db.aux_scan(b"lane-cert:", 1).unwrap().len(), 1);
    assert!(db.aux_scan(b"lane-none:", 100).unwrap().is_empty());
}

#[test]
fn revert_undoes_unfinalized_blocks_and_never_crosses_finality() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), Pruning::Window(16));
    let (_, genesis) = init(&db, 200);
    let mut rng = StdRng::seed_from_u64(11);
    let mut chain = vec![genesis.clone()];
    for i in 0..4u64 {
        let parent = chain.last().unwrap().clone();
        let mut block = child(&db, &parent, &random_changes(&mut rng, 8, 200), i + 1);
        block.set_best = true;
        chain.push(block.header.clone());
        db.import_block(block).unwrap();
    }
    // A fork off #2 at #3, never best.
    let fork = child(&db, &chain[2], &random_changes(&mut rng, 8, 200), 42);
    let fork_hash = fork.header.hash();
    db.import_block(fork).unwrap();
    db.finalize(&chain[1].hash()).unwrap();
    assert_eq!(db.best(), (4, chain[4].hash()));

    // Three unfinalized blocks may go, not four.
    let refused = db.revert(4).unwrap_err();
    assert!(
        matches!(
            refused,
            DbError::RevertPastFinality {
                requested: 4,
                unfinalized: 3,
                finalized: 1
            }
        ),
        "{refused}"
    );
    assert_eq!(
        db.best(),
        (4, chain[4].hash()),
        "a refused revert changes nothing"
    );

    assert_eq!(db.revert(2).unwrap(), (2, chain[2].hash()));
    assert_eq!(db.best(), (2, chain[2].hash()));
    assert_eq!(db.finalized(), (1, chain[1].hash()));
    for gone in [chain[3].hash(), chain[4].hash(), fork_hash] {
        assert!(db.header(&gone).unwrap().is_none(), "{gone:?} survived");
        assert!(matches!(db.state_at(&gone), Err(DbError::UnknownBlock(_))));
    }
    assert_eq!(db.hash(3).unwrap(), None);
    let live = live_nodes(&db, &[chain[0].hash(), chain[1].hash(), chain[2].hash()]);
    assert_trie_is_exactly(&db, &live);
    assert_eq!(recomputed_root(&db, &chain[2].hash()), chain[2].state_root);

    // The reverted block imports again, and the revert survives a reopen.
    let mut again = child(&db, &chain[2], &random_changes(&mut rng, 8, 200), 7);
    again.set_best = true;
    let again_hash = again.header.hash();
    db.import_block(again).unwrap();
    assert_eq!(db.best(), (3, again_hash));
    drop(db);
    let db = open(dir.path(), Pruning::Window(16));
    assert_eq!(db.best(), (3, again_hash));
    assert!(db.revert(3).is_err(), "only two blocks are above finality");
}

#[test]
fn blocks_pruning_deletes_old_bodies_and_justifications_but_set_changes() {
    let dir = tempfile::tempdir().unwrap();
    let config = DbConfig {
        pruning: Pruning::Window(4),
        blocks_pruning: arceon_db::BlocksPruning::Window(5),
        ..DbConfig::default()
    };
    let db = Database::open_with_config(dir.path(), config.clone()).unwrap();
    let (_, genesis) = init(&db, 50);
    let mut rng = StdRng::seed_from_u64(3);
    let mut chain = vec![genesis];
    for n in 1..=30u64 {
        let parent = chain.last().unwrap().clone();
        let mut block = child(&db, &parent, &random_changes(&mut rng, 3, 50), n + 3);
        if n == 7 {
            // Block 7 announces a GRANDPA authority-set change.
            block.header.digest.logs.push(DigestItem::Consensus(
                arceon_primitives::GRANDPA_ENGINE_ID,
                vec![1, 2, 3],
            ));
        }
        if n % 10 == 0 || n == 7 || n == 3 {
            block.justification = Some(vec![n as u8; 8]);
        }
        block.set_best = true;
        block.finalize = true;
        chain.push(block.header.clone());
        db.import_block(block).unwrap();
    }
    assert_eq!(db.oldest_body(), 25);
    for (n, header) in chain.iter().enumerate().skip(1) {
        let hash = header.hash();
        assert!(db.header(&hash).unwrap().is_some(), "headers stay: #{n}");
        assert_eq!(db.body(&hash).unwrap().is_some(), n >= 25, "body of #{n}");
        let kept = db.justification(&hash).unwrap().is_some();
        let expected = n == 7 || n == 30;
        assert_eq!(kept, expected, "justification of #{n}");
    }
    // The cursors survive a reopen; a later finalization prunes on from them.
    drop(db);
    let db = Database::open_with_config(dir.path(), config).unwrap();
    assert_eq!(db.oldest_body(), 25);
    let parent = chain.last().unwrap().clone();
    let mut block = child(&db, &parent, &[], 99);
    block.set_best = true;
    block.finalize = true;
    db.import_block(block).unwrap();
    assert_eq!(db.oldest_body(), 26);
    assert!(db.body(&chain[25].hash()).unwrap().is_none());
    assert!(
        db.justification(&chain[30].hash()).unwrap().is_some(),
        "the newest justification stays"
    );
}
