package report

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// httpParams is HttpParamsDataset: real XSS, SQL injection, path traversal
// and command injection parameter values, shared by the project.
var httpParams = filepath.Join("..", "..", "..", "shared", "corpus", "weblogs", "httpparams", "payload_train.csv")

// attackDoc puts every attack payload of the corpus that is valid report
// text into a table (and the first 40 into chart labels), the way a WAF or
// log-analysis report would quote them.
func attackDoc(t *testing.T) (*Document, []string) {
	t.Helper()
	f, err := os.Open(httpParams)
	if err != nil {
		testenv.Missing(t, "HttpParams corpus at "+httpParams)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", httpParams, err)
	}
	tb := Table{Caption: "Blocked requests", Columns: []string{"Payload", "Attack type"}}
	var payloads []string
	rejected := 0
	for _, r := range recs[1:] {
		if len(r) != 4 || r[3] == "norm" {
			continue
		}
		probe := Document{Title: r[0]}
		if err := probe.Validate(); err != nil {
			// Only control characters or over-long values may be refused.
			if !strings.Contains(err.Error(), "control character") && !strings.Contains(err.Error(), "characters, more than") && !strings.Contains(err.Error(), "is empty") {
				t.Fatalf("payload %q rejected for another reason: %v", r[0], err)
			}
			rejected++
			continue
		}
		payloads = append(payloads, r[0])
		tb.Rows = append(tb.Rows, []string{r[0], r[2]})
	}
	if len(payloads) < 1000 {
		t.Fatalf("only %d attack payloads in the corpus", len(payloads))
	}
	t.Logf("%d attack payloads, %d refused by Validate", len(payloads), rejected)
	ch := Chart{Kind: ChartBar, Title: payloads[0], Labels: payloads[:40], Series: []Series{{Name: payloads[41], Values: make([]float64, 40)}}}
	for i := range ch.Series[0].Values {
		ch.Series[0].Values[i] = float64(i)
	}
	d := &Document{Title: "WAF report", Sections: []Section{{Heading: payloads[42], Paragraphs: payloads[43:60], Tables: []Table{tb}, Charts: []Chart{ch}}}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d, payloads
}

// TestCorpusAttackStringsHTML renders real attack payloads and checks that
// none becomes markup and each survives as text.
func TestCorpusAttackStringsHTML(t *testing.T) {
	d, payloads := attackDoc(t)
	out := renderHTMLString(t, d)
	all := inertText(t, out)
	for _, p := range payloads {
		if !strings.Contains(all, p) {
			t.Errorf("payload %q does not appear intact as text", p)
		}
	}
}

// TestCorpusAttackStringsXLSX writes the same payloads to a workbook: no cell
// is a formula, and each reads back as SafeCellText of the payload.
func TestCorpusAttackStringsXLSX(t *testing.T) {
	d, payloads := attackDoc(t)
	f := renderXLSXFile(t, d)
	rows, err := f.GetRows("Blocked requests")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(payloads)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(payloads)+1)
	}
	for i, p := range payloads {
		if rows[i+1][0] != SafeCellText(p) {
			t.Errorf("row %d: %q, want %q", i+2, rows[i+1][0], SafeCellText(p))
		}
		if strings.ContainsAny(p[:1], "=+-@") {
			cell := fmt.Sprintf("A%d", i+2)
			if fm, err := f.GetCellFormula("Blocked requests", cell); err != nil || fm != "" {
				t.Errorf("%s: formula %q (%v)", cell, fm, err)
			}
		}
	}
}
