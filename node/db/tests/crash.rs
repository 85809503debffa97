//! Crash safety: a writer process importing blocks is killed with SIGKILL at random
//! moments; every time, the database must reopen consistent.
//!
//! The writer is this test binary re-executed with `ARCEON_DB_CRASH_WRITER` set, running
//! only the `crash_writer` test.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the assertion

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arceon_db::{Database, Pruning};
use arceon_primitives::H256;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WRITER_ENV: &str = "ARCEON_DB_CRASH_WRITER";
const BLOCKS_ENV: &str = "ARCEON_DB_CRASH_BLOCKS";
/// The seed of a run: the kill schedule and each writer's choices derive from it.
const SEED_ENV: &str = "ARCEON_TEST_SEED";
const WINDOW: u32 = 16;
const KEYS: u32 = 600;

/// The writer role: import `ARCEON_DB_CRASH_BLOCKS` blocks on top of whatever is stored,
/// with forks, best-block moves, lagging finality and pruning.
#[test]
fn crash_writer() {
    let Ok(path) = std::env::var(WRITER_ENV) else {
        return; // Only runs as the child of `sigkill_at_random_moments_leaves_a_consistent_database`.
    };
    let blocks: u64 = std::env::var(BLOCKS_ENV).unwrap().parse().unwrap();
    let db = Database::open(Path::new(&path), Pruning::Window(WINDOW)).unwrap();
    let (_, delta, genesis) = genesis_state(KEYS, 42);
    db.initialize_genesis(&genesis, &delta).unwrap();
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..blocks {
        let (_, best_hash) = db.best();
        let best = db.header(&best_hash).unwrap().unwrap();
        let changes = random_changes(&mut rng, 30, KEYS + 100);
        let salt = rng.gen();
        let fork = rng.gen_bool(0.15) && best.number > db.finalized().0;
        let mut block = if fork {
            // A sibling of the best block, which later finality will discard.
            let parent = db.header(&best.parent_hash).unwrap().unwrap();
            child(&db, &parent, &changes, salt)
        } else {
            let mut block = child(&db, &best, &changes, salt);
            block.set_best = true;
            block
        };
        if !fork && rng.gen_bool(0.05) {
            block.finalize = true;
        }
        db.import_block(block).unwrap();
        if rng.gen_bool(0.2) {
            let (best_number, best_hash) = db.best();
            let mut target = best_hash;
            for _ in 0..rng.gen_range(0..4).min(best_number - db.finalized().0) {
                target = db.header(&target).unwrap().unwrap().parent_hash;
            }
            db.finalize(&target).unwrap();
        }
    }
}

/// Starts a writer whose random choices come from `seed`.
fn spawn_writer(path: &Path, blocks: u64, seed: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_writer", "--test-threads=1", "--nocapture"])
        .env(WRITER_ENV, path)
        .env(BLOCKS_ENV, blocks.to_string())
        .env(SEED_ENV, seed.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Everything a restarting node relies on, checked after each crash.
fn check_consistent(path: &Path) -> (u32, H256) {
    let db = Database::open(path, Pruning::Window(WINDOW)).unwrap();
    let (best_number, best_hash) = db.best();
    let (fin_number, fin_hash) = db.finalized();
    assert!(
        fin_number <= best_number,
        "finalized #{fin_number} above best #{best_number}"
    );
    assert!(db.oldest_state() <= fin_number);

    let best = db.header(&best_hash).unwrap().expect("best header");
    assert_eq!(best.number, best_number);
    assert!(db.body(&best_hash).unwrap().is_some(), "best body missing");
    assert_eq!(db.hash(best_number).unwrap(), Some(best_hash));
    assert_eq!(db.hash(best_number + 1).unwrap(), None);
    assert_eq!(db.number(&best_hash).unwrap(), Some(best_number));
    assert_eq!(
        recomputed_root(&db, &best_hash),
        best.state_root,
        "best state root"
    );

    // Best descends from finalized through stored blocks on the lookup chain.
    let mut cursor = best;
    while cursor.number > fin_number {
        cursor = db
            .header(&cursor.parent_hash)
            .unwrap()
            .expect("ancestor header");
        assert_eq!(db.hash(cursor.number).unwrap(), Some(cursor.hash()));
    }
    assert_eq!(cursor.hash(), fin_hash);
    let finalized = db.header(&fin_hash).unwrap().unwrap();
    assert_eq!(
        recomputed_root(&db, &fin_hash),
        finalized.state_root,
        "finalized state root"
    );

    // Every fork head's state is complete too, and no stored node has a bad count.
    for (_, leaf) in db.leaves().unwrap() {
        let header = db.header(&leaf).unwrap().expect("leaf header");
        assert_eq!(
            recomputed_root(&db, &leaf),
            header.state_root,
            "leaf state root"
        );
    }
    assert!(db.trie_nodes().unwrap().iter().all(|(_, rc)| *rc > 0));
    (best_number, best_hash)
}

#[test]
fn sigkill_at_random_moments_leaves_a_consistent_database() {
    if std::env::var(WRITER_ENV).is_ok() {
        return;
    }
    let seed: u64 = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let started = Instant::now();

    let output = spawn_writer(path, 1_000, seed).wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "writer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (mut best_number, _) = check_consistent(path);
    assert!(best_number >= 800, "best #{best_number} after 1000 imports");
    println!("1000 blocks written in {:?}", started.elapsed());

    println!("kill schedule seed {seed} (replay with {SEED_ENV}={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut progressed = 0;
    for round in 0..40 {
        let mut writer = spawn_writer(path, 1_000_000, seed.wrapping_add(round + 1));
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..200)));
        // Child::kill sends SIGKILL on Unix.
        writer.kill().unwrap();
        let status = writer.wait().unwrap();
        if status.success() {
            panic!("writer exited before being killed in round {round}");
        }
        let (number, _) = check_consistent(path);
        // Best only ever moves forward in this workload; a crash may lose the last
        // writes but never goes back past what was already durable.
        assert!(
            number >= best_number,
            "round {round}: best went back from #{best_number} to #{number}"
        );
        if number > best_number {
            progressed += 1;
        }
        best_number = number;
    }
    println!(
        "40 kills, best advanced in {progressed} rounds to #{best_number}, total {:?}",
        started.elapsed()
    );
    assert!(progressed > 0, "the writer never got to import anything");
}
