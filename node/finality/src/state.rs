//! The persisted finality state: the authority set (with its history of changes and any
//! pending change), the last completed round, and every vote cast, in the database's aux
//! column. Every write is synced before it returns.

use arceon_db::Database;
use arceon_primitives::{BlockNumber, H256};
use codec::{Decode, Encode};

use crate::{AuthorityId, FinalityError, SignedMessage};

const SET_KEY: &[u8] = b"arceon:grandpa:set";
const COMPLETED_KEY: &[u8] = b"arceon:grandpa:completed";
const VOTE_PREFIX: &[u8] = b"arceon:grandpa:vote:";

/// A set change signalled in a block that is not final yet.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PendingChange {
    /// The signalling block.
    pub signal: (H256, BlockNumber),
    /// The next set.
    pub next_authorities: Vec<AuthorityId>,
}

/// A set change that happened: set `set_id` started at `block`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SetChange {
    /// The new set's id.
    pub set_id: u64,
    /// The signalling block (finalized by the previous set).
    pub block: (H256, BlockNumber),
}

/// The authority set in force.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct AuthoritySetState {
    /// Its id (0 at genesis, +1 per change).
    pub set_id: u64,
    /// Its authorities (weight 1 each).
    pub authorities: Vec<AuthorityId>,
    /// The block it started at (genesis or the signalling block).
    pub start: (H256, BlockNumber),
    /// A change signalled on the best chain and not final yet.
    pub pending: Option<PendingChange>,
    /// The highest finalized block scanned for signals.
    pub scanned: BlockNumber,
    /// Every change since genesis (or since the warp target), oldest first.
    pub history: Vec<SetChange>,
}

/// The votes of the last completed round of a set.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CompletedRound {
    /// The set.
    pub set_id: u64,
    /// The round.
    pub number: u64,
    /// The round's base.
    pub base: (H256, BlockNumber),
    /// Every vote seen in it when it completed.
    pub votes: Vec<SignedMessage>,
}

/// Which vote of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The primary's proposal.
    Propose = 0,
    /// The prevote.
    Prevote = 1,
    /// The precommit.
    Precommit = 2,
}

impl Stage {
    /// The stage of a message.
    pub fn of(message: &finality_grandpa::Message<H256, BlockNumber>) -> Stage {
        match message {
            finality_grandpa::Message::PrimaryPropose(_) => Stage::Propose,
            finality_grandpa::Message::Prevote(_) => Stage::Prevote,
            finality_grandpa::Message::Precommit(_) => Stage::Precommit,
        }
    }
}

fn get<T: Decode>(db: &Database, key: &[u8]) -> Result<Option<T>, FinalityError> {
    match db.aux_get(key)? {
        None => Ok(None),
        Some(bytes) => T::decode(&mut &bytes[..])
            .map(Some)
            .map_err(|e| FinalityError::Corrupt(format!("{}: {e}", String::from_utf8_lossy(key)))),
    }
}

/// The persisted authority set, if any.
pub fn load_set(db: &Database) -> Result<Option<AuthoritySetState>, FinalityError> {
    get(db, SET_KEY)
}

/// The aux record of `set`, for a caller that writes it together with other data in
/// one atomic write (the warp-sync base).
pub fn set_record(set: &AuthoritySetState) -> (Vec<u8>, Vec<u8>) {
    (SET_KEY.to_vec(), set.encode())
}

/// Persists the authority set.
pub fn store_set(db: &Database, set: &AuthoritySetState) -> Result<(), FinalityError> {
    let bytes = set.encode();
    db.aux_put(&[(SET_KEY, Some(&bytes[..]))])?;
    Ok(())
}

/// The persisted last completed round, if any.
pub fn load_completed(db: &Database) -> Result<Option<CompletedRound>, FinalityError> {
    get(db, COMPLETED_KEY)
}

fn vote_key(set_id: u64, round: u64, stage: Stage) -> Vec<u8> {
    let mut key = VOTE_PREFIX.to_vec();
    (set_id, round, stage as u8).encode_to(&mut key);
    key
}

/// How many rounds below the last completed one this node's votes are kept at most: a
/// round's votes go when the round concludes ([`forget_votes`]), and rounds this far
/// behind whose conclusion never came (a set change) go with a later completion.
pub const KEEP_VOTES_ROUNDS: u64 = 64;

/// Persists the completed round, and forgets this node's votes of rounds `from` up to
/// [`KEEP_VOTES_ROUNDS`] below it. Not the completed round's own, nor those just below:
/// a round completed by a catch-up leaves the round this node was in running in the
/// background, where it still votes; with its earlier votes forgotten, a node that
/// restarted in that round would sign a second, different vote there (an equivocation).
pub fn store_completed(
    db: &Database,
    completed: &CompletedRound,
    forget_from: u64,
) -> Result<(), FinalityError> {
    let bytes = completed.encode();
    let to = completed.number.saturating_sub(KEEP_VOTES_ROUNDS);
    // Bounded: a catch-up may skip many rounds, but stale keys beyond this are harmless.
    let from = forget_from.max(to.saturating_sub(KEEP_VOTES_ROUNDS));
    let keys = vote_keys(completed.set_id, from, to);
    let mut changes: Vec<(&[u8], Option<&[u8]>)> = vec![(COMPLETED_KEY, Some(&bytes[..]))];
    changes.extend(keys.iter().map(|k| (&k[..], None)));
    db.aux_put(&changes)?;
    Ok(())
}

/// Forgets this node's votes of `round` (it concluded: no stage of it votes again).
pub fn forget_votes(db: &Database, set_id: u64, round: u64) -> Result<(), FinalityError> {
    let keys = vote_keys(set_id, round, round);
    let changes: Vec<(&[u8], Option<&[u8]>)> = keys.iter().map(|k| (&k[..], None)).collect();
    db.aux_put(&changes)?;
    Ok(())
}

fn vote_keys(set_id: u64, from: u64, to: u64) -> Vec<Vec<u8>> {
    if from > to {
        return Vec::new();
    }
    (from..=to)
        .flat_map(|round| {
            [Stage::Propose, Stage::Prevote, Stage::Precommit]
                .into_iter()
                .map(move |stage| vote_key(set_id, round, stage))
        })
        .collect()
}

/// The vote this node cast in `stage` of `round`, if any.
pub fn load_vote(
    db: &Database,
    set_id: u64,
    round: u64,
    stage: Stage,
) -> Result<Option<SignedMessage>, FinalityError> {
    get(db, &vote_key(set_id, round, stage))
}

/// Persists a vote before it is sent.
pub fn store_vote(
    db: &Database,
    set_id: u64,
    round: u64,
    vote: &SignedMessage,
) -> Result<(), FinalityError> {
    let key = vote_key(set_id, round, Stage::of(&vote.message));
    let bytes = vote.encode();
    db.aux_put(&[(&key[..], Some(&bytes[..]))])?;
    Ok(())
}
