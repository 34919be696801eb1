package compliance

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Ref names one node of one framework.
type Ref struct {
	Framework string `json:"framework"`
	ID        string `json:"id"`
}

// String returns "framework:id".
func (r Ref) String() string { return r.Framework + ":" + r.ID }

// BaselineCheck names one check of a baseline policy (Wazuh SCA format:
// policy id such as cis_debian12 and a numeric check id).
type BaselineCheck struct {
	Policy string `json:"policy"`
	ID     int    `json:"id"`
}

// Mapping relates one requirement to equivalent controls of other
// frameworks and to the baseline checks that give evidence for it.
type Mapping struct {
	Source  Ref             `json:"source"`
	Targets []Ref           `json:"targets,omitempty"`
	Checks  []BaselineCheck `json:"checks,omitempty"`
	Note    string          `json:"note,omitempty"`
}

// mappingFile is the YAML form: one source framework, one target
// framework and one baseline policy per file.
type mappingFile struct {
	Source         string `yaml:"source"`
	Target         string `yaml:"target"`
	BaselinePolicy string `yaml:"baseline_policy"`
	Items          []struct {
		ID     string   `yaml:"id"`
		Target []string `yaml:"target"`
		Checks []int    `yaml:"checks"`
		Note   string   `yaml:"note"`
	} `yaml:"items"`
}

// Limits on mapping files.
const (
	MaxMappings       = 10_000
	maxMappingTargets = 200
)

// ParseMappings reads one mapping file. References are checked against
// frameworks by Catalog.CheckMappings.
func ParseMappings(r io.Reader) ([]Mapping, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFrameworkBytes+1))
	if err != nil {
		return nil, fmt.Errorf("compliance: read mappings: %w", err)
	}
	if len(data) > MaxFrameworkBytes {
		return nil, fmt.Errorf("%w: mapping file is larger than %d bytes", ErrInvalid, MaxFrameworkBytes)
	}
	var mf mappingFile
	if err := decodeYAML(data, &mf); err != nil {
		return nil, err
	}
	p := &problems{}
	checkField(p, "mappings", "source", mf.Source, MaxIDLen, true)
	checkField(p, "mappings", "target", mf.Target, MaxIDLen, false)
	checkField(p, "mappings", "baseline_policy", mf.BaselinePolicy, MaxIDLen, false)
	if len(mf.Items) > MaxMappings {
		p.addf("mappings: more than %d items", MaxMappings)
		return nil, p.err("mappings")
	}
	out := make([]Mapping, 0, len(mf.Items))
	for i, it := range mf.Items {
		where := "items[" + strconv.Itoa(i) + "]"
		checkField(p, where, "id", it.ID, MaxIDLen, true)
		checkField(p, where, "note", it.Note, MaxTextLen, false)
		if len(it.Target)+len(it.Checks) > maxMappingTargets {
			p.addf("%s: more than %d targets", where, maxMappingTargets)
			continue
		}
		if len(it.Target) > 0 && mf.Target == "" {
			p.addf("%s: targets given but the file names no target framework", where)
		}
		if len(it.Checks) > 0 && mf.BaselinePolicy == "" {
			p.addf("%s: checks given but the file names no baseline_policy", where)
		}
		m := Mapping{Source: Ref{mf.Source, it.ID}, Note: it.Note}
		for _, t := range it.Target {
			checkField(p, where, "target", t, MaxIDLen, true)
			m.Targets = append(m.Targets, Ref{mf.Target, t})
		}
		for _, c := range it.Checks {
			if c <= 0 {
				p.addf("%s: check id %d is not positive", where, c)
			}
			m.Checks = append(m.Checks, BaselineCheck{mf.BaselinePolicy, c})
		}
		out = append(out, m)
	}
	if err := p.err("mappings"); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckMappings checks that every mapping source is an assessable node and
// every target exists, in the catalog's frameworks.
func (c *Catalog) CheckMappings() error {
	p := &problems{}
	seen := map[Ref]bool{}
	for _, m := range c.Mappings {
		if seen[m.Source] {
			p.addf("mapping %s: source mapped twice", m.Source)
		}
		seen[m.Source] = true
		if n := c.resolve(m.Source); n == nil {
			p.addf("mapping %s: source does not exist", m.Source)
		} else if !n.Assessable {
			p.addf("mapping %s: source is not an assessable requirement", m.Source)
		}
		for _, t := range m.Targets {
			if c.resolve(t) == nil {
				p.addf("mapping %s: target %s does not exist", m.Source, t)
			}
		}
	}
	return p.err("mappings")
}

func (c *Catalog) resolve(r Ref) *Node {
	f := c.Frameworks[r.Framework]
	if f == nil {
		return nil
	}
	return f.Node(r.ID)
}

// CheckBaseline reports mapped checks of policy that are not among known
// (the check ids of the loaded baseline policy).
func (c *Catalog) CheckBaseline(policy string, known map[int]bool) error {
	p := &problems{}
	for _, m := range c.Mappings {
		for _, ch := range m.Checks {
			if ch.Policy == policy && !known[ch.ID] {
				p.addf("mapping %s: baseline check %s/%d does not exist", m.Source, policy, ch.ID)
			}
		}
	}
	return p.err("baseline mappings")
}

// MappingFor returns the mapping whose source is r, or nil.
func (c *Catalog) MappingFor(r Ref) *Mapping {
	for i := range c.Mappings {
		if c.Mappings[i].Source == r {
			return &c.Mappings[i]
		}
	}
	return nil
}

// MappedFrom returns the sources of every mapping that lists target,
// sorted by framework and id.
func (c *Catalog) MappedFrom(target Ref) []Ref {
	var out []Ref
	for _, m := range c.Mappings {
		if slices.Contains(m.Targets, target) {
			out = append(out, m.Source)
		}
	}
	slices.SortFunc(out, func(a, b Ref) int { return compareStrings(a.String(), b.String()) })
	return out
}

// CheckStatus is the state of one baseline check on one target, as the
// baseline engine reports it.
type CheckStatus string

// Baseline check states.
const (
	CheckPassed        CheckStatus = "passed"
	CheckFailed        CheckStatus = "failed"
	CheckNotApplicable CheckStatus = "not applicable"
)

// Suggestion is a pre-filled result for an assessment item, derived from
// baseline evidence; the assessor confirms or changes it.
type Suggestion struct {
	Item     Ref             `json:"item"`
	Result   Result          `json:"result,omitempty"` // empty: no evidence yet
	Passed   []BaselineCheck `json:"passed,omitempty"`
	Failed   []BaselineCheck `json:"failed,omitempty"`
	Missing  []BaselineCheck `json:"missing,omitempty"` // mapped but not in the results
	Evidence string          `json:"evidence"`          // a one-line summary
}

// Prefill suggests results for every mapped item of framework from baseline
// check results (keyed by check): all mapped checks passed gives 符合, some
// failed gives 部分符合, all failed gives 不符合, none known gives no
// result ("no evidence yet"). Not-applicable checks are ignored.
func (c *Catalog) Prefill(framework string, results map[BaselineCheck]CheckStatus) []Suggestion {
	var out []Suggestion
	for _, m := range c.Mappings {
		if m.Source.Framework != framework || len(m.Checks) == 0 {
			continue
		}
		s := Suggestion{Item: m.Source}
		for _, ch := range m.Checks {
			switch st, ok := results[ch]; {
			case !ok:
				s.Missing = append(s.Missing, ch)
			case st == CheckPassed:
				s.Passed = append(s.Passed, ch)
			case st == CheckFailed:
				s.Failed = append(s.Failed, ch)
			}
		}
		switch {
		case len(s.Passed) == 0 && len(s.Failed) == 0:
			s.Evidence = "no evidence yet"
		case len(s.Failed) == 0:
			s.Result = Conform
		case len(s.Passed) == 0:
			s.Result = NotConform
		default:
			s.Result = PartlyConform
		}
		if s.Evidence == "" {
			s.Evidence = fmt.Sprintf("baseline: %d passed, %d failed, %d without result", len(s.Passed), len(s.Failed), len(s.Missing))
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Suggestion) int { return compareStrings(a.Item.ID, b.Item.ID) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
