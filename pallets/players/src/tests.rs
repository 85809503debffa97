//! Mock world: a row of three 100x100-unit areas (west 0, middle 1, east 2, each
//! touching the next) plus a far-away island (3) that touches nothing. Players spawn at
//! the centre of the west area, (50, 50).

use super::*;
use arceon_pallet_areas::{AreaChange, ResourceNode, UNIT};
use arceon_primitives::keyring::Keyring;
use arceon_support::{BuildGenesis, MemoryState, PalletError, StorageChanges};
use proptest::prelude::*;

const WEST: AreaId = 0;
const MIDDLE: AreaId = 1;
const EAST: AreaId = 2;
const ISLAND: AreaId = 3;

const WOOD: ResourceId = 1;
const ORE: ResourceId = 2;
const GEM: ResourceId = 3;
const BERRY: ResourceId = 4;

const PLANK: ItemId = 100;
const SWORD: ItemId = 101;
const CHEST: ItemId = 102;

const MAKE_PLANK: RecipeId = 1;
const MAKE_SWORD: RecipeId = 2;
const MAKE_CHEST: RecipeId = 3;

const SPAWN: Position = Position::new(50 * UNIT, 50 * UNIT);

fn alice() -> AccountId32 {
    Keyring::Alice.account()
}
fn bob() -> AccountId32 {
    Keyring::Bob.account()
}
fn charlie() -> AccountId32 {
    Keyring::Charlie.account()
}
fn dave() -> AccountId32 {
    Keyring::Dave.account()
}

fn units(x: i64, y: i64) -> Position {
    Position::new(x * UNIT, y * UNIT)
}

fn row_bounds(min_x_units: i64) -> Bounds {
    Bounds::new(
        min_x_units * UNIT,
        0,
        (min_x_units + 100) * UNIT,
        100 * UNIT,
    )
}

fn deposit(resource: ResourceId, amount: u32) -> ResourceNode {
    ResourceNode {
        resource,
        amount,
        max: amount,
        regen_per_block: 1,
        last_update: 0,
    }
}

fn area_config(
    id: AreaId,
    min_x_units: i64,
    neighbours: Vec<AreaId>,
    capacity: u32,
    resources: Vec<ResourceNode>,
) -> areas::AreaConfig {
    areas::AreaConfig {
        id,
        name: format!("area {id}"),
        bounds: row_bounds(min_x_units),
        neighbours: Some(neighbours),
        capacity,
        resources,
    }
}

/// Builds the mock map with the areas pallet's genesis (built before this pallet's).
fn build_areas(ext: &mut Ext) {
    areas::GenesisConfig {
        areas: vec![
            area_config(
                WEST,
                0,
                vec![MIDDLE],
                4,
                vec![deposit(WOOD, 1_000), deposit(ORE, 30), deposit(BERRY, 10)],
            ),
            area_config(MIDDLE, 100, vec![WEST, EAST], 2, vec![]),
            area_config(EAST, 200, vec![MIDDLE], 4, vec![deposit(WOOD, 50)]),
            area_config(ISLAND, 1_000, vec![], 4, vec![deposit(WOOD, 50)]),
        ],
        starting_area: Some(WEST),
        ..Default::default()
    }
    .build(ext)
    .expect("valid map");
}

fn resource(id: ResourceId, name: &str, min_level: u32, yield_per_gather: u32) -> ResourceInfo {
    ResourceInfo {
        id,
        name: name.into(),
        min_level,
        yield_per_gather,
    }
}

fn recipe(
    id: RecipeId,
    name: &str,
    inputs: Vec<(ItemId, u32)>,
    output: (ItemId, u32),
    min_level: u32,
    xp: u32,
) -> Recipe {
    Recipe {
        id,
        name: name.into(),
        inputs,
        output,
        min_level,
        xp,
    }
}

fn config(players: &[(AccountId32, &str)]) -> GenesisConfig {
    GenesisConfig {
        resources: vec![
            resource(WOOD, "wood", 1, 5),
            resource(ORE, "ore", 2, 3),
            resource(GEM, "gem", 1, 1),
            resource(BERRY, "berry", 1, 5),
        ],
        recipes: vec![
            recipe(MAKE_PLANK, "plank", vec![(WOOD, 2)], (PLANK, 1), 1, 20),
            recipe(
                MAKE_SWORD,
                "sword",
                vec![(ORE, 2), (PLANK, 1)],
                (SWORD, 1),
                3,
                50,
            ),
            recipe(MAKE_CHEST, "chest", vec![(PLANK, 4)], (CHEST, 1), 1, 200),
        ],
        max_actions_per_block: DEFAULT_MAX_ACTIONS_PER_BLOCK,
        max_actions_per_era: DEFAULT_MAX_ACTIONS_PER_ERA,
        players: players
            .iter()
            .map(|(who, name)| (who.clone(), (*name).to_string()))
            .collect(),
    }
}

fn state_from(changes: StorageChanges) -> MemoryState {
    changes
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// Genesis state with the mock map, items and these players.
fn genesis(players: &[(AccountId32, &str)]) -> MemoryState {
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    build_areas(&mut ext);
    config(players).build(&mut ext).expect("valid genesis");
    state_from(ext.into_changes())
}

fn world() -> MemoryState {
    genesis(&[(alice(), "alice"), (bob(), "bob")])
}

fn set_block(ext: &mut Ext, n: BlockNumber) {
    system::Number::put(ext, &n);
}

fn advance(ext: &mut Ext, blocks: BlockNumber) {
    let now = current_block(ext);
    set_block(ext, now + blocks);
}

fn check(ext: &mut Ext) {
    assert_eq!(check_invariants(ext), Ok(()));
}

fn err(error: Error) -> DispatchError {
    error.into()
}

/// Runs a call in a transactional layer, as the executive does.
fn dispatch_as(ext: &mut Ext, origin: Origin, call: Call) -> DispatchResult {
    let result = ext.transactional(|ext| call.dispatch(ext, origin));
    check(ext);
    result
}

fn dispatch(ext: &mut Ext, who: &AccountId32, call: Call) -> DispatchResult {
    dispatch_as(ext, Origin::Signed(who.clone()), call)
}

fn ok(ext: &mut Ext, who: &AccountId32, call: Call) {
    let description = format!("{call:?}");
    dispatch(ext, who, call).unwrap_or_else(|e| panic!("{description} failed: {e}"));
}

/// Dispatches a call that must fail with `expected` and leave storage and events as
/// they were.
fn rejected(ext: &mut Ext, origin: Origin, call: Call, expected: DispatchError) {
    let before = ext.changes().clone();
    let events_before = ext.events().len();
    assert_eq!(dispatch_as(ext, origin, call), Err(expected));
    assert!(ext.changes() == &before, "a failed call changed storage");
    assert_eq!(
        ext.events().len(),
        events_before,
        "a failed call left events"
    );
}

fn rejected_for(ext: &mut Ext, who: &AccountId32, call: Call, expected: Error) {
    rejected(ext, Origin::Signed(who.clone()), call, expected.into());
}

fn move_call(position: Position) -> Call {
    Call::MoveTo {
        x: position.x,
        y: position.y,
    }
}

fn get(ext: &mut Ext, who: &AccountId32) -> Player {
    player(ext, who).expect("registered")
}

fn has_event(ext: &Ext, event: Event) -> bool {
    let mut bytes = vec![PALLET_INDEX];
    event.encode_to(&mut bytes);
    ext.events()
        .iter()
        .any(|record| record.windows(bytes.len()).any(|window| window == bytes))
}

fn residents(ext: &mut Ext, area: AreaId) -> Vec<AccountId32> {
    let mut who: Vec<AccountId32> = players_in_area(ext, area, None, 100)
        .into_iter()
        .map(|(who, _)| who)
        .collect();
    who.sort();
    who
}

fn population(ext: &mut Ext, area: AreaId) -> u32 {
    AreaPopulation::get_or_default(ext, &area)
}

fn sorted(mut accounts: Vec<AccountId32>) -> Vec<AccountId32> {
    accounts.sort();
    accounts
}

/// Walks `who` to `target` in straight steps of at most the maximum speed, one block
/// each.
fn walk_to(ext: &mut Ext, who: &AccountId32, target: Position) {
    loop {
        let here = get(ext, who).position;
        if here == target {
            return;
        }
        let dx = (target.x - here.x).clamp(-MAX_SPEED_PER_BLOCK, MAX_SPEED_PER_BLOCK);
        let dy = if dx == 0 {
            (target.y - here.y).clamp(-MAX_SPEED_PER_BLOCK, MAX_SPEED_PER_BLOCK)
        } else {
            0
        };
        advance(ext, 1);
        ok(ext, who, move_call(Position::new(here.x + dx, here.y + dy)));
    }
}

fn lift_rate_limits(ext: &mut Ext) {
    dispatch_as(
        ext,
        Origin::Root,
        Call::SetRateLimits {
            per_block: 1_000,
            per_era: 100_000,
        },
    )
    .expect("root sets limits");
}

// ---------------------------------------------------------------- genesis

#[test]
fn genesis_spawns_players_and_stores_items() {
    let state = world();
    let mut ext = Ext::new(&state);
    let alice_player = get(&mut ext, &alice());
    assert_eq!(alice_player.name, b"alice".to_vec());
    assert_eq!(alice_player.area, WEST);
    assert_eq!(alice_player.position, SPAWN);
    assert_eq!(alice_player.energy, MAX_ENERGY);
    assert_eq!(alice_player.health, MAX_HEALTH);
    assert_eq!(PlayerCount::get(&mut ext), Some(2));
    assert_eq!(population(&mut ext, WEST), 2);
    assert_eq!(residents(&mut ext, WEST), sorted(vec![alice(), bob()]));
    assert_eq!(NameOwner::get(&mut ext, &b"bob".to_vec()), Some(bob()));
    assert_eq!(
        Resources::get(&mut ext, &WOOD).map(|r| r.yield_per_gather),
        Some(5)
    );
    assert_eq!(RecipeOutputs::get(&mut ext, &PLANK), Some(1));
    assert_eq!(MaxActionsPerBlock::get(&mut ext), Some(4));
    check(&mut ext);
}

#[test]
fn genesis_rejects_bad_configs_and_writes_nothing() {
    let nothing = MemoryState::new();
    let mut areas_only = Ext::new(&nothing);
    build_areas(&mut areas_only);
    let base = state_from(areas_only.into_changes());
    let good = config(&[(alice(), "alice")]);
    let cases: Vec<(GenesisConfig, GenesisError)> = vec![
        (
            GenesisConfig {
                resources: vec![resource(WOOD, "wood", 1, 5), resource(WOOD, "log", 1, 1)],
                ..good.clone()
            },
            GenesisError::DuplicateResource(WOOD),
        ),
        (
            GenesisConfig {
                resources: vec![resource(WOOD, "wood", 1, 0)],
                recipes: vec![],
                ..good.clone()
            },
            GenesisError::InvalidResource(WOOD),
        ),
        (
            GenesisConfig {
                recipes: vec![
                    recipe(MAKE_PLANK, "plank", vec![(WOOD, 2)], (PLANK, 1), 1, 20),
                    recipe(MAKE_PLANK, "beam", vec![(WOOD, 3)], (PLANK, 1), 1, 20),
                ],
                ..good.clone()
            },
            GenesisError::DuplicateRecipe(MAKE_PLANK),
        ),
        (
            GenesisConfig {
                recipes: vec![recipe(MAKE_PLANK, "plank", vec![], (PLANK, 1), 1, 20)],
                ..good.clone()
            },
            GenesisError::InvalidRecipe(MAKE_PLANK),
        ),
        (
            GenesisConfig {
                recipes: vec![recipe(
                    MAKE_PLANK,
                    "plank",
                    vec![(777, 1)],
                    (PLANK, 1),
                    1,
                    1,
                )],
                ..good.clone()
            },
            GenesisError::UnknownItem {
                recipe: MAKE_PLANK,
                item: 777,
            },
        ),
        (
            // A recipe cannot be the only source of its own input.
            GenesisConfig {
                recipes: vec![recipe(
                    MAKE_CHEST,
                    "chest",
                    vec![(CHEST, 1)],
                    (CHEST, 2),
                    1,
                    1,
                )],
                ..good.clone()
            },
            GenesisError::UnknownItem {
                recipe: MAKE_CHEST,
                item: CHEST,
            },
        ),
        (
            GenesisConfig {
                max_actions_per_block: 0,
                ..good.clone()
            },
            GenesisError::ZeroRateLimit,
        ),
        (
            GenesisConfig {
                players: vec![(alice(), "alice".into()), (alice(), "alicia".into())],
                ..good.clone()
            },
            GenesisError::DuplicatePlayer(alice()),
        ),
        (
            GenesisConfig {
                players: vec![(alice(), "".into())],
                ..good.clone()
            },
            GenesisError::InvalidName("".into()),
        ),
        (
            GenesisConfig {
                players: vec![(alice(), "twin".into()), (bob(), "twin".into())],
                ..good.clone()
            },
            GenesisError::NameTaken("twin".into()),
        ),
        (
            GenesisConfig {
                players: Keyring::ALL
                    .iter()
                    .map(|k| (k.account(), format!("{k:?}")))
                    .collect(),
                ..good.clone()
            },
            GenesisError::AreaFull {
                area: WEST,
                capacity: 4,
                requested: Keyring::ALL.len(),
            },
        ),
    ];
    for (bad, expected) in cases {
        let mut ext = Ext::new(&base);
        assert_eq!(bad.build(&mut ext), Err(expected));
        assert!(ext.changes().is_empty(), "a rejected genesis wrote storage");
    }
    // Without the areas genesis nobody can spawn.
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    assert!(matches!(
        good.build(&mut ext),
        Err(GenesisError::NoSpawnPoint(_))
    ));
    // ... but items alone need no map.
    GenesisConfig {
        players: vec![],
        ..good
    }
    .build(&mut ext)
    .expect("items without players");
}

#[test]
fn genesis_config_reads_camel_case_json() {
    let json = r#"{
        "resources": [{ "id": 1, "name": "wood", "minLevel": 1, "yieldPerGather": 5 }],
        "recipes": [{ "id": 1, "name": "plank", "inputs": [[1, 2]], "output": [100, 1],
                      "minLevel": 1, "xp": 20 }],
        "maxActionsPerBlock": 6,
        "players": [["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "alice"]]
    }"#;
    let parsed: GenesisConfig = serde_json::from_str(json).expect("valid json");
    assert_eq!(parsed.max_actions_per_block, 6);
    assert_eq!(parsed.max_actions_per_era, DEFAULT_MAX_ACTIONS_PER_ERA);
    assert_eq!(parsed.players, vec![(alice(), "alice".to_string())]);
    assert_eq!(parsed.recipes[0].inputs, vec![(WOOD, 2)]);
    let empty: GenesisConfig = serde_json::from_str("{}").expect("all fields default");
    assert_eq!(empty, GenesisConfig::default());
    assert!(serde_json::from_str::<GenesisConfig>(r#"{"maxActions": 1}"#).is_err());
    assert!(serde_json::from_str::<GenesisConfig>(
        r#"{"resources": [{"id": 1, "name": "w", "minLevel": 1, "yieldPerGather": 1, "x": 0}]}"#
    )
    .is_err());
}

#[test]
fn placement_genesis_puts_players_where_asked_within_capacity() {
    let nothing = MemoryState::new();
    let mut before = Ext::new(&nothing);
    build_areas(&mut before);
    config(&[(alice(), "alice")])
        .build(&mut before)
        .expect("players genesis");
    let base = state_from(before.into_changes());
    let place = |who: AccountId32, name: &str, area: AreaId, at: Position| {
        (who, name.to_string(), area, at.x, at.y)
    };
    let placement = PlacementConfig {
        players: vec![
            place(bob(), "bob", EAST, units(250, 10)),
            place(charlie(), "charlie", ISLAND, units(1_099, 99)),
            place(dave(), "dave", WEST, units(0, 0)),
        ],
    };
    let mut ext = Ext::new(&base);
    placement.build(&mut ext).expect("valid placement");
    let mut state = base.clone();
    for (key, value) in ext.into_changes() {
        match value {
            Some(value) => state.insert(key, value),
            None => state.remove(&key),
        };
    }
    let mut ext = Ext::new(&state);
    assert_eq!(get(&mut ext, &bob()).area, EAST);
    assert_eq!(get(&mut ext, &bob()).position, units(250, 10));
    assert_eq!(get(&mut ext, &charlie()).area, ISLAND);
    assert_eq!(get(&mut ext, &dave()).position, units(0, 0));
    assert_eq!(get(&mut ext, &alice()).position, SPAWN);
    assert_eq!(residents(&mut ext, WEST), sorted(vec![alice(), dave()]));
    assert_eq!(population(&mut ext, EAST), 1);
    assert_eq!(PlayerCount::get(&mut ext), Some(4));
    check(&mut ext);
    // A placed player plays like any other: it walks on from where it was placed.
    set_block(&mut ext, 1);
    ok(&mut ext, &bob(), move_call(units(255, 10)));
    check(&mut ext);

    let who_else = Keyring::Eve.account();
    let cases: Vec<(Vec<_>, GenesisError)> = vec![
        (
            vec![place(alice(), "alicia", EAST, units(250, 10))],
            GenesisError::DuplicatePlayer(alice()),
        ),
        (
            vec![
                place(bob(), "bob", EAST, units(250, 10)),
                place(bob(), "bobby", EAST, units(251, 10)),
            ],
            GenesisError::DuplicatePlayer(bob()),
        ),
        (
            vec![place(bob(), "alice", EAST, units(250, 10))],
            GenesisError::NameTaken("alice".into()),
        ),
        (
            vec![place(bob(), "", EAST, units(250, 10))],
            GenesisError::InvalidName("".into()),
        ),
        (
            vec![place(bob(), "bob", 99, units(250, 10))],
            GenesisError::PlacedInInactiveArea {
                who: bob(),
                area: 99,
            },
        ),
        (
            // The east edge belongs to the next area, not this one.
            vec![place(bob(), "bob", MIDDLE, units(200, 10))],
            GenesisError::PlacedOutsideArea {
                who: bob(),
                area: MIDDLE,
            },
        ),
        (
            vec![
                place(bob(), "bob", MIDDLE, units(150, 10)),
                place(charlie(), "charlie", MIDDLE, units(150, 20)),
                place(who_else, "eve", MIDDLE, units(150, 30)),
            ],
            GenesisError::AreaFull {
                area: MIDDLE,
                capacity: 2,
                requested: 3,
            },
        ),
        (
            // The players genesis already put alice in the west area (capacity 4).
            Keyring::ALL[1..5]
                .iter()
                .map(|k| place(k.account(), k.name(), WEST, units(10, 10)))
                .collect(),
            GenesisError::AreaFull {
                area: WEST,
                capacity: 4,
                requested: 5,
            },
        ),
    ];
    for (players, expected) in cases {
        let mut ext = Ext::new(&base);
        assert_eq!(PlacementConfig { players }.build(&mut ext), Err(expected));
        assert!(
            ext.changes().is_empty(),
            "a rejected placement wrote storage"
        );
    }

    let json = r#"{"players": [["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "alice", 2, 250000, -5]]}"#;
    let parsed: PlacementConfig = serde_json::from_str(json).expect("valid json");
    assert_eq!(
        parsed.players,
        vec![(alice(), "alice".to_string(), EAST, 250_000, -5)]
    );
    let empty: PlacementConfig = serde_json::from_str("{}").expect("all fields default");
    assert_eq!(empty, PlacementConfig::default());
    assert!(serde_json::from_str::<PlacementConfig>(r#"{"placed": []}"#).is_err());
}

// ---------------------------------------------------------------- register

#[test]
fn register_spawns_a_new_player() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 7);
    ok(
        &mut ext,
        &charlie(),
        Call::Register {
            name: "Chárlie".as_bytes().to_vec(),
        },
    );
    let charlie_player = get(&mut ext, &charlie());
    assert_eq!(charlie_player.area, WEST);
    assert_eq!(charlie_player.position, SPAWN);
    assert_eq!(charlie_player.registered_at, 7);
    assert_eq!(charlie_player.skill_level(SKILL_GATHERING), 1);
    assert!(charlie_player.inventory.is_empty());
    assert_eq!(PlayerCount::get(&mut ext), Some(3));
    assert_eq!(population(&mut ext, WEST), 3);
    assert_eq!(
        NameOwner::get(&mut ext, &"Chárlie".as_bytes().to_vec()),
        Some(charlie())
    );
    assert!(has_event(
        &ext,
        Event::PlayerRegistered {
            who: charlie(),
            name: "Chárlie".as_bytes().to_vec(),
            area: WEST,
            position: SPAWN,
        }
    ));
    assert_eq!(areas::Load::get(&mut ext, &WEST), Some(1));
}

#[test]
fn register_rejects_bad_names_duplicates_and_full_areas() {
    let state = world();
    let mut ext = Ext::new(&state);
    let register = |name: &[u8]| Call::Register {
        name: name.to_vec(),
    };
    rejected_for(
        &mut ext,
        &alice(),
        register(b"alice2"),
        Error::AlreadyRegistered,
    );
    for bad in [
        &b""[..],
        &[b'a'; MAX_NAME_LEN + 1][..],
        &[0xff, 0xfe][..],
        &b"new\nline"[..],
    ] {
        rejected_for(&mut ext, &charlie(), register(bad), Error::InvalidName);
    }
    rejected_for(&mut ext, &charlie(), register(b"bob"), Error::NameTaken);
    rejected(
        &mut ext,
        Origin::Root,
        register(b"root"),
        DispatchError::BadOrigin,
    );
    // The longest name fits.
    ok(&mut ext, &charlie(), register(&[b'c'; MAX_NAME_LEN]));
    ok(&mut ext, &dave(), register(b"dave"));
    // The west area holds 4: the fifth player cannot spawn.
    rejected_for(
        &mut ext,
        &Keyring::Eve.account(),
        register(b"eve"),
        Error::AreaFull,
    );
    // Once someone walks out there is room again.
    walk_to(&mut ext, &alice(), units(100, 50));
    ok(&mut ext, &Keyring::Eve.account(), register(b"eve"));
}

// ---------------------------------------------------------------- move

#[test]
fn move_within_the_area_at_max_speed() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    // Exactly 10 units in one block (a 6-8-10 triangle) is allowed.
    ok(&mut ext, &alice(), move_call(units(56, 58)));
    let moved = get(&mut ext, &alice());
    assert_eq!(moved.position, units(56, 58));
    assert_eq!(moved.last_move, 1);
    assert_eq!(moved.area, WEST);
    assert!(has_event(
        &ext,
        Event::Moved {
            who: alice(),
            position: units(56, 58),
        }
    ));
    // Standing still in the same block is fine; any step is not.
    ok(&mut ext, &alice(), move_call(units(56, 58)));
    rejected_for(
        &mut ext,
        &alice(),
        move_call(Position::new(56 * UNIT + 1, 58 * UNIT)),
        Error::TooFast,
    );
    // Three idle blocks allow 30 units.
    set_block(&mut ext, 4);
    ok(&mut ext, &alice(), move_call(units(86, 58)));
    assert_eq!(areas::Load::get(&mut ext, &WEST), Some(3));
}

#[test]
fn teleporting_is_rejected_without_changing_anything() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    // One milli-unit beyond what one block allows.
    rejected_for(
        &mut ext,
        &alice(),
        move_call(Position::new(60 * UNIT + 1, 50 * UNIT)),
        Error::TooFast,
    );
    // Across the map in one block.
    rejected_for(
        &mut ext,
        &alice(),
        move_call(units(250, 50)),
        Error::TooFast,
    );
    // Coordinates at the edge of the number range do not overflow.
    rejected_for(
        &mut ext,
        &alice(),
        move_call(Position::new(i64::MIN, i64::MAX)),
        Error::TooFast,
    );
    assert_eq!(get(&mut ext, &alice()).position, SPAWN);
    // At registration's block even a tiny step is too fast.
    set_block(&mut ext, 0);
    rejected_for(
        &mut ext,
        &bob(),
        move_call(Position::new(SPAWN.x + 1, SPAWN.y)),
        Error::TooFast,
    );
}

#[test]
fn crossing_into_a_neighbour_updates_both_indexes() {
    let state = world();
    let mut ext = Ext::new(&state);
    walk_to(&mut ext, &alice(), units(95, 50));
    assert_eq!(population(&mut ext, WEST), 2);
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), move_call(units(105, 50)));
    assert!(has_event(
        &ext,
        Event::PlayerMoved {
            who: alice(),
            from: WEST,
            to: MIDDLE,
            position: units(105, 50),
        }
    ));
    assert_eq!(get(&mut ext, &alice()).area, MIDDLE);
    assert_eq!(residents(&mut ext, WEST), vec![bob()]);
    assert_eq!(residents(&mut ext, MIDDLE), vec![alice()]);
    assert_eq!(population(&mut ext, WEST), 1);
    assert_eq!(population(&mut ext, MIDDLE), 1);
    // The edge belongs to the eastern area: x = 100 is in the middle area.
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), move_call(units(100, 50)));
    assert_eq!(get(&mut ext, &alice()).area, MIDDLE);
    // And back: the middle area empties (its population entry disappears).
    advance(&mut ext, 1);
    ok(
        &mut ext,
        &alice(),
        move_call(Position::new(100 * UNIT - 1, 50 * UNIT)),
    );
    assert_eq!(get(&mut ext, &alice()).area, WEST);
    assert_eq!(AreaPopulation::get(&mut ext, &MIDDLE), None);
    assert_eq!(population(&mut ext, WEST), 2);
    assert_eq!(areas::Load::get(&mut ext, &MIDDLE), Some(2));
}

#[test]
fn moving_into_a_non_adjacent_area_is_rejected() {
    let state = world();
    let mut ext = Ext::new(&state);
    // After a long rest the distance is no obstacle, but the areas are not neighbours.
    set_block(&mut ext, 10_000);
    rejected_for(
        &mut ext,
        &alice(),
        move_call(units(250, 50)),
        Error::NotAdjacent,
    );
    rejected_for(
        &mut ext,
        &alice(),
        move_call(units(1_050, 50)),
        Error::NotAdjacent,
    );
    // Off the map entirely.
    rejected_for(
        &mut ext,
        &alice(),
        move_call(units(50, -5)),
        Error::NotAdjacent,
    );
    assert_eq!(get(&mut ext, &alice()).area, WEST);
}

#[test]
fn entering_a_full_area_is_rejected() {
    let state = genesis(&[(alice(), "alice"), (bob(), "bob"), (charlie(), "charlie")]);
    let mut ext = Ext::new(&state);
    // The middle area holds 2.
    for who in [alice(), bob()] {
        walk_to(&mut ext, &who, units(100, 50));
    }
    walk_to(&mut ext, &charlie(), units(95, 50));
    advance(&mut ext, 1);
    rejected_for(
        &mut ext,
        &charlie(),
        move_call(units(101, 50)),
        Error::AreaFull,
    );
    // Moving inside the full area is still fine for those in it.
    ok(&mut ext, &alice(), move_call(units(105, 50)));
}

#[test]
fn unregistered_accounts_cannot_act() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 5);
    for call in [
        move_call(SPAWN),
        Call::Gather { resource: WOOD },
        Call::Craft { recipe: MAKE_PLANK },
    ] {
        rejected_for(&mut ext, &charlie(), call.clone(), Error::NotRegistered);
        rejected(&mut ext, Origin::None, call, DispatchError::BadOrigin);
    }
}

// ---------------------------------------------------------------- gather

#[test]
fn gathering_fills_the_inventory_and_depletes_the_deposit() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 3);
    ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    let gatherer = get(&mut ext, &alice());
    assert_eq!(gatherer.item_count(WOOD), 5);
    assert_eq!(gatherer.skill_xp(SKILL_GATHERING), GATHER_XP);
    assert_eq!(
        current_energy(&mut ext, &alice(), &gatherer, 3),
        MAX_ENERGY - 5
    );
    assert_eq!(areas::resource_amount(&mut ext, WEST, WOOD, 3), 995);
    assert!(has_event(
        &ext,
        Event::Gathered {
            who: alice(),
            area: WEST,
            resource: WOOD,
            amount: 5,
        }
    ));
    assert_eq!(areas::Load::get(&mut ext, &WEST), Some(1));
}

#[test]
fn gathering_unknown_or_absent_resources_is_rejected() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: 99 },
        Error::UnknownResource,
    );
    // Gems exist, but no deposit in the west area.
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: GEM },
        Error::UnknownResource,
    );
}

#[test]
fn gathering_without_skill_is_rejected_until_the_player_trains() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: ORE },
        Error::SkillTooLow,
    );
    // Ten wood gathers give 100 experience: gathering level 2.
    for _ in 0..10 {
        advance(&mut ext, 1);
        ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    }
    assert_eq!(get(&mut ext, &alice()).skill_level(SKILL_GATHERING), 2);
    ok(&mut ext, &alice(), Call::Gather { resource: ORE });
    assert_eq!(get(&mut ext, &alice()).item_count(ORE), 3);
}

#[test]
fn deposits_deplete_and_regenerate_with_blocks() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    // Berries: 10 in stock, 1 back per block, 5 per gather.
    ok(&mut ext, &alice(), Call::Gather { resource: BERRY });
    ok(&mut ext, &bob(), Call::Gather { resource: BERRY });
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: BERRY },
        Error::ResourceDepleted,
    );
    advance(&mut ext, 4);
    assert_eq!(areas::resource_amount(&mut ext, WEST, BERRY, 5), 4);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: BERRY },
        Error::ResourceDepleted,
    );
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), Call::Gather { resource: BERRY });
    assert_eq!(get(&mut ext, &alice()).item_count(BERRY), 10);
    // Regeneration stops at the deposit's maximum.
    advance(&mut ext, 1_000);
    let now = current_block(&mut ext);
    assert_eq!(areas::resource_amount(&mut ext, WEST, BERRY, now), 10);
}

#[test]
fn gathering_into_a_full_inventory_is_rejected() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    let junk: Vec<(ItemId, u32)> = (0..MAX_INVENTORY_SLOTS as u32)
        .map(|i| (1_000 + i, 1))
        .collect();
    give_items(&mut ext, &alice(), &junk).expect("room for 32 stacks");
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: WOOD },
        Error::InventoryFull,
    );
    // A stack cannot pass its maximum either.
    give_items(&mut ext, &bob(), &[(WOOD, MAX_STACK - 4)]).expect("one big stack");
    rejected_for(
        &mut ext,
        &bob(),
        Call::Gather { resource: WOOD },
        Error::InventoryFull,
    );
}

#[test]
fn actions_spend_energy_that_regenerates() {
    let state = world();
    let mut ext = Ext::new(&state);
    lift_rate_limits(&mut ext);
    set_block(&mut ext, 1);
    for _ in 0..MAX_ENERGY / GATHER_ENERGY {
        ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    }
    let tired = get(&mut ext, &alice());
    assert_eq!(current_energy(&mut ext, &alice(), &tired, 1), 0);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: WOOD },
        Error::Exhausted,
    );
    // Walking costs nothing.
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), move_call(units(55, 50)));
    // Four blocks give 4 energy: still one short of a gather.
    advance(&mut ext, 3);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: WOOD },
        Error::Exhausted,
    );
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    let rested = get(&mut ext, &alice());
    assert_eq!(current_energy(&mut ext, &alice(), &rested, 6), 0);
    // Energy never regenerates past the maximum.
    assert_eq!(
        current_energy(&mut ext, &alice(), &rested, 1_000_000),
        MAX_ENERGY
    );
}

// ---------------------------------------------------------------- craft

#[test]
fn crafting_consumes_inputs_and_produces_the_output() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_PLANK });
    let crafter = get(&mut ext, &alice());
    assert_eq!(crafter.item_count(WOOD), 3);
    assert_eq!(crafter.item_count(PLANK), 1);
    assert_eq!(crafter.skill_xp(SKILL_CRAFTING), 20);
    assert_eq!(
        current_energy(&mut ext, &alice(), &crafter, 1),
        MAX_ENERGY - GATHER_ENERGY - CRAFT_ENERGY
    );
    assert!(has_event(
        &ext,
        Event::Crafted {
            who: alice(),
            recipe: MAKE_PLANK,
            output: PLANK,
            amount: 1,
        }
    ));
    // The last input stack disappears when used up.
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_PLANK });
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_PLANK });
    let crafter = get(&mut ext, &alice());
    assert_eq!(crafter.item_count(WOOD), 4);
    assert_eq!(crafter.item_count(PLANK), 3);
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_PLANK });
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_PLANK });
    let crafter = get(&mut ext, &alice());
    assert_eq!(crafter.inventory, vec![(PLANK, 5)]);
}

#[test]
fn crafting_without_resources_is_rejected() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Craft { recipe: MAKE_PLANK },
        Error::InsufficientItems,
    );
    give_items(&mut ext, &alice(), &[(WOOD, 1)]).expect("one wood");
    rejected_for(
        &mut ext,
        &alice(),
        Call::Craft { recipe: MAKE_PLANK },
        Error::InsufficientItems,
    );
    assert_eq!(get(&mut ext, &alice()).inventory, vec![(WOOD, 1)]);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Craft { recipe: 42 },
        Error::UnknownRecipe,
    );
}

#[test]
fn crafting_without_skill_is_rejected() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    give_items(&mut ext, &alice(), &[(ORE, 2), (PLANK, 5)]).expect("materials");
    rejected_for(
        &mut ext,
        &alice(),
        Call::Craft { recipe: MAKE_SWORD },
        Error::SkillTooLow,
    );
    // A chest is worth 200 crafting experience: level 3, enough for a sword.
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_CHEST });
    assert_eq!(get(&mut ext, &alice()).skill_level(SKILL_CRAFTING), 3);
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_SWORD });
    assert_eq!(
        get(&mut ext, &alice()).inventory,
        vec![(SWORD, 1), (CHEST, 1)]
    );
}

#[test]
fn crafting_into_a_full_inventory_or_exhausted_is_rejected() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    // 4 wood (a stack that survives the craft) and 31 other stacks: no slot for planks.
    let mut stacks: Vec<(ItemId, u32)> = (0..MAX_INVENTORY_SLOTS as u32 - 1)
        .map(|i| (1_000 + i, 1))
        .collect();
    stacks.push((WOOD, 4));
    give_items(&mut ext, &alice(), &stacks).expect("full inventory");
    rejected_for(
        &mut ext,
        &alice(),
        Call::Craft { recipe: MAKE_PLANK },
        Error::InventoryFull,
    );
    // With exactly 2 wood the consumed stack frees the slot the plank needs.
    take_items(&mut ext, &alice(), &[(WOOD, 2)]).expect("two wood");
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_PLANK });
    assert_eq!(get(&mut ext, &alice()).item_count(PLANK), 1);

    lift_rate_limits(&mut ext);
    give_items(&mut ext, &bob(), &[(WOOD, 100)]).expect("wood");
    for _ in 0..MAX_ENERGY / CRAFT_ENERGY {
        ok(&mut ext, &bob(), Call::Craft { recipe: MAKE_PLANK });
    }
    rejected_for(
        &mut ext,
        &bob(),
        Call::Craft { recipe: MAKE_PLANK },
        Error::Exhausted,
    );
    assert_eq!(get(&mut ext, &bob()).item_count(WOOD), 60);
}

// ---------------------------------------------------------------- rate limits

#[test]
fn per_block_rate_limit_rejects_the_extra_action() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    for _ in 0..DEFAULT_MAX_ACTIONS_PER_BLOCK {
        ok(&mut ext, &alice(), move_call(SPAWN));
    }
    for call in [
        move_call(SPAWN),
        Call::Gather { resource: WOOD },
        Call::Craft { recipe: MAKE_PLANK },
    ] {
        rejected_for(&mut ext, &alice(), call, Error::RateLimitedBlock);
    }
    // Other players and the next block are unaffected.
    ok(&mut ext, &bob(), Call::Gather { resource: WOOD });
    advance(&mut ext, 1);
    ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
}

#[test]
fn registering_counts_as_an_action() {
    let state = world();
    let mut ext = Ext::new(&state);
    dispatch_as(
        &mut ext,
        Origin::Root,
        Call::SetRateLimits {
            per_block: 1,
            per_era: 100,
        },
    )
    .expect("root");
    set_block(&mut ext, 1);
    ok(
        &mut ext,
        &charlie(),
        Call::Register {
            name: b"charlie".to_vec(),
        },
    );
    rejected_for(
        &mut ext,
        &charlie(),
        move_call(SPAWN),
        Error::RateLimitedBlock,
    );
    advance(&mut ext, 1);
    ok(&mut ext, &charlie(), move_call(SPAWN));
}

#[test]
fn per_era_rate_limit_resets_at_the_next_era() {
    let state = world();
    let mut ext = Ext::new(&state);
    dispatch_as(
        &mut ext,
        Origin::Root,
        Call::SetRateLimits {
            per_block: 10,
            per_era: 3,
        },
    )
    .expect("root");
    for block in 1..=3 {
        set_block(&mut ext, block);
        ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    }
    set_block(&mut ext, 4);
    rejected_for(
        &mut ext,
        &alice(),
        Call::Gather { resource: WOOD },
        Error::RateLimitedEra,
    );
    rejected_for(&mut ext, &alice(), move_call(SPAWN), Error::RateLimitedEra);
    on_new_era(&mut ext, 1);
    assert_eq!(CurrentEra::get(&mut ext), Some(1));
    ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    assert_eq!(get(&mut ext, &alice()).item_count(WOOD), 20);
}

#[test]
fn failed_actions_do_not_count_against_the_limit() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    for _ in 0..10 {
        rejected_for(
            &mut ext,
            &alice(),
            Call::Craft { recipe: MAKE_PLANK },
            Error::InsufficientItems,
        );
    }
    for _ in 0..DEFAULT_MAX_ACTIONS_PER_BLOCK {
        ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    }
}

#[test]
fn count_action_is_shared_with_other_pallets() {
    let state = world();
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 1);
    for _ in 0..DEFAULT_MAX_ACTIONS_PER_BLOCK {
        count_action(&mut ext, &alice(), 1).expect("under the limit");
    }
    assert_eq!(
        count_action(&mut ext, &alice(), 1),
        Err(err(Error::RateLimitedBlock))
    );
    rejected_for(
        &mut ext,
        &alice(),
        move_call(SPAWN),
        Error::RateLimitedBlock,
    );
}

// ---------------------------------------------------------------- root calls

#[test]
fn root_calls_need_root() {
    let state = world();
    let mut ext = Ext::new(&state);
    for call in [
        Call::SetRateLimits {
            per_block: 1,
            per_era: 1,
        },
        Call::SetRecipe {
            recipe: recipe(9, "stick", vec![(WOOD, 1)], (9, 1), 1, 1),
        },
        Call::SetResource {
            info: resource(9, "sand", 1, 1),
        },
    ] {
        rejected(
            &mut ext,
            Origin::Signed(alice()),
            call,
            DispatchError::BadOrigin,
        );
    }
}

#[test]
fn root_sets_rate_limits() {
    let state = world();
    let mut ext = Ext::new(&state);
    dispatch_as(
        &mut ext,
        Origin::Root,
        Call::SetRateLimits {
            per_block: 2,
            per_era: 50,
        },
    )
    .expect("root");
    assert!(has_event(
        &ext,
        Event::RateLimitsSet {
            per_block: 2,
            per_era: 50,
        }
    ));
    set_block(&mut ext, 1);
    ok(&mut ext, &alice(), move_call(SPAWN));
    ok(&mut ext, &alice(), move_call(SPAWN));
    rejected_for(
        &mut ext,
        &alice(),
        move_call(SPAWN),
        Error::RateLimitedBlock,
    );
}

#[test]
fn root_adds_resources_and_recipes_players_can_use() {
    let state = world();
    let mut ext = Ext::new(&state);
    // Gems become gatherable in the west area once a deposit exists there.
    let mut west = areas::Areas::get(&mut ext, &WEST).expect("west");
    west.resources.push(deposit(GEM, 10));
    areas::Areas::insert(&mut ext, &WEST, &west);
    dispatch_as(
        &mut ext,
        Origin::Root,
        Call::SetResource {
            info: resource(GEM, "gem", 1, 2),
        },
    )
    .expect("root");
    assert!(has_event(&ext, Event::ResourceSet { resource: GEM }));
    let ring = recipe(7, "ring", vec![(GEM, 2), (PLANK, 1)], (200, 1), 1, 5);
    dispatch_as(&mut ext, Origin::Root, Call::SetRecipe { recipe: ring }).expect("root");
    assert!(has_event(&ext, Event::RecipeSet { recipe: 7 }));
    assert_eq!(RecipeOutputs::get(&mut ext, &200), Some(1));

    set_block(&mut ext, 1);
    ok(&mut ext, &alice(), Call::Gather { resource: GEM });
    ok(&mut ext, &alice(), Call::Gather { resource: WOOD });
    ok(&mut ext, &alice(), Call::Craft { recipe: MAKE_PLANK });
    ok(&mut ext, &alice(), Call::Craft { recipe: 7 });
    assert_eq!(get(&mut ext, &alice()).item_count(200), 1);

    // Replacing a recipe moves its producer count to the new output.
    let ring = recipe(7, "ring", vec![(GEM, 2)], (201, 1), 1, 5);
    dispatch_as(&mut ext, Origin::Root, Call::SetRecipe { recipe: ring }).expect("root");
    assert_eq!(RecipeOutputs::get(&mut ext, &200), None);
    assert_eq!(RecipeOutputs::get(&mut ext, &201), Some(1));
}

#[test]
fn root_rejects_invalid_definitions() {
    let state = world();
    let mut ext = Ext::new(&state);
    for info in [
        resource(9, "sand", 1, 0),
        resource(9, "", 1, 1),
        resource(9, "sand", 1, MAX_STACK + 1),
    ] {
        rejected(
            &mut ext,
            Origin::Root,
            Call::SetResource { info },
            err(Error::InvalidResource),
        );
    }
    for bad in [
        recipe(9, "stick", vec![], (9, 1), 1, 1),
        recipe(9, "stick", vec![(WOOD, 0)], (9, 1), 1, 1),
        recipe(9, "stick", vec![(WOOD, 1)], (9, 0), 1, 1),
        recipe(9, "stick", vec![(WOOD, 1), (WOOD, 1)], (9, 1), 1, 1),
        recipe(
            9,
            &"x".repeat(MAX_ITEM_NAME_LEN + 1),
            vec![(WOOD, 1)],
            (9, 1),
            1,
            1,
        ),
        recipe(
            9,
            "stick",
            (0..=MAX_RECIPE_INPUTS as u32).map(|i| (i, 1)).collect(),
            (9, 1),
            1,
            1,
        ),
    ] {
        rejected(
            &mut ext,
            Origin::Root,
            Call::SetRecipe { recipe: bad },
            err(Error::InvalidRecipe),
        );
    }
    rejected(
        &mut ext,
        Origin::Root,
        Call::SetRecipe {
            recipe: recipe(9, "stick", vec![(555, 1)], (9, 1), 1, 1),
        },
        err(Error::UnknownItem),
    );
    // Planks come only from recipe 1: recipe 1 itself may not start consuming them.
    rejected(
        &mut ext,
        Origin::Root,
        Call::SetRecipe {
            recipe: recipe(MAKE_PLANK, "plank", vec![(PLANK, 1)], (PLANK, 2), 1, 1),
        },
        err(Error::UnknownItem),
    );
}

// ---------------------------------------------------------------- helpers for other pallets

#[test]
fn items_can_be_taken_and_given_by_other_pallets() {
    let state = world();
    let mut ext = Ext::new(&state);
    give_items(&mut ext, &alice(), &[(WOOD, 3), (ORE, 1), (WOOD, 2)]).expect("give");
    assert_eq!(get(&mut ext, &alice()).inventory, vec![(WOOD, 5), (ORE, 1)]);
    assert!(has_items(&get(&mut ext, &alice()), &[(WOOD, 4), (WOOD, 1)]));
    assert!(!has_items(
        &get(&mut ext, &alice()),
        &[(WOOD, 4), (WOOD, 2)]
    ));
    assert_eq!(
        take_items(&mut ext, &alice(), &[(WOOD, 6)]),
        Err(err(Error::InsufficientItems))
    );
    take_items(&mut ext, &alice(), &[(WOOD, 5)]).expect("take");
    assert_eq!(get(&mut ext, &alice()).inventory, vec![(ORE, 1)]);
    assert_eq!(
        give_items(&mut ext, &charlie(), &[(WOOD, 1)]),
        Err(err(Error::NotRegistered))
    );
    check(&mut ext);
}

// ---------------------------------------------------------------- split and merge

/// What the runtime does when the areas pallet reshapes the map.
fn follow(ext: &mut Ext, change: &AreaChange) {
    let bounds_of = |ext: &mut Ext, id: AreaId| areas::area(ext, id).expect("area").bounds;
    match change {
        AreaChange::Split { parent, children } => {
            let targets: Vec<(AreaId, Bounds)> = children
                .iter()
                .map(|child| (*child, bounds_of(ext, *child)))
                .collect();
            migrate_area(ext, *parent, &targets);
        }
        AreaChange::Merged { children, into } => {
            let target = [(*into, bounds_of(ext, *into))];
            for child in children {
                migrate_area(ext, *child, &target);
            }
        }
    }
}

#[test]
fn splitting_and_merging_an_area_moves_its_players() {
    let state = genesis(&[(alice(), "alice"), (bob(), "bob"), (charlie(), "charlie")]);
    let mut ext = Ext::new(&state);
    walk_to(&mut ext, &alice(), units(20, 20));
    walk_to(&mut ext, &charlie(), units(100, 50));
    // The west area splits into quadrants of 50x50 units holding one player each.
    let now = current_block(&mut ext);
    let change = areas::force_split(&mut ext, WEST, now).expect("split");
    let AreaChange::Split { children, .. } = &change else {
        panic!("not a split: {change:?}");
    };
    let [south_west, south_east, north_west, north_east] = children[..] else {
        panic!("not four quadrants: {children:?}");
    };
    follow(&mut ext, &change);
    check(&mut ext);
    assert_eq!(get(&mut ext, &alice()).area, south_west);
    assert_eq!(get(&mut ext, &alice()).position, units(20, 20));
    assert_eq!(get(&mut ext, &bob()).area, north_east);
    assert_eq!(get(&mut ext, &charlie()).area, MIDDLE);
    assert_eq!(residents(&mut ext, WEST), Vec::<AccountId32>::new());
    assert_eq!(AreaPopulation::get(&mut ext, &WEST), None);
    assert_eq!(population(&mut ext, south_west), 1);
    assert_eq!(population(&mut ext, north_east), 1);
    assert!(has_event(
        &ext,
        Event::Migrated {
            who: alice(),
            from: WEST,
            to: south_west,
            position: units(20, 20),
        }
    ));
    // The quadrants are ordinary areas: walk across their shared edge.
    walk_to(&mut ext, &alice(), units(55, 20));
    assert_eq!(get(&mut ext, &alice()).area, south_east);
    // New players spawn in the quadrant holding the old centre, which Bob fills...
    let register_dave = Call::Register {
        name: b"dave".to_vec(),
    };
    rejected_for(&mut ext, &dave(), register_dave.clone(), Error::AreaFull);
    walk_to(&mut ext, &bob(), units(40, 50));
    assert_eq!(get(&mut ext, &bob()).area, north_west);
    ok(&mut ext, &dave(), register_dave);
    assert_eq!(get(&mut ext, &dave()).area, north_east);

    // Merge back: everyone in a quadrant returns to the west area.
    let now = current_block(&mut ext);
    let change = areas::force_merge(&mut ext, WEST, now).expect("merge");
    follow(&mut ext, &change);
    check(&mut ext);
    assert_eq!(
        residents(&mut ext, WEST),
        sorted(vec![alice(), bob(), dave()])
    );
    assert_eq!(population(&mut ext, WEST), 3);
    for quadrant in [south_west, south_east, north_west, north_east] {
        assert_eq!(AreaPopulation::get(&mut ext, &quadrant), None);
    }
    walk_to(&mut ext, &alice(), units(100, 20));
    assert_eq!(get(&mut ext, &alice()).area, MIDDLE);
}

#[test]
fn migration_places_stray_players_at_the_nearest_point() {
    let state = world();
    let mut ext = Ext::new(&state);
    walk_to(&mut ext, &alice(), units(150, 30));
    // A map change the areas pallet would not make: the middle area just closes.
    let mut middle = areas::Areas::get(&mut ext, &MIDDLE).expect("middle");
    middle.active = false;
    areas::Areas::insert(&mut ext, &MIDDLE, &middle);
    // Targets that do not cover the old area: the nearest point of the nearest one.
    migrate_area(
        &mut ext,
        MIDDLE,
        &[(ISLAND, row_bounds(1_000)), (EAST, row_bounds(200))],
    );
    check(&mut ext);
    let moved = get(&mut ext, &alice());
    assert_eq!(moved.area, EAST);
    assert_eq!(moved.position, units(200, 30));
}

// ---------------------------------------------------------------- invariants, encoding

#[test]
fn check_invariants_detects_corruption() {
    let state = world();
    let mut ext = Ext::new(&state);
    check(&mut ext);
    PlayersInArea::remove(&mut ext, &WEST, &alice());
    assert!(check_invariants(&mut ext).is_err());
    PlayersInArea::insert(&mut ext, &WEST, &alice(), &());
    AreaPopulation::insert(&mut ext, &EAST, &1);
    assert!(check_invariants(&mut ext).is_err());
    AreaPopulation::remove(&mut ext, &EAST);
    let mut broken = get(&mut ext, &alice());
    broken.inventory = vec![(WOOD, 1), (WOOD, 2)];
    Players::insert(&mut ext, &alice(), &broken);
    assert!(check_invariants(&mut ext).is_err());
    broken.inventory = vec![];
    broken.position = units(150, 50);
    Players::insert(&mut ext, &alice(), &broken);
    assert!(check_invariants(&mut ext).is_err());
    broken.position = SPAWN;
    Players::insert(&mut ext, &alice(), &broken);
    PlayerCount::put(&mut ext, &3);
    assert!(check_invariants(&mut ext).is_err());
    PlayerCount::put(&mut ext, &2);
    check(&mut ext);
}

#[test]
fn calls_encode_with_fixed_indices_and_errors_with_the_pallet_index() {
    assert_eq!(Call::Register { name: vec![1] }.encode(), vec![0, 4, 1]);
    let mut move_bytes = vec![1u8];
    move_bytes.extend_from_slice(&(-5i64).to_le_bytes());
    move_bytes.extend_from_slice(&7i64.to_le_bytes());
    assert_eq!(Call::MoveTo { x: -5, y: 7 }.encode(), move_bytes);
    assert_eq!(Call::Gather { resource: 2 }.encode(), vec![2, 2, 0, 0, 0]);
    assert_eq!(Call::Craft { recipe: 3 }.encode(), vec![3, 3, 0, 0, 0]);
    let limits = Call::SetRateLimits {
        per_block: 1,
        per_era: 2,
    };
    assert_eq!(limits.encode(), vec![10, 1, 0, 0, 0, 2, 0, 0, 0]);
    assert_eq!(
        Call::decode(&mut &limits.encode()[..]).expect("decode"),
        limits
    );
    let set_recipe = Call::SetRecipe {
        recipe: recipe(1, "a", vec![(1, 1)], (2, 1), 1, 1),
    };
    assert_eq!(set_recipe.encode()[0], 11);
    let set_resource = Call::SetResource {
        info: resource(1, "a", 1, 1),
    };
    assert_eq!(set_resource.encode()[0], 12);
    assert_eq!(
        err(Error::TooFast),
        DispatchError::Module(arceon_support::ModuleError {
            index: 41,
            error: 4,
            name: "TooFast",
        })
    );
    assert_eq!(Error::UnknownItem.name(), "UnknownItem");
    assert_eq!(Error::Exhausted.error_index(), 15);
    assert!(set_recipe.weight().ref_time > 0 && limits.weight().ref_time > 0);
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random walks of three players (steps within and beyond the speed limit, off the
    /// map, into full and non-adjacent areas, several per block) keep every invariant,
    /// and every rejected move leaves storage as it was.
    #[test]
    fn random_moves_keep_the_invariants(
        ops in proptest::collection::vec(
            (0usize..3, -25i64..=25, -25i64..=25, 0u32..3, any::<bool>()),
            1..80,
        )
    ) {
        let accounts = [alice(), bob(), charlie()];
        let state = genesis(&[
            (accounts[0].clone(), "alice"),
            (accounts[1].clone(), "bob"),
            (accounts[2].clone(), "charlie"),
        ]);
        let mut ext = Ext::new(&state);
        for (who, dx, dy, blocks, far) in ops {
            advance(&mut ext, blocks);
            let who = &accounts[who];
            let here = get(&mut ext, who);
            let target = if far {
                Position::new(here.position.x + dx * 37 * UNIT, here.position.y + dy * 3 * UNIT)
            } else {
                Position::new(here.position.x + dx * UNIT, here.position.y + dy * UNIT)
            };
            let before = ext.changes().clone();
            let result = ext.transactional(|ext| move_call(target).dispatch(ext, Origin::Signed(who.clone())));
            match result {
                Ok(()) => {
                    let after = get(&mut ext, who);
                    prop_assert_eq!(after.position, target);
                    let reach = u128::from(MAX_SPEED_PER_BLOCK.unsigned_abs())
                        * u128::from(current_block(&mut ext) - here.last_move);
                    prop_assert!(here.position.distance_squared(&target) <= reach * reach);
                }
                Err(_) => prop_assert!(ext.changes() == &before, "a rejected move changed storage"),
            }
            prop_assert_eq!(check_invariants(&mut ext), Ok(()));
        }
    }

    /// Adding and removing random item lists keeps inventories sorted, bounded and free
    /// of empty stacks, and a failed change leaves the inventory as it was.
    #[test]
    fn inventories_stay_well_formed(
        ops in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec((0u32..40, 0u32..400_000), 0..4)),
            1..60,
        )
    ) {
        let mut holder = Player {
            name: b"p".to_vec(),
            area: WEST,
            position: SPAWN,
            last_move: 0,
            health: MAX_HEALTH,
            energy: MAX_ENERGY,
            skills: vec![],
            inventory: vec![],
            registered_at: 0,
            actions: ActionCounter::default(),
        };
        for (add, items) in ops {
            let before = holder.inventory.clone();
            let result = if add {
                add_items(&mut holder, &items)
            } else {
                remove_items(&mut holder, &items)
            };
            if result.is_err() {
                prop_assert_eq!(&holder.inventory, &before);
            } else if !add {
                for (item, _) in &items {
                    let taken: u32 = items.iter().filter(|(i, _)| i == item).map(|(_, c)| c).sum();
                    let had = before.iter().find(|(i, _)| i == item).map(|(_, c)| *c).unwrap_or(0);
                    prop_assert_eq!(holder.item_count(*item), had - taken);
                }
            }
            prop_assert!(holder.inventory.len() <= MAX_INVENTORY_SLOTS);
            prop_assert!(holder.inventory.windows(2).all(|w| w[0].0 < w[1].0));
            prop_assert!(holder.inventory.iter().all(|(_, c)| *c > 0 && *c <= MAX_STACK));
        }
    }
}
