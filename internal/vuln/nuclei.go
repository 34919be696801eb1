package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// nucleiImporter reads nuclei's -json (JSON array, "-je") and -jsonl
// output. Both the current hyphenated keys (template-id, matched-at) and
// the old camel/underscore ones (templateID, matched, matcher_name) are
// accepted.
//
// Fingerprint rule: template-id + host + matched-at + matcher-name. The same
// template matching two URLs of one host gives two findings; the same
// template matching the same place twice in one scan is one finding with
// two occurrences.
type nucleiImporter struct{}

var _ Importer = (*nucleiImporter)(nil)

func (*nucleiImporter) Format() string { return "nuclei" }

func (*nucleiImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "[{") {
		return false
	}
	return bytes.Contains(head, []byte(`"template-id"`)) || bytes.Contains(head, []byte(`"templateID"`))
}

type nucleiRecord struct {
	TemplateID    string `json:"template-id"`
	TemplateIDOld string `json:"templateID"`
	Info          struct {
		Name           string  `json:"name"`
		Severity       string  `json:"severity"`
		Description    string  `json:"description"`
		Remediation    string  `json:"remediation"`
		Reference      strList `json:"reference"`
		Tags           strList `json:"tags"`
		Classification struct {
			CVEID       strList    `json:"cve-id"`
			CWEID       strList    `json:"cwe-id"`
			CVSSMetrics flexString `json:"cvss-metrics"`
			CVSSScore   flexFloat  `json:"cvss-score"`
		} `json:"classification"`
	} `json:"info"`
	Type             string     `json:"type"`
	Host             string     `json:"host"`
	IP               string     `json:"ip"`
	Port             flexString `json:"port"`
	Scheme           string     `json:"scheme"`
	MatchedAt        string     `json:"matched-at"`
	MatchedOld       string     `json:"matched"`
	MatcherName      string     `json:"matcher-name"`
	MatcherNameOld   string     `json:"matcher_name"`
	ExtractedResults strList    `json:"extracted-results"`
	ExtractedOld     strList    `json:"extracted_results"`
}

func (*nucleiImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "nuclei"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var recs []nucleiRecord
	switch {
	case len(trimmed) == 0:
		return []Finding{}, nil
	case trimmed[0] == '[':
		if err := decodeJSON(format, data, &recs); err != nil {
			return nil, err
		}
	default:
		// JSON lines: decode record by record so errors carry a line.
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start := dec.InputOffset()
			var rec nucleiRecord
			err := dec.Decode(&rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				if err == io.ErrUnexpectedEOF {
					// Point at the record's first byte, past the newline.
					rest := data[start:]
					start += int64(len(rest) - len(bytes.TrimLeft(rest, " \t\r\n")))
					return nil, errAt(format, data, start, errTruncatedRecord)
				}
				return nil, jsonError(format, data, 0, err)
			}
			recs = append(recs, rec)
		}
	}
	out := make([]Finding, 0, len(recs))
	for i := range recs {
		if recs[i].TemplateID == "" && recs[i].TemplateIDOld == "" {
			return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("not a nuclei result: record %d has no template-id", i+1)}
		}
		out = append(out, recs[i].finding())
	}
	return finishAll(out), nil
}

func (rec *nucleiRecord) finding() Finding {
	id := first(rec.TemplateID, rec.TemplateIDOld)
	matched := first(rec.MatchedAt, rec.MatchedOld)
	matcher := first(rec.MatcherName, rec.MatcherNameOld)
	f := Finding{
		Scanner:     "nuclei",
		RuleID:      id,
		Title:       first(rec.Info.Name, id),
		Description: strings.TrimSpace(rec.Info.Description),
		Severity:    ParseSeverity(rec.Info.Severity),
		Remediation: strings.TrimSpace(rec.Info.Remediation),
		References:  rec.Info.Reference,
		CVSSVector:  strings.TrimSpace(string(rec.Info.Classification.CVSSMetrics)),
		ToolScore:   rec.Info.Classification.CVSSScore.v,
	}
	if matcher != "" {
		f.Title += " (" + matcher + ")"
	}
	for _, c := range rec.Info.Classification.CVEID {
		f.CVEs = append(f.CVEs, strings.ToUpper(c))
	}
	for _, c := range rec.Info.Classification.CWEID {
		if up := strings.ToUpper(c); strings.HasPrefix(up, "CWE-") {
			f.CWEs = append(f.CWEs, up) // skips "nvd-cve-other" and similar
		}
	}
	f.Asset = nucleiAsset(rec.Host, matched, rec.IP, string(rec.Port), rec.Type)
	var ev []string
	if matched != "" {
		ev = append(ev, "matched at "+matched)
	}
	if matcher != "" {
		ev = append(ev, "matcher "+matcher)
	}
	if ex := append(rec.ExtractedResults, rec.ExtractedOld...); len(ex) > 0 {
		ev = append(ev, "extracted: "+strings.Join(ex, ", "))
	}
	f.Evidence = strings.Join(ev, "; ")
	f.Fingerprint = fingerprint(f.Scanner, id, first(f.Asset.Host, f.Asset.IP), matched, matcher)
	return f
}

// nucleiAsset derives host, port and URL from nuclei's host / matched-at,
// which are URLs for http templates and host:port for network ones.
func nucleiAsset(host, matched, ip, port, typ string) Asset {
	a := Asset{IP: ip, Protocol: typ}
	for _, s := range []string{matched, host} {
		if s == "" {
			continue
		}
		if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
			if a.URL == "" && (u.Scheme == "http" || u.Scheme == "https") && s == matched {
				a.URL = s
			}
			if a.Host == "" {
				a.Host = u.Hostname()
				if p, err := strconv.Atoi(u.Port()); err == nil {
					a.Port = p
				} else if u.Scheme == "https" {
					a.Port = 443
				} else if u.Scheme == "http" {
					a.Port = 80
				}
			}
			continue
		}
		if h, p, err := net.SplitHostPort(s); err == nil {
			if a.Host == "" || s == matched {
				a.Host = h
				if n, err := strconv.Atoi(p); err == nil {
					a.Port = n
				}
			}
			continue
		}
		if a.Host == "" {
			a.Host = s
		}
	}
	if a.Port == 0 {
		if n, err := strconv.Atoi(port); err == nil {
			a.Port = n
		}
	}
	if a.Host == "" {
		a.Host = ip
	}
	return a
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
