//! Offline chain operations: purge, export/import blocks, export state.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use arceon_client::{Client, ImportOptions};
use arceon_primitives::{to_hex, to_ss58, Block, H256};
use codec::{Decode, Encode};

use crate::command::RunArgs;

/// `export-blocks`.
#[derive(Debug, clap::Args)]
pub struct ExportBlocks {
    /// Output file (stdout if omitted).
    pub output: Option<PathBuf>,
    /// First block to export.
    #[arg(long, default_value_t = 1)]
    pub from: u32,
    /// Last block to export (the best block if omitted).
    #[arg(long)]
    pub to: Option<u32>,
    /// Write one JSON object per line instead of SCALE.
    #[arg(long)]
    pub json: bool,
}

/// `import-blocks`.
#[derive(Debug, clap::Args)]
pub struct ImportBlocks {
    /// Input file (stdin if omitted).
    pub input: Option<PathBuf>,
    /// The input is JSON lines (as `export-blocks --json`).
    #[arg(long)]
    pub json: bool,
}

/// `check-state`.
#[derive(Debug, clap::Args)]
pub struct CheckState {
    /// Block hash or number (the best block if omitted).
    pub block: Option<String>,
}

/// A block given as a number or a `0x` hash; the best block when absent.
fn block_arg(client: &Client, block: Option<&str>) -> anyhow::Result<H256> {
    Ok(match block {
        None => client.best().1,
        Some(text) if text.starts_with("0x") => {
            let bytes = arceon_primitives::from_hex(text).context("invalid block hash")?;
            anyhow::ensure!(bytes.len() == 32, "a block hash has 32 bytes");
            H256::from_slice(&bytes)
        }
        Some(text) => {
            let number: u32 = text
                .parse()
                .with_context(|| format!("'{text}' is not a block number or a 0x hash"))?;
            client
                .hash(number)?
                .with_context(|| format!("block #{number} is not stored"))?
        }
    })
}

/// `check-state`: checks every cross-pallet invariant of the world (issuance equals the
/// accounts' sum, players and structures indexed in their areas, committees, ...) at a
/// stored block of a stopped node.
pub fn check_state(run: &RunArgs, args: &CheckState) -> anyhow::Result<()> {
    let client = open_client(run)?;
    let at = block_arg(&client, args.block.as_deref())?;
    let header = client
        .header(&at)?
        .with_context(|| format!("unknown block {at:?}"))?;
    let state = client
        .state_at(&at)
        .with_context(|| format!("the state of #{} is not available (pruned?)", header.number))?;
    let mut ext = arceon_support::Ext::new(&state);
    match arceon_runtime::world::check_invariants(&mut ext) {
        Ok(()) => {
            println!("world invariants hold at #{} {at:?}", header.number);
            Ok(())
        }
        Err(broken) => anyhow::bail!(
            "world invariant broken at #{} {at:?}: {broken}",
            header.number
        ),
    }
}

/// `export-state`.
#[derive(Debug, clap::Args)]
pub struct ExportState {
    /// Block hash or number (the best block if omitted).
    pub block: Option<String>,
    /// Output file (stdout if omitted).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Also write a chain spec whose raw genesis is this state, for `--chain`: a new
    /// chain with the same accounts, world and validators (block numbers the state
    /// stores are shifted so the block becomes block 0).
    #[arg(long)]
    pub chain_spec: Option<PathBuf>,
}

pub(crate) fn chain_dir(run: &RunArgs) -> anyhow::Result<PathBuf> {
    let spec = run.chain_spec()?;
    Ok(run.base_path_or_default().join("chains").join(spec.id))
}

pub(crate) fn open_client(run: &RunArgs) -> anyhow::Result<std::sync::Arc<Client>> {
    let spec = run.chain_spec()?;
    let genesis = spec.genesis_block()?;
    let dir = chain_dir(run)?;
    let config = arceon_db::DbConfig {
        pruning: run.state_pruning,
        blocks_pruning: run.blocks_pruning,
        ..Default::default()
    };
    Client::open_with_config(&dir.join("db"), config, &genesis)
        .with_context(|| format!("opening the database in {}", dir.display()))
}

/// `chain-info`: what an operator checks first, read from the database of a stopped node:
/// best and finalized blocks, leaves, the state pruning the database was created with and
/// the oldest state it still holds, and its size on disk.
pub fn chain_info(run: &RunArgs) -> anyhow::Result<()> {
    let spec = run.chain_spec()?;
    let path = chain_dir(run)?.join("db");
    anyhow::ensure!(
        path.exists(),
        "no database at {} (wrong --chain or --base-path?)",
        path.display()
    );
    // The database keeps the pruning it was created with; read it as it is.
    let db = match arceon_db::Database::open(&path, run.state_pruning) {
        Err(arceon_db::DbError::PruningMismatch { stored, .. }) => {
            arceon_db::Database::open(&path, stored)
        }
        other => other,
    }
    .with_context(|| {
        format!(
            "opening the database in {} (is a node running on it?)",
            path.display()
        )
    })?;
    let (best, best_hash) = db.best();
    let (finalized, finalized_hash) = db.finalized();
    let info = serde_json::json!({
        "chain": spec.name,
        "genesisHash": db.genesis_hash(),
        "best": { "number": best, "hash": best_hash },
        "finalized": { "number": finalized, "hash": finalized_hash },
        "leaves": db.leaves()?.len(),
        "statePruning": db.pruning().to_string(),
        "oldestState": db.oldest_state(),
        "databaseBytes": db.size_on_disk(),
        "path": path.display().to_string(),
    });
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

/// `check-block`.
#[derive(Debug, clap::Args)]
pub struct CheckBlock {
    /// A block number, a 0x block hash, or a file holding one SCALE-encoded block (as
    /// `export-blocks` writes them, with or without its length prefix).
    pub block: String,
}

fn block_to_check(client: &Client, what: &str) -> anyhow::Result<Block> {
    let path = std::path::Path::new(what);
    if path.is_file() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let decoded = Block::decode(&mut &bytes[..]).ok().or_else(|| {
            // `export-blocks` puts a 4-byte length before each block.
            bytes
                .get(4..)
                .and_then(|rest| Block::decode(&mut &rest[..]).ok())
        });
        return decoded
            .ok_or_else(|| anyhow::anyhow!("{} does not hold a SCALE block", path.display()));
    }
    let hash = block_arg(client, Some(what)).map_err(|e| anyhow::anyhow!("{e:#}, nor a file"))?;
    client
        .block(&hash)?
        .ok_or_else(|| anyhow::anyhow!("no block {hash:?} in the database (pruned or unknown)"))
}

/// `check-block`: re-executes a block on its parent's state exactly as import does (seal,
/// extrinsics, state and extrinsics roots, digest) and reports; changes nothing.
pub fn check_block(run: &RunArgs, args: &CheckBlock) -> anyhow::Result<()> {
    let client = open_client(run)?;
    let block = block_to_check(&client, &args.block)?;
    let hash = block.header.hash();
    match client.check_block(&block) {
        Ok((events, took)) => {
            println!(
                "{}",
                serde_json::json!({
                    "number": block.header.number,
                    "hash": hash,
                    "extrinsics": block.extrinsics.len(),
                    "events": events.len(),
                    "executionMs": took.as_secs_f64() * 1000.0,
                    "result": "ok",
                })
            );
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!(
            "block #{} {hash:?} is invalid: {e}",
            block.header.number
        )),
    }
}

/// `revert [N]`: undoes the last N unfinalized blocks of a stopped node's best chain, so
/// it imports them again (or a better fork) from its peers; finalized blocks are never
/// reverted.
pub fn revert(run: &RunArgs, count: u32) -> anyhow::Result<()> {
    let client = open_client(run)?;
    let (before, _) = client.best();
    let (number, hash) = client.revert(count)?;
    eprintln!(
        "reverted {} blocks: best is now #{number} {hash:?} (finalized #{})",
        before - number,
        client.finalized().0
    );
    Ok(())
}

/// Deletes the chain's database.
pub fn purge_chain(run: &RunArgs, yes: bool) -> anyhow::Result<()> {
    let db = chain_dir(run)?.join("db");
    if !db.exists() {
        eprintln!("{} does not exist", db.display());
        return Ok(());
    }
    if !yes {
        eprint!("Delete {}? [y/N]: ", db.display());
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Aborted");
            return Ok(());
        }
    }
    std::fs::remove_dir_all(&db).with_context(|| format!("deleting {}", db.display()))?;
    eprintln!("{} removed", db.display());
    Ok(())
}

struct Progress {
    label: &'static str,
    total: Option<u64>,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(label: &'static str, total: Option<u64>) -> Progress {
        Progress {
            label,
            total,
            started: Instant::now(),
            last: Instant::now(),
        }
    }

    fn tick(&mut self, done: u64) {
        if self.last.elapsed().as_millis() < 200 && Some(done) != self.total {
            return;
        }
        self.last = Instant::now();
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        match self.total {
            Some(total) if total > 0 => {
                let width = 30usize;
                let filled = (done.min(total) * width as u64 / total) as usize;
                eprint!(
                    "\r{} [{}{}] {done}/{total} ({rate:.0} blocks/s)",
                    self.label,
                    "#".repeat(filled),
                    "-".repeat(width - filled)
                );
            }
            _ => eprint!("\r{} {done} ({rate:.0} blocks/s)", self.label),
        }
    }

    fn finish(&self, done: u64) {
        eprintln!(
            "\r{} {done} blocks in {:.2} s{}",
            self.label,
            self.started.elapsed().as_secs_f64(),
            " ".repeat(30)
        );
    }
}

/// Writes blocks `from..=to` of the best chain.
pub fn export_blocks(run: &RunArgs, args: &ExportBlocks) -> anyhow::Result<()> {
    let client = open_client(run)?;
    let to = args.to.unwrap_or(client.best().0).min(client.best().0);
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let total = to.saturating_sub(args.from) as u64 + 1;
    let mut progress = Progress::new("exporting", Some(total));
    let mut done = 0u64;
    for number in args.from..=to {
        let hash = client
            .hash(number)?
            .with_context(|| format!("block #{number} is not stored"))?;
        let block = client
            .block(&hash)?
            .with_context(|| format!("block #{number} has no body"))?;
        if args.json {
            let line = serde_json::json!({
                "header": arceon_rpc::header_json(&block.header),
                "extrinsics": block.extrinsics.iter().map(|x| to_hex(x)).collect::<Vec<_>>(),
                "encoded": to_hex(&block.encode()),
            });
            writeln!(out, "{line}")?;
        } else {
            // Length-prefixed SCALE blocks, so a reader can stream them.
            out.write_all(&(block.encoded_size() as u32).to_le_bytes())?;
            block.encode_to(&mut out);
        }
        done += 1;
        progress.tick(done);
    }
    out.flush()?;
    progress.finish(done);
    Ok(())
}

/// Imports blocks written by `export-blocks`, verifying and executing each.
pub fn import_blocks(run: &RunArgs, args: &ImportBlocks) -> anyhow::Result<()> {
    let client = open_client(run)?;
    let mut input: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )),
        None => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    let total = match &args.input {
        Some(path) if args.json => std::fs::read_to_string(path)
            .ok()
            .map(|s| s.lines().count() as u64),
        _ => None,
    };
    let mut progress = Progress::new("importing", total);
    let mut done = 0u64;
    let mut imported = 0u64;
    loop {
        let block = if args.json {
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                break;
            }
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&line)
                .with_context(|| format!("line {} is not JSON", done + 1))?;
            let encoded = value["encoded"]
                .as_str()
                .with_context(|| format!("line {} has no \"encoded\" block", done + 1))?;
            let bytes = arceon_primitives::from_hex(encoded)
                .with_context(|| format!("line {}: invalid hex", done + 1))?;
            Block::decode(&mut &bytes[..])
                .with_context(|| format!("line {}: undecodable block", done + 1))?
        } else {
            let mut len = [0u8; 4];
            match input.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
            let len = u32::from_le_bytes(len) as usize;
            anyhow::ensure!(
                len <= 64 * 1024 * 1024,
                "block {} claims {len} bytes",
                done + 1
            );
            let mut bytes = vec![0u8; len];
            input
                .read_exact(&mut bytes)
                .with_context(|| format!("block {} is truncated", done + 1))?;
            Block::decode(&mut &bytes[..])
                .with_context(|| format!("block {} is undecodable", done + 1))?
        };
        let number = block.header.number;
        let result = client
            .import_block(&block, ImportOptions { finalize: true })
            .with_context(|| format!("importing block #{number}"))?;
        if !result.already_known {
            imported += 1;
        }
        done += 1;
        progress.tick(done);
    }
    progress.finish(done);
    client.flush()?;
    eprintln!(
        "{imported} new blocks imported; best #{} {:?}",
        client.best().0,
        client.best().1
    );
    Ok(())
}

/// Writes the state at a block as JSON: accounts with balances, plus every raw key.
pub fn export_state(run: &RunArgs, args: &ExportState) -> anyhow::Result<()> {
    let client = open_client(run)?;
    let at = block_arg(&client, args.block.as_deref())?;
    let header = client
        .header(&at)?
        .with_context(|| format!("unknown block {at:?}"))?;
    let state = client.state_at(&at)?;
    let pairs = state.pairs_with_prefix(&[], None, usize::MAX)?;
    let account_prefix = arceon_support::storage::item_prefix("System", "Account");
    let mut accounts = Vec::new();
    for (key, value) in &pairs {
        if key.len() == 32 + 16 + 32 && key[..32] == account_prefix {
            let who = arceon_primitives::AccountId32::new(
                <[u8; 32]>::try_from(&key[48..]).context("account key")?,
            );
            let info = arceon_pallet_system::AccountInfo::decode(&mut &value[..])
                .context("undecodable account")?;
            accounts.push(serde_json::json!({
                "address": to_ss58(&who),
                "nonce": info.nonce,
                "free": info.data.free.to_string(),
                "reserved": info.data.reserved.to_string(),
                "frozen": info.data.frozen.to_string(),
            }));
        }
    }
    let document = serde_json::json!({
        "block": { "number": header.number, "hash": at, "stateRoot": header.state_root },
        "accounts": accounts,
        "storage": pairs.iter().map(|(k, v)| (to_hex(k), serde_json::Value::String(to_hex(v)))).collect::<serde_json::Map<_, _>>(),
    });
    if let Some(path) = &args.chain_spec {
        write_chain_spec(run, path, header.number, &pairs)?;
    }
    let text = serde_json::to_string_pretty(&document)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => println!("{text}"),
    }
    eprintln!(
        "state of #{} ({} keys, {} accounts)",
        header.number,
        pairs.len(),
        accounts.len()
    );
    Ok(())
}

/// Writes the chain spec of a new chain whose genesis is the state `pairs` of block
/// `number` (rebased to block 0).
fn write_chain_spec(
    run: &RunArgs,
    path: &std::path::Path,
    number: u32,
    pairs: &[(Vec<u8>, Vec<u8>)],
) -> anyhow::Result<()> {
    use arceon_chain_spec::{ChainSpec, Genesis, RawGenesis};
    let spec = run.chain_spec()?;
    let storage: arceon_support::MemoryState = pairs.iter().cloned().collect();
    let storage = arceon_runtime::genesis::rebase_to_genesis(&storage, number)
        .context("turning the state into a genesis")?;
    let exported = ChainSpec {
        name: format!("{} (from #{number})", spec.name),
        id: format!("{}_from_{number}", spec.id),
        // The old chain's nodes serve another genesis.
        boot_nodes: Vec::new(),
        genesis: Genesis::Raw(RawGenesis {
            top: storage
                .iter()
                .map(|(k, v)| (to_hex(k), to_hex(v)))
                .collect(),
            children_default: Default::default(),
        }),
        ..spec
    };
    let genesis = exported.genesis_block()?;
    std::fs::write(path, exported.to_json()?)
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "chain spec '{}' written to {}: genesis {:?} from the state of #{number}",
        exported.id,
        path.display(),
        genesis.hash
    );
    Ok(())
}

/// Finalizes `target` (a child of `parent`) with a justification signed by the dev keys of
/// the GRANDPA set in force at `parent`.
fn justify(client: &Client, parent: &H256, target: (H256, u32)) -> anyhow::Result<()> {
    use arceon_primitives::keyring::{ed25519_pair_from_suri, Keyring};
    let state = client.state_at(parent)?;
    let mut ext = arceon_support::Ext::new(&state);
    let set_id = arceon_runtime::grandpa::current_set_id(&mut ext);
    let voters = arceon_runtime::grandpa::authorities(&mut ext)
        .into_iter()
        .map(|id| {
            Keyring::ALL
                .into_iter()
                .map(|k| ed25519_pair_from_suri(&k.suri()))
                .filter_map(Result::ok)
                .find(|pair| sp_core::Pair::public(pair) == id)
                .ok_or_else(|| anyhow::anyhow!("GRANDPA voter {id} is not a dev key"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let justification = arceon_finality::warp::sign_justification(&voters, set_id, 1, target);
    client.set_justification(&target.0, &justification.encode())?;
    client.finalize(&target.0)?;
    Ok(())
}

/// `benchmark make-chain`: authors blocks into the database as fast as they build.
#[derive(Debug, clap::Args)]
pub struct MakeChain {
    /// How many blocks to add on top of the best block.
    #[arg(long, default_value_t = 1000)]
    pub blocks: u32,
    /// Signed transfers (from Ferdie) in each block.
    #[arg(long, default_value_t = 4)]
    pub transfers: u32,
    /// Finalize with a GRANDPA justification (signed by the dev keys of the set in force)
    /// the block crossing each multiple of this period, every set change and the last
    /// block, as the chain's voters would; 0 makes none.
    #[arg(long, default_value_t = 32)]
    pub justification_period: u32,
}

/// Builds `args.blocks` blocks on the best block, each sealed by its slot's author (which
/// must be a dev key), with slots ending at the current one so a node started on the data
/// goes on authoring. Blocks are finalized as they are made when the chain has a single
/// authority. For sync benchmarks and tests.
pub fn make_chain(run: &RunArgs, args: &MakeChain) -> anyhow::Result<()> {
    use arceon_primitives::keyring::Keyring;
    use arceon_primitives::{Era, MultiAddress, SignedExtra, ARCM};
    use arceon_runtime::{executive::sign_extrinsic, Call};

    let client = open_client(run)?;
    let genesis = client.genesis_hash();
    let (best_number, best_hash) = client.best();
    let slot_ms = client.slot_duration(&best_hash)?.max(1);
    let parent_slot = client
        .header(&best_hash)?
        .and_then(|h| h.digest.aura_slot())
        .unwrap_or(0);
    let now_slot = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        / slot_ms;
    let first_slot = (parent_slot + 1).max(now_slot.saturating_sub(u64::from(args.blocks)));
    let sender = Keyring::Ferdie.pair();
    let mut nonce = {
        let state = client.state_at(&best_hash)?;
        let mut ext = arceon_support::Ext::new(&state);
        arceon_pallet_system::Account::get_or_default(&mut ext, &Keyring::Ferdie.account()).nonce
    };
    let started = Instant::now();
    let mut parent = best_hash;
    for i in 0..args.blocks {
        let slot = first_slot + u64::from(i);
        let authorities = client.authorities(&parent)?;
        let author = arceon_runtime::aura::slot_author(&authorities, slot)
            .ok_or_else(|| anyhow::anyhow!("the chain has no authorities"))?;
        let key = Keyring::ALL
            .into_iter()
            .find(|k| k.public() == author)
            .map(Keyring::pair)
            .ok_or_else(|| anyhow::anyhow!("slot {slot}'s author {author} is not a dev key"))?;
        let mut failed = None;
        let built = client.build_block(&parent, slot, |builder| {
            for t in 0..args.transfers {
                let dest = Keyring::ALL[(t as usize) % 5].account();
                let call = Call::Balances(arceon_pallet_balances::Call::TransferKeepAlive {
                    dest: MultiAddress::Id(dest),
                    value: ARCM / 100,
                });
                let extra = SignedExtra {
                    era: Era::Immortal,
                    nonce,
                    tip: 0,
                };
                let xt = sign_extrinsic(call, &sender, extra, genesis, genesis);
                match builder.apply_extrinsic(xt.encode()) {
                    Ok(_) => nonce += 1,
                    Err(e) => {
                        failed = Some(format!("{e:?}"));
                        break;
                    }
                }
            }
        })?;
        if let Some(e) = failed {
            anyhow::bail!("a transfer from Ferdie was refused: {e}");
        }
        let (block, imported) = client.import_own(
            built,
            &key,
            ImportOptions {
                finalize: arceon_finality::final_on_import(&authorities),
            },
        )?;
        let number = best_number + i + 1;
        let due = args.justification_period > 0
            && (number / args.justification_period > (number - 1) / args.justification_period
                || i + 1 == args.blocks
                || arceon_runtime::grandpa::scheduled_change(&block.header.digest).is_some());
        if due {
            justify(&client, &parent, (imported.hash, number))?;
        }
        parent = imported.hash;
        let done = i + 1;
        if done % 100 == 0 || done == args.blocks {
            eprintln!(
                "made {done}/{} blocks (best #{}), {:.0} blocks/s",
                args.blocks,
                best_number + done,
                f64::from(done) / started.elapsed().as_secs_f64().max(1e-9)
            );
        }
    }
    client.flush()?;
    println!("best #{} {:?}", client.best().0, client.best().1);
    Ok(())
}
