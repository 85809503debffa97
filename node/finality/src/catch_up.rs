//! Catch-up: a voter behind its peers asks one of them for its last completed round
//! (at most one request a second) and jumps to it once every vote in it verifies; the
//! serving side answers catch-up, finality-proof and warp-proof requests.

use super::*;

impl Inner {
    /// Asks `peer` for its last completed round (at most one request per second).
    pub(crate) fn request_catch_up(self: &Arc<Self>, peer: &str, set_id: u64, round: u64) {
        {
            let mut last = self.last_catch_up.lock();
            if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
                return;
            }
            *last = Some(Instant::now());
        }
        let request = FinalityRequest::CatchUp { set_id, round }.encode();
        let response = self.network.request(peer.to_string(), request);
        let peer = peer.to_string();
        let inner = self.clone();
        self.runtime.spawn(async move {
            match response.await {
                Ok(bytes) => {
                    if let Err(e) = inner.on_catch_up(set_id, &bytes) {
                        log::debug!(target: "finality", "catch-up refused: {e}");
                        inner
                            .network
                            .report_misbehaviour(&peer, "invalid catch-up response");
                    }
                }
                Err(e) => log::debug!(target: "finality", "catch-up request failed: {e}"),
            }
        });
    }

    /// A catch-up response: checked for size and shape (voters in the set, each at most
    /// twice per stage, both stages reaching the threshold) before any signature is
    /// verified.
    pub(crate) fn on_catch_up(&self, set_id: u64, bytes: &[u8]) -> Result<(), FinalityError> {
        let authorities = {
            let set = self.set.read();
            if set.set_id != set_id {
                return Ok(());
            }
            set.authorities.clone()
        };
        let bad = |why: &str| Err(FinalityError::Voter(format!("catch-up: {why}")));
        if bytes.len() > max_message_bytes(authorities.len()) {
            return bad("larger than the set can produce");
        }
        let mut input = bytes;
        let catch_up = CatchUp::decode(&mut input)
            .map_err(|e| FinalityError::Voter(format!("catch-up decode: {e}")))?;
        if !input.is_empty() {
            return bad("trailing bytes");
        }
        let per_voter = justification::MAX_VOTES_PER_VOTER;
        if let Err(why) = justification::check_vote_shape(
            catch_up.prevotes.iter().map(|v| &v.id),
            &authorities,
            per_voter,
        )
        .and_then(|()| {
            justification::check_vote_shape(
                catch_up.precommits.iter().map(|v| &v.id),
                &authorities,
                per_voter,
            )
        }) {
            return bad(why);
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
        if self.client.header(&catch_up.base_hash)?.is_none() {
            return bad("unknown base");
        }
        let votes: Vec<_> = votes.collect();
        for (message, _, _) in &votes {
            if self.client.header(message.target().0)?.is_none() {
                return bad("vote for an unknown block");
            }
        }
        for (message, signature, id) in votes {
            if !ed25519::Pair::verify(signature, vote_payload(&message, round, set_id), id) {
                return bad("bad signature");
            }
        }
        if let Some((id, tx)) = self.global_in.lock().as_ref() {
            if *id == set_id {
                let _ = tx.unbounded_send(Ok(CommunicationIn::CatchUp(catch_up, Callback::Blank)));
            }
        }
        Ok(())
    }

    pub(crate) fn on_request(&self, request: &[u8]) -> Option<Vec<u8>> {
        let mut input = request;
        let FinalityRequest::CatchUp { set_id, round } =
            FinalityRequest::decode(&mut input).ok()?;
        let last = self.last_completed.lock().clone()?;
        if last.set_id != set_id || last.number < round {
            return None;
        }
        let mut prevotes = Vec::new();
        let mut precommits = Vec::new();
        for vote in last.votes {
            match vote.message {
                finality_grandpa::Message::Prevote(prevote) => {
                    prevotes.push(finality_grandpa::SignedPrevote {
                        prevote,
                        signature: vote.signature,
                        id: vote.id,
                    })
                }
                finality_grandpa::Message::Precommit(precommit) => {
                    precommits.push(finality_grandpa::SignedPrecommit {
                        precommit,
                        signature: vote.signature,
                        id: vote.id,
                    })
                }
                finality_grandpa::Message::PrimaryPropose(_) => {}
            }
        }
        Some(
            CatchUp {
                round_number: last.number,
                prevotes,
                precommits,
                base_hash: last.base.0,
                base_number: last.base.1,
            }
            .encode(),
        )
    }
}
