//! Transaction eras: the window of blocks in which a signed extrinsic is valid.

use codec::{Decode, Encode, Error as CodecError, Input, Output};

/// Substrate's `Era`: immortal, or mortal for `period` blocks starting at a block whose
/// number is `phase` modulo `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Valid forever (checkpoint is the genesis hash).
    Immortal,
    /// Valid for `period` blocks (a power of two, 4..=65536), born at a block congruent to
    /// `phase` modulo `period`.
    Mortal {
        /// Length of the validity window in blocks.
        period: u64,
        /// Birth block number modulo the period.
        phase: u64,
    },
}

impl Era {
    /// A mortal era valid for about `period` blocks starting at block `current`.
    pub fn mortal(period: u64, current: u64) -> Era {
        let period = period
            .checked_next_power_of_two()
            .unwrap_or(1 << 16)
            .clamp(4, 1 << 16);
        let phase = current % period;
        let quantize_factor = (period >> 12).max(1);
        let quantized_phase = phase / quantize_factor * quantize_factor;
        Era::Mortal {
            period,
            phase: quantized_phase,
        }
    }

    /// The first block in which a transaction with this era, checked at `current`, could
    /// have been made (its checkpoint block).
    pub fn birth(&self, current: u64) -> u64 {
        match *self {
            Era::Immortal => 0,
            Era::Mortal { period, phase } => (current.max(phase) - phase) / period * period + phase,
        }
    }

    /// The first block at which the transaction is no longer valid.
    pub fn death(&self, current: u64) -> u64 {
        match *self {
            Era::Immortal => u64::MAX,
            Era::Mortal { period, .. } => self.birth(current) + period,
        }
    }
}

impl Encode for Era {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        match *self {
            Era::Immortal => dest.push_byte(0),
            Era::Mortal { period, phase } => {
                let quantize_factor = (period >> 12).max(1);
                let encoded = (period.trailing_zeros() - 1).clamp(1, 15) as u16
                    | (((phase / quantize_factor) << 4) as u16);
                encoded.encode_to(dest);
            }
        }
    }
}

impl Decode for Era {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let first = input.read_byte()?;
        if first == 0 {
            return Ok(Era::Immortal);
        }
        let encoded = first as u64 + ((input.read_byte()? as u64) << 8);
        let period = 2 << (encoded % (1 << 4));
        let quantize_factor = (period >> 12).max(1);
        let phase = (encoded >> 4) * quantize_factor;
        if period >= 4 && phase < period {
            Ok(Era::Mortal { period, phase })
        } else {
            Err("invalid mortal era: phase outside its period".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mortal_birth_and_death() {
        let era = Era::mortal(64, 42);
        assert_eq!(
            era,
            Era::Mortal {
                period: 64,
                phase: 42
            }
        );
        assert_eq!(era.birth(42), 42);
        assert_eq!(era.birth(100), 42);
        assert_eq!(era.death(100), 106);
        assert_eq!(era.birth(106), 106);
        assert_eq!(Era::Immortal.death(5), u64::MAX);
    }

    #[test]
    fn round_trips_and_rejects_bad_phase() {
        for period in [4u64, 64, 4096, 65536] {
            for current in [0u64, 1, 42, 1_000_000] {
                let era = Era::mortal(period, current);
                assert_eq!(Era::decode(&mut &era.encode()[..]).unwrap(), era);
            }
        }
        // period 4 (low nibble 1) with phase 15 is impossible
        assert!(Era::decode(&mut &[0xf1u8, 0x00][..]).is_err());
    }
}
