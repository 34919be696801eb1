package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// contacts implements store.ContactStore; every query is scoped by tenant.
type contacts struct{ s *Store }

const contactCols = "id, tenant_id, kind, name, org, title, phone, email, im, asset_id, product, notes, created_at, updated_at"

func scanContact(r rowScanner) (store.Contact, error) {
	var c store.Contact
	err := r.Scan(&c.ID, &c.TenantID, &c.Kind, &c.Name, &c.Org, &c.Title, &c.Phone, &c.Email, &c.IM,
		&c.AssetID, &c.Product, &c.Notes, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt})
	return c, err
}

// Create inserts c, setting its ID (when empty) and timestamps. An unknown
// tenant gives store.ErrNotFound.
func (x contacts) Create(ctx context.Context, c *store.Contact) error {
	s := x.s
	if err := ensureID(&c.ID); err != nil {
		return err
	}
	now := s.stamp()
	c.CreatedAt, c.UpdatedAt = now, now
	_, err := s.conn().exec(ctx, `INSERT INTO contacts (`+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Kind, c.Name, c.Org, c.Title, c.Phone, c.Email, c.IM, c.AssetID, c.Product, c.Notes,
		s.t(now), s.t(now))
	return s.wrap("create contact", err)
}

// Get returns one contact of a tenant.
func (x contacts) Get(ctx context.Context, tenantID, id string) (store.Contact, error) {
	c, err := scanContact(x.s.conn().queryRow(ctx,
		`SELECT `+contactCols+` FROM contacts WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, x.s.wrap("get contact", err)
}

// List returns a tenant's contacts matching f, ordered by name.
func (x contacts) List(ctx context.Context, tenantID string, f store.ContactFilter) ([]store.Contact, error) {
	var w where
	w.add("tenant_id = ?", tenantID)
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.AssetID != "" {
		w.add("asset_id = ?", f.AssetID)
	}
	cs, err := collect(ctx, x.s.conn(), scanContact,
		`SELECT `+contactCols+` FROM contacts`+w.String()+` ORDER BY lower(name), id`, w.args...)
	return cs, x.s.wrap("list contacts", err)
}

// Update writes c's fields within its tenant, sets UpdatedAt and reloads
// CreatedAt.
func (x contacts) Update(ctx context.Context, c *store.Contact) error {
	s := x.s
	now := s.stamp()
	err := s.conn().queryRow(ctx, `UPDATE contacts SET kind = ?, name = ?, org = ?, title = ?, phone = ?, email = ?,
		im = ?, asset_id = ?, product = ?, notes = ?, updated_at = ? WHERE tenant_id = ? AND id = ? RETURNING created_at`,
		c.Kind, c.Name, c.Org, c.Title, c.Phone, c.Email, c.IM, c.AssetID, c.Product, c.Notes, s.t(now),
		c.TenantID, c.ID).Scan(timeDest{&c.CreatedAt})
	if err != nil {
		return s.wrap("update contact", err)
	}
	c.UpdatedAt = now
	return nil
}

// Delete removes one contact of a tenant.
func (x contacts) Delete(ctx context.Context, tenantID, id string) error {
	return x.s.wrap("delete contact", affected(x.s.conn().exec(ctx,
		`DELETE FROM contacts WHERE tenant_id = ? AND id = ?`, tenantID, id)))
}
