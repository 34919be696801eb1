package gate

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/datafile"
	"github.com/vigil-sec/vigil/internal/report"
)

func TestASVSCatalogue(t *testing.T) {
	a, err := LoadASVS()
	if err != nil {
		t.Fatal(err)
	}
	// ASVS 5.0.0 names its 17 chapters in this order.
	names := []string{"Encoding and Sanitization", "Validation and Business Logic", "Web Frontend Security", "API and Web Service",
		"File Handling", "Authentication", "Session Management", "Authorization", "Self-contained Tokens", "OAuth and OIDC",
		"Cryptography", "Secure Communication", "Configuration", "Data Protection", "Secure Coding and Architecture",
		"Security Logging and Error Handling", "WebRTC"}
	for i, ch := range a.Chapters {
		if ch.Name != names[i] {
			t.Errorf("chapter %s = %q, want %q", ch.ID, ch.Name, names[i])
		}
	}
	// Levels of some requirements as published in ASVS 5.0.0.
	published := map[string]int{"1.2.4": 1, "1.2.10": 3, "3.4.1": 1, "3.4.3": 2, "6.2.1": 1, "6.3.3": 2, "6.3.8": 3,
		"11.4.2": 2, "12.1.1": 1, "12.1.2": 2, "13.4.1": 1, "16.5.1": 2, "17.2.8": 3}
	found := map[string]Requirement{}
	for _, ch := range a.Chapters {
		for _, r := range ch.Reqs {
			found[r.ID] = r
		}
	}
	for id, lvl := range published {
		if r, ok := found[id]; !ok || r.Level != lvl {
			t.Errorf("requirement %s: level %d (present %v), published level %d", id, r.Level, ok, lvl)
		}
	}
	if r := found["6.2.1"]; r.Ref() != "v5.0.0-6.2.1" {
		t.Errorf("ref = %q", r.Ref())
	}
	// Level filtering is cumulative; V16 and V17 have no level 1
	// requirement in ASVS 5.0.
	n := map[int]int{}
	for lvl := 1; lvl <= 3; lvl++ {
		for _, ch := range a.AtLevel(lvl) {
			for _, r := range ch.Reqs {
				if r.Level > lvl {
					t.Fatalf("level %d holds %s of level %d", lvl, r.ID, r.Level)
				}
				n[lvl]++
			}
			if lvl == 1 && (ch.ID == "V16" || ch.ID == "V17") && len(ch.Reqs) > 0 {
				t.Errorf("%s has level 1 requirements", ch.ID)
			}
		}
	}
	if !(n[1] < n[2] && n[2] < n[3]) || n[3] != len(found) {
		t.Errorf("requirements per level %v, total %d", n, len(found))
	}
}

func TestParseASVSRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"version":  "version: 4.0.3\nchapters: []\n",
		"chapters": "version: 5.0.0\nchapters:\n  - id: V1\n    name: A\n    name_zh: B\n",
		"unknown":  "version: 5.0.0\nchapter: []\n",
	} {
		if _, err := ParseASVS([]byte(doc), name); err == nil {
			t.Errorf("%s: accepted", name)
		} else if le := (*datafile.LineError)(nil); !errors.As(err, &le) || le.Line == 0 {
			t.Errorf("%s: error %v has no line", name, err)
		}
	}
}

func TestRules(t *testing.T) {
	r, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	// The bands of the issue: CVSS ≥ 9 within 24 h, 7–8.9 within 72 h, 4–6.9 within 14 days.
	for _, c := range []struct {
		score float64
		want  time.Duration
	}{{10, 24 * time.Hour}, {9.0, 24 * time.Hour}, {8.9, 72 * time.Hour}, {7.0, 72 * time.Hour}, {6.9, 14 * 24 * time.Hour}, {4.0, 14 * 24 * time.Hour}} {
		if got := r.FixWithin(c.score); got != c.want {
			t.Errorf("FixWithin(%.1f) = %s, want %s", c.score, got, c.want)
		}
	}
	if r.Severities[campaign.SeverityHigh] != ActionFail || r.Severities[campaign.SeverityMedium] != ActionAccept {
		t.Errorf("severity actions %v", r.Severities)
	}
	bad := []string{
		"severities: {critical: fail}\nerrored: fail\npending: fail\nfix_deadlines: [{min_score: 9, within: 24h}]\nmax_acceptance: 90d\nasvs_severity: {1: high, 2: medium, 3: low}\n",
		"severities: {critical: fail, high: fail, medium: accept, low: note, info: ignore}\nerrored: note\npending: fail\nfix_deadlines: [{min_score: 9, within: 24h}]\nmax_acceptance: 90d\nasvs_severity: {1: high, 2: medium, 3: low}\n",
		"severities: {critical: fail, high: fail, medium: accept, low: note, info: ignore}\nerrored: fail\npending: fail\nfix_deadlines: [{min_score: 4, within: 14d}, {min_score: 9, within: 24h}]\nmax_acceptance: 90d\nasvs_severity: {1: high, 2: medium, 3: low}\n",
	}
	for i, doc := range bad {
		if _, err := ParseRules([]byte(doc), "rules.yaml"); err == nil {
			t.Errorf("bad rules %d accepted", i)
		}
	}
}

func TestGateReport(t *testing.T) {
	e := newEnv(t, "no")
	g := e.gate(t, map[string]string{"risky_ports": "3389"})
	e.answerAll(t, g)
	e.runAll(t, g)
	if _, err := e.engine.RecordManual(g.Campaign, TaskASVS, "asvs-6.2.1", campaign.Answer{Status: campaign.StatusFailed, By: "zhang.min", Note: "6-character passwords accepted"}); err != nil {
		t.Fatal(err)
	}
	d := g.Decide(e.clk.t)
	if d.Outcome != Fail || len(d.Blocking) != 1 || d.Blocking[0].Ref != "v5.0.0-6.2.1" {
		t.Fatalf("a failed level 1 ASVS item must fail the gate: %+v", d.Blocking)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		doc, err := g.Report(d, lang)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := report.RenderHTML(context.Background(), doc, &buf, report.Options{}); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"en": {"Fail", "v5.0.0-6.2.1", "V6 Authentication"}, "zh-CN": {"不通过", "v5.0.0-6.2.1", "V6 身份认证"}}[lang]
		for _, s := range want {
			if !strings.Contains(buf.String(), s) {
				t.Errorf("%s report lacks %q", lang, s)
			}
		}
	}
}
