//! The explorer against real processes: a dev node after a wallet transfer Alice -> Bob
//! and a player's register and move, indexed into SQLite (with the pages checked in
//! headless Chromium) and into PostgreSQL; an index killed with SIGKILL 20 times during
//! backfill equals one built without interruption; a bad `--database` URL and a node
//! that goes away give clear errors, not a crash.
//!
//! Needs `arceon-node` and `arceon-wallet` built in the same target directory (`cargo test
//! --workspace` builds them), `npm ci` in rpc/clients (playwright-core), and installs
//! Chromium and PostgreSQL with `scripts/ensure-chromium.sh` / `scripts/ensure-postgres.sh`
//! when missing.

#[path = "../../../node/cli/tests/common/mod.rs"]
mod common;
#[path = "../../../node/cli/tests/common/net.rs"]
mod net;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{binary, Node};
use support::*;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a `scripts/` helper and returns the last line it printed.
fn script(name: &str) -> String {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts").join(name))
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn dev_node(dir: &Path) -> Node {
    let node = Node::start(&["--dev", "--tmp"], dir.join("node.log"));
    node.wait_for("block 1", Duration::from_secs(30), |n| n.best_number() >= 1);
    node
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// Runs a playwright-core script of rpc/clients/explorer against the explorer.
fn browser_script(explorer: &Explorer, file: &str, env: &[(&str, &str)]) {
    let clients = repo_root().join("rpc/clients");
    assert!(
        clients.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules is missing: run `npm ci` there (scripts/test.sh does)",
        clients.display()
    );
    let chromium = script("ensure-chromium.sh");
    let out = Command::new("timeout")
        .args(["180", "node", file])
        .current_dir(&clients)
        .env("EXPLORER_URL", explorer.base_url())
        .env("CHROMIUM", chromium)
        .envs(env.iter().copied())
        .output()
        .expect("run node (Node.js 20)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{file} failed:\n{text}\nexplorer log:\n{}",
        explorer.log_text()
    );
}

fn run_browser(explorer: &Explorer, scenario: &Scenario, shots: &Path) {
    let shots_text = shots.to_str().expect("utf8 path");
    browser_script(
        explorer,
        "explorer/browser.mjs",
        &[
            ("BOB", BOB),
            ("TX_HASH", &scenario.transfer_hash),
            ("FAILED_HASH", &scenario.failed_hash),
            ("PLAYER", PLAYER),
            ("SHOTS", shots_text),
        ],
    );
    for shot in ["home.png", "account.png", "map.png"] {
        let size = std::fs::metadata(shots.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size > 10_000, "{shot} was not written ({size} bytes)");
    }
    if let Some(keep) = std::env::var_os("ARCEON_EXPLORER_SHOTS") {
        for shot in ["home.png", "account.png", "map.png"] {
            let _ = std::fs::copy(shots.join(shot), Path::new(&keep).join(shot));
        }
    }
}

#[test]
fn explorer_indexes_a_dev_node_into_sqlite_and_shows_it_in_a_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = dev_node(dir.path());
    let scenario = play(&node);
    let explorer = Explorer::start(
        &node.url(),
        &sqlite_url(dir.path(), "explorer.db"),
        &dir.path().join("explorer.log"),
    );
    wait_for_move(&explorer);
    check_api(&explorer, &scenario);
    check_bad_input(&explorer);
    let shots = dir.path().join("shots");
    std::fs::create_dir_all(&shots).expect("shots dir");
    run_browser(&explorer, &scenario, &shots);
    // The node goes away: the page says so, and still shows what was indexed.
    node.crash();
    browser_script(&explorer, "explorer/disconnected.mjs", &[]);
}

#[test]
fn explorer_indexes_a_dev_node_into_postgres() {
    let admin = script("ensure-postgres.sh");
    let name = format!("arceon_explorer_test_{}", std::process::id());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args([admin.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    psql(&format!("CREATE DATABASE {name}"));
    let url = admin
        .rsplit_once('/')
        .map(|(server, _)| format!("{server}/{name}"))
        .expect("url");
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let node = dev_node(dir.path());
        let scenario = play(&node);
        let explorer = Explorer::start(&node.url(), &url, &dir.path().join("explorer.log"));
        wait_for_move(&explorer);
        check_api(&explorer, &scenario);
        check_bad_input(&explorer);
    }
    psql(&format!("DROP DATABASE {name}"));
}

fn fingerprint(database: &str) -> String {
    let out = Command::new(explorer_binary())
        .args(["--database", database, "fingerprint"])
        .output()
        .expect("run arceon-explorer fingerprint");
    assert!(
        out.status.success(),
        "fingerprint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn index_to_the_end(node: &Node, database: &str) {
    let out = Command::new(explorer_binary())
        .args([
            "--node",
            &node.url(),
            "--database",
            database,
            "--no-progress",
            "bench",
        ])
        .output()
        .expect("run arceon-explorer bench");
    assert!(
        out.status.success(),
        "bench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Blocks form 0..=highest with no gap, each with all its extrinsics.
fn assert_contiguous(print: &str) {
    let count = |table: &str| -> u64 {
        print
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{table} ")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {table} count in {print}"))
    };
    let blocks = count("blocks");
    // make-chain blocks carry 4 transfers each, genesis none.
    assert_eq!(count("extrinsics"), blocks.saturating_sub(1) * 4, "{print}");
    assert_eq!(count("transfers"), blocks.saturating_sub(1) * 4, "{print}");
}

/// Blocks of the chain the kill-resume test indexes (a backfill of a few seconds).
const CHAIN_BLOCKS: u32 = 400;

#[test]
fn an_index_killed_twenty_times_during_backfill_equals_an_uninterrupted_one() {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("ARCEON_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("kill-resume seed {seed} (replay with ARCEON_TEST_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("chain");
    let base_str = base.to_str().expect("utf8 path");
    let made = Command::new(binary("arceon-node"))
        .args([
            "benchmark",
            "make-chain",
            "--chain",
            "dev",
            "--blocks",
            &CHAIN_BLOCKS.to_string(),
            "--state-pruning",
            "archive",
            "--base-path",
            base_str,
        ])
        .output()
        .expect("make-chain");
    assert!(
        made.status.success(),
        "make-chain: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let node = Node::start(
        &[
            "--chain",
            "dev",
            "--base-path",
            base_str,
            "--state-pruning",
            "archive",
        ],
        dir.path().join("node.log"),
    );

    let reference = sqlite_url(dir.path(), "reference.db");
    index_to_the_end(&node, &reference);
    let expected = fingerprint(&reference);
    assert!(
        expected.contains(&format!("blocks {}\n", CHAIN_BLOCKS + 1)),
        "{expected}"
    );

    let interrupted = sqlite_url(dir.path(), "interrupted.db");
    let start = Instant::now();
    let mut mid_backfill = 0;
    for kill in 0..20 {
        let explorer = Explorer::spawn(
            &node.url(),
            &interrupted,
            &dir.path().join(format!("explorer{kill}.log")),
        );
        // Its web server answers once the database is open; the backfill runs beside it.
        let deadline = Instant::now() + Duration::from_secs(30);
        while explorer.try_get("/api/status").is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..40)));
        drop(explorer); // SIGKILL
        let print = fingerprint(&interrupted);
        assert_contiguous(&print);
        let line = print.lines().next().unwrap_or_default().to_string();
        println!("kill {kill}: {line}");
        if line != format!("blocks {}", CHAIN_BLOCKS + 1) {
            mid_backfill += 1;
        }
    }
    assert!(
        mid_backfill >= 15,
        "seed {seed}: only {mid_backfill} of 20 kills landed during the backfill"
    );
    index_to_the_end(&node, &interrupted);
    let got = fingerprint(&interrupted);
    assert_eq!(got, expected, "seed {seed}: the interrupted index differs");
    println!("20 kills and resume took {:?}", start.elapsed());
}

#[test]
fn bad_database_urls_and_a_vanished_node_give_clear_errors() {
    for (url, says) in [
        ("mysql://localhost/db", "use sqlite://FILE"),
        ("explorer.db", "use sqlite://FILE"),
        (
            "sqlite:///nonexistent-dir/x/explorer.db",
            "unable to open database file",
        ),
        (
            "postgres://nobody@127.0.0.1:1/nothing",
            "Connection refused",
        ),
    ] {
        let out = Command::new(explorer_binary())
            .args([
                "--node",
                "ws://127.0.0.1:1",
                "--database",
                url,
                "--http-port",
                "0",
            ])
            .output()
            .expect("run arceon-explorer");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(
            stderr.contains("bad --database URL") && stderr.contains(says),
            "{url}: {stderr}"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("chain");
    let base_str = base.to_str().expect("utf8 path");
    let node = Node::start(
        &["--dev", "--base-path", base_str],
        dir.path().join("node.log"),
    );
    let rpc_port = node.rpc_port;
    let mut explorer = Explorer::start(
        &node.url(),
        &sqlite_url(dir.path(), "e.db"),
        &dir.path().join("explorer.log"),
    );
    explorer.wait_for("connected and indexing", Duration::from_secs(30), |e| {
        let (_, s) = e.get("/api/status");
        s["status"]["connected"] == true && s["status"]["indexedHeight"].as_u64().is_some()
    });
    node.crash();
    explorer.wait_for("the node reported gone", Duration::from_secs(30), |e| {
        let (_, s) = e.get("/api/status");
        s["status"]["connected"] == false
            && s["status"]["lastError"]
                .as_str()
                .is_some_and(|m| m.contains("node"))
            && s["status"]["reconnectAttempts"]
                .as_u64()
                .is_some_and(|n| n >= 2)
    });
    // Still serving what it indexed.
    let blocks = explorer.ok("/api/blocks?limit=1");
    assert!(blocks.as_array().is_some_and(|b| !b.is_empty()), "{blocks}");
    assert!(
        matches!(explorer.child.try_wait(), Ok(None)),
        "the explorer exited"
    );
    let before = explorer.ok("/api/status")["status"]["indexedHeight"]
        .as_u64()
        .expect("indexed height");

    // The node comes back on the same port: the explorer redials and indexes on.
    let log = std::fs::File::create(dir.path().join("node2.log")).expect("log");
    let child = Command::new(binary("arceon-node"))
        .args([
            "--dev",
            "--base-path",
            base_str,
            "--listen-addr",
            "/ip4/127.0.0.1/tcp/0",
        ])
        .args(["--rpc-port", &rpc_port.to_string()])
        .args(["--prometheus-port", &common::free_port().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("restart arceon-node");
    let _node = Node {
        child,
        rpc_port,
        prometheus_port: 0,
        log: dir.path().join("node2.log"),
        hard: false,
    };
    explorer.wait_for(
        "reconnected and indexing on",
        Duration::from_secs(60),
        |e| {
            let (_, s) = e.get("/api/status");
            s["status"]["connected"] == true
                && s["status"]["indexedHeight"]
                    .as_u64()
                    .is_some_and(|h| h > before)
        },
    );
}
