package web

import (
	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/ops"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// publicRoutes is the allow-list of routes served without a session.
// Adding to it needs a reason: everything else must be refused to
// anonymous users and checked against the tenant in the path.
var publicRoutes = []string{
	"GET /static/*",
	"GET /login",
	"POST /login",
	"POST /lang",
	// Acknowledgement links in escalation messages: the signed token is the
	// authority, and it can only acknowledge its one alert.
	"GET /ack",
	"POST /ack",
	// Personal links of urgent notices: the signed token names one
	// recipient, and it can only mark that notice read and acknowledged.
	"GET /notice-ack",
	"POST /notice-ack",
}

type walkedRoute struct{ method, pattern string }

func walkRoutes(t *testing.T, s *server) []walkedRoute {
	t.Helper()
	var out []walkedRoute
	err := chi.Walk(s.mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, walkedRoute{method, route})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("walk found only %d routes", len(out))
	}
	return out
}

var paramRE = regexp.MustCompile(`\{(\w+)\}|\*$`)

// TestEveryRouteIsProtected walks the router. Every route must come from
// the route table (so it has an access rule); only the allow-list is
// public; anonymous requests are sent to the login page or refused; a
// customer of tenant B is refused on every tenant-A and platform route;
// and every page an admin can GET carries the CSP and no inline script or
// style.
func TestEveryRouteIsProtected(t *testing.T) {
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	contact, err := ui.Tenants.CreateContact(ctx, ui.TenantA.ID, tenant.ContactInput{Kind: "ops", Name: "Zhang Wei", AssetID: ui.AssetA.ID})
	if err != nil {
		t.Fatal(err)
	}
	team, err := ui.Tenants.CreateTeam(ctx, tenant.TeamInput{Name: "Desk", Kind: "monitoring-desk"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.Tenants.SetTeamMember(ctx, team.ID, ui.AnalystA.ID, true); err != nil {
		t.Fatal(err)
	}
	_, token, err := ui.Tenants.CreateToken(ctx, tenant.TokenInput{Name: "siem", TenantID: ui.TenantA.ID, Role: "customer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Tenants.PutSubscription(ctx, ui.TenantA.ID, "mlps", tenant.SubscriptionInput{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../policy/testdata/host.rules")
	if err != nil {
		t.Fatal(err)
	}
	review, err := ui.Reviews.Create(ctx, ui.TenantA.ID, policyreview.Input{Name: "edge", Format: "iptables-save", Config: rules})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := os.ReadFile("../vuln/testdata/golden/nuclei-jsonl.in")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Vulns.Import(ctx, ui.TenantA.ID, lifecycle.ImportInput{Filename: "n.jsonl", Data: scan}); err != nil {
		t.Fatal(err)
	}
	vulns, _, err := ui.Vulns.List(ctx, ui.TenantA.ID, lifecycle.Filter{})
	if err != nil || len(vulns) == 0 {
		t.Fatalf("no finding imported: %v", err)
	}
	doc, err := ui.Vulns.ReportDocument(ctx, ui.TenantA, "en")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ui.Archive.Generate(ctx, archive.Request{TenantID: ui.TenantA.ID, Kind: "vulnerabilities", Format: report.FormatHTML, Doc: doc})
	if err != nil {
		t.Fatal(err)
	}
	drun := store.DiscoveryRun{TenantID: ui.TenantA.ID, Targets: "127.0.0.1", Ports: "1", Status: "done"}
	if err := ui.Store.DiscoveryRuns().Create(ctx, &drun); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := ui.Store.Events().Append(ctx, []store.Event{{ID: "ev-1", TenantID: ui.TenantA.ID, Time: now, Received: now, Original: "x"}}); err != nil {
		t.Fatal(err)
	}
	alert := store.Alert{TenantID: ui.TenantA.ID, GroupKey: "g", RuleID: "r", RuleTitle: "R", Level: "low", Status: "new", EventIDs: []string{"ev-1"}, LastSeen: now}
	if _, err := ui.Store.Alerts().Raise(ctx, &alert, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	nc, err := ui.Alerting.Create(ctx, ui.TenantA.ID, alerting.Input{Name: "hook", Kind: "webhook",
		Settings: []byte(`{"url":"http://127.0.0.1:9/hook"}`), MinLevel: "high", AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	wrun := store.WeblogRun{TenantID: ui.TenantA.ID, AssetID: ui.AssetA.ID, Name: "access.log", Result: []byte(`{"system":"web-01","hits":[]}`)}
	if err := ui.Store.Weblog().CreateRun(ctx, &wrun); err != nil {
		t.Fatal(err)
	}
	icase, err := ui.Incidents.Create(ctx, ui.TenantA.ID, incident.Input{Title: "Case", Severity: "high", Category: "malware"})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := ui.Incidents.ApplyPlaybook(ctx, ui.TenantA.ID, icase.ID, "webshell")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ui.Incidents.AddEvidence(ctx, ui.TenantA.ID, icase.ID, incident.EvidenceInput{Name: "e.txt", Content: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := ui.Assessments.Create(ctx, ui.TenantA.ID, project.ProjectInput{Name: "MLPS", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	order, err := ui.Ops.Create(ui.As(t.Context(), ui.AnalystA), ui.TenantA.ID, ops.Input{Type: "change", Title: "Change"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Alerting.PublishNotice(ctx, []string{ui.TenantA.ID}, alerting.Notice{Title: "n", Severity: "low", Harm: "h"}); err != nil {
		t.Fatal(err)
	}
	notices, err := ui.Store.Desk().Notices(ctx, ui.TenantA.ID, store.Page{})
	if err != nil || len(notices) != 1 {
		t.Fatalf("notice for the desk pages: %v", err)
	}
	params := map[string]string{
		"tenant": ui.TenantA.Slug, "tenantID": ui.TenantA.ID, "asset": ui.AssetA.ID, "contact": contact.ID,
		"service": "mlps", "token": token.ID, "user": ui.AnalystA.ID, "team": team.ID, "review": review.ID, "vuln": vulns[0].ID, "report": rep.ID, "run": drun.ID, "analysis": wrun.ID, "event": "ev-1", "channel": nc.ID, "alert": alert.ID, "rule": "night", "item": "no-such-item", "decision": "approve",
		"case": icase.ID, "task": tasks[0].ID, "evidence": ev.ID, "action": "note",
		"project": proj.ID, "order": order.ID, "shift": "no-such-shift", "system": routeSystem(t, ui), "handover": "no-such-handover", "notice": notices[0].ID, "section": "no-such-section",
		"file": orderFile(t, ui, order.ID),
	}
	for k, v := range registerParams(t, ui, proj.ID) { // risk register, remediation, evidence
		params[k] = v
	}
	fill := func(pattern string) string {
		return paramRE.ReplaceAllStringFunc(pattern, func(m string) string {
			if m == "*" {
				return "vigil.css"
			}
			v, ok := params[strings.Trim(m, "{}")]
			if !ok {
				t.Fatalf("route %s: no test value for %s; add it to params", pattern, m)
			}
			return v
		})
	}

	registered := map[string]route{}
	var public []string
	for _, rt := range ui.srv.routes {
		registered[rt.method+" "+rt.pattern] = rt
		if rt.access.kind == accessPublic {
			public = append(public, rt.method+" "+rt.pattern)
		}
	}
	slices.Sort(public)
	allow := slices.Sorted(slices.Values(publicRoutes))
	if !slices.Equal(public, allow) {
		t.Errorf("public routes = %v, allow-list = %v", public, allow)
	}

	anon := ui.anon(t)
	anonPage := anon.get("/login")
	anon.loadCSRF(anonPage) // a valid pre-session token: refusals must come from authorization
	custB := ui.as(t, ui.CustomerB)
	admin := ui.as(t, ui.Admin)
	admin.header.Set("Accept-Language", "zh-CN") // scan the Chinese pages too
	pages := 0
	for _, wr := range walkRoutes(t, ui.srv) {
		key := wr.method + " " + wr.pattern
		rt, ok := registered[key]
		if !ok {
			t.Errorf("%s is routed but not registered through server.handle: it has no access rule", key)
			continue
		}
		if rt.access.kind == accessPublic {
			continue
		}
		// Tenant pages must be checked against their tenant, platform
		// pages need a platform permission.
		if strings.Contains(wr.pattern, "{tenant}") != (rt.access.kind == accessTenant) {
			t.Errorf("%s: routes under /t/{tenant} and only they must use inTenant access", key)
		}
		if strings.HasPrefix(wr.pattern, "/admin/") && rt.access.kind != accessGlobal {
			t.Errorf("%s: /admin/ routes must need a platform permission", key)
		}
		target := fill(wr.pattern)

		// Anonymous: to the login page (GET) or refused.
		r := anon.do(wr.method, target, formWithCSRF(anon.csrf, wr.method))
		if wr.method == http.MethodGet {
			if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("anonymous %s: status %d location %q, want redirect to /login", key, r.StatusCode, loc)
			}
		} else if r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusForbidden {
			t.Errorf("anonymous %s: status %d, want 401 or 403", key, r.StatusCode)
		}

		// A customer of tenant B: tenant-A routes are not found, platform
		// routes forbidden. Routes for any signed-in user are their own.
		if rt.access.kind == accessTenant || rt.access.kind == accessGlobal {
			r = custB.do(wr.method, target, formWithCSRF(custB.csrf, wr.method))
			want := http.StatusForbidden
			if rt.access.kind == accessTenant {
				want = http.StatusNotFound
			}
			if r.StatusCode != want {
				t.Errorf("customer of B %s %s: status %d, want %d", wr.method, target, r.StatusCode, want)
			}
			checkPage(t, "customer of B "+key, r)
		}

		// The admin sees every page, and every page is clean.
		if wr.method == http.MethodGet {
			r = admin.get(target)
			redirects := wr.pattern == "/" || strings.HasSuffix(wr.pattern, "/operations/vuln-lifecycle") ||
				strings.HasSuffix(wr.pattern, "/baseline/diff") // without two runs to compare
			if r.StatusCode != http.StatusOK && !(redirects && r.StatusCode == http.StatusSeeOther) {
				t.Errorf("admin GET %s: status %d\n%s", target, r.StatusCode, r.body)
			}
			checkPage(t, "admin "+key, r)
			pages++
		}
	}
	if pages < 40 {
		t.Errorf("only %d pages were scanned", pages)
	}
	for _, r := range []response{anonPage, anon.get("/no/such/page"), admin.get("/no/such/page")} {
		checkPage(t, "extra", r)
	}
}

// formWithCSRF is the body of a state-changing request carrying token.
func formWithCSRF(token, method string) map[string][]string {
	if method == http.MethodGet {
		return nil
	}
	return map[string][]string{csrfField: {token}}
}

var (
	tagRE         = regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	quotedRE      = regexp.MustCompile(`"[^"]*"|'[^']*'`)
	styleAttrRE   = regexp.MustCompile(`(?i)\sstyle\s*=`)
	eventAttrRE   = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	scriptTagRE   = regexp.MustCompile(`(?i)^<script\b`)
	styleTagRE    = regexp.MustCompile(`(?i)^<style\b`)
	scriptSrcAttr = regexp.MustCompile(`(?i)\ssrc\s*=`)
)

// checkPage asserts the CSP header is set and an HTML body has no inline
// script, style element, style attribute or event handler attribute.
// Attribute values are blanked first: escaped user data inside them is
// harmless text.
func checkPage(t *testing.T, what string, r response) {
	t.Helper()
	if got := r.Header.Get("Content-Security-Policy"); got != csp && (got != "sandbox" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment")) {
		t.Errorf("%s: Content-Security-Policy = %q", what, got)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
		strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		return // not a page: a download the browser saves
	}
	for _, tag := range tagRE.FindAllString(r.body, -1) {
		bare := quotedRE.ReplaceAllString(tag, `""`)
		switch {
		case scriptTagRE.MatchString(bare) && !scriptSrcAttr.MatchString(bare):
			t.Errorf("%s: inline script %q", what, tag)
		case styleTagRE.MatchString(bare):
			t.Errorf("%s: <style> element %q", what, tag)
		case styleAttrRE.MatchString(bare):
			t.Errorf("%s: style attribute in %q", what, tag)
		case eventAttrRE.MatchString(bare):
			t.Errorf("%s: event handler attribute in %q", what, tag)
		}
	}
}

// TestTenantRoutesForOwnTenant checks the other side of the walk: a user
// reaches what their role allows in their own tenant and is forbidden
// (not "not found") what it does not.
func TestTenantRoutesForOwnTenant(t *testing.T) {
	ui := newTestUI(t)
	b := ui.as(t, ui.CustomerB)
	base := "/t/" + ui.TenantB.Slug
	for path, want := range map[string]int{
		base:                             http.StatusOK,
		base + "/assets":                 http.StatusOK,
		base + "/assets/" + ui.AssetB.ID: http.StatusOK,
		base + "/contacts":               http.StatusOK,
		base + "/services":               http.StatusOK,
		base + "/events":                 http.StatusOK,
		base + "/reports":                http.StatusOK,
		base + "/compliance/mlps":        http.StatusOK,
		base + "/assets/new":             http.StatusForbidden, // customers read only
		base + "/tokens":                 http.StatusForbidden,
		base + "/audit":                  http.StatusForbidden,
		base + "/assets/" + ui.AssetA.ID: http.StatusNotFound, // A's asset through B's tenant
		"/t/no-such-tenant":              http.StatusNotFound,
		"/admin/users":                   http.StatusForbidden,
	} {
		if r := b.get(path); r.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, r.StatusCode, want)
		}
	}
	r := b.post(base+"/assets", map[string][]string{"kind": {"host"}, "name": {"x"}, "importance": {"3"}})
	wantStatus(t, r, http.StatusForbidden)
	if n, _ := ui.Store.Assets().Count(ui.adminCtx(), ui.TenantB.ID, store.AssetFilter{}); n != 1 {
		t.Errorf("tenant B has %d assets after a refused create", n)
	}
	// The navigation shows only what the role may open.
	r = b.get(base)
	if strings.Contains(r.body, "/tokens") || strings.Contains(r.body, "/admin/") {
		t.Errorf("customer navigation links to pages it cannot open")
	}
}
