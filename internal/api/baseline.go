package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// BaselineRun is one evaluation of a baseline policy on an asset.
type BaselineRun struct {
	ID            string          `json:"id"`
	AssetID       string          `json:"asset_id"`
	PolicyID      string          `json:"policy_id"`
	PolicyTitle   string          `json:"policy_title,omitempty"`
	PolicyVersion string          `json:"policy_version,omitempty"`
	Source        string          `json:"source" enum:"agent,ssh,bundle,manual"`
	StartedAt     time.Time       `json:"started_at"`
	FinishedAt    time.Time       `json:"finished_at"`
	Score         *float64        `json:"score,omitempty" doc:"Passed / (passed + failed) as a percentage; absent when no check was decided"`
	Passed        int             `json:"passed"`
	Failed        int             `json:"failed"`
	NotApplicable int             `json:"not_applicable"`
	Errors        int             `json:"errors"`
	Manual        int             `json:"manual"`
	Checks        []BaselineCheck `json:"checks,omitempty" doc:"The results of every check; absent in lists"`
}

// BaselineCheck is the result of one check of a run.
type BaselineCheck struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Result      string   `json:"result"`
	Reason      string   `json:"reason,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	Evidence    []string `json:"evidence,omitempty"`
}

func baselineRunDTO(r store.BaselineRun, cs []store.BaselineCheck) BaselineRun {
	d := BaselineRun{ID: r.ID, AssetID: r.AssetID, PolicyID: r.PolicyID, PolicyTitle: r.PolicyTitle, PolicyVersion: r.PolicyVersion,
		Source: r.Source, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Passed: r.Passed, Failed: r.Failed,
		NotApplicable: r.NotApplicable, Errors: r.Errors, Manual: r.Manual}
	if r.Scored {
		score := r.Score
		d.Score = &score
	}
	for _, c := range cs {
		d.Checks = append(d.Checks, BaselineCheck{ID: c.CheckID, Title: c.Title, Result: c.Result, Reason: c.Reason,
			Remediation: c.Remediation, Evidence: c.Evidence})
	}
	return d
}

// BaselineRunList is one page of a tenant's runs, newest first.
type BaselineRunList struct {
	Items  []BaselineRun `json:"items"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
}

// HardeningItem is a failed check's proposed fix and its approval.
type HardeningItem struct {
	ID            string     `json:"id"`
	AssetID       string     `json:"asset_id"`
	PolicyID      string     `json:"policy_id"`
	CheckID       string     `json:"check_id"`
	Title         string     `json:"title"`
	RunID         string     `json:"run_id" doc:"The run in which the check failed"`
	Remediation   string     `json:"remediation,omitempty"`
	Fix           string     `json:"fix,omitempty" doc:"The proposed fix; Vigil never runs it"`
	State         string     `json:"state" enum:"proposed,approved,rejected,applied,verified"`
	ProposedBy    string     `json:"proposed_by"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	AppliedBy     string     `json:"applied_by,omitempty"`
	AppliedAt     *time.Time `json:"applied_at,omitempty"`
	VerifiedRunID string     `json:"verified_run_id,omitempty" doc:"The run in which the check passed after the fix"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Version       int        `json:"version"`
}

func hardeningDTO(h store.HardeningItem) HardeningItem {
	return HardeningItem{ID: h.ID, AssetID: h.AssetID, PolicyID: h.PolicyID, CheckID: h.CheckID, Title: h.Title, RunID: h.RunID,
		Remediation: h.Remediation, Fix: h.Fix, State: h.State, ProposedBy: h.ProposedBy, DecidedBy: h.DecidedBy,
		DecidedAt: optTime(h.DecidedAt), Reason: h.Reason, AppliedBy: h.AppliedBy, AppliedAt: optTime(h.AppliedAt),
		VerifiedRunID: h.VerifiedRunID, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt, Version: h.Version}
}

// HardeningList is one page of hardening items, most recently updated first.
type HardeningList struct {
	Items  []HardeningItem `json:"items"`
	Limit  int             `json:"limit"`
	Offset int             `json:"offset"`
}

// HardeningProposal proposes a fix for a failed check of a run.
type HardeningProposal struct {
	RunID   string `json:"run_id" maxLength:"100"`
	CheckID string `json:"check_id" maxLength:"200"`
	Fix     string `json:"fix,omitempty" maxLength:"65536" doc:"The fix; empty takes the built-in policy's fix snippet"`
}

// HardeningDecision approves or rejects a proposed fix.
type HardeningDecision struct {
	Reason  string `json:"reason,omitempty" maxLength:"2000" doc:"Required to reject"`
	Version int    `json:"version,omitempty" minimum:"0" doc:"The item's version as read; 0 skips the check"`
}

type baselineRunListIn struct {
	TenantParam
	Asset  string `query:"asset_id" maxLength:"100" doc:"Only runs on this asset"`
	Policy string `query:"policy_id" maxLength:"200" doc:"Only runs of this policy"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int    `query:"offset" minimum:"0" doc:"Runs to skip"`
}

type baselineRunIn struct {
	TenantParam
	Run    string `path:"run" maxLength:"100" doc:"Baseline run ID"`
	Result string `query:"result" maxLength:"40" doc:"Only checks with this result"`
}

type hardeningListIn struct {
	TenantParam
	Asset  string `query:"asset_id" maxLength:"100" doc:"Only items of this asset"`
	State  string `query:"state" maxLength:"20" doc:"Only items in this state"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int    `query:"offset" minimum:"0" doc:"Items to skip"`
}

type hardeningIn struct {
	TenantParam
	Item string `path:"item" maxLength:"100" doc:"Hardening item ID"`
}

type hardeningProposeIn struct {
	TenantParam
	Body HardeningProposal
}

type hardeningDecideIn struct {
	TenantParam
	Item string `path:"item" maxLength:"100" doc:"Hardening item ID"`
	Body HardeningDecision
}

// errBaselineOff answers when the server runs without the baseline service.
var errBaselineOff = fmt.Errorf("baseline service: %w", store.ErrNotFound)

func (s *server) registerBaseline() {
	tags := []string{"baseline"}
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	base := "/tenants/{tenant}/baseline"
	register(s, read, huma.Operation{OperationID: "list-baseline-runs", Method: http.MethodGet, Path: base + "/runs",
		Summary: "List a tenant's baseline check runs", Tags: tags}, s.listBaselineRuns)
	register(s, read, huma.Operation{OperationID: "get-baseline-run", Method: http.MethodGet, Path: base + "/runs/{run}",
		Summary: "Get a baseline run with its check results", Tags: tags}, s.getBaselineRun)
	register(s, read, huma.Operation{OperationID: "list-hardening-items", Method: http.MethodGet, Path: base + "/hardening",
		Summary: "List hardening items", Tags: tags}, s.listHardening)
	register(s, read, huma.Operation{OperationID: "get-hardening-item", Method: http.MethodGet, Path: base + "/hardening/{item}",
		Summary: "Get a hardening item", Tags: tags}, s.getHardening)
	register(s, write, huma.Operation{OperationID: "propose-hardening", Method: http.MethodPost, Path: base + "/hardening",
		Summary: "Propose a fix for a failed check", DefaultStatus: http.StatusCreated, Tags: tags}, s.proposeHardening)
	register(s, write, huma.Operation{OperationID: "approve-hardening", Method: http.MethodPost, Path: base + "/hardening/{item}/approve",
		Summary: "Approve a proposed fix", Description: "The proposer cannot approve their own fix (403).", Tags: tags},
		func(ctx context.Context, in *hardeningDecideIn) (*out[HardeningItem], error) {
			return s.decideHardening(ctx, in, true)
		})
	register(s, write, huma.Operation{OperationID: "reject-hardening", Method: http.MethodPost, Path: base + "/hardening/{item}/reject",
		Summary: "Reject a proposed fix", Description: "A reason is required; the proposer cannot reject their own fix (403).", Tags: tags},
		func(ctx context.Context, in *hardeningDecideIn) (*out[HardeningItem], error) {
			return s.decideHardening(ctx, in, false)
		})
	register(s, write, huma.Operation{OperationID: "apply-hardening", Method: http.MethodPost, Path: base + "/hardening/{item}/applied",
		Summary: "Record that an approved fix was applied", Description: "The next run in which the check passes verifies the item.",
		Tags: tags}, s.appliedHardening)
}

func (s *server) listBaselineRuns(ctx context.Context, in *baselineRunListIn) (*out[BaselineRunList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.Baseline == nil {
		return nil, errBaselineOff
	}
	rs, err := s.opts.Baseline.Runs(ctx, t.ID, store.BaselineRunFilter{AssetID: in.Asset, PolicyID: in.Policy,
		Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	return reply(BaselineRunList{Items: items(rs, func(r store.BaselineRun) BaselineRun { return baselineRunDTO(r, nil) }),
		Limit: in.Limit, Offset: in.Offset})
}

func (s *server) getBaselineRun(ctx context.Context, in *baselineRunIn) (*out[BaselineRun], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.Baseline == nil {
		return nil, errBaselineOff
	}
	r, cs, err := s.opts.Baseline.Run(ctx, t.ID, in.Run, store.BaselineCheckFilter{Result: in.Result})
	if err != nil {
		return nil, err
	}
	return reply(baselineRunDTO(r, cs))
}

func (s *server) listHardening(ctx context.Context, in *hardeningListIn) (*out[HardeningList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.Baseline == nil {
		return nil, errBaselineOff
	}
	hs, err := s.opts.Baseline.HardeningItems(ctx, t.ID, store.HardeningFilter{AssetID: in.Asset, State: in.State,
		Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	return reply(HardeningList{Items: items(hs, hardeningDTO), Limit: in.Limit, Offset: in.Offset})
}

func (s *server) getHardening(ctx context.Context, in *hardeningIn) (*out[HardeningItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.Baseline == nil {
		return nil, errBaselineOff
	}
	h, err := s.opts.Baseline.Hardening(ctx, t.ID, in.Item)
	if err != nil {
		return nil, err
	}
	return reply(hardeningDTO(h))
}

func (s *server) proposeHardening(ctx context.Context, in *hardeningProposeIn) (*out[HardeningItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.Baseline == nil {
		return nil, errBaselineOff
	}
	h, err := s.opts.Baseline.Propose(ctx, t.ID, in.Body.RunID, in.Body.CheckID, in.Body.Fix)
	if err != nil {
		return nil, err
	}
	return reply(hardeningDTO(h))
}

func (s *server) decideHardening(ctx context.Context, in *hardeningDecideIn, approve bool) (*out[HardeningItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.Baseline == nil {
		return nil, errBaselineOff
	}
	h, err := s.opts.Baseline.Decide(ctx, t.ID, in.Item, approve, in.Body.Reason, in.Body.Version)
	if err != nil {
		return nil, err
	}
	return reply(hardeningDTO(h))
}

func (s *server) appliedHardening(ctx context.Context, in *hardeningIn) (*out[HardeningItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.Baseline == nil {
		return nil, errBaselineOff
	}
	h, err := s.opts.Baseline.Applied(ctx, t.ID, in.Item, 0)
	if err != nil {
		return nil, err
	}
	return reply(hardeningDTO(h))
}
