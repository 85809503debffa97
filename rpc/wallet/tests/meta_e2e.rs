//! `arceon-wallet` against real `arceon-node` processes on 127.0.0.1, through the runtime
//! metadata the node serves: `tx PALLET CALL ARGS` built from JSON (a transfer and a game
//! call), `--json` documents of several commands, secrets from `--suri-file` and
//! `ARCEON_SURI`, bad JSON arguments refused before anything is signed, and the refusal
//! to sign as `//Alice` by default on a chain whose type is `Live`.

#[path = "../../../node/cli/tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};

use arceon_primitives::{keyring::Keyring, to_ss58, ARCM};
use common::Node;
use serde_json::Value;

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

    /// Stdout as exactly one JSON document.
    fn doc(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.show()))
    }

    /// Stderr as one JSON document (an error with --json).
    fn error_doc(&self) -> Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not one JSON document ({e}):\n{}", self.show()))
    }
}

/// Runs the wallet against `node` with `args`, no secret in the environment unless
/// `envs` sets one, and stdin not a terminal.
fn wallet(node: &Node, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let output = Command::new(common::binary("arceon-wallet"))
        .args(["--url", &node.url()])
        .args(args)
        .env_remove("ARCEON_SURI")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run arceon-wallet");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn nonce(node: &Node, who: Keyring) -> u64 {
    let value = node.rpc(
        "system_accountNextIndex",
        serde_json::json!([to_ss58(&who.account())]),
    );
    value.as_u64().expect("nonce")
}

fn events_named<'a>(doc: &'a Value, pallet: &str, event: &str) -> Vec<&'a Value> {
    doc["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["pallet"] == pallet && e["event"] == event)
        .collect()
}

#[test]
fn calls_from_json_through_the_metadata_with_json_output_and_secret_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&["--dev", "--tmp"], dir.path().join("node.log"));
    let alice = to_ss58(&Keyring::Alice.account());
    let bob = to_ss58(&Keyring::Bob.account());

    // A transfer built from JSON through the metadata, human output.
    let before = common::free_balance(&node, &Keyring::Bob.account(), None);
    let args = format!(r#"{{"dest":"{bob}","value":"1000000000000"}}"#);
    let run = wallet(
        &node,
        &[
            "--suri",
            "//Alice",
            "tx",
            "Balances",
            "transfer_keep_alive",
            &args,
            "--timeout",
            "60",
        ],
        &[],
    );
    assert!(run.success, "{}", run.show());
    let expected =
        format!("Balances.Transfer {{ from: {alice}, to: {bob}, amount: 1.000000000000 ArcM }}");
    assert!(run.stdout.contains(&expected), "{}", run.show());
    assert!(run
        .stdout
        .contains("System.ExtrinsicSuccess { dispatch_info: { weight: { ref_time: "));
    assert!(run.stdout.contains("finalized 0x"), "{}", run.show());
    let after = common::free_balance(&node, &Keyring::Bob.account(), None);
    assert_eq!(after, before + ARCM);

    // A game call, signed with the secret from ARCEON_SURI, as one JSON document.
    let charlie = to_ss58(&Keyring::Charlie.account());
    let run = wallet(
        &node,
        &[
            "--json",
            "tx",
            "Players",
            "register",
            r#"{"name":"charlie"}"#,
            "--timeout",
            "60",
        ],
        &[("ARCEON_SURI", "//Charlie")],
    );
    assert!(run.success, "{}", run.show());
    let doc = run.doc();
    assert_eq!(doc["success"], true, "{doc}");
    assert!(
        doc["block"].as_str().is_some_and(|h| h.len() == 66),
        "{doc}"
    );
    assert!(
        doc["finalized"].as_str().is_some_and(|h| h.len() == 66),
        "{doc}"
    );
    assert!(doc["hash"].as_str().is_some_and(|h| h.starts_with("0x")));
    let registered = events_named(&doc, "Players", "PlayerRegistered");
    assert_eq!(registered.len(), 1, "{doc}");
    assert_eq!(registered[0]["fields"]["who"], charlie.as_str(), "{doc}");
    assert_eq!(events_named(&doc, "System", "ExtrinsicSuccess").len(), 1);
    let shown = node.rpc("arceon_player", serde_json::json!([charlie]));
    assert_eq!(shown["name"], "charlie", "{shown}");

    // A secret from --suri-file signs, and is the default account of `balance`.
    let dave = to_ss58(&Keyring::Dave.account());
    let secret_file = dir.path().join("dave.suri");
    std::fs::write(&secret_file, "//Dave\n").expect("write secret");
    let secret_path = secret_file.to_str().expect("utf8");
    let run = wallet(
        &node,
        &[
            "--suri-file",
            secret_path,
            "--json",
            "tx",
            "players",
            "REGISTER",
            r#"{"name":"dave"}"#,
            "--timeout",
            "60",
        ],
        &[("ARCEON_SURI", "//Eve")],
    );
    assert!(run.success, "{}", run.show());
    let doc = run.doc();
    let registered = events_named(&doc, "Players", "PlayerRegistered");
    assert_eq!(registered.len(), 1, "{doc}");
    assert_eq!(registered[0]["fields"]["who"], dave.as_str(), "{doc}");
    let balance = wallet(
        &node,
        &["--suri-file", secret_path, "--json", "balance"],
        &[],
    )
    .doc();
    assert_eq!(balance["account"], dave.as_str(), "{balance}");
    assert_eq!(balance["nonce"], 1, "{balance}");

    // --json on queries: balance, nonce, info (one document each).
    let balance = wallet(&node, &["--json", "balance", &bob], &[]).doc();
    assert_eq!(balance["account"], bob.as_str());
    assert_eq!(
        balance["free"]
            .as_str()
            .and_then(|s| s.parse::<u128>().ok()),
        Some(common::free_balance(&node, &Keyring::Bob.account(), None)),
        "{balance}"
    );
    // No secret on a dev chain: //Alice.
    let nonce_doc = wallet(&node, &["--json", "nonce"], &[]).doc();
    assert_eq!(nonce_doc["account"], alice.as_str(), "{nonce_doc}");
    assert_eq!(nonce_doc["nonce"], nonce(&node, Keyring::Alice));
    let info = wallet(&node, &["--json", "info"], &[]).doc();
    assert_eq!(info["chainType"], "Development", "{info}");
    assert_eq!(info["specName"], "arceon", "{info}");
    assert!(info["best"]["number"].as_u64().is_some(), "{info}");

    // Bad arguments: clear errors, nothing signed or sent (Alice's nonce is unchanged).
    let alice_nonce = nonce(&node, Keyring::Alice);
    let unknown_field = format!(r#"{{"dest":"{bob}","amount":"1"}}"#);
    let negative = format!(r#"{{"dest":"{bob}","value":"-3"}}"#);
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        (
            "Balances",
            "transfer_keep_alive",
            r#"{"dest": "#,
            &["not JSON"],
        ),
        (
            "Balances",
            "transfer_keep_alive",
            &unknown_field,
            &["unknown field `amount`", "dest, value"],
        ),
        (
            "Balances",
            "transfer_keep_alive",
            &negative,
            &["args.value"],
        ),
        ("Nope", "transfer", "{}", &["no pallet `Nope`", "Balances"]),
    ];
    for (pallet, call, args, expected) in cases {
        let run = wallet(&node, &["--suri", "//Alice", "tx", pallet, call, args], &[]);
        assert!(!run.success, "{}", run.show());
        for text in expected {
            assert!(run.stderr.contains(text), "no {text:?}:\n{}", run.show());
        }
        assert!(!run.stdout.contains("extrinsic 0x"), "{}", run.show());
    }
    let run = wallet(
        &node,
        &[
            "--json",
            "tx",
            "Balances",
            "transfer_keep_alive",
            &format!(r#"{{"dest":"{bob}"}}"#),
        ],
        &[],
    );
    assert!(!run.success);
    assert!(run.stdout.is_empty(), "{}", run.show());
    let error = run.error_doc();
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing field `value`")),
        "{error}"
    );
    assert_eq!(
        nonce(&node, Keyring::Alice),
        alice_nonce,
        "something was sent"
    );
}

#[test]
fn no_default_signer_on_a_live_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev_spec =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../chain-spec/dev.json");
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(dev_spec).expect("dev spec")).expect("json");
    spec["chainType"] = Value::from("Live");
    spec["name"] = Value::from("Live Test");
    spec["id"] = Value::from("live_test");
    let spec_path = dir.path().join("live.json");
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");
    let node = Node::start(
        &["--chain", spec_path.to_str().expect("utf8"), "--tmp"],
        dir.path().join("node.log"),
    );
    let bob = to_ss58(&Keyring::Bob.account());
    let info = wallet(&node, &["--json", "info"], &[]).doc();
    assert_eq!(info["chainType"], "Live", "{info}");

    let args = format!(r#"{{"dest":"{bob}","value":"1"}}"#);
    for command in [
        vec!["transfer", bob.as_str(), "1"],
        vec!["tx", "Balances", "transfer_keep_alive", args.as_str()],
        vec!["player", "register", "nobody"],
    ] {
        let run = wallet(&node, &command, &[]);
        assert!(!run.success, "{}", run.show());
        for way in ["--suri-file", "ARCEON_SURI", "--suri", "Live"] {
            assert!(run.stderr.contains(way), "no {way:?}:\n{}", run.show());
        }
        assert!(!run.stdout.contains("extrinsic 0x"), "{}", run.show());
    }
    let run = wallet(&node, &["--json", "transfer", &bob, "1"], &[]);
    assert!(!run.success);
    let error = run.error_doc();
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("ARCEON_SURI")),
        "{error}"
    );
    // A query without an address needs one too, but an explicit one works.
    let run = wallet(&node, &["balance"], &[]);
    assert!(
        !run.success && run.stderr.contains("ADDRESS"),
        "{}",
        run.show()
    );
    let run = wallet(&node, &["--json", "balance", &bob], &[]);
    assert!(run.success, "{}", run.show());
    // With a secret given, the wallet signs (shown offline with --sign-only).
    let run = wallet(
        &node,
        &["--json", "transfer", &bob, "1", "--sign-only"],
        &[("ARCEON_SURI", "//Alice")],
    );
    assert!(run.success, "{}", run.show());
    assert!(run.doc()["hex"]
        .as_str()
        .is_some_and(|h| h.starts_with("0x")));
}
