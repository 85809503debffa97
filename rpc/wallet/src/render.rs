//! One-line, human-readable renderings of runtime events and dispatch errors, driven by the
//! node's metadata ([`crate::meta`]): names, field names and types all come from it, so
//! events of any pallet (and of a newer runtime) render the same way.
//!
//! Format (stable; scripts and tests may match on it): `Pallet.Variant { field: value, ... }`
//! with accounts as SS58 (prefix 42), fields whose type name is a balance (`Balance`,
//! `BalanceOf<T>`) as `1.500000000000 ArcM`, other integers in decimal, bytes and hashes
//! as `0x` hex, structs as `{ field: value, ... }`, enum variants as `Name`,
//! `Name(value)` or `Name { field: value }`, dispatch errors as `Pallet.ErrorName` (for
//! pallet errors) or the error kind (`BadOrigin`, `Token.FundsUnavailable`, ...).
//!
//! Invariants: rendering never fails; a value that does not match its type (which the
//! codec never produces) is shown as its JSON text.

use scale_info::TypeDef;
use serde_json::Value;

use crate::amount::format_arcm;
use crate::meta::{ChainMetadata, Event};
use crate::scale::{self, MAX_DEPTH};

/// Whether a field's type name (as written in the runtime's source) is a balance.
pub fn is_balance_type_name(type_name: &str) -> bool {
    let name = type_name.trim();
    name == "Balance" || name.ends_with("::Balance") || name.starts_with("BalanceOf")
}

/// Renders one event on one line, e.g.
/// `Balances.Transfer { from: 5Grw..., to: 5FHn..., amount: 1.500000000000 ArcM }`.
pub fn render_event(meta: &ChainMetadata, event: &Event) -> String {
    let mut text = format!("{}.{}", event.pallet, event.name);
    if event.fields.is_empty() {
        return text;
    }
    let rendered: Vec<String> = event
        .fields
        .iter()
        .map(|f| {
            let value = render_value(meta, f.ty, f.type_name.as_deref(), &f.value, 0);
            match &f.name {
                Some(name) => format!("{name}: {value}"),
                None => value,
            }
        })
        .collect();
    if event.fields.iter().all(|f| f.name.is_some()) {
        text.push_str(&format!(" {{ {} }}", rendered.join(", ")));
    } else {
        text.push_str(&format!("({})", rendered.join(", ")));
    }
    text
}

/// Renders a decoded `sp_runtime::DispatchError`: `Balances.InsufficientBalance`,
/// `BadOrigin`, `Token.FundsUnavailable`, `Arithmetic.Overflow`, ...
pub fn render_dispatch_error(meta: &ChainMetadata, value: &Value) -> String {
    match value {
        Value::String(kind) => kind.clone(),
        Value::Object(object) if object.len() == 1 => {
            let Some((kind, inner)) = object.iter().next() else {
                return value.to_string();
            };
            if kind == "Module" {
                let index = inner.get("index").and_then(Value::as_u64);
                let error = match inner.get("error") {
                    Some(Value::String(hex)) => arceon_primitives::from_hex(hex)
                        .ok()
                        .and_then(|bytes| bytes.first().copied()),
                    Some(Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
                    _ => None,
                };
                return match (index.and_then(|i| u8::try_from(i).ok()), error) {
                    (Some(index), Some(error)) => meta.module_error_name(index, error),
                    _ => format!("Module({inner})"),
                };
            }
            match inner {
                Value::String(detail) => format!("{kind}.{detail}"),
                other => format!("{kind}({other})"),
            }
        }
        other => other.to_string(),
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Renders `value` (decoded as type `ty` by [`crate::scale`]); `type_name` is the field's
/// type name, which says whether a number is a balance.
pub fn render_value(
    meta: &ChainMetadata,
    ty: u32,
    type_name: Option<&str>,
    value: &Value,
    depth: u32,
) -> String {
    let raw = || match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if depth > MAX_DEPTH {
        return raw();
    }
    let Ok(resolved) = scale::resolve(meta.registry(), ty) else {
        return raw();
    };
    if type_name.is_some_and(is_balance_type_name) {
        let amount = match value {
            Value::String(text) => text.parse::<u128>().ok(),
            Value::Number(n) => n.as_u64().map(u128::from),
            _ => None,
        };
        if let Some(amount) = amount {
            return format_arcm(amount);
        }
    }
    if scale::path_is(resolved, &["sp_runtime", "DispatchError"]) {
        return render_dispatch_error(meta, value);
    }
    if scale::is_account_id(resolved) {
        return raw();
    }
    match &resolved.type_def {
        TypeDef::Composite(c) => render_fields(meta, &c.fields, value, depth),
        TypeDef::Variant(v) => match value {
            Value::String(name) => name.clone(),
            Value::Object(object) if object.len() == 1 => {
                let Some((name, inner)) = object.iter().next() else {
                    return raw();
                };
                match v.variants.iter().find(|v| &v.name == name) {
                    Some(variant) => {
                        let fields = render_fields(meta, &variant.fields, inner, depth);
                        if variant.fields.iter().all(|f| f.name.is_some()) {
                            format!("{name} {fields}")
                        } else if variant.fields.len() == 1 {
                            format!("{name}({fields})")
                        } else {
                            format!("{name}{fields}")
                        }
                    }
                    None => raw(),
                }
            }
            _ => raw(),
        },
        TypeDef::Sequence(s) => render_items(meta, s.type_param.id, value, depth),
        TypeDef::Array(a) => render_items(meta, a.type_param.id, value, depth),
        TypeDef::Tuple(t) => match value {
            Value::Array(items) if items.len() == t.fields.len() => format!(
                "({})",
                join(t.fields.iter().zip(items).map(|(f, item)| render_value(
                    meta,
                    f.id,
                    None,
                    item,
                    depth + 1
                )))
            ),
            Value::Null => "()".into(),
            _ => raw(),
        },
        TypeDef::Primitive(scale_info::TypeDefPrimitive::Str) => value.to_string(),
        TypeDef::Primitive(_) => raw(),
        TypeDef::Compact(c) => render_value(meta, c.type_param.id, type_name, value, depth + 1),
        TypeDef::BitSequence(_) => raw(),
    }
}

fn render_items(meta: &ChainMetadata, elem: u32, value: &Value, depth: u32) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            join(
                items
                    .iter()
                    .map(|item| render_value(meta, elem, None, item, depth + 1))
            )
        ),
        Value::String(hex) => hex.clone(),
        other => other.to_string(),
    }
}

fn render_fields(
    meta: &ChainMetadata,
    fields: &[scale_info::Field<scale_info::form::PortableForm>],
    value: &Value,
    depth: u32,
) -> String {
    if fields.is_empty() {
        return "{}".into();
    }
    if fields.iter().all(|f| f.name.is_some()) {
        let Value::Object(object) = value else {
            return value.to_string();
        };
        let parts = fields.iter().map(|f| {
            let name = f.name.as_deref().unwrap_or_default();
            let rendered = object
                .get(name)
                .map(|v| render_value(meta, f.ty.id, f.type_name.as_deref(), v, depth + 1))
                .unwrap_or_default();
            format!("{name}: {rendered}")
        });
        return format!("{{ {} }}", join(parts));
    }
    if let [only] = fields {
        return render_value(
            meta,
            only.ty.id,
            only.type_name.as_deref(),
            value,
            depth + 1,
        );
    }
    match value {
        Value::Array(items) if items.len() == fields.len() => format!(
            "({})",
            join(fields.iter().zip(items).map(|(f, item)| render_value(
                meta,
                f.ty.id,
                f.type_name.as_deref(),
                item,
                depth + 1
            )))
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_pallet_balances as balances;
    use arceon_pallet_system as system;
    use arceon_primitives::{Keyring, ARCM};
    use arceon_runtime::{payment, RuntimeEvent};
    use arceon_support::{DispatchClass, DispatchError, DispatchInfo, Pays, Weight};
    use codec::Encode;

    fn meta() -> ChainMetadata {
        let bytes = arceon_runtime::metadata::metadata_bytes(15).expect("V15 served");
        ChainMetadata::from_bytes(bytes).expect("the runtime's metadata reads")
    }

    /// The way the wallet sees an event: encoded by the runtime, decoded via metadata.
    fn render(event: RuntimeEvent) -> String {
        let meta = meta();
        let record = arceon_runtime::EventRecord {
            phase: arceon_support::Phase::ApplyExtrinsic(0),
            event,
            topics: vec![],
        };
        let records = meta
            .decode_events(&vec![record].encode())
            .expect("decodes via metadata");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].extrinsic, Some(0));
        render_event(&meta, &records[0].event)
    }

    #[test]
    fn renders_a_transfer_with_ss58_and_arcm() {
        let event = RuntimeEvent::Balances(balances::Event::Transfer {
            from: Keyring::Alice.account(),
            to: Keyring::Bob.account(),
            amount: ARCM + ARCM / 2,
        });
        assert_eq!(
            render(event),
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
            render(fee),
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
            render(success),
            "System.ExtrinsicSuccess { dispatch_info: { weight: { ref_time: 65000000, \
             proof_size: 3593 }, class: Normal, pays_fee: Yes } }"
        );
        let new_account = RuntimeEvent::System(system::Event::NewAccount { account: alice });
        assert_eq!(
            render(new_account),
            "System.NewAccount { account: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY }"
        );
    }

    #[test]
    fn renders_game_events_with_nested_structs() {
        let moved = RuntimeEvent::Players(arceon_pallet_players::Event::Moved {
            who: Keyring::Bob.account(),
            position: arceon_pallet_areas::Position::new(105_000, 100_000),
        });
        let text = render(moved);
        assert!(text.starts_with("Players.Moved { who: 5FHne"), "{text}");
        assert!(text.contains("x: 105000, y: 100000"), "{text}");
    }

    #[test]
    fn names_module_errors_from_indices_through_the_metadata() {
        let meta = meta();
        assert_eq!(meta.module_error_name(5, 2), "Balances.InsufficientBalance");
        assert_eq!(meta.module_error_name(5, 3), "Balances.ExistentialDeposit");
        assert_eq!(meta.module_error_name(0, 5), "System.CallFiltered");
        assert_eq!(meta.module_error_name(5, 200), "Balances.Error#200");
        assert_eq!(
            meta.module_error_name(77, 1),
            "Module { index: 77, error: 1 }"
        );
        let failed = |dispatch_error: DispatchError| {
            render(RuntimeEvent::System(system::Event::ExtrinsicFailed {
                dispatch_error,
                dispatch_info: DispatchInfo::default(),
            }))
        };
        assert!(
            failed(balances::Error::InsufficientBalance.into()).starts_with(
                "System.ExtrinsicFailed { dispatch_error: Balances.InsufficientBalance, "
            )
        );
        assert!(failed(balances::Error::Expendability.into())
            .contains("dispatch_error: Balances.Expendability, "));
        assert!(failed(DispatchError::BadOrigin).contains("dispatch_error: BadOrigin, "));
        assert!(failed(DispatchError::Token(
            arceon_support::TokenError::FundsUnavailable
        ))
        .contains("dispatch_error: Token.FundsUnavailable, "));
    }
}
