//! The runtime's metadata (V14 and V15, as `frame-metadata` defines them): every pallet
//! with its storage entries, calls, events, errors and constants, the extrinsic format
//! with its signed extensions, and (V15) the runtime APIs served through `state_call` and
//! the outer call, event and error enums. Clients (polkadot.js, polkadot-api, subxt,
//! py-substrate-interface) build and decode everything from it.
//!
//! Invariants: the metadata depends on the runtime code only, so it is built once per
//! process; every type in it is described by the `TypeInfo` of the Rust type the runtime
//! encodes, so what a client encodes from the metadata is what the runtime decodes.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arceon_primitives::type_info::extensions;
use arceon_primitives::{
    AccountId32, MultiAddress, MultiSignature, Nonce, RuntimeVersion, TransactionSource,
    TransactionValidity, H256,
};
use arceon_support::metadata::{
    meta_type, v14, v15, MetaType, PalletDescription, RuntimeMetadataPrefixed,
};
use codec::Encode;
use scale_info::TypeInfo;

use crate::{pallet_index, payment, system, Call, Extrinsic, RuntimeEvent};

/// The metadata versions this runtime serves (`Metadata_metadata_versions`).
pub const VERSIONS: [u32; 2] = [14, 15];

/// The runtime itself, as the metadata's `ty` names it.
#[derive(TypeInfo)]
pub struct Runtime;

/// Every pallet, in index order, as `construct_runtime!` describes them, with what only
/// the runtime can describe: the `System.Events` entry and the `System.Version` constant.
pub fn pallets() -> Vec<PalletDescription> {
    let mut pallets = crate::pallet_descriptions();
    if let Some(system) = pallets.iter_mut().find(|p| p.index == pallet_index::SYSTEM) {
        system.storage = Some(system_storage());
        // Only the runtime knows its version; clients (polkadot-api) sign with the spec
        // and transaction versions read from this constant.
        system.constants.push(arceon_support::metadata::constant(
            "Version",
            &crate::version(),
            &["The runtime's version."],
        ));
    }
    pallets
}

/// System's storage entries, with `Events`: the system pallet writes that value raw, since
/// only the runtime knows its event type.
fn system_storage() -> v14::PalletStorageMetadata {
    let mut storage = system::storage_metadata();
    storage
        .entries
        .push(arceon_support::metadata::storage_entry(
            "Events",
            v14::StorageEntryType::Plain(meta_type::<Vec<crate::EventRecord>>()),
            Some(Vec::<crate::EventRecord>::new().encode()),
            &["The events deposited in this block, in order."],
        ));
    storage
}

/// One runtime API method: name, `(argument name, type)` pairs, output type, docs.
fn method(
    name: &'static str,
    inputs: Vec<(&'static str, MetaType)>,
    output: MetaType,
    docs: &'static str,
) -> v15::RuntimeApiMethodMetadata {
    v15::RuntimeApiMethodMetadata {
        name,
        inputs: inputs
            .into_iter()
            .map(|(name, ty)| v15::RuntimeApiMethodParamMetadata { name, ty })
            .collect(),
        output,
        docs: vec![docs],
    }
}

fn api(
    name: &'static str,
    methods: Vec<v15::RuntimeApiMethodMetadata>,
    docs: &'static str,
) -> v15::RuntimeApiMetadata {
    v15::RuntimeApiMetadata {
        name,
        methods,
        docs: vec![docs],
    }
}

/// The runtime APIs `state_call` answers (see [`crate::api`]), with their types.
fn apis() -> Vec<v15::RuntimeApiMetadata> {
    vec![
        api(
            "Core",
            vec![method(
                "version",
                vec![],
                meta_type::<RuntimeVersion>(),
                "The runtime's version.",
            )],
            "The runtime's identity.",
        ),
        api(
            "Metadata",
            vec![
                method(
                    "metadata",
                    vec![],
                    meta_type::<Vec<u8>>(),
                    "The V14 metadata.",
                ),
                method(
                    "metadata_at_version",
                    vec![("version", meta_type::<u32>())],
                    meta_type::<Option<Vec<u8>>>(),
                    "The metadata at a version, if served.",
                ),
                method(
                    "metadata_versions",
                    vec![],
                    meta_type::<Vec<u32>>(),
                    "The metadata versions served.",
                ),
            ],
            "The runtime's metadata.",
        ),
        api(
            "TaggedTransactionQueue",
            vec![method(
                "validate_transaction",
                vec![
                    ("source", meta_type::<TransactionSource>()),
                    ("tx", meta_type::<Extrinsic>()),
                    ("block_hash", meta_type::<H256>()),
                ],
                meta_type::<TransactionValidity>(),
                "Whether a transaction is valid at a block, and how the pool holds it.",
            )],
            "Transaction validity for the pool.",
        ),
        api(
            "AccountNonceApi",
            vec![method(
                "account_nonce",
                vec![("account", meta_type::<AccountId32>())],
                meta_type::<Nonce>(),
                "The account's next nonce.",
            )],
            "Account nonces.",
        ),
        api(
            "TransactionPaymentApi",
            vec![method(
                "query_info",
                vec![
                    ("uxt", meta_type::<Extrinsic>()),
                    ("len", meta_type::<u32>()),
                ],
                meta_type::<payment::RuntimeDispatchInfo>(),
                "The weight, class and fee of an extrinsic.",
            )],
            "Fees.",
        ),
        api(
            "AuraApi",
            vec![
                method(
                    "slot_duration",
                    vec![],
                    meta_type::<u64>(),
                    "The slot duration in milliseconds.",
                ),
                method(
                    "authorities",
                    vec![],
                    meta_type::<Vec<arceon_primitives::sr25519::Public>>(),
                    "The block authors.",
                ),
            ],
            "Aura block authoring.",
        ),
        api(
            "GrandpaApi",
            vec![
                method(
                    "grandpa_authorities",
                    vec![],
                    meta_type::<Vec<(arceon_primitives::ed25519::Public, u64)>>(),
                    "The finality voters and their weights.",
                ),
                method(
                    "current_set_id",
                    vec![],
                    meta_type::<u64>(),
                    "The finality authority set id.",
                ),
            ],
            "GRANDPA finality.",
        ),
        api(
            "SessionKeys",
            vec![method(
                "decode_session_keys",
                vec![("encoded", meta_type::<Vec<u8>>())],
                meta_type::<Option<Vec<(Vec<u8>, [u8; 4])>>>(),
                "The public keys and key types in encoded session keys.",
            )],
            "Session keys.",
        ),
    ]
}

fn signed_extensions_v14() -> Vec<v14::SignedExtensionMetadata> {
    extensions::all()
        .into_iter()
        .map(
            |(identifier, ty, additional_signed)| v14::SignedExtensionMetadata {
                identifier,
                ty,
                additional_signed,
            },
        )
        .collect()
}

fn v14_metadata() -> v14::RuntimeMetadataV14 {
    v14::RuntimeMetadataV14::new(
        pallets().iter().map(PalletDescription::v14).collect(),
        v14::ExtrinsicMetadata {
            ty: meta_type::<Extrinsic>(),
            version: arceon_primitives::EXTRINSIC_FORMAT_VERSION,
            signed_extensions: signed_extensions_v14(),
        },
        meta_type::<Runtime>(),
    )
}

fn v15_metadata() -> v15::RuntimeMetadataV15 {
    v15::RuntimeMetadataV15::new(
        pallets().iter().map(PalletDescription::v15).collect(),
        v15::ExtrinsicMetadata {
            version: arceon_primitives::EXTRINSIC_FORMAT_VERSION,
            address_ty: meta_type::<MultiAddress>(),
            call_ty: meta_type::<Call>(),
            signature_ty: meta_type::<MultiSignature>(),
            extra_ty: meta_type::<extensions::SignedExtensions>(),
            signed_extensions: extensions::all()
                .into_iter()
                .map(
                    |(identifier, ty, additional_signed)| v15::SignedExtensionMetadata {
                        identifier,
                        ty,
                        additional_signed,
                    },
                )
                .collect(),
        },
        meta_type::<Runtime>(),
        apis(),
        v15::OuterEnums {
            call_enum_ty: meta_type::<Call>(),
            event_enum_ty: meta_type::<RuntimeEvent>(),
            error_enum_ty: meta_type::<crate::RuntimeError>(),
        },
        v15::CustomMetadata {
            map: BTreeMap::new(),
        },
    )
}

/// The metadata at `version` (14 or 15) as `RuntimeMetadataPrefixed` bytes (`meta` magic,
/// version, metadata): what `state_getMetadata` returns and `Metadata_metadata_at_version`
/// wraps. `None` for a version this runtime does not serve.
pub fn metadata_bytes(version: u32) -> Option<&'static [u8]> {
    static V14: OnceLock<Vec<u8>> = OnceLock::new();
    static V15: OnceLock<Vec<u8>> = OnceLock::new();
    match version {
        14 => Some(V14.get_or_init(|| RuntimeMetadataPrefixed::from(v14_metadata()).encode())),
        15 => Some(V15.get_or_init(|| RuntimeMetadataPrefixed::from(v15_metadata()).encode())),
        _ => None,
    }
}
