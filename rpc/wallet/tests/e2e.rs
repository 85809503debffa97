//! `arceon-wallet` against a real `arceon-node --dev` process on 127.0.0.1: a transfer
//! reported in its block (with its `Transfer` event) and then finalized, balances read
//! back over RPC, and the errors a player sees for a node that is down, a bad address
//! and insufficient funds.

#[path = "../../../node/cli/tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};
use std::time::Duration;

use arceon_pallet_system as system;
use arceon_primitives::{keyring::Keyring, to_hex, to_ss58, ARCM};
use common::Node;
use serde_json::json;

fn wallet(node_url: &str, suri: &str, args: &[&str]) -> Output {
    Command::new(common::binary("arceon-wallet"))
        .args(["--url", node_url, "--suri", suri])
        .args(args)
        .output()
        .expect("run arceon-wallet")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn free_over_rpc(node: &Node, who: Keyring) -> u128 {
    common::free_balance(node, &who.account(), None)
}

#[test]
fn wallet_transfers_and_reports_block_events_and_finality() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&["--dev", "--tmp"], dir.path().join("node.log"));
    let url = node.url();
    let bob = to_ss58(&Keyring::Bob.account());
    let before = free_over_rpc(&node, Keyring::Bob);

    let output = wallet(&url, "//Alice", &["transfer", &bob, "1.5"]);
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "transfer failed:\n{stdout}\n{stderr}"
    );
    let in_block = stdout.find("inBlock 0x").expect("inBlock reported");
    let transfer = stdout
        .find("Balances.Transfer")
        .expect("Transfer event reported");
    let finalized = stdout.find("finalized 0x").expect("finalized reported");
    assert!(
        in_block < transfer && transfer < finalized,
        "order:\n{stdout}"
    );

    // The Transfer event is in the reported block's events.
    let block_hash = stdout[in_block + "inBlock ".len()..]
        .split_whitespace()
        .next()
        .expect("hash")
        .to_string();
    let events_key = to_hex(&system::events_key());
    let raw = node.rpc("state_getStorage", json!([events_key, block_hash]));
    let raw = arceon_primitives::from_hex(raw.as_str().expect("events")).expect("hex");
    let events = arceon_runtime::decode_events(&raw).expect("decode events");
    assert!(events.iter().any(|record| matches!(
        &record.event,
        arceon_runtime::RuntimeEvent::Balances(arceon_pallet_balances::Event::Transfer { to, amount, .. })
            if *to == Keyring::Bob.account() && *amount == 3 * ARCM / 2
    )));

    // Bob's balance changed, in state_getStorage and in `arceon-wallet balance`.
    let after = free_over_rpc(&node, Keyring::Bob);
    assert_eq!(after, before + 3 * ARCM / 2);
    let output = wallet(&url, "//Alice", &["balance", &bob]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let expected = format!("free {}.{:012} ArcM", after / ARCM, after % ARCM);
    assert!(
        stdout.contains(&expected),
        "expected '{expected}' in:\n{stdout}"
    );

    // A bad address, insufficient funds: clear errors, nothing sent.
    let output = wallet(&url, "//Alice", &["transfer", "5NotAnAddress", "1"]);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.to_lowercase().contains("address"), "{stderr}");
    let output = wallet(&url, "//NobodyHasFunds", &["transfer", &bob, "1"]);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.to_lowercase().contains("insufficient"), "{stderr}");

    // A node that is down.
    drop(node);
    std::thread::sleep(Duration::from_millis(200));
    let output = wallet(&url, "//Alice", &["balance"]);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("is arceon-node running"), "{stderr}");
}
