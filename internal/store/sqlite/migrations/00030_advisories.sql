-- Early-warning advisories written by the SOC's analysts: the advisory as
-- JSON (internal/intel/hunt owns its shape) with the columns lists use.

-- +goose Up
CREATE TABLE analyst_advisories (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    state        TEXT NOT NULL,
    doc          TEXT NOT NULL,
    author       TEXT NOT NULL DEFAULT '',
    published_at TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX analyst_advisories_state ON analyst_advisories (state, updated_at);

-- +goose Down
DROP TABLE analyst_advisories;
