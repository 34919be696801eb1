-- Defender reports of a drill (analysis, response, notification,
-- coordination, tracing) with the directing team's decision, and the
-- links from a drill's detection gaps (by case) to the remediation work
-- orders made for them: one order per gap.

-- +goose Up
CREATE TABLE drill_reports (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id  TEXT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    at        TEXT NOT NULL,
    team      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    by_user   TEXT NOT NULL DEFAULT '',
    accepted  INTEGER NOT NULL DEFAULT 0,
    body      TEXT NOT NULL,
    PRIMARY KEY (drill_id, id)
);
CREATE INDEX drill_reports_at ON drill_reports (tenant_id, drill_id, at, id);

CREATE TABLE drill_remediations (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id      TEXT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    case_id       TEXT NOT NULL,
    work_order_id TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    PRIMARY KEY (drill_id, case_id)
);

-- +goose Down
DROP TABLE drill_remediations;
DROP TABLE drill_reports;
