package alerting_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestAlertAckWithinServiceLevel: the rule waits an hour before the lead
// hears of an unacknowledged alert, but the tenant's monitoring service
// promises a response in 15 minutes (its catalogue subscription): the
// lead hears of it after 15 minutes, not before (fake clock).
func TestAlertAckWithinServiceLevel(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	const response = 15 // minutes, the service level
	if _, err := e.Tenants.PutSubscription(ctx, e.TenantA.ID, alerting.MonitoringService,
		tenant.SubscriptionInput{Enabled: true, ResponseMinutes: response, NotifyMinutes: 30}); err != nil {
		t.Fatal(err)
	}
	clock := &setClock{now: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)}
	duty, lead := &receiver{}, &receiver{}
	s1, s2 := httptest.NewServer(duty), httptest.NewServer(lead)
	defer s1.Close()
	defer s2.Close()
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock,
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	channel := func(name, u string) store.NotifyChannel {
		settings, _ := json.Marshal(map[string]string{"url": u})
		c, err := svc.Create(ctx, e.TenantA.ID, alerting.Input{Name: name, Kind: "webhook", Settings: settings,
			Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	d, l := channel("duty", s1.URL), channel("lead", s2.URL)
	rule := alerting.EscalationRule{Name: "alerts", Enabled: true, Rule: notify.Rule{Kinds: []notify.Kind{notify.KindAlert},
		MinSeverity: notify.SeverityHigh, Steps: []notify.Step{{Channels: []string{d.ID}, After: time.Hour}, {Channels: []string{l.ID}}}}}
	if err := svc.SaveEscalationRule(ctx, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	a := store.Alert{TenantID: e.TenantA.ID, GroupKey: "g", RuleID: "r", RuleTitle: "Web shell", Level: "critical", Host: "web-01",
		Count: 1, Status: "new", FirstSeen: clock.Now(), LastSeen: clock.Now()}
	if _, err := e.Store.Alerts().Raise(ctx, &a, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	if err := svc.Alerted(ctx, a); err != nil {
		t.Fatal(err)
	}
	escalated := func() int {
		n := 0
		for _, b := range lead.got() {
			if strings.Contains(b, "[2]") {
				n++
			}
		}
		return n
	}
	waitN(func() int { return len(duty.got()) }, 1)
	tick := func(dur time.Duration) {
		t.Helper()
		clock.add(dur)
		if err := svc.TickEscalations(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tick((response - 1) * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if n := escalated(); n != 0 {
		t.Fatalf("escalated before the service level ran out (%d)", n)
	}
	tick(time.Minute)
	if waitN(escalated, 1) != 1 {
		t.Fatalf("not escalated when the %d-minute service level ran out: %q", response, lead.got())
	}
}
