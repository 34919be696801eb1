package manager

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of a key-period campaign's acknowledgement factor. 0 means the
// service's default; otherwise the factor is from MinAckFactor (the waits
// cut to a tenth: a critical alert's 30 minutes become 3) to 1 (the
// waits unchanged).
const (
	MinAckFactor = 0.1
	MaxAckFactor = 1.0
)

// checkAckFactor refuses a factor outside 0 or [MinAckFactor, MaxAckFactor].
func checkAckFactor(f float64) error {
	if f != f || f < 0 || f > MaxAckFactor || (f > 0 && f < MinAckFactor) {
		return invalid("ack_factor", store.CodeOutOfRange, map[string]any{"min": MinAckFactor, "max": MaxAckFactor},
			"the acknowledgement factor is a number from %g to %g, or 0 for the default", MinAckFactor, MaxAckFactor)
	}
	return nil
}

// SetAckFactor changes the acknowledgement factor of an open key-period
// campaign: from the next SLA computation on (an alert's escalation
// started, a case created or its severity changed), the tenant's waits
// during the campaign's watch use it. 0 returns to the service's default.
// version is the campaign version the change was made on (0: any); a
// campaign changed since is store.ErrConflict. The change is audited
// (campaign.ack_factor) with the factor before and after.
func (s *Service) SetAckFactor(ctx context.Context, tenantID, id string, factor float64, version int) (*Loaded, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	if err := checkAckFactor(factor); err != nil {
		return nil, err
	}
	l, err := s.load(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if l.KeyPeriod == nil {
		return nil, invalid("ack_factor", store.CodeOneOf, nil, "only a key-period campaign has an acknowledgement factor")
	}
	if l.Record.Closed {
		return nil, invalid("", store.CodeOneOf, nil, "the campaign is closed")
	}
	if version != 0 && version != l.Record.Version {
		return nil, fmt.Errorf("%w: the campaign was changed by someone else; reload it", store.ErrConflict)
	}
	var d keyPeriodDoc
	if err := json.Unmarshal(l.Record.Doc, &d); err != nil {
		return nil, fmt.Errorf("campaign %s: damaged key-period document: %w", id, err)
	}
	before := s.WatchAckFactor(l)
	d.AckFactor = factor
	if l.Record.Doc, err = json.Marshal(d); err != nil {
		return nil, err
	}
	if err := s.save(ctx, l, nil); err != nil {
		return nil, err
	}
	return l, s.record(ctx, tenantID, "campaign.ack_factor", id, map[string]any{"from": before, "to": s.WatchAckFactor(l),
		"set": factor, "default": factor == 0})
}
