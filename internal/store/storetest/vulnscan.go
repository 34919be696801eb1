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

// testVulnScanRuns checks the OpenVAS connection (one per tenant,
// replaced, deleted) and the scan history (newest first, bounded, lists
// round trip, tenants apart).
func testVulnScanRuns(t *testing.T, s store.Store) {
	ctx := t.Context()
	vr := s.VulnScanRuns()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	if _, err := vr.GetGMP(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("connection of a new tenant: %v, want ErrNotFound", err)
	}
	g := store.VulnGMP{TenantID: a.ID, Address: "/run/gvmd/gvmd.sock", Username: "vigil", SecretID: "sec-1",
		ConfigID: "cfg", PortListID: "pl", ScannerID: "sc"}
	ok(t, vr.PutGMP(ctx, &g))
	got, err := vr.GetGMP(ctx, a.ID)
	ok(t, err)
	same(t, "connection", g, got)
	g.Address, g.CAPEM, g.ServerName = "gvmd.example:9390", "-----BEGIN CERTIFICATE-----", "gvmd.example"
	ok(t, vr.PutGMP(ctx, &g))
	got, err = vr.GetGMP(ctx, a.ID)
	ok(t, err)
	same(t, "replaced connection", g, got)
	if _, err := vr.GetGMP(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant's connection: %v, want ErrNotFound", err)
	}
	if err := vr.DeleteGMP(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of none: %v, want ErrNotFound", err)
	}
	ok(t, vr.DeleteGMP(ctx, a.ID))
	if _, err := vr.GetGMP(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted connection: %v, want ErrNotFound", err)
	}

	var want []store.VulnScanRun
	for i := range 3 {
		r := store.VulnScanRun{TenantID: a.ID, Kind: "scheduled", Status: "ok", StartedAt: at(10 * i), FinishedAt: at(10*i + 5),
			Targets: i, Findings: 2 * i}
		if i == 1 {
			r.Status, r.ScanIDs, r.Skipped, r.Errors = "partial", []string{"s1", "s2"}, []string{"nmap"}, []string{"openvas: refused"}
		}
		ok(t, vr.AddRun(ctx, &r))
		if r.ID == "" {
			t.Fatal("run without an ID")
		}
		r.StartedAt, r.FinishedAt = micro(r.StartedAt), micro(r.FinishedAt)
		want = append([]store.VulnScanRun{r}, want...)
	}
	ok(t, vr.AddRun(ctx, &store.VulnScanRun{TenantID: b.ID, Kind: "manual", Status: "failed", StartedAt: at(100), FinishedAt: at(101)}))
	runs, err := vr.Runs(ctx, a.ID, 10)
	ok(t, err)
	same(t, "runs", want, runs)
	runs, err = vr.Runs(ctx, a.ID, 2)
	ok(t, err)
	same(t, "newest two", want[:2], runs)
}
