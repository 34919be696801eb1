package app_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// adminAndTenant creates a platform admin and the tenant "acme" in a, and
// returns a context acting as the admin with the tenant.
func adminAndTenant(t *testing.T, a *app.App) (context.Context, store.Tenant) {
	t.Helper()
	admin := store.User{Username: "root", GlobalRole: auth.RoleAdmin}
	if err := a.Store.Users().Create(t.Context(), &admin); err != nil {
		t.Fatal(err)
	}
	pr, err := a.Auth.UserPrincipal(t.Context(), admin)
	if err != nil {
		t.Fatal(err)
	}
	actx := auth.WithPrincipal(context.Background(), pr)
	acme, err := a.Tenants.CreateTenant(actx, tenant.TenantInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	return actx, acme
}

// openApp opens a node on cfg, closed when the test ends.
func openApp(t *testing.T, cfg config.Config) *app.App {
	t.Helper()
	a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}
