package report

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"testing"
	"time"
)

// bigDoc is a vulnerability report with one table of n findings.
func bigDoc(n int) *Document {
	sev := []string{EmphasisCritical, EmphasisHigh, EmphasisMedium, EmphasisLow, EmphasisInfo}
	t := Table{Caption: "Findings", Columns: []string{"Host", "IP", "Port", "CVE", "Title", "Severity", "First seen", "Status"}}
	for i := range n {
		s := sev[i%len(sev)]
		t.Rows = append(t.Rows, []string{
			fmt.Sprintf("host-%04d.corp.example", i), fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256),
			fmt.Sprint(1 + i%1024), fmt.Sprintf("CVE-2025-%05d", i), "Remote code execution in a web component via crafted request",
			s, "2026-05-01 12:00", "open",
		})
		t.Emphasis = append(t.Emphasis, s)
	}
	return &Document{Title: "Vulnerability report", Tenant: "ACME", GeneratedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		Sections: []Section{{Heading: "Findings", Tables: []Table{t}}}}
}

// BenchmarkTable5000 renders a 5,000-row, 8-column table. encoding/csv
// writing the same cells is the named peer: the floor of any serialisation.
func BenchmarkTable5000(b *testing.B) {
	d := bigDoc(5000)
	ctx := context.Background()
	b.Run("html", func(b *testing.B) {
		for b.Loop() {
			if err := RenderHTML(ctx, d, io.Discard, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xlsx", func(b *testing.B) {
		for b.Loop() {
			if err := RenderXLSX(ctx, d, io.Discard, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("csv-peer", func(b *testing.B) {
		for b.Loop() {
			w := csv.NewWriter(io.Discard)
			if err := w.WriteAll(d.Sections[0].Tables[0].Rows); err != nil {
				b.Fatal(err)
			}
		}
	})
}
