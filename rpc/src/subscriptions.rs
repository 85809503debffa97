//! Subscriptions: new, finalized and all heads; storage changes; extrinsic status.

use std::sync::Arc;

use arceon_client::ChainEvent;
use arceon_primitives::{to_hex, TransactionSource};
use arceon_txpool::ChainApi;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage, SubscriptionSink};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::json::{header_json, invalid_params, parse_bytes, pool_error, status_json};
use crate::Context;

/// Most keys one `state_subscribeStorage` may watch.
const MAX_WATCHED_KEYS: usize = 1000;

async fn send(sink: &SubscriptionSink, value: &Value) -> bool {
    match serde_json::value::to_raw_value(value) {
        Ok(raw) => sink.send(SubscriptionMessage::from(raw)).await.is_ok(),
        Err(_) => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Heads {
    New,
    Finalized,
    All,
}

async fn heads<A: ChainApi>(
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
    kind: Heads,
) -> SubscriptionResult {
    let mut events = ctx.deps.client.subscribe();
    let sink = pending.accept().await?;
    let client = &ctx.deps.client;
    // Like Substrate, start with the current head.
    let current = match kind {
        Heads::Finalized => client.finalized().1,
        Heads::New | Heads::All => client.best().1,
    };
    if let Ok(Some(header)) = client.header(&current) {
        if !send(&sink, &header_json(&header)).await {
            return Ok(());
        }
    }
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            event = events.recv() => {
                let header = match event {
                    Ok(ChainEvent::Imported { header, is_new_best, .. }) => match kind {
                        Heads::All => Some(header),
                        Heads::New if is_new_best => Some(header),
                        _ => None,
                    },
                    Ok(ChainEvent::Finalized { header, .. }) if kind == Heads::Finalized => Some(header),
                    Ok(_) => None,
                    Err(RecvError::Lagged(_)) => None,
                    Err(RecvError::Closed) => return Ok(()),
                };
                if let Some(header) = header {
                    if !send(&sink, &header_json(&header)).await {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// The runtime is native code: its version cannot change while the node runs, so the
/// subscription reports the version once and then only ends when the client leaves.
async fn runtime_version(pending: PendingSubscriptionSink) -> SubscriptionResult {
    let sink = pending.accept().await?;
    let version = serde_json::to_value(arceon_runtime::version()).unwrap_or(Value::Null);
    if send(&sink, &version).await {
        sink.closed().await;
    }
    Ok(())
}

async fn justifications<A: ChainApi>(
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let Some(finality) = ctx.deps.finality.clone() else {
        pending
            .reject(invalid_params("the finality gadget is not running"))
            .await;
        return Ok(());
    };
    let mut justifications = finality.subscribe_justifications();
    let sink = pending.accept().await?;
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            item = justifications.recv() => match item {
                Ok(bytes) => {
                    if !send(&sink, &json!(to_hex(&bytes))).await {
                        return Ok(());
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

async fn storage<A: ChainApi>(
    params: jsonrpsee::types::Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let keys: Option<Vec<String>> = match params.sequence().optional_next() {
        Ok(keys) => keys,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let keys = match keys {
        Some(keys) if !keys.is_empty() && keys.len() <= MAX_WATCHED_KEYS => keys,
        _ => {
            pending
                .reject(invalid_params(format!(
                    "give between 1 and {MAX_WATCHED_KEYS} storage keys to watch"
                )))
                .await;
            return Ok(());
        }
    };
    let mut raw_keys = Vec::with_capacity(keys.len());
    for key in &keys {
        match parse_bytes(key) {
            Ok(raw) => raw_keys.push(raw),
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        }
    }
    let mut events = ctx.deps.client.subscribe();
    let sink = pending.accept().await?;
    let client = ctx.deps.client.clone();
    let read = move |at: arceon_primitives::H256| -> Option<Vec<Option<Vec<u8>>>> {
        let state = client.state_at(&at).ok()?;
        raw_keys.iter().map(|k| state.get(k).ok()).collect()
    };
    let best = ctx.deps.client.best().1;
    let mut last = read(best).unwrap_or_default();
    let initial: Vec<Value> = keys
        .iter()
        .zip(&last)
        .map(|(k, v)| json!([k, v.as_ref().map(|v| to_hex(v))]))
        .collect();
    if !send(&sink, &json!({ "block": best, "changes": initial })).await {
        return Ok(());
    }
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            event = events.recv() => {
                let hash = match event {
                    Ok(ChainEvent::Imported { hash, is_new_best: true, .. }) => hash,
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                };
                let Some(now) = read(hash) else { continue };
                let changes: Vec<Value> = keys
                    .iter()
                    .zip(now.iter().zip(last.iter().chain(std::iter::repeat(&None))))
                    .filter(|(_, (new, old))| new != old)
                    .map(|(k, (new, _))| json!([k, new.as_ref().map(|v| to_hex(v))]))
                    .collect();
                last = now;
                if !changes.is_empty()
                    && !send(&sink, &json!({ "block": hash, "changes": changes })).await
                {
                    return Ok(());
                }
            }
        }
    }
}

async fn watch_extrinsic<A: ChainApi>(
    params: jsonrpsee::types::Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let hex: String = match params.one() {
        Ok(hex) => hex,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let bytes = match parse_bytes(&hex) {
        Ok(bytes) => bytes,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let submitted = ctx
        .submitter
        .submit(TransactionSource::External, bytes, true)
        .await;
    let watcher = match submitted {
        Ok((_, Some(watcher))) => watcher,
        // The pool always returns a watcher when asked for one.
        Ok((_, None)) => {
            pending
                .reject(pool_error(&arceon_txpool::PoolError::ImmediatelyDropped))
                .await;
            return Ok(());
        }
        Err(e) => {
            pending.reject(pool_error(&e)).await;
            return Ok(());
        }
    };
    let sink = pending.accept().await?;
    // The watcher is a stream the pool wakes: no thread waits on it.
    let mut watcher = watcher;
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            status = futures::StreamExt::next(&mut watcher) => {
                let Some(status) = status else { return Ok(()) };
                let is_final = status.is_final();
                if !send(&sink, &status_json(&status)).await || is_final {
                    return Ok(());
                }
            }
        }
    }
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_subscription(
        "chain_subscribeNewHeads",
        "chain_newHead",
        "chain_unsubscribeNewHeads",
        |_, pending, ctx, _| async move {
            ctx.count("chain_subscribeNewHeads");
            heads(pending, ctx, Heads::New).await
        },
    )?;
    module.register_subscription(
        "chain_subscribeFinalizedHeads",
        "chain_finalizedHead",
        "chain_unsubscribeFinalizedHeads",
        |_, pending, ctx, _| async move {
            ctx.count("chain_subscribeFinalizedHeads");
            heads(pending, ctx, Heads::Finalized).await
        },
    )?;
    module.register_subscription(
        "chain_subscribeAllHeads",
        "chain_allHead",
        "chain_unsubscribeAllHeads",
        |_, pending, ctx, _| async move {
            ctx.count("chain_subscribeAllHeads");
            heads(pending, ctx, Heads::All).await
        },
    )?;
    module.register_subscription(
        "grandpa_subscribeJustifications",
        "grandpa_justifications",
        "grandpa_unsubscribeJustifications",
        |_, pending, ctx, _| async move {
            ctx.count("grandpa_subscribeJustifications");
            justifications(pending, ctx).await
        },
    )?;
    module.register_subscription(
        "state_subscribeStorage",
        "state_storage",
        "state_unsubscribeStorage",
        |params, pending, ctx, _| async move {
            ctx.count("state_subscribeStorage");
            storage(params, pending, ctx).await
        },
    )?;
    module.register_subscription(
        "state_subscribeRuntimeVersion",
        "state_runtimeVersion",
        "state_unsubscribeRuntimeVersion",
        |_, pending, ctx, _| async move {
            ctx.count("state_subscribeRuntimeVersion");
            runtime_version(pending).await
        },
    )?;
    module.register_alias(
        "chain_subscribeRuntimeVersion",
        "state_subscribeRuntimeVersion",
    )?;
    module.register_alias(
        "chain_unsubscribeRuntimeVersion",
        "state_unsubscribeRuntimeVersion",
    )?;
    module.register_subscription(
        "author_submitAndWatchExtrinsic",
        "author_extrinsicUpdate",
        "author_unwatchExtrinsic",
        |params, pending, ctx, _| async move {
            ctx.count("author_submitAndWatchExtrinsic");
            watch_extrinsic(params, pending, ctx).await
        },
    )?;
    Ok(())
}
