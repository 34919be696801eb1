package detect

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// node is a compiled condition expression.
type node interface {
	eval(ev *Event) bool
	// clauses returns the node's prefilter in conjunctive form: the node
	// can only be true when every clause holds, and a clause holds when
	// one of its items finds one of its needles in its field. Nil means
	// nothing is known.
	clauses() []clause
}

type andNode []node
type orNode []node
type notNode struct{ n node }

// selection is a named search identifier: an OR of ANDed field items.
type selection struct {
	name string
	alts [][]*fieldItem
}

func (a andNode) eval(ev *Event) bool {
	for _, n := range a {
		if !n.eval(ev) {
			return false
		}
	}
	return true
}

func (o orNode) eval(ev *Event) bool {
	for _, n := range o {
		if n.eval(ev) {
			return true
		}
	}
	return false
}

func (n notNode) eval(ev *Event) bool { return !n.n.eval(ev) }

func (s *selection) eval(ev *Event) bool {
	for _, alt := range s.alts {
		ok := true
		for _, it := range alt {
			if !it.eval(ev) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// parseCondition compiles a condition string against the selections.
func parseCondition(expr string, sels map[string]*selection) (node, error) {
	if strings.Contains(expr, "|") {
		return nil, fmt.Errorf("aggregation in condition (%q) is not supported; use a correlation rule", expr)
	}
	p := &condParser{toks: tokenize(expr), sels: sels}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q in condition", p.toks[p.pos])
	}
	return n, nil
}

func tokenize(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			toks = append(toks, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type condParser struct {
	toks  []string
	pos   int
	sels  map[string]*selection
	depth int
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) or() (node, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	ns := []node{first}
	for strings.EqualFold(p.peek(), "or") {
		p.pos++
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	if len(ns) == 1 {
		return first, nil
	}
	return orNode(ns), nil
}

func (p *condParser) and() (node, error) {
	first, err := p.not()
	if err != nil {
		return nil, err
	}
	ns := []node{first}
	for strings.EqualFold(p.peek(), "and") {
		p.pos++
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	if len(ns) == 1 {
		return first, nil
	}
	return andNode(ns), nil
}

func (p *condParser) not() (node, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.pos++
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > 100 {
			return nil, fmt.Errorf("condition nested too deeply")
		}
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (node, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("condition ends unexpectedly")
	case t == "(":
		p.pos++
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > 100 {
			return nil, fmt.Errorf("condition nested too deeply")
		}
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing closing parenthesis in condition")
		}
		p.pos++
		return n, nil
	case t == ")":
		return nil, fmt.Errorf("unexpected ) in condition")
	case isKeyword(t):
		return nil, fmt.Errorf("unexpected %q in condition", t)
	}
	if p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos+1], "of") {
		return p.quantified()
	}
	p.pos++
	s, ok := p.sels[t]
	if !ok {
		return nil, fmt.Errorf("condition names unknown selection %q", t)
	}
	return s, nil
}

func isKeyword(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of":
		return true
	}
	return false
}

// quantified parses "1 of X", "all of X", "any of X" where X is a
// selection name pattern with * wildcards or "them".
func (p *condParser) quantified() (node, error) {
	q := strings.ToLower(p.toks[p.pos])
	if q != "1" && q != "all" && q != "any" {
		return nil, fmt.Errorf("unsupported quantifier %q (only 1, any and all)", p.toks[p.pos])
	}
	p.pos += 2
	target := p.peek()
	if target == "" || target == "(" || target == ")" {
		return nil, fmt.Errorf("%s of: missing selection pattern", q)
	}
	p.pos++
	var names []string
	for name := range p.sels {
		if target == "them" {
			if !strings.HasPrefix(name, "_") {
				names = append(names, name)
			}
			continue
		}
		if ok, err := path.Match(target, name); err != nil {
			return nil, fmt.Errorf("bad selection pattern %q: %w", target, err)
		} else if ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%q matches no selection", target)
	}
	slices.Sort(names)
	ns := make([]node, len(names))
	for i, n := range names {
		ns[i] = p.sels[n]
	}
	if q == "all" {
		return andNode(ns), nil
	}
	return orNode(ns), nil
}
