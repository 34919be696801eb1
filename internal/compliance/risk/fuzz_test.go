package risk

import (
	"bytes"
	"testing"
)

func FuzzParseAssessment(f *testing.F) {
	f.Add([]byte("name: x\nassets:\n  - {id: B, tier: business, importance: 3}\n  - {id: S, tier: system, parent: B, c: 3, i: 4, a: 2}\nthreats:\n  - {id: T, name: t, frequency: 4}\nvulnerabilities:\n  - {id: V, name: v, asset: S, severity: 3, controls: [{name: c, kind: preventive, effective: true}]}\nscenarios:\n  - {id: X, threat: T, vulnerability: V}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := ParseAssessment(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, m := range []RiskMethod{Formula{}, MatrixMethod{Matrix: DefaultMatrix()}} {
			res, err := Evaluate(as, m)
			if err != nil {
				t.Fatalf("valid assessment does not evaluate: %v", err)
			}
			for _, e := range res.Register {
				if e.Eval.R < 1 || e.Eval.R > 25 || e.Eval.Level == "" {
					t.Fatalf("R %d level %q", e.Eval.R, e.Eval.Level)
				}
			}
			if err := ReportDocument(as, res, "t", "zh-CN").Validate(); err != nil {
				t.Fatalf("report does not validate: %v", err)
			}
		}
	})
}
