//! Wire formats of Arceon's request-response protocol and its codec.
//!
//! Every frame is a 4-byte little-endian length followed by that many bytes of SCALE.
//! A frame longer than the protocol's limit, or bytes that do not decode exactly, are an
//! `InvalidData` error: the network treats the sender as misbehaving.

use std::io;

use arceon_primitives::{BlockNumber, Header, H256};
use codec::{Decode, DecodeAll, DecodeLimit, Encode};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// Largest request frame: requests are small.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest response frame (a batch of blocks or a state chunk).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Most blocks served in one response.
pub const MAX_BLOCKS_PER_RESPONSE: u32 = 128;
/// Most state entries served in one chunk.
pub const MAX_STATE_ENTRIES: u32 = 4096;
/// Nesting limit when decoding untrusted frames.
const DECODE_DEPTH: u32 = 32;

/// Which way a block range goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Direction {
    /// From the start block up along the responder's best chain (by number).
    #[codec(index = 0)]
    Ascending,
    /// From the start block back through its parents.
    #[codec(index = 1)]
    Descending,
}

/// Where a block range starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum FromBlock {
    /// The block with this hash.
    #[codec(index = 0)]
    Hash(H256),
    /// The block at this height on the responder's best chain.
    #[codec(index = 1)]
    Number(BlockNumber),
}

/// A range of blocks.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlocksRequest {
    /// First block.
    pub from: FromBlock,
    /// Direction.
    pub direction: Direction,
    /// At most this many blocks (capped at [`MAX_BLOCKS_PER_RESPONSE`]).
    pub max: u32,
    /// Include bodies.
    pub bodies: bool,
    /// Include stored justifications.
    pub justifications: bool,
}

/// A chunk of a block's state, in key order.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StateRequest {
    /// The block whose state is wanted.
    pub block: H256,
    /// Entries with keys strictly after this one (`None`: from the first key).
    pub start_after: Option<Vec<u8>>,
    /// At most this many entries (capped at [`MAX_STATE_ENTRIES`]).
    pub max_entries: u32,
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Request {
    /// The responder's chain status.
    #[codec(index = 0)]
    Status,
    /// Blocks.
    #[codec(index = 1)]
    Blocks(BlocksRequest),
    /// State.
    #[codec(index = 2)]
    State(StateRequest),
    /// A warp-sync proof starting at this authority set.
    #[codec(index = 3)]
    WarpProof {
        /// First set the proof covers.
        from_set_id: u64,
    },
    /// A finality-gadget request (catch-up), opaque to the network.
    #[codec(index = 4)]
    Finality(Vec<u8>),
    /// A fast-lane message between committee members (proposals, forwarded actions,
    /// identities), opaque to the network.
    #[codec(index = 5)]
    Lane(Vec<u8>),
}

/// A peer's chain status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Status {
    /// Genesis hash.
    pub genesis: H256,
    /// Best block number.
    pub best_number: BlockNumber,
    /// Best block hash.
    pub best_hash: H256,
    /// Finalized block number.
    pub finalized_number: BlockNumber,
    /// Finalized block hash.
    pub finalized_hash: H256,
}

/// One block of a range.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlockData {
    /// The header.
    pub header: Header,
    /// Encoded extrinsics, if asked for.
    pub body: Option<Vec<Vec<u8>>>,
    /// The stored justification, if asked for and present.
    pub justification: Option<Vec<u8>>,
}

/// A chunk of state.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StateChunk {
    /// Key-value pairs in key order.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// No entries follow the last one.
    pub complete: bool,
    /// The trie nodes proving that `entries` are exactly the state's pairs after the
    /// request's `start_after` (and that `complete` is true), against the block's state
    /// root: the downloader checks each chunk as it arrives.
    pub proof: Vec<Vec<u8>>,
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Response {
    /// Answer to [`Request::Status`].
    #[codec(index = 0)]
    Status(Status),
    /// Answer to [`Request::Blocks`].
    #[codec(index = 1)]
    Blocks(Vec<BlockData>),
    /// Answer to [`Request::State`].
    #[codec(index = 2)]
    State(StateChunk),
    /// Answer to [`Request::WarpProof`] (encoded by the finality gadget).
    #[codec(index = 3)]
    WarpProof(Vec<u8>),
    /// Answer to [`Request::Finality`].
    #[codec(index = 4)]
    Finality(Vec<u8>),
    /// The responder cannot or will not answer.
    #[codec(index = 5)]
    Refused(String),
    /// Answer to [`Request::Lane`].
    #[codec(index = 6)]
    Lane(Vec<u8>),
}

/// The request-response protocol name for a chain.
pub fn sync_protocol(genesis: &H256) -> StreamProtocol {
    protocol_name(genesis, "sync/1")
}

/// The fast lanes' member stream: length-prefixed frames ([`read_frame`]) of at most
/// [`MAX_LANE_FRAME_BYTES`], one long-lived stream per peer and direction.
pub fn lane_protocol(genesis: &H256) -> StreamProtocol {
    protocol_name(genesis, "lane/1")
}

/// The largest frame on a lane stream.
pub const MAX_LANE_FRAME_BYTES: usize = 256 * 1024;

/// `/arceon/<genesis hex>/<suffix>`.
pub fn protocol_name(genesis: &H256, suffix: &str) -> StreamProtocol {
    let name = format!("/arceon/{}/{suffix}", hex::encode(genesis.as_bytes()));
    // Always starts with '/': valid.
    StreamProtocol::try_from_owned(name).unwrap_or(StreamProtocol::new("/arceon/invalid"))
}

fn invalid(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason.into())
}

/// Reads one length-prefixed frame of at most `limit` bytes.
pub async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > limit {
        return Err(invalid(format!(
            "frame of {len} bytes exceeds the {limit}-byte limit"
        )));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes one length-prefixed frame.
pub async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, data: &[u8]) -> io::Result<()> {
    let len = u32::try_from(data.len()).map_err(|_| invalid("frame too large"))?;
    io.write_all(&len.to_le_bytes()).await?;
    io.write_all(data).await?;
    io.close().await
}

/// Decodes untrusted bytes exactly (no trailing bytes) with a nesting limit.
pub fn decode_untrusted<T: Decode>(bytes: &[u8]) -> io::Result<T> {
    let mut input = bytes;
    let value = T::decode_with_depth_limit(DECODE_DEPTH, &mut input)
        .map_err(|e| invalid(format!("undecodable message: {e}")))?;
    if !input.is_empty() {
        return Err(invalid("trailing bytes after the message"));
    }
    Ok(value)
}

/// Decodes a gossip payload exactly.
pub fn decode_gossip<T: Decode>(bytes: &[u8]) -> Result<T, codec::Error> {
    T::decode_all(&mut &bytes[..])
}

/// An inbound request as read from the wire: libp2p drops requests whose decoding fails
/// without telling the behaviour, so the codec hands malformed ones up as such and the
/// network penalises their sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A well-formed request.
    Valid(Request),
    /// Oversized or undecodable bytes.
    Malformed(String),
}

/// The codec of the sync protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncCodec;

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Inbound;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Inbound>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = match read_frame(io, MAX_REQUEST_BYTES).await {
            Ok(frame) => frame,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Ok(Inbound::Malformed(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        Ok(match decode_untrusted(&frame) {
            Ok(request) => Inbound::Valid(request),
            Err(e) => Inbound::Malformed(e.to_string()),
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode_untrusted(&read_frame(io, MAX_RESPONSE_BYTES).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Inbound,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match request {
            Inbound::Valid(request) => write_frame(io, &request.encode()).await,
            Inbound::Malformed(_) => Err(invalid("refusing to send a malformed request")),
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response.encode()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_garbage_is_invalid_data() {
        let request = Request::Blocks(BlocksRequest {
            from: FromBlock::Number(7),
            direction: Direction::Ascending,
            max: 64,
            bodies: true,
            justifications: false,
        });
        let bytes = request.encode();
        assert_eq!(decode_untrusted::<Request>(&bytes).ok(), Some(request));
        let err = decode_untrusted::<Request>(&[9, 9, 9])
            .err()
            .map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::InvalidData));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_untrusted::<Request>(&trailing).is_err());
    }

    #[test]
    fn oversized_frames_are_refused_before_reading_them() {
        let mut frame = ((MAX_REQUEST_BYTES + 1) as u32).to_le_bytes().to_vec();
        frame.extend(std::iter::repeat_n(0u8, 16));
        let mut reader = futures::io::Cursor::new(frame);
        let result = futures::executor::block_on(read_frame(&mut reader, MAX_REQUEST_BYTES));
        assert_eq!(
            result.err().map(|e| e.kind()),
            Some(io::ErrorKind::InvalidData)
        );
    }

    #[test]
    fn protocol_names_carry_the_genesis_hash() {
        let a = sync_protocol(&H256::repeat_byte(1));
        let b = sync_protocol(&H256::repeat_byte(2));
        assert_ne!(a, b);
        assert!(a.as_ref().starts_with("/arceon/0101"));
    }
}
