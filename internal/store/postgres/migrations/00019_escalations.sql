-- Notification escalation: a tenant's rules (which notifications escalate,
-- through which channels, quiet hours, on-call rotation) and the state of
-- each escalation in progress, written with a revision check so that two
-- nodes never send the same step.

-- +goose Up
CREATE TABLE escalation_rules (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    spec       TEXT COLLATE "C" NOT NULL, -- the rule as JSON
    enabled    BOOLEAN NOT NULL,
    updated_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE escalations (
    id        TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    rule      TEXT COLLATE "C" NOT NULL,
    state     TEXT COLLATE "C" NOT NULL, -- the escalation as JSON
    next_at   TIMESTAMPTZ NOT NULL,
    done      BOOLEAN NOT NULL,
    rev       INTEGER NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX escalations_due ON escalations (done, next_at);
CREATE INDEX escalations_tenant ON escalations (tenant_id, raised_at);

-- +goose Down
DROP TABLE escalations;
DROP TABLE escalation_rules;
