//! The game through `arceon-wallet` against a real `arceon-node --dev` process on
//! 127.0.0.1: a player registers, walks, gathers, crafts and builds; a cheating move is
//! refused and changes nothing; a validator bonds and declares its intent; the world's
//! areas, committees and NPCs are shown. Every result is read back through the node's
//! `arceon_*` JSON-RPC (or the wallet's JSON output), and garbage parameters get JSON-RPC
//! errors, not a crashed node.

#[path = "../../../node/cli/tests/common/mod.rs"]
mod common;

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arceon_pallet_players as players;
use arceon_primitives::{keyring::Keyring, to_hex, to_ss58, ARCM};
use arceon_support::{DispatchError, PalletError};
use common::Node;
use serde_json::{json, Value};

/// The longest one wallet run may take (its own transaction wait is 60 s).
const WALLET_DEADLINE: Duration = Duration::from_secs(90);
/// The wallet's wait for a transaction, in seconds.
const TX_TIMEOUT: &str = "60";
/// One world unit in the chain's milli-units.
const UNIT: i64 = 1_000;

/// A dev node and the scratch directory holding its log and the wallet's output.
/// Fields drop in order: the node is killed before its directory goes.
struct Chain {
    node: Node,
    dir: tempfile::TempDir,
    runs: std::cell::Cell<u32>,
}

/// One finished wallet run.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn show(&self) -> String {
        format!(
            "success: {}\n--- stdout\n{}--- stderr\n{}",
            self.success, self.stdout, self.stderr
        )
    }
}

impl Chain {
    fn start() -> Chain {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = Node::start(&["--dev", "--tmp"], dir.path().join("node.log"));
        Chain {
            node,
            dir,
            runs: std::cell::Cell::new(0),
        }
    }

    /// Runs `arceon-wallet --url <node> --suri <suri> <args>`, bounded by
    /// [`WALLET_DEADLINE`] (killed and failed past it).
    fn wallet(&self, suri: &str, args: &[&str]) -> Run {
        let n = self.runs.get();
        self.runs.set(n + 1);
        let out_path = self.dir.path().join(format!("wallet-{n}.out"));
        let err_path = self.dir.path().join(format!("wallet-{n}.err"));
        let mut child = Command::new(common::binary("arceon-wallet"))
            .args(["--url", &self.node.url(), "--suri", suri])
            .args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&out_path).expect("stdout file"))
            .stderr(File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("run arceon-wallet");
        let deadline = Instant::now() + WALLET_DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for arceon-wallet") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "arceon-wallet {args:?} did not finish within {WALLET_DEADLINE:?}; stdout:\n{}\nnode log tail:\n{}",
                    std::fs::read_to_string(&out_path).unwrap_or_default(),
                    common::tail(&self.node.log_text())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Run {
            success: status.success(),
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        }
    }

    /// A game transaction through the wallet that must succeed; returns its output and
    /// the hash of the block it was included in (after checking the wallet followed it
    /// to finality and printed `expected_event`).
    fn tx(&self, suri: &str, args: &[&str], expected_event: &str) -> (Run, String) {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--timeout", TX_TIMEOUT]);
        let run = self.wallet(suri, &full);
        assert!(run.success, "wallet {args:?} failed:\n{}", run.show());
        let block = in_block(&run.stdout)
            .unwrap_or_else(|| panic!("no inBlock line for {args:?}:\n{}", run.show()));
        assert!(
            run.stdout.contains(expected_event),
            "no {expected_event} event for {args:?}:\n{}",
            run.show()
        );
        assert!(
            run.stdout.contains("System.ExtrinsicSuccess"),
            "{}",
            run.show()
        );
        assert!(
            run.stdout.contains(&format!("finalized {block}")),
            "the wallet did not follow {args:?} to finality:\n{}",
            run.show()
        );
        (run, block)
    }

    /// A query subcommand whose stdout is one JSON document.
    fn json(&self, suri: &str, args: &[&str]) -> Value {
        let docs = self.json_docs(suri, args);
        assert_eq!(docs.len(), 1, "one JSON document from {args:?}: {docs:?}");
        docs.into_iter().next().expect("one document")
    }

    /// A query subcommand whose stdout is a sequence of JSON documents.
    fn json_docs(&self, suri: &str, args: &[&str]) -> Vec<Value> {
        let run = self.wallet(suri, args);
        assert!(run.success, "wallet {args:?} failed:\n{}", run.show());
        serde_json::Deserializer::from_str(&run.stdout)
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("wallet {args:?} printed no JSON ({e}):\n{}", run.show()))
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        self.node.rpc(method, params)
    }

    /// `arceon_player` for `who` at the best block (must exist).
    fn player(&self, who: Keyring) -> Value {
        let player = self.rpc("arceon_player", json!([to_ss58(&who.account())]));
        assert!(!player.is_null(), "{who:?} has no player");
        player
    }

    /// The dispatch errors of the `ExtrinsicFailed` events of block `hash`.
    fn failures_in(&self, hash: &str) -> Vec<DispatchError> {
        let key = to_hex(&arceon_pallet_system::events_key());
        let raw = self.rpc("state_getStorage", json!([key, hash]));
        let raw =
            arceon_primitives::from_hex(raw.as_str().expect("events of the block")).expect("hex");
        arceon_runtime::decode_events(&raw)
            .expect("decode events")
            .into_iter()
            .filter_map(|record| match record.event {
                arceon_runtime::RuntimeEvent::System(
                    arceon_pallet_system::Event::ExtrinsicFailed { dispatch_error, .. },
                ) => Some(dispatch_error),
                _ => None,
            })
            .collect()
    }

    /// Wood in area 0 at block `hash`, with its maximum and regeneration per block.
    fn wood_at(&self, hash: &str) -> (u64, u64, u64) {
        let area = self.rpc("arceon_area", json!([0, hash]));
        let wood = area["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|node| node["resource"] == 1)
            .unwrap_or_else(|| panic!("area 0 has no wood: {area}"))
            .clone();
        (
            wood["amount"].as_u64().expect("amount"),
            wood["max"].as_u64().expect("max"),
            wood["regenPerBlock"].as_u64().expect("regenPerBlock"),
        )
    }
}

/// The block hash of the wallet's `inBlock 0x...` line.
fn in_block(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("inBlock "))
        .map(|hash| hash.trim().to_string())
        .filter(|hash| hash.starts_with("0x") && hash.len() == 66)
}

/// The block hash in the wallet's `transaction failed in block 0x...: ...` error.
fn failed_block(stderr: &str) -> Option<String> {
    let start = stderr.find("transaction failed in block ")? + "transaction failed in block ".len();
    let hash: String = stderr[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == 'x')
        .collect();
    (hash.len() == 66).then_some(hash)
}

fn is_players_error(error: &DispatchError, expected: players::Error) -> bool {
    matches!(
        error,
        DispatchError::Module(module)
            if module.index == players::Error::PALLET_INDEX && module.error == expected.error_index()
    )
}

/// `{x, y}` in milli-units for a point given in world units.
fn position(x: i64, y: i64) -> Value {
    json!({ "x": x * UNIT, "y": y * UNIT })
}

/// The inventory as sorted `(item, count)` pairs.
fn inventory(player: &Value) -> Vec<(u64, u64)> {
    let mut items: Vec<(u64, u64)> = player["inventory"]
        .as_array()
        .unwrap_or_else(|| panic!("no inventory: {player}"))
        .iter()
        .map(|stack| {
            (
                stack["item"].as_u64().expect("item"),
                stack["count"].as_u64().expect("count"),
            )
        })
        .collect();
    items.sort_unstable();
    items
}

fn block_number_of(chain: &Chain, hash: &str) -> u64 {
    let header = chain.rpc("chain_getHeader", json!([hash]));
    u64::from_str_radix(
        header["number"]
            .as_str()
            .expect("number")
            .trim_start_matches("0x"),
        16,
    )
    .expect("hex number")
}

/// A move the chain must refuse: the wallet exits non-zero, the block of the attempt
/// holds an `ExtrinsicFailed` with one of `allowed`, and the player has not moved.
/// Returns the wallet's stderr.
fn refused_move(chain: &Chain, x: &str, y: &str, allowed: &[players::Error]) -> String {
    let before = chain.player(Keyring::Bob);
    let run = chain.wallet("//Bob", &["player", "move", x, y, "--timeout", TX_TIMEOUT]);
    assert!(
        !run.success,
        "the move to ({x}, {y}) was accepted:\n{}",
        run.show()
    );
    let block = failed_block(&run.stderr).unwrap_or_else(|| {
        panic!(
            "the wallet did not report a failed transaction:\n{}",
            run.show()
        )
    });
    assert!(
        run.stdout.contains("System.ExtrinsicFailed"),
        "{}",
        run.show()
    );
    let failures = chain.failures_in(&block);
    assert!(
        failures
            .iter()
            .any(|error| allowed.iter().any(|e| is_players_error(error, *e))),
        "block {block} should hold a failed move with one of {allowed:?}, has {failures:?}"
    );
    let after = chain.player(Keyring::Bob);
    assert_eq!(
        after["position"], before["position"],
        "the refused move moved"
    );
    assert_eq!(after["area"], before["area"]);
    assert_eq!(after["lastMove"], before["lastMove"]);
    run.stderr
}

#[test]
fn player_plays_through_the_wallet() {
    let chain = Chain::start();
    let bob = to_ss58(&Keyring::Bob.account());

    // Register: spawns at the centre of the starting area, empty-handed.
    chain.tx(
        "//Bob",
        &["player", "register", "bob"],
        "Players.PlayerRegistered",
    );
    let shown = chain.json("//Bob", &["player", "show"]);
    assert_eq!(shown["name"], "bob", "{shown}");
    assert_eq!(shown["address"], bob.as_str());
    assert_eq!(shown["area"], 0);
    assert_eq!(shown["position"], position(100, 100));
    assert_eq!(inventory(&shown), vec![]);
    // `player show ADDRESS` and the RPC agree.
    assert_eq!(chain.json("//Alice", &["player", "show", &bob]), shown);
    assert_eq!(chain.player(Keyring::Bob)["name"], "bob");

    // Walk 5 units east.
    let (run, _) = chain.tx("//Bob", &["player", "move", "105", "100"], "Players.Moved");
    assert!(
        run.stdout.contains("x: 105000, y: 100000"),
        "{}",
        run.show()
    );
    let moved = chain.json("//Bob", &["player", "show"]);
    assert_eq!(moved["position"], position(105, 100), "{moved}");
    assert_eq!(moved["area"], 0);
    assert!(moved["lastMove"].as_u64() > shown["lastMove"].as_u64());

    // Right after, a jump of ~124 units: far beyond 10 units per elapsed block.
    refused_move(&chain, "190", "190", &[players::Error::TooFast]);

    // Gather wood twice, in two blocks: 2 per gather.
    let (first, first_block) = chain.tx("//Bob", &["player", "gather", "1"], "Players.Gathered");
    assert!(
        first.stdout.contains("resource: 1, amount: 2"),
        "{}",
        first.show()
    );
    let (_, second_block) = chain.tx("//Bob", &["player", "gather", "1"], "Players.Gathered");
    assert_ne!(first_block, second_block, "both gathers in one block");
    assert!(block_number_of(&chain, &second_block) > block_number_of(&chain, &first_block));
    let gathered = chain.json("//Bob", &["player", "show"]);
    assert_eq!(inventory(&gathered), vec![(1, 4)], "{gathered}");

    // Each gather took 2 wood from area 0's deposit in its block. The deposit regains
    // `regenPerBlock` per block up to `max`, and the area's NPCs may forage one unit
    // each per block, so: after = min(max, before + regen) - 2 - (0 ..= NPCs in area).
    for block in [&first_block, &second_block] {
        let header = chain.rpc("chain_getHeader", json!([block]));
        let parent = header["parentHash"].as_str().expect("parentHash");
        let (before, max, regen) = chain.wood_at(parent);
        let (after, _, _) = chain.wood_at(block);
        let npcs = chain.rpc("arceon_npcsInArea", json!([0, block]))["npcs"]
            .as_array()
            .expect("npcs")
            .len() as u64;
        let expected = (before + regen).min(max) - 2;
        assert!(
            after <= expected && after + npcs >= expected,
            "wood in block {block}: {after}, before {before}, max {max}, regen {regen}, {npcs} NPCs"
        );
        assert!(after < max, "the deposit is full right after a gather");
    }

    // Craft a plank from 2 wood.
    chain.tx("//Bob", &["player", "craft", "1"], "Players.Crafted");
    let crafted = chain.json("//Bob", &["player", "show"]);
    assert_eq!(inventory(&crafted), vec![(1, 2), (101, 1)], "{crafted}");

    // Bob is listed in area 0, which counts him.
    let page = chain.rpc("arceon_playersInArea", json!([0]));
    let listed: Vec<&Value> = page["players"]
        .as_array()
        .expect("players")
        .iter()
        .collect();
    assert_eq!(listed.len(), 1, "{page}");
    assert_eq!(listed[0]["address"], bob.as_str());
    assert_eq!(listed[0]["name"], "bob");
    assert_eq!(listed[0]["position"], position(105, 100));
    assert_eq!(page["next"], Value::Null);
    assert_eq!(chain.rpc("arceon_area", json!([0]))["population"], 1);
    for other in 1..8 {
        let page = chain.rpc("arceon_playersInArea", json!([other]));
        assert_eq!(page["players"], json!([]), "area {other}: {page}");
    }

    // A far-away target in a non-adjacent area (Saltharbor): refused too.
    refused_move(
        &chain,
        "700",
        "300",
        &[players::Error::TooFast, players::Error::NotAdjacent],
    );

    // Build a hut (costs the plank) beside the player. Every area of a chain with
    // validators (the dev chain too) has a fast-lane committee, and structures are placed
    // there through the lane only: the extrinsic is refused with a named error.
    let refused = chain.wallet(
        "//Bob",
        &[
            "build",
            "place",
            "0",
            "106",
            "101",
            "1",
            "--timeout",
            TX_TIMEOUT,
        ],
    );
    assert!(
        !refused.success && refused.stderr.contains("Structures.LaneArea"),
        "{}",
        refused.show()
    );
    // Through the lane (the wallet joins the lanes first): confirmed, then in a block and
    // finalized.
    let run = chain.wallet(
        "//Bob",
        &["play", "build", "1", "106", "101", "--timeout", TX_TIMEOUT],
    );
    assert!(run.success, "{}", run.show());
    for line in [
        "confirmed in ",
        "outcome built a structure of kind 1 at (106.000, 101.000)",
        "inBlock 0x",
        "finalized 0x",
    ] {
        assert!(run.stdout.contains(line), "no {line:?}:\n{}", run.show());
    }
    let listed = chain.json("//Bob", &["build", "list", "0"]);
    let over_rpc = chain.rpc("arceon_structuresInArea", json!([0]));
    assert_eq!(listed, over_rpc);
    let structures = listed["structures"].as_array().expect("structures");
    assert_eq!(structures.len(), 1, "{listed}");
    let hut = &structures[0];
    assert_eq!(hut["owner"], bob.as_str(), "{hut}");
    assert_eq!(hut["kind"], 1);
    assert_eq!(hut["area"], 0);
    assert_eq!(hut["level"], 1);
    assert_eq!(hut["position"], position(106, 101));
    assert_eq!(
        hut["footprint"],
        json!({"minX": 106_000, "minY": 101_000, "maxX": 116_000, "maxY": 111_000})
    );
    let built = chain.player(Keyring::Bob);
    assert_eq!(
        inventory(&built),
        vec![(1, 2)],
        "the plank was not spent: {built}"
    );
}

/// The wallet should name a refused move's error (`Players.TooFast`), as it names
/// `Balances` errors. Split from `player_plays_through_the_wallet`, which checks the
/// refusal itself through the block's events.
#[test]
fn wallet_names_the_error_of_a_cheating_move() {
    let chain = Chain::start();
    chain.tx(
        "//Bob",
        &["player", "register", "bob"],
        "Players.PlayerRegistered",
    );
    let stderr = refused_move(&chain, "190", "190", &[players::Error::TooFast]);
    assert!(
        stderr.contains("Players.TooFast"),
        "the wallet's error should name Players.TooFast:\n{stderr}"
    );
}

#[test]
fn validator_bonds_and_validates_through_the_wallet() {
    let chain = Chain::start();
    let alice = to_ss58(&Keyring::Alice.account());
    let charlie = to_ss58(&Keyring::Charlie.account());
    let bonded = (500 * ARCM).to_string();

    // Not bonded yet.
    assert_eq!(
        chain.rpc("arceon_stakingLedger", json!([charlie])),
        Value::Null
    );

    chain.tx("//Charlie", &["stake", "bond", "500"], "Staking.Bonded");
    let ledger = chain.rpc("arceon_stakingLedger", json!([charlie]));
    assert_eq!(ledger["stash"], charlie.as_str(), "{ledger}");
    assert_eq!(ledger["total"], bonded.as_str());
    assert_eq!(ledger["active"], bonded.as_str());
    assert_eq!(ledger["unlocking"], json!([]));
    assert_eq!(ledger["validating"], false);

    chain.tx(
        "//Charlie",
        &["stake", "validate", "--commission", "5"],
        "Staking.ValidatorPrefsSet",
    );
    let ledger = chain.rpc("arceon_stakingLedger", json!([charlie]));
    assert_eq!(ledger["total"], bonded.as_str(), "{ledger}");
    assert_eq!(ledger["validating"], true);

    let validators = chain.rpc("arceon_validators", json!([]));
    let list = validators["validators"].as_array().expect("validators");
    let entry = |address: &str| {
        list.iter()
            .find(|v| v["address"] == address)
            .unwrap_or_else(|| panic!("{address} is not among the validators: {validators}"))
    };
    let charlie_entry = entry(&charlie);
    assert_eq!(charlie_entry["commissionPerBillion"], 50_000_000, "5 %");
    assert_eq!(charlie_entry["bonded"], bonded.as_str());
    assert_eq!(charlie_entry["disabled"], false);
    assert!(charlie_entry["trustScore"].is_number());
    // The genesis validator is active; Charlie's intent takes effect from a later era.
    let alice_entry = entry(&alice);
    assert_eq!(alice_entry["active"], true, "{validators}");
    assert_eq!(alice_entry["commissionPerBillion"], 0);
    assert!(
        validators["activeSet"]
            .as_array()
            .expect("activeSet")
            .contains(&json!(alice)),
        "{validators}"
    );
    assert!(validators["era"].is_u64());

    // Alice's reputation, with its named fields.
    let reputation = chain.rpc("arceon_reputation", json!([alice]));
    assert_eq!(reputation["address"], alice.as_str(), "{reputation}");
    for field in ["uptimeScore", "consensusParticipation", "trustScore"] {
        let score = reputation[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{field} missing: {reputation}"));
        assert!((0.0..=1.0).contains(&score), "{field} = {score}");
        let parts = reputation[format!("{field}PerBillion")]
            .as_u64()
            .unwrap_or_else(|| panic!("{field}PerBillion missing: {reputation}"));
        assert!(parts <= 1_000_000_000);
        assert!((score - parts as f64 / 1e9).abs() < 1e-9, "{field}");
    }
    assert!(reputation["invalidProposals"].is_u64(), "{reputation}");

    // `stake show`: the validators; with an address, also its ledger and reputation.
    let docs = chain.json_docs("//Alice", &["stake", "show"]);
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert!(docs[0]["validators"].is_array(), "{docs:?}");
    let docs = chain.json_docs("//Alice", &["stake", "show", &charlie]);
    assert_eq!(docs.len(), 3, "validators, ledger, reputation: {docs:?}");
    assert!(docs[0]["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .any(|v| v["address"] == charlie.as_str()));
    assert_eq!(docs[1]["total"], bonded.as_str(), "{docs:?}");
    assert_eq!(docs[1]["validating"], true);
    assert_eq!(docs[2]["address"], charlie.as_str());
    assert!(docs[2]["trustScore"].is_number());
}

#[test]
fn world_queries_answer_with_named_fields() {
    let chain = Chain::start();
    let alice = to_ss58(&Keyring::Alice.account());

    // The 4 x 2 grid of 200 x 200-unit areas, ids row by row.
    let names = [
        "Meadow",
        "Whisperwood",
        "Greystone Quarry",
        "Lakeshore",
        "Amber Hills",
        "Fenmarsh",
        "Ironridge",
        "Saltharbor",
    ];
    let areas = chain.json("//Alice", &["area", "list"]);
    assert_eq!(areas, chain.rpc("arceon_areas", json!([])));
    let areas = areas.as_array().expect("areas");
    assert_eq!(areas.len(), 8, "{areas:?}");
    for (id, area) in areas.iter().enumerate() {
        let id = id as i64;
        let (column, row) = (id % 4, id / 4);
        assert_eq!(area["id"], id, "{area}");
        assert_eq!(area["name"], names[id as usize]);
        assert_eq!(area["active"], true);
        assert_eq!(
            area["bounds"],
            json!({
                "minX": column * 200 * UNIT,
                "minY": row * 200 * UNIT,
                "maxX": (column + 1) * 200 * UNIT,
                "maxY": (row + 1) * 200 * UNIT,
            }),
            "{area}"
        );
        let mut expected: Vec<i64> = Vec::new();
        if column > 0 {
            expected.push(id - 1);
        }
        if column < 3 {
            expected.push(id + 1);
        }
        expected.push(if row == 0 { id + 4 } else { id - 4 });
        expected.sort_unstable();
        let mut neighbours: Vec<i64> = area["neighbours"]
            .as_array()
            .expect("neighbours")
            .iter()
            .map(|n| n.as_i64().expect("area id"))
            .collect();
        neighbours.sort_unstable();
        assert_eq!(neighbours, expected, "neighbours of area {id}");
        assert!(
            !area["resources"].as_array().expect("resources").is_empty(),
            "{area}"
        );
    }
    assert_eq!(areas[0]["neighbours"], json!([1, 4]));

    // Area 0 and its committee: the single dev validator, Alice, with no replicas.
    let meadow = chain.json("//Alice", &["area", "show", "0"]);
    assert_eq!(meadow["name"], "Meadow", "{meadow}");
    assert_eq!(meadow["authority"]["primary"], alice.as_str(), "{meadow}");
    assert_eq!(meadow["authority"]["replicas"], json!([]));
    assert!(meadow["authority"]["version"].as_u64() >= Some(1));
    assert!(meadow["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .any(|node| node["resource"] == 1 && node["max"] == 500));
    for id in 0..8 {
        let area = chain.rpc("arceon_area", json!([id]));
        assert_eq!(area["authority"]["primary"], alice.as_str(), "area {id}");
    }
    assert_eq!(chain.rpc("arceon_area", json!([99])), Value::Null);

    // The genesis NPC of the meadow.
    let npcs = chain.json("//Alice", &["npc", "list", "0"]);
    assert_eq!(npcs["area"], 0, "{npcs}");
    let tom = npcs["npcs"]
        .as_array()
        .expect("npcs")
        .iter()
        .find(|npc| npc["name"] == "Old Tom")
        .unwrap_or_else(|| panic!("no Old Tom: {npcs}"));
    assert_eq!(tom["kind"], "Villager");
    assert_eq!(tom["area"], 0);
    assert!(tom["position"]["x"].is_i64() && tom["position"]["y"].is_i64());

    // Garbage parameters: JSON-RPC errors (invalid params), and the node keeps serving.
    let garbage = [
        ("arceon_player", json!(["5NotAnAddress"])),
        ("arceon_player", json!([])),
        ("arceon_player", json!([42])),
        ("arceon_playersInArea", json!([0, null, 100_000])),
        ("arceon_playersInArea", json!([0, null, 0])),
        ("arceon_playersInArea", json!([0, "not-an-address"])),
        ("arceon_playersInArea", json!(["zero"])),
        ("arceon_structuresInArea", json!([0, null, 100_000])),
        ("arceon_area", json!(["x"])),
        ("arceon_area", json!([-1])),
        ("arceon_area", json!([0, "0xnothex"])),
        ("arceon_npcsInArea", json!([])),
        ("arceon_stakingLedger", json!(["0x1234"])),
        ("arceon_reputation", json!([null])),
    ];
    for (method, params) in garbage {
        match chain.node.try_rpc(method, params.clone()) {
            Ok(result) => panic!("{method}({params}) answered {result}"),
            Err(error) => {
                assert!(
                    error["code"].is_i64() && error["message"].is_string(),
                    "{method}({params}): not a JSON-RPC error: {error}"
                );
            }
        }
    }
    let error = chain
        .node
        .try_rpc("arceon_playersInArea", json!([0, null, 100_000]))
        .expect_err("limit above the page");
    assert_eq!(error["code"], -32602, "{error}");
    assert!(
        error["message"].as_str().unwrap_or("").contains("limit"),
        "{error}"
    );
    let error = chain
        .node
        .try_rpc("arceon_player", json!(["5NotAnAddress"]))
        .expect_err("bad address");
    assert_eq!(error["code"], -32602, "{error}");
    assert!(
        chain.node.try_rpc("system_health", json!([])).is_ok(),
        "the node stopped answering after garbage parameters"
    );
    assert_eq!(chain.rpc("arceon_area", json!([0]))["name"], "Meadow");

    // The wallet's own errors for a bad address and a player that does not exist.
    let run = chain.wallet("//Alice", &["player", "show", "5NotAnAddress"]);
    assert!(!run.success, "{}", run.show());
    assert!(
        run.stderr.to_lowercase().contains("address"),
        "{}",
        run.show()
    );
    let run = chain.wallet("//Dave", &["player", "show"]);
    assert!(!run.success, "{}", run.show());
    assert!(run.stderr.contains("has no player"), "{}", run.show());
}
