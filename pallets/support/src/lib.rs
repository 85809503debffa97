//! arceon-support
