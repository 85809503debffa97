//! The game side of the wallet: the calls a player or validator signs (register, move,
//! gather, craft, build, stake) and the `arceon_*` queries that show the world.
//!
//! Coordinates are typed in world units with up to three decimals (`12.5`) and sent as
//! the chain's milli-units.

use arceon_pallet_areas::{AreaId, Coord, Position, UNIT};
use arceon_pallet_staking as staking;
use arceon_primitives::{to_ss58, AccountId32, Balance};
use arceon_runtime::Call;
use serde_json::Value;

use crate::client::WalletClient;
use crate::error::WalletError;

/// Parses world units with at most three decimals (`-3`, `12.5`, `0.001`) into
/// milli-units.
pub fn parse_units(text: &str) -> Result<Coord, WalletError> {
    let bad = || WalletError::BadArgument(format!("`{text}` is not a coordinate in world units"));
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    if fraction.len() > 3
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: Coord = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut milli: Coord = 0;
    for (i, digit) in fraction.chars().enumerate() {
        let value = Coord::from(digit.to_digit(10).ok_or_else(bad)? as u8);
        milli += value * [100, 10, 1][i];
    }
    let value = whole
        .checked_mul(UNIT)
        .and_then(|v| v.checked_add(milli))
        .ok_or_else(bad)?;
    Ok(if negative { -value } else { value })
}

/// Milli-units as world units with three decimals (`12.500`, `-0.250`).
pub fn format_units(value: Coord) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1_000, abs % 1_000)
}

/// `FastLane.join`: act through the fast lanes from now on.
pub fn join_lanes_call() -> Call {
    Call::FastLane(arceon_pallet_fastlane::Call::Join)
}

/// `Players.register(name)`.
pub fn register_call(name: &str) -> Result<Call, WalletError> {
    if name.is_empty() || name.len() > arceon_pallet_players::MAX_NAME_LEN {
        return Err(WalletError::BadArgument(format!(
            "a player name is 1 to {} bytes",
            arceon_pallet_players::MAX_NAME_LEN
        )));
    }
    Ok(Call::Players(arceon_pallet_players::Call::Register {
        name: name.as_bytes().to_vec(),
    }))
}

/// `Players.move_to(x, y)` in milli-units.
pub fn move_call(x: Coord, y: Coord) -> Call {
    Call::Players(arceon_pallet_players::Call::MoveTo { x, y })
}

/// `Players.gather(resource)`.
pub fn gather_call(resource: u32) -> Call {
    Call::Players(arceon_pallet_players::Call::Gather { resource })
}

/// `Players.craft(recipe)`.
pub fn craft_call(recipe: u32) -> Call {
    Call::Players(arceon_pallet_players::Call::Craft { recipe })
}

/// `Structures.place(area, position, kind)`.
pub fn place_call(area: AreaId, x: Coord, y: Coord, kind: u32) -> Call {
    Call::Structures(arceon_pallet_structures::Call::Place {
        area,
        position: Position::new(x, y),
        kind,
    })
}

/// `Structures.upgrade(id)`.
pub fn upgrade_call(id: u64) -> Call {
    Call::Structures(arceon_pallet_structures::Call::Upgrade { id })
}

/// `Structures.demolish(id)`.
pub fn demolish_call(id: u64) -> Call {
    Call::Structures(arceon_pallet_structures::Call::Demolish { id })
}

/// `Staking.bond(value)`.
pub fn bond_call(value: Balance) -> Call {
    Call::Staking(staking::Call::Bond { value })
}

/// `Staking.bond_extra(value)`.
pub fn bond_extra_call(value: Balance) -> Call {
    Call::Staking(staking::Call::BondExtra {
        max_additional: value,
    })
}

/// `Staking.unbond(value)`.
pub fn unbond_call(value: Balance) -> Call {
    Call::Staking(staking::Call::Unbond { value })
}

/// `Staking.withdraw_unbonded()`.
pub fn withdraw_unbonded_call() -> Call {
    Call::Staking(staking::Call::WithdrawUnbonded)
}

/// `Staking.validate(commission)`, commission in percent (0 to 100, up to 7 decimals).
pub fn validate_call(commission_percent: f64) -> Result<Call, WalletError> {
    if !(0.0..=100.0).contains(&commission_percent) {
        return Err(WalletError::BadArgument(
            "commission is a percentage from 0 to 100".to_string(),
        ));
    }
    let parts = (commission_percent * 10_000_000.0).round() as u32;
    Ok(Call::Staking(staking::Call::Validate {
        prefs: staking::ValidatorPrefs {
            commission: staking::Perbill::from_parts(parts),
        },
    }))
}

/// `Session.set_keys(keys, 0x)`: the stash registers its session keys.
pub fn set_keys_call(keys: arceon_primitives::SessionKeys) -> Call {
    Call::Session(staking::session::Call::SetKeys {
        keys,
        proof: Vec::new(),
    })
}

/// Parses session keys as `author_rotateKeys` prints them: `0x` and 64 bytes of hex
/// (the Aura sr25519 key, then the GRANDPA ed25519 key).
pub fn parse_session_keys(text: &str) -> Result<arceon_primitives::SessionKeys, WalletError> {
    let bad = |why: String| WalletError::BadArgument(format!("session keys: {why}"));
    if !text.starts_with("0x") {
        return Err(bad("expected 0x-prefixed hex from author_rotateKeys".into()));
    }
    let bytes = arceon_primitives::from_hex(text).map_err(|e| bad(e.to_string()))?;
    arceon_primitives::SessionKeys::from_bytes(&bytes).map_err(bad)
}

/// `Sudo.sudo(Areas.force_split(id))`: root splits an area (on a chain whose players act
/// through the fast lanes, once the area's lane has ended).
pub fn split_call(id: AreaId) -> Call {
    Call::Sudo(arceon_runtime::sudo::Call::Sudo {
        call: Box::new(Call::Areas(arceon_pallet_areas::Call::ForceSplit { id })),
    })
}

/// `Sudo.sudo(Areas.force_merge(parent))`: root merges a split area's quadrants back.
pub fn merge_call(parent: AreaId) -> Call {
    Call::Sudo(arceon_runtime::sudo::Call::Sudo {
        call: Box::new(Call::Areas(arceon_pallet_areas::Call::ForceMerge {
            parent,
        })),
    })
}

/// `Staking.chill()`.
pub fn chill_call() -> Call {
    Call::Staking(staking::Call::Chill)
}

/// `Staking.nominate(targets)`.
pub fn nominate_call(targets: Vec<AccountId32>) -> Call {
    Call::Staking(staking::Call::Nominate {
        targets: targets
            .into_iter()
            .map(arceon_primitives::MultiAddress::Id)
            .collect(),
    })
}

impl WalletClient {
    /// Calls an `arceon_*` query and returns its JSON answer.
    pub async fn world_query(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<Value, WalletError> {
        self.request(method, params).await
    }

    /// `arceon_player` for `who`.
    pub async fn player(&self, who: &AccountId32) -> Result<Value, WalletError> {
        self.world_query("arceon_player", vec![Value::from(to_ss58(who))])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_parse_to_milli_units() {
        assert_eq!(parse_units("12.5").ok(), Some(12_500));
        assert_eq!(parse_units("-3").ok(), Some(-3_000));
        assert_eq!(parse_units("0.001").ok(), Some(1));
        assert_eq!(parse_units(".25").ok(), Some(250));
        assert_eq!(parse_units("100").ok(), Some(100_000));
    }

    #[test]
    fn malformed_coordinates_are_bad_arguments() {
        for text in [
            "",
            "-",
            ".",
            "1.2345",
            "1e3",
            "abc",
            "1..2",
            "--1",
            "99999999999999999",
        ] {
            assert!(
                matches!(parse_units(text), Err(WalletError::BadArgument(_))),
                "`{text}` should be refused"
            );
        }
    }

    #[test]
    fn commission_and_names_are_checked_before_signing() {
        assert!(matches!(
            validate_call(101.0),
            Err(WalletError::BadArgument(_))
        ));
        assert!(matches!(
            validate_call(-1.0),
            Err(WalletError::BadArgument(_))
        ));
        assert!(validate_call(5.0).is_ok());
        assert!(matches!(
            register_call(""),
            Err(WalletError::BadArgument(_))
        ));
        assert!(matches!(
            register_call(&"x".repeat(33)),
            Err(WalletError::BadArgument(_))
        ));
    }
}
