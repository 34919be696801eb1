package reportcentre

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

func TestLastPeriod(t *testing.T) {
	// Sunday 2026-11-29 09:00 UTC.
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	for freq, want := range map[string][2]string{
		"daily":     {"2026-11-28", "2026-11-29"},
		"weekly":    {"2026-11-16", "2026-11-23"}, // the last full Monday-to-Monday week
		"monthly":   {"2026-10-01", "2026-11-01"},
		"quarterly": {"2026-07-01", "2026-10-01"},
		"yearly":    {"2025-01-01", "2026-01-01"},
	} {
		from, to, ok := LastPeriod(freq, now)
		if !ok || from.Format(time.DateOnly) != want[0] || to.Format(time.DateOnly) != want[1] {
			t.Errorf("%s: %v..%v %v, want %s..%s", freq, from, to, ok, want[0], want[1])
		}
	}
	// On a Monday the week just ended is the last one.
	from, to, _ := LastPeriod("weekly", time.Date(2026, 11, 23, 0, 0, 1, 0, time.UTC))
	if from.Format(time.DateOnly) != "2026-11-16" || to.Format(time.DateOnly) != "2026-11-23" {
		t.Errorf("Monday: %v..%v", from, to)
	}
	if _, _, ok := LastPeriod("per-engagement", now); ok {
		t.Error("per-engagement has a period")
	}
}

type sent struct {
	mu      sync.Mutex
	reports []store.Report
}

func (s *sent) SendReport(_ context.Context, r store.Report, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, r)
	return nil
}

func setup(t *testing.T) (store.Store, *Centre, *sent, store.Tenant, context.Context) {
	t.Helper()
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tn := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := st.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	out := &sent{}
	arch := archive.NewService(st.Reports(), audit.New(st.Audit(), audit.Options{}), archive.Options{})
	c := New(st, arch, Options{Sender: out, Now: func() time.Time { return time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC) }})
	return st, c, out, tn, ctx
}

func docFor(title string) BuildFunc {
	return func(_ context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return &report.Document{Title: title, Tenant: t.Name, Lang: p.Lang,
			Sections: []report.Section{{Heading: "Period", Paragraphs: []string{PeriodKey(p.From, p.To)}}}}, nil
	}
}

func TestRegister(t *testing.T) {
	_, c, _, _, _ := setup(t)
	good := Kind{Code: "monitoring", Service: "monitoring", NameEN: "Monitoring", NameZH: "监测", Periodic: true,
		Formats: []report.Format{report.FormatHTML}, Build: docFor("m")}
	if err := c.Register(good); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]Kind{
		"twice":      good,
		"no build":   {Code: "x", Service: "s", NameEN: "x", NameZH: "x", Periodic: true, Formats: good.Formats},
		"no formats": {Code: "x", Service: "s", NameEN: "x", NameZH: "x", Periodic: true, Build: good.Build},
		"both":       {Code: "x", Service: "s", NameEN: "x", NameZH: "x", Periodic: true, Source: "run", Formats: good.Formats, Build: good.Build},
		"neither":    {Code: "x", Service: "s", NameEN: "x", NameZH: "x", Formats: good.Formats, Build: good.Build},
	} {
		if err := c.Register(k); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
}

func TestRunDue(t *testing.T) {
	st, c, out, tn, ctx := setup(t)
	for _, k := range []Kind{
		{Code: "monitoring", Service: "monitoring", NameEN: "Monitoring", NameZH: "监测", Periodic: true,
			Formats: []report.Format{report.FormatHTML}, Build: docFor("Weekly monitoring")},
		{Code: "vuln-monthly", Service: "vuln-lifecycle", NameEN: "Vulnerabilities", NameZH: "漏洞", Periodic: true,
			Formats: []report.Format{report.FormatXLSX, report.FormatPDF}, Build: docFor("Monthly vulnerabilities")},
		{Code: "exposure", Service: "asset-discovery", NameEN: "Exposure", NameZH: "暴露面", Source: "discovery-run",
			Formats: []report.Format{report.FormatHTML}, Build: docFor("Exposure")},
	} {
		if err := c.Register(k); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []store.Subscription{
		{TenantID: tn.ID, Service: "monitoring", Enabled: true, ReportFrequency: "weekly"},
		{TenantID: tn.ID, Service: "vuln-lifecycle", Enabled: true, ReportFrequency: "monthly"},
		{TenantID: tn.ID, Service: "asset-discovery", Enabled: true, ReportFrequency: "monthly"}, // no periodic kind
		{TenantID: tn.ID, Service: "baseline", Enabled: false, ReportFrequency: "weekly"},
	} {
		if err := st.Services().Put(ctx, &sub); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.RunDue(ctx)
	if err != nil || n != 2 {
		t.Fatalf("first run made %d reports (%v), want 2", n, err)
	}
	n, err = c.RunDue(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second run made %d reports (%v), want 0: the periods are archived", n, err)
	}
	if len(out.reports) != 2 {
		t.Fatalf("sent %d reports", len(out.reports))
	}
	rs, err := st.Reports().List(ctx, tn.ID, store.ReportFilter{SourceID: "2026-11-16..2026-11-23"})
	if err != nil || len(rs) != 1 || rs[0].Kind != "monitoring" || rs[0].Format != "html" || rs[0].Lang != "zh-CN" {
		t.Fatalf("weekly report %+v %v", rs, err)
	}
	rs, err = st.Reports().List(ctx, tn.ID, store.ReportFilter{SourceID: "2026-10-01..2026-11-01"})
	if err != nil || len(rs) != 1 || rs[0].Format != "xlsx" {
		t.Fatalf("monthly report %+v %v: the first format is used when the default is not offered", rs, err)
	}

	// On demand.
	if _, err := c.Generate(ctx, tn, "exposure", Params{Lang: "en"}, report.FormatHTML); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a source report without its source: %v", err)
	}
	if _, err := c.Generate(ctx, tn, "nope", Params{}, report.FormatHTML); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := c.Generate(ctx, tn, "monitoring", Params{From: time.Now(), To: time.Now().Add(-time.Hour)}, report.FormatHTML); err == nil {
		t.Error("a period ending before it starts was accepted")
	}
	if _, err := c.Generate(ctx, tn, "monitoring", Params{From: time.Now().Add(-time.Hour), To: time.Now()}, report.FormatPDF); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a format the kind does not offer: %v", err)
	}
	viewer := auth.WithPrincipal(context.Background(), &auth.Principal{Username: "nobody", UserID: "nobody"})
	if _, err := c.Generate(viewer, tn, "exposure", Params{SourceID: "x"}, report.FormatHTML); err == nil {
		t.Error("a user without report.read generated a report")
	}
}
