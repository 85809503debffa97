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

type Tx = Transaction<'static, sqlx::Any>;

async fn insert_block(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    sqlx::query(
        "INSERT INTO blocks (number, hash, parent_hash, state_root, extrinsics_root, slot, \
         timestamp_ms, author, extrinsic_count, event_count, events_decoded) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(i64::from(b.number))
    .bind(b.hash.clone())
    .bind(b.parent_hash.clone())
    .bind(b.state_root.clone())
    .bind(b.extrinsics_root.clone())
    .bind(b.slot.map(int))
    .bind(b.timestamp_ms.map(int))
    .bind(b.author.clone())
    .bind(int(b.content.extrinsics.len()))
    .bind(int(b.content.events.len()))
    .bind(bool_int(b.content.events_decoded))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_extrinsics(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    for x in &b.content.extrinsics {
        sqlx::query(
            "INSERT INTO extrinsics (block_number, idx, hash, signer, nonce, tip, pallet, call, \
             args, decoded, success, error, fee, size) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(i64::from(b.number))
        .bind(i64::from(x.index))
        .bind(x.hash.clone())
        .bind(x.signer.clone())
        .bind(x.nonce.map(int))
        .bind(x.tip.clone())
        .bind(x.pallet.clone())
        .bind(x.call.clone())
        .bind(x.args.to_string())
        .bind(bool_int(x.decoded))
        .bind(x.success.map(bool_int))
        .bind(x.error.clone())
        .bind(x.fee.clone())
        .bind(int(x.size))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_events(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    for e in &b.content.events {
        sqlx::query(
            "INSERT INTO events (block_number, idx, extrinsic_idx, pallet, name, fields) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i64::from(b.number))
        .bind(i64::from(e.index))
        .bind(e.extrinsic.map(i64::from))
        .bind(e.pallet.clone())
        .bind(e.name.clone())
        .bind(e.fields.to_string())
        .execute(&mut **tx)
        .await?;
    }
    for t in &b.content.transfers {
        sqlx::query(
            "INSERT INTO transfers (block_number, event_idx, extrinsic_idx, from_account, \
             to_account, amount) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i64::from(b.number))
        .bind(i64::from(t.event_index))
        .bind(t.extrinsic.map(i64::from))
        .bind(t.from.clone())
        .bind(t.to.clone())
        .bind(t.amount.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn upsert_accounts(tx: &mut Tx, b: &FetchedBlock) -> Result<()> {
    for a in &b.accounts {
        sqlx::query(
            "INSERT INTO accounts (address, free, reserved, frozen, nonce, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (address) DO UPDATE SET free = excluded.free, \
             reserved = excluded.reserved, frozen = excluded.frozen, nonce = excluded.nonce, \
             updated_at = excluded.updated_at",
        )
        .bind(a.address.clone())
        .bind(a.free.clone())
        .bind(a.reserved.clone())
        .bind(a.frozen.clone())
        .bind(int(a.nonce))
        .bind(i64::from(b.number))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
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
