package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/vigil-sec/vigil/internal/store"
)

// postureTotalsVersion is the migration that adds the dashboard's running
// totals.
const postureTotalsVersion = 56

// TestPostureTotalsBackfill runs migration 00056 over findings and
// baseline runs stored before it: the totals it fills in equal figures
// worked out by hand.
func TestPostureTotalsBackfill(t *testing.T) {
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
	if _, err := p.UpTo(ctx, postureTotalsVersion-1); err != nil {
		t.Fatal(err)
	}
	const now = `'2030-05-06T12:00:00.000000Z'`
	setup := []string{
		`INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t-a', 'a', 'A', {now}, {now})`,
		`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-1', 't-a', 'host', 'h1', '', {now}, {now})`,
		`INSERT INTO assets (id, tenant_id, kind, name, address, created_at, updated_at) VALUES ('a-2', 't-a', 'host', 'h2', '', {now}, {now})`,
	}
	for i, f := range []struct {
		state, sev string
		rank, kev  int
		due        string
	}{
		{"new", "critical", 4, 1, `'2030-05-01T00:00:00.000000Z'`},
		{"new", "high", 3, 0, `'2030-05-06T11:00:00.000000Z'`},
		{"new", "high", 3, 0, `'2030-05-06T13:00:00.000000Z'`},
		{"closed", "low", 1, 1, `'2030-05-01T00:00:00.000000Z'`},
		{"reopened", "info", 0, 0, `NULL`},
	} {
		setup = append(setup, `INSERT INTO vuln_findings (id, tenant_id, fingerprint, scanner, title, severity, severity_rank, kev, state,
			state_at, due_at, first_seen, last_seen, updated_at) VALUES ('f-`+string(rune('a'+i))+`', 't-a', 'fp-`+string(rune('a'+i))+
			`', 'nuclei', 't', '`+f.sev+`', `+string(rune('0'+f.rank))+`, `+string(rune('0'+f.kev))+`, '`+f.state+`', {now}, `+f.due+
			`, {now}, {now}, {now})`)
	}
	for i, r := range []struct{ asset, policy, finished, passed, failed string }{
		{"a-1", "p1", "'2030-05-01T00:00:00.000000Z'", "1", "9"}, // superseded
		{"a-1", "p1", "'2030-05-02T00:00:00.000000Z'", "7", "3"},
		{"a-1", "p2", "'2030-05-02T00:00:00.000000Z'", "5", "5"},
		{"a-2", "p1", "'2030-05-03T00:00:00.000000Z'", "2", "1"},
	} {
		setup = append(setup, `INSERT INTO baseline_runs (id, tenant_id, asset_id, policy_id, source, started_at, finished_at, passed, failed)
			VALUES ('r-`+string(rune('a'+i))+`', 't-a', '`+r.asset+`', '`+r.policy+`', 'agent', `+r.finished+`, `+r.finished+`, `+
			r.passed+`, `+r.failed+`)`)
	}
	for _, q := range setup {
		if _, err := db.ExecContext(ctx, replaceNow(q, now)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st := open(t, path) // migrates the rest
	at := time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC)
	openStates := []string{"new", "reopened"}
	got, err := st.Posture().VulnTally(ctx, "t-a", store.VulnTallyQuery{Open: openStates, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	// By hand: open KEV is the critical one; overdue the critical (due
	// 1 May) and the high due at 11:00 today, not the one due at 13:00
	// nor the closed one.
	want := store.VulnTally{ByState: map[[2]string]int{{"new", "critical"}: 1, {"new", "high"}: 2, {"closed", "low"}: 1,
		{"reopened", "info"}: 1}, KEVOpen: 1, Overdue: 2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("vulnerability tally after the migration (-want +got):\n%s", d)
	}
	totals, err := st.Baseline().LatestTotals(ctx, "t-a")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(store.BaselineTotals{Assets: 2, Runs: 3, Passed: 14, Failed: 9}, totals); d != "" {
		t.Errorf("baseline totals after the migration (-want +got):\n%s", d)
	}
}
