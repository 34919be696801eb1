package baseline

import (
	"sort"
	"time"
)

// Tally counts the results of a set of checks.
//
// Scoring: the score is Passed / (Passed + Failed) as a percentage. Checks
// that are not applicable, could not be evaluated (error) or wait for an
// assessor (manual) are left out of the ratio rather than counted as
// failures, and are reported next to it: read a score together with its
// Coverage. A manual check that an assessor answered is a passed or failed
// result and counts like any other.
type Tally struct {
	Passed        int `json:"passed"`
	Failed        int `json:"failed"`
	NotApplicable int `json:"not_applicable"`
	Errors        int `json:"errors"`
	Manual        int `json:"manual"`
}

// TallyReport counts the results of a report's checks. A nil report has
// none.
func TallyReport(rep *Report) Tally {
	var t Tally
	if rep == nil {
		return t
	}
	for _, c := range rep.Checks {
		t.count(c.Result)
	}
	return t
}

func (t *Tally) count(r Result) {
	switch r {
	case Passed:
		t.Passed++
	case Failed:
		t.Failed++
	case Manual:
		t.Manual++
	case resultError:
		t.Errors++
	default:
		t.NotApplicable++
	}
}

// Add adds o's counts to t.
func (t *Tally) Add(o Tally) {
	t.Passed += o.Passed
	t.Failed += o.Failed
	t.NotApplicable += o.NotApplicable
	t.Errors += o.Errors
	t.Manual += o.Manual
}

// Checks is the number of checks counted.
func (t Tally) Checks() int { return t.Passed + t.Failed + t.NotApplicable + t.Errors + t.Manual }

// Decided is the number of checks that passed or failed.
func (t Tally) Decided() int { return t.Passed + t.Failed }

// Score returns the compliance percentage and whether any check was
// decided; with none decided there is no score (not 0 %, not 100 %).
func (t Tally) Score() (float64, bool) {
	if t.Decided() == 0 {
		return 0, false
	}
	return 100 * float64(t.Passed) / float64(t.Decided()), true
}

// Coverage is the share of applicable checks that were decided, as a
// percentage: 100 means no applicable check is left in error or waiting
// for an assessor. Without applicable checks it is 0.
func (t Tally) Coverage() float64 {
	applicable := t.Passed + t.Failed + t.Errors + t.Manual
	if applicable == 0 {
		return 0
	}
	return 100 * float64(t.Decided()) / float64(applicable)
}

// PolicyScore is the score of one policy run on one asset.
type PolicyScore struct {
	Asset       string    `json:"asset"`
	PolicyID    string    `json:"policy_id"`
	PolicyTitle string    `json:"policy_title,omitempty"`
	At          time.Time `json:"at"`
	Tally       Tally     `json:"tally"`
	Score       float64   `json:"score"`
	Scored      bool      `json:"scored"`
}

// AssetScore aggregates the policies run on one asset. Its score weights
// each policy by its decided checks: the sum of passed checks over the sum
// of decided checks, so a policy of 200 checks weighs more than one of 10.
type AssetScore struct {
	Asset    string        `json:"asset"`
	Policies []PolicyScore `json:"policies"`
	Tally    Tally         `json:"tally"`
	Score    float64       `json:"score"`
	Scored   bool          `json:"scored"`
}

// ScorePolicy scores one run.
func ScorePolicy(run PolicyRun) PolicyScore {
	ps := PolicyScore{Asset: run.Asset, PolicyID: run.PolicyID, PolicyTitle: run.PolicyTitle, At: run.At, Tally: TallyReport(run.Report)}
	ps.Score, ps.Scored = ps.Tally.Score()
	return ps
}

// Scores scores runs per policy and per asset. When an asset has several
// runs of one policy only the latest counts. Assets are sorted by name and
// policies by id.
func Scores(runs []PolicyRun) []AssetScore {
	latest := latestRuns(runs)
	by := map[string]*AssetScore{}
	var names []string
	for _, r := range latest {
		a := by[r.Asset]
		if a == nil {
			a = &AssetScore{Asset: r.Asset}
			by[r.Asset] = a
			names = append(names, r.Asset)
		}
		ps := ScorePolicy(r)
		a.Policies = append(a.Policies, ps)
		a.Tally.Add(ps.Tally)
	}
	sort.Strings(names)
	out := make([]AssetScore, 0, len(names))
	for _, n := range names {
		a := by[n]
		sort.Slice(a.Policies, func(i, j int) bool { return a.Policies[i].PolicyID < a.Policies[j].PolicyID })
		a.Score, a.Scored = a.Tally.Score()
		out = append(out, *a)
	}
	return out
}

type runKey struct{ asset, policy string }

// latestRuns keeps the latest run of each asset and policy, in input order.
func latestRuns(runs []PolicyRun) []PolicyRun {
	idx := map[runKey]int{}
	var out []PolicyRun
	for _, r := range runs {
		k := runKey{r.Asset, r.PolicyID}
		if i, ok := idx[k]; ok {
			if r.At.After(out[i].At) {
				out[i] = r
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	return out
}

// HistoryPoint is the score of one run in a history.
type HistoryPoint struct {
	At     time.Time `json:"at"`
	Tally  Tally     `json:"tally"`
	Score  float64   `json:"score"`
	Scored bool      `json:"scored"`
}

// History is the sequence of runs of one policy on one asset, oldest first:
// the progress of a hardening loop towards full compliance.
type History struct {
	Asset    string         `json:"asset"`
	PolicyID string         `json:"policy_id"`
	Points   []HistoryPoint `json:"points"`
}

// Histories groups runs by asset and policy and orders each group by time.
// Groups are sorted by asset, then policy.
func Histories(runs []PolicyRun) []History {
	by := map[runKey]*History{}
	var keys []runKey
	for _, r := range runs {
		k := runKey{r.Asset, r.PolicyID}
		h := by[k]
		if h == nil {
			h = &History{Asset: r.Asset, PolicyID: r.PolicyID}
			by[k] = h
			keys = append(keys, k)
		}
		ps := ScorePolicy(r)
		h.Points = append(h.Points, HistoryPoint{At: r.At, Tally: ps.Tally, Score: ps.Score, Scored: ps.Scored})
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].asset != keys[j].asset {
			return keys[i].asset < keys[j].asset
		}
		return keys[i].policy < keys[j].policy
	})
	out := make([]History, 0, len(keys))
	for _, k := range keys {
		h := by[k]
		sort.SliceStable(h.Points, func(i, j int) bool { return h.Points[i].At.Before(h.Points[j].At) })
		out = append(out, *h)
	}
	return out
}
