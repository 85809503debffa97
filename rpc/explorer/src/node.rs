//! [`NodeConn`]: the explorer's WebSocket connection to a node, through the wallet's
//! client (Substrate method names only). It fetches one block with everything the index
//! needs from it: header, extrinsics, `System.Events` (decoded through the node's
//! metadata), the block's author (Aura: `authorities[slot % n]` at the parent's state,
//! mapped to its stash through `Session.KeyOwner`) and
//! the balances of every account the block touched, read at that block.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use arceon_primitives::{parse_account, sr25519, to_hex, to_ss58, AccountId32, BlockNumber, H256};
use arceon_runtime::queries::AccountInfo;
use arceon_wallet::meta::ChainMetadata;
use arceon_wallet::status::{parse_bytes, parse_hash, parse_header};
use arceon_wallet::{WalletClient, WalletError};
use codec::Decode;
use serde_json::{json, Value};

use crate::decode::{self, DecodedBlock};
use crate::error::{ExplorerError, Result};

/// How long connecting to the node may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys per `state_queryStorageAt` call (the node accepts up to 1,000).
const KEYS_PER_CALL: usize = 500;

/// An account's balances at a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// SS58 address.
    pub address: String,
    /// Free plancks.
    pub free: String,
    /// Reserved plancks.
    pub reserved: String,
    /// Frozen plancks.
    pub frozen: String,
    /// On-chain nonce.
    pub nonce: u64,
}

/// One block with everything the index stores about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedBlock {
    /// Height.
    pub number: BlockNumber,
    /// `0x` hash.
    pub hash: String,
    /// `0x` parent hash.
    pub parent_hash: String,
    /// `0x` state root.
    pub state_root: String,
    /// `0x` extrinsics root.
    pub extrinsics_root: String,
    /// Aura slot.
    pub slot: Option<u64>,
    /// Slot start in Unix milliseconds.
    pub timestamp_ms: Option<u64>,
    /// Author (SS58 of its Aura key).
    pub author: Option<String>,
    /// Decoded extrinsics, events and transfers.
    pub content: DecodedBlock,
    /// Balances of the accounts the block touched.
    pub accounts: Vec<AccountRow>,
}

/// A connection to one node, with its metadata and genesis.
#[derive(Debug)]
pub struct NodeConn {
    client: WalletClient,
    meta: ChainMetadata,
    genesis: String,
    slot_ms: u64,
    /// Aura key -> stash (a key belongs to one stash: the chain refuses duplicates).
    key_owners: Mutex<HashMap<[u8; 32], String>>,
}

fn storage_error(error: WalletError) -> Option<ExplorerError> {
    match error {
        // The node answered but has no state for that block (pruned): index what we can.
        WalletError::Rpc(_) => None,
        other => Some(other.into()),
    }
}

impl NodeConn {
    /// Connects to `url` and reads the metadata, genesis hash and slot duration.
    pub async fn connect(url: &str) -> Result<Self> {
        let client = WalletClient::connect_with_timeout(url, CONNECT_TIMEOUT).await?;
        let meta = client.metadata().await?.clone();
        let genesis = to_hex(client.genesis_hash().await?.as_bytes());
        let slot_ms = match client
            .storage(&arceon_runtime::aura::SlotDuration::key(), None)
            .await?
        {
            Some(bytes) => u64::decode(&mut &bytes[..]).unwrap_or(1_000),
            None => arceon_runtime::aura::DEFAULT_SLOT_DURATION_MS,
        };
        Ok(NodeConn {
            client,
            meta,
            genesis,
            slot_ms,
            key_owners: Mutex::new(HashMap::new()),
        })
    }

    /// The node's genesis hash (`0x` hex).
    pub fn genesis(&self) -> &str {
        &self.genesis
    }

    /// The wallet client underneath, for world queries.
    pub fn client(&self) -> &WalletClient {
        &self.client
    }

    /// The node's runtime metadata.
    pub fn metadata(&self) -> &ChainMetadata {
        &self.meta
    }

    /// The height of block `hash`.
    async fn number_of(&self, hash: &Value) -> Result<BlockNumber> {
        let value: Value = self
            .client
            .request("chain_getHeader", vec![hash.clone()])
            .await?;
        Ok(parse_header(&value)?.number)
    }

    /// The latest finalized height.
    pub async fn finalized_number(&self) -> Result<BlockNumber> {
        let hash: Value = self
            .client
            .request("chain_getFinalizedHead", vec![])
            .await?;
        self.number_of(&hash).await
    }

    /// The best height.
    pub async fn best_number(&self) -> Result<BlockNumber> {
        Ok(self.client.best_header().await?.number)
    }

    /// Subscribes to finalized heads (`chain_subscribeFinalizedHeads`).
    pub async fn finalized_heads(&self) -> Result<jsonrpsee::core::client::Subscription<Value>> {
        Ok(self
            .client
            .subscribe_raw(
                "chain_subscribeFinalizedHeads",
                vec![],
                "chain_unsubscribeFinalizedHeads",
            )
            .await?)
    }

    /// Fetches block `number` of the canonical chain with everything the index needs.
    pub async fn fetch_block(&self, number: BlockNumber) -> Result<FetchedBlock> {
        let hash =
            self.client.block_hash(number).await?.ok_or_else(|| {
                ExplorerError::BadResponse(format!("node has no block #{number}"))
            })?;
        let hash_json = json!(to_hex(hash.as_bytes()));
        let header_json: Value = self
            .client
            .request("chain_getHeader", vec![hash_json])
            .await?;
        let header = parse_header(&header_json)?;
        let extrinsics = self.client.block_extrinsics(hash).await?;
        let events = self.events(hash).await?;
        let content = decode::decode_block(&self.meta, &extrinsics, events.as_deref());
        let slot = decode::slot_of(&header);
        let author = match decode::author_key(&self.authorities(header.parent_hash).await?, slot) {
            Some(key) if number > 0 => Some(self.stash_of(key, header.parent_hash).await?),
            _ => None,
        };
        let accounts = self.accounts(&content.touched, hash).await?;
        Ok(FetchedBlock {
            number,
            hash: to_hex(hash.as_bytes()),
            parent_hash: to_hex(header.parent_hash.as_bytes()),
            state_root: to_hex(header.state_root.as_bytes()),
            extrinsics_root: to_hex(header.extrinsics_root.as_bytes()),
            slot,
            timestamp_ms: slot.and_then(|s| s.checked_mul(self.slot_ms)),
            author,
            content,
            accounts,
        })
    }

    /// `System.Events` at `hash`; `None` when the node has no state for it or the bytes
    /// do not decode.
    async fn events(&self, hash: H256) -> Result<Option<Vec<arceon_wallet::meta::EventRecord>>> {
        let key = arceon_runtime::queries::events_key();
        match self.client.storage(&key, Some(hash)).await {
            Ok(None) => Ok(Some(Vec::new())),
            Ok(Some(bytes)) => Ok(self.meta.decode_events(&bytes).ok()),
            Err(error) => match storage_error(error) {
                Some(fatal) => Err(fatal),
                None => Ok(None),
            },
        }
    }

    /// Aura's authorities at block `at` (empty when unknown).
    async fn authorities(&self, at: H256) -> Result<Vec<sr25519::Public>> {
        let key = arceon_runtime::aura::Authorities::key();
        match self.client.storage(&key, Some(at)).await {
            Ok(Some(bytes)) => {
                Ok(Vec::<sr25519::Public>::decode(&mut &bytes[..]).unwrap_or_default())
            }
            Ok(None) => Ok(Vec::new()),
            Err(error) => match storage_error(error) {
                Some(fatal) => Err(fatal),
                None => Ok(Vec::new()),
            },
        }
    }

    /// The stash that registered Aura `key` (`Session.KeyOwner`), SS58; the key itself
    /// when no stash registered it (genesis validators whose stash is their key).
    async fn stash_of(&self, key: sr25519::Public, at: H256) -> Result<String> {
        if let Some(known) = self.lock_owners().get(&key.0) {
            return Ok(known.clone());
        }
        let storage_key =
            arceon_runtime::queries::key_owner_key(arceon_primitives::AURA_KEY_TYPE, &key.0);
        let owner = match self.client.storage(&storage_key, Some(at)).await {
            Ok(Some(bytes)) => AccountId32::decode(&mut &bytes[..]).ok(),
            Ok(None) => None,
            Err(error) => match storage_error(error) {
                Some(fatal) => return Err(fatal),
                None => None,
            },
        };
        let stash = to_ss58(&owner.unwrap_or_else(|| AccountId32::new(key.0)));
        self.lock_owners().insert(key.0, stash.clone());
        Ok(stash)
    }

    fn lock_owners(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], String>> {
        self.key_owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The balances of `addresses` at block `at` (accounts the node cannot read are left
    /// out: their rows keep the last known values).
    async fn accounts(&self, addresses: &[String], at: H256) -> Result<Vec<AccountRow>> {
        let mut rows = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(KEYS_PER_CALL) {
            let keys: Vec<Value> = chunk
                .iter()
                .filter_map(|a| parse_account(a).ok())
                .map(|who| json!(to_hex(&arceon_runtime::queries::account_key(&who))))
                .collect();
            let answer: Value = match self
                .client
                .request(
                    "state_queryStorageAt",
                    vec![Value::Array(keys), json!(to_hex(at.as_bytes()))],
                )
                .await
            {
                Ok(answer) => answer,
                Err(error) => match storage_error(error) {
                    Some(fatal) => return Err(fatal),
                    None => continue,
                },
            };
            let changes = answer
                .get(0)
                .and_then(|set| set.get("changes"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (address, change) in chunk.iter().zip(changes.iter()) {
                let info = match change.get(1) {
                    Some(Value::Null) | None => AccountInfo::default(),
                    Some(value) => {
                        let bytes = parse_bytes(value)?;
                        AccountInfo::decode(&mut &bytes[..]).map_err(|e| {
                            ExplorerError::BadResponse(format!("account {address}: {e}"))
                        })?
                    }
                };
                rows.push(AccountRow {
                    address: address.clone(),
                    free: info.data.free.to_string(),
                    reserved: info.data.reserved.to_string(),
                    frozen: info.data.frozen.to_string(),
                    nonce: u64::from(info.nonce),
                });
            }
        }
        Ok(rows)
    }
}

/// Parses a header notification's number.
pub fn header_number(value: &Value) -> Result<BlockNumber> {
    Ok(parse_header(value)?.number)
}

/// Parses a `0x` hash from JSON.
pub fn hash_from(value: &Value) -> Result<H256> {
    Ok(parse_hash(value)?)
}
