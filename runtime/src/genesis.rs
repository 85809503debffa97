//! The genesis configuration (the `runtimeGenesis.config` object of a chain spec) and
//! the genesis block built from it.

use arceon_pallet_areas as areas;
use arceon_pallet_balances as balances;
use arceon_pallet_npcs as npcs;
use arceon_pallet_players as players;
use arceon_pallet_staking as staking;
use arceon_pallet_structures as structures;
use arceon_pallet_system as system;
use arceon_primitives::{ed25519, sr25519, BlockNumber, Digest, Header, H256};
use arceon_state::{ordered_trie_root, storage_root, StateDelta};
use arceon_support::{BuildGenesis, Ext, MemoryState};
use serde::{Deserialize, Serialize};

use crate::{aura, grandpa};

/// The system pallet's genesis (nothing configurable; kept for the Substrate shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemConfig {}

/// Aura's genesis: the first authorities and the slot duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuraConfig {
    /// Block authors, in slot order (SS58 addresses of sr25519 keys). When staking
    /// elects validators at genesis, its active set replaces this list.
    #[serde(default)]
    pub authorities: Vec<sr25519::Public>,
    /// Milliseconds per slot.
    #[serde(default = "default_slot_duration")]
    pub slot_duration: u64,
}

fn default_slot_duration() -> u64 {
    aura::DEFAULT_SLOT_DURATION_MS
}

impl Default for AuraConfig {
    fn default() -> Self {
        AuraConfig {
            authorities: Vec::new(),
            slot_duration: default_slot_duration(),
        }
    }
}

/// GRANDPA's genesis: the first voters, for a chain without staking validators (with
/// them, the elected validators' session keys vote).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrandpaConfig {
    /// Voters' ed25519 keys (SS58) with their weights (Substrate's shape; every weight
    /// counts as 1 on Arceon).
    #[serde(default)]
    pub authorities: Vec<(ed25519::Public, u64)>,
}

/// Sudo's genesis: the account that may dispatch as Root (none on a production chain).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SudoConfig {
    /// The sudo key's SS58 address.
    #[serde(default)]
    pub key: Option<arceon_primitives::AccountId32>,
}

/// The whole runtime genesis configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// System.
    #[serde(default)]
    pub system: SystemConfig,
    /// Aura.
    #[serde(default)]
    pub aura: AuraConfig,
    /// GRANDPA.
    #[serde(default)]
    pub grandpa: GrandpaConfig,
    /// Balances.
    #[serde(default)]
    pub balances: balances::GenesisConfig,
    /// Sudo.
    #[serde(default)]
    pub sudo: SudoConfig,
    /// Staking: bonded validators and nominators, era parameters.
    #[serde(default)]
    pub staking: staking::GenesisConfig,
    /// Session keys of the genesis validators.
    #[serde(default)]
    pub session: staking::session::GenesisConfig,
    /// The world map.
    #[serde(default)]
    pub areas: areas::GenesisConfig,
    /// Resources, recipes, rate limits and pre-registered players.
    #[serde(default)]
    pub players: players::GenesisConfig,
    /// Players registered at block 0 at chosen points of chosen areas.
    #[serde(default)]
    pub player_placement: players::PlacementConfig,
    /// Structure kinds.
    #[serde(default)]
    pub structures: structures::GenesisConfig,
    /// NPCs and spawn rules.
    #[serde(default)]
    pub npcs: npcs::GenesisConfig,
    /// Players acting through the fast lanes from genesis.
    #[serde(default)]
    pub fast_lane: arceon_pallet_fastlane::genesis::GenesisConfig,
}

/// Why a genesis configuration cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The balances are invalid.
    #[error("balances: {0}")]
    Balances(#[from] balances::GenesisError),
    /// The staking configuration is invalid.
    #[error("staking: {0}")]
    Staking(#[from] staking::GenesisError),
    /// The session keys are invalid.
    #[error("session: {0}")]
    Session(#[from] staking::session::GenesisError),
    /// Without staking validators the chain spec must name the GRANDPA voters.
    #[error("grandpa: the genesis needs at least one GRANDPA authority (or staking validators with session keys)")]
    NoGrandpaAuthorities,
    /// The world map is invalid.
    #[error("areas: {0}")]
    Areas(#[from] areas::GenesisError),
    /// The fast-lane configuration is invalid.
    #[error("fastLane: {0}")]
    FastLane(#[from] arceon_pallet_fastlane::genesis::GenesisError),
    /// The players configuration is invalid.
    #[error("players: {0}")]
    Players(#[from] players::GenesisError),
    /// The structures configuration is invalid.
    #[error("structures: {0}")]
    Structures(#[from] structures::GenesisError),
    /// The NPC configuration is invalid.
    #[error("npcs: {0}")]
    Npcs(#[from] npcs::GenesisError),
    /// There is no authority to author blocks.
    #[error("aura: the genesis needs at least one authority")]
    NoAuthorities,
    /// The same authority is listed twice.
    #[error("aura: authority {0} is listed twice")]
    DuplicateAuthority(String),
    /// Building the genesis state hit an unreadable or undecodable value.
    #[error("genesis state: {0}")]
    State(String),
    /// A zero slot duration.
    #[error("aura: the slot duration must be at least 1 ms")]
    ZeroSlotDuration,
}

impl GenesisConfig {
    /// The genesis storage: every key and value of the state at block 0.
    pub fn build_storage(&self) -> Result<MemoryState, GenesisError> {
        for (i, authority) in self.aura.authorities.iter().enumerate() {
            if self.aura.authorities[..i].contains(authority) {
                return Err(GenesisError::DuplicateAuthority(
                    arceon_primitives::to_ss58(&(*authority).into()),
                ));
            }
        }
        if self.aura.slot_duration == 0 {
            return Err(GenesisError::ZeroSlotDuration);
        }
        let empty = MemoryState::new();
        let mut ext = Ext::new(&empty);
        let version = crate::version();
        system::build_genesis(&mut ext, &version.spec_name, version.spec_version);
        ext.set(crate::CODE_KEY.to_vec(), crate::code_identity());
        aura::Authorities::put(&mut ext, &self.aura.authorities);
        aura::SlotDuration::put(&mut ext, &self.aura.slot_duration);
        self.balances.build(&mut ext)?;
        if let Some(key) = &self.sudo.key {
            crate::sudo::Key::put(&mut ext, key);
        }
        self.session.build(&mut ext)?;
        self.staking.build(&mut ext)?;
        // Elected validators author and vote with their session keys; without staking
        // the chain spec's Aura and GRANDPA lists do.
        let set = staking::session::authoring_set(&mut ext);
        let voters: Vec<ed25519::Public> = if set.is_empty() {
            self.grandpa.authorities.iter().map(|(id, _)| *id).collect()
        } else {
            let authorities: Vec<sr25519::Public> = set.iter().map(|(_, k)| k.aura).collect();
            aura::Authorities::put(&mut ext, &authorities);
            set.iter().map(|(_, keys)| keys.grandpa).collect()
        };
        if aura::authorities(&mut ext).is_empty() {
            return Err(GenesisError::NoAuthorities);
        }
        if voters.is_empty() {
            return Err(GenesisError::NoGrandpaAuthorities);
        }
        grandpa::set_genesis_authorities(&mut ext, &voters);
        self.areas.build(&mut ext)?;
        self.players.build(&mut ext)?;
        self.player_placement.build(&mut ext)?;
        self.structures.build(&mut ext)?;
        self.npcs.build(&mut ext)?;
        self.fast_lane.build(&mut ext)?;
        let candidates = crate::world::committee_candidates(&mut ext);
        areas::rebalance(&mut ext, &candidates, 0);
        if let Some(fault) = ext.take_fault() {
            return Err(GenesisError::State(fault));
        }
        Ok(ext
            .into_changes()
            .into_iter()
            .filter_map(|(key, value)| value.map(|value| (key, value)))
            .collect())
    }
}

/// Turns the storage of block `at` into the genesis storage of a new chain with the same
/// world (`export-state --chain-spec`): per-block records cleared, every stored block
/// number shifted down by `at` (so elapsed times are kept: a player who moved at `at`
/// moved at 0), the GRANDPA set in force counted as set 0, no Aura slot yet.
pub fn rebase_to_genesis(
    storage: &MemoryState,
    at: BlockNumber,
) -> Result<MemoryState, GenesisError> {
    let mut ext = Ext::new(storage);
    system::rebase_to_genesis(&mut ext);
    aura::CurrentSlot::kill(&mut ext);
    grandpa::CurrentSetId::kill(&mut ext);
    staking::rebase(&mut ext, at);
    areas::rebase(&mut ext, at);
    players::rebase(&mut ext, at);
    structures::rebase(&mut ext, at);
    npcs::rebase(&mut ext, at);
    arceon_pallet_fastlane::rebase(&mut ext, at);
    if let Some(fault) = ext.take_fault() {
        return Err(GenesisError::State(fault));
    }
    let mut rebased = storage.clone();
    for (key, value) in ext.into_changes() {
        match value {
            Some(value) => {
                rebased.insert(key, value);
            }
            None => {
                rebased.remove(&key);
            }
        }
    }
    Ok(rebased)
}

/// The genesis block's header and its state's trie nodes, from genesis storage.
pub fn genesis_block(storage: &MemoryState) -> (Header, StateDelta) {
    let delta = storage_root(storage.iter().map(|(k, v)| (k.clone(), v.clone())));
    let header = Header {
        parent_hash: H256::zero(),
        number: 0,
        state_root: delta.root,
        extrinsics_root: ordered_trie_root(&[]),
        digest: Digest::default(),
    };
    (header, delta)
}
