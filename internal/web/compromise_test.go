package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestCompromisePages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	shop, err := ui.Assets.Create(ui.adminCtx(), ui.TenantA.ID, asset.Input{Kind: "application", Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	base := "/t/" + ui.TenantA.Slug + "/operations/app-compromise"
	log := strings.Repeat("198.51.100.7 - - [29/Nov/2026:08:00:00 +0000] \"GET /index.php HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0\"\n", 20) +
		"203.0.113.66 - - [29/Nov/2026:09:00:00 +0000] \"GET /item.php?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\" 200 9000 \"-\" \"<script>alert(2)</script>\"\n"
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(csrfField, admin.csrf)
	_ = mw.WriteField("asset", shop.ID)
	fw, _ := mw.CreateFormFile("files", "access.log")
	_, _ = fw.Write([]byte(log))
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, base, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for _, ck := range admin.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	ui.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("analyse: %d\n%s", rec.Code, rec.Body.String())
	}
	runURL := strings.Split(rec.Header().Get("Location"), "?")[0]
	page := admin.get(runURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, "<script>alert") || !strings.Contains(page.body, "xss") {
		t.Fatalf("run page:\n%s", page.body)
	}
	wantRedirect(t, admin.post(runURL+"/mark", url.Values{"hit": {"0"}, "mark": {"true-positive"}, "note": {"reflected"}}), runURL)
	wantRedirect(t, admin.post(runURL+"/verdict", url.Values{"verdict": {"attacked-not-compromised"}, "note": {"reflected XSS only"}}), runURL)
	if page = admin.get(runURL); !strings.Contains(page.body, "Attacked, not compromised") || !strings.Contains(page.body, "True positive") {
		t.Fatalf("marks and verdict not shown:\n%s", page.body)
	}
	wantRedirect(t, admin.post(runURL+"/report", url.Values{"format": {"html"}, "lang": {"zh-CN"}}), "/t/"+ui.TenantA.Slug+"/reports")

	// A "compromised" verdict opens a case on the system, with the
	// attacking address and a link back to the analysis.
	r := admin.post(runURL+"/verdict", url.Values{"verdict": {"compromised"}, "note": {"web shell found"}, "open_case": {"on"}})
	wantRedirect(t, r, "/t/"+ui.TenantA.Slug+"/incidents/")
	caseID := strings.TrimPrefix(r.Header.Get("Location"), "/t/"+ui.TenantA.Slug+"/incidents/")
	c, err := ui.Incidents.Get(ui.adminCtx(), ui.TenantA.ID, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Title, "shop") || !slices.Contains(c.AssetIDs, shop.ID) || !strings.Contains(c.Description, runURL) ||
		!strings.Contains(c.Description, "web shell found") {
		t.Fatalf("case %+v", c)
	}
	obs, err := ui.Store.Incidents().Observables(ui.adminCtx(), ui.TenantA.ID, c.ID)
	if err != nil || !slices.ContainsFunc(obs, func(o store.IncidentObservable) bool { return o.Value == "203.0.113.66" && o.IOC }) {
		t.Fatalf("observables %+v, %v", obs, err)
	}
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(runURL), http.StatusNotFound)
}
