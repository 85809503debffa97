//! Helpers for tests that run real `arceon-node` processes on 127.0.0.1.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A free TCP port on 127.0.0.1, never one this process handed out before (the kernel
/// may offer a just-released port again: a node's P2P and RPC ports once collided).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1_000 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no fresh free port in 1,000 tries");
}

/// A node process, stopped when dropped: SIGTERM first, so a `--dev`/`--tmp` node removes
/// its temporary base path (a SIGKILLed one leaks ~75 MB of RocksDB per node), then SIGKILL
/// if it has not exited within 10 s.
pub struct Node {
    pub child: Child,
    pub rpc_port: u16,
    pub prometheus_port: u16,
    pub log: PathBuf,
    /// Dropping it kills at once (set by [`Node::crash`], and for nodes whose base path
    /// the test owns).
    pub hard: bool,
}

impl Drop for Node {
    fn drop(&mut self) {
        if !self.hard && matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Path of a binary built by this workspace (`arceon-node`, `arceon-wallet`): Cargo's
/// path when this test's package owns it, else the profile directory both live in.
pub fn binary(name: &str) -> PathBuf {
    // Another build of the node (e.g. an older commit) for the multi-node tests.
    if name == "arceon-node" {
        if let Some(path) = std::env::var_os("ARCEON_NODE_BIN") {
            return PathBuf::from(path);
        }
    }
    let own = match name {
        "arceon-node" => option_env!("CARGO_BIN_EXE_arceon-node"),
        "arceon-wallet" => option_env!("CARGO_BIN_EXE_arceon-wallet"),
        _ => None,
    };
    if let Some(path) = own {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

impl Node {
    /// Starts `arceon-node` with `args` plus RPC/Prometheus ports; waits until RPC answers.
    pub fn start(args: &[&str], log: PathBuf) -> Node {
        let node = Node::spawn(args, log);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if node.try_rpc("system_health", json!([])).is_ok() {
                return node;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "node did not answer RPC within 60 s; log:\n{}",
            node.log_text()
        );
    }

    /// Starts a node without waiting for its RPC (to kill it while it starts up).
    pub fn spawn(args: &[&str], log: PathBuf) -> Node {
        let rpc_port = free_port();
        let prometheus_port = free_port();
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut extra = Vec::new();
        if !args
            .iter()
            .any(|a| *a == "--port" || *a == "--listen-addr" || *a == "--no-network")
        {
            // Parallel tests must not fight over the default p2p port.
            extra.extend(["--listen-addr", "/ip4/127.0.0.1/tcp/0"]);
        }
        let child = Command::new(binary("arceon-node"))
            .args(args)
            .args(extra)
            .args([
                "--rpc-port",
                &rpc_port.to_string(),
                "--prometheus-port",
                &prometheus_port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start arceon-node");
        Node {
            child,
            rpc_port,
            prometheus_port,
            log,
            hard: false,
        }
    }

    /// Kills the process with SIGKILL (a crash: no shutdown work runs).
    pub fn crash(mut self) {
        self.hard = true;
    }

    /// The node's Prometheus metrics, as scraped from `/metrics`.
    pub fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.prometheus_port)).expect("metrics port");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .expect("metrics request");
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// Sends raw bytes as an HTTP POST body; returns (status, body).
    pub fn post_raw(&self, body: &[u8]) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.rpc_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let head = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        // A server may close early on an oversized body: that is an answer too.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// A JSON-RPC call over HTTP; `Err` carries the JSON-RPC error object.
    pub fn try_rpc(&self, method: &str, params: Value) -> Result<Value, Value> {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (_, body) = self
            .post_raw(request.to_string().as_bytes())
            .map_err(|e| json!({"io": e.to_string()}))?;
        // Chunked bodies: take the JSON object inside.
        let start = body
            .find('{')
            .ok_or_else(|| json!({"body": body.clone()}))?;
        let end = body
            .rfind('}')
            .ok_or_else(|| json!({"body": body.clone()}))?;
        let value: Value = serde_json::from_str(&body[start..=end])
            .map_err(|e| json!({"parse": e.to_string()}))?;
        match value.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(value["result"].clone()),
        }
    }

    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    pub fn best_number(&self) -> u32 {
        let header = self.rpc("chain_getHeader", json!([]));
        let number = header["number"].as_str().expect("number");
        u32::from_str_radix(number.trim_start_matches("0x"), 16).expect("hex number")
    }

    /// Waits (bounded) until `check` holds.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut check: impl FnMut(&Node) -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "timed out waiting for {what}; log tail:\n{}",
            tail(&self.log_text())
        );
    }
}

/// The value of the sample `name` (with its labels, as printed) in a metrics scrape.
pub fn metric(metrics: &str, name: &str) -> Option<i64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Free balance of `who` over `state_getStorage` (0 for an account that does not exist).
pub fn free_balance(node: &Node, who: &arceon_primitives::AccountId32, at: Option<&str>) -> u128 {
    use codec::Decode;
    let key = arceon_runtime::queries::account_key(who);
    let mut params = vec![json!(arceon_primitives::to_hex(&key))];
    if let Some(at) = at {
        params.push(json!(at));
    }
    match node.rpc("state_getStorage", Value::Array(params)) {
        Value::Null => 0,
        value => {
            let bytes = arceon_primitives::from_hex(value.as_str().expect("hex")).expect("hex");
            arceon_runtime::queries::AccountInfo::decode(&mut &bytes[..])
                .expect("account")
                .data
                .free
        }
    }
}
