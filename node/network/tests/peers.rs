//! Networks on 127.0.0.1 in one process: peers find each other through the boot node,
//! gossip reaches peers only once the receiver accepted it, requests get answers, and a
//! peer sending an oversized request or invalid gossip is dropped and refused while the
//! honest ones stay connected; inbound connections stop at the configured limit; a
//! reserved-only node (a validator behind a sentry) keeps its reserved peer and no other.

use std::time::Duration;

use arceon_network::{
    identity::Keypair, NetworkConfig, NetworkEvent, NetworkHandle, Request, Response, Status,
    Topic, Verdict,
};
use arceon_primitives::H256;
use tokio::sync::mpsc;

fn config(genesis: H256, boot: Vec<arceon_network::Address>) -> NetworkConfig {
    NetworkConfig {
        genesis_hash: genesis,
        agent: "test".into(),
        keypair: Keypair::generate_ed25519(),
        listen_addresses: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
        boot_nodes: boot,
        in_peers: 8,
        out_peers: 8,
        reserved_nodes: Vec::new(),
        reserved_only: false,
        public_addresses: Vec::new(),
    }
}

async fn listen_addr(net: &NetworkHandle) -> arceon_network::Address {
    for _ in 0..100 {
        if let Some(addr) = net.listen_addresses().into_iter().next() {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no listen address");
}

async fn wait(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Answers status requests and accepts gossip that starts with `good`; forwards gossip
/// payloads it saw to `seen`.
fn serve(
    mut events: mpsc::Receiver<NetworkEvent>,
    net: NetworkHandle,
    seen: mpsc::UnboundedSender<Vec<u8>>,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                NetworkEvent::Gossip {
                    source, id, data, ..
                } => {
                    let verdict = if data.starts_with(b"good") {
                        Verdict::Accept
                    } else {
                        Verdict::Reject
                    };
                    net.validation_result(id, source, verdict);
                    let _ = seen.send(data);
                }
                NetworkEvent::Request { respond, .. } => {
                    let _ = respond.send(Response::Status(Status {
                        genesis: H256::repeat_byte(7),
                        best_number: 5,
                        best_hash: H256::repeat_byte(5),
                        finalized_number: 3,
                        finalized_hash: H256::repeat_byte(3),
                    }));
                }
                _ => {}
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_peers_talk_and_a_misbehaving_peer_is_dropped() {
    let genesis = H256::repeat_byte(7);
    let (a, a_events) = arceon_network::start(config(genesis, vec![])).expect("start a");
    let a_addr = listen_addr(&a).await;
    let (b, b_events) =
        arceon_network::start(config(genesis, vec![a_addr.clone()])).expect("start b");
    let (rogue, rogue_events) =
        arceon_network::start(config(genesis, vec![a_addr.clone()])).expect("start rogue");
    let (a_seen, mut a_seen_rx) = mpsc::unbounded_channel();
    let (b_seen, mut b_seen_rx) = mpsc::unbounded_channel();
    let (r_seen, _r_seen_rx) = mpsc::unbounded_channel();
    serve(a_events, a.clone(), a_seen);
    serve(b_events, b.clone(), b_seen);
    serve(rogue_events, rogue.clone(), r_seen);
    wait("a to see both peers", || a.peer_count() == 2).await;

    // Requests get answers.
    let response = b
        .request(a.local_peer_id(), Request::Status)
        .await
        .expect("status");
    assert!(matches!(response, Response::Status(s) if s.best_number == 5));

    // Gossip flows (after meshes form).
    let mut delivered = false;
    for round in 0..100u32 {
        b.publish(Topic::Blocks, format!("good {round}").into_bytes());
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(data) = a_seen_rx.try_recv() {
            assert!(data.starts_with(b"good"));
            delivered = true;
            break;
        }
    }
    assert!(delivered, "gossip from b never reached a");

    // The rogue sends a request above the 64 KiB request limit: a drops and bans it.
    let rogue_id = rogue.local_peer_id();
    let result = rogue
        .request(a.local_peer_id(), Request::Finality(vec![0u8; 200 * 1024]))
        .await;
    assert!(
        result.is_err(),
        "an oversized request was answered: {result:?}"
    );
    wait("a to drop the rogue", || {
        a.peers().iter().all(|p| p.peer_id != rogue_id)
    })
    .await;
    // It stays refused: the rogue's redials (it has a as boot node) are turned away.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(a.peers().iter().all(|p| p.peer_id != rogue_id));
    // The honest peer is still connected and gossip still flows.
    assert!(a.peers().iter().any(|p| p.peer_id == b.local_peer_id()));
    let mut delivered = false;
    for round in 0..100u32 {
        a.publish(
            Topic::Transactions,
            format!("good after {round}").into_bytes(),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        if b_seen_rx.try_recv().is_ok() {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "gossip stopped after the rogue was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_different_chains_do_not_stay_connected() {
    let (a, a_events) =
        arceon_network::start(config(H256::repeat_byte(1), vec![])).expect("start a");
    let a_addr = listen_addr(&a).await;
    let (b, b_events) =
        arceon_network::start(config(H256::repeat_byte(2), vec![a_addr])).expect("start b");
    let (seen, _rx) = mpsc::unbounded_channel();
    serve(a_events, a.clone(), seen.clone());
    serve(b_events, b.clone(), seen);
    // They may connect at the transport level, but identify shows a different chain.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a.peer_count(), 0, "{:?}", a.peers());
    let result = b.request(a.local_peer_id(), Request::Status).await;
    assert!(result.is_err());
}

/// Starts a boot node from `boot` and three more nodes of its chain that know only it.
async fn star(boot: NetworkConfig) -> (NetworkHandle, Vec<NetworkHandle>) {
    let genesis = boot.genesis_hash;
    let (a, a_events) = arceon_network::start(boot).expect("start the boot node");
    let a_addr = listen_addr(&a).await;
    let (seen, _rx) = mpsc::unbounded_channel();
    serve(a_events, a.clone(), seen.clone());
    let mut others = Vec::new();
    for name in ["b", "c", "d"] {
        let (net, events) =
            arceon_network::start(config(genesis, vec![a_addr.clone()])).expect(name);
        serve(events, net.clone(), seen.clone());
        others.push(net);
    }
    (a, others)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_only_know_the_boot_node_find_each_other() {
    let genesis = H256::repeat_byte(9);
    let (a, others) = star(config(genesis, vec![])).await;
    // Each knows only `a`; Kademlia tells them about one another.
    for _ in 0..300 {
        if others.iter().all(|n| n.peer_count() == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for net in &others {
        let mut peers: Vec<_> = net.peers().into_iter().map(|p| p.peer_id).collect();
        peers.sort();
        let mut expected: Vec<_> = std::iter::once(&a)
            .chain(others.iter())
            .map(|n| n.local_peer_id())
            .filter(|id| *id != net.local_peer_id())
            .collect();
        expected.sort();
        assert_eq!(peers, expected, "peers of {}", net.local_peer_id());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_connections_stop_at_the_limit() {
    let genesis = H256::repeat_byte(10);
    let mut limited = config(genesis, vec![]);
    limited.in_peers = 1;
    let (a, others) = star(limited).await;
    wait("a first peer", || a.peer_count() == 1).await;
    // The others keep redialing (every 3 s); a still takes only one.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(a.peer_count(), 1, "{:?}", a.peers());
    let connected = others.iter().filter(|n| n.peer_count() > 0).count();
    assert_eq!(connected, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserved_only_node_keeps_its_sentry_and_refuses_strangers() {
    let genesis = H256::repeat_byte(11);
    let sentry_key = Keypair::generate_ed25519();
    let sentry_id = sentry_key.public().to_peer_id();
    let mut validator = config(genesis, vec![]);
    validator.reserved_only = true;
    // Only the peer id matters for accepting the sentry's connection.
    validator.reserved_nodes = vec![format!("/ip4/127.0.0.1/tcp/9/p2p/{sentry_id}")
        .parse()
        .expect("reserved address")];
    validator.public_addresses = vec!["/dns4/validator.example/tcp/30333"
        .parse()
        .expect("public address")];
    let (v, v_events) = arceon_network::start(validator).expect("start the validator");
    let v_addr = listen_addr(&v).await;
    let (seen, _rx) = mpsc::unbounded_channel();
    serve(v_events, v.clone(), seen.clone());
    let mut sentry = config(genesis, vec![v_addr.clone()]);
    sentry.keypair = sentry_key;
    let (s, s_events) = arceon_network::start(sentry).expect("start the sentry");
    serve(s_events, s.clone(), seen.clone());
    let (x, x_events) =
        arceon_network::start(config(genesis, vec![v_addr])).expect("start a stranger");
    serve(x_events, x.clone(), seen);
    wait("the sentry to connect", || v.peer_count() == 1).await;
    // The stranger redials every 3 s; it is refused each time.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let peers: Vec<_> = v.peers().into_iter().map(|p| p.peer_id).collect();
    assert_eq!(peers, vec![sentry_id], "the validator's peers");
    assert!(
        !x.peers().iter().any(|p| p.peer_id == v.local_peer_id()),
        "the stranger reached the validator"
    );
    assert!(s.peers().iter().any(|p| p.peer_id == v.local_peer_id()));
}
