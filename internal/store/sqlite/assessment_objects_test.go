package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

// assetObjectsVersion is the migration that binds assessed objects to
// assets.
const assetObjectsVersion = 46

// assetObjectRows are the rows written before migration 00046 and the
// object each must have after it: a name or address of exactly one asset
// becomes its ID; no match, several matches and results that would
// collide with another result of the same item naming the same asset
// stay as typed.
var assetObjectRows = []struct{ item, before, after string }{
	{"L3-CES1-01", "db-01", "a-db"},
	{"L3-CES1-02", "10.0.0.7", "a-db"},
	{"L3-CES1-03", "dup", "dup"},
	{"L3-CES1-04", "机房", "机房"},
	{"L3-CES1-05", "web-01", "web-01"},
	{"L3-CES1-05", "a-web", "a-web"},
	{"L3-CES1-06", "db-01", "db-01"},
	{"L3-CES1-06", "10.0.0.7", "10.0.0.7"},
	{"L3-CES1-07", "", ""},
}

// assetObjectSetup are the tenant, assets and project of those rows, in
// SQL both drivers take; {now} is replaced by a timestamp literal.
var assetObjectSetup = []string{
	`INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t-obj', 'obj', 'Obj', {now}, {now})`,
	`INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t-other', 'other', 'Other', {now}, {now})`,
	`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-db', 't-obj', 'host', 'db-01', '10.0.0.7', {now}, {now})`,
	`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-web', 't-obj', 'host', 'web-01', '', {now}, {now})`,
	`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-dup1', 't-obj', 'host', 'dup', '', {now}, {now})`,
	`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-dup2', 't-obj', 'host', 'dup', '', {now}, {now})`,
	`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-elsewhere', 't-other', 'host', '机房', '', {now}, {now})`,
	`INSERT INTO assessment_projects (id, tenant_id, name, system, level, framework, phase, created_at, updated_at)
		VALUES ('p-obj', 't-obj', 'P', 'S', 3, 'mlps2-l3', 'onsite', {now}, {now})`,
}

// TestAssessmentObjectsBoundToAssets runs migration 00046 over results
// typed before it.
func TestAssessmentObjectsBoundToAssets(t *testing.T) {
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
	if _, err := p.UpTo(ctx, assetObjectsVersion-1); err != nil {
		t.Fatal(err)
	}
	const now = `'2026-01-01T00:00:00.000000Z'`
	for _, q := range assetObjectSetup {
		if _, err := db.ExecContext(ctx, replaceNow(q, now)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, r := range assetObjectRows {
		if _, err := db.ExecContext(ctx, `INSERT INTO assessment_items (tenant_id, project_id, item, object, result, updated_at)
			VALUES ('t-obj', 'p-obj', ?, ?, 'partial', `+now+`)`, r.item, r.before); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st := open(t, path) // migrates the rest
	items, err := st.Compliance().Items(ctx, "t-obj", "p-obj", 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]bool{}
	for _, it := range items {
		got[[2]string{it.Item, it.Object}] = true
	}
	if len(items) != len(assetObjectRows) {
		t.Fatalf("%d results after the migration, want %d", len(items), len(assetObjectRows))
	}
	for _, r := range assetObjectRows {
		if !got[[2]string{r.item, r.after}] {
			t.Errorf("%s %q: want %q after the migration; have %v", r.item, r.before, r.after, got)
		}
	}
}

func replaceNow(q, now string) string { return strings.ReplaceAll(q, "{now}", now) }
