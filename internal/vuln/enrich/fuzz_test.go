package enrich

import (
	"bytes"
	"math"
	"testing"
)

// The seed corpora are in testdata/fuzz/FuzzLoadKEV and FuzzLoadEPSS.

func FuzzLoadKEV(f *testing.F) {
	f.Add([]byte(kevSmall))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := LoadKEV(bytes.NewReader(data), Options{MaxBytes: 1 << 20})
		if err != nil {
			if k != nil {
				t.Fatalf("catalogue returned with error %v", err)
			}
			return
		}
		for _, e := range k.Entries() {
			if !ValidCVE(e.CVE) || e.DateAdded.IsZero() || e.DueDate.IsZero() {
				t.Fatalf("invalid entry accepted: %+v", e)
			}
			if got, ok := k.Lookup(e.CVE); !ok || got.CVE != e.CVE {
				t.Fatalf("%s: lookup failed", e.CVE)
			}
		}
	})
}

func FuzzLoadEPSS(f *testing.F) {
	text, _ := genEPSS(3)
	f.Add([]byte(text))
	f.Add(gz(f, text))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := LoadEPSS(bytes.NewReader(data), Options{MaxBytes: 1 << 20})
		if err != nil {
			if e != nil {
				t.Fatalf("scores returned with error %v", err)
			}
			return
		}
		for id, s := range e.scores {
			if id != s.CVE || !ValidCVE(id) || math.IsNaN(s.Probability) || s.Probability < 0 || s.Probability > 1 || s.Percentile < 0 || s.Percentile > 1 {
				t.Fatalf("invalid score accepted: %+v", s)
			}
			score, reason := Priority(Factors{EPSS: &s})
			if score < 0 || score > 100 || reason == "" {
				t.Fatalf("priority %v %q", score, reason)
			}
		}
	})
}
