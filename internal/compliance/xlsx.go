package compliance

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/vigil-sec/vigil/internal/report"
)

// Limits on XLSX input.
const (
	MaxXLSXBytes    = 20 << 20 // compressed workbook
	maxXLSXUnzipped = 200 << 20
	maxXLSXSheetXML = 64 << 20
	MaxXLSXRows     = 50_000
	maxRowErrors    = 50
)

// RowError is a problem with one spreadsheet row (1-based, as Excel shows).
type RowError struct {
	Row int
	Msg string
}

// Error returns "row N: message".
func (e *RowError) Error() string { return "row " + strconv.Itoa(e.Row) + ": " + e.Msg }

// rowErrors collects row problems and joins them under ErrInvalid.
type rowErrors struct {
	list      []error
	truncated bool
}

func (r *rowErrors) add(row int, format string, args ...any) {
	if len(r.list) >= maxRowErrors {
		r.truncated = true
		return
	}
	r.list = append(r.list, &RowError{Row: row, Msg: fmt.Sprintf(format, args...)})
}

func (r *rowErrors) err(what string) error {
	if len(r.list) == 0 {
		return nil
	}
	if r.truncated {
		r.list = append(r.list, errors.New("(further rows not listed)"))
	}
	return fmt.Errorf("%w: %s:\n%w", ErrInvalid, what, errors.Join(r.list...))
}

// openXLSX reads a workbook, refusing macro-enabled content and bounding
// sizes. hasFormula reports whether any worksheet holds a formula element.
func openXLSX(r io.Reader) (f *excelize.File, hasFormula bool, err error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxXLSXBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("compliance: read workbook: %w", err)
	}
	if len(data) > MaxXLSXBytes {
		return nil, false, fmt.Errorf("%w: workbook is larger than %d bytes", ErrInvalid, MaxXLSXBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, false, fmt.Errorf("%w: not an XLSX workbook: %v", ErrInvalid, err)
	}
	var total uint64
	for _, zf := range zr.File {
		name := strings.ToLower(zf.Name)
		total += zf.UncompressedSize64
		if strings.HasSuffix(name, "vbaproject.bin") || strings.HasSuffix(name, ".bin") && strings.Contains(name, "activex") {
			return nil, false, fmt.Errorf("%w: the workbook contains macros (%s); save it as .xlsx without macros", ErrInvalid, zf.Name)
		}
		if name == "[content_types].xml" {
			ct, err := readZipEntry(zf, 1<<20)
			if err != nil {
				return nil, false, err
			}
			if bytes.Contains(bytes.ToLower(ct), []byte("macroenabled")) {
				return nil, false, fmt.Errorf("%w: the workbook is macro-enabled (.xlsm); save it as .xlsx", ErrInvalid)
			}
		}
		if strings.HasPrefix(name, "xl/worksheets/") && strings.HasSuffix(name, ".xml") && !hasFormula {
			sx, err := readZipEntry(zf, maxXLSXSheetXML)
			if err != nil {
				return nil, false, err
			}
			hasFormula = bytes.Contains(sx, []byte("<f>")) || bytes.Contains(sx, []byte("<f ")) || bytes.Contains(sx, []byte(":f>")) || bytes.Contains(sx, []byte(":f "))
		}
	}
	if total > maxXLSXUnzipped {
		return nil, false, fmt.Errorf("%w: workbook expands to more than %d bytes", ErrInvalid, maxXLSXUnzipped)
	}
	f, err = excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxXLSXUnzipped, UnzipXMLSizeLimit: maxXLSXSheetXML})
	if err != nil {
		return nil, false, fmt.Errorf("%w: cannot open the workbook: %v", ErrInvalid, err)
	}
	return f, hasFormula, nil
}

func readZipEntry(zf *zip.File, limit int64) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, zf.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, zf.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalid, zf.Name, limit)
	}
	return b, nil
}

// sheetRows returns the first sheet's rows (at most MaxXLSXRows) and the
// row numbers of cells holding formulas.
func sheetRows(f *excelize.File, hasFormula bool, width int) ([][]string, *rowErrors, error) {
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, fmt.Errorf("%w: the workbook has no sheet", ErrInvalid)
	}
	sheet := sheets[0]
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read sheet %q: %v", ErrInvalid, sheet, err)
	}
	defer rows.Close()
	var out [][]string
	re := &rowErrors{}
	for n := 1; rows.Next(); n++ {
		if n > MaxXLSXRows+1 {
			return nil, nil, fmt.Errorf("%w: more than %d rows", ErrInvalid, MaxXLSXRows)
		}
		cols, err := rows.Columns()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: row %d: %v", ErrInvalid, n, err)
		}
		if hasFormula {
			for c := 1; c <= max(width, len(cols)); c++ {
				cell, _ := excelize.CoordinatesToCellName(c, n)
				if fm, _ := f.GetCellFormula(sheet, cell); fm != "" {
					re.add(n, "cell %s holds a formula; formulas are not accepted, paste values instead", cell)
				}
			}
		}
		out = append(out, cols)
	}
	if err := rows.Error(); err != nil {
		return nil, nil, fmt.Errorf("%w: read sheet %q: %v", ErrInvalid, sheet, err)
	}
	return out, re, nil
}

// cell returns column i of a row, trimmed, with the apostrophe that
// report.SafeCellText adds against formula injection removed.
func cell(row []string, i int) string {
	if i >= len(row) {
		return ""
	}
	s := strings.TrimSpace(row[i])
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		s = s[1:]
	}
	return s
}

// Custom framework sheet columns.
var frameworkColumns = []string{"id", "parent", "name", "name_en", "description", "description_en", "weight"}

// ParseFrameworkXLSX imports a custom framework from the first sheet of a
// workbook. Row 1 holds the headers id, parent, name, name_en, description,
// description_en, weight (in this order); each further row is a node whose
// parent is an earlier row's id (empty for top level). Leaves are
// assessable. Formulas and macro-enabled workbooks are refused; bad rows are
// reported with their row numbers.
func ParseFrameworkXLSX(r io.Reader, id, name string) (*Framework, error) {
	f, hasFormula, err := openXLSX(r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, re, err := sheetRows(f, hasFormula, len(frameworkColumns))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: the sheet is empty", ErrInvalid)
	}
	for i, h := range frameworkColumns {
		if !strings.EqualFold(cell(rows[0], i), h) {
			re.add(1, "column %d header is %q, want %q (headers: %s)", i+1, cell(rows[0], i), h, strings.Join(frameworkColumns, ", "))
		}
	}
	fw := &Framework{ID: id, Name: name, Kind: "custom", Locale: "zh-CN"}
	byID := map[string]*Node{}
	for i, row := range rows[1:] {
		n := i + 2
		nid := cell(row, 0)
		if nid == "" && strings.Join(row, "") == "" {
			continue
		}
		p := &problems{}
		node := &Node{ID: nid, Name: cell(row, 2), NameEn: cell(row, 3), Text: cell(row, 4), TextEn: cell(row, 5), Kind: KindRequirement}
		checkField(p, "", "id", node.ID, MaxIDLen, true)
		checkField(p, "", "name", node.Name, MaxNameLen, false)
		checkField(p, "", "name_en", node.NameEn, MaxNameLen, false)
		checkField(p, "", "description", node.Text, MaxTextLen, false)
		checkField(p, "", "description_en", node.TextEn, MaxTextLen, false)
		if node.Name == "" && node.NameEn == "" && node.Text == "" && node.TextEn == "" {
			p.addf(": needs a name or a description")
		}
		if w := cell(row, 6); w != "" {
			v, err := strconv.ParseFloat(w, 64)
			if err != nil || !(v > 0 && v <= 1) {
				p.addf(": weight %q is not a number in (0, 1]", w)
			}
			node.Weight = v
		}
		if byID[nid] != nil {
			p.addf(": id %q is used twice", nid)
		}
		parent := cell(row, 1)
		if parent != "" && byID[parent] == nil {
			p.addf(": parent %q is not the id of an earlier row", parent)
		}
		if len(p.list) > 0 {
			for _, m := range p.list {
				re.add(n, "%s", strings.TrimPrefix(m, ": "))
			}
			continue
		}
		byID[nid] = node
		if parent == "" {
			fw.Nodes = append(fw.Nodes, node)
		} else {
			byID[parent].Children = append(byID[parent].Children, node)
		}
	}
	if err := re.err("framework workbook"); err != nil {
		return nil, err
	}
	fw.Walk(func(n, _ *Node, _ int) bool {
		n.Assessable = len(n.Children) == 0
		return true
	})
	if err := fw.Validate(); err != nil {
		return nil, err
	}
	return fw, nil
}

// Assessment item sheet columns (bilingual headers). An assessed object
// bound to an asset shows the asset's name under "Object", its address
// and its ID in the last two columns; the ID is what an import binds to.
var itemColumns = []string{"编号 ID", "安全类 Category", "控制点 Control point", "要求 Requirement", "测评对象 Object",
	"结果 Result", "高风险 High risk", "已消除 Resolved", "补偿措施 Compensation", "补偿调整 Adjustment",
	"证据 Evidence", "备注 Note", "整改建议 Remediation", "权重 Weight", "对象地址 Object address", "资产ID Asset ID"}

// Columns of the item sheet read by position.
const (
	colObject  = 4
	colAssetID = 15
)

// ObjectLabel is how the item sheet shows an assessed object bound to an
// asset: by the asset's name and address.
type ObjectLabel struct {
	Name    string
	Address string
}

// WriteItemsXLSX writes every assessable item of fw, one row per existing
// result (or one empty row per item without results), for assessors to
// fill in and re-import with ParseItemsXLSX. Objects are shown as stored.
func WriteItemsXLSX(w io.Writer, fw *Framework, results []ItemResult) error {
	return WriteItemsXLSXWith(w, fw, results, nil)
}

// WriteItemsXLSXWith is WriteItemsXLSX where objects maps the asset IDs
// of bound objects to their name and address: such an object shows the
// name under "Object", the address and the ID in their own columns.
func WriteItemsXLSXWith(w io.Writer, fw *Framework, results []ItemResult, objects map[string]ObjectLabel) error {
	byItem := map[string][]ItemResult{}
	for _, r := range results {
		byItem[r.Item] = append(byItem[r.Item], r)
	}
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Items"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("compliance: items workbook: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("compliance: items workbook: %w", err)
	}
	row := 1
	put := func(vals []string) error {
		cells := make([]any, len(vals))
		for i, v := range vals {
			cells[i] = report.SafeCellText(report.CleanText(v))
		}
		name, _ := excelize.CoordinatesToCellName(1, row)
		row++
		return sw.SetRow(name, cells)
	}
	if err := put(itemColumns); err != nil {
		return fmt.Errorf("compliance: items workbook: %w", err)
	}
	var cat, cp *Node
	var werr error
	fw.Walk(func(n, _ *Node, depth int) bool {
		switch depth {
		case 1:
			cat, cp = n, nil
		case 2:
			cp = n
		}
		if !n.Assessable {
			return true
		}
		cpName := ""
		if cp != nil && cp != n {
			cpName = cp.Title("zh-CN")
		}
		rs := byItem[n.ID]
		if len(rs) == 0 {
			rs = []ItemResult{{Item: n.ID}}
		}
		for _, r := range rs {
			adj, comp := "", ""
			if r.Compensation != nil {
				comp, adj = r.Compensation.Measure, strconv.FormatFloat(r.Compensation.Adjustment, 'f', -1, 64)
			}
			weight := ""
			if r.Weight > 0 {
				weight = strconv.FormatFloat(r.Weight, 'f', -1, 64)
			}
			object, address, assetID := r.Object, "", ""
			if l, ok := objects[r.Object]; ok && r.Object != "" {
				object, address, assetID = l.Name, l.Address, r.Object
			}
			if werr = put([]string{n.ID, cat.Title("zh-CN"), cpName, n.Description("zh-CN"), object, string(r.Result),
				yesNo(r.HighRisk), yesNo(r.Resolved), comp, adj, r.Evidence, r.Note, r.Remediation, weight, address, assetID}); werr != nil {
				return false
			}
		}
		return true
	})
	if werr != nil {
		return fmt.Errorf("compliance: items workbook: %w", werr)
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("compliance: items workbook: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("compliance: items workbook: %w", err)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return ""
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "", "否", "no", "n", "false", "0":
		return false, true
	case "是", "yes", "y", "true", "1":
		return true, true
	}
	return false, false
}

// ParseItemsXLSX reads assessment results from a workbook written by
// WriteItemsXLSX (same columns). Rows without a result are skipped; every
// other row must name an assessable item of fw and carry a valid result.
// Formulas and macros are refused; bad rows are reported by row number.
func ParseItemsXLSX(r io.Reader, fw *Framework) ([]ItemResult, error) {
	f, hasFormula, err := openXLSX(r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, re, err := sheetRows(f, hasFormula, len(itemColumns))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: the sheet is empty", ErrInvalid)
	}
	if got := cell(rows[0], 0); got != itemColumns[0] {
		re.add(1, "first header is %q, want %q (export the sheet from Vigil to get the layout)", got, itemColumns[0])
	}
	assessable := map[string]bool{}
	for _, n := range fw.Requirements() {
		assessable[n.ID] = true
	}
	var out []ItemResult
	for i, row := range rows[1:] {
		n := i + 2
		id, res := cell(row, 0), cell(row, 5)
		if res == "" {
			continue
		}
		ok := true
		bad := func(format string, args ...any) {
			re.add(n, format, args...)
			ok = false
		}
		if !assessable[id] {
			bad("item %q is not an assessable item of %s", id, fw.ID)
		}
		result, err := ParseResult(res)
		if err != nil {
			bad("result %q is not 符合, 部分符合, 不符合 or 不适用", res)
		}
		hr, ok1 := parseBool(cell(row, 6))
		resolved, ok2 := parseBool(cell(row, 7))
		if !ok1 || !ok2 {
			bad("high risk and resolved take 是/否 (yes/no)")
		}
		// The asset ID column wins over the object's name; a workbook of
		// an older layout has the object (ID or text) in its column only.
		object := cell(row, colObject)
		if assetID := cell(row, colAssetID); assetID != "" {
			object = assetID
		}
		it := ItemResult{Item: id, Object: object, Result: result, HighRisk: hr, Resolved: resolved,
			Evidence: cell(row, 10), Note: cell(row, 11), Remediation: cell(row, 12)}
		if comp, adj := cell(row, 8), cell(row, 9); comp != "" || adj != "" {
			v, err := strconv.ParseFloat(adj, 64)
			if err != nil || !(v >= 0 && v <= 1) || comp == "" {
				bad("a compensation needs a measure and an adjustment between 0 and 1 (got %q, %q)", comp, adj)
			}
			it.Compensation = &Compensation{Measure: comp, Adjustment: v}
		}
		if w := cell(row, 13); w != "" {
			v, err := strconv.ParseFloat(w, 64)
			if err != nil || !(v > 0 && v <= 1) {
				bad("weight %q is not a number in (0, 1]", w)
			}
			it.Weight = v
		}
		p := &problems{}
		for _, fld := range []struct{ name, v string }{{"object", it.Object}, {"evidence", it.Evidence}, {"note", it.Note}, {"remediation", it.Remediation}} {
			checkField(p, "", fld.name, fld.v, MaxTextLen, false)
		}
		for _, m := range p.list {
			bad("%s", strings.TrimPrefix(m, ": "))
		}
		if ok {
			out = append(out, it)
		}
	}
	if err := re.err("assessment workbook"); err != nil {
		return nil, err
	}
	return out, nil
}
