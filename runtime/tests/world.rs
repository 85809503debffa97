//! The whole world through the executive: staking eras driving Aura and area committees,
//! players, structures and NPCs living on a map that splits and merges, equivocation
//! reports, and deterministic re-import. Every block built here is followed by
//! `world::check_invariants` on its state.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use arceon_pallet_areas::{self as areas, AreaAuthority, AreaId, Bounds, Position, UNIT};
use arceon_pallet_balances as balances;
use arceon_pallet_fastlane::{
    self as fastlane, entry_hash, merkle_root, ActionKind, Batch, BatchHeader, Certificate,
    CertifiedBatch, LaneAction, LaneHead, SignedLaneAction,
};
use arceon_pallet_npcs::{self as npcs, NpcKind};
use arceon_pallet_players as players;
use arceon_pallet_staking::{self as staking, Perbill, StakerStatus};
use arceon_pallet_structures as structures;
use arceon_pallet_system as system;
use arceon_primitives::{
    keyring::{numbered_pair, Keyring},
    sr25519, AccountId32, Block, Digest, DigestItem, Era, Header, InvalidTransaction, SignedExtra,
    TransactionSource, TransactionValidityError, ARCM, AURA_ENGINE_ID, H256,
};
use arceon_runtime::{
    aura, execute_block, executive::sign_extrinsic, genesis::genesis_block, genesis::AuraConfig,
    validate_transaction, world, ApplyExtrinsicResult, BlockBuilder, Call, EventRecord, Extrinsic,
    GenesisConfig, RuntimeEvent,
};
use arceon_state::{MemoryNodeStore, StateDelta, TrieState};
use arceon_support::{DispatchError, DispatchResult, Ext, Origin};
use codec::{Decode, Encode};
use sp_core::Pair as _;

// ---------------------------------------------------------------------------------------
// The test chain.
// ---------------------------------------------------------------------------------------

const ENDOWMENT: u128 = 1_000 * ARCM;
const VALIDATOR_BOND: u128 = 100 * ARCM;
const ERA_PAYOUT: u128 = 100 * ARCM;
/// Side of a genesis area: 200 world units.
const SIDE: i64 = 200 * UNIT;
/// Where players spawn: the centre of area 0.
const SPAWN: Position = Position::new(SIDE / 2, SIDE / 2);

/// Signing keys: the dev keyring and two numbered accounts.
struct Keys {
    alice: sr25519::Pair,
    bob: sr25519::Pair,
    charlie: sr25519::Pair,
    dave: sr25519::Pair,
    eve: sr25519::Pair,
    ferdie: sr25519::Pair,
    extra: Vec<sr25519::Pair>,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            alice: Keyring::Alice.pair(),
            bob: Keyring::Bob.pair(),
            charlie: Keyring::Charlie.pair(),
            dave: Keyring::Dave.pair(),
            eve: Keyring::Eve.pair(),
            ferdie: Keyring::Ferdie.pair(),
            extra: (0..2).map(numbered_pair).collect(),
        }
    }

    fn all(&self) -> Vec<sr25519::Pair> {
        let mut all = vec![
            self.alice.clone(),
            self.bob.clone(),
            self.charlie.clone(),
            self.dave.clone(),
            self.eve.clone(),
            self.ferdie.clone(),
        ];
        all.extend(self.extra.iter().cloned());
        all
    }
}

fn account(pair: &sr25519::Pair) -> AccountId32 {
    AccountId32::from(pair.public())
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
    author: AccountId32,
}

impl Produced {
    fn number(&self) -> u32 {
        self.block.header.number
    }

    /// Every extrinsic was applied and its call succeeded.
    fn assert_all_ok(&self) {
        for (index, result) in self.results.iter().enumerate() {
            assert!(
                matches!(result, Ok(Ok(()))),
                "block {} extrinsic {index}: {result:?}",
                self.number()
            );
        }
    }

    fn has(&self, event: &RuntimeEvent) -> bool {
        self.events.contains(event)
    }
}

struct Chain {
    store: MemoryNodeStore,
    genesis_hash: H256,
    best: Best,
    /// Every committed block, in order.
    blocks: Vec<Block>,
    /// Keys that seal the blocks their account authors.
    sealers: Vec<sr25519::Pair>,
}

impl Chain {
    fn new(config: &GenesisConfig, sealers: Vec<sr25519::Pair>) -> Chain {
        let storage = config.build_storage().expect("genesis builds");
        let (header, delta) = genesis_block(&storage);
        let store = MemoryNodeStore::from_delta(&delta).expect("store");
        let chain = Chain {
            store,
            genesis_hash: header.hash(),
            best: Best {
                number: 0,
                hash: header.hash(),
                root: header.state_root,
                slot: 0,
            },
            blocks: Vec::new(),
            sealers,
        };
        chain.assert_invariants();
        chain
    }

    fn state(&self) -> TrieState<&MemoryNodeStore> {
        TrieState::new(&self.store, self.best.root)
    }

    /// Runs `f` on a read context over the best state.
    fn read<R>(&self, f: impl FnOnce(&mut Ext) -> R) -> R {
        let state = self.state();
        let mut ext = Ext::new(&state);
        let result = f(&mut ext);
        assert_eq!(ext.take_fault(), None, "state read fault");
        result
    }

    fn assert_invariants(&self) {
        let result = self.read(world::check_invariants);
        assert_eq!(
            result,
            Ok(()),
            "world invariants broken at block {}",
            self.best.number
        );
    }

    fn nonce(&self, who: &AccountId32) -> u32 {
        self.read(|ext| system::account_nonce(ext, who))
    }

    /// Signs `calls` in order, numbering each signer's nonces from its current one.
    fn signed(&self, calls: Vec<(&sr25519::Pair, Call)>) -> Vec<Vec<u8>> {
        let mut next: HashMap<AccountId32, u32> = HashMap::new();
        calls
            .into_iter()
            .map(|(pair, call)| {
                let who = account(pair);
                let nonce = *next.entry(who.clone()).or_insert_with(|| self.nonce(&who));
                next.insert(who, nonce + 1);
                sign_extrinsic(
                    call,
                    pair,
                    SignedExtra {
                        era: Era::Immortal,
                        nonce,
                        tip: 0,
                    },
                    self.genesis_hash,
                    self.genesis_hash,
                )
                .encode()
            })
            .collect()
    }

    /// The author Aura expects for `slot` at the best state.
    fn author_of(&self, slot: u64) -> AccountId32 {
        let authorities = self.read(aura::authorities);
        AccountId32::from(aura::slot_author(&authorities, slot).expect("authorities"))
    }

    fn aura_authorities(&self) -> Vec<AccountId32> {
        self.read(aura::authorities)
            .into_iter()
            .map(AccountId32::from)
            .collect()
    }

    fn active_validators(&self) -> Vec<AccountId32> {
        self.read(staking::active_validators)
    }

    fn active_era(&self) -> u32 {
        self.read(staking::active_era_index)
    }

    fn committees(&self) -> BTreeMap<AreaId, AreaAuthority> {
        self.read(|ext| areas::Authorities::iter(ext).into_iter().collect())
    }

    fn issuance(&self) -> u128 {
        self.read(balances::total_issuance)
    }

    fn player(&self, who: &AccountId32) -> players::Player {
        self.read(|ext| players::player(ext, who))
            .expect("registered")
    }

    fn area(&self, id: AreaId) -> areas::Area {
        self.read(|ext| areas::area(ext, id)).expect("area exists")
    }

    /// Builds block `best + 1` at `slot` with `xts`, without committing it; the header is
    /// sealed by its author when its key is known.
    fn build_at(&self, slot: u64, xts: Vec<Vec<u8>>) -> (Produced, StateDelta) {
        let state = self.state();
        let digest = Digest {
            logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
        };
        let mut builder = BlockBuilder::new(
            &state,
            self.best.hash,
            self.best.number + 1,
            digest,
            self.genesis_hash,
        )
        .expect("block initializes");
        let author = builder.author().clone();
        let results = xts
            .into_iter()
            .map(|xt| builder.apply_extrinsic(xt))
            .collect();
        let built = builder.finalize().expect("block finalizes");
        let events = decode_events(&built.events);
        let mut header = built.header;
        if let Some(pair) = self.sealers.iter().find(|p| account(p) == author) {
            seal(&mut header, pair);
        }
        let block = Block {
            header,
            extrinsics: built.extrinsics,
        };
        (
            Produced {
                block,
                results,
                events,
                author,
            },
            built.delta,
        )
    }

    /// Makes a built block the best block and checks the world's invariants.
    fn commit(&mut self, produced: &Produced, delta: &StateDelta) {
        self.store.apply(delta).expect("delta applies");
        let header = &produced.block.header;
        assert_eq!(delta.root, header.state_root);
        self.best = Best {
            number: header.number,
            hash: header.hash(),
            root: header.state_root,
            slot: header.digest.aura_slot().expect("slot"),
        };
        self.blocks.push(produced.block.clone());
        self.assert_invariants();
    }

    /// Builds and commits the next block (next slot) with `xts`.
    fn produce(&mut self, xts: Vec<Vec<u8>>) -> Produced {
        let (produced, delta) = self.build_at(self.best.slot + 1, xts);
        self.commit(&produced, &delta);
        produced
    }

    /// Builds and commits empty blocks until block `number` is the best.
    fn produce_until(&mut self, number: u32) -> Vec<Produced> {
        let mut produced = Vec::new();
        while self.best.number < number {
            produced.push(self.produce(vec![]));
        }
        produced
    }

    /// Dispatches `call` as root on the best state and writes its changes to the store
    /// (as a sudo extrinsic would, without a block).
    fn root_dispatch(&mut self, call: Call) -> DispatchResult {
        let (result, delta) = {
            let state = self.state();
            let mut ext = Ext::new(&state);
            let result = ext.transactional(|ext| call.dispatch(ext, Origin::Root));
            assert_eq!(ext.take_fault(), None);
            let delta = state.apply_changes(ext.into_changes()).expect("changes");
            (result, delta)
        };
        self.store.apply(&delta).expect("delta applies");
        self.best.root = delta.root;
        self.assert_invariants();
        result
    }
}

/// Appends an Aura seal by `pair` over the unsealed header's hash, as the node does.
fn seal(header: &mut Header, pair: &sr25519::Pair) {
    let signature = pair.sign(header.hash().as_bytes());
    header
        .digest
        .logs
        .push(DigestItem::Seal(AURA_ENGINE_ID, signature.0.to_vec()));
}

fn decode_events(raw: &[Vec<u8>]) -> Vec<RuntimeEvent> {
    raw.iter()
        .map(|record| EventRecord::decode(&mut &record[..]).expect("event").event)
        .collect()
}

// ---------------------------------------------------------------------------------------
// The world's genesis (mirrors chain-spec/dev.json, with short eras).
// ---------------------------------------------------------------------------------------

fn node(resource: u32) -> areas::ResourceNode {
    areas::ResourceNode {
        resource,
        amount: 500,
        max: 500,
        regen_per_block: 1,
        last_update: 0,
    }
}

/// Eight 200 x 200 unit areas in a 4 x 2 grid: ids 0..=3 along the south row, 4..=7 north.
fn grid() -> Vec<areas::AreaConfig> {
    let names = [
        "Meadow",
        "Whisperwood",
        "Greystone Quarry",
        "Lakeshore",
        "Amber Hills",
        "Fenmarsh",
        "Ironridge",
        "Saltharbor",
    ];
    let resources: [&[u32]; 8] = [
        &[1, 5],
        &[1, 5],
        &[2],
        &[4, 5],
        &[2, 5],
        &[5, 4],
        &[3, 2],
        &[4, 1],
    ];
    (0..8u32)
        .map(|id| {
            let (col, row) = (i64::from(id % 4), i64::from(id / 4));
            areas::AreaConfig {
                id,
                name: names[id as usize].to_string(),
                bounds: Bounds::new(col * SIDE, row * SIDE, (col + 1) * SIDE, (row + 1) * SIDE),
                neighbours: None,
                capacity: 10_000,
                resources: resources[id as usize].iter().map(|r| node(*r)).collect(),
            }
        })
        .collect()
}

fn resource(id: u32, name: &str, min_level: u32, yield_per_gather: u32) -> players::ResourceInfo {
    players::ResourceInfo {
        id,
        name: name.to_string(),
        min_level,
        yield_per_gather,
    }
}

fn recipe(
    id: u32,
    name: &str,
    inputs: Vec<(u32, u32)>,
    output: u32,
    min_level: u32,
) -> players::Recipe {
    players::Recipe {
        id,
        name: name.to_string(),
        inputs,
        output: (output, 1),
        min_level,
        xp: 10,
    }
}

fn kind(
    id: u32,
    name: &str,
    side: (i64, i64),
    claim_radius: i64,
    cost: Vec<(u32, u32)>,
    upgrade_cost: Vec<(u32, u32)>,
    max_level: u8,
) -> structures::StructureKind {
    structures::StructureKind {
        id,
        name: name.to_string(),
        width: side.0,
        height: side.1,
        claim_radius,
        cost,
        upgrade_cost,
        max_level,
    }
}

const WOOD: u32 = 1;
const STONE: u32 = 2;
const HERBS: u32 = 5;
const PLANK: u32 = 101;
const RECIPE_PLANK: u32 = 1;
const HUT: u32 = 1;
/// A free 2 x 2 unit structure without a claim, for placing things at exact spots.
const MARKER: u32 = 9;

fn npc(name: &str, kind: NpcKind, area: AreaId, x: i64, y: i64) -> npcs::NpcConfig {
    npcs::NpcConfig {
        name: name.to_string(),
        kind,
        area,
        position: Position::new(x, y),
    }
}

/// The GRANDPA key of a test validator: ed25519 from a seed its account key names.
fn grandpa_pair(pair: &sr25519::Pair) -> sp_core::ed25519::Pair {
    sp_core::ed25519::Pair::from_seed(&arceon_primitives::blake2_256(pair.public().as_ref()))
}

/// A test validator's session keys: its account key seals (Aura), [`grandpa_pair`] votes.
fn session_keys(pair: &sr25519::Pair) -> arceon_primitives::SessionKeys {
    arceon_primitives::SessionKeys {
        aura: pair.public(),
        grandpa: grandpa_pair(pair).public(),
    }
}

/// The dev world with `validators` bonded and validating, short eras and rewards.
fn world_config(validators: &[&sr25519::Pair], keys: &Keys) -> GenesisConfig {
    let staking = staking::GenesisConfig {
        stakers: validators
            .iter()
            .map(|pair| (account(pair), VALIDATOR_BOND, StakerStatus::Validator))
            .collect(),
        validator_count: 10,
        min_validator_bond: 10 * ARCM,
        min_nominator_bond: ARCM,
        era_length: 10,
        sessions_per_era: 2,
        bonding_duration: 3,
        slash_defer_duration: 1,
        era_payout: ERA_PAYOUT,
        slash_fraction_equivocation: Perbill::from_percent(10),
    };
    GenesisConfig {
        system: Default::default(),
        aura: AuraConfig {
            authorities: vec![keys.alice.public()],
            slot_duration: 1000,
        },
        balances: balances::GenesisConfig {
            balances: keys
                .all()
                .iter()
                .map(|pair| (account(pair), ENDOWMENT))
                .collect(),
        },
        staking,
        session: staking::session::GenesisConfig {
            keys: keys
                .all()
                .iter()
                .map(|pair| (account(pair), account(pair), session_keys(pair)))
                .collect(),
        },
        areas: areas::GenesisConfig {
            areas: grid(),
            starting_area: Some(0),
            committee_size: 3,
            split_threshold: 10_000,
            merge_threshold: 1_000,
        },
        players: players::GenesisConfig {
            resources: vec![
                resource(WOOD, "Wood", 1, 2),
                resource(STONE, "Stone", 1, 2),
                resource(3, "Iron Ore", 2, 1),
                resource(4, "Fish", 1, 1),
                resource(HERBS, "Herbs", 1, 1),
            ],
            recipes: vec![
                recipe(RECIPE_PLANK, "Plank", vec![(WOOD, 2)], PLANK, 1),
                recipe(2, "Brick", vec![(STONE, 2)], 102, 1),
                recipe(3, "Iron Ingot", vec![(3, 2)], 103, 2),
                recipe(4, "Tool", vec![(101, 1), (103, 1)], 104, 3),
                recipe(5, "Remedy", vec![(HERBS, 3)], 105, 1),
            ],
            max_actions_per_block: 4,
            max_actions_per_era: 1_000,
            players: Vec::new(),
        },
        structures: structures::GenesisConfig {
            kinds: vec![
                kind(
                    HUT,
                    "Hut",
                    (10 * UNIT, 10 * UNIT),
                    5 * UNIT,
                    vec![(PLANK, 1)],
                    vec![(PLANK, 2)],
                    3,
                ),
                kind(
                    2,
                    "Workshop",
                    (16 * UNIT, 12 * UNIT),
                    8 * UNIT,
                    vec![(101, 2), (102, 2)],
                    vec![(102, 2), (103, 1)],
                    3,
                ),
                kind(
                    3,
                    "Watchtower",
                    (6 * UNIT, 6 * UNIT),
                    10 * UNIT,
                    vec![(102, 4)],
                    vec![(102, 4)],
                    2,
                ),
                kind(MARKER, "Marker", (2 * UNIT, 2 * UNIT), 0, vec![], vec![], 1),
            ],
            max_per_area: 256,
        },
        npcs: npcs::GenesisConfig {
            npcs: vec![
                npc("Old Tom", NpcKind::Villager, 0, 60_000, 60_000),
                npc("Mara the Trader", NpcKind::Trader, 1, 300_000, 100_000),
                npc("Quarry Foreman", NpcKind::Villager, 2, 500_000, 50_000),
                npc("Grey Wolf", NpcKind::Beast, 5, 300_000, 300_000),
                npc("Harbor Master", NpcKind::Trader, 7, 700_000, 300_000),
            ],
            spawn_rules: vec![
                (
                    5,
                    vec![npcs::SpawnRule {
                        kind: NpcKind::Beast,
                        max_count: 4,
                        chance_per_mille: 20,
                    }],
                ),
                (
                    1,
                    vec![npcs::SpawnRule {
                        kind: NpcKind::Beast,
                        max_count: 2,
                        chance_per_mille: 10,
                    }],
                ),
            ],
            decisions_per_block: 32,
        },
        ..Default::default()
    }
}

fn join_lanes() -> Call {
    Call::FastLane(fastlane::Call::Join)
}

/// `actions` of lane-bound players through `area`'s fast lane, as the block at the next
/// slot would include them: one certified batch per action (a player acts at most once
/// per batch), 100 ms of lane time apart from the start of that slot, each executed with
/// the pallets' rules on the best state plus the batches before it and signed by every
/// committee member (whose Aura keys are their accounts here).
fn lane_batches(
    chain: &Chain,
    keys: &Keys,
    area: AreaId,
    actions: Vec<(&sr25519::Pair, ActionKind)>,
) -> Vec<Vec<u8>> {
    let genesis = chain.genesis_hash;
    let committee = chain.committees()[&area].clone();
    let version = committee.version;
    let signers: HashMap<AccountId32, sr25519::Pair> = keys
        .all()
        .into_iter()
        .map(|pair| (account(&pair), pair))
        .collect();
    let start_ms = (chain.best.slot + 1) * 1_000 + 100;
    chain.read(|ext| {
        let mut head = fastlane::lane_head(ext, area);
        let mut batches = Vec::new();
        for (i, (pair, kind)) in actions.into_iter().enumerate() {
            let time_ms = start_ms + 100 * i as u64;
            let player = account(pair);
            let nonce = fastlane::player_lane(ext, &player).expect("joined").nonce;
            let action = LaneAction {
                genesis,
                area,
                version,
                player,
                nonce,
                kind,
            };
            let outcome = fastlane::apply_action(ext, &action, &genesis, area, version, time_ms)
                .expect("the lane sequences only actions that execute");
            let signed = SignedLaneAction::sign(action, pair);
            let header = BatchHeader {
                genesis,
                area,
                version,
                view: 0,
                height: head.height + 1,
                parent: head.hash,
                time_ms,
                entries_root: merkle_root(&[entry_hash(&signed.hash(), &outcome)]),
                count: 1,
            };
            head = LaneHead {
                height: header.height,
                hash: header.hash(),
                time_ms,
            };
            let message = header.signing_message();
            let signatures = committee
                .members()
                .iter()
                .enumerate()
                .map(|(index, member)| (index as u8, signers[member].sign(&message).0.into()))
                .collect();
            let certified = CertifiedBatch {
                batch: Batch {
                    header,
                    actions: vec![signed],
                    outcomes: vec![outcome],
                },
                certificate: Certificate { signatures },
            };
            batches.push(
                Extrinsic::new_unsigned(Call::FastLane(fastlane::Call::SubmitBatch {
                    batch: certified,
                }))
                .encode(),
            );
        }
        batches
    })
}

/// A seal of `area`'s lane at `head` for committee `version`: reports for the first
/// sealing view that the reporter holds nothing beyond `head`, by the committee's
/// members at `reporters` (indices), each signing with `signer(member)`.
fn seal_at(
    chain: &Chain,
    keys: &Keys,
    area: AreaId,
    version: u64,
    head: fastlane::LaneHead,
    reporters: &[usize],
) -> fastlane::Seal {
    use fastlane::seal::{report_digest, SignedReport, SEAL_VIEW};
    let signers: HashMap<AccountId32, sr25519::Pair> = keys
        .all()
        .into_iter()
        .map(|pair| (account(&pair), pair))
        .collect();
    let members = chain.committees()[&area].members();
    let reports = reporters
        .iter()
        .map(|index| {
            let digest = report_digest(
                &chain.genesis_hash,
                area,
                version,
                SEAL_VIEW,
                head.height,
                &[],
            );
            let message = fastlane::types::round_message(&digest);
            SignedReport {
                member: *index as u8,
                included: head.height,
                entries: Vec::new(),
                signature: signers[&members[*index]].sign(&message).0.into(),
            }
        })
        .collect();
    fastlane::Seal {
        area,
        version,
        view: SEAL_VIEW,
        head,
        reports,
    }
}

fn end_lane_xt(seal: fastlane::Seal) -> Vec<u8> {
    Extrinsic::new_unsigned(Call::FastLane(fastlane::Call::EndLane {
        seal: Box::new(seal),
    }))
    .encode()
}

/// `FastLane.end_lane` extrinsics sealing the lanes of `areas` where the chain's lane
/// ends, reported by every committee member.
fn end_lanes(chain: &Chain, keys: &Keys, areas: &[AreaId]) -> Vec<Vec<u8>> {
    areas
        .iter()
        .map(|area| {
            let committee = chain.committees()[area].clone();
            let head = chain.read(|ext| fastlane::lane_head(ext, *area));
            let all: Vec<usize> = (0..committee.members().len()).collect();
            end_lane_xt(seal_at(chain, keys, *area, committee.version, head, &all))
        })
        .collect()
}

/// Produces the block that ends the lanes a scheduled reshape waits for (it holds their
/// seals) and so makes the reshape at its end.
fn reshape_after_seals(chain: &mut Chain, keys: &Keys, areas: &[AreaId]) -> Produced {
    let ended = chain.produce(end_lanes(chain, keys, areas));
    ended.assert_all_ok();
    for area in areas {
        assert!(
            ended.events.iter().any(|e| matches!(
                e,
                RuntimeEvent::FastLane(fastlane::Event::LaneEnded { area: ended, .. }) if ended == area
            )),
            "area {area}'s lane ends"
        );
    }
    ended
}

fn register(name: &str) -> Call {
    Call::Players(players::Call::Register {
        name: name.as_bytes().to_vec(),
    })
}

fn move_to(x: i64, y: i64) -> Call {
    Call::Players(players::Call::MoveTo { x, y })
}

fn gather(resource: u32) -> Call {
    Call::Players(players::Call::Gather { resource })
}

fn craft(recipe: u32) -> Call {
    Call::Players(players::Call::Craft { recipe })
}

fn bond(value: u128) -> Call {
    Call::Staking(staking::Call::Bond { value })
}

fn validate() -> Call {
    Call::Staking(staking::Call::Validate {
        prefs: staking::ValidatorPrefs::default(),
    })
}

fn chill() -> Call {
    Call::Staking(staking::Call::Chill)
}

/// The era-change events of a block: `(era, validators)` of `NewEra`.
fn new_era(produced: &Produced) -> Option<(u32, Vec<AccountId32>)> {
    produced.events.iter().find_map(|event| match event {
        RuntimeEvent::Staking(staking::Event::NewEra {
            era_index,
            validators,
        }) => Some((*era_index, validators.clone())),
        _ => None,
    })
}

fn era_payout(produced: &Produced) -> Option<u128> {
    produced.events.iter().find_map(|event| match event {
        RuntimeEvent::Staking(staking::Event::EraPaid {
            validator_payout, ..
        }) => Some(*validator_payout),
        _ => None,
    })
}

/// The committees are the same (members, version and update block) in every area
/// of `areas`.
fn same_committees(
    before: &BTreeMap<AreaId, AreaAuthority>,
    after: &BTreeMap<AreaId, AreaAuthority>,
    areas: impl IntoIterator<Item = AreaId>,
    context: &str,
) {
    for id in areas {
        assert_eq!(
            before.get(&id),
            after.get(&id),
            "{context}: the committee of area {id} changed"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 1. A living world keeps its invariants.
// ---------------------------------------------------------------------------------------

#[test]
fn world_blocks_keep_invariants() {
    let keys = Keys::new();
    let mut config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    // A beast right next to the spawn point, and villagers that spawn every block in the
    // quarry until there are three.
    config.npcs.npcs.push(npc(
        "Meadow Boar",
        NpcKind::Beast,
        0,
        SPAWN.x + 3 * UNIT,
        SPAWN.y,
    ));
    config
        .npcs
        .npcs
        .push(npc("Shepherd", NpcKind::Villager, 0, 40_000, 150_000));
    config.npcs.spawn_rules.push((
        2,
        vec![npcs::SpawnRule {
            kind: NpcKind::Villager,
            max_count: 3,
            chance_per_mille: 1000,
        }],
    ));
    config.npcs.decisions_per_block = 64;
    let mut chain = Chain::new(&config, keys.all());
    let validators: Vec<AccountId32> = [&keys.alice, &keys.bob, &keys.charlie, &keys.dave]
        .iter()
        .map(|p| account(p))
        .collect();
    assert_eq!(chain.aura_authorities().len(), 4);
    let genesis_issuance = chain.issuance();
    let (eve, ferdie, charlie) = (
        account(&keys.eve),
        account(&keys.ferdie),
        account(&keys.charlie),
    );

    // Block 1: three players register and spawn at the centre of the Meadow.
    let first = chain.produce(chain.signed(vec![
        (&keys.eve, register("Eve")),
        (&keys.ferdie, register("Ferdie")),
        (&keys.charlie, register("Charlie")),
    ]));
    first.assert_all_ok();
    for (who, name) in [(&eve, "Eve"), (&ferdie, "Ferdie"), (&charlie, "Charlie")] {
        assert!(
            first.has(&RuntimeEvent::Players(players::Event::PlayerRegistered {
                who: who.clone(),
                name: name.as_bytes().to_vec(),
                area: 0,
                position: SPAWN,
            }))
        );
    }

    let mut all_events: Vec<(u32, RuntimeEvent)> =
        first.events.iter().cloned().map(|e| (1, e)).collect();
    let mut payouts = 0u128;
    let mut eras_seen = Vec::new();
    let hut_at = Position::new(SPAWN.x + 10 * UNIT, SPAWN.y);
    for n in 2..=32u32 {
        let step = i64::from(n - 1);
        let mut calls: Vec<(&sr25519::Pair, Call)> = Vec::new();
        // Eve gathers wood twice, crafts two planks and builds a hut next to her.
        match n {
            2 | 3 => calls.push((&keys.eve, gather(WOOD))),
            // Then she joins the fast lanes: areas with a committee (all of them here)
            // are built on through their lane.
            4 => {
                calls.push((&keys.eve, craft(RECIPE_PLANK)));
                calls.push((&keys.eve, craft(RECIPE_PLANK)));
                calls.push((&keys.eve, join_lanes()));
            }
            _ => {}
        }
        let mut lane = Vec::new();
        if n == 5 {
            let hut = ActionKind::Place {
                kind: HUT,
                x: hut_at.x,
                y: hut_at.y,
            };
            lane = lane_batches(&chain, &keys, 0, vec![(&keys.eve, hut)]);
        }
        // Ferdie walks east at full speed into Whisperwood (x >= 200 units at block 11),
        // then gathers there.
        if n <= 12 {
            calls.push((&keys.ferdie, move_to(SPAWN.x + step * 10 * UNIT, SPAWN.y)));
        } else if n == 13 {
            calls.push((&keys.ferdie, gather(WOOD)));
        }
        // Charlie first tries to run (too fast), then walks north into Amber Hills.
        if n == 2 {
            calls.push((&keys.charlie, move_to(SPAWN.x, SPAWN.y + 60 * UNIT)));
        }
        if n <= 12 {
            calls.push((&keys.charlie, move_to(SPAWN.x, SPAWN.y + step * 10 * UNIT)));
        } else if n == 13 {
            calls.push((&keys.charlie, gather(STONE)));
        }
        let mut xts = chain.signed(calls);
        xts.extend(lane);
        let produced = chain.produce(xts);
        if n == 2 {
            // Eve's gather, Ferdie's move, Charlie's sprint (rejected), Charlie's walk.
            let too_fast = produced
                .results
                .iter()
                .filter(|r| **r == Ok(Err(DispatchError::from(players::Error::TooFast))))
                .count();
            assert_eq!(too_fast, 1, "{:?}", produced.results);
            assert_eq!(
                produced
                    .results
                    .iter()
                    .filter(|r| matches!(r, Ok(Ok(()))))
                    .count(),
                produced.results.len() - 1
            );
        } else {
            produced.assert_all_ok();
        }
        if let Some((era, elected)) = new_era(&produced) {
            eras_seen.push((n, era));
            // The new active set authors from this block on, and committees are drawn
            // from it.
            assert_eq!(chain.aura_authorities(), elected);
            let mut sorted = elected.clone();
            sorted.sort();
            let mut expected = validators.clone();
            expected.sort();
            assert_eq!(sorted, expected);
        }
        payouts += era_payout(&produced).unwrap_or(0);
        all_events.extend(produced.events.iter().cloned().map(|e| (n, e)));
        // Issuance changes only by era rewards (fees move to the author).
        assert_eq!(chain.issuance(), genesis_issuance + payouts);
    }

    assert_eq!(eras_seen, vec![(10, 1), (20, 2), (30, 3)]);
    let sessions: Vec<u32> = all_events
        .iter()
        .filter(|(_, e)| matches!(e, RuntimeEvent::Staking(staking::Event::NewSession { .. })))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(sessions, vec![5, 10, 15, 20, 25, 30]);
    assert!(payouts > 0 && payouts <= 3 * ERA_PAYOUT, "{payouts}");
    let count =
        |pred: &dyn Fn(&RuntimeEvent) -> bool| all_events.iter().filter(|(_, e)| pred(e)).count();
    assert_eq!(
        count(
            &|e| matches!(e, RuntimeEvent::Players(players::Event::Gathered { who, .. }) if *who == eve)
        ),
        2
    );
    assert!(all_events.iter().any(|(n, e)| *n == 4
        && *e
            == RuntimeEvent::Players(players::Event::Crafted {
                who: eve.clone(),
                recipe: RECIPE_PLANK,
                output: PLANK,
                amount: 1,
            })));
    assert!(all_events.iter().any(|(n, e)| *n == 5
        && matches!(e, RuntimeEvent::Structures(structures::Event::Placed { owner, area: 0, kind: HUT, position, .. })
            if *owner == eve && *position == hut_at)));
    assert!(all_events.iter().any(|(n, e)| *n == 11
        && *e
            == RuntimeEvent::Players(players::Event::PlayerMoved {
                who: ferdie.clone(),
                from: 0,
                to: 1,
                position: Position::new(SIDE, SPAWN.y),
            })));
    assert!(all_events.iter().any(|(n, e)| *n == 11
        && *e
            == RuntimeEvent::Players(players::Event::PlayerMoved {
                who: charlie.clone(),
                from: 0,
                to: 4,
                position: Position::new(SPAWN.x, SIDE),
            })));
    assert!(all_events.iter().any(|(_, e)| matches!(e,
        RuntimeEvent::Players(players::Event::Gathered { who, area: 1, resource: WOOD, amount: 2 }) if *who == ferdie)));
    assert!(all_events.iter().any(|(_, e)| matches!(e,
        RuntimeEvent::Players(players::Event::Gathered { who, area: 4, resource: STONE, amount: 2 }) if *who == charlie)));
    // The boar next to the spawn point noticed the players; the quarry filled up with
    // villagers.
    assert!(all_events.iter().any(|(_, e)| matches!(e,
        RuntimeEvent::Npcs(npcs::Event::TurnedHostile { target, .. }) if [&eve, &ferdie, &charlie].contains(&target))));
    assert_eq!(
        count(&|e| matches!(
            e,
            RuntimeEvent::Npcs(npcs::Event::Spawned {
                area: 2,
                kind: NpcKind::Villager,
                ..
            })
        )),
        2,
        "the foreman and two newcomers make three villagers"
    );
    let quarry = chain.read(|ext| npcs::npcs_in_area(ext, 2, None, 100));
    assert_eq!(
        quarry
            .iter()
            .filter(|n| n.kind == NpcKind::Villager)
            .count(),
        3
    );
    let spawned = count(&|e| matches!(e, RuntimeEvent::Npcs(npcs::Event::Spawned { .. })));

    // What the players see at the end.
    let eve_player = chain.player(&eve);
    assert_eq!(eve_player.area, 0);
    assert_eq!(eve_player.item_count(PLANK), 1);
    assert_eq!(eve_player.item_count(WOOD), 0);
    assert_eq!(
        eve_player.skill_xp(players::SKILL_GATHERING),
        2 * players::GATHER_XP
    );
    let huts = chain.read(|ext| structures::structures_of(ext, &eve, None, 10));
    assert_eq!(huts.len(), 1);
    assert_eq!(
        (huts[0].area, huts[0].kind, huts[0].position),
        (0, HUT, hut_at)
    );
    let ferdie_player = chain.player(&ferdie);
    assert_eq!(
        (ferdie_player.area, ferdie_player.position),
        (1, Position::new(SPAWN.x + 110 * UNIT, SPAWN.y))
    );
    assert_eq!(ferdie_player.item_count(WOOD), 2);
    let charlie_player = chain.player(&charlie);
    assert_eq!(
        (charlie_player.area, charlie_player.position),
        (4, Position::new(SPAWN.x, SPAWN.y + 110 * UNIT))
    );
    assert_eq!(charlie_player.item_count(STONE), 2);
    // Every NPC took decisions every block and still stands in its area.
    let all_npcs = chain.read(npcs::Npcs::iter);
    assert_eq!(all_npcs.len(), 7 + spawned);
    assert!(all_npcs.iter().all(|(_, n)| n.last_decision == 32));
    assert!(all_npcs.iter().any(|(_, n)| n.position != n.home));
    assert_eq!(chain.active_era(), 3);
}

// ---------------------------------------------------------------------------------------
// 2. Re-importing gives the same roots.
// ---------------------------------------------------------------------------------------

/// Executes `blocks` with `execute_block` on a fresh store built from `config`'s genesis;
/// returns each block's state root and events.
fn reimport(config: &GenesisConfig, blocks: &[Block]) -> Vec<(H256, Vec<RuntimeEvent>)> {
    let storage = config.build_storage().expect("genesis builds");
    let (header, delta) = genesis_block(&storage);
    let genesis_hash = header.hash();
    let mut store = MemoryNodeStore::from_delta(&delta).expect("store");
    let mut root = header.state_root;
    let mut imported = Vec::with_capacity(blocks.len());
    for block in blocks {
        let executed = {
            let state = TrieState::new(&store, root);
            execute_block(&state, block, genesis_hash)
                .unwrap_or_else(|e| panic!("block {} re-imports: {e}", block.header.number))
        };
        store.apply(&executed.delta).expect("delta applies");
        root = executed.delta.root;
        imported.push((root, decode_events(&executed.events)));
    }
    imported
}

#[test]
fn importing_the_same_blocks_twice_gives_identical_roots() {
    let keys = Keys::new();
    let mut config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    // 40 NPCs of every kind in each of the eight areas, spawn rules everywhere, and the
    // most decisions a block allows.
    config.npcs.npcs.clear();
    for area in grid() {
        for i in 0..40i64 {
            let kind = NpcKind::ALL[(i % 3) as usize];
            let x = area.bounds.min_x + 10 * UNIT + (i % 8) * 22 * UNIT;
            let y = area.bounds.min_y + 10 * UNIT + (i / 8) * 35 * UNIT;
            let name = format!("{} {}-{i}", kind.label(), area.id);
            config.npcs.npcs.push(npc(&name, kind, area.id, x, y));
        }
    }
    config.npcs.spawn_rules = (0..8)
        .map(|area| {
            (
                area,
                vec![
                    npcs::SpawnRule {
                        kind: NpcKind::Beast,
                        max_count: 60,
                        chance_per_mille: 300,
                    },
                    npcs::SpawnRule {
                        kind: NpcKind::Trader,
                        max_count: 60,
                        chance_per_mille: 300,
                    },
                ],
            )
        })
        .collect();
    config.npcs.decisions_per_block = npcs::MAX_DECISIONS_PER_BLOCK;
    config.staking.era_length = 15;
    config.staking.sessions_per_era = 3;
    // The Meadow is busy in era 0 (about 30 actions) and empty afterwards: it splits at
    // block 15, with its NPCs, and merges back at block 30.
    config.areas.split_threshold = 25;
    config.areas.merge_threshold = 3;
    config.players.players = vec![
        (account(&keys.eve), "Eve".into()),
        (account(&keys.ferdie), "Ferdie".into()),
        (account(&keys.charlie), "Charlie".into()),
    ];
    let mut chain = Chain::new(&config, keys.all());
    assert_eq!(chain.read(npcs::Npcs::count), 320);

    let mut built = Vec::new();
    for n in 1..=40i64 {
        let mut calls = vec![
            // East through Whisperwood into the quarry.
            (&keys.eve, move_to(SPAWN.x + n * 10 * UNIT, SPAWN.y)),
            // Diagonally across the Meadow's east edge into Fenmarsh.
            (
                &keys.charlie,
                move_to(SPAWN.x + n * 7 * UNIT, SPAWN.y + n * 6 * UNIT),
            ),
        ];
        if n <= 25 {
            // North into Amber Hills, then gathering herbs there.
            calls.push((&keys.ferdie, move_to(SPAWN.x, SPAWN.y + n * 10 * UNIT)));
        } else if n % 5 == 0 {
            calls.push((&keys.ferdie, gather(HERBS)));
        }
        let produced = chain.produce(chain.signed(calls));
        produced.assert_all_ok();
        let reshaped = produced.events.iter().find(|e| {
            matches!(
                e,
                RuntimeEvent::Areas(
                    areas::Event::AreaSplit { parent: 0, .. }
                        | areas::Event::AreaMerged { into: 0, .. }
                )
            )
        });
        match n {
            15 => assert!(
                matches!(
                    reshaped,
                    Some(RuntimeEvent::Areas(areas::Event::AreaSplit { .. }))
                ),
                "the Meadow splits at block 15"
            ),
            30 => assert!(
                matches!(
                    reshaped,
                    Some(RuntimeEvent::Areas(areas::Event::AreaMerged { .. }))
                ),
                "the Meadow merges back at block 30"
            ),
            _ => assert_eq!(reshaped, None, "block {n}"),
        }
        if n == 15 {
            let quadrants: u32 = chain
                .area(0)
                .children
                .iter()
                .map(|child| chain.read(|ext| npcs::npc_count(ext, *child)))
                .sum();
            assert!(quadrants >= 40, "the Meadow's NPCs moved to its quadrants");
        }
        built.push((produced.block.header.state_root, produced.events));
    }
    assert_eq!(chain.active_era(), 2);
    assert_eq!(chain.player(&account(&keys.eve)).area, 2);
    assert_eq!(chain.player(&account(&keys.charlie)).area, 5);
    assert_eq!(chain.player(&account(&keys.ferdie)).area, 4);
    let decided = chain.read(npcs::Npcs::iter);
    assert!(decided.len() > 320, "spawn rules added NPCs");
    assert!(decided.iter().filter(|(_, n)| n.last_decision > 0).count() >= 320);

    for attempt in 0..2 {
        let imported = reimport(&config, &chain.blocks);
        assert_eq!(imported.len(), built.len());
        for (index, ((root, events), (built_root, built_events))) in
            imported.iter().zip(&built).enumerate()
        {
            assert_eq!(
                root,
                built_root,
                "import {attempt}: state root of block {} differs",
                index + 1
            );
            assert_eq!(
                events,
                built_events,
                "import {attempt}: events of block {}",
                index + 1
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. The active set becomes the Aura authorities at each era change.
// ---------------------------------------------------------------------------------------

#[test]
fn era_change_makes_the_active_set_the_aura_authorities() {
    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let mut chain = Chain::new(&config, keys.all());
    let (eve, bob) = (account(&keys.eve), account(&keys.bob));
    assert_eq!(chain.aura_authorities(), chain.active_validators());
    assert!(!chain.aura_authorities().contains(&eve));

    // Block 1: Eve bonds and declares she validates.
    let joined = chain.produce(chain.signed(vec![
        (&keys.eve, bond(VALIDATOR_BOND)),
        (&keys.eve, validate()),
    ]));
    joined.assert_all_ok();
    assert!(joined.has(&RuntimeEvent::Staking(staking::Event::Bonded {
        stash: eve.clone(),
        amount: VALIDATOR_BOND,
    })));
    // She waits for the election: the era's authorities do not change mid-era.
    while chain.best.number < 9 {
        let produced = chain.produce(vec![]);
        assert_eq!(new_era(&produced), None);
        assert!(!chain.aura_authorities().contains(&eve));
    }
    assert!(!chain
        .committees()
        .values()
        .any(|c| c.members().contains(&eve)));

    // Block 10 starts era 1 with Eve elected; she is an Aura authority from then on.
    let era_one = chain.produce(vec![]);
    let (era, elected) = new_era(&era_one).expect("era 1 starts at block 10");
    assert_eq!(era, 1);
    assert!(elected.contains(&eve));
    assert_eq!(elected.len(), 5);
    assert_eq!(chain.active_validators(), elected);
    assert_eq!(chain.aura_authorities(), elected);
    // And she gets to author within one round of slots.
    let mut authored = era_one.author == eve;
    for _ in 0..5 {
        authored |= chain.produce(vec![]).author == eve;
    }
    assert!(authored, "Eve authored no block in a full round of slots");

    // Block 16: Bob chills. He stays an author until the era ends...
    let chilled = chain.produce(chain.signed(vec![(&keys.bob, chill())]));
    chilled.assert_all_ok();
    assert!(chilled.has(&RuntimeEvent::Staking(staking::Event::Chilled {
        stash: bob.clone()
    })));
    while chain.best.number < 19 {
        chain.produce(vec![]);
        assert!(chain.aura_authorities().contains(&bob));
        // ...but no area committee keeps him.
        assert!(!chain
            .committees()
            .values()
            .any(|c| c.members().contains(&bob)));
    }
    // ...and is gone from both sets at era 2.
    let era_two = chain.produce(vec![]);
    let (era, elected) = new_era(&era_two).expect("era 2 starts at block 20");
    assert_eq!(era, 2);
    assert!(!elected.contains(&bob));
    assert!(elected.contains(&eve));
    assert_eq!(elected.len(), 4);
    assert_eq!(chain.active_validators(), elected);
    assert_eq!(chain.aura_authorities(), elected);
    for produced in chain.produce_until(25) {
        assert_ne!(produced.author, bob);
    }
}

// ---------------------------------------------------------------------------------------
// 4. Committees move as little as possible.
// ---------------------------------------------------------------------------------------

#[test]
fn rebalancing_moves_only_areas_that_lost_members() {
    let keys = Keys::new();
    let six = [
        &keys.alice,
        &keys.bob,
        &keys.charlie,
        &keys.dave,
        &keys.eve,
        &keys.ferdie,
    ];
    let config = world_config(&six, &keys);
    let mut chain = Chain::new(&config, keys.all());
    chain.produce_until(3);
    let before = chain.committees();
    assert_eq!(before.len(), 8);
    assert!(before.values().all(|c| c.members().len() == 3));

    // The validator to chill: a primary somewhere, but not on every committee.
    let leaving = six
        .iter()
        .copied()
        .find(|pair| {
            let who = account(pair);
            let primary = before.values().any(|c| c.primary == who);
            let seats = before
                .values()
                .filter(|c| c.members().contains(&who))
                .count();
            primary && seats < before.len()
        })
        .expect("some validator is a primary but not everywhere");
    let gone = account(leaving);
    let (with, without): (Vec<AreaId>, Vec<AreaId>) = before
        .keys()
        .copied()
        .partition(|id| before[id].members().contains(&gone));
    assert!(!with.is_empty() && !without.is_empty());

    // Block 4: the chill. By block 5 the committees that had it, and only those, are
    // re-chosen (today in block 5's initialisation).
    let chilled = chain.produce(chain.signed(vec![(leaving, chill())]));
    chilled.assert_all_ok();
    let next = chain.produce(vec![]);
    let after = chain.committees();
    same_committees(&before, &after, without.iter().copied(), "after the chill");
    let changes: Vec<&RuntimeEvent> = chilled
        .events
        .iter()
        .chain(&next.events)
        .filter(|e| {
            matches!(
                e,
                RuntimeEvent::Areas(areas::Event::CommitteeChanged { .. })
            )
        })
        .collect();
    assert_eq!(changes.len(), with.len(), "{changes:?}");
    for id in &with {
        let (old, new) = (&before[id], &after[id]);
        assert_eq!(new.version, old.version + 1, "area {id}");
        assert!([4, 5].contains(&new.last_update), "area {id}");
        assert_eq!(new.members().len(), 3);
        assert!(!new.members().contains(&gone), "area {id} still has it");
        // The members that stayed eligible all stayed.
        for member in old.members().iter().filter(|m| **m != gone) {
            assert!(new.members().contains(member), "area {id} dropped {member}");
        }
        if old.primary == gone {
            assert!(
                old.replicas.contains(&new.primary),
                "a replica took over area {id}"
            );
        } else {
            assert_eq!(new.primary, old.primary);
        }
        assert!(
            changes.contains(&&RuntimeEvent::Areas(areas::Event::CommitteeChanged {
                area: *id,
                primary: new.primary.clone(),
                replicas: new.replicas.clone(),
                version: new.version,
            }))
        );
    }

    // Block 12: a seventh validator joins; it is elected at era 2 (block 20).
    let newcomer = &keys.extra[0];
    let after_chill = after.clone();
    let mut previous = after;
    let mut era_changes = 0;
    while chain.best.number < 35 {
        let calls = if chain.best.number == 11 {
            vec![(newcomer, bond(VALIDATOR_BOND)), (newcomer, validate())]
        } else {
            vec![]
        };
        let produced = chain.produce(chain.signed(calls));
        produced.assert_all_ok();
        let now = chain.committees();
        for committee in now.values() {
            assert_ne!(
                committee.primary, gone,
                "the chilled validator is a primary again"
            );
            assert!(!committee.members().contains(&gone));
        }
        if let Some((era, elected)) = new_era(&produced) {
            era_changes += 1;
            assert!(!elected.contains(&gone));
            assert_eq!(elected.contains(&account(newcomer)), era >= 2);
            // Nobody lost a seat, so no committee moved.
            let candidates = chain.read(world::committee_candidates);
            let lost_nobody = previous.keys().copied().filter(|id| {
                previous[id]
                    .members()
                    .iter()
                    .all(|m| candidates.iter().any(|c| c.who == *m))
            });
            same_committees(&previous, &now, lost_nobody, &format!("era {era}"));
        } else {
            same_committees(&previous, &now, previous.keys().copied(), "mid-era");
        }
        previous = now;
    }
    assert_eq!(era_changes, 3);
    assert!(chain.active_validators().contains(&account(newcomer)));
    // Three era changes and a newcomer later, the committees are the ones the chill left.
    assert_eq!(chain.committees(), after_chill);
}

// ---------------------------------------------------------------------------------------
// 5. Equivocation: report, disable, slash.
// ---------------------------------------------------------------------------------------

fn report(offender: &AccountId32, slot: u64, first: &Header, second: &Header) -> Vec<u8> {
    Extrinsic::new_unsigned(Call::Staking(staking::Call::ReportEquivocation {
        proof: Box::new(staking::EquivocationProof {
            // Test validators seal with their account key.
            offender: sr25519::Public::from_raw(*offender.as_ref()),
            slot,
            first_header: first.clone(),
            second_header: second.clone(),
        }),
    }))
    .encode()
}

/// Two blocks `offender` sealed for the same slot; the first is on the chain.
struct Equivocation {
    slot: u64,
    first: Header,
    second: Header,
}

/// Waits for `offender`'s next slot and lets it seal two different blocks for it,
/// committing the first.
fn equivocate(chain: &mut Chain, offender: &sr25519::Pair, other: &sr25519::Pair) -> Equivocation {
    let who = account(offender);
    while chain.author_of(chain.best.slot + 1) != who {
        chain.produce(vec![]);
    }
    let slot = chain.best.slot + 1;
    let (first, first_delta) = chain.build_at(slot, vec![]);
    let remark = Call::System(system::Call::Remark {
        remark: b"the other fork".to_vec(),
    });
    let (second, _) = chain.build_at(slot, chain.signed(vec![(other, remark)]));
    second.assert_all_ok();
    assert_eq!((&first.author, &second.author), (&who, &who));
    assert_ne!(first.block.header.hash(), second.block.header.hash());
    assert!(first.block.header.digest.seal().is_some());
    chain.commit(&first, &first_delta);
    Equivocation {
        slot,
        first: first.block.header,
        second: second.block.header,
    }
}

/// What the pool makes of `xt` at the best block.
fn pool_validity(chain: &Chain, xt: &[u8]) -> arceon_primitives::TransactionValidity {
    let state = chain.state();
    validate_transaction(
        &state,
        chain.best.hash,
        TransactionSource::External,
        xt,
        chain.genesis_hash,
    )
}

#[test]
fn equivocation_report_slashes_and_removes_from_committees() {
    let keys = Keys::new();
    let mut config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    config.staking.validator_count = 4;
    let mut chain = Chain::new(&config, keys.all());
    let dave = account(&keys.dave);
    assert!(chain
        .committees()
        .values()
        .any(|c| c.members().contains(&dave)));

    // Dave seals two different blocks for his slot.
    let Equivocation {
        slot,
        first,
        second,
    } = equivocate(&mut chain, &keys.dave, &keys.alice);
    assert!(chain.best.number < 10, "the offence is in era 0");

    let evidence = report(&dave, slot, &first, &second);
    // The pool takes the report ahead of everything, and no fee is due.
    let valid = pool_validity(&chain, &evidence).expect("the report is valid");
    assert_eq!(valid.priority, staking::EQUIVOCATION_PRIORITY);
    assert!(valid.requires.is_empty());
    assert_eq!(valid.provides.len(), 1);
    // The same block twice is no evidence, nor is someone else's seal.
    let same = report(&dave, slot, &first, &first);
    assert!(matches!(
        pool_validity(&chain, &same),
        Err(TransactionValidityError::Invalid(_))
    ));
    let framed = report(&account(&keys.alice), slot, &first, &second);
    assert!(matches!(
        pool_validity(&chain, &framed),
        Err(TransactionValidityError::Invalid(_))
    ));

    let bond_before = chain
        .read(|ext| staking::ledger(ext, &dave))
        .expect("bonded");
    assert_eq!(bond_before.total, VALIDATOR_BOND);
    let included = chain.produce(vec![evidence.clone()]);
    included.assert_all_ok();
    let report_block = chain.best.number;
    assert!(
        included.has(&RuntimeEvent::Staking(staking::Event::OffenceReported {
            offender: dave.clone(),
            slot,
            era: 0,
        }))
    );
    assert!(
        included.has(&RuntimeEvent::Staking(staking::Event::ValidatorDisabled {
            validator: dave.clone(),
        }))
    );
    assert!(
        included.has(&RuntimeEvent::Staking(staking::Event::SlashReported {
            validator: dave.clone(),
            fraction: Perbill::from_percent(10),
            slash_era: 1,
        }))
    );
    assert!(chain.read(|ext| staking::is_disabled(ext, &dave)));
    // A second, identical report is refused by the pool and by block building.
    assert!(matches!(
        pool_validity(&chain, &evidence),
        Err(TransactionValidityError::Invalid(_))
    ));
    let (again, _) = chain.build_at(chain.best.slot + 1, vec![evidence.clone()]);
    assert!(again.results[0].is_err(), "{:?}", again.results);
    assert!(again.block.extrinsics.is_empty());

    // Dave sits on no committee from the next block on, through the slash and the next
    // era; his bond is untouched until the slash era starts.
    let mut slashed = None;
    while chain.best.number < 16 {
        let issuance_before = chain.issuance();
        let produced = chain.produce(vec![]);
        for committee in chain.committees().values() {
            assert_ne!(committee.primary, dave, "block {}", produced.number());
            assert!(!committee.members().contains(&dave));
        }
        let ledger = chain
            .read(|ext| staking::ledger(ext, &dave))
            .expect("still bonded");
        if produced.number() < 10 {
            assert_eq!(ledger, bond_before);
            assert!(chain.aura_authorities().contains(&dave));
        }
        if let Some((era, elected)) = new_era(&produced) {
            assert_eq!((produced.number(), era), (10, 1));
            assert!(!elected.contains(&dave));
            assert_eq!(chain.aura_authorities(), elected);
            let amount = VALIDATOR_BOND / 10;
            assert!(
                produced.has(&RuntimeEvent::Staking(staking::Event::Slashed {
                    staker: dave.clone(),
                    amount,
                }))
            );
            assert_eq!(ledger.total, VALIDATOR_BOND - amount);
            assert_eq!(ledger.active, VALIDATOR_BOND - amount);
            let minted = era_payout(&produced).expect("era 0 is paid");
            assert_eq!(chain.issuance(), issuance_before + minted - amount);
            slashed = Some(produced.number());
        } else {
            assert_eq!(chain.issuance(), issuance_before);
        }
    }
    assert!(report_block < 10);
    assert_eq!(slashed, Some(10));
    assert!(!chain.read(|ext| staking::is_disabled(ext, &dave)));
    assert_eq!(chain.active_validators().len(), 3);
}

// ---------------------------------------------------------------------------------------
// 6. Splits and merges move everything by position.
// ---------------------------------------------------------------------------------------

/// The child of a split area whose bounds contain `position`.
fn child_containing(chain: &Chain, children: &[AreaId], position: &Position) -> AreaId {
    children
        .iter()
        .copied()
        .find(|id| chain.area(*id).bounds.contains(position))
        .expect("the children tile the parent")
}

/// Where every player, structure and NPC stands.
struct Residents {
    players: BTreeMap<AccountId32, players::Player>,
    structures: BTreeMap<structures::StructureId, structures::Structure>,
    npcs: BTreeMap<npcs::NpcId, npcs::Npc>,
}

impl Residents {
    fn of(chain: &Chain) -> Residents {
        chain.read(|ext| Residents {
            players: players::Players::iter(ext).into_iter().collect(),
            structures: structures::Structures::iter(ext).into_iter().collect(),
            npcs: npcs::Npcs::iter(ext).into_iter().collect(),
        })
    }
}

/// Everything that stood in one of `from` now stands in the area of `to` that contains
/// its position (a structure: its footprint's centre); players and structures did not
/// move, nothing was lost, and nothing elsewhere changed area.
fn assert_followed_map(chain: &Chain, before: &Residents, from: &[AreaId], to: &[AreaId]) {
    let now = Residents::of(chain);
    assert_eq!(
        now.players.keys().collect::<Vec<_>>(),
        before.players.keys().collect::<Vec<_>>()
    );
    for (who, was) in &before.players {
        let is = &now.players[who];
        assert_eq!(is.position, was.position, "{who} was moved");
        if from.contains(&was.area) {
            assert_eq!(is.area, child_containing(chain, to, &is.position), "{who}");
        } else {
            assert_eq!(is.area, was.area, "{who}");
        }
    }
    assert_eq!(now.structures.len(), before.structures.len());
    for (id, was) in &before.structures {
        let is = &now.structures[id];
        assert_eq!(is.footprint, was.footprint);
        if from.contains(&was.area) {
            let centre = is.footprint.centre();
            assert_eq!(
                is.area,
                child_containing(chain, to, &centre),
                "structure {id}"
            );
        } else {
            assert_eq!(is.area, was.area, "structure {id}");
        }
    }
    for (id, was) in &before.npcs {
        let is = now
            .npcs
            .get(id)
            .unwrap_or_else(|| panic!("NPC {id} was lost"));
        if from.contains(&was.area) {
            // It may have taken a step since, inside its new area.
            assert_eq!(
                is.area,
                child_containing(chain, to, &is.position),
                "NPC {id}"
            );
        } else {
            assert_eq!(is.area, was.area, "NPC {id}");
        }
    }
}

#[test]
fn forced_split_moves_players_by_position() {
    let keys = Keys::new();
    let mut config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    // A low threshold: the Meadow splits after one era of four busy players.
    config.areas.split_threshold = 20;
    config.areas.merge_threshold = 5;
    config.players.players = vec![
        (account(&keys.eve), "Eve".into()),
        (account(&keys.ferdie), "Ferdie".into()),
        (account(&keys.charlie), "Charlie".into()),
        (account(&keys.bob), "Bob".into()),
        (account(&keys.dave), "Dave".into()),
    ];
    let (mid_x, mid_y) = (SPAWN.x, SPAWN.y);
    for (name, x, y) in [
        ("SW Villager", 50_000, 50_000),
        ("SE Villager", 150_000, 50_000),
        ("NW Villager", 50_000, 150_000),
        ("NE Trader", 150_000, 150_000),
    ] {
        config.npcs.npcs.push(npc(name, NpcKind::Villager, 0, x, y));
    }
    let mut chain = Chain::new(&config, keys.all());

    // Each player walks to a quadrant of the Meadow and keeps busy; Dave, through the
    // fast lane, places a marker for each quadrant from the spawn point.
    // (x, y) offsets from the centre, in units, after two steps.
    let walkers: [(&sr25519::Pair, i64, i64); 4] = [
        (&keys.eve, -8, -8),
        (&keys.ferdie, 8, -8),
        (&keys.charlie, -8, 8),
        (&keys.bob, 8, 8),
    ];
    // Marker corners: inside the south-west quadrant; straddling the north-south midline
    // (centre on it: south-east); straddling the east-west midline (north-west); on the
    // centre itself (north-east).
    let markers = [
        (mid_x - 12 * UNIT, mid_y - 12 * UNIT),
        (mid_x - UNIT, mid_y - 12 * UNIT),
        (mid_x - 12 * UNIT, mid_y - UNIT),
        (mid_x - UNIT, mid_y - UNIT),
    ];
    for n in 1..=9i64 {
        let mut calls = Vec::new();
        if n == 1 {
            calls.push((&keys.dave, join_lanes()));
        }
        for (pair, dx, dy) in &walkers {
            let (x, y) = match n {
                1 => (mid_x + dx * UNIT / 2, mid_y + dy * UNIT / 2),
                _ => (
                    mid_x + dx * UNIT + (n % 2) * UNIT * dx.signum(),
                    mid_y + dy * UNIT,
                ),
            };
            calls.push((*pair, move_to(x, y)));
        }
        let mut xts = chain.signed(calls);
        if n == 3 {
            let places = markers
                .iter()
                .map(|&(x, y)| {
                    let kind = ActionKind::Place { kind: MARKER, x, y };
                    (&keys.dave, kind)
                })
                .collect();
            xts.extend(lane_batches(&chain, &keys, 0, places));
        }
        chain.produce(xts).assert_all_ok();
    }
    let load = chain.read(|ext| areas::load(ext, 0));
    assert!(load >= 20, "load {load}");
    let before = Residents::of(&chain);
    let old_committee = chain.committees()[&0].clone();

    // Block 10 starts era 1: with a player in the fast lanes, the Meadow's split waits
    // for its lane to end; a lane batch beyond its end is refused; once the seal is in
    // (block 11), the Meadow splits into quadrants at that block's end and everything
    // follows.
    let era = chain.produce(vec![]);
    assert_eq!(new_era(&era).map(|(era, _)| era), Some(1));
    assert!(
        era.has(&RuntimeEvent::Areas(areas::Event::ReshapeScheduled {
            reshape: areas::Reshape::Split { area: 0 },
            ending: vec![0],
        }))
    );
    assert!(
        chain.area(0).active,
        "the split waits for the Meadow's lane"
    );
    let late = lane_batches(
        &chain,
        &keys,
        0,
        vec![(&keys.dave, ActionKind::Move { x: mid_x, y: mid_y })],
    );
    let mut ended_then_late = end_lanes(&chain, &keys, &[0]);
    ended_then_late.extend(late);
    let (refused, _) = chain.build_at(chain.best.slot + 1, ended_then_late);
    assert!(
        matches!(refused.results[0], Ok(Ok(()))) && refused.results[1].is_err(),
        "a batch beyond the lane's end is refused: {:?}",
        refused.results
    );
    let split = reshape_after_seals(&mut chain, &keys, &[0]);
    let children = split
        .events
        .iter()
        .find_map(|e| match e {
            RuntimeEvent::Areas(areas::Event::AreaSplit {
                parent: 0,
                children,
            }) => Some(children.clone()),
            _ => None,
        })
        .expect("the Meadow split");
    assert_eq!(children.len(), 4);
    let meadow = chain.area(0);
    assert!(!meadow.active);
    assert_eq!(meadow.children, children);
    let [sw, se, nw, ne] = [children[0], children[1], children[2], children[3]];
    assert!(chain.area(sw).bounds.contains(&Position::new(0, 0)));
    assert!(chain.area(ne).bounds.contains(&SPAWN));
    assert_followed_map(&chain, &before, &[0], &children);
    let expected = [
        (&keys.eve, sw),
        (&keys.ferdie, se),
        (&keys.charlie, nw),
        (&keys.bob, ne),
    ];
    let placed = chain.read(|ext| structures::structures_of(ext, &account(&keys.dave), None, 10));
    assert_eq!(placed.len(), markers.len());
    for ((pair, area), (x, y)) in expected.into_iter().zip(markers) {
        let who = account(pair);
        assert_eq!(chain.player(&who).area, area);
        assert!(split.has(&RuntimeEvent::Players(players::Event::Migrated {
            who: who.clone(),
            from: 0,
            to: area,
            position: before.players[&who].position,
        })));
        let marker = placed
            .iter()
            .find(|marker| marker.position == Position::new(x, y))
            .expect("placed");
        assert_eq!(marker.area, area, "the marker in {who}'s quadrant");
    }
    // The quadrants have committees; the Meadow no longer does.
    let committees = chain.committees();
    assert!(!committees.contains_key(&0));
    for child in &children {
        assert_eq!(committees[child].members().len(), 3);
    }
    // Newcomers spawn in the quadrant holding the Meadow's centre, and players cross
    // between quadrants like between any neighbours.
    let eve_at = chain.player(&account(&keys.eve)).position;
    let busy = chain.produce(chain.signed(vec![
        (&keys.alice, register("Alice")),
        (&keys.eve, move_to(mid_x + UNIT, eve_at.y)),
    ]));
    busy.assert_all_ok();
    assert!(
        busy.has(&RuntimeEvent::Players(players::Event::PlayerRegistered {
            who: account(&keys.alice),
            name: b"Alice".to_vec(),
            area: ne,
            position: SPAWN,
        }))
    );
    assert!(
        busy.has(&RuntimeEvent::Players(players::Event::PlayerMoved {
            who: account(&keys.eve),
            from: sw,
            to: se,
            position: Position::new(mid_x + UNIT, eve_at.y),
        }))
    );

    // A quiet era: at block 20 the quadrants' merge back into the Meadow is scheduled,
    // and made once their lanes ended.
    chain.produce_until(20);
    assert!(
        chain.area(sw).active,
        "the merge waits for the quadrants' lanes"
    );
    let before = Residents::of(&chain);
    let merged = reshape_after_seals(&mut chain, &keys, &children);
    assert!(merged.has(&RuntimeEvent::Areas(areas::Event::AreaMerged {
        into: 0,
        children: children.clone(),
    })));
    assert!(chain.area(0).active);
    assert_followed_map(&chain, &before, &children, &[0]);
    assert!(chain
        .read(players::Players::iter)
        .iter()
        .all(|(_, p)| p.area == 0));
    let committee = &chain.committees()[&0];
    assert!(
        committee.version > old_committee.version,
        "versions never repeat"
    );

    // Root splits the Meadow: scheduled like an era's split, then residents move in the
    // block that makes it.
    let before = Residents::of(&chain);
    chain
        .root_dispatch(Call::Areas(areas::Call::ForceSplit { id: 0 }))
        .expect("root splits the Meadow");
    assert!(chain.area(0).active, "the forced split waits for the lane");
    assert_eq!(
        chain.root_dispatch(Call::Areas(areas::Call::ForceSplit { id: 0 })),
        Err(areas::Error::ReshapeWaiting.into()),
        "one reshape at a time per area"
    );
    reshape_after_seals(&mut chain, &keys, &[0]);
    let forced = chain.area(0).children;
    assert_eq!(forced.len(), 4);
    assert!(
        forced.iter().all(|id| !children.contains(id)),
        "ids are never reused"
    );
    assert_followed_map(&chain, &before, &[0], &forced);
    assert_eq!(chain.player(&account(&keys.bob)).area, forced[3]);
    // The world keeps running on the new map.
    let bob_at = chain.player(&account(&keys.bob)).position;
    let after = chain.produce(chain.signed(vec![(&keys.bob, move_to(bob_at.x, mid_y - UNIT))]));
    after.assert_all_ok();
    assert!(
        after.has(&RuntimeEvent::Players(players::Event::PlayerMoved {
            who: account(&keys.bob),
            from: forced[3],
            to: forced[1],
            position: Position::new(bob_at.x, mid_y - UNIT),
        }))
    );
    // Quiet again: the forced quadrants merge back after era 3 (block 30).
    chain.produce_until(29);
    let era = chain.produce(vec![]);
    assert_eq!(new_era(&era).map(|(era, _)| era), Some(3));
    let before = Residents::of(&chain);
    let merged = reshape_after_seals(&mut chain, &keys, &forced);
    assert!(merged.has(&RuntimeEvent::Areas(areas::Event::AreaMerged {
        into: 0,
        children: forced.clone(),
    })));
    assert_followed_map(&chain, &before, &forced, &[0]);
    assert!(forced
        .iter()
        .all(|id| chain.read(|ext| areas::area(ext, *id)).is_none()));
    chain.produce_until(34);
}

#[test]
fn a_lane_ends_only_with_its_committee_s_seal_and_a_reshape_waits_at_most_its_deadline() {
    let keys = Keys::new();
    let mut config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    config.players.players = vec![(account(&keys.dave), "Dave".into())];
    let mut chain = Chain::new(&config, keys.all());
    chain
        .produce(chain.signed(vec![(&keys.dave, join_lanes())]))
        .assert_all_ok();
    let walk = lane_batches(
        &chain,
        &keys,
        0,
        vec![(
            &keys.dave,
            ActionKind::Move {
                x: SPAWN.x + UNIT,
                y: SPAWN.y,
            },
        )],
    );
    chain.produce(walk).assert_all_ok();
    let head = chain.read(|ext| fastlane::lane_head(ext, 0));
    assert_eq!(head.height, 1);

    // No reshape waits for the Meadow yet: its seal proves nothing the chain needs.
    let version = chain.committees()[&0].version;
    let stale = |validity: arceon_primitives::TransactionValidity| {
        matches!(
            validity,
            Err(TransactionValidityError::Invalid(InvalidTransaction::Stale))
        )
    };
    let early = end_lane_xt(seal_at(&chain, &keys, 0, version, head.clone(), &[0, 1, 2]));
    assert!(
        stale(pool_validity(&chain, &early)),
        "no reshape waits for it"
    );

    chain
        .root_dispatch(Call::Areas(areas::Call::ForceSplit { id: 0 }))
        .expect("root splits the Meadow");
    let since = chain.best.number;
    let bad_proof = |validity: arceon_primitives::TransactionValidity| {
        matches!(
            validity,
            Err(TransactionValidityError::Invalid(
                InvalidTransaction::BadProof
            ))
        )
    };
    // Fewer reports than a quorum, a head below the chain's, a head beside it.
    let few = end_lane_xt(seal_at(&chain, &keys, 0, version, head.clone(), &[1]));
    assert!(
        bad_proof(pool_validity(&chain, &few)),
        "one report of three"
    );
    let below = end_lane_xt(seal_at(
        &chain,
        &keys,
        0,
        version,
        fastlane::LaneHead::default(),
        &[0, 1, 2],
    ));
    assert!(
        bad_proof(pool_validity(&chain, &below)),
        "a head below the chain's"
    );
    let beside = fastlane::LaneHead {
        hash: H256::repeat_byte(7),
        ..head.clone()
    };
    let beside = end_lane_xt(seal_at(&chain, &keys, 0, version, beside, &[0, 1, 2]));
    assert!(
        bad_proof(pool_validity(&chain, &beside)),
        "another batch at the head"
    );
    // Reports signed by other keys than the committee's.
    let mut forged = seal_at(&chain, &keys, 0, version, head.clone(), &[0, 1, 2]);
    let other = seal_at(&chain, &keys, 0, version + 1, head.clone(), &[0, 1, 2]);
    forged.reports[0].signature = other.reports[0].signature.clone();
    forged.reports[1].signature = other.reports[1].signature.clone();
    assert!(
        bad_proof(pool_validity(&chain, &end_lane_xt(forged))),
        "forged reports"
    );
    // A committee version not in force.
    let wrong = end_lane_xt(seal_at(
        &chain,
        &keys,
        0,
        version + 1,
        head.clone(),
        &[0, 1, 2],
    ));
    assert!(
        pool_validity(&chain, &wrong).is_err(),
        "another committee version"
    );
    // None of them is in a block, so the Meadow's lane has not ended: with no seal the
    // split is made at the deadline, not before.
    let blocks = chain.produce_until(since + world::RESHAPE_DEADLINE_BLOCKS - 1);
    assert!(blocks.iter().all(|block| !block
        .events
        .iter()
        .any(|e| matches!(e, RuntimeEvent::Areas(areas::Event::AreaSplit { .. })))));
    assert!(chain.area(0).active);
    let late = chain.produce(vec![]);
    assert!(
        late.events.iter().any(|e| matches!(
            e,
            RuntimeEvent::Areas(areas::Event::AreaSplit { parent: 0, .. })
        )),
        "the split is made at its deadline"
    );
    assert!(!chain.area(0).active);
    assert_ne!(
        chain.player(&account(&keys.dave)).area,
        0,
        "Dave moved to a quadrant"
    );
}

// ---------------------------------------------------------------------------------------
// The block that chills or reports a validator.
// ---------------------------------------------------------------------------------------

#[test]
fn committees_drop_a_chilled_validator_in_its_own_block() {
    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let mut chain = Chain::new(&config, keys.all());
    let bob = account(&keys.bob);
    assert!(chain
        .committees()
        .values()
        .any(|c| c.members().contains(&bob)));
    // `commit` checks the invariants strictly: no stale seat is expected.
    chain
        .produce(chain.signed(vec![(&keys.bob, chill())]))
        .assert_all_ok();
    assert!(!chain
        .committees()
        .values()
        .any(|c| c.members().contains(&bob)));
}

#[test]
fn refused_equivocation_reports_tell_the_pool_why() {
    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let mut chain = Chain::new(&config, keys.all());
    let dave = account(&keys.dave);
    let Equivocation {
        slot,
        first,
        second,
    } = equivocate(&mut chain, &keys.dave, &keys.alice);
    let same = report(&dave, slot, &first, &first);
    assert_eq!(
        pool_validity(&chain, &same),
        Err(InvalidTransaction::BadProof.into())
    );
    let framed = report(&account(&keys.alice), slot, &first, &second);
    assert_eq!(
        pool_validity(&chain, &framed),
        Err(InvalidTransaction::BadProof.into())
    );
    let evidence = report(&dave, slot, &first, &second);
    chain.produce(vec![evidence.clone()]).assert_all_ok();
    assert_eq!(
        pool_validity(&chain, &evidence),
        Err(InvalidTransaction::Stale.into())
    );
}

// ---------------------------------------------------------------------------------------
// Offences: bounded blocks, a window, the exposure of the offence's era.
// ---------------------------------------------------------------------------------------

/// A header `pair` sealed for `slot` (not a block of the chain: evidence only needs the
/// slot and the seal); `parent` and `padding` make it differ from its twin.
fn sealed_for_slot(pair: &sr25519::Pair, slot: u64, parent: u8, padding: usize) -> Header {
    let mut logs = vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())];
    if padding > 0 {
        logs.push(DigestItem::Other(vec![7; padding]));
    }
    let mut header = Header {
        parent_hash: H256::repeat_byte(parent),
        number: 1,
        state_root: H256::zero(),
        extrinsics_root: H256::zero(),
        digest: Digest { logs },
    };
    seal(&mut header, pair);
    header
}

/// A report that `pair` sealed two headers for `slot`.
fn forged_fork_report(pair: &sr25519::Pair, slot: u64) -> Vec<u8> {
    report(
        &account(pair),
        slot,
        &sealed_for_slot(pair, slot, 1, 0),
        &sealed_for_slot(pair, slot, 2, 0),
    )
}

#[test]
fn unsigned_reports_cannot_fill_a_block_past_its_weight_limit() {
    use arceon_runtime::limits;

    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let mut chain = Chain::new(&config, keys.all());
    // A chain at slot 5,000 (still era 0), and a validator that sealed two headers for
    // each of thousands of past slots: every report is valid, fee-free and operational.
    // The first one is in: Dave is disabled and off the committees; each further report
    // still costs him reputation, so each is valid.
    let (jump, delta) = chain.build_at(5_000, vec![]);
    chain.commit(&jump, &delta);
    chain
        .produce(vec![forged_fork_report(&keys.dave, 4_999)])
        .assert_all_ok();
    assert!(chain.read(|ext| staking::is_disabled(ext, &account(&keys.dave))));
    let report_weight = {
        let call = Call::Staking(staking::Call::ReportEquivocation {
            proof: Box::new(staking::EquivocationProof {
                offender: keys.dave.public(),
                slot: 1,
                first_header: sealed_for_slot(&keys.dave, 1, 1, 0),
                second_header: sealed_for_slot(&keys.dave, 1, 2, 0),
            }),
        });
        let info = call.info();
        assert_eq!(info.class, arceon_support::DispatchClass::Operational);
        arceon_runtime::extrinsic_weight(&info)
    };
    let fit = limits::MAX_OPERATIONAL_WEIGHT.ref_time / report_weight.ref_time;
    let reports: Vec<Vec<u8>> = (1..=fit + 20)
        .map(|slot| forged_fork_report(&keys.dave, slot))
        .collect();
    assert!(pool_validity(&chain, &reports[0]).is_ok());

    let (full, delta) = chain.build_at(chain.best.slot + 1, reports.clone());
    let applied = full
        .results
        .iter()
        .take_while(|result| matches!(result, Ok(Ok(()))))
        .count();
    assert!(
        applied > 0 && (applied as u64) <= fit,
        "{applied} reports applied"
    );
    // The block stops at the operational limit: every further report exhausts it.
    assert!(
        full.results[applied..]
            .iter()
            .all(|result| *result == Err(InvalidTransaction::ExhaustsResources.into())),
        "{:?}",
        &full.results[applied..applied + 1]
    );
    assert_eq!(full.block.extrinsics.len(), applied);
    chain.commit(&full, &delta);
    let consumed = chain.read(system::BlockWeight::get_or_default);
    assert!(
        !consumed.total().any_gt(limits::MAX_BLOCK_WEIGHT),
        "{consumed:?}"
    );
    assert!(!consumed.operational.any_gt(limits::MAX_OPERATIONAL_WEIGHT));
    assert!(!limits::weight_fits(
        &consumed,
        arceon_support::DispatchClass::Operational,
        report_weight
    ));

    // An importer refuses a block with one report more, at that report.
    let mut overfull = full.block.clone();
    overfull.extrinsics.push(reports[applied].clone());
    overfull.header.extrinsics_root = arceon_state::ordered_trie_root(&overfull.extrinsics);
    // The full block's parent state, rebuilt from genesis (the chain's store keeps only
    // its best state).
    let (store, parent_root) = {
        let storage = config.build_storage().unwrap();
        let (genesis, delta) = genesis_block(&storage);
        let mut store = MemoryNodeStore::from_delta(&delta).unwrap();
        let mut root = genesis.state_root;
        for block in &chain.blocks[..chain.blocks.len() - 1] {
            let executed = execute_block(&TrieState::new(&store, root), block, genesis.hash())
                .expect("honest blocks import");
            store.apply(&executed.delta).unwrap();
            root = executed.delta.root;
        }
        (store, root)
    };
    let parent = TrieState::new(&store, parent_root);
    let reimported = execute_block(&parent, &full.block, chain.genesis_hash);
    assert!(reimported.is_ok(), "{:?}", reimported.err());
    assert_eq!(
        execute_block(&parent, &overfull, chain.genesis_hash).err(),
        Some(arceon_runtime::BlockError::InvalidExtrinsic {
            index: applied,
            error: InvalidTransaction::ExhaustsResources.into(),
        })
    );

    // The reports left out stay valid for the pool: they fit the next block.
    assert!(pool_validity(&chain, &reports[applied]).is_ok());
    let (next, _) = chain.build_at(chain.best.slot + 1, reports[applied..].to_vec());
    assert_eq!(next.results[0], Ok(Ok(())));

    // The pool refuses what no block could hold for its class: an operational report
    // longer than a block. One longer than normal transactions may be still fits.
    let padded = |padding: usize, slot: u64| {
        report(
            &account(&keys.dave),
            slot,
            &sealed_for_slot(&keys.dave, slot, 1, padding),
            &sealed_for_slot(&keys.dave, slot, 2, 0),
        )
    };
    let too_long = padded(limits::MAX_OPERATIONAL_LENGTH as usize, 4_000);
    assert_eq!(
        pool_validity(&chain, &too_long),
        Err(InvalidTransaction::ExhaustsResources.into())
    );
    let long = padded(limits::MAX_NORMAL_LENGTH as usize + 1024, 4_001);
    assert!(long.len() > limits::MAX_NORMAL_LENGTH as usize);
    assert!(pool_validity(&chain, &long).is_ok());
    // A normal transaction that long is refused.
    let remark = chain.signed(vec![(
        &keys.eve,
        Call::System(system::Call::Remark {
            remark: vec![0; limits::MAX_NORMAL_LENGTH as usize],
        }),
    )]);
    assert_eq!(
        pool_validity(&chain, &remark[0]),
        Err(InvalidTransaction::ExhaustsResources.into())
    );
}

#[test]
fn an_offence_older_than_the_window_is_refused_and_changes_nothing() {
    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let mut chain = Chain::new(&config, keys.all());
    let dave = account(&keys.dave);
    // Dave equivocates in era 0 and nobody reports it in time; he stays elected.
    let Equivocation {
        slot,
        first,
        second,
    } = equivocate(&mut chain, &keys.dave, &keys.alice);
    assert!(chain.best.number < 10);
    let evidence = report(&dave, slot, &first, &second);
    // The window is the bonding duration: three eras.
    chain.produce_until(30);
    assert_eq!(chain.active_era(), 3);
    assert!(pool_validity(&chain, &evidence).is_ok());
    let (late, _) = chain.build_at(chain.best.slot + 1, vec![evidence.clone()]);
    assert_eq!(late.results[0], Ok(Ok(())));

    chain.produce_until(40);
    assert_eq!(chain.active_era(), 4);
    assert!(chain.active_validators().contains(&dave));
    assert_eq!(
        pool_validity(&chain, &evidence),
        Err(InvalidTransaction::Stale.into())
    );
    let bond = chain.read(|ext| staking::ledger(ext, &dave));
    let (refused, delta) = chain.build_at(chain.best.slot + 1, vec![evidence.clone()]);
    assert_eq!(
        refused.results[0],
        Err(InvalidTransaction::Stale.into()),
        "the offence is too old"
    );
    assert!(refused.block.extrinsics.is_empty());
    assert!(!refused.events.iter().any(|event| matches!(
        event,
        RuntimeEvent::Staking(
            staking::Event::OffenceReported { .. }
                | staking::Event::SlashReported { .. }
                | staking::Event::ValidatorDisabled { .. }
        )
    )));
    chain.commit(&refused, &delta);
    assert_eq!(chain.read(|ext| staking::ledger(ext, &dave)), bond);
    assert!(!chain.read(|ext| staking::is_disabled(ext, &dave)));
    assert!(chain.read(|ext| staking::ReportedOffences::iter(ext).is_empty()));
    assert_eq!(
        chain.read(|ext| staking::reputation(ext, &dave).invalid_proposals),
        0
    );
}

#[test]
fn a_nominator_who_bonded_after_an_offence_is_not_slashed() {
    let keys = Keys::new();
    let mut config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let early = account(&keys.extra[0]);
    let dave = account(&keys.dave);
    let ferdie = account(&keys.ferdie);
    config.staking.stakers.push((
        early.clone(),
        50 * ARCM,
        StakerStatus::Nominator(vec![dave.clone()]),
    ));
    let mut chain = Chain::new(&config, keys.all());
    // Dave equivocates in era 0, backed by an early nominator...
    let Equivocation {
        slot,
        first,
        second,
    } = equivocate(&mut chain, &keys.dave, &keys.alice);
    // ...and Ferdie starts backing him afterwards, still in era 0.
    chain
        .produce(chain.signed(vec![
            (&keys.ferdie, bond(40 * ARCM)),
            (
                &keys.ferdie,
                Call::Staking(staking::Call::Nominate {
                    targets: vec![dave.clone().into()],
                }),
            ),
        ]))
        .assert_all_ok();
    assert!(chain.best.number < 10);
    chain.produce_until(10);
    let exposure = chain
        .read(|ext| staking::ErasStakers::get(ext, &1, &dave))
        .expect("Dave is elected in era 1");
    assert!(exposure.others.iter().any(|backer| backer.who == ferdie));

    // Reported in era 1, the era-0 offence slashes who backed Dave in era 0.
    let included = chain.produce(vec![report(&dave, slot, &first, &second)]);
    included.assert_all_ok();
    assert!(
        included.has(&RuntimeEvent::Staking(staking::Event::OffenceReported {
            offender: dave.clone(),
            slot,
            era: 0,
        }))
    );
    let slash_block = chain.produce_until(20).pop().expect("the era-2 block");
    assert!(new_era(&slash_block).is_some());
    assert!(
        slash_block.has(&RuntimeEvent::Staking(staking::Event::Slashed {
            staker: early.clone(),
            amount: 5 * ARCM,
        }))
    );
    assert!(
        slash_block.has(&RuntimeEvent::Staking(staking::Event::Slashed {
            staker: dave.clone(),
            amount: VALIDATOR_BOND / 10,
        }))
    );
    assert!(!slash_block.events.iter().any(|event| matches!(
        event,
        RuntimeEvent::Staking(staking::Event::Slashed { staker, .. }) if *staker == ferdie
    )));
    let ferdie_ledger = chain.read(|ext| staking::ledger(ext, &ferdie)).unwrap();
    assert_eq!(
        (ferdie_ledger.active, ferdie_ledger.total),
        (40 * ARCM, 40 * ARCM)
    );
}

/// Two votes of `stage` by `pair` in `round` of GRANDPA set `set_id`, for the blocks
/// numbered `target` and `target + 1`.
fn vote_report(pair: &sr25519::Pair, set_id: u64, target: u32) -> Vec<u8> {
    let vote = |byte: u8, number: u32| {
        let vote = staking::FinalityVote {
            stage: staking::STAGE_PRECOMMIT,
            target_hash: H256::repeat_byte(byte),
            target_number: number,
        };
        let payload = staking::VoteEquivocationProof::signed_payload(&vote, 3, set_id);
        (vote, grandpa_pair(pair).sign(&payload).0)
    };
    Extrinsic::new_unsigned(Call::Staking(staking::Call::ReportVoteEquivocation {
        proof: Box::new(staking::VoteEquivocationProof {
            set_id,
            round: 3,
            offender: grandpa_pair(pair).public(),
            first: vote(1, target),
            second: vote(2, target + 1),
        }),
    }))
    .encode()
}

#[test]
fn vote_equivocations_are_placed_in_eras_by_grandpa_set() {
    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let mut chain = Chain::new(&config, keys.all());
    let dave = account(&keys.dave);
    // Dave leaves: era 1 has a new membership, signalled as GRANDPA set 1.
    chain
        .produce(chain.signed(vec![(&keys.dave, chill())]))
        .assert_all_ok();
    chain.produce_until(10);
    let era_block = chain.blocks[9].header.clone();
    assert_eq!(chain.read(arceon_runtime::grandpa::current_set_id), 1);
    assert_eq!(
        chain.read(|ext| staking::era_start(ext, 1)),
        Some(staking::EraStart {
            block: 10,
            slot: era_block.digest.aura_slot().unwrap(),
            finality_set: 1,
        })
    );
    // A set-0 equivocation by Dave answers with his era-0 exposure.
    let in_set_0 = vote_report(&keys.dave, 0, 4);
    let included = chain.produce(vec![in_set_0]);
    included.assert_all_ok();
    assert!(included.has(&RuntimeEvent::Staking(
        staking::Event::VoteOffenceReported {
            offender: dave.clone(),
            set_id: 0,
            round: 3,
            era: 0,
        }
    )));
    // Dave is no voter of set 1, and set 2 does not exist.
    assert_eq!(
        pool_validity(&chain, &vote_report(&keys.dave, 1, 11)),
        Err(InvalidTransaction::BadSigner.into())
    );
    assert_eq!(
        pool_validity(&chain, &vote_report(&keys.alice, 2, 11)),
        Err(InvalidTransaction::BadProof.into())
    );
    assert!(pool_validity(&chain, &vote_report(&keys.alice, 1, 11)).is_ok());
    // The same membership in era 2: no new set.
    chain.produce_until(20);
    assert_eq!(chain.read(arceon_runtime::grandpa::current_set_id), 1);
    assert_eq!(
        chain.read(|ext| staking::era_start(ext, 2).map(|start| start.finality_set)),
        Some(1)
    );
}

// ---------------------------------------------------------------------------------------
// GRANDPA set changes in the digest.
// ---------------------------------------------------------------------------------------

/// The key whose Aura seal `block` carries.
fn sealer_of(keys: &Keys, block: &Block) -> sr25519::Pair {
    let (unsealed, seal) = block.header.split_seal();
    let Some(DigestItem::Seal(_, signature)) = seal else {
        panic!("block is sealed");
    };
    let signature = sr25519::Signature::from_raw(signature.try_into().expect("64 bytes"));
    keys.all()
        .into_iter()
        .find(|pair| sr25519::Pair::verify(&signature, unsealed.hash().as_bytes(), &pair.public()))
        .expect("the author is known")
}

/// Re-seals `block` after `tamper` changed its unsealed digest.
fn tampered(block: &Block, sealer: &sr25519::Pair, tamper: impl FnOnce(&mut Digest)) -> Block {
    let (mut header, _) = block.header.split_seal();
    tamper(&mut header.digest);
    seal(&mut header, sealer);
    Block {
        header,
        extrinsics: block.extrinsics.clone(),
    }
}

#[test]
fn a_changed_validator_set_is_signalled_to_grandpa_and_checked_on_import() {
    use arceon_primitives::GRANDPA_ENGINE_ID;
    use arceon_runtime::grandpa::{scheduled_change, ScheduledChange};

    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob, &keys.charlie, &keys.dave], &keys);
    let mut chain = Chain::new(&config, keys.all());
    // Dave stops validating: the era-1 set is Alice, Bob and Charlie.
    chain
        .produce(chain.signed(vec![(&keys.dave, chill())]))
        .assert_all_ok();
    let produced = chain.produce_until(10);
    for block in &produced[..produced.len() - 1] {
        assert!(scheduled_change(&block.block.header.digest).is_none());
    }
    let era_block = &produced[produced.len() - 1];
    assert!(new_era(era_block).is_some());
    let mut expected: Vec<sp_core::ed25519::Public> = [&keys.alice, &keys.bob, &keys.charlie]
        .iter()
        .map(|p| grandpa_pair(p).public())
        .collect();
    expected.sort();
    let change = scheduled_change(&era_block.block.header.digest)
        .expect("a FRNK log")
        .expect("it decodes");
    let mut signalled: Vec<sp_core::ed25519::Public> =
        change.next_authorities.iter().map(|(id, _)| *id).collect();
    signalled.sort();
    assert_eq!(signalled, expected);
    assert!(change
        .next_authorities
        .iter()
        .all(|(_, weight)| *weight == 1));
    assert_eq!(change.delay, 0);
    let mut aura_now: Vec<AccountId32> = chain.aura_authorities();
    aura_now.sort();
    // Aura follows with the same validators' aura session keys.
    let mut aura_expected: Vec<AccountId32> = [&keys.alice, &keys.bob, &keys.charlie]
        .iter()
        .map(|p| AccountId32::from(p.public()))
        .collect();
    aura_expected.sort();
    assert_eq!(aura_now, aura_expected);

    // The same set at the next era change: no signal.
    let produced = chain.produce_until(20);
    assert!(new_era(&produced[produced.len() - 1]).is_some());
    assert!(produced
        .iter()
        .all(|p| scheduled_change(&p.block.header.digest).is_none()));

    // Re-import accepts the honest blocks...
    let blocks = chain.blocks.clone();
    reimport(&config, &blocks[..10]);

    // ...and rejects the era block without its log, with an altered one, and a
    // non-era block with a forged one.
    let execute = |blocks: &[Block]| -> Result<(), arceon_runtime::BlockError> {
        let storage = config.build_storage().expect("genesis builds");
        let (header, delta) = genesis_block(&storage);
        let mut store = MemoryNodeStore::from_delta(&delta).expect("store");
        let mut root = header.state_root;
        for block in blocks {
            let executed = {
                let state = TrieState::new(&store, root);
                execute_block(&state, block, header.hash())?
            };
            store.apply(&executed.delta).expect("delta applies");
            root = executed.delta.root;
        }
        Ok(())
    };
    let era = blocks[9].clone();
    let sealer = sealer_of(&keys, &era);
    let without = tampered(&era, &sealer, |digest| {
        digest
            .logs
            .retain(|item| !matches!(item, DigestItem::Consensus(..)))
    });
    let altered = tampered(&era, &sealer, |digest| {
        for item in &mut digest.logs {
            if let DigestItem::Consensus(_, data) = item {
                *data = ScheduledChange {
                    next_authorities: vec![(grandpa_pair(&keys.eve).public(), 1)],
                    delay: 0,
                }
                .encode();
            }
        }
    });
    for bad in [without, altered] {
        let mut forged = blocks[..9].to_vec();
        forged.push(bad);
        assert!(matches!(
            execute(&forged),
            Err(arceon_runtime::BlockError::DigestMismatch { .. })
        ));
    }
    let quiet = blocks[4].clone();
    let quiet_sealer = sealer_of(&keys, &quiet);
    let forged_signal = tampered(&quiet, &quiet_sealer, |digest| {
        digest.logs.push(DigestItem::Consensus(
            GRANDPA_ENGINE_ID,
            ScheduledChange {
                next_authorities: vec![(grandpa_pair(&keys.eve).public(), 1)],
                delay: 0,
            }
            .encode(),
        ))
    });
    let mut forged = blocks[..4].to_vec();
    forged.push(forged_signal);
    assert!(matches!(
        execute(&forged),
        Err(arceon_runtime::BlockError::DigestMismatch { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Session keys: registered by the stash, in force from the next era.
// ---------------------------------------------------------------------------------------

fn set_keys(keys: arceon_primitives::SessionKeys) -> Call {
    Call::Session(staking::session::Call::SetKeys {
        keys,
        proof: Vec::new(),
    })
}

#[test]
fn session_keys_registered_by_a_stash_take_effect_at_the_next_era() {
    use arceon_runtime::grandpa::scheduled_change;
    use staking::session::Error as SessionError;

    let keys = Keys::new();
    let config = world_config(&[&keys.alice, &keys.bob], &keys);
    let mut chain = Chain::new(&config, keys.all());
    let new_aura = numbered_pair(40);
    let new_grandpa = sp_core::ed25519::Pair::from_seed(&[40u8; 32]);
    let fresh = arceon_primitives::SessionKeys {
        aura: new_aura.public(),
        grandpa: new_grandpa.public(),
    };
    let alice = account(&keys.alice);
    let before = chain.read(|ext| staking::session::next_keys(ext, &alice));
    assert_eq!(before, Some(session_keys(&keys.alice)));

    // Ferdie has not bonded; Bob may not take a key Alice registered; Alice registers.
    let stolen = arceon_primitives::SessionKeys {
        aura: keys.alice.public(),
        grandpa: new_grandpa.public(),
    };
    let long_proof = Call::Session(staking::session::Call::SetKeys {
        keys: fresh,
        proof: vec![0; staking::session::MAX_PROOF_LEN + 1],
    });
    let produced = chain.produce(chain.signed(vec![
        (&keys.ferdie, set_keys(fresh)),
        (&keys.bob, set_keys(stolen)),
        (&keys.alice, long_proof),
        (&keys.alice, set_keys(fresh)),
    ]));
    let refused = |e: SessionError| Ok(Err(DispatchError::from(e)));
    assert_eq!(
        produced.results[0],
        refused(SessionError::NoAssociatedValidatorId)
    );
    assert_eq!(produced.results[1], refused(SessionError::DuplicatedKey));
    assert_eq!(produced.results[2], refused(SessionError::InvalidProof));
    assert_eq!(produced.results[3], Ok(Ok(())));
    assert_eq!(
        chain.read(|ext| staking::session::next_keys(ext, &account(&keys.bob))),
        Some(session_keys(&keys.bob)),
        "a refused set_keys changes nothing"
    );
    chain.read(|ext| {
        assert_eq!(staking::session::next_keys(ext, &alice), Some(fresh));
        // The old keys are free again, the new ones name Alice.
        let owner = |ext: &mut Ext, key_type: [u8; 4], public: &[u8; 32]| {
            staking::session::KeyOwner::get(ext, &(key_type, public.to_vec()))
        };
        assert_eq!(owner(ext, *b"aura", &keys.alice.public().0), None);
        assert_eq!(owner(ext, *b"aura", &fresh.aura.0), Some(alice.clone()));
        assert_eq!(owner(ext, *b"gran", &fresh.grandpa.0), Some(alice.clone()));
    });
    // Until the era ends Alice still authors with her old key.
    assert!(chain.aura_authorities().contains(&account(&keys.alice)));

    let produced = chain.produce_until(10);
    let era_block = &produced[produced.len() - 1];
    assert!(new_era(era_block).is_some());
    let aura_now = chain.aura_authorities();
    assert!(aura_now.contains(&AccountId32::from(fresh.aura)));
    assert!(
        !aura_now.contains(&alice),
        "the old Aura key no longer authors"
    );
    assert!(aura_now.contains(&account(&keys.bob)));
    let change = scheduled_change(&era_block.block.header.digest)
        .expect("the GRANDPA keys changed")
        .expect("it decodes");
    let voters: Vec<sp_core::ed25519::Public> =
        change.next_authorities.iter().map(|(id, _)| *id).collect();
    assert!(voters.contains(&fresh.grandpa));
    assert!(!voters.contains(&grandpa_pair(&keys.alice).public()));
    assert!(voters.contains(&grandpa_pair(&keys.bob).public()));

    // Blocks sealed with the new key are credited to Alice's stash.
    let produced = chain.produce_until(14);
    let by_new_key = produced
        .iter()
        .filter(|p| {
            let slot = p.block.header.digest.aura_slot().expect("slot");
            aura_now[(slot % aura_now.len() as u64) as usize] == AccountId32::from(fresh.aura)
        })
        .collect::<Vec<_>>();
    assert!(!by_new_key.is_empty());
    assert!(by_new_key.iter().all(|p| p.author == alice));

    // Purged keys leave Alice without keys: she stops authoring at the next era.
    chain
        .produce(chain.signed(vec![(
            &keys.alice,
            Call::Session(staking::session::Call::PurgeKeys),
        )]))
        .assert_all_ok();
    chain.produce_until(20);
    let aura_later = chain.aura_authorities();
    assert!(!aura_later.contains(&AccountId32::from(fresh.aura)));
    assert_eq!(aura_later, vec![account(&keys.bob)]);
}
