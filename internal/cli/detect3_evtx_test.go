package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// corpusSigma is the Sigma part of the shared corpus, relative to this
// package.
const corpusSigma = "../../../shared/corpus/sigma"

// evtxCase is one regression case with an .evtx file and the rule
// its info.yml says fires on it.
type evtxCase struct{ evtx, ruleID string }

func corpusEVTXCases(t *testing.T) ([]evtxCase, map[string]string) {
	t.Helper()
	root := testenv.RequireCorpus(t, corpusSigma)
	var cases []evtxCase
	err := filepath.WalkDir(filepath.Join(root, "regression_data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".evtx") {
			return err
		}
		info, err := os.ReadFile(filepath.Join(filepath.Dir(p), "info.yml"))
		if err != nil {
			return err
		}
		var meta struct {
			Rules []struct {
				ID string `yaml:"id"`
			} `yaml:"rule_metadata"`
		}
		if err := yaml.Unmarshal(info, &meta); err != nil || len(meta.Rules) == 0 {
			t.Errorf("%s: info.yml: %v", p, err)
			return nil
		}
		cases = append(cases, evtxCase{evtx: p, ruleID: meta.Rules[0].ID})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for _, tree := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting"} {
		_ = filepath.WalkDir(filepath.Join(root, tree), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var head struct {
				ID string `yaml:"id"`
			}
			if yaml.Unmarshal(b, &head) == nil && head.ID != "" {
				rules[head.ID] = p
			}
			return nil
		})
	}
	return cases, rules
}

// runDetectCLI runs "vigil detect" and returns the rule ids of the match
// lines and standard error.
func runDetectCLI(t *testing.T, args ...string) (map[string]int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), append([]string{"detect"}, args...), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("vigil detect %v: exit %d: %s", args, code, stderr.String())
	}
	ids := map[string]int{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var m struct {
			RuleID string         `json:"rule_id"`
			Event  map[string]any `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		if m.Event == nil {
			t.Fatalf("output line without the event: %s", sc.Text())
		}
		ids[m.RuleID]++
	}
	return ids, stderr.String()
}

// TestDetectEVTXCorpus runs "vigil detect" over every .evtx file of the
// Sigma regression data with the rule its info.yml names: the file is
// recognised by its signature (not its name) and the rule fires.
func TestDetectEVTXCorpus(t *testing.T) {
	cases, rules := corpusEVTXCases(t)
	if len(cases) == 0 {
		t.Fatal("no .evtx regression cases")
	}
	fired, tried := 0, 0
	for _, c := range cases {
		src, ok := rules[c.ruleID]
		if !ok {
			continue
		}
		tried++
		dir := t.TempDir()
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "rule.yml"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		// A name without .evtx: detection is by the ElfFile signature.
		in := filepath.Join(t.TempDir(), "events.log")
		raw, err := os.ReadFile(c.evtx)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		ids, stderr := runDetectCLI(t, "--rules", dir, in)
		if strings.Contains(stderr, "rule not loaded") {
			t.Logf("%s: %s", src, stderr)
			continue
		}
		if ids[c.ruleID] == 0 {
			t.Errorf("%s: rule %s did not fire; stderr: %s", c.evtx, c.ruleID, stderr)
			continue
		}
		fired++
	}
	if tried == 0 || fired == 0 {
		t.Fatalf("%d cases tried, %d fired", tried, fired)
	}
	t.Logf("evtx cases %d, with a corpus rule %d, fired %d", len(cases), tried, fired)
}

// TestDetectEVTXMixedInputs reads an EVTX file and JSON lines in one run,
// the EVTX one from standard input.
func TestDetectEVTXMixedInputs(t *testing.T) {
	root := testenv.RequireCorpus(t, corpusSigma)
	const id = "8ac03a65-6c84-4116-acad-dc1558ff7a77" // sysmon_config_modification, per its regression info.yml
	file := filepath.Join(root, "regression_data/rules/windows/sysmon/sysmon_config_modification", id+".evtx")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := NewRoot(os.LookupEnv)
	cmd.SetArgs([]string{"detect", "--rules", filepath.Join(root, "rules/windows/sysmon"), "-"})
	cmd.SetIn(bytes.NewReader(data))
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"rule_id":"`+id+`"`) {
		t.Fatalf("rule %s did not fire on the EVTX from stdin: %s / %s", id, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "1 events") {
		t.Fatalf("stderr %s", stderr.String())
	}
	// A damaged file (cut inside its first chunk): the damaged chunk is
	// reported on stderr and counted, and the run still succeeds.
	cut := data[:4096+512]
	_, se := runDetectCLIInput(t, cut)
	if !strings.Contains(se, "evtx: chunk 0") || !strings.Contains(se, "skipped") || !strings.Contains(se, "1 malformed") {
		t.Fatalf("damaged file: %s", se)
	}
}

func runDetectCLIInput(t *testing.T, in []byte) (string, string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(f, in, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	Execute(context.Background(), []string{"detect", "--rules", t.TempDir(), f}, &stdout, &stderr)
	return stdout.String(), stderr.String()
}
