//! The NPCs pallet (index 42): the world's non-player characters (villagers, traders and
//! beasts) and the decisions they take on their own in every block. At each block's
//! initialisation a bounded, round-robin slice of the NPCs decides: wander (a step of at
//! most [`NPC_SPEED`], clamped inside the area), gather (one unit of an area resource),
//! trade (swap one item with another NPC of the area), or, for beasts, react to nearby
//! players (turn hostile within [`HOSTILITY_RANGE`], chase, calm down when alone). Every
//! choice is drawn from a deterministic random stream seeded by the parent block hash and
//! the block number, so every node computes the same world; spawn rules repopulate areas.
//!
//! Invariants: every NPC is in exactly one active area, inside its bounds (its home too),
//! and listed in that area's index (`NpcsInArea`) and nowhere else; `AreaNpcCount` and
//! `KindCount` count that index and no area holds more than [`MAX_NPCS_PER_AREA`]; an
//! inventory holds at most [`MAX_INVENTORY_STACKS`] sorted stacks with no empty stack and
//! no item twice; NPC ids are below `NextNpcId`. The work of one block is bounded by
//! `DecisionsPerBlock` (at most [`MAX_DECISIONS_PER_BLOCK`]) and
//! [`SPAWN_AREAS_PER_BLOCK`], whatever the number of NPCs.

use std::collections::{BTreeMap, BTreeSet};

use arceon_pallet_areas::{self as areas, Area, AreaId, Bounds, Coord, Position, UNIT};
use arceon_pallet_players::{self as players, ItemId};
use arceon_pallet_system as system;
use arceon_primitives::{AccountId32, BlockNumber, H256};
use arceon_support::{
    ensure_root, storage, ArithmeticError, DispatchError, DispatchResult, Ext, Origin,
    StoragePrefix, Twox64Concat, Weight,
};
use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 42;

/// An NPC's identifier, assigned in creation order.
pub type NpcId = u64;

/// The most NPCs one area holds.
pub const MAX_NPCS_PER_AREA: u32 = 256;
/// The longest NPC name, in bytes.
pub const MAX_NAME_LEN: usize = 32;
/// The most item stacks an NPC carries.
pub const MAX_INVENTORY_STACKS: usize = 8;
/// The most of one item a stack holds.
pub const MAX_STACK: u32 = 1_000;
/// Health of a new NPC; an NPC at 0 health is removed at its next decision.
pub const MAX_HEALTH: u32 = 100;
/// The longest step an NPC takes in one decision: 2 world units.
pub const NPC_SPEED: Coord = 2 * UNIT;
/// How close a player must come for a beast to turn hostile: 5 world units.
pub const HOSTILITY_RANGE: Coord = 5 * UNIT;
/// How far from home a wandering NPC may stray before it walks back: 20 world units.
pub const HOME_RANGE: Coord = 20 * UNIT;
/// The most players a beast looks at in one decision.
pub const MAX_PLAYERS_SCANNED: usize = 8;
/// NPC decisions per block when none was configured.
pub const DEFAULT_DECISIONS_PER_BLOCK: u32 = 32;
/// The most NPC decisions root may allow per block.
pub const MAX_DECISIONS_PER_BLOCK: u32 = 256;
/// How many areas' spawn rules are evaluated per block (round-robin).
pub const SPAWN_AREAS_PER_BLOCK: usize = 4;
/// The most spawn rules one area has: one per kind.
pub const MAX_SPAWN_RULES: usize = NpcKind::ALL.len();
/// A spawn chance of 1000 per mille spawns at every evaluation.
pub const PER_MILLE: u16 = 1_000;

/// What an NPC is, which decides how it behaves.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    scale_info::TypeInfo,
)]
pub enum NpcKind {
    /// Wanders, gathers and sometimes trades (index 0).
    Villager,
    /// Mostly trades with the NPCs around it (index 1).
    Trader,
    /// Wanders and turns on players who come close (index 2).
    Beast,
}

impl NpcKind {
    /// Every kind, in index order.
    pub const ALL: [NpcKind; 3] = [NpcKind::Villager, NpcKind::Trader, NpcKind::Beast];

    /// The kind's display name.
    pub fn label(&self) -> &'static str {
        match self {
            NpcKind::Villager => "Villager",
            NpcKind::Trader => "Trader",
            NpcKind::Beast => "Beast",
        }
    }
}

/// How an NPC treats players.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, scale_info::TypeInfo,
)]
pub enum Disposition {
    /// Leaves players alone (index 0).
    Peaceful,
    /// Chases the nearest player (index 1).
    Hostile,
}

/// A non-player character.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, scale_info::TypeInfo)]
#[serde(rename_all = "camelCase")]
pub struct Npc {
    /// Its identifier.
    pub id: NpcId,
    /// Display name (UTF-8, at most [`MAX_NAME_LEN`] bytes).
    pub name: Vec<u8>,
    /// What it is.
    pub kind: NpcKind,
    /// The area it is in.
    pub area: AreaId,
    /// Where it stands.
    pub position: Position,
    /// Where it wanders around (inside its area).
    pub home: Position,
    /// How it treats players.
    pub disposition: Disposition,
    /// Health points; 0 removes it at its next decision.
    pub health: u32,
    /// Item stacks, sorted by item id, at most [`MAX_INVENTORY_STACKS`].
    pub inventory: Vec<(ItemId, u32)>,
    /// The block of its last decision (or of its creation).
    pub last_decision: BlockNumber,
}

impl Npc {
    /// How many of `item` the NPC carries.
    pub fn item_count(&self, item: ItemId) -> u32 {
        self.inventory
            .iter()
            .find(|(id, _)| *id == item)
            .map_or(0, |(_, count)| *count)
    }
}

/// Spawns NPCs of one kind in an area: each time the area's rules are evaluated, with
/// probability `chance_per_mille / 1000`, one NPC of `kind` appears while fewer than
/// `max_count` of that kind are in the area.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpawnRule {
    /// What spawns.
    pub kind: NpcKind,
    /// The most NPCs of `kind` the area holds through this rule (at most
    /// [`MAX_NPCS_PER_AREA`]).
    pub max_count: u32,
    /// Chance per evaluation, in thousandths (at most 1000).
    pub chance_per_mille: u16,
}

storage! { pallet "Npcs";
    /// Every NPC.
    pub Npcs: map Twox64Concat, NpcId => Npc;
    /// Which NPCs are in each area.
    pub NpcsInArea: double_map Twox64Concat, AreaId, Twox64Concat, NpcId => ();
    /// The id the next NPC gets.
    pub NextNpcId: value NpcId;
    /// The last NPC that decided: the next block continues after it (storage-key order).
    pub Cursor: value NpcId;
    /// How many NPCs decide per block (default [`DEFAULT_DECISIONS_PER_BLOCK`]).
    pub DecisionsPerBlock: value u32;
    /// Spawn rules per area.
    pub SpawnRules: map Twox64Concat, AreaId => Vec<SpawnRule>;
    /// The last area whose spawn rules were evaluated.
    pub SpawnCursor: value AreaId;
    /// How many NPCs are in each area (no entry for none).
    pub AreaNpcCount: map Twox64Concat, AreaId => u32;
    /// How many NPCs of each kind are in each area (no entry for none).
    pub KindCount: double_map Twox64Concat, AreaId, Twox64Concat, NpcKind => u32;
}

/// NPC events.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// An NPC appeared (root or a spawn rule).
    #[codec(index = 0)]
    Spawned {
        /// The NPC.
        id: NpcId,
        /// What it is.
        kind: NpcKind,
        /// Where it appeared.
        area: AreaId,
        /// At which point.
        position: Position,
    },
    /// An NPC was removed (root, death, or no room after a split or merge).
    #[codec(index = 1)]
    Despawned {
        /// The NPC.
        id: NpcId,
    },
    /// A beast noticed a player close by and turned hostile.
    #[codec(index = 2)]
    TurnedHostile {
        /// The beast.
        id: NpcId,
        /// The player it goes after.
        target: AccountId32,
    },
    /// A hostile beast found no player nearby and calmed down.
    #[codec(index = 3)]
    Calmed {
        /// The beast.
        id: NpcId,
    },
    /// Root changed the number of decisions per block.
    #[codec(index = 4)]
    DecisionsPerBlockSet {
        /// The new number.
        count: u32,
    },
    /// Root replaced an area's spawn rules.
    #[codec(index = 5)]
    SpawnRulesSet {
        /// The area.
        area: AreaId,
        /// Its new rules (empty: none).
        rules: Vec<SpawnRule>,
    },
}

arceon_support::pallet_error! {
    /// NPC errors.
    pub enum Error for pallet PALLET_INDEX {
        /// No NPC has this id.
        UnknownNpc,
        /// No area has this id.
        UnknownArea,
        /// The area has been split or merged away; nothing can be in it.
        AreaInactive,
        /// The position lies outside the area's bounds.
        InvalidPosition,
        /// The area already holds [`MAX_NPCS_PER_AREA`] NPCs.
        TooManyNpcs,
        /// More than [`MAX_DECISIONS_PER_BLOCK`] decisions per block.
        TooManyDecisions,
        /// The name is empty, longer than [`MAX_NAME_LEN`] bytes, not UTF-8 or holds
        /// control characters.
        InvalidName,
        /// A spawn rule's chance exceeds 1000 per mille or its count exceeds
        /// [`MAX_NPCS_PER_AREA`].
        InvalidSpawnRule,
        /// Two spawn rules of one area are for the same kind.
        DuplicateSpawnRule,
    }
}

/// NPC calls (all root).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Create an NPC at a point of an active area (index 0).
    #[codec(index = 0)]
    Spawn {
        /// The area.
        area: AreaId,
        /// Where, inside the area's bounds.
        position: Position,
        /// What it is.
        kind: NpcKind,
        /// Display name.
        name: Vec<u8>,
    },
    /// Remove an NPC (index 1).
    #[codec(index = 1)]
    Despawn {
        /// The NPC.
        id: NpcId,
    },
    /// Set how many NPCs decide per block, at most [`MAX_DECISIONS_PER_BLOCK`]; 0 pauses
    /// them (index 2).
    #[codec(index = 2)]
    SetDecisionsPerBlock {
        /// Decisions per block.
        count: u32,
    },
    /// Replace an area's spawn rules; an empty list removes them (index 3).
    #[codec(index = 3)]
    SetSpawnRules {
        /// The area.
        area: AreaId,
        /// At most one rule per kind.
        rules: Vec<SpawnRule>,
    },
}

/// Weights of this pallet's calls and block hook (reference time in picoseconds, proof
/// size in bytes). `arceon-node benchmark pallet` measures them; an in-memory run of
/// 256 decisions per block over 5,000 NPCs took 4-9 us per decision on the 2-core
/// reference machine, and the declared values keep a margin of about 4x over the
/// expected cost for reads through the trie and database during import.
pub mod weights {
    use arceon_support::Weight;

    /// `spawn`: reads the area and three counters, writes the NPC, its index entry and
    /// the counters.
    pub const SPAWN: Weight = Weight::from_parts(40_000_000, 4_096);
    /// `despawn`: reads the NPC, removes it and its index entry, updates the counters.
    pub const DESPAWN: Weight = Weight::from_parts(30_000_000, 1_024);
    /// `set_decisions_per_block`: one write.
    pub const SET_DECISIONS_PER_BLOCK: Weight = Weight::from_parts(8_000_000, 0);
    /// `set_spawn_rules`: reads the area, writes at most one rule per kind.
    pub const SET_SPAWN_RULES: Weight = Weight::from_parts(25_000_000, 4_096);
    /// The block hook's fixed part: parent hash, settings and both cursors.
    pub const ON_INITIALIZE_BASE: Weight = Weight::from_parts(20_000_000, 512);
    /// One decision unit (the worst case: a beast reading its area and up to 16 player
    /// entries, or half a trade).
    pub const PER_DECISION: Weight = Weight::from_parts(50_000_000, 6_144);
    /// One spawn rule evaluated (the worst case: it spawns).
    pub const PER_SPAWN_RULE: Weight = Weight::from_parts(30_000_000, 4_096);

    /// The block hook after `decisions` decision units and `spawn_rules` evaluated rules.
    pub fn on_initialize(decisions: u32, spawn_rules: u32) -> Weight {
        ON_INITIALIZE_BASE
            .saturating_add(PER_DECISION.saturating_mul(u64::from(decisions)))
            .saturating_add(PER_SPAWN_RULE.saturating_mul(u64::from(spawn_rules)))
    }

    /// The most the block hook can weigh with `decisions_per_block`.
    pub fn on_initialize_max(decisions_per_block: u32) -> Weight {
        on_initialize(
            decisions_per_block,
            (super::SPAWN_AREAS_PER_BLOCK * super::MAX_SPAWN_RULES) as u32,
        )
    }
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::Spawn { .. } => weights::SPAWN,
            Call::Despawn { .. } => weights::DESPAWN,
            Call::SetDecisionsPerBlock { .. } => weights::SET_DECISIONS_PER_BLOCK,
            Call::SetSpawnRules { .. } => weights::SET_SPAWN_RULES,
        }
    }

    /// Executes the call. Runs inside the executive's transactional layer, so an error
    /// discards every write the call made (each call also checks before it writes).
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        ensure_root(origin)?;
        match self {
            Call::Spawn {
                area,
                position,
                kind,
                name,
            } => spawn(ext, area, position, kind, name).map(|_| ()),
            Call::Despawn { id } => despawn(ext, id),
            Call::SetDecisionsPerBlock { count } => set_decisions_per_block(ext, count),
            Call::SetSpawnRules { area, rules } => set_spawn_rules(ext, area, rules),
        }
    }
}

/// The pallet, for its hooks.
pub struct Pallet;

impl arceon_support::Hooks for Pallet {
    /// Lets a bounded slice of NPCs decide, then evaluates the spawn rules of a bounded
    /// number of areas. Returns the weight of the work done.
    fn on_initialize(ext: &mut Ext, n: BlockNumber) -> Weight {
        let parent = system::ParentHash::get(ext).unwrap_or_default();
        let mut rng = DecisionRng::new(&parent, n);
        let decisions = run_decisions(ext, &mut rng, n);
        let rules = run_spawn_rules(ext, &mut rng, n);
        weights::on_initialize(decisions, rules)
    }
}

/// Deposits an NPC event.
pub fn deposit_event(ext: &mut Ext, event: &Event) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The NPC with this id.
pub fn npc(ext: &mut Ext, id: NpcId) -> Option<Npc> {
    Npcs::get(ext, &id)
}

/// Up to `limit` NPCs of `area`, after `start_after` (paging, in storage-key order).
pub fn npcs_in_area(
    ext: &mut Ext,
    area: AreaId,
    start_after: Option<NpcId>,
    limit: usize,
) -> Vec<Npc> {
    NpcsInArea::iter_prefix(ext, &area, start_after.as_ref(), limit)
        .into_iter()
        .filter_map(|(id, ())| Npcs::get(ext, &id))
        .collect()
}

/// How many NPCs are in `area`.
pub fn npc_count(ext: &mut Ext, area: AreaId) -> u32 {
    AreaNpcCount::get_or_default(ext, &area)
}

/// How many NPCs decide per block.
pub fn decisions_per_block(ext: &mut Ext) -> u32 {
    DecisionsPerBlock::get(ext)
        .unwrap_or(DEFAULT_DECISIONS_PER_BLOCK)
        .min(MAX_DECISIONS_PER_BLOCK)
}

/// The spawn rules of `area`.
pub fn spawn_rules(ext: &mut Ext, area: AreaId) -> Vec<SpawnRule> {
    SpawnRules::get_or_default(ext, &area)
}

/// Whether `name` is a usable NPC name: 1 to [`MAX_NAME_LEN`] bytes of UTF-8 without
/// control characters.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && std::str::from_utf8(name).is_ok_and(|text| !text.chars().any(char::is_control))
}

/// Checks an area's spawn rules: at most one per kind, chance at most 1000 per mille,
/// count at most [`MAX_NPCS_PER_AREA`].
pub fn validate_spawn_rules(rules: &[SpawnRule]) -> Result<(), Error> {
    let mut kinds = BTreeSet::new();
    for rule in rules {
        if rule.chance_per_mille > PER_MILLE || rule.max_count > MAX_NPCS_PER_AREA {
            return Err(Error::InvalidSpawnRule);
        }
        if !kinds.insert(rule.kind) {
            return Err(Error::DuplicateSpawnRule);
        }
    }
    Ok(())
}

/// The active area `id`, or this pallet's `UnknownArea` / `AreaInactive`.
fn active_area(ext: &mut Ext, id: AreaId) -> Result<Area, Error> {
    let area = areas::area(ext, id).ok_or(Error::UnknownArea)?;
    if !area.active {
        return Err(Error::AreaInactive);
    }
    Ok(area)
}

/// Creates an NPC at `position` of the active area `area` (see [`Call::Spawn`]) and
/// deposits `Spawned`. Returns its id.
pub fn spawn(
    ext: &mut Ext,
    area: AreaId,
    position: Position,
    kind: NpcKind,
    name: Vec<u8>,
) -> Result<NpcId, DispatchError> {
    if !valid_name(&name) {
        return Err(Error::InvalidName.into());
    }
    let bounds = active_area(ext, area)?.bounds;
    if !bounds.contains(&position) {
        return Err(Error::InvalidPosition.into());
    }
    if npc_count(ext, area) >= MAX_NPCS_PER_AREA {
        return Err(Error::TooManyNpcs.into());
    }
    let now = system::Number::get_or_default(ext);
    let id = create(ext, area, position, kind, name, now)?;
    deposit_event(
        ext,
        &Event::Spawned {
            id,
            kind,
            area,
            position,
        },
    );
    Ok(id)
}

/// Removes the NPC `id` and deposits `Despawned`.
pub fn despawn(ext: &mut Ext, id: NpcId) -> DispatchResult {
    let npc = Npcs::get(ext, &id).ok_or(Error::UnknownNpc)?;
    remove(ext, &npc);
    deposit_event(ext, &Event::Despawned { id });
    Ok(())
}

/// Sets how many NPCs decide per block (at most [`MAX_DECISIONS_PER_BLOCK`]).
pub fn set_decisions_per_block(ext: &mut Ext, count: u32) -> DispatchResult {
    if count > MAX_DECISIONS_PER_BLOCK {
        return Err(Error::TooManyDecisions.into());
    }
    DecisionsPerBlock::put(ext, &count);
    deposit_event(ext, &Event::DecisionsPerBlockSet { count });
    Ok(())
}

/// Replaces the spawn rules of the active area `area`; an empty list removes them.
pub fn set_spawn_rules(ext: &mut Ext, area: AreaId, rules: Vec<SpawnRule>) -> DispatchResult {
    validate_spawn_rules(&rules)?;
    active_area(ext, area)?;
    if rules.is_empty() {
        SpawnRules::remove(ext, &area);
    } else {
        SpawnRules::insert(ext, &area, &rules);
    }
    deposit_event(ext, &Event::SpawnRulesSet { area, rules });
    Ok(())
}

/// Stores a new NPC with the next id and indexes it. The caller has checked the area,
/// position, name and the area's room.
fn create(
    ext: &mut Ext,
    area: AreaId,
    position: Position,
    kind: NpcKind,
    name: Vec<u8>,
    now: BlockNumber,
) -> Result<NpcId, DispatchError> {
    let id = NextNpcId::get_or_default(ext);
    let next = id
        .checked_add(1)
        .ok_or(DispatchError::Arithmetic(ArithmeticError::Overflow))?;
    let npc = Npc {
        id,
        name,
        kind,
        area,
        position,
        home: position,
        disposition: Disposition::Peaceful,
        health: MAX_HEALTH,
        inventory: Vec::new(),
        last_decision: now,
    };
    Npcs::insert(ext, &id, &npc);
    index(ext, &npc);
    NextNpcId::put(ext, &next);
    Ok(id)
}

/// Lists `npc` in its area's index and counters.
fn index(ext: &mut Ext, npc: &Npc) {
    NpcsInArea::insert(ext, &npc.area, &npc.id, &());
    AreaNpcCount::mutate(ext, &npc.area, |count| *count = count.saturating_add(1));
    let kinds = KindCount::get(ext, &npc.area, &npc.kind).unwrap_or(0);
    KindCount::insert(ext, &npc.area, &npc.kind, &kinds.saturating_add(1));
}

/// Removes `npc` from its area's index and counters (entries reaching 0 are removed).
fn unindex(ext: &mut Ext, npc: &Npc) {
    NpcsInArea::remove(ext, &npc.area, &npc.id);
    let count = npc_count(ext, npc.area).saturating_sub(1);
    if count == 0 {
        AreaNpcCount::remove(ext, &npc.area);
    } else {
        AreaNpcCount::insert(ext, &npc.area, &count);
    }
    let kinds = KindCount::get(ext, &npc.area, &npc.kind)
        .unwrap_or(0)
        .saturating_sub(1);
    if kinds == 0 {
        KindCount::remove(ext, &npc.area, &npc.kind);
    } else {
        KindCount::insert(ext, &npc.area, &npc.kind, &kinds);
    }
}

/// Deletes `npc` and its index entries.
fn remove(ext: &mut Ext, npc: &Npc) {
    unindex(ext, npc);
    Npcs::remove(ext, &npc.id);
}

/// Moves every NPC of a split or merged area `from` into the area among `targets` whose
/// bounds contain its position (its home follows when it would lie outside the new
/// area). An NPC that fits no target, or whose target already holds
/// [`MAX_NPCS_PER_AREA`] NPCs, is removed with `Despawned`, so the invariants hold
/// whatever the targets. Work is bounded by the NPCs of one area.
pub fn migrate_area(ext: &mut Ext, from: AreaId, targets: &[(AreaId, Bounds)]) {
    let residents: Vec<NpcId> = NpcsInArea::iter_prefix(ext, &from, None, usize::MAX)
        .into_iter()
        .map(|(id, ())| id)
        .collect();
    for id in residents {
        let Some(mut npc) = Npcs::get(ext, &id) else {
            ext.record_fault(format!(
                "NPC {id} is listed in area {from} but does not exist"
            ));
            continue;
        };
        unindex(ext, &npc);
        let destination = targets
            .iter()
            .find(|(_, bounds)| bounds.contains(&npc.position))
            .filter(|(to, _)| npc_count(ext, *to) < MAX_NPCS_PER_AREA);
        match destination {
            Some((to, bounds)) => {
                npc.area = *to;
                if !bounds.contains(&npc.home) {
                    npc.home = npc.position;
                }
                index(ext, &npc);
                Npcs::insert(ext, &id, &npc);
            }
            None => {
                Npcs::remove(ext, &id);
                deposit_event(ext, &Event::Despawned { id });
            }
        }
    }
}

/// A deterministic stream of random numbers: `blake2_256(seed ++ counter)`, with the
/// seed drawn from the parent block hash and the block number, so every node draws the
/// same numbers for the same block and no author can pick them without picking the
/// parent.
struct DecisionRng {
    seed: [u8; 32],
    counter: u64,
}

impl DecisionRng {
    fn new(parent_hash: &H256, n: BlockNumber) -> Self {
        let mut input = b"arceon/npcs/decisions".to_vec();
        input.extend_from_slice(parent_hash.as_bytes());
        input.extend_from_slice(&n.to_le_bytes());
        DecisionRng {
            seed: sp_crypto_hashing::blake2_256(&input),
            counter: 0,
        }
    }

    fn next_bytes(&mut self) -> [u8; 32] {
        let mut input = [0u8; 40];
        input[..32].copy_from_slice(&self.seed);
        input[32..].copy_from_slice(&self.counter.to_le_bytes());
        self.counter = self.counter.wrapping_add(1);
        sp_crypto_hashing::blake2_256(&input)
    }

    fn next_u64(&mut self) -> u64 {
        let bytes = self.next_bytes();
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[..8]);
        u64::from_le_bytes(word)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    fn below(&mut self, bound: u64) -> u64 {
        match bound {
            0 => 0,
            bound => self.next_u64() % bound,
        }
    }

    /// An index into a slice of `len` elements (`len > 0`).
    fn index(&mut self, len: usize) -> usize {
        // `below(len)` < len, so the conversion back cannot truncate.
        self.below(len as u64) as usize
    }

    /// A coordinate in `lo..=hi` (`lo` when the range is empty).
    fn coord(&mut self, lo: Coord, hi: Coord) -> Coord {
        if hi <= lo {
            return lo;
        }
        let span = (i128::from(hi) - i128::from(lo) + 1).min(i128::from(u64::MAX));
        let offset = self.below(span as u64);
        (i128::from(lo) + i128::from(offset)).clamp(i128::from(lo), i128::from(hi)) as Coord
    }
}

/// The integer square root of `value` (the largest `r` with `r * r <= value`).
fn isqrt(value: u128) -> u128 {
    value.isqrt()
}

/// `position` moved into `bounds` (unchanged when the bounds are empty).
fn clamp_into(position: Position, bounds: &Bounds) -> Position {
    if !bounds.is_valid() {
        return position;
    }
    Position::new(
        position.x.max(bounds.min_x).min(bounds.max_x - 1),
        position.y.max(bounds.min_y).min(bounds.max_y - 1),
    )
}

/// A random step of at most `speed` (Euclidean) from `from`, clamped into `bounds`.
fn wander_step(rng: &mut DecisionRng, from: Position, speed: Coord, bounds: &Bounds) -> Position {
    let speed = speed.max(0);
    let dx = rng.coord(-speed, speed);
    let speed_sq = i128::from(speed) * i128::from(speed);
    let dx_sq = i128::from(dx) * i128::from(dx);
    let reach = isqrt(speed_sq.saturating_sub(dx_sq).max(0).unsigned_abs());
    let reach = Coord::try_from(reach).unwrap_or(speed);
    let dy = rng.coord(-reach, reach);
    clamp_into(
        Position::new(from.x.saturating_add(dx), from.y.saturating_add(dy)),
        bounds,
    )
}

/// A step of at most `speed` from `from` straight towards `to` (reaching it when it is
/// that close), clamped into `bounds`.
fn step_towards(from: Position, to: Position, speed: Coord, bounds: &Bounds) -> Position {
    let speed = i128::from(speed.max(0));
    let dx = i128::from(to.x) - i128::from(from.x);
    let dy = i128::from(to.y) - i128::from(from.y);
    let distance_sq = from.distance_squared(&to);
    let target = if distance_sq <= speed.saturating_mul(speed).unsigned_abs() {
        to
    } else {
        // Dividing by the distance rounded up, and truncating towards zero, keeps the
        // step no longer than `speed`; distance > speed >= 0, so it is at least 1.
        let root = isqrt(distance_sq);
        let ceil = if root.saturating_mul(root) < distance_sq {
            root.saturating_add(1)
        } else {
            root
        };
        let distance = i128::try_from(ceil).unwrap_or(i128::MAX).max(1);
        let x = i128::from(from.x) + dx.saturating_mul(speed) / distance;
        let y = i128::from(from.y) + dy.saturating_mul(speed) / distance;
        Position::new(
            x.clamp(i128::from(Coord::MIN), i128::from(Coord::MAX)) as Coord,
            y.clamp(i128::from(Coord::MIN), i128::from(Coord::MAX)) as Coord,
        )
    };
    clamp_into(target, bounds)
}

/// A uniformly random point of `bounds`.
fn random_point(rng: &mut DecisionRng, bounds: &Bounds) -> Position {
    Position::new(
        rng.coord(bounds.min_x, bounds.max_x.saturating_sub(1)),
        rng.coord(bounds.min_y, bounds.max_y.saturating_sub(1)),
    )
}

/// Adds one `item` to a sorted inventory; `false` (unchanged) when the stack is full or
/// a new stack would exceed [`MAX_INVENTORY_STACKS`].
fn add_one(inventory: &mut Vec<(ItemId, u32)>, item: ItemId) -> bool {
    match inventory.binary_search_by_key(&item, |(id, _)| *id) {
        Ok(at) => match inventory.get_mut(at) {
            Some((_, count)) if *count < MAX_STACK => {
                *count += 1;
                true
            }
            _ => false,
        },
        Err(at) if inventory.len() < MAX_INVENTORY_STACKS => {
            inventory.insert(at, (item, 1));
            true
        }
        Err(_) => false,
    }
}

/// Removes one `item` from a sorted inventory, dropping an emptied stack; `false`
/// (unchanged) when there is none.
fn remove_one(inventory: &mut Vec<(ItemId, u32)>, item: ItemId) -> bool {
    let Ok(at) = inventory.binary_search_by_key(&item, |(id, _)| *id) else {
        return false;
    };
    match inventory.get_mut(at) {
        Some((_, count)) if *count > 1 => {
            *count -= 1;
            true
        }
        Some(_) => {
            inventory.remove(at);
            true
        }
        None => false,
    }
}

/// Up to `limit` NPC ids after `start_after` in storage-key order, reading keys only.
fn npc_ids_after(ext: &mut Ext, start_after: Option<NpcId>, limit: usize) -> Vec<NpcId> {
    let prefix = NpcsPrefix::prefix();
    let mut cursor = match start_after {
        Some(id) => Npcs::key(&id),
        None => prefix.to_vec(),
    };
    let mut ids = Vec::new();
    while ids.len() < limit {
        let Some(next) = ext.next_key(&cursor) else {
            break;
        };
        if !next.starts_with(prefix) {
            break;
        }
        // `prefix ++ twox64(id) ++ id`.
        match next.get(40..).map(|mut raw| NpcId::decode(&mut raw)) {
            Some(Ok(id)) => ids.push(id),
            _ => ext.record_fault("undecodable key in Npcs.Npcs".to_string()),
        }
        cursor = next;
    }
    ids
}

/// The NPCs that decide in this block: up to `limit` after the cursor, wrapping to the
/// start, each at most once.
fn decision_batch(ext: &mut Ext, limit: usize) -> Vec<NpcId> {
    let cursor = Cursor::get(ext);
    let mut ids = npc_ids_after(ext, cursor, limit);
    if ids.len() < limit && cursor.is_some() {
        let seen: BTreeSet<NpcId> = ids.iter().copied().collect();
        for id in npc_ids_after(ext, None, limit - ids.len()) {
            if seen.contains(&id) {
                break;
            }
            ids.push(id);
        }
    }
    ids
}

/// Runs this block's NPC decisions; returns the decision units used (a trade, which
/// also writes its partner, uses two), at most `DecisionsPerBlock`.
fn run_decisions(ext: &mut Ext, rng: &mut DecisionRng, now: BlockNumber) -> u32 {
    let limit = decisions_per_block(ext);
    if limit == 0 {
        return 0;
    }
    let batch = decision_batch(ext, limit as usize);
    let mut used = 0u32;
    let mut last = None;
    for id in batch {
        if used >= limit {
            break;
        }
        used = used.saturating_add(decide(ext, rng, id, now, limit - used));
        last = Some(id);
    }
    match last {
        Some(id) => Cursor::put(ext, &id),
        None => Cursor::kill(ext),
    }
    used
}

/// One NPC's decision; returns the units used (1, or 2 for a trade when `budget`
/// allows).
fn decide(ext: &mut Ext, rng: &mut DecisionRng, id: NpcId, now: BlockNumber, budget: u32) -> u32 {
    let Some(mut npc) = Npcs::get(ext, &id) else {
        return 1;
    };
    if npc.health == 0 {
        remove(ext, &npc);
        deposit_event(ext, &Event::Despawned { id });
        return 1;
    }
    let Some(area) = areas::area(ext, npc.area).filter(|area| area.active) else {
        // The runtime moves NPCs out of split or merged areas; one left behind waits.
        return 1;
    };
    let mut used = 1;
    match npc.kind {
        NpcKind::Beast => react(ext, rng, &mut npc, &area),
        NpcKind::Villager | NpcKind::Trader => {
            let (wander_below, gather_below) = match npc.kind {
                NpcKind::Villager => (50, 85),
                _ => (30, 40),
            };
            let roll = rng.below(100);
            let done = if roll < wander_below {
                false
            } else if roll < gather_below {
                gather(ext, rng, &mut npc, &area, now)
            } else if budget >= 2 && trade(ext, rng, &mut npc) {
                used = 2;
                true
            } else {
                false
            };
            if !done {
                wander(rng, &mut npc, &area.bounds);
            }
        }
    }
    npc.last_decision = now;
    Npcs::insert(ext, &id, &npc);
    used
}

/// A random step, or a step back towards home when the NPC strayed beyond
/// [`HOME_RANGE`].
fn wander(rng: &mut DecisionRng, npc: &mut Npc, bounds: &Bounds) {
    let range = HOME_RANGE.unsigned_abs() as u128;
    npc.position = if npc.position.distance_squared(&npc.home) > range * range {
        step_towards(npc.position, npc.home, NPC_SPEED, bounds)
    } else {
        wander_step(rng, npc.position, NPC_SPEED, bounds)
    };
}

/// Takes one unit of a random resource of the area into the inventory; `false` when
/// the deposit is empty or the inventory has no room.
fn gather(
    ext: &mut Ext,
    rng: &mut DecisionRng,
    npc: &mut Npc,
    area: &Area,
    now: BlockNumber,
) -> bool {
    if area.resources.is_empty() {
        return false;
    }
    let Some(node) = area.resources.get(rng.index(area.resources.len())) else {
        return false;
    };
    let mut inventory = npc.inventory.clone();
    if node.amount_at(now) == 0 || !add_one(&mut inventory, node.resource) {
        return false;
    }
    if areas::take_resource(ext, npc.area, node.resource, 1, now).is_err() {
        return false;
    }
    npc.inventory = inventory;
    true
}

/// Another NPC of `area` than `npc`, found from a random point of the area's index.
fn trade_partner(ext: &mut Ext, rng: &mut DecisionRng, area: AreaId, npc: NpcId) -> Option<NpcId> {
    let start = rng.next_u64();
    let mut found = NpcsInArea::iter_prefix(ext, &area, Some(&start), 2);
    if found.len() < 2 {
        found.extend(NpcsInArea::iter_prefix(ext, &area, None, 2));
    }
    found.into_iter().map(|(id, ())| id).find(|id| *id != npc)
}

/// Swaps one random item of `npc` for a different random item of another NPC of its
/// area, writing the partner; `false` (nothing changed) when either has nothing to
/// offer or no room.
fn trade(ext: &mut Ext, rng: &mut DecisionRng, npc: &mut Npc) -> bool {
    if npc.inventory.is_empty() {
        return false;
    }
    let Some(partner_id) = trade_partner(ext, rng, npc.area, npc.id) else {
        return false;
    };
    let Some(mut partner) = Npcs::get(ext, &partner_id) else {
        return false;
    };
    let Some((give, _)) = npc.inventory.get(rng.index(npc.inventory.len())).copied() else {
        return false;
    };
    let offers: Vec<ItemId> = partner
        .inventory
        .iter()
        .map(|(item, _)| *item)
        .filter(|item| *item != give)
        .collect();
    if offers.is_empty() {
        return false;
    }
    let Some(take) = offers.get(rng.index(offers.len())).copied() else {
        return false;
    };
    let mut mine = npc.inventory.clone();
    let mut theirs = partner.inventory.clone();
    let swapped = remove_one(&mut mine, give)
        && remove_one(&mut theirs, take)
        && add_one(&mut mine, take)
        && add_one(&mut theirs, give);
    if !swapped {
        return false;
    }
    npc.inventory = mine;
    partner.inventory = theirs;
    Npcs::insert(ext, &partner_id, &partner);
    true
}

/// Up to [`MAX_PLAYERS_SCANNED`] players of `area`, from a random point of its index.
fn scan_players(
    ext: &mut Ext,
    rng: &mut DecisionRng,
    area: AreaId,
) -> Vec<(AccountId32, Position)> {
    let start = AccountId32::new(rng.next_bytes());
    let mut seen = players::players_in_area(ext, area, Some(&start), MAX_PLAYERS_SCANNED);
    if seen.len() < MAX_PLAYERS_SCANNED {
        let known: BTreeSet<AccountId32> = seen.iter().map(|(who, _)| who.clone()).collect();
        for (who, player) in
            players::players_in_area(ext, area, None, MAX_PLAYERS_SCANNED - seen.len())
        {
            if known.contains(&who) {
                break;
            }
            seen.push((who, player));
        }
    }
    seen.into_iter()
        .map(|(who, player)| (who, player.position))
        .collect()
}

/// A beast's decision: turn hostile towards the nearest player within
/// [`HOSTILITY_RANGE`], chase it while hostile, calm down when no player is near, and
/// otherwise wander.
fn react(ext: &mut Ext, rng: &mut DecisionRng, npc: &mut Npc, area: &Area) {
    let range = HOSTILITY_RANGE.unsigned_abs() as u128;
    let nearest = scan_players(ext, rng, npc.area)
        .into_iter()
        .map(|(who, position)| (npc.position.distance_squared(&position), who, position))
        .filter(|(distance_sq, _, _)| *distance_sq <= range * range)
        .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    match (nearest, npc.disposition) {
        (Some((_, target, _)), Disposition::Peaceful) => {
            npc.disposition = Disposition::Hostile;
            deposit_event(ext, &Event::TurnedHostile { id: npc.id, target });
        }
        (Some((_, _, position)), Disposition::Hostile) => {
            npc.position = step_towards(npc.position, position, NPC_SPEED, &area.bounds);
        }
        (None, Disposition::Hostile) => {
            npc.disposition = Disposition::Peaceful;
            deposit_event(ext, &Event::Calmed { id: npc.id });
        }
        (None, Disposition::Peaceful) => wander(rng, npc, &area.bounds),
    }
}

/// Evaluates the spawn rules of up to [`SPAWN_AREAS_PER_BLOCK`] areas after the spawn
/// cursor (wrapping); returns how many rules were evaluated.
fn run_spawn_rules(ext: &mut Ext, rng: &mut DecisionRng, now: BlockNumber) -> u32 {
    let cursor = SpawnCursor::get(ext);
    let mut batch = SpawnRules::iter_from(ext, cursor.as_ref(), SPAWN_AREAS_PER_BLOCK);
    if batch.len() < SPAWN_AREAS_PER_BLOCK && cursor.is_some() {
        let seen: BTreeSet<AreaId> = batch.iter().map(|(area, _)| *area).collect();
        for (area, rules) in SpawnRules::iter_from(ext, None, SPAWN_AREAS_PER_BLOCK - batch.len()) {
            if seen.contains(&area) {
                break;
            }
            batch.push((area, rules));
        }
    }
    match batch.last() {
        Some((area, _)) => SpawnCursor::put(ext, area),
        None if cursor.is_some() => SpawnCursor::kill(ext),
        None => {}
    }
    let mut evaluated = 0u32;
    for (area_id, rules) in batch {
        let Some(area) = areas::area(ext, area_id).filter(|area| area.active) else {
            // Rules of a split area wait until it is merged back.
            continue;
        };
        for rule in rules.iter().take(MAX_SPAWN_RULES) {
            evaluated = evaluated.saturating_add(1);
            if rng.below(u64::from(PER_MILLE)) >= u64::from(rule.chance_per_mille) {
                continue;
            }
            let of_kind = KindCount::get(ext, &area_id, &rule.kind).unwrap_or(0);
            if of_kind >= rule.max_count || npc_count(ext, area_id) >= MAX_NPCS_PER_AREA {
                continue;
            }
            let position = random_point(rng, &area.bounds);
            let id = NextNpcId::get_or_default(ext);
            let name = format!("{} {id}", rule.kind.label()).into_bytes();
            if create(ext, area_id, position, rule.kind, name, now).is_ok() {
                deposit_event(
                    ext,
                    &Event::Spawned {
                        id,
                        kind: rule.kind,
                        area: area_id,
                        position,
                    },
                );
            }
        }
    }
    evaluated
}

/// Every `(k1, k2, value)` of a double map whose hashers are both `Twox64Concat`.
fn walk_double_map<K1: Decode, K2: Decode, V: Decode>(
    ext: &mut Ext,
    prefix: &[u8; 32],
    name: &str,
) -> Result<Vec<(K1, K2, V)>, String> {
    let mut entries = Vec::new();
    for key in ext.keys_with_prefix(prefix) {
        let decoded = (|| {
            let mut raw = key.get(40..)?;
            let k1 = K1::decode(&mut raw).ok()?;
            let mut raw = raw.get(8..)?;
            let k2 = K2::decode(&mut raw).ok()?;
            let value = V::decode(&mut &ext.get(&key)?[..]).ok()?;
            Some((k1, k2, value))
        })();
        entries.push(decoded.ok_or_else(|| format!("undecodable entry in {name}"))?);
    }
    Ok(entries)
}

/// Checks the pallet's invariants (see the crate documentation); `Err` names the first
/// violation found. Reads every NPC: for tests and the runtime's consistency checks, not
/// for block execution.
pub fn check_invariants(ext: &mut Ext) -> Result<(), String> {
    if let Some(count) = DecisionsPerBlock::get(ext) {
        if count > MAX_DECISIONS_PER_BLOCK {
            return Err(format!("{count} decisions per block exceed the maximum"));
        }
    }
    let next_id = NextNpcId::get_or_default(ext);
    let mut per_area: BTreeMap<AreaId, u32> = BTreeMap::new();
    let mut per_kind: BTreeMap<(AreaId, NpcKind), u32> = BTreeMap::new();
    let npcs = Npcs::iter(ext);
    for (id, npc) in &npcs {
        if npc.id != *id {
            return Err(format!("NPC stored under {id} has id {}", npc.id));
        }
        if *id >= next_id {
            return Err(format!("NPC {id} is not below the next id {next_id}"));
        }
        if !valid_name(&npc.name) {
            return Err(format!("NPC {id} has an invalid name"));
        }
        if npc.health > MAX_HEALTH {
            return Err(format!("NPC {id} has {} health", npc.health));
        }
        if !NpcsInArea::contains_key(ext, &npc.area, id) {
            return Err(format!(
                "NPC {id} is missing from area {}'s index",
                npc.area
            ));
        }
        let area = areas::area(ext, npc.area)
            .ok_or_else(|| format!("NPC {id} is in unknown area {}", npc.area))?;
        if !area.active {
            return Err(format!("NPC {id} is in inactive area {}", npc.area));
        }
        if !area.bounds.contains(&npc.position) {
            return Err(format!(
                "NPC {id} at {:?} is outside area {}",
                npc.position, npc.area
            ));
        }
        if !area.bounds.contains(&npc.home) {
            return Err(format!(
                "NPC {id}'s home {:?} is outside area {}",
                npc.home, npc.area
            ));
        }
        if npc.inventory.len() > MAX_INVENTORY_STACKS {
            return Err(format!("NPC {id} carries too many stacks"));
        }
        if npc.inventory.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(format!(
                "NPC {id}'s inventory is unsorted or repeats an item"
            ));
        }
        if npc
            .inventory
            .iter()
            .any(|(_, count)| *count == 0 || *count > MAX_STACK)
        {
            return Err(format!("NPC {id} has an empty or oversized stack"));
        }
        let count = per_area.entry(npc.area).or_default();
        *count = count.saturating_add(1);
        let count = per_kind.entry((npc.area, npc.kind)).or_default();
        *count = count.saturating_add(1);
    }
    let index: Vec<(AreaId, NpcId, ())> =
        walk_double_map(ext, NpcsInAreaPrefix::prefix(), "Npcs.NpcsInArea")?;
    let homes: BTreeMap<NpcId, AreaId> = npcs.iter().map(|(id, npc)| (*id, npc.area)).collect();
    for (area, id, ()) in &index {
        match homes.get(id) {
            Some(stands_in) if stands_in == area => {}
            Some(stands_in) => {
                return Err(format!(
                    "NPC {id} is listed in area {area} but stands in area {stands_in}"
                ))
            }
            None => return Err(format!("area {area} lists missing NPC {id}")),
        }
    }
    if index.len() != npcs.len() {
        return Err(format!(
            "{} index entries for {} NPCs",
            index.len(),
            npcs.len()
        ));
    }
    let stored: BTreeMap<AreaId, u32> = AreaNpcCount::iter(ext).into_iter().collect();
    if stored != per_area {
        return Err(format!(
            "area counts {stored:?} differ from the index {per_area:?}"
        ));
    }
    if let Some((area, count)) = per_area.iter().find(|(_, c)| **c > MAX_NPCS_PER_AREA) {
        return Err(format!("area {area} holds {count} NPCs"));
    }
    let kinds: BTreeMap<(AreaId, NpcKind), u32> =
        walk_double_map::<AreaId, NpcKind, u32>(ext, KindCountPrefix::prefix(), "Npcs.KindCount")?
            .into_iter()
            .map(|(area, kind, count)| ((area, kind), count))
            .collect();
    if kinds != per_kind {
        return Err(format!(
            "kind counts {kinds:?} differ from the index {per_kind:?}"
        ));
    }
    for (area, rules) in SpawnRules::iter(ext) {
        if rules.is_empty() || validate_spawn_rules(&rules).is_err() {
            return Err(format!("area {area} has invalid spawn rules"));
        }
    }
    Ok(())
}

/// One NPC placed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NpcConfig {
    /// Display name.
    pub name: String,
    /// What it is.
    pub kind: NpcKind,
    /// Its area (a genesis area of the areas pallet).
    pub area: AreaId,
    /// Where it stands, inside the area.
    pub position: Position,
}

/// Genesis: the initial NPCs (ids 0, 1, ... in order), spawn rules and decisions per
/// block. Built after the areas genesis.
///
/// ```json
/// {"npcs":[{"name":"Old Tom","kind":"Villager","area":0,"position":{"x":5000,"y":5000}}],
///  "spawnRules":[[0,[{"kind":"Beast","maxCount":4,"chancePerMille":50}]]],
///  "decisionsPerBlock":32}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// The NPCs.
    #[serde(default)]
    pub npcs: Vec<NpcConfig>,
    /// `(area, rules)` pairs.
    #[serde(default)]
    pub spawn_rules: Vec<(AreaId, Vec<SpawnRule>)>,
    /// NPC decisions per block.
    #[serde(default = "default_decisions_per_block")]
    pub decisions_per_block: u32,
}

fn default_decisions_per_block() -> u32 {
    DEFAULT_DECISIONS_PER_BLOCK
}

impl Default for GenesisConfig {
    fn default() -> Self {
        GenesisConfig {
            npcs: Vec::new(),
            spawn_rules: Vec::new(),
            decisions_per_block: DEFAULT_DECISIONS_PER_BLOCK,
        }
    }
}

/// Why an NPC genesis configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// An NPC name is empty, too long or holds control characters.
    #[error("NPC name {0:?} is empty, longer than 32 bytes or holds control characters")]
    InvalidName(String),
    /// An NPC or spawn rule names an area the areas genesis does not create.
    #[error("area {0} does not exist")]
    UnknownArea(AreaId),
    /// An NPC or spawn rule names an inactive area.
    #[error("area {0} is not active")]
    AreaInactive(AreaId),
    /// An NPC stands outside its area.
    #[error("NPC {name:?} stands outside area {area}")]
    InvalidPosition {
        /// The NPC's name.
        name: String,
        /// Its area.
        area: AreaId,
    },
    /// An area is given more than [`MAX_NPCS_PER_AREA`] NPCs.
    #[error("area {0} is given more than 256 NPCs")]
    TooManyNpcs(AreaId),
    /// The decisions per block exceed [`MAX_DECISIONS_PER_BLOCK`].
    #[error("{0} decisions per block exceed the maximum of 256")]
    TooManyDecisions(u32),
    /// An area's spawn rules have a chance above 1000 per mille or a count above
    /// [`MAX_NPCS_PER_AREA`].
    #[error("area {0} has a spawn rule with a chance above 1000 or a count above 256")]
    InvalidSpawnRule(AreaId),
    /// An area's spawn rules name a kind twice.
    #[error("area {0} has two spawn rules for one kind")]
    DuplicateSpawnRule(AreaId),
    /// An area is given spawn rules twice.
    #[error("area {0} is given spawn rules twice")]
    DuplicateSpawnArea(AreaId),
}

/// The active area `id` for genesis, or its error.
fn genesis_area(ext: &mut Ext, id: AreaId) -> Result<Area, GenesisError> {
    match active_area(ext, id) {
        Ok(area) => Ok(area),
        Err(Error::AreaInactive) => Err(GenesisError::AreaInactive(id)),
        Err(_) => Err(GenesisError::UnknownArea(id)),
    }
}

impl arceon_support::BuildGenesis for GenesisConfig {
    type Error = GenesisError;

    /// Checks every NPC and rule against the areas already in `ext`, then writes them.
    fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        if self.decisions_per_block > MAX_DECISIONS_PER_BLOCK {
            return Err(GenesisError::TooManyDecisions(self.decisions_per_block));
        }
        let mut per_area: BTreeMap<AreaId, u32> = BTreeMap::new();
        for config in &self.npcs {
            if !valid_name(config.name.as_bytes()) {
                return Err(GenesisError::InvalidName(config.name.clone()));
            }
            let area = genesis_area(ext, config.area)?;
            if !area.bounds.contains(&config.position) {
                return Err(GenesisError::InvalidPosition {
                    name: config.name.clone(),
                    area: config.area,
                });
            }
            let count = per_area.entry(config.area).or_default();
            *count = count.saturating_add(1);
            if *count > MAX_NPCS_PER_AREA {
                return Err(GenesisError::TooManyNpcs(config.area));
            }
        }
        let mut rule_areas = BTreeSet::new();
        for (area, rules) in &self.spawn_rules {
            if !rule_areas.insert(*area) {
                return Err(GenesisError::DuplicateSpawnArea(*area));
            }
            genesis_area(ext, *area)?;
            match validate_spawn_rules(rules) {
                Ok(()) => {}
                Err(Error::DuplicateSpawnRule) => {
                    return Err(GenesisError::DuplicateSpawnRule(*area))
                }
                Err(_) => return Err(GenesisError::InvalidSpawnRule(*area)),
            }
        }
        for config in &self.npcs {
            let name = config.name.as_bytes().to_vec();
            // Ids start at 0 and there are far fewer NPCs than ids: this cannot fail.
            create(ext, config.area, config.position, config.kind, name, 0)
                .map_err(|_| GenesisError::TooManyNpcs(config.area))?;
        }
        for (area, rules) in &self.spawn_rules {
            if !rules.is_empty() {
                SpawnRules::insert(ext, area, rules);
            }
        }
        DecisionsPerBlock::put(ext, &self.decisions_per_block);
        Ok(())
    }
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![arceon_support::metadata::constant(
        "MaxNpcsPerArea",
        &(MAX_NPCS_PER_AREA),
        &["The most NPCs one area holds."],
    )]
}

/// Shifts every block number this pallet stores down by `by` (saturating at 0), so the
/// state of block `by` can be the genesis of a new chain with the same elapsed times
/// (`export-state --chain-spec`).
pub fn rebase(ext: &mut Ext, by: BlockNumber) {
    Npcs::translate_values(ext, |npc: &mut Npc| {
        npc.last_decision = npc.last_decision.saturating_sub(by);
    });
}

#[cfg(test)]
mod tests;
