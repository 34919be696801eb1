package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqldb"
)

// TestRescanUpdatesInPlace imports findings and the same scan again: with
// the room migration 00058 leaves on the pages of vuln_findings, every
// updated finding's new version stays on its page (a heap-only update,
// which writes no index entry). On full pages the new versions would move
// to other pages.
func TestRescanUpdatesInPlace(t *testing.T) {
	ctx := t.Context()
	db, err := openDB(ctx, migratedDB(t))
	if err != nil {
		t.Fatal(err)
	}
	s := sqldb.New(db, dialect)
	t.Cleanup(func() { _ = s.Close() })
	ten := store.Tenant{Slug: "hot", Name: "hot"}
	if err := s.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	// Enough findings of a few hundred bytes to fill many pages.
	const n = 300
	scan := func(at time.Time) {
		t.Helper()
		fs := make([]store.VulnFinding, n)
		for i := range fs {
			fs[i] = store.VulnFinding{Fingerprint: fmt.Sprintf("fp-%04d", i), AssetKey: fmt.Sprintf("10.9.0.%d", i%200),
				Scanner: "nuclei", Title: fmt.Sprintf("finding %d", i), Severity: "high",
				Description: strings.Repeat("d", 400)}
		}
		sc := store.VulnScan{TenantID: ten.ID, Scanner: "nuclei", Format: "nuclei", Full: true}
		if err := s.Vulns().Import(ctx, store.VulnImport{Scan: &sc, Findings: fs, Initial: "new", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	pages := func() map[string]string {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT fingerprint, (ctid::text::point)[0]::text FROM vuln_findings WHERE tenant_id = $1`, ten.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		out := map[string]string{}
		for rows.Next() {
			var fp, page string
			if err := rows.Scan(&fp, &page); err != nil {
				t.Fatal(err)
			}
			out[fp] = page
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	t0 := time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC)
	scan(t0)
	before := pages()
	scan(t0.Add(24 * time.Hour))
	after := pages()
	if len(before) != n || len(after) != n {
		t.Fatalf("%d findings before the rescan, %d after, want %d", len(before), len(after), n)
	}
	distinct := map[string]bool{}
	moved := 0
	for fp, p := range before {
		distinct[p] = true
		if after[fp] != p {
			moved++
		}
	}
	if len(distinct) < 10 {
		t.Fatalf("the findings fill %d pages; the test needs more", len(distinct))
	}
	if moved > 0 {
		t.Errorf("%d of %d findings moved to another page in the rescan", moved, n)
	}
}
