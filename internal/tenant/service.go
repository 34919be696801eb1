package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Service manages tenants, users, teams, contacts, subscriptions and tokens.
type Service struct {
	store  store.Store
	audit  *audit.Log
	auth   *auth.Service
	logger *slog.Logger
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
}

// NewService returns a Service.
func NewService(s store.Store, a *audit.Log, au *auth.Service, opts Options) *Service {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Service{store: s, audit: a, auth: au, logger: l}
}

// record writes the audit entry of a change that already succeeded. A
// failure to audit is returned: callers report it rather than pretend all
// went well.
func (s *Service) record(ctx context.Context, tenantID, action, object string, detail any) error {
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: object, Detail: detail})
}

// ---- tenants ----

// TenantInput is what a user may set on a tenant.
type TenantInput struct {
	Slug        string
	Name        string
	Description string
	Industry    string
	Disabled    bool
	// TimeZone is an IANA zone name; "" (or "UTC") is UTC.
	TimeZone string
}

func (in TenantInput) apply(t *store.Tenant) error {
	var err error
	slug := strings.ToLower(strings.TrimSpace(in.Slug))
	if !slugRE.MatchString(slug) {
		return invalid("slug", store.CodeInvalidSlug, nil, "slug must be 2-63 lowercase letters, digits or '-', starting with a letter or digit")
	}
	if _, err := uuid.Parse(slug); err == nil {
		return invalid("slug", store.CodeLooksLikeID, nil, "slug must not look like an ID")
	}
	t.Slug = slug
	if t.Name, err = text("name", "name", in.Name, 1, 200); err != nil {
		return err
	}
	if t.Description, err = text("description", "description", in.Description, 0, 2000); err != nil {
		return err
	}
	if t.Industry, err = text("industry", "industry", in.Industry, 0, 100); err != nil {
		return err
	}
	if t.TimeZone, err = TimeZone(in.TimeZone); err != nil {
		return err
	}
	t.Disabled = in.Disabled
	return nil
}

// CreateTenant creates a tenant (platform admins only).
func (s *Service) CreateTenant(ctx context.Context, in TenantInput) (store.Tenant, error) {
	if err := auth.Require(ctx, auth.PermTenantAdmin, ""); err != nil {
		return store.Tenant{}, err
	}
	var t store.Tenant
	if err := in.apply(&t); err != nil {
		return store.Tenant{}, err
	}
	if err := s.store.Tenants().Create(ctx, &t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Tenant{}, fmt.Errorf("%w: a tenant with slug %q already exists", store.ErrConflict, t.Slug)
		}
		return store.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	return t, s.record(ctx, t.ID, "tenant.create", "tenant:"+t.ID, map[string]string{"slug": t.Slug, "name": t.Name})
}

// UpdateTenant changes a tenant (platform admins only).
func (s *Service) UpdateTenant(ctx context.Context, id string, in TenantInput) (store.Tenant, error) {
	if err := auth.Require(ctx, auth.PermTenantAdmin, ""); err != nil {
		return store.Tenant{}, err
	}
	t, err := s.store.Tenants().Get(ctx, id)
	if err != nil {
		return store.Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	if err := in.apply(&t); err != nil {
		return store.Tenant{}, err
	}
	if err := s.store.Tenants().Update(ctx, &t); err != nil {
		return store.Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	return t, s.record(ctx, t.ID, "tenant.update", "tenant:"+t.ID, map[string]any{"slug": t.Slug, "name": t.Name, "disabled": t.Disabled})
}

// DeleteTenant deletes a tenant and (by cascade) everything it owns.
func (s *Service) DeleteTenant(ctx context.Context, id string) error {
	if err := auth.Require(ctx, auth.PermTenantAdmin, ""); err != nil {
		return err
	}
	t, err := s.store.Tenants().Get(ctx, id)
	if err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	if err := s.store.Tenants().Delete(ctx, id); err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	return s.record(ctx, id, "tenant.delete", "tenant:"+id, map[string]string{"slug": t.Slug})
}

// GetTenant returns a tenant the principal may read.
func (s *Service) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	if err := auth.Require(ctx, auth.PermTenantRead, id); err != nil {
		return store.Tenant{}, err
	}
	return s.store.Tenants().Get(ctx, id)
}

// ResolveTenant finds a tenant by ID or slug, among those the principal may
// read; others are reported as not found so their existence does not leak.
func (s *Service) ResolveTenant(ctx context.Context, ref string) (store.Tenant, error) {
	t, err := s.store.Tenants().Get(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		t, err = s.store.Tenants().GetBySlug(ctx, ref)
	}
	if err != nil {
		return store.Tenant{}, err
	}
	if !auth.FromContext(ctx).Can(auth.PermTenantRead, t.ID) {
		return store.Tenant{}, store.ErrNotFound
	}
	return t, nil
}

// ListTenants returns the tenants the principal may read.
func (s *Service) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return nil, auth.ErrUnauthenticated
	}
	all, err := s.store.Tenants().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return slices.DeleteFunc(all, func(t store.Tenant) bool { return !p.Can(auth.PermTenantRead, t.ID) }), nil
}

// ---- users and memberships ----

// UserInput is what an admin may set on a user.
type UserInput struct {
	Username    string
	DisplayName string
	Email       string
	Locale      string
	GlobalRole  string
	Disabled    bool
	// Password, when not empty, sets a new password.
	Password string
}

func (in UserInput) apply(u *store.User, creating bool) error {
	var err error
	if creating {
		name := strings.TrimSpace(in.Username)
		if !usernameRE.MatchString(name) {
			return invalid("username", store.CodeInvalidUsername, nil, "username must be 2-64 letters, digits, '.', '_', '-' or '@'")
		}
		u.Username = name
	}
	if u.DisplayName, err = text("display_name", "display name", in.DisplayName, 0, 200); err != nil {
		return err
	}
	if u.Email, err = optionalEmail(in.Email); err != nil {
		return err
	}
	if in.Locale != "" {
		if err := checkLocale(in.Locale); err != nil {
			return err
		}
	}
	u.Locale = in.Locale
	if in.GlobalRole != "" && !auth.ValidGlobalRole(in.GlobalRole) {
		return oneOf("global_role", "global role", in.GlobalRole, auth.GlobalRoles())
	}
	u.GlobalRole = in.GlobalRole
	u.Disabled = in.Disabled
	if in.Password != "" || creating {
		h, err := auth.HashPassword(in.Password)
		if err != nil {
			return err // the policy failure is a *store.FieldError
		}
		u.PasswordHash = h
	}
	return nil
}

// userLocales are the UI languages a user may choose.
func userLocales() []string { return []string{"en", "zh-CN"} }

func checkLocale(l string) error {
	if !slices.Contains(userLocales(), l) {
		return invalid("locale", store.CodeOneOf, args{"allowed": userLocales(), "value": l}, "locale must be en or zh-CN")
	}
	return nil
}

// CreateUser creates a user (user admins only).
func (s *Service) CreateUser(ctx context.Context, in UserInput) (store.User, error) {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return store.User{}, err
	}
	var u store.User
	if err := in.apply(&u, true); err != nil {
		return store.User{}, err
	}
	if err := s.store.Users().Create(ctx, &u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, fmt.Errorf("%w: username %q is taken", store.ErrConflict, u.Username)
		}
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, s.record(ctx, "", "user.create", "user:"+u.ID, map[string]string{"username": u.Username, "global_role": u.GlobalRole})
}

// UpdateUser changes a user (user admins only). Disabling a user or
// changing the password ends their sessions.
func (s *Service) UpdateUser(ctx context.Context, id string, in UserInput) (store.User, error) {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return store.User{}, err
	}
	u, err := s.store.Users().Get(ctx, id)
	if err != nil {
		return store.User{}, fmt.Errorf("update user: %w", err)
	}
	if auth.FromContext(ctx).UserID == id && (in.Disabled || in.GlobalRole != u.GlobalRole) {
		field := "global_role"
		if in.Disabled {
			field = "disabled"
		}
		return store.User{}, invalid(field, store.CodeSelfChange, nil, "you cannot disable yourself or change your own global role")
	}
	if err := in.apply(&u, false); err != nil {
		return store.User{}, err
	}
	if in.Password != "" {
		// A password an admin sets for someone else is known to the
		// admin: the user must replace it at next sign-in.
		u.MustChangePassword = auth.FromContext(ctx).UserID != id
	}
	if err := s.store.Users().Update(ctx, &u); err != nil {
		return store.User{}, fmt.Errorf("update user: %w", err)
	}
	if in.Disabled || in.Password != "" {
		if err := s.store.Sessions().DeleteForUser(ctx, u.ID); err != nil {
			return store.User{}, fmt.Errorf("end sessions: %w", err)
		}
	}
	return u, s.record(ctx, "", "user.update", "user:"+u.ID, map[string]any{
		"username": u.Username, "global_role": u.GlobalRole, "disabled": u.Disabled, "password_changed": in.Password != ""})
}

// ChangeOwnPassword lets a signed-in user change their password.
func (s *Service) ChangeOwnPassword(ctx context.Context, current, next string) error {
	p := auth.FromContext(ctx)
	if p.Anonymous() || p.TokenID != "" {
		return auth.ErrUnauthenticated
	}
	u, err := s.store.Users().Get(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !auth.VerifyPassword(u.PasswordHash, current) {
		return invalid("current_password", store.CodeWrongPassword, nil, "current password is wrong")
	}
	h, err := auth.HashPassword(next)
	if err != nil {
		return err // the policy failure is a *store.FieldError
	}
	u.PasswordHash, u.MustChangePassword = h, false
	if err := s.store.Users().Update(ctx, &u); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return s.record(ctx, "", "user.password", "user:"+u.ID, nil)
}

// SetOwnLocale stores the signed-in user's language.
func (s *Service) SetOwnLocale(ctx context.Context, locale string) error {
	p := auth.FromContext(ctx)
	if p.Anonymous() || p.TokenID != "" {
		return auth.ErrUnauthenticated
	}
	if err := checkLocale(locale); err != nil {
		return err
	}
	u, err := s.store.Users().Get(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("set locale: %w", err)
	}
	u.Locale = locale
	if err := s.store.Users().Update(ctx, &u); err != nil {
		return fmt.Errorf("set locale: %w", err)
	}
	return s.record(ctx, "", "user.locale", "user:"+u.ID, map[string]string{"locale": locale})
}

// ListUsers returns every user (user admins only).
func (s *Service) ListUsers(ctx context.Context) ([]store.User, error) {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return nil, err
	}
	return s.store.Users().List(ctx)
}

// GetUser returns a user (user admins, or the user themselves).
func (s *Service) GetUser(ctx context.Context, id string) (store.User, error) {
	if p := auth.FromContext(ctx); p.UserID != id || p.TokenID != "" {
		if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
			return store.User{}, err
		}
	}
	return s.store.Users().Get(ctx, id)
}

// DeleteUser deletes a user and their sessions.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return err
	}
	if auth.FromContext(ctx).UserID == id {
		return invalid("", store.CodeSelfDelete, nil, "you cannot delete yourself")
	}
	u, err := s.store.Users().Get(ctx, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if err := s.store.Users().Delete(ctx, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return s.record(ctx, "", "user.delete", "user:"+id, map[string]string{"username": u.Username})
}

// SetMembership gives a user a role in a tenant.
func (s *Service) SetMembership(ctx context.Context, userID, tenantID, role string) error {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return err
	}
	if !auth.ValidRole(role) {
		return oneOf("role", "role", role, auth.Roles())
	}
	if _, err := s.store.Users().Get(ctx, userID); err != nil {
		return fmt.Errorf("membership user: %w", err)
	}
	if _, err := s.store.Tenants().Get(ctx, tenantID); err != nil {
		return fmt.Errorf("membership tenant: %w", err)
	}
	if err := s.store.Users().SetMembership(ctx, store.Membership{UserID: userID, TenantID: tenantID, Role: role}); err != nil {
		return fmt.Errorf("set membership: %w", err)
	}
	return s.record(ctx, tenantID, "membership.set", "user:"+userID, map[string]string{"role": role})
}

// RemoveMembership takes a user's role in a tenant away.
func (s *Service) RemoveMembership(ctx context.Context, userID, tenantID string) error {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return err
	}
	if err := s.store.Users().RemoveMembership(ctx, userID, tenantID); err != nil {
		return fmt.Errorf("remove membership: %w", err)
	}
	return s.record(ctx, tenantID, "membership.remove", "user:"+userID, nil)
}

// TenantMembers lists who holds a role in a tenant.
func (s *Service) TenantMembers(ctx context.Context, tenantID string) ([]store.Membership, error) {
	if err := auth.Require(ctx, auth.PermTenantRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Users().TenantMembers(ctx, tenantID)
}

// UserMemberships lists a user's tenant roles (user admins only).
func (s *Service) UserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return nil, err
	}
	return s.store.Users().Memberships(ctx, userID)
}

// ---- API tokens ----

// TokenInput describes a token to create.
type TokenInput struct {
	Name     string
	TenantID string // "" for a global token
	Role     string
	TTL      time.Duration
}

// CreateToken creates an API token and returns its secret once. Tenant
// tokens need token.admin in that tenant; global tokens need user.admin. A
// principal cannot mint a token stronger than itself.
func (s *Service) CreateToken(ctx context.Context, in TokenInput) (string, store.APIToken, error) {
	p := auth.FromContext(ctx)
	if in.TenantID == "" {
		if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
			return "", store.APIToken{}, err
		}
	} else {
		if err := auth.Require(ctx, auth.PermTokenAdmin, in.TenantID); err != nil {
			return "", store.APIToken{}, err
		}
		if _, err := s.store.Tenants().Get(ctx, in.TenantID); err != nil {
			return "", store.APIToken{}, fmt.Errorf("token tenant: %w", err)
		}
	}
	for _, perm := range auth.RolePerms(in.Role) {
		if in.TenantID != "" && auth.GlobalOnly(perm) {
			continue // a tenant token never holds these, whatever its role
		}
		if !p.Can(perm, in.TenantID) {
			return "", store.APIToken{}, fmt.Errorf("%w: role %q grants more than you hold", auth.ErrForbidden, in.Role)
		}
	}
	secret, t, err := s.auth.CreateToken(ctx, auth.NewTokenInput{Name: in.Name, TenantID: in.TenantID, Role: in.Role, UserID: p.UserID, TTL: in.TTL})
	if err != nil {
		return "", store.APIToken{}, err
	}
	return secret, t, s.record(ctx, in.TenantID, "token.create", "token:"+t.ID, map[string]string{"name": t.Name, "role": t.Role})
}

// ListTokens lists a tenant's tokens ("" lists global tokens).
func (s *Service) ListTokens(ctx context.Context, tenantID string) ([]store.APIToken, error) {
	perm := auth.PermTokenAdmin
	if tenantID == "" {
		perm = auth.PermUserAdmin
	}
	if err := auth.Require(ctx, perm, tenantID); err != nil {
		return nil, err
	}
	return s.store.Tokens().List(ctx, tenantID)
}

// RevokeToken revokes a token of the given tenant ("" for global).
func (s *Service) RevokeToken(ctx context.Context, tenantID, id string) error {
	perm := auth.PermTokenAdmin
	if tenantID == "" {
		perm = auth.PermUserAdmin
	}
	if err := auth.Require(ctx, perm, tenantID); err != nil {
		return err
	}
	t, err := s.store.Tokens().Get(ctx, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if t.TenantID != tenantID {
		return store.ErrNotFound
	}
	if err := s.store.Tokens().Revoke(ctx, id); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return s.record(ctx, tenantID, "token.revoke", "token:"+id, map[string]string{"name": t.Name})
}
