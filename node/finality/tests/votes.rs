//! This node's persisted finality votes: kept while their round may still vote (so a
//! restarted voter re-sends them instead of signing different ones), forgotten once the
//! round concluded.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the assertion

use arceon_db::{Database, Pruning};
use arceon_finality::state::{self, CompletedRound, Stage, KEEP_VOTES_ROUNDS};
use arceon_finality::SignedMessage;
use arceon_primitives::{ed25519, H256};
use codec::Encode;
use sp_core::Pair as _;

fn prevote(pair: &ed25519::Pair, round: u64, target: u8) -> SignedMessage {
    let message = finality_grandpa::Message::Prevote(finality_grandpa::Prevote {
        target_hash: H256::repeat_byte(target),
        target_number: u32::from(target),
    });
    SignedMessage {
        signature: pair.sign(&(&message, round, 0u64).encode()),
        id: pair.public(),
        message,
    }
}

#[test]
fn a_completed_round_keeps_the_votes_of_rounds_that_may_still_vote_until_they_conclude() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), Pruning::Window(8)).unwrap();
    let pair = ed25519::Pair::from_seed(&[7; 32]);
    // This node prevoted in round 334, then a catch-up completed round 340: round 334
    // runs on in the background and may still vote.
    let cast = prevote(&pair, 334, 1);
    state::store_vote(&db, 0, 334, &cast).unwrap();
    let completed = CompletedRound {
        set_id: 0,
        number: 340,
        base: (H256::zero(), 0),
        votes: Vec::new(),
    };
    state::store_completed(&db, &completed, 334).unwrap();
    // A voter restarted now finds its prevote and sends it again, not another.
    assert_eq!(
        state::load_vote(&db, 0, 334, Stage::Prevote).unwrap(),
        Some(cast.clone())
    );
    assert_eq!(state::load_completed(&db).unwrap().unwrap().number, 340);
    // Once round 334 concluded, its votes go.
    state::forget_votes(&db, 0, 334).unwrap();
    assert_eq!(state::load_vote(&db, 0, 334, Stage::Prevote).unwrap(), None);
    // Rounds that never concluded go once they are far enough behind.
    state::store_vote(&db, 0, 400, &prevote(&pair, 400, 2)).unwrap();
    let later = CompletedRound {
        number: 400 + KEEP_VOTES_ROUNDS,
        ..completed
    };
    state::store_completed(&db, &later, 341).unwrap();
    assert_eq!(state::load_vote(&db, 0, 400, Stage::Prevote).unwrap(), None);
}
