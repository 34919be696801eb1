package baseline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os/exec"
	"path"
	"strings"
	"time"
)

// Result is the outcome of a check.
type Result string

// Check results. NotApplicable covers checks whose evidence could not be
// gathered here: Windows registry rules, command rules that were not allowed
// to run, unmet requirements.
const (
	Passed        Result = "passed"
	Failed        Result = "failed"
	NotApplicable Result = "not-applicable"
)

// Options configure a local evaluation.
type Options struct {
	// FS is the host's filesystem; paths in rules are taken relative to its
	// root, and processes are read from its "proc" directory. Required.
	FS fs.FS
	// AllowCommands lets c: rules run their command on this host. Off by
	// default: such rules then evaluate as not run (not applicable).
	AllowCommands bool
	// CommandTimeout bounds each command; default 10s.
	CommandTimeout time.Duration
	// MaxOutputBytes caps command output and file reads; default 4 MiB.
	MaxOutputBytes int64
	// MaxDirEntries caps the entries read from one directory; default 10000.
	MaxDirEntries int
	// IgnoreRequirements evaluates checks even when requirements fail.
	IgnoreRequirements bool
	Logger             *slog.Logger
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
	// Score is passed / (passed + failed) as a percentage; 0 when nothing
	// was decided.
	Score float64 `json:"score"`
}

// Evaluate runs a policy's requirements and checks against the host
// described by opts.
func Evaluate(ctx context.Context, p *Policy, opts Options) (*Report, error) {
	if opts.FS == nil {
		return nil, errors.New("baseline: Options.FS is required")
	}
	e := newEvaluator(opts)
	rep := &Report{PolicyID: p.ID, RequirementsMet: true}
	if p.Requirements != nil {
		res, ev := e.condition(ctx, p.Requirements.Condition, p.Requirements.Rules)
		rep.Requirements = ev
		rep.RequirementsMet = res == Passed
	}
	for i := range p.Checks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := &p.Checks[i]
		cr := CheckResult{ID: c.ID, Title: c.Title, Remediation: c.Remediation}
		if !rep.RequirementsMet && !opts.IgnoreRequirements {
			cr.Result, cr.Reason = NotApplicable, "policy requirements not met on this host"
		} else {
			cr.Result, cr.Evidence = e.condition(ctx, c.Condition, c.Rules)
			cr.Reason = reasonFor(cr.Result, c.Condition)
		}
		switch cr.Result {
		case Passed:
			rep.Passed++
		case Failed:
			rep.Failed++
		default:
			rep.NotApplicable++
		}
		rep.Checks = append(rep.Checks, cr)
	}
	if d := rep.Passed + rep.Failed; d > 0 {
		rep.Score = 100 * float64(rep.Passed) / float64(d)
	}
	return rep, nil
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
	opts Options
	log  *slog.Logger
	cmds map[string]cmdOutput // command output cached within one run
}

type cmdOutput struct {
	out []byte
	err error
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
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &evaluator{opts: opts, log: log, cmds: make(map[string]cmdOutput)}
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
		st, ev = e.fileRule(r)
	case RuleDirectory:
		st, ev = e.dirRule(r)
	case RuleProcess:
		st, ev = e.processRule(r)
	case RuleCommand:
		st, ev = e.commandRule(ctx, r)
	default:
		return ruleUnknown, "registry rules apply to Windows hosts only: not applicable on this OS"
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

// fsPath maps an absolute rule path onto the FS.
func fsPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	c := path.Clean(p)
	if c == "/" {
		return ".", true
	}
	return c[1:], true
}

func (e *evaluator) fileRule(r *Rule) (ruleState, string) {
	var notes []string
	for _, t := range r.Targets {
		name, ok := fsPath(t)
		if !ok {
			notes = append(notes, t+": not an absolute path")
			continue
		}
		if r.Content == nil {
			if st, err := fs.Stat(e.opts.FS, name); err == nil && !st.IsDir() {
				return ruleTrue, t + " exists"
			}
			notes = append(notes, t+" does not exist")
			continue
		}
		line, found, err := e.searchFile(name, r.Content)
		if err != nil {
			notes = append(notes, err.Error())
			continue
		}
		if found {
			return ruleTrue, fmt.Sprintf("%s: line %q matched", t, truncate(line, 120))
		}
		notes = append(notes, t+": no line matched")
	}
	return ruleFalse, strings.Join(notes, "; ")
}

func (e *evaluator) dirRule(r *Rule) (ruleState, string) {
	var notes []string
	for _, t := range r.Targets {
		dir, ok := fsPath(t)
		if !ok {
			notes = append(notes, t+": not an absolute path")
			continue
		}
		f, err := e.opts.FS.Open(dir)
		if err != nil {
			notes = append(notes, t+" does not exist")
			continue
		}
		entries, err := readDirLimited(f, e.opts.MaxDirEntries)
		_ = f.Close()
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", t, err))
			continue
		}
		if r.FileName == nil {
			return ruleTrue, t + " exists"
		}
		matchedAny := false
		for _, de := range entries {
			if de.IsDir() || !r.FileName.Match(de.Name()) {
				continue
			}
			matchedAny = true
			full := path.Join(t, de.Name())
			if r.Content == nil {
				return ruleTrue, full + " exists"
			}
			line, found, err := e.searchFile(path.Join(dir, de.Name()), r.Content)
			if err != nil {
				notes = append(notes, err.Error())
				continue
			}
			if found {
				return ruleTrue, fmt.Sprintf("%s: line %q matched", full, truncate(line, 120))
			}
		}
		if !matchedAny {
			notes = append(notes, t+": no file name matched")
		} else {
			notes = append(notes, t+": no line matched in matching files")
		}
	}
	return ruleFalse, strings.Join(notes, "; ")
}

func readDirLimited(f fs.File, limit int) ([]fs.DirEntry, error) {
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, errors.New("not a directory")
	}
	entries, err := rd.ReadDir(limit)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return entries, nil
}

// searchFile reports the first line of the file satisfying expr.
func (e *evaluator) searchFile(name string, expr Expr) (string, bool, error) {
	f, err := e.opts.FS.Open(name)
	if err != nil {
		return "", false, fmt.Errorf("/%s does not exist", name)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return "", false, fmt.Errorf("/%s is a directory", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, e.opts.MaxOutputBytes+1))
	if err != nil {
		return "", false, fmt.Errorf("/%s: %w", name, err)
	}
	if int64(len(data)) > e.opts.MaxOutputBytes {
		data = data[:e.opts.MaxOutputBytes]
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

func (e *evaluator) processRule(r *Rule) (ruleState, string) {
	want := r.Targets[0]
	f, err := e.opts.FS.Open("proc")
	if err != nil {
		return ruleUnknown, "process list unavailable"
	}
	entries, err := readDirLimited(f, 0)
	_ = f.Close()
	if err != nil {
		return ruleUnknown, "process list unavailable"
	}
	for _, de := range entries {
		pid := de.Name()
		if !de.IsDir() || strings.Trim(pid, "0123456789") != "" {
			continue
		}
		if comm, err := fs.ReadFile(e.opts.FS, "proc/"+pid+"/comm"); err == nil && strings.TrimSpace(string(comm)) == want {
			return ruleTrue, "process " + want + " running (pid " + pid + ")"
		}
		cmdline, err := fs.ReadFile(e.opts.FS, "proc/"+pid+"/cmdline")
		if err != nil || len(cmdline) == 0 {
			continue
		}
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		if argv0 == want || path.Base(argv0) == want {
			return ruleTrue, "process " + want + " running (pid " + pid + ")"
		}
	}
	return ruleFalse, "no process named " + want
}

func (e *evaluator) commandRule(ctx context.Context, r *Rule) (ruleState, string) {
	line := r.Targets[0]
	if !e.opts.AllowCommands {
		return ruleUnknown, "command not run: command rules are not allowed"
	}
	argv, err := splitCommand(line)
	if err != nil {
		return ruleUnknown, "command not run: " + err.Error()
	}
	res, ok := e.cmds[line]
	if !ok {
		res.out, res.err = e.run(ctx, argv)
		e.cmds[line] = res
	}
	if res.err != nil {
		return ruleUnknown, "command failed: " + res.err.Error()
	}
	if r.Content == nil {
		return ruleTrue, "command ran"
	}
	if l, found := searchLines(res.out, r.Content); found {
		return ruleTrue, fmt.Sprintf("output line %q matched", truncate(l, 120))
	}
	return ruleFalse, "no output line matched"
}

// run executes argv directly, never through a shell, with a timeout and an
// output cap. A non-zero exit status is not an error: checks often inspect
// the output of commands that report findings through their status.
func (e *evaluator) run(ctx context.Context, argv []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.CommandTimeout)
	defer cancel()
	// #nosec G204 -- argv comes from a policy the operator chose to run with
	// command rules explicitly allowed; no shell interprets it.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out := &capWriter{max: e.opts.MaxOutputBytes}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("timed out after %s", e.opts.CommandTimeout)
	}
	return out.buf.Bytes(), nil
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
