//! A network of real `arceon-node` processes on 127.0.0.1 for multi-node tests: stable
//! node keys, all-to-all boot nodes, bounded waits that show every log on timeout.
//! Included by the multi-node test files as `#[path = "common/net.rs"] mod net;`.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{binary, free_port, tail, Node};

/// One network test at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub const NAMES: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];

pub fn node_key(i: usize) -> String {
    let mut key = [0u8; 32];
    key[0] = 0xa5;
    key[31] = i as u8 + 1;
    hex::encode(key)
}

pub fn peer_id(i: usize) -> String {
    let mut child = Command::new(binary("arceon-node"))
        .args(["key", "inspect-node-key"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run arceon-node key inspect-node-key");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(node_key(i).as_bytes())
        .expect("write key");
    let out = child.wait_with_output().expect("peer id");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

/// A member of a test network.
pub struct Member {
    pub index: usize,
    pub p2p: u16,
    pub base: PathBuf,
    pub args: Vec<String>,
    pub node: Option<Node>,
}

pub struct Net {
    pub dir: tempfile::TempDir,
    pub members: Vec<Member>,
}

impl Net {
    /// Prepares `n` nodes (not started): node `i` uses `--<NAMES[i]>` when `validator(i)`.
    pub fn new(chain: &str, n: usize, extra: impl Fn(usize) -> Vec<String>) -> Net {
        let dir = tempfile::tempdir().expect("temp dir");
        let members = (0..n)
            .map(|i| {
                let mut args = vec![
                    "--chain".to_string(),
                    chain.to_string(),
                    "--node-key".into(),
                    node_key(i),
                    "--rpc-methods".into(),
                    "unsafe".into(),
                ];
                args.extend(extra(i));
                Member {
                    index: i,
                    p2p: free_port(),
                    base: dir.path().join(format!("node{i}")),
                    args,
                    node: None,
                }
            })
            .collect();
        Net { dir, members }
    }

    pub fn addr(&self, i: usize) -> String {
        format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            self.members[i].p2p,
            peer_id(i)
        )
    }

    /// Starts node `i` knowing `boot` as boot nodes; returns once it answers RPC.
    pub fn start(&mut self, i: usize, boot: &[usize]) {
        self.launch(i, boot, true);
    }

    /// Starts node `i` without waiting for it to answer RPC.
    pub fn spawn(&mut self, i: usize, boot: &[usize]) {
        self.launch(i, boot, false);
    }

    fn launch(&mut self, i: usize, boot: &[usize], wait: bool) {
        let bootnodes: Vec<String> = boot
            .iter()
            .filter(|j| **j != i)
            .map(|j| self.addr(*j))
            .collect();
        let member = &self.members[i];
        let mut args: Vec<String> = member.args.clone();
        args.extend([
            "--base-path".into(),
            member.base.display().to_string(),
            "--listen-addr".into(),
            format!("/ip4/127.0.0.1/tcp/{}", member.p2p),
        ]);
        if !bootnodes.is_empty() {
            args.push("--bootnodes".into());
            args.push(bootnodes.join(","));
        }
        let log = self.dir.path().join(format!("node{i}.log"));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut node = if wait {
            Node::start(&refs, log)
        } else {
            Node::spawn(&refs, log)
        };
        // The base path lives in the test's directory: a member is killed as a crash.
        node.hard = true;
        self.members[i].node = Some(node);
    }

    pub fn start_all(&mut self) {
        let all: Vec<usize> = (0..self.members.len()).collect();
        for i in 0..self.members.len() {
            self.start(i, &all);
        }
    }

    pub fn kill(&mut self, i: usize) {
        self.members[i].node = None;
    }

    pub fn node(&self, i: usize) -> &Node {
        self.members[i].node.as_ref().expect("node running")
    }

    pub fn running(&self) -> Vec<&Node> {
        self.members
            .iter()
            .filter_map(|m| m.node.as_ref())
            .collect()
    }

    /// Waits (bounded) until `check` holds; on timeout shows every node's log tail.
    pub fn wait(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Net) -> bool,
    ) -> Duration {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if check(self) {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let logs: Vec<String> = self
            .members
            .iter()
            .filter_map(|m| {
                m.node
                    .as_ref()
                    .map(|n| format!("--- node {}:\n{}", m.index, tail(&n.log_text())))
            })
            .collect();
        panic!(
            "timed out after {timeout:?} waiting for {what}\n{}",
            logs.join("\n")
        );
    }
}

pub fn number(value: &Value) -> u32 {
    let text = value["number"].as_str().expect("number");
    u32::from_str_radix(text.trim_start_matches("0x"), 16).expect("hex number")
}

pub fn finalized(node: &Node) -> u32 {
    match node.try_rpc("chain_getFinalizedHead", json!([])) {
        Ok(hash) => node
            .try_rpc("chain_getHeader", json!([hash]))
            .map(|h| number(&h))
            .unwrap_or(0),
        Err(_) => 0,
    }
}

pub fn best(node: &Node) -> u32 {
    node.try_rpc("chain_getHeader", json!([]))
        .map(|h| number(&h))
        .unwrap_or(0)
}

pub fn hash_at(node: &Node, n: u32) -> Value {
    node.rpc("chain_getBlockHash", json!([n]))
}

/// Every running node has the same finalized blocks (hash and state root) up to the
/// lowest finalized height among them; returns that height.
pub fn assert_finalized_agree(net: &Net) -> u32 {
    let nodes = net.running();
    let low = nodes.iter().map(|n| finalized(n)).min().expect("nodes");
    for h in 1..=low {
        let hashes: Vec<Value> = nodes.iter().map(|n| hash_at(n, h)).collect();
        assert!(
            hashes.iter().all(|x| *x == hashes[0]),
            "nodes disagree on finalized block #{h}: {hashes:?}"
        );
    }
    if low > 0 {
        let hash = hash_at(nodes[0], low);
        let roots: Vec<Value> = nodes
            .iter()
            .map(|n| n.rpc("chain_getHeader", json!([hash]))["stateRoot"].clone())
            .collect();
        assert!(
            roots.iter().all(|r| *r == roots[0]),
            "state roots differ: {roots:?}"
        );
    }
    low
}

/// Every running node has the same block (hash and state root) at the lowest finalized
/// height among them. For networks with a warp-synced node, which has no blocks below its
/// warp base.
pub fn assert_finalized_head_agrees(net: &Net) -> u32 {
    let nodes = net.running();
    let low = nodes.iter().map(|n| finalized(n)).min().expect("nodes");
    let hashes: Vec<Value> = nodes.iter().map(|n| hash_at(n, low)).collect();
    assert!(
        hashes.iter().all(|x| *x == hashes[0]) && !hashes[0].is_null(),
        "nodes disagree on finalized block #{low}: {hashes:?}"
    );
    let roots: Vec<Value> = nodes
        .iter()
        .map(|n| n.rpc("chain_getHeader", json!([hashes[0]]))["stateRoot"].clone())
        .collect();
    assert!(
        roots.iter().all(|r| *r == roots[0]),
        "state roots differ: {roots:?}"
    );
    low
}

/// Runs `arceon-wallet` against `node` as `suri`; returns success and all its output.
pub fn wallet(node: &Node, suri: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(binary("arceon-wallet"))
        .args(["--url", &node.url(), "--suri", suri])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run arceon-wallet");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A local chain with 10-block eras, so joining and leaving take effect quickly.
pub fn short_era_spec(dir: &Path) -> PathBuf {
    let out = Command::new(binary("arceon-node"))
        .args(["build-spec", "--chain", "local"])
        .output()
        .expect("build-spec");
    assert!(out.status.success());
    let mut spec: Value = serde_json::from_slice(&out.stdout).expect("spec json");
    let staking = &mut spec["genesis"]["runtimeGenesis"]["config"]["staking"];
    staking["eraLength"] = json!(10);
    staking["sessionsPerEra"] = json!(1);
    let path = dir.join("short-era.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).expect("json")).expect("write spec");
    path
}
