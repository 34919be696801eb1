-- Log events move into a table partitioned by event time (column at), one
-- partition per UTC day named events_pYYYYMMDD, plus events_default for
-- rows outside every day partition. The scheduler creates the coming days'
-- partitions and drops whole days past the retention (sqldb
-- event_partitions.go). On a partitioned table a unique key must hold the
-- partition key, so an event is now unique by (tenant_id, at, id): a resent
-- event carries its own time and ID, so it still lands on the same key.

-- +goose Up
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey;
ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_tenant_id_fkey TO events_unpartitioned_tenant_id_fkey;
DROP INDEX events_tenant_time;
DROP INDEX events_tenant_host;
DROP INDEX events_tenant_source_ip;

CREATE TABLE events (
    id         TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    received   TIMESTAMPTZ NOT NULL,
    source     TEXT COLLATE "C" NOT NULL DEFAULT '',
    format     TEXT COLLATE "C" NOT NULL DEFAULT '',
    host       TEXT COLLATE "C" NOT NULL DEFAULT '',
    source_ip  TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    message    TEXT COLLATE "C" NOT NULL DEFAULT '',
    fields     JSONB NOT NULL DEFAULT '{}',
    original   TEXT COLLATE "C" NOT NULL DEFAULT '',
    truncated  BOOLEAN NOT NULL DEFAULT FALSE,
    -- Also the newest-first listing of a tenant, read backwards.
    PRIMARY KEY (tenant_id, at, id)
) PARTITION BY RANGE (at);
CREATE INDEX events_id ON events (id);
CREATE INDEX events_tenant_host ON events (tenant_id, host, at);
CREATE INDEX events_tenant_source_ip ON events (tenant_id, source_ip, at);
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- A partition for each day of the last 400 that holds events, and for the
-- next three days; older or stranger times go to events_default.
-- +goose StatementBegin
DO $$
DECLARE
    d date;
BEGIN
    FOR d IN
        SELECT DISTINCT (at AT TIME ZONE 'UTC')::date FROM events_unpartitioned
        WHERE at >= now() - interval '400 days' AND at < now() + interval '4 days'
        UNION
        SELECT generate_series((now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date + 3, interval '1 day')::date
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
            'events_p' || to_char(d, 'YYYYMMDD'),
            d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END
$$;
-- +goose StatementEnd

INSERT INTO events (id, tenant_id, at, received, source, format, host, source_ip, user_name, message, fields, original, truncated)
    SELECT id, tenant_id, at, received, source, format, host, source_ip, user_name, message, fields, original, truncated
    FROM events_unpartitioned;
DROP TABLE events_unpartitioned;

-- +goose Down
ALTER TABLE events RENAME TO events_partitioned;
CREATE TABLE events (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    received   TIMESTAMPTZ NOT NULL,
    source     TEXT COLLATE "C" NOT NULL DEFAULT '',
    format     TEXT COLLATE "C" NOT NULL DEFAULT '',
    host       TEXT COLLATE "C" NOT NULL DEFAULT '',
    source_ip  TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    message    TEXT COLLATE "C" NOT NULL DEFAULT '',
    fields     JSONB NOT NULL DEFAULT '{}',
    original   TEXT COLLATE "C" NOT NULL DEFAULT '',
    truncated  BOOLEAN NOT NULL DEFAULT FALSE
);
-- An ID stored twice under two times keeps its first copy.
INSERT INTO events (id, tenant_id, at, received, source, format, host, source_ip, user_name, message, fields, original, truncated)
    SELECT id, tenant_id, at, received, source, format, host, source_ip, user_name, message, fields, original, truncated
    FROM events_partitioned ORDER BY received
    ON CONFLICT (id) DO NOTHING;
DROP TABLE events_partitioned;
CREATE INDEX events_tenant_time ON events (tenant_id, at DESC, id);
CREATE INDEX events_tenant_host ON events (tenant_id, host, at);
CREATE INDEX events_tenant_source_ip ON events (tenant_id, source_ip, at);
