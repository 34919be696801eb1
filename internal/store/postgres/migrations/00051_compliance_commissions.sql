-- Commissions of third-party assessment organisations (委托第三方): a
-- regulator commissions an organisation whose users act as assessors in
-- exactly the commissioned tenants for the commission's period. The
-- commission spans tenants; its scope rows belong to their tenant.

-- +goose Up
CREATE TABLE compliance_commissions (
    id         TEXT COLLATE "C" PRIMARY KEY,
    org        TEXT COLLATE "C" NOT NULL,
    contact    TEXT COLLATE "C" NOT NULL DEFAULT '',
    purpose    TEXT COLLATE "C" NOT NULL DEFAULT '',
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    revoked_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX compliance_commissions_created ON compliance_commissions (created_at DESC, id DESC);

CREATE TABLE compliance_commission_scope (
    commission_id TEXT COLLATE "C" NOT NULL REFERENCES compliance_commissions (id) ON DELETE CASCADE,
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    systems       TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    PRIMARY KEY (commission_id, tenant_id)
);
CREATE INDEX compliance_commission_scope_tenant ON compliance_commission_scope (tenant_id);

CREATE TABLE compliance_commission_members (
    commission_id TEXT COLLATE "C" NOT NULL REFERENCES compliance_commissions (id) ON DELETE CASCADE,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (commission_id, user_id)
);
CREATE INDEX compliance_commission_members_user ON compliance_commission_members (user_id);

-- +goose Down
DROP TABLE compliance_commission_members;
DROP TABLE compliance_commission_scope;
DROP TABLE compliance_commissions;
