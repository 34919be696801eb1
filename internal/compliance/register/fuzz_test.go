package register

import (
	"encoding/json"
	"testing"

	"github.com/vigil-sec/vigil/internal/compliance/risk"
)

// FuzzRiskInput feeds arbitrary JSON to what the API's replace and every
// stored edit run — decode, bound the texts, evaluate with both methods —
// and requires a result or an error, never a panic.
func FuzzRiskInput(f *testing.F) {
	f.Add([]byte(`{"assets":[{"id":"B","name":"业务","tier":"business","importance":4},{"id":"S","name":"库","tier":"system","parent":"B","c":4,"i":3,"a":2}],` +
		`"threats":[{"id":"T","name":"攻击","frequency":4}],"vulnerabilities":[{"id":"V","name":"弱口令","asset":"S","severity":4,` +
		`"controls":[{"name":"锁定","kind":"preventive","effective":true}]}],"scenarios":[{"id":"R","threat":"T","vulnerability":"V"}],` +
		`"decisions":[{"scenario":"R","treatment":"reduce","owner":"王五","due":"2026-12-31T00:00:00Z"}]}`))
	f.Add([]byte(`{"assets":[{"id":"C","tier":"component","c":9}],"scenarios":[{"id":"x","threat":"nope","vulnerability":"nope"}]}`))
	f.Add([]byte(`{"name":"\u0000","assets":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		var as risk.Assessment
		if err := json.Unmarshal(data, &as); err != nil {
			return
		}
		if err := checkEntries(&as); err != nil {
			return
		}
		for _, name := range Methods() {
			m, err := method(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := risk.Evaluate(&as, m)
			if err != nil {
				if engineError(err) == nil {
					t.Fatal("an engine error vanished")
				}
				continue
			}
			if len(res.Register) != len(as.Scenarios) {
				t.Fatalf("%d risks for %d scenarios", len(res.Register), len(as.Scenarios))
			}
			for _, e := range res.Register {
				if e.Eval.R < 1 || e.Eval.R > 25 || e.Eval.Level == "" {
					t.Fatalf("risk %s: R %d level %q", e.Scenario.ID, e.Eval.R, e.Eval.Level)
				}
			}
		}
	})
}
