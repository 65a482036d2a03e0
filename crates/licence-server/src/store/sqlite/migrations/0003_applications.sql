-- 3: e-licence applications and their history.
CREATE TABLE application (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    photo_source TEXT NOT NULL,
    photo BLOB NOT NULL,
    cropped BLOB,
    check_result TEXT,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, idempotency_key)
) STRICT;
CREATE INDEX application_status ON application(status, due_at);
CREATE TABLE application_event (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES application(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    state TEXT NOT NULL
) STRICT;
