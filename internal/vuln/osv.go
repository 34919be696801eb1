package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// osvImporter reads OSV-Scanner's JSON report: results[] (one per scanned
// source: a lockfile, SBOM or git checkout), each with packages[] holding
// the package and the OSV records affecting it. Every (source, package,
// vulnerability) is one finding; the "groups" that OSV-Scanner uses to fold
// aliases together are not used, matching DefectDojo's count.
//
// Severity is the advisory database's word (database_specific.severity,
// GitHub's LOW/MODERATE/HIGH/CRITICAL) when present, else Vigil's rating of
// the CVSS v3 vector in severity[], else info. Aliases that are CVE ids
// become CVEs; CWE ids come from database_specific.cwe_ids or the per-
// affected database_specific.cwes. FixedIn lists the "fixed" events of the
// ranges of the affected entries for this package.
//
// An empty file (OSV-Scanner writes nothing when it finds no lockfile) is
// no findings, as DefectDojo's no_findings.json test expects.
//
// Fingerprint rule: source path + vulnerability id + ecosystem + package
// name + package version (or git commit for git sources).
//
// Corpus (scans/osv_scanner): many_findings.json 66, multi_cwe_fabricated.json
// 1, no_findings.json 0 — all equal to DefectDojo's counts.
type osvImporter struct{}

var _ Importer = (*osvImporter)(nil)

func (*osvImporter) Format() string { return "osv-scanner" }

func (*osvImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "{") {
		return false
	}
	return bytes.Contains(head, []byte(`"results"`)) && bytes.Contains(head, []byte(`"packages"`)) &&
		bytes.Contains(head, []byte(`"source"`)) && !bytes.Contains(head, []byte(`"runs"`))
}

type osvPackage struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"`
	Commit    string `json:"commit"`
}

type osvRecord struct {
	ID       string        `json:"id"`
	Aliases  strList       `json:"aliases"`
	Summary  string        `json:"summary"`
	Details  string        `json:"details"`
	Severity osvSeverities `json:"severity"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []struct {
			Type   string              `json:"type"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
		DatabaseSpecific struct {
			CWEs []struct {
				CWEID string `json:"cweId"`
			} `json:"cwes"`
		} `json:"database_specific"`
	} `json:"affected"`
	DatabaseSpecific struct {
		Severity flexString `json:"severity"`
		CWEIDs   strList    `json:"cwe_ids"`
		URL      string     `json:"url"`
	} `json:"database_specific"`
	References []struct {
		URL string `json:"url"`
	} `json:"references"`
}

type osvReport struct {
	Results *[]struct {
		Source struct {
			Path string `json:"path"`
			Type string `json:"type"`
		} `json:"source"`
		Packages []struct {
			Package         osvPackage  `json:"package"`
			Vulnerabilities []osvRecord `json:"vulnerabilities"`
		} `json:"packages"`
	} `json:"results"`
}

func (*osvImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "osv-scanner"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return []Finding{}, nil
	}
	if trimmed[0] != '{' {
		return nil, errAt(format, data, int64(len(data)-len(bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf"))), fmt.Errorf("not an OSV-Scanner JSON report: expected an object"))
	}
	var rep osvReport
	if err := decodeJSON(format, data, &rep); err != nil {
		return nil, err
	}
	if rep.Results == nil {
		return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("not an OSV-Scanner report: no results")}
	}
	out := []Finding{}
	for _, res := range *rep.Results {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, p := range res.Packages {
			for i := range p.Vulnerabilities {
				out = append(out, p.Vulnerabilities[i].finding(res.Source.Path, res.Source.Type, p.Package))
			}
		}
	}
	return finishAll(out), nil
}

func (v *osvRecord) finding(source, sourceType string, p osvPackage) Finding {
	name, version := p.Name, p.Version
	if name == "" && p.Commit != "" {
		name, version = source, p.Commit
	}
	f := Finding{
		Scanner:     "osv-scanner",
		RuleID:      v.ID,
		Title:       strings.TrimSpace(v.ID + " " + name + " " + version),
		Description: strings.TrimSpace(first(strings.TrimSpace(v.Summary+"\n\n"+v.Details), v.Details)),
		Severity:    ParseSeverity(string(v.DatabaseSpecific.Severity)),
		Asset:       Asset{Target: source, Package: name, Version: version, Component: first(p.Ecosystem, sourceType)},
		CVEs:        osvCVEs(v.ID, v.Aliases),
	}
	if f.Severity == "" {
		f.Severity = ParseSeverity(v.Severity.word)
	}
	for _, s := range v.Severity.scores {
		switch strings.ToUpper(s.Type) {
		case "CVSS_V3":
			if f.CVSSVector == "" {
				f.CVSSVector = s.Score
			}
		case "CVSS_V4":
			if f.CVSS4Vector == "" {
				f.CVSS4Vector = s.Score
			}
		}
	}
	cwes := append([]string(nil), v.DatabaseSpecific.CWEIDs...)
	for _, a := range v.Affected {
		for _, c := range a.DatabaseSpecific.CWEs {
			cwes = append(cwes, c.CWEID)
		}
	}
	f.CWEs = uniqueUpper(cwes)
	if len(f.CWEs) == 0 {
		f.CWEs = nil
	}
	if f.FixedIn = osvFixed(v, p.Name); f.FixedIn != "" {
		f.Remediation = "Upgrade " + name + " to a fixed version: " + f.FixedIn
	}
	for _, ref := range v.References {
		if ref.URL != "" {
			f.References = append(f.References, ref.URL)
		}
	}
	f.Fingerprint = fingerprint("osv-scanner", source, v.ID, p.Ecosystem, name, version)
	return f
}

// osvCVEs collects the CVE ids among an advisory's id and aliases.
func osvCVEs(id string, aliases []string) []string {
	var out []string
	for _, a := range append([]string{id}, aliases...) {
		a = strings.ToUpper(strings.TrimSpace(a))
		if strings.HasPrefix(a, "CVE-") && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// osvSeverities is an OSV record's severity: the schema's array of
// {type, score} vectors, or a bare severity word that some tools (for
// example a govulncheck database with custom severities) write instead.
type osvSeverities struct {
	word   string
	scores []osvScore
}

type osvScore struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

func (s *osvSeverities) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.word)
	}
	return json.Unmarshal(b, &s.scores)
}
