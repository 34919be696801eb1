package hardening

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/store"
)

// Manual results. Checks that tools cannot decide (written "type: manual"
// in a policy), or every check of a device Vigil cannot reach at all, are
// decided by an assessor: passed, failed or not applicable, with a note
// and optional evidence files. The decisions are recorded as a new run of
// source "manual" that carries the automated results of the run they
// complete unchanged, so score, report, history and diff treat them like
// any other result.

// MaxManualNote bounds an assessor's note on one check.
const MaxManualNote = 2000

// ManualResults are the results an assessor may give.
func ManualResults() []string {
	return []string{string(baseline.Passed), string(baseline.Failed), string(baseline.NotApplicable)}
}

// ManualSheet is what an assessor fills in: the checks still pending of a
// run, or every check of a policy for an asset assessed by hand.
type ManualSheet struct {
	AssetID     string
	PolicyID    string
	PolicyTitle string
	Version     string
	BaseRunID   string // "" for a whole assessment by hand
	Pending     []baseline.CheckResult
	report      *baseline.Report
}

// ManualResult is an assessor's decision on one check.
type ManualResult struct {
	CheckID string
	Result  string // one of ManualResults
	Note    string
	// Files are evidence lines naming files kept with the run (written by
	// the caller, e.g. "file NAME sha256 HEX").
	Files []string
}

// ManualSheet returns the checks awaiting an assessor: the manual checks
// of run baseRunID when it is set, otherwise every check of the built-in
// policy (an asset whose evidence cannot be collected by any means).
func (s *Service) ManualSheet(ctx context.Context, tenantID, assetID, baseRunID, policy string) (ManualSheet, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return ManualSheet{}, err
	}
	if baseRunID != "" {
		run, err := s.store.Baseline().GetRun(ctx, tenantID, baseRunID)
		if err != nil {
			return ManualSheet{}, err
		}
		rep, err := s.report(ctx, run)
		if err != nil {
			return ManualSheet{}, err
		}
		sh := ManualSheet{AssetID: run.AssetID, PolicyID: run.PolicyID, PolicyTitle: run.PolicyTitle, Version: run.PolicyVersion,
			BaseRunID: run.ID, report: rep}
		for _, c := range rep.Checks {
			if c.Result == baseline.Manual {
				sh.Pending = append(sh.Pending, c)
			}
		}
		return sh, nil
	}
	info, p, err := s.policies.builtin(policy)
	if err != nil {
		return ManualSheet{}, err
	}
	if _, err := s.store.Assets().Get(ctx, tenantID, assetID); err != nil {
		return ManualSheet{}, invalid("asset", store.CodeNotInTenant, nil, "the asset is not one of this organisation's")
	}
	rep := &baseline.Report{PolicyID: p.ID, RequirementsMet: true}
	for _, c := range p.Checks {
		rep.Checks = append(rep.Checks, baseline.CheckResult{ID: c.ID, Title: c.Title, Result: baseline.Manual,
			Reason: "assessed by hand: pending an assessor's result", Remediation: c.Remediation})
	}
	return ManualSheet{AssetID: assetID, PolicyID: info.ID, PolicyTitle: info.Title, Version: PolicyVersion(info),
		Pending: rep.Checks, report: rep}, nil
}

// RecordManual stores the assessor's results on sh as a new run of source
// "manual"; checks without a result stay pending. At least one result is
// needed, each for a pending check of the sheet, at most once.
func (s *Service) RecordManual(ctx context.Context, tenantID string, sh ManualSheet, results []ManualResult) (store.BaselineRun, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.BaselineRun{}, err
	}
	if sh.report == nil {
		return store.BaselineRun{}, invalid("run", store.CodeRequired, nil, "nothing to assess")
	}
	if len(results) == 0 {
		return store.BaselineRun{}, invalid("result", store.CodeRequired, nil, "give a result for at least one check")
	}
	pending := map[string]int{}
	for i, c := range sh.report.Checks {
		if c.Result == baseline.Manual {
			pending[c.ID] = i
		}
	}
	rep := &baseline.Report{PolicyID: sh.report.PolicyID, RequirementsMet: true, Checks: slices.Clone(sh.report.Checks)}
	who := auth.FromContext(ctx).ActorID()
	done := map[string]bool{}
	for _, m := range results {
		i, ok := pending[m.CheckID]
		if !ok || done[m.CheckID] {
			return store.BaselineRun{}, invalid("check", store.CodeOneOf, nil, "check %q is not awaiting an assessor", clean(m.CheckID, 80))
		}
		done[m.CheckID] = true
		if !slices.Contains(ManualResults(), m.Result) {
			return store.BaselineRun{}, invalid("result", store.CodeOneOf, map[string]any{"allowed": ManualResults()}, "unknown result %q", clean(m.Result, 40))
		}
		note := strings.TrimSpace(strings.ToValidUTF8(m.Note, "\uFFFD"))
		if len([]rune(note)) > MaxManualNote {
			return store.BaselineRun{}, invalid("note", store.CodeTooLong, map[string]any{"max": MaxManualNote}, "a note is at most %d characters", MaxManualNote)
		}
		c := rep.Checks[i]
		c.Result = baseline.Result(m.Result)
		c.Reason = fmt.Sprintf("assessed by hand by %s", who)
		c.Evidence = nil
		if note != "" {
			c.Evidence = append(c.Evidence, "assessor note: "+note)
		}
		c.Evidence = append(c.Evidence, m.Files...)
		rep.Checks[i] = c
	}
	run, err := s.Record(ctx, tenantID, RunInput{AssetID: sh.AssetID, Source: store.BaselineSourceManual, PolicyID: sh.PolicyID,
		PolicyTitle: sh.PolicyTitle, PolicyVersion: sh.Version, Report: rep})
	if err != nil {
		return run, err
	}
	return run, s.record(ctx, tenantID, "baseline.manual", "baseline-run:"+run.ID, map[string]any{"asset": run.AssetID,
		"policy": run.PolicyID, "base_run": sh.BaseRunID, "decided": len(results)})
}
