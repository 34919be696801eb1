package detect

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// ruleNamed finds a referenced base rule of the Correlator by name.
func ruleNamed(t *testing.T, cr *Correlator, name string) *Rule {
	t.Helper()
	for _, c := range cr.Correlations() {
		for _, s := range c.srcs {
			if r, ok := s.(*Rule); ok && r.Name == name {
				return r
			}
		}
	}
	t.Fatalf("no rule %q", name)
	return nil
}

// feed plays one match on cr at t0+at seconds and returns the alerts.
func feed(t *testing.T, cr *Correlator, rule string, fields map[string]any, at int) []*CorrelationAlert {
	t.Helper()
	return cr.Process(NewEvent(fields), t0.Add(time.Duration(at)*time.Second), []*Rule{ruleNamed(t, cr, rule)})
}

// restarted builds a new Correlator over freshly loaded copies of the same
// documents (as a restarted process would) and restores snap into it.
func restarted(t *testing.T, snap []byte, docs ...string) (*Correlator, RestoreStats) {
	t.Helper()
	cr, _ := runCorrelation(t, CorrelatorOptions{}, nil, docs...)
	if snap == nil {
		return cr, RestoreStats{}
	}
	st, err := cr.Restore(snap)
	if err != nil {
		t.Fatal(err)
	}
	return cr, st
}

func TestSnapshotSurvivesRestart(t *testing.T) {
	alice := map[string]any{"A": "x", "User": "alice"}
	bob := map[string]any{"A": "x", "User": "bob"}
	cases := []struct {
		name   string
		doc    string
		before []step // played before the restart
		after  func(t *testing.T, cr *Correlator) []*CorrelationAlert
		want   int // alerts after the restart, with the snapshot
		// without is the alerts the same events give a correlator
		// that lost its state.
		without int
	}{
		{
			name:   "event_count inside the window fires",
			doc:    "  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 3}\n",
			before: []step{{rules: "a", fields: alice, at: 0}, {rules: "a", fields: alice, at: 10}, {rules: "a", fields: bob, at: 15}},
			after: func(t *testing.T, cr *Correlator) []*CorrelationAlert {
				return feed(t, cr, "a", alice, 20)
			},
			want: 1, without: 0,
		},
		{
			name:   "event_count after the window does not",
			doc:    "  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 3}\n",
			before: []step{{rules: "a", fields: alice, at: 0}, {rules: "a", fields: alice, at: 10}},
			after: func(t *testing.T, cr *Correlator) []*CorrelationAlert {
				return feed(t, cr, "a", alice, 75)
			},
			want: 0, without: 0,
		},
		{
			name: "value_count keeps its distinct values",
			doc:  "  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 5m\n  condition: {field: User, gte: 3}\n",
			before: []step{
				{rules: "a", fields: map[string]any{"A": "x", "Host": "h", "User": "u1"}, at: 0},
				{rules: "a", fields: map[string]any{"A": "x", "Host": "h", "User": "u2"}, at: 1},
				{rules: "a", fields: map[string]any{"A": "x", "Host": "h", "User": "u2"}, at: 2},
			},
			after: func(t *testing.T, cr *Correlator) []*CorrelationAlert {
				// u2 again is not a third value; u3 is.
				if a := feed(t, cr, "a", map[string]any{"A": "x", "Host": "h", "User": "u2"}, 3); len(a) != 0 {
					t.Errorf("a repeated value fired: %+v", a)
				}
				return feed(t, cr, "a", map[string]any{"A": "x", "Host": "h", "User": "u3"}, 4)
			},
			want: 1, without: 0,
		},
		{
			name:   "temporal_ordered keeps the first step",
			doc:    "  type: temporal_ordered\n  rules: [a, b]\n  group-by: [User]\n  timespan: 1m\n",
			before: []step{{rules: "a", fields: alice, at: 0}},
			after: func(t *testing.T, cr *Correlator) []*CorrelationAlert {
				return feed(t, cr, "b", map[string]any{"B": "y", "User": "alice"}, 30)
			},
			want: 1, without: 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := corrDoc(tc.doc)
			cr, _ := runCorrelation(t, CorrelatorOptions{}, tc.before, doc)
			snap, err := cr.Snapshot(0)
			if err != nil {
				t.Fatal(err)
			}
			again, st := restarted(t, snap, doc)
			if st.Skipped != 0 || st.Groups == 0 {
				t.Errorf("restore: %+v", st)
			}
			if got := tc.after(t, again); len(got) != tc.want {
				t.Errorf("after restore: %d alerts, want %d", len(got), tc.want)
			}
			cold, _ := restarted(t, nil, doc)
			if got := tc.after(t, cold); len(got) != tc.without {
				t.Errorf("without state: %d alerts, want %d", len(got), tc.without)
			}
		})
	}
}

func TestSnapshotBoundsAndMismatch(t *testing.T) {
	doc := corrDoc("  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 3}\n")
	cr, _ := runCorrelation(t, CorrelatorOptions{}, []step{
		{rules: "a", fields: map[string]any{"A": "x", "User": "old"}, at: 0},
		{rules: "a", fields: map[string]any{"A": "x", "User": "new"}, at: 5},
		{rules: "a", fields: map[string]any{"A": "x", "User": "new"}, at: 6},
	}, doc)
	// Room for two entries: the newer group (two entries) is kept, the
	// older one dropped and counted.
	snap, err := cr.Snapshot(2)
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot
	if err := json.Unmarshal(snap, &s); err != nil {
		t.Fatal(err)
	}
	if s.Dropped != 1 || len(s.Corrs) != 1 || len(s.Corrs[0].Groups) != 1 || s.Corrs[0].Groups[0].Values[0] != "new" {
		t.Fatalf("bounded snapshot %s", snap)
	}
	// The same id with another type: nothing is restored.
	other := corrDoc("  type: value_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {field: Host, gte: 3}\n")
	_, st := restarted(t, snap, other)
	if st.Groups != 0 || st.Skipped != 1 {
		t.Errorf("changed correlation restored: %+v", st)
	}
	cold, _ := restarted(t, nil, doc)
	for _, bad := range []string{"", "{", `{"version":99}`} {
		if _, err := cold.Restore([]byte(bad)); !errors.Is(err, ErrSnapshot) {
			t.Errorf("Restore(%q) = %v", bad, err)
		}
	}
	// A group referring to a rule the correlation does not have is
	// skipped, not trusted.
	forged := `{"version":1,"clock":"2026-01-02T03:04:05Z","correlations":[{"key":"id:10000000-0000-0000-0000-000000000001","type":"event_count","refs":1,
		"groups":[{"values":["x"],"last":"2026-01-02T03:04:05Z","entries":[{"t":"2026-01-02T03:04:05Z","r":7}]}]}]}`
	if st, err := cold.Restore([]byte(forged)); err != nil || st.Groups != 0 || st.Skipped != 1 {
		t.Errorf("forged group: %+v, %v", st, err)
	}
}
