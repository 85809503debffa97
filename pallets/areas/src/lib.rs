//! The areas pallet (index 40): the world's map. The world is a plane measured in
//! fixed-point world units (`UNIT` = 1,000 milli-units per unit); it is divided into
//! rectangular areas that know their neighbours, their parent (after a split) and the
//! resources that can be gathered in them. Every active area has an [`AreaAuthority`]: a
//! committee of 3 to 5 distinct active validators (a primary and replicas) that orders the
//! area's real-time actions in its fast lane. Root creates and edits areas; at every era
//! change the runtime calls [`new_era`], which splits areas whose load (player actions
//! during the era) reached the split threshold into four quadrants, merges quiet
//! quadrants back into their parent, and rebalances the committees with stake- and
//! trust-weighted rendezvous hashing so that as few committees as possible change. On a
//! chain whose players act through fast lanes the runtime calls [`new_era_scheduling`]
//! instead, and root's forced reshapes go through [`schedule`]: a split or merge then
//! waits in [`Scheduled`] until the lanes of the areas it ends have ended, and the
//! runtime makes it with [`reshape_now`].
//!
//! Invariants (checked by [`check_invariants`]): active areas never overlap; every
//! area's neighbour list is exactly the set of active areas whose bounds touch it, so
//! adjacency is symmetric and only names active areas; an inactive area is a split parent
//! whose children exist, name it as parent and lie inside it; only active areas have
//! committees, whose members are distinct, at most [`MAX_COMMITTEE`], and were eligible
//! candidates when chosen; `version` grows on every change of an area's committee, also
//! across the area being split and merged back; ids are never reused. All per-era work
//! is bounded by [`MAX_AREAS`], [`MAX_CANDIDATES`] and [`MAX_RESHAPES_PER_ERA`].

use std::collections::BTreeSet;

use arceon_primitives::{AccountId32, Balance, BlockNumber};
use arceon_support::{
    ensure_root, storage, DispatchError, DispatchResult, Ext, Origin, Twox64Concat, Weight,
};
use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

mod committee;
mod map;

pub use committee::{committee_of, rebalance, rendezvous_hash, rendezvous_score};
pub use map::{new_era, new_era_scheduling};

/// The pallet, for its hooks.
pub struct Pallet;

/// Areas does no per-block work: era changes reach it through [`new_era`], which the
/// runtime calls from its own era hook, and everything else is a call.
impl arceon_support::Hooks for Pallet {}

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 40;

/// An area's identifier.
pub type AreaId = u32;
/// A world coordinate in milli-units.
pub type Coord = i64;
/// A gatherable resource (also the item id it becomes in an inventory).
pub type ResourceId = u32;

/// Milli-units per world unit.
pub const UNIT: Coord = 1_000;
/// The longest area name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// The most neighbours one area can have.
pub const MAX_NEIGHBOURS: usize = 16;
/// The most resource kinds one area can hold.
pub const MAX_RESOURCES: usize = 16;
/// The most members of an area committee.
pub const MAX_COMMITTEE: usize = 5;
/// The fewest members of an area committee when enough validators are active.
pub const MIN_COMMITTEE: usize = 3;

/// A point in the world.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    scale_info::TypeInfo,
)]
pub struct Position {
    /// East-west coordinate, milli-units.
    pub x: Coord,
    /// North-south coordinate, milli-units.
    pub y: Coord,
}

impl Position {
    /// A position from milli-unit coordinates.
    pub const fn new(x: Coord, y: Coord) -> Self {
        Position { x, y }
    }

    /// The squared Euclidean distance to `other`, exact for any two coordinates.
    pub fn distance_squared(&self, other: &Position) -> u128 {
        let dx = (i128::from(self.x) - i128::from(other.x)).unsigned_abs();
        let dy = (i128::from(self.y) - i128::from(other.y)).unsigned_abs();
        dx.saturating_mul(dx).saturating_add(dy.saturating_mul(dy))
    }
}

/// An axis-aligned rectangle `[min_x, max_x) x [min_y, max_y)` in milli-units.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase")]
pub struct Bounds {
    /// Western edge (inclusive).
    pub min_x: Coord,
    /// Southern edge (inclusive).
    pub min_y: Coord,
    /// Eastern edge (exclusive).
    pub max_x: Coord,
    /// Northern edge (exclusive).
    pub max_y: Coord,
}

impl Bounds {
    /// A rectangle from its corners.
    pub const fn new(min_x: Coord, min_y: Coord, max_x: Coord, max_y: Coord) -> Self {
        Bounds {
            min_x,
            min_y,
            max_x,
            max_y,
        }
    }

    /// Whether the rectangle has a positive area.
    pub fn is_valid(&self) -> bool {
        self.min_x < self.max_x && self.min_y < self.max_y
    }

    /// Whether `position` lies inside.
    pub fn contains(&self, position: &Position) -> bool {
        position.x >= self.min_x
            && position.x < self.max_x
            && position.y >= self.min_y
            && position.y < self.max_y
    }

    /// Whether `other` lies entirely inside.
    pub fn contains_bounds(&self, other: &Bounds) -> bool {
        other.min_x >= self.min_x
            && other.max_x <= self.max_x
            && other.min_y >= self.min_y
            && other.max_y <= self.max_y
    }

    /// Whether the two rectangles share some area.
    pub fn overlaps(&self, other: &Bounds) -> bool {
        self.min_x < other.max_x
            && other.min_x < self.max_x
            && self.min_y < other.max_y
            && other.min_y < self.max_y
    }

    /// Whether the two rectangles do not overlap but share an edge segment of positive
    /// length: a walker can step from one into the other.
    pub fn touches(&self, other: &Bounds) -> bool {
        if self.overlaps(other) {
            return false;
        }
        let x_overlap = self.min_x < other.max_x && other.min_x < self.max_x;
        let y_overlap = self.min_y < other.max_y && other.min_y < self.max_y;
        (x_overlap && (self.max_y == other.min_y || other.max_y == self.min_y))
            || (y_overlap && (self.max_x == other.min_x || other.max_x == self.min_x))
    }

    /// Width in milli-units.
    pub fn width(&self) -> Coord {
        self.max_x.saturating_sub(self.min_x)
    }

    /// Height in milli-units.
    pub fn height(&self) -> Coord {
        self.max_y.saturating_sub(self.min_y)
    }

    /// The centre point.
    pub fn centre(&self) -> Position {
        Position::new(
            self.min_x + self.width() / 2,
            self.min_y + self.height() / 2,
        )
    }
}

/// A resource deposit in an area. Stock regenerates lazily: reading it at block `n`
/// adds `regen_per_block * (n - last_update)`, capped at `max`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceNode {
    /// Which resource.
    pub resource: ResourceId,
    /// Stock at `last_update`.
    pub amount: u32,
    /// The most the deposit holds.
    pub max: u32,
    /// Units regained per block.
    pub regen_per_block: u32,
    /// The block `amount` was measured at.
    #[serde(default)]
    pub last_update: BlockNumber,
}

impl ResourceNode {
    /// The stock at block `now`.
    pub fn amount_at(&self, now: BlockNumber) -> u32 {
        let elapsed = now.saturating_sub(self.last_update);
        self.amount
            .saturating_add(self.regen_per_block.saturating_mul(elapsed))
            .min(self.max)
    }
}

/// A world area.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Area {
    /// Its identifier.
    pub id: AreaId,
    /// Display name (UTF-8, at most [`MAX_NAME_LEN`] bytes).
    pub name: Vec<u8>,
    /// Its extent.
    pub bounds: Bounds,
    /// Active areas whose bounds touch this one.
    pub neighbours: Vec<AreaId>,
    /// The area this one was split from.
    pub parent: Option<AreaId>,
    /// The areas this one is split into (empty while it is active).
    pub children: Vec<AreaId>,
    /// The most players it holds at once.
    pub capacity: u32,
    /// Its resource deposits.
    pub resources: Vec<ResourceNode>,
    /// Whether players can be in it (false once split, until merged back).
    pub active: bool,
}

/// The committee serving an area: a primary and replicas, all distinct active validators.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct AreaAuthority {
    /// The area.
    pub area_id: AreaId,
    /// Orders the area's fast lane.
    pub primary: AccountId32,
    /// Back the primary up and take over on a view change.
    pub replicas: Vec<AccountId32>,
    /// Bumped on every change of the committee.
    pub version: u64,
    /// The block of the last change.
    pub last_update: BlockNumber,
}

impl AreaAuthority {
    /// Primary first, then replicas.
    pub fn members(&self) -> Vec<AccountId32> {
        let mut members = Vec::with_capacity(1 + self.replicas.len());
        members.push(self.primary.clone());
        members.extend(self.replicas.iter().cloned());
        members
    }
}

/// A validator eligible for area committees, as staking reports it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Candidate {
    /// The validator.
    pub who: AccountId32,
    /// Its total backing this era.
    pub stake: Balance,
    /// Its trust score, parts per billion.
    pub trust: u32,
}

/// A change of the map made at an era change, which the pallets holding positioned
/// things (players, structures, NPCs) must follow.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum AreaChange {
    /// `parent` was split into `children`; everything in `parent` moves to the child
    /// whose bounds contain its position.
    Split {
        /// The split area, now inactive.
        parent: AreaId,
        /// Its new sub-areas.
        children: Vec<AreaId>,
    },
    /// `children` were merged back into `into`.
    Merged {
        /// The merged sub-areas, now inactive.
        children: Vec<AreaId>,
        /// Their parent, active again.
        into: AreaId,
    },
}

/// A split or merge the chain decided on, before it is made.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase")]
pub enum Reshape {
    /// Split the active area into its quadrants.
    #[codec(index = 0)]
    Split {
        /// The area.
        area: AreaId,
    },
    /// Merge the quadrants of the split area back into it.
    #[codec(index = 1)]
    Merge {
        /// The split area.
        parent: AreaId,
    },
}

/// A reshape waiting for the fast lanes of the areas it ends (see [`schedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ScheduledReshape {
    /// The reshape.
    pub reshape: Reshape,
    /// The block that scheduled it.
    pub since: BlockNumber,
}

/// The most areas (active or not) stored at once.
pub const MAX_AREAS: usize = 4096;
/// The shortest side of an area made by a split: an area splits only when both its
/// sides are at least twice this.
pub const MIN_SIDE: Coord = 10 * UNIT;
/// The world's edge: every coordinate of an area lies in `[-MAX_COORD, MAX_COORD]`, so
/// widths, centres and areas never overflow.
pub const MAX_COORD: Coord = 1 << 40;
/// The most validators considered for committees; beyond it the largest stakes win.
pub const MAX_CANDIDATES: usize = 256;
/// The most reshapes waiting at once ([`Scheduled`]).
pub const MAX_SCHEDULED: usize = 2 * MAX_RESHAPES_PER_ERA;
/// The most splits, and separately the most merges, one era change performs; the rest
/// wait for the next era.
pub const MAX_RESHAPES_PER_ERA: usize = 64;
/// Committee size when none was configured.
pub const DEFAULT_COMMITTEE_SIZE: u8 = 3;
/// Load (actions per era) at which an area splits, when none was configured.
pub const DEFAULT_SPLIT_THRESHOLD: u32 = 10_000;
/// Total load of a split area's children below which they merge back, when none was
/// configured.
pub const DEFAULT_MERGE_THRESHOLD: u32 = 1_000;
/// Parts per billion: full trust.
pub const PPB: u32 = 1_000_000_000;
/// How many levels of splits [`spawn_point`] follows at most; `MAX_COORD` and
/// `MIN_SIDE` allow far fewer, so this only guards against corrupt state.
const MAX_SPLIT_DEPTH: usize = 64;

storage! { pallet "Areas";
    /// Every area ever created, active or not.
    pub Areas: map Twox64Concat, AreaId => Area;
    /// The id the next created area gets.
    pub NextAreaId: value AreaId;
    /// Each active area's committee.
    pub Authorities: map Twox64Concat, AreaId => AreaAuthority;
    /// Actions recorded in each area during the current era.
    pub Load: map Twox64Concat, AreaId => u32;
    /// Where new players spawn.
    pub StartingArea: value AreaId;
    /// The era the pallet last saw (pushed by the runtime at each era change).
    pub CurrentEra: value u32;
    /// Target committee size, 3..=5 (default [`DEFAULT_COMMITTEE_SIZE`]).
    pub CommitteeSize: value u8;
    /// Load at which an active area splits (default [`DEFAULT_SPLIT_THRESHOLD`]).
    pub SplitThreshold: value u32;
    /// Total children load below which a split area merges back (default
    /// [`DEFAULT_MERGE_THRESHOLD`]).
    pub MergeThreshold: value u32;
    /// The eligible validators of the last rebalance (deduplicated, sorted by account),
    /// used to staff areas that root creates, splits or merges between era changes.
    pub Candidates: value Vec<Candidate>;
    /// The last committee version of an existing area that currently has no committee
    /// (split, or no candidates), so that its next committee continues the numbering and
    /// fast-lane certificates of two committees never share a version.
    pub RetiredVersions: map Twox64Concat, AreaId => u64;
    /// Splits and merges root forced since the runtime last drained them with
    /// [`take_pending_changes`].
    pub PendingChanges: value Vec<AreaChange>;
    /// Splits and merges that wait for the fast lanes of the areas they end, oldest
    /// first (at most [`MAX_SCHEDULED`]).
    pub Scheduled: value Vec<ScheduledReshape>;
}

arceon_support::pallet_error! {
    /// Areas errors.
    pub enum Error for pallet PALLET_INDEX {
        /// No area has this id.
        UnknownArea,
        /// The area has been split or merged away; nothing can be in it.
        AreaInactive,
        /// The bounds are empty or inverted.
        InvalidBounds,
        /// The bounds overlap another active area.
        OverlappingArea,
        /// The name is empty, too long or not UTF-8.
        InvalidName,
        /// Too many neighbours or resources.
        TooMany,
        /// The resource is not found in this area.
        UnknownResource,
        /// The deposit holds less than was asked for.
        ResourceDepleted,
        /// The area is full.
        AreaFull,
        /// The map already holds [`MAX_AREAS`] areas (or ran out of ids).
        TooManyAreas,
        /// A side of the area is shorter than `2 * MIN_SIDE`: it cannot be split.
        AreaTooSmall,
        /// The area is active or has no children: there is nothing to merge.
        NotSplit,
        /// A child of the area is missing, inactive or split itself.
        NotMergeable,
        /// A resource deposit is empty (`max == 0`), over-full (`amount > max`) or listed
        /// twice.
        InvalidResource,
        /// The merge threshold must be below the split threshold, which must be positive.
        InvalidThresholds,
        /// Committees have 3 to 5 members.
        InvalidCommitteeSize,
        /// The area already waits for a split or merge, or too many do.
        ReshapeWaiting,
    }
}

/// Areas events.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// Root created an area.
    #[codec(index = 0)]
    AreaCreated {
        /// The new area.
        id: AreaId,
        /// Its name.
        name: Vec<u8>,
    },
    /// Root changed an area's name, capacity or resources.
    #[codec(index = 1)]
    AreaUpdated {
        /// The area.
        id: AreaId,
    },
    /// An area's committee changed.
    #[codec(index = 2)]
    CommitteeChanged {
        /// The area.
        area: AreaId,
        /// Its primary.
        primary: AccountId32,
        /// Its replicas, in view-change order.
        replicas: Vec<AccountId32>,
        /// The committee's new version.
        version: u64,
    },
    /// An area was split into four quadrants.
    #[codec(index = 3)]
    AreaSplit {
        /// The split area, now inactive.
        parent: AreaId,
        /// Its quadrants: south-west, south-east, north-west, north-east.
        children: Vec<AreaId>,
    },
    /// Quadrants were merged back into their parent.
    #[codec(index = 4)]
    AreaMerged {
        /// The parent, active again.
        into: AreaId,
        /// The removed quadrants.
        children: Vec<AreaId>,
    },
    /// An area's committee has fewer than [`MIN_COMMITTEE`] members because too few
    /// validators are eligible; reported at every rebalance while it lasts.
    #[codec(index = 5)]
    CommitteeUnderstaffed {
        /// The area.
        area: AreaId,
        /// How many members it has.
        members: u32,
    },
    /// Root moved the spawn area.
    #[codec(index = 6)]
    StartingAreaSet {
        /// The new starting area.
        id: AreaId,
    },
    /// Root changed the split and merge thresholds.
    #[codec(index = 7)]
    ThresholdsSet {
        /// Load at which an area splits.
        split: u32,
        /// Total children load below which they merge.
        merge: u32,
    },
    /// Root changed the committee size (effective at the next rebalance).
    #[codec(index = 8)]
    CommitteeSizeSet {
        /// The new target size.
        size: u8,
    },
    /// A split or merge was decided; it is made once the fast lanes of the areas it
    /// ends have ended (see [`schedule`]).
    #[codec(index = 9)]
    ReshapeScheduled {
        /// The reshape.
        reshape: Reshape,
        /// The areas whose lanes end first.
        ending: Vec<AreaId>,
    },
}

/// Areas calls (all root only).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Create an area on free land; its neighbours are the active areas it touches.
    #[codec(index = 0)]
    CreateArea {
        /// Display name (UTF-8, 1..=[`MAX_NAME_LEN`] bytes).
        name: Vec<u8>,
        /// Its extent (inside `[-MAX_COORD, MAX_COORD]`, overlapping no area).
        bounds: Bounds,
        /// The most players it holds.
        capacity: u32,
        /// Its deposits (measured now: `last_update` is ignored).
        resources: Vec<ResourceNode>,
    },
    /// Change an active area's name, capacity or resources.
    #[codec(index = 1)]
    UpdateArea {
        /// The area.
        id: AreaId,
        /// New name.
        name: Option<Vec<u8>>,
        /// New capacity.
        capacity: Option<u32>,
        /// New deposits, replacing all the old ones.
        resources: Option<Vec<ResourceNode>>,
    },
    /// Move the spawn area.
    #[codec(index = 2)]
    SetStartingArea {
        /// An active area.
        id: AreaId,
    },
    /// Split an active area into its four quadrants now.
    #[codec(index = 3)]
    ForceSplit {
        /// The area.
        id: AreaId,
    },
    /// Merge a split area's quadrants back into it now.
    #[codec(index = 4)]
    ForceMerge {
        /// The split area.
        parent: AreaId,
    },
    /// Set the load thresholds of automatic splitting and merging.
    #[codec(index = 5)]
    SetThresholds {
        /// Load (actions per era) at which an area splits; positive.
        split: u32,
        /// Total children load below which they merge; below `split`.
        merge: u32,
    },
    /// Set the committee size (3..=5), effective at the next era's rebalance.
    #[codec(index = 6)]
    SetCommitteeSize {
        /// The new target size.
        size: u8,
    },
}

/// Weights of this pallet's calls (reference time in picoseconds, proof size in
/// bytes). `arceon-node benchmark pallet` measures each call; the declared values keep
/// a margin of about 4x over the measurement (on the 2-core reference machine, an
/// in-memory map of 4,000 areas: 2-6 us to read one area during a scan, 0.8 us to score
/// one candidate for one area, 9 us for `update_area`). Calls that change the map scan
/// every stored area to check overlaps and adjacency, so they are priced for
/// [`crate::MAX_AREAS`] areas and for ranking [`crate::MAX_CANDIDATES`] validators for
/// each area they staff.
pub mod weights {
    use arceon_support::Weight;

    /// Reading and checking one stored area during a scan of the map.
    pub const PER_AREA: Weight = Weight::from_parts(12_000_000, 256);
    /// Hashing and scoring one candidate for one area.
    pub const PER_CANDIDATE_SCORE: Weight = Weight::from_parts(3_000_000, 0);
    /// Writing one area (a new area, a changed neighbour list, a committee).
    pub const PER_WRITE: Weight = Weight::from_parts(40_000_000, 256);
    /// A scan of the whole map at its largest.
    pub const MAP_SCAN: Weight = Weight::from_parts(
        PER_AREA.ref_time * crate::MAX_AREAS as u64,
        PER_AREA.proof_size * crate::MAX_AREAS as u64,
    );

    /// Ranking `candidates` validators for one area.
    pub const fn rank(candidates: usize) -> Weight {
        Weight::from_parts(
            PER_CANDIDATE_SCORE.ref_time * candidates as u64,
            64 * candidates as u64,
        )
    }

    /// A map change: a scan, `writes` area writes and `staffed` committees ranked over
    /// [`crate::MAX_CANDIDATES`].
    const fn reshape(writes: u64, staffed: u64) -> Weight {
        Weight::from_parts(
            MAP_SCAN.ref_time
                + PER_WRITE.ref_time * writes
                + rank(crate::MAX_CANDIDATES).ref_time * staffed,
            MAP_SCAN.proof_size
                + PER_WRITE.proof_size * writes
                + rank(crate::MAX_CANDIDATES).proof_size,
        )
    }

    /// `create_area`: a map scan, the area and up to 16 neighbours written, one committee.
    pub const CREATE_AREA: Weight = reshape(1 + crate::MAX_NEIGHBOURS as u64, 1);
    /// `update_area`: one read, one write.
    pub const UPDATE_AREA: Weight = Weight::from_parts(40_000_000, 4_096);
    /// `set_starting_area`: one read, one write.
    pub const SET_STARTING_AREA: Weight = Weight::from_parts(30_000_000, 1_024);
    /// `force_split`: a map scan, parent, 4 quadrants and up to 16 neighbours written,
    /// committees for the 4 quadrants.
    pub const FORCE_SPLIT: Weight = reshape(5 + crate::MAX_NEIGHBOURS as u64, 4);
    /// `force_merge`: a map scan, 4 removals, the parent and up to 16 neighbours written,
    /// one committee.
    pub const FORCE_MERGE: Weight = reshape(5 + crate::MAX_NEIGHBOURS as u64, 1);
    /// `set_thresholds`: two writes.
    pub const SET_THRESHOLDS: Weight = Weight::from_parts(20_000_000, 0);
    /// `set_committee_size`: one write.
    pub const SET_COMMITTEE_SIZE: Weight = Weight::from_parts(15_000_000, 0);

    /// [`crate::rebalance`] over `areas` areas and `candidates` validators, at worst
    /// (every committee restaffed from scratch; when few validators change, most areas
    /// only cost their reads).
    pub const fn rebalance(areas: usize, candidates: usize) -> Weight {
        let per_area = PER_AREA.ref_time + PER_WRITE.ref_time + rank(candidates).ref_time;
        Weight::from_parts(
            per_area * areas as u64,
            (PER_AREA.proof_size + PER_WRITE.proof_size) * areas as u64
                + rank(candidates).proof_size,
        )
    }

    /// [`crate::new_era`] over `areas` areas and `candidates` validators, at worst: a map
    /// scan with each area's load, [`crate::MAX_RESHAPES_PER_ERA`] splits and as many
    /// merges, then [`rebalance`] over the grown map. The runtime adds it to its era
    /// hook's weight.
    pub const fn new_era(areas: usize, candidates: usize) -> Weight {
        let reshapes = 2 * crate::MAX_RESHAPES_PER_ERA as u64;
        let grown = areas + 4 * crate::MAX_RESHAPES_PER_ERA;
        let rebalanced = rebalance(grown, candidates);
        Weight::from_parts(
            2 * PER_AREA.ref_time * areas as u64
                + reshapes * PER_WRITE.ref_time * (5 + crate::MAX_NEIGHBOURS as u64)
                + rebalanced.ref_time,
            2 * PER_AREA.proof_size * areas as u64 + rebalanced.proof_size,
        )
    }

    /// [`new_era`] at the largest map and candidate set.
    pub const NEW_ERA: Weight = new_era(crate::MAX_AREAS, crate::MAX_CANDIDATES);
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::CreateArea { .. } => weights::CREATE_AREA,
            Call::UpdateArea { .. } => weights::UPDATE_AREA,
            Call::SetStartingArea { .. } => weights::SET_STARTING_AREA,
            Call::ForceSplit { .. } => weights::FORCE_SPLIT,
            Call::ForceMerge { .. } => weights::FORCE_MERGE,
            Call::SetThresholds { .. } => weights::SET_THRESHOLDS,
            Call::SetCommitteeSize { .. } => weights::SET_COMMITTEE_SIZE,
        }
    }

    /// Executes the call. Runs inside the executive's transactional layer, so an error
    /// discards every write the call made.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        ensure_root(origin)?;
        let now = arceon_pallet_system::Number::get_or_default(ext);
        match self {
            Call::CreateArea {
                name,
                bounds,
                capacity,
                resources,
            } => create_area(ext, name, bounds, capacity, resources, now).map(|_| ()),
            Call::UpdateArea {
                id,
                name,
                capacity,
                resources,
            } => update_area(ext, id, name, capacity, resources, now),
            Call::SetStartingArea { id } => set_starting_area(ext, id),
            Call::ForceSplit { id } => force_split(ext, id, now).map(|_| ()),
            Call::ForceMerge { parent } => force_merge(ext, parent, now).map(|_| ()),
            Call::SetThresholds { split, merge } => set_thresholds(ext, split, merge),
            Call::SetCommitteeSize { size } => set_committee_size(ext, size),
        }
    }
}

/// Deposits an areas event (encoded with this pallet's index).
pub fn deposit_event<E: Encode>(ext: &mut Ext, event: &E) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The area with this id.
pub fn area(ext: &mut Ext, id: AreaId) -> Option<Area> {
    Areas::get(ext, &id)
}

/// The area with this id, if it is active.
pub fn active_area(ext: &mut Ext, id: AreaId) -> Result<Area, DispatchError> {
    let area = Areas::get(ext, &id).ok_or(Error::UnknownArea)?;
    if !area.active {
        return Err(Error::AreaInactive.into());
    }
    Ok(area)
}

/// Where new players spawn: the starting area's centre.
pub fn spawn_point(ext: &mut Ext) -> Result<(AreaId, Position), DispatchError> {
    let id = StartingArea::get(ext).ok_or(Error::UnknownArea)?;
    let mut area = Areas::get(ext, &id).ok_or(Error::UnknownArea)?;
    // The starting area may have been split: spawn in the child holding its centre.
    let centre = area.bounds.centre();
    // Bounded so that corrupt parent links can never loop forever.
    for _ in 0..MAX_SPLIT_DEPTH {
        if area.active {
            return Ok((area.id, centre));
        }
        area = area
            .children
            .iter()
            .filter_map(|child| Areas::get(ext, child))
            .find(|child| child.bounds.contains(&centre))
            .ok_or(Error::AreaInactive)?;
    }
    Err(Error::AreaInactive.into())
}

/// Which of `from` or its neighbours contains `position`; `None` when neither does.
pub fn area_for_move(ext: &mut Ext, from: &Area, position: &Position) -> Option<AreaId> {
    if from.bounds.contains(position) {
        return Some(from.id);
    }
    from.neighbours
        .iter()
        .filter_map(|id| Areas::get(ext, id))
        .find(|area| area.active && area.bounds.contains(position))
        .map(|area| area.id)
}

/// The active area containing `position`, searched among `candidates`.
pub fn locate(ext: &mut Ext, candidates: &[AreaId], position: &Position) -> Option<AreaId> {
    candidates
        .iter()
        .filter_map(|id| Areas::get(ext, id))
        .find(|area| area.active && area.bounds.contains(position))
        .map(|area| area.id)
}

/// Records one player action in `area` for load-based splitting.
pub fn note_action(ext: &mut Ext, area: AreaId) {
    Load::mutate(ext, &area, |load| *load = load.saturating_add(1));
}

/// The stock of `resource` in `area` at block `now`.
pub fn resource_amount(ext: &mut Ext, area: AreaId, resource: ResourceId, now: BlockNumber) -> u32 {
    Areas::get(ext, &area)
        .and_then(|area| {
            area.resources
                .iter()
                .find(|node| node.resource == resource)
                .map(|node| node.amount_at(now))
        })
        .unwrap_or(0)
}

/// Takes `amount` of `resource` from `area`'s deposit at block `now`.
pub fn take_resource(
    ext: &mut Ext,
    area_id: AreaId,
    resource: ResourceId,
    amount: u32,
    now: BlockNumber,
) -> Result<(), DispatchError> {
    let mut area = active_area(ext, area_id)?;
    let node = area
        .resources
        .iter_mut()
        .find(|node| node.resource == resource)
        .ok_or(Error::UnknownResource)?;
    let available = node.amount_at(now);
    if available < amount {
        return Err(Error::ResourceDepleted.into());
    }
    node.amount = available - amount;
    node.last_update = now;
    Areas::insert(ext, &area_id, &area);
    Ok(())
}

/// The committee of `area`.
pub fn authority(ext: &mut Ext, area: AreaId) -> Option<AreaAuthority> {
    Authorities::get(ext, &area)
}

/// Every area, active or not, in id order.
pub fn all_areas(ext: &mut Ext) -> Vec<Area> {
    let mut areas: Vec<Area> = Areas::iter(ext).into_iter().map(|(_, area)| area).collect();
    areas.sort_by_key(|area| area.id);
    areas
}

/// The target committee size, clamped to `MIN_COMMITTEE..=MAX_COMMITTEE`.
pub fn committee_size(ext: &mut Ext) -> u8 {
    CommitteeSize::get(ext)
        .unwrap_or(DEFAULT_COMMITTEE_SIZE)
        .clamp(MIN_COMMITTEE as u8, MAX_COMMITTEE as u8)
}

/// Load at which an active area splits.
pub fn split_threshold(ext: &mut Ext) -> u32 {
    SplitThreshold::get(ext).unwrap_or(DEFAULT_SPLIT_THRESHOLD)
}

/// Total children load below which a split area merges back.
pub fn merge_threshold(ext: &mut Ext) -> u32 {
    MergeThreshold::get(ext).unwrap_or(DEFAULT_MERGE_THRESHOLD)
}

/// The era the pallet last saw.
pub fn current_era(ext: &mut Ext) -> u32 {
    CurrentEra::get_or_default(ext)
}

/// Actions recorded in `area` during the current era.
pub fn load(ext: &mut Ext, area: AreaId) -> u32 {
    Load::get_or_default(ext, &area)
}

/// The validators eligible at the last rebalance.
pub fn candidates(ext: &mut Ext) -> Vec<Candidate> {
    Candidates::get_or_default(ext)
}

/// Removes and returns the splits and merges root forced since the last call, in order.
/// The runtime calls it after dispatching an areas call (or in its block-end hook) and
/// moves players, structures and NPCs as it does for [`new_era`]'s changes.
pub fn take_pending_changes(ext: &mut Ext) -> Vec<AreaChange> {
    let changes = PendingChanges::get_or_default(ext);
    if !changes.is_empty() {
        PendingChanges::kill(ext);
    }
    changes
}

/// Whether every coordinate of `bounds` lies inside the world and it has a positive area.
pub fn bounds_in_world(bounds: &Bounds) -> bool {
    let inside = |c: Coord| (-MAX_COORD..=MAX_COORD).contains(&c);
    bounds.is_valid()
        && inside(bounds.min_x)
        && inside(bounds.min_y)
        && inside(bounds.max_x)
        && inside(bounds.max_y)
}

/// Whether `name` is a usable area name: 1..=[`MAX_NAME_LEN`] bytes of UTF-8.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && std::str::from_utf8(name).is_ok()
}

/// Checks a list of deposits: at most [`MAX_RESOURCES`], each non-empty
/// (`max > 0`), not over-full and listed once.
pub fn validate_resources(resources: &[ResourceNode]) -> Result<(), Error> {
    if resources.len() > MAX_RESOURCES {
        return Err(Error::TooMany);
    }
    let mut seen = BTreeSet::new();
    for node in resources {
        if node.max == 0 || node.amount > node.max || !seen.insert(node.resource) {
            return Err(Error::InvalidResource);
        }
    }
    Ok(())
}

/// Deposits measured at block `now`.
fn measured_at(resources: Vec<ResourceNode>, now: BlockNumber) -> Vec<ResourceNode> {
    resources
        .into_iter()
        .map(|node| ResourceNode {
            last_update: now,
            ..node
        })
        .collect()
}

/// Creates an area at block `now` (see [`Call::CreateArea`]) and staffs its committee
/// from the last rebalance's candidates. Returns its id.
pub fn create_area(
    ext: &mut Ext,
    name: Vec<u8>,
    bounds: Bounds,
    capacity: u32,
    resources: Vec<ResourceNode>,
    now: BlockNumber,
) -> Result<AreaId, DispatchError> {
    if !valid_name(&name) {
        return Err(Error::InvalidName.into());
    }
    if !bounds_in_world(&bounds) {
        return Err(Error::InvalidBounds.into());
    }
    validate_resources(&resources)?;
    let mut world = map::Map::load(ext);
    let id = world.create(name.clone(), bounds, capacity, measured_at(resources, now))?;
    world.store(ext);
    deposit_event(ext, &Event::AreaCreated { id, name });
    committee::staff(ext, &[id], now);
    Ok(id)
}

/// Changes an active area's name, capacity or deposits (see [`Call::UpdateArea`]).
pub fn update_area(
    ext: &mut Ext,
    id: AreaId,
    name: Option<Vec<u8>>,
    capacity: Option<u32>,
    resources: Option<Vec<ResourceNode>>,
    now: BlockNumber,
) -> DispatchResult {
    let mut area = active_area(ext, id)?;
    if let Some(name) = name {
        if !valid_name(&name) {
            return Err(Error::InvalidName.into());
        }
        area.name = name;
    }
    if let Some(capacity) = capacity {
        area.capacity = capacity;
    }
    if let Some(resources) = resources {
        validate_resources(&resources)?;
        area.resources = measured_at(resources, now);
    }
    Areas::insert(ext, &id, &area);
    deposit_event(ext, &Event::AreaUpdated { id });
    Ok(())
}

/// Moves the spawn area to the active area `id`.
pub fn set_starting_area(ext: &mut Ext, id: AreaId) -> DispatchResult {
    active_area(ext, id)?;
    StartingArea::put(ext, &id);
    deposit_event(ext, &Event::StartingAreaSet { id });
    Ok(())
}

/// Sets the split and merge thresholds: `split > 0` and `merge < split`, so that one
/// era's load can never both split an area and merge it back.
pub fn set_thresholds(ext: &mut Ext, split: u32, merge: u32) -> DispatchResult {
    if split == 0 || merge >= split {
        return Err(Error::InvalidThresholds.into());
    }
    SplitThreshold::put(ext, &split);
    MergeThreshold::put(ext, &merge);
    deposit_event(ext, &Event::ThresholdsSet { split, merge });
    Ok(())
}

/// Sets the target committee size (3..=5); committees grow or shrink at the next
/// rebalance.
pub fn set_committee_size(ext: &mut Ext, size: u8) -> DispatchResult {
    if !(MIN_COMMITTEE as u8..=MAX_COMMITTEE as u8).contains(&size) {
        return Err(Error::InvalidCommitteeSize.into());
    }
    CommitteeSize::put(ext, &size);
    deposit_event(ext, &Event::CommitteeSizeSet { size });
    Ok(())
}

/// Splits the active area `id` into its quadrants now, staffs them from the last
/// rebalance's candidates and queues the change for [`take_pending_changes`].
pub fn force_split(
    ext: &mut Ext,
    id: AreaId,
    now: BlockNumber,
) -> Result<AreaChange, DispatchError> {
    let change = reshape_now(ext, Reshape::Split { area: id }, now)?;
    PendingChanges::mutate(ext, |pending| pending.push(change.clone()));
    Ok(change)
}

/// Merges the quadrants of the split area `parent` back into it now, staffs it from the
/// last rebalance's candidates and queues the change for [`take_pending_changes`].
pub fn force_merge(
    ext: &mut Ext,
    parent: AreaId,
    now: BlockNumber,
) -> Result<AreaChange, DispatchError> {
    let change = reshape_now(ext, Reshape::Merge { parent }, now)?;
    PendingChanges::mutate(ext, |pending| pending.push(change.clone()));
    Ok(change)
}

/// Makes `reshape` now: the map changes, the per-area items follow, the new or
/// re-activated areas are staffed from the last rebalance's candidates. The caller
/// moves the residents (the runtime's world module).
pub fn reshape_now(
    ext: &mut Ext,
    reshape: Reshape,
    now: BlockNumber,
) -> Result<AreaChange, DispatchError> {
    let mut world = map::Map::load(ext);
    let (change, staffed) = match reshape {
        Reshape::Split { area } => {
            let children = world.split(area, now)?;
            let mut staffed = vec![area];
            staffed.extend(children.iter().copied());
            (
                AreaChange::Split {
                    parent: area,
                    children,
                },
                staffed,
            )
        }
        Reshape::Merge { parent } => {
            let children = world.merge(parent, now)?;
            (
                AreaChange::Merged {
                    children,
                    into: parent,
                },
                vec![parent],
            )
        }
    };
    world.store(ext);
    follow_change(ext, &change);
    committee::staff(ext, &staffed, now);
    Ok(change)
}

/// The areas whose fast lanes `reshape` ends: the area it splits, or the quadrants it
/// merges.
pub fn ending_of(ext: &mut Ext, reshape: &Reshape) -> Vec<AreaId> {
    match reshape {
        Reshape::Split { area } => vec![*area],
        Reshape::Merge { parent } => area(ext, *parent)
            .map(|area| area.children)
            .unwrap_or_default(),
    }
}

/// Every area whose lane a scheduled reshape ends.
pub fn ending_areas(ext: &mut Ext) -> BTreeSet<AreaId> {
    Scheduled::get_or_default(ext)
        .iter()
        .flat_map(|scheduled| ending_of(ext, &scheduled.reshape))
        .collect()
}

/// The reshapes waiting for their lanes, oldest first.
pub fn scheduled(ext: &mut Ext) -> Vec<ScheduledReshape> {
    Scheduled::get_or_default(ext)
}

/// Decides `reshape` without making it: it must be possible on the map as it is now,
/// and touch no area that already waits for one. The runtime makes it
/// ([`reshape_now`]) once the fast lanes of the areas it ends have ended, so that no
/// receipted lane action of theirs is lost.
pub fn schedule(ext: &mut Ext, reshape: Reshape, now: BlockNumber) -> DispatchResult {
    let waiting = ending_areas(ext);
    if ending_of(ext, &reshape)
        .iter()
        .any(|area| waiting.contains(area))
    {
        return Err(Error::ReshapeWaiting.into());
    }
    // The check of the reshape itself, on a map that is not stored.
    let mut world = map::Map::load(ext);
    match reshape {
        Reshape::Split { area } => world.split(area, now).map(|_| ())?,
        Reshape::Merge { parent } => world.merge(parent, now).map(|_| ())?,
    }
    if !push_scheduled(ext, reshape, now) {
        return Err(Error::ReshapeWaiting.into());
    }
    Ok(())
}

/// Queues `reshape` unless [`MAX_SCHEDULED`] already wait (an era's reshapes beyond it
/// wait for a later era); whether it was queued.
pub(crate) fn push_scheduled(ext: &mut Ext, reshape: Reshape, now: BlockNumber) -> bool {
    let queued = Scheduled::mutate(ext, |scheduled| {
        if scheduled.len() >= MAX_SCHEDULED {
            return false;
        }
        scheduled.push(ScheduledReshape {
            reshape,
            since: now,
        });
        true
    });
    if queued {
        let ending = ending_of(ext, &reshape);
        deposit_event(ext, &Event::ReshapeScheduled { reshape, ending });
    }
    queued
}

/// Gives each of `areas` a new committee version (the same members where they are still
/// eligible): a lane that ended for a reshape that could not be made starts again.
pub fn renew_committees(ext: &mut Ext, areas: &[AreaId], now: BlockNumber) {
    for area in areas {
        committee::retire(ext, *area);
    }
    committee::staff(ext, areas, now);
}

/// Takes `reshape` off the schedule (it is being made, or cannot be).
pub fn unschedule(ext: &mut Ext, reshape: &Reshape) {
    Scheduled::mutate(ext, |scheduled| {
        scheduled.retain(|waiting| waiting.reshape != *reshape)
    });
}

/// Brings the per-area items other than `Areas` in line with a split or merge that the
/// map has already stored, and deposits its event.
pub(crate) fn follow_change(ext: &mut Ext, change: &AreaChange) {
    match change {
        AreaChange::Split { parent, children } => {
            committee::retire(ext, *parent);
            // The quadrants start counting afresh; the parent can hold no one.
            Load::remove(ext, parent);
            deposit_event(
                ext,
                &Event::AreaSplit {
                    parent: *parent,
                    children: children.clone(),
                },
            );
        }
        AreaChange::Merged { children, into } => {
            let mut load = Load::get_or_default(ext, into);
            for child in children {
                load = load.saturating_add(Load::get_or_default(ext, child));
                Load::remove(ext, child);
                Authorities::remove(ext, child);
                RetiredVersions::remove(ext, child);
            }
            if load > 0 {
                Load::insert(ext, into, &load);
            }
            if StartingArea::get(ext).is_some_and(|start| children.contains(&start)) {
                StartingArea::put(ext, into);
            }
            deposit_event(
                ext,
                &Event::AreaMerged {
                    into: *into,
                    children: children.clone(),
                },
            );
        }
    }
}

/// One area of the genesis map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AreaConfig {
    /// Its id (ids need not be contiguous; new areas get ids above the largest).
    pub id: AreaId,
    /// Display name.
    pub name: String,
    /// Its extent.
    pub bounds: Bounds,
    /// Optional cross-check: when given it must list exactly the areas whose bounds
    /// touch this one (in any order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<Vec<AreaId>>,
    /// The most players it holds.
    pub capacity: u32,
    /// Its deposits.
    #[serde(default)]
    pub resources: Vec<ResourceNode>,
}

/// Genesis: the initial map and the pallet's parameters. Committees are not built here:
/// the runtime calls [`rebalance`] with the genesis validators.
///
/// ```json
/// {"areas":[{"id":0,"name":"Meadow","bounds":{"minX":0,"minY":0,"maxX":100000,"maxY":100000},
///   "capacity":1000,"resources":[{"resource":1,"amount":500,"max":500,"regenPerBlock":1}]}],
///  "startingArea":0,"committeeSize":3,"splitThreshold":10000,"mergeThreshold":1000}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// The areas, all active.
    #[serde(default)]
    pub areas: Vec<AreaConfig>,
    /// Where players spawn; defaults to the area with the lowest id.
    #[serde(default)]
    pub starting_area: Option<AreaId>,
    /// Target committee size, 3..=5.
    #[serde(default = "default_committee_size")]
    pub committee_size: u8,
    /// Load at which an area splits.
    #[serde(default = "default_split_threshold")]
    pub split_threshold: u32,
    /// Total children load below which they merge back.
    #[serde(default = "default_merge_threshold")]
    pub merge_threshold: u32,
}

fn default_committee_size() -> u8 {
    DEFAULT_COMMITTEE_SIZE
}

fn default_split_threshold() -> u32 {
    DEFAULT_SPLIT_THRESHOLD
}

fn default_merge_threshold() -> u32 {
    DEFAULT_MERGE_THRESHOLD
}

impl Default for GenesisConfig {
    fn default() -> Self {
        GenesisConfig {
            areas: Vec::new(),
            starting_area: None,
            committee_size: DEFAULT_COMMITTEE_SIZE,
            split_threshold: DEFAULT_SPLIT_THRESHOLD,
            merge_threshold: DEFAULT_MERGE_THRESHOLD,
        }
    }
}

/// Why a genesis map is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// Two areas share an id.
    #[error("area id {0} is used twice")]
    DuplicateId(AreaId),
    /// An area's id is `u32::MAX`, leaving no id for the next area.
    #[error("area id {0} leaves no id for new areas")]
    IdOutOfRange(AreaId),
    /// More than [`MAX_AREAS`] areas.
    #[error("more than {MAX_AREAS} areas")]
    TooManyAreas,
    /// An area's bounds are empty, inverted or outside the world.
    #[error("area {0} has empty, inverted or out-of-world bounds")]
    InvalidBounds(AreaId),
    /// Two areas overlap.
    #[error("areas {0} and {1} overlap")]
    Overlap(AreaId, AreaId),
    /// An area's given neighbours are not the areas touching it.
    #[error("area {area} lists neighbours other than the areas touching it ({expected:?})")]
    BadNeighbours {
        /// The area.
        area: AreaId,
        /// The areas that touch it.
        expected: Vec<AreaId>,
    },
    /// An area touches more than [`MAX_NEIGHBOURS`] others.
    #[error("area {0} touches more than {MAX_NEIGHBOURS} areas")]
    TooManyNeighbours(AreaId),
    /// An area's name is empty or longer than [`MAX_NAME_LEN`] bytes.
    #[error("area {0} has an empty or too long name")]
    InvalidName(AreaId),
    /// An area's deposits are too many, empty, over-full or repeated.
    #[error("area {0} has invalid resources")]
    InvalidResources(AreaId),
    /// The starting area is not one of the areas.
    #[error("starting area {0} is not a genesis area")]
    UnknownStartingArea(AreaId),
    /// The committee size is outside 3..=5.
    #[error("committee size {0} is outside 3..=5")]
    InvalidCommitteeSize(u8),
    /// The thresholds do not satisfy `0 <= merge < split`.
    #[error("merge threshold {merge} must be below split threshold {split}")]
    InvalidThresholds {
        /// Split threshold.
        split: u32,
        /// Merge threshold.
        merge: u32,
    },
}

impl arceon_support::BuildGenesis for GenesisConfig {
    type Error = GenesisError;

    /// Checks the map and parameters and writes them.
    fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        if !(MIN_COMMITTEE as u8..=MAX_COMMITTEE as u8).contains(&self.committee_size) {
            return Err(GenesisError::InvalidCommitteeSize(self.committee_size));
        }
        if self.split_threshold == 0 || self.merge_threshold >= self.split_threshold {
            return Err(GenesisError::InvalidThresholds {
                split: self.split_threshold,
                merge: self.merge_threshold,
            });
        }
        if self.areas.len() > MAX_AREAS {
            return Err(GenesisError::TooManyAreas);
        }
        let mut ids = BTreeSet::new();
        for config in &self.areas {
            if !ids.insert(config.id) {
                return Err(GenesisError::DuplicateId(config.id));
            }
            if config.id == AreaId::MAX {
                return Err(GenesisError::IdOutOfRange(config.id));
            }
            if !valid_name(config.name.as_bytes()) {
                return Err(GenesisError::InvalidName(config.id));
            }
            if !bounds_in_world(&config.bounds) {
                return Err(GenesisError::InvalidBounds(config.id));
            }
            if validate_resources(&config.resources).is_err() {
                return Err(GenesisError::InvalidResources(config.id));
            }
        }
        let mut sorted: Vec<&AreaConfig> = self.areas.iter().collect();
        sorted.sort_by_key(|config| config.id);
        let mut neighbours: Vec<Vec<AreaId>> = vec![Vec::new(); sorted.len()];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate().skip(i + 1) {
                if a.bounds.overlaps(&b.bounds) {
                    return Err(GenesisError::Overlap(a.id, b.id));
                }
                if a.bounds.touches(&b.bounds) {
                    neighbours[i].push(b.id);
                    neighbours[j].push(a.id);
                }
            }
        }
        for (config, touching) in sorted.iter().zip(neighbours.iter_mut()) {
            touching.sort_unstable();
            if touching.len() > MAX_NEIGHBOURS {
                return Err(GenesisError::TooManyNeighbours(config.id));
            }
            if let Some(given) = &config.neighbours {
                let mut given = given.clone();
                given.sort_unstable();
                if given != *touching {
                    return Err(GenesisError::BadNeighbours {
                        area: config.id,
                        expected: touching.clone(),
                    });
                }
            }
        }
        let starting = match self.starting_area {
            Some(id) if !ids.contains(&id) => return Err(GenesisError::UnknownStartingArea(id)),
            Some(id) => Some(id),
            None => ids.first().copied(),
        };
        for (config, touching) in sorted.iter().zip(neighbours) {
            let area = Area {
                id: config.id,
                name: config.name.as_bytes().to_vec(),
                bounds: config.bounds,
                neighbours: touching,
                parent: None,
                children: Vec::new(),
                capacity: config.capacity,
                resources: config.resources.clone(),
                active: true,
            };
            Areas::insert(ext, &config.id, &area);
        }
        let next_id = ids.last().map_or(0, |id| id + 1);
        NextAreaId::put(ext, &next_id);
        if let Some(id) = starting {
            StartingArea::put(ext, &id);
        }
        CurrentEra::put(ext, &0);
        CommitteeSize::put(ext, &self.committee_size);
        SplitThreshold::put(ext, &self.split_threshold);
        MergeThreshold::put(ext, &self.merge_threshold);
        Ok(())
    }
}

/// Checks the pallet's invariants (see the crate documentation); `Err` names the first
/// violation found. Reads every area and committee: for tests and the runtime's
/// consistency checks, not for block execution.
pub fn check_invariants(ext: &mut Ext) -> Result<(), String> {
    let stored = Areas::iter(ext);
    if stored.len() > MAX_AREAS {
        return Err(format!(
            "{} areas stored, more than {MAX_AREAS}",
            stored.len()
        ));
    }
    let next_id = NextAreaId::get_or_default(ext);
    let mut areas = std::collections::BTreeMap::new();
    for (key, area) in stored {
        if key != area.id {
            return Err(format!("area stored under {key} has id {}", area.id));
        }
        if area.id >= next_id {
            return Err(format!(
                "area {} is not below NextAreaId {next_id}",
                area.id
            ));
        }
        check_area_fields(&area)?;
        areas.insert(area.id, area);
    }
    // Overlaps and adjacency among active areas, pairwise.
    let active: Vec<&Area> = areas.values().filter(|area| area.active).collect();
    let mut touching: std::collections::BTreeMap<AreaId, Vec<AreaId>> =
        active.iter().map(|area| (area.id, Vec::new())).collect();
    for (i, a) in active.iter().enumerate() {
        for b in active.iter().skip(i + 1) {
            if a.bounds.overlaps(&b.bounds) {
                return Err(format!("active areas {} and {} overlap", a.id, b.id));
            }
            if a.bounds.touches(&b.bounds) {
                touching.entry(a.id).or_default().push(b.id);
                touching.entry(b.id).or_default().push(a.id);
            }
        }
    }
    for area in areas.values() {
        if area.active {
            if !area.children.is_empty() {
                return Err(format!("active area {} has children", area.id));
            }
            let mut expected = touching.remove(&area.id).unwrap_or_default();
            expected.sort_unstable();
            if area.neighbours != expected {
                return Err(format!(
                    "area {} lists neighbours {:?}, touching active areas are {expected:?}",
                    area.id, area.neighbours
                ));
            }
        } else {
            check_split_parent(area, &areas)?;
        }
        if let Some(parent) = area.parent {
            let listed = areas
                .get(&parent)
                .is_some_and(|p| p.children.contains(&area.id));
            if !listed {
                return Err(format!(
                    "area {}'s parent {parent} does not list it as a child",
                    area.id
                ));
            }
        }
    }
    let candidates: BTreeSet<AccountId32> = Candidates::get_or_default(ext)
        .into_iter()
        .map(|candidate| candidate.who)
        .collect();
    for (key, authority) in Authorities::iter(ext) {
        if key != authority.area_id {
            return Err(format!(
                "committee stored under {key} serves area {}",
                authority.area_id
            ));
        }
        if !areas.get(&key).is_some_and(|area| area.active) {
            return Err(format!("area {key} has a committee but is not active"));
        }
        let members = authority.members();
        let distinct: BTreeSet<&AccountId32> = members.iter().collect();
        if distinct.len() != members.len() {
            return Err(format!("area {key}'s committee repeats a member"));
        }
        if members.len() > MAX_COMMITTEE {
            return Err(format!(
                "area {key}'s committee has {} members",
                members.len()
            ));
        }
        if let Some(outsider) = members.iter().find(|who| !candidates.contains(*who)) {
            return Err(format!(
                "area {key}'s committee member {outsider} was not an eligible candidate"
            ));
        }
        if RetiredVersions::contains_key(ext, &key) {
            return Err(format!(
                "area {key} has both a committee and a retired version"
            ));
        }
        if authority.version == 0 {
            return Err(format!("area {key}'s committee has version 0"));
        }
    }
    for (key, _) in RetiredVersions::iter(ext) {
        if !areas.contains_key(&key) {
            return Err(format!("retired committee version for unknown area {key}"));
        }
    }
    if let Some(start) = StartingArea::get(ext) {
        if !areas.contains_key(&start) {
            return Err(format!("starting area {start} does not exist"));
        }
    }
    if let Some(size) = CommitteeSize::get(ext) {
        if !(MIN_COMMITTEE as u8..=MAX_COMMITTEE as u8).contains(&size) {
            return Err(format!("committee size {size} is outside 3..=5"));
        }
    }
    let (split, merge) = (split_threshold(ext), merge_threshold(ext));
    if split == 0 || merge >= split {
        return Err(format!(
            "merge threshold {merge} is not below split threshold {split}"
        ));
    }
    Ok(())
}

/// Field limits of one stored area.
fn check_area_fields(area: &Area) -> Result<(), String> {
    let id = area.id;
    if !valid_name(&area.name) {
        return Err(format!("area {id} has an invalid name"));
    }
    if !bounds_in_world(&area.bounds) {
        return Err(format!("area {id} has invalid bounds {:?}", area.bounds));
    }
    if area.neighbours.len() > MAX_NEIGHBOURS {
        return Err(format!(
            "area {id} has {} neighbours",
            area.neighbours.len()
        ));
    }
    if area.neighbours.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(format!(
            "area {id}'s neighbours are not sorted and distinct"
        ));
    }
    if area.neighbours.contains(&id) {
        return Err(format!("area {id} is its own neighbour"));
    }
    validate_resources(&area.resources)
        .map_err(|error| format!("area {id} has invalid resources: {error}"))
}

/// An inactive area: a split parent tiled by its existing children.
fn check_split_parent(
    area: &Area,
    areas: &std::collections::BTreeMap<AreaId, Area>,
) -> Result<(), String> {
    let id = area.id;
    if area.children.is_empty() {
        return Err(format!("inactive area {id} has no children"));
    }
    if !area.neighbours.is_empty() {
        return Err(format!("inactive area {id} lists neighbours"));
    }
    let surface = |b: &Bounds| i128::from(b.width()) * i128::from(b.height());
    let mut covered: i128 = 0;
    let mut children: Vec<&Area> = Vec::with_capacity(area.children.len());
    for child_id in &area.children {
        let child = areas
            .get(child_id)
            .ok_or_else(|| format!("area {id}'s child {child_id} does not exist"))?;
        if child.parent != Some(id) {
            return Err(format!("area {id}'s child {child_id} names another parent"));
        }
        if !area.bounds.contains_bounds(&child.bounds) {
            return Err(format!("area {id}'s child {child_id} lies outside it"));
        }
        if children
            .iter()
            .any(|other| other.bounds.overlaps(&child.bounds))
        {
            return Err(format!("area {id}'s children overlap"));
        }
        covered += surface(&child.bounds);
        children.push(child);
    }
    if covered != surface(&area.bounds) {
        return Err(format!("area {id}'s children do not tile it"));
    }
    Ok(())
}

/// Checks that committees are fully staffed from `candidates`: with at least
/// [`MIN_COMMITTEE`] distinct candidates, every active area has 3..=5 distinct members,
/// all of them candidates.
pub fn check_committees(ext: &mut Ext, candidates: &[Candidate]) -> Result<(), String> {
    let eligible: BTreeSet<&AccountId32> = candidates.iter().map(|c| &c.who).collect();
    if eligible.len() < MIN_COMMITTEE {
        return Ok(());
    }
    for area in all_areas(ext).into_iter().filter(|area| area.active) {
        let members = committee_of(ext, area.id);
        let distinct: BTreeSet<&AccountId32> = members.iter().collect();
        if distinct.len() != members.len() {
            return Err(format!("area {}'s committee repeats a member", area.id));
        }
        if !(MIN_COMMITTEE..=MAX_COMMITTEE).contains(&members.len()) {
            return Err(format!(
                "area {} has {} committee members with {} candidates",
                area.id,
                members.len(),
                eligible.len()
            ));
        }
        if let Some(outsider) = members.iter().find(|who| !eligible.contains(who)) {
            return Err(format!(
                "area {}'s committee member {outsider} is not a candidate",
                area.id
            ));
        }
    }
    Ok(())
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![
        arceon_support::metadata::constant("Unit", &(UNIT), &["One world unit in coordinates."]),
        arceon_support::metadata::constant(
            "MaxAreas",
            &(MAX_AREAS as u32),
            &["The most areas the map holds."],
        ),
        arceon_support::metadata::constant(
            "MaxCommittee",
            &(MAX_COMMITTEE as u32),
            &["The most validators in an area's committee."],
        ),
    ]
}

/// Shifts every block number this pallet stores down by `by` (saturating at 0), so the
/// state of block `by` can be the genesis of a new chain with the same elapsed times
/// (`export-state --chain-spec`).
pub fn rebase(ext: &mut Ext, by: BlockNumber) {
    // A deposit's stock is settled at `by` (what it regained until then), then measured
    // at the new genesis.
    Areas::translate_values(ext, |area: &mut Area| {
        for node in &mut area.resources {
            node.amount = node.amount_at(by);
            node.last_update = 0;
        }
    });
    Authorities::translate_values(ext, |authority: &mut AreaAuthority| {
        authority.last_update = authority.last_update.saturating_sub(by);
    });
    if Scheduled::exists(ext) {
        Scheduled::mutate(ext, |scheduled| {
            for reshape in scheduled.iter_mut() {
                reshape.since = reshape.since.saturating_sub(by);
            }
        });
    }
}

#[cfg(test)]
mod tests;
