//! `arceon-node benchmark import`: how fast the node imports blocks full of signed
//! transfers (`--workload transfers`) or signed player moves (`--workload moves`),
//! compared with how fast one core verifies sr25519 signatures.
//!
//! The blocks are prepared in memory first (signing and building are not measured), then
//! imported one by one through the real import path — seal check, `execute_block` with
//! its batched signature checks, state root, one RocksDB write per block — into a fresh
//! database in a temporary directory.

use std::time::{Duration, Instant};

use anyhow::Context;
use arceon_chain_spec::GenesisBlock;
use arceon_client::{seal, Client, ImportOptions, Pruning};
use arceon_pallet_balances as balances;
use arceon_primitives::{
    keyring::{numbered_pair, Keyring},
    sr25519, Block, Digest, DigestItem, Era, MultiAddress, SignedExtra, ARCM, AURA_ENGINE_ID, H256,
};
use arceon_runtime::genesis::{genesis_block, AuraConfig, GrandpaConfig};
use arceon_runtime::{executive::sign_extrinsic, BlockBuilder, Call, GenesisConfig};
use arceon_state::{MemoryNodeStore, TrieState};
use codec::Encode;
use rand::{rngs::StdRng, Rng, SeedableRng};
use sp_core::Pair as _;

/// What the benchmark blocks contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `Balances.transfer_keep_alive` between random accounts.
    Transfers,
    /// `Players.move_to` by registered players, each a few units per block inside one
    /// large area (every move passes the physics and rate-limit checks).
    Moves,
    /// The same moves as fast-lane actions: certified lane batches (up to 256 moves
    /// each, one committee signature, every player signature checked) as blocks carry
    /// them. The verified-signature cache is emptied before the import, so every player
    /// signature is verified again, as on a node outside the committee.
    LaneMoves,
}

/// Options of `benchmark import`.
#[derive(Debug, clap::Args)]
pub struct ImportBenchmark {
    /// What the blocks contain.
    #[arg(long, value_enum, default_value_t = Workload::Transfers)]
    pub workload: Workload,
    /// Blocks to import.
    #[arg(long, default_value_t = 16)]
    pub blocks: u32,
    /// Signed transfers per block (a busy block; the weight limit allows about 23,000).
    /// Each block also has a fixed cost (state-root path updates, database write), so
    /// smaller blocks import fewer extrinsics per second.
    #[arg(long, default_value_t = 5_000)]
    pub extrinsics: u32,
    /// Accounts the transfers move ArcM between.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u32,
    /// State pruning of the database: `archive` or a number of blocks.
    #[arg(long, default_value = "256")]
    pub state_pruning: Pruning,
    /// Signatures verified one by one to measure the single-core rate.
    #[arg(long, default_value_t = 20_000)]
    pub verify_samples: u32,
    /// Seed of the random transfer pattern.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Moves per certified batch in the lane-moves workload (1 to 256). Small batches
    /// show the fixed cost of a batch: its extrinsic, certificate and lane head.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub lane_batch: u32,
}

struct Prepared {
    genesis: GenesisBlock,
    blocks: Vec<Block>,
    /// `(message, signature, signer)` of some extrinsics, for the verification rate.
    samples: Vec<(Vec<u8>, sr25519::Signature, sr25519::Public)>,
}

fn progress(label: &str, done: u64, total: u64, started: Instant) {
    if done == total || done.is_multiple_of((total / 10).max(1)) {
        eprintln!(
            "  {label}: {done}/{total} ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
}

fn prepare(args: &ImportBenchmark) -> anyhow::Result<Prepared> {
    if args.workload == Workload::LaneMoves {
        return prepare_lane_moves(args);
    }
    anyhow::ensure!(args.accounts >= 2, "need at least two accounts");
    anyhow::ensure!(args.blocks >= 1, "need at least one block");
    let started = Instant::now();
    eprintln!("deriving {} account keys", args.accounts);
    let keys: Vec<sr25519::Pair> = (0..args.accounts)
        .map(|i| {
            let pair = numbered_pair(i);
            progress("keys", i as u64 + 1, args.accounts as u64, started);
            pair
        })
        .collect();
    let alice = Keyring::Alice.pair();
    let moves = args.workload == Workload::Moves;
    anyhow::ensure!(
        !moves || args.extrinsics <= args.accounts,
        "the moves workload needs at least as many accounts as moves per block (each player moves once per block)"
    );
    let config = GenesisConfig {
        system: Default::default(),
        aura: AuraConfig {
            authorities: vec![alice.public()],
            slot_duration: 1000,
        },
        grandpa: GrandpaConfig {
            authorities: vec![(
                arceon_primitives::keyring::Keyring::Alice
                    .session_keys()
                    .grandpa,
                1,
            )],
        },
        balances: balances::GenesisConfig {
            balances: keys
                .iter()
                .map(|k| (k.public().into(), 1_000_000 * ARCM))
                .chain(std::iter::once((alice.public().into(), 1_000_000 * ARCM)))
                .collect(),
        },
        staking: Default::default(),
        areas: if moves {
            bench_world(args.accounts)
        } else {
            Default::default()
        },
        players: if moves {
            arceon_pallet_players::GenesisConfig {
                max_actions_per_block: 4,
                max_actions_per_era: 1_000_000,
                players: keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.public().into(), format!("player{i}")))
                    .collect(),
                ..Default::default()
            }
        } else {
            Default::default()
        },
        ..Default::default()
    };
    let storage = config.build_storage()?;
    let (header, delta) = genesis_block(&storage);
    let genesis = GenesisBlock {
        hash: header.hash(),
        header,
        state: delta,
        storage,
    };

    eprintln!(
        "building {} blocks of {} signed {} in memory",
        args.blocks,
        args.extrinsics,
        if moves { "moves" } else { "transfers" }
    );
    let spawn = bench_world(args.accounts)
        .areas
        .first()
        .map(|area| area.bounds.centre())
        .unwrap_or_default();
    let mut positions = vec![spawn; keys.len()];
    let mut store = MemoryNodeStore::from_delta(&genesis.state)?;
    let mut nonces = vec![0u32; args.accounts as usize];
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut parent = (genesis.hash, genesis.header.state_root);
    let mut blocks = Vec::with_capacity(args.blocks as usize);
    let mut samples = Vec::new();
    let mut sender = 0usize;
    let started = Instant::now();
    for number in 1..=args.blocks {
        let mut extrinsics = Vec::with_capacity(args.extrinsics as usize);
        for _ in 0..args.extrinsics {
            sender = (sender + 1) % keys.len();
            let mut dest = rng.gen_range(0..keys.len());
            if dest == sender {
                dest = (dest + 1) % keys.len();
            }
            let call = if moves {
                // A step of at most 5 units on each axis: within the 10 units a player
                // may walk per block, and inside the area (the walk stays near its centre
                // for any benchmark length on average; clamped to be sure).
                let position = &mut positions[sender];
                let step = 5 * arceon_pallet_areas::UNIT;
                position.x =
                    (position.x + rng.gen_range(-step..=step)).clamp(step, BENCH_SIDE - step);
                position.y =
                    (position.y + rng.gen_range(-step..=step)).clamp(step, BENCH_SIDE - step);
                Call::Players(arceon_pallet_players::Call::MoveTo {
                    x: position.x,
                    y: position.y,
                })
            } else {
                Call::Balances(balances::Call::TransferKeepAlive {
                    dest: MultiAddress::Id(keys[dest].public().into()),
                    value: rng.gen_range(1..1_000) * ARCM / 1_000,
                })
            };
            let extra = SignedExtra {
                era: Era::Immortal,
                nonce: nonces[sender],
                tip: 0,
            };
            nonces[sender] += 1;
            let call_bytes = call.encode();
            let xt = sign_extrinsic(call, &keys[sender], extra, genesis.hash, genesis.hash);
            if samples.len() < args.extrinsics as usize {
                if let Some((_, arceon_primitives::MultiSignature::Sr25519(sig), _)) = &xt.signature
                {
                    let message = arceon_primitives::SignedPayload {
                        call: &call_bytes,
                        extra,
                        additional: arceon_primitives::AdditionalSigned {
                            spec_version: arceon_runtime::SPEC_VERSION,
                            transaction_version: arceon_runtime::TRANSACTION_VERSION,
                            genesis_hash: genesis.hash,
                            era_checkpoint: genesis.hash,
                        },
                    }
                    .message();
                    samples.push((
                        message,
                        sr25519::Signature::from_raw(*sig),
                        keys[sender].public(),
                    ));
                }
            }
            extrinsics.push(xt.encode());
        }
        let block = build_block(&mut store, parent, number, genesis.hash, extrinsics, &alice)?;
        parent = (block.header.hash(), block.header.state_root);
        blocks.push(block);
        progress("blocks", number as u64, args.blocks as u64, started);
    }
    Ok(Prepared {
        genesis,
        blocks,
        samples,
    })
}

/// Builds, applies to `store` and seals (with `author`, slot `number`) block `number`
/// on `parent` (hash, state root); every extrinsic must apply.
fn build_block(
    store: &mut MemoryNodeStore,
    parent: (H256, H256),
    number: u32,
    genesis_hash: H256,
    extrinsics: Vec<Vec<u8>>,
    author: &sr25519::Pair,
) -> anyhow::Result<Block> {
    let state = TrieState::new(&*store, parent.1);
    let digest = Digest {
        logs: vec![DigestItem::PreRuntime(
            AURA_ENGINE_ID,
            u64::from(number).encode(),
        )],
    };
    let mut builder = BlockBuilder::new(&state, parent.0, number, digest, genesis_hash)?;
    for xt in extrinsics {
        match builder.apply_extrinsic(xt) {
            Ok(Ok(())) => {}
            other => anyhow::bail!("a benchmark extrinsic was not applied: {other:?}"),
        }
    }
    let built = builder.finalize()?;
    store.apply(&built.delta)?;
    Ok(seal(built.header, built.extrinsics, author))
}

/// The lane-moves workload: the dev chain (Alice validates and is the committee of every
/// area) with one large area, every account a player joined to the lanes, and blocks
/// of certified batches in which each player moves once.
fn prepare_lane_moves(args: &ImportBenchmark) -> anyhow::Result<Prepared> {
    use arceon_pallet_fastlane::{
        self as fastlane, ActionKind, Batch, BatchHeader, Certificate, CertifiedBatch, LaneAction,
        Outcome, SignedLaneAction,
    };
    anyhow::ensure!(args.blocks >= 1, "need at least one block");
    anyhow::ensure!(
        args.extrinsics <= args.accounts,
        "the lane-moves workload needs at least as many players as moves per block"
    );
    let started = Instant::now();
    eprintln!("deriving {} player keys", args.accounts);
    let keys: Vec<sr25519::Pair> = (0..args.accounts)
        .map(|i| {
            let pair = numbered_pair(i);
            progress("keys", i as u64 + 1, args.accounts as u64, started);
            pair
        })
        .collect();
    let alice = Keyring::Alice.pair();
    let spec = arceon_chain_spec::ChainSpec::load("dev")?;
    let arceon_chain_spec::Genesis::RuntimeGenesis(runtime) = spec.genesis else {
        anyhow::bail!("the dev chain spec has no runtime genesis");
    };
    let mut config = runtime.config;
    config.areas = bench_world(args.accounts);
    config.players = arceon_pallet_players::GenesisConfig {
        players: keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.public().into(), format!("player{i}")))
            .collect(),
        ..Default::default()
    };
    config.fast_lane.joined = keys.iter().map(|k| k.public().into()).collect();
    config.npcs = Default::default();
    let storage = config.build_storage()?;
    let (header, delta) = genesis_block(&storage);
    let genesis = GenesisBlock {
        hash: header.hash(),
        header,
        state: delta,
        storage,
    };
    let mut store = MemoryNodeStore::from_delta(&genesis.state)?;
    let version = {
        let state = TrieState::new(&store, genesis.header.state_root);
        let mut ext = arceon_support::Ext::new(&state);
        let authority = arceon_pallet_areas::authority(&mut ext, 0)
            .context("the benchmark area has no committee")?;
        anyhow::ensure!(
            authority.members() == vec![arceon_primitives::AccountId32::from(alice.public())],
            "the benchmark committee is Alice alone"
        );
        authority.version
    };

    eprintln!(
        "building {} blocks of {} lane moves in batches of {}",
        args.blocks, args.extrinsics, args.lane_batch
    );
    let spawn = bench_world(args.accounts)
        .areas
        .first()
        .map(|area| area.bounds.centre())
        .unwrap_or_default();
    let mut positions = vec![spawn; keys.len()];
    let mut nonces = vec![0u64; keys.len()];
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut parent = (genesis.hash, genesis.header.state_root);
    let mut lane = (0u64, H256::zero());
    let mut blocks = Vec::with_capacity(args.blocks as usize);
    let mut samples = Vec::new();
    let mut player = 0usize;
    for number in 1..=args.blocks {
        // Slot `number`: lane times inside the block's slot.
        let slot_start = u64::from(number) * 1000;
        let mut moves = Vec::with_capacity(args.extrinsics as usize);
        for _ in 0..args.extrinsics {
            player = (player + 1) % keys.len();
            let position = &mut positions[player];
            let step = 5 * arceon_pallet_areas::UNIT;
            position.x = (position.x + rng.gen_range(-step..=step)).clamp(step, BENCH_SIDE - step);
            position.y = (position.y + rng.gen_range(-step..=step)).clamp(step, BENCH_SIDE - step);
            let action = SignedLaneAction::sign(
                LaneAction {
                    genesis: genesis.hash,
                    area: 0,
                    version,
                    player: keys[player].public().into(),
                    nonce: nonces[player],
                    kind: ActionKind::Move {
                        x: position.x,
                        y: position.y,
                    },
                },
                &keys[player],
            );
            nonces[player] += 1;
            if samples.len() < 1_000 {
                samples.push((
                    action.action.signing_message(),
                    sr25519::Signature::from_raw(action.signature),
                    keys[player].public(),
                ));
            }
            let outcome = Outcome::Moved {
                area: 0,
                position: arceon_pallet_areas::Position::new(position.x, position.y),
            };
            moves.push((action, outcome));
        }
        let mut extrinsics = Vec::new();
        for (i, chunk) in moves.chunks(args.lane_batch as usize).enumerate() {
            let mut batch = Batch {
                header: BatchHeader {
                    genesis: genesis.hash,
                    area: 0,
                    version,
                    view: 0,
                    height: lane.0 + 1,
                    parent: lane.1,
                    time_ms: slot_start + 1 + i as u64,
                    entries_root: H256::zero(),
                    count: chunk.len() as u32,
                },
                actions: chunk.iter().map(|(a, _)| a.clone()).collect(),
                outcomes: chunk.iter().map(|(_, o)| *o).collect(),
            };
            batch.header.entries_root = fastlane::merkle_root(&batch.entries());
            lane = (batch.header.height, batch.header.hash());
            let signature = alice.sign(&batch.header.signing_message()).0;
            let certified = CertifiedBatch {
                batch,
                certificate: Certificate {
                    signatures: vec![(0, signature.into())],
                },
            };
            let xt = arceon_runtime::Extrinsic::new_unsigned(Call::FastLane(
                fastlane::Call::SubmitBatch { batch: certified },
            ));
            extrinsics.push(xt.encode());
        }
        let block = build_block(&mut store, parent, number, genesis.hash, extrinsics, &alice)?;
        parent = (block.header.hash(), block.header.state_root);
        blocks.push(block);
        progress("blocks", number as u64, args.blocks as u64, started);
    }
    // Building verified every player signature once; the import must do it again.
    arceon_pallet_fastlane::sigcache::clear();
    Ok(Prepared {
        genesis,
        blocks,
        samples,
    })
}

/// Side of the moves workload's single area, milli-units (10 km).
const BENCH_SIDE: i64 = 10_000 * arceon_pallet_areas::UNIT;

/// One square area big enough for every benchmark player.
fn bench_world(players: u32) -> arceon_pallet_areas::GenesisConfig {
    arceon_pallet_areas::GenesisConfig {
        areas: vec![arceon_pallet_areas::AreaConfig {
            id: 0,
            name: "Benchmark Plains".into(),
            bounds: arceon_pallet_areas::Bounds::new(0, 0, BENCH_SIDE, BENCH_SIDE),
            neighbours: None,
            capacity: players.saturating_add(1),
            resources: Vec::new(),
        }],
        starting_area: Some(0),
        ..Default::default()
    }
}

/// Verifies `samples` one at a time on this thread; returns signatures per second.
fn single_core_verify_rate(
    samples: &[(Vec<u8>, sr25519::Signature, sr25519::Public)],
    count: u32,
) -> anyhow::Result<f64> {
    anyhow::ensure!(!samples.is_empty(), "no signatures to verify");
    let started = Instant::now();
    for i in 0..count as usize {
        let (message, signature, public) = &samples[i % samples.len()];
        anyhow::ensure!(
            sr25519::Pair::verify(signature, message, public),
            "a benchmark signature did not verify"
        );
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// The lane actions in `block`'s batches.
fn lane_moves_in(block: &Block) -> u64 {
    use codec::Decode;
    block
        .extrinsics
        .iter()
        .filter_map(|xt| arceon_runtime::Extrinsic::decode(&mut &xt[..]).ok())
        .map(|xt| match xt.function {
            Call::FastLane(arceon_pallet_fastlane::Call::SubmitBatch { batch }) => {
                batch.batch.actions.len() as u64
            }
            _ => 0,
        })
        .sum()
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Runs the import benchmark and prints its figures.
pub fn import(args: &ImportBenchmark) -> anyhow::Result<()> {
    let prepared = prepare(args)?;
    // Building verified every signature once (and the cache remembers them); the import
    // must verify them cold, as a node that never saw the transactions.
    arceon_pallet_fastlane::sigcache::clear();
    let dir = tempfile::tempdir().context("creating the benchmark database directory")?;
    let client = Client::open(dir.path(), args.state_pruning, &prepared.genesis)?;

    eprintln!(
        "importing {} blocks into RocksDB at {}",
        prepared.blocks.len(),
        dir.path().display()
    );
    let started = Instant::now();
    let mut state_root_time = Duration::ZERO;
    let mut signature_time = Duration::ZERO;
    let mut execution_time = Duration::ZERO;
    let mut store_time = Duration::ZERO;
    let mut extrinsics = 0u64;
    let total = prepared.blocks.len() as u64;
    for (i, block) in prepared.blocks.iter().enumerate() {
        let imported = client
            .import_block(block, ImportOptions { finalize: true })
            .with_context(|| format!("importing block #{}", block.header.number))?;
        anyhow::ensure!(imported.is_new_best, "imported block did not become best");
        state_root_time += imported.state_root_time;
        signature_time += imported.signature_time;
        execution_time += imported.execution_time;
        store_time += imported.store_time;
        extrinsics += match args.workload {
            Workload::LaneMoves => lane_moves_in(block),
            _ => block.extrinsics.len() as u64,
        };
        progress("imported", i as u64 + 1, total, started);
    }
    client.flush()?;
    let elapsed = started.elapsed().as_secs_f64();
    let best = client.best();
    anyhow::ensure!(
        best.1
            == prepared
                .blocks
                .last()
                .map(|b| b.header.hash())
                .unwrap_or(H256::zero()),
        "best block is not the last imported one"
    );
    let db_bytes = dir_size(dir.path());

    eprintln!("measuring single-core sr25519 verification");
    let verify_rate = single_core_verify_rate(&prepared.samples, args.verify_samples)?;
    let import_rate = extrinsics as f64 / elapsed;
    if args.workload == Workload::LaneMoves {
        println!("(lane moves: the extrinsics below are moves inside certified batches)");
    }
    let blocks_rate = total as f64 / elapsed;
    println!("blocks imported:          {total}");
    println!("extrinsics imported:      {extrinsics}");
    println!("import time:              {elapsed:.3} s");
    println!("extrinsics/s:             {import_rate:.0}");
    println!("blocks/s:                 {blocks_rate:.2}");
    println!(
        "mean state-root time:     {:.2} ms",
        state_root_time.as_secs_f64() * 1000.0 / total as f64
    );
    let per_block = |d: Duration| d.as_secs_f64() * 1000.0 / total as f64;
    println!(
        "mean per block:           execution {:.2} ms (signatures {:.2} ms, state root {:.2} ms), database write {:.2} ms",
        per_block(execution_time),
        per_block(signature_time),
        per_block(state_root_time),
        per_block(store_time)
    );
    println!(
        "database size:            {:.1} MiB ({} accounts, pruning {}, workload {:?})",
        db_bytes as f64 / (1024.0 * 1024.0),
        args.accounts,
        args.state_pruning,
        args.workload
    );
    println!("sr25519 verify (1 core):  {verify_rate:.0}/s");
    println!(
        "RESULT import_extrinsics_per_s={:.0} sr25519_verify_per_s={:.0} ratio={:.2}",
        import_rate,
        verify_rate,
        import_rate / verify_rate
    );
    Ok(())
}
