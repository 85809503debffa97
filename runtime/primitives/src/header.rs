//! Headers, digests and blocks in Substrate's encoding.

use codec::{Compact, Decode, Encode, Error as CodecError, Input, Output};

use crate::{BlockNumber, H256};

/// Four bytes naming a consensus engine in digest items.
pub type ConsensusEngineId = [u8; 4];
/// Aura: `PreRuntime(aura, slot)` and `Seal(aura, signature)`.
pub const AURA_ENGINE_ID: ConsensusEngineId = *b"aura";
/// GRANDPA: `Consensus(FRNK, ...)` for authority-set changes.
pub const GRANDPA_ENGINE_ID: ConsensusEngineId = *b"FRNK";

/// One digest log item. Codec indices are Substrate's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestItem {
    /// Data placed by the block author before the runtime runs (index 6).
    PreRuntime(ConsensusEngineId, Vec<u8>),
    /// A message from the runtime to the consensus engine (index 4).
    Consensus(ConsensusEngineId, Vec<u8>),
    /// The author's seal over the header hash (index 5); always the last item.
    Seal(ConsensusEngineId, Vec<u8>),
    /// Anything else (index 0).
    Other(Vec<u8>),
    /// The runtime environment changed in this block (index 8).
    RuntimeEnvironmentUpdated,
}

impl Encode for DigestItem {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        match self {
            DigestItem::Other(data) => {
                dest.push_byte(0);
                data.encode_to(dest);
            }
            DigestItem::Consensus(id, data) => {
                dest.push_byte(4);
                id.encode_to(dest);
                data.encode_to(dest);
            }
            DigestItem::Seal(id, data) => {
                dest.push_byte(5);
                id.encode_to(dest);
                data.encode_to(dest);
            }
            DigestItem::PreRuntime(id, data) => {
                dest.push_byte(6);
                id.encode_to(dest);
                data.encode_to(dest);
            }
            DigestItem::RuntimeEnvironmentUpdated => dest.push_byte(8),
        }
    }
}

impl Decode for DigestItem {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        Ok(match input.read_byte()? {
            0 => DigestItem::Other(Decode::decode(input)?),
            4 => DigestItem::Consensus(Decode::decode(input)?, Decode::decode(input)?),
            5 => DigestItem::Seal(Decode::decode(input)?, Decode::decode(input)?),
            6 => DigestItem::PreRuntime(Decode::decode(input)?, Decode::decode(input)?),
            8 => DigestItem::RuntimeEnvironmentUpdated,
            _ => return Err("unknown digest item kind".into()),
        })
    }
}

/// The digest of a header: an ordered list of log items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct Digest {
    /// The items, in order.
    pub logs: Vec<DigestItem>,
}

impl Digest {
    /// The Aura slot this block claims, from its `PreRuntime(aura, slot)` item.
    pub fn aura_slot(&self) -> Option<u64> {
        self.logs.iter().find_map(|item| match item {
            DigestItem::PreRuntime(id, data) if *id == crate::AURA_ENGINE_ID => {
                u64::decode(&mut &data[..]).ok()
            }
            _ => None,
        })
    }

    /// The seal, if the last item is one.
    pub fn seal(&self) -> Option<(&ConsensusEngineId, &[u8])> {
        match self.logs.last() {
            Some(DigestItem::Seal(id, data)) => Some((id, data)),
            _ => None,
        }
    }
}

/// A block header, encoded as Substrate's generic header with a compact `u32` number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Hash of the parent header.
    pub parent_hash: H256,
    /// Height of the block (genesis is 0).
    pub number: BlockNumber,
    /// State trie root after executing the block.
    pub state_root: H256,
    /// Ordered-trie root of the block's extrinsics.
    pub extrinsics_root: H256,
    /// Consensus and runtime log items.
    pub digest: Digest,
}

impl Encode for Header {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.parent_hash.encode_to(dest);
        Compact(self.number).encode_to(dest);
        self.state_root.encode_to(dest);
        self.extrinsics_root.encode_to(dest);
        self.digest.encode_to(dest);
    }
}

impl Decode for Header {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        Ok(Header {
            parent_hash: Decode::decode(input)?,
            number: Compact::<BlockNumber>::decode(input)?.0,
            state_root: Decode::decode(input)?,
            extrinsics_root: Decode::decode(input)?,
            digest: Decode::decode(input)?,
        })
    }
}

impl Header {
    /// The block hash: blake2-256 of the encoded header.
    pub fn hash(&self) -> H256 {
        H256(crate::blake2_256(&self.encode()))
    }

    /// The header without its trailing seal, and the seal. Aura signs the hash of the
    /// unsealed header.
    pub fn split_seal(&self) -> (Header, Option<DigestItem>) {
        let mut unsealed = self.clone();
        let seal = match unsealed.digest.logs.last() {
            Some(DigestItem::Seal(..)) => unsealed.digest.logs.pop(),
            _ => None,
        };
        (unsealed, seal)
    }
}

/// A block: header plus extrinsics, each held as its full encoding (with its length
/// prefix), so the block encodes exactly as Substrate's `Block<Header, OpaqueExtrinsic>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// Encoded extrinsics, each including its compact length prefix.
    pub extrinsics: Vec<Vec<u8>>,
}

impl Encode for Block {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.header.encode_to(dest);
        Compact(self.extrinsics.len() as u32).encode_to(dest);
        for xt in &self.extrinsics {
            dest.write(xt);
        }
    }
}

impl Decode for Block {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let header = Header::decode(input)?;
        let count = Compact::<u32>::decode(input)?.0 as usize;
        let mut extrinsics = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            // Each extrinsic is a length-prefixed byte string; keep the prefix.
            let len = Compact::<u32>::decode(input)?.0 as usize;
            let mut xt = Compact(len as u32).encode();
            let start = xt.len();
            if let Some(remaining) = input.remaining_len()? {
                if remaining < len {
                    return Err("extrinsic longer than the block".into());
                }
            }
            xt.resize(start + len, 0);
            input.read(&mut xt[start..])?;
            extrinsics.push(xt);
        }
        Ok(Block { header, extrinsics })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_with_all_digest_kinds() {
        let header = Header {
            parent_hash: H256::repeat_byte(1),
            number: 1_000_000,
            state_root: H256::repeat_byte(2),
            extrinsics_root: H256::repeat_byte(3),
            digest: Digest {
                logs: vec![
                    DigestItem::PreRuntime(AURA_ENGINE_ID, 7u64.encode()),
                    DigestItem::Consensus(GRANDPA_ENGINE_ID, vec![1, 2, 3]),
                    DigestItem::Other(vec![9]),
                    DigestItem::RuntimeEnvironmentUpdated,
                    DigestItem::Seal(AURA_ENGINE_ID, vec![5; 64]),
                ],
            },
        };
        let bytes = header.encode();
        let decoded = Header::decode(&mut &bytes[..]).unwrap();
        assert_eq!(decoded, header);
        assert_eq!(decoded.digest.aura_slot(), Some(7));
        let (unsealed, seal) = header.split_seal();
        assert!(seal.is_some());
        assert_eq!(unsealed.digest.logs.len(), 4);
        assert_ne!(unsealed.hash(), header.hash());
    }

    #[test]
    fn unknown_digest_kind_is_rejected() {
        assert!(DigestItem::decode(&mut &[3u8, 0][..]).is_err());
    }

    #[test]
    fn block_round_trip_keeps_extrinsic_bytes() {
        let block = Block {
            header: Header {
                parent_hash: H256::zero(),
                number: 3,
                state_root: H256::zero(),
                extrinsics_root: H256::zero(),
                digest: Digest::default(),
            },
            extrinsics: vec![vec![8, 4, 1], vec![0]],
        };
        let bytes = block.encode();
        assert_eq!(Block::decode(&mut &bytes[..]).unwrap(), block);
        // A truncated block is an error, not a panic.
        assert!(Block::decode(&mut &bytes[..bytes.len() - 2]).is_err());
    }
}
