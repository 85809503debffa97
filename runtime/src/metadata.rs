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
    constant, meta_type, v14, v15, MetaType, PalletDescription, RuntimeMetadataPrefixed,
};
use codec::Encode;
use scale_info::TypeInfo;

use crate::{
    areas, aura, balances, fastlane, grandpa, npcs, pallet_index, payment, players, staking,
    structures, sudo, system, Call, Extrinsic, RuntimeEvent,
};

/// The metadata versions this runtime serves (`Metadata_metadata_versions`).
pub const VERSIONS: [u32; 2] = [14, 15];

/// The runtime itself, as the metadata's `ty` names it.
#[derive(TypeInfo)]
pub struct Runtime;

/// Every pallet error, by pallet index: V15's outer error enum. Never encoded by the
/// runtime (a `DispatchError::Module` carries the indices); clients decode module errors
/// through it.
#[derive(TypeInfo)]
#[allow(dead_code)]
pub enum RuntimeError {
    /// System errors.
    #[codec(index = 0)]
    System(system::Error),
    /// Balances errors.
    #[codec(index = 5)]
    Balances(balances::Error),
    /// Staking errors.
    #[codec(index = 7)]
    Staking(staking::Error),
    /// Sudo errors.
    #[codec(index = 8)]
    Sudo(sudo::Error),
    /// Session errors.
    #[codec(index = 9)]
    Session(staking::session::Error),
    /// Areas errors.
    #[codec(index = 40)]
    Areas(areas::Error),
    /// Players errors.
    #[codec(index = 41)]
    Players(players::Error),
    /// NPC errors.
    #[codec(index = 42)]
    Npcs(npcs::Error),
    /// Structures errors.
    #[codec(index = 43)]
    Structures(structures::Error),
    /// Fast-lane errors.
    #[codec(index = 45)]
    FastLane(fastlane::Error),
}

/// Every pallet, in index order.
pub fn pallets() -> Vec<PalletDescription> {
    vec![
        PalletDescription::new("System", pallet_index::SYSTEM)
            .storage(system_storage())
            .calls::<system::Call>()
            .event::<system::Event>()
            .error::<system::Error>()
            .constants(vec![
                constant(
                    "BlockHashCount",
                    &system::BLOCK_HASH_COUNT,
                    &["How many recent block hashes `BlockHash` keeps."],
                ),
                constant(
                    "SS58Prefix",
                    &arceon_primitives::SS58_PREFIX,
                    &["The SS58 address format of this chain."],
                ),
                constant("Version", &crate::version(), &["The runtime's version."]),
            ])
            .docs(&["Accounts, nonces, events and the recent block hashes."]),
        PalletDescription::new("Aura", pallet_index::AURA)
            .storage(aura::storage_metadata())
            .constants(vec![constant(
                "SlotDuration",
                &aura::DEFAULT_SLOT_DURATION_MS,
                &["The slot duration of a chain that sets none, in milliseconds."],
            )])
            .docs(&["The block authors and the current slot."]),
        PalletDescription::new("Balances", pallet_index::BALANCES)
            .storage(balances::storage_metadata())
            .calls::<balances::Call>()
            .event::<balances::Event>()
            .error::<balances::Error>()
            .constants(vec![
                constant(
                    "ExistentialDeposit",
                    &balances::EXISTENTIAL_DEPOSIT,
                    &["The least free balance an account may keep."],
                ),
                constant(
                    "MaxLocks",
                    &(balances::MAX_LOCKS as u32),
                    &["The most named locks one account can carry."],
                ),
            ])
            .docs(&["ArcM: free and reserved balances, transfers and locks."]),
        PalletDescription::new("TransactionPayment", pallet_index::TRANSACTION_PAYMENT)
            .event::<payment::Event>()
            .constants(vec![
                constant(
                    "BaseFee",
                    &payment::BASE_FEE,
                    &["The fee every extrinsic pays."],
                ),
                constant(
                    "ByteFee",
                    &payment::BYTE_FEE,
                    &["The fee per byte of an extrinsic."],
                ),
            ])
            .docs(&["Fees: base + length + weight, plus the tip."]),
        PalletDescription::new("Staking", pallet_index::STAKING)
            .storage(staking::storage_metadata())
            .calls::<staking::Call>()
            .event::<staking::Event>()
            .error::<staking::Error>()
            .constants(vec![
                constant(
                    "MaxNominations",
                    &(staking::MAX_NOMINATIONS as u32),
                    &["The most validators one nominator may back."],
                ),
                constant(
                    "HistoryDepth",
                    &staking::HISTORY_DEPTH,
                    &["How many past eras' rewards can still be claimed."],
                ),
                constant(
                    "MaxUnlockingChunks",
                    &(staking::MAX_UNLOCKING_CHUNKS as u32),
                    &["The most unbonding chunks one ledger holds."],
                ),
            ])
            .docs(&["ArcM bonding, validators, nominators, eras and rewards."]),
        PalletDescription::new("Sudo", pallet_index::SUDO)
            .storage(sudo::storage_metadata())
            .calls::<sudo::Call>()
            .event::<sudo::Event>()
            .error::<sudo::Error>()
            .docs(&["One key may dispatch any call as Root."]),
        PalletDescription::new("Session", pallet_index::SESSION)
            .storage(staking::session::storage_metadata())
            .calls::<staking::session::Call>()
            .error::<staking::session::Error>()
            .docs(&["The keys validators author and finalize with."]),
        PalletDescription::new("Grandpa", pallet_index::GRANDPA)
            .storage(grandpa::storage_metadata())
            .docs(&["The finality authorities and their set id."]),
        PalletDescription::new("Areas", pallet_index::AREAS)
            .storage(areas::storage_metadata())
            .calls::<areas::Call>()
            .event::<areas::Event>()
            .error::<areas::Error>()
            .constants(vec![
                constant("Unit", &areas::UNIT, &["One world unit in coordinates."]),
                constant(
                    "MaxAreas",
                    &(areas::MAX_AREAS as u32),
                    &["The most areas the map holds."],
                ),
                constant(
                    "MaxCommittee",
                    &(areas::MAX_COMMITTEE as u32),
                    &["The most validators in an area's committee."],
                ),
            ])
            .docs(&["The world's map: areas, their neighbours and committees."]),
        PalletDescription::new("Players", pallet_index::PLAYERS)
            .storage(players::storage_metadata())
            .calls::<players::Call>()
            .event::<players::Event>()
            .error::<players::Error>()
            .constants(vec![
                constant(
                    "MaxSpeedPerBlock",
                    &players::MAX_SPEED_PER_BLOCK,
                    &["The farthest a player moves in one block."],
                ),
                constant(
                    "MaxEnergy",
                    &players::MAX_ENERGY,
                    &["A player's full energy."],
                ),
                constant(
                    "MaxInventorySlots",
                    &(players::MAX_INVENTORY_SLOTS as u32),
                    &["The most item stacks a player carries."],
                ),
            ])
            .docs(&["Who plays, where they stand and what they carry."]),
        PalletDescription::new("Npcs", pallet_index::NPCS)
            .storage(npcs::storage_metadata())
            .calls::<npcs::Call>()
            .event::<npcs::Event>()
            .error::<npcs::Error>()
            .constants(vec![constant(
                "MaxNpcsPerArea",
                &npcs::MAX_NPCS_PER_AREA,
                &["The most NPCs one area holds."],
            )])
            .docs(&["The world's non-player characters."]),
        PalletDescription::new("Structures", pallet_index::STRUCTURES)
            .storage(structures::storage_metadata())
            .calls::<structures::Call>()
            .event::<structures::Event>()
            .error::<structures::Error>()
            .constants(vec![constant(
                "Reach",
                &structures::REACH,
                &["How far from a player a structure may be placed."],
            )])
            .docs(&["Buildings players place in the world."]),
        PalletDescription::new("FastLane", pallet_index::FASTLANE)
            .storage(fastlane::storage_metadata())
            .calls::<fastlane::Call>()
            .event::<fastlane::Event>()
            .error::<fastlane::Error>()
            .constants(vec![
                constant(
                    "MinActionIntervalMs",
                    &fastlane::MIN_ACTION_INTERVAL_MS,
                    &["The least time between two lane actions of one player."],
                ),
                constant(
                    "ReceiptCompensation",
                    &fastlane::RECEIPT_COMPENSATION,
                    &["What a player with a broken receipt is paid."],
                ),
            ])
            .docs(&["Certified fast-lane batches enter the chain here."]),
    ]
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
            error_enum_ty: meta_type::<RuntimeError>(),
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
