package sqldb

import (
	"context"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

var _ store.SecretCreator = (*Store)(nil)

// CreateSecret implements store.SecretCreator: an insert that does
// nothing when the ID is taken, under the secrets table's primary key.
func (s *Store) CreateSecret(ctx context.Context, v *store.Secret) error {
	if err := ensureID(&v.ID); err != nil {
		return err
	}
	ct := v.Ciphertext
	if ct == nil {
		ct = []byte{}
	}
	now := s.stamp()
	res, err := s.conn().exec(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, v.ID, v.TenantID, v.Name, v.Kind, ct, s.t(now), s.t(now))
	if err != nil {
		return s.wrap("create secret", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap("create secret", err)
	}
	if n == 0 {
		return fmt.Errorf("create secret %s: %w", v.ID, store.ErrConflict)
	}
	v.CreatedAt, v.UpdatedAt = now, now
	return nil
}
