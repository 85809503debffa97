//! The consensus wire formats the node and the runtime must agree on, defined once: the
//! GRANDPA vote as it is signed ([`FinalityVote`], the `STAGE_*` bytes and the signed
//! payload), and the equivocation proofs a node submits and the staking pallet checks
//! (two Aura seals for one slot, two GRANDPA votes for one stage of a round).
//!
//! Invariant (tested here): [`FinalityVote`] encodes byte for byte as
//! `finality_grandpa::Message::{Prevote, Precommit}` over `(H256, u32)`, so the payload
//! the node's voter signs is the payload the pallet verifies.

use arceon_primitives::{ed25519, sr25519, BlockNumber, Header, H256};
use codec::{Decode, Encode};

/// Two different blocks sealed by the same authority for the same Aura slot.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct EquivocationProof {
    /// The authority's Aura session key (sr25519); the stash behind it in the offence's
    /// era answers for it.
    pub offender: sr25519::Public,
    /// The slot both headers claim.
    pub slot: u64,
    /// One sealed header.
    pub first_header: Header,
    /// Another sealed header.
    pub second_header: Header,
}

/// A GRANDPA vote as the finality gadget signs it: `(stage, target_hash, target_number)`.
/// Its SCALE encoding is byte-for-byte that of `finality_grandpa::Message::Prevote`
/// (stage 0) or `Message::Precommit` (stage 1) over `(H256, u32)`, so the signed payload
/// `(vote, round, set_id).encode()` is exactly what the node's voter signed.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct FinalityVote {
    /// 0 for a prevote, 1 for a precommit (2, a primary proposal, is no offence).
    pub stage: u8,
    /// The block voted for.
    pub target_hash: H256,
    /// Its number.
    pub target_number: BlockNumber,
}

/// The stage byte of a prevote.
pub const STAGE_PREVOTE: u8 = 0;
/// The stage byte of a precommit.
pub const STAGE_PRECOMMIT: u8 = 1;

/// Two different GRANDPA votes by one authority in the same stage of the same round.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct VoteEquivocationProof {
    /// The authority set the votes were cast in.
    pub set_id: u64,
    /// The round.
    pub round: u64,
    /// The authority's GRANDPA session key (ed25519); the stash behind it in the
    /// offence's era answers for it.
    pub offender: ed25519::Public,
    /// One vote and its ed25519 signature over `(vote, round, set_id).encode()`.
    pub first: (FinalityVote, [u8; 64]),
    /// Another vote of the same stage and its signature.
    pub second: (FinalityVote, [u8; 64]),
}

impl VoteEquivocationProof {
    /// The bytes the voter signed for `vote`.
    pub fn signed_payload(vote: &FinalityVote, round: u64, set_id: u64) -> Vec<u8> {
        (vote, round, set_id).encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(stage: u8) -> FinalityVote {
        FinalityVote {
            stage,
            target_hash: H256::repeat_byte(7),
            target_number: 42,
        }
    }

    #[test]
    fn a_finality_vote_encodes_as_the_grandpa_message() {
        let target = finality_grandpa::Prevote {
            target_hash: H256::repeat_byte(7),
            target_number: 42u32,
        };
        let prevote = finality_grandpa::Message::<H256, u32>::Prevote(target.clone());
        let precommit =
            finality_grandpa::Message::<H256, u32>::Precommit(finality_grandpa::Precommit {
                target_hash: target.target_hash,
                target_number: target.target_number,
            });
        assert_eq!(vote(STAGE_PREVOTE).encode(), prevote.encode());
        assert_eq!(vote(STAGE_PRECOMMIT).encode(), precommit.encode());
        assert_eq!(
            VoteEquivocationProof::signed_payload(&vote(STAGE_PRECOMMIT), 9, 2),
            (precommit, 9u64, 2u64).encode()
        );
        // Decoding the message's bytes gives the vote back.
        assert_eq!(
            FinalityVote::decode(&mut &prevote.encode()[..]).expect("decodes"),
            vote(STAGE_PREVOTE)
        );
    }
}
