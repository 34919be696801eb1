package detect

import "slices"

// clause is one requirement of a rule's prefilter: one of its items must
// find one of its needles (lower-case literals) in its field, or in any
// value for a keyword item.
type clause []*fieldItem

// Limits of the prefilter's conjunctive form.
const (
	// maxOrProduct bounds the clauses an OR of conjunctions expands to.
	maxOrProduct = 8
	// maxClauses is the most clauses a rule keeps (one bit each).
	maxClauses = 64
	// minNeedle is the shortest needle worth a clause of its own when the
	// rule has better ones: short literals occur in nearly every value.
	minNeedle = 3
)

// prefilter returns the clauses the engine checks before evaluating the
// rule's condition; nil when the rule must always be evaluated.
func prefilter(n node) []clause {
	cs := n.clauses()
	// Drop clauses that admit almost everything when others remain.
	strong := slices.DeleteFunc(slices.Clone(cs), func(c clause) bool { return clauseMinLen(c) < minNeedle })
	if len(strong) > 0 {
		cs = strong
	}
	if len(cs) > maxClauses {
		slices.SortStableFunc(cs, func(a, b clause) int { return clauseMinLen(b) - clauseMinLen(a) })
		cs = cs[:maxClauses]
	}
	if len(cs) == 0 {
		return nil
	}
	return cs
}

// clauseMinLen is the length of the clause's shortest needle.
func clauseMinLen(c clause) int {
	m := 1 << 30
	for _, it := range c {
		for _, n := range it.needles {
			m = min(m, len(n))
		}
	}
	return m
}

// clauseCount is the number of needles of the clause.
func clauseCount(c clause) int {
	n := 0
	for _, it := range c {
		n += len(it.needles)
	}
	return n
}

// betterClause prefers longer shortest needles (up to 4 bytes), then
// fewer needles.
func betterClause(a, b clause) bool {
	am, bm := min(clauseMinLen(a), 4), min(clauseMinLen(b), 4)
	if am != bm {
		return am > bm
	}
	return clauseCount(a) < clauseCount(b)
}

func bestClause(cs []clause) clause {
	best := cs[0]
	for _, c := range cs[1:] {
		if betterClause(c, best) {
			best = c
		}
	}
	return best
}

func (a andNode) clauses() []clause {
	var out []clause
	for _, n := range a {
		out = append(out, n.clauses()...)
	}
	return out
}

func (o orNode) clauses() []clause {
	sets := make([][]clause, len(o))
	for i, n := range o {
		if sets[i] = n.clauses(); len(sets[i]) == 0 {
			return nil
		}
	}
	return orClauses(sets)
}

func (notNode) clauses() []clause { return nil }

func (s *selection) clauses() []clause {
	sets := make([][]clause, len(s.alts))
	for i, alt := range s.alts {
		for _, it := range alt {
			if it.needles != nil {
				sets[i] = append(sets[i], clause{it})
			}
		}
		if len(sets[i]) == 0 {
			return nil
		}
	}
	return orClauses(sets)
}

// orClauses is the conjunctive form of an OR of conjunctions: one clause
// per way of picking a clause from each, the union of the picks. When
// that would exceed maxOrProduct clauses, the largest inputs are first cut
// down to their best clause.
func orClauses(sets [][]clause) []clause {
	if len(sets) == 1 {
		return sets[0]
	}
	sets = slices.Clone(sets)
	for {
		prod, big := 1, 0
		for i, s := range sets {
			prod *= len(s)
			if len(s) > len(sets[big]) {
				big = i
			}
			if prod > maxOrProduct {
				break
			}
		}
		if prod <= maxOrProduct {
			break
		}
		sets[big] = []clause{bestClause(sets[big])}
	}
	out := []clause{nil}
	for _, s := range sets {
		next := make([]clause, 0, len(out)*len(s))
		for _, acc := range out {
			for _, c := range s {
				u := make(clause, 0, len(acc)+len(c))
				u = append(append(u, acc...), c...)
				next = append(next, u)
			}
		}
		out = next
	}
	return out
}
