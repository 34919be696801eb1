package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// newBaselineUI is the test UI with the baseline service.
func newBaselineUI(t *testing.T) (*testUI, *hardening.Service) {
	t.Helper()
	var svc *hardening.Service
	ui := newTestUI(t, func(o *Options) {
		svc = hardening.NewService(o.Store, o.Audit, hardening.Options{})
		o.Baseline = svc
	})
	return ui, svc
}

// uploadTo sends a multipart form with one file named "file".
func (c *client) uploadTo(target string, fields map[string]string, content []byte) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(csrfField, c.csrf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if content != nil {
		fw, err := mw.CreateFormFile("file", "running-config.txt")
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, target, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.ui.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	return response{Response: res, body: rec.Body.String()}
}

var (
	baselineRunLinkRE = regexp.MustCompile(`/operations/baseline/runs/([0-9a-f-]{36})`)
	hardeningRowRE    = regexp.MustCompile(`id="item-([0-9a-f-]{36})" class="hardening" data-state="([a-z]+)"`)
	checkRowRE        = regexp.MustCompile(`class="check" data-result="([a-z -]+)"`)
)

func (ui *testUI) member(t *testing.T, name, role string) store.User {
	t.Helper()
	ctx := ui.adminCtx()
	u, err := ui.Tenants.CreateUser(ctx, tenant.UserInput{Username: name, Password: "correct-horse-battery"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.Tenants.SetMembership(ctx, u.ID, ui.TenantA.ID, role); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestBaselinePages walks the baseline area with device configurations
// from the built-in policies' test data: upload, run page and filters,
// the hardening loop with its four-eyes approval, the diff, schedules and
// the report, with hostile names escaped and who may do what checked.
func TestBaselinePages(t *testing.T) {
	t.Parallel()
	ui, svc := newBaselineUI(t)
	weak, err := os.ReadFile("../baseline/policies/testdata/devices/cisco-ios-weak.cfg")
	if err != nil {
		t.Fatal(err)
	}
	hardened, err := os.ReadFile("../baseline/policies/testdata/devices/cisco-ios-hardened.cfg")
	if err != nil {
		t.Fatal(err)
	}
	hostile := `<script>alert(1)</script>{{.X}}`
	dev, err := ui.Assets.Create(ui.adminCtx(), ui.TenantA.ID, asset.Input{Kind: "device", Name: "core-sw " + hostile, Address: "10.0.0.1", Importance: 4})
	if err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	expert := ui.as(t, ui.member(t, "expert-a", auth.RoleExpert))
	analyst := ui.as(t, ui.AnalystA) // reads assessments, cannot change them
	viewer := ui.as(t, ui.member(t, "viewer-a", auth.RoleCustomer))
	custB := ui.as(t, ui.CustomerB)
	base := "/t/" + ui.TenantA.Slug + "/operations/baseline"

	empty := admin.get(base)
	wantStatus(t, empty, http.StatusOK)
	if !strings.Contains(empty.body, `id="upload-form"`) {
		t.Fatal("no upload form")
	}
	// A missing file is a form error, not a failure.
	r := admin.uploadTo(base+"/upload", map[string]string{"asset": dev.ID, "policy": "cisco-ios"}, nil)
	wantStatus(t, r, http.StatusUnprocessableEntity)

	upload := func(c *client, cfg []byte) string {
		t.Helper()
		r := c.uploadTo(base+"/upload", map[string]string{"asset": dev.ID, "policy": "cisco-ios"}, cfg)
		wantRedirect(t, r, base+"/runs/")
		return baselineRunLinkRE.FindStringSubmatch(r.Header.Get("Location"))[1]
	}
	run1 := upload(admin, weak)
	run2 := upload(admin, hardened)

	page := admin.get(base + "/runs/" + run1)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, hostile) || !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;{{.X}}") {
		t.Fatal("the asset name is not escaped on the run page")
	}
	all := checkRowRE.FindAllStringSubmatch(page.body, -1)
	failedOnly := checkRowRE.FindAllStringSubmatch(admin.get(base+"/runs/"+run1+"?result=failed").body, -1)
	nFailed := 0
	for _, m := range all {
		if m[1] == "failed" {
			nFailed++
		}
	}
	if len(all) == 0 || nFailed == 0 || len(failedOnly) != nFailed {
		t.Fatalf("%d checks, %d failed, the failed filter shows %d", len(all), nFailed, len(failedOnly))
	}
	for _, m := range failedOnly {
		if m[1] != "failed" {
			t.Errorf("failed filter shows a %s check", m[1])
		}
	}
	wantStatus(t, admin.get(base+"/runs/"+run1+"?result=bogus"), http.StatusUnprocessableEntity)

	// The fixed checks, by the service's diff; the page shows the same.
	cmpr, err := svc.Compare(ui.adminCtx(), ui.TenantA.ID, run1, run2)
	if err != nil || len(cmpr.Diff.NewlyPassing) == 0 {
		t.Fatalf("diff: %+v %v", cmpr.Diff, err)
	}
	diff := admin.get(base + "/diff?from=" + run1 + "&to=" + run2)
	wantStatus(t, diff, http.StatusOK)
	for _, c := range cmpr.Diff.NewlyPassing {
		if !strings.Contains(diff.body, "<code>"+c.ID+"</code>") {
			t.Errorf("fixed check %s not on the diff page", c.ID)
		}
	}
	wantStatus(t, admin.get(base+"/diff?from="+run1+"&to=nope"), http.StatusNotFound)

	// Hardening: the admin proposes, cannot approve; the expert approves.
	target := cmpr.Diff.NewlyPassing[0].ID
	r = admin.post(base+"/hardening", url.Values{"run": {run1}, "check": {target}, "fix": {"no ip http server\n" + hostile}})
	wantRedirect(t, r, base+"/hardening")
	list := admin.get(base + "/hardening")
	m := hardeningRowRE.FindStringSubmatch(list.body)
	if m == nil || m[2] != "proposed" {
		t.Fatalf("no proposed item on the hardening page:\n%s", list.body)
	}
	item := m[1]
	if strings.Contains(list.body, hostile) || strings.Contains(list.body, `hardening/`+item+`/approve`) {
		t.Error("the fix is not escaped, or the proposer is offered the approval")
	}
	r = admin.post(base+"/hardening/"+item+"/approve", url.Values{"version": {"1"}})
	wantStatus(t, r, http.StatusForbidden)
	wantStatus(t, analyst.post(base+"/hardening/"+item+"/approve", url.Values{"version": {"1"}}), http.StatusForbidden)
	wantStatus(t, expert.post(base+"/hardening/"+item+"/reject", url.Values{"version": {"1"}}), http.StatusUnprocessableEntity) // no reason
	if !strings.Contains(expert.get(base+"/hardening").body, "hardening/"+item+"/approve") {
		t.Error("a second person is not offered the approval")
	}
	wantRedirect(t, expert.post(base+"/hardening/"+item+"/approve", url.Values{"version": {"1"}}), base+"/hardening")
	wantRedirect(t, admin.post(base+"/hardening/"+item+"/applied", url.Values{"version": {"2"}}), base+"/hardening")
	upload(admin, hardened) // the re-check
	if m := hardeningRowRE.FindStringSubmatch(admin.get(base + "/hardening").body); m == nil || m[2] != "verified" {
		t.Errorf("the item is not verified after the re-check: %v", m)
	}

	// Overview and asset page.
	ov := admin.get(base)
	wantStatus(t, ov, http.StatusOK)
	if strings.Contains(ov.body, hostile) || !strings.Contains(ov.body, `data-asset="`+dev.ID+`"`) ||
		!strings.Contains(ov.body, `<polyline points="`) {
		t.Error("the overview lacks the asset, its trend, or escaping")
	}
	assetPage := admin.get(base + "/assets/" + dev.ID)
	wantStatus(t, assetPage, http.StatusOK)
	if n := len(baselineRunLinkRE.FindAllString(assetPage.body, -1)); n != 3 {
		t.Errorf("asset page links %d runs, want 3", n)
	}

	// Schedules: the form refuses an unpinned host key.
	sched := admin.get(base + "/schedules")
	wantStatus(t, sched, http.StatusOK)
	r = admin.post(base+"/schedules", url.Values{"asset": {dev.ID}, "policy": {"openssh"}, "secret": {"none"}, "username": {"root"},
		"port": {"22"}, "host_key": {hostile}, "hours": {"24"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if strings.Contains(r.body, hostile) {
		t.Error("the host key is not escaped in the form")
	}

	// The report is archived.
	wantRedirect(t, admin.post(base+"/report", url.Values{"format": {"html"}, "lang": {"zh-CN"}}), "/t/"+ui.TenantA.Slug+"/reports?ok=generated")

	// Who may see and do what.
	for _, target := range []string{base + "/runs/" + run1, base + "/hardening", base + "/schedules", base + "/assets/" + dev.ID} {
		wantStatus(t, custB.get(target), http.StatusNotFound)
		wantStatus(t, analyst.get(target), http.StatusOK)
		wantStatus(t, viewer.get(target), http.StatusForbidden)
	}
	wantStatus(t, custB.get(base), http.StatusNotFound)
	if r := viewer.get(base); r.StatusCode != http.StatusOK || strings.Contains(r.body, `id="asset-compliance"`) {
		t.Error("a customer without assessment access should see the service description only")
	}
	for _, w := range []struct{ path string }{{base + "/upload"}, {base + "/hardening"}, {base + "/schedules"}, {base + "/hardening/" + item + "/applied"}} {
		wantStatus(t, analyst.post(w.path, url.Values{}), http.StatusForbidden)
		wantStatus(t, custB.post(w.path, url.Values{}), http.StatusNotFound)
	}
	// Every page is clean (CSP, no inline script or style) in both languages.
	for _, lang := range []string{"en", "zh-CN"} {
		admin.header.Set("Accept-Language", lang)
		for _, target := range []string{base, base + "/runs/" + run1, base + "/runs/" + run1 + "?result=failed&q=" + url.QueryEscape(hostile),
			base + "/assets/" + dev.ID, base + "/diff?from=" + run1 + "&to=" + run2, base + "/hardening", base + "/schedules"} {
			r := admin.get(target)
			wantStatus(t, r, http.StatusOK)
			checkPage(t, target, r)
			if strings.Contains(r.body, hostile) {
				t.Errorf("%s: hostile text not escaped", target)
			}
		}
	}
	// A run of tenant A through tenant B's path is not found.
	globex := ui.as(t, ui.Admin)
	wantStatus(t, globex.get("/t/"+ui.TenantB.Slug+"/operations/baseline/runs/"+run1), http.StatusNotFound)
}
