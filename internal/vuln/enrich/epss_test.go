package enrich

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// genEPSS generates a file in FIRST's EPSS CSV format with n rows.
func genEPSS(n int) (string, map[string]EPSSScore) {
	rng := rand.New(rand.NewPCG(6, 6))
	var b strings.Builder
	b.WriteString("#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\n")
	b.WriteString("cve,epss,percentile\n")
	want := make(map[string]EPSSScore, n)
	for i := range n {
		s := EPSSScore{
			CVE:         fmt.Sprintf("CVE-%d-%04d", 1999+i%27, 1000+i),
			Probability: float64(rng.IntN(100001)) / 100000,
			Percentile:  float64(rng.IntN(100001)) / 100000,
		}
		want[s.CVE] = s
		fmt.Fprintf(&b, "%s,%.5f,%.5f\n", s.CVE, s.Probability, s.Percentile)
	}
	return b.String(), want
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadEPSS(t *testing.T) {
	text, want := genEPSS(5000)
	for name, in := range map[string][]byte{"plain": []byte(text), "gzip": gz(t, text), "crlf": []byte(strings.ReplaceAll(text, "\n", "\r\n"))} {
		t.Run(name, func(t *testing.T) {
			e, err := LoadEPSS(bytes.NewReader(in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if e.ModelVersion != "v2025.03.14" || e.ScoreDate != "2025-08-25T12:55:00Z" {
				t.Fatalf("comment: model %q date %q", e.ModelVersion, e.ScoreDate)
			}
			if e.Len() != len(want) {
				t.Fatalf("loaded %d, want %d", e.Len(), len(want))
			}
			for id, w := range want {
				got, ok := e.Lookup(strings.ToLower(id))
				if !ok || got != w {
					t.Fatalf("%s: got %+v %v, want %+v", id, got, ok, w)
				}
			}
		})
	}
}

func TestLoadEPSSNoComment(t *testing.T) {
	e, err := LoadEPSS(strings.NewReader("cve,epss,percentile\nCVE-2021-44228,0.97565,0.99998\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := e.Lookup("CVE-2021-44228"); !ok || s.Probability != 0.97565 || e.ModelVersion != "" {
		t.Fatalf("got %+v %v", s, ok)
	}
}

func TestLoadEPSSErrors(t *testing.T) {
	const head = "#model_version:v1,score_date:2025-01-01\ncve,epss,percentile\n"
	good, _ := genEPSS(2000)
	zipped := gz(t, good)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, `line 0: no "cve,epss,percentile" header`},
		{"comment only", []byte("#model_version:v1\n"), "no \"cve,epss,percentile\" header"},
		{"bad header", []byte("#model_version:v1\ncve,score,percentile\nCVE-2021-0001,0.1,0.2\n"), `line 2: header "cve,score,percentile"`},
		{"header missing", []byte("CVE-2021-0001,0.1,0.2\n"), "line 1: header"},
		{"probability > 1", []byte(head + "CVE-2021-0001,1.5,0.2\n"), "line 3: CVE-2021-0001: epss: 1.5 is outside 0..1"},
		{"negative percentile", []byte(head + "CVE-2021-0001,0.5,-0.2\n"), "line 3: CVE-2021-0001: percentile: -0.2 is outside 0..1"},
		{"NaN", []byte(head + "CVE-2021-0001,NaN,0.2\n"), "outside 0..1"},
		{"not a number", []byte(head + "CVE-2021-0001,high,0.2\n"), `"high" is not a number`},
		{"bad cve", []byte(head + "CVE-21-1,0.1,0.2\n"), `line 3: cve "CVE-21-1"`},
		{"fields", []byte(head + "CVE-2021-0001,0.1\n"), "line 3: 2 fields, want 3"},
		{"duplicate", []byte(head + "CVE-2021-0001,0.1,0.2\ncve-2021-0001,0.3,0.4\n"), "line 4: CVE-2021-0001 listed twice"},
		{"truncated gzip", zipped[:len(zipped)/2], "unexpected EOF"},
		{"gzip header", []byte{0x1f, 0x8b, 0}, "gzip header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := LoadEPSS(bytes.NewReader(tt.in), Options{})
			if err == nil {
				t.Fatalf("no error, %d scores", e.Len())
			}
			if e != nil {
				t.Fatal("scores returned with an error")
			}
			var ee *EPSSError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q (%T), want an *EPSSError containing %q", err, err, tt.want)
			}
		})
	}
}

func TestLoadEPSSSizeLimit(t *testing.T) {
	text, _ := genEPSS(1000)
	// The limit applies after decompression: the compressed file is far
	// smaller than the limit, the text is not.
	zipped := gz(t, text)
	limit := int64(len(text)) - 1
	if int64(len(zipped)) >= limit {
		t.Fatal("test file compresses too poorly")
	}
	_, err := LoadEPSS(bytes.NewReader(zipped), Options{MaxBytes: limit})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if _, err := LoadEPSS(bytes.NewReader(zipped), Options{MaxBytes: int64(len(text))}); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
}
