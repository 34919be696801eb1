package drill

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxImportBytes bounds one imported Atomic Red Team or Caldera file.
const MaxImportBytes = 4 << 20

// MaxImportCases bounds the templates one imported file yields.
const MaxImportCases = 500

// cleanField makes imported text fit a case: invalid UTF-8 and control
// characters (other than tab and newlines) replaced, cut to limit runes.
func cleanField(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > limit {
		rs := []rune(s)
		s = string(rs[:limit-1]) + "…"
	}
	return s
}

// scalarText returns a scalar node's text; other nodes give "".
func scalarText(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// atomicFile is the shape of an Atomic Red Team atomics file
// (atomics/T1234/T1234.yaml).
type atomicFile struct {
	AttackTechnique string       `yaml:"attack_technique"`
	DisplayName     string       `yaml:"display_name"`
	AtomicTests     []atomicTest `yaml:"atomic_tests"`
}

type atomicTest struct {
	Name               string               `yaml:"name"`
	GUID               string               `yaml:"auto_generated_guid"`
	Description        string               `yaml:"description"`
	SupportedPlatforms []string             `yaml:"supported_platforms"`
	InputArguments     map[string]yaml.Node `yaml:"input_arguments"`
	Executor           struct {
		Name    string `yaml:"name"`
		Command string `yaml:"command"`
		Steps   string `yaml:"steps"`
	} `yaml:"executor"`
}

// ImportAtomic reads an Atomic Red Team atomics YAML file and returns one
// test-case template per atomic test. The tactic is left for the library
// or the planner to fill in (atomics do not name it); commands are kept as
// text only. Bad input gives an error wrapping ErrInvalid.
func ImportAtomic(r io.Reader) ([]TestCase, error) {
	data, err := readBounded(r, MaxImportBytes)
	if err != nil {
		return nil, err
	}
	root, err := yamlRoot(data)
	if err != nil {
		return nil, fmt.Errorf("atomic red team: %w", err)
	}
	var f atomicFile
	if err := root.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: atomic red team: %v", ErrInvalid, err)
	}
	tech, ok := NormTechnique(f.AttackTechnique)
	if !ok {
		return nil, fmt.Errorf("%w: atomic red team: attack_technique %q is not an ATT&CK technique id", ErrInvalid, cleanField(f.AttackTechnique, 40))
	}
	if len(f.AtomicTests) == 0 {
		return nil, fmt.Errorf("%w: atomic red team: %s has no atomic_tests", ErrInvalid, tech)
	}
	if len(f.AtomicTests) > MaxImportCases {
		return nil, fmt.Errorf("%w: atomic red team: %d atomic tests, more than %d", ErrInvalid, len(f.AtomicTests), MaxImportCases)
	}
	var out []TestCase
	for i, t := range f.AtomicTests {
		if strings.TrimSpace(t.Name) == "" {
			return nil, fmt.Errorf("%w: atomic red team: atomic_tests[%d] has no name", ErrInvalid, i)
		}
		id := fmt.Sprintf("art-%s-%d", strings.ToLower(tech), i+1)
		if g := cleanField(t.GUID, 64); g != "" {
			id = "art-" + g
		}
		c := TestCase{ID: cleanField(id, MaxName), Technique: tech, Name: cleanField(t.Name, MaxName),
			Procedure: cleanField(t.Description, MaxText), Source: "atomic-red-team"}
		if len(t.SupportedPlatforms) > MaxPlatforms {
			return nil, fmt.Errorf("%w: atomic red team: atomic_tests[%d]: %d platforms, more than %d", ErrInvalid, i, len(t.SupportedPlatforms), MaxPlatforms)
		}
		for _, p := range t.SupportedPlatforms {
			if p = cleanField(p, MaxName); p != "" && !slices.Contains(c.Platforms, p) {
				c.Platforms = append(c.Platforms, p)
			}
		}
		text := t.Executor.Command
		if text == "" {
			text = t.Executor.Steps
		}
		if text != "" {
			c.Commands = []Command{{Executor: cleanField(t.Executor.Name, MaxName), Text: cleanField(text, MaxText)}}
		}
		if len(t.InputArguments) > MaxArguments {
			return nil, fmt.Errorf("%w: atomic red team: atomic_tests[%d]: %d input arguments, more than %d", ErrInvalid, i, len(t.InputArguments), MaxArguments)
		}
		for name, n := range t.InputArguments {
			a := Argument{Name: cleanField(name, MaxName)}
			if a.Name == "" {
				continue
			}
			if n.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(n.Content); j += 2 {
					v := n.Content[j+1]
					switch n.Content[j].Value {
					case "description":
						a.Description = cleanField(scalarText(v), MaxText)
					case "type":
						a.Type = cleanField(scalarText(v), MaxName)
					case "default":
						a.Default = cleanField(scalarText(v), MaxText)
					}
				}
			}
			c.Arguments = append(c.Arguments, a)
		}
		slices.SortFunc(c.Arguments, func(x, y Argument) int { return strings.Compare(x.Name, y.Name) })
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("atomic red team: atomic_tests[%d]: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// calderaAbility is the shape of a MITRE Caldera ability: the stockpile
// form (platforms: {os: {executors: {command}}}) or the newer list form
// (executors: [{name, platform, command}]).
type calderaAbility struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Tactic      string `yaml:"tactic"`
	Technique   struct {
		AttackID string `yaml:"attack_id"`
		Name     string `yaml:"name"`
	} `yaml:"technique"`
	Platforms yaml.Node `yaml:"platforms"`
	Executors []struct {
		Name     string `yaml:"name"`
		Platform string `yaml:"platform"`
		Command  string `yaml:"command"`
	} `yaml:"executors"`
}

// ImportCaldera reads a MITRE Caldera ability YAML file (a list of
// abilities, or one) and returns one test-case template per ability.
// Commands are kept as text only. Bad input gives an error wrapping
// ErrInvalid.
func ImportCaldera(r io.Reader) ([]TestCase, error) {
	data, err := readBounded(r, MaxImportBytes)
	if err != nil {
		return nil, err
	}
	root, err := yamlRoot(data)
	if err != nil {
		return nil, fmt.Errorf("caldera: %w", err)
	}
	doc := root.Content[0]
	var abilities []calderaAbility
	switch doc.Kind {
	case yaml.SequenceNode:
		err = doc.Decode(&abilities)
	case yaml.MappingNode:
		var a calderaAbility
		err = doc.Decode(&a)
		abilities = []calderaAbility{a}
	default:
		return nil, fmt.Errorf("%w: caldera: line %d: want a list of abilities or one ability", ErrInvalid, doc.Line)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: caldera: %v", ErrInvalid, err)
	}
	if len(abilities) == 0 {
		return nil, fmt.Errorf("%w: caldera: no abilities", ErrInvalid)
	}
	if len(abilities) > MaxImportCases {
		return nil, fmt.Errorf("%w: caldera: %d abilities, more than %d", ErrInvalid, len(abilities), MaxImportCases)
	}
	var out []TestCase
	for i, a := range abilities {
		tech, ok := NormTechnique(a.Technique.AttackID)
		if !ok {
			return nil, fmt.Errorf("%w: caldera: ability %d: technique.attack_id %q is not an ATT&CK technique id", ErrInvalid, i, cleanField(a.Technique.AttackID, 40))
		}
		if strings.TrimSpace(a.ID) == "" || strings.TrimSpace(a.Name) == "" {
			return nil, fmt.Errorf("%w: caldera: ability %d needs an id and a name", ErrInvalid, i)
		}
		c := TestCase{ID: cleanField("caldera-"+a.ID, MaxName), Technique: tech, Name: cleanField(a.Name, MaxName),
			Procedure: cleanField(a.Description, MaxText), Source: "caldera"}
		if t := strings.ToLower(strings.TrimSpace(a.Tactic)); slices.Contains(Tactics(), t) {
			c.Tactic = t
		}
		addCmd := func(platform, executor, text string) error {
			if len(c.Commands) >= MaxCommands {
				return fmt.Errorf("%w: caldera: ability %d: more than %d commands", ErrInvalid, i, MaxCommands)
			}
			platform = cleanField(platform, MaxName)
			if platform != "" && !slices.Contains(c.Platforms, platform) {
				if len(c.Platforms) >= MaxPlatforms {
					return fmt.Errorf("%w: caldera: ability %d: more than %d platforms", ErrInvalid, i, MaxPlatforms)
				}
				c.Platforms = append(c.Platforms, platform)
			}
			c.Commands = append(c.Commands, Command{Platform: platform, Executor: cleanField(executor, MaxName), Text: cleanField(text, MaxText)})
			return nil
		}
		// platforms: {linux: {sh: {command: ...}}, windows: {"psh,cmd": {...}}}
		if p := a.Platforms; p.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(p.Content); j += 2 {
				platform, execs := p.Content[j].Value, p.Content[j+1]
				if execs.Kind != yaml.MappingNode {
					return nil, fmt.Errorf("%w: caldera: line %d: platform %q needs executors", ErrInvalid, execs.Line, cleanField(platform, 40))
				}
				for k := 0; k+1 < len(execs.Content); k += 2 {
					ex, body := execs.Content[k].Value, execs.Content[k+1]
					cmd := ""
					if body.Kind == yaml.MappingNode {
						for m := 0; m+1 < len(body.Content); m += 2 {
							if body.Content[m].Value == "command" {
								cmd = scalarText(body.Content[m+1])
							}
						}
					}
					if err := addCmd(platform, ex, cmd); err != nil {
						return nil, err
					}
				}
			}
		} else if p.Kind != 0 {
			return nil, fmt.Errorf("%w: caldera: line %d: platforms must be a mapping", ErrInvalid, p.Line)
		}
		for _, e := range a.Executors {
			if err := addCmd(e.Platform, e.Name, e.Command); err != nil {
				return nil, err
			}
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("caldera: ability %d: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}
