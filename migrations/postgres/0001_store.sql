-- The durable history (DESIGN §5). Timestamps are RFC 3339 text with microseconds, exactly
-- as the hash chain encodes them, so a record re-hashes byte for byte on every backend.
CREATE TABLE invocations (
    id        TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    platform  TEXT NOT NULL,
    delivery  TEXT NOT NULL,
    record    TEXT NOT NULL,
    UNIQUE (platform, delivery)
);

CREATE TABLE audit_events (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    channel_key TEXT NOT NULL,
    invocation  TEXT,
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    actor       TEXT,
    summary     TEXT NOT NULL,
    data        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_events_channel ON audit_events (channel_key, seq);

-- The last appended record: appends lock and advance it in their transaction, so a
-- truncated tail no longer matches it.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE approvals (
    id          TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL,
    status      TEXT NOT NULL,
    votes       BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    request     TEXT NOT NULL
);
CREATE INDEX approvals_status ON approvals (status, channel_key, created_at);

CREATE TABLE executions (
    invocation TEXT PRIMARY KEY,
    approval   TEXT,
    started_at TEXT NOT NULL,
    record     TEXT NOT NULL
);

CREATE TABLE posted_messages (
    id       BIGSERIAL PRIMARY KEY,
    platform TEXT NOT NULL,
    channel  TEXT NOT NULL,
    message  TEXT NOT NULL,
    approval TEXT,
    record   TEXT NOT NULL
);
CREATE INDEX posted_messages_message ON posted_messages (platform, channel, message);
CREATE INDEX posted_messages_approval ON posted_messages (platform, approval);
