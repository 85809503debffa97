//! The benchmark players' keys: `//player/<i>`, derived as Substrate derives secret URIs.

use arceon_primitives::keyring::pair_from_suri;
use arceon_primitives::{sr25519, AccountId32};
use sp_core::Pair as _;

/// The key of player `index`.
pub fn player_pair(index: u32) -> anyhow::Result<sr25519::Pair> {
    pair_from_suri(&format!("//player/{index}")).map_err(anyhow::Error::msg)
}

/// The keys of players `0..count`, derived on every core.
pub fn player_pairs(count: u32) -> anyhow::Result<Vec<sr25519::Pair>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let chunk = count.div_ceil(threads.max(1)).max(1);
    let parts: Vec<anyhow::Result<Vec<sr25519::Pair>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk as usize)
            .map(|start| {
                let end = start.saturating_add(chunk).min(count);
                scope.spawn(move || (start..end).map(player_pair).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("key derivation panicked")))
            })
            .collect()
    });
    let mut pairs = Vec::with_capacity(count as usize);
    for part in parts {
        pairs.extend(part?);
    }
    Ok(pairs)
}

/// The account of a key.
pub fn account(pair: &sr25519::Pair) -> AccountId32 {
    AccountId32::from(pair.public())
}
