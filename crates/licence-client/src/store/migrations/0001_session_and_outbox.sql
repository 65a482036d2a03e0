-- The first schema: the signed-in session and the outbox. Everything the driver has handed
-- over is here before anything is sent.
CREATE TABLE IF NOT EXISTS session (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    token TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    account_id INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'waiting',
    application_id INTEGER,
    last_error TEXT
) STRICT;
