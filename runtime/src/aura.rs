//! Aura's on-chain part: the authority list and the last slot, stored under FRAME's
//! `Aura` keys so Substrate tools read them unchanged. Each block claims a slot in its
//! `PreRuntime(aura, slot)` digest; slots strictly increase along a chain and the
//! block's author is `authorities[slot % n]`.

use arceon_primitives::{sr25519, Digest};
use arceon_support::{storage, Ext};

storage! { pallet "Aura";
    /// The authorities, in author order.
    pub Authorities: value Vec<sr25519::Public>;
    /// The slot of the latest block.
    pub CurrentSlot: value u64;
    /// Milliseconds per slot (Arceon-specific: set by the chain spec).
    pub SlotDuration: value u64;
}

/// The slot duration when the chain spec gives none.
pub const DEFAULT_SLOT_DURATION_MS: u64 = 1_000;

/// Milliseconds per slot at this state.
pub fn slot_duration(ext: &mut Ext) -> u64 {
    SlotDuration::get(ext).unwrap_or(DEFAULT_SLOT_DURATION_MS)
}

/// Why a block's slot claim is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// The digest carries no `PreRuntime(aura, slot)` item.
    #[error("block has no Aura slot in its digest")]
    MissingSlot,
    /// The slot is not after its parent's.
    #[error("slot {slot} is not after the parent's slot {parent_slot}")]
    SlotNotIncreasing {
        /// The claimed slot.
        slot: u64,
        /// The parent's slot.
        parent_slot: u64,
    },
    /// No authorities are configured.
    #[error("the authority set is empty")]
    NoAuthorities,
}

/// The authorities at this state.
pub fn authorities(ext: &mut Ext) -> Vec<sr25519::Public> {
    Authorities::get_or_default(ext)
}

/// The author of `slot` among `authorities`.
pub fn slot_author(authorities: &[sr25519::Public], slot: u64) -> Option<sr25519::Public> {
    if authorities.is_empty() {
        return None;
    }
    let index = (slot % authorities.len() as u64) as usize;
    authorities.get(index).copied()
}

/// Checks the slot claimed in `digest` and records it; returns the author's Aura key.
pub fn on_initialize(ext: &mut Ext, digest: &Digest) -> Result<sr25519::Public, SlotError> {
    let slot = digest.aura_slot().ok_or(SlotError::MissingSlot)?;
    let parent_slot = CurrentSlot::get_or_default(ext);
    if slot <= parent_slot {
        return Err(SlotError::SlotNotIncreasing { slot, parent_slot });
    }
    let authorities = authorities(ext);
    let author = slot_author(&authorities, slot).ok_or(SlotError::NoAuthorities)?;
    CurrentSlot::put(ext, &slot);
    Ok(author)
}

/// The constants this pallet shows in the runtime metadata.
pub fn constants() -> Vec<arceon_support::metadata::v14::PalletConstantMetadata> {
    vec![arceon_support::metadata::constant(
        "SlotDuration",
        &(DEFAULT_SLOT_DURATION_MS),
        &["The slot duration of a chain that sets none, in milliseconds."],
    )]
}
