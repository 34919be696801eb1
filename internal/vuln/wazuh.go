package vuln

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-sec/vigil/internal/vuln/cvss"
)

// wazuhImporter reads Wazuh vulnerability-detector results in both shapes
// DefectDojo accepts: the 4.7 manager API answer (GET /vulnerability/{agent}:
// {"data":{"affected_items":[{cve, name, version, architecture, condition,
// severity, cvss3_score, external_references, agent_name, agent_ip, …}]}})
// and the 4.8+ indexer search answer over wazuh-states-vulnerabilities-*
// ({"hits":{"hits":[{"_source":{agent, host.os, package, vulnerability}}]}}).
//
// Each item is a vulnerable OS package on an agent (layer os): CVE,
// package and version, Wazuh's detection condition, references, and the
// CVSS base score Wazuh reports (kept as ToolScore: Wazuh gives no
// vector). Severity is Wazuh's word; when it is not one (4.7 "Untriaged",
// 4.8 "-") the rating of that base score is used, and info without one.
// Remediation: update the package (with the fixed version when Wazuh's
// condition names it).
//
// Fingerprint rule: agent (4.8: id + name; 4.7: agent_name, else
// agent_ip) + CVE + package + version + architecture. The 4.7 API answer
// is per agent and usually names none; import it per agent.
//
// Counts against DefectDojo: v4-7_one_finding 1, v4-7_no_findings 0,
// v4-8_many_findings 10 — the same. v4-7_many_findings.json gives 13 where
// DefectDojo gives 6: DefectDojo drops the 6 items whose condition is
// "Package unfixed" (no fixed version published yet) and the one with
// severity "Untriaged"; an unfixed vulnerable package is still exposed —
// exactly what the "mitigated, not fixed" state is for — so Vigil keeps
// them. wazuh_abnormal_severity.json (severity "-", base score 9.1) is
// critical where DefectDojo says info, by the fallback above.
type wazuhImporter struct{}

var _ Importer = (*wazuhImporter)(nil)

func (*wazuhImporter) Format() string { return "wazuh" }

func (*wazuhImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "{") {
		return false
	}
	v47 := bytes.Contains(head, []byte(`"affected_items"`)) &&
		(bytes.Contains(head, []byte(`"cve"`)) || bytes.Contains(head, []byte(`"total_affected_items"`)))
	v48 := bytes.Contains(head, []byte(`"hits"`)) && bytes.Contains(head, []byte(`wazuh-states-vulnerabilities`))
	return v47 || v48
}

type wazuh47Item struct {
	CVE        flexString `json:"cve"`
	Name       flexString `json:"name"`
	Version    flexString `json:"version"`
	Arch       flexString `json:"architecture"`
	Condition  flexString `json:"condition"`
	Severity   flexString `json:"severity"`
	CVSS3      flexFloat  `json:"cvss3_score"`
	Title      flexString `json:"title"`
	Refs       strList    `json:"external_references"`
	AgentName  flexString `json:"agent_name"`
	AgentIP    flexString `json:"agent_ip"`
	Status     flexString `json:"status"`
	Detected   flexString `json:"detection_time"`
	Published  flexString `json:"published"`
	PackageTyp flexString `json:"type"`
}

type wazuh48Source struct {
	Agent struct {
		ID   flexString `json:"id"`
		Name flexString `json:"name"`
	} `json:"agent"`
	Host struct {
		OS struct {
			Full flexString `json:"full"`
		} `json:"os"`
	} `json:"host"`
	Package struct {
		Name    flexString `json:"name"`
		Version flexString `json:"version"`
		Arch    flexString `json:"architecture"`
		Type    flexString `json:"type"`
	} `json:"package"`
	Vuln struct {
		ID          flexString `json:"id"`
		Description flexString `json:"description"`
		Severity    flexString `json:"severity"`
		Reference   flexString `json:"reference"`
		Detected    flexString `json:"detected_at"`
		Score       struct {
			Base    flexFloat  `json:"base"`
			Version flexString `json:"version"`
		} `json:"score"`
		Scanner struct {
			Condition flexString `json:"condition"`
			Reference flexString `json:"reference"`
			Source    flexString `json:"source"`
		} `json:"scanner"`
	} `json:"vulnerability"`
}

type wazuhReport struct {
	Data *struct {
		Items []wazuh47Item `json:"affected_items"`
	} `json:"data"`
	Hits *struct {
		Hits []struct {
			Source *wazuh48Source `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

func (*wazuhImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "wazuh"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	if !headLooksJSON(data, "{") {
		return nil, errAt(format, data, 0, errors.New("not a Wazuh vulnerability report: want a JSON object"))
	}
	var rep wazuhReport
	if err := decodeJSON(format, data, &rep); err != nil {
		return nil, err
	}
	if rep.Data == nil && rep.Hits == nil {
		return nil, errAt(format, data, 0, errors.New(`not a Wazuh vulnerability report: no "data.affected_items" or "hits.hits"`))
	}
	out := []Finding{}
	if rep.Data != nil {
		for i := range rep.Data.Items {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			f, err := rep.Data.Items[i].finding()
			if err != nil {
				return nil, errAt(format, data, 0, fmt.Errorf("affected item %d: %w", i, err))
			}
			out = append(out, f)
		}
	}
	if rep.Hits != nil {
		for i, h := range rep.Hits.Hits {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if h.Source == nil {
				return nil, errAt(format, data, 0, fmt.Errorf("hit %d has no _source", i))
			}
			f, err := h.Source.finding()
			if err != nil {
				return nil, errAt(format, data, 0, fmt.Errorf("hit %d: %w", i, err))
			}
			out = append(out, f)
		}
	}
	return finishAll(out), nil
}

// wazuhSeverity is Wazuh's severity word, else the rating of its base
// score, else info.
func wazuhSeverity(word string, score *float64) Severity {
	if s := ParseSeverity(word); s != "" && !strings.EqualFold(strings.TrimSpace(word), "unknown") {
		return s
	}
	if score != nil && *score > 0 && *score <= 10 {
		return Severity(cvss.Rating(*score))
	}
	return SeverityInfo
}

// wazuhFinding builds the common part of both versions' findings.
func wazuhFinding(cve, pkg, version, condition string) Finding {
	f := Finding{
		Scanner:     "wazuh",
		RuleID:      cve,
		Title:       fmt.Sprintf("%s in %s %s", cve, pkg, version),
		Description: condition,
		Asset:       Asset{Package: pkg, Version: version},
		Layer:       LayerOS,
	}
	if strings.HasPrefix(strings.ToUpper(cve), "CVE-") {
		f.CVEs = []string{strings.ToUpper(cve)}
	}
	if fixed, ok := strings.CutPrefix(condition, "Package less than "); ok && fixed != "" {
		f.FixedIn = fixed
		f.Remediation = fmt.Sprintf("Update %s to %s or later with the system's package manager.", pkg, fixed)
	} else {
		f.Remediation = fmt.Sprintf("Update %s when the distribution publishes a fixed version; until then reduce exposure (remove the package if unused, restrict access to the service) and record the compensating control.", pkg)
	}
	return f
}

func (it *wazuh47Item) finding() (Finding, error) {
	cve := strings.TrimSpace(string(it.CVE))
	pkg := strings.TrimSpace(string(it.Name))
	if cve == "" || pkg == "" {
		return Finding{}, errors.New("no cve or package name")
	}
	version := strings.TrimSpace(string(it.Version))
	f := wazuhFinding(cve, pkg, version, strings.TrimSpace(string(it.Condition)))
	f.Severity = wazuhSeverity(string(it.Severity), it.CVSS3.v)
	f.ToolScore = it.CVSS3.v
	agent, ip := strings.TrimSpace(string(it.AgentName)), strings.TrimSpace(string(it.AgentIP))
	f.Asset.Host, f.Asset.IP = first(agent, ip), ip
	for _, ref := range it.Refs {
		if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
			f.References = append(f.References, ref)
		}
	}
	var ev []string
	for _, kv := range [][2]string{{"status", string(it.Status)}, {"severity", string(it.Severity)}, {"detected", string(it.Detected)}, {"published", string(it.Published)}} {
		if v := strings.TrimSpace(kv[1]); v != "" {
			ev = append(ev, kv[0]+": "+v)
		}
	}
	f.Evidence = strings.Join(ev, "; ")
	f.Fingerprint = fingerprint("wazuh", first(agent, ip), cve, pkg, version, string(it.Arch))
	return f, nil
}

func (s *wazuh48Source) finding() (Finding, error) {
	v := &s.Vuln
	cve := strings.TrimSpace(string(v.ID))
	pkg := strings.TrimSpace(string(s.Package.Name))
	if cve == "" || pkg == "" {
		return Finding{}, errors.New("no vulnerability id or package name")
	}
	version := strings.TrimSpace(string(s.Package.Version))
	f := wazuhFinding(cve, pkg, version, strings.TrimSpace(string(v.Scanner.Condition)))
	if d := strings.TrimSpace(string(v.Description)); d != "" {
		f.Description = strings.Join(nonBlank(d, f.Description), "\n\n")
	}
	f.Severity = wazuhSeverity(string(v.Severity), v.Score.Base.v)
	f.ToolScore = v.Score.Base.v
	id, name := strings.TrimSpace(string(s.Agent.ID)), strings.TrimSpace(string(s.Agent.Name))
	f.Asset.Host = first(name, "wazuh-agent-"+id)
	f.Asset.Component = strings.TrimSpace(string(s.Host.OS.Full))
	for _, ref := range append(strings.Split(string(v.Reference), ","), string(v.Scanner.Reference)) {
		if ref = strings.TrimSpace(ref); strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
			f.References = append(f.References, ref)
		}
	}
	var ev []string
	for _, kv := range [][2]string{{"agent", id}, {"severity", string(v.Severity)}, {"source", string(v.Scanner.Source)}, {"detected", string(v.Detected)}} {
		if x := strings.TrimSpace(kv[1]); x != "" {
			ev = append(ev, kv[0]+": "+x)
		}
	}
	f.Evidence = strings.Join(ev, "; ")
	f.Fingerprint = fingerprint("wazuh", id, name, cve, pkg, version, string(s.Package.Arch))
	return f, nil
}
