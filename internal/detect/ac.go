package detect

// acMatcher is an Aho-Corasick automaton over byte strings compiled to a
// DFA: one pass over a text, two table loads per byte, reports every
// pattern that occurs in it. Bytes are mapped to classes (every byte that
// occurs in no pattern shares class 0) to keep the table small.
type acMatcher struct {
	class  [256]uint8
	nclass int
	delta  []int32 // node*nclass + class -> next node
	out    []int32 // nearest node (this or along fail links) ending a pattern, -1 if none
	pats   [][]int32
}

// newACMatcher builds the automaton; pattern i is reported as i.
func newACMatcher(patterns []string) *acMatcher {
	m := &acMatcher{}
	// Byte classes.
	var seen [256]bool
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			seen[p[i]] = true
		}
	}
	m.nclass = 1
	for b := range 256 {
		if seen[b] && m.nclass < 256 {
			m.class[b] = uint8(m.nclass) // #nosec G115 -- guarded: nclass < 256
			m.nclass++
		}
	}
	// Trie with sparse children first.
	type tnode struct {
		kids map[uint8]int32
	}
	trie := []tnode{{}}
	pats := [][]int32{nil}
	for i, p := range patterns {
		cur := int32(0)
		for j := 0; j < len(p); j++ {
			c := m.class[p[j]]
			nx, ok := trie[cur].kids[c]
			if !ok {
				nx = int32(len(trie)) // #nosec G115 -- states bounded by the rule set, far below 2^31
				trie = append(trie, tnode{})
				pats = append(pats, nil)
				if trie[cur].kids == nil {
					trie[cur].kids = make(map[uint8]int32)
				}
				trie[cur].kids[c] = nx
			}
			cur = nx
		}
		pats[cur] = append(pats[cur], int32(i))
	}
	n := len(trie)
	nc := m.nclass
	m.pats = pats
	m.delta = make([]int32, n*nc)
	m.out = make([]int32, n)
	fail := make([]int32, n)
	m.out[0] = -1
	queue := make([]int32, 0, n)
	for c := range nc {
		if k, ok := trie[0].kids[uint8(c)]; ok {
			m.delta[c] = k
			fail[k] = 0
			m.out[k] = -1
			queue = append(queue, k)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for c := range nc {
			if v, ok := trie[u].kids[uint8(c)]; ok {
				f := m.delta[int(fail[u])*nc+c]
				fail[v] = f
				if len(pats[f]) > 0 {
					m.out[v] = f
				} else {
					m.out[v] = m.out[f]
				}
				m.delta[int(u)*nc+c] = v
				queue = append(queue, v)
			} else {
				m.delta[int(u)*nc+c] = m.delta[int(fail[u])*nc+c]
			}
		}
	}
	// Mark transitions into nodes that report something, so scanning
	// touches out and pats only on a hit.
	for i, next := range m.delta {
		if len(pats[next]) > 0 || m.out[next] >= 0 {
			m.delta[i] = next | hitBit
		}
	}
	return m
}

// hitBit flags a delta entry whose target node reports patterns.
const hitBit = -1 << 31

// scan calls hit for every pattern occurrence in s (a pattern may be
// reported more than once).
func (m *acMatcher) scan(s string, hit func(pat int32)) {
	cur := int32(0)
	nc := int32(m.nclass) // #nosec G115 -- nclass <= 256
	for i := 0; i < len(s); i++ {
		next := m.delta[cur*nc+int32(m.class[s[i]])]
		cur = next &^ hitBit
		if next&hitBit == 0 {
			continue
		}
		for o := cur; o > 0; o = m.out[o] {
			for _, p := range m.pats[o] {
				hit(p)
			}
		}
	}
}
