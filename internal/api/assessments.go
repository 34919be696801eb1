package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// Assessment is an MLPS 2.0 assessment project (等级测评).
type Assessment struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	System    string    `json:"system" doc:"The system assessed (定级对象)"`
	Level     int       `json:"level" enum:"2,3"`
	Framework string    `json:"framework"`
	Agency    string    `json:"agency,omitempty"`
	Phase     string    `json:"phase" enum:"preparation,plan,onsite,report,done"`
	Version   int       `json:"version" doc:"Pass it back on changes; a stale version is a conflict"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Score and Conclusion are computed from the recorded results with the
	// method in docs/compliance.md; absent in lists.
	Score      *float64 `json:"score,omitempty"`
	Conclusion string   `json:"conclusion,omitempty"`
	HighRisks  int      `json:"high_risks,omitempty" doc:"Unresolved high-risk items"`
	Recorded   int      `json:"recorded,omitempty" doc:"Item results recorded"`
}

func assessmentDTO(p store.AssessmentProject) Assessment {
	return Assessment{ID: p.ID, Name: p.Name, System: p.System, Level: p.Level, Framework: p.Framework, Agency: p.Agency,
		Phase: p.Phase, Version: p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// AssessmentItem is the result of one requirement for one assessed object.
type AssessmentItem struct {
	Item         string    `json:"item" doc:"Requirement id, e.g. L3-CES1-01"`
	Object       string    `json:"object,omitempty" doc:"Assessed object: an asset ID when bound to an asset, else free text; empty for the system as a whole"`
	Result       string    `json:"result"`
	HighRisk     bool      `json:"high_risk"`
	Resolved     bool      `json:"resolved"`
	Compensation string    `json:"compensation,omitempty"`
	Adjustment   float64   `json:"adjustment,omitempty"`
	Evidence     string    `json:"evidence,omitempty"`
	Links        []string  `json:"links"`
	Note         string    `json:"note,omitempty"`
	Remediation  string    `json:"remediation,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func assessmentItemDTO(i store.AssessmentItem) AssessmentItem {
	return AssessmentItem{Item: i.Item, Object: i.Object, Result: i.Result, HighRisk: i.HighRisk, Resolved: i.Resolved,
		Compensation: i.Compensation, Adjustment: i.Adjustment, Evidence: i.Evidence, Links: nonNilStrings(i.Links), Note: i.Note,
		Remediation: i.Remediation, UpdatedAt: i.UpdatedAt}
}

// AssessmentInput opens a project.
type AssessmentInput struct {
	Name   string `json:"name" minLength:"1" maxLength:"200"`
	System string `json:"system" minLength:"1" maxLength:"200"`
	Level  int    `json:"level" enum:"2,3"`
	Agency string `json:"agency,omitempty" maxLength:"200"`
}

// AssessmentItemInput records one result.
type AssessmentItemInput struct {
	Item         string   `json:"item" minLength:"1" maxLength:"64"`
	Object       string   `json:"object,omitempty" maxLength:"200" doc:"Assessed object; the name or address of exactly one asset binds it to that asset"`
	Asset        string   `json:"asset,omitempty" maxLength:"100" doc:"Asset ID of the tenant assessed; the object is then bound to it"`
	Result       string   `json:"result" minLength:"1" maxLength:"40" doc:"compliant, partial, non-compliant, not-applicable (or 符合, 部分符合, 不符合, 不适用)"`
	HighRisk     bool     `json:"high_risk,omitempty"`
	Resolved     bool     `json:"resolved,omitempty"`
	Compensation string   `json:"compensation,omitempty" maxLength:"4000"`
	Adjustment   float64  `json:"adjustment,omitempty" minimum:"0" maximum:"1"`
	Evidence     string   `json:"evidence,omitempty" maxLength:"20000"`
	Links        []string `json:"links,omitempty" maxItems:"50"`
	Note         string   `json:"note,omitempty" maxLength:"4000"`
	Remediation  string   `json:"remediation,omitempty" maxLength:"4000"`
}

// AssessmentPhaseInput moves a project to another phase.
type AssessmentPhaseInput struct {
	Phase   string `json:"phase" enum:"preparation,plan,onsite,report,done"`
	Version int    `json:"version" minimum:"0"`
}

type assessListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

type assessCreateIn struct {
	TenantParam
	Body AssessmentInput
}

type assessParamIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100" doc:"Project ID"`
}

type assessItemIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Body    AssessmentItemInput
}

type assessPhaseIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Body    AssessmentPhaseInput
}

func (s *server) registerAssessments() {
	if s.opts.Assessments == nil {
		return
	}
	tags := []string{"assessments"}
	base := "/tenants/{tenant}/assessments"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-assessments", Method: http.MethodGet, Path: base,
		Summary: "List MLPS assessment projects", Tags: tags}, s.listAssessments)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "create-assessment", Method: http.MethodPost, Path: base,
		Summary: "Open an MLPS assessment project", DefaultStatus: http.StatusCreated, Tags: tags}, s.createAssessment)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-assessment", Method: http.MethodGet, Path: base + "/{project}",
		Summary: "Get a project with its score and conclusion", Tags: tags}, s.getAssessment)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-assessment-items", Method: http.MethodGet,
		Path: base + "/{project}/items", Summary: "The project's recorded item results", Tags: tags}, s.listAssessmentItems)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "set-assessment-item", Method: http.MethodPut,
		Path: base + "/{project}/items", Summary: "Record the result of one item for one object", Tags: tags}, s.setAssessmentItem)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "move-assessment", Method: http.MethodPost,
		Path: base + "/{project}/phase", Summary: "Move a project to another phase of GB/T 28449", Tags: tags}, s.moveAssessment)
	s.registerAssessmentEvidence(tags, base)
}

func (s *server) listAssessments(ctx context.Context, in *assessListIn) (*out[[]Assessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.opts.Assessments.List(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(ps, assessmentDTO))
}

func (s *server) createAssessment(ctx context.Context, in *assessCreateIn) (*out[Assessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.opts.Assessments.Create(ctx, t.ID, project.ProjectInput{Name: in.Body.Name, System: in.Body.System, Level: in.Body.Level,
		Agency: in.Body.Agency})
	if err != nil {
		return nil, err
	}
	return reply(assessmentDTO(p))
}

func (s *server) getAssessment(ctx context.Context, in *assessParamIn) (*out[Assessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Assessments.Assess(ctx, t.ID, in.Project)
	if err != nil {
		return nil, err
	}
	d := assessmentDTO(a.Project)
	d.Recorded = len(a.Items)
	if a.Card != nil {
		score := a.Card.Overall
		d.Score, d.Conclusion, d.HighRisks = &score, string(a.Card.Conclusion), len(a.Card.HighRisks)
	}
	return reply(d)
}

func (s *server) listAssessmentItems(ctx context.Context, in *assessParamIn) (*out[[]AssessmentItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	is, err := s.opts.Assessments.Items(ctx, t.ID, in.Project)
	if err != nil {
		return nil, err
	}
	return reply(items(is, assessmentItemDTO))
}

func (s *server) setAssessmentItem(ctx context.Context, in *assessItemIn) (*out[AssessmentItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	it, err := s.opts.Assessments.SetItem(ctx, t.ID, in.Project, project.ItemInput{Item: b.Item, Object: b.Object, Asset: b.Asset, Result: b.Result,
		HighRisk: b.HighRisk, Resolved: b.Resolved, Compensation: b.Compensation, Adjustment: b.Adjustment, Evidence: b.Evidence,
		Links: b.Links, Note: b.Note, Remediation: b.Remediation})
	if err != nil {
		return nil, err
	}
	return reply(assessmentItemDTO(it))
}

func (s *server) moveAssessment(ctx context.Context, in *assessPhaseIn) (*out[Assessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.opts.Assessments.SetPhase(ctx, t.ID, in.Project, in.Body.Phase, in.Body.Version)
	if err != nil {
		return nil, err
	}
	return reply(assessmentDTO(p))
}
