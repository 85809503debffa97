//! The map held in memory while it changes: creating, splitting and merging areas, with
//! every affected neighbour list recomputed geometrically, and era changes.
//!
//! Each operation is all-or-nothing: it either leaves a map whose neighbour lists are
//! exactly the touching active areas (each within [`MAX_NEIGHBOURS`]) or, on error,
//! the map as it was. Only [`Map::store`] writes to storage, and only what changed.

use std::collections::{BTreeMap, BTreeSet};

use arceon_primitives::BlockNumber;
use arceon_support::Ext;

use crate::{
    committee, follow_change, merge_threshold, split_threshold, Area, AreaChange, AreaId, Areas,
    Bounds, Candidate, CurrentEra, Error, Load, NextAreaId, ResourceNode, MAX_AREAS, MAX_NAME_LEN,
    MAX_NEIGHBOURS, MAX_RESHAPES_PER_ERA, MAX_RESOURCES, MIN_SIDE,
};

/// Quadrant names, in child order: south-west, south-east, north-west, north-east.
const QUADRANTS: [&str; 4] = ["SW", "SE", "NW", "NE"];

/// The undo log of a running operation: the prior value of every entry it changed, in
/// order, and the prior `next_id`.
type Journal = (Vec<(AreaId, Option<Area>)>, AreaId);

/// The areas, changed in memory and written back once.
pub(crate) struct Map {
    areas: BTreeMap<AreaId, Area>,
    next_id: AreaId,
    /// Ids whose entry may differ from storage.
    touched: BTreeSet<AreaId>,
    /// While an operation runs, what undoes it on error.
    journal: Option<Journal>,
}

impl Map {
    /// Every stored area (at most [`MAX_AREAS`]).
    pub(crate) fn load(ext: &mut Ext) -> Map {
        Map {
            areas: Areas::iter(ext).into_iter().collect(),
            next_id: NextAreaId::get_or_default(ext),
            touched: BTreeSet::new(),
            journal: None,
        }
    }

    /// Writes back the entries that differ from storage.
    pub(crate) fn store(self, ext: &mut Ext) {
        for id in &self.touched {
            match self.areas.get(id) {
                Some(area) => {
                    if Areas::get(ext, id).as_ref() != Some(area) {
                        Areas::insert(ext, id, area);
                    }
                }
                None => {
                    if Areas::contains_key(ext, id) {
                        Areas::remove(ext, id);
                    }
                }
            }
        }
        if NextAreaId::get_or_default(ext) != self.next_id {
            NextAreaId::put(ext, &self.next_id);
        }
    }

    fn put(&mut self, area: Area) {
        let previous = self.areas.insert(area.id, area.clone());
        self.note(area.id, previous);
    }

    fn delete(&mut self, id: AreaId) {
        let previous = self.areas.remove(&id);
        self.note(id, previous);
    }

    fn note(&mut self, id: AreaId, previous: Option<Area>) {
        self.touched.insert(id);
        if let Some((entries, _)) = &mut self.journal {
            entries.push((id, previous));
        }
    }

    /// Runs `operation`, undoing everything it changed if it fails.
    fn atomically<R>(
        &mut self,
        operation: impl FnOnce(&mut Map) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.journal = Some((Vec::new(), self.next_id));
        let result = operation(self);
        if let Some((entries, next_id)) = self.journal.take() {
            if result.is_err() {
                for (id, previous) in entries.into_iter().rev() {
                    match previous {
                        Some(area) => self.areas.insert(id, area),
                        None => self.areas.remove(&id),
                    };
                }
                self.next_id = next_id;
            }
        }
        result
    }

    /// A fresh id.
    fn allocate(&mut self) -> Result<AreaId, Error> {
        let id = self.next_id;
        self.next_id = id.checked_add(1).ok_or(Error::TooManyAreas)?;
        Ok(id)
    }

    /// The active areas other than `id` whose bounds touch `bounds`, ascending.
    fn touching(&self, id: AreaId, bounds: &Bounds) -> Vec<AreaId> {
        self.areas
            .values()
            .filter(|area| area.active && area.id != id && area.bounds.touches(bounds))
            .map(|area| area.id)
            .collect()
    }

    /// Recomputes the neighbour lists of `ids` (inactive or missing ones get none).
    fn relink(&mut self, ids: &BTreeSet<AreaId>) -> Result<(), Error> {
        for id in ids {
            let Some(area) = self.areas.get(id) else {
                continue;
            };
            let neighbours = if area.active {
                self.touching(*id, &area.bounds)
            } else {
                Vec::new()
            };
            if neighbours.len() > MAX_NEIGHBOURS {
                return Err(Error::TooMany);
            }
            if area.neighbours != neighbours {
                let mut area = area.clone();
                area.neighbours = neighbours;
                self.put(area);
            }
        }
        Ok(())
    }

    /// Adds an active area on land no area covers; returns its id.
    pub(crate) fn create(
        &mut self,
        name: Vec<u8>,
        bounds: Bounds,
        capacity: u32,
        resources: Vec<ResourceNode>,
    ) -> Result<AreaId, Error> {
        self.atomically(|map| {
            if map.areas.len() >= MAX_AREAS {
                return Err(Error::TooManyAreas);
            }
            // Inactive areas are tiled by their descendants, so checking every area
            // (not only active ones) costs nothing and keeps merges possible.
            if map.areas.values().any(|area| area.bounds.overlaps(&bounds)) {
                return Err(Error::OverlappingArea);
            }
            let id = map.allocate()?;
            let mut affected: BTreeSet<AreaId> = map.touching(id, &bounds).into_iter().collect();
            affected.insert(id);
            map.put(Area {
                id,
                name,
                bounds,
                neighbours: Vec::new(),
                parent: None,
                children: Vec::new(),
                capacity,
                resources,
                active: true,
            });
            map.relink(&affected)?;
            Ok(id)
        })
    }

    /// Whether `id` is an active area big enough to split.
    fn splittable(area: &Area) -> bool {
        area.active && area.bounds.width() >= 2 * MIN_SIDE && area.bounds.height() >= 2 * MIN_SIDE
    }

    /// Splits the active area `id` into four quadrants at block `now`; returns their ids
    /// (south-west, south-east, north-west, north-east).
    pub(crate) fn split(&mut self, id: AreaId, now: BlockNumber) -> Result<Vec<AreaId>, Error> {
        self.atomically(|map| {
            let parent = map.areas.get(&id).cloned().ok_or(Error::UnknownArea)?;
            if !parent.active {
                return Err(Error::AreaInactive);
            }
            if !Self::splittable(&parent) {
                return Err(Error::AreaTooSmall);
            }
            if map.areas.len() + QUADRANTS.len() > MAX_AREAS {
                return Err(Error::TooManyAreas);
            }
            let mut affected: BTreeSet<AreaId> = parent.neighbours.iter().copied().collect();
            affected.extend(map.touching(id, &parent.bounds));
            let b = parent.bounds;
            let mid_x = b.min_x + b.width() / 2;
            let mid_y = b.min_y + b.height() / 2;
            let quadrants = [
                Bounds::new(b.min_x, b.min_y, mid_x, mid_y),
                Bounds::new(mid_x, b.min_y, b.max_x, mid_y),
                Bounds::new(b.min_x, mid_y, mid_x, b.max_y),
                Bounds::new(mid_x, mid_y, b.max_x, b.max_y),
            ];
            let mut children = Vec::with_capacity(QUADRANTS.len());
            for (index, (bounds, suffix)) in quadrants.into_iter().zip(QUADRANTS).enumerate() {
                let child_id = map.allocate()?;
                children.push(child_id);
                affected.insert(child_id);
                map.put(Area {
                    id: child_id,
                    name: child_name(&parent.name, suffix),
                    bounds,
                    neighbours: Vec::new(),
                    parent: Some(id),
                    children: Vec::new(),
                    capacity: share(parent.capacity, index),
                    resources: split_resources(&parent.resources, index, now),
                    active: true,
                });
            }
            map.put(Area {
                neighbours: Vec::new(),
                children: children.clone(),
                active: false,
                ..parent
            });
            map.relink(&affected)?;
            Ok(children)
        })
    }

    /// The children of `parent` if they can merge back into it.
    fn mergeable_children(&self, parent: AreaId) -> Result<Vec<AreaId>, Error> {
        let area = self.areas.get(&parent).ok_or(Error::UnknownArea)?;
        if area.active || area.children.is_empty() {
            return Err(Error::NotSplit);
        }
        for child in &area.children {
            let leaf = self.areas.get(child).is_some_and(|child| {
                child.active && child.children.is_empty() && child.parent == Some(parent)
            });
            if !leaf {
                return Err(Error::NotMergeable);
            }
        }
        Ok(area.children.clone())
    }

    /// Merges the children of the split area `parent` back into it at block `now`;
    /// returns the removed children.
    pub(crate) fn merge(&mut self, parent: AreaId, now: BlockNumber) -> Result<Vec<AreaId>, Error> {
        self.atomically(|map| {
            let children = map.mergeable_children(parent)?;
            let area = map.areas.get(&parent).cloned().ok_or(Error::UnknownArea)?;
            let bounds = area.bounds;
            let overlapped = map.areas.values().any(|other| {
                other.active && !children.contains(&other.id) && other.bounds.overlaps(&area.bounds)
            });
            if overlapped {
                return Err(Error::OverlappingArea);
            }
            let mut capacity: u32 = 0;
            let mut resources: Vec<ResourceNode> = Vec::new();
            let mut affected = BTreeSet::new();
            for child_id in &children {
                let Some(child) = map.areas.get(child_id) else {
                    return Err(Error::NotMergeable);
                };
                capacity = capacity.saturating_add(child.capacity);
                merge_resources(&mut resources, &child.resources, now);
                affected.extend(child.neighbours.iter().copied());
            }
            if resources.len() > MAX_RESOURCES {
                return Err(Error::TooMany);
            }
            for child in &children {
                map.delete(*child);
                affected.remove(child);
            }
            map.put(Area {
                active: true,
                children: Vec::new(),
                capacity,
                resources,
                ..area
            });
            affected.extend(map.touching(parent, &bounds));
            affected.insert(parent);
            map.relink(&affected)?;
            Ok(children)
        })
    }
}

/// Part `index` (of four) of `total`: the remainder goes to the first parts, so the four
/// parts sum to `total`.
fn share(total: u32, index: usize) -> u32 {
    let parts = QUADRANTS.len() as u32;
    let extra = u32::from((index as u32) < total % parts);
    total / parts + extra
}

/// Quadrant `index`'s part of every deposit, measured at `now`. Stock, cap and
/// regeneration are shared out so the four quadrants hold exactly what the parent did;
/// a quadrant whose share of a deposit's cap is zero gets none of it.
fn split_resources(
    resources: &[ResourceNode],
    index: usize,
    now: BlockNumber,
) -> Vec<ResourceNode> {
    resources
        .iter()
        .map(|node| ResourceNode {
            resource: node.resource,
            amount: share(node.amount_at(now), index),
            max: share(node.max, index),
            regen_per_block: share(node.regen_per_block, index),
            last_update: now,
        })
        .filter(|node| node.max > 0)
        .collect()
}

/// Adds `child`'s deposits, measured at `now`, into `merged` (keeping first-seen order).
fn merge_resources(merged: &mut Vec<ResourceNode>, child: &[ResourceNode], now: BlockNumber) {
    for node in child {
        let amount = node.amount_at(now);
        match merged.iter_mut().find(|m| m.resource == node.resource) {
            Some(m) => {
                m.amount = m.amount.saturating_add(amount);
                m.max = m.max.saturating_add(node.max);
                m.regen_per_block = m.regen_per_block.saturating_add(node.regen_per_block);
            }
            None => merged.push(ResourceNode {
                resource: node.resource,
                amount,
                max: node.max,
                regen_per_block: node.regen_per_block,
                last_update: now,
            }),
        }
    }
}

/// `"<parent> <suffix>"`, the parent's name cut on a character boundary to fit
/// [`MAX_NAME_LEN`].
fn child_name(parent: &[u8], suffix: &str) -> Vec<u8> {
    let room = MAX_NAME_LEN.saturating_sub(suffix.len() + 1);
    let mut cut = parent.len().min(room);
    while cut > 0 && std::str::from_utf8(&parent[..cut]).is_err() {
        cut -= 1;
    }
    let mut name = parent[..cut].to_vec();
    if !name.is_empty() {
        name.push(b' ');
    }
    name.extend_from_slice(suffix.as_bytes());
    name
}

/// Starts era `era` at block `now`: records it; splits every active area whose load
/// reached the split threshold and which is big enough (busiest first, at most
/// [`MAX_RESHAPES_PER_ERA`]); merges back every split area whose children are all
/// active leaves with a total load below the merge threshold (quietest first, at most
/// [`MAX_RESHAPES_PER_ERA`]); resets every area's load; then rebalances the committees
/// over `candidates`. An area is never split and merged in the same era: candidates for
/// both are chosen from the map as it was when the era ended. A reshape that would give
/// some area more than [`MAX_NEIGHBOURS`] neighbours (or the map more than
/// [`MAX_AREAS`] areas) is skipped. Returns the changes in the order they were made:
/// the runtime moves players, structures and NPCs accordingly.
pub fn new_era(
    ext: &mut Ext,
    era: u32,
    candidates: &[Candidate],
    now: BlockNumber,
) -> Vec<AreaChange> {
    era_change(ext, era, candidates, now, false)
}

/// [`new_era`] on a chain whose areas run fast lanes: the splits and merges it chooses
/// are scheduled ([`crate::schedule`]) instead of made, so that each waits for the lanes
/// of the areas it ends; returns nothing (the reshapes apply later, through
/// [`crate::reshape_now`]). Areas already waiting for a reshape are left out.
pub fn new_era_scheduling(ext: &mut Ext, era: u32, candidates: &[Candidate], now: BlockNumber) {
    era_change(ext, era, candidates, now, true);
}

fn era_change(
    ext: &mut Ext,
    era: u32,
    candidates: &[Candidate],
    now: BlockNumber,
    schedule: bool,
) -> Vec<AreaChange> {
    CurrentEra::put(ext, &era);
    let waiting = crate::ending_areas(ext);
    let split_at = split_threshold(ext);
    let merge_below = merge_threshold(ext);
    let mut map = Map::load(ext);
    let loads: BTreeMap<AreaId, u32> = map
        .areas
        .keys()
        .map(|id| (*id, Load::get_or_default(ext, id)))
        .collect();
    let load_of = |id: &AreaId| loads.get(id).copied().unwrap_or(0);

    let mut splits: Vec<(u32, AreaId)> = map
        .areas
        .values()
        .filter(|area| Map::splittable(area) && load_of(&area.id) >= split_at)
        .filter(|area| !waiting.contains(&area.id))
        .map(|area| (load_of(&area.id), area.id))
        .collect();
    splits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    splits.truncate(MAX_RESHAPES_PER_ERA);
    let splitting: BTreeSet<AreaId> = splits.iter().map(|(_, id)| *id).collect();

    let mut merges: Vec<(u32, AreaId)> = map
        .areas
        .values()
        .filter(|area| !area.active)
        .filter_map(|area| {
            let children = map.mergeable_children(area.id).ok()?;
            if children
                .iter()
                .any(|child| splitting.contains(child) || waiting.contains(child))
            {
                return None;
            }
            let total = children
                .iter()
                .fold(0u32, |sum, child| sum.saturating_add(load_of(child)));
            (total < merge_below).then_some((total, area.id))
        })
        .collect();
    merges.sort();
    merges.truncate(MAX_RESHAPES_PER_ERA);

    let mut changes = Vec::new();
    let mut scheduled = Vec::new();
    for (_, id) in splits {
        if let Ok(children) = map.split(id, now) {
            scheduled.push(crate::Reshape::Split { area: id });
            changes.push(AreaChange::Split {
                parent: id,
                children,
            });
        }
    }
    for (_, parent) in merges {
        if let Ok(children) = map.merge(parent, now) {
            scheduled.push(crate::Reshape::Merge { parent });
            changes.push(AreaChange::Merged {
                children,
                into: parent,
            });
        }
    }
    if schedule {
        // The map changed in memory only, so that each reshape was checked against the
        // ones before it, as they will apply.
        for reshape in scheduled {
            if !crate::push_scheduled(ext, reshape, now) {
                break;
            }
        }
        changes.clear();
    } else {
        map.store(ext);
        for change in &changes {
            follow_change(ext, change);
        }
    }
    Load::clear(ext);
    committee::rebalance(ext, candidates, now);
    changes
}
