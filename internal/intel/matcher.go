package intel

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gaissmai/bart"
)

// Event is one ECS-style event flattened to dotted field names
// ("source.ip", "dns.question.name"). A value is a string, a number, a
// bool or a list of those.
type Event map[string]any

// FlattenEvent turns nested JSON objects into dotted field names; keys that
// already contain dots are kept as they are. Nesting deeper than 32 levels
// is dropped.
func FlattenEvent(m map[string]any) Event {
	ev := Event{}
	flatten(ev, "", m, 0)
	return ev
}

func flatten(ev Event, prefix string, m map[string]any, depth int) {
	if depth > 32 {
		return
	}
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(ev, name, sub, depth+1)
			continue
		}
		ev[name] = v
	}
}

// Values returns the string forms of field's value or values.
func (e Event) Values(field string) []string {
	var out []string
	e.each(field, func(s string) { out = append(out, s) })
	return out
}

func (e Event) each(field string, f func(string)) {
	if v, ok := e[field]; ok {
		eachValue(v, f)
	}
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10), true
		}
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// MatchFields returns a copy of the documented table of event fields the matcher reads for
// each indicator type. IP fields are checked against ipv4, ipv6 and cidr
// indicators (longest prefix wins); domain fields against domain indicators
// and their subdomains (the longest listed parent wins); a digest in any
// hash field (related.hash, and also an MD5 written in file.hash.sha256)
// is checked against the hash type its length implies. stix-pattern indicators
// read the fields in PathFields.
func MatchFields() map[Type][]string {
	out := make(map[Type][]string, len(matchFields))
	for k, v := range matchFields {
		out[k] = append([]string(nil), v...)
	}
	return out
}

var matchFields = map[Type][]string{
	TypeIPv4:     ipFields,
	TypeIPv6:     ipFields,
	TypeCIDR:     ipFields,
	TypeDomain:   domainFields,
	TypeURL:      urlFields,
	TypeMD5:      {"file.hash.md5", "process.hash.md5", "related.hash"},
	TypeSHA1:     {"file.hash.sha1", "process.hash.sha1", "related.hash"},
	TypeSHA256:   {"file.hash.sha256", "process.hash.sha256", "related.hash"},
	TypeEmail:    emailFields,
	TypeFilename: {"file.name", "email.attachments.file.name"},
}

// Hit is one indicator that matched one event field.
type Hit struct {
	Indicator Indicator `json:"indicator"`
	// Field and Value are the event field and the value in it that
	// matched; Field is "pattern" for a STIX pattern evaluated on the
	// whole event.
	Field string `json:"field"`
	Value string `json:"value"`
	// Confidence is the indicator's confidence after decay.
	Confidence int `json:"confidence"`
}

// MatcherOptions configure a Matcher.
type MatcherOptions struct {
	// AllowList suppresses hits on allowed addresses and domains (also the
	// host of a URL or e-mail address).
	AllowList *AllowList
	// Decay lowers confidence with age; hits below MinConfidence after
	// decay are dropped.
	Decay         Decay
	MinConfidence int
	// Now gives the time used for validity and decay (default time.Now).
	Now func() time.Time
}

// entry is the compact per-indicator record.
type entry struct {
	val                                      uint64 // valueArena ref of the normalised value
	meta                                     uint32
	next                                     uint32 // 1+index of the next entry with the same key, 0 for none
	validFrom, validUntil, firstSeen, lastSe uint32 // unix seconds, 0 = unset
	conf                                     uint8
	typ                                      uint8
}

type meta struct {
	source string
	tlp    TLP
	tags   []string
}

type patEntry struct {
	idx uint32
	pat *Pattern
	src string
}

// Matcher checks events against indicators. Build it with Add, then call
// Match from any number of goroutines; Add must not run concurrently with
// Match (callers that reload build a new Matcher and swap it in, e.g. with
// an atomic.Pointer).
//
// Storage: every normalised value is kept once in a valueArena; each
// indicator is a 40-byte record pointing at its value. Exact values are
// found through open-addressed tables (matcher_index.go): addresses and
// digests by their binary form kept in the slot, names by a hash checked
// against the stored value. CIDR prefixes are in a bart routing table,
// with a flat /16 and /24 table in front for IPv4 (an exact address is
// more specific than any prefix, so the address table is checked first).
// Indicators sharing a value are chained. On Linux the records and the
// large tables are mapped outside the Go heap (hugeMem). A lookup
// normalises the event value on the stack (parsing addresses and digests,
// ASCII case folding, URLs and e-mail addresses into a buffer, domains
// hashed label by label), so a miss allocates nothing.
type Matcher struct {
	opts MatcherOptions
	seed maphash.Seed
	mem  *hugeMem // the large arrays below, mapped outside the Go heap (matcher_huge_linux.go)

	entries  []entry
	vals     valueArena
	metas    []meta
	metaIdx  map[string]uint32
	refs     map[uint32][]string
	md5      fixedTable[md5Key]
	sha1     fixedTable[sha1Key]
	sha256   fixedTable[sha256Key]
	ip4      fixedTable[ip4Key]
	ip6      fixedTable[ip6Key]
	cidr     *bart.Fast[uint32]
	cidr4    ip4Prefixes
	ip4nets  []uint64 // bit n set: some exact IPv4 indicator is in the /24 numbered n
	domains  strTable
	labels   uint64 // bit n set: some domain indicator has n labels (63: 63 or more)
	urls     strTable
	emails   strTable
	files    strTable
	patterns []patEntry
}

// NewMatcher returns an empty matcher.
func NewMatcher(opts MatcherOptions) *Matcher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Matcher{
		opts:    opts,
		seed:    maphash.MakeSeed(),
		mem:     newHugeMem(),
		metaIdx: map[string]uint32{},
		refs:    map[uint32][]string{},
		cidr:    new(bart.Fast[uint32]),
		domains: strTable{byLabel: true},
	}
	if m.mem != nil {
		runtime.AddCleanup(m, (*hugeMem).free, m.mem)
	}
	return m
}

// Len is the number of indicators added.
func (m *Matcher) Len() int { return len(m.entries) }

var typeCodes = func() map[Type]uint8 {
	c := map[Type]uint8{}
	for i, t := range allTypes {
		c[t] = uint8(i)
	}
	return c
}()

func unixSec(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix()
	return uint32(min(max(s, 1), math.MaxUint32)) // #nosec G115 -- clamped to the uint32 range
}

func fromSec(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

// Add indexes one indicator; its value is normalised again. Expired
// indicators are kept (validity is checked at match time).
func (m *Matcher) Add(in Indicator) error {
	if len(m.entries) >= ip4Deeper-1 { // entry numbers leave the top bit free (ip4Prefixes)
		return fmt.Errorf("intel: matcher full")
	}
	var pat *Pattern
	if in.Type == TypeSTIXPattern {
		pat = in.pattern
		if pat == nil {
			p, err := ParsePattern(in.Value)
			if err != nil {
				return fmt.Errorf("intel: %w", err)
			}
			pat = p
		}
		if !pat.Evaluable {
			return fmt.Errorf("intel: pattern not evaluated: %s", pat.NotEvaluated)
		}
	} else {
		v, err := Normalize(in.Type, in.Value)
		if err != nil {
			return fmt.Errorf("intel: %w", err)
		}
		if len(v) > maxValueRef {
			return fmt.Errorf("intel: %s value longer than %d bytes", in.Type, maxValueRef)
		}
		in.Value = v
	}
	idx := uint32(len(m.entries)) // #nosec G115 -- bounded above
	e := entry{
		meta:       m.metaFor(in),
		validFrom:  unixSec(in.ValidFrom),
		validUntil: unixSec(in.ValidUntil),
		firstSeen:  unixSec(in.FirstSeen),
		lastSe:     unixSec(in.LastSeen),
		conf:       uint8(clampConf(in.Confidence)), // #nosec G115 -- 0..100
		typ:        typeCodes[in.Type],
	}
	var (
		t   *strTable
		dup = func(prev uint32, ok bool) {
			if ok {
				e.next = prev + 1
				e.val = m.entries[prev].val
			} else {
				e.val = m.vals.add(in.Value)
			}
		}
	)
	switch in.Type {
	case TypeMD5, TypeSHA1, TypeSHA256:
		// A digest is kept in its table only, in binary; a hit spells it
		// out again (matchHash), so it takes no room in the arena.
		var (
			b    [32]byte
			prev uint32
			ok   bool
		)
		n := len(in.Value) / 2
		if _, ok := decodeHex(b[:n], in.Value); !ok {
			return fmt.Errorf("intel: %s %q: not hex", in.Type, in.Value)
		}
		switch n {
		case 16:
			prev, ok = m.md5.insert(m.seed, m.mem, md5KeyOf(b[:16]), idx)
		case 20:
			prev, ok = m.sha1.insert(m.seed, m.mem, sha1KeyOf(b[:20]), idx)
		default:
			prev, ok = m.sha256.insert(m.seed, m.mem, sha256KeyOf(b[:32]), idx)
		}
		if ok {
			e.next = prev + 1
		}
	case TypeIPv4, TypeIPv6:
		a := netip.MustParseAddr(in.Value)
		if a.Is4() {
			if m.ip4nets == nil {
				m.ip4nets = make([]uint64, 1<<24/64)
			}
			n := net24(a)
			m.ip4nets[n/64] |= 1 << (n % 64)
			dup(m.ip4.insert(m.seed, m.mem, ip4KeyOf(a), idx))
		} else {
			dup(m.ip6.insert(m.seed, m.mem, ip6KeyOf(a), idx))
		}
	case TypeCIDR:
		pfx := netip.MustParsePrefix(in.Value)
		dup(m.cidr.Get(pfx))
		m.cidr.Insert(pfx, idx)
		if pfx.Addr().Is4() {
			m.cidr4.insert(m.mem, pfx, idx)
		}
	case TypeDomain:
		t = &m.domains
		m.labels |= 1 << labelCount(in.Value)
	case TypeURL:
		t = &m.urls
	case TypeEmail:
		t = &m.emails
	case TypeFilename:
		t = &m.files
	case TypeSTIXPattern:
		m.patterns = append(m.patterns, patEntry{idx: idx, pat: pat, src: in.Value})
	default:
		return fmt.Errorf("intel: unknown indicator type %q", in.Type)
	}
	if t != nil {
		h := t.hash(m.seed, in.Value)
		prev, ref, ok := t.find(&m.vals, h, in.Value)
		if ok {
			e.next = prev + 1
			e.val = ref
		} else {
			e.val = m.vals.add(in.Value)
		}
		t.insert(m.seed, m.mem, &m.vals, h, e.val, idx)
	}
	m.entries = grown(m.mem, m.entries, e)
	if len(in.Refs) > 0 {
		m.refs[idx] = append([]string(nil), in.Refs...)
	}
	return nil
}

func (m *Matcher) metaFor(in Indicator) uint32 {
	if n := len(m.metas); n > 0 {
		// feeds add runs of indicators with the same metadata
		last := &m.metas[n-1]
		if last.source == in.Source && last.tlp == in.TLP && slices.Equal(last.tags, in.Tags) {
			return uint32(n - 1) // #nosec G115 -- at most one per entry
		}
	}
	k := in.Source + "\x00" + string(in.TLP) + "\x00" + strings.Join(in.Tags, "\x01")
	if i, ok := m.metaIdx[k]; ok {
		return i
	}
	i := uint32(len(m.metas)) // #nosec G115 -- at most one per entry
	m.metas = append(m.metas, meta{source: in.Source, tlp: in.TLP, tags: append([]string(nil), in.Tags...)})
	m.metaIdx[k] = i
	return i
}

// indicator rebuilds the indicator of entry idx. Its value is v when v
// is not empty (a pattern's source, or a value the caller has at hand
// that equals the stored one), else the stored value.
func (m *Matcher) indicator(idx uint32, v string) Indicator {
	e := &m.entries[idx]
	md := &m.metas[e.meta]
	if v == "" {
		v = m.vals.get(e.val)
	}
	var refs []string
	if len(m.refs) > 0 {
		refs = m.refs[idx]
	}
	return Indicator{
		Type: allTypes[e.typ], Value: v, Confidence: int(e.conf), TLP: md.tlp, Source: md.source, Tags: md.tags,
		ValidFrom: fromSec(e.validFrom), ValidUntil: fromSec(e.validUntil),
		FirstSeen: fromSec(e.firstSeen), LastSeen: fromSec(e.lastSe), Refs: refs,
	}
}

type matchCtx struct {
	m    *Matcher
	now  time.Time
	nowS int64
	hits []Hit
}

// clock reads the matcher's clock once per Match, and only when an
// indexed value was found: most lookups miss and need no time.
func (c *matchCtx) clock() {
	if c.now.IsZero() {
		c.now = c.m.opts.Now()
		c.nowS = c.now.Unix()
	}
}

// emit appends a hit for every live entry chained from head. value is the
// entries' normalised value (a pattern's source) when the caller has it,
// else "" and it is read from the arena.
func (c *matchCtx) emit(head uint32, field, evValue, value string) {
	c.clock()
	for i := head; ; {
		e := &c.m.entries[i]
		if c.live(e) {
			in := c.m.indicator(i, value)
			conf := decayed(int(e.conf), refTime(in.LastSeen, in.FirstSeen, in.ValidFrom), c.now, c.m.opts.Decay)
			if conf >= c.m.opts.MinConfidence {
				c.hits = append(c.hits, Hit{Indicator: in, Field: field, Value: evValue, Confidence: conf})
			}
		}
		if e.next == 0 {
			return
		}
		i = e.next - 1
	}
}

func (c *matchCtx) live(e *entry) bool {
	if e.validFrom != 0 && c.nowS < int64(e.validFrom) {
		return false
	}
	return e.validUntil == 0 || c.nowS < int64(e.validUntil)
}

// Match returns the hits of one event: the fields in MatchFields checked
// against the indexes, then every evaluable STIX pattern. Indicators outside
// their validity window, below MinConfidence after decay, or on allowed
// values are left out. For each event value only the most specific listed
// value is considered (an exact address before the longest prefix, the
// longest listed parent domain), whether or not its indicators are live.
// Hits are sorted by field, then indicator value, then source.
func (m *Matcher) Match(ev Event) []Hit {
	return m.AppendMatch(nil, ev)
}

// AppendMatch is Match appending to dst: a caller that reuses dst matches
// events that hit nothing without allocating.
func (m *Matcher) AppendMatch(dst []Hit, ev Event) []Hit {
	c := matchCtx{m: m, hits: dst}
	for f, v := range ev {
		kind := fieldKinds[f]
		if kind == 0 {
			continue
		}
		switch v := v.(type) {
		case string:
			c.matchValue(kind, f, v)
		case []any:
			for _, x := range v {
				if s, ok := scalar(x); ok {
					c.matchValue(kind, f, s)
				}
			}
		case []string:
			for _, s := range v {
				c.matchValue(kind, f, s)
			}
		default:
			if s, ok := scalar(v); ok {
				c.matchValue(kind, f, s)
			}
		}
	}
	for _, p := range m.patterns {
		if p.pat.Match(ev) {
			c.emit(p.idx, "pattern", "", p.src)
		}
	}
	runtime.KeepAlive(m) // its cleanup unmaps the arrays read above
	if added := c.hits[len(dst):]; len(added) > 1 {
		slices.SortFunc(added, func(a, b Hit) int {
			if a.Field != b.Field {
				return strings.Compare(a.Field, b.Field)
			}
			if a.Indicator.Value != b.Indicator.Value {
				return strings.Compare(a.Indicator.Value, b.Indicator.Value)
			}
			return strings.Compare(a.Indicator.Source, b.Indicator.Source)
		})
	}
	return c.hits
}

func (c *matchCtx) matchValue(kind uint8, f, s string) {
	switch kind {
	case kindIP:
		c.matchIP(f, s)
	case kindDomain:
		c.matchDomain(f, s)
	case kindURL:
		c.matchURL(f, s)
	case kindEmail:
		c.matchEmail(f, s)
	case kindFile:
		c.matchString(&c.m.files, TypeFilename, f, s)
	case kindHash:
		c.matchHash(f, s)
	}
}

// Field kinds for the event fields in MatchFields.
const (
	kindIP uint8 = 1 + iota
	kindDomain
	kindURL
	kindEmail
	kindFile
	kindHash
)

// fieldKinds is a read-only index of MatchFields by field name.
var fieldKinds = func() map[string]uint8 {
	k := map[string]uint8{}
	for _, f := range ipFields {
		k[f] = kindIP
	}
	for _, f := range domainFields {
		k[f] = kindDomain
	}
	for _, f := range urlFields {
		k[f] = kindURL
	}
	for _, f := range emailFields {
		k[f] = kindEmail
	}
	for _, f := range matchFields[TypeFilename] {
		k[f] = kindFile
	}
	for _, f := range hashFields {
		k[f] = kindHash
	}
	return k
}()

func eachValue(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, x := range v {
			if s, ok := scalar(x); ok {
				f(s)
			}
		}
	case []string:
		for _, s := range v {
			f(s)
		}
	default:
		if s, ok := scalar(v); ok {
			f(s)
		}
	}
}

var hashFields = []string{"file.hash.md5", "file.hash.sha1", "file.hash.sha256", "process.hash.md5", "process.hash.sha1", "process.hash.sha256", "related.hash"}

// matchIP looks the address up in the exact table, then in the prefixes.
// The allow-list is consulted only for a hit: it can only suppress hits.
func (c *matchCtx) matchIP(field, s string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return
	}
	a = a.Unmap().WithZone("")
	m := c.m
	var (
		i     uint32
		ok    bool
		exact bool
	)
	if a.Is4() {
		// The /24 bitmap (2 MiB) spares the exact table's cache miss for
		// most IPv4 addresses that are not listed.
		if m.ip4nets != nil && m.ip4nets[net24(a)/64]&(1<<(net24(a)%64)) != 0 {
			i, ok = m.ip4.lookup(m.seed, ip4KeyOf(a))
			exact = ok
		}
		if !ok {
			switch v := m.cidr4.lookup(uint32(ip4KeyOf(a))); {
			case v&ip4Deeper != 0:
				i, ok = m.cidr.Lookup(a)
			case v != 0:
				i, ok = v-1, true
			}
		}
	} else {
		i, ok = m.ip6.lookup(m.seed, ip6KeyOf(a))
		exact = ok
		if !ok {
			i, ok = m.cidr.Lookup(a)
		}
	}
	if !ok || m.opts.AllowList.AllowsAddr(a) {
		return
	}
	// The stored value of an address is its text form: the event's
	// value when it is written that way already.
	value := ""
	if exact {
		var buf [64]byte
		if string(a.AppendTo(buf[:0])) == s {
			value = s
		}
	}
	c.emit(i, field, s, value)
}

func ip4KeyOf(a netip.Addr) ip4Key {
	b := a.As4()
	return ip4Key(binary.BigEndian.Uint32(b[:]))
}

func ip6KeyOf(a netip.Addr) ip6Key {
	b := a.As16()
	return ip6Key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func md5KeyOf(b []byte) md5Key {
	return md5Key{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])}
}

func sha1KeyOf(b []byte) sha1Key {
	var k sha1Key
	for i := range k {
		k[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return k
}

func sha256KeyOf(b []byte) sha256Key {
	var k sha256Key
	for i := range k {
		k[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return k
}

// decodeHex decodes len(dst)*2 hex digits of either case from s into dst;
// lower is whether s had no upper-case digit.
func decodeHex(dst []byte, s string) (lower, ok bool) {
	if len(s) != 2*len(dst) {
		return false, false
	}
	lower = true
	for i := range dst {
		hi, l1, ok1 := fromHex(s[2*i])
		lo, l2, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false, false
		}
		lower = lower && l1 && l2
		dst[i] = hi<<4 | lo
	}
	return lower, true
}

// fromHex is the value of hex digit c; lower is false for A-F.
func fromHex(c byte) (v byte, lower, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, false, true
	}
	return 0, false, false
}

// net24 numbers the /24 network of an IPv4 address.
func net24(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}

// suffixHashes finds the suffixes of name b (b itself and its parents)
// that the matcher looks up, with their domainHash, walking the labels
// from the right so that each label is hashed once. Only suffixes with as
// many labels as some indicator are looked up (labels has bit n set for n
// labels, bit 63 for 63 or more): each lookup in a large table is a cache
// miss, and a name such as www.a.example.com would otherwise probe four
// times to find nothing. No indicator is longer than maxDomainLen, nor
// has more labels than the highest count in labels (unless that is 63).
// It writes where each suffix starts and its hash to at and hs, shortest
// first, and returns how many there are, or -1 if they do not fit (at
// most maxDomainLen+2 do: a suffix has at most one label more than bytes).
func suffixHashes(seed maphash.Seed, b []byte, labels uint64, at []int16, hs []uint64) int {
	most := 63 - bits.LeadingZeros64(labels)
	var (
		cand, n int
		h       uint64
		end     = len(b)
	)
	for j := len(b) - 1; j >= -1; j-- {
		if j >= 0 && b[j] != '.' {
			continue
		}
		if len(b)-(j+1) > maxDomainLen {
			break
		}
		h = domainStep(h, maphash.Bytes(seed, b[j+1:end]))
		end = j
		n++
		if labels&(1<<min(n, 63)) != 0 {
			if cand == len(at) || cand == len(hs) {
				return -1
			}
			at[cand], hs[cand] = int16(j+1), h // #nosec G115 -- at most maxDomainLen+1
			cand++
		}
		if n == most && most < 63 {
			break
		}
	}
	return cand
}

// matchDomain walks the parents of the lower-cased name over one buffer
// and stops at the longest listed one. The names are hashed label by label
// from the right (domainHash), so each parent's hash is one step from the
// next shorter one's.
func (c *matchCtx) matchDomain(field, s string) {
	m := c.m
	if m.domains.n == 0 {
		return
	}
	d := strings.TrimSuffix(s, ".")
	var buf [256]byte
	b, ok := foldASCII(buf[:], d)
	if !ok {
		b = []byte(strings.ToLower(d))
	}
	// Room for the parents of names of up to 32 labels on the stack; more
	// take a larger array.
	var (
		at    []int16
		hs    []uint64
		atBuf [32]int16
		hsBuf [32]uint64
	)
	cand := suffixHashes(m.seed, b, m.labels, atBuf[:], hsBuf[:])
	if cand >= 0 {
		at, hs = atBuf[:], hsBuf[:]
	} else {
		at, hs = make([]int16, maxDomainLen+2), make([]uint64, maxDomainLen+2)
		cand = suffixHashes(m.seed, b, m.labels, at, hs)
	}
	for k := cand - 1; k >= 0; k-- {
		if i, v, ok := m.domains.lookup(&m.vals, hs[k], b[at[k]:]); ok {
			if al := m.opts.AllowList; al == nil || !al.AllowsDomain(string(b)) {
				c.emit(i, field, s, v)
			}
			return
		}
	}
}

// labelCount is the number of dot-separated labels of a domain, capped at 63.
func labelCount(d string) uint {
	return uint(min(strings.Count(d, ".")+1, 63)) // #nosec G115 -- at most 63
}

// matchURL normalises the URL into a buffer on the stack (appendURL) when
// it can, else with NormalizeURL.
func (c *matchCtx) matchURL(field, s string) {
	if c.m.urls.n == 0 {
		return
	}
	var buf [512]byte
	b, ok := appendURL(buf[:0], s)
	if !ok {
		c.matchString(&c.m.urls, TypeURL, field, s)
		return
	}
	c.matchBytes(&c.m.urls, TypeURL, field, s, b)
}

// matchEmail is matchURL for e-mail addresses.
func (c *matchCtx) matchEmail(field, s string) {
	if c.m.emails.n == 0 {
		return
	}
	var buf [320]byte
	b, ok := appendEmail(buf[:0], s)
	if !ok {
		c.matchString(&c.m.emails, TypeEmail, field, s)
		return
	}
	c.matchBytes(&c.m.emails, TypeEmail, field, s, b)
}

// matchBytes looks up b, the normal form of the event's value s; a hit
// takes the indicator's value from the table, which the lookup has just
// compared with b.
func (c *matchCtx) matchBytes(t *strTable, typ Type, field, s string, b []byte) {
	if i, v, ok := t.lookup(&c.m.vals, maphash.Bytes(c.m.seed, b), b); ok && !c.m.opts.AllowList.allows(typ, v) {
		c.emit(i, field, s, v)
	}
}

func (c *matchCtx) matchString(t *strTable, typ Type, field, s string) {
	if t.n == 0 {
		return
	}
	v, err := Normalize(typ, s)
	if err != nil {
		return
	}
	if i, _, ok := t.find(&c.m.vals, t.hash(c.m.seed, v), v); ok && !c.m.opts.AllowList.allows(typ, v) {
		c.emit(i, field, s, v)
	}
}

// matchHash looks a hex digest up by its binary form; its length gives
// its type.
func (c *matchCtx) matchHash(field, s string) {
	m := c.m
	var b [32]byte
	n := len(s) / 2
	if len(s) != 32 && len(s) != 40 && len(s) != 64 || m.md5.n+m.sha1.n+m.sha256.n == 0 {
		return
	}
	lower, ok := decodeHex(b[:n], s)
	if !ok {
		return
	}
	var i uint32
	switch n {
	case 16:
		i, ok = m.md5.lookup(m.seed, md5KeyOf(b[:16]))
	case 20:
		i, ok = m.sha1.lookup(m.seed, sha1KeyOf(b[:20]))
	default:
		i, ok = m.sha256.lookup(m.seed, sha256KeyOf(b[:32]))
	}
	if !ok {
		return
	}
	// The indicator's value is the lower-case digest: the event's value
	// when it is written so, else spelt out (the one allocation of a hit).
	value := s
	if !lower {
		value = hex.EncodeToString(b[:n])
	}
	c.emit(i, field, s, value)
}
