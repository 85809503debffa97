//! Verified state snapshots: `export-snapshot` writes a finalized block's header, body and
//! complete state with the GRANDPA justification chain that proves it final from genesis;
//! `import-snapshot` starts a fresh node from one after checking everything a warp sync
//! checks (the proof from the genesis set, the body against the header, every state entry
//! against the header's state root) and stores it in one write.
//!
//! File format: one zstd frame (with its content checksum) holding
//! `MAGIC`, `VERSION` (u32 LE), the SCALE-encoded [`Head`] (u32 LE length first), then
//! the state entries in ascending key order, each `key_len` (u32 LE), key, `value_len`
//! (u32 LE), value, ended by `u32::MAX` and the entry count (u64 LE). Nothing is written
//! to the database until the whole file has been read and verified: a corrupt, truncated
//! or forged snapshot leaves the base path as it was.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use arceon_client::Client;
use arceon_primitives::{BlockNumber, Header, H256};
use codec::{Decode, Encode};
use indicatif::{ProgressBar, ProgressStyle};

use crate::chain_ops::{chain_dir, open_client};
use crate::command::RunArgs;

/// A storage key and its value.
type KeyValue = (Vec<u8>, Vec<u8>);

const MAGIC: &[u8; 16] = b"ARCEON-SNAPSHOT\0";
const VERSION: u32 = 1;
const END: u32 = u32::MAX;
/// Largest head (proof and body) a snapshot may carry.
const MAX_HEAD_BYTES: u32 = 256 << 20;
/// Largest storage key.
const MAX_KEY_BYTES: u32 = 1 << 20;
/// Largest storage value.
const MAX_VALUE_BYTES: u32 = 256 << 20;
/// Most state bytes an import holds in memory before the root is checked.
const MAX_STATE_BYTES: u64 = 8 << 30;
/// State entries read from the trie per page when exporting.
const EXPORT_PAGE: usize = 4096;

/// What precedes the state in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct Head {
    /// The chain's spec id (for messages; the genesis hash is what is checked).
    chain_id: String,
    /// The chain's genesis hash.
    genesis_hash: H256,
    /// The snapshot block's encoded warp proof (ends with its justification).
    proof: Vec<u8>,
    /// The snapshot block's extrinsics.
    body: Vec<Vec<u8>>,
}

/// Why a snapshot is refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file ends before the snapshot does.
    #[error("the snapshot file is truncated: {0}")]
    Truncated(String),
    /// The bytes are not a snapshot, or were damaged.
    #[error("the snapshot file is corrupt: {0}")]
    Corrupt(String),
    /// A snapshot of another chain.
    #[error("the snapshot is of chain '{chain}' with genesis {theirs:?}; this chain's genesis is {ours:?}")]
    WrongChain {
        /// The snapshot's chain id.
        chain: String,
        /// The snapshot's genesis hash.
        theirs: H256,
        /// The selected chain's genesis hash.
        ours: H256,
    },
    /// The finality proof does not prove the block final from the genesis set.
    #[error("the snapshot's finality proof is invalid: {0}")]
    BadProof(String),
    /// The body or the state does not match the proven header.
    #[error("the snapshot's {what} does not match block #{number}'s header")]
    Mismatch {
        /// `body` or `state`.
        what: &'static str,
        /// The block.
        number: BlockNumber,
    },
    /// Bounds.
    #[error("the snapshot is larger than allowed: {0}")]
    TooLarge(String),
}

/// `export-snapshot`.
#[derive(Debug, clap::Args)]
pub struct ExportSnapshot {
    /// The output file.
    pub output: PathBuf,
    /// The block: `finalized` (the newest finalized block with a justification) or a
    /// number (a finalized block with a justification).
    #[arg(long, default_value = "finalized")]
    pub at: String,
    /// zstd compression level (1-19).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
}

/// `import-snapshot`.
#[derive(Debug, clap::Args)]
pub struct ImportSnapshot {
    /// The snapshot file written by export-snapshot.
    pub input: PathBuf,
}

fn progress_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// The newest finalized block at or below `limit` that has a stored justification.
fn justified_at_or_below(
    client: &Client,
    limit: BlockNumber,
) -> anyhow::Result<(BlockNumber, H256)> {
    for number in (1..=limit).rev() {
        let Some(hash) = client.hash(number)? else {
            break;
        };
        if client.justification(&hash)?.is_some() {
            return Ok((number, hash));
        }
    }
    anyhow::bail!(
        "no finalized block at or below #{limit} has a justification \
         (a snapshot must be provable from genesis; GRANDPA stores one every \
         --justification-period blocks)"
    )
}

/// The block to export, from `--at`.
fn target(client: &Client, at: &str) -> anyhow::Result<(BlockNumber, H256)> {
    let (finalized, _) = client.finalized();
    if at == "finalized" {
        return justified_at_or_below(client, finalized);
    }
    let number: BlockNumber = at
        .parse()
        .with_context(|| format!("--at must be `finalized` or a block number, not '{at}'"))?;
    anyhow::ensure!(
        number <= finalized,
        "block #{number} is not finalized (finalized: #{finalized})"
    );
    let hash = client
        .hash(number)?
        .with_context(|| format!("block #{number} is not stored"))?;
    if client.justification(&hash)?.is_none() {
        let below = justified_at_or_below(client, number)
            .map(|(n, _)| format!("; the nearest justified block below is #{n}"))
            .unwrap_or_default();
        anyhow::bail!("block #{number} has no stored justification{below}");
    }
    Ok((number, hash))
}

/// `export-snapshot`: streams the snapshot to `FILE.partial` and renames it into place once
/// complete.
pub fn export(run: &RunArgs, args: &ExportSnapshot) -> anyhow::Result<()> {
    let started = Instant::now();
    let spec = run.chain_spec()?;
    let client = open_client(run)?;
    let (number, hash) = target(&client, &args.at)?;
    let state = client
        .state_at(&hash)
        .with_context(|| format!("the state of #{number} is not available (pruned?)"))?;
    let block = client
        .block(&hash)?
        .with_context(|| format!("the body of #{number} is pruned"))?;

    let bar = ProgressBar::new(u64::from(number))
        .with_style(progress_style("proof  [{bar:40}] #{pos}/{len} headers"));
    let proof = arceon_finality::warp::proof_to(&client, &hash, |n| bar.set_position(u64::from(n)))
        .with_context(|| format!("building the finality proof of #{number}"))?;
    bar.finish();
    let head = Head {
        chain_id: spec.id.clone(),
        genesis_hash: client.genesis_hash(),
        proof,
        body: block.extrinsics,
    };

    let partial = partial_path(&args.output);
    let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut encoder = zstd::Encoder::new(BufWriter::new(file), args.level)?;
    encoder.include_checksum(true)?;
    encoder.write_all(MAGIC)?;
    encoder.write_all(&VERSION.to_le_bytes())?;
    let head = head.encode();
    encoder.write_all(&u32::try_from(head.len())?.to_le_bytes())?;
    encoder.write_all(&head)?;

    let bar = ProgressBar::new_spinner().with_style(progress_style(
        "state  {spinner} {pos} entries, {msg} ({elapsed})",
    ));
    let (mut entries, mut bytes) = (0u64, 0u64);
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = state.pairs_with_prefix(&[], after.as_deref(), EXPORT_PAGE)?;
        for (key, value) in &page {
            encoder.write_all(&u32::try_from(key.len())?.to_le_bytes())?;
            encoder.write_all(key)?;
            encoder.write_all(&u32::try_from(value.len())?.to_le_bytes())?;
            encoder.write_all(value)?;
            bytes += (key.len() + value.len()) as u64;
        }
        entries += page.len() as u64;
        bar.set_position(entries);
        bar.set_message(format!("{:.1} MB", bytes as f64 / 1e6));
        match page.last() {
            Some((key, _)) if page.len() == EXPORT_PAGE => after = Some(key.clone()),
            _ => break,
        }
    }
    bar.finish();
    encoder.write_all(&END.to_le_bytes())?;
    encoder.write_all(&entries.to_le_bytes())?;
    let mut writer = encoder.finish()?;
    writer.flush()?;
    writer
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("renaming {} into place", partial.display()))?;
    let size = std::fs::metadata(&args.output)?.len();
    println!(
        "snapshot of #{number} {hash:?}: {entries} state entries ({:.1} MB), file {:.1} MB, \
         written in {:.1} s to {}",
        bytes as f64 / 1e6,
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}

fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Reads a snapshot's fields with every length bounded before anything is allocated.
struct SnapshotReader<R: Read> {
    inner: R,
}

impl<R: Read> SnapshotReader<R> {
    fn exact(&mut self, buf: &mut [u8]) -> Result<(), SnapshotError> {
        self.inner.read_exact(buf).map_err(io_error)
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        let mut buf = [0u8; 4];
        self.exact(&mut buf)?;
        Ok(u32::from_le_bytes(buf))
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        let mut buf = [0u8; 8];
        self.exact(&mut buf)?;
        Ok(u64::from_le_bytes(buf))
    }

    fn bytes(&mut self, len: u32, max: u32, what: &str) -> Result<Vec<u8>, SnapshotError> {
        if len > max {
            return Err(SnapshotError::TooLarge(format!(
                "{what} of {len} bytes (at most {max})"
            )));
        }
        let mut buf = vec![0u8; len as usize];
        self.exact(&mut buf)?;
        Ok(buf)
    }

    /// After the last field: the frame must end here (which also checks its checksum).
    fn expect_end(&mut self) -> Result<(), SnapshotError> {
        let mut byte = [0u8; 1];
        match self.inner.read(&mut byte).map_err(io_error)? {
            0 => Ok(()),
            _ => Err(SnapshotError::Corrupt(
                "data after the end of the snapshot".into(),
            )),
        }
    }
}

fn io_error(e: std::io::Error) -> SnapshotError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => SnapshotError::Truncated(e.to_string()),
        _ if e.to_string().contains("incomplete frame") => SnapshotError::Truncated(e.to_string()),
        _ => SnapshotError::Corrupt(e.to_string()),
    }
}

/// A snapshot read and verified, ready to store.
struct Verified {
    target: arceon_finality::WarpTarget,
    body: Vec<Vec<u8>>,
    state: arceon_state::StateDelta,
    entries: u64,
}

/// Reads the whole snapshot from `input` and verifies it for the chain whose genesis is
/// `genesis`; stores nothing.
fn read_verified(
    input: impl Read,
    genesis: &arceon_chain_spec::GenesisBlock,
) -> Result<Verified, SnapshotError> {
    let decoder = zstd::Decoder::new(input).map_err(io_error)?;
    let mut reader = SnapshotReader { inner: decoder };
    let mut magic = [0u8; 16];
    reader.exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(SnapshotError::Corrupt("not an Arceon snapshot".into()));
    }
    let version = reader.u32()?;
    if version != VERSION {
        return Err(SnapshotError::Corrupt(format!(
            "snapshot format version {version}; this node reads version {VERSION}"
        )));
    }
    let len = reader.u32()?;
    let head = reader.bytes(len, MAX_HEAD_BYTES, "the head")?;
    let head = Head::decode(&mut &head[..])
        .map_err(|e| SnapshotError::Corrupt(format!("undecodable head: {e}")))?;
    if head.genesis_hash != genesis.hash {
        return Err(SnapshotError::WrongChain {
            chain: head.chain_id,
            theirs: head.genesis_hash,
            ours: genesis.hash,
        });
    }
    let genesis_authorities = {
        let mut ext = arceon_support::Ext::new(&genesis.storage);
        arceon_runtime::grandpa::authorities(&mut ext)
    };
    let target = arceon_finality::verify_warp_proof(&genesis_authorities, &head.proof)
        .map_err(|e| SnapshotError::BadProof(e.to_string()))?;
    let header: &Header = &target.header;
    if arceon_state::ordered_trie_root(&head.body) != header.extrinsics_root {
        return Err(SnapshotError::Mismatch {
            what: "body",
            number: header.number,
        });
    }
    let (pairs, entries) = read_entries(&mut reader)?;
    reader.expect_end()?;
    let state = arceon_state::storage_root(pairs);
    if state.root != header.state_root {
        return Err(SnapshotError::Mismatch {
            what: "state",
            number: header.number,
        });
    }
    Ok(Verified {
        target,
        body: head.body,
        state,
        entries,
    })
}

/// The state entries up to the end marker: strictly ascending keys, bounded sizes, and as
/// many as the marker says.
fn read_entries<R: Read>(
    reader: &mut SnapshotReader<R>,
) -> Result<(Vec<KeyValue>, u64), SnapshotError> {
    let mut pairs: Vec<KeyValue> = Vec::new();
    let mut total = 0u64;
    loop {
        let key_len = reader.u32()?;
        if key_len == END {
            break;
        }
        let key = reader.bytes(key_len, MAX_KEY_BYTES, "a storage key")?;
        let value_len = reader.u32()?;
        let value = reader.bytes(value_len, MAX_VALUE_BYTES, "a storage value")?;
        if pairs.last().is_some_and(|(last, _)| *last >= key) {
            return Err(SnapshotError::Corrupt(
                "state keys out of order or repeated".into(),
            ));
        }
        total += u64::from(key_len) + u64::from(value_len);
        if total > MAX_STATE_BYTES {
            return Err(SnapshotError::TooLarge(format!(
                "state over {MAX_STATE_BYTES} bytes"
            )));
        }
        pairs.push((key, value));
    }
    let count = reader.u64()?;
    if count != pairs.len() as u64 {
        return Err(SnapshotError::Corrupt(format!(
            "the end marker counts {count} entries, the file holds {}",
            pairs.len()
        )));
    }
    Ok((pairs, count))
}

/// `import-snapshot`: verifies the whole file, then stores it as the base of a fresh
/// database (one write, with the GRANDPA set in force from it).
pub fn import(run: &RunArgs, args: &ImportSnapshot) -> anyhow::Result<()> {
    let started = Instant::now();
    let spec = run.chain_spec()?;
    let genesis = spec.genesis_block()?;
    let db_path = chain_dir(run)?.join("db");
    let existed = db_path.exists();
    if existed {
        // Only a database holding nothing but genesis (an import killed between its two
        // writes) may receive a snapshot.
        let client = open_client(run)?;
        let (best, _) = client.best();
        anyhow::ensure!(
            best == 0,
            "the database at {} already holds blocks up to #{best}; import a snapshot into \
             a fresh --base-path (or purge-chain first)",
            db_path.display()
        );
    }
    let file =
        File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let size = file.metadata()?.len();
    let bar = ProgressBar::new(size).with_style(progress_style(
        "import [{bar:40}] {bytes}/{total_bytes} ({elapsed})",
    ));
    let verified = read_verified(bar.wrap_read(BufReader::new(file)), &genesis)?;
    bar.finish();
    let number = verified.target.header.number;
    let hash = verified.target.header.hash();
    eprintln!(
        "snapshot of #{number} {hash:?} verified: finality proof from genesis (authority \
         set {}), body and {} state entries against the header",
        verified.target.set_id, verified.entries
    );
    let stored = store(run, &verified);
    if let Err(e) = stored {
        if !existed {
            // Nothing of a failed import stays behind.
            let _ = std::fs::remove_dir_all(&db_path);
        }
        return Err(e);
    }
    println!(
        "imported snapshot of #{number} {hash:?} in {:.1} s; start the node with the same \
         --chain and --base-path",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn store(run: &RunArgs, verified: &Verified) -> anyhow::Result<()> {
    let client = open_client(run)?;
    let aux = arceon_finality::warp::base_records(&verified.target);
    let aux: Vec<(&[u8], &[u8])> = aux.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    client.import_warp_base(
        &verified.target.header,
        &verified.body,
        &verified.target.justification,
        &verified.state,
        &aux,
    )?;
    client.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis() -> arceon_chain_spec::GenesisBlock {
        arceon_chain_spec::ChainSpec::load("dev")
            .expect("dev")
            .genesis_block()
            .expect("genesis")
    }

    fn check(
        input: &[u8],
        genesis: &arceon_chain_spec::GenesisBlock,
    ) -> Result<u64, SnapshotError> {
        read_verified(input, genesis).map(|verified| verified.entries)
    }

    fn framed(parts: &[&[u8]]) -> Vec<u8> {
        let mut encoder = zstd::Encoder::new(Vec::new(), 3).expect("encoder");
        encoder.include_checksum(true).expect("checksum");
        for part in parts {
            encoder.write_all(part).expect("write");
        }
        encoder.finish().expect("finish")
    }

    #[test]
    fn foreign_and_damaged_files_are_refused_before_anything_is_verified() {
        let genesis = genesis();
        let not_zstd = check(&b"hello world"[..], &genesis);
        assert!(
            matches!(not_zstd, Err(SnapshotError::Corrupt(_))),
            "{not_zstd:?}"
        );
        let wrong_magic = check(&framed(&[b"NOT-A-SNAPSHOT!\0"])[..], &genesis);
        assert!(
            matches!(wrong_magic, Err(SnapshotError::Corrupt(_))),
            "{wrong_magic:?}"
        );
        // A head length over the bound is refused without allocating it.
        let huge = framed(&[MAGIC, &VERSION.to_le_bytes(), &u32::MAX.to_le_bytes()]);
        let huge = check(&huge[..], &genesis);
        assert!(matches!(huge, Err(SnapshotError::TooLarge(_))), "{huge:?}");
        let other_chain = Head {
            chain_id: "elsewhere".into(),
            genesis_hash: H256::repeat_byte(9),
            proof: Vec::new(),
            body: Vec::new(),
        }
        .encode();
        let len = (other_chain.len() as u32).to_le_bytes();
        let file = framed(&[MAGIC, &VERSION.to_le_bytes(), &len, &other_chain]);
        let refused = check(&file[..], &genesis);
        assert!(
            matches!(refused, Err(SnapshotError::WrongChain { .. })),
            "{refused:?}"
        );
        // Cut short inside the frame.
        let cut = check(&file[..file.len() / 2], &genesis);
        assert!(matches!(cut, Err(SnapshotError::Truncated(_))), "{cut:?}");
    }

    #[test]
    fn entries_must_ascend_and_match_their_count() {
        let entry = |k: &[u8], v: &[u8]| {
            let mut out = (k.len() as u32).to_le_bytes().to_vec();
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
            out
        };
        let read = |bytes: Vec<u8>| {
            let mut reader = SnapshotReader { inner: &bytes[..] };
            read_entries(&mut reader).map(|(pairs, _)| pairs.len())
        };
        let end = |n: u64| [END.to_le_bytes().to_vec(), n.to_le_bytes().to_vec()].concat();
        let good = [entry(b"a", b"1"), entry(b"b", b"2"), end(2)].concat();
        assert_eq!(read(good).expect("reads"), 2);
        let repeated = [entry(b"a", b"1"), entry(b"a", b"2"), end(2)].concat();
        assert!(matches!(read(repeated), Err(SnapshotError::Corrupt(_))));
        let miscounted = [entry(b"a", b"1"), end(5)].concat();
        assert!(matches!(read(miscounted), Err(SnapshotError::Corrupt(_))));
        let short = entry(b"a", b"1");
        assert!(matches!(read(short), Err(SnapshotError::Truncated(_))));
    }
}
