//! Turns a block as the node serves it (header, encoded extrinsics, `System.Events`) into
//! the rows the explorer stores: each extrinsic with its signer, nonce, tip and call
//! decoded through the node's metadata, its outcome and fee read from its events, the
//! block's transfers and every account the block touched. Nothing here panics on bytes
//! from the node: what cannot be decoded is kept as hex and marked undecoded.

use std::collections::BTreeSet;

use arceon_primitives::{
    blake2_256, sr25519, to_hex, to_ss58, AccountId32, Header, MultiAddress, SignedExtra,
};
use arceon_wallet::meta::{ChainMetadata, EventRecord};
use arceon_wallet::{render_dispatch_error, scale};
use codec::{Compact, Decode};
use serde_json::{json, Value};

/// One extrinsic, decoded as far as possible.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtrinsicRow {
    /// Position in the block.
    pub index: u32,
    /// `0x` + blake2-256 of the encoded extrinsic (what the pool and wallets call it).
    pub hash: String,
    /// The SS58 signer, `None` for inherents and unsigned extrinsics.
    pub signer: Option<String>,
    /// The signer's nonce.
    pub nonce: Option<u64>,
    /// The tip in plancks (decimal).
    pub tip: Option<String>,
    /// The pallet's name (or `#<index>` when unknown).
    pub pallet: String,
    /// The call's name (or `#<index>` when it cannot be decoded).
    pub call: String,
    /// The call's arguments as JSON (`{"undecoded": "0x..."}` when they cannot be read).
    pub args: Value,
    /// Whether the call was decoded through the metadata.
    pub decoded: bool,
    /// `Some(true)` after `System.ExtrinsicSuccess`, `Some(false)` after
    /// `System.ExtrinsicFailed`, `None` when the events are unknown.
    pub success: Option<bool>,
    /// The decoded dispatch error (`Balances.InsufficientBalance`).
    pub error: Option<String>,
    /// The fee paid in plancks (decimal), from `TransactionPayment.TransactionFeePaid`.
    pub fee: Option<String>,
    /// Encoded size in bytes.
    pub size: u64,
}

/// One event of the block.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// Position in `System.Events`.
    pub index: u32,
    /// The extrinsic that deposited it (`None`: block initialization or finalization).
    pub extrinsic: Option<u32>,
    /// Pallet name.
    pub pallet: String,
    /// Event name.
    pub name: String,
    /// Fields as JSON (an object for named fields).
    pub fields: Value,
}

/// A `Balances.Transfer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    /// The event's position in the block.
    pub event_index: u32,
    /// The extrinsic that made it.
    pub extrinsic: Option<u32>,
    /// Sender (SS58).
    pub from: String,
    /// Receiver (SS58).
    pub to: String,
    /// Amount in plancks (decimal).
    pub amount: String,
}

/// The decoded content of one block (without world state).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedBlock {
    /// Its extrinsics.
    pub extrinsics: Vec<ExtrinsicRow>,
    /// Its events (empty when `events_decoded` is false).
    pub events: Vec<EventRow>,
    /// Whether the events could be read and decoded.
    pub events_decoded: bool,
    /// Its `Balances.Transfer` events.
    pub transfers: Vec<TransferRow>,
    /// Every account it names (signers and accounts in events), SS58, sorted.
    pub touched: Vec<String>,
}

/// `0x`-prefixed lower-case hex of a hash.
pub fn hash_hex(bytes: &[u8]) -> String {
    to_hex(bytes)
}

/// The Aura slot the header claims, if any.
pub fn slot_of(header: &Header) -> Option<u64> {
    header.digest.aura_slot()
}

/// The Aura key that sealed a block claiming `slot` among `authorities` (`slot % n`).
pub fn author_key(authorities: &[sr25519::Public], slot: Option<u64>) -> Option<sr25519::Public> {
    let slot = slot?;
    let count = u64::try_from(authorities.len()).ok().filter(|n| *n > 0)?;
    let index = usize::try_from(slot % count).ok()?;
    authorities.get(index).copied()
}

/// [`author_key`] as an SS58 address (the key itself, not its stash).
pub fn author_of(authorities: &[sr25519::Public], slot: Option<u64>) -> Option<String> {
    author_key(authorities, slot).map(|key| to_ss58(&AccountId32::new(key.0)))
}

struct Envelope<'a> {
    signer: Option<String>,
    extra: Option<SignedExtra>,
    call: &'a [u8],
}

/// Splits an encoded extrinsic into its signature part and its call bytes.
fn envelope(bytes: &[u8]) -> Option<Envelope<'_>> {
    let mut input = bytes;
    let len = Compact::<u32>::decode(&mut input).ok()?.0;
    if usize::try_from(len).ok()? != input.len() {
        return None;
    }
    let (&version, mut body) = input.split_first()?;
    if version & 0x7f != 4 {
        return None;
    }
    if version & 0x80 == 0 {
        return Some(Envelope {
            signer: None,
            extra: None,
            call: body,
        });
    }
    let address = MultiAddress::decode(&mut body).ok()?;
    let _signature = arceon_primitives::MultiSignature::decode(&mut body).ok()?;
    let extra = SignedExtra::decode(&mut body).ok()?;
    let signer = match address {
        MultiAddress::Id(account) => to_ss58(&account),
        other => format!("{other:?}"),
    };
    Some(Envelope {
        signer: Some(signer),
        extra: Some(extra),
        call: body,
    })
}

/// Reads `{"Pallet": {"call": {args}}}` or `{"Pallet": "call"}` (the metadata decoder's
/// shape of the outer call enum).
fn call_parts(value: Value) -> Option<(String, String, Value)> {
    let Value::Object(outer) = value else {
        return None;
    };
    let (pallet, inner) = outer.into_iter().next()?;
    match inner {
        Value::String(call) => Some((pallet, call, json!({}))),
        Value::Object(calls) => {
            let (call, args) = calls.into_iter().next()?;
            Some((pallet, call, args))
        }
        _ => None,
    }
}

/// Decodes one encoded extrinsic (outcome and fee are filled in from events later).
pub fn decode_extrinsic(meta: &ChainMetadata, index: u32, bytes: &[u8]) -> ExtrinsicRow {
    let hash = hash_hex(&blake2_256(bytes));
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let mut row = ExtrinsicRow {
        index,
        hash,
        signer: None,
        nonce: None,
        tip: None,
        pallet: "?".into(),
        call: "?".into(),
        args: json!({ "undecoded": to_hex(bytes) }),
        decoded: false,
        success: None,
        error: None,
        fee: None,
        size,
    };
    let Some(envelope) = envelope(bytes) else {
        return row;
    };
    row.signer = envelope.signer;
    if let Some(extra) = envelope.extra {
        row.nonce = Some(u64::from(extra.nonce));
        row.tip = Some(extra.tip.to_string());
    }
    let call = envelope.call;
    if let Some(&pallet_index) = call.first() {
        row.pallet = meta
            .pallet_by_index(pallet_index)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| format!("#{pallet_index}"));
        row.call = call
            .get(1)
            .map(|c| format!("#{c}"))
            .unwrap_or_else(|| "?".into());
        row.args = json!({ "undecoded": to_hex(call) });
    }
    let decoded = meta
        .call_type()
        .and_then(|ty| scale::decode_exact(meta.registry(), ty, call).ok())
        .and_then(call_parts);
    if let Some((pallet, name, args)) = decoded {
        row.pallet = pallet;
        row.call = name;
        row.args = args;
        row.decoded = true;
    }
    row
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Collects every SS58 address inside a decoded JSON value.
fn collect_accounts(value: &Value, out: &mut BTreeSet<String>, depth: u32) {
    if depth > 16 {
        return;
    }
    match value {
        Value::String(s)
            if (46..=50).contains(&s.len()) && arceon_primitives::parse_account(s).is_ok() =>
        {
            out.insert(s.clone());
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| collect_accounts(v, out, depth + 1)),
        Value::Object(map) => map
            .values()
            .for_each(|v| collect_accounts(v, out, depth + 1)),
        _ => {}
    }
}

/// Applies one event to the extrinsic that deposited it (outcome, fee).
fn apply_outcome(meta: &ChainMetadata, record: &EventRecord, extrinsics: &mut [ExtrinsicRow]) {
    let Some(row) = record
        .extrinsic
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| extrinsics.get_mut(i))
    else {
        return;
    };
    let event = &record.event;
    if event.is("System", "ExtrinsicSuccess") {
        row.success = Some(true);
    } else if event.is("System", "ExtrinsicFailed") {
        row.success = Some(false);
        row.error = event
            .field("dispatch_error")
            .map(|f| render_dispatch_error(meta, &f.value))
            .or_else(|| Some("unknown error".into()));
    } else if event.is("TransactionPayment", "TransactionFeePaid") {
        row.fee = text_of(event.field("actual_fee").map(|f| &f.value));
    }
}

/// Decodes a block's extrinsics and combines them with its events (`None`: unknown).
pub fn decode_block(
    meta: &ChainMetadata,
    extrinsics: &[Vec<u8>],
    events: Option<&[EventRecord]>,
) -> DecodedBlock {
    let mut rows: Vec<ExtrinsicRow> = extrinsics
        .iter()
        .enumerate()
        .map(|(i, bytes)| decode_extrinsic(meta, u32::try_from(i).unwrap_or(u32::MAX), bytes))
        .collect();
    let mut touched = BTreeSet::new();
    rows.iter()
        .filter_map(|r| r.signer.clone())
        .filter(|s| arceon_primitives::parse_account(s).is_ok())
        .for_each(|s| {
            touched.insert(s);
        });
    let mut event_rows = Vec::new();
    let mut transfers = Vec::new();
    for (i, record) in events.unwrap_or_default().iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        apply_outcome(meta, record, &mut rows);
        let fields = record.event.to_json()["fields"].clone();
        collect_accounts(&fields, &mut touched, 0);
        if record.event.is("Balances", "Transfer") {
            let get = |name: &str| text_of(record.event.field(name).map(|f| &f.value));
            if let (Some(from), Some(to), Some(amount)) = (get("from"), get("to"), get("amount")) {
                transfers.push(TransferRow {
                    event_index: index,
                    extrinsic: record.extrinsic,
                    from,
                    to,
                    amount,
                });
            }
        }
        event_rows.push(EventRow {
            index,
            extrinsic: record.extrinsic,
            pallet: record.event.pallet.clone(),
            name: record.event.name.clone(),
            fields,
        });
    }
    DecodedBlock {
        extrinsics: rows,
        events: event_rows,
        events_decoded: events.is_some(),
        transfers,
        touched: touched.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_primitives::H256;

    #[test]
    fn garbage_extrinsics_are_kept_undecoded() {
        assert!(envelope(&[]).is_none());
        assert!(
            envelope(&[0x08, 0x04]).is_none(),
            "length prefix beyond the input"
        );
        assert!(envelope(&[0x04, 0x05]).is_none(), "unknown version");
        let unsigned = envelope(&[0x0c, 0x04, 0x00, 0x01]).expect("unsigned extrinsic");
        assert!(unsigned.signer.is_none());
        assert_eq!(unsigned.call, &[0x00, 0x01]);
    }

    #[test]
    fn authors_rotate_with_the_slot() {
        let keys = [
            sr25519::Public::from_raw([1; 32]),
            sr25519::Public::from_raw([2; 32]),
        ];
        let first = author_of(&keys, Some(4));
        let second = author_of(&keys, Some(5));
        assert_eq!(first, Some(to_ss58(&AccountId32::new([1; 32]))));
        assert_eq!(second, Some(to_ss58(&AccountId32::new([2; 32]))));
        assert_eq!(author_of(&[], Some(5)), None);
        assert_eq!(author_of(&keys, None), None);
    }

    fn runtime_metadata() -> ChainMetadata {
        let bytes = arceon_runtime::metadata::metadata_bytes(14).expect("V14 metadata");
        ChainMetadata::from_bytes(bytes).expect("metadata decodes")
    }

    #[test]
    fn a_signed_transfer_decodes_to_its_call_signer_nonce_and_tip() {
        use arceon_primitives::keyring::Keyring;
        use codec::Encode;
        let meta = runtime_metadata();
        let bob = Keyring::Bob.account();
        let call = arceon_wallet::transfer_call(&bob, 1_500_000_000_000, false);
        let extra = SignedExtra {
            era: arceon_primitives::Era::Immortal,
            nonce: 7,
            tip: 42,
        };
        let xt = arceon_runtime::executive::sign_extrinsic(
            call,
            &Keyring::Alice.pair(),
            extra,
            H256::repeat_byte(1),
            H256::repeat_byte(1),
        );
        let bytes = xt.encode();
        let row = decode_extrinsic(&meta, 3, &bytes);
        assert!(row.decoded, "{row:?}");
        assert_eq!(
            (row.pallet.as_str(), row.call.as_str()),
            ("Balances", "transfer_allow_death")
        );
        assert_eq!(row.args["value"], json!("1500000000000"));
        assert!(
            row.args.to_string().contains(&to_ss58(&bob)),
            "{}",
            row.args
        );
        assert_eq!(row.signer, Some(to_ss58(&Keyring::Alice.account())));
        assert_eq!((row.nonce, row.tip.as_deref()), (Some(7), Some("42")));
        assert_eq!(row.hash, hash_hex(&blake2_256(&bytes)));

        // A call the metadata does not know stays visible as hex, named by its pallet.
        let mut unknown = bytes.clone();
        let last = unknown.len() - 1;
        unknown.truncate(last);
        let len_fixed = {
            let mut body = &unknown[..];
            let _ = Compact::<u32>::decode(&mut body);
            let mut out = Compact(u32::try_from(body.len()).expect("small")).encode();
            out.extend_from_slice(body);
            out
        };
        let row = decode_extrinsic(&meta, 0, &len_fixed);
        assert!(!row.decoded);
        assert_eq!(row.pallet, "Balances");
        assert!(row.args["undecoded"]
            .as_str()
            .is_some_and(|h| h.starts_with("0x")));
    }

    #[test]
    fn calls_are_split_into_pallet_name_and_arguments() {
        let parts = call_parts(json!({"Balances": {"transfer": {"dest": "x", "value": "5"}}}));
        assert_eq!(
            parts,
            Some((
                "Balances".into(),
                "transfer".into(),
                json!({"dest": "x", "value": "5"})
            ))
        );
        let no_args = call_parts(json!({"FastLane": "join"}));
        assert_eq!(no_args, Some(("FastLane".into(), "join".into(), json!({}))));
        assert_eq!(call_parts(json!([1, 2])), None);
    }
}
