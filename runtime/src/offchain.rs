//! The runtime's facade for node code: the extrinsics a node builds by itself (heartbeats,
//! equivocation reports) and the chain state it reads to decide when. Node crates use
//! these instead of naming pallet calls and storage items, so a pallet's internals can
//! change without touching the node.

use arceon_consensus_primitives::{EquivocationProof, VoteEquivocationProof};
use arceon_pallet_staking as staking;
use arceon_primitives::{sr25519, AccountId32, BlockNumber, SessionKeys};
use arceon_support::Ext;
use codec::Encode;

use crate::{Call, Extrinsic};

/// The validators elected to author in the active era, with their session keys.
pub fn authoring_set(ext: &mut Ext) -> Vec<(AccountId32, SessionKeys)> {
    staking::session::authoring_set(ext)
}

/// The current session and the authoring validators that owe it a heartbeat (none
/// received yet), with the Aura key each must sign it with.
pub fn heartbeats_due(ext: &mut Ext) -> (u32, Vec<(AccountId32, sr25519::Public)>) {
    let session = staking::current_session(ext);
    let due = authoring_set(ext)
        .into_iter()
        .filter(|(validator, _)| {
            !staking::ReceivedHeartbeats::contains_key(ext, &session, validator)
        })
        .map(|(validator, keys)| (validator, keys.aura))
        .collect();
    (session, due)
}

/// `validator`'s heartbeat for `session` seen at block `number`, signed by `sign` (the
/// validator's Aura key signing the given bytes), as an unsigned extrinsic.
pub fn heartbeat(
    number: BlockNumber,
    session: u32,
    validator: AccountId32,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> Extrinsic {
    let heartbeat = staking::Heartbeat {
        block_number: number,
        session_index: session,
        validator,
    };
    let signature = sign(&heartbeat.encode());
    Extrinsic::new_unsigned(Call::Staking(staking::Call::Heartbeat {
        heartbeat,
        signature,
    }))
}

/// The call reporting two blocks sealed by one authority in one slot.
pub fn report_equivocation(proof: EquivocationProof) -> Call {
    Call::Staking(staking::Call::ReportEquivocation {
        proof: Box::new(proof),
    })
}

/// The call reporting two GRANDPA votes by one voter in one stage of a round.
pub fn report_vote_equivocation(proof: VoteEquivocationProof) -> Call {
    Call::Staking(staking::Call::ReportVoteEquivocation {
        proof: Box::new(proof),
    })
}
