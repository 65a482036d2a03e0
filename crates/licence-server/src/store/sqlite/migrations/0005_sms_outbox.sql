-- 5: the SMS outbox.
CREATE TABLE sms_outbox (
    id INTEGER PRIMARY KEY,
    event_key TEXT NOT NULL UNIQUE,
    to_mobile TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    message_id TEXT,
    last_error TEXT
) STRICT;
CREATE INDEX sms_outbox_due ON sms_outbox(sent_at, next_attempt_at);
