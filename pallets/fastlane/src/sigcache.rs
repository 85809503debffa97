//! The verified-signature cache: a node verifies each lane signature once. Replicas
//! verify player and member signatures when a batch arrives; when the block that
//! includes the batch is imported, the runtime finds them here instead of verifying them
//! again. Only signatures that verified are remembered, keyed by a hash of (message,
//! signature, key), so the cache can never make a bad signature pass; it is bounded and
//! forgets the oldest entries first.

use std::collections::{HashSet, VecDeque};

use arceon_primitives::blake2_256;
use parking_lot::Mutex;

/// How many verified signatures the cache remembers.
pub const CAPACITY: usize = 1 << 18;

struct Cache {
    known: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

fn key(message: &[u8], signature: &[u8; 64], public: &[u8]) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(32 + 64 + public.len());
    bytes.extend_from_slice(&blake2_256(message));
    bytes.extend_from_slice(signature);
    bytes.extend_from_slice(public);
    blake2_256(&bytes)
}

fn contains(id: &[u8; 32]) -> bool {
    CACHE
        .lock()
        .as_ref()
        .is_some_and(|cache| cache.known.contains(id))
}

fn remember(id: [u8; 32]) {
    let mut guard = CACHE.lock();
    let cache = guard.get_or_insert_with(|| Cache {
        known: HashSet::new(),
        order: VecDeque::new(),
    });
    if cache.known.insert(id) {
        cache.order.push_back(id);
        while cache.order.len() > CAPACITY {
            if let Some(old) = cache.order.pop_front() {
                cache.known.remove(&old);
            }
        }
    }
}

thread_local! {
    /// Set while a block importer executes optimistically with every player signature of
    /// the block's lane batches being verified on other threads (see
    /// [`with_player_signatures_assumed`]).
    static ASSUMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with lane player signatures taken as valid on this thread. Only for an
/// importer that verifies them all elsewhere at the same time and, if any fails,
/// executes the block again without this (so the failing batch is found and refused).
pub fn with_player_signatures_assumed<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            ASSUMED.with(|assumed| assumed.set(self.0));
        }
    }
    let _reset = Reset(ASSUMED.with(|assumed| assumed.replace(true)));
    f()
}

/// Whether player signatures are being verified elsewhere (see
/// [`with_player_signatures_assumed`]).
pub fn player_signatures_assumed() -> bool {
    ASSUMED.with(|assumed| assumed.get())
}

/// Whether this node has already verified `signature` as `public`'s signature of
/// `message` (a block importer skips those; nothing is verified or remembered here).
pub fn is_verified(message: &[u8], signature: &[u8; 64], public: &[u8]) -> bool {
    contains(&key(message, signature, public))
}

/// Remembers a signature this node has just made with one of its own keys (valid by
/// construction, so it needs no verification).
pub fn note_own(message: &[u8], signature: &[u8; 64], public: &[u8]) {
    remember(key(message, signature, public));
}

/// Forgets every verified signature (benchmarks measuring cold verification).
pub fn clear() {
    *CACHE.lock() = None;
}

/// Whether `signature` is `public`'s sr25519 signature of `message`, from the cache or
/// by verifying it (and remembering it when it verifies).
pub fn verify(message: &[u8], signature: &[u8; 64], public: &[u8]) -> bool {
    let id = key(message, signature, public);
    if contains(&id) {
        return true;
    }
    let Ok(raw) = <[u8; 32]>::try_from(public) else {
        return false;
    };
    let key = sp_core::sr25519::Public::from_raw(raw);
    let sig = sp_core::sr25519::Signature::from_raw(*signature);
    let valid = <sp_core::sr25519::Pair as sp_core::Pair>::verify(&sig, message, &key);
    if valid {
        remember(id);
    }
    valid
}

/// One signature to check: message, sr25519 signature, public key.
pub type SignatureItem = (Vec<u8>, [u8; 64], [u8; 32]);

/// Verifies many signatures at once (schnorrkel batch verification for those not yet
/// cached) and remembers them. Returns `true` only if every one is valid; a failed batch
/// is checked one by one so the valid ones are still remembered.
pub fn verify_all(items: &[SignatureItem]) -> bool {
    let refs: Vec<SignatureRef<'_>> = items
        .iter()
        .map(|(message, signature, public)| (message.as_slice(), signature, public))
        .collect();
    verify_batch(&refs)
}

/// A borrowed [`SignatureItem`]: message, sr25519 signature, public key.
pub type SignatureRef<'a> = (&'a [u8], &'a [u8; 64], &'a [u8; 32]);

/// [`verify_all`] over borrowed items: what the transaction pool uses, so that no
/// message is copied.
pub fn verify_batch(items: &[SignatureRef<'_>]) -> bool {
    let pending: Vec<(&SignatureRef<'_>, [u8; 32])> = items
        .iter()
        .map(|item| (item, key(item.0, item.1, item.2)))
        .filter(|(_, id)| !contains(id))
        .collect();
    if pending.is_empty() {
        return true;
    }
    let accounts: Vec<arceon_primitives::AccountId32> = pending
        .iter()
        .map(|((_, _, public), _)| arceon_primitives::AccountId32::new(**public))
        .collect();
    let batch: Vec<(&[u8], &[u8; 64], &arceon_primitives::AccountId32)> = pending
        .iter()
        .zip(&accounts)
        .map(|(((message, signature, _), _), account)| (*message, *signature, account))
        .collect();
    if arceon_primitives::verify_sr25519_batch(&batch) {
        for (_, id) in pending {
            remember(id);
        }
        return true;
    }
    let mut all = true;
    for ((message, signature, public), _) in pending {
        all &= verify(message, signature, &public[..]);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_core::Pair;

    #[test]
    fn only_valid_signatures_pass_and_are_remembered() {
        let pair = sp_core::sr25519::Pair::from_seed(&[7; 32]);
        let message = b"cache me".to_vec();
        let signature = pair.sign(&message).0;
        let public = pair.public().0;
        assert!(verify(&message, &signature, &public));
        assert!(contains(&key(&message, &signature, &public)));
        let mut forged = signature;
        forged[0] ^= 1;
        assert!(!verify(&message, &forged, &public));
        assert!(!contains(&key(&message, &forged, &public)));
        assert!(!verify(b"other", &signature, &public));
        let other = sp_core::sr25519::Pair::from_seed(&[8; 32]);
        let items = vec![
            (message.clone(), signature, public),
            (b"two".to_vec(), other.sign(b"two").0, other.public().0),
        ];
        assert!(verify_all(&items));
        let mut bad = items.clone();
        bad[1].1 = forged;
        assert!(!verify_all(&bad));
    }
}
