package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// tokens implements store.TokenStore. A global token has a NULL tenant_id,
// and a token without a creator a NULL user_id, so both can be foreign keys.
type tokens struct{ s *Store }

const tokenCols = "id, name, tenant_id, role, user_id, prefix, hash, created_at, expires_at, last_used_at, revoked" // #nosec G101 -- column names, not a credential

func scanToken(r rowScanner) (store.APIToken, error) {
	var t store.APIToken
	err := r.Scan(&t.ID, &t.Name, strDest{&t.TenantID}, &t.Role, strDest{&t.UserID}, &t.Prefix, &t.Hash,
		timeDest{&t.CreatedAt}, timeDest{&t.ExpiresAt}, timeDest{&t.LastUsedAt}, &t.Revoked)
	return t, err
}

// Create inserts t, setting its ID (when empty) and CreatedAt (when zero).
// A hash already stored gives store.ErrConflict; an unknown tenant or user
// store.ErrNotFound.
func (x tokens) Create(ctx context.Context, t *store.APIToken) error {
	s := x.s
	if err := ensureID(&t.ID); err != nil {
		return err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = norm(t.CreatedAt), norm(t.ExpiresAt), norm(t.LastUsedAt)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.stamp()
	}
	_, err := s.conn().exec(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, nullable(t.TenantID), t.Role, nullable(t.UserID), t.Prefix, t.Hash,
		s.t(t.CreatedAt), s.t(t.ExpiresAt), s.t(t.LastUsedAt), t.Revoked)
	return s.wrap("create token", err)
}

// Get returns the token with the given ID.
func (x tokens) Get(ctx context.Context, id string) (store.APIToken, error) {
	t, err := scanToken(x.s.conn().queryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id))
	return t, x.s.wrap("get token", err)
}

// GetByHash returns the token whose secret has the given hash.
func (x tokens) GetByHash(ctx context.Context, hash string) (store.APIToken, error) {
	t, err := scanToken(x.s.conn().queryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`, hash))
	return t, x.s.wrap("get token by hash", err)
}

// List returns a tenant's tokens, or the global tokens for tenantID "",
// oldest first.
func (x tokens) List(ctx context.Context, tenantID string) ([]store.APIToken, error) {
	q := `SELECT ` + tokenCols + ` FROM api_tokens WHERE tenant_id = ? ORDER BY created_at, id`
	args := []any{tenantID}
	if tenantID == "" {
		q = `SELECT ` + tokenCols + ` FROM api_tokens WHERE tenant_id IS NULL ORDER BY created_at, id`
		args = nil
	}
	ts, err := collect(ctx, x.s.conn(), scanToken, q, args...)
	return ts, x.s.wrap("list tokens", err)
}

// Revoke marks a token revoked.
func (x tokens) Revoke(ctx context.Context, id string) error {
	return x.s.wrap("revoke token", affected(x.s.conn().exec(ctx,
		`UPDATE api_tokens SET revoked = ? WHERE id = ?`, true, id)))
}

// Touch records when a token was last used.
func (x tokens) Touch(ctx context.Context, id string, at time.Time) error {
	return x.s.wrap("touch token", affected(x.s.conn().exec(ctx,
		`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, x.s.t(at), id)))
}
