//! ArcM amounts as people type and read them: decimal text with up to 12 fractional
//! digits, converted to and from plancks (`u128`) without any floating point.

use arceon_primitives::{Balance, TOKEN_DECIMALS, TOKEN_SYMBOL};

/// How many plancks make one ArcM (10^12), as `u128`.
const PLANCKS_PER_ARCM: Balance = 10u128.pow(TOKEN_DECIMALS);

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Nothing was given.
    #[error("the amount is empty")]
    Empty,
    /// A minus sign: amounts are never negative.
    #[error("the amount cannot be negative")]
    Negative,
    /// A character other than digits and one decimal point.
    #[error("`{0}` is not a number (use digits and at most one `.`, e.g. 1.5)")]
    NotANumber(String),
    /// More fractional digits than ArcM has decimals.
    #[error("ArcM has {max} decimals, `{text}` has {given}")]
    TooManyDecimals {
        /// The text as given.
        text: String,
        /// How many fractional digits it has.
        given: usize,
        /// How many are allowed (12).
        max: u32,
    },
    /// The value does not fit in a `u128` of plancks.
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// Parses a decimal ArcM amount (`"1"`, `"1.5"`, `"0.000000000001"`) into plancks.
///
/// The integer part is required and, when a `.` is present, so is at least one fractional
/// digit; at most 12 fractional digits are accepted. Signs, exponents, separators and
/// whitespace inside the number are rejected.
pub fn parse_arcm(text: &str) -> Result<Balance, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.starts_with('-') {
        return Err(AmountError::Negative);
    }
    let not_a_number = || AmountError::NotANumber(text.to_string());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    let fraction = fraction.unwrap_or("");
    if text.contains('.') && fraction.is_empty() {
        return Err(not_a_number());
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    if fraction.len() > TOKEN_DECIMALS as usize {
        return Err(AmountError::TooManyDecimals {
            text: text.to_string(),
            given: fraction.len(),
            max: TOKEN_DECIMALS,
        });
    }
    let overflow = || AmountError::Overflow(text.to_string());
    let whole: Balance = whole.parse().map_err(|_| overflow())?;
    let mut fraction_plancks: Balance = 0;
    for digit in fraction.bytes() {
        fraction_plancks = fraction_plancks * 10 + Balance::from(digit - b'0');
    }
    for _ in fraction.len()..TOKEN_DECIMALS as usize {
        fraction_plancks *= 10;
    }
    whole
        .checked_mul(PLANCKS_PER_ARCM)
        .and_then(|p| p.checked_add(fraction_plancks))
        .ok_or_else(overflow)
}

/// Parses an integer number of plancks (`"1500000000000"`).
pub fn parse_planck(text: &str) -> Result<Balance, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.starts_with('-') {
        return Err(AmountError::Negative);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::NotANumber(text.to_string()));
    }
    text.parse()
        .map_err(|_| AmountError::Overflow(text.to_string()))
}

/// Formats plancks as a decimal ArcM number with all 12 decimals: `1.500000000000`.
pub fn format_decimal(plancks: Balance) -> String {
    let whole = plancks / PLANCKS_PER_ARCM;
    let fraction = plancks % PLANCKS_PER_ARCM;
    format!(
        "{whole}.{fraction:0width$}",
        width = TOKEN_DECIMALS as usize
    )
}

/// Formats plancks with the unit: `1.500000000000 ArcM`.
pub fn format_arcm(plancks: Balance) -> String {
    format!("{} {TOKEN_SYMBOL}", format_decimal(plancks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_primitives::ARCM;

    #[test]
    fn parses_whole_and_fractional_arcm() {
        assert_eq!(parse_arcm("1"), Ok(ARCM));
        assert_eq!(parse_arcm("1.5"), Ok(ARCM + ARCM / 2));
        assert_eq!(parse_arcm(" 2.25 "), Ok(2 * ARCM + ARCM / 4));
        assert_eq!(parse_arcm("0.000000000001"), Ok(1));
        assert_eq!(parse_arcm("0"), Ok(0));
        assert_eq!(parse_arcm("007.000"), Ok(7 * ARCM));
        assert_eq!(
            parse_arcm("1000000.123456789012"),
            Ok(1_000_000_123_456_789_012)
        );
    }

    #[test]
    fn rejects_more_than_twelve_decimals() {
        assert_eq!(
            parse_arcm("0.0000000000001"),
            Err(AmountError::TooManyDecimals {
                text: "0.0000000000001".into(),
                given: 13,
                max: 12
            })
        );
    }

    #[test]
    fn rejects_negative_and_garbage() {
        assert_eq!(parse_arcm("-1"), Err(AmountError::Negative));
        assert_eq!(parse_arcm(""), Err(AmountError::Empty));
        assert_eq!(parse_arcm("   "), Err(AmountError::Empty));
        for bad in [
            "abc", "1.2.3", "1,5", "1e3", "+1", ".5", "1.", "1 000", "0x10", "1.5a", "½",
        ] {
            assert!(
                matches!(parse_arcm(bad), Err(AmountError::NotANumber(_))),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn rejects_overflow() {
        let huge = "1".repeat(40);
        assert!(matches!(parse_arcm(&huge), Err(AmountError::Overflow(_))));
        // Fits u128 as plancks, but not once multiplied by 10^12.
        assert!(matches!(
            parse_arcm("340282366920938463463374607431768211455"),
            Err(AmountError::Overflow(_))
        ));
        assert!(matches!(
            parse_planck("340282366920938463463374607431768211456"),
            Err(AmountError::Overflow(_))
        ));
    }

    #[test]
    fn parses_plancks() {
        assert_eq!(parse_planck("1500000000000"), Ok(ARCM + ARCM / 2));
        assert_eq!(parse_planck("0"), Ok(0));
        assert_eq!(parse_planck("-5"), Err(AmountError::Negative));
        assert!(matches!(
            parse_planck("1.5"),
            Err(AmountError::NotANumber(_))
        ));
        assert_eq!(parse_planck(&u128::MAX.to_string()), Ok(u128::MAX));
    }

    #[test]
    fn formats_with_twelve_decimals() {
        assert_eq!(format_decimal(0), "0.000000000000");
        assert_eq!(format_decimal(1), "0.000000000001");
        assert_eq!(format_arcm(ARCM + ARCM / 2), "1.500000000000 ArcM");
        assert_eq!(format_arcm(1_000_000 * ARCM), "1000000.000000000000 ArcM");
        assert_eq!(
            format_decimal(u128::MAX),
            "340282366920938463463374607.431768211455"
        );
    }

    #[test]
    fn format_and_parse_round_trip() {
        for plancks in [0, 1, 999, ARCM - 1, ARCM, 123_456_789_012_345, u128::MAX] {
            assert_eq!(parse_arcm(&format_decimal(plancks)), Ok(plancks));
        }
    }
}
