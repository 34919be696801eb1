package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/campaign"
)

// Task parameters read by the Baseline runner.
const (
	// ParamPolicy names the policy id to run (required).
	ParamPolicy = "policy"
	// ParamChecks limits the findings to these comma-separated check
	// ids: the checks the gate or campaign holds the system to.
	ParamChecks = "checks"
	// ParamSeverity is the severity of a failed check (default medium).
	ParamSeverity = "severity"
)

// maxEvidenceLines bounds the evidence copied from one failed check.
const maxEvidenceLines = 5

// BaselineOptions configure the Baseline runner.
type BaselineOptions struct {
	// Policies are the loaded policies, looked up by id.
	Policies []*baseline.Policy
	Logger   *slog.Logger
}

// Baseline runs a baseline policy with baseline.Evaluate on the target's
// filesystem root (Target.Root: a mounted or copied root, read through
// os.Root so paths cannot leave it). Command rules do not run. It is a
// thin adapter: the policy engine is package baseline.
type Baseline struct {
	policies map[string]*baseline.Policy
	log      *slog.Logger
}

// NewBaseline returns a Baseline runner.
func NewBaseline(opts BaselineOptions) *Baseline {
	b := &Baseline{policies: map[string]*baseline.Policy{}, log: opts.Logger}
	for _, p := range opts.Policies {
		b.policies[p.ID] = p
	}
	return b
}

// Run implements campaign.Runner. It errors (never passes) when the target
// has no root, the policy's requirements do not hold on it, a named check
// is missing, or no check could be decided.
func (b *Baseline) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	id := task.Params[ParamPolicy]
	p, ok := b.policies[id]
	if !ok {
		return campaign.Result{}, fmt.Errorf("baseline: unknown policy %q", id)
	}
	sev := campaign.Severity(task.Params[ParamSeverity])
	if sev == "" {
		sev = campaign.SeverityMedium
	}
	if !sev.Valid() {
		return campaign.Result{}, fmt.Errorf("baseline: severity %q is not a severity", sev)
	}
	if target.Root == "" {
		return campaign.Result{}, errors.New("baseline: target has no filesystem root")
	}
	root, err := os.OpenRoot(target.Root)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("baseline: %w", err)
	}
	defer func() { _ = root.Close() }()
	rep, err := baseline.Evaluate(ctx, p, baseline.Options{FS: root.FS(), Logger: b.log})
	if err != nil {
		return campaign.Result{}, fmt.Errorf("baseline: policy %s: %w", id, err)
	}
	if !rep.RequirementsMet {
		return campaign.Result{}, fmt.Errorf("baseline: the requirements of policy %s do not hold on %s", id, target.AssetID)
	}
	checks := rep.Checks
	if want := splitList(task.Params[ParamChecks]); len(want) > 0 {
		checks = nil
		for _, w := range want {
			i := slices.IndexFunc(rep.Checks, func(c baseline.CheckResult) bool { return c.ID == w })
			if i < 0 {
				return campaign.Result{}, fmt.Errorf("baseline: policy %s has no check %q", id, w)
			}
			checks = append(checks, rep.Checks[i])
		}
	}
	res := campaign.Result{Status: campaign.StatusPassed}
	decided := 0
	for _, c := range checks {
		switch c.Result {
		case baseline.Passed:
			decided++
		case baseline.Failed:
			decided++
			ev := c.Evidence[:min(len(c.Evidence), maxEvidenceLines)]
			res.Findings = append(res.Findings, campaign.Finding{Key: "baseline/" + id + "/" + c.ID, Title: c.Title, Severity: sev,
				Score: campaign.ScoreForSeverity(sev), Evidence: slices.Clone(ev), Ref: id + ":" + c.ID})
		}
	}
	if decided == 0 {
		return campaign.Result{}, fmt.Errorf("baseline: policy %s decided none of its %d checks on %s", id, len(checks), target.AssetID)
	}
	if len(res.Findings) > 0 {
		res.Status = campaign.StatusFailed
	}
	res.Evidence = []string{fmt.Sprintf("policy %s: %d of %d checks decided, %d failed", id, decided, len(checks), len(res.Findings))}
	return res, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
