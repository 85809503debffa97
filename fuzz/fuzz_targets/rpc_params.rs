//! What RPC clients send as parameters: hashes and hex bytes (`parse_hash`), account
//! addresses (SS58 or hex), JSON parameter lists, and `state_call`'s SCALE-encoded
//! runtime-API arguments, answered on the dev chain's genesis state.
#![no_main]

use arceon_fuzz::seeds::STATE_CALL_METHODS;
use arceon_primitives::{from_hex, parse_account};
use serde_json::Value;

fn text_params(text: &str) {
    if let Ok(hash) = arceon_rpc::parse_hash(text) {
        assert_eq!(format!("{hash:?}"), text.to_ascii_lowercase());
    }
    let _ = parse_account(text);
    let _ = from_hex(text);
}

fn walk(value: &Value, depth: usize) {
    if depth > 64 {
        return;
    }
    match value {
        Value::String(text) => text_params(text),
        Value::Array(items) => items.iter().for_each(|v| walk(v, depth + 1)),
        Value::Object(map) => map.values().for_each(|v| walk(v, depth + 1)),
        Value::Number(n) => {
            let _ = n.as_u64().map(u32::try_from);
        }
        Value::Null | Value::Bool(_) => {}
    }
}

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("rpc_params"), |data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                text_params(text);
            }
        }
        1 => {
            if let Ok(value) = serde_json::from_slice::<Value>(rest) {
                walk(&value, 0);
            }
        }
        _ => {
            let Some((method, input)) = rest.split_first() else {
                return;
            };
            let method = STATE_CALL_METHODS[usize::from(*method) % STATE_CALL_METHODS.len()];
            let (state, genesis) = arceon_fuzz::dev_genesis();
            let _ = arceon_runtime::api::call(state, *genesis, method, input);
        }
    }
});
