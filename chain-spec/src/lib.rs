//! arceon-chain-spec
