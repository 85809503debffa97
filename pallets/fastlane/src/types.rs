//! The fast-lane wire formats, shared by the runtime, the lane protocol and clients.
//!
//! Everything is SCALE: integers little-endian, `Vec`s prefixed with their compact
//! length, enums with their one-byte variant index.
//!
//! # Lane action (what a player signs)
//!
//! ```text
//! LaneAction   = genesis   [32]  the chain's genesis hash
//!                area      u32   the area whose lane orders it
//!                version   u64   the area committee's version the player saw
//!                player    [32]  the player's account (its sr25519 public key)
//!                nonce     u64   the player's lane nonce: 0 for its first lane action,
//!                                then one more per sequenced action, in every area
//!                kind      ActionKind
//! ActionKind   = 0x00 Move    { x i64, y i64 }   target, milli-units
//!              | 0x01 Gather  { resource u32 }
//!              | 0x02 Craft   { recipe u32 }
//!              | 0x03 Place   { kind u32, x i64, y i64 }   south-west corner
//!              | 0x04 Upgrade { x i64, y i64 }   a point of the structure's footprint
//!              | 0x05 Demolish { x i64, y i64 }  a point of the structure's footprint
//! ```
//!
//! A 101-byte move is therefore `genesis ++ area ++ version ++ player ++ nonce ++ 00 ++ x
//! ++ y`. The player signs `ACTION_TAG ++ SCALE(LaneAction)` with sr25519 (context
//! `substrate`, as every Substrate signature). `ACTION_TAG` starts with `a` (0x61), which
//! is no pallet's index, and a lane message is longer than 32 bytes: a lane signature is
//! never a valid extrinsic signature (whose payload starts with a call's pallet index or
//! is a 32-byte hash), nor an extrinsic signature a lane signature.
//!
//! ```text
//! SignedLaneAction = action LaneAction ++ signature [64]
//! action hash      = blake2_256(SCALE(SignedLaneAction))
//! ```
//!
//! # Outcome (what a sequenced action did)
//!
//! ```text
//! Outcome = 0x00 Moved    { area u32, x i64, y i64 }
//!         | 0x01 Crossed  { from u32, to u32, x i64, y i64 }
//!         | 0x02 Gathered { resource u32, amount u32 }
//!         | 0x03 Crafted  { recipe u32, output u32, amount u32 }
//!         | 0x04 Placed   { kind u32, x i64, y i64 }   the new structure's corner
//!         | 0x05 Upgraded { kind u32, x i64, y i64, level u8 }
//!         | 0x06 Demolished { kind u32, x i64, y i64 }
//! entry   = blake2_256(action hash ++ SCALE(Outcome))
//! ```
//!
//! # Batch header (what the committee signs)
//!
//! ```text
//! BatchHeader = genesis      [32]
//!               area         u32
//!               version      u64   committee version the batch is certified under
//!               view         u32   the view (0 until a view change replaces the primary)
//!               height       u64   1 for the lane's first batch, then +1
//!               parent       [32]  hash of the previous header (zero at height 1)
//!               time_ms      u64   lane time: unix ms, increasing along the lane
//!               entries_root [32]  binary Merkle root of the entries (see below)
//!               count        u32   number of actions
//! header hash = blake2_256(SCALE(BatchHeader))
//! ```
//!
//! The Merkle tree pairs `blake2_256(left ++ right)` level by level; an odd node at the
//! end of a level moves up unchanged; the root of no entries is 32 zero bytes.
//!
//! # Member signatures (signing rounds)
//!
//! A committee member signs the batch headers it seals or votes for in *rounds*: one
//! sr25519 signature (its Aura session key) over the Merkle root of all the header
//! hashes of the round, whatever their areas, and for each header the path that proves
//! it is in that root. A member in many lanes thus signs once per round, not once per
//! batch, and a verifier checks one signature per member and round.
//!
//! ```text
//! MemberSignature = signature [64]   sr25519 of BATCH_TAG ++ round root
//!                   index     u16    the header's leaf in the round
//!                   count     u16    header hashes in the round, 1 to MAX_ROUND_HEADERS
//!                   path      Vec<[32]>  Merkle path from the header hash to the root
//! ```
//!
//! A round of one header has the header hash as its root and an empty path: the member
//! signs `BATCH_TAG ++ header hash`.
//!
//! A `Certificate` is `Vec<(member index u8, MemberSignature)>`, strictly increasing
//! indices into `AreaAuthority::members()` (primary first); it needs [`quorum`] of them.
//! A `Receipt` is the header, the certificate, the action's index in the batch, its
//! hash, its outcome and its Merkle path.
//!
//! # Equivocation evidence
//!
//! ```text
//! EquivocationProof = first CertifiedBatch ++ second CertifiedBatch
//! ```
//!
//! Two batches certified for one `(area, version, height)` with different header
//! hashes, each with its body. Any two quorums of a committee share a member, so at
//! least one member signed both: the members in both certificates are the offenders. A
//! receipt is *contested* when its entry (action and outcome) is in one batch and not in
//! the other: until the chain picks one, either side's players could lose theirs.
//!
//! # Receipt challenge
//!
//! ```text
//! ReceiptChallenge = receipt  Receipt
//!                    action   SignedLaneAction   the receipted action (its hash is the
//!                                                receipt's action hash)
//!                    included Vec<BatchHeader>   the chain's lane headers from the
//!                                                receipt's height to the lane's head, or
//!                                                none when the chain is below that height
//! ```

use arceon_pallet_areas::{AreaId, Position, ResourceId};
use arceon_pallet_players::{ItemId, RecipeId};
use arceon_pallet_structures::KindId;
use arceon_primitives::{blake2_256, AccountId32, H256};
use codec::{Decode, Encode};

/// Prefix of every message a player signs for a lane action.
pub const ACTION_TAG: &[u8] = b"arceon/lane-action/v1";
/// Prefix of every message a committee member signs for a batch header.
pub const BATCH_TAG: &[u8] = b"arceon/lane-batch/v1";
/// The most actions one batch holds.
pub const MAX_BATCH_ACTIONS: usize = 512;
/// The most signatures a certificate carries (a committee's largest size).
pub const MAX_CERTIFICATE_SIGNATURES: usize = arceon_pallet_areas::MAX_COMMITTEE;
/// The most batch headers a member signs in one round.
pub const MAX_ROUND_HEADERS: usize = 4_096;

/// What a player does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum ActionKind {
    /// Walk to `(x, y)` (milli-units).
    #[codec(index = 0)]
    Move {
        /// East-west target.
        x: i64,
        /// North-south target.
        y: i64,
    },
    /// Gather a resource of the area.
    #[codec(index = 1)]
    Gather {
        /// Which resource.
        resource: ResourceId,
    },
    /// Craft with a recipe.
    #[codec(index = 2)]
    Craft {
        /// Which recipe.
        recipe: RecipeId,
    },
    /// Place a structure with its south-west corner at `(x, y)`; its claim must touch
    /// only grid cells wholly inside the area.
    #[codec(index = 3)]
    Place {
        /// Which structure kind.
        kind: KindId,
        /// East-west coordinate of the corner.
        x: i64,
        /// North-south coordinate of the corner.
        y: i64,
    },
    /// Raise by one level the player's structure whose footprint covers `(x, y)`.
    #[codec(index = 4)]
    Upgrade {
        /// East-west coordinate of the point.
        x: i64,
        /// North-south coordinate of the point.
        y: i64,
    },
    /// Demolish the player's structure whose footprint covers `(x, y)`.
    #[codec(index = 5)]
    Demolish {
        /// East-west coordinate of the point.
        x: i64,
        /// North-south coordinate of the point.
        y: i64,
    },
}

/// A player action for an area's lane (see the module doc for its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct LaneAction {
    /// The chain.
    pub genesis: H256,
    /// The area whose lane orders it.
    pub area: AreaId,
    /// The committee version the player saw.
    pub version: u64,
    /// The player.
    pub player: AccountId32,
    /// The player's lane nonce.
    pub nonce: u64,
    /// What it does.
    pub kind: ActionKind,
}

impl LaneAction {
    /// The message the player signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut message = ACTION_TAG.to_vec();
        self.encode_to(&mut message);
        message
    }
}

/// A lane action with its player's signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct SignedLaneAction {
    /// The action.
    pub action: LaneAction,
    /// sr25519 signature of [`LaneAction::signing_message`] by `action.player`.
    pub signature: [u8; 64],
}

impl SignedLaneAction {
    /// Signs `action` with `pair` (which must be the player's key).
    pub fn sign(action: LaneAction, pair: &sp_core::sr25519::Pair) -> Self {
        use sp_core::Pair;
        let signature = pair.sign(&action.signing_message()).0;
        SignedLaneAction { action, signature }
    }

    /// The action's hash: its identity in receipts and caches.
    pub fn hash(&self) -> H256 {
        H256(blake2_256(&self.encode()))
    }

    /// Whether the signature is the player's, checked through the verified-signature
    /// cache.
    pub fn verify(&self) -> bool {
        crate::sigcache::verify(
            &self.action.signing_message(),
            &self.signature,
            self.action.player.as_ref(),
        )
    }
}

/// What a sequenced action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Outcome {
    /// Moved within the area.
    #[codec(index = 0)]
    Moved {
        /// The area.
        area: AreaId,
        /// The new position.
        position: Position,
    },
    /// Walked into a neighbouring area.
    #[codec(index = 1)]
    Crossed {
        /// The area left.
        from: AreaId,
        /// The area entered.
        to: AreaId,
        /// The new position.
        position: Position,
    },
    /// Gathered units of a resource.
    #[codec(index = 2)]
    Gathered {
        /// Which resource.
        resource: ResourceId,
        /// How many units.
        amount: u32,
    },
    /// Crafted an item.
    #[codec(index = 3)]
    Crafted {
        /// The recipe.
        recipe: RecipeId,
        /// The item produced.
        output: ItemId,
        /// How many.
        amount: u32,
    },
    /// Placed a structure.
    #[codec(index = 4)]
    Placed {
        /// Its kind.
        kind: KindId,
        /// Its south-west corner.
        position: Position,
    },
    /// Raised a structure's level.
    #[codec(index = 5)]
    Upgraded {
        /// Its kind.
        kind: KindId,
        /// Its south-west corner.
        position: Position,
        /// Its new level.
        level: u8,
    },
    /// Demolished a structure (half of what it cost went back to the player).
    #[codec(index = 6)]
    Demolished {
        /// Its kind.
        kind: KindId,
        /// Its south-west corner.
        position: Position,
    },
}

impl Outcome {
    /// Where in the world the action took effect, when it has a place of its own (a
    /// move's destination, a structure's corner); gathers and crafts happen where the
    /// player stands.
    pub fn position(&self) -> Option<Position> {
        match self {
            Outcome::Moved { position, .. }
            | Outcome::Crossed { position, .. }
            | Outcome::Placed { position, .. }
            | Outcome::Upgraded { position, .. }
            | Outcome::Demolished { position, .. } => Some(*position),
            Outcome::Gathered { .. } | Outcome::Crafted { .. } => None,
        }
    }
}

/// The Merkle leaf of one sequenced action.
pub fn entry_hash(action_hash: &H256, outcome: &Outcome) -> H256 {
    let mut bytes = action_hash.as_bytes().to_vec();
    outcome.encode_to(&mut bytes);
    H256(blake2_256(&bytes))
}

/// A batch header (see the module doc for its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct BatchHeader {
    /// The chain.
    pub genesis: H256,
    /// The area.
    pub area: AreaId,
    /// The committee version.
    pub version: u64,
    /// The view.
    pub view: u32,
    /// Position in the lane, from 1.
    pub height: u64,
    /// Hash of the previous header (zero at height 1).
    pub parent: H256,
    /// Lane time, unix milliseconds.
    pub time_ms: u64,
    /// Merkle root of the entries.
    pub entries_root: H256,
    /// Number of actions.
    pub count: u32,
}

impl BatchHeader {
    /// The header's hash.
    pub fn hash(&self) -> H256 {
        H256(blake2_256(&self.encode()))
    }

    /// The message a member signs for this header alone (a round of one header).
    pub fn signing_message(&self) -> Vec<u8> {
        round_message(&self.hash())
    }
}

/// The message a member signs for a round whose header hashes have Merkle root `root`.
pub fn round_message(root: &H256) -> Vec<u8> {
    let mut message = BATCH_TAG.to_vec();
    message.extend_from_slice(root.as_bytes());
    message
}

/// A member's signature of a batch header, made in a signing round (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct MemberSignature {
    /// sr25519 signature of [`round_message`] of the round's root.
    pub signature: [u8; 64],
    /// The header's leaf in the round.
    pub index: u16,
    /// Header hashes in the round.
    pub count: u16,
    /// Merkle path from the header hash to the round's root.
    pub path: Vec<H256>,
}

impl From<[u8; 64]> for MemberSignature {
    /// A signature of a round of one header (of `BATCH_TAG ++ header hash`).
    fn from(signature: [u8; 64]) -> Self {
        MemberSignature {
            signature,
            index: 0,
            count: 1,
            path: Vec::new(),
        }
    }
}

impl MemberSignature {
    /// The message this signature must sign if it covers the header hashed `header`:
    /// `None` if its path does not lead from `header` to a root (malformed).
    pub fn message_for(&self, header: &H256) -> Option<Vec<u8>> {
        let count = usize::from(self.count);
        // A path is one hash per level at most: log2(MAX_ROUND_HEADERS) = 12.
        if count == 0 || count > MAX_ROUND_HEADERS || self.path.len() > 12 {
            return None;
        }
        let root = merkle_root_from_path(*header, usize::from(self.index), count, &self.path)?;
        Some(round_message(&root))
    }
}

/// Signs the header hashes `headers` in one round with `pair`: one signature, and for
/// each header (in order) its [`MemberSignature`]. At most [`MAX_ROUND_HEADERS`] headers.
pub fn sign_round(pair: &sp_core::sr25519::Pair, headers: &[H256]) -> Vec<MemberSignature> {
    use sp_core::Pair;
    debug_assert!(!headers.is_empty() && headers.len() <= MAX_ROUND_HEADERS);
    let (root, paths) = merkle_paths(headers);
    let signature = pair.sign(&round_message(&root)).0;
    paths
        .into_iter()
        .enumerate()
        .map(|(index, path)| MemberSignature {
            signature,
            index: index as u16,
            count: headers.len() as u16,
            path,
        })
        .collect()
}

/// A batch: its header, the actions and what each did.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Batch {
    /// The header.
    pub header: BatchHeader,
    /// The actions, in lane order.
    pub actions: Vec<SignedLaneAction>,
    /// The outcome of each action.
    pub outcomes: Vec<Outcome>,
}

impl Batch {
    /// The entries (Merkle leaves) of the batch.
    pub fn entries(&self) -> Vec<H256> {
        self.actions
            .iter()
            .zip(&self.outcomes)
            .map(|(action, outcome)| entry_hash(&action.hash(), outcome))
            .collect()
    }

    /// Whether the header's count and entries root match the body.
    pub fn body_matches(&self) -> bool {
        self.actions.len() == self.outcomes.len()
            && self.header.count as usize == self.actions.len()
            && merkle_root(&self.entries()) == self.header.entries_root
    }
}

/// Committee signatures on a batch header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Certificate {
    /// `(index into the committee's members, signature)`, by increasing index.
    pub signatures: Vec<(u8, MemberSignature)>,
}

/// A batch with its certificate: what blocks include.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct CertifiedBatch {
    /// The batch.
    pub batch: Batch,
    /// Its certificate.
    pub certificate: Certificate,
}

/// Two certified batches at one lane position (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct EquivocationProof {
    /// One certified batch.
    pub first: CertifiedBatch,
    /// Another, at the same area, version and height.
    pub second: CertifiedBatch,
}

impl EquivocationProof {
    /// The member indices in both certificates (the offenders, if both verify).
    pub fn double_signers(&self) -> Vec<u8> {
        let second: Vec<u8> = self
            .second
            .certificate
            .signatures
            .iter()
            .map(|(member, _)| *member)
            .collect();
        self.first
            .certificate
            .signatures
            .iter()
            .map(|(member, _)| *member)
            .filter(|member| second.contains(member))
            .collect()
    }

    /// The players of the contested receipts, one per receipt (a player with two has two
    /// entries): entries in one batch and not in the other, first batch first.
    pub fn contested(&self) -> Vec<AccountId32> {
        let first = self.first.batch.entries();
        let second = self.second.batch.entries();
        let only_in = |batch: &Batch, entries: &[H256], other: &[H256]| -> Vec<AccountId32> {
            let other: std::collections::BTreeSet<&H256> = other.iter().collect();
            batch
                .actions
                .iter()
                .zip(entries)
                .filter(|(_, entry)| !other.contains(entry))
                .map(|(signed, _)| signed.action.player.clone())
                .collect()
        };
        let mut players = only_in(&self.first.batch, &first, &second);
        players.extend(only_in(&self.second.batch, &second, &first));
        players
    }
}

/// A player's claim that the chain broke its receipt (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct ReceiptChallenge {
    /// The receipt.
    pub receipt: Receipt,
    /// The receipted action.
    pub action: SignedLaneAction,
    /// The chain's lane headers from the receipt's height to the lane's head (empty when
    /// the chain has not reached that height).
    pub included: Vec<BatchHeader>,
}

/// The player's proof that an action was sequenced: the certified header, where the
/// action sits in the batch, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Receipt {
    /// The certified header.
    pub header: BatchHeader,
    /// Its certificate.
    pub certificate: Certificate,
    /// The action's index in the batch.
    pub index: u32,
    /// The action's hash.
    pub action_hash: H256,
    /// What it did.
    pub outcome: Outcome,
    /// Merkle path from the entry to `header.entries_root`.
    pub proof: Vec<H256>,
}

impl Receipt {
    /// Whether the entry is in the header (the certificate is checked separately,
    /// against the committee).
    pub fn entry_proven(&self) -> bool {
        verify_merkle(
            &self.header.entries_root,
            entry_hash(&self.action_hash, &self.outcome),
            self.index as usize,
            self.header.count as usize,
            &self.proof,
        )
    }
}

/// Signatures a committee of `members` needs: `ceil(2 * members / 3)` (one for a
/// committee of one), so that any two quorums share a member.
pub fn quorum(members: usize) -> usize {
    (2 * members).div_ceil(3).max(1)
}

fn hash_pair(left: &H256, right: &H256) -> H256 {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(left.as_bytes());
    bytes[32..].copy_from_slice(right.as_bytes());
    H256(blake2_256(&bytes))
}

/// One level up the tree: pairs hashed, an odd last node carried up unchanged.
fn next_level(level: &[H256]) -> Vec<H256> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [left, right] => hash_pair(left, right),
            _ => pair[0],
        })
        .collect()
}

/// The binary Merkle root of `leaves` (zero for none).
pub fn merkle_root(leaves: &[H256]) -> H256 {
    if leaves.is_empty() {
        return H256::zero();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = next_level(&level);
    }
    level.first().copied().unwrap_or_default()
}

/// The Merkle path of leaf `index` (empty when out of range).
pub fn merkle_proof(leaves: &[H256], index: usize) -> Vec<H256> {
    let mut proof = Vec::new();
    if index >= leaves.len() {
        return proof;
    }
    let mut level = leaves.to_vec();
    let mut at = index;
    while level.len() > 1 {
        let sibling = at ^ 1;
        if let Some(node) = level.get(sibling) {
            proof.push(*node);
        }
        level = next_level(&level);
        at /= 2;
    }
    proof
}

/// The root of the tree of every leaf's path, computed once: `(root, paths)`.
pub fn merkle_paths(leaves: &[H256]) -> (H256, Vec<Vec<H256>>) {
    let mut paths = vec![Vec::new(); leaves.len()];
    if leaves.is_empty() {
        return (H256::zero(), paths);
    }
    let mut level = leaves.to_vec();
    // Which node of the current level each leaf sits under.
    let mut at: Vec<usize> = (0..leaves.len()).collect();
    while level.len() > 1 {
        for (path, node) in paths.iter_mut().zip(at.iter_mut()) {
            if let Some(sibling) = level.get(*node ^ 1) {
                path.push(*sibling);
            }
            *node /= 2;
        }
        level = next_level(&level);
    }
    (level[0], paths)
}

/// Whether `leaf` is leaf `index` of `count` under `root`, by its path `proof`.
pub fn verify_merkle(root: &H256, leaf: H256, index: usize, count: usize, proof: &[H256]) -> bool {
    merkle_root_from_path(leaf, index, count, proof).is_some_and(|computed| computed == *root)
}

/// The root that `leaf`, as leaf `index` of `count`, reaches by its path `proof` (`None`
/// when the path does not fit: an index out of range, a path too short or too long).
pub fn merkle_root_from_path(
    leaf: H256,
    index: usize,
    count: usize,
    proof: &[H256],
) -> Option<H256> {
    if index >= count {
        return None;
    }
    let mut node = leaf;
    let mut at = index;
    let mut width = count;
    let mut path = proof.iter();
    while width > 1 {
        let sibling = at ^ 1;
        if sibling < width {
            let other = path.next()?;
            node = if at.is_multiple_of(2) {
                hash_pair(&node, other)
            } else {
                hash_pair(other, &node)
            };
        }
        at /= 2;
        width = width.div_ceil(2);
    }
    path.next().is_none().then_some(node)
}
