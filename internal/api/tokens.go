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

// Token is an API token. Its secret is returned only when it is created;
// the stored hash never leaves the server.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	TenantID   string     `json:"tenant_id,omitempty" doc:"Tenant the token is scoped to; absent for global tokens"`
	Role       string     `json:"role"`
	UserID     string     `json:"user_id,omitempty" doc:"User who created the token"`
	Prefix     string     `json:"prefix" doc:"First characters of the secret, to recognise it"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty" doc:"Absent if the token does not expire"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Revoked    bool       `json:"revoked"`
}

func tokenDTO(t store.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, TenantID: t.TenantID, Role: t.Role, UserID: t.UserID, Prefix: t.Prefix,
		CreatedAt: t.CreatedAt, ExpiresAt: optTime(t.ExpiresAt), LastUsedAt: optTime(t.LastUsedAt),
		Revoked: t.Revoked}
}

// TokenInput describes a token to create.
type TokenInput struct {
	Name          string `json:"name" minLength:"1" maxLength:"100"`
	Role          string `json:"role" doc:"Role the token acts with; it may not grant more than the caller holds. Global tokens take a global role."`
	ExpiresInDays int    `json:"expires_in_days,omitempty" minimum:"0" maximum:"3650" doc:"Lifetime in days; 0 or absent for no expiry"`
}

// TransformSchema takes the role enum from the auth package.
func (TokenInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "role", auth.Roles(), false)
	return s
}

func (in TokenInput) domain(tenantID string) tenant.TokenInput {
	return tenant.TokenInput{Name: in.Name, TenantID: tenantID, Role: in.Role,
		TTL: time.Duration(in.ExpiresInDays) * 24 * time.Hour}
}

// TokenCreated is a new token with its secret.
type TokenCreated struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret" doc:"The bearer secret (vgl_...). It is shown only this once."`
}

// TokenList is a list of tokens.
type TokenList struct {
	Items []Token `json:"items"`
}

type tokenCreateIn struct {
	TenantParam
	Body TokenInput
}

type tokenParamIn struct {
	TenantParam
	Token string `path:"token" maxLength:"100" doc:"Token ID"`
}

type globalTokenCreateIn struct{ Body TokenInput }

type globalTokenParamIn struct {
	Token string `path:"token" maxLength:"100" doc:"Token ID"`
}

func (s *server) registerTokens() {
	tags := []string{"tokens"}
	tok := inTenant(auth.PermTokenAdmin)
	register(s, tok, huma.Operation{OperationID: "list-tokens", Method: http.MethodGet,
		Path: "/tenants/{tenant}/tokens", Summary: "List a tenant's API tokens", Tags: tags}, s.listTokens)
	register(s, tok, huma.Operation{OperationID: "create-token", Method: http.MethodPost,
		Path: "/tenants/{tenant}/tokens", Summary: "Create an API token",
		Description:   "Returns the token's secret, which is shown only this once.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createToken)
	register(s, tok, huma.Operation{OperationID: "revoke-token", Method: http.MethodDelete,
		Path: "/tenants/{tenant}/tokens/{token}", Summary: "Revoke an API token", DefaultStatus: http.StatusNoContent,
		Tags: tags}, s.revokeToken)

	global := platformWide(auth.PermUserAdmin)
	register(s, global, huma.Operation{OperationID: "list-global-tokens", Method: http.MethodGet, Path: "/tokens",
		Summary: "List global API tokens", Tags: tags}, s.listGlobalTokens)
	register(s, global, huma.Operation{OperationID: "create-global-token", Method: http.MethodPost, Path: "/tokens",
		Summary: "Create a global API token", Description: "Returns the token's secret, which is shown only this once.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createGlobalToken)
	register(s, global, huma.Operation{OperationID: "revoke-global-token", Method: http.MethodDelete,
		Path: "/tokens/{token}", Summary: "Revoke a global API token", DefaultStatus: http.StatusNoContent, Tags: tags},
		s.revokeGlobalToken)
}

func (s *server) tokenList(ctx context.Context, tenantID string) (*out[TokenList], error) {
	ts, err := s.opts.Tenants.ListTokens(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	l := TokenList{Items: items(ts, tokenDTO)}
	return reply(l)
}

func (s *server) tokenCreate(ctx context.Context, tenantID string, in TokenInput) (*out[TokenCreated], error) {
	secret, t, err := s.opts.Tenants.CreateToken(ctx, in.domain(tenantID))
	if err != nil {
		return nil, err
	}
	return reply(TokenCreated{Token: tokenDTO(t), Secret: secret})
}

func (s *server) listTokens(ctx context.Context, _ *TenantParam) (*out[TokenList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.tokenList(ctx, t.ID)
}

func (s *server) createToken(ctx context.Context, in *tokenCreateIn) (*out[TokenCreated], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.tokenCreate(ctx, t.ID, in.Body)
}

func (s *server) revokeToken(ctx context.Context, in *tokenParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Tenants.RevokeToken(ctx, t.ID, in.Token)
}

func (s *server) listGlobalTokens(ctx context.Context, _ *noInput) (*out[TokenList], error) {
	return s.tokenList(ctx, "")
}

func (s *server) createGlobalToken(ctx context.Context, in *globalTokenCreateIn) (*out[TokenCreated], error) {
	return s.tokenCreate(ctx, "", in.Body)
}

func (s *server) revokeGlobalToken(ctx context.Context, in *globalTokenParamIn) (*noContent, error) {
	return nil, s.opts.Tenants.RevokeToken(ctx, "", in.Token)
}
