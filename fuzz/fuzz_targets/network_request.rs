//! Sync requests as a peer sends them: read off a stream by the protocol codec (frame
//! length limit, then an exact decode with a depth limit), or decoded directly.
#![no_main]

use arceon_fuzz::net::{read_request, Mode};
use arceon_network::protocol::{decode_untrusted, Request};
use codec::Encode;

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("network_request"), |data: &[u8]| {
    let Some((mode, rest)) = Mode::split(data) else {
        return;
    };
    match mode {
        Mode::Message => {
            if let Ok(request) = decode_untrusted::<Request>(rest) {
                assert_eq!(request.encode(), rest, "a decoded request re-encodes to its bytes");
                arceon_fuzz::net::inspect_request(&request);
            }
        }
        Mode::Frame => {
            if let Some(request) = read_request(rest) {
                arceon_fuzz::net::inspect_request(&request);
            }
        }
    }
});
