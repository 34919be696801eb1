package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Commissions of third-party assessment organisations, on complianceStore.

const commissionCols = `id, org, contact, purpose, starts_at, ends_at, revoked_at, revoked_by, created_by, created_at, updated_at, version`

func scanCommission(r rowScanner) (store.Commission, error) {
	var c store.Commission
	err := r.Scan(&c.ID, &c.Org, &c.Contact, &c.Purpose, timeDest{&c.StartsAt}, timeDest{&c.EndsAt}, timeDest{&c.RevokedAt}, &c.RevokedBy,
		&c.CreatedBy, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt}, &c.Version)
	return c, err
}

// CreateCommission stores a commission with its scope and members.
func (x complianceStore) CreateCommission(ctx context.Context, c *store.Commission) error {
	s := x.s
	if err := ensureID(&c.ID); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `INSERT INTO compliance_commissions (`+commissionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			c.ID, c.Org, c.Contact, c.Purpose, s.t(c.StartsAt), s.t(c.EndsAt), s.t(c.RevokedAt), c.RevokedBy, c.CreatedBy, s.t(now), s.t(now)); err != nil {
			return err
		}
		for _, sc := range c.Scope {
			systems := sc.Systems
			if systems == nil {
				systems = []string{}
			}
			js, err := json.Marshal(systems)
			if err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `INSERT INTO compliance_commission_scope (commission_id, tenant_id, systems) VALUES (?, ?, ?)`,
				c.ID, sc.TenantID, string(js)); err != nil {
				return err
			}
		}
		for _, u := range c.Members {
			if _, err := tx.exec(ctx, `INSERT INTO compliance_commission_members (commission_id, user_id) VALUES (?, ?)`, c.ID, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("create commission", err)
	}
	c.StartsAt, c.EndsAt, c.RevokedAt = norm(c.StartsAt), norm(c.EndsAt), norm(c.RevokedAt)
	c.Members = slices.Sorted(slices.Values(c.Members))
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	return nil
}

// fillCommission reads a commission's scope (by tenant ID) and members.
func (x complianceStore) fillCommission(ctx context.Context, c *store.Commission) error {
	type scopeRow struct {
		tenant, systems string
	}
	rows, err := collect(ctx, x.s.conn(), func(r rowScanner) (scopeRow, error) {
		var sr scopeRow
		return sr, r.Scan(&sr.tenant, &sr.systems)
	}, `SELECT tenant_id, systems FROM compliance_commission_scope WHERE commission_id = ? ORDER BY tenant_id`, c.ID)
	if err != nil {
		return err
	}
	c.Scope = make([]store.CommissionScope, 0, len(rows))
	for _, r := range rows {
		sc := store.CommissionScope{TenantID: r.tenant}
		if err := json.Unmarshal([]byte(r.systems), &sc.Systems); err != nil {
			return fmt.Errorf("commission %s: systems of %s: %w", c.ID, r.tenant, err)
		}
		if len(sc.Systems) == 0 {
			sc.Systems = nil
		}
		c.Scope = append(c.Scope, sc)
	}
	c.Members, err = collect(ctx, x.s.conn(), func(r rowScanner) (string, error) {
		var u string
		return u, r.Scan(&u)
	}, `SELECT user_id FROM compliance_commission_members WHERE commission_id = ? ORDER BY user_id`, c.ID)
	return err
}

// GetCommission returns one commission.
func (x complianceStore) GetCommission(ctx context.Context, id string) (store.Commission, error) {
	c, err := scanCommission(x.s.conn().queryRow(ctx, `SELECT `+commissionCols+` FROM compliance_commissions WHERE id = ?`, id))
	if err == nil {
		err = x.fillCommission(ctx, &c)
	}
	return c, x.s.wrap("get commission", err)
}

// ListCommissions returns a page of commissions touching the tenants given.
func (x complianceStore) ListCommissions(ctx context.Context, tenantIDs []string, all bool, pg store.Page) ([]store.Commission, error) {
	if !all && len(tenantIDs) == 0 {
		return nil, nil
	}
	limit, offset := PageBounds(pg)
	q := `SELECT ` + commissionCols + ` FROM compliance_commissions`
	var args []any
	if !all {
		q += ` WHERE id IN (SELECT commission_id FROM compliance_commission_scope WHERE tenant_id IN (` + placeholders(len(tenantIDs)) + `))`
		for _, t := range tenantIDs {
			args = append(args, t)
		}
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`
	cs, err := collect(ctx, x.s.conn(), scanCommission, q, append(args, limit, offset)...)
	if err != nil {
		return nil, x.s.wrap("list commissions", err)
	}
	for i := range cs {
		if err := x.fillCommission(ctx, &cs[i]); err != nil {
			return nil, x.s.wrap("list commissions", err)
		}
	}
	return cs, nil
}

// RevokeCommission revokes a commission read at c.Version.
func (x complianceStore) RevokeCommission(ctx context.Context, c *store.Commission) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, `UPDATE compliance_commissions SET revoked_at = ?, revoked_by = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`, s.t(c.RevokedAt), c.RevokedBy, s.t(now), c.ID, c.Version)
		if err := affected(res, err); err != nil {
			var n int
			if qerr := tx.queryRow(ctx, `SELECT COUNT(*) FROM compliance_commissions WHERE id = ?`, c.ID).Scan(&n); qerr != nil {
				return qerr
			}
			if n > 0 && errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: the commission was changed by someone else", store.ErrConflict)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return s.wrap("revoke commission", err)
	}
	c.RevokedAt, c.UpdatedAt = norm(c.RevokedAt), now
	c.Version++
	return nil
}

// CommissionGrants returns the tenants a user may act in at a time
// through commissions.
func (x complianceStore) CommissionGrants(ctx context.Context, userID string, at time.Time) ([]store.CommissionGrant, error) {
	s := x.s
	gs, err := collect(ctx, s.conn(), func(r rowScanner) (store.CommissionGrant, error) {
		var g store.CommissionGrant
		return g, r.Scan(&g.CommissionID, &g.TenantID, timeDest{&g.EndsAt})
	}, `SELECT c.id, sc.tenant_id, c.ends_at FROM compliance_commission_members m
		JOIN compliance_commissions c ON c.id = m.commission_id
		JOIN compliance_commission_scope sc ON sc.commission_id = c.id
		WHERE m.user_id = ? AND c.revoked_at IS NULL AND c.starts_at <= ? AND c.ends_at > ?
		ORDER BY c.ends_at DESC, c.id, sc.tenant_id`, userID, s.t(at), s.t(at))
	return gs, s.wrap("commission grants", err)
}
