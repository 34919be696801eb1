package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Document is one deliverable report. All text is plain text (never markup)
// and may come from untrusted sources; renderers escape it.
type Document struct {
	Title          string      `json:"title"`
	Subtitle       string      `json:"subtitle,omitempty"`
	Tenant         string      `json:"tenant,omitempty"`
	Lang           string      `json:"lang,omitempty"` // "en" (default) or "zh-CN"
	GeneratedAt    time.Time   `json:"generated_at,omitzero"`
	Author         string      `json:"author,omitempty"`
	Classification string      `json:"classification,omitempty"` // e.g. "TLP:AMBER", "confidential"
	Summary        []KeyFigure `json:"summary,omitempty"`
	Sections       []Section   `json:"sections,omitempty"`
}

// KeyFigure is one headline number: "Critical findings: 3 (+1 since May)".
type KeyFigure struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Note  string `json:"note,omitempty"`
}

// Section is a headed part of a report; sections nest up to MaxDepth levels.
type Section struct {
	Heading    string      `json:"heading"`
	Paragraphs []string    `json:"paragraphs,omitempty"`
	Figures    []KeyFigure `json:"figures,omitempty"`
	Tables     []Table     `json:"tables,omitempty"`
	Charts     []Chart     `json:"charts,omitempty"`
	Sections   []Section   `json:"sections,omitempty"`
}

// Table is a captioned grid of text cells. Every row has exactly one cell per
// column. Emphasis, when present, has one entry per row naming its class
// (see Emphasis constants; "" for none), used to colour severity rows.
type Table struct {
	Caption  string     `json:"caption,omitempty"`
	Columns  []string   `json:"columns"`
	Rows     [][]string `json:"rows"`
	Emphasis []string   `json:"emphasis,omitempty"`
}

// Row emphasis classes accepted in Table.Emphasis.
const (
	EmphasisCritical = "critical"
	EmphasisHigh     = "high"
	EmphasisMedium   = "medium"
	EmphasisLow      = "low"
	EmphasisInfo     = "info"
	EmphasisOK       = "ok"
)

// ChartKind is the kind of a Chart.
type ChartKind string

// The chart kinds.
const (
	ChartBar        ChartKind = "bar"
	ChartLine       ChartKind = "line"
	ChartPie        ChartKind = "pie"
	ChartStackedBar ChartKind = "stacked-bar"
)

// Chart is drawn as inline SVG in HTML and PDF. Each series has one value per
// label. A pie has exactly one series of non-negative values; a stacked bar
// has non-negative values.
type Chart struct {
	Kind   ChartKind `json:"kind"`
	Title  string    `json:"title,omitempty"`
	Labels []string  `json:"labels"`
	Series []Series  `json:"series"`
}

// Series is one named row of chart values.
type Series struct {
	Name   string    `json:"name"`
	Values []float64 `json:"values"`
}

// Size bounds enforced by Validate and Decode.
const (
	MaxDocumentBytes = 64 << 20  // JSON input accepted by Decode
	MaxShortText     = 500       // runes in a title, heading, caption, label, column name, figure
	MaxParagraph     = 20_000    // runes in one paragraph
	MaxCell          = 4_000     // runes in one table cell (Excel's own limit is 32,767)
	MaxDepth         = 4         // nesting levels of sections
	MaxSections      = 1_000     // sections in the whole document, all levels
	MaxParagraphs    = 500       // paragraphs in one section
	MaxFigures       = 100       // key figures in the summary or one section
	MaxTables        = 250       // tables in the whole document
	MaxColumns       = 64        // columns in one table
	MaxRows          = 200_000   // rows in one table
	MaxCells         = 2_000_000 // table cells in the whole document
	MaxCharts        = 200       // charts in the whole document
	MaxSeries        = 12        // series in one chart
	MaxChartPoints   = 500       // labels (points per series) in one chart
	maxErrors        = 10        // problems reported by one Validate
)

// validEmphasis reports whether e is an accepted Table.Emphasis class.
func validEmphasis(e string) bool {
	switch e {
	case "", EmphasisCritical, EmphasisHigh, EmphasisMedium, EmphasisLow, EmphasisInfo, EmphasisOK:
		return true
	}
	return false
}

// ValidationError is one problem found by Validate, at a JSON-like path such
// as sections[2].tables[0].rows[7][3].
type ValidationError struct {
	Path string
	Msg  string
}

// Error returns "path: message".
func (e *ValidationError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// ErrInvalid is wrapped by every error of Validate and Decode that is about
// the content of a document.
var ErrInvalid = errors.New("invalid report document")

// validator collects problems and the running totals of a document.
type validator struct {
	errs                            []error
	sections, tables, cells, charts int
	truncated                       bool
}

func (v *validator) addf(path, format string, args ...any) {
	if len(v.errs) >= maxErrors {
		v.truncated = true
		return
	}
	v.errs = append(v.errs, &ValidationError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) text(path, s string, limit int, required bool) {
	if msg := checkText(s, limit, required); msg != "" {
		v.addf(path, "%s", msg)
	}
}

// checkText returns what is wrong with s, or "". Paths are only formatted
// when something is wrong, which keeps validating large tables cheap.
func checkText(s string, limit int, required bool) string {
	if required && strings.TrimSpace(s) == "" {
		return "is empty"
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if len(s) > limit { // bytes ≥ runes: count only when it can matter
		if n := utf8.RuneCountInString(s); n > limit {
			return fmt.Sprintf("has %d characters, more than %d", n, limit)
		}
	}
	for _, r := range s {
		// Refused rather than silently altered: the caller decides
		// (CleanText) how evidence is changed.
		if badRune(r) {
			return fmt.Sprintf("contains control character %U", r)
		}
	}
	return ""
}

// badRune reports the characters Validate refuses: C0 controls other than
// tab, LF and CR, DEL, and the non-characters U+FFFE and U+FFFF (XML 1.0, and
// so XLSX, cannot carry them).
func badRune(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || r == 0xfffe || r == 0xffff
}

// CleanText returns s with invalid UTF-8 and every character Validate
// refuses replaced by U+FFFD, for producers that quote raw log lines or
// scanner output in a report.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if badRune(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// Validate checks that the document is within every size bound and that its
// tables and charts are well formed. It reports up to ten problems at once,
// each a *ValidationError wrapped with ErrInvalid.
func (d *Document) Validate() error {
	if d == nil {
		return fmt.Errorf("%w: no document", ErrInvalid)
	}
	v := &validator{}
	v.text("title", d.Title, MaxShortText, true)
	v.text("subtitle", d.Subtitle, MaxShortText, false)
	v.text("tenant", d.Tenant, MaxShortText, false)
	v.text("author", d.Author, MaxShortText, false)
	v.text("classification", d.Classification, MaxShortText, false)
	if d.Lang != "" && d.Lang != "en" && d.Lang != "zh-CN" {
		v.addf("lang", "unsupported language %q (supported: en, zh-CN)", d.Lang)
	}
	v.figures("summary", d.Summary)
	for i := range d.Sections {
		v.section(fmt.Sprintf("sections[%d]", i), &d.Sections[i], 1)
	}
	if len(v.errs) == 0 {
		return nil
	}
	if v.truncated {
		v.errs = append(v.errs, errors.New("(further problems not listed)"))
	}
	return fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(v.errs...))
}

func (v *validator) figures(path string, figs []KeyFigure) {
	if len(figs) > MaxFigures {
		v.addf(path, "has %d key figures, more than %d", len(figs), MaxFigures)
		return
	}
	for i, f := range figs {
		p := fmt.Sprintf("%s[%d]", path, i)
		v.text(p+".label", f.Label, MaxShortText, true)
		v.text(p+".value", f.Value, MaxShortText, false)
		v.text(p+".note", f.Note, MaxShortText, false)
	}
}

func (v *validator) section(path string, s *Section, depth int) {
	if depth > MaxDepth {
		v.addf(path, "sections nest deeper than %d levels", MaxDepth)
		return
	}
	v.sections++
	if v.sections > MaxSections {
		if v.sections == MaxSections+1 {
			v.addf(path, "document has more than %d sections", MaxSections)
		}
		return
	}
	v.text(path+".heading", s.Heading, MaxShortText, true)
	if len(s.Paragraphs) > MaxParagraphs {
		v.addf(path+".paragraphs", "has %d paragraphs, more than %d", len(s.Paragraphs), MaxParagraphs)
	} else {
		for i, p := range s.Paragraphs {
			v.text(fmt.Sprintf("%s.paragraphs[%d]", path, i), p, MaxParagraph, false)
		}
	}
	v.figures(path+".figures", s.Figures)
	for i := range s.Tables {
		v.table(fmt.Sprintf("%s.tables[%d]", path, i), &s.Tables[i])
	}
	for i := range s.Charts {
		v.chart(fmt.Sprintf("%s.charts[%d]", path, i), &s.Charts[i])
	}
	for i := range s.Sections {
		v.section(fmt.Sprintf("%s.sections[%d]", path, i), &s.Sections[i], depth+1)
	}
}

func (v *validator) table(path string, t *Table) {
	v.tables++
	if v.tables == MaxTables+1 {
		v.addf(path, "document has more than %d tables", MaxTables)
	}
	if v.tables > MaxTables {
		return
	}
	v.text(path+".caption", t.Caption, MaxShortText, false)
	switch {
	case len(t.Columns) == 0:
		v.addf(path+".columns", "a table needs at least one column")
		return
	case len(t.Columns) > MaxColumns:
		v.addf(path+".columns", "has %d columns, more than %d", len(t.Columns), MaxColumns)
		return
	}
	for i, c := range t.Columns {
		v.text(fmt.Sprintf("%s.columns[%d]", path, i), c, MaxShortText, false)
	}
	if len(t.Rows) > MaxRows {
		v.addf(path+".rows", "has %d rows, more than %d", len(t.Rows), MaxRows)
		return
	}
	if len(t.Emphasis) != 0 && len(t.Emphasis) != len(t.Rows) {
		v.addf(path+".emphasis", "has %d entries for %d rows (give one per row, or none)", len(t.Emphasis), len(t.Rows))
	}
	for i, e := range t.Emphasis {
		if !validEmphasis(e) {
			v.addf(fmt.Sprintf("%s.emphasis[%d]", path, i), "unknown emphasis %q (use critical, high, medium, low, info, ok or \"\")", e)
			break
		}
	}
	for i, row := range t.Rows {
		if len(row) != len(t.Columns) {
			v.addf(fmt.Sprintf("%s.rows[%d]", path, i), "has %d cells, the table has %d columns", len(row), len(t.Columns))
			continue
		}
		v.cells += len(row)
		if v.cells > MaxCells {
			v.addf(fmt.Sprintf("%s.rows[%d]", path, i), "document has more than %d table cells", MaxCells)
			return
		}
		for j, c := range row {
			if msg := checkText(c, MaxCell, false); msg != "" {
				v.addf(fmt.Sprintf("%s.rows[%d][%d]", path, i, j), "%s", msg)
			}
		}
	}
}

func (v *validator) chart(path string, c *Chart) {
	v.charts++
	if v.charts == MaxCharts+1 {
		v.addf(path, "document has more than %d charts", MaxCharts)
	}
	if v.charts > MaxCharts {
		return
	}
	switch c.Kind {
	case ChartBar, ChartLine, ChartPie, ChartStackedBar:
	default:
		v.addf(path+".kind", "unknown chart kind %q (use bar, line, pie or stacked-bar)", c.Kind)
		return
	}
	v.text(path+".title", c.Title, MaxShortText, false)
	if len(c.Labels) == 0 || len(c.Labels) > MaxChartPoints {
		v.addf(path+".labels", "has %d labels, want 1 to %d", len(c.Labels), MaxChartPoints)
		return
	}
	for i, l := range c.Labels {
		v.text(fmt.Sprintf("%s.labels[%d]", path, i), l, MaxShortText, false)
	}
	if len(c.Series) == 0 || len(c.Series) > MaxSeries {
		v.addf(path+".series", "has %d series, want 1 to %d", len(c.Series), MaxSeries)
		return
	}
	if c.Kind == ChartPie && len(c.Series) != 1 {
		v.addf(path+".series", "a pie chart has exactly one series, not %d", len(c.Series))
		return
	}
	for i, s := range c.Series {
		p := fmt.Sprintf("%s.series[%d]", path, i)
		v.text(p+".name", s.Name, MaxShortText, false)
		if len(s.Values) != len(c.Labels) {
			v.addf(p+".values", "has %d values for %d labels", len(s.Values), len(c.Labels))
			continue
		}
		sum := 0.0
		for j, x := range s.Values {
			switch {
			case math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e15:
				v.addf(fmt.Sprintf("%s.values[%d]", p, j), "value %v is not a finite number within ±1e15", x)
				return
			case x < 0 && (c.Kind == ChartPie || c.Kind == ChartStackedBar):
				v.addf(fmt.Sprintf("%s.values[%d]", p, j), "a %s chart needs values ≥ 0, not %v", c.Kind, x)
				return
			}
			sum += x
		}
		if c.Kind == ChartPie && sum <= 0 {
			v.addf(p+".values", "a pie chart needs a positive total")
		}
	}
}

// Decode reads one JSON document (at most MaxDocumentBytes, unknown fields
// rejected) and validates it. Syntax and type errors name the line and column.
func Decode(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("report: read document: %w", err)
	}
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxDocumentBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, jsonErrorAt(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: line %s: trailing data after the document", ErrInvalid, lineCol(data, dec.InputOffset()))
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// jsonErrorAt prefixes a decoding error with its line and column when the
// error carries an offset.
func jsonErrorAt(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "line " + lineCol(data, se.Offset) + ": " + err.Error()
	case errors.As(err, &te):
		return "line " + lineCol(data, te.Offset) + ": " + err.Error()
	case errors.Is(err, io.EOF):
		return "empty input"
	}
	return err.Error()
}

func lineCol(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return strconv.Itoa(line) + ":" + strconv.Itoa(col)
}
