-- A tenant's vulnerability scan settings: when its scheduled scan last
-- ran, and its SLA days by severity (0: the platform default).

-- +goose Up
CREATE TABLE vuln_settings (
    tenant_id     TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    last_run_at   TEXT,
    sla_critical  INTEGER NOT NULL DEFAULT 0,
    sla_high      INTEGER NOT NULL DEFAULT 0,
    sla_medium    INTEGER NOT NULL DEFAULT 0,
    sla_low       INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL
);

-- +goose Down
DROP TABLE vuln_settings;
