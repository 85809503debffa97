//! RPC as a hostile web page and a greedy client see it, on real `arceon-node`
//! processes: a `--chain local` node refuses browser origins other than the local
//! machine's (CORS preflight, plain POST and WebSocket upgrade alike), answers an
//! over-long batch with one JSON-RPC error, and gives a connection that exceeds
//! `--rpc-rate-limit` errors while other connections are served. A `--dev` node serves
//! any origin, as Substrate's does.

mod common;
#[path = "common/ws.rs"]
mod ws;

use std::io::{BufReader, Read, Write};

use common::Node;
use serde_json::{json, Value};
use ws::{call, connect, read_head, WebSocket};

const EVIL: &str = "http://evil.example";
const LOCAL_PAGE: &str = "http://localhost:3000";
/// The code of a call refused for exceeding the connection's rate limit.
const TOO_MANY_CALLS: i64 = -32029;
/// jsonrpsee's code for a batch longer than the limit.
const TOO_BIG_BATCH: i64 = -32010;

/// An HTTP response as read off the socket.
struct HttpResponse {
    status: u16,
    /// Header lines, names lower-cased.
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON value in the body (chunked bodies: the outermost brackets).
    fn json(&self) -> Value {
        let start = self.body.find(['{', '[']).expect("JSON in the body");
        let end = self.body.rfind(['}', ']']).expect("JSON in the body");
        serde_json::from_str(&self.body[start..=end]).expect("a JSON body")
    }
}

/// Sends one HTTP/1.1 request (closing the connection after it) and reads the answer.
fn http(node: &Node, method: &str, origin: Option<&str>, extra: &str, body: &str) -> HttpResponse {
    let mut stream = connect(node);
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    let request = format!(
        "{method} / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{origin}{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        node.rpc_port,
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send request");
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader);
    let mut body = String::new();
    let _ = reader.read_to_string(&mut body);
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// The CORS preflight a browser sends before a cross-origin JSON POST.
fn preflight(node: &Node, origin: &str) -> HttpResponse {
    http(
        node,
        "OPTIONS",
        Some(origin),
        "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n",
        "",
    )
}

fn post(node: &Node, origin: Option<&str>, request: &Value) -> HttpResponse {
    http(node, "POST", origin, "", &request.to_string())
}

fn error_code(answer: &Value) -> Option<i64> {
    answer["error"]["code"].as_i64()
}

fn start(args: &[&str], log: &str) -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(args, dir.path().join(log));
    (dir, node)
}

#[test]
fn a_local_chain_node_refuses_foreign_origins_and_over_long_batches() {
    let (_dir, node) = start(
        &["--chain", "local", "--alice", "--tmp", "--no-network"],
        "local.log",
    );

    // A page on evil.example: the preflight carries no permission, a plain POST (which a
    // browser sends without asking) and a WebSocket upgrade are refused outright.
    let answer = preflight(&node, EVIL);
    assert_eq!(answer.header("access-control-allow-origin"), None);
    assert_eq!(answer.status, 403, "preflight from {EVIL}");
    let bob_public =
        arceon_primitives::to_hex(arceon_primitives::keyring::Keyring::Bob.public().as_ref());
    let insert = call(1, "author_insertKey", json!(["aura", "//Bob", bob_public]));
    let answer = post(&node, Some(EVIL), &insert);
    assert_eq!(answer.status, 403, "POST from {EVIL}: {}", answer.body);
    assert!(!answer.body.contains("jsonrpc"), "{}", answer.body);
    assert_eq!(
        node.rpc("author_hasKey", json!([bob_public, "aura"])),
        json!(false),
        "the page's author_insertKey must not have run"
    );
    assert_eq!(WebSocket::open(&node, Some(EVIL)).err(), Some(403));
    // A look-alike of an allowed origin is foreign too.
    assert_eq!(
        WebSocket::open(&node, Some("http://localhost.evil.example")).err(),
        Some(403)
    );

    // A page served from the operator's own machine is allowed, as is polkadot.js.org.
    for origin in [
        LOCAL_PAGE,
        "https://127.0.0.1:8443",
        "https://polkadot.js.org",
    ] {
        let answer = preflight(&node, origin);
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some(origin),
            "preflight from {origin}"
        );
    }
    let answer = post(&node, Some(LOCAL_PAGE), &call(7, "system_chain", json!([])));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some(LOCAL_PAGE)
    );
    assert!(answer.json()["result"].is_string(), "{}", answer.body);
    let mut ws = WebSocket::open(&node, Some(LOCAL_PAGE)).expect("upgrade from localhost");
    assert!(ws.call("system_chain", json!([]))["result"].is_string());
    // Programs that send no Origin are not browsers and are served.
    let mut ws = WebSocket::open(&node, None).expect("upgrade without an Origin");
    assert!(ws.call("system_health", json!([]))["result"].is_object());

    // Batches: the default limit (1000 calls) is answered in full, one more call makes
    // the whole batch a single error, with no answer to any call in it.
    let batch = |len: u64| {
        Value::Array(
            (0..len)
                .map(|i| call(i, "system_chain", json!([])))
                .collect(),
        )
    };
    let answer = post(&node, None, &batch(1000)).json();
    let answers = answer.as_array().expect("an array of answers");
    assert_eq!(answers.len(), 1000);
    assert!(answers.iter().all(|a| a["result"].is_string()));
    let answer = post(&node, None, &batch(1001)).json();
    assert!(answer.is_object(), "an error, not answers: {answer}");
    assert_eq!(error_code(&answer), Some(TOO_BIG_BATCH), "{answer}");
    assert!(answer.get("result").is_none());
    // The same over WebSocket.
    ws.send_text(&batch(1001).to_string());
    let answer = ws.recv_json();
    assert_eq!(error_code(&answer), Some(TOO_BIG_BATCH), "{answer}");
    // A lower --rpc-max-batch-request-len is honoured.
    let (_dir2, small) = start(
        &[
            "--chain",
            "local",
            "--alice",
            "--tmp",
            "--no-network",
            "--rpc-max-batch-request-len",
            "3",
        ],
        "small-batch.log",
    );
    assert_eq!(
        post(&small, None, &batch(3))
            .json()
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(
        error_code(&post(&small, None, &batch(4)).json()),
        Some(TOO_BIG_BATCH)
    );
}

#[test]
fn a_connection_over_its_rate_limit_gets_errors_while_others_are_served() {
    let (_dir, node) = start(
        &[
            "--chain",
            "local",
            "--alice",
            "--tmp",
            "--no-network",
            "--rpc-rate-limit",
            "20",
        ],
        "rate.log",
    );

    // The greedy connection: its first 20 calls are answered...
    let mut greedy = WebSocket::open(&node, None).expect("websocket");
    for _ in 0..20 {
        let answer = greedy.call("system_health", json!([]));
        assert!(answer["result"].is_object(), "within the limit: {answer}");
    }
    // ...then it sends 40 more at once. The budget refills at one call every 3 s, so
    // most of these must be refused, each with the rate-limit error.
    // Answers come as calls finish (a refusal is ready at once), so they are matched by
    // id, not order.
    let mut pending: std::collections::BTreeSet<u64> = (0..40)
        .map(|_| greedy.send_call("system_health", json!([])))
        .collect();
    let mut refused = 0;
    while !pending.is_empty() {
        let answer = greedy.recv_json();
        let id = answer["id"].as_u64().expect("an answer with an id");
        assert!(
            pending.remove(&id),
            "an answer to a call not pending: {answer}"
        );
        match error_code(&answer) {
            Some(TOO_MANY_CALLS) => refused += 1,
            None => assert!(answer["result"].is_object(), "{answer}"),
            Some(other) => panic!("unexpected error {other}: {answer}"),
        }
    }
    assert!(
        refused >= 20,
        "only {refused} of 40 calls over the limit were refused"
    );
    // Calls inside a batch count one by one.
    greedy.send_text(
        &Value::Array(
            (100..110)
                .map(|i| call(i, "system_health", json!([])))
                .collect(),
        )
        .to_string(),
    );
    let answer = greedy.recv_json();
    let answers = answer.as_array().expect("batch answers");
    assert_eq!(answers.len(), 10);
    assert!(
        answers
            .iter()
            .any(|a| error_code(a) == Some(TOO_MANY_CALLS)),
        "{answer}"
    );

    // Meanwhile another connection is served in full.
    let mut other = WebSocket::open(&node, None).expect("second websocket");
    for _ in 0..20 {
        let answer = other.call("chain_getHeader", json!([]));
        assert!(answer["result"].is_object(), "{answer}");
    }
    // So is a plain HTTP request, which is a connection of its own.
    assert!(node.rpc("system_health", json!([])).is_object());

    // An HTTP batch is held to the same budget.
    let batch = Value::Array(
        (0..40)
            .map(|i| call(i, "system_health", json!([])))
            .collect(),
    );
    let answer = post(&node, None, &batch).json();
    let answers = answer.as_array().expect("batch answers");
    assert_eq!(answers.len(), 40);
    assert!(
        answers[..20].iter().all(|a| a["result"].is_object()),
        "{answer}"
    );
    assert!(
        answers
            .iter()
            .any(|a| error_code(a) == Some(TOO_MANY_CALLS)),
        "{answer}"
    );
}

#[test]
fn a_dev_node_serves_any_origin() {
    let (_dir, node) = start(&["--dev", "--no-network"], "dev.log");
    let answer = preflight(&node, EVIL);
    assert!(
        answer.header("access-control-allow-origin").is_some(),
        "status {}, headers {:?}",
        answer.status,
        answer.headers
    );
    let answer = post(&node, Some(EVIL), &call(1, "system_chain", json!([])));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut ws = WebSocket::open(&node, Some(EVIL)).expect("upgrade from any origin under --dev");
    assert!(ws.call("system_chain", json!([]))["result"].is_string());

    // `--rpc-cors` narrows it again.
    let (_dir2, narrowed) = start(
        &["--dev", "--no-network", "--rpc-cors", "https://app.example"],
        "dev-narrow.log",
    );
    assert_eq!(WebSocket::open(&narrowed, Some(EVIL)).err(), Some(403));
    assert!(WebSocket::open(&narrowed, Some("https://app.example")).is_ok());
    assert_eq!(
        WebSocket::open(&narrowed, Some(LOCAL_PAGE)).err(),
        Some(403)
    );
}
