package alerting_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestKEVRuleSkipsTheBacklogWhenEnabled: a KEV rule newly enabled does
// not escalate the KEV matches already in the window (counted on the
// rule instead), only those that arrive after; re-enabling it skips
// what arrived while it was off.
func TestKEVRuleSkipsTheBacklogWhenEnabled(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	clock := &setClock{now: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)}
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock,
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	settings, _ := json.Marshal(map[string]string{"url": srv.URL})
	hook, err := svc.Create(admin, e.TenantA.ID, alerting.Input{Name: "duty", Kind: "webhook", Settings: settings,
		Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	hit := []hunt.AssetHit{{AssetID: e.AssetA.ID, Name: e.AssetA.Name, Reason: "attribute"}}
	var mu sync.Mutex
	var entries []hunt.Advisory
	add := func(id, sev string, published time.Time) {
		mu.Lock()
		defer mu.Unlock()
		entries = append(entries, hunt.Advisory{ID: id, Title: "KEV " + id, Severity: sev, Source: "cisa-kev", Exploited: true, Published: published})
	}
	warnings := func(_ context.Context, tenantID string) ([]hunt.AdvisoryMatch, error) {
		mu.Lock()
		defer mu.Unlock()
		var out []hunt.AdvisoryMatch
		for _, a := range entries {
			out = append(out, hunt.AdvisoryMatch{Advisory: a, Assets: hit})
		}
		return out, nil
	}
	enabledAt := clock.Now()
	// The backlog: three entries of the last weeks, one below the rule's
	// lowest severity (never its business), one unpublished.
	add("CVE-2026-0001", "critical", enabledAt.Add(-10*24*time.Hour))
	add("CVE-2026-0002", "high", enabledAt.Add(-2*24*time.Hour))
	add("CVE-2026-0003", "low", enabledAt.Add(-24*time.Hour))
	add("CVE-2026-0004", "critical", time.Time{})
	rule := alerting.EscalationRule{Name: "kev", Enabled: true, Rule: notify.Rule{Kinds: []notify.Kind{notify.KindKEVMatch},
		MinSeverity: notify.SeverityHigh, Steps: []notify.Step{{Channels: []string{hook.ID}}}}}
	if err := svc.SaveEscalationRule(admin, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	ruleOf := func() alerting.EscalationRule {
		t.Helper()
		rs, err := svc.EscalationRules(admin, e.TenantA.ID)
		if err != nil || len(rs) != 1 {
			t.Fatalf("rules %+v, %v", rs, err)
		}
		return rs[0]
	}
	if r := ruleOf(); !r.KEVPending || !r.EnabledAt.Equal(enabledAt) || !r.TakesKEV() {
		t.Fatalf("rule after enabling %+v", r)
	}
	clock.add(10 * time.Minute)
	n, err := svc.RaiseKEVMatches(admin, warnings)
	if err != nil || n != 0 {
		t.Fatalf("the backlog escalated: %d, %v", n, err)
	}
	// Worked out by hand: 0001, 0002 and 0004 are at least high and were
	// there before the rule; 0003 is below its lowest severity.
	if r := ruleOf(); r.KEVPending || r.KEVSkipped != 3 {
		t.Fatalf("rule after the first run %+v", r)
	}
	// An entry published after the rule was enabled escalates, once.
	add("CVE-2026-0005", "critical", enabledAt.Add(5*time.Minute))
	clock.add(10 * time.Minute)
	if n, err := svc.RaiseKEVMatches(admin, warnings); err != nil || n != 1 {
		t.Fatalf("a new match: %d, %v", n, err)
	}
	if n, err := svc.RaiseKEVMatches(admin, warnings); err != nil || n != 0 {
		t.Fatalf("raised again: %d, %v", n, err)
	}
	if waitN(func() int { return len(rc.got()) }, 1) != 1 || !strings.Contains(rc.got()[0], "CVE-2026-0005") {
		t.Fatalf("hook got %q", rc.got())
	}
	escs, err := svc.Escalations(admin, e.TenantA.ID, store.Page{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, x := range escs {
		if x.AckedBy == alerting.SkippedBacklog {
			skipped++
		}
	}
	if len(escs) != 4 || skipped != 3 {
		t.Fatalf("escalations %+v", escs)
	}

	// Off, an entry arrives, on again: it is the new backlog. Editing an
	// enabled rule is no re-enabling.
	rule.Enabled = false
	if err := svc.SaveEscalationRule(admin, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	add("CVE-2026-0006", "critical", clock.Now().Add(time.Minute))
	clock.add(time.Hour)
	rule.Enabled = true
	if err := svc.SaveEscalationRule(admin, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	if r := ruleOf(); !r.KEVPending || r.KEVSkipped != 0 || !r.EnabledAt.Equal(clock.Now()) {
		t.Fatalf("re-enabled %+v", r)
	}
	if n, err := svc.RaiseKEVMatches(admin, warnings); err != nil || n != 0 {
		t.Fatalf("the backlog of a re-enabled rule: %d, %v", n, err)
	}
	if r := ruleOf(); r.KEVSkipped != 1 {
		t.Fatalf("skipped on re-enabling %+v", r)
	}
	rule.Rule.Steps[0].After = 0
	if err := svc.SaveEscalationRule(admin, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	if r := ruleOf(); r.KEVPending || r.KEVSkipped != 1 {
		t.Fatalf("an edit restarted the rule %+v", r)
	}
}

// TestOnlySOCStaffGoOnShift: the shift planner's picker lists the users
// who triage alerts, and a shift for anyone else is refused, by ID or
// username.
func TestOnlySOCStaffGoOnShift(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	mk := func(name, role string, disabled bool) store.User {
		u := store.User{Username: name, PasswordHash: "x", GlobalRole: role, Disabled: disabled}
		if err := e.Store.Users().Create(admin, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	analyst := mk("night.analyst", auth.RoleAnalyst, false)
	auditor := mk("auditor", auth.RoleAuditor, false)
	mk("gone", auth.RoleAnalyst, true)
	staff, err := svc.ShiftStaff(admin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range staff {
		names = append(names, u.Username)
		if u.PasswordHash != "" {
			t.Error("the picker carries a password hash")
		}
	}
	// Worked out from the fixture: its admin (global admin), analyst-a
	// (analyst in tenant A) and night.analyst; not the auditor, the
	// customer nor the disabled analyst.
	want := []string{e.Admin.Username, e.AnalystA.Username, analyst.Username}
	for _, w := range want {
		if !strings.Contains(strings.Join(names, ","), w) {
			t.Errorf("picker %v lacks %s", names, w)
		}
	}
	if len(names) != len(want) {
		t.Errorf("picker %v, want %v", names, want)
	}
	if _, err := svc.ShiftStaff(e.As(t.Context(), e.AnalystA)); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an analyst reading the picker: %v", err)
	}
	now := time.Now().UTC()
	for _, who := range []string{auditor.ID, auditor.Username, e.CustomerB.ID, e.CustomerB.Username, "gone"} {
		if _, err := svc.AddShift(admin, alerting.ShiftInput{User: who, StartsAt: now, EndsAt: now.Add(time.Hour)}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a shift for %s: %v", who, err)
		}
	}
	for _, who := range []string{analyst.Username, e.AnalystA.ID} {
		if _, err := svc.AddShift(admin, alerting.ShiftInput{User: who, StartsAt: now, EndsAt: now.Add(time.Hour)}); err != nil {
			t.Errorf("a shift for %s: %v", who, err)
		}
	}
}
