package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/ops"
)

var reportRowRE = regexp.MustCompile(`id="report-(R-[0-9A-F]+)" data-accepted="(true|false)"`)

// TestDrillReportsPages: an analyst submits a defender report from the
// drill page (hostile text stays inert) and uploads a screenshot to an
// attack record; the director accepts the report, which then scores; the
// undetected case becomes one remediation work order whose page links
// back to the drill.
func TestDrillReportsPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) {
		o.Ops = ops.NewService(o.Store, o.Audit, ops.Options{Files: o.Attachments})
		o.Drills = exercise.NewService(o.Store, o.Audit, exercise.Options{Archive: o.Archive, Files: o.Attachments, WorkOrders: o.Ops})
	})
	admin := ui.as(t, ui.Admin)
	analyst := ui.as(t, ui.AnalystA)
	base := "/t/" + ui.TenantA.Slug + "/operations/drill"
	now := time.Now().UTC()
	res := admin.post(base, url.Values{"name": {"Reports drill"}, "start": {now.Add(-time.Hour).Format("2006-01-02T15:04")},
		"end": {now.Add(48 * time.Hour).Format("2006-01-02T15:04")}, "cidrs": {"10.20.0.0/16"},
		"teams": {"attacker | Red | |\ndefender | Blue | HQ |\ndirector | Control | |"}, "case": {"lib-t1046-service-scan"}})
	wantRedirect(t, res, base+"/")
	drillURL := strings.Split(res.Header.Get("Location"), "?")[0]
	wantRedirect(t, admin.post(drillURL+"/state", url.Values{"to": {"running"}, "version": {"1"}}), drillURL)
	wantRedirect(t, admin.post(drillURL+"/records", url.Values{"team": {"Red"}, "what": {"port scan"}, "technique": {"T1046"},
		"address": {"10.20.1.4"}}), drillURL)
	page := admin.get(drillURL)
	rec := regexp.MustCompile(`<option value="(A-[0-9A-F]+)">`).FindStringSubmatch(page.body)
	if rec == nil {
		t.Fatalf("no record on the page:\n%s", page.body)
	}

	hostile := `<img src=x onerror=alert(1)>`
	wantRedirect(t, analyst.post(drillURL+"/reports", url.Values{"team": {"Blue"}, "kind": {"analysis"}, "title": {"Scan " + hostile},
		"text": {"seen on the IDS " + hostile}, "record": {rec[1]}}), drillURL)
	// A report of a team that is not defending is shown again with its error.
	wantStatus(t, analyst.post(drillURL+"/reports", url.Values{"team": {"Red"}, "kind": {"analysis"}, "title": {"x"}}), http.StatusUnprocessableEntity)
	page = analyst.get(drillURL)
	m := reportRowRE.FindStringSubmatch(page.body)
	if m == nil || m[2] != "false" || strings.Contains(page.body, "<img src=x") || !strings.Contains(page.body, "Scan &lt;img src=x onerror=alert(1)&gt;") {
		t.Fatalf("report not listed, or not escaped:\n%s", page.body)
	}
	// The analyst may not decide.
	wantStatus(t, analyst.post(drillURL+"/reports/"+m[1]+"/decide", url.Values{"accepted": {"1"}}), http.StatusForbidden)
	wantRedirect(t, admin.post(drillURL+"/reports/"+m[1]+"/decide", url.Values{"accepted": {"1"}}), drillURL)
	page = admin.get(drillURL)
	if m := reportRowRE.FindStringSubmatch(page.body); m == nil || m[2] != "true" || !strings.Contains(page.body, `id="drill-report-count">1 / 1`) {
		t.Fatalf("report not accepted:\n%s", page.body)
	}

	// Evidence on the record.
	recURL := drillURL + "/records/" + rec[1] + "/files"
	wantRedirect(t, analyst.uploadTo(recURL, map[string]string{"note": "IDS console"}, []byte("<html>screenshot</html>")), drillURL)
	page = analyst.get(drillURL + "?record=" + rec[1])
	fm := regexp.MustCompile(`/records/` + rec[1] + `/files/([0-9a-zA-Z-]+)" download`).FindStringSubmatch(page.body)
	if fm == nil || !strings.Contains(page.body, `id="evidence-record"`) {
		t.Fatalf("evidence not listed:\n%s", page.body)
	}
	dl := analyst.get(recURL + "/" + fm[1])
	wantStatus(t, dl, http.StatusOK)
	if dl.Header.Get("Content-Type") != "application/octet-stream" || dl.body != "<html>screenshot</html>" {
		t.Fatalf("download %v %q", dl.Header, dl.body)
	}
	wantStatus(t, ui.as(t, ui.CustomerB).get(recURL+"/"+fm[1]), http.StatusNotFound)

	// The scan was never detected: a gap, turned into one work order.
	page = admin.get(drillURL)
	gap := regexp.MustCompile(`name="case" value="([^"]+)"><button type="submit">`).FindStringSubmatch(page.body)
	if gap == nil {
		t.Fatalf("no gap to remediate:\n%s", page.body)
	}
	res = admin.post(drillURL+"/remediate", url.Values{"case": {gap[1]}})
	m2 := orderLinkRE.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m2 == nil {
		t.Fatalf("remediate: %d %q %s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	order := admin.get(res.Header.Get("Location"))
	if !strings.Contains(order.body, `id="order-source"`) || !strings.Contains(order.body, `href="`+drillURL+`"`) {
		t.Fatalf("order page does not link back to the drill:\n%s", order.body)
	}
	page = admin.get(drillURL)
	if !strings.Contains(page.body, `/operations/ops-audit/orders/`+m2[1]+`" class="work-order"`) {
		t.Fatalf("drill page does not link the order:\n%s", page.body)
	}
	wantStatus(t, admin.post(drillURL+"/remediate", url.Values{"case": {gap[1]}}), http.StatusConflict)
}
