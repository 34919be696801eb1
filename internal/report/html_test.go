package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the renderer's output")

func renderHTMLString(t testing.TB, d *Document) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderHTML(context.Background(), d, &buf, Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestHTMLGolden renders testdata/*.json and compares with the .html.golden
// file next to each.
func TestHTMLGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got := renderHTMLString(t, loadDoc(t, filepath.Base(in)))
			golden := strings.TrimSuffix(in, ".json") + ".html.golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden) // #nosec G304 -- test samples
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("HTML (-want +got), rerun with -update if intended:\n%s", diff)
			}
		})
	}
}

// hostile returns the n-th attack string: markup, a template action and an
// attribute break-out.
func hostile(n int) string {
	return fmt.Sprintf(`<script>alert(%d)</script>{{.}}"><img src=x onerror=alert(%d)>'&`, n, n)
}

// fillStrings sets every string in v (recursively) to a distinct hostile
// value, except the fields named in skip, and returns how many it set.
func fillStrings(v reflect.Value, skip map[string]bool, n *int) {
	switch v.Kind() {
	case reflect.Pointer:
		fillStrings(v.Elem(), skip, n)
	case reflect.String:
		v.SetString(hostile(*n))
		*n++
	case reflect.Slice:
		for i := range v.Len() {
			fillStrings(v.Index(i), skip, n)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if !skip[v.Type().Field(i).Name] {
				fillStrings(v.Field(i), skip, n)
			}
		}
	}
}

// TestHTMLEscapesEveryField puts attack strings in every text field of a
// document (all but the validated enumerations) and checks, with an HTML
// tokenizer, that no element or attribute came from them and that each
// string survives as text.
func TestHTMLEscapesEveryField(t *testing.T) {
	for _, kind := range []ChartKind{ChartBar, ChartPie, ChartLine, ChartStackedBar} {
		t.Run(string(kind), func(t *testing.T) {
			d := bilingualDoc()
			d.Sections[0].Sections = []Section{{Heading: "nested", Paragraphs: []string{"p"}, Figures: []KeyFigure{{Label: "l", Value: "v", Note: "n"}}}}
			d.Sections[1].Charts[0].Kind = kind
			n := 0
			fillStrings(reflect.ValueOf(d), map[string]bool{"Lang": true, "Kind": true, "Emphasis": true}, &n)
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			out := renderHTMLString(t, d)

			all := inertText(t, out)
			for i := range n {
				if !strings.Contains(all, hostile(i)) {
					t.Errorf("attack string %d does not appear intact as text", i)
				}
			}
			if strings.Contains(out, "<script>") || strings.Contains(out, "<img") {
				t.Error("raw markup from the document reached the output")
			}
		})
	}
}

func TestHTMLChromeLanguage(t *testing.T) {
	d := bilingualDoc()
	zh := renderHTMLString(t, d)
	for _, want := range []string{`<html lang="zh-CN">`, ">目录<", ">摘要<", "<dt>生成时间</dt>", "<dt>密级</dt>", "表 1", "图 1", "事件概述"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh-CN output lacks %q", want)
		}
	}
	d.Lang = "en"
	en := renderHTMLString(t, d)
	for _, want := range []string{`<html lang="en">`, ">Contents<", ">Summary<", "<dt>Generated</dt>", "Table 1", "Figure 1"} {
		if !strings.Contains(en, want) {
			t.Errorf("en output lacks %q", want)
		}
	}
	if strings.Contains(en, "目录") {
		t.Error("en output has Chinese chrome")
	}
}

func TestHTMLSelfContained(t *testing.T) {
	out := renderHTMLString(t, loadDoc(t, "small.json"))
	if got := strings.Count(out, "<svg "); got != 4 {
		t.Errorf("%d inline SVG charts, want 4", got)
	}
	for _, want := range []string{"<rect ", "<polyline ", "<path d=\"M", "@page { size: A4", "break-before: page", "Noto Sans CJK SC", `href="#s1"`, `id="s1.1"`, `class="sev-critical"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "<script", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("output contains %q", bad)
		}
	}
}

// TestChartGeometry checks computed values rather than drawing details: bar
// heights are proportional to values and a pie's slices close the circle.
func TestChartGeometry(t *testing.T) {
	g := buildChart(&Chart{Kind: ChartBar, Labels: []string{"a", "b"}, Series: []Series{{Name: "s", Values: []float64{10, 20}}}})
	if len(g.Rects) != 2 || g.Rects[1].H < 1.99*g.Rects[0].H || g.Rects[1].H > 2.01*g.Rects[0].H {
		t.Errorf("bars %+v not proportional to 10 and 20", g.Rects)
	}
	p := buildChart(&Chart{Kind: ChartPie, Labels: []string{"a", "b", "c"}, Series: []Series{{Values: []float64{1, 0, 3}}}})
	if len(p.Slices) != 2 || !strings.Contains(p.Slices[1].D, " 1 1 ") {
		t.Errorf("pie slices %+v: want 2 with the 75%% one large-arc", p.Slices)
	}
	whole := buildChart(&Chart{Kind: ChartPie, Labels: []string{"a"}, Series: []Series{{Values: []float64{5}}}})
	if len(whole.Circles) != 1 || len(whole.Slices) != 0 {
		t.Errorf("a single 100%% slice should be a circle: %+v", whole)
	}
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	vals := make([]float64, 100)
	l := buildChart(&Chart{Kind: ChartLine, Labels: many, Series: []Series{{Values: vals}}})
	x := 0
	for _, tx := range l.Texts {
		if tx.Class == "xlabel" {
			x++
		}
	}
	if x > maxXLabels {
		t.Errorf("%d x labels drawn, at most %d wanted", x, maxXLabels)
	}
}

// inertText tokenizes rendered HTML, fails the test on any element or
// attribute that could run code or load something, and returns the decoded
// text and attribute values, one per line.
func inertText(t *testing.T, out string) string {
	t.Helper()
	var texts strings.Builder
	inBody := false
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			switch tok.Data {
			case "script", "img", "iframe", "object", "embed", "link", "base", "form", "input":
				t.Errorf("element <%s> in output", tok.Data)
			case "meta":
				if inBody {
					t.Errorf("<meta> in the body: %s", tok)
				}
			case "body":
				inBody = true
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("event handler attribute %s=%q on <%s>", a.Key, a.Val, tok.Data)
				}
				if (a.Key == "href" || a.Key == "src") && !strings.HasPrefix(a.Val, "#") {
					t.Errorf("%s=%q leaves the document", a.Key, a.Val)
				}
				texts.WriteString(a.Val + "\n")
			}
		case html.TextToken:
			texts.WriteString(tok.Data + "\n")
		}
	}
	return texts.String()
}
