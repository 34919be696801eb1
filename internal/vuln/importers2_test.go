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

// importers2 are the importers of this file's formats, not yet in
// DefaultRegistry.
func importers2() []Importer {
	return []Importer{&tenableImporter{}, &tenableCSVImporter{}, &zapImporter{}, &niktoImporter{}, &testsslImporter{}}
}

// registry2 is DefaultRegistry plus importers2 (skipping any already
// registered once the lead wires them in).
func registry2(t testing.TB) *Registry {
	t.Helper()
	reg := DefaultRegistry()
	for _, imp := range importers2() {
		if _, err := reg.Lookup(imp.Format()); err == nil {
			continue
		}
		if err := reg.Register(imp); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// sample2 is one corpus file (path relative to scans/) with the importer
// that must detect and parse it, DefectDojo's count and Vigil's.
type sample2 struct {
	file   string
	format string
	dd     int
	vigil  int
	why    string
	// wantErr marks a file DefectDojo's parser also refuses.
	wantErr bool
}

func runCorpus2(t *testing.T, dir string, table []sample2) {
	t.Helper()
	root := filepath.Join(corpusDir, "scans", dir)
	var present []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			present = append(present, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testenv.Missing(t, "DefectDojo sample corpus at "+root)
		}
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, s := range table {
		listed[s.file] = true
	}
	for _, p := range present {
		if !listed[p] {
			t.Errorf("sample %s/%s not in the table", dir, p)
		}
	}
	if len(present) != len(table) {
		t.Fatalf("table lists %d files, %d present", len(table), len(present))
	}
	reg := registry2(t)
	for _, s := range table {
		t.Run(s.file, func(t *testing.T) {
			if s.vigil != s.dd && s.why == "" {
				t.Fatalf("Vigil count %d differs from DefectDojo's %d without a documented reason", s.vigil, s.dd)
			}
			path := filepath.Join(root, filepath.FromSlash(s.file))
			data, err := os.ReadFile(path) // #nosec G304 -- corpus file
			if err != nil {
				t.Fatal(err)
			}
			imp, err := reg.Detect(filepath.Base(path), data)
			if err != nil || imp.Format() != s.format {
				t.Errorf("Detect = %v, %v; want %s", imp, err, s.format)
			}
			fs, _, err := reg.ParseFile(context.Background(), s.format, path)
			if !wantParsed(t, fs, err, path, s.wantErr, s.vigil, s.dd) {
				return
			}
			checkFindings(t, fs, "")
			// A truncated copy must fail with a located error and no findings.
			if len(data) > 64 {
				cut := data[:len(data)*2/3]
				fs, err := reg.byName[s.format].Import(context.Background(), bytes.NewReader(cut))
				if err == nil && !truncationTolerant(s.format) {
					t.Errorf("truncated input accepted with %d findings", len(fs))
				}
				if err != nil {
					var pe *ParseError
					if fs != nil || !errors.As(err, &pe) || (pe.Line == 0 && pe.Offset < 0) {
						t.Errorf("truncated input: findings %v, error %v: want a located ParseError", fs, err)
					}
				}
			}
		})
	}
}

// truncationTolerant reports formats where a cut at a record boundary is
// indistinguishable from a shorter file (CSV); they are checked for a
// located error only when they do fail.
func truncationTolerant(format string) bool { return strings.HasSuffix(format, "-csv") }

func TestTenableCorpus(t *testing.T) {
	runCorpus2(t, "tenable", []sample2{
		{file: "nessus/nessus_many_vuln.xml", format: "tenable", dd: 6, vigil: 7, why: "DD merges plugin 11219 (ports 443 and 264) by title"},
		{file: "nessus/nessus_v_unknown.xml", format: "tenable", dd: 32, vigil: 296, why: "DD merges by plugin title across 7 hosts and ports (32 titles)"},
		{file: "nessus/nessus_with_cvssv3.nessus", format: "tenable", dd: 48, vigil: 48},
		{file: "nessus/issue_6992.nessus", format: "tenable", dd: 1, vigil: 1},
		{file: "nessus_was/nessus_was_many_vuln.xml", format: "tenable", dd: 5, vigil: 5},
		{file: "nessus_was/nessus_was_one_vuln.xml", format: "tenable", dd: 1, vigil: 1},
		{file: "nessus/nessus_many_vuln.csv", format: "tenable-csv", dd: 4, vigil: 4},
		{file: "nessus/nessus_many_vuln2-all.csv", format: "tenable-csv", dd: 29, vigil: 29},
		{file: "nessus/nessus_new.csv", format: "tenable-csv", dd: 99, vigil: 99},
		{file: "nessus_was/nessus_was_many_vuln.csv", format: "tenable-csv", dd: 5, vigil: 5},
		{file: "nessus_was/nessus_was_one_vuln.csv", format: "tenable-csv", dd: 1, vigil: 1},
		{file: "nessus_was/nessus_was_no_vuln.csv", format: "tenable-csv", dd: 0, vigil: 0},
		{file: "tenable_many_vuln.csv", format: "tenable-csv", dd: 9, vigil: 9},
		{file: "issue_9612.csv", format: "tenable-csv", dd: 2, vigil: 3, why: "plugin 73756 on two hosts and two ports; DD merges by title per host"},
		{file: "issue_11102.csv", format: "tenable-csv", dd: 2, vigil: 3, why: "plugin 42873 on two hosts and two ports; DD merges by title per host"},
	})
}

func TestZAPCorpus(t *testing.T) {
	const dedupTest = "used by DefectDojo's deduplication tests, which assert no count"
	runCorpus2(t, "zap", []sample2{
		{file: "empty_2.9.0.xml", format: "zap", dd: 0, vigil: 0},
		{file: "some_2.9.0.xml", format: "zap", dd: 7, vigil: 7},
		{file: "0_zap_sample.xml", format: "zap", dd: 4, vigil: 4},
		{file: "0_zap_sample_without_zap3.xml", format: "zap", dd: noDD, vigil: 3, why: dedupTest},
		{file: "1_zap_sample_0_and_new_absent.xml", format: "zap", dd: 4, vigil: 4},
		{file: "3_zap_sampl_0_and_different_severities.xml", format: "zap", dd: 4, vigil: 4},
		{file: "5_zap_sample_one.xml", format: "zap", dd: 2, vigil: 2},
		{file: "dvwa_baseline_dojo.xml", format: "zap", dd: 19, vigil: 18, why: "plugin 10027 listed at two confidences is one finding"},
		{file: "dvwa_baseline_dojo_fabricated_internal_duplicates_subset.xml", format: "zap", dd: noDD, vigil: 5, why: dedupTest},
		{file: "dvwa_baseline_dojo_subset.xml", format: "zap", dd: noDD, vigil: 10, why: dedupTest},
		{file: "zap-results-first-scan.xml", format: "zap", dd: 15, vigil: 15},
		{file: "zap-results-second-scan.xml", format: "zap", dd: noDD, vigil: 18, why: dedupTest},
		{file: "zap_2.16.1_with_req_resp.xml", format: "zap", dd: 4, vigil: 4},
	})
}

func TestNiktoCorpus(t *testing.T) {
	runCorpus2(t, "nikto", []sample2{
		{file: "issue_9274.json", format: "nikto", dd: 8, vigil: 8},
		{file: "juice-shop.json", format: "nikto", dd: 11, vigil: 11},
		{file: "nikto-output.xml", format: "nikto", dd: 13, vigil: 13},
		{file: "nikto-report-old-format.xml", format: "nikto", dd: 1, vigil: 1},
		{file: "nikto-report-one-vuln.xml", format: "nikto", dd: 1, vigil: 1},
		{file: "nikto-report-zero-vuln.xml", format: "nikto", dd: 0, vigil: 0},
		{file: "tdh.xml", format: "nikto", dd: 6, vigil: 6},
	})
}

func TestTestsslCorpus(t *testing.T) {
	const infoRows = "DefectDojo imports INFO status rows; Vigil only rated rows and scan problems"
	runCorpus2(t, "testssl", []sample2{
		{file: "defectdojo_many_vuln.csv", format: "testssl", dd: 100, vigil: 17, why: infoRows},
		{file: "defectdojo_no_vuln.csv", format: "testssl", dd: 0, vigil: 0},
		{file: "defectdojo_one_vuln.csv", format: "testssl", dd: 1, vigil: 1},
		{file: "demo2.csv", format: "testssl", dd: 3, vigil: 0, why: infoRows},
		{file: "failed_target.csv", format: "testssl", dd: 1, vigil: 1},
		{file: "many_cves.csv", format: "testssl", dd: 2, vigil: 1, why: "DefectDojo makes one finding per CVE; Vigil one per row"},
		{file: "overall_medium.csv", format: "testssl", dd: 2, vigil: 1, why: infoRows},
		{file: "references.csv", format: "testssl", dd: 43, vigil: 39, why: infoRows},
	})
}

// TestGolden2 imports each testdata/<format>-<case>.in of this file's
// formats and compares the JSON lines with the .golden file next to it
// (go test -run TestGolden2 -update rewrites them).
func TestGolden2(t *testing.T) {
	var ins []string
	for _, imp := range importers2() {
		if strings.HasSuffix(imp.Format(), "-csv") {
			continue // matched by its base format's glob
		}
		m, err := filepath.Glob(filepath.Join("testdata", imp.Format()+"-*.in"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Errorf("no golden input for %s", imp.Format())
		}
		ins = append(ins, m...)
	}
	reg := registry2(t)
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			format := name[:strings.LastIndex(name, "-")]
			fs, imp, err := reg.ParseFile(context.Background(), format, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) == 0 {
				t.Fatal("golden sample gives no findings")
			}
			data, err := os.ReadFile(in) // #nosec G304 -- test fixture path
			if err != nil {
				t.Fatal(err)
			}
			if det, err := reg.Detect(filepath.Base(in), data); err != nil || det != imp {
				t.Errorf("Detect = %v, %v; want %s", det, err, format)
			}
			var got bytes.Buffer
			if err := WriteJSONLines(&got, fs); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".in") + ".golden"
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

// TestDetect2 checks that, with this file's importers added to the
// default ones, every corpus sample of their formats is detected by the
// right importer and no other format's sample is claimed by them.
func TestDetect2(t *testing.T) {
	reg := registry2(t)
	mine := map[string]bool{}
	for _, imp := range importers2() {
		mine[imp.Format()] = true
	}
	dirs := map[string]bool{"tenable": true, "zap": true, "nikto": true, "testssl": true}
	root := filepath.Join(corpusDir, "scans")
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		dir, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		data, err := os.ReadFile(p) // #nosec G304 -- corpus file
		if err != nil {
			return err
		}
		n++
		imp, derr := reg.Detect(filepath.Base(p), data)
		switch {
		case dirs[dir]:
			want := dir
			if dir == "tenable" && !bytes.Contains(data[:min(len(data), DetectSize)], []byte("<NessusClientData_v2")) {
				want = "tenable-csv"
			}
			if derr != nil || imp.Format() != want {
				t.Errorf("%s: detected as %v (%v), want %s", rel, imp, derr, want)
			}
		case derr == nil && mine[imp.Format()]:
			t.Errorf("%s (a %s sample) detected as %s", rel, dir, imp.Format())
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) || n == 0 {
		testenv.Missing(t, "DefectDojo sample corpus at "+root)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestImporters2Errors checks refusals: DTDs with entities, truncated and
// foreign input give a located error naming the file and no findings.
func TestImporters2Errors(t *testing.T) {
	dir := t.TempDir()
	reg := registry2(t)
	golden := func(name string) string {
		data, err := os.ReadFile(filepath.Join("testdata", name)) // #nosec G304 -- test fixture path
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	xxe := `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`
	for _, tc := range []struct {
		name, format, content string
		want                  []string
	}{
		{"xxe.nessus", "tenable", xxe + `<NessusClientData_v2><Report><ReportHost name="h"><ReportItem pluginID="1" pluginName="&x;"/></ReportHost></Report></NessusClientData_v2>`, []string{"xxe.nessus", "tenable", "entities"}},
		{"xxe-zap.xml", "zap", xxe + `<OWASPZAPReport><site name="&x;"/></OWASPZAPReport>`, []string{"xxe-zap.xml", "zap", "entities"}},
		{"xxe-nikto.xml", "nikto", `<?xml version="1.0"?><!DOCTYPE niktoscan SYSTEM "docs/nikto.dtd" [<!ENTITY x "y">]><niktoscan/>`, []string{"xxe-nikto.xml", "nikto", "entities"}},
		{"ext-nikto.xml", "nikto", `<?xml version="1.0"?><!DOCTYPE niktoscan SYSTEM "http://evil.example/x">` + "\n<niktoscan/>", []string{"ext-nikto.xml", "entities"}},
		{"trunc.nessus", "tenable", golden("tenable-nessus.in")[:1500], []string{"trunc.nessus", "tenable", "line ", "truncated"}},
		{"trunc-zap.xml", "zap", golden("zap-xml.in")[:1000], []string{"trunc-zap.xml", "zap", "line ", "truncated"}},
		{"trunc-zap.json", "zap", golden("zap-json.in")[:700], []string{"trunc-zap.json", "zap", "offset 700", "truncated"}},
		{"trunc-nikto.json", "nikto", golden("nikto-json.in")[:900], []string{"trunc-nikto.json", "nikto", "offset 900", "truncated"}},
		{"trunc-nikto.xml", "nikto", golden("nikto-xml.in")[:1200], []string{"trunc-nikto.xml", "nikto", "line ", "truncated"}},
		{"trunc-testssl.json", "testssl", golden("testssl-json.in")[:300], []string{"trunc-testssl.json", "testssl", "offset 300", "truncated"}},
		{"trunc-testssl.csv", "testssl", golden("testssl-csv.in")[:300], []string{"trunc-testssl.csv", "testssl", "line 5", "truncated"}},
		{"trunc-tenable.csv", "tenable-csv", golden("tenable-csv-sc.in")[:1000], []string{"trunc-tenable.csv", "tenable-csv", "line "}},
		{"wrong.csv", "tenable-csv", "a,b,c\n1,2,3\n", []string{"wrong.csv", "not a Tenable CSV export"}},
		{"wrong-testssl.csv", "testssl", "a,b,c\n1,2,3\n", []string{"wrong-testssl.csv", "not a testssl.sh CSV file"}},
		{"wrong-zap.xml", "zap", "<nessus/>", []string{"wrong-zap.xml", "root element is <nessus>"}},
		{"wrong-pretty.json", "testssl", `{"a":1}`, []string{"wrong-pretty.json", "no \"scanResult\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			fs, _, err := reg.ParseFile(context.Background(), tc.format, p)
			if err == nil || fs != nil {
				t.Fatalf("got %d findings, err %v; want an error and no findings", len(fs), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestImporters2Fields spot-checks mapped fields that the golden files
// would only show as a diff.
func TestImporters2Fields(t *testing.T) {
	ctx := context.Background()
	reg := registry2(t)
	fs, _, err := reg.ParseFile(ctx, "tenable", filepath.Join("testdata", "tenable-nessus.in"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 {
		t.Fatalf("tenable: %d findings", len(fs))
	}
	sweet := fs[1]
	if sweet.RuleID != "42873" || sweet.Severity != SeverityMedium || sweet.Asset.IP != "192.0.2.20" || sweet.Asset.Host != "web.example.com" ||
		sweet.Asset.Port != 443 || sweet.CVSSScore == nil || *sweet.CVSSScore != 7.5 || sweet.ToolScore == nil || *sweet.ToolScore != 7.5 ||
		len(sweet.References) != 2 || !strings.Contains(sweet.Evidence, "DES-CBC3-SHA") || sweet.CVEs[0] != "CVE-2016-2183" {
		t.Errorf("tenable SWEET32 finding %+v", sweet)
	}
	if php := fs[2]; php.Severity != SeverityHigh || php.CVSSVector != "" || !cmp.Equal(php.CWEs, []string{"CWE-94", "CWE-119"}) || len(php.CVEs) != 2 {
		t.Errorf("tenable PHP finding %+v", php)
	}

	// Nessus writes one CSV row per CVE: rows of one plugin, host and port merge.
	fs, _, err = reg.ParseFile(ctx, "tenable-csv", filepath.Join(corpusDir, "scans", "tenable", "tenable_many_vuln.csv"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testenv.Missing(t, "DefectDojo sample corpus")
		}
		t.Fatal(err)
	}
	var maria *Finding
	for i := range fs {
		if fs[i].RuleID == "176703" {
			maria = &fs[i]
		}
	}
	if maria == nil || len(maria.CVEs) != 10 || maria.Occurrences != 10 || maria.Severity != SeverityHigh || maria.Asset.Host != "ip-127-0-0-1.us-west-2.compute.internal" {
		t.Errorf("tenable-csv mariadb finding %+v", maria)
	}

	fs, _, err = reg.ParseFile(ctx, "zap", filepath.Join("testdata", "zap-json.in"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Severity != SeverityMedium || fs[0].Occurrences != 2 || fs[0].CWEs[0] != "CWE-693" || len(fs[0].References) != 2 ||
		fs[1].Severity != SeverityHigh || !strings.Contains(fs[1].Evidence, "param=q") || fs[1].Asset.URL != "https://app.example.com/search?q=%3Cscript%3E" {
		t.Errorf("zap JSON findings %+v", fs)
	}
	one, err := (&zapImporter{}).Import(ctx, strings.NewReader(`{"@version":"2.7.0","site":{"@name":"http://h","@port":"80","alerts":[{"pluginid":"1","name":"n","riskcode":"1"}]}}`))
	if err != nil || len(one) != 1 || one[0].Asset.Port != 80 || one[0].Severity != SeverityLow {
		t.Errorf("zap JSON with one site object: %+v, %v", one, err)
	}
	xmlFs, _, err := reg.ParseFile(ctx, "zap", filepath.Join("testdata", "zap-xml.in"))
	if err != nil {
		t.Fatal(err)
	}
	if len(xmlFs) != 2 || xmlFs[0].Occurrences != 3 || xmlFs[0].Severity != SeverityLow || xmlFs[0].CWEs[0] != "CWE-614" {
		t.Errorf("zap XML findings %+v", xmlFs)
	}

	fs, _, err = reg.ParseFile(ctx, "testssl", filepath.Join("testdata", "testssl-pretty.in"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 4 {
		t.Fatalf("testssl pretty: %d findings", len(fs))
	}
	for _, f := range fs {
		if f.Asset.IP != "192.0.2.10" || f.Asset.Host != "tls.example.com" || f.Asset.Port != 443 {
			t.Errorf("testssl pretty asset %+v", f.Asset)
		}
	}
}
