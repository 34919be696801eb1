package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestEscalationPages: an admin saves a rule from the form; the analyst
// of the tenant may read it but not change it; a customer of another
// tenant gets 404. An acknowledgement link opens a confirmation page (a
// GET acknowledges nothing) and the POST acknowledges the alert; a
// forged token gets 404.
func TestEscalationPages(t *testing.T) {
	t.Parallel()
	var svc *alerting.Service
	ui := newTestUI(t, func(o *Options) {
		var err error
		svc, err = alerting.NewService(o.Store, nil, o.Audit, alerting.Options{BaseURL: "https://soc.example",
			AckKey: []byte("web-test-key-web-test-key-web-test-key")})
		if err != nil {
			t.Fatal(err)
		}
		o.Alerting = svc
	})
	t.Cleanup(svc.Close)
	ctx := ui.adminCtx()
	base := "/t/" + ui.TenantA.Slug + "/notifications/escalation"
	admin := ui.as(t, ui.Admin)
	wantStatus(t, admin.get(base), http.StatusOK)
	r := admin.post(base, url.Values{"name": {"<img src=x onerror=alert(1)> night"}, "min_severity": {"high"}, "enabled": {"on"},
		"step1_oncall": {"on"}, "step1_after": {"15"}, "oncall_people": {"li, wang"}, "oncall_hours": {"12"},
		"quiet_start": {"22:00"}, "quiet_end": {"07:00"}, "quiet_bypass": {"on"}})
	wantRedirect(t, r, base+"?saved=")
	page := admin.get(base)
	if !strings.Contains(page.body, "&lt;img src=x onerror=alert(1)&gt; night") || strings.Contains(page.body, "<img src=x") ||
		!strings.Contains(page.body, "22:00") || !strings.Contains(page.body, "li, wang") {
		t.Errorf("rule not shown safely:\n%s", page.body)
	}
	rules, err := svc.EscalationRules(ctx, ui.TenantA.ID)
	if err != nil || len(rules) != 1 || rules[0].Rule.OnCall == nil || rules[0].Rule.OnCall.Period != 12*time.Hour ||
		rules[0].Rule.QuietHours == nil || len(rules[0].Rule.Steps) != 1 || rules[0].Rule.Steps[0].After != 0 {
		t.Fatalf("stored rule %+v, %v", rules, err)
	}
	analyst := ui.as(t, ui.AnalystA)
	wantStatus(t, analyst.get(base), http.StatusOK)
	wantStatus(t, analyst.post(base, url.Values{"name": {"x"}, "step1_oncall": {"on"}}), http.StatusForbidden)
	wantStatus(t, ui.as(t, ui.CustomerB).get(base), http.StatusNotFound)

	// An alert escalates under the rule (the on-call step needs no channel).
	a := store.Alert{ID: "al-1", TenantID: ui.TenantA.ID, GroupKey: "g", RuleID: "r", RuleTitle: "Brute force <b>ssh</b>", Level: "critical",
		Host: "web-01", Count: 3, Status: "new", FirstSeen: time.Now(), LastSeen: time.Now()}
	if _, err := ui.Store.Alerts().Raise(ctx, &a, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	if err := svc.Alerted(ctx, a); err != nil {
		t.Fatal(err)
	}
	escs, err := svc.Escalations(ctx, ui.TenantA.ID, store.Page{Limit: 5})
	if err != nil || len(escs) != 1 {
		t.Fatalf("escalations %+v, %v", escs, err)
	}
	token := ackToken(t, svc, escs[0])

	anon := ui.anon(t)
	confirm := anon.get("/ack?token=" + url.QueryEscape(token))
	wantStatus(t, confirm, http.StatusOK)
	if !strings.Contains(confirm.body, "Brute force &lt;b&gt;ssh") || !strings.Contains(confirm.body, `id="ack-form"`) {
		t.Fatalf("confirmation page:\n%s", confirm.body)
	}
	if got, _ := ui.Store.Alerts().Get(ctx, ui.TenantA.ID, a.ID); got.Status != "new" {
		t.Fatal("opening the link acknowledged the alert")
	}
	anon.loadCSRF(confirm)
	done := anon.post("/ack", url.Values{"token": {token}, "name": {"Wang <i>Wei</i>"}})
	wantStatus(t, done, http.StatusOK)
	if !strings.Contains(done.body, `id="ack-done"`) {
		t.Fatalf("ack result:\n%s", done.body)
	}
	if got, _ := ui.Store.Alerts().Get(ctx, ui.TenantA.ID, a.ID); got.Status != "acknowledged" || !strings.Contains(got.Note, "Wang") {
		t.Fatalf("alert after ack %+v", got)
	}
	wantStatus(t, anon.get("/ack?token=forged.token"), http.StatusNotFound)
	wantStatus(t, anon.post("/ack", url.Values{"token": {token + "x"}}), http.StatusNotFound)
}

var tokenRE = regexp.MustCompile(`token=([^&\s"]+)`)

// ackToken is the link a step of esc would carry.
func ackToken(t *testing.T, svc *alerting.Service, esc notify.Escalation) string {
	t.Helper()
	link, err := svc.AckLink(esc.ID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := tokenRE.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("no token in %q", link)
	}
	tok, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
