package vuln

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/vuln/cvss"
)

// sarifImporter reads SARIF 2.1.0 logs (static analysers, secret and
// dependency scanners). Every result of kind "fail" (the default) becomes
// one finding per location; "pass", "notApplicable" and similar kinds are
// skipped. Results the tool suppressed are kept with Suppressed set.
//
// Fingerprint rule: tool name + rule id (or the message when there is no
// rule) + artifact URI + start line + start column + message text. The
// tool's own fingerprints are not used because tools compute them from
// things (commit, build) that change between scans of the same issue, so
// the same secret found in several commits of one file line is one
// finding with several occurrences.
type sarifImporter struct{}

var _ Importer = (*sarifImporter)(nil)

func (*sarifImporter) Format() string { return "sarif" }

func (*sarifImporter) Detect(filename string, head []byte) bool {
	if !headLooksJSON(head, "{") {
		return false
	}
	lower := bytes.ToLower(head)
	if bytes.Contains(lower, []byte("sarif")) && bytes.Contains(head, []byte(`"version"`)) {
		return true
	}
	if bytes.Contains(head, []byte(`"runs"`)) && bytes.Contains(head, []byte(`"driver"`)) {
		return true
	}
	return strings.HasSuffix(strings.ToLower(filename), ".sarif")
}

type sarifMessage struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
	ID       string `json:"id"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	FullDescription      sarifMessage `json:"fullDescription"`
	Help                 sarifMessage `json:"help"`
	HelpURI              string       `json:"helpUri"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties struct {
		Tags             strList    `json:"tags"`
		SecuritySeverity flexString `json:"security-severity"`
		Precision        string     `json:"precision"`
	} `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
		Region struct {
			StartLine   int `json:"startLine"`
			StartColumn int `json:"startColumn"`
			Snippet     struct {
				Text string `json:"text"`
			} `json:"snippet"`
		} `json:"region"`
	} `json:"physicalLocation"`
	LogicalLocations []struct {
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Name               string `json:"name"`
	} `json:"logicalLocations"`
}

type sarifLog struct {
	Version string `json:"version"`
	Runs    *[]struct {
		Tool struct {
			Driver struct {
				Name  string      `json:"name"`
				Rules []sarifRule `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex *int   `json:"ruleIndex"`
			Rule      *struct {
				ID    string `json:"id"`
				Index *int   `json:"index"`
			} `json:"rule"`
			Kind         string          `json:"kind"`
			Level        string          `json:"level"`
			Message      sarifMessage    `json:"message"`
			Locations    []sarifLocation `json:"locations"`
			Suppressions []struct {
				Kind   string `json:"kind"`
				Status string `json:"status"`
			} `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

var cweRe = regexp.MustCompile(`(?i)\bcwe[-/_:]?0*(\d{1,5})\b`)
var cveRe = regexp.MustCompile(`(?i)\bCVE-\d{4}-\d{4,}\b`)

func (*sarifImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "sarif"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var log sarifLog
	if err := decodeJSON(format, data, &log); err != nil {
		return nil, err
	}
	if log.Runs == nil {
		return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("not a SARIF log: no runs")}
	}
	if log.Version != "" && !strings.HasPrefix(log.Version, "2.1") {
		return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("unsupported SARIF version %q (want 2.1.0)", log.Version)}
	}
	out := []Finding{}
	for _, run := range *log.Runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tool := run.Tool.Driver.Name
		rules := run.Tool.Driver.Rules
		byID := make(map[string]*sarifRule, len(rules))
		for i := range rules {
			byID[rules[i].ID] = &rules[i]
		}
		for _, res := range run.Results {
			if k := res.Kind; k != "" && k != "fail" {
				continue
			}
			ruleID := res.RuleID
			var rule *sarifRule
			idx := res.RuleIndex
			if res.Rule != nil {
				ruleID = first(ruleID, res.Rule.ID)
				if idx == nil {
					idx = res.Rule.Index
				}
			}
			if idx != nil && *idx >= 0 && *idx < len(rules) {
				rule = &rules[*idx]
				ruleID = first(ruleID, rule.ID)
			} else if r, ok := byID[ruleID]; ok {
				rule = r
			}
			if rule == nil {
				rule = &sarifRule{}
			}
			msg := strings.TrimSpace(first(res.Message.Text, res.Message.Markdown, rule.ShortDescription.Text))
			base := Finding{
				Scanner:     "sarif/" + strings.ToLower(first(tool, "unknown")),
				RuleID:      ruleID,
				Title:       sarifTitle(rule, ruleID, msg),
				Description: strings.TrimSpace(first(msg+"\n\n"+rule.FullDescription.Text, msg)),
				Severity:    sarifSeverity(res.Level, rule),
				Remediation: strings.TrimSpace(first(rule.Help.Text, rule.Help.Markdown)),
				Suppressed:  len(res.Suppressions) > 0,
			}
			if rule.HelpURI != "" {
				base.References = []string{rule.HelpURI}
			}
			base.CWEs = sarifCWEs(append([]string{ruleID}, rule.Properties.Tags...))
			base.CVEs = uniqueUpper(cveRe.FindAllString(ruleID+" "+msg, -1))
			locs := res.Locations
			if len(locs) == 0 {
				locs = []sarifLocation{{}}
			}
			for _, loc := range locs {
				f := base
				pl := loc.PhysicalLocation
				f.Asset = Asset{Target: pl.ArtifactLocation.URI, Component: tool}
				if len(loc.LogicalLocations) > 0 {
					f.Asset.Component = first(loc.LogicalLocations[0].FullyQualifiedName, loc.LogicalLocations[0].Name, tool)
				}
				var ev []string
				if pl.Region.StartLine > 0 {
					ev = append(ev, fmt.Sprintf("%s:%d", pl.ArtifactLocation.URI, pl.Region.StartLine))
				}
				if s := strings.TrimSpace(pl.Region.Snippet.Text); s != "" {
					ev = append(ev, s)
				}
				f.Evidence = strings.Join(ev, "\n")
				f.Fingerprint = fingerprint(f.Scanner, first(ruleID, msg), pl.ArtifactLocation.URI,
					strconv.Itoa(pl.Region.StartLine), strconv.Itoa(pl.Region.StartColumn), f.Asset.Component, msg)
				out = append(out, f)
			}
		}
	}
	return finishAll(out), nil
}

func sarifTitle(rule *sarifRule, ruleID, msg string) string {
	if t := strings.TrimSpace(rule.ShortDescription.Text); t != "" {
		return t
	}
	if msg != "" {
		if i := strings.IndexAny(msg, "\n"); i > 0 {
			msg = msg[:i]
		}
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return msg
	}
	return first(rule.Name, ruleID, "SARIF result")
}

// sarifSeverity prefers the numeric "security-severity" rule property
// (a CVSS-like score), then the result's level, then the rule's default
// level; SARIF's default level is "warning".
func sarifSeverity(level string, rule *sarifRule) Severity {
	if s := strings.TrimSpace(string(rule.Properties.SecuritySeverity)); s != "" {
		if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && v <= 10 {
			if sev := Severity(cvss.Rating(v)); sev != Severity(cvss.SeverityNone) {
				return sev
			}
			return SeverityInfo
		}
	}
	switch first(level, rule.DefaultConfiguration.Level, "warning") {
	case "error":
		return SeverityHigh
	case "warning":
		return SeverityMedium
	case "note":
		return SeverityLow
	default:
		return SeverityInfo
	}
}

func sarifCWEs(tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		for _, m := range cweRe.FindAllStringSubmatch(t, -1) {
			id := "CWE-" + m[1]
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

func uniqueUpper(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.ToUpper(s)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
