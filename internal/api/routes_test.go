package api

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// publicRoutes are the only routes served without a token.
var publicRoutes = []string{"GET " + specPath}

type walkedRoute struct{ method, pattern string }

func (r walkedRoute) key() string { return r.method + " " + r.pattern }

// walk lists every route of the router, as the router sees them.
func walk(t *testing.T, s *server) []walkedRoute {
	t.Helper()
	var routes []walkedRoute
	err := chi.Walk(s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, walkedRoute{method, strings.TrimSuffix(route, "/")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < len(s.rules) {
		t.Fatalf("walked %d routes, but %d operations are registered", len(routes), len(s.rules))
	}
	return routes
}

var paramRE = regexp.MustCompile(`\{([^}]+)\}`)

// fill replaces every {param} of a route pattern with a sample value; a
// parameter without a sample fails the test, so a new one must be added.
func fill(t *testing.T, pattern string, samples map[string]string) string {
	t.Helper()
	return paramRE.ReplaceAllStringFunc(pattern, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := samples[name]
		if !ok {
			t.Fatalf("route %s: no sample value for path parameter {%s}; add one to the walk test", pattern, name)
		}
		return v
	})
}

// TestEveryRouteIsProtected walks every route the router serves, however
// it was added, and checks that it refuses anonymous callers with 401 and
// that a customer token of tenant B cannot reach tenant A's data or any
// platform-wide operation. Only publicRoutes are exempt.
func TestEveryRouteIsProtected(t *testing.T) {
	h := newHarness(t)
	env := h.env
	actx := env.AdminCtx(context.Background())
	team, err := env.Tenants.CreateTeam(actx, tenant.TeamInput{Name: "Desk", Kind: "monitoring-desk"})
	if err != nil {
		t.Fatal(err)
	}
	contact, err := env.Tenants.CreateContact(actx, env.TenantA.ID, tenant.ContactInput{Kind: "ops", Name: "Ops A"})
	if err != nil {
		t.Fatal(err)
	}
	_, tokA, err := env.Tenants.CreateToken(actx, tenant.TokenInput{Name: "a", TenantID: env.TenantA.ID, Role: "analyst"})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := env.Secrets.Create(actx, env.TenantA.ID, secret.Input{Name: "ssh fw-01", Kind: "ssh-key", Value: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../policy/testdata/host.rules")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := env.Reviews.Create(actx, env.TenantA.ID, policyreview.Input{Name: "edge", Format: "iptables-save", Config: rules})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := os.ReadFile("../vuln/testdata/golden/nuclei-jsonl.in")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Vulns.Import(actx, env.TenantA.ID, lifecycle.ImportInput{Data: scan}); err != nil {
		t.Fatal(err)
	}
	vl, _, err := env.Vulns.List(actx, env.TenantA.ID, lifecycle.Filter{})
	if err != nil || len(vl) == 0 {
		t.Fatal("no finding imported", err)
	}
	drun := store.DiscoveryRun{TenantID: env.TenantA.ID, Targets: "127.0.0.1", Ports: "1", Status: "done"}
	if err := env.Store.DiscoveryRuns().Create(actx, &drun); err != nil {
		t.Fatal(err)
	}
	nc, err := env.Alerting.Create(actx, env.TenantA.ID, alerting.Input{Name: "hook", Kind: "webhook",
		Settings: []byte(`{"url":"https://hooks.invalid/x"}`), MinLevel: "high"})
	if err != nil {
		t.Fatal(err)
	}
	icase, err := env.Incidents.Create(actx, env.TenantA.ID, incident.Input{Title: "Case", Severity: "high", Category: "malware"})
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]string{
		"channel":  nc.ID,
		"case":     icase.ID,
		"order":    "no-such-order",
		"analysis": "no-such-analysis",
		"campaign": "no-such-campaign",
		"period":   "no-such-period",
		"drill":    "no-such-drill",
		"item":     "no-such-item",
		"task":     "no-such-task",
		"project":  "no-such-project",
		"risk":     "no-such-risk",
		"scenario": "no-such-scenario",
		"finding":  "no-such-finding",
		"backup":   "no-such-backup",
		"run":      drun.ID,
		"vuln":     vl[0].ID,
		"review":   rev.ID,
		"tenant":   env.TenantA.Slug,
		"asset":    env.AssetA.ID,
		"user":     env.AnalystA.ID,
		"team":     team.ID,
		"contact":  contact.ID,
		"service":  "monitoring",
		"token":    tokA.ID,
		"secret":   sec.ID,
		"shift":    "no-such-shift",
		"handover": "no-such-handover",
		"notice":   "no-such-notice",
		"section":  "no-such-section",
		"file":     "no-such-file",
		"record":   "no-such-record",
		"report":   "no-such-report",
		"rule":     "no-such-rule",
		"agent":    "no-such-agent",
		"system":   "no-such-system",
		"schedule": "no-such-schedule",
	}
	samples["inspection"], samples["commission"] = "no-such-inspection", "no-such-commission"
	// Strings from tenant A that must never reach a tenant-B caller.
	secretsOfA := []string{icase.ID, env.TenantA.ID, env.TenantA.Slug, env.AssetA.ID, contact.ID, tokA.ID, sec.ID, rev.ID, vl[0].ID, drun.ID, nc.ID}

	routes := walk(t, h.srv)
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.key()] = true
		if slices.Contains(publicRoutes, rt.key()) {
			continue
		}
		t.Run(rt.key(), func(t *testing.T) {
			r, ok := h.srv.rules[rt.key()]
			if !ok {
				t.Fatalf("route has no permission rule: it was not added through register()")
			}
			path := fill(t, rt.pattern, samples)
			var body any
			if rt.method == http.MethodPost || rt.method == http.MethodPut || rt.method == http.MethodPatch {
				body = "{}"
			}
			check := func(name string, got response, want ...int) {
				t.Helper()
				if !slices.Contains(want, got.Code) {
					t.Errorf("%s: status %d, want one of %v: %s", name, got.Code, want, got.Body)
				}
				if c := got.Header.Values("Set-Cookie"); len(c) > 0 {
					t.Errorf("%s: the API set a cookie: %v", name, c)
				}
			}

			unauth := h.do(rt.method, path, "", body)
			check("anonymous", unauth, http.StatusUnauthorized)
			if !strings.HasPrefix(unauth.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("anonymous: no WWW-Authenticate: Bearer header")
			}
			check("malformed token", h.do(rt.method, path, "vgl_notatoken", body), http.StatusUnauthorized)
			check("non-vigil token", h.do(rt.method, path, "abc", body), http.StatusUnauthorized)

			asB := h.do(rt.method, path, h.customer, body)
			switch {
			case r.inPath:
				// Tenant A named by slug or by ID: hidden, as if absent.
				check("tenant-B token", asB, http.StatusNotFound)
				byID := fill(t, rt.pattern, mergeSample(samples, "tenant", env.TenantA.ID))
				check("tenant-B token, tenant by ID", h.do(rt.method, byID, h.customer, body), http.StatusNotFound)
			case r.Scope == scopePlatform:
				check("tenant-B token", asB, http.StatusForbidden)
			case r.Scope == scopeAuthenticated || r.Scope == scopeAnyTenant:
				// Open to any caller: must not show A's data to B.
				if asB.Code >= 500 {
					t.Errorf("tenant-B token: status %d: %s", asB.Code, asB.Body)
				}
				for _, s := range secretsOfA {
					if strings.Contains(string(asB.Body), s) {
						t.Errorf("tenant-B token: response leaks %q of tenant A: %s", s, asB.Body)
					}
				}
			default:
				t.Errorf("rule %v is not covered by this test", r)
			}
			// The platform admin is never refused (it may still get 404 or
			// 422 for the sample input). Writes are not replayed as admin.
			if rt.method == http.MethodGet {
				if got := h.do(rt.method, path, h.admin, nil); got.Code == http.StatusUnauthorized ||
					got.Code == http.StatusForbidden || got.Code >= 500 {
					t.Errorf("admin token: status %d: %s", got.Code, got.Body)
				}
			}
		})
	}
	for key := range h.srv.rules {
		if !seen[key] {
			t.Errorf("registered operation %s is not served by the router", key)
		}
	}
	for _, p := range publicRoutes {
		if !seen[p] {
			t.Errorf("public route %s is not served", p)
		}
	}
	// Nothing tenant B tried changed tenant A.
	if _, err := env.Assets.Get(actx, env.TenantA.ID, env.AssetA.ID); err != nil {
		t.Errorf("asset of tenant A after the walk: %v", err)
	}
	if _, err := env.Tenants.GetTenant(actx, env.TenantA.ID); err != nil {
		t.Errorf("tenant A after the walk: %v", err)
	}
}

func mergeSample(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m))
	for mk, mv := range m {
		out[mk] = mv
	}
	out[k] = v
	return out
}

// TestPublicRoutes checks the routes open without a token.
func TestPublicRoutes(t *testing.T) {
	h := newHarness(t)
	r := h.want(http.StatusOK, http.MethodGet, specPath, "", nil, nil)
	if ct := r.Header.Get("Content-Type"); ct != "application/openapi+json" {
		t.Errorf("spec Content-Type %q", ct)
	}
	if string(r.Body) != string(h.srv.spec) {
		t.Errorf("served spec differs from OpenAPI()")
	}
	h.wantProblem(http.StatusNotFound, http.MethodGet, basePath+"/docs", "", nil)
	h.wantProblem(http.StatusNotFound, http.MethodGet, basePath+"/no-such-route", "", nil)
}

// TestUnregisteredOperationIsRefused checks the guard fails closed for an
// operation added to huma directly, bypassing register() and its rule.
func TestUnregisteredOperationIsRefused(t *testing.T) {
	h := newHarness(t)
	called := false
	huma.Register(h.srv.api, huma.Operation{OperationID: "rogue", Method: http.MethodGet, Path: basePath + "/rogue"},
		func(context.Context, *noInput) (*out[Version], error) {
			called = true
			return reply(Version{})
		})
	h.wantProblem(http.StatusUnauthorized, http.MethodGet, basePath+"/rogue", "", nil)
	h.wantProblem(http.StatusForbidden, http.MethodGet, basePath+"/rogue", h.admin, nil)
	if called {
		t.Error("handler of an operation without a rule ran")
	}
	if _, ok := h.srv.rules["GET "+basePath+"/rogue"]; ok {
		t.Error("rogue operation has a rule")
	}
}

func TestRuleAllows(t *testing.T) {
	for _, sc := range []scope{scopeAuthenticated, scopeAnyTenant, scopeTenant, scopePlatform, "bogus"} {
		if (rule{Perm: "asset.read", Scope: sc}).allows(&auth.Principal{}, "t1") {
			t.Errorf("scope %s allows an anonymous principal", sc)
		}
	}
	admin := &auth.Principal{UserID: "u", GlobalRole: auth.RoleAdmin}
	if (rule{Perm: "asset.read", Scope: "bogus"}).allows(admin, "t1") {
		t.Error("unknown scope allowed")
	}
	if (rule{Perm: auth.PermAssetRead, Scope: scopeTenant}).allows(admin, "") {
		t.Error("tenant scope allowed without a tenant")
	}
	customer := &auth.Principal{TokenID: "k", Roles: map[string]string{"t2": auth.RoleCustomer}}
	for _, c := range []struct {
		r    rule
		t    string
		want bool
	}{
		{inTenant(auth.PermAssetRead), "t2", true},
		{inTenant(auth.PermAssetRead), "t1", false},
		{inTenant(auth.PermAssetWrite), "t2", false},
		{anyTenant(auth.PermTenantRead), "", true},
		{anyTenant(auth.PermAuditRead), "", false},
		{platformWide(auth.PermTenantRead), "", false},
		{authenticated(), "", true},
	} {
		if got := c.r.allows(customer, c.t); got != c.want {
			t.Errorf("%v in %q: allows = %v, want %v", c.r, c.t, got, c.want)
		}
	}
}
