package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/store"
)

// BaselineRuns is the part of Vigil's baseline service (hardening.Service)
// the StoredBaseline runner uses: stored runs of an asset (from the agent,
// uploads or scheduled SSH checks), their checks, and the scheduled SSH
// checks, which it may run now.
type BaselineRuns interface {
	Runs(ctx context.Context, tenantID string, f store.BaselineRunFilter) ([]store.BaselineRun, error)
	Run(ctx context.Context, tenantID, id string, f store.BaselineCheckFilter) (store.BaselineRun, []store.BaselineCheck, error)
	Schedules(ctx context.Context, tenantID string) ([]store.BaselineSchedule, error)
	RunSchedule(ctx context.Context, tenantID, id string) (store.BaselineRun, error)
}

// Task parameters read by the StoredBaseline runner (ParamPolicy,
// ParamChecks and ParamSeverity are read too: the policy of the run, the
// checks that must not fail, the severity of a failed one).
const (
	// ParamMinScore is the lowest acceptable score of the run, 0 to 100.
	ParamMinScore = "min_score"
	// ParamMaxAge is how old the run may be ("7d", "12h"); a stored run
	// older than that is an error, not a pass. Empty accepts any age.
	ParamMaxAge = "max_age"
)

// scoreLowBaseline is the score of a baseline under its threshold.
const scoreLowBaseline = 5.0

// StoredBaselineOptions configure the StoredBaseline runner.
type StoredBaselineOptions struct {
	// Now is the clock of ParamMaxAge; nil means time.Now.
	Now func() time.Time
}

// StoredBaseline judges a target asset by its baseline: when the asset has
// an enabled scheduled SSH check (of the task's policy, if it names one)
// the check runs now; otherwise the latest stored run of the asset is
// used. The task fails when the run's score is under min_score or a check
// named in checks failed; with neither parameter every failed check is a
// finding. No run at all, a run older than max_age, or an SSH check that
// cannot run is an error, never a pass.
type StoredBaseline struct {
	svc BaselineRuns
	now func() time.Time
}

// NewStoredBaseline returns a StoredBaseline runner over svc.
func NewStoredBaseline(svc BaselineRuns, opts StoredBaselineOptions) *StoredBaseline {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &StoredBaseline{svc: svc, now: opts.Now}
}

// maxBaselineChecks bounds the checks read from one run.
const maxBaselineChecks = store.MaxPageSize

// Run implements campaign.Runner.
func (b *StoredBaseline) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	policy := strings.TrimSpace(task.Params[ParamPolicy])
	sev := campaign.Severity(task.Params[ParamSeverity])
	if sev == "" {
		sev = campaign.SeverityMedium
	}
	if !sev.Valid() {
		return campaign.Result{}, fmt.Errorf("baseline: severity %q is not a severity", sev)
	}
	minScore := -1.0
	if v := strings.TrimSpace(task.Params[ParamMinScore]); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 100 {
			return campaign.Result{}, fmt.Errorf("baseline: %s %q is not a score from 0 to 100", ParamMinScore, v)
		}
		minScore = f
	}
	var maxAge time.Duration
	if v := strings.TrimSpace(task.Params[ParamMaxAge]); v != "" {
		d, err := campaign.ParseDuration(v)
		if err != nil || d <= 0 {
			return campaign.Result{}, fmt.Errorf("baseline: %s %q is not a duration such as 7d", ParamMaxAge, v)
		}
		maxAge = d
	}
	named := splitList(task.Params[ParamChecks])
	if target.Tenant == "" || target.AssetID == "" {
		return campaign.Result{}, errors.New("baseline: the target has no tenant or asset")
	}
	run, how, err := b.latest(ctx, target, policy)
	if err != nil {
		return campaign.Result{}, err
	}
	if maxAge > 0 && b.now().Sub(run.FinishedAt) > maxAge {
		return campaign.Result{}, fmt.Errorf("baseline: the latest run %s of the asset finished %s, longer ago than %s: check the host again",
			run.ID, run.FinishedAt.UTC().Format(time.RFC3339), task.Params[ParamMaxAge])
	}
	_, checks, err := b.svc.Run(ctx, target.Tenant, run.ID, store.BaselineCheckFilter{Limit: maxBaselineChecks})
	if err != nil {
		return campaign.Result{}, fmt.Errorf("baseline: run %s: %w", run.ID, err)
	}
	res := campaign.Result{Status: campaign.StatusPassed, Evidence: []string{fmt.Sprintf("baseline run %s (%s), policy %s, finished %s: %d passed, %d failed, score %s",
		run.ID, how, run.PolicyID, run.FinishedAt.UTC().Format(time.RFC3339), run.Passed, run.Failed, scoreText(run))}}
	ref := func(id string) string { return "baseline-run:" + run.ID + "#" + id }
	failed := func(c store.BaselineCheck) campaign.Finding {
		ev := slices.Clone(c.Evidence[:min(len(c.Evidence), maxEvidenceLines)])
		return campaign.Finding{Key: "baseline/" + run.PolicyID + "/" + c.CheckID, Title: clip(c.Title, 300), Severity: sev,
			Score: campaign.ScoreForSeverity(sev), Evidence: append([]string{"baseline run " + run.ID}, ev...), Ref: ref(c.CheckID)}
	}
	for _, id := range named {
		i := slices.IndexFunc(checks, func(c store.BaselineCheck) bool { return c.CheckID == id })
		if i < 0 {
			return campaign.Result{}, fmt.Errorf("baseline: run %s (policy %s) has no check %q", run.ID, run.PolicyID, id)
		}
		switch checks[i].Result {
		case string(baseline.Failed):
			res.Findings = append(res.Findings, failed(checks[i]))
		case string(baseline.Passed):
		default:
			return campaign.Result{}, fmt.Errorf("baseline: run %s could not decide check %s (%s)", run.ID, id, checks[i].Result)
		}
	}
	if minScore >= 0 {
		if !run.Scored {
			return campaign.Result{}, fmt.Errorf("baseline: run %s has no score to hold to %s", run.ID, task.Params[ParamMinScore])
		}
		if run.Score < minScore {
			res.Findings = append(res.Findings, campaign.Finding{Key: "baseline/" + run.PolicyID + "/score", Severity: sev, Score: scoreLowBaseline,
				Title:    fmt.Sprintf("Baseline score %s is under the required %s", scoreText(run), strconv.FormatFloat(minScore, 'f', -1, 64)),
				Evidence: []string{"baseline run " + run.ID}, Ref: "baseline-run:" + run.ID})
		}
	}
	if len(named) == 0 && minScore < 0 {
		for _, c := range checks {
			if c.Result == string(baseline.Failed) {
				res.Findings = append(res.Findings, failed(c))
			}
		}
		if run.Passed+run.Failed == 0 {
			return campaign.Result{}, fmt.Errorf("baseline: run %s decided none of its checks", run.ID)
		}
	}
	if len(res.Findings) > 0 {
		res.Status = campaign.StatusFailed
	}
	return res, nil
}

// latest returns the run to judge: a fresh one from the asset's scheduled
// SSH check when there is one, else the latest stored run.
func (b *StoredBaseline) latest(ctx context.Context, target campaign.Target, policy string) (store.BaselineRun, string, error) {
	scheds, err := b.svc.Schedules(ctx, target.Tenant)
	if err != nil {
		return store.BaselineRun{}, "", fmt.Errorf("baseline: schedules: %w", err)
	}
	for _, sc := range scheds {
		if sc.AssetID != target.AssetID || !sc.Enabled || (policy != "" && sc.Policy != policy) {
			continue
		}
		run, err := b.svc.RunSchedule(ctx, target.Tenant, sc.ID)
		if err != nil {
			return run, "", fmt.Errorf("baseline: the scheduled SSH check %s could not run: %w", sc.ID, err)
		}
		return run, "SSH check run now", nil
	}
	runs, err := b.svc.Runs(ctx, target.Tenant, store.BaselineRunFilter{AssetID: target.AssetID, PolicyID: policy, Page: store.Page{Limit: 1}})
	if err != nil {
		return store.BaselineRun{}, "", fmt.Errorf("baseline: runs: %w", err)
	}
	if len(runs) == 0 {
		return store.BaselineRun{}, "", errors.New("baseline: the asset has no baseline run: upload one, install the agent or schedule an SSH check")
	}
	return runs[0], "latest stored run", nil
}

func scoreText(r store.BaselineRun) string {
	if !r.Scored {
		return "-"
	}
	return strconv.FormatFloat(r.Score, 'f', 1, 64)
}
