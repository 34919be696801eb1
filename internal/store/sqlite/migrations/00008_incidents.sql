-- Incident response: cases, their alerts, timeline entries, tasks and task
-- logs, observables, and evidence kept by content hash with an append-only
-- chain of custody.

-- +goose Up
CREATE TABLE incidents (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    ref             TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL,
    tlp             TEXT NOT NULL,
    pap             TEXT NOT NULL,
    category        TEXT NOT NULL,
    gb_class        TEXT NOT NULL DEFAULT '',
    phase           TEXT NOT NULL,
    resolution      TEXT NOT NULL DEFAULT '',
    assignee        TEXT NOT NULL DEFAULT '',
    tags            TEXT NOT NULL DEFAULT '[]',
    techniques      TEXT NOT NULL DEFAULT '[]',
    asset_ids       TEXT NOT NULL DEFAULT '[]',
    report_sections TEXT NOT NULL DEFAULT '{}',
    report_final    INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    acknowledged_at TEXT,
    contained_at    TEXT,
    closed_at       TEXT,
    ack_due         TEXT,
    contain_due     TEXT,
    close_due       TEXT,
    version         INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, seq),
    UNIQUE (tenant_id, ref)
);
CREATE INDEX incidents_updated ON incidents (tenant_id, updated_at DESC, id DESC);
CREATE INDEX incidents_phase ON incidents (tenant_id, phase, updated_at DESC);
CREATE INDEX incidents_assignee ON incidents (tenant_id, assignee, updated_at DESC);
CREATE INDEX incidents_severity ON incidents (tenant_id, severity, updated_at DESC);
CREATE INDEX incidents_close_due ON incidents (tenant_id, close_due);

-- One row per tag of a case, so the tag filter is an index lookup.
CREATE TABLE incident_tags (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id   TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX incident_tags_tag ON incident_tags (tenant_id, tag);

CREATE TABLE incident_alerts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id   TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    alert_id  TEXT NOT NULL,
    added_by  TEXT NOT NULL DEFAULT '',
    added_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, alert_id)
);
CREATE INDEX incident_alerts_case ON incident_alerts (case_id);

CREATE TABLE incident_entries (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id    TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX incident_entries_case ON incident_entries (case_id, at);

CREATE TABLE incident_tasks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id     TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    phase       TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    due_at      TEXT,
    checklist   TEXT NOT NULL DEFAULT '[]',
    source      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    done_at     TEXT
);
CREATE INDEX incident_tasks_case ON incident_tasks (case_id, created_at);

CREATE TABLE incident_task_logs (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id   TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    task_id   TEXT NOT NULL REFERENCES incident_tasks (id) ON DELETE CASCADE,
    author    TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX incident_task_logs_case ON incident_task_logs (case_id, at);

CREATE TABLE incident_observables (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id     TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    ioc         INTEGER NOT NULL DEFAULT 0,
    tags        TEXT NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    first_seen  TEXT,
    last_seen   TEXT,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    UNIQUE (case_id, type, value)
);
CREATE INDEX incident_observables_value ON incident_observables (tenant_id, value, type);

CREATE TABLE incident_blobs (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    content    BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
);

CREATE TABLE incident_evidence (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id       TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    sha256        TEXT NOT NULL,
    name          TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sniffed_type  TEXT NOT NULL DEFAULT '',
    declared_type TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    FOREIGN KEY (tenant_id, sha256) REFERENCES incident_blobs (tenant_id, sha256)
);
CREATE INDEX incident_evidence_case ON incident_evidence (case_id, created_at);
CREATE INDEX incident_evidence_blob ON incident_evidence (tenant_id, sha256);

CREATE TABLE incident_custody (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    evidence_id TEXT NOT NULL REFERENCES incident_evidence (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_custody_evidence ON incident_custody (evidence_id, at);

-- +goose Down
DROP TABLE incident_custody;
DROP TABLE incident_evidence;
DROP TABLE incident_blobs;
DROP TABLE incident_observables;
DROP TABLE incident_task_logs;
DROP TABLE incident_tasks;
DROP TABLE incident_entries;
DROP TABLE incident_alerts;
DROP TABLE incident_tags;
DROP TABLE incidents;
