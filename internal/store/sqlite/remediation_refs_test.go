package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

// remediationRefsVersion is the migration that binds the objects of
// remediation references to assets.
const remediationRefsVersion = 55

// remediationRefRows are remediation items raised before the migration
// (over the tenants and assets of assetObjectSetup) with the reference
// each must have after it and whether it gets the note. Worked by hand: a
// name or address of exactly one asset of the tenant binds; several
// matches, a match in another tenant only, and two references of one item
// naming the same asset stay typed with a note; asset IDs, references
// without an object and risk scenarios are left alone.
var remediationRefRows = []struct {
	id, tenant, kind, ref, detail, after string
	noted                                bool
}{
	{"r1", "t-obj", "assessment_item", "L3-CES1-01@db-01", "", "L3-CES1-01@a-db", false},
	{"r2", "t-obj", "assessment_item", "L3-CES1-02@10.0.0.7", "口令未改", "L3-CES1-02@a-db", false},
	{"r3", "t-obj", "assessment_item", "L3-CES1-03@dup", "口令未改", "L3-CES1-03@dup", true},
	{"r4", "t-obj", "assessment_item", "L3-CES1-04@机房", "", "L3-CES1-04@机房", true},
	{"r5", "t-obj", "assessment_item", "L3-CES1-05@web-01", "", "L3-CES1-05@web-01", true},
	{"r6", "t-obj", "assessment_item", "L3-CES1-05@a-web", "", "L3-CES1-05@a-web", false},
	{"r7", "t-obj", "assessment_item", "L3-CES1-06@db-01", "", "L3-CES1-06@db-01", true},
	{"r8", "t-obj", "assessment_item", "L3-CES1-06@10.0.0.7", "", "L3-CES1-06@10.0.0.7", true},
	{"r9", "t-obj", "assessment_item", "L3-CES1-07", "", "L3-CES1-07", false},
	{"r10", "t-obj", "risk", "S1@db-01", "", "S1@db-01", false},
	{"r11", "t-other", "assessment_item", "L3-CES1-04@机房", "", "L3-CES1-04@a-elsewhere", false},
}

// remediationNote starts the note the migration adds.
const remediationNote = "[迁移 00055] 整改对象“"

// TestRemediationRefsBoundToAssets runs migration 00055 over remediation
// items raised before assessed objects were bound to assets.
func TestRemediationRefsBoundToAssets(t *testing.T) {
	ctx := t.Context()
	db, err := openDB(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations().FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, remediationRefsVersion-1); err != nil {
		t.Fatal(err)
	}
	const now = `'2026-01-01T00:00:00.000000Z'`
	for _, q := range assetObjectSetup {
		if _, err := db.ExecContext(ctx, replaceNow(q, now)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, r := range remediationRefRows {
		if _, err := db.ExecContext(ctx, `INSERT INTO remediation_items (id, tenant_id, source_kind, source_id, source_ref, title, detail, state, created_at, updated_at)
			VALUES (?, ?, ?, 'p-obj', ?, 'gap', ?, 'open', `+now+`, `+now+`)`, r.id, r.tenant, r.kind, r.ref, r.detail); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.UpTo(ctx, remediationRefsVersion); err != nil {
		t.Fatal(err)
	}
	for _, r := range remediationRefRows {
		var ref, detail string
		if err := db.QueryRowContext(ctx, `SELECT source_ref, detail FROM remediation_items WHERE id = ?`, r.id).Scan(&ref, &detail); err != nil {
			t.Fatal(err)
		}
		if ref != r.after {
			t.Errorf("%s %q: %q after the migration, want %q", r.id, r.ref, ref, r.after)
		}
		noted := strings.Contains(detail, remediationNote)
		if noted != r.noted || !strings.HasPrefix(detail, r.detail) {
			t.Errorf("%s %q: detail %q, want the note %v after %q", r.id, r.ref, detail, r.noted, r.detail)
		}
		if noted && !strings.Contains(detail, "“"+r.ref[strings.Index(r.ref, "@")+1:]+"”") {
			t.Errorf("%s: the note does not name the object: %q", r.id, detail)
		}
	}
}
