-- Tenants taking part in a drill another tenant (or the SOC's own tenant)
-- runs, each with its own scope. A drill without rows here concerns its
-- owning tenant only, as before.

-- +goose Up
CREATE TABLE drill_participants (
    drill_tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    drill_id        TEXT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    scope           TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (drill_id, tenant_id)
);
CREATE INDEX drill_participants_tenant ON drill_participants (tenant_id, drill_id);

-- +goose Down
DROP TABLE drill_participants;
