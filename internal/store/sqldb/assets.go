package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// assets implements store.AssetStore; every query is scoped by tenant.
type assets struct{ s *Store }

const assetCols = `id, tenant_id, kind, name, address, owner, importance, tags, description, attributes,
	created_at, updated_at, last_seen_at`

func scanAsset(r rowScanner) (store.Asset, error) {
	var a store.Asset
	err := r.Scan(&a.ID, &a.TenantID, &a.Kind, &a.Name, &a.Address, &a.Owner, &a.Importance,
		jsonDest{&a.Tags}, &a.Description, jsonDest{&a.Attributes},
		timeDest{&a.CreatedAt}, timeDest{&a.UpdatedAt}, timeDest{&a.LastSeenAt})
	return a, err
}

// Create inserts a, setting its ID (when empty) and timestamps. An unknown
// tenant gives store.ErrNotFound.
func (x assets) Create(ctx context.Context, a *store.Asset) error {
	s := x.s
	if err := ensureID(&a.ID); err != nil {
		return err
	}
	tags, err := tagsArg(a.Tags)
	if err != nil {
		return err
	}
	attrs, err := attrsArg(a.Attributes)
	if err != nil {
		return err
	}
	now := s.stamp()
	a.CreatedAt, a.UpdatedAt, a.LastSeenAt = now, now, norm(a.LastSeenAt)
	_, err = s.conn().exec(ctx, `INSERT INTO assets (`+assetCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.TenantID, a.Kind, a.Name, a.Address, a.Owner, a.Importance, tags, a.Description, attrs,
		s.t(now), s.t(now), s.t(a.LastSeenAt))
	return s.wrap("create asset", err)
}

// Get returns one asset of a tenant.
func (x assets) Get(ctx context.Context, tenantID, id string) (store.Asset, error) {
	a, err := scanAsset(x.s.conn().queryRow(ctx,
		`SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, x.s.wrap("get asset", err)
}

// filter builds the WHERE clause of a tenant's assets matching f. Query
// matches a case-insensitive substring of the name or the address, with
// LIKE wildcards in it taken literally.
func (x assets) filter(tenantID string, f store.AssetFilter) *where {
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.Tag != "" {
		w.add(x.s.d.JSONArrayHas("tags"), f.Tag)
	}
	if f.Query != "" {
		p := containsPattern(f.Query)
		w.add(`(lower(name) LIKE ? ESCAPE '!' OR lower(address) LIKE ? ESCAPE '!')`, p, p)
	}
	if f.MinImportance > 0 {
		w.add("importance >= ?", f.MinImportance)
	}
	if f.MinEffective > 0 {
		w.add(effectiveAtLeast, f.MinEffective, f.MinEffective)
	}
	return w
}

// List returns one page of a tenant's assets matching f, ordered by name.
func (x assets) List(ctx context.Context, tenantID string, f store.AssetFilter) ([]store.Asset, error) {
	w := x.filter(tenantID, f)
	limit, offset := PageBounds(f.Page)
	as, err := collect(ctx, x.s.conn(), scanAsset,
		`SELECT `+assetCols+` FROM assets`+w.String()+` ORDER BY lower(name), id LIMIT ? OFFSET ?`,
		append(w.args, limit, offset)...)
	return as, x.s.wrap("list assets", err)
}

// Count returns how many of a tenant's assets match f (ignoring f.Page).
func (x assets) Count(ctx context.Context, tenantID string, f store.AssetFilter) (int, error) {
	w := x.filter(tenantID, f)
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM assets`+w.String(), w.args...).Scan(&n)
	return n, x.s.wrap("count assets", err)
}

// Update writes a's fields within its tenant, sets UpdatedAt and reloads
// CreatedAt.
func (x assets) Update(ctx context.Context, a *store.Asset) error {
	s := x.s
	tags, err := tagsArg(a.Tags)
	if err != nil {
		return err
	}
	attrs, err := attrsArg(a.Attributes)
	if err != nil {
		return err
	}
	now := s.stamp()
	a.LastSeenAt = norm(a.LastSeenAt)
	err = s.conn().queryRow(ctx, `UPDATE assets SET kind = ?, name = ?, address = ?, owner = ?, importance = ?,
		tags = ?, description = ?, attributes = ?, updated_at = ?, last_seen_at = ?
		WHERE tenant_id = ? AND id = ? RETURNING created_at`,
		a.Kind, a.Name, a.Address, a.Owner, a.Importance, tags, a.Description, attrs, s.t(now), s.t(a.LastSeenAt),
		a.TenantID, a.ID).Scan(timeDest{&a.CreatedAt})
	if err != nil {
		return s.wrap("update asset", err)
	}
	a.UpdatedAt = now
	return nil
}

// Delete removes one asset of a tenant and clears it from the contacts
// that answered for it.
func (x assets) Delete(ctx context.Context, tenantID, id string) error {
	err := x.s.inTx(ctx, func(c conn) error {
		if err := affected(c.exec(ctx, `DELETE FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id)); err != nil {
			return err
		}
		_, err := c.exec(ctx, `UPDATE contacts SET asset_id = '' WHERE tenant_id = ? AND asset_id = ?`, tenantID, id)
		return err
	})
	return x.s.wrap("delete asset", err)
}
