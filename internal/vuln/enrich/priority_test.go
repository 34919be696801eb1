package enrich

import (
	"math"
	"testing"
)

func ptr(f float64) *float64 { return &f }

func TestPriority(t *testing.T) {
	kev := &KEVEntry{CVE: "CVE-2021-44228"}
	kevRansom := &KEVEntry{CVE: "CVE-2021-44228", Ransomware: true}
	tests := []struct {
		name   string
		in     Factors
		score  float64
		reason string
	}{
		{
			name:   "everything at the top",
			in:     Factors{CVSS: ptr(9.8), KEV: kevRansom, EPSS: &EPSSScore{Probability: 0.94, Percentile: 0.9991}, Importance: 5, InternetFacing: true},
			score:  34.3 + 25 + 18.8 + 10 + 10,
			reason: "KEV (ransomware), EPSS 0.94 (99th pct), CVSS 9.8, internet-facing, importance 5",
		},
		{
			name:   "maximum is 100",
			in:     Factors{CVSS: ptr(10), KEV: kevRansom, EPSS: &EPSSScore{Probability: 1, Percentile: 1}, Importance: 5, InternetFacing: true},
			score:  100,
			reason: "KEV (ransomware), EPSS 1.00 (100th pct), CVSS 10.0, internet-facing, importance 5",
		},
		{
			name:   "KEV without ransomware",
			in:     Factors{CVSS: ptr(7.5), KEV: kev, Importance: 2},
			score:  26.25 + 20 + 4,
			reason: "KEV, CVSS 7.5, importance 2",
		},
		{
			name:   "nothing known uses default importance",
			in:     Factors{},
			score:  6,
			reason: "no CVSS, importance 3",
		},
		{
			name:   "tiny EPSS is not printed as zero",
			in:     Factors{CVSS: ptr(5.3), EPSS: &EPSSScore{Probability: 0.00042, Percentile: 0.0123}, Importance: 1},
			score:  math.Round((18.55+0.0084+2)*10) / 10,
			reason: "EPSS <0.01 (1st pct), CVSS 5.3, importance 1",
		},
		{
			name:   "percentile ordinals",
			in:     Factors{CVSS: ptr(0), EPSS: &EPSSScore{Probability: 0.2, Percentile: 0.125}, Importance: 4},
			score:  4 + 8,
			reason: "EPSS 0.20 (12th pct), CVSS 0.0, importance 4",
		},
		{
			name:   "22nd and 3rd",
			in:     Factors{EPSS: &EPSSScore{Probability: 0.01, Percentile: 0.229}, Importance: 3},
			score:  0.2 + 6,
			reason: "EPSS 0.01 (22nd pct), no CVSS, importance 3",
		},
		{
			name:   "out-of-range inputs are clamped",
			in:     Factors{CVSS: ptr(42), EPSS: &EPSSScore{Probability: 2, Percentile: -1}, Importance: 9},
			score:  35 + 20 + 10,
			reason: "EPSS 1.00 (0th pct), CVSS 10.0, importance 5",
		},
		{
			name:   "NaN CVSS counts as unknown",
			in:     Factors{CVSS: ptr(math.NaN()), Importance: -3},
			score:  2,
			reason: "no CVSS, importance 1",
		},
		{
			name:   "KEV with a low EPSS",
			in:     Factors{CVSS: ptr(8.8), KEV: kev, EPSS: &EPSSScore{Probability: 0.03, Percentile: 0.83}},
			score:  math.Round((30.8+20+0.6+6)*10) / 10,
			reason: "KEV, EPSS 0.03 (83rd pct), CVSS 8.8, importance 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score, reason := Priority(tt.in)
			want := math.Round(tt.score*10) / 10
			if score != want || reason != tt.reason {
				t.Fatalf("got %v %q\nwant %v %q", score, reason, want, tt.reason)
			}
			if score < 0 || score > 100 {
				t.Fatalf("score %v outside 0..100", score)
			}
		})
	}
}

func TestPriorityOrdering(t *testing.T) {
	// Same CVSS and asset: KEV > high EPSS > nothing.
	base := Factors{CVSS: ptr(7.5), Importance: 3}
	withKEV, withEPSS := base, base
	withKEV.KEV = &KEVEntry{}
	withEPSS.EPSS = &EPSSScore{Probability: 0.9, Percentile: 0.99}
	k, _ := Priority(withKEV)
	e, _ := Priority(withEPSS)
	n, _ := Priority(base)
	if k <= e || e <= n {
		t.Fatalf("KEV %v, EPSS %v, none %v: want KEV > EPSS > none", k, e, n)
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{0: "0th", 1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 99: "99th", 100: "100th", 101: "101st", 111: "111th"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
