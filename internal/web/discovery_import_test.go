package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// importUpload posts the discovery import form with one file.
func (c *client) importUpload(target, format, name string, content []byte) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(csrfField, c.csrf)
	_ = mw.WriteField("format", format)
	if content != nil {
		fw, err := mw.CreateFormFile("file", name)
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

var importRunRE = regexp.MustCompile(`/operations/asset-discovery/([0-9a-f-]{36})\?ok=imported`)

// hostileShodan is a hand-written Shodan banner line (documented field
// names, not a real export) whose strings try to break out of the page.
const hostileShodan = `{"ip_str":"192.0.2.10","port":443,"transport":"tcp","product":"<script>alert(1)</script>","version":"{{.X}}","hostnames":["www.example.com"],"data":"<img src=x onerror=alert(2)>","http":{"title":"</td><script>alert(3)</script>"},"_shodan":{"module":"https"}}
{"ip_str":"203.0.113.5","port":25,"transport":"tcp","product":"<b>outside</b>","_shodan":{"module":"smtp"}}
`

func TestDiscoveryImportPage(t *testing.T) {
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	if _, err := ui.Assets.Create(ctx, ui.TenantA.ID, asset.Input{Kind: "ip", Name: "dmz", Address: "192.0.2.0/28"}); err != nil {
		t.Fatal(err)
	}
	base := "/t/" + ui.TenantA.Slug + "/operations/asset-discovery"
	admin := ui.as(t, ui.Admin)

	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="import-form"`) || !strings.Contains(page.body, `enctype="multipart/form-data"`) {
		t.Fatal("discovery page has no import form")
	}

	r := admin.importUpload(base+"/import", "", "shodan.jsonl", []byte(hostileShodan))
	wantRedirect(t, r, base+"/")
	m := importRunRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirect %q", r.Header.Get("Location"))
	}
	run := admin.get(base + "/" + m[1])
	wantStatus(t, run, http.StatusOK)
	for _, want := range []string{`id="observations"`, `id="out-of-scope"`, "203.0.113.5", "www.example.com",
		"&lt;script&gt;alert(1)&lt;/script&gt;", "{{.X}}", "&lt;/td&gt;&lt;script&gt;alert(3)&lt;/script&gt;", "import:shodan shodan.jsonl"} {
		if !strings.Contains(run.body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>outside</b>"} {
		if strings.Contains(run.body, bad) {
			t.Errorf("run page holds unescaped %q", bad)
		}
	}
	// The new host is in the inventory; the outside one is not.
	as, err := ui.Store.Assets().List(ctx, ui.TenantA.ID, store.AssetFilter{Kind: "host"})
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, a := range as {
		addrs = append(addrs, a.Address)
	}
	if got := strings.Join(addrs, ","); !strings.Contains(got, "192.0.2.10") || strings.Contains(got, "203.0.113.5") {
		t.Fatalf("host assets %v, want 192.0.2.10 and not 203.0.113.5", addrs)
	}
	// The import is listed with the other runs.
	if list := admin.get(base); !strings.Contains(list.body, "import:shodan shodan.jsonl") {
		t.Error("runs list lacks the import")
	}

	// A file nothing can read is refused on the form, in the user's language.
	bad := admin.importUpload(base+"/import", "", "notes.txt", []byte("hello\n"))
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	if !strings.Contains(bad.body, `id="import-form"`) || !strings.Contains(bad.body, "field-error") {
		t.Fatalf("refused import shows no field error:\n%s", bad.body)
	}
}

func TestDiscoveryImportAuthz(t *testing.T) {
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	if _, err := ui.Assets.Create(ctx, ui.TenantA.ID, asset.Input{Kind: "ip", Name: "dmz", Address: "192.0.2.0/28"}); err != nil {
		t.Fatal(err)
	}
	base := "/t/" + ui.TenantA.Slug + "/operations/asset-discovery"
	viewer, err := ui.Tenants.CreateUser(ctx, tenant.UserInput{Username: "disc-viewer", Password: "correct-horse-battery"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.Tenants.SetMembership(ctx, viewer.ID, ui.TenantA.ID, auth.RoleCustomer); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"ip_str":"192.0.2.10","port":22}` + "\n")

	// A read-only member sees the page without the form and may not post.
	v := ui.as(t, viewer)
	page := v.get(base)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, `id="import-form"`) {
		t.Error("read-only member is offered the import form")
	}
	wantStatus(t, v.importUpload(base+"/import", "shodan", "s.jsonl", body), http.StatusForbidden)

	// Another tenant's user gets 404 for the tenant's pages and import.
	other := ui.as(t, ui.CustomerB)
	wantStatus(t, other.get(base), http.StatusNotFound)
	wantStatus(t, other.importUpload(base+"/import", "shodan", "s.jsonl", body), http.StatusNotFound)

	// An import run of tenant A is not found from tenant B's URL.
	admin := ui.as(t, ui.Admin)
	r := admin.importUpload(base+"/import", "shodan", "s.jsonl", body)
	m := importRunRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("import: %d %s", r.StatusCode, r.body)
	}
	wantStatus(t, admin.get("/t/"+ui.TenantB.Slug+"/operations/asset-discovery/"+m[1]), http.StatusNotFound)

	runs, _ := ui.Store.DiscoveryRuns().List(ctx, ui.TenantA.ID, store.Page{Limit: 10})
	if len(runs) != 1 {
		t.Fatalf("%d runs, want only the admin's import", len(runs))
	}
}
