package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/store"
)

func assetForm(name string) url.Values {
	return url.Values{"kind": {"host"}, "name": {name}, "address": {"10.1.2.3"}, "importance": {"3"}}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	target := "/t/" + ui.TenantA.Slug + "/assets"
	count := func() int {
		n, err := ui.Store.Assets().Count(context.Background(), ui.TenantA.ID, store.AssetFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	// No token, a wrong token, another session's token: refused.
	r := admin.do(http.MethodPost, target, assetForm("no-token"))
	wantStatus(t, r, http.StatusForbidden)
	checkPage(t, "csrf refusal", r)
	f := assetForm("wrong-token")
	f.Set("csrf", admin.csrf+"x")
	wantStatus(t, admin.do(http.MethodPost, target, f), http.StatusForbidden)
	other := ui.as(t, ui.Admin)
	f = assetForm("other-session")
	f.Set("csrf", other.csrf)
	wantStatus(t, admin.do(http.MethodPost, target, f), http.StatusForbidden)
	// A token in the URL does not count.
	wantStatus(t, admin.do(http.MethodPost, target+"?csrf="+url.QueryEscape(admin.csrf), assetForm("query")), http.StatusForbidden)
	if n := count(); n != before {
		t.Fatalf("refused posts created %d assets", n-before)
	}

	// The right token, in the form or the X-CSRF-Token header, works.
	wantRedirect(t, admin.post(target, assetForm("with-token")), target+"/")
	admin.header.Set(csrfHeader, admin.csrf)
	wantRedirect(t, admin.do(http.MethodPost, target, assetForm("with-header")), target+"/")
	admin.header.Del(csrfHeader)
	if n := count(); n != before+2 {
		t.Fatalf("%d assets created, want 2", n-before)
	}

	// Cross-site requests are refused even with the token.
	for _, h := range []http.Header{
		{"Origin": {"https://evil.example"}},
		{"Sec-Fetch-Site": {"cross-site"}},
	} {
		admin.header = h
		r := admin.post(target, assetForm("cross-site"))
		wantStatus(t, r, http.StatusForbidden)
		checkPage(t, "cross-site refusal", r)
	}
	admin.header = http.Header{"Origin": {"http://example.com"}, "Sec-Fetch-Site": {"same-origin"}}
	wantRedirect(t, admin.post(target, assetForm("same-origin")), target+"/")
	if n := count(); n != before+3 {
		t.Fatalf("%d assets created, want 3", n-before)
	}

	// The login form needs its double-submit cookie and matching field.
	anon := ui.anon(t)
	login := url.Values{"username": {"admin"}, "password": {"wrong password"}}
	wantStatus(t, anon.do(http.MethodPost, "/login", login), http.StatusForbidden)
	anon.loadCSRF(anon.get("/login"))
	login.Set("csrf", "forged")
	wantStatus(t, anon.do(http.MethodPost, "/login", login), http.StatusForbidden)
	ck := anon.cookies[loginCSRFCookie]
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login CSRF cookie = %+v", ck)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	c := ui.anon(t)
	loginPage := c.get("/login?next=/t/acme/assets")
	wantStatus(t, loginPage, http.StatusOK)
	checkPage(t, "login", loginPage)
	for _, field := range []string{`name="username"`, `name="password"`, `name="csrf"`, `action="/login"`} {
		if !strings.Contains(loginPage.body, field) {
			t.Errorf("login page lacks %s", field)
		}
	}
	c.loadCSRF(loginPage)

	// Wrong password and unknown user look the same.
	bad := c.post("/login", url.Values{"username": {"admin"}, "password": {"not the password"}})
	unknown := c.post("/login", url.Values{"username": {"nobody"}, "password": {"not the password"}})
	for _, r := range []response{bad, unknown} {
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.body, "The username or password is incorrect.") {
			t.Errorf("failed login page lacks the message:\n%s", r.body)
		}
		if _, ok := c.cookies[sessionCookie]; ok {
			t.Fatal("a failed login set a session cookie")
		}
	}
	if strings.ReplaceAll(bad.body, `value="admin"`, "") != strings.ReplaceAll(unknown.body, `value="nobody"`, "") {
		t.Error("the pages for a wrong password and an unknown user differ")
	}

	// Success: a session cookie, a redirect to next, the audit entry.
	ok := c.post("/login", url.Values{"username": {"admin"}, "password": {"correct-horse-battery"}, "next": {"/t/acme/assets"}})
	wantRedirect(t, ok, "/t/acme/assets")
	sc := c.cookies[sessionCookie]
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure {
		t.Fatalf("session cookie = %+v", sc)
	}
	page := c.get("/t/acme/assets")
	wantStatus(t, page, http.StatusOK)
	c.loadCSRF(page) // now the session's token
	// An outside next is ignored.
	if got := localPath("https://evil.example/", "/"); got != "/" {
		t.Errorf("localPath kept %q", got)
	}
	for _, next := range []string{"//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/\t/evil.example", "/\n/x"} {
		if got := localPath(next, "/"); got != "/" {
			t.Errorf("localPath(%q) = %q", next, got)
		}
	}

	// Logout ends the session.
	wantRedirect(t, c.post("/logout", nil), "/login")
	if _, ok := c.cookies[sessionCookie]; ok {
		t.Fatal("logout left the session cookie")
	}
	c.cookies[sessionCookie] = sc // a stolen copy of the old cookie is dead too
	wantRedirect(t, c.get("/t/acme"), "/login")

	acts := strings.Join(ui.auditActions(t), " ")
	for _, want := range []string{"login.failed login.failed login", "logout"} {
		if !strings.Contains(acts, want) {
			t.Errorf("audit actions %q lack %q", acts, want)
		}
	}
}

func TestLoginRateLimited(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	c := ui.anon(t)
	c.loadCSRF(c.get("/login"))
	var last response
	for range 11 { // the default limit is 10 failures
		last = c.post("/login", url.Values{"username": {"analyst-a"}, "password": {"wrong password!"}})
	}
	wantStatus(t, last, http.StatusTooManyRequests)
	if !strings.Contains(last.body, "Too many failed sign-in attempts") {
		t.Errorf("rate-limited page lacks the message:\n%s", last.body)
	}
	// Even the right password is refused while limited.
	r := c.post("/login", url.Values{"username": {"analyst-a"}, "password": {"correct-horse-battery"}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if _, ok := c.cookies[sessionCookie]; ok {
		t.Fatal("a rate-limited login set a session cookie")
	}
}

func TestMustChangePassword(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) { o.SecureCookies = true })
	ctx := context.Background()
	u := ui.AnalystA
	u.MustChangePassword = true
	if err := ui.Store.Users().Update(ctx, &u); err != nil {
		t.Fatal(err)
	}
	c := ui.anon(t)
	c.loadCSRF(c.get("/login"))
	r := c.post("/login", url.Values{"username": {"analyst-a"}, "password": {"correct-horse-battery"}})
	wantRedirect(t, r, "/account/password")
	if sc := c.cookies[sessionCookie]; sc == nil || !sc.Secure {
		t.Fatalf("session cookie not Secure with SecureCookies: %+v", sc)
	}
	wantRedirect(t, c.get("/t/acme"), "/account/password")
	page := c.get("/account/password")
	wantStatus(t, page, http.StatusOK)
	c.loadCSRF(page)
	wantStatus(t, c.post("/t/acme/assets", assetForm("x")), http.StatusForbidden)

	r = c.post("/account/password", url.Values{"current": {"correct-horse-battery"}, "new": {"short"}, "confirm": {"short"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "must be 12 to 256 characters") {
		t.Errorf("weak password not explained:\n%s", r.body)
	}
	r = c.post("/account/password", url.Values{"current": {"wrong-password-here"}, "new": {"a-new-long-passphrase"}, "confirm": {"a-new-long-passphrase"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "The current password is not correct.") {
		t.Errorf("wrong current password not explained:\n%s", r.body)
	}
	r = c.post("/account/password", url.Values{"current": {"correct-horse-battery"}, "new": {"a-new-long-passphrase"}, "confirm": {"a-new-long-passphrase"}})
	wantRedirect(t, r, "/account")
	wantStatus(t, c.get("/t/acme"), http.StatusOK)
}

func TestXSSEscaped(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	const evil = `<script>alert(1)</script>`
	a, err := ui.Assets.Create(ui.adminCtx(), ui.TenantA.ID, asset.Input{Kind: "application", Name: evil,
		Owner: `"><img src=x onerror=alert(2)>`, Tags: []string{"a"}, Description: evil,
		Attributes: map[string]string{"k": evil}})
	if err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug
	for _, path := range []string{base + "/assets", base + "/assets/" + a.ID, base + "/assets/" + a.ID + "/edit",
		base + "/assets?q=" + url.QueryEscape(evil), base, "/audit"} {
		r := admin.get(path)
		wantStatus(t, r, http.StatusOK)
		checkPage(t, path, r)
		if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "<img src=x") {
			t.Errorf("%s: user data rendered unescaped", path)
		}
	}
	if r := admin.get(base + "/assets/" + a.ID); !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("escaped name not shown:\n%s", r.body)
	}
}
