//! Sudo (index 8): one key, set in the chain spec, may dispatch any call as Root. This is
//! how a development or test network's operator creates and edits areas, changes rate
//! limits or forces an era, exactly as Substrate's `pallet-sudo` does; a chain without a
//! sudo key in its genesis has no way to reach Root from an extrinsic.

use arceon_primitives::{AccountId32, MultiAddress};
use arceon_support::{ensure_signed, storage, DispatchError, DispatchResult, Ext, Origin, Weight};
use codec::{Decode, Encode};

/// This pallet's index in the runtime.
pub const PALLET_INDEX: u8 = 8;

storage! { pallet "Sudo";
    /// The account allowed to dispatch as Root.
    pub Key: value AccountId32;
}

/// Sudo calls, with Substrate's indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Call {
    /// Dispatch `call` as Root (index 0).
    #[codec(index = 0)]
    Sudo {
        /// The call to run as Root.
        call: Box<crate::Call>,
    },
    /// Hand the sudo key to another account (index 2).
    #[codec(index = 2)]
    SetKey {
        /// The new key holder.
        new: MultiAddress,
    },
}

/// Sudo events, with Substrate's indices.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub enum Event {
    /// A call was dispatched as Root; this is its outcome.
    #[codec(index = 0)]
    Sudid {
        /// What the inner call returned.
        sudo_result: DispatchResult,
    },
    /// The sudo key moved.
    #[codec(index = 1)]
    KeyChanged {
        /// The previous holder.
        old: Option<AccountId32>,
        /// The new holder.
        new: AccountId32,
    },
}

arceon_support::pallet_error! {
    /// Sudo errors, with Substrate's indices.
    pub enum Error for pallet 8 {
        /// The sender is not the sudo key.
        RequireSudo,
    }
}

/// Weight of the sudo wrapper itself (a key read), on top of the inner call's.
const SUDO_WEIGHT: Weight = Weight::from_parts(10_000_000, 0);

impl Call {
    /// The declared weight: the wrapper plus the inner call.
    pub fn weight(&self) -> Weight {
        match self {
            Call::Sudo { call } => SUDO_WEIGHT.saturating_add(call.info().weight),
            Call::SetKey { .. } => SUDO_WEIGHT,
        }
    }

    /// Checks the sender holds the key, then runs the call. The inner call's failure is
    /// reported in `Sudid` (the sudo extrinsic itself succeeds), as in Substrate.
    pub fn dispatch(self, ext: &mut Ext, origin: Origin) -> DispatchResult {
        let who = ensure_signed(origin)?;
        let key = Key::get(ext);
        if key.as_ref() != Some(&who) {
            return Err(Error::RequireSudo.into());
        }
        match self {
            Call::Sudo { call } => {
                let sudo_result = ext.transactional(|ext| call.dispatch(ext, Origin::Root));
                ext.deposit_event(PALLET_INDEX, &Event::Sudid { sudo_result });
                Ok(())
            }
            Call::SetKey { new } => {
                let new = match new {
                    MultiAddress::Id(account) => account,
                    MultiAddress::Address32(bytes) => AccountId32::new(bytes),
                    _ => return Err(DispatchError::CannotLookup),
                };
                Key::put(ext, &new);
                ext.deposit_event(PALLET_INDEX, &Event::KeyChanged { old: key, new });
                Ok(())
            }
        }
    }
}
