package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// trivyImporter reads Trivy's JSON report: the current schema (an object
// with Results), the legacy one (a bare array of results), and the two
// Kubernetes cluster shapes (Resources[], or Vulnerabilities[] and
// Misconfigurations[] lists of resources). Vulnerabilities, failed
// misconfigurations, secrets and licence findings all become findings.
//
// Fingerprint rules (Target is the image/file, prefixed with
// namespace/kind/name for Kubernetes resources):
//   - vulnerability: Target + VulnerabilityID + PkgName + PkgPath + InstalledVersion
//   - misconfiguration: Target + check ID + Message (one per failing container)
//   - secret: Target + RuleID + StartLine
//   - licence: Target + licence Name + PkgName + FilePath
type trivyImporter struct{}

var _ Importer = (*trivyImporter)(nil)

func (*trivyImporter) Format() string { return "trivy" }

func (*trivyImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "[{n") {
		return false
	}
	if bytes.HasPrefix(bytes.TrimSpace(head), []byte("null")) {
		return len(bytes.TrimSpace(head)) == 4
	}
	for _, k := range []string{`"SchemaVersion"`, `"ArtifactName"`, `"ClusterName"`, `"VulnerabilityID"`} {
		if bytes.Contains(head, []byte(k)) {
			return true
		}
	}
	return false
}

type trivyCVSS struct {
	V3Vector  string    `json:"V3Vector"`
	V3Score   flexFloat `json:"V3Score"`
	V40Vector string    `json:"V40Vector"`
	V40Score  flexFloat `json:"V40Score"`
}

type trivyResult struct {
	Target          *string `json:"Target"`
	Class           string  `json:"Class"`
	Type            string  `json:"Type"`
	Vulnerabilities []struct {
		VulnerabilityID  string               `json:"VulnerabilityID"`
		PkgName          string               `json:"PkgName"`
		PkgPath          string               `json:"PkgPath"`
		InstalledVersion string               `json:"InstalledVersion"`
		FixedVersion     string               `json:"FixedVersion"`
		Status           string               `json:"Status"`
		SeveritySource   string               `json:"SeveritySource"`
		PrimaryURL       string               `json:"PrimaryURL"`
		Title            string               `json:"Title"`
		Description      string               `json:"Description"`
		Severity         string               `json:"Severity"`
		CweIDs           strList              `json:"CweIDs"`
		CVSS             map[string]trivyCVSS `json:"CVSS"`
		References       strList              `json:"References"`
	} `json:"Vulnerabilities"`
	Misconfigurations []struct {
		ID          string  `json:"ID"`
		AVDID       string  `json:"AVDID"`
		Type        string  `json:"Type"`
		Title       string  `json:"Title"`
		Description string  `json:"Description"`
		Message     string  `json:"Message"`
		Resolution  string  `json:"Resolution"`
		Severity    string  `json:"Severity"`
		Status      string  `json:"Status"`
		PrimaryURL  string  `json:"PrimaryURL"`
		References  strList `json:"References"`
	} `json:"Misconfigurations"`
	Secrets []struct {
		RuleID    string `json:"RuleID"`
		Category  string `json:"Category"`
		Severity  string `json:"Severity"`
		Title     string `json:"Title"`
		StartLine int    `json:"StartLine"`
		EndLine   int    `json:"EndLine"`
		Match     string `json:"Match"`
	} `json:"Secrets"`
	Licenses []struct {
		Severity string `json:"Severity"`
		Category string `json:"Category"`
		PkgName  string `json:"PkgName"`
		FilePath string `json:"FilePath"`
		Name     string `json:"Name"`
		Link     string `json:"Link"`
	} `json:"Licenses"`
}

type trivyResource struct {
	Namespace string        `json:"Namespace"`
	Kind      string        `json:"Kind"`
	Name      string        `json:"Name"`
	Results   []trivyResult `json:"Results"`
}

type trivyReport struct {
	SchemaVersion     *json.RawMessage `json:"SchemaVersion"`
	ClusterName       *string          `json:"ClusterName"`
	ArtifactName      string           `json:"ArtifactName"`
	Results           []trivyResult    `json:"Results"`
	Resources         []trivyResource  `json:"Resources"`
	Vulnerabilities   []trivyResource  `json:"Vulnerabilities"`
	Misconfigurations []trivyResource  `json:"Misconfigurations"`
}

func (*trivyImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "trivy"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var out []Finding
	switch {
	case len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")):
		return []Finding{}, nil
	case trimmed[0] == '[':
		var results []trivyResult
		if err := decodeJSON(format, data, &results); err != nil {
			return nil, err
		}
		for i := range results {
			if results[i].Target == nil {
				return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("not a Trivy report: array element %d has no Target", i)}
			}
			out = results[i].findings("", out)
		}
	case trimmed[0] == '{':
		var rep trivyReport
		if err := decodeJSON(format, data, &rep); err != nil {
			return nil, err
		}
		if rep.SchemaVersion == nil && rep.ClusterName == nil && rep.ArtifactName == "" && rep.Results == nil {
			return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("not a Trivy report: no SchemaVersion, ArtifactName, Results or ClusterName")}
		}
		for i := range rep.Results {
			out = rep.Results[i].findings("", out)
		}
		for _, list := range [][]trivyResource{rep.Resources, rep.Vulnerabilities, rep.Misconfigurations} {
			for _, res := range list {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				prefix := strings.Trim(strings.Join([]string{res.Namespace, res.Kind, res.Name}, "/"), "/")
				for i := range res.Results {
					out = res.Results[i].findings(prefix, out)
				}
			}
		}
	default:
		return nil, errAt(format, data, int64(len(data)-len(bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf"))), fmt.Errorf("not a Trivy JSON report: expected an object or array"))
	}
	if out == nil {
		out = []Finding{}
	}
	return finishAll(out), nil
}

func (res *trivyResult) findings(resource string, out []Finding) []Finding {
	var target string
	if res.Target != nil {
		target = *res.Target
	}
	if resource != "" && !strings.HasSuffix(resource, "/"+target) && resource != target {
		target = resource + " " + target
	} else if resource != "" {
		target = resource
	}
	for _, v := range res.Vulnerabilities {
		f := Finding{
			Scanner:     "trivy",
			RuleID:      v.VulnerabilityID,
			Title:       strings.TrimSpace(strings.Join([]string{v.VulnerabilityID, v.PkgName, v.InstalledVersion}, " ")),
			Description: strings.TrimSpace(first(v.Title+"\n\n"+v.Description, v.Description)),
			Severity:    ParseSeverity(v.Severity),
			Asset:       Asset{Target: target, Package: v.PkgName, Version: v.InstalledVersion, Component: first(v.PkgPath, res.Type)},
			FixedIn:     v.FixedVersion,
			References:  v.References,
		}
		if f.References == nil && v.PrimaryURL != "" {
			f.References = []string{v.PrimaryURL}
		}
		if f.FixedIn != "" {
			f.Remediation = "Upgrade " + v.PkgName + " to " + v.FixedVersion
		}
		if strings.HasPrefix(strings.ToUpper(v.VulnerabilityID), "CVE-") {
			f.CVEs = []string{strings.ToUpper(v.VulnerabilityID)}
		}
		f.CWEs = v.CweIDs
		if v.Status != "" {
			f.Evidence = "status " + v.Status
		}
		f.CVSSVector, f.ToolScore, f.CVSS4Vector = trivyPickCVSS(v.CVSS, v.SeveritySource)
		f.Fingerprint = fingerprint("trivy", "vuln", target, v.VulnerabilityID, v.PkgName, v.PkgPath, v.InstalledVersion)
		out = append(out, f)
	}
	for _, m := range res.Misconfigurations {
		if s := strings.ToUpper(m.Status); s == "PASS" || s == "EXCEPTION" {
			continue
		}
		refs := m.References
		if refs == nil && m.PrimaryURL != "" {
			refs = []string{m.PrimaryURL}
		}
		out = append(out, Finding{
			Scanner:     "trivy",
			RuleID:      m.ID,
			Title:       strings.TrimSpace(m.ID + " " + m.Title),
			Description: strings.TrimSpace(m.Description),
			Severity:    ParseSeverity(m.Severity),
			Asset:       Asset{Target: target, Component: m.Type},
			Remediation: m.Resolution,
			Evidence:    m.Message,
			References:  refs,
			Fingerprint: fingerprint("trivy", "misconfig", target, m.ID, m.Message),
		})
	}
	for _, s := range res.Secrets {
		out = append(out, Finding{
			Scanner:     "trivy",
			RuleID:      s.RuleID,
			Title:       "Secret: " + first(s.Title, s.RuleID),
			Description: "Category " + s.Category,
			Severity:    ParseSeverity(s.Severity),
			Asset:       Asset{Target: target, Component: "secret"},
			Evidence:    fmt.Sprintf("lines %d-%d: %s", s.StartLine, s.EndLine, s.Match),
			Remediation: "Remove the secret from the artefact and rotate it.",
			Fingerprint: fingerprint("trivy", "secret", target, s.RuleID, fmt.Sprint(s.StartLine)),
		})
	}
	for _, l := range res.Licenses {
		f := Finding{
			Scanner:     "trivy",
			RuleID:      l.Name,
			Title:       "Licence " + l.Name,
			Description: strings.TrimSpace("Category " + l.Category),
			Severity:    ParseSeverity(l.Severity),
			Asset:       Asset{Target: first(l.FilePath, target), Package: l.PkgName, Component: "license"},
			Fingerprint: fingerprint("trivy", "license", target, l.Name, l.PkgName, l.FilePath),
		}
		if l.Link != "" {
			f.References = []string{l.Link}
		}
		out = append(out, f)
	}
	return out
}

// trivyPickCVSS chooses the v3 vector from the severity source, then NVD,
// then any source (sorted by name for stability), and likewise for v4.0.
func trivyPickCVSS(m map[string]trivyCVSS, source string) (v3 string, score *float64, v4 string) {
	order := []string{source, "nvd"}
	rest := make([]string, 0, len(m))
	for k := range m {
		rest = append(rest, k)
	}
	sortStrings(rest)
	order = append(order, rest...)
	for _, k := range order {
		c, ok := m[k]
		if !ok {
			continue
		}
		if v3 == "" && c.V3Vector != "" {
			v3, score = c.V3Vector, c.V3Score.v
		}
		if v4 == "" && c.V40Vector != "" {
			v4 = c.V40Vector
			if score == nil && v3 == "" {
				score = c.V40Score.v
			}
		}
	}
	return v3, score, v4
}
