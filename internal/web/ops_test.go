package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/ops"
)

var orderLinkRE = regexp.MustCompile(`/operations/ops-audit/orders/([0-9a-f-]+)`)

// TestOpsPages: an analyst requests access from the form (hostile text
// stays inert), an admin approves it from the order page, the ops audit
// of a period runs and its report is archived; a customer of another
// tenant gets 404 and cannot act.
func TestOpsPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) { o.Ops = ops.NewService(o.Store, o.Audit, ops.Options{}) })
	base := "/t/" + ui.TenantA.Slug + "/operations/ops-audit"
	analyst := ui.as(t, ui.AnalystA)
	page := analyst.get(base)
	wantStatus(t, page, http.StatusOK)
	start := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
	end := time.Now().UTC().Add(3 * time.Hour).Format("2006-01-02T15:04")
	r := analyst.post(base, url.Values{"type": {"access"}, "title": {"<script>alert(1)</script> patch"}, "hosts": {"web-01, 10.0.0.5"},
		"accounts": {"deploy"}, "window_start": {start}, "window_end": {end}, "submit": {"on"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.body)
	}
	m := orderLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %q", r.Header.Get("Location"))
	}
	orderURL := base + "/orders/" + m[1]
	op := analyst.get(orderURL)
	wantStatus(t, op, http.StatusOK)
	if !strings.Contains(op.body, "&lt;script&gt;alert(1)&lt;/script&gt; patch") || strings.Contains(op.body, "<script>alert(1)") {
		t.Fatal("title not escaped")
	}
	admin := ui.as(t, ui.Admin)
	ap := admin.get(orderURL)
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(ap.body)
	if version == nil {
		t.Fatal("no version on the order page")
	}
	wantRedirect(t, admin.post(orderURL+"/act", url.Values{"action": {"approve"}, "version": {version[1]}, "comment": {"ok"}}), orderURL)
	if after := admin.get(orderURL); !strings.Contains(after.body, `id="order-state">Approved`) {
		t.Errorf("order not approved:\n%s", after.body)
	}
	// A stale form is refused.
	wantStatus(t, admin.post(orderURL+"/act", url.Values{"action": {"cancel"}, "version": {version[1]}}), http.StatusConflict)

	day := time.Now().UTC().Format(time.DateOnly)
	audit := analyst.get(base + "?from=" + day + "&to=" + day)
	wantStatus(t, audit, http.StatusOK)
	if !strings.Contains(audit.body, `id="audit-summary"`) {
		t.Error("no audit summary")
	}
	wantRedirect(t, analyst.post(base+"/report", url.Values{"from": {day}, "to": {day}, "format": {"html"}, "lang": {"en"}}), "/t/"+ui.TenantA.Slug+"/reports")

	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(base), http.StatusNotFound)
	wantStatus(t, cust.get(orderURL), http.StatusNotFound)
	wantStatus(t, cust.post(orderURL+"/act", url.Values{"action": {"cancel"}}), http.StatusNotFound)
}
