-- The explorer's index. Portable SQL: the same text runs on SQLite and PostgreSQL.
-- Booleans are BIGINT 0/1, balances decimal TEXT (u128 does not fit BIGINT), JSON as TEXT.
CREATE TABLE chain_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE blocks (
    number BIGINT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    parent_hash TEXT NOT NULL,
    state_root TEXT NOT NULL,
    extrinsics_root TEXT NOT NULL,
    slot BIGINT,
    timestamp_ms BIGINT,
    author TEXT,
    extrinsic_count BIGINT NOT NULL,
    event_count BIGINT NOT NULL,
    events_decoded BIGINT NOT NULL
);
CREATE TABLE extrinsics (
    block_number BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    signer TEXT,
    nonce BIGINT,
    tip TEXT,
    pallet TEXT NOT NULL,
    call TEXT NOT NULL,
    args TEXT NOT NULL,
    decoded BIGINT NOT NULL,
    success BIGINT,
    error TEXT,
    fee TEXT,
    size BIGINT NOT NULL,
    PRIMARY KEY (block_number, idx)
);
CREATE INDEX extrinsics_by_hash ON extrinsics (hash);
CREATE INDEX extrinsics_by_signer ON extrinsics (signer, block_number);
CREATE TABLE events (
    block_number BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    extrinsic_idx BIGINT,
    pallet TEXT NOT NULL,
    name TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (block_number, idx)
);
CREATE TABLE transfers (
    block_number BIGINT NOT NULL,
    event_idx BIGINT NOT NULL,
    extrinsic_idx BIGINT,
    from_account TEXT NOT NULL,
    to_account TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (block_number, event_idx)
);
CREATE INDEX transfers_by_from ON transfers (from_account, block_number);
CREATE INDEX transfers_by_to ON transfers (to_account, block_number);
CREATE TABLE accounts (
    address TEXT PRIMARY KEY,
    free TEXT NOT NULL,
    reserved TEXT NOT NULL,
    frozen TEXT NOT NULL,
    nonce BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE areas (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    min_x BIGINT NOT NULL,
    min_y BIGINT NOT NULL,
    max_x BIGINT NOT NULL,
    max_y BIGINT NOT NULL,
    active BIGINT NOT NULL,
    population BIGINT NOT NULL,
    npc_count BIGINT NOT NULL,
    structure_count BIGINT NOT NULL,
    committee TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE players (
    address TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    area BIGINT NOT NULL,
    x BIGINT NOT NULL,
    y BIGINT NOT NULL,
    health BIGINT NOT NULL,
    skills TEXT NOT NULL,
    inventory TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX players_by_name ON players (name);
CREATE TABLE structures (
    id BIGINT PRIMARY KEY,
    owner TEXT NOT NULL,
    kind BIGINT NOT NULL,
    area BIGINT NOT NULL,
    x BIGINT NOT NULL,
    y BIGINT NOT NULL,
    level BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE npcs (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    area BIGINT NOT NULL,
    x BIGINT NOT NULL,
    y BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE validators (
    address TEXT PRIMARY KEY,
    active BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    commission_per_billion BIGINT NOT NULL,
    bonded TEXT,
    exposure TEXT,
    trust_score_per_billion BIGINT NOT NULL,
    uptime_per_billion BIGINT NOT NULL,
    participation_per_billion BIGINT NOT NULL,
    invalid_proposals BIGINT NOT NULL,
    era BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX blocks_by_author ON blocks (author);
