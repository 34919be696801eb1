package hunt

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/intel"
)

// TestFreshIndicatorsHunt loads the list as yesterday's feed without two of
// its lines, then the whole list: only the two added indicators are
// hunted, and the hunt finds exactly their sightings in the full hunt.
func TestFreshIndicatorsHunt(t *testing.T) {
	ctx := context.Background()
	feed, err := intel.NewRegistry().LoadPath(ctx, "testdata/indicators.csv", "csv", intel.ParseOptions{Confidence: 90})
	must(t, err)
	var prev []intel.Indicator
	for _, in := range feed.Indicators {
		if in.Value != "203.0.113.9" && in.Value != "2001:db8::7" {
			// yesterday's copy, written differently
			in.Value = " " + in.Value + " "
			prev = append(prev, in)
		}
	}
	fresh := Fresh(prev, feed.Indicators)
	if len(fresh) != 2 {
		t.Fatalf("fresh: %v", fresh)
	}
	m, skipped := MatcherFor(fresh, intel.MatcherOptions{Now: func() time.Time { return huntNow }})
	if skipped != 0 || m.Len() != 2 {
		t.Fatalf("matcher: %d indicators, %d skipped", m.Len(), skipped)
	}
	samples := readSamples(t)
	st := openStore(t)
	tn := newTenant(t, st, "fresh")
	ingest(t, st, tn.ID, samples, nil)
	got, err := Hunt(ctx, st, tn.ID, m, allSince, allUntil, Options{})
	must(t, err)
	all, err := Hunt(ctx, st, tn.ID, loadMatcher(t, false), allSince, allUntil, Options{})
	must(t, err)
	want := map[string]int{}
	for _, h := range all.Hits {
		if h.Value == "203.0.113.9" || h.Value == "2001:db8::7" {
			want[h.RuleID] = h.Count
		}
	}
	if len(got.Hits) != len(want) {
		t.Fatalf("fresh hunt hit %d indicators, want %d", len(got.Hits), len(want))
	}
	for _, h := range got.Hits {
		if want[h.RuleID] != h.Count {
			t.Errorf("%s: %d sightings, full hunt %d", h.RuleID, h.Count, want[h.RuleID])
		}
	}
}
