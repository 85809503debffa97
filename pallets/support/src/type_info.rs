//! Type descriptions (`scale_info::TypeInfo`) of the kernel types whose encoding is written
//! by hand or whose Substrate path clients look for: `sp_runtime::DispatchError`,
//! `sp_weights::weight_v2::Weight` and `frame_system::EventRecord` (polkadot.js finds the
//! runtime's event enum through the latter's first type parameter). Each description says
//! exactly what the `Encode` implementation writes.

use arceon_primitives::H256;
use scale_info::build::{Fields, Variants};
use scale_info::{meta_type, Path, Type, TypeInfo, TypeParameter};

use crate::dispatch::{ArithmeticError, DispatchError, TokenError};
use crate::ext::{EventRecord, Phase};
use crate::weights::Weight;

/// `sp_runtime::ModuleError` as encoded inside [`DispatchError::Module`]: the pallet index
/// and four error bytes, the first being the variant index.
pub struct ModuleErrorLayout;

impl TypeInfo for ModuleErrorLayout {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("ModuleError", "sp_runtime"))
            .docs(&["A pallet's error: the pallet index and the error's bytes (first: variant)."])
            .composite(
                Fields::named()
                    .field(|f| f.ty::<u8>().name("index").type_name("u8"))
                    .field(|f| f.ty::<[u8; 4]>().name("error").type_name("[u8; 4]")),
            )
    }
}

impl TypeInfo for DispatchError {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("DispatchError", "sp_runtime"))
            .docs(&["Why a dispatch failed."])
            .variant(
                Variants::new()
                    .variant("Other", |v| v.index(0))
                    .variant("CannotLookup", |v| v.index(1))
                    .variant("BadOrigin", |v| v.index(2))
                    .variant("Module", |v| {
                        v.index(3).fields(
                            Fields::unnamed()
                                .field(|f| f.ty::<ModuleErrorLayout>().type_name("ModuleError")),
                        )
                    })
                    .variant("ConsumerRemaining", |v| v.index(4))
                    .variant("NoProviders", |v| v.index(5))
                    .variant("TooManyConsumers", |v| v.index(6))
                    .variant("Token", |v| {
                        v.index(7).fields(
                            Fields::unnamed()
                                .field(|f| f.ty::<TokenError>().type_name("TokenError")),
                        )
                    })
                    .variant("Arithmetic", |v| {
                        v.index(8).fields(
                            Fields::unnamed()
                                .field(|f| f.ty::<ArithmeticError>().type_name("ArithmeticError")),
                        )
                    })
                    .variant("Exhausted", |v| v.index(10))
                    .variant("Corruption", |v| v.index(11)),
            )
    }
}

impl TypeInfo for Weight {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("Weight", "sp_weights::weight_v2"))
            .composite(
                Fields::named()
                    .field(|f| f.compact::<u64>().name("ref_time").type_name("u64"))
                    .field(|f| f.compact::<u64>().name("proof_size").type_name("u64")),
            )
    }
}

impl<E: TypeInfo + 'static> TypeInfo for EventRecord<E> {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("EventRecord", "frame_system"))
            .type_params([
                TypeParameter::new("E", Some(meta_type::<E>())),
                TypeParameter::new("T", Some(meta_type::<H256>())),
            ])
            .docs(&["A deposited event: when, what, and its topics."])
            .composite(
                Fields::named()
                    .field(|f| f.ty::<Phase>().name("phase").type_name("Phase"))
                    .field(|f| f.ty::<E>().name("event").type_name("E"))
                    .field(|f| f.ty::<Vec<H256>>().name("topics").type_name("Vec<T>")),
            )
    }
}
