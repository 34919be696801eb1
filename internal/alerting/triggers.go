package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
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

// takesKEV reports whether a rule escalates KEV matches of severity sev.
func takesKEV(r notify.Rule, sev notify.Severity) bool {
	if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, notify.KindKEVMatch) {
		return false
	}
	return sev == "" || r.MinSeverity == "" || sev.Rank() >= r.MinSeverity.Rank()
}

// kevRule is an enabled rule that takes KEV matches.
type kevRule struct {
	row  store.EscalationRule
	rule notify.Rule
}

// SkippedBacklog is how a skipped KEV backlog escalation is marked done.
const SkippedBacklog = "skipped: KEV match present before the rule was enabled"

// RaiseKEVMatches starts the escalations of every KEV entry among the
// early warnings of each tenant with an enabled rule for KEV matches. It
// runs as Vigil itself (the caller passes a system principal) from the
// periodic jobs, after the feeds have loaded.
//
// A rule newly enabled (or re-enabled, or newly taking KEV matches) does
// not escalate the backlog: on the first run after its enable time, the
// matches of entries published before that time are recorded as skipped
// (a closed escalation, so they are never raised for the rule) and
// counted on the rule; only later matches escalate.
func (s *Service) RaiseKEVMatches(ctx context.Context, warnings WarningsFunc) (int, error) {
	if len(s.ackKey) == 0 || warnings == nil {
		return 0, nil
	}
	rows, err := s.store.Escalations().EnabledRules(ctx)
	if err != nil {
		return 0, err
	}
	byTenant := map[string][]kevRule{}
	var tenants []string
	for _, row := range rows {
		var r notify.Rule
		if err := json.Unmarshal(row.Spec, &r); err != nil {
			continue // engine() logs unreadable rules
		}
		if !takesKEV(r, "") {
			continue
		}
		if _, ok := byTenant[row.TenantID]; !ok {
			tenants = append(tenants, row.TenantID)
		}
		byTenant[row.TenantID] = append(byTenant[row.TenantID], kevRule{row: row, rule: r})
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
		var msgs []notify.Message
		var published []time.Time
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
			msgs, published = append(msgs, msg), append(published, a.Published)
		}
		for _, kr := range byTenant[id] {
			if err := s.skipBacklog(ctx, kr, msgs, published); err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: rule %s: %w", t.Slug, kr.row.Name, err))
			}
		}
		for _, msg := range msgs {
			ids, err := e.Raise(ctx, msg)
			raised += len(ids)
			if err != nil && !errors.Is(err, notify.ErrInvalidMessage) {
				errs = append(errs, err)
			}
		}
	}
	return raised, errors.Join(errs...)
}

// skipBacklog records, once after a rule was enabled, the KEV matches it
// will not escalate: those of entries published before it was enabled.
func (s *Service) skipBacklog(ctx context.Context, kr kevRule, msgs []notify.Message, published []time.Time) error {
	if !kr.row.KEVPending || kr.row.EnabledAt.IsZero() {
		return nil
	}
	st := escStore{s.store.Escalations()}
	name := kr.row.TenantID + "/" + kr.row.Name
	now := s.clock.Now()
	skipped := 0
	for i, msg := range msgs {
		if published[i].After(kr.row.EnabledAt) || !takesKEV(kr.rule, msg.Severity) {
			continue // arrived after the rule was enabled: it escalates
		}
		esc := notify.Escalation{ID: msg.ID + "/" + name, Rule: name, Message: msg, Raised: now, NextAt: now, Done: true,
			AckedAt: now, AckedBy: SkippedBacklog}
		if err := st.Put(ctx, esc); errors.Is(err, notify.ErrEscalationConflict) {
			continue // raised or skipped before, here or on another node
		} else if err != nil {
			return err
		}
		skipped++
	}
	if skipped > 0 {
		s.logger.Info("KEV backlog skipped for a newly enabled rule", "tenant", kr.row.TenantID, "rule", kr.row.Name, "skipped", skipped)
	}
	return s.store.Escalations().SkipKEVBacklog(ctx, kr.row.TenantID, kr.row.Name, kr.row.EnabledAt, skipped)
}
