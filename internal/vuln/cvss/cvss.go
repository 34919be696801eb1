// Package cvss parses CVSS v3.1 and v4.0 vector strings strictly and
// computes CVSS v3.1 (and v3.0) base, temporal and environmental scores
// exactly as the FIRST specifications define them. CVSS v4.0 vectors are
// validated (prefix, metric names, values, order, mandatory metrics) by
// ParseV40 and scored by ScoreV40 (Base, Threat and Environmental together,
// through the MacroVector table of the FIRST reference calculator).
package cvss

import (
	"errors"
	"fmt"
	"strings"
)

// Severity is the qualitative rating of a score (FIRST's table: None 0.0,
// Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0). The same
// bands apply to v3.1 and v4.0.
type Severity string

// Severity ratings.
const (
	SeverityNone     Severity = "none"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rating maps a score to its qualitative severity rating.
func Rating(score float64) Severity {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	default:
		return SeverityNone
	}
}

// ErrInvalidVector is wrapped by every parse error.
var ErrInvalidVector = errors.New("invalid CVSS vector")

// metricDef is one metric of a version's vector grammar, in canonical order.
type metricDef struct {
	name      string
	values    string // allowed single-letter values
	mandatory bool
}

// parseVector splits raw into metric values following defs strictly: the
// prefix must match, every metric must be known and appear at most once and
// in the canonical order, and every mandatory metric must be present.
func parseVector(raw, prefix string, defs []metricDef) (map[string]byte, error) {
	if !strings.HasPrefix(raw, prefix+"/") {
		return nil, fmt.Errorf("%w: %q must start with %q", ErrInvalidVector, truncate(raw), prefix+"/")
	}
	index := make(map[string]int, len(defs))
	for i, d := range defs {
		index[d.name] = i
	}
	out := make(map[string]byte, len(defs))
	last := -1
	for i, part := range strings.Split(raw[len(prefix)+1:], "/") {
		name, value, ok := strings.Cut(part, ":")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("%w: component %d %q is not NAME:VALUE", ErrInvalidVector, i+1, truncate(part))
		}
		pos, known := index[name]
		if !known {
			return nil, fmt.Errorf("%w: unknown metric %q", ErrInvalidVector, truncate(name))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: duplicate metric %q", ErrInvalidVector, name)
		}
		if pos < last {
			return nil, fmt.Errorf("%w: metric %q is out of order (must come before %q)", ErrInvalidVector, name, defs[last].name)
		}
		d := defs[pos]
		if len(value) != 1 || !strings.Contains(d.values, value) {
			return nil, fmt.Errorf("%w: metric %s has invalid value %q (allowed: %s)", ErrInvalidVector, name, truncate(value), strings.Join(strings.Split(d.values, ""), ", "))
		}
		out[name] = value[0]
		last = pos
	}
	var missing []string
	for _, d := range defs {
		if _, ok := out[d.name]; d.mandatory && !ok {
			missing = append(missing, d.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing mandatory metric(s) %s", ErrInvalidVector, strings.Join(missing, ", "))
	}
	return out, nil
}

// truncate keeps error messages short when the input is hostile.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Parse parses a v3.0, v3.1 or v4.0 vector, choosing by prefix, and returns the
// vector's base score and rating. For v4.0 vectors, which are validated
// but not yet scored, ok is false.
func Parse(raw string) (score float64, sev Severity, ok bool, err error) {
	switch {
	case strings.HasPrefix(raw, PrefixV31):
		v, err := ParseV31(raw)
		if err != nil {
			return 0, "", false, err
		}
		s := v.BaseScore()
		return s, Rating(s), true, nil
	case strings.HasPrefix(raw, PrefixV30):
		v, err := ParseV30(raw)
		if err != nil {
			return 0, "", false, err
		}
		s := v.BaseScore()
		return s, Rating(s), true, nil
	case strings.HasPrefix(raw, PrefixV40):
		if _, err := ParseV40(raw); err != nil {
			return 0, "", false, err
		}
		return 0, "", false, nil
	default:
		return 0, "", false, fmt.Errorf("%w: %q has no supported prefix (%s, %s or %s)", ErrInvalidVector, truncate(raw), PrefixV30, PrefixV31, PrefixV40)
	}
}
