//! `archive_v1_*`: reads of any stored block by hash or height, without a follow
//! subscription: `finalizedHeight`, `genesisHash`, `hashByHeight`, `header`, `body`,
//! `call` and the `storage` subscription (`archive_v1_storageEvent`, stopped with
//! `archive_v1_stopStorage`).
//!
//! Invariants: at or below the finalized height the answers never change (one canonical
//! hash per height); an unknown block is `null` (`storageError` for storage), never an
//! error; a storage query reads in pages of [`ARCHIVE_PAGE_ITEMS`] and waits for the reader
//! between pages, so a whole-state query holds one page in memory, not the state.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use arceon_primitives::{to_hex, BlockNumber, H256};
use arceon_txpool::ChainApi;
use codec::Encode;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionSink};
use serde_json::{json, Value};

use super::message;
use super::storage::{
    descendants_page, parse_queries, single_items, split_descendants, StorageQuery,
};
use crate::json::{invalid_params, parse_bytes, parse_hash};
use crate::methods::{method, state_error};
use crate::Context;

/// Descendant items read at once by `archive_v1_storage`.
pub const ARCHIVE_PAGE_ITEMS: usize = 256;
/// Bytes of values read at once by `archive_v1_storage`.
const ARCHIVE_PAGE_BYTES: usize = 1024 * 1024;

fn height_param(value: &Value) -> Result<BlockNumber, ErrorObjectOwned> {
    value
        .as_u64()
        .and_then(|n| BlockNumber::try_from(n).ok())
        .ok_or_else(|| invalid_params(format!("{value} is not a block height")))
}

/// The stored blocks at `height`: the canonical one at or below the finalized height,
/// else every non-finalized block there (all forks).
fn hashes_by_height<A: ChainApi>(
    ctx: &Context<A>,
    height: BlockNumber,
) -> Result<Vec<H256>, ErrorObjectOwned> {
    let client = &ctx.deps.client;
    let finalized = client.finalized().0;
    if height <= finalized {
        return Ok(client
            .hash(height)
            .map_err(state_error)?
            .into_iter()
            .collect());
    }
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for (number, leaf) in client.leaves().map_err(state_error)? {
        if number < height {
            continue;
        }
        let mut current = leaf;
        let mut current_number = number;
        // Walk down to `height`; each step is one stored non-finalized header.
        while current_number > height {
            if !seen.insert(current) {
                break;
            }
            match client.header(&current).map_err(state_error)? {
                Some(header) => {
                    current = header.parent_hash;
                    current_number = header.number.saturating_sub(1);
                }
                None => break,
            }
        }
        if current_number == height && !found.contains(&current) {
            found.push(current);
        }
    }
    Ok(found)
}

async fn send(sink: &SubscriptionSink, event: &Value) -> bool {
    match message(event) {
        Some(msg) => sink.send(msg).await.is_ok(),
        None => false,
    }
}

fn with_event(mut item: Value) -> Value {
    item["event"] = json!("storage");
    item
}

/// `archive_v1_storage`'s parameters: the block, the queries, whether a child trie is named.
fn storage_params(params: &Params) -> Result<(H256, Vec<StorageQuery>, bool), ErrorObjectOwned> {
    let mut seq = params.sequence();
    let hash: String = seq.next()?;
    let items: Value = seq.next()?;
    let child_trie: Option<String> = seq.optional_next()?;
    let hash = parse_hash(&hash)?;
    let queries = parse_queries(&items, true)?;
    if let Some(child) = &child_trie {
        parse_bytes(child)?;
    }
    Ok((hash, queries, child_trie.is_some()))
}

async fn error_event(sink: &SubscriptionSink, why: impl std::fmt::Display) {
    send(
        sink,
        &json!({ "event": "storageError", "error": why.to_string() }),
    )
    .await;
}

async fn storage<A: ChainApi>(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let parsed = storage_params(&params);
    let (hash, queries, child_trie) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let sink = pending.accept().await?;
    if child_trie {
        // Arceon has no child tries: nothing is stored under any of them.
        send(&sink, &json!({ "event": "storageDone" })).await;
        return Ok(());
    }
    let client = ctx.deps.client.clone();
    let state = match tokio::task::spawn_blocking(move || client.state_at(&hash)).await {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => {
            error_event(&sink, e).await;
            return Ok(());
        }
        Err(e) => {
            error_event(&sink, e).await;
            return Ok(());
        }
    };
    let (singles, descendants) = split_descendants(queries);
    let items = match single_items(state.clone(), singles).await {
        Ok(items) => items,
        Err(e) => {
            error_event(&sink, e).await;
            return Ok(());
        }
    };
    for item in items {
        if !send(&sink, &with_event(item)).await {
            return Ok(());
        }
    }
    let mut queue: VecDeque<StorageQuery> = descendants.into();
    while !queue.is_empty() {
        let read_state = state.clone();
        let page = tokio::task::spawn_blocking(move || {
            let items = descendants_page(
                &read_state,
                &mut queue,
                ARCHIVE_PAGE_ITEMS,
                ARCHIVE_PAGE_BYTES,
            );
            (items, queue)
        })
        .await;
        let items = match page {
            Ok((Ok(items), rest)) => {
                queue = rest;
                items
            }
            Ok((Err(e), _)) => {
                error_event(&sink, e).await;
                return Ok(());
            }
            Err(e) => {
                error_event(&sink, e).await;
                return Ok(());
            }
        };
        for item in items {
            if !send(&sink, &with_event(item)).await {
                return Ok(());
            }
        }
    }
    send(&sink, &json!({ "event": "storageDone" })).await;
    Ok(())
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    method(module, "archive_v1_finalizedHeight", |_, ctx| {
        Ok(json!(ctx.deps.client.finalized().0))
    })?;
    method(module, "archive_v1_genesisHash", |_, ctx| {
        Ok(json!(ctx.deps.client.genesis_hash()))
    })?;
    method(module, "archive_v1_hashByHeight", |params, ctx| {
        let height: Value = params.one()?;
        let height = height_param(&height)?;
        Ok(json!(hashes_by_height(ctx, height)?))
    })?;
    method(module, "archive_v1_header", |params, ctx| {
        let hash: String = params.one()?;
        let hash = parse_hash(&hash)?;
        Ok(ctx
            .deps
            .client
            .header(&hash)
            .map_err(state_error)?
            .map_or(Value::Null, |h| json!(to_hex(&h.encode()))))
    })?;
    method(module, "archive_v1_body", |params, ctx| {
        let hash: String = params.one()?;
        let hash = parse_hash(&hash)?;
        Ok(ctx
            .deps
            .client
            .block(&hash)
            .map_err(state_error)?
            .map_or(Value::Null, |b| {
                json!(b.extrinsics.iter().map(|x| to_hex(x)).collect::<Vec<_>>())
            }))
    })?;
    method(module, "archive_v1_call", |params, ctx| {
        let mut seq = params.sequence();
        let hash: String = seq.next()?;
        let function: String = seq.next()?;
        let data: String = seq.next()?;
        let hash = parse_hash(&hash)?;
        let data = parse_bytes(&data)?;
        let client = &ctx.deps.client;
        if client.header(&hash).map_err(state_error)?.is_none() {
            return Ok(Value::Null);
        }
        Ok(match client.call(&hash, &function, &data) {
            Ok(output) => json!({ "success": true, "value": to_hex(&output) }),
            Err(e) => json!({ "success": false, "error": e.to_string() }),
        })
    })?;
    module.register_subscription(
        "archive_v1_storage",
        "archive_v1_storageEvent",
        "archive_v1_stopStorage",
        |params, pending, ctx, _| async move {
            ctx.count("archive_v1_storage");
            storage(params, pending, ctx).await
        },
    )?;
    Ok(())
}
