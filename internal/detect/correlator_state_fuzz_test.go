package detect

import (
	"fmt"
	"testing"
	"time"
)

// FuzzRestore feeds damaged snapshots to Restore: it must never panic,
// and a Correlator that took one must still process matches and snapshot.
func FuzzRestore(f *testing.F) {
	doc := corrDoc("  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 3}\n")
	cr, _ := runCorrelation(&testing.T{}, CorrelatorOptions{}, []step{
		{rules: "a", fields: map[string]any{"A": "x", "User": "u"}, at: 0},
		{rules: "a", fields: map[string]any{"A": "x", "User": "v"}, at: 1},
	}, doc)
	if snap, err := cr.Snapshot(0); err == nil {
		f.Add(snap)
	}
	f.Add([]byte(`{"version":1,"correlations":[{"key":"id:10000000-0000-0000-0000-000000000001","type":"value_count","refs":1,"groups":[{"values":[],"seen":["2026-01-01T00:00:00Z"]}]}]}`))
	f.Add([]byte(`{"version":1,"correlations":[{"key":"id:10000000-0000-0000-0000-000000000001","type":"event_count","refs":1,"groups":[{"values":["u"],"last":"2026-01-02T03:04:05Z","counted":[{"id":"e1\u00000","t":"2026-01-02T03:04:05Z"},{"id":"e1\u00000","t":"2026-01-02T03:04:04Z"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cr, _ := runCorrelation(t, CorrelatorOptions{MaxGroups: 10, MaxEntries: 10}, nil, doc)
		if _, err := cr.Restore(data); err != nil {
			return
		}
		r := ruleNamed(t, cr, "a")
		for i := range 4 {
			cr.ProcessEvent(fmt.Sprint("e", i%2), NewEvent(map[string]any{"A": "x", "User": "u"}), t0.Add(time.Duration(i)*time.Second), []*Rule{r})
		}
		if _, err := cr.Snapshot(0); err != nil {
			t.Fatal(err)
		}
	})
}
