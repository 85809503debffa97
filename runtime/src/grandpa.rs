//! GRANDPA's on-chain part: the runtime signals finality authority-set changes in the
//! header digest. When an era change gives Aura a different authority list, the block
//! carries `Consensus(FRNK, ScheduledChange { next_authorities, delay: 0 })`; the node's
//! finality gadget switches to the new set once that block is finalized.
//!
//! Logs are deposited into `System.Digest` during execution and become the header's
//! digest when the block is finalized, so a block built and the same block re-executed on
//! import carry the same logs; import rejects a header whose digest differs.
//!
//! `Authorities` (FRAME's `Grandpa` key) holds the ed25519 voters in force from the
//! latest signalled change on (the genesis set at block 0), which is where a node reads
//! its genesis set and warp-sync clients start. `CurrentSetId` (FRAME's `Grandpa` key) counts the changes signalled so far, so it is
//! the set id the node's voters use once the signalling block is final (set 0 is the
//! genesis set); staking places vote equivocations in eras by it.

use arceon_pallet_system as system;
use arceon_primitives::{ed25519, BlockNumber, Digest, DigestItem, GRANDPA_ENGINE_ID};
use arceon_support::{storage, Ext};
use codec::{Decode, Encode};

storage! { pallet "Grandpa";
    /// The voters (ed25519 session keys) and their weights, from the latest change on.
    pub Authorities: value Vec<(ed25519::Public, u64)>;
    /// The id of the latest authority set signalled (0 until the first change).
    pub CurrentSetId: value u64;
}

/// The GRANDPA voters from the latest signalled change on, at this state.
pub fn authorities(ext: &mut Ext) -> Vec<ed25519::Public> {
    Authorities::get_or_default(ext)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// The id of the latest authority set signalled at this state.
pub fn current_set_id(ext: &mut Ext) -> u64 {
    CurrentSetId::get_or_default(ext)
}

/// Every GRANDPA authority votes with this weight.
pub const AUTHORITY_WEIGHT: u64 = 1;

/// A change of the finality authority set, as carried by a `Consensus(FRNK, ..)` log.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ScheduledChange {
    /// The next set, with each authority's vote weight.
    pub next_authorities: Vec<(ed25519::Public, u64)>,
    /// Blocks after the signalling block's finalization before the change applies
    /// (always 0 on Arceon: it applies at the signalling block).
    pub delay: BlockNumber,
}

/// Appends `item` to the digest of the block being executed.
pub fn deposit_log(ext: &mut Ext, item: DigestItem) {
    system::Digest::mutate(ext, |digest| digest.logs.push(item));
}

/// Sets the genesis voters.
pub fn set_genesis_authorities(ext: &mut Ext, authorities: &[ed25519::Public]) {
    let weighted: Vec<(ed25519::Public, u64)> = authorities
        .iter()
        .map(|id| (*id, AUTHORITY_WEIGHT))
        .collect();
    Authorities::put(ext, &weighted);
}

/// Signals that `next` becomes the finality authority set once this block is final.
pub fn schedule_change(ext: &mut Ext, next: &[ed25519::Public]) {
    let change = ScheduledChange {
        next_authorities: next.iter().map(|id| (*id, AUTHORITY_WEIGHT)).collect(),
        delay: 0,
    };
    Authorities::put(ext, &change.next_authorities);
    deposit_log(
        ext,
        DigestItem::Consensus(GRANDPA_ENGINE_ID, change.encode()),
    );
    CurrentSetId::mutate(ext, |id| *id = id.saturating_add(1));
}

/// The set change a digest signals: `None` without a FRNK log, `Some(Err)` if the log
/// does not decode.
pub fn scheduled_change(digest: &Digest) -> Option<Result<ScheduledChange, codec::Error>> {
    digest.logs.iter().find_map(|item| match item {
        DigestItem::Consensus(id, data) if *id == GRANDPA_ENGINE_ID => {
            Some(ScheduledChange::decode(&mut &data[..]))
        }
        _ => None,
    })
}
