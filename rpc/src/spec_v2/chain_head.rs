//! `chainHead_v1_*`: a follow subscription reports the finalized block, every
//! non-finalized block (parent first), best-block changes and finality, and pins each
//! block it reports until the client unpins it; `header`, `body`, `call` and `storage`
//! read pinned blocks, the last three as operations whose results come as follow events.
//!
//! Invariants: a block is reported only after its parent (or its parent is the finalized
//! block); every reported block stays pinned, its header kept in memory, until
//! `chainHead_v1_unpin`, even when it is pruned from the database (its body and state may
//! then be gone: the operation answers `operationInaccessible`); more than [`MAX_PINNED`]
//! pinned blocks, a gap in the chain events or a reader that does not take its events
//! within [`SEND_TIMEOUT`] ends the subscription with `stop`; an operation holds one slot
//! per storage item (one for body and call) out of [`MAX_OPERATIONS`] until it ends, and
//! produces no event once stopped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arceon_client::{CallError, ChainEvent, Client};
use arceon_primitives::{to_hex, Header, H256};
use arceon_txpool::ChainApi;
use codec::{Decode, Encode};
use jsonrpsee::core::server::ConnectionId;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionSink};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, Notify};

use super::storage::{
    descendants_page, parse_queries, single_items, split_descendants, StorageQuery,
};
use super::tree::BlockTree;
use super::{codes, id_param, invalid_block, message, runtime_json, sink_id};
use crate::json::{error, invalid_params, parse_bytes, parse_hash};
use crate::Context;

/// Follow subscriptions one connection may hold (the spec asks for at least 2).
pub const MAX_FOLLOWS_PER_CONNECTION: usize = 2;
/// Blocks one follow subscription may hold pinned before it is stopped.
pub const MAX_PINNED: usize = 1024;
/// Operation slots per follow subscription (the spec asks for at least 16): one per body
/// or call, one per storage item.
pub const MAX_OPERATIONS: usize = 32;
/// Most items one `chainHead_v1_storage` call may list (slots bound what runs).
pub const MAX_STORAGE_ITEMS_PER_CALL: usize = 1024;
/// Descendant items per `operationStorageItems` page before `operationWaitingForContinue`.
pub const STORAGE_PAGE_ITEMS: usize = 16;
/// Bytes of values per page, so a page of large values stays small.
pub const STORAGE_PAGE_BYTES: usize = 256 * 1024;
/// A reader that does not take an event within this long is too slow: `stop`.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// An operation waiting this long for `chainHead_v1_continue` gives up
/// (`operationInaccessible`) and frees its slots.
pub const CONTINUE_TIMEOUT: Duration = Duration::from_secs(60);
/// Operation events waiting for the follow task; more means the reader is too slow.
const OPERATION_EVENTS: usize = 4 * MAX_OPERATIONS;
/// Most hashes one `chainHead_v1_unpin` may name.
const MAX_UNPIN: usize = MAX_PINNED;
/// Longest runtime function name `chainHead_v1_call` accepts.
const MAX_FUNCTION_NAME: usize = 256;

/// The live follow subscriptions of every connection.
#[derive(Default)]
pub(crate) struct Follows {
    inner: Mutex<FollowsInner>,
}

#[derive(Default)]
struct FollowsInner {
    by_id: HashMap<String, Arc<Follow>>,
    per_connection: HashMap<ConnectionId, usize>,
}

impl Follows {
    /// Takes one of the connection's follow slots, if it has one free.
    fn reserve(self: &Arc<Self>, connection: ConnectionId) -> Option<Slot> {
        let mut inner = self.inner.lock();
        let count = inner.per_connection.entry(connection).or_insert(0);
        if *count >= MAX_FOLLOWS_PER_CONNECTION {
            return None;
        }
        *count += 1;
        Some(Slot {
            follows: self.clone(),
            connection,
            id: None,
        })
    }

    /// The follow subscription `id` of `connection`, if it is alive.
    fn get(&self, id: &str, connection: Option<ConnectionId>) -> Option<Arc<Follow>> {
        let inner = self.inner.lock();
        let follow = inner.by_id.get(id)?;
        (Some(follow.connection) == connection && !follow.is_stopped()).then(|| follow.clone())
    }

    #[cfg(test)]
    fn count(&self) -> usize {
        self.inner.lock().by_id.len()
    }
}

/// A connection's follow slot: frees itself, and forgets the subscription, when dropped.
struct Slot {
    follows: Arc<Follows>,
    connection: ConnectionId,
    id: Option<String>,
}

impl Slot {
    fn register(&mut self, id: String, follow: Arc<Follow>) {
        self.follows.inner.lock().by_id.insert(id.clone(), follow);
        self.id = Some(id);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.follows.inner.lock();
        if let Some(id) = &self.id {
            if let Some(follow) = inner.by_id.remove(id) {
                follow.end();
            }
        }
        if let Some(count) = inner.per_connection.get_mut(&self.connection) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                inner.per_connection.remove(&self.connection);
            }
        }
    }
}

/// One follow subscription, as the methods that name it see it.
pub(crate) struct Follow {
    connection: ConnectionId,
    with_runtime: bool,
    state: Mutex<FollowState>,
    /// Operation events for the follow task to send, in order.
    events: mpsc::Sender<Value>,
    /// Wakes the follow task to send `stop`.
    stop: Notify,
}

#[derive(Default)]
struct FollowState {
    /// Pinned blocks with their headers (kept, so a pruned fork's header still answers).
    pinned: HashMap<H256, Header>,
    operations: HashMap<String, OperationHandle>,
    slots_used: usize,
    next_operation: u64,
    stopped: bool,
}

struct OperationHandle {
    slots: usize,
    waiting_for_continue: bool,
    control: Arc<OperationControl>,
}

/// How a method reaches a running operation.
#[derive(Default)]
struct OperationControl {
    cancelled: AtomicBool,
    wake: Notify,
}

impl Follow {
    fn is_stopped(&self) -> bool {
        self.state.lock().stopped
    }

    /// Asks the follow task to send `stop` and end.
    fn request_stop(&self) {
        self.state.lock().stopped = true;
        self.stop.notify_one();
    }

    /// The subscription is over: its operations stop producing events.
    fn end(&self) {
        let mut state = self.state.lock();
        state.stopped = true;
        for operation in state.operations.values() {
            operation.control.cancelled.store(true, Ordering::SeqCst);
            operation.control.wake.notify_one();
        }
        state.operations.clear();
        state.pinned.clear();
    }

    fn pinned_header(&self, hash: &H256) -> Option<Header> {
        self.state.lock().pinned.get(hash).cloned()
    }

    /// Pins a reported block; `false` when that is one too many.
    fn pin(&self, hash: H256, header: Header) -> bool {
        let mut state = self.state.lock();
        state.pinned.insert(hash, header);
        state.pinned.len() <= MAX_PINNED
    }

    /// Starts an operation on pinned block `hash` wanting `wanted` slots: `Ok(None)` when
    /// no slot is free (`limitReached`), else the operation with the slots it got (at
    /// least one, unless `wanted` is 0).
    fn start_operation(
        self: &Arc<Self>,
        hash: &H256,
        wanted: usize,
    ) -> Result<Option<(Operation, usize)>, ErrorObjectOwned> {
        let mut state = self.state.lock();
        if !state.pinned.contains_key(hash) {
            return Err(invalid_block());
        }
        let free = MAX_OPERATIONS.saturating_sub(state.slots_used);
        if state.stopped || (free == 0 && wanted > 0) {
            return Ok(None);
        }
        let slots = wanted.min(free);
        let id = state.next_operation.to_string();
        state.next_operation += 1;
        state.slots_used += slots;
        let control = Arc::new(OperationControl::default());
        state.operations.insert(
            id.clone(),
            OperationHandle {
                slots,
                waiting_for_continue: false,
                control: control.clone(),
            },
        );
        Ok(Some((
            Operation {
                follow: self.clone(),
                id,
                control,
            },
            slots,
        )))
    }

    /// `chainHead_v1_continue`.
    fn resume(&self, operation: &str) -> Result<(), ErrorObjectOwned> {
        let mut state = self.state.lock();
        let Some(handle) = state.operations.get_mut(operation) else {
            // Unknown or finished: no effect, as the spec says.
            return Ok(());
        };
        if !handle.waiting_for_continue {
            return Err(error(
                codes::INVALID_CONTINUE,
                "the operation is not waiting for chainHead_v1_continue",
                None,
            ));
        }
        handle.waiting_for_continue = false;
        handle.control.wake.notify_one();
        Ok(())
    }

    /// `chainHead_v1_stopOperation`.
    fn stop_operation(&self, operation: &str) {
        let mut state = self.state.lock();
        if let Some(handle) = state.operations.remove(operation) {
            state.slots_used = state.slots_used.saturating_sub(handle.slots);
            handle.control.cancelled.store(true, Ordering::SeqCst);
            handle.control.wake.notify_one();
        }
    }
}

/// A running operation: frees its slots when dropped.
struct Operation {
    follow: Arc<Follow>,
    id: String,
    control: Arc<OperationControl>,
}

impl Operation {
    fn cancelled(&self) -> bool {
        self.control.cancelled.load(Ordering::SeqCst)
    }

    /// Queues an event of this operation (`event` gets its `operationId`); `false` when
    /// the operation was stopped. A full queue means the reader is too slow: `stop`.
    fn emit(&self, mut event: Value) -> bool {
        if self.cancelled() {
            return false;
        }
        event["operationId"] = json!(self.id);
        match self.follow.events.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.follow.request_stop();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn inaccessible(&self) {
        self.emit(json!({ "event": "operationInaccessible" }));
    }

    /// Announces `operationWaitingForContinue` and waits for `chainHead_v1_continue`;
    /// `false` if the operation was stopped or waited too long.
    async fn wait_for_continue(&self) -> bool {
        {
            let mut state = self.follow.state.lock();
            match state.operations.get_mut(&self.id) {
                Some(handle) => handle.waiting_for_continue = true,
                None => return false,
            }
        }
        if !self.emit(json!({ "event": "operationWaitingForContinue" })) {
            return false;
        }
        if tokio::time::timeout(CONTINUE_TIMEOUT, self.control.wake.notified())
            .await
            .is_err()
        {
            self.inaccessible();
            return false;
        }
        !self.cancelled()
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        let mut state = self.follow.state.lock();
        if let Some(handle) = state.operations.remove(&self.id) {
            state.slots_used = state.slots_used.saturating_sub(handle.slots);
        }
    }
}

/// A block's runtime: the `Core_version` answer in its state (what `state_call` gives).
fn runtime_at(client: &Client, hash: &H256) -> Option<Vec<u8>> {
    client.call(hash, "Core_version", &[]).ok()
}

fn runtime_value(runtime: Option<&Vec<u8>>) -> Value {
    match runtime {
        None => json!({ "type": "invalid", "error": "the block's state is not available" }),
        Some(bytes) => match arceon_primitives::RuntimeVersion::decode(&mut &bytes[..]) {
            Ok(version) => runtime_json(&version),
            Err(e) => json!({ "type": "invalid", "error": format!("Core_version: {e}") }),
        },
    }
}

/// What the follow task sends first: the finalized block, then every non-finalized
/// block parent first, then the best block.
struct Initial {
    tree: BlockTree,
    finalized_header: Header,
    blocks: Vec<(H256, Header)>,
}

fn initial_blocks(client: &Client, with_runtime: bool) -> Result<Initial, String> {
    let finalized = client.finalized();
    let best = client.best().1;
    let finalized_header = client
        .header(&finalized.1)
        .map_err(|e| e.to_string())?
        .ok_or("the finalized block has no header")?;
    let leaves = client.leaves().map_err(|e| e.to_string())?;
    let mut found: HashMap<H256, Header> = HashMap::new();
    for (_, leaf) in leaves {
        let mut current = leaf;
        while current != finalized.1 && !found.contains_key(&current) {
            let Some(header) = client.header(&current).map_err(|e| e.to_string())? else {
                break;
            };
            if header.number <= finalized.0 {
                // Not a descendant of the finalized block (finality moved meanwhile).
                break;
            }
            let parent = header.parent_hash;
            found.insert(current, header);
            current = parent;
        }
    }
    let mut blocks: Vec<(H256, Header)> = found.into_iter().collect();
    blocks.sort_by_key(|(hash, header)| (header.number, *hash));
    let mut tree = BlockTree::new(
        finalized,
        with_runtime
            .then(|| runtime_at(client, &finalized.1))
            .flatten(),
    );
    let mut reported = Vec::with_capacity(blocks.len());
    for (hash, header) in blocks {
        // Only blocks whose whole ancestry down to the finalized block is here.
        if !tree.contains(&header.parent_hash) {
            continue;
        }
        let runtime = with_runtime.then(|| runtime_at(client, &hash)).flatten();
        tree.insert(hash, header.parent_hash, header.number, runtime);
        reported.push((hash, header));
    }
    tree.best = if tree.contains(&best) {
        best
    } else {
        reported
            .iter()
            .max_by_key(|(_, h)| h.number)
            .map_or(finalized.1, |(hash, _)| *hash)
    };
    Ok(Initial {
        tree,
        finalized_header,
        blocks: reported,
    })
}

/// Why a follow task ended.
enum Ended {
    /// The client went away (unfollow or disconnect): nothing more to send.
    Closed,
    /// The subscription cannot go on: send `stop`.
    Stop(&'static str),
}

struct Follower<A: ChainApi> {
    ctx: Arc<Context<A>>,
    follow: Arc<Follow>,
    sink: SubscriptionSink,
    tree: BlockTree,
}

impl<A: ChainApi> Follower<A> {
    async fn send(&self, value: Value) -> Result<(), Ended> {
        let Some(msg) = message(&value) else {
            return Err(Ended::Stop("unserializable event"));
        };
        match self.sink.send_timeout(msg, SEND_TIMEOUT).await {
            Ok(()) => Ok(()),
            Err(jsonrpsee::core::server::SendTimeoutError::Timeout(_)) => {
                Err(Ended::Stop("the reader is too slow"))
            }
            Err(jsonrpsee::core::server::SendTimeoutError::Closed(_)) => Err(Ended::Closed),
        }
    }

    fn new_runtime(&self, hash: &H256, parent: &H256) -> (Option<Vec<u8>>, Value) {
        let runtime = runtime_at(&self.ctx.deps.client, hash);
        let changed = runtime.as_ref() != self.tree.runtime_of(parent);
        let value = if changed {
            runtime_value(runtime.as_ref())
        } else {
            Value::Null
        };
        (runtime, value)
    }

    fn new_block_event(&self, hash: &H256, parent: &H256, runtime: Option<Value>) -> Value {
        let mut event = json!({
            "event": "newBlock",
            "blockHash": hash,
            "parentBlockHash": parent,
        });
        if let Some(runtime) = runtime {
            event["newRuntime"] = runtime;
        }
        event
    }

    async fn start(&mut self, initial: Initial) -> Result<(), Ended> {
        let finalized = self.tree.finalized.1;
        if !self.follow.pin(finalized, initial.finalized_header) {
            return Err(Ended::Stop("too many pinned blocks"));
        }
        let mut event = json!({
            "event": "initialized",
            "finalizedBlockHashes": [finalized],
        });
        if self.follow.with_runtime {
            event["finalizedBlockRuntime"] = runtime_value(self.tree.finalized_runtime.as_ref());
        }
        self.send(event).await?;
        for (hash, header) in initial.blocks {
            let runtime = self.follow.with_runtime.then(|| {
                let own = self.tree.runtime_of(&hash);
                if own == self.tree.runtime_of(&header.parent_hash) {
                    Value::Null
                } else {
                    runtime_value(own)
                }
            });
            let event = self.new_block_event(&hash, &header.parent_hash, runtime);
            if !self.follow.pin(hash, header) {
                return Err(Ended::Stop("too many pinned blocks"));
            }
            self.send(event).await?;
        }
        self.send(json!({ "event": "bestBlockChanged", "bestBlockHash": self.tree.best }))
            .await
    }

    async fn on_imported(
        &mut self,
        header: Header,
        hash: H256,
        is_new_best: bool,
    ) -> Result<(), Ended> {
        if !self.tree.contains(&hash) {
            if header.number <= self.tree.finalized.0 {
                // A fork below the finalized block: it can never matter to the client.
                return Ok(());
            }
            let parent = header.parent_hash;
            if !self.tree.contains(&parent) {
                return Err(Ended::Stop("a gap in the chain (parent never reported)"));
            }
            let (runtime, runtime_event) = if self.follow.with_runtime {
                let (runtime, value) = self.new_runtime(&hash, &parent);
                (runtime, Some(value))
            } else {
                (None, None)
            };
            let event = self.new_block_event(&hash, &parent, runtime_event);
            self.tree.insert(hash, parent, header.number, runtime);
            if !self.follow.pin(hash, header) {
                return Err(Ended::Stop("too many pinned blocks"));
            }
            self.send(event).await?;
        }
        // An event older than the initial scan may name a block that has been best
        // before the one reported: only the chain's current best moves it.
        if is_new_best && self.tree.best != hash && self.ctx.deps.client.best().1 == hash {
            self.tree.best = hash;
            self.send(json!({ "event": "bestBlockChanged", "bestBlockHash": hash }))
                .await?;
        }
        Ok(())
    }

    async fn on_finalized(&mut self, header: Header, hash: H256) -> Result<(), Ended> {
        if header.number <= self.tree.finalized.0 {
            return Ok(());
        }
        let old_best = self.tree.best;
        let Some((finalized, pruned)) = self.tree.finalize(&hash) else {
            return Err(Ended::Stop("a block was finalized that was never reported"));
        };
        // The best block must stay a reported block that neither list names, unless it
        // is the new finalized block itself.
        if old_best != hash && !self.tree.blocks.contains_key(&old_best) {
            let best = self.ctx.deps.client.best().1;
            let best = if self.tree.contains(&best) {
                best
            } else {
                hash
            };
            self.tree.best = best;
            self.send(json!({ "event": "bestBlockChanged", "bestBlockHash": best }))
                .await?;
        }
        self.send(json!({
            "event": "finalized",
            "finalizedBlockHashes": finalized,
            "prunedBlockHashes": pruned,
        }))
        .await
    }

    async fn run(
        &mut self,
        mut chain: tokio::sync::broadcast::Receiver<ChainEvent>,
        mut operations: mpsc::Receiver<Value>,
    ) -> Ended {
        loop {
            let step = tokio::select! {
                biased;
                _ = self.sink.closed() => Err(Ended::Closed),
                _ = self.follow.stop.notified() => Err(Ended::Stop("stopped by the node")),
                event = operations.recv() => match event {
                    Some(event) => self.send(event).await,
                    None => Err(Ended::Closed),
                },
                event = chain.recv() => match event {
                    Ok(ChainEvent::Imported { header, hash, is_new_best }) => {
                        self.on_imported(header, hash, is_new_best).await
                    }
                    Ok(ChainEvent::Finalized { header, hash }) => self.on_finalized(header, hash).await,
                    Err(RecvError::Lagged(_)) => Err(Ended::Stop("fell behind the chain events")),
                    Err(RecvError::Closed) => Err(Ended::Stop("the chain is shutting down")),
                },
            };
            if let Err(ended) = step {
                return ended;
            }
        }
    }
}

async fn follow<A: ChainApi>(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<Context<A>>,
) -> SubscriptionResult {
    let with_runtime: bool = match params.one() {
        Ok(with_runtime) => with_runtime,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let Some(mut slot) = ctx.spec_v2.follows.reserve(pending.connection_id()) else {
        pending
            .reject(error(
                codes::REACHED_LIMITS,
                format!(
                    "Maximum number of chainHead_v1_follow subscriptions per connection ({MAX_FOLLOWS_PER_CONNECTION}) reached"
                ),
                None,
            ))
            .await;
        return Ok(());
    };
    // Subscribed before reading the chain, so nothing falls between the two.
    let chain = ctx.deps.client.subscribe();
    let client = ctx.deps.client.clone();
    let initial = tokio::task::spawn_blocking(move || initial_blocks(&client, with_runtime)).await;
    let sink = pending.accept().await?;
    let (events, operations) = mpsc::channel(OPERATION_EVENTS);
    let follow = Arc::new(Follow {
        connection: sink.connection_id(),
        with_runtime,
        state: Mutex::new(FollowState::default()),
        events,
        stop: Notify::new(),
    });
    slot.register(sink_id(&sink), follow.clone());
    let initial = match initial {
        Ok(Ok(initial)) => initial,
        Ok(Err(e)) => {
            log::warn!("chainHead_v1_follow: cannot read the chain: {e}");
            stop(&sink).await;
            return Ok(());
        }
        Err(e) => {
            log::warn!("chainHead_v1_follow: {e}");
            stop(&sink).await;
            return Ok(());
        }
    };
    let mut follower = Follower {
        ctx,
        follow,
        tree: initial.tree.clone(),
        sink,
    };
    let ended = match follower.start(initial).await {
        Ok(()) => follower.run(chain, operations).await,
        Err(ended) => ended,
    };
    // Methods naming the subscription see it gone before `stop` goes out.
    follower.follow.end();
    if let Ended::Stop(why) = ended {
        log::debug!(
            "chainHead_v1_follow {}: stop: {why}",
            sink_id(&follower.sink)
        );
        stop(&follower.sink).await;
    }
    drop(slot);
    Ok(())
}

async fn stop(sink: &SubscriptionSink) {
    if let Some(msg) = message(&json!({ "event": "stop" })) {
        // Best effort: a reader too slow for events may be too slow for this one too.
        let _ = sink.send_timeout(msg, Duration::from_secs(1)).await;
    }
}

async fn run_storage(
    client: Arc<Client>,
    operation: Operation,
    hash: H256,
    queries: Vec<StorageQuery>,
) {
    let state = {
        let client = client.clone();
        match tokio::task::spawn_blocking(move || client.state_at(&hash)).await {
            Ok(Ok(state)) => state,
            _ => return operation.inaccessible(),
        }
    };
    let (singles, descendants) = split_descendants(queries);
    let singles = single_items(state.clone(), singles).await;
    match singles {
        Ok(items) if items.is_empty() => {}
        Ok(items) => {
            if !operation.emit(json!({ "event": "operationStorageItems", "items": items })) {
                return;
            }
        }
        _ => return operation.inaccessible(),
    }
    let mut queue: VecDeque<StorageQuery> = descendants.into();
    while !queue.is_empty() {
        let read_state = state.clone();
        let page = tokio::task::spawn_blocking(move || {
            let items = descendants_page(
                &read_state,
                &mut queue,
                STORAGE_PAGE_ITEMS,
                STORAGE_PAGE_BYTES,
            );
            (items, queue)
        })
        .await;
        let (items, rest) = match page {
            Ok((Ok(items), rest)) => (items, rest),
            _ => return operation.inaccessible(),
        };
        queue = rest;
        if !items.is_empty()
            && !operation.emit(json!({ "event": "operationStorageItems", "items": items }))
        {
            return;
        }
        if !queue.is_empty() && !operation.wait_for_continue().await {
            return;
        }
    }
    operation.emit(json!({ "event": "operationStorageDone" }));
}

/// The follow subscription a method names, with its first parameters parsed.
fn lookup<A: ChainApi>(
    ctx: &Context<A>,
    subscription: &Value,
    connection: Option<ConnectionId>,
) -> Result<Option<Arc<Follow>>, ErrorObjectOwned> {
    let id = id_param(subscription)?;
    Ok(ctx.spec_v2.follows.get(&id, connection))
}

fn limit_reached() -> Value {
    json!({ "result": "limitReached" })
}

fn started(operation: &Operation) -> Value {
    json!({ "result": "started", "operationId": operation.id })
}

/// Registers a method that needs the caller's connection (follow subscriptions belong to
/// one connection).
fn connection_method<A, F>(
    module: &mut RpcModule<Context<A>>,
    name: &'static str,
    f: F,
) -> Result<(), jsonrpsee::core::RegisterMethodError>
where
    A: ChainApi,
    F: Fn(Params, &Context<A>, Option<ConnectionId>) -> Result<Value, ErrorObjectOwned>
        + Clone
        + Send
        + Sync
        + 'static,
{
    module.register_blocking_method(name, move |params, ctx, extensions| {
        ctx.count(name);
        f(params, &ctx, extensions.get::<ConnectionId>().copied())
    })?;
    Ok(())
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_subscription(
        "chainHead_v1_follow",
        "chainHead_v1_followEvent",
        "chainHead_v1_unfollow",
        |params, pending, ctx, _| async move {
            ctx.count("chainHead_v1_follow");
            follow(params, pending, ctx).await
        },
    )?;

    connection_method(module, "chainHead_v1_header", |params, ctx, connection| {
        let mut seq = params.sequence();
        let subscription: Value = seq.next()?;
        let hash: String = seq.next()?;
        let hash = parse_hash(&hash)?;
        let Some(follow) = lookup(ctx, &subscription, connection)? else {
            return Ok(Value::Null);
        };
        match follow.pinned_header(&hash) {
            Some(header) => Ok(json!(to_hex(&header.encode()))),
            None => Err(invalid_block()),
        }
    })?;

    connection_method(module, "chainHead_v1_body", |params, ctx, connection| {
        let mut seq = params.sequence();
        let subscription: Value = seq.next()?;
        let hash: String = seq.next()?;
        let hash = parse_hash(&hash)?;
        let Some(follow) = lookup(ctx, &subscription, connection)? else {
            return Ok(limit_reached());
        };
        let Some((operation, _)) = follow.start_operation(&hash, 1)? else {
            return Ok(limit_reached());
        };
        let answer = started(&operation);
        let client = ctx.deps.client.clone();
        tokio::spawn(async move {
            let block = tokio::task::spawn_blocking(move || client.block(&hash)).await;
            match block {
                Ok(Ok(Some(block))) => {
                    let value: Vec<String> = block.extrinsics.iter().map(|x| to_hex(x)).collect();
                    operation.emit(json!({ "event": "operationBodyDone", "value": value }));
                }
                _ => operation.inaccessible(),
            }
        });
        Ok(answer)
    })?;

    connection_method(module, "chainHead_v1_call", |params, ctx, connection| {
        let mut seq = params.sequence();
        let subscription: Value = seq.next()?;
        let hash: String = seq.next()?;
        let function: String = seq.next()?;
        let data: String = seq.next()?;
        let hash = parse_hash(&hash)?;
        let data = parse_bytes(&data)?;
        if function.len() > MAX_FUNCTION_NAME {
            return Err(invalid_params("function name too long"));
        }
        let Some(follow) = lookup(ctx, &subscription, connection)? else {
            return Ok(limit_reached());
        };
        if !follow.with_runtime {
            return Err(error(
                codes::INVALID_RUNTIME_CALL,
                "chainHead_v1_call needs a subscription that follows with the runtime (withRuntime: true)",
                None,
            ));
        }
        let Some((operation, _)) = follow.start_operation(&hash, 1)? else {
            return Ok(limit_reached());
        };
        let answer = started(&operation);
        let client = ctx.deps.client.clone();
        tokio::spawn(async move {
            // The same path as `state_call`.
            let result =
                tokio::task::spawn_blocking(move || client.call(&hash, &function, &data)).await;
            match result {
                Ok(Ok(output)) => {
                    operation
                        .emit(json!({ "event": "operationCallDone", "output": to_hex(&output) }));
                }
                Ok(Err(CallError::Api(e))) => {
                    operation.emit(json!({ "event": "operationError", "error": e.to_string() }));
                }
                Ok(Err(CallError::Db(_))) | Err(_) => operation.inaccessible(),
            }
        });
        Ok(answer)
    })?;

    connection_method(module, "chainHead_v1_storage", |params, ctx, connection| {
        let mut seq = params.sequence();
        let subscription: Value = seq.next()?;
        let hash: String = seq.next()?;
        let items: Value = seq.next()?;
        let child_trie: Option<String> = seq.optional_next()?;
        let hash = parse_hash(&hash)?;
        let mut queries = parse_queries(&items, false)?;
        if let Some(child) = &child_trie {
            parse_bytes(child)?;
        }
        let Some(follow) = lookup(ctx, &subscription, connection)? else {
            return Ok(limit_reached());
        };
        let Some((operation, slots)) = follow.start_operation(&hash, queries.len())? else {
            return Ok(limit_reached());
        };
        let discarded = queries.len() - slots;
        queries.truncate(slots);
        let mut answer = started(&operation);
        answer["discardedItems"] = json!(discarded);
        if child_trie.is_some() {
            // Arceon has no child tries: nothing is stored under any of them.
            tokio::spawn(async move {
                operation.emit(json!({ "event": "operationStorageDone" }));
            });
            return Ok(answer);
        }
        let client = ctx.deps.client.clone();
        tokio::spawn(run_storage(client, operation, hash, queries));
        Ok(answer)
    })?;

    connection_method(
        module,
        "chainHead_v1_continue",
        |params, ctx, connection| {
            let mut seq = params.sequence();
            let subscription: Value = seq.next()?;
            let operation: Value = seq.next()?;
            let operation = id_param(&operation)?;
            if let Some(follow) = lookup(ctx, &subscription, connection)? {
                follow.resume(&operation)?;
            }
            Ok(Value::Null)
        },
    )?;

    connection_method(
        module,
        "chainHead_v1_stopOperation",
        |params, ctx, connection| {
            let mut seq = params.sequence();
            let subscription: Value = seq.next()?;
            let operation: Value = seq.next()?;
            let operation = id_param(&operation)?;
            if let Some(follow) = lookup(ctx, &subscription, connection)? {
                follow.stop_operation(&operation);
            }
            Ok(Value::Null)
        },
    )?;

    connection_method(module, "chainHead_v1_unpin", |params, ctx, connection| {
        let mut seq = params.sequence();
        let subscription: Value = seq.next()?;
        let hashes: Value = seq.next()?;
        let hashes: Vec<H256> = match &hashes {
            Value::String(one) => vec![parse_hash(one)?],
            Value::Array(many) if many.len() <= MAX_UNPIN => many
                .iter()
                .map(|h| {
                    h.as_str()
                        .ok_or_else(|| invalid_params("a block hash is a hex string"))
                        .and_then(parse_hash)
                })
                .collect::<Result<_, _>>()?,
            Value::Array(_) => {
                return Err(invalid_params(format!(
                    "at most {MAX_UNPIN} hashes per call"
                )))
            }
            _ => return Err(invalid_params("a block hash or an array of them")),
        };
        let Some(follow) = lookup(ctx, &subscription, connection)? else {
            return Ok(Value::Null);
        };
        let distinct: HashSet<H256> = hashes.iter().copied().collect();
        if distinct.len() != hashes.len() {
            return Err(error(
                codes::INVALID_DUPLICATE_HASHES,
                "a block hash is given twice",
                None,
            ));
        }
        let mut state = follow.state.lock();
        if !hashes.iter().all(|h| state.pinned.contains_key(h)) {
            return Err(invalid_block());
        }
        for hash in &hashes {
            state.pinned.remove(hash);
        }
        Ok(Value::Null)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec_v2::storage::{single_item, QueryKind};
    use arceon_primitives::blake2_256;
    use arceon_state::TrieState;

    fn h(n: u8) -> H256 {
        H256::repeat_byte(n)
    }

    /// 0 (finalized) <- 1 <- 2 <- 3, and a fork 1 <- 4 <- 5, and 0 <- 6.
    fn tree() -> BlockTree {
        let mut tree = BlockTree::new((0, h(0)), None);
        tree.insert(h(1), h(0), 1, None);
        tree.insert(h(2), h(1), 2, None);
        tree.insert(h(3), h(2), 3, None);
        tree.insert(h(4), h(1), 2, None);
        tree.insert(h(5), h(4), 3, None);
        tree.insert(h(6), h(0), 1, None);
        tree
    }

    #[test]
    fn finalizing_reports_the_route_oldest_first_and_prunes_other_branches() {
        let mut tree = tree();
        let (finalized, mut pruned) = tree.finalize(&h(2)).expect("known block");
        assert_eq!(finalized, vec![h(1), h(2)]);
        pruned.sort();
        assert_eq!(pruned, vec![h(4), h(5), h(6)]);
        assert!(tree.contains(&h(3)));
        assert!(!tree.contains(&h(1)));
        assert_eq!(tree.finalized, (2, h(2)));
        // Finalizing an unknown or already finalized block is refused.
        assert!(tree.finalize(&h(1)).is_none());
        assert!(tree.finalize(&h(9)).is_none());
        let (finalized, pruned) = tree.finalize(&h(3)).expect("child");
        assert_eq!((finalized, pruned), (vec![h(3)], vec![]));
    }

    #[test]
    fn descendants_come_in_pages_and_resume_where_they_stopped() {
        let mut store = arceon_state::MemoryNodeStore::new();
        // 20 keys under 0x00, 20 under 0x01, values of 3 bytes.
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            (0..40u8).map(|i| (vec![i % 2, i], vec![i; 3])).collect();
        let delta = arceon_state::storage_root(pairs.clone());
        store.apply(&delta).expect("apply");
        let state = TrieState::new(&store, delta.root);
        let query = |key: Vec<u8>, kind| StorageQuery {
            key,
            kind,
            start_after: None,
        };
        let mut queue: VecDeque<StorageQuery> = VecDeque::from(vec![
            query(vec![0], QueryKind::DescendantsValues),
            query(vec![1], QueryKind::DescendantsHashes),
        ]);
        let mut seen = Vec::new();
        let mut pages = 0;
        while !queue.is_empty() {
            let page = descendants_page(&state, &mut queue, 16, usize::MAX).expect("read");
            assert!(page.len() <= 16);
            seen.extend(page);
            pages += 1;
            assert!(pages < 10, "paging must make progress");
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 40);
        // Values for the first query, hashes for the second, each key once, in order.
        let mut expected: Vec<(Vec<u8>, Vec<u8>)> = pairs;
        expected.sort();
        for ((key, value), item) in expected.iter().zip(&seen) {
            assert_eq!(item["key"], json!(to_hex(key)));
            if key[0] == 0 {
                assert_eq!(item["value"], json!(to_hex(value)));
            } else {
                assert_eq!(item["hash"], json!(H256(blake2_256(value))));
            }
        }
        // A byte budget cuts pages short but loses nothing.
        let mut queue = VecDeque::from(vec![query(vec![], QueryKind::DescendantsValues)]);
        let mut count = 0;
        while !queue.is_empty() {
            let page = descendants_page(&state, &mut queue, 16, 7).expect("read");
            assert!(!page.is_empty() && page.len() <= 3);
            count += page.len();
        }
        assert_eq!(count, 40);
        // A single value, its hash, and nothing for an absent key.
        let one = single_item(&state, &query(vec![0, 4], QueryKind::Value)).expect("read");
        assert_eq!(one, Some(json!({ "key": "0x0004", "value": "0x040404" })));
        let none = single_item(&state, &query(vec![7], QueryKind::Hash)).expect("read");
        assert_eq!(none, None);
    }

    #[test]
    fn storage_items_parse_and_bad_ones_are_refused() {
        let items = json!([
            { "key": "0x01", "type": "value" },
            { "key": "0x", "type": "descendantsHashes" },
        ]);
        let queries = parse_queries(&items, false).expect("valid");
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[1].kind, QueryKind::DescendantsHashes);
        assert!(parse_queries(&json!([{ "key": "01", "type": "value" }]), false).is_err());
        assert!(parse_queries(&json!([{ "key": "0x01", "type": "values" }]), false).is_err());
        assert!(parse_queries(&json!({ "key": "0x01" }), false).is_err());
        assert!(parse_queries(
            &json!([{ "key": "0x01", "type": "descendantsValues", "paginationStartKey": "0x0102" }]),
            false
        )
        .is_err());
        let resumed = parse_queries(
            &json!([{ "key": "0x01", "type": "descendantsValues", "paginationStartKey": "0x0102" }]),
            true,
        )
        .expect("archive pagination");
        assert_eq!(resumed[0].start_after, Some(vec![1, 2]));
    }

    #[test]
    fn follow_slots_are_bounded_per_connection_and_freed() {
        let follows = Arc::new(Follows::default());
        let a = follows.reserve(ConnectionId(1)).expect("first");
        let b = follows.reserve(ConnectionId(1)).expect("second");
        assert!(follows.reserve(ConnectionId(1)).is_none());
        let other = follows.reserve(ConnectionId(2));
        assert!(other.is_some());
        drop(a);
        assert!(follows.reserve(ConnectionId(1)).is_some());
        drop(b);
        assert_eq!(follows.count(), 0);
    }
}
