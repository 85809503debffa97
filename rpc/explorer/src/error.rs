//! [`ExplorerError`]: everything that can go wrong in the explorer, one variant per cause,
//! so the binary can tell a bad `--database` URL (exit 1 at start) from a node that went
//! away (reconnect with backoff) from data it cannot decode (indexed, marked undecoded).

use thiserror::Error;

/// An error of the indexer, its database or its web server.
#[derive(Debug, Error)]
pub enum ExplorerError {
    /// The `--database` URL is not one the explorer can use.
    #[error("bad --database URL `{url}`: {reason}")]
    BadDatabaseUrl {
        /// The URL as given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The database refused a query or could not be reached.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema migrations failed.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database indexes another chain than the node serves.
    #[error("the database indexes the chain with genesis {indexed}, but the node serves genesis {node}: use another --database")]
    WrongChain {
        /// The genesis hash recorded in the database.
        indexed: String,
        /// The node's genesis hash.
        node: String,
    },
    /// The node could not be reached or answered with an error.
    #[error("node: {0}")]
    Node(String),
    /// The `--node` URL cannot be dialled (not ws:// or http://).
    #[error("bad --node URL: {0}")]
    BadNodeUrl(String),
    /// The node answered a request with an error (e.g. no state for an old block).
    #[error("node refused a request: {0}")]
    NodeAnswer(String),
    /// The node sent something the explorer cannot understand.
    #[error("bad answer from the node: {0}")]
    BadResponse(String),
    /// The database holds a value the explorer did not write (it was changed by hand).
    #[error("corrupt database row: {0}")]
    CorruptRow(String),
    /// The HTTP server could not start.
    #[error("http server: {0}")]
    Http(String),
}

impl From<arceon_wallet::WalletError> for ExplorerError {
    fn from(error: arceon_wallet::WalletError) -> Self {
        match error {
            arceon_wallet::WalletError::Rpc(message) => ExplorerError::NodeAnswer(message),
            arceon_wallet::WalletError::BadUrl { .. } => {
                ExplorerError::BadNodeUrl(error.to_string())
            }
            other => ExplorerError::Node(other.to_string()),
        }
    }
}

/// The explorer's result type.
pub type Result<T, E = ExplorerError> = std::result::Result<T, E>;
