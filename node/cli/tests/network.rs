//! Networks of real `arceon-node` processes on 127.0.0.1: Aura among staked validators,
//! GRANDPA finality, crashes, partitions, full and warp sync, equivocation, garbage
//! peers, validators joining and leaving. Every wait is bounded; tests run one at a time
//! (each starts several nodes and the machine has two cores).

mod common;
#[path = "common/net.rs"]
mod net;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use arceon_primitives::keyring::Keyring;
use common::{binary, free_port, Node};
use net::*;
use serde_json::{json, Value};

#[test]
fn four_validators_finalize_survive_two_crashes_and_serve_warp_sync() {
    let _serial = serial();
    let mut net = Net::new("local", 5, |i| match i {
        0..=3 => vec![format!("--{}", NAMES[i])],
        // A full node that joins late through warp sync.
        _ => vec!["--sync".into(), "warp".into()],
    });
    for i in 0..4 {
        net.start(i, &[0, 1, 2, 3]);
    }
    net.wait(
        "4 connected validators finalizing",
        Duration::from_secs(120),
        |net| net.running().iter().all(|n| finalized(n) >= 5),
    );
    let agreed = assert_finalized_agree(&net);
    assert!(agreed >= 5);
    for node in net.running() {
        let health = node.rpc("system_health", json!([]));
        assert_eq!(health["peers"], json!(3), "{health}");
        let state = node.rpc("grandpa_roundState", json!([]));
        assert_eq!(state["best"]["totalWeight"], json!(4), "{state}");
        let metrics = node.metrics();
        assert_eq!(common::metric(&metrics, "arceon_network_peers"), Some(3));
        assert_eq!(
            common::metric(&metrics, "substrate_sub_libp2p_peers_count"),
            Some(3)
        );
        let round = common::metric(&metrics, "arceon_finality_voter{value=\"round\"}");
        assert!(round.is_some_and(|r| r > 0), "{metrics}");
    }

    // Kill 2 of 4: blocks go on in the survivors' slots, finality stalls.
    net.kill(2);
    net.kill(3);
    let stalled_at = finalized(net.node(0));
    let best_before = best(net.node(0));
    let ferdie_before = common::free_balance(net.node(0), &Keyring::Ferdie.account(), None);
    let (ok, out) = wallet(
        net.node(0),
        "//Alice",
        &[
            "transfer",
            &Keyring::Ferdie.account().to_string(),
            "7",
            "--until",
            "in-block",
            "--timeout",
            "60",
        ],
    );
    assert!(ok, "transfer with half the validators down: {out}");
    net.wait(
        "blocks from the 2 survivors",
        Duration::from_secs(60),
        |net| best(net.node(0)) >= best_before + 4 && best(net.node(1)) >= best_before + 4,
    );
    // A round that was already under way may still conclude; nothing beyond it.
    let during = finalized(net.node(0));
    assert!(
        during <= stalled_at + 2,
        "finality went on with half the validators: {stalled_at} -> {during}"
    );
    let ferdie_now = common::free_balance(net.node(0), &Keyring::Ferdie.account(), None);
    assert_eq!(ferdie_now, ferdie_before + 7 * arceon_primitives::ARCM);

    // Restart them: they catch up and finality resumes past the stall.
    let best_at_restart = best(net.node(0));
    net.start(2, &[0, 1, 3]);
    net.start(3, &[0, 1, 2]);
    let resumed = net.wait("finality to resume", Duration::from_secs(60), |net| {
        net.running().iter().all(|n| finalized(n) > best_at_restart)
    });
    eprintln!(
        "finality resumed {} ms after the restart",
        resumed.as_millis()
    );
    let agreed = assert_finalized_agree(&net);
    // The transfer made while half the network was down is final everywhere.
    let at = hash_at(net.node(0), agreed);
    for node in net.running() {
        let balance = common::free_balance(node, &Keyring::Ferdie.account(), at.as_str());
        assert_eq!(balance, ferdie_before + 7 * arceon_primitives::ARCM);
    }

    // Warp sync: a new node proves the finalized head through justifications, downloads
    // its state, then follows and answers state queries at the current block.
    net.wait(
        "a finalized block past the first justification period",
        Duration::from_secs(90),
        |net| finalized(net.node(0)) >= 34,
    );
    let warp_started = Instant::now();
    net.start(4, &[0, 1, 2, 3]);
    net.wait(
        "the warp-synced node to follow the chain",
        Duration::from_secs(90),
        |net| {
            let head = finalized(net.node(0));
            best(net.node(4)) >= head && head > 0
        },
    );
    eprintln!(
        "warp sync reached the head {} ms after the node started",
        warp_started.elapsed().as_millis()
    );
    let log = net.node(4).log_text();
    assert!(
        log.contains("warp sync done"),
        "no warp sync in the log:\n{}",
        common::tail(&log)
    );
    let head = hash_at(net.node(4), best(net.node(4)));
    let key = arceon_pallet_system::Account::key(&Keyring::Ferdie.account());
    let key = json!(arceon_primitives::to_hex(&key));
    net.wait(
        "the head's state on both nodes",
        Duration::from_secs(20),
        |net| {
            net.node(0)
                .try_rpc("state_getStorage", json!([key, head]))
                .ok()
                == net
                    .node(4)
                    .try_rpc("state_getStorage", json!([key, head]))
                    .ok()
        },
    );
    assert_ne!(
        net.node(4).rpc("state_getStorage", json!([key, head])),
        Value::Null
    );
}

#[test]
fn a_partition_never_finalizes_two_chains_and_heals() {
    let _serial = serial();
    let mut net = Net::new("local", 4, |i| vec![format!("--{}", NAMES[i])]);
    for i in 0..4 {
        net.start(i, &[0, 1, 2, 3]);
    }
    net.wait(
        "finality on the whole network",
        Duration::from_secs(120),
        |net| net.running().iter().all(|n| finalized(n) >= 3),
    );
    // Cut 0,1 | 2,3.
    let peers: Vec<String> = (0..4).map(peer_id).collect();
    for (side, other) in [([0usize, 1], [2usize, 3]), ([2, 3], [0, 1])] {
        for i in side {
            for j in other {
                net.node(i)
                    .rpc("system_removeReservedPeer", json!([peers[j]]));
            }
        }
    }
    net.wait("the partition", Duration::from_secs(20), |net| {
        net.running()
            .iter()
            .all(|n| n.rpc("system_health", json!([]))["peers"] == json!(1))
    });
    let cut_at: Vec<u32> = net.running().iter().map(|n| finalized(n)).collect();
    let bests: Vec<u32> = net.running().iter().map(|n| best(n)).collect();
    net.wait(
        "both sides to author blocks",
        Duration::from_secs(60),
        |net| {
            net.running()
                .iter()
                .zip(&bests)
                .all(|(n, b)| best(n) >= b + 3)
        },
    );
    // Both sides built their own blocks.
    let top = best(net.node(0)).min(best(net.node(2)));
    assert_ne!(
        hash_at(net.node(0), top),
        hash_at(net.node(2), top),
        "the sides did not fork"
    );
    // Neither side has the 3 of 4 votes finality needs, however long the cut lasts (35 s:
    // longer than the votes of the stalled round stay fresh in gossip caches).
    let high = *cut_at.iter().max().expect("nodes");
    let held = Instant::now();
    while held.elapsed() < Duration::from_secs(35) {
        for node in net.running() {
            assert!(
                finalized(node) <= high + 2,
                "a 2-node side finalized blocks"
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let low = assert_finalized_agree(&net);
    assert!(low >= 3);

    // Heal.
    for i in 0..4 {
        for j in 0..4 {
            if i != j {
                net.node(i)
                    .rpc("system_addReservedPeer", json!([net.addr(j)]));
            }
        }
    }
    net.wait(
        "finality to resume after healing",
        Duration::from_secs(90),
        |net| net.running().iter().all(|n| finalized(n) > top + 1),
    );
    assert_finalized_agree(&net);
    // One chain won: every node has the same block at the finalized height.
    let f = finalized(net.node(0));
    let hashes: Vec<Value> = net.running().iter().map(|n| hash_at(n, f)).collect();
    assert!(hashes.iter().all(|h| *h == hashes[0]));
}

#[test]
fn an_empty_node_full_syncs_1000_blocks_from_its_boot_node() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("source");
    let out = Command::new(binary("arceon-node"))
        .args([
            "benchmark",
            "make-chain",
            "--chain",
            "dev",
            "--blocks",
            "1100",
            "--base-path",
        ])
        .arg(&source)
        .output()
        .expect("make-chain");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p2p = free_port();
    let key = node_key(0);
    let a = Node::start(
        &[
            "--chain",
            "dev",
            "--alice",
            "--node-key",
            &key,
            "--base-path",
            &source.display().to_string(),
            "--listen-addr",
            &format!("/ip4/127.0.0.1/tcp/{p2p}"),
        ],
        dir.path().join("a.log"),
    );
    assert!(best(&a) >= 1100);
    let boot = format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{}", peer_id(0));
    let b = Node::start(
        &[
            "--chain",
            "dev",
            "--base-path",
            &dir.path().join("b").display().to_string(),
            "--bootnodes",
            &boot,
        ],
        dir.path().join("b.log"),
    );
    let started = Instant::now();
    b.wait_for("1100 synced blocks", Duration::from_secs(300), |b| {
        best(b) >= 1100
    });
    eprintln!("synced 1100 blocks in {} ms", started.elapsed().as_millis());
    assert_eq!(hash_at(&a, 1100), hash_at(&b, 1100));
    // Sole-authority blocks are final once imported; the synced node follows new blocks.
    assert!(finalized(&b) >= 1100);
    let head = best(&a);
    b.wait_for("new blocks", Duration::from_secs(30), |b| best(b) > head);
    let peers = b.rpc("system_peers", json!([]));
    assert_eq!(peers.as_array().map(Vec::len), Some(1), "{peers}");
    assert_eq!(peers[0]["peerId"], json!(peer_id(0)));
    let addresses = a.rpc("system_localListenAddresses", json!([]));
    assert!(addresses.to_string().contains(&peer_id(0)), "{addresses}");
    assert_eq!(a.rpc("system_localPeerId", json!([])), json!(peer_id(0)));
}

#[test]
fn validators_crashed_and_restarted_at_once_never_vote_twice() {
    // A validator killed (SIGKILL) mid-round and started again a second later must not
    // vote again differently in the round it died in: it resends the votes it persisted.
    // (A catch-up once deleted them, and such validators were slashed.)
    let _serial = serial();
    let mut net = Net::new("local", 4, |i| vec![format!("--{}", NAMES[i])]);
    net.start_all();
    net.wait("4 validators finalizing", Duration::from_secs(120), |net| {
        net.running().iter().all(|n| finalized(n) >= 3)
    });
    let mut resent = 0;
    for restart in 0..8usize {
        let victim = restart % 4;
        let others: Vec<usize> = (0..4).filter(|j| *j != victim).collect();
        let before = finalized(net.node(others[0]));
        // At different points of a round (slots and rounds take about a second).
        std::thread::sleep(Duration::from_millis(200 + 170 * (restart as u64 % 5)));
        net.kill(victim);
        std::thread::sleep(Duration::from_secs(1));
        net.start(victim, &others);
        net.wait(
            "finality past the restart",
            Duration::from_secs(60),
            |net| net.running().iter().all(|n| finalized(n) > before + 2),
        );
        if net
            .node(victim)
            .log_text()
            .contains("re-sending the vote cast before a restart")
        {
            resent += 1;
        }
    }
    eprintln!("8 restarts; {resent} restarted voters re-sent a vote of the round they died in");
    let log: String = net.running().iter().map(|n| n.log_text()).collect();
    assert!(
        !log.contains("equivocation by"),
        "a restarted validator voted twice:\n{}",
        log.lines()
            .filter(|line| line.contains("equivocation"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let validators = net.node(0).rpc("arceon_validators", json!([]));
    assert!(
        validators["validators"]
            .as_array()
            .is_some_and(|all| all.iter().all(|v| v["disabled"] != json!(true))),
        "{validators}"
    );
    assert_finalized_agree(&net);
}

#[test]
fn a_double_signing_validator_is_reported_and_slashed() {
    let _serial = serial();
    let spec_dir = tempfile::tempdir().expect("temp dir");
    let spec = short_era_spec(spec_dir.path()).display().to_string();
    let mut net = Net::new(&spec, 4, |i| {
        let mut args = vec![format!("--{}", NAMES[i])];
        if i == 3 {
            args.push("--unsafe-double-sign".into());
        }
        args
    });
    net.start_all();
    let dave = Keyring::Dave.account().to_string();
    let total = |net: &Net| -> u128 {
        net.node(0)
            .try_rpc("arceon_stakingLedger", json!([dave]))
            .ok()
            .and_then(|l| l["total"].as_str().and_then(|t| t.parse().ok()))
            .unwrap_or(0)
    };
    let before = total(&net);
    assert!(before > 0);
    net.wait(
        "Dave disabled for equivocation",
        Duration::from_secs(90),
        |net| {
            let v = net
                .node(0)
                .try_rpc("arceon_validators", json!([]))
                .unwrap_or(Value::Null);
            !v["activeSet"].to_string().contains(&dave)
                || v["validators"].as_array().is_some_and(|all| {
                    all.iter()
                        .any(|x| x["address"] == json!(dave) && x["disabled"] == json!(true))
                })
        },
    );
    let log: String = net.running().iter().map(|n| n.log_text()).collect();
    assert!(log.contains("equivocation"), "no node saw the equivocation");
    // The slash is applied after the deferral (one 10-block era).
    net.wait("Dave's bond slashed", Duration::from_secs(90), |net| {
        total(net) < before
    });
    eprintln!("Dave's bond: {before} -> {}", total(&net));
    // The honest three go on finalizing.
    let f = finalized(net.node(0));
    net.wait("finality without Dave", Duration::from_secs(60), |net| {
        finalized(net.node(0)) > f + 2
    });
}

#[test]
fn garbage_and_oversized_messages_get_a_peer_dropped() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let p2p = free_port();
    let node = Node::start(
        &[
            "--dev",
            "--tmp",
            "--listen-addr",
            &format!("/ip4/127.0.0.1/tcp/{p2p}"),
        ],
        dir.path().join("node.log"),
    );
    // Raw garbage instead of a libp2p handshake, then an oversized frame.
    for payload in [
        b"garbage garbage garbage\r\n".repeat(64),
        vec![0xffu8; 8 << 20],
    ] {
        let mut stream = TcpStream::connect(("127.0.0.1", p2p)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let _ = stream.write_all(&payload);
        let mut buf = [0u8; 1024];
        let started = Instant::now();
        let closed = loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break true,
                Ok(_) if started.elapsed() > Duration::from_secs(10) => break false,
                Ok(_) => {}
            }
        };
        assert!(closed, "the node kept a connection that sent garbage");
    }
    let head = best(&node);
    node.wait_for("blocks after the garbage", Duration::from_secs(20), |n| {
        best(n) > head
    });
}

#[test]
fn a_validator_joins_and_another_leaves_on_a_running_network() {
    let _serial = serial();
    let spec_dir = tempfile::tempdir().expect("temp dir");
    let spec = short_era_spec(spec_dir.path());
    let spec = spec.display().to_string();
    let mut net = Net::new(&spec, 5, |i| vec![format!("--{}", NAMES[i])]);
    net.start_all();
    net.wait("finality", Duration::from_secs(120), |net| {
        finalized(net.node(0)) >= 3
    });
    let eve = Keyring::Eve.account().to_string();
    let dave = Keyring::Dave.account().to_string();
    let (ok, out) = wallet(
        net.node(4),
        "//Eve",
        &[
            "stake",
            "bond",
            "1000",
            "--until",
            "in-block",
            "--timeout",
            "60",
        ],
    );
    assert!(ok, "bond: {out}");
    let (ok, out) = wallet(
        net.node(4),
        "//Eve",
        &[
            "stake",
            "validate",
            "--commission",
            "1",
            "--until",
            "in-block",
            "--timeout",
            "60",
        ],
    );
    assert!(ok, "validate: {out}");
    // Eve's node creates her session keys; her stash registers them.
    let (ok, out) = wallet(
        net.node(4),
        "//Eve",
        &[
            "stake",
            "set-keys",
            "--until",
            "in-block",
            "--timeout",
            "60",
        ],
    );
    assert!(ok, "set-keys: {out}");
    let authorities = |net: &Net| -> String {
        net.node(0)
            .try_rpc("arceon_validators", json!([]))
            .map(|v| v["activeSet"].to_string())
            .unwrap_or_default()
    };
    net.wait("Eve in the active set", Duration::from_secs(90), |net| {
        authorities(net).contains(&eve)
    });
    net.wait("a block authored by Eve", Duration::from_secs(60), |net| {
        net.node(4).log_text().contains("authored #")
    });
    let (ok, out) = wallet(
        net.node(3),
        "//Dave",
        &["stake", "chill", "--until", "in-block", "--timeout", "60"],
    );
    assert!(ok, "chill: {out}");
    net.wait(
        "Dave out of the active set",
        Duration::from_secs(90),
        |net| !authorities(net).contains(&dave),
    );
    // Finality carries on across the authority-set changes.
    let f = finalized(net.node(0));
    net.wait(
        "finality with the new set",
        Duration::from_secs(60),
        |net| net.running().iter().all(|n| finalized(n) > f + 2),
    );
    assert_finalized_agree(&net);
}

#[test]
fn a_node_dials_the_boot_nodes_of_its_chain_spec() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_path = dir.path().join("spec.json");
    let mut net = Net::new(spec_path.to_str().expect("utf8"), 2, |_| Vec::new());
    let out = Command::new(binary("arceon-node"))
        .args(["build-spec", "--chain", "local", "--raw"])
        .output()
        .expect("build-spec");
    assert!(out.status.success());
    let mut spec: Value = serde_json::from_slice(&out.stdout).expect("spec json");
    spec["bootNodes"] = json!([net.addr(0)]);
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");

    // Neither node gets --bootnodes: the second finds the first through the spec.
    net.start(0, &[]);
    net.start(1, &[]);
    net.wait(
        "the spec's boot node as a peer",
        Duration::from_secs(30),
        |net| {
            let peers = net.node(1).rpc("system_peers", json!([]));
            peers
                .as_array()
                .is_some_and(|p| p.iter().any(|peer| peer["peerId"] == json!(peer_id(0))))
        },
    );
    assert_eq!(
        net.node(0).rpc("system_health", json!([]))["peers"],
        json!(1)
    );
}

/// A warp-syncing node SIGKILLed at random moments (before, during or after its warp
/// sync) always restarts consistent and finalizes with the validators: the warp base and
/// the authority set in force from it are stored in one write. `WARP_CRASH_KILLS`
/// (default 4; `scripts/warp-crash.sh` runs 50) and `WARP_CRASH_SEED` (printed) replay a
/// run exactly.
#[test]
fn a_warp_syncing_node_killed_at_random_moments_recovers() {
    use rand::{Rng, SeedableRng};
    let _serial = serial();
    let kills: usize = std::env::var("WARP_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let seed: u64 = std::env::var("WARP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("warp crash test: {kills} kills, WARP_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut net = Net::new("local", 5, |i| match i {
        0..=3 => vec![format!("--{}", NAMES[i])],
        _ => vec!["--sync".into(), "warp".into()],
    });
    for i in 0..4 {
        net.start(i, &[0, 1, 2, 3]);
    }
    net.wait(
        "a finalized block past the first justification period",
        Duration::from_secs(90),
        |net| finalized(net.node(0)) >= 34,
    );
    // Where each kill landed: before the warp proof was verified, while the proven
    // state was downloading, or after the warp sync finished.
    let mut landed = [0usize; 3];
    for kill in 0..kills {
        // A fresh node each time, so every kill can land in a warp sync. Half the kills
        // wait for the state download to start, to hit the middle of the warp.
        let base = net.members[4].base.clone();
        let _ = std::fs::remove_dir_all(&base);
        net.spawn(4, &[0, 1, 2, 3]);
        let aim_mid_warp = rng.gen_bool(0.5);
        let delay = if aim_mid_warp {
            let started = Instant::now();
            while !net.node(4).log_text().contains("downloading its state")
                && started.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            // The dev world's state downloads in a few milliseconds.
            rng.gen_range(0..6u64)
        } else {
            rng.gen_range(0..3_000u64)
        };
        std::thread::sleep(Duration::from_millis(delay));
        let log = net.node(4).log_text();
        let phase = if log.contains("warp sync done") {
            2
        } else if log.contains("downloading its state") {
            1
        } else {
            0
        };
        landed[phase] += 1;
        net.kill(4);
        net.start(4, &[0, 1, 2, 3]);
        net.wait(
            &format!("kill {kill} (after {delay} ms, seed {seed}): the restarted node to finalize with the validators"),
            Duration::from_secs(90),
            |net| {
                let target = finalized(net.node(0));
                target > 34 && finalized(net.node(4)) + 2 >= target
            },
        );
        println!(
            "kill {kill}: {} + {delay} ms, {}; recovered",
            if aim_mid_warp {
                "state download"
            } else {
                "start"
            },
            [
                "before the warp proof",
                "during the state download",
                "after the warp sync"
            ][phase]
        );
        net.kill(4);
    }
    println!(
        "RESULT warp_crash kills={kills} seed={seed} before_proof={} mid_download={} after_warp={} recovered={kills}",
        landed[0], landed[1], landed[2]
    );
    net.start(4, &[0, 1, 2, 3]);
    net.wait(
        "the node to finalize once more",
        Duration::from_secs(60),
        |net| {
            let target = finalized(net.node(0));
            finalized(net.node(4)) + 2 >= target
        },
    );
    assert_finalized_head_agrees(&net);
}

#[test]
fn validators_behind_a_sentry_with_reserved_only_keep_finalizing() {
    let _serial = serial();
    // 0, 1: validators in the open; 2, 3: validators that talk only to the sentry, 4.
    let sentry = 4;
    let mut net = Net::new("local", 5, |i| match i {
        0..=3 => vec![format!("--{}", NAMES[i])],
        _ => Vec::new(),
    });
    let sentry_addr = net.addr(sentry);
    for i in [2, 3] {
        net.members[i].args.extend([
            "--reserved-only".to_string(),
            "--reserved-nodes".to_string(),
            sentry_addr.clone(),
        ]);
    }
    net.start(sentry, &[0, 1]);
    net.start(0, &[1, sentry]);
    net.start(1, &[0, sentry]);
    // The hidden validators know every node as a boot node, yet dial only the sentry.
    net.start(2, &[0, 1, 3, sentry]);
    net.start(3, &[0, 1, 2, sentry]);
    net.wait(
        "finality on every node, through the sentry",
        Duration::from_secs(120),
        |net| net.running().iter().all(|n| finalized(n) >= 5),
    );
    let sentry_id = peer_id(sentry);
    for i in [2, 3] {
        let peers = net.node(i).rpc("system_peers", json!([]));
        let ids: Vec<&str> = peers
            .as_array()
            .expect("peers")
            .iter()
            .filter_map(|p| p["peerId"].as_str())
            .collect();
        assert_eq!(
            ids,
            vec![sentry_id.as_str()],
            "peers of hidden validator {i}"
        );
    }
    assert_finalized_agree(&net);
}

#[test]
fn revert_undoes_unfinalized_blocks_and_the_node_imports_them_again() {
    let _serial = serial();
    let mut net = Net::new("local", 4, |i| vec![format!("--{}", NAMES[i])]);
    net.start_all();
    net.wait("finality", Duration::from_secs(120), |net| {
        net.running().iter().all(|n| finalized(n) >= 2)
    });
    // Two of four validators gone: blocks go on, finality stalls.
    net.kill(2);
    net.kill(3);
    let stalled = finalized(net.node(0)).max(finalized(net.node(1)));
    net.wait("unfinalized blocks", Duration::from_secs(90), |net| {
        best(net.node(0)) >= stalled + 6 && best(net.node(1)) >= stalled + 6
    });
    net.kill(0);
    let base = net.members[0].base.display().to_string();
    let offline = |args: &[&str]| {
        Command::new(binary("arceon-node"))
            .args(args)
            .args(["--chain", "local", "--base-path", &base])
            .output()
            .expect("run arceon-node")
    };
    let info: Value =
        serde_json::from_slice(&offline(&["chain-info"]).stdout).expect("chain-info JSON");
    let before = info["best"]["number"].as_u64().expect("best") as u32;
    let finalized_at = info["finalized"]["number"].as_u64().expect("finalized") as u32;
    assert!(before >= finalized_at + 4, "{info}");

    // Crossing finality is refused and changes nothing.
    let refused = offline(&["revert", &(before - finalized_at + 1).to_string()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("never reverted"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let reverted = offline(&["revert", "3"]);
    assert!(
        reverted.status.success(),
        "{}",
        String::from_utf8_lossy(&reverted.stderr)
    );
    let info: Value =
        serde_json::from_slice(&offline(&["chain-info"]).stdout).expect("chain-info JSON");
    assert_eq!(info["best"]["number"], json!(before - 3), "{info}");
    assert_eq!(info["finalized"]["number"], json!(finalized_at));

    // Back on the network, it imports the reverted heights again from its peer.
    net.start(0, &[1]);
    net.wait(
        "the reverted node to follow its peer again",
        Duration::from_secs(90),
        |net| {
            let (a, b) = (net.node(0), net.node(1));
            best(a) >= before && best(b) >= before && hash_at(a, before) == hash_at(b, before)
        },
    );
}
