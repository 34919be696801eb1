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
// an active vuln-lifecycle subscription, at most once per interval: a week
// when the subscription names no frequency, a day for a daily one, never
// on schedule for a per-engagement one.
func TestScheduledVulnScans(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	acme, globex := store.Tenant{Slug: "acme", Name: "Acme"}, store.Tenant{Slug: "globex", Name: "Globex"}
	daily, engaged := store.Tenant{Slug: "daily", Name: "Daily"}, store.Tenant{Slug: "engaged", Name: "Engaged"}
	for _, tn := range []*store.Tenant{&acme, &globex, &daily, &engaged} {
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
	for tn, freq := range map[string]string{daily.ID: "daily", engaged.ID: "per-engagement"} {
		if err := a.Store.Services().Put(ctx, &store.Subscription{TenantID: tn, Service: "vuln-lifecycle", Enabled: true, ReportFrequency: freq}); err != nil {
			t.Fatal(err)
		}
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
	// Runs at +0, +1 h, +6 d and +8 d: the daily tenant is due at all but +1 h.
	if n := scans(daily.ID); n != 3 {
		t.Errorf("the daily tenant was scanned %d times over 8 days, want 3", n)
	}
	if n := scans(engaged.ID); n != 0 {
		t.Errorf("the per-engagement tenant was scanned %d times on schedule", n)
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
