package detect

import (
	"slices"
	"strings"
)

// Engine matches events against a rule set. Rules are grouped by logsource
// so an event only meets the rules of its product, categories and
// services, and each rule's literal prefilter runs before the full
// condition. An Engine is safe for concurrent use.
type Engine struct {
	rules   []*Rule
	buckets map[LogSource]*bucket
}

// bucket holds the rules of one logsource and, per event field, an
// Aho-Corasick automaton over the prefilter needles of those rules: one
// pass over a field's value finds every rule whose needle occurs.
type bucket struct {
	rules  []*Rule
	always []bool // rules without a prefilter
	fields []fieldScan
}

type fieldScan struct {
	field string // "" scans every value (keywords)
	ac    *acMatcher
	rules [][]int32 // per pattern, the bucket rules it admits
}

// NewEngine indexes the rules.
func NewEngine(rules []*Rule) *Engine {
	e := &Engine{rules: rules, buckets: make(map[LogSource]*bucket)}
	grouped := make(map[LogSource][]*Rule)
	var order []LogSource
	for _, r := range rules {
		k := LogSource{
			Product:  strings.ToLower(r.LogSource.Product),
			Category: strings.ToLower(r.LogSource.Category),
			Service:  strings.ToLower(r.LogSource.Service),
		}
		if _, ok := grouped[k]; !ok {
			order = append(order, k)
		}
		grouped[k] = append(grouped[k], r)
	}
	for _, k := range order {
		e.buckets[k] = newBucket(grouped[k])
	}
	return e
}

func newBucket(rules []*Rule) *bucket {
	b := &bucket{rules: rules, always: make([]bool, len(rules))}
	type acc struct {
		pats  []string
		index map[string]int32
		rules [][]int32
	}
	byField := make(map[string]*acc)
	var fields []string
	for i, r := range rules {
		if r.pre == nil {
			b.always[i] = true
			continue
		}
		for _, n := range r.pre {
			a := byField[n.item.field]
			if a == nil {
				a = &acc{index: make(map[string]int32)}
				byField[n.item.field] = a
				fields = append(fields, n.item.field)
			}
			for _, s := range n.item.needles {
				id, ok := a.index[s]
				if !ok {
					id = int32(len(a.pats)) // #nosec G115 -- patterns bounded by the rule set, far below 2^31
					a.index[s] = id
					a.pats = append(a.pats, s)
					a.rules = append(a.rules, nil)
				}
				if l := a.rules[id]; len(l) == 0 || l[len(l)-1] != int32(i) {
					a.rules[id] = append(l, int32(i))
				}
			}
		}
	}
	for _, f := range fields {
		a := byField[f]
		b.fields = append(b.fields, fieldScan{field: f, ac: newACMatcher(a.pats), rules: a.rules})
	}
	return b
}

// match appends the bucket's rules that fire on ev.
func (b *bucket) match(ev *Event, dst []*Rule) []*Rule {
	cand := make([]bool, len(b.rules))
	copy(cand, b.always)
	hit := func(p int32, fs *fieldScan) {
		for _, ri := range fs.rules[p] {
			cand[ri] = true
		}
	}
	for i := range b.fields {
		fs := &b.fields[i]
		mark := func(p int32) { hit(p, fs) }
		if fs.field == "" {
			for _, v := range ev.leaves {
				scanValue(fs.ac, v, mark)
			}
			continue
		}
		if v := ev.lookup(fs.field); v != nil {
			scanValue(fs.ac, v, mark)
		}
	}
	for i, ok := range cand {
		if ok && b.rules[i].cond.eval(ev) {
			dst = append(dst, b.rules[i])
		}
	}
	return dst
}

func scanValue(ac *acMatcher, v *value, hit func(int32)) {
	if v.elems != nil {
		for _, e := range v.elems {
			ac.scan(e.lower, hit)
		}
		return
	}
	ac.scan(v.lower, hit)
}

// Rules returns the indexed rules.
func (e *Engine) Rules() []*Rule { return e.rules }

// Routes reports whether a rule with logsource ls sees events of source s:
// every member the rule names must be one the event declares.
func Routes(ls LogSource, s EventSource) bool {
	if ls.Product != "" && !strings.EqualFold(ls.Product, s.Product) {
		return false
	}
	if ls.Category != "" && !containsFold(s.Categories, ls.Category) {
		return false
	}
	if ls.Service != "" && !containsFold(s.Services, ls.Service) {
		return false
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Match appends to dst the rules that fire on ev, in load order within
// each logsource bucket, and returns it.
func (e *Engine) Match(ev *Event, dst []*Rule) []*Rule {
	products := [2]string{"", strings.ToLower(ev.Source.Product)}
	np := 2
	if products[1] == "" {
		np = 1
	}
	cats := uniqueLower(ev.Source.Categories)
	svcs := uniqueLower(ev.Source.Services)
	for _, p := range products[:np] {
		for _, c := range cats {
			for _, s := range svcs {
				if b := e.buckets[LogSource{Product: p, Category: c, Service: s}]; b != nil {
					dst = b.match(ev, dst)
				}
			}
		}
	}
	return dst
}

// MatchNaive evaluates every rule on the event, checking logsource routing
// per rule and using no prefilter: the reference the index is measured
// against. It returns the same rules as Match, possibly in another order.
func (e *Engine) MatchNaive(ev *Event, dst []*Rule) []*Rule {
	for _, r := range e.rules {
		if Routes(r.LogSource, ev.Source) && r.cond.eval(ev) {
			dst = append(dst, r)
		}
	}
	return dst
}

// uniqueLower returns "" followed by the distinct non-empty members of
// list in lower case: the bucket keys an event's categories or services
// select.
func uniqueLower(list []string) []string {
	out := make([]string, 1, len(list)+1)
	for _, x := range list {
		lx := strings.ToLower(x)
		if !slices.Contains(out, lx) {
			out = append(out, lx)
		}
	}
	return out
}
