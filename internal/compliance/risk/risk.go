// Package risk owns Vigil's information security risk assessment after GB/T
// 20984-2022: tiered assets (business asset → system asset → component)
// with business importance and C/I/A values, threats, vulnerabilities with
// existing controls, pluggable risk computation (RiskMethod) with the
// standard's default formula and a matrix alternative, roll-up to business
// risk, the risk register with treatment, heat-map counts and the risk
// assessment report. It holds no state; stores build on it.
package risk

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error about the content of an assessment.
var ErrInvalid = errors.New("risk: invalid input")

// Tier is the level of an asset in the GB/T 20984-2022 asset hierarchy.
type Tier string

// Asset tiers.
const (
	TierBusiness  Tier = "business"  // 业务资产
	TierSystem    Tier = "system"    // 系统资产
	TierComponent Tier = "component" // 系统组件和单元资产
)

// Asset is one identified asset. Parent links a system asset to the
// business asset it supports and a component to its system asset.
type Asset struct {
	ID         string `yaml:"id" json:"id"`
	Name       string `yaml:"name" json:"name"`
	Tier       Tier   `yaml:"tier" json:"tier"`
	Parent     string `yaml:"parent,omitempty" json:"parent,omitempty"`
	Importance int    `yaml:"importance,omitempty" json:"importance,omitempty"` // business importance 1-5 (business assets)
	C          int    `yaml:"c,omitempty" json:"c,omitempty"`                   // confidentiality 1-5
	I          int    `yaml:"i,omitempty" json:"i,omitempty"`                   // integrity 1-5
	A          int    `yaml:"a,omitempty" json:"a,omitempty"`                   // availability 1-5
	Owner      string `yaml:"owner,omitempty" json:"owner,omitempty"`
}

// Value is the asset value used in the loss formula: the highest of C, I
// and A for system assets and components, the business importance for
// business assets.
func (a *Asset) Value() int {
	if a.Tier == TierBusiness {
		return a.Importance
	}
	return max(a.C, a.I, a.A)
}

// Threat is one threat with its GB/T 20984 attributes. Frequency is the
// threat value T (1-5).
type Threat struct {
	ID        string `yaml:"id" json:"id"`
	Name      string `yaml:"name" json:"name"`
	Source    string `yaml:"source,omitempty" json:"source,omitempty"` // e.g. 人为/环境, internal/external
	Actor     string `yaml:"actor,omitempty" json:"actor,omitempty"`
	Type      string `yaml:"type,omitempty" json:"type,omitempty"`
	Motive    string `yaml:"motive,omitempty" json:"motive,omitempty"`
	Timing    string `yaml:"timing,omitempty" json:"timing,omitempty"`
	Frequency int    `yaml:"frequency" json:"frequency"`
}

// ControlKind says what an existing control does.
type ControlKind string

// Existing control kinds.
const (
	Preventive ControlKind = "preventive" // 预防性: makes the threat less likely to succeed
	Protective ControlKind = "protective" // 保护性: limits the loss when it does
)

// Control is an existing security measure recorded against a vulnerability.
type Control struct {
	Name      string      `yaml:"name" json:"name"`
	Kind      ControlKind `yaml:"kind" json:"kind"`
	Effective bool        `yaml:"effective" json:"effective"`
}

// Vulnerability is one weakness of one asset with severity V (1-5).
type Vulnerability struct {
	ID       string    `yaml:"id" json:"id"`
	Name     string    `yaml:"name" json:"name"`
	Asset    string    `yaml:"asset" json:"asset"`
	Severity int       `yaml:"severity" json:"severity"`
	Source   string    `yaml:"source,omitempty" json:"source,omitempty"` // e.g. a finding id, or "manual"
	Controls []Control `yaml:"controls,omitempty" json:"controls,omitempty"`
}

// Scenario pairs a threat with a vulnerability (and so an asset).
type Scenario struct {
	ID            string `yaml:"id" json:"id"`
	Threat        string `yaml:"threat" json:"threat"`
	Vulnerability string `yaml:"vulnerability" json:"vulnerability"`
}

// Level is a risk level name: 很低, 低, 中, 高, 很高 by default.
type Level string

// Default levels.
const (
	VeryLow  Level = "很低"
	Low      Level = "低"
	Medium   Level = "中"
	High     Level = "高"
	VeryHigh Level = "很高"
)

// English returns the English name of a default level.
func (l Level) English() string {
	switch l {
	case VeryLow:
		return "very low"
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case VeryHigh:
		return "very high"
	}
	return string(l)
}

// Band maps risk values Min..Max (inclusive) to a level.
type Band struct {
	Min   int   `yaml:"min" json:"min"`
	Max   int   `yaml:"max" json:"max"`
	Level Level `yaml:"level" json:"level"`
}

// DefaultBands: 1-5 很低, 6-10 低, 11-15 中, 16-20 高, 21-25 很高.
func DefaultBands() []Band {
	return []Band{{1, 5, VeryLow}, {6, 10, Low}, {11, 15, Medium}, {16, 20, High}, {21, 25, VeryHigh}}
}

// CheckBands verifies that bands cover 1..25 exactly, in order.
func CheckBands(bands []Band) error {
	next := 1
	for _, b := range bands {
		if b.Min != next || b.Max < b.Min || b.Level == "" {
			return fmt.Errorf("%w: bands must cover 1 to 25 in order without gaps (problem at %d-%d)", ErrInvalid, b.Min, b.Max)
		}
		next = b.Max + 1
	}
	if next != 26 {
		return fmt.Errorf("%w: bands end at %d, not 25", ErrInvalid, next-1)
	}
	return nil
}

func levelOf(bands []Band, r int) Level {
	for _, b := range bands {
		if r >= b.Min && r <= b.Max {
			return b.Level
		}
	}
	return ""
}

// levelRank is the position of l in bands (0 lowest), -1 when unknown.
func levelRank(bands []Band, l Level) int {
	return slices.IndexFunc(bands, func(b Band) bool { return b.Level == l })
}

// Evaluation is the computed risk of one scenario.
type Evaluation struct {
	T          int     `json:"t"`          // threat frequency
	V          int     `json:"v"`          // vulnerability severity as recorded
	VL         int     `json:"v_l"`        // severity after preventive controls
	VF         int     `json:"v_f"`        // severity after protective controls
	A          int     `json:"a"`          // asset value
	Likelihood float64 `json:"likelihood"` // L, unrounded
	Loss       float64 `json:"loss"`       // F, unrounded
	R          int     `json:"r"`          // 1-25
	Level      Level   `json:"level"`
}

// LRank and FRank are L and F rounded half up to 1..5, the heat-map axes.
func (e Evaluation) LRank() int { return clamp(roundHalfUp(e.Likelihood), 1, 5) }

// FRank is F rounded half up to 1..5.
func (e Evaluation) FRank() int { return clamp(roundHalfUp(e.Loss), 1, 5) }

// RiskMethod computes the risk of a threat exploiting a vulnerability of an
// asset. Implementations are deterministic.
type RiskMethod interface {
	Name() string
	Evaluate(a *Asset, t *Threat, v *Vulnerability) (Evaluation, error)
	// Bands are the levels the method's R values map to.
	Bands() []Band
}

// effective returns the severities after existing controls: each kind of
// effective control lowers the severity on its side by one, never below 1.
func effective(v *Vulnerability) (vl, vf int) {
	vl, vf = v.Severity, v.Severity
	var prev, prot bool
	for _, c := range v.Controls {
		if !c.Effective {
			continue
		}
		switch c.Kind {
		case Preventive:
			prev = true
		case Protective:
			prot = true
		}
	}
	if prev {
		vl = max(1, vl-1)
	}
	if prot {
		vf = max(1, vf-1)
	}
	return vl, vf
}

func checkInputs(a *Asset, t *Threat, v *Vulnerability) error {
	switch {
	case a == nil || t == nil || v == nil:
		return fmt.Errorf("%w: asset, threat and vulnerability are all needed", ErrInvalid)
	case a.Value() < 1 || a.Value() > 5:
		return fmt.Errorf("%w: asset %s: value %d is not 1 to 5", ErrInvalid, a.ID, a.Value())
	case t.Frequency < 1 || t.Frequency > 5:
		return fmt.Errorf("%w: threat %s: frequency %d is not 1 to 5", ErrInvalid, t.ID, t.Frequency)
	case v.Severity < 1 || v.Severity > 5:
		return fmt.Errorf("%w: vulnerability %s: severity %d is not 1 to 5", ErrInvalid, v.ID, v.Severity)
	}
	return nil
}

// Formula is the default method of GB/T 20984-2022 (documented in
// docs/compliance.md): L = √(T·V_L), F = √(A·V_F), R = L·F rounded half up
// to an integer in 1..25, level by Bands.
type Formula struct {
	LevelBands []Band // nil: DefaultBands
}

var _ RiskMethod = Formula{}

// Name implements RiskMethod.
func (Formula) Name() string { return "formula" }

// Bands implements RiskMethod.
func (m Formula) Bands() []Band {
	if m.LevelBands == nil {
		return DefaultBands()
	}
	return m.LevelBands
}

// Evaluate implements RiskMethod.
func (m Formula) Evaluate(a *Asset, t *Threat, v *Vulnerability) (Evaluation, error) {
	if err := checkInputs(a, t, v); err != nil {
		return Evaluation{}, err
	}
	vl, vf := effective(v)
	e := Evaluation{T: t.Frequency, V: v.Severity, VL: vl, VF: vf, A: a.Value()}
	e.Likelihood = math.Sqrt(float64(e.T * vl))
	e.Loss = math.Sqrt(float64(e.A * vf))
	e.R = clamp(roundHalfUp(e.Likelihood*e.Loss), 1, 25)
	e.Level = levelOf(m.Bands(), e.R)
	return e, nil
}

// Matrix is a risk matrix: Grid[l-1][f-1] is the index into Levels of the
// risk for likelihood rank l and loss rank f. Ranks come from the same L and
// F as the formula, rounded half up to 1..N where N is the grid's size
// (values are scaled from 1..5 when N ≠ 5).
type Matrix struct {
	Name   string  `yaml:"name" json:"name"`
	Levels []Level `yaml:"levels" json:"levels"` // lowest first
	Grid   [][]int `yaml:"grid" json:"grid"`
}

// DefaultMatrix is Vigil's default 5×5 matrix (rows likelihood 1-5, columns
// loss 1-5); it agrees with the formula's bands on the products of ranks.
func DefaultMatrix() Matrix {
	g := make([][]int, 5)
	for l := 1; l <= 5; l++ {
		g[l-1] = make([]int, 5)
		for f := 1; f <= 5; f++ {
			g[l-1][f-1] = levelRank(DefaultBands(), levelOf(DefaultBands(), l*f))
		}
	}
	return Matrix{Name: "default 5x5", Levels: []Level{VeryLow, Low, Medium, High, VeryHigh}, Grid: g}
}

// Check verifies the matrix shape and cell values.
func (mx Matrix) Check() error {
	n := len(mx.Grid)
	if n < 2 || n > 10 || len(mx.Levels) < 2 || len(mx.Levels) > 10 {
		return fmt.Errorf("%w: a matrix has 2 to 10 rows and 2 to 10 levels", ErrInvalid)
	}
	for i, row := range mx.Grid {
		if len(row) != len(mx.Grid[0]) || len(row) < 2 || len(row) > 10 {
			return fmt.Errorf("%w: matrix row %d has %d cells", ErrInvalid, i+1, len(row))
		}
		for j, c := range row {
			if c < 0 || c >= len(mx.Levels) {
				return fmt.Errorf("%w: matrix cell %d,%d names level %d of %d", ErrInvalid, i+1, j+1, c, len(mx.Levels))
			}
		}
	}
	return nil
}

// MatrixMethod looks the level up in a matrix. R is reported as the
// product of the likelihood and loss ranks on the 1..5 scale so that
// registers sort the same way under both methods.
type MatrixMethod struct {
	Matrix Matrix
}

var _ RiskMethod = MatrixMethod{}

// Name implements RiskMethod.
func (MatrixMethod) Name() string { return "matrix" }

// Bands implements RiskMethod: one band per matrix level is not meaningful,
// so the default bands serve for display.
func (MatrixMethod) Bands() []Band { return DefaultBands() }

// Evaluate implements RiskMethod.
func (m MatrixMethod) Evaluate(a *Asset, t *Threat, v *Vulnerability) (Evaluation, error) {
	if err := checkInputs(a, t, v); err != nil {
		return Evaluation{}, err
	}
	if err := m.Matrix.Check(); err != nil {
		return Evaluation{}, err
	}
	e, _ := Formula{}.Evaluate(a, t, v)
	rows, cols := len(m.Matrix.Grid), len(m.Matrix.Grid[0])
	li := scale(e.Likelihood, rows)
	fi := scale(e.Loss, cols)
	e.Level = m.Matrix.Levels[m.Matrix.Grid[li][fi]]
	e.R = e.LRank() * e.FRank()
	return e, nil
}

// scale maps a 1..5 value to an index 0..n-1.
func scale(x float64, n int) int {
	return clamp(roundHalfUp((x-1)*float64(n-1)/4), 0, n-1)
}

// roundHalfUp rounds x ≥ 0 half up, tolerating float noise (√12·√15 and
// the like).
func roundHalfUp(x float64) int {
	return int(math.Floor(x + 0.5 + 1e-9))
}

func clamp(x, lo, hi int) int { return min(max(x, lo), hi) }

// Treatment is a risk treatment choice.
type Treatment string

// Treatments.
const (
	Reduce   Treatment = "reduce"   // 降低
	Transfer Treatment = "transfer" // 转移
	Avoid    Treatment = "avoid"    // 规避
	Accept   Treatment = "accept"   // 接受
)

// Chinese returns the Chinese name of t.
func (t Treatment) Chinese() string {
	switch t {
	case Reduce:
		return "降低"
	case Transfer:
		return "转移"
	case Avoid:
		return "规避"
	case Accept:
		return "接受"
	}
	return string(t)
}

// Decision records how a scenario's risk is treated.
type Decision struct {
	Scenario  string    `yaml:"scenario" json:"scenario"`
	Treatment Treatment `yaml:"treatment" json:"treatment"`
	Owner     string    `yaml:"owner,omitempty" json:"owner,omitempty"`
	Due       time.Time `yaml:"due,omitempty" json:"due,omitzero"`
	Measure   string    `yaml:"measure,omitempty" json:"measure,omitempty"` // the security requirement it yields
}

// Assessment is the input of a risk assessment.
type Assessment struct {
	Name            string          `yaml:"name" json:"name"`
	Assets          []Asset         `yaml:"assets" json:"assets"`
	Threats         []Threat        `yaml:"threats" json:"threats"`
	Vulnerabilities []Vulnerability `yaml:"vulnerabilities" json:"vulnerabilities"`
	Scenarios       []Scenario      `yaml:"scenarios" json:"scenarios"`
	Decisions       []Decision      `yaml:"decisions,omitempty" json:"decisions,omitempty"`
}

// Entry is one row of the risk register.
type Entry struct {
	Scenario      Scenario       `json:"scenario"`
	Asset         *Asset         `json:"asset"`
	Threat        *Threat        `json:"threat"`
	Vulnerability *Vulnerability `json:"vulnerability"`
	Eval          Evaluation     `json:"evaluation"`
	Decision      *Decision      `json:"decision,omitempty"`
}

// Rollup is the risk of an asset aggregated from the risks below it.
type Rollup struct {
	Asset *Asset `json:"asset"`
	R     int    `json:"r"`     // highest R at or below the asset; 0 when none
	Level Level  `json:"level"` // level of R
	Count int    `json:"count"` // scenarios counted
}

// Result is the output of Evaluate.
type Result struct {
	Method   string   `json:"method"`
	Register []Entry  `json:"register"` // sorted by R descending, then scenario id
	Systems  []Rollup `json:"systems"`  // system assets, input order
	Business []Rollup `json:"business"` // business assets, input order
	// HeatMap[l-1][f-1] counts register entries with likelihood rank l and
	// loss rank f.
	HeatMap [5][5]int `json:"heat_map"`
	// ByLevel counts register entries per level.
	ByLevel map[Level]int `json:"by_level"`
	Bands   []Band        `json:"bands"`
}

// Limits on an assessment.
const (
	MaxAssets    = 10_000
	MaxThreats   = 2_000
	MaxVulns     = 50_000
	MaxScenarios = 100_000
)

// Validate checks ids, references, ranges and the asset hierarchy.
func (as *Assessment) Validate() error {
	var errs []string
	add := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	if len(as.Assets) > MaxAssets || len(as.Threats) > MaxThreats || len(as.Vulnerabilities) > MaxVulns || len(as.Scenarios) > MaxScenarios || len(as.Decisions) > MaxScenarios {
		return fmt.Errorf("%w: too many entries (limits: %d assets, %d threats, %d vulnerabilities, %d scenarios)", ErrInvalid, MaxAssets, MaxThreats, MaxVulns, MaxScenarios)
	}
	assets := map[string]*Asset{}
	for i := range as.Assets {
		a := &as.Assets[i]
		if a.ID == "" || len(a.ID) > 100 || assets[a.ID] != nil {
			add("asset %d: id %q is empty, too long or used twice", i+1, a.ID)
			continue
		}
		assets[a.ID] = a
	}
	in15 := func(x int) bool { return x >= 1 && x <= 5 }
	for i := range as.Assets {
		a := &as.Assets[i]
		switch a.Tier {
		case TierBusiness:
			if !in15(a.Importance) {
				add("asset %s: business importance %d is not 1 to 5", a.ID, a.Importance)
			}
			if a.Parent != "" {
				add("asset %s: a business asset has no parent", a.ID)
			}
		case TierSystem, TierComponent:
			if !in15(a.C) || !in15(a.I) || !in15(a.A) {
				add("asset %s: C, I and A must each be 1 to 5", a.ID)
			}
			want := TierBusiness
			if a.Tier == TierComponent {
				want = TierSystem
			}
			if p := assets[a.Parent]; a.Parent != "" && (p == nil || p.Tier != want) {
				add("asset %s: parent %q is not a %s asset", a.ID, a.Parent, want)
			}
			if a.Tier == TierComponent && a.Parent == "" {
				add("asset %s: a component needs its system asset as parent", a.ID)
			}
		default:
			add("asset %s: tier %q is not business, system or component", a.ID, a.Tier)
		}
	}
	threats := map[string]bool{}
	for _, t := range as.Threats {
		if t.ID == "" || threats[t.ID] {
			add("threat %q: id empty or used twice", t.ID)
		}
		threats[t.ID] = true
		if !in15(t.Frequency) {
			add("threat %s: frequency %d is not 1 to 5", t.ID, t.Frequency)
		}
	}
	vulns := map[string]bool{}
	for _, v := range as.Vulnerabilities {
		if v.ID == "" || vulns[v.ID] {
			add("vulnerability %q: id empty or used twice", v.ID)
		}
		vulns[v.ID] = true
		if !in15(v.Severity) {
			add("vulnerability %s: severity %d is not 1 to 5", v.ID, v.Severity)
		}
		if a := assets[v.Asset]; a == nil || a.Tier == TierBusiness {
			add("vulnerability %s: asset %q is not a system asset or component", v.ID, v.Asset)
		}
		for _, c := range v.Controls {
			if c.Kind != Preventive && c.Kind != Protective {
				add("vulnerability %s: control %q kind %q is not preventive or protective", v.ID, c.Name, c.Kind)
			}
		}
	}
	scen := map[string]bool{}
	for _, s := range as.Scenarios {
		if s.ID == "" || scen[s.ID] {
			add("scenario %q: id empty or used twice", s.ID)
		}
		scen[s.ID] = true
		if !threats[s.Threat] {
			add("scenario %s: threat %q does not exist", s.ID, s.Threat)
		}
		if !vulns[s.Vulnerability] {
			add("scenario %s: vulnerability %q does not exist", s.ID, s.Vulnerability)
		}
	}
	decided := map[string]bool{}
	for _, d := range as.Decisions {
		if !scen[d.Scenario] || decided[d.Scenario] {
			add("decision for %q: scenario does not exist or is decided twice", d.Scenario)
		}
		decided[d.Scenario] = true
		switch d.Treatment {
		case Reduce, Transfer, Avoid, Accept:
		default:
			add("decision for %s: treatment %q is not reduce, transfer, avoid or accept", d.Scenario, d.Treatment)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrInvalid, strings.Join(errs, "\n  "))
	}
	return nil
}

// Evaluate validates the assessment, computes every scenario with method
// (Formula{} when nil) and builds the register, roll-ups and heat map.
//
// Roll-up rule: a system asset's risk is the highest R among scenarios on
// the asset itself and on its components; a business asset's risk is the
// highest R among the system assets that support it. Levels come from the
// method's bands.
func Evaluate(as *Assessment, method RiskMethod) (*Result, error) {
	if method == nil {
		method = Formula{}
	}
	if err := CheckBands(method.Bands()); err != nil {
		return nil, err
	}
	if err := as.Validate(); err != nil {
		return nil, err
	}
	assets := map[string]*Asset{}
	for i := range as.Assets {
		assets[as.Assets[i].ID] = &as.Assets[i]
	}
	threats := map[string]*Threat{}
	for i := range as.Threats {
		threats[as.Threats[i].ID] = &as.Threats[i]
	}
	vulns := map[string]*Vulnerability{}
	for i := range as.Vulnerabilities {
		vulns[as.Vulnerabilities[i].ID] = &as.Vulnerabilities[i]
	}
	decisions := map[string]*Decision{}
	for i := range as.Decisions {
		decisions[as.Decisions[i].Scenario] = &as.Decisions[i]
	}
	res := &Result{Method: method.Name(), ByLevel: map[Level]int{}, Bands: method.Bands()}
	sysR := map[string]*Rollup{}
	for _, s := range as.Scenarios {
		v := vulns[s.Vulnerability]
		a := assets[v.Asset]
		e, err := method.Evaluate(a, threats[s.Threat], v)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s.ID, err)
		}
		res.Register = append(res.Register, Entry{Scenario: s, Asset: a, Threat: threats[s.Threat], Vulnerability: v, Eval: e, Decision: decisions[s.ID]})
		res.HeatMap[e.LRank()-1][e.FRank()-1]++
		res.ByLevel[e.Level]++
		sys := a
		if a.Tier == TierComponent {
			sys = assets[a.Parent]
		}
		r := sysR[sys.ID]
		if r == nil {
			r = &Rollup{Asset: sys}
			sysR[sys.ID] = r
		}
		r.Count++
		if e.R > r.R {
			r.R = e.R
		}
	}
	slices.SortStableFunc(res.Register, func(x, y Entry) int {
		if x.Eval.R != y.Eval.R {
			return y.Eval.R - x.Eval.R
		}
		return strings.Compare(x.Scenario.ID, y.Scenario.ID)
	})
	bands := method.Bands()
	for i := range as.Assets {
		a := &as.Assets[i]
		if a.Tier != TierSystem {
			continue
		}
		r := sysR[a.ID]
		if r == nil {
			r = &Rollup{Asset: a}
		}
		r.Level = levelOf(bands, r.R)
		res.Systems = append(res.Systems, *r)
	}
	for i := range as.Assets {
		b := &as.Assets[i]
		if b.Tier != TierBusiness {
			continue
		}
		ru := Rollup{Asset: b}
		for _, s := range res.Systems {
			if s.Asset.Parent == b.ID {
				ru.Count += s.Count
				ru.R = max(ru.R, s.R)
			}
		}
		ru.Level = levelOf(bands, ru.R)
		res.Business = append(res.Business, ru)
	}
	return res, nil
}
