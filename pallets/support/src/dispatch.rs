//! Origins, dispatch errors and the pallet error convention.

use arceon_primitives::AccountId32;
use codec::{Decode, Encode};

/// Who is dispatching a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The chain itself (sudo, governance, genesis).
    Root,
    /// A signed transaction from this account.
    Signed(AccountId32),
    /// An unsigned extrinsic (inherent or validated unsigned report).
    None,
}

/// A dispatch's outcome.
pub type DispatchResult = Result<(), DispatchError>;

/// Why a dispatch failed. Encodes as Substrate's `DispatchError` (the `Other` message and
/// the module error's name are not encoded, as in Substrate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// Some other error (index 0).
    #[error("{0}")]
    Other(&'static str),
    /// An address could not be resolved (index 1).
    #[error("cannot look up the address")]
    CannotLookup,
    /// The origin is not allowed to do this (index 2).
    #[error("bad origin")]
    BadOrigin,
    /// A pallet's own error (index 3).
    #[error("{0}")]
    Module(ModuleError),
    /// The account still has consumers and cannot be removed (index 4).
    #[error("account has consumers remaining")]
    ConsumerRemaining,
    /// The account has no providers (index 5).
    #[error("account has no providers")]
    NoProviders,
    /// Too many consumers (index 6).
    #[error("too many consumers")]
    TooManyConsumers,
    /// A token-level error (index 7).
    #[error("token error: {0:?}")]
    Token(TokenError),
    /// Arithmetic overflow or underflow (index 8).
    #[error("arithmetic error: {0:?}")]
    Arithmetic(ArithmeticError),
    /// Resources exhausted (index 10).
    #[error("resources exhausted")]
    Exhausted,
    /// State corruption detected (index 11).
    #[error("state is corrupt")]
    Corruption,
}

impl Encode for DispatchError {
    fn encode_to<T: codec::Output + ?Sized>(&self, dest: &mut T) {
        match self {
            DispatchError::Other(_) => dest.push_byte(0),
            DispatchError::CannotLookup => dest.push_byte(1),
            DispatchError::BadOrigin => dest.push_byte(2),
            DispatchError::Module(m) => {
                dest.push_byte(3);
                dest.push_byte(m.index);
                dest.write(&[m.error, 0, 0, 0]);
            }
            DispatchError::ConsumerRemaining => dest.push_byte(4),
            DispatchError::NoProviders => dest.push_byte(5),
            DispatchError::TooManyConsumers => dest.push_byte(6),
            DispatchError::Token(t) => {
                dest.push_byte(7);
                t.encode_to(dest);
            }
            DispatchError::Arithmetic(a) => {
                dest.push_byte(8);
                a.encode_to(dest);
            }
            DispatchError::Exhausted => dest.push_byte(10),
            DispatchError::Corruption => dest.push_byte(11),
        }
    }
}

impl Decode for DispatchError {
    fn decode<I: codec::Input>(input: &mut I) -> Result<Self, codec::Error> {
        Ok(match input.read_byte()? {
            0 => DispatchError::Other(""),
            1 => DispatchError::CannotLookup,
            2 => DispatchError::BadOrigin,
            3 => {
                let index = input.read_byte()?;
                let mut error = [0u8; 4];
                input.read(&mut error)?;
                DispatchError::Module(ModuleError {
                    index,
                    error: error[0],
                    name: "",
                })
            }
            4 => DispatchError::ConsumerRemaining,
            5 => DispatchError::NoProviders,
            6 => DispatchError::TooManyConsumers,
            7 => DispatchError::Token(TokenError::decode(input)?),
            8 => DispatchError::Arithmetic(ArithmeticError::decode(input)?),
            10 => DispatchError::Exhausted,
            11 => DispatchError::Corruption,
            _ => return Err("DispatchError variant unknown to Arceon".into()),
        })
    }
}

/// A pallet error: which pallet, which variant, and its name (not encoded, so a decoded
/// error has an empty name and equality ignores it).
#[derive(Debug, Clone, Copy, Eq)]
pub struct ModuleError {
    /// The pallet index in the runtime.
    pub index: u8,
    /// The variant index in the pallet's error enum.
    pub error: u8,
    /// The variant name, for humans.
    pub name: &'static str,
}

impl PartialEq for ModuleError {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.error == other.error
    }
}

impl ModuleError {
    /// The module error for a pallet error value.
    pub fn of<E: PalletError>(error: &E) -> Self {
        ModuleError {
            index: E::PALLET_INDEX,
            error: error.error_index(),
            name: error.name(),
        }
    }
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (pallet {}, error {})",
            self.name, self.index, self.error
        )
    }
}

/// Implemented by each pallet's error enum (see [`crate::pallet_error!`]).
pub trait PalletError: Copy {
    /// The pallet's fixed index in the runtime.
    const PALLET_INDEX: u8;
    /// The variant's index.
    fn error_index(&self) -> u8;
    /// The variant's name.
    fn name(&self) -> &'static str;
}

/// Token errors, as Substrate's `TokenError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum TokenError {
    /// Funds are unavailable (index 0).
    FundsUnavailable,
    /// Some part of the balance gives the only provider reference (index 1).
    OnlyProvider,
    /// Below the existential deposit (index 2).
    BelowMinimum,
    /// The account cannot be created (index 3).
    CannotCreate,
    /// The asset is unknown (index 4).
    UnknownAsset,
    /// Funds exist but are frozen (index 5).
    Frozen,
}

/// Arithmetic errors, as Substrate's `ArithmeticError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum ArithmeticError {
    /// Underflow (index 0).
    Underflow,
    /// Overflow (index 1).
    Overflow,
    /// Division by zero (index 2).
    DivisionByZero,
}

/// The signer of a signed origin, or `BadOrigin`.
pub fn ensure_signed(origin: Origin) -> Result<AccountId32, DispatchError> {
    match origin {
        Origin::Signed(who) => Ok(who),
        _ => Err(DispatchError::BadOrigin),
    }
}

/// `Ok` for the root origin, `BadOrigin` otherwise.
pub fn ensure_root(origin: Origin) -> Result<(), DispatchError> {
    match origin {
        Origin::Root => Ok(()),
        _ => Err(DispatchError::BadOrigin),
    }
}

/// `Ok` for the none origin, `BadOrigin` otherwise.
pub fn ensure_none(origin: Origin) -> Result<(), DispatchError> {
    match origin {
        Origin::None => Ok(()),
        _ => Err(DispatchError::BadOrigin),
    }
}
