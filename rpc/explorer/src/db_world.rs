//! Writing the world snapshot (areas, players, structures, NPCs, validators) inside a
//! block's transaction, and [`fingerprint`]: row counts and a checksum of the whole
//! index's content, to compare two indexes of the same chain (e.g. one built with
//! interruptions against one built without).

use arceon_primitives::{blake2_256, to_hex};
use sqlx::{AnyPool, Row};

use crate::db::{insert_rows, Tx};
use crate::error::Result;
use crate::world::WorldSnapshot;

/// The indexed tables and the columns that identify a row's order, for [`fingerprint`].
pub const TABLES: [(&str, &str); 10] = [
    ("blocks", "number"),
    ("extrinsics", "block_number, idx"),
    ("events", "block_number, idx"),
    ("transfers", "block_number, event_idx"),
    ("accounts", "address"),
    ("areas", "id"),
    ("players", "address"),
    ("structures", "id"),
    ("npcs", "id"),
    ("validators", "address"),
];

async fn clear(tx: &mut Tx) -> Result<()> {
    for table in ["areas", "players", "structures", "npcs", "validators"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn areas(tx: &mut Tx, w: &WorldSnapshot, at: i64) -> Result<()> {
    let rows = w
        .areas
        .iter()
        .map(|a| {
            vec![
                a.id.into(),
                a.name.clone().into(),
                a.bounds[0].into(),
                a.bounds[1].into(),
                a.bounds[2].into(),
                a.bounds[3].into(),
                i64::from(a.active).into(),
                a.population.into(),
                a.npc_count.into(),
                a.structure_count.into(),
                a.committee.to_string().into(),
                at.into(),
            ]
        })
        .collect();
    let cols = [
        "id",
        "name",
        "min_x",
        "min_y",
        "max_x",
        "max_y",
        "active",
        "population",
        "npc_count",
        "structure_count",
        "committee",
        "updated_at",
    ];
    insert_rows(tx, "areas", &cols, rows, "").await
}

async fn players(tx: &mut Tx, w: &WorldSnapshot, at: i64) -> Result<()> {
    let rows = w
        .players
        .iter()
        .map(|p| {
            vec![
                p.address.clone().into(),
                p.name.clone().into(),
                p.area.into(),
                p.x.into(),
                p.y.into(),
                p.health.into(),
                p.skills.to_string().into(),
                p.inventory.to_string().into(),
                p.registered_at.into(),
                at.into(),
            ]
        })
        .collect();
    let cols = [
        "address",
        "name",
        "area",
        "x",
        "y",
        "health",
        "skills",
        "inventory",
        "registered_at",
        "updated_at",
    ];
    insert_rows(tx, "players", &cols, rows, "").await
}

async fn things(tx: &mut Tx, w: &WorldSnapshot, at: i64) -> Result<()> {
    let rows = w
        .structures
        .iter()
        .map(|s| {
            vec![
                s.id.into(),
                s.owner.clone().into(),
                s.kind.into(),
                s.area.into(),
                s.x.into(),
                s.y.into(),
                s.level.into(),
                at.into(),
            ]
        })
        .collect();
    let cols = [
        "id",
        "owner",
        "kind",
        "area",
        "x",
        "y",
        "level",
        "updated_at",
    ];
    insert_rows(tx, "structures", &cols, rows, "").await?;
    let rows = w
        .npcs
        .iter()
        .map(|n| {
            vec![
                n.id.into(),
                n.name.clone().into(),
                n.kind.clone().into(),
                n.area.into(),
                n.x.into(),
                n.y.into(),
                at.into(),
            ]
        })
        .collect();
    let cols = ["id", "name", "kind", "area", "x", "y", "updated_at"];
    insert_rows(tx, "npcs", &cols, rows, "").await
}

async fn validators(tx: &mut Tx, w: &WorldSnapshot, at: i64) -> Result<()> {
    let rows = w
        .validators
        .iter()
        .map(|v| {
            vec![
                v.address.clone().into(),
                i64::from(v.active).into(),
                i64::from(v.disabled).into(),
                v.commission.into(),
                v.bonded.clone().into(),
                v.exposure.clone().into(),
                v.trust.into(),
                v.uptime.into(),
                v.participation.into(),
                v.invalid_proposals.into(),
                v.era.into(),
                at.into(),
            ]
        })
        .collect();
    let cols = [
        "address",
        "active",
        "disabled",
        "commission_per_billion",
        "bonded",
        "exposure",
        "trust_score_per_billion",
        "uptime_per_billion",
        "participation_per_billion",
        "invalid_proposals",
        "era",
        "updated_at",
    ];
    insert_rows(tx, "validators", &cols, rows, "").await
}

/// Replaces the stored world with `world` (inside the caller's transaction).
pub async fn replace_world(tx: &mut Tx, world: &WorldSnapshot) -> Result<()> {
    let at = i64::from(world.block);
    clear(tx).await?;
    areas(tx, world, at).await?;
    players(tx, world, at).await?;
    things(tx, world, at).await?;
    validators(tx, world, at).await?;
    Ok(())
}

/// Renders one row as text, whatever the engine returned for each column.
fn row_text(row: &sqlx::any::AnyRow) -> String {
    let mut out = String::new();
    for i in 0..row.len() {
        let cell = row
            .try_get::<Option<i64>, _>(i)
            .map(|v| v.map(|n| n.to_string()))
            .or_else(|_| row.try_get::<Option<String>, _>(i))
            .unwrap_or_else(|e| Some(format!("<{e}>")));
        out.push_str(cell.as_deref().unwrap_or("NULL"));
        out.push('\u{1f}');
    }
    out
}

/// Row counts per table and a blake2-256 checksum over every row of every table, in key
/// order: equal for two indexes with the same content.
pub async fn fingerprint(pool: &AnyPool) -> Result<(Vec<(String, u64)>, String)> {
    let mut counts = Vec::new();
    let mut all = Vec::new();
    for (table, order) in TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .fetch_all(pool)
            .await?;
        counts.push((
            table.to_string(),
            u64::try_from(rows.len()).unwrap_or(u64::MAX),
        ));
        all.extend_from_slice(table.as_bytes());
        for row in &rows {
            all.extend_from_slice(row_text(row).as_bytes());
            all.push(b'\n');
        }
    }
    Ok((counts, to_hex(&blake2_256(&all))))
}
