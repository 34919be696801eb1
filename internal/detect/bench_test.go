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
