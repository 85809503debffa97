//! The node's side of the network: validates gossip (blocks, transactions, finality
//! messages) before it is forwarded, answers peers' requests from the database, keeps the
//! chain in step with the best peer (full sync by block ranges, fork resolution through
//! ancestors, warp sync), and reports Aura equivocations it witnesses.
//!
//! Invariants: blocks are imported by one worker thread, in order, so a block never waits
//! on a parent that is being imported concurrently; a block claiming a slot more than one
//! slot in the future is not imported; a peer that sends a block failing verification or
//! undecodable data is penalised.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arceon_client::{Client, ImportError, ImportOptions, Imported};
use arceon_finality::{Finality, GossipVerdict};
use arceon_network::protocol::{MAX_BLOCKS_PER_RESPONSE, MAX_STATE_ENTRIES};
use arceon_network::{
    BlockData, BlocksRequest, Direction, FromBlock, MessageId, NetworkEvent, NetworkHandle,
    NetworkPeerId as PeerId, Reputation, Request, Response, StateChunk, StateRequest, Status,
    Topic, Verdict, MAX_TRANSACTIONS_PER_GOSSIP,
};
use arceon_primitives::{sr25519, Block, BlockNumber, Header, TransactionSource};
use arceon_runtime::aura;
use codec::{Decode, DecodeAll, Encode};
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::TransactionPool;

/// How a new node catches up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Download and execute every block.
    #[default]
    Full,
    /// Prove the latest finalized block through justifications, download its state, then
    /// follow the chain.
    Warp,
}

/// Above this lag behind the best peer the node reports itself as syncing.
const SYNCING_LAG: BlockNumber = 5;
/// The node counts as syncing only while ranges from peers actually import: a claimed
/// height alone (which any peer can invent) never switches authoring off. After this long
/// without a verified block from a range, the node is not syncing whatever peers claim.
const SYNC_PROGRESS_WINDOW: Duration = Duration::from_secs(3);
/// Gossiped blocks waiting for the import worker, by count and bytes; past either, new
/// announcements are ignored (peers re-announce, and sync fetches what is missing).
const GOSSIP_BLOCK_QUEUE: usize = 64;
const GOSSIP_BLOCK_QUEUE_BYTES: usize = 32 * 1024 * 1024;
/// Gossiped transactions waiting for validation.
const GOSSIP_TX_QUEUE: usize = 4096;
/// Gossiped finality messages waiting for validation (signature work runs on its own
/// thread, never on the network event loop).
const GOSSIP_FINALITY_QUEUE: usize = 1024;
/// How long a ready transaction waits for others to join its gossip batch.
const TX_GOSSIP_WINDOW: Duration = Duration::from_millis(20);
/// Bytes of transactions after which a gossip batch goes out at once.
const TX_GOSSIP_BATCH_BYTES: usize = 256 * 1024;
/// Transactions remembered as taken from gossip (the oldest are forgotten first).
const RECENT_GOSSIP_TRANSACTIONS: usize = 65_536;

/// A bounded set of transaction hashes, oldest forgotten first.
#[derive(Default)]
struct RecentHashes {
    set: HashSet<arceon_primitives::H256>,
    order: std::collections::VecDeque<arceon_primitives::H256>,
}

impl RecentHashes {
    fn insert(&mut self, hash: arceon_primitives::H256) {
        if self.set.insert(hash) {
            self.order.push_back(hash);
        }
        while self.order.len() > RECENT_GOSSIP_TRANSACTIONS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    /// Whether `hash` was there (it is forgotten).
    fn take(&mut self, hash: &arceon_primitives::H256) -> bool {
        self.set.remove(hash)
    }
}

/// The extrinsics of a `Transactions` gossip message, if it is a well-formed batch
/// within the limits.
fn decode_transaction_batch(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut input = data;
    let count = codec::Compact::<u32>::decode(&mut input).ok()?.0 as usize;
    if count == 0 || count > MAX_TRANSACTIONS_PER_GOSSIP {
        return None;
    }
    let mut batch = Vec::with_capacity(count);
    for _ in 0..count {
        batch.push(Vec::<u8>::decode(&mut input).ok()?);
    }
    input.is_empty().then_some(batch)
}
/// Headers fetched while looking for the common ancestor of a peer's fork, at most: a
/// fork cannot start below our finalized block, so an honest search is never deeper
/// than our unfinalized chain; this caps it even then.
const MAX_ANCESTOR_SEARCH: usize = 16 * 1024;
/// A peer whose sync request failed is not synced from for this long (other peers are
/// tried first), so one slow or lying peer cannot hold the sync driver.
const SYNC_BACKOFF: Duration = Duration::from_secs(10);
/// Most state bytes a warp sync keeps in memory before the root is checked.
const MAX_WARP_STATE_BYTES: usize = 1024 * 1024 * 1024;
/// Slots of witnessed block headers kept for equivocation detection.
const SEEN_SLOTS: usize = 2048;
/// What a gossiped block with an unknown parent costs its sender.
const UNKNOWN_PARENT_COST: Reputation = Reputation::with_value(-2, "block with an unknown parent");
/// What a failed or lying sync answer costs a peer that claimed to be ahead.
const SYNC_FAILURE_COST: Reputation =
    Reputation::with_value(-10, "claimed blocks it did not serve");
/// A sync request to one peer waits at most this long.
const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const STATUS_INTERVAL: Duration = Duration::from_millis(1500);
const SYNC_TICK: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy)]
struct PeerState {
    best_number: BlockNumber,
    finalized_number: BlockNumber,
    /// Not synced from before this instant (a failed request).
    backoff_until: Option<Instant>,
}

enum Job {
    Gossip {
        block: Block,
        source: PeerId,
        id: MessageId,
        /// Encoded size, counted in the gossip queue's bytes.
        size: usize,
    },
    Sync {
        blocks: Vec<BlockData>,
        peer: PeerId,
        done: oneshot::Sender<Result<usize, String>>,
    },
}

/// The node's network side; see the module docs.
pub struct NetworkBridge {
    client: Arc<Client>,
    pool: Arc<TransactionPool>,
    net: NetworkHandle,
    finality: Mutex<Option<Finality>>,
    lanes: Mutex<Option<Arc<crate::lanes::LaneService>>>,
    peers: Mutex<HashMap<PeerId, PeerState>>,
    syncing: AtomicBool,
    wake_sync: Notify,
    seen: Mutex<BTreeMap<u64, (sr25519::Public, Header)>>,
    jobs: std::sync::mpsc::Sender<Job>,
    /// Gossiped blocks queued for import: count and bytes.
    queued_blocks: Mutex<(usize, usize)>,
    transactions: std::sync::mpsc::SyncSender<(PeerId, MessageId, Vec<Vec<u8>>)>,
    /// Transactions this node took from gossip: the broadcaster does not publish them
    /// again in its own batches (the gossip layer forwards the batch they came in).
    from_gossip: Mutex<RecentHashes>,
    finality_gossip: std::sync::mpsc::SyncSender<(PeerId, MessageId, Vec<u8>)>,
    /// When a block from a peer's range last imported (verified sync progress).
    last_sync_import: Mutex<Option<Instant>>,
    mode: Mutex<SyncMode>,
    /// Blocks a finality vote named that are being fetched ([`NetworkBridge::fetch_fork`]).
    fetching: Mutex<HashSet<arceon_primitives::H256>>,
    runtime: tokio::runtime::Handle,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn is_fatal(error: &ImportError) -> bool {
    matches!(error, ImportError::Execution(_) | ImportError::BadSeal(_))
}

impl NetworkBridge {
    /// Starts the bridge: the event loop, the import worker, the sync driver and the
    /// transaction broadcaster.
    pub fn start(
        client: Arc<Client>,
        pool: Arc<TransactionPool>,
        net: NetworkHandle,
        events: mpsc::Receiver<NetworkEvent>,
        mode: SyncMode,
    ) -> std::io::Result<Arc<NetworkBridge>> {
        let (jobs, job_rx) = std::sync::mpsc::channel();
        let (transactions, tx_rx) = std::sync::mpsc::sync_channel(GOSSIP_TX_QUEUE);
        let (finality_gossip, finality_rx) = std::sync::mpsc::sync_channel(GOSSIP_FINALITY_QUEUE);
        let bridge = Arc::new(NetworkBridge {
            client,
            pool,
            net,
            finality: Mutex::new(None),
            lanes: Mutex::new(None),
            peers: Mutex::new(HashMap::new()),
            syncing: AtomicBool::new(false),
            wake_sync: Notify::new(),
            seen: Mutex::new(BTreeMap::new()),
            jobs,
            queued_blocks: Mutex::new((0, 0)),
            transactions,
            from_gossip: Mutex::new(RecentHashes::default()),
            finality_gossip,
            last_sync_import: Mutex::new(None),
            mode: Mutex::new(mode),
            fetching: Mutex::new(HashSet::new()),
            runtime: tokio::runtime::Handle::current(),
        });
        let worker = bridge.clone();
        std::thread::Builder::new()
            .name("block-import".into())
            .spawn(move || worker.import_worker(job_rx))?;
        let worker = bridge.clone();
        std::thread::Builder::new()
            .name("tx-gossip".into())
            .spawn(move || worker.transaction_worker(tx_rx))?;
        let worker = bridge.clone();
        std::thread::Builder::new()
            .name("finality-gossip".into())
            .spawn(move || worker.finality_worker(finality_rx))?;
        let broadcaster = bridge.clone();
        let ready = bridge.pool.import_notification_stream();
        std::thread::Builder::new()
            .name("tx-broadcast".into())
            .spawn(move || broadcaster.broadcast_worker(&ready))?;
        tokio::spawn(bridge.clone().event_loop(events));
        tokio::spawn(bridge.clone().sync_driver());
        Ok(bridge)
    }

    /// Connects the finality gadget (gossip and requests are routed to it).
    pub fn set_finality(&self, finality: Finality) {
        *self.finality.lock() = Some(finality);
    }

    /// Connects the fast lanes: their gossip, requests and peer identities.
    pub fn set_lanes(&self, lanes: Arc<crate::lanes::LaneService>) {
        lanes.set_network(self.net.clone());
        *self.lanes.lock() = Some(lanes);
    }

    /// The network handle.
    pub fn network(&self) -> &NetworkHandle {
        &self.net
    }

    /// Whether the node is well behind its best peer.
    pub fn is_syncing(&self) -> bool {
        self.syncing.load(Ordering::Relaxed)
    }

    /// Peers with their best block as last reported.
    pub fn peer_bests(&self) -> HashMap<PeerId, (BlockNumber, BlockNumber)> {
        self.peers
            .lock()
            .iter()
            .map(|(p, s)| (*p, (s.best_number, s.finalized_number)))
            .collect()
    }

    /// Announces a block this node authored.
    pub fn announce(&self, block: &Block) {
        self.net.publish(Topic::Blocks, block.encode());
    }

    async fn event_loop(self: Arc<Self>, mut events: mpsc::Receiver<NetworkEvent>) {
        while let Some(event) = events.recv().await {
            match event {
                NetworkEvent::PeerConnected(peer) => {
                    let lanes = self.lanes.lock().clone();
                    if let Some(lanes) = lanes {
                        lanes.on_peer_connected(peer);
                    }
                    let bridge = self.clone();
                    tokio::spawn(async move { bridge.refresh_status(peer).await });
                }
                NetworkEvent::PeerDisconnected(peer) => {
                    self.peers.lock().remove(&peer);
                    let lanes = self.lanes.lock().clone();
                    if let Some(lanes) = lanes {
                        lanes.on_peer_disconnected(&peer);
                    }
                }
                NetworkEvent::Gossip {
                    topic,
                    source,
                    id,
                    data,
                } => self.on_gossip(topic, source, id, data),
                NetworkEvent::Request {
                    peer,
                    request,
                    respond,
                } => {
                    let bridge = self.clone();
                    tokio::task::spawn_blocking(move || {
                        let response = bridge.answer(peer, request);
                        let _ = respond.send(response);
                    });
                }
            }
        }
    }

    /// Routes a gossip message to its validator. Nothing heavy runs here (this is the
    /// network event loop): blocks, transactions and finality messages each go to their
    /// own worker through a bounded queue, and a full queue means the message is ignored
    /// (not forwarded) rather than buffered without limit.
    fn on_gossip(self: &Arc<Self>, topic: Topic, source: PeerId, id: MessageId, data: Vec<u8>) {
        match topic {
            Topic::Blocks => {
                let size = data.len();
                {
                    let mut queued = self.queued_blocks.lock();
                    if queued.0 >= GOSSIP_BLOCK_QUEUE || queued.1 + size > GOSSIP_BLOCK_QUEUE_BYTES
                    {
                        drop(queued);
                        self.net.validation_result(id, source, Verdict::Ignore);
                        return;
                    }
                    queued.0 += 1;
                    queued.1 += size;
                }
                match Block::decode_all(&mut &data[..]) {
                    Ok(block) => {
                        if self
                            .jobs
                            .send(Job::Gossip {
                                block,
                                source,
                                id,
                                size,
                            })
                            .is_err()
                        {
                            self.dequeue_block(size);
                        }
                    }
                    Err(_) => {
                        self.dequeue_block(size);
                        self.net.validation_result(id, source, Verdict::Reject);
                        self.net
                            .report(source, Reputation::fatal("undecodable block announcement"));
                    }
                }
            }
            Topic::Transactions => {
                let Some(batch) = decode_transaction_batch(&data) else {
                    self.net.validation_result(id, source, Verdict::Reject);
                    self.net
                        .report(source, Reputation::bad("undecodable transaction batch"));
                    return;
                };
                if let Err(e) = self.transactions.try_send((source, id, batch)) {
                    let (std::sync::mpsc::TrySendError::Full((source, id, _))
                    | std::sync::mpsc::TrySendError::Disconnected((source, id, _))) = e;
                    self.net.validation_result(id, source, Verdict::Ignore);
                }
            }
            Topic::Lanes => {
                // The guard must be gone before the lanes run: a match on
                // `self.lanes.lock().clone()` would hold it through the arm.
                let lanes = self.lanes.lock().clone();
                match lanes {
                    Some(lanes) => lanes.on_gossip(source, id, data),
                    None => self.net.validation_result(id, source, Verdict::Ignore),
                }
            }
            Topic::Finality => {
                if let Err(e) = self.finality_gossip.try_send((source, id, data)) {
                    let (std::sync::mpsc::TrySendError::Full((source, id, _))
                    | std::sync::mpsc::TrySendError::Disconnected((source, id, _))) = e;
                    self.net.validation_result(id, source, Verdict::Ignore);
                }
            }
        }
    }

    fn dequeue_block(&self, size: usize) {
        let mut queued = self.queued_blocks.lock();
        queued.0 = queued.0.saturating_sub(1);
        queued.1 = queued.1.saturating_sub(size);
    }

    /// Validates gossiped transactions through the pool, a queue's worth at a time. A
    /// transaction that can never be valid (bad signature, undecodable call, forbidden
    /// signer) is rejected, which costs its sender reputation; one that may be valid
    /// elsewhere (a nonce race, a fee another state can pay) is only ignored.
    fn transaction_worker(
        self: Arc<Self>,
        queue: std::sync::mpsc::Receiver<(PeerId, MessageId, Vec<Vec<u8>>)>,
    ) {
        use arceon_primitives::InvalidTransaction as Invalid;
        while let Ok(first) = queue.recv() {
            // Messages queued meanwhile join, up to a pool batch's worth of transactions.
            let mut count = first.2.len();
            let mut messages = vec![first];
            while count < arceon_txpool::MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => {
                        count += next.2.len();
                        messages.push(next);
                    }
                    Err(_) => break,
                }
            }
            let (number, best) = self
                .pool
                .maintained_block()
                .unwrap_or_else(|| self.client.best());
            let mut extrinsics = Vec::with_capacity(count);
            let mut sources = Vec::with_capacity(messages.len());
            for (source, id, batch) in messages {
                sources.push((source, id, batch.len()));
                extrinsics.extend(batch);
            }
            let mut results = self
                .pool
                .submit_at(best, number, TransactionSource::External, extrinsics)
                .into_iter();
            for (source, id, len) in sources {
                // One provably bad transaction condemns the message; one new good one
                // makes it worth forwarding; otherwise (all known, a nonce race) it is
                // only ignored.
                let mut verdict = Verdict::Ignore;
                for result in results.by_ref().take(len) {
                    match result {
                        Ok(hash) => {
                            self.from_gossip.lock().insert(hash);
                            if verdict == Verdict::Ignore {
                                verdict = Verdict::Accept;
                            }
                        }
                        Err(arceon_txpool::PoolError::Invalid(
                            Invalid::BadProof
                            | Invalid::Call
                            | Invalid::BadSigner
                            | Invalid::BadMandatory
                            | Invalid::MandatoryValidation,
                        )) => verdict = Verdict::Reject,
                        Err(_) => {}
                    }
                }
                self.net.validation_result(id, source, verdict);
            }
        }
    }

    /// Gossips the transactions that become ready here (from RPC or this node), in
    /// batches: the first one waits at most [`TX_GOSSIP_WINDOW`] for others to join it,
    /// up to [`MAX_TRANSACTIONS_PER_GOSSIP`] or [`TX_GOSSIP_BATCH_BYTES`]. Transactions
    /// taken from gossip are left to the gossip layer, which forwards the batch they
    /// came in.
    fn broadcast_worker(&self, ready: &std::sync::mpsc::Receiver<arceon_primitives::H256>) {
        use std::sync::mpsc::RecvTimeoutError;
        while let Ok(first) = ready.recv() {
            let started = Instant::now();
            let mut batch: Vec<Vec<u8>> = Vec::new();
            let mut bytes = 0usize;
            let mut next = Some(first);
            loop {
                if let Some(hash) = next.take() {
                    let from_gossip = self.from_gossip.lock().take(&hash);
                    if !from_gossip {
                        if let Some(tx) = self.pool.get(&hash).filter(|tx| tx.propagate) {
                            bytes += tx.data.len();
                            batch.push(tx.data.clone());
                        }
                    }
                }
                if batch.len() >= MAX_TRANSACTIONS_PER_GOSSIP || bytes >= TX_GOSSIP_BATCH_BYTES {
                    break;
                }
                let left = TX_GOSSIP_WINDOW.saturating_sub(started.elapsed());
                match ready.recv_timeout(left) {
                    Ok(hash) => next = Some(hash),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        self.publish_transactions(batch);
                        return;
                    }
                }
            }
            self.publish_transactions(batch);
        }
    }

    fn publish_transactions(&self, batch: Vec<Vec<u8>>) {
        if !batch.is_empty() {
            self.net.publish(Topic::Transactions, batch.encode());
        }
    }

    /// Validates finality gossip off the network event loop.
    fn finality_worker(
        self: Arc<Self>,
        queue: std::sync::mpsc::Receiver<(PeerId, MessageId, Vec<u8>)>,
    ) {
        while let Ok((source, id, data)) = queue.recv() {
            let finality = self.finality.lock().clone();
            // The payload ends with the sender's 8-byte send time (see the service).
            let Some(message) = data.len().checked_sub(8).map(|n| &data[..n]) else {
                self.net.validation_result(id, source, Verdict::Reject);
                continue;
            };
            let verdict = match finality {
                Some(finality) => match finality.on_gossip(&source.to_base58(), message) {
                    GossipVerdict::Accept => Verdict::Accept,
                    GossipVerdict::Ignore => Verdict::Ignore,
                    GossipVerdict::Reject => Verdict::Reject,
                },
                None => Verdict::Ignore,
            };
            self.net.validation_result(id, source, verdict);
        }
    }

    /// Answers a peer's request from the database.
    fn answer(&self, peer: PeerId, request: Request) -> Response {
        match request {
            Request::Status => Response::Status(self.status()),
            Request::Blocks(request) => match self.blocks(&request) {
                Ok(blocks) => Response::Blocks(blocks),
                Err(e) => Response::Refused(e),
            },
            Request::State(request) => match self.state_chunk(&request) {
                Ok(chunk) => Response::State(chunk),
                Err(e) => Response::Refused(e),
            },
            Request::WarpProof { from_set_id } => {
                let finality = self.finality.lock().clone();
                match finality {
                    Some(finality) => match finality.warp_proof(from_set_id) {
                        Ok(proof) => Response::WarpProof(proof),
                        Err(e) => Response::Refused(e.to_string()),
                    },
                    None => Response::Refused("no finality gadget".into()),
                }
            }
            Request::Lane(bytes) => {
                // Released before answering: an answer may wait for the lane thread, and
                // the network loop takes this lock for every lane gossip message.
                let lanes = self.lanes.lock().clone();
                match lanes {
                    Some(lanes) => lanes.answer(peer, &bytes),
                    None => Response::Refused("no fast lanes".into()),
                }
            }
            Request::Finality(bytes) => {
                let finality = self.finality.lock().clone();
                match finality {
                    Some(finality) => match finality.on_request(&peer.to_base58(), &bytes) {
                        Some(response) => Response::Finality(response),
                        None => Response::Refused("finality request refused".into()),
                    },
                    None => Response::Refused("no finality gadget".into()),
                }
            }
        }
    }

    fn status(&self) -> Status {
        let (best_number, best_hash) = self.client.best();
        let (finalized_number, finalized_hash) = self.client.finalized();
        Status {
            genesis: self.client.genesis_hash(),
            best_number,
            best_hash,
            finalized_number,
            finalized_hash,
        }
    }

    fn blocks(&self, request: &BlocksRequest) -> Result<Vec<BlockData>, String> {
        let max = request.max.clamp(1, MAX_BLOCKS_PER_RESPONSE);
        let db = &self.client;
        let start = match request.from {
            FromBlock::Hash(hash) => Some(hash),
            FromBlock::Number(number) => db.hash(number).map_err(|e| e.to_string())?,
        };
        let mut out = Vec::new();
        let mut cursor = start;
        let mut bytes = 0usize;
        while let Some(hash) = cursor {
            if out.len() as u32 >= max || bytes > arceon_network::protocol::MAX_RESPONSE_BYTES / 2 {
                break;
            }
            let Some(header) = db.header(&hash).map_err(|e| e.to_string())? else {
                break;
            };
            let body = if request.bodies {
                Some(
                    db.body(&hash)
                        .map_err(|e| e.to_string())?
                        .unwrap_or_default(),
                )
            } else {
                None
            };
            let justification = if request.justifications {
                db.justification(&hash).map_err(|e| e.to_string())?
            } else {
                None
            };
            cursor = match request.direction {
                Direction::Ascending => db.hash(header.number + 1).map_err(|e| e.to_string())?,
                Direction::Descending if header.number > 0 => Some(header.parent_hash),
                Direction::Descending => None,
            };
            let data = BlockData {
                header,
                body,
                justification,
            };
            bytes += data.encoded_size();
            out.push(data);
        }
        // Ascending by number follows the best chain: a block at n+1 that is not a child
        // of the previous one means the best chain moved meanwhile; stop there.
        if request.direction == Direction::Ascending {
            let mut keep = out.len();
            for i in 1..out.len() {
                if out[i].header.parent_hash != out[i - 1].header.hash() {
                    keep = i;
                    break;
                }
            }
            out.truncate(keep);
        }
        Ok(out)
    }

    fn state_chunk(&self, request: &StateRequest) -> Result<StateChunk, String> {
        let max = request.max_entries.clamp(1, MAX_STATE_ENTRIES) as usize;
        let state = self
            .client
            .state_at(&request.block)
            .map_err(|e| e.to_string())?;
        let (entries, complete, proof) = state
            .range_proof(request.start_after.as_deref(), max)
            .map_err(|e| e.to_string())?;
        Ok(StateChunk {
            entries,
            complete,
            proof: proof.nodes,
        })
    }

    async fn refresh_status(self: Arc<Self>, peer: PeerId) {
        match self.net.request(peer, Request::Status).await {
            Ok(Response::Status(status)) => {
                if status.genesis != self.client.genesis_hash() {
                    self.net
                        .report(peer, Reputation::fatal("status with another genesis"));
                    return;
                }
                let previous = {
                    let mut peers = self.peers.lock();
                    let backoff_until = peers.get(&peer).and_then(|p| p.backoff_until);
                    peers.insert(
                        peer,
                        PeerState {
                            best_number: status.best_number,
                            finalized_number: status.finalized_number,
                            backoff_until,
                        },
                    )
                };
                if previous.is_none_or(|p| p.best_number < status.best_number) {
                    self.wake_sync.notify_one();
                }
            }
            Ok(_) => self
                .net
                .report(peer, Reputation::bad("wrong response to a status request")),
            Err(e) => log::debug!("status of {peer}: {e}"),
        }
    }

    fn note_peer_best(&self, peer: PeerId, number: BlockNumber) {
        if let Some(state) = self.peers.lock().get_mut(&peer) {
            state.best_number = state.best_number.max(number);
        }
    }

    // ---- import worker ----

    fn import_worker(self: Arc<Self>, jobs: std::sync::mpsc::Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Gossip {
                    block,
                    source,
                    id,
                    size,
                } => {
                    self.dequeue_block(size);
                    let verdict = self.import_gossip(&block, source);
                    self.net.validation_result(id, source, verdict);
                }
                Job::Sync { blocks, peer, done } => {
                    let _ = done.send(self.import_range(blocks, peer));
                }
            }
        }
    }

    fn check_slot(&self, header: &Header) -> Result<(), &'static str> {
        let slot = header.digest.aura_slot().ok_or("no slot")?;
        let slot_ms = self
            .client
            .slot_duration(&header.parent_hash)
            .unwrap_or(aura::DEFAULT_SLOT_DURATION_MS)
            .max(1);
        let now_slot = unix_ms() / slot_ms;
        if slot > now_slot + 1 {
            return Err("block from a future slot");
        }
        Ok(())
    }

    fn import_gossip(&self, block: &Block, source: PeerId) -> Verdict {
        let hash = block.header.hash();
        match self.client.header(&hash) {
            Ok(Some(_)) => return Verdict::Ignore,
            Ok(None) => {}
            Err(_) => return Verdict::Ignore,
        }
        if block.header.number <= self.client.finalized().0 {
            return Verdict::Ignore;
        }
        if let Err(reason) = self.check_slot(&block.header) {
            log::debug!("block #{} from {source}: {reason}", block.header.number);
            self.net.report(source, Reputation::bad(reason));
            return Verdict::Ignore;
        }
        match self.import_and_witness(block) {
            Ok(imported) => {
                self.note_peer_best(source, block.header.number);
                log::info!(
                    "imported #{} {:?} from {source}{}",
                    imported.number,
                    imported.hash,
                    if imported.is_new_best { " (best)" } else { "" }
                );
                Verdict::Accept
            }
            Err(ImportError::UnknownParent(_)) => {
                // A gap: the sync driver fetches what is missing from this peer. Honest
                // peers send such blocks while this node lags, so the cost is small, but a
                // stream of invented blocks gets the sender dropped.
                self.net.report(source, UNKNOWN_PARENT_COST);
                self.wake_sync.notify_one();
                Verdict::Ignore
            }
            Err(e) if is_fatal(&e) => {
                log::warn!("bad block #{} from {source}: {e}", block.header.number);
                self.net.report(source, Reputation::fatal("invalid block"));
                Verdict::Reject
            }
            Err(e) => {
                log::debug!("block #{} not imported: {e}", block.header.number);
                Verdict::Ignore
            }
        }
    }

    /// Imports downloaded blocks in order; returns how many were new.
    fn import_range(&self, blocks: Vec<BlockData>, peer: PeerId) -> Result<usize, String> {
        let mut imported = 0;
        for data in blocks {
            let hash = data.header.hash();
            let known = self
                .client
                .header(&hash)
                .map_err(|e| e.to_string())?
                .is_some();
            if !known {
                if data.header.number <= self.client.finalized().0 {
                    return Err(format!(
                        "block #{} forks below finality",
                        data.header.number
                    ));
                }
                let Some(body) = data.body else {
                    self.net
                        .report(peer, Reputation::bad("block without its body"));
                    return Err("block without body".into());
                };
                if let Err(reason) = self.check_slot(&data.header) {
                    return Err(reason.into());
                }
                let block = Block {
                    header: data.header.clone(),
                    extrinsics: body,
                };
                match self.import_and_witness(&block) {
                    Ok(_) => {
                        imported += 1;
                        *self.last_sync_import.lock() = Some(Instant::now());
                    }
                    Err(e) => {
                        if is_fatal(&e) {
                            self.net
                                .report(peer, Reputation::fatal("invalid block in a range"));
                        }
                        return Err(format!("#{}: {e}", data.header.number));
                    }
                }
            }
            if let Some(justification) = data.justification {
                if data.header.number > self.client.finalized().0 {
                    let finality = self.finality.lock().clone();
                    if let Some(finality) = finality {
                        if let Err(e) = finality.import_justification(hash, &justification) {
                            // Not fatal: a node whose own authority set is behind (or a
                            // set change it has not followed yet) fails honest
                            // justifications too.
                            self.net
                                .report(peer, Reputation::bad("justification did not verify"));
                            return Err(format!("justification of #{}: {e}", data.header.number));
                        }
                    }
                }
            }
        }
        Ok(imported)
    }

    /// Imports a block from a peer and witnesses its seal. A chain that is final on import
    /// ([`arceon_finality::final_on_import`]) has its block finalized in the same write.
    fn import_and_witness(&self, block: &Block) -> Result<Imported, ImportError> {
        let header = &block.header;
        // Unreadable parent state: the import itself reports why.
        let authorities = self.client.authorities(&header.parent_hash).ok();
        let sole = authorities
            .as_deref()
            .is_some_and(arceon_finality::final_on_import);
        let finalize = sole && header.number > self.client.finalized().0;
        let imported = self
            .client
            .import_block(block, ImportOptions { finalize })?;
        if let Some(authorities) = &authorities {
            self.witness(header, authorities);
        }
        Ok(imported)
    }

    // ---- equivocation ----

    /// Remembers who sealed a block in its slot; a second, different block by the same
    /// author in the same slot is reported on chain.
    fn witness(&self, header: &Header, authorities: &[sr25519::Public]) {
        let Some(slot) = header.digest.aura_slot() else {
            return;
        };
        let Some(author) = aura::slot_author(authorities, slot) else {
            return;
        };
        let first = {
            let mut seen = self.seen.lock();
            match seen.get(&slot) {
                Some((first_author, first)) if *first_author == author => {
                    if first.hash() == header.hash() {
                        return;
                    }
                    first.clone()
                }
                Some(_) => return,
                None => {
                    seen.insert(slot, (author, header.clone()));
                    while seen.len() > SEEN_SLOTS {
                        seen.pop_first();
                    }
                    return;
                }
            }
        };
        log::warn!(
            "equivocation: {author} sealed two blocks in slot {slot} ({:?} and {:?}); reporting",
            first.hash(),
            header.hash()
        );
        let proof = arceon_consensus_primitives::EquivocationProof {
            offender: author,
            slot,
            first_header: first,
            second_header: header.clone(),
        };
        crate::pool_evidence(
            &self.client,
            &self.pool,
            arceon_runtime::offchain::report_equivocation(proof),
            "equivocation report",
        );
    }

    // ---- sync driver ----

    async fn sync_driver(self: Arc<Self>) {
        let mut last_status = Instant::now() - STATUS_INTERVAL;
        loop {
            tokio::select! {
                _ = self.wake_sync.notified() => {}
                _ = tokio::time::sleep(SYNC_TICK) => {}
            }
            if last_status.elapsed() >= STATUS_INTERVAL {
                last_status = Instant::now();
                for peer in self.net.peers() {
                    let bridge = self.clone();
                    tokio::spawn(async move { bridge.refresh_status(peer.peer_id).await });
                }
            }
            if *self.mode.lock() == SyncMode::Warp {
                if self.client.best().0 > 0 {
                    *self.mode.lock() = SyncMode::Full;
                } else if self.peers.lock().values().any(|p| p.finalized_number > 0) {
                    match self.warp_sync().await {
                        Ok(number) => {
                            log::info!("warp sync done: state of finalized #{number} downloaded and verified");
                            *self.mode.lock() = SyncMode::Full;
                        }
                        Err(e) => log::warn!("warp sync: {e}"),
                    }
                    continue;
                } else {
                    continue;
                }
            }
            let best = self.client.best().0;
            let now = Instant::now();
            let (target, claimed_best) = {
                let peers = self.peers.lock();
                let target = peers
                    .iter()
                    .filter(|(_, s)| s.backoff_until.is_none_or(|until| until <= now))
                    .max_by_key(|(_, s)| s.best_number)
                    .map(|(p, s)| (*p, s.best_number));
                let claimed = peers.values().map(|s| s.best_number).max().unwrap_or(0);
                (target, claimed)
            };
            // Syncing means verified progress: ranges from peers are importing and a
            // peer still claims to be well ahead. A claim alone never counts.
            let progressing = self
                .last_sync_import
                .lock()
                .is_some_and(|at| at.elapsed() < SYNC_PROGRESS_WINDOW);
            self.syncing.store(
                progressing && claimed_best > best + SYNCING_LAG,
                Ordering::Relaxed,
            );
            let Some((peer, peer_best)) = target else {
                continue;
            };
            if peer_best <= best {
                continue;
            }
            let attempt =
                tokio::time::timeout(SYNC_REQUEST_TIMEOUT * 4, self.sync_from(peer, best)).await;
            let failure = match attempt {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some("sync from this peer took too long".to_string()),
            };
            if let Some(e) = failure {
                log::debug!("sync from {peer}: {e}");
                self.net.report(peer, SYNC_FAILURE_COST);
                // Try the other peers first: this one's claim is set aside until its
                // status is refreshed, and it is not synced from for a while.
                if let Some(state) = self.peers.lock().get_mut(&peer) {
                    state.best_number = self.client.best().0;
                    state.backoff_until = Some(Instant::now() + SYNC_BACKOFF);
                }
                self.wake_sync.notify_one();
            }
        }
    }

    /// Fetches block `hash` with its ancestors this node lacks from `peer` and imports
    /// them: a finality vote named a block of a fork this node never saw (after a
    /// partition, the other side's), and the vote counts only once the block is known.
    /// One fetch per block at a time. Not while the node syncs: a warp sync needs a
    /// database holding only genesis, and a full sync brings the chain anyway.
    pub fn fetch_fork(self: &Arc<Self>, peer: PeerId, hash: arceon_primitives::H256) {
        if *self.mode.lock() == SyncMode::Warp
            || self.is_syncing()
            || !self.fetching.lock().insert(hash)
        {
            return;
        }
        let this = self.clone();
        self.runtime.spawn(async move {
            let blocks = this
                .request_blocks(
                    peer,
                    FromBlock::Hash(hash),
                    Direction::Descending,
                    MAX_BLOCKS_PER_RESPONSE,
                    true,
                )
                .await;
            match blocks {
                Ok(mut blocks) => {
                    blocks.reverse();
                    match this.import_range(blocks, peer) {
                        Ok(count) if count > 0 => {
                            log::info!("imported {count} blocks of a fork a finality vote named")
                        }
                        Ok(_) => {}
                        Err(e) => log::debug!("fork of {hash:?} from {peer}: {e}"),
                    }
                }
                Err(e) => log::debug!("fork of {hash:?} from {peer}: {e}"),
            }
            this.fetching.lock().remove(&hash);
        });
    }

    async fn request_blocks(
        &self,
        peer: PeerId,
        from: FromBlock,
        direction: Direction,
        max: u32,
        bodies: bool,
    ) -> Result<Vec<BlockData>, String> {
        let request = Request::Blocks(BlocksRequest {
            from,
            direction,
            max,
            bodies,
            justifications: true,
        });
        let response = tokio::time::timeout(SYNC_REQUEST_TIMEOUT, self.net.request(peer, request))
            .await
            .map_err(|_| "blocks request timed out".to_string())?;
        match response {
            Ok(Response::Blocks(blocks)) => Ok(blocks),
            Ok(Response::Refused(reason)) => Err(format!("refused: {reason}")),
            Ok(_) => {
                self.net
                    .report(peer, Reputation::bad("wrong response to a blocks request"));
                Err("wrong response".into())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Downloads and imports the peer's best chain above `best`, walking back to a common
    /// ancestor when the peer is on another fork.
    async fn sync_from(&self, peer: PeerId, best: BlockNumber) -> Result<(), String> {
        let blocks = self
            .request_blocks(
                peer,
                FromBlock::Number(best + 1),
                Direction::Ascending,
                MAX_BLOCKS_PER_RESPONSE,
                true,
            )
            .await?;
        let Some(first) = blocks.first() else {
            return Err("empty range".into());
        };
        if first.header.number != best + 1 {
            self.net
                .report(peer, Reputation::bad("range from the wrong height"));
            return Err("range from the wrong height".into());
        }
        // Walk back through the peer's fork, headers only, until a block we have. Every
        // header must be the parent of the one before (hash and number), so the search
        // cannot wander: it ends at our finalized height at the latest.
        let finalized = self.client.finalized().0;
        let mut parent = first.header.parent_hash;
        let mut parent_number = best;
        let mut fork: Vec<Header> = Vec::new();
        while !self.is_known(&parent)? {
            if parent_number <= finalized {
                self.net.report(
                    peer,
                    Reputation::bad("chain forks below our finalized block"),
                );
                return Err("peer's chain forks below our finalized block".into());
            }
            if fork.len() >= MAX_ANCESTOR_SEARCH {
                self.net
                    .report(peer, Reputation::bad("fork deeper than the search allows"));
                return Err("fork deeper than the ancestor search allows".into());
            }
            let batch = self
                .request_blocks(
                    peer,
                    FromBlock::Hash(parent),
                    Direction::Descending,
                    MAX_BLOCKS_PER_RESPONSE,
                    false,
                )
                .await?;
            if batch.is_empty() {
                self.net.report(
                    peer,
                    Reputation::bad("does not serve its own block's parent"),
                );
                return Err("peer does not have its own block's parent".into());
            }
            for data in batch {
                if data.header.hash() != parent || data.header.number != parent_number {
                    self.net
                        .report(peer, Reputation::fatal("ancestors do not link"));
                    return Err("ancestors do not link".into());
                }
                parent = data.header.parent_hash;
                parent_number = parent_number.saturating_sub(1);
                fork.push(data.header);
                if parent_number < finalized || self.is_known(&parent)? {
                    break;
                }
                if fork.len() >= MAX_ANCESTOR_SEARCH {
                    break;
                }
            }
        }
        // Bodies of the fork, lowest first, a response at a time, imported as they come.
        fork.reverse();
        for chunk in fork.chunks(MAX_BLOCKS_PER_RESPONSE as usize) {
            let mut bodies = self
                .request_blocks(
                    peer,
                    FromBlock::Hash(chunk[0].hash()),
                    Direction::Ascending,
                    chunk.len() as u32,
                    true,
                )
                .await?;
            bodies.truncate(chunk.len());
            if bodies.len() != chunk.len() || bodies.iter().zip(chunk).any(|(b, h)| b.header != *h)
            {
                // The peer's best chain may have moved meanwhile: retry later.
                return Err("fork bodies do not match the fork's headers".into());
            }
            self.import_job(bodies, peer).await?;
        }
        self.import_job(blocks, peer).await?;
        Ok(())
    }

    fn is_known(&self, hash: &arceon_primitives::H256) -> Result<bool, String> {
        Ok(self
            .client
            .header(hash)
            .map_err(|e| e.to_string())?
            .is_some())
    }

    /// Hands downloaded blocks to the import worker and waits for the result.
    async fn import_job(&self, blocks: Vec<BlockData>, peer: PeerId) -> Result<(), String> {
        // Blocks we already have are skipped by the worker.
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job::Sync { blocks, peer, done })
            .map_err(|_| "import worker stopped".to_string())?;
        let imported = result
            .await
            .map_err(|_| "import worker stopped".to_string())??;
        if imported > 0 {
            log::info!(
                "synced {imported} blocks from {peer}; best #{} finalized #{}",
                self.client.best().0,
                self.client.finalized().0
            );
        }
        Ok(())
    }

    // ---- warp sync ----

    async fn warp_sync(&self) -> Result<BlockNumber, String> {
        let peer = self
            .peers
            .lock()
            .iter()
            .max_by_key(|(_, s)| s.finalized_number)
            .map(|(p, _)| *p)
            .ok_or("no peers")?;
        let target = self.proven_target(peer).await?;
        let number = target.header.number;
        log::info!(
            "warp sync: #{number} {:?} proven final (authority set {}); downloading its state",
            target.header.hash(),
            target.set_id
        );
        let body = self.proven_body(peer, &target).await?;
        let started = Instant::now();
        let entries = self.proven_state(peer, &target).await?;
        let delta = arceon_state::storage_root(entries);
        if delta.root != target.header.state_root {
            self.net
                .report(peer, Reputation::fatal("state does not match its root"));
            return Err(format!(
                "downloaded state has root {:?}, the proven header says {:?}",
                delta.root, target.header.state_root
            ));
        }
        self.store_warp_base(&target, &body, &delta)?;
        log::info!(
            "warp sync: state verified against #{number}'s root in {} ms",
            started.elapsed().as_millis()
        );
        Ok(number)
    }

    /// Asks `peer` for a warp proof from genesis and verifies it: the finalized block it
    /// proves and the set in force from it. A peer whose proof does not verify is banned.
    async fn proven_target(&self, peer: PeerId) -> Result<arceon_finality::WarpTarget, String> {
        let proof = match self
            .net
            .request(peer, Request::WarpProof { from_set_id: 0 })
            .await
        {
            Ok(Response::WarpProof(proof)) => proof,
            Ok(Response::Refused(reason)) => return Err(format!("proof refused: {reason}")),
            Ok(_) => return Err("wrong response to a warp proof request".into()),
            Err(e) => return Err(e.to_string()),
        };
        let genesis_authorities = self
            .client
            .grandpa_authorities(&self.client.genesis_hash())
            .map_err(|e| e.to_string())?;
        arceon_finality::verify_warp_proof(&genesis_authorities, &proof).map_err(|e| {
            self.net
                .report(peer, Reputation::fatal("invalid warp proof"));
            format!("invalid warp proof: {e}")
        })
    }

    /// The proven block's body from `peer`, checked against its header.
    async fn proven_body(
        &self,
        peer: PeerId,
        target: &arceon_finality::WarpTarget,
    ) -> Result<Vec<Vec<u8>>, String> {
        let hash = target.header.hash();
        let body = self
            .request_blocks(peer, FromBlock::Hash(hash), Direction::Ascending, 1, true)
            .await?
            .into_iter()
            .next()
            .filter(|b| b.header.hash() == hash)
            .and_then(|b| b.body)
            .ok_or("peer did not serve the proven block's body")?;
        if arceon_state::ordered_trie_root(&body) != target.header.extrinsics_root {
            self.net
                .report(peer, Reputation::fatal("body does not match its header"));
            return Err("body does not match the proven header".into());
        }
        Ok(body)
    }

    /// The proven block's whole state from `peer`, in chunks each proven against the
    /// header's state root before it is kept (junk is refused at its first chunk), at most
    /// [`MAX_WARP_STATE_BYTES`] in memory.
    async fn proven_state(
        &self,
        peer: PeerId,
        target: &arceon_finality::WarpTarget,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
        let hash = target.header.hash();
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        let mut start_after: Option<Vec<u8>> = None;
        loop {
            let request = Request::State(StateRequest {
                block: hash,
                start_after: start_after.clone(),
                max_entries: MAX_STATE_ENTRIES,
            });
            let response =
                tokio::time::timeout(SYNC_REQUEST_TIMEOUT * 2, self.net.request(peer, request))
                    .await
                    .map_err(|_| "state request timed out".to_string())?;
            let chunk = match response {
                Ok(Response::State(chunk)) => chunk,
                Ok(Response::Refused(reason)) => return Err(format!("state refused: {reason}")),
                Ok(_) => return Err("wrong response to a state request".into()),
                Err(e) => return Err(e.to_string()),
            };
            self.check_state_chunk(peer, target, start_after.as_deref(), &chunk)?;
            bytes += chunk
                .entries
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
            if bytes > MAX_WARP_STATE_BYTES {
                return Err(format!(
                    "state larger than {MAX_WARP_STATE_BYTES} bytes; use full sync"
                ));
            }
            if let Some((last, _)) = chunk.entries.last() {
                start_after = Some(last.clone());
            }
            let complete = chunk.complete;
            entries.extend(chunk.entries);
            log::info!(
                "warp sync: {} state entries downloaded and proven",
                entries.len()
            );
            if complete {
                return Ok(entries);
            }
        }
    }

    /// One state chunk: no larger than asked, proven against the state root from
    /// `start_after` on, and not empty unless it is the last. A peer breaking any of these
    /// is banned.
    fn check_state_chunk(
        &self,
        peer: PeerId,
        target: &arceon_finality::WarpTarget,
        start_after: Option<&[u8]>,
        chunk: &StateChunk,
    ) -> Result<(), String> {
        if chunk.entries.len() > MAX_STATE_ENTRIES as usize {
            self.net
                .report(peer, Reputation::fatal("state chunk larger than asked"));
            return Err("state chunk larger than asked".into());
        }
        let proof = arceon_state::StorageProof::new(chunk.proof.clone());
        if let Err(e) = arceon_state::verify_range_proof(
            &target.header.state_root,
            &proof,
            start_after,
            &chunk.entries,
            chunk.complete,
        ) {
            self.net.report(
                peer,
                Reputation::fatal("state chunk does not match its root"),
            );
            return Err(format!("state chunk refused: {e}"));
        }
        if chunk.entries.is_empty() && !chunk.complete {
            self.net.report(
                peer,
                Reputation::fatal("empty state chunk that is not the last"),
            );
            return Err("empty state chunk that is not the last".into());
        }
        Ok(())
    }

    /// Stores the proven block with its state as the chain's base, and the authority set
    /// in force from it, in one write: a node killed at any moment restarts either before
    /// the warp sync or after it, never with the new base and the genesis set (which would
    /// fail every honest justification).
    fn store_warp_base(
        &self,
        target: &arceon_finality::WarpTarget,
        body: &[Vec<u8>],
        delta: &arceon_state::StateDelta,
    ) -> Result<(), String> {
        let finality = self.finality.lock().clone();
        let aux = arceon_finality::warp::base_records(target);
        let aux: Vec<(&[u8], &[u8])> = aux.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        self.client
            .import_warp_base(&target.header, body, &target.justification, delta, &aux)
            .map_err(|e| e.to_string())?;
        if let Some(finality) = finality {
            finality
                .reset_to_warp_target(target)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_gossip_is_a_bounded_batch() {
        let batch = vec![vec![1u8, 2, 3], vec![4u8; 200]];
        assert_eq!(
            decode_transaction_batch(&batch.encode()),
            Some(batch.clone())
        );
        // Empty, trailing bytes, truncated, too many.
        assert_eq!(
            decode_transaction_batch(&Vec::<Vec<u8>>::new().encode()),
            None
        );
        let mut trailing = batch.encode();
        trailing.push(0);
        assert_eq!(decode_transaction_batch(&trailing), None);
        let encoded = batch.encode();
        assert_eq!(
            decode_transaction_batch(&encoded[..encoded.len() - 1]),
            None
        );
        let many = vec![vec![0u8]; MAX_TRANSACTIONS_PER_GOSSIP + 1];
        assert_eq!(decode_transaction_batch(&many.encode()), None);
        // A length prefix claiming more than the message holds allocates nothing.
        let mut lying = codec::Compact(1u32).encode();
        lying.extend(codec::Compact(u32::MAX).encode());
        assert_eq!(decode_transaction_batch(&lying), None);
    }

    #[test]
    fn recent_hashes_forget_the_oldest_and_are_taken_once() {
        let mut recent = RecentHashes::default();
        let hash = |i: u64| arceon_primitives::H256::from_low_u64_be(i);
        for i in 0..(RECENT_GOSSIP_TRANSACTIONS as u64 + 5) {
            recent.insert(hash(i));
        }
        assert!(!recent.take(&hash(0)));
        assert!(recent.take(&hash(RECENT_GOSSIP_TRANSACTIONS as u64)));
        assert!(!recent.take(&hash(RECENT_GOSSIP_TRANSACTIONS as u64)));
    }
}
