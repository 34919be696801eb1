package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// grypeImporter reads Anchore Grype's JSON report (grype -o json): an
// object whose matches[] each pair a vulnerability with the artifact
// (package) it was found in, plus the related vulnerabilities (usually the
// NVD record of a distribution advisory) and how it was matched.
//
// Severity is Grype's word; "Negligible" is info, and "Unknown" (or a
// missing word) falls back to Vigil's rating of the CVSS v3 vector, then
// info. The vector is the vulnerability's own v3.x vector, else the first
// related vulnerability's. CVEs are the vulnerability id and related ids
// that are CVE ids. FixedIn is fix.versions (fix.state goes to Evidence
// with the artifact's locations and matchers).
//
// Fingerprint rule: scanned target (source.target.userInput, or the
// directory/file path) + vulnerability id + artifact name + version +
// artifact type. Locations are left out: the same package found at two
// paths of an image is one finding with two occurrences (as DefectDojo's
// default mode merges them), and image layer ids change between builds.
//
// Corpus (scans/anchore_grype): every file equals DefectDojo's count:
// check_all_fields.json 5 (6 matches, two share vulnerability and
// package), many_vulns.json 1509, many_vulns2.json 1567, many_vulns4.json
// 9, many_vulns_with_epss_values.json 15, anchore_grype_epss_problem.json
// 1, fix_available.json,
// fix_not_available.json and issue_9942.json 1 each, no_vuln.json 0.
// DefectDojo's tests do not count check_all_fields_different_ids_fabricated.json
// and check_all_fields_with_ids_fabricated.json; each holds one match and
// Vigil imports one finding.
type grypeImporter struct{}

var _ Importer = (*grypeImporter)(nil)

func (*grypeImporter) Format() string { return "grype" }

func (*grypeImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "{") || !bytes.Contains(head, []byte(`"matches"`)) {
		return false
	}
	return bytes.Contains(head, []byte(`"matchDetails"`)) || bytes.Contains(head, []byte(`"relatedVulnerabilities"`)) ||
		bytes.Contains(head, []byte(`"descriptor"`)) && bytes.Contains(head, []byte(`"grype"`))
}

type grypeCVSS struct {
	Version string `json:"version"`
	Vector  string `json:"vector"`
	Metrics struct {
		BaseScore flexFloat `json:"baseScore"`
	} `json:"metrics"`
}

type grypeVuln struct {
	ID          string      `json:"id"`
	DataSource  string      `json:"dataSource"`
	Namespace   string      `json:"namespace"`
	Severity    string      `json:"severity"`
	URLs        strList     `json:"urls"`
	Description string      `json:"description"`
	CVSS        []grypeCVSS `json:"cvss"`
	Fix         struct {
		Versions strList `json:"versions"`
		State    string  `json:"state"`
	} `json:"fix"`
}

type grypeMatch struct {
	Vulnerability          *grypeVuln  `json:"vulnerability"`
	RelatedVulnerabilities []grypeVuln `json:"relatedVulnerabilities"`
	// MatchDetails is a list (Grype 0.3x and later) or one object (older).
	MatchDetails json.RawMessage `json:"matchDetails"`
	Artifact     *struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Type      string `json:"type"`
		PURL      string `json:"purl"`
		Locations []struct {
			Path string `json:"path"`
		} `json:"locations"`
	} `json:"artifact"`
}

type grypeReport struct {
	Matches *[]grypeMatch `json:"matches"`
	Source  struct {
		Type   string          `json:"type"`
		Target json.RawMessage `json:"target"`
	} `json:"source"`
}

func (*grypeImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "grype"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	lead := len(data) - len(bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf"))
	if lead == len(data) || data[lead] != '{' {
		return nil, errAt(format, data, int64(lead), errors.New("not a Grype JSON report: expected an object"))
	}
	var rep grypeReport
	if err := decodeJSON(format, data, &rep); err != nil {
		return nil, err
	}
	if rep.Matches == nil {
		return nil, &ParseError{Format: format, Offset: -1, Err: errors.New("not a Grype report: no matches")}
	}
	target := grypeTarget(rep.Source.Target)
	out := make([]Finding, 0, len(*rep.Matches))
	for i := range *rep.Matches {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := &(*rep.Matches)[i]
		if m.Vulnerability == nil || m.Vulnerability.ID == "" || m.Artifact == nil {
			return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("match %d has no vulnerability id or artifact", i)}
		}
		out = append(out, m.finding(target))
	}
	return finishAll(out), nil
}

// grypeTarget names the scanned thing: the user's input for images, the
// path for directory and file sources.
func grypeTarget(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		UserInput string `json:"userInput"`
		Path      string `json:"path"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return first(obj.UserInput, obj.Path)
	}
	return ""
}

func (m *grypeMatch) finding(target string) Finding {
	v, a := m.Vulnerability, m.Artifact
	f := Finding{
		Scanner: "grype",
		RuleID:  v.ID,
		Title:   strings.TrimSpace(v.ID + " " + a.Name + " " + a.Version),
		Asset:   Asset{Target: target, Package: a.Name, Version: a.Version, Component: a.Type},
		FixedIn: strings.Join(v.Fix.Versions, ", "),
	}
	switch w := strings.ToLower(v.Severity); w {
	case "negligible":
		f.Severity = SeverityInfo
	case "unknown", "":
	default:
		f.Severity = ParseSeverity(w)
	}
	desc := v.Description
	for _, rv := range m.RelatedVulnerabilities {
		desc = first(desc, rv.Description)
	}
	f.Description = strings.TrimSpace(desc)
	f.CVSSVector, f.ToolScore = grypeVector(v.CVSS)
	for _, rv := range m.RelatedVulnerabilities {
		if f.CVSSVector == "" {
			f.CVSSVector, f.ToolScore = grypeVector(rv.CVSS)
		}
	}
	cves := osvCVEs(v.ID, nil)
	refs := []string{}
	for _, u := range append([]string{v.DataSource}, v.URLs...) {
		if u != "" && !slices.Contains(refs, u) {
			refs = append(refs, u)
		}
	}
	for _, rv := range m.RelatedVulnerabilities {
		for _, c := range osvCVEs(rv.ID, nil) {
			if !slices.Contains(cves, c) {
				cves = append(cves, c)
			}
		}
		if rv.DataSource != "" && !slices.Contains(refs, rv.DataSource) {
			refs = append(refs, rv.DataSource)
		}
	}
	f.CVEs = cves
	if len(refs) > 0 {
		f.References = refs
	}
	var ev []string
	if v.Fix.State != "" {
		ev = append(ev, "fix state "+v.Fix.State)
	}
	if a.PURL != "" {
		ev = append(ev, "purl "+a.PURL)
	}
	var matchers []string
	for _, md := range grypeMatchers(m.MatchDetails) {
		if md != "" && !slices.Contains(matchers, md) {
			matchers = append(matchers, md)
		}
	}
	if len(matchers) > 0 {
		ev = append(ev, "matched by "+strings.Join(matchers, ", "))
	}
	var paths []string
	for _, l := range a.Locations {
		if l.Path != "" && !slices.Contains(paths, l.Path) {
			paths = append(paths, l.Path)
		}
	}
	if len(paths) > 0 {
		ev = append(ev, "at "+strings.Join(paths, ", "))
	}
	f.Evidence = strings.Join(ev, "; ")
	if f.FixedIn != "" {
		f.Remediation = "Upgrade " + a.Name + " to " + f.FixedIn
	}
	f.Fingerprint = fingerprint("grype", target, v.ID, a.Name, a.Version, a.Type)
	return f
}

// grypeVector returns the first CVSS v3.x vector of a list and the
// tool's base score for it.
func grypeVector(list []grypeCVSS) (string, *float64) {
	for _, c := range list {
		if strings.HasPrefix(c.Version, "3") && c.Vector != "" {
			vec := c.Vector
			if !strings.HasPrefix(vec, "CVSS:") {
				vec = "CVSS:" + c.Version + "/" + vec
			}
			return vec, c.Metrics.BaseScore.v
		}
	}
	return "", nil
}

// grypeMatchers returns the matcher names of matchDetails, a list or a
// single object depending on the Grype version.
func grypeMatchers(raw json.RawMessage) []string {
	type detail struct {
		Matcher string `json:"matcher"`
	}
	var list []detail
	if json.Unmarshal(raw, &list) != nil {
		var one detail
		if json.Unmarshal(raw, &one) != nil {
			return nil
		}
		list = []detail{one}
	}
	out := make([]string, 0, len(list))
	for _, d := range list {
		out = append(out, d.Matcher)
	}
	return out
}
