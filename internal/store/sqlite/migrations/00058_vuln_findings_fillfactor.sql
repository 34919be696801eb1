-- PostgreSQL's migration 00058 leaves room on the pages of vuln_findings
-- for a reimport's heap-only updates. SQLite updates a row in place and
-- has no fill factor: nothing to do, the number is kept in step.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
