//! The network targets' shared path: the sync protocol's codec over an in-memory stream,
//! and what a node decodes inside requests and responses.

use arceon_finality::justification::{check_vote_shape, GrandpaJustification, MAX_VOTES_PER_VOTER};
use arceon_finality::wire::FinalityRequest;
use arceon_finality::CatchUp;
use arceon_network::protocol::{Inbound, Request, Response, SyncCodec};
use arceon_runtime::Extrinsic;
use codec::{Decode, Encode};
use libp2p::request_response::Codec as _;

use crate::{authorities, small_state};

/// How a network target reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The bytes are one message.
    Message,
    /// The bytes are a stream: a length-prefixed frame read by the codec.
    Frame,
}

impl Mode {
    /// The mode (first byte, even: message, odd: frame) and the rest of the input.
    pub fn split(data: &[u8]) -> Option<(Mode, &[u8])> {
        let (first, rest) = data.split_first()?;
        Some((
            if first % 2 == 0 {
                Mode::Message
            } else {
                Mode::Frame
            },
            rest,
        ))
    }
}

/// A request read off `stream` by the codec, if well-formed.
pub fn read_request(stream: &[u8]) -> Option<Request> {
    let mut io = futures::io::Cursor::new(stream);
    let protocol = arceon_network::protocol::sync_protocol(&Default::default());
    match futures::executor::block_on(SyncCodec.read_request(&protocol, &mut io)) {
        Ok(Inbound::Valid(request)) => Some(request),
        Ok(Inbound::Malformed(_)) | Err(_) => None,
    }
}

/// A response read off `stream` by the codec, if well-formed.
pub fn read_response(stream: &[u8]) -> Option<Response> {
    let mut io = futures::io::Cursor::new(stream);
    let protocol = arceon_network::protocol::sync_protocol(&Default::default());
    futures::executor::block_on(SyncCodec.read_response(&protocol, &mut io)).ok()
}

/// Decodes what a responder decodes inside a request.
pub fn inspect_request(request: &Request) {
    if let Request::Finality(bytes) = request {
        let mut input = &bytes[..];
        if let Ok(decoded) = FinalityRequest::decode(&mut input) {
            let _ = decoded.encode();
        }
    }
}

/// Checks a catch-up as the finality gadget does before any signature work.
pub fn check_catch_up(catch_up: &CatchUp) -> Result<(), &'static str> {
    check_vote_shape(
        catch_up.prevotes.iter().map(|v| &v.id),
        authorities(),
        MAX_VOTES_PER_VOTER,
    )?;
    check_vote_shape(
        catch_up.precommits.iter().map(|v| &v.id),
        authorities(),
        MAX_VOTES_PER_VOTER,
    )
}

/// Decodes and verifies what a requester decodes and verifies inside a response.
pub fn inspect_response(response: &Response) {
    match response {
        Response::Blocks(blocks) => {
            for block in blocks {
                let hash = block.header.hash();
                if let Some(body) = &block.body {
                    let _ = arceon_state::ordered_trie_root(body);
                    for xt in body {
                        let _ = Extrinsic::decode_exact(xt);
                    }
                }
                if let Some(bytes) = &block.justification {
                    if let Ok(justification) = GrandpaJustification::decode_exact(bytes) {
                        let _ = justification.verify(0, authorities(), (hash, block.header.number));
                    }
                }
            }
        }
        Response::State(chunk) => {
            let proof = arceon_state::StorageProof::new(chunk.proof.clone());
            let _ = arceon_state::verify_range_proof(
                &small_state().0.root(),
                &proof,
                None,
                &chunk.entries,
                chunk.complete,
            );
        }
        Response::WarpProof(bytes) => {
            let _ = arceon_finality::verify_warp_proof(authorities(), bytes);
        }
        Response::Finality(bytes) => {
            let mut input = &bytes[..];
            if let Ok(catch_up) = CatchUp::decode(&mut input) {
                let _ = check_catch_up(&catch_up);
            }
        }
        // Lane answers are decoded by the lane service (votes, receipts, identities);
        // see the lane gossip decoders.
        Response::Status(_) | Response::Refused(_) | Response::Lane(_) => {}
    }
}
