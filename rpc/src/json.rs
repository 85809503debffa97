//! Substrate's JSON shapes and JSON-RPC error codes.

use arceon_primitives::{from_hex, to_hex, Header, H256};
use arceon_txpool::{PoolError, TxStatus};
use codec::Encode;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{json, Value};

/// Invalid parameters (JSON-RPC).
pub const INVALID_PARAMS: i32 = -32602;
/// Internal error (JSON-RPC).
pub const INTERNAL_ERROR: i32 = -32603;
/// Method not allowed here (unsafe method on a safe server), as Substrate.
pub const UNSAFE_METHOD: i32 = -32601;
/// Substrate's author errors.
pub const POOL_INVALID_TX: i32 = 1010;
/// The transaction's validity cannot be decided.
pub const POOL_UNKNOWN_VALIDITY: i32 = 1011;
/// The transaction is temporarily banned.
pub const POOL_TEMPORARILY_BANNED: i32 = 1012;
/// The transaction is already in the pool.
pub const POOL_ALREADY_IMPORTED: i32 = 1013;
/// Replacing a transaction needs a higher priority.
pub const POOL_TOO_LOW_PRIORITY: i32 = 1014;
/// The transaction would create a cycle.
pub const POOL_CYCLE_DETECTED: i32 = 1015;
/// The pool is full.
pub const POOL_IMMEDIATELY_DROPPED: i32 = 1016;
/// Runtime API call failed (state_call), as Substrate's `StateError`.
pub const STATE_CALL_FAILED: i32 = 4003;
/// State unavailable (unknown or pruned block).
pub const STATE_UNAVAILABLE: i32 = 4002;
/// Author key errors.
pub const KEYSTORE_ERROR: i32 = 1005;
/// The network or finality gadget is not running or failed (Substrate's system errors).
pub const NETWORK_ERROR: i32 = 2001;

/// A JSON-RPC error object.
pub fn error(code: i32, message: impl Into<String>, data: Option<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), data)
}

/// An invalid-parameters error.
pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    error(INVALID_PARAMS, message, None)
}

/// Parses `0x`-prefixed hex bytes. The empty string is empty bytes, as clients send it for
/// a runtime call without parameters (polkadot-api does).
pub fn parse_bytes(text: &str) -> Result<Vec<u8>, ErrorObjectOwned> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if !text.starts_with("0x") {
        return Err(invalid_params(format!("'{text}' is not 0x-prefixed hex")));
    }
    from_hex(text).map_err(|e| invalid_params(format!("invalid hex: {e}")))
}

/// Parses a 32-byte hash.
pub fn parse_hash(text: &str) -> Result<H256, ErrorObjectOwned> {
    let bytes = parse_bytes(text)?;
    if bytes.len() != 32 {
        return Err(invalid_params(format!(
            "a block hash has 32 bytes, got {}",
            bytes.len()
        )));
    }
    Ok(H256::from_slice(&bytes))
}

/// A header as Substrate's JSON: the number is a hex string, digest logs are hex.
pub fn header_json(header: &Header) -> Value {
    json!({
        "parentHash": header.parent_hash,
        "number": format!("0x{:x}", header.number),
        "stateRoot": header.state_root,
        "extrinsicsRoot": header.extrinsics_root,
        "digest": {
            "logs": header.digest.logs.iter().map(|log| to_hex(&log.encode())).collect::<Vec<_>>()
        }
    })
}

/// A pool refusal as Substrate's author error.
pub fn pool_error(error_value: &PoolError) -> ErrorObjectOwned {
    let message = error_value.to_string();
    match error_value {
        PoolError::Invalid(invalid) => error(
            POOL_INVALID_TX,
            "Invalid Transaction",
            Some(invalid.to_string()),
        ),
        PoolError::Unknown(unknown) => error(
            POOL_UNKNOWN_VALIDITY,
            "Unknown Transaction Validity",
            Some(unknown.to_string()),
        ),
        PoolError::TemporarilyBanned => error(POOL_TEMPORARILY_BANNED, message, None),
        PoolError::AlreadyImported(_) => error(POOL_ALREADY_IMPORTED, message, None),
        PoolError::TooLowPriority { .. } => error(POOL_TOO_LOW_PRIORITY, message, None),
        PoolError::CycleDetected => error(POOL_CYCLE_DETECTED, message, None),
        PoolError::ImmediatelyDropped | PoolError::TooLarge { .. } => {
            error(POOL_IMMEDIATELY_DROPPED, message, None)
        }
        PoolError::NoTagsProvided => error(POOL_INVALID_TX, message, None),
    }
}

/// A transaction status as `author_extrinsicUpdate` reports it.
pub fn status_json(status: &TxStatus) -> Value {
    match status {
        TxStatus::Future => json!("future"),
        TxStatus::Ready => json!("ready"),
        TxStatus::Broadcast(peers) => json!({ "broadcast": peers }),
        TxStatus::InBlock(hash) => json!({ "inBlock": hash }),
        TxStatus::Retracted(hash) => json!({ "retracted": hash }),
        TxStatus::FinalityTimeout(hash) => json!({ "finalityTimeout": hash }),
        TxStatus::Finalized(hash) => json!({ "finalized": hash }),
        TxStatus::Usurped(hash) => json!({ "usurped": hash }),
        TxStatus::Dropped => json!("dropped"),
        TxStatus::Invalid => json!("invalid"),
    }
}
