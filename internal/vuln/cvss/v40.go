package cvss

// PrefixV40 starts every CVSS v4.0 vector.
const PrefixV40 = "CVSS:4.0"

// v40Metrics lists the v4.0 metrics in the specification's vector order:
// base, threat, environmental, supplemental.
var v40Metrics = []metricDef{
	{"AV", "NALP", true}, {"AC", "LH", true}, {"AT", "NP", true}, {"PR", "NLH", true}, {"UI", "NPA", true},
	{"VC", "HLN", true}, {"VI", "HLN", true}, {"VA", "HLN", true},
	{"SC", "HLN", true}, {"SI", "HLN", true}, {"SA", "HLN", true},
	{"E", "XAPU", false},
	{"CR", "XHML", false}, {"IR", "XHML", false}, {"AR", "XHML", false},
	{"MAV", "XNALP", false}, {"MAC", "XLH", false}, {"MAT", "XNP", false}, {"MPR", "XNLH", false}, {"MUI", "XNPA", false},
	{"MVC", "XHLN", false}, {"MVI", "XHLN", false}, {"MVA", "XHLN", false},
	{"MSC", "XHLN", false}, {"MSI", "XSHLN", false}, {"MSA", "XSHLN", false},
	{"S", "XNP", false}, {"AU", "XNY", false}, {"R", "XAUI", false},
	{"V", "XDC", false}, {"RE", "XLMH", false}, {"U", "X", false},
}

// V40 is a validated CVSS v4.0 vector.
type V40 struct {
	raw     string
	metrics map[string]byte
}

// ParseV40 validates a CVSS v4.0 vector strictly: prefix "CVSS:4.0/", all
// eleven base metrics, no unknown or repeated metrics, specification order.
// The supplemental Provider Urgency metric (U) takes words (Clear, Green,
// Amber, Red) and is validated separately.
func ParseV40(raw string) (V40, error) {
	m, err := parseVector(normaliseUrgency(raw), PrefixV40, v40Metrics)
	if err != nil {
		return V40{}, err
	}
	return V40{raw: raw, metrics: m}, nil
}

// normaliseUrgency replaces a valid "U:<word>" component with "U:X" so the
// single-letter grammar can check its position; an invalid word is left as
// is and rejected by the grammar.
func normaliseUrgency(raw string) string {
	for _, w := range []string{"Clear", "Green", "Amber", "Red"} {
		suffix := "/U:" + w
		if len(raw) > len(suffix) && raw[len(raw)-len(suffix):] == suffix {
			return raw[:len(raw)-len(suffix)] + "/U:X"
		}
	}
	return raw
}

// String returns the vector as parsed.
func (v V40) String() string { return v.raw }

// Metric returns a metric's value letter, 'X' when the vector omits it.
func (v V40) Metric(name string) byte {
	if c, ok := v.metrics[name]; ok {
		return c
	}
	return 'X'
}
