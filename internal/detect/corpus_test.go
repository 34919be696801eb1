package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
	"go.yaml.in/yaml/v3"
)

// corpusDir is the shared Sigma corpus, relative to this package.
const corpusDir = "../../../shared/corpus/sigma"

var ruleTrees = []string{"rules", "rules-emerging-threats", "rules-threat-hunting"}

type corpus struct {
	rules  []*Rule
	errs   []*LoadError
	corr   []*Correlation
	engine *Engine
}

var (
	corpusOnce sync.Once
	corpusVal  *corpus
	corpusErr  error
)

func loadCorpus(tb testing.TB) *corpus {
	tb.Helper()
	testenv.RequireCorpus(tb, corpusDir)
	corpusOnce.Do(func() {
		c := &corpus{}
		for _, tree := range ruleTrees {
			res, err := LoadDir(filepath.Join(corpusDir, tree))
			if err != nil {
				corpusErr = err
				return
			}
			for _, r := range res.Rules {
				r.Path = tree + "/" + r.Path
			}
			for _, e := range res.Errors {
				e.Path = tree + "/" + e.Path
			}
			c.rules = append(c.rules, res.Rules...)
			c.errs = append(c.errs, res.Errors...)
			c.corr = append(c.corr, res.Correlations...)
		}
		ok, errs := ResolveCorrelations(c.rules, c.corr)
		c.corr = ok
		c.errs = append(c.errs, errs...)
		c.engine = NewEngine(c.rules)
		corpusVal = c
	})
	if corpusErr != nil {
		tb.Fatal(corpusErr)
	}
	return corpusVal
}

func TestCorpusLoads(t *testing.T) {
	c := loadCorpus(t)
	total := len(c.rules) + len(c.errs) + len(c.corr)
	rate := 100 * float64(len(c.rules)+len(c.corr)) / float64(total)
	t.Logf("rules: %d files, %d loaded, %d rejected, %d correlation loaded; load rate %.2f%%",
		total, len(c.rules), len(c.errs), len(c.corr), rate)
	reasons := map[string]int{}
	for _, e := range c.errs {
		t.Logf("rejected %s", e)
		reasons[reasonClass(e.Reason.Error())]++
	}
	type kv struct {
		k string
		n int
	}
	var top []kv
	for k, n := range reasons {
		top = append(top, kv{k, n})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].n > top[j].n || top[i].n == top[j].n && top[i].k < top[j].k })
	for _, r := range top {
		t.Logf("top rejection reason: %4d × %s", r.n, r.k)
	}
	if total < 3000 {
		t.Errorf("only %d rule files found; corpus incomplete?", total)
	}
	if rate < 99 {
		t.Errorf("load rate %.2f%% below 99%%", rate)
	}
}

// reasonClass strips rule-specific detail (quoted names) from a reason.
func reasonClass(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		if r == '"' {
			in = !in
			if in {
				b.WriteString(`"…"`)
			}
			continue
		}
		if !in {
			b.WriteRune(r)
		}
	}
	return b.String()
}

type regressionCase struct {
	dir    string
	ruleID string
	events []string
}

func regressionCases(tb testing.TB) []regressionCase {
	tb.Helper()
	root := filepath.Join(corpusDir, "regression_data")
	var cases []regressionCase
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "info.yml" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var info struct {
			RuleMetadata []struct {
				ID string `yaml:"id"`
			} `yaml:"rule_metadata"`
		}
		if err := yaml.Unmarshal(data, &info); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if len(info.RuleMetadata) == 0 {
			return fmt.Errorf("%s: no rule_metadata", p)
		}
		dir := filepath.Dir(p)
		events, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(events) == 0 {
			return nil
		}
		rel, _ := filepath.Rel(root, dir)
		cases = append(cases, regressionCase{dir: filepath.ToSlash(rel), ruleID: info.RuleMetadata[0].ID, events: events})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cases
}

// readEvents decodes every JSON value in a file (one pretty-printed
// object, or JSON lines).
func readEvents(tb testing.TB, file string) []*Event {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []*Event
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		out = append(out, NewEvent(m))
	}
	return out
}

func TestRegressionData(t *testing.T) {
	c := loadCorpus(t)
	cases := regressionCases(t)
	if len(cases) == 0 {
		t.Fatal("no regression cases found")
	}
	var failed []string
	pass := 0
	for _, tc := range cases {
		// A case holds the events of one attack; some of them are
		// context (a temporary file before the one the rule names), so
		// the case passes when its rule fires on at least one event.
		ok := false
		for _, f := range tc.events {
			for _, ev := range readEvents(t, f) {
				got := c.engine.Match(ev, nil)
				if slices.ContainsFunc(got, func(r *Rule) bool { return r.ID == tc.ruleID }) {
					ok = true
				}
				naive := c.engine.MatchNaive(ev, nil)
				if !sameRules(got, naive) {
					t.Errorf("%s: indexed and naive matching disagree: %d vs %d rules", tc.dir, len(got), len(naive))
				}
			}
		}
		if ok {
			pass++
		} else {
			failed = append(failed, tc.dir+" (rule "+tc.ruleID+")")
		}
	}
	t.Logf("regression cases: %d of %d fire their rule", pass, len(cases))
	for _, f := range failed {
		t.Logf("not firing: %s", f)
	}
	if len(failed) > 0 {
		t.Errorf("%d regression cases did not fire their rule", len(failed))
	}
}

func sameRules(a, b []*Rule) bool {
	if len(a) != len(b) {
		return false
	}
	ids := func(rs []*Rule) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.Path + r.ID
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b))
}
