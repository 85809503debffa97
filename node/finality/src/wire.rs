//! The finality wire formats (SCALE): gossip messages, catch-up requests and responses,
//! finality proofs and warp proofs.

use arceon_primitives::{Header, H256};
use codec::{Decode, Encode};

use crate::justification::GrandpaJustification;
use crate::{CatchUp, CompactCommit, SignedMessage};

/// A gossiped finality message.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum GossipMessage {
    /// A signed vote (primary proposal, prevote or precommit) of `round` in set `set_id`.
    #[codec(index = 0)]
    Vote {
        /// The round.
        round: u64,
        /// The authority set.
        set_id: u64,
        /// The vote, signed over `(message, round, set_id)`.
        message: SignedMessage,
    },
    /// A commit that finalizes a block in `round` of set `set_id`.
    #[codec(index = 1)]
    Commit {
        /// The round.
        round: u64,
        /// The authority set.
        set_id: u64,
        /// The commit.
        commit: CompactCommit,
    },
    /// A vote of a recent round published again while finality stalls: a voter that
    /// restarted missed it the first time, and gossip drops a message it has seen, so
    /// `nonce` makes this one new.
    #[codec(index = 2)]
    VoteAgain {
        /// The round.
        round: u64,
        /// The authority set.
        set_id: u64,
        /// Distinguishes this publication from earlier ones.
        nonce: u64,
        /// The vote, signed over `(message, round, set_id)`.
        message: SignedMessage,
    },
}

/// A request to a peer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum FinalityRequest {
    /// "Send me the votes of your last completed round": the requester is in `round`
    /// of set `set_id`. The response is an encoded [`CatchUp`].
    #[codec(index = 0)]
    CatchUp {
        /// The requester's set.
        set_id: u64,
        /// The requester's current round.
        round: u64,
    },
}

/// `grandpa_proveFinality`'s proof: the justification of `block` and the headers after
/// the requested block up to and including `block` (Substrate's `FinalityProof`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct FinalityProof {
    /// The block the justification finalizes.
    pub block: H256,
    /// Its encoded [`GrandpaJustification`].
    pub justification: Vec<u8>,
    /// Headers in `(requested, block]`, ascending.
    pub unknown_headers: Vec<Header>,
}

/// One step of a warp proof: a block and the justification that finalizes it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct WarpFragment {
    /// The block (a set-change block, or the latest finalized one).
    pub header: Header,
    /// Its justification by the set in force before it.
    pub justification: GrandpaJustification,
}

/// A warp-sync proof (Substrate's `WarpSyncProof` shape): set changes in order, then the
/// latest finalized block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct WarpProof {
    /// The fragments.
    pub fragments: Vec<WarpFragment>,
    /// Whether the last fragment is the prover's latest finalized block.
    pub is_finished: bool,
}

/// The catch-up message type, re-exported for callers decoding responses.
pub type CatchUpMessage = CatchUp;
