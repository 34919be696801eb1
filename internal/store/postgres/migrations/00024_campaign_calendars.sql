-- Key-period calendars of tenants: a tenant's own list of key periods in
-- the YAML format of the built-in calendar, edited in the UI and the API.
-- A tenant without a row uses the built-in calendar.

-- +goose Up
CREATE TABLE campaign_calendars (
    tenant_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    doc        TEXT NOT NULL,
    updated_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE campaign_calendars;
