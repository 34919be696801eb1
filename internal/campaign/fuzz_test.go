package campaign

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseTemplate checks the template loader never panics and that every
// refusal is a *LineError, and that an accepted template instantiates.
func FuzzParseTemplate(f *testing.F) {
	for _, name := range []string{"templates/go-live.yaml", "templates/key-period.yaml"} {
		b, err := builtin.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := ParseTemplate(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *LineError", err)
			}
			return
		}
		c, err := tpl.Instantiate(Instance{ID: "c", Tenant: "t", Start: t0, Targets: []Target{{AssetID: "a"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Phases) != len(tpl.Phases) || len(c.Tasks) != len(tpl.Tasks) {
			t.Fatalf("instantiated %d phases, %d tasks from %d, %d", len(c.Phases), len(c.Tasks), len(tpl.Phases), len(tpl.Tasks))
		}
		_ = c.Rollup(t0)
	})
}
