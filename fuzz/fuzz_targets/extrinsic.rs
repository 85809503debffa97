//! Extrinsics as peers gossip them and RPC clients submit them: decoded as the pool
//! decodes them, weighed, priced, and validated against the dev chain's genesis state
//! (the pool's entry point: signature, nonce and fee checks for signed ones, the
//! pallets' own checks for unsigned evidence and heartbeats).
#![no_main]

use arceon_primitives::TransactionSource;
use arceon_runtime::executive::{query_info, validate_transaction};
use arceon_runtime::Extrinsic;
use codec::Encode;

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("extrinsic"), |data: &[u8]| {
    let (state, genesis) = arceon_fuzz::dev_genesis();
    let decoded = Extrinsic::decode_exact(data);
    if let Ok(xt) = &decoded {
        assert_eq!(xt.encode(), data, "a decoded extrinsic re-encodes to its bytes");
        let info = xt.function.info();
        let _ = arceon_runtime::extrinsic_weight(&info);
        let _ = xt.hash();
    }
    let priced = query_info(data);
    assert_eq!(priced.is_ok(), decoded.is_ok(), "query_info decodes as the pool does");
    let validity = validate_transaction(state, *genesis, TransactionSource::External, data, *genesis);
    if decoded.is_err() {
        assert!(validity.is_err(), "undecodable bytes are never valid");
    }
});
