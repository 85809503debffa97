//! Chain specifications in Substrate's JSON shape (`name`, `id`, `chainType`,
//! `bootNodes`, `protocolId`, `properties`, `genesis`), the built-in `dev` and `local`
//! chains, and the path from a spec to the genesis storage, state root and block hash.
//!
//! A spec's genesis is either `runtimeGenesis.config` (the human-editable configuration,
//! built into storage by the runtime) or `raw.top` (the storage itself, hex keys and
//! values). Invariants: a spec and its raw form give the same genesis hash; a spec that
//! cannot be parsed or built is a [`ChainSpecError`] naming the problem, never a panic.

use std::collections::BTreeMap;
use std::path::Path;

use arceon_primitives::{from_hex, to_hex, Header, H256};
use arceon_runtime::genesis::genesis_block;
use arceon_runtime::GenesisConfig;
use arceon_state::StateDelta;
use arceon_support::MemoryState;
use serde::{Deserialize, Serialize};

/// The built-in development chain: Alice is the only validator.
pub const DEV_JSON: &str = include_str!("../dev.json");
/// The built-in local testnet: validators Alice, Bob, Charlie and Dave.
pub const LOCAL_JSON: &str = include_str!("../local.json");

/// Why a chain spec is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    /// The file could not be read.
    #[error("cannot read chain spec {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON does not have the chain-spec shape.
    #[error("invalid chain spec JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The genesis configuration cannot be built.
    #[error("invalid genesis: {0}")]
    Genesis(#[from] arceon_runtime::GenesisError),
    /// A raw storage key or value is not `0x`-prefixed hex.
    #[error("raw genesis: {0} is not 0x-prefixed hex")]
    RawHex(String),
}

/// Substrate's chain types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainType {
    /// A development chain run by one node.
    Development,
    /// A local testnet.
    Local,
    /// A public testnet.
    Live,
    /// Anything else.
    Custom,
}

impl ChainType {
    /// The name `system_chainType` reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChainType::Development => "Development",
            ChainType::Local => "Local",
            ChainType::Live => "Live",
            ChainType::Custom => "Custom",
        }
    }
}

/// Raw genesis storage: hex keys to hex values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawGenesis {
    /// The main trie.
    pub top: BTreeMap<String, String>,
    /// Child tries (Arceon has none; kept for the Substrate shape).
    #[serde(default)]
    pub children_default: BTreeMap<String, BTreeMap<String, String>>,
}

/// The human-editable genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeGenesis {
    /// The runtime's genesis configuration.
    pub config: GenesisConfig,
}

/// A spec's genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Genesis {
    /// Built from a configuration.
    RuntimeGenesis(Box<RuntimeGenesis>),
    /// Given as storage.
    Raw(RawGenesis),
}

/// A chain specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainSpec {
    /// Human-readable name (`system_chain`).
    pub name: String,
    /// Short identifier; names the data directory.
    pub id: String,
    /// The chain type (`system_chainType`).
    pub chain_type: ChainType,
    /// Multiaddresses of nodes to connect to first.
    #[serde(default)]
    pub boot_nodes: Vec<String>,
    /// Telemetry endpoints (unused).
    #[serde(default)]
    pub telemetry_endpoints: Option<serde_json::Value>,
    /// Network protocol id.
    #[serde(default)]
    pub protocol_id: Option<String>,
    /// Token properties (`system_properties`).
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Runtime code substitutes (unused; kept for the Substrate shape).
    #[serde(default)]
    pub code_substitutes: BTreeMap<String, String>,
    /// The genesis state.
    pub genesis: Genesis,
}

/// Everything a node needs to start from genesis.
#[derive(Debug, Clone)]
pub struct GenesisBlock {
    /// The genesis header.
    pub header: Header,
    /// Its hash (the chain's identity).
    pub hash: H256,
    /// The genesis state's trie nodes.
    pub state: StateDelta,
    /// The genesis storage.
    pub storage: MemoryState,
}

impl ChainSpec {
    /// Parses a spec from JSON.
    pub fn from_json(json: &str) -> Result<ChainSpec, ChainSpecError> {
        Ok(serde_json::from_str(json)?)
    }

    /// Reads a spec from a file.
    pub fn from_file(path: &Path) -> Result<ChainSpec, ChainSpecError> {
        let json = std::fs::read_to_string(path).map_err(|source| ChainSpecError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&json)
    }

    /// `dev`, `local` (or `local_testnet`), or a path to a JSON file, as `--chain` takes.
    pub fn load(chain: &str) -> Result<ChainSpec, ChainSpecError> {
        match chain {
            "" | "dev" => Self::from_json(DEV_JSON),
            "local" | "local_testnet" => Self::from_json(LOCAL_JSON),
            path => Self::from_file(Path::new(path)),
        }
    }

    /// The genesis storage.
    pub fn genesis_storage(&self) -> Result<MemoryState, ChainSpecError> {
        match &self.genesis {
            Genesis::RuntimeGenesis(genesis) => Ok(genesis.config.build_storage()?),
            Genesis::Raw(raw) => {
                let mut storage = MemoryState::new();
                for (key, value) in &raw.top {
                    let key = from_hex(key).map_err(|_| ChainSpecError::RawHex(key.clone()))?;
                    let value =
                        from_hex(value).map_err(|_| ChainSpecError::RawHex(value.clone()))?;
                    storage.insert(key, value);
                }
                Ok(storage)
            }
        }
    }

    /// The genesis block and state.
    pub fn genesis_block(&self) -> Result<GenesisBlock, ChainSpecError> {
        let storage = self.genesis_storage()?;
        let (header, state) = genesis_block(&storage);
        Ok(GenesisBlock {
            hash: header.hash(),
            header,
            state,
            storage,
        })
    }

    /// The same spec with its genesis as raw storage (`build-spec --raw`).
    pub fn to_raw(&self) -> Result<ChainSpec, ChainSpecError> {
        let storage = self.genesis_storage()?;
        let top = storage
            .iter()
            .map(|(k, v)| (to_hex(k), to_hex(v)))
            .collect();
        Ok(ChainSpec {
            genesis: Genesis::Raw(RawGenesis {
                top,
                children_default: BTreeMap::new(),
            }),
            ..self.clone()
        })
    }

    /// Pretty JSON, as `build-spec` prints it.
    pub fn to_json(&self) -> Result<String, ChainSpecError> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_pallet_balances as balances;
    use arceon_pallet_system as system;
    use arceon_primitives::keyring::Keyring;
    use arceon_state::TrieState;
    use arceon_support::Ext;

    #[test]
    fn dev_spec_builds_with_alice_as_only_validator() {
        let spec = ChainSpec::load("dev").expect("dev");
        assert_eq!(spec.id, "dev");
        assert_eq!(spec.chain_type, ChainType::Development);
        assert_eq!(spec.properties["tokenSymbol"], "ArcM");
        assert_eq!(spec.properties["ss58Format"], 42);
        let genesis = spec.genesis_block().expect("genesis");
        let mut ext = Ext::new(&genesis.storage);
        let authorities = arceon_runtime::aura::authorities(&mut ext);
        assert_eq!(authorities, vec![Keyring::Alice.session_keys().aura]);
        // GRANDPA votes with Alice's ed25519 session key.
        assert_eq!(
            arceon_runtime::grandpa::authorities(&mut ext),
            vec![Keyring::Alice.session_keys().grandpa]
        );
        for who in Keyring::ALL {
            assert_eq!(
                balances::free_balance(&mut ext, &who.account()),
                1_000_000 * arceon_primitives::ARCM
            );
        }
        assert_eq!(system::Number::get(&mut ext), Some(0));
        assert_eq!(genesis.header.number, 0);
        assert_eq!(genesis.hash, genesis.header.hash());
    }

    #[test]
    fn local_spec_has_four_validators() {
        let spec = ChainSpec::load("local").expect("local");
        let genesis = spec.genesis_block().expect("genesis");
        let mut ext = Ext::new(&genesis.storage);
        let authorities = arceon_runtime::aura::authorities(&mut ext);
        let expected: Vec<_> = [
            Keyring::Alice,
            Keyring::Bob,
            Keyring::Charlie,
            Keyring::Dave,
        ]
        .iter()
        .map(|k| k.public())
        .collect();
        // Staking elects the four (equal bonds: ordered by account), and they author.
        let mut sorted = authorities.clone();
        sorted.sort();
        let mut expected_sorted = expected;
        expected_sorted.sort();
        assert_eq!(sorted, expected_sorted);
        let dev = ChainSpec::load("dev")
            .expect("dev")
            .genesis_block()
            .expect("dev");
        assert_ne!(
            dev.hash, genesis.hash,
            "different chains, different genesis"
        );
    }

    #[test]
    fn raw_spec_has_the_same_genesis() {
        let spec = ChainSpec::load("dev").expect("dev");
        let raw = spec.to_raw().expect("raw");
        let json = raw.to_json().expect("json");
        assert!(json.contains("\"raw\""));
        assert!(json.contains("\"top\""));
        let reparsed = ChainSpec::from_json(&json).expect("reparse");
        let a = spec.genesis_block().expect("a");
        let b = reparsed.genesis_block().expect("b");
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.header.state_root, b.header.state_root);
        // The state root is the trie root of the storage.
        let store = arceon_state::MemoryNodeStore::from_delta(&b.state).expect("store");
        let trie = TrieState::new(&store, b.header.state_root);
        let key = system::Account::key(&Keyring::Bob.account());
        assert!(trie.get(&key).expect("read").is_some());
    }

    #[test]
    fn broken_specs_are_clear_errors() {
        assert!(matches!(
            ChainSpec::load("/nonexistent/spec.json"),
            Err(ChainSpecError::Io { .. })
        ));
        assert!(matches!(
            ChainSpec::from_json("{\"name\": 1}"),
            Err(ChainSpecError::Json(_))
        ));
        // Neither Aura authorities nor staking validators: nobody could author.
        let mut no_authorities: serde_json::Value =
            serde_json::from_str(DEV_JSON).expect("dev spec is JSON");
        let config = &mut no_authorities["genesis"]["runtimeGenesis"]["config"];
        config["aura"]["authorities"] = serde_json::json!([]);
        config["staking"]["stakers"] = serde_json::json!([]);
        let spec = ChainSpec::from_json(&no_authorities.to_string()).expect("parses");
        assert!(matches!(
            spec.genesis_block(),
            Err(ChainSpecError::Genesis(
                arceon_runtime::GenesisError::NoAuthorities
            ))
        ));
        // Staking validators without session keys could neither author nor vote.
        let mut no_keys: serde_json::Value =
            serde_json::from_str(DEV_JSON).expect("dev spec is JSON");
        no_keys["genesis"]["runtimeGenesis"]["config"]["session"]["keys"] = serde_json::json!([]);
        let spec = ChainSpec::from_json(&no_keys.to_string()).expect("parses");
        assert!(matches!(
            spec.genesis_block(),
            Err(ChainSpecError::Genesis(
                arceon_runtime::GenesisError::Staking(
                    arceon_pallet_staking::GenesisError::NoSessionKeys
                )
            ))
        ));
        let bad_address = DEV_JSON.replacen(
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            "5Grwva",
            1,
        );
        assert!(matches!(
            ChainSpec::from_json(&bad_address),
            Err(ChainSpecError::Json(_))
        ));
        let mut raw = ChainSpec::load("dev").expect("dev").to_raw().expect("raw");
        if let Genesis::Raw(raw) = &mut raw.genesis {
            raw.top.insert("0xzz".into(), "0x00".into());
        }
        assert!(matches!(
            raw.genesis_block(),
            Err(ChainSpecError::RawHex(_))
        ));
    }
}
