-- PostgreSQL moves log events into day partitions at this version. SQLite
-- keeps one events table; retention deletes its rows. Nothing changes here:
-- the number keeps both drivers' migrations aligned.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
