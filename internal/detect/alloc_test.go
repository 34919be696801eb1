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
