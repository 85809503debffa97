//! `export-state --chain-spec` end to end: a dev chain where Bob registers, walks, gathers,
//! crafts and builds a hut through the fast lane is exported at a finalized block; a new
//! node started with `--chain <the exported spec>` has, at its genesis, every account,
//! player, structure and validator of that block (block numbers shifted so the block is
//! block 0), authors on, and Bob keeps playing.

mod common;
#[path = "common/net.rs"]
mod net;

use std::process::Command;
use std::time::Duration;

use common::{binary, Node};
use net::wallet;
use serde_json::{json, Value};

/// Everything the world RPC shows at `at`: players, structures and NPCs of every area,
/// validators, and every account's raw `System.Account` value.
struct World {
    players: Vec<Value>,
    structures: Vec<Value>,
    npcs: Vec<Value>,
    validators: Value,
    accounts: Vec<(String, Value)>,
}

fn world(node: &Node, at: &str) -> World {
    let areas = node.rpc("arceon_areas", json!([at]));
    let ids: Vec<u64> = areas
        .as_array()
        .expect("areas")
        .iter()
        .map(|area| area["id"].as_u64().expect("area id"))
        .collect();
    assert!(ids.len() >= 8, "{areas}");
    let mut players = Vec::new();
    let mut structures = Vec::new();
    let mut npcs = Vec::new();
    for id in ids {
        let page = node.rpc("arceon_playersInArea", json!([id, null, null, at]));
        players.extend(page["players"].as_array().expect("players").iter().cloned());
        let page = node.rpc("arceon_structuresInArea", json!([id, null, null, at]));
        structures.extend(
            page["structures"]
                .as_array()
                .expect("structures")
                .iter()
                .cloned(),
        );
        let page = node.rpc("arceon_npcsInArea", json!([id, at]));
        npcs.extend(page["npcs"].as_array().expect("npcs").iter().cloned());
    }
    // twox128("System") ++ twox128("Account")
    let prefix = "0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9";
    let keys = node.rpc("state_getKeysPaged", json!([prefix, 1000, null, at]));
    let accounts = keys
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| {
            let key = key.as_str().expect("key").to_string();
            let value = node.rpc("state_getStorage", json!([key, at]));
            (key, value)
        })
        .collect();
    World {
        players,
        structures,
        npcs,
        validators: node.rpc("arceon_validators", json!([at])),
        accounts,
    }
}

/// `value` with its block-number `fields` shifted down by `by`.
fn shifted(value: &Value, fields: &[&str], by: u64) -> Value {
    let mut value = value.clone();
    for field in fields {
        let n = value[field].as_u64().expect("a block number");
        value[field] = json!(n.saturating_sub(by));
    }
    value
}

#[test]
fn exported_state_starts_a_chain_with_the_same_world() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old_base = dir.path().join("old");
    let node = Node::start(
        &["--dev", "--base-path", &old_base.display().to_string()],
        dir.path().join("old.log"),
    );
    for args in [
        &["player", "register", "bob"][..],
        &["player", "move", "105", "100"],
        &["player", "gather", "1"],
        &["player", "gather", "1"],
        &["player", "craft", "1"],
        &["play", "build", "1", "106", "101"],
    ] {
        let (ok, out) = wallet(&node, "//Bob", args);
        assert!(ok, "{args:?}: {out}");
    }
    let at = node
        .rpc("chain_getFinalizedHead", json!([]))
        .as_str()
        .expect("hash")
        .to_string();
    let number = u64::from_str_radix(
        node.rpc("chain_getHeader", json!([at]))["number"]
            .as_str()
            .expect("number")
            .trim_start_matches("0x"),
        16,
    )
    .expect("hex number");
    let before = world(&node, &at);
    assert_eq!(before.players.len(), 1);
    assert_eq!(before.structures.len(), 1, "the hut");
    drop(node);
    let checked = Command::new(binary("arceon-node"))
        .args(["check-state", &at, "--chain", "dev", "--base-path"])
        .arg(&old_base)
        .output()
        .expect("run check-state");
    assert!(
        String::from_utf8_lossy(&checked.stdout).contains("world invariants hold"),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );

    let spec = dir.path().join("exported.json");
    let out = Command::new(binary("arceon-node"))
        .args(["export-state", &at, "--chain", "dev", "--base-path"])
        .arg(&old_base)
        .arg("--chain-spec")
        .arg(&spec)
        .args(["--output"])
        .arg(dir.path().join("view.json"))
        .output()
        .expect("run export-state");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let new = Node::start(
        &[
            "--chain",
            &spec.display().to_string(),
            "--alice",
            "--base-path",
            &dir.path().join("new").display().to_string(),
        ],
        dir.path().join("new.log"),
    );
    assert_eq!(
        new.rpc("system_chain", json!([])),
        json!(format!("Development (from #{number})"))
    );
    let genesis = new
        .rpc("chain_getBlockHash", json!([0]))
        .as_str()
        .expect("genesis")
        .to_string();
    let after = world(&new, &genesis);
    assert_eq!(after.accounts, before.accounts, "accounts");
    assert_eq!(after.validators, before.validators, "validators");
    let expected: Vec<Value> = before
        .players
        .iter()
        .map(|p| shifted(p, &["lastMove", "registeredAt"], number))
        .collect();
    assert_eq!(after.players, expected, "players");
    let expected: Vec<Value> = before
        .structures
        .iter()
        .map(|s| shifted(s, &["placedAt"], number))
        .collect();
    assert_eq!(after.structures, expected, "structures");
    assert_eq!(after.npcs, before.npcs, "NPCs");

    // The new chain authors, and Bob (in the fast lanes since he built) walks on from
    // where he stood, through the lane of the new chain.
    let (ok, out) = wallet(&new, "//Bob", &["play", "move", "110", "100"]);
    assert!(ok, "{out}");
    new.wait_for("the move on the new chain", Duration::from_secs(30), |n| {
        n.try_rpc("arceon_player", json!([bob()]))
            .is_ok_and(|p| p["position"]["x"] == json!(110_000))
    });
}

fn bob() -> String {
    arceon_primitives::to_ss58(&arceon_primitives::keyring::Keyring::Bob.account())
}
