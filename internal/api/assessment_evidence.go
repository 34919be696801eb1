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

// Evidence files, proposed results, scope, communication log and
// remediation of an MLPS assessment project.

// AssessmentProposal is a result proposed for an item from the stored
// evidence of the project's assets; it is never recorded by itself.
type AssessmentProposal struct {
	Item     string   `json:"item"`
	Result   string   `json:"result,omitempty" doc:"Proposed result code; absent when there is no evidence yet"`
	Evidence string   `json:"evidence" doc:"The evidence in one line, in the requested language"`
	Passed   []int    `json:"passed_checks" doc:"Mapped baseline checks passed in the latest runs"`
	Failed   []int    `json:"failed_checks" doc:"Mapped baseline checks failed on at least one asset"`
	Missing  []int    `json:"missing_checks" doc:"Mapped baseline checks without a result"`
	Open     int      `json:"open_findings,omitempty"`
	Severe   int      `json:"severe_findings,omitempty" doc:"Open critical or high findings"`
	Links    []string `json:"links" doc:"Site paths of the baseline runs and findings"`
}

// AssessmentCoverage counts the recorded results with evidence.
type AssessmentCoverage struct {
	Counted      int            `json:"counted" doc:"Recorded results other than not applicable"`
	WithEvidence int            `json:"with_evidence" doc:"Of them, with evidence text, a link or a file on the item"`
	Percent      float64        `json:"percent"`
	Files        map[string]int `json:"files" doc:"Evidence files per item"`
}

// Communication is one entry of a project's communication log.
type Communication struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind" enum:"meeting,decision,note"`
	At           time.Time `json:"at"`
	Participants string    `json:"participants,omitempty"`
	Text         string    `json:"text"`
	CreatedBy    string    `json:"created_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

func communicationDTO(c store.ProjectCommunication) Communication {
	return Communication{ID: c.ID, Kind: c.Kind, At: c.OccurredAt, Participants: c.Participants, Text: c.Text, CreatedBy: c.CreatedBy,
		CreatedAt: c.CreatedAt}
}

// CommunicationInput appends to the log.
type CommunicationInput struct {
	Kind         string     `json:"kind" enum:"meeting,decision,note"`
	At           *time.Time `json:"at,omitempty" doc:"When it happened; now when absent"`
	Participants string     `json:"participants,omitempty" maxLength:"500"`
	Text         string     `json:"text" minLength:"1" maxLength:"8000"`
}

// AssessmentScope is the assets a project covers.
type AssessmentScope struct {
	Assets []string `json:"assets" maxItems:"1000" doc:"Asset IDs"`
}

// RaisedItems counts the remediation items created.
type RaisedItems struct {
	Created int `json:"created"`
}

type assessProposalsIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Lang    string `query:"lang" enum:"en,zh-CN" default:"zh-CN"`
}

type assessEvidenceIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Item    string `path:"item" maxLength:"64"`
}

type assessEvidenceFileIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Item    string `path:"item" maxLength:"64"`
	File    string `path:"file" maxLength:"100" doc:"Attachment ID"`
}

type assessEvidenceAddIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Item    string `path:"item" maxLength:"64"`
	RawBody huma.MultipartFormFiles[AttachmentForm]
}

type assessCommIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Body    CommunicationInput
}

type assessScopeIn struct {
	TenantParam
	Project string `path:"project" maxLength:"100"`
	Body    AssessmentScope
}

func (s *server) registerAssessmentEvidence(tags []string, base string) {
	p := base + "/{project}"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-assessment-proposals", Method: http.MethodGet,
		Path: p + "/proposals", Summary: "Results proposed from baseline runs and findings",
		Description: "For items mapped to baseline checks or vulnerability states, from the latest runs and the findings of the project's " +
			"assets. A proposal is never recorded by itself: record it with set-assessment-item.", Tags: tags}, s.listAssessmentProposals)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-assessment-coverage", Method: http.MethodGet,
		Path: p + "/coverage", Summary: "Evidence coverage of the recorded results", Tags: tags}, s.getAssessmentCoverage)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-assessment-scope", Method: http.MethodGet,
		Path: p + "/scope", Summary: "The assets a project covers", Tags: tags}, s.getAssessmentScope)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "set-assessment-scope", Method: http.MethodPut,
		Path: p + "/scope", Summary: "Set the assets a project covers", Tags: tags}, s.setAssessmentScope)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-assessment-communications", Method: http.MethodGet,
		Path: p + "/communications", Summary: "The project's communication log, oldest first", Tags: tags}, s.listCommunications)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "add-assessment-communication", Method: http.MethodPost,
		Path: p + "/communications", Summary: "Append a meeting, decision or note to the log",
		Description: "Entries are never changed or removed; each is audited.", DefaultStatus: http.StatusCreated, Tags: tags}, s.addCommunication)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "remediate-assessment", Method: http.MethodPost,
		Path: p + "/remediate", Summary: "Raise remediation items from the project's gaps",
		Description: "Every result that is not conform or partly conform and every unresolved high risk, once.", Tags: tags}, s.remediateAssessment)
	if s.opts.Attachments == nil {
		return
	}
	files := p + "/items/{item}/evidence"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-assessment-evidence", Method: http.MethodGet, Path: files,
		Summary: "List an item's evidence files", Tags: tags}, s.listEvidence)
	limit := s.uploadLimit()
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "add-assessment-evidence", Method: http.MethodPost, Path: files,
		Summary: "Attach an evidence file to an item", Description: "A multipart form with the file in \"file\" and an optional \"note\". " +
			"The file is kept with its SHA-256, counted in the project's evidence coverage and only ever served back as application/octet-stream.",
		DefaultStatus: http.StatusCreated, Tags: tags, MaxBodyBytes: limit, Middlewares: s.uploadBody(limit)}, s.addEvidence)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-assessment-evidence", Method: http.MethodGet, Path: files + "/{file}",
		Summary: "Download an evidence file", Description: "Served as application/octet-stream after its SHA-256 is checked. Audited.",
		Tags: tags}, s.getEvidence)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "delete-assessment-evidence", Method: http.MethodDelete, Path: files + "/{file}",
		Summary: "Remove an evidence file", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteEvidence)
}

func proposalDTO(p project.Proposal, lang string) AssessmentProposal {
	d := AssessmentProposal{Item: p.Item, Result: p.Result, Evidence: p.Summary(lang), Open: p.Open, Severe: p.Severe,
		Links: nonNilStrings(p.Links), Passed: []int{}, Failed: []int{}, Missing: []int{}}
	for _, c := range p.Passed {
		d.Passed = append(d.Passed, c.ID)
	}
	for _, c := range p.Failed {
		d.Failed = append(d.Failed, c.ID)
	}
	for _, c := range p.Missing {
		d.Missing = append(d.Missing, c.ID)
	}
	return d
}

func (s *server) listAssessmentProposals(ctx context.Context, in *assessProposalsIn) (*out[[]AssessmentProposal], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.opts.Assessments.Proposals(ctx, t.ID, in.Project)
	if err != nil {
		return nil, err
	}
	return reply(items(ps, func(p project.Proposal) AssessmentProposal { return proposalDTO(p, in.Lang) }))
}

func (s *server) getAssessmentCoverage(ctx context.Context, in *assessParamIn) (*out[AssessmentCoverage], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Assessments.Assess(ctx, t.ID, in.Project)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Assessments.Coverage(ctx, a)
	if err != nil {
		return nil, err
	}
	if c.Files == nil {
		c.Files = map[string]int{}
	}
	return reply(AssessmentCoverage{Counted: c.Counted, WithEvidence: c.WithEvidence, Percent: c.Percent, Files: c.Files})
}

func (s *server) getAssessmentScope(ctx context.Context, in *assessParamIn) (*out[[]Asset], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	as, err := s.opts.Assessments.Scope(ctx, t.ID, in.Project)
	if err != nil {
		return nil, err
	}
	return reply(items(as, assetDTO))
}

func (s *server) setAssessmentScope(ctx context.Context, in *assessScopeIn) (*out[[]Asset], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Assessments.SetScope(ctx, t.ID, in.Project, in.Body.Assets); err != nil {
		return nil, err
	}
	return s.getAssessmentScope(ctx, &assessParamIn{TenantParam: in.TenantParam, Project: in.Project})
}

func (s *server) listCommunications(ctx context.Context, in *assessParamIn) (*out[[]Communication], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := s.opts.Assessments.Communications(ctx, t.ID, in.Project)
	if err != nil {
		return nil, err
	}
	return reply(items(cs, communicationDTO))
}

func (s *server) addCommunication(ctx context.Context, in *assessCommIn) (*out[Communication], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ci := project.CommunicationInput{Kind: in.Body.Kind, Participants: in.Body.Participants, Text: in.Body.Text}
	if in.Body.At != nil {
		ci.At = *in.Body.At
	}
	c, err := s.opts.Assessments.AddCommunication(ctx, t.ID, in.Project, ci)
	if err != nil {
		return nil, err
	}
	return reply(communicationDTO(c))
}

func (s *server) remediateAssessment(ctx context.Context, in *assessParamIn) (*out[RaisedItems], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.opts.Assessments.Remediate(ctx, t.ID, in.Project)
	if err != nil {
		return nil, err
	}
	return reply(RaisedItems{Created: n})
}

func (s *server) listEvidence(ctx context.Context, in *assessEvidenceIn) (*out[AttachmentList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, in.Project, in.Item)
	if err != nil {
		return nil, err
	}
	fs, err := s.opts.Attachments.List(ctx, auth.PermAssessRead, owner)
	if err != nil {
		return nil, err
	}
	return reply(AttachmentList{Items: items(fs, attachmentDTO)})
}

func (s *server) addEvidence(ctx context.Context, in *assessEvidenceAddIn) (*out[Attachment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	f := in.RawBody.Data()
	defer f.File.Close()
	owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, in.Project, in.Item)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Attachments.Add(ctx, auth.PermAssessWrite, owner, formInput(f))
	if err != nil {
		return nil, err
	}
	return reply(attachmentDTO(a))
}

func (s *server) getEvidence(ctx context.Context, in *assessEvidenceFileIn) (*fileDownload, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, in.Project, in.Item)
	if err != nil {
		return nil, err
	}
	a, data, err := s.opts.Attachments.Open(ctx, auth.PermAssessRead, owner, in.File)
	if err != nil {
		return nil, err
	}
	return download(a, data), nil
}

func (s *server) deleteEvidence(ctx context.Context, in *assessEvidenceFileIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, in.Project, in.Item)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Attachments.Delete(ctx, auth.PermAssessWrite, owner, in.File); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}
