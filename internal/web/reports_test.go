package web

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

var reportLinkRE = regexp.MustCompile(`href="(/t/[^/]+/reports/[0-9a-f-]{36})"`)

func TestReportsGeneratedAndArchived(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	vbase := "/t/" + ui.TenantA.Slug + "/vulnerabilities"
	wantRedirect(t, admin.postFile(vbase+"/import", map[string]string{}, "scan.jsonl", []byte(hostileScan)), vbase)

	// The vulnerability report in HTML: archived, listed, downloaded as an
	// attachment with the hostile title escaped.
	r := admin.post(vbase+"/report", url.Values{"format": {"html"}, "lang": {"en"}})
	wantRedirect(t, r, "/t/"+ui.TenantA.Slug+"/reports?ok=generated")
	list := admin.get("/t/" + ui.TenantA.Slug + "/reports")
	wantStatus(t, list, http.StatusOK)
	m := reportLinkRE.FindStringSubmatch(list.body)
	if m == nil || !strings.Contains(list.body, "Vulnerability management") {
		t.Fatalf("report not listed:\n%s", list.body)
	}
	dl := admin.get(m[1])
	wantStatus(t, dl, http.StatusOK)
	if !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") || dl.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download headers %v", dl.Header)
	}
	if strings.Contains(dl.body, "<script>alert(1)") || !strings.Contains(dl.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the report does not show the hostile title escaped")
	}

	// XLSX in Chinese: a workbook whose cells hold the findings.
	wantRedirect(t, admin.post(vbase+"/report", url.Values{"format": {"xlsx"}, "lang": {"zh-CN"}}), "/t/"+ui.TenantA.Slug+"/reports")
	list = admin.get("/t/" + ui.TenantA.Slug + "/reports")
	m = reportLinkRE.FindStringSubmatch(list.body) // newest first
	dl = admin.get(m[1])
	f, err := excelize.OpenReader(bytes.NewReader([]byte(dl.body)))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	found := false
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		for _, row := range rows {
			found = found || strings.Contains(strings.Join(row, " "), "<script>alert(1)</script>")
		}
	}
	if !found {
		t.Fatal("the finding is not in the workbook")
	}

	// A bad format is refused; the customer of B sees none of A's reports.
	wantStatus(t, admin.post(vbase+"/report", url.Values{"format": {"docx"}}), http.StatusUnprocessableEntity)
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(m[1]), http.StatusNotFound)
	bl := cust.get("/t/" + ui.TenantB.Slug + "/reports")
	wantStatus(t, bl, http.StatusOK)
	if reportLinkRE.MatchString(bl.body) {
		t.Fatal("tenant B lists a report")
	}
}

// TestReportCatalogueGenerate generates the monitoring report of the
// catalogue for a period from the reports page.
func TestReportCatalogueGenerate(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	analyst := ui.as(t, ui.AnalystA)
	base := "/t/" + ui.TenantA.Slug + "/reports"
	page := analyst.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="report-catalogue"`) || !strings.Contains(page.body, `name="kind" value="monitoring"`) {
		t.Fatalf("no catalogue on the reports page:\n%s", page.body)
	}
	form := url.Values{"kind": {"monitoring"}, "from": {"2026-11-01"}, "to": {"2026-11-07"}, "format": {"html"}, "lang": {"zh-CN"}}
	wantRedirect(t, analyst.post(base+"/generate", form), base+"?ok=generated")
	list := analyst.get(base)
	m := reportLinkRE.FindStringSubmatch(list.body)
	if m == nil || !strings.Contains(list.body, "安全监测报告") {
		t.Fatalf("the monitoring report is not listed:\n%s", list.body)
	}
	dl := analyst.get(m[1])
	wantStatus(t, dl, http.StatusOK)
	if !strings.Contains(dl.body, "2026-11-01 至 2026-11-07") {
		t.Errorf("the report does not cover the period asked for")
	}

	for name, bad := range map[string]url.Values{
		"reversed":     {"kind": {"monitoring"}, "from": {"2026-11-07"}, "to": {"2026-11-01"}, "format": {"html"}},
		"not a date":   {"kind": {"monitoring"}, "from": {"yesterday"}, "to": {"2026-11-01"}, "format": {"html"}},
		"too long":     {"kind": {"monitoring"}, "from": {"2020-01-01"}, "to": {"2026-11-01"}, "format": {"html"}},
		"source kind":  {"kind": {"exposure"}, "from": {"2026-11-01"}, "to": {"2026-11-07"}, "format": {"html"}},
		"unknown kind": {"kind": {"nope"}, "from": {"2026-11-01"}, "to": {"2026-11-07"}, "format": {"html"}},
	} {
		if r := analyst.post(base+"/generate", bad); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", name, r.StatusCode)
		}
	}
	customer := ui.as(t, ui.CustomerB)
	customer.loadCSRF(customer.get("/t/" + ui.TenantB.Slug + "/reports"))
	if r := customer.post(base+"/generate", form); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusForbidden {
		t.Errorf("the customer of B generated a report of A: status %d", r.StatusCode)
	}
	if after := reportLinkRE.FindAllString(analyst.get(base).body, -1); len(after) != 1 {
		t.Errorf("tenant A has %d reports, want the one the analyst made", len(after))
	}
}
