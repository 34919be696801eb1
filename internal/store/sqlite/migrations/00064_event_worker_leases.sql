-- Leases of the events queue's partitions among worker nodes (the
-- partitioned event consumption of docs/scaling.md): a row per partition
-- with its holder and the end of its lease, and a row per live worker
-- node, from which the fair share is computed. A SQLite database has one
-- node, which holds every partition.

-- +goose Up
CREATE TABLE event_worker_leases (
    n           INTEGER PRIMARY KEY,
    owner       TEXT NOT NULL DEFAULT '',
    lease_until TEXT
);
CREATE TABLE event_workers (
    node       TEXT PRIMARY KEY,
    seen_until TEXT NOT NULL
);

-- +goose Down
DROP TABLE event_workers;
DROP TABLE event_worker_leases;
