package compromise_test

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/compromise"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestAnalyseCollected: access log lines arrive through the log pipeline,
// a third parsed as access logs at ingest, a third as an agent ships them
// (JSON with the line in event.original), a third over syslog. The analysis of the window
// finds the same hits as an upload of the same file, runs once per
// window, and leaves out lines of a host that is no asset and lines of
// another window.
func TestAnalyseCollected(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	shop, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "application", Name: "shop-web", Address: "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	reg := logs.NewRegistry()
	access, err := reg.Lookup("access")
	if err != nil {
		t.Fatal(err)
	}
	auto, err := reg.Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	var evs []logs.Event
	lines := bytes.Split(bytes.TrimSpace(accessLog()), []byte("\n"))
	for i, line := range lines {
		var ev logs.Event
		if i%3 == 2 {
			// nginx logging over syslog, stamped when it logged the line.
			parsed, perr := logs.ParseRecord(access, line, logs.Meta{}, false)
			if perr != nil {
				t.Fatal(perr)
			}
			ev, err = logs.ParseRecord(auto, append([]byte("<190>"+parsed.Time.Format(time.Stamp)+" shop-web nginx: "), line...),
				// RFC 3164 has no year: it comes from the receive time.
				logs.Meta{Tenant: e.TenantA.ID, Source: "10.0.0.5:514", Received: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}, false)
			if err == nil && ev.Format != "rfc3164+access" {
				t.Fatalf("line %d over syslog parsed as %s", i+1, ev.Format)
			}
		} else if i%3 == 0 {
			ev, err = logs.ParseRecord(access, line, logs.Meta{Tenant: e.TenantA.ID, Source: "10.0.0.5:514"}, false)
			if err == nil {
				ev.Fields["host.name"] = "SHOP-WEB"
			}
		} else {
			// The agent parsed the line on the host and stamps its time.
			parsed, perr := logs.ParseRecord(access, line, logs.Meta{}, false)
			if perr != nil {
				t.Fatal(perr)
			}
			shipped, merr := json.Marshal(map[string]any{"@timestamp": parsed.Time.Format(time.RFC3339Nano), "host.name": "10.0.0.5", "event.module": "access",
				"event.original": string(line), "log.file.path": "/var/log/nginx/access.log"})
			if merr != nil {
				t.Fatal(merr)
			}
			ev, err = logs.ParseRecord(auto, shipped, logs.Meta{Tenant: e.TenantA.ID, Source: "agent"}, false)
		}
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		evs = append(evs, ev)
	}
	// A host that is no asset, and a line of the next day.
	stray, err := logs.ParseRecord(access, lines[len(lines)-2], logs.Meta{Tenant: e.TenantA.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	stray.Fields["host.name"] = "unknown-host"
	late, err := logs.ParseRecord(access, bytes.Replace(lines[len(lines)-2], []byte("29/Nov/2026"), []byte("30/Nov/2026"), 1), logs.Meta{Tenant: e.TenantA.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	late.Fields["host.name"] = "shop-web"
	evs = append(evs, stray, late)
	if err := pipeline.New(e.Store, pipeline.Options{}).Write(ctx, evs); err != nil {
		t.Fatal(err)
	}

	s := compromise.NewService(e.Store, e.Audit, nil)
	from := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	runs, err := s.AnalyseCollected(ctx, e.TenantA.ID, from, from.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].AssetID != shop.ID || runs[0].Name != compromise.CollectedName(from, from.Add(24*time.Hour)) {
		t.Fatalf("runs %+v", runs)
	}
	// The oracle: the same file uploaded.
	up, err := s.Analyze(ctx, e.TenantA.ID, shop.ID, []compromise.File{{Name: "access.log", Data: accessLog()}})
	if err != nil {
		t.Fatal(err)
	}
	_, got, _, err := s.Get(ctx, e.TenantA.ID, runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	_, want, _, err := s.Get(ctx, e.TenantA.ID, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stats.Records != len(lines) || got.Stats.Records != want.Stats.Records || len(got.Hits) != len(want.Hits) || len(got.Hits) == 0 {
		t.Fatalf("collected: %d records, %d hits; uploaded: %d records, %d hits; lines %d", got.Stats.Records, len(got.Hits),
			want.Stats.Records, len(want.Hits), len(lines))
	}
	for i := range want.Hits {
		if got.Hits[i].Score != want.Hits[i].Score || got.Hits[i].Line != want.Hits[i].Line {
			t.Errorf("hit %d: collected %+v, uploaded %+v", i, got.Hits[i], want.Hits[i])
		}
	}
	// Once per window.
	again, err := s.AnalyseCollected(ctx, e.TenantA.ID, from, from.Add(24*time.Hour))
	if err != nil || len(again) != 0 {
		t.Fatalf("second analysis of the window: %d runs, %v", len(again), err)
	}
	// The customer of another tenant may not run it.
	if _, err := s.AnalyseCollected(e.As(t.Context(), e.CustomerB), e.TenantA.ID, from, from.Add(24*time.Hour)); err == nil {
		t.Fatal("a customer of another tenant analysed tenant A's logs")
	}
}

// TestAnalyseCollectedOnce checks that a system's day is analysed by one
// node only: while another holds the lease nothing runs, and two services
// on one store racing for the same day make one run between them.
func TestAnalyseCollectedOnce(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	shop, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "application", Name: "shop-web", Address: "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	access, err := logs.NewRegistry().Lookup("access")
	if err != nil {
		t.Fatal(err)
	}
	var evs []logs.Event
	for i, line := range bytes.Split(bytes.TrimSpace(accessLog()), []byte("\n")) {
		ev, err := logs.ParseRecord(access, line, logs.Meta{Tenant: e.TenantA.ID, Source: "10.0.0.5:514"}, false)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		ev.Fields["host.name"] = "shop-web"
		evs = append(evs, ev)
	}
	if err := pipeline.New(e.Store, pipeline.Options{}).Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	name := compromise.CollectedName(from, to)

	// Another node holds the day.
	now := time.Now()
	if ok, err := e.Store.Weblog().Claim(ctx, e.TenantA.ID, shop.ID, name, now, now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("claim as another node: %v %v", ok, err)
	}
	s1 := compromise.NewService(e.Store, e.Audit, nil)
	runs, err := s1.AnalyseCollected(ctx, e.TenantA.ID, from, to)
	if err != nil || len(runs) != 0 {
		t.Fatalf("analysis while another node holds the day: %d runs, %v", len(runs), err)
	}
	// It died: its lease is given back (as when it expires).
	if err := e.Store.Weblog().Release(ctx, e.TenantA.ID, shop.ID, name); err != nil {
		t.Fatal(err)
	}

	s2 := compromise.NewService(e.Store, e.Audit, nil)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i, s := range []*compromise.Service{s1, s2} {
		wg.Go(func() {
			runs, err := s.AnalyseCollected(ctx, e.TenantA.ID, from, to)
			counts[i], errs[i] = len(runs), err
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	stored, err := e.Store.Weblog().ListRuns(ctx, e.TenantA.ID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if counts[0]+counts[1] != 1 || len(stored) != 1 {
		t.Fatalf("racing nodes made %d and %d runs, %d stored; want one in all", counts[0], counts[1], len(stored))
	}
}
