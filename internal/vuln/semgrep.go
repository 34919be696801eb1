package vuln

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// semgrepImporter reads Semgrep's own JSON: the CLI report (`semgrep
// --json`: {"results":[{check_id, path, start, end, extra:{message,
// severity, metadata, fix, lines, fingerprint}}], "errors":[…]}) and the
// Semgrep AppSec Platform supply-chain export ({"vulns":[…]} from the
// deployments API). Semgrep's SARIF output goes through the sarif importer.
//
// CLI results: severity ERROR → high, WARNING → medium, INFO → low (as
// DefectDojo maps them), the newer CRITICAL/HIGH/MEDIUM/LOW words as
// they are. CWEs and references come from the rule metadata, the
// suggested fix (extra.fix) is the remediation, the matched lines the
// evidence. Layer: application.
// Fingerprint rule (CLI): rule id + file path + Semgrep's own match
// fingerprint when the report carries one (it survives the code moving to
// another line), else the start line ("requires login" placeholders count
// as none). Identical results are one finding with several occurrences
// (repeated_findings.json: 2 results, 1 finding).
//
// Supply-chain vulns: one finding per vulnerable dependency of a
// repository: advisory title, severity, CVE and CWE ids, the dependency as
// package and version, the closest safe version as FixedIn, the manifest
// file and line in evidence. Layer: application.
// Fingerprint rule (supply chain): repository (name, else id) + advisory
// rule id + package + version + manifest path.
//
// Counts match DefectDojo's except sca-deployments-vulns.json: 22 findings
// where DefectDojo gives 18, because DefectDojo keys on manifest path and
// line only and so merges the same advisory in different repositories
// (requirements3.txt line 130 of repositories 136866, 136867 and 136869,
// for example); Vigil never merges findings of different repositories.
type semgrepImporter struct{}

var _ Importer = (*semgrepImporter)(nil)

func (*semgrepImporter) Format() string { return "semgrep" }

func (*semgrepImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "{") {
		return false
	}
	cli := bytes.Contains(head, []byte(`"results"`)) &&
		(bytes.Contains(head, []byte(`"check_id"`)) ||
			(bytes.Contains(head, []byte(`"errors"`)) && emptyResults.Match(head)))
	sca := bytes.Contains(head, []byte(`"vulns"`)) && bytes.Contains(head, []byte(`"advisory"`)) && bytes.Contains(head, []byte(`"ruleId"`))
	return cli || sca
}

// emptyResults matches a report whose results array is empty.
var emptyResults = regexp.MustCompile(`"results"\s*:\s*\[\s*\]`)

type semgrepPos struct {
	Line flexString `json:"line"`
	Col  flexString `json:"col"`
}

type semgrepResult struct {
	CheckID flexString `json:"check_id"`
	Path    flexString `json:"path"`
	Start   semgrepPos `json:"start"`
	Extra   struct {
		Message     flexString `json:"message"`
		Severity    flexString `json:"severity"`
		Fix         flexString `json:"fix"`
		Lines       flexString `json:"lines"`
		Fingerprint flexString `json:"fingerprint"`
		Metadata    struct {
			CWE        strList    `json:"cwe"`
			References strList    `json:"references"`
			Source     flexString `json:"source"`
			Confidence flexString `json:"confidence"`
		} `json:"metadata"`
	} `json:"extra"`
}

type semgrepVuln struct {
	Title    flexString `json:"title"`
	Advisory *struct {
		RuleID      flexString `json:"ruleId"`
		Title       flexString `json:"title"`
		Description flexString `json:"description"`
		Ecosystem   flexString `json:"ecosystem"`
		Severity    flexString `json:"severity"`
		References  struct {
			CVEs strList `json:"cveIds"`
			CWEs strList `json:"cweIds"`
			URLs strList `json:"urls"`
		} `json:"references"`
	} `json:"advisory"`
	Exposure       flexString `json:"exposureType"`
	RepositoryID   flexString `json:"repositoryId"`
	RepositoryName flexString `json:"repositoryName"`
	Dependency     struct {
		Name    flexString `json:"name"`
		Version flexString `json:"versionSpecifier"`
	} `json:"matchedDependency"`
	Safe struct {
		Version flexString `json:"versionSpecifier"`
	} `json:"closestSafeDependency"`
	Location struct {
		Path      flexString `json:"path"`
		StartLine flexString `json:"startLine"`
	} `json:"dependencyFileLocation"`
	Transitivity flexString `json:"transitivity"`
}

type semgrepReport struct {
	Results *[]semgrepResult `json:"results"`
	Vulns   *[]semgrepVuln   `json:"vulns"`
}

func (*semgrepImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "semgrep"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	if !headLooksJSON(data, "{") {
		return nil, errAt(format, data, 0, errors.New("not a Semgrep JSON report: want an object"))
	}
	var rep semgrepReport
	if err := decodeJSON(format, data, &rep); err != nil {
		return nil, err
	}
	if rep.Results == nil && rep.Vulns == nil {
		return nil, errAt(format, data, 0, errors.New(`not a Semgrep JSON report: no "results" or "vulns"`))
	}
	var fs []Finding
	if rep.Results != nil {
		for i := range *rep.Results {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			f, err := (*rep.Results)[i].finding()
			if err != nil {
				return nil, errAt(format, data, 0, fmt.Errorf("result %d: %w", i, err))
			}
			fs = append(fs, f)
		}
	}
	if rep.Vulns != nil {
		for i := range *rep.Vulns {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			f, err := (*rep.Vulns)[i].finding()
			if err != nil {
				return nil, errAt(format, data, 0, fmt.Errorf("vuln %d: %w", i, err))
			}
			fs = append(fs, f)
		}
	}
	if fs == nil {
		fs = []Finding{}
	}
	return finishAll(fs), nil
}

// semgrepSeverity maps Semgrep's rule severities.
func semgrepSeverity(s string) Severity {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ERROR":
		return SeverityHigh
	case "WARNING":
		return SeverityMedium
	case "INFO", "INVENTORY", "EXPERIMENT":
		return SeverityLow
	}
	return ParseSeverity(s)
}

func (res *semgrepResult) finding() (Finding, error) {
	rule := strings.TrimSpace(string(res.CheckID))
	path := strings.TrimSpace(string(res.Path))
	if rule == "" || path == "" {
		return Finding{}, errors.New("no check_id or path")
	}
	line := strings.TrimSpace(string(res.Start.Line))
	if n, err := strconv.Atoi(line); err != nil || n < 0 {
		line = ""
	}
	e := &res.Extra
	msg := strings.TrimSpace(string(e.Message))
	short := rule
	if i := strings.LastIndexByte(rule, '.'); i >= 0 && i < len(rule)-1 {
		short = rule[i+1:]
	}
	f := Finding{
		Scanner:     "semgrep",
		RuleID:      rule,
		Title:       first(niktoTitle(msg), short),
		Description: msg,
		Severity:    semgrepSeverity(string(e.Severity)),
		Asset:       Asset{Target: path, Component: "semgrep"},
		CWEs:        cweIDs(strings.Join(e.Metadata.CWE, " ")),
		Layer:       LayerApplication,
	}
	for _, ref := range append([]string(e.Metadata.References), string(e.Metadata.Source)) {
		if ref = strings.TrimSpace(ref); strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
			f.References = append(f.References, ref)
		}
	}
	if fix := strings.TrimSpace(string(e.Fix)); fix != "" {
		f.Remediation = "Suggested fix:\n" + fix
	}
	loc := path
	if line != "" {
		loc += ":" + line
	}
	lines := strings.TrimSpace(string(e.Lines))
	if lines == "requires login" {
		lines = ""
	}
	f.Evidence = strings.TrimSpace(loc + "\n" + clipLine(lines, 500))
	if c := strings.TrimSpace(string(e.Metadata.Confidence)); c != "" {
		f.Evidence += "\nconfidence: " + strings.ToLower(c)
	}
	key := strings.TrimSpace(string(e.Fingerprint))
	if key == "" || key == "requires login" {
		key = "line:" + line
	}
	f.Fingerprint = fingerprint("semgrep", rule, path, key)
	return f, nil
}

func (v *semgrepVuln) finding() (Finding, error) {
	if v.Advisory == nil {
		return Finding{}, errors.New("no advisory")
	}
	a := v.Advisory
	rule := strings.TrimSpace(string(a.RuleID))
	pkg := strings.TrimSpace(string(v.Dependency.Name))
	if rule == "" || pkg == "" {
		return Finding{}, errors.New("no advisory rule id or dependency")
	}
	repo := strings.TrimSpace(first(string(v.RepositoryName), string(v.RepositoryID)))
	path := strings.TrimSpace(string(v.Location.Path))
	version := strings.TrimSpace(string(v.Dependency.Version))
	f := Finding{
		Scanner:     "semgrep",
		RuleID:      rule,
		Title:       first(strings.TrimSpace(string(a.Title)), strings.TrimSpace(string(v.Title)), rule),
		Description: strings.TrimSpace(string(a.Description)),
		Severity:    ParseSeverity(string(a.Severity)),
		Asset: Asset{Target: strings.Trim(repo+":"+path, ":"), Package: pkg, Version: version,
			Component: strings.TrimSpace(string(a.Ecosystem))},
		CWEs:    cweIDs(strings.Join(a.References.CWEs, " ")),
		FixedIn: strings.TrimSpace(string(v.Safe.Version)),
		Layer:   LayerApplication,
	}
	for _, c := range a.References.CVEs {
		if c = strings.ToUpper(strings.TrimSpace(c)); strings.HasPrefix(c, "CVE-") {
			f.CVEs = append(f.CVEs, c)
		}
	}
	for _, u := range a.References.URLs {
		if u = strings.TrimSpace(u); strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			f.References = append(f.References, u)
		}
	}
	if f.FixedIn != "" {
		f.Remediation = fmt.Sprintf("Upgrade %s to %s or later.", pkg, f.FixedIn)
	}
	ev := path
	if l := strings.TrimSpace(string(v.Location.StartLine)); l != "" && l != "0" {
		ev += ":" + l
	}
	for _, s := range []struct{ k, v string }{{"exposure", string(v.Exposure)}, {"transitivity", string(v.Transitivity)}} {
		if x := strings.TrimSpace(s.v); x != "" {
			ev += "; " + s.k + ": " + strings.ToLower(x)
		}
	}
	f.Evidence = ev
	f.Fingerprint = fingerprint("semgrep", repo, rule, pkg, version, path)
	return f, nil
}
