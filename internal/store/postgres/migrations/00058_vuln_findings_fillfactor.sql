-- A reimport rewrites every finding it sees (last seen, scan, occurrences)
-- and changes no indexed column of most of them. PostgreSQL writes such an
-- update as a heap-only tuple, without touching the table's twelve
-- indexes, when the new version fits on the row's page; full pages (the
-- default fill factor of 100) made every reimported finding a new entry
-- in every index. Pages of vuln_findings are now filled to half, so a full
-- rescan's new versions fit beside the old ones; the old versions are
-- pruned from the page when it is next read, and the following rescan
-- reuses the space. Measured with bench/vuln (100,000 findings): the
-- rescan's server CPU falls by about half, the first import costs a few
-- per cent more, the table takes about twice the space.
--
-- The setting applies to pages written from now on; a table that already
-- holds findings takes it as they are rewritten (VACUUM FULL vuln_findings
-- applies it at once).

-- +goose Up
ALTER TABLE vuln_findings SET (fillfactor = 50);

-- +goose Down
ALTER TABLE vuln_findings RESET (fillfactor);
