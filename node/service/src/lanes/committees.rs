//! Reading the lanes' committees, replaced committees (their last signers) and lane heads
//! at a new best block.
//!
//! Reading every area's committee and head on every block took 1 to 25 ms of the lane
//! thread under load (64 areas, their session keys, each a trie read). A child of the
//! block the lanes last read changes them only where it wrote: its storage changes say
//! which areas' records, committees, signers, ends or lane heads it wrote, and only
//! those are read again. Anything that can change many committees at once (an era, the
//! session keys, the session's validators, a scheduled reshape), a reorg and the first
//! block are read in full.

use std::collections::BTreeSet;

use arceon_support::StorageChanges;

use super::*;

/// A lane committee: its version and its members' signing keys.
pub(super) type CommitteeOf = (u64, Vec<[u8; 32]>);

/// The lanes' view of the chain at a block.
#[derive(Default, Clone)]
pub(super) struct LaneChain {
    /// Each active area's committee.
    pub committees: HashMap<AreaId, CommitteeOf>,
    /// Areas whose committee was replaced while the chain still holds batches of the old
    /// one: the old version and its signers.
    pub retired: HashMap<AreaId, CommitteeOf>,
    /// Each active area's lane head.
    pub heads: HashMap<AreaId, LaneHead>,
}

/// What a block can have changed of a [`LaneChain`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Touched {
    /// Anything: read every area.
    All,
    /// Only these areas' records, committees, signers or ends (`areas`), these lane
    /// heads (`heads`), and the lanes' ends if `ends`.
    Areas {
        areas: BTreeSet<AreaId>,
        heads: BTreeSet<AreaId>,
        ends: bool,
    },
}

/// The storage prefixes that say what a block touched.
pub(super) struct Prefixes {
    /// A write under one of these may change any committee.
    global: Vec<Vec<u8>>,
    /// A write under one of these changes the committee of the area in the key.
    area: Vec<Vec<u8>>,
    /// `FastLane.Ends`.
    ends: Vec<u8>,
    /// `FastLane.Lanes`.
    heads: Vec<u8>,
}

/// The pallet-and-item prefix of a storage map's key.
fn item_prefix(key: Vec<u8>) -> Vec<u8> {
    key[..32.min(key.len())].to_vec()
}

impl Prefixes {
    pub(super) fn new() -> Self {
        let mut global = arceon_runtime::queries::committee_key_prefixes();
        global.push(areas::Scheduled::key());
        Prefixes {
            global,
            area: vec![
                item_prefix(areas::Areas::key(&0)),
                item_prefix(areas::Authorities::key(&0)),
                item_prefix(fastlane::Signers::key(&0)),
            ],
            ends: item_prefix(fastlane::Ends::key(&0)),
            heads: item_prefix(fastlane::Lanes::key(&0)),
        }
    }

    /// What a block whose storage changes are `changes` touched.
    pub(super) fn touched(&self, changes: &StorageChanges) -> Touched {
        let mut areas = BTreeSet::new();
        let mut heads = BTreeSet::new();
        let mut ends = false;
        // The area id closes each per-area key: `prefix ++ twox64(id) ++ id`.
        let area_of = |key: &[u8]| {
            key.len()
                .checked_sub(4)
                .and_then(|at| AreaId::decode(&mut &key[at..]).ok())
        };
        for key in changes.keys() {
            if self.global.iter().any(|prefix| key.starts_with(prefix)) {
                return Touched::All;
            }
            let Some(area) = area_of(key) else { continue };
            if key.starts_with(&self.heads) {
                heads.insert(area);
            } else if key.starts_with(&self.ends) {
                ends = true;
                areas.insert(area);
            } else if self.area.iter().any(|prefix| key.starts_with(prefix)) {
                areas.insert(area);
            }
        }
        Touched::Areas { areas, heads, ends }
    }
}

/// Reads `area`'s committee, replaced committee and head into `chain`.
fn read_area(
    ext: &mut Ext,
    lookup: &mut fastlane::CommitteeKeys,
    area: &areas::Area,
    chain: &mut LaneChain,
) {
    let current = lookup.of(ext, area.id).ok();
    if let Some((last, keys)) = fastlane::Signers::get(ext, &area.id) {
        if current.as_ref().is_none_or(|(version, _)| *version != last) {
            chain.retired.insert(area.id, (last, keys));
        }
    }
    if !area.active {
        return;
    }
    if let Some(committee) = current {
        chain.committees.insert(area.id, committee);
    }
    chain
        .heads
        .insert(area.id, fastlane::lane_head(ext, area.id));
}

impl Worker {
    /// The lanes' view of the chain at the best block (whose state `ext` reads), from
    /// `last` (the view at the block read before) where `touched` allows.
    pub(super) fn read_lane_chain(
        &mut self,
        ext: &mut Ext,
        last: &LaneChain,
        touched: Touched,
    ) -> LaneChain {
        let mut lookup = fastlane::CommitteeKeys::new(ext);
        match touched {
            Touched::All => {
                let mut chain = LaneChain::default();
                for area in areas::all_areas(ext) {
                    read_area(ext, &mut lookup, &area, &mut chain);
                }
                self.read_endings(ext);
                chain
            }
            Touched::Areas { areas, heads, ends } => {
                let mut chain = last.clone();
                for id in &areas {
                    chain.committees.remove(id);
                    chain.retired.remove(id);
                    chain.heads.remove(id);
                    if let Some(area) = areas::area(ext, *id) {
                        read_area(ext, &mut lookup, &area, &mut chain);
                    }
                }
                for id in heads.difference(&areas) {
                    if let Some(head) = chain.heads.get_mut(id) {
                        *head = fastlane::lane_head(ext, *id);
                    }
                }
                if ends || !self.endings.is_empty() {
                    self.read_endings(ext);
                }
                chain
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(keys: &[Vec<u8>]) -> StorageChanges {
        keys.iter()
            .map(|key| (key.clone(), Some(vec![1])))
            .collect()
    }

    #[test]
    fn a_block_touches_the_areas_whose_keys_it_wrote_and_everything_when_an_era_changes() {
        let prefixes = Prefixes::new();
        let written = changes(&[
            fastlane::Lanes::key(&7),
            fastlane::Lanes::key(&9),
            areas::Authorities::key(&9),
            areas::Areas::key(&12),
            fastlane::Ends::key(&3),
            areas::Load::key(&5),
            arceon_runtime::queries::block_number_key(),
        ]);
        assert_eq!(
            prefixes.touched(&written),
            Touched::Areas {
                areas: [3, 9, 12].into(),
                heads: [7, 9].into(),
                ends: true,
            }
        );
        assert_eq!(
            prefixes.touched(&changes(&[fastlane::Lanes::key(&7)])),
            Touched::Areas {
                areas: BTreeSet::new(),
                heads: [7].into(),
                ends: false,
            }
        );
        for global in arceon_runtime::queries::committee_key_prefixes()
            .into_iter()
            .chain([areas::Scheduled::key()])
        {
            let mut key = global.clone();
            key.extend_from_slice(&[0; 12]);
            assert_eq!(
                prefixes.touched(&changes(&[fastlane::Lanes::key(&7), key])),
                Touched::All
            );
        }
    }
}
