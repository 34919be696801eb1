package intel

import (
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
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
// and their subdomains (the longest listed parent wins); related.hash is
// checked against the hash type its length implies. stix-pattern indicators
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
// indicator is a 40-byte record pointing at its value. Exact values
// (addresses, hashes, domains, URLs, e-mail addresses, file names) are
// found through open-addressed valueTables keyed by a 64-bit hash of the
// normalised value and checked against the stored value; CIDR prefixes
// are in a bart routing table (an exact address is more specific than any
// prefix, so the address table is checked first). Indicators sharing a
// value are chained. A lookup normalises the event value on the stack
// (parsing addresses, ASCII case folding), so a miss allocates nothing.
type Matcher struct {
	opts MatcherOptions
	seed maphash.Seed

	entries  []entry
	vals     valueArena
	metas    []meta
	metaIdx  map[string]uint32
	refs     map[uint32][]string
	hashes   valueTable // md5, sha1 and sha256 as lower-case hex
	ips      valueTable
	cidr     *bart.Fast[uint32]
	ip4nets  []uint64 // bit n set: some exact IPv4 indicator is in the /24 numbered n
	domains  valueTable
	labels   uint64 // bit n set: some domain indicator has n labels (63: 63 or more)
	urls     valueTable
	emails   valueTable
	files    valueTable
	patterns []patEntry
}

// NewMatcher returns an empty matcher.
func NewMatcher(opts MatcherOptions) *Matcher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Matcher{
		opts:    opts,
		seed:    maphash.MakeSeed(),
		metaIdx: map[string]uint32{},
		refs:    map[uint32][]string{},
		ips:     valueTable{ip: true},
		cidr:    new(bart.Fast[uint32]),
	}
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
	if len(m.entries) >= math.MaxUint32-1 {
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
		t *valueTable
		h uint64
	)
	switch in.Type {
	case TypeMD5, TypeSHA1, TypeSHA256:
		t = &m.hashes
	case TypeIPv4, TypeIPv6:
		t = &m.ips
		a := netip.MustParseAddr(in.Value)
		h = m.hashAddr(a)
		if a.Is4() {
			if m.ip4nets == nil {
				m.ip4nets = make([]uint64, 1<<24/64)
			}
			n := net24(a)
			m.ip4nets[n/64] |= 1 << (n % 64)
		}
	case TypeCIDR:
		pfx := netip.MustParsePrefix(in.Value)
		if p, ok := m.cidr.Get(pfx); ok {
			e.next = p + 1
			e.val = m.entries[p].val
		} else {
			e.val = m.vals.add(in.Value)
		}
		m.cidr.Insert(pfx, idx)
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
		if !t.ip {
			h = m.hashString(in.Value)
		}
		if p, ok := m.lookupString(t, h, in.Value); ok {
			e.next = p + 1
			e.val = m.entries[p].val
		} else {
			e.val = m.vals.add(in.Value)
		}
	}
	m.entries = append(m.entries, e)
	if t != nil {
		m.insert(t, h, in.Value, idx)
	}
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

// indicator rebuilds the indicator of entry idx; a pattern's value is src.
func (m *Matcher) indicator(idx uint32, src string) Indicator {
	e := &m.entries[idx]
	md := &m.metas[e.meta]
	v := src
	if e.typ != typeCodes[TypeSTIXPattern] {
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

// emit appends a hit for every live entry chained from head.
func (c *matchCtx) emit(head uint32, field, evValue, src string) {
	c.clock()
	for i := head; ; {
		e := &c.m.entries[i]
		if c.live(e) {
			in := c.m.indicator(i, src)
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
		c.matchString(&c.m.emails, TypeEmail, f, s)
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
	var (
		i  uint32
		ok bool
	)
	// The /24 bitmap (2 MiB) spares the exact table's cache miss for most
	// IPv4 addresses that are not listed.
	if !a.Is4() || c.m.ip4nets != nil && c.m.ip4nets[net24(a)/64]&(1<<(net24(a)%64)) != 0 {
		i, ok = c.m.lookupAddr(&c.m.ips, a)
	}
	if !ok {
		i, ok = c.m.cidr.Lookup(a)
	}
	if ok && !c.m.opts.AllowList.AllowsAddr(a) {
		c.emit(i, field, s, "")
	}
}

// net24 numbers the /24 network of an IPv4 address.
func net24(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}

// matchDomain walks the parents of the lower-cased name over one buffer
// and stops at the longest listed one.
func (c *matchCtx) matchDomain(field, s string) {
	if c.m.domains.n == 0 {
		return
	}
	d := strings.TrimSuffix(s, ".")
	var buf [256]byte
	b, ok := foldASCII(buf[:], d)
	if !ok {
		b = []byte(strings.ToLower(d))
	}
	// Only suffixes with as many labels as some indicator are looked up:
	// each lookup in a large table is a cache miss, and a name such as
	// www.a.example.com would otherwise probe four times to find nothing.
	for cur, n := b, labelCountBytes(b); ; n-- {
		if c.m.labels&(1<<n) != 0 {
			if i, ok := c.m.lookupBytes(&c.m.domains, c.m.hashBytes(cur), cur); ok {
				if al := c.m.opts.AllowList; al == nil || !al.AllowsDomain(string(b)) {
					c.emit(i, field, s, "")
				}
				return
			}
		}
		j := indexByte(cur, '.')
		if j < 0 {
			return
		}
		cur = cur[j+1:]
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// labelCount is the number of dot-separated labels of a domain, capped at 63.
func labelCount(d string) uint {
	return uint(min(strings.Count(d, ".")+1, 63)) // #nosec G115 -- at most 63
}

func labelCountBytes(d []byte) uint {
	n := 1
	for _, x := range d {
		if x == '.' {
			n++
		}
	}
	return uint(min(n, 63)) // #nosec G115 -- at most 63
}

// matchURL takes URLs already in normal form as they are and normalises
// the others.
func (c *matchCtx) matchURL(field, s string) {
	if c.m.urls.n == 0 {
		return
	}
	if !canonicalURL(s) {
		c.matchString(&c.m.urls, TypeURL, field, s)
		return
	}
	if i, ok := c.m.lookupString(&c.m.urls, c.m.hashString(s), s); ok && !c.m.opts.AllowList.allows(TypeURL, s) {
		c.emit(i, field, s, "")
	}
}

func (c *matchCtx) matchString(t *valueTable, typ Type, field, s string) {
	if t.n == 0 {
		return
	}
	v, err := Normalize(typ, s)
	if err != nil {
		return
	}
	if i, ok := c.m.lookupString(t, c.m.hashString(v), v); ok && !c.m.opts.AllowList.allows(typ, v) {
		c.emit(i, field, s, "")
	}
}

// matchHash looks a hex digest up by its lower-case form; its length
// gives its type.
func (c *matchCtx) matchHash(field, s string) {
	if n := len(s); n != 32 && n != 40 && n != 64 || c.m.hashes.n == 0 {
		return
	}
	var buf [64]byte
	b, ok := foldASCII(buf[:], s)
	if !ok {
		return
	}
	if i, ok := c.m.lookupBytes(&c.m.hashes, c.m.hashBytes(b), b); ok {
		c.emit(i, field, s, "")
	}
}
