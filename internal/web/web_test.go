package web

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/httpmw"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
)

// testUI is a seeded platform with the UI in front of it.
type testUI struct {
	*fixture.Env
	srv *server
	h   http.Handler
}

func newTestUI(t *testing.T, mod ...func(*Options)) *testUI {
	t.Helper()
	env := fixture.New(t)
	opts := Options{Auth: env.Auth, Tenants: env.Tenants, Assets: env.Assets, Reviews: env.Reviews, Vulns: env.Vulns, Archive: env.Archive, Exposure: env.Exposure, Triage: env.Triage, Alerting: env.Alerting, Compromise: env.Compromise, Posture: env.Posture, Reports: env.Reports, Incidents: env.Incidents, Assessments: env.Assessments, Audit: env.Audit,
		Ops: env.Ops, VulnScan: env.VulnScan, Attachments: env.Attachments, Agents: env.Fleet,
		GMP:   gmp.NewService(env.Store, env.Secrets, env.Audit, gmp.ServiceOptions{}),
		Store: env.Store, Version: "test", Logger: slog.New(slog.NewTextHandler(testLog{t}, nil))}
	for _, m := range mod {
		m(&opts)
	}
	s, err := newServer(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// The production chain sets the client address before the UI.
	return &testUI{Env: env, srv: s, h: httpmw.ClientIP(nil)(s.mux)}
}

// testLog sends the UI's log to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// client is a browser: it keeps cookies and knows its CSRF token.
type client struct {
	t       *testing.T
	ui      *testUI
	cookies map[string]*http.Cookie
	csrf    string
	header  http.Header // sent with every request
}

func (ui *testUI) anon(t *testing.T) *client {
	return &client{t: t, ui: ui, cookies: map[string]*http.Cookie{}, header: http.Header{}}
}

// as returns a client signed in as u, with a session made directly (no
// password hashing, to keep tests fast).
func (ui *testUI) as(t *testing.T, u store.User) *client {
	t.Helper()
	raw, sess, err := ui.Auth.NewSession(context.Background(), u, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	c := ui.anon(t)
	c.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: raw}
	c.csrf = sess.CSRFToken
	return c
}

type response struct {
	*http.Response
	body string
}

func (c *client) do(method, target string, form url.Values) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.ui.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	b, _ := io.ReadAll(res.Body)
	return response{Response: res, body: string(b)}
}

func (c *client) get(target string) response { return c.do(http.MethodGet, target, nil) }

// post sends a form with the client's CSRF token.
func (c *client) post(target string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	if form.Get(csrfField) == "" {
		form.Set(csrfField, c.csrf)
	}
	return c.do(http.MethodPost, target, form)
}

var csrfInputRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// loadCSRF reads the CSRF token from a page, as a browser form would.
func (c *client) loadCSRF(r response) {
	c.t.Helper()
	m := csrfInputRE.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no csrf field in page:\n%s", r.body)
	}
	c.csrf = html.UnescapeString(m[1])
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL, r.StatusCode, want, r.body)
	}
}

func wantRedirect(t *testing.T, r response, prefix string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: status %d, want a redirect to %s\n%s", r.Request.Method, r.Request.URL, r.StatusCode, prefix, r.body)
	}
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, prefix) {
		t.Fatalf("%s %s: redirected to %q, want %s...", r.Request.Method, r.Request.URL, loc, prefix)
	}
}

// auditActions lists the actions recorded so far, oldest first.
func (ui *testUI) auditActions(t *testing.T) []string {
	t.Helper()
	var out []string
	err := ui.Store.Audit().Walk(context.Background(), 1, func(e store.AuditEntry) error {
		out = append(out, e.Action)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// adminCtx is a context acting as the seeded admin.
func (ui *testUI) adminCtx() context.Context { return ui.AdminCtx(context.Background()) }
