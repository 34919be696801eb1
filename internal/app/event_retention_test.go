package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// testTenantRetentionJob runs the retention job with a global retention of
// 30 days: a tenant with 2 days keeps two days, a tenant without keeps 30,
// and one whose 40 days were set before the global retention shrank keeps
// 30 too. Setting a retention longer than the global one is refused.
func testTenantRetentionJob(t *testing.T, cfg config.Config) {
	const day = 24 * time.Hour
	cfg.EventRetention = 30 * day
	a, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	ctx := auth.WithPrincipal(t.Context(), &auth.Principal{UserID: "root", Username: "root", GlobalRole: auth.RoleAdmin})
	var tenants []store.Tenant
	for _, slug := range []string{"short", "global", "long"} {
		tn := store.Tenant{Slug: slug, Name: slug}
		if err := a.Store.Tenants().Create(t.Context(), &tn); err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, tn)
	}
	short, global, long := tenants[0], tenants[1], tenants[2]
	if err := a.SetTenantEventRetention(ctx, short.ID, 2*day); err != nil {
		t.Fatal(err)
	}
	if err := a.SetTenantEventRetention(ctx, long.ID, 40*day); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a retention longer than the global one: %v, want ErrInvalid", err)
	}
	// An admin of the tenant may set it; an expert of the tenant, or an
	// admin of another tenant, may not.
	tenantAdmin := auth.WithPrincipal(t.Context(), &auth.Principal{UserID: "u", Roles: map[string]string{long.ID: auth.RoleAdmin,
		short.ID: auth.RoleExpert}})
	if err := a.SetTenantEventRetention(tenantAdmin, long.ID, day); err != nil {
		t.Fatalf("the tenant's own admin: %v", err)
	}
	if d, err := a.TenantEventRetention(tenantAdmin, long.ID); err != nil || d != day {
		t.Fatalf("the tenant's own admin reads %v, %v; want %v", d, err, day)
	}
	for _, tn := range []store.Tenant{short, global} {
		if err := a.SetTenantEventRetention(tenantAdmin, tn.ID, day); !errors.Is(err, auth.ErrForbidden) {
			t.Fatalf("set the retention of %s without being its admin: %v", tn.Slug, err)
		}
		if _, err := a.TenantEventRetention(tenantAdmin, tn.ID); !errors.Is(err, auth.ErrForbidden) {
			t.Fatalf("read the retention of %s without being its admin: %v", tn.Slug, err)
		}
	}
	// As if set while the global retention was longer.
	if err := a.Store.(store.TenantEventRetention).SetTenantEventRetention(t.Context(), long.ID, 40*day); err != nil {
		t.Fatal(err)
	}

	// One event a day for 45 days, an hour after the day boundary the job
	// will compute, so the job's later clock does not matter.
	now := time.Now()
	var evs []store.Event
	for _, tn := range tenants {
		for k := range 45 {
			ts := now.Add(-time.Duration(k)*day + time.Hour)
			evs = append(evs, store.Event{ID: fmt.Sprintf("%s-%02d", tn.Slug, k), TenantID: tn.ID, Time: ts, Received: ts, Format: "json"})
		}
	}
	if _, err := a.Store.Events().Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	kept := func(tn store.Tenant, ret time.Duration) int {
		n := 0
		for _, e := range evs {
			if e.TenantID == tn.ID && !e.Time.Before(now.Add(-ret)) {
				n++
			}
		}
		return n
	}
	if err := a.maintainEventPartitions(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tn  store.Tenant
		ret time.Duration
	}{{short, 2 * day}, {global, 30 * day}, {long, 30 * day}} {
		n, err := a.Store.Events().Count(t.Context(), c.tn.ID, store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if want := kept(c.tn, c.ret); n != want {
			t.Errorf("tenant %s: %d events kept, want %d (retention %s)", c.tn.Slug, n, want, c.ret)
		}
	}
}

func TestTenantRetentionJobSQLite(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	testTenantRetentionJob(t, cfg)
}

func TestTenantRetentionJobPostgres(t *testing.T) {
	pgURL := testenv.RequirePostgres(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "vigil_tret_" + hex.EncodeToString(suffix)
	dbURL, err := postgres.CreateDatabase(t.Context(), pgURL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), pgURL, name) })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := config.Default()
	cfg.DB = dbURL
	cfg.DataDir = t.TempDir()
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	testTenantRetentionJob(t, cfg)
}
