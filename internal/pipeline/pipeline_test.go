package pipeline_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
)

const sshRule = `title: SSH failed password
id: 5d2a1f0e-7c3b-4d8e-9a61-0b4f3c2e9d10
status: test
level: medium
tags: [attack.credential-access, attack.t1110]
logsource: {product: linux, service: sshd}
detection:
  keywords: ['Failed password']
  condition: keywords
`

func parse(t *testing.T, tenant string, lines ...string) []logs.Event {
	t.Helper()
	p, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	var out []logs.Event
	for _, l := range lines {
		ev, err := p.Parse([]byte(l), logs.Meta{Source: "192.0.2.1:514", Tenant: tenant, Received: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, ev)
	}
	return out
}

func TestStoreDetectAlert(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	rule, err := detect.ParseRule([]byte(sshRule))
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(e.Store, pipeline.Options{Rules: detect.NewEngine([]*detect.Rule{rule})})
	var lines []string
	for i := range 5 {
		lines = append(lines, fmt.Sprintf("Nov 29 08:00:%02d web-01 sshd[4242]: Failed password for root from 203.0.113.9 port %d ssh2", i, 50000+i))
	}
	lines = append(lines, "Nov 29 08:00:09 web-01 sshd[4242]: Accepted publickey for deploy from 198.51.100.7 port 50100 ssh2",
		"Nov 29 08:00:10 web-01 sshd[4242]: Failed password for <script>alert(1)</script> from 203.0.113.9 port 50200 ssh2\x00")
	batch := parse(t, e.TenantA.ID, lines...)
	if err := p.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The same batch again (a redelivery): stored once, alerted once.
	if err := p.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	n, err := e.Store.Events().Count(ctx, e.TenantA.ID, store.EventQuery{})
	if err != nil || n != len(lines) {
		t.Fatalf("stored %d (%v), want %d", n, err, len(lines))
	}
	alerts, err := e.Store.Alerts().List(ctx, e.TenantA.ID, store.AlertFilter{})
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts %d, %v", len(alerts), err)
	}
	a := alerts[0]
	if a.Count != 6 || a.RuleID != rule.ID || a.Host != "web-01" || a.Level != "medium" || len(a.EventIDs) != 6 {
		t.Fatalf("alert %+v", a)
	}
	st := p.Stats()
	if st.Stored != int64(len(lines)) || st.Matched != 6 || st.Alerts != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The hostile line is stored as received, NUL made storable.
	hits, err := e.Store.Events().Search(ctx, e.TenantA.ID, store.EventQuery{Text: "<script>"})
	if err != nil || len(hits) != 1 {
		t.Fatalf("search %d, %v", len(hits), err)
	}
	// Tenant B sees none of it.
	if n, _ := e.Store.Events().Count(ctx, e.TenantB.ID, store.EventQuery{}); n != 0 {
		t.Fatalf("tenant B has %d events", n)
	}
	// An event without a tenant is refused and nothing of its batch stored.
	bad := parse(t, "", "Nov 29 08:01:00 web-02 sshd[1]: Failed password for x from 203.0.113.1 port 1 ssh2")
	if err := p.Write(ctx, bad); !errors.Is(err, pipeline.ErrNoTenant) {
		t.Fatalf("no tenant: %v", err)
	}
}

func TestIntelMatchRaisesAlert(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	m := intel.NewMatcher(intel.MatcherOptions{})
	if err := m.Add(intel.Indicator{Type: intel.TypeIPv4, Value: "203.0.113.9", Confidence: 90, Source: "partner feed",
		Tags: []string{"botnet"}}); err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(e.Store, pipeline.Options{Intel: m})
	batch := parse(t, e.TenantA.ID,
		"Nov 29 08:00:00 web-01 sshd[1]: Failed password for root from 203.0.113.9 port 50000 ssh2",
		"Nov 29 08:00:01 web-01 sshd[1]: Failed password for root from 198.51.100.1 port 50001 ssh2")
	if err := p.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	alerts, err := e.Store.Alerts().List(ctx, e.TenantA.ID, store.AlertFilter{})
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts %d, %v", len(alerts), err)
	}
	a := alerts[0]
	if a.RuleID != "intel:ipv4:203.0.113.9" || a.Level != "high" || a.Count != 1 {
		t.Fatalf("intel alert %+v", a)
	}
}
