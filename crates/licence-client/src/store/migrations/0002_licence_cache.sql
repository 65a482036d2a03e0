-- 我的驾驶证 as last fetched, for showing without a network.
CREATE TABLE IF NOT EXISTS licence_cache (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    record TEXT NOT NULL,
    fetched_at INTEGER NOT NULL
) STRICT;
