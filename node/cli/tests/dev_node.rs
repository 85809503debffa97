//! A real `arceon-node --dev` process driven over JSON-RPC on 127.0.0.1: authoring,
//! transfers through the pool, replay and future-nonce handling, malformed requests,
//! and restarting on the same base path.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use arceon_pallet_balances as balances;
use arceon_primitives::{
    keyring::{numbered_pair, Keyring},
    sr25519, to_hex, Era, MultiAddress, SignedExtra, ARCM, H256,
};
use arceon_runtime::{executive::sign_extrinsic, Call};
use codec::Encode;
use common::{tail, Node};
use serde_json::json;
use sp_core::Pair as _;

fn genesis_hash(node: &Node) -> H256 {
    let hash = node.rpc("chain_getBlockHash", json!([0]));
    let bytes = arceon_primitives::from_hex(hash.as_str().expect("hash")).expect("hex");
    H256::from_slice(&bytes)
}

fn transfer(
    genesis: H256,
    from: &sr25519::Pair,
    to: &sr25519::Pair,
    value: u128,
    nonce: u32,
) -> String {
    let call = Call::Balances(balances::Call::TransferKeepAlive {
        dest: MultiAddress::Id(to.public().into()),
        value,
    });
    let extra = SignedExtra {
        era: Era::Immortal,
        nonce,
        tip: 0,
    };
    to_hex(&sign_extrinsic(call, from, extra, genesis, genesis).encode())
}

fn free_balance(node: &Node, who: &sr25519::Pair, at: Option<&str>) -> u128 {
    common::free_balance(node, &who.public().into(), at)
}

fn nonce(node: &Node, who: &sr25519::Pair) -> u32 {
    let address = arceon_primitives::to_ss58(&who.public().into());
    node.rpc("system_accountNextIndex", json!([address]))
        .as_u64()
        .expect("nonce") as u32
}

/// Extrinsics of every block from `from` to the best one, with their block numbers.
fn included(node: &Node, from: u32) -> Vec<(u32, String)> {
    let best = node.best_number();
    let mut all = Vec::new();
    for number in from..=best {
        let hash = node.rpc("chain_getBlockHash", json!([number]));
        let block = node.rpc("chain_getBlock", json!([hash]));
        for xt in block["block"]["extrinsics"].as_array().expect("extrinsics") {
            all.push((number, xt.as_str().expect("hex").to_string()));
        }
    }
    all
}

#[test]
fn dev_node_authors_accepts_transfers_and_rejects_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("base");
    let base_str = base.to_str().expect("utf8 path");
    let node = Node::start(
        &["--dev", "--base-path", base_str],
        dir.path().join("node1.log"),
    );

    // Blocks are authored every slot.
    let first = node.best_number();
    node.wait_for("two new blocks", Duration::from_secs(20), |n| {
        n.best_number() >= first + 2
    });
    let finalized = node.rpc("chain_getFinalizedHead", json!([]));
    assert!(finalized.as_str().is_some(), "finalized head {finalized}");
    assert_eq!(node.rpc("system_chain", json!([])), json!("Development"));
    assert_eq!(
        node.rpc("system_properties", json!([])),
        json!({"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "ArcM"})
    );
    assert_eq!(
        node.rpc("state_getRuntimeVersion", json!([]))["specName"],
        json!("arceon")
    );

    let genesis = genesis_hash(&node);
    let alice = Keyring::Alice.pair();
    let bob = Keyring::Bob.pair();
    let start_block = node.best_number() + 1;

    // Fund 14 more accounts so 20 senders can each send 10 transfers.
    let mut senders: Vec<sr25519::Pair> = Keyring::ALL.iter().map(|k| k.pair()).collect();
    let extra: Vec<sr25519::Pair> = (0..14).map(numbered_pair).collect();
    let alice_nonce = nonce(&node, &alice);
    for (i, account) in extra.iter().enumerate() {
        let xt = transfer(genesis, &alice, account, 100 * ARCM, alice_nonce + i as u32);
        node.rpc("author_submitExtrinsic", json!([xt]));
    }
    senders.extend(extra.iter().cloned());
    node.wait_for("funding transfers", Duration::from_secs(30), |n| {
        extra.iter().all(|a| free_balance(n, a, None) == 100 * ARCM)
    });

    // 200 transfers at once from 20 accounts, to Bob.
    let bob_before = free_balance(&node, &bob, None);
    let mut expected: HashMap<String, (usize, u32)> = HashMap::new();
    let mut batch = Vec::new();
    for (s, sender) in senders.iter().enumerate() {
        let base_nonce = nonce(&node, sender);
        for k in 0..10u32 {
            let dest = if s == 1 { &alice } else { &bob };
            let xt = transfer(genesis, sender, dest, ARCM / 10, base_nonce + k);
            expected.insert(xt.clone(), (s, base_nonce + k));
            batch.push(xt);
        }
    }
    for xt in &batch {
        node.rpc("author_submitExtrinsic", json!([xt]));
    }
    node.wait_for("200 transfers to land", Duration::from_secs(60), |n| {
        let landed = included(n, start_block);
        batch.iter().all(|xt| landed.iter().any(|(_, l)| l == xt))
    });
    // In nonce order per account.
    let landed = included(&node, start_block);
    let mut last_nonce: HashMap<usize, u32> = HashMap::new();
    for (_, xt) in &landed {
        if let Some((sender, nonce)) = expected.get(xt) {
            if let Some(previous) = last_nonce.insert(*sender, *nonce) {
                assert!(
                    previous < *nonce,
                    "sender {sender}: nonce {nonce} after {previous}"
                );
            }
        }
    }
    assert_eq!(last_nonce.len(), 20);
    // 19 senders paid Bob 0.1 ArcM ten times each (19 ArcM); Bob sent 1 ArcM to Alice and
    // paid eleven fees.
    let bob_after = free_balance(&node, &bob, None);
    assert!(
        bob_after > bob_before + 17 * ARCM,
        "{bob_before} -> {bob_after}"
    );
    assert!(
        bob_after < bob_before + 18 * ARCM,
        "{bob_before} -> {bob_after}"
    );

    // A replayed extrinsic is rejected.
    let replay = node
        .try_rpc("author_submitExtrinsic", json!([batch[0]]))
        .expect_err("replay must be rejected");
    assert!(
        matches!(replay["code"].as_i64(), Some(1010) | Some(1012)),
        "replay error: {replay}"
    );

    // A future nonce waits in the pool and lands once the gap is filled.
    let charlie = Keyring::Charlie.pair();
    let n = nonce(&node, &charlie);
    let gap_filler = transfer(genesis, &charlie, &bob, ARCM, n);
    let future = transfer(genesis, &charlie, &bob, ARCM, n + 1);
    node.rpc("author_submitExtrinsic", json!([future]));
    let waited_from = node.best_number();
    node.wait_for("two more blocks", Duration::from_secs(20), |node| {
        node.best_number() >= waited_from + 2
    });
    let pending = node.rpc("author_pendingExtrinsics", json!([]));
    assert!(
        pending
            .as_array()
            .expect("list")
            .iter()
            .any(|x| x == &json!(future)),
        "future transaction waits in the pool"
    );
    assert!(!included(&node, waited_from)
        .iter()
        .any(|(_, x)| x == &future));
    node.rpc("author_submitExtrinsic", json!([gap_filler]));
    node.wait_for("gap filled", Duration::from_secs(30), |node| {
        let landed = included(node, waited_from);
        landed.iter().any(|(_, x)| x == &future) && landed.iter().any(|(_, x)| x == &gap_filler)
    });

    // Malformed requests get JSON-RPC errors.
    let (_, body) = node.post_raw(b"{not json").expect("post");
    assert!(body.contains("-32700"), "parse error: {body}");
    let wrong = node
        .try_rpc("chain_getBlockHash", json!(["banana"]))
        .expect_err("bad number");
    assert_eq!(wrong["code"], json!(-32602));
    let wrong = node
        .try_rpc("state_getStorage", json!([]))
        .expect_err("missing params");
    assert_eq!(wrong["code"], json!(-32602));
    let bad_hex = node
        .try_rpc("author_submitExtrinsic", json!(["0xzz"]))
        .expect_err("bad hex");
    assert_eq!(bad_hex["code"], json!(-32602));
    let garbage = node
        .try_rpc("author_submitExtrinsic", json!(["0x0102030405"]))
        .expect_err("undecodable");
    assert_eq!(garbage["code"], json!(1010), "{garbage}");
    let mut tampered =
        arceon_primitives::from_hex(&transfer(genesis, &bob, &alice, ARCM, nonce(&node, &bob)))
            .expect("hex");
    tampered[45] ^= 1;
    let bad_sig = node
        .try_rpc("author_submitExtrinsic", json!([to_hex(&tampered)]))
        .expect_err("bad signature");
    assert_eq!(bad_sig["code"], json!(1010));
    assert!(
        bad_sig["data"].as_str().unwrap_or("").contains("proof"),
        "{bad_sig}"
    );
    let unknown = node
        .try_rpc("chain_doesNotExist", json!([]))
        .expect_err("unknown method");
    assert_eq!(unknown["code"], json!(-32601));
    let oversized = vec![b'a'; 16 * 1024 * 1024];
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"author_submitExtrinsic\",\"params\":[\"0x{}\"]}}",
        String::from_utf8_lossy(&oversized)
    );
    let (status, body) = node.post_raw(huge.as_bytes()).unwrap_or((0, String::new()));
    assert!(
        status == 413 || body.contains("-32701") || status == 0,
        "oversized: {status} {body}"
    );

    // The node kept authoring throughout.
    let after_abuse = node.best_number();
    node.wait_for("authoring after bad input", Duration::from_secs(20), |n| {
        n.best_number() > after_abuse
    });

    // Restarting on the same base path continues the stored chain.
    let height = node.best_number();
    drop(node);
    let node = Node::start(
        &["--dev", "--base-path", base_str],
        dir.path().join("node2.log"),
    );
    let restarted = node.best_number();
    assert!(
        restarted >= height,
        "restarted at #{restarted}, had #{height}: {}",
        tail(&node.log_text())
    );
    assert_eq!(genesis_hash(&node), genesis);
    node.wait_for("authoring after restart", Duration::from_secs(20), |n| {
        n.best_number() > restarted
    });
}
