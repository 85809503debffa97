//! The players pallet (index 41): who plays, where they stand and what they carry.
//! A player registers once per account and spawns in the starting area; every action
//! (move, gather, craft, and the structure actions of other pallets through
//! [`count_action`]) is checked against the world's rules before it changes anything:
//! movement physics (distance per elapsed block bounded by [`MAX_SPEED_PER_BLOCK`], only
//! into the current or an adjacent area), skill requirements, resource stock, energy
//! (spent by actions, regained lazily per block up to [`MAX_ENERGY`]) and rate limits per
//! block and per era. A failing call returns a typed error; the runtime dispatches it in
//! a transactional layer, so it changes nothing.
//!
//! Invariants (checked by [`check_invariants`]): every player is in exactly one active
//! area, inside its bounds, and is listed in that area's index (`PlayersInArea`) and
//! nowhere else; `AreaPopulation` counts that index; `PlayerCount` counts the players;
//! `NameOwner` maps each player's name to it and holds nothing else; an inventory holds
//! at most [`MAX_INVENTORY_SLOTS`] stacks sorted by item, with no empty stack, no item
//! twice and none above [`MAX_STACK`]; `RecipeOutputs` counts the recipes producing each
//! item.

use std::collections::{BTreeMap, BTreeSet};

use arceon_pallet_areas::{self as areas, AreaId, Bounds, Position, ResourceId};
use arceon_pallet_system as system;
use arceon_primitives::{AccountId32, BlockNumber};
use arceon_support::{
    ensure_root, ensure_signed, storage, Blake2_128Concat, DispatchError, DispatchResult, Ext,
    Origin, StoragePrefix, Twox64Concat, Weight,
};
use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 41;

/// The pallet, for its hooks.
pub struct Pallet;

/// Players does no per-block work: energy and resource deposits regenerate lazily, when
/// an action reads them.
impl arceon_support::Hooks for Pallet {}

/// An item kind. Raw resources are items whose id is their [`ResourceId`].
pub type ItemId = u32;
/// A skill.
pub type SkillId = u8;
/// A crafting recipe.
pub type RecipeId = u32;

/// Gathering raw resources.
pub const SKILL_GATHERING: SkillId = 0;
/// Crafting items from others.
pub const SKILL_CRAFTING: SkillId = 1;
/// Placing and upgrading structures.
pub const SKILL_BUILDING: SkillId = 2;

/// The longest player name, in bytes.
pub const MAX_NAME_LEN: usize = 32;
/// The most item stacks an inventory holds.
pub const MAX_INVENTORY_SLOTS: usize = 32;
/// The most of one item a stack holds.
pub const MAX_STACK: u32 = 1_000_000;
/// The farthest a player walks per elapsed block: 10 world units (1 s slots: 10 u/s).
pub const MAX_SPEED_PER_BLOCK: i64 = 10 * areas::UNIT;
/// Experience per skill level.
pub const XP_PER_LEVEL: u32 = 100;
/// Health and energy of a new player.
pub const MAX_HEALTH: u32 = 100;
/// Energy of a new player; actions spend it and it regenerates per block.
pub const MAX_ENERGY: u32 = 100;
/// Energy regained per block, up to [`MAX_ENERGY`].
pub const ENERGY_REGEN_PER_BLOCK: u32 = 1;
/// Energy a move costs (walking is free; speed and rate limits bound it).
pub const MOVE_ENERGY: u32 = 0;
/// Energy a gather costs.
pub const GATHER_ENERGY: u32 = 5;
/// Energy a craft costs.
pub const CRAFT_ENERGY: u32 = 5;
/// Gathering experience per successful gather.
pub const GATHER_XP: u32 = 10;
/// The longest resource or recipe name, in bytes.
pub const MAX_ITEM_NAME_LEN: usize = 64;
/// The most distinct inputs of a recipe.
pub const MAX_RECIPE_INPUTS: usize = 8;

/// A player.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Player {
    /// Display name (UTF-8, unique).
    pub name: Vec<u8>,
    /// The area the player stands in.
    pub area: AreaId,
    /// Where the player stands.
    pub position: Position,
    /// The block of the last move (or of registration).
    pub last_move: BlockNumber,
    /// Health points.
    pub health: u32,
    /// Energy points at the block in `EnergyUpdated` (see [`current_energy`] for the
    /// value including regeneration since).
    pub energy: u32,
    /// Experience per skill, sorted by skill id.
    pub skills: Vec<(SkillId, u32)>,
    /// Item stacks, sorted by item id.
    pub inventory: Vec<(ItemId, u32)>,
    /// The block the player registered in.
    pub registered_at: BlockNumber,
    /// Recent action counts, for the per-block and per-era rate limits (kept in the
    /// player, so an action writes one storage item rather than two).
    pub actions: ActionCounter,
}

impl Player {
    /// The player's level in `skill`: 1 + experience / [`XP_PER_LEVEL`].
    pub fn skill_level(&self, skill: SkillId) -> u32 {
        1 + self.skill_xp(skill) / XP_PER_LEVEL
    }

    /// The player's experience in `skill`.
    pub fn skill_xp(&self, skill: SkillId) -> u32 {
        self.skills
            .iter()
            .find(|(id, _)| *id == skill)
            .map(|(_, xp)| *xp)
            .unwrap_or(0)
    }

    /// How many of `item` the player carries.
    pub fn item_count(&self, item: ItemId) -> u32 {
        self.inventory
            .iter()
            .find(|(id, _)| *id == item)
            .map(|(_, count)| *count)
            .unwrap_or(0)
    }
}

/// What gathering a resource needs and yields.
#[derive(
    Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceInfo {
    /// The resource (and the item it becomes).
    pub id: ResourceId,
    /// Display name.
    pub name: String,
    /// The gathering level needed.
    pub min_level: u32,
    /// Units one gather takes from the deposit and adds to the inventory.
    pub yield_per_gather: u32,
}

/// A crafting recipe.
#[derive(
    Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, scale_info::TypeInfo,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipe {
    /// Its identifier.
    pub id: RecipeId,
    /// Display name.
    pub name: String,
    /// Items consumed.
    pub inputs: Vec<(ItemId, u32)>,
    /// Item produced and how many.
    pub output: (ItemId, u32),
    /// The crafting level needed.
    pub min_level: u32,
    /// Crafting experience gained.
    pub xp: u32,
}

/// A player's action counts, for rate limiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ActionCounter {
    /// The block `in_block` counts.
    pub block: BlockNumber,
    /// Actions in that block.
    pub in_block: u32,
    /// The era `in_era` counts.
    pub era: u32,
    /// Actions in that era.
    pub in_era: u32,
}

storage! { pallet "Players";
    /// Every registered player.
    pub Players: map Blake2_128Concat, AccountId32 => Player;
    /// Which players stand in each area.
    pub PlayersInArea: double_map Twox64Concat, AreaId, Blake2_128Concat, AccountId32 => ();
    /// How many players stand in each area (absent when none).
    pub AreaPopulation: map Twox64Concat, AreaId => u32;
    /// Which account holds each name.
    pub NameOwner: map Blake2_128Concat, Vec<u8> => AccountId32;
    /// How many players exist.
    pub PlayerCount: value u32;
    /// Gatherable resources.
    pub Resources: map Twox64Concat, ResourceId => ResourceInfo;
    /// Crafting recipes.
    pub Recipes: map Twox64Concat, RecipeId => Recipe;
    /// The most actions per player per block.
    pub MaxActionsPerBlock: value u32;
    /// The most actions per player per era.
    pub MaxActionsPerEra: value u32;
    /// The era the pallet last saw (pushed by the runtime at each era change).
    pub CurrentEra: value u32;
    /// The block each player's stored `energy` was measured at.
    pub EnergyUpdated: map Blake2_128Concat, AccountId32 => BlockNumber;
    /// How many recipes produce each item (absent when none), so a new recipe's inputs
    /// are checked without walking every recipe.
    pub RecipeOutputs: map Twox64Concat, ItemId => u32;
    /// Players who act through the fast lanes (set once by the fastlane pallet's `join`):
    /// their moves, gathers, crafts and structure actions come only from certified lane
    /// batches, so no extrinsic can contradict a receipt they hold.
    pub LaneBound: map Blake2_128Concat, AccountId32 => ();
    /// Each area deposit's stock for fast-lane gathers, apart from the deposit extrinsic
    /// gathers draw from (same size and regeneration; full until first used), so that a
    /// gather by a player outside the lanes can never empty what a lane receipt promised.
    pub LaneStock: double_map Twox64Concat, AreaId, Twox64Concat, ResourceId => areas::ResourceNode;
}

/// Default actions per player per block.
pub const DEFAULT_MAX_ACTIONS_PER_BLOCK: u32 = 4;
/// Default actions per player per era.
pub const DEFAULT_MAX_ACTIONS_PER_ERA: u32 = 1_000;

arceon_support::pallet_error! {
    /// Players errors.
    pub enum Error for pallet PALLET_INDEX {
        /// The account has no player.
        NotRegistered,
        /// The account already has a player.
        AlreadyRegistered,
        /// The name is empty, too long, not UTF-8 or holds control characters.
        InvalidName,
        /// Another player holds the name.
        NameTaken,
        /// The move is farther than the maximum speed allows in the elapsed blocks.
        TooFast,
        /// The target lies outside the current area and all its neighbours.
        NotAdjacent,
        /// The target area is full.
        AreaFull,
        /// The resource does not exist, or the player's area has no deposit of it.
        UnknownResource,
        /// The player's skill level is too low.
        SkillTooLow,
        /// The area's deposit is exhausted for now.
        ResourceDepleted,
        /// The recipe does not exist.
        UnknownRecipe,
        /// The player lacks the items the action consumes.
        InsufficientItems,
        /// The inventory has no room for the result.
        InventoryFull,
        /// Too many actions in this block.
        RateLimitedBlock,
        /// Too many actions in this era.
        RateLimitedEra,
        /// Not enough energy.
        Exhausted,
        /// A resource definition has an empty or too long name, or yields nothing or
        /// more than a stack.
        InvalidResource,
        /// A recipe has an empty or too long name, no inputs or too many, an input
        /// listed twice, or a zero or oversized count.
        InvalidRecipe,
        /// A recipe consumes an item that is neither a resource nor another recipe's
        /// output.
        UnknownItem,
        /// The player acts through the fast lanes: its world actions are lane actions,
        /// never extrinsics.
        InFastLane,
    }
}

/// Players events.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// A player registered and spawned.
    #[codec(index = 0)]
    PlayerRegistered {
        /// The account.
        who: AccountId32,
        /// The player's name.
        name: Vec<u8>,
        /// The spawn area.
        area: AreaId,
        /// The spawn point.
        position: Position,
    },
    /// A player moved within its area.
    #[codec(index = 1)]
    Moved {
        /// The account.
        who: AccountId32,
        /// The new position.
        position: Position,
    },
    /// A player walked into another area.
    #[codec(index = 2)]
    PlayerMoved {
        /// The account.
        who: AccountId32,
        /// The area left.
        from: AreaId,
        /// The area entered.
        to: AreaId,
        /// The new position.
        position: Position,
    },
    /// A player gathered a resource.
    #[codec(index = 3)]
    Gathered {
        /// The account.
        who: AccountId32,
        /// Where.
        area: AreaId,
        /// Which resource.
        resource: ResourceId,
        /// How many units went into the inventory.
        amount: u32,
    },
    /// A player crafted an item.
    #[codec(index = 4)]
    Crafted {
        /// The account.
        who: AccountId32,
        /// The recipe used.
        recipe: RecipeId,
        /// The item produced.
        output: ItemId,
        /// How many.
        amount: u32,
    },
    /// Root changed the rate limits.
    #[codec(index = 5)]
    RateLimitsSet {
        /// Actions per player per block.
        per_block: u32,
        /// Actions per player per era.
        per_era: u32,
    },
    /// Root created or replaced a recipe.
    #[codec(index = 6)]
    RecipeSet {
        /// The recipe.
        recipe: RecipeId,
    },
    /// Root created or replaced a resource.
    #[codec(index = 7)]
    ResourceSet {
        /// The resource.
        resource: ResourceId,
    },
    /// A split or merge of the map moved a player into another area.
    #[codec(index = 8)]
    Migrated {
        /// The account.
        who: AccountId32,
        /// The split or merged-away area.
        from: AreaId,
        /// The area the player is now in.
        to: AreaId,
        /// The player's position (unchanged unless it lay outside every target).
        position: Position,
    },
}

/// Players calls.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Create the signer's player, spawning at the starting area's spawn point (index 0).
    #[codec(index = 0)]
    Register {
        /// Display name: UTF-8, 1 to 32 bytes, unique.
        name: Vec<u8>,
    },
    /// Walk to `(x, y)`, in milli-units (index 1).
    #[codec(index = 1)]
    MoveTo {
        /// East-west target coordinate.
        x: i64,
        /// North-south target coordinate.
        y: i64,
    },
    /// Gather a resource from the current area's deposit (index 2).
    #[codec(index = 2)]
    Gather {
        /// Which resource.
        resource: ResourceId,
    },
    /// Craft with a recipe (index 3).
    #[codec(index = 3)]
    Craft {
        /// Which recipe.
        recipe: RecipeId,
    },
    /// Set the per-player action limits (root only, index 10). Zero pauses all actions.
    #[codec(index = 10)]
    SetRateLimits {
        /// Actions per player per block.
        per_block: u32,
        /// Actions per player per era.
        per_era: u32,
    },
    /// Create or replace a recipe (root only, index 11).
    #[codec(index = 11)]
    SetRecipe {
        /// The recipe.
        recipe: Recipe,
    },
    /// Create or replace a gatherable resource (root only, index 12).
    #[codec(index = 12)]
    SetResource {
        /// The resource.
        info: ResourceInfo,
    },
}

/// Weights of this pallet's calls (reference time in picoseconds, proof size in bytes).
/// Set from `arceon-node benchmark pallet` (release build, 2-core reference machine, a
/// populated world: 6,000 players, a 16-neighbour hub): about 4x each call's measured
/// in-memory median (register 21.8 us, cross-area move 38.5 us, gather 15.6 us, craft
/// 8.4 us), to cover reads through the trie and database during import.
pub mod weights {
    use arceon_support::Weight;

    /// `register`: player, name, rate counter, starting area, population; six writes.
    pub const REGISTER: Weight = Weight::from_parts(90_000_000, 8_000);
    /// `move_to`: player, rate counter, the current area and up to 16 neighbours (worst
    /// case, when the target lies in the last neighbour), the target area's population.
    pub const MOVE_TO: Weight = Weight::from_parts(155_000_000, 20_000);
    /// `gather`: player, rate counter, resource, area (read and written), energy.
    pub const GATHER: Weight = Weight::from_parts(65_000_000, 6_000);
    /// `craft`: player, rate counter, recipe, energy.
    pub const CRAFT: Weight = Weight::from_parts(35_000_000, 5_000);
    /// `set_rate_limits`: two writes.
    pub const SET_RATE_LIMITS: Weight = Weight::from_parts(10_000_000, 0);
    /// `set_recipe` with [`super::MAX_RECIPE_INPUTS`] inputs: one resource and one
    /// producer count read per input, the old recipe, two counter writes.
    pub const SET_RECIPE: Weight = Weight::from_parts(50_000_000, 4_000);
    /// `set_resource`: one write.
    pub const SET_RESOURCE: Weight = Weight::from_parts(12_000_000, 0);
}

impl Call {
    /// The declared weight of this call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::Register { .. } => weights::REGISTER,
            Call::MoveTo { .. } => weights::MOVE_TO,
            Call::Gather { .. } => weights::GATHER,
            Call::Craft { .. } => weights::CRAFT,
            Call::SetRateLimits { .. } => weights::SET_RATE_LIMITS,
            Call::SetRecipe { .. } => weights::SET_RECIPE,
            Call::SetResource { .. } => weights::SET_RESOURCE,
        }
    }

    /// Executes the call. Runs inside the executive's transactional layer, so an error
    /// discards every write the call made.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        match self {
            Call::Register { name } => {
                let who = ensure_signed(origin)?;
                register(ext, &who, name)
            }
            Call::MoveTo { x, y } => {
                let who = ensure_signed(origin)?;
                ensure_not_in_lane(ext, &who)?;
                move_to(ext, &who, Position::new(x, y))
            }
            Call::Gather { resource } => {
                let who = ensure_signed(origin)?;
                ensure_not_in_lane(ext, &who)?;
                gather(ext, &who, resource)
            }
            Call::Craft { recipe } => {
                let who = ensure_signed(origin)?;
                ensure_not_in_lane(ext, &who)?;
                craft(ext, &who, recipe)
            }
            Call::SetRateLimits { per_block, per_era } => {
                ensure_root(origin)?;
                set_rate_limits(ext, per_block, per_era);
                Ok(())
            }
            Call::SetRecipe { recipe } => {
                ensure_root(origin)?;
                set_recipe(ext, recipe)
            }
            Call::SetResource { info } => {
                ensure_root(origin)?;
                set_resource(ext, info)
            }
        }
    }
}

/// Deposits a players event (encoded with this pallet's index).
pub fn deposit_event<E: Encode>(ext: &mut Ext, event: &E) {
    ext.deposit_event(PALLET_INDEX, event);
}

/// The block being executed.
pub fn current_block(ext: &mut Ext) -> BlockNumber {
    system::Number::get_or_default(ext)
}

/// The player of `who`.
pub fn player(ext: &mut Ext, who: &AccountId32) -> Option<Player> {
    Players::get(ext, who)
}

/// The player of `who`, or `NotRegistered`.
pub fn registered(ext: &mut Ext, who: &AccountId32) -> Result<Player, DispatchError> {
    Players::get(ext, who).ok_or_else(|| Error::NotRegistered.into())
}

/// Fails with `InFastLane` when `who` acts through the fast lanes: world extrinsics of
/// such a player could contradict the receipts of its lane actions.
pub fn ensure_not_in_lane(ext: &mut Ext, who: &AccountId32) -> DispatchResult {
    if LaneBound::contains_key(ext, who) {
        return Err(Error::InFastLane.into());
    }
    Ok(())
}

/// Marks `who` as acting through the fast lanes from now on.
pub fn bind_to_lanes(ext: &mut Ext, who: &AccountId32) {
    LaneBound::insert(ext, who, &());
}

/// Whether `who` acts through the fast lanes.
pub fn in_lane(ext: &mut Ext, who: &AccountId32) -> bool {
    LaneBound::contains_key(ext, who)
}

/// Counts one action of `who` at block `now` against the per-block and per-era limits,
/// failing (and counting nothing) when either is reached. Every player action of every
/// pallet goes through here (or through [`tally`] on a player it already holds).
pub fn count_action(ext: &mut Ext, who: &AccountId32, now: BlockNumber) -> DispatchResult {
    let mut player = registered(ext, who)?;
    tally(ext, &mut player.actions, now)?;
    Players::insert(ext, who, &player);
    Ok(())
}

/// Counts one action at block `now` in `counter`, or fails with `RateLimitedBlock` /
/// `RateLimitedEra` and leaves it as it was.
pub fn tally(ext: &mut Ext, counter: &mut ActionCounter, now: BlockNumber) -> DispatchResult {
    let era = CurrentEra::get_or_default(ext);
    let per_block = MaxActionsPerBlock::get(ext).unwrap_or(DEFAULT_MAX_ACTIONS_PER_BLOCK);
    let per_era = MaxActionsPerEra::get(ext).unwrap_or(DEFAULT_MAX_ACTIONS_PER_ERA);
    let mut next = *counter;
    if next.block != now {
        next.block = now;
        next.in_block = 0;
    }
    if next.era != era {
        next.era = era;
        next.in_era = 0;
    }
    if next.in_block >= per_block {
        return Err(Error::RateLimitedBlock.into());
    }
    if next.in_era >= per_era {
        return Err(Error::RateLimitedEra.into());
    }
    next.in_block += 1;
    next.in_era += 1;
    *counter = next;
    Ok(())
}

/// Whether the player carries every `(item, count)` of `items`.
pub fn has_items(player: &Player, items: &[(ItemId, u32)]) -> bool {
    merged(items)
        .iter()
        .all(|(item, count)| player.item_count(*item) >= *count)
}

/// Sums duplicate items of a list.
fn merged(items: &[(ItemId, u32)]) -> Vec<(ItemId, u32)> {
    let mut out: Vec<(ItemId, u32)> = Vec::with_capacity(items.len());
    for (item, count) in items {
        match out.iter_mut().find(|(id, _)| id == item) {
            Some((_, total)) => *total = total.saturating_add(*count),
            None => out.push((*item, *count)),
        }
    }
    out
}

/// Removes `items` from the player's inventory, or fails with `InsufficientItems` and
/// changes nothing.
pub fn remove_items(player: &mut Player, items: &[(ItemId, u32)]) -> DispatchResult {
    if !has_items(player, items) {
        return Err(Error::InsufficientItems.into());
    }
    for (item, count) in merged(items) {
        if let Some(stack) = player.inventory.iter_mut().find(|(id, _)| *id == item) {
            // `has_items` checked every merged count against its stack.
            stack.1 = stack.1.saturating_sub(count);
        }
    }
    player.inventory.retain(|(_, count)| *count > 0);
    Ok(())
}

/// Adds `items` to the player's inventory, or fails with `InventoryFull` and changes
/// nothing.
pub fn add_items(player: &mut Player, items: &[(ItemId, u32)]) -> DispatchResult {
    let mut inventory = player.inventory.clone();
    for (item, count) in merged(items) {
        if count == 0 {
            continue;
        }
        match inventory.iter_mut().find(|(id, _)| *id == item) {
            Some(stack) => {
                stack.1 = stack
                    .1
                    .checked_add(count)
                    .filter(|total| *total <= MAX_STACK)
                    .ok_or(Error::InventoryFull)?;
            }
            None => {
                if inventory.len() >= MAX_INVENTORY_SLOTS || count > MAX_STACK {
                    return Err(Error::InventoryFull.into());
                }
                inventory.push((item, count));
            }
        }
    }
    inventory.sort_by_key(|(id, _)| *id);
    player.inventory = inventory;
    Ok(())
}

/// Takes `items` from `who`'s inventory (for costs charged by other pallets).
pub fn take_items(ext: &mut Ext, who: &AccountId32, items: &[(ItemId, u32)]) -> DispatchResult {
    let mut player = registered(ext, who)?;
    remove_items(&mut player, items)?;
    Players::insert(ext, who, &player);
    Ok(())
}

/// Gives `items` to `who` (refunds and rewards from other pallets).
pub fn give_items(ext: &mut Ext, who: &AccountId32, items: &[(ItemId, u32)]) -> DispatchResult {
    let mut player = registered(ext, who)?;
    add_items(&mut player, items)?;
    Players::insert(ext, who, &player);
    Ok(())
}

/// Adds `xp` experience in `skill`, keeping the skill list sorted.
pub fn add_xp(player: &mut Player, skill: SkillId, xp: u32) {
    if xp == 0 {
        return;
    }
    match player.skills.binary_search_by_key(&skill, |(id, _)| *id) {
        Ok(index) => {
            if let Some((_, total)) = player.skills.get_mut(index) {
                *total = total.saturating_add(xp);
            }
        }
        Err(index) => player.skills.insert(index, (skill, xp)),
    }
}

/// `who`'s energy at block `now`: the stored value plus [`ENERGY_REGEN_PER_BLOCK`] per
/// block since it was measured, capped at [`MAX_ENERGY`].
pub fn current_energy(ext: &mut Ext, who: &AccountId32, player: &Player, now: BlockNumber) -> u32 {
    let since = EnergyUpdated::get(ext, who).unwrap_or(player.registered_at);
    let elapsed = now.saturating_sub(since);
    player
        .energy
        .saturating_add(ENERGY_REGEN_PER_BLOCK.saturating_mul(elapsed))
        .min(MAX_ENERGY)
}

/// Spends `cost` energy of `who` at block `now`: sets `player.energy` (the caller writes
/// the player back) and the block it was measured at. Fails with `Exhausted`, writing
/// nothing, when the player has less. A zero cost is always free and writes nothing.
pub fn spend_energy(
    ext: &mut Ext,
    who: &AccountId32,
    player: &mut Player,
    cost: u32,
    now: BlockNumber,
) -> DispatchResult {
    if cost == 0 {
        return Ok(());
    }
    let available = current_energy(ext, who, player, now);
    if available < cost {
        return Err(Error::Exhausted.into());
    }
    player.energy = available - cost;
    EnergyUpdated::insert(ext, who, &now);
    Ok(())
}

/// Moves `who`'s entry in the area index from `from` to `to` (no-op when equal).
pub fn reindex(ext: &mut Ext, who: &AccountId32, from: AreaId, to: AreaId) {
    if from == to {
        return;
    }
    PlayersInArea::remove(ext, &from, who);
    let remaining = AreaPopulation::get_or_default(ext, &from).saturating_sub(1);
    if remaining == 0 {
        AreaPopulation::remove(ext, &from);
    } else {
        AreaPopulation::insert(ext, &from, &remaining);
    }
    PlayersInArea::insert(ext, &to, who, &());
    AreaPopulation::mutate(ext, &to, |count| *count = count.saturating_add(1));
}

/// Up to `limit` players standing in `area`, after `start_after` (paging).
pub fn players_in_area(
    ext: &mut Ext,
    area: AreaId,
    start_after: Option<&AccountId32>,
    limit: usize,
) -> Vec<(AccountId32, Player)> {
    PlayersInArea::iter_prefix(ext, &area, start_after, limit)
        .into_iter()
        .filter_map(|(who, ())| Players::get(ext, &who).map(|player| (who, player)))
        .collect()
}

/// The point of `bounds` nearest to `position` (`None` for empty bounds).
fn clamp_into(bounds: &Bounds, position: &Position) -> Option<Position> {
    if !bounds.is_valid() {
        return None;
    }
    Some(Position::new(
        position.x.clamp(bounds.min_x, bounds.max_x - 1),
        position.y.clamp(bounds.min_y, bounds.max_y - 1),
    ))
}

/// Moves every player of a split or merged area into the area among `targets` whose
/// bounds contain the player's position (the runtime calls it when areas split or
/// merge). A player no target contains (the targets should cover `from`) is placed at
/// the nearest point of the nearest target rather than left in an inactive area.
/// Bounded by the population of `from`, which its capacity limits.
pub fn migrate_area(ext: &mut Ext, from: AreaId, targets: &[(AreaId, Bounds)]) {
    let residents: Vec<AccountId32> = PlayersInArea::iter_prefix(ext, &from, None, usize::MAX)
        .into_iter()
        .map(|(who, ())| who)
        .collect();
    for who in residents {
        let Some(mut player) = Players::get(ext, &who) else {
            ext.record_fault(format!("area {from} lists {who}, who has no player"));
            continue;
        };
        let inside = targets
            .iter()
            .find(|(_, bounds)| bounds.contains(&player.position))
            .map(|(id, _)| (*id, player.position));
        let destination = inside.or_else(|| {
            targets
                .iter()
                .filter_map(|(id, bounds)| {
                    clamp_into(bounds, &player.position).map(|point| (*id, point))
                })
                .min_by_key(|(_, point)| point.distance_squared(&player.position))
        });
        let Some((to, position)) = destination else {
            ext.record_fault(format!("player {who} of area {from} fits no target area"));
            continue;
        };
        reindex(ext, &who, from, to);
        player.area = to;
        player.position = position;
        Players::insert(ext, &who, &player);
        deposit_event(
            ext,
            &Event::Migrated {
                who,
                from,
                to,
                position,
            },
        );
    }
}

/// Stores the era the runtime has moved to; per-era action counts restart.
pub fn on_new_era(ext: &mut Ext, era: u32) {
    CurrentEra::put(ext, &era);
}

/// Checks a player name: UTF-8, 1 to [`MAX_NAME_LEN`] bytes, no control characters.
pub fn validate_name(name: &[u8]) -> Result<(), Error> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::InvalidName);
    }
    match std::str::from_utf8(name) {
        Ok(text) if !text.chars().any(char::is_control) => Ok(()),
        _ => Err(Error::InvalidName),
    }
}

/// Checks a resource definition on its own (name and yield).
pub fn validate_resource(info: &ResourceInfo) -> Result<(), Error> {
    let name_ok = !info.name.is_empty() && info.name.len() <= MAX_ITEM_NAME_LEN;
    let yield_ok = info.yield_per_gather > 0 && info.yield_per_gather <= MAX_STACK;
    if name_ok && yield_ok {
        Ok(())
    } else {
        Err(Error::InvalidResource)
    }
}

/// Checks a recipe on its own (name, counts, distinct inputs); whether its inputs exist
/// depends on the other resources and recipes.
pub fn validate_recipe(recipe: &Recipe) -> Result<(), Error> {
    let name_ok = !recipe.name.is_empty() && recipe.name.len() <= MAX_ITEM_NAME_LEN;
    let inputs_ok = !recipe.inputs.is_empty() && recipe.inputs.len() <= MAX_RECIPE_INPUTS;
    let counts_ok = recipe
        .inputs
        .iter()
        .chain(std::iter::once(&recipe.output))
        .all(|(_, count)| *count > 0 && *count <= MAX_STACK);
    let distinct = recipe
        .inputs
        .iter()
        .map(|(item, _)| *item)
        .collect::<BTreeSet<_>>()
        .len()
        == recipe.inputs.len();
    if name_ok && inputs_ok && counts_ok && distinct {
        Ok(())
    } else {
        Err(Error::InvalidRecipe)
    }
}

/// Writes a new player and every index it is in.
fn insert_new_player(
    ext: &mut Ext,
    who: &AccountId32,
    name: Vec<u8>,
    area: AreaId,
    position: Position,
    now: BlockNumber,
) {
    insert_counted_player(
        ext,
        who,
        name,
        area,
        position,
        now,
        ActionCounter::default(),
    );
}

/// [`insert_new_player`] with the player's first action already counted.
fn insert_counted_player(
    ext: &mut Ext,
    who: &AccountId32,
    name: Vec<u8>,
    area: AreaId,
    position: Position,
    now: BlockNumber,
    actions: ActionCounter,
) {
    let player = Player {
        name: name.clone(),
        area,
        position,
        last_move: now,
        health: MAX_HEALTH,
        energy: MAX_ENERGY,
        skills: Vec::new(),
        inventory: Vec::new(),
        registered_at: now,
        actions,
    };
    Players::insert(ext, who, &player);
    PlayersInArea::insert(ext, &area, who, &());
    AreaPopulation::mutate(ext, &area, |count| *count = count.saturating_add(1));
    NameOwner::insert(ext, &name, who);
    PlayerCount::mutate(ext, |count| *count = count.saturating_add(1));
    EnergyUpdated::insert(ext, who, &now);
}

/// Creates `who`'s player, spawning at the starting area's spawn point.
pub fn register(ext: &mut Ext, who: &AccountId32, name: Vec<u8>) -> DispatchResult {
    let now = current_block(ext);
    if Players::contains_key(ext, who) {
        return Err(Error::AlreadyRegistered.into());
    }
    validate_name(&name)?;
    if NameOwner::contains_key(ext, &name) {
        return Err(Error::NameTaken.into());
    }
    let mut actions = ActionCounter::default();
    tally(ext, &mut actions, now)?;
    let (area, position) = areas::spawn_point(ext)?;
    let capacity = areas::active_area(ext, area)?.capacity;
    if AreaPopulation::get_or_default(ext, &area) >= capacity {
        return Err(Error::AreaFull.into());
    }
    insert_counted_player(ext, who, name.clone(), area, position, now, actions);
    areas::note_action(ext, area);
    deposit_event(
        ext,
        &Event::PlayerRegistered {
            who: who.clone(),
            name,
            area,
            position,
        },
    );
    Ok(())
}

/// Walks `who` to `target`: at most [`MAX_SPEED_PER_BLOCK`] per block elapsed since the
/// last move, within the current area or into an active neighbour with room.
pub fn move_to(ext: &mut Ext, who: &AccountId32, target: Position) -> DispatchResult {
    let now = current_block(ext);
    let mut player = registered(ext, who)?;
    tally(ext, &mut player.actions, now)?;
    let elapsed = now.saturating_sub(player.last_move);
    let reach = u128::from(MAX_SPEED_PER_BLOCK.unsigned_abs()).saturating_mul(u128::from(elapsed));
    walk(ext, who, player, target, reach, now, true).map(|_| ())
}

/// Walks `who` to `target` for a fast-lane move: `reach` (milli-units) is what the lane
/// allows for the lane time elapsed since the player's previous lane action; no per-block
/// rate limit applies (the lane has its own), nor the capacity of the area entered (which
/// registrations and extrinsic moves of other players can fill between a receipt and its
/// block; capacity is a load measure, and splits follow load). Returns the area left and
/// the area entered.
pub fn lane_move(
    ext: &mut Ext,
    who: &AccountId32,
    target: Position,
    reach: u128,
) -> Result<(AreaId, AreaId), DispatchError> {
    let now = current_block(ext);
    let player = registered(ext, who)?;
    walk(ext, who, player, target, reach, now, false)
}

/// The checks and writes of a move, once the rate limit and reach are settled.
fn walk(
    ext: &mut Ext,
    who: &AccountId32,
    mut player: Player,
    target: Position,
    reach: u128,
    now: BlockNumber,
    check_capacity: bool,
) -> Result<(AreaId, AreaId), DispatchError> {
    if player.position.distance_squared(&target) > reach.saturating_mul(reach) {
        return Err(Error::TooFast.into());
    }
    let current = areas::active_area(ext, player.area)?;
    let to = areas::area_for_move(ext, &current, &target).ok_or(Error::NotAdjacent)?;
    if to != current.id && check_capacity {
        let capacity = areas::active_area(ext, to)?.capacity;
        if AreaPopulation::get_or_default(ext, &to) >= capacity {
            return Err(Error::AreaFull.into());
        }
    }
    spend_energy(ext, who, &mut player, MOVE_ENERGY, now)?;
    let from = player.area;
    player.area = to;
    player.position = target;
    player.last_move = now;
    reindex(ext, who, from, to);
    Players::insert(ext, who, &player);
    areas::note_action(ext, to);
    let event = if from == to {
        Event::Moved {
            who: who.clone(),
            position: target,
        }
    } else {
        Event::PlayerMoved {
            who: who.clone(),
            from,
            to,
            position: target,
        }
    };
    deposit_event(ext, &event);
    Ok((from, to))
}

/// Gathers one yield of `resource` from the deposit of `who`'s area.
pub fn gather(ext: &mut Ext, who: &AccountId32, resource: ResourceId) -> DispatchResult {
    let now = current_block(ext);
    let mut player = registered(ext, who)?;
    tally(ext, &mut player.actions, now)?;
    gather_with(ext, who, player, resource, now, false).map(|_| ())
}

/// A fast-lane gather: the rules of [`gather`] without the per-block rate limit, drawing
/// from the deposit's lane stock ([`LaneStock`]). Returns the units gathered.
pub fn lane_gather(
    ext: &mut Ext,
    who: &AccountId32,
    resource: ResourceId,
) -> Result<u32, DispatchError> {
    let now = current_block(ext);
    let player = registered(ext, who)?;
    gather_with(ext, who, player, resource, now, true)
}

fn gather_with(
    ext: &mut Ext,
    who: &AccountId32,
    mut player: Player,
    resource: ResourceId,
    now: BlockNumber,
    lane: bool,
) -> Result<u32, DispatchError> {
    let info = Resources::get(ext, &resource).ok_or(Error::UnknownResource)?;
    let area = areas::active_area(ext, player.area)?;
    let deposit = *area
        .resources
        .iter()
        .find(|node| node.resource == resource)
        .ok_or(Error::UnknownResource)?;
    if player.skill_level(SKILL_GATHERING) < info.min_level {
        return Err(Error::SkillTooLow.into());
    }
    let amount = info.yield_per_gather;
    let stock = if lane {
        LaneStock::get(ext, &area.id, &resource)
            .map(|stock| areas::ResourceNode {
                max: deposit.max,
                regen_per_block: deposit.regen_per_block,
                ..stock
            })
            .unwrap_or(areas::ResourceNode {
                amount: deposit.max,
                last_update: now,
                ..deposit
            })
    } else {
        deposit
    };
    let available = stock.amount_at(now);
    if available < amount {
        return Err(Error::ResourceDepleted.into());
    }
    add_items(&mut player, &[(resource, amount)])?;
    spend_energy(ext, who, &mut player, GATHER_ENERGY, now)?;
    if lane {
        let left = areas::ResourceNode {
            amount: available - amount,
            last_update: now,
            ..stock
        };
        LaneStock::insert(ext, &area.id, &resource, &left);
    } else {
        areas::take_resource(ext, area.id, resource, amount, now)?;
    }
    add_xp(&mut player, SKILL_GATHERING, GATHER_XP);
    Players::insert(ext, who, &player);
    areas::note_action(ext, area.id);
    deposit_event(
        ext,
        &Event::Gathered {
            who: who.clone(),
            area: area.id,
            resource,
            amount,
        },
    );
    Ok(amount)
}

/// Crafts `recipe`: consumes its inputs from `who`'s inventory and adds its output.
pub fn craft(ext: &mut Ext, who: &AccountId32, recipe: RecipeId) -> DispatchResult {
    let now = current_block(ext);
    let mut player = registered(ext, who)?;
    tally(ext, &mut player.actions, now)?;
    craft_with(ext, who, player, recipe, now).map(|_| ())
}

/// A fast-lane craft: the rules of [`craft`] without the per-block rate limit. Returns
/// the item produced and how many.
pub fn lane_craft(
    ext: &mut Ext,
    who: &AccountId32,
    recipe: RecipeId,
) -> Result<(ItemId, u32), DispatchError> {
    let now = current_block(ext);
    let player = registered(ext, who)?;
    craft_with(ext, who, player, recipe, now)
}

fn craft_with(
    ext: &mut Ext,
    who: &AccountId32,
    mut player: Player,
    recipe: RecipeId,
    now: BlockNumber,
) -> Result<(ItemId, u32), DispatchError> {
    let info = Recipes::get(ext, &recipe).ok_or(Error::UnknownRecipe)?;
    if player.skill_level(SKILL_CRAFTING) < info.min_level {
        return Err(Error::SkillTooLow.into());
    }
    remove_items(&mut player, &info.inputs)?;
    add_items(&mut player, &[info.output])?;
    spend_energy(ext, who, &mut player, CRAFT_ENERGY, now)?;
    add_xp(&mut player, SKILL_CRAFTING, info.xp);
    Players::insert(ext, who, &player);
    areas::note_action(ext, player.area);
    deposit_event(
        ext,
        &Event::Crafted {
            who: who.clone(),
            recipe,
            output: info.output.0,
            amount: info.output.1,
        },
    );
    Ok(info.output)
}

/// Sets the per-player action limits.
pub fn set_rate_limits(ext: &mut Ext, per_block: u32, per_era: u32) {
    MaxActionsPerBlock::put(ext, &per_block);
    MaxActionsPerEra::put(ext, &per_era);
    deposit_event(ext, &Event::RateLimitsSet { per_block, per_era });
}

/// Creates or replaces a recipe. Each input must be a resource or the output of another
/// recipe.
pub fn set_recipe(ext: &mut Ext, recipe: Recipe) -> DispatchResult {
    validate_recipe(&recipe)?;
    let old = Recipes::get(ext, &recipe.id);
    for (item, _) in &recipe.inputs {
        if Resources::contains_key(ext, item) {
            continue;
        }
        let producers = RecipeOutputs::get_or_default(ext, item);
        let own = u32::from(old.as_ref().is_some_and(|old| old.output.0 == *item));
        if producers.saturating_sub(own) == 0 {
            return Err(Error::UnknownItem.into());
        }
    }
    if let Some(old) = old {
        let remaining = RecipeOutputs::get_or_default(ext, &old.output.0).saturating_sub(1);
        if remaining == 0 {
            RecipeOutputs::remove(ext, &old.output.0);
        } else {
            RecipeOutputs::insert(ext, &old.output.0, &remaining);
        }
    }
    RecipeOutputs::mutate(ext, &recipe.output.0, |count| {
        *count = count.saturating_add(1)
    });
    let id = recipe.id;
    Recipes::insert(ext, &id, &recipe);
    deposit_event(ext, &Event::RecipeSet { recipe: id });
    Ok(())
}

/// Creates or replaces a gatherable resource.
pub fn set_resource(ext: &mut Ext, info: ResourceInfo) -> DispatchResult {
    validate_resource(&info)?;
    Resources::insert(ext, &info.id, &info);
    deposit_event(ext, &Event::ResourceSet { resource: info.id });
    Ok(())
}

fn check_player(ext: &mut Ext, who: &AccountId32, player: &Player) -> Result<(), String> {
    if !PlayersInArea::contains_key(ext, &player.area, who) {
        return Err(format!(
            "{who} is in area {} but not in its index",
            player.area
        ));
    }
    let area = areas::active_area(ext, player.area)
        .map_err(|e| format!("{who} stands in area {}: {e}", player.area))?;
    if !area.bounds.contains(&player.position) {
        return Err(format!(
            "{who} at {:?} is outside area {} {:?}",
            player.position, area.id, area.bounds
        ));
    }
    if NameOwner::get(ext, &player.name).as_ref() != Some(who) {
        return Err(format!("the name of {who} is not registered to it"));
    }
    if player.inventory.len() > MAX_INVENTORY_SLOTS {
        return Err(format!("{who} carries {} stacks", player.inventory.len()));
    }
    if player
        .inventory
        .iter()
        .any(|(_, count)| *count == 0 || *count > MAX_STACK)
    {
        return Err(format!("{who} has an empty or oversized stack"));
    }
    if player
        .inventory
        .windows(2)
        .any(|pair| pair[0].0 >= pair[1].0)
    {
        return Err(format!("the inventory of {who} is not sorted by item"));
    }
    if player.skills.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
        return Err(format!("the skills of {who} are not sorted"));
    }
    if player.energy > MAX_ENERGY || player.health > MAX_HEALTH {
        return Err(format!("{who} has more energy or health than the maximum"));
    }
    Ok(())
}

/// Checks the pallet's invariants (see the crate documentation): `Ok` or the first
/// violation found. Walks the whole pallet state, so it is for tests and audits, not
/// block execution.
pub fn check_invariants(ext: &mut Ext) -> Result<(), String> {
    let players = Players::iter(ext);
    let count = PlayerCount::get_or_default(ext);
    if usize::try_from(count).ok() != Some(players.len()) {
        return Err(format!(
            "PlayerCount is {count} but {} players exist",
            players.len()
        ));
    }
    // Each player's own index entry is checked below; with exactly as many entries as
    // players there is no other entry, so each player is listed exactly once.
    let index_entries = ext.keys_with_prefix(PlayersInAreaPrefix::prefix()).len();
    if index_entries != players.len() {
        return Err(format!(
            "the area index has {index_entries} entries for {} players",
            players.len()
        ));
    }
    let mut per_area: BTreeMap<AreaId, u32> = BTreeMap::new();
    for (who, player) in &players {
        check_player(ext, who, player)?;
        let entry = per_area.entry(player.area).or_default();
        *entry = entry.saturating_add(1);
    }
    for (area, expected) in &per_area {
        let population = AreaPopulation::get_or_default(ext, area);
        if population != *expected {
            return Err(format!(
                "area {area} has population {population} but {expected} players"
            ));
        }
    }
    for (area, population) in AreaPopulation::iter(ext) {
        if !per_area.contains_key(&area) && population != 0 {
            return Err(format!("empty area {area} has population {population}"));
        }
    }
    let names = NameOwner::count(ext);
    if names != players.len() {
        return Err(format!("{names} names for {} players", players.len()));
    }
    let mut producers: BTreeMap<ItemId, u32> = BTreeMap::new();
    for (id, recipe) in Recipes::iter(ext) {
        if id != recipe.id {
            return Err(format!("recipe {} is stored under id {id}", recipe.id));
        }
        let entry = producers.entry(recipe.output.0).or_default();
        *entry = entry.saturating_add(1);
    }
    let stored: BTreeMap<ItemId, u32> = RecipeOutputs::iter(ext).into_iter().collect();
    if stored != producers {
        return Err(format!(
            "RecipeOutputs {stored:?} disagrees with the recipes {producers:?}"
        ));
    }
    for (id, info) in Resources::iter(ext) {
        if id != info.id {
            return Err(format!("resource {} is stored under id {id}", info.id));
        }
    }
    Ok(())
}

/// Genesis: resources, recipes, rate limits and pre-registered players (who spawn like
/// [`register`]s at block 0; the areas genesis must be built first).
///
/// ```json
/// { "resources": [{ "id": 1, "name": "wood", "minLevel": 1, "yieldPerGather": 5 }],
///   "recipes": [{ "id": 100, "name": "plank", "inputs": [[1, 2]], "output": [100, 1],
///                 "minLevel": 1, "xp": 20 }],
///   "maxActionsPerBlock": 4, "maxActionsPerEra": 1000,
///   "players": [["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "alice"]] }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisConfig {
    /// Gatherable resources.
    #[serde(default)]
    pub resources: Vec<ResourceInfo>,
    /// Crafting recipes.
    #[serde(default)]
    pub recipes: Vec<Recipe>,
    /// Actions per player per block.
    #[serde(default = "default_max_actions_per_block")]
    pub max_actions_per_block: u32,
    /// Actions per player per era.
    #[serde(default = "default_max_actions_per_era")]
    pub max_actions_per_era: u32,
    /// `(account, name)` of players registered at genesis.
    #[serde(default)]
    pub players: Vec<(AccountId32, String)>,
}

fn default_max_actions_per_block() -> u32 {
    DEFAULT_MAX_ACTIONS_PER_BLOCK
}

fn default_max_actions_per_era() -> u32 {
    DEFAULT_MAX_ACTIONS_PER_ERA
}

impl Default for GenesisConfig {
    fn default() -> Self {
        GenesisConfig {
            resources: Vec::new(),
            recipes: Vec::new(),
            max_actions_per_block: DEFAULT_MAX_ACTIONS_PER_BLOCK,
            max_actions_per_era: DEFAULT_MAX_ACTIONS_PER_ERA,
            players: Vec::new(),
        }
    }
}

/// Why a players genesis configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// Two resources share an id.
    #[error("resource {0} is listed twice")]
    DuplicateResource(ResourceId),
    /// A resource has an empty or too long name, or an unusable yield.
    #[error("resource {0} is invalid: empty or too long name, or yield not in 1..=1000000")]
    InvalidResource(ResourceId),
    /// Two recipes share an id.
    #[error("recipe {0} is listed twice")]
    DuplicateRecipe(RecipeId),
    /// A recipe has an empty or too long name, no or too many inputs, an input twice,
    /// or a zero or oversized count.
    #[error("recipe {0} is invalid: bad name, inputs or counts")]
    InvalidRecipe(RecipeId),
    /// A recipe consumes an item that is neither a resource nor another recipe's output.
    #[error("recipe {recipe} consumes item {item}, which is neither a resource nor another recipe's output")]
    UnknownItem {
        /// The recipe.
        recipe: RecipeId,
        /// The unobtainable item.
        item: ItemId,
    },
    /// A rate limit of zero would stop every player from acting.
    #[error("the action limits per block and per era must be positive")]
    ZeroRateLimit,
    /// An account is given two players.
    #[error("account {0} is given two players")]
    DuplicatePlayer(AccountId32),
    /// A player name is empty, too long or holds control characters.
    #[error("player name {0:?} is empty, longer than 32 bytes or holds control characters")]
    InvalidName(String),
    /// Two players share a name.
    #[error("player name {0:?} is used twice")]
    NameTaken(String),
    /// The areas genesis has no active starting area to spawn players in.
    #[error("players cannot spawn: {0}")]
    NoSpawnPoint(DispatchError),
    /// An area cannot hold every genesis player placed in it.
    #[error("area {area} holds {capacity} players but genesis places {requested}")]
    AreaFull {
        /// The starting area, or the area of placed players.
        area: AreaId,
        /// Its capacity.
        capacity: u32,
        /// Players it would hold.
        requested: usize,
    },
    /// A player is placed in an area that does not exist or is not active.
    #[error("player {who} is placed in area {area}, which is not an active area")]
    PlacedInInactiveArea {
        /// The player.
        who: AccountId32,
        /// The area.
        area: AreaId,
    },
    /// A player is placed outside its area's bounds.
    #[error("player {who} is placed outside the bounds of area {area}")]
    PlacedOutsideArea {
        /// The player.
        who: AccountId32,
        /// The area.
        area: AreaId,
    },
}

impl GenesisConfig {
    fn check_items(&self) -> Result<(), GenesisError> {
        let mut resources = BTreeSet::new();
        for info in &self.resources {
            if !resources.insert(info.id) {
                return Err(GenesisError::DuplicateResource(info.id));
            }
            validate_resource(info).map_err(|_| GenesisError::InvalidResource(info.id))?;
        }
        let mut recipes = BTreeSet::new();
        for recipe in &self.recipes {
            if !recipes.insert(recipe.id) {
                return Err(GenesisError::DuplicateRecipe(recipe.id));
            }
            validate_recipe(recipe).map_err(|_| GenesisError::InvalidRecipe(recipe.id))?;
        }
        for recipe in &self.recipes {
            for (item, _) in &recipe.inputs {
                let obtainable = resources.contains(item)
                    || self
                        .recipes
                        .iter()
                        .any(|other| other.id != recipe.id && other.output.0 == *item);
                if !obtainable {
                    return Err(GenesisError::UnknownItem {
                        recipe: recipe.id,
                        item: *item,
                    });
                }
            }
        }
        Ok(())
    }

    fn check_players(&self) -> Result<(), GenesisError> {
        let mut accounts = BTreeSet::new();
        let mut names = BTreeSet::new();
        for (who, name) in &self.players {
            if !accounts.insert(who.clone()) {
                return Err(GenesisError::DuplicatePlayer(who.clone()));
            }
            validate_name(name.as_bytes()).map_err(|_| GenesisError::InvalidName(name.clone()))?;
            if !names.insert(name.as_str()) {
                return Err(GenesisError::NameTaken(name.clone()));
            }
        }
        Ok(())
    }
}

impl arceon_support::BuildGenesis for GenesisConfig {
    type Error = GenesisError;

    /// Checks the configuration and writes resources, recipes, limits and players.
    fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        self.check_items()?;
        if self.max_actions_per_block == 0 || self.max_actions_per_era == 0 {
            return Err(GenesisError::ZeroRateLimit);
        }
        self.check_players()?;
        let spawn = if self.players.is_empty() {
            None
        } else {
            let (area, position) = areas::spawn_point(ext).map_err(GenesisError::NoSpawnPoint)?;
            let capacity = areas::active_area(ext, area)
                .map_err(GenesisError::NoSpawnPoint)?
                .capacity;
            let population = AreaPopulation::get_or_default(ext, &area);
            let requested = self.players.len().saturating_add(population as usize);
            if requested > capacity as usize {
                return Err(GenesisError::AreaFull {
                    area,
                    capacity,
                    requested,
                });
            }
            Some((area, position))
        };
        for info in &self.resources {
            Resources::insert(ext, &info.id, info);
        }
        for recipe in &self.recipes {
            Recipes::insert(ext, &recipe.id, recipe);
            RecipeOutputs::mutate(ext, &recipe.output.0, |count| {
                *count = count.saturating_add(1)
            });
        }
        MaxActionsPerBlock::put(ext, &self.max_actions_per_block);
        MaxActionsPerEra::put(ext, &self.max_actions_per_era);
        if let Some((area, position)) = spawn {
            let now = current_block(ext);
            for (who, name) in &self.players {
                insert_new_player(ext, who, name.as_bytes().to_vec(), area, position, now);
            }
        }
        Ok(())
    }
}

/// Genesis placement: players registered at block 0 at a chosen point of a chosen area,
/// where [`GenesisConfig::players`] all spawn at the starting area's spawn point (a world
/// that starts populated, e.g. the fast-lane benchmark's 10,000 players over 64 areas).
/// Built after the areas and players genesis, with the same checks as registration:
/// accounts and names unused (also by the players genesis), names valid, each area
/// active, each point inside its area and each area within its capacity. Nothing is
/// written when any placement is refused.
///
/// ```json
/// { "players": [["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "alice", 3, 150000, 20000]] }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementConfig {
    /// `(account, name, area, x, y)`: the player and where it stands (milli-units).
    #[serde(default)]
    pub players: Vec<(AccountId32, String, AreaId, areas::Coord, areas::Coord)>,
}

impl PlacementConfig {
    /// Checks every placement, then registers the players where they are placed.
    pub fn build(&self, ext: &mut Ext) -> Result<(), GenesisError> {
        let mut accounts = BTreeSet::new();
        let mut names = BTreeSet::new();
        // Area -> (bounds, capacity, players placed in it).
        let mut placed: BTreeMap<AreaId, (Bounds, u32, usize)> = BTreeMap::new();
        for (who, name, area, x, y) in &self.players {
            if Players::contains_key(ext, who) || !accounts.insert(who) {
                return Err(GenesisError::DuplicatePlayer(who.clone()));
            }
            validate_name(name.as_bytes()).map_err(|_| GenesisError::InvalidName(name.clone()))?;
            if NameOwner::contains_key(ext, &name.as_bytes().to_vec())
                || !names.insert(name.as_str())
            {
                return Err(GenesisError::NameTaken(name.clone()));
            }
            let entry = match placed.entry(*area) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    let found = areas::active_area(ext, *area).map_err(|_| {
                        GenesisError::PlacedInInactiveArea {
                            who: who.clone(),
                            area: *area,
                        }
                    })?;
                    entry.insert((found.bounds, found.capacity, 0))
                }
            };
            if !entry.0.contains(&Position::new(*x, *y)) {
                return Err(GenesisError::PlacedOutsideArea {
                    who: who.clone(),
                    area: *area,
                });
            }
            entry.2 = entry.2.saturating_add(1);
        }
        for (area, (_, capacity, count)) in &placed {
            let population = AreaPopulation::get_or_default(ext, area);
            let requested = count.saturating_add(population as usize);
            if requested > *capacity as usize {
                return Err(GenesisError::AreaFull {
                    area: *area,
                    capacity: *capacity,
                    requested,
                });
            }
        }
        let now = current_block(ext);
        for (who, name, area, x, y) in &self.players {
            let position = Position::new(*x, *y);
            insert_new_player(ext, who, name.as_bytes().to_vec(), *area, position, now);
        }
        Ok(())
    }
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![
        arceon_support::metadata::constant(
            "MaxSpeedPerBlock",
            &(MAX_SPEED_PER_BLOCK),
            &["The farthest a player moves in one block."],
        ),
        arceon_support::metadata::constant(
            "MaxEnergy",
            &(MAX_ENERGY),
            &["A player's full energy."],
        ),
        arceon_support::metadata::constant(
            "MaxInventorySlots",
            &(MAX_INVENTORY_SLOTS as u32),
            &["The most item stacks a player carries."],
        ),
    ]
}

/// Shifts every block number this pallet stores down by `by` (saturating at 0), so the
/// state of block `by` can be the genesis of a new chain with the same elapsed times
/// (`export-state --chain-spec`).
///
/// Energy regained by `by` is settled first (stored as measured at `by`), so a player's
/// energy is the same at the new genesis; a block number before `by` becomes 0.
pub fn rebase(ext: &mut Ext, by: BlockNumber) {
    for (who, mut player) in Players::iter(ext) {
        player.energy = current_energy(ext, &who, &player, by);
        Players::insert(ext, &who, &player);
        EnergyUpdated::insert(ext, &who, &by);
    }
    Players::translate_values(ext, |player: &mut Player| {
        player.last_move = player.last_move.saturating_sub(by);
        player.registered_at = player.registered_at.saturating_sub(by);
        player.actions.block = player.actions.block.saturating_sub(by);
    });
    EnergyUpdated::translate_values(ext, |at: &mut BlockNumber| {
        *at = at.saturating_sub(by);
    });
}

#[cfg(test)]
mod tests;
