package compliance

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// BenchmarkBuiltin loads and checks every embedded framework and mapping.
func BenchmarkBuiltin(b *testing.B) {
	for b.Loop() {
		if _, err := Builtin(); err != nil {
			b.Fatal(err)
		}
	}
}

// level3Results is every level-3 item on n assessed objects.
func level3Results(fw *Framework, n int) []ItemResult {
	var rs []ItemResult
	for o := range n {
		for i, it := range fw.Requirements() {
			rs = append(rs, ItemResult{Item: it.ID, Object: fmt.Sprintf("obj-%d", o), Result: []Result{Conform, PartlyConform, NotConform, NotApplicable}[(i+o)%4]})
		}
	}
	return rs
}

// BenchmarkScoreLevel3 scores 211 items on 50 objects (10,550 results).
func BenchmarkScoreLevel3(b *testing.B) {
	fw := builtin(b).Framework("mlps2-l3")
	rs := level3Results(fw, 50)
	b.ResetTimer()
	for b.Loop() {
		if _, err := (WeightedScorer{}).Score(context.Background(), fw, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rs)), "results/op")
}

// BenchmarkItemsXLSXImport re-imports a sheet of 211 items on 10 objects.
func BenchmarkItemsXLSXImport(b *testing.B) {
	fw := builtin(b).Framework("mlps2-l3")
	var buf bytes.Buffer
	if err := WriteItemsXLSX(&buf, fw, level3Results(fw, 10)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParseItemsXLSX(bytes.NewReader(data), fw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}
