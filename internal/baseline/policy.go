// Package baseline owns security configuration baselines: loading policies
// in the Wazuh SCA YAML format, parsing their rules once, and evaluating them
// against a host to produce per-check results and a compliance score.
package baseline

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Condition combines the results of a check's rules.
type Condition string

// Conditions accepted by SCA policies.
const (
	CondAll  Condition = "all"
	CondAny  Condition = "any"
	CondNone Condition = "none"
)

// Policy is a loaded SCA policy.
type Policy struct {
	File         string // name the policy was loaded from
	ID           string
	Name         string
	Description  string
	References   []string
	Requirements *Requirements // nil when the policy has none
	Variables    map[string]string
	Checks       []Check
	// Problems lists checks (or requirements) that could not be loaded;
	// such checks are left out of Checks.
	Problems []Problem
	// Rules counts parsed rules over Checks and Requirements.
	Rules int
	// SHA256 is the hex SHA-256 of the policy file as parsed. Offline
	// collectors record it so that evidence is evaluated only with the
	// policy it was collected for.
	SHA256 string
}

// Requirements decide whether a policy applies to a host at all.
type Requirements struct {
	Name        string
	Description string
	Condition   Condition
	Rules       []*Rule
}

// Check is one control of a policy.
type Check struct {
	ID          string
	Title       string
	Description string
	Rationale   string
	Remediation string
	References  []string
	Compliance  map[string][]string
	Condition   Condition
	Rules       []*Rule
	// Manual marks a check that tools cannot decide (physical security,
	// process questions). It is a Vigil extension to the SCA format: a
	// check written with "type: manual" needs no rules (any rules and its
	// condition are ignored) and always evaluates to Manual, pending an
	// assessor who records the result and evidence.
	Manual bool
}

// Problem is a construct of a policy that could not be loaded.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	CheckID string `json:"check_id,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason"`
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, p.Line)
	}
	if p.CheckID != "" {
		loc += " check " + p.CheckID
	}
	return loc + ": " + p.Reason
}

// maxPolicyBytes bounds the size of a policy file.
const maxPolicyBytes = 16 << 20

type rawPolicy struct {
	Policy struct {
		ID          string   `yaml:"id"`
		Name        string   `yaml:"name"`
		Description string   `yaml:"description"`
		References  textList `yaml:"references"`
	} `yaml:"policy"`
	Requirements *struct {
		Name        string      `yaml:"name"`
		Description string      `yaml:"description"`
		Condition   string      `yaml:"condition"`
		Rules       []yaml.Node `yaml:"rules"`
	} `yaml:"requirements"`
	Variables map[string]string `yaml:"variables"`
	Checks    []rawCheck        `yaml:"checks"`
}

type rawCheckFields struct {
	ID          string              `yaml:"id"`
	Title       string              `yaml:"title"`
	Name        string              `yaml:"name"`
	Description string              `yaml:"description"`
	Rationale   string              `yaml:"rationale"`
	Remediation string              `yaml:"remediation"`
	References  textList            `yaml:"references"`
	Compliance  map[string][]string `yaml:"compliance"`
	Condition   string              `yaml:"condition"`
	Rules       []yaml.Node         `yaml:"rules"`
	Type        string              `yaml:"type"`
}

// rawCheck remembers the line a check starts on, for problems.
type rawCheck struct {
	rawCheckFields
	Line int
}

func (c *rawCheck) UnmarshalYAML(n *yaml.Node) error {
	c.Line = n.Line
	return n.Decode(&c.rawCheckFields)
}

// Parse loads a policy from YAML. name labels problems (usually the file
// name). An error means the document as a whole is unusable; checks that
// fail individually are recorded in Policy.Problems and left out.
func Parse(data []byte, name string) (*Policy, error) {
	if len(data) > maxPolicyBytes {
		return nil, fmt.Errorf("%s: policy larger than %d bytes", name, maxPolicyBytes)
	}
	var raw rawPolicy
	if err := yaml.Unmarshal(data, &raw); err != nil {
		// Some published policies use escapes in double-quoted strings that
		// the decoder rejects (such as "\/"); repair them and retry.
		fixed, changed := escapeUnknownYAMLEscapes(data)
		if !changed {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		raw = rawPolicy{}
		if err2 := yaml.Unmarshal(fixed, &raw); err2 != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if raw.Policy.ID == "" {
		return nil, fmt.Errorf("%s: policy.id is missing", name)
	}
	p := &Policy{
		File:        name,
		ID:          raw.Policy.ID,
		Name:        raw.Policy.Name,
		Description: raw.Policy.Description,
		References:  []string(raw.Policy.References),
		Variables:   raw.Variables,
		SHA256:      fmt.Sprintf("%x", sha256.Sum256(data)),
	}
	vars := newExpander(raw.Variables)
	if rq := raw.Requirements; rq != nil {
		cond, err := parseCondition(rq.Condition)
		rules, probs := parseRules(rq.Rules, vars)
		if err != nil {
			probs = append(probs, Problem{Reason: err.Error()})
		}
		for i := range probs {
			probs[i].File, probs[i].CheckID = name, "requirements"
		}
		p.Problems = append(p.Problems, probs...)
		p.Requirements = &Requirements{Name: rq.Name, Description: rq.Description, Condition: cond, Rules: rules}
		p.Rules += len(rules)
	}
	seen := make(map[string]bool, len(raw.Checks))
	for _, rc := range raw.Checks {
		var probs []Problem
		if rc.ID == "" {
			probs = append(probs, Problem{Reason: "check id is missing"})
		} else if seen[rc.ID] {
			probs = append(probs, Problem{Reason: "duplicate check id"})
		}
		seen[rc.ID] = true
		var (
			cond   Condition
			rules  []*Rule
			manual bool
		)
		switch strings.ToLower(strings.TrimSpace(rc.Type)) {
		case "manual":
			manual = true
		case "", "automated", "automatic":
			var err error
			if cond, err = parseCondition(rc.Condition); err != nil {
				probs = append(probs, Problem{Reason: err.Error()})
			}
			var rprobs []Problem
			rules, rprobs = parseRules(rc.Rules, vars)
			probs = append(probs, rprobs...)
			if len(rc.Rules) == 0 {
				probs = append(probs, Problem{Reason: "check has no rules"})
			}
		default:
			probs = append(probs, Problem{Reason: fmt.Sprintf("check type %q is not manual", rc.Type)})
		}
		if len(probs) > 0 {
			for i := range probs {
				probs[i].File, probs[i].CheckID = name, rc.ID
				if probs[i].Line == 0 {
					probs[i].Line = rc.Line
				}
			}
			p.Problems = append(p.Problems, probs...)
			continue
		}
		title := rc.Title
		if title == "" {
			title = rc.Name
		}
		p.Checks = append(p.Checks, Check{
			ID: rc.ID, Title: title, Description: rc.Description, Rationale: rc.Rationale,
			Remediation: rc.Remediation, References: []string(rc.References), Compliance: rc.Compliance,
			Condition: cond, Rules: rules, Manual: manual,
		})
		p.Rules += len(rules)
	}
	return p, nil
}

func parseCondition(s string) (Condition, error) {
	switch c := Condition(strings.ToLower(strings.TrimSpace(s))); c {
	case CondAll, CondAny, CondNone:
		return c, nil
	}
	return "", fmt.Errorf("condition %q is not one of all, any, none", s)
}

func parseRules(nodes []yaml.Node, vars *strings.Replacer) ([]*Rule, []Problem) {
	var rules []*Rule
	var probs []Problem
	for i := range nodes {
		n := &nodes[i]
		if n.Kind != yaml.ScalarNode {
			probs = append(probs, Problem{Line: n.Line, Reason: "rule is not a string"})
			continue
		}
		r, err := ParseRule(vars.Replace(n.Value))
		if err != nil {
			probs = append(probs, Problem{Line: n.Line, Rule: n.Value, Reason: err.Error()})
			continue
		}
		r.Raw, r.Line = n.Value, n.Line
		rules = append(rules, r)
	}
	return rules, probs
}

// newExpander substitutes $variables, longest names first so that $a_b is
// not replaced by the value of $a.
func newExpander(vars map[string]string) *strings.Replacer {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	var pairs []string
	for _, k := range names {
		key := k
		if !strings.HasPrefix(key, "$") {
			key = "$" + key
		}
		pairs = append(pairs, key, vars[k])
	}
	return strings.NewReplacer(pairs...)
}

// LoadDir loads every *.yml and *.yaml policy under dir in fsys. Documents
// that cannot be loaded at all are returned joined in the error; the
// policies that did load are returned either way.
func LoadDir(fsys fs.FS, dir string) ([]*Policy, error) {
	var policies []*Policy
	var errs []error
	walkErr := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		pol, err := Parse(data, p)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		policies = append(policies, pol)
		return nil
	})
	if walkErr != nil {
		errs = append(errs, walkErr)
	}
	return policies, errors.Join(errs...)
}

// textList accepts a string, a list of strings, or a list of one-key maps
// ("Title: URL"), all of which appear as references in published policies.
type textList []string

func (l *textList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = textList{n.Value}
		return nil
	case yaml.SequenceNode:
		for _, c := range n.Content {
			switch c.Kind {
			case yaml.ScalarNode:
				*l = append(*l, c.Value)
			case yaml.MappingNode:
				for i := 0; i+1 < len(c.Content); i += 2 {
					*l = append(*l, c.Content[i].Value+": "+c.Content[i+1].Value)
				}
			default:
				return fmt.Errorf("line %d: unsupported reference", c.Line)
			}
		}
		return nil
	}
	return fmt.Errorf("line %d: references must be a string or a list", n.Line)
}

// escapeUnknownYAMLEscapes doubles backslashes inside double-quoted scalars
// when they introduce an escape YAML does not define, so that the text is
// kept as written. A scalar is taken to start with a quote only after
// ':', '-', '[', ',', '{' or at the start of a line.
func escapeUnknownYAMLEscapes(data []byte) ([]byte, bool) {
	const known = "0abtnvfre \"\\N_LPxuU\t"
	out := make([]byte, 0, len(data)+64)
	changed := false
	var quote byte
	var prev byte = '\n' // last non-space byte outside a scalar
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case quote == '"':
			if c == '\\' && i+1 < len(data) && data[i+1] == '/' {
				// YAML 1.2 defines "\/" as '/'; the decoder does not.
				out = append(out, '/')
				changed = true
				i++
				continue
			}
			if c == '\\' && i+1 < len(data) {
				if !strings.ContainsRune(known, rune(data[i+1])) && data[i+1] != '\n' {
					out = append(out, '\\')
					changed = true
				}
				out = append(out, c, data[i+1])
				i++
				continue
			}
			if c == '"' {
				quote, prev = 0, 'x'
			}
		case quote == '\'':
			if c == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					out = append(out, c, c)
					i++
					continue
				}
				quote, prev = 0, 'x'
			}
		case c == '"' || c == '\'':
			if strings.IndexByte(":-[,{\n", prev) >= 0 {
				quote = c
			} else {
				prev = c
			}
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\n'):
			for i < len(data) && data[i] != '\n' {
				out = append(out, data[i])
				i++
			}
			if i < len(data) {
				out = append(out, '\n')
			}
			prev = '\n'
			continue
		case c == ' ' || c == '\t' || c == '\r':
		default:
			prev = c
		}
		out = append(out, c)
	}
	return out, changed
}
