package storetest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testPostureTotals checks the running totals behind the dashboard's
// vulnerability and baseline tiles (kept by triggers) against direct
// counts after a random mix of imports, full rescans, state changes,
// deletes of findings, baseline runs, corrected run counts and asset
// deletes, in two tenants, one of which is deleted at the end.
func testPostureTotals(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	rng := rand.New(rand.NewPCG(8, 18)) // #nosec G404 -- test data
	open := []string{"new", "confirmed", "reopened"}
	states := append(append([]string{}, open...), "mitigated", "closed", "false-positive")
	sevs := []string{"critical", "high", "medium", "low", "info", "unknown"}
	// now is mid-day, so some findings are due earlier today (overdue)
	// and some later today (not yet).
	now := time.Date(2030, 5, 6, 12, 30, 0, 0, time.UTC)
	dues := []time.Time{{}, now.Add(-72 * time.Hour), now.Add(-25 * time.Hour), now.Add(-3 * time.Hour),
		now.Add(-time.Microsecond), now, now.Add(time.Hour), now.Add(48 * time.Hour)}
	db, hasDB := s.(interface{ DB() *sql.DB })
	exec := func(q string, args ...any) {
		t.Helper()
		if s.Driver() == "postgres" {
			n := 0
			q = rebindDollar(q, &n)
		}
		_, err := db.DB().ExecContext(ctx, q, args...)
		ok(t, err)
	}

	check := func(what string, tenants ...store.Tenant) {
		t.Helper()
		for _, tn := range tenants {
			got, err := s.Posture().VulnTally(ctx, tn.ID, store.VulnTallyQuery{Open: open, Now: now})
			ok(t, err)
			by, err := s.Vulns().CountBy(ctx, tn.ID)
			ok(t, err)
			kev, err := s.Vulns().Count(ctx, tn.ID, store.VulnFilter{States: open, KEV: true})
			ok(t, err)
			overdue, err := s.Vulns().Count(ctx, tn.ID, store.VulnFilter{Overdue: true, OpenStates: open, Now: now})
			ok(t, err)
			same(t, what+": vulnerability tally of "+tn.Slug, store.VulnTally{ByState: by, KEVOpen: kev, Overdue: overdue}, got)

			totals, err := s.Baseline().LatestTotals(ctx, tn.ID)
			ok(t, err)
			latest, err := s.Baseline().LatestRuns(ctx, tn.ID)
			ok(t, err)
			want := store.BaselineTotals{Runs: len(latest)}
			assets := map[string]bool{}
			for _, r := range latest {
				assets[r.AssetID] = true
				want.Passed += r.Passed
				want.Failed += r.Failed
			}
			want.Assets = len(assets)
			same(t, what+": baseline totals of "+tn.Slug, want, totals)
		}
	}
	check("empty", a, b)

	fingerprints := 60
	scanners := []string{"nuclei", "zap"}
	imports := func(tn store.Tenant, round int) {
		t.Helper()
		n := 1 + rng.IntN(25)
		fs := make([]store.VulnFinding, 0, n)
		scanner := scanners[rng.IntN(len(scanners))]
		for range n {
			i := rng.IntN(fingerprints)
			fs = append(fs, store.VulnFinding{Fingerprint: scanner + "-" + strconv.Itoa(i), AssetKey: "10.0.0." + strconv.Itoa(i%7),
				Scanner: scanner, RuleID: "r" + strconv.Itoa(i), Title: "finding " + strconv.Itoa(i), Severity: sevs[rng.IntN(len(sevs))],
				KEV: rng.IntN(4) == 0, DueAt: dues[rng.IntN(len(dues))]})
		}
		ok(t, s.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: tn.ID, Scanner: scanner, Full: rng.IntN(3) == 0},
			Findings: fs, ReopenStates: []string{"mitigated", "closed"}, AbsentStates: open, AbsentTo: "closed", Initial: "new",
			Reopened: "reopened", At: now.Add(time.Duration(round) * time.Minute)}))
	}
	changes := func(tn store.Tenant) {
		t.Helper()
		list, err := s.Vulns().List(ctx, tn.ID, store.VulnFilter{Page: store.Page{Limit: 500}})
		ok(t, err)
		for range min(len(list), 1+rng.IntN(6)) {
			f := list[rng.IntN(len(list))]
			ok(t, s.Vulns().Change(ctx, tn.ID, f.ID, store.VulnChange{From: f.State, To: states[rng.IntN(len(states))], At: now}))
			list, err = s.Vulns().List(ctx, tn.ID, store.VulnFilter{Page: store.Page{Limit: 500}})
			ok(t, err)
		}
		if hasDB && len(list) > 0 && rng.IntN(3) == 0 {
			f := list[rng.IntN(len(list))]
			exec(`DELETE FROM vuln_findings WHERE tenant_id = ? AND id = ?`, tn.ID, f.ID)
		}
	}
	assetsOf := map[string][]store.Asset{}
	runs := func(tn store.Tenant, round int) {
		t.Helper()
		if len(assetsOf[tn.ID]) < 5 || rng.IntN(4) == 0 {
			assetsOf[tn.ID] = append(assetsOf[tn.ID], mkAsset(t, s, tn.ID, fmt.Sprintf("%s-host-%d", tn.Slug, round)))
		}
		as := assetsOf[tn.ID]
		for range 1 + rng.IntN(3) {
			asset := as[rng.IntN(len(as))]
			// Finished at a random earlier or later time: an older run
			// does not replace the latest.
			fin := now.Add(time.Duration(rng.IntN(200)-100) * time.Hour)
			r := store.BaselineRun{TenantID: tn.ID, AssetID: asset.ID, PolicyID: []string{"cis_debian12", "cis_nginx", "ssh"}[rng.IntN(3)],
				Source: store.BaselineSourceAgent, StartedAt: fin, FinishedAt: fin, Passed: rng.IntN(50), Failed: rng.IntN(20)}
			ok(t, s.Baseline().CreateRun(ctx, &r, nil))
			if hasDB && rng.IntN(4) == 0 {
				// A corrected count (the update trigger of baseline_latest).
				exec(`UPDATE baseline_runs SET passed = ?, failed = ? WHERE tenant_id = ? AND id = ?`,
					rng.IntN(50), rng.IntN(20), tn.ID, r.ID)
			}
		}
		if rng.IntN(6) == 0 && len(as) > 1 {
			i := rng.IntN(len(as))
			ok(t, s.Assets().Delete(ctx, tn.ID, as[i].ID))
			assetsOf[tn.ID] = append(as[:i:i], as[i+1:]...)
		}
	}
	for round := range 40 {
		tn := []store.Tenant{a, b}[rng.IntN(2)]
		switch rng.IntN(3) {
		case 0:
			imports(tn, round)
		case 1:
			changes(tn)
		default:
			runs(tn, round)
		}
		check(fmt.Sprintf("round %d", round), a, b)
	}

	// The mix left something to count: the test is not one of empty sums.
	final, err := s.Posture().VulnTally(ctx, a.ID, store.VulnTallyQuery{Open: open, Now: now})
	ok(t, err)
	totals, err := s.Baseline().LatestTotals(ctx, a.ID)
	ok(t, err)
	if len(final.ByState) < 3 || final.KEVOpen == 0 || final.Overdue == 0 || totals.Assets < 2 || totals.Runs < 3 {
		t.Fatalf("too little left to count: %+v, %+v", final, totals)
	}
	t.Logf("alpha: %+v, %+v", final, totals)

	// Deleting a tenant takes its totals along and leaves the other's.
	ok(t, s.Tenants().Delete(ctx, b.ID))
	check("after deleting beta", a)
	if hasDB {
		var n int
		q := `SELECT (SELECT COUNT(*) FROM vuln_tallies WHERE tenant_id = ?) + (SELECT COUNT(*) FROM vuln_due_tallies WHERE tenant_id = ?)
			+ (SELECT COUNT(*) FROM baseline_totals WHERE tenant_id = ?)`
		if s.Driver() == "postgres" {
			c := 0
			q = rebindDollar(q, &c)
		}
		ok(t, db.DB().QueryRowContext(ctx, q, b.ID, b.ID, b.ID).Scan(&n))
		if n != 0 {
			t.Fatalf("a deleted tenant keeps %d totals rows", n)
		}
	}
}

// rebindDollar numbers the ? placeholders of q as $1, $2, ... from *n on.
func rebindDollar(q string, n *int) string {
	var sb strings.Builder
	for _, c := range q {
		if c == '?' {
			*n++
			sb.WriteString("$" + strconv.Itoa(*n))
			continue
		}
		sb.WriteRune(c)
	}
	return sb.String()
}
