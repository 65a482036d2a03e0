-- 4: positions in the status list.
CREATE TABLE status_index (
    account_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL UNIQUE
) STRICT;
