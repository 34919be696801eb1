-- OpenVAS through GMP per tenant, and the history of vulnerability scan
-- runs. vuln_gmp holds where gvmd listens (a Unix socket path, or
-- host:port spoken over TLS with an optional CA certificate in PEM), the
-- account name and the scan configuration, port list and scanner IDs; the
-- password is a secret of the vault (secrets table, encrypted), named by
-- secret_id. vuln_scan_runs is one row per scan run (scheduled or by
-- hand): what it scanned, the imports it made and the errors it met, so a
-- failing scanner is seen in the history rather than only in a log.

-- +goose Up
CREATE TABLE vuln_gmp (
    tenant_id    TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    address      TEXT NOT NULL,
    username     TEXT NOT NULL,
    secret_id    TEXT NOT NULL,
    ca_pem       TEXT NOT NULL DEFAULT '',
    server_name  TEXT NOT NULL DEFAULT '',
    config_id    TEXT NOT NULL,
    port_list_id TEXT NOT NULL,
    scanner_id   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE vuln_scan_runs (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    targets     INTEGER NOT NULL DEFAULT 0,
    findings    INTEGER NOT NULL DEFAULT 0,
    scan_ids    TEXT NOT NULL DEFAULT '[]',
    skipped     TEXT NOT NULL DEFAULT '[]',
    errors      TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX vuln_scan_runs_tenant ON vuln_scan_runs (tenant_id, started_at DESC, id DESC);

-- +goose Down
DROP TABLE vuln_scan_runs;
DROP TABLE vuln_gmp;
