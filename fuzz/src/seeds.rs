//! Seed inputs: one well-formed example of every message shape a target decodes, so the
//! fuzzer starts from inputs that pass decoding and reach the checks behind it.

use arceon_finality::wire::{FinalityRequest, GossipMessage};
use arceon_finality::CatchUp;
use arceon_network::protocol::{
    BlockData, BlocksRequest, Direction, FromBlock, Request, Response, StateRequest, Status,
};
use arceon_primitives::{to_hex, to_ss58, Block, Era, Keyring, SignedExtra, TransactionSource};
use arceon_runtime::{Call, Extrinsic};
use codec::{Decode, Encode};
use sp_core::Pair as _;

use crate::{
    authority_pairs, chain, commit_message, dev_genesis, justification, range_proof, small_state,
    vote_message, warp_proof,
};

/// Pallet indices of the runtime's `Call`.
const PALLETS: [u8; 8] = [0, 5, 7, 8, 40, 41, 42, 43];

/// Every call the runtime has, with all-zero arguments: `(pallet, call)` pairs whose
/// zero-filled encoding decodes.
pub fn zero_calls() -> Vec<Call> {
    let mut calls = Vec::new();
    for pallet in PALLETS {
        for index in 0u8..64 {
            let mut bytes = vec![pallet, index];
            bytes.extend([0u8; 256]);
            if let Ok(call) = Call::decode(&mut &bytes[..]) {
                calls.push(call);
            }
        }
    }
    calls
}

/// A call decoded from its bytes (seeds only).
fn call(bytes: &[u8]) -> Call {
    Call::decode(&mut &bytes[..]).expect("seed call bytes decode")
}

/// Alice's signed transfer of 1 ArcM to Bob, and a signed sudo remark.
pub fn signed_extrinsics() -> Vec<Vec<u8>> {
    let genesis = dev_genesis().1;
    let alice = Keyring::Alice.pair();
    let bob = Keyring::Bob.public();
    // Balances.transfer_keep_alive(Id(bob), 10^12).
    let mut transfer = vec![5u8, 3, 0];
    transfer.extend_from_slice(bob.as_ref());
    codec::Compact(1_000_000_000_000u128).encode_to(&mut transfer);
    // Sudo.sudo(System.remark(b"fuzz")).
    let mut remark = vec![8u8, 0, 0, 0];
    b"fuzz".to_vec().encode_to(&mut remark);
    let mortal = Era::Mortal {
        period: 64,
        phase: 0,
    };
    [
        (call(&transfer), Era::Immortal, 0u32, 0u128),
        (call(&remark), Era::Immortal, 1, 5),
        (call(&transfer), mortal, 0, 0),
    ]
    .into_iter()
    .map(|(call, era, nonce, tip)| {
        arceon_runtime::executive::sign_extrinsic(
            call,
            &alice,
            SignedExtra { era, nonce, tip },
            genesis,
            genesis,
        )
        .encode()
    })
    .collect()
}

/// Every seed extrinsic: the signed ones and one unsigned per call.
pub fn extrinsics() -> Vec<Vec<u8>> {
    let mut all = signed_extrinsics();
    all.extend(
        zero_calls()
            .into_iter()
            .map(|call| Extrinsic::new_unsigned(call).encode()),
    );
    all
}

fn named(prefix: &str, items: Vec<Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| (format!("{prefix}-{i}"), bytes))
        .collect()
}

fn block_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = named("header", chain().iter().map(|h| h.encode()).collect());
    let mut extrinsics = signed_extrinsics();
    extrinsics.push(Extrinsic::new_unsigned(zero_calls().remove(0)).encode());
    let block = Block {
        header: chain()[3].clone(),
        extrinsics,
    };
    seeds.push(("block-full".into(), block.encode()));
    let empty = Block {
        header: chain()[1].clone(),
        extrinsics: vec![],
    };
    seeds.push(("block-empty".into(), empty.encode()));
    seeds
}

fn catch_up() -> CatchUp {
    let (round, set_id) = (5u64, 0u64);
    let target = &chain()[2];
    let prevote = finality_grandpa::Prevote {
        target_hash: target.hash(),
        target_number: target.number,
    };
    let precommit = finality_grandpa::Precommit {
        target_hash: target.hash(),
        target_number: target.number,
    };
    let prevote_payload = arceon_finality::vote_payload(
        &finality_grandpa::Message::Prevote(prevote.clone()),
        round,
        set_id,
    );
    let precommit_payload = arceon_finality::vote_payload(
        &finality_grandpa::Message::Precommit(precommit.clone()),
        round,
        set_id,
    );
    CatchUp {
        round_number: round,
        prevotes: authority_pairs()
            .iter()
            .map(|p| finality_grandpa::SignedPrevote {
                prevote: prevote.clone(),
                signature: p.sign(&prevote_payload),
                id: p.public(),
            })
            .collect(),
        precommits: authority_pairs()
            .iter()
            .map(|p| finality_grandpa::SignedPrecommit {
                precommit: precommit.clone(),
                signature: p.sign(&precommit_payload),
                id: p.public(),
            })
            .collect(),
        base_hash: chain()[1].hash(),
        base_number: 1,
    }
}

fn finality_seeds() -> Vec<(String, Vec<u8>)> {
    let target = &chain()[3];
    let votes: Vec<GossipMessage> = vec![
        vote_message(finality_grandpa::Message::Prevote(
            finality_grandpa::Prevote {
                target_hash: target.hash(),
                target_number: target.number,
            },
        )),
        vote_message(finality_grandpa::Message::Precommit(
            finality_grandpa::Precommit {
                target_hash: target.hash(),
                target_number: target.number,
            },
        )),
        vote_message(finality_grandpa::Message::PrimaryPropose(
            finality_grandpa::PrimaryPropose {
                target_hash: target.hash(),
                target_number: target.number,
            },
        )),
        commit_message(0, 7, 4),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = votes
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("gossip-{i}"), [vec![0u8], m.encode()].concat()))
        .collect();
    seeds.push(("catch-up".into(), [vec![1u8], catch_up().encode()].concat()));
    let request = FinalityRequest::CatchUp {
        set_id: 0,
        round: 4,
    };
    seeds.push(("request".into(), [vec![2u8], request.encode()].concat()));
    seeds
}

fn justification_seeds() -> Vec<(String, Vec<u8>)> {
    let c = chain();
    vec![
        (
            "direct".into(),
            justification(authority_pairs(), 0, 1, &c[2], &[&c[2]], vec![]).encode(),
        ),
        (
            "ancestry".into(),
            // Votes for #3, #4, #2, #2: all four descend from #2, only two from #3, so #2
            // (threshold three) is their GHOST.
            justification(
                authority_pairs(),
                0,
                9,
                &c[2],
                &[&c[3], &c[4], &c[2], &c[2]],
                vec![c[3].clone(), c[4].clone()],
            )
            .encode(),
        ),
    ]
}

fn requests() -> Vec<Request> {
    vec![
        Request::Status,
        Request::Blocks(BlocksRequest {
            from: FromBlock::Number(1),
            direction: Direction::Ascending,
            max: 64,
            bodies: true,
            justifications: true,
        }),
        Request::Blocks(BlocksRequest {
            from: FromBlock::Hash(chain()[5].hash()),
            direction: Direction::Descending,
            max: 3,
            bodies: false,
            justifications: false,
        }),
        Request::State(StateRequest {
            block: chain()[2].hash(),
            start_after: Some(b"arceon".to_vec()),
            max_entries: 4096,
        }),
        Request::WarpProof { from_set_id: 0 },
        Request::Finality(
            FinalityRequest::CatchUp {
                set_id: 0,
                round: 3,
            }
            .encode(),
        ),
    ]
}

fn framed(bytes: &[u8]) -> Vec<u8> {
    [(bytes.len() as u32).to_le_bytes().to_vec(), bytes.to_vec()].concat()
}

fn responses() -> Vec<Response> {
    let (entries, complete, proof) = range_proof(None, 8);
    let c = chain();
    vec![
        Response::Status(Status {
            genesis: c[0].hash(),
            best_number: 8,
            best_hash: c[8].hash(),
            finalized_number: 2,
            finalized_hash: c[2].hash(),
        }),
        Response::Blocks(vec![
            BlockData {
                header: c[3].clone(),
                body: Some(signed_extrinsics()),
                justification: Some(
                    justification(authority_pairs(), 0, 1, &c[3], &[&c[3]], vec![]).encode(),
                ),
            },
            BlockData {
                header: c[2].clone(),
                body: None,
                justification: None,
            },
        ]),
        Response::State(arceon_network::protocol::StateChunk {
            entries,
            complete,
            proof: proof.nodes,
        }),
        Response::WarpProof(warp_proof().encode()),
        Response::Finality(catch_up().encode()),
        Response::Refused("busy".into()),
    ]
}

fn network_seeds(items: Vec<Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    // Mode byte 0: the message itself; 1: a length-prefixed frame as read off a stream.
    let mut seeds = Vec::new();
    for (i, bytes) in items.iter().enumerate() {
        seeds.push((format!("raw-{i}"), [vec![0u8], bytes.clone()].concat()));
        seeds.push((format!("frame-{i}"), [vec![1u8], framed(bytes)].concat()));
    }
    seeds
}

/// A state-chunk input: `(start_after, entries, complete, proof, root_from_proof)`.
pub type ChunkInput = (
    Option<Vec<u8>>,
    Vec<(Vec<u8>, Vec<u8>)>,
    bool,
    Vec<Vec<u8>>,
    bool,
);

fn state_chunk_seeds() -> Vec<(String, Vec<u8>)> {
    let keys: Vec<Vec<u8>> = small_state().1.iter().map(|(k, _)| k.clone()).collect();
    let mut seeds = Vec::new();
    let starts = [
        None,
        Some(keys[0].clone()),
        Some(keys[keys.len() / 2].clone()),
        Some(keys[keys.len() - 1].clone()),
        Some(b"arceon".to_vec()),
    ];
    for (i, start) in starts.into_iter().enumerate() {
        for limit in [1usize, 8, 64] {
            let (entries, complete, proof) = range_proof(start.as_deref(), limit);
            let input: ChunkInput = (start.clone(), entries, complete, proof.nodes, i == 0);
            seeds.push((format!("range-{i}-{limit}"), input.encode()));
        }
    }
    seeds
}

/// The runtime API methods `state_call` reaches, by the index a fuzz input picks.
pub const STATE_CALL_METHODS: [&str; 7] = [
    "Core_version",
    "AccountNonceApi_account_nonce",
    "TransactionPaymentApi_query_info",
    "TaggedTransactionQueue_validate_transaction",
    "AuraApi_slot_duration",
    "AuraApi_authorities",
    "Metadata_metadata",
];

fn rpc_seeds() -> Vec<(String, Vec<u8>)> {
    let alice = Keyring::Alice.public();
    let hash = format!("{:?}", chain()[1].hash());
    let xt = signed_extrinsics().remove(0);
    let mut seeds = vec![
        ("hash".to_string(), [b"\x00".to_vec(), hash.clone().into_bytes()].concat()),
        (
            "ss58".into(),
            [b"\x00".to_vec(), to_ss58(&alice.into()).into_bytes()].concat(),
        ),
        (
            "hex-account".into(),
            [b"\x00".to_vec(), to_hex(alice.as_ref()).into_bytes()].concat(),
        ),
        (
            "json".into(),
            [
                b"\x01".to_vec(),
                format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"state_getStorage","params":["0x26aa",{hash:?},12,"0x1f",null,[true,1.5e3]]}}"#
                )
                .into_bytes(),
            ]
            .concat(),
        ),
    ];
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        alice.encode(),
        (xt.clone(), xt.len() as u32).encode(),
        (TransactionSource::External, xt, dev_genesis().1).encode(),
        vec![],
        vec![],
        vec![1, 2, 3],
    ];
    for (i, input) in inputs.into_iter().enumerate() {
        seeds.push((
            format!("state-call-{i}"),
            [vec![2u8, i as u8], input].concat(),
        ));
    }
    seeds
}

fn rpc_server_seeds() -> Vec<(String, Vec<u8>)> {
    let genesis = format!("{:?}", dev_genesis().1);
    let alice = to_ss58(&Keyring::Alice.public().into());
    let xt = to_hex(&signed_extrinsics().remove(0));
    // System.Account of Alice, and a prefix of the System pallet's keys.
    let key = "0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9";
    let calls: Vec<(&str, String)> = vec![
        ("rpc_methods", "[]".into()),
        ("chain_getBlockHash", "[0]".into()),
        ("chain_getBlockHash", "[[0, \"0x1\", 7]]".into()),
        ("chain_getHeader", format!("[\"{genesis}\"]")),
        ("chain_getBlock", format!("[\"{genesis}\"]")),
        ("chain_getFinalizedHead", "[]".into()),
        ("chain_getRuntimeVersion", format!("[\"{genesis}\"]")),
        ("state_getStorage", format!("[\"{key}\", \"{genesis}\"]")),
        ("state_getStorageHash", format!("[\"{key}\"]")),
        ("state_getStorageSize", format!("[\"{key}\"]")),
        (
            "state_getKeysPaged",
            format!("[\"0x26aa\", 10, \"{key}\", \"{genesis}\"]"),
        ),
        (
            "state_getReadProof",
            format!("[[\"{key}\", \"0x00\"], \"{genesis}\"]"),
        ),
        (
            "state_queryStorageAt",
            format!("[[\"{key}\"], \"{genesis}\"]"),
        ),
        (
            "state_call",
            format!(
                "[\"AccountNonceApi_account_nonce\", \"{}\"]",
                to_hex(Keyring::Alice.public().as_ref())
            ),
        ),
        ("state_call", "[\"Core_version\", \"0x\"]".into()),
        ("state_getRuntimeVersion", "[]".into()),
        ("author_submitExtrinsic", format!("[\"{xt}\"]")),
        ("author_pendingExtrinsics", "[]".into()),
        ("payment_queryInfo", format!("[\"{xt}\", \"{genesis}\"]")),
        ("system_accountNextIndex", format!("[\"{alice}\"]")),
        ("account_nextIndex", format!("[\"{alice}\"]")),
        ("system_health", "[]".into()),
        ("system_properties", "[]".into()),
        ("grandpa_roundState", "[]".into()),
        ("grandpa_proveFinality", "[1]".into()),
        ("arceon_area", "[1]".into()),
        ("arceon_areas", "[]".into()),
        ("arceon_player", format!("[\"{alice}\"]")),
        ("arceon_playersInArea", format!("[1, \"{alice}\", 10]")),
        ("arceon_structuresInArea", "[1, 0, 10]".into()),
        ("arceon_npcsInArea", "[1]".into()),
        ("arceon_validators", "[]".into()),
        ("arceon_stakingLedger", format!("[\"{alice}\"]")),
        ("arceon_reputation", format!("[\"{alice}\"]")),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = calls
        .iter()
        .enumerate()
        .map(|(i, (method, params))| {
            let body =
                format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"{method}","params":{params}}}"#);
            (format!("{i}-{method}"), body.into_bytes())
        })
        .collect();
    seeds.push((
        "batch".into(),
        br#"[{"jsonrpc":"2.0","id":1,"method":"system_name","params":[]},{"jsonrpc":"2.0","id":"x","method":"chain_getHeader"}]"#.to_vec(),
    ));
    seeds
}

/// The seeds of `target`, named.
pub fn for_target(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "block" => block_seeds(),
        "extrinsic" => named("xt", extrinsics()),
        "network_request" => network_seeds(requests().iter().map(|r| r.encode()).collect()),
        "network_response" => network_seeds(responses().iter().map(|r| r.encode()).collect()),
        "finality_gossip" => finality_seeds(),
        "justification" => justification_seeds(),
        "warp_proof" => {
            let full = warp_proof();
            let mut first = full.clone();
            first.fragments.truncate(1);
            first.is_finished = false;
            vec![
                ("full".into(), full.encode()),
                ("change-only".into(), first.encode()),
            ]
        }
        "state_chunk" => state_chunk_seeds(),
        "rpc_params" => rpc_seeds(),
        "rpc_server" => rpc_server_seeds(),
        _ => Vec::new(),
    }
}

/// Checks that the seeds of `target` pass what they are meant to pass (a fixture that
/// stopped verifying would leave the fuzzer stuck at the first check).
pub fn check(target: &str) -> Result<(), String> {
    use arceon_finality::justification::GrandpaJustification;
    match target {
        "justification" => {
            for (name, bytes) in justification_seeds() {
                let j = GrandpaJustification::decode_exact(&bytes).map_err(|e| e.to_string())?;
                let target = (j.commit.target_hash, j.commit.target_number);
                j.verify(0, crate::authorities(), target)
                    .map_err(|e| format!("{name}: {e}"))?;
            }
        }
        "warp_proof" => {
            let proven =
                arceon_finality::verify_warp_proof(crate::authorities(), &warp_proof().encode())
                    .map_err(|e| e.to_string())?;
            let next: Vec<_> = crate::next_authority_pairs()
                .iter()
                .map(|p| p.public())
                .collect();
            if proven.set_id != 1 || proven.authorities != next {
                return Err("the warp proof does not end in the next set".into());
            }
        }
        "state_chunk" => {
            for (name, bytes) in state_chunk_seeds() {
                let (start, entries, complete, nodes, _) =
                    ChunkInput::decode(&mut &bytes[..]).map_err(|e| e.to_string())?;
                arceon_state::verify_range_proof(
                    &small_state().0.root(),
                    &arceon_state::StorageProof::new(nodes),
                    start.as_deref(),
                    &entries,
                    complete,
                )
                .map_err(|e| format!("{name}: {e}"))?;
            }
        }
        "extrinsic" => {
            let (state, genesis) = dev_genesis();
            for xt in signed_extrinsics() {
                arceon_runtime::executive::validate_transaction(
                    state,
                    *genesis,
                    TransactionSource::External,
                    &xt,
                    *genesis,
                )
                .map_err(|e| format!("signed seed is invalid: {e:?}"))?;
            }
        }
        "finality_gossip" => {
            let GossipMessage::Commit { commit, .. } = commit_message(0, 7, 4) else {
                return Err("not a commit".into());
            };
            let full: arceon_finality::Commit = commit.into();
            let voters = arceon_finality::voter_set(crate::authorities()).ok_or("no voters")?;
            let result =
                finality_grandpa::validate_commit(&full, &voters, crate::FixedChain::get())
                    .map_err(|e| format!("{e:?}"))?;
            if !result.is_valid() {
                return Err("the seed commit does not finalize its target".into());
            }
        }
        _ => {}
    }
    Ok(())
}
