package risk_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// corpus holds the shared traffic samples (see each directory's SOURCE).
const corpus = "../../../../shared/corpus/traffic"

// ritaFiles are the Zeek logs of RITA's proxy sample the engine reads.
func ritaFiles(t *testing.T) []risk.File {
	t.Helper()
	var fs []risk.File
	for _, n := range []string{"conn.log", "dns.log", "http.log", "ssl.log", "x509.log", "files.log"} {
		b, err := os.ReadFile(filepath.Join(corpus, "rita-proxy", n))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, risk.File{Name: n, Data: b})
	}
	return fs
}

func systemCtx(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
}

// TestRITABeaconBecomesOneAlert: RITA's documentation scores 10.136.0.18
// → www.honestimnotevil.com 0.979 over 357 connections, its top beacon;
// uploaded to the service it must be the top finding, among compromised
// hosts, and raise one alert however many times the data is analysed.
func TestRITABeaconBecomesOneAlert(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	var queued []string
	s := risk.NewService(e.Store, e.Audit, risk.Options{Enqueue: func(_ context.Context, tenantID, id string) error {
		queued = append(queued, tenantID+"/"+id)
		return nil
	}})
	a, err := s.Upload(ctx, e.TenantA.ID, risk.KindZeek, ritaFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.TrafficPending || len(queued) != 1 || queued[0] != e.TenantA.ID+"/"+a.ID {
		t.Fatalf("upload: %+v, queued %v", a, queued)
	}
	wctx := systemCtx(t.Context())
	if err := s.Run(wctx, e.TenantA.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	// A redelivered job does nothing.
	if err := s.Run(wctx, e.TenantA.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	got, sum, err := s.Get(ctx, e.TenantA.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.TrafficDone || got.Error != "" || got.Skipped != 0 || got.Findings == 0 || got.From.IsZero() {
		t.Fatalf("analysis %+v", got)
	}
	if len(sum.Hosts) == 0 || sum.Hosts[0].Host.String() != "10.136.0.18" {
		t.Fatalf("host ranking %+v", sum.Hosts)
	}
	fs, err := s.Findings(ctx, e.TenantA.ID, store.TrafficFindingFilter{AnalysisID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	top := fs[0]
	if top.Class != "beacon" || top.Src != "10.136.0.18" || top.Domain != "www.honestimnotevil.com" ||
		top.Category != risk.CategoryCompromised || top.Technique != "T1071" || top.AlertID == "" {
		t.Fatalf("top finding %+v", top)
	}
	for _, f := range fs {
		if f.Domain == "www.google.com" && f.AlertID != "" {
			t.Errorf("www.google.com (score %.3f) raised an alert", f.Score)
		}
	}
	al, err := e.Store.Alerts().Get(ctx, e.TenantA.ID, top.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	if al.Host != "10.136.0.18" || al.RuleID != "traffic:beacon" || !strings.Contains(al.RuleTitle, "www.honestimnotevil.com") {
		t.Fatalf("alert %+v", al)
	}
	alerts := func() int {
		n, err := e.Store.Alerts().Count(ctx, e.TenantA.ID, store.AlertFilter{RulePrefix: "traffic:"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := alerts()
	if before != got.Alerts {
		t.Fatalf("%d traffic alerts, analysis says %d", before, got.Alerts)
	}

	// The same data again: same findings, the same alerts, none new.
	b, err := s.Upload(ctx, e.TenantA.ID, risk.KindZeek, ritaFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(wctx, e.TenantA.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if n := alerts(); n != before {
		t.Fatalf("re-analysis raised alerts: %d, then %d", before, n)
	}
	fs2, err := s.Findings(ctx, e.TenantA.ID, store.TrafficFindingFilter{AnalysisID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if fs2[0].Key != top.Key || fs2[0].AlertID != top.AlertID {
		t.Fatalf("re-analysis top %+v, want key %s alert %s", fs2[0], top.Key, top.AlertID)
	}

	// Marked false positive, the finding's alert is closed as one too.
	if err := s.Mark(ctx, e.TenantA.ID, top.ID, store.TrafficFalsePositive, "known <script> updater"); err != nil {
		t.Fatal(err)
	}
	if al, err = e.Store.Alerts().Get(ctx, e.TenantA.ID, top.AlertID); err != nil || al.Status != "false-positive" {
		t.Fatalf("alert after the mark: %+v %v", al, err)
	}
	if err := s.Mark(ctx, e.TenantA.ID, top.ID, "solved", ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown state: %v", err)
	}

	// The trace of the beacon shows the host's connections to the proxy.
	events, _, err := s.Trace(ctx, e.TenantA.ID, top.ID)
	if err != nil {
		t.Fatal(err)
	}
	conns := 0
	for _, ev := range events {
		if ev.Kind == "conn" && ev.Src.String() == "10.136.0.18" {
			conns++
		}
	}
	if conns < 357 {
		t.Fatalf("trace: %d connections of 10.136.0.18 in %d events, want at least the 357 RITA counts", conns, len(events))
	}

	// Another tenant sees none of it.
	if _, _, err := s.Get(ctx, e.TenantB.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant get: %v", err)
	}
	if _, _, err := s.Trace(ctx, e.TenantB.ID, top.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant trace: %v", err)
	}

	// The period's report: the false positive is left out, the analyses
	// are its sources; it renders.
	doc, err := s.ReportDocument(ctx, e.TenantA, got.From.Add(-time.Hour), got.To.Add(time.Hour), "zh-CN")
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := report.Render(ctx, doc, report.FormatHTML, &html, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "流量风险分析报告") || !strings.Contains(html.String(), "10.136.0.18") {
		t.Fatal("report lacks its title or the beacon host")
	}
	var xlsx bytes.Buffer
	if err := report.Render(ctx, doc, report.FormatXLSX, &xlsx, report.Options{}); err != nil || xlsx.Len() == 0 {
		t.Fatalf("xlsx: %v", err)
	}
}

// TestEVEParsesCompletely: the Slips EVE sample is analysed line for line.
func TestEVEParsesCompletely(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	s := risk.NewService(e.Store, e.Audit, risk.Options{})
	data, err := os.ReadFile(filepath.Join(corpus, "slips", "test6-malicious.suricata.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Upload(ctx, e.TenantA.ID, risk.KindEVE, []risk.File{{Name: "eve.json", Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(bytes.Count(data, []byte("\n"))); a.Status != store.TrafficDone || a.Lines != want || a.Skipped != 0 || a.Findings == 0 {
		t.Fatalf("analysis %+v, want %d lines read, none skipped", a, want)
	}
}

// TestPcapAndBadInput: a real pcap is analysed; a file that is no pcap
// fails the analysis with its reason, kept for the analyst.
func TestPcapAndBadInput(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	s := risk.NewService(e.Store, e.Audit, risk.Options{})
	data, err := os.ReadFile(filepath.Join("..", "testdata", "loopback.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Upload(ctx, e.TenantA.ID, risk.KindPcap, []risk.File{{Name: "loopback.pcap", Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.TrafficDone || a.Records == 0 {
		t.Fatalf("pcap analysis %+v", a)
	}
	bad, err := s.Upload(ctx, e.TenantA.ID, risk.KindPcap, []risk.File{{Name: "x.pcap", Data: []byte("<script>alert(1)</script>")}})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Status != store.TrafficFailed || bad.Error == "" {
		t.Fatalf("bad pcap %+v", bad)
	}

	for _, tc := range []struct {
		kind  string
		files []risk.File
		field string
	}{
		{"netflow-v0", []risk.File{{Name: "a", Data: []byte("x")}}, "kind"},
		{risk.KindZeek, nil, "files"},
		{risk.KindZeek, []risk.File{{Name: "passwd", Data: []byte("root")}}, "files"},
		{risk.KindZeek, []risk.File{{Name: "conn.log", Data: []byte("x")}, {Name: "conn.log", Data: []byte("y")}}, "files"},
	} {
		_, err := s.Upload(ctx, e.TenantA.ID, tc.kind, tc.files)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s %d files: %v, want an error on %s", tc.kind, len(tc.files), err, tc.field)
		}
	}

	// Who may: the customer of B neither uploads to A nor to B (read-only).
	for _, tn := range []string{e.TenantA.ID, e.TenantB.ID} {
		_, err := s.Upload(e.As(t.Context(), e.CustomerB), tn, risk.KindPcap, []risk.File{{Name: "p", Data: data}})
		if !errors.Is(err, auth.ErrForbidden) && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("customer upload to %s: %v", tn, err)
		}
	}
	list, err := s.List(e.As(t.Context(), e.CustomerB), e.TenantB.ID, store.Page{})
	if err != nil || len(list) != 0 {
		t.Fatalf("customer list %v %v", list, err)
	}
	// A tenant without analyses still gets its report, in every format.
	doc, err := s.ReportDocument(ctx, e.TenantB, time.Now().AddDate(0, 0, -7), time.Now(), "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []report.Format{report.FormatHTML, report.FormatXLSX} {
		var out bytes.Buffer
		if err := report.Render(ctx, doc, f, &out, report.Options{}); err != nil || out.Len() == 0 {
			t.Fatalf("empty report %s: %v", f, err)
		}
	}
}

// TestInternalFromAssets: an asset's public address is internal to its
// tenant only.
func TestInternalFromAssets(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	s := risk.NewService(e.Store, e.Audit, risk.Options{})
	if _, err := e.Store.Assets().List(ctx, e.TenantA.ID, store.AssetFilter{}); err != nil {
		t.Fatal(err)
	}
	pub := store.Asset{TenantID: e.TenantA.ID, Kind: "ip", Name: "gateway", Address: "203.0.113.10"}
	if err := e.Store.Assets().Create(ctx, &pub); err != nil {
		t.Fatal(err)
	}
	in := func(tenantID string) []string {
		ps, err := s.Internal(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.String())
		}
		return out
	}
	if a := in(e.TenantA.ID); !slices.Contains(a, "203.0.113.10/32") || !slices.Contains(a, "10.0.0.0/8") {
		t.Fatalf("tenant A internal %v", a)
	}
	if b := in(e.TenantB.ID); slices.Contains(b, "203.0.113.10/32") {
		t.Fatalf("tenant B internal %v", b)
	}
}
