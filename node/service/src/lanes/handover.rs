//! Committee handover: when an area's committee changes (an era's rebalancing, a chill,
//! a slash), the old committee's lane ends at a defined batch and the new one continues
//! after it.
//!
//! - A node serving the old committee retires its lane ([`Lane::retire`]): the members
//!   run a sealing view that carries what a quorum of them holds, has it certified and
//!   sequences nothing new. Once it is all certified the lane is sealed; the node sends
//!   the proof ([`Seal`]: a quorum of signed reports and the last batch) to every member
//!   of the new committee (`Wire::Seals`) and drops the old lane.
//! - A node serving the new committee starts its lane once it holds a valid seal of the
//!   old committee (checked against its keys, which the chain keeps while its batches
//!   still enter blocks): after the sealed batch, its lane's durable base, even where it
//!   lacks some of the certificates below it (the seal proves them). Without a seal within [`Worker::handover_wait`] (the old committee has no
//!   quorum that answers) it starts after the last certified batch it knows, as before
//!   seals existed; a receipt of the old committee broken that way can be challenged.
//! - No wait when the chain holds no batch of an older committee and this node knows
//!   none beyond it, or when this node already ran the new committee's lane (a restart).

use super::*;

/// An area whose committee changed: the new committee, and this node's place in it.
pub(super) struct Handover {
    /// The new committee version.
    pub(super) version: u64,
    /// Its members' keys.
    pub(super) keys: Vec<[u8; 32]>,
    /// This node's index in it, if it serves it.
    pub(super) me: Option<usize>,
    /// When this node saw the change.
    pub(super) since: Instant,
}

/// The most seals one frame may carry (one per area a committee change touches).
pub(super) const MAX_SEALS_PER_FRAME: usize = 256;
/// The most seals kept for a committee change this node has not seen yet.
const MAX_UNCHECKED_SEALS: usize = 256;

impl Worker {
    /// How long a new committee's lane waits for the old one's seal.
    pub(super) fn handover_wait(&self) -> Duration {
        Duration::from_millis((4 * self.service.view_timeout_ms).max(2_000))
    }

    /// Whether a lane of `area`'s committee `version` must wait for an older
    /// committee's seal: the chain's last included batch is an older committee's, or
    /// this node knows batches of an older one beyond the chain; unless this node ran
    /// `version`'s lane already (before a restart).
    pub(super) fn awaits_seal(
        &self,
        area: AreaId,
        version: u64,
        retired: &HashMap<AreaId, (u64, Vec<[u8; 32]>)>,
    ) -> bool {
        if self
            .saved_view(area)
            .is_some_and(|(saved, _)| saved >= version)
        {
            return false;
        }
        let head = self.heads.get(&area).map_or(0, |head| head.height);
        retired.get(&area).is_some_and(|(old, _)| *old < version)
            || self
                .known
                .range((area, head + 1)..=(area, u64::MAX))
                .any(|(_, known)| known.batch.header.version < version)
    }

    /// Moves every pending handover on: retires and seals this node's old lanes, and
    /// starts the new lanes whose old one sealed (or did not in time).
    pub(super) fn hand_over(&mut self) {
        let wait = self.handover_wait();
        let areas: Vec<AreaId> = self.handovers.keys().copied().collect();
        for area in areas {
            let Some(handover) = self.handovers.get(&area) else {
                continue;
            };
            let (version, me, late) = (
                handover.version,
                handover.me,
                handover.since.elapsed() >= wait,
            );
            let keys = handover.keys.clone();
            // This node's lane of the old committee seals first.
            if let Some(lane) = self
                .lanes
                .get_mut(&area)
                .filter(|lane| lane.committee().version < version)
            {
                if !lane.sealing() {
                    log::info!(
                        "fast lane {area}: committee version {} replaced by {version}: sealing its lane",
                        lane.committee().version
                    );
                    let outputs = lane.retire(&mut self.overlay, unix_ms());
                    self.carry_out(area, outputs);
                }
                let sealed = self.lanes.get(&area).and_then(Lane::sealed);
                let old = self
                    .lanes
                    .get(&area)
                    .map_or(0, |lane| lane.committee().version);
                // Another member's seal ends it too (this member may have missed the
                // last commit).
                let proven = self
                    .seals
                    .get(&area)
                    .is_some_and(|seal| seal.version == old);
                match sealed {
                    Some(seal) => {
                        log::info!(
                            "fast lane {area}: version {} sealed after batch {} (view {})",
                            seal.version,
                            seal.head.height,
                            seal.view
                        );
                        self.send_seal(&seal, &keys);
                        self.seals.insert(area, seal);
                        self.lanes.remove(&area);
                    }
                    None if proven => {
                        self.lanes.remove(&area);
                    }
                    None if !late => continue,
                    None => {
                        log::warn!(
                            "fast lane {area}: the old committee did not seal its lane within {} ms; it stops here",
                            wait.as_millis()
                        );
                        self.lanes.remove(&area);
                    }
                }
            }
            let Some(index) = me else {
                self.handovers.remove(&area);
                continue;
            };
            let head = self.heads.get(&area).cloned().unwrap_or_default();
            let certified = self.certified_tip(area, &head);
            let end = match self.seals.get(&area).filter(|seal| seal.version < version) {
                // The seal proves every batch up to its head certified: the new lane
                // continues after it even where this node lacks some certificates (it
                // catches up on them; starting lower would sign over them).
                Some(seal) if seal.head.height > head.height => seal.head.clone(),
                Some(_) => head.clone(),
                None if !late => continue,
                None => {
                    log::warn!(
                        "fast lane {area}: no seal of the old committee within {} ms; version {version} continues after batch {}, the last certified one this node knows",
                        wait.as_millis(),
                        certified.height
                    );
                    certified
                }
            };
            self.handovers.remove(&area);
            // What the old committee sealed beyond the chain and no quorum certified
            // can never enter a block.
            self.discard(area, end.height);
            // The new lane's base, durable before the lane says anything: after a
            // restart it still knows where the old lane ended.
            let base = (version, end.clone()).encode();
            let key = base_key(area);
            if let Err(e) = self
                .service
                .client
                .aux_put(&[(key.as_slice(), Some(base.as_slice()))])
            {
                log::warn!("fast lane {area}: cannot keep where the new lane starts: {e}");
            }
            log::info!(
                "fast lane {area}: committee version {version} takes over after batch {}",
                end.height
            );
            self.start_lane(area, version, keys, index);
        }
    }

    /// A seal from a member of a replaced committee: kept if it proves the end of the
    /// lane of the committee the chain says is ending.
    pub(super) fn on_seal(&mut self, seal: Seal) {
        let Some((version, keys)) = self
            .retired
            .get(&seal.area)
            .filter(|(version, _)| *version == seal.version)
        else {
            // This node may not have imported the block that replaced the committee
            // yet: the seal is checked again when it does.
            if self.unchecked_seals.len() < MAX_UNCHECKED_SEALS
                || self.unchecked_seals.contains_key(&seal.area)
            {
                self.unchecked_seals.insert(seal.area, seal);
            }
            return;
        };
        if seal.version != *version
            || self
                .seals
                .get(&seal.area)
                .is_some_and(|known| known.version >= seal.version)
            || !seal.verify(&self.service.genesis, keys)
        {
            return;
        }
        log::info!(
            "fast lane {}: version {} sealed after batch {} (seal received)",
            seal.area,
            seal.version,
            seal.head.height
        );
        // The next round's handover step takes it.
        self.seals.insert(seal.area, seal);
    }

    /// Checks the seals that came before this node saw their committee replaced.
    pub(super) fn recheck_seals(&mut self) {
        let seals: Vec<Seal> = std::mem::take(&mut self.unchecked_seals)
            .into_values()
            .filter(|seal| {
                self.retired
                    .get(&seal.area)
                    .is_none_or(|(version, _)| *version <= seal.version)
            })
            .collect();
        for seal in seals {
            self.on_seal(seal);
        }
    }

    /// A peer holding `keys` (re)connected: it gets the seals this node holds of every
    /// lane whose committee in force it is a member of and that continues a sealed one.
    /// A member of a new committee that restarted after the seals went out then starts
    /// after the seal instead of waiting for [`Worker::handover_wait`] and falling back.
    pub(super) fn send_seals_to(&self, peer: PeerId, keys: &[[u8; 32]]) {
        let seals: Vec<Seal> = {
            let shared = self.service.shared.lock();
            self.seals
                .iter()
                .filter(|(area, seal)| {
                    shared
                        .committees
                        .get(*area)
                        .is_some_and(|(version, members)| {
                            *version > seal.version && members.iter().any(|key| keys.contains(key))
                        })
                })
                .map(|(_, seal)| seal.clone())
                .collect()
        };
        // One per frame, as they go out at sealing (each carries a quorum's reports).
        for seal in seals {
            self.service.send_wire(peer, &Wire::Seals(vec![seal]));
        }
    }

    /// Sends `seal` to every member of the new committee (`keys`) this node is
    /// connected to.
    fn send_seal(&self, seal: &Seal, keys: &[[u8; 32]]) {
        let peers: std::collections::BTreeSet<PeerId> = {
            let shared = self.service.shared.lock();
            keys.iter()
                .filter_map(|key| shared.key_peers.get(key).copied())
                .collect()
        };
        for peer in peers {
            self.service
                .send_wire(peer, &Wire::Seals(vec![seal.clone()]));
        }
    }
}
