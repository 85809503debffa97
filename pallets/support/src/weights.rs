//! Weights (Substrate's two-dimensional `Weight`) and dispatch information.

use codec::{Decode, Encode};

/// Execution cost: reference time in picoseconds and proof size in bytes, compact-encoded
/// as Substrate's `Weight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Weight {
    /// Computation time on reference hardware, in picoseconds.
    #[codec(compact)]
    pub ref_time: u64,
    /// Storage proof size, in bytes.
    #[codec(compact)]
    pub proof_size: u64,
}

impl Weight {
    /// No cost.
    pub const ZERO: Weight = Weight {
        ref_time: 0,
        proof_size: 0,
    };

    /// A weight from its two parts.
    pub const fn from_parts(ref_time: u64, proof_size: u64) -> Weight {
        Weight {
            ref_time,
            proof_size,
        }
    }

    /// Componentwise saturating sum.
    pub fn saturating_add(self, other: Weight) -> Weight {
        Weight {
            ref_time: self.ref_time.saturating_add(other.ref_time),
            proof_size: self.proof_size.saturating_add(other.proof_size),
        }
    }

    /// Componentwise saturating multiple.
    pub fn saturating_mul(self, times: u64) -> Weight {
        Weight {
            ref_time: self.ref_time.saturating_mul(times),
            proof_size: self.proof_size.saturating_mul(times),
        }
    }

    /// Whether either component exceeds `limit`'s.
    pub fn any_gt(self, limit: Weight) -> bool {
        self.ref_time > limit.ref_time || self.proof_size > limit.proof_size
    }
}

/// Substrate's dispatch classes.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Encode,
    Decode,
    serde::Serialize,
    scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase")]
pub enum DispatchClass {
    /// Ordinary transactions (index 0).
    #[default]
    Normal,
    /// Operational transactions (index 1).
    Operational,
    /// Inherents and hooks (index 2).
    Mandatory,
}

/// Whether a dispatch pays its fee.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Encode,
    Decode,
    serde::Serialize,
    scale_info::TypeInfo,
)]
pub enum Pays {
    /// Pays (index 0).
    #[default]
    Yes,
    /// Free (index 1).
    No,
}

/// What a call costs, as Substrate's `DispatchInfo` (the field in `ExtrinsicSuccess`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Encode,
    Decode,
    serde::Serialize,
    scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase")]
pub struct DispatchInfo {
    /// Declared weight.
    pub weight: Weight,
    /// Class.
    pub class: DispatchClass,
    /// Fee liability.
    pub pays_fee: Pays,
}
