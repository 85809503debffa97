//! Warp-sync proofs as a server sends them: verified from a fixed genesis set of four
//! authorities, following the set changes the proof's headers signal.
#![no_main]

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("warp_proof"), |data: &[u8]| {
    let _ = arceon_finality::verify_warp_proof(arceon_fuzz::authorities(), data);
});
