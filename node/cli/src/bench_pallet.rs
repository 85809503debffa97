//! `arceon-node benchmark pallet`: measures the execution time of pallet calls and hooks
//! on populated in-memory states and prints each next to the weight it declares
//! (`Call::weight()`, or what the hook returns), so the declared weights can be checked
//! against this machine.
//!
//! - balances and system: transfers and remarks on a state of `--accounts` accounts;
//! - staking, players, structures and npcs: one world state, built from the dev chain
//!   spec's world (its map, resources, recipes, structure kinds and parameters) grown to
//!   thousands of accounts, stakers, players, structures and NPCs (see [`World::build`]);
//! - areas: committee rebalancing and era changes on generated maps of 64 and 1,024 areas.
//!
//! Every call runs in its own transactional layer of one block-like context and is timed
//! alone; the row shows the median over the calls (and the mean). Calls that use up what
//! they act on (a transfer to a fresh account, a full unbond) run once per actor and keep
//! their changes, like the calls of a block; calls whose worst-case state must stay as set
//! up (a placement next to full grid cells, a heartbeat, a rebalance that replaces every
//! committee) are rolled back after each run, so every run sees the same state.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context;
use arceon_chain_spec::{ChainSpec, Genesis};
use arceon_pallet_areas::{self as areas, AreaId, Bounds, Position, UNIT};
use arceon_pallet_balances as balances;
use arceon_pallet_npcs as npcs;
use arceon_pallet_players as players;
use arceon_pallet_staking as staking;
use arceon_pallet_structures as structures;
use arceon_pallet_system as system;
use arceon_primitives::{
    sr25519, AccountId32, Balance, BlockNumber, Digest, DigestItem, Header, MultiAddress, ARCM,
    AURA_ENGINE_ID, H256,
};
use arceon_support::{
    BuildGenesis, DispatchError, DispatchResult, Ext, Hooks, MemoryState, Origin, StorageChanges,
    Weight,
};
use codec::Encode;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use sp_core::Pair as _;

/// The pallets this command benchmarks, as `--pallet` names them.
const PALLETS: [&str; 7] = [
    "balances",
    "system",
    "staking",
    "areas",
    "players",
    "structures",
    "npcs",
];

/// Options of `benchmark pallet`.
#[derive(Debug, clap::Args)]
pub struct PalletBenchmark {
    /// Accounts in the state the balances and system calls run on; the world state of the
    /// other pallets endows as many, and at least 10,000.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u32,
    /// Most calls measured per benchmark. Benchmarks run fewer where the state has fewer
    /// actors for a call that uses its actor up, and for the slowest calls and hooks; each
    /// row shows its count.
    #[arg(long, default_value_t = 20_000)]
    pub repeat: u32,
    /// Only benchmark these pallets (repeat the option or separate with commas):
    /// balances, system, staking, areas, players, structures, npcs. Default: all.
    #[arg(long, value_delimiter = ',')]
    pub pallet: Vec<String>,
}

fn account(i: u32) -> AccountId32 {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&i.to_le_bytes());
    bytes[31] = 0xa5;
    AccountId32::new(bytes)
}

// ---------------------------------------------------------------------------------------
// Measuring.
// ---------------------------------------------------------------------------------------

/// What happens to a measured call's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// They stay, as in a block: the next call sees them.
    Commit,
    /// They are rolled back: every call runs on the same state.
    Discard,
}

/// Why a `Keep::Discard` run ended its layer with an error.
enum Rollback {
    /// The call succeeded; its changes are dropped on purpose.
    Done,
    /// The call failed.
    Failed(DispatchError),
}

impl From<DispatchError> for Rollback {
    fn from(error: DispatchError) -> Self {
        Rollback::Failed(error)
    }
}

/// The timings of one benchmark, in picoseconds per call.
struct Stats {
    calls: u32,
    median_ps: u64,
    mean_ps: u64,
}

impl Stats {
    fn from_samples(mut samples: Vec<Duration>) -> Stats {
        samples.sort_unstable();
        let ps = |d: &Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 1000) * 1000;
        let n = samples.len();
        let median_ps = match n {
            0 => 0,
            n if !n.is_multiple_of(2) => samples.get(n / 2).map_or(0, ps),
            n => {
                let low = samples.get(n / 2 - 1).map_or(0, ps);
                let high = samples.get(n / 2).map_or(0, ps);
                low / 2 + high / 2
            }
        };
        let total: u128 = samples.iter().map(|d| d.as_nanos()).sum();
        let mean_ps = u64::try_from(total * 1000 / n.max(1) as u128).unwrap_or(u64::MAX);
        Stats {
            calls: u32::try_from(n).unwrap_or(u32::MAX),
            median_ps,
            mean_ps,
        }
    }
}

/// Runs `prepare` (not timed), then `call(i)` for `i` in `0..calls` in one block-like
/// context, each in its own transactional layer, timing each call alone.
fn run_calls(
    state: &MemoryState,
    calls: u32,
    keep: Keep,
    prepare: impl FnOnce(&mut Ext) -> anyhow::Result<()>,
    mut call: impl FnMut(&mut Ext, u32) -> DispatchResult,
) -> anyhow::Result<Stats> {
    anyhow::ensure!(calls >= 1, "a benchmark needs at least one call");
    let mut ext = Ext::new(state);
    prepare(&mut ext)?;
    let mut samples = Vec::with_capacity(calls as usize);
    for i in 0..calls {
        let started = Instant::now();
        let outcome = match keep {
            Keep::Commit => ext.transactional(|ext| call(ext, i)),
            Keep::Discard => {
                let run: Result<(), Rollback> = ext.transactional(|ext| match call(ext, i) {
                    Ok(()) => Err(Rollback::Done),
                    Err(error) => Err(Rollback::Failed(error)),
                });
                match run {
                    Ok(()) | Err(Rollback::Done) => Ok(()),
                    Err(Rollback::Failed(error)) => Err(error),
                }
            }
        };
        let elapsed = started.elapsed();
        outcome.map_err(|e| anyhow::anyhow!("benchmark call {i} failed: {e}"))?;
        samples.push(elapsed);
    }
    if let Some(fault) = ext.take_fault() {
        anyhow::bail!("storage fault during the benchmark: {fault}");
    }
    Ok(Stats::from_samples(samples))
}

/// Runs `call(i)` `calls` times, keeping each call's changes (block-like).
fn measure(
    state: &MemoryState,
    calls: u32,
    call: impl FnMut(&mut Ext, u32) -> DispatchResult,
) -> anyhow::Result<Stats> {
    run_calls(state, calls, Keep::Commit, |_| Ok(()), call)
}

/// Runs `call(i)` `calls` times, rolling each call back (every call sees `state`).
fn measure_discarding(
    state: &MemoryState,
    calls: u32,
    call: impl FnMut(&mut Ext, u32) -> DispatchResult,
) -> anyhow::Result<Stats> {
    run_calls(state, calls, Keep::Discard, |_| Ok(()), call)
}

/// The printed table, and what it found.
#[derive(Default)]
struct Report {
    rows: u32,
    under_declared: Vec<String>,
}

impl Report {
    fn header() {
        println!(
            "{:<58} {:>6} {:>11} {:>11} {:>12} {:>7}",
            "benchmark", "calls", "median us", "mean us", "declared us", "ratio"
        );
    }

    /// Prints a row: the median against the declared reference time, and their ratio
    /// (`measured / declared`; above 1 the call is under-declared).
    fn row(&mut self, name: &str, stats: &Stats, declared: Weight) {
        self.rows += 1;
        let ratio = stats.median_ps as f64 / declared.ref_time.max(1) as f64;
        let verdict = if stats.median_ps <= declared.ref_time {
            "ok"
        } else {
            self.under_declared.push(name.to_string());
            "UNDER-DECLARED"
        };
        println!(
            "{name:<58} {:>6} {:>11.2} {:>11.2} {:>12.2} {:>7.3}  {verdict}",
            stats.calls,
            stats.median_ps as f64 / 1e6,
            stats.mean_ps as f64 / 1e6,
            declared.ref_time as f64 / 1e6,
            ratio,
        );
    }
}

/// The calls a benchmark runs: `--repeat`, at most `limit` (the actors available, or a
/// cap for slow calls).
fn calls(args: &PalletBenchmark, limit: usize) -> u32 {
    args.repeat.min(u32::try_from(limit).unwrap_or(u32::MAX))
}

/// Runs `setup` on `state` and returns the state with its changes applied.
fn with_setup<R>(
    mut state: MemoryState,
    setup: impl FnOnce(&mut Ext) -> anyhow::Result<R>,
) -> anyhow::Result<(MemoryState, R)> {
    let (changes, result): (StorageChanges, R) = {
        let mut ext = Ext::new(&state);
        let result = setup(&mut ext)?;
        if let Some(fault) = ext.take_fault() {
            anyhow::bail!("storage fault while setting up: {fault}");
        }
        (ext.into_changes(), result)
    };
    for (key, value) in changes {
        match value {
            Some(value) => state.insert(key, value),
            None => state.remove(&key),
        };
    }
    Ok((state, result))
}

// ---------------------------------------------------------------------------------------
// The command.
// ---------------------------------------------------------------------------------------

/// Runs the pallet benchmark.
pub fn run(args: &PalletBenchmark) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.accounts >= 2 && args.repeat >= 1,
        "need 2+ accounts and 1+ repeat"
    );
    for pallet in &args.pallet {
        anyhow::ensure!(
            PALLETS.contains(&pallet.as_str()),
            "unknown pallet '{pallet}' (known: {})",
            PALLETS.join(", ")
        );
    }
    let wants = |pallet: &str| args.pallet.is_empty() || args.pallet.iter().any(|p| p == pallet);
    let started = Instant::now();
    let mut report = Report::default();
    Report::header();
    if wants("balances") || wants("system") {
        bench_balances(args, wants("balances"), wants("system"), &mut report)?;
    }
    if ["staking", "players", "structures", "npcs"]
        .iter()
        .any(|pallet| wants(pallet))
    {
        let world = World::build(args.accounts.max(MIN_WORLD_ACCOUNTS))?;
        if wants("staking") {
            bench_staking(args, &world, &mut report)?;
        }
        if wants("players") {
            bench_players(args, &world, &mut report)?;
        }
        if wants("structures") {
            bench_structures(args, &world, &mut report)?;
        }
        if wants("npcs") {
            bench_npcs(args, &world, &mut report)?;
        }
    }
    if wants("areas") {
        bench_areas(args, &mut report)?;
    }
    println!(
        "{} benchmarks in {:.1} s; {} under-declared{}",
        report.rows,
        started.elapsed().as_secs_f64(),
        report.under_declared.len(),
        if report.under_declared.is_empty() {
            String::new()
        } else {
            format!(": {}", report.under_declared.join("; "))
        }
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Balances and system.
// ---------------------------------------------------------------------------------------

fn bench_balances(
    args: &PalletBenchmark,
    with_balances: bool,
    with_system: bool,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (state, ()) = with_setup(MemoryState::new(), |ext| {
        balances::GenesisConfig {
            balances: (0..args.accounts)
                .map(|i| (account(i), 1_000_000 * ARCM))
                .collect(),
        }
        .build(ext)?;
        Ok(())
    })?;
    let n = args.accounts;
    eprintln!("balances and system: a state of {n} accounts");
    let repeat = args.repeat;
    // Worst case for transfers: the recipient is a new account.
    let fresh = |i: u32| account(n + i);
    if with_balances {
        let t = measure(&state, repeat, |ext, i| {
            balances::Call::TransferAllowDeath {
                dest: MultiAddress::Id(fresh(i)),
                value: ARCM,
            }
            .dispatch(ext, Origin::Signed(account(i % n)))
        })?;
        report.row(
            "balances.transfer_allow_death (new account)",
            &t,
            balances::weights::TRANSFER_ALLOW_DEATH,
        );
        let t = measure(&state, repeat, |ext, i| {
            balances::Call::TransferKeepAlive {
                dest: MultiAddress::Id(fresh(i)),
                value: ARCM,
            }
            .dispatch(ext, Origin::Signed(account(i % n)))
        })?;
        report.row(
            "balances.transfer_keep_alive (new account)",
            &t,
            balances::weights::TRANSFER_KEEP_ALIVE,
        );
        let t = measure(&state, repeat, |ext, i| {
            balances::Call::ForceTransfer {
                source: MultiAddress::Id(account(i % n)),
                dest: MultiAddress::Id(fresh(i)),
                value: ARCM,
            }
            .dispatch(ext, Origin::Root)
        })?;
        report.row(
            "balances.force_transfer (new account)",
            &t,
            balances::weights::FORCE_TRANSFER,
        );
        let t = measure(&state, repeat, |ext, i| {
            balances::Call::ForceSetBalance {
                who: MultiAddress::Id(account(i % n)),
                new_free: 5 * ARCM,
            }
            .dispatch(ext, Origin::Root)
        })?;
        report.row(
            "balances.force_set_balance",
            &t,
            balances::weights::FORCE_SET_BALANCE,
        );
    }
    if with_system {
        let remark = vec![7u8; 64];
        let t = measure(&state, repeat, |ext, i| {
            system::Call::RemarkWithEvent {
                remark: remark.clone(),
            }
            .dispatch(ext, Origin::Signed(account(i % n)))
        })?;
        report.row(
            "system.remark_with_event (64 B)",
            &t,
            system::weights::remark_with_event(64),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The world state.
// ---------------------------------------------------------------------------------------

/// The fewest plain accounts the world state endows (`account(0..)`).
const MIN_WORLD_ACCOUNTS: u32 = 10_000;
/// ArcM each account and validator starts with.
const ENDOWMENT: Balance = 1_000_000 * ARCM;
/// Accounts with validator intent (at most `MAX_VALIDATOR_INTENTS`); 100 are elected.
const VALIDATORS: u32 = 400;
/// Nominators, `account(0..2_000)`, each backing 16 validators (at most
/// `MAX_NOMINATOR_INTENTS`). Their ledgers carry 31 unlocking chunks.
const NOMINATORS: u32 = 2_000;
/// Bonded without intent, with 31 chunks unlocking in the future: `rebond` and `nominate`.
const REBONDERS: std::ops::Range<u32> = 2_000..3_000;
/// Bonded without intent, everything unbonded in 32 chunks that are all due:
/// `withdraw_unbonded`.
const WITHDRAWERS: std::ops::Range<u32> = 3_000..4_000;
/// Accounts from here on have no ledger: `bond`.
const FIRST_UNBONDED: u32 = 4_000;
/// What each nominator and idle staker bonded at genesis.
const STAKE: Balance = 1_000 * ARCM;
/// Players, `account(0..6_000)`: the first 2,000 stand in the hub, then the builders,
/// then everyone else spread over the map. Accounts from here on have no player.
const PLAYERS: u32 = 6_000;
/// Players standing in the hub.
const HUB_PLAYERS: u32 = 2_000;
/// The player who owns the structures around the dense building site.
const LANDLORD: u32 = PLAYERS - 1;
/// The player who builds on the dense site.
const DENSE_BUILDER: u32 = PLAYERS - 2;
/// NPCs, spread evenly over the 25 areas (160 each, of at most 256).
const NPCS: u32 = 4_000;
/// The era the world is in: eras are as long as the dev spec says.
const BENCH_ERA: u32 = 40;
/// The hub: a large area with the most neighbours an area can have.
const HUB: AreaId = 100;
/// The hub's 16 neighbours are `101..=116`, the east side last.
const FIRST_SPOKE: AreaId = 101;
/// The neighbour a cross-area move enters: the hub's last, so `move_to` reads them all.
const LAST_SPOKE: AreaId = FIRST_SPOKE + 15;
/// The dev area holding the dense building site.
const DENSE_AREA: AreaId = 3;
/// The gathered resource, listed last of the 16 deposits of the hub.
const GATHERED: areas::ResourceId = 5;

/// The populated world the staking, players, structures and npcs benchmarks run on.
struct World {
    state: MemoryState,
    /// Plain accounts endowed: `account(0..accounts)`.
    accounts: u32,
    /// The block the calls run in (`System.Number`).
    block: BlockNumber,
    /// The current staking session.
    session: u32,
    /// Every account with validator intent.
    validators: Vec<AccountId32>,
    /// The active validators with their keys, in active-set order.
    active: Vec<(AccountId32, sr25519::Pair)>,
    /// Builders and the Workshop each owns (the largest claim among the kinds).
    builders: Vec<(AccountId32, structures::StructureId)>,
    /// The kind built on the dense site.
    site_kind: structures::KindId,
    /// The south-west corner of the dense site's free plot.
    site_corner: Position,
    /// Distinct structures listed in the grid cells the free plot touches.
    site_neighbours: usize,
    /// The fewest structures any of those cells lists.
    site_load: u32,
    /// The recipe with the most inputs.
    recipe: players::RecipeId,
}

/// A seed-derived sr25519 key for validator `i` (fast, unlike URI derivation).
fn validator_seed(i: u32) -> [u8; 32] {
    let mut seed = [0x5au8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    seed
}

/// Validator `i`'s stash, which is also its Aura session key.
fn validator_pair(i: u32) -> sr25519::Pair {
    sr25519::Pair::from_seed(&validator_seed(i))
}

/// Validator `i`'s session keys: its stash key for Aura, an ed25519 key from the same seed
/// for GRANDPA.
fn validator_session_keys(i: u32) -> arceon_primitives::SessionKeys {
    arceon_primitives::SessionKeys {
        aura: validator_pair(i).public(),
        grandpa: arceon_primitives::ed25519::Pair::from_seed(&validator_seed(i)).public(),
    }
}

fn random_in(rng: &mut StdRng, bounds: &Bounds) -> Position {
    Position::new(
        rng.gen_range(bounds.min_x..bounds.max_x),
        rng.gen_range(bounds.min_y..bounds.max_y),
    )
}

/// The hub's 16 neighbours: four 100-unit squares along each side of the 400-unit hub,
/// south, west, north, then east (the last is the northernmost on the east side).
fn spokes() -> Vec<Bounds> {
    let (x0, y0) = (1_000 * UNIT, 100 * UNIT);
    let side = 100 * UNIT;
    let mut spokes = Vec::new();
    for k in 0..4 {
        spokes.push(Bounds::new(
            x0 + k * side,
            y0 - side,
            x0 + (k + 1) * side,
            y0,
        ));
    }
    for k in 0..4 {
        spokes.push(Bounds::new(
            x0 - side,
            y0 + k * side,
            x0,
            y0 + (k + 1) * side,
        ));
    }
    for k in 0..4 {
        spokes.push(Bounds::new(
            x0 + k * side,
            y0 + 4 * side,
            x0 + (k + 1) * side,
            y0 + 5 * side,
        ));
    }
    for k in 0..4 {
        spokes.push(Bounds::new(
            x0 + 4 * side,
            y0 + k * side,
            x0 + 5 * side,
            y0 + (k + 1) * side,
        ));
    }
    spokes
}

/// Sixteen deposits (the most an area holds), the gathered resource last, so large that
/// thousands of gathers in one block leave them stocked.
fn rich_deposits() -> Vec<areas::ResourceNode> {
    [1, 2, 3, 4]
        .into_iter()
        .chain(1_001..=1_011)
        .chain(std::iter::once(GATHERED))
        .map(|resource| areas::ResourceNode {
            resource,
            amount: 1_000_000,
            max: 1_000_000,
            regen_per_block: 10,
            last_update: 0,
        })
        .collect()
}

/// The inventory of every player: plenty of every raw resource and crafted item the
/// recipes and structure kinds use, and single filler items: 26 of the 32 slots.
fn player_inventory() -> Vec<(players::ItemId, u32)> {
    [1, 2, 3, 4, 5, 101, 102, 103, 104, 105]
        .into_iter()
        .map(|item| (item, 500))
        .chain((200..216).map(|item| (item, 1)))
        .collect()
}

/// Moves `who`'s player to `position` in `area`, keeping the area index right.
fn relocate(
    ext: &mut Ext,
    who: &AccountId32,
    area: AreaId,
    position: Position,
) -> anyhow::Result<()> {
    let mut player = players::Players::get(ext, who).context("relocating a missing player")?;
    players::reindex(ext, who, player.area, area);
    player.area = area;
    player.position = position;
    players::Players::insert(ext, who, &player);
    Ok(())
}

/// Places `kind` for `who` at `corner` in `area`, standing at the footprint's centre.
fn build_structure(
    ext: &mut Ext,
    who: &AccountId32,
    area: AreaId,
    corner: Position,
    kind: &structures::StructureKind,
) -> Result<structures::StructureId, DispatchError> {
    let centre = Position::new(corner.x + kind.width / 2, corner.y + kind.height / 2);
    if relocate(ext, who, area, centre).is_err() {
        return Err(DispatchError::Other("no player"));
    }
    structures::place(ext, who, area, corner, kind.id)
}

/// Footprint corners of `kind` laid out on `bounds`, as close as claims allow: each
/// footprint is a claim radius from the next, and half a radius from the edge.
fn sites(bounds: &Bounds, kind: &structures::StructureKind) -> Vec<Position> {
    let r = kind.claim_radius.max(1);
    let margin = r / 2 + 1;
    let (pitch_x, pitch_y) = (kind.width + r, kind.height + r);
    let mut out = Vec::new();
    let mut y = bounds.min_y + margin;
    while y + kind.height + margin <= bounds.max_y {
        let mut x = bounds.min_x + margin;
        while x + kind.width + margin <= bounds.max_x {
            out.push(Position::new(x, y));
            x += pitch_x;
        }
        y += pitch_y;
    }
    out
}

impl World {
    /// The dev chain spec's world, grown: `accounts` endowed accounts; 400 validators
    /// (100 elected) and 2,000 nominators backing 16 each, in era 40; 6,000 players with
    /// full inventories, 2,000 of them in a hub area with 16 neighbours; a Workshop for
    /// each of 760 builders over the map; a building site whose grid cells hold as many
    /// claims as placement allows; 4,000 NPCs with spawn rules in all 25 areas.
    fn build(accounts: u32) -> anyhow::Result<World> {
        let started = Instant::now();
        eprintln!("building the world state (dev spec world, {accounts} accounts)...");
        let spec = ChainSpec::load("dev").context("loading the dev chain spec")?;
        let Genesis::RuntimeGenesis(genesis) = spec.genesis else {
            anyhow::bail!("the dev chain spec has no runtime genesis configuration");
        };
        let mut config = genesis.config;
        let mut rng = StdRng::seed_from_u64(0xa2ce0);

        let keys: Vec<sr25519::Pair> = (0..VALIDATORS).map(validator_pair).collect();
        let validators: Vec<AccountId32> = keys.iter().map(|k| k.public().into()).collect();
        config.balances.balances.extend(
            (0..accounts)
                .map(account)
                .chain(validators.iter().cloned())
                .map(|who| (who, ENDOWMENT)),
        );

        // Staking: bonds that differ, so the election ranks; the largest active set.
        let mut stakers = Vec::new();
        for (i, who) in validators.iter().enumerate() {
            let bond = (10_000 + (i as u128 * 7_919) % 10_000) * ARCM;
            stakers.push((who.clone(), bond, staking::StakerStatus::Validator));
        }
        for i in 0..NOMINATORS {
            let targets: Vec<AccountId32> = validators
                .choose_multiple(&mut rng, staking::MAX_NOMINATIONS)
                .cloned()
                .collect();
            stakers.push((account(i), STAKE, staking::StakerStatus::Nominator(targets)));
        }
        for i in REBONDERS.chain(WITHDRAWERS) {
            stakers.push((account(i), STAKE, staking::StakerStatus::Idle));
        }
        config.staking.stakers = stakers;
        config.session.keys = (0..VALIDATORS)
            .zip(&validators)
            .map(|(i, who)| (who.clone(), who.clone(), validator_session_keys(i)))
            .collect();
        config.staking.validator_count = staking::MAX_VALIDATOR_COUNT;
        let era_length = config.staking.era_length;
        let sessions_per_era = config.staking.sessions_per_era;
        let session_length = (era_length / sessions_per_era.max(1)).max(1);
        let sessions_in = 3.min(sessions_per_era.saturating_sub(1));
        let era_start = BENCH_ERA * era_length;
        let block = era_start + sessions_in * session_length;
        let session = BENCH_ERA * sessions_per_era + sessions_in;

        // The map: the dev areas, and a hub with 16 neighbours far to their east.
        let hub = Bounds::new(1_000 * UNIT, 100 * UNIT, 1_400 * UNIT, 500 * UNIT);
        config.areas.areas.push(areas::AreaConfig {
            id: HUB,
            name: "Bench Hub".into(),
            bounds: hub,
            neighbours: None,
            capacity: 20_000,
            resources: rich_deposits(),
        });
        for (k, bounds) in spokes().into_iter().enumerate() {
            config.areas.areas.push(areas::AreaConfig {
                id: FIRST_SPOKE + k as AreaId,
                name: format!("Bench Spoke {k}"),
                bounds,
                neighbours: None,
                capacity: 10_000,
                resources: rich_deposits(),
            });
        }
        config.areas.starting_area = Some(HUB);
        let map: Vec<(AreaId, Bounds)> = config
            .areas
            .areas
            .iter()
            .map(|area| (area.id, area.bounds))
            .collect();

        // Players spawn in the hub at genesis; the setup below moves most of them out.
        config.players.players = (0..PLAYERS)
            .map(|i| (account(i), format!("player{i}")))
            .collect();

        // NPCs: 40% villagers, 30% traders, 30% beasts; spawn rules for every kind in
        // every area.
        config.npcs.npcs = (0..NPCS)
            .map(|i| {
                let (area, bounds) = map[i as usize % map.len()];
                let kind = match i % 10 {
                    0..=3 => npcs::NpcKind::Villager,
                    4..=6 => npcs::NpcKind::Trader,
                    _ => npcs::NpcKind::Beast,
                };
                npcs::NpcConfig {
                    name: format!("npc{i}"),
                    kind,
                    area,
                    position: random_in(&mut rng, &bounds),
                }
            })
            .collect();
        config.npcs.spawn_rules = map
            .iter()
            .map(|(area, _)| {
                let rules = npcs::NpcKind::ALL
                    .iter()
                    .map(|kind| npcs::SpawnRule {
                        kind: *kind,
                        max_count: 120,
                        chance_per_mille: 250,
                    })
                    .collect();
                (*area, rules)
            })
            .collect();

        let kind_named = |name: &str| {
            config
                .structures
                .kinds
                .iter()
                .find(|kind| kind.name == name)
                .cloned()
                .with_context(|| format!("the dev spec has no structure kind {name}"))
        };
        let workshop = kind_named("Workshop")?;
        let hut = kind_named("Hut")?;
        let filler = config
            .structures
            .kinds
            .iter()
            .min_by_key(|kind| kind.width * kind.height)
            .cloned()
            .context("the dev spec has no structure kind")?;
        let recipe = config
            .players
            .recipes
            .iter()
            .max_by_key(|recipe| recipe.inputs.len())
            .map(|recipe| recipe.id)
            .context("the dev spec has no recipe")?;
        let rate_limits = (
            config.players.max_actions_per_block,
            config.players.max_actions_per_era,
        );

        let genesis_state = config
            .build_storage()
            .context("building the world genesis")?;
        eprintln!(
            "  genesis: {} keys ({:.1} s)",
            genesis_state.len(),
            started.elapsed().as_secs_f64()
        );

        let (state, (builders, (site_corner, site_neighbours, site_load), active)) =
            with_setup(genesis_state, |ext| {
                system::Number::put(ext, &(block - 1));
                system::ParentHash::put(ext, &H256::repeat_byte(0x42));
                advance_staking(ext, era_start, session)?;
                players::on_new_era(ext, BENCH_ERA);
                // Setting up takes more actions per block than players may take.
                players::set_rate_limits(ext, u32::MAX, u32::MAX);
                let builders = populate_players(ext, &mut rng, &map, hub, &workshop)?;
                let site = dense_site(ext, &hut, &filler)?;
                players::set_rate_limits(ext, rate_limits.0, rate_limits.1);
                stock_npcs(ext, &mut rng)?;
                system::Number::put(ext, &block);
                arceon_runtime::world::check_invariants(ext)
                    .map_err(|e| anyhow::anyhow!("the benchmark world is inconsistent: {e}"))?;
                Ok((builders, site, staking::active_validators(ext)))
            })?;
        let index: HashMap<AccountId32, usize> = validators
            .iter()
            .enumerate()
            .map(|(i, who)| (who.clone(), i))
            .collect();
        let active = active
            .into_iter()
            .filter_map(|who| {
                let key = keys.get(*index.get(&who)?)?.clone();
                Some((who, key))
            })
            .collect::<Vec<_>>();
        anyhow::ensure!(!active.is_empty(), "no active validator with a known key");
        eprintln!(
            "  world: {} keys, {} builders, dense site cells list {} structures (at least {} each), {} active validators ({:.1} s)",
            state.len(),
            builders.len(),
            site_neighbours,
            site_load,
            active.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(World {
            state,
            accounts,
            block,
            session,
            validators,
            active,
            builders,
            site_kind: hut.id,
            site_corner,
            site_neighbours,
            site_load,
            recipe,
        })
    }
}

/// Moves staking from genesis to session `session` of era [`BENCH_ERA`] (its exposures
/// those elected at genesis), and gives the stakers the unlocking chunks of a long-lived
/// chain: nominators 31 (unbonding once more adds the 32nd), rebonders 31 still locked,
/// withdrawers 32 all due.
fn advance_staking(ext: &mut Ext, era_start: BlockNumber, session: u32) -> anyhow::Result<()> {
    for (who, exposure) in staking::ErasStakers::iter_prefix(ext, &0, None, usize::MAX) {
        staking::ErasStakers::insert(ext, &BENCH_ERA, &who, &exposure);
    }
    for (who, prefs) in staking::ErasValidatorPrefs::iter_prefix(ext, &0, None, usize::MAX) {
        staking::ErasValidatorPrefs::insert(ext, &BENCH_ERA, &who, &prefs);
    }
    for (who, keys) in staking::ErasSessionKeys::iter_prefix(ext, &0, None, usize::MAX) {
        staking::ErasSessionKeys::insert(ext, &BENCH_ERA, &who, &keys);
    }
    for (key, who) in staking::ErasKeyOwner::iter_prefix(ext, &0, None, usize::MAX) {
        staking::ErasKeyOwner::insert(ext, &BENCH_ERA, &key, &who);
    }
    staking::ErasStakers::clear_prefix(ext, &0);
    staking::ErasValidatorPrefs::clear_prefix(ext, &0);
    staking::ErasSessionKeys::clear_prefix(ext, &0);
    staking::ErasKeyOwner::clear_prefix(ext, &0);
    staking::CurrentEra::put(ext, &BENCH_ERA);
    staking::ActiveEra::put(
        ext,
        &staking::ActiveEraInfo {
            index: BENCH_ERA,
            start: era_start,
        },
    );
    let sessions_in = session - BENCH_ERA * staking::SessionsPerEra::get_or_default(ext);
    staking::CurrentSession::put(ext, &session);
    staking::EraStartSession::put(ext, &(session - sessions_in));
    let bonding = staking::BondingDuration::get_or_default(ext);
    // Nominators: chunks up to the era before an unbond's, so unbonding pushes a chunk.
    let last_locked = BENCH_ERA + bonding.max(1) - 1;
    for i in 0..NOMINATORS {
        unlocking(ext, &account(i), last_locked - 30..=last_locked, false)?;
    }
    for i in REBONDERS {
        let last = BENCH_ERA + bonding;
        unlocking(ext, &account(i), last - 30..=last, false)?;
    }
    for i in WITHDRAWERS {
        unlocking(ext, &account(i), BENCH_ERA - 31..=BENCH_ERA, true)?;
    }
    Ok(())
}

/// Rewrites `who`'s ledger (same total, so the same lock) with one unlocking chunk per
/// era of `eras`: of 10 ArcM each, or, when `everything`, the whole bond (nothing active).
fn unlocking(
    ext: &mut Ext,
    who: &AccountId32,
    eras: std::ops::RangeInclusive<u32>,
    everything: bool,
) -> anyhow::Result<()> {
    let mut ledger = staking::Ledger::get(ext, who).context("a staker has no ledger")?;
    let count = eras.clone().count() as Balance;
    anyhow::ensure!(count > 0, "no unlocking era");
    let each = if everything {
        ledger.total / count
    } else {
        10 * ARCM
    };
    anyhow::ensure!(
        each * count <= ledger.total,
        "a ledger unlocks more than it holds"
    );
    let mut chunks: Vec<staking::UnlockChunk> = eras
        .map(|era| staking::UnlockChunk { value: each, era })
        .collect();
    if everything {
        if let Some(last) = chunks.last_mut() {
            last.value += ledger.total - each * count;
        }
        ledger.active = 0;
    } else {
        ledger.active = ledger.total - each * count;
    }
    ledger.unlocking = chunks;
    staking::Ledger::insert(ext, who, &ledger);
    Ok(())
}

/// Gives every player a full inventory and skills, scatters the hub's players over the
/// hub, gives each builder a Workshop on the map (not in the hub nor the dense area),
/// and spreads everyone else over the map. Returns the builders and their Workshops.
fn populate_players(
    ext: &mut Ext,
    rng: &mut StdRng,
    map: &[(AreaId, Bounds)],
    hub: Bounds,
    workshop: &structures::StructureKind,
) -> anyhow::Result<Vec<(AccountId32, structures::StructureId)>> {
    let inventory = player_inventory();
    for i in 0..PLAYERS {
        let who = account(i);
        let mut player = players::Players::get(ext, &who).context("a player is missing")?;
        player.inventory = inventory.clone();
        if i == LANDLORD {
            // It pays for some hundred structures.
            for stack in &mut player.inventory {
                stack.1 = stack.1.max(players::MAX_STACK / 10);
            }
        }
        player.skills = vec![
            (players::SKILL_GATHERING, 1_000),
            (players::SKILL_CRAFTING, 1_000),
            (players::SKILL_BUILDING, 1_000),
        ];
        players::Players::insert(ext, &who, &player);
    }
    for i in 0..HUB_PLAYERS {
        relocate(ext, &account(i), HUB, random_in(rng, &hub))?;
    }
    let elsewhere: Vec<(AreaId, Bounds)> =
        map.iter().copied().filter(|(id, _)| *id != HUB).collect();
    let mut builders = Vec::new();
    let mut next = HUB_PLAYERS;
    for (area, bounds) in elsewhere.iter().filter(|(id, _)| *id != DENSE_AREA) {
        for corner in sites(bounds, workshop) {
            if next >= DENSE_BUILDER {
                break;
            }
            let who = account(next);
            let id = build_structure(ext, &who, *area, corner, workshop)
                .map_err(|e| anyhow::anyhow!("placing builder {next}'s Workshop: {e}"))?;
            builders.push((who, id));
            next += 1;
        }
    }
    for i in next..PLAYERS {
        let (area, bounds) = elsewhere
            .choose(rng)
            .copied()
            .context("the map has no area besides the hub")?;
        relocate(ext, &account(i), area, random_in(rng, &bounds))?;
    }
    Ok(builders)
}

/// Surrounds a free plot for `plot_kind` in [`DENSE_AREA`] with the landlord's structures
/// of `filler` (the smallest kind, so the most fit): the plot's centre is a corner of four
/// grid cells, and the landlord builds as close as it may (its claims off the plot) until
/// each of those cells lists one structure less than `MAX_PER_CELL`, the most a placement
/// there allows. The dense builder stands on the plot. Returns the plot's corner, how
/// many distinct structures its cells list, and the fewest any of them lists.
fn dense_site(
    ext: &mut Ext,
    plot_kind: &structures::StructureKind,
    filler: &structures::StructureKind,
) -> anyhow::Result<(Position, usize, u32)> {
    let area = areas::active_area(ext, DENSE_AREA)
        .map_err(|e| anyhow::anyhow!("the dense site's area: {e}"))?;
    let side = structures::CELL_SIDE;
    // A cell corner near the area's centre.
    let centre = area.bounds.centre();
    let c = Position::new(
        centre.x.div_euclid(side) * side,
        centre.y.div_euclid(side) * side,
    );
    let corner = Position::new(c.x - plot_kind.width / 2, c.y - plot_kind.height / 2);
    let plot = Bounds::new(
        corner.x,
        corner.y,
        corner.x + plot_kind.width,
        corner.y + plot_kind.height,
    );
    let cells = structures::cells_of(&plot);
    let (w, h, r) = (filler.width, filler.height, filler.claim_radius);
    let reach = (side + plot_kind.width.max(plot_kind.height) + r) / w.min(h).max(1) + 2;
    let mut candidates: Vec<(u128, Position, Bounds)> = Vec::new();
    for a in -reach..=reach {
        for b in -reach..=reach {
            let at = Position::new(c.x + a * w, c.y + b * h);
            let footprint = Bounds::new(at.x, at.y, at.x + w, at.y + h);
            let claim = Bounds::new(
                footprint.min_x - r,
                footprint.min_y - r,
                footprint.max_x + r,
                footprint.max_y + r,
            );
            let near = structures::cells_of(&claim)
                .iter()
                .any(|cell| cells.contains(cell));
            if near && !claim.overlaps(&plot) && area.bounds.contains_bounds(&footprint) {
                candidates.push((footprint.centre().distance_squared(&c), at, claim));
            }
        }
    }
    candidates.sort_by_key(|(distance, at, _)| (*distance, at.x, at.y));
    let landlord = account(LANDLORD);
    for (_, at, claim) in candidates {
        let full = structures::cells_of(&claim).iter().any(|cell| {
            cells.contains(cell)
                && structures::CellLoad::get_or_default(ext, cell) + 1 >= structures::MAX_PER_CELL
        });
        if full {
            continue;
        }
        // Crowded outer cells or the area limit: try the next spot.
        let _ = build_structure(ext, &landlord, DENSE_AREA, at, filler);
    }
    relocate(ext, &account(DENSE_BUILDER), DENSE_AREA, c)?;
    let mut listed = BTreeSet::new();
    let mut fewest = u32::MAX;
    for cell in &cells {
        fewest = fewest.min(structures::CellLoad::get_or_default(ext, cell));
        for (id, ()) in structures::Cells::iter_prefix(ext, cell, None, usize::MAX) {
            listed.insert(id);
        }
    }
    Ok((corner, listed.len(), fewest))
}

/// Gives every NPC a few items, so traders find something to trade.
fn stock_npcs(ext: &mut Ext, rng: &mut StdRng) -> anyhow::Result<()> {
    let goods = [1, 2, 4, 5, 101, 102];
    for id in 0..u64::from(NPCS) {
        let mut npc = npcs::Npcs::get(ext, &id).context("an NPC is missing")?;
        let mut items: Vec<players::ItemId> = goods.choose_multiple(rng, 3).copied().collect();
        items.sort_unstable();
        npc.inventory = items
            .into_iter()
            .map(|item| (item, rng.gen_range(5..20)))
            .collect();
        npcs::Npcs::insert(ext, &id, &npc);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Staking.
// ---------------------------------------------------------------------------------------

/// A header for `slot` sealed by `key`, with a parent that tells it apart.
fn sealed_header(key: &sr25519::Pair, number: BlockNumber, slot: u64, parent: u8) -> Header {
    let mut header = Header {
        parent_hash: H256::repeat_byte(parent),
        number,
        state_root: H256::repeat_byte(2),
        extrinsics_root: H256::repeat_byte(3),
        digest: Digest {
            logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
        },
    };
    let signature = key.sign(header.hash().as_bytes());
    header.digest.logs.push(DigestItem::Seal(
        AURA_ENGINE_ID,
        AsRef::<[u8]>::as_ref(&signature).to_vec(),
    ));
    header
}

fn bench_staking(args: &PalletBenchmark, world: &World, report: &mut Report) -> anyhow::Result<()> {
    let state = &world.state;
    let signed = |who: &AccountId32| Origin::Signed(who.clone());

    let unbonded: Vec<AccountId32> = (FIRST_UNBONDED..world.accounts).map(account).collect();
    let bond = staking::Call::Bond { value: 100 * ARCM };
    let t = measure(state, calls(args, unbonded.len()), |ext, i| {
        bond.clone().dispatch(ext, signed(&unbonded[i as usize]))
    })?;
    report.row("staking.bond (new stash)", &t, bond.weight());

    let nominators: Vec<AccountId32> = (0..NOMINATORS).map(account).collect();
    let bond_extra = staking::Call::BondExtra {
        max_additional: 100 * ARCM,
    };
    let t = measure(state, calls(args, nominators.len()), |ext, i| {
        bond_extra
            .clone()
            .dispatch(ext, signed(&nominators[i as usize]))
    })?;
    report.row("staking.bond_extra (nominator)", &t, bond_extra.weight());

    let unbond = staking::Call::Unbond {
        value: Balance::MAX,
    };
    let t = measure(state, calls(args, nominators.len()), |ext, i| {
        unbond
            .clone()
            .dispatch(ext, signed(&nominators[i as usize]))
    })?;
    report.row(
        "staking.unbond (all of a nominator: 32nd chunk, chills)",
        &t,
        unbond.weight(),
    );

    let withdrawers: Vec<AccountId32> = WITHDRAWERS.map(account).collect();
    let withdraw = staking::Call::WithdrawUnbonded;
    let t = measure(state, calls(args, withdrawers.len()), |ext, i| {
        withdraw
            .clone()
            .dispatch(ext, signed(&withdrawers[i as usize]))
    })?;
    report.row(
        "staking.withdraw_unbonded (32 chunks due, kills ledger)",
        &t,
        withdraw.weight(),
    );

    let rebonders: Vec<AccountId32> = REBONDERS.map(account).collect();
    let rebond = staking::Call::Rebond {
        value: Balance::MAX,
    };
    let t = measure(state, calls(args, rebonders.len()), |ext, i| {
        rebond.clone().dispatch(ext, signed(&rebonders[i as usize]))
    })?;
    report.row("staking.rebond (all 31 chunks)", &t, rebond.weight());

    let validate = staking::Call::Validate {
        prefs: staking::ValidatorPrefs {
            commission: staking::Perbill::from_percent(5),
        },
    };
    let t = measure_discarding(state, calls(args, 5_000), |ext, i| {
        let who = &nominators[i as usize % nominators.len()];
        validate.clone().dispatch(ext, signed(who))
    })?;
    report.row(
        "staking.validate (nominator becomes validator)",
        &t,
        validate.weight(),
    );

    let targets = |i: u32| -> Vec<MultiAddress> {
        (0..staking::MAX_NOMINATIONS)
            .map(|k| {
                let at = (i as usize * 7 + k * 13) % world.validators.len();
                MultiAddress::Id(world.validators[at].clone())
            })
            .collect()
    };
    let nominate_weight = staking::Call::Nominate {
        targets: targets(0),
    }
    .weight();
    let t = measure_discarding(state, calls(args, 5_000), |ext, i| {
        let who = &rebonders[i as usize % rebonders.len()];
        staking::Call::Nominate {
            targets: targets(i),
        }
        .dispatch(ext, signed(who))
    })?;
    report.row(
        "staking.nominate (16 targets, new nominator)",
        &t,
        nominate_weight,
    );

    let chill = staking::Call::Chill;
    let t = measure_discarding(state, calls(args, 5_000), |ext, i| {
        let who = &world.validators[i as usize % world.validators.len()];
        chill.clone().dispatch(ext, signed(who))
    })?;
    report.row("staking.chill (validator)", &t, chill.weight());

    // A validator leaving (chill, full unbond, offence) marks the committees dirty; the
    // runtime re-chooses them at the end of the same block and charges that as the
    // block's mandatory weight (areas' `rebalance` weight over the map and candidates).
    let t = measure_discarding(state, calls(args, 2_000), |ext, i| {
        let (who, _) = &world.active[i as usize % world.active.len()];
        chill.clone().dispatch(ext, signed(who))?;
        arceon_runtime::world::refresh_committees(ext, world.block);
        Ok(())
    })?;
    let refresh_weight = {
        let mut ext = Ext::new(state);
        let areas = arceon_pallet_areas::NextAreaId::get_or_default(&mut ext) as usize;
        let candidates = arceon_runtime::world::committee_candidates(&mut ext).len();
        arceon_pallet_areas::weights::rebalance(areas, candidates)
    };
    report.row(
        "staking.chill (active validator) + committee refresh",
        &t,
        chill.weight().saturating_add(refresh_weight),
    );

    let heartbeats = world
        .active
        .iter()
        .map(|(who, key)| {
            let heartbeat = staking::Heartbeat {
                block_number: world.block,
                session_index: world.session,
                validator: who.clone(),
            };
            let signature = key.sign(&heartbeat.encode());
            let signature = <[u8; 64]>::try_from(AsRef::<[u8]>::as_ref(&signature))
                .context("an sr25519 signature is 64 bytes")?;
            anyhow::Ok(staking::Call::Heartbeat {
                heartbeat,
                signature,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let heartbeat_weight = heartbeats
        .first()
        .map(staking::Call::weight)
        .context("no heartbeat")?;
    let t = measure_discarding(state, calls(args, 5_000), |ext, i| {
        heartbeats[i as usize % heartbeats.len()]
            .clone()
            .dispatch(ext, Origin::None)
    })?;
    report.row(
        "staking.heartbeat (unsigned, sr25519 payload)",
        &t,
        heartbeat_weight,
    );

    let proofs: Vec<staking::Call> = world
        .active
        .iter()
        .take(16)
        .enumerate()
        .map(|(k, (_, key))| {
            let slot = 1_000_000 + k as u64;
            staking::Call::ReportEquivocation {
                proof: Box::new(staking::EquivocationProof {
                    offender: key.public(),
                    slot,
                    first_header: sealed_header(key, world.block - 1, slot, 1),
                    second_header: sealed_header(key, world.block - 1, slot, 9),
                }),
            }
        })
        .collect();
    let report_weight = proofs
        .first()
        .map(staking::Call::weight)
        .context("no equivocation proof")?;
    let t = measure_discarding(state, calls(args, 2_000), |ext, i| {
        proofs[i as usize % proofs.len()]
            .clone()
            .dispatch(ext, Origin::None)
    })?;
    report.row(
        "staking.report_equivocation (unsigned, 64-backer slash)",
        &t,
        report_weight,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Players.
// ---------------------------------------------------------------------------------------

fn bench_players(args: &PalletBenchmark, world: &World, report: &mut Report) -> anyhow::Result<()> {
    let state = &world.state;
    let newcomers: Vec<AccountId32> = (PLAYERS..world.accounts).map(account).collect();
    let register = |i: u32| players::Call::Register {
        name: format!("newcomer{i}").into_bytes(),
    };
    let weight = register(0).weight();
    let t = measure(state, calls(args, newcomers.len()), |ext, i| {
        register(i).dispatch(ext, Origin::Signed(newcomers[i as usize].clone()))
    })?;
    report.row("players.register (spawn in the hub)", &t, weight);

    let hub_players: Vec<AccountId32> = (0..HUB_PLAYERS).map(account).collect();
    let spoke = spokes()
        .get((LAST_SPOKE - FIRST_SPOKE) as usize)
        .copied()
        .context("no last spoke")?;
    let target = spoke.centre();
    let move_to = players::Call::MoveTo {
        x: target.x,
        y: target.y,
    };
    let t = measure(state, calls(args, hub_players.len()), |ext, i| {
        move_to
            .clone()
            .dispatch(ext, Origin::Signed(hub_players[i as usize].clone()))
    })?;
    report.row(
        "players.move_to (into the hub's 16th neighbour)",
        &t,
        move_to.weight(),
    );

    let gather = players::Call::Gather { resource: GATHERED };
    let t = measure(state, calls(args, hub_players.len()), |ext, i| {
        gather
            .clone()
            .dispatch(ext, Origin::Signed(hub_players[i as usize].clone()))
    })?;
    report.row(
        "players.gather (16th of 16 deposits, 26 stacks)",
        &t,
        gather.weight(),
    );

    let craft = players::Call::Craft {
        recipe: world.recipe,
    };
    let t = measure(state, calls(args, hub_players.len()), |ext, i| {
        craft
            .clone()
            .dispatch(ext, Origin::Signed(hub_players[i as usize].clone()))
    })?;
    report.row(
        "players.craft (2-input recipe, 26 stacks)",
        &t,
        craft.weight(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Structures.
// ---------------------------------------------------------------------------------------

fn bench_structures(
    args: &PalletBenchmark,
    world: &World,
    report: &mut Report,
) -> anyhow::Result<()> {
    let state = &world.state;
    let builder = account(DENSE_BUILDER);
    let place = structures::Call::Place {
        area: DENSE_AREA,
        position: world.site_corner,
        kind: world.site_kind,
    };
    // The placement's own work: the area has a committee, where the extrinsic is refused
    // (`LaneArea`) and lanes place through the same rules.
    let t = measure_discarding(state, calls(args, 5_000), |ext, _| {
        structures::place(
            ext,
            &builder,
            DENSE_AREA,
            world.site_corner,
            world.site_kind,
        )
        .map(|_| ())
    })?;
    report.row(
        &format!(
            "structures.place (4 cells of {}+, {} structures)",
            world.site_load, world.site_neighbours
        ),
        &t,
        place.weight(),
    );

    let builders = &world.builders;
    let upgrade = |i: u32| structures::Call::Upgrade {
        id: builders[i as usize].1,
    };
    let weight = structures::Call::Upgrade { id: 0 }.weight();
    let t = measure(state, calls(args, builders.len()), |ext, i| {
        upgrade(i).dispatch(ext, Origin::Signed(builders[i as usize].0.clone()))
    })?;
    report.row("structures.upgrade (Workshop)", &t, weight);

    let weight = structures::Call::Demolish { id: 0 }.weight();
    let t = measure(state, calls(args, builders.len()), |ext, i| {
        let (who, id) = &builders[i as usize];
        structures::Call::Demolish { id: *id }.dispatch(ext, Origin::Signed(who.clone()))
    })?;
    report.row("structures.demolish (Workshop, 4-cell claim)", &t, weight);

    let recipient = account(0);
    let weight = structures::Call::Transfer {
        id: 0,
        to: recipient.clone(),
    }
    .weight();
    let t = measure(state, calls(args, builders.len()), |ext, i| {
        let (who, id) = &builders[i as usize];
        structures::Call::Transfer {
            id: *id,
            to: recipient.clone(),
        }
        .dispatch(ext, Origin::Signed(who.clone()))
    })?;
    report.row("structures.transfer", &t, weight);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// NPCs.
// ---------------------------------------------------------------------------------------

fn bench_npcs(args: &PalletBenchmark, world: &World, report: &mut Report) -> anyhow::Result<()> {
    for (decisions, limit) in [
        (npcs::DEFAULT_DECISIONS_PER_BLOCK, 2_000),
        (npcs::MAX_DECISIONS_PER_BLOCK, 500),
    ] {
        // The hook reports the work it did; its median is what blocks are charged.
        let mut charged: Vec<u64> = Vec::new();
        let t = run_calls(
            &world.state,
            calls(args, limit),
            Keep::Commit,
            |ext| {
                npcs::set_decisions_per_block(ext, decisions)
                    .map_err(|e| anyhow::anyhow!("setting the decisions per block: {e}"))
            },
            |ext, i| {
                let weight = <npcs::Pallet as Hooks>::on_initialize(ext, world.block + i);
                charged.push(weight.ref_time);
                Ok(())
            },
        )?;
        charged.sort_unstable();
        let declared = charged.get(charged.len() / 2).copied().unwrap_or(0);
        report.row(
            &format!("npcs.on_initialize ({decisions} decisions, {NPCS} NPCs)"),
            &t,
            Weight::from_parts(declared, 0),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Areas.
// ---------------------------------------------------------------------------------------

/// `count` committee candidates, `account(first..)`, with different stakes and trust.
fn candidates(count: u32, first: u32) -> Vec<areas::Candidate> {
    (0..count)
        .map(|i| areas::Candidate {
            who: account(first + i),
            stake: u128::from(1_000 + (i * 7_919) % 5_000) * ARCM,
            trust: areas::PPB / 2 + (i * 104_729) % (areas::PPB / 2),
        })
        .collect()
}

/// A `side` x `side` grid of 100-unit areas with two deposits each, whose committees
/// were chosen from candidates none of which the benchmarks use (so the benchmarked
/// rebalance replaces every member of every committee).
fn grid(side: u32) -> anyhow::Result<MemoryState> {
    let config = areas::GenesisConfig {
        areas: (0..side * side)
            .map(|id| {
                let (row, col) = (i64::from(id / side), i64::from(id % side));
                areas::AreaConfig {
                    id,
                    name: format!("grid {id}"),
                    bounds: Bounds::new(
                        col * 100 * UNIT,
                        row * 100 * UNIT,
                        (col + 1) * 100 * UNIT,
                        (row + 1) * 100 * UNIT,
                    ),
                    neighbours: None,
                    capacity: 1_000,
                    resources: rich_deposits().into_iter().take(2).collect(),
                }
            })
            .collect(),
        ..Default::default()
    };
    let (state, ()) = with_setup(MemoryState::new(), |ext| {
        config.build(ext)?;
        areas::rebalance(ext, &candidates(areas::MAX_CANDIDATES as u32, 100_000), 1);
        Ok(())
    })?;
    Ok(state)
}

fn bench_areas(args: &PalletBenchmark, report: &mut Report) -> anyhow::Result<()> {
    let started = Instant::now();
    for (side, count, limit) in [(8u32, 16u32, 1_000usize), (32, 64, 50)] {
        let state = grid(side)?;
        let fresh = candidates(count, 0);
        let t = measure_discarding(&state, calls(args, limit), |ext, _| {
            areas::rebalance(ext, &fresh, 2);
            Ok(())
        })?;
        let stored = (side * side) as usize;
        report.row(
            &format!("areas.rebalance ({stored} areas x {count} candidates, all new)"),
            &t,
            areas::weights::rebalance(stored, count as usize),
        );
    }

    // An era change at its worst: 64 splits and 64 merges on a 1,024-area map, then a
    // rebalance over the grown map with every member replaced.
    let side = 32u32;
    let (state, stored) = with_setup(grid(side)?, |ext| {
        for i in 0..8 {
            for j in 0..8 {
                let split = (2 * i) * side + 2 * j;
                areas::force_split(ext, split, 1)
                    .map_err(|e| anyhow::anyhow!("splitting area {split}: {e}"))?;
                let busy = (2 * i + 1) * side + 2 * j + 1;
                let threshold = areas::split_threshold(ext);
                areas::Load::insert(ext, &busy, &threshold);
            }
        }
        areas::take_pending_changes(ext);
        Ok(areas::Areas::count(ext))
    })?;
    let fresh = candidates(64, 0);
    let (_, changes) = with_setup(state.clone(), |ext| Ok(areas::new_era(ext, 1, &fresh, 2)))?;
    let splits = changes
        .iter()
        .filter(|change| matches!(change, areas::AreaChange::Split { .. }))
        .count();
    anyhow::ensure!(
        splits == areas::MAX_RESHAPES_PER_ERA && changes.len() == 2 * splits,
        "the era change made {splits} splits and {} merges, not {} of each",
        changes.len() - splits,
        areas::MAX_RESHAPES_PER_ERA
    );
    let t = measure_discarding(&state, calls(args, 30), |ext, _| {
        areas::new_era(ext, 1, &fresh, 2);
        Ok(())
    })?;
    report.row(
        &format!("areas.new_era ({stored} areas, 64 splits + 64 merges, 64 cand.)"),
        &t,
        areas::weights::new_era(stored, 64),
    );
    eprintln!("  areas: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
