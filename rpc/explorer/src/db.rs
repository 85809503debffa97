//! The index database: SQLite (the default, one file) or PostgreSQL, through sqlx's `Any`
//! driver and one portable schema (`migrations/`). [`Db::store_block`] writes a block and
//! everything derived from it in ONE transaction, so the highest block row always comes
//! with all its data: a killed indexer resumes at `highest + 1` with no gap and no
//! duplicate.

use std::borrow::Cow;
use std::str::FromStr;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection, Row, Transaction};

use crate::error::{ExplorerError, Result};
use crate::node::FetchedBlock;
use crate::world::WorldSnapshot;

/// The schema, embedded so the binary needs no files beside it.
const SCHEMA: &str = include_str!("../migrations/0001_schema.sql");

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite://explorer.db";

/// How long connecting to the database may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Engine {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// Checks a `--database` URL and returns its engine and the URL to connect with (a
/// SQLite file is created when missing).
pub fn parse_url(url: &str) -> Result<(Engine, String)> {
    let bad = |reason: &str| ExplorerError::BadDatabaseUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        if path.is_empty() || path.starts_with('?') {
            return Err(bad("no file name: use sqlite://explorer.db"));
        }
        let full = if rest.contains("mode=") || path == ":memory:" {
            url.to_string()
        } else if rest.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        return Ok((Engine::Sqlite, full));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| bad(&e.to_string()))?;
        return Ok((Engine::Postgres, url.to_string()));
    }
    Err(bad(
        "use sqlite://FILE (the default is sqlite://explorer.db) or postgres://USER@HOST/DB",
    ))
}

fn migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![Migration::new(
            1,
            Cow::Borrowed("schema"),
            MigrationType::Simple,
            Cow::Borrowed(SCHEMA),
            false,
        )]),
        ..Migrator::DEFAULT
    }
}

/// A connection pool to the index.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
}

fn bool_int(value: bool) -> i64 {
    i64::from(value)
}

fn int<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

impl Db {
    /// Connects to `url`, creating the schema (migrations) when needed.
    pub async fn open(url: &str) -> Result<Db> {
        let (engine, full) = parse_url(url)?;
        sqlx::any::install_default_drivers();
        // One connection first, so an unreachable server or a refused login is reported
        // as such (a pool would only say that it timed out).
        let bad = |reason: String| ExplorerError::BadDatabaseUrl {
            url: url.to_string(),
            reason,
        };
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect(&full))
            .await
            .map_err(|_| bad(format!("no answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| bad(e.to_string()))?;
        probe.close().await.map_err(|e| bad(e.to_string()))?;
        let connections = match engine {
            Engine::Sqlite => 4,
            Engine::Postgres => 8,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect(&full)
            .await
            .map_err(|e| bad(e.to_string()))?;
        if engine == Engine::Sqlite {
            // Readers (the web server) do not block the writer and vice versa.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
        }
        migrator().run(&pool).await?;
        Ok(Db { pool, engine })
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The highest indexed block, `None` for an empty index.
    pub async fn highest(&self) -> Result<Option<u32>> {
        let row = sqlx::query("SELECT MAX(number) AS n FROM blocks")
            .fetch_one(&self.pool)
            .await?;
        let n: Option<i64> = row.try_get("n")?;
        n.map(|n| {
            u32::try_from(n).map_err(|_| ExplorerError::CorruptRow(format!("block number {n}")))
        })
        .transpose()
    }

    /// The genesis hash the index was built from; records `genesis` on first use, and
    /// refuses a database built from another chain.
    pub async fn check_genesis(&self, genesis: &str) -> Result<()> {
        let row: Option<AnyRow> = sqlx::query("SELECT value FROM chain_meta WHERE key = 'genesis'")
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let indexed: String = row.try_get("value")?;
                if indexed != genesis {
                    return Err(ExplorerError::WrongChain {
                        indexed,
                        node: genesis.to_string(),
                    });
                }
                Ok(())
            }
            None => {
                sqlx::query("INSERT INTO chain_meta (key, value) VALUES ('genesis', $1)")
                    .bind(genesis.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    }

    /// Writes `block` (and `world`, the world as of that block, when given) in one
    /// transaction.
    pub async fn store_block(
        &self,
        block: &FetchedBlock,
        world: Option<&WorldSnapshot>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_block(&mut tx, block).await?;
        insert_extrinsics(&mut tx, block).await?;
        insert_events(&mut tx, block).await?;
        upsert_accounts(&mut tx, block).await?;
        if let Some(world) = world {
            crate::db_world::replace_world(&mut tx, world).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) type Tx = Transaction<'static, sqlx::Any>;

/// One value to bind.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    /// An integer (or NULL).
    Int(Option<i64>),
    /// A text (or NULL).
    Text(Option<String>),
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(Some(v))
    }
}

impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Self {
        Cell::Int(v)
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(Some(v))
    }
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Self {
        Cell::Text(v)
    }
}

/// Most parameters in one statement (SQLite's historical limit is 999).
const MAX_PARAMS: usize = 900;

/// Inserts `rows` into `table` with multi-row statements; `tail` follows the VALUES
/// (e.g. an `ON CONFLICT` clause).
pub(crate) async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Cell>>,
    tail: &str,
) -> Result<()> {
    let per_statement = (MAX_PARAMS / cols.len().max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Cell>> = rows.by_ref().take(per_statement).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..row.len() {
                n += 1;
                sql.push_str(&format!("{}${n}", if j == 0 { "" } else { ", " }));
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(tail);
        let mut query = sqlx::query(&sql);
        for cell in chunk.into_iter().flatten() {
            query = match cell {
                Cell::Int(v) => query.bind(v),
                Cell::Text(v) => query.bind(v),
            };
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_block(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    let row: Vec<Cell> = vec![
        i64::from(b.number).into(),
        b.hash.clone().into(),
        b.parent_hash.clone().into(),
        b.state_root.clone().into(),
        b.extrinsics_root.clone().into(),
        b.slot.map(int).into(),
        b.timestamp_ms.map(int).into(),
        b.author.clone().into(),
        int(b.content.extrinsics.len()).into(),
        int(b.content.events.len()).into(),
        bool_int(b.content.events_decoded).into(),
    ];
    let cols = [
        "number",
        "hash",
        "parent_hash",
        "state_root",
        "extrinsics_root",
        "slot",
        "timestamp_ms",
        "author",
        "extrinsic_count",
        "event_count",
        "events_decoded",
    ];
    insert_rows(tx, "blocks", &cols, vec![row], "").await
}

async fn insert_extrinsics(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    let number = i64::from(b.number);
    let rows = b
        .content
        .extrinsics
        .iter()
        .map(|x| {
            vec![
                number.into(),
                i64::from(x.index).into(),
                x.hash.clone().into(),
                x.signer.clone().into(),
                x.nonce.map(int).into(),
                x.tip.clone().into(),
                x.pallet.clone().into(),
                x.call.clone().into(),
                x.args.to_string().into(),
                bool_int(x.decoded).into(),
                x.success.map(bool_int).into(),
                x.error.clone().into(),
                x.fee.clone().into(),
                int(x.size).into(),
            ]
        })
        .collect();
    let cols = [
        "block_number",
        "idx",
        "hash",
        "signer",
        "nonce",
        "tip",
        "pallet",
        "call",
        "args",
        "decoded",
        "success",
        "error",
        "fee",
        "size",
    ];
    insert_rows(tx, "extrinsics", &cols, rows, "").await
}

async fn insert_events(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    let number = i64::from(b.number);
    let events = b
        .content
        .events
        .iter()
        .map(|e| {
            vec![
                number.into(),
                i64::from(e.index).into(),
                e.extrinsic.map(i64::from).into(),
                e.pallet.clone().into(),
                e.name.clone().into(),
                e.fields.to_string().into(),
            ]
        })
        .collect();
    let cols = [
        "block_number",
        "idx",
        "extrinsic_idx",
        "pallet",
        "name",
        "fields",
    ];
    insert_rows(tx, "events", &cols, events, "").await?;
    let transfers = b
        .content
        .transfers
        .iter()
        .map(|t| {
            vec![
                number.into(),
                i64::from(t.event_index).into(),
                t.extrinsic.map(i64::from).into(),
                t.from.clone().into(),
                t.to.clone().into(),
                t.amount.clone().into(),
            ]
        })
        .collect();
    let cols = [
        "block_number",
        "event_idx",
        "extrinsic_idx",
        "from_account",
        "to_account",
        "amount",
    ];
    insert_rows(tx, "transfers", &cols, transfers, "").await
}

async fn upsert_accounts(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    let rows = b
        .accounts
        .iter()
        .map(|a| {
            vec![
                a.address.clone().into(),
                a.free.clone().into(),
                a.reserved.clone().into(),
                a.frozen.clone().into(),
                int(a.nonce).into(),
                i64::from(b.number).into(),
            ]
        })
        .collect();
    let cols = [
        "address",
        "free",
        "reserved",
        "frozen",
        "nonce",
        "updated_at",
    ];
    insert_rows(
        tx,
        "accounts",
        &cols,
        rows,
        "ON CONFLICT (address) DO UPDATE SET free = excluded.free, \
         reserved = excluded.reserved, frozen = excluded.frozen, nonce = excluded.nonce, \
         updated_at = excluded.updated_at",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_checked_before_connecting() {
        assert_eq!(
            parse_url("sqlite://explorer.db").ok(),
            Some((Engine::Sqlite, "sqlite://explorer.db?mode=rwc".into()))
        );
        assert!(matches!(
            parse_url("mysql://x/y"),
            Err(ExplorerError::BadDatabaseUrl { .. })
        ));
        assert!(matches!(
            parse_url("explorer.db"),
            Err(ExplorerError::BadDatabaseUrl { .. })
        ));
        assert!(matches!(
            parse_url("sqlite://"),
            Err(ExplorerError::BadDatabaseUrl { .. })
        ));
        assert!(matches!(
            parse_url("postgres://u@h:notaport/db"),
            Err(ExplorerError::BadDatabaseUrl { .. })
        ));
    }
}
