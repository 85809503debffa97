use super::*;
use arceon_primitives::keyring::Keyring;
use arceon_primitives::{Digest as HeaderDigest, DigestItem, AURA_ENGINE_ID};
use arceon_support::{DispatchError, EventRecord, MemoryState, Phase};

fn alice() -> AccountId32 {
    Keyring::Alice.account()
}

#[test]
fn storage_keys_match_frame() {
    // twox128("System") ++ twox128("Number"), as every Substrate tool computes it.
    assert_eq!(
        hex::encode(Number::key()),
        "26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac"
    );
    assert_eq!(
        hex::encode(events_key()),
        "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7"
    );
    let key = Account::key(&alice());
    assert_eq!(
        hex::encode(&key[..32]),
        "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"
    );
    assert_eq!(&key[48..], alice().as_ref() as &[u8]);
}

#[test]
fn account_info_encodes_like_substrate() {
    let info = AccountInfo {
        nonce: 1,
        consumers: 2,
        providers: 3,
        sufficients: 4,
        data: AccountData {
            free: 5,
            reserved: 6,
            frozen: 7,
            flags: NEW_LOGIC_FLAG,
        },
    };
    let bytes = info.encode();
    // 4 u32 + 4 u128.
    assert_eq!(bytes.len(), 16 + 64);
    assert_eq!(&bytes[..4], &1u32.to_le_bytes());
    assert_eq!(&bytes[16..32], &5u128.to_le_bytes());
    assert_eq!(AccountInfo::decode(&mut &bytes[..]).expect("decode"), info);
}

#[test]
fn accounts_are_created_and_killed_with_events() {
    let state = MemoryState::new();
    let mut ext = Ext::new(&state);
    let mut info = AccountInfo {
        providers: 1,
        ..Default::default()
    };
    put_account(&mut ext, &alice(), &info);
    assert!(account_exists(&mut ext, &alice()));
    inc_account_nonce(&mut ext, &alice());
    assert_eq!(account_nonce(&mut ext, &alice()), 1);
    info = account(&mut ext, &alice());
    info.providers = 0;
    put_account(&mut ext, &alice(), &info);
    assert!(!account_exists(&mut ext, &alice()));
    let events = ext.take_events();
    let record = |event: Event| {
        EventRecord {
            phase: Phase::Initialization,
            event: (PALLET_INDEX, event),
            topics: vec![],
        }
        .encode()
    };
    assert_eq!(
        events,
        vec![
            record(Event::NewAccount { account: alice() }),
            record(Event::KilledAccount { account: alice() })
        ]
    );
}

#[test]
fn initialize_and_finalize_write_block_items_and_events() {
    let state = MemoryState::new();
    let mut ext = Ext::new(&state);
    let parent = H256::repeat_byte(7);
    let digest = HeaderDigest {
        logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, 5u64.encode())],
    };
    initialize(&mut ext, 1, parent, &digest);
    assert_eq!(Number::get(&mut ext), Some(1));
    assert_eq!(ParentHash::get(&mut ext), Some(parent));
    assert_eq!(BlockHash::get(&mut ext, &0), Some(parent));
    assert_eq!(Digest::get(&mut ext), Some(digest));
    ext.set_phase(Phase::ApplyExtrinsic(0));
    Call::RemarkWithEvent {
        remark: b"hello".to_vec(),
    }
    .dispatch(&mut ext, Origin::Signed(alice()))
    .expect("remark");
    note_applied_extrinsic(
        &mut ext,
        42,
        Weight::from_parts(10, 1),
        DispatchClass::Normal,
    );
    finalize(&mut ext);
    assert_eq!(ExtrinsicCount::get(&mut ext), Some(1));
    assert_eq!(AllExtrinsicsLen::get(&mut ext), Some(42));
    assert_eq!(EventCount::get(&mut ext), Some(1));
    let raw = ext.get(&events_key()).expect("events stored");
    let records: Vec<EventRecord<(u8, Event)>> = Decode::decode(&mut &raw[..]).expect("decode");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].phase, Phase::ApplyExtrinsic(0));
    assert_eq!(
        records[0].event,
        (
            PALLET_INDEX,
            Event::Remarked {
                sender: alice(),
                hash: H256(blake2_256(b"hello"))
            }
        )
    );
}

#[test]
fn block_hash_history_is_bounded_but_keeps_genesis() {
    let state = MemoryState::new();
    let mut ext = Ext::new(&state);
    let digest = HeaderDigest::default();
    for n in 1..=(BLOCK_HASH_COUNT + 10) {
        initialize(&mut ext, n, H256::from_low_u64_be(n as u64), &digest);
    }
    assert!(BlockHash::get(&mut ext, &0).is_some(), "genesis kept");
    assert!(BlockHash::get(&mut ext, &5).is_none(), "old hash pruned");
    assert!(BlockHash::get(&mut ext, &(BLOCK_HASH_COUNT + 9)).is_some());
    assert_eq!(BlockHash::count(&mut ext), BLOCK_HASH_COUNT as usize + 1);
}

#[test]
fn root_calls_reject_signed_origins() {
    let state = MemoryState::new();
    let mut ext = Ext::new(&state);
    let call = Call::SetStorage {
        items: vec![(b"k".to_vec(), b"v".to_vec())],
    };
    assert_eq!(
        call.clone().dispatch(&mut ext, Origin::Signed(alice())),
        Err(DispatchError::BadOrigin)
    );
    assert_eq!(ext.get(b"k"), None);
    call.dispatch(&mut ext, Origin::Root).expect("root");
    assert_eq!(ext.get(b"k"), Some(b"v".to_vec()));
    Call::KillStorage {
        keys: vec![b"k".to_vec()],
    }
    .dispatch(&mut ext, Origin::Root)
    .expect("root");
    assert_eq!(ext.get(b"k"), None);
    assert_eq!(
        Call::Remark { remark: vec![] }.dispatch(&mut ext, Origin::None),
        Err(DispatchError::BadOrigin)
    );
}
