package enrich

import (
	"fmt"
	"math"
	"strings"
)

// DefaultImportance is the asset importance used when none is known.
const DefaultImportance = 3

// Factors are the inputs of Priority.
type Factors struct {
	// CVSS is the CVSS base score, 0..10; nil when unknown.
	CVSS *float64
	// KEV is the finding's KEV entry; nil when none of its CVEs is listed.
	KEV *KEVEntry
	// EPSS is the finding's EPSS score; nil when none of its CVEs is scored.
	EPSS *EPSSScore
	// Importance is the asset's business importance, 1 (least) to 5
	// (most); 0 means DefaultImportance, other values are clamped.
	Importance int
	// InternetFacing is set for assets reachable from the internet.
	InternetFacing bool
}

// Priority scores a finding from 0 to 100 (higher is more urgent) and
// explains the score in one line, e.g.
// "KEV (ransomware), EPSS 0.94 (99th pct), CVSS 9.8, internet-facing, importance 5".
//
// The score is the sum of five capped parts, so each factor's weight is
// visible and no single factor can hide another:
//
//	CVSS            3.5 × base score      0..35  (0 when unknown)
//	KEV             20 if listed, +5 more if used by ransomware   0..25
//	EPSS            20 × probability      0..20  (0 when unscored)
//	exposure        10 if internet-facing 0..10
//	importance      2 × importance (1..5) 2..10
//
// rounded to one decimal. Being in KEV (known exploitation) outweighs a
// high EPSS probability (predicted exploitation), which outweighs nothing;
// CVSS still separates findings of equal threat context. The percentile is
// shown in the explanation but not scored, since it only ranks the
// probability among all CVEs.
func Priority(f Factors) (score float64, reason string) {
	var parts []string
	if f.KEV != nil {
		score += 20
		if f.KEV.Ransomware {
			score += 5
			parts = append(parts, "KEV (ransomware)")
		} else {
			parts = append(parts, "KEV")
		}
	}
	if f.EPSS != nil {
		p := clamp(f.EPSS.Probability, 0, 1)
		score += 20 * p
		parts = append(parts, fmt.Sprintf("EPSS %s (%s pct)", formatProbability(p), ordinal(int(math.Floor(clamp(f.EPSS.Percentile, 0, 1)*100)))))
	}
	if f.CVSS != nil && !math.IsNaN(*f.CVSS) {
		c := clamp(*f.CVSS, 0, 10)
		score += 3.5 * c
		parts = append(parts, fmt.Sprintf("CVSS %.1f", c))
	} else {
		parts = append(parts, "no CVSS")
	}
	if f.InternetFacing {
		score += 10
		parts = append(parts, "internet-facing")
	}
	imp := f.Importance
	if imp == 0 {
		imp = DefaultImportance
	}
	imp = int(clamp(float64(imp), 1, 5))
	score += 2 * float64(imp)
	parts = append(parts, fmt.Sprintf("importance %d", imp))
	return math.Round(score*10) / 10, strings.Join(parts, ", ")
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Max(lo, math.Min(hi, v))
}

// formatProbability prints two decimals, or "<0.01" for tiny values, so
// the explanation never rounds a small probability to a misleading 0.00.
func formatProbability(p float64) string {
	if p > 0 && p < 0.005 {
		return "<0.01"
	}
	return fmt.Sprintf("%.2f", p)
}

// ordinal renders n as "1st", "2nd", "3rd", "4th", "11th", "99th".
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
