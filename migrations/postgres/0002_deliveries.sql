-- Deliveries accepted before they were acknowledged to the platform: the work owed for
-- them until settled. A replica that dies after an ack leaves its row unsettled; another
-- resumes it by advancing `attempts` (compare-and-set, so exactly one does).
CREATE TABLE deliveries (
    platform    TEXT NOT NULL,
    delivery    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload     TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    claimed_at  TEXT,
    settled_at  TEXT,
    PRIMARY KEY (platform, delivery)
);
CREATE INDEX deliveries_unsettled ON deliveries (platform, received_at) WHERE settled_at IS NULL;
