-- Baseline check runs of a tenant's assets with each check's result,
-- hardening items (a failed check's proposed fix and its approval), and
-- scheduled SSH checks per asset.

-- +goose Up
CREATE TABLE baseline_runs (
    id             TEXT COLLATE "C" PRIMARY KEY,
    tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id       TEXT COLLATE "C" NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy_id      TEXT COLLATE "C" NOT NULL,
    policy_title   TEXT COLLATE "C" NOT NULL DEFAULT '',
    policy_version TEXT COLLATE "C" NOT NULL DEFAULT '',
    source         TEXT COLLATE "C" NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL,
    score          DOUBLE PRECISION NOT NULL DEFAULT 0,
    scored         BOOLEAN NOT NULL DEFAULT FALSE,
    passed         INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    not_applicable INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,
    manual         INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX baseline_runs_finished ON baseline_runs (tenant_id, finished_at DESC, id DESC);
CREATE INDEX baseline_runs_asset ON baseline_runs (tenant_id, asset_id, policy_id, finished_at DESC, id DESC);

CREATE TABLE baseline_checks (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES baseline_runs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    check_id    TEXT COLLATE "C" NOT NULL,
    title       TEXT COLLATE "C" NOT NULL DEFAULT '',
    result      TEXT COLLATE "C" NOT NULL,
    reason      TEXT COLLATE "C" NOT NULL DEFAULT '',
    remediation TEXT COLLATE "C" NOT NULL DEFAULT '',
    evidence    JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX baseline_checks_result ON baseline_checks (run_id, result, seq);

CREATE TABLE hardening_items (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT COLLATE "C" NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy_id   TEXT COLLATE "C" NOT NULL,
    check_id    TEXT COLLATE "C" NOT NULL,
    title       TEXT COLLATE "C" NOT NULL DEFAULT '',
    run_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    remediation TEXT COLLATE "C" NOT NULL DEFAULT '',
    fix         TEXT COLLATE "C" NOT NULL DEFAULT '',
    state       TEXT COLLATE "C" NOT NULL,
    proposed_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    decided_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    decided_at  TIMESTAMPTZ,
    reason      TEXT COLLATE "C" NOT NULL DEFAULT '',
    applied_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    applied_at  TIMESTAMPTZ,
    verified_run_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX hardening_items_updated ON hardening_items (tenant_id, updated_at DESC, id DESC);
-- One open item per check of a policy on an asset.
CREATE UNIQUE INDEX hardening_items_open ON hardening_items (tenant_id, asset_id, policy_id, check_id)
    WHERE state IN ('proposed', 'approved', 'applied');

CREATE TABLE baseline_schedules (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT COLLATE "C" NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy      TEXT COLLATE "C" NOT NULL,
    interval_s  INTEGER NOT NULL,
    secret_id   TEXT COLLATE "C" NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    username    TEXT COLLATE "C" NOT NULL,
    port        INTEGER NOT NULL DEFAULT 22,
    host_key    TEXT COLLATE "C" NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    next_at     TIMESTAMPTZ NOT NULL,
    last_at     TIMESTAMPTZ,
    last_error  TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, asset_id, policy)
);
CREATE INDEX baseline_schedules_due ON baseline_schedules (next_at) WHERE enabled;

-- +goose Down
DROP TABLE baseline_schedules;
DROP TABLE hardening_items;
DROP TABLE baseline_checks;
DROP TABLE baseline_runs;
