package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// Calendar returns the tenant's own key-period calendar.
func (x campaignStore) Calendar(ctx context.Context, tenantID string) (store.CampaignCalendar, error) {
	c := store.CampaignCalendar{TenantID: tenantID}
	var doc string
	err := x.s.conn().queryRow(ctx, `SELECT doc, updated_by, updated_at, version FROM campaign_calendars WHERE tenant_id = ?`, tenantID).
		Scan(&doc, &c.UpdatedBy, timeDest{&c.UpdatedAt}, &c.Version)
	c.Doc = []byte(doc)
	return c, x.s.wrap("get key-period calendar", err)
}

// SetCalendar creates (Version 0) or replaces (that Version) the tenant's
// calendar.
func (x campaignStore) SetCalendar(ctx context.Context, c *store.CampaignCalendar) error {
	s := x.s
	now := s.stamp()
	if c.Version == 0 {
		_, err := s.conn().exec(ctx, `INSERT INTO campaign_calendars (tenant_id, doc, updated_by, updated_at, version) VALUES (?, ?, ?, ?, 1)`,
			c.TenantID, string(c.Doc), c.UpdatedBy, s.t(now))
		if err != nil {
			return s.wrap("create key-period calendar", err)
		}
		c.UpdatedAt, c.Version = now, 1
		return nil
	}
	res, err := s.conn().exec(ctx, `UPDATE campaign_calendars SET doc = ?, updated_by = ?, updated_at = ?, version = version + 1
		WHERE tenant_id = ? AND version = ?`, string(c.Doc), c.UpdatedBy, s.t(now), c.TenantID, c.Version)
	if err := affected(res, err); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("set key-period calendar: %w: it was changed by someone else or removed", store.ErrConflict)
		}
		return s.wrap("set key-period calendar", err)
	}
	c.UpdatedAt = now
	c.Version++
	return nil
}
