package store

import (
	"context"
	"time"
)

// Sources of a baseline run: how its evidence reached Vigil.
const (
	BaselineSourceAgent  = "agent"  // posted by `vigil agent`
	BaselineSourceSSH    = "ssh"    // collected by the server over SSH
	BaselineSourceBundle = "bundle" // an offline evidence bundle uploaded by a person
	BaselineSourceManual = "manual" // results recorded by an assessor
)

// BaselineRun is one evaluation of one baseline policy on one asset, with
// its counts; the per-check results are BaselineChecks of the run.
type BaselineRun struct {
	ID            string
	TenantID      string
	AssetID       string
	PolicyID      string // SCA policy id, e.g. cis_debian12
	PolicyTitle   string
	PolicyVersion string // what identifies the policy text (a content hash), "" when unknown
	Source        string // one of the BaselineSource* values
	StartedAt     time.Time
	FinishedAt    time.Time
	// Score is passed / (passed + failed) as a percentage when Scored.
	Score         float64
	Scored        bool
	Passed        int
	Failed        int
	NotApplicable int
	Errors        int
	Manual        int
	CreatedBy     string // user ID, "system" for scheduled runs, "agent:<id>" for agents
}

// BaselineCheck is the result of one check of a run.
type BaselineCheck struct {
	RunID       string
	Seq         int // position in the run's report, from 0
	CheckID     string
	Title       string
	Result      string // passed, failed, not applicable, manual, error
	Reason      string
	Remediation string
	Evidence    []string
}

// BaselineRunFilter selects runs; empty fields match everything.
type BaselineRunFilter struct {
	AssetID  string
	PolicyID string
	Page     Page
}

// BaselineCheckFilter selects checks of a run.
type BaselineCheckFilter struct {
	Result string // exact result, "" for every result
	Query  string // case-insensitive substring of the check id or title
	Limit  int    // required, at most MaxPageSize
}

// States of a hardening item. Proposed, approved and applied are open:
// one open item at most per check of a policy on an asset.
const (
	HardeningProposed = "proposed"
	HardeningApproved = "approved"
	HardeningRejected = "rejected"
	HardeningApplied  = "applied"
	HardeningVerified = "verified"
)

// HardeningItem is a failed check turned into a proposed fix that another
// person approves or rejects; ops staff apply an approved fix, and a later
// run in which the check passes verifies it.
type HardeningItem struct {
	ID            string
	TenantID      string
	AssetID       string
	PolicyID      string
	CheckID       string
	Title         string
	RunID         string // the run in which the check failed
	Remediation   string
	Fix           string // proposed fix text or script; never run by Vigil
	State         string
	ProposedBy    string // user ID
	DecidedBy     string // user ID of the approver or rejecter
	DecidedAt     time.Time
	Reason        string // reason of the decision
	AppliedBy     string
	AppliedAt     time.Time
	VerifiedRunID string // the run that showed the check passing
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int
}

// HardeningFilter selects hardening items; empty fields match everything.
type HardeningFilter struct {
	AssetID string
	State   string
	Page    Page
}

// BaselineSchedule runs a policy on an asset over SSH every Interval, with
// the credential kept in the secret vault and the host key pinned.
type BaselineSchedule struct {
	ID        string
	TenantID  string
	AssetID   string
	Policy    string // name of a Vigil policy
	Interval  time.Duration
	SecretID  string // the SSH key or password in the vault
	Username  string
	Port      int
	HostKey   string // pinned host key fingerprint, "SHA256:..."
	Enabled   bool
	NextAt    time.Time
	LastAt    time.Time // zero before the first run
	LastError string
	CreatedBy string
	CreatedAt time.Time
}

// BaselineTotals sums a set of baseline runs: the assets they cover, the
// runs, and their passed and failed checks.
type BaselineTotals struct {
	Assets, Runs, Passed, Failed int
}

// BaselineStore persists baseline runs, their check results, hardening
// items and schedules. Every method but DueSchedules is scoped by tenant;
// a row of another tenant is ErrNotFound.
type BaselineStore interface {
	// CreateRun stores a run and its checks, all or none; the store sets
	// ID (when empty) and Seq of the checks in order. An unknown asset is
	// ErrNotFound.
	CreateRun(ctx context.Context, r *BaselineRun, checks []BaselineCheck) error
	// GetRun returns one run.
	GetRun(ctx context.Context, tenantID, id string) (BaselineRun, error)
	// ListRuns returns a page of runs, most recently finished first.
	ListRuns(ctx context.Context, tenantID string, f BaselineRunFilter) ([]BaselineRun, error)
	// LatestRuns returns the latest run of each policy on each asset of
	// the tenant, ordered by asset then policy.
	LatestRuns(ctx context.Context, tenantID string) ([]BaselineRun, error)
	// LatestTotals sums the latest run of each policy on each asset of
	// the tenant, as LatestRuns would give them, without listing them.
	LatestTotals(ctx context.Context, tenantID string) (BaselineTotals, error)
	// Checks returns a run's checks in report order.
	Checks(ctx context.Context, tenantID, runID string, f BaselineCheckFilter) ([]BaselineCheck, error)

	// CreateHardening stores a new item; the store sets ID, the times and
	// Version 1. A second open item for the same check is ErrConflict.
	CreateHardening(ctx context.Context, h *HardeningItem) error
	// GetHardening returns one item.
	GetHardening(ctx context.Context, tenantID, id string) (HardeningItem, error)
	// ListHardening returns a page of items, most recently updated first.
	ListHardening(ctx context.Context, tenantID string, f HardeningFilter) ([]HardeningItem, error)
	// UpdateHardening writes state, decision, application and verification
	// fields if the item was not changed since it was read (ErrConflict
	// otherwise).
	UpdateHardening(ctx context.Context, h *HardeningItem) error

	// SaveSchedule creates (empty ID) or replaces a schedule. A second
	// schedule of the same policy on the same asset is ErrConflict.
	SaveSchedule(ctx context.Context, sc *BaselineSchedule) error
	// GetSchedule returns one schedule.
	GetSchedule(ctx context.Context, tenantID, id string) (BaselineSchedule, error)
	// ListSchedules returns the tenant's schedules by asset and policy.
	ListSchedules(ctx context.Context, tenantID string) ([]BaselineSchedule, error)
	// DeleteSchedule removes a schedule.
	DeleteSchedule(ctx context.Context, tenantID, id string) error
	// DueSchedules returns enabled schedules of every tenant whose NextAt
	// is not after now, earliest first, at most limit: the periodic job's
	// work list.
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]BaselineSchedule, error)
	// MarkScheduleRun records a run of a schedule: when it ran, the next
	// time and the error ("" for success).
	MarkScheduleRun(ctx context.Context, tenantID, id string, ranAt, next time.Time, runErr string) error
}
