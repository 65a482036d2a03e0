-- 9: work claimed by one worker at a time, so that several platform instances share one
-- queue: a photo check is claimed by its worker until a time (the claim lapses if that
-- worker dies); and the stamp of each issuer key's status list (when its content last
-- changed), so that every instance signs the same list at the same time and their ETags
-- agree.
ALTER TABLE application ADD COLUMN check_claimed_by TEXT;
ALTER TABLE application ADD COLUMN check_claimed_until INTEGER;
CREATE TABLE status_list_stamp (
    kid TEXT PRIMARY KEY,
    digest BLOB NOT NULL,
    issued_at INTEGER NOT NULL
) STRICT;
