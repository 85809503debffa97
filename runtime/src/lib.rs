//! arceon-runtime
