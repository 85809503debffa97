//! `arceon-loadgen spec`: the benchmark's chain spec.
//!
//! The base spec (the built-in local testnet unless `--base` names another) keeps its
//! validators, session keys, balances, staking, items and structure kinds; the world is
//! replaced by a `cols x rows` grid of square areas (ids row by row), the players
//! `//player/<i>` are placed in it with `playerPlacement` and all join the fast lanes at
//! genesis. Players `0..crowded` stand in the crowded area (the grid's middle cell), the
//! others are dealt round-robin over the remaining areas. Every `1/border-pct`-th player
//! stands [`WALKER_OFFSET`] from its area's east or west border (a *walker*: the load
//! generator walks it back and forth across that border); everyone else stands at least
//! [`MARGIN`] inside its area. Load never splits or merges an area (only root does, for
//! `run --reshape-at`) and eras are long, so committees stay put.

use std::path::PathBuf;

use anyhow::Context as _;
use arceon_pallet_areas::{AreaId, Bounds, Coord, UNIT};
use arceon_primitives::to_ss58;
use clap::Args;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::keys;

/// How far from its border a walker stands at genesis (milli-units).
pub const WALKER_OFFSET: Coord = 200;
/// How close to an edge with a neighbour beyond a player must stand to be a walker.
pub const WALKER_BAND: Coord = 500;
/// How far inside its area every other player stands at genesis.
pub const MARGIN: Coord = 2 * UNIT;
/// Wood: the resource every area holds, gathered by the benchmark.
pub const WOOD: u32 = 1;
/// The recipe the benchmark crafts (two wood make a plank).
pub const PLANK_RECIPE: u32 = 1;
/// Wood a plank takes.
pub const PLANK_WOOD: u32 = 2;

/// Options of `spec`.
#[derive(Debug, Clone, Args)]
pub struct SpecArgs {
    /// Where to write the chain spec.
    #[arg(long)]
    pub out: PathBuf,
    /// The spec whose validators, keys, balances, staking and items are kept (default:
    /// the built-in local testnet, `--chain local`).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Players (`//player/0` ...).
    #[arg(long, default_value_t = 10_000)]
    pub players: u32,
    /// Areas, laid out as a square-ish grid.
    #[arg(long, default_value_t = 64)]
    pub areas: u32,
    /// Players standing in the crowded area.
    #[arg(long, default_value_t = 2_000)]
    pub crowded: u32,
    /// Side of an area, in world units.
    #[arg(long, default_value_t = 100)]
    pub area_side: i64,
    /// Percentage of players standing next to a border (walkers).
    #[arg(long, default_value_t = 5.0)]
    pub border_pct: f64,
    /// Committee size of every area (3 to 5).
    #[arg(long, default_value_t = 3)]
    pub committee_size: u8,
    /// Seed of the placement.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Where every area and player is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Grid columns.
    pub cols: u32,
    /// Each area's id and bounds, by id.
    pub areas: Vec<(AreaId, Bounds)>,
    /// The crowded area.
    pub crowded: AreaId,
    /// Each player's area and position, by player index.
    pub placements: Vec<(AreaId, Coord, Coord)>,
}

/// Places areas and players (deterministic for a seed).
pub fn layout(args: &SpecArgs) -> anyhow::Result<Layout> {
    anyhow::ensure!(args.areas >= 2, "at least 2 areas");
    anyhow::ensure!(
        args.crowded <= args.players,
        "the crowded area cannot hold more players than there are"
    );
    anyhow::ensure!(
        args.area_side * UNIT >= 2 * MARGIN + UNIT,
        "areas must be at least {} units wide",
        (2 * MARGIN + UNIT) / UNIT
    );
    let cols = (f64::from(args.areas).sqrt().ceil() as u32).max(1);
    let rows = args.areas.div_ceil(cols);
    let side = args.area_side * UNIT;
    let cell = |id: AreaId| (id % cols, id / cols);
    let areas: Vec<(AreaId, Bounds)> = (0..args.areas)
        .map(|id| {
            let (col, row) = cell(id);
            let (x, y) = (Coord::from(col) * side, Coord::from(row) * side);
            (id, Bounds::new(x, y, x + side, y + side))
        })
        .collect();
    let crowded = ((rows / 2) * cols + cols / 2).min(args.areas - 1);
    let others: Vec<AreaId> = (0..args.areas).filter(|id| *id != crowded).collect();
    let walker_every =
        (args.border_pct > 0.0).then(|| ((100.0 / args.border_pct).round() as u32).max(1));
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut placements = Vec::with_capacity(args.players as usize);
    for index in 0..args.players {
        let area = if index < args.crowded {
            crowded
        } else {
            others[((index - args.crowded) as usize) % others.len()]
        };
        let bounds = areas[area as usize].1;
        let (col, _) = cell(area);
        let east = col + 1 < cols && area + 1 < args.areas;
        let west = col > 0;
        let y = rng.gen_range(bounds.min_y + MARGIN..bounds.max_y - MARGIN);
        let walker = walker_every.is_some_and(|every| index % every == 0);
        let x = if walker && (east || west) {
            if east && (!west || rng.gen_bool(0.5)) {
                bounds.max_x - WALKER_OFFSET
            } else {
                bounds.min_x + WALKER_OFFSET
            }
        } else {
            rng.gen_range(bounds.min_x + MARGIN..bounds.max_x - MARGIN)
        };
        placements.push((area, x, y));
    }
    Ok(Layout {
        cols,
        areas,
        crowded,
        placements,
    })
}

fn area_json(id: AreaId, bounds: &Bounds, cols: u32, capacity: u32) -> Value {
    let deposit = |resource: u32| json!({"resource": resource, "amount": 1_000_000, "max": 1_000_000, "regenPerBlock": 10});
    json!({
        "id": id,
        "name": format!("Plot {},{}", id % cols, id / cols),
        "bounds": {"minX": bounds.min_x, "minY": bounds.min_y, "maxX": bounds.max_x, "maxY": bounds.max_y},
        "capacity": capacity,
        "resources": [deposit(WOOD), deposit(2), deposit(5)],
    })
}

/// The spec as JSON.
pub fn build(args: &SpecArgs) -> anyhow::Result<Value> {
    let base = match &args.base {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => arceon_chain_spec::LOCAL_JSON.to_string(),
    };
    let mut spec: Value = serde_json::from_str(&base).context("the base spec is not JSON")?;
    let layout = layout(args)?;
    let pairs = keys::player_pairs(args.players)?;
    let addresses: Vec<String> = pairs.iter().map(|p| to_ss58(&keys::account(p))).collect();
    spec["name"] = json!("Arceon fast-lane benchmark");
    spec["id"] = json!("arceon_fastlane_bench");
    spec["chainType"] = json!("Local");
    spec["bootNodes"] = json!([]);
    let config = spec
        .pointer_mut("/genesis/runtimeGenesis/config")
        .context("the base spec has no genesis.runtimeGenesis.config")?;
    let capacity = args.players.max(1);
    config["areas"] = json!({
        "areas": layout.areas.iter().map(|(id, b)| area_json(*id, b, layout.cols, capacity)).collect::<Vec<_>>(),
        "startingArea": layout.crowded,
        "committeeSize": args.committee_size,
        // Load never splits an area and nothing merges: committees stay put.
        "splitThreshold": u32::MAX,
        "mergeThreshold": 0,
    });
    config["players"]["players"] = json!([]);
    config["playerPlacement"] = json!({
        "players": layout.placements.iter().enumerate().map(|(i, (area, x, y))| {
            json!([addresses[i], format!("player{i}"), area, x, y])
        }).collect::<Vec<_>>(),
    });
    config["fastLane"] = json!({ "joined": addresses });
    // The base spec's NPCs stand on its own map; the benchmark world has none.
    config["npcs"] = json!({"npcs": [], "spawnRules": []});
    // No era change during a run: committees and session keys stay as at genesis.
    config["staking"]["eraLength"] = json!(14_400);
    config["staking"]["sessionsPerEra"] = json!(6);
    Ok(spec)
}

/// `spec`: writes the chain spec, after checking that its genesis builds.
pub fn write(args: &SpecArgs) -> anyhow::Result<()> {
    let spec = build(args)?;
    let text = serde_json::to_string(&spec)?;
    let genesis = arceon_chain_spec::ChainSpec::from_json(&text)
        .context("the generated spec does not parse")?
        .genesis_block()
        .context("the generated spec's genesis does not build")?;
    std::fs::write(&args.out, &text).with_context(|| format!("writing {}", args.out.display()))?;
    let layout = layout(args)?;
    eprintln!(
        "spec {}: {} players over {} areas ({} in crowded area {}), genesis {:?}",
        args.out.display(),
        args.players,
        args.areas,
        args.crowded,
        layout.crowded,
        genesis.hash
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_pallet_players as players;
    use arceon_support::Ext;

    fn small() -> SpecArgs {
        SpecArgs {
            out: PathBuf::from("unused.json"),
            base: None,
            players: 300,
            areas: 64,
            crowded: 60,
            area_side: 100,
            border_pct: 5.0,
            committee_size: 3,
            seed: 3,
        }
    }

    #[test]
    fn players_fill_every_area_and_the_crowded_one_most() {
        let args = small();
        let layout = layout(&args).expect("layout");
        assert_eq!(layout.areas.len(), 64);
        assert_eq!(layout.crowded, 4 * 8 + 4);
        let mut per_area = vec![0u32; 64];
        let mut walkers = 0;
        for (area, x, y) in &layout.placements {
            let bounds = layout.areas[*area as usize].1;
            assert!(bounds.contains(&arceon_pallet_areas::Position::new(*x, *y)));
            per_area[*area as usize] += 1;
            let edge = (x - bounds.min_x).min(bounds.max_x - x);
            if edge <= WALKER_BAND {
                walkers += 1;
                assert_eq!(edge, WALKER_OFFSET);
            } else {
                assert!(edge >= MARGIN);
            }
        }
        assert_eq!(per_area[layout.crowded as usize], 60);
        assert!(per_area.iter().all(|n| *n >= 3));
        assert_eq!(walkers, 15);
    }

    #[test]
    fn the_spec_builds_a_genesis_with_everyone_placed_and_joined() {
        let args = small();
        let text = serde_json::to_string(&build(&args).expect("spec")).expect("json");
        let spec = arceon_chain_spec::ChainSpec::from_json(&text).expect("parses");
        let storage = spec.genesis_storage().expect("genesis builds");
        let mut ext = Ext::new(&storage);
        let layout = layout(&args).expect("layout");
        assert_eq!(
            players::AreaPopulation::get(&mut ext, &layout.crowded),
            Some(60)
        );
        assert_eq!(players::PlayerCount::get(&mut ext), Some(300));
        assert_eq!(players::check_invariants(&mut ext), Ok(()));
        for index in [0u32, 61, 299] {
            let who = keys::account(&keys::player_pair(index).expect("key"));
            let player = players::player(&mut ext, &who).expect("placed");
            let (area, x, y) = layout.placements[index as usize];
            assert_eq!(
                (player.area, player.position.x, player.position.y),
                (area, x, y)
            );
            assert!(arceon_pallet_fastlane::player_lane(&mut ext, &who).is_some());
            let authority = arceon_pallet_areas::authority(&mut ext, area).expect("committee");
            assert_eq!(authority.members().len(), 3);
        }
    }
}
