package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Runner runs one automated task on one target. It returns the result's
// status and findings; TaskID, AssetID, At and Run are filled in by the
// Engine. An error means the check could not be made (scanner error,
// unreachable host): the Engine records it as errored, never as passed.
type Runner interface {
	Run(ctx context.Context, task Task, target Target) (Result, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, task Task, target Target) (Result, error)

// Run implements Runner.
func (f RunnerFunc) Run(ctx context.Context, task Task, target Target) (Result, error) {
	return f(ctx, task, target)
}

// ErrNoRunner is recorded for an automated task whose kind has no runner.
var ErrNoRunner = errors.New("no runner for this task kind")

// Options configure an Engine.
type Options struct {
	// Runners maps automated task kinds to their runner.
	Runners map[TaskKind]Runner
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Concurrency bounds the targets checked at once (default 4).
	Concurrency int
	// Logger receives debug and warning records; nil discards them.
	Logger *slog.Logger
}

// Engine runs campaign tasks.
type Engine struct {
	runners map[TaskKind]Runner
	now     func() time.Time
	conc    int
	log     *slog.Logger
}

// NewEngine returns an Engine.
func NewEngine(opts Options) *Engine {
	e := &Engine{runners: map[TaskKind]Runner{}, now: opts.Now, conc: opts.Concurrency, log: opts.Logger}
	for k, r := range opts.Runners {
		e.runners[k] = r
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.conc <= 0 {
		e.conc = 4
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e
}

// maxErrorLen bounds the error text kept in a result.
const maxErrorLen = 500

// RunTask runs an automated task on the given targets (every target of
// the campaign when assetIDs is empty) and records the results; running it
// again is a re-test. It returns the new results. It fails only for an
// unknown task or asset, a manual task, or a cancelled ctx; a runner's
// failure is recorded as an errored result.
func (e *Engine) RunTask(ctx context.Context, c *Campaign, taskID string, assetIDs ...string) ([]Result, error) {
	task, err := c.Task(taskID)
	if err != nil {
		return nil, err
	}
	if !task.Kind.Automated() {
		return nil, fmt.Errorf("task %q is manual: record its items instead", taskID)
	}
	targets := c.Targets
	if len(assetIDs) > 0 {
		targets = nil
		for _, id := range assetIDs {
			t, ok := c.Target(id)
			if !ok {
				return nil, fmt.Errorf("asset %q is not a target of campaign %q", id, c.ID)
			}
			targets = append(targets, t)
		}
	}
	runner := e.runners[task.Kind]
	out := make([]Result, len(targets))
	sem := make(chan struct{}, e.conc)
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Add(1)
		sem <- struct{}{}
		tg.Tenant = c.Tenant
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = e.runOne(ctx, runner, *task, tg)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, r := range out {
		c.Record(r)
	}
	return out, nil
}

func (e *Engine) runOne(ctx context.Context, runner Runner, task Task, tg Target) (res Result) {
	base := Result{TaskID: task.ID, AssetID: tg.AssetID}
	fail := func(err error) Result {
		r := base
		r.Status = StatusErrored
		r.Error = truncate(err.Error(), maxErrorLen)
		r.At = e.now()
		e.log.Warn("campaign task errored", "task", task.ID, "asset", tg.AssetID, "err", err)
		return r
	}
	if runner == nil {
		return fail(fmt.Errorf("%w: %s", ErrNoRunner, task.Kind))
	}
	defer func() {
		if p := recover(); p != nil {
			res = fail(fmt.Errorf("runner panicked: %v", p))
		}
	}()
	r, err := runner.Run(ctx, task, tg)
	if err != nil {
		return fail(err)
	}
	r.TaskID, r.AssetID, r.ItemID = task.ID, tg.AssetID, ""
	r.At = e.now()
	switch r.Status {
	case StatusPassed, StatusFailed, StatusNotApplicable:
	default:
		return fail(fmt.Errorf("runner returned status %q", r.Status))
	}
	if r.Status == StatusPassed && len(r.Findings) > 0 {
		// Findings at info level do not fail a check; anything else does.
		for _, f := range r.Findings {
			if f.Severity != SeverityInfo {
				r.Status = StatusFailed
				break
			}
		}
	}
	SortFindings(r.Findings)
	return r
}

// Answer is a person's answer to one manual checklist item.
type Answer struct {
	Status Status
	// Evidence lists references to the evidence (attachment ids, ticket
	// ids, document names).
	Evidence []string
	By       string
	// Note explains a failed item; it becomes the finding's evidence.
	Note string
}

// RecordManual records the answer to a manual item. A failed item becomes
// a finding with the item's severity; a passed item needs evidence.
func (e *Engine) RecordManual(c *Campaign, taskID, itemID string, a Answer) (Result, error) {
	task, err := c.Task(taskID)
	if err != nil {
		return Result{}, err
	}
	if task.Kind != TaskManual {
		return Result{}, fmt.Errorf("task %q is automated: run it instead", taskID)
	}
	var item *Item
	for i := range task.Items {
		if task.Items[i].ID == itemID {
			item = &task.Items[i]
		}
	}
	if item == nil {
		return Result{}, fmt.Errorf("task %q has no item %q", taskID, itemID)
	}
	if strings.TrimSpace(a.By) == "" {
		return Result{}, errors.New("an answer needs the name of who gave it")
	}
	r := Result{TaskID: taskID, ItemID: itemID, Status: a.Status, Evidence: append([]string(nil), a.Evidence...), By: a.By, At: e.now()}
	switch a.Status {
	case StatusPassed:
		if len(a.Evidence) == 0 {
			return Result{}, fmt.Errorf("item %q: a passed item needs evidence", itemID)
		}
	case StatusFailed:
		f := Finding{Key: "item/" + item.ID, Title: item.Text, Severity: item.Severity, Ref: item.Ref}
		if a.Note != "" {
			f.Evidence = []string{a.Note}
		}
		r.Findings = []Finding{f}
	case StatusNotApplicable, StatusPending:
	default:
		return Result{}, fmt.Errorf("item %q: status %q cannot be recorded", itemID, a.Status)
	}
	c.Record(r)
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
