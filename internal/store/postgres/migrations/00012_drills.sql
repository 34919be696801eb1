-- Attack/defence drills of a tenant: the plan (scope, teams and their
-- members, scoring scheme, planned cases as JSON), the schedule and state,
-- and the drill's log: attack records, confirmed defence observations,
-- announcements and the state history. version counts every change.

-- +goose Up
CREATE TABLE drills (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    tenant_id           TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                TEXT COLLATE "C" NOT NULL,
    state               TEXT COLLATE "C" NOT NULL,
    start_at            TIMESTAMPTZ NOT NULL,
    end_at              TIMESTAMPTZ NOT NULL,
    rules_of_engagement TEXT COLLATE "C" NOT NULL DEFAULT '',
    scope               TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    teams               TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    scheme              TEXT COLLATE "C" NOT NULL DEFAULT '',
    cases               TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created_by          TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX drills_start ON drills (tenant_id, start_at DESC, id DESC);

CREATE TABLE drill_records (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id  TEXT COLLATE "C" NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    id        TEXT COLLATE "C" NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    team      TEXT COLLATE "C" NOT NULL,
    technique TEXT COLLATE "C" NOT NULL,
    body      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (drill_id, id)
);

CREATE TABLE drill_observations (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id  TEXT COLLATE "C" NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    record_id TEXT COLLATE "C" NOT NULL,
    alert_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    at        TIMESTAMPTZ NOT NULL,
    by_user   TEXT COLLATE "C" NOT NULL,
    body      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (drill_id, seq),
    FOREIGN KEY (drill_id, record_id) REFERENCES drill_records (drill_id, id) ON DELETE CASCADE
);

CREATE TABLE drill_announcements (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id  TEXT COLLATE "C" NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    by_user   TEXT COLLATE "C" NOT NULL,
    to_role   TEXT COLLATE "C" NOT NULL DEFAULT '',
    body      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (drill_id, seq)
);

CREATE TABLE drill_state_changes (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id   TEXT COLLATE "C" NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    from_state TEXT COLLATE "C" NOT NULL,
    to_state   TEXT COLLATE "C" NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    by_user    TEXT COLLATE "C" NOT NULL,
    reason     TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (drill_id, seq)
);

-- +goose Down
DROP TABLE drill_state_changes;
DROP TABLE drill_announcements;
DROP TABLE drill_observations;
DROP TABLE drill_records;
DROP TABLE drills;
