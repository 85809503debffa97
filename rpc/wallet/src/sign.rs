//! Offline parts of sending ArcM: building and signing the transfer extrinsic, and the
//! funds checks made before anything is submitted. Nothing here talks to a node.

use arceon_pallet_balances::{self as balances, EXISTENTIAL_DEPOSIT};
use arceon_pallet_system::AccountInfo;
use arceon_primitives::{
    sr25519, AccountId32, AdditionalSigned, Balance, Era, MultiAddress, Nonce, SignedExtra, H256,
};
use arceon_runtime::{Call, Extrinsic};
use codec::Encode;

use crate::error::WalletError;

/// Everything the signature binds a transaction to besides its call: the chain, the
/// runtime version, the era and its checkpoint, the nonce and the tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningContext {
    /// The chain's genesis hash.
    pub genesis_hash: H256,
    /// The node's runtime `specVersion`.
    pub spec_version: u32,
    /// The node's runtime `transactionVersion`.
    pub transaction_version: u32,
    /// Validity window.
    pub era: Era,
    /// Hash of the era's birth block (the genesis hash for immortal transactions).
    pub era_checkpoint: H256,
    /// The sender's nonce.
    pub nonce: Nonce,
    /// Priority tip, in plancks.
    pub tip: Balance,
}

impl SigningContext {
    /// The signed extensions carried in the extrinsic.
    pub fn extra(&self) -> SignedExtra {
        SignedExtra {
            era: self.era,
            nonce: self.nonce,
            tip: self.tip,
        }
    }

    /// What the signature covers beyond the extrinsic itself.
    pub fn additional(&self) -> AdditionalSigned {
        AdditionalSigned {
            spec_version: self.spec_version,
            transaction_version: self.transaction_version,
            genesis_hash: self.genesis_hash,
            era_checkpoint: self.era_checkpoint,
        }
    }
}

/// The balances call for a transfer: `transfer_keep_alive` when `keep_alive` (fails
/// rather than reap the sender), else `transfer_allow_death`.
pub fn transfer_call(dest: &AccountId32, amount: Balance, keep_alive: bool) -> Call {
    let dest = MultiAddress::Id(dest.clone());
    Call::Balances(if keep_alive {
        balances::Call::TransferKeepAlive {
            dest,
            value: amount,
        }
    } else {
        balances::Call::TransferAllowDeath {
            dest,
            value: amount,
        }
    })
}

/// Signs `call` as `signer` and returns the extrinsic's full encoding (with its length
/// prefix): the bytes `author_submitExtrinsic` takes.
pub fn sign_call(call: Call, signer: &sr25519::Pair, context: &SigningContext) -> Vec<u8> {
    Extrinsic::new_signed(call, signer, context.extra(), context.additional()).encode()
}

/// Signs an encoded call (pallet index, call index, arguments) as `signer`: the same
/// extrinsic as [`sign_call`] for the same call, built without the runtime's `Call` type.
pub fn sign_call_bytes(call: &[u8], signer: &sr25519::Pair, context: &SigningContext) -> Vec<u8> {
    arceon_primitives::UncheckedExtrinsic::new_signed(
        arceon_primitives::OpaqueCall(call.to_vec()),
        signer,
        context.extra(),
        context.additional(),
    )
    .encode()
}

/// Signs a transfer of `amount` plancks to `dest`.
pub fn sign_transfer_offline(
    signer: &sr25519::Pair,
    dest: &AccountId32,
    amount: Balance,
    keep_alive: bool,
    context: &SigningContext,
) -> Vec<u8> {
    sign_call(transfer_call(dest, amount, keep_alive), signer, context)
}

/// How much of the sender's free balance a transfer can move: free minus frozen, and for
/// a keep-alive transfer also minus what must stay for the account to exist.
pub fn spendable(sender: &AccountInfo, keep_alive: bool) -> Balance {
    let data = &sender.data;
    let mut untouchable = data.frozen;
    if (keep_alive || sender.consumers > 0) && data.reserved < EXISTENTIAL_DEPOSIT {
        untouchable = untouchable.max(EXISTENTIAL_DEPOSIT - data.reserved);
    }
    data.free.saturating_sub(untouchable)
}

/// Checks, before submitting, that `sender` can pay `amount + tip + fee` and that the
/// transfer can create `dest` if it does not exist yet. `dest_exists` is whether the
/// recipient's account is in state.
pub fn check_transfer_funds(
    sender: &AccountInfo,
    dest_exists: bool,
    amount: Balance,
    tip: Balance,
    fee: Balance,
    keep_alive: bool,
) -> Result<(), WalletError> {
    if !dest_exists && amount > 0 && amount < EXISTENTIAL_DEPOSIT {
        return Err(WalletError::BelowExistentialDeposit {
            amount,
            minimum: EXISTENTIAL_DEPOSIT,
        });
    }
    let needed = amount.saturating_add(tip).saturating_add(fee);
    let available = spendable(sender, keep_alive);
    // The fee itself is always withdrawn keep-alive: the sender must stay alive to pay it.
    let fee_payable = spendable(sender, true) >= tip.saturating_add(fee);
    if needed > available || !fee_payable {
        return Err(WalletError::InsufficientFunds { needed, available });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_pallet_system::AccountData;
    use arceon_primitives::{Keyring, SignatureError, ARCM};

    fn context() -> SigningContext {
        SigningContext {
            genesis_hash: H256::repeat_byte(7),
            spec_version: arceon_runtime::SPEC_VERSION,
            transaction_version: arceon_runtime::TRANSACTION_VERSION,
            era: Era::Immortal,
            era_checkpoint: H256::repeat_byte(7),
            nonce: 3,
            tip: 10,
        }
    }

    #[test]
    fn signed_transfer_decodes_and_verifies_for_its_chain_only() {
        let alice = Keyring::Alice.pair();
        let bob = Keyring::Bob.account();
        let ctx = context();
        let bytes = sign_transfer_offline(&alice, &bob, 5 * ARCM, false, &ctx);

        let xt = Extrinsic::decode_exact(&bytes).expect("the runtime decodes it");
        let mut input = &bytes[..];
        let len = <codec::Compact<u32> as codec::Decode>::decode(&mut input)
            .unwrap()
            .0;
        assert_eq!(len as usize, input.len(), "length prefix covers the rest");
        assert_eq!(input[0], 0x84, "signed v4 extrinsic");
        assert_eq!(
            xt.function,
            Call::Balances(balances::Call::TransferAllowDeath {
                dest: MultiAddress::Id(bob.clone()),
                value: 5 * ARCM
            })
        );
        let checked = xt
            .check_signature(ctx.additional())
            .expect("signature verifies")
            .expect("signed");
        assert_eq!(checked.signer, Keyring::Alice.account());
        assert_eq!(checked.extra.nonce, 3);
        assert_eq!(checked.extra.tip, 10);

        // The same bytes are worthless on another chain or runtime.
        let other_chain = AdditionalSigned {
            genesis_hash: H256::repeat_byte(8),
            era_checkpoint: H256::repeat_byte(8),
            ..ctx.additional()
        };
        assert_eq!(
            xt.check_signature(other_chain),
            Err(SignatureError::BadProof)
        );
        let other_runtime = AdditionalSigned {
            spec_version: ctx.spec_version + 1,
            ..ctx.additional()
        };
        assert_eq!(
            xt.check_signature(other_runtime),
            Err(SignatureError::BadProof)
        );
    }

    #[test]
    fn same_signature_as_the_runtime_signer() {
        // The wallet's extrinsic must be exactly what the runtime's own helper signs
        // (sr25519 signatures are randomised, so compare verification, not bytes).
        let alice = Keyring::Alice.pair();
        let bob = Keyring::Bob.account();
        let ctx = SigningContext {
            era: Era::mortal(64, 100),
            era_checkpoint: H256::repeat_byte(9),
            ..context()
        };
        let bytes = sign_transfer_offline(&alice, &bob, ARCM, true, &ctx);
        let ours = Extrinsic::decode_exact(&bytes).unwrap();
        let theirs = arceon_runtime::executive::sign_extrinsic(
            transfer_call(&bob, ARCM, true),
            &alice,
            ctx.extra(),
            ctx.genesis_hash,
            ctx.era_checkpoint,
        );
        assert_eq!(ours.function, theirs.function);
        assert_eq!(
            ours.signature.as_ref().map(|(a, _, e)| (a.clone(), *e)),
            theirs.signature.as_ref().map(|(a, _, e)| (a.clone(), *e))
        );
        assert!(ours.check_signature(ctx.additional()).is_ok());
        assert!(theirs.check_signature(ctx.additional()).is_ok());
    }

    fn account(free: Balance, reserved: Balance, frozen: Balance) -> AccountInfo {
        AccountInfo {
            providers: 1,
            data: AccountData {
                free,
                reserved,
                frozen,
                flags: 0,
            },
            ..AccountInfo::default()
        }
    }

    #[test]
    fn funds_must_cover_amount_tip_and_fee() {
        let sender = account(10 * ARCM, 0, 2 * ARCM);
        let fee = ARCM / 1000;
        assert_eq!(
            check_transfer_funds(&sender, true, 7 * ARCM, 0, fee, false),
            Ok(())
        );
        assert_eq!(
            check_transfer_funds(&sender, true, 8 * ARCM, 0, fee, false),
            Err(WalletError::InsufficientFunds {
                needed: 8 * ARCM + fee,
                available: 8 * ARCM
            })
        );
        assert!(matches!(
            check_transfer_funds(&sender, true, 7 * ARCM, ARCM, fee, false),
            Err(WalletError::InsufficientFunds { .. })
        ));
        let empty = AccountInfo::default();
        assert_eq!(
            check_transfer_funds(&empty, true, ARCM, 0, fee, false),
            Err(WalletError::InsufficientFunds {
                needed: ARCM + fee,
                available: 0
            })
        );
    }

    #[test]
    fn keep_alive_keeps_the_existential_deposit() {
        let sender = account(ARCM, 0, 0);
        let fee = ARCM / 1000;
        let everything_but_fee = ARCM - fee;
        assert_eq!(
            check_transfer_funds(
                &sender,
                true,
                everything_but_fee - EXISTENTIAL_DEPOSIT,
                0,
                fee,
                true
            ),
            Ok(())
        );
        assert!(matches!(
            check_transfer_funds(&sender, true, everything_but_fee, 0, fee, true),
            Err(WalletError::InsufficientFunds { .. })
        ));
        // Allow-death may empty the account, fee included.
        assert_eq!(
            check_transfer_funds(&sender, true, everything_but_fee, 0, fee, false),
            Ok(())
        );
    }

    #[test]
    fn new_recipients_need_the_existential_deposit() {
        let sender = account(10 * ARCM, 0, 0);
        assert_eq!(
            check_transfer_funds(&sender, false, EXISTENTIAL_DEPOSIT - 1, 0, 1, false),
            Err(WalletError::BelowExistentialDeposit {
                amount: EXISTENTIAL_DEPOSIT - 1,
                minimum: EXISTENTIAL_DEPOSIT
            })
        );
        assert_eq!(
            check_transfer_funds(&sender, false, EXISTENTIAL_DEPOSIT, 0, 1, false),
            Ok(())
        );
        // An existing recipient can receive dust.
        assert_eq!(check_transfer_funds(&sender, true, 1, 0, 1, false), Ok(()));
        let message = WalletError::BelowExistentialDeposit {
            amount: 1,
            minimum: EXISTENTIAL_DEPOSIT,
        }
        .to_string();
        assert!(message.contains("0.010000000000 ArcM"), "{message}");
    }
}
