-- 1: registry, accounts, limits, one-time codes, sessions, devices.
CREATE TABLE registry_person (
    id_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    reserved_mobile TEXT NOT NULL,
    photo BLOB
) STRICT;
CREATE TABLE registry_licence (
    id_number TEXT PRIMARY KEY REFERENCES registry_person(id_number) ON DELETE CASCADE,
    file_number TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
) STRICT;
CREATE TABLE account (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id_number TEXT UNIQUE,
    unit_code TEXT UNIQUE,
    name TEXT NOT NULL,
    mobile TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX account_mobile ON account(mobile);
CREATE TABLE limit_event (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX limit_event_key ON limit_event(kind, key, at);
CREATE TABLE sms_challenge (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    name TEXT NOT NULL,
    mobile TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    salt BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    consumed INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE session (
    token_hash BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE device (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    public_key BLOB NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, public_key)
) STRICT;
