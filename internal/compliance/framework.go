// Package compliance owns Vigil's control frameworks and the engines that
// work on them: the embedded framework data (MLPS 2.0 / GB/T 22239-2019 levels
// 2 and 3 with the extension modules, ISO/IEC 27001:2022 Annex A, GB/T
// 39204-2022), mappings between frameworks and baseline checks, CISO Assistant
// library import and export, custom frameworks from YAML or XLSX, MLPS
// assessment scoring, the GB/T 28449-2018 project phase template and the
// assessment report. Risk assessment (GB/T 20984-2022) lives in the risk
// subpackage. The package holds no state and no database: stores and user
// interfaces build on it.
package compliance

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Node kinds used by the embedded frameworks. Custom frameworks may use any
// short kind; only KindItem and leaves are assessable by default.
const (
	KindCategory     = "category"      // MLPS 安全类 (e.g. 安全计算环境)
	KindControlPoint = "control_point" // MLPS 控制点 (e.g. 身份鉴别)
	KindItem         = "item"          // MLPS 要求项 / 测评项
	KindTheme        = "theme"         // ISO/IEC 27001 Annex A theme
	KindControl      = "control"       // ISO/IEC 27001 Annex A control
	KindDomain       = "domain"        // GB/T 39204 activity
	KindRequirement  = "requirement"   // a generic assessable requirement
)

// Limits on framework input (YAML, CISO Assistant YAML, XLSX).
const (
	MaxFrameworkBytes = 8 << 20 // bytes of one framework file
	MaxNodes          = 20_000  // nodes in one framework
	MaxDepth          = 8       // nesting levels
	MaxIDLen          = 100     // bytes of an id or ref
	MaxNameLen        = 500     // runes of a name
	MaxTextLen        = 8_000   // runes of a description
	maxProblems       = 20      // problems listed by one Validate
)

// ErrInvalid is wrapped by every error about the content of a framework,
// mapping, assessment or import file.
var ErrInvalid = errors.New("compliance: invalid input")

// Framework is one control framework: a tree of nodes whose assessable
// leaves are the requirements an assessment answers.
type Framework struct {
	ID        string  `yaml:"id" json:"id"`
	Name      string  `yaml:"name" json:"name"`
	NameEn    string  `yaml:"name_en,omitempty" json:"name_en,omitempty"`
	Standard  string  `yaml:"standard,omitempty" json:"standard,omitempty"`   // e.g. GB/T 22239-2019
	Version   string  `yaml:"version,omitempty" json:"version,omitempty"`     // edition
	Kind      string  `yaml:"kind,omitempty" json:"kind,omitempty"`           // mlps, mlps-ext, iso27001, cii, custom
	Level     int     `yaml:"level,omitempty" json:"level,omitempty"`         // MLPS level 1-5, 0 when not graded
	Extension string  `yaml:"extension,omitempty" json:"extension,omitempty"` // MLPS extension: cloud, mobile, iot, ics
	Locale    string  `yaml:"locale,omitempty" json:"locale,omitempty"`       // language of Name/Text; zh-CN by default
	Nodes     []*Node `yaml:"nodes" json:"nodes"`
}

// Node is a category, control point, control or requirement. Text is the
// Chinese (or primary-locale) description and TextEn the English one; for
// the embedded standards both are Vigil's own paraphrases.
type Node struct {
	ID         string  `yaml:"id,omitempty" json:"id"`
	Ref        string  `yaml:"ref,omitempty" json:"ref,omitempty"` // clause or short reference, e.g. 8.1.4.1 or a)
	Kind       string  `yaml:"kind,omitempty" json:"kind,omitempty"`
	Group      string  `yaml:"group,omitempty" json:"group,omitempty"` // technical / management for MLPS categories
	Name       string  `yaml:"name,omitempty" json:"name,omitempty"`
	NameEn     string  `yaml:"name_en,omitempty" json:"name_en,omitempty"`
	Text       string  `yaml:"zh,omitempty" json:"text,omitempty"`
	TextEn     string  `yaml:"en,omitempty" json:"text_en,omitempty"`
	Weight     float64 `yaml:"w,omitempty" json:"weight,omitempty"` // importance; 0 means 1
	Assessable bool    `yaml:"assessable,omitempty" json:"assessable,omitempty"`
	Children   []*Node `yaml:"children,omitempty" json:"children,omitempty"`
	// Items is a shorthand for children of kind item; Load moves them into
	// Children.
	Items []*Node `yaml:"items,omitempty" json:"-"`
}

// EffectiveWeight is the node's weight, 1 when none is recorded.
func (n *Node) EffectiveWeight() float64 {
	if n.Weight == 0 {
		return 1
	}
	return n.Weight
}

// Title is the node's name, or its text when it has no name (items), in
// lang ("en" or "zh-CN"), falling back to the other language.
func (n *Node) Title(lang string) string {
	name, text := n.Name, n.Text
	if lang == "en" {
		name, text = first(n.NameEn, n.Name), first(n.TextEn, n.Text)
	}
	return first(name, text)
}

// Description is the node's requirement text in lang, falling back to the
// other language.
func (n *Node) Description(lang string) string {
	if lang == "en" {
		return first(n.TextEn, n.Text)
	}
	return first(n.Text, n.TextEn)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Walk calls fn for every node in depth-first order with its parent (nil
// for top-level nodes) and depth (1 for top level). It stops when fn
// returns false.
func (f *Framework) Walk(fn func(n, parent *Node, depth int) bool) {
	var walk func(nodes []*Node, parent *Node, depth int) bool
	walk = func(nodes []*Node, parent *Node, depth int) bool {
		for _, n := range nodes {
			if !fn(n, parent, depth) || !walk(n.Children, n, depth+1) {
				return false
			}
		}
		return true
	}
	walk(f.Nodes, nil, 1)
}

// Node returns the node with the given id, or nil.
func (f *Framework) Node(id string) *Node {
	var found *Node
	f.Walk(func(n, _ *Node, _ int) bool {
		if n.ID == id {
			found = n
			return false
		}
		return true
	})
	return found
}

// Requirements returns the assessable nodes in document order.
func (f *Framework) Requirements() []*Node {
	var out []*Node
	f.Walk(func(n, _ *Node, _ int) bool {
		if n.Assessable {
			out = append(out, n)
		}
		return true
	})
	return out
}

// Counts summarises a framework.
type Counts struct {
	Top          int // top-level nodes (MLPS categories, ISO themes)
	Second       int // second-level nodes (MLPS control points, ISO controls)
	Requirements int // assessable nodes
	// PerTop counts, per top-level node id, its children and its
	// assessable descendants.
	PerTop map[string][2]int
}

// Count computes the counts of f from its nodes.
func (f *Framework) Count() Counts {
	c := Counts{PerTop: map[string][2]int{}}
	var top string
	f.Walk(func(n, _ *Node, depth int) bool {
		switch depth {
		case 1:
			c.Top++
			top = n.ID
		case 2:
			c.Second++
			v := c.PerTop[top]
			v[0]++
			c.PerTop[top] = v
		}
		if n.Assessable {
			c.Requirements++
			v := c.PerTop[top]
			v[1]++
			c.PerTop[top] = v
		}
		return true
	})
	return c
}

// ParseFramework reads one framework YAML document (at most
// MaxFrameworkBytes), completes it (items become children, control-point ids
// and refs are derived, leaves become assessable) and validates it.
func ParseFramework(r io.Reader) (*Framework, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFrameworkBytes+1))
	if err != nil {
		return nil, fmt.Errorf("compliance: read framework: %w", err)
	}
	if len(data) > MaxFrameworkBytes {
		return nil, fmt.Errorf("%w: framework is larger than %d bytes", ErrInvalid, MaxFrameworkBytes)
	}
	var f Framework
	if err := decodeYAML(data, &f); err != nil {
		return nil, err
	}
	if err := f.complete(); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// decodeYAML decodes one YAML document strictly (unknown fields refused)
// after checking its node count, so that alias expansion cannot blow up.
func decodeYAML(data []byte, v any) error {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: empty document", ErrInvalid)
		}
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: line %d: only one YAML document is accepted", ErrInvalid, extra.Line)
	}
	if n := countYAML(&root, 0); n > 20*MaxNodes {
		return fmt.Errorf("%w: document has more than %d YAML nodes", ErrInvalid, 20*MaxNodes)
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// countYAML counts nodes, refusing aliases to keep the count honest: the
// framework formats have no use for anchors.
func countYAML(n *yaml.Node, depth int) int {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.AliasNode || depth > 64 {
		return 1 << 30
	}
	total := 1
	for _, c := range n.Content {
		total += countYAML(c, depth+1)
		if total > 1<<29 {
			return total
		}
	}
	return total
}

// complete fills in what the compact embedded format leaves implicit.
func (f *Framework) complete() error {
	if f.Locale == "" {
		f.Locale = "zh-CN"
	}
	count := 0
	var fill func(nodes []*Node, parent *Node, depth int) error
	fill = func(nodes []*Node, parent *Node, depth int) error {
		if depth > MaxDepth {
			return fmt.Errorf("%w: nodes nest deeper than %d levels", ErrInvalid, MaxDepth)
		}
		for i, n := range nodes {
			if n == nil {
				return fmt.Errorf("%w: empty node under %q", ErrInvalid, idOf(parent))
			}
			count++
			if count > MaxNodes {
				return fmt.Errorf("%w: more than %d nodes", ErrInvalid, MaxNodes)
			}
			for _, it := range n.Items {
				if it == nil {
					return fmt.Errorf("%w: empty item under %q", ErrInvalid, n.Name)
				}
				if it.Kind == "" {
					it.Kind = KindItem
				}
			}
			n.Children = append(n.Children, n.Items...)
			n.Items = nil
			// MLPS control points carry no id in the data: derive it from the
			// category (L3-CES1-C01) and the clause from the category's.
			if parent != nil && parent.Kind == KindCategory && (f.Kind == "mlps" || f.Kind == "mlps-ext") {
				if n.Kind == "" {
					n.Kind = KindControlPoint
				}
				if n.ID == "" {
					n.ID = fmt.Sprintf("%s-C%02d", parent.ID, i+1)
				}
				if n.Ref == "" && parent.Ref != "" {
					n.Ref = parent.Ref + "." + strconv.Itoa(i+1)
				}
			}
			if parent != nil && parent.Kind == KindControlPoint && n.Kind == KindItem && n.Ref == "" && i < 26 {
				n.Ref = string(rune('a'+i)) + ")"
			}
			if len(n.Children) == 0 && len(n.Items) == 0 {
				n.Assessable = true
			}
			if err := fill(n.Children, n, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fill(f.Nodes, nil, 1)
}

func idOf(n *Node) string {
	if n == nil {
		return "(top)"
	}
	return n.ID
}

// mlpsItemID matches GB/T 28448-style ids: L3-CES1-01.
var mlpsItemID = regexp.MustCompile(`^L([1-5])-(PES|CNS|ABS|CES|SMC|PSS|ORS|HRS|CMS|MMS)([1-5])-(\d{2})$`)

// mlpsCategoryID matches category ids: L3-CES1.
var mlpsCategoryID = regexp.MustCompile(`^L([1-5])-(PES|CNS|ABS|CES|SMC|PSS|ORS|HRS|CMS|MMS)([1-5])$`)

// problems collects validation problems up to a limit.
type problems struct {
	list      []string
	truncated bool
}

func (p *problems) addf(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.truncated = true
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err(what string) error {
	if len(p.list) == 0 {
		return nil
	}
	msg := strings.Join(p.list, "\n  ")
	if p.truncated {
		msg += "\n  (further problems not listed)"
	}
	return fmt.Errorf("%w: %s:\n  %s", ErrInvalid, what, msg)
}

func checkField(p *problems, where, field, s string, limit int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		p.addf("%s: %s is empty", where, field)
	case !utf8.ValidString(s):
		p.addf("%s: %s is not valid UTF-8", where, field)
	case len(s) > limit && utf8.RuneCountInString(s) > limit:
		p.addf("%s: %s is longer than %d characters", where, field, limit)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }):
		p.addf("%s: %s contains a control character", where, field)
	}
}

// Validate checks the framework: required fields, unique ids, bounded
// sizes, weights in (0, 1] and, for MLPS frameworks, that item ids follow
// GB/T 28448 (level and category matching their category node, sequence
// numbers rising within a category).
func (f *Framework) Validate() error {
	p := &problems{}
	checkField(p, "framework", "id", f.ID, MaxIDLen, true)
	checkField(p, "framework", "name", f.Name, MaxNameLen, true)
	checkField(p, "framework", "name_en", f.NameEn, MaxNameLen, false)
	checkField(p, "framework", "standard", f.Standard, MaxNameLen, false)
	if f.Level < 0 || f.Level > 5 {
		p.addf("framework: level %d is not 0 to 5", f.Level)
	}
	if len(f.Nodes) == 0 {
		p.addf("framework: no nodes")
	}
	seen := map[string]bool{}
	total := 0
	lastSeq := map[string]int{}
	f.Walk(func(n, parent *Node, depth int) bool {
		total++
		if total > MaxNodes {
			p.addf("framework: more than %d nodes", MaxNodes)
			return false
		}
		if depth > MaxDepth {
			p.addf("node %q: nests deeper than %d levels", n.ID, MaxDepth)
			return false
		}
		where := fmt.Sprintf("node %q", n.ID)
		checkField(p, where, "id", n.ID, MaxIDLen, true)
		if n.ID != "" {
			if seen[n.ID] {
				p.addf("%s: duplicate id", where)
			}
			seen[n.ID] = true
		}
		checkField(p, where, "ref", n.Ref, MaxIDLen, false)
		checkField(p, where, "kind", n.Kind, MaxIDLen, false)
		checkField(p, where, "name", n.Name, MaxNameLen, false)
		checkField(p, where, "name_en", n.NameEn, MaxNameLen, false)
		checkField(p, where, "text", n.Text, MaxTextLen, false)
		checkField(p, where, "text_en", n.TextEn, MaxTextLen, false)
		if n.Name == "" && n.Text == "" && n.NameEn == "" && n.TextEn == "" {
			p.addf("%s: has neither a name nor a text", where)
		}
		if n.Weight < 0 || n.Weight > 1 || n.Weight != n.Weight {
			p.addf("%s: weight %v is not in (0, 1]", where, n.Weight)
		}
		if f.Kind == "mlps" {
			f.validateMLPS(p, n, parent, depth, lastSeq)
		}
		return true
	})
	if len(f.Requirements()) == 0 && len(f.Nodes) > 0 {
		p.addf("framework: no assessable requirement")
	}
	return p.err("framework " + strconv.Quote(f.ID))
}

func (f *Framework) validateMLPS(p *problems, n, parent *Node, depth int, lastSeq map[string]int) {
	where := fmt.Sprintf("node %q", n.ID)
	switch depth {
	case 1:
		m := mlpsCategoryID.FindStringSubmatch(n.ID)
		if m == nil || n.Kind != KindCategory {
			p.addf("%s: an MLPS top-level node is a category with an id like L3-CES1", where)
			return
		}
		if lvl, _ := strconv.Atoi(m[1]); lvl != f.Level {
			p.addf("%s: level %d differs from the framework's level %d", where, lvl, f.Level)
		}
		if n.Group != "technical" && n.Group != "management" {
			p.addf("%s: group %q is neither technical nor management", where, n.Group)
		}
	case 2:
		if n.Kind != KindControlPoint || n.Name == "" {
			p.addf("%s: an MLPS second-level node is a named control point", where)
		}
	case 3:
		m := mlpsItemID.FindStringSubmatch(n.ID)
		if m == nil || n.Kind != KindItem {
			p.addf("%s: an MLPS item id looks like L3-CES1-01", where)
			return
		}
		cat := "L" + m[1] + "-" + m[2] + m[3]
		if parent == nil || !strings.HasPrefix(parent.ID, cat+"-C") {
			p.addf("%s: item is not under its category %s", where, cat)
		}
		seq, _ := strconv.Atoi(m[4])
		if seq <= lastSeq[cat] {
			p.addf("%s: sequence %d does not follow %d", where, seq, lastSeq[cat])
		}
		lastSeq[cat] = seq
		if n.Text == "" || n.TextEn == "" {
			p.addf("%s: an MLPS item needs both a Chinese and an English paraphrase", where)
		}
	default:
		p.addf("%s: MLPS frameworks have three levels", where)
	}
}

//go:embed frameworks/*.yaml
var embedded embed.FS

// Catalog is a set of frameworks and the mappings between them.
type Catalog struct {
	Frameworks map[string]*Framework
	Mappings   []Mapping
}

// Framework returns the framework with the given id, or nil.
func (c *Catalog) Framework(id string) *Framework { return c.Frameworks[id] }

// IDs returns the framework ids in order.
func (c *Catalog) IDs() []string {
	ids := make([]string, 0, len(c.Frameworks))
	for id := range c.Frameworks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Builtin loads the embedded frameworks and mappings and checks that every
// mapping resolves. It parses the data on each call; callers keep the
// result.
func Builtin() (*Catalog, error) {
	return LoadCatalog(embedded, "frameworks")
}

// LoadCatalog loads every *.yaml framework in dir of fsys, and the mapping
// files (names starting with "mappings"), and validates the mappings
// against the frameworks.
func LoadCatalog(fsys fs.FS, dir string) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("compliance: read %s: %w", dir, err)
	}
	c := &Catalog{Frameworks: map[string]*Framework{}}
	var mappingFiles []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		p := path.Join(dir, name)
		if strings.HasPrefix(name, "mappings") {
			mappingFiles = append(mappingFiles, p)
			continue
		}
		fr, err := openFramework(fsys, p)
		if err != nil {
			return nil, err
		}
		if c.Frameworks[fr.ID] != nil {
			return nil, fmt.Errorf("%w: %s: framework id %q is used twice", ErrInvalid, name, fr.ID)
		}
		c.Frameworks[fr.ID] = fr
	}
	for _, p := range mappingFiles {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("compliance: read %s: %w", p, err)
		}
		ms, err := ParseMappings(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.Base(p), err)
		}
		c.Mappings = append(c.Mappings, ms...)
	}
	if err := c.CheckMappings(); err != nil {
		return nil, err
	}
	return c, nil
}

func openFramework(fsys fs.FS, p string) (*Framework, error) {
	fh, err := fsys.Open(p)
	if err != nil {
		return nil, fmt.Errorf("compliance: open %s: %w", p, err)
	}
	defer fh.Close()
	fr, err := ParseFramework(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Base(p), err)
	}
	return fr, nil
}
