package vuln

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// qualysImporter reads Qualys VM reports in two shapes:
//
//   - the XML asset data (host scan) report, <ASSET_DATA_REPORT>: each
//     HOST's VULN_INFO (detection of a QID on a port) is one finding, with
//     title, severity, CVEs, CVSS and texts from the GLOSSARY's
//     VULN_DETAILS for that QID. Its DOCTYPE names Qualys' external
//     asset_data_report.dtd; that exact declaration is blanked before
//     parsing (encoding/xml never fetches DTDs), any other DTD or entity is
//     refused as for every XML importer.
//   - the CSV exports: the scan report ("IP","Network","DNS",...,"QID",
//     "Title",...) and the PCI report (IP,HOSTNAME,...,QID,VULN TITLE,...).
//     Each row is one finding.
//
// Severity is Qualys' 1-5 level (1 info, 2 low, 3 medium, 4 high,
// 5 critical; Q_SEVERITY in the PCI export, whose SEVERITY column is a
// word used when the number is missing), for every detection type
// (confirmed, potential, information gathered) as DefectDojo's legacy
// mapping does. The CVSS vector is the QID's CVSS v3 base vector, which
// Qualys prints without the "CVSS:3.x/" prefix ("8.1 (AV:N/...)"): Vigil
// adds "CVSS:3.0/" and scores it; the number Qualys gives for the
// detection (CVSS3_FINAL, CVSS3) or the base score is ToolScore.
//
// Fingerprint rule: host IP + QID + port + protocol (+ "ssl" when the
// detection was over SSL/TLS).
//
// Corpus (scans/qualys): Qualys_Sample_Report.xml 301 = DefectDojo's 301
// (its legacy severities 177 info, 65 low, 46 medium, 6 high, 7 critical
// are Vigil's too); empty.csv 0 = 0; monthly_pci_issue6932.csv 1 = 1;
// Qualys_Sample_Report.csv: DefectDojo 3, Vigil 6: DefectDojo makes one
// finding per QID with the hosts as its locations, while Vigil never
// merges findings of different hosts (QID 105971 is on four hosts).
type qualysImporter struct{}

var _ Importer = (*qualysImporter)(nil)

func (*qualysImporter) Format() string { return "qualys" }

func (*qualysImporter) Detect(_ string, head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if bytes.Contains(head, []byte("<ASSET_DATA_REPORT")) {
		return true
	}
	line, _, _ := bytes.Cut(head, []byte("\n"))
	cols := map[string]bool{}
	for _, c := range strings.Split(string(line), ",") {
		cols[strings.ToUpper(strings.Trim(strings.TrimSpace(c), `"`))] = true
	}
	return cols["IP"] && cols["QID"] && (cols["TITLE"] || cols["VULN TITLE"]) && cols["SEVERITY"]
}

var qualysDoctype = regexp.MustCompile(`^<!DOCTYPE ASSET_DATA_REPORT SYSTEM "https://[A-Za-z0-9.-]+\.qualys\.com/asset_data_report\.dtd"\s*>$`)

// blankQualysDoctype replaces Qualys' own external-DTD declaration with
// spaces (keeping offsets) so the strict prolog check accepts the file.
func blankQualysDoctype(data []byte) []byte {
	i := bytes.Index(data, []byte("<!DOCTYPE"))
	if i < 0 || i > 512 {
		return data
	}
	j := bytes.IndexByte(data[i:], '>')
	if j < 0 || !qualysDoctype.Match(data[i:i+j+1]) {
		return data
	}
	out := bytes.Clone(data)
	for k := i; k <= i+j; k++ {
		out[k] = ' '
	}
	return out
}

type qualysVulnInfo struct {
	QID        string `xml:"QID"`
	Type       string `xml:"TYPE"`
	Port       string `xml:"PORT"`
	Service    string `xml:"SERVICE"`
	Protocol   string `xml:"PROTOCOL"`
	FQDN       string `xml:"FQDN"`
	SSL        string `xml:"SSL"`
	Result     string `xml:"RESULT"`
	VulnStatus string `xml:"VULN_STATUS"`
	CVSS3Final string `xml:"CVSS3_FINAL"`
}

type qualysDetails struct {
	ID         string   `xml:"id,attr"`
	QID        string   `xml:"QID"`
	Title      string   `xml:"TITLE"`
	Severity   string   `xml:"SEVERITY"`
	Category   string   `xml:"CATEGORY"`
	Threat     string   `xml:"THREAT"`
	Impact     string   `xml:"IMPACT"`
	Solution   string   `xml:"SOLUTION"`
	CVSS3Base  string   `xml:"CVSS3_SCORE>CVSS3_BASE"`
	CVEs       []string `xml:"CVE_ID_LIST>CVE_ID>ID"`
	VendorRefs []string `xml:"VENDOR_REFERENCE_LIST>VENDOR_REFERENCE>URL"`
}

type qualysXML struct {
	Hosts []struct {
		IP      string           `xml:"IP"`
		DNS     string           `xml:"DNS"`
		NetBIOS string           `xml:"NETBIOS"`
		OS      string           `xml:"OPERATING_SYSTEM"`
		Vulns   []qualysVulnInfo `xml:"VULN_INFO_LIST>VULN_INFO"`
	} `xml:"HOST_LIST>HOST"`
	Details []qualysDetails `xml:"GLOSSARY>VULN_DETAILS_LIST>VULN_DETAILS"`
}

func (*qualysImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "qualys"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, &ParseError{Format: format, Offset: -1, Err: errors.New("empty file: not a Qualys report")}
	}
	if trimmed[0] == '<' {
		return qualysXMLFindings(ctx, format, data)
	}
	return qualysCSVFindings(ctx, format, data)
}

func qualysXMLFindings(ctx context.Context, format string, data []byte) ([]Finding, error) {
	var rep qualysXML
	if err := decodeXML(format, blankQualysDoctype(data), "ASSET_DATA_REPORT", &rep); err != nil {
		return nil, err
	}
	details := make(map[string]*qualysDetails, len(rep.Details))
	for i := range rep.Details {
		d := &rep.Details[i]
		details[first(strings.TrimSpace(d.QID), strings.TrimPrefix(d.ID, "qid_"))] = d
	}
	out := []Finding{}
	for _, h := range rep.Hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, v := range h.Vulns {
			qid := strings.TrimSpace(v.QID)
			d := details[qid]
			if d == nil {
				d = &qualysDetails{}
			}
			row := qualysRow{
				ip: strings.TrimSpace(h.IP), host: first(strings.TrimSpace(v.FQDN), strings.TrimSpace(h.DNS), strings.TrimSpace(h.NetBIOS)),
				qid: qid, title: d.Title, typ: v.Type, severity: d.Severity,
				port: v.Port, protocol: v.Protocol, ssl: v.SSL == "true",
				threat: d.Threat, impact: d.Impact, solution: d.Solution, result: v.Result,
				cvss3: d.CVSS3Base, score: v.CVSS3Final, status: v.VulnStatus, category: d.Category,
				cves: d.CVEs, refs: d.VendorRefs,
			}
			out = append(out, row.finding())
		}
	}
	return finishAll(out), nil
}

// qualysCSVCols maps Vigil's fields to the column names of the two CSV
// exports (upper-cased).
var qualysCSVCols = map[string][]string{
	"ip":       {"IP"},
	"host":     {"DNS", "HOSTNAME", "FQDN", "NETBIOS"},
	"qid":      {"QID"},
	"title":    {"TITLE", "VULN TITLE"},
	"type":     {"TYPE"},
	"severity": {"Q_SEVERITY", "SEVERITY"},
	"port":     {"PORT"},
	"protocol": {"PROTOCOL"},
	"ssl":      {"SSL"},
	"threat":   {"THREAT"},
	"impact":   {"IMPACT"},
	"solution": {"SOLUTION"},
	"result":   {"RESULTS", "RESULT"},
	"cvss3":    {"CVSS3 BASE"},
	"score":    {"CVSS3", "CVSS3 BASE", "CVSS_BASE"},
	"status":   {"VULN STATUS"},
	"category": {"CATEGORY"},
	"cves":     {"CVE ID", "CVEID"},
}

func qualysCSVFindings(ctx context.Context, format string, data []byte) ([]Finding, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(format, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[strings.ToUpper(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"ip", "qid", "title", "severity"} {
		found := false
		for _, c := range qualysCSVCols[need] {
			_, ok := idx[c]
			found = found || ok
		}
		if !found {
			return nil, &ParseError{Format: format, Line: 1, Offset: 0, Err: fmt.Errorf("not a Qualys CSV export: no %s column", strings.Join(qualysCSVCols[need], " or "))}
		}
	}
	out := []Finding{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(format, err)
		}
		get := func(field string) string {
			for _, c := range qualysCSVCols[field] {
				if i, ok := idx[c]; ok && i < len(rec) {
					if s := strings.TrimSpace(rec[i]); s != "" && s != "-" {
						return s
					}
				}
			}
			return ""
		}
		if get("qid") == "" {
			line, _ := cr.FieldPos(0)
			return nil, &ParseError{Format: format, Line: line, Offset: -1, Err: errors.New("row without a QID")}
		}
		row := qualysRow{
			ip: get("ip"), host: get("host"), qid: get("qid"), title: get("title"), typ: get("type"),
			severity: get("severity"), port: get("port"), protocol: get("protocol"),
			ssl:    strings.EqualFold(get("ssl"), "true") || strings.EqualFold(get("ssl"), "yes"),
			threat: get("threat"), impact: get("impact"), solution: get("solution"), result: get("result"),
			cvss3: get("cvss3"), score: get("score"), status: get("status"), category: get("category"),
			cves: strings.FieldsFunc(get("cves"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }),
		}
		out = append(out, row.finding())
	}
	return finishAll(out), nil
}

// qualysRow is one detection, from XML or CSV.
type qualysRow struct {
	ip, host, qid, title, typ, severity string
	port, protocol                      string
	ssl                                 bool
	threat, impact, solution, result    string
	cvss3, score, status, category      string
	cves, refs                          []string
}

var qualysVector = regexp.MustCompile(`\(((?:AV|E):[^)]*)\)`)

func (q *qualysRow) finding() Finding {
	f := Finding{
		Scanner:     "qualys",
		RuleID:      "QID-" + q.qid,
		Title:       strings.TrimSpace(first(q.title, "QID "+q.qid)),
		Description: strings.TrimSpace(strings.Join(nonEmpty(q.threat, q.impact), "\n\n")),
		Severity:    qualysSeverity(q.severity),
		Asset:       Asset{Host: first(q.host, q.ip), IP: q.ip, Protocol: strings.ToLower(q.protocol)},
		Remediation: qualysText(q.solution),
		Evidence:    strings.TrimSpace(q.result),
		CVEs:        uniqueUpper(cveRe.FindAllString(strings.Join(q.cves, " "), -1)),
	}
	if n, err := strconv.Atoi(q.port); err == nil && n > 0 && n < 65536 {
		f.Asset.Port = n
	}
	if m := qualysVector.FindStringSubmatch(q.cvss3); m != nil {
		f.CVSSVector = "CVSS:3.0/" + m[1]
	}
	if s := strings.TrimSpace(strings.SplitN(q.score, " ", 2)[0]); s != "" {
		if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && v <= 10 {
			f.ToolScore = &v
		}
	}
	var ev []string
	for _, s := range []string{q.typ, q.status, q.category} {
		if s != "" {
			ev = append(ev, s)
		}
	}
	if len(ev) > 0 {
		f.Evidence = strings.TrimSpace(strings.Join(ev, ", ") + "\n" + f.Evidence)
	}
	for _, r := range q.refs {
		if r = strings.TrimSpace(r); r != "" {
			f.References = append(f.References, r)
		}
	}
	ssl := ""
	if q.ssl {
		ssl = "ssl"
	}
	f.Fingerprint = fingerprint("qualys", q.ip, q.qid, q.port, strings.ToLower(q.protocol), ssl)
	return f
}

// qualysSeverity maps Qualys' 1-5 level, or a severity word.
func qualysSeverity(s string) Severity {
	switch strings.TrimSpace(s) {
	case "1":
		return SeverityInfo
	case "2":
		return SeverityLow
	case "3":
		return SeverityMedium
	case "4":
		return SeverityHigh
	case "5":
		return SeverityCritical
	}
	return ParseSeverity(s)
}

var (
	qualysBreak = regexp.MustCompile(`(?i)<\s*(?:br|p)\s*/?>`)
	qualysLink  = regexp.MustCompile(`(?i)<a\s+href\s*=\s*["']?\s*([^\s"'<>]+)[^<>]*>`)
	qualysTag   = regexp.MustCompile(`</?[A-Za-z][^<>]*>`)
)

// qualysText turns Qualys' HTML-ish knowledge-base text into plain text
// (line breaks for <BR>/<P>, links kept as their URL, other tags
// dropped) and drops the "N/A"
// placeholder.
func qualysText(s string) string {
	s = qualysLink.ReplaceAllString(s, "$1 ")
	s = qualysTag.ReplaceAllString(qualysBreak.ReplaceAllString(s, "\n"), "")
	if s = strings.TrimSpace(s); strings.EqualFold(s, "N/A") {
		return ""
	}
	return s
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x = qualysText(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
