-- Aggregates kept as events arrive, so the posture dashboard reads a few
-- rows instead of scanning events: who sends logs and how many per hour;
-- and a tenant's posture score once a day, for its trend.

-- +goose Up
CREATE TABLE event_sources (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source     TEXT COLLATE "C" NOT NULL,
    host       TEXT COLLATE "C" NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    events     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, source, host)
);

CREATE TABLE event_hours (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour      TIMESTAMPTZ NOT NULL,
    events    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, hour)
);

CREATE TABLE posture_snapshots (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day       TEXT COLLATE "C" NOT NULL, -- YYYY-MM-DD, UTC
    score     INTEGER NOT NULL,
    breakdown TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    taken_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

-- Events stored before this migration are counted once, here.
INSERT INTO event_sources (tenant_id, source, host, first_seen, last_seen, events)
    SELECT tenant_id, source, host, MIN(received), MAX(received), COUNT(*) FROM events GROUP BY tenant_id, source, host;
INSERT INTO event_hours (tenant_id, hour, events)
    SELECT tenant_id, date_trunc('hour', received AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', COUNT(*) FROM events
    GROUP BY tenant_id, date_trunc('hour', received AT TIME ZONE 'UTC');

-- +goose Down
DROP TABLE posture_snapshots;
DROP TABLE event_hours;
DROP TABLE event_sources;
