// Package vuln owns Vigil's normalised vulnerability findings and the
// importers that turn scanner output (nuclei, Trivy, SARIF, ...) into them.
//
// Each importer documents its Fingerprint rule: the fields that identify
// "the same issue on the same thing" across rescans. Fingerprints never
// merge findings of different hosts (or targets/artifacts for SCA tools).
// In short:
//
//	nuclei   template-id + host + matched-at + matcher-name
//	trivy    target + vulnerability id + package + package path + installed version
//	         (misconfiguration: target + check id + message; secret: target + rule + line;
//	         licence: target + licence + package + file)
//	sarif    tool + rule id + artifact URI + start line + start column + logical location + message
//	nmap     host IP + protocol + port (open port); + CPE + vulners id (vulners entry)
//	openvas  host IP + port + NVT OID
//	tenable  host IP (WAS: target URL) + port/protocol + plugin ID (.nessus and CSV agree)
//	zap      site + plugin ID + alertRef + alert text + alert name
//	nikto    target IP (else host name) + port + check id + message
//	testssl  target IP (else host name) + port + testssl id
//	osv-scanner  source path + advisory id + ecosystem + package + version (git sources: commit)
//	govulncheck  main module + advisory id + module + module version
//	grype        target + vulnerability id + artifact name + version + artifact type
//	qualys       host IP + QID + port + protocol (+ ssl)
//	openscap     target name + first non-loopback address + rule id (failed rules only)
//	burp         host origin + issue type + issue name
//	acunetix     site origin + module + name (XML); target + type + URL without query (360 JSON)
//	masscan      IP + protocol + port
//	naabu        IP (else host) + protocol + port
//	gitleaks     repository + file + rule + start line (commits of one leak merge)
//	semgrep      rule + path + Semgrep fingerprint (else line); supply chain: repository + advisory + package + version + manifest
//	wazuh        agent + CVE + package + version + architecture
//	lynis        hostname + test id + text + details
//
// The fingerprint is the first 128 bits of SHA-256 over the scanner name and
// those fields (trimmed, lower-cased), hex encoded. Records of one import
// that share a fingerprint become one finding whose Occurrences counts them.
//
// CVSS vectors are scored by Vigil (package cvss); the tool's own number is
// kept separately in ToolScore.
package vuln

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/vuln/cvss"
)

// Severity is a finding's normalised severity.
type Severity string

// Severities, from least to most severe.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity from most to least severe.
func Severities() []Severity {
	return []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}
}

// ParseSeverity maps a scanner's severity word to a Severity. Unknown or
// empty words give "" so the caller can fall back to the CVSS rating.
func ParseSeverity(s string) Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return SeverityCritical
	case "high", "error":
		return SeverityHigh
	case "medium", "moderate", "warning":
		return SeverityMedium
	case "low", "note":
		return SeverityLow
	case "info", "informational", "information", "none", "unknown", "log":
		return SeverityInfo
	}
	return ""
}

// Asset is what a finding was found on. Network scanners fill Host/IP/Port,
// web scanners URL, software-composition scanners Target/Package/Version.
type Asset struct {
	Host     string `json:"host,omitempty"`
	IP       string `json:"ip,omitempty"`
	Port     int    `json:"port,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	URL      string `json:"url,omitempty"`
	// Target is the scanned artefact: an image, file system path, file or
	// Kubernetes resource.
	Target    string `json:"target,omitempty"`
	Package   string `json:"package,omitempty"`
	Version   string `json:"version,omitempty"`
	Component string `json:"component,omitempty"`
}

// Finding is one normalised vulnerability finding.
type Finding struct {
	Fingerprint string   `json:"fingerprint"`
	Scanner     string   `json:"scanner"`
	RuleID      string   `json:"rule_id,omitempty"` // template, plugin, rule or advisory id
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Severity    Severity `json:"severity"`
	Asset       Asset    `json:"asset"`
	CVEs        []string `json:"cves,omitempty"`
	CWEs        []string `json:"cwes,omitempty"`
	// CVSSVector is the vector the tool reported; CVSSScore is Vigil's own
	// computation from it (nil when absent, invalid or not scoreable) and
	// ToolScore the number the tool printed, kept separately.
	CVSSVector string   `json:"cvss_vector,omitempty"`
	CVSSScore  *float64 `json:"cvss_score,omitempty"`
	CVSSError  string   `json:"cvss_error,omitempty"`
	// CVSS4Vector is a CVSS v4.0 vector when the tool gave one and
	// CVSS4Score Vigil's score of it (CVSS-BTE, errors go to CVSSError).
	CVSS4Vector string   `json:"cvss4_vector,omitempty"`
	CVSS4Score  *float64 `json:"cvss4_score,omitempty"`
	ToolScore   *float64 `json:"tool_score,omitempty"`
	FixedIn     string   `json:"fixed_in,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	Layer       string   `json:"layer,omitempty"` // network, os, application or configuration when the format tells (layer.go)
	Evidence    string   `json:"evidence,omitempty"`
	References  []string `json:"references,omitempty"`
	// Suppressed is set when the tool itself reports the result as
	// suppressed (SARIF suppressions); Vigil still imports it.
	Suppressed bool `json:"suppressed,omitempty"`
	// Occurrences counts the records of one import that share the
	// fingerprint (at least 1).
	Occurrences int `json:"occurrences"`
}

// fingerprint hashes the scanner name and the parts of a rule into a
// stable identifier. Parts are case-folded and trimmed.
func fingerprint(scanner string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(scanner))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(strings.ToLower(strings.TrimSpace(p))))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// finish computes the CVSS score from the vector and fills the severity
// from it when the tool gave none.
func (f *Finding) finish() {
	if f.CVSSVector != "" {
		score, sev, ok, err := cvss.Parse(f.CVSSVector)
		switch {
		case err != nil:
			f.CVSSError = err.Error()
		case ok:
			f.CVSSScore = &score
			if f.Severity == "" {
				f.Severity = Severity(sev)
				if sev == cvss.SeverityNone {
					f.Severity = SeverityInfo
				}
			}
		}
	}
	if f.CVSS4Vector != "" {
		score, sev, err := cvss.ScoreV40(f.CVSS4Vector)
		switch {
		case err != nil:
			if f.CVSSError == "" {
				f.CVSSError = err.Error()
			}
		default:
			f.CVSS4Score = &score
			if f.Severity == "" {
				f.Severity = Severity(sev)
				if cvss.Severity(sev) == cvss.SeverityNone {
					f.Severity = SeverityInfo
				}
			}
		}
	}
	if f.Severity == "" {
		f.Severity = SeverityInfo
	}
	if f.Occurrences == 0 {
		f.Occurrences = 1
	}
}

// dedupe merges findings sharing a fingerprint, keeping the first and
// summing occurrences; order is preserved.
func dedupe(in []Finding) []Finding {
	seen := make(map[string]int, len(in))
	out := in[:0]
	for _, f := range in {
		if i, ok := seen[f.Fingerprint]; ok {
			out[i].Occurrences += f.Occurrences
			continue
		}
		seen[f.Fingerprint] = len(out)
		out = append(out, f)
	}
	return out
}

// finishAll runs finish on every finding and dedupes them.
func finishAll(in []Finding) []Finding {
	for i := range in {
		in[i].finish()
	}
	return dedupe(in)
}

func sortStrings(s []string) { slices.Sort(s) }
