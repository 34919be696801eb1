package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// WorkOrder is an operations work order (工单).
type WorkOrder struct {
	ID          string             `json:"id"`
	Ref         string             `json:"ref" doc:"Per-tenant reference, e.g. WO-2026-0012"`
	Type        string             `json:"type" enum:"access,change,remediation,inspection"`
	Title       string             `json:"title"`
	Description string             `json:"description,omitempty"`
	State       string             `json:"state" enum:"draft,submitted,approved,rejected,in_progress,done,verified,reopened,cancelled"`
	SourceRef   string             `json:"source_ref,omitempty" doc:"The finding or case a remediation fixes"`
	Requester   string             `json:"requester"`
	Approver    string             `json:"approver,omitempty"`
	Executor    string             `json:"executor,omitempty"`
	Verifier    string             `json:"verifier,omitempty"`
	Hosts       []string           `json:"hosts"`
	Accounts    []string           `json:"accounts"`
	WindowStart *time.Time         `json:"window_start,omitempty"`
	WindowEnd   *time.Time         `json:"window_end,omitempty"`
	Due         *time.Time         `json:"due,omitempty"`
	History     []WorkOrderStep    `json:"history"`
	Comments    []WorkOrderComment `json:"comments"`
	Version     int                `json:"version" doc:"Pass it back on changes; a stale version is a conflict"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

// WorkOrderStep is one recorded transition.
type WorkOrderStep struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	User   string    `json:"user"`
	Role   string    `json:"role"`
	From   string    `json:"from"`
	To     string    `json:"to"`
}

// WorkOrderComment is a note on an order.
type WorkOrderComment struct {
	At     time.Time `json:"at"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

func workOrderDTO(o ops.Order) WorkOrder {
	d := WorkOrder{ID: o.ID, Ref: o.Ref, Type: string(o.Type), Title: o.Title, Description: o.Description, State: string(o.State),
		SourceRef: o.SourceRef, Requester: o.Requester, Approver: o.Approver, Executor: o.Executor, Verifier: o.Verifier,
		Hosts: nonNilStrings(o.Hosts), Accounts: nonNilStrings(o.Accounts), WindowStart: optTime(o.WindowStart),
		WindowEnd: optTime(o.WindowEnd), Due: optTime(o.Due), History: []WorkOrderStep{}, Comments: []WorkOrderComment{},
		Version: o.Version, UpdatedAt: o.UpdatedAt}
	for _, h := range o.History {
		d.History = append(d.History, WorkOrderStep{At: h.At, Action: string(h.Action), User: h.Actor.User, Role: string(h.Actor.Role),
			From: string(h.From), To: string(h.To)})
	}
	for _, c := range o.Comments {
		d.Comments = append(d.Comments, WorkOrderComment{At: c.At, Author: c.Author, Text: c.Text})
	}
	return d
}

// WorkOrderList is a page of orders.
type WorkOrderList struct {
	Items  []WorkOrder `json:"items"`
	Total  int         `json:"total"`
	Limit  int         `json:"limit"`
	Offset int         `json:"offset"`
}

// WorkOrderInput requests a new order; the caller is the requester.
type WorkOrderInput struct {
	Type        string     `json:"type" enum:"access,change,remediation,inspection"`
	Title       string     `json:"title" minLength:"1" maxLength:"200"`
	Description string     `json:"description,omitempty" maxLength:"20000"`
	SourceRef   string     `json:"source_ref,omitempty" maxLength:"200"`
	AssetIDs    []string   `json:"asset_ids,omitempty" maxItems:"500"`
	Hosts       []string   `json:"hosts,omitempty" maxItems:"500"`
	Accounts    []string   `json:"accounts,omitempty" maxItems:"500"`
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   *time.Time `json:"window_end,omitempty"`
	Submit      bool       `json:"submit,omitempty" doc:"Submit for approval at once"`
}

// WorkOrderActionInput moves an order through its flow.
type WorkOrderActionInput struct {
	Action  string `json:"action" enum:"submit,approve,reject,revise,start,complete,verify,reopen,cancel"`
	Comment string `json:"comment,omitempty" maxLength:"20000"`
	Version int    `json:"version" minimum:"0" doc:"The version read; 0 skips the check"`
}

// WorkOrderAssignInput names the executor and verifier.
type WorkOrderAssignInput struct {
	Executor string `json:"executor,omitempty" maxLength:"100" doc:"User ID"`
	Verifier string `json:"verifier,omitempty" maxLength:"100" doc:"User ID"`
	Version  int    `json:"version" minimum:"0"`
}

type woListIn struct {
	TenantParam
	State  string `query:"state" enum:"draft,submitted,approved,rejected,in_progress,done,verified,reopened,cancelled,"`
	Type   string `query:"type" enum:"access,change,remediation,inspection,"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int    `query:"offset" minimum:"0"`
}

type woCreateIn struct {
	TenantParam
	Body WorkOrderInput
}

type woParamIn struct {
	TenantParam
	Order string `path:"order" maxLength:"100" doc:"Work order ID"`
}

type woActIn struct {
	TenantParam
	Order string `path:"order" maxLength:"100"`
	Body  WorkOrderActionInput
}

type woAssignIn struct {
	TenantParam
	Order string `path:"order" maxLength:"100"`
	Body  WorkOrderAssignInput
}

func (s *server) registerWorkOrders() {
	if s.opts.Ops == nil {
		return
	}
	tags := []string{"work-orders"}
	base := "/tenants/{tenant}/work-orders"
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "list-work-orders", Method: http.MethodGet, Path: base,
		Summary: "List work orders", Description: "Most recently updated first.", Tags: tags}, s.listWorkOrders)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "create-work-order", Method: http.MethodPost, Path: base,
		Summary: "Request a work order", Description: "Needs asset.write or incident.write; the caller is the requester.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createWorkOrder)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "get-work-order", Method: http.MethodGet, Path: base + "/{order}",
		Summary: "Get a work order with its history", Tags: tags}, s.getWorkOrder)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "act-on-work-order", Method: http.MethodPost, Path: base + "/{order}/actions",
		Summary: "Move a work order through its flow", Description: "Approve and reject need asset.write and incident.write; start and " +
			"complete asset.write; verify and reopen incident.write. An approver never decides on their own request and an executor never " +
			"verifies their own work.", Tags: tags}, s.actOnWorkOrder)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "assign-work-order", Method: http.MethodPost, Path: base + "/{order}/assign",
		Summary: "Name the executor and verifier", Description: "Needs asset.write and incident.write.", Tags: tags}, s.assignWorkOrder)

	files := base + "/{order}/attachments"
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "list-work-order-attachments", Method: http.MethodGet, Path: files,
		Summary: "List a work order's files", Description: "Whoever may see the order may list its files.", Tags: tags}, s.listWorkOrderFiles)
	limit := s.uploadLimit()
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "add-work-order-attachment", Method: http.MethodPost, Path: files,
		Summary: "Attach a file to a work order", Description: "A multipart form with the file in \"file\" and an optional \"note\". " +
			"Requesters, executors and approvers (asset.write or incident.write) may; a closed order (verified, rejected, cancelled) takes " +
			"no new files. The file is kept with its SHA-256 and is only ever served back as application/octet-stream.",
		DefaultStatus: http.StatusCreated, Tags: tags, MaxBodyBytes: limit, Middlewares: s.uploadBody(limit)}, s.addWorkOrderFile)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "get-work-order-attachment", Method: http.MethodGet, Path: files + "/{file}",
		Summary: "Download a work order's file", Description: "Served as application/octet-stream after its SHA-256 is checked; a file " +
			"changed after upload is refused. Audited.", Tags: tags}, s.getWorkOrderFile)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "delete-work-order-attachment", Method: http.MethodDelete, Path: files + "/{file}",
		Summary: "Remove a work order's file", Description: "Those who may attach may, while the order is not closed.",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteWorkOrderFile)
}

// Attachment is a file kept with an object (a work order, a drill, an
// attack record).
type Attachment struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	SHA256       string    `json:"sha256"`
	Size         int64     `json:"size"`
	SniffedType  string    `json:"sniffed_type" doc:"What the content is, sniffed from its first bytes"`
	DeclaredType string    `json:"declared_type,omitempty" doc:"What the uploader said it is; never used to serve it"`
	Note         string    `json:"note,omitempty"`
	CreatedBy    string    `json:"created_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

func attachmentDTO(a store.Attachment) Attachment {
	return Attachment{ID: a.ID, Name: a.Name, SHA256: a.SHA256, Size: a.Size, SniffedType: a.SniffedType, DeclaredType: a.DeclaredType,
		Note: a.Note, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt}
}

// AttachmentList is an object's files, oldest first.
type AttachmentList struct {
	Items []Attachment `json:"items"`
}

// AttachmentForm is an upload: one file and an optional note.
type AttachmentForm struct {
	File huma.FormFile `form:"file" required:"true" doc:"The file"`
	Note string        `form:"note" required:"false" maxLength:"2000"`
}

// fileDownload is a file sent as an attachment, never rendered.
type fileDownload struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	NoSniff            string `header:"X-Content-Type-Options"`
	CSP                string `header:"Content-Security-Policy"`
	SHA256             string `header:"X-Attachment-SHA256"`
	Body               []byte
}

func download(a store.Attachment, data []byte) *fileDownload {
	h := http.Header{}
	attach.Headers(h, a)
	return &fileDownload{ContentType: h.Get("Content-Type"), ContentDisposition: h.Get("Content-Disposition"),
		NoSniff: h.Get("X-Content-Type-Options"), CSP: h.Get("Content-Security-Policy"), SHA256: h.Get("X-Attachment-SHA256"), Body: data}
}

// uploadLimit is the largest multipart upload body: the attachment size
// limit and room for the form around it.
func (s *server) uploadLimit() int64 {
	n := int64(attach.DefaultMaxSize)
	if s.opts.Attachments != nil {
		n = s.opts.Attachments.MaxSize()
	}
	return n + 1<<20
}

// multipartMemory is how much of an upload is kept in memory; the rest is
// spooled to temporary files removed after the request.
const multipartMemory = 8 << 20

// uploadBody bounds a multipart body at limit bytes and reads the form
// before the operation does, so an oversized upload is a 413 and stores
// nothing. It runs after guard: only authorised callers are read.
func (s *server) uploadBody(limit int64) huma.Middlewares {
	return huma.Middlewares{func(hctx huma.Context, next func(huma.Context)) {
		r, w := humachi.Unwrap(hctx)
		if r.ContentLength > limit {
			s.writeErr(hctx, &http.MaxBytesError{Limit: limit})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseMultipartForm(multipartMemory); err != nil {
			var mbe *http.MaxBytesError
			if !errors.As(err, &mbe) {
				err = fmt.Errorf("%w: the multipart form could not be read", store.ErrInvalid)
			}
			s.writeErr(hctx, err)
			return
		}
		defer func() { _ = r.MultipartForm.RemoveAll() }()
		next(hctx)
	}}
}

// formInput is the attach.Input of an uploaded form.
func formInput(f *AttachmentForm) attach.Input {
	return attach.Input{Name: f.File.Filename, DeclaredType: f.File.ContentType, Note: f.Note, Content: f.File}
}

type woFileIn struct {
	TenantParam
	Order string `path:"order" maxLength:"100"`
	File  string `path:"file" maxLength:"100" doc:"Attachment ID"`
}

type woFileAddIn struct {
	TenantParam
	Order   string `path:"order" maxLength:"100"`
	RawBody huma.MultipartFormFiles[AttachmentForm]
}

func (s *server) listWorkOrderFiles(ctx context.Context, in *woParamIn) (*out[AttachmentList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := s.opts.Ops.Files(ctx, t.ID, in.Order)
	if err != nil {
		return nil, err
	}
	return reply(AttachmentList{Items: items(fs, attachmentDTO)})
}

func (s *server) addWorkOrderFile(ctx context.Context, in *woFileAddIn) (*out[Attachment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	f := in.RawBody.Data()
	defer f.File.Close()
	a, err := s.opts.Ops.AddFile(ctx, t.ID, in.Order, formInput(f))
	if err != nil {
		return nil, err
	}
	return reply(attachmentDTO(a))
}

func (s *server) getWorkOrderFile(ctx context.Context, in *woFileIn) (*fileDownload, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, data, err := s.opts.Ops.OpenFile(ctx, t.ID, in.Order, in.File)
	if err != nil {
		return nil, err
	}
	return download(a, data), nil
}

func (s *server) deleteWorkOrderFile(ctx context.Context, in *woFileIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return &noContent{}, s.opts.Ops.DeleteFile(ctx, t.ID, in.Order, in.File)
}

func (s *server) listWorkOrders(ctx context.Context, in *woListIn) (*out[WorkOrderList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	os, total, err := s.opts.Ops.List(ctx, t.ID, store.WorkOrderFilter{State: in.State, Type: in.Type, Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	return reply(WorkOrderList{Items: items(os, workOrderDTO), Total: total, Limit: in.Limit, Offset: in.Offset})
}

func (s *server) createWorkOrder(ctx context.Context, in *woCreateIn) (*out[WorkOrder], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	oi := ops.Input{Type: workorder.Type(b.Type), Title: b.Title, Description: b.Description, SourceRef: b.SourceRef,
		AssetIDs: b.AssetIDs, Hosts: b.Hosts, Accounts: b.Accounts, Submit: b.Submit}
	if b.WindowStart != nil {
		oi.WindowStart = *b.WindowStart
	}
	if b.WindowEnd != nil {
		oi.WindowEnd = *b.WindowEnd
	}
	o, err := s.opts.Ops.Create(ctx, t.ID, oi)
	if err != nil {
		return nil, err
	}
	return reply(workOrderDTO(o))
}

func (s *server) getWorkOrder(ctx context.Context, in *woParamIn) (*out[WorkOrder], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.opts.Ops.Get(ctx, t.ID, in.Order)
	if err != nil {
		return nil, err
	}
	return reply(workOrderDTO(o))
}

func (s *server) actOnWorkOrder(ctx context.Context, in *woActIn) (*out[WorkOrder], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.opts.Ops.Act(ctx, t.ID, in.Order, in.Body.Version, workorder.Action(in.Body.Action), in.Body.Comment)
	if err != nil {
		return nil, err
	}
	return reply(workOrderDTO(o))
}

func (s *server) assignWorkOrder(ctx context.Context, in *woAssignIn) (*out[WorkOrder], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.opts.Ops.Assign(ctx, t.ID, in.Order, in.Body.Version, in.Body.Executor, in.Body.Verifier)
	if err != nil {
		return nil, err
	}
	return reply(workOrderDTO(o))
}
