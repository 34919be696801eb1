package detect

import (
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// PipelineSet is the pipelines applied to rules before they are compiled,
// in the order of their priority (lower first; equal priorities keep the
// order given).
type PipelineSet struct {
	pipelines []*Pipeline
}

// NewPipelineSet orders the pipelines by priority.
func NewPipelineSet(ps ...*Pipeline) *PipelineSet {
	s := &PipelineSet{pipelines: slices.Clone(ps)}
	slices.SortStableFunc(s.pipelines, func(a, b *Pipeline) int { return cmp.Compare(a.Priority, b.Priority) })
	return s
}

// Pipelines returns the pipelines in the order they are applied.
func (s *PipelineSet) Pipelines() []*Pipeline { return slices.Clone(s.pipelines) }

// ParseRule is ParseRule with the pipelines applied to the rule between
// decoding and compiling. A pipeline that leaves the rule in a state the
// engine cannot compile is an error naming the pipeline, the
// transformation and its line. Correlation rules pass through untouched
// (ErrCorrelation, as from ParseRule).
func (s *PipelineSet) ParseRule(data []byte) (r *Rule, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("internal error parsing rule: %v", p)
		}
	}()
	doc, err := decodeDoc(data)
	if err != nil {
		return nil, err
	}
	if _, ok := doc["correlation"]; ok {
		return nil, ErrCorrelation
	}
	if err := s.Apply(doc); err != nil {
		return nil, err
	}
	r, err = ruleFromDoc(doc)
	if err != nil && len(s.pipelines) > 0 {
		return nil, fmt.Errorf("after pipelines %s: %w", s.names(), err)
	}
	return r, err
}

func (s *PipelineSet) names() string {
	var names []string
	for _, p := range s.pipelines {
		names = append(names, fmt.Sprintf("%q", p.Name))
	}
	return strings.Join(names, ", ")
}

// Apply transforms a decoded Sigma rule document in place.
func (s *PipelineSet) Apply(doc map[string]any) error {
	if len(s.pipelines) == 0 {
		return nil
	}
	r, err := newPRule(doc)
	if err != nil {
		return err
	}
	for _, p := range s.pipelines {
		for _, it := range p.items {
			if !it.ruleMatches(r) {
				continue
			}
			r.pipeline = p
			if err := it.apply(r, it); err != nil {
				where := it.typ
				if it.id != "" {
					where = it.id + " (" + it.typ + ")"
				}
				return fmt.Errorf("pipeline %q (%s:%d), transformation %s: %w", p.Name, p.File, it.line, where, err)
			}
		}
	}
	return r.store()
}

// LoadFS is LoadFS with the pipelines applied to every detection rule.
func (s *PipelineSet) LoadFS(fsys fs.FS, root string) (*LoadResult, error) {
	return loadFS(fsys, root, s.ParseRule)
}

func (it *pItem) ruleMatches(r *pRule) bool {
	if len(it.ruleConds) == 0 {
		return true
	}
	return combine(it.ruleConds, it.ruleOr, it.ruleNot, func(c ruleCond) bool { return c(r) })
}

// itemMatches applies the detection item and field name conditions.
func (it *pItem) itemMatches(d *pDetItem) bool {
	if len(it.detConds) > 0 && !combine(it.detConds, it.detOr, it.detNot, func(c detCond) bool { return c(d) }) {
		return false
	}
	return it.nameMatches(d.field)
}

func (it *pItem) nameMatches(field string) bool {
	if len(it.nameConds) == 0 {
		return true
	}
	return combine(it.nameConds, it.nameOr, it.nameNot, func(c nameCond) bool { return c(field) })
}

func combine[T any](conds []T, or, not bool, eval func(T) bool) bool {
	res := !or
	for _, c := range conds {
		if eval(c) == or {
			res = or
			break
		}
	}
	return res != not
}

// pRule is a rule document opened up for transformation.
type pRule struct {
	doc      map[string]any
	ls       LogSource
	sels     []*pSel
	conds    []string
	pipeline *Pipeline
	added    int
}

// pSel is one named selection: maps (AND of items, the maps ORed) and
// keywords.
type pSel struct {
	name     string
	maps     [][]*pDetItem
	keywords []any
}

// pDetItem is one field: value entry of a selection map.
type pDetItem struct {
	field string
	mods  []string
	value any // scalar or []any
}

func (d *pDetItem) values() []any {
	if l, ok := d.value.([]any); ok {
		return l
	}
	return []any{d.value}
}

func (d *pDetItem) key() string {
	if len(d.mods) == 0 {
		return d.field
	}
	return d.field + "|" + strings.Join(d.mods, "|")
}

func (d *pDetItem) hasMod(m string) bool { return slices.Contains(d.mods, m) }

func valueText(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func newPRule(doc map[string]any) (*pRule, error) {
	r := &pRule{doc: doc}
	if ls, ok := doc["logsource"].(map[string]any); ok {
		r.ls.Product, _ = ls["product"].(string)
		r.ls.Category, _ = ls["category"].(string)
		r.ls.Service, _ = ls["service"].(string)
	}
	det, ok := doc["detection"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("rule has no detection mapping")
	}
	switch c := det["condition"].(type) {
	case string:
		r.conds = []string{c}
	case []any:
		for _, e := range c {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("condition list holds a non-string")
			}
			r.conds = append(r.conds, s)
		}
	default:
		return nil, fmt.Errorf("detection has no condition")
	}
	for _, name := range sortedKeys(det) {
		if name == "condition" || name == "timeframe" {
			continue
		}
		s := &pSel{name: name}
		switch v := det[name].(type) {
		case map[string]any:
			s.maps = append(s.maps, openMap(v))
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					s.maps = append(s.maps, openMap(m))
				} else {
					s.keywords = append(s.keywords, e)
				}
			}
		case nil:
			return nil, fmt.Errorf("selection %q: empty selection", name)
		default:
			s.keywords = []any{v}
		}
		if len(s.maps) == 0 && len(s.keywords) == 0 {
			return nil, fmt.Errorf("selection %q: empty list", name)
		}
		r.sels = append(r.sels, s)
	}
	return r, nil
}

func openMap(m map[string]any) []*pDetItem {
	out := make([]*pDetItem, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts := strings.Split(k, "|")
		out = append(out, &pDetItem{field: parts[0], mods: parts[1:], value: m[k]})
	}
	return out
}

// store writes the transformed rule back into its document.
func (r *pRule) store() error {
	ls := map[string]any{}
	if r.ls.Product != "" {
		ls["product"] = r.ls.Product
	}
	if r.ls.Category != "" {
		ls["category"] = r.ls.Category
	}
	if r.ls.Service != "" {
		ls["service"] = r.ls.Service
	}
	if old, ok := r.doc["logsource"].(map[string]any); ok {
		for k, v := range old {
			if k != "product" && k != "category" && k != "service" {
				ls[k] = v
			}
		}
	}
	r.doc["logsource"] = ls
	det := map[string]any{}
	if tf, ok := r.doc["detection"].(map[string]any)["timeframe"]; ok {
		det["timeframe"] = tf
	}
	if len(r.conds) == 1 {
		det["condition"] = r.conds[0]
	} else {
		l := make([]any, len(r.conds))
		for i, c := range r.conds {
			l[i] = c
		}
		det["condition"] = l
	}
	for _, s := range r.sels {
		var list []any
		for _, items := range s.maps {
			m := make(map[string]any, len(items))
			for _, d := range items {
				k := d.key()
				if _, dup := m[k]; dup {
					return fmt.Errorf("selection %q: two detection items now have the same key %q", s.name, k)
				}
				m[k] = d.value
			}
			list = append(list, m)
		}
		list = append(list, s.keywords...)
		switch {
		case len(list) == 0:
			return fmt.Errorf("selection %q is empty after the pipelines", s.name)
		case len(list) == 1 && len(s.maps) == 1:
			det[s.name] = list[0]
		default:
			det[s.name] = list
		}
	}
	r.doc["detection"] = det
	return nil
}

func (r *pRule) tags() []string {
	var out []string
	if l, ok := r.doc["tags"].([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func (r *pRule) attr(name string) string {
	switch name {
	case "product":
		return r.ls.Product
	case "category":
		return r.ls.Category
	case "service":
		return r.ls.Service
	}
	return valueText(r.doc[name])
}

func (r *pRule) eachItem(f func(d *pDetItem)) {
	for _, s := range r.sels {
		for _, items := range s.maps {
			for _, d := range items {
				f(d)
			}
		}
	}
}

// applyFieldMapping renames fields; a field mapped to several names
// becomes an OR over them, which multiplies the selection's maps.
func applyFieldMapping(r *pRule, it *pItem) error {
	return mapFields(r, it, func(field string) []string { return it.mapping[field] })
}

func applyPrefixMapping(r *pRule, it *pItem) error {
	return mapFields(r, it, func(field string) []string {
		for _, p := range it.prefixes {
			if strings.HasPrefix(field, p) {
				return []string{it.mapping[p][0] + field[len(p):]}
			}
		}
		return nil
	})
}

func mapFields(r *pRule, it *pItem, names func(string) []string) error {
	for _, s := range r.sels {
		var out [][]*pDetItem
		for _, items := range s.maps {
			alts := [][]*pDetItem{nil}
			for _, d := range items {
				var to []string
				if d.field != "" && it.itemMatches(d) {
					to = names(d.field)
				}
				if d.hasMod("fieldref") {
					if err := mapFieldRefs(d, it, names); err != nil {
						return fmt.Errorf("selection %q: %w", s.name, err)
					}
				}
				if len(to) == 0 {
					to = []string{d.field}
				}
				if len(alts)*len(to) > maxSelectionAlts {
					return fmt.Errorf("selection %q: field mapping would expand it into more than %d alternatives", s.name, maxSelectionAlts)
				}
				next := make([][]*pDetItem, 0, len(alts)*len(to))
				for _, a := range alts {
					for _, f := range to {
						nd := &pDetItem{field: f, mods: d.mods, value: d.value}
						next = append(next, append(slices.Clip(a), nd))
					}
				}
				alts = next
			}
			out = append(out, alts...)
		}
		if len(out) > maxSelectionAlts {
			return fmt.Errorf("selection %q: field mapping would expand it into more than %d alternatives", s.name, maxSelectionAlts)
		}
		s.maps = out
	}
	return nil
}

// mapFieldRefs renames the field names a fieldref item's values hold.
func mapFieldRefs(d *pDetItem, it *pItem, names func(string) []string) error {
	vals := d.values()
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok || !it.nameMatches(s) {
			out = append(out, v)
			continue
		}
		to := names(s)
		switch {
		case len(to) == 0:
			out = append(out, v)
		case len(to) > 1 && d.hasMod("all"):
			// The values of a list are ORed, so a reference to a field
			// mapped to several names becomes a list of them, except
			// under all.
			return fmt.Errorf("field %q refers to field %q, which is mapped to several names %v; under the all modifier a field reference needs exactly one", d.field, s, to)
		default:
			for _, n := range to {
				out = append(out, n)
			}
		}
	}
	if len(out) == 1 {
		d.value = out[0]
	} else {
		d.value = out
	}
	return nil
}

// applyAddCondition adds a selection of the given field values and ANDs it
// (or its negation) with every condition of the rule.
func applyAddCondition(r *pRule, it *pItem) error {
	r.added++
	// The leading "_" keeps the selection out of "them", the "/" out of
	// every "*" name pattern.
	name := fmt.Sprintf("_pipeline/cond_%d", r.added)
	for slices.ContainsFunc(r.sels, func(s *pSel) bool { return s.name == name }) {
		r.added++
		name = fmt.Sprintf("_pipeline/cond_%d", r.added)
	}
	var items []*pDetItem
	for _, c := range it.conditions {
		parts := strings.Split(c.key, "|")
		items = append(items, &pDetItem{field: parts[0], mods: parts[1:], value: c.value})
	}
	r.sels = append(r.sels, &pSel{name: name, maps: [][]*pDetItem{items}})
	ref := name
	if it.negated {
		ref = "not " + name
	}
	for i, c := range r.conds {
		r.conds[i] = ref + " and (" + c + ")"
	}
	return nil
}

// applyChangeLogsource replaces the rule's logsource.
func applyChangeLogsource(r *pRule, it *pItem) error {
	r.ls = it.logsource
	return nil
}

// applyReplaceString rewrites string values (not regular expressions,
// CIDR ranges or field references) with a regular expression.
func applyReplaceString(r *pRule, it *pItem) error {
	repl := func(v any) any {
		s, ok := v.(string)
		if !ok {
			return v
		}
		if !it.skipSpec {
			return it.re.ReplaceAllString(s, it.repl)
		}
		return replacePlain(s, func(p string) string { return it.re.ReplaceAllString(p, it.repl) })
	}
	for _, s := range r.sels {
		for _, items := range s.maps {
			for _, d := range items {
				if d.hasMod("re") || d.hasMod("cidr") || d.hasMod("fieldref") || !it.itemMatches(d) {
					continue
				}
				d.value = mapValues(d.value, repl)
			}
		}
		if len(it.detConds) == 0 && len(it.nameConds) == 0 {
			for i, k := range s.keywords {
				s.keywords[i] = repl(k)
			}
		}
	}
	return nil
}

// replacePlain applies f to the parts of a Sigma string between its
// unescaped wildcards, leaving the wildcards and escapes as they are.
func replacePlain(s string, f func(string) string) string {
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?':
			b.WriteString(f(s[start:i]))
			b.WriteByte(s[i])
			start = i + 1
		}
	}
	b.WriteString(f(s[start:]))
	return b.String()
}

func mapValues(v any, f func(any) any) any {
	if l, ok := v.([]any); ok {
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = f(e)
		}
		return out
	}
	return f(v)
}

// applyDropItem removes the detection items the conditions select. A map
// left empty is dropped; a selection left empty is an error (store).
func applyDropItem(r *pRule, it *pItem) error {
	for _, s := range r.sels {
		var out [][]*pDetItem
		for _, items := range s.maps {
			kept := slices.DeleteFunc(slices.Clone(items), func(d *pDetItem) bool { return d.field != "" && it.itemMatches(d) })
			if len(kept) > 0 {
				out = append(out, kept)
			}
		}
		if len(out) == 0 && len(s.keywords) == 0 && len(s.maps) > 0 {
			return fmt.Errorf("selection %q has no detection items left", s.name)
		}
		s.maps = out
	}
	return nil
}

// applyPlaceholders replaces %name% placeholders in the values of items
// with the expand modifier by the pipeline's vars of that name, each
// placeholder standing for any of its values; the expand modifier is
// then removed.
func applyPlaceholders(r *pRule, it *pItem) error {
	for _, s := range r.sels {
		for _, items := range s.maps {
			for _, d := range items {
				if !d.hasMod("expand") || !it.itemMatches(d) {
					continue
				}
				var out []any
				for _, v := range d.values() {
					vs, err := expandValue(v, r.pipeline.vars, it)
					if err != nil {
						return fmt.Errorf("selection %q, field %q: %w", s.name, d.field, err)
					}
					out = append(out, vs...)
					if len(out) > maxPlaceholderValue {
						return fmt.Errorf("selection %q, field %q: placeholders expand to more than %d values", s.name, d.field, maxPlaceholderValue)
					}
				}
				if !hasPlaceholder(out) {
					d.mods = slices.DeleteFunc(slices.Clone(d.mods), func(m string) bool { return m == "expand" })
				}
				if len(out) == 1 {
					d.value = out[0]
				} else {
					d.value = out
				}
			}
		}
	}
	return nil
}

func hasPlaceholder(vals []any) bool {
	return slices.ContainsFunc(vals, func(v any) bool {
		s, ok := v.(string)
		return ok && len(placeholders(s)) > 0
	})
}

// placeholders returns the %name% placeholders in s.
func placeholders(s string) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j <= 0 {
			break
		}
		name := s[i+1 : i+1+j]
		if strings.ContainsAny(name, " \t*?") {
			continue
		}
		out = append(out, [2]int{i, i + 2 + j})
		i += j + 1
	}
	return out
}

// expandValue replaces the placeholders it selects in v by every
// combination of their values. A placeholder left out by include/exclude
// is kept as it is.
func expandValue(v any, vars map[string][]any, it *pItem) ([]any, error) {
	s, ok := v.(string)
	if !ok {
		return []any{v}, nil
	}
	results := []string{""}
	last := 0
	for _, ph := range placeholders(s) {
		name := s[ph[0]+1 : ph[1]-1]
		lit := s[last:ph[0]]
		last = ph[1]
		if (len(it.include) > 0 && !slices.Contains(it.include, name)) || slices.Contains(it.exclude, name) {
			for i := range results {
				results[i] += lit + s[ph[0]:ph[1]]
			}
			continue
		}
		vals, ok := vars[name]
		if !ok {
			return nil, fmt.Errorf("placeholder %%%s%% has no value in the pipeline's vars", name)
		}
		if len(results)*len(vals) > maxPlaceholderValue {
			return nil, fmt.Errorf("placeholders expand to more than %d values", maxPlaceholderValue)
		}
		next := make([]string, 0, len(results)*len(vals))
		for _, r := range results {
			for _, x := range vals {
				next = append(next, r+lit+valueText(x))
			}
		}
		results = next
	}
	out := make([]any, len(results))
	for i, r := range results {
		out[i] = r + s[last:]
	}
	return out, nil
}
