//! A seeded, deterministic simulation of one area's lane under faults.
//!
//! One process drives every committee member's [`Lane`] the way the node does (durable
//! persists, signing rounds, forwarding of held submissions, a chain that includes
//! certified batches and that members follow) over a simulated clock and network.
//! Everything random comes from one seed: message delay (so reordering), loss,
//! duplication, a partition that cuts one member off for a while, crashes of any member
//! (the primary too: the view change replaces it) that keep the persisted batches and
//! lose the rest, and byzantine members: a replica that withholds its votes, or a pair
//! beyond what a committee tolerates (a primary that proposes two batches per height and a
//! member that votes for everything), whose two certificates at one height must name a
//! byzantine member among the signers of both (the slashing evidence). Players send each
//! action to a member of their choice (their RPC node), which forwards it to the
//! primary; a player without an answer for a second sends it again to another member.
//! After the faulty period the network heals, every crashed member restarts, and the
//! run continues until the lane is quiet.
//!
//! The world is [`ToyState`]: players walk at most 100 units per action and lane nonces
//! count up. Players act one action at a time, so every action they submit is valid;
//! faults may only delay it.
//!
//! Checked after every run ([`Report::violations`]):
//! - no two certified batches at one height, except with the byzantine pair, and then
//!   a byzantine member signed both (the evidence slashes someone dishonest);
//! - every receipt proves its action (Merkle path) under a header whose certificate
//!   verifies against the committee, and that header is the certified one;
//! - the chain re-executes every certified batch with the certified outcomes, so every
//!   receipted outcome is the chain's;
//! - every batch a member persisted at a height the chain included is the chain's, or
//!   one of an older view that the view change left behind (honest logs agree within a
//!   view);
//! - no valid action is refused by the world's rules, and once the network healed every
//!   action is on chain, the lane holds nothing uncertified and its members agree on a
//!   view.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use arceon_pallet_areas::Position;
use arceon_pallet_fastlane::types::ActionKind;
use arceon_primitives::AccountId32;
use arceon_support::ModuleError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sp_core::{sr25519, Pair};

use super::*;

/// The toy world a simulated lane orders: per player a position and a lane nonce.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct World {
    /// `(x, next lane nonce)` per player.
    pub players: HashMap<AccountId32, (i64, u64)>,
}

/// [`World`] with checkpoints, as a [`LaneState`].
#[derive(Default)]
pub struct ToyState {
    /// The current world.
    pub world: World,
    saved: Vec<World>,
}

/// The toy world's refusal of a move longer than 100 units (named like the players
/// pallet's).
pub fn too_fast() -> DispatchError {
    DispatchError::Module(ModuleError {
        index: 41,
        error: 4,
        name: "TooFast",
    })
}

impl LaneState for ToyState {
    fn execute(
        &mut self,
        committee: &Committee,
        _time_ms: u64,
        action: &SignedLaneAction,
    ) -> Result<Outcome, DispatchError> {
        let entry = self
            .world
            .players
            .entry(action.action.player.clone())
            .or_insert((0, 0));
        if action.action.nonce != entry.1 {
            return Err(LaneRuleError::StaleNonce.into());
        }
        let ActionKind::Move { x, y } = action.action.kind else {
            return Err(LaneRuleError::WrongArea.into());
        };
        if (x - entry.0).abs() > 100 {
            return Err(too_fast());
        }
        *entry = (x, entry.1 + 1);
        Ok(Outcome::Moved {
            area: committee.area,
            position: Position::new(x, y),
        })
    }

    fn checkpoint(&mut self) {
        self.saved.push(self.world.clone());
    }

    fn commit(&mut self) {
        self.saved.pop();
    }

    fn rollback(&mut self) {
        if let Some(world) = self.saved.pop() {
            self.world = world;
        }
    }
}

/// The area the simulated lane orders.
pub const AREA: AreaId = 7;
/// Its committee version.
pub const VERSION: u64 = 3;
/// How often the simulated chain includes certified batches (ms).
const BLOCK_MS: u64 = 500;
/// How often members' timers fire (ms).
const TICK_MS: u64 = 2;
/// How long the run goes on after the network healed (ms).
const HEAL_MS: u64 = 5_000;
/// How long a member of a new committee waits for the old one's seal before it starts
/// after the last certified batch it knows (the node's wait with 150 ms view timeouts).
const HANDOVER_WAIT_MS: u64 = 2_000;
/// How long a player waits for an answer before it sends its action again (ms).
const PLAYER_TIMEOUT_MS: u64 = 1_000;
/// Client ids of forwarded submissions (at the member they were forwarded to) start
/// here; below it, a client id is `player << 32 | nonce`.
const FORWARDED: u64 = 1 << 63;

/// The faults of one run, drawn from its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Committee size (3 to 5).
    pub members: usize,
    /// Players acting.
    pub players: usize,
    /// Simulated time with faults (ms).
    pub duration_ms: u64,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Largest message delay (ms); delays are uniform from 1, so messages reorder.
    pub max_delay_ms: u64,
    /// Mean time between member crashes (ms); `None`: no crashes.
    pub crash_every_ms: Option<u64>,
    /// Whether crashes pick the current primary (else any member).
    pub crash_primary: bool,
    /// A window `(from, to)` in which one member is cut off from everyone.
    pub partition: Option<(u64, u64)>,
    /// The member the partition cuts off.
    pub cut_member: usize,
    /// A byzantine replica that withholds every vote for the whole run (the committee
    /// tolerates one: a quorum of the others still certifies).
    pub withholding: Option<usize>,
    /// Two colluding byzantine members `(primary, signer)`: the first, whenever it is
    /// primary, proposes a second batch at each height to half of the replicas; the
    /// second votes for every proposal it sees. That is beyond what a committee
    /// tolerates: two certificates at one height may come out, and then a byzantine
    /// member must be among those that signed both (the evidence slashes it).
    pub equivocating: Option<(usize, usize)>,
    /// The members' [`LaneConfig::report_chunk_bytes`]: small ones split a view-change
    /// report's bodies over many messages.
    pub report_chunk_bytes: usize,
    /// When the chain replaces the committee (a new version, the same members): the
    /// old lane seals ([`Lane::retire`]) and the new one continues after the seal.
    pub handover_at: Option<u64>,
    /// How long a certified batch waits before a block includes it (ms): a lagging
    /// chain leaves long logs beyond it, and a restarted member far behind the lane.
    pub inclusion_lag_ms: u64,
    /// The longest a crashed member stays down (ms).
    pub max_down_ms: u64,
    /// How long after a crash the other members' drivers see its connections break
    /// ([`Lane::member_lost`]); `None`: they never do, only the view timeout tells.
    pub crash_seen_after_ms: Option<u64>,
}

impl Faults {
    /// The faults seed `seed` draws (`duration_ms` of faulty time).
    pub fn from_seed(seed: u64, duration_ms: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x005e_edf4);
        let partition = rng.gen_bool(0.5).then(|| {
            let from = rng.gen_range(0..duration_ms.max(1));
            (from, from + rng.gen_range(50..1_000))
        });
        let members = rng.gen_range(3..=5);
        let mut faults = Faults {
            members,
            players: rng.gen_range(2..=12),
            duration_ms,
            loss: [0.0, 0.01, 0.05, 0.2][rng.gen_range(0..4)],
            duplicate: [0.0, 0.02, 0.1][rng.gen_range(0..3)],
            max_delay_ms: [1, 5, 20, 80][rng.gen_range(0..4)],
            crash_every_ms: rng.gen_bool(0.6).then(|| rng.gen_range(200..2_000)),
            crash_primary: false,
            partition,
            cut_member: members - 1,
            withholding: None,
            equivocating: None,
            report_chunk_bytes: LaneConfig::default().report_chunk_bytes,
            handover_at: None,
            inclusion_lag_ms: 0,
            max_down_ms: 800,
            crash_seen_after_ms: None,
        };
        faults.withholding = rng.gen_bool(0.3).then(|| rng.gen_range(1..members));
        // (A committee of 3 tolerates no fault at all: a pair there is two beyond it.)
        if faults.withholding.is_none() && rng.gen_bool(0.2) && members >= 4 {
            let primary = rng.gen_range(0..members);
            let signer = (primary + rng.gen_range(1..members)) % members;
            faults.equivocating = Some((primary, signer));
        }
        faults.crash_primary = rng.gen_bool(0.5);
        faults.cut_member = rng.gen_range(0..members);
        // Drawn last: the draws above stay what they were for every seed.
        faults.report_chunk_bytes =
            [LaneConfig::default().report_chunk_bytes, 2_048, 300][rng.gen_range(0..3)];
        let handover = rng.gen_bool(0.4);
        let at = rng.gen_range(duration_ms / 4..=duration_ms.max(4) * 3 / 4);
        faults.handover_at = (handover && faults.equivocating.is_none()).then_some(at);
        faults.inclusion_lag_ms = [0, 500, 2_000, 5_000][rng.gen_range(0..4)];
        faults.max_down_ms = [800, 3_000][rng.gen_range(0..2)];
        faults.crash_seen_after_ms = rng.gen_bool(0.5).then(|| rng.gen_range(1..40));
        faults
    }

    /// Members that may fail at once: crashed, cut off or byzantine. A committee of 3
    /// tolerates none, so with a withholding member there, crashes and the partition
    /// stay away from a second member's quorum share.
    fn byzantine(&self) -> usize {
        usize::from(self.withholding.is_some()) + 2 * usize::from(self.equivocating.is_some())
    }

    /// Whether `member` is byzantine.
    pub fn is_byzantine(&self, member: usize) -> bool {
        self.withholding == Some(member)
            || self
                .equivocating
                .is_some_and(|(primary, signer)| member == primary || member == signer)
    }
}

/// What one run did, and what it found wrong.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Simulated time (ms).
    pub simulated_ms: u64,
    /// Actions players submitted (re-submissions included).
    pub submitted: u64,
    /// Receipts players got.
    pub receipted: u64,
    /// Batches certified.
    pub certified: u64,
    /// Member crashes.
    pub crashes: u64,
    /// Crashes of the member that was primary.
    pub primary_crashes: u64,
    /// The highest view a member ran at the end.
    pub views: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost (dropped, or to a crashed member).
    pub lost: u64,
    /// Heights with two certified batches (byzantine runs), each with evidence against
    /// the byzantine members that signed both.
    pub equivocations: u64,
    /// Honest members among the signers of both (possible only beyond what the committee
    /// tolerates).
    pub honest_double_signers: u64,
    /// Committee handovers (runs where the chain replaced the committee).
    pub handovers: u64,
    /// Members that started the new committee's lane without a seal (after waiting
    /// [`HANDOVER_WAIT_MS`]: they restarted after the seals went out).
    pub unsealed_starts: u64,
    /// Broken invariants.
    pub violations: Vec<String>,
}

/// What travels between simulated nodes.
#[derive(Clone)]
enum Message {
    Lane(LaneMessage),
    /// A held submission forwarded to the primary (`client` at the forwarder).
    Forward {
        client: ClientId,
        action: SignedLaneAction,
    },
    /// The primary's answer to a forwarded submission.
    Answer {
        client: ClientId,
        action: H256,
        result: Result<Receipt, LaneError>,
    },
    /// A replaced committee's lane ended (from a member that saw it sealed).
    Seal(Box<Seal>),
}

enum Event {
    Deliver {
        to: usize,
        from: usize,
        message: Box<Message>,
    },
    Tick(usize),
    Submit(usize),
    /// A player's timeout for the action with this nonce.
    Timeout(usize, u64),
    Crash,
    /// Member `to`'s driver sees the connection to crashed member `member` break.
    Lost {
        to: usize,
        member: usize,
    },
    Restart(usize),
    Block,
    /// The chain replaces the committee.
    Handover,
    /// A certified batch reaches a member through gossip (the node's `lanes` topic).
    Gossip {
        to: usize,
        certified: Box<CertifiedBatch>,
    },
}

struct Member {
    pair: sr25519::Pair,
    lane: Option<Lane>,
    state: ToyState,
    /// Persisted batches (what survives a crash).
    log: BTreeMap<u64, Batch>,
    /// Forwarded submissions this member took: id -> (forwarder, its client).
    forwarded: HashMap<ClientId, (usize, ClientId)>,
    /// The highest view its lane was in (kept durable, like the node's).
    view: u32,
    /// The views it last voted in for its batches (kept durable, like the node's).
    votes: Vec<(u64, u32)>,
    /// Certified batches gossiped to it beyond its lane's tip (in memory: lost in a
    /// crash), taken in order as it catches up.
    gossiped: BTreeMap<u64, CertifiedBatch>,
    /// The committee version its view and votes are for (kept durable with them).
    version: u64,
    /// A member of the new committee without a lane, waiting for the old one's seal
    /// since this time.
    awaiting: Option<u64>,
    /// The last batch of the replaced committee's lane its new lane continues after
    /// (kept durable, like the node's).
    base: LaneHead,
    /// The seal of the replaced committee's lane it made or took (in memory): sent
    /// again to a member that restarts and waits for one, as a node sends its seals to
    /// a peer that connects.
    seal: Option<Box<Seal>>,
}

struct Player {
    pair: sr25519::Pair,
    nonce: u64,
    x: i64,
    waiting: Option<SignedLaneAction>,
}

struct Sim {
    seed: u64,
    faults: Faults,
    rng: StdRng,
    now: u64,
    next_seq: u64,
    next_forward: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Event>,
    genesis: H256,
    committee: Committee,
    members: Vec<Member>,
    players: Vec<Player>,
    certified: BTreeMap<u64, CertifiedBatch>,
    /// The view each height's batch was certified in.
    certified_in: BTreeMap<u64, u32>,
    /// When each height's batch was certified.
    certified_at: BTreeMap<u64, u64>,
    /// The equivocating primary's second batches, by header hash, with the votes the
    /// byzantine pair collected for them.
    forks: crate::byzantine::Forks,
    /// Heights with a second certified batch.
    conflicting: BTreeMap<u64, CertifiedBatch>,
    chain: BTreeMap<u64, Batch>,
    chain_head: LaneHead,
    chain_state: ToyState,
    /// The committee before the chain replaced it (while its lane ends).
    old_committee: Option<Committee>,
    /// When the chain replaced it.
    handed_over: Option<u64>,
    broken: Option<BrokenRuleSwitch>,
    report: Report,
}

/// A protocol rule broken in every member, to check that the invariants catch it.
#[derive(Debug, Clone, Copy)]
#[cfg(any(test, feature = "broken-rules"))]
pub struct BrokenRuleSwitch(pub BrokenRule);
#[derive(Debug, Clone, Copy)]
#[cfg(not(any(test, feature = "broken-rules")))]
pub struct BrokenRuleSwitch(());

/// Runs seed `seed` with `duration_ms` of faulty time and checks the invariants.
pub fn run(seed: u64, duration_ms: u64) -> Report {
    run_with(seed, duration_ms, None)
}

/// [`run`], with a protocol rule broken on purpose.
pub fn run_with(seed: u64, duration_ms: u64, broken: Option<BrokenRuleSwitch>) -> Report {
    let faults = Faults::from_seed(seed, duration_ms);
    let genesis = H256::repeat_byte(9);
    let pairs: Vec<sr25519::Pair> = (0..faults.members)
        .map(|i| sr25519::Pair::from_seed(&[100 + i as u8; 32]))
        .collect();
    let committee = Committee {
        area: AREA,
        version: VERSION,
        keys: pairs.iter().map(|pair| pair.public().0).collect(),
    };
    let members = pairs
        .into_iter()
        .map(|pair| Member {
            pair,
            lane: None,
            state: ToyState::default(),
            log: BTreeMap::new(),
            forwarded: HashMap::new(),
            view: 0,
            votes: Vec::new(),
            gossiped: BTreeMap::new(),
            version: VERSION,
            awaiting: None,
            base: LaneHead::default(),
            seal: None,
        })
        .collect();
    let players = (0..faults.players)
        .map(|i| Player {
            pair: sr25519::Pair::from_seed(&[i as u8 + 1; 32]),
            nonce: 0,
            x: 0,
            waiting: None,
        })
        .collect();
    let mut sim = Sim {
        seed,
        rng: StdRng::seed_from_u64(seed),
        faults,
        now: 0,
        next_seq: 0,
        next_forward: 0,
        queue: BinaryHeap::new(),
        events: HashMap::new(),
        genesis,
        committee,
        members,
        players,
        certified: BTreeMap::new(),
        certified_in: BTreeMap::new(),
        certified_at: BTreeMap::new(),
        forks: Default::default(),
        conflicting: BTreeMap::new(),
        chain: BTreeMap::new(),
        chain_head: LaneHead::default(),
        chain_state: ToyState::default(),
        old_committee: None,
        handed_over: None,
        broken,
        report: Report {
            seed,
            ..Report::default()
        },
    };
    for member in 0..sim.members.len() {
        sim.restart(member);
    }
    sim.start();
    sim.run_until(duration_ms + HEAL_MS);
    sim.check_end();
    sim.report.simulated_ms = sim.now;
    sim.report
}

impl Sim {
    fn at(&mut self, time: u64, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(Reverse((time, seq)));
        self.events.insert(seq, event);
    }

    /// Prints what happens when `ARCEON_SIM_TRACE` is set (replaying a failing seed).
    fn trace(&self, what: impl FnOnce() -> String) {
        if std::env::var_os("ARCEON_SIM_TRACE").is_some() {
            eprintln!("t={} {}", self.now, what());
        }
    }

    fn faulty(&self) -> bool {
        self.now < self.faults.duration_ms
    }

    fn violation(&mut self, what: String) {
        // With the byzantine pair (beyond what a committee tolerates) the lane may fork
        // and stall: only the evidence of its equivocations is promised.
        let evidence = what.contains("two certificates") || what.contains("forged certificate");
        if self.faults.equivocating.is_some() && !evidence {
            return;
        }
        if self.report.violations.len() < 20 {
            self.report
                .violations
                .push(format!("t={}ms: {what}", self.now));
        }
    }

    fn start(&mut self) {
        for member in 0..self.members.len() {
            self.at(TICK_MS, Event::Tick(member));
        }
        for player in 0..self.players.len() {
            let delay = self.rng.gen_range(1..50);
            self.at(delay, Event::Submit(player));
        }
        self.at(BLOCK_MS, Event::Block);
        if let Some(at) = self.faults.handover_at {
            self.at(at, Event::Handover);
        }
        if let Some(every) = self.faults.crash_every_ms {
            let first = self.rng.gen_range(1..=every);
            self.at(first, Event::Crash);
        }
    }

    fn run_until(&mut self, end: u64) {
        while let Some(Reverse((time, seq))) = self.queue.pop() {
            if time > end {
                break;
            }
            self.now = time;
            let Some(event) = self.events.remove(&seq) else {
                continue;
            };
            match event {
                Event::Deliver { to, from, message } => self.deliver(to, from, *message),
                Event::Tick(member) => {
                    let m = &mut self.members[member];
                    if let Some(lane) = m.lane.as_mut() {
                        let out = lane.tick(&mut m.state, self.now);
                        self.drive(member, out);
                        self.check_sealed(member);
                    }
                    let m = &self.members[member];
                    let waited = m
                        .awaiting
                        .or(self.handed_over.filter(|_| {
                            m.lane.as_ref().is_some_and(|lane| {
                                lane.committee().version < self.committee.version
                            })
                        }))
                        .is_some_and(|since| self.now >= since + HANDOVER_WAIT_MS);
                    if waited {
                        // No seal reached it (it restarted after they went out, or it
                        // was cut off): like the node, it gives up the old lane and
                        // starts after the last certified batch it knows.
                        self.report.unsealed_starts += 1;
                        self.start_new(member);
                    }
                    self.at(self.now + TICK_MS, Event::Tick(member));
                }
                Event::Handover => self.hand_over_chain(),
                Event::Submit(player) => self.submit(player),
                Event::Timeout(player, nonce) => {
                    let waiting = self.players[player].waiting.as_ref();
                    if waiting.is_some_and(|action| action.action.nonce == nonce) {
                        self.submit(player);
                    }
                }
                Event::Crash => self.crash(),
                Event::Lost { to, member } => self.lost(to, member),
                Event::Restart(member) => self.restart(member),
                Event::Block => {
                    self.block();
                    self.at(self.now + BLOCK_MS, Event::Block);
                }
                Event::Gossip { to, certified } => self.gossiped(to, *certified),
            }
        }
    }

    /// Carries out a member's outputs as the node does: persists at once (durable
    /// before anything after it), sends through the network, signs the round's headers
    /// at the end.
    fn drive(&mut self, member: usize, outputs: Vec<Output>) {
        // The view (and the views of its votes) are durable before anything the lane
        // says in it leaves.
        if let Some(lane) = self.members[member].lane.as_mut() {
            let view = lane.view();
            let version = lane.committee().version;
            let votes = lane.take_vote_views();
            let m = &mut self.members[member];
            if version > m.version {
                (m.version, m.view, m.votes) = (version, view, Vec::new());
            }
            if version == m.version {
                m.view = m.view.max(view);
                if let Some(votes) = votes {
                    m.votes = votes;
                }
            }
        }
        let mut to_sign = Vec::new();
        for output in outputs {
            self.trace(|| format!("  m{member} -> {}", brief(&output)));
            match output {
                Output::Persist(batch) => {
                    self.members[member].log.insert(batch.header.height, batch);
                }
                Output::Discard { above } => {
                    // Forgotten on disk, then the view rebuilt without them.
                    self.members[member]
                        .log
                        .retain(|height, _| *height <= above);
                    self.rebuild(member);
                    let m = &mut self.members[member];
                    if let Some(lane) = m.lane.as_mut() {
                        let out = lane.replay_open(&mut m.state);
                        self.drive(member, out);
                    }
                }
                Output::Sign { height, hash } => to_sign.push((height, hash)),
                Output::Send { to, message } => {
                    let withheld = self.faults.withholding == Some(member)
                        && matches!(message, LaneMessage::Vote { .. });
                    let message = self.equivocate(member, usize::from(to), message);
                    if !withheld {
                        self.send(member, usize::from(to), Message::Lane(message));
                    }
                }
                Output::Forward { to, client, action } => {
                    self.send(member, usize::from(to), Message::Forward { client, action })
                }
                Output::Certified(certified) => {
                    let view = self.members[member].lane.as_ref().map_or(0, Lane::view);
                    self.on_certified(certified, view)
                }
                Output::Receipt { client, receipt } => {
                    let hash = receipt.action_hash;
                    self.answer(member, client, hash, Ok(receipt))
                }
                Output::Rejected { client, error } => self.reject(member, client, error),
            }
        }
        if to_sign.is_empty() {
            return;
        }
        let hashes: Vec<H256> = to_sign.iter().map(|(_, hash)| *hash).collect();
        let signatures = sign_round(&self.members[member].pair, &hashes);
        for ((height, hash), signature) in to_sign.into_iter().zip(signatures) {
            let Some(lane) = self.members[member].lane.as_mut() else {
                return;
            };
            let out = lane.signed(height, hash, signature);
            self.drive(member, out);
        }
    }

    /// A refusal for `client` at `member`: forwarded ones go back to their forwarder
    /// (which knows the action), a player's straight to it.
    fn reject(&mut self, member: usize, client: ClientId, error: LaneError) {
        if client >= FORWARDED {
            if let Some((forwarder, original)) = self.members[member].forwarded.remove(&client) {
                // The forwarder matches it to its held action by client id.
                let action = H256::zero();
                self.send(
                    member,
                    forwarder,
                    Message::Answer {
                        client: original,
                        action,
                        result: Err(error),
                    },
                );
            }
            return;
        }
        self.answer_player(client, None, Err(error));
    }

    /// An answer for `client` at `member`.
    fn answer(
        &mut self,
        member: usize,
        client: ClientId,
        action: H256,
        result: Result<Receipt, LaneError>,
    ) {
        if client >= FORWARDED {
            if let Some((forwarder, original)) = self.members[member].forwarded.remove(&client) {
                self.send(
                    member,
                    forwarder,
                    Message::Answer {
                        client: original,
                        action,
                        result,
                    },
                );
            }
            return;
        }
        self.answer_player(client, Some(action), result);
    }

    /// The equivocating primary's proposal to an odd-numbered member: another batch at
    /// the same height ([`crate::byzantine::Forks::fork`]), signed by it.
    fn equivocate(&mut self, member: usize, to: usize, message: LaneMessage) -> LaneMessage {
        let Some((primary, signer)) = self.faults.equivocating else {
            return message;
        };
        let LaneMessage::Propose { view, batch, .. } = &message else {
            return message;
        };
        if member != primary || (to.is_multiple_of(2) && to != signer) {
            return message;
        }
        let (fork, signature) = self.forks.fork(
            &self.members[member].pair,
            member as MemberIndex,
            *view,
            batch,
        );
        let fork_message = LaneMessage::Propose {
            view: *view,
            batch: fork,
            signature,
        };
        if to == signer {
            // The colluding signer gets both (and votes for both).
            let original = message.clone();
            self.send(member, to, Message::Lane(fork_message));
            return original;
        }
        fork_message
    }

    /// Byzantine members' side of a message: the colluding signer votes for every
    /// proposal; the equivocating primary collects the votes for its second batches
    /// (and certifies one at a quorum). Returns whether the message was consumed.
    fn byzantine_sees(&mut self, to: usize, from: usize, message: &LaneMessage) -> bool {
        let Some((primary, signer)) = self.faults.equivocating else {
            return false;
        };
        if to == signer {
            if let LaneMessage::Propose { batch, .. } = message {
                let hash = batch.header.hash();
                if let Some(vote) = crate::byzantine::sign_anything(&self.members[to].pair, message)
                {
                    self.send(to, from, Message::Lane(vote));
                }
                // Its lane sees the first batch of a height only (it "signs anything"
                // without its lane knowing).
                return self.forks.contains(&hash);
            }
        }
        if to == primary {
            if let LaneMessage::Vote {
                hash, signature, ..
            } = message
            {
                if !self.forks.contains(hash) {
                    return false;
                }
                let quorum = self.committee.quorum();
                let view = self.forks.view_of(hash).unwrap_or(0);
                if let Some(certified) =
                    self.forks
                        .vote(hash, from as MemberIndex, signature.clone(), quorum)
                {
                    self.on_fork_certified(certified, view);
                }
                return true;
            }
        }
        false
    }

    /// A second batch certified at a height: the evidence (both certificates) must name
    /// only byzantine members as having signed both.
    fn on_fork_certified(&mut self, fork: CertifiedBatch, _view: u32) {
        let height = fork.batch.header.height;
        if let Err(e) = arceon_pallet_fastlane::verify_certificate(
            &fork.batch.header,
            &fork.certificate,
            &self.committee.keys,
        ) {
            self.violation(format!("a forged certificate at height {height}: {e:?}"));
            return;
        }
        self.conflicting.insert(height, fork);
        self.check_evidence(height);
    }

    /// Two certificates at `height`: the members that signed both are the evidence's
    /// culprits; none of them byzantine is a broken rule.
    fn check_evidence(&mut self, height: u64) {
        let (Some(first), Some(second)) =
            (self.certified.get(&height), self.conflicting.get(&height))
        else {
            return;
        };
        if first.batch.header.hash() == second.batch.header.hash() {
            return;
        }
        let signers = |c: &CertifiedBatch| -> Vec<u8> {
            c.certificate.signatures.iter().map(|(m, _)| *m).collect()
        };
        let (a, b) = (signers(first), signers(second));
        let both: Vec<u8> = a.iter().filter(|m| b.contains(m)).copied().collect();
        self.report.equivocations += 1;
        let honest: Vec<u8> = both
            .iter()
            .filter(|m| !self.faults.is_byzantine(usize::from(**m)))
            .copied()
            .collect();
        // Beyond what the committee tolerates, an honest member that gave up a batch on
        // a new view's (quorum-signed) word can be among them too; a byzantine one must.
        self.report.honest_double_signers += honest.len() as u64;
        let byzantine = both.len() > honest.len();
        if !byzantine || self.faults.equivocating.is_none() {
            self.violation(format!(
                "two certificates at height {height}: signed both {both:?}, honest among them {honest:?}"
            ));
        }
    }

    fn send(&mut self, from: usize, to: usize, message: Message) {
        let copies = if self.faulty() && self.rng.gen_bool(self.faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.faulty() && self.rng.gen_bool(self.faults.loss) {
                self.report.lost += 1;
                continue;
            }
            let delay = self.rng.gen_range(1..=self.faults.max_delay_ms);
            self.at(
                self.now + delay,
                Event::Deliver {
                    to,
                    from,
                    message: Box::new(message.clone()),
                },
            );
        }
    }

    fn cut_off(&self, member: usize) -> bool {
        self.faults
            .partition
            .is_some_and(|(from, to)| (from..to).contains(&self.now))
            && member == self.faults.cut_member
    }

    fn deliver(&mut self, to: usize, from: usize, message: Message) {
        if self.cut_off(to) || self.cut_off(from) {
            self.report.lost += 1;
            return;
        }
        if let Message::Seal(seal) = message {
            self.report.delivered += 1;
            self.on_seal(to, *seal);
            return;
        }
        let Some(lane) = self.members[to].lane.as_ref() else {
            self.report.lost += 1;
            return;
        };
        self.report.delivered += 1;
        if std::env::var_os("ARCEON_SIM_TRACE").is_some() {
            if let Message::Lane(message) = &message {
                eprintln!(
                    "t={} m{to} (view {}{}) <- m{from}: {}",
                    self.now,
                    lane.view(),
                    if lane.is_active() { "" } else { " changing" },
                    brief_message(message)
                );
            }
        }
        if let Message::Lane(message) = &message {
            if self.byzantine_sees(to, from, message) {
                return;
            }
        }
        let member = &mut self.members[to];
        let Some(lane) = member.lane.as_mut() else {
            return;
        };
        let out = match message {
            Message::Lane(message) => {
                lane.on_message(&mut member.state, from as MemberIndex, message)
            }
            Message::Forward { client, action } => {
                let id = FORWARDED + self.next_forward;
                self.next_forward += 1;
                member.forwarded.insert(id, (from, client));
                lane.submit_relayed(&mut member.state, id, action, self.now)
            }
            Message::Answer {
                client,
                action,
                result,
            } => {
                // Not the primary: the forwarder holds the action and tries again.
                if matches!(result, Err(LaneError::NotPrimary)) {
                    return;
                }
                // The forwarder stops waiting on the action, and answers its client.
                let hash = match &result {
                    Ok(receipt) => receipt.action_hash,
                    Err(_) => action,
                };
                let hash = if hash == H256::zero() {
                    self.players
                        .get((client >> 32) as usize)
                        .and_then(|p| p.waiting.as_ref())
                        .filter(|w| w.action.nonce == client & 0xffff_ffff)
                        .map_or(H256::zero(), SignedLaneAction::hash)
                } else {
                    hash
                };
                lane.answered(&hash);
                self.answer_player(client, Some(hash), result);
                Vec::new()
            }
            Message::Seal(_) => Vec::new(),
        };
        self.drive(to, out);
    }

    fn submit(&mut self, player: usize) {
        if !self.faulty() && self.players[player].waiting.is_none() {
            return; // no new actions once the network healed
        }
        let action = match self.players[player].waiting.clone() {
            Some(action) => action,
            None => {
                let step = self.rng.gen_range(-100..=100);
                let p = &self.players[player];
                let action = sign_action(
                    LaneAction {
                        genesis: self.genesis,
                        area: AREA,
                        version: self.committee.version,
                        player: AccountId32::from(p.pair.public()),
                        nonce: p.nonce,
                        kind: ActionKind::Move {
                            x: p.x + step,
                            y: 0,
                        },
                    },
                    &p.pair,
                );
                self.players[player].waiting = Some(action.clone());
                action
            }
        };
        self.report.submitted += 1;
        let nonce = action.action.nonce;
        self.at(self.now + PLAYER_TIMEOUT_MS, Event::Timeout(player, nonce));
        // The player's RPC node: any member (a crashed one never answers).
        let at = self.rng.gen_range(0..self.members.len());
        let client = (player as u64) << 32 | nonce;
        let m = &mut self.members[at];
        let Some(lane) = m.lane.as_mut() else {
            return;
        };
        let out = lane.submit(&mut m.state, client, action, self.now);
        self.drive(at, out);
    }

    /// An answer reaches the player whose client id is `client` (`player << 32 | nonce`);
    /// answers for an action it no longer waits on are duplicates.
    fn answer_player(
        &mut self,
        client: ClientId,
        action: Option<H256>,
        result: Result<Receipt, LaneError>,
    ) {
        let player = (client >> 32) as usize;
        let nonce = client & 0xffff_ffff;
        let Some(waiting) = self.players.get(player).and_then(|p| p.waiting.clone()) else {
            return;
        };
        if waiting.action.nonce != nonce || action.is_some_and(|hash| hash != waiting.hash()) {
            return;
        }
        match result {
            Ok(receipt) => self.on_receipt(player, receipt),
            Err(error) => self.on_rejected(player, error),
        }
    }

    fn on_receipt(&mut self, player: usize, receipt: Receipt) {
        self.report.receipted += 1;
        let hash = receipt.header.hash();
        if !receipt.entry_proven() {
            self.violation(format!(
                "receipt for player {player} does not prove its entry"
            ));
        }
        if let Err(e) = arceon_pallet_fastlane::verify_certificate(
            &receipt.header,
            &receipt.certificate,
            &self.committee.keys,
        ) {
            self.violation(format!("receipt certificate does not verify: {e:?}"));
        }
        match self.certified.get(&receipt.header.height) {
            Some(certified) if certified.batch.header.hash() == hash => {}
            _ => self.violation(format!(
                "receipt at height {} is not the certified batch",
                receipt.header.height
            )),
        }
        let Some(waiting) = self.players.get_mut(player).and_then(|p| p.waiting.take()) else {
            return;
        };
        if waiting.hash() != receipt.action_hash {
            self.violation(format!("player {player} got another action's receipt"));
        }
        let p = &mut self.players[player];
        if let Outcome::Moved { position, .. } = receipt.outcome {
            p.x = position.x;
        }
        p.nonce += 1;
        let delay = self.rng.gen_range(10..150);
        self.at(self.now + delay, Event::Submit(player));
    }

    fn on_rejected(&mut self, player: usize, error: LaneError) {
        match error {
            // Faults may refuse an action for now: it is submitted again.
            LaneError::Superseded
            | LaneError::Overloaded
            | LaneError::Unavailable
            | LaneError::NotPrimary => {
                let delay = self.rng.gen_range(10..100);
                self.at(self.now + delay, Event::Submit(player));
            }
            // The committee changed under the action: signed again for the new one.
            LaneError::Retired => self.sign_again(player),
            LaneError::Rule(ref rule)
                if *rule == DispatchError::from(LaneRuleError::WrongVersion) =>
            {
                self.sign_again(player)
            }
            // A re-sent action the chain already executed (its receipt was lost): the
            // player learns it from the chain at the next block.
            LaneError::Rule(ref rule)
                if *rule == DispatchError::from(LaneRuleError::StaleNonce) => {}
            LaneError::Rule(rule) => {
                self.violation(format!("player {player}'s valid action refused: {rule:?}"))
            }
        }
    }

    /// A batch certified by the primary of `view`.
    fn on_certified(&mut self, certified: CertifiedBatch, view: u32) {
        let height = certified.batch.header.height;
        let hash = certified.batch.header.hash();
        self.trace(|| {
            format!(
                "certified {height} view {} parent {:?} hash {hash:?}",
                certified.batch.header.view, certified.batch.header.parent
            )
        });
        if let Some(earlier) = self.certified.get(&height) {
            if earlier.batch.header.hash() != hash {
                // A second certificate: evidence against every member that signed both,
                // which must all be byzantine (else a broken rule).
                self.conflicting.entry(height).or_insert(certified);
                self.check_evidence(height);
            }
            return;
        }
        self.report.certified += 1;
        self.gossip(&certified);
        self.certified.insert(height, certified);
        self.certified_in.insert(height, view);
        self.certified_at.insert(height, self.now);
        self.check_evidence(height);
    }

    /// A player whose action was signed for a replaced committee signs it again for
    /// the chain's (same nonce: if the old committee sequenced it after all, the new
    /// lane refuses the copy as stale and the player learns it from the chain).
    fn sign_again(&mut self, player: usize) {
        let version = self.committee.version;
        let p = &mut self.players[player];
        if let Some(waiting) = p.waiting.as_mut() {
            if waiting.action.version < version {
                let mut action = waiting.action.clone();
                action.version = version;
                *waiting = sign_action(action, &p.pair);
            }
        }
        let delay = self.rng.gen_range(10..100);
        self.at(self.now + delay, Event::Submit(player));
    }

    /// The chain replaces the committee (same members, next version): every member's
    /// lane retires into the sealing views.
    fn hand_over_chain(&mut self) {
        self.trace(|| "the chain replaces the committee".into());
        self.report.handovers += 1;
        let old = self.committee.clone();
        self.committee.version += 1;
        self.old_committee = Some(old);
        self.handed_over = Some(self.now);
        for member in 0..self.members.len() {
            let m = &mut self.members[member];
            // A crashed member restarts into the new committee (waiting for the seal).
            let Some(lane) = m.lane.as_mut() else {
                continue;
            };
            let out = lane.retire(&mut m.state, self.now);
            self.drive(member, out);
            self.check_sealed(member);
        }
    }

    /// A member whose old lane sealed sends the seal to every member and starts the new
    /// committee's lane after it.
    fn check_sealed(&mut self, member: usize) {
        let Some(old) = self.old_committee.as_ref().map(|c| c.version) else {
            return;
        };
        let Some(seal) = self.members[member]
            .lane
            .as_ref()
            .filter(|lane| lane.committee().version == old)
            .and_then(Lane::sealed)
        else {
            return;
        };
        self.trace(|| format!("m{member} sealed the old lane after {}", seal.head.height));
        self.members[member].seal = Some(Box::new(seal.clone()));
        for to in 0..self.members.len() {
            if to != member {
                self.send(member, to, Message::Seal(Box::new(seal.clone())));
            }
        }
        self.start_new(member);
    }

    /// A seal reaches `member`: checked against the old committee, it ends the old lane
    /// there too (or starts the new one of a member that waited for it).
    fn on_seal(&mut self, member: usize, seal: Seal) {
        let Some(old) = self.old_committee.clone() else {
            return;
        };
        if seal.version != old.version || !seal.verify(&self.genesis, &old.keys) {
            self.violation(format!("an invalid seal of version {}", seal.version));
            return;
        }
        if self.members[member].lane.is_some() || self.members[member].awaiting.is_some() {
            self.members[member].seal = Some(Box::new(seal.clone()));
        }
        let m = &self.members[member];
        let old_lane = m
            .lane
            .as_ref()
            .is_some_and(|lane| lane.committee().version == old.version);
        if old_lane || m.awaiting.is_some() {
            self.start_new(member);
        }
    }

    /// `member` runs the new committee's lane, after the last certified batch gossip
    /// brought it (the simulator takes the certified batches as gossip's).
    fn start_new(&mut self, member: usize) {
        let committee = self.committee.clone();
        let mut tip = self.chain_head.clone();
        let mut state = ToyState {
            world: self.chain_state.world.clone(),
            saved: Vec::new(),
        };
        let mut log = Vec::new();
        let mut base = self.chain_head.clone();
        for (height, certified) in self.certified.range(tip.height + 1..) {
            let batch = &certified.batch;
            if *height != tip.height + 1 || batch.header.parent != tip.hash {
                break;
            }
            for action in &batch.actions {
                let _ = state.execute(&committee, batch.header.time_ms, action);
            }
            tip = LaneHead {
                height: *height,
                hash: batch.header.hash(),
                time_ms: batch.header.time_ms,
            };
            // The old committee's batches are decided (its lane's end is the base);
            // the new one's join the log.
            if batch.header.version < committee.version {
                base = tip.clone();
            } else {
                log.push(batch.clone());
            }
        }
        self.trace(|| {
            format!(
                "m{member} starts version {} after {}",
                committee.version, tip.height
            )
        });
        let mut lane = self.lane(committee, member, tip);
        lane.set_base(base.clone());
        for batch in log {
            lane.restore(batch);
        }
        let out = lane.on_included(&self.chain_head);
        let m = &mut self.members[member];
        m.base = base;
        m.awaiting = None;
        m.gossiped.clear();
        m.lane = Some(lane);
        m.state = state;
        self.drive(member, out);
    }

    /// A newly certified batch goes out on gossip to every member (with the network's
    /// delay and loss): one that missed the proposals catches up on it, as a node does.
    fn gossip(&mut self, certified: &CertifiedBatch) {
        for to in 0..self.members.len() {
            if self.faulty() && self.rng.gen_bool(self.faults.loss) {
                continue;
            }
            let delay = self.rng.gen_range(1..=2 * self.faults.max_delay_ms);
            self.at(
                self.now + delay,
                Event::Gossip {
                    to,
                    certified: Box::new(certified.clone()),
                },
            );
        }
    }

    /// A gossiped certified batch reaches `member`.
    fn gossiped(&mut self, member: usize, certified: CertifiedBatch) {
        if self.cut_off(member) {
            return;
        }
        let m = &mut self.members[member];
        let Some(lane) = m.lane.as_ref() else {
            return;
        };
        let height = certified.batch.header.height;
        if height > lane.tip().height {
            m.gossiped.insert(height, certified);
        }
        self.catch_up(member);
    }

    /// A replica (the node's driver) applies the gossiped certified batches that follow
    /// its lane's tip to its view, and its lane continues after them
    /// ([`Lane::catch_up`]).
    fn catch_up(&mut self, member: usize) {
        let committee = self.committee.clone();
        loop {
            let m = &mut self.members[member];
            let Some(lane) = m.lane.as_mut() else {
                return;
            };
            let tip = lane.tip().clone();
            m.gossiped.retain(|height, _| *height > tip.height);
            if lane.is_primary() {
                return;
            }
            let Some(certified) = m.gossiped.get(&(tip.height + 1)).cloned() else {
                return;
            };
            let batch = &certified.batch;
            if batch.header.parent != tip.hash {
                // Its log went another way (a view will sort it out).
                m.gossiped.remove(&(tip.height + 1));
                return;
            }
            m.state.checkpoint();
            let applies = batch
                .actions
                .iter()
                .zip(&batch.outcomes)
                .all(|(action, outcome)| {
                    m.state
                        .execute(&committee, batch.header.time_ms, action)
                        .is_ok_and(|got| got == *outcome)
                });
            if !applies {
                m.state.rollback();
                m.gossiped.remove(&(tip.height + 1));
                return;
            }
            m.state.commit();
            let out = lane.catch_up(&certified);
            self.trace(|| format!("m{member} catches up on {}", batch.header.height));
            self.drive(member, out);
        }
    }

    /// The primary the members that run a view agree on, if any.
    fn running_primary(&self) -> Option<usize> {
        self.members
            .iter()
            .filter_map(|m| m.lane.as_ref())
            .filter(|lane| lane.is_primary())
            .map(|lane| usize::from(lane.me()))
            .max()
    }

    fn crash(&mut self) {
        self.trace(|| "crash event".into());
        if !self.faulty() {
            return;
        }
        let up = self.members.iter().filter(|m| m.lane.is_some()).count();
        // Within what the committee tolerates: at most f members down at once (one in
        // a committee of 3, whose quorum is 2: its liveness then waits for the restart),
        // and none while a byzantine member already takes the committee's one fault.
        let tolerated = self.committee.faults().max(1);
        let down = self.members.len() - up;
        let victim = if self.faults.crash_primary {
            self.running_primary()
                .unwrap_or_else(|| self.rng.gen_range(0..self.members.len()))
        } else {
            self.rng.gen_range(0..self.members.len())
        };
        let allowed = down < tolerated
            && !(self.faults.byzantine() > 0 && self.committee.faults() <= 1 && down > 0)
            && self.faults.withholding != Some(victim);
        self.trace(|| format!("crash m{victim} (allowed {allowed})"));
        if allowed {
            let was_primary = self.running_primary_was(victim);
            let m = &mut self.members[victim];
            if m.lane.take().is_some() {
                if was_primary {
                    self.report.primary_crashes += 1;
                }
                m.state = ToyState::default();
                m.forwarded.clear();
                m.gossiped.clear();
                m.seal = None;
                self.report.crashes += 1;
                let down = self.rng.gen_range(20..self.faults.max_down_ms);
                self.at(self.now + down, Event::Restart(victim));
                if let Some(after) = self.faults.crash_seen_after_ms {
                    for to in (0..self.members.len()).filter(|to| *to != victim) {
                        self.at(self.now + after, Event::Lost { to, member: victim });
                    }
                }
            }
        }
        if let Some(every) = self.faults.crash_every_ms {
            let next = self.now + self.rng.gen_range(1..=2 * every);
            self.at(next, Event::Crash);
        }
    }

    /// Member `to`'s driver lost its connection to crashed `member` (unless `member` is
    /// back by now).
    fn lost(&mut self, to: usize, member: usize) {
        if self.members[member].lane.is_some() {
            return;
        }
        let now = self.now;
        let m = &mut self.members[to];
        let Some(lane) = m.lane.as_mut() else {
            return;
        };
        let outputs = lane.member_lost(&mut m.state, member as MemberIndex, now);
        self.drive(to, outputs);
    }

    fn running_primary_was(&self, member: usize) -> bool {
        self.members
            .iter()
            .filter_map(|m| m.lane.as_ref())
            .any(|lane| lane.is_active() && usize::from(lane.primary()) == member)
    }

    /// A member (re)starts from its persisted batches, as the node restores.
    fn restart(&mut self, member: usize) {
        if self.members[member].lane.is_some() || self.members[member].awaiting.is_some() {
            return;
        }
        if self.members[member].version < self.committee.version {
            // The committee changed before it ran the new one's lane: like a node, it
            // runs no lane of a replaced committee, and waits for the old one's seal.
            self.members[member].awaiting = Some(self.now);
            // Its peers see it connect again and send it the seals they hold.
            for from in (0..self.members.len()).filter(|from| *from != member) {
                let seal = self.members[from]
                    .seal
                    .clone()
                    .filter(|_| self.members[from].lane.is_some());
                if let Some(seal) = seal {
                    self.send(from, member, Message::Seal(seal));
                }
            }
            return;
        }
        let head = self.chain_head.clone();
        // What it persisted beyond the chain, up to the first height it has no batch
        // for (the node restores the same way).
        // (Up to its base, the replaced committee's batches are decided: one it never
        // persisted is no hole.)
        let base = self.members[member].base.clone();
        let restored: Vec<Batch> = (head.height + 1..)
            .map_while(|height| match self.members[member].log.get(&height) {
                Some(batch) => Some(Some(batch.clone())),
                None if height <= base.height => Some(None),
                None => None,
            })
            .flatten()
            .collect();
        let tip = restored
            .last()
            .map(|batch| LaneHead {
                height: batch.header.height,
                hash: batch.header.hash(),
                time_ms: batch.header.time_ms,
            })
            .filter(|tip| tip.height > base.height)
            .unwrap_or_else(|| {
                if base.height > head.height {
                    base.clone()
                } else {
                    head.clone()
                }
            });
        let mut lane = self.lane(self.committee.clone(), member, tip);
        lane.set_base(self.members[member].base.clone());
        for batch in restored {
            // The replaced committee's batches are decided for this lane.
            if batch.header.version == self.committee.version {
                lane.restore(batch);
            }
        }
        lane.restore_vote_views(&self.members[member].votes);
        lane.resume_view(self.members[member].view);
        let out = lane.on_included(&head);
        self.members[member].lane = Some(lane);
        self.drive(member, out);
        self.rebuild(member);
    }

    /// A lane for `member` of `committee` after `tip`, with the run's configuration (and
    /// its broken rule, if any).
    fn lane(&self, committee: Committee, member: usize, tip: LaneHead) -> Lane {
        #[allow(unused_mut)]
        let mut lane = Lane::new(
            self.genesis,
            committee,
            member as MemberIndex,
            tip,
            LaneConfig {
                report_chunk_bytes: self.faults.report_chunk_bytes,
                ..LaneConfig::default()
            },
        );
        #[cfg(any(test, feature = "broken-rules"))]
        if let Some(BrokenRuleSwitch(rule)) = self.broken {
            lane.break_rule(rule);
        }
        let _ = &self.broken;
        lane
    }

    /// A member's view: the chain's state plus its lane's batches beyond the chain.
    fn rebuild(&mut self, member: usize) {
        let mut state = ToyState {
            world: self.chain_state.world.clone(),
            saved: Vec::new(),
        };
        let committee = self.committee.clone();
        let m = &self.members[member];
        if let Some(lane) = m.lane.as_ref() {
            // Below the base, the replaced committee's decided batches (persisted, or
            // certified as gossip brought them: the node's view applies both); then its
            // lane's log.
            let decided = (self.chain_head.height + 1..=m.base.height.min(lane.tip().height))
                .map_while(|height| {
                    m.log
                        .get(&height)
                        .filter(|batch| batch.header.version < committee.version)
                        .or_else(|| self.certified.get(&height).map(|c| &c.batch))
                });
            for batch in decided.chain(lane.log()) {
                for action in &batch.actions {
                    let _ = state.execute(&committee, batch.header.time_ms, action);
                }
            }
        }
        self.members[member].state = state;
    }

    /// A block: the chain includes the certified batches that follow its head, checks
    /// their outcomes by executing them, and every member follows it.
    fn block(&mut self) {
        let committee = self.committee.clone();
        let lag = if self.faulty() {
            self.faults.inclusion_lag_ms
        } else {
            0
        };
        while let Some(certified) = self
            .certified
            .get(&(self.chain_head.height + 1))
            .filter(|c| {
                self.certified_at
                    .get(&c.batch.header.height)
                    .is_some_and(|at| at + lag <= self.now)
            })
            .cloned()
        {
            let batch = &certified.batch;
            if batch.header.parent != self.chain_head.hash {
                self.violation(format!(
                    "certified batch {} does not follow the chain",
                    batch.header.height
                ));
                break;
            }
            for (action, certified_outcome) in batch.actions.iter().zip(&batch.outcomes) {
                match self
                    .chain_state
                    .execute(&committee, batch.header.time_ms, action)
                {
                    Ok(outcome) if outcome == *certified_outcome => {}
                    other => {
                        self.violation(format!(
                            "the chain executes batch {} otherwise: {other:?}",
                            batch.header.height
                        ));
                    }
                }
            }
            self.chain_head = LaneHead {
                height: batch.header.height,
                hash: batch.header.hash(),
                time_ms: batch.header.time_ms,
            };
            self.chain.insert(batch.header.height, batch.clone());
        }
        self.check_logs();
        // Players whose answer was lost learn from the chain that their action happened.
        for player in 0..self.players.len() {
            let Some(waiting) = self.players[player].waiting.clone() else {
                continue;
            };
            let account = AccountId32::from(self.players[player].pair.public());
            if let Some((x, next)) = self.chain_state.world.players.get(&account).copied() {
                if next > waiting.action.nonce {
                    let p = &mut self.players[player];
                    p.waiting = None;
                    p.x = x;
                    p.nonce = next;
                    let delay = self.rng.gen_range(10..150);
                    self.at(self.now + delay, Event::Submit(player));
                }
            }
        }
        if !self.faulty() {
            for member in 0..self.members.len() {
                self.restart(member);
            }
        }
        let head = self.chain_head.clone();
        for member in 0..self.members.len() {
            let Some(lane) = self.members[member].lane.as_mut() else {
                continue;
            };
            let out = lane.on_included(&head);
            self.drive(member, out);
            self.rebuild(member);
            let m = &mut self.members[member];
            let Some(lane) = m.lane.as_mut() else {
                continue;
            };
            let mut out = lane.replay_open(&mut m.state);
            out.extend(lane.retry(&mut m.state));
            self.drive(member, out);
        }
    }

    /// Every batch a member persisted at a height the chain included is the chain's, or
    /// one proposed in a view before the one the chain's was certified in (left behind
    /// by a view change).
    fn check_logs(&mut self) {
        let mut found = Vec::new();
        for (index, member) in self.members.iter().enumerate() {
            for (height, batch) in member.log.range(..=self.chain_head.height) {
                let Some(chain) = self.chain.get(height) else {
                    continue;
                };
                let view = self.certified_in.get(height).copied().unwrap_or(0);
                // An equivocating primary's second batch is its own doing (the evidence).
                let forked = self.forks.contains(&batch.header.hash());
                // A replaced committee's batch that the new one's replaced was never
                // certified (two certificates are checked as they come).
                let replaced = batch.header.version < chain.header.version;
                if chain.header.hash() != batch.header.hash()
                    && batch.header.view >= view
                    && !forked
                    && !replaced
                {
                    found.push(format!(
                        "member {index} persisted another batch of view {} at height {height} (the chain's was certified in view {view})",
                        batch.header.view
                    ));
                }
            }
        }
        for what in found {
            self.violation(what);
        }
        // What the chain holds needs no member's copy any more.
        let head = self.chain_head.height;
        for member in &mut self.members {
            member.log.retain(|height, _| *height > head);
        }
    }

    fn check_end(&mut self) {
        for member in &self.members {
            if let Some(lane) = member.lane.as_ref() {
                self.trace(|| lane.describe());
            }
        }
        if self.faults.equivocating.is_some() {
            // Beyond what the committee tolerates, only safety is promised (checked as
            // it went: every double signer byzantine); the lane may stall until the next
            // committee.
            return;
        }
        // Liveness once healed.
        let behind: Vec<usize> = (0..self.members.len())
            .filter(|m| {
                let member = &self.members[*m];
                member.awaiting.is_some()
                    || member
                        .lane
                        .as_ref()
                        .is_some_and(|lane| lane.committee().version < self.committee.version)
            })
            .collect();
        if !behind.is_empty() {
            self.violation(format!(
                "members {behind:?} never took over the new committee's lane"
            ));
        }
        let waiting = self.players.iter().filter(|p| p.waiting.is_some()).count();
        if waiting > 0 {
            self.violation(format!("{waiting} players still wait for their action"));
        }
        let certified = self.certified.keys().next_back().copied().unwrap_or(0);
        if self.chain_head.height != certified {
            self.violation(format!(
                "chain at height {} of {certified} certified",
                self.chain_head.height
            ));
        }
        // A quorum runs one view (a member idle since its restart may not know it yet:
        // it learns it from the first message it sends or receives), and its primary
        // holds nothing uncertified.
        let views: Vec<(u32, bool)> = self
            .members
            .iter()
            .filter_map(|m| m.lane.as_ref())
            .map(|lane| (lane.view(), lane.is_active()))
            .collect();
        self.report.views = views.iter().map(|(v, _)| u64::from(*v)).max().unwrap_or(0);
        let mut running: BTreeMap<u32, usize> = BTreeMap::new();
        for (view, active) in &views {
            if *active {
                *running.entry(*view).or_default() += 1;
            }
        }
        let Some((&view, _)) = running
            .iter()
            .find(|(_, count)| **count >= self.committee.quorum())
        else {
            self.violation(format!("no quorum runs one view at the end: {views:?}"));
            return;
        };
        let primary = usize::from(self.committee.primary(view));
        let pending = self.members[primary].lane.as_ref().map_or(0, Lane::pending);
        if pending > 0 {
            self.violation(format!("{pending} actions never certified"));
        }
        // (A handover may end the lane's first batches with the seal, their players
        // learning them from the chain.)
        if self.report.receipted == 0
            && self.chain_head.height == 0
            && self.faults.duration_ms >= 1_000
        {
            self.violation("nothing was receipted".into());
        }
        let _ = self.seed;
    }
}

/// Signs a player's action like [`SignedLaneAction::sign`], with the signature's nonce
/// drawn from a fixed generator: sr25519 signatures are randomized, and action hashes
/// (so header hashes, and every order keyed by them) cover the signature, so only this
/// makes a seed replay identically.
fn sign_action(action: LaneAction, pair: &sr25519::Pair) -> SignedLaneAction {
    let transcript = schnorrkel::signing_context(b"substrate").bytes(&action.signing_message());
    let secret = pair.to_raw_vec();
    let signature = schnorrkel::SecretKey::from_bytes(&secret).map(|secret| {
        let keypair = secret.to_keypair();
        let rng = StdRng::seed_from_u64(0);
        keypair
            .sign(schnorrkel::context::attach_rng(transcript, rng))
            .to_bytes()
    });
    match signature {
        Ok(signature) => SignedLaneAction { action, signature },
        Err(_) => SignedLaneAction::sign(action, pair),
    }
}

fn brief_message(message: &LaneMessage) -> String {
    match message {
        LaneMessage::Propose { view, batch, .. } => format!(
            "Propose v{view} h{} hv{} ({} actions)",
            batch.header.height,
            batch.header.view,
            batch.actions.len()
        ),
        LaneMessage::Vote { view, height, .. } => format!("Vote v{view} h{height}"),
        LaneMessage::Commit { view, header, .. } => {
            format!("Commit v{view} h{}", header.height)
        }
        LaneMessage::ViewChange { view, report, .. } => format!(
            "ViewChange v{view} [{}]",
            report
                .entries
                .iter()
                .map(|e| e.height.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        LaneMessage::NewView { view, reports, .. } => {
            format!("NewView v{view} ({} reports)", reports.len())
        }
        LaneMessage::Status { view, running, .. } => format!("Status v{view} running {running}"),
    }
}

fn brief(output: &Output) -> String {
    match output {
        Output::Send { to, message } => format!("send m{to}: {}", brief_message(message)),
        Output::Persist(batch) => {
            format!("persist h{} v{}", batch.header.height, batch.header.view)
        }
        Output::Discard { above } => format!("discard above {above}"),
        Output::Sign { height, .. } => format!("sign h{height}"),
        Output::Forward { to, client, .. } => format!("forward to m{to} client {client:x}"),
        Output::Certified(c) => format!("certified h{}", c.batch.header.height),
        Output::Receipt { client, receipt } => {
            format!("receipt client {client:x} h{}", receipt.header.height)
        }
        Output::Rejected { client, error } => format!("rejected client {client:x}: {error:?}"),
    }
}
