//! Standard Substrate clients against real node processes: the runtime metadata decoded
//! with `frame-metadata`/`scale-info` and checked against the node's own storage, then the
//! npm test project in `rpc/clients/` (polkadot.js over the legacy methods, polkadot-api
//! over chainHead_v1 and transaction_v1) on a dev node and on a 4-validator local
//! network whose transfers finalize through GRANDPA. The npm packages are installed by
//! the README's test command (`npm ci` in `rpc/clients/`).

mod common;
#[path = "common/net.rs"]
mod net;
#[path = "common/ws.rs"]
mod ws;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use arceon_pallet_balances as balances;
use arceon_primitives::keyring::Keyring;
use arceon_primitives::{
    blake2_128, from_hex, to_hex, twox_128, twox_64, Era, MultiAddress, SignedExtra, ARCM, H256,
};
use arceon_runtime::{executive::sign_extrinsic, Call};
use arceon_support::metadata::frame_metadata::{
    v14, v15, RuntimeMetadata, RuntimeMetadataPrefixed,
};
use arceon_support::metadata::scale_info::{PortableRegistry, TypeDef, TypeDefPrimitive};
use codec::{Compact, Decode, Encode};
use common::Node;
use net::*;
use serde_json::{json, Value};

fn bytes_of(value: &Value) -> Vec<u8> {
    from_hex(value.as_str().expect("hex string")).expect("hex")
}

/// Walks one value of type `id` in `input`, as a client decoding by the metadata would:
/// an error means the bytes do not have the shape the metadata describes.
fn walk(registry: &PortableRegistry, id: u32, input: &mut &[u8], depth: u32) -> Result<(), String> {
    if depth > 64 {
        return Err("types nest deeper than 64".into());
    }
    let ty = registry
        .resolve(id)
        .ok_or(format!("type {id} is not in the registry"))?;
    let name = ty.path.segments.join("::");
    let take = |input: &mut &[u8], n: usize| -> Result<(), String> {
        if input.len() < n {
            return Err(format!("{name}: needs {n} more bytes, has {}", input.len()));
        }
        *input = &input[n..];
        Ok(())
    };
    match &ty.type_def {
        TypeDef::Composite(composite) => {
            for field in &composite.fields {
                walk(registry, field.ty.id, input, depth + 1)?;
            }
        }
        TypeDef::Variant(variants) => {
            let index = u8::decode(input).map_err(|e| format!("{name}: {e}"))?;
            let variant = variants
                .variants
                .iter()
                .find(|v| v.index == index)
                .ok_or(format!("{name}: no variant {index}"))?;
            for field in &variant.fields {
                walk(registry, field.ty.id, input, depth + 1)?;
            }
        }
        TypeDef::Sequence(sequence) => {
            let len = Compact::<u32>::decode(input)
                .map_err(|e| format!("{name}: {e}"))?
                .0;
            if len as usize > input.len().max(1) * 8 {
                return Err(format!("{name}: {len} elements in {} bytes", input.len()));
            }
            for _ in 0..len {
                walk(registry, sequence.type_param.id, input, depth + 1)?;
            }
        }
        TypeDef::Array(array) => {
            for _ in 0..array.len {
                walk(registry, array.type_param.id, input, depth + 1)?;
            }
        }
        TypeDef::Tuple(tuple) => {
            for field in &tuple.fields {
                walk(registry, field.id, input, depth + 1)?;
            }
        }
        TypeDef::Primitive(primitive) => match primitive {
            TypeDefPrimitive::Bool => match u8::decode(input) {
                Ok(0 | 1) => {}
                other => return Err(format!("bool: {other:?}")),
            },
            TypeDefPrimitive::Str => {
                let text = String::decode(input).map_err(|e| format!("str: {e}"))?;
                let _ = text;
            }
            TypeDefPrimitive::U8 | TypeDefPrimitive::I8 => take(input, 1)?,
            TypeDefPrimitive::U16 | TypeDefPrimitive::I16 => take(input, 2)?,
            TypeDefPrimitive::U32 | TypeDefPrimitive::I32 | TypeDefPrimitive::Char => {
                take(input, 4)?
            }
            TypeDefPrimitive::U64 | TypeDefPrimitive::I64 => take(input, 8)?,
            TypeDefPrimitive::U128 | TypeDefPrimitive::I128 => take(input, 16)?,
            TypeDefPrimitive::U256 | TypeDefPrimitive::I256 => take(input, 32)?,
        },
        TypeDef::Compact(_) => {
            Compact::<u128>::decode(input).map_err(|e| format!("compact: {e}"))?;
        }
        TypeDef::BitSequence(_) => return Err("bit sequences are not used by Arceon".into()),
    }
    Ok(())
}

/// `walk`, requiring the value to use every byte.
fn decodes_exactly(registry: &PortableRegistry, id: u32, bytes: &[u8]) -> Result<(), String> {
    let mut input = bytes;
    walk(registry, id, &mut input, 0)?;
    if input.is_empty() {
        Ok(())
    } else {
        Err(format!("{} bytes left over", input.len()))
    }
}

fn metadata_of(node: &Node) -> (v14::RuntimeMetadataV14, v15::RuntimeMetadataV15) {
    let raw = bytes_of(&node.rpc("state_getMetadata", json!([])));
    let prefixed =
        RuntimeMetadataPrefixed::decode(&mut &raw[..]).expect("state_getMetadata decodes");
    assert_eq!(
        prefixed.0,
        u32::from_le_bytes(*b"meta"),
        "the metadata magic"
    );
    let RuntimeMetadata::V14(v14) = prefixed.1 else {
        panic!("state_getMetadata is not V14");
    };
    let versions = bytes_of(&node.rpc("state_call", json!(["Metadata_metadata_versions", "0x"])));
    assert_eq!(
        Vec::<u32>::decode(&mut &versions[..]).expect("versions"),
        vec![14, 15]
    );
    let answer = bytes_of(&node.rpc(
        "state_call",
        json!(["Metadata_metadata_at_version", to_hex(&15u32.encode())]),
    ));
    let opaque = Option::<Vec<u8>>::decode(&mut &answer[..]).expect("Option<OpaqueMetadata>");
    let prefixed = RuntimeMetadataPrefixed::decode(&mut &opaque.expect("V15 is served")[..])
        .expect("V15 decodes");
    let RuntimeMetadata::V15(v15) = prefixed.1 else {
        panic!("Metadata_metadata_at_version(15) is not V15");
    };
    let none = bytes_of(&node.rpc(
        "state_call",
        json!(["Metadata_metadata_at_version", to_hex(&16u32.encode())]),
    ));
    assert_eq!(none, vec![0], "an unserved version is None");
    (v14, v15)
}

fn hasher_len(hasher: &v14::StorageHasher) -> usize {
    match hasher {
        v14::StorageHasher::Blake2_128Concat => 16,
        v14::StorageHasher::Twox64Concat => 8,
        v14::StorageHasher::Identity => 0,
        other => panic!("Arceon uses only reversible hashers, found {other:?}"),
    }
}

fn hash_of(hasher: &v14::StorageHasher, key: &[u8]) -> Vec<u8> {
    match hasher {
        v14::StorageHasher::Blake2_128Concat => blake2_128(key).to_vec(),
        v14::StorageHasher::Twox64Concat => twox_64(key).to_vec(),
        _ => Vec::new(),
    }
}

/// Splits a map key after its prefix into its parts, checking each part's hash and shape.
fn check_map_key(
    registry: &PortableRegistry,
    hashers: &[v14::StorageHasher],
    key_ty: u32,
    mut rest: &[u8],
) -> Result<(), String> {
    let key_types: Vec<u32> = if hashers.len() == 1 {
        vec![key_ty]
    } else {
        match &registry.resolve(key_ty).ok_or("key type")?.type_def {
            TypeDef::Tuple(tuple) => tuple.fields.iter().map(|f| f.id).collect(),
            other => {
                return Err(format!(
                    "a {}-hasher key is not a tuple: {other:?}",
                    hashers.len()
                ))
            }
        }
    };
    if key_types.len() != hashers.len() {
        return Err("hashers and key parts differ in number".into());
    }
    for (hasher, ty) in hashers.iter().zip(key_types) {
        let len = hasher_len(hasher);
        if rest.len() < len {
            return Err("key too short for its hash".into());
        }
        let (hash, after) = rest.split_at(len);
        let mut input = after;
        walk(registry, ty, &mut input, 0)?;
        let part = &after[..after.len() - input.len()];
        if hash != hash_of(hasher, part).as_slice() {
            return Err(format!(
                "hash of key part 0x{} does not match",
                hex::encode(part)
            ));
        }
        rest = input;
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!("{} bytes after the last key part", rest.len()))
    }
}

#[test]
fn metadata_decodes_and_describes_every_storage_entry_the_node_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&["--dev", "--tmp"], dir.path().join("node.log"));
    node.wait_for("block 3", Duration::from_secs(30), |n| n.best_number() >= 3);
    let (v14, v15) = metadata_of(&node);

    // Both versions list the same pallets at the runtime's indices.
    let names14: Vec<(String, u8)> = v14
        .pallets
        .iter()
        .map(|p| (p.name.clone(), p.index))
        .collect();
    let names15: Vec<(String, u8)> = v15
        .pallets
        .iter()
        .map(|p| (p.name.clone(), p.index))
        .collect();
    assert_eq!(names14, names15);
    for (name, index) in &names14 {
        assert_eq!(
            arceon_runtime::pallet_name(*index),
            Some(name.as_str()),
            "pallet {index}"
        );
    }
    let identifiers: Vec<&str> = v15
        .extrinsic
        .signed_extensions
        .iter()
        .map(|e| e.identifier.as_str())
        .collect();
    assert_eq!(
        identifiers,
        [
            "CheckSpecVersion",
            "CheckTxVersion",
            "CheckGenesis",
            "CheckMortality",
            "CheckNonce",
            "CheckWeight",
            "ChargeTransactionPayment"
        ]
    );
    // Calls are named in snake_case, events and errors in CamelCase, as Substrate's.
    let variants = |ty: u32| -> Vec<String> {
        match &v15.types.resolve(ty).expect("type").type_def {
            TypeDef::Variant(v) => v.variants.iter().map(|v| v.name.clone()).collect(),
            other => panic!("not an enum: {other:?}"),
        }
    };
    let balances = v15
        .pallets
        .iter()
        .find(|p| p.name == "Balances")
        .expect("Balances");
    let calls = variants(balances.calls.as_ref().expect("calls").ty.id);
    assert!(
        calls.contains(&"transfer_keep_alive".to_string()),
        "{calls:?}"
    );
    let events = variants(balances.event.as_ref().expect("events").ty.id);
    assert!(events.contains(&"Transfer".to_string()), "{events:?}");
    let apis: Vec<&str> = v15.apis.iter().map(|api| api.name.as_str()).collect();
    for api in [
        "Core",
        "Metadata",
        "AccountNonceApi",
        "TransactionPaymentApi",
        "TaggedTransactionQueue",
    ] {
        assert!(apis.contains(&api), "runtime API {api} in {apis:?}");
    }

    // Every entry: its key is where the metadata says, and its value has the described shape.
    let registry = &v14.types;
    let (mut entries, mut with_data, mut values) = (0, 0, 0);
    let mut failures = Vec::new();
    for pallet in &v14.pallets {
        let Some(storage) = &pallet.storage else {
            continue;
        };
        for entry in &storage.entries {
            entries += 1;
            let mut prefix = twox_128(storage.prefix.as_bytes()).to_vec();
            prefix.extend_from_slice(&twox_128(entry.name.as_bytes()));
            let what = format!("{}.{}", storage.prefix, entry.name);
            match &entry.ty {
                v14::StorageEntryType::Plain(ty) => {
                    let value = node.rpc("state_getStorage", json!([to_hex(&prefix)]));
                    let bytes = if value.is_null() {
                        if entry.modifier == v14::StorageEntryModifier::Optional {
                            continue;
                        }
                        entry.default.clone()
                    } else {
                        with_data += 1;
                        values += 1;
                        bytes_of(&value)
                    };
                    if let Err(e) = decodes_exactly(registry, ty.id, &bytes) {
                        failures.push(format!("{what}: value 0x{}: {e}", hex::encode(&bytes)));
                    }
                }
                v14::StorageEntryType::Map {
                    hashers,
                    key,
                    value,
                } => {
                    let keys = node.rpc("state_getKeysPaged", json!([to_hex(&prefix), 16]));
                    let keys = keys.as_array().expect("keys");
                    if !keys.is_empty() {
                        with_data += 1;
                    }
                    for full in keys {
                        let full = bytes_of(full);
                        if let Err(e) = check_map_key(registry, hashers, key.id, &full[32..]) {
                            failures.push(format!("{what}: key 0x{}: {e}", hex::encode(&full)));
                        }
                        let stored =
                            bytes_of(&node.rpc("state_getStorage", json!([to_hex(&full)])));
                        values += 1;
                        if let Err(e) = decodes_exactly(registry, value.id, &stored) {
                            failures.push(format!("{what}: value 0x{}: {e}", hex::encode(&stored)));
                        }
                    }
                }
            }
        }
    }
    println!("{entries} storage entries, {with_data} with data, {values} values checked");
    assert!(
        failures.is_empty(),
        "entries that do not match the metadata:\n{}",
        failures.join("\n")
    );
    assert!(
        with_data >= 25,
        "only {with_data} of {entries} entries hold data on a dev chain"
    );
}

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rpc/clients")
}

/// Runs test files of the npm project against `url`; fails with their output.
fn run_client_tests(url: &str, files: &[&str], env: &[(&str, &str)]) {
    let dir = clients_dir();
    assert!(
        dir.join("node_modules/@polkadot/api").is_dir(),
        "{}/node_modules is missing: run `npm ci` there (the README's test command does)",
        dir.display()
    );
    let output = Command::new("timeout")
        .args(["300", "node", "--test", "--test-concurrency=1"])
        .args(files)
        .current_dir(&dir)
        .env("ARCEON_WS", url)
        .envs(env.iter().copied())
        .output()
        .expect("run node (Node.js 20)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    assert!(
        output.status.success(),
        "client tests {files:?} failed against {url}:\n{text}"
    );
}

#[test]
fn polkadot_js_and_polkadot_api_work_against_a_dev_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&["--dev", "--tmp"], dir.path().join("node.log"));
    node.wait_for("block 2", Duration::from_secs(30), |n| n.best_number() >= 2);
    run_client_tests(
        &node.url(),
        &["test/polkadot-js.test.mjs", "test/polkadot-api.test.mjs"],
        &[],
    );
}

#[test]
fn polkadot_js_and_polkadot_api_transfers_finalize_on_four_validators() {
    let _serial = serial();
    let mut net = Net::new("local", 4, |i| vec![format!("--{}", NAMES[i])]);
    net.start_all();
    net.wait("4 validators finalizing", Duration::from_secs(120), |net| {
        net.running().iter().all(|n| finalized(n) >= 2)
    });
    // Submitted to a node that is not necessarily the author: transactions travel by
    // gossip, and every submission waits for GRANDPA finality.
    let url = net.node(1).url();
    run_client_tests(
        &url,
        &["test/polkadot-js.test.mjs", "test/polkadot-api.test.mjs"],
        &[("ARCEON_WAIT_FINALIZED", "1")],
    );
    assert_finalized_agree(&net);
}

#[test]
fn legacy_methods_indexers_and_wallets_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&["--dev", "--tmp"], dir.path().join("node.log"));
    node.wait_for("block 4", Duration::from_secs(30), |n| n.best_number() >= 4);

    // state_getMetadata is the V14 metadata Metadata_metadata wraps.
    let direct = bytes_of(&node.rpc("state_getMetadata", json!([])));
    let wrapped = bytes_of(&node.rpc("state_call", json!(["Metadata_metadata", "0x"])));
    assert_eq!(
        Vec::<u8>::decode(&mut &wrapped[..]).expect("OpaqueMetadata"),
        direct
    );

    // state_queryStorage: System.Number changes in every block of the range.
    let number_key = to_hex(&arceon_pallet_system::Number::key());
    let from = node.rpc("chain_getBlockHash", json!([1]));
    let to = node.rpc("chain_getBlockHash", json!([4]));
    let sets = node.rpc("state_queryStorage", json!([[number_key], from, to]));
    let sets = sets.as_array().expect("change sets");
    assert_eq!(sets.len(), 4, "{sets:?}");
    assert_eq!(sets[0]["block"], from);
    assert_eq!(sets[3]["block"], to);
    for (i, set) in sets.iter().enumerate() {
        let value = bytes_of(&set["changes"][0][1]);
        assert_eq!(u32::decode(&mut &value[..]).expect("number"), i as u32 + 1);
    }
    // A range whose end does not descend from its start, or reversed, is refused.
    let refused = node
        .try_rpc("state_queryStorage", json!([[number_key], to, from]))
        .expect_err("reversed range");
    assert!(refused.to_string().contains("range"), "{refused}");

    // state_getPairs (unsafe; a local dev node allows it): every endowed account.
    let prefix = to_hex(&arceon_support::storage::item_prefix("System", "Account"));
    let pairs = node.rpc("state_getPairs", json!([prefix]));
    let pairs = pairs.as_array().expect("pairs");
    assert!(pairs.len() >= 6, "{} accounts", pairs.len());
    for pair in pairs {
        let value = bytes_of(&pair[1]);
        arceon_pallet_system::AccountInfo::decode(&mut &value[..]).expect("AccountInfo");
    }

    // system_syncState: a lone dev node is as high as it knows.
    let sync = node.rpc("system_syncState", json!([]));
    assert_eq!(sync["currentBlock"], sync["highestBlock"], "{sync}");
    assert!(sync["startingBlock"].as_u64().is_some(), "{sync}");

    // author_removeExtrinsic: a transfer with a nonce far ahead waits in the future
    // queue until it is removed by hash.
    let genesis = H256::from_slice(&bytes_of(&node.rpc("chain_getBlockHash", json!([0]))));
    let alice = Keyring::Alice.pair();
    let call = Call::Balances(balances::Call::TransferKeepAlive {
        dest: MultiAddress::Id(Keyring::Bob.account()),
        value: ARCM,
    });
    let extra = SignedExtra {
        era: Era::Immortal,
        nonce: 1_000,
        tip: 0,
    };
    let future = to_hex(&sign_extrinsic(call, &alice, extra, genesis, genesis).encode());
    // system_dryRun (unsafe): the transfer's nonce is in the future, and a garbage
    // extrinsic does not decode: both as ApplyExtrinsicResult's validity errors.
    let dry = bytes_of(&node.rpc("system_dryRun", json!([future])));
    assert_eq!(dry, vec![1, 0, 2], "Err(Invalid(Future)): {dry:?}");
    let dry = bytes_of(&node.rpc("system_dryRun", json!(["0x0102"])));
    assert_eq!(dry[0], 1, "garbage is an Err: {dry:?}");
    let next = u32::decode(
        &mut &bytes_of(&node.rpc(
            "state_call",
            json!([
                "AccountNonceApi_account_nonce",
                to_hex(&Keyring::Alice.account().encode())
            ]),
        ))[..],
    )
    .expect("nonce");
    let call = Call::Balances(balances::Call::TransferKeepAlive {
        dest: MultiAddress::Id(Keyring::Bob.account()),
        value: ARCM,
    });
    let extra = SignedExtra {
        era: Era::Immortal,
        nonce: next,
        tip: 0,
    };
    let now = to_hex(&sign_extrinsic(call, &alice, extra, genesis, genesis).encode());
    let best = node.rpc("chain_getBlockHash", json!([]));
    let bob_before = common::free_balance(&node, &Keyring::Bob.account(), best.as_str());
    let dry = bytes_of(&node.rpc("system_dryRun", json!([now, best])));
    assert_eq!(dry, vec![0, 0], "Ok(Ok(())): {dry:?}");
    assert_eq!(
        common::free_balance(&node, &Keyring::Bob.account(), best.as_str()),
        bob_before,
        "a dry run changes nothing"
    );

    let hash = node.rpc("author_submitExtrinsic", json!([future]));
    let pending = node.rpc("author_pendingExtrinsics", json!([]));
    assert!(pending
        .as_array()
        .expect("pending")
        .contains(&json!(future)));
    let removed = node.rpc("author_removeExtrinsic", json!([[{ "hash": hash }]]));
    assert_eq!(removed, json!([hash]));
    let pending = node.rpc("author_pendingExtrinsics", json!([]));
    assert!(!pending
        .as_array()
        .expect("pending")
        .contains(&json!(future)));
    let garbage = node
        .try_rpc("author_removeExtrinsic", json!([[{ "nothing": 1 }]]))
        .expect_err("an item that is neither hash nor extrinsic");
    assert!(garbage.to_string().contains("hash"), "{garbage}");

    // state_subscribeRuntimeVersion reports the version at once.
    let mut socket = ws::WebSocket::open(&node, None).expect("websocket");
    let subscription = socket.call("state_subscribeRuntimeVersion", json!([]));
    assert!(
        subscription["result"].is_string() || subscription["result"].is_u64(),
        "{subscription}"
    );
    let notification = socket.recv_json();
    assert_eq!(
        notification["method"], "state_runtimeVersion",
        "{notification}"
    );
    assert_eq!(notification["params"]["result"]["specName"], "arceon");
}
