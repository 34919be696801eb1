-- Key-period calendars of tenants: a tenant's own list of key periods in
-- the YAML format of the built-in calendar, edited in the UI and the API.
-- A tenant without a row uses the built-in calendar.

-- +goose Up
CREATE TABLE campaign_calendars (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    doc        TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE campaign_calendars;
