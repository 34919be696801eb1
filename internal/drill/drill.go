// Package drill owns the attack/defence drill engine (重点时期攻防演练): the
// drill model with its scope, rules of engagement, schedule, teams and state
// machine; the scope guard that refuses anything outside the agreed scope;
// the test-case library (embedded, plus Atomic Red Team and MITRE Caldera
// imports as templates); attack records and defence outcomes per case and
// defence layer; linking of detection alerts to attack records; scoring as
// data; ATT&CK Navigator layers in and out; and the summary report with
// ranked detection gaps and remediation items.
//
// Vigil never executes attacks: commands imported from Atomic Red Team or
// Caldera are kept as text for the attacking team to read. The package holds
// no database, web or CLI code; callers persist a Drill as they see fit.
package drill

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors callers check with errors.Is.
var (
	// ErrInvalid wraps every validation problem of a drill, case, record,
	// observation, scheme or imported file.
	ErrInvalid = errors.New("drill: invalid input")
	// ErrOutOfScope is returned when a target is outside the drill's scope
	// or inside one of its exclusions.
	ErrOutOfScope = errors.New("drill: target out of scope")
	// ErrState is returned for an action the drill's state does not allow
	// (a state change not in the machine, an attack while paused).
	ErrState = errors.New("drill: not allowed in this state")
	// ErrNotFound is returned when a case or record id is unknown.
	ErrNotFound = errors.New("drill: not found")
)

// Bounds on a drill; inputs beyond them are refused with ErrInvalid.
const (
	MaxName        = 200    // runes in a name, title, team or member
	MaxText        = 20_000 // runes in rules of engagement, a procedure, a description
	MaxCases       = 2_000  // test cases in one drill
	MaxRecords     = 10_000 // attack records in one drill
	MaxObservation = 50_000 // defence observations in one drill
	MaxReports     = 10_000 // defender reports in one drill
	MaxTeams       = 100    // teams in one drill
	MaxMembers     = 500    // members of one team
	MaxEvidence    = 50     // evidence references on one record
	MaxScopeItems  = 10_000 // entries in each list of a scope
	MaxDrillLength = 90 * 24 * time.Hour
)

// Role is what a team does in a drill.
type Role string

// The roles.
const (
	RoleAttacker Role = "attacker"
	RoleDefender Role = "defender"
	RoleDirector Role = "director"
)

// State is where a drill is in its life.
type State string

// The states: planned → running ⇄ paused → finished.
const (
	StatePlanned  State = "planned"
	StateRunning  State = "running"
	StatePaused   State = "paused"
	StateFinished State = "finished"
)

// transitions is the state machine: from → the states it may go to. A paused
// drill may be finished without resuming (the director ends it during an
// emergency stop).
var transitions = map[State][]State{
	StatePlanned: {StateRunning},
	StateRunning: {StatePaused, StateFinished},
	StatePaused:  {StateRunning, StateFinished},
}

// Team is one side of a drill. Unit names the organisation a defending
// team protects; attacker points are capped per defending unit.
type Team struct {
	Name    string   `json:"name" yaml:"name"`
	Role    Role     `json:"role" yaml:"role"`
	Unit    string   `json:"unit,omitempty" yaml:"unit,omitempty"`
	Members []string `json:"members,omitempty" yaml:"members,omitempty"`
	// TenantID is the tenant a defending team defends, in a drill with
	// participant tenants; empty means the drill's own tenant.
	TenantID string `json:"tenant_id,omitempty" yaml:"tenant_id,omitempty"`
}

// Window is the time a drill is scheduled to run, [Start, End).
type Window struct {
	Start time.Time `json:"start" yaml:"start"`
	End   time.Time `json:"end" yaml:"end"`
}

// Contains reports whether t is inside the window.
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// StateChange is one entry of a drill's state log: who moved it, when and
// why. An emergency stop (running → paused) always carries who and why.
type StateChange struct {
	From   State     `json:"from"`
	To     State     `json:"to"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// Drill is one attack/defence exercise run by a tenant (the organiser: a
// customer, or the SOC's own tenant), over its own assets and, when
// Participants lists other tenants, over theirs (see participants.go).
type Drill struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	// Scope is what the attacking teams may touch of the drill's own
	// tenant; see Guard. It may be empty when participants are listed.
	Scope Scope `json:"scope"`
	// Participants are the other tenants the drill covers, each with its
	// own scope.
	Participants []Participant `json:"participants,omitempty"`
	// OwnerName is the display name of the drill's tenant, filled in by the
	// caller for reports; it is not part of the plan.
	OwnerName string `json:"-"`
	// RulesOfEngagement is the agreed text (allowed techniques, hours,
	// forbidden actions, contacts).
	RulesOfEngagement string `json:"rules_of_engagement,omitempty"`
	Window            Window `json:"window"`
	Teams             []Team `json:"teams"`
	// Scheme is the scoring scheme; nil means DefaultScheme.
	Scheme *Scheme `json:"scheme,omitempty"`

	State    State           `json:"state"`
	StateLog []StateChange   `json:"state_log,omitempty"`
	Cases    []TestCase      `json:"cases,omitempty"`
	Records  []AttackRecord  `json:"records,omitempty"`
	Observed []Observation   `json:"observed,omitempty"`
	Reports  []DefenceReport `json:"reports,omitempty"`
	// Announcements are the directing team's messages to the teams.
	Announcements []Announcement `json:"announcements,omitempty"`
}

// New returns a planned drill after validating it.
func New(id, tenantID, name string, scope Scope, window Window, teams []Team) (*Drill, error) {
	d := &Drill{ID: id, TenantID: tenantID, Name: name, Scope: scope, Window: window, Teams: teams, State: StatePlanned}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// invalid returns an ErrInvalid error naming a field.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// checkText reports what is wrong with a text field: invalid UTF-8, control
// characters other than tab and newlines, or more than limit runes.
func checkText(field, s string, limit int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, "is empty")
	}
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return invalid(field, "has %d characters, more than %d", n, limit)
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return invalid(field, "contains control character %U", r)
		}
	}
	return nil
}

// Validate checks the drill's own fields, its scope, teams and scheme, and
// the bounds on its lists.
func (d *Drill) Validate() error {
	if d == nil {
		return invalid("drill", "missing")
	}
	errs := []error{
		checkText("id", d.ID, MaxName, true),
		checkText("tenant_id", d.TenantID, MaxName, true),
		checkText("name", d.Name, MaxName, true),
		checkText("rules_of_engagement", d.RulesOfEngagement, MaxText, false),
	}
	if d.Window.Start.IsZero() || !d.Window.End.After(d.Window.Start) {
		errs = append(errs, invalid("window", "the end must be after the start"))
	} else if d.Window.End.Sub(d.Window.Start) > MaxDrillLength {
		errs = append(errs, invalid("window", "a drill lasts at most %d days", int(MaxDrillLength/(24*time.Hour))))
	}
	errs = append(errs, d.validateParticipants())
	if len(d.Teams) > MaxTeams {
		errs = append(errs, invalid("teams", "%d teams, more than %d", len(d.Teams), MaxTeams))
	} else {
		roles := map[Role]bool{}
		names := map[string]bool{}
		for i, t := range d.Teams {
			f := fmt.Sprintf("teams[%d]", i)
			errs = append(errs, checkText(f+".name", t.Name, MaxName, true), checkText(f+".unit", t.Unit, MaxName, false))
			switch t.Role {
			case RoleAttacker, RoleDefender, RoleDirector:
				roles[t.Role] = true
			default:
				errs = append(errs, invalid(f+".role", "unknown role %q (attacker, defender or director)", t.Role))
			}
			if names[t.Name] {
				errs = append(errs, invalid(f+".name", "team %q appears twice", t.Name))
			}
			if t.TenantID != "" && !d.TakesPart(t.TenantID) {
				errs = append(errs, invalid(f+".tenant_id", "tenant %q does not take part in the drill", t.TenantID))
			}
			names[t.Name] = true
			if len(t.Members) > MaxMembers {
				errs = append(errs, invalid(f+".members", "%d members, more than %d", len(t.Members), MaxMembers))
				continue
			}
			for j, m := range t.Members {
				errs = append(errs, checkText(fmt.Sprintf("%s.members[%d]", f, j), m, MaxName, true))
			}
		}
		for _, r := range []Role{RoleAttacker, RoleDefender, RoleDirector} {
			if !roles[r] {
				errs = append(errs, invalid("teams", "a drill needs at least one %s team", r))
			}
		}
	}
	if d.Scheme != nil {
		errs = append(errs, d.Scheme.Validate())
	}
	switch {
	case len(d.Cases) > MaxCases:
		errs = append(errs, invalid("cases", "%d cases, more than %d", len(d.Cases), MaxCases))
	case len(d.Records) > MaxRecords:
		errs = append(errs, invalid("records", "%d records, more than %d", len(d.Records), MaxRecords))
	case len(d.Observed) > MaxObservation:
		errs = append(errs, invalid("observed", "%d observations, more than %d", len(d.Observed), MaxObservation))
	case len(d.Reports) > MaxReports:
		errs = append(errs, invalid("reports", "%d reports, more than %d", len(d.Reports), MaxReports))
	case len(d.Announcements) > MaxAnnouncements:
		errs = append(errs, invalid("announcements", "%d announcements, more than %d", len(d.Announcements), MaxAnnouncements))
	}
	return errors.Join(errs...)
}

// Team returns the team called name.
func (d *Drill) Team(name string) (Team, bool) {
	for _, t := range d.Teams {
		if t.Name == name {
			return t, true
		}
	}
	return Team{}, false
}

// Transition moves the drill to state to, logging who did it and why. A
// director's emergency stop (running → paused) needs both; every change
// needs who. While paused, attack records are refused.
func (d *Drill) Transition(to State, by, reason string, at time.Time) error {
	if !slices.Contains(transitions[d.State], to) {
		return fmt.Errorf("%w: cannot go from %s to %s", ErrState, d.State, to)
	}
	if err := checkText("by", by, MaxName, true); err != nil {
		return err
	}
	if err := checkText("reason", reason, MaxText, d.State == StateRunning && to == StatePaused); err != nil {
		return fmt.Errorf("%w (an emergency stop says why)", err)
	}
	if at.IsZero() {
		return invalid("at", "the time of the change is missing")
	}
	d.StateLog = append(d.StateLog, StateChange{From: d.State, To: to, At: at.UTC(), By: by, Reason: reason})
	d.State = to
	return nil
}

// AddCase adds a test case to the drill plan. Case ids are unique in a drill.
func (d *Drill) AddCase(c TestCase) error {
	if d.State == StateFinished {
		return fmt.Errorf("%w: the drill is finished", ErrState)
	}
	if len(d.Cases) >= MaxCases {
		return invalid("cases", "the drill already has %d cases", MaxCases)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if _, ok := d.Case(c.ID); ok {
		return invalid("case", "case %q already planned", c.ID)
	}
	d.Cases = append(d.Cases, c)
	return nil
}

// Case returns the planned case with id.
func (d *Drill) Case(id string) (TestCase, bool) {
	for _, c := range d.Cases {
		if c.ID == id {
			return c, true
		}
	}
	return TestCase{}, false
}

// Record returns the attack record with id.
func (d *Drill) Record(id string) (AttackRecord, bool) {
	for _, r := range d.Records {
		if r.ID == id {
			return r, true
		}
	}
	return AttackRecord{}, false
}
