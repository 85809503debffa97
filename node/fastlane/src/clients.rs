//! What a lane keeps for its clients: the submissions a replica holds for the primary,
//! and the recently certified batches that answer a re-sent action at once.

use std::collections::{BTreeMap, HashMap};

use super::*;

/// A submission a replica (or a member between views) holds for the primary.
pub(crate) struct Held {
    /// Who waits on it here.
    pub(crate) clients: Vec<ClientId>,
    pub(crate) action: SignedLaneAction,
    /// The height of this member's batch that holds it, once a proposal sequenced it.
    pub(crate) at: Option<u64>,
    /// When it was last forwarded.
    pub(crate) sent_ms: u64,
    /// Order of arrival: held actions are forwarded in it (an action's hash covers its
    /// signature, which is randomized, so hash order would make a replay differ).
    pub(crate) seq: u64,
}

/// The most clients waiting on one held action.
const MAX_CLIENTS_PER_ACTION: usize = 8;
/// The most actions of recently certified batches a lane remembers.
const MAX_RECENT_ACTIONS: usize = 16_384;

/// Recently certified batches, by height, with an index of their actions.
#[derive(Default)]
pub(crate) struct Recent {
    batches: BTreeMap<u64, CertifiedBatch>,
    index: HashMap<H256, (u64, u32)>,
    actions: usize,
}

impl Recent {
    pub(crate) fn insert(&mut self, certified: CertifiedBatch) {
        let height = certified.batch.header.height;
        if self.batches.contains_key(&height) {
            return;
        }
        for (i, action) in certified.batch.actions.iter().enumerate() {
            self.index.insert(action.hash(), (height, i as u32));
        }
        self.actions += certified.batch.actions.len();
        self.batches.insert(height, certified);
        while self.actions > MAX_RECENT_ACTIONS {
            let Some((_, old)) = self.batches.pop_first() else {
                break;
            };
            self.actions -= old.batch.actions.len();
            for action in &old.batch.actions {
                self.index.remove(&action.hash());
            }
        }
    }

    pub(crate) fn batch(&self, height: u64) -> Option<&CertifiedBatch> {
        self.batches.get(&height)
    }

    /// The receipt of the action hashed `hash`, if a recent certified batch holds it.
    pub(crate) fn receipt(&self, hash: &H256) -> Option<Receipt> {
        let (height, index) = self.index.get(hash)?;
        receipt_of(self.batches.get(height)?, *index)
    }
}

/// The receipt of the action at `index` of `certified`.
pub(crate) fn receipt_of(certified: &CertifiedBatch, index: u32) -> Option<Receipt> {
    let batch = &certified.batch;
    let i = index as usize;
    Some(Receipt {
        header: batch.header.clone(),
        certificate: certified.certificate.clone(),
        index,
        action_hash: batch.actions.get(i)?.hash(),
        outcome: *batch.outcomes.get(i)?,
        proof: merkle_proof(&batch.entries(), i),
    })
}

impl Lane {
    /// A replica (or a member between views) holds `client`'s action for the primary,
    /// forwarding it at once when the view runs.
    pub(crate) fn hold(
        &mut self,
        client: ClientId,
        action: SignedLaneAction,
        hash: H256,
        now_ms: u64,
        out: &mut Vec<Output>,
    ) -> Result<(), LaneError> {
        if !self.active && self.unavailable(now_ms) {
            return Err(LaneError::Unavailable);
        }
        if let Some(held) = self.held.get_mut(&hash) {
            if held.clients.len() >= MAX_CLIENTS_PER_ACTION {
                return Err(LaneError::Overloaded);
            }
            held.clients.push(client);
        } else {
            if self.held.len() >= self.config.max_pending {
                return Err(LaneError::Overloaded);
            }
            self.held_seq += 1;
            self.held.insert(
                hash,
                Held {
                    clients: vec![client],
                    action: action.clone(),
                    at: None,
                    sent_ms: now_ms,
                    seq: self.held_seq,
                },
            );
        }
        if self.active {
            out.push(Output::Forward {
                to: self.primary(),
                client,
                action,
            });
        }
        Ok(())
    }

    /// The primary answered the forwarded action hashed `action_hash` (a receipt or a
    /// refusal, given to its client by the driver): this member stops waiting on it.
    pub fn answered(&mut self, action_hash: &H256) {
        self.held.remove(action_hash);
    }

    /// Forwards every held action to the current primary (a new view, or a nudge when
    /// the primary was quiet).
    pub(crate) fn forward_held(&self, out: &mut Vec<Output>) {
        let to = self.primary();
        for held in self.held_in_order() {
            for client in &held.clients {
                out.push(Output::Forward {
                    to,
                    client: *client,
                    action: held.action.clone(),
                });
            }
        }
    }

    /// The held actions in their order of arrival.
    pub(crate) fn held_in_order(&self) -> Vec<&Held> {
        let mut held: Vec<&Held> = self.held.values().collect();
        held.sort_unstable_by_key(|held| held.seq);
        held
    }

    /// Notes which held actions the batch this member just accepted sequences.
    pub(crate) fn place_held(&mut self, batch: &Batch) {
        if self.held.is_empty() {
            return;
        }
        for action in &batch.actions {
            if let Some(held) = self.held.get_mut(&action.hash()) {
                held.at = Some(batch.header.height);
            }
        }
    }

    /// Held actions whose batch left the log (the chain included it, or went another
    /// way) wait for the primary again: the next nudge forwards them (a re-sent action
    /// already certified gets its receipt from the primary's recent batches).
    pub(crate) fn unplace_held(&mut self) {
        let log = &self.log;
        for held in self.held.values_mut() {
            if held.at.is_some_and(|height| !log.contains_key(&height)) {
                held.at = None;
            }
        }
    }

    /// A certified batch of this member's log: the receipts of the actions it holds.
    pub(crate) fn answer_held(&mut self, certified: &CertifiedBatch, out: &mut Vec<Output>) {
        if self.held.is_empty() {
            return;
        }
        for (index, action) in certified.batch.actions.iter().enumerate() {
            let Some(held) = self.held.remove(&action.hash()) else {
                continue;
            };
            let Some(receipt) = receipt_of(certified, index as u32) else {
                continue;
            };
            for client in held.clients {
                out.push(Output::Receipt {
                    client,
                    receipt: receipt.clone(),
                });
            }
        }
    }

    /// Refuses every held action (the lane has been without a primary for too long).
    pub(crate) fn refuse_held(&mut self, error: LaneError, out: &mut Vec<Output>) {
        let mut held: Vec<Held> = std::mem::take(&mut self.held).into_values().collect();
        held.sort_unstable_by_key(|held| held.seq);
        for held in held {
            for client in held.clients {
                out.push(Output::Rejected {
                    client,
                    error: error.clone(),
                });
            }
        }
    }
}
