package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/drill/exercise"
)

// TestDrillPages plans and runs a drill through the pages: hostile names
// are escaped, the scope guard refuses an out-of-scope record with a form
// error, the emergency stop shows who and why, an analyst reads but may not
// direct (403), another tenant's user gets 404, and the summary is
// archived.
func TestDrillPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) {
		o.Drills = exercise.NewService(o.Store, o.Audit, exercise.Options{Archive: o.Archive})
	})
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/drill"
	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="drill-form"`) || !strings.Contains(page.body, "lib-t1046-service-scan") {
		t.Fatalf("list page lacks the plan form:\n%s", page.body)
	}

	now := time.Now().UTC()
	hostile := `<script>alert(1)</script>{{.X}}`
	form := url.Values{"name": {"Drill " + hostile}, "start": {now.Add(-time.Hour).Format("2006-01-02T15:04")},
		"end": {now.Add(48 * time.Hour).Format("2006-01-02T15:04")}, "roe": {"No DoS " + hostile},
		"cidrs": {"10.20.0.0/16"}, "exclude_cidrs": {"10.20.99.0/24"},
		"teams": {"attacker | Red " + hostile + " | |\ndefender | Blue | HQ |\ndirector | Control | |"},
		"case":  {"lib-t1046-service-scan"}}
	res := admin.post(base, form)
	wantRedirect(t, res, base+"/")
	drillURL := strings.Split(res.Header.Get("Location"), "?")[0]

	// A bad team line shows the form again with the error.
	bad := url.Values{"name": {"other"}, "start": form["start"], "end": form["end"], "cidrs": {"10.0.0.0/8"}, "teams": {"attacker"}}
	res = admin.post(base, bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.body, "role | name | unit | members") {
		t.Fatalf("team error not shown:\n%s", res.body)
	}

	page = admin.get(drillURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, "<script>alert(1)") || !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;{{.X}}") {
		t.Fatalf("hostile name not escaped:\n%s", page.body)
	}
	wantRedirect(t, admin.post(drillURL+"/state", url.Values{"to": {"running"}, "version": {"1"}}), drillURL)
	// The same version again is stale.
	wantStatus(t, admin.post(drillURL+"/state", url.Values{"to": {"finished"}, "version": {"1"}}), http.StatusConflict)

	team := "Red " + hostile
	res = admin.post(drillURL+"/records", url.Values{"team": {team}, "what": {"port scan " + hostile}, "technique": {"T1046"},
		"address": {"10.20.99.5"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.body, "out of scope") || strings.Contains(res.body, "<script>alert(1)") {
		t.Fatalf("out-of-scope record:\n%s", res.body)
	}
	wantRedirect(t, admin.post(drillURL+"/records", url.Values{"team": {team}, "what": {"port scan " + hostile}, "technique": {"T1046"},
		"address": {"10.20.1.5"}, "foothold": {"1"}, "evidence": {"<img src=x onerror=alert(3)>.png"}}), drillURL)
	wantRedirect(t, admin.post(drillURL+"/announce", url.Values{"to": {"attacker"}, "text": {"hold " + hostile}}), drillURL)

	// The analyst reads the board and confirms outcomes but does not
	// direct or attack.
	analyst := ui.as(t, ui.AnalystA)
	page = analyst.get(drillURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, `id="drill-control"`) || !strings.Contains(page.body, `id="observe-form"`) {
		t.Fatalf("analyst's board:\n%s", page.body)
	}
	wantStatus(t, analyst.post(drillURL+"/state", url.Values{"to": {"paused"}, "reason": {"x"}, "version": {"0"}}), http.StatusForbidden)
	wantStatus(t, analyst.post(drillURL+"/records", url.Values{"team": {team}, "what": {"x"}, "technique": {"T1046"}, "address": {"10.20.1.6"}}),
		http.StatusForbidden)
	var recordID string
	d, err := ui.srv.opts.Drills.Get(ui.adminCtx(), ui.TenantA.ID, drillURL[strings.LastIndex(drillURL, "/")+1:])
	if err != nil || len(d.Records) != 1 {
		t.Fatalf("records after the refused one: %v %+v", err, d)
	}
	recordID = d.Records[0].ID
	wantRedirect(t, analyst.post(drillURL+"/observe", url.Values{"record": {recordID}, "layer": {"ids_ips"}, "level": {"alerted"},
		"note": {"IDS saw the scan " + hostile}}), drillURL)

	// Emergency stop: reason required, then shown with who.
	wantStatus(t, admin.post(drillURL+"/state", url.Values{"to": {"paused"}, "version": {"0"}}), http.StatusUnprocessableEntity)
	wantRedirect(t, admin.post(drillURL+"/state", url.Values{"to": {"paused"}, "reason": {"core switch alarms"}, "version": {"0"}}), drillURL)
	page = admin.get(drillURL)
	if !strings.Contains(page.body, `id="drill-stop"`) || !strings.Contains(page.body, "core switch alarms") ||
		strings.Contains(page.body, "<img src=x") || strings.Contains(page.body, "<script>alert(1)") {
		t.Fatalf("stopped board:\n%s", page.body)
	}

	// Another tenant's user: 404 for the page and the layer.
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(drillURL), http.StatusNotFound)
	wantStatus(t, cust.get(drillURL+"/layer.json"), http.StatusNotFound)

	res = admin.get(drillURL + "/layer.json")
	wantStatus(t, res, http.StatusOK)
	var layer struct {
		Versions struct{ Layer string }
		Domain   string
	}
	if err := json.Unmarshal([]byte(res.body), &layer); err != nil || layer.Versions.Layer != "4.5" || layer.Domain != "enterprise-attack" {
		t.Fatalf("layer: %v %+v", err, layer)
	}
	wantRedirect(t, admin.post(drillURL+"/report", url.Values{"format": {"html"}, "lang": {"en"}}), "/t/"+ui.TenantA.Slug+"/reports")
}
