// Command vuln-bench measures Vigil's vulnerability import on generated
// scanner output: nuclei JSON lines and Trivy JSON reports for a fleet of
// assets (1,000,000 findings over 50,000 assets by default), imported
// through lifecycle.Service.Import — the path of the page, the API and
// 'vigil vuln import' — into a fresh SQLite file or PostgreSQL database.
// It prints findings per second and peak RSS for the first import and for
// a full rescan (the dedupe path: updates, new findings, absent ones),
// checks the import's counters against what the generator wrote, and then
// times the store queries of the findings page (list + count with the
// UI's filters, the severity summary and the latest scans), printing p50
// and p95 per query shape. It asserts nothing beyond the counters.
//
//	go run ./bench/vuln -driver sqlite
//	go run ./bench/vuln -driver postgres -pg postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// With -profile DIR it writes import.pprof, reimport.pprof and
// queries.pprof for `go tool pprof -top`. With -keep the database stays,
// and -reuse runs the queries alone on it again; -only REGEXP runs the
// query shapes whose name matches (e.g. -only text for the text searches:
// a CVE id, a title word, an asset key, a rule ID, text found nowhere, and
// two-character text, which is shorter than a trigram and so a scan).
// -setup FILE runs the file's SQL statements, one a line, on the fresh
// database before the import (e.g. DROP INDEX …), to measure what an
// index or trigger costs.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

type config struct {
	driver    string
	pg        string
	findings  int
	assets    int
	perFile   int
	queries   int
	budget    time.Duration
	inventory bool
	rescan    bool
	profile   string
	keep      bool
	reuse     string
	only      *regexp.Regexp
	setup     string
}

func main() {
	var c config
	flag.StringVar(&c.driver, "driver", "sqlite", "store driver: sqlite or postgres")
	flag.StringVar(&c.pg, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL server (a fresh database is created on it and dropped at the end)")
	flag.IntVar(&c.findings, "findings", 1_000_000, "findings of the first import")
	flag.IntVar(&c.assets, "assets", 50_000, "assets they are spread over (half nuclei hosts, half Trivy images)")
	flag.IntVar(&c.perFile, "per-file", 1000, "assets per scan file")
	flag.IntVar(&c.queries, "queries", 200, "queries per query shape")
	flag.DurationVar(&c.budget, "query-budget", 60*time.Second, "time limit per query shape (fewer queries when reached)")
	flag.BoolVar(&c.inventory, "inventory", true, "put the assets in the tenant's inventory first, so findings link to them")
	flag.BoolVar(&c.rescan, "rescan", true, "import a full rescan after the first import (false: the queries run after the first)")
	flag.StringVar(&c.profile, "profile", "", "directory to write CPU profiles to")
	flag.BoolVar(&c.keep, "keep", false, "keep the generated files and the database")
	flag.StringVar(&c.reuse, "reuse", "", "run only the queries, on the SQLite file or PostgreSQL database URL of an earlier run")
	only := flag.String("only", "", "run only the query shapes whose name matches this regular expression")
	flag.StringVar(&c.setup, "setup", "", "a file of SQL statements (one a line) run on the fresh database before the import,\n"+
		"to measure what an index or trigger costs (e.g. DROP INDEX ...)")
	flag.Parse()
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vuln-bench: -only:", err)
			os.Exit(2)
		}
		c.only = re
	}
	// An interrupt cancels the run, which still removes its files and
	// database.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vuln-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) (err error) {
	if c.findings <= 0 || c.assets < 2 || c.perFile <= 0 || c.findings < c.assets || c.queries <= 0 {
		return errors.New("-findings, -assets, -per-file and -queries must be positive, with at least as many findings as assets")
	}
	g := genConfig{assets: c.assets, perAsset: c.findings / c.assets, perFile: c.perFile}
	fmt.Printf("vuln-bench: %s, %d findings (%d per asset) over %d assets, %d assets per file, GOMAXPROCS=%d, %s\n",
		c.driver, g.assets*g.perAsset, g.perAsset, g.assets, g.perFile, runtime.GOMAXPROCS(0), runtime.Version())

	if c.reuse != "" {
		return reuse(ctx, c)
	}
	dir, err := os.MkdirTemp("", "vigil-bench-vuln-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Println("files and database kept in", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}

	st, srv, closeStore, err := openStore(ctx, c, dir)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeStore(); err == nil {
			err = cerr
		}
	}()
	if c.setup != "" {
		if err := runSetup(ctx, c, dir, srv); err != nil {
			return err
		}
	}

	// The tenant, an admin acting in it, the KEV catalogue and the clock.
	ten := store.Tenant{Slug: "bench", Name: "Bench"}
	if err := st.Tenants().Create(ctx, &ten); err != nil {
		return err
	}
	actx := auth.WithPrincipal(ctx, &auth.Principal{UserID: "bench", Username: "bench", GlobalRole: auth.RoleAdmin})
	kj, err := kevJSON()
	if err != nil {
		return err
	}
	kev, err := enrich.LoadKEV(bytes.NewReader(kj), enrich.Options{})
	if err != nil {
		return err
	}
	clock := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	svc := lifecycle.NewService(st, audit.New(st.Audit(), audit.Options{}), lifecycle.Options{KEV: kev,
		Now: func() time.Time { return clock }})

	if c.inventory {
		t0 := time.Now()
		workers := 1
		if c.driver == "postgres" {
			workers = 16
		}
		if err := seedInventory(ctx, st, ten.ID, g, workers); err != nil {
			return err
		}
		fmt.Printf("inventory: %d assets in %.1fs\n", g.assets, time.Since(t0).Seconds())
	}

	// Round 1: every finding is new.
	t0 := time.Now()
	paths, want, err := g.write(dir, 1)
	if err != nil {
		return err
	}
	fmt.Printf("generated round 1: %d files, %d findings, %.1f MiB in %.1fs\n", want.files, want.total, mib(sizeOf(paths)), time.Since(t0).Seconds())
	got, r, err := importAll(actx, svc, ten.ID, paths, c.profile, "import", srv)
	if err != nil {
		return err
	}
	r.print("import (all new)", want.total)
	check("import", [4]int{want.total, want.total, 0, 0}, got)
	removeAll(paths)

	// Round 2, a day later: a full rescan that no longer sees ~2 % of the
	// findings and sees new ones on every tenth asset.
	clock = clock.Add(24 * time.Hour)
	if !c.rescan {
		clock = clock.Add(44 * 24 * time.Hour)
		return queries(actx, svc, ten.ID, c)
	}
	paths, want2, err := g.write(dir, 2)
	if err != nil {
		return err
	}
	got, r, err = importAll(actx, svc, ten.ID, paths, c.profile, "reimport", srv)
	if err != nil {
		return err
	}
	r.print("reimport (full rescan: dedupe, new, absent)", want2.total)
	check("reimport", [4]int{want2.total, want2.added, want2.kept, want2.dropped}, got)
	removeAll(paths)

	// The findings page, 45 days after the first import: critical and
	// high findings are overdue.
	clock = clock.Add(44 * 24 * time.Hour)
	return queries(actx, svc, ten.ID, c)
}

// reuse runs the queries on the database of an earlier run, 45 days after
// its first import.
func reuse(ctx context.Context, c config) error {
	var (
		st  store.Store
		err error
	)
	if c.driver == "postgres" {
		st, err = postgres.Open(ctx, c.reuse, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, c.reuse, sqlite.Options{})
	}
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	ten, err := st.Tenants().GetBySlug(ctx, "bench")
	if err != nil {
		return err
	}
	actx := auth.WithPrincipal(ctx, &auth.Principal{UserID: "bench", Username: "bench", GlobalRole: auth.RoleAdmin})
	clock := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).Add(45 * 24 * time.Hour)
	svc := lifecycle.NewService(st, audit.New(st.Audit(), audit.Options{}), lifecycle.Options{Now: func() time.Time { return clock }})
	n, err := st.Vulns().Count(actx, ten.ID, store.VulnFilter{})
	if err != nil {
		return err
	}
	fmt.Printf("reusing a database with %d findings\n", n)
	return queries(actx, svc, ten.ID, c)
}

// openStore opens the benchmark's store and, on PostgreSQL, what measures
// the server's CPU time.
func openStore(ctx context.Context, c config, dir string) (store.Store, *serverCPU, func() error, error) {
	switch c.driver {
	case "sqlite":
		st, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{})
		if err != nil {
			return nil, nil, nil, err
		}
		return st, nil, st.Close, nil
	case "postgres":
		b := make([]byte, 6)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, nil, err
		}
		name := "vigil_bench_vuln_" + hex.EncodeToString(b)
		dbURL, err := postgres.CreateDatabase(ctx, c.pg, name)
		if err != nil {
			return nil, nil, nil, err
		}
		st, err := postgres.Open(ctx, dbURL, postgres.Options{})
		if err != nil {
			_ = postgres.DropDatabase(ctx, c.pg, name)
			return nil, nil, nil, err
		}
		srv, err := newServerCPU(ctx, dbURL)
		if err != nil {
			_ = st.Close()
			_ = postgres.DropDatabase(ctx, c.pg, name)
			return nil, nil, nil, err
		}
		return st, srv, func() error {
			err := errors.Join(srv.close(), st.Close())
			if c.keep {
				fmt.Println("database kept:", name)
				return err
			}
			return errors.Join(err, postgres.DropDatabase(context.Background(), c.pg, name))
		}, nil
	}
	return nil, nil, nil, fmt.Errorf("-driver must be sqlite or postgres, not %q", c.driver)
}

// seedInventory creates the hosts and images the findings are on, with
// several writers on PostgreSQL (one commit per asset is slow there).
func seedInventory(ctx context.Context, st store.Store, tenantID string, g genConfig, workers int) error {
	half := g.assets / 2
	next := make(chan int)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var err error
			for i := range next {
				if err != nil {
					continue
				}
				a := store.Asset{TenantID: tenantID, Kind: "host", Name: hostOf(i), Address: ipOf(i), Importance: 1 + i%5}
				if i >= half {
					a = store.Asset{TenantID: tenantID, Kind: "application", Name: imageOf(i), Importance: 1 + i%5}
				}
				if i%7 == 0 {
					a.Tags = []string{"internet-facing"}
				}
				if cerr := st.Assets().Create(ctx, &a); cerr != nil {
					err = fmt.Errorf("inventory: %w", cerr)
				}
			}
			errs <- err
		}()
	}
	for i := range g.assets {
		next <- i
	}
	close(next)
	var err error
	for range workers {
		err = errors.Join(err, <-errs)
	}
	return err
}

// importAll imports the files one by one, as full scans, and sums the
// scans' counters: total, added, updated, absent.
func importAll(ctx context.Context, svc *lifecycle.Service, tenantID string, paths []string, profile, name string,
	srv *serverCPU) ([4]int, result, error) {
	var sum [4]int
	var ierr error
	r := measure(profile, name, srv, func() {
		start := time.Now()
		for i, p := range paths {
			if i > 0 && i%10 == 0 {
				el := time.Since(start)
				fmt.Printf("  %s: %d of %d files, %d findings in %.0fs (%.0f findings/s)\n", name, i, len(paths), sum[0],
					el.Seconds(), float64(sum[0])/el.Seconds())
			}
			data, err := os.ReadFile(p) // #nosec G304 -- a file the bench wrote
			if err != nil {
				ierr = err
				return
			}
			sc, err := svc.Import(ctx, tenantID, lifecycle.ImportInput{Filename: filepath.Base(p), Data: data, Full: true})
			if err != nil {
				ierr = err
				return
			}
			if sc.Reopened != 0 {
				ierr = fmt.Errorf("%s: %d findings reopened, none expected", p, sc.Reopened)
				return
			}
			sum[0] += sc.Total
			sum[1] += sc.Added
			sum[2] += sc.Updated
			sum[3] += sc.Absent
		}
	})
	return sum, r, ierr
}

func check(what string, want, got [4]int) {
	verdict := "as generated"
	if want != got {
		verdict = fmt.Sprintf("MISMATCH: the generator wrote total/new/seen again/left out %v", want)
	}
	fmt.Printf("  counters: total %d, added %d, updated %d, absent %d (%s)\n", got[0], got[1], got[2], got[3], verdict)
}

// shape is one query of the findings page.
type shape struct {
	name string
	run  func(ctx context.Context) error
}

func queries(ctx context.Context, svc *lifecycle.Service, tenantID string, c config) error {
	const page = 50 // the page's size
	list := func(f lifecycle.Filter) func(ctx context.Context) error {
		if f.Limit == 0 {
			f.Limit = page
		}
		return func(ctx context.Context) error {
			rows, _, err := svc.List(ctx, tenantID, f)
			if err == nil && len(rows) == 0 {
				err = fmt.Errorf("no rows for %+v", f)
			}
			return err
		}
	}
	shapes := []shape{
		{"list+count, default filters (all states)", list(lifecycle.Filter{})},
		{"list+count, default filters, page 20", list(lifecycle.Filter{Page: store.Page{Limit: page, Offset: 19 * page}})},
		{"list+count, state=open", list(lifecycle.Filter{State: "open"})},
		{"list+count, state=fixed-pending-verification", list(lifecycle.Filter{State: lifecycle.StateFixedPending})},
		{"list+count, severity=critical", list(lifecycle.Filter{Severity: "critical"})},
		{"list+count, state=open severity=high", list(lifecycle.Filter{State: "open", Severity: "high"})},
		{"list+count, KEV", list(lifecycle.Filter{KEV: true})},
		{"list+count, overdue", list(lifecycle.Filter{Overdue: true})},
		{"list+count, text (a CVE id)", list(lifecycle.Filter{Query: kevCVE(3)})},
		{"list+count, text (a title word)", list(lifecycle.Filter{Query: "traversal"})},
		{"list+count, text (a common word, 10 %)", list(lifecycle.Filter{Query: "injection"})},
		{"list+count, text (in every finding)", list(lifecycle.Filter{Query: "bench"})},
		{"list+count, text (an asset key)", list(lifecycle.Filter{Query: ipOf(123)})},
		{"list+count, text (a rule ID)", list(lifecycle.Filter{Query: "bench-tpl-123"})},
		{"list+count, text matching nothing", func(ctx context.Context) error {
			_, _, err := svc.List(ctx, tenantID, lifecycle.Filter{Query: "no-such-finding", Page: store.Page{Limit: page}})
			return err
		}},
		// Two characters are shorter than a trigram: a scan, not an index
		// read.
		{"list+count, text of two characters", list(lifecycle.Filter{Query: "-1"})},
		{"list+count, text of two characters matching nothing", func(ctx context.Context) error {
			_, _, err := svc.List(ctx, tenantID, lifecycle.Filter{Query: "zz", Page: store.Page{Limit: page}})
			return err
		}},
		// The count stops at 10,000 (a total shown as "10,000+").
		{"list+count up to 10,000, default filters", list(lifecycle.Filter{CountLimit: 10000})},
		{"list+count up to 10,000, state=open", list(lifecycle.Filter{State: "open", CountLimit: 10000})},
		{"list+count up to 10,000, text (in every finding)", list(lifecycle.Filter{Query: "bench", CountLimit: 10000})},
		{"list+count up to 10,000, text of two characters", list(lifecycle.Filter{Query: "-1", CountLimit: 10000})},
		{"severity summary (open counts)", func(ctx context.Context) error {
			_, err := svc.Summary(ctx, tenantID)
			return err
		}},
		{"latest scans", func(ctx context.Context) error {
			_, err := svc.Scans(ctx, tenantID, store.Page{Limit: 5})
			return err
		}},
		{"whole page, default filters", func(ctx context.Context) error {
			if err := list(lifecycle.Filter{})(ctx); err != nil {
				return err
			}
			if _, err := svc.Summary(ctx, tenantID); err != nil {
				return err
			}
			_, err := svc.Scans(ctx, tenantID, store.Page{Limit: 5})
			return err
		}},
	}
	if c.only != nil {
		shapes = slices.DeleteFunc(shapes, func(s shape) bool { return !c.only.MatchString(s.name) })
	}
	if !c.rescan && c.reuse == "" {
		// Without the rescan no finding is fixed-pending-verification.
		shapes = slices.DeleteFunc(shapes, func(s shape) bool { return strings.Contains(s.name, lifecycle.StateFixedPending) })
	}
	fmt.Printf("findings page queries (up to %d each, %s budget per shape):\n", c.queries, c.budget)
	var stop func()
	if c.profile != "" {
		stop = startProfile(c.profile, "queries")
	}
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for _, s := range shapes {
		if err := s.run(ctx); err != nil { // warm-up, and a check that it works
			return fmt.Errorf("%s: %w", s.name, err)
		}
		var d []time.Duration
		start, cpu0 := time.Now(), cpuTime()
		for len(d) < c.queries && time.Since(start) < c.budget {
			t0 := time.Now()
			if err := s.run(ctx); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			d = append(d, time.Since(t0))
		}
		cpu := (cpuTime() - cpu0) / time.Duration(len(d))
		slices.Sort(d)
		fmt.Printf("  %-50s n=%-4d p50 %8s  p95 %8s  max %8s  (CPU of this process %s a query)\n", s.name, len(d),
			ms(pct(d, 50)), ms(pct(d, 95)), ms(d[len(d)-1]), ms(cpu))
	}
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	return d[max(0, min(i, len(d))-1)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + "ms"
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func sizeOf(paths []string) int64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func removeAll(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}

type result struct {
	wall, cpu time.Duration
	server    time.Duration // the PostgreSQL backends' CPU, 0 when unknown
	peakRSS   int64         // bytes, 0 when unknown
}

func (r result) print(what string, n int) {
	line := fmt.Sprintf("%-45s %8d findings  %7.1fs  %8.0f findings/s  %5.1f s per million",
		what, n, r.wall.Seconds(), float64(n)/r.wall.Seconds(), r.wall.Seconds()*1e6/float64(n))
	if r.cpu > 0 {
		line += fmt.Sprintf("  CPU %.1fs", r.cpu.Seconds())
	}
	if r.server > 0 {
		line += fmt.Sprintf("  server CPU %.1fs", r.server.Seconds())
	}
	if r.peakRSS > 0 {
		line += fmt.Sprintf("  peak RSS %.0f MiB", mib(r.peakRSS))
	}
	fmt.Println(line)
}

// measure times f, with its CPU time, the PostgreSQL backends' CPU time
// (srv, when set) and the process's peak RSS during it, profiling it into
// dir/name.pprof when dir is set.
func measure(dir, name string, srv *serverCPU, f func()) result {
	var stop func()
	if dir != "" {
		stop = startProfile(dir, name)
	}
	runtime.GC()
	resetPeakRSS()
	srv.start()
	c0, t0 := cpuTime(), time.Now()
	f()
	r := result{wall: time.Since(t0), cpu: cpuTime() - c0, server: srv.since(), peakRSS: peakRSS()}
	if stop != nil {
		stop()
	}
	return r
}

func startProfile(dir, name string) func() {
	pf, err := os.Create(filepath.Join(dir, name+".pprof")) // #nosec G304 -- operator-chosen directory
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return nil
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		_ = pf.Close()
		return nil
	}
	return func() { pprof.StopCPUProfile(); _ = pf.Close() }
}
