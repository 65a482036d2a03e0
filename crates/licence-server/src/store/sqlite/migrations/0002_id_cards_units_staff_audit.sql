-- 2: ID card periods, manual ID-card reviews, unit papers, staff, console sessions, audit.
ALTER TABLE account ADD COLUMN id_card_validity TEXT;
CREATE TABLE id_card_review (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    front BLOB NOT NULL,
    back BLOB NOT NULL,
    validity TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    submitted_at INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by TEXT
) STRICT;
CREATE INDEX id_card_review_state ON id_card_review(state, submitted_at);
CREATE TABLE unit_papers (
    account_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
    agent_name TEXT NOT NULL,
    agent_id_number TEXT NOT NULL,
    attorney BLOB NOT NULL,
    attorney_type TEXT NOT NULL
) STRICT;
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL
) STRICT;
CREATE TABLE staff_session (
    token_hash BLOB PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
