//! Snapshots end to end with real processes: a dev chain with a player, made longer by
//! `benchmark make-chain` (which finalizes with justifications as the chain's voter
//! would), exported with `export-snapshot`, refused when flipped, truncated or carrying a
//! forged justification (the base path stays empty), imported into a fresh base path, and
//! served and synced on by a node started from it.

mod common;
#[path = "common/net.rs"]
mod net;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{binary, Node};
use net::{best, hash_at, node_key, peer_id, wallet};
use serde_json::{json, Value};

fn offline(base: &Path, args: &[&str]) -> Output {
    Command::new(binary("arceon-node"))
        .args(args)
        .args(["--chain", "dev", "--base-path", &base.display().to_string()])
        .output()
        .expect("run arceon-node")
}

fn succeeded(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

fn zstd_bytes(file: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    zstd::Decoder::new(std::fs::File::open(file).expect("open"))
        .expect("decoder")
        .read_to_end(&mut out)
        .expect("decompress");
    out
}

fn write_zstd(file: &Path, bytes: &[u8]) {
    let mut encoder =
        zstd::Encoder::new(std::fs::File::create(file).expect("create"), 3).expect("encoder");
    encoder.include_checksum(true).expect("checksum");
    encoder.write_all(bytes).expect("write");
    encoder.finish().expect("finish");
}

/// Each damaged file is refused with `expected` in its error and leaves no database.
fn assert_refused(dir: &Path, name: &str, bytes: &[u8], expected: &str) {
    let file = dir.join(name);
    std::fs::write(&file, bytes).expect("write");
    let base = dir.join(format!("refused-{name}"));
    let out = offline(&base, &["import-snapshot", &file.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{name} was imported");
    assert!(stderr.contains(expected), "{name}: {stderr}");
    assert!(!base.join("chains").exists(), "{name} left a database");
}

#[test]
fn a_snapshot_round_trip_serves_the_world_and_syncs_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("source");
    let source_arg = source.display().to_string();

    // A dev chain of 150 blocks (slots up to now; `ARCEON_SNAPSHOT_BLOCKS` for more),
    // where Bob then plays, then stopped.
    let blocks = std::env::var("ARCEON_SNAPSHOT_BLOCKS").unwrap_or_else(|_| "150".into());
    succeeded(&offline(
        &source,
        &["benchmark", "make-chain", "--blocks", &blocks],
    ));
    {
        let node = Node::start(
            &["--dev", "--base-path", &source_arg],
            dir.path().join("first.log"),
        );
        let (ok, out) = wallet(&node, "//Bob", &["player", "register", "bob"]);
        assert!(ok, "{out}");
        node.wait_for("the player on chain", Duration::from_secs(30), |n| {
            n.try_rpc("arceon_player", json!([bob()]))
                .is_ok_and(|p| !p.is_null())
        });
    }
    // Two more blocks, the last finalized with a justification (make-chain signs one
    // every 32 blocks and at the end, as the chain's voter would).
    succeeded(&offline(
        &source,
        &["benchmark", "make-chain", "--blocks", "2"],
    ));
    let info: Value =
        serde_json::from_slice(&offline(&source, &["chain-info"]).stdout).expect("chain-info JSON");
    let finalized = info["finalized"]["number"].as_u64().expect("finalized") as u32;
    let finalized_hash = info["finalized"]["hash"]
        .as_str()
        .expect("hash")
        .to_string();
    assert!(
        finalized >= blocks.parse::<u32>().expect("a number"),
        "{info}"
    );

    let file = dir.path().join("chain.snapshot");
    let started = Instant::now();
    let out = succeeded(&offline(
        &source,
        &["export-snapshot", &file.display().to_string()],
    ));
    let export_ms = started.elapsed().as_millis();
    assert!(out.contains(&format!("snapshot of #{finalized}")), "{out}");
    let refused = offline(
        &source,
        &["export-snapshot", "--at", "5", &file.display().to_string()],
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no stored justification"));

    // Damaged snapshots: refused, nothing stored.
    let good = std::fs::read(&file).expect("read");
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x10;
    assert_refused(dir.path(), "flipped", &flipped, "corrupt");
    assert_refused(
        dir.path(),
        "truncated",
        &good[..good.len() - 64],
        "truncated",
    );
    // A justification whose signature was altered, in a well-formed file.
    let mut plain = zstd_bytes(&file);
    let alice_voter = arceon_primitives::keyring::ed25519_pair_from_suri("//Alice")
        .map(|pair| sp_core::Pair::public(&pair))
        .expect("Alice's GRANDPA key");
    // The head (proof and body) follows the 16-byte magic, the version and its length.
    let head_len = u32::from_le_bytes(plain[20..24].try_into().expect("length")) as usize;
    let id_at = plain[24..24 + head_len]
        .windows(32)
        .rposition(|w| w == alice_voter.0.as_slice())
        .expect("the last precommit's signer in the head")
        + 24;
    // Its signature precedes it.
    plain[id_at - 10] ^= 0x01;
    let forged = dir.path().join("forged.snapshot");
    write_zstd(&forged, &plain);
    let forged_bytes = std::fs::read(&forged).expect("read");
    assert_refused(
        dir.path(),
        "forged",
        &forged_bytes,
        "finality proof is invalid",
    );

    // The real one imports into a fresh base path.
    let restored = dir.path().join("restored");
    let started = Instant::now();
    let out = succeeded(&offline(
        &restored,
        &["import-snapshot", &file.display().to_string()],
    ));
    let import_ms = started.elapsed().as_millis();
    assert!(out.contains("verified"), "{out}");
    eprintln!(
        "snapshot of #{finalized}: {} bytes (database {} bytes); export {export_ms} ms, \
         import {import_ms} ms (processes included)",
        good.len(),
        info["databaseBytes"]
    );
    // The imported state is a whole world: every cross-pallet invariant holds in it.
    let checked = succeeded(&offline(&restored, &["check-state"]));
    assert!(checked.contains("world invariants hold"), "{checked}");
    let again = offline(&restored, &["import-snapshot", &file.display().to_string()]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("fresh --base-path"));

    // The source goes on authoring; the restored node serves at the snapshot block at once
    // and follows it.
    let p2p = common::free_port();
    let source_node = Node::start(
        &[
            "--dev",
            "--base-path",
            &source_arg,
            "--node-key",
            &node_key(0),
            "--listen-addr",
            &format!("/ip4/127.0.0.1/tcp/{p2p}"),
        ],
        dir.path().join("source.log"),
    );
    let boot = format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{}", peer_id(0));
    let restored_node = Node::start(
        &[
            "--chain",
            "dev",
            "--base-path",
            &restored.display().to_string(),
            "--bootnodes",
            &boot,
        ],
        dir.path().join("restored.log"),
    );
    let player = restored_node.rpc("arceon_player", json!([bob(), finalized_hash]));
    assert_eq!(player["name"], json!("bob"), "{player}");
    assert_eq!(
        restored_node.rpc("chain_getFinalizedHead", json!([])),
        json!(finalized_hash)
    );
    restored_node.wait_for(
        "the restored node to sync past the snapshot",
        Duration::from_secs(90),
        |n| {
            let target = finalized + 3;
            best(n) >= target
                && best(&source_node) >= target
                && hash_at(n, target) == hash_at(&source_node, target)
        },
    );
}

fn bob() -> String {
    arceon_primitives::to_ss58(&arceon_primitives::keyring::Keyring::Bob.account())
}
