//! View change: replacing a silent primary without losing a receipted action.
//!
//! - **Timeout.** A replica waits on the primary when it holds a submission not yet in
//!   a batch, or voted for a batch it has not seen certified. If it hears nothing from
//!   the primary (a valid proposal or commit) for a third of
//!   [`LaneConfig::view_timeout_ms`] it re-sends its latest vote (a lost commit is
//!   answered again); after the whole timeout it moves to the next view. It also moves
//!   on when the primary talks but nothing gets certified for [`PROGRESS_TIMEOUTS`]
//!   timeouts (votes withheld, members the primary cannot win back). Each view change
//!   since the lane last certified a batch doubles the timeout (up to 8 times): a new
//!   primary that must first catch up is not voted out at once, and a loaded lane does
//!   not run through views in a cascade.
//! - **Reports.** A member moving to view `v` stops taking the old primary's messages
//!   and has a report signed (its log beyond the chain: height, hash, parent and view of
//!   each batch, under [`report_digest`], signed in the driver's signing round like a
//!   header) and sends it to every member, with the batch bodies to `v`'s primary.
//! - **Joining.** A member joins the highest view `f + 1` members asked for (at least
//!   one of them honest and timed out). A view that does not start within its timeout
//!   (doubling, up to 8 times) gives way to the next, but only once `f + 1` members asked
//!   for it: a member that timed out alone waits for the others instead of racing ahead.
//!   A member hearing from a later view's primary (`NewView`, a proposal, a commit) or
//!   from `f + 1` members running a later view (`Status`) moves on to it. **Views never
//!   go back**: a member that reported for a view votes in no earlier one (its report
//!   must hold every vote it gave); the driver keeps the view durable
//!   ([`Lane::resume_view`]) and a restarted lane reports for it again.
//! - **The new primary**, with a quorum of reports (its own among them), computes what
//!   the view carries at each height ([`carried`]: the batch most reporters hold). A
//!   batch a quorum certified is in more than half of any quorum's reports (`n >= 4`),
//!   so it is carried. The primary gives up its own batches the view does not carry,
//!   extends its log with the carried bodies, proposes everything beyond what it knows
//!   certified again (same headers, new view), sequences the submissions it held, and
//!   announces the view with the reports (`NewView`, re-sent to members that did not
//!   vote yet).
//! - **Giving up.** Every member checks the announcement's reports and computes
//!   [`carried`] itself; it gives up ([`Output::Discard`]) its batches of earlier views
//!   that the view does not carry: no quorum can have certified them, so it may sign
//!   another header at their heights. Within a view a member signs one header per
//!   height. Two certificates at one height therefore need members that broke these
//!   rules (beyond `f` faulty members, members that followed a quorum-signed
//!   announcement may be among the double signers too).
//! - **Held submissions** go to the new primary when the view starts. A lane whose
//!   members find no working view for [`UNAVAILABLE_AFTER`] timeouts refuses what it
//!   holds and what comes (`LaneError::Unavailable`): a player behind a partition
//!   without a quorum gets an answer, not silence.
//!
//! Not handled here: members trust a view's primary about its view, so a byzantine
//! member may start a view it is primary of; it cannot break safety (what a view
//! carries is computed from signed reports), only slow the lane down. Equivocation
//! evidence and slashing are the fastlane pallet's next step.

use codec::Encode;

use super::*;

/// Timers of the view change.
#[derive(Default)]
pub(crate) struct Timer {
    /// A valid message from the current view's primary arrived since the last tick.
    pub(crate) heard: bool,
    /// This lane told the others its view once it started (a lane starting at the
    /// lane's very beginning has nothing to catch up on).
    greeted: bool,
    /// The lane resumed in a view after a restart and has not reported for it yet.
    resumed: bool,
    /// This member's batch was superseded by a certified one (it waits for the chain to
    /// move it on, and calls for no view meanwhile).
    pub(crate) dead: bool,
    now: u64,
    last_heard: u64,
    waiting_since: Option<u64>,
    last_nudge: u64,
    last_scan: u64,
    /// When this member moved to its current (not yet started) view.
    changed_ms: u64,
    /// When this member left the last view that ran.
    left_ms: u64,
    /// Views moved to since the last that ran.
    attempts: u32,
    /// View changes since this member last saw a batch certified: each doubles the
    /// running view's silence timeout ([`Lane::patience`]).
    streak: u32,
    /// The committed height last seen, and when it last grew (or the view began).
    seen_committed: u64,
    last_progress: u64,
    last_report: u64,
}

impl Timer {
    /// The timers of a lane that starts; `fresh`: at the lane's very beginning.
    pub(crate) fn starting(fresh: bool) -> Self {
        Timer {
            greeted: fresh,
            ..Timer::default()
        }
    }

    /// Lane time, for an input that carries it outside a tick.
    pub(crate) fn set_now(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// The lane resumed in a view it has to learn runs (and report for).
    pub(crate) fn resumed(&mut self) {
        self.greeted = false;
        self.resumed = true;
    }
}

/// The furthest ahead of its own view a member takes view-change messages.
const MAX_VIEW_AHEAD: u32 = 16;
/// View timeouts a replica waits for certification progress (a primary that talks but
/// gets nothing certified: withheld votes, members it cannot win back) before it moves
/// on; longer than the silence timeout, as a loaded lane is slow but not silent.
pub const PROGRESS_TIMEOUTS: u64 = 8;
/// How many times a primary re-sends its view's announcement when nothing awaits votes.
const ANNOUNCE_AGAIN: u32 = 10;
/// View timeouts without a working view after which a lane refuses submissions.
pub const UNAVAILABLE_AFTER: u64 = 8;

impl Lane {
    /// Whether this replica waits on the primary.
    fn waits(&self) -> bool {
        self.held.values().any(|held| held.at.is_none())
            || (self.tip.height > self.committed && !self.timer.dead)
    }

    /// How long this member gives the view it moved to before it moves on.
    fn backoff(&self) -> u64 {
        self.config.view_timeout_ms << self.timer.attempts.clamp(1, 4).saturating_sub(1)
    }

    /// How long a replica gives a running view's silent primary.
    fn patience(&self) -> u64 {
        self.config.view_timeout_ms << self.timer.streak.min(3)
    }

    /// Whether the lane has been without a working view for too long.
    pub(crate) fn unavailable(&self, now_ms: u64) -> bool {
        !self.active
            && now_ms.saturating_sub(self.timer.left_ms)
                >= UNAVAILABLE_AFTER * self.config.view_timeout_ms
    }

    pub(crate) fn timer_deadline(&self) -> Option<u64> {
        let t = &self.timer;
        if !self.active {
            let next = t.changed_ms + self.backoff();
            return Some(next.min(t.last_report + self.config.resend_ms));
        }
        if self.me == self.primary() {
            return None;
        }
        let scan = (!self.held.is_empty()).then(|| t.last_scan + self.config.resend_ms / 2);
        let watch = self.waits().then(|| {
            let third = self.config.view_timeout_ms / 3;
            let quiet_from = t.waiting_since.unwrap_or(t.now).max(t.last_heard);
            (quiet_from + third)
                .max(t.last_nudge + third)
                .min(quiet_from + self.patience())
        });
        [scan, watch].into_iter().flatten().min()
    }

    /// The view-change timers, at lane time `now`.
    pub(crate) fn watch(&mut self, state: &mut dyn LaneState, now: u64, out: &mut Vec<Output>) {
        let timeout = self.config.view_timeout_ms;
        self.timer.now = now;
        if !std::mem::replace(&mut self.timer.greeted, true) {
            // A lane that starts on a lane with history (a restart) says which view it is
            // in: members running that view or a later one answer, and f + 1 answers
            // move it on.
            self.timer.left_ms = now;
            self.timer.changed_ms = now;
            for to in 0..self.committee.keys.len() as MemberIndex {
                if to != self.me {
                    out.push(self.status_message(to));
                }
            }
        }
        if std::mem::take(&mut self.timer.resumed) && !self.active {
            // Back in the view it was in: it reports for it (from its restored log) like
            // any member changing to it; a running view's primary answers with its
            // announcement.
            self.start_view_change(state, self.view, out);
        }
        if std::mem::take(&mut self.timer.heard) {
            self.timer.last_heard = now;
        }
        if self.committed > self.timer.seen_committed {
            self.timer.seen_committed = self.committed;
            self.timer.last_progress = now;
            self.timer.streak = 0;
        }
        if !self.active {
            // The next view only when this one has support (f + 1 asked for it, so at
            // least one honest member timed out) and did not start: a member that timed
            // out alone waits for the others to time out too, or for the view to run.
            let support = self.changes.get(&self.view).map_or(0, BTreeMap::len);
            if support > self.committee.faults()
                && now.saturating_sub(self.timer.changed_ms) >= self.backoff()
            {
                self.start_view_change(state, self.view.saturating_add(1), out);
                return;
            }
            if self.unavailable(now) && !self.held.is_empty() {
                self.refuse_held(LaneError::Unavailable, out);
            }
            if now.saturating_sub(self.timer.last_report) >= self.config.resend_ms {
                self.timer.last_report = now;
                self.send_report(out);
            }
            // The primary of the view starts it once its own report is signed and its
            // view rebuilt.
            self.try_start_view(state, out);
            return;
        }
        if self.me == self.primary() {
            self.timer.waiting_since = None;
            if now.saturating_sub(self.timer.last_nudge) >= self.config.resend_ms {
                self.timer.last_nudge = now;
                self.announce_again(out);
            }
            return;
        }
        // Forwards lost on the way are sent again.
        if !self.held.is_empty()
            && now.saturating_sub(self.timer.last_scan) >= self.config.resend_ms / 2
        {
            self.timer.last_scan = now;
            let to = self.primary();
            let mut due: Vec<&mut clients::Held> = self
                .held
                .values_mut()
                .filter(|held| {
                    held.at.is_none() && now.saturating_sub(held.sent_ms) >= self.config.resend_ms
                })
                .collect();
            due.sort_unstable_by_key(|held| held.seq);
            for held in due {
                held.sent_ms = now;
                for client in &held.clients {
                    out.push(Output::Forward {
                        to,
                        client: *client,
                        action: held.action.clone(),
                    });
                }
            }
        }
        if !self.waits() {
            self.timer.waiting_since = None;
            return;
        }
        let since = *self.timer.waiting_since.get_or_insert(now);
        let quiet = now.saturating_sub(since.max(self.timer.last_heard));
        let stalled =
            now.saturating_sub(since.max(self.timer.last_progress)) >= PROGRESS_TIMEOUTS * timeout;
        if quiet >= self.patience() || stalled {
            self.start_view_change(state, self.view.saturating_add(1), out);
        } else if quiet >= timeout / 3 && now.saturating_sub(self.timer.last_nudge) >= timeout / 3 {
            // The primary is quiet: our latest vote again (a lost commit is answered).
            self.timer.last_nudge = now;
            if let Some((height, (hash, Some(vote)))) =
                self.voted.range(self.committed + 1..).next_back()
            {
                out.push(self.vote_message(*height, *hash, vote.clone()));
            }
        }
    }

    /// The bodies of this member's report: its whole log, oldest first, in chunks of at
    /// most [`LaneConfig::report_chunk_bytes`] (at least one batch each, at least one
    /// chunk).
    fn report_bodies(&self) -> Vec<Vec<Batch>> {
        let mut chunks = vec![Vec::new()];
        let mut bytes = 0;
        for batch in self.log.values() {
            let size = batch.encoded_size();
            let full = chunks.last().is_some_and(|chunk| !chunk.is_empty());
            if full && bytes + size > self.config.report_chunk_bytes {
                chunks.push(Vec::new());
                bytes = 0;
            }
            bytes += size;
            if let Some(chunk) = chunks.last_mut() {
                chunk.push(batch.clone());
            }
        }
        chunks
    }

    /// Sends this member's signed report for the view it moved to: the entries to every
    /// member, the bodies too to the view's primary.
    fn send_report(&self, out: &mut Vec<Output>) {
        let Some((view, included, entries, Some(signature))) = &self.report else {
            return;
        };
        if *view != self.view {
            return;
        }
        let report = SignedReport {
            member: self.me,
            included: *included,
            entries: entries.clone(),
            signature: signature.clone(),
        };
        let primary = self.committee.primary(self.view);
        for to in 0..self.committee.keys.len() as MemberIndex {
            if to == self.me {
                continue;
            }
            let chunks = if to == primary {
                self.report_bodies()
            } else {
                vec![Vec::new()]
            };
            for batches in chunks {
                out.push(Output::Send {
                    to,
                    message: LaneMessage::ViewChange {
                        area: self.committee.area,
                        version: self.committee.version,
                        view: self.view,
                        report: report.clone(),
                        batches,
                    },
                });
            }
        }
    }

    /// The driver signed this member's report (hashed `digest`): it goes out.
    pub(crate) fn report_signed(
        &mut self,
        digest: H256,
        signature: MemberSignature,
        out: &mut Vec<Output>,
    ) {
        let Some((view, included, entries, pending @ None)) = &mut self.report else {
            return;
        };
        let ours = report_digest(
            &self.genesis,
            self.committee.area,
            self.committee.version,
            *view,
            *included,
            entries,
        );
        if ours != digest || *view != self.view || self.active {
            return;
        }
        *pending = Some(signature.clone());
        let report = SignedReport {
            member: self.me,
            included: *included,
            entries: entries.clone(),
            signature,
        };
        let bodies = (self.committee.primary(self.view) == self.me)
            .then(|| self.report_bodies().into_iter().flatten().collect());
        self.changes
            .entry(self.view)
            .or_default()
            .insert(self.me, bodies.map(|bodies| (report, bodies)));
        self.timer.last_report = self.timer.now;
        self.send_report(out);
    }

    /// Moves to view `to` (not started yet): has its report signed, then sends it to
    /// every member.
    pub(crate) fn start_view_change(
        &mut self,
        state: &mut dyn LaneState,
        to: u32,
        out: &mut Vec<Output>,
    ) {
        if to <= self.view && self.active {
            return;
        }
        let now = self.timer.now;
        if self.active {
            self.timer.left_ms = now;
            self.timer.attempts = 0;
            self.timer.streak = self.timer.streak.saturating_add(1);
        }
        self.release_primary(out);
        self.view = to;
        self.active = false;
        self.announced = None;
        self.seal_reports = None;
        self.timer.attempts = self.timer.attempts.saturating_add(1);
        self.timer.changed_ms = now;
        self.timer.last_report = now;
        self.timer.waiting_since = None;
        self.buffered.clear();
        self.changes.retain(|view, _| *view >= to);
        let entries: Vec<ReportEntry> = self
            .log
            .values()
            .map(|batch| ReportEntry {
                height: batch.header.height,
                hash: batch.header.hash(),
                parent: batch.header.parent,
                view: batch.header.view,
                voted: self.voted_view(batch.header.height),
            })
            .collect();
        // What is decided as far as this member knows: the chain's lane head, or the
        // batch the previous committee's lane was sealed at.
        let included = self.included.height.max(self.base.height);
        let digest = report_digest(
            &self.genesis,
            self.committee.area,
            self.committee.version,
            to,
            included,
            &entries,
        );
        self.report = Some((to, included, entries, None));
        out.push(Output::Sign {
            height: REPORT_HEIGHT,
            hash: digest,
        });
        self.try_start_view(state, out);
    }

    /// A member that was the running primary steps down: its open batch is sealed into
    /// its log (never proposed), and the clients of its open and in-flight batches wait
    /// on the next primary as held submissions.
    fn release_primary(&mut self, out: &mut Vec<Output>) {
        if !self.is_primary() {
            return;
        }
        if let Some((batch, clients)) = self.seal() {
            let height = batch.header.height;
            self.voted.insert(height, (batch.header.hash(), None));
            out.push(Output::Persist(batch.clone()));
            self.in_flight
                .insert(height, InFlight::new(batch, clients, self.timer.now));
        }
        let me = self.me;
        for (height, flight) in std::mem::take(&mut self.in_flight) {
            let hash = flight.batch.header.hash();
            self.voted
                .insert(height, (hash, flight.votes.get(&me).cloned()));
            for (index, client) in flight.clients {
                let (Some(action), Some(hash)) = (
                    flight.batch.actions.get(index as usize),
                    flight.hashes.get(index as usize),
                ) else {
                    continue;
                };
                let seq = self.held_seq + 1;
                let held = self.held.entry(*hash).or_insert_with(|| clients::Held {
                    clients: Vec::new(),
                    action: action.clone(),
                    at: Some(height),
                    sent_ms: 0,
                    seq,
                });
                self.held_seq = self.held_seq.max(held.seq);
                held.clients.push(client);
            }
        }
        self.sequenced.clear();
        self.announced = None;
    }

    /// Runs view `view` as a replica (its primary announced it, or others run it).
    pub(crate) fn enter_view(
        &mut self,
        state: &mut dyn LaneState,
        view: u32,
        out: &mut Vec<Output>,
    ) {
        if self.committee.primary(view) == self.me {
            // Others run a view this member is primary of, but it holds no reports
            // (it restarted): it asks for the view again; the next one follows if that
            // does not start.
            if view > self.view || self.active {
                self.start_view_change(state, view, out);
            }
            return;
        }
        if self.active && view == self.view {
            return;
        }
        self.release_primary(out);
        self.view = view;
        self.active = true;
        self.timer.attempts = 0;
        self.timer.heard = true;
        self.timer.last_progress = self.timer.now;
        self.timer.waiting_since = None;
        self.buffered.clear();
        self.changes.retain(|v, _| *v > view);
        let now = self.timer.now;
        for held in self.held.values_mut() {
            held.sent_ms = now;
        }
        self.forward_held(out);
    }

    /// Checks a signed report for `view`.
    fn report_verifies(&self, view: u32, report: &SignedReport) -> bool {
        report_valid(
            &self.genesis,
            self.committee.area,
            self.committee.version,
            &self.committee.keys,
            view,
            report,
        )
    }

    pub(crate) fn on_view_change(
        &mut self,
        state: &mut dyn LaneState,
        from: MemberIndex,
        view: u32,
        report: SignedReport,
        batches: Vec<Batch>,
        out: &mut Vec<Output>,
    ) {
        if view < self.view || (view == self.view && self.active) {
            if self.active {
                if self.me == self.primary() && view == self.view {
                    // It missed the view's start.
                    if let Some((message, _)) = &self.announced {
                        out.push(Output::Send {
                            to: from,
                            message: message.clone(),
                        });
                    }
                } else if view < self.view {
                    self.tell_status(from, out);
                }
            }
            return;
        }
        if view > self.view.saturating_add(MAX_VIEW_AHEAD)
            || report.member != from
            || !self.report_verifies(view, &report)
        {
            return;
        }
        // A member asking for a view above a running one hears which view runs: alone,
        // it returns to it (see `on_status`).
        self.tell_status(from, out);
        let mine = self.committee.primary(view) == self.me;
        let reports = self.changes.entry(view).or_default();
        match reports.get_mut(&from) {
            // Another chunk of the same report's bodies.
            Some(Some((known, bodies))) if *known == report => {
                for batch in batches {
                    let hash = batch.header.hash();
                    if bodies.len() < MAX_LOG + LOG_SLACK
                        && !bodies.iter().any(|body| body.header.hash() == hash)
                    {
                        bodies.push(batch);
                    }
                }
            }
            _ => {
                let mut batches = batches;
                batches.truncate(MAX_LOG + LOG_SLACK);
                reports.insert(from, mine.then_some((report, batches)));
            }
        }
        // Join the highest view f + 1 members asked for (or a higher one).
        let mut asked: BTreeMap<MemberIndex, u32> = BTreeMap::new();
        for (view, members) in &self.changes {
            for member in members.keys() {
                let entry = asked.entry(*member).or_insert(*view);
                *entry = (*entry).max(*view);
            }
        }
        let mut views: Vec<u32> = asked
            .iter()
            .filter(|(member, _)| **member != self.me)
            .map(|(_, view)| *view)
            .collect();
        views.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(join) = views.get(self.committee.faults()).copied() {
            if join > self.view {
                self.start_view_change(state, join, out);
                return;
            }
        }
        self.try_start_view(state, out);
    }

    /// Gives up this member's batches from `height` on (a view carries others there, or
    /// the chain went another way): its log and tip go back, and the driver rebuilds its
    /// view before it takes another proposal.
    fn give_up_from(&mut self, height: u64, out: &mut Vec<Output>) {
        let dropped = self.log.split_off(&height);
        if dropped.is_empty() {
            return;
        }
        let above = height.saturating_sub(1);
        self.tip = match self.log.get(&above) {
            Some(batch) => LaneHead {
                height: above,
                hash: batch.header.hash(),
                time_ms: batch.header.time_ms,
            },
            None => {
                self.log.clear();
                self.included.clone()
            }
        };
        let tip = self.tip.height;
        self.voted.retain(|h, _| *h <= tip);
        self.vote_views.retain(|h, _| *h <= tip);
        self.vote_views_changed = true;
        self.buffered.clear();
        self.committed = self.committed.min(tip);
        self.timer.dead = false;
        self.stale = true;
        out.push(Output::Discard { above: tip });
        self.unplace_held();
    }

    /// Marks the batches of its log that `carried` carries (above `decided`) as voted
    /// for in this member's view.
    fn mark_carried(&mut self, decided: u64, carried: &BTreeMap<u64, ReportEntry>) {
        let held: Vec<u64> = carried
            .range(decided + 1..)
            .filter(|(height, entry)| {
                self.log
                    .get(height)
                    .is_some_and(|batch| batch.header.hash() == entry.hash)
            })
            .map(|(height, _)| *height)
            .collect();
        for height in held {
            self.mark_voted(height);
        }
    }

    /// The first height where this member's log holds a batch of a view before `view`
    /// that `carried` (what `view` carries) does not carry. (Batches of `view` itself
    /// were proposed in it, on what it carries.)
    fn first_uncarried(
        &self,
        view: u32,
        decided: u64,
        carried: &BTreeMap<u64, ReportEntry>,
    ) -> Option<u64> {
        self.log
            .range(decided + 1..)
            .find(|(height, batch)| {
                batch.header.view < view
                    && carried
                        .get(height)
                        .is_none_or(|entry| entry.hash != batch.header.hash())
            })
            .map(|(height, _)| *height)
    }

    /// The new primary starts its view once a quorum reported.
    pub(crate) fn try_start_view(&mut self, state: &mut dyn LaneState, out: &mut Vec<Output>) {
        if self.active || self.primary() != self.me || self.stale {
            return;
        }
        let Some(reports) = self.changes.get(&self.view) else {
            return;
        };
        if !reports.get(&self.me).is_some_and(Option::is_some) {
            return;
        }
        let quorum = self.committee.quorum();
        // Its own report first, then the others in member order.
        let mut chosen: Vec<Report> = reports
            .get(&self.me)
            .cloned()
            .flatten()
            .into_iter()
            .collect();
        chosen.extend(
            reports
                .iter()
                .filter(|(member, _)| **member != self.me)
                .filter_map(|(_, report)| report.clone())
                .take(quorum.saturating_sub(1)),
        );
        if chosen.len() < quorum {
            return;
        }
        let signed: Vec<SignedReport> = chosen.iter().map(|(report, _)| report.clone()).collect();
        let carried = carried(&signed);
        #[cfg(any(test, feature = "broken-rules"))]
        let carried = match self.broken {
            // Its own log is all it carries.
            Some(BrokenRule::NewPrimaryIgnoresReports) => super::carried(&signed[..1]),
            None => carried,
        };
        // What the chain includes (as any reporter knows it) is decided: this member
        // starts the view once it follows the chain that far.
        let decided = signed
            .iter()
            .map(|report| report.included)
            .max()
            .unwrap_or(0)
            .max(self.base.height);
        if self.tip.height < decided {
            return;
        }
        // Its own batches the view does not carry go first: then its view is rebuilt.
        if let Some(height) = self.first_uncarried(self.view, decided, &carried) {
            self.give_up_from(height, out);
            return;
        }
        // Bodies from every report this member got for the view.
        let bodies: Vec<Batch> = reports
            .values()
            .flatten()
            .flat_map(|(_, bodies)| bodies.iter().cloned())
            .collect();
        if !self.adopt(state, &carried, bodies, out) {
            // A carried batch it cannot take yet (its body has not arrived, or it does
            // not apply on this member's view yet): the view waits for it. Starting
            // without it would let this primary sign another batch at a height a quorum
            // may have certified.
            return;
        }
        // It proposes what the view carries again: it votes for it in this view.
        self.mark_carried(decided, &carried);
        let now = self.timer.now;
        self.active = true;
        self.timer.attempts = 0;
        self.timer.dead = false;
        self.changes.retain(|view, _| *view > self.view);
        self.buffered.clear();
        self.voters.clear();
        let announcement = LaneMessage::NewView {
            area: self.committee.area,
            version: self.committee.version,
            view: self.view,
            reports: signed.clone(),
        };
        for to in 0..self.committee.keys.len() as MemberIndex {
            if to != self.me {
                out.push(Output::Send {
                    to,
                    message: announcement.clone(),
                });
            }
        }
        self.announced = Some((announcement, 0));
        if self.sealing() {
            self.seal_reports = Some(signed);
        }
        // Every batch beyond what this member knows certified is proposed again.
        self.in_flight.clear();
        self.propose_log(now, out);
        // The submissions this member held: attached where sequenced, else sequenced.
        let mut held: Vec<(H256, clients::Held)> =
            std::mem::take(&mut self.held).into_iter().collect();
        held.sort_unstable_by_key(|(_, held)| held.seq);
        for (hash, held) in held {
            let mut clients = held.clients.into_iter();
            if !self.sequenced.contains_key(&hash) {
                let Some(first) = clients.next() else {
                    continue;
                };
                // A sealing view sequences nothing new.
                let sequenced = if self.sealing() {
                    Err(LaneError::Retired)
                } else {
                    self.sequence(state, first, held.action, hash, now)
                };
                if let Err(error) = sequenced {
                    out.push(Output::Rejected {
                        client: first,
                        error: error.clone(),
                    });
                    out.extend(clients.map(|client| Output::Rejected {
                        client,
                        error: error.clone(),
                    }));
                    continue;
                }
            }
            if let Some(height) = self.sequenced.get(&hash).copied() {
                for client in clients {
                    self.attach(height, &hash, client);
                }
            }
        }
    }

    /// Extends the log with the carried batches that follow the tip. Returns whether
    /// the view can start: every carried batch beyond the tip taken, or the rest not
    /// certifiable (a carried batch that does not follow the one below it, or is
    /// malformed: a certified batch follows a certified parent, and every certified
    /// batch is carried). False while a carried batch's body is missing or it does not
    /// apply on this member's view yet.
    fn adopt(
        &mut self,
        state: &mut dyn LaneState,
        carried: &BTreeMap<u64, ReportEntry>,
        bodies: Vec<Batch>,
        out: &mut Vec<Output>,
    ) -> bool {
        let mut by_hash: BTreeMap<H256, Batch> = bodies
            .into_iter()
            .map(|batch| (batch.header.hash(), batch))
            .collect();
        while let Some(entry) = carried.get(&(self.tip.height + 1)) {
            if entry.parent != self.tip.hash {
                return true;
            }
            let Some(batch) = by_hash.remove(&entry.hash) else {
                return false;
            };
            if !self.well_formed(&batch) {
                return true;
            }
            if !self.reexecute(state, &batch) {
                return false;
            }
            out.push(Output::Persist(batch.clone()));
            self.place_held(&batch);
            self.extend_log(batch);
        }
        true
    }

    /// `NewView` from the primary of `view`: with a quorum of valid reports, this member
    /// gives up what the view does not carry and runs it.
    pub(crate) fn on_new_view(
        &mut self,
        state: &mut dyn LaneState,
        from: MemberIndex,
        view: u32,
        reports: Vec<SignedReport>,
        out: &mut Vec<Output>,
    ) {
        if from != self.committee.primary(view) || view < self.view {
            return;
        }
        let mut members = std::collections::BTreeSet::new();
        let valid = reports.len() <= self.committee.keys.len()
            && reports
                .iter()
                .all(|report| members.insert(report.member) && self.report_verifies(view, report));
        if !valid || members.len() < self.committee.quorum() {
            return;
        }
        if view > self.view || !self.active {
            self.enter_view(state, view, out);
        }
        let decided = reports
            .iter()
            .map(|report| report.included)
            .max()
            .unwrap_or(0)
            .max(self.base.height);
        let carried = carried(&reports);
        if view >= SEAL_VIEW {
            self.seal_reports = Some(reports.clone());
        }
        self.justified = Some((
            view,
            carried
                .range(decided + 1..)
                .map(|(height, entry)| (*height, entry.hash))
                .collect(),
        ));
        if let Some(height) = self.first_uncarried(view, decided, &carried) {
            self.give_up_from(height, out);
        }
        // What it holds of what the view carries, it takes as this view's.
        self.mark_carried(decided, &carried);
        // Proposals that waited for the view's proof.
        self.accept_next(state, out);
    }

    /// The primary re-sends its view's announcement to members that did not vote in it
    /// yet (a few times).
    pub(crate) fn announce_again(&mut self, out: &mut Vec<Output>) {
        let waiting = !self.in_flight.is_empty();
        let Some((message, sent)) = &mut self.announced else {
            return;
        };
        // While batches wait for votes, a member that has not voted may lack the
        // announcement's justification (it was cut off when it went out).
        if *sent >= ANNOUNCE_AGAIN && !waiting {
            return;
        }
        *sent += 1;
        for to in 0..self.committee.keys.len() as MemberIndex {
            if to != self.me && !self.voters.contains(&to) {
                out.push(Output::Send {
                    to,
                    message: message.clone(),
                });
            }
        }
    }

    fn status_message(&self, to: MemberIndex) -> Output {
        Output::Send {
            to,
            message: LaneMessage::Status {
                area: self.committee.area,
                version: self.committee.version,
                view: self.view,
                running: self.active,
            },
        }
    }

    /// Tells a member of an older view which view this member runs.
    pub(crate) fn tell_status(&self, to: MemberIndex, out: &mut Vec<Output>) {
        if self.active {
            out.push(self.status_message(to));
        }
    }

    /// A member is in `view` (`running`: it runs): once `f + 1` members run a view at
    /// or above this member's, it moves on to it.
    pub(crate) fn on_status(
        &mut self,
        state: &mut dyn LaneState,
        from: MemberIndex,
        view: u32,
        running: bool,
        out: &mut Vec<Output>,
    ) {
        if view < self.view || (view == self.view && !running) {
            // It is behind, or waits to learn that its view runs: tell it ours.
            self.tell_status(from, out);
        }
        if !running {
            return;
        }
        let entry = self.statuses.entry(from).or_insert(view);
        *entry = (*entry).max(view);
        let mut views: Vec<u32> = self.statuses.values().copied().collect();
        views.sort_unstable_by(|a, b| b.cmp(a));
        let Some(running) = views.get(self.committee.faults()).copied() else {
            return;
        };
        // A view f + 1 members run is real (one of them is honest): a member behind it
        // moves on to it. Views never go back: a member that reported for a view votes
        // in no earlier one (its report must hold every vote it gave).
        if running > self.view || (running == self.view && !self.active) {
            self.enter_view(state, running, out);
        }
    }
}
