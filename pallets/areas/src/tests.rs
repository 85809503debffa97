//! A mock runtime for the areas pallet: a `MemoryState` built from the system and areas
//! genesis, calls dispatched in a transactional layer as the executive does, and the
//! pallet's invariants checked after every test.

use super::*;
use arceon_primitives::ARCM;
use arceon_support::{BuildGenesis, MemoryState, PalletError, Phase, StorageChanges};
use proptest::prelude::*;
use std::collections::BTreeMap;

const U: Coord = UNIT;
const WOOD: ResourceId = 1;
const STONE: ResourceId = 2;

// ----- mock runtime ---------------------------------------------------------------------

fn build(config: &GenesisConfig) -> MemoryState {
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    arceon_pallet_system::build_genesis(&mut ext, "arceon", 1);
    config.build(&mut ext).expect("valid genesis");
    ext.into_changes()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn wood(amount: u32, max: u32, regen: u32) -> ResourceNode {
    ResourceNode {
        resource: WOOD,
        amount,
        max,
        regen_per_block: regen,
        last_update: 0,
    }
}

fn stone(amount: u32, max: u32, regen: u32) -> ResourceNode {
    ResourceNode {
        resource: STONE,
        ..wood(amount, max, regen)
    }
}

fn area_config(id: AreaId, bounds: Bounds) -> AreaConfig {
    AreaConfig {
        id,
        name: format!("Cell {id}"),
        bounds,
        neighbours: None,
        capacity: 100,
        resources: vec![wood(400, 400, 4)],
    }
}

/// `cols x rows` square cells of `side` units from the origin, ids row by row.
fn grid(cols: i64, rows: i64, side: i64) -> GenesisConfig {
    let mut areas = Vec::new();
    for row in 0..rows {
        for col in 0..cols {
            let id = (row * cols + col) as AreaId;
            let bounds = Bounds::new(
                col * side * U,
                row * side * U,
                (col + 1) * side * U,
                (row + 1) * side * U,
            );
            areas.push(area_config(id, bounds));
        }
    }
    GenesisConfig {
        areas,
        starting_area: Some(0),
        ..GenesisConfig::default()
    }
}

fn validator(i: u8) -> AccountId32 {
    AccountId32::new([i; 32])
}

fn candidate(i: u8, stake: Balance) -> Candidate {
    Candidate {
        who: validator(i),
        stake,
        trust: PPB,
    }
}

/// Validators `1..=n`, equal stake and full trust.
fn validators(n: u8) -> Vec<Candidate> {
    (1..=n).map(|i| candidate(i, 1_000 * ARCM)).collect()
}

fn set_block(ext: &mut Ext, n: BlockNumber) {
    arceon_pallet_system::Number::put(ext, &n);
}

/// Runs a call in a transactional layer, as the executive does.
fn dispatch(ext: &mut Ext, origin: Origin, call: Call) -> DispatchResult {
    ext.transactional(|ext| call.dispatch(ext, origin))
}

fn root(ext: &mut Ext, call: Call) {
    dispatch(ext, Origin::Root, call.clone()).unwrap_or_else(|e| panic!("{call:?}: {e}"));
}

/// Dispatches `call`, expects `error`, and checks that storage and events are untouched.
fn assert_fails(ext: &mut Ext, origin: Origin, call: Call, error: impl Into<DispatchError>) {
    let before: StorageChanges = ext.changes().clone();
    let events_before = ext.events().len();
    let result = dispatch(ext, origin, call.clone());
    assert_eq!(result, Err(error.into()), "{call:?}");
    assert_eq!(ext.changes(), &before, "failed {call:?} changed storage");
    assert_eq!(
        ext.events().len(),
        events_before,
        "failed {call:?} left events"
    );
}

fn assert_invariants(ext: &mut Ext) {
    if let Err(violation) = check_invariants(ext) {
        panic!("invariant violated: {violation}");
    }
}

/// This pallet's events deposited so far (taken).
fn area_events(ext: &mut Ext) -> Vec<Event> {
    ext.take_events()
        .into_iter()
        .filter_map(|record| {
            let mut input = &record[..];
            Phase::decode(&mut input).ok()?;
            let index = u8::decode(&mut input).ok()?;
            (index == PALLET_INDEX).then(|| Event::decode(&mut input).ok())?
        })
        .collect()
}

fn get(ext: &mut Ext, id: AreaId) -> Area {
    area(ext, id).unwrap_or_else(|| panic!("area {id} exists"))
}

fn versions(ext: &mut Ext) -> BTreeMap<AreaId, u64> {
    Authorities::iter(ext)
        .into_iter()
        .map(|(id, authority)| (id, authority.version))
        .collect()
}

fn committees(ext: &mut Ext) -> BTreeMap<AreaId, AreaAuthority> {
    Authorities::iter(ext).into_iter().collect()
}

/// Rewrites a stored area directly (bypassing the calls).
fn edit(ext: &mut Ext, id: AreaId, f: &dyn Fn(&mut Area)) {
    let mut area = get(ext, id);
    f(&mut area);
    Areas::insert(ext, &id, &area);
}

fn surface(b: &Bounds) -> i128 {
    i128::from(b.width()) * i128::from(b.height())
}

fn split_call(id: AreaId) -> Call {
    Call::ForceSplit { id }
}

// ----- genesis --------------------------------------------------------------------------

#[test]
fn genesis_json_example_builds_the_map() {
    let json = r#"{"areas":[{"id":0,"name":"Meadow","bounds":{"minX":0,"minY":0,"maxX":100000,"maxY":100000},"capacity":1000,"resources":[{"resource":1,"amount":500,"max":500,"regenPerBlock":1}]},
        {"id":3,"name":"Forest","bounds":{"minX":100000,"minY":0,"maxX":200000,"maxY":100000},"neighbours":[0],"capacity":10}],
        "startingArea":0,"committeeSize":4,"splitThreshold":50,"mergeThreshold":5}"#;
    let config: GenesisConfig = serde_json::from_str(json).expect("parses");
    let state = build(&config);
    let mut ext = Ext::new(&state);
    let meadow = get(&mut ext, 0);
    assert_eq!(meadow.name, b"Meadow".to_vec());
    assert_eq!(meadow.neighbours, vec![3]);
    assert_eq!(meadow.resources, vec![wood(500, 500, 1)]);
    assert_eq!(get(&mut ext, 3).neighbours, vec![0]);
    assert_eq!(NextAreaId::get(&mut ext), Some(4));
    assert_eq!(
        spawn_point(&mut ext),
        Ok((0, Position::new(50_000, 50_000)))
    );
    assert_eq!(committee_size(&mut ext), 4);
    assert_eq!(split_threshold(&mut ext), 50);
    assert_eq!(merge_threshold(&mut ext), 5);
    assert_invariants(&mut ext);

    // Defaults: thresholds, committee size and the lowest id as starting area.
    let minimal = r#"{"areas":[{"id":7,"name":"A","bounds":{"minX":0,"minY":0,"maxX":10,"maxY":10},"capacity":1},
        {"id":2,"name":"B","bounds":{"minX":10,"minY":0,"maxX":20,"maxY":10},"capacity":1}]}"#;
    let config: GenesisConfig = serde_json::from_str(minimal).expect("parses");
    let state = build(&config);
    let mut ext = Ext::new(&state);
    assert_eq!(StartingArea::get(&mut ext), Some(2));
    assert_eq!(committee_size(&mut ext), DEFAULT_COMMITTEE_SIZE);
    assert_eq!(split_threshold(&mut ext), DEFAULT_SPLIT_THRESHOLD);
    assert_eq!(merge_threshold(&mut ext), DEFAULT_MERGE_THRESHOLD);
    assert_invariants(&mut ext);

    let unknown = r#"{"areas":[],"startingArea":0,"colour":"red"}"#;
    assert!(serde_json::from_str::<GenesisConfig>(unknown).is_err());
    let round_trip: GenesisConfig =
        serde_json::from_str(&serde_json::to_string(&config).expect("serialises")).expect("parses");
    assert_eq!(round_trip, config);
}

#[test]
fn genesis_rejects_every_bad_map() {
    let empty = MemoryState::new();
    let check = |config: GenesisConfig, error: GenesisError| {
        let mut ext = Ext::new(&empty);
        assert_eq!(config.build(&mut ext), Err(error));
        assert!(ext.changes().is_empty(), "a rejected genesis wrote storage");
    };
    let base = grid(2, 1, 100);
    let with = |f: &dyn Fn(&mut GenesisConfig)| {
        let mut config = base.clone();
        f(&mut config);
        config
    };
    check(with(&|c| c.areas[1].id = 0), GenesisError::DuplicateId(0));
    check(
        with(&|c| c.areas[1].id = AreaId::MAX),
        GenesisError::IdOutOfRange(AreaId::MAX),
    );
    check(
        with(&|c| c.areas[1].bounds = Bounds::new(5, 5, 5, 10)),
        GenesisError::InvalidBounds(1),
    );
    check(
        with(&|c| c.areas[1].bounds = Bounds::new(0, 0, MAX_COORD + 1, 10)),
        GenesisError::InvalidBounds(1),
    );
    check(
        with(&|c| c.areas[1].bounds = Bounds::new(50 * U, 0, 150 * U, 100 * U)),
        GenesisError::Overlap(0, 1),
    );
    check(
        with(&|c| c.areas[0].neighbours = Some(vec![])),
        GenesisError::BadNeighbours {
            area: 0,
            expected: vec![1],
        },
    );
    check(
        with(&|c| c.areas[0].name = String::new()),
        GenesisError::InvalidName(0),
    );
    check(
        with(&|c| c.areas[0].name = "x".repeat(MAX_NAME_LEN + 1)),
        GenesisError::InvalidName(0),
    );
    check(
        with(&|c| c.areas[1].resources = vec![wood(5, 4, 0)]),
        GenesisError::InvalidResources(1),
    );
    check(
        with(&|c| c.starting_area = Some(9)),
        GenesisError::UnknownStartingArea(9),
    );
    check(
        with(&|c| c.committee_size = 6),
        GenesisError::InvalidCommitteeSize(6),
    );
    check(
        with(&|c| c.merge_threshold = c.split_threshold),
        GenesisError::InvalidThresholds {
            split: DEFAULT_SPLIT_THRESHOLD,
            merge: DEFAULT_SPLIT_THRESHOLD,
        },
    );
    // One long strip touched by 17 small cells.
    let mut crowded = GenesisConfig::default();
    crowded
        .areas
        .push(area_config(100, Bounds::new(0, -10 * U, 170 * U, 0)));
    for i in 0..17 {
        crowded.areas.push(area_config(
            i,
            Bounds::new(i as i64 * 10 * U, 0, (i as i64 + 1) * 10 * U, 10 * U),
        ));
    }
    check(crowded, GenesisError::TooManyNeighbours(100));
    let mut too_many = GenesisConfig::default();
    for i in 0..=MAX_AREAS as AreaId {
        too_many.areas.push(area_config(
            i,
            Bounds::new(i64::from(i) * U, 0, i64::from(i + 1) * U, U),
        ));
    }
    check(too_many, GenesisError::TooManyAreas);
}

// ----- create_area ----------------------------------------------------------------------

#[test]
fn create_area_links_neighbours_both_ways_and_gets_a_committee() {
    let state = build(&grid(2, 2, 100));
    let mut ext = Ext::new(&state);
    rebalance(&mut ext, &validators(4), 0);
    area_events(&mut ext);
    set_block(&mut ext, 5);
    // East of cells 1 and 3, spanning both rows.
    let call = Call::CreateArea {
        name: b"Eastern Hills".to_vec(),
        bounds: Bounds::new(200 * U, 0, 300 * U, 200 * U),
        capacity: 50,
        resources: vec![stone(10, 20, 1)],
    };
    root(&mut ext, call);
    let hills = get(&mut ext, 4);
    assert_eq!(hills.neighbours, vec![1, 3]);
    assert!(hills.active && hills.parent.is_none());
    assert_eq!(
        hills.resources,
        vec![ResourceNode {
            last_update: 5,
            ..stone(10, 20, 1)
        }]
    );
    assert_eq!(get(&mut ext, 1).neighbours, vec![0, 3, 4]);
    assert_eq!(get(&mut ext, 3).neighbours, vec![1, 2, 4]);
    assert_eq!(
        get(&mut ext, 0).neighbours,
        vec![1, 2],
        "a far area is untouched"
    );
    assert_eq!(NextAreaId::get(&mut ext), Some(5));
    let committee = authority(&mut ext, 4).expect("new area is staffed at once");
    assert_eq!(committee.members().len(), 3);
    assert_eq!((committee.version, committee.last_update), (1, 5));
    let events = area_events(&mut ext);
    assert_eq!(
        events[0],
        Event::AreaCreated {
            id: 4,
            name: b"Eastern Hills".to_vec()
        }
    );
    assert!(matches!(
        events[1],
        Event::CommitteeChanged {
            area: 4,
            version: 1,
            ..
        }
    ));
    assert_eq!(events.len(), 2, "no other committee moved");
    // A player walking east from cell 1 enters the new area.
    let from = get(&mut ext, 1);
    assert_eq!(
        area_for_move(&mut ext, &from, &Position::new(200 * U + 1, 10 * U)),
        Some(4)
    );
    // Corner contact is no adjacency.
    root(
        &mut ext,
        Call::CreateArea {
            name: b"Corner".to_vec(),
            bounds: Bounds::new(300 * U, 200 * U, 310 * U, 210 * U),
            capacity: 1,
            resources: vec![],
        },
    );
    assert_eq!(get(&mut ext, 5).neighbours, Vec::<AreaId>::new());
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &validators(4)), Ok(()));
}

#[test]
fn create_area_rejects_bad_input_and_changes_nothing() {
    let state = build(&grid(2, 1, 100));
    let mut ext = Ext::new(&state);
    let create = |name: &[u8], bounds: Bounds, resources: Vec<ResourceNode>| Call::CreateArea {
        name: name.to_vec(),
        bounds,
        capacity: 10,
        resources,
    };
    let free = Bounds::new(0, 100 * U, 100 * U, 200 * U);
    assert_fails(
        &mut ext,
        Origin::Signed(validator(1)),
        create(b"Free", free, vec![]),
        DispatchError::BadOrigin,
    );
    assert_fails(
        &mut ext,
        Origin::None,
        create(b"Free", free, vec![]),
        DispatchError::BadOrigin,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"", free, vec![]),
        Error::InvalidName,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(&[b'a'; MAX_NAME_LEN + 1], free, vec![]),
        Error::InvalidName,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(&[0xff, 0xfe], free, vec![]),
        Error::InvalidName,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"Inverted", Bounds::new(10, 10, 0, 20), vec![]),
        Error::InvalidBounds,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"Empty", Bounds::new(10, 10, 10, 20), vec![]),
        Error::InvalidBounds,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"Far", Bounds::new(Coord::MIN, 0, 0, 10), vec![]),
        Error::InvalidBounds,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(
            b"Overlap",
            Bounds::new(150 * U, 50 * U, 250 * U, 150 * U),
            vec![],
        ),
        Error::OverlappingArea,
    );
    let seventeen: Vec<ResourceNode> = (0..=MAX_RESOURCES as u32)
        .map(|r| ResourceNode {
            resource: r,
            ..wood(1, 1, 0)
        })
        .collect();
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"Rich", free, seventeen),
        Error::TooMany,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"Empty deposit", free, vec![wood(0, 0, 1)]),
        Error::InvalidResource,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"Over-full", free, vec![wood(5, 4, 1)]),
        Error::InvalidResource,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        create(b"Twice", free, vec![wood(1, 4, 1), wood(2, 4, 1)]),
        Error::InvalidResource,
    );
    assert_invariants(&mut ext);
}

#[test]
fn create_area_refuses_a_seventeenth_neighbour() {
    // Sixteen 10-unit cells in a row; a strip under all of them plus one more would touch
    // seventeen.
    let mut config = GenesisConfig::default();
    for i in 0..17 {
        config.areas.push(area_config(
            i,
            Bounds::new(i as i64 * 10 * U, 0, (i as i64 + 1) * 10 * U, 10 * U),
        ));
    }
    let state = build(&config);
    let mut ext = Ext::new(&state);
    let strip = |max_x: Coord| Call::CreateArea {
        name: b"Strip".to_vec(),
        bounds: Bounds::new(0, -10 * U, max_x, 0),
        capacity: 1,
        resources: vec![],
    };
    assert_fails(&mut ext, Origin::Root, strip(170 * U), Error::TooMany);
    root(&mut ext, strip(160 * U));
    assert_eq!(get(&mut ext, 17).neighbours.len(), MAX_NEIGHBOURS);
    assert_invariants(&mut ext);
}

#[test]
fn the_map_holds_at_most_max_areas() {
    // A row of 2-unit cells; the first is big enough to split.
    let mut config = GenesisConfig::default();
    config
        .areas
        .push(area_config(0, Bounds::new(-40 * U, 0, 0, 40 * U)));
    for i in 1..MAX_AREAS as AreaId - 1 {
        config.areas.push(area_config(
            i,
            Bounds::new(i64::from(i) * 2 * U, 0, i64::from(i + 1) * 2 * U, 2 * U),
        ));
    }
    let state = build(&config);
    let mut ext = Ext::new(&state);
    let create = |x: Coord| Call::CreateArea {
        name: b"Last".to_vec(),
        bounds: Bounds::new(x, -10 * U, x + U, -9 * U),
        capacity: 1,
        resources: vec![],
    };
    root(&mut ext, create(0));
    assert_eq!(Areas::count(&mut ext), MAX_AREAS);
    assert_fails(&mut ext, Origin::Root, create(10 * U), Error::TooManyAreas);
    assert_fails(&mut ext, Origin::Root, split_call(0), Error::TooManyAreas);
    assert_invariants(&mut ext);
}

// ----- update_area, set_starting_area, thresholds, committee size -------------------------

#[test]
fn update_area_changes_what_players_see() {
    let state = build(&grid(1, 1, 100));
    let mut ext = Ext::new(&state);
    set_block(&mut ext, 9);
    root(
        &mut ext,
        Call::UpdateArea {
            id: 0,
            name: Some(b"Old Forest".to_vec()),
            capacity: Some(7),
            resources: Some(vec![stone(3, 30, 2)]),
        },
    );
    let forest = get(&mut ext, 0);
    assert_eq!(forest.name, b"Old Forest".to_vec());
    assert_eq!(forest.capacity, 7);
    assert_eq!(resource_amount(&mut ext, 0, STONE, 9), 3);
    assert_eq!(
        resource_amount(&mut ext, 0, STONE, 12),
        9,
        "regenerates from block 9"
    );
    assert_eq!(
        resource_amount(&mut ext, 0, WOOD, 12),
        0,
        "wood was replaced"
    );
    // Fields left out stay as they are.
    root(
        &mut ext,
        Call::UpdateArea {
            id: 0,
            name: None,
            capacity: Some(8),
            resources: None,
        },
    );
    assert_eq!(get(&mut ext, 0).name, b"Old Forest".to_vec());
    assert_eq!(get(&mut ext, 0).resources.len(), 1);
    assert_eq!(
        area_events(&mut ext),
        vec![Event::AreaUpdated { id: 0 }, Event::AreaUpdated { id: 0 }]
    );
    assert_invariants(&mut ext);
}

#[test]
fn update_area_errors_change_nothing() {
    let state = build(&grid(2, 1, 100));
    let mut ext = Ext::new(&state);
    root(&mut ext, split_call(1));
    let update = |id, name: Option<&[u8]>, resources: Option<Vec<ResourceNode>>| Call::UpdateArea {
        id,
        name: name.map(<[u8]>::to_vec),
        capacity: Some(1),
        resources,
    };
    assert_fails(
        &mut ext,
        Origin::Signed(validator(1)),
        update(0, None, None),
        DispatchError::BadOrigin,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        update(99, None, None),
        Error::UnknownArea,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        update(1, None, None),
        Error::AreaInactive,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        update(0, Some(b""), None),
        Error::InvalidName,
    );
    let many = (0..20)
        .map(|r| ResourceNode {
            resource: r,
            ..wood(1, 1, 1)
        })
        .collect();
    assert_fails(
        &mut ext,
        Origin::Root,
        update(0, None, Some(many)),
        Error::TooMany,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        update(0, None, Some(vec![wood(2, 1, 1)])),
        Error::InvalidResource,
    );
    assert_invariants(&mut ext);
}

#[test]
fn set_starting_area_moves_the_spawn() {
    let state = build(&grid(3, 1, 100));
    let mut ext = Ext::new(&state);
    root(&mut ext, Call::SetStartingArea { id: 2 });
    assert_eq!(
        spawn_point(&mut ext),
        Ok((2, Position::new(250 * U, 50 * U)))
    );
    assert_eq!(
        area_events(&mut ext),
        vec![Event::StartingAreaSet { id: 2 }]
    );
    root(&mut ext, split_call(1));
    assert_fails(
        &mut ext,
        Origin::Signed(validator(1)),
        Call::SetStartingArea { id: 0 },
        DispatchError::BadOrigin,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        Call::SetStartingArea { id: 42 },
        Error::UnknownArea,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        Call::SetStartingArea { id: 1 },
        Error::AreaInactive,
    );
    assert_invariants(&mut ext);
}

#[test]
fn spawn_follows_splits_of_the_starting_area() {
    let state = build(&grid(1, 1, 100));
    let mut ext = Ext::new(&state);
    root(&mut ext, split_call(0));
    // The centre of the old area is the south-west corner of the north-east quadrant.
    assert_eq!(
        spawn_point(&mut ext),
        Ok((4, Position::new(50 * U, 50 * U)))
    );
    root(&mut ext, split_call(4));
    let (id, position) = spawn_point(&mut ext).expect("spawns");
    assert_eq!((id, position), (5, Position::new(50 * U, 50 * U)));
    assert!(get(&mut ext, id).bounds.contains(&position));
}

#[test]
fn set_thresholds_validates_and_applies() {
    let state = build(&grid(1, 1, 100));
    let mut ext = Ext::new(&state);
    root(
        &mut ext,
        Call::SetThresholds {
            split: 500,
            merge: 0,
        },
    );
    assert_eq!(
        (split_threshold(&mut ext), merge_threshold(&mut ext)),
        (500, 0)
    );
    assert_eq!(
        area_events(&mut ext),
        vec![Event::ThresholdsSet {
            split: 500,
            merge: 0
        }]
    );
    assert_fails(
        &mut ext,
        Origin::Signed(validator(1)),
        Call::SetThresholds { split: 5, merge: 1 },
        DispatchError::BadOrigin,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        Call::SetThresholds { split: 0, merge: 0 },
        Error::InvalidThresholds,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        Call::SetThresholds {
            split: 10,
            merge: 10,
        },
        Error::InvalidThresholds,
    );
    assert_invariants(&mut ext);
}

#[test]
fn committee_size_grows_and_shrinks_committees_at_the_next_rebalance() {
    let state = build(&grid(3, 3, 100));
    let mut ext = Ext::new(&state);
    let pool = validators(8);
    rebalance(&mut ext, &pool, 1);
    let before = committees(&mut ext);
    assert!(before.values().all(|c| c.members().len() == 3));
    assert_fails(
        &mut ext,
        Origin::Signed(validator(1)),
        Call::SetCommitteeSize { size: 4 },
        DispatchError::BadOrigin,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        Call::SetCommitteeSize { size: 2 },
        Error::InvalidCommitteeSize,
    );
    assert_fails(
        &mut ext,
        Origin::Root,
        Call::SetCommitteeSize { size: 6 },
        Error::InvalidCommitteeSize,
    );
    area_events(&mut ext);
    root(&mut ext, Call::SetCommitteeSize { size: 5 });
    assert_eq!(
        area_events(&mut ext),
        vec![Event::CommitteeSizeSet { size: 5 }]
    );
    assert_eq!(
        committees(&mut ext),
        before,
        "takes effect at the next rebalance"
    );
    rebalance(&mut ext, &pool, 2);
    let grown = committees(&mut ext);
    for (id, committee) in &grown {
        let old = &before[id];
        assert_eq!(committee.members().len(), 5);
        assert_eq!(committee.primary, old.primary, "growing keeps the primary");
        assert_eq!(
            &committee.replicas[..2],
            &old.replicas[..],
            "and the replicas' order"
        );
        assert_eq!(committee.version, old.version + 1);
    }
    root(&mut ext, Call::SetCommitteeSize { size: 3 });
    rebalance(&mut ext, &pool, 3);
    for (id, committee) in committees(&mut ext) {
        assert_eq!(committee.members().len(), 3);
        assert_eq!(
            committee.primary, grown[&id].primary,
            "shrinking keeps the primary"
        );
        assert!(committee
            .replicas
            .iter()
            .all(|r| grown[&id].replicas.contains(r)));
    }
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &pool), Ok(()));
}

// ----- split and merge ------------------------------------------------------------------

/// Asserts that `children` tile `parent` exactly.
fn assert_tiles(parent: &Bounds, children: &[Bounds]) {
    let mut covered = 0;
    for (i, child) in children.iter().enumerate() {
        assert!(
            parent.contains_bounds(child),
            "{child:?} outside {parent:?}"
        );
        for other in &children[i + 1..] {
            assert!(!child.overlaps(other), "{child:?} overlaps {other:?}");
        }
        covered += surface(child);
    }
    assert_eq!(covered, surface(parent));
}

#[test]
fn force_split_makes_four_quadrants_with_the_parents_stock() {
    // 3x3 grid of 100-unit cells; split the centre (4).
    let state = build(&grid(3, 3, 100));
    let mut ext = Ext::new(&state);
    rebalance(&mut ext, &validators(5), 0);
    let parent_version = authority(&mut ext, 4).expect("staffed").version;
    edit(&mut ext, 4, &|area| {
        area.capacity = 10;
        area.resources = vec![wood(100, 401, 7), stone(2, 2, 0)];
    });
    area_events(&mut ext);
    set_block(&mut ext, 20);
    root(&mut ext, split_call(4));
    let parent = get(&mut ext, 4);
    assert!(!parent.active);
    assert_eq!(parent.children, vec![9, 10, 11, 12]);
    assert!(parent.neighbours.is_empty());
    let kids: Vec<Area> = (9..13).map(|id| get(&mut ext, id)).collect();
    assert_tiles(
        &parent.bounds,
        &kids.iter().map(|k| k.bounds).collect::<Vec<_>>(),
    );
    let names: Vec<&[u8]> = kids.iter().map(|k| &k.name[..]).collect();
    assert_eq!(
        names,
        [&b"Cell 4 SW"[..], b"Cell 4 SE", b"Cell 4 NW", b"Cell 4 NE"]
    );
    assert_eq!(
        kids[0].bounds,
        Bounds::new(100 * U, 100 * U, 150 * U, 150 * U)
    );
    assert_eq!(
        kids[3].bounds,
        Bounds::new(150 * U, 150 * U, 200 * U, 200 * U)
    );
    assert!(kids.iter().all(|k| k.parent == Some(4) && k.active));
    assert_eq!(
        kids.iter().map(|k| k.capacity).collect::<Vec<_>>(),
        vec![3, 3, 2, 2]
    );
    // Stock at block 20 was min(100 + 7 * 20, 401) = 240: 60 each. Caps 101/100/100/100.
    let total = |resource: ResourceId, f: &dyn Fn(&ResourceNode) -> u32| -> u32 {
        kids.iter()
            .flat_map(|k| k.resources.iter())
            .filter(|n| n.resource == resource)
            .map(f)
            .sum()
    };
    assert_eq!(total(WOOD, &|n| n.amount), 240);
    assert_eq!(total(WOOD, &|n| n.max), 401);
    assert_eq!(total(WOOD, &|n| n.regen_per_block), 7);
    assert_eq!(
        kids[0].resources[0],
        ResourceNode {
            last_update: 20,
            ..wood(60, 101, 2)
        }
    );
    assert_eq!(total(STONE, &|n| n.amount), 2);
    assert_eq!(
        kids[3].resources.len(),
        1,
        "no empty stone deposit in the NE quadrant"
    );
    // Neighbours: SW touches W (3), S (1) and its siblings SE and NW.
    assert_eq!(kids[0].neighbours, vec![1, 3, 10, 11]);
    assert_eq!(kids[3].neighbours, vec![5, 7, 10, 11]);
    assert_eq!(get(&mut ext, 1).neighbours, vec![0, 2, 9, 10]);
    assert_eq!(get(&mut ext, 5).neighbours, vec![2, 8, 10, 12]);
    assert_eq!(
        get(&mut ext, 0).neighbours,
        vec![1, 3],
        "corner cells unchanged"
    );
    // Committees: the quadrants are staffed, the parent retired with its version kept.
    assert_eq!(authority(&mut ext, 4), None);
    assert_eq!(RetiredVersions::get(&mut ext, &4), Some(parent_version));
    for id in 9..13 {
        assert_eq!(committee_of(&mut ext, id).len(), 3);
    }
    let change = AreaChange::Split {
        parent: 4,
        children: vec![9, 10, 11, 12],
    };
    let events = area_events(&mut ext);
    assert_eq!(
        events[0],
        Event::AreaSplit {
            parent: 4,
            children: vec![9, 10, 11, 12]
        }
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::CommitteeChanged { .. }))
            .count(),
        4
    );
    assert_eq!(take_pending_changes(&mut ext), vec![change]);
    assert_eq!(take_pending_changes(&mut ext), vec![]);
    // A walker from the west cell steps into the right quadrant.
    let west = get(&mut ext, 3);
    assert_eq!(
        area_for_move(&mut ext, &west, &Position::new(100 * U, 170 * U)),
        Some(11)
    );
    assert_eq!(
        locate(
            &mut ext,
            &[4, 9, 10, 11, 12],
            &Position::new(160 * U, 120 * U)
        ),
        Some(10)
    );
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &validators(5)), Ok(()));
}

#[test]
fn force_split_errors_change_nothing() {
    let mut config = grid(2, 1, 100);
    config
        .areas
        .push(area_config(2, Bounds::new(0, -15 * U, 100 * U, 0)));
    let state = build(&config);
    let mut ext = Ext::new(&state);
    root(&mut ext, split_call(1));
    assert_fails(
        &mut ext,
        Origin::Signed(validator(1)),
        split_call(0),
        DispatchError::BadOrigin,
    );
    assert_fails(&mut ext, Origin::Root, split_call(77), Error::UnknownArea);
    assert_fails(&mut ext, Origin::Root, split_call(1), Error::AreaInactive);
    // 15 units high: quadrants would be thinner than MIN_SIDE.
    assert_fails(&mut ext, Origin::Root, split_call(2), Error::AreaTooSmall);
    assert_invariants(&mut ext);
}

#[test]
fn force_split_refuses_to_give_a_neighbour_a_seventeenth_neighbour() {
    // A strip A (id 100) with 14 thin cells and one splittable cell B (id 14) on top and
    // one cell C (id 15) on its west end: 16 neighbours. Splitting B would add one more.
    let mut config = GenesisConfig::default();
    config
        .areas
        .push(area_config(100, Bounds::new(0, -20 * U, 160 * U, 0)));
    for i in 0..14 {
        config.areas.push(area_config(
            i,
            Bounds::new(i as i64 * 10 * U, 0, (i as i64 + 1) * 10 * U, 10 * U),
        ));
    }
    config
        .areas
        .push(area_config(14, Bounds::new(140 * U, 0, 160 * U, 20 * U)));
    config
        .areas
        .push(area_config(15, Bounds::new(-10 * U, -20 * U, 0, 0)));
    let state = build(&config);
    let mut ext = Ext::new(&state);
    assert_eq!(get(&mut ext, 100).neighbours.len(), MAX_NEIGHBOURS);
    assert_fails(&mut ext, Origin::Root, split_call(14), Error::TooMany);
    // The automatic split skips it too, and the era still completes.
    root(&mut ext, Call::SetThresholds { split: 1, merge: 0 });
    Load::insert(&mut ext, &14, &5);
    assert_eq!(new_era(&mut ext, 1, &validators(3), 10), vec![]);
    assert!(get(&mut ext, 14).active);
    assert_eq!(load(&mut ext, 14), 0);
    assert_invariants(&mut ext);
}

#[test]
fn force_merge_restores_the_parent() {
    let state = build(&grid(3, 3, 100));
    let mut ext = Ext::new(&state);
    rebalance(&mut ext, &validators(5), 0);
    let original = get(&mut ext, 4);
    let neighbours_before: Vec<Vec<AreaId>> =
        (0..9).map(|id| get(&mut ext, id).neighbours).collect();
    let version_before = authority(&mut ext, 4).expect("staffed").version;
    root(&mut ext, split_call(4));
    root(&mut ext, Call::SetStartingArea { id: 10 });
    note_action(&mut ext, 9);
    note_action(&mut ext, 12);
    note_action(&mut ext, 12);
    // Someone gathers 10 wood in the SW quadrant.
    take_resource(&mut ext, 9, WOOD, 10, 0).expect("stock");
    area_events(&mut ext);
    take_pending_changes(&mut ext);
    root(&mut ext, Call::ForceMerge { parent: 4 });
    let merged = get(&mut ext, 4);
    assert!(merged.active && merged.children.is_empty());
    assert_eq!(merged.bounds, original.bounds);
    assert_eq!(merged.name, original.name);
    assert_eq!(merged.capacity, original.capacity);
    assert_eq!(merged.resources, vec![wood(390, 400, 4)]);
    let neighbours_after: Vec<Vec<AreaId>> =
        (0..9).map(|id| get(&mut ext, id).neighbours).collect();
    assert_eq!(neighbours_after, neighbours_before);
    for child in 9..13 {
        assert_eq!(area(&mut ext, child), None);
        assert_eq!(authority(&mut ext, child), None);
        assert_eq!(load(&mut ext, child), 0);
    }
    assert_eq!(
        load(&mut ext, 4),
        3,
        "the era's load carries over to the parent"
    );
    assert_eq!(
        StartingArea::get(&mut ext),
        Some(4),
        "spawn moves to the merged area"
    );
    let committee = authority(&mut ext, 4).expect("merged area is staffed");
    assert!(
        committee.version > version_before,
        "versions are never reused"
    );
    assert_eq!(RetiredVersions::get(&mut ext, &4), None);
    let events = area_events(&mut ext);
    assert_eq!(
        events[0],
        Event::AreaMerged {
            into: 4,
            children: vec![9, 10, 11, 12]
        }
    );
    assert_eq!(
        take_pending_changes(&mut ext),
        vec![AreaChange::Merged {
            children: vec![9, 10, 11, 12],
            into: 4
        }]
    );
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &validators(5)), Ok(()));
}

#[test]
fn force_merge_errors_change_nothing() {
    let state = build(&grid(2, 1, 100));
    let mut ext = Ext::new(&state);
    root(&mut ext, split_call(0));
    root(&mut ext, split_call(2));
    root(&mut ext, split_call(1));
    let merge = |parent| Call::ForceMerge { parent };
    assert_fails(
        &mut ext,
        Origin::Signed(validator(1)),
        merge(1),
        DispatchError::BadOrigin,
    );
    assert_fails(&mut ext, Origin::Root, merge(99), Error::UnknownArea);
    assert_fails(&mut ext, Origin::Root, merge(3), Error::NotSplit);
    // Area 0's first quadrant (2) is split itself.
    assert_fails(&mut ext, Origin::Root, merge(0), Error::NotMergeable);
    // Give the quadrants of area 1 seventeen different resources between them.
    for (i, child) in get(&mut ext, 1).children.into_iter().enumerate() {
        let resources = (0..5)
            .map(|r| ResourceNode {
                resource: i as u32 * 5 + r,
                ..wood(1, 1, 0)
            })
            .collect();
        root(
            &mut ext,
            Call::UpdateArea {
                id: child,
                name: None,
                capacity: None,
                resources: Some(resources),
            },
        );
    }
    assert_fails(&mut ext, Origin::Root, merge(1), Error::TooMany);
    root(&mut ext, merge(2));
    root(&mut ext, merge(0));
    assert_invariants(&mut ext);
}

// ----- eras: load-driven splits and merges -----------------------------------------------

#[test]
fn new_era_splits_busy_areas_and_merges_quiet_ones_back() {
    let state = build(&grid(3, 1, 100));
    let mut ext = Ext::new(&state);
    let pool = validators(4);
    rebalance(&mut ext, &pool, 0);
    root(
        &mut ext,
        Call::SetThresholds {
            split: 10,
            merge: 5,
        },
    );
    let original = all_areas(&mut ext);
    for _ in 0..10 {
        note_action(&mut ext, 1);
    }
    for _ in 0..9 {
        note_action(&mut ext, 2);
    }
    area_events(&mut ext);
    let changes = new_era(&mut ext, 1, &pool, 100);
    assert_eq!(
        changes,
        vec![AreaChange::Split {
            parent: 1,
            children: vec![3, 4, 5, 6]
        }]
    );
    assert_eq!(current_era(&mut ext), 1);
    assert!(get(&mut ext, 2).active, "load 9 is below the threshold");
    assert_eq!(
        (load(&mut ext, 1), load(&mut ext, 2)),
        (0, 0),
        "load resets"
    );
    let parent = get(&mut ext, 1);
    let kids: Vec<Bounds> = parent
        .children
        .iter()
        .map(|id| get(&mut ext, *id).bounds)
        .collect();
    assert_tiles(&parent.bounds, &kids);
    assert_eq!(get(&mut ext, 0).neighbours, vec![3, 5]);
    assert_eq!(get(&mut ext, 2).neighbours, vec![4, 6]);
    assert_eq!(get(&mut ext, 3).neighbours, vec![0, 4, 5]);
    assert_eq!(authority(&mut ext, 1), None);
    assert!(area_events(&mut ext).contains(&Event::AreaSplit {
        parent: 1,
        children: vec![3, 4, 5, 6]
    }));
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &pool), Ok(()));

    // A busy era in the quadrants keeps them; a quiet one merges them back.
    for child in 3..7 {
        note_action(&mut ext, child);
        note_action(&mut ext, child);
    }
    assert_eq!(new_era(&mut ext, 2, &pool, 200), vec![]);
    note_action(&mut ext, 3);
    note_action(&mut ext, 6);
    let changes = new_era(&mut ext, 3, &pool, 300);
    assert_eq!(
        changes,
        vec![AreaChange::Merged {
            children: vec![3, 4, 5, 6],
            into: 1
        }]
    );
    let restored = all_areas(&mut ext);
    assert_eq!(restored.len(), original.len());
    for (before, after) in original.iter().zip(&restored) {
        assert_eq!(after.bounds, before.bounds);
        assert_eq!(after.neighbours, before.neighbours);
        assert_eq!(after.capacity, before.capacity);
        assert_eq!(after.name, before.name);
        assert!(after.active);
    }
    assert_eq!(
        restored[1].resources,
        vec![ResourceNode {
            last_update: 300,
            ..wood(400, 400, 4)
        }]
    );
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &pool), Ok(()));
}

#[test]
fn an_area_is_not_split_and_merged_in_the_same_era() {
    let state = build(&grid(1, 1, 100));
    let mut ext = Ext::new(&state);
    root(&mut ext, Call::SetThresholds { split: 4, merge: 3 });
    Load::insert(&mut ext, &0, &4);
    // Split in era 1: the new quadrants have no load, yet they are not merged back.
    let changes = new_era(&mut ext, 1, &validators(3), 10);
    assert_eq!(changes.len(), 1);
    assert!(matches!(changes[0], AreaChange::Split { parent: 0, .. }));
    // Era 2: the SW quadrant is busy and splits; its parent cannot merge (not all
    // quadrants are leaves any more) even though the total is low elsewhere.
    Load::insert(&mut ext, &1, &4);
    let changes = new_era(&mut ext, 2, &validators(3), 20);
    assert_eq!(
        changes,
        vec![AreaChange::Split {
            parent: 1,
            children: vec![5, 6, 7, 8]
        }]
    );
    // Era 3: everything quiet: the deepest level merges first; area 0 only next era.
    let changes = new_era(&mut ext, 3, &validators(3), 30);
    assert_eq!(
        changes,
        vec![AreaChange::Merged {
            children: vec![5, 6, 7, 8],
            into: 1
        }]
    );
    let changes = new_era(&mut ext, 4, &validators(3), 40);
    assert_eq!(
        changes,
        vec![AreaChange::Merged {
            children: vec![1, 2, 3, 4],
            into: 0
        }]
    );
    assert_eq!(Areas::count(&mut ext), 1);
    assert_invariants(&mut ext);
}

#[test]
fn small_areas_never_split() {
    let state = build(&grid(2, 1, 19));
    let mut ext = Ext::new(&state);
    root(&mut ext, Call::SetThresholds { split: 1, merge: 0 });
    Load::insert(&mut ext, &0, &1_000_000);
    assert_eq!(new_era(&mut ext, 1, &validators(3), 1), vec![]);
    assert!(get(&mut ext, 0).active);
    assert_invariants(&mut ext);
}

#[test]
fn one_era_splits_at_most_max_reshapes_busiest_first() {
    let count = MAX_RESHAPES_PER_ERA as i64 + 6;
    let state = build(&grid(count, 1, 20));
    let mut ext = Ext::new(&state);
    root(
        &mut ext,
        Call::SetThresholds {
            split: 100,
            merge: 0,
        },
    );
    for id in 0..count as AreaId {
        Load::insert(&mut ext, &id, &(100 + id));
    }
    let changes = new_era(&mut ext, 1, &validators(3), 1);
    assert_eq!(changes.len(), MAX_RESHAPES_PER_ERA);
    let split: BTreeSet<AreaId> = changes
        .iter()
        .filter_map(|c| match c {
            AreaChange::Split { parent, .. } => Some(*parent),
            AreaChange::Merged { .. } => None,
        })
        .collect();
    assert_eq!(
        split,
        (6..count as AreaId).collect(),
        "the six quietest wait"
    );
    assert_eq!(
        changes[0],
        AreaChange::Split {
            parent: count as AreaId - 1,
            children: vec![
                count as AreaId,
                count as AreaId + 1,
                count as AreaId + 2,
                count as AreaId + 3
            ]
        },
        "busiest first"
    );
    assert_invariants(&mut ext);
}

// ----- committees: rendezvous hashing ------------------------------------------------------

#[test]
fn rebalance_staffs_every_area_with_distinct_candidates() {
    let state = build(&grid(4, 4, 100));
    let mut ext = Ext::new(&state);
    let pool = validators(6);
    rebalance(&mut ext, &pool, 7);
    for (id, committee) in committees(&mut ext) {
        assert_eq!(committee.area_id, id);
        assert_eq!((committee.version, committee.last_update), (1, 7));
        assert_eq!(committee.members().len(), 3);
    }
    assert_eq!(Authorities::count(&mut ext), 16);
    let events = area_events(&mut ext);
    assert_eq!(events.len(), 16);
    assert!(events
        .iter()
        .all(|e| matches!(e, Event::CommitteeChanged { version: 1, .. })));
    assert_eq!(candidates(&mut ext).len(), 6);
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &pool), Ok(()));
    // Rebalancing again with the same validators changes nothing.
    rebalance(&mut ext, &pool, 8);
    assert!(area_events(&mut ext).is_empty());
    assert!(committees(&mut ext).values().all(|c| c.last_update == 7));
}

#[test]
fn committees_move_only_where_a_member_left() {
    let state = build(&grid(6, 5, 100));
    let mut ext = Ext::new(&state);
    let mut pool = validators(8);
    let mut era = 1;
    new_era(&mut ext, era, &pool, 0);
    let script: Vec<(&str, u8)> = vec![
        ("join", 9),
        ("leave", 3),
        ("join", 10),
        ("leave", 9),
        ("leave", 1),
        ("join", 3),
        ("leave", 5),
    ];
    let mut gone: Vec<AccountId32> = Vec::new();
    for (what, who) in script {
        era += 1;
        let before = committees(&mut ext);
        let versions_before = versions(&mut ext);
        match what {
            "join" => {
                pool.push(candidate(who, 1_000 * ARCM));
                gone.retain(|g| *g != validator(who));
            }
            _ => {
                pool.retain(|c| c.who != validator(who));
                gone.push(validator(who));
            }
        }
        area_events(&mut ext);
        new_era(&mut ext, era, &pool, era * 10);
        let after = committees(&mut ext);
        let mut changed = 0;
        for (id, committee) in &after {
            let old = &before[id];
            let lost_member = old.members().iter().any(|m| gone.contains(m));
            if lost_member {
                changed += 1;
                assert_eq!(
                    committee.version,
                    old.version + 1,
                    "area {id} lost a member"
                );
                assert_eq!(committee.last_update, era * 10);
                // Every member that stayed eligible is still there.
                for member in old.members().iter().filter(|m| !gone.contains(m)) {
                    assert!(committee.members().contains(member));
                }
            } else {
                assert_eq!(
                    committee, old,
                    "area {id} lost no member but changed in era {era}"
                );
            }
            for g in &gone {
                assert_ne!(
                    &committee.primary, g,
                    "a removed validator is never primary"
                );
                assert!(!committee.members().contains(g));
            }
        }
        let changed_events = area_events(&mut ext)
            .iter()
            .filter(|e| matches!(e, Event::CommitteeChanged { .. }))
            .count();
        assert_eq!(changed_events, changed);
        if what == "join" {
            assert_eq!(changed, 0, "a joining validator moves no committee");
            assert_eq!(versions(&mut ext), versions_before);
        }
        assert_invariants(&mut ext);
        assert_eq!(check_committees(&mut ext, &pool), Ok(()));
    }
}

#[test]
fn the_best_remaining_member_takes_over_a_departed_primary() {
    let state = build(&grid(8, 8, 100));
    let mut ext = Ext::new(&state);
    let pool = validators(7);
    rebalance(&mut ext, &pool, 0);
    let before = committees(&mut ext);
    let leaving = before[&0].primary.clone();
    let rest: Vec<Candidate> = pool.iter().filter(|c| c.who != leaving).cloned().collect();
    rebalance(&mut ext, &rest, 1);
    for (id, committee) in committees(&mut ext) {
        let old = &before[&id];
        if old.primary == leaving {
            // The new primary was a replica: it already holds the lane's state.
            assert!(old.replicas.contains(&committee.primary));
            // Equal stakes below 2^64 and full trust: every weight is the same.
            let weight = 1_000 * ARCM * u128::from(PPB / 10 + PPB);
            let score = |who: &AccountId32| rendezvous_score(id, who, weight);
            let best = old
                .replicas
                .iter()
                .max_by_key(|r| score(r))
                .expect("replicas");
            assert_eq!(&committee.primary, best);
            assert_eq!(committee.members().len(), 3);
        }
    }
}

#[test]
fn ten_times_the_stake_wins_far_more_areas() {
    let state = build(&grid(20, 10, 100));
    let mut ext = Ext::new(&state);
    let mut pool = validators(10);
    pool[0].stake *= 10;
    rebalance(&mut ext, &pool, 0);
    let mut primary: BTreeMap<AccountId32, u32> = BTreeMap::new();
    let mut member: BTreeMap<AccountId32, u32> = BTreeMap::new();
    for committee in committees(&mut ext).values() {
        *primary.entry(committee.primary.clone()).or_default() += 1;
        for m in committee.members() {
            *member.entry(m).or_default() += 1;
        }
    }
    let heavy = validator(1);
    let light_max_primary = (2..=10)
        .map(|i| primary.get(&validator(i)).copied().unwrap_or(0))
        .max();
    let light_avg_member = (2..=10)
        .map(|i| member.get(&validator(i)).copied().unwrap_or(0))
        .sum::<u32>()
        / 9;
    // Expected: primary of 10/19 of the 200 areas (~105) against ~11 for each other.
    assert!(
        primary[&heavy] >= 80,
        "heavy primary in {} of 200",
        primary[&heavy]
    );
    assert!(primary[&heavy] > 4 * light_max_primary.unwrap_or(0));
    assert!(member[&heavy] > 2 * light_avg_member);
    assert!(
        member[&heavy] >= 180,
        "heavy serves {} of 200 areas",
        member[&heavy]
    );

    // Trust weighs too: full trust against none (a tenth of the weight).
    let state = build(&grid(20, 10, 100));
    let mut ext = Ext::new(&state);
    let mut pool = validators(10);
    for c in pool.iter_mut().skip(1) {
        c.trust = 0;
    }
    rebalance(&mut ext, &pool, 0);
    let trusted = committees(&mut ext)
        .values()
        .filter(|c| c.primary == validator(1))
        .count();
    assert!(
        trusted >= 80,
        "trusted validator primary in {trusted} of 200"
    );
}

#[test]
fn too_few_validators_leave_committees_understaffed() {
    let state = build(&grid(2, 1, 100));
    let mut ext = Ext::new(&state);
    rebalance(&mut ext, &validators(2), 0);
    assert!(committees(&mut ext)
        .values()
        .all(|c| c.members().len() == 2));
    let events = area_events(&mut ext);
    assert!(events.contains(&Event::CommitteeUnderstaffed {
        area: 0,
        members: 2
    }));
    assert!(events.contains(&Event::CommitteeUnderstaffed {
        area: 1,
        members: 2
    }));
    assert_eq!(
        check_committees(&mut ext, &validators(2)),
        Ok(()),
        "nothing to check below 3"
    );
    // With nobody eligible, areas have no committee at all.
    rebalance(&mut ext, &[], 1);
    assert_eq!(Authorities::count(&mut ext), 0);
    assert_eq!(RetiredVersions::get(&mut ext, &0), Some(1));
    assert!(
        area_events(&mut ext).contains(&Event::CommitteeUnderstaffed {
            area: 0,
            members: 0
        })
    );
    assert_invariants(&mut ext);
    // Validators return: committees are rebuilt and versions continue.
    rebalance(&mut ext, &validators(3), 2);
    let committee = authority(&mut ext, 0).expect("staffed");
    assert_eq!(committee.version, 2);
    assert_eq!(committee.members().len(), 3);
    assert!(!area_events(&mut ext)
        .iter()
        .any(|e| matches!(e, Event::CommitteeUnderstaffed { .. })));
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &validators(3)), Ok(()));
}

#[test]
fn duplicate_candidates_still_give_distinct_members() {
    let state = build(&grid(3, 3, 100));
    let mut ext = Ext::new(&state);
    let mut pool = validators(3);
    pool.extend(validators(3));
    pool.push(candidate(1, 1));
    rebalance(&mut ext, &pool, 0);
    assert_eq!(candidates(&mut ext).len(), 3);
    assert_invariants(&mut ext);
    assert_eq!(check_committees(&mut ext, &pool), Ok(()));
}

#[test]
fn at_most_max_candidates_largest_stakes_first() {
    let state = build(&grid(2, 1, 100));
    let mut ext = Ext::new(&state);
    let pool: Vec<Candidate> = (0..MAX_CANDIDATES as u32 + 10)
        .map(|i| {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&i.to_le_bytes());
            Candidate {
                who: AccountId32::new(bytes),
                stake: Balance::from(i) + 1,
                trust: PPB,
            }
        })
        .collect();
    rebalance(&mut ext, &pool, 0);
    let kept = candidates(&mut ext);
    assert_eq!(kept.len(), MAX_CANDIDATES);
    assert!(
        kept.iter().all(|c| c.stake > 10),
        "the ten smallest stakes are left out"
    );
    assert_invariants(&mut ext);
}

#[test]
fn same_inputs_same_committees_and_map() {
    let run = |order_reversed: bool| {
        let state = build(&grid(4, 4, 100));
        let mut ext = Ext::new(&state);
        let mut pool = validators(9);
        for (i, c) in pool.iter_mut().enumerate() {
            c.stake = (i as u128 + 1) * 7 * ARCM;
            c.trust = PPB / (i as u32 + 1);
        }
        if order_reversed {
            pool.reverse();
        }
        root(&mut ext, Call::SetThresholds { split: 3, merge: 1 });
        for id in [2, 5, 9] {
            for _ in 0..3 {
                note_action(&mut ext, id);
            }
        }
        let changes = new_era(&mut ext, 1, &pool, 50);
        pool.retain(|c| c.who != validator(4));
        let more = new_era(&mut ext, 2, &pool, 60);
        (changes, more, ext.into_changes())
    };
    let first = run(false);
    assert_eq!(first, run(false));
    assert_eq!(
        first,
        run(true),
        "the order of the candidates does not matter"
    );
    assert_eq!(first.0.len(), 3);
}

// ----- resources ------------------------------------------------------------------------

#[test]
fn gathering_takes_stock_that_regrows() {
    let state = build(&grid(2, 1, 100));
    let mut ext = Ext::new(&state);
    take_resource(&mut ext, 0, WOOD, 400, 0).expect("full stock");
    assert_eq!(
        take_resource(&mut ext, 0, WOOD, 1, 0),
        Err(Error::ResourceDepleted.into())
    );
    assert_eq!(resource_amount(&mut ext, 0, WOOD, 10), 40);
    take_resource(&mut ext, 0, WOOD, 40, 10).expect("regrown");
    assert_eq!(
        take_resource(&mut ext, 0, STONE, 1, 10),
        Err(Error::UnknownResource.into())
    );
    assert_eq!(
        take_resource(&mut ext, 7, WOOD, 1, 10),
        Err(Error::UnknownArea.into())
    );
    root(&mut ext, split_call(1));
    assert_eq!(
        take_resource(&mut ext, 1, WOOD, 1, 10),
        Err(Error::AreaInactive.into())
    );
    assert_eq!(
        resource_amount(&mut ext, 0, WOOD, 1_000_000),
        400,
        "capped at max"
    );
    assert_eq!(Error::AreaFull.name(), "AreaFull");
    assert_invariants(&mut ext);
}

// ----- encodings, weights, hooks, the invariant checker ------------------------------------

#[test]
fn calls_events_and_errors_have_fixed_indices() {
    assert_eq!(Call::SetCommitteeSize { size: 4 }.encode(), vec![6, 4]);
    assert_eq!(Call::ForceMerge { parent: 1 }.encode(), vec![4, 1, 0, 0, 0]);
    assert_eq!(Call::SetStartingArea { id: 2 }.encode()[0], 2);
    assert_eq!(Event::AreaUpdated { id: 1 }.encode(), vec![1, 1, 0, 0, 0]);
    assert_eq!(Event::CommitteeSizeSet { size: 3 }.encode(), vec![8, 3]);
    assert_eq!(
        DispatchError::from(Error::InvalidCommitteeSize),
        DispatchError::Module(arceon_support::ModuleError {
            index: 40,
            error: 15,
            name: "InvalidCommitteeSize"
        })
    );
    let call = Call::CreateArea {
        name: b"A".to_vec(),
        bounds: Bounds::new(1, 2, 3, 4),
        capacity: 5,
        resources: vec![wood(1, 2, 3)],
    };
    assert_eq!(Call::decode(&mut &call.encode()[..]), Ok(call));
}

#[test]
fn every_call_declares_a_weight_that_fits_a_block() {
    let calls = [
        Call::CreateArea {
            name: vec![],
            bounds: Bounds::default(),
            capacity: 0,
            resources: vec![],
        },
        Call::UpdateArea {
            id: 0,
            name: None,
            capacity: None,
            resources: None,
        },
        Call::SetStartingArea { id: 0 },
        Call::ForceSplit { id: 0 },
        Call::ForceMerge { parent: 0 },
        Call::SetThresholds { split: 1, merge: 0 },
        Call::SetCommitteeSize { size: 3 },
    ];
    for call in calls {
        let weight = call.weight();
        assert!(weight.ref_time >= 10_000_000, "{call:?}");
        assert!(
            weight.ref_time < 1_000_000_000_000,
            "{call:?} must fit a 1 s block"
        );
    }
    assert_eq!(
        <Pallet as arceon_support::Hooks>::on_initialize(&mut Ext::new(&MemoryState::new()), 1),
        Weight::ZERO
    );
}

#[test]
fn the_invariant_checker_catches_corruption() {
    let state = build(&grid(2, 2, 100));
    let corrupt = |f: &dyn Fn(&mut Ext)| {
        let mut ext = Ext::new(&state);
        rebalance(&mut ext, &validators(3), 0);
        assert_invariants(&mut ext);
        f(&mut ext);
        check_invariants(&mut ext).expect_err("corruption is reported")
    };
    corrupt(&|ext| edit(ext, 0, &|a| a.neighbours = vec![1]));
    corrupt(&|ext| edit(ext, 0, &|a| a.neighbours = vec![2, 1]));
    corrupt(&|ext| edit(ext, 0, &|a| a.bounds = Bounds::new(0, 0, 150 * U, 100 * U)));
    corrupt(&|ext| edit(ext, 0, &|a| a.children = vec![1]));
    corrupt(&|ext| edit(ext, 0, &|a| a.id = 9));
    corrupt(&|ext| {
        edit(ext, 0, &|a| {
            a.active = false;
            a.children = vec![77];
            a.neighbours.clear();
        })
    });
    corrupt(&|ext| {
        let mut committee = authority(ext, 0).expect("staffed");
        committee.replicas = vec![committee.primary.clone()];
        Authorities::insert(ext, &0, &committee);
    });
    corrupt(&|ext| {
        let mut committee = authority(ext, 0).expect("staffed");
        committee.replicas.push(validator(99));
        Authorities::insert(ext, &0, &committee);
    });
    corrupt(&|ext| StartingArea::put(ext, &50));
    corrupt(&|ext| MergeThreshold::put(ext, &DEFAULT_SPLIT_THRESHOLD));
    corrupt(&|ext| RetiredVersions::insert(ext, &0, &3));
    corrupt(&|ext| Areas::remove(ext, &1));
}

// ----- property: any sequence of map changes keeps the invariants -------------------------

#[derive(Debug, Clone)]
enum Op {
    Create { x: i64, y: i64, w: i64, h: i64 },
    Split(u32),
    Merge(u32),
    Era { loads: Vec<u32>, validators: u16 },
    Resize(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (-12i64..12, -12i64..12, 1i64..6, 1i64..6)
            .prop_map(|(x, y, w, h)| Op::Create { x, y, w, h }),
        3 => any::<u32>().prop_map(Op::Split),
        2 => any::<u32>().prop_map(Op::Merge),
        2 => (proptest::collection::vec(prop_oneof![3 => Just(0u32), 2 => 0u32..12], 1..16), any::<u16>())
            .prop_map(|(loads, validators)| Op::Era { loads, validators }),
        1 => (3u8..=5).prop_map(Op::Resize),
    ]
}

/// Validators whose bit is set in `mask` (of 10), with varied stake and trust.
fn pool_of(mask: u16) -> Vec<Candidate> {
    (0..10u8)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| Candidate {
            who: validator(i + 1),
            stake: (u128::from(i) + 1) * 100 * ARCM,
            trust: PPB / u32::from(i + 1),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_map_changes_keep_the_invariants(ops in proptest::collection::vec(op(), 1..30)) {
        let state = build(&grid(3, 3, 40));
        let mut ext = Ext::new(&state);
        root(&mut ext, Call::SetThresholds { split: 8, merge: 4 });
        let mut pool = pool_of(0b11111);
        rebalance(&mut ext, &pool, 0);
        let mut era = 0;
        for op in ops {
            let next = NextAreaId::get_or_default(&mut ext).max(1);
            let call = match op {
                Op::Create { x, y, w, h } => Some(Call::CreateArea {
                    name: b"New".to_vec(),
                    bounds: Bounds::new(x * 10 * U, y * 10 * U, (x + w) * 10 * U, (y + h) * 10 * U),
                    capacity: 9,
                    resources: vec![wood(3, 9, 1)],
                }),
                Op::Split(i) => Some(Call::ForceSplit { id: i % next }),
                Op::Merge(i) => Some(Call::ForceMerge { parent: i % next }),
                Op::Resize(size) => Some(Call::SetCommitteeSize { size }),
                Op::Era { loads, validators } => {
                    era += 1;
                    for id in 0..next {
                        let load = loads[id as usize % loads.len()];
                        if load > 0 {
                            Load::insert(&mut ext, &id, &load);
                        }
                    }
                    pool = pool_of(validators & 0x3ff);
                    let before = all_areas(&mut ext).len();
                    let changes = new_era(&mut ext, era, &pool, era * 10);
                    prop_assert!(changes.len() <= 2 * MAX_RESHAPES_PER_ERA);
                    let splits = changes.iter().filter(|c| matches!(c, AreaChange::Split { .. })).count();
                    let merges = changes.len() - splits;
                    prop_assert_eq!(all_areas(&mut ext).len(), before + 4 * splits - 4 * merges);
                    prop_assert_eq!(check_committees(&mut ext, &pool), Ok(()));
                    None
                }
            };
            if let Some(call) = call {
                let before = ext.changes().clone();
                if dispatch(&mut ext, Origin::Root, call.clone()).is_err() {
                    prop_assert_eq!(ext.changes(), &before, "failed {:?} changed storage", call);
                }
            }
            if let Err(violation) = check_invariants(&mut ext) {
                prop_assert!(false, "invariant violated: {}", violation);
            }
            if Candidates::get_or_default(&mut ext).len() >= MIN_COMMITTEE {
                let stored = candidates(&mut ext);
                prop_assert_eq!(check_committees(&mut ext, &stored), Ok(()));
            }
            ext.take_events();
        }
    }
}
