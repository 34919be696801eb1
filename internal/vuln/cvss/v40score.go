package cvss

import (
	"math"
	"strings"
)

// CVSS v4.0 scoring (specification, "CVSS v4.0 Scoring"): a vector's metrics, with
// Threat and Environmental values folded in, fall into one MacroVector of
// six equivalence classes (EQ1..EQ6). The MacroVector's table score is the
// score of its highest-severity vector; the vector's own score is that
// minus the mean, over the EQs that have a lower MacroVector, of the score
// gap to that lower MacroVector scaled by how far (in severity steps) the
// vector sits from the highest-severity vector of its class. The result is
// the CVSS-BTE score when Threat and Environmental metrics are given, and
// CVSS-B or CVSS-BT when they are absent, since absent metrics take their
// worst-case or base values.

// ScoreV40 validates a CVSS v4.0 vector with ParseV40 and returns its score
// and qualitative rating (the package's Severity values: "none", "low",
// "medium", "high", "critical").
func ScoreV40(vector string) (score float64, severity string, err error) {
	v, err := ParseV40(vector)
	if err != nil {
		return 0, "", err
	}
	s := v.Score()
	return s, string(Rating(s)), nil
}

// effective returns the value a metric takes for scoring: a modified
// (M-prefixed) environmental value overrides the base value unless it is
// Not Defined; Exploit Maturity defaults to Attacked and the security
// requirements default to High, the worst cases.
func (v V40) effective(name string) byte {
	switch name {
	case "E":
		if c := v.Metric("E"); c != 'X' {
			return c
		}
		return 'A'
	case "CR", "IR", "AR":
		if c := v.Metric(name); c != 'X' {
			return c
		}
		return 'H'
	}
	if c := v.Metric("M" + name); c != 'X' {
		return c
	}
	return v.Metric(name)
}

// MacroVector returns the vector's six equivalence-class levels, EQ1..EQ6
// in order, per the specification's equivalence-class definitions.
func (v V40) MacroVector() [6]int {
	m := v.effective
	var eq [6]int

	// EQ1: 0 AV:N and PR:N and UI:N; 1 any one of them N but not all, and
	// AV not P; 2 otherwise (AV:P, or none of the three N).
	switch {
	case m("AV") == 'N' && m("PR") == 'N' && m("UI") == 'N':
		eq[0] = 0
	case (m("AV") == 'N' || m("PR") == 'N' || m("UI") == 'N') && m("AV") != 'P':
		eq[0] = 1
	default:
		eq[0] = 2
	}

	// EQ2: 0 AC:L and AT:N; 1 otherwise.
	if !(m("AC") == 'L' && m("AT") == 'N') {
		eq[1] = 1
	}

	// EQ3: 0 VC:H and VI:H; 1 any of VC, VI, VA H; 2 none H.
	switch {
	case m("VC") == 'H' && m("VI") == 'H':
		eq[2] = 0
	case m("VC") == 'H' || m("VI") == 'H' || m("VA") == 'H':
		eq[2] = 1
	default:
		eq[2] = 2
	}

	// EQ4: 0 MSI:S or MSA:S; 1 any of SC, SI, SA H; 2 otherwise.
	switch {
	case m("SI") == 'S' || m("SA") == 'S':
		eq[3] = 0
	case m("SC") == 'H' || m("SI") == 'H' || m("SA") == 'H':
		eq[3] = 1
	default:
		eq[3] = 2
	}

	// EQ5: E:A 0, E:P 1, E:U 2.
	switch m("E") {
	case 'P':
		eq[4] = 1
	case 'U':
		eq[4] = 2
	}

	// EQ6: 0 when a High requirement meets a High impact on the same
	// property; 1 otherwise.
	if !((m("CR") == 'H' && m("VC") == 'H') || (m("IR") == 'H' && m("VI") == 'H') || (m("AR") == 'H' && m("VA") == 'H')) {
		eq[5] = 1
	}
	return eq
}

// macroKey writes a MacroVector as the table's six-digit key; a level
// outside 0..9 gives a key the table does not hold.
func macroKey(eq [6]int) string {
	const digits = "0123456789"
	var b [6]byte
	for i, d := range eq {
		if d < 0 || d >= len(digits) {
			return ""
		}
		b[i] = digits[d]
	}
	return string(b[:])
}

// lookupMacro returns the table score of a MacroVector and whether it
// exists; levels past the last one have no entry.
func lookupMacro(eq [6]int) (float64, bool) {
	s, ok := v40MacroScores[macroKey(eq)]
	return s, ok
}

// v40DistanceMetrics are the metrics whose severity distance from the
// highest-severity vector is measured, in the reference calculator's order.
var v40DistanceMetrics = [...]string{"AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR"}

// Score returns the vector's CVSS v4.0 score (the specification's
// MacroVector lookup, then interpolation by severity distance), rounded
// half up to one decimal.
func (v V40) Score() float64 {
	m := v.effective
	noImpact := true
	for _, name := range []string{"VC", "VI", "VA", "SC", "SI", "SA"} {
		if m(name) != 'N' {
			noImpact = false
			break
		}
	}
	if noImpact {
		return 0
	}

	eq := v.MacroVector()
	value, ok := lookupMacro(eq)
	if !ok {
		// Every reachable MacroVector is in the table; this guards a
		// transcription error rather than any input.
		return 0
	}

	// a. The score of the next lower MacroVector per EQ, when there is one.
	lower := func(i int) (float64, bool) {
		next := eq
		next[i]++
		return lookupMacro(next)
	}
	lowEQ1, okEQ1 := lower(0)
	lowEQ2, okEQ2 := lower(1)
	var lowEQ36 float64
	var okEQ36 bool
	switch {
	case eq[2] == 0 && eq[5] == 0:
		// Two lower neighbours (EQ6 0→1 and EQ3 0→1): take the higher.
		left, right := eq, eq
		left[5]++
		right[2]++
		l, lok := lookupMacro(left)
		r, rok := lookupMacro(right)
		switch {
		case lok && (!rok || l > r):
			lowEQ36, okEQ36 = l, true
		default:
			lowEQ36, okEQ36 = r, rok
		}
	case eq[2] == 1 && eq[5] == 0:
		lowEQ36, okEQ36 = lower(5)
	case eq[5] == 1:
		lowEQ36, okEQ36 = lower(2)
	}
	lowEQ4, okEQ4 := lower(3)
	lowEQ5, okEQ5 := lower(4)

	// b. Severity distance from the first highest-severity vector of the
	// MacroVector that the vector does not exceed in any metric.
	dist := v.severityDistances(eq)

	const step = 0.1
	type part struct {
		ok       bool
		lower    float64
		distance float64
		depth    int
	}
	parts := []part{
		{okEQ1, lowEQ1, dist["AV"] + dist["PR"] + dist["UI"], v40DepthEQ1[eq[0]]},
		{okEQ2, lowEQ2, dist["AC"] + dist["AT"], v40DepthEQ2[eq[1]]},
		{okEQ36, lowEQ36, dist["VC"] + dist["VI"] + dist["VA"] + dist["CR"] + dist["IR"] + dist["AR"], v40DepthEQ36[eq[2]][eq[5]]},
		{okEQ4, lowEQ4, dist["SC"] + dist["SI"] + dist["SA"], v40DepthEQ4[eq[3]]},
	}
	// c, d. Each available gap scaled by the proportion of the depth.
	var sum float64
	n := 0
	for _, p := range parts {
		if !p.ok {
			continue
		}
		n++
		sum += (value - p.lower) * (p.distance / (float64(p.depth) * step))
	}
	// EQ5 has no depth inside a MacroVector: it counts, with distance 0.
	if okEQ5 {
		n++
		sum += (value - lowEQ5) * 0
	}

	// 2, 3. Subtract the mean proportional distance.
	if n > 0 {
		value -= sum / float64(n)
	}
	return roundV40(math.Min(math.Max(value, 0), 10))
}

// severityDistances returns, per metric, the severity distance of the
// vector from the first highest-severity vector of its MacroVector (in the
// specification's composition order) that it does not exceed anywhere.
// When none qualifies the last one tried is used, as the reference
// calculator does.
func (v V40) severityDistances(eq [6]int) map[string]float64 {
	own := make(map[string]float64, len(v40DistanceMetrics))
	for _, name := range v40DistanceMetrics {
		own[name] = v40Levels[name][v.effective(name)]
	}
	dist := make(map[string]float64, len(v40DistanceMetrics))
	for _, e1 := range v40MaxEQ1[eq[0]] {
		for _, e2 := range v40MaxEQ2[eq[1]] {
			for _, e36 := range v40MaxEQ36[eq[2]][eq[5]] {
				for _, e4 := range v40MaxEQ4[eq[3]] {
					top := parseFragments(e1, e2, e36, e4)
					negative := false
					for _, name := range v40DistanceMetrics {
						d := own[name] - v40Levels[name][top[name]]
						dist[name] = d
						if d < 0 {
							negative = true
						}
					}
					if !negative {
						return dist
					}
				}
			}
		}
	}
	return dist
}

// parseFragments reads "NAME:V/NAME:V" fragments into a metric map.
func parseFragments(frags ...string) map[string]byte {
	out := make(map[string]byte, 16)
	for _, f := range frags {
		for _, part := range strings.Split(f, "/") {
			if name, val, ok := strings.Cut(part, ":"); ok && len(val) == 1 {
				out[name] = val[0]
			}
		}
	}
	return out
}

// roundV40 rounds half up to one decimal with the reference calculator's
// 1e-6 tolerance for binary floating-point error.
func roundV40(x float64) float64 {
	return math.Floor((x+1e-6)*10+0.5) / 10
}
