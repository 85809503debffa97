//! Building chains of blocks with random state changes for the database tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use arceon_db::{Database, ImportBlock};
use arceon_primitives::{Digest, DigestItem, Header, H256};
use arceon_state::{ordered_trie_root, storage_root, StateDelta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;

pub fn key(id: u32) -> Vec<u8> {
    // A pallet-like prefix followed by a hashed-looking suffix.
    let mut key = vec![0x26, 0xAA, (id % 4) as u8];
    key.extend_from_slice(&arceon_primitives::blake2_128(&id.to_le_bytes()));
    key
}

pub fn random_value(rng: &mut StdRng) -> Vec<u8> {
    let len = if rng.gen_bool(0.6) {
        rng.gen_range(4..32)
    } else {
        rng.gen_range(33..100)
    };
    (0..len).map(|_| rng.gen()).collect()
}

pub fn genesis_state(keys: u32, seed: u64) -> (Model, StateDelta, Header) {
    let mut rng = StdRng::seed_from_u64(seed);
    let model: Model = (0..keys)
        .map(|id| (key(id), random_value(&mut rng)))
        .collect();
    let delta = storage_root(model.clone());
    let header = Header {
        parent_hash: H256::zero(),
        number: 0,
        state_root: delta.root,
        extrinsics_root: ordered_trie_root(&[]),
        digest: Digest::default(),
    };
    (model, delta, header)
}

/// Random changes: mostly updates, some deletions and new keys.
pub fn random_changes(
    rng: &mut StdRng,
    count: usize,
    key_space: u32,
) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    (0..count)
        .map(|_| {
            let k = key(rng.gen_range(0..key_space));
            let v = if rng.gen_bool(0.1) {
                None
            } else {
                Some(random_value(rng))
            };
            (k, v)
        })
        .collect()
}

pub fn apply(model: &mut Model, changes: &[(Vec<u8>, Option<Vec<u8>>)]) {
    for (k, v) in changes {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

/// A child of `parent` applying `changes` to its state (read from `db`). `salt` tells
/// siblings with equal changes apart.
pub fn child(
    db: &Database,
    parent: &Header,
    changes: &[(Vec<u8>, Option<Vec<u8>>)],
    salt: u64,
) -> ImportBlock {
    let state = db.state_at(&parent.hash()).expect("parent state");
    let delta = state
        .apply_changes(changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref())))
        .expect("apply");
    let body: Vec<Vec<u8>> = (0..(salt % 3))
        .map(|i| vec![i as u8; 10 + i as usize])
        .collect();
    let header = Header {
        parent_hash: parent.hash(),
        number: parent.number + 1,
        state_root: delta.root,
        extrinsics_root: ordered_trie_root(&body),
        digest: Digest {
            logs: vec![DigestItem::Other(salt.to_le_bytes().to_vec())],
        },
    };
    ImportBlock {
        header,
        body,
        justification: None,
        state: delta,
        set_best: false,
        finalize: false,
    }
}

/// All pairs of a state, read through the database.
pub fn read_all(db: &Database, hash: &H256) -> Model {
    db.state_at(hash)
        .expect("state")
        .pairs_with_prefix(&[], None, usize::MAX)
        .expect("pairs")
        .into_iter()
        .collect()
}

/// Recomputes a block's state root from its full contents: the state is complete and
/// intact iff this equals the header's root.
pub fn recomputed_root(db: &Database, hash: &H256) -> H256 {
    storage_root(read_all(db, hash)).root
}
