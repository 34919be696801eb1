package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// postFile sends a multipart form with one file, as a browser upload.
func (c *client) postFile(target string, fields map[string]string, file string, content []byte) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, ok := fields[csrfField]; !ok {
		_ = mw.WriteField(csrfField, c.csrf)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if content != nil {
		fw, err := mw.CreateFormFile("file", file)
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
	return response{Response: rec.Result(), body: rec.Body.String()}
}

func TestPolicyReviewPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/policy-optimisation"
	rules, err := os.ReadFile("../policy/testdata/host.rules")
	if err != nil {
		t.Fatal(err)
	}
	// A hostile comment in the configuration is shown inert.
	hostile := strings.Replace(string(rules), `legacy \"db\" access`, `<script>alert(1)</script> {{.}}`, 1)

	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `enctype="multipart/form-data"`) {
		t.Fatal("no upload form for an admin")
	}
	r := admin.postFile(base, map[string]string{"name": "web-01 <b>fw</b>", "format": "iptables-save", "family": "4",
		"asset": ui.AssetA.ID}, "rules.txt", []byte(hostile))
	wantRedirect(t, r, base+"/")
	view := admin.get(r.Header.Get("Location"))
	wantStatus(t, view, http.StatusOK)
	for _, want := range []string{"Shadowed rules", "Redundant rules", "web-01 &lt;b&gt;fw&lt;/b&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;", "web-01"} {
		if !strings.Contains(view.body, want) {
			t.Errorf("review page lacks %q", want)
		}
	}
	if strings.Contains(view.body, "<script>alert(1)") || strings.Contains(view.body, "<b>fw</b>") {
		t.Fatal("hostile text rendered as markup")
	}
	id := strings.TrimPrefix(strings.Split(r.Header.Get("Location"), "?")[0], base+"/")

	// The configuration downloads as a plain-text attachment.
	cfg := admin.get(base + "/" + id + "/config")
	wantStatus(t, cfg, http.StatusOK)
	if cfg.body != hostile || !strings.HasPrefix(cfg.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("config download: %q %q", cfg.Header.Get("Content-Disposition"), cfg.Header.Get("Content-Type"))
	}

	// A refused configuration is shown on the form with its line, and
	// nothing is stored.
	r = admin.postFile(base, map[string]string{"name": "broken", "format": "iptables-save"}, "bad.txt",
		[]byte("*filter\n:INPUT DROP [0:0]\n-A INPUT --frobnicate -j ACCEPT\nCOMMIT\n"))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "The configuration was refused: line 3") {
		t.Fatalf("parse error not shown:\n%s", r.body)
	}
	// Pasted text works too; an empty upload is a field error.
	r = admin.postFile(base, map[string]string{"name": "empty", "format": "iptables-save"}, "", nil)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	r = admin.post(base, nil) // not multipart: no file, no text
	wantStatus(t, r, http.StatusUnprocessableEntity)

	// Without the CSRF token the upload is refused.
	r = admin.postFile(base, map[string]string{csrfField: "wrong", "name": "x", "format": "iptables-save"}, "r.txt", rules)
	wantStatus(t, r, http.StatusForbidden)

	// Accept the plan.
	wantRedirect(t, admin.post(base+"/"+id+"/accept", nil), base+"/"+id)
	view = admin.get(base + "/" + id)
	if !strings.Contains(view.body, "Accepted") {
		t.Fatal("accepted review not marked")
	}

	// The analyst of A reads but cannot upload; the customer of B sees
	// nothing of A.
	analyst := ui.as(t, ui.AnalystA)
	wantStatus(t, analyst.get(base+"/"+id), http.StatusOK)
	if strings.Contains(analyst.get(base).body, `enctype="multipart/form-data"`) {
		t.Fatal("analyst sees the upload form")
	}
	wantStatus(t, analyst.postFile(base, map[string]string{"name": "x", "format": "iptables-save"}, "r.txt", rules), http.StatusForbidden)
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(base+"/"+id), http.StatusNotFound)

	// zh-CN labels for a user who chose Chinese.
	u := ui.Admin
	u.Locale = "zh-CN"
	if err := ui.Store.Users().Update(ui.adminCtx(), &u); err != nil {
		t.Fatal(err)
	}
	if v := admin.get(base + "/" + id); !strings.Contains(v.body, "被遮蔽的规则") {
		t.Fatal("review page not in Chinese for a zh-CN user")
	}
	actions := strings.Join(ui.auditActions(t), " ")
	for _, a := range []string{"policy_review.create", "policy_review.accept"} {
		if !strings.Contains(actions, a) {
			t.Errorf("audit lacks %s", a)
		}
	}
}

func TestPolicyReviewWithRequirements(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/policy-optimisation"
	rules, err := os.ReadFile("../policy/testdata/host.rules")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(csrfField, admin.csrf)
	_ = mw.WriteField("name", "host")
	_ = mw.WriteField("format", "iptables-save")
	for name, content := range map[string]string{"file": string(rules), "require": "chain INPUT\ndeny any from any to any port 3306\n"} {
		fw, _ := mw.CreateFormFile(name, name+".txt")
		_, _ = fw.Write([]byte(content))
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, base, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for _, ck := range admin.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	ui.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", rec.Code, rec.Body.String())
	}
	view := admin.get(rec.Header().Get("Location"))
	// host.rules accepts 3306 from anywhere: the statement fails.
	if !strings.Contains(view.body, `id="required"`) || !strings.Contains(view.body, "0 of 1 statements hold") {
		t.Fatalf("required policy not shown:\n%s", view.body)
	}
}
