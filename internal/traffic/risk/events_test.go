package risk_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// TestCollectedEvents: Suricata EVE and netfilter lines received by the
// log pipeline are analysed over a window, once.
func TestCollectedEvents(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := systemCtx(t.Context())
	reg := logs.NewRegistry()
	parse := func(format string, line []byte, received time.Time) logs.Event {
		t.Helper()
		p, err := reg.Lookup(format)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := p.Parse(line, logs.Meta{Source: "test", Tenant: e.TenantA.ID, Received: received})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return ev
	}
	var batch []logs.Event
	data, err := os.ReadFile(filepath.Join(corpus, "slips", "test6-malicious.suricata.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The first 1,000 records of the Slips EVE sample (the whole file is
	// read by TestEVEParsesCompletely).
	const records = 1000
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	var first, last time.Time
	for n := 0; n < records && sc.Scan(); n++ {
		ev := parse("suricata", bytes.Clone(sc.Bytes()), time.Now())
		if first.IsZero() || ev.Time.Before(first) {
			first = ev.Time
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
		batch = append(batch, ev)
	}
	// An outside host probes 30 ports of the tenant's web server, blocked
	// by its firewall, an hour after the Suricata records.
	scanAt := last.Add(time.Hour)
	for i := range 30 {
		line := fmt.Sprintf("[UFW BLOCK] IN=eth0 OUT= MAC= SRC=198.51.100.23 DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=49 ID=%d DF PROTO=TCP SPT=40000 DPT=%d WINDOW=29200 RES=0x00 SYN URGP=0", i, 1000+i)
		batch = append(batch, parse("netfilter", []byte(line), scanAt.Add(time.Duration(i)*time.Second)))
	}
	pl := pipeline.New(e.Store, pipeline.Options{})
	for i := 0; i < len(batch); i += 500 {
		if err := pl.Write(ctx, batch[i:min(i+500, len(batch))]); err != nil {
			t.Fatal(err)
		}
	}

	s := risk.NewService(e.Store, e.Audit, risk.Options{})
	from, to := first.Truncate(time.Hour), scanAt.Add(2*time.Hour).Truncate(time.Hour)
	a, ran, err := s.AnalyseEvents(ctx, e.TenantA.ID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if !ran || a.Status != store.TrafficDone || a.Kind != risk.KindEvents || a.Lines != records+30 || a.Skipped != 0 {
		t.Fatalf("analysis %+v, want %d lines, none skipped", a, records+30)
	}
	fs, err := s.Findings(ctx, e.TenantA.ID, store.TrafficFindingFilter{AnalysisID: a.ID, Class: "scan_vertical"})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(fs, func(f store.TrafficFinding) bool { return f.Src == "198.51.100.23" })
	if i < 0 || fs[i].Dst != "10.0.0.5" || fs[i].Distinct != 30 || fs[i].Category != risk.CategoryExternalAttack {
		t.Fatalf("the firewall's scan is not among the vertical scans %+v", fs)
	}
	// The scan's trace comes from the collected events too.
	events, _, err := s.Trace(ctx, e.TenantA.ID, fs[i].ID)
	if err != nil || len(events) != 30 {
		t.Fatalf("trace: %d events, want the 30 probes; %v", len(events), err)
	}
	// The window is analysed once; another tenant has nothing to analyse.
	if _, ran, err := s.AnalyseEvents(ctx, e.TenantA.ID, from, to); err != nil || ran {
		t.Fatalf("second analysis of the window: ran %v, %v", ran, err)
	}
	if _, ran, err := s.AnalyseEvents(ctx, e.TenantB.ID, from, to); err != nil || ran {
		t.Fatalf("tenant B: ran %v, %v", ran, err)
	}
}
