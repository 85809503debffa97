//! Every byte of `substrate.json` (copied from shared/test-vectors, produced by Substrate's
//! own tooling) must be reproduced, and every signature in it accepted.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the assertion

use arceon_primitives::keyring::{pair_from_suri, Keyring};
use arceon_primitives::*;
use codec::{Compact, Decode, Encode};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("substrate.json")).expect("vector file is JSON")
}

fn hex_of(v: &Value) -> Vec<u8> {
    from_hex(v.as_str().expect("hex string")).expect("valid hex")
}

fn h256(v: &Value) -> H256 {
    H256::from_slice(&hex_of(v))
}

#[test]
fn dev_accounts_and_ss58() {
    let v = vectors();
    let accounts = v["accounts_sr25519"].as_array().unwrap();
    assert_eq!(accounts.len(), 6);
    for (entry, key) in accounts.iter().zip(Keyring::ALL) {
        assert_eq!(entry["uri"].as_str().unwrap(), key.suri());
        let account = key.account();
        assert_eq!(account.as_ref() as &[u8], &hex_of(&entry["public"])[..]);
        let address = entry["ss58_prefix_42"].as_str().unwrap();
        assert_eq!(to_ss58(&account), address);
        assert_eq!(parse_account(address).unwrap(), account);
    }
    assert_eq!(
        to_ss58(&Keyring::Alice.account()),
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
}

#[test]
fn bad_addresses_are_typed_errors() {
    assert!(matches!(
        parse_account("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQX"),
        Err(AddressError::BadSs58(_))
    ));
    assert!(matches!(
        parse_account("0x1234"),
        Err(AddressError::BadLength)
    ));
    assert!(matches!(parse_account("0xzz"), Err(AddressError::BadHex)));
    // Alice on Polkadot (prefix 0)
    let polkadot = Keyring::Alice
        .account()
        .to_ss58check_with_version(0u16.into());
    assert_eq!(parse_account(&polkadot), Err(AddressError::WrongPrefix(0)));
}

#[test]
fn storage_key_hashers() {
    let v = vectors();
    let keys = &v["storage_keys"];
    let system = twox_128(b"System");
    assert_eq!(&system[..], &hex_of(&keys["twox128('System')"])[..]);

    let mut number = system.to_vec();
    number.extend(twox_128(b"Number"));
    assert_eq!(number, hex_of(&keys["System.Number"]));

    let mut events = system.to_vec();
    events.extend(twox_128(b"Events"));
    assert_eq!(events, hex_of(&keys["System.Events"]));

    let mut account = system.to_vec();
    account.extend(twox_128(b"Account"));
    let alice = Keyring::Alice.account();
    account.extend(blake2_128(alice.as_ref()));
    account.extend_from_slice(alice.as_ref());
    assert_eq!(
        account,
        hex_of(&keys["System.Account(//Alice) [Blake2_128Concat]"])
    );

    let mut issuance = twox_128(b"Balances").to_vec();
    issuance.extend(twox_128(b"TotalIssuance"));
    assert_eq!(issuance, hex_of(&keys["Balances.TotalIssuance"]));

    let mut twox64 = twox_64(&7u32.encode()).to_vec();
    twox64.extend(7u32.encode());
    assert_eq!(twox64, hex_of(&keys["Twox64Concat(u32 7)"]));
}

#[test]
fn compact_encodings() {
    let v = vectors();
    for (number, encoded) in v["compact_u128"].as_object().unwrap() {
        let n: u128 = number.parse().unwrap();
        let bytes = hex_of(encoded);
        assert_eq!(Compact(n).encode(), bytes, "compact {n}");
        assert_eq!(Compact::<u128>::decode(&mut &bytes[..]).unwrap().0, n);
    }
}

#[test]
fn era_encodings() {
    let v = vectors();
    let eras = &v["era"];
    assert_eq!(Era::Immortal.encode(), hex_of(&eras["immortal"]));
    let cases = [
        ("mortal period=64 current=42", 64, 42),
        ("mortal period=4096 current=1000000", 4096, 1_000_000),
        ("mortal period=65536 current=7", 65536, 7),
    ];
    for (name, period, current) in cases {
        let era = Era::mortal(period, current);
        let bytes = hex_of(&eras[name]);
        assert_eq!(era.encode(), bytes, "{name}");
        assert_eq!(Era::decode(&mut &bytes[..]).unwrap(), era);
    }
}

fn vector_additional(x: &Value) -> AdditionalSigned {
    AdditionalSigned {
        spec_version: x["spec_version"].as_u64().unwrap() as u32,
        transaction_version: x["transaction_version"].as_u64().unwrap() as u32,
        genesis_hash: h256(&x["genesis_hash"]),
        era_checkpoint: h256(&x["era_checkpoint_hash"]),
    }
}

#[test]
fn signed_extrinsic_v4() {
    let v = vectors();
    let x = &v["signed_extrinsic_v4"];
    let call = hex_of(&x["call_opaque"]);
    let era = Era::decode(&mut &hex_of(&x["era"])[..]).unwrap();
    let extra = SignedExtra {
        era,
        nonce: x["nonce"].as_u64().unwrap() as u32,
        tip: x["tip"].as_u64().unwrap() as u128,
    };
    let additional = vector_additional(x);
    let payload = SignedPayload {
        call: &call,
        extra,
        additional,
    };
    assert_eq!(payload.raw(), hex_of(&x["signed_payload"]));
    assert_eq!(
        payload.message(),
        payload.raw(),
        "short payloads are signed as is"
    );

    // Reproduce the extrinsic bytes from its parts.
    let signature: [u8; 64] = hex_of(&x["signature_sr25519"]).try_into().unwrap();
    let signer = parse_account(x["signer"].as_str().unwrap()).unwrap();
    let xt = UncheckedExtrinsic {
        signature: Some((
            MultiAddress::Id(signer.clone()),
            MultiSignature::Sr25519(signature),
            extra,
        )),
        function: OpaqueCall(call.clone()),
    };
    let encoded = hex_of(&x["extrinsic"]);
    assert_eq!(xt.encode(), encoded);
    assert_eq!(xt.hash(), h256(&x["extrinsic_hash_blake2_256"]));

    // Decode it back and accept its signature.
    let decoded = UncheckedExtrinsic::<OpaqueCall>::decode_exact(&encoded).unwrap();
    assert_eq!(decoded, xt);
    let checked = decoded.check_signature(additional).unwrap().unwrap();
    assert_eq!(checked.signer, Keyring::Alice.account());

    // Another genesis hash: the same signature no longer verifies.
    let mut other_chain = additional;
    other_chain.genesis_hash = H256::repeat_byte(0x33);
    assert_eq!(
        decoded.check_signature(other_chain),
        Err(SignatureError::BadProof)
    );
    // Batch verification agrees.
    let message = payload.message();
    assert!(verify_sr25519_batch(&[(&message[..], &signature, &signer)]));
    let other = SignedPayload {
        call: &call,
        extra,
        additional: other_chain,
    }
    .message();
    assert!(!verify_sr25519_batch(&[
        (&message[..], &signature, &signer),
        (&other[..], &signature, &signer)
    ]));
    // Trailing garbage is rejected.
    let mut longer = encoded.clone();
    longer.push(0);
    assert!(UncheckedExtrinsic::<OpaqueCall>::decode_exact(&longer).is_err());
}

#[test]
fn long_payload_is_hashed_and_signature_accepted() {
    let v = vectors();
    let x = &v["signed_payload_over_256_bytes"];
    let raw = hex_of(&x["signed_payload"]);
    assert!(raw.len() > 256);
    let message = blake2_256(&raw);
    assert_eq!(
        &message[..],
        &hex_of(&x["signed_message_is_blake2_256_of_payload"])[..]
    );
    let sig: [u8; 64] = hex_of(&x["signature_sr25519_by_alice"]).try_into().unwrap();
    assert!(MultiSignature::Sr25519(sig).verify(&message, &Keyring::Alice.account()));
    assert!(!MultiSignature::Sr25519(sig).verify(&raw, &Keyring::Alice.account()));
}

#[test]
fn header_encoding_and_hash() {
    let v = vectors();
    let x = &v["header"];
    let header = Header {
        parent_hash: h256(&x["parent_hash"]),
        number: x["number"].as_u64().unwrap() as u32,
        state_root: h256(&x["state_root"]),
        extrinsics_root: h256(&x["extrinsics_root"]),
        digest: Digest {
            logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, 12345u64.encode())],
        },
    };
    let encoded = hex_of(&x["encoded"]);
    assert_eq!(header.encode(), encoded);
    assert_eq!(header.hash(), h256(&x["hash_blake2_256"]));
    assert_eq!(Header::decode(&mut &encoded[..]).unwrap(), header);
}

#[test]
fn signatures_interoperate_with_sp_core() {
    use sp_core::Pair as _;
    let pair = pair_from_suri("//Alice").unwrap();
    let message = b"arceon interop";
    // made here (through MultiSignature), verified by sp-core
    let xt = UncheckedExtrinsic::new_signed(
        OpaqueCall(message.to_vec()),
        &pair,
        SignedExtra {
            era: Era::Immortal,
            nonce: 0,
            tip: 0,
        },
        AdditionalSigned {
            spec_version: 1,
            transaction_version: 1,
            genesis_hash: H256::zero(),
            era_checkpoint: H256::zero(),
        },
    );
    let Some((_, MultiSignature::Sr25519(sig), extra)) = &xt.signature else {
        panic!("signed")
    };
    let payload = SignedPayload {
        call: message,
        extra: *extra,
        additional: AdditionalSigned {
            spec_version: 1,
            transaction_version: 1,
            genesis_hash: H256::zero(),
            era_checkpoint: H256::zero(),
        },
    };
    assert!(sr25519::Pair::verify(
        &sr25519::Signature::from_raw(*sig),
        payload.message(),
        &pair.public()
    ));
    // made by sp-core, verified here
    let sig = pair.sign(message);
    assert!(MultiSignature::Sr25519(sig.0).verify(message, &Keyring::Alice.account()));
    assert!(!MultiSignature::Sr25519(sig.0).verify(message, &Keyring::Bob.account()));
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn extrinsic_round_trip(call in proptest::collection::vec(any::<u8>(), 0..600), nonce: u32, tip: u128, period in 4u64..70_000, current in 0u64..10_000_000, signed: bool, sig in proptest::array::uniform32(any::<u8>())) {
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(&sig);
            let xt = UncheckedExtrinsic {
                signature: signed.then(|| (
                    MultiAddress::Id(AccountId32::new(sig)),
                    MultiSignature::Sr25519(signature),
                    SignedExtra { era: Era::mortal(period, current), nonce, tip },
                )),
                function: OpaqueCall(call),
            };
            let bytes = xt.encode();
            prop_assert_eq!(UncheckedExtrinsic::<OpaqueCall>::decode_exact(&bytes).unwrap(), xt);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = UncheckedExtrinsic::<OpaqueCall>::decode_exact(&bytes);
            let _ = Header::decode(&mut &bytes[..]);
            let _ = Block::decode(&mut &bytes[..]);
        }
    }
}
