//! Block building, import and transaction validation through the executive, on a real
//! trie state built from genesis.

use arceon_pallet_balances as balances;
use arceon_pallet_system as system;
use arceon_primitives::{
    keyring::Keyring, Block, Digest, DigestItem, Era, InvalidTransaction, MultiAddress,
    SignedExtra, TransactionSource, TransactionValidityError, UnknownTransaction, ARCM,
    AURA_ENGINE_ID, H256,
};
use arceon_runtime::{
    aura, execute_block, executive::sign_extrinsic, genesis::genesis_block, genesis::AuraConfig,
    genesis::GrandpaConfig, validate_transaction, BlockBuilder, BlockError, Call, GenesisConfig,
    RuntimeEvent,
};
use arceon_state::{verify_read_proof, MemoryNodeStore, TrieState};
use arceon_support::{DispatchError, Ext};
use codec::{Decode, Encode};
use sp_core::Pair as _;

const ENDOWMENT: u128 = 1_000 * ARCM;

struct Chain {
    store: MemoryNodeStore,
    genesis_hash: H256,
    /// (number, hash, state root, slot) of the best block.
    best: (u32, H256, H256, u64),
}

impl Chain {
    fn new() -> Chain {
        let config = GenesisConfig {
            system: Default::default(),
            aura: AuraConfig {
                authorities: vec![Keyring::Alice.pair().public()],
                slot_duration: 1000,
            },
            grandpa: GrandpaConfig {
                authorities: vec![(Keyring::Alice.session_keys().grandpa, 1)],
            },
            balances: balances::GenesisConfig {
                balances: Keyring::ALL
                    .iter()
                    .take(4)
                    .map(|k| (k.account(), ENDOWMENT))
                    .collect(),
            },
            ..Default::default()
        };
        let storage = config.build_storage().expect("genesis");
        let (header, delta) = genesis_block(&storage);
        let store = MemoryNodeStore::from_delta(&delta).expect("store");
        Chain {
            store,
            genesis_hash: header.hash(),
            best: (0, header.hash(), header.state_root, 0),
        }
    }

    fn state(&self) -> TrieState<&MemoryNodeStore> {
        TrieState::new(&self.store, self.best.2)
    }

    fn digest(slot: u64) -> Digest {
        Digest {
            logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
        }
    }

    /// Builds the next block with `extrinsics`, returning it and the apply results.
    fn build(
        &self,
        extrinsics: Vec<Vec<u8>>,
    ) -> (Block, Vec<arceon_runtime::ApplyExtrinsicResult>) {
        let state = self.state();
        let mut builder = BlockBuilder::new(
            &state,
            self.best.1,
            self.best.0 + 1,
            Self::digest(self.best.3 + 1),
            self.genesis_hash,
        )
        .expect("initialize");
        let results = extrinsics
            .into_iter()
            .map(|xt| builder.apply_extrinsic(xt))
            .collect();
        let built = builder.finalize().expect("finalize");
        (
            Block {
                header: built.header,
                extrinsics: built.extrinsics,
            },
            results,
        )
    }

    /// Imports `block` through `execute_block` and makes it the best block.
    fn import(&mut self, block: &Block) -> Result<Vec<RuntimeEvent>, BlockError> {
        let executed = execute_block(&self.state(), block, self.genesis_hash)?;
        self.store.apply(&executed.delta).expect("apply delta");
        let slot = block.header.digest.aura_slot().expect("slot");
        self.best = (
            block.header.number,
            block.header.hash(),
            block.header.state_root,
            slot,
        );
        Ok(executed
            .events
            .iter()
            .map(|raw| {
                arceon_runtime::EventRecord::decode(&mut &raw[..])
                    .expect("event")
                    .event
            })
            .collect())
    }

    fn free(&self, who: &Keyring) -> u128 {
        let state = self.state();
        let mut ext = Ext::new(&state);
        balances::free_balance(&mut ext, &who.account())
    }

    fn nonce(&self, who: &Keyring) -> u32 {
        let state = self.state();
        let mut ext = Ext::new(&state);
        system::account_nonce(&mut ext, &who.account())
    }

    fn transfer(&self, from: Keyring, to: Keyring, value: u128, nonce: u32) -> Vec<u8> {
        self.signed(
            from,
            Call::Balances(balances::Call::TransferAllowDeath {
                dest: MultiAddress::Id(to.account()),
                value,
            }),
            nonce,
            Era::Immortal,
            self.genesis_hash,
        )
    }

    fn signed(&self, from: Keyring, call: Call, nonce: u32, era: Era, genesis: H256) -> Vec<u8> {
        let checkpoint = match era {
            Era::Immortal => genesis,
            Era::Mortal { .. } => self.block_hash(era.birth(self.best.0 as u64 + 1) as u32),
        };
        sign_extrinsic(
            call,
            &from.pair(),
            SignedExtra { era, nonce, tip: 0 },
            genesis,
            checkpoint,
        )
        .encode()
    }

    fn block_hash(&self, number: u32) -> H256 {
        if number == self.best.0 {
            return self.best.1;
        }
        if number == 0 {
            return self.genesis_hash;
        }
        let state = self.state();
        let mut ext = Ext::new(&state);
        system::BlockHash::get(&mut ext, &number).expect("known block")
    }

    fn issuance(&self) -> u128 {
        let state = self.state();
        let mut ext = Ext::new(&state);
        balances::total_issuance(&mut ext)
    }
}

use Keyring::{Alice, Bob, Charlie, Dave};

#[test]
fn built_blocks_import_and_move_balances() {
    let mut chain = Chain::new();
    let xts = vec![
        chain.transfer(Bob, Charlie, 10 * ARCM, 0),
        chain.transfer(Bob, Dave, 5 * ARCM, 1),
    ];
    let (block, results) = chain.build(xts);
    assert!(
        results.iter().all(|r| matches!(r, Ok(Ok(())))),
        "{results:?}"
    );
    let events = chain.import(&block).expect("import");
    assert_eq!(chain.free(&Charlie), ENDOWMENT + 10 * ARCM);
    assert_eq!(chain.free(&Dave), ENDOWMENT + 5 * ARCM);
    assert_eq!(chain.nonce(&Bob), 2);
    // Bob paid two fees; Alice, the author, received them; nothing was created or lost.
    let bob_paid = ENDOWMENT - 15 * ARCM - chain.free(&Bob);
    assert!(bob_paid > 0);
    assert_eq!(chain.free(&Alice), ENDOWMENT + bob_paid);
    assert_eq!(chain.issuance(), 4 * ENDOWMENT);
    assert!(
        events.contains(&RuntimeEvent::Balances(balances::Event::Transfer {
            from: Bob.account(),
            to: Charlie.account(),
            amount: 10 * ARCM
        }))
    );
    let successes = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                RuntimeEvent::System(system::Event::ExtrinsicSuccess { .. })
            )
        })
        .count();
    assert_eq!(successes, 2);
}

#[test]
fn failed_dispatch_pays_fee_and_bumps_nonce() {
    let mut chain = Chain::new();
    let xt = chain.transfer(Bob, Charlie, 10 * ENDOWMENT, 0);
    let (block, results) = chain.build(vec![xt]);
    let error = match &results[0] {
        Ok(Err(error)) => *error,
        other => panic!("expected a failed dispatch, got {other:?}"),
    };
    assert_eq!(
        error,
        DispatchError::from(balances::Error::InsufficientBalance)
    );
    let events = chain.import(&block).expect("import");
    assert_eq!(chain.nonce(&Bob), 1);
    assert!(chain.free(&Bob) < ENDOWMENT, "fee was paid");
    assert_eq!(chain.free(&Charlie), ENDOWMENT);
    assert!(events.iter().any(|e| matches!(
        e,
        RuntimeEvent::System(system::Event::ExtrinsicFailed { .. })
    )));
    assert_eq!(chain.issuance(), 4 * ENDOWMENT);
}

/// Imports a block whose only extrinsic is `bad`, checking the typed error and that the
/// chain's state is untouched.
fn assert_block_rejected(chain: &mut Chain, bad: Vec<u8>, expected: TransactionValidityError) {
    let (mut block, _) = chain.build(vec![]);
    block.extrinsics = vec![bad];
    block.header.extrinsics_root = arceon_state::ordered_trie_root(&block.extrinsics);
    let root_before = chain.best.2;
    let balances_before: Vec<u128> = Keyring::ALL.iter().map(|k| chain.free(k)).collect();
    let error = chain.import(&block).expect_err("must be rejected");
    assert_eq!(
        error,
        BlockError::InvalidExtrinsic {
            index: 0,
            error: expected
        }
    );
    assert!(error.to_string().contains("extrinsic 0 is invalid"));
    assert_eq!(chain.best.2, root_before);
    let balances_after: Vec<u128> = Keyring::ALL.iter().map(|k| chain.free(k)).collect();
    assert_eq!(balances_before, balances_after);
}

#[test]
fn block_with_bad_signature_is_rejected() {
    let mut chain = Chain::new();
    let mut xt = chain.transfer(Bob, Charlie, ARCM, 0);
    // Layout: compact length (2 bytes), version, MultiAddress::Id (1 + 32), signature
    // kind (1), then the 64 signature bytes.
    xt[2 + 1 + 33 + 1 + 5] ^= 0x01;
    assert_block_rejected(&mut chain, xt, InvalidTransaction::BadProof.into());
}

#[test]
fn block_with_stale_or_future_nonce_is_rejected() {
    let mut chain = Chain::new();
    let (block, _) = chain.build(vec![chain.transfer(Bob, Charlie, ARCM, 0)]);
    chain.import(&block).expect("import");
    let replay = chain.transfer(Bob, Charlie, ARCM, 0);
    assert_block_rejected(&mut chain, replay, InvalidTransaction::Stale.into());
    let future = chain.transfer(Bob, Charlie, ARCM, 5);
    assert_block_rejected(&mut chain, future, InvalidTransaction::Future.into());
}

#[test]
fn block_with_unpayable_fee_is_rejected() {
    let mut chain = Chain::new();
    // Eve has nothing: she cannot pay the fee.
    let xt = chain.transfer(Keyring::Eve, Charlie, 1, 0);
    assert_block_rejected(&mut chain, xt, InvalidTransaction::Payment.into());
}

#[test]
fn block_with_other_chains_genesis_is_rejected() {
    let mut chain = Chain::new();
    let call = Call::Balances(balances::Call::TransferKeepAlive {
        dest: MultiAddress::Id(Charlie.account()),
        value: ARCM,
    });
    let xt = chain.signed(Bob, call, 0, Era::Immortal, H256::repeat_byte(9));
    assert_block_rejected(&mut chain, xt, InvalidTransaction::BadProof.into());
}

#[test]
fn block_with_expired_era_is_rejected() {
    let mut chain = Chain::new();
    for _ in 0..3 {
        let (block, _) = chain.build(vec![]);
        chain.import(&block).expect("import");
    }
    // Born at block 3 with a 4-block window: valid in blocks 4..=6.
    let era = Era::mortal(4, 3);
    let call = Call::Balances(balances::Call::TransferKeepAlive {
        dest: MultiAddress::Id(Charlie.account()),
        value: ARCM,
    });
    let xt = chain.signed(Bob, call, 0, era, chain.genesis_hash);
    let (_, results) = chain.build(vec![xt.clone()]);
    assert!(matches!(results[0], Ok(Ok(()))), "valid inside its era");
    for _ in 0..4 {
        let (block, _) = chain.build(vec![]);
        chain.import(&block).expect("import");
    }
    assert_block_rejected(&mut chain, xt, InvalidTransaction::AncientBirthBlock.into());
}

#[test]
fn block_with_unknown_call_is_rejected() {
    let mut chain = Chain::new();
    let good = chain.transfer(Bob, Charlie, ARCM, 0);
    // The call is the tail: pallet index, call index, MultiAddress::Id (1 + 32), value.
    let call_start = good.len() - (2 + 33 + codec::Compact(ARCM).encode().len());
    assert_eq!(good[call_start], 5, "balances pallet index");
    let mut unknown_pallet = good.clone();
    unknown_pallet[call_start] = 42;
    assert_block_rejected(&mut chain, unknown_pallet, InvalidTransaction::Call.into());
    let mut unknown_call = good;
    unknown_call[call_start + 1] = 99;
    assert_block_rejected(&mut chain, unknown_call, InvalidTransaction::Call.into());
    assert_block_rejected(
        &mut chain,
        vec![0x0c, 0x04, 0x00],
        InvalidTransaction::Call.into(),
    );
}

#[test]
fn wrong_roots_numbers_and_slots_are_rejected() {
    let mut chain = Chain::new();
    let (block, _) = chain.build(vec![chain.transfer(Bob, Charlie, ARCM, 0)]);
    let mut wrong_state = block.clone();
    wrong_state.header.state_root = H256::repeat_byte(1);
    assert!(matches!(
        chain.import(&wrong_state),
        Err(BlockError::StateRootMismatch { .. })
    ));
    let mut wrong_xts = block.clone();
    wrong_xts.extrinsics.clear();
    assert!(matches!(
        chain.import(&wrong_xts),
        Err(BlockError::ExtrinsicsRootMismatch { .. })
    ));
    let mut no_slot = block.clone();
    no_slot.header.digest.logs.clear();
    assert_eq!(
        chain.import(&no_slot).map(|_| ()),
        Err(BlockError::Slot(aura::SlotError::MissingSlot))
    );
    chain.import(&block).expect("the original imports");
    let mut same_slot = chain.build(vec![]).0;
    same_slot.header.digest = Chain::digest(chain.best.3);
    assert!(matches!(
        chain.import(&same_slot),
        Err(BlockError::Slot(aura::SlotError::SlotNotIncreasing { .. }))
    ));
    let mut skipped = chain.build(vec![]).0;
    skipped.header.number += 1;
    assert!(matches!(
        chain.import(&skipped),
        Err(BlockError::NumberMismatch { .. })
    ));
}

#[test]
fn pool_validation_gives_tags_and_errors() {
    let mut chain = Chain::new();
    let (block, _) = chain.build(vec![chain.transfer(Bob, Charlie, ARCM, 0)]);
    chain.import(&block).expect("import");
    let state = chain.state();
    let at = chain.best.1;
    let validate = |xt: &[u8]| {
        validate_transaction(
            &state,
            at,
            TransactionSource::External,
            xt,
            chain.genesis_hash,
        )
    };
    let ready = validate(&chain.transfer(Bob, Charlie, ARCM, 1)).expect("valid");
    assert_eq!(ready.provides, vec![(Bob.account(), 1u32).encode()]);
    assert!(ready.requires.is_empty());
    let future = validate(&chain.transfer(Bob, Charlie, ARCM, 3)).expect("future is valid");
    assert_eq!(future.requires, vec![(Bob.account(), 2u32).encode()]);
    assert_eq!(
        validate(&chain.transfer(Bob, Charlie, ARCM, 0)),
        Err(InvalidTransaction::Stale.into())
    );
    assert_eq!(
        validate(&chain.transfer(Keyring::Ferdie, Charlie, ARCM, 0)),
        Err(InvalidTransaction::Payment.into())
    );
    assert_eq!(validate(b"garbage"), Err(InvalidTransaction::Call.into()));
    let unsigned = arceon_runtime::Extrinsic::new_unsigned(Call::System(system::Call::Remark {
        remark: vec![],
    }))
    .encode();
    assert_eq!(
        validate(&unsigned),
        Err(UnknownTransaction::NoUnsignedValidator.into())
    );
    // A mortal transaction is valid for the rest of its window.
    let era = Era::mortal(64, chain.best.0 as u64);
    let mortal = chain.signed(
        Bob,
        Call::System(system::Call::Remark { remark: vec![1] }),
        1,
        era,
        chain.genesis_hash,
    );
    let valid = validate(&mortal).expect("mortal");
    assert!(
        valid.longevity > 0 && valid.longevity <= 64,
        "{}",
        valid.longevity
    );
}

#[test]
fn balance_proof_verifies_against_header_state_root() {
    let mut chain = Chain::new();
    let (block, _) = chain.build(vec![chain.transfer(Bob, Charlie, 7 * ARCM, 0)]);
    chain.import(&block).expect("import");
    let key = system::Account::key(&Charlie.account());
    let proof = chain
        .state()
        .read_proof(std::slice::from_ref(&key))
        .expect("proof");
    let proven = verify_read_proof(&block.header.state_root, &proof, std::slice::from_ref(&key))
        .expect("verifies");
    let value = proven[0].1.clone().expect("present");
    let info = system::AccountInfo::decode(&mut &value[..]).expect("account info");
    assert_eq!(info.data.free, ENDOWMENT + 7 * ARCM);
    // Tampering with the node that holds the balance breaks verification.
    let needle = (ENDOWMENT + 7 * ARCM).to_le_bytes();
    let mut tampered = proof.clone();
    for node in tampered.nodes.iter_mut() {
        if let Some(pos) = node.windows(16).position(|w| w == &needle[..]) {
            node[pos] ^= 1;
        }
    }
    assert_ne!(tampered, proof, "the balance was found in the proof");
    let result = verify_read_proof(&block.header.state_root, &tampered, &[key]);
    assert!(result.is_err(), "tampered proof must fail: {result:?}");
}
