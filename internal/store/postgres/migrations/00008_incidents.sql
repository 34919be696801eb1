-- Incident response: cases, their alerts, timeline entries, tasks and task
-- logs, observables, and evidence kept by content hash with an append-only
-- chain of custody.

-- +goose Up
CREATE TABLE incidents (
    id              TEXT COLLATE "C" PRIMARY KEY,
    tenant_id       TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    ref             TEXT COLLATE "C" NOT NULL,
    title           TEXT COLLATE "C" NOT NULL,
    description     TEXT COLLATE "C" NOT NULL DEFAULT '',
    severity        TEXT COLLATE "C" NOT NULL,
    tlp             TEXT COLLATE "C" NOT NULL,
    pap             TEXT COLLATE "C" NOT NULL,
    category        TEXT COLLATE "C" NOT NULL,
    gb_class        TEXT COLLATE "C" NOT NULL DEFAULT '',
    phase           TEXT COLLATE "C" NOT NULL,
    resolution      TEXT COLLATE "C" NOT NULL DEFAULT '',
    assignee        TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags            JSONB NOT NULL DEFAULT '[]',
    techniques      JSONB NOT NULL DEFAULT '[]',
    asset_ids       JSONB NOT NULL DEFAULT '[]',
    report_sections JSONB NOT NULL DEFAULT '{}',
    report_final    BOOLEAN NOT NULL DEFAULT FALSE,
    created_by      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    contained_at    TIMESTAMPTZ,
    closed_at       TIMESTAMPTZ,
    ack_due         TIMESTAMPTZ,
    contain_due     TIMESTAMPTZ,
    close_due       TIMESTAMPTZ,
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
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id   TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    tag       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX incident_tags_tag ON incident_tags (tenant_id, tag);

CREATE TABLE incident_alerts (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id   TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    alert_id  TEXT COLLATE "C" NOT NULL,
    added_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    added_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, alert_id)
);
CREATE INDEX incident_alerts_case ON incident_alerts (case_id);

CREATE TABLE incident_entries (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id    TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    actor      TEXT COLLATE "C" NOT NULL DEFAULT '',
    body       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX incident_entries_case ON incident_entries (case_id, at);

CREATE TABLE incident_tasks (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id     TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title       TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    phase       TEXT COLLATE "C" NOT NULL,
    owner       TEXT COLLATE "C" NOT NULL DEFAULT '',
    status      TEXT COLLATE "C" NOT NULL,
    due_at      TIMESTAMPTZ,
    checklist   JSONB NOT NULL DEFAULT '[]',
    source      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    done_at     TIMESTAMPTZ
);
CREATE INDEX incident_tasks_case ON incident_tasks (case_id, created_at);

CREATE TABLE incident_task_logs (
    id        TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id   TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    task_id   TEXT COLLATE "C" NOT NULL REFERENCES incident_tasks (id) ON DELETE CASCADE,
    author    TEXT COLLATE "C" NOT NULL DEFAULT '',
    at        TIMESTAMPTZ NOT NULL,
    body      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX incident_task_logs_case ON incident_task_logs (case_id, at);

CREATE TABLE incident_observables (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id     TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    type        TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    ioc         BOOLEAN NOT NULL DEFAULT FALSE,
    tags        JSONB NOT NULL DEFAULT '[]',
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    first_seen  TIMESTAMPTZ,
    last_seen   TIMESTAMPTZ,
    created_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, type, value)
);
CREATE INDEX incident_observables_value ON incident_observables (tenant_id, value, type);

CREATE TABLE incident_blobs (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sha256     TEXT COLLATE "C" NOT NULL,
    size       BIGINT NOT NULL,
    content    BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
);

CREATE TABLE incident_evidence (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    case_id       TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    sha256        TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    size          BIGINT NOT NULL,
    sniffed_type  TEXT COLLATE "C" NOT NULL DEFAULT '',
    declared_type TEXT COLLATE "C" NOT NULL DEFAULT '',
    description   TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (tenant_id, sha256) REFERENCES incident_blobs (tenant_id, sha256)
);
CREATE INDEX incident_evidence_case ON incident_evidence (case_id, created_at);
CREATE INDEX incident_evidence_blob ON incident_evidence (tenant_id, sha256);

CREATE TABLE incident_custody (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    evidence_id TEXT COLLATE "C" NOT NULL REFERENCES incident_evidence (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT COLLATE "C" NOT NULL DEFAULT '',
    action      TEXT COLLATE "C" NOT NULL,
    detail      TEXT COLLATE "C" NOT NULL DEFAULT ''
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
