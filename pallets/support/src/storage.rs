//! Typed storage items with FRAME's key layout.

use std::marker::PhantomData;

use arceon_primitives::{blake2_128, twox_128, twox_64};
use codec::{Decode, FullCodec};

use crate::Ext;

/// `twox128(pallet) ++ twox128(item)`.
pub fn item_prefix(pallet: &str, item: &str) -> [u8; 32] {
    let mut prefix = [0u8; 32];
    prefix[..16].copy_from_slice(&twox_128(pallet.as_bytes()));
    prefix[16..].copy_from_slice(&twox_128(item.as_bytes()));
    prefix
}

/// Names a storage item; implemented by the [`crate::storage!`] macro.
pub trait StoragePrefix {
    /// The pallet's storage name ("System").
    const PALLET: &'static str;
    /// The item's name ("Account").
    const ITEM: &'static str;
    /// `twox128(PALLET) ++ twox128(ITEM)`, cached.
    fn prefix() -> &'static [u8; 32];
}

/// A key hasher, as FRAME's.
pub trait StorageHasher {
    /// Appends the hashed key to `out`.
    fn hash_into(encoded_key: &[u8], out: &mut Vec<u8>);
    /// For concatenating hashers: how many hash bytes precede the raw key.
    const REVERSIBLE_SKIP: Option<usize>;
    /// The hasher as the runtime metadata names it.
    const METADATA: frame_metadata::v14::StorageHasher;
}

/// `blake2_128(key) ++ key`: safe against chosen keys, reversible.
pub struct Blake2_128Concat;
/// `twox64(key) ++ key`: fast, for keys users cannot choose, reversible.
pub struct Twox64Concat;
/// The key itself.
pub struct Identity;

impl StorageHasher for Blake2_128Concat {
    const METADATA: frame_metadata::v14::StorageHasher =
        frame_metadata::v14::StorageHasher::Blake2_128Concat;
    fn hash_into(key: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&blake2_128(key));
        out.extend_from_slice(key);
    }
    const REVERSIBLE_SKIP: Option<usize> = Some(16);
}

impl StorageHasher for Twox64Concat {
    const METADATA: frame_metadata::v14::StorageHasher =
        frame_metadata::v14::StorageHasher::Twox64Concat;
    fn hash_into(key: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&twox_64(key));
        out.extend_from_slice(key);
    }
    const REVERSIBLE_SKIP: Option<usize> = Some(8);
}

impl StorageHasher for Identity {
    const METADATA: frame_metadata::v14::StorageHasher =
        frame_metadata::v14::StorageHasher::Identity;
    fn hash_into(key: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(key);
    }
    const REVERSIBLE_SKIP: Option<usize> = Some(0);
}

fn decode_value<V: Decode>(ext: &mut Ext, key: &[u8], bytes: Vec<u8>) -> Option<V> {
    match V::decode(&mut &bytes[..]) {
        Ok(value) => Some(value),
        Err(e) => {
            ext.record_fault(format!(
                "undecodable value at 0x{}: {e}",
                arceon_primitives::to_hex(key).trim_start_matches("0x")
            ));
            None
        }
    }
}

/// Rewrites every value stored under `prefix` through `f`; undecodable values are left
/// as they are and recorded as a fault. Returns how many were rewritten.
fn translate_under<V: FullCodec>(ext: &mut Ext, prefix: &[u8], mut f: impl FnMut(&mut V)) -> usize {
    let mut count = 0;
    for key in ext.keys_with_prefix(prefix) {
        let Some(bytes) = ext.get(&key) else {
            continue;
        };
        if let Some(mut value) = decode_value::<V>(ext, &key, bytes) {
            f(&mut value);
            ext.set(key, value.encode());
            count += 1;
        }
    }
    count
}

/// A single value.
pub struct StorageValue<P, V>(PhantomData<(P, V)>);

impl<P: StoragePrefix, V: FullCodec> StorageValue<P, V> {
    /// The full storage key.
    pub fn key() -> Vec<u8> {
        P::prefix().to_vec()
    }

    /// The value, if set.
    pub fn get(ext: &mut Ext) -> Option<V> {
        let key = P::prefix();
        let bytes = ext.get(key)?;
        decode_value(ext, key, bytes)
    }

    /// The value or its default.
    pub fn get_or_default(ext: &mut Ext) -> V
    where
        V: Default,
    {
        Self::get(ext).unwrap_or_default()
    }

    /// Sets the value.
    pub fn put(ext: &mut Ext, value: &V) {
        ext.set(Self::key(), value.encode());
    }

    /// Removes the value.
    pub fn kill(ext: &mut Ext) {
        ext.remove(Self::key());
    }

    /// Whether it is set.
    pub fn exists(ext: &mut Ext) -> bool {
        ext.exists(P::prefix())
    }

    /// Reads, changes and writes back the value (the default if unset).
    pub fn mutate<R>(ext: &mut Ext, f: impl FnOnce(&mut V) -> R) -> R
    where
        V: Default,
    {
        let mut value = Self::get_or_default(ext);
        let result = f(&mut value);
        Self::put(ext, &value);
        result
    }
}

/// A map from `K` to `V`.
pub struct StorageMap<P, H, K, V>(PhantomData<(P, H, K, V)>);

impl<P: StoragePrefix, H: StorageHasher, K: FullCodec, V: FullCodec> StorageMap<P, H, K, V> {
    /// The full storage key of `key`.
    pub fn key(key: &K) -> Vec<u8> {
        let mut full = Vec::with_capacity(32 + 16 + 32);
        full.extend_from_slice(P::prefix());
        key.using_encoded(|encoded| H::hash_into(encoded, &mut full));
        full
    }

    /// The value at `key`.
    pub fn get(ext: &mut Ext, key: &K) -> Option<V> {
        let full = Self::key(key);
        let bytes = ext.get(&full)?;
        decode_value(ext, &full, bytes)
    }

    /// The value at `key` or the default.
    pub fn get_or_default(ext: &mut Ext, key: &K) -> V
    where
        V: Default,
    {
        Self::get(ext, key).unwrap_or_default()
    }

    /// Whether `key` has a value.
    pub fn contains_key(ext: &mut Ext, key: &K) -> bool {
        ext.exists(&Self::key(key))
    }

    /// Sets the value at `key`.
    pub fn insert(ext: &mut Ext, key: &K, value: &V) {
        ext.set(Self::key(key), value.encode());
    }

    /// Removes `key`.
    pub fn remove(ext: &mut Ext, key: &K) {
        ext.remove(Self::key(key));
    }

    /// Reads, changes and writes back the value at `key` (default if unset).
    pub fn mutate<R>(ext: &mut Ext, key: &K, f: impl FnOnce(&mut V) -> R) -> R
    where
        V: Default,
    {
        let mut value = Self::get_or_default(ext, key);
        let result = f(&mut value);
        Self::insert(ext, key, &value);
        result
    }

    /// Like `mutate`, writing back only on `Ok`.
    pub fn try_mutate<R, E>(
        ext: &mut Ext,
        key: &K,
        f: impl FnOnce(&mut V) -> Result<R, E>,
    ) -> Result<R, E>
    where
        V: Default,
    {
        let mut value = Self::get_or_default(ext, key);
        let result = f(&mut value)?;
        Self::insert(ext, key, &value);
        Ok(result)
    }

    /// Rewrites every stored value through `f` (keys unchanged; any hasher). For state
    /// migrations such as rebasing block numbers; returns how many values it rewrote.
    pub fn translate_values(ext: &mut Ext, f: impl FnMut(&mut V)) -> usize {
        translate_under(ext, P::prefix(), f)
    }

    /// Every (key, value), in storage-key order. Needs a reversible hasher.
    pub fn iter(ext: &mut Ext) -> Vec<(K, V)> {
        Self::iter_from(ext, None, usize::MAX)
    }

    /// At most `limit` entries with storage keys after `start_after`'s.
    pub fn iter_from(ext: &mut Ext, start_after: Option<&K>, limit: usize) -> Vec<(K, V)> {
        let prefix = P::prefix();
        let skip = H::REVERSIBLE_SKIP.unwrap_or(0);
        let mut cursor = match start_after {
            Some(k) => Self::key(k),
            None => prefix.to_vec(),
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(next) = ext.next_key(&cursor) else {
                break;
            };
            if !next.starts_with(prefix) {
                break;
            }
            let decoded_key = next
                .get(32 + skip..)
                .and_then(|raw| K::decode(&mut &raw[..]).ok());
            let value = ext.get(&next).and_then(|v| V::decode(&mut &v[..]).ok());
            match (decoded_key, value) {
                (Some(k), Some(v)) => out.push((k, v)),
                _ => ext.record_fault(format!("undecodable entry in {}.{}", P::PALLET, P::ITEM)),
            }
            cursor = next;
        }
        out
    }

    /// Number of entries (walks the keys).
    pub fn count(ext: &mut Ext) -> usize {
        ext.keys_with_prefix(P::prefix()).len()
    }

    /// Removes every entry.
    pub fn clear(ext: &mut Ext) -> usize {
        ext.clear_prefix(P::prefix())
    }
}

/// A map keyed by two keys, iterable by the first.
pub struct StorageDoubleMap<P, H1, K1, H2, K2, V>(PhantomData<(P, H1, K1, H2, K2, V)>);

impl<P, H1, K1, H2, K2, V> StorageDoubleMap<P, H1, K1, H2, K2, V>
where
    P: StoragePrefix,
    H1: StorageHasher,
    K1: FullCodec,
    H2: StorageHasher,
    K2: FullCodec,
    V: FullCodec,
{
    /// Rewrites every stored value through `f` (keys unchanged), as
    /// [`StorageMap::translate_values`].
    pub fn translate_values(ext: &mut Ext, f: impl FnMut(&mut V)) -> usize {
        translate_under(ext, P::prefix(), f)
    }

    /// `prefix ++ H1(k1)`.
    pub fn prefix_key(k1: &K1) -> Vec<u8> {
        let mut full = Vec::with_capacity(32 + 48);
        full.extend_from_slice(P::prefix());
        k1.using_encoded(|encoded| H1::hash_into(encoded, &mut full));
        full
    }

    /// `prefix ++ H1(k1) ++ H2(k2)`.
    pub fn key(k1: &K1, k2: &K2) -> Vec<u8> {
        let mut full = Self::prefix_key(k1);
        k2.using_encoded(|encoded| H2::hash_into(encoded, &mut full));
        full
    }

    /// The value at `(k1, k2)`.
    pub fn get(ext: &mut Ext, k1: &K1, k2: &K2) -> Option<V> {
        let full = Self::key(k1, k2);
        let bytes = ext.get(&full)?;
        decode_value(ext, &full, bytes)
    }

    /// Whether `(k1, k2)` has a value.
    pub fn contains_key(ext: &mut Ext, k1: &K1, k2: &K2) -> bool {
        ext.exists(&Self::key(k1, k2))
    }

    /// Sets the value at `(k1, k2)`.
    pub fn insert(ext: &mut Ext, k1: &K1, k2: &K2, value: &V) {
        ext.set(Self::key(k1, k2), value.encode());
    }

    /// Removes `(k1, k2)`.
    pub fn remove(ext: &mut Ext, k1: &K1, k2: &K2) {
        ext.remove(Self::key(k1, k2));
    }

    /// Every `(k2, value)` under `k1`, at most `limit`, after `start_after`.
    pub fn iter_prefix(
        ext: &mut Ext,
        k1: &K1,
        start_after: Option<&K2>,
        limit: usize,
    ) -> Vec<(K2, V)> {
        let prefix = Self::prefix_key(k1);
        let skip = H2::REVERSIBLE_SKIP.unwrap_or(0);
        let mut cursor = match start_after {
            Some(k2) => Self::key(k1, k2),
            None => prefix.clone(),
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(next) = ext.next_key(&cursor) else {
                break;
            };
            if !next.starts_with(&prefix) {
                break;
            }
            let decoded_key = next
                .get(prefix.len() + skip..)
                .and_then(|raw| K2::decode(&mut &raw[..]).ok());
            let value = ext.get(&next).and_then(|v| V::decode(&mut &v[..]).ok());
            match (decoded_key, value) {
                (Some(k), Some(v)) => out.push((k, v)),
                _ => ext.record_fault(format!("undecodable entry in {}.{}", P::PALLET, P::ITEM)),
            }
            cursor = next;
        }
        out
    }

    /// Removes every entry under `k1`.
    pub fn clear_prefix(ext: &mut Ext, k1: &K1) -> usize {
        ext.clear_prefix(&Self::prefix_key(k1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryState;

    crate::storage! { pallet "System";
        Number: value u32;
        Account: map Blake2_128Concat, [u8; 32] => u64;
        Hashes: map Twox64Concat, u32 => u8;
        Pairs: double_map Twox64Concat, u32, Identity, u16 => bool;
    }

    #[test]
    fn keys_follow_frame_layout() {
        assert_eq!(
            arceon_primitives::to_hex(&Number::key()),
            "0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac"
        );
        let key = Hashes::key(&7);
        assert_eq!(
            &key[32..],
            &[0x0e, 0x0d, 0x96, 0x9b, 0x0e, 0x48, 0xca, 0xb7, 7, 0, 0, 0]
        );
    }

    #[test]
    fn map_iteration_and_double_map_prefixes() {
        let state = MemoryState::new();
        let mut ext = Ext::new(&state);
        for i in 0..10u32 {
            Hashes::insert(&mut ext, &i, &(i as u8));
            Pairs::insert(&mut ext, &(i % 2), &(i as u16), &true);
        }
        Account::insert(&mut ext, &[1; 32], &5);
        let mut all = Hashes::iter(&mut ext);
        all.sort();
        assert_eq!(all.len(), 10);
        assert_eq!(all[3], (3, 3));
        let odd = Pairs::iter_prefix(&mut ext, &1, None, 100);
        assert_eq!(
            odd.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            vec![1, 3, 5, 7, 9]
        );
        let page = Pairs::iter_prefix(&mut ext, &1, Some(&3), 2);
        assert_eq!(page.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![5, 7]);
        assert_eq!(Pairs::clear_prefix(&mut ext, &0), 5);
        assert_eq!(Pairs::iter_prefix(&mut ext, &0, None, 100).len(), 0);
        assert_eq!(Account::get(&mut ext, &[1; 32]), Some(5));
        assert_eq!(Hashes::count(&mut ext), 10);
    }

    #[test]
    fn undecodable_value_is_a_fault() {
        let mut state = MemoryState::new();
        state.insert(Number::key(), vec![1]);
        let mut ext = Ext::new(&state);
        assert_eq!(Number::get(&mut ext), None);
        assert!(ext.take_fault().is_some());
    }
}
