package baseline

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
)

func findSection(doc *report.Document, heading string) *report.Section {
	for i := range doc.Sections {
		if doc.Sections[i].Heading == heading {
			return &doc.Sections[i]
		}
	}
	return nil
}

func TestReportDocument(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	pol := &Policy{ID: "vigil_x", Name: "X policy", Checks: []Check{
		{ID: "1", Title: "one", Remediation: "do one", Compliance: map[string][]string{"mlps": {"L3-CES1-03"}}},
		{ID: "2", Title: "two", Remediation: "do two"},
		{ID: "3", Title: "three", Remediation: "do three"},
	}}
	before := []PolicyRun{{Asset: "db01", PolicyID: "vigil_x", PolicyTitle: "X policy", At: t0,
		Report: rep("1", "failed", "2", "failed", "3", "passed")}}
	after := []PolicyRun{{Asset: "db01", PolicyID: "vigil_x", PolicyTitle: "X policy", At: t0.Add(72 * time.Hour),
		Report: rep("1", "passed", "2", "failed", "3", "passed")}}
	for _, lang := range []string{"en", "zh-CN"} {
		doc, err := ReportDocument(Assessment{Tenant: "ACME", Lang: lang, GeneratedAt: t0, Runs: after, Previous: before,
			Policies: map[string]*Policy{"vigil_x": pol}, Fixes: map[string]map[string]string{"vigil_x": {"2": "apply-two.sh"}}})
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		w := reportWords[lang]
		if doc.Lang != lang || doc.Title != w["title"] {
			t.Errorf("%s: title %q lang %q", lang, doc.Title, doc.Lang)
		}
		figs := map[string]string{}
		for _, f := range doc.Summary {
			figs[f.Label] = f.Value
		}
		// After: 2 of 3 pass; before: 1 of 3; check 1 was fixed.
		if figs[w["overall"]] != "66.7%" || figs[w["prev_overall"]] != "33.3%" || figs[w["fixed"]] != "1" || figs[w["new_fail"]] != "0" || figs[w["failed_checks"]] != "1" {
			t.Errorf("%s: summary %v", lang, figs)
		}
		fs := findSection(doc, w["failures"])
		if fs == nil || len(fs.Tables) != 1 || len(fs.Tables[0].Rows) != 1 {
			t.Fatalf("%s: failures section %+v", lang, fs)
		}
		if row := fs.Tables[0].Rows[0]; row[2] != "2" || row[5] != "fix 2" || row[6] != "apply-two.sh" {
			t.Errorf("%s: failure row %q", lang, row)
		}
		bc := findSection(doc, w["by_control"])
		if bc == nil || len(bc.Tables[0].Rows) != 1 || bc.Tables[0].Rows[0][0] != "L3-CES1-03" || bc.Tables[0].Rows[0][1] != "1" {
			t.Errorf("%s: control section %+v", lang, bc)
		}
		ba := findSection(doc, w["before_after"])
		if ba == nil || len(ba.Tables) != 2 {
			t.Fatalf("%s: before/after section %+v", lang, ba)
		}
		if row := ba.Tables[0].Rows[0]; row[2] != "33.3%" || row[3] != "66.7%" || row[4] != "1" || row[6] != "1" {
			t.Errorf("%s: before/after row %q", lang, row)
		}
		var buf bytes.Buffer
		if err := report.Render(context.Background(), doc, report.FormatHTML, &buf, report.Options{}); err != nil {
			t.Errorf("%s: render: %v", lang, err)
		}
	}
	// History: day 1 at 1/3, day 4 at 2/3.
	doc, err := ReportDocument(Assessment{Runs: after, History: append(append([]PolicyRun(nil), after...), before...)})
	if err != nil {
		t.Fatal(err)
	}
	hs := findSection(doc, reportWords["en"]["history"])
	if hs == nil || len(hs.Charts) != 1 {
		t.Fatalf("history section %+v", hs)
	}
	if c := hs.Charts[0]; len(c.Labels) != 2 || c.Labels[0] != "2026-11-02" || c.Series[0].Values[0] != 33.3 || c.Series[0].Values[1] != 66.7 {
		t.Errorf("history chart %+v", c)
	}
	// Without earlier runs there is no comparison.
	doc, err = ReportDocument(Assessment{Runs: after})
	if err != nil {
		t.Fatal(err)
	}
	if findSection(doc, reportWords["en"]["before_after"]) != nil || len(doc.Summary) != 4 {
		t.Errorf("comparison without previous runs: %+v", doc.Summary)
	}
	// An empty assessment still gives a valid document.
	if _, err := ReportDocument(Assessment{Lang: "fr"}); err != nil {
		t.Errorf("empty assessment: %v", err)
	}
}

// Asset names, titles, remediation and fixes come from policies and
// targets; control characters, invalid UTF-8, markup and huge strings must
// give a valid document.
func TestReportDocumentHostile(t *testing.T) {
	hostile := []string{
		"<script>alert(1)</script>", "a\x00b\x1b[31mred\x7f", "\xff\xfe broken", strings.Repeat("長", 10000),
		"=HYPERLINK(\"http://x\")", "\uFFFE\uFFFF", "", "tab\there\r\nnewline",
	}
	var runs []PolicyRun
	for i, s := range hostile {
		r := rep("1", "failed", "2", "passed")
		r.Checks[0].Title, r.Checks[0].Remediation = s, s
		runs = append(runs, PolicyRun{Asset: s + string(rune('a'+i)), PolicyID: s, PolicyTitle: s, Report: r})
	}
	pol := &Policy{ID: hostile[0], Checks: []Check{{ID: "1", Compliance: map[string][]string{"mlps": {hostile[1]}}}}}
	doc, err := ReportDocument(Assessment{Tenant: hostile[1], Author: hostile[3], Classification: hostile[2], Runs: runs, Previous: runs, History: runs,
		Policies: map[string]*Policy{hostile[0]: pol}, Fixes: map[string]map[string]string{hostile[0]: {"1": hostile[3] + hostile[1]}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []report.Format{report.FormatHTML, report.FormatXLSX} {
		var buf bytes.Buffer
		if err := report.Render(context.Background(), doc, f, &buf, report.Options{}); err != nil {
			t.Errorf("render %s: %v", f, err)
		}
		if f == report.FormatHTML && strings.Contains(buf.String(), "<script>alert(1)") {
			t.Error("markup from a check title reached the HTML unescaped")
		}
	}
}

func TestReportDocumentCapsRows(t *testing.T) {
	var results []string
	for i := range maxReportFailures + 7 {
		results = append(results, "c"+strings.Repeat("x", i%3)+string(rune('0'+i%10))+"-"+itoa(i), "failed")
	}
	doc, err := ReportDocument(Assessment{Runs: []PolicyRun{{Asset: "a", PolicyID: "p", Report: rep(results...)}}})
	if err != nil {
		t.Fatal(err)
	}
	fs := findSection(doc, reportWords["en"]["failures"])
	if got := len(fs.Tables[0].Rows); got != maxReportFailures || !strings.Contains(fs.Tables[0].Caption, "7 more rows") {
		t.Errorf("%d rows, caption %q", got, fs.Tables[0].Caption)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}
