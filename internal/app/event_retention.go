package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Per-tenant event retention. The global event_retention drops whole day
// partitions (every tenant's events of the day) on PostgreSQL; a tenant
// may keep its events for a shorter time, which the retention job applies
// by deleting that tenant's older rows. A tenant retention can never
// lengthen the global one: setting one longer than the global retention
// is refused, and if the global retention is later shortened below a
// tenant's, the global one wins (the tenant's is then ignored and the job
// logs so).

// ErrRetentionTooLong is returned when a tenant retention would be longer
// than the global event_retention.
var ErrRetentionTooLong = errors.New("longer than the global event retention")

// SetTenantEventRetention sets how long the tenant's events are kept; 0
// clears it, so the global retention applies. The caller must be a
// platform admin or an admin of the tenant (requireTenantAdmin).
func (a *App) SetTenantEventRetention(ctx context.Context, tenantID string, d time.Duration) error {
	if err := requireTenantAdmin(ctx, tenantID); err != nil {
		return err
	}
	r, ok := a.Store.(store.TenantEventRetention)
	if !ok {
		return errors.New("tenant event retention: not supported by this store")
	}
	if g := a.Config.EventRetention; g > 0 && d > g {
		return fmt.Errorf("tenant event retention %s: %w (%s): %w", d, ErrRetentionTooLong, g, store.ErrInvalid)
	}
	if err := r.SetTenantEventRetention(ctx, tenantID, d); err != nil {
		return err
	}
	return a.Audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "tenant.event_retention.set", Object: "tenant:" + tenantID,
		Detail: map[string]string{"retention": d.String()}})
}

// requireTenantAdmin lets through a platform admin (a global role with
// tenant.admin) and whoever holds the admin role in tenantID.
func requireTenantAdmin(ctx context.Context, tenantID string) error {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return auth.ErrUnauthenticated
	}
	if p.Can(auth.PermTenantAdmin, "") || (tenantID != "" && p.Roles[tenantID] == auth.RoleAdmin) {
		return nil
	}
	return auth.ErrForbidden
}

// GlobalEventRetention is the node's event_retention (0: keep
// everything), the bound of every tenant retention.
func (a *App) GlobalEventRetention() time.Duration { return a.Config.EventRetention }

// TenantEventRetention returns the tenant's own event retention, 0 when
// none is set (the global one applies). The caller must be a platform
// admin or an admin of the tenant.
func (a *App) TenantEventRetention(ctx context.Context, tenantID string) (time.Duration, error) {
	if err := requireTenantAdmin(ctx, tenantID); err != nil {
		return 0, err
	}
	r, ok := a.Store.(store.TenantEventRetention)
	if !ok {
		return 0, nil
	}
	rets, err := r.TenantEventRetentions(ctx)
	if err != nil {
		return 0, err
	}
	return rets[tenantID], nil
}

// TenantEventRetentions lists the tenant retentions that are set. The
// caller must administer tenants.
func (a *App) TenantEventRetentions(ctx context.Context) (map[string]time.Duration, error) {
	if err := auth.Require(ctx, auth.PermTenantAdmin, ""); err != nil {
		return nil, err
	}
	r, ok := a.Store.(store.TenantEventRetention)
	if !ok {
		return nil, nil
	}
	return r.TenantEventRetentions(ctx)
}

// dropTenantEvents is the per-tenant part of JobEventPartitions: each
// tenant with a retention shorter than the global one loses its events
// older than that.
func (a *App) dropTenantEvents(ctx context.Context, now time.Time) error {
	r, ok := a.Store.(store.TenantEventRetention)
	if !ok {
		return nil
	}
	rets, err := r.TenantEventRetentions(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for tenantID, d := range rets {
		if g := a.Config.EventRetention; g > 0 && d >= g {
			if d > g {
				a.Logger.Warn("tenant event retention longer than the global one; the global one applies",
					"tenant", tenantID, "tenant_retention", d, "event_retention", g)
			}
			continue
		}
		n, err := r.DropTenantEventsBefore(ctx, tenantID, now.Add(-d))
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", tenantID, err))
			continue
		}
		if n > 0 {
			a.Logger.Info("tenant events past retention removed", "tenant", tenantID, "rows", n)
		}
	}
	return errors.Join(errs...)
}
