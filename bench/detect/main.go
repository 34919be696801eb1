// Command detect-bench measures Vigil's Sigma engine, the one `vigil
// detect` runs, on the SigmaHQ corpus: the full rule set (rules/,
// rules-emerging-threats/, rules-threat-hunting/, through the default
// processing pipeline as `vigil detect` loads them) against the corpus's
// regression events replicated to -events. Each event is decoded from its
// JSON once, before timing; a timed event is detect.NewEvent (flattening
// and lower-casing the fields) plus Engine.Match, the work `vigil detect`
// does per line after JSON decoding. The JSON decoding is measured
// separately.
//
// It prints events per second on one core (GOMAXPROCS=1) and on all
// cores, and in the same run the naive path (every rule evaluated on
// every event, no logsource index, no prefilter) on the first
// -naive-events events, with the ratio. It also checks that both paths
// return the same rules for every event of the naive sample. It asserts
// nothing about speed. With -profile DIR it writes one.pprof (the one-core
// phase) and raw.pprof (the one-core Engine.MatchRaw phase, the event
// built in recycled storage as internal/pipeline matches) for
// `go tool pprof -top`.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
)

type config struct {
	sigma       string
	events      int
	naiveEvents int
	rounds      int
	profile     string
}

func main() {
	var c config
	flag.StringVar(&c.sigma, "sigma", "../../../shared/corpus/sigma", "SigmaHQ corpus (rules/, rules-emerging-threats/, rules-threat-hunting/, regression_data/)")
	flag.IntVar(&c.events, "events", 100_000, "regression events replicated to this many")
	flag.IntVar(&c.naiveEvents, "naive-events", 3_000, "events run through the naive path (it is slow)")
	flag.IntVar(&c.rounds, "rounds", 3, "timed rounds per phase; the best is reported")
	flag.StringVar(&c.profile, "profile", "", "directory to write one.pprof and raw.pprof (the one-core phases) to")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "detect-bench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.events <= 0 || c.naiveEvents <= 0 || c.rounds <= 0 {
		return errors.New("-events, -naive-events and -rounds must be positive")
	}
	cores := runtime.GOMAXPROCS(0)
	fmt.Printf("detect-bench: %d cores, %s/%s, %s\n", cores, runtime.GOOS, runtime.GOARCH, runtime.Version())

	t0 := time.Now()
	eng, res, err := loadRules(c.sigma)
	if err != nil {
		return err
	}
	fmt.Printf("rules: %d detection rules loaded, %d rejected, %d correlations, in %.1fs (default pipeline, as vigil detect)\n",
		len(res.Rules), len(res.Errors), len(res.Correlations), time.Since(t0).Seconds())

	lines, err := regressionLines(filepath.Join(c.sigma, "regression_data"))
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return fmt.Errorf("no regression events under %s", c.sigma)
	}
	var bytesIn int
	for _, l := range lines {
		bytesIn += len(l)
	}
	fmt.Printf("events: %d regression events (%d bytes of JSON), replicated to %d\n", len(lines), bytesIn, c.events)

	// Decode once; replicas share the decoded maps (NewEvent does not
	// modify them).
	base := make([]map[string]any, len(lines))
	for i, l := range lines {
		if base[i], err = decode(l); err != nil {
			return err
		}
	}
	events := make([]map[string]any, c.events)
	for i := range events {
		events[i] = base[i%len(base)]
	}

	// Warm up: the engine builds its merged index of each logsource
	// combination on first use.
	for _, m := range base {
		eng.Match(detect.NewEvent(m), nil)
	}

	// JSON decoding alone, the step before the engine in vigil detect.
	runtime.GOMAXPROCS(1)
	dec := best(c.rounds, "", func() {
		for i := range c.events {
			if _, err := decode(lines[i%len(lines)]); err != nil {
				panic(err)
			}
		}
	})

	// One core.
	var hits int
	one := best(c.rounds, c.profile, func() {
		hits = 0
		var dst []*detect.Rule
		for _, m := range events {
			dst = eng.Match(detect.NewEvent(m), dst[:0])
			hits += len(dst)
		}
	})

	// One core, Engine.MatchRaw: the event built in storage the engine
	// recycles (what internal/pipeline runs).
	var rawHits int
	raw := bestIn(c.rounds, c.profile, "raw.pprof", func() {
		rawHits = 0
		var dst []*detect.Rule
		for _, m := range events {
			dst = eng.MatchRaw(m, dst[:0])
			rawHits += len(dst)
		}
	})

	// All cores: the engine is shared, each goroutine takes a slice.
	runtime.GOMAXPROCS(cores)
	all := best(c.rounds, "", func() {
		var wg sync.WaitGroup
		per := (len(events) + cores - 1) / cores
		for w := range cores {
			part := events[min(w*per, len(events)):min((w+1)*per, len(events))]
			wg.Go(func() {
				var dst []*detect.Rule
				for _, m := range part {
					dst = eng.Match(detect.NewEvent(m), dst[:0])
				}
			})
		}
		wg.Wait()
	})

	// Naive, one core, on a prefix of the same events.
	runtime.GOMAXPROCS(1)
	nn := min(c.naiveEvents, len(events))
	naive := best(1, "", func() {
		var dst []*detect.Rule
		for _, m := range events[:nn] {
			dst = eng.MatchNaive(detect.NewEvent(m), dst[:0])
		}
	})
	runtime.GOMAXPROCS(cores)

	// Same answers on the naive sample.
	differ := 0
	for _, m := range events[:nn] {
		ev := detect.NewEvent(m)
		if !sameRules(eng.Match(ev, nil), eng.MatchNaive(ev, nil)) {
			differ++
		}
	}

	fmt.Println()
	fmt.Printf("%-58s %9s %9s %14s %20s\n", "phase", "events", "seconds", "events/s", "events/CPU-second")
	dec.print("JSON decoding alone (1 core)", c.events)
	one.print("indexed: NewEvent+Match, GOMAXPROCS=1", c.events)
	raw.print("indexed: MatchRaw, GOMAXPROCS=1", c.events)
	all.print(fmt.Sprintf("indexed: NewEvent+Match, GOMAXPROCS=%d", cores), c.events)
	naive.print("naive: NewEvent+MatchNaive, GOMAXPROCS=1", nn)
	fmt.Println()
	fmt.Printf("rule matches per pass: %d (%.2f per event)\n", hits, float64(hits)/float64(c.events))
	fmt.Printf("index vs naive, one core: %.1fx per CPU-second, %.1fx wall-clock\n",
		one.perCPU(c.events)/naive.perCPU(nn), one.eps(c.events)/naive.eps(nn))
	fmt.Printf("vigil detect on one core incl. JSON decoding: %.0f events per CPU-second, %.0f events/s wall-clock\n",
		1/(1/dec.perCPU(c.events)+1/one.perCPU(c.events)), 1/(1/dec.eps(c.events)+1/one.eps(c.events)))
	fmt.Printf("MatchRaw on one core incl. JSON decoding: %.0f events per CPU-second\n",
		1/(1/dec.perCPU(c.events)+1/raw.perCPU(c.events)))
	automata, nodes, tables := eng.IndexSize()
	fmt.Printf("index built by these events: %d automata, %d nodes, %.1f MB of transition tables\n",
		automata, nodes, float64(tables)/(1<<20))
	fmt.Println("(on a shared machine the wall-clock figures measure the CPU share the run got; the per-CPU-second ones do not)")
	if rawHits != hits {
		return fmt.Errorf("MatchRaw found %d rule matches per pass, NewEvent+Match %d", rawHits, hits)
	}
	if differ > 0 {
		return fmt.Errorf("indexed and naive matching disagree on %d of %d events", differ, nn)
	}
	fmt.Printf("indexed and naive matching agree on all %d sampled events\n", nn)
	return nil
}

func loadRules(sigma string) (*detect.Engine, *detect.LoadResult, error) {
	def, err := detect.DefaultPipeline()
	if err != nil {
		return nil, nil, err
	}
	set := detect.NewPipelineSet(def)
	all := &detect.LoadResult{}
	for _, tree := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting"} {
		res, err := set.LoadFS(os.DirFS(filepath.Join(sigma, tree)), ".")
		if err != nil {
			return nil, nil, err
		}
		all.Rules = append(all.Rules, res.Rules...)
		all.Errors = append(all.Errors, res.Errors...)
		all.Correlations = append(all.Correlations, res.Correlations...)
	}
	all.Resolve()
	if len(all.Rules) == 0 {
		return nil, nil, fmt.Errorf("no rules under %s", sigma)
	}
	return detect.NewEngine(all.Rules), all, nil
}

// regressionLines returns every JSON event of the corpus regression cases,
// each compacted to one line as vigil detect reads them.
func regressionLines(root string) ([][]byte, error) {
	var out [][]byte
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
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, b.Bytes())
		}
		return nil
	})
	return out, err
}

// decode reads one event as vigil detect does (numbers kept as text).
func decode(line []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func sameRules(a, b []*detect.Rule) bool {
	key := func(rs []*detect.Rule) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.Path + "\x00" + r.ID
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

type result struct{ wall, cpu time.Duration }

func (r result) eps(n int) float64 { return float64(n) / r.wall.Seconds() }

// perCPU is events per CPU-second, or per wall-clock second where CPU
// time is not measured.
func (r result) perCPU(n int) float64 {
	if r.cpu <= 0 {
		return r.eps(n)
	}
	return float64(n) / r.cpu.Seconds()
}

func (r result) print(what string, n int) {
	cpu := "-"
	if r.cpu > 0 {
		cpu = fmt.Sprintf("%.0f", r.perCPU(n))
	}
	fmt.Printf("%-58s %9d %9.2f %14.0f %20s\n", what, n, r.wall.Seconds(), r.eps(n), cpu)
}

// best runs f rounds times and keeps the round that used the least CPU
// time (the machine may be shared); the first round is profiled into
// dir/one.pprof when dir is set.
func best(rounds int, dir string, f func()) result { return bestIn(rounds, dir, "one.pprof", f) }

// bestIn is best profiling into dir/name.
func bestIn(rounds int, dir, name string, f func()) result {
	var out result
	for i := range rounds {
		var stop func()
		if dir != "" && i == 0 {
			if pf, err := os.Create(filepath.Join(dir, name)); err == nil { // #nosec G304 -- operator-chosen directory
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
		if i == 0 || r.cpu < out.cpu || r.cpu == 0 && r.wall < out.wall {
			out = r
		}
	}
	return out
}
