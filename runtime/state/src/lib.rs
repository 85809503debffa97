//! arceon-state
