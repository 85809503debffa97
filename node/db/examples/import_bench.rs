//! Prints block-import figures for a large state:
//! `cargo run -p arceon-db --example import_bench -- [keys] [changes/block] [blocks] [node cache MiB]`
//! (defaults: 1,000,000 keys, 2,000 changes, 50 blocks, 64 MiB).
//!
//! The state is built by importing blocks of 100,000 new keys, then `blocks` blocks each
//! overwriting `changes` random existing keys are imported with `set_best` and `finalize`
//! (window 256). Time is split into state computation (`apply_changes`, reading through the
//! database) and the database write.

use std::time::{Duration, Instant};

use arceon_db::{Database, DbConfig, ImportBlock, Pruning};
use arceon_primitives::{blake2_256, Digest, Header, H256};
use arceon_state::{ordered_trie_root, EMPTY_ROOT};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn key(id: u32) -> Vec<u8> {
    let mut key = vec![0x26; 16];
    key.extend_from_slice(&blake2_256(&id.to_le_bytes())[..16]);
    key.extend_from_slice(&id.to_le_bytes());
    key
}

fn value(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.gen_range(16..80);
    (0..len).map(|_| rng.gen()).collect()
}

fn import(
    db: &Database,
    parent: &Header,
    changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
) -> anyhow::Result<(Header, Duration, Duration)> {
    let started = Instant::now();
    let state = db.state_at(&parent.hash())?;
    let delta = state.apply_changes(changes)?;
    let computed = started.elapsed();
    let header = Header {
        parent_hash: parent.hash(),
        number: parent.number + 1,
        state_root: delta.root,
        extrinsics_root: ordered_trie_root(&[]),
        digest: Digest::default(),
    };
    let started = Instant::now();
    db.import_block(ImportBlock {
        header: header.clone(),
        body: Vec::new(),
        justification: None,
        state: delta,
        set_best: true,
        finalize: true,
    })?;
    Ok((header, computed, started.elapsed()))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let keys = args.first().copied().unwrap_or(1_000_000) as u32;
    let changes = args.get(1).copied().unwrap_or(2_000);
    let blocks = args.get(2).copied().unwrap_or(50);
    let cache_mib = args.get(3).copied().unwrap_or(64);

    let dir = tempfile::tempdir()?;
    let config = DbConfig {
        pruning: Pruning::Window(256),
        node_cache_bytes: cache_mib << 20,
        ..DbConfig::default()
    };
    let db = Database::open_with_config(dir.path(), config)?;
    let genesis = Header {
        parent_hash: H256::zero(),
        number: 0,
        state_root: EMPTY_ROOT,
        extrinsics_root: ordered_trie_root(&[]),
        digest: Digest::default(),
    };
    db.initialize_genesis(&genesis, &arceon_state::storage_root(Vec::new()))?;
    let mut rng = StdRng::seed_from_u64(1);

    let started = Instant::now();
    let mut parent = genesis;
    let mut next_id = 0u32;
    while next_id < keys {
        let end = keys.min(next_id + 100_000);
        let batch: Vec<_> = (next_id..end)
            .map(|id| (key(id), Some(value(&mut rng))))
            .collect();
        parent = import(&db, &parent, batch)?.0;
        next_id = end;
    }
    println!(
        "built {keys} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (mut compute, mut write) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..blocks {
        let batch: Vec<_> = (0..changes)
            .map(|_| (key(rng.gen_range(0..keys)), Some(value(&mut rng))))
            .collect();
        let (header, c, w) = import(&db, &parent, batch)?;
        compute += c;
        write += w;
        parent = header;
    }
    let n = blocks as f64;
    println!(
        "{blocks} blocks x {changes} changes, node cache {cache_mib} MiB: apply_changes {:.1} ms/block, db write {:.1} ms/block",
        compute.as_secs_f64() * 1e3 / n,
        write.as_secs_f64() * 1e3 / n
    );
    if let Some((hits, misses)) = db.node_store().cache_stats() {
        println!("node cache: {hits} hits, {misses} misses");
    }
    db.flush()?;
    println!(
        "size on disk {:.1} MiB",
        db.size_on_disk() as f64 / (1 << 20) as f64
    );
    Ok(())
}
