//! Sync responses as a peer sends them: read off a stream by the protocol codec (16 MiB
//! frame limit, exact decode with a depth limit), or decoded directly; then what the
//! requester decodes inside them (headers, bodies, justifications, warp proofs,
//! catch-ups, state proofs).
#![no_main]

use arceon_fuzz::net::{read_response, Mode};
use arceon_network::protocol::{decode_untrusted, Response};
use codec::Encode;

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("network_response"), |data: &[u8]| {
    let Some((mode, rest)) = Mode::split(data) else {
        return;
    };
    let response = match mode {
        Mode::Message => {
            let Ok(response) = decode_untrusted::<Response>(rest) else {
                return;
            };
            assert_eq!(response.encode(), rest, "a decoded response re-encodes to its bytes");
            response
        }
        Mode::Frame => {
            let Some(response) = read_response(rest) else {
                return;
            };
            response
        }
    };
    arceon_fuzz::net::inspect_response(&response);
});
