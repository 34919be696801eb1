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

// VulnGMP is a tenant's OpenVAS (gvmd) connection for scheduled scans.
// The password is not here: it is the vault secret SecretID.
type VulnGMP struct {
	TenantID string
	// Address is gvmd's Unix socket path (starting with "/") or host:port,
	// spoken over TLS.
	Address  string
	Username string
	SecretID string
	// CAPEM verifies gvmd's TLS certificate ("" is the system roots);
	// ServerName is the name the certificate is checked against ("" is
	// the host of Address).
	CAPEM      string
	ServerName string
	ConfigID   string
	PortListID string
	ScannerID  string
	UpdatedAt  time.Time
}

// VulnScanRun is one vulnerability scan run of a tenant, for its history.
type VulnScanRun struct {
	ID         string
	TenantID   string
	Kind       string // "scheduled" or "manual"
	Status     string // "ok", "partial" (some errors) or "failed"
	StartedAt  time.Time
	FinishedAt time.Time
	Targets    int
	Findings   int
	ScanIDs    []string // the imports made
	Skipped    []string // scanners not installed or not configured
	Errors     []string
}

// VulnScanRunStore keeps a tenant's OpenVAS connection and its scan
// history. A tenant without a connection gives ErrNotFound from GetGMP.
type VulnScanRunStore interface {
	GetGMP(ctx context.Context, tenantID string) (VulnGMP, error)
	// PutGMP creates or replaces the tenant's connection.
	PutGMP(ctx context.Context, g *VulnGMP) error
	// DeleteGMP removes it; ErrNotFound when there is none.
	DeleteGMP(ctx context.Context, tenantID string) error
	// AddRun records a run, setting its ID when empty.
	AddRun(ctx context.Context, r *VulnScanRun) error
	// Runs returns the tenant's newest runs first, at most limit.
	Runs(ctx context.Context, tenantID string, limit int) ([]VulnScanRun, error)
}
