// Package posture owns a tenant's security posture: the figures behind the
// dashboard tiles (alerts, vulnerabilities, exposure, log health,
// incidents), the posture score computed from them with its breakdown, and
// the daily snapshots that make its trend. It reads what the other services
// stored; it owns no data but the snapshots.
package posture

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// Defaults for Options.
const (
	DefaultSilentAfter = 24 * time.Hour
	// maxSources bounds the log senders read for one tenant.
	maxSources = store.MaxPageSize
	// maxSilentListed bounds the silent senders a snapshot names.
	maxSilentListed = 10
)

// AlertLevels are the alert levels, most severe first.
func AlertLevels() []string { return []string{"critical", "high", "medium", "low", "informational"} }

// VulnSeverities are the finding severities, most severe first.
func VulnSeverities() []string { return []string{"critical", "high", "medium", "low", "info"} }

// openAlertStatuses are the alerts still waiting for an analyst.
func openAlertStatuses() []string { return []string{"new", "acknowledged"} }

// IncidentCounter reports a tenant's cases; by default they are counted in
// the incident store.
type IncidentCounter interface {
	// OpenByPhase counts open cases per phase.
	OpenByPhase(ctx context.Context, tenantID string) (map[string]int, error)
	// SLABreached counts open cases with a breached SLA timer.
	SLABreached(ctx context.Context, tenantID string, now time.Time) (int, error)
}

// Options configure a Service.
type Options struct {
	// SilentAfter is how long a log sender may be quiet before it counts
	// as silent; default DefaultSilentAfter.
	SilentAfter time.Duration
	Incidents   IncidentCounter
	Now         func() time.Time
	Logger      *slog.Logger
}

// Service computes posture from the store.
type Service struct {
	st     store.Store
	opts   Options
	now    func() time.Time
	logger *slog.Logger
}

// NewService returns a Service over st.
func NewService(st store.Store, opts Options) *Service {
	if opts.SilentAfter <= 0 {
		opts.SilentAfter = DefaultSilentAfter
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, opts: opts, now: now, logger: l}
}

// SetIncidents plugs in the incident service once it exists.
func (s *Service) SetIncidents(ic IncidentCounter) { s.opts.Incidents = ic }

// Alerts is the alert tile.
type Alerts struct {
	Open        map[string]int // open alerts by level
	OpenTotal   int
	Last24h     int   // alerts last seen in the past 24 hours
	IntelOpen   int   // open alerts raised by threat-intelligence matches
	EventsHours []int // events received per hour, the past 24 hours, oldest first
	Events24h   int
}

// Vulns is the vulnerability tile.
type Vulns struct {
	Open      map[string]int // open findings by severity
	OpenTotal int
	KEV       int // open and listed in CISA KEV
	Overdue   int
	Mitigated int // unfixed but protected by a compensating control
	Closed    int
}

// Exposure is the exposure tile, from the latest finished discovery run.
type Exposure struct {
	Assets   int
	RunID    string // "" when no run finished yet
	RunAt    time.Time
	Open     int // open ports found
	Unknown  int
	Zombies  int
	Risky    int
	RiskyTop []exposure.Port // the first risky exposures
}

// Logs is the log-health tile.
type Logs struct {
	Sources     int
	Silent      int
	SilentList  []store.EventSource // the longest silent, bounded
	SilentAfter time.Duration
}

// Incidents is the incident tile; Measured is false without an
// incident service.
type Incidents struct {
	Measured    bool
	OpenByPhase map[string]int
	Open        int
	Breached    int
}

// Baseline is the tenant's configuration compliance from the latest run
// of each policy on each asset: passed checks over decided ones, as the
// baseline service scores it.
type Baseline struct {
	Assets int // assets with at least one run
	Runs   int // latest runs counted
	Passed int
	Failed int
	Score  float64 // percentage, when Scored
	Scored bool
}

// Snapshot is a tenant's posture at one moment.
type Snapshot struct {
	TenantID  string
	At        time.Time
	Alerts    Alerts
	Vulns     Vulns
	Exposure  Exposure
	Logs      Logs
	Incidents Incidents
	Baseline  Baseline
	Score     Score
}

// Measures returns the score inputs of a snapshot.
func (p *Snapshot) Measures() Measures {
	m := Measures{KEVOpen: p.Vulns.KEV, CriticalOpen: p.Vulns.Open["critical"], HighOpen: p.Vulns.Open["high"],
		Overdue: p.Vulns.Overdue, CriticalAlerts: p.Alerts.Open["critical"], HighAlerts: p.Alerts.Open["high"],
		MediumAlerts: p.Alerts.Open["medium"], UnknownAssets: p.Exposure.Unknown, ZombieAssets: p.Exposure.Zombies,
		RiskyServices: p.Exposure.Risky, SilentSources: p.Logs.Silent, BreachedCases: -1}
	if p.Incidents.Measured {
		m.BreachedCases = p.Incidents.Breached
	}
	return m
}

// Tenant computes a tenant's posture now.
func (s *Service) Tenant(ctx context.Context, tenantID string) (*Snapshot, error) {
	now := s.now().UTC()
	p := &Snapshot{TenantID: tenantID, At: now}
	steps := []struct {
		what string
		fn   func(context.Context, string, time.Time, *Snapshot) error
	}{{"alerts", s.alerts}, {"vulnerabilities", s.vulns}, {"exposure", s.exposure}, {"logs", s.logs}, {"incidents", s.incidents}, {"baseline", s.baseline}}
	for _, st := range steps {
		if err := st.fn(ctx, tenantID, now, p); err != nil {
			return nil, fmt.Errorf("posture %s: %w", st.what, err)
		}
	}
	p.Score = Compute(p.Measures())
	return p, nil
}

func (s *Service) alerts(ctx context.Context, tenantID string, now time.Time, p *Snapshot) error {
	// One query for the open alerts by level, the open intelligence hits
	// and the past day's alerts.
	t, err := s.st.Posture().AlertTally(ctx, tenantID, store.AlertTallyQuery{Open: openAlertStatuses(),
		RulePrefix: "intel:", Since: now.Add(-24 * time.Hour)})
	if err != nil {
		return err
	}
	p.Alerts.Open = map[string]int{}
	for _, l := range AlertLevels() {
		p.Alerts.Open[l] = t.Open[l]
		p.Alerts.OpenTotal += t.Open[l]
	}
	p.Alerts.Last24h, p.Alerts.IntelOpen = t.Recent, t.OpenPrefix
	since := now.Truncate(time.Hour).Add(-23 * time.Hour)
	if p.Alerts.EventsHours, err = s.st.Events().Hourly(ctx, tenantID, since, now.Add(time.Nanosecond)); err != nil {
		return err
	}
	for _, n := range p.Alerts.EventsHours {
		p.Alerts.Events24h += n
	}
	return nil
}

func (s *Service) vulns(ctx context.Context, tenantID string, now time.Time, p *Snapshot) error {
	// One statement over the running totals the store keeps as findings
	// change: counts by state and severity, open KEV-listed and overdue.
	open := lifecycle.OpenStates()
	t, err := s.st.Posture().VulnTally(ctx, tenantID, store.VulnTallyQuery{Open: open, Now: now})
	if err != nil {
		return err
	}
	p.Vulns.Open = map[string]int{}
	for k, n := range t.ByState {
		state, sev := k[0], k[1]
		switch {
		case slices.Contains(open, state):
			p.Vulns.Open[sev] += n
			p.Vulns.OpenTotal += n
		case state == lifecycle.StateMitigated:
			p.Vulns.Mitigated += n
		case state == lifecycle.StateClosed:
			p.Vulns.Closed += n
		}
	}
	p.Vulns.KEV, p.Vulns.Overdue = t.KEVOpen, t.Overdue
	return nil
}

// maxRiskyListed bounds the risky exposures a snapshot names.
const maxRiskyListed = 5

func (s *Service) exposure(ctx context.Context, tenantID string, _ time.Time, p *Snapshot) error {
	var err error
	if p.Exposure.Assets, err = s.st.Assets().Count(ctx, tenantID, store.AssetFilter{}); err != nil {
		return err
	}
	// The latest finished scan: runs are listed newest first; a few
	// pending or failed ones, or imports of outside views (which say
	// nothing of what is exposed now), may come before it.
	runs, err := s.st.DiscoveryRuns().List(ctx, tenantID, store.Page{Limit: 20})
	if err != nil {
		return err
	}
	for _, r := range runs {
		if r.Status != "done" || exposure.IsImport(r) {
			continue
		}
		full, err := s.st.DiscoveryRuns().Get(ctx, tenantID, r.ID)
		if err != nil {
			return err
		}
		var res exposure.RunResult
		if err := json.Unmarshal(full.Result, &res); err != nil {
			s.logger.Warn("posture: unreadable discovery result", "tenant", tenantID, "run", r.ID, "error", err)
			continue
		}
		p.Exposure.RunID, p.Exposure.RunAt = r.ID, full.FinishedAt
		p.Exposure.Open, p.Exposure.Unknown, p.Exposure.Zombies = len(res.Open), len(res.New), len(res.Zombies)
		for _, port := range res.Open {
			if port.Risky != "" {
				p.Exposure.Risky++
				if len(p.Exposure.RiskyTop) < maxRiskyListed {
					p.Exposure.RiskyTop = append(p.Exposure.RiskyTop, port)
				}
			}
		}
		break
	}
	return nil
}

func (s *Service) logs(ctx context.Context, tenantID string, now time.Time, p *Snapshot) error {
	srcs, err := s.st.Events().Sources(ctx, tenantID, store.Page{Limit: maxSources})
	if err != nil {
		return err
	}
	p.Logs.Sources, p.Logs.SilentAfter = len(srcs), s.opts.SilentAfter
	cut := now.Add(-s.opts.SilentAfter)
	for _, src := range srcs { // longest silent first
		if !src.LastSeen.Before(cut) {
			break
		}
		p.Logs.Silent++
		if len(p.Logs.SilentList) < maxSilentListed {
			p.Logs.SilentList = append(p.Logs.SilentList, src)
		}
	}
	return nil
}

// baseline sums the latest run of each policy on each asset.
func (s *Service) baseline(ctx context.Context, tenantID string, _ time.Time, p *Snapshot) error {
	t, err := s.st.Baseline().LatestTotals(ctx, tenantID)
	if err != nil {
		return err
	}
	p.Baseline.Assets, p.Baseline.Runs, p.Baseline.Passed, p.Baseline.Failed = t.Assets, t.Runs, t.Passed, t.Failed
	if decided := p.Baseline.Passed + p.Baseline.Failed; decided > 0 {
		p.Baseline.Score, p.Baseline.Scored = 100*float64(p.Baseline.Passed)/float64(decided), true
	}
	return nil
}

// openPhases are the phases of an open case, as the tile lists them.
func openPhases() []string { return []string{"detect", "contain", "eradicate", "recover", "summarise"} }

func (s *Service) incidents(ctx context.Context, tenantID string, now time.Time, p *Snapshot) error {
	ic := s.opts.Incidents
	if ic == nil {
		// The store's tally: one statement for both figures.
		t, err := s.st.Posture().IncidentTally(ctx, tenantID, store.IncidentTallyQuery{Phases: openPhases(), Now: now})
		if err != nil {
			return err
		}
		p.Incidents = Incidents{Measured: true, OpenByPhase: t.ByPhase, Breached: t.Breached}
		for _, n := range t.ByPhase {
			p.Incidents.Open += n
		}
		return nil
	}
	by, err := ic.OpenByPhase(ctx, tenantID)
	if err != nil {
		return err
	}
	p.Incidents = Incidents{Measured: true, OpenByPhase: by}
	for _, n := range by {
		p.Incidents.Open += n
	}
	p.Incidents.Breached, err = ic.SLABreached(ctx, tenantID, now)
	return err
}

// Record computes a tenant's posture and saves it as today's snapshot.
func (s *Service) Record(ctx context.Context, tenantID string) (*Snapshot, error) {
	p, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p.Score)
	if err != nil {
		return nil, fmt.Errorf("posture breakdown: %w", err)
	}
	snap := store.PostureSnapshot{TenantID: tenantID, Day: p.At.Format(time.DateOnly), Score: p.Score.Value,
		Breakdown: b, TakenAt: p.At}
	if err := s.st.Posture().Save(ctx, &snap); err != nil {
		return nil, err
	}
	return p, nil
}

// RecordAll records today's snapshot of every enabled tenant; one
// tenant's failure is logged and does not stop the others.
func (s *Service) RecordAll(ctx context.Context) error {
	ts, err := s.st.Tenants().List(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		if _, err := s.Record(ctx, t.ID); err != nil {
			s.logger.Error("posture snapshot", "tenant", t.Slug, "error", err)
		}
	}
	return nil
}

// Day is one point of a trend.
type Day struct {
	Day   string
	Score int
	Known bool // false: no snapshot that day
}

// Trend returns the daily scores of the past days (oldest first, today
// last), with gaps where no snapshot was taken.
func (s *Service) Trend(ctx context.Context, tenantID string, days int) ([]Day, error) {
	days = min(max(days, 1), 366)
	today := s.now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	snaps, err := s.st.Posture().History(ctx, tenantID, first.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	by := make(map[string]int, len(snaps))
	for _, sn := range snaps {
		by[sn.Day] = sn.Score
	}
	out := make([]Day, 0, days)
	for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		v, ok := by[key]
		out = append(out, Day{Day: key, Score: v, Known: ok})
	}
	return out, nil
}
