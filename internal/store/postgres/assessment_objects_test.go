package postgres

import (
	"strings"
	"testing"
)

// assetObjectsVersion is the migration that binds assessed objects to
// assets.
const assetObjectsVersion = 46

// TestAssessmentObjectsBoundToAssets runs migration 00046 over results
// typed before it: a name or address of exactly one asset becomes its ID;
// no match, several matches and results that would collide with another
// result of the same item naming the same asset stay as typed.
func TestAssessmentObjectsBoundToAssets(t *testing.T) {
	ctx := t.Context()
	dbURL := freshDB(t)
	db, err := openDB(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	migrateTo(t, db, assetObjectsVersion-1)
	rows := []struct{ item, before, after string }{
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
	for _, q := range []string{
		`INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t-obj', 'obj', 'Obj', now(), now())`,
		`INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t-other', 'other', 'Other', now(), now())`,
		`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-db', 't-obj', 'host', 'db-01', '10.0.0.7', now(), now())`,
		`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-web', 't-obj', 'host', 'web-01', '', now(), now())`,
		`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-dup1', 't-obj', 'host', 'dup', '', now(), now())`,
		`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-dup2', 't-obj', 'host', 'dup', '', now(), now())`,
		`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-elsewhere', 't-other', 'host', '机房', '', now(), now())`,
		`INSERT INTO assessment_projects (id, tenant_id, name, system, level, framework, phase, created_at, updated_at)
			VALUES ('p-obj', 't-obj', 'P', 'S', 3, 'mlps2-l3', 'onsite', now(), now())`,
	} {
		exec(t, db, q)
	}
	for _, r := range rows {
		exec(t, db, `INSERT INTO assessment_items (tenant_id, project_id, item, object, result, updated_at)
			VALUES ('t-obj', 'p-obj', '`+r.item+`', '`+strings.ReplaceAll(r.before, "'", "''")+`', 'partial', now())`)
	}
	st := open(t, dbURL) // migrates the rest
	items, err := st.Compliance().Items(ctx, "t-obj", "p-obj", 100)
	ok(t, err)
	got := map[[2]string]bool{}
	for _, it := range items {
		got[[2]string{it.Item, it.Object}] = true
	}
	if len(items) != len(rows) {
		t.Fatalf("%d results after the migration, want %d", len(items), len(rows))
	}
	for _, r := range rows {
		if !got[[2]string{r.item, r.after}] {
			t.Errorf("%s %q: want %q after the migration; have %v", r.item, r.before, r.after, got)
		}
	}
}
