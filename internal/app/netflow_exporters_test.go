package app_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// relayFrom has softflowd export a capture as NetFlow version to a local
// socket and sends every datagram it wrote, unchanged, to collector from
// the loopback address src (softflowd has no option for its source
// address). It returns how many datagrams it sent.
func relayFrom(t *testing.T, softflowd, version, src, collector string) int {
	t.Helper()
	in, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	laddr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(src, "0"))
	if err != nil {
		t.Fatal(err)
	}
	raddr, err := net.ResolveUDPAddr("udp", collector)
	if err != nil {
		t.Fatal(err)
	}
	outc, err := net.DialUDP("udp", laddr, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = outc.Close() }()
	if out, err := exec.Command(softflowd, "-d", "-r", loopbackPcap, "-n", in.LocalAddr().String(), "-v", version).CombinedOutput(); err != nil { // #nosec G204 -- test tool
		t.Fatalf("softflowd -v %s: %v\n%s", version, err, out)
	}
	// softflowd has written every datagram when it exits: they wait in
	// the socket's buffer.
	buf := make([]byte, 65535)
	n := 0
	for {
		if err := in.SetReadDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		k, _, err := in.ReadFrom(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := outc.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		n++
		// Pace the datagrams a little so the collector's socket buffer
		// never overflows on a loaded machine.
		time.Sleep(time.Millisecond)
	}
}

// metric returns a sample of the node's metrics, by name and label value.
func metric(t *testing.T, a *app.App, name, result string) float64 {
	t.Helper()
	mfs, err := a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

// TestNetFlowExportersToTenants: one collector serves two tenants. The
// platform maps exporter 127.0.0.2 to acme and 127.0.0.0/24 to globex
// (the longer prefix wins for 127.0.0.2); softflowd exports the same
// capture three times, from 127.0.0.2 (NetFlow v9), 127.0.0.3 (IPFIX)
// and, unmapped, from 127.0.1.4 (NetFlow v9). Each mapped
// tenant gets exactly one export's flows (tshark's packet counts per
// conversation), and the unmapped exporter's datagrams are dropped and
// counted in vigil_netflow_datagrams_total{result="unknown_exporter"}.
func TestNetFlowExportersToTenants(t *testing.T) {
	softflowd, tshark := lookTool(t, "softflowd"), lookTool(t, "tshark")
	want := tsharkConversations(t, tshark, loopbackPcap)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.NetFlowUDP, cfg.NetFlowTenant = "127.0.0.1:0", ""
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	globex, err := a.Tenants.CreateTenant(actx, tenant.TenantInput{Slug: "globex", Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Traffic.PutExporter(actx, "127.0.0.2", "acme", "core router"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Traffic.PutExporter(actx, "127.0.0.0/24", globex.ID, "edge probes"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	<-addrc
	defer func() { cancel(); <-done }()
	collector := a.NetFlowAddr.String()

	relayFrom(t, softflowd, "9", "127.0.0.2", collector)
	relayFrom(t, softflowd, "10", "127.0.0.3", collector)
	unknown := relayFrom(t, softflowd, "9", "127.0.1.4", collector)

	flows := func(tenantID string) map[string]int64 {
		t.Helper()
		evs, err := a.Store.Events().Search(actx, tenantID, store.EventQuery{Terms: []store.FieldTerm{{Field: "format", Value: "netflow"}},
			Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, e := range evs {
			f := func(k string) string { return fmt.Sprint(e.Fields[k]) }
			got[convKey(f("network.transport"), f("source.ip"), f("source.port"), f("destination.ip"), f("destination.port"))] +=
				int64(e.Fields["source.packets"].(float64))
		}
		return got
	}
	same := func(got map[string]int64) bool {
		if len(got) != len(want) {
			return false
		}
		for k, n := range want {
			if got[k] != n {
				return false
			}
		}
		return true
	}
	// Wait for the spool to reach the store, asserting nothing on time.
	var gotA, gotB map[string]int64
	for range 300 {
		gotA, gotB = flows(acme.ID), flows(globex.ID)
		if same(gotA) && same(gotB) && metric(t, a, "vigil_netflow_datagrams_total", "unknown_exporter") == float64(unknown) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !same(gotA) {
		t.Errorf("acme (exporter 127.0.0.2): packets per conversation %v, tshark %v", gotA, want)
	}
	if !same(gotB) {
		t.Errorf("globex (exporter 127.0.0.3): packets per conversation %v, tshark %v", gotB, want)
	}
	if unknown == 0 {
		t.Fatal("the unmapped exporter sent nothing")
	}
	if got := metric(t, a, "vigil_netflow_datagrams_total", "unknown_exporter"); got != float64(unknown) {
		t.Errorf("unknown exporter datagrams counted %v, sent %d", got, unknown)
	}
	// No other tenant got anything.
	ts, err := a.Store.Tenants().List(actx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x.ID != acme.ID && x.ID != globex.ID && len(flows(x.ID)) > 0 {
			t.Errorf("tenant %s got flows", x.Slug)
		}
	}
}
