//! Transaction statuses of `author_submitAndWatchExtrinsic`, parsed from Substrate's JSON
//! shapes, and the JSON helpers the client shares (hashes, block numbers, headers).

use arceon_primitives::{from_hex, to_hex, BlockNumber, Digest, DigestItem, Header, H256};
use codec::{Decode, DecodeAll};
use serde_json::Value;

use crate::error::WalletError;

/// Where a watched transaction is, as Substrate's `TransactionStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// In the pool's future queue (waiting for an earlier nonce).
    Future,
    /// In the pool's ready queue.
    Ready,
    /// Gossiped to these peers.
    Broadcast(Vec<String>),
    /// Included in this block.
    InBlock(H256),
    /// The block that included it is no longer on the best chain.
    Retracted(H256),
    /// Included in this block, but finality did not come in time; the node stops watching.
    FinalityTimeout(H256),
    /// The including block is finalized: terminal.
    Finalized(H256),
    /// Replaced by another transaction with the same nonce (this hash): terminal.
    Usurped(H256),
    /// Dropped from the pool (limits): terminal.
    Dropped,
    /// Found invalid: terminal.
    Invalid,
}

impl TxStatus {
    /// Parses Substrate's JSON: `"ready"`, `{"inBlock": "0x.."}`, ...
    pub fn from_json(value: &Value) -> Result<TxStatus, WalletError> {
        let bad = || WalletError::BadResponse(format!("unknown transaction status {value}"));
        if let Some(name) = value.as_str() {
            return match name {
                "future" => Ok(TxStatus::Future),
                "ready" => Ok(TxStatus::Ready),
                "dropped" => Ok(TxStatus::Dropped),
                "invalid" => Ok(TxStatus::Invalid),
                _ => Err(bad()),
            };
        }
        let object = value.as_object().ok_or_else(bad)?;
        let mut entries = object.iter();
        let (key, inner) = match (entries.next(), entries.next()) {
            (Some(entry), None) => entry,
            _ => return Err(bad()),
        };
        let hash = || parse_hash(inner);
        Ok(match key.as_str() {
            "broadcast" => TxStatus::Broadcast(
                inner
                    .as_array()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|peer| peer.as_str().map(str::to_string).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            ),
            "inBlock" => TxStatus::InBlock(hash()?),
            "retracted" => TxStatus::Retracted(hash()?),
            "finalityTimeout" => TxStatus::FinalityTimeout(hash()?),
            "finalized" => TxStatus::Finalized(hash()?),
            "usurped" => TxStatus::Usurped(hash()?),
            _ => return Err(bad()),
        })
    }

    /// Whether the node sends nothing more after this status.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TxStatus::Finalized(_)
                | TxStatus::FinalityTimeout(_)
                | TxStatus::Usurped(_)
                | TxStatus::Dropped
                | TxStatus::Invalid
        )
    }
}

impl std::fmt::Display for TxStatus {
    /// The CLI's status line: `ready`, `inBlock 0x..`, `broadcast 3 peers`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxStatus::Future => write!(f, "future"),
            TxStatus::Ready => write!(f, "ready"),
            TxStatus::Broadcast(peers) => write!(f, "broadcast {} peers", peers.len()),
            TxStatus::InBlock(hash) => write!(f, "inBlock {}", hash_hex(hash)),
            TxStatus::Retracted(hash) => write!(f, "retracted {}", hash_hex(hash)),
            TxStatus::FinalityTimeout(hash) => write!(f, "finalityTimeout {}", hash_hex(hash)),
            TxStatus::Finalized(hash) => write!(f, "finalized {}", hash_hex(hash)),
            TxStatus::Usurped(hash) => write!(f, "usurped {}", hash_hex(hash)),
            TxStatus::Dropped => write!(f, "dropped"),
            TxStatus::Invalid => write!(f, "invalid"),
        }
    }
}

/// A hash as `0x` + 64 lowercase hex digits.
pub fn hash_hex(hash: &H256) -> String {
    to_hex(hash.as_bytes())
}

/// Parses a `0x` hex 32-byte hash from JSON.
pub fn parse_hash(value: &Value) -> Result<H256, WalletError> {
    let text = value
        .as_str()
        .ok_or_else(|| WalletError::BadResponse(format!("expected a hash, got {value}")))?;
    let bytes = from_hex(text)
        .map_err(|e| WalletError::BadResponse(format!("hash `{text}` is not hex: {e}")))?;
    let raw: [u8; 32] = bytes
        .try_into()
        .map_err(|_| WalletError::BadResponse(format!("hash `{text}` is not 32 bytes")))?;
    Ok(H256(raw))
}

/// Parses a block number as Substrate sends it (`"0x1a"`), also accepting a JSON number.
pub fn parse_number(value: &Value) -> Result<BlockNumber, WalletError> {
    let bad = || WalletError::BadResponse(format!("expected a block number, got {value}"));
    if let Some(n) = value.as_u64() {
        return BlockNumber::try_from(n).map_err(|_| bad());
    }
    let text = value.as_str().ok_or_else(bad)?;
    let digits = text.strip_prefix("0x").ok_or_else(bad)?;
    BlockNumber::from_str_radix(digits, 16).map_err(|_| bad())
}

/// Parses `0x` hex bytes from JSON.
pub fn parse_bytes(value: &Value) -> Result<Vec<u8>, WalletError> {
    let text = value
        .as_str()
        .ok_or_else(|| WalletError::BadResponse(format!("expected hex bytes, got {value}")))?;
    from_hex(text).map_err(|e| WalletError::BadResponse(format!("`{text}` is not hex: {e}")))
}

/// Decodes SCALE bytes completely (no trailing bytes) as `T`.
pub fn decode_all<T: Decode>(bytes: &[u8], what: &str) -> Result<T, WalletError> {
    T::decode_all(&mut &bytes[..])
        .map_err(|e| WalletError::BadResponse(format!("cannot decode {what}: {e}")))
}

/// Parses Substrate's JSON header (`parentHash`, `number`, `stateRoot`, `extrinsicsRoot`,
/// `digest.logs`) into a [`Header`], whose `hash()` is the block hash.
pub fn parse_header(value: &Value) -> Result<Header, WalletError> {
    let field = |name: &str| {
        value
            .get(name)
            .ok_or_else(|| WalletError::BadResponse(format!("header has no `{name}`: {value}")))
    };
    let logs = field("digest")?
        .get("logs")
        .and_then(Value::as_array)
        .ok_or_else(|| WalletError::BadResponse(format!("header has no digest logs: {value}")))?
        .iter()
        .map(|log| decode_all::<DigestItem>(&parse_bytes(log)?, "a digest item"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Header {
        parent_hash: parse_hash(field("parentHash")?)?,
        number: parse_number(field("number")?)?,
        state_root: parse_hash(field("stateRoot")?)?,
        extrinsics_root: parse_hash(field("extrinsicsRoot")?)?,
        digest: Digest { logs },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use codec::Encode;
    use serde_json::json;

    #[test]
    fn parses_every_substrate_status_shape() {
        let h = H256::repeat_byte(0xab);
        let hex = format!("{h:?}");
        let cases = [
            (json!("future"), TxStatus::Future),
            (json!("ready"), TxStatus::Ready),
            (
                json!({"broadcast": ["12D3KooWA", "12D3KooWB"]}),
                TxStatus::Broadcast(vec!["12D3KooWA".into(), "12D3KooWB".into()]),
            ),
            (json!({ "inBlock": hex }), TxStatus::InBlock(h)),
            (json!({ "retracted": hex }), TxStatus::Retracted(h)),
            (
                json!({ "finalityTimeout": hex }),
                TxStatus::FinalityTimeout(h),
            ),
            (json!({ "finalized": hex }), TxStatus::Finalized(h)),
            (json!({ "usurped": hex }), TxStatus::Usurped(h)),
            (json!("dropped"), TxStatus::Dropped),
            (json!("invalid"), TxStatus::Invalid),
        ];
        for (value, expected) in cases {
            assert_eq!(TxStatus::from_json(&value).unwrap(), expected, "{value}");
        }
        assert_eq!(
            TxStatus::InBlock(h).to_string(),
            format!("inBlock 0x{}", "ab".repeat(32))
        );
    }

    #[test]
    fn rejects_unknown_statuses() {
        for value in [
            json!("pending"),
            json!({"inBlock": "0x12"}),
            json!({"inBlock": 5}),
            json!({"finalized": "0x00", "ready": null}),
            json!(7),
        ] {
            assert!(
                matches!(
                    TxStatus::from_json(&value),
                    Err(WalletError::BadResponse(_))
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn parses_a_substrate_json_header_and_hashes_it() {
        let header = Header {
            parent_hash: H256::repeat_byte(1),
            number: 26,
            state_root: H256::repeat_byte(2),
            extrinsics_root: H256::repeat_byte(3),
            digest: Digest {
                logs: vec![DigestItem::PreRuntime(*b"aura", 7u64.encode())],
            },
        };
        let value = json!({
            "parentHash": format!("{:?}", header.parent_hash),
            "number": "0x1a",
            "stateRoot": format!("{:?}", header.state_root),
            "extrinsicsRoot": format!("{:?}", header.extrinsics_root),
            "digest": { "logs": [to_hex(&header.digest.logs[0].encode())] },
        });
        let parsed = parse_header(&value).unwrap();
        assert_eq!(parsed, header);
        assert_eq!(parsed.hash(), header.hash());
        assert!(parse_header(&json!({"number": "0x1"})).is_err());
    }

    #[test]
    fn parses_block_numbers() {
        assert_eq!(parse_number(&json!("0x1a")).unwrap(), 26);
        assert_eq!(parse_number(&json!(26)).unwrap(), 26);
        assert!(parse_number(&json!("26")).is_err());
        assert!(parse_number(&json!("0x1ffffffff")).is_err());
    }
}
