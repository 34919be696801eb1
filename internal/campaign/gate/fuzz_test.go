package gate

import (
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/datafile"
)

// FuzzParseRules checks the decision-rules loader never panics, refuses
// with a *datafile.LineError, and never accepts rules under which a check
// that did not run could pass.
func FuzzParseRules(f *testing.F) {
	b, err := data.ReadFile("data/rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := ParseRules(doc, "fuzz.yaml")
		if err != nil {
			var le *datafile.LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *datafile.LineError", err)
			}
			return
		}
		if (r.Errored != ActionFail && r.Errored != ActionAccept) || (r.Pending != ActionFail && r.Pending != ActionAccept) || len(r.Severities) != 5 {
			t.Fatalf("accepted rules %+v", r)
		}
	})
}
