package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

var _ store.TenantEventRetention = (*Store)(nil)

// tenantDropBatch bounds the rows one DropTenantEventsBefore statement
// deletes.
const tenantDropBatch = 5000

// SetTenantEventRetention implements store.TenantEventRetention.
func (s *Store) SetTenantEventRetention(ctx context.Context, tenantID string, d time.Duration) error {
	switch {
	case d == 0:
		_, err := s.conn().exec(ctx, `DELETE FROM tenant_event_retention WHERE tenant_id = ?`, tenantID)
		return s.wrap("clear tenant event retention", err)
	case d < time.Hour:
		return fmt.Errorf("tenant event retention %s: %w: under an hour", d, store.ErrInvalid)
	}
	_, err := s.conn().exec(ctx, `INSERT INTO tenant_event_retention (tenant_id, seconds, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET seconds = excluded.seconds, updated_at = excluded.updated_at`,
		tenantID, int64(d/time.Second), s.t(s.stamp()))
	return s.wrap("set tenant event retention", err)
}

// TenantEventRetentions implements store.TenantEventRetention.
func (s *Store) TenantEventRetentions(ctx context.Context) (map[string]time.Duration, error) {
	type row struct {
		tenant  string
		seconds int64
	}
	rows, err := collect(ctx, s.conn(), func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.tenant, &v.seconds)
	}, `SELECT tenant_id, seconds FROM tenant_event_retention ORDER BY tenant_id`)
	if err != nil {
		return nil, s.wrap("list tenant event retentions", err)
	}
	out := make(map[string]time.Duration, len(rows))
	for _, r := range rows {
		out[r.tenant] = time.Duration(r.seconds) * time.Second
	}
	return out, nil
}

// DropTenantEventsBefore implements store.TenantEventRetention. The time
// bound lets PostgreSQL read only the day partitions older than before.
func (s *Store) DropTenantEventsBefore(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	if before.IsZero() || tenantID == "" {
		return 0, nil
	}
	var total int64
	for {
		res, err := s.conn().exec(ctx, `DELETE FROM events WHERE (tenant_id, at, id) IN
			(SELECT tenant_id, at, id FROM events WHERE tenant_id = ? AND at < ? LIMIT `+fmt.Sprint(tenantDropBatch)+`)`,
			tenantID, s.t(norm(before)))
		if err != nil {
			return total, s.wrap("delete tenant's old events", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.wrap("delete tenant's old events", err)
		}
		total += n
		if n < tenantDropBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
