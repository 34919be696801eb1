package compliance

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"time"
)

//go:embed templates/*.yaml
var templates embed.FS

// Output is a document or record a task produces.
type Output struct {
	Zh string `yaml:"zh" json:"zh"`
	En string `yaml:"en" json:"en"`
}

// TaskTemplate is one task of a phase with its default duration in days.
type TaskTemplate struct {
	ID      string   `yaml:"id" json:"id"`
	Name    string   `yaml:"name" json:"name"`
	NameEn  string   `yaml:"name_en" json:"name_en"`
	Days    int      `yaml:"days" json:"days"`
	Outputs []Output `yaml:"outputs" json:"outputs"`
}

// PhaseTemplate is one activity of the assessment process.
type PhaseTemplate struct {
	ID     string         `yaml:"id" json:"id"`
	Name   string         `yaml:"name" json:"name"`
	NameEn string         `yaml:"name_en" json:"name_en"`
	Tasks  []TaskTemplate `yaml:"tasks" json:"tasks"`
}

// ProcessTemplate is an assessment process: the phases of GB/T 28449-2018
// by default.
type ProcessTemplate struct {
	ID       string          `yaml:"id" json:"id"`
	Name     string          `yaml:"name" json:"name"`
	NameEn   string          `yaml:"name_en" json:"name_en"`
	Standard string          `yaml:"standard" json:"standard"`
	Phases   []PhaseTemplate `yaml:"phases" json:"phases"`
}

// MLPSProcess returns the embedded GB/T 28449-2018 process template: 测评准备,
// 方案编制, 现场测评 and 报告编制 with their tasks and outputs.
func MLPSProcess() (*ProcessTemplate, error) {
	data, err := templates.ReadFile("templates/gbt28449-2018.yaml")
	if err != nil {
		return nil, fmt.Errorf("compliance: read process template: %w", err)
	}
	return ParseProcess(bytes.NewReader(data))
}

// ParseProcess reads and validates a process template.
func ParseProcess(r io.Reader) (*ProcessTemplate, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFrameworkBytes+1))
	if err != nil {
		return nil, fmt.Errorf("compliance: read process template: %w", err)
	}
	if len(data) > MaxFrameworkBytes {
		return nil, fmt.Errorf("%w: process template is larger than %d bytes", ErrInvalid, MaxFrameworkBytes)
	}
	var t ProcessTemplate
	if err := decodeYAML(data, &t); err != nil {
		return nil, err
	}
	p := &problems{}
	checkField(p, "process", "id", t.ID, MaxIDLen, true)
	checkField(p, "process", "name", t.Name, MaxNameLen, true)
	if len(t.Phases) == 0 || len(t.Phases) > 50 {
		p.addf("process: %d phases, want 1 to 50", len(t.Phases))
	}
	seen := map[string]bool{}
	for _, ph := range t.Phases {
		checkField(p, "phase "+ph.ID, "id", ph.ID, MaxIDLen, true)
		checkField(p, "phase "+ph.ID, "name", ph.Name, MaxNameLen, true)
		if len(ph.Tasks) == 0 || len(ph.Tasks) > 100 {
			p.addf("phase %q: %d tasks, want 1 to 100", ph.ID, len(ph.Tasks))
		}
		for _, tk := range ph.Tasks {
			where := "task " + tk.ID
			checkField(p, where, "id", tk.ID, MaxIDLen, true)
			checkField(p, where, "name", tk.Name, MaxNameLen, true)
			if seen[tk.ID] || seen[ph.ID] && tk.ID == ph.ID {
				p.addf("%s: duplicate id", where)
			}
			seen[tk.ID] = true
			if tk.Days < 0 || tk.Days > 365 {
				p.addf("%s: %d days is not 0 to 365", where, tk.Days)
			}
			for _, o := range tk.Outputs {
				checkField(p, where, "output", o.Zh, MaxNameLen, true)
			}
		}
	}
	if err := p.err("process " + t.ID); err != nil {
		return nil, err
	}
	return &t, nil
}

// PlannedTask is a task scheduled in a project plan.
type PlannedTask struct {
	TaskTemplate
	Phase string    `json:"phase"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // last working day of the task (inclusive)
}

// ProjectPlan is a schedule made from a process template.
type ProjectPlan struct {
	Process string        `json:"process"`
	Start   time.Time     `json:"start"`
	End     time.Time     `json:"end"`
	Tasks   []PlannedTask `json:"tasks"`
}

// PlanOptions adjust NewProjectPlan.
type PlanOptions struct {
	// IncludeWeekends counts Saturdays and Sundays as working days.
	IncludeWeekends bool
	// Days overrides the duration of tasks by task id.
	Days map[string]int
}

// NewProjectPlan schedules the template's tasks one after another from
// start (a date; the time of day is dropped), skipping weekends unless
// told otherwise. A task of zero days is a milestone on the day the
// previous task ends.
func NewProjectPlan(t *ProcessTemplate, start time.Time, opts PlanOptions) (*ProjectPlan, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: no process template", ErrInvalid)
	}
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	working := func(d time.Time) bool {
		wd := d.Weekday()
		return opts.IncludeWeekends || wd != time.Saturday && wd != time.Sunday
	}
	for !working(day) {
		day = day.AddDate(0, 0, 1)
	}
	plan := &ProjectPlan{Process: t.ID, Start: day}
	last := day
	for _, ph := range t.Phases {
		for _, tk := range ph.Tasks {
			days := tk.Days
			if d, ok := opts.Days[tk.ID]; ok {
				days = d
			}
			if days < 0 || days > 365 {
				return nil, fmt.Errorf("%w: task %s: %d days is not 0 to 365", ErrInvalid, tk.ID, days)
			}
			pt := PlannedTask{TaskTemplate: tk, Phase: ph.ID}
			pt.Days = days
			if days == 0 {
				pt.Start, pt.End = last, last
				plan.Tasks = append(plan.Tasks, pt)
				continue
			}
			for !working(day) {
				day = day.AddDate(0, 0, 1)
			}
			pt.Start = day
			for n := 0; n < days; {
				if working(day) {
					n++
					last = day
				}
				day = day.AddDate(0, 0, 1)
			}
			pt.End = last
			plan.Tasks = append(plan.Tasks, pt)
		}
	}
	plan.End = last
	return plan, nil
}
