//! Block hooks and genesis building: what the executive calls on every pallet.

use arceon_primitives::BlockNumber;

use crate::{Ext, Weight};

/// Work a pallet does at the edges of every block. Both hooks run outside any
/// extrinsic, so they must not fail: a pallet that cannot do its work records a fault
/// in the `Ext` and the block is rejected.
pub trait Hooks {
    /// Runs before the first extrinsic of block `n`; returns the weight it consumed.
    fn on_initialize(_ext: &mut Ext, _n: BlockNumber) -> Weight {
        Weight::ZERO
    }

    /// Runs after the last extrinsic of block `n`.
    fn on_finalize(_ext: &mut Ext, _n: BlockNumber) {}
}

/// A pallet's genesis configuration: checks itself and writes the pallet's initial
/// storage.
pub trait BuildGenesis {
    /// Why the configuration is unusable.
    type Error;
    /// Writes this configuration into the genesis state; writes nothing on error.
    fn build(&self, ext: &mut Ext) -> Result<(), Self::Error>;
}
