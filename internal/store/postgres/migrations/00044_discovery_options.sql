-- What a discovery run does besides scanning its targets, as JSON
-- (subdomain enumeration: domains, wordlist, certificate names); '' for
-- none.

-- +goose Up
ALTER TABLE discovery_runs ADD COLUMN options TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE discovery_runs DROP COLUMN options;
