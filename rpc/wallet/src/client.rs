//! [`WalletClient`]: the wallet's connection to a node's JSON-RPC over WebSocket, speaking
//! Substrate's method names and shapes.

use std::time::Duration;

use arceon_pallet_balances::EXISTENTIAL_DEPOSIT;
use arceon_pallet_system::{self as system, AccountInfo};
use arceon_primitives::{
    sr25519, to_hex, to_ss58, AccountId32, Balance, BlockNumber, Era, Header, Nonce, H256,
};
use arceon_runtime::Extrinsic;
use jsonrpsee::client_transport::ws::{Url, WsHandshakeError, WsTransportClientBuilder};
use jsonrpsee::core::client::{
    Client, ClientBuilder, ClientT, Error as RpcError, Subscription, SubscriptionClientT,
};
use jsonrpsee::core::params::ArrayParams;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::WalletError;
use crate::meta::{self, ChainMetadata};
use crate::render::render_dispatch_error;
use crate::sign::{check_transfer_funds, sign_transfer_offline, SigningContext};
use crate::status::{decode_all, parse_bytes, parse_hash, parse_header, TxStatus};

/// How long [`WalletClient::connect`] waits for the WebSocket handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take before [`WalletError::Timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The parts of `state_getRuntimeVersion` a wallet needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRuntimeVersion {
    /// `specName` ("arceon").
    pub spec_name: String,
    /// `specVersion`, part of every signed payload.
    pub spec_version: u32,
    /// `transactionVersion`, part of every signed payload.
    pub transaction_version: u32,
}

/// How far [`WalletClient::watch`] follows a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Until it is in a block of the best chain (and its events are read).
    InBlock,
    /// Until that block is finalized.
    Finalized,
}

/// Options of a transfer beyond who, whom and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOptions {
    /// Use `transfer_keep_alive`: fail rather than let the sender drop below the
    /// existential deposit.
    pub keep_alive: bool,
    /// Priority tip, in plancks.
    pub tip: Balance,
    /// The nonce to use; `None` asks the node (`system_accountNextIndex`).
    pub nonce: Option<Nonce>,
    /// `Some(period)` for a mortal era of about that many blocks from the best block;
    /// `None` for an immortal transaction.
    pub mortal_period: Option<u64>,
    /// How far to follow the transaction.
    pub wait_for: WaitFor,
    /// Give up (with [`WalletError::Timeout`]) after this long.
    pub timeout: Duration,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            keep_alive: false,
            tip: 0,
            nonce: None,
            mortal_period: None,
            wait_for: WaitFor::Finalized,
            timeout: Duration::from_secs(120),
        }
    }
}

/// A signed transfer, checked against the sender's funds, ready to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedTransfer {
    /// The extrinsic's full encoding.
    pub extrinsic: Vec<u8>,
    /// Its hash (what the node's pool calls it).
    pub hash: H256,
    /// The fee `payment_queryInfo` estimated, in plancks (without the tip).
    pub fee: Balance,
    /// The nonce it was signed with.
    pub nonce: Nonce,
}

/// What happened to an extrinsic in the block that included it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// The including block.
    pub block: H256,
    /// The extrinsic's position in that block.
    pub index: u32,
    /// The events it deposited (phase `ApplyExtrinsic(index)`), in order, named through
    /// the node's metadata.
    pub events: Vec<meta::Event>,
    /// Whether `System.ExtrinsicSuccess` is among them.
    pub success: bool,
    /// The rendered dispatch error of `System.ExtrinsicFailed`, if it failed.
    pub error: Option<String>,
}

/// Progress reported to [`WalletClient::watch`]'s callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchUpdate {
    /// A status as the node sent it.
    Status(TxStatus),
    /// After an `inBlock` status: the extrinsic's outcome in that block.
    Included(Inclusion),
}

/// The outcome of a watched transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    /// The extrinsic's hash.
    pub extrinsic_hash: H256,
    /// The (last) block that included it.
    pub in_block: H256,
    /// The finalized block, if the watch went that far.
    pub finalized: Option<H256>,
    /// The events the extrinsic deposited.
    pub events: Vec<meta::Event>,
    /// Whether its call succeeded.
    pub success: bool,
    /// The rendered dispatch error when it failed (e.g. `Balances.InsufficientBalance`).
    pub error: Option<String>,
}

/// A stream of transaction statuses from `author_submitAndWatchExtrinsic`.
#[derive(Debug)]
pub struct TxStatusStream {
    subscription: Subscription<Value>,
}

impl TxStatusStream {
    /// The next status, or `None` when the node closed the subscription.
    pub async fn next(&mut self) -> Option<Result<TxStatus, WalletError>> {
        let item = self.subscription.next().await?;
        Some(
            item.map_err(|e| WalletError::BadResponse(e.to_string()))
                .and_then(|value| TxStatus::from_json(&value)),
        )
    }

    /// Stops watching (`author_unwatchExtrinsic`).
    pub async fn unsubscribe(self) -> Result<(), WalletError> {
        self.subscription
            .unsubscribe()
            .await
            .map_err(|e| WalletError::Rpc(e.to_string()))
    }
}

/// A stream of headers from `chain_subscribeNewHeads` or `chain_subscribeFinalizedHeads`.
#[derive(Debug)]
pub struct HeaderStream {
    subscription: Subscription<Value>,
}

impl HeaderStream {
    /// The next header, or `None` when the node closed the subscription.
    pub async fn next(&mut self) -> Option<Result<Header, WalletError>> {
        let item = self.subscription.next().await?;
        Some(
            item.map_err(|e| WalletError::BadResponse(e.to_string()))
                .and_then(|value| parse_header(&value)),
        )
    }
}

/// A connection to one node. Cheap to share by reference; requests may run concurrently.
#[derive(Debug)]
pub struct WalletClient {
    url: String,
    client: Client,
    /// The node's metadata, fetched on first use.
    metadata: tokio::sync::OnceCell<ChainMetadata>,
}

/// Turns the URL a user typed into the WebSocket URL to dial. The node serves HTTP and
/// WebSocket on one port, so `http://host:port` means `ws://host:port`.
pub fn websocket_url(url: &str) -> Result<Url, WalletError> {
    let bad = |reason: String| WalletError::BadUrl {
        url: url.to_string(),
        reason,
    };
    let rewritten = if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if url.starts_with("https://") || url.starts_with("wss://") {
        return Err(bad(
            "TLS is not supported: use ws:// (or http://) to a local node or a TLS proxy"
                .to_string(),
        ));
    } else {
        url.to_string()
    };
    let parsed = Url::parse(&rewritten).map_err(|e| bad(e.to_string()))?;
    if parsed.scheme() != "ws" {
        return Err(bad(format!(
            "scheme `{}` is not supported: use ws:// or http://",
            parsed.scheme()
        )));
    }
    Ok(parsed)
}

fn params<I: IntoIterator<Item = Value>>(values: I) -> Result<ArrayParams, WalletError> {
    let mut params = ArrayParams::new();
    for value in values {
        params
            .insert(value)
            .map_err(|e| WalletError::Rpc(format!("cannot encode parameters: {e}")))?;
    }
    Ok(params)
}

impl WalletClient {
    /// Connects to the node at `url` (`ws://host:port`; `http://` is taken as `ws://` on
    /// the same port), waiting at most [`DEFAULT_CONNECT_TIMEOUT`].
    pub async fn connect(url: &str) -> Result<Self, WalletError> {
        Self::connect_with_timeout(url, DEFAULT_CONNECT_TIMEOUT).await
    }

    /// Connects, waiting at most `timeout` for the connection and handshake.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, WalletError> {
        let target = websocket_url(url)?;
        let unreachable = |reason: String| WalletError::NodeUnreachable {
            url: url.to_string(),
            reason,
        };
        let handshake = WsTransportClientBuilder::default()
            .connection_timeout(timeout)
            .max_request_size(16 * 1024 * 1024)
            .max_response_size(64 * 1024 * 1024)
            .build(target);
        let (sender, receiver) = match tokio::time::timeout(timeout, handshake).await {
            Err(_) => return Err(unreachable(format!("no answer within {timeout:?}"))),
            Ok(Err(error)) => return Err(unreachable(describe_handshake_error(&error))),
            Ok(Ok(pair)) => pair,
        };
        let client = ClientBuilder::default()
            .request_timeout(DEFAULT_REQUEST_TIMEOUT)
            .build_with_tokio(sender, receiver);
        Ok(WalletClient {
            url: url.to_string(),
            client,
            metadata: tokio::sync::OnceCell::new(),
        })
    }

    /// The URL this client was connected with.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn map_error(&self, method: &str, error: RpcError) -> WalletError {
        rpc_error(&self.url, method, error)
    }

    /// Calls `method` with positional `args` and deserializes the result.
    pub async fn request<R: DeserializeOwned>(
        &self,
        method: &str,
        args: Vec<Value>,
    ) -> Result<R, WalletError> {
        self.client
            .request(method, params(args)?)
            .await
            .map_err(|e| self.map_error(method, e))
    }

    /// Subscribes with positional `args` to `method` (unsubscribed by `unsubscribe`).
    pub async fn subscribe_raw(
        &self,
        method: &str,
        args: Vec<Value>,
        unsubscribe: &str,
    ) -> Result<Subscription<Value>, WalletError> {
        self.subscribe(method, args, unsubscribe).await
    }

    async fn subscribe(
        &self,
        method: &str,
        args: Vec<Value>,
        unsubscribe: &str,
    ) -> Result<Subscription<Value>, WalletError> {
        self.client
            .subscribe(method, params(args)?, unsubscribe)
            .await
            .map_err(|e| self.map_error(method, e))
    }

    /// The hash of block `number` on the best chain (`chain_getBlockHash`), `None` if
    /// there is no such block.
    pub async fn block_hash(&self, number: BlockNumber) -> Result<Option<H256>, WalletError> {
        let value: Value = self
            .request("chain_getBlockHash", vec![Value::from(number)])
            .await?;
        if value.is_null() {
            return Ok(None);
        }
        parse_hash(&value).map(Some)
    }

    /// The genesis hash: every signature is bound to it.
    pub async fn genesis_hash(&self) -> Result<H256, WalletError> {
        self.block_hash(0)
            .await?
            .ok_or_else(|| WalletError::BadResponse("the node has no block 0".to_string()))
    }

    /// The chain's type (`system_chainType`): `Development`, `Local`, `Live`, or a custom
    /// name.
    pub async fn chain_type(&self) -> Result<String, WalletError> {
        let value: Value = self.request("system_chainType", vec![]).await?;
        Ok(match value {
            Value::String(kind) => kind,
            Value::Object(object) => object
                .get("Custom")
                .and_then(Value::as_str)
                .map_or_else(|| "Custom".to_string(), |name| format!("Custom({name})")),
            other => other.to_string(),
        })
    }

    /// The node's runtime metadata: V15 through `state_call`
    /// (`Metadata_metadata_at_version`), else V14 from `state_getMetadata`. Fetched once
    /// per client.
    pub async fn metadata(&self) -> Result<&ChainMetadata, WalletError> {
        self.metadata
            .get_or_try_init(|| async {
                if let Some(bytes) = self.metadata_v15_bytes().await {
                    if let Ok(metadata) = ChainMetadata::from_bytes(&bytes) {
                        return Ok(metadata);
                    }
                }
                let value: Value = self.request("state_getMetadata", vec![]).await?;
                let bytes = parse_bytes(&value)?;
                Ok(ChainMetadata::from_bytes(&bytes)?)
            })
            .await
    }

    /// The V15 metadata bytes, `None` when the node does not serve them.
    async fn metadata_v15_bytes(&self) -> Option<Vec<u8>> {
        use codec::{Decode as _, Encode as _};
        let arg = to_hex(&15u32.encode());
        let value: Value = self
            .request(
                "state_call",
                vec![
                    Value::from("Metadata_metadata_at_version"),
                    Value::from(arg),
                ],
            )
            .await
            .ok()?;
        let bytes = parse_bytes(&value).ok()?;
        let mut input = bytes.as_slice();
        let inner = Option::<Vec<u8>>::decode(&mut input).ok()??;
        input.is_empty().then_some(inner)
    }

    /// The chain's name (`system_chain`).
    pub async fn chain_name(&self) -> Result<String, WalletError> {
        self.request("system_chain", vec![]).await
    }

    /// The node's runtime version (`state_getRuntimeVersion`).
    pub async fn runtime_version(&self) -> Result<ChainRuntimeVersion, WalletError> {
        let value: Value = self.request("state_getRuntimeVersion", vec![]).await?;
        let number = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    WalletError::BadResponse(format!("runtime version has no `{name}`: {value}"))
                })
        };
        Ok(ChainRuntimeVersion {
            spec_name: value
                .get("specName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            spec_version: number("specVersion")?,
            transaction_version: number("transactionVersion")?,
        })
    }

    /// A storage value at the best block (or at `at`), `None` when absent.
    pub async fn storage(
        &self,
        key: &[u8],
        at: Option<H256>,
    ) -> Result<Option<Vec<u8>>, WalletError> {
        let mut args = vec![Value::from(to_hex(key))];
        if let Some(at) = at {
            args.push(Value::from(to_hex(at.as_bytes())));
        }
        let value: Value = self.request("state_getStorage", args).await?;
        if value.is_null() {
            return Ok(None);
        }
        parse_bytes(&value).map(Some)
    }

    /// The account's record at the best block (`System.Account`); the default (all
    /// zero) when the account does not exist.
    pub async fn account_info(&self, account: &AccountId32) -> Result<AccountInfo, WalletError> {
        Ok(self
            .account_info_if_exists(account)
            .await?
            .unwrap_or_default())
    }

    /// The account's record, `None` when the account does not exist.
    pub async fn account_info_if_exists(
        &self,
        account: &AccountId32,
    ) -> Result<Option<AccountInfo>, WalletError> {
        match self.storage(&system::Account::key(account), None).await? {
            None => Ok(None),
            Some(bytes) => decode_all(&bytes, "System.Account").map(Some),
        }
    }

    /// The account's next nonce, counting its transactions in the node's pool
    /// (`system_accountNextIndex`).
    pub async fn next_nonce(&self, account: &AccountId32) -> Result<Nonce, WalletError> {
        let value: Value = self
            .request(
                "system_accountNextIndex",
                vec![Value::from(to_ss58(account))],
            )
            .await?;
        value
            .as_u64()
            .and_then(|n| Nonce::try_from(n).ok())
            .ok_or_else(|| WalletError::BadResponse(format!("nonce is not a number: {value}")))
    }

    /// The best block's header (`chain_getHeader`).
    pub async fn best_header(&self) -> Result<Header, WalletError> {
        let value: Value = self.request("chain_getHeader", vec![]).await?;
        parse_header(&value)
    }

    /// The hash of the latest finalized block (`chain_getFinalizedHead`).
    pub async fn finalized_head(&self) -> Result<H256, WalletError> {
        let value: Value = self.request("chain_getFinalizedHead", vec![]).await?;
        parse_hash(&value)
    }

    /// The encoded extrinsics of block `hash` (`chain_getBlock`).
    pub async fn block_extrinsics(&self, hash: H256) -> Result<Vec<Vec<u8>>, WalletError> {
        let value: Value = self
            .request("chain_getBlock", vec![Value::from(to_hex(hash.as_bytes()))])
            .await?;
        let extrinsics = value
            .get("block")
            .and_then(|block| block.get("extrinsics"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                WalletError::BadResponse(format!("block {hash:?} not found or malformed"))
            })?;
        extrinsics.iter().map(parse_bytes).collect()
    }

    /// The `System.Events` of block `hash`, decoded through the node's metadata.
    pub async fn block_events(&self, hash: H256) -> Result<Vec<meta::EventRecord>, WalletError> {
        let metadata = self.metadata().await?;
        match self.storage(&system::events_key(), Some(hash)).await? {
            None => Ok(Vec::new()),
            Some(bytes) => metadata
                .decode_events(&bytes)
                .map_err(|e| WalletError::BadResponse(e.to_string())),
        }
    }

    /// The fee `extrinsic` would pay, in plancks, without the tip (`payment_queryInfo`).
    pub async fn query_fee(&self, extrinsic: &[u8]) -> Result<Balance, WalletError> {
        let value: Value = self
            .request("payment_queryInfo", vec![Value::from(to_hex(extrinsic))])
            .await?;
        let fee = value.get("partialFee").ok_or_else(|| {
            WalletError::BadResponse(format!("payment_queryInfo has no partialFee: {value}"))
        })?;
        // Substrate sends it as a decimal string (u128 does not fit a JSON number).
        match fee {
            Value::String(text) => text.parse().ok(),
            Value::Number(n) => n.as_u64().map(Balance::from),
            _ => None,
        }
        .ok_or_else(|| WalletError::BadResponse(format!("partialFee is not a number: {fee}")))
    }

    /// Everything a signature must bind to, fetched from the node: genesis hash, runtime
    /// version and, for a mortal era, the birth block's hash.
    pub async fn signing_context(
        &self,
        nonce: Nonce,
        tip: Balance,
        mortal_period: Option<u64>,
    ) -> Result<SigningContext, WalletError> {
        let genesis_hash = self.genesis_hash().await?;
        let version = self.runtime_version().await?;
        if version.transaction_version != arceon_runtime::TRANSACTION_VERSION {
            return Err(WalletError::IncompatibleRuntime {
                node: version.transaction_version,
                wallet: arceon_runtime::TRANSACTION_VERSION,
            });
        }
        let (era, era_checkpoint) = match mortal_period {
            None => (Era::Immortal, genesis_hash),
            Some(period) => {
                let best = self.best_header().await?;
                let current = u64::from(best.number);
                let era = Era::mortal(period, current);
                let birth = era.birth(current);
                let checkpoint = if birth == current {
                    best.hash()
                } else {
                    let number = BlockNumber::try_from(birth).map_err(|_| {
                        WalletError::BadResponse(format!("era birth block {birth} out of range"))
                    })?;
                    self.block_hash(number).await?.ok_or_else(|| {
                        WalletError::BadResponse(format!("the node has no block {birth}"))
                    })?
                };
                (era, checkpoint)
            }
        };
        Ok(SigningContext {
            genesis_hash,
            spec_version: version.spec_version,
            transaction_version: version.transaction_version,
            era,
            era_checkpoint,
            nonce,
            tip,
        })
    }

    /// Signs a transfer of `amount` plancks from `pair` to `dest` for this node's chain:
    /// immortal unless `era_mortal_period` is given (then its checkpoint is the birth
    /// block's hash from `chain_getBlockHash`). Returns the extrinsic's encoding.
    #[allow(clippy::too_many_arguments)]
    pub async fn sign_transfer(
        &self,
        pair: &sr25519::Pair,
        dest: &AccountId32,
        amount: Balance,
        keep_alive: bool,
        tip: Balance,
        nonce: Nonce,
        era_mortal_period: Option<u64>,
    ) -> Result<Vec<u8>, WalletError> {
        let context = self.signing_context(nonce, tip, era_mortal_period).await?;
        Ok(sign_transfer_offline(
            pair, dest, amount, keep_alive, &context,
        ))
    }

    /// Signs a transfer and checks, before anything is submitted, that the sender can
    /// pay amount, tip and the node's fee estimate, and that a new recipient gets at
    /// least the existential deposit.
    pub async fn prepare_transfer(
        &self,
        pair: &sr25519::Pair,
        dest: &AccountId32,
        amount: Balance,
        options: &TransferOptions,
    ) -> Result<PreparedTransfer, WalletError> {
        use sp_core::Pair as _;
        let sender = AccountId32::from(pair.public());
        let nonce = match options.nonce {
            Some(nonce) => nonce,
            None => self.next_nonce(&sender).await?,
        };
        let extrinsic = self
            .sign_transfer(
                pair,
                dest,
                amount,
                options.keep_alive,
                options.tip,
                nonce,
                options.mortal_period,
            )
            .await?;
        let fee = self.query_fee(&extrinsic).await?;
        let sender_info = self.account_info(&sender).await?;
        let dest_exists = if amount > 0 && amount < EXISTENTIAL_DEPOSIT && dest != &sender {
            self.account_info_if_exists(dest).await?.is_some()
        } else {
            true
        };
        check_transfer_funds(
            &sender_info,
            dest_exists,
            amount,
            options.tip,
            fee,
            options.keep_alive,
        )?;
        Ok(PreparedTransfer {
            hash: arceon_runtime::extrinsic_hash(&extrinsic),
            extrinsic,
            fee,
            nonce,
        })
    }

    /// Signs any runtime call as `pair` (next nonce from the node unless given, immortal
    /// unless `mortal_period`) and checks that the sender can pay the node's fee estimate
    /// and `tip` before anything is submitted.
    pub async fn prepare_call(
        &self,
        pair: &sr25519::Pair,
        call: arceon_runtime::Call,
        tip: Balance,
        nonce: Option<Nonce>,
        mortal_period: Option<u64>,
    ) -> Result<PreparedTransfer, WalletError> {
        use codec::Encode as _;
        self.prepare_call_bytes(pair, &call.encode(), tip, nonce, mortal_period)
            .await
    }

    /// Like [`WalletClient::prepare_call`], for a call already encoded (pallet index, call
    /// index, arguments), e.g. from JSON through the node's metadata.
    pub async fn prepare_call_bytes(
        &self,
        pair: &sr25519::Pair,
        call: &[u8],
        tip: Balance,
        nonce: Option<Nonce>,
        mortal_period: Option<u64>,
    ) -> Result<PreparedTransfer, WalletError> {
        use sp_core::Pair as _;
        let sender = AccountId32::from(pair.public());
        let nonce = match nonce {
            Some(nonce) => nonce,
            None => self.next_nonce(&sender).await?,
        };
        let context = self.signing_context(nonce, tip, mortal_period).await?;
        let extrinsic = crate::sign::sign_call_bytes(call, pair, &context);
        let fee = self.query_fee(&extrinsic).await?;
        let sender_info = self.account_info(&sender).await?;
        let spendable = crate::sign::spendable(&sender_info, true);
        let needed = fee.saturating_add(tip);
        if spendable < needed {
            return Err(WalletError::InsufficientFunds {
                needed,
                available: spendable,
            });
        }
        Ok(PreparedTransfer {
            hash: arceon_runtime::extrinsic_hash(&extrinsic),
            extrinsic,
            fee,
            nonce,
        })
    }

    /// Submits a signed extrinsic (`author_submitExtrinsic`) and returns its hash.
    pub async fn submit(&self, extrinsic_hex: &str) -> Result<H256, WalletError> {
        let value: Value = self
            .request("author_submitExtrinsic", vec![Value::from(extrinsic_hex)])
            .await?;
        parse_hash(&value)
    }

    /// Submits a signed extrinsic and subscribes to its statuses
    /// (`author_submitAndWatchExtrinsic`).
    pub async fn submit_and_watch(&self, extrinsic: &[u8]) -> Result<TxStatusStream, WalletError> {
        let subscription = self
            .subscribe(
                "author_submitAndWatchExtrinsic",
                vec![Value::from(to_hex(extrinsic))],
                "author_unwatchExtrinsic",
            )
            .await?;
        Ok(TxStatusStream { subscription })
    }

    /// Subscribes to new best-chain headers (`chain_subscribeNewHeads`).
    pub async fn subscribe_new_heads(&self) -> Result<HeaderStream, WalletError> {
        let subscription = self
            .subscribe(
                "chain_subscribeNewHeads",
                vec![],
                "chain_unsubscribeNewHeads",
            )
            .await?;
        Ok(HeaderStream { subscription })
    }

    /// Subscribes to finalized headers (`chain_subscribeFinalizedHeads`).
    pub async fn subscribe_finalized_heads(&self) -> Result<HeaderStream, WalletError> {
        let subscription = self
            .subscribe(
                "chain_subscribeFinalizedHeads",
                vec![],
                "chain_unsubscribeFinalizedHeads",
            )
            .await?;
        Ok(HeaderStream { subscription })
    }

    /// Finds `extrinsic` in block `block` and collects the events it deposited.
    pub async fn inclusion(&self, extrinsic: &[u8], block: H256) -> Result<Inclusion, WalletError> {
        let extrinsics = self.block_extrinsics(block).await?;
        let index = extrinsics
            .iter()
            .position(|candidate| candidate.as_slice() == extrinsic)
            .ok_or_else(|| {
                WalletError::BadResponse(format!(
                    "the node says block {block:?} includes the transaction, but it is not there"
                ))
            })?;
        let index = u32::try_from(index)
            .map_err(|_| WalletError::BadResponse("extrinsic index out of range".to_string()))?;
        let records = self.block_events(block).await?;
        Ok(inclusion_from_records(
            self.metadata().await?,
            block,
            index,
            records,
        ))
    }

    /// Follows a submitted extrinsic until `wait_for`, calling `on_update` with every
    /// status and, after each `inBlock`, with the extrinsic's outcome in that block.
    ///
    /// Ends with `Ok` once the extrinsic is in a block (and, for [`WaitFor::Finalized`],
    /// finalized), whether its call succeeded or not: see [`TransferReport::success`].
    /// Fails with [`WalletError::Invalid`] when the node drops it, with
    /// [`WalletError::Timeout`] after `timeout`.
    pub async fn watch(
        &self,
        extrinsic: &[u8],
        wait_for: WaitFor,
        timeout: Duration,
        mut on_update: impl FnMut(WatchUpdate),
    ) -> Result<TransferReport, WalletError> {
        let extrinsic_hash = arceon_runtime::extrinsic_hash(extrinsic);
        let mut stream = self.submit_and_watch(extrinsic).await?;
        let follow = async {
            let mut included: Option<Inclusion> = None;
            let report = |inclusion: &Inclusion, finalized: Option<H256>| TransferReport {
                extrinsic_hash,
                in_block: inclusion.block,
                finalized,
                events: inclusion.events.clone(),
                success: inclusion.success,
                error: inclusion.error.clone(),
            };
            while let Some(status) = stream.next().await {
                let status = status?;
                on_update(WatchUpdate::Status(status.clone()));
                match status {
                    TxStatus::InBlock(block) => {
                        let inclusion = self.inclusion(extrinsic, block).await?;
                        on_update(WatchUpdate::Included(inclusion.clone()));
                        if wait_for == WaitFor::InBlock {
                            return Ok(report(&inclusion, None));
                        }
                        included = Some(inclusion);
                    }
                    TxStatus::Retracted(_) => included = None,
                    TxStatus::Finalized(block) | TxStatus::FinalityTimeout(block) => {
                        let inclusion = match included.take() {
                            Some(inclusion) if inclusion.block == block => inclusion,
                            _ => {
                                let inclusion = self.inclusion(extrinsic, block).await?;
                                on_update(WatchUpdate::Included(inclusion.clone()));
                                inclusion
                            }
                        };
                        let finalized =
                            matches!(status, TxStatus::Finalized(_)).then_some(block);
                        return Ok(report(&inclusion, finalized));
                    }
                    TxStatus::Usurped(by) => {
                        return Err(WalletError::Invalid(format!(
                            "usurped by transaction {by:?} with the same nonce"
                        )))
                    }
                    TxStatus::Dropped => {
                        return Err(WalletError::Invalid(
                            "dropped from the node's pool".to_string(),
                        ))
                    }
                    TxStatus::Invalid => {
                        return Err(WalletError::Invalid(
                            "the node found it invalid (stale nonce, bad signature or era, or cannot pay fees)"
                                .to_string(),
                        ))
                    }
                    TxStatus::Future | TxStatus::Ready | TxStatus::Broadcast(_) => {}
                }
            }
            Err(WalletError::Rpc(
                "the node closed the watch subscription before the transaction was done"
                    .to_string(),
            ))
        };
        match tokio::time::timeout(timeout, follow).await {
            Ok(result) => result,
            Err(_) => Err(WalletError::Timeout(format!(
                "transaction {extrinsic_hash:?} not {} after {timeout:?} (it may still be in the node's pool)",
                match wait_for {
                    WaitFor::InBlock => "in a block",
                    WaitFor::Finalized => "finalized",
                }
            ))),
        }
    }

    /// Signs, checks, submits and follows a transfer of `amount` plancks to `dest`.
    /// `on_update` sees the statuses and the outcome as they come.
    pub async fn transfer_and_wait(
        &self,
        pair: &sr25519::Pair,
        dest: &AccountId32,
        amount: Balance,
        options: &TransferOptions,
        on_update: impl FnMut(WatchUpdate),
    ) -> Result<TransferReport, WalletError> {
        let prepared = self.prepare_transfer(pair, dest, amount, options).await?;
        self.watch(
            &prepared.extrinsic,
            options.wait_for,
            options.timeout,
            on_update,
        )
        .await
    }
}

/// Keeps the events of extrinsic `index` and reads its outcome from them.
pub fn inclusion_from_records(
    metadata: &ChainMetadata,
    block: H256,
    index: u32,
    records: Vec<meta::EventRecord>,
) -> Inclusion {
    let events: Vec<meta::Event> = records
        .into_iter()
        .filter(|record| record.extrinsic == Some(index))
        .map(|record| record.event)
        .collect();
    let success = events
        .iter()
        .any(|event| event.is("System", "ExtrinsicSuccess"));
    let error = events
        .iter()
        .find(|event| event.is("System", "ExtrinsicFailed"))
        .map(|event| match event.field("dispatch_error") {
            Some(field) => render_dispatch_error(metadata, &field.value),
            None => "ExtrinsicFailed".to_string(),
        });
    Inclusion {
        block,
        index,
        events,
        success,
        error,
    }
}

/// Decodes user-supplied hex as one signed extrinsic, so garbage is refused before it
/// reaches the node.
pub fn parse_extrinsic_hex(text: &str) -> Result<Vec<u8>, WalletError> {
    let bytes = arceon_primitives::from_hex(text.trim())
        .map_err(|e| WalletError::BadExtrinsic(format!("not hex: {e}")))?;
    Extrinsic::decode_exact(&bytes).map_err(|e| WalletError::BadExtrinsic(e.to_string()))?;
    Ok(bytes)
}

/// Maps a jsonrpsee client error of a call to `method` on the node at `url`.
fn rpc_error(url: &str, method: &str, error: RpcError) -> WalletError {
    match error {
        RpcError::Call(object) => {
            let mut message = object.message().to_string();
            if let Some(data) = object.data() {
                message.push_str(": ");
                message.push_str(data.get().trim_matches('"'));
            }
            // Substrate's author_* pool errors (1010 invalid, 1011 unknown validity,
            // 1012 already imported, 1013 priority too low, ...): the node refused
            // the transaction itself, not the request.
            if method.starts_with("author_") && (1010..1020).contains(&object.code()) {
                WalletError::Invalid(message)
            } else {
                WalletError::Rpc(message)
            }
        }
        RpcError::RequestTimeout => {
            WalletError::Timeout(format!("the node did not answer {method} in time"))
        }
        RpcError::ParseError(e) => {
            WalletError::BadResponse(format!("{method} answered an unexpected shape: {e}"))
        }
        RpcError::Transport(e) => WalletError::NodeUnreachable {
            url: url.to_string(),
            reason: format!("connection lost: {e}"),
        },
        RpcError::RestartNeeded(e) => WalletError::NodeUnreachable {
            url: url.to_string(),
            reason: format!("connection lost: {e}"),
        },
        other => WalletError::Rpc(other.to_string()),
    }
}

fn describe_handshake_error(error: &WsHandshakeError) -> String {
    match error {
        WsHandshakeError::Io(io) => io.to_string(),
        WsHandshakeError::Timeout(after) => format!("no answer within {after:?}"),
        WsHandshakeError::ResolutionFailed(io) => format!("cannot resolve the host: {io}"),
        WsHandshakeError::NoAddressFound(host) => format!("no address found for {host}"),
        WsHandshakeError::Rejected { status_code } => format!(
            "the server refused the WebSocket upgrade (HTTP {status_code}); is this an arceon-node RPC port?"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_pallet_balances as balances;
    use arceon_primitives::{Keyring, ARCM};
    use arceon_runtime::{payment, RuntimeEvent};
    use arceon_support::{DispatchInfo, EventRecord, Phase};

    #[tokio::test]
    async fn a_closed_port_is_node_unreachable_with_a_clear_message() {
        let started = std::time::Instant::now();
        let error = WalletClient::connect_with_timeout("ws://127.0.0.1:1", Duration::from_secs(3))
            .await
            .expect_err("nothing listens on port 1");
        assert!(started.elapsed() < Duration::from_secs(5));
        match &error {
            WalletError::NodeUnreachable { url, .. } => assert_eq!(url, "ws://127.0.0.1:1"),
            other => panic!("expected NodeUnreachable, got {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message
                .starts_with("cannot reach the node at ws://127.0.0.1:1: is arceon-node running?"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out_as_unreachable() {
        // Accepts TCP but never answers the WebSocket handshake.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let url = format!("ws://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let error = WalletClient::connect_with_timeout(&url, Duration::from_millis(300))
            .await
            .expect_err("the server never completes the handshake");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(
            matches!(error, WalletError::NodeUnreachable { .. }),
            "{error:?}"
        );
        hold.abort();
    }

    #[test]
    fn urls() {
        assert_eq!(
            websocket_url("ws://127.0.0.1:9944").unwrap().as_str(),
            "ws://127.0.0.1:9944/"
        );
        assert_eq!(
            websocket_url("http://localhost:9944").unwrap().as_str(),
            "ws://localhost:9944/"
        );
        for bad in ["wss://rpc.example:443", "https://x", "ftp://x", "not a url"] {
            assert!(
                matches!(websocket_url(bad), Err(WalletError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn pool_rejections_are_invalid_and_other_errors_keep_the_node_message() {
        use jsonrpsee::types::ErrorObject;
        let stale = RpcError::Call(ErrorObject::owned(
            1010,
            "Invalid Transaction",
            Some("Transaction is outdated"),
        ));
        assert_eq!(
            rpc_error("ws://n", "author_submitAndWatchExtrinsic", stale),
            WalletError::Invalid("Invalid Transaction: Transaction is outdated".into())
        );
        let missing = RpcError::Call(ErrorObject::owned(-32601, "Method not found", None::<()>));
        assert_eq!(
            rpc_error("ws://n", "payment_queryInfo", missing),
            WalletError::Rpc("Method not found".into())
        );
        assert!(matches!(
            rpc_error("ws://n", "chain_getHeader", RpcError::RequestTimeout),
            WalletError::Timeout(_)
        ));
    }

    fn record(index: u32, event: RuntimeEvent) -> EventRecord<RuntimeEvent> {
        EventRecord {
            phase: Phase::ApplyExtrinsic(index),
            event,
            topics: vec![],
        }
    }

    #[test]
    fn keeps_only_the_extrinsics_own_events() {
        let alice = Keyring::Alice.account();
        let bob = Keyring::Bob.account();
        let transfer = RuntimeEvent::Balances(balances::Event::Transfer {
            from: alice.clone(),
            to: bob.clone(),
            amount: ARCM,
        });
        let success = RuntimeEvent::System(system::Event::ExtrinsicSuccess {
            dispatch_info: DispatchInfo::default(),
        });
        let failed = RuntimeEvent::System(system::Event::ExtrinsicFailed {
            dispatch_error: balances::Error::InsufficientBalance.into(),
            dispatch_info: DispatchInfo::default(),
        });
        let fee = RuntimeEvent::TransactionPayment(payment::Event::TransactionFeePaid {
            who: alice,
            actual_fee: 5,
            tip: 0,
        });
        let records = vec![
            EventRecord {
                phase: Phase::Initialization,
                event: success.clone(),
                topics: vec![],
            },
            record(0, fee.clone()),
            record(0, failed.clone()),
            record(1, fee.clone()),
            record(1, transfer.clone()),
            record(1, success.clone()),
        ];
        // As the wallet reads them: encoded by the runtime, decoded through its metadata.
        let metadata =
            ChainMetadata::from_bytes(arceon_runtime::metadata::metadata_bytes(15).expect("V15"))
                .expect("metadata");
        let decoded = metadata
            .decode_events(&codec::Encode::encode(&records))
            .expect("events decode");
        let names = |inclusion: &Inclusion| -> Vec<String> {
            inclusion
                .events
                .iter()
                .map(|e| format!("{}.{}", e.pallet, e.name))
                .collect()
        };
        let block = H256::repeat_byte(4);
        let ok = inclusion_from_records(&metadata, block, 1, decoded.clone());
        assert_eq!(
            names(&ok),
            [
                "TransactionPayment.TransactionFeePaid",
                "Balances.Transfer",
                "System.ExtrinsicSuccess"
            ]
        );
        assert_eq!(
            ok.events[1].to_json(),
            serde_json::json!({"pallet": "Balances", "event": "Transfer", "fields": {
                "from": to_ss58(&Keyring::Alice.account()),
                "to": to_ss58(&bob),
                "amount": ARCM.to_string(),
            }})
        );
        assert!(ok.success);
        assert_eq!(ok.error, None);

        let bad = inclusion_from_records(&metadata, block, 0, decoded);
        assert_eq!(
            names(&bad),
            [
                "TransactionPayment.TransactionFeePaid",
                "System.ExtrinsicFailed"
            ]
        );
        assert!(!bad.success);
        assert_eq!(bad.error.as_deref(), Some("Balances.InsufficientBalance"));
    }

    #[test]
    fn raw_extrinsics_are_checked_before_submitting() {
        assert!(matches!(
            parse_extrinsic_hex("0xzz"),
            Err(WalletError::BadExtrinsic(_))
        ));
        assert!(matches!(
            parse_extrinsic_hex("0x0400"),
            Err(WalletError::BadExtrinsic(_))
        ));
        let context = SigningContext {
            genesis_hash: H256::repeat_byte(1),
            spec_version: 1,
            transaction_version: 1,
            era: Era::Immortal,
            era_checkpoint: H256::repeat_byte(1),
            nonce: 0,
            tip: 0,
        };
        let bytes = sign_transfer_offline(
            &Keyring::Alice.pair(),
            &Keyring::Bob.account(),
            ARCM,
            false,
            &context,
        );
        assert_eq!(parse_extrinsic_hex(&to_hex(&bytes)).unwrap(), bytes);
    }
}
