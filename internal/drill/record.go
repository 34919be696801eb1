package drill

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Achievement is what an attack record reached, as the scoring scheme
// counts it.
type Achievement string

// The achievements of the scoring scheme.
const (
	AchieveNone          Achievement = ""
	AchieveBoundary      Achievement = "boundary_breached"
	AchieveTargetSystem  Achievement = "target_system"
	AchieveImportantData Achievement = "important_data"
	AchieveOtherSystem   Achievement = "other_system"
)

// Achievements returns the scored achievements in order of weight.
func Achievements() []Achievement {
	return []Achievement{AchieveBoundary, AchieveTargetSystem, AchieveImportantData, AchieveOtherSystem}
}

// Result is what an attack action gained.
type Result struct {
	Foothold  bool `json:"foothold,omitempty" yaml:"foothold,omitempty"`
	Privilege bool `json:"privilege,omitempty" yaml:"privilege,omitempty"`
	Data      bool `json:"data,omitempty" yaml:"data,omitempty"`
}

// AttackRecord is one attack action the attacking team reports: what was
// done, when, from where, against what, with which technique, its evidence
// (references to stored files, never rendered as markup) and its result.
type AttackRecord struct {
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id,omitempty"`
	Team      string    `json:"team"`
	What      string    `json:"what"`
	At        time.Time `json:"at"`
	From      string    `json:"from,omitempty"`
	Target    Target    `json:"target"`
	Technique string    `json:"technique"`
	Evidence  []string  `json:"evidence,omitempty"`
	Result    Result    `json:"result"`
	// Achievement is what the record scores for the attackers, confirmed by
	// the director; Unit is the defending unit that owns the target.
	Achievement Achievement `json:"achievement,omitempty"`
	Unit        string      `json:"unit,omitempty"`
	// TenantID is the tenant whose asset the action targets, in a drill
	// with participants; empty means the drill's own tenant.
	TenantID string `json:"tenant_id,omitempty"`
}

// RecordAttack validates an attack record against the drill (running, in
// the window, an attacking team, a planned case, the scope) and appends it.
// An out-of-scope target is refused with an error wrapping ErrOutOfScope.
func (d *Drill) RecordAttack(r AttackRecord) error {
	if d.State != StateRunning {
		return fmt.Errorf("%w: attacks are recorded only while the drill runs (it is %s)", ErrState, d.State)
	}
	if len(d.Records) >= MaxRecords {
		return invalid("records", "the drill already has %d records", MaxRecords)
	}
	errs := []error{
		checkText("record.id", r.ID, MaxName, true),
		checkText("record.what", r.What, MaxText, true),
		checkText("record.from", r.From, MaxName, false),
		checkText("record.unit", r.Unit, MaxName, false),
		checkText("record.target.host", r.Target.Host, MaxName, false),
		checkText("record.target.address", r.Target.Address, MaxName, false),
		checkText("record.target.asset_id", r.Target.AssetID, MaxName, false),
	}
	if _, ok := d.Record(r.ID); ok {
		errs = append(errs, invalid("record.id", "record %q already exists", r.ID))
	}
	if t, ok := d.Team(r.Team); !ok || t.Role != RoleAttacker {
		errs = append(errs, invalid("record.team", "%q is not an attacking team of the drill", r.Team))
	}
	if !d.Window.Contains(r.At) {
		errs = append(errs, invalid("record.at", "%s is outside the drill window", r.At.UTC().Format(time.RFC3339)))
	}
	if tech, ok := NormTechnique(r.Technique); !ok {
		errs = append(errs, invalid("record.technique", "%q is not an ATT&CK technique id", r.Technique))
	} else {
		r.Technique = tech
	}
	if r.CaseID != "" {
		if _, ok := d.Case(r.CaseID); !ok {
			errs = append(errs, fmt.Errorf("%w: record.case_id: case %q is not planned", ErrNotFound, r.CaseID))
		}
	}
	if r.Achievement != AchieveNone && !slices.Contains(Achievements(), r.Achievement) {
		errs = append(errs, invalid("record.achievement", "unknown achievement %q", r.Achievement))
	}
	if len(r.Evidence) > MaxEvidence {
		errs = append(errs, invalid("record.evidence", "%d references, more than %d", len(r.Evidence), MaxEvidence))
	} else {
		for i, e := range r.Evidence {
			errs = append(errs, checkText(fmt.Sprintf("record.evidence[%d]", i), e, MaxName, true))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	g, err := d.GuardFor(r.TenantID)
	if err != nil {
		return fmt.Errorf("record %s refused: %w", r.ID, err)
	}
	if r.TenantID == d.TenantID {
		r.TenantID = ""
	}
	if err := g.Check(r.Target); err != nil {
		return fmt.Errorf("record %s refused: %w", r.ID, err)
	}
	r.At = r.At.UTC()
	d.Records = append(d.Records, r)
	return nil
}

// Level is how far a defence layer got against an attack action. Higher
// wins: Blocked > Alerted > Logged > None.
type Level int

// The defence levels.
const (
	LevelNone Level = iota
	LevelLogged
	LevelAlerted
	LevelBlocked
)

// String returns the level's name.
func (l Level) String() string {
	switch l {
	case LevelLogged:
		return "logged"
	case LevelAlerted:
		return "alerted"
	case LevelBlocked:
		return "blocked"
	}
	return "none"
}

// ParseLevel returns the level named s.
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{LevelNone, LevelLogged, LevelAlerted, LevelBlocked} {
		if l.String() == s {
			return l, nil
		}
	}
	return LevelNone, invalid("level", "unknown level %q (none, logged, alerted, blocked)", s)
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Observation is what the defenders confirmed one layer did against one
// attack record: at At the layer logged, alerted or blocked it; RespondedAt
// is when the response (containment) began, zero when none. AlertID names
// the linked alert, when the observation came from one.
type Observation struct {
	RecordID    string    `json:"record_id"`
	Layer       Layer     `json:"layer"`
	Level       Level     `json:"level"`
	At          time.Time `json:"at"`
	RespondedAt time.Time `json:"responded_at,omitzero"`
	AlertID     string    `json:"alert_id,omitempty"`
	By          string    `json:"by"`
	Note        string    `json:"note,omitempty"`
}

// Observe records a confirmed defence observation.
func (d *Drill) Observe(o Observation) error {
	if len(d.Observed) >= MaxObservation {
		return invalid("observed", "the drill already has %d observations", MaxObservation)
	}
	if _, ok := d.Record(o.RecordID); !ok {
		return fmt.Errorf("%w: observation: record %q", ErrNotFound, o.RecordID)
	}
	errs := []error{checkText("observation.by", o.By, MaxName, true), checkText("observation.note", o.Note, MaxText, false),
		checkText("observation.alert_id", o.AlertID, MaxName, false)}
	if !validLayer(o.Layer) {
		errs = append(errs, invalid("observation.layer", "unknown layer %q", o.Layer))
	}
	if o.Level < LevelNone || o.Level > LevelBlocked {
		errs = append(errs, invalid("observation.level", "unknown level %d", o.Level))
	}
	if o.At.IsZero() {
		errs = append(errs, invalid("observation.at", "missing"))
	}
	if !o.RespondedAt.IsZero() && o.RespondedAt.Before(o.At) {
		errs = append(errs, invalid("observation.responded_at", "before the detection"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if o.AlertID != "" && slices.ContainsFunc(d.Observed, func(x Observation) bool {
		return x.RecordID == o.RecordID && x.AlertID == o.AlertID && x.Layer == o.Layer
	}) {
		return invalid("observation", "alert %q is already linked to record %q", o.AlertID, o.RecordID)
	}
	o.At = o.At.UTC()
	if !o.RespondedAt.IsZero() {
		o.RespondedAt = o.RespondedAt.UTC()
	}
	d.Observed = append(d.Observed, o)
	return nil
}

// LayerOutcome is the best a layer did against a case: its level (highest
// wins over every record of the case), the time to detect (first
// detection at logged level or above, from the first record of the case)
// and the time to respond (first response, from the same start).
type LayerOutcome struct {
	Layer   Layer         `json:"layer"`
	Level   Level         `json:"level"`
	Detect  time.Duration `json:"time_to_detect,omitempty"`
	Respond time.Duration `json:"time_to_respond,omitempty"`
	// Detected and Responded say whether Detect and Respond are set.
	Detected  bool `json:"detected"`
	Responded bool `json:"responded"`
	Expected  bool `json:"expected"`
}

// CaseOutcome is the defence outcome of one planned case.
type CaseOutcome struct {
	Case     TestCase `json:"case"`
	Executed bool     `json:"executed"`
	Records  int      `json:"records"`
	// Level is the best level over all layers.
	Level Level `json:"level"`
	// Detect and Respond are the fastest over all layers; Detected and
	// Responded say whether there was any.
	Detect    time.Duration  `json:"time_to_detect,omitempty"`
	Respond   time.Duration  `json:"time_to_respond,omitempty"`
	Detected  bool           `json:"detected"`
	Responded bool           `json:"responded"`
	Layers    []LayerOutcome `json:"layers"`
	Result    Result         `json:"result"`
	Targets   []string       `json:"targets,omitempty"`
}

// Layer returns the outcome of one layer.
func (c *CaseOutcome) Layer(l Layer) LayerOutcome {
	for _, lo := range c.Layers {
		if lo.Layer == l {
			return lo
		}
	}
	return LayerOutcome{Layer: l}
}

// Outcomes computes the outcome of every planned case per layer from the
// records and the confirmed observations. Records without a case are
// counted under a case of their technique when one is planned.
func (d *Drill) Outcomes() []CaseOutcome {
	caseOf := d.recordCases()
	out := make([]CaseOutcome, len(d.Cases))
	idx := map[string]int{}
	start := map[string]time.Time{}
	for i, c := range d.Cases {
		out[i] = CaseOutcome{Case: c}
		for _, l := range Layers() {
			out[i].Layers = append(out[i].Layers, LayerOutcome{Layer: l, Expected: slices.Contains(c.Layers, l)})
		}
		idx[c.ID] = i
	}
	for _, r := range d.Records {
		i, ok := idx[caseOf[r.ID]]
		if !ok {
			continue
		}
		co := &out[i]
		co.Executed = true
		co.Records++
		co.Result.Foothold = co.Result.Foothold || r.Result.Foothold
		co.Result.Privilege = co.Result.Privilege || r.Result.Privilege
		co.Result.Data = co.Result.Data || r.Result.Data
		if s := r.Target.String(); !slices.Contains(co.Targets, s) {
			co.Targets = append(co.Targets, s)
		}
		if st, ok := start[co.Case.ID]; !ok || r.At.Before(st) {
			start[co.Case.ID] = r.At
		}
	}
	for _, o := range d.Observed {
		i, ok := idx[caseOf[o.RecordID]]
		if !ok {
			continue
		}
		co := &out[i]
		s := start[co.Case.ID]
		for j := range co.Layers {
			lo := &co.Layers[j]
			if lo.Layer != o.Layer {
				continue
			}
			lo.Level = max(lo.Level, o.Level)
			if o.Level >= LevelLogged {
				if dt := max(o.At.Sub(s), 0); !co.Detected || dt < co.Detect {
					co.Detect, co.Detected = dt, true
				}
				if dt := max(o.At.Sub(s), 0); !lo.Detected || dt < lo.Detect {
					lo.Detect, lo.Detected = dt, true
				}
			}
			if !o.RespondedAt.IsZero() {
				if dt := max(o.RespondedAt.Sub(s), 0); !co.Responded || dt < co.Respond {
					co.Respond, co.Responded = dt, true
				}
				if dt := max(o.RespondedAt.Sub(s), 0); !lo.Responded || dt < lo.Respond {
					lo.Respond, lo.Responded = dt, true
				}
			}
			co.Level = max(co.Level, lo.Level)
		}
	}
	return out
}

// recordCases maps every record id to its case id: its own, or the first
// planned case of the same technique (or of its parent or a sub-technique).
func (d *Drill) recordCases() map[string]string {
	m := make(map[string]string, len(d.Records))
	for _, r := range d.Records {
		if r.CaseID != "" {
			m[r.ID] = r.CaseID
			continue
		}
		best, bestRank := "", 3
		for _, c := range d.Cases {
			rank := 3
			switch {
			case c.Technique == r.Technique:
				rank = 0
			case ParentTechnique(c.Technique) == r.Technique || c.Technique == ParentTechnique(r.Technique):
				rank = 1
			}
			if rank < bestRank {
				best, bestRank = c.ID, rank
			}
		}
		if best != "" {
			m[r.ID] = best
		}
	}
	return m
}

// sortRecords returns the records ordered by time, then id.
func sortRecords(rs []AttackRecord) []AttackRecord {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b AttackRecord) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	return rs
}
