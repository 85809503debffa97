//! arceon-pallet-system
