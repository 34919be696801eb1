package drill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// NavigatorLayer is an ATT&CK Navigator layer (layer format 4.5), the part
// Vigil writes and reads.
type NavigatorLayer struct {
	Name        string               `json:"name"`
	Versions    NavigatorVersions    `json:"versions"`
	Domain      string               `json:"domain"`
	Description string               `json:"description,omitempty"`
	Techniques  []NavigatorTechnique `json:"techniques"`
	Gradient    *NavigatorGradient   `json:"gradient,omitempty"`
	LegendItems []NavigatorLegend    `json:"legendItems,omitempty"`
}

// NavigatorVersions are the ATT&CK, Navigator and layer format versions.
type NavigatorVersions struct {
	Attack    string `json:"attack,omitempty"`
	Navigator string `json:"navigator,omitempty"`
	Layer     string `json:"layer,omitempty"`
}

// NavigatorTechnique annotates one technique (in one tactic, when given).
// Enabled is a pointer because a missing value means enabled.
type NavigatorTechnique struct {
	TechniqueID string   `json:"techniqueID"`
	Tactic      string   `json:"tactic,omitempty"`
	Score       *float64 `json:"score,omitempty"`
	Color       string   `json:"color,omitempty"`
	Comment     string   `json:"comment,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// NavigatorGradient colours scores from MinValue to MaxValue.
type NavigatorGradient struct {
	Colors   []string `json:"colors"`
	MinValue float64  `json:"minValue"`
	MaxValue float64  `json:"maxValue"`
}

// NavigatorLegend is one legend entry.
type NavigatorLegend struct {
	Label string `json:"label"`
	Color string `json:"color"`
}

// Layer versions Vigil writes.
const (
	NavigatorLayerVersion = "4.5"
	NavigatorVersion      = "4.9.1"
	AttackVersion         = "16"
	domainEnterprise      = "enterprise-attack"
)

// Coverage colours by best defence level, and for planned cases not run.
var levelColours = map[Level]string{
	LevelNone:    "#e8453c",
	LevelLogged:  "#f4b400",
	LevelAlerted: "#7cb342",
	LevelBlocked: "#1e88e5",
}

const notRunColour = "#bdbdbd"

// Layer returns the drill's coverage as a Navigator layer: every planned
// case's technique scored by the best defence level reached (0 none,
// 1 logged, 2 alerted, 3 blocked) with a comment naming the case and the
// level per layer; planned cases not yet executed are grey without a score.
func (d *Drill) Layer() NavigatorLayer {
	l := NavigatorLayer{Name: cleanField(d.Name, MaxName) + " — planned vs detected",
		Versions: NavigatorVersions{Attack: AttackVersion, Navigator: NavigatorVersion, Layer: NavigatorLayerVersion},
		Domain:   domainEnterprise, Description: "Vigil drill coverage: score = best defence level (0 none, 1 logged, 2 alerted, 3 blocked)",
		Gradient: &NavigatorGradient{Colors: []string{levelColours[LevelNone], levelColours[LevelLogged], levelColours[LevelAlerted], levelColours[LevelBlocked]}, MinValue: 0, MaxValue: 3},
		LegendItems: []NavigatorLegend{{"Blocked", levelColours[LevelBlocked]}, {"Alerted", levelColours[LevelAlerted]},
			{"Logged", levelColours[LevelLogged]}, {"Not detected", levelColours[LevelNone]}, {"Planned, not run", notRunColour}},
		Techniques: []NavigatorTechnique{}}
	type key struct{ tech, tactic string }
	idx := map[key]int{}
	for _, o := range d.Outcomes() {
		k := key{o.Case.Technique, o.Case.Tactic}
		var parts []string
		for _, lo := range o.Layers {
			if lo.Expected || lo.Level > LevelNone {
				parts = append(parts, fmt.Sprintf("%s=%s", lo.Layer, lo.Level))
			}
		}
		comment := cleanField(o.Case.Name, MaxName)
		if o.Executed {
			comment += fmt.Sprintf(" [%s] %s", o.Level, strings.Join(parts, ", "))
		} else {
			comment += " [planned, not run]"
		}
		if i, ok := idx[k]; ok {
			t := &l.Techniques[i]
			t.Comment += "; " + comment
			if o.Executed && (t.Score == nil || float64(o.Level) < *t.Score) {
				// The weakest case of a technique colours it.
				s := float64(o.Level)
				t.Score, t.Color = &s, levelColours[o.Level]
			}
			continue
		}
		t := NavigatorTechnique{TechniqueID: o.Case.Technique, Tactic: o.Case.Tactic, Comment: comment, Color: notRunColour}
		if o.Executed {
			s := float64(o.Level)
			t.Score, t.Color = &s, levelColours[o.Level]
		}
		idx[k] = len(l.Techniques)
		l.Techniques = append(l.Techniques, t)
	}
	return l
}

// MarshalLayer writes a layer as indented JSON.
func MarshalLayer(l NavigatorLayer) ([]byte, error) {
	return json.MarshalIndent(l, "", "  ")
}

// Bounds on an imported layer.
const (
	MaxLayerBytes      = 8 << 20
	MaxLayerTechniques = 5_000
)

// ParseLayer reads a Navigator layer (format 4.x; a list holding exactly
// one layer is accepted too), checks its domain and
// technique ids, and bounds its size. Unknown fields (layout, filters,
// metadata…) are ignored. Errors wrap ErrInvalid and name the line and
// column for syntax errors.
func ParseLayer(r io.Reader) (*NavigatorLayer, error) {
	data, err := readBounded(r, MaxLayerBytes)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var l NavigatorLayer
	var err2 error
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		// Layer format 4.5 lets the Navigator save all open layers in one
		// file, as a list; a plan is made from one layer.
		var ls []NavigatorLayer
		if err2 = dec.Decode(&ls); err2 == nil {
			if len(ls) != 1 {
				return nil, fmt.Errorf("%w: navigator layer: the file holds %d layers; save the one to plan from on its own", ErrInvalid, len(ls))
			}
			l = ls[0]
		}
	} else {
		err2 = dec.Decode(&l)
	}
	if err := err2; err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%w: navigator layer: line %s: %v", ErrInvalid, lineCol(data, se.Offset), err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%w: navigator layer: line %s: %v", ErrInvalid, lineCol(data, te.Offset), err)
		}
		return nil, fmt.Errorf("%w: navigator layer: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: navigator layer: trailing data after the layer", ErrInvalid)
	}
	errs := []error{checkText("layer.name", l.Name, 1000, true)}
	if l.Domain != domainEnterprise {
		errs = append(errs, invalid("layer.domain", "%q is not supported (want %s)", cleanField(l.Domain, 40), domainEnterprise))
	}
	if v := l.Versions.Layer; v != "" && !strings.HasPrefix(v, "4.") {
		errs = append(errs, invalid("layer.versions.layer", "layer format %q is not supported (want 4.x)", cleanField(v, 20)))
	}
	if len(l.Techniques) > MaxLayerTechniques {
		errs = append(errs, invalid("layer.techniques", "%d techniques, more than %d", len(l.Techniques), MaxLayerTechniques))
		return nil, errors.Join(errs...)
	}
	for i, t := range l.Techniques {
		id, ok := NormTechnique(t.TechniqueID)
		if !ok {
			errs = append(errs, invalid(fmt.Sprintf("layer.techniques[%d].techniqueID", i), "%q is not an ATT&CK technique id", cleanField(t.TechniqueID, 40)))
			continue
		}
		l.Techniques[i].TechniqueID = id
		l.Techniques[i].Comment = cleanField(t.Comment, MaxText)
		l.Techniques[i].Tactic = cleanField(t.Tactic, MaxName)
		if len(errs) > 10 {
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &l, nil
}

// lineCol turns a byte offset into "line:column".
func lineCol(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%d:%d", line, col)
}

// Plan is a drill plan built from a layer: cases from the library and the
// techniques the library has no case for.
type Plan struct {
	Cases   []TestCase `json:"cases"`
	Missing []string   `json:"missing,omitempty"`
}

// PlanFromLayer turns the enabled techniques of a layer (with a score above
// zero when the layer scores any) into test cases from the library. A
// technique with no library case gets a manual case to be written, and is
// listed in Missing.
func PlanFromLayer(l *NavigatorLayer, lib *Library) Plan {
	scored := slices.ContainsFunc(l.Techniques, func(t NavigatorTechnique) bool { return t.Score != nil })
	var p Plan
	seen := map[string]bool{}
	for _, t := range l.Techniques {
		if t.Enabled != nil && !*t.Enabled {
			continue
		}
		if scored && (t.Score == nil || *t.Score <= 0) {
			continue
		}
		if seen[t.TechniqueID] {
			continue
		}
		seen[t.TechniqueID] = true
		cases := lib.ForTechnique(t.TechniqueID)
		if len(cases) == 0 {
			tactic := ""
			if slices.Contains(Tactics(), t.Tactic) {
				tactic = t.Tactic
			}
			p.Missing = append(p.Missing, t.TechniqueID)
			p.Cases = append(p.Cases, TestCase{ID: "layer-" + strings.ToLower(t.TechniqueID), Technique: t.TechniqueID, Tactic: tactic,
				Name: t.TechniqueID, Procedure: cleanField(t.Comment, MaxText), Source: "navigator"})
			continue
		}
		for _, c := range cases {
			if !slices.ContainsFunc(p.Cases, func(x TestCase) bool { return x.ID == c.ID }) {
				p.Cases = append(p.Cases, c)
			}
		}
	}
	return p
}
