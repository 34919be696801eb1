package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqldb"
)

// TestImportPathsAgree imports the same scans — duplicates within a scan,
// more findings than the bulk path queues before writing, reopened,
// updated and absent findings, state changes between scans — once through
// the statement-batched import (a dialect without COPY) and once through
// COPY, into two tenants of one database, and compares every column of
// every finding (but the generated IDs), every timeline event and every
// scan's counters.
func TestImportPathsAgree(t *testing.T) {
	ctx := t.Context()
	dbURL := migratedDB(t)
	var copies atomic.Int64
	withCopy := dialect
	withCopy.CopyFrom = func(ctx context.Context, dc any, table string, cols []string, rows [][]any) error {
		copies.Add(1)
		return copyFrom(ctx, dc, table, cols, rows)
	}
	noCopy := dialect
	noCopy.CopyFrom = nil
	open := func(d sqldb.Dialect) *sqldb.Store {
		db, err := openDB(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		s := sqldb.New(db, d)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	stmt, bulk := open(noCopy), open(withCopy)
	tenant := func(s *sqldb.Store, slug string) string {
		ten := store.Tenant{Slug: slug, Name: slug}
		if err := s.Tenants().Create(ctx, &ten); err != nil {
			t.Fatal(err)
		}
		return ten.ID
	}
	paths := []struct {
		s      *sqldb.Store
		tenant string
	}{{stmt, tenant(stmt, "stmt")}, {bulk, tenant(bulk, "bulk")}}

	t0 := time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC)
	mk := func(i int, title string) store.VulnFinding {
		cvss, epss := float64(i%100)/10, float64(i%7)/7
		f := store.VulnFinding{Fingerprint: fmt.Sprintf("fp-%05d", i), AssetKey: fmt.Sprintf("10.2.%d.%d", i/250, i%50),
			Scanner: "nuclei", RuleID: fmt.Sprintf("rule-%d", i%40), Title: fmt.Sprintf("%s %d", title, i),
			Severity: []string{"critical", "high", "medium", "low", "info", "odd"}[i%6], Layer: "application",
			Host: "h", Port: i % 65536, CVEs: []string{fmt.Sprintf("CVE-2030-%04d", i)}, Priority: float64(i % 13),
			PriorityReason: "r", Evidence: "e\tv\\i\"d'ence\n", KEV: i%11 == 0, DueAt: t0.Add(time.Duration(i) * time.Hour),
			Occurrences: i % 3}
		if i%4 != 0 {
			f.CVSSScore, f.CVSSVector = &cvss, "CVSS:3.1/AV:N"
		}
		if i%5 == 0 {
			f.EPSS = &epss
		}
		if i%2 == 0 {
			f.AssetID = fmt.Sprintf("asset-%d", i/50)
		}
		return f
	}
	var scans [3][]store.VulnFinding
	// Scan 1: 5,600 findings, fp 7 three times, fp 10 again after the
	// bulk path's first write.
	for i := range 5600 {
		scans[0] = append(scans[0], mk(i, "first"))
	}
	scans[0] = append(scans[0], mk(7, "again"), mk(7, "third"))
	scans[0] = append(scans[0][:5500], append([]store.VulnFinding{mk(10, "late")}, scans[0][5500:]...)...)
	// Scan 2, full: 0..4999 with other titles and no asset IDs on some;
	// fp 1 twice; new findings; 5000..5599 absent.
	for i := range 5000 {
		f := mk(i, "second")
		if i%3 == 0 {
			f.AssetID = ""
		}
		scans[1] = append(scans[1], f)
	}
	scans[1] = append(scans[1], mk(1, "second again"))
	for i := 9000; i < 9100; i++ {
		scans[1] = append(scans[1], mk(i, "new"))
	}
	// Scan 3, partial: some absent ones seen again (they reopen), fp 7
	// twice.
	for i := 5000; i < 5020; i++ {
		scans[2] = append(scans[2], mk(i, "third"))
	}
	scans[2] = append(scans[2], mk(7, "third"), mk(7, "third again"))

	type snapshot struct {
		Scans    []string
		Findings map[string]string
		Events   []string
	}
	var got [2]snapshot
	for p, path := range paths {
		vs := path.s.Vulns()
		idOf := func(fp string) string {
			var id string
			if err := path.s.DB().QueryRowContext(ctx, `SELECT id FROM vuln_findings WHERE tenant_id = $1 AND fingerprint = $2`,
				path.tenant, fp).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		for n, fs := range scans {
			if n == 1 {
				// Between the scans: fixed and verified, fixed pending
				// verification, confirmed and assigned.
				for fp, c := range map[string]store.VulnChange{
					"fp-00001": {From: "new", To: "verified-closed", ActorID: "u1", Note: "fixed"},
					"fp-00002": {From: "new", To: "fixed-pending-verification", ActorID: "u1"},
					"fp-00003": {From: "new", To: "confirmed", ActorID: "u2", Assignee: ptr("u3")},
				} {
					c.At = t0.Add(time.Hour)
					if err := vs.Change(ctx, path.tenant, idOf(fp), c); err != nil {
						t.Fatal(err)
					}
				}
			}
			in := make([]store.VulnFinding, len(fs))
			copy(in, fs)
			for i := range in {
				in[i].TenantID = path.tenant
			}
			sc := &store.VulnScan{TenantID: path.tenant, Scanner: "nuclei", Format: "nuclei", Filename: "s.jsonl", Full: n == 1,
				CreatedBy: "u1"}
			if err := vs.Import(ctx, store.VulnImport{Scan: sc, Findings: in, ReopenStates: []string{"verified-closed",
				"fixed-pending-verification"}, AbsentStates: []string{"new", "confirmed", "reopened"},
				AbsentTo: "fixed-pending-verification", Initial: "new", Reopened: "reopened",
				At: t0.Add(time.Duration(n+1) * 24 * time.Hour)}); err != nil {
				t.Fatalf("import %d: %v", n, err)
			}
			got[p].Scans = append(got[p].Scans, fmt.Sprintf("total %d added %d updated %d reopened %d absent %d", sc.Total,
				sc.Added, sc.Updated, sc.Reopened, sc.Absent))
		}
		got[p].Findings = findingRows(t, path.s.DB(), path.tenant)
		got[p].Events = eventRows(t, path.s.DB(), path.tenant)
	}
	if copies.Load() == 0 {
		t.Fatal("the bulk path copied nothing")
	}
	if len(got[0].Findings) != 5700 {
		t.Fatalf("%d findings, want 5700", len(got[0].Findings))
	}
	if d := cmp.Diff(got[0], got[1]); d != "" {
		t.Fatalf("statement path (-) and COPY path (+) differ:\n%s", d)
	}
}

// findingRows is every column of a tenant's findings but the IDs, as
// JSON, by fingerprint.
func findingRows(t *testing.T, db *sql.DB, tenantID string) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT fingerprint, (to_jsonb(f) - 'id' - 'tenant_id' - 'scan_id')::text
		FROM vuln_findings f WHERE tenant_id = $1`, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]string{}
	for rows.Next() {
		var fp, js string
		if err := rows.Scan(&fp, &js); err != nil {
			t.Fatal(err)
		}
		out[fp] = js
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// eventRows is a tenant's timeline events, by finding fingerprint in
// timeline order, without IDs.
func eventRows(t *testing.T, db *sql.DB, tenantID string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT f.fingerprint, e.at, e.actor_id, e.kind, e.from_state, e.to_state, e.note
		FROM vuln_events e JOIN vuln_findings f ON f.id = e.finding_id WHERE e.tenant_id = $1 ORDER BY f.fingerprint, e.at, e.id`,
		tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var fp, actor, kind, from, to, note string
		var at time.Time
		if err := rows.Scan(&fp, &at, &actor, &kind, &from, &to, &note); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s>%s %s", fp, at.UTC().Format(time.RFC3339Nano), actor, kind, from, to, note))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
