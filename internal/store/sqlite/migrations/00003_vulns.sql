-- Vulnerability lifecycle: findings with their state, the imports that
-- saw them and every change of a finding.

-- +goose Up
CREATE TABLE vuln_findings (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    fingerprint     TEXT NOT NULL,
    asset_id        TEXT NOT NULL DEFAULT '',
    asset_key       TEXT NOT NULL DEFAULT '',
    scanner         TEXT NOT NULL,
    rule_id         TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL,
    severity_rank   INTEGER NOT NULL,
    layer           TEXT NOT NULL DEFAULT '',
    host            TEXT NOT NULL DEFAULT '',
    ip              TEXT NOT NULL DEFAULT '',
    port            INTEGER NOT NULL DEFAULT 0,
    protocol        TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL DEFAULT '',
    target          TEXT NOT NULL DEFAULT '',
    package         TEXT NOT NULL DEFAULT '',
    version         TEXT NOT NULL DEFAULT '',
    cves            TEXT NOT NULL DEFAULT '[]',
    cwes            TEXT NOT NULL DEFAULT '[]',
    refs            TEXT NOT NULL DEFAULT '[]',
    cvss_vector     TEXT NOT NULL DEFAULT '',
    cvss_score      REAL,
    cvss4_vector    TEXT NOT NULL DEFAULT '',
    fixed_in        TEXT NOT NULL DEFAULT '',
    remediation     TEXT NOT NULL DEFAULT '',
    evidence        TEXT NOT NULL DEFAULT '',
    kev             INTEGER NOT NULL DEFAULT 0,
    epss            REAL,
    priority        REAL NOT NULL DEFAULT 0,
    priority_reason TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    state_note      TEXT NOT NULL DEFAULT '',
    state_by        TEXT NOT NULL DEFAULT '',
    state_at        TEXT NOT NULL,
    assignee        TEXT NOT NULL DEFAULT '',
    control         TEXT NOT NULL DEFAULT '',
    expires_at      TEXT,
    due_at          TEXT,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    occurrences     INTEGER NOT NULL DEFAULT 1,
    scan_id         TEXT NOT NULL DEFAULT '',
    updated_at      TEXT NOT NULL,
    UNIQUE (tenant_id, fingerprint)
);
CREATE INDEX vuln_findings_list ON vuln_findings (tenant_id, priority DESC, id);
CREATE INDEX vuln_findings_state ON vuln_findings (tenant_id, state, severity_rank);
CREATE INDEX vuln_findings_scope ON vuln_findings (tenant_id, scanner, asset_key);
CREATE INDEX vuln_findings_due ON vuln_findings (tenant_id, due_at);

CREATE TABLE vuln_scans (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scanner    TEXT NOT NULL,
    format     TEXT NOT NULL,
    filename   TEXT NOT NULL DEFAULT '',
    sha256     TEXT NOT NULL DEFAULT '',
    full_scan  INTEGER NOT NULL DEFAULT 0,
    total      INTEGER NOT NULL DEFAULT 0,
    added      INTEGER NOT NULL DEFAULT 0,
    updated    INTEGER NOT NULL DEFAULT 0,
    reopened   INTEGER NOT NULL DEFAULT 0,
    absent     INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX vuln_scans_tenant ON vuln_scans (tenant_id, created_at);

CREATE TABLE vuln_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    finding_id TEXT NOT NULL REFERENCES vuln_findings (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX vuln_events_finding ON vuln_events (finding_id, at, id);

-- +goose Down
DROP TABLE vuln_events;
DROP TABLE vuln_scans;
DROP TABLE vuln_findings;
