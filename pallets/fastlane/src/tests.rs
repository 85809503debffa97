//! Mock world: two 300 x 300 unit areas side by side (west 0: x 0..300, east 1:
//! x 300..600, each the other's neighbour) and a far island (2). Alice, Bob and Charlie
//! are registered and stand at the centre of the west area, (150, 150). The chain's
//! genesis hash is [`GENESIS`]; the lanes are served by committee version [`VERSION`];
//! the block being executed is [`BLOCK`], whose slot starts at lane time [`T0`].

use super::*;
use arceon_pallet_areas::{Bounds, ResourceNode, UNIT};
use arceon_pallet_players::{Recipe, ResourceInfo};
use arceon_primitives::blake2_256;
use arceon_primitives::keyring::{numbered_pair, Keyring};
use arceon_primitives::BlockNumber;
use arceon_support::{BuildGenesis, MemoryState};
use sp_core::{sr25519, Pair};

const WEST: AreaId = 0;
const EAST: AreaId = 1;
const ISLAND: AreaId = 2;
const SIDE: i64 = 300 * UNIT;

const WOOD: u32 = 1;
const PLANK: u32 = 100;
const MAKE_PLANK: u32 = 1;
/// Units of wood one gather yields.
const WOOD_YIELD: u32 = 5;

const GENESIS: H256 = H256([7; 32]);
const VERSION: u64 = 3;
const BLOCK: BlockNumber = 10;
/// Start of the executing block's slot (unix ms): lane times in the tests are near it.
const T0: u64 = 1_700_000_000_000;
const SLOT_MS: u64 = 1_000;

const SPAWN: Position = Position::new(SIDE / 2, SIDE / 2);

fn alice() -> sr25519::Pair {
    Keyring::Alice.pair()
}
fn bob() -> sr25519::Pair {
    Keyring::Bob.pair()
}
fn charlie() -> sr25519::Pair {
    Keyring::Charlie.pair()
}
/// Never registered.
fn dave() -> sr25519::Pair {
    Keyring::Dave.pair()
}

fn who(pair: &sr25519::Pair) -> AccountId32 {
    AccountId32::from(pair.public())
}

fn area(id: AreaId, column: i64, neighbours: Vec<AreaId>, wood: u32) -> areas::AreaConfig {
    areas::AreaConfig {
        id,
        name: format!("area {id}"),
        bounds: Bounds::new(column * SIDE, 0, (column + 1) * SIDE, SIDE),
        neighbours: Some(neighbours),
        capacity: 10,
        resources: if wood == 0 {
            Vec::new()
        } else {
            vec![ResourceNode {
                resource: WOOD,
                amount: wood,
                max: wood,
                regen_per_block: 1,
                last_update: 0,
            }]
        },
    }
}

/// The genesis state of the mock world, at block [`BLOCK`] in the slot starting at
/// [`T0`].
fn world() -> MemoryState {
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    areas::GenesisConfig {
        areas: vec![
            area(WEST, 0, vec![EAST], 1_000),
            area(EAST, 1, vec![WEST], 0),
            area(ISLAND, 10, vec![], 0),
        ],
        starting_area: Some(WEST),
        ..Default::default()
    }
    .build(&mut ext)
    .expect("valid map");
    players::GenesisConfig {
        resources: vec![ResourceInfo {
            id: WOOD,
            name: "wood".into(),
            min_level: 1,
            yield_per_gather: WOOD_YIELD,
        }],
        recipes: vec![Recipe {
            id: MAKE_PLANK,
            name: "plank".into(),
            inputs: vec![(WOOD, 2)],
            output: (PLANK, 1),
            min_level: 1,
            xp: 20,
        }],
        max_actions_per_block: 4,
        max_actions_per_era: 1_000,
        players: vec![
            (who(&alice()), "alice".into()),
            (who(&bob()), "bob".into()),
            (who(&charlie()), "charlie".into()),
        ],
    }
    .build(&mut ext)
    .expect("valid players");
    system::Number::put(&mut ext, &BLOCK);
    system::BlockHash::insert(&mut ext, &0, &GENESIS);
    note_clock(&mut ext, T0 / SLOT_MS, SLOT_MS);
    assert_eq!(ext.take_fault(), None);
    ext.into_changes()
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .collect()
}

/// When the players of [`join_all`] joined: long enough before `T0` that their first
/// lane move has the whole idle allowance.
const JOINED_MS: u64 = T0 - MAX_IDLE_MS;

/// A player's lane record right after [`join_all`].
fn joined() -> PlayerLane {
    PlayerLane {
        nonce: 0,
        last_ms: JOINED_MS,
    }
}

/// Joins the players in a block whose slot starts at [`JOINED_MS`], then moves the
/// clock back to `T0`.
fn join_all(ext: &mut Ext, pairs: &[sr25519::Pair]) {
    note_clock(ext, JOINED_MS / SLOT_MS, SLOT_MS);
    for pair in pairs {
        join(ext, &who(pair)).expect("registered players join");
    }
    note_clock(ext, T0 / SLOT_MS, SLOT_MS);
}

fn units(x: i64, y: i64) -> Position {
    Position::new(x * UNIT, y * UNIT)
}

fn lane_action(pair: &sr25519::Pair, area: AreaId, nonce: u64, kind: ActionKind) -> LaneAction {
    LaneAction {
        genesis: GENESIS,
        area,
        version: VERSION,
        player: who(pair),
        nonce,
        kind,
    }
}

/// A west-lane action.
fn action(pair: &sr25519::Pair, nonce: u64, kind: ActionKind) -> LaneAction {
    lane_action(pair, WEST, nonce, kind)
}

fn walk_to(position: Position) -> ActionKind {
    ActionKind::Move {
        x: position.x,
        y: position.y,
    }
}

/// Sequences `action` on the west lane at lane time `time_ms`.
fn apply(ext: &mut Ext, action: &LaneAction, time_ms: u64) -> Result<Outcome, DispatchError> {
    apply_action(ext, action, &GENESIS, WEST, VERSION, time_ms)
}

/// Sequences `action` on `area`'s lane at lane time `time_ms`.
fn apply_in(
    ext: &mut Ext,
    area: AreaId,
    action: &LaneAction,
    time_ms: u64,
) -> Result<Outcome, DispatchError> {
    apply_action(ext, action, &GENESIS, area, VERSION, time_ms)
}

/// Runs `attempt`, which must fail with `expected` and leave storage and events as they
/// were.
fn refused<T: std::fmt::Debug>(
    ext: &mut Ext,
    expected: impl Into<DispatchError>,
    attempt: impl FnOnce(&mut Ext) -> Result<T, DispatchError>,
) {
    let before = ext.changes().clone();
    let events = ext.events().len();
    let expected = expected.into();
    match attempt(ext) {
        Err(error) => assert_eq!(error, expected, "refused for another reason"),
        Ok(value) => panic!("expected {expected:?}, got Ok({value:?})"),
    }
    assert!(
        ext.changes() == &before,
        "a refused attempt changed storage"
    );
    assert_eq!(ext.events().len(), events, "a refused attempt left events");
}

/// Sequences `action` at `time_ms`, which must fail with `expected` and write nothing.
fn refused_action(
    ext: &mut Ext,
    action: &LaneAction,
    time_ms: u64,
    expected: impl Into<DispatchError>,
) {
    refused(ext, expected, |ext| apply(ext, action, time_ms));
}

fn stands(ext: &mut Ext, pair: &sr25519::Pair) -> (AreaId, Position) {
    let player = players::player(ext, &who(pair)).expect("registered");
    (player.area, player.position)
}

fn lane_of(ext: &mut Ext, pair: &sr25519::Pair) -> PlayerLane {
    player_lane(ext, &who(pair)).expect("joined")
}

fn leaf(i: u8) -> H256 {
    H256(blake2_256(&[b'l', i]))
}

fn pair_hash(left: H256, right: H256) -> H256 {
    let mut bytes = left.as_bytes().to_vec();
    bytes.extend_from_slice(right.as_bytes());
    H256(blake2_256(&bytes))
}

// ---------------------------------------------------------------------------------------
// Formats.
// ---------------------------------------------------------------------------------------

#[test]
fn merkle_proofs_of_every_leaf_verify_for_one_to_nine_leaves() {
    assert_eq!(merkle_root(&[]), H256::zero());
    // The shape the module doc promises: pairs level by level, an odd node moves up.
    let (l0, l1, l2) = (leaf(0), leaf(1), leaf(2));
    assert_eq!(merkle_root(&[l0]), l0);
    assert_eq!(merkle_root(&[l0, l1]), pair_hash(l0, l1));
    assert_eq!(merkle_root(&[l0, l1, l2]), pair_hash(pair_hash(l0, l1), l2));

    for count in 1..=9u8 {
        let leaves: Vec<H256> = (0..count).map(leaf).collect();
        let n = leaves.len();
        let root = merkle_root(&leaves);
        for index in 0..n {
            let proof = merkle_proof(&leaves, index);
            assert!(
                verify_merkle(&root, leaves[index], index, n, &proof),
                "leaf {index} of {n}"
            );
        }
        assert!(merkle_proof(&leaves, n).is_empty());
        assert!(!verify_merkle(&root, leaves[0], n, n, &[]));
    }
}

#[test]
fn tampered_merkle_proofs_are_refused() {
    for count in 1..=9u8 {
        let leaves: Vec<H256> = (0..count).map(leaf).collect();
        let n = leaves.len();
        let root = merkle_root(&leaves);
        for index in 0..n {
            let proof = merkle_proof(&leaves, index);
            let ok =
                |leaf: H256, at: usize, proof: &[H256]| verify_merkle(&root, leaf, at, n, proof);
            // Another leaf, or this leaf claimed at another position.
            assert!(!ok(leaf(200), index, &proof), "foreign leaf {index}/{n}");
            for other in (0..n).filter(|other| *other != index) {
                assert!(
                    !ok(leaves[index], other, &proof),
                    "leaf {index} at {other}/{n}"
                );
            }
            // Any path node altered.
            for at in 0..proof.len() {
                let mut bad = proof.clone();
                bad[at].0[at % 32] ^= 0x01;
                assert!(!ok(leaves[index], index, &bad), "node {at} of {index}/{n}");
            }
            // A node missing or one too many.
            if !proof.is_empty() {
                assert!(!ok(leaves[index], index, &proof[..proof.len() - 1]));
            }
            let mut longer = proof.clone();
            longer.push(leaf(100));
            assert!(!ok(leaves[index], index, &longer), "extended {index}/{n}");
            // Another root.
            let mut other_root = root;
            other_root.0[0] ^= 0x80;
            assert!(!verify_merkle(&other_root, leaves[index], index, n, &proof));
        }
    }
}

#[test]
fn quorum_is_two_thirds_of_the_committee_rounded_up() {
    let quorums: Vec<usize> = (1..=5).map(quorum).collect();
    assert_eq!(quorums, vec![1, 2, 2, 3, 4]);
    for members in 1..=5 {
        assert!(
            2 * quorum(members) > members,
            "two quorums of {members} share a member"
        );
    }
}

#[test]
fn a_move_encodes_byte_by_byte_as_documented() {
    let action = LaneAction {
        genesis: H256([0x11; 32]),
        area: 0x0403_0201,
        version: 0x0c0b_0a09_0807_0605,
        player: AccountId32::new([0x22; 32]),
        nonce: 0x1413_1211_100f_0e0d,
        kind: ActionKind::Move {
            x: -2,
            y: 0x0102_0304_0506_0708,
        },
    };
    let mut expected = vec![0x11; 32];
    expected.extend_from_slice(&[0x01, 0x02, 0x03, 0x04]);
    expected.extend_from_slice(&[0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c]);
    expected.extend_from_slice(&[0x22; 32]);
    expected.extend_from_slice(&[0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14]);
    expected.push(0x00);
    expected.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expected.extend_from_slice(&[0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]);
    assert_eq!(expected.len(), 101, "the module doc's size of a move");
    assert_eq!(action.encode(), expected);
    assert_eq!(LaneAction::decode(&mut &expected[..]), Ok(action.clone()));

    // Gather and craft: their variant byte, then a u32.
    let gather = LaneAction {
        kind: ActionKind::Gather {
            resource: 0x0a0b_0c0d,
        },
        ..action.clone()
    };
    assert_eq!(gather.encode()[84..], [0x01, 0x0d, 0x0c, 0x0b, 0x0a]);
    let craft = LaneAction {
        kind: ActionKind::Craft { recipe: 7 },
        ..action.clone()
    };
    assert_eq!(craft.encode()[84..], [0x02, 0x07, 0x00, 0x00, 0x00]);

    // A signed action is the action then the 64 signature bytes.
    let signed = SignedLaneAction {
        action: action.clone(),
        signature: [0x33; 64],
    };
    let mut signed_bytes = expected.clone();
    signed_bytes.extend_from_slice(&[0x33; 64]);
    assert_eq!(signed.encode(), signed_bytes);
    assert_eq!(signed.hash(), H256(blake2_256(&signed_bytes)));

    // Outcomes and entries.
    let moved = Outcome::Moved {
        area: 5,
        position: Position::new(1, -1),
    };
    let mut moved_bytes = vec![0x00, 0x05, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0];
    moved_bytes.extend_from_slice(&[0xff; 8]);
    assert_eq!(moved.encode(), moved_bytes);
    let mut entry = signed.hash().as_bytes().to_vec();
    entry.extend_from_slice(&moved_bytes);
    assert_eq!(entry_hash(&signed.hash(), &moved), H256(blake2_256(&entry)));
}

#[test]
fn a_batch_header_encodes_its_fields_in_documented_order() {
    let header = BatchHeader {
        genesis: H256([0x01; 32]),
        area: 2,
        version: 3,
        view: 4,
        height: 5,
        parent: H256([0x06; 32]),
        time_ms: 7,
        entries_root: H256([0x08; 32]),
        count: 9,
    };
    let bytes = header.encode();
    assert_eq!(bytes.len(), 32 + 4 + 8 + 4 + 8 + 32 + 8 + 32 + 4);
    assert_eq!(bytes[..32], [0x01; 32]);
    assert_eq!(bytes[32..36], 2u32.to_le_bytes());
    assert_eq!(bytes[36..44], 3u64.to_le_bytes());
    assert_eq!(bytes[44..48], 4u32.to_le_bytes());
    assert_eq!(bytes[48..56], 5u64.to_le_bytes());
    assert_eq!(bytes[56..88], [0x06; 32]);
    assert_eq!(bytes[88..96], 7u64.to_le_bytes());
    assert_eq!(bytes[96..128], [0x08; 32]);
    assert_eq!(bytes[128..], 9u32.to_le_bytes());
    assert_eq!(header.hash(), H256(blake2_256(&bytes)));
    let mut message = types::BATCH_TAG.to_vec();
    message.extend_from_slice(header.hash().as_bytes());
    assert_eq!(header.signing_message(), message);
    // A member signature: signature, leaf index, leaf count, path.
    let signature = MemberSignature {
        signature: [0x0a; 64],
        index: 3,
        count: 5,
        path: vec![H256::repeat_byte(0x0b)],
    };
    let bytes = signature.encode();
    assert_eq!(bytes[..64], [0x0a; 64]);
    assert_eq!(bytes[64..66], 3u16.to_le_bytes());
    assert_eq!(bytes[66..68], 5u16.to_le_bytes());
    assert_eq!(bytes[68], 1 << 2, "compact length of the path");
    assert_eq!(bytes[69..], [0x0b; 32]);
}

#[test]
fn lane_messages_start_with_their_tag_which_is_no_pallet_index() {
    // Pallet indices of the runtime are below 64; an extrinsic's signed payload starts
    // with one (or is a 32-byte hash).
    let action = action(&alice(), 0, walk_to(SPAWN));
    let message = action.signing_message();
    assert!(message.starts_with(types::ACTION_TAG));
    assert_eq!(message[types::ACTION_TAG.len()..], action.encode());
    assert!(message[0] >= 64, "starts with {:#x}", message[0]);
    assert_ne!(message.len(), 32);
    let header = BatchHeader {
        genesis: GENESIS,
        area: WEST,
        version: VERSION,
        view: 0,
        height: 1,
        parent: H256::zero(),
        time_ms: T0,
        entries_root: H256::zero(),
        count: 0,
    };
    let batch_message = header.signing_message();
    assert!(batch_message.starts_with(types::BATCH_TAG));
    assert!(batch_message[0] >= 64);
    assert_ne!(batch_message.len(), 32);
    assert!(!types::ACTION_TAG.starts_with(types::BATCH_TAG));
    assert!(!types::BATCH_TAG.starts_with(types::ACTION_TAG));

    // The signature covers the tag: it does not verify for the bare action.
    let signed = SignedLaneAction::sign(action.clone(), &alice());
    assert!(signed.verify());
    let bare = sr25519::Signature::from_raw(signed.signature);
    assert!(!sr25519::Pair::verify(
        &bare,
        action.encode(),
        &alice().public()
    ));
    let mut forged = signed.clone();
    forged.signature[1] ^= 0x01;
    assert!(!forged.verify());
    let mut other_player = signed.clone();
    other_player.action.player = who(&bob());
    assert!(!other_player.verify());
}

// ---------------------------------------------------------------------------------------
// Joining.
// ---------------------------------------------------------------------------------------

#[test]
fn only_a_registered_player_joins_and_only_once() {
    let state = world();
    let mut ext = Ext::new(&state);
    refused(&mut ext, players::Error::NotRegistered, |ext| {
        join(ext, &who(&dave()))
    });
    assert_eq!(player_lane(&mut ext, &who(&dave())), None);

    let alice_id = who(&alice());
    let joined = Call::Join.dispatch(&mut ext, Origin::Signed(alice_id.clone()));
    assert_eq!(joined, Ok(()));
    // The lane clock starts at the joining block's slot: no idle time is banked.
    assert_eq!(
        player_lane(&mut ext, &alice_id),
        Some(PlayerLane {
            nonce: 0,
            last_ms: T0 / SLOT_MS * SLOT_MS,
        })
    );
    assert!(players::in_lane(&mut ext, &alice_id));
    // The record ends with the event and its (empty) topics.
    let mut joined_event = vec![PALLET_INDEX];
    Event::Joined {
        who: alice_id.clone(),
    }
    .encode_to(&mut joined_event);
    joined_event.push(0);
    assert!(ext
        .events()
        .iter()
        .any(|record| record.ends_with(&joined_event)));

    refused(&mut ext, Error::AlreadyJoined, |ext| join(ext, &alice_id));
    refused(&mut ext, DispatchError::BadOrigin, |ext| {
        Call::Join.dispatch(ext, Origin::None)
    });
    assert!(!players::in_lane(&mut ext, &who(&bob())));
}

#[test]
fn a_joined_player_cannot_act_through_world_extrinsics() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let alice_id = who(&alice());
    let step = SPAWN.x + UNIT;
    let world_calls = [
        players::Call::MoveTo {
            x: step,
            y: SPAWN.y,
        },
        players::Call::Gather { resource: WOOD },
        players::Call::Craft { recipe: MAKE_PLANK },
    ];
    for call in world_calls.clone() {
        refused(&mut ext, players::Error::InFastLane, |ext| {
            ext.transactional(|ext| call.dispatch(ext, Origin::Signed(alice_id.clone())))
        });
    }
    assert_eq!(stands(&mut ext, &alice()), (WEST, SPAWN));
    // A player outside the lanes still moves by extrinsic.
    let bob_id = who(&bob());
    let moved = ext.transactional(|ext| {
        players::Call::MoveTo {
            x: step,
            y: SPAWN.y,
        }
        .dispatch(ext, Origin::Signed(bob_id.clone()))
    });
    assert_eq!(moved, Ok(()));
    assert_eq!(
        stands(&mut ext, &bob()),
        (WEST, Position::new(step, SPAWN.y))
    );
}

// ---------------------------------------------------------------------------------------
// Sequencing one action.
// ---------------------------------------------------------------------------------------

#[test]
fn nonces_must_be_the_next_one() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let gather = ActionKind::Gather { resource: WOOD };
    refused_action(
        &mut ext,
        &action(&alice(), 1, gather),
        T0,
        Error::FutureNonce,
    );
    assert_eq!(
        apply(&mut ext, &action(&alice(), 0, gather), T0),
        Ok(Outcome::Gathered {
            resource: WOOD,
            amount: WOOD_YIELD
        })
    );
    assert_eq!(
        lane_of(&mut ext, &alice()),
        PlayerLane {
            nonce: 1,
            last_ms: T0
        }
    );
    let later = T0 + 1_000;
    refused_action(
        &mut ext,
        &action(&alice(), 0, gather),
        later,
        Error::StaleNonce,
    );
    refused_action(
        &mut ext,
        &action(&alice(), 2, gather),
        later,
        Error::FutureNonce,
    );
    assert!(apply(&mut ext, &action(&alice(), 1, gather), later).is_ok());
    assert_eq!(
        lane_of(&mut ext, &alice()),
        PlayerLane {
            nonce: 2,
            last_ms: later
        }
    );
}

#[test]
fn actions_for_another_chain_lane_or_committee_are_refused() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let kind = walk_to(Position::new(SPAWN.x + UNIT, SPAWN.y));
    let good = action(&alice(), 0, kind);
    let other_chain = LaneAction {
        genesis: H256([8; 32]),
        ..good.clone()
    };
    refused_action(&mut ext, &other_chain, T0, Error::WrongGenesis);
    let other_lane = lane_action(&alice(), EAST, 0, kind);
    refused_action(&mut ext, &other_lane, T0, Error::WrongArea);
    let other_version = LaneAction {
        version: VERSION + 1,
        ..good.clone()
    };
    refused_action(&mut ext, &other_version, T0, Error::WrongVersion);
    refused(&mut ext, Error::WrongVersion, |ext| {
        apply_action(ext, &good, &GENESIS, WEST, VERSION - 1, T0)
    });
    assert_eq!(lane_of(&mut ext, &alice()), joined());
    assert!(apply(&mut ext, &good, T0).is_ok());
}

#[test]
fn players_who_have_not_joined_are_refused() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let kind = walk_to(Position::new(SPAWN.x + UNIT, SPAWN.y));
    refused_action(&mut ext, &action(&bob(), 0, kind), T0, Error::NotJoined);
    refused_action(&mut ext, &action(&dave(), 0, kind), T0, Error::NotJoined);
    assert_eq!(stands(&mut ext, &bob()), (WEST, SPAWN));
}

#[test]
fn a_player_acts_only_in_the_lane_of_its_area() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let east = lane_action(&alice(), EAST, 0, ActionKind::Gather { resource: WOOD });
    refused(&mut ext, Error::NotInArea, |ext| {
        apply_in(ext, EAST, &east, T0)
    });
    assert_eq!(lane_of(&mut ext, &alice()), joined());
}

#[test]
fn a_player_acts_at_most_once_per_fifty_ms_of_lane_time() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let step = |nonce: u64, dx: i64| {
        action(
            &alice(),
            nonce,
            walk_to(Position::new(SPAWN.x + dx, SPAWN.y)),
        )
    };
    assert!(apply(&mut ext, &step(0, 0), T0).is_ok());
    refused_action(&mut ext, &step(1, 0), T0, Error::TooSoon);
    refused_action(
        &mut ext,
        &step(1, 0),
        T0 + MIN_ACTION_INTERVAL_MS - 1,
        Error::TooSoon,
    );
    // Earlier than the last action, too.
    refused_action(&mut ext, &step(1, 0), T0 - 1_000, Error::TooSoon);
    assert!(apply(&mut ext, &step(1, 100), T0 + MIN_ACTION_INTERVAL_MS).is_ok());
    assert_eq!(
        lane_of(&mut ext, &alice()).last_ms,
        T0 + MIN_ACTION_INTERVAL_MS
    );
}

#[test]
fn a_move_reaches_ten_units_per_second_of_lane_time() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    assert_eq!(reach(1_000), 10 * UNIT as u128);
    assert_eq!(reach(100), UNIT as u128);
    assert_eq!(reach(MAX_IDLE_MS * 6), reach(MAX_IDLE_MS));

    // The first lane action sets the lane clock of the player.
    assert!(apply(
        &mut ext,
        &action(&alice(), 0, ActionKind::Gather { resource: WOOD }),
        T0
    )
    .is_ok());
    // One second later: ten units away is within reach, a milli-unit more is not.
    let t1 = T0 + 1_000;
    let too_far = Position::new(SPAWN.x + 10 * UNIT + 1, SPAWN.y);
    refused_action(
        &mut ext,
        &action(&alice(), 1, walk_to(too_far)),
        t1,
        players::Error::TooFast,
    );
    let ten_east = Position::new(SPAWN.x + 10 * UNIT, SPAWN.y);
    assert_eq!(
        apply(&mut ext, &action(&alice(), 1, walk_to(ten_east)), t1),
        Ok(Outcome::Moved {
            area: WEST,
            position: ten_east
        })
    );
    assert_eq!(stands(&mut ext, &alice()), (WEST, ten_east));
    // Distance is Euclidean: (6, 8) units is 10.
    let t2 = t1 + 1_000;
    let diagonal = Position::new(ten_east.x + 6 * UNIT, ten_east.y + 8 * UNIT);
    let diagonal_too_far = Position::new(diagonal.x + 1, diagonal.y);
    refused_action(
        &mut ext,
        &action(&alice(), 2, walk_to(diagonal_too_far)),
        t2,
        players::Error::TooFast,
    );
    assert!(apply(&mut ext, &action(&alice(), 2, walk_to(diagonal)), t2).is_ok());
    // Idle time counts up to MAX_IDLE_MS only: a minute later, still 100 units.
    let t3 = t2 + 60_000;
    let hundred_west = Position::new(diagonal.x - 100 * UNIT, diagonal.y);
    refused_action(
        &mut ext,
        &action(
            &alice(),
            3,
            walk_to(Position::new(hundred_west.x - 1, hundred_west.y)),
        ),
        t3,
        players::Error::TooFast,
    );
    assert!(apply(&mut ext, &action(&alice(), 3, walk_to(hundred_west)), t3).is_ok());
    assert_eq!(stands(&mut ext, &alice()), (WEST, hundred_west));
    assert_eq!(
        lane_of(&mut ext, &alice()),
        PlayerLane {
            nonce: 4,
            last_ms: t3
        }
    );
}

#[test]
fn players_move_several_times_a_second_at_walking_speed() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice(), bob()]);
    assert!(apply(&mut ext, &action(&alice(), 0, walk_to(SPAWN)), T0).is_ok());
    assert!(apply(&mut ext, &action(&bob(), 0, walk_to(SPAWN)), T0).is_ok());
    // Alice takes a one-unit step every 100 ms, Bob half a unit every 50 ms, for two
    // seconds: 20 and 40 moves, all in one block, far above its per-block action limit.
    let mut alice_at = SPAWN;
    for step in 1..=20u64 {
        alice_at = Position::new(alice_at.x + UNIT, alice_at.y);
        assert_eq!(
            apply(
                &mut ext,
                &action(&alice(), step, walk_to(alice_at)),
                T0 + 100 * step
            ),
            Ok(Outcome::Moved {
                area: WEST,
                position: alice_at
            }),
            "alice's step {step}"
        );
    }
    let mut bob_at = SPAWN;
    for step in 1..=40u64 {
        bob_at = Position::new(bob_at.x, bob_at.y + UNIT / 2);
        assert_eq!(
            apply(
                &mut ext,
                &action(&bob(), step, walk_to(bob_at)),
                T0 + 50 * step
            ),
            Ok(Outcome::Moved {
                area: WEST,
                position: bob_at
            }),
            "bob's step {step}"
        );
    }
    assert_eq!(stands(&mut ext, &alice()), (WEST, units(170, 150)));
    assert_eq!(stands(&mut ext, &bob()), (WEST, units(150, 170)));
    assert_eq!(lane_of(&mut ext, &alice()).nonce, 21);
    assert_eq!(lane_of(&mut ext, &bob()).nonce, 41);
    assert_eq!(players::current_block(&mut ext), BLOCK);
}

#[test]
fn walking_over_the_edge_crosses_into_the_neighbour() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    // Up to the west area's eastern edge (100 units on a fresh lane clock)...
    let edge = Position::new(SIDE - UNIT / 2, SPAWN.y);
    let t1 = T0 + MAX_IDLE_MS;
    assert!(apply(
        &mut ext,
        &action(
            &alice(),
            0,
            walk_to(Position::new(SIDE - 60 * UNIT, SPAWN.y))
        ),
        T0
    )
    .is_ok());
    assert_eq!(
        apply(&mut ext, &action(&alice(), 1, walk_to(edge)), t1),
        Ok(Outcome::Moved {
            area: WEST,
            position: edge
        })
    );
    // ...and one unit further, into the east area.
    let over = Position::new(SIDE + UNIT / 2, SPAWN.y);
    let t2 = t1 + 100;
    assert_eq!(
        apply(&mut ext, &action(&alice(), 2, walk_to(over)), t2),
        Ok(Outcome::Crossed {
            from: WEST,
            to: EAST,
            position: over
        })
    );
    assert_eq!(stands(&mut ext, &alice()), (EAST, over));
    assert!(players::players_in_area(&mut ext, WEST, None, 10)
        .iter()
        .all(|(resident, _)| *resident != who(&alice())));
    // From now on the east lane orders her actions.
    let t3 = t2 + 100;
    let back = lane_action(&alice(), WEST, 3, walk_to(edge));
    refused_action(&mut ext, &back, t3, Error::NotInArea);
    let further = Position::new(over.x + UNIT, over.y);
    let east = lane_action(&alice(), EAST, 3, walk_to(further));
    assert_eq!(
        apply_in(&mut ext, EAST, &east, t3),
        Ok(Outcome::Moved {
            area: EAST,
            position: further
        })
    );
    // Off the map (north of the east area, where no area is): refused.
    let north = Position::new(further.x, SIDE - 60 * UNIT);
    let t4 = t3 + MAX_IDLE_MS;
    let to_north = lane_action(&alice(), EAST, 4, walk_to(north));
    assert!(apply_in(&mut ext, EAST, &to_north, t4).is_ok());
    let off_map = Position::new(north.x, SIDE + UNIT);
    let off_map = lane_action(&alice(), EAST, 5, walk_to(off_map));
    refused(&mut ext, players::Error::NotAdjacent, |ext| {
        apply_in(ext, EAST, &off_map, t4 + MAX_IDLE_MS)
    });
}

#[test]
fn gathering_and_crafting_report_what_they_produced() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let gather = ActionKind::Gather { resource: WOOD };
    let craft = ActionKind::Craft { recipe: MAKE_PLANK };
    // Nothing to craft with yet: refused, and the nonce is not used up.
    refused_action(
        &mut ext,
        &action(&alice(), 0, craft),
        T0,
        players::Error::InsufficientItems,
    );
    refused_action(
        &mut ext,
        &action(&alice(), 0, ActionKind::Gather { resource: 99 }),
        T0,
        players::Error::UnknownResource,
    );
    assert_eq!(
        apply(&mut ext, &action(&alice(), 0, gather), T0),
        Ok(Outcome::Gathered {
            resource: WOOD,
            amount: WOOD_YIELD
        })
    );
    assert_eq!(
        apply(&mut ext, &action(&alice(), 1, craft), T0 + 50),
        Ok(Outcome::Crafted {
            recipe: MAKE_PLANK,
            output: PLANK,
            amount: 1
        })
    );
    let player = players::player(&mut ext, &who(&alice())).expect("registered");
    assert_eq!(player.inventory, vec![(WOOD, WOOD_YIELD - 2), (PLANK, 1)]);
    assert_eq!(
        lane_of(&mut ext, &alice()),
        PlayerLane {
            nonce: 2,
            last_ms: T0 + 50
        }
    );
    // Energy runs out like on chain: 100 energy, 5 per gather or craft.
    let mut time = T0 + 50;
    let mut nonce = 2;
    let mut refusal = None;
    for _ in 0..30 {
        time += 50;
        match apply(&mut ext, &action(&alice(), nonce, gather), time) {
            Ok(_) => nonce += 1,
            Err(error) => {
                refusal = Some(error);
                break;
            }
        }
    }
    assert_eq!(refusal, Some(players::Error::Exhausted.into()));
    assert_eq!(nonce, 20, "18 more gathers after a gather and a craft");
}

// ---------------------------------------------------------------------------------------
// Certificates and batches.
// ---------------------------------------------------------------------------------------

fn members() -> Vec<sr25519::Pair> {
    (0..4).map(numbered_pair).collect()
}

fn keys_of(pairs: &[sr25519::Pair]) -> Vec<[u8; 32]> {
    pairs.iter().map(|pair| pair.public().0).collect()
}

fn certify(header: &BatchHeader, signers: &[(u8, &sr25519::Pair)]) -> Certificate {
    Certificate {
        signatures: signers
            .iter()
            .map(|(index, pair)| (*index, pair.sign(&header.signing_message()).0.into()))
            .collect(),
    }
}

fn header_at(height: u64, parent: H256, time_ms: u64) -> BatchHeader {
    BatchHeader {
        genesis: GENESIS,
        area: WEST,
        version: VERSION,
        view: 0,
        height,
        parent,
        time_ms,
        entries_root: H256::zero(),
        count: 0,
    }
}

#[test]
fn a_certificate_needs_a_quorum_of_distinct_members_in_order() {
    let members = members();
    let keys = keys_of(&members);
    let header = header_at(1, H256::zero(), T0);
    let [m0, m1, m2, m3] = [&members[0], &members[1], &members[2], &members[3]];
    assert_eq!(
        verify_certificate(
            &header,
            &certify(&header, &[(0, m0), (1, m1), (3, m3)]),
            &keys
        ),
        Ok(())
    );
    assert_eq!(
        verify_certificate(
            &header,
            &certify(&header, &[(0, m0), (1, m1), (2, m2), (3, m3)]),
            &keys
        ),
        Ok(())
    );
    let cases: Vec<(&str, Certificate, Error)> = vec![
        (
            "two of four",
            certify(&header, &[(0, m0), (2, m2)]),
            Error::NotEnoughSignatures,
        ),
        ("none", Certificate::default(), Error::NotEnoughSignatures),
        (
            "out of order",
            certify(&header, &[(1, m1), (0, m0), (2, m2)]),
            Error::BadCertificate,
        ),
        (
            "a member twice",
            certify(&header, &[(0, m0), (1, m1), (1, m1)]),
            Error::BadCertificate,
        ),
        (
            "no such member",
            certify(&header, &[(0, m0), (1, m1), (4, m3)]),
            Error::BadCertificate,
        ),
        (
            "a member's place, another's key",
            certify(&header, &[(0, m0), (1, m1), (2, m3)]),
            Error::BadCertificate,
        ),
        (
            "an outsider",
            certify(&header, &[(0, m0), (1, m1), (2, &numbered_pair(9))]),
            Error::BadCertificate,
        ),
        (
            "another header",
            certify(
                &header_at(2, header.hash(), T0 + 1),
                &[(0, m0), (1, m1), (2, m2)],
            ),
            Error::BadCertificate,
        ),
    ];
    for (case, certificate, expected) in cases {
        assert_eq!(
            verify_certificate(&header, &certificate, &keys),
            Err(expected),
            "{case}"
        );
    }
    let mut forged = certify(&header, &[(0, m0), (1, m1), (2, m2)]);
    forged.signatures[2].1.signature[5] ^= 0x20;
    assert_eq!(
        verify_certificate(&header, &forged, &keys),
        Err(Error::BadCertificate)
    );
    // One bad signature spoils a certificate even with a quorum of good ones.
    let mut extra = certify(&header, &[(0, m0), (1, m1), (2, m2), (3, m3)]);
    extra.signatures[3].1.signature[5] ^= 0x20;
    assert_eq!(
        verify_certificate(&header, &extra, &keys),
        Err(Error::BadCertificate)
    );
}

#[test]
fn a_signing_round_covers_each_of_its_headers_by_its_path_and_nothing_else() {
    let members = members();
    let keys = keys_of(&members);
    // Three members each sign a round of five headers of different lanes; the header
    // under test sits at a different leaf in each round.
    let header = header_at(1, H256::zero(), T0);
    let others: Vec<H256> = (2..6)
        .map(|height| header_at(height, H256::repeat_byte(height as u8), T0).hash())
        .collect();
    let round = |member: usize, at: usize| {
        let mut hashes = others.clone();
        hashes.insert(at, header.hash());
        (types::sign_round(&members[member], &hashes), hashes)
    };
    let (round0, _) = round(0, 0);
    let (round1, hashes1) = round(1, 3);
    let (round2, _) = round(2, 4);
    assert!(round0
        .iter()
        .all(|s| s.signature == round0[0].signature && s.count == 5));
    let certificate = Certificate {
        signatures: vec![
            (0, round0[0].clone()),
            (1, round1[3].clone()),
            (2, round2[4].clone()),
        ],
    };
    assert_eq!(verify_certificate(&header, &certificate, &keys), Ok(()));
    // The same round's signature with another leaf's path proves another header.
    let mut wrong_leaf = certificate.clone();
    wrong_leaf.signatures[1].1 = round1[2].clone();
    assert_eq!(
        verify_certificate(&header, &wrong_leaf, &keys),
        Err(Error::BadCertificate)
    );
    let other = header_at(5, H256::repeat_byte(5), T0);
    assert_eq!(hashes1[4], other.hash());
    // The one round signature covers every header of the round (a committee of one).
    let for_other = Certificate {
        signatures: vec![(0, round1[4].clone())],
    };
    assert_eq!(verify_certificate(&other, &for_other, &keys[1..2]), Ok(()));
    assert_eq!(
        verify_certificate(&header, &for_other, &keys[1..2]),
        Err(Error::BadCertificate)
    );
    // Tampered paths, counts and indices fail; so do absurd ones, without a panic.
    let tamper = |change: &dyn Fn(&mut MemberSignature)| {
        let mut bad = certificate.clone();
        change(&mut bad.signatures[1].1);
        verify_certificate(&header, &bad, &keys)
    };
    let bad = Err(Error::BadCertificate);
    assert_eq!(tamper(&|s| s.path[0].0[0] ^= 1), bad);
    assert_eq!(tamper(&|s| s.index = 2), bad);
    assert_eq!(tamper(&|s| s.count = 4), bad, "index out of range");
    assert_eq!(tamper(&|s| s.count = 0), bad);
    assert_eq!(tamper(&|s| s.count = u16::MAX), bad);
    assert_eq!(tamper(&|s| s.path.push(H256::zero())), bad);
    assert_eq!(tamper(&|s| s.path.truncate(1)), bad);
    assert_eq!(tamper(&|s| s.path = vec![H256::zero(); 10_000]), bad);
    // A round of one header is the plain header signature.
    let single = types::sign_round(&members[3], &[header.hash()]);
    assert!(single[0].path.is_empty());
    assert_eq!(
        single[0].message_for(&header.hash()),
        Some(header.signing_message())
    );
}

fn install_committee(ext: &mut Ext, area: AreaId, members: &[sr25519::Pair]) {
    areas::Authorities::insert(
        ext,
        &area,
        &areas::AreaAuthority {
            area_id: area,
            primary: who(&members[0]),
            replicas: members[1..].iter().map(who).collect(),
            version: VERSION,
            last_update: 1,
        },
    );
}

#[test]
fn committee_members_sign_with_their_aura_session_keys() {
    let state = world();
    let mut ext = Ext::new(&state);
    assert_eq!(committee_keys(&mut ext, WEST), Err(Error::NoCommittee));
    let members = members();
    install_committee(&mut ext, WEST, &members);
    // Without session keys (a chain without staking): the accounts themselves.
    assert_eq!(
        committee_keys(&mut ext, WEST),
        Ok((VERSION, keys_of(&members)))
    );
    // With session keys for the active era: their Aura keys, in member order.
    let auras: Vec<sr25519::Pair> = (20..24).map(numbered_pair).collect();
    let era = staking::active_era_index(&mut ext);
    for (member, aura) in members.iter().zip(&auras) {
        staking::ErasSessionKeys::insert(
            &mut ext,
            &era,
            &who(member),
            &arceon_primitives::SessionKeys {
                aura: aura.public(),
                grandpa: sp_core::ed25519::Pair::from_seed(&[1; 32]).public(),
            },
        );
    }
    assert_eq!(
        committee_keys(&mut ext, WEST),
        Ok((VERSION, keys_of(&auras)))
    );
}

/// Runs `look` and rolls back whatever it wrote: a committee member looking ahead.
fn dry_run<R>(ext: &mut Ext, look: impl FnOnce(&mut Ext) -> R) -> R {
    struct Looked<R>(Option<R>);
    impl<R> From<DispatchError> for Looked<R> {
        fn from(_: DispatchError) -> Self {
            Looked(None)
        }
    }
    match ext.transactional(|ext| Err::<(), _>(Looked(Some(look(ext))))) {
        Err(Looked(Some(result))) => result,
        _ => panic!("the look ahead did not run"),
    }
}

/// Signs `batch`'s header by members 0, 1 and 2 of [`members`] after setting its count
/// and entries root from its body.
fn seal_and_certify(mut batch: Batch) -> CertifiedBatch {
    batch.header.count = batch.actions.len() as u32;
    batch.header.entries_root = merkle_root(&batch.entries());
    let members = members();
    let certificate = certify(
        &batch.header,
        &[(0, &members[0]), (1, &members[1]), (2, &members[2])],
    );
    CertifiedBatch { batch, certificate }
}

/// A west-lane batch of `actions` sequenced at `time_ms`, with the outcomes execution
/// gives on `ext`'s state, certified.
fn certified_batch(
    ext: &mut Ext,
    height: u64,
    parent: H256,
    time_ms: u64,
    actions: Vec<SignedLaneAction>,
) -> CertifiedBatch {
    let outcomes = dry_run(ext, |ext| {
        actions
            .iter()
            .map(|signed| apply(ext, &signed.action, time_ms).expect("the actions execute"))
            .collect()
    });
    seal_and_certify(Batch {
        header: header_at(height, parent, time_ms),
        actions,
        outcomes,
    })
}

#[test]
fn a_certified_batch_executes_and_a_failing_one_writes_nothing() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice(), bob()]);
    install_committee(&mut ext, WEST, &members());
    let alice_to = Position::new(SPAWN.x + 3 * UNIT, SPAWN.y);
    let actions = vec![
        SignedLaneAction::sign(action(&alice(), 0, walk_to(alice_to)), &alice()),
        SignedLaneAction::sign(
            action(&bob(), 0, ActionKind::Gather { resource: WOOD }),
            &bob(),
        ),
    ];
    let first = certified_batch(&mut ext, 1, H256::zero(), T0 + 10, actions);
    assert_eq!(
        first.batch.outcomes,
        vec![
            Outcome::Moved {
                area: WEST,
                position: alice_to
            },
            Outcome::Gathered {
                resource: WOOD,
                amount: WOOD_YIELD
            }
        ]
    );
    assert_eq!(validate_batch(&mut ext, &first).map(|_| ()), Ok(()));

    // The second batch: Alice walks on, Charlie (never joined) is slipped in with a
    // certified but impossible outcome. Nothing of it may stay.
    let alice_on = Position::new(alice_to.x + UNIT, alice_to.y);
    let walk_on = SignedLaneAction::sign(action(&alice(), 1, walk_to(alice_on)), &alice());
    let second = dry_run(&mut ext, |ext| {
        assert_eq!(apply_batch(ext, &first), Ok(()));
        certified_batch(ext, 2, first.batch.header.hash(), T0 + 200, vec![walk_on])
    });
    assert_eq!(lane_head(&mut ext, WEST), LaneHead::default());

    assert_eq!(apply_batch(&mut ext, &first), Ok(()));
    assert_eq!(stands(&mut ext, &alice()), (WEST, alice_to));
    assert_eq!(
        lane_head(&mut ext, WEST),
        LaneHead {
            height: 1,
            hash: first.batch.header.hash(),
            time_ms: T0 + 10
        }
    );
    refused(&mut ext, Error::BrokenChain, |ext| apply_batch(ext, &first));

    let mut with_charlie = second.batch.clone();
    with_charlie.actions.push(SignedLaneAction::sign(
        action(&charlie(), 0, walk_to(SPAWN)),
        &charlie(),
    ));
    with_charlie.outcomes.push(Outcome::Moved {
        area: WEST,
        position: SPAWN,
    });
    let with_charlie = seal_and_certify(with_charlie);
    refused(&mut ext, Error::OutcomeMismatch, |ext| {
        apply_batch(ext, &with_charlie)
    });
    assert_eq!(stands(&mut ext, &alice()), (WEST, alice_to));
    assert_eq!(lane_of(&mut ext, &alice()).nonce, 1);
    assert_eq!(lane_head(&mut ext, WEST).height, 1);

    // Without Charlie the batch is fine.
    assert_eq!(apply_batch(&mut ext, &second), Ok(()));
    assert_eq!(stands(&mut ext, &alice()), (WEST, alice_on));
    assert_eq!(lane_head(&mut ext, WEST).height, 2);
}

// ---------------------------------------------------------------------------------------
// What players outside the lanes can and cannot do to a receipt.
// ---------------------------------------------------------------------------------------

#[test]
fn gathers_outside_the_lanes_cannot_empty_what_a_lane_gather_was_promised() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    let wood = |ext: &mut Ext| areas::resource_amount(ext, WEST, WOOD, BLOCK);
    let deposit = wood(&mut ext);
    assert!(deposit >= WOOD_YIELD, "the west deposit holds wood");
    // Bob (not in the lanes) gathers through an extrinsic, then the rest of the deposit
    // goes the same way.
    let gathered =
        players::Call::Gather { resource: WOOD }.dispatch(&mut ext, Origin::Signed(who(&bob())));
    assert_eq!(gathered, Ok(()));
    let left = wood(&mut ext);
    areas::take_resource(&mut ext, WEST, WOOD, left, BLOCK).expect("the rest is taken");
    assert_eq!(wood(&mut ext), 0);
    // Alice's lane gather draws from the lane stock, which Bob never touched.
    assert_eq!(
        apply(
            &mut ext,
            &action(&alice(), 0, ActionKind::Gather { resource: WOOD }),
            T0
        ),
        Ok(Outcome::Gathered {
            resource: WOOD,
            amount: WOOD_YIELD
        })
    );
    let stock = players::LaneStock::get(&mut ext, &WEST, &WOOD).expect("the lane stock is used");
    assert_eq!(stock.amount, deposit - WOOD_YIELD);
}

#[test]
fn a_lane_crossing_is_not_refused_for_the_capacity_of_the_area_entered() {
    let state = world();
    let mut ext = Ext::new(&state);
    join_all(&mut ext, &[alice()]);
    // The east area is full (registrations and extrinsic moves of others can fill it
    // between a receipt and its block).
    let capacity = areas::active_area(&mut ext, EAST).expect("east").capacity;
    players::AreaPopulation::insert(&mut ext, &EAST, &capacity);
    let edge = Position::new(SIDE - 60 * UNIT, SPAWN.y);
    assert!(apply(&mut ext, &action(&alice(), 0, walk_to(edge)), T0).is_ok());
    let over = Position::new(SIDE + UNIT, SPAWN.y);
    assert_eq!(
        apply(&mut ext, &action(&alice(), 1, walk_to(over)), T0 + 7_000),
        Ok(Outcome::Crossed {
            from: WEST,
            to: EAST,
            position: over
        })
    );
}
