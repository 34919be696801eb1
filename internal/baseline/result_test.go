package baseline

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func rep(results ...string) *Report {
	r := &Report{}
	for i := 0; i+1 < len(results); i += 2 {
		r.Checks = append(r.Checks, CheckResult{ID: results[i], Title: "check " + results[i], Result: Result(results[i+1]),
			Remediation: "fix " + results[i]})
	}
	return r
}

// A hardening round worked by hand: 1 fixed, 2 still failing, 3 regressed,
// 4 still passing, 5 failed -> not-applicable (changed, not fixed),
// 6 removed, 7 added, 8 error -> passed (fixed).
func TestDiff(t *testing.T) {
	before := rep("1", "failed", "2", "failed", "3", "passed", "4", "passed", "5", "failed", "6", "failed", "8", "error")
	after := rep("1", "passed", "2", "failed", "3", "failed", "4", "passed", "5", "not-applicable", "7", "failed", "8", "passed")
	d := Diff(before, after)
	ids := func(cs []CheckChange) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	got := map[string][]string{
		"fixed": ids(d.NewlyPassing), "regressed": ids(d.NewlyFailing), "still": ids(d.StillFailing),
		"changed": ids(d.Changed), "added": ids(d.Added), "removed": ids(d.Removed),
	}
	want := map[string][]string{
		"fixed": {"1", "8"}, "regressed": {"3"}, "still": {"2"},
		"changed": {"5"}, "added": {"7"}, "removed": {"6"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if d.StillPassing != 1 {
		t.Errorf("still passing %d, want 1", d.StillPassing)
	}
	if d.Before != (Tally{Passed: 2, Failed: 4, Errors: 1}) || d.After != (Tally{Passed: 3, Failed: 3, NotApplicable: 1}) {
		t.Errorf("tallies %+v %+v", d.Before, d.After)
	}
	if d.NewlyPassing[1].Before != resultError || d.Changed[0].After != NotApplicable {
		t.Errorf("changes keep both results: %+v %+v", d.NewlyPassing[1], d.Changed[0])
	}
	// Against nothing, everything is new; against itself nothing changes.
	if d := Diff(nil, after); len(d.Added) != len(after.Checks) {
		t.Errorf("diff from nil: %+v", d)
	}
	if d := Diff(after, nil); len(d.Removed) != len(after.Checks) {
		t.Errorf("diff to nil: %+v", d)
	}
	if d := Diff(after, after); len(d.NewlyPassing)+len(d.NewlyFailing)+len(d.Changed)+len(d.Added)+len(d.Removed) != 0 {
		t.Errorf("self diff: %+v", d)
	}
}

func TestTallyScore(t *testing.T) {
	tl := TallyReport(rep("1", "passed", "2", "passed", "3", "failed", "4", "not-applicable", "5", "manual", "6", "error"))
	if tl != (Tally{Passed: 2, Failed: 1, NotApplicable: 1, Manual: 1, Errors: 1}) || tl.Checks() != 6 || tl.Decided() != 3 {
		t.Fatalf("tally %+v", tl)
	}
	// 2 of 3 decided checks pass; 3 of 5 applicable checks are decided.
	if s, ok := tl.Score(); !ok || math.Abs(s-200.0/3) > 1e-9 {
		t.Errorf("score %v %v", s, ok)
	}
	if c := tl.Coverage(); math.Abs(c-60) > 1e-9 {
		t.Errorf("coverage %v", c)
	}
	if _, ok := TallyReport(rep("1", "not-applicable")).Score(); ok {
		t.Error("nothing decided must have no score")
	}
	if TallyReport(nil).Checks() != 0 || (Tally{}).Coverage() != 0 {
		t.Error("empty tally")
	}
}

func TestScoresAndHistory(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	runs := []PolicyRun{
		// Asset a: a 10-check policy at 50 % and a 2-check policy at 100 %.
		{Asset: "a", PolicyID: "big", At: t0, Report: rep("1", "passed", "2", "passed", "3", "passed", "4", "passed", "5", "passed",
			"6", "failed", "7", "failed", "8", "failed", "9", "failed", "10", "failed")},
		{Asset: "a", PolicyID: "small", At: t0, Report: rep("1", "passed", "2", "passed")},
		// A later run of a/small supersedes the first.
		{Asset: "a", PolicyID: "small", At: t0.Add(48 * time.Hour), Report: rep("1", "passed", "2", "failed")},
		{Asset: "b", PolicyID: "small", At: t0.Add(24 * time.Hour), Report: rep("1", "not-applicable")},
	}
	sc := Scores(runs)
	if len(sc) != 2 || sc[0].Asset != "a" || len(sc[0].Policies) != 2 {
		t.Fatalf("scores %+v", sc)
	}
	// Weighted by decided checks: (5 + 1) / (10 + 2) = 50 %, not the mean
	// of 50 % and 50 %... and not (50 + 100) / 2 with the superseded run.
	if !sc[0].Scored || math.Abs(sc[0].Score-50) > 1e-9 {
		t.Errorf("asset a score %v", sc[0].Score)
	}
	if p := sc[0].Policies[1]; p.PolicyID != "small" || p.Score != 50 || !p.At.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("latest small run not used: %+v", p)
	}
	if sc[1].Scored {
		t.Errorf("asset b has nothing decided: %+v", sc[1])
	}
	hs := Histories(runs)
	if len(hs) != 3 || hs[1].PolicyID != "small" || len(hs[1].Points) != 2 {
		t.Fatalf("histories %+v", hs)
	}
	if p := hs[1].Points; p[0].Score != 100 || p[1].Score != 50 || !p[0].At.Before(p[1].At) {
		t.Errorf("history points %+v", p)
	}
}

func TestRemediationItems(t *testing.T) {
	p := &Policy{ID: "pol", Checks: []Check{
		{ID: "1", Title: "one", Remediation: "policy fix 1", Rationale: "why 1", Compliance: map[string][]string{"mlps": {"L3-CES1-01"}, "cis": {"5.1"}}},
		{ID: "2", Title: "two", Remediation: "policy fix 2"},
	}}
	r := rep("1", "failed", "2", "passed", "3", "failed")
	r.Checks[0].Remediation = ""
	items := RemediationItems(PolicyRun{Asset: "web01", PolicyID: "pol", PolicyTitle: "Policy", Report: r}, p, map[string]string{"1": "echo fix"})
	if len(items) != 2 {
		t.Fatalf("items %+v", items)
	}
	want := RemediationItem{Asset: "web01", PolicyID: "pol", PolicyTitle: "Policy", CheckID: "1", Title: "check 1",
		Remediation: "policy fix 1", Rationale: "why 1", Compliance: []string{"cis:5.1", "mlps:L3-CES1-01"}, Fix: "echo fix"}
	if diff := cmp.Diff(want, items[0]); diff != "" {
		t.Errorf("item (-want +got):\n%s", diff)
	}
	if items[1].CheckID != "3" || items[1].Remediation != "fix 3" || items[1].Fix != "" {
		t.Errorf("item without policy check: %+v", items[1])
	}
	if RemediationItems(PolicyRun{}, nil, nil) != nil {
		t.Error("run without report")
	}
}
