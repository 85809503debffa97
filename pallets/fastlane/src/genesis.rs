//! The fastlane pallet's genesis: players that act through the lanes from block 0.

use arceon_primitives::AccountId32;
use arceon_support::Ext;
use serde::{Deserialize, Serialize};

use crate::{InUse, PlayerLane, PlayerLanes};

/// Genesis configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// Players (registered by the players genesis) that have joined the lanes.
    #[serde(default)]
    pub joined: Vec<AccountId32>,
}

/// Why the genesis cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// A joined account has no player.
    #[error("{0} joins the fast lanes but is not a registered player")]
    NotRegistered(AccountId32),
}

impl GenesisConfig {
    /// Writes the joined players (after the players genesis).
    pub fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        for who in &self.joined {
            if arceon_pallet_players::player(ext, who).is_none() {
                return Err(GenesisError::NotRegistered(who.clone()));
            }
            PlayerLanes::insert(ext, who, &PlayerLane::default());
            arceon_pallet_players::bind_to_lanes(ext, who);
            InUse::put(ext, &true);
        }
        Ok(())
    }
}
