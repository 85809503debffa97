//! GRANDPA justifications: a commit plus the headers that link every precommit's target
//! to the committed block, verified against one authority set.

use std::collections::{HashMap, HashSet};

use arceon_primitives::{BlockNumber, Header, H256};
use codec::{Decode, Encode};
use finality_grandpa::voter_set::VoterSet;

use crate::{vote_payload, AuthorityId, AuthoritySignature, Commit, FinalityError};
use sp_core::Pair as _;

/// Proof that a block is final: a commit of the set in force and the ancestry of its
/// precommits (Substrate's `GrandpaJustification` encoding).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GrandpaJustification {
    /// The round the commit was made in.
    pub round: u64,
    /// The commit: target and the precommits that finalize it.
    pub commit: Commit,
    /// Headers from each precommit target back to (excluding) the commit target.
    pub votes_ancestries: Vec<Header>,
}

impl GrandpaJustification {
    /// Decodes a justification; trailing bytes are refused.
    pub fn decode_exact(bytes: &[u8]) -> Result<Self, FinalityError> {
        let mut input = bytes;
        let justification = Self::decode(&mut input)
            .map_err(|e| FinalityError::BadJustification(format!("decode: {e}")))?;
        if !input.is_empty() {
            return Err(FinalityError::BadJustification("trailing bytes".into()));
        }
        Ok(justification)
    }

    /// Verifies that this justification finalizes `target` for set `set_id` of
    /// `authorities` (weight 1 each): every signature is valid, the precommits reach the
    /// threshold on the target, and every ancestry header is used.
    pub fn verify(
        &self,
        set_id: u64,
        authorities: &[AuthorityId],
        target: (H256, BlockNumber),
    ) -> Result<(), FinalityError> {
        let bad = |why: &str| Err(FinalityError::BadJustification(why.into()));
        if (self.commit.target_hash, self.commit.target_number) != target {
            return bad("the commit is for another block");
        }
        let voters = voter_set(authorities).ok_or(FinalityError::EmptyAuthoritySet)?;
        for signed in &self.commit.precommits {
            if !voters.contains(&signed.id) {
                return bad("a precommit is from outside the set");
            }
            let message = finality_grandpa::Message::Precommit(signed.precommit.clone());
            let payload = vote_payload(&message, self.round, set_id);
            if !sp_core::sr25519::Pair::verify(&signed.signature, &payload, &signed.id) {
                return bad("a precommit signature is invalid");
            }
        }
        let chain = AncestryChain::new(&self.votes_ancestries);
        if chain.headers.len() != self.votes_ancestries.len() {
            return bad("duplicate ancestry headers");
        }
        let result = finality_grandpa::validate_commit(&self.commit, &voters, &chain)
            .map_err(|e| FinalityError::BadJustification(format!("{e:?}")))?;
        if !result.is_valid() {
            return bad("the precommits do not finalize the target");
        }
        // Every ancestry header must lie on a precommit's route to the target.
        let mut used = HashSet::new();
        for signed in &self.commit.precommits {
            let mut cursor = signed.precommit.target_hash;
            while cursor != target.0 {
                let Some(header) = chain.headers.get(&cursor) else {
                    return bad("a precommit does not descend from the target");
                };
                used.insert(cursor);
                cursor = header.parent_hash;
            }
        }
        if used.len() != chain.headers.len() {
            return bad("unused ancestry headers");
        }
        Ok(())
    }
}

/// The voter set of `authorities`, weight 1 each.
pub fn voter_set(authorities: &[AuthorityId]) -> Option<VoterSet<AuthorityId>> {
    VoterSet::new(authorities.iter().map(|id| (*id, 1u64)))
}

/// A chain made of the given headers only.
pub(crate) struct AncestryChain {
    headers: HashMap<H256, Header>,
}

impl AncestryChain {
    pub(crate) fn new(headers: &[Header]) -> Self {
        AncestryChain {
            headers: headers.iter().map(|h| (h.hash(), h.clone())).collect(),
        }
    }
}

impl finality_grandpa::Chain<H256, BlockNumber> for AncestryChain {
    fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
        let mut route = Vec::new();
        let mut cursor = block;
        while cursor != base {
            let header = self
                .headers
                .get(&cursor)
                .ok_or(finality_grandpa::Error::NotDescendent)?;
            cursor = header.parent_hash;
            route.push(cursor);
        }
        route.pop();
        Ok(route)
    }
}

/// Signs a GRANDPA message for `round` of set `set_id`.
pub(crate) fn sign_vote(
    pair: &sp_core::sr25519::Pair,
    message: &finality_grandpa::Message<H256, BlockNumber>,
    round: u64,
    set_id: u64,
) -> AuthoritySignature {
    pair.sign(&vote_payload(message, round, set_id))
}
