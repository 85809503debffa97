//! Finality messages as peers send them: gossiped votes and commits, catch-up responses
//! and catch-up requests. Each goes through the gadget's checks in its order (size from
//! the set, exact decode, set membership, vote shape before any signature work) against
//! a fixed set of four authorities and a fixed chain; what passes is validated as a
//! commit by `finality-grandpa` and its signatures are checked.
#![no_main]

use arceon_finality::justification::{check_vote_shape, voter_set, MAX_VOTES_PER_VOTER};
use arceon_finality::wire::{FinalityRequest, GossipMessage};
use arceon_finality::{max_message_bytes, vote_payload, CatchUp, Commit};
use arceon_fuzz::{authorities, FixedChain};
use codec::{Decode, Encode};
use sp_core::{ed25519, Pair as _};

/// Decodes exactly: trailing bytes are refused, as the gadget refuses them.
fn decode_exact<T: Decode>(bytes: &[u8]) -> Option<T> {
    let mut input = bytes;
    let value = T::decode(&mut input).ok()?;
    input.is_empty().then_some(value)
}

fn gossip(bytes: &[u8]) {
    let Some(message) = decode_exact::<GossipMessage>(bytes) else {
        return;
    };
    assert_eq!(
        message.encode(),
        bytes,
        "a decoded message re-encodes to its bytes"
    );
    match message {
        GossipMessage::Vote {
            round,
            set_id,
            message,
        } => {
            if set_id != 0 || !authorities().contains(&message.id) {
                return;
            }
            if !FixedChain::get().contains(message.target().0) {
                return;
            }
            let payload = vote_payload(&message.message, round, set_id);
            let _ = ed25519::Pair::verify(&message.signature, &payload, &message.id);
        }
        GossipMessage::Commit {
            round,
            set_id,
            commit,
        } => {
            if set_id != 0 || commit.precommits.len() != commit.auth_data.len() {
                return;
            }
            if check_vote_shape(
                commit.auth_data.iter().map(|(_, id)| id),
                authorities(),
                MAX_VOTES_PER_VOTER,
            )
            .is_err()
            {
                return;
            }
            let full: Commit = commit.into();
            let chain = FixedChain::get();
            if !chain.contains(&full.target_hash)
                || full
                    .precommits
                    .iter()
                    .any(|p| !chain.contains(&p.precommit.target_hash))
            {
                return;
            }
            let voters = voter_set(authorities()).expect("four authorities");
            let Ok(result) = finality_grandpa::validate_commit(&full, &voters, chain) else {
                return;
            };
            if !result.is_valid() {
                return;
            }
            for signed in &full.precommits {
                let message = finality_grandpa::Message::Precommit(signed.precommit.clone());
                let payload = vote_payload(&message, round, set_id);
                if !ed25519::Pair::verify(&signed.signature, &payload, &signed.id) {
                    return;
                }
            }
        }
    }
}

fn catch_up(bytes: &[u8]) {
    let Some(catch_up) = decode_exact::<CatchUp>(bytes) else {
        return;
    };
    assert_eq!(
        catch_up.encode(),
        bytes,
        "a decoded catch-up re-encodes to its bytes"
    );
    if arceon_fuzz::net::check_catch_up(&catch_up).is_err() {
        return;
    }
    let round = catch_up.round_number;
    let votes = catch_up
        .prevotes
        .iter()
        .map(|v| {
            (
                finality_grandpa::Message::Prevote(v.prevote.clone()),
                &v.signature,
                &v.id,
            )
        })
        .chain(catch_up.precommits.iter().map(|v| {
            (
                finality_grandpa::Message::Precommit(v.precommit.clone()),
                &v.signature,
                &v.id,
            )
        }));
    for (message, signature, id) in votes {
        if !ed25519::Pair::verify(signature, vote_payload(&message, round, 0), id) {
            return;
        }
    }
}

libfuzzer_sys::fuzz_target!(init: arceon_fuzz::write_seeds("finality_gossip"), |data: &[u8]| {
    let Some((kind, bytes)) = data.split_first() else {
        return;
    };
    if bytes.len() > max_message_bytes(authorities().len()) {
        return;
    }
    match kind % 3 {
        0 => gossip(bytes),
        1 => catch_up(bytes),
        _ => {
            if let Some(request) = decode_exact::<FinalityRequest>(bytes) {
                assert_eq!(request.encode(), bytes);
            }
        }
    }
});
