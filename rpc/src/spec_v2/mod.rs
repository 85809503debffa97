//! The new Substrate JSON-RPC interface (paritytech/json-rpc-interface-spec), the one
//! polkadot-api and light clients speak: `chainHead_v1_*` (follow the head of the chain and
//! read pinned blocks), `transactionWatch_v1_*` / `transaction_v1_*` (submit and follow a
//! transaction), `chainSpec_v1_*` and `archive_v1_*`.
//!
//! Invariants: every bad input (malformed parameters or hex, a hash that is not pinned, a
//! duplicated hash, an operation that is not waiting) gets the spec's JSON-RPC error and
//! changes nothing; what a connection can hold is bounded: at most
//! [`chain_head::MAX_FOLLOWS_PER_CONNECTION`] follow subscriptions, each with at most
//! [`chain_head::MAX_PINNED`] pinned blocks and [`chain_head::MAX_OPERATIONS`] operation
//! slots, storage answered in pages, at most [`transaction::MAX_BROADCASTS_PER_CONNECTION`]
//! broadcasts; a reader too slow to keep up with its follow subscription is stopped, never
//! buffered for without bound. Everything is read through the same [`arceon_client::Client`]
//! calls the legacy methods use (`chainHead_v1_call` is `state_call`'s path), so both
//! interfaces give the same bytes.

pub(crate) mod archive;
pub(crate) mod chain_head;
pub(crate) mod storage;
pub(crate) mod transaction;
pub(crate) mod tree;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arceon_txpool::ChainApi;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{RpcModule, SubscriptionMessage, SubscriptionSink};
use serde_json::{json, Value};

use crate::json::{error, invalid_params};
use crate::methods::method;
use crate::Context;

/// The spec's error codes.
pub(crate) mod codes {
    /// Too many `chainHead_v1_follow` subscriptions on this connection.
    pub const REACHED_LIMITS: i32 = -32800;
    /// The block hash is not pinned by this follow subscription.
    pub const INVALID_BLOCK: i32 = -32801;
    /// `chainHead_v1_call` on a subscription that follows without the runtime.
    pub const INVALID_RUNTIME_CALL: i32 = -32802;
    /// `chainHead_v1_continue` for an operation that is not waiting for it.
    pub const INVALID_CONTINUE: i32 = -32803;
    /// `chainHead_v1_unpin` with a hash given twice.
    pub const INVALID_DUPLICATE_HASHES: i32 = -32804;
}

/// State of the new-spec methods shared by every connection.
pub(crate) struct SpecV2 {
    /// Live `chainHead_v1_follow` subscriptions.
    pub follows: Arc<chain_head::Follows>,
    /// Live `transaction_v1_broadcast` operations.
    pub broadcasts: transaction::Broadcasts,
    ids: IdSource,
}

impl SpecV2 {
    pub fn new() -> Self {
        SpecV2 {
            follows: Arc::new(chain_head::Follows::default()),
            broadcasts: transaction::Broadcasts::default(),
            ids: IdSource::new(),
        }
    }

    /// A fresh operation id nobody can guess (so no client can stop another's broadcast).
    pub fn random_id(&self) -> String {
        self.ids.next()
    }
}

/// Unguessable ids without a random-number crate: SipHash, keyed at random per process,
/// of a counter.
struct IdSource {
    keys: std::collections::hash_map::RandomState,
    counter: AtomicU64,
}

impl IdSource {
    fn new() -> Self {
        IdSource {
            keys: std::collections::hash_map::RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut first = self.keys.build_hasher();
        first.write_u64(n);
        let mut second = self.keys.build_hasher();
        second.write_u64(n);
        second.write_u8(0xa5);
        format!("{:016x}{:016x}", first.finish(), second.finish())
    }
}

/// A subscription or operation id as the client sends it back: the spec's ids are
/// strings, but a client may echo a numeric id as a number.
pub(crate) fn id_param(value: &Value) -> Result<String, ErrorObjectOwned> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(invalid_params(format!("{other} is not a subscription id"))),
    }
}

/// The subscription id of a sink, as [`id_param`] reads it back.
pub(crate) fn sink_id(sink: &SubscriptionSink) -> String {
    match sink.subscription_id() {
        jsonrpsee::types::SubscriptionId::Num(n) => n.to_string(),
        jsonrpsee::types::SubscriptionId::Str(s) => s.into_owned(),
    }
}

/// A notification for `sink`, or `None` if the value cannot be serialized (it always can:
/// it was built with `json!`).
pub(crate) fn message(value: &Value) -> Option<SubscriptionMessage> {
    serde_json::value::to_raw_value(value)
        .ok()
        .map(SubscriptionMessage::from)
}

/// A runtime version as the spec's `finalizedBlockRuntime` / `newRuntime`: `apis` is an
/// object from the 8-byte API id to its version (not the legacy list of pairs).
pub(crate) fn runtime_json(version: &arceon_primitives::RuntimeVersion) -> Value {
    let apis: serde_json::Map<String, Value> = version
        .apis
        .iter()
        .map(|(id, v)| (arceon_primitives::to_hex(id), json!(v)))
        .collect();
    json!({
        "type": "valid",
        "spec": {
            "specName": version.spec_name,
            "implName": version.impl_name,
            "specVersion": version.spec_version,
            "implVersion": version.impl_version,
            "transactionVersion": version.transaction_version,
            "apis": apis,
        }
    })
}

pub(crate) fn invalid_block() -> ErrorObjectOwned {
    error(
        codes::INVALID_BLOCK,
        "Invalid block hash: not pinned by this follow subscription",
        None,
    )
}

/// Registers every new-spec method.
pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    method(module, "chainSpec_v1_chainName", |_, ctx| {
        Ok(json!(ctx.deps.chain_name))
    })?;
    method(module, "chainSpec_v1_genesisHash", |_, ctx| {
        Ok(json!(ctx.deps.client.genesis_hash()))
    })?;
    method(module, "chainSpec_v1_properties", |_, ctx| {
        Ok(Value::Object(ctx.deps.properties.clone()))
    })?;
    chain_head::register(module)?;
    transaction::register(module)?;
    archive::register(module)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_apis_are_an_object_of_hex_ids() {
        let version = arceon_runtime::version();
        let value = runtime_json(&version);
        assert_eq!(value["type"], "valid");
        assert_eq!(value["spec"]["specName"], "arceon");
        let core = arceon_primitives::to_hex(&arceon_runtime::api_id("Core"));
        assert!(value["spec"]["apis"][&core].is_number(), "{value}");
        assert_eq!(core.len(), 2 + 16);
    }

    #[test]
    fn ids_are_distinct_and_opaque() {
        let source = IdSource::new();
        let a = source.next();
        let b = source.next();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn ids_come_back_as_strings_or_numbers() {
        assert_eq!(id_param(&json!("abc")).ok(), Some("abc".to_string()));
        assert_eq!(id_param(&json!(12)).ok(), Some("12".to_string()));
        assert!(id_param(&json!([1])).is_err());
    }
}
