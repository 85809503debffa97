//! One-line, human-readable renderings of runtime events and dispatch errors.
//!
//! Format (stable; scripts and tests may match on it): `Pallet.Variant { field: value, ... }`
//! with accounts as SS58 (prefix 42), balances as `1.500000000000 ArcM`, hashes as `0x`
//! hex, dispatch errors as `Pallet.ErrorName` (for pallet errors) or the error kind
//! (`BadOrigin`, `Token.FundsUnavailable`, ...). A variant the wallet does not know yet
//! (a newer runtime) falls back to its Rust debug form.

use arceon_pallet_balances as balances;
use arceon_pallet_system as system;
use arceon_primitives::{to_ss58, AccountId32};
use arceon_runtime::{payment, RuntimeEvent};
use arceon_support::{DispatchError, DispatchInfo, ModuleError};

use crate::amount::format_arcm;

/// The name of a pallet by its index in the runtime, as events and errors show it.
pub fn pallet_name(index: u8) -> Option<&'static str> {
    arceon_runtime::pallet_name(index)
}

/// The variant name of pallet `pallet`'s error number `error`.
pub fn module_error_name(pallet: u8, error: u8) -> Option<&'static str> {
    arceon_runtime::module_error_name(pallet, error)
}

/// Renders a module error as `Balances.InsufficientBalance`, or
/// `Module { index: 9, error: 3 }` when the pallet or variant is unknown.
pub fn render_module_error(module: &ModuleError) -> String {
    arceon_runtime::module_error_text(module.index, module.error)
}

/// Renders a dispatch error: `Balances.InsufficientBalance`, `BadOrigin`,
/// `Token.FundsUnavailable`, `Arithmetic.Overflow`, ...
pub fn render_dispatch_error(error: &DispatchError) -> String {
    match error {
        DispatchError::Module(module) => render_module_error(module),
        DispatchError::Other("") => "Other".to_string(),
        DispatchError::Other(message) => format!("Other({message})"),
        DispatchError::CannotLookup => "CannotLookup".to_string(),
        DispatchError::BadOrigin => "BadOrigin".to_string(),
        DispatchError::ConsumerRemaining => "ConsumerRemaining".to_string(),
        DispatchError::NoProviders => "NoProviders".to_string(),
        DispatchError::TooManyConsumers => "TooManyConsumers".to_string(),
        DispatchError::Token(token) => format!("Token.{token:?}"),
        DispatchError::Arithmetic(arithmetic) => format!("Arithmetic.{arithmetic:?}"),
        DispatchError::Exhausted => "Exhausted".to_string(),
        DispatchError::Corruption => "Corruption".to_string(),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

fn account(who: &AccountId32) -> String {
    to_ss58(who)
}

fn dispatch_info(info: &DispatchInfo) -> String {
    format!(
        "{{ weight: {{ ref_time: {}, proof_size: {} }}, class: {:?}, pays_fee: {:?} }}",
        info.weight.ref_time, info.weight.proof_size, info.class, info.pays_fee
    )
}

fn render_system(event: &system::Event) -> String {
    match event {
        system::Event::ExtrinsicSuccess {
            dispatch_info: info,
        } => {
            format!(
                "System.ExtrinsicSuccess {{ dispatch_info: {} }}",
                dispatch_info(info)
            )
        }
        system::Event::ExtrinsicFailed {
            dispatch_error,
            dispatch_info: info,
        } => format!(
            "System.ExtrinsicFailed {{ dispatch_error: {}, dispatch_info: {} }}",
            render_dispatch_error(dispatch_error),
            dispatch_info(info)
        ),
        system::Event::CodeUpdated => "System.CodeUpdated".to_string(),
        system::Event::NewAccount { account: who } => {
            format!("System.NewAccount {{ account: {} }}", account(who))
        }
        system::Event::KilledAccount { account: who } => {
            format!("System.KilledAccount {{ account: {} }}", account(who))
        }
        system::Event::Remarked { sender, hash } => format!(
            "System.Remarked {{ sender: {}, hash: {hash:?} }}",
            account(sender)
        ),
        #[allow(unreachable_patterns)]
        other => format!("System.{other:?}"),
    }
}

fn render_balances(event: &balances::Event) -> String {
    use balances::Event as E;
    let who_amount = |name: &str, who: &AccountId32, amount: u128| {
        format!(
            "Balances.{name} {{ who: {}, amount: {} }}",
            account(who),
            format_arcm(amount)
        )
    };
    match event {
        E::Endowed {
            account: who,
            free_balance,
        } => format!(
            "Balances.Endowed {{ account: {}, free_balance: {} }}",
            account(who),
            format_arcm(*free_balance)
        ),
        E::DustLost {
            account: who,
            amount,
        } => format!(
            "Balances.DustLost {{ account: {}, amount: {} }}",
            account(who),
            format_arcm(*amount)
        ),
        E::Transfer { from, to, amount } => format!(
            "Balances.Transfer {{ from: {}, to: {}, amount: {} }}",
            account(from),
            account(to),
            format_arcm(*amount)
        ),
        E::BalanceSet { who, free } => format!(
            "Balances.BalanceSet {{ who: {}, free: {} }}",
            account(who),
            format_arcm(*free)
        ),
        E::Reserved { who, amount } => who_amount("Reserved", who, *amount),
        E::Unreserved { who, amount } => who_amount("Unreserved", who, *amount),
        E::Deposit { who, amount } => who_amount("Deposit", who, *amount),
        E::Withdraw { who, amount } => who_amount("Withdraw", who, *amount),
        E::Slashed { who, amount } => who_amount("Slashed", who, *amount),
        E::Locked { who, amount } => who_amount("Locked", who, *amount),
        E::Unlocked { who, amount } => who_amount("Unlocked", who, *amount),
        #[allow(unreachable_patterns)]
        other => format!("Balances.{other:?}"),
    }
}

fn render_payment(event: &payment::Event) -> String {
    match event {
        payment::Event::TransactionFeePaid {
            who,
            actual_fee,
            tip,
        } => format!(
            "TransactionPayment.TransactionFeePaid {{ who: {}, actual_fee: {}, tip: {} }}",
            account(who),
            format_arcm(*actual_fee),
            format_arcm(*tip)
        ),
        #[allow(unreachable_patterns)]
        other => format!("TransactionPayment.{other:?}"),
    }
}

/// Renders one runtime event on one line, e.g.
/// `Balances.Transfer { from: 5Grw..., to: 5FHn..., amount: 1.500000000000 ArcM }`.
pub fn render_event(event: &RuntimeEvent) -> String {
    match event {
        RuntimeEvent::System(event) => render_system(event),
        RuntimeEvent::Balances(event) => render_balances(event),
        RuntimeEvent::TransactionPayment(event) => render_payment(event),
        RuntimeEvent::Staking(event) => format!("Staking.{event:?}"),
        RuntimeEvent::Sudo(event) => format!("Sudo.{event:?}"),
        RuntimeEvent::Areas(event) => format!("Areas.{event:?}"),
        RuntimeEvent::Players(event) => format!("Players.{event:?}"),
        RuntimeEvent::Npcs(event) => format!("Npcs.{event:?}"),
        RuntimeEvent::Structures(event) => format!("Structures.{event:?}"),
        RuntimeEvent::FastLane(event) => format!("FastLane.{event:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_primitives::{Keyring, ARCM};
    use arceon_support::{DispatchClass, Pays, TokenError, Weight};
    use codec::Decode;

    #[test]
    fn renders_a_transfer_with_ss58_and_arcm() {
        let alice = Keyring::Alice.account();
        let bob = Keyring::Bob.account();
        let event = RuntimeEvent::Balances(balances::Event::Transfer {
            from: alice,
            to: bob,
            amount: ARCM + ARCM / 2,
        });
        assert_eq!(
            render_event(&event),
            "Balances.Transfer { from: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, \
             to: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty, amount: 1.500000000000 ArcM }"
        );
    }

    #[test]
    fn renders_fee_and_system_events() {
        let alice = Keyring::Alice.account();
        let fee = RuntimeEvent::TransactionPayment(payment::Event::TransactionFeePaid {
            who: alice.clone(),
            actual_fee: 1_234,
            tip: 0,
        });
        assert_eq!(
            render_event(&fee),
            "TransactionPayment.TransactionFeePaid { who: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, \
             actual_fee: 0.000000001234 ArcM, tip: 0.000000000000 ArcM }"
        );
        let success = RuntimeEvent::System(system::Event::ExtrinsicSuccess {
            dispatch_info: DispatchInfo {
                weight: Weight::from_parts(65_000_000, 3_593),
                class: DispatchClass::Normal,
                pays_fee: Pays::Yes,
            },
        });
        assert_eq!(
            render_event(&success),
            "System.ExtrinsicSuccess { dispatch_info: { weight: { ref_time: 65000000, \
             proof_size: 3593 }, class: Normal, pays_fee: Yes } }"
        );
        let new_account = RuntimeEvent::System(system::Event::NewAccount { account: alice });
        assert_eq!(
            render_event(&new_account),
            "System.NewAccount { account: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY }"
        );
    }

    #[test]
    fn names_module_errors_from_decoded_indices() {
        // Decoded errors carry no name: the wallet must find it from the indices alone.
        let decoded = DispatchError::Module(ModuleError {
            index: 5,
            error: 2,
            name: "",
        });
        assert_eq!(
            render_dispatch_error(&decoded),
            "Balances.InsufficientBalance"
        );
        let keep_alive = DispatchError::from(balances::Error::Expendability);
        assert_eq!(render_dispatch_error(&keep_alive), "Balances.Expendability");
        let ed = DispatchError::Module(ModuleError {
            index: 5,
            error: 3,
            name: "",
        });
        assert_eq!(render_dispatch_error(&ed), "Balances.ExistentialDeposit");
        let system = DispatchError::Module(ModuleError {
            index: 0,
            error: 5,
            name: "",
        });
        assert_eq!(render_dispatch_error(&system), "System.CallFiltered");
        let unknown_variant = DispatchError::Module(ModuleError {
            index: 5,
            error: 200,
            name: "",
        });
        assert_eq!(
            render_dispatch_error(&unknown_variant),
            "Balances.Error#200"
        );
        let unknown_pallet = DispatchError::Module(ModuleError {
            index: 77,
            error: 1,
            name: "",
        });
        assert_eq!(
            render_dispatch_error(&unknown_pallet),
            "Module { index: 77, error: 1 }"
        );
        assert_eq!(
            render_dispatch_error(&DispatchError::Token(TokenError::FundsUnavailable)),
            "Token.FundsUnavailable"
        );
        assert_eq!(
            render_dispatch_error(&DispatchError::BadOrigin),
            "BadOrigin"
        );
    }

    #[test]
    fn renders_extrinsic_failed_through_the_codec() {
        // The way the wallet sees it: encoded by the runtime, decoded from System.Events.
        use codec::Encode;
        let event = RuntimeEvent::System(system::Event::ExtrinsicFailed {
            dispatch_error: balances::Error::InsufficientBalance.into(),
            dispatch_info: DispatchInfo::default(),
        });
        let decoded = RuntimeEvent::decode(&mut &event.encode()[..]).unwrap();
        assert!(render_event(&decoded).starts_with(
            "System.ExtrinsicFailed { dispatch_error: Balances.InsufficientBalance, "
        ));
    }
}
