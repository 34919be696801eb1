package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

type usersPage struct {
	Base
	List []store.User
}

func (s *server) userList(w http.ResponseWriter, r *http.Request) error {
	us, err := s.opts.Tenants.ListUsers(r.Context())
	if err != nil {
		return err
	}
	slices.SortFunc(us, func(a, b store.User) int { return strings.Compare(a.Username, b.Username) })
	s.render(w, r, http.StatusOK, "users", &usersPage{List: us})
	return nil
}

// userFields is the user form as typed.
type userFields struct {
	Username, DisplayName, Email, Locale, GlobalRole, Password string
	Disabled                                                   bool
}

// Fields of the new user form and of the user profile form.
var (
	userNewFields     = fields("username", "display_name", "email", "password", "global_role")
	userProfileFields = fields("display_name", "email", "global_role", "disabled")
)

type userNewPage struct {
	Base
	formState
	Form        userFields
	GlobalRoles []string
	MinLen      int
}

func (s *server) userNew(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "user_new", &userNewPage{GlobalRoles: auth.GlobalRoles(), MinLen: auth.MinPasswordLen})
	return nil
}

func (s *server) userCreate(w http.ResponseWriter, r *http.Request) error {
	tag := state(r).locale
	pf := r.PostForm
	f := userFields{Username: pf.Get("username"), DisplayName: pf.Get("display_name"), Email: pf.Get("email"),
		Locale: pf.Get("locale"), GlobalRole: pf.Get("global_role"), Password: pf.Get("password")}
	v := &userNewPage{Form: f, GlobalRoles: auth.GlobalRoles(), MinLen: auth.MinPasswordLen}
	if strings.TrimSpace(f.Username) == "" {
		v.fieldError("username", s.msgs.T(tag, "form.required"))
	}
	if err := auth.CheckPasswordPolicy(f.Password); err != nil {
		v.fieldError("password", s.msgs.T(tag, "account.password.weak", "Min", auth.MinPasswordLen, "Max", auth.MaxPasswordLen))
	}
	v.Form.Password = "" // never echo a password back
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		u, err := s.opts.Tenants.CreateUser(r.Context(), tenant.UserInput{Username: f.Username, DisplayName: f.DisplayName,
			Email: f.Email, Locale: f.Locale, GlobalRole: f.GlobalRole, Password: f.Password})
		if err == nil {
			redirect(w, r, "/admin/users/"+u.ID+"?ok=created")
			return nil
		}
		var ok bool
		if errors.Is(err, store.ErrConflict) { // the one unique key is the username
			status = http.StatusConflict
			v.fieldError("username", s.msgs.T(tag, "users.error.username_taken"))
		} else if status, ok = s.formError(r, err, &v.formState, userNewFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "user_new", v)
	return nil
}

type membershipRow struct {
	TenantID, TenantName, TenantSlug, Role string
}

type userPage struct {
	Base
	User        store.User
	Form        userFields
	Profile     formState
	Password    formState
	Member      formState
	Memberships []membershipRow
	// Tenants are those the user may be given a role in.
	Tenants     []store.Tenant
	Roles       []string
	GlobalRoles []string
	MinLen      int
	Self        bool
}

// userView loads the user admin page of user id.
func (s *server) userView(r *http.Request, id string) (*userPage, error) {
	ctx := r.Context()
	u, err := s.opts.Tenants.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	ms, err := s.opts.Tenants.UserMemberships(ctx, id)
	if err != nil {
		return nil, err
	}
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	v := &userPage{User: u, Roles: auth.Roles(), GlobalRoles: auth.GlobalRoles(), MinLen: auth.MinPasswordLen,
		Self: auth.FromContext(ctx).UserID == u.ID,
		Form: userFields{Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, Locale: u.Locale,
			GlobalRole: u.GlobalRole, Disabled: u.Disabled}}
	has := map[string]bool{}
	for _, m := range ms {
		row := membershipRow{TenantID: m.TenantID, TenantName: m.TenantID, Role: m.Role}
		for _, t := range ts {
			if t.ID == m.TenantID {
				row.TenantName, row.TenantSlug = t.Name, t.Slug
			}
		}
		has[m.TenantID] = true
		v.Memberships = append(v.Memberships, row)
	}
	slices.SortFunc(v.Memberships, func(a, b membershipRow) int { return strings.Compare(a.TenantName, b.TenantName) })
	for _, t := range ts {
		if !has[t.ID] {
			v.Tenants = append(v.Tenants, t)
		}
	}
	return v, nil
}

func (s *server) userEdit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.userView(r, chi.URLParam(r, "user"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "user", v)
	return nil
}

// userUpdate saves the profile form: name, email, language, global role
// and whether the account is disabled.
func (s *server) userUpdate(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "user")
	v, err := s.userView(r, id)
	if err != nil {
		return err
	}
	pf := r.PostForm
	v.Form = userFields{Username: v.User.Username, DisplayName: pf.Get("display_name"), Email: pf.Get("email"),
		Locale: pf.Get("locale"), GlobalRole: pf.Get("global_role"), Disabled: pf.Get("disabled") != ""}
	_, err = s.opts.Tenants.UpdateUser(r.Context(), id, tenant.UserInput{DisplayName: v.Form.DisplayName,
		Email: v.Form.Email, Locale: v.Form.Locale, GlobalRole: v.Form.GlobalRole, Disabled: v.Form.Disabled})
	if err == nil {
		redirect(w, r, "/admin/users/"+id+"?ok=saved")
		return nil
	}
	status, ok := s.formError(r, err, &v.Profile, userProfileFields)
	if !ok {
		return err
	}
	s.render(w, r, status, "user", v)
	return nil
}

// userResetPassword sets a new password chosen by the admin; the user's
// sessions end.
func (s *server) userResetPassword(w http.ResponseWriter, r *http.Request) error {
	tag := state(r).locale
	id := chi.URLParam(r, "user")
	v, err := s.userView(r, id)
	if err != nil {
		return err
	}
	pw := r.PostForm.Get("password")
	if err := auth.CheckPasswordPolicy(pw); err != nil {
		v.Password.fieldError("password", s.msgs.T(tag, "account.password.weak", "Min", auth.MinPasswordLen, "Max", auth.MaxPasswordLen))
		s.render(w, r, http.StatusUnprocessableEntity, "user", v)
		return nil
	}
	u := v.User
	_, err = s.opts.Tenants.UpdateUser(r.Context(), id, tenant.UserInput{DisplayName: u.DisplayName, Email: u.Email,
		Locale: u.Locale, GlobalRole: u.GlobalRole, Disabled: u.Disabled, Password: pw})
	if err == nil {
		redirect(w, r, "/admin/users/"+id+"?ok=password_reset")
		return nil
	}
	status, ok := s.formError(r, err, &v.Password, fields("password"))
	if !ok {
		return err
	}
	s.render(w, r, status, "user", v)
	return nil
}

func (s *server) userDelete(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "user")
	err := s.opts.Tenants.DeleteUser(r.Context(), id)
	if err == nil {
		redirect(w, r, "/admin/users?ok=deleted")
		return nil
	}
	v, verr := s.userView(r, id)
	if verr != nil {
		return err
	}
	status, ok := s.formError(r, err, &v.Profile, nil)
	if !ok {
		return err
	}
	s.render(w, r, status, "user", v)
	return nil
}

func (s *server) membershipSet(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "user")
	err := s.opts.Tenants.SetMembership(r.Context(), id, r.PostForm.Get("tenant"), r.PostForm.Get("role"))
	if err == nil {
		redirect(w, r, "/admin/users/"+id+"?ok=member_added")
		return nil
	}
	v, verr := s.userView(r, id)
	if verr != nil {
		return verr
	}
	status, ok := s.formError(r, err, &v.Member, nil) // the form shows messages above its fields
	if !ok {
		return err
	}
	s.render(w, r, status, "user", v)
	return nil
}

func (s *server) membershipRemove(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "user")
	if err := s.opts.Tenants.RemoveMembership(r.Context(), id, chi.URLParam(r, "tenantID")); err != nil {
		return err
	}
	redirect(w, r, "/admin/users/"+id+"?ok=member_removed")
	return nil
}
