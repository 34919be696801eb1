package exposure_test

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// listen starts a TCP server on addr that greets like an SSH server.
func listen(t *testing.T, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
			_ = c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRunMergesIntoInventory(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Now: func() time.Time { return now }, Rate: 2000,
		Timeout: 300 * time.Millisecond})

	// Nothing is scanned before the tenant declares its address space.
	_, err := svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "127.0.0.1", Ports: "22"})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "targets" {
		t.Fatalf("start without a scope: %v", err)
	}
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.0/29"}); err != nil {
		t.Fatal(err)
	}
	known, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "host", Name: "known-box", Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	old, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "host", Name: "forgotten", Address: "127.0.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	old.LastSeenAt = now.Add(-90 * 24 * time.Hour)
	if err := e.Store.Assets().Update(ctx, &old); err != nil {
		t.Fatal(err)
	}
	p1 := listen(t, "127.0.0.1")
	p2 := listen(t, "127.0.0.2")
	ports := strconv.Itoa(p1) + "," + strconv.Itoa(p2)

	// Outside the declared space: refused before anything is dialled.
	_, err = svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "127.0.0.9", Ports: ports})
	if !errors.As(err, &fe) || fe.Code != store.CodeNotInTenant {
		t.Fatalf("out of scope: %v", err)
	}

	run := store.DiscoveryRun{TenantID: e.TenantA.ID, Targets: "127.0.0.1-127.0.0.3", Ports: ports, Status: exposure.StatusPending}
	if err := e.Store.DiscoveryRuns().Create(ctx, &run); err != nil {
		t.Fatal(err)
	}
	if err := svc.Run(ctx, e.TenantA.ID, run.ID); err != nil {
		t.Fatal(err)
	}
	got, res, err := svc.Get(ctx, e.TenantA.ID, run.ID)
	if err != nil || got.Status != exposure.StatusDone {
		t.Fatalf("run %+v, %v", got, err)
	}
	hosts := func(cs []exposure.AssetChange) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Address)
		}
		return out
	}
	if !slices.Equal(hosts(res.Known), []string{"127.0.0.1"}) || !slices.Equal(hosts(res.New), []string{"127.0.0.2"}) ||
		!slices.Equal(hosts(res.Zombies), []string{"127.0.0.3"}) {
		t.Fatalf("known %v new %v zombies %v", hosts(res.Known), hosts(res.New), hosts(res.Zombies))
	}
	if len(res.Open) != 2 || res.Open[0].Service != "ssh" {
		t.Fatalf("open %+v", res.Open)
	}
	// The inventory now knows the new host, the known one was seen, the
	// forgotten one is tagged.
	a, err := e.Assets.Get(ctx, e.TenantA.ID, known.ID)
	if err != nil || !a.LastSeenAt.Equal(now) || a.Attributes["open_ports"] != fmt.Sprintf("%d/ssh", p1) {
		t.Fatalf("known asset %+v, %v", a, err)
	}
	n, err := e.Assets.Get(ctx, e.TenantA.ID, res.New[0].AssetID)
	if err != nil || !slices.Contains(n.Tags, "unknown") || n.Kind != "host" {
		t.Fatalf("new asset %+v, %v", n, err)
	}
	z, _ := e.Assets.Get(ctx, e.TenantA.ID, old.ID)
	if !slices.Contains(z.Tags, "zombie") {
		t.Fatalf("zombie not tagged: %+v", z)
	}
	// Running the same run again does nothing: it is finished.
	if err := svc.Run(ctx, e.TenantA.ID, run.ID); err != nil {
		t.Fatal(err)
	}
	// Another tenant sees nothing.
	if _, _, err := svc.Get(ctx, e.TenantB.ID, run.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B reads A's run: %v", err)
	}
}

func TestReportDocumentValidates(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Rate: 2000, Timeout: 300 * time.Millisecond})
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	p := listen(t, "127.0.0.1")
	closed, err := net.Listen("tcp", "127.0.0.1:0") // a port known closed once released
	if err != nil {
		t.Fatal(err)
	}
	cp := closed.Addr().(*net.TCPAddr).Port
	_ = closed.Close()
	run := store.DiscoveryRun{TenantID: e.TenantA.ID, Targets: "127.0.0.1", Ports: strconv.Itoa(p) + "," + strconv.Itoa(cp), Status: exposure.StatusPending}
	if err := e.Store.DiscoveryRuns().Create(ctx, &run); err != nil {
		t.Fatal(err)
	}
	if err := svc.Run(ctx, e.TenantA.ID, run.ID); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		doc, err := svc.ReportDocument(ctx, e.TenantA, run.ID, lang)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if doc.Summary[2].Value != "1" {
			t.Fatalf("%s: open ports %s, want the one listener", lang, doc.Summary[2].Value)
		}
	}
}
