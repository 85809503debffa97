//! The executive: builds blocks extrinsic by extrinsic, re-executes imported blocks and
//! validates transactions for the pool.
//!
//! Checks run in Substrate's order — decode, block limits, signature (bound to genesis
//! hash, runtime version and era checkpoint), era, nonce, fee — and nothing is written
//! until the last of them, the fee withdrawal, has succeeded. After that the extrinsic is
//! applied whatever its call does: the nonce is bumped, the fee goes to the block author,
//! and the call runs in a transactional layer that is rolled back if it fails.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use arceon_pallet_balances::{self as balances, Existence};
use arceon_pallet_system as system;
use arceon_primitives::{
    AccountId32, AdditionalSigned, Block, BlockNumber, CheckedSignature, Digest, DigestItem, Era,
    Header, InvalidTransaction, MultiSignature, SignedExtra, SignedPayload, TransactionSource,
    TransactionValidity, TransactionValidityError, UnknownTransaction, ValidTransaction, H256,
};
use arceon_state::{ordered_trie_root, NodeStore, StateDelta, TrieState};
use arceon_support::{DispatchError, DispatchInfo, Ext, Origin, Phase, StateRead, StorageChanges};
use codec::Encode;

use crate::aura::{self, SlotError};
use crate::payment::{self, compute_fee, InclusionFee};
use crate::{extrinsic_weight, limits, Call, Extrinsic};

/// The outcome of a dispatch that was applied (its fee paid): `Err` if the call failed.
pub type DispatchOutcome = Result<(), DispatchError>;

/// What applying one extrinsic gives, as Substrate's `ApplyExtrinsicResult`: `Err` when
/// the extrinsic is not valid here (nothing was written), else the dispatch outcome.
pub type ApplyExtrinsicResult = Result<DispatchOutcome, TransactionValidityError>;

/// Why a block cannot be built or imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The block's number is not its parent's plus one.
    #[error("block number {number} does not follow the parent state's {parent}")]
    NumberMismatch {
        /// The block's number.
        number: BlockNumber,
        /// The parent state's block number.
        parent: BlockNumber,
    },
    /// The Aura slot claim is wrong.
    #[error("slot: {0}")]
    Slot(#[from] SlotError),
    /// An extrinsic in the block is not valid at its position.
    #[error("extrinsic {index} is invalid: {error}")]
    InvalidExtrinsic {
        /// Its position in the block.
        index: usize,
        /// Why.
        error: TransactionValidityError,
    },
    /// The state root in the header is not the one execution produced.
    #[error("state root mismatch: header says {expected:?}, execution gives {computed:?}")]
    StateRootMismatch {
        /// From the header.
        expected: H256,
        /// From execution.
        computed: H256,
    },
    /// The extrinsics root in the header does not match the block's extrinsics.
    #[error("extrinsics root mismatch: header says {expected:?}, extrinsics give {computed:?}")]
    ExtrinsicsRootMismatch {
        /// From the header.
        expected: H256,
        /// From the extrinsics.
        computed: H256,
    },
    /// The parent state could not be read (missing node, corrupt value, pruned state).
    #[error("state: {0}")]
    State(String),
    /// The header's digest is not the pre-runtime items plus the logs execution deposited
    /// (a consensus log such as a GRANDPA set change is missing, forged or altered).
    #[error("digest mismatch: header has {expected} items, execution gives {computed}")]
    DigestMismatch {
        /// Items in the header's (unsealed) digest.
        expected: usize,
        /// Items execution produced.
        computed: usize,
    },
}

/// A block built by [`BlockBuilder::finalize`]: the header is unsealed.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// The header, without a seal.
    pub header: Header,
    /// The applied extrinsics.
    pub extrinsics: Vec<Vec<u8>>,
    /// The new state's trie nodes.
    pub delta: StateDelta,
    /// Every storage key the block wrote, with its new value (`None`: deleted).
    pub changes: Arc<StorageChanges>,
    /// The block's events, as encoded `EventRecord`s.
    pub events: Vec<Vec<u8>>,
    /// Time spent computing the new state root.
    pub state_root_time: Duration,
}

/// An imported block after re-execution.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    /// The new state's trie nodes (its root equals the header's state root).
    pub delta: StateDelta,
    /// Every storage key the block wrote, with its new value (`None`: deleted).
    pub changes: Arc<StorageChanges>,
    /// The block's events, as encoded `EventRecord`s.
    pub events: Vec<Vec<u8>>,
    /// Time spent computing the new state root.
    pub state_root_time: Duration,
    /// Time spent verifying the extrinsics' signatures in batches.
    pub signature_time: Duration,
}

/// The signature check an extrinsic still needs.
enum Signature {
    /// Verify it now.
    Verify,
    /// Already verified in a batch for this signer.
    Verified(CheckedSignature),
}

/// Builds one block on top of a parent state: `new` initialises it, `apply_extrinsic`
/// adds extrinsics, `finalize` computes the roots.
pub struct BlockBuilder<'a, S: NodeStore> {
    parent: &'a TrieState<S>,
    ext: Ext<'a>,
    number: BlockNumber,
    parent_hash: H256,
    digest: Digest,
    author: AccountId32,
    genesis_hash: H256,
    extrinsics: Vec<Vec<u8>>,
}

impl<'a, S: NodeStore> BlockBuilder<'a, S> {
    /// Starts block `number` on `parent` (the state of block `number - 1`, whose hash is
    /// `parent_hash`). `digest` must claim an Aura slot after the parent's.
    pub fn new(
        parent: &'a TrieState<S>,
        parent_hash: H256,
        number: BlockNumber,
        digest: Digest,
        genesis_hash: H256,
    ) -> Result<Self, BlockError> {
        let mut ext = Ext::new(parent);
        let parent_number = system::Number::get_or_default(&mut ext);
        if parent_number.checked_add(1) != Some(number) {
            return Err(BlockError::NumberMismatch {
                number,
                parent: parent_number,
            });
        }
        system::initialize(&mut ext, number, parent_hash, &digest);
        let author_key = aura::on_initialize(&mut ext, &digest)?;
        let author = crate::author_account(&mut ext, &author_key);
        crate::note_author(&mut ext, &author);
        let hooks_weight = crate::on_initialize(&mut ext, number);
        system::BlockWeight::mutate(&mut ext, |consumed| {
            consumed.mandatory = consumed.mandatory.saturating_add(hooks_weight)
        });
        if let Some(fault) = ext.take_fault() {
            return Err(BlockError::State(fault));
        }
        Ok(BlockBuilder {
            parent,
            ext,
            number,
            parent_hash,
            digest,
            author,
            genesis_hash,
            extrinsics: Vec::new(),
        })
    }

    /// The author of this block (from its slot).
    pub fn author(&self) -> &AccountId32 {
        &self.author
    }

    /// How many extrinsics were applied.
    pub fn extrinsic_count(&self) -> usize {
        self.extrinsics.len()
    }

    /// The state as the block sees it so far (for reads between extrinsics).
    pub fn ext(&mut self) -> &mut Ext<'a> {
        &mut self.ext
    }

    /// Checks and applies one encoded extrinsic. On `Err`, the extrinsic is not part of
    /// the block and the state is unchanged.
    pub fn apply_extrinsic(&mut self, encoded: Vec<u8>) -> ApplyExtrinsicResult {
        let xt = Extrinsic::decode_exact(&encoded).map_err(|_| InvalidTransaction::Call)?;
        self.apply(encoded, xt, Signature::Verify)
    }

    fn apply(
        &mut self,
        encoded: Vec<u8>,
        xt: Extrinsic,
        signature: Signature,
    ) -> ApplyExtrinsicResult {
        let len = encoded.len() as u32;
        let info = xt.function.info();
        let weight = extrinsic_weight(&info);
        // Every class is bounded, operational evidence included: fee-free reports must
        // not buy a block more work than its weight allows.
        let consumed = system::BlockWeight::get_or_default(&mut self.ext);
        if !limits::weight_fits(&consumed, info.class, weight) {
            return Err(InvalidTransaction::ExhaustsResources.into());
        }
        let total_len = system::AllExtrinsicsLen::get_or_default(&mut self.ext);
        if !limits::length_fits(total_len, info.class, len) {
            return Err(InvalidTransaction::ExhaustsResources.into());
        }
        let Some((_, _, extra)) = &xt.signature else {
            return self.apply_unsigned(encoded, xt, len, info, weight);
        };
        let extra = *extra;
        let current = self.number;
        let signer = match signature {
            Signature::Verified(checked) => checked.signer,
            Signature::Verify => {
                let (genesis, parent) = (self.genesis_hash, self.parent_hash);
                verify_signature(&mut self.ext, &xt, current, genesis, parent)?
            }
        };
        let account_nonce = system::account_nonce(&mut self.ext, &signer);
        if extra.nonce < account_nonce {
            return Err(InvalidTransaction::Stale.into());
        }
        if extra.nonce > account_nonce {
            return Err(InvalidTransaction::Future.into());
        }

        let index = self.extrinsics.len() as u32;
        self.ext.set_phase(Phase::ApplyExtrinsic(index));
        let fee = compute_fee(len, weight);
        charge_fee(&mut self.ext, &signer, fee, extra.tip)?;
        // From here on the extrinsic is in the block, whatever its call does.
        system::inc_account_nonce(&mut self.ext, &signer);
        let paid = fee.total().saturating_add(extra.tip);
        balances::deposit_creating(&mut self.ext, &self.author, paid);
        self.ext.deposit_event(
            crate::pallet_index::TRANSACTION_PAYMENT,
            &payment::Event::TransactionFeePaid {
                who: signer.clone(),
                actual_fee: paid,
                tip: extra.tip,
            },
        );
        let origin = Origin::Signed(signer);
        let outcome = self
            .ext
            .transactional(|ext| xt.function.dispatch(ext, origin));
        let dispatch_info = DispatchInfo { weight, ..info };
        let event = match outcome {
            Ok(()) => system::Event::ExtrinsicSuccess { dispatch_info },
            Err(dispatch_error) => system::Event::ExtrinsicFailed {
                dispatch_error,
                dispatch_info,
            },
        };
        system::deposit_event(&mut self.ext, &event);
        system::note_applied_extrinsic(&mut self.ext, len, weight, info.class);
        self.extrinsics.push(encoded);
        Ok(outcome)
    }

    /// Applies an unsigned extrinsic: only calls whose pallet vouches for them (evidence
    /// and heartbeats, which carry their own proof) are valid; they pay no fee.
    fn apply_unsigned(
        &mut self,
        encoded: Vec<u8>,
        xt: Extrinsic,
        len: u32,
        info: DispatchInfo,
        weight: arceon_support::Weight,
    ) -> ApplyExtrinsicResult {
        let checked = xt.function.check_unsigned(&mut self.ext)?;
        let index = self.extrinsics.len() as u32;
        self.ext.set_phase(Phase::ApplyExtrinsic(index));
        let must_succeed = xt.function.must_succeed();
        let outcome = self
            .ext
            .transactional(|ext| xt.function.dispatch_unsigned(ext, checked));
        if must_succeed {
            if let Err(error) = outcome {
                // Rolled back: the extrinsic is not part of the block.
                return Err(InvalidTransaction::Custom(dispatch_error_code(&error)).into());
            }
        }
        let dispatch_info = DispatchInfo {
            weight,
            pays_fee: arceon_support::Pays::No,
            ..info
        };
        let event = match outcome {
            Ok(()) => system::Event::ExtrinsicSuccess { dispatch_info },
            Err(dispatch_error) => system::Event::ExtrinsicFailed {
                dispatch_error,
                dispatch_info,
            },
        };
        system::deposit_event(&mut self.ext, &event);
        system::note_applied_extrinsic(&mut self.ext, len, weight, info.class);
        self.extrinsics.push(encoded);
        Ok(outcome)
    }

    /// Ends the block: writes its events, computes the extrinsics root and the new state
    /// root. The header is returned unsealed.
    pub fn finalize(mut self) -> Result<BuiltBlock, BlockError> {
        self.ext.set_phase(Phase::Finalization);
        crate::on_finalize(&mut self.ext, self.number);
        system::finalize(&mut self.ext);
        if let Some(fault) = self.ext.take_fault() {
            return Err(BlockError::State(fault));
        }
        // The pre-runtime items plus every log the runtime deposited.
        let digest = system::Digest::get(&mut self.ext).unwrap_or(self.digest);
        if let Some(fault) = self.ext.take_fault() {
            return Err(BlockError::State(fault));
        }
        let events = self.ext.events().to_vec();
        let changes = self.ext.into_changes();
        let started = Instant::now();
        let delta = self
            .parent
            .apply_changes(changes.iter().map(|(key, value)| (key, value.as_ref())))
            .map_err(|e| BlockError::State(e.to_string()))?;
        let state_root_time = started.elapsed();
        let header = Header {
            parent_hash: self.parent_hash,
            number: self.number,
            state_root: delta.root,
            extrinsics_root: ordered_trie_root(&self.extrinsics),
            digest,
        };
        Ok(BuiltBlock {
            header,
            extrinsics: self.extrinsics,
            delta,
            changes: Arc::new(changes),
            events,
            state_root_time,
        })
    }
}

/// A one-byte code for a dispatch error that makes an extrinsic invalid: the module
/// error's index (for a fast-lane batch, [`arceon_pallet_fastlane::Error`]), else 255.
fn dispatch_error_code(error: &arceon_support::DispatchError) -> u8 {
    match error {
        arceon_support::DispatchError::Module(module) => module.error,
        _ => u8::MAX,
    }
}

/// Withdraws fee and tip, keeping the account alive; `Payment` if it cannot.
fn charge_fee(
    ext: &mut Ext,
    who: &AccountId32,
    fee: InclusionFee,
    tip: arceon_primitives::Balance,
) -> Result<(), TransactionValidityError> {
    let total = fee.total().saturating_add(tip);
    balances::withdraw(ext, who, total, Existence::KeepAlive)
        .map_err(|_| InvalidTransaction::Payment.into())
}

/// The hash the signer bound its era to: the genesis hash for immortal transactions, else
/// the hash of the era's birth block. `latest` is the newest block whose hash the state
/// does not hold yet (the parent of the block being built).
fn checkpoint_hash(
    ext: &mut Ext,
    birth: u64,
    genesis_hash: H256,
    latest: (BlockNumber, H256),
) -> Option<H256> {
    if birth == 0 {
        return Some(genesis_hash);
    }
    if birth == latest.0 as u64 {
        return Some(latest.1);
    }
    let birth = BlockNumber::try_from(birth).ok()?;
    system::BlockHash::get(ext, &birth)
}

fn additional_signed(genesis_hash: H256, era_checkpoint: H256) -> AdditionalSigned {
    AdditionalSigned {
        spec_version: crate::SPEC_VERSION,
        transaction_version: crate::TRANSACTION_VERSION,
        genesis_hash,
        era_checkpoint,
    }
}

/// The message `xt`'s signer must have signed for block `current`, or why there is none.
fn signing_message(
    ext: &mut Ext,
    xt: &Extrinsic,
    current: BlockNumber,
    genesis_hash: H256,
    parent_hash: H256,
) -> Result<Vec<u8>, TransactionValidityError> {
    let Some((_, _, extra)) = &xt.signature else {
        return Err(UnknownTransaction::NoUnsignedValidator.into());
    };
    let latest = (current.saturating_sub(1), parent_hash);
    let birth = extra.era.birth(current as u64);
    let checkpoint = checkpoint_hash(ext, birth, genesis_hash, latest)
        .ok_or(InvalidTransaction::AncientBirthBlock)?;
    let call = xt.function.encode();
    Ok(SignedPayload {
        call: &call,
        extra: *extra,
        additional: additional_signed(genesis_hash, checkpoint),
    }
    .message())
}

/// Verifies `xt`'s signature for block `current`, naming the cause when it fails: an
/// expired era (the signature is valid for an earlier era window) is `AncientBirthBlock`,
/// anything else (wrong key, another chain's genesis hash, another runtime) `BadProof`.
fn verify_signature(
    ext: &mut Ext,
    xt: &Extrinsic,
    current: BlockNumber,
    genesis_hash: H256,
    parent_hash: H256,
) -> Result<AccountId32, TransactionValidityError> {
    let Some((address, signature, extra)) = &xt.signature else {
        return Err(UnknownTransaction::NoUnsignedValidator.into());
    };
    let signer = address
        .account()
        .ok_or(UnknownTransaction::CannotLookup)?
        .clone();
    let message = signing_message(ext, xt, current, genesis_hash, parent_hash)?;
    if verify_cached(signature, &message, &signer) {
        return Ok(signer);
    }
    if let Era::Mortal { period, .. } = extra.era {
        let birth = extra.era.birth(current as u64);
        if birth >= period {
            let latest = (current.saturating_sub(1), parent_hash);
            if let Some(old) = checkpoint_hash(ext, birth - period, genesis_hash, latest) {
                let call = xt.function.encode();
                let expired = SignedPayload {
                    call: &call,
                    extra: *extra,
                    additional: additional_signed(genesis_hash, old),
                };
                if signature.verify(&expired.message(), &signer) {
                    return Err(InvalidTransaction::AncientBirthBlock.into());
                }
            }
        }
    }
    Err(InvalidTransaction::BadProof.into())
}

/// `signature.verify(message, signer)`, through the node's verified-signature cache for
/// sr25519: the pool verifies a transaction's signature when it arrives, and block
/// building and the pool's revalidation on each new block then find it there instead of
/// verifying it again. Only signatures that verified are cached (keyed by message,
/// signature and key), so the cache never makes a bad signature pass.
fn verify_cached(signature: &MultiSignature, message: &[u8], signer: &AccountId32) -> bool {
    match signature {
        MultiSignature::Sr25519(raw) => {
            arceon_pallet_fastlane::sigcache::verify(message, raw, signer.as_ref())
        }
        other => other.verify(message, signer),
    }
}

/// Verifies the sr25519 signatures of `extrinsics` (encoded, as submitted to the pool) for
/// a block on `at` in batches spread over the cores, and remembers the valid ones in the
/// verified-signature cache, so that [`validate_transaction`] then finds them there. Its
/// verdicts are not returned: an undecodable extrinsic or a bad signature is left for
/// `validate_transaction` to name.
pub fn preverify_signatures(
    state: &dyn StateRead,
    at: H256,
    extrinsics: &[&[u8]],
    genesis_hash: H256,
) {
    let mut ext = Ext::new(state);
    let current = system::Number::get_or_default(&mut ext).saturating_add(1);
    let mut items: Vec<(Vec<u8>, [u8; 64], AccountId32)> = Vec::with_capacity(extrinsics.len());
    for encoded in extrinsics {
        let Ok(xt) = Extrinsic::decode_exact(encoded) else {
            continue;
        };
        let Some((address, MultiSignature::Sr25519(signature), _)) = &xt.signature else {
            continue;
        };
        let Some(signer) = address.account() else {
            continue;
        };
        if let Ok(message) = signing_message(&mut ext, &xt, current, genesis_hash, at) {
            items.push((message, *signature, signer.clone()));
        }
    }
    if ext.take_fault().is_some() || items.is_empty() {
        return;
    }
    let threads = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = items.len().div_ceil(threads).max(16);
    if chunk >= items.len() {
        let batch: Vec<(&[u8], &[u8; 64], &[u8; 32])> = items
            .iter()
            .map(|(message, signature, signer)| (message.as_slice(), signature, signer.as_ref()))
            .collect();
        arceon_pallet_fastlane::sigcache::verify_batch(&batch);
        return;
    }
    thread::scope(|scope| {
        for part in items.chunks(chunk) {
            scope.spawn(move || {
                let batch: Vec<(&[u8], &[u8; 64], &[u8; 32])> = part
                    .iter()
                    .map(|(message, signature, signer)| {
                        (message.as_slice(), signature, signer.as_ref())
                    })
                    .collect();
                arceon_pallet_fastlane::sigcache::verify_batch(&batch)
            });
        }
    });
}

/// Re-executes an imported block on its parent's state and checks both roots.
///
/// Signatures are verified in batches on background threads while this thread executes
/// the extrinsics, trusting the signers they name; only when every batch has verified is
/// the result used. If any batch fails, the block is executed again from the parent state
/// with one-by-one checks, so the error names the offending extrinsic and its cause.
pub fn execute_block<S: NodeStore>(
    parent: &TrieState<S>,
    block: &Block,
    genesis_hash: H256,
) -> Result<ExecutedBlock, BlockError> {
    let (header, _seal) = block.header.split_seal();
    let computed = ordered_trie_root(&block.extrinsics);
    if computed != header.extrinsics_root {
        return Err(BlockError::ExtrinsicsRootMismatch {
            expected: header.extrinsics_root,
            computed,
        });
    }
    // Execution starts from the author's pre-runtime items only; the runtime deposits the
    // rest, which must then equal the header's digest.
    let pre_runtime = Digest {
        logs: header
            .digest
            .logs
            .iter()
            .filter(|item| matches!(item, DigestItem::PreRuntime(..)))
            .cloned()
            .collect(),
    };
    let new_builder = || {
        BlockBuilder::new(
            parent,
            header.parent_hash,
            header.number,
            pre_runtime.clone(),
            genesis_hash,
        )
    };
    let mut builder = new_builder()?;
    let mut decoded = Vec::with_capacity(block.extrinsics.len());
    for (index, encoded) in block.extrinsics.iter().enumerate() {
        let xt = Extrinsic::decode_exact(encoded).map_err(|_| BlockError::InvalidExtrinsic {
            index,
            error: InvalidTransaction::Call.into(),
        })?;
        decoded.push(xt);
    }
    let (items, signers) = signature_batch(&mut builder, &decoded);
    let started = Instant::now();
    let (optimistic, all_valid, signature_time) = thread::scope(|scope| {
        let verifier = scope.spawn(|| {
            let valid = verify_in_parallel(&items);
            (valid, started.elapsed())
        });
        // Lane player signatures are in `items` too: the optimistic run takes them as
        // valid, and a failure re-runs the block checking each one.
        let optimistic = arceon_pallet_fastlane::sigcache::with_player_signatures_assumed(|| {
            apply_all(
                builder,
                &decoded,
                &block.extrinsics,
                |index| match &signers[index] {
                    Some(checked) => Signature::Verified(checked.clone()),
                    None => Signature::Verify,
                },
            )
        });
        let (valid, took) = verifier.join().unwrap_or((false, started.elapsed()));
        (optimistic, valid, took)
    });
    let built = if all_valid {
        optimistic?
    } else {
        // Some signature is bad: find which, checking each in order.
        drop(optimistic);
        apply_all(new_builder()?, &decoded, &block.extrinsics, |_| {
            Signature::Verify
        })?
    };
    if built.header.digest != header.digest {
        return Err(BlockError::DigestMismatch {
            expected: header.digest.logs.len(),
            computed: built.header.digest.logs.len(),
        });
    }
    if built.header.state_root != header.state_root {
        return Err(BlockError::StateRootMismatch {
            expected: header.state_root,
            computed: built.header.state_root,
        });
    }
    Ok(ExecutedBlock {
        delta: built.delta,
        changes: built.changes,
        events: built.events,
        state_root_time: built.state_root_time,
        signature_time,
    })
}

/// Applies every extrinsic of a block and finalizes it.
fn apply_all<S: NodeStore>(
    mut builder: BlockBuilder<'_, S>,
    decoded: &[Extrinsic],
    encoded: &[Vec<u8>],
    signature: impl Fn(usize) -> Signature,
) -> Result<BuiltBlock, BlockError> {
    for (index, (xt, bytes)) in decoded.iter().zip(encoded).enumerate() {
        // A failed call is still part of the block: only validity errors reject it.
        let _dispatch_outcome = builder
            .apply(bytes.clone(), xt.clone(), signature(index))
            .map_err(|error| BlockError::InvalidExtrinsic { index, error })?;
    }
    builder.finalize()
}

/// One signature to verify: message, sr25519 signature, signer.
type SignatureItem = (Vec<u8>, [u8; 64], AccountId32);

/// The sr25519 signatures of a block with the messages they must sign, and the signer
/// each extrinsic claims (`None` where a signature is not sr25519 or has no message;
/// those are checked inline).
fn signature_batch<S: NodeStore>(
    builder: &mut BlockBuilder<'_, S>,
    extrinsics: &[Extrinsic],
) -> (Vec<SignatureItem>, Vec<Option<CheckedSignature>>) {
    let (current, genesis, parent) = (builder.number, builder.genesis_hash, builder.parent_hash);
    let mut items = Vec::with_capacity(extrinsics.len());
    let mut signers = Vec::with_capacity(extrinsics.len());
    for xt in extrinsics {
        let entry = match &xt.signature {
            Some((address, MultiSignature::Sr25519(signature), extra)) => {
                match (
                    address.account(),
                    signing_message(&mut builder.ext, xt, current, genesis, parent),
                ) {
                    (Some(signer), Ok(message)) => {
                        items.push((message, *signature, signer.clone()));
                        Some(CheckedSignature {
                            signer: signer.clone(),
                            extra: *extra,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        signers.push(entry);
        // The player signatures of certified lane batches.
        if let crate::Call::FastLane(arceon_pallet_fastlane::Call::SubmitBatch { batch }) =
            &xt.function
        {
            for signed in &batch.batch.actions {
                items.push((
                    signed.action.signing_message(),
                    signed.signature,
                    signed.action.player.clone(),
                ));
            }
        }
    }
    (items, signers)
}

/// Batch-verifies `items` on all but one core (the caller executes meanwhile), skipping
/// the signatures this node has already verified (the transactions its pool took, the
/// lane actions it certified).
fn verify_in_parallel(items: &[SignatureItem]) -> bool {
    let unverified: Vec<&SignatureItem> = items
        .iter()
        .filter(|(message, signature, signer)| {
            !arceon_pallet_fastlane::sigcache::is_verified(message, signature, signer.as_ref())
        })
        .collect();
    let items = &unverified[..];
    let threads = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .saturating_sub(1)
        .clamp(1, 8);
    let chunk = items.len().div_ceil(threads).max(64);
    thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let batch: Vec<(&[u8], &[u8; 64], &AccountId32)> = part
                        .iter()
                        .map(|(message, signature, signer)| (&message[..], signature, signer))
                        .collect();
                    batch.is_empty() || arceon_primitives::verify_sr25519_batch(&batch)
                })
            })
            .collect();
        handles
            .into_iter()
            .all(|handle| handle.join().unwrap_or(false))
    })
}

/// Validates a transaction for the pool against the state of the best block `at` (number
/// `n`): as if it were applied in block `n + 1`, except that a nonce ahead of the
/// account's is valid, requiring the previous nonce's tag.
pub fn validate_transaction(
    state: &dyn StateRead,
    at: H256,
    _source: TransactionSource,
    encoded: &[u8],
    genesis_hash: H256,
) -> TransactionValidity {
    let xt = Extrinsic::decode_exact(encoded).map_err(|_| InvalidTransaction::Call)?;
    let len = encoded.len() as u32;
    let info = xt.function.info();
    let weight = extrinsic_weight(&info);
    // Refuse only what could not fit even an empty block: how full the next block will
    // be is for its author to find out.
    let empty = system::ConsumedWeight::default();
    if !limits::weight_fits(&empty, info.class, weight) || !limits::length_fits(0, info.class, len)
    {
        return Err(InvalidTransaction::ExhaustsResources.into());
    }
    let mut ext = Ext::new(state);
    let Some((_, _, extra)) = &xt.signature else {
        let validity = xt.function.validate_unsigned(&mut ext)?;
        if ext.take_fault().is_some() {
            return Err(UnknownTransaction::Custom(0).into());
        }
        return Ok(ValidTransaction {
            priority: validity.priority,
            requires: vec![],
            provides: validity.provides,
            longevity: validity.longevity,
            propagate: true,
        });
    };
    let extra: SignedExtra = *extra;
    let best = system::Number::get_or_default(&mut ext);
    let current = best.saturating_add(1);
    let signer = verify_signature(&mut ext, &xt, current, genesis_hash, at)?;
    let account_nonce = system::account_nonce(&mut ext, &signer);
    if extra.nonce < account_nonce {
        return Err(InvalidTransaction::Stale.into());
    }
    let fee = compute_fee(len, weight);
    let total = fee.total().saturating_add(extra.tip);
    if balances::reducible_balance(&mut ext, &signer, Existence::KeepAlive) < total {
        return Err(InvalidTransaction::Payment.into());
    }
    if let Some(fault) = ext.take_fault() {
        // The state could not be read: the pool should retry later, not ban.
        let _ = fault;
        return Err(UnknownTransaction::Custom(0).into());
    }
    let requires = if extra.nonce > account_nonce {
        vec![(signer.clone(), extra.nonce - 1).encode()]
    } else {
        vec![]
    };
    let longevity = match extra.era {
        Era::Immortal => u64::MAX,
        Era::Mortal { .. } => extra
            .era
            .death(current as u64)
            .saturating_sub(current as u64),
    };
    Ok(ValidTransaction {
        priority: u64::try_from(extra.tip).unwrap_or(u64::MAX),
        requires,
        provides: vec![(signer, extra.nonce).encode()],
        longevity,
        propagate: true,
    })
}

/// The fee an extrinsic would pay, as `payment_queryInfo` reports it.
pub fn query_info(
    encoded: &[u8],
) -> Result<payment::RuntimeDispatchInfo, TransactionValidityError> {
    let xt = Extrinsic::decode_exact(encoded).map_err(|_| InvalidTransaction::Call)?;
    let info = xt.function.info();
    let weight = extrinsic_weight(&info);
    Ok(payment::RuntimeDispatchInfo {
        weight,
        class: info.class,
        partial_fee: compute_fee(encoded.len() as u32, weight).total(),
    })
}

/// Signs `call` as `signer` for this runtime: the extrinsic a wallet would submit.
pub fn sign_extrinsic(
    call: Call,
    signer: &arceon_primitives::sr25519::Pair,
    extra: SignedExtra,
    genesis_hash: H256,
    era_checkpoint: H256,
) -> Extrinsic {
    Extrinsic::new_signed(
        call,
        signer,
        extra,
        additional_signed(genesis_hash, era_checkpoint),
    )
}
