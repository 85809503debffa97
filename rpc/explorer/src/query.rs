//! Reads of the index for the JSON API: each function answers one page's data as JSON
//! (camelCase keys, SS58 addresses, balances as decimal planck strings, coordinates in
//! milli-units as the chain stores them), or `None` when the thing is not indexed.

use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::error::Result;

fn int(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

fn text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

fn json_text(row: &AnyRow, col: &str) -> Result<Value> {
    Ok(match text(row, col)? {
        Some(t) => serde_json::from_str(&t).unwrap_or(Value::String(t)),
        None => Value::Null,
    })
}

fn flag(row: &AnyRow, col: &str) -> Result<Value> {
    Ok(int(row, col)?.map_or(Value::Null, |v| Value::Bool(v != 0)))
}

/// Reads named columns into a JSON object: `(json key, column, kind)`.
fn object(row: &AnyRow, cols: &[(&str, &str, char)]) -> Result<Value> {
    let mut map = Map::new();
    for (key, col, kind) in cols {
        let value = match kind {
            'i' => json!(int(row, col)?),
            'b' => flag(row, col)?,
            'j' => json_text(row, col)?,
            _ => json!(text(row, col)?),
        };
        map.insert((*key).to_string(), value);
    }
    Ok(Value::Object(map))
}

const BLOCK_COLS: [(&str, &str, char); 11] = [
    ("number", "number", 'i'),
    ("hash", "hash", 's'),
    ("parentHash", "parent_hash", 's'),
    ("stateRoot", "state_root", 's'),
    ("extrinsicsRoot", "extrinsics_root", 's'),
    ("slot", "slot", 'i'),
    ("timestampMs", "timestamp_ms", 'i'),
    ("author", "author", 's'),
    ("extrinsicCount", "extrinsic_count", 'i'),
    ("eventCount", "event_count", 'i'),
    ("eventsDecoded", "events_decoded", 'b'),
];

const EXTRINSIC_COLS: [(&str, &str, char); 14] = [
    ("blockNumber", "block_number", 'i'),
    ("index", "idx", 'i'),
    ("hash", "hash", 's'),
    ("signer", "signer", 's'),
    ("nonce", "nonce", 'i'),
    ("tip", "tip", 's'),
    ("pallet", "pallet", 's'),
    ("call", "call", 's'),
    ("args", "args", 'j'),
    ("decoded", "decoded", 'b'),
    ("success", "success", 'b'),
    ("error", "error", 's'),
    ("fee", "fee", 's'),
    ("size", "size", 'i'),
];

const EVENT_COLS: [(&str, &str, char); 6] = [
    ("blockNumber", "block_number", 'i'),
    ("index", "idx", 'i'),
    ("extrinsicIndex", "extrinsic_idx", 'i'),
    ("pallet", "pallet", 's'),
    ("event", "name", 's'),
    ("fields", "fields", 'j'),
];

const TRANSFER_COLS: [(&str, &str, char); 6] = [
    ("blockNumber", "block_number", 'i'),
    ("eventIndex", "event_idx", 'i'),
    ("extrinsicIndex", "extrinsic_idx", 'i'),
    ("from", "from_account", 's'),
    ("to", "to_account", 's'),
    ("amount", "amount", 's'),
];

const PLAYER_COLS: [(&str, &str, char); 10] = [
    ("address", "address", 's'),
    ("name", "name", 's'),
    ("area", "area", 'i'),
    ("x", "x", 'i'),
    ("y", "y", 'i'),
    ("health", "health", 'i'),
    ("skills", "skills", 'j'),
    ("inventory", "inventory", 'j'),
    ("registeredAt", "registered_at", 'i'),
    ("updatedAt", "updated_at", 'i'),
];

const VALIDATOR_COLS: [(&str, &str, char); 12] = [
    ("address", "address", 's'),
    ("active", "active", 'b'),
    ("disabled", "disabled", 'b'),
    ("commissionPerBillion", "commission_per_billion", 'i'),
    ("bonded", "bonded", 's'),
    ("exposure", "exposure", 's'),
    ("trustScorePerBillion", "trust_score_per_billion", 'i'),
    ("uptimePerBillion", "uptime_per_billion", 'i'),
    ("participationPerBillion", "participation_per_billion", 'i'),
    ("invalidProposals", "invalid_proposals", 'i'),
    ("era", "era", 'i'),
    ("updatedAt", "updated_at", 'i'),
];

async fn rows(pool: &AnyPool, sql: &str, binds: &[Value]) -> Result<Vec<AnyRow>> {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match bind {
            Value::Number(n) => query.bind(n.as_i64().unwrap_or(i64::MAX)),
            other => query.bind(other.as_str().unwrap_or_default().to_string()),
        };
    }
    Ok(query.fetch_all(pool).await?)
}

async fn objects(
    pool: &AnyPool,
    sql: &str,
    binds: &[Value],
    cols: &[(&str, &str, char)],
) -> Result<Vec<Value>> {
    rows(pool, sql, binds)
        .await?
        .iter()
        .map(|row| object(row, cols))
        .collect()
}

/// The newest `limit` blocks, newest first.
pub async fn latest_blocks(pool: &AnyPool, limit: i64) -> Result<Vec<Value>> {
    objects(
        pool,
        "SELECT * FROM blocks ORDER BY number DESC LIMIT $1",
        &[json!(limit)],
        &BLOCK_COLS,
    )
    .await
}

/// The newest `limit` signed extrinsics, newest first.
pub async fn latest_extrinsics(pool: &AnyPool, limit: i64) -> Result<Vec<Value>> {
    objects(
        pool,
        "SELECT * FROM extrinsics WHERE signer IS NOT NULL \
         ORDER BY block_number DESC, idx DESC LIMIT $1",
        &[json!(limit)],
        &EXTRINSIC_COLS,
    )
    .await
}

/// A block with its extrinsics and events, by number or `0x` hash.
pub async fn block(
    pool: &AnyPool,
    number: Option<i64>,
    hash: Option<&str>,
) -> Result<Option<Value>> {
    let found = match (number, hash) {
        (Some(n), _) => {
            objects(
                pool,
                "SELECT * FROM blocks WHERE number = $1",
                &[json!(n)],
                &BLOCK_COLS,
            )
            .await?
        }
        (None, Some(h)) => {
            objects(
                pool,
                "SELECT * FROM blocks WHERE hash = $1",
                &[json!(h)],
                &BLOCK_COLS,
            )
            .await?
        }
        (None, None) => Vec::new(),
    };
    let Some(mut block) = found.into_iter().next() else {
        return Ok(None);
    };
    let n = block["number"].clone();
    block["extrinsics"] = json!(
        objects(
            pool,
            "SELECT * FROM extrinsics WHERE block_number = $1 ORDER BY idx",
            std::slice::from_ref(&n),
            &EXTRINSIC_COLS
        )
        .await?
    );
    block["events"] = json!(
        objects(
            pool,
            "SELECT * FROM events WHERE block_number = $1 ORDER BY idx",
            &[n],
            &EVENT_COLS
        )
        .await?
    );
    Ok(Some(block))
}

/// An extrinsic with its block's hash and its events, by `0x` hash (the latest
/// inclusion when the same bytes were included twice).
pub async fn extrinsic(pool: &AnyPool, hash: &str) -> Result<Option<Value>> {
    let found = objects(
        pool,
        "SELECT * FROM extrinsics WHERE hash = $1 ORDER BY block_number DESC LIMIT 1",
        &[json!(hash)],
        &EXTRINSIC_COLS,
    )
    .await?;
    let Some(mut x) = found.into_iter().next() else {
        return Ok(None);
    };
    let (n, i) = (x["blockNumber"].clone(), x["index"].clone());
    x["events"] = json!(
        objects(
            pool,
            "SELECT * FROM events WHERE block_number = $1 AND extrinsic_idx = $2 ORDER BY idx",
            &[n.clone(), i],
            &EVENT_COLS
        )
        .await?
    );
    let block = rows(
        pool,
        "SELECT hash, timestamp_ms FROM blocks WHERE number = $1",
        &[n],
    )
    .await?;
    if let Some(row) = block.first() {
        x["blockHash"] = json!(text(row, "hash")?);
        x["timestampMs"] = json!(int(row, "timestamp_ms")?);
    }
    Ok(Some(x))
}

/// An account: balances, transfers in and out, extrinsics it signed, its player and
/// validator records. `None` when the index has never seen it.
pub async fn account(pool: &AnyPool, address: &str) -> Result<Option<Value>> {
    let a = json!(address);
    let balance = objects(
        pool,
        "SELECT * FROM accounts WHERE address = $1",
        std::slice::from_ref(&a),
        &[
            ("free", "free", 's'),
            ("reserved", "reserved", 's'),
            ("frozen", "frozen", 's'),
            ("nonce", "nonce", 'i'),
            ("updatedAt", "updated_at", 'i'),
        ],
    )
    .await?
    .into_iter()
    .next();
    let transfers = objects(
        pool,
        "SELECT * FROM transfers WHERE from_account = $1 OR to_account = $2 \
         ORDER BY block_number DESC, event_idx DESC LIMIT 100",
        &[a.clone(), a.clone()],
        &TRANSFER_COLS,
    )
    .await?;
    let extrinsics = objects(
        pool,
        "SELECT * FROM extrinsics WHERE signer = $1 ORDER BY block_number DESC, idx DESC LIMIT 50",
        std::slice::from_ref(&a),
        &EXTRINSIC_COLS,
    )
    .await?;
    let player = objects(
        pool,
        "SELECT * FROM players WHERE address = $1",
        std::slice::from_ref(&a),
        &PLAYER_COLS,
    )
    .await?;
    let validator = objects(
        pool,
        "SELECT * FROM validators WHERE address = $1",
        &[a],
        &VALIDATOR_COLS,
    )
    .await?;
    if balance.is_none()
        && transfers.is_empty()
        && extrinsics.is_empty()
        && player.is_empty()
        && validator.is_empty()
    {
        return Ok(None);
    }
    Ok(Some(json!({
        "address": address,
        "balance": balance,
        "transfers": transfers,
        "extrinsics": extrinsics,
        "player": player.into_iter().next(),
        "validator": validator.into_iter().next(),
    })))
}

async fn authored(pool: &AnyPool, address: &str) -> Result<i64> {
    let found = rows(
        pool,
        "SELECT COUNT(*) AS n FROM blocks WHERE author = $1",
        &[json!(address)],
    )
    .await?;
    Ok(found
        .first()
        .map(|r| int(r, "n"))
        .transpose()?
        .flatten()
        .unwrap_or(0))
}

/// Every validator with its authored block count, the era and the active set.
pub async fn validators(pool: &AnyPool) -> Result<Value> {
    let mut list = objects(
        pool,
        "SELECT * FROM validators ORDER BY address",
        &[],
        &VALIDATOR_COLS,
    )
    .await?;
    for v in &mut list {
        let address = v["address"].as_str().unwrap_or_default().to_string();
        v["authoredBlocks"] = json!(authored(pool, &address).await?);
    }
    let era = list.iter().filter_map(|v| v["era"].as_i64()).max();
    let active: Vec<Value> = list
        .iter()
        .filter(|v| v["active"] == json!(true))
        .map(|v| v["address"].clone())
        .collect();
    let slashes = objects(
        pool,
        "SELECT * FROM events WHERE pallet = 'Staking' AND name = 'Slashed' \
         ORDER BY block_number DESC, idx DESC LIMIT 50",
        &[],
        &EVENT_COLS,
    )
    .await?;
    Ok(json!({ "era": era, "activeSet": active, "validators": list, "slashes": slashes }))
}

/// One validator with its latest authored blocks, `None` when not a validator.
pub async fn validator(pool: &AnyPool, address: &str) -> Result<Option<Value>> {
    let found = objects(
        pool,
        "SELECT * FROM validators WHERE address = $1",
        &[json!(address)],
        &VALIDATOR_COLS,
    )
    .await?;
    let Some(mut v) = found.into_iter().next() else {
        return Ok(None);
    };
    v["authoredBlocks"] = json!(authored(pool, address).await?);
    v["recentBlocks"] = json!(
        objects(
            pool,
            "SELECT * FROM blocks WHERE author = $1 ORDER BY number DESC LIMIT 20",
            &[json!(address)],
            &BLOCK_COLS
        )
        .await?
    );
    let committees = rows(
        pool,
        "SELECT id, name, committee FROM areas ORDER BY id",
        &[],
    )
    .await?;
    let mut areas = Vec::new();
    for row in &committees {
        let committee = json_text(row, "committee")?;
        if committee.to_string().contains(address) {
            areas.push(json!({ "id": int(row, "id")?, "name": text(row, "name")? }));
        }
    }
    v["committeeAreas"] = json!(areas);
    Ok(Some(v))
}

/// The world map: areas (bounds, names, committees), players, NPCs and structures.
pub async fn map(pool: &AnyPool) -> Result<Value> {
    let areas = objects(
        pool,
        "SELECT * FROM areas ORDER BY id",
        &[],
        &[
            ("id", "id", 'i'),
            ("name", "name", 's'),
            ("minX", "min_x", 'i'),
            ("minY", "min_y", 'i'),
            ("maxX", "max_x", 'i'),
            ("maxY", "max_y", 'i'),
            ("active", "active", 'b'),
            ("population", "population", 'i'),
            ("npcCount", "npc_count", 'i'),
            ("structureCount", "structure_count", 'i'),
            ("committee", "committee", 'j'),
            ("updatedAt", "updated_at", 'i'),
        ],
    )
    .await?;
    let players = objects(
        pool,
        "SELECT * FROM players ORDER BY address",
        &[],
        &PLAYER_COLS,
    )
    .await?;
    let npcs = objects(
        pool,
        "SELECT * FROM npcs ORDER BY id",
        &[],
        &[
            ("id", "id", 'i'),
            ("name", "name", 's'),
            ("kind", "kind", 's'),
            ("area", "area", 'i'),
            ("x", "x", 'i'),
            ("y", "y", 'i'),
        ],
    )
    .await?;
    let structures = objects(
        pool,
        "SELECT * FROM structures ORDER BY id",
        &[],
        &[
            ("id", "id", 'i'),
            ("owner", "owner", 's'),
            ("kind", "kind", 'i'),
            ("area", "area", 'i'),
            ("x", "x", 'i'),
            ("y", "y", 'i'),
            ("level", "level", 'i'),
        ],
    )
    .await?;
    let at = areas.iter().filter_map(|a| a["updatedAt"].as_i64()).max();
    Ok(
        json!({ "block": at, "areas": areas, "players": players, "npcs": npcs, "structures": structures }),
    )
}

/// Players whose name is `name` (case-insensitive), or starts with it.
pub async fn players_named(pool: &AnyPool, name: &str) -> Result<Vec<Value>> {
    let exact = objects(
        pool,
        "SELECT * FROM players WHERE LOWER(name) = LOWER($1) ORDER BY address",
        &[json!(name)],
        &PLAYER_COLS,
    )
    .await?;
    if !exact.is_empty() {
        return Ok(exact);
    }
    let pattern = format!("{}%", name.replace(['%', '_'], ""));
    objects(
        pool,
        "SELECT * FROM players WHERE LOWER(name) LIKE LOWER($1) ORDER BY name LIMIT 20",
        &[json!(pattern)],
        &PLAYER_COLS,
    )
    .await
}

/// The data for the home page's charts: the newest `limit` blocks' number, time and
/// extrinsic count, oldest first.
pub async fn chart(pool: &AnyPool, limit: i64) -> Result<Vec<Value>> {
    let mut points = objects(
        pool,
        "SELECT number, timestamp_ms, extrinsic_count FROM blocks ORDER BY number DESC LIMIT $1",
        &[json!(limit)],
        &[
            ("number", "number", 'i'),
            ("timestampMs", "timestamp_ms", 'i'),
            ("extrinsics", "extrinsic_count", 'i'),
        ],
    )
    .await?;
    points.reverse();
    Ok(points)
}

/// The header fields of a lane batch found in a decoded `submit_batch` call's
/// arguments: `(area, time_ms)`, wherever the metadata nests them.
fn batch_time(args: &Value) -> Option<(i64, i64)> {
    match args {
        Value::Object(map) => {
            // Integers wider than 32 bits are decoded as strings.
            let int = |key: &str| {
                map.get(key).and_then(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
            };
            if let (Some(area), Some(time), Some(_)) =
                (int("area"), int("time_ms"), map.get("height"))
            {
                return Some((area, time));
            }
            map.values().find_map(batch_time)
        }
        Value::Array(items) => items.iter().find_map(batch_time),
        _ => None,
    }
}

/// Per area, how long the latest included batches took from being sequenced (the
/// batch's time) to the block that included them (its timestamp): `(p50, max)` ms.
/// What a player waits for a receipt is shorter and only the nodes see it (their
/// `arceon_fastlane_receipt_seconds` metric); this is the lane-to-chain delay.
async fn lane_inclusion_latency(
    pool: &AnyPool,
) -> Result<std::collections::BTreeMap<i64, (i64, i64)>> {
    let included = objects(
        pool,
        "SELECT e.block_number, e.args, b.timestamp_ms FROM extrinsics e \
         JOIN blocks b ON b.number = e.block_number \
         WHERE e.pallet = 'FastLane' AND e.call = 'submit_batch' \
         ORDER BY e.block_number DESC LIMIT $1",
        &[json!(LANE_EVENTS)],
        &[
            ("blockNumber", "block_number", 'i'),
            ("args", "args", 'j'),
            ("timestamp", "timestamp_ms", 'i'),
        ],
    )
    .await?;
    let mut delays: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for row in &included {
        let (Some((area, sequenced)), Some(block_time)) =
            (batch_time(&row["args"]), row["timestamp"].as_i64())
        else {
            continue;
        };
        delays
            .entry(area)
            .or_default()
            .push(block_time.saturating_sub(sequenced).max(0));
    }
    Ok(delays
        .into_iter()
        .map(|(area, mut ms)| {
            ms.sort_unstable();
            (area, (ms[ms.len() / 2], ms[ms.len() - 1]))
        })
        .collect())
}

/// Latest `FastLane.BatchIncluded` events read for the lanes view.
const LANE_EVENTS: i64 = 2_000;

/// Each area's fast lane as the indexed blocks show it: the latest included batch
/// (lane height, hash, block), batches and actions seen among the latest included
/// batches, and the lane's equivocation reports.
pub async fn lanes(pool: &AnyPool) -> Result<Value> {
    let batches = objects(
        pool,
        "SELECT * FROM events WHERE pallet = 'FastLane' AND name = 'BatchIncluded' \
         ORDER BY block_number DESC, idx DESC LIMIT $1",
        &[json!(LANE_EVENTS)],
        &EVENT_COLS,
    )
    .await?;
    let mut lanes: std::collections::BTreeMap<i64, Value> = std::collections::BTreeMap::new();
    for batch in &batches {
        let fields = &batch["fields"];
        let Some(area) = fields["area"].as_i64() else {
            continue;
        };
        let count = fields["count"].as_i64().unwrap_or(0);
        let lane = lanes.entry(area).or_insert_with(|| {
            json!({
                "area": area,
                "height": fields["height"].clone(),
                "lastBatch": fields["hash"].clone(),
                "lastBlock": batch["blockNumber"].clone(),
                "batches": 0,
                "actions": 0,
            })
        });
        lane["batches"] = json!(lane["batches"].as_i64().unwrap_or(0) + 1);
        lane["actions"] = json!(lane["actions"].as_i64().unwrap_or(0) + count);
    }
    for (area, (p50, max)) in lane_inclusion_latency(pool).await? {
        if let Some(lane) = lanes.get_mut(&area) {
            lane["inclusionP50Ms"] = json!(p50);
            lane["inclusionMaxMs"] = json!(max);
        }
    }
    let reports = objects(
        pool,
        "SELECT * FROM events WHERE pallet = 'FastLane' AND name IN \
         ('EquivocationReported', 'ReceiptBroken', 'LaneEnded') \
         ORDER BY block_number DESC, idx DESC LIMIT 100",
        &[],
        &EVENT_COLS,
    )
    .await?;
    Ok(json!({ "lanes": lanes.into_values().collect::<Vec<_>>(), "reports": reports }))
}
