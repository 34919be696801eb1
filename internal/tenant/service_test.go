package tenant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

func TestTenantAdminOnly(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	_, err := env.Tenants.CreateTenant(env.As(ctx, env.AnalystA), tenant.TenantInput{Slug: "x1", Name: "X"})
	if !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst created a tenant: %v", err)
	}
	if _, err := env.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: "x2", Name: "X"}); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("anonymous created a tenant: %v", err)
	}
	_, err = env.Tenants.CreateTenant(env.AdminCtx(ctx), tenant.TenantInput{Slug: "acme", Name: "Again"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate slug: %v", err)
	}
	for _, in := range []tenant.TenantInput{{Slug: "A", Name: "x"}, {Slug: "ok-slug", Name: ""}, {Slug: "-bad", Name: "x"}} {
		if _, err := env.Tenants.CreateTenant(env.AdminCtx(ctx), in); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: want ErrInvalid, got %v", in, err)
		}
	}
}

func TestListTenantsOnlyShowsGranted(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	list, err := env.Tenants.ListTenants(env.As(ctx, env.AnalystA))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != env.TenantA.ID {
		t.Fatalf("analyst of A sees %v", list)
	}
	if _, err := env.Tenants.ResolveTenant(env.As(ctx, env.AnalystA), "globex"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("analyst of A resolved tenant B: %v", err)
	}
	all, err := env.Tenants.ListTenants(env.AdminCtx(ctx))
	if err != nil || len(all) != 2 {
		t.Fatalf("admin sees %d tenants, %v", len(all), err)
	}
}

func TestContactsAreTenantScoped(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	c, err := env.Tenants.CreateContact(ctx, env.TenantA.ID, tenant.ContactInput{Kind: "app-contact", Name: "Li Lei",
		Email: "li@example.com", AssetID: env.AssetA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Tenants.GetContact(ctx, env.TenantB.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("contact of A read through B: %v", err)
	}
	// An asset of another tenant cannot be linked.
	_, err = env.Tenants.CreateContact(ctx, env.TenantA.ID, tenant.ContactInput{Kind: "ops", Name: "X", AssetID: env.AssetB.ID})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("linked another tenant's asset: %v", err)
	}
	_, err = env.Tenants.CreateContact(ctx, env.TenantA.ID, tenant.ContactInput{Kind: "ops", Name: "X", Email: "not an email"})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad email: %v", err)
	}
	// The customer of B cannot write contacts anywhere.
	_, err = env.Tenants.CreateContact(env.As(context.Background(), env.CustomerB), env.TenantB.ID, tenant.ContactInput{Kind: "ops", Name: "X"})
	if !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer wrote a contact: %v", err)
	}
}

func TestSubscriptions(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	sub, err := env.Tenants.PutSubscription(ctx, env.TenantA.ID, "monitoring", tenant.SubscriptionInput{Enabled: true, ResponseMinutes: 15, NotifyMinutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ReportFrequency != "weekly" || sub.Level != "standard" {
		t.Fatalf("defaults not applied: %+v", sub)
	}
	if _, err := env.Tenants.PutSubscription(ctx, env.TenantA.ID, "nope", tenant.SubscriptionInput{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown service: %v", err)
	}
	if _, err := env.Tenants.PutSubscription(ctx, env.TenantA.ID, "mlps", tenant.SubscriptionInput{ResponseMinutes: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("negative minutes: %v", err)
	}
	list, err := env.Tenants.ListSubscriptions(ctx, env.TenantA.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if len(tenant.Catalogue()) != 20 {
		t.Fatalf("catalogue has %d services, want 4 compliance + 16 operations", len(tenant.Catalogue()))
	}
}

func TestTokensCannotExceedTheirMaker(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	admin := env.AdminCtx(ctx)
	// A tenant admin of A may mint tokens in A up to admin, never global.
	ta, err := env.Tenants.CreateUser(admin, tenant.UserInput{Username: "ta", Password: fixture.Password})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Tenants.SetMembership(admin, ta.ID, env.TenantA.ID, auth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	tctx := env.As(ctx, ta)
	secret, tok, err := env.Tenants.CreateToken(tctx, tenant.TokenInput{Name: "siem", TenantID: env.TenantA.ID, Role: auth.RoleAnalyst})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Auth.Token(ctx, secret)
	if err != nil || !p.Can(auth.PermAssetRead, env.TenantA.ID) || p.Can(auth.PermAssetRead, env.TenantB.ID) {
		t.Fatalf("token principal wrong: %+v %v", p, err)
	}
	// A tenant admin token is fine: it never holds the global-only permissions.
	adminSecret, _, err := env.Tenants.CreateToken(tctx, tenant.TokenInput{Name: "auto", TenantID: env.TenantA.ID, Role: auth.RoleAdmin})
	if err != nil {
		t.Fatalf("tenant admin could not mint a tenant admin token: %v", err)
	}
	if p, err := env.Auth.Token(ctx, adminSecret); err != nil || p.Can(auth.PermTenantAdmin, env.TenantA.ID) || p.Can(auth.PermUserAdmin, "") {
		t.Fatalf("tenant admin token holds global permissions: %+v %v", p, err)
	}
	if _, _, err := env.Tenants.CreateToken(tctx, tenant.TokenInput{Name: "g", Role: auth.RoleAdmin}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("tenant admin minted a global token: %v", err)
	}
	if _, _, err := env.Tenants.CreateToken(tctx, tenant.TokenInput{Name: "b", TenantID: env.TenantB.ID, Role: auth.RoleCustomer}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("tenant admin of A minted a token for B: %v", err)
	}
	// An analyst holds no token.admin.
	if _, _, err := env.Tenants.CreateToken(env.As(ctx, env.AnalystA), tenant.TokenInput{Name: "x", TenantID: env.TenantA.ID, Role: auth.RoleAnalyst}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst minted a token: %v", err)
	}
	if err := env.Tenants.RevokeToken(tctx, env.TenantA.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Auth.Token(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked token still works: %v", err)
	}
}

func TestChangesAreAuditedAndChainVerifies(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	entries, err := env.Audit.List(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	// The fixture made 2 tenants, 2 users, 2 memberships, 2 assets.
	for _, a := range []string{"tenant.create", "user.create", "membership.set", "asset.create"} {
		if actions[a] != 2 {
			t.Errorf("%s audited %d times, want 2 (all: %v)", a, actions[a], actions)
		}
	}
	res, err := env.Audit.Verify(ctx)
	if err != nil || !res.OK() || res.Entries != int64(len(entries)) {
		t.Fatalf("verify: %v %v", res, err)
	}
	// A tenant analyst cannot read the global audit log.
	if _, err := env.Audit.List(env.As(context.Background(), env.AnalystA), store.AuditFilter{}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst read global audit: %v", err)
	}
}

func TestLoginRateLimitAndDisabledUser(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	if _, _, err := env.Auth.Login(ctx, "analyst-a", fixture.Password, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, _, err := env.Auth.Login(ctx, "analyst-a", "wrong password!!", "192.0.2.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := env.Auth.Login(ctx, "analyst-a", fixture.Password, "192.0.2.1"); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("not rate limited: %v", err)
	}
	admin := env.AdminCtx(ctx)
	u, err := env.Tenants.UpdateUser(admin, env.CustomerB.ID, tenant.UserInput{Disabled: true})
	if err != nil || !u.Disabled {
		t.Fatal(err)
	}
	if _, _, err := env.Auth.Login(ctx, "customer-b", fixture.Password, "192.0.2.2"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("disabled user signed in: %v", err)
	}
	if _, err := env.Tenants.UpdateUser(admin, env.Admin.ID, tenant.UserInput{Disabled: true, GlobalRole: auth.RoleAdmin}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("admin disabled themselves: %v", err)
	}
}

func TestAdminPasswordResetForcesChange(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	u, err := env.Tenants.UpdateUser(env.AdminCtx(ctx), env.AnalystA.ID, tenant.UserInput{Password: "set-by-the-admin-1"})
	if err != nil || !u.MustChangePassword {
		t.Fatalf("reset by admin: must change = %v, %v", u.MustChangePassword, err)
	}
	if err := env.Tenants.ChangeOwnPassword(env.As(ctx, u), "set-by-the-admin-1", "chosen-by-the-user-1"); err != nil {
		t.Fatal(err)
	}
	got, err := env.Store.Users().Get(ctx, u.ID)
	if err != nil || got.MustChangePassword {
		t.Fatalf("after own change: must change = %v, %v", got.MustChangePassword, err)
	}
	if err := env.Tenants.ChangeOwnPassword(env.As(ctx, u), "wrong-current-pass", "another-password-1"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("wrong current password: %v", err)
	}
}
