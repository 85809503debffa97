use arceon_pallet_areas::Position;
use arceon_pallet_fastlane::types::ActionKind;
use arceon_primitives::AccountId32;
use arceon_support::PalletError;
use sp_core::{sr25519, Pair};

use super::sim::{too_fast, ToyState, AREA, VERSION};
use super::*;

struct Net {
    lanes: Vec<Lane>,
    states: Vec<ToyState>,
    genesis: H256,
    keys: Vec<sr25519::Pair>,
}

fn member(i: u8) -> sr25519::Pair {
    sr25519::Pair::from_seed(&[100 + i; 32])
}

fn player(i: u8) -> sr25519::Pair {
    sr25519::Pair::from_seed(&[i; 32])
}

fn net(members: u8) -> Net {
    let genesis = H256::repeat_byte(9);
    let keys: Vec<sr25519::Pair> = (0..members).map(member).collect();
    let committee = Committee {
        area: AREA,
        version: VERSION,
        keys: keys.iter().map(|pair| pair.public().0).collect(),
    };
    let lanes = (0..keys.len())
        .map(|i| {
            Lane::new(
                genesis,
                committee.clone(),
                i as MemberIndex,
                LaneHead::default(),
                LaneConfig::default(),
            )
        })
        .collect();
    Net {
        lanes,
        states: (0..members).map(|_| ToyState::default()).collect(),
        genesis,
        keys,
    }
}

fn action(genesis: H256, who: &sr25519::Pair, nonce: u64, x: i64) -> SignedLaneAction {
    SignedLaneAction::sign(
        LaneAction {
            genesis,
            area: AREA,
            version: VERSION,
            player: AccountId32::from(who.public()),
            nonce,
            kind: ActionKind::Move { x, y: 0 },
        },
        who,
    )
}

/// Does what the node does with a lane's outputs at the end of a round: signs every
/// header they ask for in one round with `pair` and hands the signatures back. Returns
/// the other outputs, then what the signatures caused.
fn sign(lane: &mut Lane, pair: &sr25519::Pair, outputs: Vec<Output>) -> Vec<Output> {
    let mut rest = Vec::new();
    let mut requests = Vec::new();
    for output in outputs {
        match output {
            Output::Sign { height, hash } => requests.push((height, hash)),
            other => rest.push(other),
        }
    }
    if requests.is_empty() {
        return rest;
    }
    let hashes: Vec<H256> = requests.iter().map(|(_, hash)| *hash).collect();
    for ((height, hash), signature) in requests.into_iter().zip(sign_round(pair, &hashes)) {
        let caused = lane.signed(height, hash, signature);
        rest.extend(sign(lane, pair, caused));
    }
    rest
}

impl Net {
    /// `Lane::submit` on member `at`, its signing round done.
    fn submit(
        &mut self,
        at: usize,
        client: ClientId,
        action: SignedLaneAction,
        now: u64,
    ) -> Vec<Output> {
        let out = self.lanes[at].submit(&mut self.states[at], client, action, now);
        sign(&mut self.lanes[at], &self.keys[at], out)
    }

    /// `Lane::tick` on member `at`, its signing round done.
    fn tick(&mut self, at: usize, now: u64) -> Vec<Output> {
        let out = self.lanes[at].tick(&mut self.states[at], now);
        sign(&mut self.lanes[at], &self.keys[at], out)
    }

    /// `Lane::on_message` on member `at`, its signing round done.
    fn deliver(&mut self, at: usize, from: MemberIndex, message: LaneMessage) -> Vec<Output> {
        let out = self.lanes[at].on_message(&mut self.states[at], from, message);
        sign(&mut self.lanes[at], &self.keys[at], out)
    }

    /// `Lane::member_lost` on member `at`, its signing round done.
    fn member_lost(&mut self, at: usize, member: MemberIndex, now: u64) -> Vec<Output> {
        let out = self.lanes[at].member_lost(&mut self.states[at], member, now);
        sign(&mut self.lanes[at], &self.keys[at], out)
    }

    /// `Lane::retry` on member `at`, its signing round done.
    fn retry(&mut self, at: usize) -> Vec<Output> {
        let out = self.lanes[at].retry(&mut self.states[at]);
        sign(&mut self.lanes[at], &self.keys[at], out)
    }

    /// Delivers every `Send` of `outputs` from member `from` (and what they cause), and
    /// returns every other output, tagged with the member that produced it.
    fn run(&mut self, from: usize, outputs: Vec<Output>) -> Vec<(usize, Output)> {
        self.run_filtered(from, outputs, |_, _, _| true)
    }

    /// Like [`Net::run`], delivering only the messages `deliver(from, to, message)`
    /// keeps (it may change them on the way).
    fn run_filtered(
        &mut self,
        from: usize,
        outputs: Vec<Output>,
        mut deliver: impl FnMut(usize, usize, &mut LaneMessage) -> bool,
    ) -> Vec<(usize, Output)> {
        let mut queue: Vec<(usize, Output)> = outputs.into_iter().map(|o| (from, o)).collect();
        let mut rest = Vec::new();
        while !queue.is_empty() {
            let (at, output) = queue.remove(0);
            match output {
                Output::Send { to, mut message } => {
                    let to = usize::from(to);
                    if deliver(at, to, &mut message) {
                        let produced = self.deliver(to, at as MemberIndex, message);
                        queue.extend(produced.into_iter().map(|o| (to, o)));
                    }
                }
                other => rest.push((at, other)),
            }
        }
        rest
    }
}

/// The first certified batch among `outputs`.
fn first_certified(outputs: &[(usize, Output)]) -> Option<CertifiedBatch> {
    outputs.iter().find_map(|(_, o)| match o {
        Output::Certified(batch) => Some(batch.clone()),
        _ => None,
    })
}

fn receipts(outputs: &[(usize, Output)]) -> Vec<(ClientId, Receipt)> {
    outputs
        .iter()
        .filter_map(|(_, output)| match output {
            Output::Receipt { client, receipt } => Some((*client, receipt.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn four_members_certify_a_batch_and_every_client_gets_a_verifiable_receipt() {
    let mut net = net(4);
    let genesis = net.genesis;
    let mut outputs = Vec::new();
    for i in 0..3u8 {
        let submitted = net.submit(0, u64::from(i), action(genesis, &player(i), 0, 50), 1_000);
        assert!(submitted.is_empty(), "sealed too early: {submitted:?}");
    }
    outputs.extend(net.tick(0, 1_002));
    let rest = net.run(0, outputs);
    // The primary and each replica persisted the batch before their signatures went out.
    let persisted = rest
        .iter()
        .filter(|(_, o)| matches!(o, Output::Persist(_)))
        .count();
    assert_eq!(persisted, 4);
    let receipts = receipts(&rest);
    assert_eq!(receipts.len(), 3);
    let committee = net.lanes[0].committee().clone();
    for (client, receipt) in &receipts {
        assert_eq!(receipt.index as u64, *client);
        assert!(receipt.entry_proven());
        assert_eq!(receipt.header.height, 1);
        assert_eq!(receipt.header.time_ms, 1_000);
        assert_eq!(receipt.certificate.signatures.len(), 3);
        arceon_pallet_fastlane::verify_certificate(
            &receipt.header,
            &receipt.certificate,
            &committee.keys,
        )
        .expect("certificate verifies against the committee");
    }
    let certified: Vec<_> = rest
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Certified(batch) => Some(batch.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(certified.len(), 1);
    assert_eq!(net.lanes[0].pending(), 0);
    // Every replica re-executed the batch: their views agree with the primary's.
    for state in &net.states {
        assert_eq!(state.world.players.len(), 3);
    }
    assert_eq!(net.keys.len(), 4);
}

#[test]
fn a_refused_action_is_answered_at_once_and_nothing_is_sequenced() {
    let mut net = net(4);
    let genesis = net.genesis;
    let out = net.lanes[0].submit(
        &mut net.states[0],
        1,
        action(genesis, &player(1), 0, 5_000),
        1_000,
    );
    assert_eq!(
        out,
        vec![Output::Rejected {
            client: 1,
            error: LaneError::Rule(too_fast())
        }]
    );
    let mut forged = action(genesis, &player(2), 0, 10);
    forged.signature[3] ^= 1;
    let out = net.lanes[0].submit(&mut net.states[0], 2, forged, 1_000);
    let bad = LaneError::Rule(LaneRuleError::BadSignature.into());
    assert_eq!(
        out,
        vec![Output::Rejected {
            client: 2,
            error: bad
        }]
    );
    let mut other_chain = action(H256::repeat_byte(1), &player(3), 0, 10);
    other_chain.action.genesis = H256::repeat_byte(1);
    let out = net.lanes[0].submit(&mut net.states[0], 3, other_chain, 1_000);
    assert!(matches!(out[0], Output::Rejected { client: 3, .. }));
    assert!(net.lanes[0].tick(&mut net.states[0], 2_000).is_empty());
    assert_eq!(net.lanes[0].pending(), 0);
    assert!(net.states[0]
        .world
        .players
        .values()
        .all(|(x, n)| *x == 0 && *n == 0));
    // Replayed nonce: the first is sequenced, the replay refused.
    let first = action(genesis, &player(4), 0, 10);
    assert!(net.lanes[0]
        .submit(&mut net.states[0], 4, first.clone(), 3_000)
        .is_empty());
    // The very same action again (a client that lost its answer) waits on the first:
    // idempotent, nothing new is sequenced.
    assert!(net.lanes[0]
        .submit(&mut net.states[0], 6, first, 3_000)
        .is_empty());
    assert_eq!(net.lanes[0].pending(), 1);
    // Another action with the used nonce is refused.
    let replay = action(genesis, &player(4), 0, 11);
    let out = net.lanes[0].submit(&mut net.states[0], 5, replay, 3_000);
    let stale = LaneError::Rule(LaneRuleError::StaleNonce.into());
    assert_eq!(
        out,
        vec![Output::Rejected {
            client: 5,
            error: stale
        }]
    );
    assert_eq!(
        LaneRuleError::StaleNonce.name(),
        "StaleNonce",
        "errors keep their names for RPC"
    );
}

#[test]
fn a_replica_refuses_a_batch_whose_outcome_it_cannot_reproduce() {
    let mut net = net(4);
    let genesis = net.genesis;
    net.lanes[0].submit(
        &mut net.states[0],
        1,
        action(genesis, &player(1), 0, 10),
        1_000,
    );
    let sealed = net.tick(0, 1_010);
    let Some(Output::Persist(mut batch)) = sealed.first().cloned() else {
        panic!("no batch sealed: {sealed:?}");
    };
    // The primary lies about the outcome, and signs the lie.
    batch.outcomes[0] = Outcome::Moved {
        area: AREA,
        position: Position::new(99, 0),
    };
    batch.header.entries_root = merkle_root(&batch.entries());
    let signature = member(0).sign(&batch.header.signing_message()).0.into();
    let out = net.deliver(
        1,
        0,
        LaneMessage::Propose {
            view: 0,
            batch: batch.clone(),
            signature,
        },
    );
    assert!(out.is_empty(), "a replica voted for a lie: {out:?}");
    assert!(net.states[1].world.players.is_empty(), "state left dirty");
    // Nor does a replica take a proposal from a member that is not the primary.
    let signature = member(2).sign(&batch.header.signing_message()).0.into();
    let out = net.deliver(
        1,
        2,
        LaneMessage::Propose {
            view: 0,
            batch,
            signature,
        },
    );
    assert!(out.is_empty());
}

#[test]
fn proposals_arriving_out_of_order_are_buffered_and_votes_lost_are_resent() {
    let mut net = net(4);
    let genesis = net.genesis;
    let mut proposals = Vec::new();
    for (i, time) in [(1u8, 1_000u64), (2, 1_010)] {
        let mut out = net.submit(0, u64::from(i), action(genesis, &player(i), 0, 5), time);
        out.extend(net.tick(0, time + 5));
        proposals.extend(out.into_iter().filter_map(|o| match o {
            Output::Send { to: 1, message } => Some(message),
            _ => None,
        }));
    }
    assert_eq!(proposals.len(), 2, "{proposals:#?}");
    let late = net.deliver(1, 0, proposals[1].clone());
    assert!(late.is_empty(), "height 2 voted before height 1");
    let both = net.deliver(1, 0, proposals[0].clone());
    let votes: Vec<u64> = both
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                message: LaneMessage::Vote { height, .. },
                ..
            } => Some(*height),
            _ => None,
        })
        .collect();
    assert_eq!(votes, vec![1, 2]);
    // Both votes were signed in one round: one signature, each with its own path.
    let signatures: Vec<&MemberSignature> = both
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                message: LaneMessage::Vote { signature, .. },
                ..
            } => Some(signature),
            _ => None,
        })
        .collect();
    assert_eq!(signatures[0].signature, signatures[1].signature);
    assert_eq!((signatures[0].count, signatures[1].index), (2, 1));
    // Nobody else voted: after the resend interval the primary proposes again.
    let resent = net.tick(0, 1_200);
    let again = resent
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Send {
                    message: LaneMessage::Propose { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(again, 6, "two batches to three replicas");
    // Replica 1's votes were lost. Its tip is height 2, yet a re-sent proposal at height
    // 1 is voted again: without that vote the primary could never certify height 1.
    let resent_first = resent
        .into_iter()
        .find_map(|o| match o {
            Output::Send {
                to: 1,
                message: message @ LaneMessage::Propose { .. },
            } => match &message {
                LaneMessage::Propose { batch, .. } if batch.header.height == 1 => Some(message),
                _ => None,
            },
            _ => None,
        })
        .expect("height 1 re-sent to replica 1");
    let revote = net.deliver(1, 0, resent_first);
    assert!(
        matches!(
            revote.as_slice(),
            [Output::Send {
                to: 0,
                message: LaneMessage::Vote { height: 1, .. }
            }]
        ),
        "{revote:?}"
    );
    assert_eq!(net.lanes[1].tip().height, 2, "nothing re-executed");
    // A different batch at a height it voted for gets no vote.
    let LaneMessage::Propose { mut batch, .. } = proposals[0].clone() else {
        unreachable!()
    };
    batch.header.time_ms += 1;
    let signature = member(0).sign(&batch.header.signing_message()).0.into();
    let forged = net.deliver(
        1,
        0,
        LaneMessage::Propose {
            view: 0,
            batch,
            signature,
        },
    );
    assert!(forged.is_empty(), "voted for a second batch at height 1");
}

#[test]
fn a_replica_holds_a_submission_for_the_primary_and_answers_it_from_the_commit() {
    let mut net = net(4);
    let genesis = net.genesis;
    let submitted = action(genesis, &player(1), 0, 5);
    let out = net.submit(1, 9, submitted.clone(), 10);
    assert_eq!(
        out,
        vec![Output::Forward {
            to: 0,
            client: 9,
            action: submitted.clone()
        }]
    );
    assert_eq!(net.lanes[1].pending(), 1);
    // The primary takes it (the driver's client 77 stands for the forwarder).
    let mut out = net.submit(0, 77, submitted.clone(), 11);
    out.extend(net.tick(0, 20));
    let rest = net.run(0, out);
    // The primary answers its client and the replica answers its own, from the commit.
    let mut answered: Vec<(usize, ClientId)> = rest
        .iter()
        .filter_map(|(at, o)| match o {
            Output::Receipt { client, receipt } => {
                assert_eq!(receipt.action_hash, submitted.hash());
                Some((*at, *client))
            }
            _ => None,
        })
        .collect();
    answered.sort();
    assert_eq!(answered, vec![(0, 77), (1, 9)]);
    assert_eq!(net.lanes[1].pending(), 0);
    // The same action again (a client that lost its answer) gets its receipt at once,
    // from the primary and from a replica, and nothing is sequenced twice.
    for at in [0, 2] {
        let again = net.submit(at, 5, submitted.clone(), 30);
        assert!(
            matches!(again.as_slice(), [Output::Receipt { client: 5, .. }]),
            "{again:?}"
        );
    }
    assert_eq!(net.lanes[0].pending(), 0);
    assert_eq!(net.lanes[0].committee().quorum(), 3);
}

#[test]
fn a_batch_the_chain_superseded_refuses_its_actions_and_the_lane_follows_the_chain() {
    let mut net = net(4);
    let genesis = net.genesis;
    // The primary seals a batch at height 1 that nobody votes for.
    net.lanes[0].submit(
        &mut net.states[0],
        7,
        action(genesis, &player(1), 0, 5),
        1_000,
    );
    let sealed = net.lanes[0].tick(&mut net.states[0], 1_005);
    assert!(matches!(sealed.first(), Some(Output::Persist(_))));
    assert_eq!(net.lanes[0].pending(), 1);
    // Another batch holds height 1 in the chain.
    let head = LaneHead {
        height: 1,
        hash: H256::repeat_byte(0xee),
        time_ms: 990,
    };
    let out = net.lanes[0].on_included(&head);
    assert_eq!(
        out,
        vec![Output::Rejected {
            client: 7,
            error: LaneError::Superseded
        }]
    );
    assert_eq!(net.lanes[0].pending(), 0);
    assert_eq!(net.lanes[0].tip(), &head);
    // The next batch follows the chain's.
    net.lanes[0].submit(
        &mut net.states[0],
        8,
        action(genesis, &player(2), 0, 5),
        2_000,
    );
    let next = net.lanes[0].tick(&mut net.states[0], 2_005);
    let Some(Output::Persist(batch)) = next.first() else {
        panic!("no batch: {next:?}");
    };
    assert_eq!((batch.header.height, batch.header.parent), (2, head.hash));
    // A batch the chain included as it was sealed is no loss.
    let included = LaneHead {
        height: 2,
        hash: batch.header.hash(),
        time_ms: batch.header.time_ms,
    };
    assert!(net.lanes[0].on_included(&included).is_empty());
}

#[test]
fn the_open_batch_never_outgrows_a_batch_while_proposals_await_votes() {
    let mut net = net(4);
    let genesis = net.genesis;
    let config = LaneConfig {
        max_batch: 2,
        max_in_flight: 1,
        ..LaneConfig::default()
    };
    let committee = net.lanes[0].committee().clone();
    let mut lane = Lane::new(genesis, committee, 0, LaneHead::default(), config);
    // One batch in flight (no votes delivered), then the open batch fills up.
    lane.submit(
        &mut net.states[0],
        1,
        action(genesis, &player(1), 0, 5),
        1_000,
    );
    assert!(matches!(
        lane.tick(&mut net.states[0], 1_005).first(),
        Some(Output::Persist(_))
    ));
    for i in 2..=3u8 {
        let out = lane.submit(
            &mut net.states[0],
            u64::from(i),
            action(genesis, &player(i), 0, 5),
            1_010,
        );
        assert!(out.is_empty(), "{out:?}");
    }
    let out = lane.submit(
        &mut net.states[0],
        4,
        action(genesis, &player(4), 0, 5),
        1_010,
    );
    assert_eq!(
        out,
        vec![Output::Rejected {
            client: 4,
            error: LaneError::Overloaded
        }]
    );
    assert_eq!(lane.pending(), 3);
}

#[test]
fn a_proposal_that_needs_another_lanes_batch_waits_on_the_replica_and_is_voted_once_it_applies() {
    let mut net = net(4);
    let genesis = net.genesis;
    let walker = player(7);
    let who = AccountId32::from(walker.public());
    // The primary saw the player cross in at x = 1000 (another lane's batch); replica 1
    // has not applied that batch yet.
    net.states[0].world.players.insert(who.clone(), (1_000, 0));
    assert!(net
        .submit(0, 1, action(genesis, &walker, 0, 1_050), 1_000)
        .is_empty());
    let sealed = net.tick(0, 1_010);
    let proposal = sealed
        .iter()
        .find_map(|o| match o {
            Output::Send { to: 1, message } => Some(message.clone()),
            _ => None,
        })
        .expect("a proposal for replica 1");
    let out = net.deliver(1, 0, proposal);
    assert!(out.is_empty(), "voted on what its view refuses: {out:?}");
    assert!(net.lanes[1].is_waiting());
    // Nothing changed on its view: a retry still does not vote, and the state is clean.
    assert!(net.retry(1).is_empty());
    assert!(!net.states[1].world.players.contains_key(&who));
    // The crossing batch arrives: the waiting proposal is persisted and voted.
    net.states[1].world.players.insert(who.clone(), (1_000, 0));
    let out = net.retry(1);
    assert!(matches!(out[0], Output::Persist(_)), "{out:?}");
    assert!(
        matches!(
            out[1],
            Output::Send {
                to: 0,
                message: LaneMessage::Vote { height: 1, .. }
            }
        ),
        "{out:?}"
    );
    assert!(!net.lanes[1].is_waiting());
    assert_eq!(net.lanes[1].tip().height, 1);
    assert_eq!(net.states[1].world.players[&who], (1_050, 1));
}

#[test]
fn two_hundred_seeded_simulations_of_a_lane_under_faults_break_no_invariant() {
    let mut receipted = 0;
    let mut crashes = 0;
    for seed in 0..200 {
        let report = sim::run(seed, 1_500);
        assert!(
            report.violations.is_empty(),
            "seed {seed} (replay: scripts/sim.sh --seed {seed} --duration-ms 1500): {:#?}",
            report
        );
        receipted += report.receipted;
        crashes += report.crashes;
    }
    assert!(
        receipted > 1_000,
        "the lanes did little: {receipted} receipts"
    );
    assert!(crashes > 50, "few crashes: {crashes}");
    // Found by the simulator: two replicas whose votes were lost in crashes stalled the
    // lane for good (fixed by `Lane::restore_vote`).
    let report = sim::run(765, 3_000);
    assert!(report.violations.is_empty(), "{report:#?}");
}

#[test]
fn a_simulation_replays_identically_from_its_seed() {
    let a = sim::run(42, 1_000);
    let b = sim::run(42, 1_000);
    assert_eq!(
        (a.submitted, a.receipted, a.certified, a.delivered, a.lost),
        (b.submitted, b.receipted, b.certified, b.delivered, b.lost)
    );
    assert_ne!(a.receipted, 0);
}

#[test]
fn a_replica_restarted_after_persisting_a_batch_votes_again_when_it_is_re_sent() {
    let mut net = net(4);
    let genesis = net.genesis;
    let mut out = net.submit(0, 1, action(genesis, &player(1), 0, 5), 1_000);
    out.extend(net.tick(0, 1_005));
    let proposal = out
        .into_iter()
        .find_map(|o| match o {
            Output::Send { to: 1, message } => Some(message),
            _ => None,
        })
        .expect("a proposal for replica 1");
    // Replica 1 persists and votes; the vote is lost and the replica crashes.
    let voted = net.deliver(1, 0, proposal.clone());
    let Some(Output::Persist(batch)) = voted.first() else {
        panic!("not persisted: {voted:?}");
    };
    let persisted_batch = batch.clone();
    let persisted = LaneHead {
        height: 1,
        hash: batch.header.hash(),
        time_ms: batch.header.time_ms,
    };
    let committee = net.lanes[1].committee().clone();
    let restart = |restore: bool| {
        let mut lane = Lane::new(
            genesis,
            committee.clone(),
            1,
            persisted.clone(),
            LaneConfig::default(),
        );
        if restore {
            lane.restore(persisted_batch.clone());
        }
        lane
    };
    // Restarted from its persisted tip alone, it never answers the re-sent proposal:
    // with a second replica in the same state the lane could never be certified.
    net.lanes[1] = restart(false);
    assert!(net.deliver(1, 0, proposal.clone()).is_empty());
    // Restarted with its persisted batches' votes, it signs and votes again.
    net.lanes[1] = restart(true);
    let again = net.deliver(1, 0, proposal);
    assert!(
        matches!(
            again.as_slice(),
            [Output::Send {
                to: 0,
                message: LaneMessage::Vote { height: 1, .. }
            }]
        ),
        "{again:?}"
    );
}

impl Net {
    /// Like [`Net::run`], with member `dead` crashed: nothing reaches it, and what it
    /// would have answered never leaves.
    fn run_without(
        &mut self,
        dead: usize,
        from: usize,
        outputs: Vec<Output>,
    ) -> Vec<(usize, Output)> {
        self.run_filtered(from, outputs, |_, to, _| to != dead)
    }
}

#[test]
fn replicas_replace_a_crashed_primary_and_the_new_one_certifies_what_a_quorum_voted_for() {
    let mut net = net(4);
    let genesis = net.genesis;
    let moved = action(genesis, &player(1), 0, 40);
    // A player's RPC node is replica 2: it holds the action and forwards it.
    let forwarded = net.submit(2, 9, moved.clone(), 1_000);
    assert!(matches!(
        forwarded.as_slice(),
        [Output::Forward {
            to: 0,
            client: 9,
            ..
        }]
    ));
    // The primary sequences it (client 77 stands for replica 2's forward) and proposes;
    // every replica persists and votes, but the primary crashes before any vote lands.
    let mut out = net.submit(0, 77, moved.clone(), 1_001);
    out.extend(net.tick(0, 1_005));
    let proposed = out
        .iter()
        .find_map(|o| match o {
            Output::Persist(batch) => Some(batch.header.hash()),
            _ => None,
        })
        .expect("sealed");
    let rest = net.run_without(0, 0, out);
    assert!(
        receipts(&rest).is_empty(),
        "certified without the votes: {rest:?}"
    );
    // Silence: each replica times out on its vote (after a nudge) and moves to view 1.
    let mut rest = Vec::new();
    for now in [1_060, 1_300, 1_450] {
        for replica in 1..4 {
            let out = net.tick(replica, now);
            rest.extend(net.run_without(0, replica, out));
        }
    }
    for replica in 1..4 {
        assert_eq!(
            net.lanes[replica].view(),
            1,
            "{}",
            net.lanes[replica].describe()
        );
        assert!(net.lanes[replica].is_active());
    }
    assert!(net.lanes[1].is_primary());
    // Member 1 carried the batch the quorum voted for, unchanged, and certified it; the
    // replica holding the player's action answered it from the commit.
    let certified: Vec<H256> = rest
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Certified(c) => Some(c.batch.header.hash()),
            _ => None,
        })
        .collect();
    assert_eq!(certified, vec![proposed]);
    let answered = receipts(&rest);
    assert!(
        answered
            .iter()
            .any(|(client, receipt)| *client == 9 && receipt.action_hash == moved.hash()),
        "{answered:?}"
    );
    // The new primary sequences what comes next on top of it.
    let next = action(genesis, &player(1), 1, 80);
    let mut out = net.submit(1, 5, next, 1_600);
    out.extend(net.tick(1, 1_605));
    let rest = net.run_without(0, 1, out);
    let answered = receipts(&rest);
    assert_eq!(answered.len(), 1, "{rest:?}");
    assert_eq!(answered[0].1.header.height, 2);
    assert_eq!(answered[0].1.header.view, 1);
    assert_eq!(answered[0].1.header.parent, proposed);
}

#[test]
fn replicas_that_lose_the_primary_s_connection_replace_it_without_waiting_out_the_timeout() {
    let mut net = net(4);
    let genesis = net.genesis;
    let moved = action(genesis, &player(1), 0, 40);
    // The primary sequences the action and proposes; the replicas vote, but the primary
    // crashes before any vote lands.
    let mut out = net.submit(0, 77, moved.clone(), 1_000);
    out.extend(net.tick(0, 1_005));
    let rest = net.run_without(0, 0, out);
    assert!(receipts(&rest).is_empty(), "{rest:?}");
    // 10 ms later each replica's driver sees the primary's connection break: long
    // before a third of the view timeout, when a silent primary would first be nudged.
    let timeout = LaneConfig::default().view_timeout_ms;
    let lost_at = 1_015;
    assert!(lost_at + 1 < 1_005 + timeout / 3);
    let mut rest = Vec::new();
    for replica in 1..4 {
        // (The last one may have joined view 1 already: the others asked for it.)
        let out = net.member_lost(replica, 0, lost_at);
        assert_eq!(
            net.lanes[replica].view(),
            1,
            "replica {replica} did not move on"
        );
        rest.extend(net.run_without(0, replica, out));
    }
    // A member that is not the view's primary going away changes nothing.
    assert!(net.member_lost(2, 3, lost_at).is_empty());
    for now in [lost_at + 1, lost_at + 5] {
        for replica in 1..4 {
            let out = net.tick(replica, now);
            rest.extend(net.run_without(0, replica, out));
        }
    }
    for replica in 1..4 {
        assert_eq!(
            net.lanes[replica].view(),
            1,
            "{}",
            net.lanes[replica].describe()
        );
        assert!(
            net.lanes[replica].is_active(),
            "{}",
            net.lanes[replica].describe()
        );
    }
    // The new primary carried and certified the batch the quorum voted for.
    assert!(
        rest.iter().any(|(_, o)| matches!(
            o,
            Output::Certified(c) if c.batch.actions.iter().any(|a| a.hash() == moved.hash())
        )),
        "{rest:?}"
    );
}

#[test]
fn a_new_primary_waits_for_the_body_of_every_carried_batch_before_its_view_starts() {
    let mut net = net(4);
    let genesis = net.genesis;
    let moved = action(genesis, &player(1), 0, 40);
    // The primary proposes; replicas 2 and 3 persist and vote, replica 1 never sees the
    // proposal, and the primary crashes.
    let mut out = net.submit(0, 77, moved, 1_000);
    out.extend(net.tick(0, 1_005));
    let proposed = out
        .iter()
        .find_map(|o| match o {
            Output::Persist(batch) => Some(batch.header.hash()),
            _ => None,
        })
        .expect("sealed");
    net.run_filtered(0, out, |_, to, _| to != 0 && to != 1);
    // Replica 1 (the next primary) holds another player's action for the primary.
    let held = net.submit(1, 9, action(genesis, &player(2), 0, 20), 1_010);
    assert!(matches!(held.as_slice(), [Output::Forward { .. }]));
    // View 1: the reports reach member 1 without their bodies. The batch a quorum may
    // have certified is carried, and member 1 does not have it: it must not start (it
    // used to, and sealed the held action at that height).
    let strip = |_: usize, to: usize, message: &mut LaneMessage| {
        if let LaneMessage::ViewChange { batches, .. } = message {
            batches.clear();
        }
        to != 0
    };
    let mut rest = Vec::new();
    for now in [1_060, 1_300] {
        for replica in 1..4 {
            let out = net.tick(replica, now);
            rest.extend(net.run_filtered(replica, out, strip));
        }
    }
    assert_eq!(net.lanes[1].view(), 1, "{}", net.lanes[1].describe());
    assert!(!net.lanes[1].is_active(), "{}", net.lanes[1].describe());
    assert_eq!(net.lanes[1].tip().height, 0);
    // Bodies flow again: whichever view runs next, height 1 is that very batch, and no
    // member ever persisted another there.
    for now in [1_450, 1_600, 1_750, 1_900] {
        for replica in 1..4 {
            let out = net.tick(replica, now);
            rest.extend(net.run_without(0, replica, out));
        }
    }
    let at_one: Vec<(usize, H256)> = rest
        .iter()
        .filter_map(|(at, o)| match o {
            Output::Persist(batch) if batch.header.height == 1 => Some((*at, batch.header.hash())),
            _ => None,
        })
        .collect();
    assert!(
        at_one.iter().all(|(_, hash)| *hash == proposed),
        "another batch at height 1: {at_one:?}"
    );
    let certified: Vec<H256> = rest
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Certified(c) => Some(c.batch.header.hash()),
            _ => None,
        })
        .collect();
    assert_eq!(certified.first(), Some(&proposed), "{certified:?}");
}

#[test]
fn a_member_gives_up_a_batch_no_quorum_saw_when_a_new_view_justifies_it() {
    let mut net = net(4);
    let genesis = net.genesis;
    // The primary, cut off, seals a batch nobody sees.
    let mut out = net.submit(0, 1, action(genesis, &player(1), 0, 10), 1_000);
    out.extend(net.tick(0, 1_005));
    let lost: Vec<Output> = out
        .into_iter()
        .filter(|o| !matches!(o, Output::Send { .. }))
        .collect();
    assert!(lost.iter().any(|o| matches!(o, Output::Persist(_))));
    // Replicas hold players' actions the primary never answers: view 1.
    for (replica, who) in [(1, 2u8), (3, 4)] {
        let held = net.submit(
            replica,
            u64::from(who),
            action(genesis, &player(who), 0, 20),
            1_010,
        );
        assert!(matches!(held.as_slice(), [Output::Forward { .. }]));
    }
    for now in [1_100, 1_300, 1_450] {
        for replica in 1..4 {
            let out = net.tick(replica, now);
            net.run_without(0, replica, out);
        }
    }
    assert!(net.lanes[1].is_primary(), "{}", net.lanes[1].describe());
    // The old primary comes back: the NewView (re-sent to members that did not vote)
    // shows its batch at height 1 was carried by no quorum, so it gives it up and its
    // view is rebuilt.
    let announce = net.tick(1, 1_600);
    let mut gave_up = false;
    for (at, output) in net.run(1, announce) {
        if at == 0 && matches!(output, Output::Discard { above: 0 }) {
            gave_up = true;
        }
    }
    assert!(gave_up, "{}", net.lanes[0].describe());
    assert_eq!(net.lanes[0].view(), 1);
    assert_eq!(net.lanes[0].tip().height, 0);
    // Rebuilt (the toy state of the chain: nothing), it votes in view 1 again.
    net.states[0] = ToyState::default();
    let replayed = net.lanes[0].replay_open(&mut net.states[0]);
    assert!(replayed.is_empty(), "{replayed:?}");
    // It missed view 1's first batch; once the chain includes it, it votes on the next.
    let first = net.lanes[1].tip().clone();
    assert!(net.lanes[0].on_included(&first).is_empty());
    let mut out = net.submit(1, 8, action(genesis, &player(3), 0, 30), 1_700);
    out.extend(net.tick(1, 1_705));
    let rest = net.run(1, out);
    let votes = rest.len();
    assert_eq!(net.lanes[0].tip(), net.lanes[1].tip(), "{votes}");
    assert!(!receipts(&rest).is_empty());
}

#[test]
fn the_simulator_catches_a_new_primary_that_ignores_the_reports() {
    // A new primary that starts from its own log instead of what the quorum reported
    // drops batches a quorum may have certified.
    let broken = sim::BrokenRuleSwitch(BrokenRule::NewPrimaryIgnoresReports);
    let caught = (0..400).find(|seed| {
        !sim::run_with(*seed, 1_500, Some(broken))
            .violations
            .is_empty()
    });
    let seed = caught.expect("400 seeds did not catch a new primary ignoring the reports");
    let report = sim::run_with(seed, 1_500, Some(broken));
    eprintln!(
        "caught after {} seeds: seed {seed}: {:?}",
        seed + 1,
        report.violations
    );
    // The same seeds pass with the rule kept.
    assert!(sim::run(seed, 1_500).violations.is_empty());
}

#[test]
fn a_side_without_a_quorum_answers_lane_unavailable_instead_of_silence() {
    // A 2|2 partition of four members: neither side has a quorum of 3.
    let mut net = net(4);
    let genesis = net.genesis;
    let cut = |net: &mut Net, at: usize, outputs: Vec<Output>| -> Vec<Output> {
        // Messages cross only within {0, 1} and within {2, 3}.
        let side = |m: usize| m / 2;
        let mut queue: Vec<(usize, Output)> = outputs.into_iter().map(|o| (at, o)).collect();
        let mut rest = Vec::new();
        while let Some((from, output)) = queue.pop() {
            match output {
                Output::Send { to, message } if side(usize::from(to)) == side(from) => {
                    let to = usize::from(to);
                    let produced = net.deliver(to, from as MemberIndex, message);
                    queue.extend(produced.into_iter().map(|o| (to, o)));
                }
                Output::Send { .. } => {}
                other if from == at => rest.push(other),
                _ => {}
            }
        }
        rest
    };
    // Players whose RPC node is member 2 or 3 (the side without the primary).
    for (member, who) in [(2usize, 1u8), (3, 2)] {
        let out = net.submit(
            member,
            u64::from(who),
            action(genesis, &player(who), 0, 5),
            1_000,
        );
        assert!(matches!(out.as_slice(), [Output::Forward { .. }]));
    }
    let mut answers = Vec::new();
    let mut now = 1_000;
    while now < 4_000 && answers.len() < 2 {
        now += 10;
        for member in 0..4 {
            let out = net.tick(member, now);
            for output in cut(&mut net, member, out) {
                if let Output::Rejected { client, error } = output {
                    answers.push((member, client, error, now));
                }
            }
        }
    }
    assert_eq!(answers.len(), 2, "{answers:?}");
    for (member, client, error, at) in &answers {
        assert_eq!(*error, LaneError::Unavailable, "{answers:?}");
        assert_eq!(
            *client as usize,
            member - 1,
            "each side answers its own clients"
        );
        // Within the bound: 8 view timeouts after the lane stopped working.
        assert!(*at <= 1_000 + 150 + 8 * 150 + 200, "answered at {at} ms");
    }
    // New submissions on that side are refused at once.
    let out = net.submit(2, 9, action(genesis, &player(3), 0, 5), now);
    assert_eq!(
        out,
        vec![Output::Rejected {
            client: 9,
            error: LaneError::Unavailable
        }]
    );
}

/// A committee of three: a batch first proposed in view 43 and certified in view 45 (its
/// proposer's vote from 43 and the view-45 primary's) against another batch first
/// proposed in view 44, which one member voted for there. A quorum of reporters for view
/// 46 can hold one of each (two quorums of three share one member): the view must carry
/// the certified one, which was voted for in the later view. (Counting holders, then the
/// later first proposal, carried the other: two certificates at one height in a 100-kill
/// run of the benchmark.)
#[test]
fn a_view_carries_the_batch_voted_for_in_the_latest_view_not_the_latest_first_proposed() {
    let entry = |hash: u8, first: u32, voted: u32| ReportEntry {
        height: 1948,
        hash: H256::repeat_byte(hash),
        parent: H256::repeat_byte(9),
        view: first,
        voted,
    };
    let report = |member: MemberIndex, entries: Vec<ReportEntry>| SignedReport {
        member,
        included: 1947,
        entries,
        signature: MemberSignature::from([0u8; 64]),
    };
    let certified = entry(1, 43, 45);
    let later = entry(2, 44, 44);
    let carried = carried(&[
        report(1, vec![certified.clone()]),
        report(2, vec![later.clone()]),
    ]);
    assert_eq!(carried.get(&1948).map(|e| e.hash), Some(certified.hash));
    // Voted for in the same view, the batch more reporters hold wins, then the lower
    // hash.
    let held_twice = entry(3, 44, 45);
    let carried = super::carried(&[
        report(0, vec![held_twice.clone()]),
        report(1, vec![certified.clone()]),
        report(2, vec![held_twice.clone()]),
    ]);
    assert_eq!(carried.get(&1948).map(|e| e.hash), Some(held_twice.hash));
}

#[test]
fn a_replica_catches_up_on_gossiped_certified_batches_in_order_and_makes_them_durable_first() {
    // Member 3 misses the proposal; the other three certify the batch, which reaches
    // member 3 through gossip. It votes on top of it from then on, so a restart must
    // find it on disk: otherwise its report would stop below a batch it built on.
    let mut net = net(4);
    let genesis = net.genesis;
    let mut out = net.submit(0, 1, action(genesis, &player(1), 0, 40), 1_000);
    out.extend(net.tick(0, 1_002));
    let rest = net.run_filtered(0, out, |_, to, _| to != 3);
    let certified = first_certified(&rest).expect("three members certify without the fourth");
    assert_eq!(net.lanes[3].tip().height, 0);
    // A second certified batch, which member 3 misses too.
    let mut out = net.submit(0, 2, action(genesis, &player(2), 0, 40), 1_010);
    out.extend(net.tick(0, 1_012));
    let rest = net.run_filtered(0, out, |_, to, _| to != 3);
    let second = first_certified(&rest).expect("height 2 certified");
    // Gossip brings height 2 first: taking it would leave a hole at height 1 in the
    // log member 3 reports from, so it waits.
    assert!(net.lanes[3].catch_up(&second).is_empty());
    assert_eq!(net.lanes[3].tip().height, 0);
    let caught = net.lanes[3].catch_up(&certified);
    let persisted: Vec<H256> = caught
        .iter()
        .filter_map(|o| match o {
            Output::Persist(batch) => Some(batch.header.hash()),
            _ => None,
        })
        .collect();
    assert_eq!(persisted, vec![certified.batch.header.hash()]);
    assert_eq!(net.lanes[3].tip().height, 1);
    // Then height 2 follows its tip.
    assert!(matches!(
        net.lanes[3].catch_up(&second).first(),
        Some(Output::Persist(_))
    ));
    assert_eq!(net.lanes[3].tip().height, 2);
    assert_eq!(net.lanes[3].log().count(), 2);
}

#[test]
fn a_retired_committee_seals_its_lane_at_the_last_batch_a_quorum_holds_and_proves_it() {
    let mut net = net(4);
    let genesis = net.genesis;
    // Height 1 is certified by everyone.
    let mut out = net.submit(0, 1, action(genesis, &player(1), 0, 10), 1_000);
    out.extend(net.tick(0, 1_002));
    let rest = net.run(0, out);
    let first = first_certified(&rest)
        .expect("height 1 certified")
        .batch
        .header;
    // Height 2 reaches member 1 only: two signatures of the three a quorum needs.
    let mut out = net.submit(0, 2, action(genesis, &player(2), 0, 20), 1_010);
    out.extend(net.tick(0, 1_012));
    let rest = net.run_filtered(0, out, |from, to, _| from == 0 && to == 1);
    assert!(
        receipts(&rest).is_empty(),
        "height 2 must not be certified yet"
    );
    assert_eq!(net.lanes[3].tip().height, 1);
    // The committee is replaced: every member retires. The sealing view's primary
    // (member 3, which never saw height 2) must carry it from the reports.
    assert_eq!(net.lanes[0].committee().primary(SEAL_VIEW), 3);
    let mut answers = Vec::new();
    for at in 0..4 {
        let retired = net.lanes[at].retire(&mut net.states[at], 1_020);
        let retired = sign(&mut net.lanes[at], &net.keys[at], retired);
        answers.extend(net.run(at, retired));
    }
    let mut now = 1_020;
    while now < 3_000 && (0..4).any(|at| net.lanes[at].sealed().is_none()) {
        now += 5;
        for at in 0..4 {
            let out = net.tick(at, now);
            answers.extend(net.run(at, out));
        }
    }
    let seals: Vec<Seal> = (0..4)
        .map(|at| {
            net.lanes[at]
                .sealed()
                .expect("every member sees the lane sealed")
        })
        .collect();
    let head = seals[0].head.clone();
    assert_eq!(
        head.height, 2,
        "the batch a quorum may hold is carried and certified"
    );
    assert!(seals.iter().all(|seal| seal.head == head));
    // Its client got its receipt; nothing new was sequenced.
    let got = receipts(&answers);
    assert!(got
        .iter()
        .any(|(client, r)| *client == 2 && r.header.height == 2));
    assert!(answers
        .iter()
        .all(|(_, o)| !matches!(o, Output::Certified(c) if c.batch.header.height > 2)));
    // The proof checks against the old committee's keys, and not against others.
    let keys = net.lanes[0].committee().keys.clone();
    assert!(seals[3].verify(&genesis, &keys));
    let strangers: Vec<[u8; 32]> = (10..14).map(|i| member(i).public().0).collect();
    assert!(!seals[3].verify(&genesis, &strangers));
    // A seal claiming the lane ended at height 1 is refused: its reports carry height 2.
    let mut early = seals[3].clone();
    early.head = LaneHead {
        height: 1,
        hash: first.hash(),
        time_ms: first.time_ms,
    };
    assert!(!early.verify(&genesis, &keys));
    // Fewer reports than a quorum prove nothing.
    let mut thin = seals[3].clone();
    thin.reports.truncate(2);
    assert!(!thin.verify(&genesis, &keys));
    // A sealed lane takes no new action.
    let refused = net.submit(0, 9, action(genesis, &player(3), 0, 5), now + 10);
    assert_eq!(
        refused,
        vec![Output::Rejected {
            client: 9,
            error: LaneError::Retired
        }]
    );
}
