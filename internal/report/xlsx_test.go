package report

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

func renderXLSXFile(t *testing.T, d *Document) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderXLSX(context.Background(), d, &buf, Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func cellValue(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, cell)
	if err != nil {
		t.Fatalf("%s!%s: %v", sheet, cell, err)
	}
	return v
}

func TestXLSX(t *testing.T) {
	d := loadDoc(t, "small.json")
	d.Sections[1].Tables = append(d.Sections[1].Tables,
		Table{Caption: `Injection: [a]/b\c?*:`, Columns: []string{"Input", "Other"}, Rows: [][]string{
			{"=1+2", "@SUM(A1)"},
			{"+cmd|' /C calc'!A0", "-2+3"},
			{"\tTAB", "-12.5"},
			{"plain", "=HYPERLINK(\"http://x\")"},
		}},
		Table{Caption: strings.Repeat("Long caption ", 5), Columns: []string{"a"}, Rows: [][]string{{"1"}}},
		Table{Caption: strings.Repeat("Long caption ", 5), Columns: []string{"a"}, Rows: [][]string{{"2"}}},
		Table{Caption: "history", Columns: []string{"a"}, Rows: [][]string{{"3"}}},
	)
	f := renderXLSXFile(t, d)

	wantSheets := []string{"Summary", "Critical and high findings", "Injection_ _a__b_c___", "Long caption Long caption Long", "Long caption Long caption L (2)", "Table 5",
		"Findings by severity", "Share by host group", "Figure 3", "Closed per week"}
	if diff := cmp.Diff(wantSheets, f.GetSheetList()); diff != "" {
		t.Errorf("sheet names (-want +got):\n%s", diff)
	}
	for _, s := range f.GetSheetList() {
		if n := utf8.RuneCountInString(s); n > 31 || strings.ContainsAny(s, `[]:*?/\`) {
			t.Errorf("invalid sheet name %q", s)
		}
	}

	// Summary sheet.
	if got := cellValue(t, f, "Summary", "A1"); got != d.Title {
		t.Errorf("Summary!A1 = %q, want the title", got)
	}
	rows, err := f.GetRows("Summary")
	if err != nil {
		t.Fatal(err)
	}
	var flat strings.Builder
	for _, r := range rows {
		flat.WriteString(strings.Join(r, "|") + "\n")
	}
	for _, want := range []string{"Tenant|ACME Corp", "Generated|2026-06-01 08:30 UTC", "Open findings|42|'+5 since April", "Critical and high findings|Critical and high findings|2 Findings", "Figure 3||1.1 Trend"} {
		if !strings.Contains(flat.String(), want) {
			t.Errorf("Summary lacks %q:\n%s", want, flat.String())
		}
	}

	// A table sheet: header, a cell, bold header, frozen pane.
	sheet := "Critical and high findings"
	if got := cellValue(t, f, sheet, "B1"); got != "CVE" {
		t.Errorf("header B1 = %q", got)
	}
	if got := cellValue(t, f, sheet, "B2"); got != "CVE-2024-3400" {
		t.Errorf("B2 = %q", got)
	}
	sid, err := f.GetCellStyle(sheet, "A1")
	if err != nil {
		t.Fatal(err)
	}
	style, err := f.GetStyle(sid)
	if err != nil || style.Font == nil || !style.Font.Bold {
		t.Errorf("header style %+v is not bold (%v)", style, err)
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v (%v): want the header row frozen", panes, err)
	}

	// Formula injection: nothing is a formula, triggers get an apostrophe.
	inj := "Injection_ _a__b_c___"
	for cell, want := range map[string]string{
		"A2": "'=1+2", "B2": "'@SUM(A1)", "A3": "'+cmd|' /C calc'!A0", "B3": "'-2+3",
		"A4": "'\tTAB", "B4": "-12.5", "A5": "plain", "B5": `'=HYPERLINK("http://x")`,
	} {
		if got := cellValue(t, f, inj, cell); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
		if fm, err := f.GetCellFormula(inj, cell); err != nil || fm != "" {
			t.Errorf("%s has formula %q (%v)", cell, fm, err)
		}
		if ct, err := f.GetCellType(inj, cell); err != nil || ct == excelize.CellTypeFormula {
			t.Errorf("%s cell type %v (%v)", cell, ct, err)
		}
	}
	// The original table's "=1+2" too.
	if fm, _ := f.GetCellFormula(sheet, "B4"); fm != "" || cellValue(t, f, sheet, "B4") != "'=1+2" {
		t.Errorf("small.json's =1+2 cell: formula %q value %q", fm, cellValue(t, f, sheet, "B4"))
	}
}

func TestXLSXChinese(t *testing.T) {
	f := renderXLSXFile(t, bilingualDoc())
	if diff := cmp.Diff([]string{"摘要", "Affected hosts", "告警数量"}, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	if got := cellValue(t, f, "Affected hosts", "C2"); got != "已隔离" {
		t.Errorf("C2 = %q", got)
	}
}

func TestSafeCellText(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "a=b": "a=b", "=A1": "'=A1", "+1": "'+1", "-1": "-1", "-1.5": "-1.5", "-1.": "'-1.",
		"-": "'-", "-1e5": "'-1e5", "@x": "'@x", "\rx": "'\rx", "\tx": "'\tx", "'=x": "'=x",
	} {
		if got := SafeCellText(in); got != want {
			t.Errorf("SafeCellText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSheetNames(t *testing.T) {
	n := &sheetNamer{used: map[string]bool{}}
	got := []string{
		n.name("Summary", "x"), n.name("SUMMARY", "x"), n.name("'quoted'", "x"), n.name("[]", "fallback"),
		n.name("History", "Table 9"), n.name(strings.Repeat("表", 40), "x"), n.name(strings.Repeat("😀", 20), "x"),
	}
	want := []string{"Summary", "SUMMARY (2)", "quoted", "__", "Table 9", strings.Repeat("表", 31), strings.Repeat("😀", 15)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Many equal names stay unique and valid.
	seen := map[string]bool{}
	for i := range 120 {
		s := n.name("same name that is long enough to be cut short", "x")
		if seen[strings.ToLower(s)] || utf8.RuneCountInString(s) > 31 {
			t.Fatalf("name %d %q repeated or too long", i, s)
		}
		seen[strings.ToLower(s)] = true
	}
}

// TestXLSXCharts checks a chart's data sheet and that the workbook holds a
// native chart whose series point at that data.
func TestXLSXCharts(t *testing.T) {
	d := loadDoc(t, "small.json")
	var buf bytes.Buffer
	if err := RenderXLSX(context.Background(), d, &buf, Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Findings by severity")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"", "April", "May"}, {"critical", "2", "3"}, {"high", "9", "11"}, {"medium", "14", "15"}, {"low", "12", "13"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("chart data (-want +got):\n%s", diff)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	charts := 0
	var first string
	for _, zf := range zr.File {
		if strings.HasPrefix(zf.Name, "xl/charts/chart") {
			charts++
			if zf.Name == "xl/charts/chart1.xml" {
				rc, err := zf.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(rc)
				_ = rc.Close()
				first = strings.ReplaceAll(string(b), "&#39;", "'")
			}
		}
	}
	if charts != 4 {
		t.Errorf("%d native charts, want 4", charts)
	}
	for _, ref := range []string{"'Findings by severity'!$A$2:$A$5", "'Findings by severity'!$C$2:$C$5", "'Findings by severity'!$B$1"} {
		if !strings.Contains(first, ref) {
			t.Errorf("chart1.xml lacks the reference %s", ref)
		}
	}
}
