package vuln

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// testsslImporter reads testssl.sh results: the CSV file (--csvfile,
// header "id","fqdn/ip","port","severity","finding","cve","cwe"), the flat
// JSON file (--jsonfile, an array of such objects with "ip" for "fqdn/ip")
// and the structured JSON file (--jsonfile-pretty, "scanResult" sections).
//
// Only rated results are findings: LOW, MEDIUM, HIGH and CRITICAL keep
// their severity; WARN and FATAL (scan problems such as an unreachable
// target) are imported as info so a failed scan is visible. OK, INFO and
// DEBUG rows are status lines ("not offered", cipher lists, scores) and are
// skipped. A row's CVEs stay on one finding.
//
// Fingerprint rule: target IP (the part after "/" of fqdn/ip, else the
// host name) + port + testssl id.
//
// DefectDojo also imports INFO rows (deduplicated by finding text) and
// makes one finding per CVE, so counts differ:
//
//	defectdojo_many_vuln.csv DD 100, Vigil 17 (360 INFO rows)
//	demo2.csv                DD 3,   Vigil 0  (only INFO and OK rows)
//	many_cves.csv            DD 2,   Vigil 1  (DROWN with two CVEs)
//	overall_medium.csv       DD 2,   Vigil 1  (the MEDIUM overall grade; the rest INFO)
//	references.csv           DD 43,  Vigil 39 (4 INFO rows)
type testsslImporter struct{}

var _ Importer = (*testsslImporter)(nil)

func (*testsslImporter) Format() string { return "testssl" }

const testsslCSVHeader = `"id","fqdn/ip","port","severity","finding"`

func (*testsslImporter) Detect(_ string, head []byte) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(head, []byte(testsslCSVHeader)) {
		return true
	}
	if bytes.HasPrefix(head, []byte("{")) && bytes.Contains(head, []byte(`"scanResult"`)) && bytes.Contains(head, []byte("testssl")) {
		return true
	}
	return bytes.HasPrefix(head, []byte("[")) && bytes.Contains(head, []byte(`"finding"`)) &&
		bytes.Contains(head, []byte(`"severity"`)) && bytes.Contains(head, []byte(`"ip"`)) && bytes.Contains(head, []byte(`"port"`))
}

// testsslRow is one result in any of the formats.
type testsslRow struct {
	ID       flexString `json:"id"`
	Target   flexString `json:"ip"`
	Port     flexString `json:"port"`
	Severity flexString `json:"severity"`
	Finding  flexString `json:"finding"`
	CVE      flexString `json:"cve"`
	CWE      flexString `json:"cwe"`
}

func (*testsslImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "testssl"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var rows []testsslRow
	switch {
	case headLooksJSON(data, "["):
		if err := decodeJSON(format, data, &rows); err != nil {
			return nil, err
		}
	case headLooksJSON(data, "{"):
		if rows, err = testsslPretty(format, data); err != nil {
			return nil, err
		}
	default:
		if rows, err = testsslCSV(format, data); err != nil {
			return nil, err
		}
	}
	out := []Finding{}
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if f, ok := row.finding(); ok {
			out = append(out, f)
		}
	}
	return finishAll(out), nil
}

func testsslCSV(format string, data []byte) ([]testsslRow, error) {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{Format: format, Offset: -1, Err: errors.New("empty file: no CSV header")}
	}
	if err != nil {
		return nil, csvError(format, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"id", "fqdn/ip", "port", "severity", "finding"} {
		if _, ok := col[need]; !ok {
			return nil, &ParseError{Format: format, Line: 1, Offset: 0, Err: fmt.Errorf("not a testssl.sh CSV file: no %q column", need)}
		}
	}
	var rows []testsslRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, csvError(format, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < len(header) {
			return nil, &ParseError{Format: format, Line: line, Offset: -1, Err: fmt.Errorf("%w: %d of %d fields", errTruncatedRecord, len(rec), len(header))}
		}
		get := func(name string) flexString {
			if i, ok := col[name]; ok {
				return flexString(rec[i])
			}
			return ""
		}
		rows = append(rows, testsslRow{ID: get("id"), Target: get("fqdn/ip"), Port: get("port"), Severity: get("severity"), Finding: get("finding"), CVE: get("cve"), CWE: get("cwe")})
	}
}

// testsslPretty flattens --jsonfile-pretty output: every array of result
// objects in a scanResult entry holds rows for that entry's target.
func testsslPretty(format string, data []byte) ([]testsslRow, error) {
	var doc struct {
		ScanResult []map[string]json.RawMessage `json:"scanResult"`
	}
	if err := decodeJSON(format, data, &doc); err != nil {
		return nil, err
	}
	if doc.ScanResult == nil {
		return nil, errAt(format, data, 0, errors.New(`not a testssl.sh JSON file: no "scanResult"`))
	}
	var rows []testsslRow
	for _, sec := range doc.ScanResult {
		var host, ip, port flexString
		for k, dst := range map[string]*flexString{"targetHost": &host, "ip": &ip, "port": &port} {
			if raw, ok := sec[k]; ok {
				_ = dst.UnmarshalJSON(raw) // a non-string target field is left empty
			}
		}
		target := flexString(strings.Trim(string(host)+"/"+string(ip), "/"))
		keys := make([]string, 0, len(sec))
		for k := range sec {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(testsslSectionRank(a), testsslSectionRank(b)) })
		for _, k := range keys {
			raw := bytes.TrimSpace(sec[k])
			if len(raw) == 0 || raw[0] != '[' {
				continue
			}
			var part []testsslRow
			if err := json.Unmarshal(raw, &part); err != nil {
				continue // sections of other shapes carry no results
			}
			for _, p := range part {
				if p.Target == "" {
					p.Target = target
				}
				if p.Port == "" {
					p.Port = port
				}
				rows = append(rows, p)
			}
		}
	}
	return rows, nil
}

// testsslSections is the order testssl.sh runs its checks in; results
// keep it, sections it does not name follow in name order.
var testsslSections = []string{"pretest", "singleCipher", "protocols", "grease", "ciphers", "serverPreferences", "fs", "serverDefaults", "headerResponse", "vulnerabilities", "cipherTests", "browserSimulations", "rating"}

func testsslSectionRank(name string) string {
	if i := slices.Index(testsslSections, name); i >= 0 {
		return fmt.Sprintf("%03d", i)
	}
	return "999" + name
}

// testsslSeverity maps a testssl.sh severity; ok is false for status rows.
func testsslSeverity(s string) (Severity, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "LOW":
		return SeverityLow, true
	case "MEDIUM":
		return SeverityMedium, true
	case "HIGH":
		return SeverityHigh, true
	case "CRITICAL":
		return SeverityCritical, true
	case "WARN", "FATAL":
		return SeverityInfo, true
	}
	return "", false
}

func (row *testsslRow) finding() (Finding, bool) {
	sev, ok := testsslSeverity(string(row.Severity))
	if !ok {
		return Finding{}, false
	}
	id := strings.TrimSpace(string(row.ID))
	host, ip, _ := strings.Cut(strings.TrimSpace(string(row.Target)), "/")
	port := strings.TrimSpace(string(row.Port))
	text := strings.TrimSpace(string(row.Finding))
	f := Finding{
		Scanner:     "testssl",
		RuleID:      id,
		Title:       first(id, "testssl result"),
		Description: text,
		Evidence:    text,
		Severity:    sev,
		Asset:       Asset{Host: first(host, ip), IP: ip, Protocol: "tcp"},
		CVEs:        uniqueUpper(cveRe.FindAllString(string(row.CVE), -1)),
		CWEs:        cweList(string(row.CWE)),
	}
	if text != "" && len(text) <= 80 && !strings.Contains(text, "\n") {
		f.Title += ": " + text
	}
	if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
		f.Asset.Port = n
	}
	f.Fingerprint = fingerprint("testssl", first(ip, host), port, id)
	return f, true
}
