package intel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// SchemaSet validates STIX objects against the STIX 2.1 JSON schemas (the
// OASIS cti-stix2-json-schemas layout: common/, sdos/, sros/, observables/).
//
// It implements the subset of JSON Schema those files use: $ref (relative
// files and #/definitions/ pointers), allOf, anyOf, oneOf, not, if/then,
// type, enum, const, required, properties, patternProperties,
// additionalProperties, items, minItems, maxItems, minimum, maximum,
// minLength, maxLength, minProperties and pattern. A pattern RE2 cannot
// compile (ECMA-only syntax) is not checked; format is not checked.
type SchemaSet struct {
	docs map[string]any            // by slash path relative to the root
	res  map[string]*regexp.Regexp // compiled patterns; nil value = skipped
}

// Schema loading bounds.
const (
	maxSchemaFiles = 1000
	maxSchemaBytes = 4 << 20
	maxSchemaDepth = 64
)

// LoadSchemas reads every .json file under dir.
func LoadSchemas(dir string) (*SchemaSet, error) {
	s := &SchemaSet{docs: map[string]any{}, res: map[string]*regexp.Regexp{}}
	root := os.DirFS(dir)
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		if len(s.docs) >= maxSchemaFiles {
			return fmt.Errorf("%w: more than %d schema files", ErrTooLarge, maxSchemaFiles)
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := readBounded(f, maxSchemaBytes)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		s.docs[p] = doc
		s.compilePatterns(doc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stix schemas %s: %w", filepath.Clean(dir), err)
	}
	if len(s.docs) == 0 {
		return nil, fmt.Errorf("stix schemas %s: no .json files", filepath.Clean(dir))
	}
	return s, nil
}

func (s *SchemaSet) compilePatterns(n any) {
	switch n := n.(type) {
	case map[string]any:
		for k, v := range n {
			if str, ok := v.(string); ok && k == "pattern" {
				if _, done := s.res[str]; !done {
					re, err := regexp.Compile(str)
					if err != nil {
						re = nil
					}
					s.res[str] = re
				}
			}
			if k == "patternProperties" {
				if pp, ok := v.(map[string]any); ok {
					for pat := range pp {
						re, err := regexp.Compile(pat)
						if err != nil {
							re = nil
						}
						s.res[pat] = re
					}
				}
			}
			s.compilePatterns(v)
		}
	case []any:
		for _, v := range n {
			s.compilePatterns(v)
		}
	}
}

// SchemaFor returns the schema file used for a STIX type, or "" when the
// set has none (custom types are then checked for common properties only).
func (s *SchemaSet) SchemaFor(stixType string) string {
	for _, dir := range []string{"sdos", "sros", "observables", "common"} {
		p := dir + "/" + stixType + ".json"
		if _, ok := s.docs[p]; ok {
			return p
		}
	}
	return ""
}

// Validate checks one decoded STIX object against the schema of its type.
func (s *SchemaSet) Validate(stixType string, obj map[string]any) error {
	file := s.SchemaFor(stixType)
	if file == "" {
		return nil
	}
	return s.validate(file, s.docs[file], obj, "", 0)
}

var errSchemaDepth = errors.New("schema nesting too deep")

func (s *SchemaSet) resolve(file, ref string) (string, any, error) {
	target, frag, _ := strings.Cut(ref, "#")
	if target != "" {
		if strings.Contains(target, "://") {
			// absolute $id style: keep the last two path elements
			parts := strings.Split(target, "/")
			if len(parts) >= 2 {
				target = parts[len(parts)-2] + "/" + parts[len(parts)-1]
			}
		} else {
			target = path.Clean(path.Join(path.Dir(file), target))
		}
		file = target
	}
	doc, ok := s.docs[file]
	if !ok {
		return "", nil, fmt.Errorf("$ref %q: no schema file %s", ref, file)
	}
	if frag != "" {
		for _, part := range strings.Split(strings.Trim(frag, "/"), "/") {
			m, ok := doc.(map[string]any)
			if !ok {
				return "", nil, fmt.Errorf("$ref %q: bad pointer", ref)
			}
			if doc, ok = m[part]; !ok {
				return "", nil, fmt.Errorf("$ref %q: %s not found", ref, part)
			}
		}
	}
	return file, doc, nil
}

func (s *SchemaSet) validate(file string, schema any, v any, at string, depth int) error {
	if depth > maxSchemaDepth {
		return errSchemaDepth
	}
	sch, ok := schema.(map[string]any)
	if !ok {
		if b, ok := schema.(bool); ok && !b {
			return fmt.Errorf("%s: not allowed", loc(at))
		}
		return nil
	}
	if ref, ok := sch["$ref"].(string); ok {
		f, sub, err := s.resolve(file, ref)
		if err != nil {
			return err
		}
		if err := s.validate(f, sub, v, at, depth+1); err != nil {
			return err
		}
	}
	if t, ok := sch["type"]; ok && !typeMatches(t, v) {
		return fmt.Errorf("%s: want type %v", loc(at), t)
	}
	if e, ok := sch["enum"].([]any); ok && !inEnum(e, v) {
		return fmt.Errorf("%s: %v not one of %v", loc(at), short(v), e)
	}
	if c, ok := sch["const"]; ok && !jsonEqual(c, v) {
		return fmt.Errorf("%s: want %v", loc(at), c)
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, ok := sch[key].([]any)
		if !ok {
			continue
		}
		n := 0
		var first error
		for _, sub := range list {
			err := s.validate(file, sub, v, at, depth+1)
			if errors.Is(err, errSchemaDepth) {
				return err
			}
			if err == nil {
				n++
			} else if first == nil {
				first = err
			}
			if key == "allOf" && err != nil {
				return err
			}
		}
		if key == "anyOf" && n == 0 {
			return fmt.Errorf("%s: matches none of anyOf (%v)", loc(at), first)
		}
		if key == "oneOf" && n != 1 {
			return fmt.Errorf("%s: matches %d of oneOf, want 1", loc(at), n)
		}
	}
	if not, ok := sch["not"]; ok {
		if err := s.validate(file, not, v, at, depth+1); err == nil {
			return fmt.Errorf("%s: matches a forbidden schema", loc(at))
		} else if errors.Is(err, errSchemaDepth) {
			return err
		}
	}
	if cond, ok := sch["if"]; ok {
		if s.validate(file, cond, v, at, depth+1) == nil {
			if then, ok := sch["then"]; ok {
				if err := s.validate(file, then, v, at, depth+1); err != nil {
					return err
				}
			}
		} else if els, ok := sch["else"]; ok {
			if err := s.validate(file, els, v, at, depth+1); err != nil {
				return err
			}
		}
	}
	switch val := v.(type) {
	case map[string]any:
		return s.validateObject(file, sch, val, at, depth)
	case []any:
		if n, ok := num(sch["minItems"]); ok && float64(len(val)) < n {
			return fmt.Errorf("%s: fewer than %v items", loc(at), n)
		}
		if n, ok := num(sch["maxItems"]); ok && float64(len(val)) > n {
			return fmt.Errorf("%s: more than %v items", loc(at), n)
		}
		if items, ok := sch["items"]; ok {
			for i, it := range val {
				if err := s.validate(file, items, it, fmt.Sprintf("%s[%d]", at, i), depth+1); err != nil {
					return err
				}
			}
		}
	case string:
		if n, ok := num(sch["minLength"]); ok && float64(len([]rune(val))) < n {
			return fmt.Errorf("%s: shorter than %v", loc(at), n)
		}
		if n, ok := num(sch["maxLength"]); ok && float64(len([]rune(val))) > n {
			return fmt.Errorf("%s: longer than %v", loc(at), n)
		}
		if p, ok := sch["pattern"].(string); ok {
			if re := s.res[p]; re != nil && !re.MatchString(val) {
				return fmt.Errorf("%s: %q does not match %s", loc(at), clip(val), p)
			}
		}
	case float64:
		if n, ok := num(sch["minimum"]); ok && val < n {
			return fmt.Errorf("%s: below minimum %v", loc(at), n)
		}
		if n, ok := num(sch["maximum"]); ok && val > n {
			return fmt.Errorf("%s: above maximum %v", loc(at), n)
		}
	}
	return nil
}

func (s *SchemaSet) validateObject(file string, sch map[string]any, val map[string]any, at string, depth int) error {
	if req, ok := sch["required"].([]any); ok {
		for _, r := range req {
			if k, ok := r.(string); ok {
				if _, present := val[k]; !present {
					return fmt.Errorf("%s: missing required property %s", loc(at), k)
				}
			}
		}
	}
	if n, ok := num(sch["minProperties"]); ok && float64(len(val)) < n {
		return fmt.Errorf("%s: fewer than %v properties", loc(at), n)
	}
	props, _ := sch["properties"].(map[string]any)
	pprops, _ := sch["patternProperties"].(map[string]any)
	keys := make([]string, 0, len(val))
	for k := range val {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		matched := false
		if sub, ok := props[k]; ok {
			matched = true
			if err := s.validate(file, sub, val[k], at+"."+k, depth+1); err != nil {
				return err
			}
		}
		for pat, sub := range pprops {
			if re := s.res[pat]; re != nil && re.MatchString(k) {
				matched = true
				if err := s.validate(file, sub, val[k], at+"."+k, depth+1); err != nil {
					return err
				}
			}
		}
		if !matched {
			if ap, ok := sch["additionalProperties"]; ok {
				if err := s.validate(file, ap, val[k], at+"."+k, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func loc(at string) string {
	if at == "" {
		return "object"
	}
	return strings.TrimPrefix(at, ".")
}

func short(v any) string { return clip(fmt.Sprint(v)) }

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func typeMatches(t any, v any) bool {
	switch t := t.(type) {
	case string:
		return typeIs(t, v)
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && typeIs(s, v) {
				return true
			}
		}
		return false
	}
	return true
}

func typeIs(t string, v any) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "null":
		return v == nil
	}
	return true
}

func inEnum(e []any, v any) bool {
	for _, x := range e {
		if jsonEqual(x, v) {
			return true
		}
	}
	return false
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
