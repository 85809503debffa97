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
        // Everything cheap first: a forged justification must not cost signature work.
        check_vote_shape(
            self.commit.precommits.iter().map(|signed| &signed.id),
            authorities,
            MAX_VOTES_PER_VOTER,
        )
        .map_err(|why| FinalityError::BadJustification(why.into()))?;
        if self.votes_ancestries.len() > MAX_ANCESTRY_HEADERS {
            return bad("too many ancestry headers");
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
        for signed in &self.commit.precommits {
            let message = finality_grandpa::Message::Precommit(signed.precommit.clone());
            let payload = vote_payload(&message, self.round, set_id);
            if !sp_core::ed25519::Pair::verify(&signed.signature, &payload, &signed.id) {
                return bad("a precommit signature is invalid");
            }
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

/// Most precommits one voter may have in a commit or justification: its vote, and a
/// second, equivocating one.
pub const MAX_VOTES_PER_VOTER: usize = 2;
/// Most ancestry headers a justification may carry.
pub const MAX_ANCESTRY_HEADERS: usize = 4_096;

/// Checks, without any signature work, that `voters` (the ids of a set of signed votes
/// of one stage) are all in `authorities`, that no voter appears more than `per_voter`
/// times, and that the distinct voters reach the finality threshold (more than two
/// thirds, weight 1 each). A message that fails this can never be valid, however its
/// signatures turn out.
pub fn check_vote_shape<'a>(
    voters: impl Iterator<Item = &'a AuthorityId>,
    authorities: &[AuthorityId],
    per_voter: usize,
) -> Result<(), &'static str> {
    let n = authorities.len();
    if n == 0 {
        return Err("empty authority set");
    }
    let mut counts: HashMap<&AuthorityId, usize> = HashMap::new();
    let mut total = 0usize;
    for id in voters {
        total += 1;
        if total > n.saturating_mul(per_voter) {
            return Err("more votes than the set can cast");
        }
        if !authorities.contains(id) {
            return Err("a vote is from outside the set");
        }
        let count = counts.entry(id).or_default();
        *count += 1;
        if *count > per_voter {
            return Err("a voter appears too often");
        }
    }
    if total == 0 {
        return Err("no votes");
    }
    if counts.len() < threshold(n) {
        return Err("the voters do not reach the threshold");
    }
    Ok(())
}

/// Votes needed to finalize with `n` authorities of weight 1: more than two thirds.
pub fn threshold(n: usize) -> usize {
    n - (n.saturating_sub(1)) / 3
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
    pair: &sp_core::ed25519::Pair,
    message: &finality_grandpa::Message<H256, BlockNumber>,
    round: u64,
    set_id: u64,
) -> AuthoritySignature {
    pair.sign(&vote_payload(message, round, set_id))
}
