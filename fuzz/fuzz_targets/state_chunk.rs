//! State chunks as a warp-sync server sends them: entries, a completeness claim and a
//! range proof, verified against a fixed state root (or, to reach the trie-node decoder
//! with arbitrary bytes, against the hash of the proof's first node). A chunk accepted
//! against the fixed root must be exactly the state's pairs after `start_after`.
#![no_main]

use arceon_fuzz::seeds::ChunkInput;
use arceon_primitives::{blake2_256, H256};
use arceon_state::{verify_range_proof, StorageProof};
use codec::DecodeAll;

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("state_chunk"), |data: &[u8]| {
    let Ok((start_after, entries, complete, nodes, root_from_proof)) =
        ChunkInput::decode_all(&mut &data[..])
    else {
        return;
    };
    let (state, pairs) = arceon_fuzz::small_state();
    let fixed = state.root();
    let root = match nodes.first() {
        Some(first) if root_from_proof => H256(blake2_256(first)),
        _ => fixed,
    };
    let proof = StorageProof::new(nodes);
    let verdict = verify_range_proof(&root, &proof, start_after.as_deref(), &entries, complete);
    if verdict.is_ok() && root == fixed {
        let following: Vec<_> = pairs
            .iter()
            .filter(|(k, _)| start_after.as_ref().is_none_or(|s| k > s))
            .cloned()
            .collect();
        assert_eq!(entries[..], following[..entries.len()], "accepted pairs are the state's");
        assert_eq!(complete, following.len() == entries.len(), "completeness is the state's");
    }
});
