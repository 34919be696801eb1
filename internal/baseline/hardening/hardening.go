// Package hardening is the server side of the baseline service (安全基线评估
// 加固): it stores the baseline runs of a tenant's assets (posted by agents,
// uploaded as offline evidence, or collected over SSH now or on a
// schedule), computes compliance per asset and per tenant, compares runs,
// carries failed checks through the hardening loop (proposed, approved by
// another person, applied, verified by a later run) and builds the
// tenant's baseline report.
package hardening

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of what people and agents send.
const (
	// MaxBundleBytes bounds an uploaded evidence bundle (compressed) or
	// device configuration.
	MaxBundleBytes = 64 << 20
	// MaxChecks bounds the checks of one run.
	MaxChecks = store.MaxPageSize
	// MaxFix bounds a proposed fix.
	MaxFix = 64 << 10
	// MaxReason bounds a decision's reason.
	MaxReason = 2000
	// MinInterval and MaxInterval bound a schedule's interval.
	MinInterval = time.Hour
	MaxInterval = 90 * 24 * time.Hour
	// maxText bounds a title, reason or remediation copied from a report;
	// maxEvidence the evidence lines kept per check and maxLine each line.
	maxText     = 4000
	maxEvidence = 20
	maxLine     = 500
	// trendRuns is the number of recent runs in an asset's trend.
	trendRuns = 10
	// dueBatch is the number of due schedules one job run takes.
	dueBatch = 20
)

// SecretOpener opens a credential of the vault when a check needs it.
type SecretOpener interface {
	Open(ctx context.Context, tenantID, id, purpose string) ([]byte, error)
}

// Options configure the service.
type Options struct {
	Logger *slog.Logger
	// Secrets opens the SSH credentials of schedules; nil disables SSH runs.
	Secrets SecretOpener
	// SSHTimeout bounds one SSH run (dial and every check); default 2m.
	SSHTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service is the baseline service of every tenant.
type Service struct {
	store    store.Store
	audit    *audit.Log
	opts     Options
	log      *slog.Logger
	policies catalog
}

// NewService returns the service.
func NewService(st store.Store, a *audit.Log, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SSHTimeout <= 0 {
		opts.SSHTimeout = 2 * time.Minute
	}
	return &Service{store: st, audit: a, opts: opts, log: opts.Logger, policies: policies.List()}
}

func invalid(field, code string, args map[string]any, format string, a ...any) error {
	return store.NewFieldError(field, code, args, format, a...)
}

func (s *Service) record(ctx context.Context, tenantID, action, object string, detail any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: object, Detail: detail})
}

// clean makes text from reports safe to keep: valid UTF-8, bounded.
func clean(v string, n int) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) <= n {
		return v
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

// Sources lists the sources of runs.
func Sources() []string {
	return []string{store.BaselineSourceAgent, store.BaselineSourceSSH, store.BaselineSourceBundle, store.BaselineSourceManual}
}

// Results lists the results a check can have, for filters.
func Results() []string {
	return []string{string(baseline.Passed), string(baseline.Failed), string(baseline.NotApplicable), string(baseline.Manual), "error"}
}

// RunInput is one evaluated policy on one asset.
type RunInput struct {
	AssetID       string
	Source        string
	PolicyID      string
	PolicyTitle   string
	PolicyVersion string
	StartedAt     time.Time
	FinishedAt    time.Time
	Report        *baseline.Report
	// CreatedBy overrides the acting principal, e.g. "agent:<id>".
	CreatedBy string
}

// Record stores a run with its checks and verifies the applied hardening
// items of its asset and policy whose check now passes.
func (s *Service) Record(ctx context.Context, tenantID string, in RunInput) (store.BaselineRun, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.BaselineRun{}, err
	}
	if !slices.Contains(Sources(), in.Source) {
		return store.BaselineRun{}, invalid("source", store.CodeOneOf, map[string]any{"allowed": Sources()}, "unknown source %q", clean(in.Source, 40))
	}
	if in.Report == nil {
		return store.BaselineRun{}, invalid("report", store.CodeRequired, nil, "the run has no report")
	}
	if strings.TrimSpace(in.PolicyID) == "" {
		in.PolicyID = in.Report.PolicyID
	}
	if strings.TrimSpace(in.PolicyID) == "" {
		return store.BaselineRun{}, invalid("policy", store.CodeRequired, nil, "the run names no policy")
	}
	if len(in.Report.Checks) > MaxChecks {
		return store.BaselineRun{}, invalid("report", store.CodeTooMany, map[string]any{"max": MaxChecks}, "a run holds at most %d checks", MaxChecks)
	}
	now := s.opts.Now().UTC()
	if in.FinishedAt.IsZero() {
		in.FinishedAt = now
	}
	if in.StartedAt.IsZero() || in.StartedAt.After(in.FinishedAt) {
		in.StartedAt = in.FinishedAt
	}
	tally := baseline.TallyReport(in.Report)
	score, scored := tally.Score()
	run := store.BaselineRun{TenantID: tenantID, AssetID: in.AssetID, PolicyID: clean(in.PolicyID, 200), PolicyTitle: clean(in.PolicyTitle, 300),
		PolicyVersion: clean(in.PolicyVersion, 100), Source: in.Source, StartedAt: in.StartedAt, FinishedAt: in.FinishedAt,
		Score: score, Scored: scored, Passed: tally.Passed, Failed: tally.Failed, NotApplicable: tally.NotApplicable,
		Errors: tally.Errors, Manual: tally.Manual, CreatedBy: in.CreatedBy}
	if run.CreatedBy == "" {
		run.CreatedBy = auth.FromContext(ctx).ActorID()
	}
	checks := make([]store.BaselineCheck, 0, len(in.Report.Checks))
	for _, c := range in.Report.Checks {
		ev := c.Evidence
		if len(ev) > maxEvidence {
			ev = ev[:maxEvidence]
		}
		lines := make([]string, len(ev))
		for i, l := range ev {
			lines[i] = clean(l, maxLine)
		}
		checks = append(checks, store.BaselineCheck{CheckID: clean(c.ID, 200), Title: clean(c.Title, maxText), Result: clean(string(c.Result), 40),
			Reason: clean(c.Reason, maxText), Remediation: clean(c.Remediation, maxText), Evidence: lines})
	}
	if err := s.store.Baseline().CreateRun(ctx, &run, checks); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return run, invalid("asset", store.CodeNotInTenant, nil, "the asset is not one of this organisation's")
		}
		return run, err
	}
	if err := s.verify(ctx, run, in.Report); err != nil {
		return run, err
	}
	return run, s.record(ctx, tenantID, "baseline.run", "baseline-run:"+run.ID, map[string]any{"asset": run.AssetID,
		"policy": run.PolicyID, "source": run.Source, "passed": run.Passed, "failed": run.Failed})
}

// verify closes the applied hardening items of a run's asset and policy
// whose check passed in the run.
func (s *Service) verify(ctx context.Context, run store.BaselineRun, rep *baseline.Report) error {
	passed := map[string]bool{}
	for _, c := range rep.Checks {
		if c.Result == baseline.Passed {
			passed[c.ID] = true
		}
	}
	items, err := s.store.Baseline().ListHardening(ctx, run.TenantID, store.HardeningFilter{AssetID: run.AssetID,
		State: store.HardeningApplied, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return err
	}
	for _, h := range items {
		if h.PolicyID != run.PolicyID || !passed[h.CheckID] {
			continue
		}
		h.State, h.VerifiedRunID = store.HardeningVerified, run.ID
		if err := s.store.Baseline().UpdateHardening(ctx, &h); err != nil {
			return err
		}
		if err := s.record(ctx, run.TenantID, "baseline.hardening.verify", "hardening:"+h.ID, map[string]any{"run": run.ID, "check": h.CheckID}); err != nil {
			return err
		}
	}
	return nil
}

// PolicyVersion identifies the text of a built-in policy: the first 12
// hex digits of its SHA-256.
func PolicyVersion(info policies.Info) string {
	data, err := fs.ReadFile(policies.FS(), info.File)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// catalog is the list of built-in policies, read once: listing parses
// every embedded policy.
type catalog []policies.Info

// builtin finds a built-in policy by name or SCA id and loads it.
func (c catalog) builtin(name string) (policies.Info, *baseline.Policy, error) {
	for _, info := range c {
		if info.Name == name || info.ID == name {
			p, err := policies.Open(info.Name)
			return info, p, err
		}
	}
	names := make([]string, 0, len(c))
	for _, info := range c {
		names = append(names, info.Name)
	}
	return policies.Info{}, nil, invalid("policy", store.CodeOneOf, map[string]any{"allowed": names}, "unknown policy %q", clean(name, 80))
}

// Policies lists the built-in policies.
func (s *Service) Policies() []policies.Info { return append([]policies.Info(nil), s.policies...) }

// Upload evaluates an uploaded offline result on an asset: an evidence
// bundle made by the collector script (`vigil baseline bundle`), or for a
// network device policy the device's configuration text. policy names a
// built-in policy; "" takes the bundle's own.
func (s *Service) Upload(ctx context.Context, tenantID, assetID, policy string, r io.Reader) (store.BaselineRun, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.BaselineRun{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxBundleBytes+1))
	if err != nil {
		return store.BaselineRun{}, err
	}
	if len(data) > MaxBundleBytes {
		return store.BaselineRun{}, invalid("file", store.CodeTooLarge, map[string]any{"max": MaxBundleBytes}, "the file is larger than %d MiB", MaxBundleBytes>>20)
	}
	if len(data) == 0 {
		return store.BaselineRun{}, invalid("file", store.CodeRequired, nil, "the file is empty")
	}
	started := s.opts.Now().UTC()
	info, rep, err := evaluateUpload(ctx, s.policies, policy, data, s.log)
	if err != nil {
		return store.BaselineRun{}, err
	}
	return s.Record(ctx, tenantID, RunInput{AssetID: assetID, Source: store.BaselineSourceBundle, PolicyID: info.ID,
		PolicyTitle: info.Title, PolicyVersion: PolicyVersion(info), StartedAt: started, FinishedAt: s.opts.Now().UTC(), Report: rep})
}

// evaluateUpload evaluates an uploaded offline result: an evidence bundle
// (gzip) with its own or the named built-in policy, or the configuration
// text of a network device with a network policy. Whatever is wrong with
// the input is an ErrInvalid error for the person who sent it.
func evaluateUpload(ctx context.Context, c catalog, policy string, data []byte, log *slog.Logger) (policies.Info, *baseline.Report, error) {
	if len(data) > MaxBundleBytes {
		return policies.Info{}, nil, invalid("file", store.CodeTooLarge, map[string]any{"max": MaxBundleBytes}, "the file is larger than %d MiB", MaxBundleBytes>>20)
	}
	// gzip (the sh collector) or zip (the PowerShell collector): evidence
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) || bytes.HasPrefix(data, []byte("PK")) {
		b, err := baseline.ReadEvidence(data)
		if err != nil {
			return policies.Info{}, nil, invalid("file", "", nil, "%s", clean(err.Error(), 300))
		}
		if policy == "" {
			policy = b.PolicyID()
		}
		info, p, err := c.builtin(policy)
		if err != nil {
			return info, nil, err
		}
		if m := b.PolicyID(); m != "" && m != info.ID && m != info.Name {
			return info, nil, invalid("policy", "", nil, "the bundle was collected for policy %q, not %q", clean(m, 80), info.Name)
		}
		if info.Platform == policies.PlatformNetwork {
			return info, nil, invalid("policy", "", nil, "a network device policy is evaluated on the device's configuration text")
		}
		rep, err := baseline.Evaluate(ctx, p, baseline.Options{Target: b, AllowCommands: true, Logger: log})
		return info, rep, err
	}
	info, p, err := c.builtin(policy)
	if err != nil {
		return info, nil, err
	}
	if info.Platform != policies.PlatformNetwork {
		return info, nil, invalid("file", "", nil, "for a %s policy upload the evidence bundle (.tar.gz) made by the collector script", info.Platform)
	}
	if !utf8.Valid(data) {
		return info, nil, invalid("file", store.CodeInvalidUTF8, nil, "the configuration is not UTF-8 text")
	}
	rep, err := baseline.EvaluateConfig(ctx, p, string(data))
	if err != nil {
		return info, nil, invalid("file", "", nil, "%s", clean(err.Error(), 300))
	}
	return info, rep, nil
}

// Run returns a run with its checks matching f (limit defaults to every
// check).
func (s *Service) Run(ctx context.Context, tenantID, id string, f store.BaselineCheckFilter) (store.BaselineRun, []store.BaselineCheck, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.BaselineRun{}, nil, err
	}
	run, err := s.store.Baseline().GetRun(ctx, tenantID, id)
	if err != nil {
		return run, nil, err
	}
	if f.Limit <= 0 {
		f.Limit = MaxChecks
	}
	if f.Result != "" && !slices.Contains(Results(), f.Result) {
		return run, nil, invalid("result", store.CodeOneOf, map[string]any{"allowed": Results()}, "unknown result")
	}
	cs, err := s.store.Baseline().Checks(ctx, tenantID, id, f)
	return run, cs, err
}

// Runs returns a page of runs, newest first.
func (s *Service) Runs(ctx context.Context, tenantID string, f store.BaselineRunFilter) ([]store.BaselineRun, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Baseline().ListRuns(ctx, tenantID, f)
}

// report rebuilds the engine's report of a stored run.
func (s *Service) report(ctx context.Context, run store.BaselineRun) (*baseline.Report, error) {
	cs, err := s.store.Baseline().Checks(ctx, run.TenantID, run.ID, store.BaselineCheckFilter{Limit: MaxChecks})
	if err != nil {
		return nil, err
	}
	rep := &baseline.Report{PolicyID: run.PolicyID, RequirementsMet: true, Passed: run.Passed, Failed: run.Failed,
		NotApplicable: run.NotApplicable, Manual: run.Manual, Score: run.Score}
	for _, c := range cs {
		rep.Checks = append(rep.Checks, baseline.CheckResult{ID: c.CheckID, Title: c.Title, Result: baseline.Result(c.Result),
			Reason: c.Reason, Evidence: c.Evidence, Remediation: c.Remediation})
	}
	return rep, nil
}

// Comparison is the difference between two runs of one asset.
type Comparison struct {
	From, To store.BaselineRun
	Diff     baseline.ReportDiff
}

// Compare compares an earlier run with a later one of the same asset and
// policy (in whichever order they are given).
func (s *Service) Compare(ctx context.Context, tenantID, fromID, toID string) (Comparison, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return Comparison{}, err
	}
	from, err := s.store.Baseline().GetRun(ctx, tenantID, fromID)
	if err != nil {
		return Comparison{}, err
	}
	to, err := s.store.Baseline().GetRun(ctx, tenantID, toID)
	if err != nil {
		return Comparison{}, err
	}
	if from.AssetID != to.AssetID || from.PolicyID != to.PolicyID {
		return Comparison{}, invalid("to", "", nil, "only two runs of the same policy on the same asset can be compared")
	}
	if to.FinishedAt.Before(from.FinishedAt) {
		from, to = to, from
	}
	before, err := s.report(ctx, from)
	if err != nil {
		return Comparison{}, err
	}
	after, err := s.report(ctx, to)
	if err != nil {
		return Comparison{}, err
	}
	return Comparison{From: from, To: to, Diff: baseline.Diff(before, after)}, nil
}

// AssetCompliance is the compliance of one asset: the latest run of each
// policy on it, weighted by decided checks (as baseline.AssetScore).
type AssetCompliance struct {
	Asset   store.Asset
	Latest  []store.BaselineRun // latest run of each policy, by policy
	LastRun time.Time
	Tally   baseline.Tally
	Score   float64
	Scored  bool
	// Trend holds the scores of the asset's recent runs, oldest first
	// (runs without a score are left out).
	Trend []float64
}

// Overview is a tenant's compliance: every asset with runs and the total.
type Overview struct {
	Assets []AssetCompliance
	Tally  baseline.Tally
	Score  float64
	Scored bool
}

func runTally(r store.BaselineRun) baseline.Tally {
	return baseline.Tally{Passed: r.Passed, Failed: r.Failed, NotApplicable: r.NotApplicable, Errors: r.Errors, Manual: r.Manual}
}

// Overview computes compliance per asset and for the tenant from the
// latest run of each policy on each asset.
func (s *Service) Overview(ctx context.Context, tenantID string) (Overview, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return Overview{}, err
	}
	latest, err := s.store.Baseline().LatestRuns(ctx, tenantID)
	if err != nil {
		return Overview{}, err
	}
	var ov Overview
	idx := map[string]int{}
	for _, r := range latest {
		i, ok := idx[r.AssetID]
		if !ok {
			a, err := s.store.Assets().Get(ctx, tenantID, r.AssetID)
			if err != nil {
				return Overview{}, err
			}
			i = len(ov.Assets)
			idx[r.AssetID] = i
			ov.Assets = append(ov.Assets, AssetCompliance{Asset: a})
		}
		ac := &ov.Assets[i]
		ac.Latest = append(ac.Latest, r)
		t := runTally(r)
		ac.Tally.Add(t)
		ov.Tally.Add(t)
		if r.FinishedAt.After(ac.LastRun) {
			ac.LastRun = r.FinishedAt
		}
	}
	for i := range ov.Assets {
		ac := &ov.Assets[i]
		ac.Score, ac.Scored = ac.Tally.Score()
		recent, err := s.store.Baseline().ListRuns(ctx, tenantID, store.BaselineRunFilter{AssetID: ac.Asset.ID, Page: store.Page{Limit: trendRuns}})
		if err != nil {
			return Overview{}, err
		}
		for j := len(recent) - 1; j >= 0; j-- {
			if recent[j].Scored {
				ac.Trend = append(ac.Trend, recent[j].Score)
			}
		}
	}
	slices.SortFunc(ov.Assets, func(a, b AssetCompliance) int { return strings.Compare(a.Asset.Name, b.Asset.Name) })
	ov.Score, ov.Scored = ov.Tally.Score()
	return ov, nil
}

// countsReport is a report holding only a run's counts, for the history
// chart, which needs no check ids.
func countsReport(r store.BaselineRun) *baseline.Report {
	rep := &baseline.Report{PolicyID: r.PolicyID}
	add := func(n int, res baseline.Result) {
		for range n {
			rep.Checks = append(rep.Checks, baseline.CheckResult{Result: res})
		}
	}
	add(r.Passed, baseline.Passed)
	add(r.Failed, baseline.Failed)
	add(r.NotApplicable, baseline.NotApplicable)
	add(r.Manual, baseline.Manual)
	add(r.Errors, baseline.Result("error"))
	return rep
}

// historyRuns bounds the runs in the report's chart.
const historyRuns = 500

// ReportDocument builds the tenant's baseline report: compliance per
// asset and policy, failed checks with remediation and fixes, the
// before/after comparison of each asset and policy with its previous run,
// and compliance over time.
func (s *Service) ReportDocument(ctx context.Context, t store.Tenant, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermReportRead, t.ID); err != nil {
		return nil, err
	}
	bs := s.store.Baseline()
	latest, err := bs.LatestRuns(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	name := func(id string) (string, error) {
		if n, ok := names[id]; ok {
			return n, nil
		}
		a, err := s.store.Assets().Get(ctx, t.ID, id)
		if err != nil {
			return "", err
		}
		names[id] = a.Name
		return a.Name, nil
	}
	in := baseline.Assessment{Tenant: t.Name, Lang: lang, GeneratedAt: s.opts.Now().UTC(), Author: auth.FromContext(ctx).Username,
		Policies: map[string]*baseline.Policy{}, Fixes: map[string]map[string]string{}}
	for _, r := range latest {
		n, err := name(r.AssetID)
		if err != nil {
			return nil, err
		}
		rep, err := s.report(ctx, r)
		if err != nil {
			return nil, err
		}
		in.Runs = append(in.Runs, baseline.PolicyRun{Asset: n, PolicyID: r.PolicyID, PolicyTitle: r.PolicyTitle, At: r.FinishedAt, Report: rep})
		prev, err := bs.ListRuns(ctx, t.ID, store.BaselineRunFilter{AssetID: r.AssetID, PolicyID: r.PolicyID, Page: store.Page{Limit: 1, Offset: 1}})
		if err != nil {
			return nil, err
		}
		for _, p := range prev {
			prep, err := s.report(ctx, p)
			if err != nil {
				return nil, err
			}
			in.Previous = append(in.Previous, baseline.PolicyRun{Asset: n, PolicyID: p.PolicyID, PolicyTitle: p.PolicyTitle, At: p.FinishedAt, Report: prep})
		}
		if _, ok := in.Policies[r.PolicyID]; !ok {
			if info, p, err := s.policies.builtin(r.PolicyID); err == nil {
				in.Policies[r.PolicyID] = p
				if fx, err := policies.Fixes(info.Name); err == nil {
					in.Fixes[r.PolicyID] = fx
				}
			}
		}
	}
	hist, err := bs.ListRuns(ctx, t.ID, store.BaselineRunFilter{Page: store.Page{Limit: historyRuns}})
	if err != nil {
		return nil, err
	}
	for _, r := range hist {
		n, err := name(r.AssetID)
		if err != nil {
			return nil, err
		}
		in.History = append(in.History, baseline.PolicyRun{Asset: n, PolicyID: r.PolicyID, At: r.FinishedAt, Report: countsReport(r)})
	}
	return baseline.ReportDocument(in)
}
