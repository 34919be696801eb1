package hunt

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzCompareVersions checks that both schemes give an order: reflexive
// and antisymmetric, and never a panic.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][2]string{{"1.0~rc1", "1.0"}, {"1:2.3-4", "2.3"}, {"v1.2.3-beta.2+x", "1.2.3"}, {"0001", "1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []Scheme{SchemeDotted, SchemeDebian} {
			ab, err1 := CompareVersions(s, a, b)
			ba, err2 := CompareVersions(s, b, a)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("%s: errors differ by order: %v / %v", s, err1, err2)
			}
			if err1 != nil {
				if !errors.Is(err1, ErrBadVersion) {
					t.Fatalf("%s: unwrapped error %v", s, err1)
				}
				continue
			}
			if ab != -ba {
				t.Fatalf("%s: compare(%q, %q) = %d but compare(%q, %q) = %d", s, a, b, ab, b, a, ba)
			}
			if aa, _ := CompareVersions(s, a, a); aa != 0 {
				t.Fatalf("%s: %q differs from itself", s, a)
			}
		}
	})
}

// FuzzRange parses range expressions and checks versions against them.
func FuzzRange(f *testing.F) {
	f.Add(">=2.4.0, <2.4.58 || =2.2.34", "2.4.9", false)
	f.Add("<1:2.0-1", "1:1.9-9", true)
	f.Add("*", "1", false)
	f.Fuzz(func(t *testing.T, expr, v string, debian bool) {
		s := SchemeDotted
		if debian {
			s = SchemeDebian
		}
		r, err := ParseRange(s, expr)
		if err != nil {
			if !errors.Is(err, ErrBadVersion) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if _, err := r.Contains(v); err != nil && !errors.Is(err, ErrBadVersion) {
			t.Fatalf("unwrapped error %v", err)
		}
	})
}

// FuzzParseSTIX reads arbitrary bundles: every advisory kept passes Check.
func FuzzParseSTIX(f *testing.F) {
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"vulnerability","id":"vulnerability--a","name":"CVE-2024-0001",` +
		`"x_vigil_affected":[{"product":"w","versions":">=1.0"}]}]}`))
	f.Add([]byte(`{"type":"vulnerability","id":"v","name":"x","external_references":[{"source_name":"cve","external_id":"CVE-2020-1234"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		advs, _, err := ParseSTIX(context.Background(), bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, a := range advs {
			if err := a.Check(); err != nil {
				t.Fatalf("kept advisory fails its check: %v", err)
			}
		}
	})
}

// FuzzDecodeAdvisories reads arbitrary JSON: every advisory kept passes
// Check and its ranges answer without a panic.
func FuzzDecodeAdvisories(f *testing.F) {
	f.Add([]byte(`[{"id":"A-1","title":"t","severity":"critical","cves":["cve-2024-1"],` +
		`"affected":[{"product":"openssl","versions":"<3.0.2-1","scheme":"debian"}]}]`))
	f.Add([]byte(`{"id":"A-2","title":"t","affected":[{"product":"x","versions":">=1, <2 || =3"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		advs, _, err := DecodeAdvisories(context.Background(), bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, a := range advs {
			if err := a.Check(); err != nil {
				t.Fatalf("kept advisory fails its check: %v", err)
			}
			for _, af := range a.Affected {
				_, _ = af.rng.Contains("1.0")
			}
		}
	})
}
