package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

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
