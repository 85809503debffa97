//! A seeded, deterministic simulation of one area's lane under faults.
//!
//! One process drives every committee member's [`Lane`] the way the node does (durable
//! persists, signing rounds, a chain that includes certified batches and that members
//! follow) over a simulated clock and network. Everything random comes from one seed:
//! message delay (so reordering), loss, duplication, a partition that cuts one replica
//! off for a while, replica crashes that keep the persisted batches and lose the rest,
//! and a byzantine replica that withholds its votes. After the faulty period the network heals, every crashed member restarts, and
//! the run continues until the lane is quiet.
//!
//! The world is [`ToyState`]: players walk at most 100 units per action and lane nonces
//! count up. Players act one action at a time, so every action they submit is valid;
//! faults may only delay it.
//!
//! Checked after every run ([`Report::violations`]):
//! - no two certified batches at one height;
//! - every receipt proves its action (Merkle path) under a header whose certificate
//!   verifies against the committee, and that header is the certified one;
//! - the chain re-executes every certified batch with the certified outcomes, so every
//!   receipted outcome is the chain's;
//! - every member's persisted batches are the chain's at their heights (honest logs are
//!   prefixes of one lane);
//! - no valid action is refused by the world's rules, and once the network healed every
//!   action is receipted and the lane holds nothing uncertified.
//!
//! The primary (member 0, view 0) never crashes: replacing a silent primary is the view
//! change's work, which this simulator will drive too.

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
const HEAL_MS: u64 = 4_000;

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
    /// Mean time between replica crashes (ms); `None`: no crashes.
    pub crash_every_ms: Option<u64>,
    /// A window `(from, to)` in which one replica is cut off from everyone.
    pub partition: Option<(u64, u64)>,
    /// A byzantine replica that withholds every vote for the whole run (the committee
    /// tolerates one: a quorum of the others still certifies).
    pub withholding: Option<usize>,
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
            partition,
            withholding: None,
        };
        faults.withholding = rng.gen_bool(0.3).then(|| rng.gen_range(1..members));
        faults
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
    /// Replica crashes.
    pub crashes: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost (dropped, or to a crashed member).
    pub lost: u64,
    /// Broken invariants.
    pub violations: Vec<String>,
}

enum Event {
    Deliver {
        to: usize,
        from: usize,
        message: Box<LaneMessage>,
    },
    Tick(usize),
    Submit(usize),
    Crash(usize),
    Restart(usize),
    Block,
}

struct Member {
    pair: sr25519::Pair,
    lane: Option<Lane>,
    state: ToyState,
    /// Persisted batches (what survives a crash).
    log: BTreeMap<u64, Batch>,
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
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Event>,
    genesis: H256,
    committee: Committee,
    members: Vec<Member>,
    players: Vec<Player>,
    certified: BTreeMap<u64, CertifiedBatch>,
    chain_head: LaneHead,
    chain_state: ToyState,
    report: Report,
}

/// Runs seed `seed` with `duration_ms` of faulty time and checks the invariants.
pub fn run(seed: u64, duration_ms: u64) -> Report {
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
        .enumerate()
        .map(|(i, pair)| Member {
            pair,
            lane: Some(Lane::new(
                genesis,
                committee.clone(),
                i as MemberIndex,
                LaneHead::default(),
                LaneConfig::default(),
            )),
            state: ToyState::default(),
            log: BTreeMap::new(),
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
        queue: BinaryHeap::new(),
        events: HashMap::new(),
        genesis,
        committee,
        members,
        players,
        certified: BTreeMap::new(),
        chain_head: LaneHead::default(),
        chain_state: ToyState::default(),
        report: Report {
            seed,
            ..Report::default()
        },
    };
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

    fn faulty(&self) -> bool {
        self.now < self.faults.duration_ms
    }

    fn violation(&mut self, what: String) {
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
        if let Some(every) = self.faults.crash_every_ms {
            let first = self.rng.gen_range(1..=every);
            let replica = self.rng.gen_range(1..self.members.len());
            self.at(first, Event::Crash(replica));
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
                    if let Some(lane) = self.members[member].lane.as_mut() {
                        let out = lane.tick(self.now);
                        self.drive(member, out);
                    }
                    self.at(self.now + TICK_MS, Event::Tick(member));
                }
                Event::Submit(player) => self.submit(player),
                Event::Crash(member) => self.crash(member),
                Event::Restart(member) => self.restart(member),
                Event::Block => {
                    self.block();
                    self.at(self.now + BLOCK_MS, Event::Block);
                }
            }
        }
    }

    /// Carries out a member's outputs as the node does: persists at once (durable
    /// before anything after it), sends through the network, signs the round's headers
    /// at the end.
    fn drive(&mut self, member: usize, outputs: Vec<Output>) {
        let mut to_sign = Vec::new();
        for output in outputs {
            match output {
                Output::Persist(batch) => {
                    self.members[member].log.insert(batch.header.height, batch);
                }
                Output::Sign { height, hash } => to_sign.push((height, hash)),
                Output::Send { to, message } => {
                    let withheld = self.faults.withholding == Some(member)
                        && matches!(message, LaneMessage::Vote { .. });
                    if !withheld {
                        self.send(member, usize::from(to), message);
                    }
                }
                Output::Certified(certified) => self.on_certified(certified),
                Output::Receipt { client, receipt } => self.on_receipt(client as usize, receipt),
                Output::Rejected { client, error } => self.on_rejected(client as usize, error),
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

    fn send(&mut self, from: usize, to: usize, message: LaneMessage) {
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
        // The partition cuts off the last replica.
        self.faults
            .partition
            .is_some_and(|(from, to)| (from..to).contains(&self.now))
            && member == self.members.len() - 1
    }

    fn deliver(&mut self, to: usize, from: usize, message: LaneMessage) {
        if self.cut_off(to) || self.cut_off(from) {
            self.report.lost += 1;
            return;
        }
        let member = &mut self.members[to];
        let Some(lane) = member.lane.as_mut() else {
            self.report.lost += 1;
            return;
        };
        self.report.delivered += 1;
        let out = lane.on_message(&mut member.state, from as MemberIndex, message);
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
                let action = SignedLaneAction::sign(
                    LaneAction {
                        genesis: self.genesis,
                        area: AREA,
                        version: VERSION,
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
        let primary = &mut self.members[0];
        let Some(lane) = primary.lane.as_mut() else {
            return;
        };
        let out = lane.submit(&mut primary.state, player as ClientId, action, self.now);
        self.drive(0, out);
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
            self.violation(format!("player {player} got a receipt it did not wait for"));
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
            LaneError::Superseded | LaneError::Overloaded | LaneError::NotPrimary => {
                let delay = self.rng.gen_range(10..100);
                self.at(self.now + delay, Event::Submit(player));
            }
            LaneError::Rule(rule) => {
                self.violation(format!("player {player}'s valid action refused: {rule:?}"))
            }
        }
    }

    fn on_certified(&mut self, certified: CertifiedBatch) {
        let height = certified.batch.header.height;
        let hash = certified.batch.header.hash();
        if let Some(earlier) = self.certified.get(&height) {
            if earlier.batch.header.hash() != hash {
                self.violation(format!("two certified batches at height {height}"));
            }
            return;
        }
        self.report.certified += 1;
        self.certified.insert(height, certified);
    }

    fn crash(&mut self, member: usize) {
        if self.faulty() {
            let m = &mut self.members[member];
            if m.lane.take().is_some() {
                m.state = ToyState::default();
                self.report.crashes += 1;
                let down = self.rng.gen_range(20..800);
                self.at(self.now + down, Event::Restart(member));
            }
            if let Some(every) = self.faults.crash_every_ms {
                let next = self.now + self.rng.gen_range(1..=2 * every);
                let replica = self.rng.gen_range(1..self.members.len());
                self.at(next, Event::Crash(replica));
            }
        }
    }

    /// A crashed member comes back from its persisted batches (as the node restores).
    fn restart(&mut self, member: usize) {
        if self.members[member].lane.is_some() {
            return;
        }
        let head = self.chain_head.clone();
        let tip = self.members[member]
            .log
            .last_key_value()
            .filter(|(height, _)| **height > head.height)
            .map(|(_, batch)| LaneHead {
                height: batch.header.height,
                hash: batch.header.hash(),
                time_ms: batch.header.time_ms,
            })
            .unwrap_or_else(|| head.clone());
        let mut lane = Lane::new(
            self.genesis,
            self.committee.clone(),
            member as MemberIndex,
            tip,
            LaneConfig::default(),
        );
        for (height, batch) in self.members[member].log.range(head.height + 1..) {
            lane.restore_vote(*height, batch.header.hash());
        }
        self.members[member].lane = Some(lane);
        self.rebuild(member);
    }

    /// A member's view: the chain's state plus its persisted batches beyond the chain.
    fn rebuild(&mut self, member: usize) {
        let mut state = ToyState {
            world: self.chain_state.world.clone(),
            saved: Vec::new(),
        };
        let head = self.chain_head.height;
        let committee = self.committee.clone();
        for (_, batch) in self.members[member].log.range(head + 1..) {
            for action in &batch.actions {
                let _ = state.execute(&committee, batch.header.time_ms, action);
            }
        }
        self.members[member].state = state;
    }

    /// A block: the chain includes the certified batches that follow its head, checks
    /// their outcomes by executing them, and every member follows it.
    fn block(&mut self) {
        let committee = self.committee.clone();
        while let Some(certified) = self.certified.get(&(self.chain_head.height + 1)).cloned() {
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
        }
        if !self.faulty() {
            for member in 1..self.members.len() {
                self.restart(member);
            }
        }
        let head = self.chain_head.clone();
        for member in 0..self.members.len() {
            if self.members[member].lane.is_none() {
                continue;
            }
            self.rebuild(member);
            let m = &mut self.members[member];
            let Some(lane) = m.lane.as_mut() else {
                continue;
            };
            let mut out = lane.on_included(&head);
            out.extend(lane.replay_open(&mut m.state));
            out.extend(lane.retry(&mut m.state));
            self.drive(member, out);
        }
    }

    fn check_end(&mut self) {
        // Logs: every persisted batch is the certified one at its height.
        for member in 0..self.members.len() {
            let mismatched: Vec<u64> = self.members[member]
                .log
                .iter()
                .filter(|(height, batch)| {
                    self.certified
                        .get(height)
                        .is_some_and(|c| c.batch.header.hash() != batch.header.hash())
                })
                .map(|(height, _)| *height)
                .collect();
            if let Some(height) = mismatched.first() {
                self.violation(format!(
                    "member {member} persisted another batch at height {height}"
                ));
            }
        }
        // Liveness once healed.
        let waiting = self.players.iter().filter(|p| p.waiting.is_some()).count();
        if waiting > 0 {
            self.violation(format!("{waiting} players still wait for a receipt"));
        }
        let pending = self.members[0].lane.as_ref().map_or(0, Lane::pending);
        if pending > 0 {
            self.violation(format!("{pending} actions never certified"));
        }
        let certified = self.certified.keys().next_back().copied().unwrap_or(0);
        if self.chain_head.height != certified {
            self.violation(format!(
                "chain at height {} of {certified} certified",
                self.chain_head.height
            ));
        }
        if self.report.receipted == 0 && self.faults.duration_ms >= 1_000 {
            self.violation("nothing was receipted".into());
        }
        let _ = self.seed;
    }
}
