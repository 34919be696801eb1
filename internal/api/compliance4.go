package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
)

// The supervision summary across the tenants the caller reads the
// compliance work of (the regulator's own view).

// supervisionPath is the summary's path under basePath.
const supervisionPath = "/supervision"

// SupervisedProject is one MLPS project in the summary.
type SupervisedProject struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	System     string  `json:"system"`
	Level      int     `json:"level"`
	Phase      string  `json:"phase"`
	Overall    float64 `json:"overall" doc:"Score 0-100; 0 while no result is recorded"`
	Conclusion string  `json:"conclusion,omitempty" doc:"优, 良, 中 or 差; empty while no result is recorded"`
	Assessed   int     `json:"assessed" doc:"Results recorded other than not applicable"`
	Gaps       int     `json:"gaps" doc:"Non-conform and partly conform results"`
	HighRisks  int     `json:"high_risks" doc:"Unresolved high-risk results"`
}

// SupervisedInspection is one recent inspection in the summary.
type SupervisedInspection struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Campaign   string    `json:"campaign,omitempty"`
	State      string    `json:"state"`
	SpotCheck  bool      `json:"spot_check" doc:"The objects were sampled at random"`
	Objects    int       `json:"objects"`
	Checked    int       `json:"checked"`
	Expected   int       `json:"expected"`
	Compliance float64   `json:"compliance" doc:"100 × (conform + 0.5 × partial) / (checked − not applicable)"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// SupervisedRemediation counts a tenant's remediation items.
type SupervisedRemediation struct {
	Total      int     `json:"total"`
	Open       int     `json:"open"`
	InProgress int     `json:"in_progress"`
	Verified   int     `json:"verified"`
	Closed     int     `json:"closed"`
	Done       float64 `json:"done" doc:"Share (0-100) verified or closed"`
}

// SupervisedTenant is one tenant of the summary.
type SupervisedTenant struct {
	Tenant      string                 `json:"tenant" doc:"Tenant slug"`
	Name        string                 `json:"name"`
	Conclusion  string                 `json:"conclusion,omitempty" doc:"The weakest conclusion among its projects with results"`
	Gaps        int                    `json:"gaps"`
	HighRisks   int                    `json:"high_risks"`
	Projects    []SupervisedProject    `json:"projects"`
	Remediation SupervisedRemediation  `json:"remediation"`
	Inspections []SupervisedInspection `json:"inspections" doc:"Most recent first; the first is the last inspection"`
	SpotChecks  int                    `json:"spot_checks"`
}

func (s *server) registerSupervision() {
	register(s, anyTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-supervision", Method: http.MethodGet, Path: supervisionPath,
		Summary: "Compliance summary across the tenants the caller reads",
		Description: "Per tenant where the caller holds assessment.read: MLPS projects with score and conclusion, open gaps, " +
			"remediation progress and the latest inspections (spot checks marked). A regulator sees the tenants granted to it.",
		Tags: []string{"assessments"}}, s.getSupervision)
	s.registerCompliance5()
}

func (s *server) getSupervision(ctx context.Context, _ *struct{}) (*out[[]SupervisedTenant], error) {
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	sum, err := s.opts.Assessments.Supervision(ctx, ts)
	if err != nil {
		return nil, err
	}
	return reply(items(sum, supervisedDTO))
}

func supervisedDTO(st project.TenantStatus) SupervisedTenant {
	d := SupervisedTenant{Tenant: st.Tenant.Slug, Name: st.Tenant.Name, Conclusion: string(st.Worst()), Gaps: st.Gaps, HighRisks: st.HighRisks,
		SpotChecks: st.SpotChecks, Remediation: SupervisedRemediation{Total: st.Remediation.Total, Open: st.Remediation.Open,
			InProgress: st.Remediation.InProgress, Verified: st.Remediation.Verified, Closed: st.Remediation.Closed, Done: st.Remediation.Done()}}
	d.Projects = items(st.Projects, func(p project.ProjectStatus) SupervisedProject {
		sp := SupervisedProject{ID: p.Project.ID, Name: p.Project.Name, System: p.Project.System, Level: p.Project.Level, Phase: p.Project.Phase,
			Overall: p.Overall, Assessed: p.Assessed, Gaps: p.Gaps, HighRisks: p.HighRisks}
		if p.Assessed > 0 {
			sp.Conclusion = string(p.Conclusion)
		}
		return sp
	})
	d.Inspections = items(st.Inspections, func(x project.InspectionStatus) SupervisedInspection {
		return SupervisedInspection{ID: x.Meta.ID, Name: x.Meta.Name, Campaign: x.Meta.Campaign, State: x.Meta.State, SpotCheck: x.Sampled,
			Objects: x.Objects, Checked: x.Summary.Checked, Expected: x.Summary.Expected, Compliance: x.Summary.Compliance, UpdatedAt: x.Meta.UpdatedAt}
	})
	return d
}
