-- The weekly digest and the escalation of KEV matches.
--
-- digest_runs: each sending of a tenant's digest, claimed before it is
-- sent; the primary key lets one node only claim a tenant's week.
--
-- escalation_rules gain when a rule was (re-)enabled and the KEV backlog it
-- skipped: a rule newly enabled escalates only the KEV matches that arrive
-- after, and the matches already there are counted, not escalated.

-- +goose Up
CREATE TABLE digest_runs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    period      TEXT NOT NULL,
    period_from TEXT NOT NULL,
    period_to   TEXT NOT NULL,
    status      TEXT NOT NULL,
    messages    INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    sent_by     TEXT NOT NULL DEFAULT '',
    claimed_at  TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (tenant_id, period)
);

CREATE INDEX digest_runs_claimed ON digest_runs (tenant_id, claimed_at);

ALTER TABLE escalation_rules ADD COLUMN enabled_at TEXT;
ALTER TABLE escalation_rules ADD COLUMN kev_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE escalation_rules ADD COLUMN kev_skipped INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE escalation_rules DROP COLUMN kev_skipped;
ALTER TABLE escalation_rules DROP COLUMN kev_pending;
ALTER TABLE escalation_rules DROP COLUMN enabled_at;
DROP TABLE digest_runs;
