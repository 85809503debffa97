//! `arceon-wallet`: the library and command-line wallet players use to hold and send ArcM
//! through any Arceon node's JSON-RPC (`ws://127.0.0.1:9944` by default), using only
//! Substrate's method names and shapes (`chain_*`, `state_*`, `system_*`, `author_*`,
//! `payment_queryInfo`), so it works against any node that speaks them.
//!
//! Invariants: a signature is always bound to the node's genesis hash, its runtime
//! `specVersion`/`transactionVersion` and the era checkpoint (genesis for immortal
//! transactions, the birth block's hash for mortal ones), and the wallet refuses to sign
//! for a `transactionVersion` it was not built for; a transfer is checked against the
//! sender's spendable balance, the node's fee estimate and the existential deposit
//! *before* it is submitted, so a refused transfer never costs a fee; amounts are handled
//! as integer plancks (12 decimals), never as floating point; secrets never appear in
//! errors or output. Events, dispatch errors and `tx` calls go through the node's runtime
//! metadata ([`meta`], [`scale`]); the runtime crates are used for the extrinsic format and
//! the typed game commands, never the node's database or client crates.
//!
//! # Library
//!
//! [`WalletClient::connect`] opens a WebSocket connection (an `http://` URL is dialled as
//! `ws://` on the same port, since the node serves both there). [`WalletClient`] reads
//! accounts, nonces, headers and the runtime version, signs transfers
//! ([`WalletClient::sign_transfer`]), submits and watches extrinsics
//! ([`WalletClient::submit`], [`WalletClient::submit_and_watch`], [`WalletClient::watch`])
//! and does the whole round trip in [`WalletClient::transfer_and_wait`], which returns a
//! [`TransferReport`] with the including block, the finalized block, the extrinsic's
//! events and its outcome. Errors are [`WalletError`].
//!
//! # Command-line output (stable)
//!
//! Every line is `keyword value...`, one fact per line, on stdout; errors go to stderr as
//! `error: <message>` with exit status 1 (2 for usage errors). Hashes are `0x` + 64 hex
//! digits, addresses SS58 (prefix 42), amounts `<whole>.<12 digits> ArcM`.
//!
//! `arceon-wallet balance [ADDRESS]`:
//! ```text
//! account 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
//! free 1000000.000000000000 ArcM
//! reserved 0.000000000000 ArcM
//! frozen 0.000000000000 ArcM
//! nonce 0
//! ```
//! (`nonce` is the on-chain nonce; `arceon-wallet nonce [ADDRESS]` prints only the next
//! nonce counting the pool, as a bare number.)
//!
//! `arceon-wallet transfer DEST AMOUNT` prints the extrinsic hash, then each status as it
//! comes (`future`, `ready`, `broadcast <n> peers`, `retracted <hash>`), and for the
//! including block `inBlock <hash>` followed by the extrinsic's events, each indented by
//! two spaces and rendered as in [`render::render_event`], then `finalized <hash>`:
//! ```text
//! extrinsic 0x3c1f...
//! fee 0.000125000000 ArcM
//! ready
//! inBlock 0x9a2b...
//!   Balances.Withdraw { who: 5Grw..., amount: 0.000125000000 ArcM }
//!   Balances.Transfer { from: 5Grw..., to: 5FHn..., amount: 1.500000000000 ArcM }
//!   TransactionPayment.TransactionFeePaid { who: 5Grw..., actual_fee: 0.000125000000 ArcM, tip: 0.000000000000 ArcM }
//!   System.ExtrinsicSuccess { dispatch_info: { weight: { ref_time: 55000000, proof_size: 3593 }, class: Normal, pays_fee: Yes } }
//! finalized 0x9a2b...
//! ```
//! With `--no-wait` only the `extrinsic` and `fee` lines are printed; with `--sign-only`
//! they are followed by `hex 0x...` (the signed extrinsic, for `submit`) and nothing is
//! submitted. `--until in-block` stops after the `inBlock` block. A transfer whose
//! call fails still prints its block and events, then exits 1 with
//! `error: transaction failed in block 0x...: Balances.InsufficientBalance`. `submit HEX`
//! prints the same lines as `transfer` (without `fee`).
//!
//! `arceon-wallet tx PALLET CALL '{"arg": value, ...}'` builds the call from the node's
//! metadata ([`meta::ChainMetadata::encode_call`], JSON shapes as in [`scale`]) and prints
//! the same lines as `transfer`. Events are rendered from the metadata as well
//! ([`render::render_event`]).
//!
//! With `--json` every command prints one JSON document on stdout instead (`watch`: one
//! per header), e.g. for a transaction `{"hash", "fee", "block", "finalized", "events":
//! [{"pallet", "event", "fields"}], "success", "error"}` with amounts as decimal planck
//! strings, and errors go to stderr as `{"error": "<message>"}` (exit status 1, 2 for
//! usage errors).
//!
//! `arceon-wallet watch [--count N]` prints `#<number> <hash>` for each new best header and
//! `#<number> <hash> finalized` for each finalized one. `arceon-wallet info` prints
//! `chain <name>`, `genesis <hash>`, `runtime <specName> <specVersion>`,
//! `transactionVersion <n>`, `best #<number> <hash>` and `finalized <hash>`.

pub mod amount;
pub mod client;
pub mod error;
pub mod keys;
pub mod lane;
pub mod meta;
pub mod render;
pub mod scale;
pub mod sign;
pub mod status;
pub mod world;

pub use amount::{format_arcm, format_decimal, parse_arcm, parse_planck, AmountError};
pub use client::{
    inclusion_from_records, parse_extrinsic_hex, websocket_url, ChainRuntimeVersion, HeaderStream,
    Inclusion, PreparedTransfer, TransferOptions, TransferReport, TxStatusStream, WaitFor,
    WalletClient, WatchUpdate, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};
pub use error::WalletError;
pub use keys::{account_of, pair_from_suri, parse_address};
pub use render::{render_dispatch_error, render_event};
pub use sign::{check_transfer_funds, sign_transfer_offline, transfer_call, SigningContext};
pub use status::TxStatus;

/// The node URL the wallet uses unless told otherwise.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:9944";
