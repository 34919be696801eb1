-- Detection: the Sigma rules a tenant uploaded, which rules run for a
-- tenant (built-in or custom), and each tenant's correlation windows,
-- snapshotted so that a restart inside a window still fires.

-- +goose Up
CREATE TABLE detection_custom_rules (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT NOT NULL, -- the Sigma rule id
    title      TEXT NOT NULL,
    source     TEXT NOT NULL, -- the rule's YAML
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE detection_rule_settings (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    rule_id    TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, rule_id)
);

CREATE TABLE detection_correlation_state (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    state     TEXT NOT NULL, -- the engine's snapshot as JSON
    saved_at  TEXT NOT NULL
);

-- +goose Down
DROP TABLE detection_correlation_state;
DROP TABLE detection_rule_settings;
DROP TABLE detection_custom_rules;
