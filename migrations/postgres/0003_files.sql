-- Files posted with replies (charts), by the SHA-256 of their bytes; the audit event
-- `chart_posted` names the hash, so an altered file no longer matches its record.
CREATE TABLE files (
    sha256 TEXT PRIMARY KEY,
    mime   TEXT NOT NULL,
    bytes  BYTEA NOT NULL
);
