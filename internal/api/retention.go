package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// RetentionService keeps each tenant's own event retention (the app
// implements it). It checks that the caller is a platform admin or an
// admin of the tenant, bounds the retention by the global one and audits
// every change.
type RetentionService interface {
	TenantEventRetention(ctx context.Context, tenantID string) (time.Duration, error)
	SetTenantEventRetention(ctx context.Context, tenantID string, d time.Duration) error
	GlobalEventRetention() time.Duration
}

// maxRetentionSeconds bounds a retention given over the API (100 years).
const maxRetentionSeconds = 100 * 365 * 24 * 3600

// TenantRetention is how long a tenant's log events are kept.
type TenantRetention struct {
	Seconds int64 `json:"seconds" doc:"The tenant's own retention in seconds; 0: none set, the global retention applies"`
	// Global is the platform's event_retention in seconds (0: keep
	// everything), the longest a tenant's may be.
	GlobalSeconds int64 `json:"global_seconds" doc:"The global event_retention in seconds (0: keep everything); a tenant's may not be longer"`
	// Effective is the retention that applies to the tenant.
	EffectiveSeconds int64 `json:"effective_seconds" doc:"The retention that applies to the tenant's events (0: kept forever)"`
}

// TenantRetentionUpdate sets a tenant's own retention.
type TenantRetentionUpdate struct {
	Seconds int64 `json:"seconds" minimum:"0" maximum:"3153600000" doc:"At least 3600 (one hour) and at most the global retention; 0 removes it"`
}

type tenantRetentionIn struct {
	TenantParam
	Body TenantRetentionUpdate
}

func (s *server) registerRetention() {
	if s.opts.Retention == nil {
		return
	}
	tags := []string{"tenants"}
	path := "/tenants/{tenant}/retention"
	// The guard lets every reader of the tenant through; the service
	// admits only platform admins and admins of the tenant (403 for the
	// others).
	register(s, inTenant(auth.PermTenantRead), huma.Operation{OperationID: "get-tenant-retention", Method: http.MethodGet, Path: path,
		Summary: "Get the tenant's event retention", Description: "Platform admins and admins of the tenant only.", Tags: tags},
		s.getTenantRetention)
	register(s, inTenant(auth.PermTenantRead), huma.Operation{OperationID: "put-tenant-retention", Method: http.MethodPut, Path: path,
		Summary: "Set the tenant's event retention", Description: "Platform admins and admins of the tenant only. The retention " +
			"job deletes the tenant's events older than this; it can only shorten the global retention (a longer one is 422). " +
			"Audited.", Tags: tags}, s.putTenantRetention)
}

func (s *server) retentionDTO(d time.Duration) TenantRetention {
	g := s.opts.Retention.GlobalEventRetention()
	eff := g
	if d > 0 && (g == 0 || d < g) {
		eff = d
	}
	return TenantRetention{Seconds: int64(d / time.Second), GlobalSeconds: int64(g / time.Second), EffectiveSeconds: int64(eff / time.Second)}
}

func (s *server) getTenantRetention(ctx context.Context, _ *TenantParam) (*out[TenantRetention], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Retention.TenantEventRetention(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(s.retentionDTO(d))
}

func (s *server) putTenantRetention(ctx context.Context, in *tenantRetentionIn) (*out[TenantRetention], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if in.Body.Seconds < 0 || in.Body.Seconds > maxRetentionSeconds {
		return nil, fmt.Errorf("seconds: %w: out of range", store.ErrInvalid)
	}
	d := time.Duration(in.Body.Seconds) * time.Second
	if err := s.opts.Retention.SetTenantEventRetention(ctx, t.ID, d); err != nil {
		return nil, err
	}
	return reply(s.retentionDTO(d))
}

// docRetention stands in for the retention service while the OpenAPI
// document is built, so that its routes are listed; it is never called.
type docRetention struct{}

func (docRetention) TenantEventRetention(context.Context, string) (time.Duration, error) {
	return 0, errors.New("retention: not served")
}

func (docRetention) SetTenantEventRetention(context.Context, string, time.Duration) error {
	return errors.New("retention: not served")
}

func (docRetention) GlobalEventRetention() time.Duration { return 0 }
