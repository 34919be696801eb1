package web

import (
	"database/sql"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

var caseLinkRE = regexp.MustCompile(`/incidents/([0-9a-f-]{36})`)

// TestIncidentFlow promotes an alert to a case and works it to closure
// through the pages: playbook, phases, observables, evidence (and its
// tamper check), timeline notes and the IR report; the customer of the
// other tenant sees none of it.
func TestIncidentFlow(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := t.Context()
	al := store.Alert{TenantID: ui.TenantA.ID, GroupKey: "ws|web-01", RuleID: "ws", RuleTitle: `Web shell <script>alert(1)</script>`,
		Level: "critical", Host: "web-01", Status: "new", LastSeen: time.Now()}
	if _, err := ui.Store.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 3); err != nil {
		t.Fatal(err)
	}
	analyst := ui.as(t, ui.AnalystA)
	base := "/t/" + ui.TenantA.Slug
	queue := analyst.get(base + "/events/alerts")
	wantStatus(t, queue, http.StatusOK)
	if !strings.Contains(queue.body, `id="alert-promote"`) {
		t.Fatal("no promote form on the alert queue")
	}
	r := analyst.post(base+"/events/alerts/promote", url.Values{"id": {al.ID}, "title": {"Web shell on web-01"}})
	wantRedirect(t, r, base+"/incidents/")
	m := caseLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	caseURL := base + "/incidents/" + m[1]
	page := analyst.get(caseURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, "<script>alert(1)") || !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the alert title is not escaped on the case page")
	}
	if got, _ := ui.Store.Alerts().Get(ctx, ui.TenantA.ID, al.ID); got.Status != "escalated" {
		t.Errorf("the promoted alert is %q, want escalated", got.Status)
	}

	version := func() string {
		t.Helper()
		c, err := ui.Incidents.Get(ui.adminCtx(), ui.TenantA.ID, m[1])
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Itoa(c.Version)
	}
	post := func(action string, form url.Values) {
		t.Helper()
		r := analyst.post(caseURL+"/"+action, form)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: status %d\n%s", action, r.StatusCode, r.body)
		}
	}
	post("ack", url.Values{})
	post("playbook", url.Values{"playbook": {"webshell"}})
	post("observable", url.Values{"type": {"ip"}, "value": {"203.0.113.9"}, "ioc": {"1"}})
	post("note", url.Values{"text": {"Attacker uploaded cmd.jsp"}, "at": {"2026-11-20T10:15"}})
	for _, ph := range []string{"contain", "eradicate", "recover", "summarise"} {
		post("phase", url.Values{"phase": {ph}, "version": {version()}, "reason": {"done"}})
	}
	if r := analyst.postFile(caseURL+"/evidence", map[string]string{"description": "the shell"}, "cmd.jsp",
		[]byte("<html><script>evil()</script></html>")); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("evidence upload: status %d\n%s", r.StatusCode, r.body)
	}
	post("report", url.Values{"version": {version()}, "summary": {"A web shell was found and removed."}, "root_cause": {"Unpatched upload form"}})
	post("close", url.Values{"resolution": {"true_positive"}, "version": {version()}, "reason": {"verified clean"}})

	page = analyst.get(caseURL)
	for _, want := range []string{"203.0.113.9", "Attacker uploaded cmd.jsp", "A web shell was found and removed.", "cmd.jsp", "true_positive"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the case page lacks %q", want)
		}
	}
	ev := regexp.MustCompile(`/evidence/([0-9a-f-]{36})"`).FindStringSubmatch(page.body)
	if ev == nil {
		t.Fatal("no evidence link")
	}
	dl := analyst.get(caseURL + "/evidence/" + ev[1])
	wantStatus(t, dl, http.StatusOK)
	if dl.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") ||
		dl.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("evidence served as %v", dl.Header)
	}

	// A stored file changed behind Vigil's back is refused, not served.
	db := ui.Store.(interface{ DB() *sql.DB }).DB()
	if _, err := db.ExecContext(ctx, `UPDATE incident_blobs SET content = ?`, []byte("<html>swapped</html>")); err != nil {
		t.Fatal(err)
	}
	if tampered := analyst.get(caseURL + "/evidence/" + ev[1]); tampered.StatusCode != http.StatusUnprocessableEntity ||
		strings.Contains(tampered.body, "swapped") || !strings.Contains(tampered.body, "SHA-256") {
		t.Errorf("tampered evidence: status %d", tampered.StatusCode)
	}

	// The customer of tenant B sees neither the case nor its evidence.
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(caseURL), http.StatusNotFound)
	wantStatus(t, cust.get(caseURL+"/evidence/"+ev[1]), http.StatusNotFound)

	// The IR report is archived with the timeline in it.
	wantRedirect(t, analyst.post(caseURL+"/report/generate", url.Values{"format": {"html"}, "lang": {"en"}}), base+"/reports")
	list := analyst.get(base + "/reports")
	rl := reportLinkRE.FindStringSubmatch(list.body)
	if rl == nil {
		t.Fatal("the IR report is not listed")
	}
	rep := analyst.get(rl[1])
	for _, want := range []string{"Attacker uploaded cmd.jsp", "Unpatched upload form", "203.0.113.9"} {
		if !strings.Contains(rep.body, want) {
			t.Errorf("the IR report lacks %q", want)
		}
	}

	// Board and list.
	list = analyst.get(base + "/incidents?phase=closed")
	if !strings.Contains(list.body, "Web shell on web-01") {
		t.Error("the closed case is not listed")
	}
}

// TestUrgentNoticePage publishes a notice from the page; the customer may
// not open it.
func TestUrgentNoticePage(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	analyst := ui.as(t, ui.AnalystA)
	page := analyst.get("/notices")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, ui.TenantA.Name) || strings.Contains(page.body, ui.TenantB.Name) {
		t.Fatal("the analyst of A should be offered A only")
	}
	r := analyst.post("/notices", url.Values{"title": {"Urgent: <script>x</script> exploited"}, "severity": {"critical"},
		"harm": {"Remote code execution"}, "match": {"web"}, "tenant": {ui.TenantA.ID, ui.TenantB.ID}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `id="notice-results"`) || strings.Contains(r.body, "<script>x") {
		t.Fatalf("results:\n%s", r.body)
	}
	if strings.Contains(r.body, ui.TenantB.Name) || !strings.Contains(r.body, "notifications") {
		t.Error("the results should list tenant A only")
	}
	wantStatus(t, ui.as(t, ui.CustomerB).get("/notices"), http.StatusForbidden)
}
