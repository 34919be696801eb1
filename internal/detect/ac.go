package detect

import "slices"

// acMatcher is an Aho-Corasick automaton over byte strings: one pass over
// a text reports every pattern that occurs in it. Bytes are mapped to
// classes (every byte that occurs in no pattern shares class 0, and ASCII
// letters share the class of their lower-case form).
//
// The automaton is a DFA over the classes: every node has a full
// transition row (nclass entries, failure links folded in when the rows
// are built), so a scan takes one table load per byte and never follows
// a failure link. Only an automaton whose rows would exceed maxDenseBytes
// keeps full rows for a breadth-first prefix of its nodes (those nearest
// the root, which a scan visits most); its deeper nodes keep their trie
// edges and fall back along failure links to a node that has a row.
type acMatcher struct {
	class  [256]uint8
	nclass int32
	ndense int32   // nodes below ndense have a row in dense
	limit  int32   // ndense*nclass: codes below it are dense rows
	dense  []int32 // code + class -> next code | hitBit
	first  []int32 // node u's edges are edges[first[u]:first[u+1]]
	eclass []uint8
	enext  []int32 // next code | hitBit
	fail   []int32
	out    []int32 // nearest node along fail links ending a pattern, -1 if none
	pats   [][]int32
	minLen int // length of the shortest pattern: shorter texts hold none

	allDense bool // every node has a row (ndense is the node count)
}

// Sizes: maxDenseBytes bounds one automaton's table of full rows (with
// the SigmaHQ rule set, the automaton of the process-creation
// CommandLine needles has 61,000 nodes and 48 classes: 12 MB), maxClasses
// the byte classes.
const (
	maxDenseBytes = 16 << 20
	maxClasses    = 48
)

// hitBit flags a transition whose target node reports patterns.
const hitBit = -1 << 31

// A scan's state is a code rather than a node id, so that the common step
// is one addition and one load: a node with a dense row has the offset
// of its row (node*nclass), any other node limit+node.

// code returns the code of node u.
func (m *acMatcher) code(u int32) int32 {
	if u < m.ndense {
		return u * m.nclass
	}
	return m.limit + u
}

// node returns the node of code c.
func (m *acMatcher) node(c int32) int32 {
	if c < m.limit {
		return c / m.nclass
	}
	return c - m.limit
}

// newACMatcher builds the automaton; pattern i is reported as i. The
// patterns must be in lower case (as far as ASCII goes).
func newACMatcher(patterns []string) *acMatcher {
	return newACMatcherDense(patterns, maxDenseBytes)
}

// newACMatcherDense is newACMatcher with a budget of denseBytes for the
// table of full rows.
func newACMatcherDense(patterns []string, denseBytes int) *acMatcher {
	m := &acMatcher{minLen: 1 << 30}
	for _, p := range patterns {
		m.minLen = min(m.minLen, len(p))
	}
	// Byte classes: the most frequent pattern bytes get a class each, the
	// rest of the pattern bytes share one. Sharing makes the automaton
	// report a superset of the occurrences (a prefilter may), and keeps
	// rows short.
	var freq [256]int
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			b := p[i]
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			freq[b]++
		}
	}
	byFreq := make([]int, 0, 256)
	for b, n := range freq {
		if n > 0 {
			byFreq = append(byFreq, b)
		}
	}
	slices.SortStableFunc(byFreq, func(a, b int) int { return freq[b] - freq[a] })
	nclass := 1
	for i, b := range byFreq {
		if i < maxClasses-2 {
			m.class[b] = uint8(nclass) // #nosec G115 -- nclass < maxClasses <= 256
			nclass++
			continue
		}
		m.class[b] = maxClasses - 1
		nclass = maxClasses
	}
	for b := 'A'; b <= 'Z'; b++ {
		m.class[b] = m.class[b+'a'-'A']
	}
	m.nclass = int32(nclass) // #nosec G115 -- at most 256

	// Trie.
	type edge struct {
		c    uint8
		next int32
	}
	kids := [][]edge{nil}
	tpats := [][]int32{nil}
	child := func(u int32, c uint8) int32 {
		for _, e := range kids[u] {
			if e.c == c {
				return e.next
			}
		}
		return -1
	}
	for i, p := range patterns {
		cur := int32(0)
		for j := 0; j < len(p); j++ {
			c := m.class[p[j]]
			nx := child(cur, c)
			if nx < 0 {
				nx = int32(len(kids)) // #nosec G115 -- states bounded by the rule set, far below 2^31
				kids = append(kids, nil)
				tpats = append(tpats, nil)
				kids[cur] = append(kids[cur], edge{c, nx})
			}
			cur = nx
		}
		tpats[cur] = append(tpats[cur], int32(i)) // #nosec G115 -- patterns bounded by the rule set
	}
	n := len(kids)

	// Breadth-first order, failure links and output links, on trie ids.
	order := make([]int32, 0, n)
	order = append(order, 0)
	tfail := make([]int32, n)
	tout := make([]int32, n)
	tout[0] = -1
	for qi := 0; qi < len(order); qi++ {
		u := order[qi]
		slices.SortFunc(kids[u], func(a, b edge) int { return int(a.c) - int(b.c) })
		for _, e := range kids[u] {
			v := e.next
			f := int32(0)
			if u != 0 {
				for f = tfail[u]; ; f = tfail[f] {
					if x := child(f, e.c); x >= 0 {
						f = x
						break
					}
					if f == 0 {
						break
					}
				}
			}
			tfail[v] = f
			if len(tpats[f]) > 0 {
				tout[v] = f
			} else {
				tout[v] = tout[f]
			}
			order = append(order, v)
		}
	}

	// Renumber in breadth-first order, so the shallow nodes come first.
	id := make([]int32, n)
	for i, u := range order {
		id[u] = int32(i) // #nosec G115 -- states bounded far below 2^31
	}
	m.ndense = int32(max(1, min(n, denseBytes/(4*nclass)))) // #nosec G115 -- bounded by n
	m.limit = m.ndense * m.nclass
	m.allDense = int(m.ndense) == n
	hit := func(t int32) bool { return len(tpats[t]) > 0 || tout[t] >= 0 }
	tag := func(t int32) int32 {
		if hit(t) {
			return m.code(id[t]) | hitBit
		}
		return m.code(id[t])
	}
	m.fail = make([]int32, n)
	m.out = make([]int32, n)
	m.pats = make([][]int32, n)
	m.first = make([]int32, n+1)
	for i, u := range order {
		m.fail[i] = id[tfail[u]]
		m.out[i] = -1
		if tout[u] >= 0 {
			m.out[i] = id[tout[u]]
		}
		m.pats[i] = tpats[u]
		m.first[i+1] = m.first[i] + int32(len(kids[u])) // #nosec G115 -- edges bounded far below 2^31
	}
	m.eclass = make([]uint8, 0, n)
	m.enext = make([]int32, 0, n)
	for _, u := range order {
		for _, e := range kids[u] {
			m.eclass = append(m.eclass, e.c)
			m.enext = append(m.enext, tag(e.next))
		}
	}

	// Full rows for a breadth-first prefix of the nodes. A node's failure
	// link is shallower, so its row is already filled.
	m.dense = make([]int32, int(m.ndense)*nclass)
	for i := range int(m.ndense) {
		row := m.dense[i*nclass : (i+1)*nclass]
		if i > 0 {
			copy(row, m.dense[int(m.fail[i])*nclass:int(m.fail[i]+1)*nclass])
		}
		for e := m.first[i]; e < m.first[i+1]; e++ {
			row[m.eclass[e]] = m.enext[e]
		}
	}
	if m.allDense {
		// Scans never step along edges; the rows hold them.
		m.first, m.eclass, m.enext = nil, nil, nil
	}
	return m
}

// tableBytes is the size of m's transition tables (rows, edges, links).
func (m *acMatcher) tableBytes() int64 {
	return int64(4*(len(m.dense)+len(m.first)+len(m.enext)+len(m.fail)+len(m.out)) + len(m.eclass))
}

// step returns the code after a sparse node's code cur on class c, with
// hitBit when the node reports patterns.
func (m *acMatcher) step(cur int32, c uint8) int32 {
	u := cur - m.limit
	for u >= m.ndense {
		for e := m.first[u]; e < m.first[u+1]; e++ {
			if m.eclass[e] == c {
				return m.enext[e]
			}
		}
		u = m.fail[u]
	}
	return m.dense[u*m.nclass+int32(c)]
}

// scan appends to out every pattern occurrence in s (a pattern may be
// reported more than once). ASCII letters match without regard to case;
// other text must be in lower case.
func (m *acMatcher) scan(s string, out []int32) []int32 { return m.scanSeen(s, out, nil) }

// scanSeen is scan that, when seen is set, reports each node (and so each
// pattern) once per seen epoch: a short needle that occurs at every other
// byte of a value is reported once, not at every occurrence.
func (m *acMatcher) scanSeen(s string, out []int32, seen *seenSet) []int32 {
	if len(s) < m.minLen {
		return out
	}
	return m.scanFrom(s, 0, out, seen)
}

// scanPair is scanSeen over two texts at once. A scan is a chain of
// dependent loads (each step needs the state the previous one loaded),
// so stepping two texts in one loop lets the CPU overlap their loads.
func (m *acMatcher) scanPair(a, b string, out []int32, seen *seenSet) []int32 {
	n := min(len(a), len(b))
	if n < m.minLen {
		return m.scanSeen(b, m.scanSeen(a, out, seen), seen)
	}
	dense, class, limit := m.dense, &m.class, m.limit
	ca, cb := int32(0), int32(0)
	x, y := a[:n], b[:n]
	for i := 0; i < len(x) && i < len(y); i++ {
		c, d := class[x[i]], class[y[i]]
		var na, nb int32
		if ca < limit {
			na = dense[ca+int32(c)]
		} else {
			na = m.step(ca, c)
		}
		if cb < limit {
			nb = dense[cb+int32(d)]
		} else {
			nb = m.step(cb, d)
		}
		ca, cb = na&^hitBit, nb&^hitBit
		if na|nb < 0 {
			if na < 0 {
				out = m.report(m.node(ca), out, seen)
			}
			if nb < 0 {
				out = m.report(m.node(cb), out, seen)
			}
		}
	}
	out = m.scanFrom(a[n:], ca, out, seen)
	return m.scanFrom(b[n:], cb, out, seen)
}

// scanTwo is scanSeen of a with m and of b with n in one loop: like
// scanPair, it lets the CPU overlap the two chains of table loads. It
// returns the reports of each.
func scanTwo(m *acMatcher, a string, seenA *seenSet, outA []int32, n *acMatcher, b string, seenB *seenSet, outB []int32) ([]int32, []int32) {
	k := min(len(a), len(b))
	rowsA, rowsB := m.dense, n.dense
	classA, classB := &m.class, &n.class
	limitA, limitB := m.limit, n.limit
	ca, cb := int32(0), int32(0)
	x, y := a[:k], b[:k]
	for i := 0; i < len(x) && i < len(y); i++ {
		c, d := classA[x[i]], classB[y[i]]
		var na, nb int32
		if ca < limitA {
			na = rowsA[ca+int32(c)]
		} else {
			na = m.step(ca, c)
		}
		if cb < limitB {
			nb = rowsB[cb+int32(d)]
		} else {
			nb = n.step(cb, d)
		}
		ca, cb = na&^hitBit, nb&^hitBit
		if na|nb < 0 {
			if na < 0 {
				outA = m.report(m.node(ca), outA, seenA)
			}
			if nb < 0 {
				outB = n.report(n.node(cb), outB, seenB)
			}
		}
	}
	return m.scanFrom(a[k:], ca, outA, seenA), n.scanFrom(b[k:], cb, outB, seenB)
}

// scanFrom continues a scan in state cur over s.
func (m *acMatcher) scanFrom(s string, cur int32, out []int32, seen *seenSet) []int32 {
	dense, class, limit := m.dense, &m.class, m.limit
	if m.allDense {
		for i := 0; i < len(s); i++ {
			next := dense[cur+int32(class[s[i]])]
			cur = next &^ hitBit
			if next < 0 {
				out = m.report(cur/m.nclass, out, seen)
			}
		}
		return out
	}
	for i := 0; i < len(s); i++ {
		c := class[s[i]]
		var next int32
		if cur < limit {
			next = dense[cur+int32(c)]
		} else {
			next = m.step(cur, c)
		}
		cur = next &^ hitBit
		if next < 0 {
			out = m.report(m.node(cur), out, seen)
		}
	}
	return out
}

// report appends the patterns node reports, its own and along its
// output links, skipping the nodes seen already reported.
func (m *acMatcher) report(node int32, out []int32, seen *seenSet) []int32 {
	if seen == nil {
		for o := node; o >= 0; o = m.out[o] {
			out = append(out, m.pats[o]...)
		}
		return out
	}
	for o := node; o >= 0; o = m.out[o] {
		// A node already reported had its whole output chain reported.
		if seen.stamp[o] == seen.epoch {
			break
		}
		seen.stamp[o] = seen.epoch
		out = append(out, m.pats[o]...)
	}
	return out
}

// seenSet records which automaton nodes a scan has reported: a node is
// seen when its stamp is the current epoch, so starting a new scan is one
// increment, not a clear.
type seenSet struct {
	stamp []uint32
	epoch uint32
}

// reset starts a new epoch for an automaton of n nodes.
func (s *seenSet) reset(n int) {
	if len(s.stamp) < n {
		s.stamp = make([]uint32, max(n, 2*len(s.stamp)))
		s.epoch = 0
	}
	s.epoch++
	if s.epoch == 0 {
		clear(s.stamp)
		s.epoch = 1
	}
}
