//! Fast-lane batches through real blocks. Players join by signed extrinsic; a committee
//! (the area's `Areas.Authorities` members, signing with their Aura session keys)
//! sequences their signed actions into a certified batch, which a block author includes
//! as an unsigned `FastLane::submit_batch` and an importer re-executes. Every way a batch
//! can be wrong makes the author refuse it (the state stays as it was) and makes a block
//! that carries it invalid.
//!
//! The chain: five validators with session keys distinct from their accounts, committees
//! of four (quorum three), two areas side by side, 1-second slots numbered from
//! [`GENESIS_SLOT`] so that lane times are realistic unix milliseconds.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use arceon_pallet_areas::{self as areas, AreaAuthority, AreaId, Bounds, Position, UNIT};
use arceon_pallet_balances as balances;
use arceon_pallet_fastlane::{
    self as fastlane, merkle_root, types, ActionKind, Batch, BatchHeader, Certificate,
    CertifiedBatch, LaneAction, LaneHead, Outcome, PlayerLane, SignedLaneAction,
};
use arceon_pallet_players as players;
use arceon_pallet_staking::{self as staking, Perbill, StakerStatus};
use arceon_pallet_structures as structures;
use arceon_primitives::{
    blake2_256,
    keyring::{numbered_pair, Keyring},
    sr25519, AccountId32, Block, Digest, DigestItem, Era, Header, InvalidTransaction, SignedExtra,
    TransactionSource, TransactionValidityError, ARCM, AURA_ENGINE_ID, H256,
};
use arceon_runtime::{
    aura, execute_block, executive::sign_extrinsic, genesis::genesis_block, genesis::AuraConfig,
    pallet_name, validate_transaction, world, ApplyExtrinsicResult, BlockBuilder, BlockError, Call,
    EventRecord, Extrinsic, GenesisConfig, RuntimeEvent,
};
use arceon_state::{ordered_trie_root, MemoryNodeStore, StateDelta, TrieState};
use arceon_support::Ext;
use codec::{Decode, Encode};
use sp_core::Pair as _;

// ---------------------------------------------------------------------------------------
// The test chain.
// ---------------------------------------------------------------------------------------

const ENDOWMENT: u128 = 1_000 * ARCM;
const VALIDATOR_BOND: u128 = 100 * ARCM;
/// Side of an area: 200 world units.
const SIDE: i64 = 200 * UNIT;
/// Where players spawn: the centre of the meadow.
const SPAWN: Position = Position::new(SIDE / 2, SIDE / 2);
const MEADOW: AreaId = 0;
const FOREST: AreaId = 1;
const WOOD: u32 = 1;
/// Wood one gather yields.
const WOOD_YIELD: u32 = 2;
const PLANK: u32 = 101;
const RECIPE_PLANK: u32 = 1;
/// A 10 x 10 hut with a 4-unit claim: one plank, and two wood per upgrade.
const HUT: u32 = 1;
const SLOT_MS: u64 = 1_000;
/// The slot the chain starts after: slot `s` starts at unix time `s` seconds.
const GENESIS_SLOT: u64 = 1_750_000_000;

fn account(pair: &sr25519::Pair) -> AccountId32 {
    AccountId32::from(pair.public())
}

/// A validator's Aura session key: not its account key, so a certificate signed with the
/// account would not pass.
fn aura_pair(stash: &sr25519::Pair) -> sr25519::Pair {
    let mut seed = b"aura".to_vec();
    seed.extend_from_slice(stash.public().as_ref());
    sr25519::Pair::from_seed(&blake2_256(&seed))
}

fn grandpa_pair(stash: &sr25519::Pair) -> sp_core::ed25519::Pair {
    sp_core::ed25519::Pair::from_seed(&blake2_256(stash.public().as_ref()))
}

/// Validators (bonded, with session keys) and players (registered at genesis).
struct Keys {
    validators: Vec<sr25519::Pair>,
    players: Vec<sr25519::Pair>,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            validators: vec![
                Keyring::Alice.pair(),
                Keyring::Bob.pair(),
                Keyring::Charlie.pair(),
                Keyring::Dave.pair(),
                Keyring::Eve.pair(),
            ],
            players: vec![Keyring::Ferdie.pair(), numbered_pair(0), numbered_pair(1)],
        }
    }
}

fn area(id: AreaId, column: i64, resources: Vec<areas::ResourceNode>) -> areas::AreaConfig {
    areas::AreaConfig {
        id,
        name: format!("area {id}"),
        bounds: Bounds::new(column * SIDE, 0, (column + 1) * SIDE, SIDE),
        neighbours: None,
        capacity: 1_000,
        resources,
    }
}

fn config(keys: &Keys) -> GenesisConfig {
    let everyone = || keys.validators.iter().chain(&keys.players);
    GenesisConfig {
        aura: AuraConfig {
            authorities: vec![aura_pair(&keys.validators[0]).public()],
            slot_duration: SLOT_MS,
        },
        balances: balances::GenesisConfig {
            balances: everyone().map(|pair| (account(pair), ENDOWMENT)).collect(),
        },
        staking: staking::GenesisConfig {
            stakers: keys
                .validators
                .iter()
                .map(|pair| (account(pair), VALIDATOR_BOND, StakerStatus::Validator))
                .collect(),
            validator_count: 10,
            min_validator_bond: 10 * ARCM,
            min_nominator_bond: ARCM,
            era_length: 1_000,
            sessions_per_era: 2,
            bonding_duration: 3,
            slash_defer_duration: 1,
            era_payout: 100 * ARCM,
            slash_fraction_equivocation: Perbill::from_percent(10),
        },
        session: staking::session::GenesisConfig {
            keys: keys
                .validators
                .iter()
                .map(|pair| {
                    let session = arceon_primitives::SessionKeys {
                        aura: aura_pair(pair).public(),
                        grandpa: grandpa_pair(pair).public(),
                    };
                    (account(pair), account(pair), session)
                })
                .collect(),
        },
        areas: areas::GenesisConfig {
            areas: vec![
                area(
                    MEADOW,
                    0,
                    vec![areas::ResourceNode {
                        resource: WOOD,
                        amount: 500,
                        max: 500,
                        regen_per_block: 1,
                        last_update: 0,
                    }],
                ),
                area(FOREST, 1, vec![]),
            ],
            starting_area: Some(MEADOW),
            committee_size: 4,
            split_threshold: 10_000,
            merge_threshold: 1_000,
        },
        players: players::GenesisConfig {
            resources: vec![players::ResourceInfo {
                id: WOOD,
                name: "Wood".into(),
                min_level: 1,
                yield_per_gather: WOOD_YIELD,
            }],
            recipes: vec![players::Recipe {
                id: RECIPE_PLANK,
                name: "Plank".into(),
                inputs: vec![(WOOD, 2)],
                output: (PLANK, 1),
                min_level: 1,
                xp: 10,
            }],
            max_actions_per_block: 4,
            max_actions_per_era: 1_000,
            players: keys
                .players
                .iter()
                .enumerate()
                .map(|(i, pair)| (account(pair), format!("player{i}")))
                .collect(),
        },
        structures: structures::GenesisConfig {
            kinds: vec![structures::StructureKind {
                id: HUT,
                name: "Hut".into(),
                width: 10 * UNIT,
                height: 10 * UNIT,
                claim_radius: 4 * UNIT,
                cost: vec![(PLANK, 1)],
                upgrade_cost: vec![(WOOD, 2)],
                max_level: 2,
            }],
            max_per_area: 16,
        },
        ..Default::default()
    }
}

/// The best block.
#[derive(Debug, Clone, Copy)]
struct Best {
    number: u32,
    hash: H256,
    root: H256,
    slot: u64,
}

/// A block built on the best block (committed or not).
struct Produced {
    block: Block,
    results: Vec<ApplyExtrinsicResult>,
    events: Vec<RuntimeEvent>,
}

impl Produced {
    fn assert_all_ok(&self) {
        for (index, result) in self.results.iter().enumerate() {
            assert!(
                matches!(result, Ok(Ok(()))),
                "block {} extrinsic {index}: {result:?}",
                self.block.header.number
            );
        }
    }
}

struct Chain {
    store: MemoryNodeStore,
    genesis_hash: H256,
    best: Best,
    /// Each validator's Aura session key pair, by its stash account.
    aura_of: HashMap<AccountId32, sr25519::Pair>,
    /// Each Aura pair by its public key, to seal blocks.
    sealers: HashMap<[u8; 32], sr25519::Pair>,
}

impl Chain {
    fn new(keys: &Keys) -> Chain {
        let storage = config(keys).build_storage().expect("genesis builds");
        let (header, delta) = genesis_block(&storage);
        let store = MemoryNodeStore::from_delta(&delta).expect("store");
        let aura_of: HashMap<AccountId32, sr25519::Pair> = keys
            .validators
            .iter()
            .map(|pair| (account(pair), aura_pair(pair)))
            .collect();
        let sealers = aura_of
            .values()
            .map(|pair| (pair.public().0, pair.clone()))
            .collect();
        let chain = Chain {
            store,
            genesis_hash: header.hash(),
            best: Best {
                number: 0,
                hash: header.hash(),
                root: header.state_root,
                slot: GENESIS_SLOT,
            },
            aura_of,
            sealers,
        };
        chain.assert_invariants();
        chain
    }

    fn state(&self) -> TrieState<&MemoryNodeStore> {
        TrieState::new(&self.store, self.best.root)
    }

    /// Runs `f` on a read context over the best state (its writes are dropped).
    fn read<R>(&self, f: impl FnOnce(&mut Ext) -> R) -> R {
        let state = self.state();
        let mut ext = Ext::new(&state);
        let result = f(&mut ext);
        assert_eq!(ext.take_fault(), None, "state read fault");
        result
    }

    fn assert_invariants(&self) {
        assert_eq!(
            self.read(world::check_invariants),
            Ok(()),
            "world invariants broken at block {}",
            self.best.number
        );
    }

    /// Signs `calls` in order, numbering each signer's nonces from its current one.
    fn signed(&self, calls: Vec<(&sr25519::Pair, Call)>) -> Vec<Vec<u8>> {
        let mut next: HashMap<AccountId32, u32> = HashMap::new();
        calls
            .into_iter()
            .map(|(pair, call)| {
                let who = account(pair);
                let nonce = *next.entry(who.clone()).or_insert_with(|| {
                    self.read(|ext| arceon_pallet_system::account_nonce(ext, &who))
                });
                next.insert(who, nonce + 1);
                let extra = SignedExtra {
                    era: Era::Immortal,
                    nonce,
                    tip: 0,
                };
                sign_extrinsic(call, pair, extra, self.genesis_hash, self.genesis_hash).encode()
            })
            .collect()
    }

    fn digest(slot: u64) -> Digest {
        Digest {
            logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
        }
    }

    /// A block builder for block `best + 1` at `slot`.
    fn builder<'a>(
        &self,
        state: &'a TrieState<&'a MemoryNodeStore>,
        slot: u64,
    ) -> BlockBuilder<'a, &'a MemoryNodeStore> {
        BlockBuilder::new(
            state,
            self.best.hash,
            self.best.number + 1,
            Self::digest(slot),
            self.genesis_hash,
        )
        .expect("block initializes")
    }

    /// Appends the Aura seal of `slot`'s author, as the node does.
    fn seal(&self, header: &mut Header) {
        let slot = header.digest.aura_slot().expect("slot");
        let authorities = self.read(aura::authorities);
        let author = aura::slot_author(&authorities, slot).expect("authorities");
        let pair = &self.sealers[&author.0];
        let signature = pair.sign(header.hash().as_bytes());
        header
            .digest
            .logs
            .push(DigestItem::Seal(AURA_ENGINE_ID, signature.0.to_vec()));
    }

    /// Builds block `best + 1` at `slot` with `xts`, without committing it.
    fn build_at(&self, slot: u64, xts: Vec<Vec<u8>>) -> (Produced, StateDelta) {
        let state = self.state();
        let mut builder = self.builder(&state, slot);
        let results = xts
            .into_iter()
            .map(|xt| builder.apply_extrinsic(xt))
            .collect();
        let built = builder.finalize().expect("block finalizes");
        let events = built
            .events
            .iter()
            .map(|record| EventRecord::decode(&mut &record[..]).expect("event").event)
            .collect();
        let mut header = built.header;
        self.seal(&mut header);
        let block = Block {
            header,
            extrinsics: built.extrinsics,
        };
        (
            Produced {
                block,
                results,
                events,
            },
            built.delta,
        )
    }

    /// Imports `block` on the best state as a node would: re-executes it.
    fn import(&self, block: &Block) -> Result<H256, BlockError> {
        execute_block(&self.state(), block, self.genesis_hash).map(|executed| executed.delta.root)
    }

    /// Makes a built block the best block, after importing it once more.
    fn commit(&mut self, produced: &Produced, delta: &StateDelta) {
        let header = &produced.block.header;
        assert_eq!(
            self.import(&produced.block),
            Ok(header.state_root),
            "it imports"
        );
        self.store.apply(delta).expect("delta applies");
        self.best = Best {
            number: header.number,
            hash: header.hash(),
            root: header.state_root,
            slot: header.digest.aura_slot().expect("slot"),
        };
        self.assert_invariants();
    }

    /// Builds, imports and commits the next block (next slot) with `xts`.
    fn produce(&mut self, xts: Vec<Vec<u8>>) -> Produced {
        let (produced, delta) = self.build_at(self.next_slot(), xts);
        self.commit(&produced, &delta);
        produced
    }

    fn next_slot(&self) -> u64 {
        self.best.slot + 1
    }

    /// `block` with `extrinsics` instead of its own, its extrinsics root fixed and
    /// re-sealed: only execution can tell it is wrong.
    fn forge(&self, block: &Block, extrinsics: Vec<Vec<u8>>) -> Block {
        let (mut header, _seal) = block.header.split_seal();
        header.extrinsics_root = ordered_trie_root(&extrinsics);
        self.seal(&mut header);
        Block { header, extrinsics }
    }

    fn committee(&self, area: AreaId) -> AreaAuthority {
        self.read(|ext| areas::authority(ext, area))
            .expect("the area has a committee")
    }

    fn player(&self, pair: &sr25519::Pair) -> players::Player {
        self.read(|ext| players::player(ext, &account(pair)))
            .expect("registered")
    }

    fn lane_head(&self, area: AreaId) -> LaneHead {
        self.read(|ext| fastlane::lane_head(ext, area))
    }

    fn player_lane(&self, pair: &sr25519::Pair) -> Option<PlayerLane> {
        self.read(|ext| fastlane::player_lane(ext, &account(pair)))
    }
}

// ---------------------------------------------------------------------------------------
// What a committee does.
// ---------------------------------------------------------------------------------------

fn walk_to(position: Position) -> ActionKind {
    ActionKind::Move {
        x: position.x,
        y: position.y,
    }
}

/// `player`'s signed lane action for `area`'s lane under its current committee.
fn act(
    chain: &Chain,
    player: &sr25519::Pair,
    area: AreaId,
    nonce: u64,
    kind: ActionKind,
) -> SignedLaneAction {
    let action = LaneAction {
        genesis: chain.genesis_hash,
        area,
        version: chain.committee(area).version,
        player: account(player),
        nonce,
        kind,
    };
    SignedLaneAction::sign(action, player)
}

/// Sets the header's count and entries root from the body.
fn fix_body(batch: &mut Batch) {
    batch.header.count = batch.actions.len() as u32;
    batch.header.entries_root = merkle_root(&batch.entries());
}

/// A batch of `area`'s lane at `height` after `parent`, with the outcomes the committee
/// certifies.
fn batch_of(
    chain: &Chain,
    area: AreaId,
    (height, parent): (u64, H256),
    time_ms: u64,
    actions: Vec<SignedLaneAction>,
    outcomes: Vec<Outcome>,
) -> Batch {
    let mut batch = Batch {
        header: BatchHeader {
            genesis: chain.genesis_hash,
            area,
            version: chain.committee(area).version,
            view: 0,
            height,
            parent,
            time_ms,
            entries_root: H256::zero(),
            count: 0,
        },
        actions,
        outcomes,
    };
    fix_body(&mut batch);
    batch
}

/// What `area`'s primary seals: `actions` executed at lane time `time_ms` with the
/// pallets' rules on the best state plus the lane's batches `pending` (certified, not
/// yet in a block), following the batch `parent` at `height`.
fn sequence(
    chain: &Chain,
    area: AreaId,
    pending: &[&Batch],
    link: (u64, H256),
    time_ms: u64,
    actions: Vec<SignedLaneAction>,
) -> Batch {
    let version = chain.committee(area).version;
    let genesis = chain.genesis_hash;
    let outcomes = chain.read(|ext| {
        for batch in pending {
            for signed in &batch.actions {
                let time = batch.header.time_ms;
                fastlane::apply_action(ext, &signed.action, &genesis, area, version, time)
                    .expect("pending batches execute");
            }
        }
        actions
            .iter()
            .map(|signed| {
                fastlane::apply_action(ext, &signed.action, &genesis, area, version, time_ms)
                    .expect("the primary sequences only actions that execute")
            })
            .collect()
    });
    batch_of(chain, area, link, time_ms, actions, outcomes)
}

/// `batch` with the signatures of committee members `signers` (indices, primary first),
/// each with its Aura session key.
fn certify(chain: &Chain, batch: Batch, signers: &[u8]) -> CertifiedBatch {
    let members = chain.committee(batch.header.area).members();
    certify_by(chain, batch, signers, &members)
}

/// `batch` with the signatures of `members` at indices `signers` (a committee that may
/// no longer be in force).
fn certify_by(
    chain: &Chain,
    batch: Batch,
    signers: &[u8],
    members: &[AccountId32],
) -> CertifiedBatch {
    let message = batch.header.signing_message();
    let signatures = signers
        .iter()
        .map(|index| {
            let member = &members[usize::from(*index)];
            (*index, chain.aura_of[member].sign(&message).0.into())
        })
        .collect();
    CertifiedBatch {
        batch,
        certificate: Certificate { signatures },
    }
}

/// The first three members: a quorum of four.
const QUORUM: &[u8] = &[0, 1, 2];

fn submit(certified: &CertifiedBatch) -> Vec<u8> {
    Extrinsic::new_unsigned(Call::FastLane(fastlane::Call::SubmitBatch {
        batch: certified.clone(),
    }))
    .encode()
}

fn join() -> Call {
    Call::FastLane(fastlane::Call::Join)
}

/// Start of `slot`, unix ms.
fn slot_start(slot: u64) -> u64 {
    slot * SLOT_MS
}

fn invalid(error: InvalidTransaction) -> TransactionValidityError {
    TransactionValidityError::Invalid(error)
}

fn custom(error: fastlane::Error) -> TransactionValidityError {
    invalid(InvalidTransaction::Custom(error as u8))
}

type LaneWorld = (
    Vec<LaneHead>,
    Vec<Option<PlayerLane>>,
    Vec<Option<players::Player>>,
);

/// What a lane batch can change: both lanes' heads, the players' lane records and the
/// players themselves.
fn lane_world(ext: &mut Ext, keys: &Keys) -> LaneWorld {
    let heads = [MEADOW, FOREST]
        .iter()
        .map(|area| fastlane::lane_head(ext, *area))
        .collect();
    let lanes = keys
        .players
        .iter()
        .map(|pair| fastlane::player_lane(ext, &account(pair)))
        .collect();
    let players: Vec<Option<players::Player>> = keys
        .players
        .iter()
        .map(|pair| players::player(ext, &account(pair)))
        .collect();
    (heads, lanes, players)
}

/// `bad` is refused by the author of the next block with `expected`, which leaves the
/// block's state exactly as it was; and a block whose author included `good` (which
/// imports) but that carries `bad` instead does not import.
fn assert_refused(
    chain: &Chain,
    keys: &Keys,
    good: &CertifiedBatch,
    bad: &CertifiedBatch,
    expected: TransactionValidityError,
    case: &str,
) {
    let slot = chain.next_slot();
    let (empty, _) = chain.build_at(slot, vec![]);

    // The author refuses it; nothing it checked or executed stays.
    let state = chain.state();
    let mut builder = chain.builder(&state, slot);
    let before = lane_world(builder.ext(), keys);
    let events_before = builder.ext().events().len();
    assert_eq!(
        builder.apply_extrinsic(submit(bad)),
        Err(expected),
        "{case}: the author's verdict"
    );
    assert_eq!(
        lane_world(builder.ext(), keys),
        before,
        "{case}: state changed"
    );
    assert_eq!(
        builder.ext().events().len(),
        events_before,
        "{case}: events"
    );
    assert_eq!(builder.extrinsic_count(), 0, "{case}: kept in the block");
    let built = builder.finalize().expect("block finalizes");
    assert_eq!(
        built.header.state_root, empty.block.header.state_root,
        "{case}: the block's state differs from an empty block's"
    );
    assert!(built.extrinsics.is_empty());

    // The importer: the honest block imports, the one carrying `bad` does not.
    let (carrying, _) = chain.build_at(slot, vec![submit(good)]);
    carrying.assert_all_ok();
    assert_eq!(
        chain.import(&carrying.block),
        Ok(carrying.block.header.state_root),
        "{case}: the block with the good batch imports"
    );
    let forged = chain.forge(&carrying.block, vec![submit(bad)]);
    assert_eq!(
        chain.import(&forged),
        Err(BlockError::InvalidExtrinsic {
            index: 0,
            error: expected
        }),
        "{case}: the importer's verdict"
    );
}

/// Block 1: `joining` join the lanes; blocks 2 to 11 are empty.
fn joined_chain(keys: &Keys, joining: &[&sr25519::Pair]) -> Chain {
    let mut chain = Chain::new(keys);
    let calls = joining.iter().map(|pair| (*pair, join())).collect();
    let produced = chain.produce(chain.signed(calls));
    produced.assert_all_ok();
    for pair in joining {
        assert!(produced
            .events
            .contains(&RuntimeEvent::FastLane(fastlane::Event::Joined {
                who: account(pair)
            })));
        // The lane clock starts at the joining block's slot: no idle time is banked.
        let record = chain.player_lane(pair).expect("joined");
        assert_eq!(record.nonce, 0);
        assert!(record.last_ms > 0, "the join records its slot: {record:?}");
    }
    // Ten empty slots: the joined players' first moves get the whole idle allowance.
    for _ in 0..10 {
        chain.produce(Vec::new()).assert_all_ok();
    }
    chain
}

// ---------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------

#[test]
fn lane_messages_are_no_call_and_their_tags_no_pallet_index() {
    let mut indices = 0;
    for index in 0..=u8::MAX {
        if pallet_name(index).is_some() {
            indices += 1;
            assert!(index < 64, "pallet index {index}");
            assert_ne!(index, types::ACTION_TAG[0]);
            assert_ne!(index, types::BATCH_TAG[0]);
        }
    }
    assert!(indices >= 12, "every pallet has a name");
    assert_eq!(
        pallet_name(fastlane::PALLET_INDEX),
        Some("FastLane"),
        "the fastlane pallet"
    );
    let action = LaneAction {
        genesis: H256::repeat_byte(1),
        area: MEADOW,
        version: 1,
        player: account(&Keyring::Ferdie.pair()),
        nonce: 0,
        kind: walk_to(SPAWN),
    };
    let message = action.signing_message();
    assert!(message.starts_with(types::ACTION_TAG));
    assert!(Call::decode(&mut &message[..]).is_err());
    assert_ne!(message.len(), 32, "not an extrinsic payload's hash");
}

#[test]
fn certified_batches_enter_blocks_and_import() {
    let keys = Keys::new();
    let [ferdie, rook, wren] = [&keys.players[0], &keys.players[1], &keys.players[2]];
    let mut chain = joined_chain(&keys, &[ferdie, rook]);
    assert_eq!(chain.lane_head(MEADOW), LaneHead::default());
    // A lane-bound player no longer moves by extrinsic; one outside the lanes still does.
    let step = Position::new(SPAWN.x + UNIT, SPAWN.y);
    let produced = chain.produce(chain.signed(vec![
        (
            ferdie,
            Call::Players(players::Call::MoveTo {
                x: step.x,
                y: step.y,
            }),
        ),
        (
            wren,
            Call::Players(players::Call::MoveTo {
                x: step.x,
                y: step.y,
            }),
        ),
    ]));
    assert_eq!(
        produced.results,
        vec![Ok(Err(players::Error::InFastLane.into())), Ok(Ok(()))]
    );
    assert_eq!(chain.player(ferdie).position, SPAWN);
    assert_eq!(chain.player(wren).position, step);

    // Height 1: Ferdie walks five units east, Rook gathers.
    let slot = chain.next_slot();
    let t1 = slot_start(slot) + 250;
    let ferdie_at = Position::new(SPAWN.x + 5 * UNIT, SPAWN.y);
    let first = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        t1,
        vec![
            act(&chain, ferdie, MEADOW, 0, walk_to(ferdie_at)),
            act(
                &chain,
                rook,
                MEADOW,
                0,
                ActionKind::Gather { resource: WOOD },
            ),
        ],
    );
    assert_eq!(
        first.outcomes,
        vec![
            Outcome::Moved {
                area: MEADOW,
                position: ferdie_at
            },
            Outcome::Gathered {
                resource: WOOD,
                amount: WOOD_YIELD
            }
        ]
    );
    let first = certify(&chain, first, QUORUM);
    let pool = validate_transaction(
        &chain.state(),
        chain.best.hash,
        TransactionSource::External,
        &submit(&first),
        chain.genesis_hash,
    )
    .expect("the pool takes a certified batch");
    assert_eq!(pool.provides, vec![(b"fastlane", MEADOW, 1u64).encode()]);

    let produced = chain.produce(vec![submit(&first)]);
    produced.assert_all_ok();
    let first_hash = first.batch.header.hash();
    assert!(produced
        .events
        .contains(&RuntimeEvent::FastLane(fastlane::Event::BatchIncluded {
            area: MEADOW,
            height: 1,
            hash: first_hash,
            count: 2,
        })));
    assert_eq!(
        chain.lane_head(MEADOW),
        LaneHead {
            height: 1,
            hash: first_hash,
            time_ms: t1
        }
    );
    assert_eq!(chain.lane_head(FOREST), LaneHead::default());
    assert_eq!(chain.player(ferdie).position, ferdie_at);
    assert_eq!(chain.player(rook).inventory, vec![(WOOD, WOOD_YIELD)]);
    assert_eq!(
        chain.player_lane(ferdie),
        Some(PlayerLane {
            nonce: 1,
            last_ms: t1
        })
    );

    // Heights 2 and 3 in one block: Ferdie walks on twice within a second at walking
    // speed, Rook crafts a plank from the wood it gathered.
    let slot = chain.next_slot();
    let (t2, t3) = (slot_start(slot) + 100, slot_start(slot) + 200);
    let ferdie_then = Position::new(ferdie_at.x, ferdie_at.y + 3 * UNIT);
    let ferdie_last = Position::new(ferdie_then.x + UNIT, ferdie_then.y);
    let second = sequence(
        &chain,
        MEADOW,
        &[],
        (2, first_hash),
        t2,
        vec![act(&chain, ferdie, MEADOW, 1, walk_to(ferdie_then))],
    );
    let third = sequence(
        &chain,
        MEADOW,
        &[&second],
        (3, second.header.hash()),
        t3,
        vec![
            act(&chain, ferdie, MEADOW, 2, walk_to(ferdie_last)),
            act(
                &chain,
                rook,
                MEADOW,
                1,
                ActionKind::Craft {
                    recipe: RECIPE_PLANK,
                },
            ),
        ],
    );
    assert_eq!(
        third.outcomes[1],
        Outcome::Crafted {
            recipe: RECIPE_PLANK,
            output: PLANK,
            amount: 1
        }
    );
    let (second, third) = (
        certify(&chain, second, &[0, 1, 3]),
        certify(&chain, third, &[0, 1, 2, 3]),
    );
    let produced = chain.produce(vec![submit(&second), submit(&third)]);
    produced.assert_all_ok();
    assert_eq!(chain.player(ferdie).position, ferdie_last);
    assert_eq!(chain.player(rook).inventory, vec![(PLANK, 1)]);
    assert_eq!(
        chain.lane_head(MEADOW),
        LaneHead {
            height: 3,
            hash: third.batch.header.hash(),
            time_ms: t3
        }
    );
    assert_eq!(chain.player_lane(ferdie).map(|lane| lane.nonce), Some(3));
    assert_eq!(chain.player_lane(rook).map(|lane| lane.nonce), Some(2));
    let included: Vec<u64> = produced
        .events
        .iter()
        .filter_map(|event| match event {
            RuntimeEvent::FastLane(fastlane::Event::BatchIncluded { height, .. }) => Some(*height),
            _ => None,
        })
        .collect();
    assert_eq!(included, vec![2, 3]);
}

#[test]
fn wrong_batches_are_refused_by_authors_and_make_blocks_invalid() {
    let keys = Keys::new();
    let [ferdie, rook, wren] = [&keys.players[0], &keys.players[1], &keys.players[2]];
    let chain = joined_chain(&keys, &[ferdie, rook]);
    let slot = chain.next_slot();
    let time = slot_start(slot) + 300;
    let to = Position::new(SPAWN.x + 2 * UNIT, SPAWN.y);
    let actions = |chain: &Chain| {
        vec![
            act(chain, ferdie, MEADOW, 0, walk_to(to)),
            act(
                chain,
                rook,
                MEADOW,
                0,
                ActionKind::Gather { resource: WOOD },
            ),
        ]
    };
    let batch = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        time,
        actions(&chain),
    );
    let good = certify(&chain, batch.clone(), QUORUM);
    let committee = chain.committee(MEADOW);
    assert_eq!(committee.members().len(), 4);
    let stranger = keys
        .validators
        .iter()
        .find(|pair| !committee.members().contains(&account(pair)))
        .expect("five validators, four members");

    // The certificate.
    let mut forged = good.clone();
    forged.certificate.signatures[1].1.signature[7] ^= 0x10;
    assert_refused(
        &chain,
        &keys,
        &good,
        &forged,
        invalid(InvalidTransaction::BadProof),
        "a forged member signature",
    );

    let under_signed = certify(&chain, batch.clone(), &[0, 2]);
    assert_refused(
        &chain,
        &keys,
        &good,
        &under_signed,
        invalid(InvalidTransaction::BadProof),
        "two signatures of four",
    );

    let mut outsider = good.clone();
    outsider.certificate.signatures[2].1 = aura_pair(stranger)
        .sign(&batch.header.signing_message())
        .0
        .into();
    assert_refused(
        &chain,
        &keys,
        &good,
        &outsider,
        invalid(InvalidTransaction::BadProof),
        "a validator outside the committee signs",
    );
    let mut beyond = good.clone();
    beyond.certificate.signatures.push((
        4,
        aura_pair(stranger)
            .sign(&batch.header.signing_message())
            .0
            .into(),
    ));
    assert_refused(
        &chain,
        &keys,
        &good,
        &beyond,
        invalid(InvalidTransaction::BadProof),
        "a fifth member",
    );

    let mut account_keys = good.clone();
    for (index, signature) in &mut account_keys.certificate.signatures {
        let member = &committee.members()[usize::from(*index)];
        let stash = keys
            .validators
            .iter()
            .find(|pair| account(pair) == *member)
            .expect("a validator");
        *signature = stash.sign(&batch.header.signing_message()).0.into();
    }
    assert_refused(
        &chain,
        &keys,
        &good,
        &account_keys,
        invalid(InvalidTransaction::BadProof),
        "signed with the stash keys, not the session keys",
    );

    // The hash chain.
    let mut orphan = batch.clone();
    orphan.header.parent = H256::repeat_byte(9);
    let orphan = certify(&chain, orphan, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &orphan,
        invalid(InvalidTransaction::Stale),
        "a first batch with a parent",
    );

    let second = sequence(
        &chain,
        MEADOW,
        &[&batch],
        (2, batch.header.hash()),
        time + 100,
        vec![act(
            &chain,
            ferdie,
            MEADOW,
            1,
            walk_to(Position::new(to.x + UNIT, to.y)),
        )],
    );
    let second = certify(&chain, second, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &second,
        invalid(InvalidTransaction::Stale),
        "height 2 before height 1",
    );

    // Lane time: within MAX_BATCH_AGE_MS before the slot's start and MAX_DRIFT_MS after
    // its end, both ends included.
    // (A gather: a move's reach depends on the time since the player joined.)
    let at = |time_ms: u64| {
        let batch = sequence(
            &chain,
            MEADOW,
            &[],
            (1, H256::zero()),
            time_ms,
            vec![act(
                &chain,
                rook,
                MEADOW,
                0,
                ActionKind::Gather { resource: WOOD },
            )],
        );
        certify(&chain, batch, QUORUM)
    };
    let latest = slot_start(slot) + SLOT_MS + fastlane::MAX_DRIFT_MS;
    assert_refused(
        &chain,
        &keys,
        &at(latest),
        &at(latest + 1),
        custom(fastlane::Error::BadTime),
        "too far in the future",
    );
    let earliest = slot_start(slot) - fastlane::MAX_BATCH_AGE_MS;
    assert_refused(
        &chain,
        &keys,
        &at(earliest),
        &at(earliest - 1),
        custom(fastlane::Error::BadTime),
        "older than the window",
    );

    // The body.
    let mut other_outcome = batch.clone();
    other_outcome.outcomes[0] = Outcome::Moved {
        area: MEADOW,
        position: Position::new(to.x, to.y + 1),
    };
    fix_body(&mut other_outcome);
    let other_outcome = certify(&chain, other_outcome, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &other_outcome,
        custom(fastlane::Error::OutcomeMismatch),
        "a certified outcome execution does not give",
    );

    let mut other_amount = batch.clone();
    other_amount.outcomes[1] = Outcome::Gathered {
        resource: WOOD,
        amount: WOOD_YIELD + 1,
    };
    fix_body(&mut other_amount);
    let other_amount = certify(&chain, other_amount, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &other_amount,
        custom(fastlane::Error::OutcomeMismatch),
        "more wood than a gather yields",
    );

    let mut impostor = batch.clone();
    impostor.actions[0].signature = wren.sign(&impostor.actions[0].action.signing_message()).0;
    fix_body(&mut impostor);
    let impostor = certify(&chain, impostor, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &impostor,
        custom(fastlane::Error::BadSignature),
        "a move Ferdie did not sign",
    );

    let mut stranger_action = batch.clone();
    stranger_action
        .actions
        .push(act(&chain, wren, MEADOW, 0, walk_to(SPAWN)));
    stranger_action.outcomes.push(Outcome::Moved {
        area: MEADOW,
        position: SPAWN,
    });
    fix_body(&mut stranger_action);
    let stranger_action = certify(&chain, stranger_action, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &stranger_action,
        custom(fastlane::Error::OutcomeMismatch),
        "a player who never joined",
    );

    let mut unsealed = good.clone();
    unsealed.batch.outcomes.swap(0, 1);
    assert_refused(
        &chain,
        &keys,
        &good,
        &unsealed,
        custom(fastlane::Error::BadBody),
        "outcomes that are not the certified ones",
    );

    // None of it reached the chain; the good batch still goes in.
    assert_eq!(chain.lane_head(MEADOW), LaneHead::default());
    assert_eq!(chain.player(ferdie).position, SPAWN);
}

#[test]
fn a_batch_must_follow_the_last_included_one() {
    let keys = Keys::new();
    let [ferdie, rook] = [&keys.players[0], &keys.players[1]];
    let mut chain = joined_chain(&keys, &[ferdie, rook]);
    let t1 = slot_start(chain.next_slot()) + 500;
    let first = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        t1,
        vec![act(
            &chain,
            ferdie,
            MEADOW,
            0,
            walk_to(Position::new(SPAWN.x, SPAWN.y + UNIT)),
        )],
    );
    let first = certify(&chain, first, QUORUM);
    chain.produce(vec![submit(&first)]).assert_all_ok();
    let head = chain.lane_head(MEADOW);
    assert_eq!(head.height, 1);

    let t2 = slot_start(chain.next_slot()) + 500;
    // Ferdie walks back to the spawn point.
    let next = |chain: &Chain, parent: H256, time_ms: u64, nonce: u64| {
        let action = act(chain, ferdie, MEADOW, nonce, walk_to(SPAWN));
        let outcome = Outcome::Moved {
            area: MEADOW,
            position: SPAWN,
        };
        let batch = batch_of(
            chain,
            MEADOW,
            (2, parent),
            time_ms,
            vec![action],
            vec![outcome],
        );
        certify(chain, batch, QUORUM)
    };
    let good = next(&chain, head.hash, t2, 1);
    assert_refused(
        &chain,
        &keys,
        &good,
        &first,
        invalid(InvalidTransaction::Stale),
        "the same batch again",
    );
    assert_refused(
        &chain,
        &keys,
        &good,
        &next(&chain, H256::repeat_byte(3), t2, 1),
        invalid(InvalidTransaction::Stale),
        "a parent that is not the lane head",
    );
    let mut fork = first.batch.clone();
    fork.header.time_ms += 1;
    let fork = certify(&chain, fork, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &next(&chain, fork.batch.header.hash(), t2, 1),
        invalid(InvalidTransaction::Stale),
        "following another batch of height 1",
    );
    assert_refused(
        &chain,
        &keys,
        &good,
        &next(&chain, head.hash, t1, 1),
        custom(fastlane::Error::BadTime),
        "lane time not after the head's",
    );
    assert_refused(
        &chain,
        &keys,
        &good,
        &next(&chain, head.hash, t2, 0),
        custom(fastlane::Error::OutcomeMismatch),
        "a replayed nonce",
    );
    let third = sequence(
        &chain,
        MEADOW,
        &[&good.batch],
        (3, good.batch.header.hash()),
        t2 + 100,
        vec![act(
            &chain,
            rook,
            MEADOW,
            0,
            ActionKind::Gather { resource: WOOD },
        )],
    );
    let third = certify(&chain, third, QUORUM);
    assert_refused(
        &chain,
        &keys,
        &good,
        &third,
        invalid(InvalidTransaction::Stale),
        "height 3 before height 2",
    );

    // In order, both go in, in one block.
    chain
        .produce(vec![submit(&good), submit(&third)])
        .assert_all_ok();
    assert_eq!(chain.lane_head(MEADOW).height, 3);
    assert_eq!(chain.player(ferdie).position, SPAWN);
    assert_eq!(chain.player(rook).inventory, vec![(WOOD, WOOD_YIELD)]);
}

#[test]
fn structures_are_built_upgraded_and_demolished_through_the_lane() {
    let keys = Keys::new();
    let [ferdie, rook, wren] = [&keys.players[0], &keys.players[1], &keys.players[2]];
    let mut chain = joined_chain(&keys, &[ferdie, rook]);
    let hut_at = Position::new(SPAWN.x + 3 * UNIT, SPAWN.y + 3 * UNIT);
    let place = |x: i64, y: i64| {
        Call::Structures(structures::Call::Place {
            area: MEADOW,
            position: Position::new(x, y),
            kind: HUT,
        })
    };

    // In an area with a committee nobody places by extrinsic: not a player outside the
    // lanes (`LaneArea`), not a lane-bound one (`InFastLane`).
    let produced = chain.produce(chain.signed(vec![
        (wren, place(hut_at.x, hut_at.y)),
        (ferdie, place(hut_at.x, hut_at.y)),
    ]));
    assert_eq!(
        produced.results,
        vec![
            Ok(Err(structures::Error::LaneArea.into())),
            Ok(Err(players::Error::InFastLane.into()))
        ]
    );

    // Without a plank the primary refuses the placement: nothing to sequence.
    let genesis = chain.genesis_hash;
    let version = chain.committee(MEADOW).version;
    let t0 = slot_start(chain.next_slot()) + 100;
    let try_now = |chain: &Chain, pending: &[&Batch], signed: &SignedLaneAction, at: u64| {
        chain.read(|ext| {
            for batch in pending {
                for action in &batch.actions {
                    fastlane::apply_action(
                        ext,
                        &action.action,
                        &genesis,
                        MEADOW,
                        version,
                        batch.header.time_ms,
                    )
                    .expect("pending batches execute");
                }
            }
            fastlane::apply_action(ext, &signed.action, &genesis, MEADOW, version, at)
        })
    };
    let hut = ActionKind::Place {
        kind: HUT,
        x: hut_at.x,
        y: hut_at.y,
    };
    assert_eq!(
        try_now(&chain, &[], &act(&chain, ferdie, MEADOW, 0, hut), t0),
        Err(structures::Error::InsufficientResources.into())
    );

    // Ferdie gathers twice and crafts a plank (one action per batch: 100 ms apart).
    let gather = ActionKind::Gather { resource: WOOD };
    let craft = ActionKind::Craft {
        recipe: RECIPE_PLANK,
    };
    let mut batches: Vec<Batch> = Vec::new();
    let next_link = |batches: &[Batch]| {
        batches.last().map_or((1, H256::zero()), |last| {
            (last.header.height + 1, last.header.hash())
        })
    };
    let next_time = |batches: &[Batch]| t0 + 100 * batches.len() as u64;
    let step = |chain: &Chain, batches: &mut Vec<Batch>, nonce: u64, kind: ActionKind| {
        let pending: Vec<&Batch> = batches.iter().collect();
        let batch = sequence(
            chain,
            MEADOW,
            &pending,
            next_link(batches),
            next_time(batches),
            vec![act(chain, ferdie, MEADOW, nonce, kind)],
        );
        batches.push(batch);
    };
    step(&chain, &mut batches, 0, gather);
    step(&chain, &mut batches, 1, gather);
    step(&chain, &mut batches, 2, gather);
    step(&chain, &mut batches, 3, craft);
    // The hut, then an upgrade named by a point of its footprint.
    step(&chain, &mut batches, 4, hut);
    let inside = ActionKind::Upgrade {
        x: hut_at.x + 5 * UNIT,
        y: hut_at.y + 9 * UNIT,
    };
    // Rook cannot upgrade Ferdie's hut, and nobody builds on it.
    {
        let pending: Vec<&Batch> = batches.iter().collect();
        let time = next_time(&batches);
        assert_eq!(
            try_now(
                &chain,
                &pending,
                &act(&chain, rook, MEADOW, 0, inside),
                time
            ),
            Err(structures::Error::NotOwner.into())
        );
        assert_eq!(
            try_now(&chain, &pending, &act(&chain, ferdie, MEADOW, 5, hut), time),
            Err(structures::Error::Occupied.into())
        );
    }
    step(&chain, &mut batches, 5, inside);
    assert_eq!(
        batches[4].outcomes,
        vec![Outcome::Placed {
            kind: HUT,
            position: hut_at
        }]
    );
    assert_eq!(
        batches[5].outcomes,
        vec![Outcome::Upgraded {
            kind: HUT,
            position: hut_at,
            level: 2
        }]
    );

    // The first three batches in one block, the next three in the next: each places,
    // pays and upgrades exactly as certified.
    let certified: Vec<CertifiedBatch> = batches
        .iter()
        .map(|batch| certify(&chain, batch.clone(), QUORUM))
        .collect();
    chain
        .produce(certified[..3].iter().map(submit).collect())
        .assert_all_ok();
    let produced = chain.produce(certified[3..].iter().map(submit).collect());
    produced.assert_all_ok();
    assert!(produced.events.iter().any(|event| matches!(
        event,
        RuntimeEvent::Structures(structures::Event::Placed { owner, area: MEADOW, kind: HUT, position, .. })
            if *owner == account(ferdie) && *position == hut_at
    )));
    let built = chain.read(|ext| structures::structures_of(ext, &account(ferdie), None, 10));
    assert_eq!(built.len(), 1);
    assert_eq!(
        (built[0].kind, built[0].position, built[0].level),
        (HUT, hut_at, 2)
    );
    // Six wood gathered: two became the plank the hut cost, two paid the upgrade.
    assert_eq!(chain.player(ferdie).inventory, vec![(WOOD, 2)]);

    // Demolished through the lane: half of what it cost comes back (one of the two wood
    // of the upgrade; half a plank rounds down to none).
    let time = slot_start(chain.next_slot()) + 100;
    let demolish = sequence(
        &chain,
        MEADOW,
        &[],
        next_link(&batches),
        time,
        vec![act(
            &chain,
            ferdie,
            MEADOW,
            6,
            ActionKind::Demolish {
                x: hut_at.x,
                y: hut_at.y,
            },
        )],
    );
    assert_eq!(
        demolish.outcomes,
        vec![Outcome::Demolished {
            kind: HUT,
            position: hut_at
        }]
    );
    chain
        .produce(vec![submit(&certify(&chain, demolish, QUORUM))])
        .assert_all_ok();
    assert!(chain
        .read(|ext| structures::structures_of(ext, &account(ferdie), None, 10))
        .is_empty());
    assert_eq!(chain.player(ferdie).inventory, vec![(WOOD, 3)]);
    chain.assert_invariants();
}

fn report(first: &CertifiedBatch, second: &CertifiedBatch) -> Vec<u8> {
    Extrinsic::new_unsigned(Call::FastLane(fastlane::Call::ReportEquivocation {
        proof: Box::new(fastlane::EquivocationProof {
            first: first.clone(),
            second: second.clone(),
        }),
    }))
    .encode()
}

fn pool_verdict(chain: &Chain, xt: &[u8]) -> Result<(), TransactionValidityError> {
    validate_transaction(
        &chain.state(),
        chain.best.hash,
        TransactionSource::External,
        xt,
        chain.genesis_hash,
    )
    .map(|_| ())
}

#[test]
fn two_certificates_at_one_height_slash_the_double_signers_and_pay_the_contested_players() {
    let keys = Keys::new();
    let [ferdie, rook, wren] = [&keys.players[0], &keys.players[1], &keys.players[2]];
    let mut chain = joined_chain(&keys, &[ferdie, rook, wren]);
    let committee = chain.committee(MEADOW);
    let members = committee.members();
    assert_eq!(members.len(), 4, "a committee of four");
    let t1 = slot_start(chain.next_slot()) + 250;
    let east = Position::new(SPAWN.x + 2 * UNIT, SPAWN.y);
    let west = Position::new(SPAWN.x - 2 * UNIT, SPAWN.y);
    // The primary seals two batches at height 1: Ferdie walks east in one and west in
    // the other; Rook gathers in both (the same entry: not contested); Wren acts only in
    // the second. Members 0 and 1 sign both, 2 and 3 one each.
    let gather = act(
        &chain,
        rook,
        MEADOW,
        0,
        ActionKind::Gather { resource: WOOD },
    );
    let first = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        t1,
        vec![
            act(&chain, ferdie, MEADOW, 0, walk_to(east)),
            gather.clone(),
        ],
    );
    let second = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        t1,
        vec![
            act(&chain, ferdie, MEADOW, 0, walk_to(west)),
            gather,
            act(&chain, wren, MEADOW, 0, walk_to(east)),
        ],
    );
    let first = certify(&chain, first, &[0, 1, 2]);
    let second = certify(&chain, second, &[0, 1, 3]);

    // What is not evidence is refused by the pool, and writes nothing.
    let under_signed = certify(&chain, second.batch.clone(), &[0, 1]);
    let mut other_height = second.clone();
    other_height.batch.header.height = 2;
    let other_height = certify(&chain, other_height.batch, &[0, 1, 3]);
    let mut tampered = second.clone();
    tampered.batch.outcomes.pop();
    for (case, a, b, expected) in [
        (
            "the same batch twice",
            &first,
            &first,
            InvalidTransaction::BadProof,
        ),
        (
            "an under-signed second",
            &first,
            &under_signed,
            InvalidTransaction::BadProof,
        ),
        (
            "another height",
            &first,
            &other_height,
            InvalidTransaction::BadProof,
        ),
        (
            "a body its header does not match",
            &first,
            &tampered,
            InvalidTransaction::BadProof,
        ),
    ] {
        assert_eq!(
            pool_verdict(&chain, &report(a, b)),
            Err(invalid(expected)),
            "{case}"
        );
    }
    assert_eq!(pool_verdict(&chain, &report(&first, &second)), Ok(()));

    let balance =
        |chain: &Chain, who: &AccountId32| chain.read(|ext| balances::free_balance(ext, who));
    let bonded = |chain: &Chain, who: &AccountId32| {
        chain.read(|ext| staking::ledger(ext, who).map_or(0, |ledger| ledger.total))
    };
    let players_before: Vec<u128> = [ferdie, rook, wren]
        .iter()
        .map(|pair| balance(&chain, &account(pair)))
        .collect();
    let bonds_before: Vec<u128> = members.iter().map(|m| bonded(&chain, m)).collect();

    let produced = chain.produce(vec![report(&first, &second)]);
    produced.assert_all_ok();
    let reported = fastlane::Event::EquivocationReported {
        area: MEADOW,
        version: committee.version,
        height: 1,
        offenders: members[..2].to_vec(),
        contested: 3,
    };
    assert!(
        produced.events.contains(&RuntimeEvent::FastLane(reported)),
        "{:?}",
        produced.events
    );
    // Ferdie holds two contested receipts (east and west), Wren one; Rook's gather is
    // in both batches.
    assert!(produced
        .events
        .contains(&RuntimeEvent::FastLane(fastlane::Event::Compensated {
            who: account(ferdie),
            amount: 2 * fastlane::RECEIPT_COMPENSATION,
        })));
    assert!(produced
        .events
        .contains(&RuntimeEvent::FastLane(fastlane::Event::Compensated {
            who: account(wren),
            amount: fastlane::RECEIPT_COMPENSATION,
        })));
    assert_eq!(
        balance(&chain, &account(ferdie)),
        players_before[0] + 2 * fastlane::RECEIPT_COMPENSATION
    );
    assert_eq!(balance(&chain, &account(rook)), players_before[1]);
    assert_eq!(
        balance(&chain, &account(wren)),
        players_before[2] + fastlane::RECEIPT_COMPENSATION
    );
    // The double signers paid it from their bonds (half each) and are disabled; the
    // members that signed one batch lost nothing.
    let owed = 3 * fastlane::RECEIPT_COMPENSATION;
    for (index, member) in members.iter().enumerate() {
        let after = bonded(&chain, member);
        if index < 2 {
            assert!(
                bonds_before[index] - after >= owed / 2,
                "member {index} paid its share: {} -> {after}",
                bonds_before[index]
            );
            assert!(chain.read(|ext| staking::is_disabled(ext, member)));
        } else {
            assert_eq!(after, bonds_before[index], "member {index} signed once");
            assert!(!chain.read(|ext| staking::is_disabled(ext, member)));
        }
    }
    // The same evidence again (either order) is stale: one punishment per position.
    assert_eq!(
        pool_verdict(&chain, &report(&second, &first)),
        Err(invalid(InvalidTransaction::Stale))
    );
    chain.assert_invariants();
}

/// The receipt of action `index` of a certified batch.
fn receipt_of(certified: &CertifiedBatch, index: usize) -> types::Receipt {
    let batch = &certified.batch;
    types::Receipt {
        header: batch.header.clone(),
        certificate: certified.certificate.clone(),
        index: index as u32,
        action_hash: batch.actions[index].hash(),
        outcome: batch.outcomes[index],
        proof: fastlane::merkle_proof(&batch.entries(), index),
    }
}

fn challenge(certified: &CertifiedBatch, index: usize, included: Vec<BatchHeader>) -> Vec<u8> {
    Extrinsic::new_unsigned(Call::FastLane(fastlane::Call::ChallengeReceipt {
        challenge: Box::new(fastlane::ReceiptChallenge {
            receipt: receipt_of(certified, index),
            action: certified.batch.actions[index].clone(),
            included,
        }),
    }))
    .encode()
}

#[test]
fn a_receipt_the_chain_broke_is_challenged_and_its_signers_pay_the_player() {
    let keys = Keys::new();
    let [ferdie, rook] = [&keys.players[0], &keys.players[1]];
    let mut chain = joined_chain(&keys, &[ferdie, rook]);
    let members = chain.committee(MEADOW).members();
    let bonded = |chain: &Chain, who: &AccountId32| {
        chain.read(|ext| staking::ledger(ext, who).map_or(0, |ledger| ledger.total))
    };
    let free = |chain: &Chain, pair: &sr25519::Pair| {
        chain.read(|ext| balances::free_balance(ext, &account(pair)))
    };
    let not_broken = custom(fastlane::Error::ReceiptNotBroken);

    // Height 1 is receipted twice: Ferdie's walk (members 0, 1, 2 sign) and, in another
    // batch, Rook's gather (members 0, 1, 3), which the chain includes.
    let t1 = slot_start(chain.next_slot()) + 250;
    let east = Position::new(SPAWN.x + 2 * UNIT, SPAWN.y);
    let walk = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        t1,
        vec![act(&chain, ferdie, MEADOW, 0, walk_to(east))],
    );
    let walk = certify(&chain, walk, &[0, 1, 2]);
    let gather = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        t1,
        vec![act(
            &chain,
            rook,
            MEADOW,
            0,
            ActionKind::Gather { resource: WOOD },
        )],
    );
    let gather = certify(&chain, gather, &[0, 1, 3]);
    // Nothing is broken yet: the walk's batch may still be included.
    assert_eq!(
        pool_verdict(&chain, &challenge(&walk, 0, vec![])),
        Err(not_broken)
    );
    chain.produce(vec![submit(&gather)]).assert_all_ok();
    assert_eq!(chain.lane_head(MEADOW).height, 1);

    // Rook's receipt holds: the chain has its batch.
    let gather_header = gather.batch.header.clone();
    assert_eq!(
        pool_verdict(&chain, &challenge(&gather, 0, vec![gather_header.clone()])),
        Err(not_broken)
    );
    // A forged receipt, or headers that do not lead to the lane's head, prove nothing.
    let mut forged = walk.clone();
    forged.batch.outcomes[0] = Outcome::Moved {
        area: MEADOW,
        position: SPAWN,
    };
    let mut unlinked = gather_header.clone();
    unlinked.time_ms += 1;
    for (case, xt) in [
        (
            "a forged outcome",
            challenge(&forged, 0, vec![gather_header.clone()]),
        ),
        ("headers off the chain", challenge(&walk, 0, vec![unlinked])),
    ] {
        assert_eq!(
            pool_verdict(&chain, &xt),
            Err(invalid(InvalidTransaction::BadProof)),
            "{case}"
        );
    }

    // Ferdie's receipt is broken: the chain put another batch at its height.
    let before = free(&chain, ferdie);
    let bonds: Vec<u128> = members.iter().map(|m| bonded(&chain, m)).collect();
    let produced = chain.produce(vec![challenge(&walk, 0, vec![gather_header])]);
    produced.assert_all_ok();
    assert!(produced
        .events
        .contains(&RuntimeEvent::FastLane(fastlane::Event::ReceiptBroken {
            area: MEADOW,
            height: 1,
            action: walk.batch.actions[0].hash(),
            signers: members[..3].to_vec(),
        })));
    assert_eq!(
        free(&chain, ferdie),
        before + fastlane::RECEIPT_COMPENSATION
    );
    for (index, member) in members.iter().enumerate() {
        let after = bonded(&chain, member);
        if index < 3 {
            assert!(after < bonds[index], "signer {index} paid its share");
            // The smaller penalty: no disabling.
            assert!(!chain.read(|ext| staking::is_disabled(ext, member)));
        } else {
            assert_eq!(after, bonds[index], "member {index} did not sign it");
        }
    }
    assert_eq!(
        pool_verdict(
            &chain,
            &challenge(&walk, 0, vec![gather.batch.header.clone()])
        ),
        Err(invalid(InvalidTransaction::Stale)),
        "paid once"
    );

    // Height 2 is receipted and never included: once its lane time is too old for any
    // block to take it, its receipt is broken too.
    let t2 = slot_start(chain.next_slot()) + 250;
    let stroll = sequence(
        &chain,
        MEADOW,
        &[],
        (2, gather.batch.header.hash()),
        t2,
        vec![act(&chain, ferdie, MEADOW, 0, walk_to(east))],
    );
    let stroll = certify(&chain, stroll, &[1, 2, 3]);
    chain.produce(vec![]).assert_all_ok();
    assert_eq!(
        pool_verdict(&chain, &challenge(&stroll, 0, vec![])),
        Err(not_broken)
    );
    let late = chain.best.slot + fastlane::MAX_BATCH_AGE_MS / SLOT_MS + 2;
    let (produced, delta) = chain.build_at(late, vec![]);
    chain.commit(&produced, &delta);
    let before = free(&chain, ferdie);
    let produced = chain.produce(vec![challenge(&stroll, 0, vec![])]);
    produced.assert_all_ok();
    assert_eq!(
        free(&chain, ferdie),
        before + fastlane::RECEIPT_COMPENSATION
    );
    chain.assert_invariants();
}

#[test]
fn a_new_committee_takes_over_the_lane_after_the_old_ones_certified_batches() {
    let keys = Keys::new();
    let [ferdie, rook] = [&keys.players[0], &keys.players[1]];
    let mut chain = joined_chain(&keys, &[ferdie, rook]);
    let old = chain.committee(MEADOW);
    // Height 1 is in a block; height 2 is certified by the old committee, not yet.
    let t1 = slot_start(chain.next_slot()) + 250;
    let east = Position::new(SPAWN.x + UNIT, SPAWN.y);
    let first = sequence(
        &chain,
        MEADOW,
        &[],
        (1, H256::zero()),
        t1,
        vec![act(&chain, ferdie, MEADOW, 0, walk_to(east))],
    );
    let first = certify(&chain, first, QUORUM);
    chain.produce(vec![submit(&first)]).assert_all_ok();
    let t2 = slot_start(chain.next_slot()) + 100;
    let second = sequence(
        &chain,
        MEADOW,
        &[],
        (2, first.batch.header.hash()),
        t2,
        vec![act(
            &chain,
            rook,
            MEADOW,
            0,
            ActionKind::Gather { resource: WOOD },
        )],
    );
    let second = certify(&chain, second, QUORUM);

    // A replica chills: committees are chosen again at once, area 0's under a new
    // version without it.
    let leaving = old.members()[3].clone();
    let pair = keys
        .validators
        .iter()
        .find(|pair| account(pair) == leaving)
        .expect("a validator");
    chain
        .produce(chain.signed(vec![(pair, Call::Staking(staking::Call::Chill))]))
        .assert_all_ok();
    let new = chain.committee(MEADOW);
    assert!(new.version > old.version, "{old:?} -> {new:?}");
    assert!(!new.members().contains(&leaving), "{new:?}");

    // The old committee's certified batch still enters a block: its receipts hold.
    chain.produce(vec![submit(&second)]).assert_all_ok();
    assert_eq!(chain.lane_head(MEADOW).height, 2);
    assert_eq!(
        chain
            .read(|ext| fastlane::Signers::get(ext, &MEADOW))
            .map(|(v, _)| v),
        Some(old.version)
    );

    // An old-version batch signed by the old committee at height 3, kept for later.
    let t3 = slot_start(chain.next_slot()) + 100;
    let old_members = old.members();
    let stale_action = SignedLaneAction::sign(
        LaneAction {
            genesis: chain.genesis_hash,
            area: MEADOW,
            version: old.version,
            player: account(ferdie),
            nonce: 1,
            kind: walk_to(SPAWN),
        },
        ferdie,
    );
    let mut stale = batch_of(
        &chain,
        MEADOW,
        (3, second.batch.header.hash()),
        t3,
        vec![stale_action],
        vec![Outcome::Moved {
            area: MEADOW,
            position: SPAWN,
        }],
    );
    stale.header.version = old.version;
    let stale = certify_by(&chain, stale, QUORUM, &old_members);
    assert_eq!(
        pool_verdict(&chain, &submit(&stale)),
        Ok(()),
        "the old lane may still go on"
    );

    // The new committee's first batch continues from the old lane's last.
    let third = sequence(
        &chain,
        MEADOW,
        &[],
        (3, second.batch.header.hash()),
        t3,
        vec![act(&chain, ferdie, MEADOW, 1, walk_to(SPAWN))],
    );
    assert_eq!(third.header.version, new.version);
    let third = certify(&chain, third, QUORUM);
    chain.produce(vec![submit(&third)]).assert_all_ok();
    assert_eq!(chain.lane_head(MEADOW).height, 3);
    assert_eq!(
        chain
            .read(|ext| fastlane::Signers::get(ext, &MEADOW))
            .map(|(v, _)| v),
        Some(new.version)
    );
    // From then on the old lane is closed.
    let mut late = stale.clone();
    late.batch.header.height = 4;
    late.batch.header.parent = third.batch.header.hash();
    assert_eq!(
        pool_verdict(&chain, &submit(&late)),
        Err(custom(fastlane::Error::WrongVersion))
    );
    chain.assert_invariants();
}
