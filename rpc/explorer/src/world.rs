//! The world as of one block, read through the node's `arceon_*` queries: areas with
//! their bounds, committees, NPC and structure counts; players with position and area;
//! structures; NPCs; validators with stake, commission and reputation. The indexer takes
//! a snapshot at the finalized head and stores it in the same transaction as that block.

use arceon_primitives::BlockNumber;
use serde_json::{json, Value};

use crate::error::{ExplorerError, Result};
use crate::node::NodeConn;

/// Most pages read for one area's players or structures (256 entries a page).
const MAX_PAGES: usize = 4_096;
/// Entries asked for per page (the node's maximum).
const PAGE: u32 = 256;

/// One area.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaRow {
    /// Area id.
    pub id: i64,
    /// Name (`Meadow`).
    pub name: String,
    /// Bounds in milli-units: min x, min y, max x, max y.
    pub bounds: [i64; 4],
    /// Whether the area is in use (not split or merged away).
    pub active: bool,
    /// Players in it.
    pub population: i64,
    /// NPCs in it.
    pub npc_count: i64,
    /// Structures in it.
    pub structure_count: i64,
    /// `{"primary", "replicas", "version"}` or null.
    pub committee: Value,
}

/// One player.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerRow {
    /// SS58 address.
    pub address: String,
    /// Name.
    pub name: String,
    /// Area id.
    pub area: i64,
    /// Position in milli-units.
    pub x: i64,
    /// Position in milli-units.
    pub y: i64,
    /// Health.
    pub health: i64,
    /// Skills JSON.
    pub skills: Value,
    /// Inventory JSON.
    pub inventory: Value,
    /// Block of registration.
    pub registered_at: i64,
}

/// One structure.
#[derive(Debug, Clone, PartialEq)]
pub struct StructureRow {
    /// Structure id.
    pub id: i64,
    /// Owner (SS58).
    pub owner: String,
    /// Kind (1 Hut, 2 Workshop, 3 Watchtower on dev).
    pub kind: i64,
    /// Area id.
    pub area: i64,
    /// Position.
    pub x: i64,
    /// Position.
    pub y: i64,
    /// Level.
    pub level: i64,
}

/// One NPC.
#[derive(Debug, Clone, PartialEq)]
pub struct NpcRow {
    /// NPC id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Area id.
    pub area: i64,
    /// Position.
    pub x: i64,
    /// Position.
    pub y: i64,
}

/// One validator.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorRow {
    /// Stash (SS58).
    pub address: String,
    /// In the active set.
    pub active: bool,
    /// Disabled for an offence.
    pub disabled: bool,
    /// Commission in parts per billion.
    pub commission: i64,
    /// Bonded plancks.
    pub bonded: Option<String>,
    /// Total backing in the era.
    pub exposure: Option<String>,
    /// Trust score (ppb).
    pub trust: i64,
    /// Uptime score (ppb).
    pub uptime: i64,
    /// Consensus participation (ppb).
    pub participation: i64,
    /// Invalid proposals.
    pub invalid_proposals: i64,
    /// The era.
    pub era: i64,
}

/// The world at one block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorldSnapshot {
    /// The block it was read at.
    pub block: BlockNumber,
    /// Areas.
    pub areas: Vec<AreaRow>,
    /// Players.
    pub players: Vec<PlayerRow>,
    /// Structures.
    pub structures: Vec<StructureRow>,
    /// NPCs.
    pub npcs: Vec<NpcRow>,
    /// Validators.
    pub validators: Vec<ValidatorRow>,
}

fn int(value: &Value, field: &str) -> Result<i64> {
    value
        .get(field)
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .ok_or_else(|| ExplorerError::BadResponse(format!("`{field}` missing in {value}")))
}

fn text(value: &Value, field: &str) -> Result<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ExplorerError::BadResponse(format!("`{field}` missing in {value}")))
}

fn position(value: &Value) -> Result<(i64, i64)> {
    let pos = value
        .get("position")
        .ok_or_else(|| ExplorerError::BadResponse(format!("no position in {value}")))?;
    Ok((int(pos, "x")?, int(pos, "y")?))
}

fn area_row(value: &Value) -> Result<AreaRow> {
    let b = value
        .get("bounds")
        .ok_or_else(|| ExplorerError::BadResponse(format!("no bounds in {value}")))?;
    Ok(AreaRow {
        id: int(value, "id")?,
        name: text(value, "name")?,
        bounds: [
            int(b, "minX")?,
            int(b, "minY")?,
            int(b, "maxX")?,
            int(b, "maxY")?,
        ],
        active: value
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        population: int(value, "population")?,
        npc_count: 0,
        structure_count: 0,
        committee: value.get("authority").cloned().unwrap_or(Value::Null),
    })
}

fn player_row(value: &Value) -> Result<PlayerRow> {
    let (x, y) = position(value)?;
    Ok(PlayerRow {
        address: text(value, "address")?,
        name: text(value, "name")?,
        area: int(value, "area")?,
        x,
        y,
        health: int(value, "health")?,
        skills: value.get("skills").cloned().unwrap_or(json!([])),
        inventory: value.get("inventory").cloned().unwrap_or(json!([])),
        registered_at: int(value, "registeredAt")?,
    })
}

fn structure_row(value: &Value) -> Result<StructureRow> {
    let (x, y) = position(value)?;
    Ok(StructureRow {
        id: int(value, "id")?,
        owner: text(value, "owner")?,
        kind: int(value, "kind")?,
        area: int(value, "area")?,
        x,
        y,
        level: int(value, "level")?,
    })
}

fn npc_row(value: &Value) -> Result<NpcRow> {
    let (x, y) = position(value)?;
    Ok(NpcRow {
        id: int(value, "id")?,
        name: text(value, "name")?,
        kind: text(value, "kind")?,
        area: int(value, "area")?,
        x,
        y,
    })
}

fn list<'a>(value: &'a Value, field: &str) -> Result<&'a Vec<Value>> {
    value
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| ExplorerError::BadResponse(format!("`{field}` missing in answer")))
}

/// Reads every page of a paged `arceon_*InArea` query.
async fn paged(
    node: &NodeConn,
    method: &str,
    field: &str,
    area: i64,
    at: &str,
) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut after = Value::Null;
    for _ in 0..MAX_PAGES {
        let answer = node
            .client()
            .world_query(
                method,
                vec![json!(area), after.clone(), json!(PAGE), json!(at)],
            )
            .await?;
        all.extend(list(&answer, field)?.iter().cloned());
        match answer.get("next") {
            Some(next) if !next.is_null() => after = next.clone(),
            _ => return Ok(all),
        }
    }
    Ok(all)
}

async fn validators(node: &NodeConn, at: &str) -> Result<Vec<ValidatorRow>> {
    let answer = node
        .client()
        .world_query("arceon_validators", vec![json!(at)])
        .await?;
    let era = int(&answer, "era")?;
    let mut rows = Vec::new();
    for v in list(&answer, "validators")? {
        let address = text(v, "address")?;
        let rep = node
            .client()
            .world_query("arceon_reputation", vec![json!(address), json!(at)])
            .await?;
        rows.push(ValidatorRow {
            active: v.get("active").and_then(Value::as_bool).unwrap_or(false),
            disabled: v.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            commission: int(v, "commissionPerBillion")?,
            bonded: v.get("bonded").and_then(Value::as_str).map(str::to_string),
            exposure: v
                .get("exposure")
                .and_then(Value::as_str)
                .map(str::to_string),
            trust: int(&rep, "trustScorePerBillion")?,
            uptime: int(&rep, "uptimeScorePerBillion")?,
            participation: int(&rep, "consensusParticipationPerBillion")?,
            invalid_proposals: int(&rep, "invalidProposals")?,
            era,
            address,
        });
    }
    Ok(rows)
}

/// Reads the world at block `hash` (number `block`).
pub async fn snapshot(node: &NodeConn, block: BlockNumber, hash: &str) -> Result<WorldSnapshot> {
    let areas = node
        .client()
        .world_query("arceon_areas", vec![json!(hash)])
        .await?;
    let areas = areas
        .as_array()
        .ok_or_else(|| ExplorerError::BadResponse("arceon_areas is not a list".into()))?;
    let mut world = WorldSnapshot {
        block,
        ..WorldSnapshot::default()
    };
    for value in areas {
        let mut area = area_row(value)?;
        for p in paged(node, "arceon_playersInArea", "players", area.id, hash).await? {
            world.players.push(player_row(&p)?);
        }
        let structures =
            paged(node, "arceon_structuresInArea", "structures", area.id, hash).await?;
        area.structure_count = i64::try_from(structures.len()).unwrap_or(i64::MAX);
        for s in structures {
            world.structures.push(structure_row(&s)?);
        }
        let npcs = node
            .client()
            .world_query("arceon_npcsInArea", vec![json!(area.id), json!(hash)])
            .await?;
        let npcs = list(&npcs, "npcs")?;
        area.npc_count = i64::try_from(npcs.len()).unwrap_or(i64::MAX);
        for n in npcs {
            world.npcs.push(npc_row(n)?);
        }
        world.areas.push(area);
    }
    world.validators = validators(node, hash).await?;
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_answers_are_errors_not_zeros() {
        let missing = json!({"address": "x", "name": "bob", "area": 0});
        assert!(matches!(
            player_row(&missing),
            Err(ExplorerError::BadResponse(_))
        ));
        let area = json!({"id": 3, "name": "Lakeshore", "active": true, "population": 2,
            "bounds": {"minX": 600000, "minY": 0, "maxX": 800000, "maxY": 200000}, "authority": null});
        let row = area_row(&area).expect("complete area");
        assert_eq!(row.bounds, [600_000, 0, 800_000, 200_000]);
        assert_eq!(row.name, "Lakeshore");
    }
}
