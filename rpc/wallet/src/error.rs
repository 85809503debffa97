//! The wallet's typed errors: each says what went wrong in words a player can act on.

use arceon_primitives::Balance;

use crate::amount::{format_arcm, AmountError};

/// Everything that can go wrong between the wallet and the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The node could not be reached (refused, unresolvable, timed out, or the connection
    /// dropped).
    #[error("cannot reach the node at {url}: is arceon-node running? ({reason})")]
    NodeUnreachable {
        /// The URL the wallet tried.
        url: String,
        /// What the transport reported.
        reason: String,
    },
    /// The URL is not a WebSocket (or HTTP, on the same port) URL the wallet can use.
    #[error("bad node URL `{url}`: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The node answered a call with a JSON-RPC error; this is its message.
    #[error("the node rejected the request: {0}")]
    Rpc(String),
    /// The node answered with something the wallet cannot interpret (wrong JSON shape,
    /// undecodable SCALE bytes).
    #[error("unexpected answer from the node: {0}")]
    BadResponse(String),
    /// An address is neither an SS58 address with prefix 42 nor a `0x` 32-byte hex key.
    #[error("bad address: {0}")]
    BadAddress(String),
    /// The secret URI is neither `//Name`, a mnemonic phrase nor a `0x` hex seed.
    #[error("bad secret URI: {0}")]
    BadSuri(String),
    /// An amount could not be parsed.
    #[error("bad amount: {0}")]
    BadAmount(AmountError),
    /// A command argument (coordinate, name, percentage) is out of range or malformed.
    #[error("bad argument: {0}")]
    BadArgument(String),
    /// A raw extrinsic given by the user is not hex or not a well-formed extrinsic.
    #[error("bad extrinsic: {0}")]
    BadExtrinsic(String),
    /// The sender's spendable balance does not cover the amount, tip and fee (checked
    /// before submitting, so nothing was sent).
    #[error(
        "insufficient funds: the transfer needs {} (amount + tip + fee), the account can spend {}",
        format_arcm(*.needed),
        format_arcm(*.available)
    )]
    InsufficientFunds {
        /// Amount plus tip plus estimated fee, in plancks.
        needed: Balance,
        /// What the account can spend: free minus frozen (minus the existential deposit
        /// for keep-alive transfers), in plancks.
        available: Balance,
    },
    /// The recipient does not exist yet and the amount is below the existential deposit,
    /// so the runtime would refuse to create it (checked before submitting).
    #[error(
        "{} is below the existential deposit of {}: the recipient has no account yet, send at least that much",
        format_arcm(*.amount),
        format_arcm(*.minimum)
    )]
    BelowExistentialDeposit {
        /// The amount asked for, in plancks.
        amount: Balance,
        /// The existential deposit, in plancks.
        minimum: Balance,
    },
    /// The node runs a runtime whose call encoding this wallet was not built for.
    #[error(
        "the node runs transaction version {node}, this wallet was built for {wallet}: use a matching arceon-wallet"
    )]
    IncompatibleRuntime {
        /// The node's `transactionVersion`.
        node: u32,
        /// The wallet's compiled-in `TRANSACTION_VERSION`.
        wallet: u32,
    },
    /// The node reported the transaction invalid, dropped or usurped; it will not be
    /// included.
    #[error("transaction not included: {0}")]
    Invalid(String),
    /// The transaction was included but its call failed (fee paid, nonce used). The
    /// message names the dispatch error, e.g. `Balances.InsufficientBalance`.
    #[error("transaction failed in block {block}: {error}")]
    DispatchFailed {
        /// The block it was included in, as `0x` hex.
        block: String,
        /// The rendered dispatch error.
        error: String,
    },
    /// The node's metadata cannot be read, or a call cannot be built from it.
    #[error("{0}")]
    Metadata(Box<crate::meta::MetaError>),
    /// A signing command got no secret and the chain is not a development chain, where
    /// `//Alice` would be the default.
    #[error(
        "no signing key given and the node's chain is {chain_type}, not Development or Local \
         (where //Alice is the default): pass --suri-file PATH, set ARCEON_SURI, or pass \
         --suri SECRET (or run in a terminal to be asked for it)"
    )]
    NoSecret {
        /// The node's `system_chainType`.
        chain_type: String,
    },
    /// A connection, request or wait did not finish in time.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl From<AmountError> for WalletError {
    fn from(error: AmountError) -> Self {
        // Not a `#[source]`: the message already includes it, and error reporters that
        // print source chains would repeat it.
        WalletError::BadAmount(error)
    }
}

impl From<crate::meta::MetaError> for WalletError {
    fn from(error: crate::meta::MetaError) -> Self {
        // Not a `#[source]`, for the same reason as amounts.
        WalletError::Metadata(Box::new(error))
    }
}
