//! Transaction validity, as Substrate's `sp_runtime::transaction_validity`: what the
//! runtime tells the pool about a transaction, and why one is refused. Encodings match
//! Substrate's so `TaggedTransactionQueue_validate_transaction` answers decode in any
//! Substrate tool.

use codec::{Decode, Encode};

/// A tag a transaction requires or provides (Arceon uses `(account, nonce)`).
pub type TransactionTag = Vec<u8>;

/// Where a transaction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum TransactionSource {
    /// Already in a block being imported.
    InBlock,
    /// Submitted by this node's own RPC or authoring.
    Local,
    /// Received from the network.
    External,
}

/// Why a transaction can never be valid on this chain state (Substrate's indices).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, thiserror::Error, scale_info::TypeInfo,
)]
pub enum InvalidTransaction {
    /// The call is unknown or cannot be decoded (unknown pallet or call index).
    #[error("invalid call: unknown pallet or call index, or undecodable arguments")]
    Call,
    /// The sender cannot pay the fee.
    #[error("inability to pay some fees (e.g. account balance too low)")]
    Payment,
    /// The nonce is ahead of the account's: valid later, once the gap is filled.
    #[error("transaction will be valid in the future (nonce too high)")]
    Future,
    /// The nonce was already used.
    #[error("transaction is outdated (nonce already used)")]
    Stale,
    /// The signature does not verify (wrong key, or signed for another chain, fork,
    /// era or runtime version).
    #[error("invalid transaction proof: bad signature, or signed for another chain")]
    BadProof,
    /// The mortal era's birth block is not in this chain's history.
    #[error("the transaction's birth block is ancient or unknown")]
    AncientBirthBlock,
    /// The transaction would exhaust the block's weight or length limits.
    #[error("transaction would exhaust the block limits")]
    ExhaustsResources,
    /// A runtime-specific reason.
    #[error("custom invalidity: {0}")]
    Custom(u8),
    /// An inherent failed.
    #[error("a mandatory dispatch failed")]
    BadMandatory,
    /// A mandatory transaction was submitted to the pool.
    #[error("mandatory dispatches cannot be submitted as transactions")]
    MandatoryValidation,
    /// The signer is not allowed.
    #[error("the sending address is disabled or unknown")]
    BadSigner,
}

/// Why a transaction's validity cannot be decided (Substrate's indices).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, thiserror::Error, scale_info::TypeInfo,
)]
pub enum UnknownTransaction {
    /// The sender's address cannot be resolved.
    #[error("could not look up the sender's address")]
    CannotLookup,
    /// No validator accepts this unsigned transaction.
    #[error("no unsigned validator for this call")]
    NoUnsignedValidator,
    /// A runtime-specific reason.
    #[error("custom unknown validity: {0}")]
    Custom(u8),
}

/// A refused transaction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, thiserror::Error, scale_info::TypeInfo,
)]
pub enum TransactionValidityError {
    /// It can never be valid.
    #[error("invalid transaction: {0}")]
    Invalid(InvalidTransaction),
    /// Its validity cannot be decided.
    #[error("unknown transaction validity: {0}")]
    Unknown(UnknownTransaction),
}

impl From<InvalidTransaction> for TransactionValidityError {
    fn from(error: InvalidTransaction) -> Self {
        TransactionValidityError::Invalid(error)
    }
}

impl From<UnknownTransaction> for TransactionValidityError {
    fn from(error: UnknownTransaction) -> Self {
        TransactionValidityError::Unknown(error)
    }
}

/// How the pool should treat a valid transaction, as Substrate's `ValidTransaction`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ValidTransaction {
    /// Higher goes first (Arceon: the tip).
    pub priority: u64,
    /// Tags that must be provided by earlier transactions (the sender's previous nonce).
    pub requires: Vec<TransactionTag>,
    /// Tags this transaction provides (the sender's nonce).
    pub provides: Vec<TransactionTag>,
    /// Blocks for which it stays valid (until its era ends).
    pub longevity: u64,
    /// Whether to gossip it.
    pub propagate: bool,
}

/// The runtime's verdict on a transaction.
pub type TransactionValidity = Result<ValidTransaction, TransactionValidityError>;
