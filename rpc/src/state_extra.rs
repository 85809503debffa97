//! The rest of Substrate's legacy state, system and author methods that clients and
//! indexers use: `state_queryStorage` (changes of keys over a range of blocks),
//! `state_getPairs` (unsafe), `system_syncState`, `system_dryRun` (unsafe) and
//! `author_removeExtrinsic` (unsafe).
//!
//! Invariants: every range, key list and answer is bounded (an oversized request gets an
//! error naming the bound, never a partial answer that looks whole); unsafe methods answer
//! only when the node allows them; nothing here writes chain state.

use arceon_primitives::{to_hex, BlockNumber, H256};
use arceon_txpool::ChainApi;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use serde_json::{json, Value};

use crate::json::{invalid_params, parse_bytes, parse_hash};
use crate::methods::{at_block, method, require_unsafe, state_error, MAX_KEYS_PER_CALL};
use crate::Context;

/// The most blocks one `state_queryStorage` walks (Substrate's default range limit).
const MAX_QUERY_RANGE: u32 = 1000;
/// The most pairs `state_getPairs` returns; beyond it, page with `state_getKeysPaged`.
const MAX_PAIRS: usize = 10_000;
/// The most transactions one `author_removeExtrinsic` names.
const MAX_REMOVALS: usize = 1000;

/// The hashes from `from` to `to` (inclusive, oldest first), if `to` descends from `from`
/// within [`MAX_QUERY_RANGE`] blocks.
fn range<A: ChainApi>(
    ctx: &Context<A>,
    from: H256,
    to: H256,
) -> Result<Vec<H256>, ErrorObjectOwned> {
    let client = &ctx.deps.client;
    let header = |hash: &H256| {
        client
            .header(hash)
            .map_err(state_error)?
            .ok_or_else(|| invalid_params(format!("unknown block {hash:?}")))
    };
    let first = header(&from)?;
    let mut hashes = vec![to];
    let mut current = header(&to)?;
    if current.number < first.number {
        return Err(invalid_params("the range ends before it starts"));
    }
    if current.number - first.number >= MAX_QUERY_RANGE {
        return Err(invalid_params(format!(
            "the range spans more than {MAX_QUERY_RANGE} blocks"
        )));
    }
    while current.number > first.number {
        let parent = current.parent_hash;
        hashes.push(parent);
        current = header(&parent)?;
    }
    if hashes.last() != Some(&from) {
        return Err(invalid_params(
            "the last block does not descend from the first",
        ));
    }
    hashes.reverse();
    Ok(hashes)
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    method(module, "state_queryStorage", |params, ctx| {
        let mut seq = params.sequence();
        let keys: Vec<String> = seq.next()?;
        let from: String = seq.next()?;
        let to: Option<String> = seq.optional_next()?;
        if keys.len() > MAX_KEYS_PER_CALL {
            return Err(invalid_params("too many keys"));
        }
        let keys = keys
            .iter()
            .map(|k| parse_bytes(k).map(|bytes| (k.clone(), bytes)))
            .collect::<Result<Vec<_>, _>>()?;
        let from = parse_hash(&from)?;
        let to = at_block(&ctx.deps.client, to)?;
        let mut previous: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        let mut sets = Vec::new();
        for (i, hash) in range(ctx, from, to)?.into_iter().enumerate() {
            let state = ctx.deps.client.state_at(&hash).map_err(state_error)?;
            let mut changes = Vec::new();
            for ((text, key), last) in keys.iter().zip(previous.iter_mut()) {
                let value = state.get(key).map_err(state_error)?;
                // The first block reports every key; later ones only what changed.
                if i == 0 || value != *last {
                    changes.push(json!([text, value.as_deref().map(to_hex)]));
                }
                *last = value;
            }
            if i == 0 || !changes.is_empty() {
                sets.push(json!({ "block": hash, "changes": changes }));
            }
        }
        Ok(Value::Array(sets))
    })?;
    method(module, "state_getPairs", |params, ctx| {
        require_unsafe(ctx)?;
        let mut seq = params.sequence();
        let prefix: String = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        let prefix = parse_bytes(&prefix)?;
        let at = at_block(&ctx.deps.client, at)?;
        let pairs = ctx
            .deps
            .client
            .state_at(&at)
            .map_err(state_error)?
            .pairs_with_prefix(&prefix, None, MAX_PAIRS + 1)
            .map_err(state_error)?;
        if pairs.len() > MAX_PAIRS {
            return Err(invalid_params(format!(
                "more than {MAX_PAIRS} pairs under this prefix: page with state_getKeysPaged"
            )));
        }
        Ok(json!(pairs
            .iter()
            .map(|(k, v)| json!([to_hex(k), to_hex(v)]))
            .collect::<Vec<_>>()))
    })?;
    method(module, "system_syncState", |_, ctx| {
        let best: BlockNumber = ctx.deps.client.best().0;
        let highest = ctx
            .deps
            .network
            .as_ref()
            .map(|net| net.peers().iter().map(|p| p.best_number).max().unwrap_or(0))
            .unwrap_or(0)
            .max(best);
        Ok(json!({
            "startingBlock": ctx.starting_block,
            "currentBlock": best,
            "highestBlock": highest,
        }))
    })?;
    method(module, "system_dryRun", |params, ctx| {
        require_unsafe(ctx)?;
        let mut seq = params.sequence();
        let extrinsic: String = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        let extrinsic = parse_bytes(&extrinsic)?;
        let client = &ctx.deps.client;
        let at = at_block(client, at)?;
        // Applied in a block built on `at` in the next slot, then thrown away.
        let slot = client
            .storage(&at, &arceon_runtime::aura::CurrentSlot::key())
            .map_err(state_error)?
            .and_then(|bytes| <u64 as codec::Decode>::decode(&mut &bytes[..]).ok())
            .unwrap_or_default()
            .saturating_add(1);
        let mut outcome = None;
        client
            .build_block(&at, slot, |builder| {
                outcome = Some(builder.apply_extrinsic(extrinsic));
            })
            .map_err(state_error)?;
        let outcome = outcome.ok_or_else(|| state_error("the block was not built"))?;
        Ok(json!(to_hex(&codec::Encode::encode(&outcome))))
    })?;
    method(module, "author_removeExtrinsic", |params, ctx| {
        require_unsafe(ctx)?;
        let items: Vec<Value> = params.one()?;
        if items.len() > MAX_REMOVALS {
            return Err(invalid_params(format!(
                "at most {MAX_REMOVALS} transactions per call"
            )));
        }
        let mut hashes = Vec::with_capacity(items.len());
        for item in &items {
            let hash = match (
                item.get("hash").and_then(Value::as_str),
                item.get("extrinsic").and_then(Value::as_str),
            ) {
                (Some(hash), None) => parse_hash(hash)?,
                (None, Some(extrinsic)) => arceon_runtime::extrinsic_hash(&parse_bytes(extrinsic)?),
                _ => {
                    return Err(invalid_params(
                        "each item is {\"hash\": \"0x...\"} or {\"extrinsic\": \"0x...\"}",
                    ))
                }
            };
            hashes.push(hash);
        }
        let removed = ctx.deps.pool.remove_invalid(&hashes);
        Ok(json!(removed
            .iter()
            .map(|tx| tx.hash)
            .collect::<Vec<H256>>()))
    })?;
    Ok(())
}
