//! Type descriptions (`scale_info::TypeInfo`) of the primitives whose encoding is written
//! by hand, under the paths Substrate gives them (`sp_runtime::multiaddress::MultiAddress`,
//! `sp_runtime::generic::era::Era`, ...). Clients such as polkadot.js recognise these types
//! by path in the runtime metadata and apply their own codecs, so each description must
//! say exactly what the hand-written `Encode` produces, and the path must be Substrate's.

use std::sync::OnceLock;

use scale_info::build::{Fields, Variants};
use scale_info::{meta_type, Path, Type, TypeInfo, TypeParameter};

use crate::{AccountId32, BlockNumber, Digest, DigestItem, Era, Header, MultiAddress};
use crate::{MultiSignature, UncheckedExtrinsic, H256};
use extensions::SignedExtensions;

impl TypeInfo for MultiAddress {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("MultiAddress", "sp_runtime::multiaddress"))
            .type_params([
                TypeParameter::new("AccountId", Some(meta_type::<AccountId32>())),
                TypeParameter::new("AccountIndex", Some(meta_type::<u32>())),
            ])
            .docs(&["An account: only `Id` names one on Arceon."])
            .variant(
                Variants::new()
                    .variant("Id", |v| {
                        v.index(0)
                            .fields(Fields::unnamed().field(|f| f.ty::<AccountId32>()))
                    })
                    .variant("Index", |v| {
                        v.index(1)
                            .fields(Fields::unnamed().field(|f| f.compact::<u32>()))
                    })
                    .variant("Raw", |v| {
                        v.index(2)
                            .fields(Fields::unnamed().field(|f| f.ty::<Vec<u8>>()))
                    })
                    .variant("Address32", |v| {
                        v.index(3)
                            .fields(Fields::unnamed().field(|f| f.ty::<[u8; 32]>()))
                    })
                    .variant("Address20", |v| {
                        v.index(4)
                            .fields(Fields::unnamed().field(|f| f.ty::<[u8; 20]>()))
                    }),
            )
    }
}

impl TypeInfo for MultiSignature {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("MultiSignature", "sp_runtime"))
            .docs(&["A signature: Arceon's keys sign with sr25519."])
            .variant(
                Variants::new()
                    .variant("Ed25519", |v| {
                        v.index(0)
                            .fields(Fields::unnamed().field(|f| f.ty::<[u8; 64]>()))
                    })
                    .variant("Sr25519", |v| {
                        v.index(1)
                            .fields(Fields::unnamed().field(|f| f.ty::<[u8; 64]>()))
                    })
                    .variant("Ecdsa", |v| {
                        v.index(2)
                            .fields(Fields::unnamed().field(|f| f.ty::<[u8; 65]>()))
                    }),
            )
    }
}

/// `Mortal1` ... `Mortal255`: Substrate names a mortal era by its first encoded byte.
fn mortal_variant_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| (1..=255u8).map(|i| format!("Mortal{i}")).collect())
}

impl TypeInfo for Era {
    type Identity = Self;
    fn type_info() -> Type {
        let mut variants = Variants::new().variant("Immortal", |v| v.index(0));
        for (i, name) in mortal_variant_names().iter().enumerate() {
            variants = variants.variant(name.as_str(), |v| {
                v.index(i as u8 + 1)
                    .fields(Fields::unnamed().field(|f| f.ty::<u8>()))
            });
        }
        Type::builder()
            .path(Path::new("Era", "sp_runtime::generic::era"))
            .docs(&["A transaction's validity window: immortal, or two bytes of period and phase."])
            .variant(variants)
    }
}

impl TypeInfo for DigestItem {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("DigestItem", "sp_runtime::generic::digest"))
            .variant(
                Variants::new()
                    .variant("PreRuntime", |v| {
                        v.index(6).fields(
                            Fields::unnamed()
                                .field(|f| f.ty::<[u8; 4]>())
                                .field(|f| f.ty::<Vec<u8>>()),
                        )
                    })
                    .variant("Consensus", |v| {
                        v.index(4).fields(
                            Fields::unnamed()
                                .field(|f| f.ty::<[u8; 4]>())
                                .field(|f| f.ty::<Vec<u8>>()),
                        )
                    })
                    .variant("Seal", |v| {
                        v.index(5).fields(
                            Fields::unnamed()
                                .field(|f| f.ty::<[u8; 4]>())
                                .field(|f| f.ty::<Vec<u8>>()),
                        )
                    })
                    .variant("Other", |v| {
                        v.index(0)
                            .fields(Fields::unnamed().field(|f| f.ty::<Vec<u8>>()))
                    })
                    .variant("RuntimeEnvironmentUpdated", |v| v.index(8)),
            )
    }
}

impl TypeInfo for Digest {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("Digest", "sp_runtime::generic::digest"))
            .composite(Fields::named().field(|f| f.ty::<Vec<DigestItem>>().name("logs")))
    }
}

/// Substrate's `BlakeTwo256` hasher, named as a header's type parameter.
pub struct BlakeTwo256;

impl TypeInfo for BlakeTwo256 {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("BlakeTwo256", "sp_runtime::traits"))
            .composite(Fields::unit())
    }
}

impl TypeInfo for Header {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("Header", "sp_runtime::generic::header"))
            .type_params([
                TypeParameter::new("Number", Some(meta_type::<BlockNumber>())),
                TypeParameter::new("Hash", Some(meta_type::<BlakeTwo256>())),
            ])
            .composite(
                Fields::named()
                    .field(|f| f.ty::<H256>().name("parent_hash").type_name("Hash::Output"))
                    .field(|f| {
                        f.compact::<BlockNumber>()
                            .name("number")
                            .type_name("Number")
                    })
                    .field(|f| f.ty::<H256>().name("state_root").type_name("Hash::Output"))
                    .field(|f| {
                        f.ty::<H256>()
                            .name("extrinsics_root")
                            .type_name("Hash::Output")
                    })
                    .field(|f| f.ty::<Digest>().name("digest").type_name("Digest")),
            )
    }
}

impl<Call: TypeInfo + 'static> TypeInfo for UncheckedExtrinsic<Call> {
    type Identity = Self;
    fn type_info() -> Type {
        // As Substrate describes it: the parameters say how to read the bytes, the bytes
        // themselves (with their length prefix) need the extrinsic's own decoder.
        Type::builder()
            .path(Path::new(
                "UncheckedExtrinsic",
                "sp_runtime::generic::unchecked_extrinsic",
            ))
            .type_params([
                TypeParameter::new("Address", Some(meta_type::<MultiAddress>())),
                TypeParameter::new("Call", Some(meta_type::<Call>())),
                TypeParameter::new("Signature", Some(meta_type::<MultiSignature>())),
                TypeParameter::new("Extra", Some(meta_type::<SignedExtensions>())),
            ])
            .docs(&["An extrinsic: raw bytes that need the extrinsic decoder."])
            .composite(Fields::unnamed().field(|f| f.ty::<Vec<u8>>()))
    }
}

/// The signed extensions of Arceon's extrinsic format, as Substrate names and types them.
/// Their order is the order of `SignedExtra`'s fields in the extrinsic (era, nonce, tip)
/// and of the signed payload's implicit part (spec version, transaction version, genesis
/// hash, era checkpoint); the others add no bytes.
pub mod extensions {
    use scale_info::build::Fields;
    use scale_info::{meta_type, MetaType, Path, Type, TypeInfo};

    use crate::{Balance, Era, Nonce, H256};

    macro_rules! extension {
        ($name:ident, $module:literal, $doc:literal, $fields:expr) => {
            #[doc = $doc]
            pub struct $name;

            impl TypeInfo for $name {
                type Identity = Self;
                fn type_info() -> Type {
                    Type::builder()
                        .path(Path::new(stringify!($name), $module))
                        .docs(&[$doc])
                        .composite($fields)
                }
            }
        };
    }

    extension!(
        CheckSpecVersion,
        "frame_system::extensions::check_spec_version",
        "Signs the runtime's spec version (implicit, not in the extrinsic).",
        Fields::unit()
    );
    extension!(
        CheckTxVersion,
        "frame_system::extensions::check_tx_version",
        "Signs the runtime's transaction version (implicit).",
        Fields::unit()
    );
    extension!(
        CheckGenesis,
        "frame_system::extensions::check_genesis",
        "Signs the genesis hash (implicit).",
        Fields::unit()
    );
    extension!(
        CheckMortality,
        "frame_system::extensions::check_mortality",
        "The era in the extrinsic; signs its checkpoint block's hash.",
        Fields::unnamed().field(|f| f.ty::<Era>().type_name("Era"))
    );
    extension!(
        CheckNonce,
        "frame_system::extensions::check_nonce",
        "The sender's nonce, compact.",
        Fields::unnamed().field(|f| f.compact::<Nonce>().type_name("T::Nonce"))
    );
    extension!(
        CheckWeight,
        "frame_system::extensions::check_weight",
        "Block weight and length limits (no bytes).",
        Fields::unit()
    );
    extension!(
        ChargeTransactionPayment,
        "pallet_transaction_payment",
        "The tip, compact, paid with the fee.",
        Fields::unnamed().field(|f| f.compact::<Balance>().type_name("BalanceOf<T>"))
    );

    /// The extrinsic's `Extra` type: the tuple of its signed extensions.
    pub type SignedExtensions = (
        CheckSpecVersion,
        CheckTxVersion,
        CheckGenesis,
        CheckMortality,
        CheckNonce,
        CheckWeight,
        ChargeTransactionPayment,
    );

    /// `(identifier, type, additional signed type)` of each signed extension, in order.
    pub fn all() -> Vec<(&'static str, MetaType, MetaType)> {
        vec![
            (
                "CheckSpecVersion",
                meta_type::<CheckSpecVersion>(),
                meta_type::<u32>(),
            ),
            (
                "CheckTxVersion",
                meta_type::<CheckTxVersion>(),
                meta_type::<u32>(),
            ),
            (
                "CheckGenesis",
                meta_type::<CheckGenesis>(),
                meta_type::<H256>(),
            ),
            (
                "CheckMortality",
                meta_type::<CheckMortality>(),
                meta_type::<H256>(),
            ),
            ("CheckNonce", meta_type::<CheckNonce>(), meta_type::<()>()),
            ("CheckWeight", meta_type::<CheckWeight>(), meta_type::<()>()),
            (
                "ChargeTransactionPayment",
                meta_type::<ChargeTransactionPayment>(),
                meta_type::<()>(),
            ),
        ]
    }
}
