-- Early-warning advisories written by the SOC's analysts: the advisory as
-- JSON (internal/intel/hunt owns its shape) with the columns lists use.

-- +goose Up
CREATE TABLE analyst_advisories (
    id           TEXT COLLATE "C" PRIMARY KEY,
    title        TEXT NOT NULL,
    severity     TEXT COLLATE "C" NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,
    doc          TEXT NOT NULL,
    author       TEXT NOT NULL DEFAULT '',
    published_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX analyst_advisories_state ON analyst_advisories (state, updated_at);

-- +goose Down
DROP TABLE analyst_advisories;
