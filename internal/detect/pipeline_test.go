package detect

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// mustPipeline parses a pipeline or fails the test.
func mustPipeline(t *testing.T, name, text string) *Pipeline {
	t.Helper()
	p, err := ParsePipeline(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// matchWith compiles rule through the pipelines and reports whether it
// matches each event (logsource routing included).
func matchWith(t *testing.T, rule string, ps []*Pipeline, events ...map[string]any) []bool {
	t.Helper()
	r, err := NewPipelineSet(ps...).ParseRule([]byte(rule))
	if err != nil {
		t.Fatal(err)
	}
	var out []bool
	for _, e := range events {
		ev := NewEvent(e)
		out = append(out, Routes(r.LogSource, ev.Source) && r.Matches(ev))
	}
	return out
}

const procRule = `title: whoami
id: 00000000-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  selection:
    EventID: 1
    CommandLine|contains: whoami
  condition: selection
`

func procEvent(fields map[string]any) map[string]any {
	fields["logsource"] = map[string]any{"product": "windows", "category": "process_creation"}
	return fields
}

// TestFieldNameMapping follows the worked example of pySigma's pipeline
// documentation: EventID is renamed to EventCode, and CommandLine mapped
// to command_line and cmdline matches the value on either field.
func TestFieldNameMapping(t *testing.T) {
	p := mustPipeline(t, "map.yml", `name: doc example
transformations:
  - type: field_name_mapping
    mapping:
      EventID: EventCode
      CommandLine:
        - command_line
        - cmdline
`)
	got := matchWith(t, procRule, []*Pipeline{p},
		procEvent(map[string]any{"EventCode": 1, "command_line": "whoami /all"}),
		procEvent(map[string]any{"EventCode": 1, "cmdline": "whoami /all"}),
		procEvent(map[string]any{"EventID": 1, "CommandLine": "whoami /all"}), // old names are gone
		procEvent(map[string]any{"EventCode": 2, "cmdline": "whoami /all"}),
	)
	if want := []bool{true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
}

func TestFieldNameMappingConditions(t *testing.T) {
	p := mustPipeline(t, "cond.yml", `name: conditional
transformations:
  - type: field_name_mapping
    mapping: {CommandLine: cmd}
    rule_conditions:
      - type: logsource
        product: linux
  - type: field_name_mapping
    mapping: {EventID: id}
    field_name_conditions:
      - type: exclude_fields
        fields: [EventID]
`)
	// Neither applies: the rule is not linux, and EventID is excluded.
	got := matchWith(t, procRule, []*Pipeline{p},
		procEvent(map[string]any{"EventID": 1, "CommandLine": "whoami"}),
		procEvent(map[string]any{"id": 1, "cmd": "whoami"}))
	if want := []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
}

func TestFieldNamePrefixMapping(t *testing.T) {
	p := mustPipeline(t, "prefix.yml", `name: prefix
transformations:
  - type: field_name_prefix_mapping
    mapping:
      Command: process.command_
      Event: winlog.event_
`)
	got := matchWith(t, procRule, []*Pipeline{p},
		procEvent(map[string]any{"winlog.event_ID": 1, "process.command_Line": "whoami"}),
		procEvent(map[string]any{"EventID": 1, "CommandLine": "whoami"}))
	if want := []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
}

func TestAddCondition(t *testing.T) {
	for _, tc := range []struct {
		negated string
		want    []bool
	}{{"false", []bool{true, false}}, {"true", []bool{false, true}}} {
		p := mustPipeline(t, "add.yml", `name: add
transformations:
  - type: add_condition
    negated: `+tc.negated+`
    conditions:
      Channel: Microsoft-Windows-Sysmon/Operational
`)
		// The added selection must stay out of the rule's own name
		// patterns: "all of *" means the rule's selections only.
		for _, rule := range []string{procRule, strings.Replace(procRule, "condition: selection", "condition: all of *", 1)} {
			got := matchWith(t, rule, []*Pipeline{p},
				procEvent(map[string]any{"EventID": 1, "CommandLine": "whoami", "Channel": "Microsoft-Windows-Sysmon/Operational"}),
				procEvent(map[string]any{"EventID": 1, "CommandLine": "whoami", "Channel": "Security"}))
			if !slices.Equal(got, tc.want) {
				t.Errorf("negated %s: matches %v, want %v", tc.negated, got, tc.want)
			}
		}
	}
}

func TestChangeLogsource(t *testing.T) {
	p := mustPipeline(t, "ls.yml", `name: ls
transformations:
  - type: change_logsource
    product: linux
    service: auditd
    rule_conditions:
      - type: logsource
        category: process_creation
`)
	r, err := NewPipelineSet(p).ParseRule([]byte(procRule))
	if err != nil {
		t.Fatal(err)
	}
	if want := (LogSource{Product: "linux", Service: "auditd"}); r.LogSource != want {
		t.Errorf("logsource %+v, want %+v", r.LogSource, want)
	}
}

func TestReplaceString(t *testing.T) {
	p := mustPipeline(t, "rs.yml", `name: rs
transformations:
  - type: replace_string
    regex: "^\\\\Device\\\\HarddiskVolume\\d+"
    replacement: "C:"
    skip_special: true
`)
	rule := `title: path
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image: '\Device\HarddiskVolume3\Windows\Sys*\cmd.exe'
  condition: selection
`
	got := matchWith(t, rule, []*Pipeline{p},
		procEvent(map[string]any{"Image": `C:\Windows\System32\cmd.exe`}),
		procEvent(map[string]any{"Image": `\Device\HarddiskVolume3\Windows\System32\cmd.exe`}))
	if want := []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
}

func TestDropDetectionItem(t *testing.T) {
	p := mustPipeline(t, "drop.yml", `name: drop
transformations:
  - type: drop_detection_item
    field_name_conditions:
      - type: include_fields
        fields: [EventID]
`)
	got := matchWith(t, procRule, []*Pipeline{p},
		procEvent(map[string]any{"CommandLine": "whoami"}),
		procEvent(map[string]any{"EventID": 1, "CommandLine": "hostname"}))
	if want := []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
}

func TestDetectionItemConditions(t *testing.T) {
	p := mustPipeline(t, "di.yml", `name: di
transformations:
  - type: replace_string
    regex: who
    replacement: WHO
    detection_item_conditions:
      - type: match_string
        pattern: ^who
  - type: drop_detection_item
    detection_item_conditions:
      - type: is_null
`)
	rule := `title: null and strings
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|cased: whoami
    ParentImage: null
    User|cased: whoever
  condition: selection
`
	got := matchWith(t, rule, []*Pipeline{p},
		procEvent(map[string]any{"CommandLine": "WHOami", "User": "WHOever", "ParentImage": "x"}),
		procEvent(map[string]any{"CommandLine": "whoami", "User": "whoever"}))
	if want := []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
}

func TestValuePlaceholders(t *testing.T) {
	p := mustPipeline(t, "ph.yml", `name: ph
vars:
  admins: [alice, bob]
  domain: CORP
transformations:
  - type: value_placeholders
    include: [admins, domain]
`)
	rule := `title: admin
logsource: {product: windows, category: process_creation}
detection:
  selection:
    User|expand: '%domain%\%admins%'
  condition: selection
`
	got := matchWith(t, rule, []*Pipeline{p},
		procEvent(map[string]any{"User": `CORP\bob`}),
		procEvent(map[string]any{"User": `CORP\alice`}),
		procEvent(map[string]any{"User": `CORP\mallory`}))
	if want := []bool{true, true, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
	// Without the pipeline, expand is refused by the engine.
	if _, err := ParseRule([]byte(rule)); err == nil {
		t.Error("expand without a pipeline loaded")
	}
}

// TestPipelinePriority applies a prefix pipeline declared second but with
// the lower priority first: the higher-priority mapping then sees its
// output.
func TestPipelinePriority(t *testing.T) {
	late := mustPipeline(t, "late.yml", `name: late
priority: 50
transformations:
  - type: field_name_mapping
    mapping: {proc.cmd: process.command_line}
`)
	early := mustPipeline(t, "early.yml", `name: early
priority: 10
transformations:
  - type: field_name_mapping
    mapping: {CommandLine: proc.cmd, EventID: event.code}
`)
	set := NewPipelineSet(late, early)
	if got := set.Pipelines(); got[0] != early || got[1] != late {
		t.Fatalf("order %s, %s", got[0].Name, got[1].Name)
	}
	got := matchWith(t, procRule, []*Pipeline{late, early},
		procEvent(map[string]any{"event.code": 1, "process.command_line": "whoami"}),
		procEvent(map[string]any{"event.code": 1, "proc.cmd": "whoami"}))
	if want := []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
}

// lineOf is the 1-based line of the first line of text containing s.
func lineOf(text, s string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}

func TestPipelineUnsupported(t *testing.T) {
	for _, tc := range []struct{ name, text, at, msg string }{
		{"type", "name: x\ntransformations:\n  - type: field_name_mapping\n    mapping: {a: b}\n  - type: map_string\n    mapping: {a: b}\n", "map_string", `transformation type "map_string" is not supported`},
		{"rulecond", "name: x\ntransformations:\n  - type: drop_detection_item\n    rule_conditions:\n      - type: processing_item_applied\n        processing_item_id: x\n", "processing_item_applied", `rule condition type "processing_item_applied" is not supported`},
		{"param", "name: x\ntransformations:\n  - type: change_logsource\n    colour: blue\n", "colour", `parameter "colour" is not supported`},
		{"finalizers", "name: x\ntransformations: []\nfinalizers:\n  - type: concat\n", "finalizers", "finalizers is not supported"},
		{"regex", "name: x\ntransformations:\n  - type: replace_string\n    regex: '('\n    replacement: y\n", "regex:", "replace_string regex"},
	} {
		_, err := ParsePipeline("testdata/pipelines/bad.yml", []byte(tc.text))
		var pe *PipelineError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v, want a PipelineError", tc.name, err)
			continue
		}
		if want := lineOf(tc.text, tc.at); pe.File != "testdata/pipelines/bad.yml" || pe.Line != want || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%s: got %q, want line %d and %q", tc.name, err, want, tc.msg)
		}
	}
}

// TestPipelineBreaksRule checks that a pipeline leaving a rule unusable
// says which pipeline, transformation and selection.
func TestPipelineBreaksRule(t *testing.T) {
	data, err := os.ReadFile("testdata/pipelines/drop_all.yml")
	if err != nil {
		t.Fatal(err)
	}
	drop, err := ParsePipeline("testdata/pipelines/drop_all.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPipelineSet(drop).ParseRule([]byte(procRule))
	if err == nil {
		t.Fatal("rule with every item dropped loaded")
	}
	for _, want := range []string{`pipeline "drop everything"`, "testdata/pipelines/drop_all.yml:" + strconv.Itoa(lineOf(string(data), "id: drop_all")), `selection "selection"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	missing := mustPipeline(t, "ph.yml", "name: ph\ntransformations:\n  - type: value_placeholders\n")
	_, err = NewPipelineSet(missing).ParseRule([]byte(strings.Replace(procRule, "CommandLine|contains: whoami", "User|expand: '%admins%'", 1)))
	if err == nil || !strings.Contains(err.Error(), "%admins%") {
		t.Errorf("missing placeholder: %v", err)
	}
	ref := mustPipeline(t, "ref.yml", "name: ref\ntransformations:\n  - type: field_name_mapping\n    mapping: {ParentImage: [a, b]}\n")
	_, err = NewPipelineSet(ref).ParseRule([]byte(strings.Replace(procRule, "CommandLine|contains: whoami", "Image|fieldref|all: [ParentImage, User]", 1)))
	if err == nil || !strings.Contains(err.Error(), "field reference needs exactly one") {
		t.Errorf("fieldref to a one-to-many mapping: %v", err)
	}
}

func TestDefaultPipelineParses(t *testing.T) {
	p, err := DefaultPipeline()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name == "" || len(p.items) == 0 {
		t.Errorf("default pipeline %q has %d transformations", p.Name, len(p.items))
	}
}

// TestDefaultPipelineWebserver runs a corpus web server rule through the
// default pipeline on an access log line parsed by internal/logs: the
// parser names the user agent c-useragent and user_agent.original, the
// rule cs-user-agent, so only the mapped rule fires.
func TestDefaultPipelineWebserver(t *testing.T) {
	testenv.RequireCorpus(t, corpusDir)
	data, err := os.ReadFile(filepath.Join(corpusDir, "rules/web/webserver_generic/web_susp_useragents.yml"))
	if err != nil {
		t.Fatal(err)
	}
	def, err := DefaultPipeline()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ParseRule(data)
	if err != nil {
		t.Fatal(err)
	}
	mapped, err := NewPipelineSet(def).ParseRule(data)
	if err != nil {
		t.Fatal(err)
	}
	parser, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	line := `203.0.113.7 - - [29/Nov/2026:08:00:00 +0000] "GET /index.php?id=1 HTTP/1.1" 200 512 "-" "sqlmap/1.7.2#stable (https://sqlmap.org)"`
	le, err := parser.Parse([]byte(line), logs.Meta{Received: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvent(le.DetectFields())
	if !Routes(mapped.LogSource, ev.Source) {
		t.Fatalf("access log event not routed to a webserver rule: %+v", ev.Source)
	}
	if plain.Matches(ev) {
		t.Error("rule matched without the pipeline; the test no longer shows the mapping")
	}
	if !mapped.Matches(ev) {
		t.Error("rule did not match through the default pipeline")
	}
}

// TestDefaultPipelineCorpus loads the corpus rules through the default
// pipeline, alone and with the Windows ECS pipeline: the load count must not drop and every regression case must
// still fire its rule, with indexed and naive matching agreeing.
func TestDefaultPipelineCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus load in -short")
	}
	def, err := DefaultPipeline()
	if err != nil {
		t.Fatal(err)
	}
	win, err := WindowsECSPipeline()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("default", func(t *testing.T) { checkCorpusThrough(t, NewPipelineSet(def)) })
	t.Run("default+windows-ecs", func(t *testing.T) { checkCorpusThrough(t, NewPipelineSet(win, def)) })
}

func checkCorpusThrough(t *testing.T, set *PipelineSet) {
	base := loadCorpus(t)
	var rules []*Rule
	var errs []*LoadError
	for _, tree := range ruleTrees {
		res, err := set.LoadFS(os.DirFS(filepath.Join(corpusDir, tree)), ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Errors {
			e.Path = tree + "/" + e.Path
		}
		rules = append(rules, res.Rules...)
		errs = append(errs, res.Errors...)
	}
	t.Logf("through the pipelines: %d rules loaded, %d rejected (without: %d loaded)", len(rules), len(errs), len(base.rules))
	before := map[string]bool{}
	for _, e := range base.errs {
		before[e.Path] = true
	}
	for _, e := range errs {
		if !before[e.Path] {
			t.Errorf("rejected because of the pipeline: %s", e)
		}
	}
	if len(rules) < len(base.rules) {
		t.Errorf("%d rules load through the pipeline, %d without", len(rules), len(base.rules))
	}
	eng := NewEngine(rules)
	cases := regressionCases(t)
	pass := 0
	for _, tc := range cases {
		ok := false
		for _, f := range tc.events {
			for _, ev := range readEvents(t, f) {
				got := eng.Match(ev, nil)
				if slices.ContainsFunc(got, func(r *Rule) bool { return r.ID == tc.ruleID }) {
					ok = true
				}
				if !sameRules(got, eng.MatchNaive(ev, nil)) {
					t.Errorf("%s: indexed and naive matching disagree", tc.dir)
				}
			}
		}
		if ok {
			pass++
		} else {
			t.Errorf("%s: rule %s does not fire through the pipelines", tc.dir, tc.ruleID)
		}
	}
	t.Logf("regression cases through the pipelines: %d of %d fire their rule", pass, len(cases))
}

// TestWindowsECSPipeline takes the corpus's Sysmon process creation
// regression events as Vigil's Windows parser gives them, removes the
// Sigma names the ECS aliases duplicate, and checks that each case's rule
// fires through the Windows ECS pipeline when it no longer fires without.
func TestWindowsECSPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus load in -short")
	}
	c := loadCorpus(t)
	win, err := WindowsECSPipeline()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Rule{}
	for _, r := range c.rules {
		byID[r.ID] = r
	}
	parser, err := logs.NewRegistry().Lookup("windows")
	if err != nil {
		t.Fatal(err)
	}
	sigmaNames := []string{"Image", "CommandLine", "ParentImage", "ParentCommandLine"}
	tested := 0
	for _, tc := range regressionCases(t) {
		rule := byID[tc.ruleID]
		if rule == nil || rule.LogSource.Category != "process_creation" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(corpusDir, rule.Path))
		if err != nil {
			t.Fatal(err)
		}
		mapped, err := NewPipelineSet(win).ParseRule(data)
		if err != nil {
			t.Fatalf("%s: %v", rule.Path, err)
		}
		for _, f := range tc.events {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			le, err := parser.Parse(raw, logs.Meta{Received: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)})
			if err != nil {
				continue // JSON lines with several events: not this parser's shape
			}
			fields := le.DetectFields()
			full := NewEvent(fields)
			if !rule.Matches(full) {
				continue // a context event of the case
			}
			for _, k := range sigmaNames {
				delete(fields, k)
			}
			ecs := NewEvent(fields)
			if rule.Matches(ecs) {
				continue // the rule does not depend on the removed names
			}
			tested++
			if !Routes(mapped.LogSource, ecs.Source) || !mapped.Matches(ecs) {
				t.Errorf("%s: rule %s does not fire on the ECS-only event through the Windows ECS pipeline", tc.dir, rule.Path)
			}
		}
	}
	t.Logf("%d ECS-only process creation events checked", tested)
	if tested == 0 {
		t.Error("no regression case exercised the Windows ECS pipeline")
	}
}
