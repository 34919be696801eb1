package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrCorrelation marks a Sigma correlation rule given to ParseRule; such
// rules are compiled by ParseCorrelation.
var ErrCorrelation = errors.New("correlation rule (see ParseCorrelation)")

// Rule is a compiled Sigma detection rule.
type Rule struct {
	ID string
	// Name is the optional Sigma name correlation rules may refer to.
	Name        string
	Title       string
	Status      string
	Level       string
	Description string
	Tags        []string
	LogSource   LogSource
	// Path is the file the rule came from, relative to the loaded root.
	Path string

	cond node
	// pre is the prefilter: the rule can only match when every clause
	// finds a needle. Nil means the rule is always evaluated.
	pre []clause
}

// Matches evaluates the rule on the event, ignoring logsource routing.
func (r *Rule) Matches(ev *Event) bool { return r.cond.eval(ev) }

// LoadError is a rule file that could not be loaded, and why.
type LoadError struct {
	Path   string
	Reason error
}

func (e *LoadError) Error() string { return e.Path + ": " + e.Reason.Error() }
func (e *LoadError) Unwrap() error { return e.Reason }

// LoadResult is the outcome of loading a rule tree.
type LoadResult struct {
	Rules []*Rule
	// Correlations are the correlation rules that parsed. Their
	// references are bound by Resolve.
	Correlations []*Correlation
	// Errors holds one entry per rejected file, detection or correlation.
	Errors []*LoadError
}

// Resolve binds the references of the correlations to the loaded rules
// and moves every correlation that does not resolve to Errors (see
// ResolveCorrelations). LoadFS does not call it, so that several trees
// can be merged first; call it once on the merged result.
func (res *LoadResult) Resolve() {
	ok, errs := ResolveCorrelations(res.Rules, res.Correlations)
	res.Correlations = ok
	res.Errors = append(res.Errors, errs...)
}

// maxRuleSize bounds one rule file.
const maxRuleSize = 1 << 20

// LoadDir loads every .yml and .yaml file under dir.
func LoadDir(dir string) (*LoadResult, error) {
	return LoadFS(os.DirFS(dir), ".")
}

// LoadFS loads every .yml and .yaml file under root in fsys, in lexical
// order: detection rules into Rules, correlation rules into Correlations
// (unresolved; see LoadResult.Resolve). A file that fails to parse is
// recorded in Errors; only a failure to walk the tree is returned as an
// error.
func LoadFS(fsys fs.FS, root string) (*LoadResult, error) {
	return loadFS(fsys, root, ParseRule)
}

// loadFS is LoadFS with the detection rule parser given: ParseRule, or a
// PipelineSet's ParseRule.
func loadFS(fsys fs.FS, root string, parse func([]byte) (*Rule, error)) (*LoadResult, error) {
	res := &LoadResult{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return nil
		}
		data, err := readLimited(fsys, p)
		if err == nil {
			var r *Rule
			r, err = parse(data)
			if err == nil {
				r.Path = p
				res.Rules = append(res.Rules, r)
				return nil
			}
		}
		if errors.Is(err, ErrCorrelation) {
			var c *Correlation
			if c, err = ParseCorrelation(data); err == nil {
				c.Path = p
				res.Correlations = append(res.Correlations, c)
				return nil
			}
		}
		res.Errors = append(res.Errors, &LoadError{Path: p, Reason: err})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	return res, nil
}

func readLimited(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxRuleSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRuleSize {
		return nil, fmt.Errorf("rule file larger than %d bytes", maxRuleSize)
	}
	return data, nil
}

// ParseRule compiles one Sigma rule document. It returns ErrCorrelation
// (wrapped) for correlation rules and an error naming the reason for
// anything it cannot evaluate faithfully.
func ParseRule(data []byte) (r *Rule, err error) {
	defer func() {
		// The YAML decoder is robust, but a rule must never take the
		// loader down: turn any panic into a load error.
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("internal error parsing rule: %v", p)
		}
	}()
	doc, err := decodeDoc(data)
	if err != nil {
		return nil, err
	}
	return ruleFromDoc(doc)
}

// ruleFromDoc compiles a decoded rule document (see ParseRule).
func ruleFromDoc(doc map[string]any) (*Rule, error) {
	if _, ok := doc["correlation"]; ok {
		return nil, ErrCorrelation
	}
	h, err := readHeader(doc)
	if err != nil {
		return nil, err
	}
	r := &Rule{ID: h.id, Name: h.name, Title: h.title, Status: h.status, Level: h.level,
		Description: h.description, Tags: h.tags}
	if ls, ok := doc["logsource"].(map[string]any); ok {
		r.LogSource.Product, _ = ls["product"].(string)
		r.LogSource.Category, _ = ls["category"].(string)
		r.LogSource.Service, _ = ls["service"].(string)
	} else if doc["logsource"] != nil {
		return nil, fmt.Errorf("logsource is not a mapping")
	}
	det, ok := doc["detection"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("rule has no detection mapping")
	}
	if err := r.compileDetection(det); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeDoc reads the single YAML document of a rule file.
func decodeDoc(data []byte) (map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("empty rule file")
		}
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("multi-document rule files (rule collections) are not supported")
	}
	if doc == nil {
		return nil, fmt.Errorf("empty rule file")
	}
	return doc, nil
}

func (r *Rule) compileDetection(det map[string]any) error {
	sels := make(map[string]*selection)
	for _, name := range sortedKeys(det) {
		if name == "condition" || name == "timeframe" {
			continue
		}
		s, err := compileSelection(name, det[name])
		if err != nil {
			return fmt.Errorf("selection %q: %w", name, err)
		}
		sels[name] = s
	}
	var conds []string
	switch c := det["condition"].(type) {
	case string:
		conds = []string{c}
	case []any:
		for _, e := range c {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("condition list holds a non-string")
			}
			conds = append(conds, s)
		}
	default:
		return fmt.Errorf("detection has no condition")
	}
	var ns []node
	for _, c := range conds {
		n, err := parseCondition(c, sels)
		if err != nil {
			return fmt.Errorf("condition: %w", err)
		}
		ns = append(ns, n)
	}
	if len(ns) == 1 {
		r.cond = ns[0]
	} else {
		r.cond = orNode(ns) // a list of conditions: any of them
	}
	r.pre = prefilter(r.cond)
	return nil
}

func compileSelection(name string, raw any) (*selection, error) {
	s := &selection{name: name}
	switch v := raw.(type) {
	case map[string]any:
		alt, err := compileMap(v)
		if err != nil {
			return nil, err
		}
		s.alts = append(s.alts, alt)
	case []any:
		if len(v) == 0 {
			return nil, fmt.Errorf("empty list")
		}
		var keywords []any
		for _, e := range v {
			switch ev := e.(type) {
			case map[string]any:
				alt, err := compileMap(ev)
				if err != nil {
					return nil, err
				}
				s.alts = append(s.alts, alt)
			case []any, map[any]any:
				return nil, fmt.Errorf("nested lists are not supported")
			default:
				keywords = append(keywords, ev)
			}
		}
		if len(keywords) > 0 {
			it, err := compileItem("", keywords)
			if err != nil {
				return nil, err
			}
			s.alts = append(s.alts, []*fieldItem{it})
		}
	case string, int, float64, bool:
		it, err := compileItem("", []any{v})
		if err != nil {
			return nil, err
		}
		s.alts = append(s.alts, []*fieldItem{it})
	case nil:
		return nil, fmt.Errorf("empty selection")
	default:
		return nil, fmt.Errorf("unsupported selection type %T", raw)
	}
	return s, nil
}

func compileMap(m map[string]any) ([]*fieldItem, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("empty mapping")
	}
	var items []*fieldItem
	for _, k := range sortedKeys(m) {
		v := m[k]
		if _, nested := v.(map[string]any); nested {
			return nil, fmt.Errorf("field %q: nested mappings are not supported", k)
		}
		if l, ok := v.([]any); ok && slices.ContainsFunc(l, func(e any) bool {
			switch e.(type) {
			case map[string]any, []any, map[any]any:
				return true
			}
			return false
		}) {
			return nil, fmt.Errorf("field %q: list holds a mapping or list", k)
		}
		it, err := compileItem(k, v)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// header is what every Sigma document, rule or correlation, says of itself.
type header struct {
	id, name, title, status, level, description string
	tags                                        []string
}

// readHeader reads the common attributes of a Sigma document; a title is
// required.
func readHeader(doc map[string]any) (header, error) {
	var h header
	h.id, _ = doc["id"].(string)
	h.name, _ = doc["name"].(string)
	h.title, _ = doc["title"].(string)
	h.status, _ = doc["status"].(string)
	h.level, _ = doc["level"].(string)
	h.description, _ = doc["description"].(string)
	if h.title == "" {
		return header{}, errors.New("rule has no title")
	}
	if tags, ok := doc["tags"].([]any); ok {
		for _, t := range tags {
			if s, ok := t.(string); ok {
				h.tags = append(h.tags, s)
			}
		}
	}
	return h, nil
}
