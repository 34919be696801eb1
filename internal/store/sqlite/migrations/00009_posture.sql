-- Aggregates kept as events arrive, so the posture dashboard reads a few
-- rows instead of scanning events: who sends logs and how many per hour;
-- and a tenant's posture score once a day, for its trend.

-- +goose Up
CREATE TABLE event_sources (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    host       TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    events     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, source, host)
);

CREATE TABLE event_hours (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour      TEXT NOT NULL,
    events    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, hour)
);

CREATE TABLE posture_snapshots (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day       TEXT NOT NULL, -- YYYY-MM-DD, UTC
    score     INTEGER NOT NULL,
    breakdown TEXT NOT NULL DEFAULT '{}',
    taken_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

-- Events stored before this migration are counted once, here.
INSERT INTO event_sources (tenant_id, source, host, first_seen, last_seen, events)
    SELECT tenant_id, source, host, MIN(received), MAX(received), COUNT(*) FROM events GROUP BY tenant_id, source, host;
INSERT INTO event_hours (tenant_id, hour, events)
    SELECT tenant_id, substr(received, 1, 13) || ':00:00.000000Z', COUNT(*) FROM events GROUP BY tenant_id, substr(received, 1, 13);

-- +goose Down
DROP TABLE posture_snapshots;
DROP TABLE event_hours;
DROP TABLE event_sources;
