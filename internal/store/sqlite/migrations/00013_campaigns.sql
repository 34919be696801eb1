-- Campaigns: go-live security gates and key-period campaigns of a tenant,
-- their tasks, every run of every task (re-tests keep the earlier runs),
-- the gate decisions, the duty roster and the daily reports.

-- +goose Up
CREATE TABLE campaigns (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    asset_id   TEXT NOT NULL DEFAULT '',
    period_id  TEXT NOT NULL DEFAULT '',
    phase      TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT '',
    closed     INTEGER NOT NULL DEFAULT 0,
    starts_at  TEXT,
    ends_at    TEXT,
    doc        TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX campaigns_updated ON campaigns (tenant_id, kind, updated_at DESC, id DESC);

CREATE TABLE campaign_tasks (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    task        TEXT NOT NULL,
    phase       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    due         TEXT,
    params      TEXT NOT NULL DEFAULT '{}',
    items       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (campaign_id, task),
    UNIQUE (campaign_id, seq)
);

CREATE TABLE campaign_results (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    task        TEXT NOT NULL,
    asset_id    TEXT NOT NULL DEFAULT '',
    item        TEXT NOT NULL DEFAULT '',
    run         INTEGER NOT NULL,
    status      TEXT NOT NULL,
    findings    TEXT NOT NULL DEFAULT '[]',
    error       TEXT NOT NULL DEFAULT '',
    evidence    TEXT NOT NULL DEFAULT '[]',
    by_name     TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    PRIMARY KEY (campaign_id, task, asset_id, item, run)
);

CREATE TABLE campaign_decisions (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    reasons     TEXT NOT NULL DEFAULT '[]',
    conditions  TEXT NOT NULL DEFAULT '[]',
    next_expiry TEXT,
    decided_by  TEXT NOT NULL DEFAULT '',
    signed_off  INTEGER NOT NULL DEFAULT 0,
    at          TEXT NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);

CREATE TABLE campaign_duty (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    lead        TEXT NOT NULL DEFAULT '{}',
    members     TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (campaign_id, seq)
);

CREATE TABLE campaign_daily_reports (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    quiet       INTEGER NOT NULL DEFAULT 0,
    report_id   TEXT NOT NULL DEFAULT '',
    figures     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (campaign_id, day)
);

-- +goose Down
DROP TABLE campaign_daily_reports;
DROP TABLE campaign_duty;
DROP TABLE campaign_decisions;
DROP TABLE campaign_results;
DROP TABLE campaign_tasks;
DROP TABLE campaigns;
