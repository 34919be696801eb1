package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// services implements store.ServiceStore; every query is scoped by tenant.
type services struct{ s *Store }

const subscriptionCols = `tenant_id, service, enabled, level, response_minutes, notify_minutes, report_frequency,
	starts_on, ends_on, notes, updated_at`

func scanSubscription(r rowScanner) (store.Subscription, error) {
	var v store.Subscription
	err := r.Scan(&v.TenantID, &v.Service, &v.Enabled, &v.Level, &v.ResponseMinutes, &v.NotifyMinutes,
		&v.ReportFrequency, timeDest{&v.StartsOn}, timeDest{&v.EndsOn}, &v.Notes, timeDest{&v.UpdatedAt})
	return v, err
}

// Put creates or replaces the tenant's subscription to v.Service and sets
// UpdatedAt. An unknown tenant gives store.ErrNotFound.
func (x services) Put(ctx context.Context, v *store.Subscription) error {
	s := x.s
	now := s.stamp()
	v.StartsOn, v.EndsOn, v.UpdatedAt = norm(v.StartsOn), norm(v.EndsOn), now
	_, err := s.conn().exec(ctx, `INSERT INTO subscriptions (`+subscriptionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, service) DO UPDATE SET enabled = excluded.enabled, level = excluded.level,
		response_minutes = excluded.response_minutes, notify_minutes = excluded.notify_minutes,
		report_frequency = excluded.report_frequency, starts_on = excluded.starts_on, ends_on = excluded.ends_on,
		notes = excluded.notes, updated_at = excluded.updated_at`,
		v.TenantID, v.Service, v.Enabled, v.Level, v.ResponseMinutes, v.NotifyMinutes, v.ReportFrequency,
		s.t(v.StartsOn), s.t(v.EndsOn), v.Notes, s.t(now))
	return s.wrap("put subscription", err)
}

// Get returns the tenant's subscription to a service.
func (x services) Get(ctx context.Context, tenantID, service string) (store.Subscription, error) {
	v, err := scanSubscription(x.s.conn().queryRow(ctx,
		`SELECT `+subscriptionCols+` FROM subscriptions WHERE tenant_id = ? AND service = ?`, tenantID, service))
	return v, x.s.wrap("get subscription", err)
}

// List returns the tenant's subscriptions ordered by service code.
func (x services) List(ctx context.Context, tenantID string) ([]store.Subscription, error) {
	vs, err := collect(ctx, x.s.conn(), scanSubscription,
		`SELECT `+subscriptionCols+` FROM subscriptions WHERE tenant_id = ? ORDER BY service`, tenantID)
	return vs, x.s.wrap("list subscriptions", err)
}

// Delete removes the tenant's subscription to a service.
func (x services) Delete(ctx context.Context, tenantID, service string) error {
	return x.s.wrap("delete subscription", affected(x.s.conn().exec(ctx,
		`DELETE FROM subscriptions WHERE tenant_id = ? AND service = ?`, tenantID, service)))
}
