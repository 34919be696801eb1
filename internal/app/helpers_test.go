package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"testing"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
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

// postgresConfig creates a fresh PostgreSQL database named prefix plus a
// random suffix (dropped when the test ends) and returns a configuration
// on it with a random secret key, and the suffix for other names the test
// keeps apart. Nodes opened on copies of it share the database and the key.
func postgresConfig(t *testing.T, prefix string) (config.Config, string) {
	t.Helper()
	pgURL := testenv.RequirePostgres(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	name := prefix + suffix
	dbURL, err := postgres.CreateDatabase(t.Context(), pgURL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), pgURL, name) })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := config.Default()
	cfg.DB = dbURL
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	return cfg, suffix
}
