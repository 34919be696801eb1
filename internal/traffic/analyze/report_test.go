package analyze

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
)

// findSection returns the first section whose heading is h.
func findSection(t *testing.T, d *report.Document, h string) report.Section {
	t.Helper()
	for _, s := range d.Sections {
		if s.Heading == h {
			return s
		}
	}
	t.Fatalf("no section %q", h)
	return report.Section{}
}

// TestReportRITA builds the report of the RITA sample in both languages:
// the top risky host and the first beacon are RITA's labelled beacon
// (10.136.0.18 -> www.honestimnotevil.com), and every part renders.
func TestReportRITA(t *testing.T) {
	fs, a := analyzeDir(t, filepath.Join(corpus, "rita-proxy"), Options{})
	for _, lang := range []string{"en", "zh-CN"} {
		from, to := a.Period()
		doc, err := ReportDocument(ReportInput{Lang: lang, Tenant: "Example Ltd", Findings: fs, Zones: a.Zones(), From: from, To: to,
			Sources: []ReportSource{{Name: "rita-proxy", Kind: "zeek", Lines: 10, Records: 9, Skipped: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		w := reportWords[lang]
		hosts := findSection(t, doc, w["top_hosts"])
		if len(hosts.Tables) == 0 || hosts.Tables[0].Rows[0][0] != "10.136.0.18" {
			t.Errorf("%s: top host table %+v", lang, hosts.Tables)
		}
		b := findSection(t, doc, w["beacons"])
		if len(b.Tables) == 0 || !strings.Contains(b.Tables[0].Rows[0][2], "www.honestimnotevil.com") || b.Tables[0].Rows[0][1] != "10.136.0.18" {
			t.Errorf("%s: beacon table %+v", lang, b.Tables)
		}
		classes := findSection(t, doc, w["by_class"])
		if len(classes.Charts) != 1 || len(classes.Charts[0].Labels) == 0 {
			t.Errorf("%s: no findings chart: %+v", lang, classes)
		}
		if doc.Summary[0].Label != w["period"] || !strings.Contains(doc.Summary[0].Value, "2023-01-04") {
			t.Errorf("%s: period %+v", lang, doc.Summary[0])
		}
		for _, f := range []report.Format{report.FormatHTML, report.FormatXLSX} {
			var buf bytes.Buffer
			if err := report.Render(context.Background(), doc, f, &buf, report.Options{}); err != nil || buf.Len() == 0 {
				t.Errorf("%s %s: %v", lang, f, err)
			}
		}
	}
	if _, err := ReportDocument(ReportInput{Lang: "fr"}); err == nil {
		t.Error("unsupported language accepted")
	}
}

// TestReportHostileStrings: names from traffic carry markup, template
// actions, control characters, a right-to-left override and overlong
// text; the report shows them as text, makes the override visible and
// stays within the document bounds.
func TestReportHostileStrings(t *testing.T) {
	src := netip.MustParseAddr("10.0.0.7")
	dst := netip.MustParseAddr("198.51.100.9")
	ts := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	markup := `<script>alert(1)</script>{{.}}"><img src=x onerror=alert(2)>.example`
	rtl := "invoice\u202Efdp.exe.example"
	long := strings.Repeat("a", 5000) + ".example"
	fs := []Finding{
		{Class: ClassBeacon, Src: src, Dst: dst, DstPort: 443, Domain: markup, Score: 0.9, First: ts, Last: ts.Add(time.Hour), Count: 50,
			Explanation: "beacon to " + markup},
		{Class: ClassDNSTunnel, Src: src, Domain: rtl, Score: 0.8, First: ts, Last: ts, Count: 500, Explanation: "tunnel via " + rtl + "\x00\x1b[31m"},
		{Class: ClassViolation, Src: src, Dst: dst, DstPort: 23, Rule: "=cmd|' /C calc'!A0", Score: 0.5, First: ts, Last: ts, Count: 3,
			Explanation: long},
		{Class: ClassScanVertical, Src: netip.MustParseAddr("203.0.113.5"), Dst: src, Score: 0.95, First: ts, Last: ts, Count: 900,
			Explanation: "scan"},
	}
	doc, err := ReportDocument(ReportInput{Tenant: "<b>Tenant</b>\u202E", Findings: fs, Zones: NewZones(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Render(context.Background(), doc, report.FormatHTML, &buf, report.Options{}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, bad := range []string{"<script>alert(1)", "<img src=x", "<b>Tenant", "\u202E", "\x1b"} {
		if strings.Contains(html, bad) {
			t.Errorf("rendered HTML contains %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "invoice[U&#43;202E]fdp.exe.example", "203.0.113.5"} {
		if !strings.Contains(html, want) {
			t.Errorf("rendered HTML lacks %q", want)
		}
	}
	buf.Reset()
	if err := report.Render(context.Background(), doc, report.FormatXLSX, &buf, report.Options{}); err != nil {
		t.Fatal(err)
	}
	// The external scanner is listed among the external sources.
	ext := findSection(t, doc, reportWords["en"]["top_external"])
	if len(ext.Tables) == 0 || ext.Tables[0].Rows[0][0] != "203.0.113.5" {
		t.Errorf("external sources %+v", ext)
	}
	// An empty period still gives a valid document saying there is nothing.
	empty, err := ReportDocument(ReportInput{Lang: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	if s := findSection(t, empty, reportWords["zh-CN"]["beacons"]); len(s.Paragraphs) != 1 || s.Paragraphs[0] != reportWords["zh-CN"]["none"] {
		t.Errorf("empty beacons section %+v", s)
	}
}
