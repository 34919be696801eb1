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

// Tenant is an organisation the SOC serves.
type Tenant struct {
	ID          string    `json:"id"`
	Slug        string    `json:"slug" doc:"Short unique name, usable instead of the ID in paths"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Industry    string    `json:"industry"`
	Disabled    bool      `json:"disabled"`
	TimeZone    string    `json:"time_zone" doc:"IANA time zone name; empty is UTC. The weekly digest's weeks follow it."`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func tenantDTO(t store.Tenant) Tenant {
	return Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Description: t.Description, Industry: t.Industry,
		Disabled: t.Disabled, TimeZone: t.TimeZone, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// TenantInput is what may be set on a tenant.
type TenantInput struct {
	Slug        string `json:"slug" pattern:"^[a-z0-9][a-z0-9-]{1,62}$" patternDescription:"2-63 lowercase letters, digits or '-', starting with a letter or digit" doc:"Short unique name used in URLs"`
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"2000"`
	Industry    string `json:"industry,omitempty" maxLength:"100"`
	Disabled    bool   `json:"disabled,omitempty"`
	TimeZone    string `json:"time_zone,omitempty" maxLength:"64" doc:"IANA time zone name such as Asia/Shanghai; empty is UTC"`
}

func (in TenantInput) domain() tenant.TenantInput {
	return tenant.TenantInput{Slug: in.Slug, Name: in.Name, Description: in.Description, Industry: in.Industry,
		Disabled: in.Disabled, TimeZone: in.TimeZone}
}

// TenantList is a list of tenants.
type TenantList struct {
	Items []Tenant `json:"items"`
}

// TenantParam names the tenant of a path by ID or slug.
type TenantParam struct {
	Tenant string `path:"tenant" maxLength:"100" doc:"Tenant ID or slug"`
}

type tenantBodyIn struct{ Body TenantInput }

type tenantUpdateIn struct {
	TenantParam
	Body TenantInput
}

func (s *server) registerTenants() {
	tags := []string{"tenants"}
	register(s, anyTenant(auth.PermTenantRead), huma.Operation{OperationID: "list-tenants", Method: http.MethodGet,
		Path: "/tenants", Summary: "List tenants", Description: "Lists the tenants the caller may read.", Tags: tags},
		s.listTenants)
	register(s, platformWide(auth.PermTenantAdmin), huma.Operation{OperationID: "create-tenant", Method: http.MethodPost,
		Path: "/tenants", Summary: "Create a tenant", DefaultStatus: http.StatusCreated, Tags: tags,
		Errors: []int{http.StatusConflict}}, s.createTenant)
	register(s, inTenant(auth.PermTenantRead), huma.Operation{OperationID: "get-tenant", Method: http.MethodGet,
		Path: "/tenants/{tenant}", Summary: "Get a tenant", Tags: tags}, s.getTenant)
	register(s, platformWide(auth.PermTenantAdmin), huma.Operation{OperationID: "update-tenant", Method: http.MethodPut,
		Path: "/tenants/{tenant}", Summary: "Replace a tenant", Tags: tags, Errors: []int{http.StatusConflict}},
		s.updateTenant)
	register(s, platformWide(auth.PermTenantAdmin), huma.Operation{OperationID: "delete-tenant", Method: http.MethodDelete,
		Path: "/tenants/{tenant}", Summary: "Delete a tenant",
		Description: "Deletes the tenant and everything it owns.", DefaultStatus: http.StatusNoContent, Tags: tags},
		s.deleteTenant)
}

func (s *server) listTenants(ctx context.Context, _ *noInput) (*out[TenantList], error) {
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	l := TenantList{Items: items(ts, tenantDTO)}
	return reply(l)
}

func (s *server) createTenant(ctx context.Context, in *tenantBodyIn) (*out[Tenant], error) {
	t, err := s.opts.Tenants.CreateTenant(ctx, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(tenantDTO(t))
}

func (s *server) getTenant(ctx context.Context, _ *TenantParam) (*out[Tenant], error) {
	pt, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.opts.Tenants.GetTenant(ctx, pt.ID)
	if err != nil {
		return nil, err
	}
	return reply(tenantDTO(t))
}

func (s *server) updateTenant(ctx context.Context, in *tenantUpdateIn) (*out[Tenant], error) {
	pt, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.opts.Tenants.UpdateTenant(ctx, pt.ID, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(tenantDTO(t))
}

func (s *server) deleteTenant(ctx context.Context, _ *TenantParam) (*noContent, error) {
	pt, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Tenants.DeleteTenant(ctx, pt.ID)
}
