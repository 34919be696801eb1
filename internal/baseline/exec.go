package baseline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Result is the outcome of a check.
type Result string

// Check results. NotApplicable covers checks whose evidence could not be
// gathered here: Windows registry rules, command rules that were not allowed
// to run, unmet requirements. Manual marks a check written with
// "type: manual" (see Check.Manual): it is pending an assessor and counts
// neither for nor against the score.
const (
	Passed        Result = "passed"
	Failed        Result = "failed"
	NotApplicable Result = "not-applicable"
	Manual        Result = "manual"
)

// Options configure an evaluation.
type Options struct {
	// Target is the host to evaluate. When nil, a LocalTarget over FS is
	// used (with AllowCommands and CommandTimeout below).
	Target Target
	// FS is the host's filesystem when Target is nil; paths in rules are
	// taken relative to its root, and processes are read from its "proc"
	// directory.
	FS fs.FS
	// Querier answers sql: and redis: rules. When nil and the Target
	// implements Querier, the Target answers them; otherwise such rules
	// are undecided.
	Querier Querier
	// AllowCommands lets c: rules run their command. Off by default: such
	// rules then evaluate as not run (not applicable).
	AllowCommands bool
	// CommandTimeout bounds each local command; default 10s.
	CommandTimeout time.Duration
	// MaxOutputBytes caps command output, query output and file reads;
	// default 4 MiB.
	MaxOutputBytes int64
	// MaxDirEntries caps the entries read from one directory; default 10000.
	MaxDirEntries int
	// MaxDirDepth caps how many levels below its directory a d: rule
	// searches; default 16. MaxDirTree caps the entries one d: rule target
	// visits; default 20000. A search cut short without a match is
	// undecided. See dirrule.go.
	MaxDirDepth int
	MaxDirTree  int
	// Workers bounds the checks evaluated at once; default 8.
	Workers int
	// IgnoreRequirements evaluates checks even when requirements fail.
	IgnoreRequirements bool
	Logger             *slog.Logger
}

// Querier answers database rules (RuleSQL, RuleRedis) with the lines of
// the query's result, at most maxLines of them. A Querier that cannot
// answer a kind of rule returns an error wrapping errors.ErrUnsupported.
type Querier interface {
	Query(ctx context.Context, kind RuleType, query string, maxLines int) ([]string, error)
}

// CheckResult is the evaluation of one check.
type CheckResult struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Result      Result   `json:"result"`
	Reason      string   `json:"reason,omitempty"`
	Evidence    []string `json:"evidence,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
}

// Report is the evaluation of a policy.
type Report struct {
	PolicyID        string        `json:"policy_id"`
	RequirementsMet bool          `json:"requirements_met"`
	Requirements    []string      `json:"requirements_evidence,omitempty"`
	Checks          []CheckResult `json:"checks"`
	Passed          int           `json:"passed"`
	Failed          int           `json:"failed"`
	NotApplicable   int           `json:"not_applicable"`
	Manual          int           `json:"manual"`
	// Score is passed / (passed + failed) as a percentage; 0 when nothing
	// was decided.
	Score float64 `json:"score"`
}

// Evaluate runs a policy's requirements and checks against the target
// described by opts. Independent checks are evaluated concurrently; within
// one run each file, directory, process list and command output is read
// once and shared by every rule that needs it.
func Evaluate(ctx context.Context, p *Policy, opts Options) (*Report, error) {
	if opts.Target == nil && opts.FS == nil {
		return nil, errors.New("baseline: Options.Target or Options.FS is required")
	}
	e := newEvaluator(opts)
	rep := &Report{PolicyID: p.ID, RequirementsMet: true}
	if p.Requirements != nil {
		res, ev := e.condition(ctx, p.Requirements.Condition, p.Requirements.Rules)
		rep.Requirements = ev
		rep.RequirementsMet = res == Passed
	}
	rep.Checks = make([]CheckResult, len(p.Checks))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(e.opts.Workers, max(1, len(p.Checks))) {
		wg.Go(func() {
			for i := range jobs {
				rep.Checks[i] = e.check(ctx, &p.Checks[i], rep.RequirementsMet)
			}
		})
	}
	for i := range p.Checks {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, cr := range rep.Checks {
		switch cr.Result {
		case Passed:
			rep.Passed++
		case Failed:
			rep.Failed++
		case Manual:
			rep.Manual++
		default:
			rep.NotApplicable++
		}
	}
	if d := rep.Passed + rep.Failed; d > 0 {
		rep.Score = 100 * float64(rep.Passed) / float64(d)
	}
	return rep, nil
}

func (e *evaluator) check(ctx context.Context, c *Check, requirementsMet bool) CheckResult {
	cr := CheckResult{ID: c.ID, Title: c.Title, Remediation: c.Remediation}
	switch {
	case !requirementsMet && !e.opts.IgnoreRequirements:
		cr.Result, cr.Reason = NotApplicable, "policy requirements not met on this host"
	case c.Manual:
		cr.Result, cr.Reason = Manual, "manual check: pending an assessor's result and evidence"
	default:
		cr.Result, cr.Evidence = e.condition(ctx, c.Condition, c.Rules)
		cr.Reason = reasonFor(cr.Result, c.Condition)
	}
	return cr
}

func reasonFor(r Result, c Condition) string {
	switch r {
	case Passed:
		return fmt.Sprintf("condition %s satisfied", c)
	case Failed:
		return fmt.Sprintf("condition %s not satisfied", c)
	}
	return "a rule could not be evaluated on this host"
}

// ruleState is a rule's three-valued outcome.
type ruleState int

const (
	ruleFalse ruleState = iota
	ruleTrue
	ruleUnknown
)

type evaluator struct {
	opts    Options
	log     *slog.Logger
	target  Target
	querier Querier
	// Evidence read within one run, shared by all rules and workers.
	files memo[[]byte]
	stats memo[FileInfo]
	dirs  memo[[]DirEntry]
	procs memo[[]Process]
	cmds  memo[CommandResult]
	query memo[[]string]
	regs  memo[[]RegistryValue]
}

func newEvaluator(opts Options) *evaluator {
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 10 * time.Second
	}
	if opts.MaxOutputBytes <= 0 {
		opts.MaxOutputBytes = 4 << 20
	}
	if opts.MaxDirEntries <= 0 {
		opts.MaxDirEntries = 10000
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.MaxDirDepth <= 0 {
		opts.MaxDirDepth = defaultMaxDirDepth
	}
	if opts.MaxDirTree <= 0 {
		opts.MaxDirTree = defaultMaxDirTree
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := opts.Target
	if t == nil {
		t = &LocalTarget{FS: opts.FS, AllowCommands: opts.AllowCommands, CommandTimeout: opts.CommandTimeout}
	}
	q := opts.Querier
	if q == nil {
		q, _ = t.(Querier)
	}
	return &evaluator{opts: opts, log: log, target: t, querier: q}
}

// memo computes each key's value once, even when asked concurrently.
type memo[T any] struct {
	mu sync.Mutex
	m  map[string]*memoEntry[T]
}

type memoEntry[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (m *memo[T]) get(key string, f func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = make(map[string]*memoEntry[T])
	}
	e := m.m[key]
	if e == nil {
		e = &memoEntry[T]{}
		m.m[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.v, e.err = f() })
	return e.v, e.err
}

func (e *evaluator) readFile(ctx context.Context, name string) ([]byte, error) {
	return e.files.get(name, func() ([]byte, error) {
		return e.target.ReadFile(ctx, name, e.opts.MaxOutputBytes)
	})
}

func (e *evaluator) stat(ctx context.Context, name string) (FileInfo, error) {
	return e.stats.get(name, func() (FileInfo, error) { return e.target.Stat(ctx, name) })
}

func (e *evaluator) readDir(ctx context.Context, name string) ([]DirEntry, error) {
	return e.dirs.get(name, func() ([]DirEntry, error) {
		entries, err := e.target.ReadDir(ctx, name, e.opts.MaxDirEntries)
		// Targets list in different orders; evidence should not depend on it.
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
		return entries, err
	})
}

// condition combines rule outcomes. A decided outcome wins over unknown
// rules when it settles the condition on its own (a false rule fails "all",
// a true rule passes "any" and fails "none"); otherwise any unknown rule
// makes the check not applicable.
func (e *evaluator) condition(ctx context.Context, cond Condition, rules []*Rule) (Result, []string) {
	var evidence []string
	unknown := false
	for _, r := range rules {
		st, ev := e.rule(ctx, r)
		evidence = append(evidence, truncate(fmt.Sprintf("%s => %s", r.Raw, ev), 300))
		switch st {
		case ruleUnknown:
			unknown = true
		case ruleTrue:
			if cond == CondAny {
				return Passed, evidence
			}
			if cond == CondNone {
				return Failed, evidence
			}
		case ruleFalse:
			if cond == CondAll {
				return Failed, evidence
			}
		}
	}
	if unknown {
		return NotApplicable, evidence
	}
	if cond == CondAny {
		return Failed, evidence
	}
	return Passed, evidence
}

func (e *evaluator) rule(ctx context.Context, r *Rule) (ruleState, string) {
	var st ruleState
	var ev string
	switch r.Type {
	case RuleFile:
		st, ev = e.fileRule(ctx, r)
	case RuleDirectory:
		st, ev = e.dirRule(ctx, r)
	case RuleProcess:
		st, ev = e.processRule(ctx, r)
	case RuleCommand:
		st, ev = e.commandRule(ctx, r)
	case RuleSQL, RuleRedis:
		st, ev = e.queryRule(ctx, r)
	case RuleRegistry:
		st, ev = e.registryRule(ctx, r)
	default:
		return ruleUnknown, "unknown rule type " + string(r.Type)
	}
	if r.Negate && st != ruleUnknown {
		if st == ruleTrue {
			st = ruleFalse
		} else {
			st = ruleTrue
		}
		ev = "negated: " + ev
	}
	if st == ruleTrue {
		return st, "true (" + ev + ")"
	}
	if st == ruleFalse {
		return st, "false (" + ev + ")"
	}
	return st, "unknown (" + ev + ")"
}

// missing classifies a failed read: not there (false), not answerable
// by this target (unknown), or an error that counts as false with a note.
func missing(err error) ruleState {
	if errors.Is(err, errors.ErrUnsupported) {
		return ruleUnknown
	}
	return ruleFalse
}

func (e *evaluator) fileRule(ctx context.Context, r *Rule) (ruleState, string) {
	var notes []string
	unknown := false
	for _, written := range r.Targets {
		t, ok := e.rulePath(written)
		if !ok {
			notes = append(notes, written+": not an absolute path")
			continue
		}
		if r.Content == nil {
			st, err := e.stat(ctx, t)
			if err == nil && !st.IsDir {
				return ruleTrue, t + " exists"
			}
			if err != nil && missing(err) == ruleUnknown {
				unknown = true
				notes = append(notes, err.Error())
				continue
			}
			notes = append(notes, t+" does not exist")
			continue
		}
		line, found, err := e.searchFile(ctx, t, r.Content)
		if err != nil {
			unknown = unknown || missing(err) == ruleUnknown
			notes = append(notes, err.Error())
			continue
		}
		if found {
			return ruleTrue, fmt.Sprintf("%s: line %q matched", t, truncate(line, 120))
		}
		notes = append(notes, t+": no line matched")
	}
	if unknown {
		return ruleUnknown, strings.Join(notes, "; ")
	}
	return ruleFalse, strings.Join(notes, "; ")
}

// searchFile reports the first line of the file satisfying expr.
func (e *evaluator) searchFile(ctx context.Context, name string, expr Expr) (string, bool, error) {
	data, err := e.readFile(ctx, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("%s does not exist", name)
		}
		return "", false, err
	}
	line, ok := searchLines(data, expr)
	return line, ok, nil
}

func searchLines(data []byte, expr Expr) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), len(data)+1)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if expr.Match(line) {
			return line, true
		}
	}
	return "", false
}

func (e *evaluator) processRule(ctx context.Context, r *Rule) (ruleState, string) {
	want := r.Targets[0]
	procs, err := e.procs.get("", func() ([]Process, error) { return e.target.Processes(ctx) })
	if err != nil {
		return ruleUnknown, "process list unavailable: " + err.Error()
	}
	for _, p := range procs {
		if p.Comm == want || p.Argv0 == want || (p.Argv0 != "" && path.Base(p.Argv0) == want) {
			return ruleTrue, "process " + want + " running (pid " + p.PID + ")"
		}
	}
	return ruleFalse, "no process named " + want
}

func (e *evaluator) commandRule(ctx context.Context, r *Rule) (ruleState, string) {
	line := r.Targets[0]
	if !e.opts.AllowCommands {
		return ruleUnknown, "command not run: command rules are not allowed"
	}
	run := func() (CommandResult, error) {
		argv, err := splitCommand(line)
		if err != nil {
			return CommandResult{}, fmt.Errorf("not run: %w", err)
		}
		return e.target.Run(ctx, argv, e.opts.MaxOutputBytes)
	}
	if lr, ok := e.target.(LineRunner); ok {
		run = func() (CommandResult, error) { return lr.RunLine(ctx, line, e.opts.MaxOutputBytes) }
	}
	res, err := e.cmds.get(line, run)
	if err != nil {
		return ruleUnknown, "command failed: " + err.Error()
	}
	if r.Content == nil {
		return ruleTrue, "command ran"
	}
	if l, found := searchLines(res.Output, r.Content); found {
		return ruleTrue, fmt.Sprintf("output line %q matched", truncate(l, 120))
	}
	return ruleFalse, "no output line matched"
}

// LineRunner is implemented by targets whose commands are command lines
// rather than argument vectors: Windows, where SCA hands the line to
// CreateProcess as written. RunLine returns the recorded or live output of
// exactly that line.
type LineRunner interface {
	RunLine(ctx context.Context, line string, max int64) (CommandResult, error)
}

// pathMapper is implemented by targets whose rule paths are not POSIX
// paths (Windows evidence: C:\dir\file); rulePath maps a path as written
// in a rule to the slash-separated absolute path the target answers for.
type pathMapper interface {
	rulePath(written string) (string, bool)
}

// rulePath is the target's path for a path written in an f: or d: rule;
// false when it is not absolute there.
func (e *evaluator) rulePath(written string) (string, bool) {
	if m, ok := e.target.(pathMapper); ok {
		return m.rulePath(written)
	}
	return written, strings.HasPrefix(written, "/")
}

// maxQueryLines bounds the lines one database rule reads.
const maxQueryLines = 10000

func (e *evaluator) queryRule(ctx context.Context, r *Rule) (ruleState, string) {
	if e.querier == nil {
		return ruleUnknown, fmt.Sprintf("no %s database to query on this target", r.Type)
	}
	q := r.Targets[0]
	lines, err := e.query.get(string(r.Type)+"\x00"+q, func() ([]string, error) {
		return e.querier.Query(ctx, r.Type, q, maxQueryLines)
	})
	if err != nil {
		return ruleUnknown, "query failed: " + err.Error()
	}
	if r.Content == nil {
		if len(lines) > 0 {
			return ruleTrue, fmt.Sprintf("query returned %d lines", len(lines))
		}
		return ruleFalse, "query returned nothing"
	}
	for _, l := range lines {
		if r.Content.Match(l) {
			return ruleTrue, fmt.Sprintf("result line %q matched", truncate(l, 120))
		}
	}
	return ruleFalse, fmt.Sprintf("no result line matched (%d lines)", len(lines))
}

type capWriter struct {
	buf bytes.Buffer
	max int64
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - int64(w.buf.Len()); room > 0 {
		w.buf.Write(p[:min(int64(len(p)), room)])
	}
	return len(p), nil
}

// splitCommand splits a command line into arguments, honouring single and
// double quotes and backslash escapes outside single quotes. It does not
// expand anything: no variables, globs or pipes.
func splitCommand(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\\' && i+1 < len(s) && quote == 0:
			i++
			cur.WriteByte(s[i])
			inArg = true
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == ' ' || c == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '|' || c == ';' || c == '&' || c == '>' || c == '<' || c == '`' || c == '$':
			return nil, fmt.Errorf("shell syntax %q needs a shell, which is never used", string(c))
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	return args, nil
}
