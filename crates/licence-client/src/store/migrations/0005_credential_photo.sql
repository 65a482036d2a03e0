-- The approved full-colour photo the holder's own screen shows, kept with the credential
-- that signs its digest (NULL for a credential issued without one).
ALTER TABLE credential ADD COLUMN photo BLOB;
