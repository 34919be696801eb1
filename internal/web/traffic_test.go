package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// postFiles sends a multipart form with files under "files".
func (c *client) postFiles(target string, fields map[string]string, files map[string][]byte) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(csrfField, c.csrf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for name, data := range files {
		fw, err := mw.CreateFormFile("files", name)
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = fw.Write(data)
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

// hostileEVE is a Suricata alert against the tenant's web server whose
// signature is markup and template syntax.
const hostileEVE = `{"timestamp":"2026-11-29T10:00:00.000000+0000","flow_id":1,"event_type":"alert","src_ip":"203.0.113.66","src_port":4444,"dest_ip":"10.0.0.5","dest_port":80,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":1,"rev":1,"signature":"<script>alert(1)</script> {{.Tenant}}","category":"Web Application Attack","severity":1}}
`

func TestTrafficPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) { o.Traffic = risk.NewService(o.Store, o.Audit, risk.Options{}) })
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/traffic-analysis"
	wantStatus(t, admin.get(base), http.StatusOK)

	// RITA's proxy sample: the beacon is listed among compromised hosts.
	files := map[string][]byte{}
	for _, n := range []string{"conn.log", "dns.log", "http.log", "ssl.log"} {
		b, err := os.ReadFile(filepath.Join("../../../shared/corpus/traffic/rita-proxy", n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = b
	}
	res := admin.postFiles(base, map[string]string{"kind": "zeek"}, files)
	wantRedirect(t, res, base+"/")
	aURL := strings.Split(res.Header.Get("Location"), "?")[0]
	page := admin.get(aURL)
	wantStatus(t, page, http.StatusOK)
	comp := page.body[strings.Index(page.body, `id="cat-compromised"`):strings.Index(page.body, `id="cat-external-attack"`)]
	if !strings.Contains(comp, "www.honestimnotevil.com") || !strings.Contains(page.body, "10.136.0.18") {
		t.Fatalf("analysis page lacks the beacon:\n%s", page.body)
	}

	// A hostile signature is shown escaped, on the analysis and finding pages.
	res = admin.postFiles(base, map[string]string{"kind": "eve"}, map[string][]byte{"eve.json": []byte(hostileEVE)})
	wantRedirect(t, res, base+"/")
	eURL := strings.Split(res.Header.Get("Location"), "?")[0]
	page = admin.get(eURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, "<script>alert(1)") || !strings.Contains(page.body, "&lt;script&gt;alert(1)") {
		t.Fatalf("hostile signature not escaped:\n%s", page.body)
	}
	fs, err := ui.Store.Traffic().ListFindings(ui.adminCtx(), ui.TenantA.ID, store.TrafficFindingFilter{Category: risk.CategoryExternalAttack})
	if err != nil || len(fs) != 1 || fs[0].AlertID == "" || fs[0].Dst != "10.0.0.5" {
		t.Fatalf("external attack findings %+v %v", fs, err)
	}
	fURL := eURL + "/findings/" + fs[0].ID
	page = admin.get(fURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, "<script>alert(1)") || !strings.Contains(page.body, "{{.Tenant}}") || !strings.Contains(page.body, "T1190") {
		t.Fatalf("finding page:\n%s", page.body)
	}
	wantRedirect(t, admin.post(fURL, url.Values{"state": {"confirmed"}, "note": {"<b>seen</b>"}}), fURL)
	page = admin.get(fURL)
	if strings.Contains(page.body, "<b>seen</b>") || !strings.Contains(page.body, "Confirmed") {
		t.Fatalf("marked finding page:\n%s", page.body)
	}
	// The finding is reached only under its own analysis.
	wantStatus(t, admin.get(aURL+"/findings/"+fs[0].ID), http.StatusNotFound)

	// The period's report is archived.
	wantRedirect(t, admin.post(base+"/report", url.Values{"from": {"2023-01-01"}, "to": {"2026-12-31"}, "format": {"html"}, "lang": {"zh-CN"}}),
		"/t/"+ui.TenantA.Slug+"/reports")
	rs, err := ui.Archive.List(ui.adminCtx(), ui.TenantA.ID, store.ReportFilter{Service: "traffic-analysis"})
	if err != nil || len(rs) != 1 {
		t.Fatalf("archived reports %+v %v", rs, err)
	}

	// A bad upload is a form error.
	res = admin.postFiles(base, map[string]string{"kind": "zeek"}, map[string][]byte{"notes.txt": []byte("x")})
	wantStatus(t, res, http.StatusUnprocessableEntity)

	// Another tenant's user: not found. A read-only user: forbidden writes.
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(base), http.StatusNotFound)
	wantStatus(t, cust.get(aURL), http.StatusNotFound)
	wantStatus(t, cust.get(fURL), http.StatusNotFound)
	wantStatus(t, cust.post(fURL, url.Values{"state": {"false-positive"}}), http.StatusNotFound)
	viewer, err := ui.Tenants.CreateUser(ui.adminCtx(), tenant.UserInput{Username: "viewer-a", Password: "correct-horse-battery"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.Tenants.SetMembership(ui.adminCtx(), viewer.ID, ui.TenantA.ID, auth.RoleCustomer); err != nil {
		t.Fatal(err)
	}
	ro := ui.as(t, viewer)
	wantStatus(t, ro.get(fURL), http.StatusOK)
	wantStatus(t, ro.post(fURL, url.Values{"state": {"false-positive"}}), http.StatusForbidden)
	wantStatus(t, ro.postFiles(base, map[string]string{"kind": "eve"}, map[string][]byte{"eve.json": []byte(hostileEVE)}), http.StatusForbidden)
	if page = ro.get(fURL); strings.Contains(page.body, `id="mark-form"`) {
		t.Fatal("read-only user is offered the marking form")
	}
}
