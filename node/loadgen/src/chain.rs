//! Talking to a node: WebSocket connections, and the chain reads the benchmark needs
//! (areas and committees, lane heads, included batches, players' on-chain state).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context as _;
use arceon_pallet_areas::{AreaId, Bounds};
use arceon_pallet_fastlane::{self as fastlane, CertifiedBatch, LaneHead, PlayerLane};
use arceon_pallet_players::{self as players, Player};
use arceon_primitives::{from_hex, to_hex, AccountId32, Digest, DigestItem, Header, H256};
use codec::{Decode, DecodeAll};
use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use jsonrpsee::core::client::{Client, ClientBuilder, ClientT, Error as RpcError};
use jsonrpsee::core::params::ArrayParams;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One WebSocket connection to a node.
pub type Rpc = Client;

/// The most keys one `state_queryStorageAt` call may carry (the node's limit).
const MAX_KEYS_PER_QUERY: usize = 1_000;

/// Connects to `url` (`ws://host:port`).
pub async fn connect(url: &str, request_timeout: Duration) -> anyhow::Result<Rpc> {
    let target = Url::parse(url).with_context(|| format!("bad RPC URL {url}"))?;
    let handshake = WsTransportClientBuilder::default()
        .connection_timeout(Duration::from_secs(10))
        .max_request_size(16 * 1024 * 1024)
        .max_response_size(64 * 1024 * 1024)
        .build(target);
    let (sender, receiver) = tokio::time::timeout(Duration::from_secs(15), handshake)
        .await
        .with_context(|| format!("no WebSocket handshake from {url} within 15 s"))?
        .with_context(|| format!("cannot connect to {url}"))?;
    Ok(ClientBuilder::default()
        .request_timeout(request_timeout)
        .max_buffer_capacity_per_subscription(16_384)
        .build_with_tokio(sender, receiver))
}

/// Positional parameters.
pub fn params(args: Vec<Value>) -> ArrayParams {
    let mut params = ArrayParams::new();
    for arg in args {
        // A `Value` always serializes.
        let _ = params.insert(arg);
    }
    params
}

/// Calls `method` and deserializes its result.
pub async fn call<R: DeserializeOwned>(
    rpc: &Rpc,
    method: &str,
    args: Vec<Value>,
) -> Result<R, RpcError> {
    rpc.request(method, params(args)).await
}

/// Like [`call`], with the method named in the error.
pub async fn query<R: DeserializeOwned>(
    rpc: &Rpc,
    method: &str,
    args: Vec<Value>,
) -> anyhow::Result<R> {
    call(rpc, method, args)
        .await
        .with_context(|| format!("{method} failed"))
}

/// A `0x` hash.
pub fn parse_hash(value: &Value) -> anyhow::Result<H256> {
    let bytes = parse_bytes(value)?;
    let raw: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("not a 32-byte hash: {value}"))?;
    Ok(H256(raw))
}

/// `0x` hex bytes.
pub fn parse_bytes(value: &Value) -> anyhow::Result<Vec<u8>> {
    let text = value
        .as_str()
        .with_context(|| format!("not a hex string: {value}"))?;
    from_hex(text).with_context(|| format!("bad hex {text}"))
}

/// A block number as Substrate writes it (`0x`-hex string) or a plain number.
pub fn parse_number(value: &Value) -> anyhow::Result<u32> {
    if let Some(n) = value.as_u64() {
        return u32::try_from(n).context("block number out of range");
    }
    let text = value
        .as_str()
        .with_context(|| format!("not a number: {value}"))?;
    u32::from_str_radix(text.trim_start_matches("0x"), 16)
        .with_context(|| format!("bad block number {text}"))
}

/// A header from its JSON (as `chain_getHeader` and new-head notifications give it).
pub fn parse_header(value: &Value) -> anyhow::Result<Header> {
    let field = |name: &str| {
        value
            .get(name)
            .with_context(|| format!("header without `{name}`"))
    };
    let logs = field("digest")?
        .get("logs")
        .and_then(Value::as_array)
        .context("header without digest logs")?
        .iter()
        .map(|log| {
            DigestItem::decode_all(&mut &parse_bytes(log)?[..])
                .map_err(|e| anyhow::anyhow!("bad digest item: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Header {
        parent_hash: parse_hash(field("parentHash")?)?,
        number: parse_number(field("number")?)?,
        state_root: parse_hash(field("stateRoot")?)?,
        extrinsics_root: parse_hash(field("extrinsicsRoot")?)?,
        digest: Digest { logs },
    })
}

/// An area as the benchmark uses it.
#[derive(Debug, Clone)]
pub struct AreaInfo {
    /// Its extent.
    pub bounds: Bounds,
    /// Its committee's version.
    pub version: u64,
}

/// The active areas with a committee (`arceon_areas` at the best block).
pub async fn areas(rpc: &Rpc) -> anyhow::Result<BTreeMap<AreaId, AreaInfo>> {
    let list: Value = query(rpc, "arceon_areas", vec![]).await?;
    let mut out = BTreeMap::new();
    for area in list.as_array().context("arceon_areas: not a list")? {
        if area.get("active").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let number = |value: Option<&Value>, what: &str| {
            value
                .and_then(Value::as_i64)
                .with_context(|| format!("arceon_areas: no {what} in {area}"))
        };
        let id = number(area.get("id"), "id")? as AreaId;
        let bounds = area.get("bounds").context("arceon_areas: no bounds")?;
        let Some(version) = area
            .get("authority")
            .and_then(|a| a.get("version"))
            .and_then(Value::as_u64)
        else {
            continue;
        };
        out.insert(
            id,
            AreaInfo {
                bounds: Bounds::new(
                    number(bounds.get("minX"), "minX")?,
                    number(bounds.get("minY"), "minY")?,
                    number(bounds.get("maxX"), "maxX")?,
                    number(bounds.get("maxY"), "maxY")?,
                ),
                version,
            },
        );
    }
    Ok(out)
}

/// Reads `keys` at block `at` (`state_queryStorageAt`, in chunks the node accepts).
pub async fn read_keys(
    rpc: &Rpc,
    keys: &[Vec<u8>],
    at: H256,
) -> anyhow::Result<HashMap<Vec<u8>, Vec<u8>>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(MAX_KEYS_PER_QUERY) {
        let hexes: Vec<Value> = chunk.iter().map(|k| Value::from(to_hex(k))).collect();
        let answer: Value = query(
            rpc,
            "state_queryStorageAt",
            vec![Value::from(hexes), Value::from(to_hex(at.as_bytes()))],
        )
        .await?;
        let changes = answer
            .get(0)
            .and_then(|set| set.get("changes"))
            .and_then(Value::as_array)
            .context("state_queryStorageAt: no changes")?;
        for change in changes {
            let (Some(key), Some(value)) = (change.get(0), change.get(1)) else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            out.insert(parse_bytes(key)?, parse_bytes(value)?);
        }
    }
    Ok(out)
}

/// The lane head height of each of `areas` in block `at` (0: nothing included yet).
pub async fn lane_heights(
    rpc: &Rpc,
    areas: &[AreaId],
    at: H256,
) -> anyhow::Result<HashMap<AreaId, u64>> {
    let keys: Vec<Vec<u8>> = areas.iter().map(fastlane::Lanes::key).collect();
    let values = read_keys(rpc, &keys, at).await?;
    let mut out = HashMap::with_capacity(areas.len());
    for (area, key) in areas.iter().zip(&keys) {
        let height = match values.get(key) {
            Some(bytes) => {
                LaneHead::decode_all(&mut &bytes[..])
                    .context("undecodable lane head")?
                    .height
            }
            None => 0,
        };
        out.insert(*area, height);
    }
    Ok(out)
}

/// The hash of block `number` on the node's best chain.
pub async fn block_hash(rpc: &Rpc, number: u32) -> anyhow::Result<Option<H256>> {
    let value: Value = query(rpc, "chain_getBlockHash", vec![Value::from(number)]).await?;
    if value.is_null() {
        return Ok(None);
    }
    parse_hash(&value).map(Some)
}

/// The best block's number.
pub async fn best_number(rpc: &Rpc) -> anyhow::Result<u32> {
    let header: Value = query(rpc, "chain_getHeader", vec![]).await?;
    parse_number(header.get("number").context("header without number")?)
}

/// The finalized block's number and hash.
pub async fn finalized(rpc: &Rpc) -> anyhow::Result<(u32, H256)> {
    let hash = parse_hash(&query::<Value>(rpc, "chain_getFinalizedHead", vec![]).await?)?;
    let header: Value = query(
        rpc,
        "chain_getHeader",
        vec![Value::from(to_hex(hash.as_bytes()))],
    )
    .await?;
    let number = parse_number(header.get("number").context("header without number")?)?;
    Ok((number, hash))
}

/// The certified lane batches included in block `hash`.
pub async fn included_batches(rpc: &Rpc, hash: H256) -> anyhow::Result<Vec<CertifiedBatch>> {
    let block: Value = query(
        rpc,
        "chain_getBlock",
        vec![Value::from(to_hex(hash.as_bytes()))],
    )
    .await?;
    let extrinsics = block
        .get("block")
        .and_then(|b| b.get("extrinsics"))
        .and_then(Value::as_array)
        .with_context(|| format!("block {hash:?} not found"))?;
    let mut out = Vec::new();
    for extrinsic in extrinsics {
        let bytes = parse_bytes(extrinsic)?;
        let decoded = arceon_runtime::Extrinsic::decode(&mut &bytes[..])
            .map_err(|e| anyhow::anyhow!("undecodable extrinsic in {hash:?}: {e}"))?;
        if let arceon_runtime::Call::FastLane(fastlane::Call::SubmitBatch { batch }) =
            decoded.function
        {
            out.push(batch);
        }
    }
    Ok(out)
}

/// Each account's lane record and player in block `at`.
pub async fn player_states(
    rpc: &Rpc,
    accounts: &[AccountId32],
    at: H256,
) -> anyhow::Result<Vec<(Option<PlayerLane>, Option<Player>)>> {
    let mut keys = Vec::with_capacity(accounts.len() * 2);
    for who in accounts {
        keys.push(fastlane::PlayerLanes::key(who));
        keys.push(players::Players::key(who));
    }
    let values = read_keys(rpc, &keys, at).await?;
    let decode_lane = |key: &Vec<u8>| -> Option<PlayerLane> {
        values
            .get(key)
            .and_then(|bytes| PlayerLane::decode_all(&mut &bytes[..]).ok())
    };
    let decode_player = |key: &Vec<u8>| -> Option<Player> {
        values
            .get(key)
            .and_then(|bytes| Player::decode_all(&mut &bytes[..]).ok())
    };
    Ok(keys
        .chunks(2)
        .map(|pair| (decode_lane(&pair[0]), decode_player(&pair[1])))
        .collect())
}
