package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// bizSystems implements store.BusinessSystemStore; every query is scoped by
// tenant.
type bizSystems struct{ s *Store }

// BusinessSystems returns the business system store.
func (s *Store) BusinessSystems() store.BusinessSystemStore { return bizSystems{s} }

const bizSysCols = `b.id, b.tenant_id, b.name, b.description, b.owner, b.contact_id, b.mlps_level, b.data_sensitivity,
	b.confidentiality, b.integrity, b.availability, b.created_at, b.updated_at, b.version,
	(SELECT COUNT(*) FROM business_system_members m WHERE m.system_id = b.id)`

func scanBizSys(r rowScanner) (store.BusinessSystem, error) {
	var b store.BusinessSystem
	err := r.Scan(&b.ID, &b.TenantID, &b.Name, &b.Description, &b.Owner, strDest{&b.ContactID}, &b.MLPSLevel,
		&b.DataSensitivity, &b.Confidentiality, &b.Integrity, &b.Availability, timeDest{&b.CreatedAt},
		timeDest{&b.UpdatedAt}, &b.Version, &b.Members)
	return b, err
}

// Create stores a new system with Version 1.
func (x bizSystems) Create(ctx context.Context, b *store.BusinessSystem) error {
	s := x.s
	if err := ensureID(&b.ID); err != nil {
		return err
	}
	now := s.stamp()
	if _, err := s.conn().exec(ctx, `INSERT INTO business_systems (id, tenant_id, name, description, owner, contact_id,
		mlps_level, data_sensitivity, confidentiality, integrity, availability, created_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		b.ID, b.TenantID, b.Name, b.Description, b.Owner, nullable(b.ContactID), b.MLPSLevel, b.DataSensitivity,
		b.Confidentiality, b.Integrity, b.Availability, s.t(now), s.t(now)); err != nil {
		return s.wrap("create business system", err)
	}
	b.CreatedAt, b.UpdatedAt, b.Version, b.Members = now, now, 1, 0
	return nil
}

// Get returns one system of a tenant.
func (x bizSystems) Get(ctx context.Context, tenantID, id string) (store.BusinessSystem, error) {
	b, err := scanBizSys(x.s.conn().queryRow(ctx,
		`SELECT `+bizSysCols+` FROM business_systems b WHERE b.tenant_id = ? AND b.id = ?`, tenantID, id))
	return b, x.s.wrap("get business system", err)
}

// List returns a tenant's systems ordered by name.
func (x bizSystems) List(ctx context.Context, tenantID string) ([]store.BusinessSystem, error) {
	bs, err := collect(ctx, x.s.conn(), scanBizSys,
		`SELECT `+bizSysCols+` FROM business_systems b WHERE b.tenant_id = ? ORDER BY lower(b.name), b.id`, tenantID)
	return bs, x.s.wrap("list business systems", err)
}

// Update writes the system when its version is current.
func (x bizSystems) Update(ctx context.Context, b *store.BusinessSystem) error {
	s := x.s
	now := s.stamp()
	res, err := s.conn().exec(ctx, `UPDATE business_systems SET name = ?, description = ?, owner = ?, contact_id = ?,
		mlps_level = ?, data_sensitivity = ?, confidentiality = ?, integrity = ?, availability = ?, updated_at = ?,
		version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`,
		b.Name, b.Description, b.Owner, nullable(b.ContactID), b.MLPSLevel, b.DataSensitivity, b.Confidentiality,
		b.Integrity, b.Availability, s.t(now), b.TenantID, b.ID, b.Version)
	if err := affected(res, err); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return s.wrap("update business system", err)
		}
		if _, gerr := x.Get(ctx, b.TenantID, b.ID); gerr != nil {
			return gerr
		}
		return fmt.Errorf("update business system: %w: it was changed by someone else", store.ErrConflict)
	}
	b.UpdatedAt = now
	b.Version++
	return nil
}

// Delete removes a system and its memberships.
func (x bizSystems) Delete(ctx context.Context, tenantID, id string) error {
	return x.s.wrap("delete business system", affected(x.s.conn().exec(ctx,
		`DELETE FROM business_systems WHERE tenant_id = ? AND id = ?`, tenantID, id)))
}

// AddMember puts an asset of the tenant into a system of the tenant; the
// INSERT only selects a row when both belong to it.
func (x bizSystems) AddMember(ctx context.Context, tenantID, systemID, assetID string) error {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM business_systems WHERE tenant_id = ? AND id = ?)
			+ (SELECT COUNT(*) FROM assets WHERE tenant_id = ? AND id = ?)`, tenantID, systemID, tenantID, assetID).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return store.ErrNotFound
		}
		_, err := c.exec(ctx, `INSERT INTO business_system_members (tenant_id, system_id, asset_id) VALUES (?, ?, ?)
			ON CONFLICT (system_id, asset_id) DO NOTHING`, tenantID, systemID, assetID)
		return err
	})
	return s.wrap("add business system member", err)
}

// RemoveMember takes an asset out of a system.
func (x bizSystems) RemoveMember(ctx context.Context, tenantID, systemID, assetID string) error {
	return x.s.wrap("remove business system member", affected(x.s.conn().exec(ctx,
		`DELETE FROM business_system_members WHERE tenant_id = ? AND system_id = ? AND asset_id = ?`,
		tenantID, systemID, assetID)))
}

// MemberIDs returns the asset IDs of a system in ID order.
func (x bizSystems) MemberIDs(ctx context.Context, tenantID, systemID string) ([]string, error) {
	ids, err := collect(ctx, x.s.conn(), func(r rowScanner) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	}, `SELECT asset_id FROM business_system_members WHERE tenant_id = ? AND system_id = ? ORDER BY asset_id`,
		tenantID, systemID)
	return ids, x.s.wrap("list business system members", err)
}

// SystemsOf returns the systems an asset belongs to, ordered by name.
func (x bizSystems) SystemsOf(ctx context.Context, tenantID, assetID string) ([]store.BusinessSystem, error) {
	bs, err := collect(ctx, x.s.conn(), scanBizSys, `SELECT `+bizSysCols+` FROM business_systems b
		JOIN business_system_members bm ON bm.system_id = b.id
		WHERE b.tenant_id = ? AND bm.tenant_id = ? AND bm.asset_id = ? ORDER BY lower(b.name), b.id`,
		tenantID, tenantID, assetID)
	return bs, x.s.wrap("list systems of asset", err)
}
