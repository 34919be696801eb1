package detect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// memDetection is an in-memory store.DetectionStore for the Service's
// tests (the SQL drivers run the conformance suite in storetest).
type memDetection struct {
	mu       sync.Mutex
	rules    map[[2]string]store.CustomRule
	settings map[[2]string]store.RuleSetting
	states   map[string]store.CorrelationState
}

func newMemDetection() *memDetection {
	return &memDetection{rules: map[[2]string]store.CustomRule{}, settings: map[[2]string]store.RuleSetting{}, states: map[string]store.CorrelationState{}}
}

func (m *memDetection) PutCustomRule(_ context.Context, r *store.CustomRule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rules[[2]string{r.TenantID, r.ID}] = *r
	return nil
}

func (m *memDetection) DeleteCustomRule(_ context.Context, tenantID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[[2]string{tenantID, id}]; !ok {
		return store.ErrNotFound
	}
	delete(m.rules, [2]string{tenantID, id})
	return nil
}

func (m *memDetection) CustomRules(_ context.Context, tenantID string) ([]store.CustomRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.CustomRule
	for k, r := range m.rules {
		if tenantID == "" || k[0] == tenantID {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memDetection) SetRuleEnabled(_ context.Context, s *store.RuleSetting) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings[[2]string{s.TenantID, s.RuleID}] = *s
	return nil
}

func (m *memDetection) RuleSettings(_ context.Context, tenantID string) ([]store.RuleSetting, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.RuleSetting
	for k, s := range m.settings {
		if tenantID == "" || k[0] == tenantID {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memDetection) SaveCorrelationState(_ context.Context, s *store.CorrelationState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[s.TenantID+"|"+s.NodeID] = *s
	return nil
}

func (m *memDetection) CorrelationStates(context.Context) ([]store.CorrelationState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.CorrelationState
	for _, s := range m.states {
		out = append(out, s)
	}
	return out, nil
}

func (m *memDetection) DeleteCorrelationState(_ context.Context, tenantID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.states {
		if s.TenantID == tenantID {
			delete(m.states, k)
		}
	}
	return nil
}

const (
	ruleWhoami = "title: Whoami\nid: 11111111-0000-4000-8000-000000000001\nlevel: medium\ntags: [attack.t1033]\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n"
	ruleLogon  = "title: Failed logon\nid: 11111111-0000-4000-8000-000000000002\nname: failed_logon\nlevel: low\nlogsource:\n  product: test\n  service: auth\ndetection:\n  sel:\n    Outcome: failure\n  condition: sel\n"
	corrBrute  = "title: Brute force\nid: 11111111-0000-4000-8000-000000000003\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [User]\n  timespan: 10m\n  condition: {gte: 3}\n"
)

// newTestService builds a Service over the three documents above, as a
// process start would: parse, resolve, load from the store.
func newTestService(t *testing.T, st store.DetectionStore) *Service {
	t.Helper()
	var rules []*Rule
	for _, d := range []string{ruleWhoami, ruleLogon} {
		r, err := ParseRule([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		r.Path = r.Title + ".yml"
		rules = append(rules, r)
	}
	c, err := ParseCorrelation([]byte(corrBrute))
	if err != nil {
		t.Fatal(err)
	}
	corrs, errs := ResolveCorrelations(rules, []*Correlation{c})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := NewService(rules, corrs, ServiceOptions{Store: st})
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func svcProcEvent(image string) *Event {
	return NewEvent(map[string]any{"Image": image, "logsource": map[string]any{"product": "test", "category": "process_creation"}})
}

func logonEvent(user string) *Event {
	return NewEvent(map[string]any{"Outcome": "failure", "User": user, "logsource": map[string]any{"product": "test", "service": "auth"}})
}

func titles(d Detection) []string {
	var out []string
	for _, r := range d.Rules {
		out = append(out, r.Title)
	}
	for _, a := range d.Correlations {
		out = append(out, "corr:"+a.RuleTitle)
	}
	return out
}

func TestServiceEnableDisablePerTenant(t *testing.T) {
	st := newMemDetection()
	s := newTestService(t, st)
	ev := svcProcEvent(`C:\Windows\System32\whoami.exe`)
	if got := titles(s.Detect("a", ev, t0)); !slices.Equal(got, []string{"Whoami"}) {
		t.Fatalf("before: %v", got)
	}
	ctx := t.Context()
	if err := s.SetEnabled(ctx, "a", "11111111-0000-4000-8000-000000000001", false, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := titles(s.Detect("a", ev, t0)); len(got) != 0 {
		t.Fatalf("disabled rule fired for a: %v", got)
	}
	if got := titles(s.Detect("b", ev, t0)); !slices.Equal(got, []string{"Whoami"}) {
		t.Fatalf("b lost the rule: %v", got)
	}
	if err := s.SetEnabled(ctx, "a", "no-such-rule", false, "u1"); !errors.Is(err, ErrUnknownRule) {
		t.Fatalf("unknown rule: %v", err)
	}
	// The choice survives a restart.
	again := newTestService(t, st)
	if got := titles(again.Detect("a", ev, t0)); len(got) != 0 {
		t.Fatalf("disabled rule fired after restart: %v", got)
	}
	list := again.List("a", RuleFilter{Disabled: true})
	if len(list) != 1 || list[0].Title != "Whoami" || list[0].Enabled {
		t.Fatalf("disabled list %+v", list)
	}
	if err := again.SetEnabled(ctx, "a", "11111111-0000-4000-8000-000000000001", true, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := titles(again.Detect("a", ev, t0)); !slices.Equal(got, []string{"Whoami"}) {
		t.Fatalf("re-enabled: %v", got)
	}
}

func TestServiceList(t *testing.T) {
	s := newTestService(t, nil)
	all := s.List("a", RuleFilter{})
	if len(all) != 3 || all[0].Title != "Brute force" || !all[0].Correlation {
		t.Fatalf("list %+v", all)
	}
	for _, tc := range []struct {
		f    RuleFilter
		want []string
	}{
		{RuleFilter{Query: "WHO"}, []string{"Whoami"}},
		{RuleFilter{Tag: "t1033"}, []string{"Whoami"}},
		{RuleFilter{Level: "high"}, []string{"Brute force"}},
		{RuleFilter{LogSource: "auth"}, []string{"Failed logon"}},
		{RuleFilter{LogSource: "process"}, []string{"Whoami"}},
		{RuleFilter{Query: "11111111-0000-4000-8000-000000000002"}, []string{"Failed logon"}},
	} {
		var got []string
		for _, ri := range s.List("a", tc.f) {
			got = append(got, ri.Title)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestServiceCustomRules(t *testing.T) {
	st := newMemDetection()
	s := newTestService(t, st)
	ctx := t.Context()
	bad := []struct {
		src  string
		line int
		text string
	}{
		// Line 2 starts with a tab, which YAML refuses.
		{"title: x\n\tid: 22222222-0000-4000-8000-000000000001\n", 2, "yaml"},
		// The unknown modifier sits on line 7.
		{"title: x\nid: 22222222-0000-4000-8000-000000000001\nlogsource:\n  product: test\ndetection:\n  sel:\n    Image|nosuchmod: a\n  condition: sel\n", 7, "nosuchmod"},
		// The condition on line 7 names a selection that does not exist.
		{"title: x\nid: 22222222-0000-4000-8000-000000000001\nlogsource:\n  product: test\ndetection:\n  sel: {A: b}\n  condition: other\n", 7, "other"},
		// A built-in rule's id is refused on the id line (2).
		{"title: x\nid: 11111111-0000-4000-8000-000000000001\nlogsource:\n  product: test\ndetection:\n  sel: {A: b}\n  condition: sel\n", 2, "built-in"},
		// A correlation with a built-in correlation's id.
		{corrBrute, 2, "built-in"},
	}
	for _, b := range bad {
		_, err := s.AddCustom(ctx, "a", []byte(b.src), "u1")
		var re *RuleError
		if !errors.As(err, &re) || !errors.Is(err, ErrInvalidRule) {
			t.Errorf("%q: error %v is not a RuleError", b.src, err)
			continue
		}
		if re.Line != b.line || !strings.Contains(strings.ToLower(re.Reason), strings.ToLower(b.text)) {
			t.Errorf("%q: %v, want line %d mentioning %q", b.src, re, b.line, b.text)
		}
	}
	if got, _ := st.CustomRules(ctx, ""); len(got) != 0 {
		t.Fatalf("refused rules were stored: %+v", got)
	}
	custom := "title: Net user\nid: 33333333-0000-4000-8000-000000000001\nlevel: high\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\net.exe'\n  condition: sel\n"
	if _, err := s.AddCustom(ctx, "a", []byte(custom), "u1"); err != nil {
		t.Fatal(err)
	}
	ev := svcProcEvent(`C:\Windows\System32\net.exe`)
	if got := titles(s.Detect("a", ev, t0)); !slices.Equal(got, []string{"Net user"}) {
		t.Fatalf("custom rule for a: %v", got)
	}
	if got := titles(s.Detect("b", ev, t0)); len(got) != 0 {
		t.Fatalf("a's custom rule fired for b: %v", got)
	}
	again := newTestService(t, st)
	if got := titles(again.Detect("a", ev, t0)); !slices.Equal(got, []string{"Net user"}) {
		t.Fatalf("custom rule after restart: %v", got)
	}
	ri, src, err := again.Rule("a", "33333333-0000-4000-8000-000000000001")
	if err != nil || !ri.Custom || string(src) != custom {
		t.Fatalf("Rule: %+v %q %v", ri, src, err)
	}
	if err := again.DeleteCustom(ctx, "a", "33333333-0000-4000-8000-000000000001"); err != nil {
		t.Fatal(err)
	}
	if got := titles(again.Detect("a", ev, t0)); len(got) != 0 {
		t.Fatalf("deleted rule fired: %v", got)
	}
	if got, _ := st.CustomRules(ctx, "a"); len(got) != 0 {
		t.Fatalf("deleted rule still stored")
	}
}

func TestServiceTestRule(t *testing.T) {
	s := newTestService(t, nil)
	sample := []byte(`{"Image":"C:\\Windows\\System32\\whoami.exe","logsource":{"product":"test","category":"process_creation"}}

not json
{"Image":"C:\\Windows\\explorer.exe","logsource":{"product":"test","category":"process_creation"}}
{"Image":"D:\\tools\\WHOAMI.EXE","logsource":{"product":"test","category":"process_creation"}}
`)
	res, err := s.Test("a", nil, "11111111-0000-4000-8000-000000000001", sample, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, m := range res.Matches {
		lines = append(lines, m.Line)
	}
	if res.Events != 3 || !slices.Equal(lines, []int{1, 5}) || len(res.Errors) != 1 || res.Errors[0].Line != 3 {
		t.Fatalf("result %+v", res)
	}
	// A pasted rule, not stored, tested the same way.
	res, err = s.Test("a", []byte("title: Explorer\nid: 44444444-0000-4000-8000-000000000001\nlogsource:\n  product: test\ndetection:\n  sel:\n    Image|contains: explorer\n  condition: sel\n"), "", sample, nil)
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Line != 4 {
		t.Fatalf("pasted rule: %+v %v", res, err)
	}
	if len(s.List("a", RuleFilter{Custom: true})) != 0 {
		t.Fatal("testing a pasted rule stored it")
	}
	// A correlation is tested over its referenced rules.
	var logons []byte
	for i := range 3 {
		logons = append(logons, []byte(`{"Outcome":"failure","User":"root","@timestamp":"2026-01-02T03:0`+string(rune('0'+i))+`:00Z","logsource":{"product":"test","service":"auth"}}`+"\n")...)
	}
	res, err = s.Test("a", nil, "11111111-0000-4000-8000-000000000003", logons, nil)
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Line != 3 || !res.Matches[0].Correlation {
		t.Fatalf("correlation test: %+v %v", res, err)
	}
}

// TestServiceCorrelationSurvivesRestart saves the state of a correlation
// two matches into its window, starts a new Service on the same store and
// sees the third match fire, and a Service without the snapshot not.
func TestServiceCorrelationSurvivesRestart(t *testing.T) {
	st := newMemDetection()
	s := newTestService(t, st)
	for i := range 2 {
		if d := s.Detect("a", logonEvent("root"), t0.Add(time.Duration(i)*time.Minute)); len(d.Correlations) != 0 || len(d.Rules) != 0 {
			t.Fatalf("match %d: %v (the referenced rule is not standalone)", i, titles(d))
		}
	}
	if err := s.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(st.states) != 1 {
		t.Fatalf("states saved: %d", len(st.states))
	}
	again := newTestService(t, st)
	if got := titles(again.Detect("a", logonEvent("root"), t0.Add(3*time.Minute))); !slices.Equal(got, []string{"corr:Brute force"}) {
		t.Fatalf("after restart: %v", got)
	}
	cold := newTestService(t, newMemDetection())
	if got := titles(cold.Detect("a", logonEvent("root"), t0.Add(3*time.Minute))); len(got) != 0 {
		t.Fatalf("without state: %v", got)
	}
	// Run saves at shutdown.
	st2 := newMemDetection()
	s2 := newTestService(t, st2)
	s2.Detect("b", logonEvent("x"), t0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s2.Run(ctx, time.Hour); close(done) }()
	cancel()
	<-done
	if _, ok := st2.states["b|"]; !ok {
		t.Fatal("Run did not save at shutdown")
	}
}
