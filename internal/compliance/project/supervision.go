package project

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/store"
)

// The supervision summary (监管汇总): for each tenant a regulator (or any
// reader of several tenants' compliance work) may read, where its MLPS
// projects stand, how many gaps are open, how far remediation has come
// and what the latest inspections found, spot checks included.

// Limits of the summary.
const (
	MaxSupervisedTenants   = 200
	supervisedProjects     = 50    // most recently updated projects per tenant
	supervisedInspections  = 10    // most recently updated inspections per tenant
	supervisedRemediations = 10000 // remediation items counted per tenant
)

// ProjectStatus is one MLPS project in the summary.
type ProjectStatus struct {
	Project    store.AssessmentProject
	Overall    float64
	Conclusion compliance.Conclusion
	Assessed   int // results recorded other than 不适用
	Gaps       int // 不符合 and 部分符合 results
	HighRisks  int // unresolved high-risk results
}

// RemediationProgress counts a tenant's remediation items by state.
type RemediationProgress struct {
	Total, Open, InProgress, Verified, Closed int
}

// Done is the share (0–100) of items verified or closed; 0 without items.
func (r RemediationProgress) Done() float64 {
	if r.Total == 0 {
		return 0
	}
	return 100 * float64(r.Verified+r.Closed) / float64(r.Total)
}

// InspectionStatus is one inspection in the summary.
type InspectionStatus struct {
	Meta    store.Inspection
	Sampled bool // a spot check
	Objects int
	Summary InspectionSummary
}

// TenantStatus is the summary of one tenant.
type TenantStatus struct {
	Tenant      store.Tenant
	Projects    []ProjectStatus
	Gaps        int // over all projects
	HighRisks   int // over all projects
	Remediation RemediationProgress
	Inspections []InspectionStatus // most recent first
	SpotChecks  int                // of Inspections, the sampled ones
}

// LastInspection returns the most recent inspection, nil when none.
func (t *TenantStatus) LastInspection() *InspectionStatus {
	if len(t.Inspections) == 0 {
		return nil
	}
	return &t.Inspections[0]
}

// Worst returns the weakest conclusion among the tenant's projects that
// have results ("" when none has).
func (t *TenantStatus) Worst() compliance.Conclusion {
	rank := map[compliance.Conclusion]int{compliance.Excellent: 1, compliance.Good: 2, compliance.Medium: 3, compliance.Poor: 4}
	var worst compliance.Conclusion
	for _, p := range t.Projects {
		if p.Assessed > 0 && rank[p.Conclusion] > rank[worst] {
			worst = p.Conclusion
		}
	}
	return worst
}

// Supervision summarises the compliance work of the tenants given, in
// their order. Tenants where the caller lacks assessment.read are left
// out, so a caller may pass every tenant it can see.
func (s *Service) Supervision(ctx context.Context, tenants []store.Tenant) ([]TenantStatus, error) {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return nil, auth.ErrUnauthenticated
	}
	var out []TenantStatus
	for _, t := range tenants {
		if !p.Can(auth.PermAssessRead, t.ID) {
			continue
		}
		if len(out) == MaxSupervisedTenants {
			break
		}
		st, err := s.TenantStatus(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("summary of tenant %s: %w", t.ID, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// TenantStatus summarises one tenant's compliance work.
func (s *Service) TenantStatus(ctx context.Context, t store.Tenant) (TenantStatus, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, t.ID); err != nil {
		return TenantStatus{}, err
	}
	st := TenantStatus{Tenant: t}
	projects, err := s.store.Compliance().ListProjects(ctx, t.ID, store.Page{Limit: supervisedProjects})
	if err != nil {
		return st, err
	}
	for _, pr := range projects {
		a, err := s.Assess(ctx, t.ID, pr.ID)
		if err != nil {
			return st, err
		}
		ps := ProjectStatus{Project: a.Project, Overall: a.Card.Overall, Conclusion: a.Card.Conclusion, HighRisks: len(a.Card.HighRisks)}
		for _, it := range a.Items {
			switch it.Result {
			case store.ItemNA:
				continue
			case store.ItemNonConform, store.ItemPartial:
				ps.Gaps++
			}
			ps.Assessed++
		}
		st.Gaps += ps.Gaps
		st.HighRisks += ps.HighRisks
		st.Projects = append(st.Projects, ps)
	}
	if st.Remediation, err = s.remediationProgress(ctx, t.ID); err != nil {
		return st, err
	}
	xs, err := s.store.Compliance().ListInspections(ctx, t.ID, store.Page{Limit: supervisedInspections})
	if err != nil {
		return st, err
	}
	for _, x := range xs {
		v, err := s.Inspection(ctx, t.ID, x.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return st, err
		}
		is := InspectionStatus{Meta: v.Meta, Sampled: v.Doc.Sampled, Objects: len(v.Doc.Objects), Summary: v.Summary}
		if is.Sampled {
			st.SpotChecks++
		}
		st.Inspections = append(st.Inspections, is)
	}
	return st, nil
}

// remediationProgress counts the tenant's remediation items by state.
func (s *Service) remediationProgress(ctx context.Context, tenantID string) (RemediationProgress, error) {
	var rp RemediationProgress
	const page = 1000
	for off := 0; off < supervisedRemediations; off += page {
		items, err := s.register.Remediations(ctx, tenantID, store.RemediationFilter{Page: store.Page{Limit: page, Offset: off}})
		if err != nil {
			return rp, err
		}
		for _, it := range items {
			rp.Total++
			switch it.State {
			case store.RemediationOpen:
				rp.Open++
			case store.RemediationProgress:
				rp.InProgress++
			case store.RemediationVerified:
				rp.Verified++
			case store.RemediationClosed:
				rp.Closed++
			}
		}
		if len(items) < page {
			break
		}
	}
	return rp, nil
}
