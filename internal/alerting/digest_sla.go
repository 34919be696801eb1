package alerting

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// The SLA breaches of a digest's period [from, to):
//
//   - findings past their due date: findings still in an open state whose
//     remediation due date is before the end of the period (as the
//     findings list's "overdue" filter counts them);
//   - case timers breached in the period: the acknowledge, contain and
//     close timers of the tenant's cases that fell due in the period and
//     were not met by their due time (done late, closed late, or still not
//     done at the end of the period), as the case page states them
//     (incident.Timers at the end of the period).
//
// Cases are read newest update first down to the start of the period (a
// timer met late or a case closed late updated its case in the period),
// plus the open cases with a timer past due at the end (a case nobody
// touched); at most digestScanBreachCases of each.

// digestScanBreachCases bounds the cases read for timer breaches.
const digestScanBreachCases = 5000

// DigestOverdue is a finding past its due date.
type DigestOverdue struct {
	Title, Host, Severity string
	Due                   time.Time
}

// DigestBreach is a case timer breached in the period.
type DigestBreach struct {
	Ref, Title string
	Timer      string // acknowledge, contain, close
	Due        time.Time
	Late       time.Duration // how late it was met, or is so far
	Met        bool          // done (or the case closed) late; false: still not done
}

// DigestSLA is what broke the service levels in a period.
type DigestSLA struct {
	Overdue      []DigestOverdue
	OverdueTotal int // open findings past their due date at the end of the period
	Breaches     []DigestBreach
	BreachTotal  int // case timers due in the period and not met in time
	BreachCases  int // cases with at least one of them
}

// digestSLA gathers the tenant's SLA breaches of [from, to).
func (s *Service) digestSLA(ctx context.Context, tenantID string, from, to time.Time) (DigestSLA, error) {
	var out DigestSLA
	vf := store.VulnFilter{Overdue: true, OpenStates: lifecycle.OpenStates(), Now: to, Page: store.Page{Limit: MaxDigestItems}}
	var err error
	if out.OverdueTotal, err = s.store.Vulns().Count(ctx, tenantID, vf); err != nil {
		return out, err
	}
	fs, err := s.store.Vulns().List(ctx, tenantID, vf)
	if err != nil {
		return out, err
	}
	for _, f := range fs {
		out.Overdue = append(out.Overdue, DigestOverdue{Title: f.Title, Host: cmp.Or(f.Host, f.IP, f.AssetKey), Severity: f.Severity, Due: f.DueAt})
	}

	seen := map[string]bool{}
	var all []DigestBreach
	take := func(c store.Incident) {
		if seen[c.ID] {
			return
		}
		seen[c.ID] = true
		hit := false
		for _, tm := range incident.Timers(c, to) {
			if tm.State != incident.TimerBreached || tm.Due.Before(from) || !tm.Due.Before(to) {
				continue
			}
			hit = true
			all = append(all, DigestBreach{Ref: c.Ref, Title: c.Title, Timer: tm.Name, Due: tm.Due, Late: tm.Overdue,
				Met: !tm.Done.IsZero() || !c.ClosedAt.IsZero()})
		}
		if hit {
			out.BreachCases++
		}
	}
	scan := func(f store.IncidentFilter, stopBefore time.Time) error {
		for read := 0; read < digestScanBreachCases; {
			f.Page = store.Page{Limit: store.MaxPageSize, Offset: read}
			cs, err := s.store.Incidents().List(ctx, tenantID, f)
			if err != nil {
				return err
			}
			for _, c := range cs { // newest update first
				if !stopBefore.IsZero() && c.UpdatedAt.Before(stopBefore) {
					return nil
				}
				take(c)
			}
			if len(cs) < store.MaxPageSize {
				return nil
			}
			read += len(cs)
		}
		return nil
	}
	if err := scan(store.IncidentFilter{}, from); err != nil {
		return out, err
	}
	if err := scan(store.IncidentFilter{Breached: true, Now: to}, time.Time{}); err != nil {
		return out, err
	}
	slices.SortFunc(all, func(a, b DigestBreach) int {
		return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.Ref, b.Ref), cmp.Compare(a.Timer, b.Timer))
	})
	out.BreachTotal = len(all)
	out.Breaches = all[:min(len(all), MaxDigestItems)]
	return out, nil
}
