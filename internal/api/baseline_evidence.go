package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// The evidence files of manual baseline results: what an assessor attaches
// on the manual-check page can be uploaded, listed and downloaded through
// the API too. The files belong to the manual run; each names the check it
// is evidence for. They are kept content-addressed by the attachment
// service (SHA-256 checked on download), bounded in size, audited, and
// only ever served as application/octet-stream.

// BaselineEvidenceForm is an evidence upload: one file for one check the
// assessor decided in the run.
type BaselineEvidenceForm struct {
	File    huma.FormFile `form:"file" required:"true" doc:"The evidence file"`
	CheckID string        `form:"check_id" required:"true" maxLength:"200" doc:"The check of the run it is evidence for"`
}

type baselineEvidenceAddIn struct {
	TenantParam
	Run     string `path:"run" maxLength:"100" doc:"A run of manual results"`
	RawBody huma.MultipartFormFiles[BaselineEvidenceForm]
}

type baselineEvidenceListIn struct {
	TenantParam
	Run     string `path:"run" maxLength:"100" doc:"A run of manual results"`
	CheckID string `query:"check_id" maxLength:"200" doc:"Only the files of this check"`
}

type baselineEvidenceFileIn struct {
	TenantParam
	Run  string `path:"run" maxLength:"100" doc:"A run of manual results"`
	File string `path:"file" maxLength:"100" doc:"Attachment ID"`
}

// BaselineEvidence is an evidence file of a manual result.
type BaselineEvidence struct {
	Attachment
	CheckID string `json:"check_id"`
}

// BaselineEvidenceList is a manual run's evidence files, oldest first.
type BaselineEvidenceList struct {
	Items []BaselineEvidence `json:"items"`
}

func baselineEvidenceDTO(a store.Attachment) BaselineEvidence {
	e := BaselineEvidence{Attachment: attachmentDTO(a), CheckID: a.Note}
	e.Note = ""
	return e
}

// registerBaselineEvidence adds the evidence endpoints of manual runs.
func (s *server) registerBaselineEvidence() {
	tags := []string{"baseline"}
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	path := "/tenants/{tenant}/baseline/runs/{run}/evidence"
	register(s, read, huma.Operation{OperationID: "list-baseline-evidence", Method: http.MethodGet, Path: path,
		Summary: "List the evidence files of a manual run", Description: "The files assessors attached to the checks they " +
			"decided in a run of manual results, oldest first; check_id narrows them to one check.", Tags: tags},
		s.listBaselineEvidence)
	limit := s.uploadLimit()
	register(s, write, huma.Operation{OperationID: "add-baseline-evidence", Method: http.MethodPost, Path: path,
		Summary: "Attach an evidence file to a manual result", Description: "A multipart form with the file in \"file\" and the " +
			"check in \"check_id\": a check an assessor decided in this run of manual results (a pending check, or a run of " +
			"another source, takes no files: 422). The file is kept with its SHA-256, bounded by the attachment size limit " +
			"(413 beyond), audited, and only ever served back as application/octet-stream.",
		DefaultStatus: http.StatusCreated, Tags: tags, MaxBodyBytes: limit, Middlewares: s.uploadBody(limit)}, s.addBaselineEvidence)
	register(s, read, huma.Operation{OperationID: "get-baseline-evidence", Method: http.MethodGet, Path: path + "/{file}",
		Summary: "Download an evidence file of a manual run", Description: "Served as application/octet-stream after its " +
			"SHA-256 is checked; a file changed after upload is refused. Audited.", Tags: tags}, s.getBaselineEvidence)
}

// evidenceOwner is the attachment owner of run's evidence, once the
// baseline and attachment services are known to run.
func (s *server) evidenceOwner(ctx context.Context, perm auth.Perm, run, checkID string) (attach.Owner, error) {
	t, err := s.baselineTenant(ctx)
	if err != nil {
		return attach.Owner{}, err
	}
	if s.opts.Attachments == nil {
		return attach.Owner{}, errBaselineOff
	}
	return s.opts.Baseline.ManualEvidenceOwner(ctx, perm, t.ID, run, checkID)
}

func (s *server) listBaselineEvidence(ctx context.Context, in *baselineEvidenceListIn) (*out[BaselineEvidenceList], error) {
	owner, err := s.evidenceOwner(ctx, auth.PermAssessRead, in.Run, "")
	if err != nil {
		return nil, err
	}
	fs, err := s.opts.Attachments.List(ctx, auth.PermAssessRead, owner)
	if err != nil {
		return nil, err
	}
	list := BaselineEvidenceList{Items: []BaselineEvidence{}}
	for _, a := range fs {
		if in.CheckID == "" || a.Note == in.CheckID {
			list.Items = append(list.Items, baselineEvidenceDTO(a))
		}
	}
	return reply(list)
}

func (s *server) addBaselineEvidence(ctx context.Context, in *baselineEvidenceAddIn) (*out[BaselineEvidence], error) {
	f := in.RawBody.Data()
	defer f.File.Close()
	owner, err := s.evidenceOwner(ctx, auth.PermAssessWrite, in.Run, f.CheckID)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Attachments.Add(ctx, auth.PermAssessWrite, owner, attach.Input{Name: f.File.Filename,
		DeclaredType: f.File.ContentType, Note: f.CheckID, Content: f.File})
	if err != nil {
		return nil, err
	}
	return reply(baselineEvidenceDTO(a))
}

func (s *server) getBaselineEvidence(ctx context.Context, in *baselineEvidenceFileIn) (*fileDownload, error) {
	owner, err := s.evidenceOwner(ctx, auth.PermAssessRead, in.Run, "")
	if err != nil {
		return nil, err
	}
	a, data, err := s.opts.Attachments.Open(ctx, auth.PermAssessRead, owner, in.File)
	if err != nil {
		return nil, err
	}
	return download(a, data), nil
}
