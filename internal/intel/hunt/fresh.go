package hunt

import (
	"github.com/vigil-sec/vigil/internal/intel"
)

// Fresh returns the indicators of next that prev does not hold, compared by
// type and normalised value (the rule ID), in next's order: what a feed
// refresh added, to retro-hunt on its own.
func Fresh(prev, next []intel.Indicator) []intel.Indicator {
	known := make(map[string]bool, len(prev))
	for _, in := range prev {
		known[key(in)] = true
	}
	var out []intel.Indicator
	for _, in := range next {
		k := key(in)
		if !known[k] {
			known[k] = true
			out = append(out, in)
		}
	}
	return out
}

func key(in intel.Indicator) string {
	if in.Type == intel.TypeSTIXPattern {
		return RuleID(in.Type, in.Value)
	}
	if v, err := intel.Normalize(in.Type, in.Value); err == nil {
		return RuleID(in.Type, v)
	}
	return RuleID(in.Type, in.Value)
}

// MatcherFor builds a matcher of the given indicators; those the matcher
// refuses are counted in skipped and left out.
func MatcherFor(ins []intel.Indicator, opts intel.MatcherOptions) (m *intel.Matcher, skipped int) {
	m = intel.NewMatcher(opts)
	for _, in := range ins {
		if err := m.Add(in); err != nil {
			skipped++
		}
	}
	return m, skipped
}
