package store

import (
	"context"
	"time"
)

// VulnSettings are a tenant's vulnerability scan schedule state and SLA
// days by severity (0: the platform default).
type VulnSettings struct {
	TenantID  string
	LastRunAt time.Time // zero: never scanned on schedule
	SLA       map[string]int
	UpdatedAt time.Time
}

// VulnSettingsStore persists VulnSettings. A tenant without a row has
// zero settings (Get gives ErrNotFound).
type VulnSettingsStore interface {
	Get(ctx context.Context, tenantID string) (VulnSettings, error)
	// PutSLA sets the SLA days (critical, high, medium, low).
	PutSLA(ctx context.Context, tenantID string, sla map[string]int) error
	// ClaimRun sets LastRunAt to at when the last run is older than
	// notBefore (or there was none) and reports whether it did, so one
	// worker of many runs a due scan.
	ClaimRun(ctx context.Context, tenantID string, at, notBefore time.Time) (bool, error)
}
