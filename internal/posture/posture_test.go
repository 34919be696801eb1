package posture

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
	"github.com/vigil-sec/vigil/internal/testenv"
)

var now = time.Date(2030, 5, 6, 10, 30, 0, 0, time.UTC)

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tenant(t testing.TB, st store.Store, slug string) store.Tenant {
	t.Helper()
	tn := store.Tenant{Slug: slug, Name: slug}
	must(t, st.Tenants().Create(context.Background(), &tn))
	return tn
}

// seed gives tenant tn a known set of alerts, events, findings and a
// discovery run; the test's expectations count what seed put in.
func seed(t *testing.T, st store.Store, tn store.Tenant) {
	ctx := context.Background()
	open := []string{"new", "acknowledged"}
	raise := func(rule, level, host, status string, seen time.Time) {
		a := store.Alert{TenantID: tn.ID, GroupKey: rule + "|" + host, RuleID: rule, RuleTitle: rule, Level: level,
			Host: host, Status: "new", LastSeen: seen}
		_, err := st.Alerts().Raise(ctx, &a, time.Minute, open, 3)
		must(t, err)
		if status != "new" {
			must(t, st.Alerts().SetStatus(ctx, tn.ID, a.ID, status, "", "u", seen))
		}
	}
	raise("r-crit", "critical", "web-01", "new", now.Add(-time.Hour))
	raise("r-crit", "critical", "web-02", "acknowledged", now.Add(-30*time.Hour))
	raise("r-high", "high", "web-01", "false-positive", now.Add(-2*time.Hour))
	raise("intel:ip:203.0.113.7", "high", "fw-01", "new", now.Add(-3*time.Hour))
	raise("r-med", "medium", "db-01", "closed", now.Add(-48*time.Hour))

	ev := func(id, source, host string, received time.Time) store.Event {
		return store.Event{ID: id, TenantID: tn.ID, Time: received, Received: received, Source: source, Host: host}
	}
	_, err := st.Events().Append(ctx, []store.Event{
		ev("e1", "syslog", "fw-01", now.Add(-50*time.Hour)), // silent since
		ev("e2", "syslog", "web-01", now.Add(-90*time.Minute)),
		ev("e3", "syslog", "web-01", now.Add(-80*time.Minute)),
		ev("e4", "http", "app-01", now.Add(-10*time.Minute)),
	})
	must(t, err)

	f := func(fp, sev string, kev bool, due time.Time) store.VulnFinding {
		return store.VulnFinding{Fingerprint: fp, AssetKey: "10.0.0.1", IP: "10.0.0.1", Scanner: "nuclei", RuleID: fp,
			Title: fp, Severity: sev, KEV: kev, DueAt: due}
	}
	must(t, st.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: tn.ID, Scanner: "nuclei", Format: "nuclei"},
		Findings: []store.VulnFinding{
			f("kev-crit", "critical", true, now.Add(24*time.Hour)),
			f("old-high", "high", false, now.Add(-24*time.Hour)), // overdue
			f("mit-high", "high", false, now.Add(-24*time.Hour)), // mitigated below: neither open nor overdue
			f("med", "medium", false, now.Add(24*time.Hour)),
		}, Initial: "new", Reopened: "reopened", At: now.Add(-72 * time.Hour)}))
	list, err := st.Vulns().List(ctx, tn.ID, store.VulnFilter{Query: "mit-high"})
	must(t, err)
	must(t, st.Vulns().Change(ctx, tn.ID, list[0].ID, store.VulnChange{From: "new", To: "mitigated", ActorID: "u", At: now}))

	for _, a := range []string{"10.0.0.1", "10.0.0.2"} {
		must(t, st.Assets().Create(ctx, &store.Asset{TenantID: tn.ID, Name: a, Kind: "host", Address: a}))
	}
	res := exposure.RunResult{
		Open: []exposure.Port{{Host: "10.0.0.1", Port: 22}, {Host: "10.0.0.1", Port: 3306, Risky: "database exposed"},
			{Host: "10.0.0.9", Port: 23, Risky: "telnet"}},
		New:     []exposure.AssetChange{{Address: "10.0.0.9"}},
		Zombies: []exposure.AssetChange{{Address: "10.0.0.2"}},
	}
	b, err := json.Marshal(res)
	must(t, err)
	done := store.DiscoveryRun{TenantID: tn.ID, Targets: "10.0.0.0/24", Status: "pending"}
	must(t, st.DiscoveryRuns().Create(ctx, &done))
	must(t, st.DiscoveryRuns().Finish(ctx, tn.ID, done.ID, "done", "", b, now.Add(-time.Hour)))
	failed := store.DiscoveryRun{TenantID: tn.ID, Targets: "10.0.0.0/24", Status: "pending"}
	must(t, st.DiscoveryRuns().Create(ctx, &failed))
	must(t, st.DiscoveryRuns().Finish(ctx, tn.ID, failed.ID, "failed", "boom", nil, now))
}

type fakeIncidents struct{}

func (fakeIncidents) OpenByPhase(context.Context, string) (map[string]int, error) {
	return map[string]int{"contain": 2, "detect": 1}, nil
}
func (fakeIncidents) SLABreached(context.Context, string, time.Time) (int, error) { return 1, nil }

func TestTenant(t *testing.T) {
	st := openStore(t)
	a, b := tenant(t, st, "alpha"), tenant(t, st, "beta")
	seed(t, st, a)
	svc := NewService(st, Options{Now: func() time.Time { return now }})
	p, err := svc.Tenant(context.Background(), a.ID)
	must(t, err)

	if d := cmp.Diff(map[string]int{"critical": 2, "high": 1, "medium": 0, "low": 0, "informational": 0}, p.Alerts.Open); d != "" {
		t.Errorf("open alerts (-want +got):\n%s", d)
	}
	check := func(what string, want, got int) {
		t.Helper()
		if want != got {
			t.Errorf("%s = %d, want %d", what, got, want)
		}
	}
	check("alerts last 24h", 3, p.Alerts.Last24h) // web-01 critical, false positive, intel
	check("intel open", 1, p.Alerts.IntelOpen)
	check("events 24h", 3, p.Alerts.Events24h)
	check("hours", 24, len(p.Alerts.EventsHours))
	check("last hour", 1, p.Alerts.EventsHours[23])
	check("open findings", 3, p.Vulns.OpenTotal)
	check("open critical", 1, p.Vulns.Open["critical"])
	check("KEV", 1, p.Vulns.KEV)
	check("overdue", 1, p.Vulns.Overdue)
	check("mitigated", 1, p.Vulns.Mitigated)
	check("assets", 2, p.Exposure.Assets)
	check("unknown", 1, p.Exposure.Unknown)
	check("zombies", 1, p.Exposure.Zombies)
	check("risky", 2, p.Exposure.Risky)
	check("open ports", 3, p.Exposure.Open)
	check("sources", 3, p.Logs.Sources)
	check("silent", 1, p.Logs.Silent)
	if p.Logs.Silent == 1 && p.Logs.SilentList[0].Host != "fw-01" {
		t.Errorf("silent sender %+v", p.Logs.SilentList[0])
	}
	if !p.Incidents.Measured || p.Incidents.Open != 0 {
		t.Errorf("incidents from the empty incident store: %+v", p.Incidents)
	}
	want := Compute(Measures{KEVOpen: 1, CriticalOpen: 1, HighOpen: 1, Overdue: 1, CriticalAlerts: 2, HighAlerts: 1,
		UnknownAssets: 1, ZombieAssets: 1, RiskyServices: 2, SilentSources: 1, BreachedCases: 0})
	if d := cmp.Diff(want, p.Score); d != "" {
		t.Errorf("score (-want +got):\n%s", d)
	}

	// The other tenant sees none of it.
	q, err := svc.Tenant(context.Background(), b.ID)
	must(t, err)
	if q.Score.Value != 100 || q.Alerts.OpenTotal != 0 || q.Vulns.OpenTotal != 0 || q.Exposure.RunID != "" || q.Logs.Sources != 0 {
		t.Errorf("tenant beta sees alpha's data: %+v", q)
	}

	svc.SetIncidents(fakeIncidents{})
	p, err = svc.Tenant(context.Background(), a.ID)
	must(t, err)
	if !p.Incidents.Measured || p.Incidents.Open != 3 || p.Incidents.Breached != 1 || p.Score.Components[4].Penalty != 5 {
		t.Errorf("incidents %+v, component %+v", p.Incidents, p.Score.Components[4])
	}
}

func TestTrend(t *testing.T) {
	st := openStore(t)
	a := tenant(t, st, "alpha")
	clock := now
	svc := NewService(st, Options{Now: func() time.Time { return clock }})
	ctx := context.Background()
	_, err := svc.Record(ctx, a.ID) // clean tenant: 100
	must(t, err)
	seed(t, st, a)
	clock = now.Add(48 * time.Hour)
	p, err := svc.Record(ctx, a.ID)
	must(t, err)
	days, err := svc.Trend(ctx, a.ID, 4)
	must(t, err)
	want := []Day{{Day: "2030-05-05"}, {Day: "2030-05-06", Score: 100, Known: true}, {Day: "2030-05-07"},
		{Day: "2030-05-08", Score: p.Score.Value, Known: true}}
	if d := cmp.Diff(want, days); d != "" {
		t.Errorf("trend (-want +got):\n%s", d)
	}
	must(t, svc.RecordAll(ctx))
	snaps, err := st.Posture().History(ctx, a.ID, "2030-05-08")
	must(t, err)
	var sc Score
	must(t, json.Unmarshal(snaps[0].Breakdown, &sc))
	if len(snaps) != 1 || sc.Value != snaps[0].Score {
		t.Errorf("snapshot %+v", snaps)
	}
}

// benchSize reads a size from the environment.
func benchSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkPosture measures one dashboard computation on a tenant seeded
// with VIGIL_BENCH_EVENTS events (default 100 000), VIGIL_BENCH_FINDINGS
// findings (default 20 000) and VIGIL_BENCH_ASSETS assets (default 2 000,
// each with baseline runs of two policies), on SQLite and, when it is
// reachable, PostgreSQL. Besides the mean it reports the 95th percentile
// of the computations (p95-ms), the CPU of this process per computation
// (cpu-ms/op) and, on PostgreSQL, of the server's backends (pg-cpu-ms/op,
// a local server). With VIGIL_BENCH_NICE=-20 the timed part runs at that
// priority (testenv.ReniceForTiming).
func BenchmarkPosture(b *testing.B) {
	events, findings := benchSize("VIGIL_BENCH_EVENTS", 100_000), benchSize("VIGIL_BENCH_FINDINGS", 20_000)
	assets := benchSize("VIGIL_BENCH_ASSETS", 2_000)
	b.Run("sqlite", func(b *testing.B) { benchPosture(b, openStore(b), events, findings, assets, false) })
	b.Run("postgres", func(b *testing.B) {
		server := testenv.PostgresURL()
		ctx := context.Background()
		name := fmt.Sprintf("vigil_bench_posture_%d", time.Now().UnixNano())
		url, err := postgres.CreateDatabase(ctx, server, name)
		if err != nil {
			b.Skipf("PostgreSQL: %v", err)
		}
		b.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), server, name) })
		st, err := postgres.Open(ctx, url, postgres.Options{})
		must(b, err)
		b.Cleanup(func() { _ = st.Close() })
		benchPosture(b, st, events, findings, assets, true)
	})
}

// seedAsset creates bench asset i with a run of two baseline policies;
// every tenth asset has an older run of each policy too.
func seedAsset(ctx context.Context, st store.Store, tenantID string, i int) error {
	as := store.Asset{TenantID: tenantID, Kind: "host", Name: fmt.Sprintf("host-%05d", i), Address: fmt.Sprintf("10.%d.%d.%d", i/62500, i/250%250, i%250)}
	if err := st.Assets().Create(ctx, &as); err != nil {
		return err
	}
	for p, policy := range []string{"cis_debian12", "cis_nginx"} {
		for h := range 1 + min(1, i%10/9) {
			at := now.Add(-time.Duration(24*h+p) * time.Hour)
			r := store.BaselineRun{TenantID: tenantID, AssetID: as.ID, PolicyID: policy, Source: store.BaselineSourceAgent,
				StartedAt: at, FinishedAt: at, Passed: 30 + i%7, Failed: 10 + i%5, NotApplicable: i % 3}
			if err := st.Baseline().CreateRun(ctx, &r, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func benchPosture(b *testing.B, st store.Store, events, findings, assets int, vacuum bool) {
	start := time.Now()
	tn := tenant(b, st, "bench")
	ctx := context.Background()
	// PostgreSQL takes the assets and their runs from several writers at
	// once; SQLite has one writer.
	workers := 1
	if d, ok := st.(interface{ Driver() string }); ok && d.Driver() == "postgres" {
		workers = 8
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < assets; i += workers {
				if err := seedAsset(ctx, st, tn.ID, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	seeded := time.Now()
	// Events go in through the store's multi-row loader when it has one
	// (same rows and counters as Append, far fewer statements), 50,000 to
	// a transaction.
	loader, bulk := st.Events().(store.EventLoader)
	const batchSize = 50_000
	batch := make([]store.Event, 0, batchSize)
	for i := 0; i < events; i += batchSize {
		batch = batch[:0]
		for j := i; j < min(i+batchSize, events); j++ {
			at := now.Add(-time.Duration(j) * time.Second)
			batch = append(batch, store.Event{ID: fmt.Sprintf("e%08d", j), TenantID: tn.ID, Time: at, Received: at,
				Source: "syslog", Host: fmt.Sprintf("h%03d", j%300), Message: "x"})
		}
		var err error
		if bulk {
			_, err = loader.Load(ctx, batch)
		} else {
			_, err = st.Events().Append(ctx, batch)
		}
		must(b, err)
	}
	b.Logf("%d events seeded in %v", events, time.Since(seeded).Round(time.Millisecond))
	fs := make([]store.VulnFinding, 0, findings)
	for i := range findings {
		fs = append(fs, store.VulnFinding{Fingerprint: fmt.Sprint(i), AssetKey: fmt.Sprintf("10.%d.%d.%d", i/62500, i/250%250, i%250),
			Scanner: "nuclei", RuleID: "r", Title: "t", Severity: VulnSeverities()[i%5], KEV: i%50 == 0, DueAt: now})
	}
	must(b, st.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: tn.ID, Scanner: "nuclei"}, Findings: fs,
		Initial: "new", Reopened: "reopened", At: now}))
	for i := range 2000 {
		a := store.Alert{TenantID: tn.ID, GroupKey: fmt.Sprint(i), RuleID: "r", RuleTitle: "r", Level: AlertLevels()[i%5],
			Status: "new", LastSeen: now.Add(-time.Duration(i) * time.Minute)}
		_, err := st.Alerts().Raise(ctx, &a, time.Minute, []string{"new"}, 3)
		must(b, err)
	}
	b.Logf("tenant seeded in %v", time.Since(start).Round(time.Millisecond))
	if vacuum {
		// What autovacuum does to a table soon after a bulk load: until
		// then PostgreSQL's index-only counts visit every row.
		db, ok := st.(interface{ DB() *sql.DB })
		if !ok {
			b.Fatal("no database handle to vacuum")
		}
		_, err := db.DB().ExecContext(ctx, "VACUUM ANALYZE")
		must(b, err)
	}
	svc := NewService(st, Options{Now: func() time.Time { return now }})
	// One computation before timing opens the pool's connections, whose
	// backends are reniced (VIGIL_BENCH_NICE) and measured.
	if _, err := svc.Tenant(ctx, tn.ID); err != nil {
		b.Fatal(err)
	}
	var pids []int
	if vacuum { // PostgreSQL
		pids = testenv.PostgresBackendPIDs(b, st.(interface{ DB() *sql.DB }).DB())
	}
	testenv.ReniceForTiming(b, pids)
	var took []time.Duration
	cpu, srv := processCPU(), testenv.PidsCPU(pids)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := svc.Tenant(ctx, tn.ID); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)*95+99)/100-1].Microseconds())/1000, "p95-ms")
	// CPU of this process (SQLite runs in it; PostgreSQL's server does
	// not): what a loaded machine's wall times hide.
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/1000/float64(len(took)), "cpu-ms/op")
	if vacuum {
		// CPU of the server's backends (a local server, read from /proc).
		b.ReportMetric(float64((testenv.PidsCPU(pids)-srv).Microseconds())/1000/float64(len(took)), "pg-cpu-ms/op")
	}
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBaselineTile sums the latest run of each policy on each asset: an
// older run of a policy is superseded, another tenant's runs are not
// counted, and a tenant without runs has no score (not 0 %).
func TestBaselineTile(t *testing.T) {
	st := openStore(t)
	a, b := tenant(t, st, "alpha"), tenant(t, st, "beta")
	ctx := context.Background()
	asset := func(tn store.Tenant, name string) store.Asset {
		t.Helper()
		as := store.Asset{TenantID: tn.ID, Kind: "host", Name: name}
		must(t, st.Assets().Create(ctx, &as))
		return as
	}
	web, db, other := asset(a, "web-01"), asset(a, "db-01"), asset(b, "web-09")
	run := func(as store.Asset, policy string, hour, passed, failed, na int) {
		t.Helper()
		at := now.Add(time.Duration(hour) * time.Hour)
		r := store.BaselineRun{TenantID: as.TenantID, AssetID: as.ID, PolicyID: policy, Source: store.BaselineSourceAgent,
			StartedAt: at, FinishedAt: at, Passed: passed, Failed: failed, NotApplicable: na}
		must(t, st.Baseline().CreateRun(ctx, &r, nil))
	}
	run(web, "cis_debian12", -48, 10, 30, 0) // superseded by the next run of the policy
	run(web, "cis_debian12", -24, 30, 10, 5)
	run(web, "cis_nginx", -24, 8, 2, 0)
	run(db, "cis_mysql", -1, 2, 8, 1)
	run(other, "cis_debian12", -1, 1, 99, 0)
	svc := NewService(st, Options{Now: func() time.Time { return now }})
	p, err := svc.Tenant(ctx, a.ID)
	must(t, err)
	// Latest runs: 30/10, 8/2 and 2/8 → 40 passed, 20 failed → 66.67 %.
	want := Baseline{Assets: 2, Runs: 3, Passed: 40, Failed: 20, Score: 100 * 40.0 / 60.0, Scored: true}
	if d := cmp.Diff(want, p.Baseline); d != "" {
		t.Errorf("baseline tile (-want +got):\n%s", d)
	}
	empty, err := svc.Tenant(ctx, tenant(t, st, "gamma").ID)
	must(t, err)
	if empty.Baseline.Scored || empty.Baseline.Runs != 0 {
		t.Errorf("a tenant without runs: %+v", empty.Baseline)
	}
}
