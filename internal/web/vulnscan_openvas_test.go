package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/vuln/gmp"
)

// TestVulnOpenVASForm sets a tenant's gvmd connection through the form:
// the password is kept encrypted and never shown; a bad address is a form
// error with the typed text escaped; the form needs a CSRF token and a
// tenant administrator (an analyst sees the history, not the form); the
// history shows a run's errors escaped.
func TestVulnOpenVASForm(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	svc := gmp.NewService(ui.Store, ui.Secrets, ui.Audit, gmp.ServiceOptions{})
	ui.srv.opts.GMP = svc
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/vulnerabilities/openvas"

	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="openvas-form"`) {
		t.Fatalf("no form:\n%s", page.body)
	}
	form := url.Values{"address": {"/run/gvmd/gvmd.sock"}, "username": {"vigil"}, "password": {"pw-Secret-1"}}
	wantRedirect(t, admin.post(base, form), base+"?ok=saved")
	page = admin.get(base)
	if !strings.Contains(page.body, `value="/run/gvmd/gvmd.sock"`) || strings.Contains(page.body, "pw-Secret-1") {
		t.Fatalf("saved connection not shown, or the password is:\n%s", page.body)
	}
	g, err := ui.Store.VulnScanRuns().GetGMP(t.Context(), ui.TenantA.ID)
	if err != nil || g.ConfigID != gmp.ConfigFullAndFast {
		t.Fatalf("stored %+v, %v", g, err)
	}
	sec, err := ui.Store.Secrets().Get(t.Context(), ui.TenantA.ID, g.SecretID)
	if err != nil || strings.Contains(string(sec.Ciphertext), "pw-Secret-1") {
		t.Fatalf("password at rest: %v", err)
	}

	// A bad address: 422, the message by the field, the text escaped.
	r := admin.post(base, url.Values{"address": {"<b>x</b>"}, "username": {"vigil"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if strings.Contains(r.body, "<b>x</b>") || !strings.Contains(r.body, "&lt;b&gt;x&lt;/b&gt;") {
		t.Fatalf("bad address:\n%s", r.body)
	}
	// No CSRF token: refused, nothing changed.
	r = admin.do(http.MethodPost, base, url.Values{"address": {"gvmd.example:9390"}, "username": {"x"}})
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("post without CSRF token: %d", r.StatusCode)
	}
	// An analyst has no form and may not post; another tenant's user gets 404.
	analyst := ui.as(t, ui.AnalystA)
	ap := analyst.get(base)
	wantStatus(t, ap, http.StatusOK)
	if strings.Contains(ap.body, `id="openvas-form"`) || strings.Contains(ap.body, "/run/gvmd/gvmd.sock") {
		t.Fatalf("the analyst sees the connection:\n%s", ap.body)
	}
	wantStatus(t, analyst.post(base, form), http.StatusForbidden)
	wantStatus(t, ui.as(t, ui.CustomerB).get(base), http.StatusNotFound)

	// The history shows a run's errors, escaped.
	ctx := ui.AdminCtx(t.Context())
	if _, err := svc.Record(ctx, ui.TenantA.ID, "scheduled", time.Now(), gmp.Outcome{Errors: []string{"openvas: <i>refused</i>"}}, nil); err != nil {
		t.Fatal(err)
	}
	page = admin.get(base)
	if !strings.Contains(page.body, "openvas: &lt;i&gt;refused&lt;/i&gt;") {
		t.Fatalf("history without the escaped error:\n%s", page.body)
	}
	wantRedirect(t, admin.post(base+"/delete", nil), base+"?ok=deleted")
	if _, err := ui.Store.VulnScanRuns().GetGMP(t.Context(), ui.TenantA.ID); err == nil {
		t.Fatal("connection still there after delete")
	}
}
