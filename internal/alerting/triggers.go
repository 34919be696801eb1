package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/notify"
)

// Two more escalation triggers besides alerts, cases and SLA breaches:
// a known exploited vulnerability (a CISA KEV entry) matching a tenant's
// assets or findings, and an advisory published to a tenant (an urgent
// notice, raised by PublishNotice). A KEV match is raised once per entry
// and tenant: the escalation's ID is the entry's, so running again finds
// it raised.

// WarningsFunc returns a tenant's early warnings: recent advisories with
// the assets and findings they matched (the threat intelligence desk's
// Warnings).
type WarningsFunc func(ctx context.Context, tenantID string) ([]hunt.AdvisoryMatch, error)

// isKEV reports whether an advisory is a known exploited vulnerability.
func isKEV(a hunt.Advisory) bool { return a.Exploited || a.Source == "cisa-kev" }

// RaiseKEVMatches starts the escalations of every KEV entry among the
// early warnings of each tenant with an enabled rule for KEV matches. It
// runs as Vigil itself (the caller passes a system principal) from the
// periodic jobs, after the feeds have loaded.
func (s *Service) RaiseKEVMatches(ctx context.Context, warnings WarningsFunc) (int, error) {
	if len(s.ackKey) == 0 || warnings == nil {
		return 0, nil
	}
	rows, err := s.store.Escalations().EnabledRules(ctx)
	if err != nil {
		return 0, err
	}
	var tenants []string
	for _, row := range rows {
		var r notify.Rule
		if err := json.Unmarshal(row.Spec, &r); err != nil {
			continue // engine() logs unreadable rules
		}
		if (len(r.Kinds) == 0 || slices.Contains(r.Kinds, notify.KindKEVMatch)) && !slices.Contains(tenants, row.TenantID) {
			tenants = append(tenants, row.TenantID)
		}
	}
	if len(tenants) == 0 {
		return 0, nil
	}
	e, err := s.engine(ctx)
	if err != nil {
		return 0, err
	}
	raised := 0
	var errs []error
	for _, id := range tenants {
		t, err := s.store.Tenants().Get(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if t.Disabled {
			continue
		}
		ms, err := warnings(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			continue
		}
		for _, m := range ms {
			a := m.Advisory
			if !isKEV(a) || (len(m.Assets) == 0 && len(m.Findings) == 0) {
				continue
			}
			msg := notify.Message{ID: "kev-" + a.ID, Tenant: id, Kind: notify.KindKEVMatch, Severity: severityOf(a.Severity),
				Subject: clip(t.Name+": "+a.ID+" "+a.Title, 200),
				Text: clip(fmt.Sprintf("A known exploited vulnerability concerns %d assets and %d findings. %s", len(m.Assets),
					len(m.Findings), a.Action), 2000)}
			if s.baseURL != "" {
				msg.Link = s.baseURL + "/t/" + t.Slug + "/operations/threat-intel"
			}
			ids, err := e.Raise(ctx, msg)
			raised += len(ids)
			if err != nil && !errors.Is(err, notify.ErrInvalidMessage) {
				errs = append(errs, err)
			}
		}
	}
	return raised, errors.Join(errs...)
}
