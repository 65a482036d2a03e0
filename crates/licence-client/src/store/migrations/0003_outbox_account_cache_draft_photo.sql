-- Whose application an outbox item is: sent only while that account is signed in.
ALTER TABLE outbox ADD COLUMN account_id INTEGER;
-- Items saved before were sent with whichever session there was: they belong to the account
-- signed in now. With nobody signed in they stay without an account (shown while signed out,
-- never sent under someone else's name).
UPDATE outbox SET account_id = (SELECT account_id FROM session) WHERE account_id IS NULL;
-- The last answers the app showed (account, applications), for showing without a network.
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    saved_at INTEGER NOT NULL
) STRICT;
-- A checked, compliant photo the driver has not confirmed yet (one at a time).
CREATE TABLE IF NOT EXISTS draft_photo (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    photo_source TEXT NOT NULL,
    jpeg BLOB NOT NULL
) STRICT;
