//! Behaviour of the state trie as its users see it: Substrate-identical roots and proofs,
//! reads after updates, iteration, and reference counting that never loses a live node.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the assertion

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arceon_primitives::blake2_256;
use arceon_state::{
    empty_root, ordered_trie_root, storage_root, verify_range_proof, verify_read_proof,
    CachedNodeStore, MemoryNodeStore, NodeCache, NodeStore, StateError, StorageProof, TrieState,
    EMPTY_ROOT, H256,
};
use codec::Encode;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sp_trie::TrieConfiguration;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn h(bytes: &[u8]) -> H256 {
    H256(blake2_256(bytes))
}

/// Substrate's own streaming root computation (trie-root), independent of the TrieDBMut
/// path `apply_changes` takes.
fn reference_root(model: &Model) -> H256 {
    arceon_state::Layout::trie_root(model.iter())
}

fn random_changes(rng: &mut StdRng, n: usize, key_space: u32) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    (0..n)
        .map(|_| {
            let key_id = rng.gen_range(0..key_space);
            // Keys share prefixes (like pallet storage prefixes) to build deep branches.
            let mut key = vec![(key_id % 3) as u8, 0xAB];
            key.extend_from_slice(&key_id.to_be_bytes());
            let value = if rng.gen_bool(0.2) {
                None
            } else {
                // Mix inline values and values long enough to get their own node.
                let len = if rng.gen_bool(0.5) {
                    rng.gen_range(0..33)
                } else {
                    rng.gen_range(33..120)
                };
                Some((0..len).map(|_| rng.gen()).collect())
            };
            (key, value)
        })
        .collect()
}

fn apply_to_model(model: &mut Model, changes: &[(Vec<u8>, Option<Vec<u8>>)]) {
    for (k, v) in changes {
        match v {
            Some(v) => {
                model.insert(k.clone(), v.clone());
            }
            None => {
                model.remove(k);
            }
        }
    }
}

/// Every node reachable from `root`: reading every key visits every node of the trie.
fn reachable_nodes(store: &MemoryNodeStore, root: H256, model: &Model) -> BTreeSet<H256> {
    let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    let proof = TrieState::new(store, root).read_proof(&keys).unwrap();
    proof
        .nodes
        .iter()
        .map(|n| h(n))
        .filter(|hash| *hash != EMPTY_ROOT)
        .collect()
}

#[test]
fn empty_root_is_substrates() {
    let expected = "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314";
    assert_eq!(hex::encode(empty_root()), expected);
    assert_eq!(EMPTY_ROOT, empty_root());
    assert_eq!(storage_root(Vec::new()).root, EMPTY_ROOT);
    assert!(storage_root(Vec::new()).nodes.is_empty());
    assert_eq!(ordered_trie_root(&[]), EMPTY_ROOT);
}

/// Roots of tiny tries written out by hand from the Substrate/Polkadot trie node encoding
/// (node header bits, nibble count, compact-prefixed values, LayoutV1 hashed values).
#[test]
fn roots_match_hand_encoded_substrate_nodes() {
    // Leaf with 2 nibbles (0b01 << 6 | 2), partial key aa, inline value [bb].
    let leaf = [0x42, 0xaa, 0x04, 0xbb];
    let delta = storage_root(vec![(vec![0xaa], vec![0xbb])]);
    assert_eq!(delta.root, h(&leaf));

    // A 32-byte value is still inline in LayoutV1 ...
    let value32 = vec![7u8; 32];
    let mut leaf32 = vec![0x42, 0xaa, 0x80];
    leaf32.extend_from_slice(&value32);
    assert_eq!(storage_root(vec![(vec![0xaa], value32)]).root, h(&leaf32));

    // ... a 33-byte one is a separate node referenced by hash (leaf header 0b001 << 5 | 2).
    let value33 = vec![9u8; 33];
    let mut hashed_leaf = vec![0x22, 0xaa];
    hashed_leaf.extend_from_slice(&blake2_256(&value33));
    let delta = storage_root(vec![(vec![0xaa], value33.clone())]);
    assert_eq!(delta.root, h(&hashed_leaf));
    // Both the leaf and the value node are stored, once each.
    let stored: BTreeSet<H256> = delta.nodes.iter().map(|n| n.hash).collect();
    assert_eq!(stored, BTreeSet::from([h(&hashed_leaf), h(&value33)]));
    assert!(delta
        .nodes
        .iter()
        .all(|n| n.rc_delta == 1 && n.data.is_some()));

    // Branch with 1-nibble partial key "1" (0b10 << 6 | 1, padded 01), children bitmap
    // 0b11 (LE), two inline leaves with empty partial keys (0x40), each prefixed with its
    // compact length (3 bytes -> 0x0c).
    let branch = [
        0x81, 0x01, 0x03, 0x00, 0x0c, 0x40, 0x04, 0x01, 0x0c, 0x40, 0x04, 0x02,
    ];
    let delta = storage_root(vec![(vec![0x10], vec![0x01]), (vec![0x11], vec![0x02])]);
    assert_eq!(delta.root, h(&branch));

    // Extrinsics root: key Compact<u32>(0) = 0x00 as a 2-nibble leaf.
    assert_eq!(
        ordered_trie_root(&[vec![0x01]]),
        h(&[0x42, 0x00, 0x04, 0x01])
    );
}

#[test]
fn random_roots_match_substrate_trie_root() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut model = Model::new();
    apply_to_model(&mut model, &random_changes(&mut rng, 2_000, 1_500));
    let delta = storage_root(model.clone());
    assert_eq!(delta.root, reference_root(&model));

    let items: Vec<Vec<u8>> = (0..300u32)
        .map(|i| vec![i as u8; (i % 70) as usize])
        .collect();
    assert_eq!(
        ordered_trie_root(&items),
        arceon_state::Layout::ordered_trie_root(&items)
    );
}

#[test]
fn apply_changes_then_read_back() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut store = MemoryNodeStore::new();
    let mut root = EMPTY_ROOT;
    let mut model = Model::new();
    for round in 0..30 {
        let changes = random_changes(&mut rng, 200, 600);
        let delta = TrieState::new(&store, root)
            .apply_changes(changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref())))
            .unwrap();
        apply_to_model(&mut model, &changes);
        assert_eq!(delta.root, reference_root(&model), "round {round}");
        // The old state is untouched by computing the new one.
        let old = TrieState::new(&store, root);
        if let Some((k, _)) = model.iter().next() {
            let _ = old.get(k).unwrap();
        }
        store.apply(&delta).unwrap();
        root = delta.root;
        let state = TrieState::new(&store, root);
        for (k, v) in &model {
            assert_eq!(state.get(k).unwrap().as_ref(), Some(v));
        }
        for (k, _) in &changes {
            if !model.contains_key(k) {
                assert_eq!(state.get(k).unwrap(), None);
            }
        }
    }
}

#[test]
fn last_change_to_a_key_wins() {
    let state = TrieState::new(MemoryNodeStore::new(), EMPTY_ROOT);
    let delta = state
        .apply_changes(vec![
            (&b"k"[..], Some(&b"1"[..])),
            (&b"a"[..], Some(&b"x"[..])),
            (&b"k"[..], None),
            (&b"k"[..], Some(&b"2"[..])),
        ])
        .unwrap();
    let store = MemoryNodeStore::from_delta(&delta).unwrap();
    let state = TrieState::new(&store, delta.root);
    assert_eq!(state.get(b"k").unwrap(), Some(b"2".to_vec()));
    assert_eq!(state.get(b"a").unwrap(), Some(b"x".to_vec()));
}

#[test]
fn deleting_every_key_gives_the_empty_root_and_frees_every_node() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut model = Model::new();
    apply_to_model(&mut model, &random_changes(&mut rng, 500, 400));
    let genesis = storage_root(model.clone());
    let mut store = MemoryNodeStore::from_delta(&genesis).unwrap();
    assert!(!store.is_empty());
    let delta = TrieState::new(&store, genesis.root)
        .apply_changes(model.keys().map(|k| (k.as_slice(), None::<&[u8]>)))
        .unwrap();
    assert_eq!(delta.root, EMPTY_ROOT);
    assert!(delta
        .nodes
        .iter()
        .all(|n| n.rc_delta < 0 && n.data.is_none()));
    store.apply(&delta).unwrap();
    assert!(store.is_empty(), "{} nodes left", store.len());
    // The empty state is readable without any stored node.
    let state = TrieState::new(&store, EMPTY_ROOT);
    assert_eq!(state.get(b"anything").unwrap(), None);
    assert_eq!(state.next_key(b"").unwrap(), None);
    assert!(state.pairs_with_prefix(b"", None, 10).unwrap().is_empty());
}

#[test]
fn identical_values_share_one_reference_counted_node() {
    let big = vec![5u8; 64];
    let genesis = storage_root(vec![
        (b"a".to_vec(), big.clone()),
        (b"b".to_vec(), big.clone()),
    ]);
    let value_node = genesis.nodes.iter().find(|n| n.hash == h(&big)).unwrap();
    assert_eq!(value_node.rc_delta, 2);
    let mut store = MemoryNodeStore::from_delta(&genesis).unwrap();
    let delta = TrieState::new(&store, genesis.root)
        .apply_changes([(&b"a"[..], None::<&[u8]>)])
        .unwrap();
    store.apply(&delta).unwrap();
    assert_eq!(store.refcount(&h(&big)), 1);
    let state = TrieState::new(&store, delta.root);
    assert_eq!(state.get(b"b").unwrap(), Some(big));
}

fn proof_fixture() -> (MemoryNodeStore, H256, Model) {
    let mut rng = StdRng::seed_from_u64(3);
    let mut model = Model::new();
    apply_to_model(&mut model, &random_changes(&mut rng, 800, 700));
    let genesis = storage_root(model.clone());
    (
        MemoryNodeStore::from_delta(&genesis).unwrap(),
        genesis.root,
        model,
    )
}

#[test]
fn read_proof_verifies_values_and_absence() {
    let (store, root, model) = proof_fixture();
    let present: Vec<Vec<u8>> = model.keys().step_by(37).cloned().collect();
    let absent = [
        b"no such key".to_vec(),
        vec![0, 0xAB, 0xFF, 0xFF, 0xFF, 0xFF],
    ];
    let keys: Vec<Vec<u8>> = present.iter().chain(absent.iter()).cloned().collect();
    let proof = TrieState::new(&store, root).read_proof(&keys).unwrap();
    let proven = verify_read_proof(&root, &proof, &keys).unwrap();
    for (key, value) in proven {
        assert_eq!(value.as_ref(), model.get(&key), "key {}", hex::encode(&key));
    }
    // The proof is minimal enough to be useful: far smaller than the state.
    assert!(
        proof.nodes.len() < store.len() / 2,
        "{} of {}",
        proof.nodes.len(),
        store.len()
    );
}

#[test]
fn range_proofs_rebuild_the_whole_state_chunk_by_chunk() {
    let (store, root, model) = proof_fixture();
    let state = TrieState::new(&store, root);
    let mut rebuilt = Model::new();
    let mut start_after: Option<Vec<u8>> = None;
    let mut chunks = 0;
    loop {
        let (entries, complete, proof) = state.range_proof(start_after.as_deref(), 97).unwrap();
        verify_range_proof(&root, &proof, start_after.as_deref(), &entries, complete).unwrap();
        chunks += 1;
        start_after = entries.last().map(|(k, _)| k.clone());
        rebuilt.extend(entries);
        if complete {
            break;
        }
    }
    assert_eq!(rebuilt, model);
    assert!(chunks > 2, "{chunks} chunks");
}

#[test]
fn forged_ranges_are_rejected() {
    let (store, root, _) = proof_fixture();
    let state = TrieState::new(&store, root);
    let (entries, complete, proof) = state.range_proof(None, 50).unwrap();
    assert!(!complete);
    let bad = |entries: &[(Vec<u8>, Vec<u8>)], complete: bool, proof: &StorageProof| {
        let err = verify_range_proof(&root, proof, None, entries, complete).unwrap_err();
        assert!(matches!(err, StateError::BadProof(_)), "{err:?}");
    };
    // A pair left out, a value changed, a pair invented, and a false "that was all".
    let mut skipped = entries.clone();
    skipped.remove(20);
    bad(&skipped, complete, &proof);
    let mut changed = entries.clone();
    changed[7].1.push(1);
    bad(&changed, complete, &proof);
    let mut invented = entries.clone();
    let mut key = invented[10].0.clone();
    key.push(0);
    invented.insert(11, (key, vec![1, 2, 3]));
    bad(&invented, complete, &proof);
    bad(&entries, true, &proof);
    // A proof with a node missing, or for another root, proves nothing.
    let mut partial = proof.clone();
    partial.nodes.remove(partial.nodes.len() / 2);
    bad(&entries, complete, &partial);
    let err =
        verify_range_proof(&H256::repeat_byte(7), &proof, None, &entries, complete).unwrap_err();
    assert!(matches!(err, StateError::BadProof(_)));
    // Junk in place of the state: no node of it hashes to the root.
    let junk = StorageProof::new([vec![0u8; 64], vec![1u8; 300]]);
    let fake = vec![(b"key".to_vec(), vec![9u8; 100_000])];
    bad(&fake, true, &junk);
}

#[test]
fn tampered_or_incomplete_proofs_are_rejected() {
    let (store, root, model) = proof_fixture();
    let key = model.keys().nth(100).unwrap().clone();
    let keys = vec![key];
    let proof = TrieState::new(&store, root).read_proof(&keys).unwrap();
    assert!(proof.nodes.len() >= 2);
    verify_read_proof(&root, &proof, &keys).unwrap();

    for i in 0..proof.nodes.len() {
        let mut removed = proof.clone();
        removed.nodes.remove(i);
        let err = verify_read_proof(&root, &removed, &keys).unwrap_err();
        assert!(matches!(err, StateError::BadProof(_)), "{err:?}");

        let mut changed = proof.clone();
        let last = changed.nodes[i].len() - 1;
        changed.nodes[i][last] ^= 0x01;
        let err = verify_read_proof(&root, &changed, &keys).unwrap_err();
        assert!(matches!(err, StateError::BadProof(_)), "{err:?}");
    }
    // A proof for another root proves nothing.
    let err = verify_read_proof(&H256::repeat_byte(1), &proof, &keys).unwrap_err();
    assert!(matches!(err, StateError::BadProof(_)));
}

#[test]
fn storage_proof_encodes_like_substrates_btreeset() {
    let proof = StorageProof::new(vec![vec![3, 4], vec![1], vec![3, 4], vec![2, 0, 0]]);
    assert_eq!(proof.nodes, vec![vec![1], vec![2, 0, 0], vec![3, 4]]);
    let substrate: BTreeSet<Vec<u8>> = proof.nodes.iter().cloned().collect();
    assert_eq!(proof.encode(), substrate.encode());
}

#[test]
fn next_key_and_prefix_iteration_follow_key_order() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut model = Model::new();
    apply_to_model(&mut model, &random_changes(&mut rng, 600, 500));
    model.insert(vec![1], vec![1]);
    model.insert(vec![1, 0xAB], vec![2]);
    let genesis = storage_root(model.clone());
    let store = MemoryNodeStore::from_delta(&genesis).unwrap();
    let state = TrieState::new(&store, genesis.root);

    // next_key: from every key, between keys, before the first and after the last.
    let mut probes: Vec<Vec<u8>> = model.keys().cloned().collect();
    probes.extend([
        vec![],
        vec![0],
        vec![1, 0xAB, 0],
        vec![2, 0xAB, 0xFF],
        vec![0xFF; 8],
    ]);
    for probe in &probes {
        let expected = model
            .range::<Vec<u8>, _>((std::ops::Bound::Excluded(probe), std::ops::Bound::Unbounded))
            .next()
            .map(|(k, _)| k.clone());
        assert_eq!(
            state.next_key(probe).unwrap(),
            expected,
            "after {}",
            hex::encode(probe)
        );
    }

    // Walking with next_key visits every key exactly once.
    let mut walked = Vec::new();
    let mut cursor = Vec::new();
    while let Some(next) = state.next_key(&cursor).unwrap() {
        walked.push(next.clone());
        cursor = next;
    }
    assert_eq!(walked, model.keys().cloned().collect::<Vec<_>>());

    let expected_with =
        |prefix: &[u8], after: Option<&[u8]>, limit: usize| -> Vec<(Vec<u8>, Vec<u8>)> {
            model
                .iter()
                .filter(|(k, _)| k.starts_with(prefix) && after.is_none_or(|a| k.as_slice() > a))
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
    let prefixes: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![1],
        vec![1, 0xAB],
        vec![2, 0xAB, 0, 0],
        vec![9],
    ];
    for prefix in &prefixes {
        let all = expected_with(prefix, None, usize::MAX);
        let mut afters: Vec<Option<Vec<u8>>> = vec![None, Some(vec![]), Some(vec![0xFF; 4])];
        afters.extend(all.iter().step_by(7).map(|(k, _)| Some(k.clone())));
        afters.push(Some([prefix.as_slice(), &[0x80]].concat()));
        for after in &afters {
            for limit in [0, 1, 5, usize::MAX] {
                let got = state
                    .pairs_with_prefix(prefix, after.as_deref(), limit)
                    .unwrap();
                assert_eq!(
                    got,
                    expected_with(prefix, after.as_deref(), limit),
                    "prefix {} after {:?} limit {limit}",
                    hex::encode(prefix),
                    after.as_ref().map(hex::encode)
                );
            }
        }
        // Paging through with start_after reproduces the full listing.
        let mut paged = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = state
                .pairs_with_prefix(prefix, after.as_deref(), 13)
                .unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|(k, _)| k.clone());
            paged.extend(page);
        }
        assert_eq!(paged, all);
    }
}

#[test]
fn missing_nodes_and_store_failures_are_errors_not_panics() {
    let (store, root, model) = proof_fixture();
    let key = model.keys().next().unwrap().clone();

    // A state whose root was never stored.
    let state = TrieState::new(&store, H256::repeat_byte(9));
    assert!(matches!(state.get(&key), Err(StateError::MissingNode(_))));
    assert!(matches!(
        state.next_key(&key),
        Err(StateError::MissingNode(_))
    ));
    assert!(matches!(
        state.apply_changes([(&key[..], Some(&b"v"[..]))]),
        Err(StateError::MissingNode(_))
    ));

    // A store that lost a node below the root.
    struct Lossy<'a>(&'a MemoryNodeStore, H256);
    impl NodeStore for Lossy<'_> {
        fn get_node(&self, hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
            if *hash == self.1 {
                return Ok(None);
            }
            self.0.get_node(hash)
        }
    }
    let proof = TrieState::new(&store, root)
        .read_proof(std::slice::from_ref(&key))
        .unwrap();
    let lost = proof
        .nodes
        .iter()
        .map(|n| h(n))
        .find(|hash| *hash != root)
        .unwrap();
    let state = TrieState::new(Lossy(&store, lost), root);
    assert!(matches!(state.get(&key), Err(StateError::MissingNode(hash)) if hash == lost));
    assert!(state.pairs_with_prefix(b"", None, usize::MAX).is_err());

    // A store that fails outright reports its own error.
    struct Broken;
    impl NodeStore for Broken {
        fn get_node(&self, _hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
            Err(StateError::Store("disk on fire".into()))
        }
    }
    let state = TrieState::new(Broken, root);
    let err = state.get(&key).unwrap_err();
    assert!(matches!(err, StateError::Store(_)), "{err:?}");
    assert!(err.to_string().contains("disk on fire"));
    assert!(matches!(
        state.apply_changes([(&key[..], None::<&[u8]>)]),
        Err(StateError::Store(_))
    ));

    // A corrupt node is reported as such.
    struct Garbage;
    impl NodeStore for Garbage {
        fn get_node(&self, _hash: &H256) -> Result<Option<Vec<u8>>, StateError> {
            Ok(Some(vec![0xff, 0xff, 0xff]))
        }
    }
    let err = TrieState::new(Garbage, root).get(&key).unwrap_err();
    assert!(matches!(err, StateError::CorruptNode { .. }), "{err:?}");
}

#[test]
fn invalid_deltas_leave_the_memory_store_unchanged() {
    let genesis = storage_root(vec![(b"a".to_vec(), vec![1; 40])]);
    let mut store = MemoryNodeStore::from_delta(&genesis).unwrap();
    let before = store.len();
    let mut bad = genesis.clone();
    for n in &mut bad.nodes {
        n.rc_delta = -2;
        n.data = None;
    }
    assert!(matches!(
        store.apply(&bad),
        Err(StateError::InvalidDelta { .. })
    ));
    assert_eq!(store.len(), before);
    let mut no_data = genesis.clone();
    no_data.nodes[0].hash = H256::repeat_byte(3);
    no_data.nodes[0].data = None;
    assert!(matches!(
        store.apply(&no_data),
        Err(StateError::InvalidDelta { .. })
    ));
}

#[test]
fn cached_store_reads_the_same_state_and_stays_bounded() {
    let (store, root, model) = proof_fixture();
    let cache = Arc::new(NodeCache::new(16 * 1024));
    let cached = CachedNodeStore::new(&store, cache.clone());
    let state = TrieState::new(&cached, root);
    for _ in 0..2 {
        for (k, v) in &model {
            assert_eq!(state.get(k).unwrap().as_ref(), Some(v));
        }
    }
    let (hits, misses) = cache.stats();
    assert!(hits > misses, "hits {hits} misses {misses}");
    // Capacity is respected: the top of the trie stays, the bulk does not fit.
    let held = store
        .node_hashes()
        .filter(|hash| cache.get(hash).is_some())
        .count();
    assert!(held < store.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Applying the deltas of arbitrary change sets in full: no count ever goes negative,
    /// every node of the current state is present, and nothing else is left behind.
    #[test]
    fn memory_store_keeps_exactly_the_live_nodes(
        seed in any::<u64>(),
        rounds in 1usize..12,
        batch in 1usize..80,
        key_space in 1u32..200,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut store = MemoryNodeStore::new();
        let mut root = EMPTY_ROOT;
        let mut model = Model::new();
        for _ in 0..rounds {
            let changes = random_changes(&mut rng, batch, key_space);
            let delta = TrieState::new(&store, root).apply_changes(changes.clone()).unwrap();
            apply_to_model(&mut model, &changes);
            prop_assert_eq!(delta.root, reference_root(&model));
            prop_assert!(store.apply(&delta).is_ok(), "a reference count went negative");
            root = delta.root;
            let live = reachable_nodes(&store, root, &model);
            let stored: BTreeSet<H256> = store.node_hashes().copied().collect();
            prop_assert_eq!(&live, &stored);
            let state = TrieState::new(&store, root);
            for (k, v) in &model {
                prop_assert_eq!(state.get(k).unwrap(), Some(v.clone()));
            }
        }
    }
}

/// `closestDescendantMerkleValue` (new JSON-RPC spec): the root's hash for the empty
/// prefix, a value that moves when anything under a prefix changes and stays when only
/// keys elsewhere change, and nothing for a prefix no key starts with.
#[test]
fn closest_descendant_merkle_value_tracks_changes_under_a_prefix() {
    let mut store = MemoryNodeStore::new();
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..50u8)
        .map(|i| (vec![i % 2, 0xab, i], vec![i; 40]))
        .collect();
    let delta = storage_root(pairs);
    store.apply(&delta).unwrap();
    let state = TrieState::new(&store, delta.root);
    assert_eq!(
        state.closest_descendant_merkle_value(&[]).unwrap(),
        Some(delta.root.as_bytes().to_vec())
    );
    assert_eq!(state.closest_descendant_merkle_value(&[7]).unwrap(), None);
    let under_zero = state.closest_descendant_merkle_value(&[0]).unwrap();
    let under_one = state.closest_descendant_merkle_value(&[1]).unwrap();
    assert!(under_zero.is_some() && under_one.is_some() && under_zero != under_one);

    let changed = state
        .apply_changes([(&[0u8, 0xab, 4][..], Some(&[9u8; 40][..]))])
        .unwrap();
    store.apply(&changed).unwrap();
    let after = TrieState::new(&store, changed.root);
    assert_ne!(
        after.closest_descendant_merkle_value(&[0]).unwrap(),
        under_zero
    );
    assert_eq!(
        after.closest_descendant_merkle_value(&[1]).unwrap(),
        under_one
    );
}
