-- Attack/defence drills of a tenant: the plan (scope, teams and their
-- members, scoring scheme, planned cases as JSON), the schedule and state,
-- and the drill's log: attack records, confirmed defence observations,
-- announcements and the state history. version counts every change.

-- +goose Up
CREATE TABLE drills (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    state               TEXT NOT NULL,
    start_at            TEXT NOT NULL,
    end_at              TEXT NOT NULL,
    rules_of_engagement TEXT NOT NULL DEFAULT '',
    scope               TEXT NOT NULL DEFAULT '{}',
    teams               TEXT NOT NULL DEFAULT '[]',
    scheme              TEXT NOT NULL DEFAULT '',
    cases               TEXT NOT NULL DEFAULT '[]',
    created_by          TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX drills_start ON drills (tenant_id, start_at DESC, id DESC);

CREATE TABLE drill_records (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id  TEXT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    at        TEXT NOT NULL,
    team      TEXT NOT NULL,
    technique TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (drill_id, id)
);

CREATE TABLE drill_observations (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id  TEXT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    alert_id  TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL,
    by_user   TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (drill_id, seq),
    FOREIGN KEY (drill_id, record_id) REFERENCES drill_records (drill_id, id) ON DELETE CASCADE
);

CREATE TABLE drill_announcements (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id  TEXT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    at        TEXT NOT NULL,
    by_user   TEXT NOT NULL,
    to_role   TEXT NOT NULL DEFAULT '',
    body      TEXT NOT NULL,
    PRIMARY KEY (drill_id, seq)
);

CREATE TABLE drill_state_changes (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id   TEXT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    at         TEXT NOT NULL,
    by_user    TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (drill_id, seq)
);

-- +goose Down
DROP TABLE drill_state_changes;
DROP TABLE drill_announcements;
DROP TABLE drill_observations;
DROP TABLE drill_records;
DROP TABLE drills;
