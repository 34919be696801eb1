package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/vigil-sec/vigil/internal/store"
)

// textSearchVersion is the migration that adds the FTS5 trigram indexes.
const textSearchVersion = 21

// TestTextSearchIndexesExistingRows opens a database holding cases and
// findings written before migration 00021: the migration indexes them,
// so an indexed search (three characters or more) finds them, and the
// index matches its table exactly.
func TestTextSearchIndexesExistingRows(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "vigil.db")
	db, err := openDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations().FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, textSearchVersion-1); err != nil {
		t.Fatal(err)
	}
	// Rows written as the schema before the migration has them.
	const now = "2026-01-01T00:00:00.000000Z"
	for _, q := range []string{
		`INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t-before', 'before', 'Before', '` + now + `', '` + now + `')`,
		`INSERT INTO incidents (id, tenant_id, seq, ref, title, severity, tlp, pap, category, phase, created_at, updated_at)
			VALUES ('c-before', 't-before', 1, 'IR-2026-0001', 'Webshell on the shop before the upgrade', 'high', 'amber',
			'amber', 'malware', 'detect', '` + now + `', '` + now + `')`,
		`INSERT INTO vuln_findings (id, tenant_id, fingerprint, asset_key, scanner, rule_id, title, severity, severity_rank,
			cves, state, state_at, first_seen, last_seen, updated_at) VALUES ('v-before', 't-before', 'f1', '10.0.0.1',
			'nuclei', 'tpl-1', '目录遍历 before the upgrade', 'low', 1, '["CVE-2014-3566"]', 'new', '` + now + `', '` + now + `',
			'` + now + `', '` + now + `')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st := open(t, path) // migrates the rest
	cs, err := st.Incidents().List(ctx, "t-before", store.IncidentFilter{Query: "SHOP BEFORE"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != "c-before" {
		t.Fatalf("case stored before the migration: found %+v", cs)
	}
	for _, q := range []string{"cve-2014", "目录遍历", "TPL-1"} {
		n, err := st.Vulns().Count(ctx, "t-before", store.VulnFilter{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("finding stored before the migration, query %q: %d found", q, n)
		}
	}
	checkFTS(t, st.(interface{ DB() *sql.DB }).DB())
}

// TestTextSearchAfterBackup restores a backup (VACUUM INTO) of a database
// whose rows were deleted and written in between: the indexes refer to
// the rows by rowid, which the copy keeps, so search finds the same.
func TestTextSearchAfterBackup(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st := open(t, filepath.Join(dir, "vigil.db"))
	var tenants []store.Tenant
	for i := range 3 {
		tn := store.Tenant{Slug: fmt.Sprintf("t%d", i), Name: "T"}
		if err := st.Tenants().Create(ctx, &tn); err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, tn)
		for j := range 20 {
			c := store.Incident{TenantID: tn.ID, Title: fmt.Sprintf("case %d of tenant %d", j, i), Severity: "high",
				TLP: "amber", PAP: "amber", Category: "malware", Phase: "detect"}
			if err := st.Incidents().Create(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A gap in the rowids, then more rows after it.
	if err := st.Tenants().Delete(ctx, tenants[1].ID); err != nil {
		t.Fatal(err)
	}
	c := store.Incident{TenantID: tenants[2].ID, Title: "written after the delete", Severity: "high", TLP: "amber", PAP: "amber",
		Category: "malware", Phase: "detect"}
	if err := st.Incidents().Create(ctx, &c); err != nil {
		t.Fatal(err)
	}
	search := func(s store.Store, tenantID, q string) []string {
		t.Helper()
		cs, err := s.Incidents().List(ctx, tenantID, store.IncidentFilter{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, c := range cs {
			titles = append(titles, c.Title)
		}
		slices.Sort(titles)
		return titles
	}
	backup := filepath.Join(dir, "backup.db")
	if err := st.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored.db")
	if err := Restore(ctx, backup, restored); err != nil {
		t.Fatal(err)
	}
	st2 := open(t, restored)
	for _, q := range []struct{ tenant, q string }{
		{tenants[0].ID, "of tenant 0"}, {tenants[2].ID, "case 1"}, {tenants[2].ID, "after the delete"},
	} {
		want, got := search(st, q.tenant, q.q), search(st2, q.tenant, q.q)
		if len(want) == 0 || !slices.Equal(want, got) {
			t.Fatalf("search %q: restored copy finds %q, original %q", q.q, got, want)
		}
	}
	checkFTS(t, st2.(interface{ DB() *sql.DB }).DB())
}

// checkFTS runs FTS5's integrity check of both search indexes against
// their tables.
func checkFTS(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, table := range []string{"incidents_fts", "vuln_findings_fts"} {
		if _, err := db.ExecContext(t.Context(), `INSERT INTO `+table+` (`+table+`, rank) VALUES ('integrity-check', 1)`); err != nil {
			t.Fatalf("%s integrity check: %v", table, err)
		}
	}
}
