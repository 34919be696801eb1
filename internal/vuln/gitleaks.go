package vuln

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// gitleaksImporter reads gitleaks' JSON report: version 8 (`gitleaks detect
// --report-format json`: RuleID, Description, File, StartLine, Secret,
// Match, Commit, Author, Date, Message, Tags) and the legacy version 7
// shape (rule, file, lineNumber, offender, line, commit, repo, tags as a
// comma-separated string). "null" or an empty array is no findings.
//
// Every leak is a high-severity hard-coded credential (CWE-798, layer
// application) with remediation "revoke, rotate, purge from history".
// Vigil never stores the secret: Evidence shows the rule, the commit(s)
// with author and date, and the secret masked to its first four
// characters.
//
// Fingerprint rule: repository (v7 repo/repoURL; v8 reports do not name
// it) + file + rule id + start line. The same secret found in several
// commits of the history is one finding listing every commit, as
// DefectDojo counts them: gitleaks8_many.json 4 leaks, 3 findings;
// version_7.5.0.json 8 leaks, 4 findings; data_one 1, data_many 2,
// redacted_data_many 6, no_findings 0 — DefectDojo's counts on every
// sample. no_findings.json holds "null", which auto-detection gives to
// trivy (its legacy empty report): both import it as no findings.
type gitleaksImporter struct{}

var _ Importer = (*gitleaksImporter)(nil)

func (*gitleaksImporter) Format() string { return "gitleaks" }

func (*gitleaksImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "[") {
		return false
	}
	v8 := bytes.Contains(head, []byte(`"RuleID"`)) && bytes.Contains(head, []byte(`"StartLine"`)) &&
		(bytes.Contains(head, []byte(`"Secret"`)) || bytes.Contains(head, []byte(`"Match"`)))
	v7 := bytes.Contains(head, []byte(`"offender"`)) && bytes.Contains(head, []byte(`"rule"`)) && bytes.Contains(head, []byte(`"commit"`))
	return v8 || v7
}

type gitleaksLeak struct {
	// Version 8.
	RuleID      flexString `json:"RuleID"`
	Description flexString `json:"Description"`
	StartLine   flexString `json:"StartLine"`
	Secret      flexString `json:"Secret"`
	Match       flexString `json:"Match"`
	Message     flexString `json:"Message"`
	Link        flexString `json:"Link"`
	// Version 7 (encoding/json matches keys case-insensitively, so File,
	// Commit, Author, Email, Date and Tags serve both).
	Rule       flexString `json:"rule"`
	LineNumber flexString `json:"lineNumber"`
	Offender   flexString `json:"offender"`
	Repo       flexString `json:"repo"`
	RepoURL    flexString `json:"repoURL"`
	LeakURL    flexString `json:"leakURL"`
	CommitMsg  flexString `json:"commitMessage"`
	File       flexString `json:"file"`
	Commit     flexString `json:"commit"`
	Author     flexString `json:"author"`
	Date       flexString `json:"date"`
	Tags       strList    `json:"tags"`
}

func (*gitleaksImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "gitleaks"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return []Finding{}, nil
	}
	if !headLooksJSON(data, "[") {
		return nil, errAt(format, data, 0, errors.New("not a gitleaks JSON report: want an array of leaks"))
	}
	var leaks []gitleaksLeak
	if err := decodeJSON(format, data, &leaks); err != nil {
		return nil, err
	}
	out := []Finding{}
	byFP := map[string]int{}
	for i := range leaks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := leaks[i].finding()
		if err != nil {
			return nil, errAt(format, data, 0, fmt.Errorf("leak %d: %w", i, err))
		}
		if j, ok := byFP[f.Fingerprint]; ok {
			out[j].Occurrences++
			out[j].Evidence = appendEvidence(out[j].Evidence, f.Evidence)
			continue
		}
		f.Occurrences = 1
		byFP[f.Fingerprint] = len(out)
		out = append(out, f)
	}
	return finishAll(out), nil
}

func (l *gitleaksLeak) finding() (Finding, error) {
	rule := strings.TrimSpace(first(string(l.RuleID), string(l.Rule)))
	file := strings.TrimSpace(string(l.File))
	if rule == "" || file == "" {
		return Finding{}, errors.New("no rule or file")
	}
	name := strings.TrimSpace(first(string(l.Description), string(l.Rule), rule))
	line := strings.TrimSpace(first(string(l.StartLine), string(l.LineNumber)))
	if n, err := strconv.Atoi(line); err != nil || n <= 0 {
		line = ""
	}
	repo := strings.TrimSpace(first(string(l.RepoURL), string(l.Repo)))
	if repo == "." {
		repo = ""
	}
	loc := file
	if line != "" {
		loc += ":" + line
	}
	f := Finding{
		Scanner:     "gitleaks",
		RuleID:      rule,
		Title:       "Hard-coded secret: " + name,
		Description: fmt.Sprintf("gitleaks rule %q matched a secret in %s.", rule, loc),
		Severity:    SeverityHigh,
		CWEs:        []string{"CWE-798"},
		Asset:       Asset{Target: first(repo, file), Component: file},
		Layer:       LayerApplication,
		Remediation: "Revoke the credential and issue a new one, then remove it from the file and from the repository history (git filter-repo or BFG) and load it from a secret store at run time.",
	}
	if repo != "" {
		f.Asset.Target = repo + ":" + file
	}
	if u := strings.TrimSpace(first(string(l.Link), string(l.LeakURL))); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		f.References = []string{u}
	}
	ev := loc + ": secret " + maskSecret(first(string(l.Secret), string(l.Offender), string(l.Match)))
	if c := strings.TrimSpace(string(l.Commit)); c != "" {
		ev += " in commit " + c
		if a := strings.TrimSpace(string(l.Author)); a != "" {
			ev += " by " + a
		}
		if d := strings.TrimSpace(string(l.Date)); d != "" {
			ev += " on " + d
		}
		if m := clipLine(first(string(l.Message), string(l.CommitMsg)), 200); m != "" {
			ev += " (" + m + ")"
		}
	}
	if len(l.Tags) > 0 {
		ev += "; tags: " + strings.Join(l.Tags, ", ")
	}
	f.Evidence = ev
	f.Fingerprint = fingerprint("gitleaks", repo, file, rule, line)
	return f, nil
}

// maskSecret keeps the first four characters of a secret (enough to tell
// which key it is) and replaces the rest.
func maskSecret(s string) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", min(len(r)-4, 12))
}
