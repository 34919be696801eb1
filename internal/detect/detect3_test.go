package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Custom rules of the tests below: a detection rule and correlations
// referring to it and to the built-in rules of newTestService.
const (
	// ruleSudo is a custom detection rule (name sudo_fail).
	ruleSudo = "title: Sudo failure\nid: 55555555-0000-4000-8000-000000000001\nname: sudo_fail\nlevel: medium\nlogsource:\n  product: test\n  service: auth\ndetection:\n  sel:\n    Program: sudo\n    Result: denied\n  condition: sel\n"
	// corrSudoSpray refers to the built-in failed_logon (by name) and
	// the custom sudo rule (by id): both within 5 minutes for a user.
	corrSudoSpray = "title: Logon then sudo failure\nid: 55555555-0000-4000-8000-000000000002\nlevel: critical\ncorrelation:\n  type: temporal_ordered\n  rules:\n    - failed_logon\n    - 55555555-0000-4000-8000-000000000001\n  group-by: [User]\n  timespan: 5m\n"
	// corrCount is an event_count over the custom rule.
	corrCount = "title: Sudo burst\nid: 55555555-0000-4000-8000-000000000003\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [sudo_fail]\n  group-by: [User]\n  timespan: 10m\n  condition:\n    gte: 2\n"
	// corrMissing names a rule no tenant has, on line 7.
	corrMissing = "title: Broken\nid: 55555555-0000-4000-8000-000000000004\ncorrelation:\n  type: temporal\n  rules:\n    - failed_logon\n    - no_such_rule\n  group-by: [User]\n  timespan: 5m\n"
)

func sudoEvent(user string) *Event {
	return NewEvent(map[string]any{"Program": "sudo", "Result": "denied", "User": user,
		"logsource": map[string]any{"product": "test", "service": "auth"}})
}

func corrTitles(d Detection) []string {
	var out []string
	for _, a := range d.Correlations {
		out = append(out, a.RuleTitle)
	}
	return out
}

// TestCustomCorrelation uploads correlation rules that refer to a
// built-in rule and to a custom one, sees them fire for their tenant
// only, survive a restart, turn off and on, and refuse what would not
// resolve, naming the line and the rule.
func TestCustomCorrelation(t *testing.T) {
	ctx := t.Context()
	st := newMemDetection()
	s := newTestService(t, st)

	// Before the custom rule exists, the correlation referring to it by
	// id is refused on the line of that reference (line 8).
	_, err := s.AddCustom(ctx, "a", []byte(corrSudoSpray), "u1")
	var re *RuleError
	if !errors.As(err, &re) || re.Line != 8 || !strings.Contains(re.Reason, "55555555-0000-4000-8000-000000000001") {
		t.Fatalf("reference to a missing rule: %v", err)
	}
	if _, err := s.AddCustom(ctx, "a", []byte(ruleSudo), "u1"); err != nil {
		t.Fatal(err)
	}
	ri, err := s.AddCustom(ctx, "a", []byte(corrSudoSpray), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if !ri.Custom || !ri.Correlation || !ri.Enabled || ri.Key != "55555555-0000-4000-8000-000000000002" {
		t.Fatalf("uploaded correlation %+v", ri)
	}
	if _, err := s.AddCustom(ctx, "a", []byte(corrCount), "u1"); err != nil {
		t.Fatal(err)
	}
	// A missing rule among several references: line 7 names it.
	_, err = s.AddCustom(ctx, "a", []byte(corrMissing), "u1")
	if !errors.As(err, &re) || re.Line != 7 || !strings.Contains(re.Reason, `"no_such_rule"`) {
		t.Fatalf("missing reference: %v", err)
	}
	// Tenant b has no sudo rule: the same correlation is refused there.
	if _, err := s.AddCustom(ctx, "b", []byte(corrSudoSpray), "u1"); !errors.As(err, &re) {
		t.Fatalf("tenant b referred to tenant a's rule: %v", err)
	}

	// Logon failure, then sudo failure of root: the ordered correlation
	// fires on the sudo event; the second sudo failure fires the count.
	if d := s.DetectEvent("a", "e1", logonEvent("root"), t0); len(d.Correlations) != 0 {
		t.Fatalf("first event: %v", corrTitles(d))
	}
	if got := corrTitles(s.DetectEvent("a", "e2", sudoEvent("root"), t0.Add(time.Minute))); !slices.Equal(got, []string{"Logon then sudo failure"}) {
		t.Fatalf("ordered correlation: %v", got)
	}
	if got := corrTitles(s.DetectEvent("a", "e3", sudoEvent("root"), t0.Add(2*time.Minute))); !slices.Equal(got, []string{"Sudo burst"}) {
		t.Fatalf("count correlation: %v", got)
	}
	// Tenant b runs none of it.
	s.DetectEvent("b", "b1", logonEvent("root"), t0)
	if got := corrTitles(s.DetectEvent("b", "b2", sudoEvent("root"), t0.Add(time.Minute))); len(got) != 0 {
		t.Fatalf("a's correlation fired for b: %v", got)
	}
	// The list shows them as custom correlations.
	var listed []string
	for _, ri := range s.List("a", RuleFilter{Custom: true}) {
		if ri.Correlation {
			listed = append(listed, ri.Title)
		}
	}
	if !slices.Equal(listed, []string{"Logon then sudo failure", "Sudo burst"}) {
		t.Fatalf("listed %v", listed)
	}

	// Turned off for the tenant, the count does not fire; back on, it does.
	if err := s.SetEnabled(ctx, "a", "55555555-0000-4000-8000-000000000003", false, "u1"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got := corrTitles(s.DetectEvent("a", fmt.Sprint("off", i), sudoEvent("bob"), t0.Add(3*time.Minute))); slices.Contains(got, "Sudo burst") {
			t.Fatal("disabled correlation fired")
		}
	}
	if err := s.SetEnabled(ctx, "a", "55555555-0000-4000-8000-000000000003", true, "u1"); err != nil {
		t.Fatal(err)
	}

	// The custom rule a correlation refers to cannot be deleted.
	err = s.DeleteCustom(ctx, "a", "55555555-0000-4000-8000-000000000001")
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "Sudo burst") && !strings.Contains(re.Reason, "Logon then sudo failure") {
		t.Fatalf("delete of a referenced rule: %v", err)
	}

	// After a restart on the same store: still loaded, still disabled
	// state remembered, still firing.
	again := newTestService(t, st)
	again.DetectEvent("a", "r1", sudoEvent("carol"), t0.Add(4*time.Minute))
	if got := corrTitles(again.DetectEvent("a", "r2", sudoEvent("carol"), t0.Add(5*time.Minute))); !slices.Equal(got, []string{"Sudo burst"}) {
		t.Fatalf("after restart: %v", got)
	}
	_, src, err := again.Rule("a", "55555555-0000-4000-8000-000000000003")
	if err != nil || string(src) != corrCount {
		t.Fatalf("source after restart: %q %v", src, err)
	}
	// Deleting the correlations first lets the rule go.
	for _, id := range []string{"55555555-0000-4000-8000-000000000002", "55555555-0000-4000-8000-000000000003", "55555555-0000-4000-8000-000000000001"} {
		if err := again.DeleteCustom(ctx, "a", id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	if got, _ := st.CustomRules(ctx, "a"); len(got) != 0 {
		t.Fatalf("left in the store: %+v", got)
	}
}

// TestCustomCorrelationTest pastes a correlation and sample events into
// "test this rule": the correlation fires on the line that completes it.
func TestCustomCorrelationTest(t *testing.T) {
	s := newTestService(t, nil)
	if _, err := s.AddCustom(t.Context(), "a", []byte(ruleSudo), "u1"); err != nil {
		t.Fatal(err)
	}
	sample := []byte(`{"Program":"sudo","Result":"denied","User":"root","@timestamp":"2026-01-02T03:00:00Z","logsource":{"product":"test","service":"auth"}}
{"Outcome":"failure","User":"root","@timestamp":"2026-01-02T03:01:00Z","logsource":{"product":"test","service":"auth"}}
{"Program":"sudo","Result":"denied","User":"alice","@timestamp":"2026-01-02T03:02:00Z","logsource":{"product":"test","service":"auth"}}
{"Program":"sudo","Result":"denied","User":"root","@timestamp":"2026-01-02T03:03:00Z","logsource":{"product":"test","service":"auth"}}
`)
	// Line 1 (sudo before any logon failure) does not start the chain;
	// line 2 (logon failure of root) does, line 4 (sudo of root)
	// completes it. Worked out by hand from the rule.
	res, err := s.Test("a", []byte(corrSudoSpray), "", sample, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 4 || len(res.Matches) != 1 || res.Matches[0].Line != 4 || !res.Matches[0].Correlation || !res.Rule.Correlation {
		t.Fatalf("result %+v", res)
	}
	// A pasted correlation with a missing reference names its line.
	_, err = s.Test("a", []byte(corrMissing), "", sample, nil)
	var re *RuleError
	if !errors.As(err, &re) || re.Line != 7 {
		t.Fatalf("missing reference: %v", err)
	}
	// Stored, it is tested by key.
	if _, err := s.AddCustom(t.Context(), "a", []byte(corrCount), "u1"); err != nil {
		t.Fatal(err)
	}
	res, err = s.Test("a", nil, "55555555-0000-4000-8000-000000000003", sample, nil)
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Line != 4 {
		t.Fatalf("stored correlation: %+v %v", res, err)
	}
}

// TestCustomCorrelationBaseGone reloads the built-in rules without the
// one a custom correlation refers to: the correlation is listed with the
// problem and stops, and comes back when the rule does.
func TestCustomCorrelationBaseGone(t *testing.T) {
	s := newTestService(t, newMemDetection())
	if _, err := s.AddCustom(t.Context(), "a", []byte(ruleSudo), "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCustom(t.Context(), "a", []byte(corrSudoSpray), "u1"); err != nil {
		t.Fatal(err)
	}
	base, corrs := s.base, s.corrs
	s.SetBase(base[:1], nil) // Whoami only: failed_logon is gone
	ri, _, err := s.Rule("a", "55555555-0000-4000-8000-000000000002")
	if err != nil || ri.Enabled || !strings.Contains(ri.Problem, "failed_logon") {
		t.Fatalf("correlation after its rule left: %+v %v", ri, err)
	}
	s.SetBase(base, corrs)
	s.DetectEvent("a", "1", logonEvent("root"), t0)
	if got := corrTitles(s.DetectEvent("a", "2", sudoEvent("root"), t0.Add(time.Minute))); !slices.Equal(got, []string{"Logon then sudo failure"}) {
		t.Fatalf("after the rule came back: %v", got)
	}
}

// TestReplayDoesNotRecount feeds a batch, replays it as a retried batch
// would be, and checks the counts did not move: the threshold is reached
// only by a new event, and a replay of the batch that fired does not
// fire again, also after a snapshot and restore.
func TestReplayDoesNotRecount(t *testing.T) {
	for _, typ := range []string{"event_count", "value_count", "temporal"} {
		t.Run(typ, func(t *testing.T) {
			rules, corr := replayRules(t, typ)
			cr := NewCorrelator(corr, CorrelatorOptions{})
			feed := func(cr *Correlator, id string, i int) []*CorrelationAlert {
				ev := NewEvent(map[string]any{"User": "root", "Host": fmt.Sprint("h", i), "k": fmt.Sprint(i % 2)})
				var matched []*Rule
				for _, r := range rules {
					if r.Matches(ev) {
						matched = append(matched, r)
					}
				}
				return cr.ProcessEvent(id, ev, t0.Add(time.Duration(i)*time.Second), matched)
			}
			// Batch of events 0 and 1: below every threshold (3).
			for round := range 3 {
				for i := range 2 {
					if a := feed(cr, fmt.Sprint("ev", i), i); len(a) != 0 {
						t.Fatalf("round %d event %d fired", round, i)
					}
				}
			}
			if cr.Stats().Replayed != 4 {
				t.Fatalf("replayed %d, want 4", cr.Stats().Replayed)
			}
			// A new event crosses the threshold once.
			if a := feed(cr, "ev2", 2); len(a) != 1 {
				t.Fatalf("third event: %d alerts", len(a))
			}
			// Replaying the batch that fired changes nothing.
			for i := range 3 {
				if a := feed(cr, fmt.Sprint("ev", i), i); len(a) != 0 {
					t.Fatalf("replay of event %d fired again", i)
				}
			}
			// Nor after a restart from a snapshot.
			snap, err := cr.Snapshot(0)
			if err != nil {
				t.Fatal(err)
			}
			cr2 := NewCorrelator(corr, CorrelatorOptions{})
			if _, err := cr2.Restore(snap); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if a := feed(cr2, fmt.Sprint("ev", i), i); len(a) != 0 {
					t.Fatalf("replay after restore of event %d fired", i)
				}
			}
			// Without IDs every delivery counts, as before.
			cr3 := NewCorrelator(corr, CorrelatorOptions{})
			fired := 0
			for range 3 {
				for i := range 2 {
					fired += len(feed(cr3, "", i))
				}
			}
			if typ == "event_count" && fired == 0 {
				t.Fatal("without ids a replay should count again")
			}
		})
	}
}

// replayRules are three rules on User=root and a correlation of the
// given type with threshold 3 over them.
func replayRules(t *testing.T, typ string) ([]*Rule, []*Correlation) {
	t.Helper()
	var rules []*Rule
	for i, sel := range []string{"User: root", "k: '0'", "k: '1'"} {
		r, err := ParseRule(fmt.Appendf(nil, "title: r%d\nid: 66666666-0000-4000-8000-00000000000%d\nname: r%d\nlogsource:\n  product: test\ndetection:\n  sel:\n    %s\n  condition: sel\n", i, i, i, sel))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	var body string
	switch typ {
	case "event_count":
		body = "  type: event_count\n  rules: [r0]\n  group-by: [User]\n  timespan: 1h\n  condition: {gte: 3}\n"
	case "value_count":
		body = "  type: value_count\n  rules: [r0]\n  group-by: [User]\n  timespan: 1h\n  condition: {gte: 3, field: Host}\n"
	case "temporal":
		// Event 0 matches r1, event 1 r2, event 2 r1 and r3: all
		// three rules are seen only once event 2 arrives.
		r, err := ParseRule([]byte("title: r3\nid: 66666666-0000-4000-8000-000000000003\nname: r3\nlogsource:\n  product: test\ndetection:\n  sel:\n    Host: h2\n  condition: sel\n"))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
		body = "  type: temporal\n  rules: [r1, r2, r3]\n  group-by: [User]\n  timespan: 1h\n"
	}
	c, err := ParseCorrelation([]byte("title: c\nid: 66666666-0000-4000-8000-0000000000ff\ncorrelation:\n" + body))
	if err != nil {
		t.Fatal(err)
	}
	ok, errs := ResolveCorrelations(rules, []*Correlation{c})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return rules, ok
}

// TestSnapshotsPerNode runs two nodes on one store: each saves its own
// snapshot, both survive, and each restarts with its own windows.
func TestSnapshotsPerNode(t *testing.T) {
	st := newMemDetection()
	node := func(id string) *Service {
		t.Helper()
		s := newTestService(t, nil)
		s.opts.Store, s.opts.NodeID = st, id
		if err := s.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	n1, n2 := node("ingest-1"), node("ingest-2")
	// Node 1 saw two failed logons of root, node 2 two of alice.
	for i := range 2 {
		n1.DetectEvent("a", fmt.Sprint("n1-", i), logonEvent("root"), t0.Add(time.Duration(i)*time.Minute))
		n2.DetectEvent("a", fmt.Sprint("n2-", i), logonEvent("alice"), t0.Add(time.Duration(i)*time.Minute))
	}
	if err := n1.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := n2.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	states, _ := st.CorrelationStates(t.Context())
	if len(states) != 2 {
		t.Fatalf("%d snapshots stored, want one per node", len(states))
	}
	// Each node restarts with its own windows: a third failure of its
	// user fires, the other node's user does not.
	r1, r2 := node("ingest-1"), node("ingest-2")
	if got := corrTitles(r1.DetectEvent("a", "x1", logonEvent("root"), t0.Add(3*time.Minute))); !slices.Equal(got, []string{"Brute force"}) {
		t.Fatalf("node 1 after restart: %v", got)
	}
	if got := corrTitles(r2.DetectEvent("a", "x2", logonEvent("alice"), t0.Add(3*time.Minute))); !slices.Equal(got, []string{"Brute force"}) {
		t.Fatalf("node 2 after restart: %v", got)
	}
	if got := corrTitles(r1.DetectEvent("a", "x3", logonEvent("alice"), t0.Add(3*time.Minute))); len(got) != 0 {
		t.Fatalf("node 1 took node 2's window: %v", got)
	}
	// A snapshot saved before nodes were told apart (node "") is taken
	// by a node that has none of its own.
	legacy := newMemDetection()
	old := newTestService(t, legacy)
	for i := range 2 {
		old.DetectEvent("a", fmt.Sprint(i), logonEvent("root"), t0.Add(time.Duration(i)*time.Minute))
	}
	if err := old.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	up := newTestService(t, nil)
	up.opts.Store, up.opts.NodeID = legacy, "ingest-9"
	if err := up.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := corrTitles(up.DetectEvent("a", "y", logonEvent("root"), t0.Add(3*time.Minute))); !slices.Equal(got, []string{"Brute force"}) {
		t.Fatalf("legacy snapshot not taken over: %v", got)
	}
}

var _ store.DetectionStore = (*memDetection)(nil)

// TestServiceReplayedBatch delivers a batch of two failed logons three
// times, as a sink retrying after a store failure would: the brute force
// correlation (three in ten minutes) does not fire until a third event.
func TestServiceReplayedBatch(t *testing.T) {
	s := newTestService(t, nil)
	for range 3 {
		for i := range 2 {
			if d := s.DetectEvent("a", fmt.Sprint("batch-", i), logonEvent("root"), t0.Add(time.Duration(i)*time.Second)); len(d.Correlations) != 0 {
				t.Fatalf("replayed batch fired %v", corrTitles(d))
			}
		}
	}
	if got := corrTitles(s.DetectEvent("a", "new", logonEvent("root"), t0.Add(time.Minute))); !slices.Equal(got, []string{"Brute force"}) {
		t.Fatalf("third event: %v", got)
	}
}
