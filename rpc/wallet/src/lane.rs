//! Playing through the fast lanes: building and signing lane actions, and checking a
//! receipt's certificate against the area's committee before believing it.
//!
//! A receipt is believed only when: it decodes, it is for the action the wallet signed,
//! its entry is in the certified header (Merkle path), the header's committee version
//! is the area's current one, and a quorum of distinct committee members signed the
//! header (each signature verified here, against the members' session keys as the
//! node's chain state names them).

use arceon_pallet_areas::AreaId;
use arceon_pallet_fastlane::{
    self as fastlane, ActionKind, LaneAction, Outcome, Receipt, SignedLaneAction,
};
use arceon_primitives::{from_hex, sr25519, to_hex, AccountId32, H256};
use codec::{DecodeAll, Encode};
use jsonrpsee::core::client::Subscription;
use serde_json::Value;

use crate::client::WalletClient;
use crate::error::WalletError;

/// A player as the node's lanes see it (`fastlane_player`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanePlayer {
    /// Joined the lanes.
    pub joined: bool,
    /// The next lane nonce.
    pub nonce: u64,
    /// The area it stands in.
    pub area: AreaId,
    /// The area committee's version.
    pub version: u64,
    /// The chain's genesis hash.
    pub genesis: H256,
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, WalletError> {
    value
        .get(name)
        .ok_or_else(|| WalletError::Rpc(format!("lane answer without `{name}`: {value}")))
}

fn as_u64(value: &Value, name: &str) -> Result<u64, WalletError> {
    field(value, name)?
        .as_u64()
        .ok_or_else(|| WalletError::Rpc(format!("lane answer: `{name}` is not a number")))
}

fn parse_h256(text: &str) -> Result<H256, WalletError> {
    let bytes = from_hex(text).map_err(|e| WalletError::Rpc(format!("bad hash {text}: {e}")))?;
    let raw: [u8; 32] = bytes
        .try_into()
        .map_err(|_| WalletError::Rpc(format!("bad hash {text}")))?;
    Ok(H256(raw))
}

impl WalletClient {
    /// `fastlane_player`: `None` when the account has no player.
    pub async fn lane_player(&self, who: &AccountId32) -> Result<Option<LanePlayer>, WalletError> {
        let value: Value = self
            .request(
                "fastlane_player",
                vec![Value::from(arceon_primitives::to_ss58(who))],
            )
            .await?;
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(LanePlayer {
            joined: field(&value, "joined")?.as_bool().unwrap_or(false),
            nonce: as_u64(&value, "nonce")?,
            area: as_u64(&value, "area")? as AreaId,
            version: field(&value, "version")?.as_u64().ok_or_else(|| {
                WalletError::Rpc("the player's area has no committee".to_string())
            })?,
            genesis: parse_h256(
                field(&value, "genesis")?
                    .as_str()
                    .ok_or_else(|| WalletError::Rpc("lane answer: bad genesis".into()))?,
            )?,
        }))
    }

    /// The signing keys of `area`'s committee in member order, and its version
    /// (`fastlane_laneState`).
    pub async fn lane_committee(&self, area: AreaId) -> Result<(u64, Vec<[u8; 32]>), WalletError> {
        let value: Value = self
            .request("fastlane_laneState", vec![Value::from(area)])
            .await?;
        let version = as_u64(&value, "version")?;
        let members = field(&value, "committee")?
            .as_array()
            .ok_or_else(|| WalletError::Rpc("lane state: committee is not a list".into()))?;
        let mut keys = Vec::with_capacity(members.len());
        for member in members {
            let text = member.get("key").and_then(Value::as_str).ok_or_else(|| {
                WalletError::Rpc("lane state: a member has no session key".into())
            })?;
            keys.push(parse_h256(text)?.0);
        }
        Ok((version, keys))
    }

    /// Submits a signed lane action and follows it
    /// (`fastlane_submitAndWatchAction`).
    pub async fn watch_action(
        &self,
        action: &SignedLaneAction,
    ) -> Result<Subscription<Value>, WalletError> {
        self.subscribe_raw(
            "fastlane_submitAndWatchAction",
            vec![Value::from(to_hex(&action.encode()))],
            "fastlane_unwatchAction",
        )
        .await
    }
}

/// Signs a lane action of `pair`'s player.
pub fn sign_action(
    pair: &sr25519::Pair,
    player: &LanePlayer,
    kind: ActionKind,
) -> SignedLaneAction {
    use sp_core::Pair;
    SignedLaneAction::sign(
        LaneAction {
            genesis: player.genesis,
            area: player.area,
            version: player.version,
            player: AccountId32::from(pair.public()),
            nonce: player.nonce,
            kind,
        },
        pair,
    )
}

/// A receipt the wallet checked.
#[derive(Debug, Clone)]
pub struct CheckedReceipt {
    /// The receipt.
    pub receipt: Receipt,
    /// The member indices that signed.
    pub signers: Vec<u8>,
    /// The committee's size.
    pub members: usize,
}

/// Why a receipt is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The `receipt` field is missing or does not decode.
    #[error("the receipt does not decode")]
    Undecodable,
    /// The receipt is for another action.
    #[error("the receipt is for another action")]
    OtherAction,
    /// The entry is not in the certified header.
    #[error("the receipt's Merkle path does not lead to the certified header")]
    NotInBatch,
    /// The header names another committee version or area.
    #[error("the receipt is certified under committee version {got}, the area's is {expected}")]
    WrongCommittee {
        /// The header's version.
        got: u64,
        /// The area's.
        expected: u64,
    },
    /// The certificate does not hold a quorum of valid member signatures.
    #[error("the certificate does not verify against the committee: {0}")]
    BadCertificate(String),
}

/// Checks the `receipt` (0x SCALE) of a `confirmed` update for `action` against the
/// committee (`version`, member `keys`).
pub fn check_receipt(
    confirmed: &Value,
    action: &SignedLaneAction,
    version: u64,
    keys: &[[u8; 32]],
) -> Result<CheckedReceipt, ReceiptError> {
    let bytes = confirmed
        .get("receipt")
        .and_then(Value::as_str)
        .and_then(|text| from_hex(text).ok())
        .ok_or(ReceiptError::Undecodable)?;
    let receipt = Receipt::decode_all(&mut &bytes[..]).map_err(|_| ReceiptError::Undecodable)?;
    if receipt.action_hash != action.hash() {
        return Err(ReceiptError::OtherAction);
    }
    if !receipt.entry_proven() {
        return Err(ReceiptError::NotInBatch);
    }
    if receipt.header.version != version || receipt.header.area != action.action.area {
        return Err(ReceiptError::WrongCommittee {
            got: receipt.header.version,
            expected: version,
        });
    }
    fastlane::verify_certificate(&receipt.header, &receipt.certificate, keys)
        .map_err(|e| ReceiptError::BadCertificate(e.to_string()))?;
    let signers = receipt
        .certificate
        .signatures
        .iter()
        .map(|(index, _)| *index)
        .collect();
    Ok(CheckedReceipt {
        receipt,
        signers,
        members: keys.len(),
    })
}

/// One line describing an outcome, in world units.
pub fn describe_outcome(outcome: &Outcome) -> String {
    let units = |v: i64| crate::world::format_units(v);
    match outcome {
        Outcome::Moved { area, position } => format!(
            "moved to ({}, {}) in area {area}",
            units(position.x),
            units(position.y)
        ),
        Outcome::Crossed { from, to, position } => format!(
            "crossed from area {from} into area {to} at ({}, {})",
            units(position.x),
            units(position.y)
        ),
        Outcome::Gathered { resource, amount } => {
            format!("gathered {amount} of resource {resource}")
        }
        Outcome::Crafted {
            recipe,
            output,
            amount,
        } => format!("crafted {amount} of item {output} with recipe {recipe}"),
        Outcome::Placed { kind, position } => format!(
            "built a structure of kind {kind} at ({}, {})",
            units(position.x),
            units(position.y)
        ),
        Outcome::Upgraded {
            kind,
            position,
            level,
        } => format!(
            "upgraded the structure of kind {kind} at ({}, {}) to level {level}",
            units(position.x),
            units(position.y)
        ),
        Outcome::Demolished { kind, position } => format!(
            "demolished the structure of kind {kind} at ({}, {})",
            units(position.x),
            units(position.y)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_pallet_fastlane::{merkle_proof, merkle_root, Batch, BatchHeader, Certificate};
    use sp_core::Pair;

    fn certified_receipt(signers: &[u8]) -> (SignedLaneAction, Value, Vec<[u8; 32]>) {
        let members: Vec<sr25519::Pair> = (0..3)
            .map(|i| sr25519::Pair::from_seed(&[50 + i; 32]))
            .collect();
        let keys: Vec<[u8; 32]> = members.iter().map(|m| m.public().0).collect();
        let player = sr25519::Pair::from_seed(&[1; 32]);
        let lane_player = LanePlayer {
            joined: true,
            nonce: 4,
            area: 2,
            version: 7,
            genesis: H256::repeat_byte(3),
        };
        let action = sign_action(&player, &lane_player, ActionKind::Gather { resource: 1 });
        let outcome = Outcome::Gathered {
            resource: 1,
            amount: 5,
        };
        let mut batch = Batch {
            header: BatchHeader {
                genesis: lane_player.genesis,
                area: 2,
                version: 7,
                view: 0,
                height: 9,
                parent: H256::repeat_byte(8),
                time_ms: 1_000,
                entries_root: H256::zero(),
                count: 1,
            },
            actions: vec![action.clone()],
            outcomes: vec![outcome],
        };
        let entries = batch.entries();
        batch.header.entries_root = merkle_root(&entries);
        let message = batch.header.signing_message();
        let certificate = Certificate {
            signatures: signers
                .iter()
                .map(|i| (*i, members[usize::from(*i)].sign(&message).0.into()))
                .collect(),
        };
        let receipt = Receipt {
            header: batch.header.clone(),
            certificate,
            index: 0,
            action_hash: action.hash(),
            outcome,
            proof: merkle_proof(&entries, 0),
        };
        let confirmed = serde_json::json!({ "receipt": to_hex(&receipt.encode()) });
        (action, confirmed, keys)
    }

    #[test]
    fn a_quorum_receipt_is_believed_and_forgeries_are_not() {
        let (action, confirmed, keys) = certified_receipt(&[0, 2]);
        let checked = check_receipt(&confirmed, &action, 7, &keys).expect("valid receipt");
        assert_eq!(checked.signers, vec![0, 2]);
        assert_eq!(checked.members, 3);
        // One signature is not a quorum of three.
        let (action, confirmed, keys) = certified_receipt(&[1]);
        assert!(matches!(
            check_receipt(&confirmed, &action, 7, &keys),
            Err(ReceiptError::BadCertificate(_))
        ));
        // Another committee's keys, another version, another action.
        let (action, confirmed, mut keys) = certified_receipt(&[0, 1]);
        assert!(matches!(
            check_receipt(&confirmed, &action, 8, &keys),
            Err(ReceiptError::WrongCommittee { .. })
        ));
        let mut other = action.clone();
        other.action.nonce += 1;
        assert_eq!(
            check_receipt(&confirmed, &other, 7, &keys).unwrap_err(),
            ReceiptError::OtherAction
        );
        keys[0] = [9; 32];
        assert!(check_receipt(&confirmed, &action, 7, &keys).is_err());
        assert_eq!(
            check_receipt(&serde_json::json!({"receipt": "0x00"}), &action, 7, &keys).unwrap_err(),
            ReceiptError::Undecodable
        );
    }
}
