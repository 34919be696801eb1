package baseline

import (
	"sort"
	"strings"
	"time"
)

// resultError is the result of a check whose evidence could not be
// collected. Scores count it apart from passed and failed, like Manual (a
// check only a person can decide, without a recorded answer yet); an
// assessor's recorded answer to a manual check is a passed or failed result.
const resultError Result = "error"

// PolicyRun is one evaluation of one policy on one asset: the unit that is
// stored, scored, compared with an earlier run and reported.
type PolicyRun struct {
	Asset       string    `json:"asset"`
	PolicyID    string    `json:"policy_id"`
	PolicyTitle string    `json:"policy_title,omitempty"`
	At          time.Time `json:"at"`
	Report      *Report   `json:"report"`
}

// CheckChange is one check's result before and after, as listed by Diff.
// A side where the check was absent holds "".
type CheckChange struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Before Result `json:"before,omitempty"`
	After  Result `json:"after,omitempty"`
}

// ReportDiff compares two runs of one policy on one asset: the before and
// after of a hardening round.
type ReportDiff struct {
	// NewlyPassing were not passing before and pass now: fixed checks.
	NewlyPassing []CheckChange `json:"newly_passing,omitempty"`
	// NewlyFailing were not failing before and fail now: regressions.
	NewlyFailing []CheckChange `json:"newly_failing,omitempty"`
	// StillFailing failed in both runs: remediation still open.
	StillFailing []CheckChange `json:"still_failing,omitempty"`
	// Changed moved between other results (for example failed to
	// not-applicable or passed to error); such a move proves nothing fixed.
	Changed []CheckChange `json:"changed,omitempty"`
	// Added checks are only in the later run, Removed only in the earlier.
	Added   []CheckChange `json:"added,omitempty"`
	Removed []CheckChange `json:"removed,omitempty"`
	// StillPassing counts checks that passed in both runs.
	StillPassing int `json:"still_passing"`
	// Before and After are the tallies of the two runs.
	Before Tally `json:"before"`
	After  Tally `json:"after"`
}

// Diff compares an earlier report of a policy with a later one, check by
// check (by id). A nil report counts as a run without checks. Lists follow
// the order of the later report (Removed: of the earlier one).
func Diff(before, after *Report) ReportDiff {
	var d ReportDiff
	d.Before, d.After = TallyReport(before), TallyReport(after)
	old := map[string]CheckResult{}
	if before != nil {
		for _, c := range before.Checks {
			old[c.ID] = c
		}
	}
	seen := map[string]bool{}
	if after != nil {
		for _, c := range after.Checks {
			seen[c.ID] = true
			b, ok := old[c.ID]
			ch := CheckChange{ID: c.ID, Title: c.Title, After: c.Result}
			if !ok {
				d.Added = append(d.Added, ch)
				continue
			}
			ch.Before = b.Result
			switch {
			case b.Result == Passed && c.Result == Passed:
				d.StillPassing++
			case b.Result == Failed && c.Result == Failed:
				d.StillFailing = append(d.StillFailing, ch)
			case c.Result == Passed:
				d.NewlyPassing = append(d.NewlyPassing, ch)
			case c.Result == Failed:
				d.NewlyFailing = append(d.NewlyFailing, ch)
			case b.Result != c.Result:
				d.Changed = append(d.Changed, ch)
			}
		}
	}
	if before != nil {
		for _, c := range before.Checks {
			if !seen[c.ID] {
				d.Removed = append(d.Removed, CheckChange{ID: c.ID, Title: c.Title, Before: c.Result})
			}
		}
	}
	return d
}

// RemediationItem is one failed check turned into work for the operations
// staff who own the asset. A re-check that passes closes it.
type RemediationItem struct {
	Asset       string   `json:"asset"`
	PolicyID    string   `json:"policy_id"`
	PolicyTitle string   `json:"policy_title,omitempty"`
	CheckID     string   `json:"check_id"`
	Title       string   `json:"title"`
	Remediation string   `json:"remediation,omitempty"`
	Rationale   string   `json:"rationale,omitempty"`
	Compliance  []string `json:"compliance,omitempty"` // e.g. "mlps:L3-CES1-01"
	Evidence    []string `json:"evidence,omitempty"`
	// Fix is an optional hardening snippet from the policy. It is shown
	// for review and applied by people after approval; Vigil never runs it.
	Fix string `json:"fix,omitempty"`
}

// RemediationItems lists the failed checks of a run as remediation items.
// p, when given, supplies the rationale, compliance references and, for
// reports that lack it, the remediation text; fixes maps check ids to fix
// snippets (see policies.Fixes) and may be nil.
func RemediationItems(run PolicyRun, p *Policy, fixes map[string]string) []RemediationItem {
	if run.Report == nil {
		return nil
	}
	checks := map[string]*Check{}
	if p != nil {
		for i := range p.Checks {
			checks[p.Checks[i].ID] = &p.Checks[i]
		}
	}
	var out []RemediationItem
	for _, c := range run.Report.Checks {
		if c.Result != Failed {
			continue
		}
		it := RemediationItem{
			Asset: run.Asset, PolicyID: run.PolicyID, PolicyTitle: run.PolicyTitle,
			CheckID: c.ID, Title: c.Title, Remediation: c.Remediation,
			Evidence: c.Evidence, Fix: fixes[c.ID],
		}
		if pc := checks[c.ID]; pc != nil {
			if it.Remediation == "" {
				it.Remediation = pc.Remediation
			}
			it.Rationale = pc.Rationale
			it.Compliance = complianceRefs(pc.Compliance)
		}
		out = append(out, it)
	}
	return out
}

// complianceRefs flattens a compliance map into sorted "framework:id"
// strings.
func complianceRefs(m map[string][]string) []string {
	var out []string
	for fw, ids := range m {
		for _, id := range ids {
			out = append(out, fw+":"+id)
		}
	}
	sort.Strings(out)
	return out
}

// mlpsRefs returns the MLPS ids of a compliance map, sorted.
func mlpsRefs(m map[string][]string) string {
	ids := append([]string(nil), m["mlps"]...)
	sort.Strings(ids)
	return strings.Join(ids, " ")
}
