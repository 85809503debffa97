//! Writing the world snapshot (areas, players, structures, NPCs, validators) inside a
//! block's transaction, and [`fingerprint`]: row counts and a checksum of the whole
//! index's content, to compare two indexes of the same chain (e.g. one built with
//! interruptions against one built without).

use arceon_primitives::{blake2_256, to_hex};
use sqlx::{AnyPool, Row, Transaction};

use crate::error::Result;
use crate::world::WorldSnapshot;

type Tx = Transaction<'static, sqlx::Any>;

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
    for a in &w.areas {
        sqlx::query(
            "INSERT INTO areas (id, name, min_x, min_y, max_x, max_y, active, population, \
             npc_count, structure_count, committee, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(a.id)
        .bind(a.name.clone())
        .bind(a.bounds[0])
        .bind(a.bounds[1])
        .bind(a.bounds[2])
        .bind(a.bounds[3])
        .bind(i64::from(a.active))
        .bind(a.population)
        .bind(a.npc_count)
        .bind(a.structure_count)
        .bind(a.committee.to_string())
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn players(tx: &mut Tx, w: &WorldSnapshot, at: i64) -> Result<()> {
    for p in &w.players {
        sqlx::query(
            "INSERT INTO players (address, name, area, x, y, health, skills, inventory, \
             registered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(p.address.clone())
        .bind(p.name.clone())
        .bind(p.area)
        .bind(p.x)
        .bind(p.y)
        .bind(p.health)
        .bind(p.skills.to_string())
        .bind(p.inventory.to_string())
        .bind(p.registered_at)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn things(tx: &mut Tx, w: &WorldSnapshot, at: i64) -> Result<()> {
    for s in &w.structures {
        sqlx::query(
            "INSERT INTO structures (id, owner, kind, area, x, y, level, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id)
        .bind(s.owner.clone())
        .bind(s.kind)
        .bind(s.area)
        .bind(s.x)
        .bind(s.y)
        .bind(s.level)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    for n in &w.npcs {
        sqlx::query(
            "INSERT INTO npcs (id, name, kind, area, x, y, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(n.id)
        .bind(n.name.clone())
        .bind(n.kind.clone())
        .bind(n.area)
        .bind(n.x)
        .bind(n.y)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn validators(tx: &mut Tx, w: &WorldSnapshot, at: i64) -> Result<()> {
    for v in &w.validators {
        sqlx::query(
            "INSERT INTO validators (address, active, disabled, commission_per_billion, bonded, \
             exposure, trust_score_per_billion, uptime_per_billion, participation_per_billion, \
             invalid_proposals, era, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(v.address.clone())
        .bind(i64::from(v.active))
        .bind(i64::from(v.disabled))
        .bind(v.commission)
        .bind(v.bonded.clone())
        .bind(v.exposure.clone())
        .bind(v.trust)
        .bind(v.uptime)
        .bind(v.participation)
        .bind(v.invalid_proposals)
        .bind(v.era)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
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
