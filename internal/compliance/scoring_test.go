package compliance

import (
	"bufio"
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// docBlocks returns the fenced blocks of docs/compliance.md whose info
// string is "yaml <tag>".
func docBlocks(t *testing.T, tag string) []string {
	t.Helper()
	fh, err := os.Open("../../docs/compliance.md")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```yaml "+tag:
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatalf("no %q blocks in docs/compliance.md", tag)
	}
	return blocks
}

type scoringExample struct {
	Name       string       `yaml:"name"`
	Thresholds *Thresholds  `yaml:"thresholds"`
	Results    []ItemResult `yaml:"results"`
	Expect     struct {
		Overall       float64            `yaml:"overall"`
		Conclusion    Conclusion         `yaml:"conclusion"`
		HighRisks     int                `yaml:"high_risks"`
		Categories    map[string]float64 `yaml:"categories"`
		ControlPoints map[string]float64 `yaml:"control_points"`
	} `yaml:"expect"`
}

// TestScoringDocExamples recomputes the worked examples of
// docs/compliance.md, whose expected numbers were worked out by hand from
// the documented formula.
func TestScoringDocExamples(t *testing.T) {
	fw := builtin(t).Framework("mlps2-l3")
	blocks := docBlocks(t, "scoring-example")
	if len(blocks) < 4 {
		t.Fatalf("%d scoring examples, want at least 4", len(blocks))
	}
	for _, b := range blocks {
		var ex scoringExample
		dec := yaml.NewDecoder(strings.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&ex); err != nil {
			t.Fatalf("example: %v\n%s", err, b)
		}
		t.Run(ex.Name, func(t *testing.T) {
			s := WeightedScorer{}
			if ex.Thresholds != nil {
				s.Thresholds = *ex.Thresholds
			}
			card, err := s.Score(context.Background(), fw, ex.Results)
			if err != nil {
				t.Fatal(err)
			}
			if card.Overall != ex.Expect.Overall || card.Conclusion != ex.Expect.Conclusion {
				t.Errorf("overall %.2f %s, doc says %.2f %s", card.Overall, card.Conclusion, ex.Expect.Overall, ex.Expect.Conclusion)
			}
			if len(card.HighRisks) != ex.Expect.HighRisks {
				t.Errorf("%d high risks, doc says %d", len(card.HighRisks), ex.Expect.HighRisks)
			}
			got := map[string]float64{}
			for _, g := range append(card.Categories, card.ControlPoints...) {
				got[g.ID] = g.Score
			}
			for id, want := range ex.Expect.Categories {
				if math.Abs(got[id]-want) > 1e-9 {
					t.Errorf("category %s: %.2f, doc says %.2f", id, got[id], want)
				}
			}
			for id, want := range ex.Expect.ControlPoints {
				if math.Abs(got[id]-want) > 1e-9 {
					t.Errorf("control point %s: %.2f, doc says %.2f", id, got[id], want)
				}
			}
		})
	}
}

func TestScoringRejects(t *testing.T) {
	fw := builtin(t).Framework("mlps2-l3")
	ctx := context.Background()
	bad := map[string][]ItemResult{
		"unknown item":      {{Item: "L3-CES1-99", Result: Conform}},
		"control point":     {{Item: "L3-CES1-C01", Result: Conform}},
		"weight":            {{Item: "L3-CES1-01", Result: Conform, Weight: 3}},
		"unknown result":    {{Item: "L3-CES1-01", Result: "good"}},
		"compensation":      {{Item: "L3-CES1-01", Result: NotConform, Compensation: &Compensation{Measure: "x", Adjustment: -1}}},
		"compensation high": {{Item: "L3-CES1-01", Result: NotConform, Compensation: &Compensation{Measure: "x", Adjustment: 2}}},
	}
	for name, rs := range bad {
		if _, err := (WeightedScorer{}).Score(ctx, fw, rs); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := (WeightedScorer{Thresholds: Thresholds{Excellent: 70, Good: 80, Medium: 60}}).Score(ctx, fw, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("unordered thresholds accepted: %v", err)
	}
	// A high-risk flag on a conforming result does not force 差.
	card, err := (WeightedScorer{}).Score(ctx, fw, []ItemResult{{Item: "L3-CES1-01", Result: Conform, HighRisk: true}})
	if err != nil || card.Conclusion != Excellent {
		t.Errorf("conform high-risk: %v %v", card, err)
	}
	// A resolved high risk does not either.
	card, err = (WeightedScorer{}).Score(ctx, fw, []ItemResult{{Item: "L3-CES1-01", Result: PartlyConform, HighRisk: true, Resolved: true}, {Item: "L3-CES1-02", Result: Conform}})
	if err != nil || card.Conclusion != Medium || card.Overall != 75 {
		t.Errorf("resolved high risk: %+v %v", card, err)
	}
}

func TestParseResult(t *testing.T) {
	for in, want := range map[string]Result{"符合": Conform, " partial ": PartlyConform, "不符合": NotConform, "N/A": NotApplicable} {
		if got, err := ParseResult(in); err != nil || got != want {
			t.Errorf("ParseResult(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseResult("maybe"); err == nil {
		t.Error("unknown result accepted")
	}
}
