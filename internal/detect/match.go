package detect

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// valueMatcher tests one event value; v is nil when the field is absent.
type valueMatcher interface {
	match(ev *Event, v *value) bool
}

// anyElem applies f to v, or to each element when v is an array.
func anyElem(v *value, f func(*value) bool) bool {
	if v == nil {
		return false
	}
	if v.elems != nil {
		for _, e := range v.elems {
			if f(e) {
				return true
			}
		}
		return false
	}
	return f(v)
}

type strKind byte

const (
	kExact strKind = iota
	kPrefix
	kSuffix
	kContains
	kAny
	kGlob
)

// strMatcher matches a Sigma string value, wildcards included.
type strMatcher struct {
	kind  strKind
	lit   string
	p     pattern
	cased bool
}

func newStrMatcher(p pattern, cased bool) *strMatcher {
	if !cased {
		q := make(pattern, len(p))
		for i, t := range p {
			q[i] = t
			if t.kind == 'l' {
				q[i].s = strings.ToLower(t.s)
			}
		}
		p = q
	}
	m := &strMatcher{p: p, cased: cased, kind: kGlob}
	switch {
	case len(p) == 0:
		m.kind = kExact
	case len(p) == 1 && p[0].kind == 'l':
		m.kind, m.lit = kExact, p[0].s
	case len(p) == 1 && p[0].kind == '*':
		m.kind = kAny
	case len(p) == 2 && p[0].kind == '*' && p[1].kind == 'l':
		m.kind, m.lit = kSuffix, p[1].s
	case len(p) == 2 && p[0].kind == 'l' && p[1].kind == '*':
		m.kind, m.lit = kPrefix, p[0].s
	case len(p) == 3 && p[0].kind == '*' && p[1].kind == 'l' && p[2].kind == '*':
		m.kind, m.lit = kContains, p[1].s
	}
	return m
}

func (m *strMatcher) match(_ *Event, v *value) bool {
	if v != nil && v.elems == nil {
		return m.matchOne(v)
	}
	return anyElem(v, m.matchOne)
}

func (m *strMatcher) matchOne(v *value) bool {
	if v.null {
		return false
	}
	if m.cased {
		return m.matchString(v.s)
	}
	return m.matchString(v.lower())
}

func (m *strMatcher) matchString(s string) bool {
	switch m.kind {
	case kExact:
		return s == m.lit
	case kPrefix:
		return strings.HasPrefix(s, m.lit)
	case kSuffix:
		return strings.HasSuffix(s, m.lit)
	case kContains:
		return strings.Contains(s, m.lit)
	case kAny:
		return true
	}
	return globMatch(m.p, s)
}

// anyOf matches when one of its variants does (windash, base64offset).
type anyOf []valueMatcher

func (a anyOf) match(ev *Event, v *value) bool {
	for _, m := range a {
		if m.match(ev, v) {
			return true
		}
	}
	return false
}

// nullMatcher matches an absent or null field.
type nullMatcher struct{}

func (nullMatcher) match(_ *Event, v *value) bool { return v == nil || v.null }

type existsMatcher struct{ want bool }

func (m existsMatcher) match(_ *Event, v *value) bool { return (v != nil && !v.null) == m.want }

// reMatcher matches a regular expression. Two cheap necessary conditions
// are checked first when set: one of needles occurs in the lower-case
// text (see regexNeedles) and the text holds run (see regexRun).
type reMatcher struct {
	re      *regexp.Regexp
	needles []string
	run     *classRun
}

func (m *reMatcher) match(_ *Event, v *value) bool {
	return anyElem(v, func(v *value) bool {
		return !v.null && m.pre(v) && m.re.MatchString(v.s)
	})
}

// pre checks the necessary conditions.
func (m *reMatcher) pre(v *value) bool {
	if m.run != nil && !m.run.in(v.s) {
		return false
	}
	if m.needles == nil {
		return true
	}
	s := v.lower()
	for _, n := range m.needles {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}

type cidrMatcher struct{ prefix netip.Prefix }

func (m cidrMatcher) match(_ *Event, v *value) bool {
	return anyElem(v, func(v *value) bool {
		a, err := netip.ParseAddr(v.s)
		return err == nil && m.prefix.Contains(a.Unmap())
	})
}

type cmpMatcher struct {
	op string
	n  float64
}

func (m cmpMatcher) match(_ *Event, v *value) bool {
	return anyElem(v, func(v *value) bool {
		f, err := strconv.ParseFloat(v.s, 64)
		if err != nil || math.IsNaN(f) {
			return false
		}
		switch m.op {
		case "lt":
			return f < m.n
		case "lte":
			return f <= m.n
		case "gt":
			return f > m.n
		default:
			return f >= m.n
		}
	})
}

// fieldrefMatcher compares a field with another field of the same event.
type fieldrefMatcher struct {
	other string
	kind  strKind
	cased bool
}

func (m fieldrefMatcher) match(ev *Event, v *value) bool {
	o := ev.lookup(m.other)
	if o == nil || o.null || o.elems != nil {
		return false
	}
	ref := o.lower()
	if m.cased {
		ref = o.s
	}
	return anyElem(v, func(v *value) bool {
		if v.null {
			return false
		}
		s := v.lower()
		if m.cased {
			s = v.s
		}
		switch m.kind {
		case kPrefix:
			return strings.HasPrefix(s, ref)
		case kSuffix:
			return strings.HasSuffix(s, ref)
		case kContains:
			return strings.Contains(s, ref)
		}
		return s == ref
	})
}

// fieldItem is one "field|modifiers: values" entry of a selection.
type fieldItem struct {
	field    string // empty for keywords: any value of the event
	hash     uint64 // hashName(field)
	all      bool
	matchers []valueMatcher
	// needles: the item can only match if one of these lower-case
	// literals occurs in the field (in any value for keywords); nil when
	// no such literal exists.
	needles []string
}

func (it *fieldItem) eval(ev *Event) bool {
	if it.field == "" {
		return it.evalKeywords(ev)
	}
	v := ev.lookupHash(it.field, it.hash)
	if it.all {
		for _, m := range it.matchers {
			if !m.match(ev, v) {
				return false
			}
		}
		return true
	}
	for _, m := range it.matchers {
		if m.match(ev, v) {
			return true
		}
	}
	return false
}

func (it *fieldItem) evalKeywords(ev *Event) bool {
	one := func(m valueMatcher) bool {
		for _, v := range ev.leaves {
			if m.match(ev, v) {
				return true
			}
		}
		return false
	}
	if it.all {
		for _, m := range it.matchers {
			if !one(m) {
				return false
			}
		}
		return true
	}
	for _, m := range it.matchers {
		if one(m) {
			return true
		}
	}
	return false
}

type modifiers struct {
	kind       string // "", contains, startswith, endswith
	special    string // "", re, cidr, lt, lte, gt, gte, exists, fieldref
	transforms []string
	reFlags    string
	all, cased bool
}

func parseModifiers(mods []string) (modifiers, error) {
	var m modifiers
	for _, mod := range mods {
		switch mod {
		case "contains", "startswith", "endswith":
			if m.kind != "" {
				return m, fmt.Errorf("modifiers %q and %q both set the match position", m.kind, mod)
			}
			m.kind = mod
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "re", "cidr", "lt", "lte", "gt", "gte", "exists", "fieldref":
			if m.special != "" {
				return m, fmt.Errorf("modifiers %q and %q cannot be combined", m.special, mod)
			}
			m.special = mod
		case "i", "m", "s":
			if m.special != "re" {
				return m, fmt.Errorf("regular expression flag %q without a preceding re modifier", mod)
			}
			m.reFlags += mod
		case "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "windash":
			m.transforms = append(m.transforms, mod)
		case "expand":
			return m, fmt.Errorf("modifier expand is not supported (needs pipeline placeholder values)")
		default:
			return m, fmt.Errorf("unknown modifier %q", mod)
		}
	}
	switch m.special {
	case "":
	case "fieldref":
		if len(m.transforms) > 0 {
			return m, fmt.Errorf("modifier fieldref cannot be combined with %s", m.transforms[0])
		}
	default:
		if m.kind != "" || len(m.transforms) > 0 {
			return m, fmt.Errorf("modifier %s cannot be combined with other value modifiers", m.special)
		}
		if m.cased && m.special != "re" {
			return m, fmt.Errorf("modifier cased cannot be combined with %s", m.special)
		}
	}
	return m, nil
}

func kindOf(s string) strKind {
	switch s {
	case "contains":
		return kContains
	case "startswith":
		return kPrefix
	case "endswith":
		return kSuffix
	}
	return kExact
}

// scalarString renders a YAML scalar as Sigma compares it.
func scalarString(x any) (string, bool) {
	switch v := x.(type) {
	case string:
		return v, true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// compileItem builds the matcher for "field|mods" with its value(s).
func compileItem(key string, raw any) (*fieldItem, error) {
	parts := strings.Split(key, "|")
	m, err := parseModifiers(parts[1:])
	if err != nil {
		return nil, err
	}
	it := &fieldItem{field: parts[0], hash: hashName(parts[0]), all: m.all}
	var vals []any
	if l, ok := raw.([]any); ok {
		vals = l
		if len(vals) == 0 {
			return nil, fmt.Errorf("field %q has an empty value list", key)
		}
	} else {
		vals = []any{raw}
	}
	if it.field == "" && (m.special != "") {
		return nil, fmt.Errorf("modifier %s needs a field name", m.special)
	}
	var needleSets [][]string
	for _, rv := range vals {
		vm, needles, err := compileValue(it.field == "", m, rv)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", key, err)
		}
		it.matchers = append(it.matchers, vm)
		needleSets = append(needleSets, needles)
	}
	if it.all {
		it.needles = bestNeedles(needleSets)
	} else {
		for _, ns := range needleSets {
			if ns == nil {
				it.needles = nil
				break
			}
			it.needles = append(it.needles, ns...)
		}
	}
	it.needles = dedupe(it.needles)
	return it, nil
}

func dedupe(ns []string) []string {
	if ns == nil {
		return nil
	}
	seen := make(map[string]bool, len(ns))
	out := ns[:0]
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// bestNeedles picks, among alternative necessary needle sets, the one
// likely to reject most events: the one whose shortest needle is longest.
func bestNeedles(sets [][]string) []string {
	var best []string
	bestScore := -1
	for _, s := range sets {
		if s == nil {
			continue
		}
		score := math.MaxInt
		for _, n := range s {
			score = min(score, len(n))
		}
		if score > bestScore || score == bestScore && len(s) < len(best) {
			best, bestScore = s, score
		}
	}
	return best
}

func compileValue(keyword bool, m modifiers, rv any) (valueMatcher, []string, error) {
	if rv == nil {
		if m.special != "" || len(m.transforms) > 0 {
			return nil, nil, fmt.Errorf("null value with modifier")
		}
		return nullMatcher{}, nil, nil
	}
	switch m.special {
	case "exists":
		b, ok := rv.(bool)
		if !ok {
			return nil, nil, fmt.Errorf("exists needs true or false, got %v", rv)
		}
		return existsMatcher{want: b}, nil, nil
	case "re":
		s, ok := rv.(string)
		if !ok {
			return nil, nil, fmt.Errorf("re needs a string, got %v", rv)
		}
		expr := s
		if m.reFlags != "" {
			expr = "(?" + m.reFlags + ")" + s
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, nil, fmt.Errorf("regular expression not supported by RE2: %w", err)
		}
		needles := regexNeedles(expr)
		return &reMatcher{re: re, needles: needles, run: regexRun(expr)}, needles, nil
	case "cidr":
		s, ok := rv.(string)
		if !ok {
			return nil, nil, fmt.Errorf("cidr needs a string, got %v", rv)
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, nil, fmt.Errorf("bad cidr: %w", err)
		}
		return cidrMatcher{prefix: p.Masked()}, nil, nil
	case "lt", "lte", "gt", "gte":
		s, _ := scalarString(rv)
		if _, isBool := rv.(bool); isBool {
			s = ""
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s needs a number, got %v", m.special, rv)
		}
		return cmpMatcher{op: m.special, n: f}, nil, nil
	case "fieldref":
		s, ok := rv.(string)
		if !ok || s == "" {
			return nil, nil, fmt.Errorf("fieldref needs a field name, got %v", rv)
		}
		return fieldrefMatcher{other: s, kind: kindOf(m.kind), cased: m.cased}, nil, nil
	}
	s, ok := scalarString(rv)
	if !ok {
		return nil, nil, fmt.Errorf("unsupported value %v (%T)", rv, rv)
	}
	var p pattern
	if _, isStr := rv.(string); isStr {
		p = parsePattern(s)
	} else {
		p = literalPattern(s)
	}
	pats := []pattern{p}
	cased := m.cased
	for _, tr := range m.transforms {
		var next []pattern
		for _, p := range pats {
			if tr == "windash" {
				ws, ok := windash(p)
				if !ok {
					return nil, nil, fmt.Errorf("windash: more than %d dashes in %q", maxWindashPositions, s)
				}
				next = append(next, ws...)
				continue
			}
			lit, ok := p.literal()
			if !ok {
				return nil, nil, fmt.Errorf("modifier %s on a value with wildcards is not supported", tr)
			}
			switch tr {
			case "base64":
				next = append(next, literalPattern(b64(lit)))
				cased = true
			case "base64offset":
				for _, e := range base64Offsets(lit) {
					next = append(next, literalPattern(e))
				}
				cased = true
			case "utf16le", "wide":
				next = append(next, literalPattern(utf16Encode(lit, false, false)))
			case "utf16be":
				next = append(next, literalPattern(utf16Encode(lit, true, false)))
			case "utf16":
				next = append(next, literalPattern(utf16Encode(lit, false, true)))
			}
		}
		pats = next
	}
	if keyword && m.kind == "" {
		m.kind = "contains" // keywords search inside any value
	}
	var out anyOf
	var needles []string
	for _, p := range pats {
		switch m.kind {
		case "contains":
			p = p.wrap(true, true)
		case "startswith":
			p = p.wrap(false, true)
		case "endswith":
			p = p.wrap(true, false)
		}
		out = append(out, newStrMatcher(p, cased))
		n := strings.ToLower(p.needle())
		if needles != nil || len(out) == 1 {
			if n == "" {
				needles = nil
			} else {
				needles = append(needles, n)
			}
		}
	}
	if len(out) == 1 {
		return out[0], needles, nil
	}
	return out, needles, nil
}
