-- Traffic risk analysis: a tenant's analyses (an uploaded Zeek, Suricata
-- EVE or pcap input, analysed by a worker), the uploaded inputs kept for
-- tracing, and the findings with the analysts' marks.

-- +goose Up
CREATE TABLE traffic_analyses (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    error       TEXT COLLATE "C" NOT NULL DEFAULT '',
    period_from TIMESTAMPTZ,
    period_to   TIMESTAMPTZ,
    lines       BIGINT  NOT NULL DEFAULT 0,
    records     BIGINT  NOT NULL DEFAULT 0,
    skipped     BIGINT  NOT NULL DEFAULT 0,
    findings    INTEGER NOT NULL DEFAULT 0,
    alerts      INTEGER NOT NULL DEFAULT 0,
    summary     BYTEA NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX traffic_analyses_tenant ON traffic_analyses (tenant_id, created_at);

CREATE TABLE traffic_inputs (
    analysis_id TEXT COLLATE "C" NOT NULL REFERENCES traffic_analyses (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (analysis_id, seq)
);

CREATE TABLE traffic_findings (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    analysis_id TEXT COLLATE "C" NOT NULL REFERENCES traffic_analyses (id) ON DELETE CASCADE,
    finding_key TEXT COLLATE "C" NOT NULL,
    class       TEXT COLLATE "C" NOT NULL,
    category    TEXT COLLATE "C" NOT NULL,
    severity    TEXT COLLATE "C" NOT NULL,
    score       DOUBLE PRECISION NOT NULL,
    src         TEXT COLLATE "C" NOT NULL DEFAULT '',
    dst         TEXT COLLATE "C" NOT NULL DEFAULT '',
    dst_port    INTEGER NOT NULL DEFAULT 0,
    proto       TEXT COLLATE "C" NOT NULL DEFAULT '',
    domain      TEXT COLLATE "C" NOT NULL DEFAULT '',
    rule        TEXT COLLATE "C" NOT NULL DEFAULT '',
    indicator   TEXT COLLATE "C" NOT NULL DEFAULT '',
    technique   TEXT COLLATE "C" NOT NULL DEFAULT '',
    summary     TEXT COLLATE "C" NOT NULL DEFAULT '',
    detail      BYTEA NOT NULL,
    count       BIGINT  NOT NULL DEFAULT 0,
    bytes       BIGINT  NOT NULL DEFAULT 0,
    distinct_n  BIGINT  NOT NULL DEFAULT 0,
    first_seen  TIMESTAMPTZ,
    last_seen   TIMESTAMPTZ,
    state       TEXT COLLATE "C" NOT NULL DEFAULT 'new',
    note        TEXT COLLATE "C" NOT NULL DEFAULT '',
    marked_by   TEXT COLLATE "C" NOT NULL DEFAULT '',
    marked_at   TIMESTAMPTZ,
    alert_id    TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX traffic_findings_analysis ON traffic_findings (tenant_id, analysis_id, score);
CREATE INDEX traffic_findings_key ON traffic_findings (tenant_id, finding_key);
CREATE INDEX traffic_findings_seen ON traffic_findings (tenant_id, last_seen);

-- +goose Down
DROP TABLE traffic_findings;
DROP TABLE traffic_inputs;
DROP TABLE traffic_analyses;
