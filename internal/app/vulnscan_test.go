package app_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestScheduledVulnScans checks the periodic job scans only tenants with
// an active vuln-lifecycle subscription, at most once per interval.
func TestScheduledVulnScans(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	acme, globex := store.Tenant{Slug: "acme", Name: "Acme"}, store.Tenant{Slug: "globex", Name: "Globex"}
	for _, tn := range []*store.Tenant{&acme, &globex} {
		if err := a.Store.Tenants().Create(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Store.Services().Put(ctx, &store.Subscription{TenantID: acme.ID, Service: "vuln-lifecycle", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.Services().Put(ctx, &store.Subscription{TenantID: globex.ID, Service: "vuln-lifecycle", Enabled: false}); err != nil {
		t.Fatal(err)
	}
	scans := func(id string) int {
		t.Helper()
		l, err := a.Store.Vulns().Scans(ctx, id, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	now := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{now, now.Add(time.Hour), now.Add(6 * 24 * time.Hour), now.Add(8 * 24 * time.Hour)} {
		if err := a.RunDueVulnScans(t.Context(), at); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if n := scans(acme.ID); n != 2 {
		t.Errorf("acme was scanned %d times over 8 days, want 2 (weekly)", n)
	}
	if n := scans(globex.ID); n != 0 {
		t.Errorf("globex (subscription disabled) was scanned %d times", n)
	}
	v, err := a.Store.VulnSettings().Get(ctx, acme.ID)
	if err != nil || !v.LastRunAt.Equal(now.Add(8*24*time.Hour)) {
		t.Errorf("last run %v (%v)", v.LastRunAt, err)
	}
	if _, err := a.Store.VulnSettings().Get(ctx, globex.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("globex settings: %v", err)
	}
}
