-- The same licence as an ISO 18013-5 mDL (IssuerSigned CBOR), kept with the credential it
-- was issued with (NULL when the platform issued none).
ALTER TABLE credential ADD COLUMN mdoc BLOB;
