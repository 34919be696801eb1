package exposure_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestStartDueKeepsHostDiscovery: a scheduled run keeps the host
// discovery choice of the tenant's latest run, stored in its options.
func TestStartDueKeepsHostDiscovery(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	// The store stamps runs with the real time, so the service's clock
	// starts there (a fixed date made the test fail once it lay a day in
	// the past).
	clock := time.Now().UTC()
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Now: func() time.Time { return clock },
		Enqueue: func(context.Context, string, string) error { return nil }})
	sub := store.Subscription{TenantID: e.TenantA.ID, Service: exposure.ServiceCode, Enabled: true, ReportFrequency: "weekly"}
	if err := e.Store.Services().Put(ctx, &sub); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.0/30"}); err != nil {
		t.Fatal(err)
	}
	latest := func() store.DiscoveryRun {
		t.Helper()
		runs, err := e.Store.DiscoveryRuns().List(ctx, e.TenantA.ID, store.Page{Limit: 1})
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %+v, %v", runs, err)
		}
		return runs[0]
	}
	for _, want := range []bool{true, false} {
		r, err := svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "127.0.0.1", Ports: "22", HostDiscovery: want})
		if err != nil {
			t.Fatal(err)
		}
		if exposure.RunHostDiscovery(r) != want {
			t.Fatalf("manual run options %q", r.Options)
		}
		clock = clock.Add(8 * 24 * time.Hour)
		if n, err := svc.StartDue(ctx); err != nil || n != 1 {
			t.Fatalf("due: %d, %v", n, err)
		}
		if got := latest(); got.ID == r.ID || exposure.RunHostDiscovery(got) != want {
			t.Fatalf("scheduled run after host discovery %v: options %q", want, got.Options)
		}
		clock = clock.Add(time.Hour)
	}
}
