-- Normalised log events and the alerts detection raises on them.

-- +goose Up
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
CREATE INDEX events_tenant_time ON events (tenant_id, at DESC, id);
CREATE INDEX events_tenant_host ON events (tenant_id, host, at);
CREATE INDEX events_tenant_source_ip ON events (tenant_id, source_ip, at);

CREATE TABLE alerts (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    group_key   TEXT COLLATE "C" NOT NULL,
    rule_id     TEXT COLLATE "C" NOT NULL,
    rule_title  TEXT COLLATE "C" NOT NULL,
    level       TEXT COLLATE "C" NOT NULL,
    level_rank  INTEGER NOT NULL,
    tags        JSONB NOT NULL DEFAULT '[]',
    host        TEXT COLLATE "C" NOT NULL DEFAULT '',
    asset_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    event_ids   JSONB NOT NULL DEFAULT '[]',
    count       INTEGER NOT NULL DEFAULT 1,
    status      TEXT COLLATE "C" NOT NULL,
    note        TEXT COLLATE "C" NOT NULL DEFAULT '',
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    updated_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX alerts_tenant_status ON alerts (tenant_id, status, last_seen);
CREATE INDEX alerts_group ON alerts (tenant_id, group_key, last_seen);

-- +goose Down
DROP TABLE alerts;
DROP TABLE events;
