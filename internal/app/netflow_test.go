package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
)

const loopbackPcap = "../traffic/testdata/loopback.pcap"

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, name)
	}
	return p
}

// tsharkConversations is tshark's count of frames per TCP and UDP
// conversation of a capture, keyed "proto addr:port addr:port" with the
// two ends in a fixed order.
func tsharkConversations(t *testing.T, tshark, pcap string) map[string]int64 {
	t.Helper()
	out, err := exec.Command(tshark, "-r", pcap, "-T", "fields", "-e", "ip.proto",
		"-e", "ip.src", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "udp.dstport").Output() // #nosec G204 -- test tool
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	conv := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 7 {
			continue
		}
		proto := map[string]string{"6": "tcp", "17": "udp"}[f[0]]
		if proto == "" {
			continue
		}
		conv[convKey(proto, f[1], f[2]+f[3], f[4], f[5]+f[6])]++
	}
	return conv
}

func convKey(proto, a, ap, b, bp string) string {
	x, y := net.JoinHostPort(a, ap), net.JoinHostPort(b, bp)
	if y < x {
		x, y = y, x
	}
	return proto + " " + x + " " + y
}

// TestNetFlowCollectorWithSoftflowd: softflowd, a real exporter, reads a
// capture and sends its flows to a node's collector as NetFlow v9 and then
// as IPFIX. Every flow record is stored as an event of the tenant, and the
// packets of each TCP and UDP conversation add up to what tshark counts in
// the capture, once per export. The hourly analysis of collected events
// reads them all as flows.
func TestNetFlowCollectorWithSoftflowd(t *testing.T) {
	softflowd, tshark := lookTool(t, "softflowd"), lookTool(t, "tshark")
	if config.Default().NetFlowUDP != "" {
		t.Fatal("the flow collector is on by default")
	}
	want := tsharkConversations(t, tshark, loopbackPcap)
	if len(want) < 10 {
		t.Fatalf("tshark found %d conversations in the capture", len(want))
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.NetFlowUDP, cfg.NetFlowTenant = "127.0.0.1:0", "acme"
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	<-addrc
	defer func() { cancel(); <-done }()
	collector := a.NetFlowAddr.String()

	flows := func() []store.Event {
		t.Helper()
		evs, err := a.Store.Events().Search(actx, acme.ID, store.EventQuery{Terms: []store.FieldTerm{{Field: "format", Value: "netflow"}},
			Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	records := 0
	var first, last time.Time // of the stored flows
	for round, version := range []string{"9", "10"} {
		out, err := exec.Command(softflowd, "-d", "-r", loopbackPcap, "-n", collector, "-v", version).CombinedOutput() // #nosec G204 -- test tool
		if err != nil {
			t.Fatalf("softflowd -v %s: %v\n%s", version, err, out)
		}
		// softflowd has sent every datagram when it exits; wait for the
		// spool to reach the store, with no assertion on how long.
		var evs []store.Event
		for i := 0; i < 300; i++ {
			evs = flows()
			if len(evs) > records && len(evs)%2 == 0 && (round == 0 || len(evs) == 2*records) {
				time.Sleep(200 * time.Millisecond)
				if again := flows(); len(again) == len(evs) {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if round == 0 {
			records = len(evs)
		}
		got := map[string]int64{}
		for _, e := range evs {
			f := func(k string) string { return fmt.Sprint(e.Fields[k]) }
			got[convKey(f("network.transport"), f("source.ip"), f("source.port"), f("destination.ip"), f("destination.port"))] +=
				int64(e.Fields["source.packets"].(float64))
			// Replaying a capture, softflowd stamps the export with the
			// current clock and the flows with the capture's, so flow
			// times say nothing about the decoder here; they must exist.
			if e.Time.IsZero() {
				t.Errorf("flow %s has no time", e.Original)
			}
			if first.IsZero() || e.Time.Before(first) {
				first = e.Time
			}
			if e.Time.After(last) {
				last = e.Time
			}
		}
		for k, n := range want {
			if got[k] != n*int64(round+1) {
				t.Errorf("after NetFlow v%s: %s has %d packets in flow records, tshark counts %d in the capture (×%d exports)", version, k, got[k], n, round+1)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("after NetFlow v%s: flow %s is not a conversation of the capture", version, k)
			}
		}
	}
	if t.Failed() {
		return
	}
	from, to := first.Truncate(time.Hour), last.Truncate(time.Hour).Add(time.Hour)
	an, ran, err := a.Traffic.AnalyseEvents(actx, acme.ID, from, to)
	if err != nil || !ran {
		t.Fatalf("analysis of collected events: ran=%v, %v", ran, err)
	}
	if an.Status != store.TrafficDone || an.Records != int64(2*records) || an.Skipped != 0 {
		t.Fatalf("analysis %s: %d records, %d skipped, want %d flow records and none skipped (%s)", an.Status, an.Records, an.Skipped, 2*records, an.Error)
	}
}
