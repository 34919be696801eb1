package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// loadDoc decodes a testdata document.
func loadDoc(t testing.TB, name string) *Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name)) // #nosec G304 -- test samples
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return d
}

// bilingualDoc is a document with English and Chinese text, a table and a chart.
func bilingualDoc() *Document {
	return &Document{
		Title:          "Incident response report IR-2026-017",
		Subtitle:       "勒索软件事件处置报告",
		Tenant:         "ACME 集团",
		Lang:           "zh-CN",
		GeneratedAt:    time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC),
		Author:         "Vigil SOC",
		Classification: "TLP:RED",
		Summary:        []KeyFigure{{Label: "受影响主机", Value: "7"}, {Label: "Dwell time", Value: "36 h"}},
		Sections: []Section{
			{
				Heading:    "事件概述",
				Paragraphs: []string{"2026-05-28 02:14 UTC, EDR alerted on host fin-ws-12.", "攻击者通过钓鱼邮件获得初始访问。"},
				Tables: []Table{{
					Caption:  "Affected hosts",
					Columns:  []string{"Host", "IP", "状态"},
					Rows:     [][]string{{"fin-ws-12", "10.20.3.12", "已隔离"}, {"fin-fs-01", "10.20.1.5", "restored"}},
					Emphasis: []string{"critical", "ok"},
				}},
			},
			{
				Heading: "Timeline",
				Charts: []Chart{{Kind: ChartBar, Title: "告警数量", Labels: []string{"05-27", "05-28", "05-29"},
					Series: []Series{{Name: "alerts", Values: []float64{2, 31, 5}}}}},
			},
		},
	}
}

func TestValidateRejects(t *testing.T) {
	long := strings.Repeat("x", MaxShortText+1)
	deep := Section{Heading: "d"}
	for range MaxDepth {
		deep = Section{Heading: "d", Sections: []Section{deep}}
	}
	cases := []struct {
		name string
		mod  func(d *Document)
		want string
	}{
		{"empty title", func(d *Document) { d.Title = " " }, "title: is empty"},
		{"long title", func(d *Document) { d.Title = long }, "title: has 501 characters"},
		{"lang", func(d *Document) { d.Lang = "fr" }, `lang: unsupported language "fr"`},
		{"control char", func(d *Document) { d.Sections[0].Paragraphs[0] = "a\x1bb" }, "sections[0].paragraphs[0]: contains control character U+001B"},
		{"bad utf8", func(d *Document) { d.Tenant = "\xff" }, "tenant: is not valid UTF-8"},
		{"ragged row", func(d *Document) { d.Sections[0].Tables[0].Rows[1] = []string{"a"} }, "sections[0].tables[0].rows[1]: has 1 cells, the table has 3 columns"},
		{"emphasis count", func(d *Document) { d.Sections[0].Tables[0].Emphasis = []string{"high"} }, "has 1 entries for 2 rows"},
		{"emphasis class", func(d *Document) { d.Sections[0].Tables[0].Emphasis[0] = `x" onclick="` }, "unknown emphasis"},
		{"no columns", func(d *Document) { d.Sections[0].Tables[0].Columns = nil }, "at least one column"},
		{"chart kind", func(d *Document) { d.Sections[1].Charts[0].Kind = "radar" }, `unknown chart kind "radar"`},
		{"chart values", func(d *Document) { d.Sections[1].Charts[0].Series[0].Values = []float64{1} }, "has 1 values for 3 labels"},
		{"pie negative", func(d *Document) {
			d.Sections[1].Charts[0].Kind = ChartPie
			d.Sections[1].Charts[0].Series[0].Values[0] = -1
		}, "needs values ≥ 0"},
		{"too deep", func(d *Document) { d.Sections = append(d.Sections, deep) }, "nest deeper than 4 levels"},
		{"too many rows", func(d *Document) {
			tb := &d.Sections[0].Tables[0]
			tb.Emphasis = nil
			tb.Rows = make([][]string, MaxRows+1)
		}, "more than 200000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := bilingualDoc()
			c.mod(d)
			err := d.Validate()
			if err == nil {
				t.Fatal("Validate accepted the document")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			// No renderer accepts an invalid document.
			for _, f := range []Format{FormatHTML, FormatXLSX} {
				var buf bytes.Buffer
				if err := Render(context.Background(), d, f, &buf, Options{}); err == nil || buf.Len() != 0 {
					t.Errorf("%s: rendered an invalid document (err %v, %d bytes)", f, err, buf.Len())
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	if err := bilingualDoc().Validate(); err != nil {
		t.Fatal(err)
	}
	loadDoc(t, "small.json")
}

func TestDecodeErrorsNameLine(t *testing.T) {
	cases := map[string]string{
		"{\n  \"title\": \"x\",\n  \"sections\": [1]\n}": "line 3:",
		"{\n  \"title\": \"x\",\n  \"bogus\": 1\n}":      `unknown field "bogus"`,
		"{\n  \"title\": \"x\"\n} {}":                    "trailing data",
		"":                                               "empty input",
		"{\"title\": \"x\", \"sections\": [{\"heading\": 3}]}": "line 1:",
		"{\"title\": \"x\",\n\"lang\": \"de\"}":                "lang: unsupported",
	}
	for in, want := range cases {
		_, err := Decode(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%q) = %v, want an error containing %q", in, err, want)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q): error does not wrap ErrInvalid: %v", in, err)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"html", "pdf", "xlsx"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("docx"); err == nil {
		t.Error("ParseFormat(docx) succeeded")
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ttext\n": "plain\ttext\n", "esc\x1b[31m": "esc\uFFFD[31m", "bad\xffutf8": "bad\uFFFDutf8", "nul\x00": "nul\uFFFD", "中文": "中文",
	} {
		got := CleanText(in)
		if got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
		if err := (&Document{Title: "x" + got}).Validate(); err != nil {
			t.Errorf("cleaned %q still invalid: %v", in, err)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	want := bilingualDoc()
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode own JSON: %v\n%s", err, data)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(data), `"generated_at":"2026-06-02T09:00:00Z"`) {
		t.Errorf("JSON field names: %s", data)
	}
}
