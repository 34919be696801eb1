package report

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// parseTemplates parses the embedded templates. It runs per render (a few
// hundred microseconds) so the package holds no mutable state.
func parseTemplates() (*template.Template, error) {
	t, err := template.New("report").Funcs(template.FuncMap{
		"sectionArgs": func(s sectionView, l labels) sectionArgs { return sectionArgs{S: s, L: l} },
		"chartArgs":   func(c chartView, l labels) chartArgs { return chartArgs{C: c, L: l} },
	}).ParseFS(templateFS, "templates/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("report: parse templates: %w", err)
	}
	return t, nil
}

// htmlView is what the template sees: the document plus everything computed
// from it (numbering, anchors, chart geometry, chrome labels).
type htmlView struct {
	Doc       *Document
	L         labels
	Generated string
	Sections  []sectionView
}

type sectionView struct {
	Num, ID    string
	Level      int // 1 for a top section
	Heading    string
	Paragraphs []string
	Figures    []KeyFigure
	Tables     []tableView
	Charts     []chartView
	Sections   []sectionView
}

type tableView struct {
	Num     int
	Caption string
	Columns []string
	Rows    []rowView
}

type rowView struct {
	Class string // "sev-high" etc., from the validated set only
	Cells []string
}

type chartView struct {
	Num int
	svgChart
}

// sectionArgs and chartArgs carry the labels into recursive templates.
type sectionArgs struct {
	S sectionView
	L labels
}

type chartArgs struct {
	C chartView
	L labels
}

// counters numbers tables and charts through the document.
type counters struct{ tables, charts int }

func buildSections(ss []Section, prefix string, level int, c *counters) []sectionView {
	out := make([]sectionView, 0, len(ss))
	for i := range ss {
		s := &ss[i]
		num := prefix + strconv.Itoa(i+1)
		v := sectionView{
			Num: num, ID: "s" + num, Level: level, Heading: s.Heading,
			Paragraphs: s.Paragraphs, Figures: s.Figures,
		}
		for ti := range s.Tables {
			t := &s.Tables[ti]
			c.tables++
			tv := tableView{Num: c.tables, Caption: t.Caption, Columns: t.Columns, Rows: make([]rowView, len(t.Rows))}
			for ri, row := range t.Rows {
				tv.Rows[ri].Cells = row
				if ri < len(t.Emphasis) && t.Emphasis[ri] != "" && validEmphasis(t.Emphasis[ri]) {
					tv.Rows[ri].Class = "sev-" + t.Emphasis[ri]
				}
			}
			v.Tables = append(v.Tables, tv)
		}
		for ci := range s.Charts {
			c.charts++
			v.Charts = append(v.Charts, chartView{Num: c.charts, svgChart: buildChart(&s.Charts[ci])})
		}
		v.Sections = buildSections(s.Sections, num+".", level+1, c)
		out = append(out, v)
	}
	return out
}

// formatTime shows a UTC timestamp to the minute.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// RenderHTML validates doc and writes it as one self-contained HTML file:
// inline CSS (A4 print rules, page breaks before top sections), a table of
// contents, charts as inline SVG, no script and no external URL. All document
// text is escaped by html/template.
func RenderHTML(ctx context.Context, doc *Document, w io.Writer, opts Options) error {
	var buf bytes.Buffer
	if err := renderHTML(ctx, doc, &buf); err != nil {
		return err
	}
	opts.logger().Debug("report: rendered HTML", "bytes", buf.Len())
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("report: write HTML: %w", err)
	}
	return nil
}

func renderHTML(ctx context.Context, doc *Document, buf *bytes.Buffer) error {
	if err := doc.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	t, err := parseTemplates()
	if err != nil {
		return err
	}
	v := htmlView{Doc: doc, L: labelsFor(doc.Lang), Generated: formatTime(doc.GeneratedAt)}
	v.Sections = buildSections(doc.Sections, "", 1, &counters{})
	if err := t.ExecuteTemplate(buf, "document", v); err != nil {
		return fmt.Errorf("report: render HTML: %w", err)
	}
	return nil
}
