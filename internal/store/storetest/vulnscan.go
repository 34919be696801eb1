package storetest

import (
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testVulnSettings checks the per-tenant SLA days and the scheduled-scan
// claim: one claim per interval, whoever asks, and tenants apart.
func testVulnSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	vs := s.VulnSettings()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	if _, err := vs.Get(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("settings of a new tenant: %v, want ErrNotFound", err)
	}
	ok(t, vs.PutSLA(ctx, a.ID, map[string]int{"critical": 3, "high": 14}))
	got, err := vs.Get(ctx, a.ID)
	ok(t, err)
	same(t, "SLA", map[string]int{"critical": 3, "high": 14}, got.SLA)
	same(t, "never ran", true, got.LastRunAt.IsZero())

	// The first claim wins; a second within the interval does not.
	claimed, err := vs.ClaimRun(ctx, a.ID, at(60), at(0))
	ok(t, err)
	same(t, "first claim", true, claimed)
	claimed, err = vs.ClaimRun(ctx, a.ID, at(70), at(10))
	ok(t, err)
	same(t, "claim within the interval", false, claimed)
	claimed, err = vs.ClaimRun(ctx, a.ID, at(130), at(70))
	ok(t, err)
	same(t, "claim after the interval", true, claimed)
	got, err = vs.Get(ctx, a.ID)
	ok(t, err)
	same(t, "last run", micro(at(130)), got.LastRunAt)
	same(t, "SLA kept by claims", map[string]int{"critical": 3, "high": 14}, got.SLA)

	// The other tenant is untouched, then claims on its own.
	if _, err := vs.Get(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant: %v, want ErrNotFound", err)
	}
	claimed, err = vs.ClaimRun(ctx, b.ID, at(70), at(10))
	ok(t, err)
	same(t, "other tenant's claim", true, claimed)

	// Replacing the SLA resets severities left out.
	ok(t, vs.PutSLA(ctx, a.ID, map[string]int{"low": 200}))
	got, err = vs.Get(ctx, a.ID)
	ok(t, err)
	same(t, "replaced SLA", map[string]int{"low": 200}, got.SLA)
	same(t, "last run kept", micro(at(130)), got.LastRunAt)
}
