package hunt

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/store"
)

// BenchmarkHunt100k retro-hunts 100,000 stored events (the log samples
// repeated over 30 days) against the test list and the STIX examples of the
// corpus, and reports events/s.
func BenchmarkHunt100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	samples := readSamples(b)
	st := openStore(b)
	tn := newTenant(b, st, "bench")
	start := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	step := 30 * 24 * time.Hour / n
	batch := make([]store.Event, 0, 1000)
	for i := range n {
		s := samples[i%len(samples)].ev
		at := start.Add(time.Duration(i) * step)
		batch = append(batch, store.Event{ID: fmt.Sprintf("ev-%07d", i), TenantID: tn.ID, Time: at, Received: at,
			Source: s.Source, Format: s.Format, Host: fmt.Sprintf("host-%d", i%50), Fields: s.Fields, Original: s.Original})
		if len(batch) == cap(batch) {
			if _, err := st.Events().Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	m := loadMatcher(b, true)
	b.ResetTimer()
	var res Result
	for b.Loop() {
		var err error
		res, err = Hunt(ctx, st, tn.ID, m, start, start.Add(31*24*time.Hour), Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	if res.Scanned != n {
		b.Fatalf("scanned %d of %d", res.Scanned, n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(res.Matched), "matched")
}

// BenchmarkMatchOnly is the matching part of a hunt alone: the sample
// events' stored fields flattened and matched, with no store read, to
// compare with BenchmarkHunt100k.
func BenchmarkMatchOnly(b *testing.B) {
	samples := readSamples(b)
	m := loadMatcher(b, true)
	fields := make([]map[string]any, len(samples))
	for i, s := range samples {
		fields[i] = s.ev.Fields
	}
	n := 0
	for b.Loop() {
		m.Match(intel.FlattenEvent(fields[n%len(fields)]))
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
