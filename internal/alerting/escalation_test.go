package alerting_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// setClock is a clock the test moves; waiting uses real timers so the
// dispatcher delivers at once.
type setClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *setClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *setClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func (c *setClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var ackLinkRE = regexp.MustCompile(`https://soc\.example/ack\?token=([A-Za-z0-9_.%-]+)`)

// TestEscalationOfUnacknowledgedAlerts: a critical alert goes to the
// first channel at once with an acknowledgement link, then to the second
// after ten minutes without acknowledgement; an alert acknowledged by its
// link, or triaged in Vigil, escalates no further; another tenant's
// channel cannot be named in a rule.
func TestEscalationOfUnacknowledgedAlerts(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	clock := &setClock{now: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)}
	first, second := &receiver{}, &receiver{}
	s1, s2 := httptest.NewServer(first), httptest.NewServer(second)
	defer s1.Close()
	defer s2.Close()
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock,
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	channel := func(tenantID, name, u string) store.NotifyChannel {
		settings, _ := json.Marshal(map[string]string{"url": u})
		c, err := svc.Create(ctx, tenantID, alerting.Input{Name: name, Kind: "webhook", Settings: settings,
			Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	duty := channel(e.TenantA.ID, "duty analyst", s1.URL)
	lead := channel(e.TenantA.ID, "team lead", s2.URL)
	foreign := channel(e.TenantB.ID, "B's hook", s2.URL)

	rule := alerting.EscalationRule{Name: "critical alerts", Enabled: true, Rule: notify.Rule{Kinds: []notify.Kind{notify.KindAlert},
		MinSeverity: notify.SeverityHigh, Steps: []notify.Step{{Channels: []string{duty.ID}, After: 10 * time.Minute}, {Channels: []string{lead.ID}}}}}
	bad := rule
	bad.Rule.Steps = []notify.Step{{Channels: []string{foreign.ID}}}
	var fe *store.FieldError
	if err := svc.SaveEscalationRule(ctx, e.TenantA.ID, bad); !errors.As(err, &fe) || fe.Code != store.CodeNotInTenant {
		t.Fatalf("rule naming B's channel: %v", err)
	}
	if err := svc.SaveEscalationRule(e.As(t.Context(), e.AnalystA), e.TenantA.ID, rule); err == nil {
		t.Fatal("an analyst saved an escalation rule")
	}
	if err := svc.SaveEscalationRule(ctx, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}

	wait := func(rc *receiver, n int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(rc.got()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return rc.got()
	}
	raise := func(id string) store.Alert {
		a := store.Alert{ID: id, TenantID: e.TenantA.ID, GroupKey: id, RuleID: "r-" + id, RuleTitle: "Web shell " + id, Level: "critical",
			Host: "web-01", Count: 1, Status: "new", FirstSeen: clock.Now(), LastSeen: clock.Now()}
		if _, err := e.Store.Alerts().Raise(ctx, &a, time.Minute, []string{"new"}, 10); err != nil {
			t.Fatal(err)
		}
		if err := svc.Alerted(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	tick := func(d time.Duration) {
		t.Helper()
		clock.add(d)
		if err := svc.TickEscalations(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// 1. Nobody acknowledges: the lead hears of it after ten minutes.
	a1 := raise("a1")
	got := wait(first, 2) // the alert itself and escalation step 1
	if len(got) != 2 || !ackLinkRE.MatchString(strings.Join(got, "")) {
		t.Fatalf("duty channel got %q", got)
	}
	// The lead's channel also receives every critical alert as it comes;
	// the escalation step is the message marked [2].
	steps := func(rc *receiver) []string {
		var out []string
		for _, b := range rc.got() {
			if strings.Contains(b, "[2]") {
				out = append(out, b)
			}
		}
		return out
	}
	wait(second, 1)
	tick(9 * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if n := len(steps(second)); n != 0 {
		t.Fatalf("lead escalated to after 9 minutes (%d)", n)
	}
	tick(time.Minute)
	deadline := time.Now().Add(20 * time.Second)
	for len(steps(second)) < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := steps(second); len(got) != 1 || !strings.Contains(got[0], "Web shell a1") {
		t.Fatalf("lead got %q", got)
	}

	// 2. Acknowledged by its link: no second step, and the alert is acknowledged.
	before := len(first.got())
	raise("a2")
	got = wait(first, before+2)
	m := ackLinkRE.FindStringSubmatch(got[len(got)-1])
	if m == nil {
		t.Fatalf("no ack link in %q", got[len(got)-1])
	}
	token, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Acknowledge(t.Context(), token[:len(token)-2]+"xx", "li"); err == nil {
		t.Fatal("a forged token acknowledged")
	}
	peek, err := svc.PeekAck(t.Context(), token)
	if err != nil || peek.Alert.ID != "a2" {
		t.Fatalf("peek %+v, %v", peek, err)
	}
	res, err := svc.Acknowledge(t.Context(), token, "Li Lei")
	if err != nil || res.Alert.Status != "acknowledged" || res.Tenant.ID != e.TenantA.ID {
		t.Fatalf("ack %+v, %v", res, err)
	}
	stored, _ := e.Store.Alerts().Get(ctx, e.TenantA.ID, "a2")
	if stored.Status != "acknowledged" || !strings.Contains(stored.Note, "Li Lei") {
		t.Fatalf("alert after ack %+v", stored)
	}

	// 3. Triaged in Vigil: no second step either.
	raise("a3")
	if err := e.Store.Alerts().SetStatus(ctx, e.TenantA.ID, "a3", "false-positive", "scanner", "u", clock.Now()); err != nil {
		t.Fatal(err)
	}
	tick(11 * time.Minute)
	time.Sleep(200 * time.Millisecond) // a wrongly sent step would have reached the receiver by now
	if got := steps(second); len(got) != 1 {
		t.Fatalf("lead escalated to for acknowledged or triaged alerts: %q", got[1:])
	}
	escs, err := svc.Escalations(ctx, e.TenantA.ID, store.Page{Limit: 10})
	if err != nil || len(escs) != 3 {
		t.Fatalf("escalations %+v, %v", escs, err)
	}
	for _, x := range escs {
		if !x.Done || x.Rule != "critical alerts" {
			t.Errorf("escalation %+v", x)
		}
	}
	_ = a1
	if first.bad+second.bad != 0 {
		t.Fatal("bad signatures")
	}
}

// TestStateChangesReachWebhooks: a case's state change goes to the
// tenant's webhook channel, signed, and not to another tenant's.
func TestStateChangesReachWebhooks(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	mine, theirs := &receiver{}, &receiver{}
	s1, s2 := httptest.NewServer(mine), httptest.NewServer(theirs)
	defer s1.Close()
	defer s2.Close()
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, x := range []struct {
		tenant, url string
	}{{e.TenantA.ID, s1.URL}, {e.TenantB.ID, s2.URL}} {
		settings, _ := json.Marshal(map[string]string{"url": x.url})
		if _, err := svc.Create(ctx, x.tenant, alerting.Input{Name: "soar", Kind: "webhook", Settings: settings,
			Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.StateChanged(ctx, alerting.StateChange{TenantID: e.TenantA.ID, Kind: "case", ID: "c1", Ref: "IR-2026-0007",
		Title: "Web shell <b>on</b> web-01", State: "contain", Change: "phase", Severity: "high", Path: "/incidents/c1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(mine.got()) < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := mine.got()
	if len(got) != 1 || !strings.Contains(got[0], "IR-2026-0007") || !strings.Contains(got[0], "contain") ||
		!strings.Contains(got[0], "https://soc.example/t/acme/incidents/c1") {
		t.Fatalf("webhook got %q", got)
	}
	time.Sleep(100 * time.Millisecond)
	if len(theirs.got()) != 0 || mine.bad+theirs.bad != 0 {
		t.Fatalf("other tenant got %d; bad signatures %d", len(theirs.got()), mine.bad+theirs.bad)
	}
}

// TestEscalationOfCasesAndSLABreaches: a rule for SLA breaches escalates
// a breach (and nothing for a new alert), and its link acknowledges it
// without touching any alert.
func TestEscalationOfCasesAndSLABreaches(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example",
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	rule := alerting.EscalationRule{Name: "sla", Enabled: true, Rule: notify.Rule{Kinds: []notify.Kind{notify.KindSLABreach, notify.KindCase},
		Steps: []notify.Step{{NotifyOnCall: true}}, OnCall: &notify.Rotation{People: []string{"li"}, Period: time.Hour, Start: time.Now()}}}
	if err := svc.SaveEscalationRule(ctx, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	a := store.Alert{ID: "al-x", TenantID: e.TenantA.ID, GroupKey: "g", RuleID: "r", RuleTitle: "x", Level: "critical", Host: "h", Status: "new",
		FirstSeen: time.Now(), LastSeen: time.Now()}
	if _, err := e.Store.Alerts().Raise(ctx, &a, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	if err := svc.Alerted(ctx, a); err != nil {
		t.Fatal(err)
	}
	c := store.Incident{ID: "case-1", TenantID: e.TenantA.ID, Ref: "IR-2026-0009", Title: "Ransomware", Severity: "critical", Phase: "detect"}
	if err := svc.SLABreached(ctx, c, "acknowledge", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := svc.StateChanged(ctx, alerting.StateChange{TenantID: e.TenantA.ID, Kind: "case", ID: "case-2", Ref: "IR-2026-0010",
		Title: "Phishing", State: "detect", Change: "create", Severity: "high", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	escs, err := svc.Escalations(ctx, e.TenantA.ID, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[notify.Kind]string{}
	for _, x := range escs {
		kinds[x.Message.Kind] = x.ID
	}
	if len(escs) != 2 || kinds[notify.KindSLABreach] == "" || kinds[notify.KindCase] == "" || kinds[notify.KindAlert] != "" {
		t.Fatalf("escalations %+v", escs)
	}
	link, err := svc.AckLink(kinds[notify.KindSLABreach], time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Acknowledge(t.Context(), u.Query().Get("token"), "li")
	if err != nil || !strings.Contains(res.Subject, "IR-2026-0009") || res.Alert.ID != "" {
		t.Fatalf("ack %+v, %v", res, err)
	}
	if got, _ := e.Store.Alerts().Get(ctx, e.TenantA.ID, "al-x"); got.Status != "new" {
		t.Fatalf("the alert was touched: %+v", got)
	}
}
