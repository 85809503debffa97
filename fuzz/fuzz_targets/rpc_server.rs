//! JSON-RPC requests as a remote client or a web page sends them: any body, posted to a
//! real server on the dev chain (safe methods, the node's default size and batch limits).
//! Every request must get an answer: a crash or a hang of the server is a finding, and so
//! is an answer that is not JSON.
#![no_main]

libfuzzer_sys::fuzz_target!(init: {
    arceon_fuzz::write_seeds("rpc_server");
    arceon_fuzz::rpc::server();
}, |data: &[u8]| {
    let Some((status, body)) = arceon_fuzz::rpc::post(data) else {
        // Closed connection: the next input reconnects.
        return;
    };
    if status == 200 && !body.is_empty() {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
            "a 200 answer is JSON: {}",
            String::from_utf8_lossy(&body)
        );
    }
});
