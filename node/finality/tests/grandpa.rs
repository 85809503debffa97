//! Four GRANDPA voters over their own databases, connected by an in-memory network:
//! finality, justifications, a set change, a restarted voter, tampering and warp proofs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use arceon_chain_spec::{ChainSpec, Genesis, GenesisBlock};
use arceon_client::{keystore::Keystore, Client, ImportOptions, Pruning};
use arceon_finality::wire::FinalityProof;
use arceon_finality::{
    verify_warp_proof, Finality, FinalityConfig, FinalityError, FinalityNetwork,
    GrandpaJustification,
};
use arceon_primitives::{ed25519, keyring::Keyring, Block, Era, SignedExtra, H256};
use arceon_runtime::{aura, executive::sign_extrinsic, Call};
use codec::{Decode, Encode};
use parking_lot::{Mutex, RwLock};
use sp_core::Pair as _;

const ERA_LENGTH: u32 = 10;

struct TestNet {
    nodes: RwLock<Vec<Option<Finality>>>,
}

struct NodeNet {
    net: Arc<TestNet>,
    me: usize,
    runtime: tokio::runtime::Handle,
}

impl FinalityNetwork for NodeNet {
    fn gossip(&self, message: Vec<u8>) {
        let peers: Vec<Finality> = self
            .net
            .nodes
            .read()
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != self.me)
            .filter_map(|(_, node)| node.clone())
            .collect();
        let from = format!("node{}", self.me);
        for peer in peers {
            let (message, from) = (message.clone(), from.clone());
            self.runtime.spawn(async move {
                peer.on_gossip(&from, &message);
            });
        }
    }

    fn request(
        &self,
        peer: String,
        request: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<Vec<u8>, String>> {
        let index: usize = peer
            .trim_start_matches("node")
            .parse()
            .unwrap_or(usize::MAX);
        let node = self.net.nodes.read().get(index).cloned().flatten();
        let from = format!("node{}", self.me);
        Box::pin(async move {
            node.and_then(|f| f.on_request(&from, &request))
                .ok_or_else(|| "refused".to_string())
        })
    }
}

struct Node {
    client: Arc<Client>,
    keystore: Keystore,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn genesis() -> GenesisBlock {
    let mut spec = ChainSpec::load("local").expect("local spec");
    match &mut spec.genesis {
        Genesis::RuntimeGenesis(genesis) => {
            genesis.config.staking.era_length = ERA_LENGTH;
            genesis.config.staking.sessions_per_era = 1;
        }
        Genesis::Raw(_) => panic!("the local spec is not raw"),
    }
    spec.genesis_block().expect("genesis")
}

fn node(genesis: &GenesisBlock, key: Keyring) -> Node {
    let db_dir = tempfile::tempdir().unwrap();
    let key_dir = tempfile::tempdir().unwrap();
    let client = Client::open(db_dir.path(), Pruning::Archive, genesis).unwrap();
    let keystore = Keystore::open(key_dir.path()).unwrap();
    keystore.insert_session_keys(&key.suri()).unwrap();
    Node {
        client,
        keystore,
        _dirs: (db_dir, key_dir),
    }
}

fn start(
    net: &Arc<TestNet>,
    nodes: &[Node],
    index: usize,
    reports: &Arc<Mutex<Vec<Vec<u8>>>>,
) -> Finality {
    let reports = reports.clone();
    let finality = Finality::start(FinalityConfig {
        client: nodes[index].client.clone(),
        keystore: nodes[index].keystore.clone(),
        network: Arc::new(NodeNet {
            net: net.clone(),
            me: index,
            runtime: tokio::runtime::Handle::current(),
        }),
        submit_extrinsic: Arc::new(move |xt: Vec<u8>| {
            reports.lock().push(xt);
            Ok(())
        }),
        justification_period: 32,
        gossip_duration: Duration::from_millis(100),
    })
    .expect("finality starts");
    net.nodes.write()[index] = Some(finality.clone());
    finality
}

/// Authors the next block on node 0 (sealed by its slot's author) and imports it
/// everywhere.
fn author(nodes: &[Node], extrinsics: Vec<Vec<u8>>) -> Block {
    let client = &nodes[0].client;
    let (_, parent) = client.best();
    let parent_header = client.header(&parent).unwrap().unwrap();
    let slot = parent_header.digest.aura_slot().unwrap_or(0) + 1;
    let authorities = client.authorities(&parent).unwrap();
    let author = aura::slot_author(&authorities, slot).unwrap();
    let key = Keyring::ALL
        .iter()
        .map(|k| k.pair())
        .find(|p| p.public() == author)
        .unwrap();
    let built = client
        .build_block(&parent, slot, |builder| {
            for xt in extrinsics {
                builder.apply_extrinsic(xt).unwrap().unwrap();
            }
        })
        .unwrap();
    let (block, _) = client
        .import_own(built, &key, ImportOptions::default())
        .unwrap();
    for other in &nodes[1..] {
        other
            .client
            .import_block(&block, ImportOptions::default())
            .unwrap();
    }
    block
}

/// The GRANDPA session keys (ed25519) of dev validators.
fn publics(keys: &[Keyring]) -> Vec<ed25519::Public> {
    keys.iter().map(|k| k.session_keys().grandpa).collect()
}

fn sorted(mut keys: Vec<ed25519::Public>) -> Vec<ed25519::Public> {
    keys.sort();
    keys
}

fn justification_at(node: &Node, number: u32) -> (H256, Vec<u8>) {
    let hash = node.client.hash(number).unwrap().unwrap();
    let justification = node
        .client
        .db()
        .justification(&hash)
        .unwrap()
        .unwrap_or_else(|| panic!("a justification is stored for #{number}"));
    (hash, justification)
}

/// The first stored justification at or above `number`.
fn justification_from(node: &Node, number: u32) -> (u32, H256, Vec<u8>) {
    let finalized = node.client.finalized().0;
    (number..=finalized)
        .find_map(|n| {
            let hash = node.client.hash(n).unwrap()?;
            let justification = node.client.db().justification(&hash).unwrap()?;
            Some((n, hash, justification))
        })
        .unwrap_or_else(|| panic!("a justification is stored at or above #{number}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_voters_finalize_across_a_set_change_and_restart() {
    let genesis = genesis();
    let keys = [
        Keyring::Alice,
        Keyring::Bob,
        Keyring::Charlie,
        Keyring::Dave,
    ];
    let nodes: Vec<Node> = keys.iter().map(|k| node(&genesis, *k)).collect();
    let net = Arc::new(TestNet {
        nodes: RwLock::new(vec![None, None, None, None]),
    });
    let reports = Arc::new(Mutex::new(Vec::new()));
    let mut handles: Vec<Finality> = (0..4).map(|i| start(&net, &nodes, i, &reports)).collect();
    let genesis_set = sorted(nodes[0].client.grandpa_authorities(&genesis.hash).unwrap());
    assert_eq!(genesis_set, sorted(publics(&keys)));
    assert_eq!(
        handles[0].authority_set(),
        (
            0,
            nodes[0].client.grandpa_authorities(&genesis.hash).unwrap()
        )
    );

    // Dave stops validating: the era-1 set (from block 10) is Alice, Bob and Charlie.
    let chill = sign_extrinsic(
        Call::Staking(arceon_pallet_staking::Call::Chill),
        &Keyring::Dave.pair(),
        SignedExtra {
            era: Era::Immortal,
            nonce: 0,
            tip: 0,
        },
        genesis.hash,
        genesis.hash,
    )
    .encode();
    let mut justifications = handles[2].subscribe_justifications();
    let mut lags = Vec::new();
    let produced = tokio::time::timeout(Duration::from_secs(150), async {
        author(&nodes, vec![chill]);
        let mut restarted = false;
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let best = author(&nodes, vec![]).header.number;
            let finalized: Vec<u32> = nodes.iter().map(|n| n.client.finalized().0).collect();
            lags.push(best - finalized[0]);
            if best == 6 && !restarted {
                // Bob's voter stops mid-round and starts again on the same database.
                restarted = true;
                net.nodes.write()[1] = None;
                handles.remove(1);
                tokio::time::sleep(Duration::from_millis(150)).await;
                handles.insert(1, start(&net, &nodes, 1, &reports));
            }
            if finalized.iter().all(|f| *f >= 40) {
                return best;
            }
        }
    })
    .await
    .expect("every node finalizes block 40 in time");
    assert!(produced >= 40);
    lags.sort();
    eprintln!("finality lag (blocks): median {}", lags[lags.len() / 2]);

    // The set changed at block 10 on every node.
    let era_set = sorted(publics(&keys[..3]));
    for handle in &handles {
        let (set_id, authorities) = handle.authority_set();
        assert_eq!(set_id, 1);
        assert_eq!(sorted(authorities), era_set);
    }
    // No honest voter equivocated, restart included.
    assert!(reports.lock().is_empty(), "equivocation reported");

    // Justifications: the set-change block (by set 0) and block 32 (by set 1).
    let set0 = nodes[0].client.grandpa_authorities(&genesis.hash).unwrap();
    let set1 = handles[0].authority_set().1;
    for node in &nodes {
        let (hash, bytes) = justification_at(node, ERA_LENGTH);
        let j = GrandpaJustification::decode_exact(&bytes).unwrap();
        j.verify(0, &set0, (hash, ERA_LENGTH)).unwrap();
        assert!(j.verify(1, &set1, (hash, ERA_LENGTH)).is_err());
        let (number, hash, bytes) = justification_from(node, 32);
        assert!(number <= 40);
        GrandpaJustification::decode_exact(&bytes)
            .unwrap()
            .verify(1, &set1, (hash, number))
            .unwrap();
        // Between the set change and the first period boundary, none is stored.
        for n in ERA_LENGTH + 1..32 {
            let hash = node.client.hash(n).unwrap().unwrap();
            assert!(node.client.db().justification(&hash).unwrap().is_none());
        }
    }
    assert!(
        justifications.try_recv().is_ok(),
        "justifications are published"
    );

    // Tampering is rejected.
    let (n32, hash32, bytes) = justification_from(&nodes[0], 32);
    let honest = GrandpaJustification::decode_exact(&bytes).unwrap();
    let mut bad_signature = honest.clone();
    bad_signature.commit.precommits[0].signature.0[0] ^= 1;
    let mut too_few = honest.clone();
    too_few.commit.precommits.pop();
    let mut other_round = honest.clone();
    other_round.round += 1;
    let mut extra_header = honest.clone();
    extra_header
        .votes_ancestries
        .push(nodes[0].client.header(&hash32).unwrap().unwrap());
    for (what, bad) in [
        ("signature", bad_signature),
        ("threshold", too_few),
        ("round", other_round),
        ("ancestry", extra_header),
    ] {
        assert!(bad.verify(1, &set1, (hash32, n32)).is_err(), "{what}");
        assert!(
            handles[0]
                .import_justification(hash32, &bad.encode())
                .is_err(),
            "{what}"
        );
    }
    assert!(handles[0].import_justification(hash32, b"junk").is_err());
    handles[0].import_justification(hash32, &bytes).unwrap();

    // Finality proofs.
    let (n1, hash1, _) = justification_from(&nodes[1], 20);
    let proof = handles[1]
        .prove_finality(20)
        .unwrap()
        .expect("block 20 is final");
    let proof = FinalityProof::decode(&mut &proof[..]).unwrap();
    assert_eq!(proof.block, hash1);
    assert_eq!(
        proof
            .unknown_headers
            .iter()
            .map(|h| h.number)
            .collect::<Vec<_>>(),
        (21..=n1).collect::<Vec<_>>()
    );
    assert_eq!(handles[1].prove_finality(100_000).unwrap(), None);

    // Warp proofs: from genesis across the set change to the latest justification.
    let proof = handles[3].warp_proof(0).unwrap();
    let target = verify_warp_proof(&set0, &proof).unwrap();
    assert_eq!(target.set_id, 1);
    assert_eq!(sorted(target.authorities.clone()), era_set);
    assert!(target.header.number >= 32);
    assert_eq!(
        nodes[3].client.hash(target.header.number).unwrap(),
        Some(target.header.hash())
    );
    // Against the wrong genesis set, or corrupted, it fails.
    assert!(matches!(
        verify_warp_proof(&publics(&[Keyring::Eve, Keyring::Ferdie]), &proof),
        Err(FinalityError::BadWarpProof(_))
    ));
    let mut corrupt = proof.clone();
    let last = corrupt.len() - 10;
    corrupt[last] ^= 0xff;
    assert!(verify_warp_proof(&set0, &corrupt).is_err());
    let from_one = handles[3].warp_proof(1).unwrap();
    assert!(
        verify_warp_proof(&set0, &from_one).is_err(),
        "starts at set 1"
    );

    // The round state has Substrate's shape.
    let state = serde_json::to_value(handles[0].round_state()).unwrap();
    assert_eq!(state["setId"], 1);
    assert_eq!(state["best"]["totalWeight"], 3);
    assert_eq!(state["best"]["thresholdWeight"], 3);
    assert!(state["best"]["prevotes"]["missing"].is_array());
    assert!(state["background"].is_array());
}
