package risk

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluate computes 10,000 scenarios over 100 system assets.
func BenchmarkEvaluate(b *testing.B) {
	as := &Assessment{Assets: []Asset{{ID: "B", Tier: TierBusiness, Importance: 4}}}
	for i := range 100 {
		as.Assets = append(as.Assets, Asset{ID: fmt.Sprintf("S%d", i), Tier: TierSystem, Parent: "B", C: 1 + i%5, I: 1 + i%3, A: 2})
	}
	for i := range 20 {
		as.Threats = append(as.Threats, Threat{ID: fmt.Sprintf("T%d", i), Frequency: 1 + i%5})
	}
	for i := range 500 {
		as.Vulnerabilities = append(as.Vulnerabilities, Vulnerability{ID: fmt.Sprintf("V%d", i), Asset: fmt.Sprintf("S%d", i%100), Severity: 1 + i%5})
	}
	for i := range 10_000 {
		as.Scenarios = append(as.Scenarios, Scenario{ID: fmt.Sprintf("X%d", i), Threat: fmt.Sprintf("T%d", i%20), Vulnerability: fmt.Sprintf("V%d", i%500)})
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Evaluate(as, nil); err != nil {
			b.Fatal(err)
		}
	}
}
