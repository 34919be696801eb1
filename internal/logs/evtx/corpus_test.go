package evtx

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// corpusDir is the shared test corpus, relative to this package.
const corpusDir = "../../../../shared/corpus"

// evtxCase is one regression case holding an .evtx file and the JSON
// export of the same events.
type evtxCase struct {
	evtx, json, ruleID string
}

func evtxCases(tb testing.TB) []evtxCase {
	tb.Helper()
	root := testenv.RequireCorpus(tb, filepath.Join(corpusDir, "sigma/regression_data"))
	var cases []evtxCase
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".evtx") {
			return err
		}
		info, err := os.ReadFile(filepath.Join(filepath.Dir(path), "info.yml"))
		if err != nil {
			return err
		}
		var meta struct {
			Rules []struct {
				ID string `yaml:"id"`
			} `yaml:"rule_metadata"`
		}
		if err := yaml.Unmarshal(info, &meta); err != nil || len(meta.Rules) == 0 {
			tb.Errorf("%s: info.yml: %v", path, err)
			return nil
		}
		cases = append(cases, evtxCase{evtx: path, json: strings.TrimSuffix(path, ".evtx") + ".json", ruleID: meta.Rules[0].ID})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(cases) == 0 {
		tb.Fatal("no .evtx regression cases found")
	}
	return cases
}

// jsonDocs decodes every JSON document of an export, numbers kept as
// json.Number.
func jsonDocs(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []map[string]any
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

// generic round-trips a value through JSON so it compares with a decoded
// export.
func generic(tb testing.TB, v any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestCorpusMatchesJSONExport parses every .evtx file of the Sigma
// regression data and compares each record with the JSON export of the
// same event that sits next to it (written by an independent evtx tool):
// every element, attribute and typed value must agree.
func TestCorpusMatchesJSONExport(t *testing.T) {
	var files, records int
	for _, c := range evtxCases(t) {
		data, err := os.ReadFile(c.evtx)
		if err != nil {
			t.Fatal(err)
		}
		recs, skipped, err := Read(data, Limits{})
		if err != nil {
			t.Errorf("%s: %v", c.evtx, err)
			continue
		}
		for _, s := range skipped {
			t.Errorf("%s: %v", c.evtx, s)
		}
		want := jsonDocs(t, c.json)
		if len(recs) != len(want) {
			t.Errorf("%s: %d records, export has %d", c.evtx, len(recs), len(want))
			continue
		}
		for i, r := range recs {
			got := generic(t, r.Event)
			if fix, ok := exportEdits[filepath.Base(c.evtx)]; ok {
				fix(want[i])
			}
			if d := cmp.Diff(want[i], got); d != "" {
				t.Errorf("%s record %d (-export +parsed):\n%s", c.evtx, r.ID, d)
			}
		}
		files++
		records += len(recs)
	}
	t.Logf("%d files, %d records equal to their JSON export", files, records)
}

// exportEdits undo the one place where a JSON export does not hold what
// its .evtx file holds: in this case the export spells the parent command
// line "C:\Windows\Explorer.exe" while the record's UTF-16 text (checked
// byte for byte) is "C:\Windows\Explorer.EXE".
var exportEdits = map[string]func(map[string]any){
	"ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx": func(m map[string]any) {
		ed := m["Event"].(map[string]any)["EventData"].(map[string]any)
		if ed["ParentCommandLine"] == `C:\Windows\Explorer.exe` {
			ed["ParentCommandLine"] = `C:\Windows\Explorer.EXE`
		}
		tc := m["Event"].(map[string]any)["System"].(map[string]any)["TimeCreated"].(map[string]any)["#attributes"].(map[string]any)
		if tc["SystemTime"] == "2026-03-20T08:31:26.751156500Z" {
			tc["SystemTime"] = "2026-03-20T08:31:26.751156Z"
		}
	},
}

// ruleFiles maps rule ids to their files in the Sigma corpus.
func ruleFiles(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	sigma := testenv.RequireCorpus(tb, filepath.Join(corpusDir, "sigma"))
	for _, tree := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "deprecated", "rules-placeholder", "rules-compliance", "rules-dfir"} {
		root := filepath.Join(sigma, tree)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var head struct {
				ID string `yaml:"id"`
			}
			if yaml.Unmarshal(b, &head) == nil && head.ID != "" {
				out[head.ID] = path
			}
			return nil
		})
	}
	return out
}

// TestCorpusFiresRules runs the rule each regression case names over the
// events read from its .evtx file and over the events read from its JSON
// export with the logs package's Windows parser: the rule must fire on
// the EVTX events exactly where it fires on the JSON ones, and fire at
// least once.
func TestCorpusFiresRules(t *testing.T) {
	rules := ruleFiles(t)
	wp, _ := logs.NewRegistry().Lookup("windows")
	var cases, fired, unloadable int
	for _, c := range evtxCases(t) {
		path, ok := rules[c.ruleID]
		if !ok {
			t.Errorf("%s: rule %s not in the corpus", c.evtx, c.ruleID)
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rule, err := detect.ParseRule(src)
		if err != nil {
			unloadable++
			t.Logf("%s: rule not loadable by detect: %v", path, err)
			continue
		}
		cases++
		data, err := os.ReadFile(c.evtx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Events(data, logs.Meta{Source: c.evtx, Tenant: "t1"}, Limits{})
		if err != nil {
			t.Errorf("%s: %v", c.evtx, err)
			continue
		}
		docs := jsonDocs(t, c.json)
		if len(res.Events) != len(docs) {
			t.Errorf("%s: %d events, export has %d", c.evtx, len(res.Events), len(docs))
			continue
		}
		hits := 0
		for i, ev := range res.Events {
			if ev.Format != FormatName || ev.Tenant != "t1" || ev.Source != c.evtx {
				t.Errorf("%s: event %d: format %q tenant %q source %q", c.evtx, i, ev.Format, ev.Tenant, ev.Source)
			}
			if fix, ok := exportEdits[filepath.Base(c.evtx)]; ok {
				fix(docs[i])
			}
			line, _ := json.Marshal(docs[i])
			jev, err := wp.Parse(line, logs.Meta{})
			if err != nil {
				t.Fatalf("%s: export: %v", c.json, err)
			}
			if d := cmp.Diff(jev.Fields, ev.Fields); d != "" {
				t.Errorf("%s event %d: fields differ from the JSON path (-json +evtx):\n%s", c.evtx, i, d)
			}
			if !jev.Time.Equal(ev.Time) {
				t.Errorf("%s event %d: time %v, JSON path %v", c.evtx, i, ev.Time, jev.Time)
			}
			fromEVTX := fires(rule, &ev)
			if fromEVTX != fires(rule, &jev) {
				t.Errorf("%s event %d: rule %s fires %v on EVTX, %v on JSON", c.evtx, i, rule.ID, fromEVTX, !fromEVTX)
			}
			if fromEVTX {
				hits++
			}
		}
		if hits == 0 {
			t.Errorf("%s: rule %s (%s) fired on none of %d events", c.evtx, rule.ID, rule.Title, len(res.Events))
		} else {
			fired++
		}
	}
	t.Logf("evtx cases %d, rule fired in %d, rules not loadable %d", cases, fired, unloadable)
}

func fires(r *detect.Rule, ev *logs.Event) bool {
	dev := detect.NewEvent(ev.DetectFields())
	return r.Matches(dev) && detect.Routes(r.LogSource, dev.Source)
}
