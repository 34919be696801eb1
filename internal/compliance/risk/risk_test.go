package risk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/report"
)

type riskExample struct {
	Assessment Assessment `yaml:"assessment"`
	Expect     struct {
		Scenarios map[string]struct {
			L     float64 `yaml:"l"`
			F     float64 `yaml:"f"`
			R     int     `yaml:"r"`
			Level Level   `yaml:"level"`
		} `yaml:"scenarios"`
		Systems  map[string]int `yaml:"systems"`
		Business map[string]int `yaml:"business"`
		HeatMap  map[string]int `yaml:"heat_map"`
		Matrix   map[string]struct {
			R     int   `yaml:"r"`
			Level Level `yaml:"level"`
		} `yaml:"matrix"`
	} `yaml:"expect"`
}

// docExample reads the risk-example block of docs/compliance.md.
func docExample(t *testing.T) riskExample {
	t.Helper()
	fh, err := os.Open("../../../docs/compliance.md")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var b strings.Builder
	in := false
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "```yaml risk-example":
			in = true
		case in && strings.TrimSpace(line) == "```":
			in = false
		case in:
			b.WriteString(line + "\n")
		}
	}
	if b.Len() == 0 {
		t.Fatal("no risk-example block in docs/compliance.md")
	}
	var ex riskExample
	dec := yaml.NewDecoder(strings.NewReader(b.String()))
	dec.KnownFields(true)
	if err := dec.Decode(&ex); err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestDocExample recomputes the worked example of docs/compliance.md, whose
// L, F, R, levels, roll-ups and heat-map cells were worked out by hand.
func TestDocExample(t *testing.T) {
	ex := docExample(t)
	res, err := Evaluate(&ex.Assessment, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Register) != len(ex.Expect.Scenarios) {
		t.Fatalf("%d register entries, doc lists %d", len(res.Register), len(ex.Expect.Scenarios))
	}
	for _, e := range res.Register {
		want := ex.Expect.Scenarios[e.Scenario.ID]
		if math.Abs(e.Eval.Likelihood-want.L) > 0.005 || math.Abs(e.Eval.Loss-want.F) > 0.005 || e.Eval.R != want.R || e.Eval.Level != want.Level {
			t.Errorf("%s: L=%.2f F=%.2f R=%d %s; doc says L=%.2f F=%.2f R=%d %s", e.Scenario.ID, e.Eval.Likelihood, e.Eval.Loss, e.Eval.R, e.Eval.Level, want.L, want.F, want.R, want.Level)
		}
	}
	for i := 1; i < len(res.Register); i++ {
		if res.Register[i].Eval.R > res.Register[i-1].Eval.R {
			t.Error("register not sorted by R")
		}
	}
	for _, s := range res.Systems {
		if want, ok := ex.Expect.Systems[s.Asset.ID]; !ok || s.R != want {
			t.Errorf("system %s rolls up to %d, doc says %d", s.Asset.ID, s.R, want)
		}
	}
	for _, b := range res.Business {
		if want := ex.Expect.Business[b.Asset.ID]; b.R != want {
			t.Errorf("business %s rolls up to %d, doc says %d", b.Asset.ID, b.R, want)
		}
	}
	var want [5][5]int
	for k, n := range ex.Expect.HeatMap {
		var l, f int
		if _, err := fmt.Sscanf(k, "%d,%d", &l, &f); err != nil {
			t.Fatal(err)
		}
		want[l-1][f-1] = n
	}
	if res.HeatMap != want {
		t.Errorf("heat map %v, doc says %v", res.HeatMap, want)
	}
	mres, err := Evaluate(&ex.Assessment, MatrixMethod{Matrix: DefaultMatrix()})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range mres.Register {
		if w, ok := ex.Expect.Matrix[e.Scenario.ID]; ok && (e.Eval.R != w.R || e.Eval.Level != w.Level) {
			t.Errorf("matrix %s: R=%d %s, doc says %d %s", e.Scenario.ID, e.Eval.R, e.Eval.Level, w.R, w.Level)
		}
	}
	for _, lang := range []string{"zh-CN", "en"} {
		doc := ReportDocument(&ex.Assessment, res, "示例单位", lang)
		if err := doc.Validate(); err != nil {
			t.Fatalf("%s report: %v", lang, err)
		}
		var sb strings.Builder
		if err := report.RenderHTML(context.Background(), doc, &sb, report.Options{}); err != nil {
			t.Fatal(err)
		}
	}
}

// The default matrix gives the same level and R as the formula whenever L
// and F are whole numbers (T = V = A).
func TestMatrixAgreesOnWholeNumbers(t *testing.T) {
	m := MatrixMethod{Matrix: DefaultMatrix()}
	for x := 1; x <= 5; x++ {
		a := &Asset{ID: "a", Tier: TierSystem, C: x, I: 1, A: 1}
		th := &Threat{ID: "t", Frequency: x}
		v := &Vulnerability{ID: "v", Severity: x}
		fe, _ := Formula{}.Evaluate(a, th, v)
		me, err := m.Evaluate(a, th, v)
		if err != nil {
			t.Fatal(err)
		}
		if fe.Level != me.Level || fe.R != me.R || fe.R != x*x {
			t.Errorf("T=V=A=%d: formula %d %s, matrix %d %s", x, fe.R, fe.Level, me.R, me.Level)
		}
	}
}

func TestBands(t *testing.T) {
	if err := CheckBands(DefaultBands()); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]Band{
		"gap":   {{1, 5, VeryLow}, {7, 25, High}},
		"short": {{1, 20, Low}},
		"empty": {{1, 25, ""}},
	} {
		if err := CheckBands(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s accepted", name)
		}
	}
	// Custom bands change the level, not R.
	custom := Formula{LevelBands: []Band{{1, 12, Low}, {13, 25, High}}}
	e, err := custom.Evaluate(&Asset{ID: "a", Tier: TierSystem, C: 5, I: 1, A: 1}, &Threat{ID: "t", Frequency: 4}, &Vulnerability{ID: "v", Severity: 3})
	if err != nil || e.R != 13 || e.Level != High {
		t.Errorf("custom bands: %+v %v", e, err)
	}
}

func TestValidateRejects(t *testing.T) {
	base := func() *Assessment {
		return &Assessment{
			Assets:          []Asset{{ID: "B", Tier: TierBusiness, Importance: 3}, {ID: "S", Tier: TierSystem, Parent: "B", C: 3, I: 3, A: 3}},
			Threats:         []Threat{{ID: "T", Frequency: 3}},
			Vulnerabilities: []Vulnerability{{ID: "V", Asset: "S", Severity: 3}},
			Scenarios:       []Scenario{{ID: "X", Threat: "T", Vulnerability: "V"}},
		}
	}
	if err := base().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(a *Assessment){
		"cia range":  func(a *Assessment) { a.Assets[1].C = 6 },
		"importance": func(a *Assessment) { a.Assets[0].Importance = 0 },
		"tier":       func(a *Assessment) { a.Assets[1].Tier = "server" },
		"parent tier": func(a *Assessment) {
			a.Assets = append(a.Assets, Asset{ID: "C", Tier: TierComponent, Parent: "B", C: 1, I: 1, A: 1})
		},
		"component orphan": func(a *Assessment) {
			a.Assets = append(a.Assets, Asset{ID: "C", Tier: TierComponent, C: 1, I: 1, A: 1})
		},
		"duplicate asset":   func(a *Assessment) { a.Assets[1].ID = "B" },
		"frequency":         func(a *Assessment) { a.Threats[0].Frequency = 0 },
		"severity":          func(a *Assessment) { a.Vulnerabilities[0].Severity = 9 },
		"vuln on business":  func(a *Assessment) { a.Vulnerabilities[0].Asset = "B" },
		"control kind":      func(a *Assessment) { a.Vulnerabilities[0].Controls = []Control{{Name: "x", Kind: "magic"}} },
		"scenario threat":   func(a *Assessment) { a.Scenarios[0].Threat = "nope" },
		"treatment":         func(a *Assessment) { a.Decisions = []Decision{{Scenario: "X", Treatment: "ignore"}} },
		"decision scenario": func(a *Assessment) { a.Decisions = []Decision{{Scenario: "Y", Treatment: Accept}} },
	}
	for name, mut := range cases {
		a := base()
		mut(a)
		if err := a.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
		if _, err := Evaluate(a, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Evaluate err = %v", name, err)
		}
	}
}

func TestParseAssessment(t *testing.T) {
	ex := docExample(t)
	out, err := yaml.Marshal(ex.Assessment)
	if err != nil {
		t.Fatal(err)
	}
	as, err := ParseAssessment(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	if len(as.Scenarios) != 5 || as.Decisions[0].Due.Year() != 2026 {
		t.Errorf("parsed %+v", as)
	}
	for name, src := range map[string]string{
		"unknown field": "name: x\ncolour: red\n",
		"alias":         "name: &n x\nassets: []\nthreats: []\nvulnerabilities: []\nscenarios: []\nx: *n\n",
		"syntax":        "name: [\n",
		"empty":         "",
	} {
		if _, err := ParseAssessment(strings.NewReader(src)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
