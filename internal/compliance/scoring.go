package compliance

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// Result is the outcome of one assessment item on one assessed object.
type Result string

// The four item results of an MLPS assessment.
const (
	Conform       Result = "符合"
	PartlyConform Result = "部分符合"
	NotConform    Result = "不符合"
	NotApplicable Result = "不适用"
)

// ParseResult accepts the Chinese result names and English equivalents
// (conform, partial, non-conform, n/a and a few spellings of them).
func ParseResult(s string) (Result, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "符合", "conform", "compliant", "pass", "yes":
		return Conform, nil
	case "部分符合", "partial", "partly", "partly conform", "partially compliant":
		return PartlyConform, nil
	case "不符合", "non-conform", "nonconform", "not conform", "non-compliant", "fail", "no":
		return NotConform, nil
	case "不适用", "n/a", "na", "not applicable":
		return NotApplicable, nil
	}
	return "", fmt.Errorf("%w: unknown result %q (use 符合, 部分符合, 不符合 or 不适用)", ErrInvalid, s)
}

// English returns the English name of r.
func (r Result) English() string {
	switch r {
	case Conform:
		return "conform"
	case PartlyConform:
		return "partly conform"
	case NotConform:
		return "not conform"
	case NotApplicable:
		return "not applicable"
	}
	return string(r)
}

// value is the default score of a result; ok is false for 不适用.
func (r Result) value() (v float64, ok bool) {
	switch r {
	case Conform:
		return 1, true
	case PartlyConform:
		return 0.5, true
	case NotConform:
		return 0, true
	}
	return 0, false
}

// Compensation is a compensating measure recorded in the overall assessment
// (整体测评) that raises an item's value by Adjustment, capped by the scorer.
type Compensation struct {
	Measure    string  `json:"measure" yaml:"measure"`
	Adjustment float64 `json:"adjustment" yaml:"adjustment"`
}

// ItemResult is one assessed item on one assessed object.
type ItemResult struct {
	Item         string        `json:"item" yaml:"item"`                         // requirement id, e.g. L3-CES1-01
	Object       string        `json:"object,omitempty" yaml:"object,omitempty"` // assessed object, e.g. a server
	Result       Result        `json:"result" yaml:"result"`
	Weight       float64       `json:"weight,omitempty" yaml:"weight,omitempty"` // overrides the framework weight when > 0
	HighRisk     bool          `json:"high_risk,omitempty" yaml:"high_risk,omitempty"`
	Resolved     bool          `json:"resolved,omitempty" yaml:"resolved,omitempty"` // high risk resolved (e.g. by compensation)
	Compensation *Compensation `json:"compensation,omitempty" yaml:"compensation,omitempty"`
	Evidence     string        `json:"evidence,omitempty" yaml:"evidence,omitempty"`
	Note         string        `json:"note,omitempty" yaml:"note,omitempty"`
	Remediation  string        `json:"remediation,omitempty" yaml:"remediation,omitempty"`
}

// Conclusion is the overall MLPS conclusion.
type Conclusion string

// The four conclusions.
const (
	Excellent Conclusion = "优"
	Good      Conclusion = "良"
	Medium    Conclusion = "中"
	Poor      Conclusion = "差"
)

// English returns the English name of c.
func (c Conclusion) English() string {
	switch c {
	case Excellent:
		return "excellent"
	case Good:
		return "good"
	case Medium:
		return "medium"
	case Poor:
		return "poor"
	}
	return string(c)
}

// GroupScore is the score of a control point or category.
type GroupScore struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	NameEn   string  `json:"name_en,omitempty"`
	Score    float64 `json:"score"`    // 0-100, two decimals; meaningless when Assessed is 0
	Assessed int     `json:"assessed"` // results counted (不适用 excluded)
	NA       int     `json:"not_applicable"`
	Weight   float64 `json:"weight"` // sum of weights counted
}

// ScoredItem is one result with the value the scorer gave it.
type ScoredItem struct {
	ItemResult
	Node         *Node   `json:"-"`
	ControlPoint string  `json:"control_point"`
	Category     string  `json:"category"`
	Base         float64 `json:"base"`  // value before compensation
	Value        float64 `json:"value"` // value after compensation
	UsedWeight   float64 `json:"weight_used"`
}

// Scorecard is the result of scoring an assessment.
type Scorecard struct {
	Framework     string       `json:"framework"`
	Overall       float64      `json:"overall"` // 0-100, two decimals
	Conclusion    Conclusion   `json:"conclusion"`
	HighRisks     []ScoredItem `json:"high_risks,omitempty"` // unresolved
	Categories    []GroupScore `json:"categories"`
	ControlPoints []GroupScore `json:"control_points"`
	Items         []ScoredItem `json:"items"`
	Method        string       `json:"method"`
}

// Scorer turns item results into scores and a conclusion. Implementations
// must be deterministic.
type Scorer interface {
	Score(ctx context.Context, fw *Framework, results []ItemResult) (*Scorecard, error)
}

// Thresholds are the lowest overall scores for each conclusion.
type Thresholds struct {
	Excellent float64 `json:"excellent" yaml:"excellent"`
	Good      float64 `json:"good" yaml:"good"`
	Medium    float64 `json:"medium" yaml:"medium"`
}

// DefaultThresholds: 优 ≥ 90, 良 ≥ 80, 中 ≥ 70, otherwise 差.
var DefaultThresholds = Thresholds{Excellent: 90, Good: 80, Medium: 70}

// WeightedScorer is the default scorer, documented in docs/compliance.md:
// each result counts 符合 = 1, 部分符合 = 0.5, 不符合 = 0 (不适用 excluded),
// raised by a compensating measure by at most MaxAdjustment and never above
// 1; a group's score is 100 × Σ(weight × value) / Σ weight over its results;
// the overall score is the same sum over all results; any unresolved
// high-risk result makes the conclusion 差.
type WeightedScorer struct {
	Thresholds    Thresholds // zero value: DefaultThresholds
	MaxAdjustment float64    // cap of one compensation; zero value: 0.5
}

var _ Scorer = WeightedScorer{}

// MaxResults bounds the results one assessment may score.
const MaxResults = 200_000

// Score implements Scorer.
func (s WeightedScorer) Score(ctx context.Context, fw *Framework, results []ItemResult) (*Scorecard, error) {
	th := s.Thresholds
	if th == (Thresholds{}) {
		th = DefaultThresholds
	}
	if !(th.Excellent >= th.Good && th.Good >= th.Medium && th.Medium >= 0 && th.Excellent <= 100) {
		return nil, fmt.Errorf("%w: thresholds must satisfy 100 ≥ excellent ≥ good ≥ medium ≥ 0", ErrInvalid)
	}
	maxAdj := s.MaxAdjustment
	if maxAdj == 0 {
		maxAdj = 0.5
	}
	if maxAdj < 0 || maxAdj > 1 {
		return nil, fmt.Errorf("%w: max adjustment %v is not in [0, 1]", ErrInvalid, maxAdj)
	}
	if len(results) > MaxResults {
		return nil, fmt.Errorf("%w: more than %d results", ErrInvalid, MaxResults)
	}
	type place struct{ node, cp, cat *Node }
	where := map[string]place{}
	var cats, cps []*Node
	var cat, cp *Node
	fw.Walk(func(n, _ *Node, depth int) bool {
		switch depth {
		case 1:
			cat, cp = n, nil
			cats = append(cats, n)
		case 2:
			cp = n
			cps = append(cps, n)
		}
		if n.Assessable {
			p := place{node: n, cat: cat, cp: cp}
			if p.cp == nil { // a leaf directly under the top level
				p.cp = n
			}
			where[n.ID] = p
		}
		return true
	})
	type acc struct {
		sum, weight float64
		n, na       int
	}
	byCP, byCat := map[string]*acc{}, map[string]*acc{}
	total := &acc{}
	card := &Scorecard{Framework: fw.ID, Method: "weighted"}
	for i, r := range results {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("compliance: score: %w", ctx.Err())
		}
		p, ok := where[r.Item]
		if !ok {
			return nil, fmt.Errorf("%w: result %d: %q is not an assessable item of %s", ErrInvalid, i+1, r.Item, fw.ID)
		}
		w := r.Weight
		if w == 0 {
			w = p.node.EffectiveWeight()
		}
		if !(w > 0 && w <= 1) {
			return nil, fmt.Errorf("%w: result %d (%s): weight %v is not in (0, 1]", ErrInvalid, i+1, r.Item, w)
		}
		base, counted := r.Result.value()
		if !counted && r.Result != NotApplicable {
			return nil, fmt.Errorf("%w: result %d (%s): unknown result %q", ErrInvalid, i+1, r.Item, r.Result)
		}
		value := base
		if r.Compensation != nil && counted {
			a := r.Compensation.Adjustment
			if !(a >= 0 && a <= 1) {
				return nil, fmt.Errorf("%w: result %d (%s): compensation %v is not in [0, 1]", ErrInvalid, i+1, r.Item, a)
			}
			value = math.Min(1, base+math.Min(a, maxAdj))
		}
		si := ScoredItem{ItemResult: r, Node: p.node, ControlPoint: p.cp.ID, Category: p.cat.ID, Base: base, Value: value, UsedWeight: w}
		card.Items = append(card.Items, si)
		for _, a := range []*acc{get(byCP, p.cp.ID), get(byCat, p.cat.ID), total} {
			if !counted {
				a.na++
				continue
			}
			a.sum += w * value
			a.weight += w
			a.n++
		}
		if r.HighRisk && !r.Resolved && counted && r.Result != Conform {
			card.HighRisks = append(card.HighRisks, si)
		}
	}
	score := func(a *acc) float64 {
		if a.weight == 0 {
			return 0
		}
		return round2(100 * a.sum / a.weight)
	}
	for _, n := range cps {
		if a := byCP[n.ID]; a != nil {
			card.ControlPoints = append(card.ControlPoints, GroupScore{ID: n.ID, Name: n.Title("zh-CN"), NameEn: n.Title("en"), Score: score(a), Assessed: a.n, NA: a.na, Weight: round2(a.weight)})
		}
	}
	for _, n := range cats {
		if a := byCat[n.ID]; a != nil {
			card.Categories = append(card.Categories, GroupScore{ID: n.ID, Name: n.Title("zh-CN"), NameEn: n.Title("en"), Score: score(a), Assessed: a.n, NA: a.na, Weight: round2(a.weight)})
		}
	}
	card.Overall = score(total)
	switch {
	case len(card.HighRisks) > 0:
		card.Conclusion = Poor
	case card.Overall >= th.Excellent:
		card.Conclusion = Excellent
	case card.Overall >= th.Good:
		card.Conclusion = Good
	case card.Overall >= th.Medium:
		card.Conclusion = Medium
	default:
		card.Conclusion = Poor
	}
	return card, nil
}

func get[T any](m map[string]*T, k string) *T {
	v := m[k]
	if v == nil {
		v = new(T)
		m[k] = v
	}
	return v
}

// round2 rounds half away from zero to two decimals.
func round2(x float64) float64 {
	return math.Round(x*100+copysign(1e-9, x)) / 100
}

func copysign(a, b float64) float64 { return math.Copysign(a, b) }
