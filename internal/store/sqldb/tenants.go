package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// tenants implements store.TenantStore.
type tenants struct{ s *Store }

const tenantCols = "id, slug, name, description, industry, disabled, created_at, updated_at, time_zone"

func scanTenant(r rowScanner) (store.Tenant, error) {
	var t store.Tenant
	err := r.Scan(&t.ID, &t.Slug, &t.Name, &t.Description, &t.Industry, &t.Disabled,
		timeDest{&t.CreatedAt}, timeDest{&t.UpdatedAt}, &t.TimeZone)
	return t, err
}

// Create inserts t, setting its ID (when empty) and timestamps.
func (x tenants) Create(ctx context.Context, t *store.Tenant) error {
	s := x.s
	if err := ensureID(&t.ID); err != nil {
		return err
	}
	now := s.stamp()
	t.CreatedAt, t.UpdatedAt = now, now
	_, err := s.conn().exec(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Slug, t.Name, t.Description, t.Industry, t.Disabled, s.t(now), s.t(now), t.TimeZone)
	return s.wrap("create tenant", err)
}

// Get returns the tenant with the given ID.
func (x tenants) Get(ctx context.Context, id string) (store.Tenant, error) {
	t, err := scanTenant(x.s.conn().queryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = ?`, id))
	return t, x.s.wrap("get tenant", err)
}

// GetBySlug returns the tenant with the given slug.
func (x tenants) GetBySlug(ctx context.Context, slug string) (store.Tenant, error) {
	t, err := scanTenant(x.s.conn().queryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE slug = ?`, slug))
	return t, x.s.wrap("get tenant by slug", err)
}

// List returns every tenant ordered by slug.
func (x tenants) List(ctx context.Context) ([]store.Tenant, error) {
	ts, err := collect(ctx, x.s.conn(), scanTenant, `SELECT `+tenantCols+` FROM tenants ORDER BY slug`)
	return ts, x.s.wrap("list tenants", err)
}

// Update writes t's fields, sets UpdatedAt and reloads CreatedAt.
func (x tenants) Update(ctx context.Context, t *store.Tenant) error {
	s := x.s
	now := s.stamp()
	err := s.conn().queryRow(ctx, `UPDATE tenants SET slug = ?, name = ?, description = ?, industry = ?, disabled = ?, updated_at = ?,
		time_zone = ? WHERE id = ? RETURNING created_at`,
		t.Slug, t.Name, t.Description, t.Industry, t.Disabled, s.t(now), t.TimeZone, t.ID).Scan(timeDest{&t.CreatedAt})
	if err != nil {
		return s.wrap("update tenant", err)
	}
	t.UpdatedAt = now
	return nil
}

// Delete removes a tenant and everything it owns: the foreign keys cascade
// to memberships, tokens, contacts, subscriptions and assets (sessions
// merely lose it as their selected tenant); its secrets, which have no
// foreign key because platform secrets have no tenant, are deleted here.
// Audit entries are kept.
func (x tenants) Delete(ctx context.Context, id string) error {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM secrets WHERE tenant_id = ?`, id); err != nil {
			return err
		}
		return affected(c.exec(ctx, `DELETE FROM tenants WHERE id = ?`, id))
	})
	return s.wrap("delete tenant", err)
}
