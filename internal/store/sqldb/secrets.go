package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// secrets implements store.SecretStore; every query is scoped by tenant
// (tenant "" holds the platform secrets).
type secrets struct{ s *Store }

const secretCols = "id, tenant_id, name, kind, ciphertext, created_at, updated_at" // #nosec G101 -- column names, not a credential

// Put creates the secret or replaces the name, kind and ciphertext of the
// tenant's secret with the same ID, setting the timestamps. An ID held by
// another tenant's secret gives store.ErrConflict and leaves it untouched.
func (x secrets) Put(ctx context.Context, v *store.Secret) error {
	s := x.s
	if err := ensureID(&v.ID); err != nil {
		return err
	}
	ct := v.Ciphertext
	if ct == nil {
		ct = []byte{}
	}
	now := s.stamp()
	err := s.conn().queryRow(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
		ciphertext = excluded.ciphertext, updated_at = excluded.updated_at
		WHERE secrets.tenant_id = excluded.tenant_id
		RETURNING created_at`,
		v.ID, v.TenantID, v.Name, v.Kind, ct, s.t(now), s.t(now)).Scan(timeDest{&v.CreatedAt})
	if err != nil {
		if isNoRows(err) {
			// The ID exists in another tenant: the conditional update
			// touched nothing.
			err = errIDTaken
		}
		return s.wrap("put secret", err)
	}
	v.UpdatedAt = now
	return nil
}

// Get returns one secret of a tenant, with its ciphertext.
func (x secrets) Get(ctx context.Context, tenantID, id string) (store.Secret, error) {
	var v store.Secret
	err := x.s.conn().queryRow(ctx, `SELECT `+secretCols+` FROM secrets WHERE tenant_id = ? AND id = ?`, tenantID, id).
		Scan(&v.ID, &v.TenantID, &v.Name, &v.Kind, &v.Ciphertext, timeDest{&v.CreatedAt}, timeDest{&v.UpdatedAt})
	return v, x.s.wrap("get secret", err)
}

// List returns a tenant's secrets ordered by name, without ciphertext.
func (x secrets) List(ctx context.Context, tenantID string) ([]store.Secret, error) {
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.Secret, error) {
		var v store.Secret
		err := r.Scan(&v.ID, &v.TenantID, &v.Name, &v.Kind, timeDest{&v.CreatedAt}, timeDest{&v.UpdatedAt})
		return v, err
	}, `SELECT id, tenant_id, name, kind, created_at, updated_at FROM secrets WHERE tenant_id = ? ORDER BY lower(name), id`, tenantID)
	return vs, x.s.wrap("list secrets", err)
}

// Delete removes one secret of a tenant.
func (x secrets) Delete(ctx context.Context, tenantID, id string) error {
	return x.s.wrap("delete secret", affected(x.s.conn().exec(ctx,
		`DELETE FROM secrets WHERE tenant_id = ? AND id = ?`, tenantID, id)))
}
