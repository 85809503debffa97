//! Request/response methods: `chain_*`, `state_*`, `author_*`, `system_*`, `payment_*`.

use std::collections::HashSet;

use arceon_client::Client;
use arceon_primitives::{parse_account, to_hex, AccountId32, BlockNumber, TransactionSource, H256};
use arceon_runtime::payment::RuntimeDispatchInfo;
use arceon_txpool::ChainApi;
use codec::{Decode, Encode};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde_json::{json, Value};

use crate::json::{
    error, header_json, invalid_params, parse_bytes, parse_hash, pool_error, INTERNAL_ERROR,
    KEYSTORE_ERROR, NETWORK_ERROR, STATE_CALL_FAILED, STATE_UNAVAILABLE, UNSAFE_METHOD,
};
use crate::Context;

type RpcResult = Result<Value, ErrorObjectOwned>;

/// Most keys `state_getKeysPaged` returns at once.
const MAX_KEYS_PAGE: u32 = 1000;
/// Most keys one `state_getReadProof` / `state_queryStorageAt` call may ask for.
pub(crate) const MAX_KEYS_PER_CALL: usize = 1000;

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    error(INTERNAL_ERROR, e.to_string(), None)
}

pub(crate) fn state_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
    error(STATE_UNAVAILABLE, e.to_string(), None)
}

/// The block a call refers to: the given hash (which must be stored) or the best block.
pub(crate) fn at_block(client: &Client, at: Option<String>) -> Result<H256, ErrorObjectOwned> {
    match at {
        None => Ok(client.best().1),
        Some(text) => {
            let hash = parse_hash(&text)?;
            match client.header(&hash).map_err(internal)? {
                Some(_) => Ok(hash),
                None => Err(error(
                    STATE_UNAVAILABLE,
                    format!("unknown block {hash:?}"),
                    None,
                )),
            }
        }
    }
}

fn block_number_param(value: &Value) -> Result<BlockNumber, ErrorObjectOwned> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| BlockNumber::try_from(n).ok())
            .ok_or_else(|| invalid_params(format!("{n} is not a block number"))),
        Value::String(s) => {
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse::<u64>().ok(),
            };
            parsed
                .and_then(|n| BlockNumber::try_from(n).ok())
                .ok_or_else(|| invalid_params(format!("'{s}' is not a block number")))
        }
        other => Err(invalid_params(format!("{other} is not a block number"))),
    }
}

pub(crate) fn method<A, F>(
    module: &mut RpcModule<Context<A>>,
    name: &'static str,
    f: F,
) -> Result<(), jsonrpsee::core::RegisterMethodError>
where
    A: ChainApi,
    F: Fn(Params, &Context<A>) -> RpcResult + Clone + Send + Sync + 'static,
{
    module.register_blocking_method(name, move |params, ctx, _| {
        ctx.count(name);
        f(params, &ctx)
    })?;
    Ok(())
}

pub(crate) fn require_unsafe<A: ChainApi>(ctx: &Context<A>) -> Result<(), ErrorObjectOwned> {
    if ctx.allow_unsafe {
        Ok(())
    } else {
        Err(error(
            UNSAFE_METHOD,
            "RPC call is unsafe to be called externally (start the node with --rpc-methods unsafe)",
            None,
        ))
    }
}

/// The next nonce of `who`: the chain's, advanced past consecutive nonces in the pool.
pub(crate) fn next_index<A: ChainApi>(
    ctx: &Context<A>,
    who: &AccountId32,
) -> Result<u32, ErrorObjectOwned> {
    let client = &ctx.deps.client;
    let best = client.best().1;
    let nonce_bytes = client
        .call(&best, "AccountNonceApi_account_nonce", &who.encode())
        .map_err(state_error)?;
    let mut next = u32::decode(&mut &nonce_bytes[..]).map_err(internal)?;
    let provided: HashSet<Vec<u8>> = ctx
        .deps
        .pool
        .transactions()
        .iter()
        .flat_map(|tx| tx.provides.clone())
        .collect();
    // Bounded by the pool size: each step needs a distinct pool transaction.
    while provided.contains(&(who.clone(), next).encode()) {
        next = next.saturating_add(1);
    }
    Ok(next)
}

fn submit<A: ChainApi>(ctx: &Context<A>, hex: &str) -> Result<(H256, Vec<u8>), ErrorObjectOwned> {
    let bytes = parse_bytes(hex)?;
    // A blocking method runs on its own thread: wait there for the batch it joins.
    futures::executor::block_on(ctx.submitter.submit(
        TransactionSource::External,
        bytes.clone(),
        false,
    ))
    .map(|(hash, _)| (hash, bytes))
    .map_err(|e| pool_error(&e))
}

/// The value named by `(key, at?)` params, shared by the `state_getStorage*` methods.
fn storage_value<A: ChainApi>(
    params: &Params,
    ctx: &Context<A>,
) -> Result<Option<Vec<u8>>, ErrorObjectOwned> {
    let mut seq = params.sequence();
    let key: String = seq.next()?;
    let at: Option<String> = seq.optional_next()?;
    let key = parse_bytes(&key)?;
    let client = &ctx.deps.client;
    let at = at_block(client, at)?;
    client.storage(&at, &key).map_err(state_error)
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    // chain_*
    method(module, "chain_getHeader", |params, ctx| {
        let mut seq = params.sequence();
        let at: Option<String> = seq.optional_next()?;
        let client = &ctx.deps.client;
        let hash = match at {
            None => client.best().1,
            Some(text) => parse_hash(&text)?,
        };
        Ok(client
            .header(&hash)
            .map_err(internal)?
            .map(|h| header_json(&h))
            .unwrap_or(Value::Null))
    })?;
    method(module, "chain_getBlock", |params, ctx| {
        let mut seq = params.sequence();
        let at: Option<String> = seq.optional_next()?;
        let client = &ctx.deps.client;
        let hash = match at {
            None => client.best().1,
            Some(text) => parse_hash(&text)?,
        };
        let Some(block) = client.block(&hash).map_err(internal)? else {
            return Ok(Value::Null);
        };
        let justification = client.justification(&hash).map_err(internal)?;
        Ok(json!({
            "block": {
                "header": header_json(&block.header),
                "extrinsics": block.extrinsics.iter().map(|x| to_hex(x)).collect::<Vec<_>>(),
            },
            "justifications": justification.map(|j| vec![(to_hex(b"FRNK"), to_hex(&j))]),
        }))
    })?;
    method(module, "chain_getBlockHash", |params, ctx| {
        let mut seq = params.sequence();
        let arg: Option<Value> = seq.optional_next()?;
        let client = &ctx.deps.client;
        let lookup = |value: &Value| -> RpcResult {
            let number = block_number_param(value)?;
            Ok(client
                .hash(number)
                .map_err(internal)?
                .map(|h| json!(h))
                .unwrap_or(Value::Null))
        };
        match arg {
            None | Some(Value::Null) => Ok(json!(client.best().1)),
            Some(Value::Array(items)) => {
                if items.len() > MAX_KEYS_PER_CALL {
                    return Err(invalid_params("too many block numbers"));
                }
                Ok(Value::Array(
                    items.iter().map(lookup).collect::<Result<Vec<_>, _>>()?,
                ))
            }
            Some(value) => lookup(&value),
        }
    })?;
    method(module, "chain_getFinalizedHead", |_, ctx| {
        Ok(json!(ctx.deps.client.finalized().1))
    })?;
    module.register_alias("chain_getFinalisedHead", "chain_getFinalizedHead")?;
    module.register_alias("chain_getHead", "chain_getBlockHash")?;

    // state_*
    method(module, "state_getStorage", |params, ctx| {
        Ok(storage_value(&params, ctx)?
            .map(|v| json!(to_hex(&v)))
            .unwrap_or(Value::Null))
    })?;
    method(module, "state_getStorageHash", |params, ctx| {
        Ok(storage_value(&params, ctx)?
            .map(|v| json!(H256(arceon_primitives::blake2_256(&v))))
            .unwrap_or(Value::Null))
    })?;
    method(module, "state_getStorageSize", |params, ctx| {
        Ok(storage_value(&params, ctx)?
            .map(|v| json!(v.len()))
            .unwrap_or(Value::Null))
    })?;
    method(module, "state_getKeysPaged", |params, ctx| {
        let mut seq = params.sequence();
        let prefix: Option<String> = seq.next()?;
        let count: u32 = seq.next()?;
        let start: Option<String> = seq.optional_next()?;
        let at: Option<String> = seq.optional_next()?;
        if count > MAX_KEYS_PAGE {
            return Err(invalid_params(format!(
                "count {count} exceeds the limit of {MAX_KEYS_PAGE}"
            )));
        }
        let prefix = match prefix {
            Some(p) => parse_bytes(&p)?,
            None => Vec::new(),
        };
        let start = start.map(|s| parse_bytes(&s)).transpose()?;
        let client = &ctx.deps.client;
        let at = at_block(client, at)?;
        let state = client.state_at(&at).map_err(state_error)?;
        let pairs = state
            .pairs_with_prefix(&prefix, start.as_deref(), count as usize)
            .map_err(state_error)?;
        Ok(json!(pairs
            .iter()
            .map(|(k, _)| to_hex(k))
            .collect::<Vec<_>>()))
    })?;
    method(module, "state_getReadProof", |params, ctx| {
        let mut seq = params.sequence();
        let keys: Vec<String> = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        if keys.len() > MAX_KEYS_PER_CALL {
            return Err(invalid_params("too many keys"));
        }
        let keys = keys
            .iter()
            .map(|k| parse_bytes(k))
            .collect::<Result<Vec<_>, _>>()?;
        let client = &ctx.deps.client;
        let at = at_block(client, at)?;
        let proof = client
            .state_at(&at)
            .map_err(state_error)?
            .read_proof(&keys)
            .map_err(state_error)?;
        Ok(json!({
            "at": at,
            "proof": proof.nodes.iter().map(|n| to_hex(n)).collect::<Vec<_>>(),
        }))
    })?;
    method(module, "state_queryStorageAt", |params, ctx| {
        let mut seq = params.sequence();
        let keys: Vec<String> = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        if keys.len() > MAX_KEYS_PER_CALL {
            return Err(invalid_params("too many keys"));
        }
        let client = &ctx.deps.client;
        let at = at_block(client, at)?;
        let state = client.state_at(&at).map_err(state_error)?;
        let mut changes = Vec::with_capacity(keys.len());
        for key in &keys {
            let value = state.get(&parse_bytes(key)?).map_err(state_error)?;
            changes.push(json!([key, value.map(|v| to_hex(&v))]));
        }
        Ok(json!([{ "block": at, "changes": changes }]))
    })?;
    method(module, "state_getRuntimeVersion", |params, ctx| {
        let mut seq = params.sequence();
        let at: Option<String> = seq.optional_next()?;
        at_block(&ctx.deps.client, at)?;
        serde_json::to_value(arceon_runtime::version()).map_err(internal)
    })?;
    module.register_alias("chain_getRuntimeVersion", "state_getRuntimeVersion")?;
    method(module, "state_getMetadata", |params, ctx| {
        let mut seq = params.sequence();
        let at: Option<String> = seq.optional_next()?;
        at_block(&ctx.deps.client, at)?;
        let metadata = arceon_runtime::metadata::metadata_bytes(14)
            .ok_or_else(|| internal("the runtime serves no V14 metadata"))?;
        Ok(json!(to_hex(metadata)))
    })?;
    method(module, "state_call", |params, ctx| {
        let mut seq = params.sequence();
        let name: String = seq.next()?;
        let data: String = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        let data = parse_bytes(&data)?;
        let client = &ctx.deps.client;
        let at = at_block(client, at)?;
        let result = client
            .call(&at, &name, &data)
            .map_err(|e| error(STATE_CALL_FAILED, e.to_string(), None))?;
        Ok(json!(to_hex(&result)))
    })?;
    module.register_alias("state_callAt", "state_call")?;

    // author_*
    method(module, "author_submitExtrinsic", |params, ctx| {
        let hex: String = params.one()?;
        let (hash, _) = submit(ctx, &hex)?;
        Ok(json!(hash))
    })?;
    method(module, "author_pendingExtrinsics", |_, ctx| {
        Ok(json!(ctx
            .deps
            .pool
            .pending()
            .iter()
            .map(|tx| to_hex(&tx.data))
            .collect::<Vec<_>>()))
    })?;
    method(module, "author_insertKey", |params, ctx| {
        require_unsafe(ctx)?;
        let mut seq = params.sequence();
        let key_type: String = seq.next()?;
        let suri: String = seq.next()?;
        let public: String = seq.next()?;
        let public = parse_bytes(&public)?;
        ctx.deps
            .keystore
            .insert(&key_type, &suri, Some(&public))
            .map_err(|e| error(KEYSTORE_ERROR, e.to_string(), None))?;
        Ok(Value::Null)
    })?;
    method(module, "author_hasKey", |params, ctx| {
        require_unsafe(ctx)?;
        let mut seq = params.sequence();
        let public: String = seq.next()?;
        let key_type: String = seq.next()?;
        let public = parse_bytes(&public)?;
        let has = ctx
            .deps
            .keystore
            .has_key(&key_type, &public)
            .map_err(|e| error(KEYSTORE_ERROR, e.to_string(), None))?;
        Ok(json!(has))
    })?;

    method(module, "author_rotateKeys", |_, ctx| {
        require_unsafe(ctx)?;
        // Fresh Aura (sr25519) and GRANDPA (ed25519) keys in the keystore; the answer is
        // their SCALE encoding, what `Session.set_keys` takes.
        let keys = ctx
            .deps
            .keystore
            .generate_session_keys()
            .map_err(|e| error(KEYSTORE_ERROR, e.to_string(), None))?;
        Ok(json!(to_hex(&keys.encode())))
    })?;
    method(module, "author_hasSessionKeys", |params, ctx| {
        require_unsafe(ctx)?;
        let keys: String = params.one()?;
        let keys = parse_bytes(&keys)?;
        // Substrate's answer for keys that do not decode is `false`, not an error.
        let Ok(keys) = arceon_primitives::SessionKeys::from_bytes(&keys) else {
            return Ok(json!(false));
        };
        let has = ctx
            .deps
            .keystore
            .has_session_keys(&keys)
            .map_err(|e| error(KEYSTORE_ERROR, e.to_string(), None))?;
        Ok(json!(has))
    })?;

    // system_*
    method(module, "system_health", |_, ctx| {
        let (peers, syncing) = match &ctx.deps.network {
            Some(net) => (net.peers().len(), net.is_syncing()),
            None => (0, false),
        };
        Ok(json!({
            "peers": peers,
            "isSyncing": syncing,
            "shouldHavePeers": ctx.deps.chain_type != "Development",
        }))
    })?;
    method(module, "system_peers", |_, ctx| {
        let peers = ctx
            .deps
            .network
            .as_ref()
            .map(|n| n.peers())
            .unwrap_or_default();
        Ok(json!(peers))
    })?;
    method(module, "system_localPeerId", |_, ctx| {
        match &ctx.deps.network {
            Some(net) => Ok(json!(net.local_peer_id())),
            None => Err(error(NETWORK_ERROR, "the network is not running", None)),
        }
    })?;
    method(module, "system_localListenAddresses", |_, ctx| {
        let addresses = ctx
            .deps
            .network
            .as_ref()
            .map(|n| n.listen_addresses())
            .unwrap_or_default();
        Ok(json!(addresses))
    })?;

    method(module, "system_addReservedPeer", |params, ctx| {
        require_unsafe(ctx)?;
        let address: String = params.one()?;
        let Some(net) = &ctx.deps.network else {
            return Err(error(NETWORK_ERROR, "the network is not running", None));
        };
        net.add_reserved_peer(&address).map_err(invalid_params)?;
        Ok(Value::Null)
    })?;
    method(module, "system_removeReservedPeer", |params, ctx| {
        require_unsafe(ctx)?;
        let peer: String = params.one()?;
        let Some(net) = &ctx.deps.network else {
            return Err(error(NETWORK_ERROR, "the network is not running", None));
        };
        net.remove_reserved_peer(&peer).map_err(invalid_params)?;
        Ok(Value::Null)
    })?;

    // grandpa_*
    method(module, "grandpa_roundState", |_, ctx| {
        match &ctx.deps.finality {
            Some(finality) => Ok(finality.round_state()),
            None => Err(error(
                NETWORK_ERROR,
                "the finality gadget is not running",
                None,
            )),
        }
    })?;
    method(module, "grandpa_proveFinality", |params, ctx| {
        let number: Value = params.one()?;
        let number = block_number_param(&number)?;
        let Some(finality) = &ctx.deps.finality else {
            return Err(error(
                NETWORK_ERROR,
                "the finality gadget is not running",
                None,
            ));
        };
        match finality.prove_finality(number) {
            Ok(Some(proof)) => Ok(json!(to_hex(&proof))),
            Ok(None) => Ok(Value::Null),
            Err(e) => Err(error(NETWORK_ERROR, e, None)),
        }
    })?;
    method(module, "system_chain", |_, ctx| {
        Ok(json!(ctx.deps.chain_name))
    })?;
    method(module, "system_name", |_, _| Ok(json!("Arceon Node")))?;
    method(module, "system_version", |_, _| {
        Ok(json!(env!("CARGO_PKG_VERSION")))
    })?;
    method(module, "system_properties", |_, ctx| {
        Ok(Value::Object(ctx.deps.properties.clone()))
    })?;
    method(module, "system_chainType", |_, ctx| {
        Ok(json!(ctx.deps.chain_type))
    })?;
    method(module, "system_nodeRoles", |_, ctx| {
        Ok(json!([if ctx.deps.is_validator {
            "Authority"
        } else {
            "Full"
        }]))
    })?;
    method(module, "system_accountNextIndex", |params, ctx| {
        let address: String = params.one()?;
        let who = parse_account(&address).map_err(|e| invalid_params(e.to_string()))?;
        Ok(json!(next_index(ctx, &who)?))
    })?;
    module.register_alias("account_nextIndex", "system_accountNextIndex")?;

    // payment_*
    method(module, "payment_queryInfo", |params, ctx| {
        let mut seq = params.sequence();
        let hex: String = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        let bytes = parse_bytes(&hex)?;
        let client = &ctx.deps.client;
        let at = at_block(client, at)?;
        // As TransactionPaymentApi_query_info: (extrinsic, length); an extrinsic's
        // encoding already carries its length prefix.
        let mut input = bytes.clone();
        (bytes.len() as u32).encode_to(&mut input);
        let answer = client
            .call(&at, "TransactionPaymentApi_query_info", &input)
            .map_err(|e| error(STATE_CALL_FAILED, e.to_string(), None))?;
        let info = RuntimeDispatchInfo::decode(&mut &answer[..]).map_err(internal)?;
        Ok(json!({
            "weight": { "refTime": info.weight.ref_time, "proofSize": info.weight.proof_size },
            "class": "normal",
            "partialFee": info.partial_fee.to_string(),
        }))
    })?;
    Ok(())
}
