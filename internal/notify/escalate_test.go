package notify

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // quiet-hour zones without the host's zoneinfo

	"github.com/google/go-cmp/cmp"
)

type firingLog struct {
	mu sync.Mutex
	f  []Firing
}

func (l *firingLog) fire(_ context.Context, f Firing) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f = append(l.f, f)
	return nil
}

// steps returns "step:channels:oncall" for each firing.
func (l *firingLog) steps() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, f := range l.f {
		out = append(out, strings.Join([]string{f.Rule, string(rune('0' + f.Step)), strings.Join(f.Channels, "+"), f.OnCall}, ":"))
	}
	return out
}

func (l *firingLog) last() Firing {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f[len(l.f)-1]
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func oncallRule() Rule {
	return Rule{
		Name: "soc", Tenant: "acme", Kinds: []Kind{KindAlert, KindKEVMatch}, MinSeverity: SeverityHigh,
		Steps: []Step{
			{Channels: []string{"wecom-ops"}, After: 10 * time.Minute},
			{Channels: []string{"sms-oncall"}, After: 20 * time.Minute, NotifyOnCall: true},
			{Channels: []string{"email-manager", "dingtalk-lead"}},
		},
		OnCall: &Rotation{People: []string{"li", "wang", "zhang"}, Period: 24 * time.Hour, Start: fixedNow.Add(-36 * time.Hour)},
	}
}

func newTestEngine(t *testing.T, clock Clock, rules ...Rule) (*Engine, *firingLog) {
	t.Helper()
	fl := &firingLog{}
	e, err := NewEngine(EngineOptions{Rules: rules, Clock: clock, Key: testKey, AckBaseURL: "https://vigil.example/ack", Fire: fl.fire})
	if err != nil {
		t.Fatal(err)
	}
	return e, fl
}

func tickAfter(t *testing.T, e *Engine, c *manualClock, d time.Duration) {
	t.Helper()
	c.Advance(d)
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEscalationStepsWithoutAck(t *testing.T) {
	clock := newManualClock(fixedNow)
	e, fl := newTestEngine(t, clock, oncallRule())
	ids, err := e.Raise(context.Background(), testMessage())
	if err != nil || len(ids) != 1 {
		t.Fatalf("raise: %v %v", ids, err)
	}
	want := []string{"soc:1:wecom-ops:"}
	if diff := cmp.Diff(want, fl.steps()); diff != "" {
		t.Fatalf("at raise (-want +got):\n%s", diff)
	}
	tickAfter(t, e, clock, 9*time.Minute+59*time.Second)
	if diff := cmp.Diff(want, fl.steps()); diff != "" {
		t.Fatalf("before 10m (-want +got):\n%s", diff)
	}
	tickAfter(t, e, clock, time.Second)
	// The rotation started 36h ago with 24h turns: the second person is on call.
	want = append(want, "soc:2:sms-oncall:wang")
	if diff := cmp.Diff(want, fl.steps()); diff != "" {
		t.Fatalf("at 10m (-want +got):\n%s", diff)
	}
	tickAfter(t, e, clock, 19*time.Minute)
	if len(fl.steps()) != 2 {
		t.Fatalf("step 3 early: %v", fl.steps())
	}
	tickAfter(t, e, clock, time.Minute)
	want = append(want, "soc:3:email-manager+dingtalk-lead:")
	if diff := cmp.Diff(want, fl.steps()); diff != "" {
		t.Fatalf("at 30m (-want +got):\n%s", diff)
	}
	tickAfter(t, e, clock, 24*time.Hour)
	if len(fl.steps()) != 3 {
		t.Fatalf("fired after the last step: %v", fl.steps())
	}
}

func ackToken(t *testing.T, f Firing) string {
	t.Helper()
	u, err := url.Parse(f.Message.AckURL)
	if err != nil || !strings.HasPrefix(f.Message.AckURL, "https://vigil.example/ack?token=") {
		t.Fatalf("ack url %q: %v", f.Message.AckURL, err)
	}
	return u.Query().Get("token")
}

func TestEscalationAckStops(t *testing.T) {
	clock := newManualClock(fixedNow)
	e, fl := newTestEngine(t, clock, oncallRule())
	ids, err := e.Raise(context.Background(), testMessage())
	if err != nil {
		t.Fatal(err)
	}
	tickAfter(t, e, clock, 10*time.Minute)
	if len(fl.steps()) != 2 {
		t.Fatalf("steps %v", fl.steps())
	}
	tickAfter(t, e, clock, 5*time.Minute)
	id, err := e.Ack(context.Background(), ackToken(t, fl.last()), "wang")
	if err != nil || id != ids[0] {
		t.Fatalf("ack: %q %v", id, err)
	}
	// Acknowledging twice is harmless.
	if _, err := e.Ack(context.Background(), ackToken(t, fl.last()), "wang"); err != nil {
		t.Fatal(err)
	}
	tickAfter(t, e, clock, time.Hour)
	if len(fl.steps()) != 2 {
		t.Fatalf("escalated after ack: %v", fl.steps())
	}
	esc, err := e.opts.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !esc.Done || esc.AckedBy != "wang" || !esc.AckedAt.Equal(fixedNow.Add(15*time.Minute)) {
		t.Errorf("state %+v", esc)
	}
}

func TestAckTokenForgery(t *testing.T) {
	clock := newManualClock(fixedNow)
	e, fl := newTestEngine(t, clock, oncallRule())
	if _, err := e.Raise(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	good := ackToken(t, fl.last())
	payload, sig, _ := strings.Cut(good, ".")
	other, _ := NewEngine(EngineOptions{Key: []byte("another-key-another-key-another-k"), Fire: fl.fire})
	for name, tok := range map[string]string{
		"empty":         "",
		"no signature":  payload,
		"bad base64":    payload + ".!!!",
		"swapped sig":   other.AckToken("msg-1/soc", fixedNow.Add(time.Hour)),
		"forged id":     e.AckToken("x", fixedNow.Add(time.Hour))[:10] + "." + sig,
		"expired":       e.AckToken("msg-1/soc", fixedNow.Add(-time.Second)),
		"truncated sig": payload + "." + sig[:10],
	} {
		if _, err := e.Ack(context.Background(), tok, "mallory"); !errors.Is(err, ErrBadAckToken) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// A validly signed token for an unknown escalation is not found.
	if _, err := e.Ack(context.Background(), e.AckToken("nope", fixedNow.Add(time.Hour)), "x"); !errors.Is(err, ErrEscalationNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	// The link expires after AckTTL.
	clock.Advance(73 * time.Hour)
	if _, err := e.Ack(context.Background(), good, "late"); !errors.Is(err, ErrBadAckToken) {
		t.Errorf("after ttl: %v", err)
	}
}

func TestEscalationQuietHours(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 29, 23, 30, 0, 0, shanghai)
	rule := oncallRule()
	rule.QuietHours = &QuietHours{Zone: "Asia/Shanghai", Start: "22:00", End: "07:00", Bypass: []Severity{SeverityCritical}}

	clock := newManualClock(start)
	e, fl := newTestEngine(t, clock, rule)
	if _, err := e.Raise(context.Background(), testMessage()); err != nil { // high: held
		t.Fatal(err)
	}
	if len(fl.steps()) != 0 {
		t.Fatalf("fired in quiet hours: %v", fl.steps())
	}
	crit := testMessage()
	crit.ID, crit.Severity = "msg-crit", SeverityCritical
	if _, err := e.Raise(context.Background(), crit); err != nil {
		t.Fatal(err)
	}
	if len(fl.steps()) != 1 || fl.last().Message.ID != "msg-crit" {
		t.Fatalf("critical did not bypass: %v", fl.steps())
	}
	// The critical one's step 2 falls at 23:40, still quiet, and it bypasses.
	tickAfter(t, e, clock, 10*time.Minute)
	if len(fl.steps()) != 2 {
		t.Fatalf("critical step 2: %v", fl.steps())
	}
	// 06:59 next morning: still held.
	tickAfter(t, e, clock, 7*time.Hour+19*time.Minute)
	for _, f := range fl.f {
		if f.Message.ID == "msg-1" {
			t.Fatalf("high fired at %v", clock.Now().In(shanghai))
		}
	}
	tickAfter(t, e, clock, time.Minute) // 07:00
	if f := fl.last(); f.Message.ID != "msg-1" || f.Step != 1 {
		t.Fatalf("at 07:00 got %+v", fl.steps())
	}
}

func TestEscalationRuleMatching(t *testing.T) {
	clock := newManualClock(fixedNow)
	e, fl := newTestEngine(t, clock, oncallRule())
	for name, mut := range map[string]func(*Message){
		"other tenant": func(m *Message) { m.Tenant = "globex" },
		"low severity": func(m *Message) { m.Severity = SeverityMedium },
		"other kind":   func(m *Message) { m.Kind = KindDigest },
	} {
		m := testMessage()
		mut(&m)
		ids, err := e.Raise(context.Background(), m)
		if err != nil || len(ids) != 0 {
			t.Errorf("%s: %v %v", name, ids, err)
		}
	}
	if len(fl.steps()) != 0 {
		t.Errorf("fired: %v", fl.steps())
	}
}

func TestRotation(t *testing.T) {
	r := &Rotation{People: []string{"a", "b", "c"}, Period: time.Hour, Start: fixedNow}
	for _, tc := range []struct {
		at   time.Duration
		want string
	}{{0, "a"}, {59 * time.Minute, "a"}, {time.Hour, "b"}, {5 * time.Hour, "c"}, {-time.Minute, "c"}, {-time.Hour, "c"}, {-61 * time.Minute, "b"}} {
		if got := r.Person(fixedNow.Add(tc.at)); got != tc.want {
			t.Errorf("at %v: %q, want %q", tc.at, got, tc.want)
		}
	}
}

func TestRuleCheck(t *testing.T) {
	for name, r := range map[string]Rule{
		"no steps":   {Name: "x"},
		"zero after": {Name: "x", Steps: []Step{{Channels: []string{"a"}}, {Channels: []string{"b"}}}},
		"nobody":     {Name: "x", Steps: []Step{{}}},
		"bad zone":   {Name: "x", Steps: []Step{{Channels: []string{"a"}}}, QuietHours: &QuietHours{Zone: "Mars/Base", Start: "22:00", End: "07:00"}},
		"bad clock":  {Name: "x", Steps: []Step{{Channels: []string{"a"}}}, QuietHours: &QuietHours{Zone: "UTC", Start: "25:00", End: "07:00"}},
		"bad kind":   {Name: "x", Kinds: []Kind{"spam"}, Steps: []Step{{Channels: []string{"a"}}}},
	} {
		if err := r.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Escalation steps reach the dispatcher's channels.
func TestEscalationThroughDispatcher(t *testing.T) {
	clock := newManualClock(fixedNow)
	ops, oncall := newFakeChannel("wecom-ops", nil), newFakeChannel("sms-oncall", nil)
	d := NewDispatcher(DispatcherOptions{Clock: clock})
	defer d.Close()
	_ = d.AddChannel("wecom-ops", ops, RateLimit{Count: 20, Per: time.Minute})
	_ = d.AddChannel("sms-oncall", oncall, RateLimit{})
	rule := oncallRule()
	rule.Steps = rule.Steps[:2]
	e, err := NewEngine(EngineOptions{Rules: []Rule{rule}, Clock: clock, Key: testKey, AckBaseURL: "https://vigil.example/ack", Fire: FireTo(d)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Raise(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, ops.sends); m.ID != "msg-1" || m.AckURL == "" {
		t.Errorf("step 1 message %+v", m)
	}
	tickAfter(t, e, clock, 10*time.Minute)
	receive(t, oncall.sends)
	d.Close()
	if err := d.Enqueue(context.Background(), "sms-oncall", testMessage()); !errors.Is(err, ErrClosed) {
		t.Errorf("enqueue after close: %v", err)
	}
}

// TestEscalationTwoEngines: two engines (two nodes) share one store and
// tick at the same instants; every step goes out once, and an
// acknowledgement through either stops both.
func TestEscalationTwoEngines(t *testing.T) {
	clock := newManualClock(fixedNow)
	st := &MemoryEscalations{}
	fl := &firingLog{}
	var engines []*Engine
	for range 2 {
		e, err := NewEngine(EngineOptions{Rules: []Rule{oncallRule()}, Store: st, Clock: clock, Key: testKey,
			AckBaseURL: "https://vigil.example/ack", Fire: fl.fire})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	msg := Message{ID: "alert-9", Tenant: "acme", Kind: KindAlert, Severity: SeverityCritical, Subject: "x", Text: "web shell on web-01"}
	for _, e := range engines {
		if _, err := e.Raise(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(10 * time.Minute)
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.Tick(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := fl.steps(); len(got) != 2 || !strings.HasPrefix(got[0], "soc:1:") || !strings.HasPrefix(got[1], "soc:2:") {
		t.Fatalf("firings %v, want steps 1 and 2 once each", got)
	}
	if _, err := engines[1].Ack(context.Background(), ackToken(t, fl.last()), "li"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for _, e := range engines {
		if err := e.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := fl.steps(); len(got) != 2 {
		t.Fatalf("acknowledged escalation fired again: %v", got)
	}
}
