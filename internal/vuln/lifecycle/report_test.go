package lifecycle_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

func TestReportDocument(t *testing.T) {
	e, s, c := newService(t)
	ctx := e.AdminCtx(t.Context())
	if _, err := s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "a.json", Data: sample(t, "many_findings.json"), Full: true}); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.AddDate(0, 0, 40) // past the high SLA
	if _, err := s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "b.json", Data: sample(t, "many_findings_new.json"), Full: true}); err != nil {
		t.Fatal(err)
	}
	_, open, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{State: "open"})
	if err != nil {
		t.Fatal(err)
	}
	_, overdue, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{Overdue: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		doc, err := s.ReportDocument(ctx, e.TenantA, lang)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if doc.Summary[0].Value != strconv.Itoa(open) || doc.Summary[2].Value != strconv.Itoa(overdue) {
			t.Fatalf("%s: summary %+v, want open %d overdue %d", lang, doc.Summary, open, overdue)
		}
		var html, xlsx bytes.Buffer
		if err := report.RenderHTML(ctx, doc, &html, report.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := report.RenderXLSX(ctx, doc, &xlsx, report.Options{}); err != nil {
			t.Fatal(err)
		}
		want := "Open findings by priority"
		if lang == "zh-CN" {
			want = "按优先级排列的未关闭漏洞"
		}
		if !strings.Contains(html.String(), want) || xlsx.Len() == 0 {
			t.Fatalf("%s: rendered report lacks %q", lang, want)
		}
	}
	// A customer of another tenant cannot build A's report.
	if _, err := s.ReportDocument(e.As(t.Context(), e.CustomerB), e.TenantA, "en"); err == nil {
		t.Fatal("customer B built tenant A's report")
	}
}
