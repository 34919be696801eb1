package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

// Secret describes a stored credential. Its value is never returned.
type Secret struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func secretDTO(s store.Secret) Secret {
	return Secret{ID: s.ID, TenantID: s.TenantID, Name: s.Name, Kind: s.Kind, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// SecretInput is a credential to store; the value is encrypted at rest and
// can be read back only by the engines that use it.
type SecretInput struct {
	Name  string `json:"name" minLength:"1" maxLength:"200"`
	Kind  string `json:"kind"`
	Value string `json:"value" minLength:"1" maxLength:"65536" doc:"The credential; write-only"`
}

// TransformSchema takes the kind enum from the secret package.
func (SecretInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "kind", secret.Kinds(), false)
	return s
}

func (in SecretInput) domain() secret.Input {
	return secret.Input{Name: in.Name, Kind: in.Kind, Value: []byte(in.Value)}
}

// SecretList is a list of secrets.
type SecretList struct {
	Items []Secret `json:"items"`
}

type secretParamIn struct {
	TenantParam
	Secret string `path:"secret" maxLength:"100" doc:"Secret ID"`
}

type secretCreateIn struct {
	TenantParam
	Body SecretInput
}

type secretReplaceIn struct {
	TenantParam
	Secret string `path:"secret" maxLength:"100" doc:"Secret ID"`
	Body   SecretInput
}

func (s *server) registerSecrets() {
	tags := []string{"secrets"}
	perm := inTenant(auth.PermSecretWrite)
	register(s, perm, huma.Operation{OperationID: "list-secrets", Method: http.MethodGet,
		Path: "/tenants/{tenant}/secrets", Summary: "List a tenant's stored credentials (names only)", Tags: tags}, s.listSecrets)
	register(s, perm, huma.Operation{OperationID: "create-secret", Method: http.MethodPost,
		Path: "/tenants/{tenant}/secrets", Summary: "Store a credential, encrypted at rest", DefaultStatus: http.StatusCreated,
		Tags: tags}, s.createSecret)
	register(s, perm, huma.Operation{OperationID: "replace-secret", Method: http.MethodPut,
		Path: "/tenants/{tenant}/secrets/{secret}", Summary: "Replace a credential's value", Tags: tags}, s.replaceSecret)
	register(s, perm, huma.Operation{OperationID: "delete-secret", Method: http.MethodDelete,
		Path: "/tenants/{tenant}/secrets/{secret}", Summary: "Delete a credential", DefaultStatus: http.StatusNoContent,
		Tags: tags}, s.deleteSecret)
}

func (s *server) listSecrets(ctx context.Context, _ *struct{ TenantParam }) (*out[SecretList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.opts.Secrets.List(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	l := SecretList{Items: items(list, secretDTO)}
	return reply(l)
}

func (s *server) createSecret(ctx context.Context, in *secretCreateIn) (*out[Secret], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	x, err := s.opts.Secrets.Create(ctx, t.ID, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(secretDTO(x))
}

func (s *server) replaceSecret(ctx context.Context, in *secretReplaceIn) (*out[Secret], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	x, err := s.opts.Secrets.Replace(ctx, t.ID, in.Secret, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(secretDTO(x))
}

func (s *server) deleteSecret(ctx context.Context, in *secretParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Secrets.Delete(ctx, t.ID, in.Secret)
}
