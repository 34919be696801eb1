package logs

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// corpusDir is the shared test corpus, relative to this package.
const corpusDir = "../../../shared/corpus"

// TestEVECorpus parses every record of a real Suricata EVE file and checks
// the ECS mapping against the record decoded independently.
func TestEVECorpus(t *testing.T) {
	path := testenv.RequireCorpus(t, filepath.Join(corpusDir, "traffic/slips/test6-malicious.suricata.json"))
	p, _ := NewRegistry().Lookup("suricata")
	auto, _ := NewRegistry().Lookup("auto")
	types := map[string]int{}
	for i, line := range readLines(t, path) {
		ev, err := p.Parse(line, Meta{Received: testReceived})
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if i < 50 {
			if a, err := auto.Parse(line, Meta{}); err != nil || a.Format != "suricata" {
				t.Errorf("line %d: auto chose %q (%v)", i+1, a.Format, err)
			}
		}
		var raw struct {
			Type    string `json:"event_type"`
			SrcIP   string `json:"src_ip"`
			DestIP  string `json:"dest_ip"`
			DstPort int    `json:"dest_port"`
			Alert   struct {
				Signature string `json:"signature"`
				SID       int64  `json:"signature_id"`
			} `json:"alert"`
			DNS struct {
				RRName string `json:"rrname"`
			} `json:"dns"`
			HTTP struct {
				URL    string `json:"url"`
				Status int    `json:"status"`
			} `json:"http"`
			TLS struct {
				SNI string `json:"sni"`
			} `json:"tls"`
			Flow struct {
				BytesToServer int64 `json:"bytes_toserver"`
			} `json:"flow"`
		}
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatal(err)
		}
		types[raw.Type]++
		f := ev.Fields
		check := func(key string, want any) {
			t.Helper()
			if got := f[key]; got != want {
				t.Errorf("line %d (%s): %s = %v (%T), want %v", i+1, raw.Type, key, got, got, want)
			}
		}
		check("source.ip", raw.SrcIP)
		check("destination.ip", raw.DestIP)
		if raw.DstPort != 0 {
			check("destination.port", raw.DstPort)
		}
		switch raw.Type {
		case "alert":
			check("rule.name", raw.Alert.Signature)
			check("rule.id", raw.Alert.SID)
			check("event.kind", "alert")
		case "dns":
			if raw.DNS.RRName != "" {
				check("dns.question.name", raw.DNS.RRName)
			}
		case "http":
			check("url.original", raw.HTTP.URL)
			if raw.HTTP.Status != 0 {
				check("http.response.status_code", int64(raw.HTTP.Status))
			}
		case "tls":
			check("tls.client.server_name", raw.TLS.SNI)
		case "flow":
			check("source.bytes", raw.Flow.BytesToServer)
		}
	}
	for _, typ := range []string{"alert", "dns", "http", "flow", "tls"} {
		if types[typ] == 0 {
			t.Errorf("corpus has no %s records", typ)
		}
	}
	t.Logf("EVE records by type: %v", types)
}

var ruleIDLine = regexp.MustCompile(`(?m)^id:\s*([0-9a-fA-F-]{36})\s*$`)

// ruleFiles maps Sigma rule ids to their files across the rule trees.
func ruleFiles(t *testing.T, sigma string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tree := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting"} {
		root := filepath.Join(sigma, tree)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if m := ruleIDLine.FindSubmatch(b); m != nil {
				out[string(m[1])] = p
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestWindowsRegressionFiresRules parses every Windows event of the Sigma
// regression data with the windows parser and checks that the rule it was
// recorded for fires on the event handed to the detection engine, routing
// included.
func TestWindowsRegressionFiresRules(t *testing.T) {
	sigma := testenv.RequireCorpus(t, filepath.Join(corpusDir, "sigma"))
	rules := ruleFiles(t, sigma)
	p, _ := NewRegistry().Lookup("windows")
	auto, _ := NewRegistry().Lookup("auto")
	var cases, events, fired, unloadable int
	err := filepath.WalkDir(filepath.Join(sigma, "regression_data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
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
			t.Errorf("%s: info.yml: %v", path, err)
			return nil
		}
		doc, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var docs [][]byte
		dec := json.NewDecoder(bytes.NewReader(doc))
		for dec.More() {
			var one json.RawMessage
			if err := dec.Decode(&one); err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			var line bytes.Buffer
			if err := json.Compact(&line, one); err != nil {
				return err
			}
			docs = append(docs, line.Bytes())
		}
		cases++
		rulePath, ok := rules[meta.Rules[0].ID]
		if !ok {
			t.Errorf("%s: rule %s not in the corpus", path, meta.Rules[0].ID)
			return nil
		}
		src, err := os.ReadFile(rulePath)
		if err != nil {
			return err
		}
		rule, err := detect.ParseRule(src)
		if err != nil {
			// The engine rejects some rules (documented load errors);
			// those cannot fire whatever the event looks like.
			unloadable++
			t.Logf("%s: rule not loadable by detect: %v", rulePath, err)
			return nil
		}
		hits := 0
		for _, line := range docs {
			ev, err := p.Parse(line, Meta{Source: path})
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			if a, err := auto.Parse(line, Meta{}); err != nil || a.Format != "windows" {
				t.Errorf("%s: auto chose %q (%v)", path, a.Format, err)
			}
			if _, ok := ev.Fields["event.code"]; !ok {
				t.Errorf("%s: no event.code alias", path)
			}
			dev := detect.NewEvent(ev.DetectFields())
			if rule.Matches(dev) && detect.Routes(rule.LogSource, dev.Source) {
				hits++
			}
		}
		events += len(docs)
		if hits == 0 {
			t.Errorf("%s: rule %s (%s) fired on none of %d events", path, rule.ID, rule.Title, len(docs))
		} else {
			fired++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("regression cases %d (%d events), rules fired %d, rules not loadable %d", cases, events, fired, unloadable)
	if cases == 0 {
		t.Fatal("no regression cases found")
	}
}
