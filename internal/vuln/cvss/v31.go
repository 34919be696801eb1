package cvss

import (
	"math"
)

// PrefixV31 starts every CVSS v3.1 vector.
const PrefixV31 = "CVSS:3.1"

// PrefixV30 starts every CVSS v3.0 vector. v3.0 shares v3.1's grammar and
// base formulas; it differs in Roundup and in the environmental impact
// formula for a changed scope.
const PrefixV30 = "CVSS:3.0"

// v31Metrics is Table 15 of the v3.1 specification, in its order.
var v31Metrics = []metricDef{
	{"AV", "NALP", true}, {"AC", "LH", true}, {"PR", "NLH", true}, {"UI", "NR", true},
	{"S", "UC", true}, {"C", "HLN", true}, {"I", "HLN", true}, {"A", "HLN", true},
	{"E", "XUPFH", false}, {"RL", "XOTWU", false}, {"RC", "XURC", false},
	{"CR", "XLMH", false}, {"IR", "XLMH", false}, {"AR", "XLMH", false},
	{"MAV", "XNALP", false}, {"MAC", "XLH", false}, {"MPR", "XNLH", false}, {"MUI", "XNR", false},
	{"MS", "XUC", false}, {"MC", "XNLH", false}, {"MI", "XNLH", false}, {"MA", "XNLH", false},
}

// V31 is a parsed CVSS v3.1 vector. Metrics absent from the vector hold 'X'
// (Not Defined).
type V31 struct {
	v30     bool
	raw     string
	metrics map[string]byte
}

// ParseV31 parses a CVSS v3.1 vector strictly: prefix "CVSS:3.1/", the
// eight base metrics present, no unknown or repeated metrics, and metrics
// in the specification's order.
func ParseV31(raw string) (V31, error) {
	m, err := parseVector(raw, PrefixV31, v31Metrics)
	if err != nil {
		return V31{}, err
	}
	return V31{raw: raw, metrics: m}, nil
}

// ParseV30 parses a CVSS v3.0 vector with the same strictness as ParseV31;
// the result scores with the v3.0 formulas.
func ParseV30(raw string) (V31, error) {
	m, err := parseVector(raw, PrefixV30, v31Metrics)
	if err != nil {
		return V31{}, err
	}
	return V31{v30: true, raw: raw, metrics: m}, nil
}

// String returns the vector as parsed.
func (v V31) String() string { return v.raw }

// Metric returns a metric's value letter, 'X' when the vector omits it.
func (v V31) Metric(name string) byte {
	if c, ok := v.metrics[name]; ok {
		return c
	}
	return 'X'
}

// modified returns the modified metric's value, falling back to the base
// metric when the modified one is Not Defined.
func (v V31) modified(name string) byte {
	if c := v.Metric("M" + name); c != 'X' {
		return c
	}
	return v.Metric(name)
}

func av31(c byte) float64 {
	switch c {
	case 'N':
		return 0.85
	case 'A':
		return 0.62
	case 'L':
		return 0.55
	default: // P
		return 0.2
	}
}

func ac31(c byte) float64 {
	if c == 'L' {
		return 0.77
	}
	return 0.44
}

func pr31(c byte, changed bool) float64 {
	switch c {
	case 'N':
		return 0.85
	case 'L':
		if changed {
			return 0.68
		}
		return 0.62
	default: // H
		if changed {
			return 0.5
		}
		return 0.27
	}
}

func ui31(c byte) float64 {
	if c == 'N' {
		return 0.85
	}
	return 0.62
}

func cia31(c byte) float64 {
	switch c {
	case 'H':
		return 0.56
	case 'L':
		return 0.22
	default:
		return 0
	}
}

func req31(c byte) float64 {
	switch c {
	case 'H':
		return 1.5
	case 'L':
		return 0.5
	default: // M, X
		return 1
	}
}

func e31(c byte) float64 {
	switch c {
	case 'F':
		return 0.97
	case 'P':
		return 0.94
	case 'U':
		return 0.91
	default:
		return 1
	}
}

func rl31(c byte) float64 {
	switch c {
	case 'W':
		return 0.97
	case 'T':
		return 0.96
	case 'O':
		return 0.95
	default:
		return 1
	}
}

func rc31(c byte) float64 {
	switch c {
	case 'R':
		return 0.96
	case 'U':
		return 0.92
	default:
		return 1
	}
}

// roundup is the v3.1 Roundup function (Appendix A): the smallest number,
// to one decimal place, equal to or higher than its input, computed on
// integers to avoid floating-point artefacts.
func roundup(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

// round rounds up to one decimal with the version's Roundup.
func (v V31) round(x float64) float64 {
	if v.v30 {
		return math.Ceil(x*10) / 10
	}
	return roundup(x)
}

// BaseScore computes the v3.1 base score.
func (v V31) BaseScore() float64 {
	changed := v.Metric("S") == 'C'
	iss := 1 - (1-cia31(v.Metric("C")))*(1-cia31(v.Metric("I")))*(1-cia31(v.Metric("A")))
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	expl := 8.22 * av31(v.Metric("AV")) * ac31(v.Metric("AC")) * pr31(v.Metric("PR"), changed) * ui31(v.Metric("UI"))
	if impact <= 0 {
		return 0
	}
	if changed {
		return v.round(math.Min(1.08*(impact+expl), 10))
	}
	return v.round(math.Min(impact+expl, 10))
}

func (v V31) temporalFactor() float64 {
	return e31(v.Metric("E")) * rl31(v.Metric("RL")) * rc31(v.Metric("RC"))
}

// TemporalScore computes the v3.1 temporal score (equal to the base score
// when no temporal metric is defined).
func (v V31) TemporalScore() float64 {
	return v.round(v.BaseScore() * v.temporalFactor())
}

// EnvironmentalScore computes the v3.1 environmental score (equal to the
// temporal score when no environmental metric is defined).
func (v V31) EnvironmentalScore() float64 {
	changed := v.modified("S") == 'C'
	miss := math.Min(1-
		(1-req31(v.Metric("CR"))*cia31(v.modified("C")))*
			(1-req31(v.Metric("IR"))*cia31(v.modified("I")))*
			(1-req31(v.Metric("AR"))*cia31(v.modified("A"))), 0.915)
	var impact float64
	switch {
	case changed && v.v30:
		impact = 7.52*(miss-0.029) - 3.25*math.Pow(miss-0.02, 15)
	case changed:
		impact = 7.52*(miss-0.029) - 3.25*math.Pow(miss*0.9731-0.02, 13)
	default:
		impact = 6.42 * miss
	}
	expl := 8.22 * av31(v.modified("AV")) * ac31(v.modified("AC")) * pr31(v.modified("PR"), changed) * ui31(v.modified("UI"))
	if impact <= 0 {
		return 0
	}
	if changed {
		return v.round(v.round(math.Min(1.08*(impact+expl), 10)) * v.temporalFactor())
	}
	return v.round(v.round(math.Min(impact+expl, 10)) * v.temporalFactor())
}
