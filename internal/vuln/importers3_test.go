package vuln

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// importers3 are the package-scanner importers of this file, not yet in
// DefaultRegistry; dirs3 maps each to its DefectDojo sample directory.
func importers3() []Importer {
	return []Importer{&osvImporter{}, &govulncheckImporter{}, &grypeImporter{}, &qualysImporter{}}
}

var dirs3 = map[string]string{
	"osv-scanner": "osv_scanner",
	"govulncheck": "govulncheck",
	"grype":       "anchore_grype",
	"qualys":      "qualys",
}

// registry3 is DefaultRegistry plus importers3 (skipping any the lead has
// already wired in).
func registry3(t testing.TB) *Registry {
	t.Helper()
	reg := DefaultRegistry()
	for _, imp := range importers3() {
		if _, err := reg.Lookup(imp.Format()); err == nil {
			continue
		}
		if err := reg.Register(imp); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// sample3 is one corpus file with DefectDojo's expected count and Vigil's.
type sample3 struct {
	file    string
	dd      int
	vigil   int
	why     string // required when vigil != dd
	wantErr bool   // DefectDojo refuses the file too
	// cutOK explains why a copy truncated at two thirds may still parse
	// (a CSV cut at a field boundary of its header is a valid CSV).
	cutOK string
}

func runCorpus3(t *testing.T, format string, table []sample3) {
	t.Helper()
	dir := filepath.Join(corpusDir, "scans", dirs3[format])
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testenv.Missing(t, "DefectDojo sample corpus at "+dir)
		}
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, s := range table {
		listed[s.file] = true
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		n++
		if !listed[e.Name()] {
			t.Errorf("sample %s not in the table", e.Name())
		}
	}
	if n != len(table) {
		t.Fatalf("table lists %d files, %d present", len(table), n)
	}
	reg := registry3(t)
	imp, err := reg.Lookup(format)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range table {
		t.Run(s.file, func(t *testing.T) {
			if s.vigil != s.dd && s.why == "" {
				t.Fatalf("Vigil count %d differs from DefectDojo's %d without a documented reason", s.vigil, s.dd)
			}
			path := filepath.Join(dir, s.file)
			data, err := os.ReadFile(path) // #nosec G304 -- corpus file
			if err != nil {
				t.Fatal(err)
			}
			if len(bytes.TrimSpace(data)) > 0 {
				got, err := reg.Detect(s.file, data)
				if err != nil || got.Format() != format {
					t.Errorf("Detect = %v, %v; want %s", got, err, format)
				}
			}
			fs, _, err := reg.ParseFile(context.Background(), format, path)
			if !wantParsed(t, fs, err, path, s.wantErr, s.vigil, s.dd) {
				return
			}
			checkFindings(t, fs, format)
			// A truncated copy must fail with a located error and no findings.
			if len(data) > 64 && s.cutOK == "" {
				cut := data[:len(data)*2/3]
				fs, err := imp.Import(context.Background(), bytes.NewReader(cut))
				var pe *ParseError
				if err == nil || fs != nil || !errors.As(err, &pe) || (pe.Line == 0 && pe.Offset < 0) {
					t.Errorf("truncated input: %d findings, error %v: want a located ParseError and no findings", len(fs), err)
				}
			}
		})
	}
}

func TestOSVCorpus(t *testing.T) {
	runCorpus3(t, "osv-scanner", []sample3{
		{file: "many_findings.json", dd: 66, vigil: 66},
		{file: "multi_cwe_fabricated.json", dd: 1, vigil: 1},
		{file: "no_findings.json", dd: 0, vigil: 0},
	})
}

// TestDetect3NoFalseClaims checks that none of this file's importers claims
// a corpus file of another directory, and that the full registry detects
// files of the other directories as it did before (never as ours).
func TestDetect3NoFalseClaims(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "scans", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		testenv.Missing(t, "DefectDojo sample corpus at "+corpusDir)
	}
	ours := map[string]string{}
	for format, dir := range dirs3 {
		ours[dir] = format
	}
	for _, f := range files {
		dir := filepath.Base(filepath.Dir(f))
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		data, err := os.ReadFile(f) // #nosec G304 -- corpus file
		if err != nil {
			t.Fatal(err)
		}
		head := data
		if len(head) > DetectSize {
			head = head[:DetectSize]
		}
		for _, imp := range importers3() {
			if imp.Detect(filepath.Base(f), head) && ours[dir] != imp.Format() {
				t.Errorf("%s/%s detected as %s", dir, filepath.Base(f), imp.Format())
			}
		}
	}
}

// TestGolden3 imports testdata/<name>.in for this file's formats and
// compares the JSON lines with <name>.golden (-update rewrites them).
func TestGolden3(t *testing.T) {
	cases := map[string]string{
		"osv-multi-cwe":      "osv-scanner",
		"osv-small":          "osv-scanner",
		"govulncheck-custom": "govulncheck",
		"grype-ids":          "grype",
		"qualys-pci":         "qualys",
		"qualys-xml":         "qualys",
	}
	reg := registry3(t)
	for name, format := range cases {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join("testdata", name+".in")
			fs, _, err := reg.ParseFile(context.Background(), format, in)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteJSONLines(&got, fs); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden) // #nosec G304 -- test fixture path
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestGovulncheckCorpus(t *testing.T) {
	runCorpus3(t, "govulncheck", []sample3{
		{file: "empty.json", wantErr: true},
		{file: "many_vulns.json", dd: 3, vigil: 3},
		{file: "many_vulns_new_version.json", dd: 1, vigil: 1},
		{file: "many_vulns_new_version_custom_severity.json", dd: 2, vigil: 2},
		{file: "no_vulns_new_version.json", dd: 0, vigil: 0},
		{file: "issue_15033.json", dd: 72, vigil: 72},
		{file: "issue_14642.json", dd: 201, vigil: 40, why: "DefectDojo's v1 parser counts every osv message, also advisories matching no dependency; see govulncheck.go"},
	})
}

// TestGovulncheckSeverity checks the reachability severities against
// DefectDojo's v2 parser test (29 high, 17 low, 26 info) and the custom
// severities of the advisory database.
func TestGovulncheckSeverity(t *testing.T) {
	reg := registry3(t)
	dir := filepath.Join(corpusDir, "scans", "govulncheck")
	fs, _, err := reg.ParseFile(context.Background(), "govulncheck", filepath.Join(dir, "issue_15033.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testenv.Missing(t, "DefectDojo sample corpus at "+dir)
		}
		t.Fatal(err)
	}
	count := map[Severity]int{}
	for _, f := range fs {
		count[f.Severity]++
	}
	if want := map[Severity]int{SeverityHigh: 29, SeverityLow: 17, SeverityInfo: 26}; !cmp.Equal(count, want) {
		t.Errorf("severities %v, want %v", count, want)
	}
	if f := fs[0]; f.RuleID != "GO-2024-3333" || f.Asset.Package != "golang.org/x/net" || f.Asset.Version != "v0.25.0" ||
		f.FixedIn != "v0.33.0" || f.Severity != SeverityLow || !cmp.Equal(f.CVEs, []string{"CVE-2024-45338"}) {
		t.Errorf("first finding %+v", f)
	}
	fs, _, err = reg.ParseFile(context.Background(), "govulncheck", filepath.Join(dir, "many_vulns_new_version_custom_severity.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Severity != SeverityLow || fs[1].Severity != SeverityHigh || fs[1].Asset.Component != "golang.org/x/text/language" {
		t.Errorf("custom severity findings %+v", fs)
	}
}

func TestGrypeCorpus(t *testing.T) {
	runCorpus3(t, "grype", []sample3{
		{file: "anchore_grype_epss_problem.json", dd: 1, vigil: 1},
		{file: "check_all_fields.json", dd: 5, vigil: 5},
		{file: "check_all_fields_different_ids_fabricated.json", dd: noDD, vigil: 1, why: "not counted by DefectDojo's tests; one match"},
		{file: "check_all_fields_with_ids_fabricated.json", dd: noDD, vigil: 1, why: "not counted by DefectDojo's tests; one match"},
		{file: "fix_available.json", dd: 1, vigil: 1},
		{file: "fix_not_available.json", dd: 1, vigil: 1},
		{file: "issue_9942.json", dd: 1, vigil: 1},
		{file: "many_vulns.json", dd: 1509, vigil: 1509},
		{file: "many_vulns2.json", dd: 1567, vigil: 1567},
		{file: "many_vulns4.json", dd: 9, vigil: 9},
		{file: "many_vulns_with_epss_values.json", dd: 15, vigil: 15},
		{file: "no_vuln.json", dd: 0, vigil: 0},
	})
}

func TestQualysCorpus(t *testing.T) {
	runCorpus3(t, "qualys", []sample3{
		{file: "Qualys_Sample_Report.xml", dd: 301, vigil: 301},
		{file: "Qualys_Sample_Report.csv", dd: 3, vigil: 6, why: "DefectDojo merges hosts per QID; Vigil keeps one finding per host (see qualys.go)"},
		{file: "empty.csv", dd: 0, vigil: 0, cutOK: "header only; the cut falls between two header fields"},
		{file: "monthly_pci_issue6932.csv", dd: 1, vigil: 1},
	})
}

// TestQualysFields checks severities against DefectDojo's legacy mapping
// (177 info, 65 low, 46 medium, 6 high, 7 critical) and the CVSS taken
// from the knowledge base.
func TestQualysFields(t *testing.T) {
	reg := registry3(t)
	dir := filepath.Join(corpusDir, "scans", "qualys")
	fs, _, err := reg.ParseFile(context.Background(), "qualys", filepath.Join(dir, "Qualys_Sample_Report.xml"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testenv.Missing(t, "DefectDojo sample corpus at "+dir)
		}
		t.Fatal(err)
	}
	count := map[Severity]int{}
	var amd *Finding
	for i, f := range fs {
		count[f.Severity]++
		if f.RuleID == "QID-370876" && f.Asset.Host == "demo13.s02.sjc01.qualys.com" {
			amd = &fs[i]
		}
	}
	want := map[Severity]int{SeverityInfo: 177, SeverityLow: 65, SeverityMedium: 46, SeverityHigh: 6, SeverityCritical: 7}
	if !cmp.Equal(count, want) {
		t.Errorf("severities %v, want %v", count, want)
	}
	if amd == nil {
		t.Fatal("QID-370876 on demo13 not found")
	}
	if amd.CVSSVector != "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H" || amd.CVSSScore == nil || *amd.CVSSScore != 9.0 || len(amd.CVEs) != 7 {
		t.Errorf("AMD finding %+v", amd)
	}
}

// TestGrypeFields checks one match of check_all_fields.json in detail.
func TestGrypeFields(t *testing.T) {
	reg := registry3(t)
	dir := filepath.Join(corpusDir, "scans", "anchore_grype")
	fs, _, err := reg.ParseFile(context.Background(), "grype", filepath.Join(dir, "check_all_fields.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testenv.Missing(t, "DefectDojo sample corpus at "+dir)
		}
		t.Fatal(err)
	}
	f := fs[1]
	if f.RuleID != "CVE-2021-32626" || f.Asset.Package != "redis" || f.Asset.Version != "4.0.2" || f.Asset.Component != "python" ||
		f.Asset.Target != "vulnerable-image:latest" || f.Severity != SeverityHigh ||
		f.CVSSVector != "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H" || f.FixedIn != "fix_1, fix_2" {
		t.Errorf("redis finding %+v", f)
	}
	if fs[0].Severity != SeverityInfo || fs[0].Asset.Package != "libgssapi-krb5-2" {
		t.Errorf("first finding %+v", fs[0])
	}
	merged := 0
	for _, f := range fs {
		if f.Occurrences == 2 {
			merged++
		}
	}
	if merged != 1 {
		t.Errorf("%d findings with 2 occurrences, want 1 (two matches share vulnerability and package)", merged)
	}
}

// TestImporters3Refusals checks inputs that must be refused with a clear,
// located error and no findings.
func TestImporters3Refusals(t *testing.T) {
	cases := []struct {
		name string
		imp  Importer
		in   string
		want string
	}{
		{"qualys entity", &qualysImporter{}, `<?xml version="1.0"?><!DOCTYPE ASSET_DATA_REPORT [<!ENTITY x SYSTEM "file:///etc/passwd">]><ASSET_DATA_REPORT>&x;</ASSET_DATA_REPORT>`, ErrXMLEntities.Error()},
		{"qualys other dtd", &qualysImporter{}, `<!DOCTYPE ASSET_DATA_REPORT SYSTEM "https://evil.example/asset_data_report.dtd"><ASSET_DATA_REPORT/>`, ErrXMLEntities.Error()},
		{"qualys wrong root", &qualysImporter{}, `<SCAN/>`, "root element is <SCAN>"},
		{"qualys csv without QID", &qualysImporter{}, "IP,Title,Severity\n1.2.3.4,t,5\n", "not a Qualys CSV export"},
		{"govulncheck empty", &govulncheckImporter{}, "", "empty input"},
		{"govulncheck sarif", &govulncheckImporter{}, `{"version":"2.1.0","runs":[]}`, "sarif format"},
		{"govulncheck unknown message", &govulncheckImporter{}, `{"config":{}}{"other":1}`, "message 2 is not a govulncheck message"},
		{"govulncheck truncated stream", &govulncheckImporter{}, `{"config":{}}{"finding":{"osv":"GO-1",`, "truncated JSON"},
		{"osv no results", &osvImporter{}, `{"runs":[]}`, "no results"},
		{"osv truncated", &osvImporter{}, `{"results":[{"source":`, "truncated JSON"},
		{"grype no matches", &grypeImporter{}, `{"source":{}}`, "no matches"},
		{"grype match without artifact", &grypeImporter{}, `{"matches":[{"vulnerability":{"id":"CVE-1"}}]}`, "match 0 has no vulnerability id or artifact"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, err := c.imp.Import(context.Background(), strings.NewReader(c.in))
			if err == nil || fs != nil {
				t.Fatalf("got %d findings, err %v; want an error", len(fs), err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v: want a ParseError containing %q", err, c.want)
			}
		})
	}
}
