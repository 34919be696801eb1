package detect

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Processing pipelines adapt Sigma rules to the events they will meet, in
// the YAML format of pySigma's processing pipelines: a document with name,
// priority, optional vars and a list of transformations, each with a type,
// its parameters and optional rule_conditions, detection_item_conditions
// and field_name_conditions (joined by *_cond_op and negated by
// *_cond_not). Supported transformation types: field_name_mapping,
// field_name_prefix_mapping, add_condition, change_logsource,
// replace_string, drop_detection_item and value_placeholders. Supported
// conditions: logsource, tag, rule_attribute (eq, ne),
// contains_detection_item, is_sigma_rule and is_sigma_correlation_rule on
// rules; match_string and is_null on detection items; include_fields and
// exclude_fields on field names. Anything else in a pipeline file is an
// error naming the file and line. Query post-processing and finalizers
// belong to query backends and are refused as well.

// Pipeline limits.
const (
	maxPipelineSize     = 1 << 20
	maxTransformations  = 1000
	maxConditions       = 100
	maxMappingEntries   = 10000
	maxMappedNames      = 16
	maxVarValues        = 10000
	maxSelectionAlts    = 64
	maxPlaceholderValue = 1000
)

// PipelineError is a pipeline file that cannot be used, with the line the
// problem is on (0 when it concerns the whole file).
type PipelineError struct {
	File string
	Line int
	Msg  string
}

func (e *PipelineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Pipeline is one parsed Sigma processing pipeline.
type Pipeline struct {
	// Name is the pipeline's name.
	Name string
	// Priority orders pipelines: lower runs first.
	Priority int
	// File is where the pipeline came from, for error messages.
	File string

	vars  map[string][]any
	items []*pItem
}

// pItem is one transformation with its conditions.
type pItem struct {
	id    string
	typ   string
	line  int
	apply func(r *pRule, it *pItem) error

	ruleConds []ruleCond
	ruleOr    bool
	ruleNot   bool
	detConds  []detCond
	detOr     bool
	detNot    bool
	nameConds []nameCond
	nameOr    bool
	nameNot   bool

	// Parameters, by transformation type.
	mapping    map[string][]string // field_name_mapping, field_name_prefix_mapping
	prefixes   []string            // field_name_prefix_mapping, longest first
	conditions []pField            // add_condition
	negated    bool                // add_condition
	logsource  LogSource           // change_logsource
	re         *regexp.Regexp      // replace_string
	repl       string              // replace_string
	skipSpec   bool                // replace_string
	include    []string            // value_placeholders
	exclude    []string            // value_placeholders
}

// pField is one field: value pair of add_condition, in file order.
type pField struct {
	key   string
	value any
}

type ruleCond func(r *pRule) bool
type detCond func(d *pDetItem) bool
type nameCond func(field string) bool

//go:embed pipeline_default.yml
var defaultPipelineYAML []byte

//go:embed pipeline_windows_ecs.yml
var windowsECSPipelineYAML []byte

// DefaultPipeline returns Vigil's built-in pipeline: it lets Sigma rules
// for Linux, web servers and firewalls written with Sigma's field names
// (Image, cs-user-agent, dst_port, …) also match the ECS-style names
// Vigil's parsers give events (process.executable, user_agent.original,
// destination.port, …), keeping the Sigma names as alternatives. Windows
// rules are left alone: Vigil's Windows events carry both names.
func DefaultPipeline() (*Pipeline, error) {
	return ParsePipeline("internal/detect/pipeline_default.yml", defaultPipelineYAML)
}

// WindowsECSPipeline returns the built-in pipeline for Windows events that
// carry ECS field names only: Sigma's Windows names (Image, CommandLine,
// TargetFilename, …) gain their ECS names as alternatives.
func WindowsECSPipeline() (*Pipeline, error) {
	return ParsePipeline("internal/detect/pipeline_windows_ecs.yml", windowsECSPipelineYAML)
}

// LoadPipelineFile reads and parses one pipeline file from fsys.
func LoadPipelineFile(fsys fs.FS, name string) (*Pipeline, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open pipeline: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxPipelineSize+1))
	if err != nil {
		return nil, fmt.Errorf("read pipeline %s: %w", name, err)
	}
	return ParsePipeline(name, data)
}

// ParsePipeline parses a pipeline document; file names it in errors. Every
// error is a *PipelineError.
func ParsePipeline(file string, data []byte) (p *Pipeline, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &PipelineError{File: file, Msg: fmt.Sprintf("internal error parsing pipeline: %v", r)}
		}
	}()
	fail := func(line int, format string, a ...any) error {
		return &PipelineError{File: file, Line: line, Msg: fmt.Sprintf(format, a...)}
	}
	if len(data) > maxPipelineSize {
		return nil, fail(0, "pipeline larger than %d bytes", maxPipelineSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(0, "empty pipeline")
		}
		return nil, fail(0, "yaml: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fail(extra.Line, "more than one YAML document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fail(root.Line, "pipeline is not a mapping")
	}
	p = &Pipeline{File: file}
	var trans *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			p.Name = v.Value
		case "priority":
			n, err := strconv.Atoi(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return nil, fail(v.Line, "priority is not an integer")
			}
			p.Priority = n
		case "vars":
			if p.vars, err = parseVars(v, fail); err != nil {
				return nil, err
			}
		case "transformations":
			trans = v
		case "allowed_backends", "description":
			// Meaningful to query backends only.
		case "postprocessing", "finalizers":
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				continue
			}
			return nil, fail(k.Line, "%s is not supported: it shapes backend queries, which a matching engine does not produce", k.Value)
		default:
			return nil, fail(k.Line, "unknown pipeline attribute %q", k.Value)
		}
	}
	if trans == nil {
		return nil, fail(root.Line, "pipeline has no transformations")
	}
	if trans.Kind != yaml.SequenceNode {
		return nil, fail(trans.Line, "transformations is not a list")
	}
	if len(trans.Content) > maxTransformations {
		return nil, fail(trans.Line, "more than %d transformations", maxTransformations)
	}
	for _, n := range trans.Content {
		it, err := parseItem(n, fail)
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, it)
	}
	return p, nil
}

type failFunc func(line int, format string, a ...any) error

func parseVars(v *yaml.Node, fail failFunc) (map[string][]any, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fail(v.Line, "vars is not a mapping")
	}
	out := make(map[string][]any)
	total := 0
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		var vals []any
		switch val.Kind {
		case yaml.ScalarNode:
			vals = []any{scalarValue(val)}
		case yaml.SequenceNode:
			for _, e := range val.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fail(e.Line, "vars %q: values must be scalars", k.Value)
				}
				vals = append(vals, scalarValue(e))
			}
		default:
			return nil, fail(val.Line, "vars %q: not a scalar or list", k.Value)
		}
		total += len(vals)
		if total > maxVarValues {
			return nil, fail(val.Line, "more than %d vars values", maxVarValues)
		}
		out[k.Value] = vals
	}
	return out, nil
}

// scalarValue decodes a scalar node the way rule values are decoded.
func scalarValue(n *yaml.Node) any {
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	return v
}

// strList reads a scalar or a list of scalars.
func strList(n *yaml.Node, what string, fail failFunc) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return nil, fail(e.Line, "%s: list members must be scalars", what)
			}
			out = append(out, e.Value)
		}
		return out, nil
	}
	return nil, fail(n.Line, "%s: not a string or list of strings", what)
}

func boolNode(n *yaml.Node, what string, fail failFunc) (bool, error) {
	b, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return false, fail(n.Line, "%s is not a boolean", what)
	}
	return b, nil
}

// opNode reads a condition linking: and/or (or all/any).
func opNode(n *yaml.Node, what string, fail failFunc) (bool, error) {
	switch strings.ToLower(n.Value) {
	case "and", "all":
		return false, nil
	case "or", "any":
		return true, nil
	}
	return false, fail(n.Line, "%s must be and or or", what)
}

// transformTypes are the supported transformation types and their
// parameters.
var transformTypes = map[string][]string{
	"field_name_mapping":        {"mapping"},
	"field_name_prefix_mapping": {"mapping"},
	"add_condition":             {"conditions", "negated", "template", "name"},
	"change_logsource":          {"category", "product", "service"},
	"replace_string":            {"regex", "replacement", "skip_special", "interpret_special"},
	"drop_detection_item":       {},
	"value_placeholders":        {"include", "exclude"},
}

func parseItem(n *yaml.Node, fail failFunc) (*pItem, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fail(n.Line, "transformation is not a mapping")
	}
	it := &pItem{line: n.Line}
	params := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := params[k.Value]; dup {
			return nil, fail(k.Line, "duplicate key %q", k.Value)
		}
		params[k.Value] = v
	}
	typ := params["type"]
	if typ == nil || typ.Kind != yaml.ScalarNode {
		return nil, fail(n.Line, "transformation has no type")
	}
	it.typ = typ.Value
	allowed, ok := transformTypes[it.typ]
	if !ok {
		return nil, fail(typ.Line, "transformation type %q is not supported", it.typ)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "type":
		case "id":
			it.id = v.Value
		case "rule_conditions":
			it.ruleConds, err = parseConds(v, "rule", parseRuleCond, fail)
		case "detection_item_conditions":
			it.detConds, err = parseConds(v, "detection item", parseDetCond, fail)
		case "field_name_conditions":
			it.nameConds, err = parseConds(v, "field name", parseNameCond, fail)
		case "rule_cond_op", "rule_condition_linking":
			it.ruleOr, err = opNode(v, k.Value, fail)
		case "detection_item_cond_op", "detection_item_condition_linking":
			it.detOr, err = opNode(v, k.Value, fail)
		case "field_name_cond_op", "field_name_condition_linking":
			it.nameOr, err = opNode(v, k.Value, fail)
		case "rule_cond_not", "rule_condition_negation":
			it.ruleNot, err = boolNode(v, k.Value, fail)
		case "detection_item_cond_not", "detection_item_condition_negation":
			it.detNot, err = boolNode(v, k.Value, fail)
		case "field_name_cond_not", "field_name_condition_negation":
			it.nameNot, err = boolNode(v, k.Value, fail)
		default:
			if !slices.Contains(allowed, k.Value) {
				return nil, fail(k.Line, "%s: parameter %q is not supported", it.typ, k.Value)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := it.parseParams(params, fail); err != nil {
		return nil, err
	}
	return it, nil
}

func (it *pItem) parseParams(params map[string]*yaml.Node, fail failFunc) error {
	switch it.typ {
	case "field_name_mapping", "field_name_prefix_mapping":
		m := params["mapping"]
		if m == nil || m.Kind != yaml.MappingNode {
			return fail(it.line, "%s needs a mapping", it.typ)
		}
		if len(m.Content)/2 > maxMappingEntries {
			return fail(m.Line, "more than %d mapping entries", maxMappingEntries)
		}
		it.mapping = make(map[string][]string)
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			names, err := strList(v, "mapping of "+k.Value, fail)
			if err != nil {
				return err
			}
			if len(names) == 0 || len(names) > maxMappedNames {
				return fail(v.Line, "mapping of %q must name 1 to %d fields", k.Value, maxMappedNames)
			}
			for _, s := range names {
				if s == "" || strings.ContainsAny(s, "|") {
					return fail(v.Line, "mapping of %q: bad field name %q", k.Value, s)
				}
			}
			if it.typ == "field_name_prefix_mapping" && len(names) != 1 {
				return fail(v.Line, "field_name_prefix_mapping maps a prefix to one prefix")
			}
			it.mapping[k.Value] = names
			it.prefixes = append(it.prefixes, k.Value)
		}
		// The longest prefix wins.
		slices.SortStableFunc(it.prefixes, func(a, b string) int { return len(b) - len(a) })
		if it.typ == "field_name_prefix_mapping" {
			it.apply = applyPrefixMapping
		} else {
			it.apply = applyFieldMapping
		}
	case "add_condition":
		c := params["conditions"]
		if c == nil || c.Kind != yaml.MappingNode || len(c.Content) == 0 {
			return fail(it.line, "add_condition needs a non-empty conditions mapping")
		}
		if len(c.Content)/2 > maxMappingEntries {
			return fail(c.Line, "more than %d conditions", maxMappingEntries)
		}
		for i := 0; i+1 < len(c.Content); i += 2 {
			k, v := c.Content[i], c.Content[i+1]
			var val any
			if err := v.Decode(&val); err != nil {
				return fail(v.Line, "condition %q: %v", k.Value, err)
			}
			switch x := val.(type) {
			case map[string]any:
				return fail(v.Line, "condition %q: value must be a scalar or list", k.Value)
			case []any:
				for _, e := range x {
					switch e.(type) {
					case map[string]any, []any:
						return fail(v.Line, "condition %q: list members must be scalars", k.Value)
					}
				}
			}
			it.conditions = append(it.conditions, pField{key: k.Value, value: val})
		}
		if t := params["template"]; t != nil {
			b, err := boolNode(t, "template", fail)
			if err != nil {
				return err
			}
			if b {
				return fail(t.Line, "add_condition template values are not supported")
			}
		}
		if t := params["negated"]; t != nil {
			b, err := boolNode(t, "negated", fail)
			if err != nil {
				return err
			}
			it.negated = b
		}
		it.apply = applyAddCondition
	case "change_logsource":
		for _, k := range []string{"category", "product", "service"} {
			if v := params[k]; v != nil && v.Kind != yaml.ScalarNode {
				return fail(v.Line, "change_logsource %s is not a string", k)
			}
		}
		get := func(k string) string {
			if v := params[k]; v != nil && v.Tag != "!!null" {
				return v.Value
			}
			return ""
		}
		it.logsource = LogSource{Product: get("product"), Category: get("category"), Service: get("service")}
		it.apply = applyChangeLogsource
	case "replace_string":
		re, repl := params["regex"], params["replacement"]
		if re == nil || re.Kind != yaml.ScalarNode || repl == nil || repl.Kind != yaml.ScalarNode {
			return fail(it.line, "replace_string needs regex and replacement strings")
		}
		rx, err := regexp.Compile(re.Value)
		if err != nil {
			return fail(re.Line, "replace_string regex: %v", err)
		}
		it.re, it.repl = rx, repl.Value
		if s := params["skip_special"]; s != nil {
			if it.skipSpec, err = boolNode(s, "skip_special", fail); err != nil {
				return err
			}
		}
		if s := params["interpret_special"]; s != nil {
			b, err := boolNode(s, "interpret_special", fail)
			if err != nil {
				return err
			}
			if b {
				return fail(s.Line, "replace_string interpret_special is not supported")
			}
		}
		it.apply = applyReplaceString
	case "drop_detection_item":
		it.apply = applyDropItem
	case "value_placeholders":
		for _, k := range []string{"include", "exclude"} {
			if v := params[k]; v != nil {
				l, err := strList(v, k, fail)
				if err != nil {
					return err
				}
				if k == "include" {
					it.include = l
				} else {
					it.exclude = l
				}
			}
		}
		it.apply = applyPlaceholders
	}
	return nil
}

func parseConds[T any](n *yaml.Node, what string, parse func(params map[string]*yaml.Node, line int, fail failFunc) (T, error), fail failFunc) ([]T, error) {
	if n.Kind == yaml.MappingNode {
		return nil, fail(n.Line, "named %s conditions with an expression are not supported; give a list", what)
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fail(n.Line, "%s conditions must be a list", what)
	}
	if len(n.Content) > maxConditions {
		return nil, fail(n.Line, "more than %d %s conditions", maxConditions, what)
	}
	var out []T
	for _, c := range n.Content {
		if c.Kind != yaml.MappingNode {
			return nil, fail(c.Line, "%s condition is not a mapping", what)
		}
		params := map[string]*yaml.Node{}
		for i := 0; i+1 < len(c.Content); i += 2 {
			params[c.Content[i].Value] = c.Content[i+1]
		}
		if t := params["type"]; t == nil || t.Kind != yaml.ScalarNode {
			return nil, fail(c.Line, "%s condition has no type", what)
		}
		v, err := parse(params, c.Line, fail)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// checkKeys refuses parameters a condition does not know.
func checkKeys(params map[string]*yaml.Node, fail failFunc, allowed ...string) error {
	for k, v := range params {
		if k != "type" && !slices.Contains(allowed, k) {
			return fail(v.Line, "%s condition: parameter %q is not supported", params["type"].Value, k)
		}
	}
	return nil
}

func scalarParam(params map[string]*yaml.Node, k string) (string, bool) {
	v := params[k]
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", false
	}
	return v.Value, true
}

func parseRuleCond(params map[string]*yaml.Node, line int, fail failFunc) (ruleCond, error) {
	typ := params["type"].Value
	switch typ {
	case "logsource":
		if err := checkKeys(params, fail, "product", "category", "service"); err != nil {
			return nil, err
		}
		prod, _ := scalarParam(params, "product")
		cat, _ := scalarParam(params, "category")
		svc, _ := scalarParam(params, "service")
		return func(r *pRule) bool {
			return (prod == "" || strings.EqualFold(prod, r.ls.Product)) &&
				(cat == "" || strings.EqualFold(cat, r.ls.Category)) &&
				(svc == "" || strings.EqualFold(svc, r.ls.Service))
		}, nil
	case "tag":
		if err := checkKeys(params, fail, "tag"); err != nil {
			return nil, err
		}
		tag, ok := scalarParam(params, "tag")
		if !ok {
			return nil, fail(line, "tag condition needs a tag")
		}
		return func(r *pRule) bool {
			return slices.ContainsFunc(r.tags(), func(t string) bool { return strings.EqualFold(t, tag) })
		}, nil
	case "rule_attribute":
		if err := checkKeys(params, fail, "attribute", "value", "op"); err != nil {
			return nil, err
		}
		attr, ok1 := scalarParam(params, "attribute")
		val, ok2 := scalarParam(params, "value")
		if !ok1 || !ok2 {
			return nil, fail(line, "rule_attribute condition needs attribute and value")
		}
		op, _ := scalarParam(params, "op")
		switch op {
		case "", "eq":
			return func(r *pRule) bool { return r.attr(attr) == val }, nil
		case "ne":
			return func(r *pRule) bool { return r.attr(attr) != val }, nil
		}
		return nil, fail(params["op"].Line, "rule_attribute op %q is not supported (eq, ne)", op)
	case "contains_detection_item":
		if err := checkKeys(params, fail, "field", "value"); err != nil {
			return nil, err
		}
		field, ok := scalarParam(params, "field")
		if !ok {
			return nil, fail(line, "contains_detection_item condition needs a field")
		}
		val, hasVal := scalarParam(params, "value")
		return func(r *pRule) bool {
			found := false
			r.eachItem(func(d *pDetItem) {
				if d.field == field && (!hasVal || slices.ContainsFunc(d.values(), func(v any) bool { return valueText(v) == val })) {
					found = true
				}
			})
			return found
		}, nil
	case "is_sigma_rule":
		return func(*pRule) bool { return true }, checkKeys(params, fail)
	case "is_sigma_correlation_rule":
		return func(*pRule) bool { return false }, checkKeys(params, fail)
	}
	return nil, fail(params["type"].Line, "rule condition type %q is not supported", typ)
}

func parseDetCond(params map[string]*yaml.Node, line int, fail failFunc) (detCond, error) {
	typ := params["type"].Value
	all := false
	if c, ok := scalarParam(params, "cond"); ok {
		switch c {
		case "any":
		case "all":
			all = true
		default:
			return nil, fail(params["cond"].Line, "%s cond must be any or all", typ)
		}
	}
	switch typ {
	case "match_string":
		if err := checkKeys(params, fail, "pattern", "cond", "negate"); err != nil {
			return nil, err
		}
		pat, ok := scalarParam(params, "pattern")
		if !ok {
			return nil, fail(line, "match_string condition needs a pattern")
		}
		rx, err := regexp.Compile(pat)
		if err != nil {
			return nil, fail(params["pattern"].Line, "match_string pattern: %v", err)
		}
		neg := false
		if n := params["negate"]; n != nil {
			if neg, err = boolNode(n, "negate", fail); err != nil {
				return nil, err
			}
		}
		return func(d *pDetItem) bool {
			return anyAll(d.values(), all, func(v any) bool {
				s, ok := v.(string)
				return ok && rx.MatchString(s) != neg
			})
		}, nil
	case "is_null":
		if err := checkKeys(params, fail, "cond"); err != nil {
			return nil, err
		}
		return func(d *pDetItem) bool {
			return anyAll(d.values(), all, func(v any) bool { return v == nil })
		}, nil
	}
	return nil, fail(params["type"].Line, "detection item condition type %q is not supported", typ)
}

func anyAll(vals []any, all bool, f func(any) bool) bool {
	if len(vals) == 0 {
		return false
	}
	for _, v := range vals {
		if f(v) != all {
			return !all
		}
	}
	return all
}

func parseNameCond(params map[string]*yaml.Node, line int, fail failFunc) (nameCond, error) {
	typ := params["type"].Value
	switch typ {
	case "include_fields", "exclude_fields":
		if err := checkKeys(params, fail, "fields"); err != nil {
			return nil, err
		}
		f := params["fields"]
		if f == nil {
			return nil, fail(line, "%s condition needs fields", typ)
		}
		fields, err := strList(f, "fields", fail)
		if err != nil {
			return nil, err
		}
		incl := typ == "include_fields"
		return func(field string) bool { return slices.Contains(fields, field) == incl }, nil
	}
	return nil, fail(params["type"].Line, "field name condition type %q is not supported", typ)
}
