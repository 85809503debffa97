//! Dishonest committee members, as tests and the simulator play them: a primary that
//! seals a second batch at a height (a *fork*) and collects votes for it, and a member
//! that signs every proposal it is shown. Honest members never run this code; the
//! node only runs it behind its test flags (`--lane-equivocate`,
//! `--lane-sign-anything`), to show that two certificates at one height need a
//! dishonest signer and that the evidence punishes it.
//!
//! Sans-IO like the lane: the caller decides who is shown which proposal.

use std::collections::{BTreeMap, HashMap};

use arceon_primitives::{sr25519, H256};

use crate::{
    merkle_root, sign_round, Batch, Certificate, CertifiedBatch, LaneMessage, MemberIndex,
    MemberSignature,
};

/// A fork with the votes collected for it.
struct Fork {
    batch: Batch,
    view: u32,
    votes: BTreeMap<MemberIndex, MemberSignature>,
    certified: bool,
}

/// What an equivocating primary keeps: its forks by header hash, and which batch each
/// forks.
#[derive(Default)]
pub struct Forks {
    forks: HashMap<H256, Fork>,
    of: HashMap<H256, H256>,
}

impl Forks {
    /// Records `batch` (proposed in `view`) as a fork, with its primary's `signature`
    /// (member `primary`).
    pub fn insert(
        &mut self,
        batch: Batch,
        view: u32,
        primary: MemberIndex,
        signature: MemberSignature,
    ) {
        let hash = batch.header.hash();
        let fork = self.forks.entry(hash).or_insert_with(|| Fork {
            batch,
            view,
            votes: BTreeMap::new(),
            certified: false,
        });
        fork.votes.insert(primary, signature);
    }

    /// Whether `hash` is one of the forks.
    pub fn contains(&self, hash: &H256) -> bool {
        self.forks.contains_key(hash)
    }

    /// Whether the proposal `original` has a fork.
    pub fn forks_batch(&self, original: &H256) -> bool {
        self.of.contains_key(original)
    }

    /// The view a fork was proposed in.
    pub fn view_of(&self, hash: &H256) -> Option<u32> {
        self.forks.get(hash).map(|fork| fork.view)
    }

    /// A vote of member `from` for the fork `hash`: the fork certified, once, when the
    /// votes reach `quorum`. `None` for anything else (also for a vote that is no fork's:
    /// the caller hands that to the lane).
    pub fn vote(
        &mut self,
        hash: &H256,
        from: MemberIndex,
        signature: MemberSignature,
        quorum: usize,
    ) -> Option<CertifiedBatch> {
        let fork = self.forks.get_mut(hash)?;
        fork.votes.insert(from, signature);
        if fork.certified || fork.votes.len() < quorum {
            return None;
        }
        fork.certified = true;
        Some(CertifiedBatch {
            batch: fork.batch.clone(),
            certificate: Certificate {
                signatures: fork
                    .votes
                    .iter()
                    .map(|(member, signature)| (*member, signature.clone()))
                    .collect(),
            },
        })
    }

    /// The fork of the proposal `batch` (made in `view`) that primary `me` shows to
    /// some members, made once per batch and signed with `pair`: the batch without its
    /// last action (its player's receipt is then contested), or, for a batch of one
    /// action, the same batch one millisecond later.
    pub fn fork(
        &mut self,
        pair: &sr25519::Pair,
        me: MemberIndex,
        view: u32,
        batch: &Batch,
    ) -> (Batch, MemberSignature) {
        let original = batch.header.hash();
        if let Some(fork) = self.of.get(&original).and_then(|hash| self.forks.get(hash)) {
            let signature = fork.votes.get(&me).cloned();
            if let Some(signature) = signature {
                return (fork.batch.clone(), signature);
            }
        }
        let mut fork = batch.clone();
        if fork.actions.len() >= 2 {
            fork.actions.pop();
            fork.outcomes.pop();
            fork.header.count = fork.actions.len() as u32;
            fork.header.entries_root = merkle_root(&fork.entries());
        } else {
            fork.header.time_ms += 1;
        }
        let hash = fork.header.hash();
        let signature = sign_round(pair, &[hash]).remove(0);
        self.insert(fork.clone(), view, me, signature.clone());
        self.of.insert(original, hash);
        (fork, signature)
    }
}

/// The vote a member that signs anything sends for a proposal, with `pair`: `None` for
/// anything but a proposal.
pub fn sign_anything(pair: &sr25519::Pair, message: &LaneMessage) -> Option<LaneMessage> {
    let LaneMessage::Propose { view, batch, .. } = message else {
        return None;
    };
    let hash = batch.header.hash();
    Some(LaneMessage::Vote {
        area: batch.header.area,
        version: batch.header.version,
        view: *view,
        height: batch.header.height,
        hash,
        signature: sign_round(pair, &[hash]).remove(0),
    })
}
