//! What one rate of the sweep measured.

use std::collections::BTreeMap;

/// Samples in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// Adds a sample.
    pub fn push(&mut self, ms: f64) {
        self.0.push(ms);
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `q` quantile (nearest rank), `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted.get(rank - 1).copied()
    }

    /// The `q` quantile formatted for a RESULT line (`na` without samples).
    pub fn show(&self, q: f64) -> String {
        match self.quantile(q) {
            Some(ms) => format!("{ms:.1}"),
            None => "na".to_string(),
        }
    }
}

/// Counts by name.
pub type Counts = BTreeMap<String, u64>;

/// Everything measured at one offered rate.
#[derive(Debug, Clone, Default)]
pub struct RateStats {
    /// Actions sent.
    pub sent: u64,
    /// Poisson arrivals that found no player free to act (all busy or too recent).
    pub skipped: u64,
    /// Send (scheduled) to receipt, every receipted action.
    pub receipt: Samples,
    /// Send to receipt of border crossings (each after the first submitted to the lane
    /// the player entered on its previous crossing's certificate).
    pub border: Samples,
    /// Receipt at the submitter to delivery at a subscriber.
    pub fanout: Samples,
    /// Send to the first best block holding the action's batch.
    pub included: Samples,
    /// Typed rejections (`Players.TooFast` ...).
    pub rejected: Counts,
    /// Requests without a receipt or a rejection (unavailable, timeout, transport).
    pub failed: Counts,
    /// Receipts that do not match the action sent or whose Merkle path fails.
    pub bad_receipts: u64,
}

impl RateStats {
    /// Adds one to `counts[name]`.
    pub fn count(counts: &mut Counts, name: &str) {
        *counts.entry(name.to_string()).or_default() += 1;
    }
}

/// `name=count` pairs for an INFO line.
pub fn show_counts(counts: &Counts) -> String {
    if counts.is_empty() {
        return "none".to_string();
    }
    counts
        .iter()
        .map(|(name, n)| format!("{name}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let mut samples = Samples::default();
        assert_eq!(samples.quantile(0.99), None);
        assert_eq!(samples.show(0.5), "na");
        for ms in (1..=100).rev() {
            samples.push(f64::from(ms));
        }
        assert_eq!(samples.quantile(0.5), Some(50.0));
        assert_eq!(samples.quantile(0.99), Some(99.0));
        assert_eq!(samples.quantile(1.0), Some(100.0));
        assert_eq!(samples.show(0.99), "99.0");
    }
}
