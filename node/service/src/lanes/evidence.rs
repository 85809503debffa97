//! Equivocation evidence, and the test-only dishonest members that produce it.
//!
//! A node that holds a certified batch and is gossiped another, validly certified, at
//! the same `(area, version, height)` reports both at once as the unsigned
//! `FastLane.report_equivocation` through its own pool; block authors include it and the
//! runtime punishes the members that signed both (see the fastlane pallet). The check of
//! the second batch is the gossip validator's ([`LaneService::check_certified`]): full,
//! before anything is reported or passed on.
//!
//! `--unsafe-lane-equivocate` and `--unsafe-lane-sign-anything` make a node the
//! dishonest primary and signer of [`arceon_fastlane::byzantine`]: the primary shows
//! every replica its batch and a fork of it, in an order that splits the honest
//! replicas between them (they vote for the first they see), once per process, for the
//! first batch of two or more actions; the signer votes for every proposal it is
//! shown. The fork's certificate is gossiped like any other. In a committee of three,
//! the primary and one signer are a quorum for each batch.

use super::*;
use arceon_fastlane::byzantine;
use arceon_runtime::Call;

impl LaneService {
    /// Reports two certified batches at one lane position (both checked) to the pool.
    pub(super) fn report_equivocation(&self, known: CertifiedBatch, other: CertifiedBatch) {
        let header = &other.batch.header;
        log::warn!(
            "fast lane {}: two certified batches at height {} of committee version {} ({:?} and {:?}); reporting the members that signed both",
            header.area,
            header.height,
            header.version,
            known.batch.header.hash(),
            header.hash()
        );
        let proof = fastlane::EquivocationProof {
            first: known,
            second: other,
        };
        crate::pool_evidence(
            &self.client,
            &self.pool,
            Call::FastLane(fastlane::Call::ReportEquivocation {
                proof: Box::new(proof),
            }),
            "lane equivocation report",
        );
    }
}

impl Worker {
    /// `--unsafe-lane-equivocate`: what goes to member `to` instead of `message`. A
    /// proposal of this node's first batch of two or more actions goes out with its fork
    /// (the same fork to every member): odd members are shown the fork first, even ones
    /// the batch, so the honest replicas (which vote for the first they see) split
    /// between them; everything else goes unchanged.
    pub(super) fn maybe_equivocate(
        &mut self,
        area: AreaId,
        to: MemberIndex,
        message: LaneMessage,
    ) -> Vec<LaneMessage> {
        if !self.service.byzantine.equivocate {
            return vec![message];
        }
        let LaneMessage::Propose { view, batch, .. } = &message else {
            return vec![message];
        };
        let original = batch.header.hash();
        let first = !self.equivocated && batch.actions.len() >= 2;
        if !first && !self.forks.forks_batch(&original) {
            return vec![message];
        }
        let Some((me, pair)) = self.own_member(area) else {
            return vec![message];
        };
        let (fork, signature) = self.forks.fork(&pair, me, *view, batch);
        if first {
            self.equivocated = true;
            log::warn!(
                "fast lane {area}: --unsafe-lane-equivocate: proposing a second batch {:?} at height {} beside {original:?}",
                fork.header.hash(),
                fork.header.height
            );
        }
        let fork = LaneMessage::Propose {
            view: *view,
            batch: fork,
            signature,
        };
        if to % 2 == 1 {
            vec![fork, message]
        } else {
            vec![message, fork]
        }
    }

    /// The dishonest side of a member message from member `from` of `area`'s lane:
    /// `--unsafe-lane-sign-anything` votes for every proposal (the lane still sees it);
    /// `--unsafe-lane-equivocate` takes the votes for its fork (the lane never sees them)
    /// and gossips the fork once a quorum signed it. Returns whether the lane must not
    /// see the message.
    pub(super) fn byzantine_takes(
        &mut self,
        area: AreaId,
        from: MemberIndex,
        message: &LaneMessage,
    ) -> bool {
        let options = self.service.byzantine;
        if options.sign_anything {
            if let Some((_, pair)) = self.own_member(area) {
                if let Some(vote) = byzantine::sign_anything(&pair, message) {
                    self.queue_send(area, from, vote);
                }
            }
        }
        if !options.equivocate {
            return false;
        }
        let LaneMessage::Vote {
            hash, signature, ..
        } = message
        else {
            return false;
        };
        if !self.forks.contains(hash) {
            return false;
        }
        let Some(quorum) = self.lanes.get(&area).map(|lane| lane.committee().quorum()) else {
            return true;
        };
        if let Some(certified) = self.forks.vote(hash, from, signature.clone(), quorum) {
            log::warn!(
                "fast lane {area}: --unsafe-lane-equivocate: the second batch at height {} is certified; gossiping it",
                certified.batch.header.height
            );
            if let Some(net) = self.service.network() {
                net.publish(Topic::Lanes, certified.encode());
            }
        }
        true
    }

    /// This node's member index in `area`'s lane and its signing pair.
    fn own_member(&self, area: AreaId) -> Option<(MemberIndex, sr25519::Pair)> {
        let lane = self.lanes.get(&area)?;
        let me = lane.me();
        let key = lane.committee().keys.get(usize::from(me))?;
        let pair = self.own_keys.get(key)?.clone()?;
        Some((me, pair))
    }
}
