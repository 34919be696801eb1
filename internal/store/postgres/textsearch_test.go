package postgres

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// textSearchVersion is the migration that adds the trigram indexes.
const textSearchVersion = 21

// TestTextSearchIndexes checks migration 00021 on a database holding
// cases and findings from before it: the extension and the trigram
// indexes are created, the rows already there are found, and the indexes
// serve the very expressions the store's searches compare.
func TestTextSearchIndexes(t *testing.T) {
	ctx := t.Context()
	dbURL := freshDB(t)
	db, err := openDB(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	migrateTo(t, db, textSearchVersion-1)
	// Rows written as the schema before the migration has them.
	const tenantID, caseID = "t-before", "c-before"
	exec(t, db, `INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t-before', 'before', 'Before', now(), now())`)
	exec(t, db, `INSERT INTO incidents (id, tenant_id, seq, ref, title, severity, tlp, pap, category, phase, created_at, updated_at)
		VALUES ('c-before', 't-before', 1, 'IR-2026-0001', 'Webshell on the shop before the upgrade', 'high', 'amber', 'amber',
		'malware', 'detect', now(), now())`)
	exec(t, db, `INSERT INTO vuln_findings (id, tenant_id, fingerprint, asset_key, scanner, rule_id, title, severity,
		severity_rank, cves, state, state_at, first_seen, last_seen, updated_at) VALUES ('v-before', 't-before', 'f1',
		'10.0.0.1', 'nuclei', 'tpl-1', 'Old TLS before the upgrade', 'low', 1, '["CVE-2014-3566"]', 'new', now(), now(),
		now(), now())`)

	st := open(t, dbURL) // migrates the rest
	cs, err := st.Incidents().List(ctx, tenantID, store.IncidentFilter{Query: "SHOP BEFORE"})
	ok(t, err)
	if len(cs) != 1 || cs[0].ID != caseID {
		t.Fatalf("case stored before the migration: found %+v", cs)
	}
	n, err := st.Vulns().Count(ctx, tenantID, store.VulnFilter{Query: "cve-2014"})
	ok(t, err)
	if n != 1 {
		t.Fatalf("finding stored before the migration: %d found", n)
	}

	if !hasExtension(t, db, "pg_trgm") {
		t.Fatal("pg_trgm not created by the migration")
	}
	// With sequential scans ruled out, the planner uses an index whenever
	// one matches the expression: the expressions below are the store's.
	for index, query := range map[string]string{
		"incidents_title_trgm": `SELECT id FROM incidents WHERE lower(title) LIKE $1 ESCAPE '!'`,
		// Migration 00065 replaced the findings' four indexes by one on
		// the columns joined (pgTextExpr in package sqldb).
		"vuln_findings_text_trgm": `SELECT id FROM vuln_findings WHERE ((lower(title) || chr(31) || lower(asset_key) || chr(31) ||
			lower(rule_id) || chr(31) || lower(cves::text)) COLLATE "C") LIKE $1 ESCAPE '!'`,
	} {
		if plan := explain(t, db, query, "%webshell%"); !strings.Contains(plan, index) {
			t.Errorf("%s is not used by %s:\n%s", index, query, plan)
		}
	}
}

// TestTextSearchWithoutExtension starts Vigil as a role that may create
// tables but not extensions, as on a server without the contrib package
// or where the database owner installs extensions: the migration must
// not fail the start, and search must still work, by a scan.
func TestTextSearchWithoutExtension(t *testing.T) {
	ctx := t.Context()
	server := testenv.RequirePostgres(t)
	role := uniqueName()
	sdb, err := openDB(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, sdb, `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN`)
	_ = sdb.Close()
	// Registered before the database's cleanup, so it runs after the
	// database (which holds what the role owns) is dropped.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sdb, err := openDB(ctx, server)
		if err != nil {
			t.Error(err)
			return
		}
		defer func() { _ = sdb.Close() }()
		if _, err := sdb.ExecContext(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("drop role: %v", err)
		}
	})
	dbURL := freshDB(t)
	admin, err := openDB(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	if hasExtension(t, admin, "pg_trgm") {
		t.Skip("pg_trgm is in the server's template database: every new database has it")
	}
	// Tables in the public schema, but no CREATE on the database, which
	// creating even a trusted extension needs.
	exec(t, admin, `GRANT USAGE, CREATE ON SCHEMA public TO `+pgx.Identifier{role}.Sanitize())
	exec(t, admin, `REVOKE CREATE ON DATABASE `+pgx.Identifier{dbName(t, dbURL)}.Sanitize()+` FROM PUBLIC`)

	st, err := Open(ctx, withUser(t, dbURL, role), Options{})
	if err != nil {
		t.Fatalf("Open without the privilege to create pg_trgm: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if hasExtension(t, admin, "pg_trgm") {
		t.Fatal("pg_trgm was created by a role that may not")
	}
	var indexes int
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE indexname LIKE '%\_trgm'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 0 {
		t.Fatalf("%d trigram indexes without pg_trgm", indexes)
	}
	var version int64
	if err := admin.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < textSearchVersion {
		t.Fatalf("schema at version %d, want at least %d", version, textSearchVersion)
	}
	tn := store.Tenant{Slug: "plain", Name: "Plain"}
	ok(t, st.Tenants().Create(ctx, &tn))
	c := store.Incident{TenantID: tn.ID, Title: "Webshell on the shop", Severity: "high", TLP: "amber", PAP: "amber",
		Category: "malware", Phase: "detect"}
	ok(t, st.Incidents().Create(ctx, &c))
	cs, err := st.Incidents().List(ctx, tn.ID, store.IncidentFilter{Query: "WEBSHELL"})
	ok(t, err)
	if len(cs) != 1 || cs[0].ID != c.ID {
		t.Fatalf("search without the index: found %+v", cs)
	}
}

// migrateTo applies the migrations up to version.
func migrateTo(t *testing.T, db *sql.DB, version int64) {
	t.Helper()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
}

func hasExtension(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_extension WHERE extname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// explain returns the plan of query with sequential scans disabled.
func explain(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(t.Context(), `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(t.Context(), `EXPLAIN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func exec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dbName is the database a connection string names.
func dbName(t *testing.T, dbURL string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// withUser returns the connection string dbURL connecting as role.
func withUser(t *testing.T, dbURL, role string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return dbURL + " user=" + role
	}
	u.User = url.User(role)
	return u.String()
}
