package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// hostileScan is a nuclei result whose every text field is hostile.
const hostileScan = `{"template-id":"xss-<b>tpl</b>","info":{"name":"<script>alert(1)</script> {{.}}","severity":"high",` +
	`"description":"<img src=x onerror=alert(2)>","classification":{"cve-id":["cve-2021-44228"]}},"type":"http",` +
	`"host":"https://shop.example","matched-at":"https://shop.example/?q=<svg/onload=alert(3)>","ip":"192.0.2.20","port":"443",` +
	`"extracted-results":["</pre><script>alert(4)</script>"]}` + "\n"

var vulnLinkRE = regexp.MustCompile(`/vulnerabilities/([0-9a-f-]{36})"`)

func TestVulnerabilityPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/vulnerabilities"

	r := admin.postFile(base+"/import", map[string]string{"format": "", "full": "1"}, "scan.jsonl", []byte(hostileScan))
	wantRedirect(t, r, base+"?ok=imported")
	list := admin.get(base + "?state=open")
	wantStatus(t, list, http.StatusOK)
	for _, bad := range []string{"<script>alert(1)", "<img src=x", "<b>tpl</b>"} {
		if strings.Contains(list.body, bad) {
			t.Fatalf("list renders %q as markup", bad)
		}
	}
	if !strings.Contains(list.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the finding's title is not shown escaped")
	}
	m := vulnLinkRE.FindStringSubmatch(list.body)
	if m == nil {
		t.Fatalf("no finding link in list:\n%s", list.body)
	}
	id := m[1]
	view := admin.get(base + "/" + id)
	wantStatus(t, view, http.StatusOK)
	for _, bad := range []string{"<script>alert", "<svg/onload", "<img src=x"} {
		if strings.Contains(view.body, bad) {
			t.Fatalf("detail renders %q as markup", bad)
		}
	}

	// Mitigated without a control is refused on the form; with it, saved.
	r = admin.post(base+"/"+id+"/state", url.Values{"state": {"mitigated"}, "note": {"no patch yet"}, "expires": {"2099-01-31"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	r = admin.post(base+"/"+id+"/state", url.Values{"state": {"mitigated"}, "note": {"no patch yet"}, "expires": {"2099-01-31"},
		"control": {"WAF rule 941100 in blocking mode"}})
	wantRedirect(t, r, base+"/"+id)
	view = admin.get(base + "/" + id)
	if !strings.Contains(view.body, "WAF rule 941100 in blocking mode") || !strings.Contains(view.body, "Mitigated, not fixed") {
		t.Fatalf("mitigation not shown:\n%s", view.body)
	}
	// A bad date is a field error.
	r = admin.post(base+"/"+id+"/state", url.Values{"state": {"reopened"}, "expires": {"31/01/2099"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)

	// Bulk: reopen it, then confirm.
	r = admin.post(base+"/bulk", url.Values{"id": {id}, "state": {"reopened"}})
	wantRedirect(t, r, base+"?changed=1&failed=0")
	r = admin.post(base+"/bulk", url.Values{"id": {id, "00000000-0000-0000-0000-000000000000"}, "state": {"confirmed"}})
	wantRedirect(t, r, base+"?changed=1&failed=1")

	// Roles and tenants.
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(base+"/"+id), http.StatusNotFound)
	wantStatus(t, cust.get("/t/"+ui.TenantB.Slug+"/vulnerabilities"), http.StatusOK)
	wantStatus(t, cust.post("/t/"+ui.TenantB.Slug+"/vulnerabilities/bulk", url.Values{"state": {"confirmed"}}), http.StatusForbidden)
	actions := strings.Join(ui.auditActions(t), " ")
	for _, a := range []string{"vuln.import", "vuln.change"} {
		if !strings.Contains(actions, a) {
			t.Errorf("audit lacks %s", a)
		}
	}
}
