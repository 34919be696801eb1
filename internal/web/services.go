package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// serviceRow is a catalogue service with the tenant's contract, if any.
type serviceRow struct {
	Code       string
	Contracted bool // a subscription exists (enabled or paused)
	Sub        store.Subscription
	AreaURL    string
}

type serviceGroup struct {
	Area string
	Rows []serviceRow
}

type servicesPage struct {
	Base
	Groups   []serviceGroup
	CanWrite bool
}

// serviceList shows the whole catalogue with what the tenant contracted.
func (s *server) serviceList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	subs, err := s.opts.Tenants.ListSubscriptions(ctx, t.ID)
	if err != nil {
		return err
	}
	byCode := map[string]store.Subscription{}
	for _, sub := range subs {
		byCode[sub.Service] = sub
	}
	v := &servicesPage{CanWrite: auth.FromContext(ctx).Can(auth.PermServiceWrite, t.ID)}
	for _, o := range tenant.Catalogue() {
		if len(v.Groups) == 0 || v.Groups[len(v.Groups)-1].Area != o.Area {
			v.Groups = append(v.Groups, serviceGroup{Area: o.Area})
		}
		sub, ok := byCode[o.Code]
		g := &v.Groups[len(v.Groups)-1]
		g.Rows = append(g.Rows, serviceRow{Code: o.Code, Contracted: ok, Sub: sub,
			AreaURL: "/t/" + t.Slug + "/" + o.Area + "/" + o.Code})
	}
	s.render(w, r, http.StatusOK, "services", v)
	return nil
}

// serviceFields is the contract form as typed.
type serviceFields struct {
	Enabled                         bool
	Level, Response, Notify, Report string
	StartsOn, EndsOn, Notes         string
}

type serviceFormPage struct {
	Base
	formState
	Code        string
	Contracted  bool
	Action      string
	Form        serviceFields
	Frequencies []string
}

func (s *server) serviceEdit(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	code := chi.URLParam(r, "service")
	off, ok := tenant.Offer(code)
	if !ok {
		return store.ErrNotFound
	}
	v := &serviceFormPage{Code: code, Action: "/t/" + t.Slug + "/services/" + code, Frequencies: tenant.ReportFrequencies(),
		Form: serviceFields{Enabled: true, Level: "standard", Report: off.DefaultReport}}
	subs, err := s.opts.Tenants.ListSubscriptions(r.Context(), t.ID)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Service == code {
			v.Contracted = true
			v.Form = serviceFields{Enabled: sub.Enabled, Level: sub.Level, Response: strconv.Itoa(sub.ResponseMinutes),
				Notify: strconv.Itoa(sub.NotifyMinutes), Report: sub.ReportFrequency, StartsOn: formatDay(sub.StartsOn),
				EndsOn: formatDay(sub.EndsOn), Notes: sub.Notes}
		}
	}
	s.render(w, r, http.StatusOK, "service_form", v)
	return nil
}

// serviceFormFields are the fields of the contracted service form.
var serviceFormFields = fields("level", "report_frequency", "response_minutes", "notify_minutes", "starts_on", "ends_on", "notes")

func (s *server) serviceUpdate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	tag := state(r).locale
	code := chi.URLParam(r, "service")
	if _, ok := tenant.Offer(code); !ok {
		return store.ErrNotFound
	}
	pf := r.PostForm
	f := serviceFields{Enabled: pf.Get("enabled") != "", Level: pf.Get("level"), Response: pf.Get("response_minutes"),
		Notify: pf.Get("notify_minutes"), Report: pf.Get("report_frequency"), StartsOn: pf.Get("starts_on"),
		EndsOn: pf.Get("ends_on"), Notes: pf.Get("notes")}
	v := &serviceFormPage{Code: code, Action: "/t/" + t.Slug + "/services/" + code, Form: f,
		Frequencies: tenant.ReportFrequencies(), Contracted: pf.Get("contracted") != ""}
	in := tenant.SubscriptionInput{Enabled: f.Enabled, Level: f.Level, ReportFrequency: f.Report, Notes: f.Notes}
	var ok bool
	if in.ResponseMinutes, ok = atoi(f.Response); !ok || in.ResponseMinutes < 0 {
		v.fieldError("response_minutes", s.msgs.T(tag, "form.minutes"))
	}
	if in.NotifyMinutes, ok = atoi(f.Notify); !ok || in.NotifyMinutes < 0 {
		v.fieldError("notify_minutes", s.msgs.T(tag, "form.minutes"))
	}
	day := func(field, val string) time.Time {
		if strings.TrimSpace(val) == "" {
			return time.Time{}
		}
		d, err := time.Parse("2006-01-02", strings.TrimSpace(val))
		if err != nil {
			v.fieldError(field, s.msgs.T(tag, "form.date"))
		}
		return d
	}
	in.StartsOn, in.EndsOn = day("starts_on", f.StartsOn), day("ends_on", f.EndsOn)
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		_, err := s.opts.Tenants.PutSubscription(r.Context(), t.ID, code, in)
		if err == nil {
			redirect(w, r, "/t/"+t.Slug+"/services?ok=saved")
			return nil
		}
		if status, ok = s.formError(r, err, &v.formState, serviceFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "service_form", v)
	return nil
}

func (s *server) serviceDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Tenants.DeleteSubscription(r.Context(), t.ID, chi.URLParam(r, "service")); err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/services?ok=deleted")
	return nil
}
