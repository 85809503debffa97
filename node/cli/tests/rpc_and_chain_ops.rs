//! The rest of the node's surface on a real process: Substrate RPC shapes (`state_call`,
//! keys, proofs, queries, fees, keys in the keystore, method list), the Prometheus
//! endpoint, and the offline commands (build-spec, export/import blocks, export-state,
//! key inspect, purge-chain).

mod common;

use std::process::Command;
use std::time::Duration;

use arceon_pallet_system as system;
use arceon_primitives::{keyring::Keyring, to_hex, to_ss58, H256};
use arceon_state::{verify_read_proof, StorageProof};
use codec::{Decode, Encode};
use common::{binary, Node};
use serde_json::{json, Value};

fn hex_bytes(value: &Value) -> Vec<u8> {
    arceon_primitives::from_hex(value.as_str().expect("hex string")).expect("hex")
}

fn node_cmd(args: &[&str]) -> std::process::Output {
    Command::new(binary("arceon-node"))
        .args(args)
        .output()
        .expect("run arceon-node")
}

#[test]
fn rpc_shapes_metrics_and_chain_operations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("base");
    let base_str = base.to_str().expect("utf8");
    let node = Node::start(
        &["--dev", "--base-path", base_str],
        dir.path().join("node.log"),
    );
    node.wait_for("block 3", Duration::from_secs(20), |n| n.best_number() >= 3);

    // state_call: Core_version and AccountNonceApi_account_nonce.
    let version = hex_bytes(&node.rpc("state_call", json!(["Core_version", "0x"])));
    let version = arceon_primitives::RuntimeVersion::decode(&mut &version[..]).expect("version");
    assert_eq!(version.spec_name, "arceon");
    let alice = Keyring::Alice.account();
    let nonce = hex_bytes(&node.rpc(
        "state_call",
        json!(["AccountNonceApi_account_nonce", to_hex(&alice.encode())]),
    ));
    assert_eq!(u32::decode(&mut &nonce[..]).expect("nonce"), 0);
    let unknown = node
        .try_rpc("state_call", json!(["Nope_nothing", "0x"]))
        .expect_err("unknown runtime api");
    assert!(unknown["message"]
        .as_str()
        .unwrap_or("")
        .contains("unknown runtime API"));

    // Keys, proofs and queries agree with the header's state root.
    let prefix = to_hex(&arceon_support::storage::item_prefix("System", "Account"));
    let keys = node.rpc("state_getKeysPaged", json!([prefix, 3]));
    assert_eq!(keys.as_array().expect("keys").len(), 3);
    let next = node.rpc("state_getKeysPaged", json!([prefix, 100, keys[2]]));
    assert!(!next.as_array().expect("keys").contains(&keys[2]));
    let best = node.rpc("chain_getBlockHash", json!([]));
    let header = node.rpc("chain_getHeader", json!([best]));
    let state_root = H256::from_slice(&hex_bytes(&header["stateRoot"]));
    let key = system::Account::key(&alice);
    let proof = node.rpc("state_getReadProof", json!([[to_hex(&key)], best]));
    assert_eq!(proof["at"], best);
    let nodes: Vec<Vec<u8>> = proof["proof"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(hex_bytes)
        .collect();
    let proven = verify_read_proof(
        &state_root,
        &StorageProof::new(nodes),
        std::slice::from_ref(&key),
    )
    .expect("proof verifies against the header's state root");
    let queried = node.rpc("state_queryStorageAt", json!([[to_hex(&key)], best]));
    assert_eq!(queried[0]["block"], best);
    assert_eq!(
        hex_bytes(&queried[0]["changes"][0][1]),
        proven[0].1.clone().expect("alice exists")
    );

    // Fee estimate for a transfer.
    let genesis = H256::from_slice(&hex_bytes(&node.rpc("chain_getBlockHash", json!([0]))));
    let xt = arceon_runtime::executive::sign_extrinsic(
        arceon_runtime::Call::Balances(arceon_pallet_balances::Call::TransferKeepAlive {
            dest: arceon_primitives::MultiAddress::Id(Keyring::Bob.account()),
            value: 1,
        }),
        &Keyring::Alice.pair(),
        arceon_primitives::SignedExtra {
            era: arceon_primitives::Era::Immortal,
            nonce: 0,
            tip: 0,
        },
        genesis,
        genesis,
    );
    let info = node.rpc("payment_queryInfo", json!([to_hex(&xt.encode())]));
    assert_eq!(info["class"], json!("normal"));
    let fee: u128 = info["partialFee"]
        .as_str()
        .expect("fee")
        .parse()
        .expect("decimal");
    assert!(fee > 0);
    assert!(info["weight"]["refTime"].as_u64().expect("weight") > 0);

    // Keystore methods (unsafe methods are allowed on localhost by default).
    let bob_public = to_hex(Keyring::Bob.public().as_ref());
    assert_eq!(
        node.rpc("author_hasKey", json!([bob_public, "aura"])),
        json!(false)
    );
    node.rpc("author_insertKey", json!(["aura", "//Bob", bob_public]));
    assert_eq!(
        node.rpc("author_hasKey", json!([bob_public, "aura"])),
        json!(true)
    );
    let mismatch = node
        .try_rpc("author_insertKey", json!(["aura", "//Charlie", bob_public]))
        .expect_err("public key mismatch");
    assert!(mismatch["message"]
        .as_str()
        .unwrap_or("")
        .contains("does not match"));

    // Method list and health.
    let methods = node.rpc("rpc_methods", json!([]));
    for name in [
        "chain_getHeader",
        "chain_subscribeNewHeads",
        "state_getStorage",
        "author_submitAndWatchExtrinsic",
        "system_accountNextIndex",
        "payment_queryInfo",
    ] {
        assert!(
            methods["methods"]
                .as_array()
                .expect("list")
                .contains(&json!(name)),
            "{name}"
        );
    }
    assert_eq!(
        node.rpc("system_health", json!([]))["isSyncing"],
        json!(false)
    );
    assert_eq!(
        node.rpc("system_chainType", json!([])),
        json!("Development")
    );

    // Prometheus.
    let metrics = node.metrics();
    assert!(
        metrics.contains("arceon_block_height{status=\"best\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("arceon_rpc_calls_total"), "{metrics}");
    // A dev node alone: no peers, nothing to sync, its own voter running.
    assert_eq!(common::metric(&metrics, "arceon_network_peers"), Some(0));
    assert_eq!(common::metric(&metrics, "arceon_network_syncing"), Some(0));
    assert_eq!(
        common::metric(&metrics, "arceon_finality_voter{value=\"set_id\"}"),
        Some(0)
    );
    // The same figures under the names Substrate dashboards chart.
    let best = common::metric(&metrics, "substrate_block_height{status=\"best\"}");
    assert!(best.is_some_and(|b| b >= 1), "{metrics}");
    assert!(
        common::metric(&metrics, "substrate_block_height{status=\"finalized\"}").is_some(),
        "{metrics}"
    );
    assert_eq!(
        common::metric(&metrics, "substrate_sub_libp2p_peers_count"),
        Some(0)
    );
    assert!(
        common::metric(&metrics, "substrate_ready_transactions_number").is_some(),
        "{metrics}"
    );
    assert!(
        metrics.contains("substrate_block_verification_and_import_time_count"),
        "{metrics}"
    );

    let best_number = node.best_number();
    drop(node);

    // Offline commands on the stopped node's database.
    let out = node_cmd(&["chain-info", "--chain", "dev", "--base-path", base_str]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).expect("chain-info JSON");
    assert_eq!(info["best"]["number"], json!(best_number), "{info}");
    assert!(info["finalized"]["number"].as_u64() <= Some(best_number as u64));
    assert_eq!(info["statePruning"], "256");
    assert!(
        info["databaseBytes"].as_u64().is_some_and(|b| b > 0),
        "{info}"
    );
    let missing = dir.path().join("nothing-here");
    let out = node_cmd(&[
        "chain-info",
        "--chain",
        "dev",
        "--base-path",
        missing.to_str().expect("utf8"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database"));
    assert!(!missing.exists(), "chain-info creates nothing");

    // check-block re-executes a stored block by number, and one from a file; a block
    // with a changed byte is reported invalid.
    let out = node_cmd(&[
        "check-block",
        "2",
        "--chain",
        "dev",
        "--base-path",
        base_str,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked: Value = serde_json::from_slice(&out.stdout).expect("check-block JSON");
    assert_eq!(checked["number"], json!(2));
    assert_eq!(checked["result"], "ok");
    let one = dir.path().join("block2.bin");
    let out = node_cmd(&[
        "export-blocks",
        "--chain",
        "dev",
        "--base-path",
        base_str,
        "--from",
        "2",
        "--to",
        "2",
        one.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check_file = |path: &std::path::Path| {
        node_cmd(&[
            "check-block",
            path.to_str().expect("utf8"),
            "--chain",
            "dev",
            "--base-path",
            base_str,
        ])
    };
    let out = check_file(&one);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bytes = std::fs::read(&one).expect("block file");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let tampered = dir.path().join("tampered.bin");
    std::fs::write(&tampered, &bytes).expect("write");
    let out = check_file(&tampered);
    assert!(!out.status.success(), "a changed block must not check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid") || stderr.contains("SCALE"),
        "{stderr}"
    );

    let spec = node_cmd(&["build-spec", "--chain", "dev", "--raw"]);
    assert!(spec.status.success());
    let spec: Value = serde_json::from_slice(&spec.stdout).expect("spec json");
    assert!(spec["genesis"]["raw"]["top"].is_object());

    let export = dir.path().join("blocks.bin");
    let out = node_cmd(&[
        "export-blocks",
        "--chain",
        "dev",
        "--base-path",
        base_str,
        export.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = dir.path().join("fresh");
    let out = node_cmd(&[
        "import-blocks",
        "--chain",
        "dev",
        "--base-path",
        fresh.to_str().expect("utf8"),
        export.to_str().expect("utf8"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let imported_best: u32 = stderr
        .split("best #")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no best block in: {stderr}"));
    assert!(imported_best >= best_number, "{stderr}");

    let out = node_cmd(&[
        "export-state",
        "--chain",
        "dev",
        "--base-path",
        fresh.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: Value = serde_json::from_slice(&out.stdout).expect("state json");
    assert_eq!(state["block"]["number"], json!(imported_best));
    let accounts = state["accounts"].as_array().expect("accounts");
    assert!(accounts
        .iter()
        .any(|a| a["address"] == json!(to_ss58(&alice))));

    let out = node_cmd(&[
        "benchmark",
        "pallet",
        "--accounts",
        "100",
        "--repeat",
        "200",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("balances.transfer_allow_death"), "{stdout}");

    let out = node_cmd(&["key", "inspect", "//Alice"]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"));
    keys_sign_verify_and_insert(&dir.path().join("keys"));

    let out = node_cmd(&[
        "purge-chain",
        "--chain",
        "dev",
        "--base-path",
        fresh.to_str().expect("utf8"),
        "-y",
    ]);
    assert!(out.status.success());
    assert!(!fresh.join("chains/dev/db").exists());
}

/// Runs `arceon-node` with `stdin` as its standard input.
fn node_cmd_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(binary("arceon-node"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run arceon-node");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("arceon-node output")
}

fn keys_sign_verify_and_insert(base: &std::path::Path) {
    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    let out = node_cmd(&["key", "inspect", "//Alice", "--output-type", "json"]);
    let inspected: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    assert_eq!(inspected["ss58Address"], ALICE);
    let out = node_cmd(&["key", "generate", "--output-type", "json"]);
    let generated: Value = serde_json::from_slice(&out.stdout).expect("generate JSON");
    assert_eq!(
        generated["secretPhrase"]
            .as_str()
            .expect("phrase")
            .split(' ')
            .count(),
        12
    );

    // Sign with the secret on standard input (not in argv), verify by address.
    let out = node_cmd_with_stdin(&["key", "sign", "--message", "hello arceon"], "//Alice\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signature = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(signature.len(), 2 + 128, "{signature}");
    let out = node_cmd(&[
        "key",
        "verify",
        &signature,
        ALICE,
        "--message",
        "hello arceon",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = node_cmd(&[
        "key",
        "verify",
        &signature,
        ALICE,
        "--message",
        "hello arceoN",
    ]);
    assert!(!out.status.success(), "a changed message must not verify");
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
    let out = node_cmd(&["key", "verify", "0x1234", ALICE, "--message", "x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 bytes"));

    // Insert a key from a file into a keystore.
    let secret = base.join("secret");
    std::fs::create_dir_all(base).expect("dir");
    std::fs::write(&secret, "//Bob\n").expect("secret file");
    let out = node_cmd(&[
        "key",
        "insert",
        "--suri-file",
        secret.to_str().expect("utf8"),
        "--key-type",
        "aura",
        "--chain",
        "dev",
        "--base-path",
        base.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keystore = base.join("chains/dev/keystore");
    assert_eq!(std::fs::read_dir(&keystore).expect("keystore").count(), 1);
}

#[test]
fn blocks_pruning_keeps_headers_and_recent_bodies_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(
        &["--dev", "--tmp", "--blocks-pruning", "3"],
        dir.path().join("node.log"),
    );
    node.wait_for("block 8", Duration::from_secs(30), |n| n.best_number() >= 8);
    let old = node.rpc("chain_getBlockHash", json!([1]));
    assert!(
        node.rpc("chain_getHeader", json!([old])).is_object(),
        "headers stay"
    );
    assert_eq!(
        node.rpc("chain_getBlock", json!([old])),
        Value::Null,
        "block 1's body is pruned"
    );
    let best = node.rpc("chain_getBlockHash", json!([]));
    assert!(node.rpc("chain_getBlock", json!([best])).is_object());
    let refused = Command::new(binary("arceon-node"))
        .args(["--dev", "--tmp", "--blocks-pruning", "lots"])
        .output()
        .expect("run arceon-node");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("lots"));
}
