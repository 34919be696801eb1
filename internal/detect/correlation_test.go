package detect

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// baseRule builds a detection rule with the given id and name.
func baseRule(t testing.TB, id, name string) *Rule {
	t.Helper()
	doc := fmt.Sprintf("title: %s\nid: %s\nname: %s\nlogsource:\n  product: test\ndetection:\n  sel:\n    A: x\n  condition: sel\n", name, id, name)
	r, err := ParseRule([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// step is one event: the base rules (by name) it matched, its fields and
// its time in seconds from t0.
type step struct {
	rules  string // space-separated names
	fields map[string]any
	at     int
	fire   int // correlation alerts expected
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// runCorrelation loads the base rules a, b, c and the correlation
// documents, resolves them and plays the steps.
func runCorrelation(t *testing.T, opts CorrelatorOptions, steps []step, docs ...string) (*Correlator, [][]*CorrelationAlert) {
	t.Helper()
	rules := map[string]*Rule{}
	var all []*Rule
	for i, n := range []string{"a", "b", "c"} {
		r := baseRule(t, fmt.Sprintf("00000000-0000-0000-0000-00000000000%d", i+1), n)
		rules[n] = r
		all = append(all, r)
	}
	var corrs []*Correlation
	for i, d := range docs {
		c, err := ParseCorrelation([]byte(d))
		if err != nil {
			t.Fatalf("ParseCorrelation: %v\n%s", err, d)
		}
		c.Path = fmt.Sprintf("c%d.yml", i)
		corrs = append(corrs, c)
	}
	ok, errs := ResolveCorrelations(all, corrs)
	if len(errs) > 0 {
		t.Fatalf("resolve: %v", errs)
	}
	cr := NewCorrelator(ok, opts)
	var got [][]*CorrelationAlert
	for k, s := range steps {
		var matched []*Rule
		for _, n := range strings.Fields(s.rules) {
			matched = append(matched, rules[n])
		}
		fields := map[string]any{}
		for f, v := range s.fields {
			fields[f] = v
		}
		alerts := cr.Process(NewEvent(fields), t0.Add(time.Duration(s.at)*time.Second), matched)
		if len(alerts) != s.fire {
			t.Errorf("step %d (%s at %ds): %d alerts, want %d: %+v", k, s.rules, s.at, len(alerts), s.fire, alerts)
		}
		got = append(got, alerts)
	}
	return cr, got
}

func corrDoc(body string) string {
	return "title: corr\nid: 10000000-0000-0000-0000-000000000001\nname: corr\nlevel: high\ncorrelation:\n" + body
}

func user(u string) map[string]any { return map[string]any{"User": u} }

func TestCorrelationTypes(t *testing.T) {
	cases := []struct {
		name  string
		doc   string
		steps []step
	}{
		{
			name: "event_count fires at threshold",
			doc:  "  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 3}\n",
			steps: []step{
				{rules: "a", fields: user("bob"), at: 0},
				{rules: "a", fields: user("bob"), at: 10},
				{rules: "a", fields: user("bob"), at: 20, fire: 1},
				// State resets after firing.
				{rules: "a", fields: user("bob"), at: 21},
			},
		},
		{
			name: "event_count window expiry",
			doc:  "  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 3}\n",
			steps: []step{
				{rules: "a", fields: user("bob"), at: 0},
				{rules: "a", fields: user("bob"), at: 30},
				{rules: "a", fields: user("bob"), at: 61}, // the first expired
				{rules: "a", fields: user("bob"), at: 89, fire: 1},
			},
		},
		{
			name: "event_count group-by separation",
			doc:  "  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n",
			steps: []step{
				{rules: "a", fields: user("bob"), at: 0},
				{rules: "a", fields: user("eve"), at: 1},
				{rules: "a", fields: user("eve"), at: 2, fire: 1},
				{rules: "a", fields: user("bob"), at: 3, fire: 1},
			},
		},
		{
			name: "event_count over two rules counts an event once",
			doc:  "  type: event_count\n  rules: [a, b]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n",
			steps: []step{
				{rules: "a b", fields: user("bob"), at: 0},
				{rules: "b", fields: user("bob"), at: 1, fire: 1},
			},
		},
		{
			name: "event_count range",
			doc:  "  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {gt: 1, lte: 2}\n",
			steps: []step{
				{rules: "a", at: 0},
				{rules: "a", at: 1, fire: 1},
			},
		},
		{
			name: "event_count neq",
			doc:  "  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {neq: 1}\n",
			steps: []step{
				{rules: "a", fields: user("bob"), at: 0},
				{rules: "a", fields: user("bob"), at: 1, fire: 1},
			},
		},
		{
			name: "value_count distinct values",
			doc:  "  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 1m\n  condition: {field: User, gte: 3}\n",
			steps: []step{
				{rules: "a", fields: map[string]any{"Host": "h", "User": "u1"}, at: 0},
				{rules: "a", fields: map[string]any{"Host": "h", "User": "u1"}, at: 1},
				{rules: "a", fields: map[string]any{"Host": "h", "User": "u2"}, at: 2},
				{rules: "a", fields: map[string]any{"Host": "other", "User": "u3"}, at: 3},
				{rules: "a", fields: map[string]any{"Host": "h", "User": "u3"}, at: 4, fire: 1},
			},
		},
		{
			name: "value_count expiry drops old values",
			doc:  "  type: value_count\n  rules: [a]\n  timespan: 10s\n  condition: {field: User, gte: 2}\n",
			steps: []step{
				{rules: "a", fields: user("u1"), at: 0},
				{rules: "a", fields: user("u2"), at: 11},
				{rules: "a", fields: user("u2"), at: 12},
				{rules: "a", fields: user("u3"), at: 13, fire: 1},
			},
		},
		{
			name: "value_count neq",
			doc:  "  type: value_count\n  rules: [a]\n  timespan: 10s\n  condition: {field: User, neq: 1}\n",
			steps: []step{
				{rules: "a", fields: user("u1"), at: 0},
				{rules: "a", fields: user("u1"), at: 1},
				{rules: "a", fields: user("u2"), at: 2, fire: 1},
			},
		},
		{
			name: "value_sum",
			doc:  "  type: value_sum\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {field: Bytes, gt: 1000}\n",
			steps: []step{
				{rules: "a", fields: map[string]any{"User": "bob", "Bytes": 600}, at: 0},
				{rules: "a", fields: map[string]any{"User": "bob", "Bytes": "x"}, at: 1},
				{rules: "a", fields: map[string]any{"User": "eve", "Bytes": 600}, at: 2},
				{rules: "a", fields: map[string]any{"User": "bob", "Bytes": "500"}, at: 3, fire: 1},
			},
		},
		{
			name: "value_avg",
			doc:  "  type: value_avg\n  rules: [a]\n  timespan: 1m\n  condition: {field: Bytes, gte: 100}\n",
			steps: []step{
				{rules: "a", fields: map[string]any{"Bytes": 50}, at: 0},
				{rules: "a", fields: map[string]any{"Bytes": 100}, at: 1},
				{rules: "a", fields: map[string]any{"Bytes": 150}, at: 2, fire: 1},
			},
		},
		{
			name: "temporal any order",
			doc:  "  type: temporal\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 1m\n",
			steps: []step{
				{rules: "c", fields: user("bob"), at: 0},
				{rules: "a", fields: user("bob"), at: 1},
				{rules: "b", fields: user("eve"), at: 2},
				{rules: "b", fields: user("bob"), at: 3, fire: 1},
			},
		},
		{
			name: "temporal window expiry",
			doc:  "  type: temporal\n  rules: [a, b]\n  group-by: [User]\n  timespan: 1m\n",
			steps: []step{
				{rules: "a", fields: user("bob"), at: 0},
				{rules: "b", fields: user("bob"), at: 61},
				{rules: "a", fields: user("bob"), at: 62, fire: 1},
			},
		},
		{
			name: "temporal with condition",
			doc:  "  type: temporal\n  rules: [a, b, c]\n  timespan: 1m\n  condition: {gte: 2}\n",
			steps: []step{
				{rules: "a", at: 0},
				{rules: "a", at: 1},
				{rules: "c", at: 2, fire: 1},
			},
		},
		{
			name: "temporal_ordered in order",
			doc:  "  type: temporal_ordered\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 1m\n",
			steps: []step{
				{rules: "a", fields: user("bob"), at: 0},
				{rules: "b", fields: user("bob"), at: 1},
				{rules: "c", fields: user("bob"), at: 2, fire: 1},
			},
		},
		{
			// The first rule is first, but b and c come in the wrong order.
			name: "temporal_ordered rejects a late middle step",
			doc:  "  type: temporal_ordered\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 1m\n",
			steps: []step{
				{rules: "a", fields: user("bob"), at: 0},
				{rules: "c", fields: user("bob"), at: 1},
				{rules: "b", fields: user("bob"), at: 2},
				// c again, now after a and b: fires.
				{rules: "c", fields: user("bob"), at: 3, fire: 1},
			},
		},
		{
			name: "temporal_ordered reverse order never fires",
			doc:  "  type: temporal_ordered\n  rules: [a, b, c]\n  timespan: 1m\n",
			steps: []step{
				{rules: "c", at: 0},
				{rules: "b", at: 1},
				{rules: "a", at: 2},
			},
		},
		{
			name: "temporal_ordered one event is one step",
			doc:  "  type: temporal_ordered\n  rules: [a, b]\n  timespan: 1m\n",
			steps: []step{
				{rules: "a b", at: 0},
				{rules: "b", at: 1, fire: 1},
			},
		},
		{
			name: "temporal_ordered window from the first step",
			doc:  "  type: temporal_ordered\n  rules: [a, b, c]\n  timespan: 1m\n",
			steps: []step{
				{rules: "a", at: 0},
				{rules: "b", at: 30},
				{rules: "c", at: 61}, // a expired
				{rules: "a", at: 62},
				{rules: "b", at: 63},
				{rules: "c", at: 64, fire: 1},
			},
		},
		{
			name: "temporal_ordered repeated rule",
			doc:  "  type: temporal_ordered\n  rules: [a, a, b]\n  timespan: 1m\n",
			steps: []step{
				{rules: "a", at: 0},
				{rules: "b", at: 1},
				{rules: "a", at: 2},
				{rules: "b", at: 3, fire: 1},
			},
		},
		{
			name: "aliases group different fields",
			doc: "  type: temporal\n  rules: [a, b]\n  group-by: [ip]\n  timespan: 1m\n" +
				"  aliases:\n    ip:\n      a: source.ip\n      b: destination.ip\n",
			steps: []step{
				{rules: "a", fields: map[string]any{"source": map[string]any{"ip": "10.0.0.1"}}, at: 0},
				{rules: "b", fields: map[string]any{"destination": map[string]any{"ip": "10.0.0.2"}}, at: 1},
				{rules: "b", fields: map[string]any{"destination": map[string]any{"ip": "10.0.0.1"}}, at: 2, fire: 1},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runCorrelation(t, CorrelatorOptions{}, tc.steps, corrDoc(tc.doc))
		})
	}
}

func TestCorrelationAlertContent(t *testing.T) {
	doc := corrDoc("  type: value_count\n  rules: [a, b]\n  group-by: [Host]\n  timespan: 1m\n  condition: {field: User, gte: 2}\n")
	_, got := runCorrelation(t, CorrelatorOptions{}, []step{
		{rules: "b", fields: map[string]any{"Host": "h", "User": "u1"}, at: 5},
		{rules: "b", fields: map[string]any{"Host": "h", "User": "u2"}, at: 9, fire: 1},
	}, doc)
	a := got[1][0]
	if a.RuleID != "10000000-0000-0000-0000-000000000001" || a.RuleTitle != "corr" || a.Level != "high" || a.Type != ValueCount {
		t.Errorf("metadata = %+v", a)
	}
	if a.Group["Host"] != "h" || a.Count != 2 || strings.Join(a.Values, ",") != "u1,u2" {
		t.Errorf("group/count/values = %v %d %v", a.Group, a.Count, a.Values)
	}
	if len(a.Rules) != 1 || a.Rules[0] != "00000000-0000-0000-0000-000000000002" {
		t.Errorf("rules = %v", a.Rules)
	}
	if !a.First.Equal(t0.Add(5*time.Second)) || !a.Last.Equal(t0.Add(9*time.Second)) {
		t.Errorf("first/last = %v %v", a.First, a.Last)
	}
}

func TestCorrelationChained(t *testing.T) {
	inner := "title: inner\nname: many_a\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User, Host]\n  timespan: 1m\n  condition: {gte: 2}\n"
	outer := "title: outer\nid: 20000000-0000-0000-0000-000000000002\ncorrelation:\n  type: temporal_ordered\n  rules: [many_a, b]\n  group-by: [User]\n  timespan: 5m\n"
	cr, got := runCorrelation(t, CorrelatorOptions{}, []step{
		{rules: "b", fields: map[string]any{"User": "bob", "Host": "h"}, at: 0},
		{rules: "a", fields: map[string]any{"User": "bob", "Host": "h"}, at: 1},
		{rules: "a", fields: map[string]any{"User": "bob", "Host": "h"}, at: 2, fire: 1}, // inner
		{rules: "b", fields: map[string]any{"User": "eve", "Host": "h"}, at: 3},
		{rules: "b", fields: map[string]any{"User": "bob", "Host": "x"}, at: 4, fire: 1}, // outer
	}, inner, outer)
	if a := got[4][0]; a.RuleTitle != "outer" || a.Group["User"] != "bob" || !a.First.Equal(t0.Add(2*time.Second)) {
		t.Errorf("outer alert = %+v", a)
	}
	if got[2][0].RuleTitle != "inner" {
		t.Errorf("inner alert = %+v", got[2][0])
	}
	// generate is unset: the referenced rules and the inner correlation
	// do not alert on their own; the outer one does.
	inn := cr.Correlations()[0]
	if cr.Standalone(inn) || !cr.Standalone(cr.Correlations()[1]) {
		t.Errorf("standalone: inner %v, outer %v", cr.Standalone(inn), cr.Standalone(cr.Correlations()[1]))
	}
}

func TestCorrelationMemoryBound(t *testing.T) {
	doc := corrDoc("  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 1000}\n")
	var steps []step
	for i := range 10 {
		steps = append(steps, step{rules: "a", fields: user(fmt.Sprint("u", i)), at: 0})
	}
	for range 10 {
		steps = append(steps, step{rules: "a", fields: user("u0"), at: 1})
	}
	// After the window the expired groups are swept, so new ones fit.
	steps = append(steps, step{rules: "a", fields: user("late"), at: 120})
	cr, _ := runCorrelation(t, CorrelatorOptions{MaxGroups: 4, MaxEntries: 5}, steps, doc)
	st := cr.Stats()
	if st.DroppedMatches != 6 {
		t.Errorf("dropped matches = %d, want 6", st.DroppedMatches)
	}
	if st.DroppedEntries != 6 { // u0 had 11 matches, keeps 5
		t.Errorf("dropped entries = %d, want 6", st.DroppedEntries)
	}
	if st.Groups != 1 {
		t.Errorf("groups = %d, want 1 after the sweep", st.Groups)
	}
}

func TestCorrelationLateEvent(t *testing.T) {
	doc := corrDoc("  type: event_count\n  rules: [a]\n  timespan: 10s\n  condition: {gte: 2}\n")
	cr, _ := runCorrelation(t, CorrelatorOptions{}, []step{
		{rules: "a", at: 100},
		{rules: "a", at: 5, fire: 1}, // taken at 100
	}, doc)
	if cr.Stats().LateEvents != 1 {
		t.Errorf("late = %d", cr.Stats().LateEvents)
	}
}

func TestParseCorrelationErrors(t *testing.T) {
	cases := []struct{ body, reason string }{
		{"  type: bogus\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 1}\n", "unknown correlation type"},
		{"  type: value_percentile\n  rules: [a]\n  timespan: 1m\n  condition: {field: X, gte: 1}\n", "not supported"},
		{"  rules: [a]\n  timespan: 1m\n  condition: {gte: 1}\n", "no type"},
		{"  type: event_count\n  timespan: 1m\n  condition: {gte: 1}\n", "rules is missing"},
		{"  type: event_count\n  rules: [a]\n  condition: {gte: 1}\n", "timespan"},
		{"  type: event_count\n  rules: [a]\n  timespan: 5w\n  condition: {gte: 1}\n", "unit"},
		{"  type: event_count\n  rules: [a]\n  timespan: 0s\n  condition: {gte: 1}\n", "invalid timespan"},
		{"  type: event_count\n  rules: [a]\n  timespan: 99999999999d\n  condition: {gte: 1}\n", "invalid timespan"},
		{"  type: event_count\n  rules: [a]\n  timespan: 999d\n  condition: {gte: 1}\n", "longer than"},
		{"  type: event_count\n  rules: [a]\n  timespan: 1m\n", "condition is missing"},
		{"  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {about: 1}\n", "unknown condition key"},
		{"  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: many}\n", "not a number"},
		{"  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {field: X, gte: 1}\n", "field is not allowed"},
		{"  type: value_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 1}\n", "needs a condition field"},
		{"  type: temporal\n  rules: [a]\n  timespan: 1m\n", "at least two rules"},
		{"  type: temporal\n  rules: [a, a]\n  timespan: 1m\n", "listed twice"},
		{"  type: temporal_ordered\n  rules: [a, b]\n  timespan: 1m\n  condition: {gte: 2}\n", "temporal_ordered is not supported"},
		{"  type: temporal\n  rules: [a, b]\n  timespan: 1m\n  aliases:\n    ip:\n      z: f\n", "does not reference"},
		{"  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 1}\n  window: tumbling\n", "unknown attribute"},
	}
	for _, tc := range cases {
		_, err := ParseCorrelation([]byte(corrDoc(tc.body)))
		if err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%q: error %v, want %q", tc.body, err, tc.reason)
		}
	}
}

func TestResolveCorrelations(t *testing.T) {
	a := baseRule(t, "00000000-0000-0000-0000-000000000001", "a")
	parse := func(id, name, body string) *Correlation {
		c, err := ParseCorrelation([]byte("title: " + name + "\nid: " + id + "\nname: " + name + "\ncorrelation:\n" + body))
		if err != nil {
			t.Fatal(err)
		}
		c.Path = name + ".yml"
		return c
	}
	count := "  type: event_count\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 1}\n  rules: "
	corrs := []*Correlation{
		parse("c1", "good", count+"[a]\n"),
		parse("c2", "unknown", count+"[nope]\n"),
		parse("c3", "cyc1", count+"[cyc2]\n"),
		parse("c4", "cyc2", count+"[cyc1]\n"),
		parse("c5", "onbad", count+"[unknown]\n"),
		parse("c6", "self", count+"[self]\n"),
		parse("c7", "nogroup", "  type: event_count\n  group-by: [Host]\n  timespan: 1m\n  condition: {gte: 1}\n  rules: [good]\n"),
		parse("c8", "chain", count+"[good]\n"),
	}
	ok, errs := ResolveCorrelations([]*Rule{a}, corrs)
	if len(ok) != 2 || ok[0].Name != "good" || ok[1].Name != "chain" {
		t.Errorf("resolved = %v", ok)
	}
	want := map[string]string{
		"unknown.yml": "unknown rule", "cyc1.yml": "cycle", "cyc2.yml": "cycle",
		"onbad.yml": "was rejected", "self.yml": "itself", "nogroup.yml": "does not group by",
	}
	if len(errs) != len(want) {
		t.Errorf("errors = %v", errs)
	}
	for _, e := range errs {
		if !strings.Contains(e.Error(), want[e.Path]) {
			t.Errorf("%s: %v, want %q", e.Path, e, want[e.Path])
		}
	}
}

func TestLoadFSCorrelations(t *testing.T) {
	fsys := fstest.MapFS{
		"r/a.yml":   {Data: []byte(ruleWith("  sel:\n    A: x\n  condition: sel\n"))},
		"r/c.yml":   {Data: []byte(corrDoc("  type: event_count\n  rules: [00000000-0000-0000-0000-000000000001]\n  timespan: 1m\n  condition: {gte: 2}\n"))},
		"r/bad.yml": {Data: []byte(corrDoc("  type: event_count\n  rules: [a]\n  timespan: 1x\n  condition: {gte: 2}\n"))},
		"r/ref.yml": {Data: []byte("title: ref\ncorrelation:\n  type: event_count\n  rules: [missing]\n  timespan: 1m\n  condition: {gte: 2}\n")},
	}
	res, err := LoadFS(fsys, "r")
	if err != nil {
		t.Fatal(err)
	}
	res.Resolve()
	if len(res.Correlations) != 1 || res.Correlations[0].Path != "r/c.yml" {
		t.Errorf("correlations = %v", res.Correlations)
	}
	if len(res.Errors) != 2 {
		t.Fatalf("errors = %v", res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.HasPrefix(e.Error(), e.Path+": ") || (e.Path != "r/bad.yml" && e.Path != "r/ref.yml") {
			t.Errorf("error %v", e)
		}
	}
}

func TestEventTime(t *testing.T) {
	cases := []struct {
		raw  map[string]any
		want time.Time
		ok   bool
	}{
		{map[string]any{"@timestamp": "2026-01-02T03:04:05.5Z"}, time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC), true},
		{map[string]any{"UtcTime": "2026-01-02 03:04:05.123"}, time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC), true},
		{map[string]any{"Event": map[string]any{"System": map[string]any{"TimeCreated": map[string]any{"#attributes": map[string]any{"SystemTime": "2026-01-02T03:04:05.000000Z"}}}}}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{map[string]any{"timestamp": 1767323045.0}, time.Unix(1767323045, 0).UTC(), true},
		{map[string]any{"timestamp": 1767323045000.0}, time.Unix(1767323045, 0).UTC(), true},
		{map[string]any{"@timestamp": "yesterday"}, time.Time{}, false},
		{map[string]any{}, time.Time{}, false},
	}
	for i, tc := range cases {
		got, ok := EventTime(NewEvent(tc.raw))
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("case %d: %v %v, want %v %v", i, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseCorrelation checks that no document makes the correlation
// parser panic, and that a correlation that parses can be resolved and
// run. Seeds live in testdata/fuzz/FuzzParseCorrelation.
func FuzzParseCorrelation(f *testing.F) {
	f.Add([]byte(corrDoc("  type: temporal_ordered\n  rules: [a, b]\n  group-by: [User]\n  timespan: 1m\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCorrelation(data)
		if err != nil {
			return
		}
		var rules []*Rule
		seen := map[string]bool{}
		for _, ref := range c.Rules {
			if !seen[ref] {
				seen[ref] = true
				rules = append(rules, &Rule{ID: ref, Title: ref, cond: orNode(nil)})
			}
		}
		ok, _ := ResolveCorrelations(rules, []*Correlation{c})
		cr := NewCorrelator(ok, CorrelatorOptions{MaxGroups: 3, MaxEntries: 3})
		for i := range 20 {
			ev := NewEvent(map[string]any{"User": fmt.Sprint(i % 4), "n": float64(i)})
			cr.Process(ev, t0.Add(time.Duration(i)*time.Second), rules[i%len(rules):i%len(rules)+1])
		}
	})
}
