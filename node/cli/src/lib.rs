//! arceon-node
