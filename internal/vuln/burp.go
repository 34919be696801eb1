package vuln

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// burpImporter reads Burp Suite's XML issue export ("Report selected
// issues" → XML, root <issues>), with or without base64 request/response
// bodies.
//
// Burp writes an internal DTD subset (<!DOCTYPE issues [ <!ELEMENT …>
// <!ATTLIST …> ]>). A subset made only of ELEMENT and ATTLIST declarations
// (no ENTITY, no parameter-entity reference, no SYSTEM/PUBLIC identifier)
// is blanked before parsing; anything else is left for the strict prolog
// check of the other XML importers, which refuses it.
//
// Severity: High, Medium, Low, Information (info); "False positive" is
// imported as info and marked Suppressed. Burp's confidence (Certain, Firm,
// Tentative) goes into Evidence. Remediation is Burp's remediation detail
// followed by its remediation background; CWEs and links come from the
// vulnerability classifications and references.
// Layer: application.
//
// Fingerprint rule: host origin (scheme://host:port as Burp gives it; the
// IP when it gives none) + Burp issue type + issue name. The paths and
// locations Burp reported for one issue are listed in Evidence and counted
// in Occurrences; a merged finding keeps the highest severity of its
// records.
//
// Counts against DefectDojo: one_finding.xml 1 (3 records), seven_findings
// 7, one_finding_with_blank_response 1 — the same. issue4399.xml gives 27
// where DefectDojo gives 20: DefectDojo keys on the issue type alone, and
// Burp reports every issue raised by a BApp extension with one shared type
// (134217728, "extension generated issue"); its 344 records there are eight
// different issues (security headers, error messages, Vulners software,
// web cache misconfiguration, ...) that Vigil keeps apart by name.
type burpImporter struct{}

var _ Importer = (*burpImporter)(nil)

func (*burpImporter) Format() string { return "burp" }

func (*burpImporter) Detect(_ string, head []byte) bool {
	return bytes.Contains(head, []byte("<issues")) &&
		(bytes.Contains(head, []byte("burpVersion")) || bytes.Contains(head, []byte("<!ELEMENT issue ")))
}

type burpHost struct {
	IP  string `xml:"ip,attr"`
	URL string `xml:",chardata"`
}

type burpMessage struct {
	Method string `xml:"method,attr"`
	Base64 string `xml:"base64,attr"`
	Body   string `xml:",chardata"`
}

type burpIssue struct {
	Serial          string   `xml:"serialNumber"`
	Type            string   `xml:"type"`
	Name            string   `xml:"name"`
	Host            burpHost `xml:"host"`
	Path            string   `xml:"path"`
	Location        string   `xml:"location"`
	Severity        string   `xml:"severity"`
	Confidence      string   `xml:"confidence"`
	Background      string   `xml:"issueBackground"`
	RemBackground   string   `xml:"remediationBackground"`
	Detail          string   `xml:"issueDetail"`
	DetailItems     []string `xml:"issueDetailItems>issueDetailItem"`
	RemDetail       string   `xml:"remediationDetail"`
	Classifications string   `xml:"vulnerabilityClassifications"`
	References      string   `xml:"references"`
	RR              []struct {
		Request burpMessage `xml:"request"`
	} `xml:"requestresponse"`
}

type burpXML struct {
	Issues []burpIssue `xml:"issue"`
}

// burpDecl matches one declaration Burp's internal subset may hold.
var burpDecl = regexp.MustCompile(`^\s*<!(?:ELEMENT|ATTLIST)\s[^<>%&"]*(?:"[^"<>%&]*"[^<>%&"]*)*>`)

// blankBurpDoctype replaces Burp's DTD internal subset with spaces (keeping
// offsets) when it holds only ELEMENT and ATTLIST declarations, and
// otherwise returns data unchanged for the strict prolog check.
func blankBurpDoctype(data []byte) []byte {
	i := bytes.Index(data, []byte("<!DOCTYPE issues ["))
	if i < 0 || i > 256 {
		return data
	}
	rest := data[i+len("<!DOCTYPE issues ["):]
	n := 0
	for {
		m := burpDecl.Find(rest[n:])
		if m == nil {
			break
		}
		n += len(m)
	}
	tail := bytes.TrimLeft(rest[n:], " \t\r\n")
	if !bytes.HasPrefix(tail, []byte("]")) {
		return data
	}
	tail = bytes.TrimLeft(tail[1:], " \t\r\n")
	if !bytes.HasPrefix(tail, []byte(">")) {
		return data
	}
	end := len(data) - len(tail) + 1
	out := bytes.Clone(data)
	for k := i; k < end; k++ {
		if out[k] != '\n' {
			out[k] = ' '
		}
	}
	return out
}

func (*burpImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "burp"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var rep burpXML
	if err := decodeXML(format, blankBurpDoctype(data), "issues", &rep); err != nil {
		return nil, err
	}
	out := []Finding{}
	byFP := map[string]int{}
	for i := range rep.Issues {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := rep.Issues[i].finding()
		if j, ok := byFP[f.Fingerprint]; ok {
			g := &out[j]
			g.Occurrences++
			g.Evidence = appendEvidence(g.Evidence, f.Evidence)
			if severityRank(f.Severity) > severityRank(g.Severity) {
				g.Severity = f.Severity
			}
			continue
		}
		f.Occurrences = 1
		byFP[f.Fingerprint] = len(out)
		out = append(out, f)
	}
	return finishAll(out), nil
}

func (is *burpIssue) finding() Finding {
	host := strings.TrimSpace(is.Host.URL)
	ip := strings.TrimSpace(is.Host.IP)
	typ := strings.TrimSpace(is.Type)
	name := strings.TrimSpace(is.Name)
	path := strings.TrimSpace(is.Path)
	f := Finding{
		Scanner:     "burp",
		RuleID:      typ,
		Title:       first(name, "Burp issue "+typ),
		Description: strings.Join(nonBlank(htmlToText(is.Background), htmlToText(is.Detail)), "\n\n"),
		Remediation: strings.Join(nonBlank(htmlToText(is.RemDetail), htmlToText(is.RemBackground)), "\n\n"),
		Asset:       Asset{IP: ip, URL: host + path},
		CWEs:        cweIDs(is.Classifications),
		References:  htmlLinks(is.References + is.Classifications),
		Layer:       LayerApplication,
	}
	sev := strings.TrimSpace(is.Severity)
	switch {
	case strings.EqualFold(sev, "false positive"):
		f.Severity, f.Suppressed = SeverityInfo, true
	default:
		f.Severity = ParseSeverity(sev)
	}
	if u, err := url.Parse(host); err == nil && u.Hostname() != "" {
		f.Asset.Host = u.Hostname()
		if p := u.Port(); p != "" {
			f.Asset.Port = atoiPort(p)
		} else if u.Scheme == "https" {
			f.Asset.Port = 443
		} else if u.Scheme == "http" {
			f.Asset.Port = 80
		}
		f.Asset.Protocol = "tcp"
	} else {
		f.Asset.Host = ip
	}
	ev := strings.TrimSpace(first(strings.TrimSpace(is.Location), path))
	if c := strings.TrimSpace(is.Confidence); c != "" {
		ev += " (confidence: " + c + ")"
	}
	for _, rr := range is.RR {
		if line := burpRequestLine(rr.Request); line != "" {
			ev += "\n  " + line
			break
		}
	}
	for _, item := range is.DetailItems {
		if item = htmlToText(item); item != "" {
			ev += "\n  " + item
		}
	}
	f.Evidence = ev
	f.Fingerprint = fingerprint("burp", first(strings.TrimRight(host, "/"), ip), typ, name)
	return f
}

// burpRequestLine returns the first line of a request ("GET /x HTTP/1.1"),
// decoding at most the first 3 KiB of a base64 body.
func burpRequestLine(m burpMessage) string {
	body := strings.TrimSpace(m.Body)
	if strings.EqualFold(m.Base64, "true") {
		if len(body) > 4096 {
			body = body[:4096]
		}
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return ""
		}
		body = string(raw)
	}
	line, _, _ := strings.Cut(body, "\n")
	line = strings.TrimSpace(line)
	if len(line) > 300 {
		line = strings.ToValidUTF8(line[:300], "") + "…"
	}
	return strings.ToValidUTF8(line, "")
}

// atoiPort parses a TCP/UDP port number, 0 when invalid.
func atoiPort(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 || n > 65535 {
		return 0
	}
	return n
}
