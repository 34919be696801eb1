package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/weblog"
)

// WeblogRuns lists a tenant's compromise analyses of web access logs,
// newest first (compromise.Service).
type WeblogRuns interface {
	List(ctx context.Context, tenantID string, p store.Page) ([]store.WeblogRun, error)
}

// Bounds of the WebLog runner's search for the system's latest analysis.
const (
	weblogPage  = 200
	weblogPages = 10
)

// WebLogOptions configure the WebLog runner.
type WebLogOptions struct {
	// Now is the clock of ParamMaxAge; nil means time.Now.
	Now func() time.Time
}

// WebLog judges a system by the latest compromise analysis of its web
// access logs: the expert's verdict "compromised" fails the task
// (critical), "attacked-not-compromised" passes with a note, "clean"
// passes. No analysis of the system, a latest analysis still without a
// verdict, or one older than max_age is an error, never a pass.
type WebLog struct {
	svc WeblogRuns
	now func() time.Time
}

// NewWebLog returns a WebLog runner over svc.
func NewWebLog(svc WeblogRuns, opts WebLogOptions) *WebLog {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &WebLog{svc: svc, now: opts.Now}
}

// Run implements campaign.Runner.
func (w *WebLog) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	var maxAge time.Duration
	if v := strings.TrimSpace(task.Params[ParamMaxAge]); v != "" {
		d, err := campaign.ParseDuration(v)
		if err != nil || d <= 0 {
			return campaign.Result{}, fmt.Errorf("web logs: %s %q is not a duration such as 30d", ParamMaxAge, v)
		}
		maxAge = d
	}
	if target.Tenant == "" || target.AssetID == "" {
		return campaign.Result{}, errors.New("web logs: the target has no tenant or asset")
	}
	run, err := w.latest(ctx, target)
	if err != nil {
		return campaign.Result{}, err
	}
	if maxAge > 0 && w.now().Sub(run.CreatedAt) > maxAge {
		return campaign.Result{}, fmt.Errorf("web logs: the latest analysis %s of the system is from %s, older than %s: analyse recent logs",
			run.ID, run.CreatedAt.UTC().Format(time.DateOnly), task.Params[ParamMaxAge])
	}
	ev := fmt.Sprintf("web log analysis %s of %s: %d hits, verdict %s by %s at %s", run.ID, run.CreatedAt.UTC().Format(time.DateOnly),
		run.Hits, run.Verdict, run.VerdictBy, run.VerdictAt.UTC().Format(time.RFC3339))
	res := campaign.Result{Status: campaign.StatusPassed, Evidence: []string{ev}}
	note := clip(strings.TrimSpace(run.VerdictNote), 500)
	switch run.Verdict {
	case string(weblog.VerdictCompromised):
		f := campaign.Finding{Key: "weblog/compromised", Severity: campaign.SeverityCritical, Score: campaign.ScoreForSeverity(campaign.SeverityCritical),
			Title: "The web access logs show the system compromised", Evidence: []string{"web log analysis " + run.ID}, Ref: "weblog-run:" + run.ID}
		if note != "" {
			f.Evidence = append(f.Evidence, note)
		}
		res.Findings, res.Status = []campaign.Finding{f}, campaign.StatusFailed
	case string(weblog.VerdictAttackedNotCompromised):
		f := campaign.Finding{Key: "weblog/attacked", Severity: campaign.SeverityInfo,
			Title: "The web access logs show attacks that did not succeed", Evidence: []string{"web log analysis " + run.ID}, Ref: "weblog-run:" + run.ID}
		if note != "" {
			f.Evidence = append(f.Evidence, note)
		}
		res.Findings = []campaign.Finding{f}
	case string(weblog.VerdictClean):
	default:
		return campaign.Result{}, fmt.Errorf("web logs: the latest analysis %s of the system has no verdict yet (%d hits): an expert must judge it", run.ID, run.Hits)
	}
	return res, nil
}

// latest finds the newest analysis of the target's system.
func (w *WebLog) latest(ctx context.Context, target campaign.Target) (store.WeblogRun, error) {
	for page := range weblogPages {
		runs, err := w.svc.List(ctx, target.Tenant, store.Page{Limit: weblogPage, Offset: page * weblogPage})
		if err != nil {
			return store.WeblogRun{}, fmt.Errorf("web logs: %w", err)
		}
		for _, r := range runs {
			if r.AssetID == target.AssetID {
				return r, nil
			}
		}
		if len(runs) < weblogPage {
			break
		}
	}
	return store.WeblogRun{}, errors.New("web logs: the system has no web log analysis: upload its access logs for a compromise analysis")
}
