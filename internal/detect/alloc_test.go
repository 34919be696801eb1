package detect

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestNewEventAllocs bounds the allocations of building a Windows event
// of the corpus: the event with its inline tables, and the string of its
// dotted paths. An event that grows past the inline tables, or a value
// that is an array, may take more; this one does not.
func TestNewEventAllocs(t *testing.T) {
	testenv.RequireCorpus(t, corpusDir)
	var raw map[string]any
	for _, tc := range regressionCases(t) {
		for _, f := range tc.events {
			for _, ev := range readEvents(t, f) {
				if ev.Source.Product == "windows" && len(ev.leaves) >= 30 && len(ev.leaves) <= 40 && raw == nil {
					raw = ev.Raw
				}
			}
		}
	}
	if raw == nil {
		t.Fatal("no Windows event of 30 to 40 values in the corpus")
	}
	NewEvent(raw) // the builder pool
	got := testing.AllocsPerRun(100, func() { NewEvent(raw) })
	t.Logf("NewEvent: %.1f allocations; the sorted walk it replaced: %.1f", got,
		testing.AllocsPerRun(100, func() { newEventSorted(raw) }))
	if got > 3 {
		t.Errorf("NewEvent made %.1f allocations, want at most 3", got)
	}
}

// TestMatchRawAllocs counts the allocations of Engine.MatchRaw over the
// corpus regression events with the full rule set: the event is built in
// recycled storage (tables that outgrew the inline ones kept for the next
// event), so what remains is the string of its dotted paths and the
// lower-case forms of the values rules compare: at least one allocation
// per event fewer than NewEvent and Match take.
func TestMatchRawAllocs(t *testing.T) {
	c := loadCorpus(t)
	var raws []map[string]any
	for _, tc := range regressionCases(t) {
		for _, f := range tc.events {
			for _, ev := range readEvents(t, f) {
				raws = append(raws, ev.Raw)
			}
		}
	}
	var dst []*Rule
	pass := func(match func(map[string]any)) func() {
		return func() {
			for _, raw := range raws {
				match(raw)
			}
		}
	}
	raw := pass(func(m map[string]any) { dst = c.engine.MatchRaw(m, dst[:0]) })
	built := pass(func(m map[string]any) { dst = c.engine.Match(NewEvent(m), dst[:0]) })
	raw() // merged indexes, pools
	got := testing.AllocsPerRun(5, raw) / float64(len(raws))
	old := testing.AllocsPerRun(5, built) / float64(len(raws))
	t.Logf("MatchRaw: %.2f allocations per event; NewEvent and Match: %.2f", got, old)
	if got > old-1 {
		t.Errorf("MatchRaw made %.2f allocations per event, want at least one fewer than NewEvent and Match (%.2f)", got, old)
	}
}
