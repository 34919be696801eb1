package keyperiod

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
)

// Phase ids of a key-period campaign, in order.
const (
	PhasePlan           = "plan"
	PhaseSelfInspection = "self-inspection"
	PhaseRemediation    = "remediation"
	PhaseRecheck        = "re-check"
	PhaseWatch          = "watch"
	PhaseSummary        = "summary"
)

// Phases returns the phase ids in order.
func Phases() []string {
	return []string{PhasePlan, PhaseSelfInspection, PhaseRemediation, PhaseRecheck, PhaseWatch, PhaseSummary}
}

// PlanOptions size the phases before and after the watch. The watch is
// the key period itself; the plan phase takes what the lead time leaves
// before self-inspection.
type PlanOptions struct {
	SelfInspection time.Duration // default 7 days
	Remediation    time.Duration // default 7 days
	Recheck        time.Duration // default 3 days
	Summary        time.Duration // default 3 days
	// MinPlan is the shortest plan phase allowed (default 1 day).
	MinPlan time.Duration
}

func (o PlanOptions) withDefaults() PlanOptions {
	day := 24 * time.Hour
	o.SelfInspection = cmp.Or(o.SelfInspection, 7*day)
	o.Remediation = cmp.Or(o.Remediation, 7*day)
	o.Recheck = cmp.Or(o.Recheck, 3*day)
	o.Summary = cmp.Or(o.Summary, 3*day)
	o.MinPlan = cmp.Or(o.MinPlan, day)
	return o
}

// Plan returns the phases of a campaign for period p.
func Plan(p Period, opts PlanOptions) ([]campaign.Phase, error) {
	o := opts.withDefaults()
	recheck := p.Start.Add(-o.Recheck)
	remed := recheck.Add(-o.Remediation)
	self := remed.Add(-o.SelfInspection)
	begin := p.Start.Add(-p.LeadTime)
	if self.Sub(begin) < o.MinPlan {
		return nil, fmt.Errorf("period %s: %w (lead time %s, phases need %s)", p.ID, errNoTime, p.LeadTime, p.Start.Sub(self)+o.MinPlan)
	}
	return []campaign.Phase{
		{ID: PhasePlan, Start: begin, End: self},
		{ID: PhaseSelfInspection, Start: self, End: remed},
		{ID: PhaseRemediation, Start: remed, End: recheck},
		{ID: PhaseRecheck, Start: recheck, End: p.Start},
		{ID: PhaseWatch, Start: p.Start, End: p.End},
		{ID: PhaseSummary, Start: p.End, End: p.End.Add(o.Summary)},
	}, nil
}

// Contact is a named person on duty.
type Contact struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Shift is one duty shift with its lead and members.
type Shift struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Lead    Contact   `json:"lead"`
	Members []Contact `json:"members,omitempty"`
}

// Roster is the duty roster of a watch.
type Roster struct {
	Shifts []Shift `json:"shifts"`
}

// maxShifts bounds a roster.
const maxShifts = 10_000

// Validate checks every shift has a lead and ends after it starts.
func (r Roster) Validate() error {
	if len(r.Shifts) > maxShifts {
		return fmt.Errorf("%d shifts, limit %d", len(r.Shifts), maxShifts)
	}
	for i, s := range r.Shifts {
		if !s.End.After(s.Start) {
			return fmt.Errorf("shift %d ends before it starts", i+1)
		}
		if strings.TrimSpace(s.Lead.Name) == "" {
			return fmt.Errorf("shift %d (%s) has no named lead", i+1, s.Start.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// OnDuty returns the shifts covering t.
func (r Roster) OnDuty(t time.Time) []Shift {
	var out []Shift
	for _, s := range r.Shifts {
		if !t.Before(s.Start) && t.Before(s.End) {
			out = append(out, s)
		}
	}
	return out
}

// Gap is an interval no shift covers.
type Gap struct{ Start, End time.Time }

// Gaps returns the intervals of [from, to) that no shift covers.
func (r Roster) Gaps(from, to time.Time) []Gap {
	shifts := slices.Clone(r.Shifts)
	slices.SortFunc(shifts, func(a, b Shift) int { return a.Start.Compare(b.Start) })
	var gaps []Gap
	at := from
	for _, s := range shifts {
		if !s.End.After(at) {
			continue
		}
		if s.Start.After(at) {
			end := s.Start
			if end.After(to) {
				end = to
			}
			if end.After(at) {
				gaps = append(gaps, Gap{at, end})
			}
		}
		if s.End.After(at) {
			at = s.End
		}
		if !at.Before(to) {
			return gaps
		}
	}
	if at.Before(to) {
		gaps = append(gaps, Gap{at, to})
	}
	return gaps
}

// Rotation builds a roster over [from, to) with shifts of length shift,
// handing each shift to the next team in turn; a team's first contact
// leads it.
func Rotation(from, to time.Time, shift time.Duration, teams [][]Contact) (Roster, error) {
	if shift <= 0 || len(teams) == 0 || !to.After(from) {
		return Roster{}, errors.New("a rotation needs a positive shift length, at least one team and a period")
	}
	if n := to.Sub(from) / shift; n > maxShifts {
		return Roster{}, fmt.Errorf("%d shifts, limit %d", n, maxShifts)
	}
	var r Roster
	for i, at := 0, from; at.Before(to); i, at = i+1, at.Add(shift) {
		team := teams[i%len(teams)]
		if len(team) == 0 {
			return Roster{}, fmt.Errorf("team %d is empty", i%len(teams)+1)
		}
		end := at.Add(shift)
		if end.After(to) {
			end = to
		}
		r.Shifts = append(r.Shifts, Shift{Start: at, End: end, Lead: team[0], Members: slices.Clone(team[1:])})
	}
	return r, r.Validate()
}

// SLA is the time allowed to acknowledge an alert, by severity, outside
// and during the watch.
type SLA struct {
	Normal map[campaign.Severity]time.Duration `json:"normal"`
	Watch  map[campaign.Severity]time.Duration `json:"watch"`
}

// DefaultSLA returns the default acknowledgement times: critical 30 min,
// high 2 h, medium 8 h, low 24 h normally; 5 min, 15 min, 1 h and 4 h
// during the watch.
func DefaultSLA() SLA {
	return SLA{
		Normal: map[campaign.Severity]time.Duration{campaign.SeverityCritical: 30 * time.Minute, campaign.SeverityHigh: 2 * time.Hour,
			campaign.SeverityMedium: 8 * time.Hour, campaign.SeverityLow: 24 * time.Hour},
		Watch: map[campaign.Severity]time.Duration{campaign.SeverityCritical: 5 * time.Minute, campaign.SeverityHigh: 15 * time.Minute,
			campaign.SeverityMedium: time.Hour, campaign.SeverityLow: 4 * time.Hour},
	}
}

// Transition is the campaign entering a phase.
type Transition struct {
	From string    `json:"from"` // "" when the campaign starts
	To   string    `json:"to"`   // "" when the campaign ends
	At   time.Time `json:"at"`
}

// Options configure New.
type Options struct {
	// Template is the key-period campaign template; nil means the
	// built-in "key-period" template. Its phases must be those of Phases.
	Template *campaign.Template
	Plan     PlanOptions
	Roster   Roster
	// SLA is the acknowledgement SLA; nil maps mean DefaultSLA.
	SLA SLA
}

// Campaign is a key-period campaign.
type Campaign struct {
	Period   Period             `json:"period"`
	Campaign *campaign.Campaign `json:"campaign"`
	Roster   Roster             `json:"roster"`
	SLA      SLA                `json:"sla"`
	// Current is the phase entered by the last Advance ("" before the
	// start, "done" after the end).
	Current string `json:"current"`
}

// Done is the value of Current after the summary phase.
const Done = "done"

// New plans a campaign for period p: the template instantiated over in
// with the phase dates of Plan, each task due at the end of its phase.
func New(p Period, in campaign.Instance, opts Options) (*Campaign, error) {
	tpl := opts.Template
	if tpl == nil {
		tpls, err := campaign.BuiltinTemplates()
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(tpls, func(t *campaign.Template) bool { return t.ID == "key-period" })
		if i < 0 {
			return nil, errors.New("built-in key-period template missing")
		}
		tpl = tpls[i]
	}
	var ids []string
	for _, ph := range tpl.Phases {
		ids = append(ids, ph.ID)
	}
	if !slices.Equal(ids, Phases()) {
		return nil, fmt.Errorf("template %s: phases %v, want %v", tpl.ID, ids, Phases())
	}
	phases, err := Plan(p, opts.Plan)
	if err != nil {
		return nil, err
	}
	if err := opts.Roster.Validate(); err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	in.Start = phases[0].Start
	if in.Name == "" {
		in.Name = p.Name
	}
	c, err := tpl.Instantiate(in)
	if err != nil {
		return nil, err
	}
	end := map[string]time.Time{}
	for i := range c.Phases {
		c.Phases[i].Start, c.Phases[i].End = phases[i].Start, phases[i].End
		end[c.Phases[i].ID] = phases[i].End
	}
	for i := range c.Tasks {
		c.Tasks[i].Due = end[c.Tasks[i].Phase]
	}
	sla := opts.SLA
	if sla.Normal == nil || sla.Watch == nil {
		sla = DefaultSLA()
	}
	return &Campaign{Period: p, Campaign: c, Roster: opts.Roster, SLA: sla}, nil
}

// PhaseAt returns the phase id at t: "" before the campaign, Done after.
func (k *Campaign) PhaseAt(t time.Time) string {
	if p, ok := k.Campaign.PhaseAt(t); ok {
		return p.ID
	}
	if t.Before(k.Campaign.Phases[0].Start) {
		return ""
	}
	return Done
}

// Advance moves the campaign to the phase of now and returns every phase
// entered since the last call, in order (phases are never skipped in the
// list, even when the clock jumped).
func (k *Campaign) Advance(now time.Time) []Transition {
	target := k.PhaseAt(now)
	order := append([]string{""}, append(Phases(), Done)...)
	from, to := slices.Index(order, k.Current), slices.Index(order, target)
	var out []Transition
	for i := from + 1; i <= to; i++ {
		var at time.Time
		if i-1 < len(k.Campaign.Phases) {
			at = k.Campaign.Phases[i-1].Start
		} else {
			at = k.Campaign.Phases[len(k.Campaign.Phases)-1].End
		}
		name := order[i]
		if name == Done {
			name = ""
		}
		out = append(out, Transition{From: order[i-1], To: name, At: at})
		k.Current = order[i]
	}
	return out
}

// InWatch reports whether t falls in the watch phase.
func (k *Campaign) InWatch(t time.Time) bool { return k.PhaseAt(t) == PhaseWatch }

// AckDeadline is when an alert of severity sev raised at raised must be
// acknowledged: the watch SLA applies to alerts raised during the watch.
// The zero time means the severity has no SLA.
func (k *Campaign) AckDeadline(raised time.Time, sev campaign.Severity) time.Time {
	m := k.SLA.Normal
	if k.InWatch(raised) {
		m = k.SLA.Watch
	}
	d, ok := m[sev]
	if !ok {
		return time.Time{}
	}
	return raised.Add(d)
}

// AckBreached reports whether an alert breached its acknowledgement SLA by
// now; acked is the acknowledgement time, zero when not acknowledged yet.
func (k *Campaign) AckBreached(raised, acked time.Time, sev campaign.Severity, now time.Time) bool {
	dl := k.AckDeadline(raised, sev)
	if dl.IsZero() {
		return false
	}
	if acked.IsZero() {
		return now.After(dl)
	}
	return acked.After(dl)
}
