package vuln

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
)

// acunetixImporter reads Acunetix reports in both shapes DefectDojo's
// "Acunetix Scan" accepts: the XML export of Acunetix 360 on-premises
// (<ScanGroup><Scan>…<ReportItems><ReportItem>) and the JSON export of
// Acunetix 360 / Invicti Enterprise ({"Target":{…},"Vulnerabilities":[…]}).
//
// XML: the scanned site is the crawler's start URL (else <StartURL>); each
// report item gives title, severity (high/medium/low/informational), CWE
// list, CVE list, CVSS 3 descriptor (scored by Vigil), impact and
// description, recommendation (Remediation) and references.
// Fingerprint rule (XML): site origin (scheme://host:port) + module name +
// item name. Report items of one issue on several paths or parameters are
// listed in Evidence and counted in Occurrences, as DefectDojo aggregates
// them (XML_http_example_co_id_.xml: 19 items, 7 findings, the CSRF one
// with 3 occurrences; many_findings.xml 4; one_finding.xml 1).
//
// JSON: each vulnerability has its own URL, type, severity (Critical, High,
// Medium, Low, Information, BestPractice → info), classification (CWE
// list, CVSS 3.1 vector preferred over 3.0), remedial actions and
// procedure (Remediation), external and remedy references.
// Fingerprint rule (JSON): target origin + vulnerability type + the URL's
// scheme, host and path. The query string is left out: Acunetix puts its
// attack payload there and changes it between scans. A "FalsePositive"
// state is imported with Suppressed set; other states (Present, Revived,
// AcceptedRisk) are kept in Evidence for the analyst.
// The counts match DefectDojo's on every sample (acunetix360_many_findings
// 16, the one-finding files 1, acunetix360_zero_finding 0).
//
// Layer: application.
type acunetixImporter struct{}

var _ Importer = (*acunetixImporter)(nil)

func (*acunetixImporter) Format() string { return "acunetix" }

func (*acunetixImporter) Detect(_ string, head []byte) bool {
	if bytes.Contains(head, []byte("<ScanGroup")) && bytes.Contains(head, []byte("<Scan>")) {
		return true
	}
	return headLooksJSON(head, "{") && bytes.Contains(head, []byte(`"Vulnerabilities"`)) &&
		bytes.Contains(head, []byte(`"Target"`)) && bytes.Contains(head, []byte(`"ScanId"`))
}

type acunetixItem struct {
	Name           xmlText   `xml:"Name"`
	ModuleName     xmlText   `xml:"ModuleName"`
	Details        xmlText   `xml:"Details"`
	Affects        xmlText   `xml:"Affects"`
	Parameter      xmlText   `xml:"Parameter"`
	IsFalsePos     xmlText   `xml:"IsFalsePositive"`
	Severity       xmlText   `xml:"Severity"`
	Type           xmlText   `xml:"Type"`
	Impact         xmlText   `xml:"Impact"`
	Description    xmlText   `xml:"Description"`
	Detailed       xmlText   `xml:"DetailedInformation"`
	Recommendation xmlText   `xml:"Recommendation"`
	Request        string    `xml:"TechnicalDetails>Request"`
	CWEs           []xmlText `xml:"CWEList>CWE"`
	CVEs           []xmlText `xml:"CVEList>CVE"`
	CVSS3          string    `xml:"CVSS3>Descriptor"`
	Refs           []string  `xml:"References>Reference>URL"`
}

type acunetixScan struct {
	StartURL string `xml:"StartURL"`
	Crawler  struct {
		StartURL string `xml:"StartUrl,attr"`
	} `xml:"Crawler"`
	Items []acunetixItem `xml:"ReportItems>ReportItem"`
}

type acunetixXML struct {
	Scans []acunetixScan `xml:"Scan"`
}

type acunetix360 struct {
	Target *struct {
		URL flexString `json:"Url"`
	} `json:"Target"`
	Vulnerabilities *[]acunetix360Vuln `json:"Vulnerabilities"`
}

type acunetix360Vuln struct {
	Name           flexString `json:"Name"`
	Type           flexString `json:"Type"`
	URL            flexString `json:"Url"`
	Severity       flexString `json:"Severity"`
	State          flexString `json:"State"`
	Certainty      flexString `json:"Certainty"`
	LookupID       flexString `json:"LookupId"`
	Description    flexString `json:"Description"`
	Impact         flexString `json:"Impact"`
	Actions        flexString `json:"RemedialActions"`
	Procedure      flexString `json:"RemedialProcedure"`
	RemedyRefs     flexString `json:"RemedyReferences"`
	ExternalRefs   flexString `json:"ExternalReferences"`
	Classification *struct {
		CWE   flexString                   `json:"Cwe"`
		CVSS  *struct{ Vector flexString } `json:"Cvss"`
		CVSS1 *struct{ Vector flexString } `json:"Cvss31"`
	} `json:"Classification"`
	Request *struct {
		Content flexString `json:"Content"`
	} `json:"HttpRequest"`
}

func (*acunetixImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "acunetix"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var fs []Finding
	if headLooksJSON(data, "{[") {
		var rep acunetix360
		if err := decodeJSON(format, data, &rep); err != nil {
			return nil, err
		}
		if rep.Vulnerabilities == nil {
			return nil, errAt(format, data, 0, errors.New(`not an Acunetix 360 JSON report: no "Vulnerabilities"`))
		}
		target := ""
		if rep.Target != nil {
			target = string(rep.Target.URL)
		}
		for i := range *rep.Vulnerabilities {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fs = append(fs, (*rep.Vulnerabilities)[i].finding(target))
		}
	} else {
		var rep acunetixXML
		if err := decodeXML(format, data, "ScanGroup", &rep); err != nil {
			return nil, err
		}
		if len(rep.Scans) == 0 {
			return nil, errAt(format, data, 0, errors.New("not an Acunetix XML report: <ScanGroup> holds no <Scan>"))
		}
		for i := range rep.Scans {
			s := &rep.Scans[i]
			site := first(strings.TrimSpace(s.Crawler.StartURL), strings.TrimSpace(s.StartURL))
			for j := range s.Items {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				fs = append(fs, s.Items[j].finding(site))
			}
		}
	}
	out := []Finding{}
	byFP := map[string]int{}
	for _, f := range fs {
		if j, ok := byFP[f.Fingerprint]; ok {
			out[j].Occurrences++
			out[j].Evidence = appendEvidence(out[j].Evidence, f.Evidence)
			if severityRank(f.Severity) > severityRank(out[j].Severity) {
				out[j].Severity = f.Severity
			}
			continue
		}
		f.Occurrences = 1
		byFP[f.Fingerprint] = len(out)
		out = append(out, f)
	}
	return finishAll(out), nil
}

// webOrigin parses a start URL that may lack a scheme ("example.co.id",
// "www.example.com:8080") into an asset and its origin
// ("http://example.co.id:80" style is not added: the origin is the URL's
// scheme://host[:port] as written).
func webOrigin(raw string) (Asset, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Asset{}, ""
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return Asset{Host: raw}, strings.ToLower(raw)
	}
	a := Asset{Host: u.Hostname(), Port: atoiPort(u.Port()), Protocol: "tcp"}
	if a.Port == 0 {
		switch strings.ToLower(u.Scheme) {
		case "https":
			a.Port = 443
		case "http":
			a.Port = 80
		}
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	return a, origin
}

func (it *acunetixItem) finding(site string) Finding {
	a, origin := webOrigin(site)
	name := it.Name.Text
	module := it.ModuleName.Text
	path := it.Affects.Text
	f := Finding{
		Scanner:     "acunetix",
		RuleID:      first(module, it.Type.Text),
		Title:       first(name, module, "Acunetix finding"),
		Description: strings.Join(nonBlank(htmlToText(it.Description.Text), htmlToText(it.Impact.Text), htmlToText(it.Detailed.Text)), "\n\n"),
		Remediation: htmlToText(it.Recommendation.Text),
		Severity:    ParseSeverity(it.Severity.Text),
		Asset:       a,
		CVSSVector:  strings.TrimSpace(it.CVSS3),
		Suppressed:  strings.EqualFold(it.IsFalsePos.Text, "true"),
		Layer:       LayerApplication,
	}
	if origin != "" {
		f.Asset.URL = origin + path
	}
	for _, c := range it.CWEs {
		f.CWEs = append(f.CWEs, cweIDs(c.Text)...)
	}
	f.CWEs = cweList(f.CWEs...)
	for _, c := range it.CVEs {
		if v := strings.ToUpper(c.Text); strings.HasPrefix(v, "CVE-") {
			f.CVEs = append(f.CVEs, v)
		}
	}
	for _, ref := range it.Refs {
		if ref = strings.TrimSpace(ref); ref != "" {
			f.References = append(f.References, ref)
		}
	}
	ev := first(path, "/")
	if p := it.Parameter.Text; p != "" && p != "<empty>" {
		ev += " [" + p + "]"
	}
	if d := htmlToText(it.Details.Text); d != "" {
		ev += ": " + clipLine(d, 300)
	}
	f.Evidence = ev
	f.Fingerprint = fingerprint("acunetix", first(origin, site), module, name)
	return f
}

func (v *acunetix360Vuln) finding(target string) Finding {
	_, origin := webOrigin(target)
	raw := strings.TrimSpace(string(v.URL))
	typ := strings.TrimSpace(string(v.Type))
	a, vorigin := webOrigin(raw)
	f := Finding{
		Scanner:     "acunetix",
		RuleID:      typ,
		Title:       first(strings.TrimSpace(string(v.Name)), typ, "Acunetix finding"),
		Description: strings.Join(nonBlank(htmlToText(string(v.Description)), htmlToText(string(v.Impact))), "\n\n"),
		Remediation: strings.Join(nonBlank(htmlToText(string(v.Actions)), htmlToText(string(v.Procedure))), "\n\n"),
		Severity:    ParseSeverity(string(v.Severity)),
		Asset:       a,
		References:  htmlLinks(string(v.ExternalRefs) + string(v.RemedyRefs)),
		Layer:       LayerApplication,
	}
	f.Asset.URL = raw
	if strings.EqualFold(strings.TrimSpace(string(v.Severity)), "bestpractice") {
		f.Severity = SeverityInfo
	}
	state := strings.TrimSpace(string(v.State))
	if strings.Contains(strings.ToLower(state), "falsepositive") {
		f.Suppressed = true
	}
	if c := v.Classification; c != nil {
		f.CWEs = cweList(string(c.CWE))
		switch {
		case c.CVSS1 != nil && strings.TrimSpace(string(c.CVSS1.Vector)) != "":
			f.CVSSVector = strings.TrimSpace(string(c.CVSS1.Vector))
		case c.CVSS != nil:
			f.CVSSVector = strings.TrimSpace(string(c.CVSS.Vector))
		}
	}
	ev := raw
	if id := strings.TrimSpace(string(v.LookupID)); id != "" {
		ev += " (issue " + id + ")"
	}
	if state != "" {
		ev += " (state: " + state
		if c := strings.TrimSpace(string(v.Certainty)); c != "" {
			ev += ", certainty " + c + "%"
		}
		ev += ")"
	}
	if v.Request != nil {
		line, _, _ := strings.Cut(string(v.Request.Content), "\n")
		if line = clipLine(line, 300); line != "" {
			ev += "\n  " + line
		}
	}
	f.Evidence = ev
	pathOnly := raw
	if u, err := url.Parse(raw); err == nil {
		pathOnly = strings.ToLower(u.Scheme+"://"+u.Host) + u.EscapedPath()
	}
	f.Fingerprint = fingerprint("acunetix", first(origin, vorigin), typ, pathOnly)
	return f
}

// clipLine trims s to at most n bytes of valid UTF-8 on one line.
func clipLine(s string, n int) string {
	s = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r", ""), "\n", " "))
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return strings.ToValidUTF8(s, "")
}
