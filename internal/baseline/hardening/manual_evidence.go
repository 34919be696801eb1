package hardening

import (
	"context"
	"strings"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/store"
)

// ManualEvidenceKind is the attachment owner kind of the evidence files of
// a manual run: the files are the run's, and each names the check it is
// evidence for in its note (as the manual-check page keeps them).
const ManualEvidenceKind = "baseline_run"

// manualReason starts the reason of a check an assessor decided.
const manualReason = "assessed by hand"

// ManualEvidenceOwner returns the attachment owner of the evidence files
// of run runID after checking perm in the tenant and that the run is a
// manual one. With checkID it also checks that an assessor decided that
// check in the run (files are only evidence of a person's decision); a
// check of an automated run, or one the assessor left pending, takes none.
func (s *Service) ManualEvidenceOwner(ctx context.Context, perm auth.Perm, tenantID, runID, checkID string) (attach.Owner, error) {
	if err := auth.Require(ctx, perm, tenantID); err != nil {
		return attach.Owner{}, err
	}
	run, err := s.store.Baseline().GetRun(ctx, tenantID, runID)
	if err != nil {
		return attach.Owner{}, err
	}
	if run.Source != store.BaselineSourceManual {
		return attach.Owner{}, invalid("run", store.CodeOneOf, nil, "only a run of manual results keeps evidence files")
	}
	owner := attach.Owner{TenantID: tenantID, Kind: ManualEvidenceKind, ID: run.ID}
	if checkID == "" {
		return owner, nil
	}
	checks, err := s.store.Baseline().Checks(ctx, tenantID, run.ID, store.BaselineCheckFilter{Query: checkID, Limit: store.MaxPageSize})
	if err != nil {
		return attach.Owner{}, err
	}
	for _, c := range checks {
		if c.CheckID == checkID {
			if c.Result == string(baseline.Manual) || !strings.HasPrefix(c.Reason, manualReason) {
				return attach.Owner{}, invalid("check_id", store.CodeOneOf, nil, "check %q was not decided by an assessor in this run",
					clean(checkID, 80))
			}
			return owner, nil
		}
	}
	return attach.Owner{}, invalid("check_id", store.CodeOneOf, nil, "check %q is not in this run", clean(checkID, 80))
}
