-- Operations work orders (工单): the order itself as JSON (internal/workorder
-- owns its shape and flow), with the columns lists filter on.

-- +goose Up
CREATE TABLE work_orders (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    ref        TEXT COLLATE "C" NOT NULL,
    type       TEXT COLLATE "C" NOT NULL,
    state      TEXT COLLATE "C" NOT NULL,
    title      TEXT COLLATE "C" NOT NULL,
    doc        TEXT COLLATE "C" NOT NULL,
    due        TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    INTEGER NOT NULL,
    UNIQUE (tenant_id, seq),
    UNIQUE (tenant_id, ref)
);

CREATE INDEX work_orders_list ON work_orders (tenant_id, state, updated_at);

-- +goose Down
DROP TABLE work_orders;
