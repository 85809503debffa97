//! The structures pallet (index 43): buildings players place in the world. A player
//! standing in an area places a structure of a root-defined [`StructureKind`] near
//! themselves, paying its cost in items; they can then upgrade it (paying per level),
//! demolish it (getting half of everything spent back, rounded down) or give it to
//! another player. Each structure has a rectangular footprint and a *claim*: the footprint
//! grown by the kind's claim radius, inside which nobody but its owner may build.
//!
//! Overlap and claim checks go through a world-wide grid of [`CELL_SIDE`] cells (not
//! through areas): a structure is listed in every cell its claim touches, so any footprint
//! or claim that meets a new footprint is found by reading the at most 2 x 2 cells that
//! footprint touches, whatever areas the neighbours sit in (a claim can reach across an
//! area edge or corner). Cells hold at most [`MAX_PER_CELL`] structures, which bounds the
//! work of a placement.
//!
//! Fast lanes (see the fastlane pallet): in an area with a committee, new structures are
//! placed only through the area's lane (`place` is refused there with `LaneArea`), and a
//! lane places only on its *own ground*: the claim must touch only grid cells wholly
//! inside the area ([`lane_place`], `NotLaneGround`). No other lane and no extrinsic can
//! then change those cells, the area's structure count or the player's items between a
//! lane's receipt and the block that executes it, so a receipt is never contradicted.
//! Lane upgrades and demolitions name a structure by a point of its footprint, inside the
//! area ([`lane_upgrade`], [`lane_demolish`]); a joined player's structures change only
//! through the lanes (its `upgrade`, `demolish` and `transfer` extrinsics are refused with
//! `Players.InFastLane`).
//!
//! Invariants: no two footprints overlap; every structure is listed in `StructuresInArea`
//! under exactly its `area`, in `StructuresOf` under exactly its owner and in `Cells`
//! under exactly the cells its claim touches; `AreaStructureCount` and `CellLoad` count
//! those indexes; the centre of a footprint lies in its (active) area, and the whole
//! footprint lies on active areas (inside its area when placed; after a split it may
//! straddle the children). Every failing call returns a typed error and, run inside the
//! executive's transactional layer, changes nothing.

use std::collections::BTreeSet;

use arceon_pallet_areas::{self as areas, AreaId, Bounds, Coord, Position, UNIT};
use arceon_pallet_players::{self as players, ItemId};
use arceon_pallet_system as system;
use arceon_primitives::{AccountId32, BlockNumber};
use arceon_support::{
    ensure_root, ensure_signed, storage, ArithmeticError, Blake2_128Concat, DispatchError,
    DispatchResult, Ext, Origin, StoragePrefix, Twox64Concat, Weight,
};
use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 43;

/// A structure's identifier (sequential, never reused).
pub type StructureId = u64;
/// A structure kind's identifier.
pub type KindId = u32;
/// A grid cell: `(x, y)` = the coordinates divided by [`CELL_SIDE`], rounded down.
pub type CellId = (i64, i64);

/// How far from a player (to the nearest point of the footprint) they can build: 20 units.
pub const REACH: Coord = 20 * UNIT;
/// The longest side of a footprint: 32 units.
pub const MAX_SIDE: Coord = 32 * UNIT;
/// The largest claim radius of a kind: 16 units.
pub const MAX_CLAIM_RADIUS: Coord = 16 * UNIT;
/// The side of a grid cell: 32 units. A footprint (at most `MAX_SIDE`) touches at most
/// 2 x 2 cells and a claim (at most `MAX_SIDE + 2 * MAX_CLAIM_RADIUS`) at most 3 x 3.
pub const CELL_SIDE: Coord = 32 * UNIT;
/// The most structures whose claims touch one cell.
pub const MAX_PER_CELL: u32 = 32;
/// The most cells one claim touches (3 x 3, see [`CELL_SIDE`]).
pub const MAX_CELLS_PER_CLAIM: usize = 9;
/// Default for `MaxPerArea`.
pub const DEFAULT_MAX_PER_AREA: u32 = 256;
/// The highest `MaxPerArea` root can set: bounds the per-area work of [`migrate_area`].
pub const MAX_PER_AREA_CAP: u32 = 1_024;
/// The longest kind name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// The most item entries in a kind's `cost` or `upgrade_cost`.
pub const MAX_COST_ITEMS: usize = 8;
/// The most structures [`structures_in_area`] and [`structures_of`] return per page.
pub const MAX_PAGE: usize = 1_000;

/// The pallet, for its hooks.
pub struct Pallet;

/// Structures does no per-block work: every change is driven by a call, or by the
/// runtime calling [`migrate_area`] when areas split or merge.
impl arceon_support::Hooks for Pallet {}

/// What can be built: a root-defined table (genesis or `set_kind`).
#[derive(
    Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StructureKind {
    /// Its identifier.
    pub id: KindId,
    /// Display name (1 to [`MAX_NAME_LEN`] bytes).
    pub name: String,
    /// East-west extent, milli-units (1 to [`MAX_SIDE`]).
    pub width: Coord,
    /// North-south extent, milli-units (1 to [`MAX_SIDE`]).
    pub height: Coord,
    /// How far around the footprint only the owner may build, milli-units (0 to
    /// [`MAX_CLAIM_RADIUS`]).
    #[serde(default)]
    pub claim_radius: Coord,
    /// Items paid to place it (distinct items, positive counts).
    #[serde(default)]
    pub cost: Vec<(ItemId, u32)>,
    /// Items paid for each level gained by an upgrade.
    #[serde(default)]
    pub upgrade_cost: Vec<(ItemId, u32)>,
    /// The highest level (a placed structure has level 1), at least 1.
    #[serde(default = "default_max_level")]
    pub max_level: u8,
}

fn default_max_level() -> u8 {
    1
}

impl StructureKind {
    /// Whether the kind respects the bounds the grid and the per-call weights assume.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.name.is_empty() || self.name.len() > MAX_NAME_LEN {
            return Err("name must be 1 to 64 bytes");
        }
        if !(1..=MAX_SIDE).contains(&self.width) || !(1..=MAX_SIDE).contains(&self.height) {
            return Err("width and height must be 1 to 32,000 milli-units");
        }
        if !(0..=MAX_CLAIM_RADIUS).contains(&self.claim_radius) {
            return Err("claim radius must be 0 to 16,000 milli-units");
        }
        if self.max_level == 0 {
            return Err("max level must be at least 1");
        }
        for list in [&self.cost, &self.upgrade_cost] {
            if list.len() > MAX_COST_ITEMS {
                return Err("at most 8 items per cost");
            }
            let mut seen = BTreeSet::new();
            for (item, count) in list {
                if *count == 0 || !seen.insert(*item) {
                    return Err("cost items must be distinct with positive counts");
                }
            }
        }
        Ok(())
    }
}

/// A placed structure.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Structure {
    /// Its identifier.
    pub id: StructureId,
    /// Who owns it.
    pub owner: AccountId32,
    /// Its kind.
    pub kind: KindId,
    /// The area it is listed in: the one holding its footprint's centre.
    pub area: AreaId,
    /// Its south-west corner.
    pub position: Position,
    /// The ground it covers: `position` to `position + (width, height)`.
    pub footprint: Bounds,
    /// The footprint grown by the kind's claim radius at placement: nobody else may build
    /// on it.
    pub claim: Bounds,
    /// Its level, from 1 to the kind's `max_level`.
    pub level: u8,
    /// The block it was placed in.
    pub placed_at: BlockNumber,
    /// Everything paid for it so far (placement and upgrades), sorted by item id.
    pub spent: Vec<(ItemId, u32)>,
}

storage! { pallet "Structures";
    /// The kinds that can be built.
    pub Kinds: map Twox64Concat, KindId => StructureKind;
    /// Every placed structure.
    pub Structures: map Twox64Concat, StructureId => Structure;
    /// Which structures are in each area.
    pub StructuresInArea: double_map Twox64Concat, AreaId, Twox64Concat, StructureId => ();
    /// How many structures each area lists (absent when none).
    pub AreaStructureCount: map Twox64Concat, AreaId => u32;
    /// Which structures each account owns.
    pub StructuresOf: double_map Blake2_128Concat, AccountId32, Twox64Concat, StructureId => ();
    /// The id the next placed structure gets.
    pub NextStructureId: value StructureId;
    /// The most structures one area can hold (placements beyond it fail).
    pub MaxPerArea: value u32;
    /// The spatial index: the structures whose claim touches each cell. Players choose
    /// positions, hence the cryptographic hasher.
    pub Cells: double_map Blake2_128Concat, CellId, Twox64Concat, StructureId => ();
    /// How many structures each cell lists (absent when none).
    pub CellLoad: map Blake2_128Concat, CellId => u32;
}

/// Structures events.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// A structure was placed.
    #[codec(index = 0)]
    Placed {
        /// The new structure.
        id: StructureId,
        /// Its owner (the builder).
        owner: AccountId32,
        /// Its area.
        area: AreaId,
        /// Its kind.
        kind: KindId,
        /// Its south-west corner.
        position: Position,
    },
    /// A structure gained a level.
    #[codec(index = 1)]
    Upgraded {
        /// The structure.
        id: StructureId,
        /// Its new level.
        level: u8,
    },
    /// A structure was demolished and half of its cost refunded.
    #[codec(index = 2)]
    Demolished {
        /// The former structure.
        id: StructureId,
        /// The items given back to its owner.
        refund: Vec<(ItemId, u32)>,
    },
    /// A structure changed owner.
    #[codec(index = 3)]
    Transferred {
        /// The structure.
        id: StructureId,
        /// The previous owner.
        from: AccountId32,
        /// The new owner.
        to: AccountId32,
    },
    /// Root created or replaced a kind.
    #[codec(index = 4)]
    KindSet {
        /// The kind.
        kind: KindId,
    },
    /// Root changed the per-area limit.
    #[codec(index = 5)]
    MaxPerAreaSet {
        /// The new limit.
        max: u32,
    },
}

arceon_support::pallet_error! {
    /// Structures errors. A sender without a player gets players' `NotRegistered`, and
    /// the action rate limits surface as players' `RateLimitedBlock` / `RateLimitedEra`
    /// (passed through unchanged, as for every player action).
    pub enum Error for pallet PALLET_INDEX {
        /// The player is not standing in the area they build in.
        NotInArea,
        /// The footprint is farther than [`REACH`] from the player.
        TooFar,
        /// No kind has this id.
        UnknownKind,
        /// The footprint does not lie inside the area.
        OutsideArea,
        /// The footprint overlaps another structure.
        Occupied,
        /// The footprint lies on another owner's claim.
        ForeignClaim,
        /// The area holds as many structures as allowed.
        AreaLimitReached,
        /// The player lacks the items the structure costs.
        InsufficientResources,
        /// The sender does not own the structure.
        NotOwner,
        /// No structure has this id.
        UnknownStructure,
        /// The structure is at its kind's highest level.
        MaxLevel,
        /// The owner's inventory has no room for the refund.
        InventoryFull,
        /// The recipient of a transfer has no player.
        RecipientNotPlayer,
        /// The kind breaks a limit (name, size, claim, level or cost; see `StructureKind`).
        InvalidKind,
        /// The per-area limit is above [`MAX_PER_AREA_CAP`].
        InvalidLimit,
        /// Too many structures' claims already touch this spot's grid cells.
        Crowded,
        /// The area has a fast-lane committee: structures are placed there through its
        /// lane.
        LaneArea,
        /// Through a lane, the claim must touch only grid cells wholly inside the area.
        NotLaneGround,
        /// No structure covers that point of the area.
        NoStructureHere,
    }
}

/// Structures calls.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Place a structure of `kind` with its south-west corner at `position` in `area`
    /// (signed, index 0). Refused with `LaneArea` in an area with a fast-lane committee
    /// (build through its lane there).
    #[codec(index = 0)]
    Place {
        /// The area the player stands in.
        area: AreaId,
        /// The south-west corner.
        position: Position,
        /// What to build.
        kind: KindId,
    },
    /// Raise a structure's level by one, paying its kind's `upgrade_cost` (signed,
    /// owner only, index 1).
    #[codec(index = 1)]
    Upgrade {
        /// The structure.
        id: StructureId,
    },
    /// Remove a structure, refunding half of everything spent on it (signed, owner only,
    /// index 2).
    #[codec(index = 2)]
    Demolish {
        /// The structure.
        id: StructureId,
    },
    /// Give a structure to another player (signed, owner only, index 3).
    #[codec(index = 3)]
    Transfer {
        /// The structure.
        id: StructureId,
        /// The new owner.
        to: AccountId32,
    },
    /// Create or replace a kind (root, index 10). Placed structures keep their footprint
    /// and claim.
    #[codec(index = 10)]
    SetKind {
        /// The kind.
        kind: StructureKind,
    },
    /// Set the per-area limit (root, index 11). Areas already above it keep their
    /// structures; new placements there fail.
    #[codec(index = 11)]
    SetMaxPerArea {
        /// The new limit, at most [`MAX_PER_AREA_CAP`].
        max: u32,
    },
}

/// Weights of this pallet's calls (reference time in picoseconds, proof size in bytes).
/// Set from `arceon-node benchmark pallet` (release build, 2-core reference machine):
/// about 4x the measured in-memory medians (upgrade 10.2 us, transfer 7.5 us). `place`
/// is dominated by reading the structures listed in the (at most 2 x 2) cells its
/// footprint touches: 85 us next to 76 structures, so about 140 us at the bound of
/// `4 * MAX_PER_CELL` = 128, declared at 4x that. `demolish` keeps its estimate for a
/// 9-cell claim (17.4 us measured with a 4-cell one).
pub mod weights {
    use arceon_support::Weight;

    /// `place`, next to full cells.
    pub const PLACE: Weight = Weight::from_parts(560_000_000, 60_000);
    /// `upgrade`.
    pub const UPGRADE: Weight = Weight::from_parts(40_000_000, 4_000);
    /// `demolish` (a claim in 3 x 3 cells).
    pub const DEMOLISH: Weight = Weight::from_parts(120_000_000, 6_000);
    /// `transfer`.
    pub const TRANSFER: Weight = Weight::from_parts(30_000_000, 4_000);
    /// `set_kind`.
    pub const SET_KIND: Weight = Weight::from_parts(20_000_000, 1_000);
    /// `set_max_per_area`.
    pub const SET_MAX_PER_AREA: Weight = Weight::from_parts(12_000_000, 100);
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::Place { .. } => weights::PLACE,
            Call::Upgrade { .. } => weights::UPGRADE,
            Call::Demolish { .. } => weights::DEMOLISH,
            Call::Transfer { .. } => weights::TRANSFER,
            Call::SetKind { .. } => weights::SET_KIND,
            Call::SetMaxPerArea { .. } => weights::SET_MAX_PER_AREA,
        }
    }

    /// Executes the call. Runs inside the executive's transactional layer, so an error
    /// discards every write the call made.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        match self {
            Call::Place {
                area,
                position,
                kind,
            } => {
                let who = ensure_signed(origin)?;
                players::ensure_not_in_lane(ext, &who)?;
                if areas::authority(ext, area).is_some() {
                    return Err(Error::LaneArea.into());
                }
                place(ext, &who, area, position, kind).map(|_| ())
            }
            Call::Upgrade { id } => {
                let who = ensure_signed(origin)?;
                players::ensure_not_in_lane(ext, &who)?;
                upgrade(ext, &who, id)
            }
            Call::Demolish { id } => {
                let who = ensure_signed(origin)?;
                players::ensure_not_in_lane(ext, &who)?;
                demolish(ext, &who, id)
            }
            Call::Transfer { id, to } => {
                let who = ensure_signed(origin)?;
                players::ensure_not_in_lane(ext, &who)?;
                transfer(ext, &who, id, &to)
            }
            Call::SetKind { kind } => {
                ensure_root(origin)?;
                kind.validate().map_err(|_| Error::InvalidKind)?;
                Kinds::insert(ext, &kind.id, &kind);
                deposit_event(ext, &Event::KindSet { kind: kind.id });
                Ok(())
            }
            Call::SetMaxPerArea { max } => {
                ensure_root(origin)?;
                if max > MAX_PER_AREA_CAP {
                    return Err(Error::InvalidLimit.into());
                }
                MaxPerArea::put(ext, &max);
                deposit_event(ext, &Event::MaxPerAreaSet { max });
                Ok(())
            }
        }
    }
}

/// Deposits a structures event.
pub fn deposit_event(ext: &mut Ext, event: &Event) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The structure with this id.
pub fn structure(ext: &mut Ext, id: StructureId) -> Option<Structure> {
    Structures::get(ext, &id)
}

/// The kind with this id.
pub fn kind(ext: &mut Ext, id: KindId) -> Option<StructureKind> {
    Kinds::get(ext, &id)
}

/// The per-area limit.
pub fn max_per_area(ext: &mut Ext) -> u32 {
    MaxPerArea::get(ext).unwrap_or(DEFAULT_MAX_PER_AREA)
}

/// How many structures `area` lists.
pub fn area_structure_count(ext: &mut Ext, area: AreaId) -> u32 {
    AreaStructureCount::get_or_default(ext, &area)
}

fn now(ext: &mut Ext) -> BlockNumber {
    system::Number::get_or_default(ext)
}

/// The cells a rectangle touches, row by row. Valid claims touch at most
/// [`MAX_CELLS_PER_CLAIM`]; a larger (corrupt) rectangle yields an empty list, which
/// [`check_invariants`] reports.
pub fn cells_of(bounds: &Bounds) -> Vec<CellId> {
    if !bounds.is_valid() {
        return Vec::new();
    }
    let x0 = bounds.min_x.div_euclid(CELL_SIDE);
    let x1 = (bounds.max_x - 1).div_euclid(CELL_SIDE);
    let y0 = bounds.min_y.div_euclid(CELL_SIDE);
    let y1 = (bounds.max_y - 1).div_euclid(CELL_SIDE);
    if x1 - x0 >= 3 || y1 - y0 >= 3 {
        return Vec::new();
    }
    let mut cells = Vec::with_capacity(MAX_CELLS_PER_CLAIM);
    for y in y0..=y1 {
        for x in x0..=x1 {
            cells.push((x, y));
        }
    }
    cells
}

/// `bounds` grown by `radius` on every side (saturating).
fn grown(bounds: &Bounds, radius: Coord) -> Bounds {
    Bounds::new(
        bounds.min_x.saturating_sub(radius),
        bounds.min_y.saturating_sub(radius),
        bounds.max_x.saturating_add(radius),
        bounds.max_y.saturating_add(radius),
    )
}

/// The squared distance from `point` to the nearest point of `bounds`.
fn distance_squared_to(bounds: &Bounds, point: &Position) -> u128 {
    let axis = |min: Coord, max: Coord, v: Coord| -> u128 {
        let (min, max, v) = (i128::from(min), i128::from(max), i128::from(v));
        (min - v).max(v - max).max(0).unsigned_abs()
    };
    let dx = axis(bounds.min_x, bounds.max_x, point.x);
    let dy = axis(bounds.min_y, bounds.max_y, point.y);
    dx.saturating_mul(dx).saturating_add(dy.saturating_mul(dy))
}

/// Maps one players error to this pallet's, passing every other error through.
fn map_players_error(error: DispatchError, from: players::Error, to: Error) -> DispatchError {
    if error == DispatchError::from(from) {
        to.into()
    } else {
        error
    }
}

/// Adds `items` to a sorted, merged item list (saturating).
fn add_spent(spent: &mut Vec<(ItemId, u32)>, items: &[(ItemId, u32)]) {
    for (item, count) in items {
        match spent.iter_mut().find(|(id, _)| id == item) {
            Some(entry) => entry.1 = entry.1.saturating_add(*count),
            None => spent.push((*item, *count)),
        }
    }
    spent.retain(|(_, count)| *count > 0);
    spent.sort_by_key(|(id, _)| *id);
}

/// Half of every entry of `spent`, rounded down, dropping the zeros.
pub fn refund_of(spent: &[(ItemId, u32)]) -> Vec<(ItemId, u32)> {
    spent
        .iter()
        .map(|(item, count)| (*item, count / 2))
        .filter(|(_, count)| *count > 0)
        .collect()
}

/// The structures listed in `cell`.
fn cell_structures(ext: &mut Ext, cell: &CellId) -> Vec<StructureId> {
    Cells::iter_prefix(ext, cell, None, MAX_PER_CELL as usize)
        .into_iter()
        .map(|(id, ())| id)
        .collect()
}

/// Why `footprint` cannot be built by `builder`: it overlaps a structure (`Occupied`,
/// reported first) or lies on another owner's claim (`ForeignClaim`).
fn check_ground(ext: &mut Ext, builder: &AccountId32, footprint: &Bounds) -> DispatchResult {
    let mut seen = BTreeSet::new();
    let mut foreign_claim = false;
    for cell in cells_of(footprint) {
        for id in cell_structures(ext, &cell) {
            if !seen.insert(id) {
                continue;
            }
            let Some(other) = Structures::get(ext, &id) else {
                ext.record_fault(format!("cell {cell:?} lists missing structure {id}"));
                return Err(DispatchError::Corruption);
            };
            if other.footprint.overlaps(footprint) {
                return Err(Error::Occupied.into());
            }
            if other.owner != *builder && other.claim.overlaps(footprint) {
                foreign_claim = true;
            }
        }
    }
    if foreign_claim {
        return Err(Error::ForeignClaim.into());
    }
    Ok(())
}

/// Places a structure of `kind_id` for `who` with its south-west corner at `position` in
/// `area_id`; returns its id. Checks, in order: the sender has a player (players'
/// `NotRegistered`), `UnknownKind`, `NotInArea` (the player stands elsewhere),
/// `OutsideArea`, `TooFar`, `AreaLimitReached`, `Occupied`, `ForeignClaim`, `Crowded`,
/// the action rate limits (players' errors), `InsufficientResources`.
pub fn place(
    ext: &mut Ext,
    who: &AccountId32,
    area_id: AreaId,
    position: Position,
    kind_id: KindId,
) -> Result<StructureId, DispatchError> {
    place_with(ext, who, area_id, position, kind_id, false)
}

/// A fast-lane placement: the rules of [`place`] without the per-block rate limit, and
/// the claim must touch only cells wholly inside the area (`NotLaneGround`, checked after
/// `TooFar`). Returns the new structure's id.
pub fn lane_place(
    ext: &mut Ext,
    who: &AccountId32,
    area_id: AreaId,
    position: Position,
    kind_id: KindId,
) -> Result<StructureId, DispatchError> {
    place_with(ext, who, area_id, position, kind_id, true)
}

/// The bounds of grid cell `cell` (saturating at the edges of the coordinate space).
pub fn cell_bounds(cell: &CellId) -> Bounds {
    let min_x = cell.0.saturating_mul(CELL_SIDE);
    let min_y = cell.1.saturating_mul(CELL_SIDE);
    Bounds::new(
        min_x,
        min_y,
        min_x.saturating_add(CELL_SIDE),
        min_y.saturating_add(CELL_SIDE),
    )
}

/// Whether every cell `claim` touches lies wholly inside `area`: a lane's own ground.
pub fn on_lane_ground(area: &Bounds, claim: &Bounds) -> bool {
    let cells = cells_of(claim);
    !cells.is_empty()
        && cells
            .iter()
            .all(|cell| area.contains_bounds(&cell_bounds(cell)))
}

fn place_with(
    ext: &mut Ext,
    who: &AccountId32,
    area_id: AreaId,
    position: Position,
    kind_id: KindId,
    lane: bool,
) -> Result<StructureId, DispatchError> {
    let player = players::registered(ext, who)?;
    let kind = Kinds::get(ext, &kind_id).ok_or(Error::UnknownKind)?;
    if player.area != area_id {
        return Err(Error::NotInArea.into());
    }
    let area = areas::active_area(ext, area_id)?;
    let footprint = match (
        position.x.checked_add(kind.width),
        position.y.checked_add(kind.height),
    ) {
        (Some(max_x), Some(max_y)) => Bounds::new(position.x, position.y, max_x, max_y),
        _ => return Err(Error::OutsideArea.into()),
    };
    if !footprint.is_valid() || !area.bounds.contains_bounds(&footprint) {
        return Err(Error::OutsideArea.into());
    }
    let reach = REACH.unsigned_abs() as u128;
    if distance_squared_to(&footprint, &player.position) > reach * reach {
        return Err(Error::TooFar.into());
    }
    let claim = grown(&footprint, kind.claim_radius);
    if lane && !on_lane_ground(&area.bounds, &claim) {
        return Err(Error::NotLaneGround.into());
    }
    let in_area = AreaStructureCount::get_or_default(ext, &area_id);
    if in_area >= max_per_area(ext) {
        return Err(Error::AreaLimitReached.into());
    }
    check_ground(ext, who, &footprint)?;
    let claim_cells = cells_of(&claim);
    if claim_cells.is_empty() {
        // Only a kind that escaped validation can get here.
        return Err(Error::InvalidKind.into());
    }
    for cell in &claim_cells {
        if CellLoad::get_or_default(ext, cell) >= MAX_PER_CELL {
            return Err(Error::Crowded.into());
        }
    }
    let block = now(ext);
    if !lane {
        players::count_action(ext, who, block)?;
    }
    players::take_items(ext, who, &kind.cost).map_err(|e| {
        map_players_error(
            e,
            players::Error::InsufficientItems,
            Error::InsufficientResources,
        )
    })?;
    areas::note_action(ext, area_id);

    let id = NextStructureId::get_or_default(ext);
    let next = id
        .checked_add(1)
        .ok_or(DispatchError::Arithmetic(ArithmeticError::Overflow))?;
    NextStructureId::put(ext, &next);
    let mut spent = Vec::new();
    add_spent(&mut spent, &kind.cost);
    let structure = Structure {
        id,
        owner: who.clone(),
        kind: kind_id,
        area: area_id,
        position,
        footprint,
        claim,
        level: 1,
        placed_at: block,
        spent,
    };
    Structures::insert(ext, &id, &structure);
    StructuresInArea::insert(ext, &area_id, &id, &());
    AreaStructureCount::insert(ext, &area_id, &in_area.saturating_add(1));
    StructuresOf::insert(ext, who, &id, &());
    for cell in &claim_cells {
        Cells::insert(ext, cell, &id, &());
        CellLoad::mutate(ext, cell, |load| *load = load.saturating_add(1));
    }
    deposit_event(
        ext,
        &Event::Placed {
            id,
            owner: who.clone(),
            area: area_id,
            kind: kind_id,
            position,
        },
    );
    Ok(id)
}

/// The structure `id` if `who` owns it: `UnknownStructure` or `NotOwner` otherwise.
fn owned(ext: &mut Ext, who: &AccountId32, id: StructureId) -> Result<Structure, DispatchError> {
    let structure = Structures::get(ext, &id).ok_or(Error::UnknownStructure)?;
    if structure.owner != *who {
        return Err(Error::NotOwner.into());
    }
    Ok(structure)
}

/// Counts one action of `who` acting on a structure in `area`.
fn count_structure_action(ext: &mut Ext, who: &AccountId32, area: AreaId) -> DispatchResult {
    let block = now(ext);
    players::count_action(ext, who, block)?;
    areas::note_action(ext, area);
    Ok(())
}

/// Raises structure `id` by one level, paying its kind's `upgrade_cost`:
/// `UnknownStructure`, `NotOwner`, `MaxLevel`, rate limits (players' errors),
/// `InsufficientResources`.
pub fn upgrade(ext: &mut Ext, who: &AccountId32, id: StructureId) -> DispatchResult {
    let structure = owned(ext, who, id)?;
    upgrade_with(ext, who, structure, false).map(|_| ())
}

/// The structure of area `area_id` whose footprint covers `point`, if `who` owns it:
/// `OutsideArea` (the point is not in the area), `NoStructureHere`, `NotOwner`.
fn owned_at(
    ext: &mut Ext,
    who: &AccountId32,
    area_id: AreaId,
    point: &Position,
) -> Result<Structure, DispatchError> {
    let area = areas::active_area(ext, area_id)?;
    if !area.bounds.contains(point) {
        return Err(Error::OutsideArea.into());
    }
    let structure = structure_at(ext, point).ok_or(Error::NoStructureHere)?;
    if structure.owner != *who {
        return Err(Error::NotOwner.into());
    }
    Ok(structure)
}

/// A fast-lane upgrade of `who`'s structure covering `point` in `area_id`: the rules of
/// [`upgrade`] without the per-block rate limit (`OutsideArea`, `NoStructureHere`,
/// `NotOwner` first). Returns the structure with its new level.
pub fn lane_upgrade(
    ext: &mut Ext,
    who: &AccountId32,
    area_id: AreaId,
    point: &Position,
) -> Result<Structure, DispatchError> {
    let structure = owned_at(ext, who, area_id, point)?;
    upgrade_with(ext, who, structure, true)
}

fn upgrade_with(
    ext: &mut Ext,
    who: &AccountId32,
    mut structure: Structure,
    lane: bool,
) -> Result<Structure, DispatchError> {
    let id = structure.id;
    let Some(kind) = Kinds::get(ext, &structure.kind) else {
        ext.record_fault(format!(
            "structure {id} has unknown kind {}",
            structure.kind
        ));
        return Err(DispatchError::Corruption);
    };
    if structure.level >= kind.max_level {
        return Err(Error::MaxLevel.into());
    }
    if lane {
        areas::note_action(ext, structure.area);
    } else {
        count_structure_action(ext, who, structure.area)?;
    }
    players::take_items(ext, who, &kind.upgrade_cost).map_err(|e| {
        map_players_error(
            e,
            players::Error::InsufficientItems,
            Error::InsufficientResources,
        )
    })?;
    structure.level += 1;
    add_spent(&mut structure.spent, &kind.upgrade_cost);
    Structures::insert(ext, &id, &structure);
    deposit_event(
        ext,
        &Event::Upgraded {
            id,
            level: structure.level,
        },
    );
    Ok(structure)
}

/// Removes structure `id` and gives its owner half of everything spent on it (rounded
/// down): `UnknownStructure`, `NotOwner`, rate limits (players' errors), `InventoryFull`
/// (nothing is refunded partially: the call fails and the structure stays).
pub fn demolish(ext: &mut Ext, who: &AccountId32, id: StructureId) -> DispatchResult {
    let structure = owned(ext, who, id)?;
    count_structure_action(ext, who, structure.area)?;
    remove_with_refund(ext, who, structure).map(|_| ())
}

/// A fast-lane demolition of `who`'s structure covering `point` in `area_id`: the rules
/// of [`demolish`] without the per-block rate limit (`OutsideArea`, `NoStructureHere`,
/// `NotOwner` first). Returns the removed structure.
pub fn lane_demolish(
    ext: &mut Ext,
    who: &AccountId32,
    area_id: AreaId,
    point: &Position,
) -> Result<Structure, DispatchError> {
    let structure = owned_at(ext, who, area_id, point)?;
    areas::note_action(ext, structure.area);
    remove_with_refund(ext, who, structure)
}

fn remove_with_refund(
    ext: &mut Ext,
    who: &AccountId32,
    structure: Structure,
) -> Result<Structure, DispatchError> {
    let id = structure.id;
    let refund = refund_of(&structure.spent);
    players::give_items(ext, who, &refund)
        .map_err(|e| map_players_error(e, players::Error::InventoryFull, Error::InventoryFull))?;
    unindex(ext, &structure);
    Structures::remove(ext, &id);
    deposit_event(ext, &Event::Demolished { id, refund });
    Ok(structure)
}

/// Removes `structure` from the area, owner and cell indexes.
fn unindex(ext: &mut Ext, structure: &Structure) {
    let id = structure.id;
    StructuresInArea::remove(ext, &structure.area, &id);
    decrement(ext, structure.area);
    StructuresOf::remove(ext, &structure.owner, &id);
    for cell in cells_of(&structure.claim) {
        Cells::remove(ext, &cell, &id);
        let load = CellLoad::get_or_default(ext, &cell).saturating_sub(1);
        if load == 0 {
            CellLoad::remove(ext, &cell);
        } else {
            CellLoad::insert(ext, &cell, &load);
        }
    }
}

fn decrement(ext: &mut Ext, area: AreaId) {
    let count = AreaStructureCount::get_or_default(ext, &area).saturating_sub(1);
    if count == 0 {
        AreaStructureCount::remove(ext, &area);
    } else {
        AreaStructureCount::insert(ext, &area, &count);
    }
}

/// Gives structure `id` to `to`: `UnknownStructure`, `NotOwner`, `RecipientNotPlayer`,
/// rate limits (players' errors).
pub fn transfer(
    ext: &mut Ext,
    who: &AccountId32,
    id: StructureId,
    to: &AccountId32,
) -> DispatchResult {
    let mut structure = owned(ext, who, id)?;
    if players::player(ext, to).is_none() {
        return Err(Error::RecipientNotPlayer.into());
    }
    count_structure_action(ext, who, structure.area)?;
    StructuresOf::remove(ext, who, &id);
    StructuresOf::insert(ext, to, &id, &());
    structure.owner = to.clone();
    Structures::insert(ext, &id, &structure);
    deposit_event(
        ext,
        &Event::Transferred {
            id,
            from: who.clone(),
            to: to.clone(),
        },
    );
    Ok(())
}

/// Follows a split or merge of `from`: moves every structure listed in `from` to the
/// area among `targets` whose bounds contain its footprint's centre (a footprint may then
/// straddle several targets). A structure fitting no target stays and is recorded as a
/// fault. Work: one pass over `from`'s structures.
pub fn migrate_area(ext: &mut Ext, from: AreaId, targets: &[(AreaId, Bounds)]) {
    let listed: Vec<StructureId> = StructuresInArea::iter_prefix(ext, &from, None, usize::MAX)
        .into_iter()
        .map(|(id, ())| id)
        .collect();
    for id in listed {
        let Some(mut structure) = Structures::get(ext, &id) else {
            ext.record_fault(format!("area {from} lists missing structure {id}"));
            continue;
        };
        let centre = structure.footprint.centre();
        let Some((to, _)) = targets.iter().find(|(_, bounds)| bounds.contains(&centre)) else {
            ext.record_fault(format!(
                "structure {id} centred at {centre:?} fits no target area"
            ));
            continue;
        };
        if *to == from {
            continue;
        }
        StructuresInArea::remove(ext, &from, &id);
        decrement(ext, from);
        StructuresInArea::insert(ext, to, &id, &());
        AreaStructureCount::mutate(ext, to, |count| *count = count.saturating_add(1));
        structure.area = *to;
        Structures::insert(ext, &id, &structure);
    }
}

/// Up to `limit` (at most [`MAX_PAGE`]) structures listed in `area`, in storage-key
/// order, after `start_after` (paging for RPC: pass the last id of the previous page).
pub fn structures_in_area(
    ext: &mut Ext,
    area: AreaId,
    start_after: Option<StructureId>,
    limit: usize,
) -> Vec<Structure> {
    StructuresInArea::iter_prefix(ext, &area, start_after.as_ref(), limit.min(MAX_PAGE))
        .into_iter()
        .filter_map(|(id, ())| Structures::get(ext, &id))
        .collect()
}

/// Up to `limit` (at most [`MAX_PAGE`]) structures owned by `owner`, in storage-key
/// order, after `start_after`.
pub fn structures_of(
    ext: &mut Ext,
    owner: &AccountId32,
    start_after: Option<StructureId>,
    limit: usize,
) -> Vec<Structure> {
    StructuresOf::iter_prefix(ext, owner, start_after.as_ref(), limit.min(MAX_PAGE))
        .into_iter()
        .filter_map(|(id, ())| Structures::get(ext, &id))
        .collect()
}

/// The structure whose footprint covers `point`, if any.
pub fn structure_at(ext: &mut Ext, point: &Position) -> Option<Structure> {
    let cell = (point.x.div_euclid(CELL_SIDE), point.y.div_euclid(CELL_SIDE));
    cell_structures(ext, &cell)
        .into_iter()
        .filter_map(|id| Structures::get(ext, &id))
        .find(|structure| structure.footprint.contains(point))
}

/// The area `bounds` and `other` share, in square milli-units.
fn shared_area(bounds: &Bounds, other: &Bounds) -> i128 {
    let w = i128::from(bounds.max_x.min(other.max_x)) - i128::from(bounds.min_x.max(other.min_x));
    let h = i128::from(bounds.max_y.min(other.max_y)) - i128::from(bounds.min_y.max(other.min_y));
    if w <= 0 || h <= 0 {
        0
    } else {
        w * h
    }
}

/// Counts the raw keys of a storage item (to catch index entries nothing points to).
fn raw_key_count<P: StoragePrefix>(ext: &mut Ext) -> usize {
    ext.keys_with_prefix(P::prefix()).len()
}

/// Checks the pallet's invariants (see the crate documentation); the first violation
/// found is returned. Work: linear in structures times cells, plus structures times
/// active areas for the map coverage.
pub fn check_invariants(ext: &mut Ext) -> Result<(), String> {
    let structures = Structures::iter(ext);
    let next_id = NextStructureId::get_or_default(ext);
    let active: Vec<areas::Area> = areas::all_areas(ext)
        .into_iter()
        .filter(|area| area.active)
        .collect();
    let mut expected_cell_entries = 0usize;
    for (key, s) in &structures {
        let id = s.id;
        if *key != id {
            return Err(format!("structure {id} stored under id {key}"));
        }
        if id >= next_id {
            return Err(format!(
                "structure {id} not below NextStructureId {next_id}"
            ));
        }
        if s.level == 0 {
            return Err(format!("structure {id} has level 0"));
        }
        if !Kinds::contains_key(ext, &s.kind) {
            return Err(format!("structure {id} has unknown kind {}", s.kind));
        }
        let f = s.footprint;
        if !f.is_valid() || f.width() > MAX_SIDE || f.height() > MAX_SIDE {
            return Err(format!("structure {id} has a bad footprint {f:?}"));
        }
        if s.position != Position::new(f.min_x, f.min_y) {
            return Err(format!(
                "structure {id} position is not its footprint's corner"
            ));
        }
        if !s.claim.contains_bounds(&f) {
            return Err(format!(
                "structure {id} claim does not contain its footprint"
            ));
        }
        let Some(area) = active.iter().find(|area| area.id == s.area) else {
            return Err(format!(
                "structure {id} is in inactive or unknown area {}",
                s.area
            ));
        };
        if !area.bounds.contains(&f.centre()) {
            return Err(format!(
                "structure {id} centre lies outside its area {}",
                s.area
            ));
        }
        let covered: i128 = active.iter().map(|a| shared_area(&f, &a.bounds)).sum();
        if covered != i128::from(f.width()) * i128::from(f.height()) {
            return Err(format!(
                "structure {id} footprint is partly off the active map"
            ));
        }
        if !StructuresInArea::contains_key(ext, &s.area, &id) {
            return Err(format!(
                "structure {id} is not indexed in its area {}",
                s.area
            ));
        }
        if !StructuresOf::contains_key(ext, &s.owner, &id) {
            return Err(format!("structure {id} is not indexed under its owner"));
        }
        let cells = cells_of(&s.claim);
        if cells.is_empty() {
            return Err(format!("structure {id} claim spans too many cells"));
        }
        for cell in &cells {
            if !Cells::contains_key(ext, cell, &id) {
                return Err(format!("structure {id} missing from cell {cell:?}"));
            }
        }
        expected_cell_entries += cells.len();
    }
    let total = structures.len();

    let counts = AreaStructureCount::iter(ext);
    let mut counted = 0usize;
    for (area, count) in counts {
        let listed = StructuresInArea::iter_prefix(ext, &area, None, usize::MAX);
        if listed.len() != count as usize {
            return Err(format!(
                "area {area} counts {count} structures but lists {}",
                listed.len()
            ));
        }
        for (id, ()) in listed {
            match structures.iter().find(|(key, _)| *key == id) {
                Some((_, s)) if s.area == area => {}
                _ => {
                    return Err(format!(
                        "area {area} lists structure {id} that is not there"
                    ))
                }
            }
        }
        counted += count as usize;
    }
    if counted != total || raw_key_count::<StructuresInAreaPrefix>(ext) != total {
        return Err(format!(
            "{total} structures but the area index counts {counted}"
        ));
    }
    if raw_key_count::<StructuresOfPrefix>(ext) != total {
        return Err("owner index does not match the structures".into());
    }

    let mut loaded = 0usize;
    for (cell, load) in CellLoad::iter(ext) {
        if load == 0 || load > MAX_PER_CELL {
            return Err(format!("cell {cell:?} has load {load}"));
        }
        let listed: Vec<&Structure> = Cells::iter_prefix(ext, &cell, None, usize::MAX)
            .into_iter()
            .filter_map(|(id, ())| structures.iter().find(|(key, _)| *key == id))
            .map(|(_, s)| s)
            .collect();
        if listed.len() != load as usize {
            return Err(format!(
                "cell {cell:?} load {load} does not match its entries"
            ));
        }
        // Two overlapping footprints share a point, hence a cell both claims touch.
        for (i, a) in listed.iter().enumerate() {
            for b in &listed[i + 1..] {
                if a.footprint.overlaps(&b.footprint) {
                    return Err(format!("structures {} and {} overlap", a.id, b.id));
                }
            }
        }
        loaded += load as usize;
    }
    if loaded != expected_cell_entries || raw_key_count::<CellsPrefix>(ext) != expected_cell_entries
    {
        return Err("cell index does not match the structures' claims".into());
    }
    Ok(())
}

/// Genesis: the kinds that can be built and the per-area limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// The buildable kinds.
    #[serde(default)]
    pub kinds: Vec<StructureKind>,
    /// The most structures per area.
    #[serde(default = "default_max_per_area")]
    pub max_per_area: u32,
}

fn default_max_per_area() -> u32 {
    DEFAULT_MAX_PER_AREA
}

impl Default for GenesisConfig {
    fn default() -> Self {
        GenesisConfig {
            kinds: Vec::new(),
            max_per_area: DEFAULT_MAX_PER_AREA,
        }
    }
}

/// Why a genesis configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// A kind breaks a limit.
    #[error("structure kind {0} is invalid: {1}")]
    InvalidKind(KindId, &'static str),
    /// Two kinds share an id.
    #[error("structure kind {0} is defined twice")]
    DuplicateKind(KindId),
    /// The per-area limit is above the cap.
    #[error("maxPerArea {0} is above {MAX_PER_AREA_CAP}")]
    MaxPerAreaTooHigh(u32),
}

impl arceon_support::BuildGenesis for GenesisConfig {
    type Error = GenesisError;

    /// Checks every kind and the limit, then writes them.
    fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        if self.max_per_area > MAX_PER_AREA_CAP {
            return Err(GenesisError::MaxPerAreaTooHigh(self.max_per_area));
        }
        let mut seen = BTreeSet::new();
        for kind in &self.kinds {
            kind.validate()
                .map_err(|reason| GenesisError::InvalidKind(kind.id, reason))?;
            if !seen.insert(kind.id) {
                return Err(GenesisError::DuplicateKind(kind.id));
            }
        }
        for kind in &self.kinds {
            Kinds::insert(ext, &kind.id, kind);
        }
        MaxPerArea::put(ext, &self.max_per_area);
        Ok(())
    }
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![arceon_support::metadata::constant(
        "Reach",
        &(REACH),
        &["How far from a player a structure may be placed."],
    )]
}

/// Shifts every block number this pallet stores down by `by` (saturating at 0), so the
/// state of block `by` can be the genesis of a new chain with the same elapsed times
/// (`export-state --chain-spec`).
pub fn rebase(ext: &mut Ext, by: BlockNumber) {
    Structures::translate_values(ext, |structure: &mut Structure| {
        structure.placed_at = structure.placed_at.saturating_sub(by);
    });
}

#[cfg(test)]
mod tests;
