package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// SLASeverities are the severities with a due date.
func SLASeverities() []string { return []string{"critical", "high", "medium", "low"} }

// MaxSLADays bounds one SLA setting.
const MaxSLADays = 3650

// TenantSLA returns the days to fix a finding by severity for a tenant:
// its own settings over the service's defaults.
func (s *Service) TenantSLA(ctx context.Context, tenantID string) (map[string]int, error) {
	sla := maps.Clone(s.sla)
	v, err := s.store.VulnSettings().Get(ctx, tenantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return sla, nil
	case err != nil:
		return nil, fmt.Errorf("vulnerability SLA: %w", err)
	}
	for k, d := range v.SLA {
		if d > 0 {
			sla[k] = d
		}
	}
	return sla, nil
}

// DefaultSLADays returns the service's SLA days (without tenant settings).
func (s *Service) DefaultSLADays() map[string]int { return maps.Clone(s.sla) }

// SetTenantSLA stores a tenant's SLA days (1..MaxSLADays; 0 or absent
// means the default). Findings imported from then on get due dates from
// it; existing due dates stay. Audited.
func (s *Service) SetTenantSLA(ctx context.Context, tenantID string, sla map[string]int) error {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return err
	}
	clean := map[string]int{}
	for k, d := range sla {
		if !slices.Contains(SLASeverities(), k) {
			return invalid(k, store.CodeOneOf, map[string]any{"values": strings.Join(SLASeverities(), ", ")},
				"the SLA applies to %s", strings.Join(SLASeverities(), ", "))
		}
		if d < 0 || d > MaxSLADays {
			return invalid(k, store.CodeOutOfRange, map[string]any{"min": 0, "max": MaxSLADays},
				"days must be between 0 (the default) and %d", MaxSLADays)
		}
		if d > 0 {
			clean[k] = d
		}
	}
	if err := s.store.VulnSettings().PutSLA(ctx, tenantID, clean); err != nil {
		return fmt.Errorf("vulnerability SLA: %w", err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "vuln.sla", Object: "tenant:" + tenantID,
		Detail: map[string]any{"sla": clean}})
}

// ScannedFinding is a finding of Vigil's own scan with the layer its check
// assigns.
type ScannedFinding struct {
	vuln.Finding
	Layer string
}

// ImportScanned applies the findings of one scan by a built-in scanner
// (name, e.g. "vigil") like an import of a file: one transaction, the
// scan's SHA-256 over the fingerprints. With full, open findings of the
// covered asset keys that the scan no longer saw become
// fixed-pending-verification.
func (s *Service) ImportScanned(ctx context.Context, tenantID, scanner, label string, fs []ScannedFinding, full bool) (store.VulnScan, error) {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return store.VulnScan{}, err
	}
	assets, err := s.assetIndex(ctx, tenantID)
	if err != nil {
		return store.VulnScan{}, err
	}
	sla, err := s.TenantSLA(ctx, tenantID)
	if err != nil {
		return store.VulnScan{}, err
	}
	now := s.now().UTC()
	h := sha256.New()
	rows := make([]store.VulnFinding, 0, len(fs))
	for _, f := range fs {
		r := s.row(f.Finding, assets, sla, now)
		if f.Layer != "" {
			r.Layer = f.Layer
		}
		h.Write([]byte(f.Fingerprint))
		rows = append(rows, r)
	}
	p := auth.FromContext(ctx)
	sc := store.VulnScan{TenantID: tenantID, Scanner: scanner, Format: scanner, Filename: label,
		SHA256: hex.EncodeToString(h.Sum(nil)), Full: full, CreatedBy: p.UserID}
	if err := s.store.Vulns().Import(ctx, store.VulnImport{Scan: &sc, Findings: rows, ReopenStates: reopenStates,
		AbsentStates: absentStates, AbsentTo: StateFixedPending, Initial: StateNew, Reopened: StateReopened, At: now}); err != nil {
		return store.VulnScan{}, fmt.Errorf("%s scan: %w", scanner, err)
	}
	return sc, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "vuln.scan", Object: "vuln_scan:" + sc.ID,
		Detail: map[string]any{"scanner": scanner, "label": label, "full": full, "total": sc.Total, "added": sc.Added,
			"updated": sc.Updated, "reopened": sc.Reopened, "absent": sc.Absent}})
}

// Verified records the outcome of re-running the check of a finding:
// gone moves an open, mitigated or accepted finding to verified-closed;
// still there moves a fixed-pending or closed finding back to reopened.
// Other cases change nothing. The change and the evidence are audited; it
// returns the finding's state afterwards.
func (s *Service) Verified(ctx context.Context, tenantID, id string, present bool, evidence string) (string, error) {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return "", err
	}
	f, err := s.store.Vulns().Get(ctx, tenantID, id)
	if err != nil {
		return "", err
	}
	to := ""
	switch {
	case !present && f.State != StateClosed && f.State != StateFalsePos:
		to = StateClosed
	case present && (f.State == StateFixedPending || f.State == StateClosed):
		to = StateReopened
	}
	evidence = clip(strings.TrimSpace(evidence), maxNoteLen)
	if to != "" {
		c := store.VulnChange{From: f.State, To: to, Note: "verification: " + evidence,
			ActorID: auth.FromContext(ctx).UserID, At: s.now().UTC()}
		if to == StateReopened {
			none := ""
			c.Control = &none
		}
		if err := s.store.Vulns().Change(ctx, tenantID, id, c); err != nil {
			return "", fmt.Errorf("vulnerability %s: %w", id, err)
		}
	}
	state := f.State
	if to != "" {
		state = to
	}
	return state, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "vuln.verify", Object: "vuln:" + id,
		Detail: map[string]any{"present": present, "from": f.State, "to": state, "evidence": evidence}})
}
