//! Helpers for the explorer's tests with real processes: an `arceon-explorer` process on a
//! free port (killed when dropped), a plain HTTP GET against it, bounded waits, and the
//! dev-node scenario the tests check (a transfer Alice -> Bob, a player registered and
//! moved by Bob).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{free_port, Node};
use crate::net::wallet;

pub const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
pub const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
/// The name Bob's player registers with (searched for by name).
pub const PLAYER: &str = "wanderer";

pub fn explorer_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_arceon-explorer"))
}

/// A running `arceon-explorer`, SIGKILLed when dropped.
pub struct Explorer {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Drop for Explorer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Explorer {
    /// Starts the explorer on `node_url` with `database`, without waiting.
    pub fn spawn(node_url: &str, database: &str, log: &Path) -> Explorer {
        let port = free_port();
        let log_file = std::fs::File::create(log).expect("explorer log");
        let child = Command::new(explorer_binary())
            .args(["--node", node_url, "--database", database, "--no-progress"])
            .args(["--http-port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start arceon-explorer");
        Explorer {
            child,
            port,
            log: log.to_path_buf(),
        }
    }

    /// Starts the explorer and waits until its HTTP server answers.
    pub fn start(node_url: &str, database: &str, log: &Path) -> Explorer {
        let explorer = Explorer::spawn(node_url, database, log);
        explorer.wait_for("the HTTP server", Duration::from_secs(30), |e| {
            e.try_get("/api/status").is_some()
        });
        explorer
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// GET `path`: (status, body), `None` when nothing answers.
    pub fn try_get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).ok()?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
        Some((status, body))
    }

    /// GET `path` as JSON: (status, value).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let (status, body) = self
            .try_get(path)
            .unwrap_or_else(|| panic!("no answer to GET {path}; log:\n{}", self.log_text()));
        let value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"));
        (status, value)
    }

    /// GET `path`, asserting 200.
    pub fn ok(&self, path: &str) -> Value {
        let (status, value) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {value}");
        value
    }

    /// Waits (bounded) until `check` holds.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Explorer) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "timed out waiting for {what}; explorer log:\n{}",
            self.log_text()
        );
    }
}

/// What the dev-node scenario did.
pub struct Scenario {
    /// The transfer's extrinsic hash.
    pub transfer_hash: String,
    /// Bob's refused teleport (included, failed with `Players.TooFast`).
    pub failed_hash: String,
}

fn extrinsic_hash(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("extrinsic "))
        .unwrap_or_else(|| panic!("no extrinsic hash in:\n{out}"))
        .trim()
        .to_string()
}

/// On a dev node: Alice sends Bob 1.5 ArcM, Bob registers a player and moves it to
/// (105, 100). Each step waits for finality.
pub fn play(node: &Node) -> Scenario {
    let (ok, out) = wallet(node, "//Alice", &["transfer", BOB, "1.5"]);
    assert!(ok, "transfer failed:\n{out}");
    let transfer_hash = extrinsic_hash(&out);
    let (ok, out) = wallet(node, "//Bob", &["player", "register", PLAYER]);
    assert!(ok, "register failed:\n{out}");
    let (ok, out) = wallet(node, "//Bob", &["player", "move", "105", "100"]);
    assert!(ok, "move failed:\n{out}");
    // A teleport: included, refused by the runtime (the fee is paid, nothing moves).
    let (ok, out) = wallet(node, "//Bob", &["player", "move", "190", "100"]);
    assert!(!ok && out.contains("Players.TooFast"), "teleport:\n{out}");
    let failed_hash = extrinsic_hash(&out);
    // Charlie plays through Meadow's fast lane: a certified batch lands in a block.
    let (ok, out) = wallet(node, "//Charlie", &["player", "register", "runner"]);
    assert!(ok, "register failed:\n{out}");
    // The first call joins the lanes; lane time must then pass for the walk (10 units
    // per second), so a `TooFast` answer is retried a few times, a second apart.
    let mut tries = 0;
    loop {
        let (ok, out) = wallet(node, "//Charlie", &["play", "move", "101", "100"]);
        if ok {
            break;
        }
        tries += 1;
        assert!(
            tries < 5 && out.contains("TooFast"),
            "lane move failed:\n{out}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    Scenario {
        transfer_hash,
        failed_hash,
    }
}

/// Waits until the explorer's map shows Bob's player at (105, 100).
pub fn wait_for_move(explorer: &Explorer) {
    explorer.wait_for(
        "the player's move on the map",
        Duration::from_secs(90),
        |e| {
            let (_, map) = e.get("/api/map");
            map["players"].as_array().is_some_and(|players| {
                players
                    .iter()
                    .any(|p| p["name"] == PLAYER && p["x"] == 105_000 && p["y"] == 100_000)
                    && players
                        .iter()
                        .any(|p| p["name"] == "runner" && p["x"] == 101_000)
            })
        },
    );
}

/// The API checks a user of the explorer would notice, after [`play`].
pub fn check_api(explorer: &Explorer, scenario: &Scenario) {
    let account = explorer.ok(&format!("/api/account/{BOB}"));
    let transfers = account["transfers"].as_array().expect("transfers");
    assert!(
        transfers
            .iter()
            .any(|t| t["from"] == ALICE && t["to"] == BOB && t["amount"] == "1500000000000"),
        "Bob's account page lacks the 1.5 ArcM transfer from Alice: {account}"
    );
    assert_eq!(account["player"]["name"], PLAYER, "{account}");

    let xt = explorer.ok(&format!("/api/extrinsic/{}", scenario.transfer_hash));
    assert_eq!(xt["pallet"], "Balances", "{xt}");
    assert!(
        xt["call"]
            .as_str()
            .is_some_and(|c| c.starts_with("transfer")),
        "{xt}"
    );
    assert_eq!(xt["signer"], ALICE, "{xt}");
    assert_eq!(xt["success"], true, "{xt}");
    assert!(xt["fee"].as_str().is_some_and(|f| f != "0"), "no fee: {xt}");
    assert!(
        xt["args"].to_string().contains(BOB),
        "decoded args lack Bob: {xt}"
    );
    let events: Vec<String> = xt["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            format!(
                "{}.{}",
                e["pallet"].as_str().unwrap_or(""),
                e["event"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        events.contains(&"Balances.Transfer".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"System.ExtrinsicSuccess".to_string()),
        "{events:?}"
    );

    let failed = explorer.ok(&format!("/api/extrinsic/{}", scenario.failed_hash));
    assert_eq!(failed["call"], "move_to", "{failed}");
    assert_eq!(failed["success"], false, "{failed}");
    assert_eq!(failed["error"], "Players.TooFast", "{failed}");

    let found = explorer.ok(&format!("/api/search?q={PLAYER}"));
    assert_eq!(found["kind"], "player", "{found}");
    assert_eq!(found["url"], format!("/account/{BOB}"), "{found}");
    let block = explorer.ok(&format!("/api/search?q={}", xt["blockNumber"]));
    assert_eq!(block["kind"], "block", "{block}");
    let by_hash = explorer.ok(&format!("/api/search?q={}", scenario.transfer_hash));
    assert_eq!(by_hash["kind"], "extrinsic", "{by_hash}");

    let map = explorer.ok("/api/map");
    let areas = map["areas"].as_array().expect("areas");
    assert_eq!(areas.len(), 8, "{map}");
    assert!(
        areas
            .iter()
            .any(|a| a["name"] == "Meadow" && a["maxX"] == 200_000),
        "{map}"
    );
    assert!(
        map["npcs"].as_array().is_some_and(|n| !n.is_empty()),
        "no NPCs: {map}"
    );

    let lanes = explorer.ok("/api/lanes");
    assert!(
        lanes["lanes"].as_array().is_some_and(|l| l
            .iter()
            .any(|lane| lane["area"] == 0 && lane["actions"].as_i64().is_some_and(|n| n >= 1))),
        "Meadow's lane batch is not indexed: {lanes}"
    );
    // From being sequenced to its block: a lane batch enters one of the next blocks.
    assert!(
        lanes["lanes"]
            .as_array()
            .is_some_and(|l| l.iter().any(|lane| lane["area"] == 0
                && lane["inclusionMaxMs"]
                    .as_i64()
                    .is_some_and(|ms| (0..60_000).contains(&ms)))),
        "no inclusion delay for Meadow's lane: {lanes}"
    );

    let status = explorer.ok("/api/status");
    assert_eq!(status["status"]["connected"], true, "{status}");
    assert!(
        status["latestBlocks"]
            .as_array()
            .is_some_and(|b| !b.is_empty()),
        "{status}"
    );
    let validators = explorer.ok("/api/validators");
    assert!(
        validators["validators"][0]["authoredBlocks"]
            .as_i64()
            .is_some_and(|n| n > 0),
        "{validators}"
    );
}

/// Malformed parameters are 400 with a JSON error, unknown things 404.
pub fn check_bad_input(explorer: &Explorer) {
    let cases = [
        (
            "/api/search?q=no-such-thing-anywhere",
            404,
            "nothing matches",
        ),
        ("/api/search?q=", 400, "search needs q"),
        ("/api/search", 400, "search needs q"),
        ("/api/blocks?limit=0", 400, "limit must be"),
        ("/api/blocks?limit=ten", 400, "limit must be"),
        ("/api/block/not-a-block", 400, "not a block number"),
        ("/api/block/4294967296", 400, "not a block number"),
        ("/api/block/999999", 404, "not indexed"),
        ("/api/extrinsic/0x1234", 400, "32-byte hash"),
        ("/api/account/5Bogus", 400, "not an SS58 address"),
        ("/api/validator/nobody", 400, "not an SS58 address"),
        ("/api/nothing-here", 404, "no such API endpoint"),
    ];
    for (path, code, message) in cases {
        let (status, body) = explorer.get(path);
        assert_eq!(status, code, "GET {path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(message)),
            "GET {path}: expected an error saying `{message}`, got {body}"
        );
    }
}
