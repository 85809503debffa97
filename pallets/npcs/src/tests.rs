#![allow(clippy::unwrap_used)]

use super::*;
use arceon_pallet_areas::{AreaConfig, ResourceNode};
use arceon_pallet_players::ResourceInfo;
use arceon_primitives::keyring::Keyring;
use arceon_support::{
    BuildGenesis, Hooks, MemoryState, ModuleError, PalletError, Phase, StorageChanges,
};
use proptest::prelude::*;

const U: Coord = UNIT;
const WOOD: ItemId = 1;
const STONE: ItemId = 2;
const AREA_SIDE: Coord = 100 * U;

/// Area `i` of a row of square areas: `[i * 100u, (i + 1) * 100u) x [0, 100u)`.
fn area_bounds(i: AreaId) -> Bounds {
    let x = Coord::from(i) * AREA_SIDE;
    Bounds::new(x, 0, x + AREA_SIDE, AREA_SIDE)
}

fn deposit(resource: u32, amount: u32) -> ResourceNode {
    ResourceNode {
        resource,
        amount,
        max: amount,
        regen_per_block: 0,
        last_update: 0,
    }
}

/// A row of `count` areas; area 0 holds wood and stone deposits that do not regrow,
/// the others hold nothing.
fn area_configs(count: u32) -> Vec<AreaConfig> {
    (0..count)
        .map(|i| AreaConfig {
            id: i,
            name: format!("Area {i}"),
            bounds: area_bounds(i),
            neighbours: None,
            capacity: 1_000,
            resources: if i == 0 {
                vec![deposit(WOOD, 500), deposit(STONE, 500)]
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// A test world: the genesis configs of the pallets involved.
struct Setup {
    areas: u32,
    npcs: Vec<NpcConfig>,
    rules: Vec<(AreaId, Vec<SpawnRule>)>,
    decisions: u32,
    /// Registered at genesis; they stand at area 0's centre (50u, 50u).
    players: Vec<AccountId32>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            areas: 2,
            npcs: Vec::new(),
            rules: Vec::new(),
            decisions: DEFAULT_DECISIONS_PER_BLOCK,
            players: Vec::new(),
        }
    }
}

fn npc_config(name: &str, kind: NpcKind, area: AreaId, x: Coord, y: Coord) -> NpcConfig {
    NpcConfig {
        name: name.to_string(),
        kind,
        area,
        position: Position::new(x, y),
    }
}

/// Writes the system, areas and players genesis (everything but this pallet's).
fn build_world(ext: &mut Ext, setup: &Setup) {
    system::build_genesis(ext, "arceon", 1);
    areas::GenesisConfig {
        areas: area_configs(setup.areas),
        starting_area: Some(0),
        ..Default::default()
    }
    .build(ext)
    .expect("areas genesis");
    players::GenesisConfig {
        resources: vec![
            ResourceInfo {
                id: WOOD,
                name: "wood".into(),
                min_level: 1,
                yield_per_gather: 1,
            },
            ResourceInfo {
                id: STONE,
                name: "stone".into(),
                min_level: 1,
                yield_per_gather: 1,
            },
        ],
        players: setup
            .players
            .iter()
            .enumerate()
            .map(|(i, who)| (who.clone(), format!("player{i}")))
            .collect(),
        ..Default::default()
    }
    .build(ext)
    .expect("players genesis");
}

fn into_state(ext: Ext) -> MemoryState {
    ext.into_changes()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn build(setup: &Setup) -> MemoryState {
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    build_world(&mut ext, setup);
    GenesisConfig {
        npcs: setup.npcs.clone(),
        spawn_rules: setup.rules.clone(),
        decisions_per_block: setup.decisions,
    }
    .build(&mut ext)
    .expect("npcs genesis");
    into_state(ext)
}

fn alice() -> AccountId32 {
    Keyring::Alice.account()
}

fn assert_invariants(ext: &mut Ext) {
    if let Err(e) = check_invariants(ext) {
        panic!("invariant broken: {e}");
    }
    assert!(!ext.has_fault(), "fault: {:?}", ext.take_fault());
}

fn parent_hash(salt: u64, n: BlockNumber) -> H256 {
    H256(sp_crypto_hashing::blake2_256(&(salt, n).encode()))
}

/// Starts block `n` on a parent hash derived from `salt` and runs the NPC hook.
fn run_block(ext: &mut Ext, n: BlockNumber, salt: u64) -> Weight {
    system::Number::put(ext, &n);
    system::ParentHash::put(ext, &parent_hash(salt, n));
    Pallet::on_initialize(ext, n)
}

/// This pallet's events deposited since the last call, in order.
fn npc_events(ext: &mut Ext) -> Vec<Event> {
    ext.take_events()
        .into_iter()
        .filter_map(|record| {
            let mut input = &record[..];
            Phase::decode(&mut input).ok()?;
            let (&pallet, mut rest) = input.split_first()?;
            if pallet != PALLET_INDEX {
                return None;
            }
            Event::decode(&mut rest).ok()
        })
        .collect()
}

/// Dispatches as root inside a transactional layer, as the executive does.
fn root(ext: &mut Ext, call: Call) -> DispatchResult {
    ext.transactional(|ext| call.dispatch(ext, Origin::Root))
}

/// Dispatches `call` and checks it fails with `expected` leaving storage and events as
/// they were.
fn assert_rejected(ext: &mut Ext, call: Call, origin: Origin, expected: DispatchError) {
    let before = ext.changes().clone();
    let events_before = ext.events().len();
    let result = ext.transactional(|ext| call.dispatch(ext, origin));
    assert_eq!(result, Err(expected));
    assert_eq!(ext.changes(), &before, "a failed call changed storage");
    assert_eq!(
        ext.events().len(),
        events_before,
        "a failed call left events"
    );
}

fn err(error: Error) -> DispatchError {
    error.into()
}

fn spawn_call(area: AreaId, x: Coord, y: Coord, kind: NpcKind, name: &[u8]) -> Call {
    Call::Spawn {
        area,
        position: Position::new(x, y),
        kind,
        name: name.to_vec(),
    }
}

fn rule(kind: NpcKind, max_count: u32, chance_per_mille: u16) -> SpawnRule {
    SpawnRule {
        kind,
        max_count,
        chance_per_mille,
    }
}

/// Marks area `id` inactive, as a split does to the parent.
fn deactivate(ext: &mut Ext, id: AreaId) {
    let mut area = areas::area(ext, id).expect("area");
    area.active = false;
    areas::Areas::insert(ext, &id, &area);
}

fn all_npcs(ext: &mut Ext) -> BTreeMap<NpcId, Npc> {
    Npcs::iter(ext).into_iter().collect()
}

fn total_items(ext: &mut Ext, item: ItemId) -> u32 {
    Npcs::iter(ext)
        .into_iter()
        .map(|(_, npc)| npc.item_count(item))
        .sum()
}

fn changed_npc_keys(ext: &Ext) -> usize {
    ext.changes()
        .keys()
        .filter(|key| key.starts_with(NpcsPrefix::prefix()))
        .count()
}

#[test]
fn genesis_places_npcs_and_spawn_rules() {
    let state = build(&Setup {
        npcs: vec![
            npc_config("Old Tom", NpcKind::Villager, 0, 10 * U, 10 * U),
            npc_config("Mira", NpcKind::Trader, 0, 20 * U, 20 * U),
            npc_config("Grey Wolf", NpcKind::Beast, 1, 150 * U, 50 * U),
        ],
        rules: vec![(1, vec![rule(NpcKind::Beast, 4, 50)])],
        decisions: 16,
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let tom = npc(&mut ext, 0).expect("Old Tom");
    assert_eq!(tom.name, b"Old Tom".to_vec());
    assert_eq!(tom.kind, NpcKind::Villager);
    assert_eq!(tom.area, 0);
    assert_eq!(tom.position, Position::new(10 * U, 10 * U));
    assert_eq!(tom.home, tom.position);
    assert_eq!(tom.disposition, Disposition::Peaceful);
    assert_eq!(tom.health, MAX_HEALTH);
    assert!(tom.inventory.is_empty());
    assert_eq!(npc(&mut ext, 2).expect("wolf").area, 1);
    assert_eq!(npc_count(&mut ext, 0), 2);
    assert_eq!(npc_count(&mut ext, 1), 1);
    assert_eq!(NextNpcId::get(&mut ext), Some(3));
    assert_eq!(decisions_per_block(&mut ext), 16);
    assert_eq!(spawn_rules(&mut ext, 1), vec![rule(NpcKind::Beast, 4, 50)]);
    assert!(spawn_rules(&mut ext, 0).is_empty());
    assert_invariants(&mut ext);
}

#[test]
fn genesis_json_uses_camel_case_and_defaults() {
    let json = r#"{"npcs":[{"name":"Old Tom","kind":"Villager","area":0,"position":{"x":5000,"y":5000}}],
        "spawnRules":[[0,[{"kind":"Beast","maxCount":4,"chancePerMille":50}]]],
        "decisionsPerBlock":32}"#;
    let config: GenesisConfig = serde_json::from_str(json).expect("example parses");
    assert_eq!(
        config.npcs,
        vec![npc_config("Old Tom", NpcKind::Villager, 0, 5 * U, 5 * U)]
    );
    assert_eq!(
        config.spawn_rules,
        vec![(0, vec![rule(NpcKind::Beast, 4, 50)])]
    );
    let empty: GenesisConfig = serde_json::from_str("{}").expect("all fields default");
    assert_eq!(empty, GenesisConfig::default());
    assert_eq!(empty.decisions_per_block, DEFAULT_DECISIONS_PER_BLOCK);
    assert!(serde_json::from_str::<GenesisConfig>(r#"{"npc":[]}"#).is_err());
    assert!(serde_json::from_str::<GenesisConfig>(
        r#"{"spawnRules":[[0,[{"kind":"Beast","maxCount":1,"chance":5}]]]}"#
    )
    .is_err());
    let round_trip: GenesisConfig =
        serde_json::from_str(&serde_json::to_string(&config).expect("serialises"))
            .expect("parses back");
    assert_eq!(round_trip, config);
}

#[test]
fn genesis_rejects_bad_configs_and_writes_nothing() {
    let empty = MemoryState::new();
    let mut world = Ext::new(&empty);
    build_world(&mut world, &Setup::default());
    deactivate(&mut world, 1);
    let state = into_state(world);
    let mut ext = Ext::new(&state);
    let tom = |area, x, y| npc_config("Tom", NpcKind::Villager, area, x, y);
    let cases: Vec<(GenesisConfig, GenesisError)> = vec![
        (
            GenesisConfig {
                decisions_per_block: 257,
                ..Default::default()
            },
            GenesisError::TooManyDecisions(257),
        ),
        (
            GenesisConfig {
                npcs: vec![npc_config("", NpcKind::Villager, 0, 0, 0)],
                ..Default::default()
            },
            GenesisError::InvalidName(String::new()),
        ),
        (
            GenesisConfig {
                npcs: vec![tom(7, 0, 0)],
                ..Default::default()
            },
            GenesisError::UnknownArea(7),
        ),
        (
            GenesisConfig {
                npcs: vec![tom(1, 150 * U, 0)],
                ..Default::default()
            },
            GenesisError::AreaInactive(1),
        ),
        (
            GenesisConfig {
                npcs: vec![tom(0, 10 * U, 10 * U), tom(0, 100 * U, 0)],
                ..Default::default()
            },
            GenesisError::InvalidPosition {
                name: "Tom".into(),
                area: 0,
            },
        ),
        (
            GenesisConfig {
                npcs: (0..=MAX_NPCS_PER_AREA).map(|_| tom(0, U, U)).collect(),
                ..Default::default()
            },
            GenesisError::TooManyNpcs(0),
        ),
        (
            GenesisConfig {
                spawn_rules: vec![(0, vec![rule(NpcKind::Beast, 1, 1_001)])],
                ..Default::default()
            },
            GenesisError::InvalidSpawnRule(0),
        ),
        (
            GenesisConfig {
                spawn_rules: vec![(
                    0,
                    vec![rule(NpcKind::Beast, 1, 1), rule(NpcKind::Beast, 2, 2)],
                )],
                ..Default::default()
            },
            GenesisError::DuplicateSpawnRule(0),
        ),
        (
            GenesisConfig {
                spawn_rules: vec![(0, vec![]), (0, vec![rule(NpcKind::Beast, 1, 1)])],
                ..Default::default()
            },
            GenesisError::DuplicateSpawnArea(0),
        ),
        (
            GenesisConfig {
                spawn_rules: vec![(9, vec![rule(NpcKind::Beast, 1, 1)])],
                ..Default::default()
            },
            GenesisError::UnknownArea(9),
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(config.build(&mut ext), Err(expected.clone()));
        assert!(ext.changes().is_empty(), "{expected} wrote storage");
    }
    assert_eq!(
        GenesisError::TooManyNpcs(0).to_string(),
        "area 0 is given more than 256 NPCs"
    );
}

#[test]
fn root_spawns_an_npc_players_can_see() {
    let state = build(&Setup::default());
    let mut ext = Ext::new(&state);
    system::Number::put(&mut ext, &5);
    root(
        &mut ext,
        spawn_call(1, 120 * U, 30 * U, NpcKind::Trader, b"Mira"),
    )
    .expect("spawn");
    let mira = npc(&mut ext, 0).expect("stored");
    assert_eq!(mira.name, b"Mira".to_vec());
    assert_eq!(mira.kind, NpcKind::Trader);
    assert_eq!(mira.area, 1);
    assert_eq!(mira.position, Position::new(120 * U, 30 * U));
    assert_eq!(mira.last_decision, 5);
    assert_eq!(npcs_in_area(&mut ext, 1, None, 10), vec![mira]);
    assert_eq!(npc_count(&mut ext, 1), 1);
    assert_eq!(
        npc_events(&mut ext),
        vec![Event::Spawned {
            id: 0,
            kind: NpcKind::Trader,
            area: 1,
            position: Position::new(120 * U, 30 * U),
        }]
    );
    // Ids keep counting.
    root(
        &mut ext,
        spawn_call(1, 130 * U, 30 * U, NpcKind::Beast, b"Wolf"),
    )
    .expect("spawn");
    assert_eq!(npc(&mut ext, 1).expect("wolf").name, b"Wolf".to_vec());
    assert_invariants(&mut ext);
}

#[test]
fn spawn_needs_root() {
    let state = build(&Setup::default());
    let mut ext = Ext::new(&state);
    let call = spawn_call(0, U, U, NpcKind::Villager, b"Tom");
    assert_rejected(
        &mut ext,
        call.clone(),
        Origin::Signed(alice()),
        DispatchError::BadOrigin,
    );
    assert_rejected(&mut ext, call, Origin::None, DispatchError::BadOrigin);
    assert_invariants(&mut ext);
}

#[test]
fn spawn_rejects_bad_names() {
    let state = build(&Setup::default());
    let mut ext = Ext::new(&state);
    let long = [b'a'; MAX_NAME_LEN + 1];
    for name in [&b""[..], &long[..], &[0xff, 0xfe][..], &b"Tom\n"[..]] {
        assert_rejected(
            &mut ext,
            spawn_call(0, U, U, NpcKind::Villager, name),
            Origin::Root,
            err(Error::InvalidName),
        );
    }
    root(
        &mut ext,
        spawn_call(0, U, U, NpcKind::Villager, &[b'a'; MAX_NAME_LEN]),
    )
    .expect("32 bytes is fine");
    assert_invariants(&mut ext);
}

#[test]
fn spawn_rejects_unknown_and_inactive_areas() {
    let state = build(&Setup::default());
    let mut ext = Ext::new(&state);
    assert_rejected(
        &mut ext,
        spawn_call(9, U, U, NpcKind::Villager, b"Tom"),
        Origin::Root,
        err(Error::UnknownArea),
    );
    deactivate(&mut ext, 1);
    assert_rejected(
        &mut ext,
        spawn_call(1, 150 * U, U, NpcKind::Villager, b"Tom"),
        Origin::Root,
        err(Error::AreaInactive),
    );
    assert_invariants(&mut ext);
}

#[test]
fn spawn_rejects_positions_outside_the_area() {
    let state = build(&Setup::default());
    let mut ext = Ext::new(&state);
    for (x, y) in [(100 * U, U), (U, 100 * U), (-1, U), (U, -1), (150 * U, U)] {
        assert_rejected(
            &mut ext,
            spawn_call(0, x, y, NpcKind::Villager, b"Tom"),
            Origin::Root,
            err(Error::InvalidPosition),
        );
    }
    // Both lower edges are inside, the upper ones are not.
    root(&mut ext, spawn_call(0, 0, 0, NpcKind::Villager, b"Tom")).expect("corner");
    root(
        &mut ext,
        spawn_call(0, 100 * U - 1, 100 * U - 1, NpcKind::Villager, b"Ann"),
    )
    .expect("far corner");
    assert_invariants(&mut ext);
}

#[test]
fn spawn_rejects_a_full_area() {
    let state = build(&Setup {
        npcs: (0..MAX_NPCS_PER_AREA)
            .map(|i| npc_config(&format!("Tom {i}"), NpcKind::Villager, 0, U, U))
            .collect(),
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    assert_eq!(npc_count(&mut ext, 0), MAX_NPCS_PER_AREA);
    assert_rejected(
        &mut ext,
        spawn_call(0, U, U, NpcKind::Beast, b"Wolf"),
        Origin::Root,
        err(Error::TooManyNpcs),
    );
    root(&mut ext, spawn_call(1, 150 * U, U, NpcKind::Beast, b"Wolf")).expect("other area");
    assert_invariants(&mut ext);
}

#[test]
fn despawn_removes_an_npc() {
    let state = build(&Setup {
        npcs: vec![
            npc_config("Tom", NpcKind::Villager, 0, U, U),
            npc_config("Wolf", NpcKind::Beast, 0, 2 * U, U),
        ],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    assert_rejected(
        &mut ext,
        Call::Despawn { id: 1 },
        Origin::Signed(alice()),
        DispatchError::BadOrigin,
    );
    root(&mut ext, Call::Despawn { id: 1 }).expect("despawn");
    assert_eq!(npc(&mut ext, 1), None);
    assert_eq!(npc_count(&mut ext, 0), 1);
    assert_eq!(KindCount::get(&mut ext, &0, &NpcKind::Beast), None);
    assert_eq!(npc_events(&mut ext), vec![Event::Despawned { id: 1 }]);
    assert_rejected(
        &mut ext,
        Call::Despawn { id: 1 },
        Origin::Root,
        err(Error::UnknownNpc),
    );
    assert_rejected(
        &mut ext,
        Call::Despawn { id: 99 },
        Origin::Root,
        err(Error::UnknownNpc),
    );
    root(&mut ext, Call::Despawn { id: 0 }).expect("despawn the last");
    assert_eq!(AreaNpcCount::get(&mut ext, &0), None);
    assert_invariants(&mut ext);
}

#[test]
fn set_decisions_per_block_bounds_and_pauses_npcs() {
    let state = build(&Setup {
        npcs: vec![npc_config("Wolf", NpcKind::Beast, 0, 10 * U, 10 * U)],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    assert_rejected(
        &mut ext,
        Call::SetDecisionsPerBlock { count: 4 },
        Origin::Signed(alice()),
        DispatchError::BadOrigin,
    );
    assert_rejected(
        &mut ext,
        Call::SetDecisionsPerBlock {
            count: MAX_DECISIONS_PER_BLOCK + 1,
        },
        Origin::Root,
        err(Error::TooManyDecisions),
    );
    root(
        &mut ext,
        Call::SetDecisionsPerBlock {
            count: MAX_DECISIONS_PER_BLOCK,
        },
    )
    .expect("maximum");
    assert_eq!(decisions_per_block(&mut ext), MAX_DECISIONS_PER_BLOCK);
    root(&mut ext, Call::SetDecisionsPerBlock { count: 0 }).expect("pause");
    assert_eq!(
        npc_events(&mut ext),
        vec![
            Event::DecisionsPerBlockSet {
                count: MAX_DECISIONS_PER_BLOCK
            },
            Event::DecisionsPerBlockSet { count: 0 },
        ]
    );
    let before = npc(&mut ext, 0);
    for n in 1..=5 {
        assert_eq!(run_block(&mut ext, n, 1), weights::on_initialize(0, 0));
    }
    assert_eq!(npc(&mut ext, 0), before, "a paused NPC stays put");
    root(&mut ext, Call::SetDecisionsPerBlock { count: 1 }).expect("resume");
    run_block(&mut ext, 6, 1);
    assert_eq!(npc(&mut ext, 0).expect("wolf").last_decision, 6);
    assert_invariants(&mut ext);
}

#[test]
fn set_spawn_rules_validates_and_replaces() {
    let state = build(&Setup::default());
    let mut ext = Ext::new(&state);
    let rules = vec![rule(NpcKind::Beast, 3, 100), rule(NpcKind::Villager, 2, 10)];
    assert_rejected(
        &mut ext,
        Call::SetSpawnRules {
            area: 0,
            rules: rules.clone(),
        },
        Origin::Signed(alice()),
        DispatchError::BadOrigin,
    );
    for bad in [
        rule(NpcKind::Beast, 3, PER_MILLE + 1),
        rule(NpcKind::Beast, MAX_NPCS_PER_AREA + 1, 10),
    ] {
        assert_rejected(
            &mut ext,
            Call::SetSpawnRules {
                area: 0,
                rules: vec![bad],
            },
            Origin::Root,
            err(Error::InvalidSpawnRule),
        );
    }
    assert_rejected(
        &mut ext,
        Call::SetSpawnRules {
            area: 0,
            rules: vec![rule(NpcKind::Trader, 1, 1), rule(NpcKind::Trader, 2, 2)],
        },
        Origin::Root,
        err(Error::DuplicateSpawnRule),
    );
    assert_rejected(
        &mut ext,
        Call::SetSpawnRules {
            area: 5,
            rules: rules.clone(),
        },
        Origin::Root,
        err(Error::UnknownArea),
    );
    root(
        &mut ext,
        Call::SetSpawnRules {
            area: 0,
            rules: rules.clone(),
        },
    )
    .expect("set");
    assert_eq!(spawn_rules(&mut ext, 0), rules);
    root(
        &mut ext,
        Call::SetSpawnRules {
            area: 0,
            rules: vec![],
        },
    )
    .expect("clear");
    assert!(!SpawnRules::contains_key(&mut ext, &0));
    assert_eq!(
        npc_events(&mut ext),
        vec![
            Event::SpawnRulesSet { area: 0, rules },
            Event::SpawnRulesSet {
                area: 0,
                rules: vec![]
            },
        ]
    );
    deactivate(&mut ext, 1);
    assert_rejected(
        &mut ext,
        Call::SetSpawnRules {
            area: 1,
            rules: vec![rule(NpcKind::Beast, 1, 1)],
        },
        Origin::Root,
        err(Error::AreaInactive),
    );
    assert_invariants(&mut ext);
}

#[test]
fn spawn_rules_populate_areas_up_to_their_count() {
    let state = build(&Setup {
        rules: vec![(
            1,
            vec![
                rule(NpcKind::Beast, 3, PER_MILLE),
                rule(NpcKind::Villager, 5, 0),
            ],
        )],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let mut spawned = Vec::new();
    for n in 1..=10 {
        run_block(&mut ext, n, 3);
        for event in npc_events(&mut ext) {
            if let Event::Spawned {
                id,
                kind,
                area,
                position,
            } = event
            {
                assert_eq!(kind, NpcKind::Beast);
                assert_eq!(area, 1);
                assert!(area_bounds(1).contains(&position));
                spawned.push(id);
            }
        }
        assert_invariants(&mut ext);
    }
    assert_eq!(spawned, vec![0, 1, 2], "one beast per block until three");
    assert_eq!(KindCount::get(&mut ext, &1, &NpcKind::Beast), Some(3));
    assert_eq!(KindCount::get(&mut ext, &1, &NpcKind::Villager), None);
    assert_eq!(npc(&mut ext, 2).expect("beast").name, b"Beast 2".to_vec());
    // A despawned beast is replaced.
    root(&mut ext, Call::Despawn { id: 0 }).expect("despawn");
    npc_events(&mut ext);
    run_block(&mut ext, 11, 3);
    assert!(npc_events(&mut ext)
        .iter()
        .any(|event| matches!(event, Event::Spawned { id: 3, .. })));
    assert_invariants(&mut ext);
}

#[test]
fn spawn_rules_never_overfill_an_area() {
    let state = build(&Setup {
        npcs: (0..MAX_NPCS_PER_AREA - 1)
            .map(|i| npc_config(&format!("Tom {i}"), NpcKind::Villager, 1, 150 * U, U))
            .collect(),
        rules: vec![(
            1,
            vec![
                rule(NpcKind::Beast, MAX_NPCS_PER_AREA, PER_MILLE),
                rule(NpcKind::Trader, MAX_NPCS_PER_AREA, PER_MILLE),
            ],
        )],
        decisions: 0,
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    for n in 1..=3 {
        run_block(&mut ext, n, 4);
    }
    assert_eq!(npc_count(&mut ext, 1), MAX_NPCS_PER_AREA);
    assert_invariants(&mut ext);
}

#[test]
fn spawn_rules_are_evaluated_round_robin_over_areas() {
    let areas_with_rules = 6;
    let state = build(&Setup {
        areas: areas_with_rules,
        rules: (0..areas_with_rules)
            .map(|area| (area, vec![rule(NpcKind::Villager, 1, PER_MILLE)]))
            .collect(),
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let weight = run_block(&mut ext, 1, 5);
    let populated = |ext: &mut Ext| {
        (0..areas_with_rules)
            .filter(|area| npc_count(ext, *area) > 0)
            .count()
    };
    assert_eq!(populated(&mut ext), SPAWN_AREAS_PER_BLOCK);
    assert_eq!(
        weight,
        weights::on_initialize(0, SPAWN_AREAS_PER_BLOCK as u32)
    );
    run_block(&mut ext, 2, 5);
    assert_eq!(populated(&mut ext), areas_with_rules as usize);
    assert_invariants(&mut ext);
}

#[test]
fn beast_turns_hostile_near_a_player_and_calms_when_they_leave() {
    let state = build(&Setup {
        npcs: vec![
            npc_config("Wolf", NpcKind::Beast, 0, 53 * U, 50 * U),
            npc_config("Far Wolf", NpcKind::Beast, 0, 56 * U, 56 * U),
            npc_config("Tom", NpcKind::Villager, 0, 51 * U, 50 * U),
        ],
        players: vec![alice()],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let player = players::player(&mut ext, &alice()).expect("alice");
    assert_eq!(player.position, Position::new(50 * U, 50 * U));

    run_block(&mut ext, 1, 9);
    assert_eq!(
        npc_events(&mut ext),
        vec![Event::TurnedHostile {
            id: 0,
            target: alice(),
        }],
        "only the wolf within 5 units turns"
    );
    assert_eq!(
        npc(&mut ext, 0).expect("wolf").disposition,
        Disposition::Hostile
    );
    assert_eq!(
        npc(&mut ext, 1).expect("far wolf").disposition,
        Disposition::Peaceful
    );

    // While the player stays, the hostile wolf closes in without new events.
    let distance = |ext: &mut Ext| {
        let wolf = npc(ext, 0).expect("wolf").position;
        let at = players::player(ext, &alice()).expect("alice").position;
        wolf.distance_squared(&at)
    };
    let before = distance(&mut ext);
    run_block(&mut ext, 2, 9);
    assert!(distance(&mut ext) < before, "the wolf chases");
    assert!(!npc_events(&mut ext).iter().any(|event| matches!(
        event,
        Event::TurnedHostile { id: 0, .. } | Event::Calmed { id: 0 }
    )));

    // The player walks away; the wolf calms down at its next decision.
    system::Number::put(&mut ext, &20);
    players::move_to(&mut ext, &alice(), Position::new(50 * U, 95 * U)).expect("walk away");
    ext.take_events();
    run_block(&mut ext, 21, 9);
    assert!(npc_events(&mut ext).contains(&Event::Calmed { id: 0 }));
    assert_eq!(
        npc(&mut ext, 0).expect("wolf").disposition,
        Disposition::Peaceful
    );
    assert_invariants(&mut ext);
}

#[test]
fn villagers_gather_resources_the_area_loses() {
    let state = build(&Setup {
        npcs: (0..6)
            .map(|i| npc_config(&format!("Tom {i}"), NpcKind::Villager, 0, 50 * U, 50 * U))
            .collect(),
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    for n in 1..=60 {
        run_block(&mut ext, n, 11);
    }
    assert!(
        npc_events(&mut ext).is_empty(),
        "minor decisions are silent"
    );
    let now = 60;
    for item in [WOOD, STONE] {
        let carried = total_items(&mut ext, item);
        let left = areas::resource_amount(&mut ext, 0, item, now);
        assert!(carried > 0, "villagers gathered item {item}");
        assert_eq!(carried + left, 500, "gathering conserves item {item}");
    }
    assert_invariants(&mut ext);
}

#[test]
fn traders_swap_items_without_creating_any() {
    let state = build(&Setup {
        npcs: vec![
            npc_config("Mira", NpcKind::Trader, 1, 150 * U, 50 * U),
            npc_config("Oskar", NpcKind::Trader, 1, 151 * U, 50 * U),
        ],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let mut mira = npc(&mut ext, 0).expect("mira");
    mira.inventory = vec![(WOOD, 10)];
    Npcs::insert(&mut ext, &0, &mira);
    let mut oskar = npc(&mut ext, 1).expect("oskar");
    oskar.inventory = vec![(STONE, 10)];
    Npcs::insert(&mut ext, &1, &oskar);
    let mut swapped = false;
    for n in 1..=30 {
        run_block(&mut ext, n, 12);
        assert_eq!(total_items(&mut ext, WOOD), 10);
        assert_eq!(total_items(&mut ext, STONE), 10);
        let mira = npc(&mut ext, 0).expect("mira");
        let oskar = npc(&mut ext, 1).expect("oskar");
        assert!(mira.inventory.len() <= 2 && oskar.inventory.len() <= 2);
        swapped |= mira.item_count(STONE) > 0 && oskar.item_count(WOOD) > 0;
    }
    assert!(swapped, "Mira traded wood for Oskar's stone");
    assert!(npc_events(&mut ext).is_empty(), "trades are silent");
    assert_invariants(&mut ext);
}

#[test]
fn inventories_are_bounded_and_sorted() {
    let mut inventory = Vec::new();
    for item in (0..MAX_INVENTORY_STACKS as ItemId).rev() {
        assert!(add_one(&mut inventory, item));
    }
    assert!(!add_one(&mut inventory, 99), "no ninth stack");
    assert!(add_one(&mut inventory, 3), "existing stack grows");
    assert_eq!(inventory[3], (3, 2));
    assert!(inventory.windows(2).all(|pair| pair[0].0 < pair[1].0));
    assert!(remove_one(&mut inventory, 0));
    assert!(!remove_one(&mut inventory, 0), "emptied stack is gone");
    assert!(add_one(&mut inventory, 99), "its slot is free again");
    let mut full = vec![(1, MAX_STACK)];
    assert!(!add_one(&mut full, 1));
    assert_eq!(full, vec![(1, MAX_STACK)]);
}

#[test]
fn npc_without_health_is_despawned_at_its_turn() {
    let state = build(&Setup {
        npcs: vec![
            npc_config("Wolf", NpcKind::Beast, 0, 10 * U, 10 * U),
            npc_config("Tom", NpcKind::Villager, 0, 20 * U, 10 * U),
        ],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let mut wolf = npc(&mut ext, 0).expect("wolf");
    wolf.health = 0;
    Npcs::insert(&mut ext, &0, &wolf);
    run_block(&mut ext, 1, 13);
    assert_eq!(npc_events(&mut ext), vec![Event::Despawned { id: 0 }]);
    assert_eq!(npc(&mut ext, 0), None);
    assert_eq!(npc_count(&mut ext, 0), 1);
    assert_invariants(&mut ext);
}

#[test]
fn strayed_npc_walks_back_home() {
    let state = build(&Setup {
        npcs: vec![npc_config("Tom", NpcKind::Villager, 1, 110 * U, 10 * U)],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let mut tom = npc(&mut ext, 0).expect("tom");
    tom.position = Position::new(190 * U, 90 * U);
    Npcs::insert(&mut ext, &0, &tom);
    let mut last = tom.position.distance_squared(&tom.home);
    for n in 1..=10 {
        run_block(&mut ext, n, 14);
        let tom = npc(&mut ext, 0).expect("tom");
        let now = tom.position.distance_squared(&tom.home);
        assert!(now < last, "block {n}: Tom heads home");
        last = now;
    }
    assert_invariants(&mut ext);
}

#[test]
fn decisions_go_round_robin_through_every_npc() {
    let state = build(&Setup {
        npcs: (0..10)
            .map(|i| npc_config(&format!("Wolf {i}"), NpcKind::Beast, 0, (5 + i) * U, 5 * U))
            .collect(),
        decisions: 3,
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let mut decided: Vec<BTreeSet<NpcId>> = Vec::new();
    for n in 1..=4 {
        run_block(&mut ext, n, 15);
        let this_block: BTreeSet<NpcId> = all_npcs(&mut ext)
            .into_iter()
            .filter(|(_, npc)| npc.last_decision == n)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(this_block.len(), 3, "block {n}");
        decided.push(this_block);
    }
    let first_three: Vec<NpcId> = decided[..3].iter().flatten().copied().collect();
    assert_eq!(
        first_three.iter().collect::<BTreeSet<_>>().len(),
        9,
        "no NPC decides twice before the others had their turn"
    );
    let everyone: BTreeSet<NpcId> = decided.iter().flatten().copied().collect();
    assert_eq!(
        everyone,
        (0..10).collect(),
        "every NPC decided within 4 blocks"
    );
    assert_invariants(&mut ext);
}

/// 20 areas of 250 NPCs of every kind, with a player in area 0.
fn crowded_world(npcs: u32) -> MemoryState {
    let per_area = 250;
    build(&Setup {
        areas: npcs.div_ceil(per_area).max(1),
        npcs: (0..npcs)
            .map(|i| {
                let area = i / per_area;
                let kind = NpcKind::ALL[(i % 3) as usize];
                let x = area_bounds(area).min_x + Coord::from(i % 97) * U;
                npc_config(&format!("N{i}"), kind, area, x, Coord::from(i % 89) * U)
            })
            .collect(),
        players: vec![alice()],
        ..Default::default()
    })
}

#[test]
fn one_block_touches_at_most_decisions_per_block_npcs_whatever_their_number() {
    let state = crowded_world(5_000);
    let mut ext = Ext::new(&state);
    let weight = run_block(&mut ext, 1, 16);
    let touched = changed_npc_keys(&ext);
    assert!(touched > 0);
    assert!(
        touched <= DEFAULT_DECISIONS_PER_BLOCK as usize,
        "{touched} NPCs changed"
    );
    assert_eq!(
        weight,
        weights::on_initialize(DEFAULT_DECISIONS_PER_BLOCK, 0)
    );
    assert!(!weight.any_gt(weights::on_initialize_max(DEFAULT_DECISIONS_PER_BLOCK)));
    // The next block continues with other NPCs.
    let first: BTreeSet<Vec<u8>> = ext.changes().keys().cloned().collect();
    let weight_again = run_block(&mut ext, 2, 16);
    assert_eq!(weight_again, weight);
    assert!(changed_npc_keys(&ext) > touched);
    assert!(ext.changes().len() > first.len());

    let small = crowded_world(64);
    let mut ext = Ext::new(&small);
    assert_eq!(
        run_block(&mut ext, 1, 16),
        weight,
        "same weight for 64 NPCs"
    );
    assert_invariants(&mut ext);
}

/// A lively world: villagers, traders, beasts near a player, resources and spawn rules.
fn lively_setup() -> Setup {
    let mut npcs: Vec<NpcConfig> = (0..30)
        .map(|i| {
            let kind = NpcKind::ALL[(i % 3) as usize];
            npc_config(&format!("N{i}"), kind, (i % 2) as AreaId, 0, 0)
        })
        .collect();
    for (i, config) in npcs.iter_mut().enumerate() {
        let i = i as Coord;
        let min_x = area_bounds(config.area).min_x;
        config.position = Position::new(min_x + 40 * U + i * U, 45 * U + (i % 7) * U);
    }
    Setup {
        npcs,
        rules: vec![
            (0, vec![rule(NpcKind::Beast, 8, 200)]),
            (1, vec![rule(NpcKind::Villager, 20, 300)]),
        ],
        decisions: 12,
        players: vec![alice(), Keyring::Bob.account()],
        ..Default::default()
    }
}

fn run_lively(salt: u64) -> (MemoryState, StorageChanges, Vec<Vec<u8>>) {
    let state = build(&lively_setup());
    let mut ext = Ext::new(&state);
    let mut events = Vec::new();
    for n in 1..=200 {
        run_block(&mut ext, n, salt);
        events.extend(ext.take_events());
        if n % 50 == 0 {
            assert_invariants(&mut ext);
        }
    }
    let changes = ext.changes().clone();
    (state, changes, events)
}

#[test]
fn decisions_are_deterministic_and_follow_the_parent_hash() {
    let (state_a, changes_a, events_a) = run_lively(21);
    let (state_b, changes_b, events_b) = run_lively(21);
    assert_eq!(state_a, state_b, "built the same");
    assert_eq!(changes_a, changes_b, "same parent hashes, same world");
    assert_eq!(events_a, events_b);
    assert!(!events_a.is_empty(), "something noticeable happened");

    let (_, changes_c, _) = run_lively(22);
    let positions = |changes: &StorageChanges| -> BTreeMap<NpcId, Position> {
        let mut overlay = state_a.clone();
        for (key, value) in changes {
            match value {
                Some(value) => overlay.insert(key.clone(), value.clone()),
                None => overlay.remove(key),
            };
        }
        let mut ext = Ext::new(&overlay);
        Npcs::iter(&mut ext)
            .into_iter()
            .map(|(id, npc)| (id, npc.position))
            .collect()
    };
    assert_ne!(
        positions(&changes_a),
        positions(&changes_c),
        "another parent hash moves NPCs elsewhere"
    );
}

/// Splits area 0 into four quadrants 10..=13 by hand, as the areas pallet does.
fn split_area_zero(ext: &mut Ext) -> Vec<(AreaId, Bounds)> {
    let parent = areas::area(ext, 0).expect("area 0");
    let half = AREA_SIDE / 2;
    let quadrants = [
        Bounds::new(0, 0, half, half),
        Bounds::new(half, 0, AREA_SIDE, half),
        Bounds::new(0, half, half, AREA_SIDE),
        Bounds::new(half, half, AREA_SIDE, AREA_SIDE),
    ];
    let mut targets = Vec::new();
    for (i, bounds) in quadrants.into_iter().enumerate() {
        let id = 10 + i as AreaId;
        areas::Areas::insert(
            ext,
            &id,
            &Area {
                id,
                bounds,
                parent: Some(0),
                children: Vec::new(),
                ..parent.clone()
            },
        );
        targets.push((id, bounds));
    }
    deactivate(ext, 0);
    targets
}

#[test]
fn migrate_area_follows_a_split_and_a_merge() {
    let positions = [(10, 10), (60, 10), (10, 60), (60, 60), (49, 49), (50, 50)];
    let state = build(&Setup {
        npcs: positions
            .iter()
            .enumerate()
            .map(|(i, (x, y))| npc_config(&format!("N{i}"), NpcKind::Villager, 0, x * U, y * U))
            .collect(),
        rules: vec![(0, vec![rule(NpcKind::Beast, 2, PER_MILLE)])],
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let mut wanderer = npc(&mut ext, 0).expect("N0");
    wanderer.home = Position::new(90 * U, 90 * U);
    Npcs::insert(&mut ext, &0, &wanderer);

    let targets = split_area_zero(&mut ext);
    migrate_area(&mut ext, 0, &targets);
    let expected = [10, 11, 12, 13, 10, 13];
    for (id, area) in expected.into_iter().enumerate() {
        assert_eq!(npc(&mut ext, id as NpcId).expect("npc").area, area);
    }
    assert_eq!(
        npc(&mut ext, 0).expect("N0").home,
        Position::new(10 * U, 10 * U),
        "a home left behind moves to where the NPC stands"
    );
    assert_eq!(npc_count(&mut ext, 0), 0);
    assert_eq!(npc_count(&mut ext, 13), 2);
    assert!(npc_events(&mut ext).is_empty());
    assert_invariants(&mut ext);
    // The split area's rules wait: nothing spawns in an inactive area.
    run_block(&mut ext, 1, 17);
    assert_eq!(npc_count(&mut ext, 0), 0);
    assert_invariants(&mut ext);

    // Merge back.
    for (child, _) in &targets {
        deactivate(&mut ext, *child);
    }
    let mut parent = areas::area(&mut ext, 0).expect("area 0");
    parent.active = true;
    areas::Areas::insert(&mut ext, &0, &parent);
    for (child, _) in &targets {
        migrate_area(&mut ext, *child, &[(0, area_bounds(0))]);
    }
    assert_eq!(npc_count(&mut ext, 0), 6);
    assert_invariants(&mut ext);
}

#[test]
fn migrate_area_despawns_what_fits_nowhere() {
    let state = build(&Setup {
        npcs: (0..MAX_NPCS_PER_AREA - 10)
            .map(|i| npc_config(&format!("A{i}"), NpcKind::Villager, 0, U, U))
            .chain((0..20).map(|i| npc_config(&format!("B{i}"), NpcKind::Beast, 1, 150 * U, U)))
            .chain((0..5).map(|i| npc_config(&format!("C{i}"), NpcKind::Trader, 1, 190 * U, U)))
            .collect(),
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    // Area 0 grows over area 1, which goes away; but the merge target stops at 180u.
    let merged = Bounds::new(0, 0, 180 * U, AREA_SIDE);
    let mut zero = areas::area(&mut ext, 0).expect("area 0");
    zero.bounds = merged;
    areas::Areas::insert(&mut ext, &0, &zero);
    deactivate(&mut ext, 1);
    migrate_area(&mut ext, 1, &[(0, merged)]);
    assert_eq!(npc_count(&mut ext, 0), MAX_NPCS_PER_AREA);
    assert_eq!(npc_count(&mut ext, 1), 0);
    let despawned = npc_events(&mut ext)
        .into_iter()
        .filter(|event| matches!(event, Event::Despawned { .. }))
        .count();
    assert_eq!(
        despawned,
        10 + 5,
        "ten beasts found no room, five traders no area"
    );
    assert_invariants(&mut ext);
}

#[test]
fn npcs_in_area_pages_through_an_area() {
    let state = build(&Setup {
        npcs: (0..10)
            .map(|i| npc_config(&format!("N{i}"), NpcKind::Villager, 0, (i + 1) * U, U))
            .chain(std::iter::once(npc_config(
                "Other",
                NpcKind::Beast,
                1,
                150 * U,
                U,
            )))
            .collect(),
        ..Default::default()
    });
    let mut ext = Ext::new(&state);
    let mut seen = BTreeSet::new();
    let mut after = None;
    loop {
        let page = npcs_in_area(&mut ext, 0, after, 4);
        assert!(page.len() <= 4);
        for npc in &page {
            assert_eq!(npc.area, 0);
            assert!(seen.insert(npc.id), "NPC {} listed twice", npc.id);
        }
        match page.last() {
            Some(last) if page.len() == 4 => after = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(seen, (0..10).collect());
    assert!(npcs_in_area(&mut ext, 0, None, 0).is_empty());
    assert!(npcs_in_area(&mut ext, 7, None, 10).is_empty());
    assert_invariants(&mut ext);
}

#[test]
fn calls_and_errors_have_fixed_indices_and_weights() {
    let despawn = Call::Despawn { id: 7 };
    assert_eq!(despawn.encode(), vec![1, 7, 0, 0, 0, 0, 0, 0, 0]);
    let spawn = spawn_call(2, U, -U, NpcKind::Beast, b"W");
    let mut expected = vec![0u8, 2, 0, 0, 0];
    expected.extend_from_slice(&U.to_le_bytes());
    expected.extend_from_slice(&(-U).to_le_bytes());
    expected.extend_from_slice(&[2, 4, b'W']);
    assert_eq!(spawn.encode(), expected);
    assert_eq!(
        Call::SetDecisionsPerBlock { count: 9 }.encode(),
        vec![2, 9, 0, 0, 0]
    );
    let rules = Call::SetSpawnRules {
        area: 1,
        rules: vec![rule(NpcKind::Trader, 3, 1000)],
    };
    assert_eq!(
        rules.encode(),
        vec![3, 1, 0, 0, 0, 4, 1, 3, 0, 0, 0, 0xe8, 0x03]
    );
    for call in [spawn.clone(), despawn.clone(), rules.clone()] {
        assert_eq!(
            Call::decode(&mut &call.encode()[..]).expect("decodes"),
            call
        );
    }
    assert_eq!(spawn.weight(), weights::SPAWN);
    assert_eq!(despawn.weight(), weights::DESPAWN);
    assert_eq!(rules.weight(), weights::SET_SPAWN_RULES);
    assert_eq!(
        Call::SetDecisionsPerBlock { count: 1 }.weight(),
        weights::SET_DECISIONS_PER_BLOCK
    );
    assert_eq!(
        err(Error::UnknownNpc),
        DispatchError::Module(ModuleError {
            index: 42,
            error: 0,
            name: "UnknownNpc"
        })
    );
    assert_eq!(Error::DuplicateSpawnRule.error_index(), 8);
    assert_eq!(Error::TooManyNpcs.name(), "TooManyNpcs");
    assert_eq!(
        Event::Calmed { id: 3 }.encode(),
        vec![3, 3, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn extreme_coordinates_never_panic() {
    let world = Bounds::new(Coord::MIN, Coord::MIN, Coord::MAX, Coord::MAX);
    let corner = Position::new(Coord::MIN, Coord::MIN);
    let far = Position::new(Coord::MAX, Coord::MAX);
    let mut rng = DecisionRng::new(&H256::zero(), 1);
    for speed in [0, 1, NPC_SPEED, Coord::MAX] {
        let to = step_towards(corner, far, speed, &world);
        assert!(world.contains(&to));
        let to = wander_step(&mut rng, far, speed, &world);
        assert!(world.contains(&to));
        let to = wander_step(&mut rng, corner, speed, &world);
        assert!(world.contains(&to));
    }
    // Empty bounds leave the position alone rather than panic.
    let empty = Bounds::new(5, 5, 5, 5);
    assert_eq!(clamp_into(far, &empty), far);
    assert!(area_bounds(0).contains(&random_point(&mut rng, &area_bounds(0))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever the parent hashes, NPC placement and decision budget, NPCs stay inside
    /// their area, never change area, and move at most `NPC_SPEED` per block.
    #[test]
    fn npcs_never_leave_their_area(
        salt in any::<u64>(),
        decisions in 1u32..=64,
        spots in proptest::collection::vec((0u32..2, 0i64..AREA_SIDE, 0i64..AREA_SIDE, 0usize..3), 1..24),
    ) {
        let npcs = spots
            .iter()
            .enumerate()
            .map(|(i, (area, x, y, kind))| {
                let min_x = area_bounds(*area).min_x;
                npc_config(&format!("N{i}"), NpcKind::ALL[*kind], *area, min_x + x, *y)
            })
            .collect();
        let state = build(&Setup {
            npcs,
            decisions,
            players: vec![alice()],
            ..Default::default()
        });
        let mut ext = Ext::new(&state);
        let mut before = all_npcs(&mut ext);
        for n in 1..=40 {
            run_block(&mut ext, n, salt);
            let after = all_npcs(&mut ext);
            for (id, npc) in &after {
                let old = &before[id];
                prop_assert_eq!(npc.area, old.area);
                prop_assert!(area_bounds(npc.area).contains(&npc.position));
                let step = old.position.distance_squared(&npc.position);
                prop_assert!(step <= (NPC_SPEED as u128).pow(2), "NPC {} stepped {}", id, step);
            }
            before = after;
            prop_assert_eq!(check_invariants(&mut ext), Ok(()));
        }
    }

    /// Steps are never longer than asked and always land inside the bounds.
    #[test]
    fn steps_stay_short_and_inside(
        seed in any::<u64>(),
        min_x in -1_000_000i64..1_000_000,
        min_y in -1_000_000i64..1_000_000,
        width in 1i64..50_000,
        height in 1i64..50_000,
        fx in 0i64..50_000, fy in 0i64..50_000,
        tx in -200_000i64..200_000, ty in -200_000i64..200_000,
        speed in 0i64..10_000,
    ) {
        let bounds = Bounds::new(min_x, min_y, min_x + width, min_y + height);
        let from = clamp_into(Position::new(min_x + fx, min_y + fy), &bounds);
        prop_assert!(bounds.contains(&from));
        let mut rng = DecisionRng::new(&H256::repeat_byte(7), seed as BlockNumber);
        let limit = (speed as u128).pow(2);
        for _ in 0..8 {
            let to = wander_step(&mut rng, from, speed, &bounds);
            prop_assert!(bounds.contains(&to));
            prop_assert!(from.distance_squared(&to) <= limit);
        }
        let to = step_towards(from, Position::new(tx, ty), speed, &bounds);
        prop_assert!(bounds.contains(&to));
        prop_assert!(from.distance_squared(&to) <= limit);
        let target = Position::new(tx, ty);
        prop_assert!(to.distance_squared(&target) <= from.distance_squared(&target));
    }
}
