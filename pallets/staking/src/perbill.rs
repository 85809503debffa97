//! Parts per billion (commissions, slash fractions, reputation scores) and the exact
//! integer arithmetic that splits balances by ratios. No floats anywhere: every node
//! must compute the same payouts and slashes bit for bit.

use codec::{Decode, Encode, Input};

/// A fraction in `[0, 1]` with a resolution of one billionth. SCALE-encoded as its `u32`
/// parts, serialized to JSON as that number; decoding anything above one billion fails.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    serde::Serialize,
    serde::Deserialize,
    scale_info::TypeInfo,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct Perbill(u32);

/// A `u32` above one billion offered as a [`Perbill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} parts per billion is more than one")]
pub struct PerbillOutOfRange(pub u32);

impl Perbill {
    /// Parts in one.
    pub const ACCURACY: u32 = 1_000_000_000;

    /// Nothing.
    pub const fn zero() -> Self {
        Perbill(0)
    }

    /// The whole.
    pub const fn one() -> Self {
        Perbill(Self::ACCURACY)
    }

    /// `parts` billionths, capped at one.
    pub const fn from_parts(parts: u32) -> Self {
        if parts > Self::ACCURACY {
            Perbill(Self::ACCURACY)
        } else {
            Perbill(parts)
        }
    }

    /// `percent` hundredths, capped at one.
    pub const fn from_percent(percent: u32) -> Self {
        Self::from_parts(percent.saturating_mul(Self::ACCURACY / 100))
    }

    /// The parts per billion.
    pub const fn deconstruct(self) -> u32 {
        self.0
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `numerator / denominator`, rounded down and capped at one (a zero denominator
    /// gives one: nothing was expected, so whatever happened is all of it).
    pub fn from_rational(numerator: u128, denominator: u128) -> Self {
        if numerator >= denominator {
            return Self::one();
        }
        let parts = multiply_by_rational(numerator, u128::from(Self::ACCURACY), denominator);
        // numerator < denominator, so parts < ACCURACY and fits.
        Perbill(u32::try_from(parts).unwrap_or(Self::ACCURACY))
    }

    /// `self * value`, rounded down.
    pub fn mul_floor(self, value: u128) -> u128 {
        let accuracy = u128::from(Self::ACCURACY);
        let parts = u128::from(self.0);
        // Split so that neither product can overflow: parts <= accuracy.
        (value / accuracy) * parts + (value % accuracy) * parts / accuracy
    }

    /// The sum, capped at one.
    pub fn saturating_add(self, other: Perbill) -> Perbill {
        Self::from_parts(self.0.saturating_add(other.0))
    }

    /// The difference, floored at zero.
    pub fn saturating_sub(self, other: Perbill) -> Perbill {
        Perbill(self.0.saturating_sub(other.0))
    }

    /// `self * times`, capped at one.
    pub fn saturating_mul_int(self, times: u32) -> Perbill {
        Self::from_parts(
            u32::try_from(u64::from(self.0).saturating_mul(u64::from(times))).unwrap_or(u32::MAX),
        )
    }
}

impl Decode for Perbill {
    fn decode<I: Input>(input: &mut I) -> Result<Self, codec::Error> {
        let parts = u32::decode(input)?;
        Perbill::try_from(parts).map_err(|_| "Perbill above one".into())
    }
}

impl TryFrom<u32> for Perbill {
    type Error = PerbillOutOfRange;

    fn try_from(parts: u32) -> Result<Self, Self::Error> {
        if parts > Self::ACCURACY {
            Err(PerbillOutOfRange(parts))
        } else {
            Ok(Perbill(parts))
        }
    }
}

impl From<Perbill> for u32 {
    fn from(value: Perbill) -> u32 {
        value.0
    }
}

/// `a * b / c` rounded down, exact for every input (the product is formed in 256 bits);
/// `0` when `c` is zero, `u128::MAX` when the quotient does not fit.
pub fn multiply_by_rational(a: u128, b: u128, c: u128) -> u128 {
    if c == 0 {
        return 0;
    }
    if let Some(product) = a.checked_mul(b) {
        return product / c;
    }
    let (high, low) = wide_mul(a, b);
    if high >= c {
        return u128::MAX;
    }
    // Long division of the 256-bit product by c, one bit at a time; the running
    // remainder stays below c, so shifting it left needs one extra (carry) bit.
    let mut remainder = high;
    let mut quotient: u128 = 0;
    for bit in (0..128).rev() {
        let carry = remainder >> 127;
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if carry == 1 || remainder >= c {
            remainder = remainder.wrapping_sub(c);
            quotient |= 1;
        }
    }
    quotient
}

/// The 256-bit product of `a` and `b` as (high, low) halves.
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a_hi, a_lo) = (a >> 64, a & MASK);
    let (b_hi, b_lo) = (b >> 64, b & MASK);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> 64) + (hi_lo & MASK) + (lo_hi & MASK);
    let low = (lo_lo & MASK) | (middle << 64);
    let high = hi_hi + (hi_lo >> 64) + (lo_hi >> 64) + (middle >> 64);
    (high, low)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn constructors_cap_at_one() {
        assert_eq!(Perbill::from_percent(10).deconstruct(), 100_000_000);
        assert_eq!(Perbill::from_percent(250), Perbill::one());
        assert_eq!(Perbill::from_parts(u32::MAX), Perbill::one());
        assert_eq!(Perbill::from_rational(1, 4), Perbill::from_percent(25));
        assert_eq!(Perbill::from_rational(5, 4), Perbill::one());
        assert_eq!(Perbill::from_rational(0, 0), Perbill::one());
        assert_eq!(Perbill::from_rational(1, 3).deconstruct(), 333_333_333);
        assert_eq!(
            Perbill::from_percent(60).saturating_add(Perbill::from_percent(60)),
            Perbill::one()
        );
        assert_eq!(
            Perbill::from_percent(10).saturating_sub(Perbill::from_percent(20)),
            Perbill::zero()
        );
        assert_eq!(
            Perbill::from_percent(10).saturating_mul_int(3),
            Perbill::from_percent(30)
        );
        assert_eq!(
            Perbill::from_percent(10).saturating_mul_int(30),
            Perbill::one()
        );
    }

    #[test]
    fn mul_floor_is_exact_for_large_values() {
        assert_eq!(Perbill::from_percent(10).mul_floor(1_000), 100);
        assert_eq!(Perbill::one().mul_floor(u128::MAX), u128::MAX);
        assert_eq!(Perbill::from_parts(1).mul_floor(999_999_999), 0);
        assert_eq!(
            Perbill::from_percent(50).mul_floor(u128::MAX),
            u128::MAX / 2
        );
    }

    #[test]
    fn codec_and_serde_reject_more_than_one() {
        let encoded = Perbill::from_percent(10).encode();
        assert_eq!(encoded, 100_000_000u32.encode());
        assert_eq!(
            Perbill::decode(&mut &encoded[..]).ok(),
            Some(Perbill::from_percent(10))
        );
        assert!(Perbill::decode(&mut &1_000_000_001u32.encode()[..]).is_err());
        assert_eq!(
            serde_json::to_string(&Perbill::from_percent(10)).ok(),
            Some("100000000".to_string())
        );
        assert!(serde_json::from_str::<Perbill>("1000000001").is_err());
        assert_eq!(
            serde_json::from_str::<Perbill>("5").ok(),
            Some(Perbill::from_parts(5))
        );
    }

    #[test]
    fn multiply_by_rational_handles_overflowing_products() {
        assert_eq!(multiply_by_rational(10, 3, 4), 7);
        assert_eq!(multiply_by_rational(10, 3, 0), 0);
        assert_eq!(
            multiply_by_rational(u128::MAX, u128::MAX, u128::MAX),
            u128::MAX
        );
        assert_eq!(multiply_by_rational(u128::MAX, 2, 4), u128::MAX / 2);
        assert_eq!(multiply_by_rational(u128::MAX, u128::MAX, 1), u128::MAX);
        assert_eq!(
            multiply_by_rational(1 << 100, 1 << 100, 1 << 90),
            1u128 << 110
        );
    }

    proptest! {
        #[test]
        fn multiply_by_rational_is_the_floor_of_the_exact_ratio(
            a in any::<u128>(),
            b in any::<u128>(),
            c in 1u128..,
        ) {
            let q = multiply_by_rational(a, b, c);
            let product = wide_mul(a, b);
            if product.0 >= c {
                prop_assert_eq!(q, u128::MAX);
            } else {
                // q * c <= a * b < (q + 1) * c, compared in 256 bits.
                let qc = wide_mul(q, c);
                prop_assert!(qc <= product);
                let (high, low) = (
                    product.0 - qc.0 - u128::from(product.1 < qc.1),
                    product.1.wrapping_sub(qc.1),
                );
                prop_assert_eq!(high, 0);
                prop_assert!(low < c);
            }
        }
    }
}
