//! The new JSON-RPC interface spec (what polkadot-api and light clients use) on a real
//! `arceon-node --dev` over a real WebSocket: `chainHead_v1_follow` events in order with
//! their parent links, reads of pinned blocks that give the legacy methods' bytes,
//! pinning and its errors, operation and follow limits, `transactionWatch_v1` events for
//! a transfer and for garbage, `transaction_v1_broadcast`, `chainSpec_v1_*` and
//! `archive_v1_*`.

mod common;
#[path = "common/ws.rs"]
mod ws;

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use arceon_pallet_balances as balances;
use arceon_primitives::{
    keyring::Keyring, sr25519, to_hex, Era, Header, MultiAddress, SignedExtra, H256,
};
use arceon_runtime::{executive::sign_extrinsic, Call};
use codec::{Decode, Encode};
use common::Node;
use serde_json::{json, Value};
use sp_core::Pair as _;

/// A WebSocket session that keeps notifications that arrive while it waits for an answer.
struct Session {
    socket: ws::WebSocket,
    notifications: VecDeque<Value>,
}

impl Session {
    fn open(node: &Node) -> Session {
        Session {
            socket: ws::WebSocket::open(node, None).expect("WebSocket upgrade"),
            notifications: VecDeque::new(),
        }
    }

    /// The whole answer (`result` or `error`) to a call.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.socket.send_call(method, params);
        loop {
            let message = self.socket.recv_json();
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
            assert!(
                message.get("method").is_some(),
                "neither our answer nor a notification: {message}"
            );
            self.notifications.push_back(message);
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let answer = self.request(method, params);
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    fn error_code(&mut self, method: &str, params: Value) -> i64 {
        let answer = self.request(method, params);
        answer["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{method} should fail: {answer}"))
    }

    /// The next notification of `subscription` (its `result`), waiting at most `timeout`.
    fn next_event(&mut self, subscription: &Value, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(position) = self
                .notifications
                .iter()
                .position(|n| n["params"]["subscription"] == *subscription)
            {
                let message = self.notifications.remove(position).expect("present");
                return message["params"]["result"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no event for {subscription} in {timeout:?}"
            );
            let message = self.socket.recv_json();
            assert!(
                message.get("method").is_some(),
                "unexpected answer {message}"
            );
            self.notifications.push_back(message);
        }
    }

    /// The next event of operation `operation` of follow `subscription`.
    fn next_operation_event(&mut self, subscription: &Value, operation: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(position) = self.notifications.iter().position(|n| {
                n["params"]["subscription"] == *subscription
                    && n["params"]["result"]["operationId"] == *operation
            }) {
                return self.notifications.remove(position).expect("present")["params"]["result"]
                    .clone();
            }
            assert!(
                Instant::now() < deadline,
                "no event for operation {operation}"
            );
            let message = self.socket.recv_json();
            self.notifications.push_back(message);
        }
    }

    /// The events of operation `operation` up to and including the one named `last`.
    fn operation_events(
        &mut self,
        subscription: &Value,
        operation: &Value,
        last: &str,
    ) -> Vec<Value> {
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let position = self.notifications.iter().position(|n| {
                n["params"]["subscription"] == *subscription
                    && n["params"]["result"]["operationId"] == *operation
            });
            match position {
                Some(position) => {
                    let event = self.notifications.remove(position).expect("present")["params"]
                        ["result"]
                        .clone();
                    let done = event["event"] == last
                        || matches!(
                            event["event"].as_str(),
                            Some("operationError" | "operationInaccessible")
                        );
                    events.push(event);
                    if done {
                        return events;
                    }
                }
                None => {
                    let message = self.socket.recv_json();
                    self.notifications.push_back(message);
                }
            }
        }
        panic!("operation {operation} did not end with {last}: {events:?}");
    }
}

fn hex_bytes(value: &Value) -> Vec<u8> {
    arceon_primitives::from_hex(value.as_str().expect("hex string")).expect("hex")
}

fn hash_of(value: &Value) -> H256 {
    H256::from_slice(&hex_bytes(value))
}

fn genesis_hash(node: &Node) -> H256 {
    hash_of(&node.rpc("chain_getBlockHash", json!([0])))
}

fn transfer(genesis: H256, from: &sr25519::Pair, to: &sr25519::Pair, nonce: u32) -> String {
    let call = Call::Balances(balances::Call::TransferKeepAlive {
        dest: MultiAddress::Id(to.public().into()),
        value: 1_000,
    });
    let extra = SignedExtra {
        era: Era::Immortal,
        nonce,
        tip: 0,
    };
    to_hex(&sign_extrinsic(call, from, extra, genesis, genesis).encode())
}

fn chain_nonce(node: &Node, who: &sr25519::Pair) -> u32 {
    let account: arceon_primitives::AccountId32 = who.public().into();
    let answer = node.rpc(
        "state_call",
        json!(["AccountNonceApi_account_nonce", to_hex(&account.encode())]),
    );
    u32::decode(&mut &hex_bytes(&answer)[..]).expect("nonce")
}

/// Follows the chain and checks the event stream's order and links until `finalized`
/// events have come: returns the subscription id, the latest finalized hash and every
/// block reported.
fn follow_and_check(session: &mut Session, node: &Node) -> (Value, H256, HashSet<H256>) {
    let subscription = session.call("chainHead_v1_follow", json!([true]));
    assert!(
        subscription.is_string(),
        "an opaque string id: {subscription}"
    );

    let initialized = session.next_event(&subscription, Duration::from_secs(10));
    assert_eq!(initialized["event"], "initialized", "{initialized}");
    let finalized_hashes = initialized["finalizedBlockHashes"]
        .as_array()
        .expect("finalized hashes");
    assert!(!finalized_hashes.is_empty());
    let runtime = &initialized["finalizedBlockRuntime"];
    assert_eq!(runtime["type"], "valid", "{runtime}");
    assert_eq!(runtime["spec"]["specName"], "arceon");
    let core = to_hex(&arceon_runtime::api_id("Core"));
    assert!(runtime["spec"]["apis"][&core].is_number(), "{runtime}");

    let mut finalized = hash_of(finalized_hashes.last().expect("one"));
    let mut reported: HashSet<H256> = finalized_hashes.iter().map(hash_of).collect();
    let mut best: Option<H256> = None;
    let mut finalized_events = 0;
    let mut new_blocks = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while finalized_events < 2 || new_blocks < 2 {
        assert!(Instant::now() < deadline, "no finality within 60 s");
        let event = session.next_event(&subscription, Duration::from_secs(20));
        match event["event"].as_str() {
            Some("newBlock") => {
                let hash = hash_of(&event["blockHash"]);
                let parent = hash_of(&event["parentBlockHash"]);
                assert!(reported.contains(&parent), "parent reported first: {event}");
                assert!(reported.insert(hash), "each block once: {event}");
                assert!(event["newRuntime"].is_null(), "the runtime never changes");
                // The parent link is the chain's.
                let header = node.rpc("chain_getHeader", json!([event["blockHash"]]));
                assert_eq!(header["parentHash"], event["parentBlockHash"]);
                new_blocks += 1;
            }
            Some("bestBlockChanged") => {
                let hash = hash_of(&event["bestBlockHash"]);
                assert!(reported.contains(&hash), "best is reported: {event}");
                best = Some(hash);
            }
            Some("finalized") => {
                assert!(best.is_some(), "bestBlockChanged before finalized");
                let hashes: Vec<H256> = event["finalizedBlockHashes"]
                    .as_array()
                    .expect("list")
                    .iter()
                    .map(hash_of)
                    .collect();
                assert!(!hashes.is_empty());
                // Oldest first, each the child of the one before, from our finalized block.
                let mut parent = finalized;
                for hash in &hashes {
                    assert!(reported.contains(hash), "finalized blocks were reported");
                    let header = node.rpc("chain_getHeader", json!([to_hex(hash.as_bytes())]));
                    assert_eq!(hash_of(&header["parentHash"]), parent);
                    parent = *hash;
                }
                assert_eq!(
                    event["prunedBlockHashes"],
                    json!([]),
                    "one author: no forks"
                );
                finalized = *hashes.last().expect("one");
                finalized_events += 1;
            }
            other => panic!("unexpected follow event {other:?}: {event}"),
        }
    }
    (subscription, finalized, reported)
}

#[test]
fn chain_head_follow_pinning_reads_and_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&["--dev"], dir.path().join("node.log"));
    node.wait_for("block 2", Duration::from_secs(30), |n| n.best_number() >= 2);
    let mut session = Session::open(&node);
    let (subscription, block, _) = follow_and_check(&mut session, &node);
    let block_hex = to_hex(block.as_bytes());

    // Header: the SCALE header of the pinned block, the same as chain_getHeader's.
    let header = session.call("chainHead_v1_header", json!([subscription, block_hex]));
    let header = Header::decode(&mut &hex_bytes(&header)[..]).expect("SCALE header");
    assert_eq!(header.hash(), block);
    let legacy = node.rpc("chain_getHeader", json!([block_hex]));
    assert_eq!(json!(header.parent_hash), legacy["parentHash"]);
    assert_eq!(json!(header.state_root), legacy["stateRoot"]);

    // Body: the legacy block's extrinsics.
    let started = session.call("chainHead_v1_body", json!([subscription, block_hex]));
    assert_eq!(started["result"], "started", "{started}");
    let events =
        session.operation_events(&subscription, &started["operationId"], "operationBodyDone");
    let legacy_block = node.rpc("chain_getBlock", json!([block_hex]));
    assert_eq!(
        events.last().expect("done")["value"],
        legacy_block["block"]["extrinsics"]
    );

    // Calls: the same bytes as state_call at that block.
    let alice = Keyring::Alice.account();
    for (function, input) in [
        ("Core_version", "0x".to_string()),
        ("AccountNonceApi_account_nonce", to_hex(&alice.encode())),
    ] {
        let started = session.call(
            "chainHead_v1_call",
            json!([subscription, block_hex, function, input]),
        );
        let events =
            session.operation_events(&subscription, &started["operationId"], "operationCallDone");
        let done = events.last().expect("done");
        assert_eq!(done["event"], "operationCallDone", "{done}");
        assert_eq!(
            done["output"],
            node.rpc("state_call", json!([function, input, block_hex])),
            "{function}"
        );
    }
    let started = session.call(
        "chainHead_v1_call",
        json!([subscription, block_hex, "Nope_nothing", "0x"]),
    );
    let events =
        session.operation_events(&subscription, &started["operationId"], "operationCallDone");
    assert_eq!(events.last().expect("end")["event"], "operationError");

    // Storage: value, hash, an absent key, the state root as the empty key's Merkle value,
    // and every key under the System prefix in pages.
    let account_key = to_hex(&arceon_pallet_system::Account::key(&alice));
    let absent_key = "0x0badc0de";
    let system_prefix = to_hex(&arceon_primitives::twox_128(b"System"));
    let started = session.call(
        "chainHead_v1_storage",
        json!([subscription, block_hex, [
            { "key": account_key, "type": "value" },
            { "key": account_key, "type": "hash" },
            { "key": absent_key, "type": "value" },
            { "key": "0x", "type": "closestDescendantMerkleValue" },
            { "key": system_prefix, "type": "descendantsValues" },
        ], null]),
    );
    assert_eq!(started["result"], "started", "{started}");
    assert_eq!(started["discardedItems"], 0);
    let operation = started["operationId"].clone();
    let mut items = Vec::new();
    let mut pages_waited = 0;
    loop {
        let event = session.next_operation_event(&subscription, &operation);
        match event["event"].as_str() {
            Some("operationStorageItems") => {
                items.extend(event["items"].as_array().expect("items").iter().cloned())
            }
            Some("operationWaitingForContinue") => {
                pages_waited += 1;
                assert_eq!(
                    session.call("chainHead_v1_continue", json!([subscription, operation])),
                    Value::Null
                );
            }
            Some("operationStorageDone") => break,
            other => panic!("unexpected storage event {other:?}: {event}"),
        }
    }
    let value = items
        .iter()
        .find(|i| i["key"] == account_key && i.get("value").is_some())
        .expect("the account's value");
    assert_eq!(
        value["value"],
        node.rpc("state_getStorage", json!([account_key, block_hex]))
    );
    let hash = items
        .iter()
        .find(|i| i["key"] == account_key && i.get("hash").is_some())
        .expect("the account's hash");
    assert_eq!(
        hash["hash"],
        node.rpc("state_getStorageHash", json!([account_key, block_hex]))
    );
    assert!(
        !items.iter().any(|i| i["key"] == absent_key),
        "absent key has no item"
    );
    let merkle = items
        .iter()
        .find(|i| i.get("closestDescendantMerkleValue").is_some())
        .expect("merkle value");
    assert_eq!(
        merkle["closestDescendantMerkleValue"],
        json!(header.state_root)
    );
    let legacy_keys = node.rpc(
        "state_getKeysPaged",
        json!([system_prefix, 1000, null, block_hex]),
    );
    let legacy_keys = legacy_keys.as_array().expect("keys");
    assert!(legacy_keys.len() > 16, "enough keys to need pages");
    assert!(pages_waited >= 1, "paging with operationWaitingForContinue");
    let descendants: Vec<&Value> = items
        .iter()
        .filter(|i| {
            i["key"]
                .as_str()
                .is_some_and(|k| k.starts_with(system_prefix.as_str()))
                && i.get("value").is_some()
        })
        .collect();
    // The account key is under System too: once as the value item, once as a descendant.
    assert_eq!(descendants.len(), legacy_keys.len() + 1);
    for key in legacy_keys {
        let item = descendants
            .iter()
            .find(|i| i["key"] == *key)
            .unwrap_or_else(|| panic!("descendant {key} reported"));
        assert_eq!(
            item["value"],
            node.rpc("state_getStorage", json!([key, block_hex]))
        );
    }

    // Bad input: errors, and nothing changes.
    assert_eq!(
        session.error_code("chainHead_v1_header", json!([subscription, "0xzz"])),
        -32602
    );
    assert_eq!(
        session.error_code(
            "chainHead_v1_storage",
            json!([subscription, block_hex, [{ "key": "nothex", "type": "value" }], null])
        ),
        -32602
    );
    assert_eq!(
        session.error_code(
            "chainHead_v1_storage",
            json!([subscription, block_hex, [{ "key": "0x00", "type": "everything" }], null])
        ),
        -32602
    );
    let unknown_hash = to_hex(&[0x42; 32]);
    assert_eq!(
        session.error_code("chainHead_v1_header", json!([subscription, unknown_hash])),
        -32801
    );
    assert_eq!(
        session.error_code("chainHead_v1_body", json!([subscription, unknown_hash])),
        -32801
    );
    // An unknown follow subscription: the spec's answers for a stale one.
    assert_eq!(
        session.call("chainHead_v1_header", json!(["no-such-follow", block_hex])),
        Value::Null
    );
    assert_eq!(
        session.call("chainHead_v1_body", json!(["no-such-follow", block_hex]))["result"],
        "limitReached"
    );
    assert_eq!(
        session.call("chainHead_v1_unpin", json!(["no-such-follow", block_hex])),
        Value::Null
    );
    // The block is still pinned after all that.
    assert!(session
        .call("chainHead_v1_header", json!([subscription, block_hex]))
        .is_string());

    // Operation slots: 32 descendants queries of the whole state hold every slot
    // (each waits for chainHead_v1_continue); one more item is discarded.
    let whole_state: Vec<Value> = (0..33)
        .map(|_| json!({ "key": "0x", "type": "descendantsHashes" }))
        .collect();
    let started = session.call(
        "chainHead_v1_storage",
        json!([subscription, block_hex, whole_state, null]),
    );
    assert_eq!(started["result"], "started", "{started}");
    assert_eq!(started["discardedItems"], 1);
    let heavy = started["operationId"].clone();
    loop {
        let event = session.next_operation_event(&subscription, &heavy);
        if event["event"] == "operationWaitingForContinue" {
            break;
        }
    }
    assert_eq!(
        session.call("chainHead_v1_body", json!([subscription, block_hex]))["result"],
        "limitReached"
    );
    session.call("chainHead_v1_stopOperation", json!([subscription, heavy]));
    // Stopped: continuing it is a no-op and its slots are free again.
    assert_eq!(
        session.call("chainHead_v1_continue", json!([subscription, heavy])),
        Value::Null
    );
    let started = session.call("chainHead_v1_body", json!([subscription, block_hex]));
    assert_eq!(started["result"], "started", "{started}");
    session.operation_events(&subscription, &started["operationId"], "operationBodyDone");

    // Unpin: a duplicated hash is refused whole, then the block goes and stays gone.
    assert_eq!(
        session.error_code(
            "chainHead_v1_unpin",
            json!([subscription, [block_hex, block_hex]])
        ),
        -32804
    );
    assert_eq!(
        session.call("chainHead_v1_unpin", json!([subscription, [block_hex]])),
        Value::Null
    );
    assert_eq!(
        session.error_code("chainHead_v1_header", json!([subscription, block_hex])),
        -32801
    );
    assert_eq!(
        session.error_code("chainHead_v1_unpin", json!([subscription, block_hex])),
        -32801
    );
    assert_eq!(
        session.error_code(
            "chainHead_v1_call",
            json!([subscription, block_hex, "Core_version", "0x"])
        ),
        -32801
    );

    // Follows per connection: a second one (without the runtime) works, a third is
    // refused, another connection may follow.
    let second = session.call("chainHead_v1_follow", json!([false]));
    let initialized = session.next_event(&second, Duration::from_secs(10));
    assert_eq!(initialized["event"], "initialized");
    assert!(
        initialized.get("finalizedBlockRuntime").is_none(),
        "{initialized}"
    );
    let pinned = initialized["finalizedBlockHashes"][0].clone();
    assert_eq!(
        session.error_code(
            "chainHead_v1_call",
            json!([second, pinned, "Core_version", "0x"])
        ),
        -32802
    );
    assert_eq!(
        session.error_code("chainHead_v1_follow", json!([true])),
        -32800
    );
    let mut other = Session::open(&node);
    let third = other.call("chainHead_v1_follow", json!([false]));
    assert_eq!(
        other.next_event(&third, Duration::from_secs(10))["event"],
        "initialized"
    );
    // Unfollowing frees the slot; the subscription is then unknown.
    assert_eq!(
        session.call("chainHead_v1_unfollow", json!([second])),
        json!(true)
    );
    // The slot frees once the subscription's task has seen the unfollow: retry briefly.
    let mut again = Value::Null;
    for _ in 0..50 {
        let answer = session.request("chainHead_v1_follow", json!([false]));
        if answer.get("error").is_none() {
            again = answer["result"].clone();
            break;
        }
        assert_eq!(answer["error"]["code"], -32800, "{answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(again.is_string(), "a freed slot can be used again");
    assert_eq!(
        session.call("chainHead_v1_header", json!([second, pinned])),
        Value::Null
    );

    let methods = node.rpc("rpc_methods", json!([]));
    for name in [
        "chainHead_v1_follow",
        "chainHead_v1_unfollow",
        "chainHead_v1_header",
        "chainHead_v1_body",
        "chainHead_v1_call",
        "chainHead_v1_storage",
        "chainHead_v1_continue",
        "chainHead_v1_stopOperation",
        "chainHead_v1_unpin",
        "chainSpec_v1_chainName",
        "chainSpec_v1_genesisHash",
        "chainSpec_v1_properties",
        "transactionWatch_v1_submitAndWatch",
        "transactionWatch_v1_unwatch",
        "transaction_v1_broadcast",
        "transaction_v1_stop",
        "archive_v1_finalizedHeight",
        "archive_v1_genesisHash",
        "archive_v1_hashByHeight",
        "archive_v1_header",
        "archive_v1_body",
        "archive_v1_call",
        "archive_v1_storage",
    ] {
        assert!(
            methods["methods"]
                .as_array()
                .expect("list")
                .contains(&json!(name)),
            "{name} listed"
        );
    }
}

#[test]
fn transactions_chain_spec_and_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&["--dev"], dir.path().join("node.log"));
    node.wait_for("block 1", Duration::from_secs(30), |n| n.best_number() >= 1);
    let genesis = genesis_hash(&node);
    let mut session = Session::open(&node);

    // chainSpec_v1_*: what the legacy methods say.
    assert_eq!(
        session.call("chainSpec_v1_chainName", json!([])),
        node.rpc("system_chain", json!([]))
    );
    assert_eq!(
        session.call("chainSpec_v1_genesisHash", json!([])),
        json!(genesis)
    );
    assert_eq!(
        session.call("chainSpec_v1_properties", json!([])),
        node.rpc("system_properties", json!([]))
    );

    // A transfer: validated, then in a best-chain block at its index, then finalized.
    let (alice, bob) = (Keyring::Alice.pair(), Keyring::Bob.pair());
    let tx = transfer(genesis, &alice, &bob, chain_nonce(&node, &alice));
    let watch = session.call("transactionWatch_v1_submitAndWatch", json!([tx]));
    assert!(watch.is_string(), "{watch}");
    let first = session.next_event(&watch, Duration::from_secs(10));
    assert_eq!(first["event"], "validated", "{first}");
    let mut included = None;
    let finalized = loop {
        let event = session.next_event(&watch, Duration::from_secs(30));
        match event["event"].as_str() {
            Some("bestChainBlockIncluded") if !event["block"].is_null() => {
                included = Some(event["block"].clone())
            }
            Some("finalized") => break event["block"].clone(),
            other => panic!("unexpected watch event {other:?}: {event}"),
        }
    };
    let included = included.expect("bestChainBlockIncluded before finalized");
    assert_eq!(
        included, finalized,
        "one author: the block it went into is final"
    );
    let block = node.rpc("chain_getBlock", json!([finalized["hash"]]));
    let index = finalized["index"].as_u64().expect("index") as usize;
    assert_eq!(block["block"]["extrinsics"][index], json!(tx));

    // Garbage: an `invalid` (or `error`) event, nothing in the pool, nothing included.
    let garbage = "0x0badc0de0badc0de";
    let watch = session.call("transactionWatch_v1_submitAndWatch", json!([garbage]));
    let event = session.next_event(&watch, Duration::from_secs(10));
    assert!(
        matches!(event["event"].as_str(), Some("invalid" | "error")),
        "{event}"
    );
    assert_eq!(node.rpc("author_pendingExtrinsics", json!([])), json!([]));
    assert_eq!(
        session.error_code("transactionWatch_v1_submitAndWatch", json!(["nothex"])),
        -32602
    );

    // Broadcast: an operation id; the transaction gets in; stop works once.
    let charlie = Keyring::Charlie.pair();
    let tx = transfer(genesis, &charlie, &bob, chain_nonce(&node, &charlie));
    let operation = session.call("transaction_v1_broadcast", json!([tx]));
    assert!(operation.is_string(), "{operation}");
    node.wait_for("the broadcast transfer", Duration::from_secs(30), |n| {
        chain_nonce(n, &charlie) == 1
    });
    let dave = Keyring::Dave.pair();
    let tx = transfer(genesis, &dave, &bob, chain_nonce(&node, &dave));
    let operation = session.call("transaction_v1_broadcast", json!([tx]));
    assert_eq!(
        session.call("transaction_v1_stop", json!([operation])),
        Value::Null
    );
    assert!(session.error_code("transaction_v1_stop", json!([operation])) < 0);
    assert_eq!(
        session.error_code("transaction_v1_broadcast", json!(["0xzz"])),
        -32602
    );
    // Per-connection bound: transactions with far-future nonces stay held in the pool,
    // so their broadcasts stay alive until the connection runs out of them.
    let eve = Keyring::Eve.pair();
    let mut held = Vec::new();
    let mut refused = false;
    for nonce in 1_000..1_040 {
        let tx = transfer(genesis, &eve, &bob, nonce);
        match session.call("transaction_v1_broadcast", json!([tx])) {
            Value::Null => {
                refused = true;
                break;
            }
            id => held.push(id),
        }
    }
    assert!(refused, "a connection's broadcasts are bounded");
    assert!(held.len() >= 4, "the spec's minimum of 4: {}", held.len());
    for id in &held {
        assert_eq!(
            session.call("transaction_v1_stop", json!([id])),
            Value::Null
        );
    }

    // archive_v1_*.
    let height = session.call("archive_v1_finalizedHeight", json!([]));
    assert!(height.as_u64().expect("height") >= 1, "{height}");
    assert_eq!(
        session.call("archive_v1_genesisHash", json!([])),
        json!(genesis)
    );
    assert_eq!(
        session.call("archive_v1_hashByHeight", json!([0])),
        json!([genesis])
    );
    let final_hash = finalized["hash"].clone();
    let header = session.call("archive_v1_header", json!([final_hash]));
    let header = Header::decode(&mut &hex_bytes(&header)[..]).expect("header");
    assert_eq!(json!(header.hash()), final_hash);
    assert_eq!(
        session.call("archive_v1_hashByHeight", json!([header.number])),
        json!([final_hash])
    );
    assert_eq!(
        session.call("archive_v1_body", json!([final_hash])),
        block["block"]["extrinsics"]
    );
    let call = session.call("archive_v1_call", json!([final_hash, "Core_version", "0x"]));
    assert_eq!(call["success"], json!(true), "{call}");
    assert_eq!(
        call["value"],
        node.rpc("state_call", json!(["Core_version", "0x", final_hash]))
    );
    let failed = session.call("archive_v1_call", json!([final_hash, "Nope_nothing", "0x"]));
    assert_eq!(failed["success"], json!(false), "{failed}");
    let unknown = to_hex(&[0x42; 32]);
    assert_eq!(
        session.call("archive_v1_header", json!([unknown])),
        Value::Null
    );
    assert_eq!(
        session.call("archive_v1_call", json!([unknown, "Core_version", "0x"])),
        Value::Null
    );
    let account_key = to_hex(&arceon_pallet_system::Account::key(
        &Keyring::Alice.account(),
    ));
    let storage = session.call(
        "archive_v1_storage",
        json!([final_hash, [{ "key": account_key, "type": "value" }], null]),
    );
    let item = session.next_event(&storage, Duration::from_secs(10));
    assert_eq!(item["event"], "storage", "{item}");
    assert_eq!(
        item["value"],
        node.rpc("state_getStorage", json!([account_key, final_hash]))
    );
    assert_eq!(
        session.next_event(&storage, Duration::from_secs(10))["event"],
        "storageDone"
    );
}
