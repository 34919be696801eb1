package api

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/vigil-sec/vigil/internal/detect"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
)

// harness is a seeded platform behind the API handler, with API tokens of
// several scopes.
type harness struct {
	t   testing.TB
	env *fixture.Env
	srv *server
	h   http.Handler

	admin    string // global admin token
	adminA   string // tenant admin of A (acme)
	analystA string // analyst of A: reads, but cannot write assets
	customer string // customer viewer of B (globex)
}

func newHarness(t testing.TB, opts ...func(*Options)) *harness {
	t.Helper()
	env := fixture.New(t)
	o := Options{Auth: env.Auth, Tenants: env.Tenants, Assets: env.Assets, Reviews: env.Reviews, Vulns: env.Vulns, Archive: env.Archive, Exposure: env.Exposure, Alerting: env.Alerting, Incidents: env.Incidents, Ops: env.Ops, Attachments: env.Attachments, Assessments: env.Assessments, Posture: env.Posture, Audit: env.Audit, Secrets: env.Secrets,
		Drills: env.Drills, Devices: env.Devices, Baseline: env.Baseline, Traffic: env.Traffic, VulnScan: env.VulnScan, Agents: env.Fleet,
		GMP:    gmp.NewService(env.Store, env.Secrets, env.Audit, gmp.ServiceOptions{}),
		Rules:  detect.NewService(nil, nil, detect.ServiceOptions{Audit: env.Audit, Store: env.Store.Detection()}),
		Logger: slog.New(slog.DiscardHandler), Version: "test"}
	campaigns, err := manager.NewService(env.Store, env.Audit, manager.Options{Archive: env.Archive})
	if err != nil {
		t.Fatal(err)
	}
	o.Campaigns = campaigns
	o.Systems = bizsys.NewService(env.Store, env.Audit)
	for _, f := range opts {
		f(&o)
	}
	srv, err := newServer(o)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, env: env, srv: srv, h: srv.handler()}
	h.admin = h.token("", auth.RoleAdmin)
	h.adminA = h.token(env.TenantA.ID, auth.RoleAdmin)
	h.analystA = h.token(env.TenantA.ID, auth.RoleAnalyst)
	h.customer = h.token(env.TenantB.ID, auth.RoleCustomer)
	return h
}

// token mints an API token as the seeded admin.
func (h *harness) token(tenantID, role string) string {
	h.t.Helper()
	secret, _, err := h.env.Tenants.CreateToken(h.env.AdminCtx(context.Background()),
		tenant.TokenInput{Name: "test " + role, TenantID: tenantID, Role: role})
	if err != nil {
		h.t.Fatalf("create token: %v", err)
	}
	return secret
}

// response is a recorded response.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r response) String() string { return string(r.Body) }

// do sends a request; body is JSON-encoded unless it is a string or
// []byte, which are sent as they are.
func (h *harness) do(method, path, token string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// want sends a request, checks the status and decodes the body into out
// (if not nil).
func (h *harness) want(status int, method, path, token string, body, out any) response {
	h.t.Helper()
	r := h.do(method, path, token, body)
	if r.Code != status {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Code, status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			h.t.Fatalf("%s %s: decode %T: %v: %s", method, path, out, err, r.Body)
		}
	}
	return r
}

// problem is the RFC 9457 body of an error response.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// wantProblem checks an error response is problem JSON with the status.
func (h *harness) wantProblem(status int, method, path, token string, body any) problem {
	h.t.Helper()
	r := h.want(status, method, path, token, body, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		h.t.Fatalf("%s %s: Content-Type %q, want application/problem+json: %s", method, path, ct, r.Body)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		h.t.Fatalf("%s %s: problem body: %v: %s", method, path, err, r.Body)
	}
	if p.Status != status {
		h.t.Fatalf("%s %s: problem status %d, want %d", method, path, p.Status, status)
	}
	return p
}
