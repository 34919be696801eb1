package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// auditPageSize is the number of audit entries per page.
const auditPageSize = 50

type auditFilterForm struct {
	Actor, Action, Since, Until, Tenant string
}

type auditRow struct {
	store.AuditEntry
	TenantName string
}

type auditPage struct {
	Base
	formState
	// Global is the platform-wide view, with a tenant filter.
	Global  bool
	URL     string
	Filter  auditFilterForm
	Tenants []store.Tenant
	Entries []auditRow
	Pager   pager
}

// auditGlobal is the audit log of the whole platform (admins, auditors).
func (s *server) auditGlobal(w http.ResponseWriter, r *http.Request) error {
	return s.auditLog(w, r, nil)
}

// auditTenant is one tenant's audit log (tenant auditors).
func (s *server) auditTenant(w http.ResponseWriter, r *http.Request) error {
	return s.auditLog(w, r, state(r).tenant)
}

func (s *server) auditLog(w http.ResponseWriter, r *http.Request, t *store.Tenant) error {
	ctx := r.Context()
	tag := state(r).locale
	q := r.URL.Query()
	ff := auditFilterForm{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Since: q.Get("since"), Until: q.Get("until"), Tenant: q.Get("tenant")}
	v := &auditPage{Global: t == nil, Filter: ff}
	f := store.AuditFilter{Actor: ff.Actor, Action: ff.Action}
	names := map[string]string{}
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, x := range ts {
		names[x.ID] = x.Name
	}
	if t != nil {
		v.URL, f.TenantID = "/t/"+t.Slug+"/audit", t.ID
	} else {
		v.URL, v.Tenants = "/audit", ts
		for _, x := range ts {
			if x.Slug == ff.Tenant {
				f.TenantID = x.ID
			}
		}
		if f.TenantID == "" {
			v.Filter.Tenant = ""
		}
	}
	day := func(field, val string) time.Time {
		if val == "" {
			return time.Time{}
		}
		d, err := time.Parse("2006-01-02", val)
		if err != nil {
			v.fieldError(field, s.msgs.T(tag, "form.date"))
		}
		return d
	}
	f.Since = day("since", ff.Since)
	if until := day("until", ff.Until); !until.IsZero() {
		f.Until = until.Add(24 * time.Hour)
	}
	pg := pageParam(q)
	f.Page = store.Page{Limit: auditPageSize + 1, Offset: (pg - 1) * auditPageSize}
	entries, err := s.opts.Audit.List(ctx, f)
	if err != nil {
		return err
	}
	more := len(entries) > auditPageSize
	if more {
		entries = entries[:auditPageSize]
	}
	for _, e := range entries {
		v.Entries = append(v.Entries, auditRow{AuditEntry: e, TenantName: names[e.TenantID]})
	}
	v.Pager = openPager(pg, more, func(n int) string {
		return withQuery(v.URL, url.Values{"actor": {ff.Actor}, "action": {ff.Action}, "since": {ff.Since},
			"until": {ff.Until}, "tenant": {v.Filter.Tenant}, "page": {strconv.Itoa(n)}})
	})
	s.render(w, r, http.StatusOK, "audit", v)
	return nil
}
