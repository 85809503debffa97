//! `arceon_*`: typed queries of the game world and its validators, read from the state
//! of the best block (or the block given as the last parameter). Accounts are SS58
//! addresses; coordinates and bounds are the chain's milli-units (1,000 per world unit);
//! scores are fractions between 0 and 1 with their exact parts-per-billion beside them.

use arceon_pallet_areas::{self as areas, Area, AreaAuthority, AreaId};
use arceon_pallet_npcs::{self as npcs, Npc};
use arceon_pallet_players::{self as players, Player};
use arceon_pallet_staking as staking;
use arceon_pallet_structures::{self as structures, Structure};
use arceon_primitives::{parse_account, to_ss58, AccountId32, BlockNumber};
use arceon_support::Ext;
use arceon_txpool::ChainApi;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde_json::{json, Value};

use crate::json::invalid_params;
use crate::methods::{at_block, method, state_error};
use crate::Context;

/// Most entries one paged query returns.
pub const MAX_PAGE: usize = 256;
/// Entries a paged query returns when no limit is given.
const DEFAULT_PAGE: usize = 100;

fn address(text: &str) -> Result<AccountId32, ErrorObjectOwned> {
    parse_account(text).map_err(|e| invalid_params(format!("bad address `{text}`: {e}")))
}

fn page_limit(limit: Option<u32>) -> Result<usize, ErrorObjectOwned> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(0) => Err(invalid_params("limit must be at least 1")),
        Some(n) if n as usize > MAX_PAGE => Err(invalid_params(format!(
            "limit {n} exceeds the maximum page of {MAX_PAGE}"
        ))),
        Some(n) => Ok(n as usize),
    }
}

/// Runs `f` on the state of block `at` (default: best).
fn with_state<A: ChainApi, R>(
    ctx: &Context<A>,
    at: Option<String>,
    f: impl FnOnce(&mut Ext) -> R,
) -> Result<R, ErrorObjectOwned> {
    let client = &ctx.deps.client;
    let at = at_block(client, at)?;
    let state = client.state_at(&at).map_err(state_error)?;
    let mut ext = Ext::new(&state);
    let result = f(&mut ext);
    if let Some(fault) = ext.take_fault() {
        return Err(state_error(fault));
    }
    Ok(result)
}

fn fraction(parts: u32) -> Value {
    json!(f64::from(parts) / 1_000_000_000.0)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn position_json(position: &areas::Position) -> Value {
    json!({ "x": position.x, "y": position.y })
}

fn bounds_json(bounds: &areas::Bounds) -> Value {
    json!({
        "minX": bounds.min_x,
        "minY": bounds.min_y,
        "maxX": bounds.max_x,
        "maxY": bounds.max_y,
    })
}

fn items_json(items: &[(u32, u32)]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|(item, count)| json!({ "item": item, "count": count }))
            .collect(),
    )
}

fn authority_json(authority: &AreaAuthority) -> Value {
    json!({
        "primary": to_ss58(&authority.primary),
        "replicas": authority.replicas.iter().map(to_ss58).collect::<Vec<_>>(),
        "version": authority.version,
        "lastUpdate": authority.last_update,
    })
}

fn area_json(ext: &mut Ext, area: &Area, now: BlockNumber) -> Value {
    let authority = areas::authority(ext, area.id);
    let population = players::AreaPopulation::get_or_default(ext, &area.id);
    let load = areas::Load::get_or_default(ext, &area.id);
    json!({
        "id": area.id,
        "name": text(&area.name),
        "bounds": bounds_json(&area.bounds),
        "neighbours": area.neighbours,
        "parent": area.parent,
        "children": area.children,
        "capacity": area.capacity,
        "active": area.active,
        "population": population,
        "load": load,
        "resources": area.resources.iter().map(|node| json!({
            "resource": node.resource,
            "amount": node.amount_at(now),
            "max": node.max,
            "regenPerBlock": node.regen_per_block,
        })).collect::<Vec<_>>(),
        "authority": authority.as_ref().map(authority_json),
    })
}

fn player_json(ext: &mut Ext, who: &AccountId32, player: &Player) -> Value {
    let now = arceon_pallet_system::Number::get_or_default(ext);
    let energy = players::current_energy(ext, who, player, now);
    json!({
        "address": to_ss58(who),
        "name": text(&player.name),
        "area": player.area,
        "position": position_json(&player.position),
        "lastMove": player.last_move,
        "health": player.health,
        "energy": energy,
        "skills": player.skills.iter().map(|(skill, xp)| json!({
            "skill": skill,
            "xp": xp,
            "level": player.skill_level(*skill),
        })).collect::<Vec<_>>(),
        "inventory": items_json(&player.inventory),
        "registeredAt": player.registered_at,
    })
}

fn structure_json(structure: &Structure) -> Value {
    json!({
        "id": structure.id,
        "owner": to_ss58(&structure.owner),
        "kind": structure.kind,
        "area": structure.area,
        "position": position_json(&structure.position),
        "footprint": bounds_json(&structure.footprint),
        "level": structure.level,
        "placedAt": structure.placed_at,
    })
}

fn npc_json(npc: &Npc) -> Value {
    json!({
        "id": npc.id,
        "name": text(&npc.name),
        "kind": format!("{:?}", npc.kind),
        "area": npc.area,
        "position": position_json(&npc.position),
        "disposition": format!("{:?}", npc.disposition),
        "health": npc.health,
        "inventory": items_json(&npc.inventory),
    })
}

fn reputation_json(who: &AccountId32, reputation: &staking::NodeReputation) -> Value {
    json!({
        "address": to_ss58(who),
        "uptimeScore": fraction(reputation.uptime_score.deconstruct()),
        "uptimeScorePerBillion": reputation.uptime_score.deconstruct(),
        "consensusParticipation": fraction(reputation.consensus_participation.deconstruct()),
        "consensusParticipationPerBillion": reputation.consensus_participation.deconstruct(),
        "invalidProposals": reputation.invalid_proposals,
        "trustScore": fraction(reputation.trust_score.deconstruct()),
        "trustScorePerBillion": reputation.trust_score.deconstruct(),
    })
}

/// `(area)` or `(area, at)`.
fn area_param(params: &Params) -> Result<(AreaId, Option<String>), ErrorObjectOwned> {
    let mut seq = params.sequence();
    let area: AreaId = seq.next()?;
    let at: Option<String> = seq.optional_next()?;
    Ok((area, at))
}

pub(crate) fn register<A: ChainApi>(
    module: &mut RpcModule<Context<A>>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    method(module, "arceon_area", |params, ctx| {
        let (id, at) = area_param(&params)?;
        with_state(ctx, at, |ext| {
            let now = arceon_pallet_system::Number::get_or_default(ext);
            areas::area(ext, id)
                .map(|area| area_json(ext, &area, now))
                .unwrap_or(Value::Null)
        })
    })?;
    method(module, "arceon_areas", |params, ctx| {
        let mut seq = params.sequence();
        let at: Option<String> = seq.optional_next()?;
        with_state(ctx, at, |ext| {
            let now = arceon_pallet_system::Number::get_or_default(ext);
            let all = areas::all_areas(ext);
            Value::Array(all.iter().map(|area| area_json(ext, area, now)).collect())
        })
    })?;
    method(module, "arceon_player", |params, ctx| {
        let mut seq = params.sequence();
        let who: String = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        let who = address(&who)?;
        with_state(ctx, at, |ext| {
            players::player(ext, &who)
                .map(|player| player_json(ext, &who, &player))
                .unwrap_or(Value::Null)
        })
    })?;
    method(module, "arceon_playersInArea", |params, ctx| {
        let mut seq = params.sequence();
        let area: AreaId = seq.next()?;
        let start_after: Option<String> = seq.optional_next()?;
        let limit: Option<u32> = seq.optional_next()?;
        let at: Option<String> = seq.optional_next()?;
        let start_after = start_after.map(|s| address(&s)).transpose()?;
        let limit = page_limit(limit)?;
        with_state(ctx, at, |ext| {
            let page = players::players_in_area(ext, area, start_after.as_ref(), limit);
            let next = (page.len() == limit)
                .then(|| page.last().map(|(who, _)| to_ss58(who)))
                .flatten();
            json!({
                "area": area,
                "players": page.iter().map(|(who, p)| player_json(ext, who, p)).collect::<Vec<_>>(),
                "next": next,
            })
        })
    })?;
    method(module, "arceon_structuresInArea", |params, ctx| {
        let mut seq = params.sequence();
        let area: AreaId = seq.next()?;
        let start_after: Option<u64> = seq.optional_next()?;
        let limit: Option<u32> = seq.optional_next()?;
        let at: Option<String> = seq.optional_next()?;
        let limit = page_limit(limit)?;
        with_state(ctx, at, |ext| {
            let page = structures::structures_in_area(ext, area, start_after, limit);
            let next = (page.len() == limit)
                .then(|| page.last().map(|s| s.id))
                .flatten();
            json!({
                "area": area,
                "structures": page.iter().map(structure_json).collect::<Vec<_>>(),
                "next": next,
            })
        })
    })?;
    method(module, "arceon_npcsInArea", |params, ctx| {
        let (area, at) = area_param(&params)?;
        with_state(ctx, at, |ext| {
            let npcs = npcs::npcs_in_area(ext, area, None, MAX_PAGE);
            json!({
                "area": area,
                "npcs": npcs.iter().map(npc_json).collect::<Vec<_>>(),
            })
        })
    })?;
    method(module, "arceon_validators", |params, ctx| {
        let mut seq = params.sequence();
        let at: Option<String> = seq.optional_next()?;
        with_state(ctx, at, |ext| {
            let era = staking::active_era_index(ext);
            let active = staking::active_validators(ext);
            let disabled = staking::DisabledValidators::get_or_default(ext);
            let mut validators = Vec::new();
            for (who, prefs) in staking::Validators::iter(ext) {
                let ledger = staking::Ledger::get(ext, &who);
                let exposure = staking::ErasStakers::get(ext, &era, &who);
                let reputation = staking::reputation(ext, &who);
                validators.push(json!({
                    "address": to_ss58(&who),
                    "active": active.contains(&who),
                    "disabled": disabled.contains(&who),
                    "commissionPerBillion": prefs.commission.deconstruct(),
                    "bonded": ledger.as_ref().map(|l| l.active.to_string()),
                    "exposure": exposure.as_ref().map(|e| e.total.to_string()),
                    "trustScore": fraction(reputation.trust_score.deconstruct()),
                }));
            }
            json!({
                "era": era,
                "activeSet": active.iter().map(to_ss58).collect::<Vec<_>>(),
                "disabled": disabled.iter().map(to_ss58).collect::<Vec<_>>(),
                "validators": validators,
            })
        })
    })?;
    method(module, "arceon_stakingLedger", |params, ctx| {
        let mut seq = params.sequence();
        let who: String = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        let who = address(&who)?;
        with_state(ctx, at, |ext| {
            staking::Ledger::get(ext, &who)
                .map(|ledger| {
                    json!({
                        "stash": to_ss58(&ledger.stash),
                        "total": ledger.total.to_string(),
                        "active": ledger.active.to_string(),
                        "unlocking": ledger.unlocking.iter().map(|chunk| json!({
                            "value": chunk.value.to_string(),
                            "era": chunk.era,
                        })).collect::<Vec<_>>(),
                        "validating": staking::Validators::contains_key(ext, &who),
                        "nominating": staking::Nominators::get(ext, &who)
                            .map(|n| n.targets.iter().map(to_ss58).collect::<Vec<_>>()),
                    })
                })
                .unwrap_or(Value::Null)
        })
    })?;
    method(module, "arceon_reputation", |params, ctx| {
        let mut seq = params.sequence();
        let who: String = seq.next()?;
        let at: Option<String> = seq.optional_next()?;
        let who = address(&who)?;
        with_state(ctx, at, |ext| {
            let reputation = staking::reputation(ext, &who);
            reputation_json(&who, &reputation)
        })
    })?;
    Ok(())
}
