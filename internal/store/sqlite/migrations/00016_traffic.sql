-- Traffic risk analysis: a tenant's analyses (an uploaded Zeek, Suricata
-- EVE or pcap input, analysed by a worker), the uploaded inputs kept for
-- tracing, and the findings with the analysts' marks.

-- +goose Up
CREATE TABLE traffic_analyses (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    period_from TEXT,
    period_to   TEXT,
    lines       INTEGER NOT NULL DEFAULT 0,
    records     INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    findings    INTEGER NOT NULL DEFAULT 0,
    alerts      INTEGER NOT NULL DEFAULT 0,
    summary     BLOB NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX traffic_analyses_tenant ON traffic_analyses (tenant_id, created_at);

CREATE TABLE traffic_inputs (
    analysis_id TEXT NOT NULL REFERENCES traffic_analyses (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (analysis_id, seq)
);

CREATE TABLE traffic_findings (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    analysis_id TEXT NOT NULL REFERENCES traffic_analyses (id) ON DELETE CASCADE,
    finding_key TEXT NOT NULL,
    class       TEXT NOT NULL,
    category    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    score       REAL NOT NULL,
    src         TEXT NOT NULL DEFAULT '',
    dst         TEXT NOT NULL DEFAULT '',
    dst_port    INTEGER NOT NULL DEFAULT 0,
    proto       TEXT NOT NULL DEFAULT '',
    domain      TEXT NOT NULL DEFAULT '',
    rule        TEXT NOT NULL DEFAULT '',
    indicator   TEXT NOT NULL DEFAULT '',
    technique   TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',
    detail      BLOB NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER NOT NULL DEFAULT 0,
    distinct_n  INTEGER NOT NULL DEFAULT 0,
    first_seen  TEXT,
    last_seen   TEXT,
    state       TEXT NOT NULL DEFAULT 'new',
    note        TEXT NOT NULL DEFAULT '',
    marked_by   TEXT NOT NULL DEFAULT '',
    marked_at   TEXT,
    alert_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX traffic_findings_analysis ON traffic_findings (tenant_id, analysis_id, score);
CREATE INDEX traffic_findings_key ON traffic_findings (tenant_id, finding_key);
CREATE INDEX traffic_findings_seen ON traffic_findings (tenant_id, last_seen);

-- +goose Down
DROP TABLE traffic_findings;
DROP TABLE traffic_inputs;
DROP TABLE traffic_analyses;
