package project_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// clock is a settable clock shared by the auth and project services.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// commissionEnv is a fixture with a third tenant C, a regulator of A and
// B (not C), a user of a third-party organisation without any membership,
// and auth and project services on one settable clock.
type commissionEnv struct {
	*fixture.Env
	C        store.Tenant
	Reg, Org store.User
	Clock    *clock
	AuthSvc  *auth.Service
	Svc      *project.Service
}

func newCommissionEnv(t *testing.T) *commissionEnv {
	t.Helper()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	e := &commissionEnv{Env: env, Clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	var err error
	if e.C, err = env.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: "gamma", Name: "Gamma"}); err != nil {
		t.Fatal(err)
	}
	if e.Reg, err = env.Tenants.CreateUser(ctx, tenant.UserInput{Username: "regulator", Password: fixture.Password}); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{env.TenantA.ID, env.TenantB.ID} {
		if err := env.Tenants.SetMembership(ctx, e.Reg.ID, tn, auth.RoleRegulator); err != nil {
			t.Fatal(err)
		}
	}
	if e.Org, err = env.Tenants.CreateUser(ctx, tenant.UserInput{Username: "thirdparty", Password: fixture.Password}); err != nil {
		t.Fatal(err)
	}
	e.AuthSvc = auth.NewService(env.Store, auth.Options{Now: e.Clock.now})
	if e.Svc, err = project.NewService(env.Store, env.Audit, project.Options{Now: e.Clock.now}); err != nil {
		t.Fatal(err)
	}
	return e
}

// as acts as u at the current clock: the principal is built as a session
// would build it on each request.
func (e *commissionEnv) as(t *testing.T, u store.User) context.Context {
	t.Helper()
	p, err := e.AuthSvc.UserPrincipal(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return auth.WithPrincipal(t.Context(), p)
}

// TestCommissionScopeAndExpiry: a regulator of A and B commissions a third
// party over A (one system) and B for a month; its user is nobody before
// the first day, an assessor of exactly A and B during the period (not C,
// not the rest of the platform), and nobody again at its end. The
// commission is audited in both tenants, its status follows the clock,
// and what the assessor opened shows as its results.
func TestCommissionScopeAndExpiry(t *testing.T) {
	t.Parallel()
	e := newCommissionEnv(t)
	// The store stamps what the assessor opens with its own clock, so the
	// period is laid around today; the services' clock is set freely.
	start := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	end := start.AddDate(0, 1, 0)
	e.Clock.t = start.Add(-24 * time.Hour)
	in := project.CommissionInput{Org: "某测评中心", Contact: "王工", Purpose: "2026 年一季度抽查", Tenants: []string{e.TenantA.ID, e.TenantB.ID},
		Systems: map[string][]string{e.TenantA.ID: {e.AssetA.Name}}, Members: []string{e.Org.Username}, StartsAt: start, EndsAt: end}

	// Refusals: a tenant not granted is not found; no commission.write is
	// forbidden; the regulator cannot commission itself.
	reg := e.as(t, e.Reg)
	bad := in
	bad.Tenants = []string{e.TenantA.ID, e.C.ID}
	if _, err := e.Svc.CreateCommission(reg, bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("commission over a tenant not granted: %v", err)
	}
	if _, err := e.Svc.CreateCommission(e.as(t, e.AnalystA), in); !errors.Is(err, auth.ErrForbidden) && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("analyst commissions: %v", err)
	}
	self := in
	self.Members = []string{e.Reg.Username}
	if _, err := e.Svc.CreateCommission(reg, self); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("self-commission: %v", err)
	}
	admin := in
	admin.Members = []string{e.Admin.Username}
	if _, err := e.Svc.CreateCommission(reg, admin); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("commission of a platform admin: %v", err)
	}

	c, err := e.Svc.CreateCommission(reg, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scope) != 2 || len(c.Members) != 1 || c.Members[0] != e.Org.ID {
		t.Fatalf("commission %+v", c)
	}
	for _, tn := range []string{e.TenantA.ID, e.TenantB.ID} {
		evs, err := e.Store.Audit().List(t.Context(), store.AuditFilter{TenantID: tn, Action: "commission.create"})
		if err != nil || len(evs) != 1 || evs[0].Object != "commission:"+c.ID || evs[0].ActorID != e.Reg.ID {
			t.Fatalf("audit of %s: %+v %v", tn, evs, err)
		}
	}
	v, err := e.Svc.Commission(reg, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != project.CommissionScheduled || len(v.Tenants) != 2 {
		t.Fatalf("view before the start: %+v", v)
	}
	for _, ct := range v.Tenants {
		want := 0
		if ct.Tenant.ID == e.TenantA.ID {
			want = 1
		}
		if len(ct.Systems) != want || (want == 1 && (ct.Systems[0].Asset != e.AssetA.ID || ct.Systems[0].Name != e.AssetA.Name)) {
			t.Fatalf("systems of %s: %+v", ct.Tenant.Slug, ct.Systems)
		}
	}

	// Before the first day: nothing.
	e.Clock.t = start.Add(-time.Second)
	if p := auth.FromContext(e.as(t, e.Org)); len(p.Roles) != 0 {
		t.Fatalf("roles before the start: %v", p.Roles)
	}

	// During: an assessor of exactly A and B.
	e.Clock.t = start.Add(2 * time.Hour)
	org := e.as(t, e.Org)
	p := auth.FromContext(org)
	if len(p.Roles) != 2 || p.Roles[e.TenantA.ID] != auth.RoleAssessor || p.Roles[e.TenantB.ID] != auth.RoleAssessor ||
		p.Commissioned[e.TenantA.ID] != c.ID || p.Roles[e.C.ID] != "" {
		t.Fatalf("roles during the period: %v %v", p.Roles, p.Commissioned)
	}
	x, err := e.Svc.CreateInspection(org, e.TenantA.ID, project.InspectionInput{Name: "第三方检查", Framework: "mlps2-l2", Sample: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.CreateInspection(org, e.C.ID, project.InspectionInput{Name: "越权", Framework: "mlps2-l2"}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("inspection outside the scope: %v", err)
	}
	if v, err = e.Svc.Commission(reg, c.ID); err != nil {
		t.Fatal(err)
	}
	if v.Status != project.CommissionActive || len(v.Results) != 1 || v.Results[0].ID != x.ID || v.Results[0].Kind != "inspection" {
		t.Fatalf("view during the period: %+v", v)
	}
	// A customer of B (no assessment.read) does not see the commission.
	if _, err := e.Svc.Commission(e.as(t, e.CustomerB), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("customer of B reads the commission: %v", err)
	}
	if _, err := e.Svc.Commission(e.as(t, e.AnalystA), c.ID); err != nil {
		t.Fatalf("analyst of A reads the commission touching A: %v", err)
	}

	// At the end: nothing again.
	e.Clock.t = end
	if p := auth.FromContext(e.as(t, e.Org)); len(p.Roles) != 0 {
		t.Fatalf("roles at the end: %v", p.Roles)
	}
	if v, err = e.Svc.Commission(reg, c.ID); err != nil || v.Status != project.CommissionExpired || v.CanRevoke {
		t.Fatalf("view at the end: %+v %v", v, err)
	}
	if _, err := e.Svc.RevokeCommission(reg, c.ID, 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("revoking an expired commission: %v", err)
	}
}

// TestCommissionRevoke: revoking ends the access at once, is audited, and
// a stale version or a caller without commission.write everywhere in the
// scope is refused.
func TestCommissionRevoke(t *testing.T) {
	t.Parallel()
	e := newCommissionEnv(t)
	start := e.Clock.t
	c, err := e.Svc.CreateCommission(e.as(t, e.Reg), project.CommissionInput{Org: "机构", Purpose: "复核", Tenants: []string{e.TenantA.ID},
		Members: []string{e.Org.Username}, StartsAt: start, EndsAt: start.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.t = start.Add(time.Hour)
	if p := auth.FromContext(e.as(t, e.Org)); p.Roles[e.TenantA.ID] != auth.RoleAssessor {
		t.Fatalf("roles before the revocation: %v", p.Roles)
	}
	if _, err := e.Svc.RevokeCommission(e.as(t, e.AnalystA), c.ID, c.Version); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst revokes: %v", err)
	}
	if _, err := e.Svc.RevokeCommission(e.as(t, e.Reg), c.ID, c.Version+1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale revoke: %v", err)
	}
	v, err := e.Svc.RevokeCommission(e.as(t, e.Reg), c.ID, c.Version)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != project.CommissionRevoked || !v.Commission.RevokedAt.Equal(e.Clock.t) {
		t.Fatalf("after revoking: %+v", v)
	}
	if p := auth.FromContext(e.as(t, e.Org)); len(p.Roles) != 0 {
		t.Fatalf("roles after the revocation: %v", p.Roles)
	}
	evs, err := e.Store.Audit().List(t.Context(), store.AuditFilter{TenantID: e.TenantA.ID, Action: "commission.revoke"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("revocation audit: %+v %v", evs, err)
	}
}

// TestRegulatorRunsInspections: a regulator of A and B opens a campaign
// over both (no assessment.write), records a result and closes the
// inspection, each audited; it is refused in C and cannot touch
// assessment projects.
func TestRegulatorRunsInspections(t *testing.T) {
	t.Parallel()
	e := newCommissionEnv(t)
	reg := e.as(t, e.Reg)
	res, err := e.Svc.CreateCampaign(reg, []string{e.TenantA.ID, e.TenantB.ID}, project.InspectionInput{Name: "2026 年度抽查", Framework: "mlps2-l2", Sample: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Opened() != 2 {
		t.Fatalf("campaign outcomes %+v", res.Outcomes)
	}
	x := res.Outcomes[0].Inspection
	v, err := e.Svc.Inspection(reg, e.TenantA.ID, x.ID)
	if err != nil || len(v.Doc.Objects) != 1 || !v.Doc.Sampled {
		t.Fatalf("inspection of A: %+v %v", v, err)
	}
	item := v.Framework.Requirements()[0].ID
	if v, err = e.Svc.RecordInspectionResult(reg, e.TenantA.ID, x.ID, v.Meta.Version,
		project.InspectionResult{Item: item, Object: v.Doc.Objects[0].Asset, Result: "不符合", Note: "口令策略未配置"}); err != nil {
		t.Fatal(err)
	}
	if _, err = e.Svc.SetInspectionState(reg, e.TenantA.ID, x.ID, v.Meta.Version, store.InspectionClosed); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"inspection.create", "inspection.result", "inspection.state"} {
		evs, err := e.Store.Audit().List(t.Context(), store.AuditFilter{TenantID: e.TenantA.ID, Action: action})
		if err != nil || len(evs) != 1 || evs[0].ActorID != e.Reg.ID {
			t.Fatalf("audit %s: %+v %v", action, evs, err)
		}
	}
	if _, err := e.Svc.CreateInspection(reg, e.C.ID, project.InspectionInput{Name: "x", Framework: "mlps2-l2"}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("inspection in a tenant not granted: %v", err)
	}
	if _, err := e.Svc.Create(reg, e.TenantA.ID, project.ProjectInput{Name: "p", System: "s", Level: 3}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("regulator opens a project: %v", err)
	}
}
