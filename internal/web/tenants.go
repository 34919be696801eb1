package web

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

type tenantsPage struct {
	Base
	List []store.Tenant
}

func (s *server) tenantList(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.opts.Tenants.ListTenants(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "tenants", &tenantsPage{List: ts})
	return nil
}

// tenantFields is the tenant form as typed.
type tenantFields struct {
	Slug, Name, Industry, Description string
	Disabled                          bool
	TimeZone                          string
}

type tenantFormPage struct {
	Base
	formState
	Action  string
	Editing bool
	ID      string
	Form    tenantFields
	// Retention is the tenant's event retention field; nil on the new
	// tenant form or when the node keeps no tenant retentions.
	Retention *retentionView
}

func tenantFormView(id string, f tenantFields) *tenantFormPage {
	v := &tenantFormPage{Action: "/admin/tenants", Form: f}
	if id != "" {
		v.Action, v.Editing, v.ID = "/admin/tenants/"+id, true, id
	}
	return v
}

func (s *server) tenantNew(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "tenant_form", tenantFormView("", tenantFields{}))
	return nil
}

func (s *server) tenantEdit(w http.ResponseWriter, r *http.Request) error {
	t, err := s.opts.Tenants.GetTenant(r.Context(), chi.URLParam(r, "tenantID"))
	if err != nil {
		return err
	}
	v := tenantFormView(t.ID, tenantFields{Slug: t.Slug, Name: t.Name,
		Industry: t.Industry, Description: t.Description, Disabled: t.Disabled, TimeZone: t.TimeZone})
	if v.Retention, err = s.tenantRetentionView(r, t.ID); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "tenant_form", v)
	return nil
}

// tenantFormFields are the fields of the tenant form.
var tenantFormFields = fields("slug", "name", "industry", "description", "time_zone", "retention")

// saveTenant handles the create and edit forms (id "" creates).
func (s *server) saveTenant(w http.ResponseWriter, r *http.Request, id string) error {
	tag := state(r).locale
	pf := r.PostForm
	f := tenantFields{Slug: pf.Get("slug"), Name: pf.Get("name"), Industry: pf.Get("industry"),
		Description: pf.Get("description"), Disabled: pf.Get("disabled") != "", TimeZone: pf.Get("time_zone")}
	v := tenantFormView(id, f)
	if id != "" {
		var err error
		if v.Retention, err = s.tenantRetentionView(r, id); err != nil {
			return err
		}
		if v.Retention != nil {
			v.Retention.Value = pf.Get("retention")
		}
	}
	retention, _ := s.checkRetention(r, v)
	if f.Slug == "" {
		v.fieldError("slug", s.msgs.T(tag, "form.required"))
	}
	if f.Name == "" {
		v.fieldError("name", s.msgs.T(tag, "form.required"))
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		in := tenant.TenantInput{Slug: f.Slug, Name: f.Name, Industry: f.Industry, Description: f.Description, Disabled: f.Disabled,
			TimeZone: f.TimeZone}
		var err error
		flash := "created"
		if id == "" {
			_, err = s.opts.Tenants.CreateTenant(r.Context(), in)
		} else {
			if _, err = s.opts.Tenants.UpdateTenant(r.Context(), id, in); err == nil && v.Retention != nil {
				err = s.saveRetention(r, id, retention)
			}
			flash = "saved"
		}
		if err == nil {
			redirect(w, r, "/admin/tenants?ok="+flash)
			return nil
		}
		var ok bool
		if errors.Is(err, store.ErrConflict) { // the one unique key is the slug
			status = http.StatusConflict
			v.fieldError("slug", s.msgs.T(tag, "tenants.error.slug_taken"))
		} else if status, ok = s.formError(r, err, &v.formState, tenantFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "tenant_form", v)
	return nil
}

func (s *server) tenantCreate(w http.ResponseWriter, r *http.Request) error {
	return s.saveTenant(w, r, "")
}

func (s *server) tenantUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.saveTenant(w, r, chi.URLParam(r, "tenantID"))
}

func (s *server) tenantDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Tenants.DeleteTenant(r.Context(), chi.URLParam(r, "tenantID")); err != nil {
		return err
	}
	redirect(w, r, "/admin/tenants?ok=deleted")
	return nil
}
