package vuln

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// tenableCSVImporter reads the CSV exports of Tenable Nessus, Tenable.sc,
// Tenable WAS and the semicolon-separated Tenable.io vulnerability export
// (asset.* / definition.* columns). Columns are found by header name; rows
// without a plugin ID (blank filler rows some exports end with) are skipped.
// Nessus writes one row per CVE of a plugin; rows sharing a fingerprint are
// merged into one finding whose CVE list is the union and whose Occurrences
// counts the rows.
//
// Fingerprint rule: host IP (else host name) + port/protocol + plugin ID,
// the same fields as the .nessus importer, so CSV and XML exports of one
// Nessus host scan agree. (WAS CSV rows carry a host name and no URL or
// port, so they do not match WAS XML fingerprints.)
//
// Counts differ from DefectDojo where it merges one plugin across hosts
// or ports (Vigil never merges different hosts or ports):
//
//	issue_9612.csv   DD 2, Vigil 3 (plugin 73756 on 2.3.4.5:1433, 2.3.4.5:5555, 1.2.3.4:1433)
//	issue_11102.csv  DD 2, Vigil 3 (plugin 42873 on 1.2.3.4:443, 2.3.4.5:443, 1.2.3.4:8443)
type tenableCSVImporter struct{}

var _ Importer = (*tenableCSVImporter)(nil)

func (*tenableCSVImporter) Format() string { return "tenable-csv" }

// tenableCols lists, for each field, the header names Tenable's exports
// use, in order of preference.
var tenableCols = map[string][]string{
	"plugin":   {"Plugin", "Plugin ID", "definition.id"},
	"name":     {"Plugin Name", "Name", "definition.name"},
	"severity": {"Severity", "Risk", "Risk Factor", "severity", "definition.severity"},
	"ip":       {"IP Address", "asset.display_ipv4_address", "asset.display_ipv6_address", "Host"},
	"host":     {"DNS Name", "FQDN", "asset.display_fqdn", "asset.host_name", "Host", "NetBIOS Name"},
	"protocol": {"Protocol", "protocol"},
	"port":     {"Port", "port"},
	"output":   {"Plugin Output", "Plugin Text", "output"},
	"synopsis": {"Synopsis", "definition.synopsis"},
	"desc":     {"Description", "definition.description"},
	"solution": {"Solution", "Steps to Remediate", "definition.solution"},
	"seealso":  {"See Also", "definition.see_also"},
	"cve":      {"CVE", "definition.cve"},
	"cwe":      {"CWE", "definition.cwe"},
	"vector":   {"CVSS V3 Vector", "CVSS3 Vector", "definition.cvss3.base_vector"},
	"score":    {"CVSS V3 Base Score", "CVSS3 Base Score", "CVSSv3", "CVSS v3.0 Base Score", "definition.cvss3.base_score", "CVSS V2 Base Score", "CVSS Base Score", "CVSS"},
	"family":   {"Family", "Plugin Family", "definition.family"},
}

// tenableHeader splits a header line with the delimiter it uses.
func tenableHeader(line []byte) (rune, map[string]bool) {
	delim := ','
	if bytes.Count(line, []byte(";")) > bytes.Count(line, []byte(",")) {
		delim = ';'
	}
	cols := map[string]bool{}
	for _, c := range strings.Split(string(line), string(delim)) {
		cols[strings.Trim(strings.TrimSpace(c), `"`)] = true
	}
	return delim, cols
}

func (*tenableCSVImporter) Detect(_ string, head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	line, _, _ := bytes.Cut(head, []byte("\n"))
	_, cols := tenableHeader(bytes.TrimRight(line, "\r"))
	has := func(field string) bool {
		for _, n := range tenableCols[field] {
			if cols[n] {
				return true
			}
		}
		return false
	}
	return has("plugin") && has("name") && (cols["Host"] || cols["IP Address"] || cols["asset.display_ipv4_address"])
}

func (*tenableCSVImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "tenable-csv"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	line, _, _ := bytes.Cut(data, []byte("\n"))
	delim, _ := tenableHeader(bytes.TrimRight(line, "\r"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{Format: format, Offset: -1, Err: errors.New("empty file: no CSV header")}
	}
	if err != nil {
		return nil, csvError(format, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		if _, dup := idx[strings.TrimSpace(h)]; !dup {
			idx[strings.TrimSpace(h)] = i
		}
	}
	col := map[string]int{}
	for field, names := range tenableCols {
		for _, n := range names {
			if i, ok := idx[n]; ok {
				col[field] = i
				break
			}
		}
	}
	for _, need := range []string{"plugin", "name"} {
		if _, ok := col[need]; !ok {
			return nil, &ParseError{Format: format, Line: 1, Offset: 0, Err: fmt.Errorf("not a Tenable CSV export: no %s column (%s)", need, strings.Join(tenableCols[need], ", "))}
		}
	}
	out := []Finding{}
	byFP := map[string]int{}
	err = eachCSVRow(ctx, format, cr, col, func(get func(string) string) error {
		if get("plugin") == "" {
			return errSkipRow
		}
		f := tenableCSVFinding(get)
		if i, ok := byFP[f.Fingerprint]; ok {
			out[i].CVEs = uniqueUpper(append(out[i].CVEs, f.CVEs...))
			out[i].Occurrences++
			return nil
		}
		f.Occurrences = 1
		byFP[f.Fingerprint] = len(out)
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return finishAll(out), nil
}

func tenableCSVFinding(get func(string) string) Finding {
	plugin := get("plugin")
	ip, host := get("ip"), get("host")
	proto := strings.ToLower(get("protocol"))
	f := Finding{
		Scanner:     "tenable",
		RuleID:      plugin,
		Title:       first(get("name"), plugin),
		Description: first(get("desc"), get("synopsis")),
		Remediation: get("solution"),
		Evidence:    get("output"),
		Asset:       Asset{Host: first(host, ip), IP: ip, Protocol: proto, Component: get("family")},
	}
	sev := get("severity")
	f.Severity = nessusSeverity(sev)
	if f.Severity == "" {
		f.Severity = ParseSeverity(sev)
	}
	port := get("port")
	if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
		f.Asset.Port = n
	}
	if v := get("vector"); strings.HasPrefix(v, "CVSS:3") {
		f.CVSSVector = v
	} else if strings.HasPrefix(v, "AV:") {
		f.CVSSVector = "CVSS:3.0/" + v
	}
	f.ToolScore = toolScore(get("score"))
	f.CVEs = uniqueUpper(cveRe.FindAllString(get("cve"), -1))
	f.CWEs = cweList(get("cwe"))
	f.References = splitRefs(get("seealso"))
	f.Fingerprint = fingerprint("tenable", first(ip, host), port+"/"+proto, plugin)
	return f
}
