package vuln

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// corpusDir is DefectDojo's sample scans, shared by the project outside
// the module, located relative to this package directory.
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus", "defectdojo")

// sample is one DefectDojo sample file with DefectDojo's expected count
// (from expected/test_<format>_parser.py) and Vigil's. When they differ,
// why says why.
type sample struct {
	file  string
	dd    int // DefectDojo's assertion, noDD when its tests assert none
	vigil int // what Vigil produces
	why   string
	other bool // a file of another format sharing the directory: skipped
}

// noDD marks a sample DefectDojo's parser test does not count.
const noDD = -1

// runCorpus imports every sample of a format and checks the table covers
// exactly the files present.
func runCorpus(t *testing.T, format string, table []sample) {
	t.Helper()
	runCorpusDir(t, format, format, table)
}

// runCorpusDir is runCorpus for a format whose samples live in another
// format's directory.
func runCorpusDir(t *testing.T, format, dirName string, table []sample) {
	t.Helper()
	dir := filepath.Join(corpusDir, "scans", dirName)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			testenv.Missing(t, "DefectDojo sample corpus at "+dir)
		}
		t.Fatal(err)
	}
	var present []string
	for _, e := range entries {
		if !e.IsDir() {
			present = append(present, e.Name())
		}
	}
	var listed []string
	for _, s := range table {
		listed = append(listed, s.file)
	}
	slices.Sort(present)
	slices.Sort(listed)
	if !slices.Equal(present, listed) {
		t.Fatalf("sample table out of date:\npresent %q\nlisted  %q", present, listed)
	}
	reg := DefaultRegistry()
	for _, s := range table {
		t.Run(s.file, func(t *testing.T) {
			if s.other {
				t.Skip("another format's sample in the same directory")
			}
			if s.vigil != s.dd && s.why == "" {
				if s.dd == noDD {
					t.Fatalf("sample without a DefectDojo count needs a why")
				}
				t.Fatalf("Vigil count %d differs from DefectDojo's %d without a documented reason", s.vigil, s.dd)
			}
			fs, _, err := reg.ParseFile(context.Background(), format, filepath.Join(dir, s.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != s.vigil {
				t.Errorf("got %d findings, want %d (DefectDojo: %d)", len(fs), s.vigil, s.dd)
			}
			checkFindings(t, fs, "")
			// Auto-detection must pick the same importer.
			head, err := os.ReadFile(filepath.Join(dir, s.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(head) > 0 {
				imp, err := reg.Detect(s.file, head)
				if err != nil || imp.Format() != format {
					t.Errorf("Detect = %v, %v; want %s", imp, err, format)
				}
			}
		})
	}
}

// TestDetectOtherFormats checks that auto-detection claims no sample of a
// format Vigil does not implement yet. A file holding only "null" is
// claimed by trivy (its legacy empty report) and imports as no findings.
func TestDetectOtherFormats(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "scans", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		testenv.Missing(t, "DefectDojo sample corpus at "+corpusDir)
	}
	reg := DefaultRegistry()
	own := map[string]bool{}
	for _, f := range reg.Formats() {
		own[strings.TrimSuffix(f, "-csv")] = true
	}
	// Corpus folders named unlike their format.
	own["osv_scanner"], own["anchore_grype"] = own["osv-scanner"], own["grype"]
	for _, f := range files {
		dir := filepath.Base(filepath.Dir(f))
		if own[dir] {
			continue
		}
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		data, err := os.ReadFile(f) // #nosec G304 -- corpus file
		if err != nil {
			t.Fatal(err)
		}
		imp, err := reg.Detect(filepath.Base(f), data)
		if err != nil {
			continue
		}
		if imp.Format() == "trivy" && strings.TrimSpace(string(data)) == "null" {
			continue
		}
		t.Errorf("%s/%s (a %s sample) detected as %s", dir, filepath.Base(f), dir, imp.Format())
	}
}

// checkFindings asserts every finding has a fingerprint of its own and the
// fields every importer must fill; scanner, when not "", is the scanner
// name they must carry.
func checkFindings(t *testing.T, fs []Finding, scanner string) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Fingerprint == "" || seen[f.Fingerprint] {
			t.Errorf("empty or repeated fingerprint in %+v", f)
		}
		seen[f.Fingerprint] = true
		if f.Title == "" || f.Severity == "" || f.Scanner == "" || (scanner != "" && f.Scanner != scanner) || f.Occurrences < 1 {
			t.Errorf("incomplete finding %+v", f)
		}
	}
}

// wantParsed checks the outcome of parsing one corpus sample: a sample
// that must fail gives an error naming the file and no findings (and
// wantParsed returns false: nothing more to check); the others parse into
// the expected number of findings (DefectDojo's count shown for reference).
func wantParsed(t *testing.T, fs []Finding, err error, path string, wantErr bool, want, dd int) bool {
	t.Helper()
	if wantErr {
		if err == nil || fs != nil {
			t.Fatalf("want an error and no findings, got %d findings, err %v", len(fs), err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != want {
		t.Errorf("got %d findings, want %d (DefectDojo: %d)", len(fs), want, dd)
	}
	return true
}
