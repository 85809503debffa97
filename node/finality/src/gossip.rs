//! Vote gossip: each message checked (shape, set, round window, signature) before it
//! reaches the voter or is passed on, messages for blocks not imported yet held (bounded)
//! until they are, and peers that send junk reported.

use super::*;

impl Inner {
    pub(crate) fn verify_vote(&self, round: u64, set_id: u64, vote: &SignedMessage) -> bool {
        let payload = vote_payload(&vote.message, round, set_id);
        ed25519::Pair::verify(&vote.signature, &payload, &vote.id)
    }

    /// Keeps a message whose block is unknown until the block is imported. Each peer
    /// has a small share of the buffer: its oldest message makes room for its newest.
    pub(crate) fn wait_for(&self, block: H256, peer: &str, message: &[u8]) {
        self.network.fetch_block(peer, block);
        let mut waiting = self.waiting.lock();
        waiting.retain(|w| w.since.elapsed() < WAITING_TTL);
        if waiting.iter().any(|w| w.message == message) {
            return;
        }
        let from_peer = waiting.iter().filter(|w| w.peer == peer).count();
        if from_peer >= MAX_WAITING_PER_PEER {
            if let Some(oldest) = waiting.iter().position(|w| w.peer == peer) {
                waiting.remove(oldest);
            }
        } else if waiting.len() >= MAX_WAITING {
            waiting.remove(0);
        }
        waiting.push(Waiting {
            block,
            peer: peer.to_string(),
            message: message.to_vec(),
            since: Instant::now(),
        });
    }

    /// Re-processes waiting messages whose block is now known.
    pub(crate) fn flush_waiting(self: &Arc<Self>) {
        let ready: Vec<Waiting> = {
            let mut waiting = self.waiting.lock();
            let (ready, still): (Vec<_>, Vec<_>) = waiting
                .drain(..)
                .partition(|w| matches!(self.client.header(&w.block), Ok(Some(_))));
            *waiting = still;
            ready
        };
        for w in ready {
            let _ = self.on_gossip(&w.peer, &w.message);
        }
    }

    /// Validates a gossiped message completely before it may be forwarded: size (from
    /// the set), decoding, set and round, structure (voters in the set, no duplicates,
    /// the threshold reached) before any signature work, then signatures and the chain.
    /// A message about a block this node does not have is kept aside (per-peer bounded)
    /// and never forwarded: it is checked in full when the block arrives.
    pub(crate) fn on_gossip(self: &Arc<Self>, peer: &str, bytes: &[u8]) -> GossipVerdict {
        let (set_id, authorities) = {
            let set = self.set.read();
            (set.set_id, set.authorities.clone())
        };
        if bytes.len() > max_message_bytes(authorities.len()) {
            return GossipVerdict::Reject;
        }
        let mut input = bytes;
        let Ok(message) = GossipMessage::decode(&mut input) else {
            return GossipVerdict::Reject;
        };
        if !input.is_empty() {
            return GossipVerdict::Reject;
        }
        match message {
            GossipMessage::Vote {
                round,
                set_id: vote_set,
                message,
            }
            | GossipMessage::VoteAgain {
                round,
                set_id: vote_set,
                message,
                ..
            } => {
                if vote_set != set_id {
                    return GossipVerdict::Ignore;
                }
                if !authorities.contains(&message.id) {
                    return GossipVerdict::Reject;
                }
                let (in_window, duplicate, current) = {
                    let router = self.router.lock();
                    (
                        router.in_window(round),
                        router.is_duplicate(round, &message),
                        router.current_round,
                    )
                };
                if !in_window || duplicate {
                    return GossipVerdict::Ignore;
                }
                let target = *message.target().0;
                if !matches!(self.client.header(&target), Ok(Some(_))) {
                    self.wait_for(target, peer, bytes);
                    return GossipVerdict::Ignore;
                }
                if !self.verify_vote(round, set_id, &message) {
                    return GossipVerdict::Reject;
                }
                if round >= current.saturating_add(2) {
                    self.request_catch_up(peer, set_id, current);
                }
                if self.router.lock().deliver(round, message) {
                    GossipVerdict::Accept
                } else {
                    GossipVerdict::Ignore
                }
            }
            GossipMessage::Commit {
                round,
                set_id: commit_set,
                commit,
            } => {
                if commit_set != set_id {
                    return GossipVerdict::Ignore;
                }
                if commit.precommits.len() != commit.auth_data.len() {
                    return GossipVerdict::Reject;
                }
                if justification::check_vote_shape(
                    commit.auth_data.iter().map(|(_, id)| id),
                    &authorities,
                    justification::MAX_VOTES_PER_VOTER,
                )
                .is_err()
                {
                    return GossipVerdict::Reject;
                }
                if commit.target_number <= self.client.finalized().0 {
                    return GossipVerdict::Ignore;
                }
                let full: Commit = commit.clone().into();
                let unknown = std::iter::once(full.target_hash)
                    .chain(full.precommits.iter().map(|p| p.precommit.target_hash))
                    .find(|hash| !matches!(self.client.header(hash), Ok(Some(_))));
                if let Some(block) = unknown {
                    self.wait_for(block, peer, bytes);
                    return GossipVerdict::Ignore;
                }
                let Some(voters) = voter_set(&authorities) else {
                    return GossipVerdict::Ignore;
                };
                let chain = ClientChain(self.clone());
                match finality_grandpa::validate_commit(&full, &voters, &chain) {
                    Ok(result) if result.is_valid() => {}
                    _ => return GossipVerdict::Reject,
                }
                for signed in &full.precommits {
                    let message = finality_grandpa::Message::Precommit(signed.precommit.clone());
                    let payload = vote_payload(&message, round, set_id);
                    if !ed25519::Pair::verify(&signed.signature, &payload, &signed.id) {
                        return GossipVerdict::Reject;
                    }
                }
                let sent = self.global_in.lock().as_ref().is_some_and(|(id, tx)| {
                    *id == set_id
                        && tx
                            .unbounded_send(Ok(CommunicationIn::Commit(
                                round,
                                commit,
                                Callback::Blank,
                            )))
                            .is_ok()
                });
                if sent {
                    GossipVerdict::Accept
                } else {
                    GossipVerdict::Ignore
                }
            }
        }
    }
}
