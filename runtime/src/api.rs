//! Runtime APIs answered through `state_call`, with Substrate's method names and SCALE
//! encodings: `Core_version`, `AccountNonceApi_account_nonce`,
//! `TransactionPaymentApi_query_info`, `Metadata_metadata`, `Metadata_metadata_at_version`,
//! `Metadata_metadata_versions`, `TaggedTransactionQueue_validate_transaction`,
//! `AuraApi_slot_duration` and `AuraApi_authorities`.

use arceon_pallet_system as system;
use arceon_primitives::{AccountId32, TransactionSource, H256};
use arceon_support::{Ext, StateRead};
use codec::{Decode, Encode};

use crate::{aura, executive, version};

/// Why a runtime API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No such method.
    #[error("unknown runtime API method '{0}'")]
    UnknownMethod(String),
    /// The parameters do not decode as the method's arguments.
    #[error("cannot decode the parameters of '{method}': {reason}")]
    BadParams {
        /// The method.
        method: String,
        /// The decoding error.
        reason: String,
    },
    /// The extrinsic given to `query_info` does not decode.
    #[error("cannot decode the extrinsic: {0}")]
    BadExtrinsic(String),
}

fn params<T: Decode>(method: &str, mut bytes: &[u8]) -> Result<T, ApiError> {
    let value = T::decode(&mut bytes).map_err(|e| ApiError::BadParams {
        method: method.into(),
        reason: e.to_string(),
    })?;
    if !bytes.is_empty() {
        return Err(ApiError::BadParams {
            method: method.into(),
            reason: "trailing bytes".into(),
        });
    }
    Ok(value)
}

/// Calls runtime API `method` with SCALE-encoded `input` on a block's state;
/// returns the SCALE-encoded answer.
pub fn call(
    state: &dyn StateRead,
    genesis_hash: H256,
    method: &str,
    input: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let mut ext = Ext::new(state);
    match method {
        "Core_version" => Ok(version().encode()),
        // `OpaqueMetadata` is a `Vec<u8>`: the prefixed metadata with a length prefix.
        "Metadata_metadata" => {
            params::<()>(method, input)?;
            Ok(crate::metadata::metadata_bytes(14)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
                .encode())
        }
        "Metadata_metadata_at_version" => {
            let version: u32 = params(method, input)?;
            Ok(crate::metadata::metadata_bytes(version)
                .map(<[u8]>::to_vec)
                .encode())
        }
        "Metadata_metadata_versions" => {
            params::<()>(method, input)?;
            Ok(crate::metadata::VERSIONS.to_vec().encode())
        }
        "AccountNonceApi_account_nonce" => {
            let who: AccountId32 = params(method, input)?;
            Ok(system::account_nonce(&mut ext, &who).encode())
        }
        "TransactionPaymentApi_query_info" => {
            // The extrinsic is opaque here: its `Vec<u8>` encoding is its full encoding.
            let (extrinsic, _len): (Vec<u8>, u32) = params(method, input)?;
            executive::query_info(&extrinsic.encode())
                .map(|info| info.encode())
                .map_err(|e| ApiError::BadExtrinsic(e.to_string()))
        }
        "TaggedTransactionQueue_validate_transaction" => {
            let (source, extrinsic, block_hash): (TransactionSource, Vec<u8>, H256) =
                params(method, input)?;
            let full = extrinsic.encode();
            Ok(
                executive::validate_transaction(state, block_hash, source, &full, genesis_hash)
                    .encode(),
            )
        }
        "AuraApi_slot_duration" => Ok(aura::slot_duration(&mut ext).encode()),
        "AuraApi_authorities" => Ok(aura::authorities(&mut ext).encode()),
        "GrandpaApi_grandpa_authorities" => {
            Ok(crate::grandpa::Authorities::get_or_default(&mut ext).encode())
        }
        "GrandpaApi_current_set_id" => Ok(crate::grandpa::current_set_id(&mut ext).encode()),
        "SessionKeys_decode_session_keys" => {
            let encoded: Vec<u8> = params(method, input)?;
            let keys = arceon_primitives::SessionKeys::from_bytes(&encoded).ok();
            Ok(keys
                .map(|keys| {
                    keys.typed()
                        .iter()
                        .map(|(key_type, public)| (public.to_vec(), *key_type))
                        .collect::<Vec<_>>()
                })
                .encode())
        }
        other => Err(ApiError::UnknownMethod(other.into())),
    }
}
