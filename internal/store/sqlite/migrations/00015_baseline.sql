-- Baseline check runs of a tenant's assets with each check's result,
-- hardening items (a failed check's proposed fix and its approval), and
-- scheduled SSH checks per asset.

-- +goose Up
CREATE TABLE baseline_runs (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id       TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy_id      TEXT NOT NULL,
    policy_title   TEXT NOT NULL DEFAULT '',
    policy_version TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT NOT NULL,
    score          REAL NOT NULL DEFAULT 0,
    scored         INTEGER NOT NULL DEFAULT 0,
    passed         INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    not_applicable INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,
    manual         INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX baseline_runs_finished ON baseline_runs (tenant_id, finished_at DESC, id DESC);
CREATE INDEX baseline_runs_asset ON baseline_runs (tenant_id, asset_id, policy_id, finished_at DESC, id DESC);

CREATE TABLE baseline_checks (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    run_id      TEXT NOT NULL REFERENCES baseline_runs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    check_id    TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    remediation TEXT NOT NULL DEFAULT '',
    evidence    TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX baseline_checks_result ON baseline_checks (run_id, result, seq);

CREATE TABLE hardening_items (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy_id   TEXT NOT NULL,
    check_id    TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    run_id      TEXT NOT NULL DEFAULT '',
    remediation TEXT NOT NULL DEFAULT '',
    fix         TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    proposed_by TEXT NOT NULL DEFAULT '',
    decided_by  TEXT NOT NULL DEFAULT '',
    decided_at  TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    applied_by  TEXT NOT NULL DEFAULT '',
    applied_at  TEXT,
    verified_run_id TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX hardening_items_updated ON hardening_items (tenant_id, updated_at DESC, id DESC);
-- One open item per check of a policy on an asset.
CREATE UNIQUE INDEX hardening_items_open ON hardening_items (tenant_id, asset_id, policy_id, check_id)
    WHERE state IN ('proposed', 'approved', 'applied');

CREATE TABLE baseline_schedules (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy      TEXT NOT NULL,
    interval_s  INTEGER NOT NULL,
    secret_id   TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    username    TEXT NOT NULL,
    port        INTEGER NOT NULL DEFAULT 22,
    host_key    TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    next_at     TEXT NOT NULL,
    last_at     TEXT,
    last_error  TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    UNIQUE (tenant_id, asset_id, policy)
);
CREATE INDEX baseline_schedules_due ON baseline_schedules (next_at) WHERE enabled = 1;

-- +goose Down
DROP TABLE baseline_schedules;
DROP TABLE hardening_items;
DROP TABLE baseline_checks;
DROP TABLE baseline_runs;
