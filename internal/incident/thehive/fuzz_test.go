package thehive

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse checks Parse never panics and that accepted cases respect the
// documented value ranges.
func FuzzParse(f *testing.F) {
	for _, n := range []string{"thehive4-case.json", "thehive5-cases.json", "thehive5-import.json", "thehive5-cases.ndjson"} {
		data, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := Parse(bytes.NewReader(data), Limits{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.Severity < 1 || c.Severity > 4 || c.TLPName == "" || c.PAPName == "" || c.Title == "" {
				t.Fatalf("accepted out-of-range case %+v", c)
			}
			for _, o := range c.Observables {
				if o.Type == "" || o.Data == "" {
					t.Fatalf("accepted empty observable %+v", o)
				}
			}
		}
	})
}
