// Package ops is the operations management service of a tenant (运维管理与
// 安全审计): work orders kept in the store and moved through their
// approval flow (internal/workorder owns the flow and its rules), and the
// ops audit that checks the access sessions found in the tenant's stored
// logs against the approved orders.
//
// Permissions: anyone who may read assets sees the orders; requesting
// needs asset.write or incident.write; approving, rejecting and naming the
// executor need both asset.write and incident.write (experts and
// administrators); starting and completing need asset.write; verifying and
// reopening need incident.write. Separation of duties (an approver never
// decides on their own request, an executor never verifies their own
// work) is the order's own rule.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// Bounds.
const (
	// MaxAuditEvents bounds the events one ops audit reads.
	MaxAuditEvents = 200_000
	// MaxAuditOrders bounds the orders one ops audit reads.
	MaxAuditOrders = 10_000
	// MaxAuditDays bounds the period of one ops audit.
	MaxAuditDays = 366
)

// Service runs work orders and the ops audit.
type Service struct {
	store    store.Store
	audit    *audit.Log
	logger   *slog.Logger
	now      func() time.Time
	onChange func(ctx context.Context, o Order, change string) error
	files    *attach.Service
}

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// OnChange is told of each created order and each step of its flow
	// after it is stored and audited; its error is logged, never returned.
	OnChange func(ctx context.Context, o Order, change string) error
	// Files keeps the orders' attachments; nil refuses them.
	Files *attach.Service
}

// NewService returns a Service.
func NewService(st store.Store, a *audit.Log, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: st, audit: a, logger: opts.Logger, now: opts.Now, onChange: opts.OnChange, files: opts.Files}
}

// Order is a stored order with its store bookkeeping.
type Order struct {
	workorder.Order
	Version   int
	UpdatedAt time.Time
}

func invalid(field, code string, a map[string]any, format string, args ...any) error {
	return store.NewFieldError(field, code, a, format, args...)
}

func decode(row store.WorkOrder) (Order, error) {
	var o workorder.Order
	if err := json.Unmarshal(row.Doc, &o); err != nil {
		return Order{}, fmt.Errorf("work order %s: %w", row.ID, err)
	}
	o.ID, o.Ref, o.Tenant = row.ID, row.Ref, row.TenantID
	return Order{Order: o, Version: row.Version, UpdatedAt: row.UpdatedAt}, nil
}

func encode(o *Order) (store.WorkOrder, error) {
	doc, err := json.Marshal(o.Order)
	if err != nil {
		return store.WorkOrder{}, err
	}
	return store.WorkOrder{ID: o.ID, TenantID: o.Tenant, Ref: o.Ref, Type: string(o.Type), State: string(o.State),
		Title: o.Title, Doc: doc, Due: o.Due, Version: o.Version}, nil
}

// mayRequest is the permission check of a requester.
func mayRequest(ctx context.Context, tenantID string) error {
	p := auth.FromContext(ctx)
	if p.Can(auth.PermAssetWrite, tenantID) || p.Can(auth.PermIncidentWrite, tenantID) {
		return nil
	}
	return auth.ErrForbidden
}

// Input is a new order as a user writes it.
type Input struct {
	Type        workorder.Type
	Title       string
	Description string
	SourceRef   string
	AssetIDs    []string
	Hosts       []string
	Accounts    []string
	WindowStart time.Time
	WindowEnd   time.Time
	Executor    string
	Verifier    string
	Submit      bool // submit for approval at once
}

// Create stores a new order in draft (or submitted) with the caller as
// requester. Assets named by ID must be the tenant's; their names and
// addresses join Hosts.
func (s *Service) Create(ctx context.Context, tenantID string, in Input) (Order, error) {
	if err := mayRequest(ctx, tenantID); err != nil {
		return Order{}, err
	}
	p := auth.FromContext(ctx)
	now := s.now().UTC()
	o := Order{Order: workorder.Order{Tenant: tenantID, Type: in.Type, Title: strings.TrimSpace(in.Title), Description: in.Description,
		State: workorder.StateDraft, SourceRef: strings.TrimSpace(in.SourceRef), Requester: p.UserID, Executor: in.Executor,
		Verifier: in.Verifier, Hosts: in.Hosts, Accounts: in.Accounts, WindowStart: in.WindowStart, WindowEnd: in.WindowEnd,
		CreatedAt: now}}
	for _, id := range in.AssetIDs {
		a, err := s.store.Assets().Get(ctx, tenantID, id)
		if err != nil {
			return Order{}, invalid("assets", store.CodeNotInTenant, nil, "an asset is not this organisation's")
		}
		o.AssetIDs = append(o.AssetIDs, a.ID)
		for _, h := range []string{a.Name, a.Address} {
			if h = strings.TrimSpace(h); h != "" && !strings.ContainsAny(h, " \t") && !slices.Contains(o.Hosts, h) {
				o.Hosts = append(o.Hosts, h)
			}
		}
	}
	if err := o.Validate(); err != nil {
		return Order{}, invalid("title", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", strings.TrimPrefix(err.Error(), "work order: "))
	}
	o.Due = workorder.DefaultDue(&o.Order, now)
	if in.Submit {
		if err := workorder.Transition(&o.Order, workorder.ActionSubmit, workorder.Actor{User: p.UserID, Role: workorder.RoleRequester}, now); err != nil {
			return Order{}, refused(err)
		}
	}
	row, err := encode(&o)
	if err != nil {
		return Order{}, err
	}
	if err := s.store.WorkOrders().Create(ctx, &row); err != nil {
		return Order{}, err
	}
	// ID and reference are the row's: decode puts them back on every read.
	o.ID, o.Ref, o.Version, o.UpdatedAt = row.ID, row.Ref, row.Version, row.UpdatedAt
	if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "workorder.create", Object: "work_order:" + o.ID,
		Detail: map[string]string{"ref": o.Ref, "type": string(o.Type), "state": string(o.State)}}); err != nil {
		return o, err
	}
	s.changed(ctx, o, "created")
	return o, nil
}

func (s *Service) save(ctx context.Context, o *Order) error {
	row, err := encode(o)
	if err != nil {
		return err
	}
	if err := s.store.WorkOrders().Update(ctx, &row); err != nil {
		return err
	}
	o.Version, o.UpdatedAt = row.Version, row.UpdatedAt
	return nil
}

// refused turns a refused transition into a field error the user reads.
func refused(err error) error {
	var re *workorder.RefusedError
	if errors.As(err, &re) {
		return invalid("action", store.CodeOneOf, map[string]any{"reason": re.Reason}, "%s", re.Reason)
	}
	return err
}

// Get returns one order.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Order, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return Order{}, err
	}
	row, err := s.store.WorkOrders().Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	return decode(row)
}

// List returns a page of orders and the total the filter keeps.
func (s *Service) List(ctx context.Context, tenantID string, f store.WorkOrderFilter) ([]Order, int, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, 0, err
	}
	rows, err := s.store.WorkOrders().List(ctx, tenantID, f)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.store.WorkOrders().Count(ctx, tenantID, f)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Order, 0, len(rows))
	for _, r := range rows {
		o, err := decode(r)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, o)
	}
	return out, n, nil
}

// roleFor is the role an action is taken in, and the permission check
// that goes with it.
func roleFor(ctx context.Context, tenantID string, a workorder.Action, o *workorder.Order) (workorder.Role, error) {
	p := auth.FromContext(ctx)
	can := p.Can
	approver := can(auth.PermAssetWrite, tenantID) && can(auth.PermIncidentWrite, tenantID)
	switch a {
	case workorder.ActionSubmit, workorder.ActionRevise:
		return workorder.RoleRequester, mayRequest(ctx, tenantID)
	case workorder.ActionApprove, workorder.ActionReject:
		if !approver {
			return "", auth.ErrForbidden
		}
		return workorder.RoleApprover, nil
	case workorder.ActionStart, workorder.ActionComplete:
		return workorder.RoleExecutor, auth.Require(ctx, auth.PermAssetWrite, tenantID)
	case workorder.ActionVerify:
		return workorder.RoleVerifier, auth.Require(ctx, auth.PermIncidentWrite, tenantID)
	case workorder.ActionReopen:
		if o.Approver == p.UserID && approver {
			return workorder.RoleApprover, nil
		}
		return workorder.RoleVerifier, auth.Require(ctx, auth.PermIncidentWrite, tenantID)
	case workorder.ActionCancel:
		if o.Requester == p.UserID {
			return workorder.RoleRequester, mayRequest(ctx, tenantID)
		}
		if !approver {
			return "", auth.ErrForbidden
		}
		return workorder.RoleApprover, nil
	}
	return "", invalid("action", store.CodeOneOf, nil, "unknown action %q", a)
}

// Act applies one action of the flow as the caller, over the version the
// caller saw; a comment may go with it.
func (s *Service) Act(ctx context.Context, tenantID, id string, version int, a workorder.Action, comment string) (Order, error) {
	o, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	if version != 0 && version != o.Version {
		return Order{}, fmt.Errorf("%w: the order was changed by someone else; reload it", store.ErrConflict)
	}
	role, err := roleFor(ctx, tenantID, a, &o.Order)
	if err != nil {
		return Order{}, err
	}
	p := auth.FromContext(ctx)
	now := s.now().UTC()
	from := o.State
	if err := workorder.Transition(&o.Order, a, workorder.Actor{User: p.UserID, Role: role}, now); err != nil {
		return Order{}, refused(err)
	}
	if strings.TrimSpace(comment) != "" {
		if err := o.AddComment(workorder.Comment{At: now, Author: p.UserID, Text: comment}); err != nil {
			return Order{}, invalid("comment", store.CodeTooLong, map[string]any{"max": workorder.MaxText}, "%s", err.Error())
		}
	}
	if err := s.save(ctx, &o); err != nil {
		return Order{}, err
	}
	if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "workorder." + string(a), Object: "work_order:" + o.ID,
		Detail: map[string]string{"ref": o.Ref, "from": string(from), "to": string(o.State), "role": string(role)}}); err != nil {
		return o, err
	}
	s.changed(ctx, o, string(a))
	return o, nil
}

// Assign names the executor (and optionally the verifier); approvers do it.
func (s *Service) Assign(ctx context.Context, tenantID, id string, version int, executor, verifier string) (Order, error) {
	o, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	if version != 0 && version != o.Version {
		return Order{}, fmt.Errorf("%w: the order was changed by someone else; reload it", store.ErrConflict)
	}
	p := auth.FromContext(ctx)
	if !p.Can(auth.PermAssetWrite, tenantID) || !p.Can(auth.PermIncidentWrite, tenantID) {
		return Order{}, auth.ErrForbidden
	}
	for _, u := range []string{executor, verifier} {
		if u == "" {
			continue
		}
		user, err := s.store.Users().Get(ctx, u)
		if err != nil || !mayWork(ctx, s.store, user, tenantID) {
			return Order{}, invalid("executor", store.CodeNotInTenant, nil, "the person does not work for this organisation")
		}
	}
	now := s.now().UTC()
	if executor != "" {
		if err := workorder.Assign(&o.Order, executor, workorder.Actor{User: p.UserID, Role: workorder.RoleApprover}, now); err != nil {
			return Order{}, refused(err)
		}
	}
	if verifier != "" {
		if verifier == o.Executor {
			return Order{}, invalid("verifier", store.CodeOneOf, nil, "the executor may not verify their own work")
		}
		o.Verifier = verifier
	}
	if err := s.save(ctx, &o); err != nil {
		return Order{}, err
	}
	return o, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "workorder.assign", Object: "work_order:" + o.ID,
		Detail: map[string]string{"ref": o.Ref, "executor": o.Executor, "verifier": o.Verifier}})
}

// changed tells OnChange.
func (s *Service) changed(ctx context.Context, o Order, change string) {
	if s.onChange == nil {
		return
	}
	if err := s.onChange(ctx, o, change); err != nil {
		s.logger.Warn("work order change not announced", "order", o.Ref, "err", err)
	}
}

// mayWork reports whether a user holds a role in the tenant (or a global
// one) that lets them work on orders.
func mayWork(ctx context.Context, st store.Store, u store.User, tenantID string) bool {
	if u.Disabled {
		return false
	}
	if u.GlobalRole != "" {
		return auth.RoleHas(u.GlobalRole, auth.PermAssetWrite) || auth.RoleHas(u.GlobalRole, auth.PermIncidentWrite)
	}
	ms, err := st.Users().Memberships(ctx, u.ID)
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.TenantID == tenantID && (auth.RoleHas(m.Role, auth.PermAssetWrite) || auth.RoleHas(m.Role, auth.PermIncidentWrite)) {
			return true
		}
	}
	return false
}

// Comment adds a note to an order.
func (s *Service) Comment(ctx context.Context, tenantID, id, text string) (Order, error) {
	if err := mayRequest(ctx, tenantID); err != nil {
		return Order{}, err
	}
	o, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	if err := o.AddComment(workorder.Comment{At: s.now().UTC(), Author: auth.FromContext(ctx).UserID, Text: text}); err != nil {
		return Order{}, invalid("comment", store.CodeTooLong, map[string]any{"max": workorder.MaxText}, "%s", err.Error())
	}
	if err := s.save(ctx, &o); err != nil {
		return Order{}, err
	}
	return o, nil
}

// AuditResult is one ops audit: the sessions found in the period's logs
// and what Match says of them.
type AuditResult struct {
	Period    workorder.Period
	Sessions  []workorder.Session
	Findings  []workorder.Finding
	Orders    []workorder.Order
	Events    int
	Truncated bool // the period had more events or orders than are read
}

// Audit reads the tenant's events of the period, rebuilds the access
// sessions and checks them against its orders.
func (s *Service) Audit(ctx context.Context, tenantID string, from, to time.Time) (AuditResult, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return AuditResult{}, err
	}
	if !to.After(from) || to.Sub(from) > MaxAuditDays*24*time.Hour {
		return AuditResult{}, invalid("from", store.CodeOutOfRange, map[string]any{"max": MaxAuditDays}, "a period of 1 to %d days", MaxAuditDays)
	}
	res := AuditResult{Period: workorder.Period{From: from, To: to}}
	var events []store.Event
	q := store.EventQuery{Since: from, Until: to, Page: store.Page{Limit: store.MaxPageSize}}
	for {
		page, err := s.store.Events().Search(ctx, tenantID, q)
		if err != nil {
			return res, err
		}
		events = append(events, page...)
		if len(page) < q.Limit {
			break
		}
		if len(events) >= MaxAuditEvents {
			res.Truncated = true
			break
		}
		q.Offset += len(page)
	}
	res.Events = len(events)
	res.Sessions = workorder.SessionsFromEvents(events)
	f := store.WorkOrderFilter{Page: store.Page{Limit: store.MaxPageSize}}
	for {
		rows, err := s.store.WorkOrders().List(ctx, tenantID, f)
		if err != nil {
			return res, err
		}
		for _, r := range rows {
			o, err := decode(r)
			if err != nil {
				return res, err
			}
			res.Orders = append(res.Orders, o.Order)
		}
		if len(rows) < f.Limit {
			break
		}
		if len(res.Orders) >= MaxAuditOrders {
			res.Truncated = true
			break
		}
		f.Offset += len(rows)
	}
	now := s.now()
	if to.Before(now) {
		now = to
	}
	res.Findings = workorder.Match(res.Sessions, res.Orders, workorder.MatchOptions{Now: now, Grace: 5 * time.Minute})
	return res, nil
}

// ReportDocument is the ops audit report of a period.
func (s *Service) ReportDocument(ctx context.Context, tenantID string, from, to time.Time, lang string) (*report.Document, error) {
	res, err := s.Audit(ctx, tenantID, from, to)
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	doc := workorder.Report(res.Period, res.Sessions, res.Findings, res.Orders, lang, s.now())
	doc.Tenant = t.Name
	return doc, nil
}

// People lists the users who may take part in the tenant's orders, for
// naming executors and verifiers and for showing names.
func (s *Service) People(ctx context.Context, tenantID string) ([]store.User, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	users, err := s.store.Users().List(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.User
	for _, u := range users {
		if mayWork(ctx, s.store, u, tenantID) {
			out = append(out, u)
		}
	}
	return out, nil
}
