package hardening

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/store"
)

// ErrSelfApproval is returned when the proposer of a fix tries to decide
// on it: a second person approves every hardening change.
var ErrSelfApproval = fmt.Errorf("%w: the person who proposed a fix cannot approve or reject it", auth.ErrForbidden)

// person is who acts, for the four-eyes rule: the user behind an API
// token counts as that user, so nobody approves their own fix with a
// second token.
func person(ctx context.Context) string {
	p := auth.FromContext(ctx)
	if p.UserID != "" {
		return p.UserID
	}
	return p.ActorID()
}

// States lists the states of hardening items in workflow order.
func States() []string {
	return []string{store.HardeningProposed, store.HardeningApproved, store.HardeningRejected, store.HardeningApplied, store.HardeningVerified}
}

// Propose turns a failed check of a run into a hardening item with a
// proposed fix. An empty fix takes the built-in policy's fix snippet when
// it has one.
func (s *Service) Propose(ctx context.Context, tenantID, runID, checkID, fix string) (store.HardeningItem, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.HardeningItem{}, err
	}
	if !utf8.ValidString(fix) {
		return store.HardeningItem{}, invalid("fix", store.CodeInvalidUTF8, nil, "the fix is not UTF-8 text")
	}
	if len(fix) > MaxFix {
		return store.HardeningItem{}, invalid("fix", store.CodeTooLarge, map[string]any{"max": MaxFix}, "the fix is larger than %d KiB", MaxFix>>10)
	}
	run, err := s.store.Baseline().GetRun(ctx, tenantID, runID)
	if err != nil {
		return store.HardeningItem{}, err
	}
	cs, err := s.store.Baseline().Checks(ctx, tenantID, runID, store.BaselineCheckFilter{Result: string(baseline.Failed), Limit: MaxChecks})
	if err != nil {
		return store.HardeningItem{}, err
	}
	var check *store.BaselineCheck
	for i := range cs {
		if cs[i].CheckID == checkID {
			check = &cs[i]
			break
		}
	}
	if check == nil {
		return store.HardeningItem{}, invalid("check", "", nil, "only a check that failed in the run can be hardened")
	}
	if strings.TrimSpace(fix) == "" {
		if info, _, err := s.policies.builtin(run.PolicyID); err == nil {
			if fx, err := policies.Fixes(info.Name); err == nil {
				fix = fx[checkID]
			}
		}
	}
	h := store.HardeningItem{TenantID: tenantID, AssetID: run.AssetID, PolicyID: run.PolicyID, CheckID: check.CheckID,
		Title: check.Title, RunID: run.ID, Remediation: check.Remediation, Fix: fix, State: store.HardeningProposed,
		ProposedBy: person(ctx)}
	if err := s.store.Baseline().CreateHardening(ctx, &h); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return h, invalid("check", "", nil, "this check already has an open hardening item")
		}
		return h, err
	}
	return h, s.record(ctx, tenantID, "baseline.hardening.propose", "hardening:"+h.ID, map[string]any{"asset": h.AssetID,
		"policy": h.PolicyID, "check": h.CheckID})
}

// Hardening returns one item.
func (s *Service) Hardening(ctx context.Context, tenantID, id string) (store.HardeningItem, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.HardeningItem{}, err
	}
	return s.store.Baseline().GetHardening(ctx, tenantID, id)
}

// HardeningItems returns a page of items, most recently updated first.
func (s *Service) HardeningItems(ctx context.Context, tenantID string, f store.HardeningFilter) ([]store.HardeningItem, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	if f.State != "" && !containsStr(States(), f.State) {
		return nil, invalid("state", store.CodeOneOf, map[string]any{"allowed": States()}, "unknown state")
	}
	return s.store.Baseline().ListHardening(ctx, tenantID, f)
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Decide approves or rejects a proposed fix. The decider must not be the
// proposer; a rejection needs a reason. version is the item's version as
// read (0 skips the check, for the API's simple calls).
func (s *Service) Decide(ctx context.Context, tenantID, id string, approve bool, reason string, version int) (store.HardeningItem, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.HardeningItem{}, err
	}
	reason = strings.TrimSpace(reason)
	if err := checkReason(reason, !approve); err != nil {
		return store.HardeningItem{}, err
	}
	h, err := s.store.Baseline().GetHardening(ctx, tenantID, id)
	if err != nil {
		return h, err
	}
	if version != 0 && version != h.Version {
		return h, store.ErrConflict
	}
	if h.State != store.HardeningProposed {
		return h, invalid("state", "", nil, "only a proposed fix can be approved or rejected; this one is %s", h.State)
	}
	me := person(ctx)
	if me == h.ProposedBy {
		return h, ErrSelfApproval
	}
	h.State, h.DecidedBy, h.DecidedAt, h.Reason = store.HardeningRejected, me, s.opts.Now().UTC(), reason
	action := "baseline.hardening.reject"
	if approve {
		h.State, action = store.HardeningApproved, "baseline.hardening.approve"
	}
	if err := s.store.Baseline().UpdateHardening(ctx, &h); err != nil {
		return h, err
	}
	return h, s.record(ctx, tenantID, action, "hardening:"+h.ID, map[string]any{"check": h.CheckID, "reason": reason})
}

// Applied records that ops staff applied an approved fix; the next run in
// which the check passes verifies it.
func (s *Service) Applied(ctx context.Context, tenantID, id string, version int) (store.HardeningItem, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.HardeningItem{}, err
	}
	h, err := s.store.Baseline().GetHardening(ctx, tenantID, id)
	if err != nil {
		return h, err
	}
	if version != 0 && version != h.Version {
		return h, store.ErrConflict
	}
	if h.State != store.HardeningApproved {
		return h, invalid("state", "", nil, "only an approved fix can be marked applied; this one is %s", h.State)
	}
	h.State, h.AppliedBy, h.AppliedAt = store.HardeningApplied, person(ctx), s.opts.Now().UTC()
	if err := s.store.Baseline().UpdateHardening(ctx, &h); err != nil {
		return h, err
	}
	return h, s.record(ctx, tenantID, "baseline.hardening.apply", "hardening:"+h.ID, map[string]any{"check": h.CheckID})
}

func checkReason(reason string, required bool) error {
	switch {
	case required && reason == "":
		return invalid("reason", store.CodeRequired, nil, "give the reason for the rejection")
	case !utf8.ValidString(reason):
		return invalid("reason", store.CodeInvalidUTF8, nil, "the reason is not UTF-8 text")
	case len(reason) > MaxReason:
		return invalid("reason", store.CodeTooLong, map[string]any{"max": MaxReason}, "the reason is longer than %d characters", MaxReason)
	}
	return nil
}
