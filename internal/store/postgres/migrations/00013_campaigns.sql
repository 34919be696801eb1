-- Campaigns: go-live security gates and key-period campaigns of a tenant,
-- their tasks, every run of every task (re-tests keep the earlier runs),
-- the gate decisions, the duty roster and the daily reports.

-- +goose Up
CREATE TABLE campaigns (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    asset_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    period_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    phase      TEXT COLLATE "C" NOT NULL DEFAULT '',
    outcome    TEXT COLLATE "C" NOT NULL DEFAULT '',
    closed     BOOLEAN NOT NULL DEFAULT FALSE,
    starts_at  TIMESTAMPTZ,
    ends_at    TIMESTAMPTZ,
    doc        JSONB NOT NULL DEFAULT '{}',
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX campaigns_updated ON campaigns (tenant_id, kind, updated_at DESC, id DESC);

CREATE TABLE campaign_tasks (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT COLLATE "C" NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    task        TEXT COLLATE "C" NOT NULL,
    phase       TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    title       TEXT COLLATE "C" NOT NULL,
    owner       TEXT COLLATE "C" NOT NULL DEFAULT '',
    due         TIMESTAMPTZ,
    params      JSONB NOT NULL DEFAULT '{}',
    items       JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (campaign_id, task),
    UNIQUE (campaign_id, seq)
);

CREATE TABLE campaign_results (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT COLLATE "C" NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    task        TEXT COLLATE "C" NOT NULL,
    asset_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    item        TEXT COLLATE "C" NOT NULL DEFAULT '',
    run         INTEGER NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    findings    JSONB NOT NULL DEFAULT '[]',
    error       TEXT COLLATE "C" NOT NULL DEFAULT '',
    evidence    JSONB NOT NULL DEFAULT '[]',
    by_name     TEXT COLLATE "C" NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, task, asset_id, item, run)
);

CREATE TABLE campaign_decisions (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT COLLATE "C" NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    outcome     TEXT COLLATE "C" NOT NULL,
    reasons     JSONB NOT NULL DEFAULT '[]',
    conditions  JSONB NOT NULL DEFAULT '[]',
    next_expiry TIMESTAMPTZ,
    decided_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    signed_off  BOOLEAN NOT NULL DEFAULT FALSE,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);

CREATE TABLE campaign_duty (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT COLLATE "C" NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,
    lead        JSONB NOT NULL DEFAULT '{}',
    members     JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (campaign_id, seq)
);

CREATE TABLE campaign_daily_reports (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT COLLATE "C" NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    day         TEXT COLLATE "C" NOT NULL,
    quiet       BOOLEAN NOT NULL DEFAULT FALSE,
    report_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    figures     JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, day)
);

-- +goose Down
DROP TABLE campaign_daily_reports;
DROP TABLE campaign_duty;
DROP TABLE campaign_decisions;
DROP TABLE campaign_results;
DROP TABLE campaign_tasks;
DROP TABLE campaigns;
