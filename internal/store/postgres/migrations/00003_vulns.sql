-- Vulnerability lifecycle: findings with their state, the imports that
-- saw them and every change of a finding.

-- +goose Up
CREATE TABLE vuln_findings (
    id              TEXT COLLATE "C" PRIMARY KEY,
    tenant_id       TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    fingerprint     TEXT COLLATE "C" NOT NULL,
    asset_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    asset_key       TEXT COLLATE "C" NOT NULL DEFAULT '',
    scanner         TEXT COLLATE "C" NOT NULL,
    rule_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    title           TEXT COLLATE "C" NOT NULL,
    description     TEXT COLLATE "C" NOT NULL DEFAULT '',
    severity        TEXT COLLATE "C" NOT NULL,
    severity_rank   INTEGER NOT NULL,
    layer           TEXT COLLATE "C" NOT NULL DEFAULT '',
    host            TEXT COLLATE "C" NOT NULL DEFAULT '',
    ip              TEXT COLLATE "C" NOT NULL DEFAULT '',
    port            INTEGER NOT NULL DEFAULT 0,
    protocol        TEXT COLLATE "C" NOT NULL DEFAULT '',
    url             TEXT COLLATE "C" NOT NULL DEFAULT '',
    target          TEXT COLLATE "C" NOT NULL DEFAULT '',
    package         TEXT COLLATE "C" NOT NULL DEFAULT '',
    version         TEXT COLLATE "C" NOT NULL DEFAULT '',
    cves            JSONB NOT NULL DEFAULT '[]',
    cwes            JSONB NOT NULL DEFAULT '[]',
    refs            JSONB NOT NULL DEFAULT '[]',
    cvss_vector     TEXT COLLATE "C" NOT NULL DEFAULT '',
    cvss_score      DOUBLE PRECISION,
    cvss4_vector    TEXT COLLATE "C" NOT NULL DEFAULT '',
    fixed_in        TEXT COLLATE "C" NOT NULL DEFAULT '',
    remediation     TEXT COLLATE "C" NOT NULL DEFAULT '',
    evidence        TEXT COLLATE "C" NOT NULL DEFAULT '',
    kev             BOOLEAN NOT NULL DEFAULT FALSE,
    epss            DOUBLE PRECISION,
    priority        DOUBLE PRECISION NOT NULL DEFAULT 0,
    priority_reason TEXT COLLATE "C" NOT NULL DEFAULT '',
    state           TEXT COLLATE "C" NOT NULL,
    state_note      TEXT COLLATE "C" NOT NULL DEFAULT '',
    state_by        TEXT COLLATE "C" NOT NULL DEFAULT '',
    state_at        TIMESTAMPTZ NOT NULL,
    assignee        TEXT COLLATE "C" NOT NULL DEFAULT '',
    control         TEXT COLLATE "C" NOT NULL DEFAULT '',
    expires_at      TIMESTAMPTZ,
    due_at          TIMESTAMPTZ,
    first_seen      TIMESTAMPTZ NOT NULL,
    last_seen       TIMESTAMPTZ NOT NULL,
    occurrences     INTEGER NOT NULL DEFAULT 1,
    scan_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, fingerprint)
);
CREATE INDEX vuln_findings_list ON vuln_findings (tenant_id, priority DESC, id);
CREATE INDEX vuln_findings_state ON vuln_findings (tenant_id, state, severity_rank);
CREATE INDEX vuln_findings_scope ON vuln_findings (tenant_id, scanner, asset_key);
CREATE INDEX vuln_findings_due ON vuln_findings (tenant_id, due_at);

CREATE TABLE vuln_scans (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scanner    TEXT COLLATE "C" NOT NULL,
    format     TEXT COLLATE "C" NOT NULL,
    filename   TEXT COLLATE "C" NOT NULL DEFAULT '',
    sha256     TEXT COLLATE "C" NOT NULL DEFAULT '',
    full_scan  BOOLEAN NOT NULL DEFAULT FALSE,
    total      INTEGER NOT NULL DEFAULT 0,
    added      INTEGER NOT NULL DEFAULT 0,
    updated    INTEGER NOT NULL DEFAULT 0,
    reopened   INTEGER NOT NULL DEFAULT 0,
    absent     INTEGER NOT NULL DEFAULT 0,
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vuln_scans_tenant ON vuln_scans (tenant_id, created_at);

CREATE TABLE vuln_events (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    finding_id TEXT COLLATE "C" NOT NULL REFERENCES vuln_findings (id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    actor_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind       TEXT COLLATE "C" NOT NULL,
    from_state TEXT COLLATE "C" NOT NULL DEFAULT '',
    to_state   TEXT COLLATE "C" NOT NULL DEFAULT '',
    note       TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX vuln_events_finding ON vuln_events (finding_id, at, id);

-- +goose Down
DROP TABLE vuln_events;
DROP TABLE vuln_scans;
DROP TABLE vuln_findings;
