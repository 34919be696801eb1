package incident

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// SLATargets are the times a case of one severity has to be acknowledged,
// contained and closed, counted from its creation.
type SLATargets struct {
	Acknowledge time.Duration
	Contain     time.Duration
	Close       time.Duration
}

// SLAPolicy is the targets by severity.
type SLAPolicy map[string]SLATargets

// DefaultSLA returns the targets used unless Options override them.
func DefaultSLA() SLAPolicy {
	const day = 24 * time.Hour
	return SLAPolicy{
		SeverityCritical: {Acknowledge: 15 * time.Minute, Contain: 4 * time.Hour, Close: 3 * day},
		SeverityHigh:     {Acknowledge: time.Hour, Contain: day, Close: 7 * day},
		SeverityMedium:   {Acknowledge: 4 * time.Hour, Contain: 3 * day, Close: 14 * day},
		SeverityLow:      {Acknowledge: day, Contain: 7 * day, Close: 30 * day},
	}
}

// targets returns the tenant's targets for a severity.
func (s *Service) targets(tenantID, severity string) SLATargets {
	if p, ok := s.tenantSLA[tenantID]; ok {
		if t, ok := p[severity]; ok {
			return t
		}
	}
	return s.sla[severity]
}

// setDue sets a case's due times from start and its severity; a zero
// target leaves that timer off. The SLAFactor at start shortens the
// targets (tightenSLA).
func (s *Service) setDue(ctx context.Context, c *store.Incident, start time.Time) {
	t := s.targets(c.TenantID, c.Severity)
	if s.slaFactor != nil {
		t = tightenSLA(t, s.slaFactor(ctx, c.TenantID, start))
	}
	due := func(d time.Duration) time.Time {
		if d <= 0 {
			return time.Time{}
		}
		return start.Add(d)
	}
	c.AckDue, c.ContainDue, c.CloseDue = due(t.Acknowledge), due(t.Contain), due(t.Close)
}

// Timer states.
const (
	TimerMet      = "met"      // done by the due time
	TimerRunning  = "running"  // not done, due time ahead
	TimerBreached = "breached" // done late, or not done and past due
	TimerStopped  = "stopped"  // the case was closed before this was done, in time
	TimerOff      = "off"      // no target for this severity
)

// Timer is the state of one SLA timer of a case at a moment.
type Timer struct {
	Name      string // acknowledge, contain, close
	Due       time.Time
	Done      time.Time // zero while not done
	State     string
	Remaining time.Duration // running: time left
	Overdue   time.Duration // breached: how late (so far, or when done)
}

// Timers computes a case's SLA timers at now.
func Timers(c store.Incident, now time.Time) []Timer {
	return []Timer{
		timer("acknowledge", c.AckDue, c.AcknowledgedAt, c.ClosedAt, now),
		timer("contain", c.ContainDue, c.ContainedAt, c.ClosedAt, now),
		timer("close", c.CloseDue, c.ClosedAt, time.Time{}, now),
	}
}

func timer(name string, due, done, closed, now time.Time) Timer {
	t := Timer{Name: name, Due: due, Done: done}
	switch {
	case due.IsZero():
		t.State = TimerOff
	case !done.IsZero() && !done.After(due):
		t.State = TimerMet
	case !done.IsZero():
		t.State, t.Overdue = TimerBreached, done.Sub(due)
	case !closed.IsZero() && !closed.After(due):
		t.State = TimerStopped
	case !closed.IsZero():
		t.State, t.Overdue = TimerBreached, closed.Sub(due)
	case now.After(due):
		t.State, t.Overdue = TimerBreached, now.Sub(due)
	default:
		t.State, t.Remaining = TimerRunning, due.Sub(now)
	}
	return t
}

// Breach is an open case with at least one SLA timer past due.
type Breach struct {
	Case     store.Incident
	Breached []Timer
}

// maxBreaches bounds one Breaches call per tenant.
const maxBreaches = 5000

// Breaches lists the open cases past an SLA due time at now, in every
// tenant the principal may read, for the escalation job that notifies
// about them (at most 5000 per tenant, most recently updated first).
func (s *Service) Breaches(ctx context.Context, now time.Time) ([]Breach, error) {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return nil, auth.ErrUnauthenticated
	}
	var tenants []string
	if p.AllTenants() {
		ts, err := s.store.Tenants().List(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			tenants = append(tenants, t.ID)
		}
	} else {
		tenants = p.TenantIDs()
	}
	var out []Breach
	for _, tid := range tenants {
		if !p.Can(auth.PermEventRead, tid) {
			continue
		}
		for off := 0; off < maxBreaches; off += store.MaxPageSize {
			cs, err := s.store.Incidents().List(ctx, tid, store.IncidentFilter{Breached: true, Now: now,
				Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				b := Breach{Case: c}
				for _, t := range Timers(c, now) {
					if t.State == TimerBreached {
						b.Breached = append(b.Breached, t)
					}
				}
				out = append(out, b)
			}
			if len(cs) < store.MaxPageSize {
				break
			}
		}
	}
	return out, nil
}
