package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// out is an operation's response with a JSON body.
type out[T any] struct{ Body T }

func reply[T any](v T) (*out[T], error) { return &out[T]{Body: v}, nil }

// noContent is the response of operations that return 204.
type noContent struct{}

// noInput is the input of operations without parameters.
type noInput struct{}

// Me is the caller as the API sees it.
type Me struct {
	UserID     string       `json:"user_id,omitempty" doc:"User the token acts for (empty for tokens without an owner)"`
	Username   string       `json:"username,omitempty"`
	TokenID    string       `json:"token_id" doc:"The API token of this request"`
	GlobalRole string       `json:"global_role,omitempty" doc:"Role held in every tenant, if any"`
	Roles      []TenantRole `json:"roles" doc:"Roles held in single tenants"`
}

// TenantRole is a role held in one tenant.
type TenantRole struct {
	TenantID string `json:"tenant_id"`
	Role     string `json:"role"`
}

// Version describes the running server.
type Version struct {
	Version string `json:"version" doc:"Vigil server version"`
	API     string `json:"api" doc:"API major version" enum:"v1"`
}

// Offering is one service of the catalogue.
type Offering struct {
	Code          string `json:"code" doc:"Service code used in subscription paths"`
	Area          string `json:"area" enum:"compliance,operations"`
	NameEN        string `json:"name_en"`
	NameZH        string `json:"name_zh"`
	DefaultReport string `json:"default_report" doc:"Usual report frequency"`
}

// Catalogue lists every service Vigil supports.
type Catalogue struct {
	Items []Offering `json:"items"`
}

func (s *server) registerMeta() {
	register(s, authenticated(), huma.Operation{OperationID: "get-me", Method: http.MethodGet, Path: "/me",
		Summary: "The caller", Description: "Returns the user, token and roles of the calling API token.",
		Tags: []string{"meta"}}, s.getMe)
	register(s, authenticated(), huma.Operation{OperationID: "get-version", Method: http.MethodGet, Path: "/version",
		Summary: "Server version", Tags: []string{"meta"}}, s.getVersion)
	register(s, authenticated(), huma.Operation{OperationID: "get-catalogue", Method: http.MethodGet, Path: "/catalogue",
		Summary: "Service catalogue", Description: "Lists every service a tenant may subscribe to.",
		Tags: []string{"meta", "services"}}, s.getCatalogue)
}

func (s *server) getMe(ctx context.Context, _ *noInput) (*out[Me], error) {
	p := auth.FromContext(ctx)
	m := Me{UserID: p.UserID, Username: p.Username, TokenID: p.TokenID, GlobalRole: p.GlobalRole,
		Roles: make([]TenantRole, 0, len(p.Roles))}
	for _, id := range p.TenantIDs() {
		m.Roles = append(m.Roles, TenantRole{TenantID: id, Role: p.Roles[id]})
	}
	return reply(m)
}

func (s *server) getVersion(context.Context, *noInput) (*out[Version], error) {
	v := s.opts.Version
	if v == "" {
		v = "dev"
	}
	return reply(Version{Version: v, API: "v1"})
}

func (s *server) getCatalogue(context.Context, *noInput) (*out[Catalogue], error) {
	cat := tenant.Catalogue()
	c := Catalogue{Items: make([]Offering, 0, len(cat))}
	for _, o := range cat {
		c.Items = append(c.Items, Offering{Code: o.Code, Area: o.Area, NameEN: o.NameEN, NameZH: o.NameZH,
			DefaultReport: o.DefaultReport})
	}
	return reply(c)
}
