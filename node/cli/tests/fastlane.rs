//! Fast lanes end to end on four real validators and a full node: wallet moves
//! confirmed by a quorum of committee signatures in milliseconds and then finalized,
//! the same through `fastlane_submitAndWatchAction` over a plain WebSocket, typed
//! rejections that sequence nothing, forwarding from a node outside the committee, a
//! border crossing followed by actions in the next area before any block, and area
//! subscriptions with and without an interest radius, on a committee member and on a
//! node outside every committee.

mod common;
#[path = "common/net.rs"]
mod net;
#[path = "common/ws.rs"]
mod ws;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use arceon_pallet_fastlane::{ActionKind, LaneAction, SignedLaneAction};
use arceon_primitives::keyring::Keyring;
use arceon_primitives::{from_hex, sr25519, to_hex, to_ss58, AccountId32, H256};
use codec::Encode;
use common::{binary, free_balance, tail, Node};
use net::*;
use serde_json::{json, Value};
use sp_core::Pair as _;
use ws::WebSocket;

const VALIDATORS: usize = 4;
/// The full node that holds no session key: outside every committee.
const OBSERVER: usize = 4;

fn walker() -> sr25519::Pair {
    sr25519::Pair::from_string("//Walker", None).expect("dev key")
}

fn account(pair: &sr25519::Pair) -> AccountId32 {
    AccountId32::from(pair.public())
}

/// The local chain with Eve, Ferdie and Walker registered and joined to the lanes.
fn lane_spec(dir: &Path) -> PathBuf {
    let out = Command::new(binary("arceon-node"))
        .args(["build-spec", "--chain", "local"])
        .output()
        .expect("build-spec");
    assert!(out.status.success());
    let mut spec: Value = serde_json::from_slice(&out.stdout).expect("spec json");
    let players = [
        (Keyring::Eve.account(), "eve"),
        (Keyring::Ferdie.account(), "ferdie"),
        (account(&walker()), "walker"),
    ];
    let config = &mut spec["genesis"]["runtimeGenesis"]["config"];
    config["players"]["players"] = json!(players
        .iter()
        .map(|(who, name)| json!([to_ss58(who), name]))
        .collect::<Vec<_>>());
    config["fastLane"] = json!({
        "joined": players.iter().map(|(who, _)| to_ss58(who)).collect::<Vec<_>>()
    });
    let path = dir.join("lanes.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).expect("json")).expect("write spec");
    path
}

/// What `fastlane_player` says of `who`.
fn lane_player(node: &Node, who: &AccountId32) -> Value {
    node.rpc("fastlane_player", json!([to_ss58(who)]))
}

fn genesis(node: &Node) -> H256 {
    let text = node.rpc("chain_getBlockHash", json!([0]));
    let bytes = from_hex(text.as_str().expect("hash")).expect("hex");
    H256::from_slice(&bytes)
}

/// A signed action of `pair`'s player at its current nonce, area and committee version.
fn action(node: &Node, pair: &sr25519::Pair, kind: ActionKind) -> SignedLaneAction {
    let player = lane_player(node, &account(pair));
    SignedLaneAction::sign(
        LaneAction {
            genesis: genesis(node),
            area: player["area"].as_u64().expect("area") as u32,
            version: player["version"].as_u64().expect("version"),
            player: account(pair),
            nonce: player["nonce"].as_u64().expect("nonce"),
            kind,
        },
        pair,
    )
}

fn hex_of(action: &SignedLaneAction) -> String {
    to_hex(&action.encode())
}

fn units(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

/// Submits through `fastlane_submitAction`; the error message when refused.
fn submit(node: &Node, action: &SignedLaneAction) -> Result<Value, String> {
    node.try_rpc("fastlane_submitAction", json!([hex_of(action)]))
        .map_err(|e| e["message"].as_str().unwrap_or_default().to_string())
}

/// The committee of `area` as (accounts, keys).
fn committee(node: &Node, area: u32) -> (Vec<String>, Vec<String>) {
    let state = node.rpc("fastlane_laneState", json!([area]));
    let members = state["committee"].as_array().expect("committee").clone();
    (
        members
            .iter()
            .map(|m| m["account"].as_str().expect("account").to_string())
            .collect(),
        members
            .iter()
            .map(|m| m["key"].as_str().expect("key").to_string())
            .collect(),
    )
}

fn chain_position(node: &Node, who: &AccountId32) -> (i64, i64, u64) {
    let player = node.rpc("arceon_player", json!([to_ss58(who)]));
    (
        player["position"]["x"].as_i64().expect("x"),
        player["position"]["y"].as_i64().expect("y"),
        player["area"].as_u64().expect("area"),
    )
}

/// Starts every node of `net` and waits until the chain finalizes and every validator
/// serves area 0's lane.
fn start_lanes(net: &mut Net) {
    net.start_all();
    net.wait("finality and lanes", Duration::from_secs(90), |net| {
        net.running().iter().all(|n| finalized(n) >= 2)
            && (0..VALIDATORS).all(|i| {
                net.node(i)
                    .try_rpc("fastlane_laneState", json!([0]))
                    .is_ok()
            })
    });
}

/// The validators' SS58 addresses, node 0 first.
fn validator_addresses() -> Vec<String> {
    [
        Keyring::Alice,
        Keyring::Bob,
        Keyring::Charlie,
        Keyring::Dave,
    ]
    .iter()
    .map(|k| to_ss58(&k.account()))
    .collect()
}

/// Waits a short while (actions of one player are at least 50 ms of lane time apart).
fn pace() {
    std::thread::sleep(Duration::from_millis(120));
}

#[test]
fn fast_lanes_on_four_validators_receipt_block_finality_and_subscriptions() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = lane_spec(dir.path());
    let mut net = Net::new(&spec.display().to_string(), VALIDATORS + 1, |i| {
        if i < VALIDATORS {
            vec![format!("--{}", NAMES[i])]
        } else {
            Vec::new()
        }
    });
    start_lanes(&mut net);
    // Every area's committee has three of the four validators.
    let (members, keys) = committee(net.node(0), 0);
    assert_eq!(members.len(), 3, "committee of area 0: {members:?}");
    let validators = validator_addresses();
    let outsider = (0..VALIDATORS)
        .find(|i| !members.contains(&validators[*i]))
        .expect("one validator is outside area 0's committee");
    // Peers exchange identities when they connect; give the lanes a moment to know
    // every member.
    net.wait("lane peers", Duration::from_secs(30), |net| {
        let eve = Keyring::Eve.pair();
        let probe = action(
            net.node(outsider),
            &eve,
            ActionKind::Move {
                x: units(100.0),
                y: units(100.0),
            },
        );
        // A wrong nonce is refused by the primary itself: proof the route works.
        let mut stale = probe.action.clone();
        stale.nonce += 1000;
        let stale = SignedLaneAction::sign(stale, &eve);
        let result = submit(net.node(outsider), &stale);
        eprintln!("probe through node {outsider}: {result:?}");
        result.is_err_and(|e| e.contains("FutureNonce"))
    });

    // 1. A wallet move: confirmed by a quorum in milliseconds, then in a block, then final.
    let (ok, out) = wallet(net.node(0), "//Eve", &["play", "move", "101", "100"]);
    assert!(ok, "wallet play move failed:\n{out}");
    assert!(out.contains("confirmed in "), "{out}");
    assert!(out.contains("signed by 2 of 3 members (quorum 2)"), "{out}");
    assert!(
        out.contains("outcome moved to (101.000, 100.000) in area 0"),
        "{out}"
    );
    assert!(
        out.contains("inBlock 0x") && out.contains("finalized 0x"),
        "{out}"
    );
    println!("wallet:\n{out}");
    let eve = Keyring::Eve.account();
    assert_eq!(
        chain_position(net.node(2), &eve),
        (units(101.0), units(100.0), 0)
    );

    // 2. The same through a plain WebSocket client.
    let ferdie = Keyring::Ferdie.pair();
    let first = action(
        net.node(1),
        &ferdie,
        ActionKind::Move {
            x: units(100.5),
            y: units(100.0),
        },
    );
    let mut socket = WebSocket::open(net.node(1), None).expect("websocket");
    let answer = socket.call("fastlane_submitAndWatchAction", json!([hex_of(&first)]));
    assert!(!answer["result"].is_null(), "subscription id: {answer}");
    let mut updates = Vec::new();
    while !updates.iter().any(|u: &Value| u.get("finalized").is_some()) {
        let message = socket.recv_json();
        let update = message["params"]["result"].clone();
        assert!(update.get("rejected").is_none(), "{update}");
        updates.push(update);
        assert!(updates.len() < 10, "too many updates: {updates:?}");
    }
    let confirmed = &updates[0]["confirmed"];
    assert_eq!(
        confirmed["outcome"]["moved"]["x"],
        json!(units(100.5)),
        "{confirmed}"
    );
    let signatures = confirmed["signatures"].as_array().expect("signatures");
    assert_eq!(signatures.len(), 2);
    for signature in signatures {
        assert!(keys.contains(&signature["key"].as_str().expect("key").to_string()));
    }
    assert!(updates[1].get("inBlock").is_some(), "{updates:?}");
    println!(
        "websocket: confirmed in {} ms, then {} updates",
        confirmed["latencyMs"],
        updates.len() - 1
    );
    assert_eq!(
        chain_position(net.node(3), &account(&ferdie)),
        (units(100.5), units(100.0), 0)
    );

    // 3. Refusals, each typed, none sequenced.
    pace();
    let before = lane_player(net.node(0), &account(&ferdie));
    let tip_before = net.node(0).rpc("fastlane_laneState", json!([0]))["height"].clone();
    let far = action(
        net.node(0),
        &ferdie,
        ActionKind::Move {
            x: units(180.0),
            y: units(100.0),
        },
    );
    assert_eq!(submit(net.node(0), &far).unwrap_err(), "Players.TooFast");
    let mut forged = action(
        net.node(0),
        &ferdie,
        ActionKind::Move {
            x: units(100.6),
            y: units(100.0),
        },
    );
    forged.signature[10] ^= 0x40;
    assert_eq!(
        submit(net.node(0), &forged).unwrap_err(),
        "FastLane.BadSignature"
    );
    // The very same action again (a client that lost its answer) gets its receipt
    // again: idempotent, nothing sequenced. Another action with its nonce is refused.
    let again = submit(net.node(0), &first).expect("the receipt again");
    assert_eq!(
        again["actionHash"],
        json!(format!("{:?}", first.hash())),
        "{again}"
    );
    let mut replay = first.action.clone();
    replay.kind = ActionKind::Move {
        x: units(100.4),
        y: units(100.0),
    };
    let replay = SignedLaneAction::sign(replay, &ferdie);
    assert_eq!(
        submit(net.node(0), &replay).unwrap_err(),
        "FastLane.StaleNonce"
    );
    let mut other_version = action(
        net.node(0),
        &ferdie,
        ActionKind::Move {
            x: units(100.6),
            y: units(100.0),
        },
    )
    .action;
    other_version.version += 1;
    let other_version = SignedLaneAction::sign(other_version, &ferdie);
    assert_eq!(
        submit(net.node(0), &other_version).unwrap_err(),
        "FastLane.WrongVersion"
    );
    let mut elsewhere = action(
        net.node(0),
        &ferdie,
        ActionKind::Move {
            x: units(100.6),
            y: units(100.0),
        },
    )
    .action;
    elsewhere.area = 1;
    elsewhere.version = net.node(0).rpc("fastlane_laneState", json!([1]))["version"]
        .as_u64()
        .expect("version");
    let elsewhere = SignedLaneAction::sign(elsewhere, &ferdie);
    assert_eq!(
        submit(net.node(0), &elsewhere).unwrap_err(),
        "FastLane.NotInArea"
    );
    let after = lane_player(net.node(0), &account(&ferdie));
    assert_eq!(
        before["nonce"], after["nonce"],
        "a refused action took a nonce"
    );
    assert_eq!(
        (after["x"].clone(), after["y"].clone()),
        (before["x"].clone(), before["y"].clone())
    );
    // (The lanes' state is published every 20 ms: a forwarded refusal leaves the
    // replica's held submissions a moment after its client got the answer.)
    net.node(0)
        .wait_for("nothing pending", Duration::from_secs(2), |n| {
            n.rpc("fastlane_laneState", json!([0]))["pending"] == json!(0)
        });
    let state = net.node(0).rpc("fastlane_laneState", json!([0]));
    assert_eq!(
        state["height"], tip_before,
        "a refused action reached the chain"
    );

    // 4. A node outside the committee forwards to the primary and returns the receipt.
    let forwarded = action(
        net.node(outsider),
        &ferdie,
        ActionKind::Move {
            x: units(100.7),
            y: units(100.0),
        },
    );
    let receipt = submit(net.node(outsider), &forwarded).expect("forwarded submission");
    assert_eq!(
        receipt["signatures"].as_array().map(Vec::len),
        Some(2),
        "{receipt}"
    );
    assert_eq!(receipt["outcome"]["moved"]["x"], json!(units(100.7)));
    println!(
        "forwarded through node {outsider}: {} ms",
        receipt["latencyMs"]
    );

    // 5. Subscriptions: everything of area 0 on a member and on the observer; only what
    // happens near (105, 100) with a 1.2-unit radius.
    let subscriber = |node: usize, params: Value| {
        let mut socket = WebSocket::open(net.node(node), None).expect("websocket");
        let answer = socket.call("fastlane_subscribeArea", params);
        assert!(!answer["result"].is_null(), "{answer}");
        socket.set_timeout(Duration::from_secs(5));
        socket
    };
    let member_node = (0..VALIDATORS)
        .find(|i| members.contains(&validators[*i]))
        .expect("a member");
    let mut all_member = subscriber(member_node, json!([0]));
    let mut all_observer = subscriber(OBSERVER, json!([0]));
    let mut near = subscriber(
        member_node,
        json!([0, {"x": units(105.0), "y": units(100.0), "radius": 1200}]),
    );
    let eve_pair = Keyring::Eve.pair();
    for x in [102.0, 103.0, 104.0, 105.0] {
        pace();
        let step = action(
            net.node(2),
            &eve_pair,
            ActionKind::Move {
                x: units(x),
                y: units(100.0),
            },
        );
        submit(net.node(2), &step).unwrap_or_else(|e| panic!("move to {x}: {e}"));
    }
    let seen = |socket: &mut WebSocket, expected: usize| -> Vec<i64> {
        let mut xs = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while xs.len() < expected && Instant::now() < deadline {
            let Some(message) = socket.try_recv_json() else {
                continue;
            };
            for item in message["params"]["result"]["actions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if item["player"] == json!(to_ss58(&eve)) {
                    xs.push(item["outcome"]["moved"]["x"].as_i64().expect("x"));
                }
            }
        }
        xs
    };
    let all_xs = vec![units(102.0), units(103.0), units(104.0), units(105.0)];
    assert_eq!(seen(&mut all_member, 4), all_xs);
    assert_eq!(
        seen(&mut all_observer, 4),
        all_xs,
        "the observer node's subscription"
    );
    let near_xs = seen(&mut near, 3);
    assert_eq!(
        near_xs,
        vec![units(104.0), units(105.0)],
        "only moves near (105, 100)"
    );

    // 6. Walking into the next area and acting there before any block includes it.
    let walker = walker();
    net.node(0)
        .wait_for("a fresh block", Duration::from_secs(10), {
            let start = best(net.node(0));
            move |n| best(n) > start
        });
    let crossing = action(
        net.node(0),
        &walker,
        ActionKind::Move {
            x: units(200.0),
            y: units(100.0),
        },
    );
    let crossed = submit(net.node(0), &crossing).expect("the crossing");
    assert_eq!(crossed["outcome"]["crossed"]["to"], json!(1), "{crossed}");
    let crossing_height = crossed["height"].as_u64().expect("height");
    let started = Instant::now();
    let mut next = None;
    while next.is_none() && started.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(60));
        let step = action(
            net.node(0),
            &walker,
            ActionKind::Move {
                x: units(200.5),
                y: units(100.0),
            },
        );
        match submit(net.node(0), &step) {
            Ok(receipt) => next = Some(receipt),
            Err(e) if e.contains("NotInArea") || e.contains("TooSoon") => {}
            Err(e) => panic!("acting in area 1 after the crossing: {e}"),
        }
    }
    let next = next.expect("area 1's lane took the walker");
    assert_eq!(next["area"], json!(1));
    let included = net.node(0).rpc("fastlane_laneState", json!([0]))["height"]
        .as_u64()
        .expect("height");
    assert!(
        included < crossing_height,
        "the crossing was already in a block (lane 0 at {included}, crossing {crossing_height}): \
         the next area did not need to wait for it"
    );
    println!(
        "crossed into area 1 and acted there {} ms later, before any block",
        started.elapsed().as_millis()
    );

    // Everything receipted ends up final, with the receipted outcomes, on every node.
    net.wait(
        "the walker's moves finalized",
        Duration::from_secs(30),
        |net| {
            let hash = net.node(1).rpc("chain_getFinalizedHead", json!([]));
            net.node(1)
                .try_rpc("arceon_player", json!([to_ss58(&account(&walker)), hash]))
                .is_ok_and(|p| p["position"]["x"] == json!(units(200.5)) && p["area"] == json!(1))
        },
    );
    net.wait("eve's moves finalized", Duration::from_secs(30), |net| {
        let hash = net.node(3).rpc("chain_getFinalizedHead", json!([]));
        net.node(3)
            .try_rpc("arceon_player", json!([to_ss58(&eve), hash]))
            .is_ok_and(|p| p["position"]["x"] == json!(units(105.0)))
    });

    // 6b. Root splits area 1 under the walker: the split waits for area 1's lane (its
    //     committee seals it and the seal goes on chain), every receipted batch of it is
    //     in the chain before the map changes, and the walker acts on at once in its
    //     quadrant through the quadrant's new lane.
    let (ok, out) = wallet(
        net.node(0),
        "//Alice",
        &["area", "split", "1", "--until", "in-block"],
    );
    assert!(ok, "wallet area split failed:\n{out}");
    assert!(
        net.node(0).rpc("arceon_area", json!([1]))["active"] == json!(true),
        "the split waits for area 1's lane"
    );
    let asked = Instant::now();
    net.node(0)
        .wait_for("area 1's split", Duration::from_secs(30), |n| {
            n.rpc("arceon_area", json!([1]))["active"] == json!(false)
        });
    println!(
        "area 1 split {} ms after the sudo call's block",
        asked.elapsed().as_millis()
    );
    let quadrants = net.node(0).rpc("arceon_area", json!([1]))["children"].clone();
    assert_eq!(quadrants.as_array().map(Vec::len), Some(4), "{quadrants}");
    let started = Instant::now();
    let mut after = None;
    while after.is_none() && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(100));
        let step = action(
            net.node(1),
            &walker,
            ActionKind::Move {
                x: units(201.0),
                y: units(100.0),
            },
        );
        match submit(net.node(1), &step) {
            Ok(receipt) => after = Some(receipt),
            Err(e) => eprintln!("the walker in a quadrant of area 1: {e}"),
        }
    }
    let after = after.expect("a quadrant's lane took the walker");
    let quadrant = after["area"].clone();
    assert!(
        quadrants.as_array().is_some_and(|q| q.contains(&quadrant)),
        "receipted in {quadrant}, not a quadrant of area 1 ({quadrants})"
    );
    println!(
        "the walker acted in quadrant {quadrant} {} ms after the split was made",
        started.elapsed().as_millis()
    );
    net.wait(
        "the walker's move in its quadrant finalized",
        Duration::from_secs(30),
        |net| {
            let hash = net.node(2).rpc("chain_getFinalizedHead", json!([]));
            net.node(2)
                .try_rpc("arceon_player", json!([to_ss58(&account(&walker)), hash]))
                .is_ok_and(|p| p["position"]["x"] == json!(units(201.0)) && p["area"] == quadrant)
        },
    );

    // 7. The primary of area 0 crashes: its replicas change views and the next member
    //    receipts a move that a replica took (the client sees no error, only a delay),
    //    and the chain includes it.
    let (members, _) = committee(net.node(0), 0);
    let primary = validators
        .iter()
        .position(|v| *v == members[0])
        .expect("area 0's primary is a validator");
    let replica = validators
        .iter()
        .position(|v| *v == members[1])
        .expect("area 0's second member is a validator");
    let killed = Instant::now();
    net.kill(primary);
    let ferdie_now = net.node(replica).rpc(
        "fastlane_player",
        json!([to_ss58(&Keyring::Ferdie.account())]),
    );
    eprintln!("ferdie before the failover: {ferdie_now}");
    let after = action(
        net.node(replica),
        &ferdie,
        ActionKind::Move {
            x: units(100.9),
            y: units(100.0),
        },
    );
    let receipt = submit(net.node(replica), &after).expect("a receipt after the primary crashed");
    let failover = killed.elapsed();
    assert!(
        receipt["view"].as_u64().is_some_and(|view| view >= 1)
            && receipt["signatures"].as_array().map(Vec::len) == Some(2),
        "{receipt}"
    );
    // (The lanes' state is published every 20 ms.)
    net.node(replica)
        .wait_for("the new view published", Duration::from_secs(2), |n| {
            n.rpc("fastlane_laneState", json!([0]))["view"]
                .as_u64()
                .is_some_and(|view| view >= 1)
        });
    // Another member leads the lane now (view 1's, or a later view's if the new
    // primary was slow to start): one of the running validators says so.
    net.wait("a new primary of area 0", Duration::from_secs(15), |net| {
        (0..VALIDATORS).filter(|i| *i != primary).any(|i| {
            let state = net.node(i).rpc("fastlane_laneState", json!([0]));
            state["role"] == json!("primary")
                && state["view"].as_u64().is_some_and(|view| view >= 1)
                && state["viewPrimary"]["account"] != json!(members[0])
        })
    });
    let state = net.node(replica).rpc("fastlane_laneState", json!([0]));
    println!(
        "area 0's primary (validator {primary}) killed: receipt from view {} {} ms later",
        state["view"],
        failover.as_millis()
    );
    net.wait(
        "the move after the failover finalized",
        Duration::from_secs(30),
        |net| {
            let hash = net.node(replica).rpc("chain_getFinalizedHead", json!([]));
            net.node(replica)
                .try_rpc(
                    "arceon_player",
                    json!([to_ss58(&Keyring::Ferdie.account()), hash]),
                )
                .is_ok_and(|p| p["position"]["x"] == json!(units(100.9)))
        },
    );

    let height = assert_finalized_agree(&net);
    println!("all nodes agree up to finalized #{height}");

    // 8. Area 0's third member crashes too: one member of three is no quorum. The lane
    //    stops receipting and says so: every submission gets "lane unavailable", and
    //    once the lane has certified nothing for longer than a view change takes, new
    //    ones are refused at once instead of waiting.
    let third = validators
        .iter()
        .position(|v| *v == members[2])
        .expect("area 0's third member is a validator");
    net.kill(third);
    let mut errors = Vec::new();
    let cut_off = Instant::now();
    let mut step = 0.0;
    while cut_off.elapsed() < Duration::from_secs(30) {
        step += 0.05;
        let next = action(
            net.node(replica),
            &ferdie,
            ActionKind::Move {
                x: units(100.9 + step),
                y: units(100.0),
            },
        );
        let asked = Instant::now();
        let error = submit(net.node(replica), &next).expect_err("no quorum, no receipt");
        println!(
            "{:>5} ms after the cut: {error} ({} ms)",
            cut_off.elapsed().as_millis(),
            asked.elapsed().as_millis()
        );
        assert!(error.starts_with("lane unavailable"), "{error}");
        let refused_at_once = error.contains("has certified nothing");
        errors.push(error);
        if refused_at_once {
            break;
        }
        pace();
    }
    assert!(
        errors
            .last()
            .is_some_and(|e| e.contains("has certified nothing")),
        "{errors:?}"
    );
}

/// The runtime events of block `hash`, read over `state_getStorage`.
fn events_at(node: &Node, hash: &Value) -> Vec<arceon_runtime::RuntimeEvent> {
    let key = to_hex(&arceon_pallet_system::events_key());
    match node.rpc("state_getStorage", json!([key, hash])) {
        Value::Null => Vec::new(),
        raw => {
            let bytes = from_hex(raw.as_str().expect("hex")).expect("hex");
            arceon_runtime::decode_events(&bytes)
                .expect("events decode")
                .into_iter()
                .map(|record| record.event)
                .collect()
        }
    }
}

/// The `free` line of `arceon-wallet balance ADDRESS`.
fn wallet_free(node: &Node, who: &AccountId32) -> String {
    let (ok, out) = wallet(node, "//Alice", &["balance", &to_ss58(who)]);
    assert!(ok, "wallet balance: {out}");
    out.lines()
        .find(|line| line.starts_with("free "))
        .unwrap_or_else(|| panic!("no free line: {out}"))
        .to_string()
}

#[test]
fn an_equivocating_primary_needs_a_dishonest_signer_and_the_network_slashes_both_and_pays_the_players(
) {
    use arceon_pallet_fastlane::{Event as LaneEvent, RECEIPT_COMPENSATION};
    use arceon_runtime::RuntimeEvent;
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = lane_spec(dir.path());
    // Committees of all four validators: a quorum is three, so one equivocating primary
    // needs one more member that signs both batches (and then exactly those two are
    // punished).
    let mut json: Value =
        serde_json::from_slice(&std::fs::read(&spec).expect("spec")).expect("spec json");
    json["genesis"]["runtimeGenesis"]["config"]["areas"]["committeeSize"] = json!(4);
    std::fs::write(&spec, serde_json::to_vec_pretty(&json).expect("json")).expect("write spec");
    // No view change from a timeout while the dishonest members restart (only the
    // primary's broken connections move the view, once).
    let mut net = Net::new(&spec.display().to_string(), VALIDATORS, |i| {
        vec![
            format!("--{}", NAMES[i]),
            "--lane-view-timeout".into(),
            "60000".into(),
        ]
    });
    start_lanes(&mut net);
    let (members, _) = committee(net.node(0), 0);
    assert_eq!(members.len(), 4, "committee of area 0: {members:?}");
    let validators = validator_addresses();
    let index_of = |member: &String| {
        validators
            .iter()
            .position(|v| v == member)
            .expect("a validator")
    };
    // Member 1 comes back equivocating, then area 0's primary (member 0) comes back
    // signing anything. Its connections break when it is killed, so the others leave
    // view 0 at once for view 1, which member 1 leads. The primary shows odd members its
    // fork first: member 3 votes for the fork, member 2 for the batch, member 0 for both.
    let (primary, signer, honest) = (
        index_of(&members[1]),
        index_of(&members[0]),
        index_of(&members[2]),
    );
    let all: Vec<usize> = (0..VALIDATORS).collect();
    net.kill(primary);
    net.members[primary]
        .args
        .push("--unsafe-lane-equivocate".into());
    net.start(primary, &all);
    net.wait(
        "the equivocating member back in view 0",
        Duration::from_secs(30),
        |net| {
            let state = net.node(primary).rpc("fastlane_laneState", json!([0]));
            state["viewActive"] == json!(true)
                && net.node(primary).rpc("system_health", json!([]))["peers"]
                    .as_u64()
                    .is_some_and(|peers| peers >= 3)
        },
    );
    net.kill(signer);
    net.members[signer]
        .args
        .push("--unsafe-lane-sign-anything".into());
    net.start(signer, &all);
    net.wait(
        "view 1, led by the equivocating member",
        Duration::from_secs(30),
        |net| {
            let state = net.node(honest).rpc("fastlane_laneState", json!([0]));
            state["viewActive"] == json!(true)
                && state["viewPrimary"]["account"] == json!(members[1])
        },
    );
    let players = [Keyring::Eve.pair(), Keyring::Ferdie.pair(), walker()];
    net.wait("the primary's lane peers", Duration::from_secs(30), |net| {
        let probe = action(
            net.node(honest),
            &players[0],
            ActionKind::Move {
                x: units(100.0),
                y: units(100.0),
            },
        );
        let mut stale = probe.action.clone();
        stale.nonce += 1000;
        let stale = SignedLaneAction::sign(stale, &players[0]);
        submit(net.node(honest), &stale).is_err_and(|e| e.contains("FutureNonce"))
    });
    let before: Vec<u128> = players
        .iter()
        .map(|pair| free_balance(net.node(honest), &account(pair), None))
        .collect();
    let wallet_before: Vec<String> = players
        .iter()
        .map(|pair| wallet_free(net.node(honest), &account(pair)))
        .collect();

    // The players act at once, round after round, until the primary has sealed a batch
    // of two or more actions (the one it forks) and a block carries the evidence.
    let started = Instant::now();
    let mut scanned = best(net.node(honest));
    let mut found: Option<(Value, Vec<RuntimeEvent>)> = None;
    for round in 0..200 {
        let node = net.node(primary);
        std::thread::scope(|scope| {
            for (i, pair) in players.iter().enumerate() {
                scope.spawn(move || {
                    let x = 100.0 + 0.2 * f64::from(round % 20) + 0.05 * i as f64;
                    let signed = action(
                        node,
                        pair,
                        ActionKind::Move {
                            x: units(x),
                            y: units(100.0),
                        },
                    );
                    let _ = submit(node, &signed);
                });
            }
        });
        pace();
        let best_now = best(net.node(honest));
        while scanned < best_now && found.is_none() {
            scanned += 1;
            let hash = hash_at(net.node(honest), scanned);
            let events = events_at(net.node(honest), &hash);
            if events.iter().any(|event| {
                matches!(
                    event,
                    RuntimeEvent::FastLane(LaneEvent::EquivocationReported { .. })
                )
            }) {
                found = Some((hash, events));
            }
        }
        if found.is_some() || started.elapsed() > Duration::from_secs(90) {
            break;
        }
    }
    let (hash, events) = found.unwrap_or_else(|| {
        panic!(
            "no equivocation report in a block within {:?}; primary log:\n{}",
            started.elapsed(),
            tail(&net.node(primary).log_text())
        )
    });
    println!(
        "equivocation reported in block {hash} after {:?}",
        started.elapsed()
    );
    let (offenders, contested) = events
        .iter()
        .find_map(|event| match event {
            RuntimeEvent::FastLane(LaneEvent::EquivocationReported {
                offenders,
                contested,
                ..
            }) => Some((offenders.clone(), *contested)),
            _ => None,
        })
        .expect("the report");
    // The primary and the dishonest signer signed both batches; the honest replica did not.
    let mut offenders: Vec<String> = offenders.iter().map(to_ss58).collect();
    offenders.sort();
    let mut expected = vec![members[0].clone(), members[1].clone()];
    expected.sort();
    assert_eq!(offenders, expected, "members {members:?}");
    assert!(contested >= 1, "the fork left out an action: {contested}");
    let paid: Vec<(AccountId32, u128)> = events
        .iter()
        .filter_map(|event| match event {
            RuntimeEvent::FastLane(LaneEvent::Compensated { who, amount }) => {
                Some((who.clone(), *amount))
            }
            _ => None,
        })
        .collect();
    assert!(!paid.is_empty(), "players paid: {events:?}");
    for (who, amount) in &paid {
        assert!(*amount >= RECEIPT_COMPENSATION, "{who}: {amount}");
        let i = players
            .iter()
            .position(|pair| account(pair) == *who)
            .expect("one of the players");
        assert_eq!(
            free_balance(net.node(honest), who, Some(hash.as_str().expect("hash"))),
            before[i] + amount,
            "player {i} paid"
        );
        let now = wallet_free(net.node(honest), who);
        assert_ne!(now, wallet_before[i], "the wallet shows player {i} paid");
        println!("player {i} paid {amount}: {} -> {now}", wallet_before[i]);
    }
    // Staking shows both offenders disabled and no longer validating, their bonds lower
    // by at least what the players got; the honest member untouched.
    let (ok, out) = wallet(net.node(honest), "//Alice", &["stake", "show"]);
    assert!(ok, "{out}");
    let shown: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("validators json ({e}): {out}"));
    let disabled = shown["disabled"].as_array().expect("disabled").clone();
    assert!(disabled.contains(&json!(members[0])), "{shown}");
    assert!(disabled.contains(&json!(members[1])), "{shown}");
    assert!(!disabled.contains(&json!(members[2])), "{shown}");
    assert!(!disabled.contains(&json!(members[3])), "{shown}");
    let parent = net.node(honest).rpc("chain_getHeader", json!([hash]))["parentHash"].clone();
    let ledger = |member: &String, at: &Value| {
        net.node(honest)
            .rpc("arceon_stakingLedger", json!([member, at]))
    };
    let total = |ledger: &Value| -> u128 {
        ledger["total"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("total")
    };
    let paid_total: u128 = paid.iter().map(|(_, amount)| amount).sum();
    let mut taken = 0;
    for member in &members {
        let (then, now) = (ledger(member, &parent), ledger(member, &hash));
        println!("{member}: bonded {} -> {}", then["total"], now["total"]);
        if *member == members[2] || *member == members[3] {
            assert_eq!(then, now, "the honest member's ledger");
        } else {
            assert_eq!(now["validating"], json!(false), "{member}: {now}");
            taken += total(&then) - total(&now);
        }
    }
    assert!(
        taken >= paid_total,
        "bonds gave {taken}, players got {paid_total}"
    );
}
