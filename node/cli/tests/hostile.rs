//! Hostile peers against a network of 4 real validator processes on 127.0.0.1. A peer the
//! test controls speaks our libp2p protocols (it is our own network crate, driven by the
//! attacker's code) and runs one attack after another, each under a fresh identity:
//!
//! - finality: commits padded with one real precommit repeated 40,000 times, empty
//!   commits, votes of future rounds for blocks nobody has;
//! - sync: claims a best block of `u32::MAX - 1` and answers every request with an
//!   invented chain whose ancestors never end (with bulky bodies);
//! - junk gossip: blocks with unknown parents, blocks from future slots, badly signed
//!   transactions, as fast as it can;
//! - warp: a fifth node warp-syncs while the attacker claims the highest finalized block,
//!   relays an honest warp proof and then serves junk state;
//! - fast lanes: certified batches with forged committee signatures gossiped, undecodable
//!   lane requests and member messages from a peer that holds no committee key;
//! - lane streams: undecodable frames and a length prefix beyond the frame limit.
//!
//! During every attack blocks keep coming at the slot rate, finality advances, the
//! attacker is dropped, and each victim's peak RSS stays within 100 MiB of its peak
//! without an attack. `ATTACK_SECS` (default 12) sets each attack's length;
//! `scripts/attack.sh` runs long ones and prints the figures.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/net.rs"]
mod net;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arceon_finality::wire::GossipMessage;
use arceon_network::{
    identity::Keypair, Address, BlockData, Direction, FromBlock, NetworkConfig, NetworkEvent,
    NetworkHandle, Request, Response, StateChunk, Status, Topic,
};
use arceon_primitives::{Block, Digest, DigestItem, Header, H256};
use codec::Encode;
use common::Node;
use net::*;
use parking_lot::Mutex;
use rand::{Rng, RngCore};
use serde_json::json;
use sp_core::Pair as _;

/// Each victim's peak RSS may grow this much over its peak without an attack.
const RSS_MARGIN_KIB: u64 = 100 * 1024;

fn attack_secs() -> u64 {
    std::env::var("ATTACK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

/// `HOSTILE_REPORT_ONLY=1` prints every figure and expectation instead of failing on
/// the first broken one: for measuring another build (`ARCEON_NODE_BIN`, e.g. the node
/// before the fixes) under the same attacks.
fn report_only() -> bool {
    std::env::var("HOSTILE_REPORT_ONLY").is_ok_and(|v| v == "1")
}

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib(node: &Node) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", node.child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn hash_of(value: &serde_json::Value) -> H256 {
    let text = value.as_str().expect("hash string");
    let bytes = hex::decode(text.trim_start_matches("0x")).expect("hex hash");
    H256::from_slice(&bytes)
}

fn random_hash() -> H256 {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    H256(bytes)
}

fn now_slot() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        / 1000
}

fn header(parent: H256, number: u32, slot: u64) -> Header {
    Header {
        parent_hash: parent,
        number,
        state_root: random_hash(),
        extrinsics_root: random_hash(),
        digest: Digest {
            logs: vec![DigestItem::PreRuntime(*b"aura", slot.encode())],
        },
    }
}

/// How the attacker answers requests.
#[derive(Clone)]
enum Behaviour {
    /// Refuses everything but status (an honest-looking empty peer).
    Quiet,
    /// Claims a huge best block and answers block requests with an invented chain whose
    /// ancestors never end.
    LyingSync,
    /// Claims the highest finalized block, relays an honest warp proof and block, and
    /// serves junk state.
    JunkWarp {
        honest: arceon_network::NetworkPeerId,
    },
}

struct Attacker {
    net: NetworkHandle,
    task: tokio::task::JoinHandle<()>,
}

impl Attacker {
    fn peer_id(&self) -> String {
        self.net.local_peer_id().to_base58()
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Headers the attacker invented, by hash, so it can serve "ancestors" of its own chain.
type Invented = Arc<Mutex<HashMap<H256, Header>>>;

fn start_attacker(
    rt: &tokio::runtime::Runtime,
    genesis: H256,
    boot: Vec<Address>,
    behaviour: Behaviour,
) -> Attacker {
    let _guard = rt.enter();
    let (net, mut events) = arceon_network::start(NetworkConfig {
        genesis_hash: genesis,
        agent: "attacker".into(),
        keypair: Keypair::generate_ed25519(),
        listen_addresses: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
        boot_nodes: boot,
        in_peers: 16,
        out_peers: 16,
        reserved_nodes: Vec::new(),
        reserved_only: false,
        public_addresses: Vec::new(),
    })
    .expect("attacker network");
    let handle = net.clone();
    let invented: Invented = Arc::default();
    let task = rt.spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                NetworkEvent::Gossip { source, id, .. } => {
                    handle.validation_result(id, source, arceon_network::Verdict::Ignore)
                }
                NetworkEvent::Request {
                    request, respond, ..
                } => {
                    let response = answer(&handle, genesis, &behaviour, &invented, request).await;
                    let _ = respond.send(response);
                }
                _ => {}
            }
        }
    });
    Attacker { net, task }
}

/// An invented block `number` whose parent is another invented header the attacker
/// remembers (so it can serve it when asked), with a bulky body.
fn invented_block(invented: &Invented, number: u32) -> BlockData {
    let parent = header(random_hash(), number.saturating_sub(1), now_slot());
    let parent_hash = parent.hash();
    invented.lock().insert(parent_hash, parent);
    BlockData {
        header: header(parent_hash, number, now_slot()),
        body: Some(vec![vec![0u8; 100 * 1024]]),
        justification: None,
    }
}

async fn answer(
    net: &NetworkHandle,
    genesis: H256,
    behaviour: &Behaviour,
    invented: &Invented,
    request: Request,
) -> Response {
    let claim = |best_number: u32, finalized_number: u32| {
        Response::Status(Status {
            genesis,
            best_number,
            best_hash: random_hash(),
            finalized_number,
            finalized_hash: random_hash(),
        })
    };
    match (behaviour, request) {
        (Behaviour::Quiet, Request::Status) => claim(0, 0),
        (Behaviour::LyingSync, Request::Status) => claim(u32::MAX - 1, 0),
        (Behaviour::JunkWarp { .. }, Request::Status) => claim(u32::MAX - 1, u32::MAX / 2),
        (Behaviour::LyingSync, Request::Blocks(blocks)) => match (blocks.from, blocks.direction) {
            (FromBlock::Number(n), _) => Response::Blocks(vec![invented_block(invented, n)]),
            (FromBlock::Hash(hash), Direction::Descending) => {
                // The asked-for header, then 127 more whose links go nowhere in particular,
                // the last one pointing at yet another invented header.
                let Some(first) = invented.lock().get(&hash).cloned() else {
                    return Response::Refused("unknown".into());
                };
                let mut out = vec![BlockData {
                    header: first.clone(),
                    body: Some(vec![vec![0u8; 100 * 1024]]),
                    justification: None,
                }];
                for i in 1..128u32 {
                    out.push(invented_block(invented, first.number.saturating_sub(i)));
                }
                Response::Blocks(out)
            }
            _ => Response::Refused("no".into()),
        },
        (Behaviour::JunkWarp { honest }, Request::WarpProof { from_set_id }) => {
            match net
                .request(*honest, Request::WarpProof { from_set_id })
                .await
            {
                Ok(response) => response,
                Err(e) => Response::Refused(e.to_string()),
            }
        }
        (Behaviour::JunkWarp { honest }, Request::Blocks(blocks)) => {
            match net.request(*honest, Request::Blocks(blocks)).await {
                Ok(response) => response,
                Err(e) => Response::Refused(e.to_string()),
            }
        }
        (Behaviour::JunkWarp { .. }, Request::State(_)) => {
            let mut rng = rand::thread_rng();
            let entries = (0..3_000)
                .map(|_| {
                    let mut key = vec![0u8; 32];
                    rng.fill_bytes(&mut key);
                    (key, vec![rng.gen::<u8>(); 4096])
                })
                .collect();
            Response::State(StateChunk {
                entries,
                complete: false,
                proof: Vec::new(),
            })
        }
        _ => Response::Refused("no".into()),
    }
}

/// What one attack phase did to the network.
struct Phase {
    blocks: u32,
    finalized: u32,
    peak_rss_kib: Vec<u64>,
}

fn observe(net: &Net, victims: &[usize], secs: u64, mut attack: impl FnMut()) -> Phase {
    let first = net.node(victims[0]);
    let (best_before, finalized_before) = (best(first), finalized(first));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        attack();
    }
    let first = net.node(victims[0]);
    Phase {
        blocks: best(first).saturating_sub(best_before),
        finalized: finalized(first).saturating_sub(finalized_before),
        peak_rss_kib: victims.iter().map(|i| peak_rss_kib(net.node(*i))).collect(),
    }
}

fn report(name: &str, phase: &Phase, secs: u64) {
    println!(
        "RESULT attack={name} secs={secs} blocks={} finalized_advance={} peak_rss_mib={:?}",
        phase.blocks,
        phase.finalized,
        phase
            .peak_rss_kib
            .iter()
            .map(|kib| kib / 1024)
            .collect::<Vec<_>>()
    );
}

/// The network went on during the attack, and no victim's memory ran away.
fn assert_survived(name: &str, phase: &Phase, baseline: &[u64], secs: u64) {
    report(name, phase, secs);
    if report_only() {
        return;
    }
    let slots = secs as u32;
    assert!(
        phase.blocks * 4 >= slots * 3 - 4,
        "{name}: only {} blocks in {secs} s of slots",
        phase.blocks
    );
    assert!(
        phase.finalized * 2 >= slots.saturating_sub(4),
        "{name}: finality advanced only {} blocks in {secs} s",
        phase.finalized
    );
    for (i, (peak, base)) in phase.peak_rss_kib.iter().zip(baseline).enumerate() {
        assert!(
            *peak <= base + RSS_MARGIN_KIB,
            "{name}: victim {i} peaked at {} MiB, {} MiB without an attack",
            peak / 1024,
            base / 1024
        );
    }
}

/// Some victim's log says it dropped the attacker.
fn assert_dropped(net: &Net, victims: &[usize], attacker: &str, name: &str) {
    if report_only() {
        std::thread::sleep(Duration::from_secs(5));
        let dropped = victims.iter().any(|i| {
            net.node(*i)
                .log_text()
                .contains(&format!("dropping peer {attacker}"))
        });
        println!("RESULT attack={name} attacker_dropped={dropped}");
        return;
    }
    net.wait(
        &format!("{name}: a victim to drop attacker {attacker}"),
        Duration::from_secs(30),
        |net| {
            victims.iter().any(|i| {
                net.node(*i)
                    .log_text()
                    .contains(&format!("dropping peer {attacker}"))
            })
        },
    );
}

fn boot_addresses(net: &Net, members: &[usize]) -> Vec<Address> {
    members
        .iter()
        .map(|i| net.addr(*i).parse().expect("multiaddr"))
        .collect()
}

/// Gossip payloads as the node's finality service sends them: the message and an 8-byte
/// send time that makes every copy a new gossip message.
fn finality_payload(message: &GossipMessage) -> Vec<u8> {
    let mut bytes = message.encode();
    bytes.extend_from_slice(&rand::thread_rng().gen::<u64>().to_le_bytes());
    bytes
}

/// Alice's GRANDPA key as the victims know it: her ed25519 session key or, with
/// `HOSTILE_LEGACY_SR25519=1`, her sr25519 key (GRANDPA's key before session keys), so a
/// build from before the fixes (`ARCEON_NODE_BIN`) sees every signature as valid.
struct VoteKey {
    ed25519: sp_core::ed25519::Pair,
    legacy: Option<sp_core::sr25519::Pair>,
}

impl VoteKey {
    fn alice() -> VoteKey {
        let legacy = std::env::var("HOSTILE_LEGACY_SR25519").is_ok_and(|v| v == "1");
        VoteKey {
            ed25519: arceon_primitives::keyring::ed25519_pair_from_suri("//Alice")
                .expect("dev seed"),
            legacy: legacy.then(|| arceon_primitives::keyring::Keyring::Alice.pair()),
        }
    }

    fn public(&self) -> sp_core::ed25519::Public {
        match &self.legacy {
            Some(sr) => sp_core::ed25519::Public::from_raw(sr.public().0),
            None => self.ed25519.public(),
        }
    }

    fn sign(&self, payload: &[u8]) -> sp_core::ed25519::Signature {
        match &self.legacy {
            Some(sr) => sp_core::ed25519::Signature::from_raw(sr.sign(payload).0),
            None => self.ed25519.sign(payload),
        }
    }
}

fn finality_attack(attacker: &Attacker, round: u64, set_id: u64, target_number: u32) {
    let alice = VoteKey::alice();
    let target_hash = random_hash();
    let precommit = finality_grandpa::Precommit {
        target_hash,
        target_number,
    };
    let payload = arceon_finality::vote_payload(
        &finality_grandpa::Message::Precommit(precommit.clone()),
        round,
        set_id,
    );
    let signature = alice.sign(&payload);
    // One real precommit, repeated: every copy verifies, and the target is unknown.
    let copies = 40_000;
    let padded = GossipMessage::Commit {
        round,
        set_id,
        commit: finality_grandpa::CompactCommit {
            target_hash,
            target_number,
            precommits: vec![precommit; copies],
            auth_data: vec![(signature, alice.public()); copies],
        },
    };
    attacker
        .net
        .publish(Topic::Finality, finality_payload(&padded));
    for _ in 0..20 {
        let empty = GossipMessage::Commit {
            round,
            set_id,
            commit: finality_grandpa::CompactCommit {
                target_hash: random_hash(),
                target_number,
                precommits: Vec::new(),
                auth_data: Vec::new(),
            },
        };
        attacker
            .net
            .publish(Topic::Finality, finality_payload(&empty));
    }
    // Votes of future rounds for blocks nobody has, by a real authority.
    for ahead in 1..=50u64 {
        let message = finality_grandpa::Message::Prevote(finality_grandpa::Prevote {
            target_hash: random_hash(),
            target_number,
        });
        let signature = alice.sign(&arceon_finality::vote_payload(
            &message,
            round + ahead * 7,
            set_id,
        ));
        let vote = GossipMessage::Vote {
            round: round + ahead * 7,
            set_id,
            message: finality_grandpa::SignedMessage {
                message,
                signature,
                id: alice.public(),
            },
        };
        attacker
            .net
            .publish(Topic::Finality, finality_payload(&vote));
    }
    std::thread::sleep(Duration::from_millis(250));
}

fn junk_gossip_attack(attacker: &Attacker, best: u32) {
    let mut rng = rand::thread_rng();
    for _ in 0..20 {
        // A block whose parent nobody has, and one from a slot an hour ahead.
        let orphan = Block {
            header: header(random_hash(), best + 1, now_slot()),
            extrinsics: vec![vec![0u8; 1024]],
        };
        attacker.net.publish(Topic::Blocks, orphan.encode());
        let future = Block {
            header: header(random_hash(), best + 1, now_slot() + 3_600),
            extrinsics: Vec::new(),
        };
        attacker.net.publish(Topic::Blocks, future.encode());
        // A signed-looking transfer with a garbage signature.
        let mut tx = vec![0x84u8, 0x00];
        tx.extend((0..140).map(|_| rng.gen::<u8>()));
        let mut encoded = codec::Compact(tx.len() as u32).encode();
        encoded.extend(tx);
        attacker
            .net
            .publish(Topic::Transactions, vec![encoded].encode());
    }
    std::thread::sleep(Duration::from_millis(100));
}

/// A lane batch of area 0 that looks certified, but no member signed its certificate.
fn forged_batch(genesis: H256, version: u64) -> arceon_pallet_fastlane::CertifiedBatch {
    use arceon_pallet_fastlane::{
        merkle_root, ActionKind, Batch, BatchHeader, Certificate, CertifiedBatch, LaneAction,
        Outcome, SignedLaneAction,
    };
    let mut rng = rand::thread_rng();
    {
        let player = sp_core::sr25519::Pair::generate().0;
        let action = SignedLaneAction::sign(
            LaneAction {
                genesis,
                area: 0,
                version,
                player: player.public().into(),
                nonce: 0,
                kind: ActionKind::Move { x: 1, y: 1 },
            },
            &player,
        );
        let mut batch = Batch {
            header: BatchHeader {
                genesis,
                area: 0,
                version,
                view: 0,
                height: rng.gen_range(1..1_000_000),
                parent: random_hash(),
                time_ms: rng.gen(),
                entries_root: H256::zero(),
                count: 1,
            },
            actions: vec![action],
            outcomes: vec![Outcome::Moved {
                area: 0,
                position: arceon_pallet_areas::Position::new(1, 1),
            }],
        };
        batch.header.entries_root = merkle_root(&batch.entries());
        let mut signature = [0u8; 64];
        rng.fill_bytes(&mut signature);
        CertifiedBatch {
            batch,
            certificate: Certificate {
                signatures: vec![(0, signature.into()), (1, signature.into())],
            },
        }
    }
}

/// Lane batches that look certified but whose certificate no member signed, and lane
/// requests no member would send.
fn lane_attack(attacker: &Attacker, genesis: H256, version: u64) {
    let mut rng = rand::thread_rng();
    for _ in 0..10 {
        let forged = forged_batch(genesis, version);
        attacker.net.publish(Topic::Lanes, forged.encode());
    }
    let mut junk = vec![0u8; 512];
    rng.fill_bytes(&mut junk);
    for peer in attacker.net.peers() {
        let net = attacker.net.clone();
        let junk = junk.clone();
        // An undecodable request, then a bundle of one "vote" (wire variant 2, one
        // message for area 0) from a stranger.
        let member = [vec![2u8, 4u8], 0u32.encode(), vec![1u8], junk.clone()].concat();
        tokio::spawn(async move {
            let _ = net.request(peer.peer_id, Request::Lane(junk)).await;
            let _ = net.request(peer.peer_id, Request::Lane(member)).await;
        });
    }
    std::thread::sleep(Duration::from_millis(200));
}

/// Lane streams (the members' one-way channel) carrying what no member sends: an
/// undecodable frame, and a length prefix far beyond the frame limit.
fn lane_stream_attack(attacker: &Attacker, genesis: H256) {
    use futures::AsyncWriteExt as _;
    let protocol = arceon_network::protocol::lane_protocol(&genesis);
    let mut junk = vec![0u8; 512];
    rand::thread_rng().fill_bytes(&mut junk);
    junk[0] = 0xff;
    let frame = [(junk.len() as u32).to_le_bytes().to_vec(), junk].concat();
    for peer in attacker.net.peers() {
        let mut control = attacker.net.streams();
        let protocol = protocol.clone();
        let frame = frame.clone();
        tokio::spawn(async move {
            if let Ok(mut stream) = control.open_stream(peer.peer_id, protocol.clone()).await {
                let _ = stream.write_all(&frame).await;
                let _ = stream.flush().await;
            }
            if let Ok(mut stream) = control.open_stream(peer.peer_id, protocol).await {
                let _ = stream.write_all(&u32::MAX.to_le_bytes()).await;
                let _ = stream.flush().await;
            }
        });
    }
    std::thread::sleep(Duration::from_millis(200));
}

/// Lane streams carrying well-formed requests for certified batches, thousands of them
/// (`Fetch`, wire variant 8: only one per peer per 100 ms is served, and the flood never
/// reaches the lane thread's queue), and forged certified batches nobody asked for
/// (`Fetched`, variant 9: refused unread, and each costs the sender reputation).
fn lane_fetch_attack(attacker: &Attacker, genesis: H256, version: u64) {
    use futures::AsyncWriteExt as _;
    let protocol = arceon_network::protocol::lane_protocol(&genesis);
    let frame = |wire: Vec<u8>| [(wire.len() as u32).to_le_bytes().to_vec(), wire].concat();
    let fetch = frame([vec![8u8], (0u32, 1u64, u64::MAX).encode()].concat());
    let fetches: Vec<u8> = (0..2_000).flat_map(|_| fetch.clone()).collect();
    let forged: Vec<_> = (0..4).map(|_| forged_batch(genesis, version)).collect();
    let fetched = frame([vec![9u8], forged.encode()].concat());
    for peer in attacker.net.peers() {
        let mut control = attacker.net.streams();
        let protocol = protocol.clone();
        let fetches = fetches.clone();
        let fetched = fetched.clone();
        tokio::spawn(async move {
            if let Ok(mut stream) = control.open_stream(peer.peer_id, protocol).await {
                let _ = stream.write_all(&fetches).await;
                for _ in 0..20 {
                    let _ = stream.write_all(&fetched).await;
                }
                let _ = stream.flush().await;
            }
        });
    }
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn four_validators_survive_hostile_peers() {
    let _serial = serial();
    let secs = attack_secs();
    let mut net = Net::new("local", 5, |i| match i {
        0..=3 => vec![format!("--{}", NAMES[i])],
        _ => vec!["--sync".into(), "warp".into()],
    });
    let validators = [0usize, 1, 2, 3];
    for i in validators {
        net.start(i, &validators);
    }
    net.wait("finality on 4 validators", Duration::from_secs(60), |net| {
        validators.iter().all(|i| finalized(net.node(*i)) >= 3)
    });
    let genesis = hash_of(&net.node(0).rpc("chain_getBlockHash", json!([0])));
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");

    // No attack: the peak each victim reaches anyway.
    let quiet = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::Quiet,
    );
    let baseline = observe(&net, &validators, secs, || {
        std::thread::sleep(Duration::from_millis(200))
    });
    drop(quiet);
    report("none", &baseline, secs);
    let baseline = baseline.peak_rss_kib;

    // 1. Finality gossip.
    let attacker = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::Quiet,
    );
    let id = attacker.peer_id();
    std::thread::sleep(Duration::from_secs(2));
    let phase = observe(&net, &validators, secs, || {
        let state = net.node(0).rpc("grandpa_roundState", json!([]));
        let round = state["best"]["round"].as_u64().unwrap_or(1);
        let set_id = state["setId"].as_u64().unwrap_or(0);
        finality_attack(&attacker, round, set_id, best(net.node(0)) + 1);
    });
    assert_survived("finality", &phase, &baseline, secs);
    assert_dropped(&net, &validators, &id, "finality");
    drop(attacker);

    // 2 and 3. A huge claimed height and an invented chain of ancestors.
    let attacker = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::LyingSync,
    );
    let id = attacker.peer_id();
    let phase = observe(&net, &validators, secs, || {
        std::thread::sleep(Duration::from_millis(200))
    });
    assert_survived("sync", &phase, &baseline, secs);
    assert_dropped(&net, &validators, &id, "sync");
    for i in validators {
        let health = net.node(i).rpc("system_health", json!([]));
        if report_only() {
            println!(
                "RESULT attack=sync victim={i} is_syncing={}",
                health["isSyncing"]
            );
            continue;
        }
        assert_eq!(
            health["isSyncing"],
            json!(false),
            "victim {i} thinks it is syncing"
        );
    }
    drop(attacker);

    // 8. Junk gossip.
    let attacker = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::Quiet,
    );
    let id = attacker.peer_id();
    std::thread::sleep(Duration::from_secs(2));
    let phase = observe(&net, &validators, secs, || {
        junk_gossip_attack(&attacker, best(net.node(0)))
    });
    assert_survived("junk-gossip", &phase, &baseline, secs);
    assert_dropped(&net, &validators, &id, "junk-gossip");
    drop(attacker);

    // 9. Fast lanes: forged certificates, junk lane requests, strangers' member messages.
    let attacker = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::Quiet,
    );
    let id = attacker.peer_id();
    let version = net.node(0).rpc("fastlane_laneState", json!([0]))["version"]
        .as_u64()
        .expect("area 0 has a committee");
    std::thread::sleep(Duration::from_secs(2));
    let phase = observe(&net, &validators, secs, || {
        let _guard = rt.enter();
        lane_attack(&attacker, genesis, version)
    });
    assert_survived("lanes", &phase, &baseline, secs);
    assert_dropped(&net, &validators, &id, "lanes");
    for i in validators {
        let state = net.node(i).rpc("fastlane_laneState", json!([0]));
        assert_eq!(
            state["certifiedNotInBlock"],
            json!(0),
            "victim {i} took a forged batch: {state}"
        );
    }
    drop(attacker);

    // 10. Lane streams: undecodable and oversized frames.
    let attacker = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::Quiet,
    );
    let id = attacker.peer_id();
    std::thread::sleep(Duration::from_secs(2));
    let phase = observe(&net, &validators, secs, || {
        let _guard = rt.enter();
        lane_stream_attack(&attacker, genesis)
    });
    assert_survived("lane-streams", &phase, &baseline, secs);
    assert_dropped(&net, &validators, &id, "lane-streams");
    drop(attacker);

    // 11. Lane fetches: a flood of requests for certified batches, and forged certified
    // batches nobody asked for.
    let attacker = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::Quiet,
    );
    let id = attacker.peer_id();
    std::thread::sleep(Duration::from_secs(2));
    let phase = observe(&net, &validators, secs, || {
        let _guard = rt.enter();
        lane_fetch_attack(&attacker, genesis, version)
    });
    assert_survived("lane-fetch", &phase, &baseline, secs);
    assert_dropped(&net, &validators, &id, "lane-fetch");
    for i in validators {
        let state = net.node(i).rpc("fastlane_laneState", json!([0]));
        assert_eq!(
            state["certifiedNotInBlock"],
            json!(0),
            "victim {i} took a forged fetched batch: {state}"
        );
    }
    drop(attacker);

    if report_only() {
        // The warp attack needs this build's state proofs; the others are measured.
        return;
    }

    // 4. Junk state for a warp-syncing node: the attacker claims the highest finalized
    // block, so the new node asks it first.
    net.wait(
        "a justified block to warp to",
        Duration::from_secs(90),
        |net| finalized(net.node(0)) >= 40,
    );
    let honest: arceon_network::NetworkPeerId = peer_id(0).parse().expect("peer id");
    let attacker = start_attacker(
        &rt,
        genesis,
        boot_addresses(&net, &validators),
        Behaviour::JunkWarp { honest },
    );
    let id = attacker.peer_id();
    let listen = {
        let started = Instant::now();
        loop {
            if let Some(addr) = attacker.net.listen_addresses().into_iter().next() {
                break addr;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "attacker listens"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    std::thread::sleep(Duration::from_secs(2));
    // The warp node knows only the attacker: it must refuse the junk state and drop it;
    // then it is given the honest validators and warp-syncs from them.
    let attacker_addr = format!("{listen}/p2p/{id}");
    net.members[4]
        .args
        .extend(["--bootnodes".into(), attacker_addr]);
    net.start(4, &[]);
    let warp_started = Instant::now();
    assert_dropped(&net, &[4], &id, "warp");
    let log = net.node(4).log_text();
    assert!(
        log.contains("state chunk refused"),
        "the warp node did not refuse the junk state:\n{}",
        common::tail(&log)
    );
    drop(attacker);
    for i in validators {
        net.node(4)
            .rpc("system_addReservedPeer", json!([net.addr(i)]));
    }
    net.wait(
        "the warp node to finalize with the validators",
        Duration::from_secs(120),
        |net| {
            let target = finalized(net.node(0));
            finalized(net.node(4)) + 2 >= target && target > 40
        },
    );
    let warp_rss = peak_rss_kib(net.node(4));
    println!(
        "RESULT attack=warp warp_synced_in_ms={} warp_node_peak_rss_mib={}",
        warp_started.elapsed().as_millis(),
        warp_rss / 1024
    );
    assert!(
        warp_rss <= baseline[0] + RSS_MARGIN_KIB,
        "warp node peaked at {} MiB",
        warp_rss / 1024
    );
    assert!(net.node(4).log_text().contains("warp sync done"));
    assert_finalized_head_agrees(&net);
}
