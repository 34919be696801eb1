package detect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits of "test this rule".
const (
	MaxTestSample = 1 << 20
	MaxTestEvents = 1000
)

// TestMatch is one rule firing on one sample line.
type TestMatch struct {
	Line  int    `json:"line"`
	Key   string `json:"rule_key"`
	Title string `json:"rule_title"`
	Level string `json:"level,omitempty"`
	// Correlation is set for a correlation alert.
	Correlation bool `json:"correlation,omitempty"`
}

// TestResult is the outcome of running one rule over sample events.
type TestResult struct {
	Rule    RuleInfo    `json:"rule"`
	Events  int         `json:"events"`
	Matches []TestMatch `json:"matches"`
	// Errors are the sample lines that could not be read.
	Errors []RuleError `json:"errors"`
}

// SampleParser turns one pasted sample line into the fields the engine
// takes (see NewEvent). ParseJSONSample is the default.
type SampleParser func(line []byte) (map[string]any, error)

// ParseJSONSample reads a line as one JSON object.
func ParseJSONSample(line []byte) (map[string]any, error) {
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
	return m, nil
}

// Test runs one rule over sample events given as JSON lines, storing
// nothing: the rule in src when it is not empty (compiled as an upload
// would be; a correlation is resolved against the tenant's rules), else
// the tenant's rule with the given key. parse reads each
// line (nil: the Service's Sample, else ParseJSONSample). Events are taken in order; correlations
// are fed with the matches of the tested rule when key names a
// correlation.
func (s *Service) Test(tenantID string, src []byte, key string, sample []byte, parse SampleParser) (*TestResult, error) {
	if parse == nil {
		parse = s.opts.Sample
	}
	if parse == nil {
		parse = ParseJSONSample
	}
	if len(sample) > MaxTestSample {
		return nil, &RuleError{Reason: fmt.Sprintf("sample is %d bytes, the limit is %d", len(sample), MaxTestSample)}
	}
	var (
		rules []*Rule
		corr  *Correlator
		res   = &TestResult{Matches: []TestMatch{}, Errors: []RuleError{}}
	)
	if len(bytes.TrimSpace(src)) > 0 {
		r, c, err := s.compileAny(src)
		if err != nil {
			return nil, err
		}
		if c != nil {
			s.mu.Lock()
			c, err = s.testCorrelation(tenantID, c, src)
			s.mu.Unlock()
			if err != nil {
				return nil, err
			}
			var corrs []*Correlation
			corrs, rules = corrClosure(c)
			corr = NewCorrelator(corrs, s.opts.Correlator)
			res.Rule = RuleInfo{Key: corrKey(c), ID: c.ID, Title: c.Title, Level: c.Level, Tags: c.Tags, Custom: true, Correlation: true, Enabled: true}
		} else {
			rules = []*Rule{r}
			res.Rule = RuleInfo{Key: RuleKey(r), ID: r.ID, Title: r.Title, Level: r.Level, Tags: r.Tags, LogSource: r.LogSource, Custom: true, Enabled: true}
		}
	} else {
		ri, _, err := s.Rule(tenantID, key)
		if err != nil {
			return nil, err
		}
		res.Rule = ri
		s.mu.Lock()
		if ri.Correlation {
			c := customCorr(s.tenants[tenantID], key)
			for _, b := range s.corrs {
				if corrKey(b) == key {
					c = b
				}
			}
			if c != nil {
				var corrs []*Correlation
				corrs, rules = corrClosure(c)
				corr = NewCorrelator(corrs, s.opts.Correlator)
			}
		} else {
			for _, r := range s.base {
				if RuleKey(r) == key {
					rules = append(rules, r)
				}
			}
			if t := s.tenants[tenantID]; t != nil {
				for _, r := range t.custom {
					if RuleKey(r) == key {
						rules = append(rules, r)
					}
				}
			}
		}
		s.mu.Unlock()
	}
	if res.Rule.Tags == nil {
		res.Rule.Tags = []string{}
	}
	eng := NewEngine(rules)
	sc := bufio.NewScanner(bytes.NewReader(sample))
	sc.Buffer(make([]byte, 64<<10), MaxTestSample)
	var clock time.Time
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if res.Events >= MaxTestEvents {
			res.Errors = append(res.Errors, RuleError{Line: n, Reason: fmt.Sprintf("more than %d events; the rest is not tested", MaxTestEvents)})
			break
		}
		m, err := parse(line)
		if err != nil {
			res.Errors = append(res.Errors, RuleError{Line: n, Reason: err.Error()})
			continue
		}
		res.Events++
		ev := NewEvent(m)
		matched := eng.Match(ev, nil)
		if corr == nil {
			for _, r := range matched {
				res.Matches = append(res.Matches, TestMatch{Line: n, Key: RuleKey(r), Title: r.Title, Level: r.Level})
			}
			continue
		}
		if t, ok := EventTime(ev); ok {
			clock = t
		}
		for _, a := range corr.Process(ev, clock, matched) {
			if a.Correlation() != nil && corrKey(a.Correlation()) != res.Rule.Key && !corr.Standalone(a.Correlation()) {
				continue
			}
			res.Matches = append(res.Matches, TestMatch{Line: n, Key: corrKey(a.Correlation()), Title: a.RuleTitle, Level: a.Level, Correlation: true})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &RuleError{Reason: "sample: " + err.Error()}
	}
	return res, nil
}

var (
	yamlLine = regexp.MustCompile(`line (\d+)`)
	quoted   = regexp.MustCompile(`"([^"]+)"`)
)

// errorLine finds the line of src an error from compiling it concerns:
// the line a YAML error names, else the deepest key named in the error
// (quoted names first, then detection, condition or logsource), else 1.
func errorLine(src []byte, err error) int {
	msg := err.Error()
	if strings.Contains(msg, "yaml:") {
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil {
				return n
			}
		}
	}
	var root yaml.Node
	if yaml.Unmarshal(src, &root) != nil || len(root.Content) == 0 {
		return 1
	}
	node := root.Content[0]
	line := 0
	// Walk down through the names the message quotes, in order.
	for _, m := range quoted.FindAllStringSubmatch(msg, -1) {
		if k, v := findKey(node, m[1], 4); k != nil {
			line, node = k.Line, v
		}
	}
	if line > 0 {
		return line
	}
	for _, k := range []string{"condition", "detection", "logsource", "level", "status", "tags", "id", "title"} {
		if strings.Contains(msg, k) {
			if n := keyLine(src, k); n > 0 {
				return n
			}
		}
	}
	return 1
}

// keyLine is the line of the first mapping key named k, 0 when none.
func keyLine(src []byte, k string) int {
	var root yaml.Node
	if yaml.Unmarshal(src, &root) != nil || len(root.Content) == 0 {
		return 0
	}
	if kn, _ := findKey(root.Content[0], k, 4); kn != nil {
		return kn.Line
	}
	return 0
}

// findKey searches mappings under n, breadth first to the given depth,
// for a key named k, or a field key with k as its name or one of its
// modifiers (Image|endswith).
func findKey(n *yaml.Node, k string, depth int) (*yaml.Node, *yaml.Node) {
	level := []*yaml.Node{n}
	for d := 0; d <= depth && len(level) > 0; d++ {
		var next []*yaml.Node
		for _, x := range level {
			switch x.Kind {
			case yaml.MappingNode:
				for i := 0; i+1 < len(x.Content); i += 2 {
					name := x.Content[i].Value
					if name == k || slices.Contains(strings.Split(name, "|"), k) {
						return x.Content[i], x.Content[i+1]
					}
					next = append(next, x.Content[i+1])
				}
			case yaml.SequenceNode, yaml.DocumentNode:
				next = append(next, x.Content...)
			}
		}
		level = next
	}
	return nil, nil
}
