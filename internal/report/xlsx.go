package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Excel's own limits on sheet names.
const (
	maxSheetName      = 31
	sheetNameReserved = "History" // Excel reserves it, case-insensitively
)

// SafeCellText neutralises spreadsheet formula injection (CWE-1236). Text
// that starts with = + - @, a tab or a carriage return is returned with a
// leading apostrophe ('), except a plain decimal number such as -12.5.
//
// The XLSX renderer already stores every cell as a string, never a formula,
// so Excel and LibreOffice show "=1+2" as text. The apostrophe is there for
// the next step: when someone saves the sheet as CSV, or copies cells into
// another tool, the value no longer starts with a formula trigger. The cost
// is a visible apostrophe in those (rare) cells; the original text is the
// value with it removed.
func SafeCellText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if s[0] == '-' && isPlainNumber(s[1:]) {
			return s
		}
		return "'" + s
	}
	return s
}

// isPlainNumber reports whether s is digits with at most one inner dot.
func isPlainNumber(s string) bool {
	if s == "" {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return true
}

// sheetNamer gives each sheet a valid, unique name.
type sheetNamer struct{ used map[string]bool }

// name sanitises want (no []:*?/\, no leading or trailing apostrophe, at
// most 31 UTF-16 units, not "History"), falls back to fallback when nothing
// is left, and appends " (2)", " (3)"… until the name is unique ignoring case.
func (n *sheetNamer) name(want, fallback string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune(`[]:*?/\`, r):
			return '_'
		case unicode.IsControl(r) || r == utf8.RuneError:
			return -1
		}
		return r
	}, want)
	clean = strings.TrimSpace(strings.Trim(clean, "'"))
	if clean == "" || strings.EqualFold(clean, sheetNameReserved) {
		clean = fallback
	}
	for i := 1; ; i++ {
		suffix := ""
		if i > 1 {
			suffix = fmt.Sprintf(" (%d)", i)
		}
		cand := strings.TrimRight(cutUTF16(clean, maxSheetName-len(suffix)), " '") + suffix
		if !n.used[strings.ToLower(cand)] {
			n.used[strings.ToLower(cand)] = true
			return cand
		}
	}
}

// cutUTF16 cuts s to at most n UTF-16 code units, on a rune boundary.
func cutUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if units+u > n {
			return s[:i]
		}
		units += u
	}
	return s
}

// displayWidth estimates a column width in Excel character units: East Asian
// wide characters count twice.
func displayWidth(s string) int {
	w := 0
	for _, line := range strings.Split(s, "\n") {
		lw := 0
		for _, r := range line {
			if unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hangul, r) || unicode.Is(unicode.Hiragana, r) ||
				unicode.Is(unicode.Katakana, r) || (r >= 0xFF00 && r <= 0xFFEF) || (r >= 0x3000 && r <= 0x303F) {
				lw += 2
			} else {
				lw++
			}
		}
		w = max(w, lw)
	}
	return w
}

// columnWidth clamps a content width to a readable column.
func columnWidth(chars int) float64 {
	return float64(min(max(chars+2, 8), 60))
}

// xlsxStyles are the style ids of one workbook.
type xlsxStyles struct {
	title, bold, header, wrap int
	emphasis                  map[string]int
}

func newXLSXStyles(f *excelize.File) (xlsxStyles, error) {
	var s xlsxStyles
	var err error
	mk := func(st *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = f.NewStyle(st)
		return id
	}
	top := &excelize.Alignment{Vertical: "top", WrapText: true}
	s.title = mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}})
	s.bold = mk(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: top})
	s.header = mk(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F3F5F8"}},
		Border:    []excelize.Border{{Type: "bottom", Color: "0B4F8A", Style: 2}},
		Alignment: top,
	})
	s.wrap = mk(&excelize.Style{Alignment: top})
	s.emphasis = map[string]int{}
	for class, colour := range map[string]string{
		EmphasisCritical: "F6E7FA", EmphasisHigh: "FDECEA", EmphasisMedium: "FFF4E5",
		EmphasisLow: "FFFDE7", EmphasisInfo: "E8F1FB", EmphasisOK: "EDF7EE",
	} {
		s.emphasis[class] = mk(&excelize.Style{
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{colour}},
			Alignment: top,
		})
	}
	if err != nil {
		return s, fmt.Errorf("report: XLSX style: %w", err)
	}
	return s, nil
}

// xlsxTable is a table with the sheet it goes to and the section it is in.
type xlsxTable struct {
	t              *Table
	sheet, section string
}

// xlsxChart is a chart with its figure number and the sheet it goes to.
type xlsxChart struct {
	c              *Chart
	num            int
	sheet, section string
}

func collectCharts(ss []Section, prefix string, out []xlsxChart) []xlsxChart {
	for i := range ss {
		num := fmt.Sprintf("%s%d", prefix, i+1)
		for ci := range ss[i].Charts {
			out = append(out, xlsxChart{c: &ss[i].Charts[ci], num: len(out) + 1, section: num + " " + ss[i].Heading})
		}
		out = collectCharts(ss[i].Sections, num+".", out)
	}
	return out
}

func collectTables(ss []Section, prefix string, out []xlsxTable) []xlsxTable {
	for i := range ss {
		num := fmt.Sprintf("%s%d", prefix, i+1)
		for ti := range ss[i].Tables {
			out = append(out, xlsxTable{t: &ss[i].Tables[ti], section: num + " " + ss[i].Heading})
		}
		out = collectTables(ss[i].Sections, num+".", out)
	}
	return out
}

// RenderXLSX validates doc and writes a workbook: a Summary sheet (title,
// tenant, generation time, key figures and a linked list of the other
// sheets), then
// one sheet per table with a bold, frozen header row and column widths from
// the content, then one sheet per chart holding its data and a native Excel
// chart of it. Every cell is a string passed through SafeCellText, so no
// document text becomes a formula.
func RenderXLSX(ctx context.Context, doc *Document, w io.Writer, opts Options) error {
	if err := doc.Validate(); err != nil {
		return err
	}
	l := labelsFor(doc.Lang)
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	st, err := newXLSXStyles(f)
	if err != nil {
		return err
	}
	namer := &sheetNamer{used: map[string]bool{}}
	summary := namer.name(l.Summary, "Summary")
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return fmt.Errorf("report: XLSX summary sheet: %w", err)
	}
	tables := collectTables(doc.Sections, "", nil)
	for i := range tables {
		t := &tables[i]
		fallback := fmt.Sprintf("%s %d", l.Table, i+1)
		want := t.t.Caption
		if want == "" {
			want = fallback
		}
		t.sheet = namer.name(want, fallback)
	}
	charts := collectCharts(doc.Sections, "", nil)
	for i := range charts {
		c := &charts[i]
		fallback := fmt.Sprintf("%s %d", l.Chart, c.num)
		want := c.c.Title
		if want == "" {
			want = fallback
		}
		c.sheet = namer.name(want, fallback)
	}
	if err := writeSummary(f, summary, doc, l, st, tables, charts); err != nil {
		return err
	}
	for i := range tables {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := writeTableSheet(f, &tables[i], st); err != nil {
			return err
		}
	}
	for i := range charts {
		if err := writeChartSheet(f, &charts[i], st); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return fmt.Errorf("report: write XLSX: %w", err)
	}
	opts.logger().Debug("report: rendered XLSX", "bytes", buf.Len(), "sheets", len(tables)+len(charts)+1)
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("report: write XLSX: %w", err)
	}
	return nil
}

func writeSummary(f *excelize.File, sheet string, doc *Document, l labels, st xlsxStyles, tables []xlsxTable, charts []xlsxChart) error {
	row := 1
	var werr error
	set := func(col int, v string, style int) {
		if werr != nil {
			return
		}
		cell, err := excelize.CoordinatesToCellName(col, row)
		if err == nil {
			err = f.SetCellStr(sheet, cell, SafeCellText(v))
		}
		if err == nil && style != 0 {
			err = f.SetCellStyle(sheet, cell, cell, style)
		}
		werr = err
	}
	widths := [3]int{12, 12, 12}
	pair := func(k, v string) {
		if v == "" {
			return
		}
		set(1, k, st.bold)
		set(2, v, st.wrap)
		widths[0], widths[1] = max(widths[0], displayWidth(k)), max(widths[1], displayWidth(v))
		row++
	}
	set(1, doc.Title, st.title)
	row++
	if doc.Subtitle != "" {
		set(1, doc.Subtitle, 0)
		row++
	}
	row++
	pair(l.Tenant, doc.Tenant)
	pair(l.Generated, formatTime(doc.GeneratedAt))
	pair(l.Author, doc.Author)
	pair(l.Classification, doc.Classification)
	if len(doc.Summary) > 0 {
		row++
		set(1, l.Label, st.header)
		set(2, l.Value, st.header)
		set(3, l.Note, st.header)
		row++
		for _, k := range doc.Summary {
			set(1, k.Label, st.wrap)
			set(2, k.Value, st.wrap)
			set(3, k.Note, st.wrap)
			widths[0] = max(widths[0], displayWidth(k.Label))
			widths[1] = max(widths[1], displayWidth(k.Value))
			widths[2] = max(widths[2], displayWidth(k.Note))
			row++
		}
	}
	// Contents: one row per table and chart sheet, linked to it.
	type entry struct{ sheet, caption, section string }
	var entries []entry
	for _, t := range tables {
		entries = append(entries, entry{t.sheet, t.t.Caption, t.section})
	}
	for _, c := range charts {
		entries = append(entries, entry{c.sheet, c.c.Title, c.section})
	}
	if len(entries) > 0 {
		row++
		set(1, l.Sheet, st.header)
		set(2, l.Caption, st.header)
		set(3, l.Section, st.header)
		row++
		for _, e := range entries {
			set(1, e.sheet, 0)
			set(2, e.caption, 0)
			set(3, e.section, 0)
			if werr == nil {
				cell, _ := excelize.CoordinatesToCellName(1, row)
				werr = f.SetCellHyperLink(sheet, cell, sheetRef(e.sheet)+"A1", "Location")
			}
			widths[0] = max(widths[0], displayWidth(e.sheet))
			widths[1] = max(widths[1], displayWidth(e.caption))
			widths[2] = max(widths[2], displayWidth(e.section))
			row++
		}
	}
	for i, w := range widths {
		if werr != nil {
			break
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		werr = f.SetColWidth(sheet, col, col, columnWidth(w))
	}
	if werr != nil {
		return fmt.Errorf("report: XLSX sheet %q: %w", sheet, werr)
	}
	return nil
}

// writeTableSheet streams one table into its own sheet.
func writeTableSheet(f *excelize.File, t *xlsxTable, st xlsxStyles) error {
	if _, err := f.NewSheet(t.sheet); err != nil {
		return fmt.Errorf("report: XLSX sheet %q: %w", t.sheet, err)
	}
	sw, err := f.NewStreamWriter(t.sheet)
	if err != nil {
		return fmt.Errorf("report: XLSX sheet %q: %w", t.sheet, err)
	}
	fail := func(err error) error { return fmt.Errorf("report: XLSX sheet %q: %w", t.sheet, err) }

	widths := make([]int, len(t.t.Columns))
	for i, c := range t.t.Columns {
		widths[i] = displayWidth(c)
	}
	for _, row := range t.t.Rows {
		for i, c := range row {
			if len(c) > widths[i] { // cheap bound before the exact count
				widths[i] = max(widths[i], displayWidth(c))
			}
		}
	}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, columnWidth(w)); err != nil {
			return fail(err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return fail(err)
	}
	cells := make([]any, len(t.t.Columns))
	for i, c := range t.t.Columns {
		cells[i] = excelize.Cell{StyleID: st.header, Value: SafeCellText(c)}
	}
	if err := sw.SetRow("A1", cells); err != nil {
		return fail(err)
	}
	for r, row := range t.t.Rows {
		style := st.wrap
		if r < len(t.t.Emphasis) {
			if id, ok := st.emphasis[t.t.Emphasis[r]]; ok {
				style = id
			}
		}
		for i, c := range row {
			cells[i] = excelize.Cell{StyleID: style, Value: SafeCellText(c)}
		}
		cell, err := excelize.CoordinatesToCellName(1, r+2)
		if err != nil {
			return fail(err)
		}
		if err := sw.SetRow(cell, cells); err != nil {
			return fail(err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fail(err)
	}
	return nil
}

// sheetRef quotes a sheet name for a cell reference: 'Name'!
func sheetRef(sheet string) string {
	return "'" + strings.ReplaceAll(sheet, "'", "''") + "'!"
}

// writeChartSheet writes a chart's data (labels down column A, one column
// per series) and draws it as a native chart beside the data.
func writeChartSheet(f *excelize.File, xc *xlsxChart, st xlsxStyles) error {
	c, sheet := xc.c, xc.sheet
	fail := func(err error) error { return fmt.Errorf("report: XLSX chart sheet %q: %w", sheet, err) }
	if _, err := f.NewSheet(sheet); err != nil {
		return fail(err)
	}
	cell := func(col, row int) string {
		name, _ := excelize.CoordinatesToCellName(col, row)
		return name
	}
	labelWidth := 8
	for i, l := range c.Labels {
		if err := f.SetCellStr(sheet, cell(1, i+2), SafeCellText(l)); err != nil {
			return fail(err)
		}
		labelWidth = max(labelWidth, displayWidth(l))
	}
	if err := f.SetColWidth(sheet, "A", "A", columnWidth(labelWidth)); err != nil {
		return fail(err)
	}
	last := len(c.Labels) + 1
	ref := sheetRef(sheet)
	chart := &excelize.Chart{
		Type:      excelize.Col,
		Dimension: excelize.ChartDimension{Width: 640, Height: 320},
		Legend:    excelize.ChartLegend{Position: "bottom"},
	}
	vary := c.Kind == ChartPie // one colour per slice, one per series otherwise
	chart.VaryColors = &vary
	switch c.Kind {
	case ChartStackedBar:
		chart.Type = excelize.ColStacked
	case ChartLine:
		chart.Type = excelize.Line
	case ChartPie:
		chart.Type = excelize.Pie
	}
	if c.Title != "" {
		chart.Title = excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.Title}}}
	}
	for si, s := range c.Series {
		col := si + 2
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("%d", si+1)
		}
		if err := f.SetCellStr(sheet, cell(col, 1), SafeCellText(name)); err != nil {
			return fail(err)
		}
		if err := f.SetCellStyle(sheet, cell(col, 1), cell(col, 1), st.header); err != nil {
			return fail(err)
		}
		for i, v := range s.Values {
			if err := f.SetCellFloat(sheet, cell(col, i+2), v, -1, 64); err != nil {
				return fail(err)
			}
		}
		colName, _ := excelize.ColumnNumberToName(col)
		chart.Series = append(chart.Series, excelize.ChartSeries{
			Name:       ref + "$" + colName + "$1",
			Categories: fmt.Sprintf("%s$A$2:$A$%d", ref, last),
			Values:     fmt.Sprintf("%s$%s$2:$%s$%d", ref, colName, colName, last),
		})
	}
	if err := f.SetCellStyle(sheet, "A1", "A1", st.header); err != nil {
		return fail(err)
	}
	if err := f.AddChart(sheet, cell(len(c.Series)+3, 2), chart); err != nil {
		return fail(err)
	}
	return nil
}
