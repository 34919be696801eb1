package detect

import "testing"

// FuzzParsePipeline checks that no pipeline text makes the parser panic,
// and that a pipeline that parses can be applied to a rule without
// panicking. Seeds live in testdata/fuzz/FuzzParsePipeline.
func FuzzParsePipeline(f *testing.F) {
	f.Add([]byte(defaultPipelineYAML))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePipeline("fuzz.yml", data)
		if err != nil {
			if _, ok := err.(*PipelineError); !ok {
				t.Fatalf("error %T is not a *PipelineError: %v", err, err)
			}
			return
		}
		r, err := NewPipelineSet(p).ParseRule([]byte(procRule))
		if err != nil {
			return
		}
		ev := NewEvent(map[string]any{"EventID": 1, "CommandLine": "whoami",
			"logsource": map[string]any{"product": r.LogSource.Product, "category": r.LogSource.Category, "service": r.LogSource.Service}})
		eng := NewEngine([]*Rule{r})
		if a, b := len(eng.Match(ev, nil)), len(eng.MatchNaive(ev, nil)); a != b {
			t.Fatalf("indexed match found %d rules, naive %d", a, b)
		}
	})
}
