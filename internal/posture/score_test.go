package posture

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docExample reads the key=value pairs of an HTML comment in docs/posture.md.
func docExample(t *testing.T, marker string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../docs/posture.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<!-- ` + marker + `: ([^>]*) -->`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("docs/posture.md has no %s comment", marker)
	}
	out := map[string]string{}
	for _, kv := range strings.Fields(string(m[1])) {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func atoi(t *testing.T, m map[string]string, k string) int {
	t.Helper()
	n, err := strconv.Atoi(m[k])
	if err != nil {
		t.Fatalf("%s=%q: %v", k, m[k], err)
	}
	return n
}

// TestWorkedExample recomputes the worked example of docs/posture.md.
func TestWorkedExample(t *testing.T) {
	in := docExample(t, "worked-example")
	m := Measures{KEVOpen: atoi(t, in, "kev_open"), CriticalOpen: atoi(t, in, "critical_open"), HighOpen: atoi(t, in, "high_open"),
		Overdue: atoi(t, in, "overdue"), CriticalAlerts: atoi(t, in, "critical_alerts"), HighAlerts: atoi(t, in, "high_alerts"),
		MediumAlerts: atoi(t, in, "medium_alerts"), UnknownAssets: atoi(t, in, "unknown_assets"),
		ZombieAssets: atoi(t, in, "zombie_assets"), RiskyServices: atoi(t, in, "risky_services"),
		SilentSources: atoi(t, in, "silent_sources"), BreachedCases: atoi(t, in, "sla_breached_cases")}
	want := docExample(t, "worked-example-result")
	got := Compute(m)
	if got.Value != atoi(t, want, "score") || got.Grade != want["grade"] {
		t.Errorf("score %d %s, the doc says %s %s", got.Value, got.Grade, want["score"], want["grade"])
	}
	for _, c := range got.Components {
		if c.Penalty != atoi(t, want, c.Key) {
			t.Errorf("%s penalty %d, the doc says %s", c.Key, c.Penalty, want[c.Key])
		}
	}
	if got.Components[4].Measured {
		t.Error("incidents measured without an incident service")
	}
}

func TestScoreBounds(t *testing.T) {
	if s := Compute(Measures{BreachedCases: -1}); s.Value != 100 || s.Grade != "good" {
		t.Errorf("clean tenant: %+v", s)
	}
	worst := Compute(Measures{KEVOpen: 1000, CriticalAlerts: 1000, UnknownAssets: 1000, SilentSources: 1000, BreachedCases: 1000})
	if worst.Value != 0 || worst.Grade != "critical" {
		t.Errorf("worst tenant: %d %s", worst.Value, worst.Grade)
	}
	sum := 0
	for _, c := range worst.Components {
		sum += c.Cap
	}
	if sum != 100 {
		t.Errorf("caps add up to %d, want 100 so the worst score is exactly 0", sum)
	}
	for v, want := range map[int]string{100: "good", 90: "good", 89: "fair", 75: "fair", 74: "poor", 50: "poor", 49: "critical", 0: "critical"} {
		if g := GradeOf(v); g != want {
			t.Errorf("GradeOf(%d) = %s, want %s", v, g, want)
		}
	}
	if s := Compute(Measures{HighOpen: -5, BreachedCases: -1}); s.Value != 100 {
		t.Errorf("negative counts cost points: %d", s.Value)
	}
}
