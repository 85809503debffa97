//! The small kernel Arceon's pallets are written against.
//!
//! A pallet sees the chain state only through [`Ext`]: a stack of transactional overlays
//! over a read-only [`StateRead`] backend (the trie at the parent block). Storage items
//! ([`StorageValue`], [`StorageMap`], [`StorageDoubleMap`]) place their keys exactly as
//! FRAME does (`twox128(pallet) ++ twox128(item) ++ hasher(key)`), so the same key holds
//! the same value on Arceon and in any Substrate tool. Invariants: a dispatch run inside
//! [`Ext::transactional`] either applies all its writes and events or none of them; a
//! read error or an undecodable stored value never panics, it is recorded in the `Ext`
//! (see [`Ext::take_fault`]) so the block that hit it is rejected as a whole.

pub mod dispatch;
pub mod ext;
pub mod hooks;
pub mod metadata;
pub mod runtime;
pub mod storage;
pub mod type_info;
pub mod weights;

pub use dispatch::{
    ensure_none, ensure_root, ensure_signed, ArithmeticError, DispatchError, DispatchResult,
    ModuleError, Origin, PalletError, TokenError,
};
pub use ext::{BackendError, EventRecord, Ext, MemoryState, Phase, StateRead, StorageChanges};
pub use hooks::{BuildGenesis, Hooks};
pub use storage::{
    Blake2_128Concat, Identity, StorageDoubleMap, StorageHasher, StorageMap, StoragePrefix,
    StorageValue, Twox64Concat,
};
pub use weights::{DispatchClass, DispatchInfo, Pays, Weight};

/// Declares a pallet's error enum: fieldless variants whose position is the error index
/// in `DispatchError::Module`, with their names available for RPC and logs.
#[macro_export]
macro_rules! pallet_error {
    (
        $(#[$meta:meta])*
        pub enum $name:ident for pallet $index:tt {
            $( $(#[$vmeta:meta])* $variant:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::codec::Encode, ::codec::Decode, scale_info::TypeInfo)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),*
        }

        impl $crate::PalletError for $name {
            const PALLET_INDEX: u8 = $index;
            fn error_index(&self) -> u8 {
                *self as u8
            }
            fn name(&self) -> &'static str {
                match self {
                    $( $name::$variant => stringify!($variant) ),*
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str($crate::PalletError::name(self))
            }
        }

        impl ::std::error::Error for $name {}

        impl From<$name> for $crate::DispatchError {
            fn from(error: $name) -> Self {
                $crate::DispatchError::Module($crate::ModuleError::of(&error))
            }
        }
    };
}

/// Declares storage items of a pallet: each becomes a type alias whose key prefix is
/// `twox128(pallet) ++ twox128(item)`, computed once.
///
/// ```ignore
/// storage! { pallet "Balances";
///     pub TotalIssuance: value u128;
///     pub Locks: map Blake2_128Concat, AccountId32 => Vec<BalanceLock>;
/// }
/// ```
#[macro_export]
macro_rules! storage {
    (pallet $pallet:literal; $($body:tt)*) => {
        $crate::storage!(@items $pallet; $($body)*);

        /// This pallet's storage items as the runtime metadata describes them.
        #[allow(dead_code, clippy::vec_init_then_push)]
        pub fn storage_metadata() -> $crate::metadata::v14::PalletStorageMetadata {
            #[allow(unused_imports)]
            use $crate::metadata::{EncodedDefault as _, NoDefault as _};
            #[allow(unused_mut)]
            let mut entries = ::std::vec::Vec::new();
            $crate::storage!(@meta entries; $($body)*);
            $crate::metadata::v14::PalletStorageMetadata { prefix: $pallet, entries }
        }
    };
    (@items $pallet:literal; ) => {};
    (@items $pallet:literal; $(#[doc = $doc:literal])* $vis:vis $item:ident : value $value:ty ; $($rest:tt)*) => {
        $crate::paste::paste! {
            $crate::storage!(@prefix $pallet, $item, [<$item Prefix>]);
            $(#[doc = $doc])*
            $vis type $item = $crate::StorageValue<[<$item Prefix>], $value>;
        }
        $crate::storage!(@items $pallet; $($rest)*);
    };
    (@items $pallet:literal; $(#[doc = $doc:literal])* $vis:vis $item:ident : map $hasher:ty, $key:ty => $value:ty ; $($rest:tt)*) => {
        $crate::paste::paste! {
            $crate::storage!(@prefix $pallet, $item, [<$item Prefix>]);
            $(#[doc = $doc])*
            $vis type $item = $crate::StorageMap<[<$item Prefix>], $hasher, $key, $value>;
        }
        $crate::storage!(@items $pallet; $($rest)*);
    };
    (@items $pallet:literal; $(#[doc = $doc:literal])* $vis:vis $item:ident : double_map $h1:ty, $k1:ty, $h2:ty, $k2:ty => $value:ty ; $($rest:tt)*) => {
        $crate::paste::paste! {
            $crate::storage!(@prefix $pallet, $item, [<$item Prefix>]);
            $(#[doc = $doc])*
            $vis type $item = $crate::StorageDoubleMap<[<$item Prefix>], $h1, $k1, $h2, $k2, $value>;
        }
        $crate::storage!(@items $pallet; $($rest)*);
    };
    (@meta $entries:ident; ) => {};
    (@meta $entries:ident; $(#[doc = $doc:literal])* $vis:vis $item:ident : value $value:ty ; $($rest:tt)*) => {
        $entries.push($crate::metadata::storage_entry(
            stringify!($item),
            $crate::metadata::v14::StorageEntryType::Plain($crate::metadata::meta_type::<$value>()),
            (&$crate::metadata::Probe::<$value>::NEW).default_bytes(),
            &[$($doc),*],
        ));
        $crate::storage!(@meta $entries; $($rest)*);
    };
    (@meta $entries:ident; $(#[doc = $doc:literal])* $vis:vis $item:ident : map $hasher:ty, $key:ty => $value:ty ; $($rest:tt)*) => {
        $entries.push($crate::metadata::storage_entry(
            stringify!($item),
            $crate::metadata::v14::StorageEntryType::Map {
                hashers: ::std::vec![<$hasher as $crate::StorageHasher>::METADATA],
                key: $crate::metadata::meta_type::<$key>(),
                value: $crate::metadata::meta_type::<$value>(),
            },
            (&$crate::metadata::Probe::<$value>::NEW).default_bytes(),
            &[$($doc),*],
        ));
        $crate::storage!(@meta $entries; $($rest)*);
    };
    (@meta $entries:ident; $(#[doc = $doc:literal])* $vis:vis $item:ident : double_map $h1:ty, $k1:ty, $h2:ty, $k2:ty => $value:ty ; $($rest:tt)*) => {
        $entries.push($crate::metadata::storage_entry(
            stringify!($item),
            $crate::metadata::v14::StorageEntryType::Map {
                hashers: ::std::vec![
                    <$h1 as $crate::StorageHasher>::METADATA,
                    <$h2 as $crate::StorageHasher>::METADATA,
                ],
                key: $crate::metadata::meta_type::<($k1, $k2)>(),
                value: $crate::metadata::meta_type::<$value>(),
            },
            (&$crate::metadata::Probe::<$value>::NEW).default_bytes(),
            &[$($doc),*],
        ));
        $crate::storage!(@meta $entries; $($rest)*);
    };
    (@prefix $pallet:literal, $item:ident, $prefix:ident) => {
        #[doc(hidden)]
        pub struct $prefix;
        impl $crate::StoragePrefix for $prefix {
            const PALLET: &'static str = $pallet;
            const ITEM: &'static str = stringify!($item);
            fn prefix() -> &'static [u8; 32] {
                static PREFIX: ::std::sync::OnceLock<[u8; 32]> = ::std::sync::OnceLock::new();
                PREFIX.get_or_init(|| $crate::storage::item_prefix($pallet, stringify!($item)))
            }
        }
    };
}

#[doc(hidden)]
pub use paste;
