//! `transactionWatch_v1_*` and `transaction_v1_*`: submit a transaction and follow it with
//! the spec's events (`validated`, `bestChainBlockIncluded`, `finalized`, `invalid`,
//! `dropped`, `error`), or hand it to the node to keep in the pool until
//! `transaction_v1_stop`. Both go through the pool's submission queue and watchers, as
//! `author_submitAndWatchExtrinsic` does.
//!
//! Invariants: only unparsable hex is a JSON-RPC error; anything the pool refuses is an
//! event (`invalid`, `dropped`, `error`), never an inclusion; a watch ends with exactly one
//! final event; a connection holds at most [`MAX_BROADCASTS_PER_CONNECTION`] broadcasts and
//! the node [`MAX_BROADCASTS`]; a broadcast ends by itself once its transaction is
//! finalized or invalid, or after [`BROADCAST_LIFETIME`], so forgotten ones do not pile up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arceon_primitives::{blake2_256, TransactionSource, H256};
use arceon_txpool::{ChainApi, PoolError, TxStatus, Watcher};
use jsonrpsee::core::server::ConnectionId;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::types::Params;
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionSink};
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::{message, SpecV2};
use crate::json::{error, parse_bytes};
use crate::Context;

/// Broadcasts one connection may run at once (the spec asks for at least 4).
pub const MAX_BROADCASTS_PER_CONNECTION: usize = 16;
/// Broadcasts the node runs at once, over every connection.
pub const MAX_BROADCASTS: usize = 1024;
/// A broadcast nobody stops ends after this long.
pub const BROADCAST_LIFETIME: Duration = Duration::from_secs(3600);
/// Pause before a broadcast submits its transaction again after the pool let it go.
const RESUBMIT_DELAY: Duration = Duration::from_secs(2);
/// A watch event the reader does not take within this long ends the watch.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// `transaction_v1_stop` with an id that is not a running broadcast.
const INVALID_OPERATION: i32 = -32602;

/// A running broadcast: the connection that started it and what stops it.
type Running = (Option<ConnectionId>, tokio::sync::oneshot::Sender<()>);

/// The running broadcasts by operation id.
#[derive(Default)]
pub(crate) struct Broadcasts {
    inner: Mutex<HashMap<String, Running>>,
}

/// What the spec calls the outcome of a pool submission that failed.
fn refusal_event(refusal: &PoolError) -> Value {
    match refusal {
        PoolError::Invalid(_)
        | PoolError::TemporarilyBanned
        | PoolError::CycleDetected
        | PoolError::NoTagsProvided
        | PoolError::TooLowPriority { .. } => {
            json!({ "event": "invalid", "error": refusal.to_string() })
        }
        PoolError::Unknown(_) => json!({ "event": "error", "error": refusal.to_string() }),
        PoolError::AlreadyImported(_)
        | PoolError::ImmediatelyDropped
        | PoolError::TooLarge { .. } => {
            json!({ "event": "dropped", "error": refusal.to_string() })
        }
    }
}

/// The position of the transaction `hash` in block `block`, if it is there.
fn index_in_block<A: ChainApi>(ctx: &Context<A>, block: &H256, hash: &H256) -> Option<usize> {
    let body = ctx.deps.client.body(block).ok()??;
    body.iter().position(|x| H256(blake2_256(x)) == *hash)
}

async fn included<A: ChainApi>(ctx: &Arc<Context<A>>, block: H256, hash: H256) -> Value {
    let reader = ctx.clone();
    let index = tokio::task::spawn_blocking(move || index_in_block(&reader, &block, &hash))
        .await
        .ok()
        .flatten();
    json!({ "hash": block, "index": index.unwrap_or(0) })
}

/// A pool status as a watch event (`None`: nothing to tell), and whether it is final.
async fn status_event<A: ChainApi>(
    ctx: &Arc<Context<A>>,
    hash: H256,
    status: TxStatus,
    validated: &mut bool,
) -> Option<Value> {
    match status {
        TxStatus::Future | TxStatus::Ready => {
            if *validated {
                None
            } else {
                *validated = true;
                Some(json!({ "event": "validated" }))
            }
        }
        // The spec's v1 has no event for gossip.
        TxStatus::Broadcast(_) => None,
        TxStatus::InBlock(block) => Some(json!({
            "event": "bestChainBlockIncluded",
            "block": included(ctx, block, hash).await,
        })),
        TxStatus::Retracted(_) => {
            // Back in the pool: validated again when the pool says it is ready.
            *validated = false;
            Some(json!({ "event": "bestChainBlockIncluded", "block": null }))
        }
        TxStatus::Finalized(block) => Some(json!({
            "event": "finalized",
            "block": included(ctx, block, hash).await,
        })),
        TxStatus::FinalityTimeout(block) => Some(json!({
            "event": "dropped",
            "error": format!("the block {block:?} including it was not finalized in time"),
        })),
        TxStatus::Usurped(by) => Some(json!({
            "event": "invalid",
            "error": format!("replaced by transaction {by:?}"),
        })),
        TxStatus::Dropped => Some(json!({
            "event": "dropped",
            "error": "evicted to keep the pool within its limits",
        })),
        TxStatus::Invalid => Some(json!({
            "event": "invalid",
            "error": "the runtime no longer accepts it",
        })),
    }
}

fn is_final(event: &Value) -> bool {
    matches!(
        event["event"].as_str(),
        Some("finalized" | "invalid" | "dropped" | "error")
    )
}

async fn send(sink: &SubscriptionSink, event: &Value) -> bool {
    match message(event) {
        Some(msg) => sink.send_timeout(msg, SEND_TIMEOUT).await.is_ok(),
        None => false,
    }
}

async fn submit_and_watch<A: ChainApi>(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let bytes = match params.one::<String>().map(|hex| parse_bytes(&hex)) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) | Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let hash = H256(blake2_256(&bytes));
    let sink = pending.accept().await?;
    let mut watcher: Watcher = match ctx
        .submitter
        .submit(TransactionSource::External, bytes, true)
        .await
    {
        Ok((_, Some(watcher))) => watcher,
        Ok((_, None)) => {
            send(&sink, &refusal_event(&PoolError::ImmediatelyDropped)).await;
            return Ok(());
        }
        Err(refusal) => {
            send(&sink, &refusal_event(&refusal)).await;
            return Ok(());
        }
    };
    // The pool took it: it passed the runtime's validation.
    if !send(&sink, &json!({ "event": "validated" })).await {
        return Ok(());
    }
    let mut validated = true;
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            status = futures::StreamExt::next(&mut watcher) => {
                let Some(status) = status else {
                    send(&sink, &json!({ "event": "dropped", "error": "the pool stopped watching it" })).await;
                    return Ok(());
                };
                let Some(event) = status_event(&ctx, hash, status, &mut validated).await else {
                    continue;
                };
                if !send(&sink, &event).await || is_final(&event) {
                    return Ok(());
                }
            }
        }
    }
}

/// Keeps `bytes` in the pool until it is finalized or invalid, submitting it again when
/// the pool lets it go.
async fn broadcast<A: ChainApi>(ctx: Arc<Context<A>>, bytes: Vec<u8>) {
    let hash = H256(blake2_256(&bytes));
    loop {
        match ctx
            .submitter
            .submit(TransactionSource::External, bytes.clone(), true)
            .await
        {
            Ok((_, Some(mut watcher))) => {
                let mut validated = true;
                while let Some(status) = futures::StreamExt::next(&mut watcher).await {
                    let Some(event) = status_event(&ctx, hash, status, &mut validated).await else {
                        continue;
                    };
                    if let Some("finalized" | "invalid" | "error") = event["event"].as_str() {
                        return;
                    }
                }
            }
            Ok((_, None)) => {}
            Err(PoolError::AlreadyImported(_)) => {
                // Someone else's submission holds it: look again once it has left.
                while ctx.deps.pool.contains(&hash) {
                    tokio::time::sleep(RESUBMIT_DELAY).await;
                }
            }
            Err(refusal) => {
                if refusal_event(&refusal)["event"] != "dropped" {
                    return;
                }
            }
        }
        tokio::time::sleep(RESUBMIT_DELAY).await;
    }
}

/// Starts a broadcast: its operation id, or `null` when the connection or the node runs
/// as many as it may.
fn start_broadcast<A: ChainApi>(
    ctx: Arc<Context<A>>,
    connection: Option<ConnectionId>,
    bytes: Vec<u8>,
) -> Value {
    let spec: &SpecV2 = &ctx.spec_v2;
    let id = spec.random_id();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    {
        let mut running = spec.broadcasts.inner.lock();
        let mine = running.values().filter(|(c, _)| *c == connection).count();
        if running.len() >= MAX_BROADCASTS || mine >= MAX_BROADCASTS_PER_CONNECTION {
            return Value::Null;
        }
        running.insert(id.clone(), (connection, stop));
    }
    let finished_id = id.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = stopped => {}
            _ = tokio::time::sleep(BROADCAST_LIFETIME) => {}
            _ = broadcast(ctx.clone(), bytes) => {}
        }
        ctx.spec_v2.broadcasts.inner.lock().remove(&finished_id);
    });
    json!(id)
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_subscription(
        "transactionWatch_v1_submitAndWatch",
        "transactionWatch_v1_watchEvent",
        "transactionWatch_v1_unwatch",
        |params, pending, ctx, _| async move {
            ctx.count("transactionWatch_v1_submitAndWatch");
            submit_and_watch(params, pending, ctx).await
        },
    )?;
    module.register_blocking_method("transaction_v1_broadcast", |params, ctx, extensions| {
        ctx.count("transaction_v1_broadcast");
        let hex: String = params.one()?;
        let bytes = parse_bytes(&hex)?;
        let connection = extensions.get::<ConnectionId>().copied();
        Ok::<_, jsonrpsee::types::ErrorObjectOwned>(start_broadcast(ctx, connection, bytes))
    })?;
    module.register_method("transaction_v1_stop", |params, ctx, _| {
        ctx.count("transaction_v1_stop");
        let id: String = params.one()?;
        match ctx.spec_v2.broadcasts.inner.lock().remove(&id) {
            Some((_, stop)) => {
                let _ = stop.send(());
                Ok(Value::Null)
            }
            None => Err(error(
                INVALID_OPERATION,
                "no running transaction_v1_broadcast has this operation id",
                None,
            )),
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_refusals_become_final_events() {
        let invalid = refusal_event(&PoolError::TemporarilyBanned);
        assert_eq!(invalid["event"], "invalid");
        assert!(is_final(&invalid));
        assert_eq!(
            refusal_event(&PoolError::ImmediatelyDropped)["event"],
            "dropped"
        );
        assert!(!is_final(&json!({ "event": "validated" })));
        assert!(!is_final(
            &json!({ "event": "bestChainBlockIncluded", "block": null })
        ));
    }
}
