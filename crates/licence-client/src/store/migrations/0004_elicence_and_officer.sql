-- This device's registration with the platform, per account (kept across sign-outs, so
-- signing in again does not register the same phone twice).
CREATE TABLE IF NOT EXISTS device_registration (
    account_id INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL,
    public_key BLOB NOT NULL
) STRICT;
-- The e-licence credential as issued (COSE_Sign1), for showing with no network.
CREATE TABLE IF NOT EXISTS credential (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    account_id INTEGER NOT NULL,
    signed BLOB NOT NULL,
    not_after INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
) STRICT;
-- Public data for verifying: the trust list and the signed status list, as fetched.
CREATE TABLE IF NOT EXISTS verifier_data (
    kind TEXT PRIMARY KEY,
    bytes BLOB NOT NULL,
    fetched_at INTEGER NOT NULL
) STRICT;
-- An officer signed in on this device (执勤民警), for the online check.
CREATE TABLE IF NOT EXISTS officer_session (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    token TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    name TEXT NOT NULL,
    username TEXT NOT NULL
) STRICT;
