package secret

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// MaxValueSize bounds one secret's plaintext (an SSH private key fits).
const MaxValueSize = 64 << 10

// Kinds lists the accepted secret kinds.
func Kinds() []string {
	return []string{"password", "ssh-key", "api-token", "snmp-community", "webhook-secret", "smtp-password", "other"}
}

// Vault stores tenants' credentials encrypted. Values go in through Put and
// come out only through Open, which engines call when they need the
// credential (an SSH login for a baseline check, an SMTP login for mail);
// the API and UI never return them.
type Vault struct {
	box   *Box
	store store.SecretStore
	audit *audit.Log
}

// NewVault returns a Vault.
func NewVault(box *Box, s store.SecretStore, a *audit.Log) *Vault {
	return &Vault{box: box, store: s, audit: a}
}

// Input is a secret to store.
type Input struct {
	Name  string
	Kind  string
	Value []byte
}

// aad binds a ciphertext to its row: copying it to another tenant or
// secret makes it undecryptable.
func aad(tenantID, id string) []byte { return []byte(tenantID + "/" + id) }

// maxNameLen bounds a secret's name, in characters.
const maxNameLen = 200

// check validates a secret to store. Its errors never carry the value.
func (in Input) check() error {
	const nameMsg = "name must be 1 to %d characters"
	switch name := strings.TrimSpace(in.Name); {
	case name == "":
		return store.NewFieldError("name", store.CodeRequired, nil, nameMsg, maxNameLen)
	case utf8.RuneCountInString(name) > maxNameLen:
		return store.NewFieldError("name", store.CodeTooLong, map[string]any{"max": maxNameLen}, nameMsg, maxNameLen)
	}
	if !slices.Contains(Kinds(), in.Kind) {
		return store.NewFieldError("kind", store.CodeOneOf, map[string]any{"allowed": Kinds(), "value": in.Kind},
			"kind must be one of %s", strings.Join(Kinds(), ", "))
	}
	const valueMsg = "value must be 1 to %d bytes"
	switch {
	case len(in.Value) == 0:
		return store.NewFieldError("value", store.CodeRequired, nil, valueMsg, MaxValueSize)
	case len(in.Value) > MaxValueSize:
		return store.NewFieldError("value", store.CodeTooLarge, map[string]any{"max": MaxValueSize}, valueMsg, MaxValueSize)
	}
	return nil
}

// Create stores a new secret and returns its metadata.
func (v *Vault) Create(ctx context.Context, tenantID string, in Input) (store.Secret, error) {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return store.Secret{}, err
	}
	if err := in.check(); err != nil {
		return store.Secret{}, err
	}
	s := store.Secret{ID: newID(), TenantID: tenantID, Name: strings.TrimSpace(in.Name), Kind: in.Kind}
	return s, v.seal(ctx, &s, in.Value, "secret.create")
}

// Replace stores a new value (and name, kind) for an existing secret.
func (v *Vault) Replace(ctx context.Context, tenantID, id string, in Input) (store.Secret, error) {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return store.Secret{}, err
	}
	if err := in.check(); err != nil {
		return store.Secret{}, err
	}
	s, err := v.store.Get(ctx, tenantID, id)
	if err != nil {
		return store.Secret{}, fmt.Errorf("replace secret: %w", err)
	}
	s.Name, s.Kind = strings.TrimSpace(in.Name), in.Kind
	return s, v.seal(ctx, &s, in.Value, "secret.replace")
}

func (v *Vault) seal(ctx context.Context, s *store.Secret, value []byte, action string) error {
	ct, err := v.box.Seal(value, aad(s.TenantID, s.ID))
	if err != nil {
		return err
	}
	s.Ciphertext = ct
	if err := v.store.Put(ctx, s); err != nil {
		return fmt.Errorf("store secret: %w", err)
	}
	s.Ciphertext = nil
	return v.audit.Record(ctx, audit.Event{TenantID: s.TenantID, Action: action, Object: "secret:" + s.ID,
		Detail: map[string]string{"name": s.Name, "kind": s.Kind}})
}

// List returns the tenant's secrets without their values.
func (v *Vault) List(ctx context.Context, tenantID string) ([]store.Secret, error) {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return nil, err
	}
	return v.store.List(ctx, tenantID)
}

// Delete removes a secret.
func (v *Vault) Delete(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return err
	}
	if err := v.store.Delete(ctx, tenantID, id); err != nil {
		return fmt.Errorf("delete secret: %w", err)
	}
	return v.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "secret.delete", Object: "secret:" + id})
}

// Open decrypts a secret for an engine about to use it; purpose says what
// for and is written to the audit log. The principal in ctx (a user or the
// worker acting for a job) must hold secret.write in the tenant.
func (v *Vault) Open(ctx context.Context, tenantID, id, purpose string) ([]byte, error) {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return nil, err
	}
	s, err := v.store.Get(ctx, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	pt, err := v.box.Open(s.Ciphertext, aad(s.TenantID, s.ID))
	if err != nil {
		return nil, err
	}
	return pt, v.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "secret.use", Object: "secret:" + id,
		Detail: map[string]string{"purpose": purpose}})
}
