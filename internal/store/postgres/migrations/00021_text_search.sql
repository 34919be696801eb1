-- Indexed text search. The case list's text search (a substring of the
-- title) and the findings list's (a substring of the title, asset key,
-- rule ID or CVE list) compare lower(column) LIKE '%text%'; trigram GIN
-- indexes of pg_trgm on exactly those expressions answer it without
-- reading every row (text shorter than three characters has no trigram and
-- is still a scan). Creating an index indexes the rows already stored.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension, so
-- the owner of the database may create it. Where it cannot be created (no
-- contrib package, no privilege) Vigil must still start: the extension is
-- created in a block that turns the failure into a warning, the indexes
-- are created only when the extension is there, and search stays correct,
-- only slower. Installing pg_trgm later and running the CREATE INDEX
-- statements below (with the extension's schema) adds the indexes.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'vigil: pg_trgm cannot be created (%); text search will scan instead of using an index', SQLERRM;
END
$$;
-- +goose StatementEnd

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
    EXECUTE format('CREATE INDEX IF NOT EXISTS incidents_title_trgm ON incidents USING gin (lower(title) %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_title_trgm ON vuln_findings USING gin (lower(title) %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_asset_key_trgm ON vuln_findings USING gin (lower(asset_key) %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_rule_id_trgm ON vuln_findings USING gin (lower(rule_id) %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS vuln_findings_cves_trgm ON vuln_findings USING gin (lower(cves::text) %s)', ops);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS vuln_findings_cves_trgm;
DROP INDEX IF EXISTS vuln_findings_rule_id_trgm;
DROP INDEX IF EXISTS vuln_findings_asset_key_trgm;
DROP INDEX IF EXISTS vuln_findings_title_trgm;
DROP INDEX IF EXISTS incidents_title_trgm;
