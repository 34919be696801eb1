package drill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// PlanFile is a drill plan written by hand (YAML or JSON), the offline
// form of a drill: what `vigil drill score` and `vigil drill navigator`
// read. Cases are given in full or named from the embedded library.
type PlanFile struct {
	Name              string     `yaml:"name"`
	RulesOfEngagement string     `yaml:"rules_of_engagement,omitempty"`
	Window            Window     `yaml:"window"`
	Scope             Scope      `yaml:"scope"`
	Teams             []Team     `yaml:"teams"`
	Scheme            *Scheme    `yaml:"scheme,omitempty"`
	Cases             []TestCase `yaml:"cases,omitempty"`
	LibraryCases      []string   `yaml:"library_cases,omitempty"`
}

// LogFile is what happened in a drill, as JSON: attack records, confirmed
// observations and defender reports, with the engine's field names.
type LogFile struct {
	Records  []AttackRecord  `json:"records"`
	Observed []Observation   `json:"observed,omitempty"`
	Reports  []DefenceReport `json:"reports,omitempty"`
}

// Bounds on offline drill files.
const (
	MaxPlanBytes = 4 << 20
	MaxLogBytes  = 32 << 20
)

// ParsePlan reads a plan file (unknown fields, anchors and aliases
// refused), takes the named cases from lib, and returns the planned drill.
func ParsePlan(r io.Reader, lib *Library) (*Drill, error) {
	data, err := readBounded(r, MaxPlanBytes)
	if err != nil {
		return nil, err
	}
	if _, err := yamlRoot(data); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p PlanFile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: plan: %v", ErrInvalid, err)
	}
	d, err := New("plan", "offline", p.Name, p.Scope, p.Window, p.Teams)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	d.RulesOfEngagement, d.Scheme = p.RulesOfEngagement, p.Scheme
	if len(p.LibraryCases) > MaxCases {
		return nil, invalid("plan.library_cases", "%d cases, more than %d", len(p.LibraryCases), MaxCases)
	}
	cases := p.Cases
	for i, id := range p.LibraryCases {
		c, ok := lib.Get(id)
		if !ok {
			return nil, invalid(fmt.Sprintf("plan.library_cases[%d]", i), "the library has no case %q", cleanField(id, 80))
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		if err := d.AddCase(c); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return d, nil
}

// ApplyLog reads a log file (JSON, unknown fields refused) and runs every
// record, observation and report through the drill's checks, as if the
// drill were running: a record outside the scope or the window is refused
// with an error naming it, and nothing of the log is kept.
func (d *Drill) ApplyLog(r io.Reader) error {
	data, err := readBounded(r, MaxLogBytes)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l LogFile
	if err := dec.Decode(&l); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: log: line %s: %v", ErrInvalid, lineCol(data, se.Offset), err)
		}
		return fmt.Errorf("%w: log: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: log: trailing data after the log", ErrInvalid)
	}
	if len(l.Records) > MaxRecords || len(l.Observed) > MaxObservation || len(l.Reports) > MaxReports {
		return invalid("log", "more than %d records, %d observations or %d reports", MaxRecords, MaxObservation, MaxReports)
	}
	work := *d
	work.Records, work.Observed, work.Reports = nil, nil, nil
	state := work.State
	work.State = StateRunning
	for i, rec := range l.Records {
		if err := work.RecordAttack(rec); err != nil {
			return fmt.Errorf("log: records[%d]: %w", i, err)
		}
	}
	for i, o := range l.Observed {
		if err := work.Observe(o); err != nil {
			return fmt.Errorf("log: observed[%d]: %w", i, err)
		}
	}
	for i, rp := range l.Reports {
		if err := work.SubmitReport(rp); err != nil {
			return fmt.Errorf("log: reports[%d]: %w", i, err)
		}
	}
	work.State = state
	*d = work
	return nil
}
