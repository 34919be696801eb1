// Package policyreview owns the firewall policy review service: a tenant's
// uploaded firewall and ACL configurations, their exact analysis by
// internal/policy, the accepted optimisation plan and the deliverable
// before/after report.
package policyreview

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/store"
)

// Limits on one review.
const (
	// MaxConfigBytes bounds an uploaded configuration.
	MaxConfigBytes = 16 << 20
	maxNameLen     = 200
	// analyseTimeout bounds the analysis of one configuration.
	analyseTimeout = 2 * time.Minute
)

// Service runs and keeps policy reviews.
type Service struct {
	reviews store.PolicyReviewStore
	assets  store.AssetStore
	audit   *audit.Log
	logger  *slog.Logger
	now     func() time.Time
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewService returns a policy review Service.
func NewService(s store.Store, a *audit.Log, opts Options) *Service {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{reviews: s.PolicyReviews(), assets: s.Assets(), audit: a, logger: l, now: now}
}

// Input is one configuration to review.
type Input struct {
	Name    string
	AssetID string // the device it came from, or ""
	Format  string // one of policy.Formats()
	Family  int    // 4 or 6; 0 means 4
	Config  []byte
	// Hits is an optional CSV of hit counters ("rule_id_or_line,hits,
	// last_hit"); for iptables-save input the [packets:bytes] counters of
	// the configuration itself are used when Hits is empty.
	Hits []byte
	// Window is how far back the hit counters reach (default 90 days).
	Window time.Duration
	// Require is an optional list of required-policy statements ("only tcp
	// from 10.1.0.0/24 to 10.2.0.5 port 5432").
	Require []byte
}

// ChainCount is one chain of the analysed configuration.
type ChainCount struct {
	Name   string `json:"name"`
	Policy string `json:"policy,omitempty"`
	Rules  int    `json:"rules"`
}

// Result is the stored analysis of one configuration.
type Result struct {
	Format       string               `json:"format"`
	Family       int                  `json:"family"`
	Hostname     string               `json:"hostname,omitempty"`
	Rules        int                  `json:"rules"`
	Chains       []ChainCount         `json:"chains"`
	Findings     []policy.Finding     `json:"findings"`
	ByKind       map[string]int       `json:"by_kind"`
	Observations []policy.Observation `json:"observations,omitempty"`
	// Required is the outcome of the required-policy statements, when
	// some were given.
	Required   *policy.RequireReport `json:"required,omitempty"`
	Proposal   *Proposal             `json:"proposal,omitempty"`
	AnalysedAt time.Time             `json:"analysed_at"`
}

// Proposal is the optimised rule set proposed for a configuration: the
// changes, the rule counts before and after, and whether the exact
// comparison found both decide every packet the same.
type Proposal struct {
	Changes     []policy.ProposedChange `json:"changes"`
	RulesBefore map[string]int          `json:"rules_before"`
	RulesAfter  map[string]int          `json:"rules_after"`
	Equivalent  bool                    `json:"equivalent"`
	Plan        []string                `json:"plan,omitempty"`
	// Optimised is the proposed configuration text, for formats Vigil can
	// write back (iptables-save).
	Optimised string `json:"optimised,omitempty"`
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

func (in *Input) check() error {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return invalid("name", store.CodeRequired, nil, "name is required")
	case !utf8.ValidString(in.Name):
		return invalid("name", store.CodeInvalidUTF8, nil, "name must be UTF-8 text")
	case utf8.RuneCountInString(in.Name) > maxNameLen:
		return invalid("name", store.CodeTooLong, map[string]any{"max": maxNameLen}, "name must be at most %d characters", maxNameLen)
	}
	if !slices.Contains(policy.Formats(), in.Format) {
		return invalid("format", store.CodeOneOf, map[string]any{"values": strings.Join(policy.Formats(), ", ")},
			"format must be one of %s", strings.Join(policy.Formats(), ", "))
	}
	if in.Family == 0 {
		in.Family = 4
	}
	if in.Family != 4 && in.Family != 6 {
		return invalid("family", store.CodeOneOf, map[string]any{"values": "4, 6"}, "family must be 4 or 6")
	}
	switch {
	case len(in.Config) == 0:
		return invalid("config", store.CodeRequired, nil, "a configuration file is required")
	case len(in.Hits) > MaxConfigBytes || len(in.Require) > MaxConfigBytes:
		return invalid("config", store.CodeTooLarge, map[string]any{"max": MaxConfigBytes},
			"hit counters and requirements must be at most %d bytes each", MaxConfigBytes)
	case len(in.Config) > MaxConfigBytes:
		return invalid("config", store.CodeTooLarge, map[string]any{"max": MaxConfigBytes},
			"the configuration must be at most %d bytes", MaxConfigBytes)
	}
	return nil
}

// Analyse parses and analyses a configuration without storing it: the
// offline core shared by Create and the CLI.
func Analyse(ctx context.Context, format string, family int, config []byte, logger *slog.Logger) (Result, error) {
	return AnalyseInput(ctx, Input{Format: format, Family: family, Config: config}, logger)
}

// AnalyseInput is Analyse with the optional hit counters and required
// statements of the input.
func AnalyseInput(ctx context.Context, in Input, logger *slog.Logger) (Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	format, family, config := in.Format, in.Family, in.Config
	rs, err := policy.Parse(format, bytes.NewReader(config), policy.Family(family))
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, analyseTimeout)
	defer cancel()
	findings, err := policy.Analyze(ctx, rs, policy.Options{Logger: logger})
	if err != nil {
		return Result{}, err
	}
	extra, required, err := moreFindings(ctx, rs, in)
	if err != nil {
		return Result{}, err
	}
	findings = append(findings, extra...)
	res := Result{Format: rs.Format, Family: family, Hostname: rs.Hostname, Rules: rs.NumRules(),
		Findings: findings, ByKind: map[string]int{}, Observations: rs.Observations, Required: required}
	if res.Findings == nil {
		res.Findings = []policy.Finding{}
	}
	for _, c := range rs.Chains {
		res.Chains = append(res.Chains, ChainCount{Name: c.Name, Policy: string(c.Policy), Rules: len(c.Rules)})
	}
	for _, f := range findings {
		res.ByKind[f.Kind]++
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	p, err := policy.Propose(ctx, rs, policy.ProposeOptions{Logger: logger})
	if err != nil {
		// The findings stand without a proposal; say why in the log.
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		logger.Warn("policy review: no optimisation proposal", "err", err)
		return res, nil
	}
	res.Proposal = &Proposal{Changes: p.Changes, RulesBefore: p.RulesBefore, RulesAfter: p.RulesAfter,
		Equivalent: p.Proof != nil && p.Proof.Equivalent, Plan: p.Plan()}
	if res.Proposal.Changes == nil {
		res.Proposal.Changes = []policy.ProposedChange{}
	}
	if rs.Format == "iptables-save" && len(p.Changes) > 0 {
		if text, err := p.RenderIptablesSave(config); err == nil {
			res.Proposal.Optimised = string(text)
		}
	}
	return res, nil
}

// Create analyses a configuration and stores the review. A configuration
// the parser refuses is a field error on "config" naming the line.
func (s *Service) Create(ctx context.Context, tenantID string, in Input) (store.PolicyReview, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.PolicyReview{}, err
	}
	if err := in.check(); err != nil {
		return store.PolicyReview{}, err
	}
	if in.AssetID != "" {
		if _, err := s.assets.Get(ctx, tenantID, in.AssetID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return store.PolicyReview{}, invalid("asset", store.CodeNotInTenant, nil, "the device is not an asset of this tenant")
			}
			return store.PolicyReview{}, fmt.Errorf("policy review: %w", err)
		}
	}
	res, err := AnalyseInput(ctx, in, s.logger)
	if err != nil {
		if ctx.Err() != nil {
			return store.PolicyReview{}, ctx.Err()
		}
		var ie *inputError
		if errors.As(err, &ie) {
			return store.PolicyReview{}, invalid(ie.field, store.CodeInvalidConfig, map[string]any{"reason": ie.Error()}, "%s", ie.Error())
		}
		var pe *policy.ParseError
		if errors.As(err, &pe) || errors.Is(err, policy.ErrTooLarge) || errors.Is(err, policy.ErrLoop) {
			reason := strings.TrimPrefix(err.Error(), "policy: ")
			return store.PolicyReview{}, invalid("config", store.CodeInvalidConfig, map[string]any{"reason": reason}, "%s", reason)
		}
		return store.PolicyReview{}, fmt.Errorf("policy review: %w", err)
	}
	res.AnalysedAt = s.now().UTC()
	blob, err := json.Marshal(res)
	if err != nil {
		return store.PolicyReview{}, fmt.Errorf("policy review: %w", err)
	}
	sum := sha256.Sum256(in.Config)
	p := auth.FromContext(ctx)
	r := store.PolicyReview{TenantID: tenantID, AssetID: in.AssetID, Name: in.Name, Format: in.Format, Family: in.Family,
		Config: in.Config, ConfigSHA256: hex.EncodeToString(sum[:]), Result: blob, Findings: len(res.Findings),
		Rules: res.Rules, CreatedBy: p.UserID}
	if err := s.reviews.Create(ctx, &r); err != nil {
		return store.PolicyReview{}, fmt.Errorf("create policy review: %w", err)
	}
	return r, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "policy_review.create", Object: "policy_review:" + r.ID,
		Detail: map[string]any{"name": r.Name, "format": r.Format, "sha256": r.ConfigSHA256, "rules": r.Rules, "findings": r.Findings}})
}

// Get returns one review with its configuration and decoded result.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.PolicyReview, Result, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.PolicyReview{}, Result{}, err
	}
	r, err := s.reviews.Get(ctx, tenantID, id)
	if err != nil {
		return store.PolicyReview{}, Result{}, err
	}
	var res Result
	if err := json.Unmarshal(r.Result, &res); err != nil {
		return store.PolicyReview{}, Result{}, fmt.Errorf("policy review %s: stored result: %w", id, err)
	}
	return r, res, nil
}

// List returns a page of a tenant's reviews and the total count.
func (s *Service) List(ctx context.Context, tenantID string, f store.PolicyReviewFilter) ([]store.PolicyReview, int, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, 0, err
	}
	list, err := s.reviews.List(ctx, tenantID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list policy reviews: %w", err)
	}
	n, err := s.reviews.Count(ctx, tenantID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("count policy reviews: %w", err)
	}
	return list, n, nil
}

// Accept records that the tenant's team accepted the review's proposed
// changes as the work plan.
func (s *Service) Accept(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	if err := s.reviews.Accept(ctx, tenantID, id, p.UserID, s.now()); err != nil {
		return fmt.Errorf("accept policy review: %w", err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "policy_review.accept", Object: "policy_review:" + id})
}

// Delete removes a review.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	r, err := s.reviews.Get(ctx, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete policy review: %w", err)
	}
	if err := s.reviews.Delete(ctx, tenantID, id); err != nil {
		return fmt.Errorf("delete policy review: %w", err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "policy_review.delete", Object: "policy_review:" + id,
		Detail: map[string]string{"name": r.Name}})
}
