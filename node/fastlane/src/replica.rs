//! A replica's side of the lane: proposals taken in height order, re-executed, persisted
//! and voted for; commits that tell it what is certified.

use super::*;

impl Lane {
    pub(crate) fn on_proposal(
        &mut self,
        state: &mut dyn LaneState,
        from: MemberIndex,
        view: u32,
        batch: Batch,
        signature: MemberSignature,
        out: &mut Vec<Output>,
    ) {
        let header = &batch.header;
        let ours = header.genesis == self.genesis
            && header.area == self.committee.area
            && header.version == self.committee.version;
        if !ours || from != self.committee.primary(view) {
            return;
        }
        if view < self.view {
            self.tell_status(from, out);
            return;
        }
        if view > self.view || !self.active {
            // The view's primary runs it: this member missed its start.
            self.enter_view(state, view, out);
        }
        if self.me == self.primary() || header.view > view {
            return;
        }
        if header.height <= self.tip.height {
            // Stale, or voted already. A re-sent proposal we voted on is answered again,
            // in case our vote was lost: the primary certifies in height order, so one
            // lost vote below our tip would otherwise stall the lane for good.
            let hash = header.hash();
            if let Some((voted, vote)) = self.voted.get(&header.height).cloned() {
                if voted == hash {
                    self.timer.heard = true;
                    self.mark_voted(header.height);
                    out.push(match vote {
                        Some(vote) => self.vote_message(header.height, hash, vote),
                        // Voted before a restart (or the signature is on its way):
                        // signing the same header again is no equivocation.
                        None => Output::Sign {
                            height: header.height,
                            hash,
                        },
                    });
                }
            } else if self
                .log
                .get(&header.height)
                .is_some_and(|held| held.header.hash() == hash)
            {
                // A batch of its log it caught up on (certified, learned from gossip):
                // a new primary that lacks the certificate proposes it again, and gets
                // this member's signature of the same header.
                self.timer.heard = true;
                self.mark_voted(header.height);
                self.voted.insert(header.height, (hash, None));
                out.push(Output::Sign {
                    height: header.height,
                    hash,
                });
            }
            return;
        }
        // A proposal beyond the tip shows a working primary (this member may only lag).
        self.timer.heard = true;
        if header.height > self.tip.height.saturating_add(1) {
            if self.buffered.len() < self.config.max_buffered {
                self.buffered.insert(header.height, (batch, signature));
            }
            return;
        }
        self.buffered.insert(header.height, (batch, signature));
        self.accept_next(state, out);
    }

    /// Accepts the buffered proposals that follow the tip, in order. One whose actions do
    /// not apply on this member's view stays buffered for [`Lane::retry`]: it may depend
    /// on another lane's batch (a player crossing in) this member has not applied yet.
    pub(crate) fn accept_next(&mut self, state: &mut dyn LaneState, out: &mut Vec<Output>) {
        if self.stale || !self.view_justified() {
            return;
        }
        while let Some((batch, signature)) = self.buffered.remove(&(self.tip.height + 1)) {
            match self.accept(state, batch, signature, out) {
                Ok(()) => {}
                Err(Some(waiting)) => {
                    self.buffered.insert(self.tip.height + 1, *waiting);
                    break;
                }
                Err(None) => break,
            }
        }
        self.buffered.retain(|height, _| *height > self.tip.height);
    }

    /// A replica restarted: it persisted (and so may have voted for) the batch at
    /// `height` beyond the chain's lane head. The batch rejoins its log, and it answers
    /// the primary's re-sent proposal of that batch with a vote again: the primary
    /// certifies in height order, so a vote lost in the crash would otherwise stall the
    /// lane for good.
    pub fn restore(&mut self, batch: Batch) {
        let height = batch.header.height;
        if height == 0 {
            return;
        }
        self.voted.insert(height, (batch.header.hash(), None));
        while self.voted.len() > MAX_VOTED {
            self.voted.pop_first();
        }
        self.vote_views.insert(height, batch.header.view);
        self.log.insert(height, batch);
    }

    /// Whether a replica holds a proposal for the next height that did not apply yet.
    pub fn is_waiting(&self) -> bool {
        !self.is_primary() && self.buffered.contains_key(&(self.tip.height + 1))
    }

    /// The driver applied batches of other lanes: tries the proposal that did not apply
    /// again (see [`Lane::is_waiting`]).
    pub fn retry(&mut self, state: &mut dyn LaneState) -> Vec<Output> {
        let mut out = Vec::new();
        if self.is_waiting() {
            self.accept_next(state, &mut out);
        }
        out
    }

    /// Checks `batch` as the next batch on the tip: its shape, and every player
    /// signature.
    pub(crate) fn well_formed(&self, batch: &Batch) -> bool {
        let header = &batch.header;
        header.height == self.tip.height.saturating_add(1)
            && header.parent == self.tip.hash
            && header.time_ms > self.tip.time_ms
            && header.genesis == self.genesis
            && header.area == self.committee.area
            && header.version == self.committee.version
            && header.view <= self.view
            && !batch.actions.is_empty()
            && batch.actions.len() <= MAX_BATCH_ACTIONS
            && batch.body_matches()
            && batch.actions.iter().all(|signed| {
                signed.action.genesis == self.genesis
                    && signed.action.area == self.committee.area
                    && signed.action.version == self.committee.version
            })
            && arceon_pallet_fastlane::verify_actions(&batch.actions)
    }

    /// Re-executes `batch` on the view; keeps its writes when every outcome is the
    /// batch's.
    pub(crate) fn reexecute(&self, state: &mut dyn LaneState, batch: &Batch) -> bool {
        state.checkpoint();
        for (action, certified) in batch.actions.iter().zip(&batch.outcomes) {
            match state.execute(&self.committee, batch.header.time_ms, action) {
                Ok(outcome) if outcome == *certified => {}
                _ => {
                    state.rollback();
                    return false;
                }
            }
        }
        state.commit();
        true
    }

    /// Checks a next-height proposal in full, re-executes it, and persists and votes.
    /// `Err(Some(proposal))`: well formed and signed, but its actions do not apply (yet)
    /// on this member's view; `Err(None)`: invalid.
    fn accept(
        &mut self,
        state: &mut dyn LaneState,
        batch: Batch,
        signature: MemberSignature,
        out: &mut Vec<Output>,
    ) -> Result<(), Option<Box<Proposal>>> {
        let Some(primary_key) = self
            .committee
            .keys
            .get(usize::from(self.primary()))
            .copied()
        else {
            return Err(None);
        };
        if !verify_member(&batch.header.hash(), &signature, &primary_key)
            || !self.well_formed(&batch)
            || !self.carried_here(&batch)
        {
            return Err(None);
        }
        if self.log.len() >= MAX_LOG + LOG_SLACK {
            // Full until the chain includes some: the proposal waits (a primary keeps to
            // MAX_LOG; this member may not have seen the chain catch up yet).
            return Err(Some(Box::new((batch, signature))));
        }
        if !self.reexecute(state, &batch) {
            return Err(Some(Box::new((batch, signature))));
        }
        self.timer.heard = true;
        self.place_held(&batch);
        out.push(Output::Persist(batch.clone()));
        self.vote(&batch, out);
        self.extend_log(batch);
        Ok(())
    }

    /// Whether this replica may vote in its view: the first view needs no proof; a later
    /// one only once its announcement showed what it carries.
    fn view_justified(&self) -> bool {
        self.view == 0
            || self
                .justified
                .as_ref()
                .is_some_and(|(view, _)| *view == self.view)
    }

    /// Whether `batch` is what the view carries at its height (or the view carries
    /// nothing there): a primary proposing another batch where a quorum's reports put
    /// one would let a certified batch be replaced.
    fn carried_here(&self, batch: &Batch) -> bool {
        match &self.justified {
            Some((view, carried)) if *view == self.view => carried
                .get(&batch.header.height)
                .is_none_or(|hash| *hash == batch.header.hash()),
            _ => self.view == 0,
        }
    }

    /// Asks for this member's signature of an accepted header; the vote leaves when it
    /// comes back (see [`Lane::signed`]).
    fn vote(&mut self, batch: &Batch, out: &mut Vec<Output>) {
        let header = &batch.header;
        let hash = header.hash();
        self.voted.insert(header.height, (hash, None));
        while self.voted.len() > MAX_VOTED {
            self.voted.pop_first();
        }
        out.push(Output::Sign {
            height: header.height,
            hash,
        });
    }

    pub(crate) fn vote_message(
        &self,
        height: u64,
        hash: H256,
        signature: MemberSignature,
    ) -> Output {
        Output::Send {
            to: self.primary(),
            message: LaneMessage::Vote {
                area: self.committee.area,
                version: self.committee.version,
                view: self.view,
                height,
                hash,
                signature,
            },
        }
    }

    /// A certified header (from the primary, or anyone: the certificate speaks for
    /// itself). A batch of this member's log is then known certified, and the actions it
    /// holds for clients get their receipts.
    pub(crate) fn on_commit(
        &mut self,
        state: &mut dyn LaneState,
        from: MemberIndex,
        view: u32,
        header: BatchHeader,
        certificate: Certificate,
        out: &mut Vec<Output>,
    ) {
        let ours = header.genesis == self.genesis
            && header.area == self.committee.area
            && header.version == self.committee.version;
        if !ours || header.height <= self.included.height {
            return;
        }
        let hash = header.hash();
        let known = self
            .recent
            .batch(header.height)
            .is_some_and(|certified| certified.batch.header.hash() == hash);
        if !known
            && arceon_pallet_fastlane::verify_certificate(
                &header,
                &certificate,
                &self.committee.keys,
            )
            .is_err()
        {
            return;
        }
        if from == self.committee.primary(view) {
            if view > self.view || (view == self.view && !self.active) {
                // The lane runs in `view`: on to it.
                self.enter_view(state, view, out);
            }
            if view == self.view && self.active {
                self.timer.heard = true;
            }
        }
        let Some(batch) = self.log.get(&header.height) else {
            return;
        };
        if batch.header.hash() != hash {
            // This member's batch at that height will never be certified: it waits for
            // the chain to move it on, without calling for views meanwhile.
            self.timer.dead = true;
            return;
        }
        if header.height > self.committed {
            self.committed = header.height;
        }
        if !known {
            let certified = CertifiedBatch {
                batch: batch.clone(),
                certificate,
            };
            self.answer_held(&certified, out);
            self.recent.insert(certified);
        }
    }
}
