//! Transaction fees: `base + per_byte * length + per_weight * weight`, plus the optional
//! tip that buys priority. The sender pays before dispatch, whether or not the call then
//! succeeds; the block author receives fee and tip.

use arceon_primitives::{AccountId32, Balance, ARCM};
use arceon_support::Weight;
use codec::{Decode, Encode};

/// Fee charged for every transaction: 0.001 ArcM.
pub const BASE_FEE: Balance = ARCM / 1_000;
/// Fee per byte of the encoded extrinsic: 0.000001 ArcM.
pub const BYTE_FEE: Balance = ARCM / 1_000_000;
/// Picoseconds of reference time bought by one planck (1e-12 ArcM).
pub const REF_TIME_PER_PLANCK: u64 = 10;

/// The fee of a transaction, split as Substrate's `FeeDetails` inclusion fee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct InclusionFee {
    /// The fixed part.
    pub base_fee: Balance,
    /// The length part.
    pub len_fee: Balance,
    /// The weight part.
    pub adjusted_weight_fee: Balance,
}

impl InclusionFee {
    /// The whole fee (without the tip).
    pub fn total(&self) -> Balance {
        self.base_fee
            .saturating_add(self.len_fee)
            .saturating_add(self.adjusted_weight_fee)
    }
}

/// The fee of an extrinsic of `len` bytes and `weight`.
pub fn compute_fee(len: u32, weight: Weight) -> InclusionFee {
    InclusionFee {
        base_fee: BASE_FEE,
        len_fee: BYTE_FEE.saturating_mul(len as Balance),
        adjusted_weight_fee: (weight.ref_time / REF_TIME_PER_PLANCK) as Balance,
    }
}

/// Transaction payment events, with Substrate's indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// A transaction fee (including the tip) was paid by `who`.
    #[codec(index = 0)]
    TransactionFeePaid {
        /// The payer.
        who: AccountId32,
        /// Fee plus tip.
        actual_fee: Balance,
        /// The tip.
        tip: Balance,
    },
}

/// `payment_queryInfo`'s answer, as Substrate's `RuntimeDispatchInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct RuntimeDispatchInfo {
    /// The weight of the extrinsic.
    pub weight: Weight,
    /// Its class.
    pub class: arceon_support::DispatchClass,
    /// The fee it would pay (without the tip).
    pub partial_fee: Balance,
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![
        arceon_support::metadata::constant(
            "BaseFee",
            &(BASE_FEE),
            &["The fee every extrinsic pays."],
        ),
        arceon_support::metadata::constant(
            "ByteFee",
            &(BYTE_FEE),
            &["The fee per byte of an extrinsic."],
        ),
    ]
}
