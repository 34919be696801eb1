package web

import (
	"cmp"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// The ops management service: work orders and the ops audit.

func opsBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/ops-audit" }

type opsPage struct {
	Base
	URL        string
	Orders     []ops.Order
	Total      int
	State      string
	States     []workorder.State
	Types      []workorder.Type
	Names      map[string]string
	CanRequest bool
	// The ops audit of a period, when asked for.
	From, To string
	Audited  bool
	Audit    ops.AuditResult
}

type opsOrderPage struct {
	Base
	URL       string
	Order     ops.Order
	Names     map[string]string
	People    []store.User
	Actions   []workorder.Action
	CanAssign bool
	Overdue   bool
	// Files are the order's attachments; HasFiles is false when the
	// platform keeps none.
	HasFiles bool
	Files    attachmentsView
	// SourceURL links a remediation made from a drill gap back to the drill.
	SourceURL string
}

// registerOps adds the work order and ops audit pages.
func (s *server) registerOps(t string) {
	if s.opts.Ops == nil {
		return
	}
	b := t + "/operations/ops-audit"
	s.handle(http.MethodGet, b, inTenant(auth.PermAssetRead), s.opsList)
	s.handle(http.MethodPost, b, inTenant(auth.PermAssetRead), s.opsCreate) // the service checks who may request
	s.handle(http.MethodPost, b+"/report", inTenant(auth.PermReportRead), s.opsReport)
	s.handle(http.MethodGet, b+"/orders/{order}", inTenant(auth.PermAssetRead), s.opsOrder)
	s.handle(http.MethodPost, b+"/orders/{order}/act", inTenant(auth.PermAssetRead), s.opsAct)
	s.handle(http.MethodPost, b+"/orders/{order}/assign", inTenant(auth.PermAssetRead), s.opsAssign)
	s.handle(http.MethodPost, b+"/orders/{order}/comment", inTenant(auth.PermAssetRead), s.opsComment)
	if s.opts.Attachments != nil {
		// Files: readers of the order download; the service checks who may
		// add and remove.
		s.handle(http.MethodPost, b+"/orders/{order}/files", inTenant(auth.PermAssetRead), s.opsFileAdd)
		s.handle(http.MethodGet, b+"/orders/{order}/files/{file}", inTenant(auth.PermAssetRead), s.opsFileGet)
		s.handle(http.MethodPost, b+"/orders/{order}/files/{file}/delete", inTenant(auth.PermAssetRead), s.opsFileDelete)
	}
}

func (s *server) peopleNames(r *http.Request) (map[string]string, []store.User, error) {
	people, err := s.opts.Ops.People(r.Context(), state(r).tenant.ID)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, u := range people {
		names[u.ID] = cmp.Or(u.DisplayName, u.Username)
	}
	return names, people, nil
}

func (s *server) opsView(r *http.Request) (*opsPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	now := time.Now().UTC()
	v := &opsPage{URL: opsBase(t), State: r.URL.Query().Get("state"),
		States: []workorder.State{workorder.StateDraft, workorder.StateSubmitted, workorder.StateApproved, workorder.StateInProgress,
			workorder.StateDone, workorder.StateVerified, workorder.StateRejected, workorder.StateReopened, workorder.StateCancelled},
		Types:      []workorder.Type{workorder.TypeAccess, workorder.TypeChange, workorder.TypeRemediation, workorder.TypeInspection},
		CanRequest: p.Can(auth.PermAssetWrite, t.ID) || p.Can(auth.PermIncidentWrite, t.ID),
		From:       now.AddDate(0, 0, -7).Format(time.DateOnly), To: now.Format(time.DateOnly)}
	var err error
	if v.Orders, v.Total, err = s.opts.Ops.List(ctx, t.ID, store.WorkOrderFilter{State: v.State, Page: store.Page{Limit: 100}}); err != nil {
		return nil, err
	}
	if v.Names, _, err = s.peopleNames(r); err != nil {
		return nil, err
	}
	return v, nil
}

// opsList shows the orders and, with from and to, the ops audit of that
// period.
func (s *server) opsList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.opsView(r)
	if err != nil {
		return err
	}
	if q := r.URL.Query(); q.Get("from") != "" {
		from, to, err := auditPeriod(q.Get("from"), q.Get("to"))
		if err != nil {
			return err
		}
		if v.Audit, err = s.opts.Ops.Audit(r.Context(), state(r).tenant.ID, from, to); err != nil {
			return err
		}
		v.Audited, v.From, v.To = true, q.Get("from"), q.Get("to")
	}
	s.render(w, r, http.StatusOK, "ops", v)
	return nil
}

// auditPeriod reads a period of whole days, the last one included.
func auditPeriod(f, t string) (time.Time, time.Time, error) {
	from, err1 := time.Parse(time.DateOnly, f)
	to, err2 := time.Parse(time.DateOnly, t)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, store.NewFieldError("from", store.CodeInvalidDate, nil, "dates are YYYY-MM-DD")
	}
	return from, to.AddDate(0, 0, 1), nil
}

func (s *server) opsCreate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	f := r.PostForm
	in := ops.Input{Type: workorder.Type(f.Get("type")), Title: f.Get("title"), Description: f.Get("description"),
		SourceRef: f.Get("source"), Hosts: splitList(f.Get("hosts")), Accounts: splitList(f.Get("accounts")), Submit: f.Get("submit") == "on"}
	for _, x := range []struct {
		name string
		dst  *time.Time
	}{{"window_start", &in.WindowStart}, {"window_end", &in.WindowEnd}} {
		if v := strings.TrimSpace(f.Get(x.name)); v != "" {
			at, err := time.ParseInLocation("2006-01-02T15:04", v, time.UTC)
			if err != nil {
				return store.NewFieldError(x.name, store.CodeInvalidDate, nil, "a date and time")
			}
			*x.dst = at
		}
	}
	o, err := s.opts.Ops.Create(r.Context(), t.ID, in)
	if err != nil {
		return err
	}
	redirect(w, r, opsBase(t)+"/orders/"+o.ID)
	return nil
}

func (s *server) opsOrder(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	o, err := s.opts.Ops.Get(ctx, t.ID, chi.URLParam(r, "order"))
	if err != nil {
		return err
	}
	v := &opsOrderPage{URL: opsBase(t) + "/orders/" + o.ID, Order: o}
	if v.Names, v.People, err = s.peopleNames(r); err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	v.CanAssign = p.Can(auth.PermAssetWrite, t.ID) && p.Can(auth.PermIncidentWrite, t.ID) && !o.Closed()
	v.Overdue, _ = o.Overdue(time.Now())
	if s.opts.Attachments != nil && s.opts.Ops.KeepsFiles() {
		files, err := s.opts.Ops.Files(ctx, t.ID, o.ID)
		if err != nil {
			return err
		}
		v.HasFiles = true
		v.Files = attachmentsView{Files: files, Base: v.URL + "/files", Action: v.URL + "/files", Download: true,
			CanWrite: s.opts.Ops.MayAttach(ctx, o), CSRF: state(r).csrfToken()}
	}
	if drillID, _, ok := exercise.ParseSourceRef(o.SourceRef); ok && s.opts.Drills != nil {
		v.SourceURL = drillBase(t) + "/" + url.PathEscape(drillID)
	}
	// Offer the actions of the state; the service decides who may.
	switch o.State {
	case workorder.StateDraft:
		v.Actions = []workorder.Action{workorder.ActionSubmit, workorder.ActionCancel}
	case workorder.StateSubmitted:
		v.Actions = []workorder.Action{workorder.ActionApprove, workorder.ActionReject, workorder.ActionCancel}
	case workorder.StateRejected:
		v.Actions = []workorder.Action{workorder.ActionRevise}
	case workorder.StateApproved, workorder.StateReopened:
		v.Actions = []workorder.Action{workorder.ActionStart, workorder.ActionCancel}
	case workorder.StateInProgress:
		v.Actions = []workorder.Action{workorder.ActionComplete}
	case workorder.StateDone:
		v.Actions = []workorder.Action{workorder.ActionVerify, workorder.ActionReopen}
	case workorder.StateVerified:
		v.Actions = []workorder.Action{workorder.ActionReopen}
	}
	s.render(w, r, http.StatusOK, "ops_order", v)
	return nil
}

func formVersion(r *http.Request) int {
	n, _ := strconv.Atoi(r.PostFormValue("version"))
	return n
}

func (s *server) opsAct(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	o, err := s.opts.Ops.Act(r.Context(), t.ID, chi.URLParam(r, "order"), formVersion(r), workorder.Action(r.PostFormValue("action")), r.PostFormValue("comment"))
	if err != nil {
		return err
	}
	redirect(w, r, opsBase(t)+"/orders/"+o.ID)
	return nil
}

func (s *server) opsAssign(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	o, err := s.opts.Ops.Assign(r.Context(), t.ID, chi.URLParam(r, "order"), formVersion(r), r.PostFormValue("executor"), r.PostFormValue("verifier"))
	if err != nil {
		return err
	}
	redirect(w, r, opsBase(t)+"/orders/"+o.ID)
	return nil
}

func (s *server) opsComment(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	o, err := s.opts.Ops.Comment(r.Context(), t.ID, chi.URLParam(r, "order"), r.PostFormValue("comment"))
	if err != nil {
		return err
	}
	redirect(w, r, opsBase(t)+"/orders/"+o.ID)
	return nil
}

// opsReport archives the ops audit report of a period.
func (s *server) opsReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	from, to, err := auditPeriod(r.PostFormValue("from"), r.PostFormValue("to"))
	if err != nil {
		return err
	}
	doc, err := s.opts.Ops.ReportDocument(ctx, t.ID, from, to, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "ops-audit", Kind: "ops-audit",
		SourceID: from.Format(time.DateOnly) + "/" + to.Format(time.DateOnly), Format: format, Doc: doc})
}

// opsFileAdd attaches an uploaded file to an order.
func (s *server) opsFileAdd(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "order")
	in, closer, err := attachmentInput(r)
	if err != nil {
		return err
	}
	defer closer.Close()
	if _, err := s.opts.Ops.AddFile(r.Context(), t.ID, id, in); err != nil {
		return err
	}
	redirect(w, r, opsBase(t)+"/orders/"+url.PathEscape(id)+"#files")
	return nil
}

// opsFileGet downloads a file of an order, its SHA-256 checked.
func (s *server) opsFileGet(w http.ResponseWriter, r *http.Request) error {
	a, data, err := s.opts.Ops.OpenFile(r.Context(), state(r).tenant.ID, chi.URLParam(r, "order"), chi.URLParam(r, "file"))
	if err != nil {
		return err
	}
	return serveAttachment(w, a, data)
}

// opsFileDelete removes a file of an order.
func (s *server) opsFileDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "order")
	if err := s.opts.Ops.DeleteFile(r.Context(), t.ID, id, chi.URLParam(r, "file")); err != nil {
		return err
	}
	redirect(w, r, opsBase(t)+"/orders/"+url.PathEscape(id)+"#files")
	return nil
}
