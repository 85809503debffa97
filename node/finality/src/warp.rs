//! Warp proofs: the chain of justifications that proves a block final from the genesis
//! authority set (one per authority-set change, then the target's own). Verified by warp
//! sync and by snapshot import; built by the serving node ([`crate::Finality::warp_proof`])
//! and offline from a stopped node's database ([`proof_to`], for snapshots).

use arceon_client::Client;
use arceon_primitives::{ed25519, BlockNumber, Header, H256};
use arceon_runtime::grandpa::scheduled_change;
use codec::{Decode, Encode};
use sp_core::Pair as _;

use crate::state::{self, AuthoritySetState};
use crate::wire::{WarpFragment, WarpProof};
use crate::{vote_payload, Commit, FinalityError, GrandpaJustification};

/// A block proven final by a warp proof, and the set in force after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarpTarget {
    /// The proven finalized header.
    pub header: Header,
    /// Its encoded justification.
    pub justification: Vec<u8>,
    /// The set in force from this block on.
    pub set_id: u64,
    /// Its authorities.
    pub authorities: Vec<ed25519::Public>,
}

/// The finality records to store in the same write as a base block proven by `target`
/// (the authority set in force from it), as aux `(key, value)` pairs.
pub fn base_records(target: &WarpTarget) -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![state::set_record(&warp_target_set(target))]
}

/// The stored header of `hash` and its justification, as a proof fragment.
pub(crate) fn fragment(client: &Client, hash: &H256) -> Result<WarpFragment, FinalityError> {
    let header = client
        .header(hash)?
        .ok_or(FinalityError::UnknownBlock(*hash))?;
    let bytes = client
        .justification(hash)?
        .ok_or(FinalityError::MissingJustification(header.number))?;
    Ok(WarpFragment {
        header,
        justification: GrandpaJustification::decode_exact(&bytes)?,
    })
}

/// Builds, from a database alone, the encoded [`WarpProof`] of the finalized block
/// `target`: the justification of every authority-set change below it (found in the
/// headers from block 1 on), then the target's. Fails when a header is missing (a
/// database that itself starts at a warp base) or a needed justification is not stored.
/// `progress` is called with the block number reached while scanning headers.
pub fn proof_to(
    client: &Client,
    target: &H256,
    mut progress: impl FnMut(BlockNumber),
) -> Result<Vec<u8>, FinalityError> {
    let header = client
        .header(target)?
        .ok_or(FinalityError::UnknownBlock(*target))?;
    if header.number > client.finalized().0 || client.hash(header.number)? != Some(*target) {
        return Err(FinalityError::BadWarpProof(format!(
            "#{} {target:?} is not finalized",
            header.number
        )));
    }
    let mut fragments = Vec::new();
    for number in 1..header.number {
        let hash = client
            .hash(number)?
            .ok_or_else(|| FinalityError::BadWarpProof(format!("block #{number} is not stored")))?;
        let stored = client
            .header(&hash)?
            .ok_or(FinalityError::UnknownBlock(hash))?;
        if scheduled_change(&stored.digest).is_some() {
            fragments.push(fragment(client, &hash)?);
        }
        if number % 1024 == 0 {
            progress(number);
        }
    }
    fragments.push(fragment(client, target)?);
    progress(header.number);
    Ok(WarpProof {
        fragments,
        is_finished: true,
    }
    .encode())
}

/// A justification of `target` in `round` of set `set_id`, precommitted by every key in
/// `voters` (which must be at least the set's threshold to verify). For tools that make
/// chains with known keys (`benchmark make-chain`); voters sign through their keystore.
pub fn sign_justification(
    voters: &[ed25519::Pair],
    set_id: u64,
    round: u64,
    target: (H256, BlockNumber),
) -> GrandpaJustification {
    let precommit = finality_grandpa::Precommit {
        target_hash: target.0,
        target_number: target.1,
    };
    let payload = vote_payload(
        &finality_grandpa::Message::Precommit(precommit.clone()),
        round,
        set_id,
    );
    let precommits = voters
        .iter()
        .map(|pair| finality_grandpa::SignedPrecommit {
            precommit: precommit.clone(),
            signature: pair.sign(&payload),
            id: pair.public(),
        })
        .collect();
    GrandpaJustification {
        round,
        commit: Commit {
            target_hash: target.0,
            target_number: target.1,
            precommits,
        },
        votes_ancestries: Vec::new(),
    }
}

/// The authority set in force from a warp target on.
pub(crate) fn warp_target_set(target: &WarpTarget) -> AuthoritySetState {
    let number = target.header.number;
    AuthoritySetState {
        set_id: target.set_id,
        authorities: target.authorities.clone(),
        start: (target.header.hash(), number),
        pending: None,
        scanned: number,
        history: Vec::new(),
    }
}

/// Warp sync, client side: verifies `proof` from the genesis set; returns the proven
/// finalized header, its justification and the set then in force.
pub fn verify_warp_proof(
    genesis_authorities: &[ed25519::Public],
    proof: &[u8],
) -> Result<WarpTarget, FinalityError> {
    let mut input = proof;
    let proof = WarpProof::decode(&mut input)
        .map_err(|e| FinalityError::BadWarpProof(format!("decode: {e}")))?;
    if !input.is_empty() {
        return Err(FinalityError::BadWarpProof("trailing bytes".into()));
    }
    let count = proof.fragments.len();
    if count == 0 {
        return Err(FinalityError::BadWarpProof("no fragments".into()));
    }
    let mut set_id = 0u64;
    let mut authorities = genesis_authorities.to_vec();
    for (index, fragment) in proof.fragments.iter().enumerate() {
        let target = (fragment.header.hash(), fragment.header.number);
        fragment
            .justification
            .verify(set_id, &authorities, target)
            .map_err(|e| FinalityError::BadWarpProof(format!("fragment {index}: {e}")))?;
        match scheduled_change(&fragment.header.digest) {
            Some(Ok(change)) => {
                set_id += 1;
                authorities = change
                    .next_authorities
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
            }
            Some(Err(e)) => {
                return Err(FinalityError::BadWarpProof(format!("bad FRNK log: {e}")));
            }
            None if index + 1 != count => {
                return Err(FinalityError::BadWarpProof(format!(
                    "fragment {index} changes no set"
                )));
            }
            None => {}
        }
    }
    let last = &proof.fragments[count - 1];
    Ok(WarpTarget {
        header: last.header.clone(),
        justification: last.justification.encode(),
        set_id,
        authorities,
    })
}

/// Warp sync and snapshots, serving side.
impl crate::Finality {
    /// Warp sync, serving side: an encoded [`WarpProof`] from set `from_set_id` to the
    /// latest finalized block with a justification.
    pub fn warp_proof(&self, from_set_id: u64) -> Result<Vec<u8>, FinalityError> {
        let inner = self.inner();
        let set = inner.set.read().clone();
        if from_set_id > set.set_id {
            return Err(FinalityError::UnknownSet(from_set_id));
        }
        let mut fragments = Vec::new();
        for change in set.history.iter().filter(|c| c.set_id > from_set_id) {
            fragments.push(fragment(&inner.client, &change.block.0)?);
        }
        // The newest justification of the current set.
        let mut newest = inner
            .latest_justification
            .lock()
            .clone()
            .filter(|(_, n, _)| *n > set.start.1)
            .map(|(hash, _, bytes)| (hash, bytes));
        if newest.is_none() {
            let (finalized, _) = inner.client.finalized();
            let lowest = set.start.1.saturating_add(1);
            for n in (lowest..=finalized)
                .rev()
                .take(crate::MAX_PROOF_SCAN as usize)
            {
                let Some(hash) = inner.client.hash(n)? else {
                    continue;
                };
                if let Some(bytes) = inner.client.justification(&hash)? {
                    newest = Some((hash, bytes));
                    break;
                }
            }
        }
        if let Some((hash, bytes)) = newest {
            fragments.push(WarpFragment {
                header: inner.header(&hash)?,
                justification: GrandpaJustification::decode_exact(&bytes)?,
            });
        }
        Ok(WarpProof {
            fragments,
            is_finished: true,
        }
        .encode())
    }

    /// The finality records to store in the same write as a warp-sync base for `target`
    /// (the authority set in force from it), as aux `(key, value)` pairs.
    pub fn warp_target_records(&self, target: &WarpTarget) -> Vec<(Vec<u8>, Vec<u8>)> {
        base_records(target)
    }

    /// After a warp sync stored `target.header` with its state: adopts the proven set
    /// and follows the chain from there.
    pub fn reset_to_warp_target(&self, target: &WarpTarget) -> Result<(), FinalityError> {
        let inner = self.inner();
        let hash = target.header.hash();
        let number = target.header.number;
        let _guard = inner.set_lock.lock();
        let set = warp_target_set(target);
        state::store_set(inner.client.db(), &set)?;
        if inner.client.header(&hash)?.is_some() {
            inner
                .client
                .set_justification(&hash, &target.justification)?;
        }
        *inner.set.write() = set;
        *inner.router.lock() = crate::environment::Router::new(target.set_id);
        *inner.last_completed.lock() = None;
        *inner.latest_justification.lock() = Some((hash, number, target.justification.clone()));
        inner.set_changed.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(n: u8) -> Vec<ed25519::Pair> {
        (0..n)
            .map(|i| ed25519::Pair::from_seed(&[i + 1; 32]))
            .collect()
    }

    fn header(number: BlockNumber) -> Header {
        Header {
            parent_hash: H256::repeat_byte(number as u8),
            number,
            state_root: H256::zero(),
            extrinsics_root: H256::zero(),
            digest: Default::default(),
        }
    }

    fn proof(signers: &[ed25519::Pair], set_id: u64) -> Vec<u8> {
        let target = header(7);
        let justification = sign_justification(signers, set_id, 3, (target.hash(), 7));
        WarpProof {
            fragments: vec![WarpFragment {
                header: target,
                justification,
            }],
            is_finished: true,
        }
        .encode()
    }

    #[test]
    fn a_signed_justification_proves_the_target_to_its_set() {
        let voters = pairs(4);
        let ids: Vec<_> = voters.iter().map(|p| p.public()).collect();
        let target = verify_warp_proof(&ids, &proof(&voters[..3], 0)).expect("verifies");
        assert_eq!(target.header.number, 7);
        assert_eq!(target.set_id, 0);
        assert_eq!(target.authorities, ids);
        // Two of four is under the threshold; another set id is another signature.
        assert!(verify_warp_proof(&ids, &proof(&voters[..2], 0)).is_err());
        assert!(verify_warp_proof(&ids, &proof(&voters, 1)).is_err());
        // A stranger's keys prove nothing.
        let strangers = pairs(8).split_off(4);
        assert!(verify_warp_proof(&ids, &proof(&strangers, 0)).is_err());
    }
}
