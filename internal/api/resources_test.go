package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
)

const (
	get = http.MethodGet
	put = http.MethodPut
	del = http.MethodDelete
	pst = http.MethodPost
)

func TestMetaRoutes(t *testing.T) {
	h := newHarness(t)
	var me Me
	h.want(http.StatusOK, get, "/api/v1/me", h.adminA, nil, &me)
	if me.TokenID == "" || me.UserID != h.env.Admin.ID || me.GlobalRole != "" ||
		!slices.Equal(me.Roles, []TenantRole{{TenantID: h.env.TenantA.ID, Role: auth.RoleAdmin}}) {
		t.Errorf("me as tenant admin of A = %+v", me)
	}
	h.want(http.StatusOK, get, "/api/v1/me", h.admin, nil, &me)
	if me.GlobalRole != auth.RoleAdmin || len(me.Roles) != 0 {
		t.Errorf("me as admin = %+v", me)
	}
	var v Version
	h.want(http.StatusOK, get, "/api/v1/version", h.customer, nil, &v)
	if v.Version != "test" || v.API != "v1" {
		t.Errorf("version = %+v", v)
	}
	var c Catalogue
	h.want(http.StatusOK, get, "/api/v1/catalogue", h.customer, nil, &c)
	if len(c.Items) != 20 || c.Items[0].Code != "mlps" {
		t.Errorf("catalogue has %d items", len(c.Items))
	}
}

func TestTenants(t *testing.T) {
	h := newHarness(t)
	var l TenantList
	h.want(http.StatusOK, get, "/api/v1/tenants", h.admin, nil, &l)
	if len(l.Items) != 2 {
		t.Fatalf("admin sees %d tenants", len(l.Items))
	}
	h.want(http.StatusOK, get, "/api/v1/tenants", h.customer, nil, &l)
	if len(l.Items) != 1 || l.Items[0].ID != h.env.TenantB.ID {
		t.Fatalf("customer of B sees %+v", l.Items)
	}

	var created Tenant
	h.want(http.StatusCreated, pst, "/api/v1/tenants", h.admin,
		TenantInput{Slug: "initech", Name: "Initech", Industry: "software"}, &created)
	if created.ID == "" || created.Slug != "initech" || created.Industry != "software" {
		t.Fatalf("created %+v", created)
	}
	h.wantProblem(http.StatusConflict, pst, "/api/v1/tenants", h.admin, TenantInput{Slug: "initech", Name: "Again"})
	h.wantProblem(http.StatusForbidden, pst, "/api/v1/tenants", h.adminA, TenantInput{Slug: "evil", Name: "Evil"})

	var got Tenant
	h.want(http.StatusOK, get, "/api/v1/tenants/initech", h.admin, nil, &got)
	if got.ID != created.ID {
		t.Fatalf("get by slug = %+v", got)
	}
	h.want(http.StatusOK, get, "/api/v1/tenants/"+created.ID, h.admin, nil, &got)
	h.want(http.StatusOK, get, "/api/v1/tenants/acme", h.analystA, nil, &got)
	if got.ID != h.env.TenantA.ID {
		t.Fatalf("analyst of A got %+v", got)
	}

	h.want(http.StatusOK, put, "/api/v1/tenants/initech", h.admin,
		TenantInput{Slug: "initech", Name: "Initech Ltd", Disabled: true}, &got)
	if got.Name != "Initech Ltd" || !got.Disabled || got.Industry != "" {
		t.Fatalf("updated %+v", got)
	}
	h.wantProblem(http.StatusForbidden, put, "/api/v1/tenants/acme", h.adminA, TenantInput{Slug: "acme", Name: "X"})

	h.want(http.StatusNoContent, del, "/api/v1/tenants/initech", h.admin, nil, nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/initech", h.admin, nil)
	h.wantProblem(http.StatusForbidden, del, "/api/v1/tenants/acme", h.adminA, nil)
}

func TestUsersAndMemberships(t *testing.T) {
	h := newHarness(t)
	var l UserList
	h.want(http.StatusOK, get, "/api/v1/users", h.admin, nil, &l)
	if len(l.Items) != 3 {
		t.Fatalf("%d users", len(l.Items))
	}
	if strings.Contains(string(h.do(get, "/api/v1/users", h.admin, nil).Body), "argon2") {
		t.Fatal("user list exposes password hashes")
	}
	var u User
	h.want(http.StatusCreated, pst, "/api/v1/users", h.admin, UserCreate{Username: "bob", DisplayName: "Bob",
		Email: "bob@example.com", Password: "a-long-enough-password"}, &u)
	if u.ID == "" || u.Username != "bob" || u.Email != "bob@example.com" || u.LastLoginAt != nil {
		t.Fatalf("created %+v", u)
	}
	h.wantProblem(http.StatusConflict, pst, "/api/v1/users", h.admin, UserCreate{Username: "bob", Password: "a-long-enough-password"})
	h.want(http.StatusOK, get, "/api/v1/users/"+u.ID, h.admin, nil, &u)
	h.want(http.StatusOK, put, "/api/v1/users/"+u.ID, h.admin, UserUpdate{DisplayName: "Robert",
		GlobalRole: auth.RoleAuditor}, &u)
	if u.DisplayName != "Robert" || u.GlobalRole != auth.RoleAuditor || u.Email != "" {
		t.Fatalf("updated %+v", u)
	}
	// global_role and disabled must be sent: leaving them out must not
	// silently demote a user.
	h.wantProblem(http.StatusUnprocessableEntity, put, "/api/v1/users/"+u.ID, h.admin, `{"display_name":"x"}`)

	var m Membership
	h.want(http.StatusOK, put, "/api/v1/users/"+u.ID+"/memberships/acme", h.admin,
		MembershipInput{Role: auth.RoleExpert}, &m)
	if m.TenantID != h.env.TenantA.ID || m.Role != auth.RoleExpert {
		t.Fatalf("membership %+v", m)
	}
	var ml MembershipList
	h.want(http.StatusOK, get, "/api/v1/users/"+u.ID+"/memberships", h.admin, nil, &ml)
	if len(ml.Items) != 1 || ml.Items[0].TenantID != h.env.TenantA.ID {
		t.Fatalf("memberships %+v", ml)
	}
	h.want(http.StatusNoContent, del, "/api/v1/users/"+u.ID+"/memberships/"+h.env.TenantA.ID, h.admin, nil, nil)
	h.want(http.StatusOK, get, "/api/v1/users/"+u.ID+"/memberships", h.admin, nil, &ml)
	if len(ml.Items) != 0 {
		t.Fatalf("memberships after removal %+v", ml)
	}
	h.wantProblem(http.StatusUnprocessableEntity, put, "/api/v1/users/"+u.ID+"/memberships/acme", h.admin,
		MembershipInput{Role: "overlord"})
	// A tenant admin manages nothing platform-wide.
	h.wantProblem(http.StatusForbidden, get, "/api/v1/users", h.adminA, nil)
	h.wantProblem(http.StatusForbidden, put, "/api/v1/users/"+u.ID+"/memberships/acme", h.adminA,
		MembershipInput{Role: auth.RoleAdmin})

	h.want(http.StatusNoContent, del, "/api/v1/users/"+u.ID, h.admin, nil, nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/users/"+u.ID, h.admin, nil)
}

func TestTeams(t *testing.T) {
	h := newHarness(t)
	var team Team
	h.want(http.StatusCreated, pst, "/api/v1/teams", h.admin, TeamInput{Name: "Blue", Kind: "response"}, &team)
	if team.ID == "" || team.Kind != "response" {
		t.Fatalf("created %+v", team)
	}
	h.want(http.StatusOK, put, "/api/v1/teams/"+team.ID, h.admin,
		TeamInput{Name: "Blue team", Kind: "red-team", Description: "d"}, &team)
	if team.Name != "Blue team" || team.Kind != "red-team" {
		t.Fatalf("updated %+v", team)
	}
	var tm TeamMember
	h.want(http.StatusOK, put, "/api/v1/teams/"+team.ID+"/members/"+h.env.AnalystA.ID, h.admin,
		TeamMemberInput{Lead: true}, &tm)
	h.want(http.StatusOK, get, "/api/v1/teams/"+team.ID, h.admin, nil, &team)
	if len(team.Members) != 1 || team.Members[0].UserID != h.env.AnalystA.ID || !team.Members[0].Lead {
		t.Fatalf("members %+v", team.Members)
	}
	h.want(http.StatusNoContent, del, "/api/v1/teams/"+team.ID+"/members/"+h.env.AnalystA.ID, h.admin, nil, nil)
	var l TeamList
	h.want(http.StatusOK, get, "/api/v1/teams", h.admin, nil, &l)
	if len(l.Items) != 1 {
		t.Fatalf("teams %+v", l)
	}
	h.wantProblem(http.StatusUnprocessableEntity, pst, "/api/v1/teams", h.admin, TeamInput{Name: "X", Kind: "pirates"})
	h.wantProblem(http.StatusForbidden, get, "/api/v1/teams", h.adminA, nil)
	h.want(http.StatusNoContent, del, "/api/v1/teams/"+team.ID, h.admin, nil, nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/teams/"+team.ID, h.admin, nil)
}

func TestContacts(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/contacts"
	var c Contact
	h.want(http.StatusCreated, pst, base, h.adminA, ContactInput{Kind: "app-contact", Name: "Ann",
		Email: "ann@acme.example", AssetID: h.env.AssetA.ID}, &c)
	if c.ID == "" || c.TenantID != h.env.TenantA.ID || c.AssetID != h.env.AssetA.ID {
		t.Fatalf("created %+v", c)
	}
	h.want(http.StatusCreated, pst, base, h.admin, ContactInput{Kind: "ops", Name: "Olga"}, nil)
	// An asset of another tenant cannot be referenced.
	h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA,
		ContactInput{Kind: "ops", Name: "Mallory", AssetID: h.env.AssetB.ID})

	var l ContactList
	h.want(http.StatusOK, get, base, h.analystA, nil, &l)
	if len(l.Items) != 2 {
		t.Fatalf("%d contacts", len(l.Items))
	}
	h.want(http.StatusOK, get, base+"?kind=app-contact", h.adminA, nil, &l)
	if len(l.Items) != 1 || l.Items[0].ID != c.ID {
		t.Fatalf("by kind %+v", l)
	}
	h.want(http.StatusOK, get, base+"?asset="+h.env.AssetA.ID, h.adminA, nil, &l)
	if len(l.Items) != 1 || l.Items[0].ID != c.ID {
		t.Fatalf("by asset %+v", l)
	}
	h.want(http.StatusOK, put, base+"/"+c.ID, h.adminA, ContactInput{Kind: "security-owner", Name: "Ann B"}, &c)
	if c.Name != "Ann B" || c.AssetID != "" {
		t.Fatalf("updated %+v", c)
	}
	h.want(http.StatusOK, get, base+"/"+c.ID, h.analystA, nil, &c)
	h.wantProblem(http.StatusForbidden, pst, base, h.analystA, ContactInput{Kind: "ops", Name: "No"})
	// The contact does not exist in tenant B, even for the admin.
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/contacts/"+c.ID, h.admin, nil)
	h.want(http.StatusNoContent, del, base+"/"+c.ID, h.adminA, nil, nil)
	h.wantProblem(http.StatusNotFound, get, base+"/"+c.ID, h.adminA, nil)
}

func TestServices(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/services"
	var sub Subscription
	h.want(http.StatusOK, put, base+"/monitoring", h.adminA, SubscriptionInput{Enabled: true, Level: "premium",
		ResponseMinutes: 15, NotifyMinutes: 30, StartsOn: "2025-01-01", EndsOn: "2025-12-31"}, &sub)
	if sub.Service != "monitoring" || !sub.Enabled || sub.ReportFrequency != "weekly" ||
		sub.StartsOn != "2025-01-01" || sub.EndsOn != "2025-12-31" {
		t.Fatalf("put %+v", sub)
	}
	sub = Subscription{}
	h.want(http.StatusOK, put, base+"/baseline", h.admin, SubscriptionInput{}, &sub)
	if sub.Level != "standard" || sub.StartsOn != "" {
		t.Fatalf("defaults %+v", sub)
	}
	var l SubscriptionList
	h.wantProblem(http.StatusUnauthorized, get, base, h.env.TenantA.ID, nil) // a tenant ID is no token
	h.want(http.StatusOK, get, base, h.analystA, nil, &l)
	if len(l.Items) != 2 {
		t.Fatalf("subscriptions %+v", l)
	}
	h.wantProblem(http.StatusUnprocessableEntity, put, base+"/no-such-service", h.adminA, SubscriptionInput{})
	h.wantProblem(http.StatusUnprocessableEntity, put, base+"/monitoring", h.adminA,
		SubscriptionInput{StartsOn: "2025-12-31", EndsOn: "2025-01-01"})
	h.wantProblem(http.StatusUnprocessableEntity, put, base+"/monitoring", h.adminA, `{"starts_on":"yesterday"}`)
	h.wantProblem(http.StatusForbidden, put, base+"/monitoring", h.analystA, SubscriptionInput{})
	h.want(http.StatusNoContent, del, base+"/monitoring", h.adminA, nil, nil)
	h.want(http.StatusOK, get, base, h.adminA, nil, &l)
	if len(l.Items) != 1 {
		t.Fatalf("after delete %+v", l)
	}
}

func TestAssets(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/assets"
	var a Asset
	h.want(http.StatusCreated, pst, base, h.adminA, AssetInput{Kind: "ip", Address: "192.0.2.10", Importance: 5,
		Tags: []string{"dmz", "prod"}, Attributes: map[string]string{"os": "linux"}}, &a)
	if a.ID == "" || a.Name != "192.0.2.10" || a.Importance != 5 || !slices.Equal(a.Tags, []string{"dmz", "prod"}) ||
		a.Attributes["os"] != "linux" {
		t.Fatalf("created %+v", a)
	}
	h.want(http.StatusCreated, pst, base, h.admin, AssetInput{Kind: "domain", Address: "shop.acme.example",
		Tags: []string{"prod"}}, nil)

	var l AssetList
	h.want(http.StatusOK, get, base, h.analystA, nil, &l)
	if l.Total != 3 || len(l.Items) != 3 || l.Limit != 100 || l.Offset != 0 {
		t.Fatalf("list total %d items %d limit %d", l.Total, len(l.Items), l.Limit)
	}
	for q, want := range map[string]int{
		"kind=ip":                         1,
		"tag=prod":                        2,
		"q=shop":                          1,
		"min_importance=4":                2,
		"limit=1&offset=1":                3, // total is of all pages
		"kind=ip&tag=nope":                0,
		"q=" + url.QueryEscape("192.0.2"): 1,
	} {
		h.want(http.StatusOK, get, base+"?"+q, h.analystA, nil, &l)
		if l.Total != want {
			t.Errorf("%s: total %d, want %d", q, l.Total, want)
		}
	}
	h.want(http.StatusOK, get, base+"?limit=1&offset=1", h.analystA, nil, &l)
	if len(l.Items) != 1 || l.Limit != 1 || l.Offset != 1 {
		t.Errorf("page %+v", l)
	}

	h.want(http.StatusOK, get, base+"/"+a.ID, h.analystA, nil, &a)
	h.want(http.StatusOK, put, base+"/"+a.ID, h.adminA, AssetInput{Kind: "ip", Name: "edge", Address: "192.0.2.11"}, &a)
	if a.Name != "edge" || a.Importance != 3 || len(a.Tags) != 0 {
		t.Fatalf("updated %+v", a)
	}
	h.wantProblem(http.StatusForbidden, pst, base, h.analystA, AssetInput{Kind: "host", Name: "x"})
	h.wantProblem(http.StatusUnauthorized, get, base, h.customer+"x", nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/assets/"+a.ID, h.admin, nil)
	h.want(http.StatusNoContent, del, base+"/"+a.ID, h.adminA, nil, nil)
	h.wantProblem(http.StatusNotFound, get, base+"/"+a.ID, h.adminA, nil)

	// The customer of B reads its own assets.
	h.want(http.StatusOK, get, "/api/v1/tenants/globex/assets", h.customer, nil, &l)
	if l.Total != 1 || l.Items[0].ID != h.env.AssetB.ID {
		t.Fatalf("customer of B: %+v", l)
	}
	h.wantProblem(http.StatusForbidden, del, "/api/v1/tenants/globex/assets/"+h.env.AssetB.ID, h.customer, nil)
}

func TestTokens(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/tokens"
	var tc TokenCreated
	h.want(http.StatusCreated, pst, base, h.adminA, TokenInput{Name: "ci", Role: auth.RoleAnalyst, ExpiresInDays: 30}, &tc)
	if !strings.HasPrefix(tc.Secret, auth.TokenPrefix) || tc.Token.ID == "" || tc.Token.ExpiresAt == nil ||
		tc.Token.TenantID != h.env.TenantA.ID || !strings.HasPrefix(tc.Secret, tc.Token.Prefix) {
		t.Fatalf("created %+v", tc)
	}
	// The new token works and is scoped to A.
	var me Me
	h.want(http.StatusOK, get, "/api/v1/me", tc.Secret, nil, &me)
	if me.TokenID != tc.Token.ID {
		t.Fatalf("me with new token %+v", me)
	}
	h.want(http.StatusOK, get, "/api/v1/tenants/acme/assets", tc.Secret, nil, nil)

	r := h.want(http.StatusOK, get, base, h.adminA, nil, nil)
	if strings.Contains(r.String(), tc.Secret) || strings.Contains(r.String(), auth.HashToken(tc.Secret)) {
		t.Fatal("token list exposes a secret or hash")
	}
	var l TokenList
	h.want(http.StatusOK, get, base, h.adminA, nil, &l)
	if !slices.ContainsFunc(l.Items, func(tk Token) bool { return tk.ID == tc.Token.ID }) {
		t.Fatalf("new token not listed: %+v", l)
	}
	// A tenant admin cannot mint a platform-wide token, nor one stronger
	// than itself.
	h.wantProblem(http.StatusForbidden, pst, "/api/v1/tokens", h.adminA, TokenInput{Name: "g", Role: auth.RoleAdmin})
	h.wantProblem(http.StatusForbidden, pst, base, h.analystA, TokenInput{Name: "x", Role: auth.RoleAnalyst})

	h.want(http.StatusNoContent, del, base+"/"+tc.Token.ID, h.adminA, nil, nil)
	h.wantProblem(http.StatusUnauthorized, get, "/api/v1/me", tc.Secret, nil)
	// A tenant token cannot be revoked through another tenant.
	h.wantProblem(http.StatusNotFound, del, "/api/v1/tenants/globex/tokens/"+tc.Token.ID, h.admin, nil)

	// Global tokens.
	tc = TokenCreated{}
	h.want(http.StatusCreated, pst, "/api/v1/tokens", h.admin, TokenInput{Name: "siem", Role: auth.RoleAuditor}, &tc)
	if tc.Token.TenantID != "" || tc.Token.Role != auth.RoleAuditor {
		t.Fatalf("global token %+v", tc.Token)
	}
	h.want(http.StatusOK, get, "/api/v1/audit", tc.Secret, nil, nil)
	h.want(http.StatusOK, get, "/api/v1/tokens", h.admin, nil, &l)
	if !slices.ContainsFunc(l.Items, func(tk Token) bool { return tk.ID == tc.Token.ID }) {
		t.Fatalf("global token not listed: %+v", l)
	}
	h.wantProblem(http.StatusUnprocessableEntity, pst, "/api/v1/tokens", h.admin, TokenInput{Name: "c", Role: auth.RoleCustomer})
	h.want(http.StatusNoContent, del, "/api/v1/tokens/"+tc.Token.ID, h.admin, nil, nil)
	h.wantProblem(http.StatusUnauthorized, get, "/api/v1/audit", tc.Secret, nil)
}

func TestAudit(t *testing.T) {
	h := newHarness(t)
	h.want(http.StatusCreated, pst, "/api/v1/tenants/acme/assets", h.adminA, AssetInput{Kind: "host", Name: "db-01"}, nil)

	var l AuditList
	h.want(http.StatusOK, get, "/api/v1/tenants/acme/audit", h.adminA, nil, &l)
	if len(l.Items) == 0 || l.Limit != 100 {
		t.Fatalf("tenant audit %+v", l)
	}
	for _, e := range l.Items {
		if e.TenantID != h.env.TenantA.ID || e.Hash == "" {
			t.Fatalf("entry of another tenant or without hash in A's log: %+v", e)
		}
	}
	h.want(http.StatusOK, get, "/api/v1/tenants/acme/audit?action=asset.create&limit=1", h.adminA, nil, &l)
	if len(l.Items) != 1 || l.Items[0].Action != "asset.create" || len(l.Items[0].Detail) == 0 {
		t.Fatalf("filtered %+v", l)
	}
	h.want(http.StatusOK, get, "/api/v1/tenants/acme/audit?since=2999-01-01T00:00:00Z", h.adminA, nil, &l)
	if len(l.Items) != 0 {
		t.Fatalf("future entries %+v", l)
	}
	h.wantProblem(http.StatusUnprocessableEntity, get, "/api/v1/tenants/acme/audit?since=yesterday", h.adminA, nil)

	h.want(http.StatusOK, get, "/api/v1/audit", h.admin, nil, &l)
	tenants := map[string]bool{}
	for _, e := range l.Items {
		tenants[e.TenantID] = true
	}
	if !tenants[h.env.TenantA.ID] || !tenants[h.env.TenantB.ID] || !tenants[""] {
		t.Fatalf("global audit covers tenants %v", tenants)
	}
	h.wantProblem(http.StatusForbidden, get, "/api/v1/audit", h.adminA, nil)
	h.wantProblem(http.StatusForbidden, get, "/api/v1/tenants/acme/audit", h.analystA, nil)
	h.wantProblem(http.StatusForbidden, get, "/api/v1/tenants/globex/audit", h.customer, nil)
}
