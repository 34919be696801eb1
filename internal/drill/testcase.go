package drill

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Layer is a defence layer expected to stop or see a technique.
type Layer string

// The defence layers.
const (
	LayerFirewall   Layer = "firewall"
	LayerIDSIPS     Layer = "ids_ips"
	LayerWAF        Layer = "waf"
	LayerEDR        Layer = "edr"
	LayerSIEMRule   Layer = "siem_rule"
	LayerManual     Layer = "manual_monitoring"
	maxTechniqueLen       = 9 // T1234.567
)

// Layers returns every defence layer in report order.
func Layers() []Layer {
	return []Layer{LayerFirewall, LayerIDSIPS, LayerWAF, LayerEDR, LayerSIEMRule, LayerManual}
}

func validLayer(l Layer) bool { return slices.Contains(Layers(), l) }

// Tactics returns the ATT&CK enterprise tactics (their short names) in
// kill-chain order.
func Tactics() []string {
	return []string{"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
		"privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
		"collection", "command-and-control", "exfiltration", "impact"}
}

var techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// NormTechnique returns an ATT&CK technique id in canonical form (T1059.001)
// and whether it is one.
func NormTechnique(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > maxTechniqueLen || !techniqueRE.MatchString(s) {
		return "", false
	}
	return s, true
}

// ParentTechnique returns the technique of a sub-technique (T1059 for
// T1059.001), or id itself.
func ParentTechnique(id string) string {
	p, _, _ := strings.Cut(id, ".")
	return p
}

// Command is an attack command kept as text for the attacking team to
// read. Vigil never runs it.
type Command struct {
	Platform string `json:"platform,omitempty" yaml:"platform,omitempty"`
	Executor string `json:"executor,omitempty" yaml:"executor,omitempty"`
	Text     string `json:"text" yaml:"text"`
}

// Argument is an input argument of an imported template.
type Argument struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Type        string `json:"type,omitempty" yaml:"type,omitempty"`
	Default     string `json:"default,omitempty" yaml:"default,omitempty"`
}

// TestCase is one planned attack procedure of a drill, or a template of one
// in the library.
type TestCase struct {
	ID        string `json:"id" yaml:"id"`
	Technique string `json:"technique" yaml:"technique"`
	Tactic    string `json:"tactic" yaml:"tactic"`
	Name      string `json:"name" yaml:"name"`
	// NameZH is the Chinese name, when the library has one.
	NameZH    string `json:"name_zh,omitempty" yaml:"name_zh,omitempty"`
	Procedure string `json:"procedure" yaml:"procedure"`
	// Layers are the defence layers expected to block or see it.
	Layers    []Layer    `json:"layers" yaml:"layers"`
	Platforms []string   `json:"platforms,omitempty" yaml:"platforms,omitempty"`
	Commands  []Command  `json:"commands,omitempty" yaml:"commands,omitempty"`
	Arguments []Argument `json:"arguments,omitempty" yaml:"arguments,omitempty"`
	// Source says where the case came from: "library", "atomic-red-team",
	// "caldera", "navigator" or "manual".
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
}

// Bounds on one test case.
const (
	MaxCommands  = 50
	MaxArguments = 50
	MaxPlatforms = 20
)

// Validate checks a test case's fields and bounds.
func (c *TestCase) Validate() error {
	f := "case " + strings.ToValidUTF8(c.ID, "?")
	errs := []error{
		checkText(f+": id", c.ID, MaxName, true),
		checkText(f+": name", c.Name, MaxName, true),
		checkText(f+": name_zh", c.NameZH, MaxName, false),
		checkText(f+": procedure", c.Procedure, MaxText, false),
		checkText(f+": source", c.Source, MaxName, false),
	}
	if _, ok := NormTechnique(c.Technique); !ok || c.Technique != strings.ToUpper(c.Technique) {
		errs = append(errs, invalid(f+": technique", "%q is not an ATT&CK technique id (T1234 or T1234.001)", c.Technique))
	}
	if c.Tactic != "" && !slices.Contains(Tactics(), c.Tactic) {
		errs = append(errs, invalid(f+": tactic", "unknown tactic %q", c.Tactic))
	}
	for i, l := range c.Layers {
		if !validLayer(l) {
			errs = append(errs, invalid(fmt.Sprintf("%s: layers[%d]", f, i), "unknown layer %q", l))
		}
	}
	if len(c.Layers) > len(Layers()) {
		errs = append(errs, invalid(f+": layers", "%d layers listed", len(c.Layers)))
	}
	if len(c.Platforms) > MaxPlatforms || len(c.Commands) > MaxCommands || len(c.Arguments) > MaxArguments {
		errs = append(errs, invalid(f, "more than %d platforms, %d commands or %d arguments", MaxPlatforms, MaxCommands, MaxArguments))
		return errors.Join(errs...)
	}
	for i, p := range c.Platforms {
		errs = append(errs, checkText(fmt.Sprintf("%s: platforms[%d]", f, i), p, MaxName, true))
	}
	for i, cm := range c.Commands {
		p := fmt.Sprintf("%s: commands[%d]", f, i)
		errs = append(errs, checkText(p+".platform", cm.Platform, MaxName, false),
			checkText(p+".executor", cm.Executor, MaxName, false), checkText(p+".text", cm.Text, MaxText, false))
	}
	for i, a := range c.Arguments {
		p := fmt.Sprintf("%s: arguments[%d]", f, i)
		errs = append(errs, checkText(p+".name", a.Name, MaxName, true), checkText(p+".description", a.Description, MaxText, false),
			checkText(p+".type", a.Type, MaxName, false), checkText(p+".default", a.Default, MaxText, false))
	}
	return errors.Join(errs...)
}

// Library is a set of test-case templates keyed by id.
type Library struct {
	cases []TestCase
}

//go:embed library/*.yaml
var libraryFS embed.FS

// MaxLibraryBytes bounds one library file.
const MaxLibraryBytes = 4 << 20

// DefaultLibrary returns the embedded library of test cases for common
// techniques, written for Vigil.
func DefaultLibrary() (*Library, error) {
	entries, err := libraryFS.ReadDir("library")
	if err != nil {
		return nil, fmt.Errorf("drill: read embedded library: %w", err)
	}
	lib := &Library{}
	for _, e := range entries {
		data, err := libraryFS.ReadFile("library/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("drill: read embedded library: %w", err)
		}
		part, err := ParseLibrary(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("library/%s: %w", e.Name(), err)
		}
		if err := lib.Add(part.cases...); err != nil {
			return nil, fmt.Errorf("library/%s: %w", e.Name(), err)
		}
	}
	return lib, nil
}

// ParseLibrary reads a library YAML file: {cases: [TestCase...]}. Unknown
// fields, anchors and aliases are refused.
func ParseLibrary(r io.Reader) (*Library, error) {
	data, err := readBounded(r, MaxLibraryBytes)
	if err != nil {
		return nil, err
	}
	if _, err := yamlRoot(data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc struct {
		Cases []TestCase `yaml:"cases"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	lib := &Library{}
	if err := lib.Add(doc.Cases...); err != nil {
		return nil, err
	}
	return lib, nil
}

// Add adds cases; ids must be new.
func (l *Library) Add(cases ...TestCase) error {
	for _, c := range cases {
		if len(l.cases) >= MaxCases {
			return invalid("library", "more than %d cases", MaxCases)
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if _, ok := l.Get(c.ID); ok {
			return invalid("library", "case %q appears twice", c.ID)
		}
		l.cases = append(l.cases, c)
	}
	return nil
}

// Cases returns every case, in the order added.
func (l *Library) Cases() []TestCase { return slices.Clone(l.cases) }

// Get returns the case with id.
func (l *Library) Get(id string) (TestCase, bool) {
	for _, c := range l.cases {
		if c.ID == id {
			return c, true
		}
	}
	return TestCase{}, false
}

// ForTechnique returns the cases of a technique: those with exactly that id
// or, when there are none, those of its parent technique (for a
// sub-technique) or its sub-techniques (for a technique).
func (l *Library) ForTechnique(id string) []TestCase {
	var exact, related []TestCase
	for _, c := range l.cases {
		switch {
		case c.Technique == id:
			exact = append(exact, c)
		case ParentTechnique(c.Technique) == ParentTechnique(id) && (c.Technique == ParentTechnique(c.Technique) || id == ParentTechnique(id)):
			related = append(related, c)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return related
}

// readBounded reads at most limit bytes, refusing more.
func readBounded(r io.Reader, limit int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("drill: read: %w", err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%w: input is larger than %d bytes", ErrInvalid, limit)
	}
	return data, nil
}

// maxYAMLNodes and maxYAMLDepth bound a parsed YAML document.
const (
	maxYAMLNodes = 200_000
	maxYAMLDepth = 32
)

// yamlRoot parses YAML into a node tree, refusing empty input, anchors,
// aliases, deep nesting and oversized trees.
func yamlRoot(data []byte) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, fmt.Errorf("%w: empty document", ErrInvalid)
	}
	n := 0
	var walk func(x *yaml.Node, depth int) error
	walk = func(x *yaml.Node, depth int) error {
		n++
		switch {
		case x.Kind == yaml.AliasNode || x.Anchor != "":
			return fmt.Errorf("%w: line %d: anchors and aliases are not accepted", ErrInvalid, x.Line)
		case depth > maxYAMLDepth:
			return fmt.Errorf("%w: line %d: nested deeper than %d levels", ErrInvalid, x.Line, maxYAMLDepth)
		case n > maxYAMLNodes:
			return fmt.Errorf("%w: more than %d YAML nodes", ErrInvalid, maxYAMLNodes)
		}
		for _, c := range x.Content {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(&root, 0); err != nil {
		return nil, err
	}
	return &root, nil
}
