package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/detect"
)

// maxEventLine bounds one JSON line of detect's input.
const maxEventLine = 1 << 20

// minLoadRate is the share of rules --check requires to load.
const minLoadRate = 99.0

// newDetectCmd builds "vigil detect": run Sigma rules over JSON-lines
// events offline, or check that a rule tree loads.
func newDetectCmd() *cobra.Command {
	var (
		ruleDirs  []string
		pipelines []string
		check     bool
	)
	cmd := &cobra.Command{
		Use:   "detect --rules DIR [--check] [FILE...]",
		Short: "Run Sigma rules over JSON-lines events, or check a rule tree",
		Long: `detect loads the Sigma rules under each --rules directory and reads events as
JSON lines (one object per line) from each FILE, or standard input when no FILE
is given or FILE is "-". An input that starts with the EVTX signature
("ElfFile") is read as a Windows event log file instead (at most 256 MiB): each
record is one event, rendered as the JSON a Windows export gives ({"Event":
{"System": …, "EventData": …}}); damaged records are reported on standard
error and skipped. It writes one JSON line per match: rule_id, rule_title,
level, tags and the event. Malformed or oversized (> 1 MiB) lines are reported
on standard error with their file and line, counted, and skipped.

An event's logsource is taken from a top-level "logsource" object
({"product":"linux","category":"process_creation"}) or derived from the Windows
Channel and EventID; rules only see events of their logsource.

Sigma correlation rules in the rule tree are evaluated over the matches in input
order (files in the order given, lines in file order). Each correlation alert is
a JSON line with "correlation": true, rule_id, rule_title, level, type, group
(the group-by values), rules (the referenced rules that contributed), count,
values (value_count), value (value_sum, value_avg), first and last. An event's
time is taken from @timestamp, timestamp, UtcTime, TimeCreated, EventTime or
time (see detect.EventTime); an event without one takes the time of the event
before it, and an event earlier than one before it is taken at that later time.
Matches of rules referenced only by correlations without "generate: true" are
not written on their own. Correlation state is kept in memory for the run only.

Before they are compiled, rules go through Vigil's default processing
pipeline (Sigma field names mapped onto the names Vigil's parsers produce)
and each --pipeline file in pySigma's pipeline YAML format (field name and
prefix mappings, added conditions, logsource changes, string replacement,
dropped detection items, value placeholders), lowest priority first.

With --check, detect prints every rule that cannot be loaded with its file and
reason (correlation rules included: unknown references, cycles, unsupported
types), then the counts, and exits 1 when fewer than 99% of the rules load.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(ruleDirs) == 0 {
				return errors.New("detect: --rules DIR is required")
			}
			set, err := pipelineSet(pipelines)
			if err != nil {
				return err
			}
			res, err := loadRuleDirs(set, ruleDirs)
			if err != nil {
				return err
			}
			if check {
				if len(args) > 0 {
					return errors.New("detect: --check takes no FILE")
				}
				return reportCheck(cmd.OutOrStdout(), res)
			}
			for _, e := range res.Errors {
				fmt.Fprintf(cmd.ErrOrStderr(), "rule not loaded: %s\n", e)
			}
			corr := detect.NewCorrelator(res.Correlations, detect.CorrelatorOptions{})
			return runDetect(cmd, detect.NewEngine(res.Rules), corr, args)
		},
	}
	cmd.Flags().StringArrayVar(&ruleDirs, "rules", nil, "directory of Sigma rules (repeatable)")
	cmd.Flags().StringArrayVar(&pipelines, "pipeline", nil, "Sigma processing pipeline YAML applied after the default one (repeatable)")
	cmd.Flags().BoolVar(&check, "check", false, "load the rules, print every rejection and the counts, run no events")
	return cmd
}

// pipelineSet is the default pipeline plus the named pipeline files.
func pipelineSet(files []string) (*detect.PipelineSet, error) {
	def, err := detect.DefaultPipeline()
	if err != nil {
		return nil, err
	}
	ps := []*detect.Pipeline{def}
	for _, f := range files {
		p, err := detect.LoadPipelineFile(os.DirFS(filepath.Dir(f)), filepath.Base(f))
		if err != nil {
			return nil, fmt.Errorf("detect: --pipeline %s: %w", f, err)
		}
		ps = append(ps, p)
	}
	return detect.NewPipelineSet(ps...), nil
}

func loadRuleDirs(set *detect.PipelineSet, dirs []string) (*detect.LoadResult, error) {
	all := &detect.LoadResult{}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("detect: rules: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("detect: rules: %s is not a directory", dir)
		}
		res, err := set.LoadFS(os.DirFS(dir), ".")
		if err != nil {
			return nil, fmt.Errorf("detect: %w", err)
		}
		for _, r := range res.Rules {
			r.Path = filepath.Join(dir, r.Path)
		}
		for _, e := range res.Errors {
			e.Path = filepath.Join(dir, e.Path)
		}
		for _, c := range res.Correlations {
			c.Path = filepath.Join(dir, c.Path)
		}
		all.Rules = append(all.Rules, res.Rules...)
		all.Errors = append(all.Errors, res.Errors...)
		all.Correlations = append(all.Correlations, res.Correlations...)
	}
	// References may cross directories: resolve the merged set.
	all.Resolve()
	return all, nil
}

func reportCheck(w io.Writer, res *detect.LoadResult) error {
	for _, e := range res.Errors {
		fmt.Fprintf(w, "%s\n", e)
	}
	total := len(res.Rules) + len(res.Errors) + len(res.Correlations)
	rate := 0.0
	if total > 0 {
		rate = 100 * float64(len(res.Rules)+len(res.Correlations)) / float64(total)
	}
	fmt.Fprintf(w, "loaded %d, rejected %d, correlation %d loaded, total %d: %.2f%% loaded\n",
		len(res.Rules), len(res.Errors), len(res.Correlations), total, rate)
	if total == 0 || rate < minLoadRate {
		return codeError{code: 1, err: fmt.Errorf("detect: %.2f%% of rules loaded, below %.0f%%", rate, minLoadRate)}
	}
	return nil
}

// match is one output line.
type match struct {
	RuleID    string         `json:"rule_id"`
	RuleTitle string         `json:"rule_title"`
	Level     string         `json:"level"`
	Tags      []string       `json:"tags"`
	Event     map[string]any `json:"event"`
}

// corrMatch is one output line of a correlation alert.
type corrMatch struct {
	Correlation bool `json:"correlation"`
	*detect.CorrelationAlert
}

type detectStats struct {
	events, matches, malformed, alerts int
	// clock is the time of the latest event, for events without one.
	clock time.Time
}

func runDetect(cmd *cobra.Command, eng *detect.Engine, corr *detect.Correlator, files []string) error {
	if len(files) == 0 {
		files = []string{"-"}
	}
	out := bufio.NewWriter(cmd.OutOrStdout())
	enc := json.NewEncoder(out)
	stderr := cmd.ErrOrStderr()
	var st detectStats
	for _, name := range files {
		var r io.Reader
		if name == "-" {
			r = cmd.InOrStdin()
		} else {
			f, err := os.Open(name) // #nosec G304 -- the operator names the files to scan
			if err != nil {
				return fmt.Errorf("detect: %w", err)
			}
			r = f
			defer func() { _ = f.Close() }()
		}
		if err := detectInput(r, name, eng, corr, enc, stderr, &st); err != nil {
			_ = out.Flush()
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("detect: write: %w", err)
	}
	fmt.Fprintf(stderr, "detect: %d events, %d matches, %d correlation alerts, %d malformed lines\n", st.events, st.matches, st.alerts, st.malformed)
	if cs := corr.Stats(); cs.DroppedMatches+cs.DroppedEntries+cs.LateEvents+cs.NonNumeric > 0 {
		fmt.Fprintf(stderr, "detect: correlation: %d matches dropped (group limit), %d evicted (entry limit), %d late events, %d non-numeric values\n",
			cs.DroppedMatches, cs.DroppedEntries, cs.LateEvents, cs.NonNumeric)
	}
	return nil
}

func detectStream(r io.Reader, name string, eng *detect.Engine, corr *detect.Correlator, enc *json.Encoder, stderr io.Writer, st *detectStats) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var rules []*detect.Rule
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(br, maxEventLine)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("detect: read %s: %w", name, err)
		}
		atEOF := errors.Is(err, io.EOF)
		switch {
		case tooLong:
			st.malformed++
			fmt.Fprintf(stderr, "%s:%d: line longer than %d bytes, skipped\n", name, lineNo, maxEventLine)
		case len(bytes.TrimSpace(line)) > 0:
			ev, perr := parseEventLine(line)
			if perr != nil {
				st.malformed++
				fmt.Fprintf(stderr, "%s:%d: %v, skipped\n", name, lineNo, perr)
				break
			}
			var err error
			if rules, err = detectOne(ev, eng, corr, enc, st, rules); err != nil {
				return err
			}
		}
		if atEOF {
			return nil
		}
	}
}

// detectOne matches one event, writes its matches and feeds the
// correlations. rules is scratch space, returned for reuse.
func detectOne(ev *detect.Event, eng *detect.Engine, corr *detect.Correlator, enc *json.Encoder, st *detectStats, rules []*detect.Rule) ([]*detect.Rule, error) {
	st.events++
	rules = eng.Match(ev, rules[:0])
	for _, rule := range rules {
		if !corr.Standalone(rule) {
			continue
		}
		st.matches++
		m := match{RuleID: rule.ID, RuleTitle: rule.Title, Level: rule.Level, Tags: rule.Tags, Event: ev.Raw}
		if m.Tags == nil {
			m.Tags = []string{}
		}
		if err := enc.Encode(m); err != nil {
			return rules, fmt.Errorf("detect: write: %w", err)
		}
	}
	if len(corr.Correlations()) == 0 {
		return rules, nil
	}
	if t, ok := detect.EventTime(ev); ok {
		st.clock = t
	}
	for _, a := range corr.Process(ev, st.clock, rules) {
		if !corr.Standalone(a.Correlation()) {
			continue
		}
		st.alerts++
		if a.Tags == nil {
			a.Tags = []string{}
		}
		if err := enc.Encode(corrMatch{Correlation: true, CorrelationAlert: a}); err != nil {
			return rules, fmt.Errorf("detect: write: %w", err)
		}
	}
	return rules, nil
}

func parseEventLine(line []byte) (*detect.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	return detect.NewEvent(m), nil
}

// readLine returns the next line without its newline. A line longer than
// limit is consumed and reported with tooLong set. err is io.EOF at the
// end of input (line may still hold a final unterminated line).
func readLine(br *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > limit+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if len(buf) > limit {
			tooLong, buf = true, nil
		}
		return buf, tooLong, err
	}
}
