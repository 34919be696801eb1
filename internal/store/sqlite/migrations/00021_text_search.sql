-- Indexed text search. The case list's text search (a substring of the
-- title) and the findings list's (a substring of the title, asset key,
-- rule ID or CVE list) read an FTS5 trigram index instead of every row.
-- Both are external-content tables: they hold the index only and read the
-- text from the table itself, matched on its rowid, and triggers keep them
-- in step with every insert, update and delete (including the deletes a
-- tenant's removal cascades to). The trigram index folds case, so the
-- queries keep the LIKE of a scan as a recheck of its candidates and find
-- exactly what the scan would; text shorter than three characters has no
-- trigram and is still a scan. The rebuilds index the rows already stored.

-- +goose Up
CREATE VIRTUAL TABLE incidents_fts USING fts5 (
    title,
    content = 'incidents', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO incidents_fts (incidents_fts) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts (rowid, title) VALUES (new.rowid, new.title);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_fts_update AFTER UPDATE OF title ON incidents
WHEN old.title IS NOT new.title BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
    INSERT INTO incidents_fts (rowid, title) VALUES (new.rowid, new.title);
END;
-- +goose StatementEnd

CREATE VIRTUAL TABLE vuln_findings_fts USING fts5 (
    title, asset_key, rule_id, cves,
    content = 'vuln_findings', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO vuln_findings_fts (vuln_findings_fts) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER vuln_findings_fts_insert AFTER INSERT ON vuln_findings BEGIN
    INSERT INTO vuln_findings_fts (rowid, title, asset_key, rule_id, cves)
    VALUES (new.rowid, new.title, new.asset_key, new.rule_id, new.cves);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER vuln_findings_fts_delete AFTER DELETE ON vuln_findings BEGIN
    INSERT INTO vuln_findings_fts (vuln_findings_fts, rowid, title, asset_key, rule_id, cves)
    VALUES ('delete', old.rowid, old.title, old.asset_key, old.rule_id, old.cves);
END;
-- +goose StatementEnd

-- A reimport rewrites these columns of every finding it sees, mostly with
-- the values they had: only a real change touches the index.
-- +goose StatementBegin
CREATE TRIGGER vuln_findings_fts_update AFTER UPDATE OF title, asset_key, rule_id, cves ON vuln_findings
WHEN old.title IS NOT new.title OR old.asset_key IS NOT new.asset_key OR old.rule_id IS NOT new.rule_id
    OR old.cves IS NOT new.cves BEGIN
    INSERT INTO vuln_findings_fts (vuln_findings_fts, rowid, title, asset_key, rule_id, cves)
    VALUES ('delete', old.rowid, old.title, old.asset_key, old.rule_id, old.cves);
    INSERT INTO vuln_findings_fts (rowid, title, asset_key, rule_id, cves)
    VALUES (new.rowid, new.title, new.asset_key, new.rule_id, new.cves);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER vuln_findings_fts_update;
DROP TRIGGER vuln_findings_fts_delete;
DROP TRIGGER vuln_findings_fts_insert;
DROP TABLE vuln_findings_fts;
DROP TRIGGER incidents_fts_update;
DROP TRIGGER incidents_fts_delete;
DROP TRIGGER incidents_fts_insert;
DROP TABLE incidents_fts;
