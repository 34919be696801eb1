package compliance

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"
)

func workbook(t testing.TB, rows [][]any, edit func(f *excelize.File)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(f)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var frameworkRows = [][]any{
	{"id", "parent", "name", "name_en", "description", "description_en", "weight"},
	{"A", "", "账户管理", "Accounts", "", "", ""},
	{"A.1", "A", "", "", "管理员账户实名", "Named admin accounts", "1"},
	{"A.2", "A", "", "", "双因素登录", "Two-factor login", "0.5"},
	{"B", "", "日志", "Logging", "日志保存六个月", "Keep logs six months", ""},
}

func TestFrameworkXLSX(t *testing.T) {
	fw, err := ParseFrameworkXLSX(bytes.NewReader(workbook(t, frameworkRows, nil)), "custom-1", "自定义框架")
	if err != nil {
		t.Fatal(err)
	}
	n := fw.Count()
	if n.Top != 2 || n.Requirements != 3 || fw.Node("A.2").Weight != 0.5 || fw.Node("A").Assessable || !fw.Node("B").Assessable {
		t.Errorf("imported %+v", n)
	}
}

func TestFrameworkXLSXRejects(t *testing.T) {
	badRows := append(append([][]any{}, frameworkRows...),
		[]any{"C.1", "C", "", "", "x", "", ""},   // row 6: parent not earlier
		[]any{"D", "", "d", "", "", "", "2"},     // row 7: weight
		[]any{"A.1", "A", "", "", "dup", "", ""}, // row 8: duplicate
		[]any{"E", "", "", "", "", "", ""})       // row 9: no name
	_, err := ParseFrameworkXLSX(bytes.NewReader(workbook(t, badRows, nil)), "c", "C")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"row 6:", "row 7:", "row 8:", "row 9:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s\n%v", want, err)
		}
	}
	var re *RowError
	if !errors.As(err, &re) || re.Row != 6 {
		t.Errorf("first RowError = %+v", re)
	}

	formula := workbook(t, frameworkRows, func(f *excelize.File) {
		if err := f.SetCellFormula("Sheet1", "G4", "=1/2"); err != nil {
			t.Fatal(err)
		}
	})
	_, err = ParseFrameworkXLSX(bytes.NewReader(formula), "c", "C")
	if err == nil || !strings.Contains(err.Error(), "row 4: cell G4 holds a formula") {
		t.Errorf("formula: err = %v", err)
	}

	// A macro-enabled workbook, saved by excelize with the .xlsm content type.
	f := excelize.NewFile()
	p := filepath.Join(t.TempDir(), "book.xlsm")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	xlsm, err := readFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFrameworkXLSX(bytes.NewReader(xlsm), "c", "C"); err == nil || !strings.Contains(err.Error(), "macro-enabled") {
		t.Errorf("xlsm: err = %v", err)
	}
	// A workbook carrying a VBA project.
	vba := addZipEntry(t, workbook(t, frameworkRows, nil), "xl/vbaProject.bin", []byte("not really vba"))
	if _, err := ParseFrameworkXLSX(bytes.NewReader(vba), "c", "C"); err == nil || !strings.Contains(err.Error(), "macros") {
		t.Errorf("vba: err = %v", err)
	}
	if _, err := ParseFrameworkXLSX(strings.NewReader("id,parent\n"), "c", "C"); !errors.Is(err, ErrInvalid) {
		t.Errorf("csv: err = %v", err)
	}
}

func addZipEntry(t *testing.T, data []byte, name string, content []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		w, _ := zw.Create(zf.Name)
		rc, _ := zf.Open()
		if _, err := io.Copy(w, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	w, _ := zw.Create(name)
	w.Write(content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestItemsXLSXRoundTrip(t *testing.T) {
	fw := builtin(t).Framework("mlps2-l3")
	in := []ItemResult{
		{Item: "L3-CES1-01", Object: "db01", Result: Conform, Evidence: "口令策略截图"},
		{Item: "L3-CES1-01", Object: "web01", Result: PartlyConform, Note: "=cmd|' /C calc'!A0", Remediation: "启用 pam_pwquality"},
		{Item: "L3-CES1-04", Object: "db01", Result: NotConform, HighRisk: true, Weight: 0.5},
		{Item: "L3-CES1-02", Object: "db01", Result: NotConform, Compensation: &Compensation{Measure: "堡垒机锁定", Adjustment: 0.5}, HighRisk: true, Resolved: true},
		{Item: "L3-PES1-01", Result: NotApplicable},
	}
	var buf bytes.Buffer
	if err := WriteItemsXLSX(&buf, fw, in); err != nil {
		t.Fatal(err)
	}
	out, err := ParseItemsXLSX(bytes.NewReader(buf.Bytes()), fw)
	if err != nil {
		t.Fatal(err)
	}
	sortRes := cmpopts.SortSlices(func(a, b ItemResult) bool { return a.Item+a.Object < b.Item+b.Object })
	if diff := cmp.Diff(in, out, sortRes); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	// The formula-looking note is stored as text, not as a formula.
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("Items")
	if len(rows) != 1+len(fw.Requirements())+1 {
		t.Errorf("%d rows, want header + %d items + 1 extra object row", len(rows), len(fw.Requirements()))
	}
}

func TestItemsXLSXBadRows(t *testing.T) {
	fw := builtin(t).Framework("mlps2-l3")
	var buf bytes.Buffer
	if err := WriteItemsXLSX(&buf, fw, nil); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	set := func(cell, v string) {
		if err := f.SetCellStr("Items", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	set("F2", "符合")         // row 2: fine
	set("F3", "maybe")      // row 3: bad result
	set("A4", "L3-XYZ1-01") // row 4: unknown item
	set("F4", "符合")
	set("F5", "不符合") // row 5: bad high-risk flag
	set("G5", "perhaps")
	set("F6", "部分符合") // row 6: compensation without measure
	set("J6", "0.3")
	var out bytes.Buffer
	if err := f.Write(&out); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ParseItemsXLSX(&out, fw)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"row 3:", "row 4:", "row 5:", "row 6:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "row 2:") {
		t.Errorf("row 2 is valid:\n%v", err)
	}
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }
