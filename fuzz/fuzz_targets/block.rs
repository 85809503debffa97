//! Blocks and headers as peers send them (gossiped blocks, block responses): decoded
//! exactly as the node decodes them, hashed, and their extrinsics decoded as import
//! decodes them. Whatever decodes must re-encode to the same bytes.
#![no_main]

use arceon_primitives::{Block, Header};
use arceon_runtime::Extrinsic;
use codec::{DecodeAll, Encode};

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("block"), |data: &[u8]| {
    if let Ok(header) = Header::decode_all(&mut &data[..]) {
        assert_eq!(header.encode(), data, "a decoded header re-encodes to its bytes");
        let _ = header.hash();
        let (unsealed, seal) = header.split_seal();
        assert_eq!(unsealed.digest.logs.len() + usize::from(seal.is_some()), header.digest.logs.len());
        let _ = header.digest.aura_slot();
        let _ = arceon_runtime::grandpa::scheduled_change(&header.digest);
    }
    if let Ok(block) = Block::decode_all(&mut &data[..]) {
        assert_eq!(block.encode(), data, "a decoded block re-encodes to its bytes");
        let _ = block.header.hash();
        let _ = arceon_state::ordered_trie_root(&block.extrinsics);
        for xt in &block.extrinsics {
            if let Ok(decoded) = Extrinsic::decode_exact(xt) {
                assert_eq!(&decoded.encode(), xt, "a decoded extrinsic re-encodes to its bytes");
            }
        }
    }
});
