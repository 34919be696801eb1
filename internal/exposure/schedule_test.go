package exposure_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestDiff compares two hand-written runs.
func TestDiff(t *testing.T) {
	prev := exposure.RunResult{Open: []exposure.Port{
		{Host: "10.0.0.9", Port: 22, Service: "ssh"},
		{Host: "10.0.0.10", Port: 443, Service: "https", TLS: "CN=old"},
		{Host: "10.0.0.10", Port: 80, Service: "http"},
		{Host: "10.0.0.2", Port: 3389, Service: "rdp"},
	}}
	cur := exposure.RunResult{Open: []exposure.Port{
		{Host: "10.0.0.9", Port: 22, Service: "ssh"},
		{Host: "10.0.0.10", Port: 443, Service: "https", TLS: "CN=new"},
		{Host: "10.0.0.10", Port: 8080, Service: "http"},
		{Host: "10.0.0.3", Port: 6379, Service: "redis"},
	}}
	d := exposure.Diff(prev, cur)
	key := func(ps []exposure.Port) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Host+":"+strconv.Itoa(int(p.Port)))
		}
		return out
	}
	if !slices.Equal(d.NewHosts, []string{"10.0.0.3"}) || !slices.Equal(d.GoneHosts, []string{"10.0.0.2"}) {
		t.Errorf("hosts new %v gone %v", d.NewHosts, d.GoneHosts)
	}
	if !slices.Equal(key(d.Opened), []string{"10.0.0.3:6379", "10.0.0.10:8080"}) {
		t.Errorf("opened %v (want numeric host order)", key(d.Opened))
	}
	if !slices.Equal(key(d.Closed), []string{"10.0.0.2:3389", "10.0.0.10:80"}) {
		t.Errorf("closed %v", key(d.Closed))
	}
	if len(d.Changed) != 1 || d.Changed[0].Before.TLS != "CN=old" || d.Changed[0].After.TLS != "CN=new" {
		t.Errorf("changed %+v", d.Changed)
	}
	if d.Empty() || !exposure.Diff(cur, cur).Empty() {
		t.Error("Empty is wrong")
	}
}

// TestChangesBetweenRealRuns scans a loopback host twice with a port
// closed and another opened in between; the second run's changes name
// exactly those two ports.
func TestChangesBetweenRealRuns(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	clock := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Now: func() time.Time { return clock }, Rate: 2000, Timeout: 300 * time.Millisecond})
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	stay := listen(t, "127.0.0.1")
	goneLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := goneLn.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := goneLn.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	// A free port for the one that opens later.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	later := probe.Addr().(*net.TCPAddr).Port
	_ = probe.Close()
	ports := strconv.Itoa(stay) + "," + strconv.Itoa(gone) + "," + strconv.Itoa(later)

	run := func() (store.DiscoveryRun, exposure.RunResult) {
		r := store.DiscoveryRun{TenantID: e.TenantA.ID, Targets: "127.0.0.1", Ports: ports, Status: exposure.StatusPending, CreatedAt: clock}
		if err := e.Store.DiscoveryRuns().Create(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if err := svc.Run(ctx, e.TenantA.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		got, res, err := svc.Get(ctx, e.TenantA.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got, res
	}
	first, firstRes := run()
	if _, ok, err := svc.Changes(ctx, e.TenantA.ID, first, firstRes); err != nil || ok {
		t.Fatalf("first run has a previous one: %v %v", ok, err)
	}
	_ = goneLn.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(later))
	if err != nil {
		t.Skipf("port %d taken meanwhile: %v", later, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	clock = clock.Add(time.Hour)
	second, secondRes := run()
	d, ok, err := svc.Changes(ctx, e.TenantA.ID, second, secondRes)
	if err != nil || !ok || d.PreviousID != first.ID {
		t.Fatalf("changes: ok %v prev %q, %v", ok, d.PreviousID, err)
	}
	if len(d.Opened) != 1 || int(d.Opened[0].Port) != later || len(d.Closed) != 1 || int(d.Closed[0].Port) != gone ||
		len(d.NewHosts)+len(d.GoneHosts) != 0 {
		t.Errorf("diff %+v, want opened %d and closed %d", d, later, gone)
	}
	// The other tenant's customer may not read it.
	if _, _, err := svc.Changes(e.As(t.Context(), e.CustomerB), e.TenantA.ID, second, secondRes); err == nil {
		t.Error("customer of B read A's changes")
	}
}

// TestStartDue: the subscription's frequency decides when the whole
// declared space is scanned again.
func TestStartDue(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	// The store stamps runs with the real time, so the service's clock
	// starts there (a fixed date made the test fail once it lay a day in
	// the past).
	clock := time.Now().UTC()
	var mu sync.Mutex
	var queued []string
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Now: func() time.Time { return clock },
		Enqueue: func(_ context.Context, tenantID, runID string) error {
			mu.Lock()
			defer mu.Unlock()
			queued = append(queued, tenantID+"/"+runID)
			return nil
		}})
	due := func() int {
		t.Helper()
		n, err := svc.StartDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// No subscription: nothing.
	if n := due(); n != 0 {
		t.Fatalf("started %d without a subscription", n)
	}
	sub := store.Subscription{TenantID: e.TenantA.ID, Service: exposure.ServiceCode, Enabled: true, ReportFrequency: "weekly"}
	if err := e.Store.Services().Put(ctx, &sub); err != nil {
		t.Fatal(err)
	}
	// Subscribed but no declared address space: skipped quietly.
	if n := due(); n != 0 {
		t.Fatalf("started %d without an address space", n)
	}
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.0/30"}); err != nil {
		t.Fatal(err)
	}
	if n := due(); n != 1 {
		t.Fatalf("first due: started %d", n)
	}
	runs, err := e.Store.DiscoveryRuns().List(ctx, e.TenantA.ID, store.Page{Limit: 5})
	if err != nil || len(runs) != 1 || runs[0].Targets != "" || runs[0].Ports != exposure.DefaultPorts {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if n := due(); n != 0 {
		t.Fatalf("started %d again at once", n)
	}
	clock = clock.Add(6 * 24 * time.Hour)
	if n := due(); n != 0 {
		t.Fatalf("started %d after 6 days of a weekly subscription", n)
	}
	clock = clock.Add(2 * 24 * time.Hour)
	if n := due(); n != 1 {
		t.Fatalf("started %d after 8 days", n)
	}
	sub.ReportFrequency = "per-engagement"
	if err := e.Store.Services().Put(ctx, &sub); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(400 * 24 * time.Hour)
	if n := due(); n != 0 {
		t.Fatalf("per-engagement scheduled %d", n)
	}
	if len(queued) != 2 {
		t.Errorf("queued %v", queued)
	}
}
