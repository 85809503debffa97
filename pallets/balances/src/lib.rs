//! arceon-pallet-balances
