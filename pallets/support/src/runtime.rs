//! [`construct_runtime!`](crate::construct_runtime): the runtime declared once, a row per
//! pallet. From rows such as
//!
//! ```ignore
//! construct_runtime! {
//!     /// ArcM balances.
//!     Balances: balances = 5 { Call, Event, Error, Storage, Constants, Hooks },
//!     /// Fees (events only).
//!     TransactionPayment: payment = 6 { Event, Constants },
//! }
//! ```
//!
//! it generates, in the invoking crate: the outer `Call`, `RuntimeEvent` and
//! `RuntimeError` enums (each variant's codec index is the row's index), `pallet_index`
//! constants (`pallet_index::TRANSACTION_PAYMENT`), `pallet_name` and `module_error_name`,
//! `Call::pallet_weight` and `Call::dispatch_to_pallet`, the hooks in row order
//! (`pallets_on_initialize`, `pallets_on_finalize`) and `pallet_descriptions` for the
//! metadata. The parts a row names say what its module provides: `Call`, `Event` and
//! `Error` enums, `storage_metadata()` (from [`crate::storage!`]), `constants()`, and a
//! `Pallet` implementing [`crate::Hooks`].
//!
//! Invariants: two rows with one index do not compile; a row whose module declares an
//! error enum with another pallet index (`pallet_error!`'s `for pallet N`) does not
//! compile; adding a pallet is one row.
//!
//! A whole (tiny) runtime:
//!
//! ```
//! mod greeter {
//!     use arceon_support::{DispatchResult, Ext, Origin, Weight};
//!     #[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode, scale_info::TypeInfo)]
//!     pub enum Call {
//!         #[codec(index = 0)]
//!         Greet { times: u32 },
//!     }
//!     impl Call {
//!         pub fn weight(&self) -> Weight { Weight::from_parts(1_000, 0) }
//!         pub fn dispatch(self, _ext: &mut Ext, _origin: Origin) -> DispatchResult { Ok(()) }
//!     }
//!     #[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode, scale_info::TypeInfo)]
//!     pub enum Event {
//!         #[codec(index = 0)]
//!         Greeted { times: u32 },
//!     }
//! }
//! mod clock {}
//!
//! arceon_support::construct_runtime! {
//!     /// Says hello.
//!     Greeter: greeter = 3 { Call, Event },
//!     Clock: clock = 4 {},
//! }
//!
//! assert_eq!(pallet_index::GREETER, 3);
//! assert_eq!(pallet_name(4), Some("Clock"));
//! let call = Call::Greeter(greeter::Call::Greet { times: 2 });
//! assert_eq!(codec::Encode::encode(&call), vec![3, 0, 2, 0, 0, 0]);
//! assert_eq!(pallet_descriptions()[0].docs, vec!["Says hello."]);
//! ```
//!
//! The same runtime with both rows at index 3 does not compile:
//!
//! ```compile_fail,E0081
//! mod greeter {
//!     use arceon_support::{DispatchResult, Ext, Origin, Weight};
//!     #[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode, scale_info::TypeInfo)]
//!     pub enum Call {
//!         #[codec(index = 0)]
//!         Greet { times: u32 },
//!     }
//!     impl Call {
//!         pub fn weight(&self) -> Weight { Weight::from_parts(1_000, 0) }
//!         pub fn dispatch(self, _ext: &mut Ext, _origin: Origin) -> DispatchResult { Ok(()) }
//!     }
//!     #[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode, scale_info::TypeInfo)]
//!     pub enum Event {
//!         #[codec(index = 0)]
//!         Greeted { times: u32 },
//!     }
//! }
//! mod clock {}
//!
//! arceon_support::construct_runtime! {
//!     Greeter: greeter = 3 { Call, Event },
//!     Clock: clock = 3 {},
//! }
//! ```

#[doc(hidden)]
#[macro_export]
macro_rules! __runtime_parts {
    // All parts of the current row are done: go on with the next row.
    (@parts ($name:ident, [$($m:ident)::+], $index:literal) [] [$($desc:tt)*]
        rows [$($rows:tt)*]
        calls [$($calls:tt)*] events [$($events:tt)*] errors [$($errors:tt)*]
        hooks [$($hooks:tt)*] descs [$($descs:tt)*] all [$($all:tt)*]
    ) => {
        $crate::__runtime_parts!(@rows
            rows [$($rows)*]
            calls [$($calls)*] events [$($events)*] errors [$($errors)*]
            hooks [$($hooks)*] descs [$($descs)* { $($desc)* }]
            all [$($all)* ($name $index)]
        );
    };
    (@parts ($name:ident, [$($m:ident)::+], $index:literal) [Call $($more:ident)*] [$($desc:tt)*]
        rows $rows:tt
        calls [$($calls:tt)*] events $events:tt errors $errors:tt hooks $hooks:tt descs $descs:tt all $all:tt
    ) => {
        $crate::__runtime_parts!(@parts ($name, [$($m)::+], $index) [$($more)*]
            [$($desc)* .calls::<$($m)::+::Call>()]
            rows $rows
            calls [$($calls)* ($name [$($m)::+] $index)] events $events errors $errors
            hooks $hooks descs $descs all $all
        );
    };
    (@parts ($name:ident, [$($m:ident)::+], $index:literal) [Event $($more:ident)*] [$($desc:tt)*]
        rows $rows:tt
        calls $calls:tt events [$($events:tt)*] errors $errors:tt hooks $hooks:tt descs $descs:tt all $all:tt
    ) => {
        $crate::__runtime_parts!(@parts ($name, [$($m)::+], $index) [$($more)*]
            [$($desc)* .event::<$($m)::+::Event>()]
            rows $rows
            calls $calls events [$($events)* ($name [$($m)::+] $index)] errors $errors
            hooks $hooks descs $descs all $all
        );
    };
    (@parts ($name:ident, [$($m:ident)::+], $index:literal) [Error $($more:ident)*] [$($desc:tt)*]
        rows $rows:tt
        calls $calls:tt events $events:tt errors [$($errors:tt)*] hooks $hooks:tt descs $descs:tt all $all:tt
    ) => {
        const _: () = assert!(
            <$($m)::+::Error as $crate::PalletError>::PALLET_INDEX == $index,
            concat!("the ", stringify!($name), " row's index differs from its error enum's pallet index"),
        );
        $crate::__runtime_parts!(@parts ($name, [$($m)::+], $index) [$($more)*]
            [$($desc)* .error::<$($m)::+::Error>()]
            rows $rows
            calls $calls events $events errors [$($errors)* ($name [$($m)::+] $index)]
            hooks $hooks descs $descs all $all
        );
    };
    (@parts ($name:ident, [$($m:ident)::+], $index:literal) [Storage $($more:ident)*] [$($desc:tt)*]
        rows $rows:tt
        calls $calls:tt events $events:tt errors $errors:tt hooks $hooks:tt descs $descs:tt all $all:tt
    ) => {
        $crate::__runtime_parts!(@parts ($name, [$($m)::+], $index) [$($more)*]
            [$($desc)* .storage($($m)::+::storage_metadata())]
            rows $rows
            calls $calls events $events errors $errors hooks $hooks descs $descs all $all
        );
    };
    (@parts ($name:ident, [$($m:ident)::+], $index:literal) [Constants $($more:ident)*] [$($desc:tt)*]
        rows $rows:tt
        calls $calls:tt events $events:tt errors $errors:tt hooks $hooks:tt descs $descs:tt all $all:tt
    ) => {
        $crate::__runtime_parts!(@parts ($name, [$($m)::+], $index) [$($more)*]
            [$($desc)* .constants($($m)::+::constants())]
            rows $rows
            calls $calls events $events errors $errors hooks $hooks descs $descs all $all
        );
    };
    (@parts ($name:ident, [$($m:ident)::+], $index:literal) [Hooks $($more:ident)*] [$($desc:tt)*]
        rows $rows:tt
        calls $calls:tt events $events:tt errors $errors:tt hooks [$($hooks:tt)*] descs $descs:tt all $all:tt
    ) => {
        $crate::__runtime_parts!(@parts ($name, [$($m)::+], $index) [$($more)*]
            [$($desc)*]
            rows $rows
            calls $calls events $events errors $errors
            hooks [$($hooks)* ([$($m)::+] $index)] descs $descs all $all
        );
    };

    // The next row.
    (@rows
        rows [($name:ident, [$($m:ident)::+], $index:literal, [$($part:ident)*], [$($doc:literal)*]) $($rest:tt)*]
        calls $calls:tt events $events:tt errors $errors:tt hooks $hooks:tt descs $descs:tt all $all:tt
    ) => {
        $crate::__runtime_parts!(@parts ($name, [$($m)::+], $index) [$($part)*]
            [$crate::metadata::PalletDescription::new(stringify!($name), $index).docs(&[$($doc),*])]
            rows [$($rest)*]
            calls $calls events $events errors $errors hooks $hooks descs $descs all $all
        );
    };

    // Every row is in the accumulators: generate.
    (@rows
        rows []
        calls [$(($cn:ident [$($cm:ident)::+] $ci:literal))*]
        events [$(($en:ident [$($em:ident)::+] $ei:literal))*]
        errors [$(($rn:ident [$($rm:ident)::+] $ri:literal))*]
        hooks [$(([$($hm:ident)::+] $hi:literal))*]
        descs [$({ $($desc:tt)* })*]
        all [$(($an:ident $ai:literal))*]
    ) => {
        /// Pallet indices: the first byte of every call, event and error of the pallet.
        pub mod pallet_index {
            $crate::paste::paste! {
                $(
                    #[doc = concat!("The index of ", stringify!($an), ".")]
                    pub const [<$an:snake:upper>]: u8 = $ai;
                )*
            }
        }

        // Two rows with one index would give this enum two equal discriminants.
        #[allow(dead_code, clippy::upper_case_acronyms)]
        #[repr(u8)]
        enum __DistinctPalletIndices {
            $($an = $ai,)*
        }

        /// The name of a pallet by its index, as events and errors show it
        /// (`Players.TooFast`).
        pub fn pallet_name(index: u8) -> Option<&'static str> {
            match index {
                $($ai => Some(stringify!($an)),)*
                _ => None,
            }
        }

        /// The variant name of pallet `pallet`'s error number `error`, decoded through the
        /// pallet's own error enum (its variant order is the error index).
        pub fn module_error_name(pallet: u8, error: u8) -> Option<&'static str> {
            fn name_of<E: $crate::PalletError + ::codec::Decode>(error: u8) -> Option<&'static str> {
                E::decode(&mut &[error][..]).ok().map(|e| e.name())
            }
            match pallet {
                $($ri => name_of::<$($rm)::+::Error>(error),)*
                _ => None,
            }
        }

        /// Every call a transaction can make: `(pallet index, call index, arguments)`.
        #[derive(Debug, Clone, PartialEq, Eq, ::codec::Encode, ::codec::Decode)]
        pub enum Call {
            $(
                #[doc = concat!(stringify!($cn), " calls.")]
                #[codec(index = $ci)]
                $cn($($cm)::+::Call),
            )*
        }

        // Described by hand: the metadata names the outer enum `RuntimeCall`, as Substrate
        // runtimes do, and each pallet's calls in snake_case.
        impl ::scale_info::TypeInfo for Call {
            type Identity = Self;
            fn type_info() -> ::scale_info::Type {
                use ::scale_info::build::{Fields, Variants};
                ::scale_info::Type::builder()
                    .path(::scale_info::Path::new("RuntimeCall", module_path!()))
                    .docs(&["Every call a transaction can make."])
                    .variant(
                        Variants::new()
                            $(
                                .variant(stringify!($cn), |v| {
                                    v.index($ci).fields(Fields::unnamed().field(|f| {
                                        f.ty::<$crate::metadata::SnakeCaseCalls<$($cm)::+::Call>>()
                                    }))
                                })
                            )*
                    )
            }
        }

        impl Call {
            /// The weight the call's pallet declares for it.
            pub fn pallet_weight(&self) -> $crate::Weight {
                match self {
                    $(Call::$cn(call) => call.weight(),)*
                }
            }

            /// Executes the call in its pallet with `origin`.
            pub fn dispatch_to_pallet(
                self,
                ext: &mut $crate::Ext,
                origin: $crate::Origin,
            ) -> $crate::DispatchResult {
                match self {
                    $(Call::$cn(call) => call.dispatch(ext, origin),)*
                }
            }
        }

        /// Every event the runtime deposits, as decoded from `System.Events`.
        #[derive(Debug, Clone, PartialEq, Eq, ::codec::Encode, ::codec::Decode, ::scale_info::TypeInfo)]
        pub enum RuntimeEvent {
            $(
                #[doc = concat!(stringify!($en), " events.")]
                #[codec(index = $ei)]
                $en($($em)::+::Event),
            )*
        }

        /// Every pallet error, by pallet index: the metadata's outer error enum. The
        /// runtime never encodes it (a `DispatchError::Module` carries the indices);
        /// clients decode module errors through it.
        #[derive(::scale_info::TypeInfo)]
        #[allow(dead_code)]
        pub enum RuntimeError {
            $(
                #[doc = concat!(stringify!($rn), " errors.")]
                #[codec(index = $ri)]
                $rn($($rm)::+::Error),
            )*
        }

        /// Runs the `on_initialize` of every pallet with hooks, in row order; after each,
        /// `after(pallet index, ext)` runs the runtime's own glue. Returns their weight.
        pub fn pallets_on_initialize(
            ext: &mut $crate::Ext,
            n: ::arceon_primitives::BlockNumber,
            mut after: impl FnMut(u8, &mut $crate::Ext) -> $crate::Weight,
        ) -> $crate::Weight {
            let mut weight = $crate::Weight::ZERO;
            $(
                weight = weight
                    .saturating_add(<$($hm)::+::Pallet as $crate::Hooks>::on_initialize(ext, n))
                    .saturating_add(after($hi, ext));
            )*
            weight
        }

        /// Runs the `on_finalize` of every pallet with hooks, in row order.
        pub fn pallets_on_finalize(ext: &mut $crate::Ext, n: ::arceon_primitives::BlockNumber) {
            $(<$($hm)::+::Pallet as $crate::Hooks>::on_finalize(ext, n);)*
        }

        /// Every pallet as the metadata describes it, in row order.
        pub fn pallet_descriptions() -> Vec<$crate::metadata::PalletDescription> {
            vec![$($($desc)*),*]
        }
    };
}

/// Declares the runtime: one row per pallet (see the [module docs](crate::runtime)).
#[macro_export]
macro_rules! construct_runtime {
    (
        $(
            $(#[doc = $doc:literal])*
            $name:ident : $($m:ident)::+ = $index:literal { $($part:ident),* $(,)? }
        ),* $(,)?
    ) => {
        $crate::__runtime_parts!(@rows
            rows [$(($name, [$($m)::+], $index, [$($part)*], [$($doc)*]))*]
            calls [] events [] errors [] hooks [] descs [] all []
        );
    };
}
