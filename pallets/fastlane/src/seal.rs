//! Lane seals: proof that a committee's lane ended at a batch.
//!
//! When a committee stops running its area's lane (its version is replaced, or the area
//! is about to split or merge), its members run sealing views (from [`SEAL_VIEW`] on)
//! that carry what a quorum of them holds and sequence nothing new. A quorum of signed
//! view-change reports for such a view, with the last batch, is the [`Seal`]. Nodes
//! hand seals to the next committee; the chain takes them in `FastLane.end_lane`,
//! before an area is reshaped, so that the reshape waits for every receipted batch.
//!
//! Report digest (what a member signs, in a signing round like batch headers): blake2-256
//! of `b"arceon/lane-report/v1" ++ SCALE(genesis, area, version, view, included,
//! entries)`, where each entry is `(height u64, hash, parent, view u32, voted u32)`.

use std::collections::BTreeMap;

use arceon_pallet_areas::AreaId;
use arceon_primitives::H256;
use codec::{Decode, Encode};

use crate::{quorum, sigcache, LaneHead, MemberSignature};

/// Index of a member in its committee (primary of view 0 first).
pub type MemberIndex = u8;

/// The most entries one report may hold: a lane's log beyond the chain is bounded.
pub const MAX_REPORT_ENTRIES: usize = 528;

/// One batch of a member's view-change report.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ReportEntry {
    /// Its height.
    pub height: u64,
    /// Its header hash.
    pub hash: H256,
    /// Its parent's header hash.
    pub parent: H256,
    /// The view it was first proposed in.
    pub view: u32,
    /// The last view the reporter voted for it in: proposed it, voted for it, or took
    /// it as carried by that view's announcement. (Votes sign the header alone, so a
    /// batch first proposed in one view may be certified in a later one.)
    pub voted: u32,
}

/// A member's report for a view change, signed with its session key (in a signing
/// round, like headers: the signed leaf is [`report_digest`], which no header hashes
/// to).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct SignedReport {
    /// The reporting member.
    pub member: MemberIndex,
    /// The lane height the chain includes as far as the member knows: batches at or
    /// below it are decided, whatever a view carries.
    pub included: u64,
    /// Every batch of its log beyond the chain, in height order.
    pub entries: Vec<ReportEntry>,
    /// Its signature of the report's digest.
    pub signature: MemberSignature,
}

/// Domain tag of report digests.
const REPORT_TAG: &[u8] = b"arceon/lane-report/v1";

/// The digest a member signs for its report (`included`, `entries`) for `view` of a
/// lane.
pub fn report_digest(
    genesis: &H256,
    area: AreaId,
    version: u64,
    view: u32,
    included: u64,
    entries: &[ReportEntry],
) -> H256 {
    let mut bytes = REPORT_TAG.to_vec();
    (genesis, area, version, view, included, entries).encode_to(&mut bytes);
    H256(arceon_primitives::blake2_256(&bytes))
}

/// The first of a committee's sealing views ([`Lane::retire`]): views from here on
/// carry what the lane holds and sequence nothing new.
pub const SEAL_VIEW: u32 = u32::MAX - 1_024;

/// Proof that a committee's lane ended at `head`: a quorum of its members' signed
/// reports for one of its sealing views. Every batch a quorum of that committee
/// certified is carried by those reports ([`carried`]), and the sealing view
/// certified everything it carried, up to `head`; a member that reported for a
/// sealing view signs nothing in any earlier view. So the next committee version
/// continues after `head` without contradicting a receipt of the old one.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Seal {
    /// The area.
    pub area: AreaId,
    /// The sealed committee version.
    pub version: u64,
    /// The sealing view the reports are for (at least [`SEAL_VIEW`]).
    pub view: u32,
    /// The lane's last batch: certified, or the chain's head when nothing lay beyond.
    pub head: LaneHead,
    /// A quorum of the committee's reports for `view`.
    pub reports: Vec<SignedReport>,
}

impl Seal {
    /// Checks the seal against the sealed committee's member keys: a quorum of distinct
    /// members' valid reports for a sealing view, `head` at or above what any of them
    /// knew included, and nothing the reports carry continuing after `head`.
    pub fn verify(&self, genesis: &H256, keys: &[[u8; 32]]) -> bool {
        let mut members = std::collections::BTreeSet::new();
        let valid = self.view >= SEAL_VIEW
            && self.reports.len() <= keys.len()
            && self.reports.iter().all(|report| {
                members.insert(report.member)
                    && report_valid(genesis, self.area, self.version, keys, self.view, report)
            });
        valid && members.len() >= quorum(keys.len()) && self.ends_what_it_carries()
    }

    /// `head` is at or above what any reporter knew included, and nothing the reports
    /// carry continues after it.
    pub fn ends_what_it_carries(&self) -> bool {
        let decided = self.reports.iter().map(|r| r.included).max().unwrap_or(0);
        let carried = carried(&self.reports);
        self.head.height >= decided
            && carried
                .get(&(self.head.height + 1))
                .is_none_or(|entry| entry.parent != self.head.hash)
    }
}

/// Whether `report` is member `report.member`'s valid report for `view` of the lane of
/// `area` under committee `version` (`keys`).
pub fn report_valid(
    genesis: &H256,
    area: AreaId,
    version: u64,
    keys: &[[u8; 32]],
    view: u32,
    report: &SignedReport,
) -> bool {
    let Some(key) = keys.get(usize::from(report.member)) else {
        return false;
    };
    let digest = report_digest(
        genesis,
        area,
        version,
        view,
        report.included,
        &report.entries,
    );
    report.entries.len() <= MAX_REPORT_ENTRIES && verify_member(&digest, &report.signature, key)
}

/// What a view carries at each height, from a quorum of reports: the batch some
/// reporter voted for in the latest view (then the one most reporters hold, then the
/// lower hash). A batch a quorum certified (in whatever view `v` its last vote came) has
/// a voter in every quorum of reporters, who reports it voted in `v` or later; and every
/// view after `v` carried it, so no member voted for another batch at its height in a
/// view after `v`: it is carried. A batch not carried was certified by no quorum, and
/// its voters may sign another at its height. (Counting holders alone is not enough: in
/// a committee of three, two quorums share one member, and a certified batch can tie
/// with an uncertified one first proposed in a later view.)
pub fn carried(reports: &[SignedReport]) -> BTreeMap<u64, ReportEntry> {
    let mut counts: BTreeMap<u64, BTreeMap<H256, (usize, ReportEntry)>> = BTreeMap::new();
    for report in reports {
        for entry in &report.entries {
            let candidate = counts
                .entry(entry.height)
                .or_default()
                .entry(entry.hash)
                .or_insert((0, entry.clone()));
            candidate.0 += 1;
            candidate.1.voted = candidate.1.voted.max(entry.voted);
        }
    }
    counts
        .into_iter()
        .filter_map(|(height, candidates)| {
            candidates
                .into_values()
                .max_by_key(|(count, entry)| (entry.voted, *count, std::cmp::Reverse(entry.hash)))
                .map(|(_, entry)| (height, entry))
        })
        .collect()
}

/// Whether `signature` is member `key`'s signature of the leaf hashed `hash` (through
/// the verified-signature cache: a round's signature is verified once for all its
/// leaves).
pub fn verify_member(hash: &H256, signature: &MemberSignature, key: &[u8; 32]) -> bool {
    signature
        .message_for(hash)
        .is_some_and(|message| sigcache::verify(&message, &signature.signature, key))
}
