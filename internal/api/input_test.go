package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/httpmw"
	"github.com/vigil-sec/vigil/internal/tenant"
)

func TestMalformedJSON(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{`{`, `{"kind": "host",}`, `not json`, `[1,2`, "\x00"} {
		p := h.wantProblem(http.StatusBadRequest, pst, "/api/v1/tenants/acme/assets", h.adminA, body)
		if p.Detail != "malformed JSON body" || len(p.Errors) == 0 || p.Errors[0].Message == "" {
			t.Errorf("%q: %+v", body, p)
		}
		for _, e := range p.Errors {
			if e.Value != nil {
				t.Errorf("%q: the body is echoed back: %+v", body, e)
			}
		}
	}
	// An empty body where one is required.
	h.wantProblem(http.StatusBadRequest, pst, "/api/v1/tenants/acme/assets", h.adminA, "")
}

func TestOversizedBody(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBodyBytes = 1024 })
	big := fmt.Sprintf(`{"kind":"host","name":"x","description":%q}`, strings.Repeat("a", 2048))
	h.wantProblem(http.StatusRequestEntityTooLarge, pst, "/api/v1/tenants/acme/assets", h.adminA, big)
	// Behind the server's own limit (same size), as mounted in production.
	limited := httpmw.LimitBody(1024)(h.h)
	for _, chunked := range []bool{false, true} {
		req := httptest.NewRequest(pst, "/api/v1/tenants/acme/assets", strings.NewReader(big))
		if chunked {
			req.ContentLength = -1
		}
		req.Header.Set("Authorization", "Bearer "+h.adminA)
		rec := httptest.NewRecorder()
		limited.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked=%v: status %d: %s", chunked, rec.Code, rec.Body)
		}
	}
	// The default limit is 1 MiB.
	d := newHarness(t)
	huge := bytes.Repeat([]byte(" "), httpmw.DefaultMaxBody+10)
	d.wantProblem(http.StatusRequestEntityTooLarge, pst, "/api/v1/tenants/acme/assets", d.adminA, huge)
}

func TestInvalidFields(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, path, body, location string
	}{
		{"unknown kind", "/api/v1/tenants/acme/assets", `{"kind":"spaceship","name":"x"}`, "body.kind"},
		{"importance too high", "/api/v1/tenants/acme/assets", `{"kind":"host","name":"x","importance":9}`, "body.importance"},
		{"wrong type", "/api/v1/tenants/acme/assets", `{"kind":"host","name":42}`, "body.name"},
		{"unknown field", "/api/v1/tenants/acme/assets", `{"kind":"host","name":"x","owner_id":"me"}`, "body"},
		{"missing required", "/api/v1/tenants/acme/contacts", `{"name":"x"}`, "body"},
		{"too long", "/api/v1/tenants/acme/contacts", fmt.Sprintf(`{"kind":"ops","name":%q}`, strings.Repeat("n", 201)), "body.name"},
		{"too many tags", "/api/v1/tenants/acme/assets", `{"kind":"host","name":"x","tags":[` + strings.Repeat(`"t",`, 32) + `"t"]}`, "body.tags"},
		{"bad slug", "/api/v1/tenants", `{"slug":"Not A Slug","name":"x"}`, "body.slug"},
		{"short password", "/api/v1/users", `{"username":"zed","password":"short"}`, "body.password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := h.wantProblem(http.StatusUnprocessableEntity, pst, c.path, h.admin, c.body)
			found := false
			for _, e := range p.Errors {
				if strings.HasPrefix(e.Location, c.location) && e.Message != "" {
					found = true
				}
			}
			if !found {
				t.Errorf("no error message at %s: %+v", c.location, p)
			}
			for _, e := range p.Errors {
				switch v := e.Value.(type) {
				case map[string]any, []any:
					t.Errorf("the body is echoed back at %s: %v", e.Location, v)
				case string:
					if len(v) > maxEcho {
						t.Errorf("a long value is echoed back at %s", e.Location)
					}
				}
			}
		})
	}
	// The domain's own validation: a malformed address for the kind.
	p := h.wantProblem(http.StatusUnprocessableEntity, pst, "/api/v1/tenants/acme/assets", h.adminA,
		`{"kind":"ip","address":"not-an-ip"}`)
	if !strings.Contains(p.Detail, "not an IP address") {
		t.Errorf("domain message not passed on: %+v", p)
	}
	// Query parameters are validated too, and unknown ones refused.
	h.wantProblem(http.StatusUnprocessableEntity, get, "/api/v1/tenants/acme/assets?limit=5000", h.adminA, nil)
	h.wantProblem(http.StatusUnprocessableEntity, get, "/api/v1/tenants/acme/assets?limit=abc", h.adminA, nil)
	h.wantProblem(http.StatusUnprocessableEntity, get, "/api/v1/tenants/acme/assets?min_importance=-1", h.adminA, nil)
	h.wantProblem(http.StatusUnprocessableEntity, get, "/api/v1/tenants/acme/assets?kindd=host", h.adminA, nil)
}

// TestDomainFieldErrors checks a refusal by the domain services names the
// field in the problem's errors, next to the message it always had.
func TestDomainFieldErrors(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, method, path string
		body               any
		location, message  string
	}{
		{"address for the kind", pst, "/api/v1/tenants/acme/assets", `{"kind":"ip","address":"not-an-ip"}`,
			"body.address", `"not-an-ip" is not an IP address or CIDR`},
		{"bad tag", pst, "/api/v1/tenants/acme/assets", `{"kind":"host","name":"x","tags":["no spaces"]}`,
			"body.tags", `tag "no spaces" must be at most 64 letters, digits or . _ : / -`},
		{"slug like an ID", pst, "/api/v1/tenants", `{"slug":"0b6f6c1e-3f1c-4d0e-9a43-5d6f0c2b9e11","name":"x"}`,
			"body.slug", "slug must not look like an ID"},
		{"asset of another tenant", pst, "/api/v1/tenants/acme/contacts",
			ContactInput{Kind: "ops", Name: "Mallory", AssetID: h.env.AssetB.ID},
			"body.asset_id", `asset "` + h.env.AssetB.ID + `" does not exist in this tenant`},
		{"end before start", put, "/api/v1/tenants/acme/services/monitoring",
			SubscriptionInput{StartsOn: "2025-12-31", EndsOn: "2025-01-01"},
			"body.ends_on", "the end date is before the start date"},
		{"unknown service", put, "/api/v1/tenants/acme/services/no-such-service", SubscriptionInput{},
			"path.service", `unknown service "no-such-service"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := h.wantProblem(http.StatusUnprocessableEntity, c.method, c.path, h.admin, c.body)
			if p.Detail != "invalid input: "+c.message {
				t.Errorf("detail %q, want %q", p.Detail, "invalid input: "+c.message)
			}
			if len(p.Errors) != 1 || p.Errors[0].Location != c.location || p.Errors[0].Message != c.message {
				t.Errorf("errors %+v, want one at %s saying %q", p.Errors, c.location, c.message)
			}
		})
	}
	// A refusal that is about no field in particular has no error detail.
	var me struct {
		UserID string `json:"user_id"`
	}
	h.want(http.StatusOK, get, "/api/v1/me", h.admin, nil, &me)
	if p := h.wantProblem(http.StatusUnprocessableEntity, del, "/api/v1/users/"+me.UserID, h.admin, nil); len(p.Errors) != 0 {
		t.Errorf("deleting oneself: %+v", p)
	}
}

func TestUnknownTenantAndObjects(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{
		"/api/v1/tenants/no-such-tenant",
		"/api/v1/tenants/no-such-tenant/assets",
		"/api/v1/tenants/" + strings.Repeat("x", 500) + "/assets",
		"/api/v1/tenants/acme/assets/no-such-asset",
		"/api/v1/tenants/acme/contacts/nope",
		"/api/v1/users/nope",
		"/api/v1/teams/nope",
	} {
		h.wantProblem(http.StatusNotFound, get, path, h.admin, nil)
	}
	h.wantProblem(http.StatusNotFound, del, "/api/v1/tenants/acme/tokens/nope", h.admin, nil)
	h.wantProblem(http.StatusMethodNotAllowed, http.MethodPatch, "/api/v1/tenants/acme", h.admin, "{}")
}

func TestAuthenticationHeaders(t *testing.T) {
	h := newHarness(t)
	for _, hdr := range []string{"", "Bearer", "Bearer ", "Basic YWRtaW46cGFzcw==", "Token " + h.admin, "bearer" + h.admin} {
		req := httptest.NewRequest(get, "/api/v1/me", nil)
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		rec := httptest.NewRecorder()
		h.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d", hdr, rec.Code)
		}
	}
	// The scheme is case-insensitive.
	req := httptest.NewRequest(get, "/api/v1/me", nil)
	req.Header.Set("Authorization", "bearer "+h.admin)
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("lower-case bearer: status %d", rec.Code)
	}
	// Cookies are not credentials on the API.
	req = httptest.NewRequest(get, "/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "vigil_session", Value: h.admin})
	rec = httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("cookie only: status %d", rec.Code)
	}
	// A token stops working when its owner is disabled.
	var u User
	h.want(http.StatusCreated, pst, "/api/v1/users", h.admin, UserCreate{Username: "ops-bot",
		Password: "a-long-enough-password", GlobalRole: auth.RoleAdmin}, &u)
	owner, err := h.env.Store.Users().Get(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := h.env.Tenants.CreateToken(h.env.As(context.Background(), owner),
		tenant.TokenInput{Name: "own", Role: auth.RoleAuditor})
	if err != nil {
		t.Fatal(err)
	}
	h.want(http.StatusOK, get, "/api/v1/audit", secret, nil, nil)
	h.want(http.StatusOK, put, "/api/v1/users/"+u.ID, h.admin, UserUpdate{GlobalRole: auth.RoleAdmin, Disabled: true}, &u)
	h.wantProblem(http.StatusUnauthorized, get, "/api/v1/audit", secret, nil)
}

// TestPanicIsRecovered checks a panicking handler gives a 500 without
// details and does not take the server down.
func TestPanicIsRecovered(t *testing.T) {
	h := newHarness(t)
	register(h.srv, authenticated(), huma.Operation{OperationID: "boom", Method: get, Path: "/boom"},
		func(context.Context, *noInput) (*out[Version], error) { panic("secret internal state") })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(get, "/api/v1/boom", nil)
	req.Header.Set("Authorization", "Bearer "+h.admin)
	h.srv.handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	h.want(http.StatusOK, get, "/api/v1/version", h.admin, nil, nil)
}

// TestInternalErrorsAreHidden checks an unexpected error reaches the
// client as a bare 500 problem.
func TestInternalErrorsAreHidden(t *testing.T) {
	h := newHarness(t)
	register(h.srv, authenticated(), huma.Operation{OperationID: "fail", Method: get, Path: "/fail"},
		func(context.Context, *noInput) (*out[Version], error) {
			return nil, errors.New("dial tcp 10.1.2.3:5432: password authentication failed")
		})
	p := h.wantProblem(http.StatusInternalServerError, get, "/api/v1/fail", h.admin, nil)
	if p.Detail != "internal error" || len(p.Errors) != 0 {
		t.Fatalf("500 leaks details: %+v", p)
	}
}
