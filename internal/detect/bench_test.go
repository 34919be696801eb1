package detect

import (
	"github.com/vigil-sec/vigil/internal/testenv"
	"testing"
)

// benchEvents returns the regression events replicated to at least n.
func benchEvents(b *testing.B, n int) []*Event {
	b.Helper()
	var base []*Event
	for _, tc := range regressionCases(b) {
		for _, f := range tc.events {
			base = append(base, readEvents(b, f)...)
		}
	}
	if len(base) == 0 {
		b.Fatal("no regression events")
	}
	out := make([]*Event, 0, n)
	for len(out) < n {
		out = append(out, base...)
	}
	return out
}

// BenchmarkMatch compares the indexed engine with naive evaluation (every
// rule on every event) over the full corpus rule set and the regression
// events. Events are prepared once; the figures are matching throughput.
func BenchmarkMatch(b *testing.B) {
	c := loadCorpus(b)
	events := benchEvents(b, 10000)
	run := func(b *testing.B, match func(*Event, []*Rule) []*Rule) {
		var dst []*Rule
		matches := 0
		n := 0
		for b.Loop() {
			dst = match(events[n%len(events)], dst[:0])
			matches += len(dst)
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(len(c.rules)), "rules")
	}
	b.Run("indexed", func(b *testing.B) { run(b, c.engine.Match) })
	b.Run("naive", func(b *testing.B) { run(b, c.engine.MatchNaive) })
	// All cores: the engine is shared, each goroutine has its own buffer.
	b.Run("indexed-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			var dst []*Rule
			i := 0
			for pb.Next() {
				dst = c.engine.Match(events[i%len(events)], dst[:0])
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkPrepare measures NewEvent, the per-event field flattening the
// CLI pays before matching (JSON decoding excluded).
func BenchmarkPrepare(b *testing.B) {
	testenv.RequireCorpus(b, corpusDir)
	events := benchEvents(b, 1000)
	n := 0
	for b.Loop() {
		_ = NewEvent(events[n%len(events)].Raw)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPrepareMatch measures what vigil detect does per decoded
// line: NewEvent and Match, over the full corpus rule set.
func BenchmarkPrepareMatch(b *testing.B) {
	c := loadCorpus(b)
	events := benchEvents(b, 1000)
	var dst []*Rule
	n := 0
	for b.Loop() {
		dst = c.engine.Match(NewEvent(events[n%len(events)].Raw), dst[:0])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkScan compares the automata the engine builds (a DFA: a row
// for every node) with the hybrid the engine used before (rows for the
// nodes nearest the root within 64 KiB, edges and failure links below)
// on the corpus values of their fields, for every automaton of the
// SigmaHQ rule set that the regression events meet. Each field's scan is
// timed alone, the way bucket.match scans a field.
func BenchmarkScan(b *testing.B) {
	c := loadCorpus(b)
	events := benchEvents(b, 1)
	type job struct {
		dfa, hybrid *acMatcher
		texts       []string
	}
	jobs := map[*acMatcher]*job{}
	var order []*job
	bytes := 0
	for _, ev := range events {
		var found [8]*bucket
		sel := c.engine.selectBuckets(ev, found[:0])
		if len(sel) > 1 {
			if m := c.engine.merged(sel); m != nil {
				sel = []*bucket{m}
			}
		}
		for _, bk := range sel {
			bk.index()
			for i := range bk.fields {
				fs := &bk.fields[i]
				if fs.field == "" {
					continue
				}
				v := ev.lookupHash(fs.field, fs.hash)
				if v == nil {
					continue
				}
				text, one := singleText(fs.ac, v)
				if !one || text == "" {
					continue
				}
				j := jobs[fs.ac]
				if j == nil {
					j = &job{dfa: fs.ac, hybrid: newACMatcherDense(fs.pats, 64<<10)}
					jobs[fs.ac] = j
					order = append(order, j)
				}
				j.texts = append(j.texts, text)
				bytes += len(text)
			}
		}
	}
	run := func(b *testing.B, pick func(*job) *acMatcher) {
		var seen seenSet
		var out []int32
		b.SetBytes(int64(bytes))
		for b.Loop() {
			for _, j := range order {
				m := pick(j)
				for _, t := range j.texts {
					seen.reset(len(m.fail))
					out = m.scanSeen(t, out[:0], &seen)
				}
			}
		}
	}
	b.Run("dfa", func(b *testing.B) { run(b, func(j *job) *acMatcher { return j.dfa }) })
	b.Run("hybrid", func(b *testing.B) { run(b, func(j *job) *acMatcher { return j.hybrid }) })
}
