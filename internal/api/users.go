package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// User is a person who signs in to Vigil. The password hash never leaves
// the server.
type User struct {
	ID                 string     `json:"id"`
	Username           string     `json:"username"`
	DisplayName        string     `json:"display_name"`
	Email              string     `json:"email"`
	Locale             string     `json:"locale" doc:"UI language; empty means from the browser"`
	GlobalRole         string     `json:"global_role" doc:"Role held in every tenant; empty for none"`
	Disabled           bool       `json:"disabled"`
	MustChangePassword bool       `json:"must_change_password"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty" doc:"Absent if the user never signed in"`
}

func userDTO(u store.User) User {
	return User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, Locale: u.Locale,
		GlobalRole: u.GlobalRole, Disabled: u.Disabled, MustChangePassword: u.MustChangePassword,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: optTime(u.LastLoginAt)}
}

// UserCreate is a new user.
type UserCreate struct {
	Username    string `json:"username" pattern:"^[A-Za-z0-9._@-]{2,64}$" patternDescription:"2-64 letters, digits, '.', '_', '-' or '@'"`
	DisplayName string `json:"display_name,omitempty" maxLength:"200"`
	Email       string `json:"email,omitempty" maxLength:"254"`
	Locale      string `json:"locale,omitempty" enum:",en,zh-CN"`
	GlobalRole  string `json:"global_role,omitempty" doc:"Role held in every tenant; empty for none"`
	Disabled    bool   `json:"disabled,omitempty"`
	Password    string `json:"password" minLength:"12" maxLength:"256" writeOnly:"true" doc:"Initial password"`
}

// TransformSchema takes the global role enum from the auth package.
func (UserCreate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "global_role", auth.GlobalRoles(), true)
	return s
}

// UserUpdate replaces a user's editable fields. global_role and disabled
// are required so that leaving them out cannot demote or re-enable anyone.
type UserUpdate struct {
	DisplayName string `json:"display_name,omitempty" maxLength:"200"`
	Email       string `json:"email,omitempty" maxLength:"254"`
	Locale      string `json:"locale,omitempty" enum:",en,zh-CN"`
	GlobalRole  string `json:"global_role" doc:"Role held in every tenant; empty for none"`
	Disabled    bool   `json:"disabled" doc:"A disabled user cannot sign in and their sessions end"`
	Password    string `json:"password,omitempty" minLength:"12" maxLength:"256" writeOnly:"true" doc:"A new password; omit to keep the current one"`
}

// TransformSchema takes the global role enum from the auth package.
func (UserUpdate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "global_role", auth.GlobalRoles(), true)
	return s
}

// UserList is a list of users.
type UserList struct {
	Items []User `json:"items"`
}

// Membership is a user's role in one tenant.
type Membership struct {
	UserID    string     `json:"user_id"`
	TenantID  string     `json:"tenant_id"`
	Role      string     `json:"role"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// MembershipInput sets a user's role in a tenant.
type MembershipInput struct {
	Role string `json:"role"`
}

// TransformSchema takes the role enum from the auth package.
func (MembershipInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "role", auth.Roles(), false)
	return s
}

// MembershipList is a list of memberships.
type MembershipList struct {
	Items []Membership `json:"items"`
}

// UserParam names a user in a path.
type UserParam struct {
	User string `path:"user" maxLength:"100" doc:"User ID"`
}

type userCreateIn struct{ Body UserCreate }

type userUpdateIn struct {
	UserParam
	Body UserUpdate
}

type membershipIn struct {
	UserParam
	TenantParam
}

type membershipPutIn struct {
	UserParam
	TenantParam
	Body MembershipInput
}

func (s *server) registerUsers() {
	tags := []string{"users"}
	admin := platformWide(auth.PermUserAdmin)
	register(s, admin, huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/users",
		Summary: "List users", Tags: tags}, s.listUsers)
	register(s, admin, huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/users",
		Summary: "Create a user", DefaultStatus: http.StatusCreated, Tags: tags, Errors: []int{http.StatusConflict}},
		s.createUser)
	register(s, admin, huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/users/{user}",
		Summary: "Get a user", Tags: tags}, s.getUser)
	register(s, admin, huma.Operation{OperationID: "update-user", Method: http.MethodPut, Path: "/users/{user}",
		Summary: "Replace a user", Description: "Disabling a user or setting a password ends their sessions.",
		Tags: tags}, s.updateUser)
	register(s, admin, huma.Operation{OperationID: "delete-user", Method: http.MethodDelete, Path: "/users/{user}",
		Summary: "Delete a user", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteUser)
	register(s, admin, huma.Operation{OperationID: "list-memberships", Method: http.MethodGet,
		Path: "/users/{user}/memberships", Summary: "List a user's tenant roles", Tags: tags}, s.listMemberships)
	register(s, admin, huma.Operation{OperationID: "set-membership", Method: http.MethodPut,
		Path: "/users/{user}/memberships/{tenant}", Summary: "Give a user a role in a tenant", Tags: tags},
		s.setMembership)
	register(s, admin, huma.Operation{OperationID: "remove-membership", Method: http.MethodDelete,
		Path: "/users/{user}/memberships/{tenant}", Summary: "Take a user's role in a tenant away",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.removeMembership)
}

func (s *server) listUsers(ctx context.Context, _ *noInput) (*out[UserList], error) {
	us, err := s.opts.Tenants.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	l := UserList{Items: items(us, userDTO)}
	return reply(l)
}

func (s *server) createUser(ctx context.Context, in *userCreateIn) (*out[User], error) {
	b := in.Body
	u, err := s.opts.Tenants.CreateUser(ctx, tenant.UserInput{Username: b.Username, DisplayName: b.DisplayName,
		Email: b.Email, Locale: b.Locale, GlobalRole: b.GlobalRole, Disabled: b.Disabled, Password: b.Password})
	if err != nil {
		return nil, err
	}
	return reply(userDTO(u))
}

func (s *server) getUser(ctx context.Context, in *UserParam) (*out[User], error) {
	u, err := s.opts.Tenants.GetUser(ctx, in.User)
	if err != nil {
		return nil, err
	}
	return reply(userDTO(u))
}

func (s *server) updateUser(ctx context.Context, in *userUpdateIn) (*out[User], error) {
	b := in.Body
	u, err := s.opts.Tenants.UpdateUser(ctx, in.User, tenant.UserInput{DisplayName: b.DisplayName, Email: b.Email,
		Locale: b.Locale, GlobalRole: b.GlobalRole, Disabled: b.Disabled, Password: b.Password})
	if err != nil {
		return nil, err
	}
	return reply(userDTO(u))
}

func (s *server) deleteUser(ctx context.Context, in *UserParam) (*noContent, error) {
	return nil, s.opts.Tenants.DeleteUser(ctx, in.User)
}

func (s *server) listMemberships(ctx context.Context, in *UserParam) (*out[MembershipList], error) {
	ms, err := s.opts.Tenants.UserMemberships(ctx, in.User)
	if err != nil {
		return nil, err
	}
	l := MembershipList{Items: make([]Membership, 0, len(ms))}
	for _, m := range ms {
		l.Items = append(l.Items, Membership{UserID: m.UserID, TenantID: m.TenantID, Role: m.Role,
			CreatedAt: optTime(m.CreatedAt)})
	}
	return reply(l)
}

func (s *server) setMembership(ctx context.Context, in *membershipPutIn) (*out[Membership], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Tenants.SetMembership(ctx, in.User, t.ID, in.Body.Role); err != nil {
		return nil, err
	}
	return reply(Membership{UserID: in.User, TenantID: t.ID, Role: in.Body.Role})
}

func (s *server) removeMembership(ctx context.Context, in *membershipIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Tenants.RemoveMembership(ctx, in.User, t.ID)
}
