package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/tenant"
)

func TestDashboardInBothLanguages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	if _, err := ui.Tenants.PutSubscription(ui.adminCtx(), ui.TenantA.ID, "mlps", tenant.SubscriptionInput{
		Enabled: true, ResponseMinutes: 30, NotifyMinutes: 15}); err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	dash := "/t/" + ui.TenantA.Slug
	for _, tc := range []struct {
		accept string
		want   []string
	}{
		{"en-US,en;q=0.9", []string{`<html lang="en">`, "Dashboard", "Assets", "Contracted services", "MLPS 2.0 assessment",
			"Security operations", "Compliance", "Attack-defence drill", "Baseline compliance", "Recent activity", "respond in 30 min"}},
		{"zh-CN,zh;q=0.9", []string{`<html lang="zh-CN">`, "仪表盘", "资产", "签约服务", "等级保护测评", "安全运营",
			"合规服务", "攻防演练", "基线合规率", "最近操作", "审计日志", "响应 30 分钟"}},
	} {
		admin.header.Set("Accept-Language", tc.accept)
		r := admin.get(dash)
		wantStatus(t, r, http.StatusOK)
		for _, w := range tc.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s dashboard lacks %q", tc.accept, w)
			}
		}
	}

	// The switch stores the language for the user: it then wins over
	// the browser's Accept-Language.
	admin.header.Set("Accept-Language", "en")
	r := admin.post("/lang", url.Values{"lang": {"zh-CN"}, "next": {dash + "/assets"}})
	wantRedirect(t, r, dash+"/assets")
	if r := admin.get(dash); !strings.Contains(r.body, "仪表盘") {
		t.Error("language switch did not stick")
	}
	u, err := ui.Store.Users().Get(context.Background(), ui.Admin.ID)
	if err != nil || u.Locale != "zh-CN" {
		t.Fatalf("user locale = %q, %v", u.Locale, err)
	}
	wantStatus(t, admin.post("/lang", url.Values{"lang": {"fr"}}), http.StatusUnprocessableEntity)

	// Anonymous visitors switch with a cookie.
	anon := ui.anon(t)
	anon.header.Set("Accept-Language", "en")
	anon.loadCSRF(anon.get("/login"))
	wantRedirect(t, anon.post("/lang", url.Values{"lang": {"zh-CN"}, "next": {"/login"}}), "/login")
	if r := anon.get("/login"); !strings.Contains(r.body, "登录 Vigil") {
		t.Errorf("login page not in Chinese after the switch:\n%s", r.body)
	}
	// Error pages are translated too.
	if r := admin.get("/t/no-such-tenant"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "页面不存在") {
		t.Errorf("404 page: %d\n%s", r.StatusCode, r.body)
	}
}

func TestTenantSwitcher(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	r := admin.get("/t/" + ui.TenantA.Slug)
	for _, want := range []string{`action="/tenant"`, `name="tenant"`, `value="acme" selected`, `value="globex"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("switcher lacks %s", want)
		}
	}
	wantRedirect(t, admin.post("/tenant", url.Values{"tenant": {ui.TenantB.Slug}}), "/t/"+ui.TenantB.Slug)
	sess, err := ui.Store.Sessions().Get(context.Background(), auth.HashToken(admin.cookies[sessionCookie].Value))
	if err != nil || sess.TenantID != ui.TenantB.ID {
		t.Fatalf("session tenant = %q, %v", sess.TenantID, err)
	}
	wantRedirect(t, admin.get("/"), "/t/"+ui.TenantB.Slug)
	// Opening a tenant's page selects it too.
	wantStatus(t, admin.get("/t/"+ui.TenantA.Slug+"/assets"), http.StatusOK)
	wantRedirect(t, admin.get("/"), "/t/"+ui.TenantA.Slug)
	// A tenant the user cannot read cannot be selected.
	b := ui.as(t, ui.CustomerB)
	wantStatus(t, b.post("/tenant", url.Values{"tenant": {ui.TenantA.Slug}}), http.StatusNotFound)
	if r := b.get("/t/" + ui.TenantB.Slug); strings.Contains(r.body, ui.TenantA.Name) {
		t.Error("customer of B sees tenant A in the switcher")
	}
}

func TestCreateTenantThroughForm(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	page := admin.get("/admin/tenants/new")
	wantStatus(t, page, http.StatusOK)
	for _, f := range []string{`action="/admin/tenants"`, `name="slug"`, `name="name"`, `name="industry"`, `name="description"`} {
		if !strings.Contains(page.body, f) {
			t.Errorf("tenant form lacks %s", f)
		}
	}

	r := admin.post("/admin/tenants", url.Values{"slug": {"Bad Slug!"}, "name": {""}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "This field is required.") {
		t.Errorf("missing name not flagged:\n%s", r.body)
	}
	r = admin.post("/admin/tenants", url.Values{"slug": {"Bad Slug!"}, "name": {"Initech"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Use 2 to 63 lowercase letters") || !strings.Contains(r.body, `value="Initech"`) {
		t.Errorf("bad slug not shown on the re-rendered form:\n%s", r.body)
	}
	r = admin.post("/admin/tenants", url.Values{"slug": {"acme"}, "name": {"Another Acme"}})
	wantStatus(t, r, http.StatusConflict)
	if !strings.Contains(r.body, "Another tenant already uses this slug.") {
		t.Errorf("taken slug not shown:\n%s", r.body)
	}

	r = admin.post("/admin/tenants", url.Values{"slug": {"initech"}, "name": {"Initech 信息"}, "industry": {"Finance"}})
	wantRedirect(t, r, "/admin/tenants")
	list := admin.get(r.Header.Get("Location"))
	if !strings.Contains(list.body, "Initech 信息") || !strings.Contains(list.body, "Created.") {
		t.Errorf("new tenant not listed:\n%s", list.body)
	}
	tn, err := ui.Tenants.ResolveTenant(ui.adminCtx(), "initech")
	if err != nil || tn.Industry != "Finance" {
		t.Fatalf("tenant = %+v, %v", tn, err)
	}
	wantStatus(t, admin.get("/t/initech"), http.StatusOK)

	// Edit and delete.
	r = admin.post("/admin/tenants/"+tn.ID, url.Values{"slug": {"initech"}, "name": {"Initech Ltd"}, "disabled": {"1"}})
	wantRedirect(t, r, "/admin/tenants")
	if tn, _ = ui.Tenants.GetTenant(ui.adminCtx(), tn.ID); tn.Name != "Initech Ltd" || !tn.Disabled {
		t.Fatalf("tenant after edit = %+v", tn)
	}
	wantRedirect(t, admin.post("/admin/tenants/"+tn.ID+"/delete", nil), "/admin/tenants")
	wantStatus(t, admin.get("/t/initech"), http.StatusNotFound)
}

func TestAssetForms(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/assets"
	page := admin.get(base + "/new")
	wantStatus(t, page, http.StatusOK)
	for _, f := range []string{`action="` + base + `"`, `name="kind"`, `name="name"`, `name="address"`, `name="owner"`,
		`name="importance"`, `name="tags"`, `name="description"`, `name="attributes"`} {
		if !strings.Contains(page.body, f) {
			t.Errorf("asset form lacks %s", f)
		}
	}

	// Field errors found by the UI and by the asset service.
	r := admin.post(base, url.Values{"kind": {"host"}, "importance": {"9"}, "attributes": {"no equals sign"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	for _, msg := range []string{"Enter a name or an address.", "Choose an importance from 1 to 5.", "Write each attribute as key=value"} {
		if !strings.Contains(r.body, msg) {
			t.Errorf("form lacks %q", msg)
		}
	}
	r = admin.post(base, url.Values{"kind": {"ip"}, "name": {"core"}, "address": {"not-an-ip"}, "importance": {"3"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "is not an IP address or CIDR") || !strings.Contains(r.body, `value="core"`) {
		t.Errorf("service error not shown with the typed values:\n%s", r.body)
	}

	r = admin.post(base, url.Values{"kind": {"ip"}, "name": {"DMZ range"}, "address": {"192.0.2.0/24"}, "owner": {"网络组"},
		"importance": {"5"}, "tags": {"dmz, internet"}, "attributes": {"zone=dmz\nsite=Shanghai"}})
	wantRedirect(t, r, base+"/")
	id := strings.TrimPrefix(strings.Split(r.Header.Get("Location"), "?")[0], base+"/")
	a, err := ui.Assets.Get(ui.adminCtx(), ui.TenantA.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "DMZ range" || a.Importance != 5 || strings.Join(a.Tags, ",") != "dmz,internet" || a.Attributes["site"] != "Shanghai" {
		t.Fatalf("asset = %+v", a)
	}

	// Search as you type: an htmx request gets just the results.
	admin.header.Set("HX-Request", "true")
	admin.header.Set("HX-Target", "asset-results")
	r = admin.get(base + "?q=DMZ")
	wantStatus(t, r, http.StatusOK)
	if !strings.HasPrefix(r.body, `<div id="asset-results"`) || strings.Contains(r.body, "<html") ||
		!strings.Contains(r.body, "DMZ range") || strings.Contains(r.body, "web-01") {
		t.Errorf("htmx search response:\n%s", r.body)
	}
	admin.header = http.Header{}
	r = admin.get(base + "?kind=ip&min=5")
	if !strings.Contains(r.body, "DMZ range") || strings.Contains(r.body, ">web-01<") {
		t.Errorf("filtered list:\n%s", r.body)
	}

	// Edit and delete.
	r = admin.post(base+"/"+id, url.Values{"kind": {"ip"}, "name": {"DMZ"}, "address": {"192.0.2.0/24"}, "importance": {"4"}})
	wantRedirect(t, r, base+"/"+id)
	if a, _ = ui.Assets.Get(ui.adminCtx(), ui.TenantA.ID, id); a.Name != "DMZ" || a.Importance != 4 {
		t.Fatalf("asset after edit = %+v", a)
	}
	wantRedirect(t, admin.post(base+"/"+id+"/delete", nil), base)
	wantStatus(t, admin.get(base+"/"+id), http.StatusNotFound)

	// Paging.
	for i := range 30 {
		if _, err := ui.Assets.Create(ui.adminCtx(), ui.TenantA.ID, asset.Input{Kind: "application", Name: "app-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	r = admin.get(base)
	if !strings.Contains(r.body, "1–25 of 31") || !strings.Contains(r.body, `rel="next"`) {
		t.Errorf("first page pager:\n%s", r.body)
	}
	if r = admin.get(base + "?page=2"); !strings.Contains(r.body, "26–31 of 31") {
		t.Errorf("second page pager:\n%s", r.body)
	}
}

func TestOtherForms(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	tb := "/t/" + ui.TenantA.Slug

	// Contacts.
	r := admin.post(tb+"/contacts", url.Values{"kind": {"security-owner"}, "name": {"李娜"}, "email": {"not an email"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "is not a valid email address") {
		t.Errorf("bad email not shown:\n%s", r.body)
	}
	r = admin.post(tb+"/contacts", url.Values{"kind": {"security-owner"}, "name": {"李娜"}, "phone": {"+86 10 5555 0100"}, "asset": {ui.AssetA.ID}})
	wantRedirect(t, r, tb+"/contacts")
	if r = admin.get(tb + "/contacts"); !strings.Contains(r.body, "李娜") || !strings.Contains(r.body, "web-01") {
		t.Errorf("contact not listed with its asset:\n%s", r.body)
	}

	// Contracted services.
	r = admin.post(tb+"/services/baseline", url.Values{"enabled": {"1"}, "level": {"premium"}, "response_minutes": {"x"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	r = admin.post(tb+"/services/baseline", url.Values{"enabled": {"1"}, "level": {"premium"}, "response_minutes": {"30"},
		"notify_minutes": {"10"}, "report_frequency": {"monthly"}, "starts_on": {"2025-01-01"}, "ends_on": {"2024-01-01"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "end date is before the start date") {
		t.Errorf("date order not explained:\n%s", r.body)
	}
	r = admin.post(tb+"/services/baseline", url.Values{"enabled": {"1"}, "level": {"premium"}, "response_minutes": {"30"},
		"notify_minutes": {"10"}, "report_frequency": {"monthly"}, "starts_on": {"2025-01-01"}})
	wantRedirect(t, r, tb+"/services")
	if r = admin.get(tb + "/services"); !strings.Contains(r.body, "premium") {
		t.Errorf("subscription not listed:\n%s", r.body)
	}
	wantStatus(t, admin.get(tb+"/services/no-such-service"), http.StatusNotFound)

	// API tokens: the secret is shown once.
	r = admin.post(tb+"/tokens", url.Values{"name": {"siem"}, "role": {"customer"}, "ttl_days": {"30"}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `id="token-secret">vgl_`) {
		t.Fatalf("token secret not shown:\n%s", r.body)
	}
	if r = admin.get(tb + "/tokens"); strings.Contains(r.body, `id="token-secret"`) || !strings.Contains(r.body, "siem") {
		t.Errorf("token list:\n%s", r.body)
	}
	toks, err := ui.Tenants.ListTokens(ui.adminCtx(), ui.TenantA.ID)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens = %v, %v", toks, err)
	}
	wantRedirect(t, admin.post(tb+"/tokens/"+toks[0].ID+"/revoke", nil), tb+"/tokens")

	// Users, memberships, teams.
	r = admin.post("/admin/users", url.Values{"username": {"wang.fang"}, "password": {"short"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	r = admin.post("/admin/users", url.Values{"username": {"wang.fang"}, "display_name": {"王芳"}, "password": {"a-long-initial-passphrase"}, "locale": {"zh-CN"}})
	wantRedirect(t, r, "/admin/users/")
	uid := strings.TrimPrefix(strings.Split(r.Header.Get("Location"), "?")[0], "/admin/users/")
	wantRedirect(t, admin.post("/admin/users/"+uid+"/memberships", url.Values{"tenant": {ui.TenantA.ID}, "role": {"operator"}}), "/admin/users/"+uid)
	if r = admin.get("/admin/users/" + uid); !strings.Contains(r.body, "Operations engineer") {
		t.Errorf("membership not shown:\n%s", r.body)
	}
	wantRedirect(t, admin.post("/admin/users/"+uid, url.Values{"display_name": {"王芳"}, "locale": {"zh-CN"}, "disabled": {"1"}}), "/admin/users/"+uid)
	if u, _ := ui.Tenants.GetUser(ui.adminCtx(), uid); !u.Disabled {
		t.Error("user not disabled")
	}
	wantRedirect(t, admin.post("/admin/users/"+uid+"/password", url.Values{"password": {"another-long-passphrase"}}), "/admin/users/"+uid)
	r = admin.post("/admin/users/"+ui.Admin.ID, url.Values{"global_role": {""}})
	if r.StatusCode != http.StatusUnprocessableEntity && r.StatusCode != http.StatusSeeOther {
		t.Errorf("self edit: %d", r.StatusCode)
	}

	r = admin.post("/admin/teams", url.Values{"name": {"应急响应组"}, "kind": {"response"}})
	wantRedirect(t, r, "/admin/teams/")
	team := strings.TrimPrefix(strings.Split(r.Header.Get("Location"), "?")[0], "/admin/teams/")
	wantRedirect(t, admin.post("/admin/teams/"+team+"/members", url.Values{"user": {ui.AnalystA.ID}, "lead": {"1"}}), "/admin/teams/"+team)
	if r = admin.get("/admin/teams/" + team); !strings.Contains(r.body, "analyst-a") {
		t.Errorf("team member not shown:\n%s", r.body)
	}

	// The audit log shows all of it, filterable.
	r = admin.get("/audit?action=token.create")
	if !strings.Contains(r.body, "token.create") || strings.Contains(r.body, "<code>tenant.create</code>") {
		t.Errorf("filtered audit log:\n%s", r.body)
	}
	r = admin.get(tb + "/audit")
	if !strings.Contains(r.body, "contact.create") {
		t.Errorf("tenant audit log:\n%s", r.body)
	}
	wantStatus(t, admin.get("/audit?since=yesterday"), http.StatusOK)
}
