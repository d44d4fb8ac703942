-- Approvals change by compare-and-set on a version that every stored change bumps (so a
-- claim taken back from a dead replica can be taken exactly once, too).
ALTER TABLE approvals ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Every running replica's heartbeat: work a replica claimed (a delivery, an approval's
-- execution) is taken over by another once its owner has not been seen for a while.
CREATE TABLE replicas (
    id         TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);

-- Who owns a delivery: the replica that accepted it, then the one that claimed it.
ALTER TABLE deliveries ADD COLUMN owner TEXT;
