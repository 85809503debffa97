//! arceon-db
