//! Justifications as peers send them (block responses, warp proofs) and as
//! `grandpa_proveFinality` clients receive them: decoded exactly, then verified against a
//! fixed set of four authorities for the block the commit names, so the fuzzer reaches
//! every structural check (shape, ancestry, threshold) before the signatures.
#![no_main]

use arceon_finality::justification::GrandpaJustification;
use arceon_finality::wire::FinalityProof;
use codec::{DecodeAll, Encode};

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("justification"), |data: &[u8]| {
    if let Ok(justification) = GrandpaJustification::decode_exact(data) {
        assert_eq!(justification.encode(), data, "a decoded justification re-encodes to its bytes");
        let target = (justification.commit.target_hash, justification.commit.target_number);
        let _ = justification.verify(0, arceon_fuzz::authorities(), target);
    }
    if let Ok(proof) = FinalityProof::decode_all(&mut &data[..]) {
        let _ = GrandpaJustification::decode_exact(&proof.justification);
    }
});
