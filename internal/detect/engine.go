package detect

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Engine matches events against a rule set. Rules are grouped by logsource
// so an event only meets the rules of its product, categories and
// services, and each rule's literal prefilter runs before the full
// condition. An Engine is safe for concurrent use.
type Engine struct {
	rules   []*Rule
	buckets map[LogSource]*bucket

	mu     sync.RWMutex
	merges map[string]*bucket // see merged

	scratch sync.Pool // of *matchScratch
}

// bucket holds the rules of one logsource and, per event field, an
// Aho-Corasick automaton over the prefilter needles of those rules: one
// pass over a field's value finds every needle that occurs. A rule is a
// candidate when each clause of its prefilter (see prefilter) saw one of
// its needles; only candidates and rules without a prefilter have their
// condition evaluated.
//
// A bucket's automata are built on its first match (see index): the
// buckets an Engine's events only meet merged with others (see merged)
// never build their own.
type bucket struct {
	id    uint32 // index in NewEngine's order
	rules []*Rule

	once   sync.Once
	built  atomic.Bool // index has run
	always []int32     // rules without a prefilter
	full   []uint64    // per rule, the mask of all its clauses
	fields []fieldScan
}

type fieldScan struct {
	field string // "" scans every value (keywords)
	hash  uint64 // hashName(field)
	ac    *acMatcher
	pats  []string      // the automaton's patterns
	hits  [][]clauseHit // per pattern, the clauses it satisfies
}

// clauseHit names one clause of one bucket rule.
type clauseHit struct {
	rule int32
	bit  uint64
}

// matchScratch is the working space of one Match call, recycled through
// the Engine's pool.
type matchScratch struct {
	mask    []uint64 // per bucket rule, clauses seen; zero between buckets
	touched []int32  // rules whose mask is non-zero
	cand    []int32
	pats    []int32
	seen    seenSet // nodes reported by the current field's scan
	seen2   seenSet // and by the other field of a paired scan
	pats2   []int32
	texts   []string // the values a keyword scan reads
	ev      Event    // MatchRaw's event
}

// NewEngine indexes the rules.
func NewEngine(rules []*Rule) *Engine {
	e := &Engine{rules: rules, buckets: make(map[LogSource]*bucket), merges: make(map[string]*bucket)}
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
	for i, k := range order {
		b := newBucket(grouped[k])
		b.id = uint32(i) // #nosec G115 -- buckets bounded by the rule set, far below 2^32
		e.buckets[k] = b
	}
	return e
}

func newBucket(rules []*Rule) *bucket { return &bucket{rules: rules} }

// index builds the bucket's prefilter index once.
func (b *bucket) index() {
	b.once.Do(func() {
		b.build()
		b.built.Store(true)
	})
}

// build computes the prefilter index: the rules without a prefilter,
// each rule's clause mask and one automaton per field.
func (b *bucket) build() {
	rules := b.rules
	b.full = make([]uint64, len(rules))
	type acc struct {
		pats  []string
		index map[string]int32
		hits  [][]clauseHit
	}
	byField := make(map[string]*acc)
	var fields []string
	for i, r := range rules {
		if len(r.pre) == 0 {
			b.always = append(b.always, int32(i)) // #nosec G115 -- rules bounded far below 2^31
			continue
		}
		for ci, c := range r.pre {
			bit := uint64(1) << ci
			b.full[i] |= bit
			h := clauseHit{rule: int32(i), bit: bit} // #nosec G115 -- rules bounded far below 2^31
			for _, it := range c {
				a := byField[it.field]
				if a == nil {
					a = &acc{index: make(map[string]int32)}
					byField[it.field] = a
					fields = append(fields, it.field)
				}
				for _, s := range it.needles {
					id, ok := a.index[s]
					if !ok {
						id = int32(len(a.pats)) // #nosec G115 -- patterns bounded by the rule set, far below 2^31
						a.index[s] = id
						a.pats = append(a.pats, s)
						a.hits = append(a.hits, nil)
					}
					if !slices.Contains(a.hits[id], h) {
						a.hits[id] = append(a.hits[id], h)
					}
				}
			}
		}
	}
	for _, f := range fields {
		a := byField[f]
		b.fields = append(b.fields, fieldScan{field: f, hash: hashName(f), ac: newACMatcher(a.pats), pats: a.pats, hits: a.hits})
	}
}

// match appends the bucket's rules that fire on ev.
func (b *bucket) match(ev *Event, sc *matchScratch, dst []*Rule) []*Rule {
	b.index()
	if len(sc.mask) < len(b.rules) {
		sc.mask = make([]uint64, max(len(b.rules), 2*len(sc.mask)))
	}
	mask := sc.mask
	sc.touched = sc.touched[:0]
	// A field holding one text waits for another such field, and the
	// two are scanned in one loop (see scanTwo).
	var held *fieldScan
	var heldText string
	for i := range b.fields {
		fs := &b.fields[i]
		sc.pats = sc.pats[:0]
		if fs.field == "" {
			sc.seen.reset(len(fs.ac.fail))
			sc.pats = scanAll(fs.ac, ev.leaves, sc)
		} else if v := ev.lookupHash(fs.field, fs.hash); v != nil {
			text, one := singleText(fs.ac, v)
			switch {
			case one && text == "":
				continue
			case one && held == nil:
				held, heldText = fs, text
				continue
			case one:
				sc.seen.reset(len(fs.ac.fail))
				sc.seen2.reset(len(held.ac.fail))
				var other []int32
				sc.pats, other = scanTwo(fs.ac, text, &sc.seen, sc.pats, held.ac, heldText, &sc.seen2, sc.pats2[:0])
				sc.touched = markHits(held, other, mask, sc.touched)
				sc.pats2, held = other, nil
			default:
				sc.seen.reset(len(fs.ac.fail))
				sc.pats = scanValue(fs.ac, v, sc.pats, &sc.seen)
			}
		}
		sc.touched = markHits(fs, sc.pats, mask, sc.touched)
	}
	if held != nil {
		sc.seen.reset(len(held.ac.fail))
		sc.pats = held.ac.scanSeen(heldText, sc.pats[:0], &sc.seen)
		sc.touched = markHits(held, sc.pats, mask, sc.touched)
	}
	cand := append(sc.cand[:0], b.always...)
	for _, ri := range sc.touched {
		if mask[ri] == b.full[ri] {
			cand = append(cand, ri)
		}
		mask[ri] = 0
	}
	slices.Sort(cand) // load order
	for _, ri := range cand {
		if r := b.rules[ri]; r.cond.eval(ev) {
			dst = append(dst, r)
		}
	}
	sc.cand = cand
	return dst
}

// markHits sets in mask the clauses the patterns pats of fs satisfy,
// appending to touched the rules whose mask was zero.
func markHits(fs *fieldScan, pats []int32, mask []uint64, touched []int32) []int32 {
	for _, p := range pats {
		for _, h := range fs.hits[p] {
			if mask[h.rule] == 0 {
				touched = append(touched, h.rule)
			}
			mask[h.rule] |= h.bit
		}
	}
	return touched
}

// singleText returns the one text a scan of v reads with ac (see
// scanOne), "" when it is too short to hold a pattern; false when v is
// an array.
func singleText(ac *acMatcher, v *value) (string, bool) {
	if v.elems != nil {
		return "", false
	}
	t := v.s
	if !v.ascii {
		t = v.lower()
	}
	if len(t) < ac.minLen {
		t = ""
	}
	return t, true
}

// scanAll appends to sc.pats the patterns found in any of the values
// (keywords), scanning them two at a time.
func scanAll(ac *acMatcher, vals []*value, sc *matchScratch) []int32 {
	texts := sc.texts[:0]
	for _, v := range vals {
		if v.elems == nil {
			texts = appendText(texts, v, ac.minLen)
			continue
		}
		for _, e := range v.elems {
			texts = appendText(texts, e, ac.minLen)
		}
	}
	out := sc.pats
	i := 0
	for ; i+1 < len(texts); i += 2 {
		out = ac.scanPair(texts[i], texts[i+1], out, &sc.seen)
	}
	if i < len(texts) {
		out = ac.scanSeen(texts[i], out, &sc.seen)
	}
	clear(texts)
	sc.texts = texts[:0]
	return out
}

// appendText appends the text a scan reads of v (see scanOne) when it is
// long enough to hold a pattern.
func appendText(texts []string, v *value, minLen int) []string {
	if v.null || len(v.s) < minLen && v.ascii {
		return texts
	}
	if v.ascii {
		return append(texts, v.s)
	}
	if l := v.lower(); len(l) >= minLen {
		return append(texts, l)
	}
	return texts
}

// scanValue appends the patterns found in v (each element of an array)
// to out, each once per epoch of seen.
func scanValue(ac *acMatcher, v *value, out []int32, seen *seenSet) []int32 {
	if v.elems != nil {
		for _, e := range v.elems {
			out = scanOne(ac, e, out, seen)
		}
		return out
	}
	return scanOne(ac, v, out, seen)
}

// scanOne scans an ASCII value as it is (the automaton folds ASCII case)
// and anything else in its lower-case form.
func scanOne(ac *acMatcher, v *value, out []int32, seen *seenSet) []int32 {
	if v.ascii {
		return ac.scanSeen(v.s, out, seen)
	}
	return ac.scanSeen(v.lower(), out, seen)
}

// IndexSize reports the prefilter automata the Engine has built so far
// (buckets build theirs on first use): how many, their nodes, and the
// bytes of their transition tables.
func (e *Engine) IndexSize() (automata, nodes int, tableBytes int64) {
	count := func(b *bucket) {
		if !b.built.Load() {
			return
		}
		for i := range b.fields {
			ac := b.fields[i].ac
			automata++
			nodes += len(ac.fail)
			tableBytes += ac.tableBytes()
		}
	}
	for _, b := range e.buckets {
		count(b)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, b := range e.merges {
		if b != nil {
			count(b)
		}
	}
	return automata, nodes, tableBytes
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
//
// An event usually selects several buckets (product only, product and
// category, product and service...). Their rules are matched as one merged
// bucket, built on first use and kept per combination, so that each field
// is scanned once.
func (e *Engine) Match(ev *Event, dst []*Rule) []*Rule {
	var found [8]*bucket
	sel := e.selectBuckets(ev, found[:0])
	if len(sel) == 0 {
		return dst
	}
	sc, _ := e.scratch.Get().(*matchScratch)
	if sc == nil {
		sc = &matchScratch{}
	}
	defer e.scratch.Put(sc)
	return e.matchIn(ev, sel, sc, dst)
}

// selectBuckets appends to sel the buckets of the logsources ev's source
// selects.
func (e *Engine) selectBuckets(ev *Event, sel []*bucket) []*bucket {
	products := [2]string{"", strings.ToLower(ev.Source.Product)}
	np := 2
	if products[1] == "" {
		np = 1
	}
	var cb, sb [4]string
	cats := appendUniqueLower(cb[:0], ev.Source.Categories)
	svcs := appendUniqueLower(sb[:0], ev.Source.Services)
	for _, p := range products[:np] {
		for _, c := range cats {
			for _, s := range svcs {
				if b := e.buckets[LogSource{Product: p, Category: c, Service: s}]; b != nil {
					sel = append(sel, b)
				}
			}
		}
	}
	return sel
}

// MatchRaw is Match on NewEvent(raw), without keeping the event: it is
// built in storage the Engine recycles, so matching takes no allocation
// for the event. It does not modify raw.
func (e *Engine) MatchRaw(raw map[string]any, dst []*Rule) []*Rule {
	sc, _ := e.scratch.Get().(*matchScratch)
	if sc == nil {
		sc = &matchScratch{}
	}
	defer e.scratch.Put(sc)
	ev := &sc.ev
	ev.build(raw)
	defer ev.reset()
	var found [8]*bucket
	sel := e.selectBuckets(ev, found[:0])
	if len(sel) == 0 {
		return dst
	}
	return e.matchIn(ev, sel, sc, dst)
}

// matchIn matches ev against the buckets in sel (at least one).
func (e *Engine) matchIn(ev *Event, sel []*bucket, sc *matchScratch, dst []*Rule) []*Rule {
	if len(sel) == 1 {
		return sel[0].match(ev, sc, dst)
	}
	if m := e.merged(sel); m != nil {
		return m.match(ev, sc, dst)
	}
	for _, b := range sel {
		dst = b.match(ev, sc, dst)
	}
	return dst
}

// maxMerged bounds the merged buckets an Engine keeps; past it, events
// of new combinations are matched bucket by bucket.
const maxMerged = 256

// merged returns the merged bucket of the buckets in sel (in order),
// building it on first use; nil when the cache is full.
func (e *Engine) merged(sel []*bucket) *bucket {
	var kb [32]byte
	key := kb[:0]
	for _, b := range sel {
		key = binary.LittleEndian.AppendUint32(key, b.id)
	}
	e.mu.RLock()
	m, ok := e.merges[string(key)]
	e.mu.RUnlock()
	if ok {
		return m
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.merges[string(key)]; ok {
		return m
	}
	if len(e.merges) >= maxMerged {
		return nil
	}
	var rules []*Rule
	for _, b := range sel {
		rules = append(rules, b.rules...)
	}
	m = newBucket(rules)
	m.index()
	e.merges[string(key)] = m
	return m
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

// appendUniqueLower appends to out (empty, and it may live on the
// caller's stack) "" followed by the distinct non-empty members of list
// in lower case: the bucket keys an event's categories or services
// select.
func appendUniqueLower(out, list []string) []string {
	out = append(out, "")
	for _, x := range list {
		lx := strings.ToLower(x)
		if !slices.Contains(out, lx) {
			out = append(out, lx)
		}
	}
	return out
}
