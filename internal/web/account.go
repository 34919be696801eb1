package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

type homePage struct {
	Base
	List      []store.Tenant
	CanCreate bool
}

// home sends a user to the tenant they last looked at, or to their only
// tenant, else lists the tenants they may open.
func (s *server) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == st.sess.TenantID || len(ts) == 1 {
			redirect(w, r, "/t/"+t.Slug)
			return nil
		}
	}
	s.render(w, r, http.StatusOK, "home", &homePage{List: ts,
		CanCreate: auth.FromContext(ctx).Can(auth.PermTenantAdmin, "")})
	return nil
}

// switchTenant remembers the tenant chosen in the switcher and opens it.
func (s *server) switchTenant(w http.ResponseWriter, r *http.Request) error {
	ref := r.PostForm.Get("tenant")
	if ref == "" {
		redirect(w, r, "/")
		return nil
	}
	t, err := s.opts.Tenants.ResolveTenant(r.Context(), ref)
	if err != nil {
		return err
	}
	st := state(r)
	st.sess.TenantID = t.ID
	if err := s.opts.Store.Sessions().Update(r.Context(), st.sess); err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug)
	return nil
}

type roleRow struct {
	TenantName, TenantSlug, Role string
}

type accountPage struct {
	Base
	Username    string
	DisplayName string
	Email       string
	GlobalRole  string
	Roles       []roleRow
	Password    passwordForm
}

// passwordForm is the change-password form.
type passwordForm struct {
	formState
	MinLen int
}

type passwordPage struct {
	Base
	Password passwordForm
	Forced   bool
}

func (s *server) account(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	p := auth.FromContext(ctx)
	v := &accountPage{Username: st.user.Username, DisplayName: st.user.DisplayName, Email: st.user.Email,
		GlobalRole: st.user.GlobalRole, Password: passwordForm{MinLen: auth.MinPasswordLen}}
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if role, ok := p.Roles[t.ID]; ok {
			v.Roles = append(v.Roles, roleRow{TenantName: t.Name, TenantSlug: t.Slug, Role: role})
		}
	}
	slices.SortFunc(v.Roles, func(a, b roleRow) int { return strings.Compare(a.TenantName, b.TenantName) })
	s.render(w, r, http.StatusOK, "account", v)
	return nil
}

// passwordForm serves the change-password page; users who must change
// their password are sent here until they do.
func (s *server) passwordForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "password", &passwordPage{Forced: state(r).user.MustChangePassword,
		Password: passwordForm{MinLen: auth.MinPasswordLen}})
	return nil
}

// passwordFormFields are the fields of the change-password form.
var passwordFormFields = []formField{{"current_password", "current"}, {"password", "new"}}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	T := func(id string, args ...any) string { return s.msgs.T(st.locale, id, args...) }
	current, next, confirm := r.PostForm.Get("current"), r.PostForm.Get("new"), r.PostForm.Get("confirm")
	v := &passwordPage{Forced: st.user.MustChangePassword, Password: passwordForm{MinLen: auth.MinPasswordLen}}
	f := &v.Password.formState
	if current == "" {
		f.fieldError("current", T("form.required"))
	}
	if err := auth.CheckPasswordPolicy(next); err != nil {
		f.fieldError("new", T("account.password.weak", "Min", auth.MinPasswordLen, "Max", auth.MaxPasswordLen))
	}
	if next != confirm {
		f.fieldError("confirm", T("account.password.mismatch"))
	}
	if !f.Invalid() {
		err := s.opts.Tenants.ChangeOwnPassword(r.Context(), current, next)
		if err == nil {
			redirect(w, r, "/account?ok=password_changed")
			return nil
		}
		if _, ok := s.formError(r, err, f, passwordFormFields); !ok {
			return err
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "password", v)
	return nil
}
