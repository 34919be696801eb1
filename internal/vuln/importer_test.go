package vuln

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := DefaultRegistry()
	if err := r.Register(&nucleiImporter{}); err == nil {
		t.Error("registering nuclei twice succeeded")
	}
	if _, err := r.Lookup("nope"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Lookup(nope) = %v", err)
	}
	if imp, err := r.Lookup("NUCLEI"); err != nil || imp.Format() != "nuclei" {
		t.Errorf("Lookup(NUCLEI) = %v, %v", imp, err)
	}
	if _, err := r.Detect("x.txt", []byte("hello")); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Detect(hello) = %v", err)
	}
	for _, tc := range []struct{ seed, want string }{
		{seedNucleiLine, "nuclei"}, {seedTrivy, "trivy"}, {seedSARIF, "sarif"},
	} {
		imp, err := r.Detect("f", []byte(tc.seed))
		if err != nil || imp.Format() != tc.want {
			t.Errorf("Detect(%.30s) = %v, %v; want %s", tc.seed, imp, err, tc.want)
		}
	}
}

// Bad files must fail with an error naming the file and where it broke,
// and give no findings.
func TestParseFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := DefaultRegistry()
	for _, tc := range []struct {
		name, format, content string
		want                  []string
	}{
		{"trunc.jsonl", "nuclei", seedNucleiLine + "\n" + seedNucleiLine[:40], []string{"trunc.jsonl", "nuclei", "line 2", "truncated"}},
		{"trunc.json", "trivy", seedTrivy[:60], []string{"trunc.json", "trivy", "offset 60", "truncated"}},
		{"garbage.json", "nuclei", "[1, 2,\n x]", []string{"garbage.json", "line 2"}},
		{"wrong.sarif", "trivy", seedSARIF, []string{"wrong.sarif", "not a Trivy report"}},
		{"wrong.json", "nuclei", seedTrivy, []string{"wrong.json", "not a nuclei result"}},
		{"wrong2.json", "sarif", `{"SchemaVersion":2}`, []string{"wrong2.json", "not a SARIF log"}},
		{"typed.json", "sarif", `{"version":"2.1.0","runs":[{"results":[{"ruleIndex":"x"}]}]}`, []string{"typed.json", "line 1 (offset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, _, err := r.ParseFile(context.Background(), tc.format, write(tc.name, tc.content))
			if err == nil || fs != nil {
				t.Fatalf("got %d findings, err %v", len(fs), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestInputSizeBound(t *testing.T) {
	if _, err := readAtMost(io.LimitReader(zeros{}, 1025), 1024); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if b, err := readAtMost(io.LimitReader(zeros{}, 1024), 1024); err != nil || len(b) != 1024 {
		t.Fatalf("exactly at the limit: %d bytes, %v", len(b), err)
	}
}

// zeros yields spaces without allocating a large buffer up front.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestSummary(t *testing.T) {
	fs := []Finding{{Severity: SeverityHigh}, {Severity: SeverityHigh}, {Severity: SeverityInfo}}
	if got, want := Summary(fs), "3 findings: critical 0, high 2, medium 0, low 0, info 1"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestNucleiFields(t *testing.T) {
	fs, err := (&nucleiImporter{}).Import(context.Background(), strings.NewReader(seedNucleiLine+"\n"+seedNucleiLine+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Occurrences != 2 {
		t.Fatalf("want one finding with 2 occurrences, got %+v", fs)
	}
	f := fs[0]
	if f.Asset.Host != "a.example" || f.Asset.Port != 443 || f.Asset.URL != "https://a.example/x" ||
		f.CVSSScore == nil || *f.CVSSScore != 9.8 || f.ToolScore == nil || f.CVEs[0] != "CVE-2021-1" || f.CWEs[0] != "CWE-79" || f.Severity != SeverityHigh {
		t.Errorf("unexpected finding %+v", f)
	}
}
