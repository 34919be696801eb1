package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/store"
)

// The baseline endpoints the pages have beside runs and hardening: offline
// result uploads, the manual-check sheet, the comparison of two runs and
// the scheduled SSH checks.

// BaselineUploadForm is an offline result: a collector bundle from
// `vigil baseline collect`, or a network device's configuration.
type BaselineUploadForm struct {
	File    huma.FormFile `form:"file" required:"true" doc:"The bundle (.tar.gz) or the device configuration"`
	AssetID string        `form:"asset_id" required:"true" maxLength:"100" doc:"The asset the file was collected on"`
	Policy  string        `form:"policy" required:"true" maxLength:"200" doc:"The built-in policy to evaluate (e.g. cisco-ios)"`
}

type baselineUploadIn struct {
	TenantParam
	RawBody huma.MultipartFormFiles[BaselineUploadForm]
}

// BaselineManualSheet is what an assessor fills in: the checks of a run
// that await a person, or every check of a policy on an asset assessed
// entirely by hand.
type BaselineManualSheet struct {
	AssetID     string          `json:"asset_id"`
	PolicyID    string          `json:"policy_id"`
	PolicyTitle string          `json:"policy_title,omitempty"`
	Version     string          `json:"policy_version,omitempty"`
	BaseRunID   string          `json:"base_run_id,omitempty" doc:"The run completed; absent for a whole assessment by hand"`
	Results     []string        `json:"results" doc:"The results an assessor may give"`
	Pending     []BaselineCheck `json:"pending"`
}

type baselineManualSheetIn struct {
	TenantParam
	Run    string `query:"run_id" maxLength:"100" doc:"Complete this run's manual checks"`
	Asset  string `query:"asset_id" maxLength:"100" doc:"With policy: assess every check of the policy on this asset by hand"`
	Policy string `query:"policy" maxLength:"200" doc:"The built-in policy, with asset_id"`
}

// BaselineManualResult is an assessor's decision on one check.
type BaselineManualResult struct {
	CheckID string `json:"check_id" minLength:"1" maxLength:"200"`
	Result  string `json:"result" enum:"passed,failed,not-applicable"`
	Note    string `json:"note,omitempty" maxLength:"8000" doc:"At most 2,000 characters; kept as evidence"`
}

// BaselineManualInput records an assessor's results as a new run.
type BaselineManualInput struct {
	RunID   string                 `json:"run_id,omitempty" maxLength:"100" doc:"The run whose manual checks are completed"`
	AssetID string                 `json:"asset_id,omitempty" maxLength:"100" doc:"With policy, for a whole assessment by hand"`
	Policy  string                 `json:"policy,omitempty" maxLength:"200"`
	Results []BaselineManualResult `json:"results" minItems:"1" maxItems:"1000"`
}

type baselineManualIn struct {
	TenantParam
	Body BaselineManualInput
}

// BaselineComparison compares an earlier run with a later one of the same
// asset and policy: what a hardening round fixed and what it broke.
type BaselineComparison struct {
	From BaselineRun         `json:"from"`
	To   BaselineRun         `json:"to"`
	Diff baseline.ReportDiff `json:"diff"`
}

type baselineDiffIn struct {
	TenantParam
	From string `query:"from" required:"true" maxLength:"100" doc:"One run"`
	To   string `query:"to" required:"true" maxLength:"100" doc:"Another run of the same asset and policy (order does not matter)"`
}

// BaselineSchedule is a recurring SSH check of an asset.
type BaselineSchedule struct {
	ID        string     `json:"id"`
	AssetID   string     `json:"asset_id"`
	Policy    string     `json:"policy"`
	Hours     int        `json:"interval_hours"`
	SecretID  string     `json:"secret_id"`
	Username  string     `json:"username"`
	Port      int        `json:"port"`
	HostKey   string     `json:"host_key"`
	Enabled   bool       `json:"enabled"`
	NextAt    time.Time  `json:"next_at"`
	LastAt    *time.Time `json:"last_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

func baselineScheduleDTO(s store.BaselineSchedule) BaselineSchedule {
	return BaselineSchedule{ID: s.ID, AssetID: s.AssetID, Policy: s.Policy, Hours: int(s.Interval / time.Hour), SecretID: s.SecretID,
		Username: s.Username, Port: s.Port, HostKey: s.HostKey, Enabled: s.Enabled, NextAt: s.NextAt, LastAt: optTime(s.LastAt),
		LastError: s.LastError, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt}
}

// BaselineScheduleInput creates or changes a schedule.
type BaselineScheduleInput struct {
	AssetID  string `json:"asset_id" minLength:"1" maxLength:"100"`
	Policy   string `json:"policy" minLength:"1" maxLength:"200" doc:"A built-in policy; network device policies read the running configuration"`
	Hours    int    `json:"interval_hours" minimum:"1" maximum:"2160"`
	SecretID string `json:"secret_id" minLength:"1" maxLength:"100" doc:"An ssh-key or password secret of the tenant"`
	Username string `json:"username" minLength:"1" maxLength:"100"`
	Port     int    `json:"port,omitempty" minimum:"0" maximum:"65535" doc:"0 means 22"`
	HostKey  string `json:"host_key" minLength:"1" maxLength:"200" doc:"The pinned host key fingerprint, SHA256:... as ssh-keygen -l prints it"`
	Enabled  *bool  `json:"enabled,omitempty" doc:"Default true"`
}

func (in BaselineScheduleInput) input() hardening.ScheduleInput {
	enabled := in.Enabled == nil || *in.Enabled
	return hardening.ScheduleInput{AssetID: in.AssetID, Policy: in.Policy, Interval: time.Duration(in.Hours) * time.Hour,
		SecretID: in.SecretID, Username: in.Username, Port: in.Port, HostKey: in.HostKey, Enabled: enabled}
}

type baselineScheduleCreateIn struct {
	TenantParam
	Body BaselineScheduleInput
}

type baselineScheduleIn struct {
	TenantParam
	Schedule string `path:"schedule" maxLength:"100" doc:"Schedule ID"`
}

type baselineScheduleUpdateIn struct {
	TenantParam
	Schedule string `path:"schedule" maxLength:"100" doc:"Schedule ID"`
	Body     BaselineScheduleInput
}

// registerBaseline3 adds uploads, manual checks, comparisons and schedules.
func (s *server) registerBaseline3() {
	tags := []string{"baseline"}
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	base := "/tenants/{tenant}/baseline"
	limit := int64(hardening.MaxBundleBytes) + 1<<20
	register(s, write, huma.Operation{OperationID: "upload-baseline-result", Method: http.MethodPost, Path: base + "/uploads",
		Summary: "Evaluate an offline result", Description: "A multipart form: file (a collector bundle or a device " +
			"configuration, at most 64 MiB), asset_id and policy. The run is stored and returned.",
		DefaultStatus: http.StatusCreated, Tags: tags, MaxBodyBytes: limit, Middlewares: s.uploadBody(limit)}, s.uploadBaseline)
	register(s, write, huma.Operation{OperationID: "get-baseline-manual-sheet", Method: http.MethodGet, Path: base + "/manual",
		Summary: "Get the checks awaiting an assessor", Description: "run_id: the manual checks of that run; asset_id and " +
			"policy: every check of a built-in policy, for an asset assessed entirely by hand.", Tags: tags}, s.getBaselineManual)
	register(s, write, huma.Operation{OperationID: "record-baseline-manual", Method: http.MethodPost, Path: base + "/manual",
		Summary: "Record an assessor's results as a run", Description: "The new run (source manual) keeps the automated results " +
			"of the run it completes. Checks the sheet does not list are refused (409 when the sheet changed).",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.recordBaselineManual)
	register(s, read, huma.Operation{OperationID: "compare-baseline-runs", Method: http.MethodGet, Path: base + "/diff",
		Summary: "Compare two runs of one asset and policy", Description: "Newly passing (fixed), newly failing (regressions), " +
			"still failing, changed, added and removed checks.", Tags: tags}, s.compareBaselineRuns)
	sched := base + "/schedules"
	register(s, read, huma.Operation{OperationID: "list-baseline-schedules", Method: http.MethodGet, Path: sched,
		Summary: "List scheduled SSH checks", Tags: tags}, s.listBaselineSchedules)
	register(s, write, huma.Operation{OperationID: "create-baseline-schedule", Method: http.MethodPost, Path: sched,
		Summary: "Schedule an SSH check", Description: "The host key is pinned: no credential is sent to a host that shows " +
			"another. The first run is due at once.", DefaultStatus: http.StatusCreated, Tags: tags}, s.createBaselineSchedule)
	register(s, write, huma.Operation{OperationID: "update-baseline-schedule", Method: http.MethodPut, Path: sched + "/{schedule}",
		Summary: "Change a scheduled SSH check", Tags: tags}, s.updateBaselineSchedule)
	register(s, write, huma.Operation{OperationID: "delete-baseline-schedule", Method: http.MethodDelete, Path: sched + "/{schedule}",
		Summary: "Remove a scheduled SSH check", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteBaselineSchedule)
	register(s, write, huma.Operation{OperationID: "run-baseline-schedule", Method: http.MethodPost, Path: sched + "/{schedule}/run",
		Summary: "Run a scheduled SSH check now", Description: "Answers the schedule after the attempt and, when the check " +
			"ran, the stored run; a failure (unreachable host, changed host key, refused login) is in the schedule's last_error.",
		Tags: tags}, s.runBaselineSchedule)
}

// baselineTenant is the path's tenant, once the baseline service is known
// to run.
func (s *server) baselineTenant(ctx context.Context) (store.Tenant, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return t, err
	}
	if s.opts.Baseline == nil {
		return t, errBaselineOff
	}
	return t, nil
}

func (s *server) uploadBaseline(ctx context.Context, in *baselineUploadIn) (*out[BaselineRun], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	f := in.RawBody.Data()
	defer func() { _ = f.File.Close() }()
	run, err := s.opts.Baseline.Upload(ctx, t.ID, f.AssetID, f.Policy, io.LimitReader(f.File, hardening.MaxBundleBytes+1))
	if err != nil {
		return nil, err
	}
	return reply(baselineRunDTO(run, nil))
}

func (s *server) getBaselineManual(ctx context.Context, in *baselineManualSheetIn) (*out[BaselineManualSheet], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	sh, err := s.manualSheet(ctx, t.ID, in.Run, in.Asset, in.Policy)
	if err != nil {
		return nil, err
	}
	d := BaselineManualSheet{AssetID: sh.AssetID, PolicyID: sh.PolicyID, PolicyTitle: sh.PolicyTitle, Version: sh.Version,
		BaseRunID: sh.BaseRunID, Results: hardening.ManualResults(), Pending: []BaselineCheck{}}
	for _, c := range sh.Pending {
		d.Pending = append(d.Pending, BaselineCheck{ID: c.ID, Title: c.Title, Result: string(c.Result), Reason: c.Reason,
			Remediation: c.Remediation, Evidence: c.Evidence})
	}
	return reply(d)
}

// manualSheet asks for a run's sheet or a whole policy's, never both.
func (s *server) manualSheet(ctx context.Context, tenantID, run, asset, policy string) (hardening.ManualSheet, error) {
	if (run == "") == (asset == "" || policy == "") {
		return hardening.ManualSheet{}, fmt.Errorf("%w: give run_id, or asset_id with policy", store.ErrInvalid)
	}
	return s.opts.Baseline.ManualSheet(ctx, tenantID, asset, run, policy)
}

func (s *server) recordBaselineManual(ctx context.Context, in *baselineManualIn) (*out[BaselineRun], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	sh, err := s.manualSheet(ctx, t.ID, in.Body.RunID, in.Body.AssetID, in.Body.Policy)
	if err != nil {
		return nil, err
	}
	pending := map[string]bool{}
	for _, c := range sh.Pending {
		pending[c.ID] = true
	}
	results := make([]hardening.ManualResult, 0, len(in.Body.Results))
	for _, m := range in.Body.Results {
		if !pending[m.CheckID] {
			return nil, fmt.Errorf("%w: check %q does not await an assessor on this sheet", store.ErrConflict, m.CheckID)
		}
		results = append(results, hardening.ManualResult{CheckID: m.CheckID, Result: m.Result, Note: m.Note})
	}
	run, err := s.opts.Baseline.RecordManual(ctx, t.ID, sh, results)
	if err != nil {
		return nil, err
	}
	return reply(baselineRunDTO(run, nil))
}

func (s *server) compareBaselineRuns(ctx context.Context, in *baselineDiffIn) (*out[BaselineComparison], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Baseline.Compare(ctx, t.ID, in.From, in.To)
	if err != nil {
		return nil, err
	}
	return reply(BaselineComparison{From: baselineRunDTO(c.From, nil), To: baselineRunDTO(c.To, nil), Diff: c.Diff})
}

func (s *server) listBaselineSchedules(ctx context.Context, in *TenantParam) (*out[[]BaselineSchedule], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	ss, err := s.opts.Baseline.Schedules(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(items(ss, baselineScheduleDTO))
}

func (s *server) createBaselineSchedule(ctx context.Context, in *baselineScheduleCreateIn) (*out[BaselineSchedule], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := s.opts.Baseline.SaveSchedule(ctx, t.ID, "", in.Body.input())
	if err != nil {
		return nil, err
	}
	return reply(baselineScheduleDTO(sc))
}

func (s *server) updateBaselineSchedule(ctx context.Context, in *baselineScheduleUpdateIn) (*out[BaselineSchedule], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := s.opts.Baseline.SaveSchedule(ctx, t.ID, in.Schedule, in.Body.input())
	if err != nil {
		return nil, err
	}
	return reply(baselineScheduleDTO(sc))
}

func (s *server) deleteBaselineSchedule(ctx context.Context, in *baselineScheduleIn) (*noContent, error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Baseline.DeleteSchedule(ctx, t.ID, in.Schedule); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

// BaselineScheduleRun is what running a schedule now did: the stored run,
// or the failure recorded on the schedule.
type BaselineScheduleRun struct {
	Run      *BaselineRun     `json:"run,omitempty" doc:"Absent when the check failed"`
	Schedule BaselineSchedule `json:"schedule" doc:"After the run; last_error tells why a check failed"`
}

func (s *server) runBaselineSchedule(ctx context.Context, in *baselineScheduleIn) (*out[BaselineScheduleRun], error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return nil, err
	}
	run, runErr := s.opts.Baseline.RunSchedule(ctx, t.ID, in.Schedule)
	if runErr != nil && (errors.Is(runErr, store.ErrNotFound) || errors.Is(runErr, auth.ErrForbidden) || errors.Is(runErr, store.ErrConflict)) {
		return nil, runErr
	}
	sc, err := s.opts.Baseline.Schedule(ctx, t.ID, in.Schedule)
	if err != nil {
		return nil, err
	}
	res := BaselineScheduleRun{Schedule: baselineScheduleDTO(sc)}
	if runErr == nil {
		d := baselineRunDTO(run, nil)
		res.Run = &d
	}
	return reply(res)
}
