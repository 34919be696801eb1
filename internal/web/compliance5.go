package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// Commissions of third-party assessment organisations (委托第三方): the
// regulator's pages under the supervision summary.

// commissionsPath lists the commissions; not under a tenant.
const commissionsPath = supervisionPath + "/commissions"

// registerCommissions adds the commission pages. They are reached by any
// signed-in user; the service shows what the user may read and refuses
// what they may not change.
func (s *server) registerCommissions() {
	get, post := http.MethodGet, http.MethodPost
	s.handle(get, commissionsPath, signedIn(), s.commissionList)
	s.handle(post, commissionsPath, signedIn(), s.commissionCreate)
	s.handle(get, commissionsPath+"/{commission}", signedIn(), s.commissionView)
	s.handle(post, commissionsPath+"/{commission}/revoke", signedIn(), s.commissionRevoke)
}

type commissionsPage struct {
	Base
	Commissions []project.CommissionView
	Tenants     []store.Tenant // tenants the user may commission into
	CanWrite    bool
	Today       string
}

// commissionList lists the commissions touching the tenants the user
// reads, with the form that creates one.
func (s *server) commissionList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := auth.FromContext(ctx)
	cs, err := s.opts.Assessments.Commissions(ctx)
	if err != nil {
		return err
	}
	v := &commissionsPage{Commissions: cs, Today: time.Now().UTC().Format(time.DateOnly)}
	if p.CanAny(auth.PermCommissionWrite) {
		ts, err := s.opts.Tenants.ListTenants(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if p.Can(auth.PermCommissionWrite, t.ID) {
				v.Tenants = append(v.Tenants, t)
			}
		}
		v.CanWrite = len(v.Tenants) > 0
	}
	s.render(w, r, http.StatusOK, "compliance5_commissions", v)
	return nil
}

// splitNames splits a text box of names by lines and commas (names may
// hold spaces).
func splitNames(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == '，' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// commissionDates reads the form's period: from the start of the first
// day to the end of the last, UTC.
func commissionDates(r *http.Request) (time.Time, time.Time, error) {
	start, err1 := time.Parse(time.DateOnly, strings.TrimSpace(r.PostFormValue("starts")))
	last, err2 := time.Parse(time.DateOnly, strings.TrimSpace(r.PostFormValue("ends")))
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, store.NewFieldError("period", store.CodeInvalidDate, nil, "the period needs a first and a last day (YYYY-MM-DD)")
	}
	return start, last.AddDate(0, 0, 1), nil
}

// commissionCreate commissions a third-party organisation.
func (s *server) commissionCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	start, end, err := commissionDates(r)
	if err != nil {
		return err
	}
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	in := project.CommissionInput{Org: r.PostFormValue("org"), Contact: r.PostFormValue("contact"), Purpose: r.PostFormValue("purpose"),
		Members: splitNames(r.PostFormValue("members")), StartsAt: start, EndsAt: end, Systems: map[string][]string{}}
	for _, slug := range r.PostForm["tenant"] {
		var t *store.Tenant
		for i := range ts {
			if ts[i].Slug == slug {
				t = &ts[i]
			}
		}
		if t == nil {
			return store.ErrNotFound // a tenant the user may not read, like every cross-tenant refusal
		}
		in.Tenants = append(in.Tenants, t.ID)
		in.Systems[t.ID] = splitNames(r.PostFormValue("systems-" + slug))
	}
	c, err := s.opts.Assessments.CreateCommission(ctx, in)
	if err != nil {
		return err
	}
	redirect(w, r, commissionsPath+"/"+c.ID+"?ok=created")
	return nil
}

type commissionPage struct {
	Base
	V project.CommissionView
}

// commissionView shows a commission with its status, scope, assessors and
// results.
func (s *server) commissionView(w http.ResponseWriter, r *http.Request) error {
	v, err := s.opts.Assessments.Commission(r.Context(), chi.URLParam(r, "commission"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "compliance5_commission", &commissionPage{V: *v})
	return nil
}

// commissionRevoke revokes a commission.
func (s *server) commissionRevoke(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "commission")
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return errInvalid("the form is missing the commission version; reload the page")
	}
	if _, err := s.opts.Assessments.RevokeCommission(r.Context(), id, version); err != nil {
		return err
	}
	redirect(w, r, commissionsPath+"/"+id+"?ok=saved")
	return nil
}

// compliance5MessageIDs lists the messages looked up by key (Tk).
func compliance5MessageIDs() []string {
	ids := []string{}
	for _, st := range []string{project.CommissionScheduled, project.CommissionActive, project.CommissionExpired, project.CommissionRevoked} {
		ids = append(ids, "c5.status."+st)
	}
	return append(ids, "c5.kind.inspection", "c5.kind.assessment")
}
