-- Normalised log events and the alerts detection raises on them.

-- +goose Up
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    received   TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT '',
    format     TEXT NOT NULL DEFAULT '',
    host       TEXT NOT NULL DEFAULT '',
    source_ip  TEXT NOT NULL DEFAULT '',
    user_name  TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL DEFAULT '',
    fields     TEXT NOT NULL DEFAULT '{}',
    original   TEXT NOT NULL DEFAULT '',
    truncated  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_tenant_time ON events (tenant_id, at DESC, id);
CREATE INDEX events_tenant_host ON events (tenant_id, host, at);
CREATE INDEX events_tenant_source_ip ON events (tenant_id, source_ip, at);

CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    group_key   TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    rule_title  TEXT NOT NULL,
    level       TEXT NOT NULL,
    level_rank  INTEGER NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    host        TEXT NOT NULL DEFAULT '',
    asset_id    TEXT NOT NULL DEFAULT '',
    event_ids   TEXT NOT NULL DEFAULT '[]',
    count       INTEGER NOT NULL DEFAULT 1,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL
);
CREATE INDEX alerts_tenant_status ON alerts (tenant_id, status, last_seen);
CREATE INDEX alerts_group ON alerts (tenant_id, group_key, last_seen);

-- +goose Down
DROP TABLE alerts;
DROP TABLE events;
