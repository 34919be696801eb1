package detect

import (
	"testing"
)

// FuzzLoadRule checks that no rule text makes the loader panic, and that a
// rule that loads can be evaluated on an event without panicking. Seeds
// live in testdata/fuzz/FuzzLoadRule.
func FuzzLoadRule(f *testing.F) {
	f.Add([]byte(ruleWith("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRule(data)
		if err != nil {
			return
		}
		ev := NewEvent(map[string]any{
			"Image": `C:\Windows\System32\cmd.exe`, "CommandLine": "cmd /c whoami -all",
			"EventID": 1.0, "logsource": map[string]any{"product": r.LogSource.Product, "category": r.LogSource.Category, "service": r.LogSource.Service},
		})
		eng := NewEngine([]*Rule{r})
		if a, b := len(eng.Match(ev, nil)), len(eng.MatchNaive(ev, nil)); a != b {
			t.Fatalf("indexed match found %d rules, naive %d", a, b)
		}
	})
}
