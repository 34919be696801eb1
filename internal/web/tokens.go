package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// tokenFields is the new-token form as typed.
type tokenFields struct{ Name, Role, TTLDays string }

type tokensPage struct {
	Base
	formState
	URL    string
	Tokens []store.APIToken
	// Roles are the roles the user may give a token: none stronger than
	// their own.
	Roles []string
	Form  tokenFields
	// Secret is the new token's secret, shown once after creating it.
	Secret  string
	Created store.APIToken
}

// maxTokenDays bounds a token's lifetime.
const maxTokenDays = 3650

func (s *server) tokensView(r *http.Request, f tokenFields) (*tokensPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	v := &tokensPage{URL: "/t/" + t.Slug + "/tokens", Form: f}
	for _, role := range auth.Roles() {
		ok := true
		for _, perm := range auth.RolePerms(role) {
			ok = ok && p.Can(perm, t.ID)
		}
		if ok {
			v.Roles = append(v.Roles, role)
		}
	}
	var err error
	v.Tokens, err = s.opts.Tenants.ListTokens(ctx, t.ID)
	return v, err
}

func (s *server) tokenList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.tokensView(r, tokenFields{Role: auth.RoleCustomer, TTLDays: "90"})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "tokens", v)
	return nil
}

// tokenCreate creates a token and shows its secret on the response page
// (never in a URL); it cannot be shown again.
func (s *server) tokenCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	tag := state(r).locale
	f := tokenFields{Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role"), TTLDays: r.PostForm.Get("ttl_days")}
	in := tenant.TokenInput{Name: f.Name, TenantID: t.ID, Role: f.Role}
	days, ok := atoi(f.TTLDays)
	var fs formState
	if !ok || days < 0 || days > maxTokenDays {
		fs.fieldError("ttl_days", s.msgs.T(tag, "tokens.error.ttl", "Max", maxTokenDays))
	}
	if !auth.ValidRole(f.Role) {
		fs.fieldError("role", s.msgs.T(tag, "form.choose"))
	}
	in.TTL = time.Duration(days) * 24 * time.Hour
	status := http.StatusUnprocessableEntity
	var secret string
	var created store.APIToken
	if !fs.Invalid() {
		var err error
		secret, created, err = s.opts.Tenants.CreateToken(ctx, in)
		if errors.Is(err, auth.ErrForbidden) {
			fs.fieldError("role", s.msgs.T(tag, "tokens.error.role_too_strong"))
		} else if err != nil {
			if status, ok = s.formError(r, err, &fs, fields("name", "role")); !ok {
				return err
			}
		}
	}
	v, err := s.tokensView(r, f)
	if err != nil {
		return err
	}
	v.formState = fs
	if secret != "" {
		v.Secret, v.Created, v.Form, status = secret, created, tokenFields{Role: f.Role, TTLDays: f.TTLDays}, http.StatusOK
	}
	s.render(w, r, status, "tokens", v)
	return nil
}

func (s *server) tokenRevoke(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Tenants.RevokeToken(r.Context(), t.ID, chi.URLParam(r, "token")); err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/tokens?ok=revoked")
	return nil
}
