package web

import (
	"net/http"
	"slices"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

type noticesPage struct {
	Base
	Tenants    []store.Tenant // where the user may publish
	Chosen     map[string]bool
	N          alerting.Notice
	Severities []string
	Results    []alerting.NoticeResult
	Sent       bool
}

// publishTenants lists the tenants the user may publish notices to.
func (s *server) publishTenants(r *http.Request) ([]store.Tenant, error) {
	ts, err := s.opts.Tenants.ListTenants(r.Context())
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(r.Context())
	return slices.DeleteFunc(ts, func(t store.Tenant) bool { return t.Disabled || !p.Can(auth.PermIncidentWrite, t.ID) }), nil
}

// noticeForm is the urgent notice form.
func (s *server) noticeForm(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.publishTenants(r)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return auth.ErrForbidden
	}
	s.render(w, r, http.StatusOK, "notices", &noticesPage{Tenants: ts, Chosen: map[string]bool{}, N: alerting.Notice{Severity: "critical"},
		Severities: warningSeverities()})
	return nil
}

// noticePublish sends an urgent notice to the chosen tenants.
func (s *server) noticePublish(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.publishTenants(r)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return auth.ErrForbidden
	}
	v := &noticesPage{Tenants: ts, Chosen: map[string]bool{}, Severities: warningSeverities(),
		N: alerting.Notice{Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity"), Harm: r.PostFormValue("harm"),
			Plan: r.PostFormValue("plan"), Match: r.PostFormValue("match")}}
	v.N.RemindHours, v.N.Reminders = reminderFields(r) // per-recipient reminders (desk.go)
	for _, id := range r.PostForm["tenant"] {
		// Only the tenants offered: another tenant's ID is ignored.
		if slices.ContainsFunc(ts, func(t store.Tenant) bool { return t.ID == id }) {
			v.Chosen[id] = true
		}
	}
	ids := make([]string, 0, len(v.Chosen))
	for id := range v.Chosen {
		ids = append(ids, id)
	}
	if v.Results, err = s.opts.Alerting.PublishNotice(r.Context(), ids, v.N); err != nil {
		return err
	}
	v.Sent = true
	s.render(w, r, http.StatusOK, "notices", v)
	return nil
}
