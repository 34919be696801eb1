package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
)

var campaignLinkRE = regexp.MustCompile(`/operations/(?:golive-check|key-period)/([0-9a-f-]{36})`)

// newCampaignUI is a test UI with the campaign service.
func newCampaignUI(t *testing.T) *testUI {
	t.Helper()
	return newTestUI(t, func(o *Options) {
		svc, err := manager.NewService(o.Store, o.Audit, manager.Options{Archive: o.Archive})
		if err != nil {
			t.Fatal(err)
		}
		o.Campaigns = svc
	})
}

// TestGoLivePages opens a gate through the pages, runs a check against a
// loopback server, answers an item, decides, and checks escaping and who
// may see and change what.
func TestGoLivePages(t *testing.T) {
	t.Parallel()
	ui := newCampaignUI(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "admin" {
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer web.Close()
	sys, err := ui.Assets.Create(ui.AdminCtx(context.Background()), ui.TenantA.ID, asset.Input{Kind: "host", Name: "核心系统 {{.X}}", Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/golive-check"
	list := admin.get(base)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.body, `id="campaign-form"`) {
		t.Fatal("no form to open a gate")
	}
	hostile := `<script>alert(1)</script>`
	r := admin.post(base, url.Values{"asset": {sys.ID}, "version": {"v2 " + hostile}, "owner": {"张三"}, "planned": {"2030-01-02"},
		"asvs_level": {"1"}, "mlps_level": {"0"}, "declared_ports": {"80"}, "urls": {web.URL + "/"}})
	wantRedirect(t, r, base+"/")
	m := campaignLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	gURL := base + "/" + m[1]
	page := admin.get(gURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, hostile) || !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the version is not escaped")
	}
	if !strings.Contains(page.body, "{{.X}}") {
		t.Error("a template-looking system name is not shown as text")
	}
	if !strings.Contains(page.body, `data-outcome="fail"`) {
		t.Error("a gate with nothing checked does not show fail")
	}
	// Bad input is refused: a URL off the system's address, a bad date.
	for _, form := range []url.Values{
		{"asset": {sys.ID}, "version": {"v3"}, "owner": {"x"}, "planned": {"2030-01-02"}, "asvs_level": {"1"}, "mlps_level": {"0"}, "urls": {"http://192.0.2.9/"}},
		{"asset": {sys.ID}, "version": {"v4"}, "owner": {"x"}, "planned": {"soon"}, "asvs_level": {"1"}, "mlps_level": {"0"}},
		{"asset": {ui.AssetB.ID}, "version": {"v5"}, "owner": {"x"}, "planned": {"2030-01-02"}, "asvs_level": {"1"}, "mlps_level": {"0"}},
	} {
		if r := admin.post(base, form); r.StatusCode != http.StatusUnprocessableEntity && r.StatusCode != http.StatusBadRequest {
			t.Errorf("%v: status %d", form, r.StatusCode)
		}
	}

	// Run the default-credential check against the loopback server.
	wantRedirect(t, admin.post(gURL+"/run", url.Values{"task": {"default-creds"}}), gURL)
	page = admin.get(gURL)
	if !strings.Contains(page.body, "default-credentials/"+web.Listener.Addr().String()) {
		t.Error("the default-credential finding is not shown")
	}
	// Answer a checklist item with hostile evidence.
	wantRedirect(t, admin.post(gURL+"/items", url.Values{"task": {"design"}, "item": {"design-ports"}, "status": {"passed"},
		"evidence": {`<img src=x onerror=alert(1)>`}}), gURL)
	page = admin.get(gURL)
	if strings.Contains(page.body, "<img src=x") || !strings.Contains(page.body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("evidence is not escaped")
	}
	wantRedirect(t, admin.post(gURL+"/decide", url.Values{"sign_off": {"0"}}), gURL)
	if !strings.Contains(admin.get(gURL).body, `id="decisions"`) {
		t.Error("the decision is not listed")
	}
	if r := admin.post(gURL+"/decide", url.Values{"sign_off": {"1"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("signing off a failing gate: %d", r.StatusCode)
	}

	// The analyst reads but cannot change; tenant B's customer sees nothing.
	analyst := ui.as(t, ui.AnalystA)
	ap := analyst.get(gURL)
	wantStatus(t, ap, http.StatusOK)
	if strings.Contains(ap.body, `class="inline run-form"`) || strings.Contains(ap.body, `id="decide-form"`) {
		t.Error("the analyst is offered forms to change the gate")
	}
	wantStatus(t, analyst.post(gURL+"/run", url.Values{"task": {"ports"}}), http.StatusForbidden)
	wantStatus(t, analyst.post(base, url.Values{"asset": {sys.ID}}), http.StatusForbidden)
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(gURL), http.StatusNotFound)
	wantStatus(t, cust.get(base), http.StatusNotFound)
	wantStatus(t, cust.post(gURL+"/run", url.Values{"task": {"ports"}}), http.StatusNotFound)
	// The gate is not found under tenant B's path, nor as a key-period campaign.
	wantStatus(t, admin.get("/t/"+ui.TenantB.Slug+"/operations/golive-check/"+m[1]), http.StatusNotFound)
	wantStatus(t, admin.get("/t/"+ui.TenantA.Slug+"/operations/key-period/"+m[1]), http.StatusNotFound)
}

// TestKeyPeriodPages plans a campaign from the calendar and sets its
// duty roster through the pages.
func TestKeyPeriodPages(t *testing.T) {
	t.Parallel()
	ui := newCampaignUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/key-period"
	list := admin.get(base)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.body, `value="national-day-2027"`) {
		t.Fatal("the calendar's periods are not offered")
	}
	r := admin.post(base, url.Values{"period": {"national-day-2027"}, "name": {"国庆保障 <b>2027</b>"}, "assets": {ui.AssetA.ID}})
	wantRedirect(t, r, base+"/")
	m := campaignLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	kURL := base + "/" + m[1]
	page := admin.get(kURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, "<b>2027</b>") || !strings.Contains(page.body, "&lt;b&gt;2027&lt;/b&gt;") {
		t.Error("the name is not escaped")
	}
	for _, phase := range []string{"Self-inspection", "Re-check", "Watch (7×24)"} {
		if !strings.Contains(page.body, phase) {
			t.Errorf("phase %s is not listed", phase)
		}
	}
	wantRedirect(t, admin.post(kURL+"/roster", url.Values{"roster": {"2027-10-01T00:00 2027-10-01T12:00 李四 13800000000 <i>王五</i>\n2027-10-01T12:00 2027-10-02T00:00 赵六"}}), kURL)
	page = admin.get(kURL)
	if !strings.Contains(page.body, "李四 13800000000") || !strings.Contains(page.body, "&lt;i&gt;王五&lt;/i&gt;") {
		t.Error("the roster is not shown, or not escaped")
	}
	if r := admin.post(kURL+"/roster", url.Values{"roster": {"tomorrow later 张三"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a bad roster line: %d", r.StatusCode)
	}
	if r := admin.post(base, url.Values{"period": {"no-such-period"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an unknown period: %d", r.StatusCode)
	}
	analyst := ui.as(t, ui.AnalystA)
	wantStatus(t, analyst.get(kURL), http.StatusOK)
	wantStatus(t, analyst.post(kURL+"/roster", url.Values{"roster": {""}}), http.StatusForbidden)
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(kURL), http.StatusNotFound)
	wantStatus(t, admin.get("/t/"+ui.TenantA.Slug+"/operations/golive-check/"+m[1]), http.StatusNotFound)
}
