package posture

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestMonitoringReportFormats renders the Chinese monitoring report of a
// seeded tenant as PDF and XLSX: pdftotext finds the Chinese title, the
// tenant and the period's figures against the previous period; excelize
// opens the workbook and finds the alerts-by-level rows worked out from
// the seed.
func TestMonitoringReportFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("prints a PDF with Chromium")
	}
	chromium := testenv.RequireChromium(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		testenv.Missing(t, "pdftotext (Debian package poppler-utils)")
	}
	st := openStore(t)
	ctx := context.Background()
	tn := store.Tenant{Slug: "shili", Name: "示例单位"}
	must(t, st.Tenants().Create(ctx, &tn))
	// This period (the past 7 days): 2 critical alerts, one closed, and 1
	// medium; the period before: 1 high alert.
	for i, a := range []struct {
		level, status string
		back          time.Duration
	}{{"critical", "new", 2 * 24 * time.Hour}, {"critical", "closed", 3 * 24 * time.Hour}, {"medium", "new", time.Hour},
		{"high", "closed", 10 * 24 * time.Hour}} {
		al := store.Alert{TenantID: tn.ID, GroupKey: fmt.Sprint(i), RuleID: fmt.Sprint("r", i), RuleTitle: "暴力破解 " + a.level,
			Level: a.level, Host: "web-01", Status: "new", LastSeen: now.Add(-a.back)}
		_, err := st.Alerts().Raise(ctx, &al, time.Hour, []string{"new"}, 3)
		must(t, err)
		if a.status != "new" {
			must(t, st.Alerts().SetStatus(ctx, tn.ID, al.ID, a.status, "", "u", now))
		}
	}
	svc := NewService(st, Options{Now: func() time.Time { return now }})
	doc, err := svc.MonitoringReport(ctx, tn, now.Add(-7*24*time.Hour), now, "zh-CN")
	must(t, err)
	w := reportWords["zh-CN"]

	var pdf bytes.Buffer
	must(t, report.Render(ctx, doc, report.FormatPDF, &pdf, report.Options{BrowserPath: chromium, Timeout: time.Minute}))
	path := filepath.Join(t.TempDir(), "monitoring.pdf")
	must(t, os.WriteFile(path, pdf.Bytes(), 0o600))
	out, err := exec.Command(pdftotext, path, "-").Output() // #nosec G204 -- fixed binary, a file of the test
	must(t, err)
	txt := string(out)
	// Alerts 3 against 1; critical and high 2 against 1; handled 1 against 1.
	for _, want := range []string{w["title"], tn.Name, w["alerts"], w["critical_high"], fmt.Sprintf(w["vs_prev"], "1"), w["l_critical"]} {
		if !strings.Contains(txt, want) {
			t.Errorf("the PDF text lacks %q:\n%.1500s", want, txt)
		}
	}

	var xb bytes.Buffer
	must(t, report.Render(ctx, doc, report.FormatXLSX, &xb, report.Options{}))
	wb, err := excelize.OpenReader(&xb)
	must(t, err)
	var rows [][]string
	for _, sh := range wb.GetSheetList() {
		if strings.HasPrefix(w["by_level"], strings.TrimRight(sh, ".… ")) {
			rows, err = wb.GetRows(sh)
			must(t, err)
		}
	}
	want := [][]string{{w["level"], w["this"], w["prev"]}, {w["l_critical"], "2", "0"}, {w["l_high"], "0", "1"},
		{w["l_medium"], "1", "0"}, {w["l_low"], "0", "0"}, {w["l_informational"], "0", "0"}}
	if len(rows) != len(want) {
		t.Fatalf("sheet %q has %d rows, want %d: %q (sheets %q)", w["by_level"], len(rows), len(want), rows, wb.GetSheetList())
	}
	for i, r := range want {
		if len(rows[i]) < 3 || strings.Join(rows[i][:3], "|") != strings.Join(r, "|") {
			t.Errorf("row %d: %q, want %q", i, rows[i], r)
		}
	}
}
