package vuln

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// sample4 is one corpus file with DefectDojo's expected count (noDD when
// its tests assert none) and Vigil's; why is required when they differ.
type sample4 struct {
	file  string
	dd    int
	vigil int
	why   string
	// detectOther, when set, says why auto-detection may give this
	// sample to another importer.
	detectOther string
}

// runCorpus4 parses every sample of a corpus directory with format,
// checks auto-detection picks that importer, the counts, the findings'
// completeness, and that a copy cut at two thirds fails with a located
// error and no findings.
func runCorpus4(t *testing.T, format, dir string, table []sample4) []Finding {
	t.Helper()
	root := filepath.Join(corpusDir, "scans", dir)
	entries, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testenv.Missing(t, "DefectDojo sample corpus at "+root)
		}
		t.Fatal(err)
	}
	var present, listed []string
	for _, e := range entries {
		if !e.IsDir() {
			present = append(present, e.Name())
		}
	}
	for _, s := range table {
		listed = append(listed, s.file)
	}
	slices.Sort(present)
	slices.Sort(listed)
	if !slices.Equal(present, listed) {
		t.Fatalf("sample table out of date:\npresent %q\nlisted  %q", present, listed)
	}
	reg := DefaultRegistry()
	imp, err := reg.Lookup(format)
	if err != nil {
		t.Fatal(err)
	}
	var all []Finding
	for _, s := range table {
		t.Run(s.file, func(t *testing.T) {
			if s.vigil != s.dd && s.why == "" {
				t.Fatalf("Vigil count %d differs from DefectDojo's %d without a documented reason", s.vigil, s.dd)
			}
			path := filepath.Join(root, s.file)
			data, err := os.ReadFile(path) // #nosec G304 -- corpus file
			if err != nil {
				t.Fatal(err)
			}
			if len(bytes.TrimSpace(data)) > 0 && s.detectOther == "" {
				if got, err := reg.Detect(s.file, data); err != nil || got.Format() != format {
					t.Errorf("Detect = %v, %v; want %s", got, err, format)
				}
			}
			fs, _, err := reg.ParseFile(context.Background(), format, path)
			if !wantParsed(t, fs, err, path, false, s.vigil, s.dd) {
				return
			}
			checkFindings(t, fs, format)
			for _, f := range fs {
				if f.Layer == "" {
					t.Errorf("%s: no layer", f.Title)
				}
			}
			all = append(all, fs...)
			if len(data) < 64 {
				return
			}
			cut := data[:len(data)*2/3]
			cfs, err := imp.Import(context.Background(), bytes.NewReader(cut))
			var pe *ParseError
			if err == nil || cfs != nil || !errors.As(err, &pe) || (pe.Line == 0 && pe.Offset < 0) {
				t.Errorf("truncated input: %d findings, error %v: want a located ParseError and no findings", len(cfs), err)
			}
		})
	}
	return all
}

// byTitle returns the finding with the title, failing the test if absent.
func byTitle(t *testing.T, fs []Finding, title string) Finding {
	t.Helper()
	for _, f := range fs {
		if f.Title == title {
			return f
		}
	}
	t.Fatalf("no finding titled %q", title)
	return Finding{}
}

func parseSample(t *testing.T, format, dir, file string) []Finding {
	t.Helper()
	path := filepath.Join(corpusDir, "scans", dir, file)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		testenv.Missing(t, "DefectDojo sample "+path)
	}
	fs, _, err := DefaultRegistry().ParseFile(context.Background(), format, path)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestOpenSCAPCorpus(t *testing.T) {
	runCorpus4(t, "openscap", "openscap", []sample4{
		{file: "ios-sample-v1.1.3.xccdf.xml", dd: 1, vigil: 1},
		{file: "many_vuln_rhsa.xml", dd: 31, vigil: 31},
		{file: "no_vuln_rhsa.xml", dd: 0, vigil: 0},
	})
}

// TestOpenSCAPFields checks values DefectDojo's parser tests assert for
// the same samples (test_openscap_parser.py).
func TestOpenSCAPFields(t *testing.T) {
	fs := parseSample(t, "openscap", "openscap", "many_vuln_rhsa.xml")
	f := byTitle(t, fs, "RHSA-2017:3315: kernel security and bug fix update (Moderate)")
	if f.Severity != SeverityMedium || !slices.Equal(f.CVEs, []string{"CVE-2017-1000380"}) || f.RuleID != "oval-com.redhat.rhsa-def-20173315" ||
		f.Asset.Host != "sample.system" || f.Asset.IP != "192.168.94.166" || f.Layer != LayerOS {
		t.Errorf("RHSA-2017:3315 finding %+v", f)
	}
	fs = parseSample(t, "openscap", "openscap", "ios-sample-v1.1.3.xccdf.xml")
	f = byTitle(t, fs, "IOS 12 - no IP finger service")
	// Description and fix text are inherited from no-finger-service-base
	// through "extends"; the fix command is the rule's own <fix>.
	if f.Severity != SeverityMedium || f.CVEs != nil || f.RuleID != "ios12-no-finger-service" || f.Asset.Host != "lower.test.net" ||
		f.Asset.IP != "192.168.248.1" || f.Layer != LayerConfiguration ||
		!strings.Contains(f.Description, "Disable the finger service") ||
		!strings.Contains(f.Remediation, "Turn off the finger service") || !strings.HasSuffix(f.Remediation, "no ip finger") {
		t.Errorf("IOS finding %+v", f)
	}
}

// TestOpenSCAPHosts checks that the same failed rule on two targets gives
// two findings, and that results other than "fail" are not findings.
func TestOpenSCAPHosts(t *testing.T) {
	doc := `<?xml version="1.0"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b">
<Rule id="r1" severity="high"><title>SSH root login</title><fixtext>PermitRootLogin no</fixtext><ident system="http://cce.mitre.org">CCE-1</ident></Rule>
<TestResult id="t1"><target>localhost</target><target-address>127.0.0.1</target-address><target-address>192.0.2.1</target-address>
<rule-result idref="r1"><result>fail</result></rule-result><rule-result idref="r2"><result>error</result></rule-result></TestResult>
<TestResult id="t2"><target>localhost</target><target-address>192.0.2.2</target-address>
<rule-result idref="r1"><result>fail</result></rule-result><rule-result idref="r1"><result>notchecked</result></rule-result></TestResult>
</Benchmark>`
	fs, err := (&openscapImporter{}).Import(context.Background(), strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Fingerprint == fs[1].Fingerprint || fs[0].Asset.IP != "192.0.2.1" || fs[1].Asset.IP != "192.0.2.2" {
		t.Fatalf("findings %+v", fs)
	}
	if f := fs[0]; f.Severity != SeverityHigh || f.Remediation != "PermitRootLogin no" || !slices.Equal(f.References, []string{"CCE-1"}) {
		t.Errorf("finding %+v", f)
	}
}

func TestBurpCorpus(t *testing.T) {
	runCorpus4(t, "burp", "burp", []sample4{
		{file: "issue4399.xml", dd: 20, vigil: 27, why: "DefectDojo keys on the issue type alone; the 344 records of Burp's shared extension type 134217728 are 8 different issues, kept apart by name"},
		{file: "one_finding.xml", dd: 1, vigil: 1},
		{file: "one_finding_with_blank_response.xml", dd: 1, vigil: 1},
		{file: "seven_findings.xml", dd: 7, vigil: 7},
	})
}

// TestBurpFields checks values DefectDojo's parser tests assert
// (test_burp_parser.py) and the merging of one issue's records.
func TestBurpFields(t *testing.T) {
	fs := parseSample(t, "burp", "burp", "issue4399.xml")
	for _, c := range []struct {
		title, rule, cwe string
		sev              Severity
	}{
		{"Unencrypted communications", "16777728", "CWE-326", SeverityLow},
		{"Input returned in response (reflected)", "4197376", "CWE-20", SeverityInfo},
		{"External service interaction (HTTP)", "3146256", "CWE-918", SeverityHigh},
	} {
		f := byTitle(t, fs, c.title)
		if f.RuleID != c.rule || f.Severity != c.sev || len(f.CWEs) == 0 || f.CWEs[0] != c.cwe || f.Asset.Host != "testphp.vulnweb.com" || f.Asset.Port != 80 {
			t.Errorf("%s: %+v", c.title, f)
		}
	}
	// 185 Low and 2 Medium records of one extension issue: one finding,
	// the highest severity.
	if f := byTitle(t, fs, "Detailed Error Messages Revealed"); f.Occurrences != 187 || f.Severity != SeverityMedium {
		t.Errorf("merged extension issue: %d occurrences, %s", f.Occurrences, f.Severity)
	}
	fs = parseSample(t, "burp", "burp", "one_finding.xml")
	if f := fs[0]; f.Occurrences != 3 || f.RuleID != "1049088" || f.Severity != SeverityHigh || f.Asset.IP != "192.168.187.137" ||
		!strings.Contains(f.Evidence, "/bodgeit/basket.jsp [b_id cookie]") || !strings.Contains(f.Evidence, "POST /bodgeit/basket.jsp HTTP/1.1") ||
		f.Remediation == "" || f.Layer != LayerApplication {
		t.Errorf("one_finding.xml: %+v", f)
	}
	fs = parseSample(t, "burp", "burp", "seven_findings.xml")
	if f := byTitle(t, fs, "Frameable response (potential Clickjacking)"); f.RuleID != "5245344" || f.Severity != SeverityInfo {
		t.Errorf("seven_findings.xml: %+v", f)
	}
}

func TestAcunetixCorpus(t *testing.T) {
	runCorpus4(t, "acunetix", "acunetix", []sample4{
		{file: "XML_http_example_co_id_.xml", dd: 7, vigil: 7},
		{file: "XML_http_example_co_id_port_num.xml", dd: noDD, vigil: 7, why: "not counted by DefectDojo's tests; the same 19 items as XML_http_example_co_id_.xml on port 9000"},
		{file: "acunetix360_many_findings.json", dd: 16, vigil: 16},
		{file: "acunetix360_multiple_cwe.json", dd: 1, vigil: 1},
		{file: "acunetix360_one_finding.json", dd: 1, vigil: 1},
		{file: "acunetix360_one_finding_accepted_risk.json", dd: 1, vigil: 1},
		{file: "acunetix360_zero_finding.json", dd: noDD, vigil: 0, why: "not counted by DefectDojo's tests; its Vulnerabilities array is empty"},
		{file: "issue_10370.json", dd: 1, vigil: 1},
		{file: "issue_10435.json", dd: 1, vigil: 1},
		{file: "many_findings.xml", dd: 4, vigil: 4},
		{file: "many_findings_with_port_number.xml", dd: noDD, vigil: 4, why: "not counted by DefectDojo's tests; many_findings.xml's 4 items on port 8080"},
		{file: "one_finding.xml", dd: 1, vigil: 1},
		{file: "watson_test_unique.xml", dd: noDD, vigil: 1, why: "not counted by DefectDojo's tests; it holds one report item"},
	})
}

// TestAcunetixFields checks values DefectDojo's parser tests assert
// (test_acunetix_parser.py).
func TestAcunetixFields(t *testing.T) {
	fs := parseSample(t, "acunetix", "acunetix", "one_finding.xml")
	if f := fs[0]; f.Severity != SeverityMedium || !slices.Equal(f.CWEs, []string{"CWE-352"}) || f.Asset.Host != "vijaytest.com" ||
		f.Asset.Port != 443 || f.Asset.URL != "https://vijaytest.com/some/path" || f.Remediation != "Vijay Test Recommendation" ||
		!strings.Contains(f.Description, "Vijay Test Imapact") || !slices.Equal(f.References, []string{"https://vijayref.com"}) {
		t.Errorf("one_finding.xml: %+v", f)
	}
	fs = parseSample(t, "acunetix", "acunetix", "many_findings.xml")
	for title, vec := range map[string]string{
		"Slow HTTP Denial of Service Attack": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
		"Possible virtual host found":        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"Unencrypted connection (verified)":  "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
	} {
		if f := byTitle(t, fs, title); f.CVSSVector != vec || f.CVSSScore == nil || f.Asset.Host != "www.itsecgames.com" {
			t.Errorf("%s: %+v", title, f)
		}
	}
	if f := byTitle(t, fs, "Possible virtual host found"); f.Severity != SeverityLow || !slices.Equal(f.CWEs, []string{"CWE-200"}) {
		t.Errorf("virtual host: %+v", f)
	}
	fs = parseSample(t, "acunetix", "acunetix", "XML_http_example_co_id_.xml")
	if f := byTitle(t, fs, "HTML form without CSRF protection"); f.Occurrences != 3 || f.Severity != SeverityMedium ||
		!strings.Contains(f.Evidence, "/h/search") || !strings.Contains(f.Evidence, "/m/zmain") {
		t.Errorf("CSRF: %+v", f)
	}
	if f := byTitle(t, fs, "Content Security Policy (CSP) not implemented"); f.Severity != SeverityInfo {
		t.Errorf("CSP: %+v", f)
	}
	fs = parseSample(t, "acunetix", "acunetix", "acunetix360_many_findings.json")
	if f := byTitle(t, fs, "Cookie Not Marked as HttpOnly"); f.Severity != SeverityMedium || !slices.Equal(f.CWEs, []string{"CWE-16"}) ||
		f.CVSSVector != "CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:U/C:H/I:N/A:N/E:H/RL:O/RC:C" || f.Asset.URL != "http://php.testsparker.com/auth/login.php" {
		t.Errorf("cookie: %+v", f)
	}
	if f := byTitle(t, fs, "Boolean Based SQL Injection"); f.Severity != SeverityCritical || !slices.Equal(f.CWEs, []string{"CWE-89"}) {
		t.Errorf("SQL injection: %+v", f)
	}
	fs = parseSample(t, "acunetix", "acunetix", "acunetix360_multiple_cwe.json")
	if f := fs[0]; !slices.Equal(f.CWEs, []string{"CWE-16", "CWE-200"}) {
		t.Errorf("multiple CWEs: %v", f.CWEs)
	}
	fs = parseSample(t, "acunetix", "acunetix", "acunetix360_one_finding_accepted_risk.json")
	if f := fs[0]; !strings.Contains(f.Evidence, "AcceptedRisk") || f.Suppressed {
		t.Errorf("accepted risk: %+v", f)
	}
}

// TestImporters4Refusals checks entity refusal, Burp's own DTD subset
// being accepted only when it declares nothing but elements and
// attributes, and clear errors for other files.
func TestImporters4Refusals(t *testing.T) {
	burpDTD := "<!DOCTYPE issues [\n<!ELEMENT issues (issue*)>\n<!ATTLIST issues burpVersion CDATA \"\">\n<!ATTLIST request base64 (true|false) \"false\">\n]>\n"
	cases := []struct {
		name string
		imp  Importer
		in   string
		want string
	}{
		{"openscap xxe", &openscapImporter{}, `<?xml version="1.0"?><!DOCTYPE Benchmark [<!ENTITY x SYSTEM "file:///etc/passwd">]><Benchmark>&x;</Benchmark>`, ErrXMLEntities.Error()},
		{"openscap laughs", &openscapImporter{}, `<!DOCTYPE Benchmark [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Benchmark>&b;</Benchmark>`, ErrXMLEntities.Error()},
		{"openscap wrong root", &openscapImporter{}, `<issues/>`, "root element is <issues>"},
		{"openscap empty", &openscapImporter{}, ``, "no root element"},
		{"openscap benchmark without results", &openscapImporter{}, `<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2"><Rule id="r"/></Benchmark>`, "no <TestResult>"},
		{"acunetix no scan", &acunetixImporter{}, `<ScanGroup ExportedOn="x"/>`, "holds no <Scan>"},
		{"openscap undefined entity", &openscapImporter{}, `<Benchmark><Rule id="a">&x;</Rule><TestResult/></Benchmark>`, "entity"},
		{"burp entity in subset", &burpImporter{}, "<!DOCTYPE issues [\n<!ELEMENT issues (issue*)>\n<!ENTITY x SYSTEM \"file:///etc/passwd\">\n]>\n<issues>&x;</issues>", ErrXMLEntities.Error()},
		{"burp parameter entity", &burpImporter{}, "<!DOCTYPE issues [\n<!ELEMENT issues (issue*)>\n%x;\n]>\n<issues/>", ErrXMLEntities.Error()},
		{"burp external dtd", &burpImporter{}, `<!DOCTYPE issues SYSTEM "http://example.invalid/burp.dtd"><issues/>`, ErrXMLEntities.Error()},
		{"burp wrong root", &burpImporter{}, burpDTD + `<ScanGroup/>`, "root element is <ScanGroup>, want <issues>"},
		{"burp truncated", &burpImporter{}, burpDTD + "<issues>\n<issue><name>x", "line 7"},
		{"acunetix xxe", &acunetixImporter{}, `<!DOCTYPE ScanGroup [<!ENTITY x SYSTEM "file:///etc/passwd">]><ScanGroup>&x;</ScanGroup>`, ErrXMLEntities.Error()},
		{"acunetix json without vulnerabilities", &acunetixImporter{}, `{"Target":{"Url":"http://a"}}`, `no "Vulnerabilities"`},
		{"acunetix truncated json", &acunetixImporter{}, `{"Target":{"Url":"http://a"},"Vulnerabilities":[{"Name":`, "truncated JSON"},
		{"acunetix wrong root", &acunetixImporter{}, `<issues/>`, "want <ScanGroup>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, err := c.imp.Import(context.Background(), strings.NewReader(c.in))
			if err == nil || fs != nil {
				t.Fatalf("got %d findings, err %v; want an error", len(fs), err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v: want it to contain %q", err, c.want)
			}
		})
	}
	// Burp's own subset is blanked and the document parses.
	fs, err := (&burpImporter{}).Import(context.Background(), strings.NewReader(burpDTD+`<issues burpVersion="1"><issue><type>1</type><name>n</name><host ip="192.0.2.9">https://a.example:8443</host><path>/p</path><severity>False positive</severity></issue></issues>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !fs[0].Suppressed || fs[0].Severity != SeverityInfo || fs[0].Asset.Port != 8443 || fs[0].Asset.URL != "https://a.example:8443/p" {
		t.Errorf("burp findings %+v", fs)
	}
}

// TestBurpHostsApart checks that one issue type on two hosts gives two
// findings.
func TestBurpHostsApart(t *testing.T) {
	doc := `<issues burpVersion="2023.1"><issue><type>1049088</type><name>SQL injection</name><host ip="192.0.2.1">http://a.example</host><path>/x</path><severity>High</severity></issue>
<issue><type>1049088</type><name>SQL injection</name><host ip="192.0.2.2">http://b.example</host><path>/x</path><severity>High</severity></issue>
<issue><type>1049088</type><name>SQL injection</name><host ip="192.0.2.1">http://a.example</host><path>/y</path><severity>High</severity></issue></issues>`
	fs, err := (&burpImporter{}).Import(context.Background(), strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Occurrences != 2 || fs[1].Occurrences != 1 || fs[0].Asset.Host != "a.example" || fs[1].Asset.Host != "b.example" {
		t.Errorf("findings %+v", fs)
	}
}

func TestMasscanCorpus(t *testing.T) {
	fs := runCorpus4(t, "masscan", "masscan", []sample4{
		{file: "masscan_many_vuln.json", dd: 4, vigil: 4},
		{file: "masscan_no_vuln.json", dd: 0, vigil: 0},
		{file: "masscan_one_vuln.json", dd: 1, vigil: 1},
	})
	// DefectDojo's test: ports 80, 3000, 8080, 8443 of 172.29.0.3, all info.
	var ports []int
	for _, f := range fs {
		if f.Asset.IP != "172.29.0.3" || f.Severity != SeverityInfo || f.Layer != LayerNetwork || f.Asset.Protocol != "tcp" {
			t.Errorf("finding %+v", f)
		}
		ports = append(ports, f.Asset.Port)
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []int{80, 80, 3000, 8080, 8443}) { // many (4) + one (80)
		t.Errorf("ports %v", ports)
	}
}

func TestNaabuCorpus(t *testing.T) {
	fs := runCorpus4(t, "naabu", "naabu", []sample4{
		{file: "naabu_many_vuln.json", dd: 4, vigil: 4},
		{file: "naabu_no_vuln.json", dd: 0, vigil: 0},
		{file: "naabu_one_vuln.json", dd: 1, vigil: 1},
	})
	for _, f := range fs {
		if f.Asset.IP != "172.29.0.3" || f.Severity != SeverityInfo || f.Occurrences != 2 {
			t.Errorf("finding %+v (each port appears on two lines)", f)
		}
	}
}

// TestPortScanners checks the cases DefectDojo's masscan and naabu tests
// spell out inline.
func TestPortScanners(t *testing.T) {
	cases := []struct {
		name   string
		imp    Importer
		in     string
		titles []string // sorted
		hosts  int
	}{
		{"masscan closed port", &masscanImporter{}, `[{"ip":"203.0.113.10","ports":[{"port":80,"proto":"tcp","status":"closed","reason":"rst","ttl":64}]}]`, nil, 0},
		{"masscan two ports in one record", &masscanImporter{}, `[{"ip":"203.0.113.10","ports":[{"port":80,"proto":"tcp","status":"open"},{"port":443,"proto":"tcp","status":"open"}]}]`, []string{"Open port: 443/tcp", "Open port: 80/tcp"}, 1},
		{"masscan udp", &masscanImporter{}, `[{"ip":"203.0.113.10","ports":[{"port":53,"proto":"udp","status":"open"}]}]`, []string{"Open port: 53/udp"}, 1},
		{"masscan repeated port", &masscanImporter{}, "[\n{\"ip\":\"203.0.113.10\",\"ports\":[{\"port\":80,\"proto\":\"tcp\",\"status\":\"open\"}]}\n,\n{\"ip\":\"203.0.113.10\",\"ports\":[{\"port\":80,\"proto\":\"tcp\",\"status\":\"open\"}]}\n]", []string{"Open port: 80/tcp"}, 1},
		{"masscan two hosts", &masscanImporter{}, `[{"ip":"203.0.113.10","ports":[{"port":80,"proto":"tcp","status":"open"}]},{"ip":"203.0.113.11","ports":[{"port":80,"proto":"tcp","status":"open"}]}]`, []string{"Open port: 80/tcp", "Open port: 80/tcp"}, 2},
		{"masscan trailing comma", &masscanImporter{}, "[\n{\"ip\":\"203.0.113.10\",\"ports\":[{\"port\":80,\"proto\":\"tcp\",\"status\":\"open\"}]}\n,\n]", []string{"Open port: 80/tcp"}, 1},
		{"naabu host name", &naabuImporter{}, `{"host":"target.example.com","ip":"203.0.113.10","port":443,"protocol":"tcp","tls":true}` + "\n", []string{"Open port: 443/tcp"}, 1},
		{"naabu udp", &naabuImporter{}, `{"ip":"203.0.113.10","port":53,"protocol":"udp"}`, []string{"Open port: 53/udp"}, 1},
		{"naabu two hosts and blank lines", &naabuImporter{}, "\n{\"ip\":\"203.0.113.10\",\"port\":80,\"protocol\":\"tcp\"}\n\n{\"ip\":\"203.0.113.11\",\"port\":80}\n", []string{"Open port: 80/tcp", "Open port: 80/tcp"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, err := c.imp.Import(context.Background(), strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			var titles []string
			hosts := map[string]bool{}
			for _, f := range fs {
				titles = append(titles, f.Title)
				hosts[f.Asset.IP] = true
			}
			slices.Sort(titles)
			if !slices.Equal(titles, c.titles) || len(hosts) != c.hosts {
				t.Errorf("findings %+v", fs)
			}
		})
	}
	fs, err := (&naabuImporter{}).Import(context.Background(), strings.NewReader(`{"host":"target.example.com","ip":"203.0.113.10","port":443,"protocol":"tcp","tls":true}`))
	if err != nil || fs[0].Asset.Host != "target.example.com" || fs[0].Asset.IP != "203.0.113.10" || fs[0].Evidence != "TLS: yes" {
		t.Errorf("naabu host name: %+v, %v", fs, err)
	}
	for _, c := range []struct {
		imp       Importer
		in, want  string
		wantLine  int
		wantFound bool
	}{
		{&masscanImporter{}, `{"ip":"203.0.113.10","ports":[]}`, "want an array", 1, true},
		{&masscanImporter{}, `[{"ports":[{"port":80}]}]`, "record 0 has no ip", 1, true},
		{&masscanImporter{}, "[\n{\"ip\":\"203.0.113.10\",\"ports\":[{\"port\":", "truncated JSON", 2, true},
		{&naabuImporter{}, `[{"ip":"203.0.113.10","port":80}]`, "JSON array is not naabu output", 1, true},
		{&naabuImporter{}, "{\"ip\":\"203.0.113.10\",\"port\":80}\n{\"ip\":\"203.0.113.11\",\"port\":0}\n", "not a naabu result", 2, true},
		{&naabuImporter{}, "{\"ip\":\"203.0.113.10\",\"port\":80}\n{\"ip\":", "truncated JSON", 2, true},
	} {
		fs, err := c.imp.Import(context.Background(), strings.NewReader(c.in))
		var pe *ParseError
		if err == nil || fs != nil || !errors.As(err, &pe) || pe.Line != c.wantLine || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %d findings, err %v; want %q on line %d", c.imp.Format(), c.in, len(fs), err, c.want, c.wantLine)
		}
	}
}

func TestGitleaksCorpus(t *testing.T) {
	runCorpus4(t, "gitleaks", "gitleaks", []sample4{
		{file: "data_many.json", dd: 2, vigil: 2},
		{file: "data_one.json", dd: 1, vigil: 1},
		{file: "gitleaks8_many.json", dd: 3, vigil: 3},
		{file: "no_findings.json", dd: 0, vigil: 0, detectOther: `it holds only "null", trivy's legacy empty report`},
		{file: "redacted_data_many.json", dd: 6, vigil: 6},
		{file: "version_7.5.0.json", dd: 4, vigil: 4},
	})
}

// TestGitleaksFields checks values DefectDojo's parser test asserts
// (test_gitleaks_parser.py) and that no secret is kept.
func TestGitleaksFields(t *testing.T) {
	fs := parseSample(t, "gitleaks", "gitleaks", "gitleaks8_many.json")
	f := fs[0]
	if f.Asset.Component != "/conf/aws.tf" || f.Occurrences != 2 || f.Severity != SeverityHigh || f.Layer != LayerApplication ||
		!strings.Contains(f.Evidence, "74d53286c550630f80847d37f68aa3065554ac813544072ccd1278da71fafe31") ||
		!strings.Contains(f.Evidence, "9619c91b3fd2998be5d9ce198833d7ac9489d9bc378ad7cd28963d5a967f8699") || !strings.Contains(f.Evidence, "/conf/aws.tf:2") {
		t.Errorf("AWS leak: %+v", f)
	}
	if f := byTitle(t, fs, "Hard-coded secret: RSA private key"); f.Asset.Component != "conf/rsa.pk" || !strings.Contains(f.Evidence, "tag1, tag2") {
		t.Errorf("RSA leak: %+v", f)
	}
	fs = parseSample(t, "gitleaks", "gitleaks", "version_7.5.0.json")
	var locs []string
	for _, f := range fs {
		loc, _, _ := strings.Cut(f.Evidence, ": secret ")
		locs = append(locs, loc)
	}
	want := map[string]bool{
		"dojo/unittests/scans/gitlab_secret_detection_report/gitlab_secret_detection_report_1_vuln.json:13": true,
		"dojo/unittests/scans/gitlab_secret_detection_report/gitlab_secret_detection_report_3_vuln.json:13": true,
		"dojo/unittests/scans/gitlab_secret_detection_report/gitlab_secret_detection_report_3_vuln.json:44": true,
		"dojo/unittests/tools/test_gitlab_secret_detection_report_parser.py:37":                             true,
	}
	for _, l := range locs {
		if !want[l] {
			t.Errorf("unexpected leak location %q (all: %q)", l, locs)
		}
	}
	for _, file := range []string{"data_many.json", "gitleaks8_many.json", "version_7.5.0.json"} {
		for _, f := range parseSample(t, "gitleaks", "gitleaks", file) {
			for _, secret := range []string{"c77e01c1e89682e4d4b94a059a7fd2b37ab326ed", "secretAWSsecret", "AKIAIOSFODNN7EXAMPLE", "38c47f19e349153fa963bb3b3212fe8e"} {
				if strings.Contains(f.Evidence+f.Description+f.Title, secret) {
					t.Errorf("%s: secret %s kept in %+v", file, secret, f)
				}
			}
		}
	}
}

func TestSemgrepCorpus(t *testing.T) {
	runCorpus4(t, "semgrep", "semgrep", []sample4{
		{file: "close_old_findings_report_line31.json", dd: noDD, vigil: 1, why: "used by DefectDojo's close-old-findings tests, not counted; it holds one result"},
		{file: "close_old_findings_report_second_run_line24.json", dd: noDD, vigil: 1, why: "as above, the same result moved to line 24"},
		{file: "close_old_findings_report_third_run_different_unique_id.json", dd: noDD, vigil: 1, why: "as above, with another Semgrep fingerprint"},
		{file: "empty.json", dd: 0, vigil: 0},
		{file: "fingerprint_test.json", dd: 2, vigil: 2},
		{file: "high-medium-low-severities.json", dd: 3, vigil: 3},
		{file: "many_findings.json", dd: 3, vigil: 3},
		{file: "many_vulns.json", dd: 48, vigil: 48},
		{file: "multiple_cwes_fabricated.json", dd: 1, vigil: 1},
		{file: "repeated_findings.json", dd: 1, vigil: 1},
		{file: "sca-deployments-vulns.json", dd: 18, vigil: 22, why: "DefectDojo keys on manifest path and line and merges one advisory across repositories; Vigil keeps repositories apart"},
		{file: "semgrep_version_1_30_0_line_26.json", dd: noDD, vigil: 5, why: "DefectDojo only compares its unique ids with a line_27 copy absent from the corpus; it holds 5 results"},
	})
}

// TestSemgrepFields checks values DefectDojo's parser tests assert
// (test_semgrep_parser.py) and the fingerprint rule on the
// close-old-findings samples.
func TestSemgrepFields(t *testing.T) {
	find := func(fs []Finding, path, line string) Finding {
		t.Helper()
		for _, f := range fs {
			if f.Asset.Target == path && strings.HasPrefix(f.Evidence, path+":"+line+"\n") {
				return f
			}
		}
		t.Fatalf("no finding at %s:%s", path, line)
		return Finding{}
	}
	fs := parseSample(t, "semgrep", "semgrep", "many_findings.json")
	f := find(fs, "src/main/java/org/owasp/benchmark/testcode/BenchmarkTest02194.java", "64")
	if f.Severity != SeverityMedium || !slices.Equal(f.CWEs, []string{"CWE-696"}) || f.RuleID != "java.lang.security.audit.cbc-padding-oracle.cbc-padding-oracle" ||
		!strings.Contains(f.Remediation, `javax crypto Cipher.getInstance("AES/GCM/NoPadding");`) ||
		!strings.Contains(f.Description, "Using CBC with PKCS5Padding is susceptible to padding orcale attacks") {
		t.Errorf("BenchmarkTest02194: %+v", f)
	}
	if f := find(fs, "src/main/java/org/owasp/benchmark/testcode/BenchmarkTest01150.java", "66"); f.Severity != SeverityLow {
		t.Errorf("INFO result: %+v", f)
	}
	if fs := parseSample(t, "semgrep", "semgrep", "repeated_findings.json"); fs[0].Occurrences != 2 || fs[0].Severity != SeverityMedium {
		t.Errorf("repeated: %+v", fs[0])
	}
	fs = parseSample(t, "semgrep", "semgrep", "many_vulns.json")
	for _, c := range []struct {
		path, line, rule, cwe string
		sev                   Severity
	}{
		{"tasks.py", "186", "python.lang.correctness.tempfile.flush.tempfile-without-flush", "", SeverityHigh},
		{"utils.py", "503", "python.lang.maintainability.useless-ifelse.useless-if-conditional", "", SeverityMedium},
		{"tools/sslyze/parser_xml.py", "124", "python.lang.security.insecure-hash-algorithms.insecure-hash-algorithm-md5", "CWE-327", SeverityMedium},
		{"management/commands/csv_findings_export.py", "33", "python.lang.security.unquoted-csv-writer.unquoted-csv-writer", "CWE-1236", SeverityHigh},
	} {
		f := find(fs, c.path, c.line)
		if f.RuleID != c.rule || f.Severity != c.sev || (c.cwe != "" && !slices.Equal(f.CWEs, []string{c.cwe})) {
			t.Errorf("%s:%s: %+v", c.path, c.line, f)
		}
	}
	if fs := parseSample(t, "semgrep", "semgrep", "multiple_cwes_fabricated.json"); !slices.Equal(fs[0].CWEs, []string{"CWE-327", "CWE-696"}) {
		t.Errorf("multiple CWEs: %v", fs[0].CWEs)
	}
	fs = parseSample(t, "semgrep", "semgrep", "fingerprint_test.json")
	find(fs, "sample/brute.py", "31")
	find(fs, "sample/function.go", "37")
	fs = parseSample(t, "semgrep", "semgrep", "sca-deployments-vulns.json")
	if f := fs[0]; f.Severity != SeverityHigh || !strings.HasPrefix(f.Evidence, "requirements3.txt:222") || !slices.Equal(f.CWEs, []string{"CWE-617"}) ||
		!slices.Equal(f.CVEs, []string{"CVE-2023-1428"}) || f.Asset.Package != "grpcio" || f.Asset.Version != "1.47.0" || f.FixedIn != "1.53.0" {
		t.Errorf("supply chain: %+v", f)
	}
	// The same match moved from line 31 to 24 keeps its fingerprint; a
	// different Semgrep fingerprint is a different finding.
	a := parseSample(t, "semgrep", "semgrep", "close_old_findings_report_line31.json")[0]
	b := parseSample(t, "semgrep", "semgrep", "close_old_findings_report_second_run_line24.json")[0]
	c := parseSample(t, "semgrep", "semgrep", "close_old_findings_report_third_run_different_unique_id.json")[0]
	if a.Fingerprint != b.Fingerprint || b.Fingerprint == c.Fingerprint {
		t.Errorf("fingerprints: line 31 %s, line 24 %s, other id %s", a.Fingerprint, b.Fingerprint, c.Fingerprint)
	}
}

func TestWazuhCorpus(t *testing.T) {
	runCorpus4(t, "wazuh", "wazuh", []sample4{
		{file: "v4-7_many_findings.json", dd: 6, vigil: 13, why: `DefectDojo drops the 6 "Package unfixed" items and the "Untriaged" one; an unfixed vulnerable package is still exposed`},
		{file: "v4-7_no_findings.json", dd: 0, vigil: 0},
		{file: "v4-7_one_finding.json", dd: 1, vigil: 1},
		{file: "v4-8_many_findings.json", dd: 10, vigil: 10},
		{file: "wazuh_abnormal_severity.json", dd: noDD, vigil: 1, why: "DefectDojo's test checks the severity only; it holds one hit"},
	})
}

// TestWazuhFields checks values DefectDojo's parser tests assert
// (test_wazuh_parser.py), and the documented severity fallback.
func TestWazuhFields(t *testing.T) {
	f := parseSample(t, "wazuh", "wazuh", "v4-7_one_finding.json")[0]
	if f.Severity != SeverityMedium || !slices.Equal(f.CVEs, []string{"CVE-1234-123123"}) || f.Asset.Package != "asdf" || f.Asset.Version != "4.3.1" ||
		f.ToolScore == nil || *f.ToolScore != 5.5 || f.FixedIn != "4.3.2" || f.Layer != LayerOS {
		t.Errorf("v4.7 finding %+v", f)
	}
	fs := parseSample(t, "wazuh", "wazuh", "v4-8_many_findings.json")
	if f := fs[0]; !slices.Equal(f.CVEs, []string{"CVE-2025-27558"}) || f.Asset.Version != "6.8.0-60.63" || f.Severity != SeverityCritical ||
		f.ToolScore == nil || *f.ToolScore != 9.1 || f.Asset.Host != "myhost0" {
		t.Errorf("v4.8 finding %+v", f)
	}
	hosts := map[string]int{}
	for _, f := range fs {
		hosts[f.Asset.Host]++
	}
	if hosts["myhost0"] != 6 || hosts["myhost1"] != 4 {
		t.Errorf("findings per agent %v", hosts)
	}
	if f := parseSample(t, "wazuh", "wazuh", "wazuh_abnormal_severity.json")[0]; f.Severity != SeverityCritical {
		t.Errorf("severity \"-\" with base score 9.1: %s, want critical", f.Severity)
	}
	fs = parseSample(t, "wazuh", "wazuh", "v4-7_many_findings.json")
	for _, f := range fs {
		if f.RuleID == "CVE-YYYY-jfjieo" && f.Severity != SeverityInfo { // "Untriaged", cvss3_score 0
			t.Errorf("untriaged item: %+v", f)
		}
	}
}

func TestLynisCorpus(t *testing.T) {
	fs := runCorpus4(t, "lynis", "lynis", []sample4{
		{file: "lynis_many_vuln.dat", dd: 38, vigil: 38},
		{file: "lynis_no_vuln.dat", dd: 0, vigil: 0},
		{file: "lynis_one_vuln.dat", dd: 1, vigil: 1},
	})
	// DefectDojo's test: the full audit has one warning (LOGG-2138) and
	// 37 suggestions (plus the one-finding sample's suggestion here).
	var warnings []Finding
	low := 0
	for _, f := range fs {
		switch f.Severity {
		case SeverityMedium:
			warnings = append(warnings, f)
		case SeverityLow:
			low++
		}
		if f.Asset.Host != "82103dde74c7" || f.Asset.Component != "Debian GNU/Linux 13 (trixie)" || f.Layer != LayerConfiguration {
			t.Errorf("finding %+v", f)
		}
	}
	if len(warnings) != 1 || low != 38 || warnings[0].RuleID != "LOGG-2138" || !strings.Contains(warnings[0].Title, "klogd is not running") {
		t.Errorf("%d warnings (%+v), %d suggestions", len(warnings), warnings, low)
	}
}

// TestLynisFields checks the result-line cases DefectDojo's tests spell
// out inline.
func TestLynisFields(t *testing.T) {
	imp := &lynisImporter{}
	parse := func(in string) []Finding {
		t.Helper()
		fs, err := imp.Import(context.Background(), strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	f := parse("hostname=h1\nos_fullname=Debian GNU/Linux 13\nwarning[]=KRNL-5820|Reboot of system is most likely needed|details here|Reboot the system|\n")[0]
	if f.RuleID != "KRNL-5820" || f.Title != "Reboot of system is most likely needed" || f.Remediation != "Reboot the system" ||
		!strings.Contains(f.Description, "Details: details here") || f.Severity != SeverityMedium || f.Asset.Host != "h1" {
		t.Errorf("pipe fields: %+v", f)
	}
	f = parse("suggestion[]=BOOT-5122|Set a password on GRUB|-|-|\n")[0]
	if f.Title != "Set a password on GRUB" || strings.Contains(f.Description, "Details") || f.Severity != SeverityLow {
		t.Errorf("dash fields: %+v", f)
	}
	if f := parse("warning[]=TEST-0001|check a|b in the text|-|-|\n")[0]; f.RuleID != "TEST-0001" || f.Title != "check a|b in the text" {
		t.Errorf("pipe in text: %+v", f)
	}
	if fs := parse("# a comment\n\nsuggestion[]=X-1|text|-|-|\nnot a key value line\n"); len(fs) != 1 {
		t.Errorf("comments: %d findings", len(fs))
	}
	if fs := parse(""); len(fs) != 0 {
		t.Errorf("empty: %d findings", len(fs))
	}
	// Two hosts' reports of the same test give different fingerprints.
	a := parse("hostname=a\nsuggestion[]=X-1|text|-|-|\n")[0]
	b := parse("hostname=b\nsuggestion[]=X-1|text|-|-|\n")[0]
	if a.Fingerprint == b.Fingerprint {
		t.Error("two hosts share a fingerprint")
	}
	fs, err := imp.Import(context.Background(), strings.NewReader("hostname=a\nsuggestion[]=|-|\n"))
	var pe *ParseError
	if err == nil || fs != nil || !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("malformed result: %d findings, %v", len(fs), err)
	}
}
