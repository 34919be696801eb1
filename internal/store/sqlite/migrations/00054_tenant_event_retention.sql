-- Each tenant's own event retention (seconds), shorter than or equal to
-- the global event_retention; a tenant without a row follows the global
-- one.

-- +goose Up
CREATE TABLE tenant_event_retention (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seconds    BIGINT NOT NULL CHECK (seconds > 0),
    updated_at TEXT NOT NULL
);

-- +goose Down
DROP TABLE tenant_event_retention;
