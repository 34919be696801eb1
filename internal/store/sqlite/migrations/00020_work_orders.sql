-- Operations work orders (工单): the order itself as JSON (internal/workorder
-- owns its shape and flow), with the columns lists filter on.

-- +goose Up
CREATE TABLE work_orders (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    ref        TEXT NOT NULL,
    type       TEXT NOT NULL,
    state      TEXT NOT NULL,
    title      TEXT NOT NULL,
    doc        TEXT NOT NULL,
    due        TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL,
    UNIQUE (tenant_id, seq),
    UNIQUE (tenant_id, ref)
);

CREATE INDEX work_orders_list ON work_orders (tenant_id, state, updated_at);

-- +goose Down
DROP TABLE work_orders;
