-- The findings list's text search (a substring of the title, asset key,
-- rule ID or CVE list) reads one pg_trgm GIN index on the four columns
-- joined by U+001F, instead of the four indexes of migration 00021, one a
-- column: an import wrote every finding into four GIN indexes, about a
-- quarter of the server's CPU of a first import. A search for text
-- without U+001F matches the joined text exactly when it matches one of
-- the columns (it cannot span a separator), so the one expression answers
-- it; the store compares exactly this expression (pgTextExpr in
-- internal/store/sqldb/vulns_text.go). As in 00021, without pg_trgm no
-- index is created and search is a scan.

-- +goose Up
DROP INDEX IF EXISTS vuln_findings_title_trgm;
DROP INDEX IF EXISTS vuln_findings_asset_key_trgm;
DROP INDEX IF EXISTS vuln_findings_rule_id_trgm;
DROP INDEX IF EXISTS vuln_findings_cves_trgm;

-- +goose StatementBegin
DO $$
DECLARE
    ops text;
BEGIN
    SELECT quote_ident(n.nspname) || '.gin_trgm_ops' INTO ops
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF ops IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_text_trgm ON vuln_findings USING gin ('
        || '((lower(title) || chr(31) || lower(asset_key) || chr(31) || lower(rule_id) || chr(31) || lower(cves::text)) COLLATE "C") %s)',
        ops);
END
$$;
-- +goose StatementEnd

-- The planner's estimate of how many findings a text has comes from the
-- statistics of the index's expression, which ANALYZE gathers (a sample
-- of the table, not all of it).
ANALYZE vuln_findings;

-- +goose Down
DROP INDEX IF EXISTS vuln_findings_text_trgm;
-- +goose StatementBegin
DO $$
DECLARE
    ops text;
BEGIN
    SELECT quote_ident(n.nspname) || '.gin_trgm_ops' INTO ops
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF ops IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_title_trgm ON vuln_findings USING gin (lower(title) %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_asset_key_trgm ON vuln_findings USING gin (lower(asset_key) %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_rule_id_trgm ON vuln_findings USING gin (lower(rule_id) %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_cves_trgm ON vuln_findings USING gin (lower(cves::text) %s)', ops);
END
$$;
-- +goose StatementEnd
