package intel

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
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

// entry is the compact per-indicator record; values live in the index keys.
type entry struct {
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
// Match.
//
// Storage: hashes in maps keyed by fixed-size arrays (16, 20 and 32
// bytes), exact IPv4 addresses in a map keyed by uint32 and IPv6 by
// [16]byte, CIDR prefixes in a bart routing table (an exact address is
// more specific than any prefix, so the maps are checked first), domains,
// URLs, e-mail addresses and file names in string maps. Each key holds the
// index of a 28-byte record; indicators sharing a value are chained.
type Matcher struct {
	opts MatcherOptions

	entries  []entry
	metas    []meta
	metaIdx  map[string]uint32
	refs     map[uint32][]string
	md5      map[[16]byte]uint32
	sha1     map[[20]byte]uint32
	sha256   map[[32]byte]uint32
	ip4      map[uint32]uint32
	ip6      map[[16]byte]uint32
	cidr     *bart.Table[uint32]
	domains  map[string]uint32
	labels   uint64 // bit n set: some domain indicator has n labels (63: 63 or more)
	urls     map[string]uint32
	emails   map[string]uint32
	files    map[string]uint32
	patterns []patEntry
}

// NewMatcher returns an empty matcher.
func NewMatcher(opts MatcherOptions) *Matcher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Matcher{
		opts:    opts,
		metaIdx: map[string]uint32{},
		refs:    map[uint32][]string{},
		md5:     map[[16]byte]uint32{},
		sha1:    map[[20]byte]uint32{},
		sha256:  map[[32]byte]uint32{},
		ip4:     map[uint32]uint32{},
		ip6:     map[[16]byte]uint32{},
		cidr:    new(bart.Table[uint32]),
		domains: map[string]uint32{},
		urls:    map[string]uint32{},
		emails:  map[string]uint32{},
		files:   map[string]uint32{},
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
	link := func(prev uint32, ok bool) uint32 {
		if ok {
			e.next = prev + 1
		}
		return idx
	}
	switch in.Type {
	case TypeMD5:
		var k [16]byte
		_, _ = hex.Decode(k[:], []byte(in.Value))
		p, ok := m.md5[k]
		m.md5[k] = link(p, ok)
	case TypeSHA1:
		var k [20]byte
		_, _ = hex.Decode(k[:], []byte(in.Value))
		p, ok := m.sha1[k]
		m.sha1[k] = link(p, ok)
	case TypeSHA256:
		var k [32]byte
		_, _ = hex.Decode(k[:], []byte(in.Value))
		p, ok := m.sha256[k]
		m.sha256[k] = link(p, ok)
	case TypeIPv4, TypeIPv6:
		a := netip.MustParseAddr(in.Value)
		if a.Is4() {
			k := a.As4()
			u := uint32(k[0])<<24 | uint32(k[1])<<16 | uint32(k[2])<<8 | uint32(k[3])
			p, ok := m.ip4[u]
			m.ip4[u] = link(p, ok)
		} else {
			k := a.As16()
			p, ok := m.ip6[k]
			m.ip6[k] = link(p, ok)
		}
	case TypeCIDR:
		pfx := netip.MustParsePrefix(in.Value)
		p, ok := m.cidr.Get(pfx)
		m.cidr.Insert(pfx, link(p, ok))
	case TypeDomain:
		p, ok := m.domains[in.Value]
		m.domains[in.Value] = link(p, ok)
		m.labels |= 1 << labelCount(in.Value)
	case TypeURL:
		p, ok := m.urls[in.Value]
		m.urls[in.Value] = link(p, ok)
	case TypeEmail:
		p, ok := m.emails[in.Value]
		m.emails[in.Value] = link(p, ok)
	case TypeFilename:
		p, ok := m.files[in.Value]
		m.files[in.Value] = link(p, ok)
	case TypeSTIXPattern:
		m.patterns = append(m.patterns, patEntry{idx: idx, pat: pat, src: in.Value})
	default:
		return fmt.Errorf("intel: unknown indicator type %q", in.Type)
	}
	m.entries = append(m.entries, e)
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

// indicator rebuilds the indicator of entry idx with value v.
func (m *Matcher) indicator(idx uint32, v string) Indicator {
	e := m.entries[idx]
	md := m.metas[e.meta]
	return Indicator{
		Type: allTypes[e.typ], Value: v, Confidence: int(e.conf), TLP: md.tlp, Source: md.source, Tags: md.tags,
		ValidFrom: fromSec(e.validFrom), ValidUntil: fromSec(e.validUntil),
		FirstSeen: fromSec(e.firstSeen), LastSeen: fromSec(e.lastSe), Refs: m.refs[idx],
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
func (c *matchCtx) emit(head uint32, field, evValue string, value func() string) {
	c.clock()
	for i := head; ; {
		e := &c.m.entries[i]
		if c.live(e) {
			in := c.m.indicator(i, value())
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
// values are left out. Hits are sorted by field, then indicator value.
func (m *Matcher) Match(ev Event) []Hit {
	c := matchCtx{m: m}
	for f, v := range ev {
		kind := fieldKinds[f]
		if kind == 0 {
			continue
		}
		eachValue(v, func(s string) {
			switch kind {
			case kindIP:
				c.matchIP(f, s)
			case kindDomain:
				c.matchDomain(f, s)
			case kindURL:
				c.matchString(m.urls, TypeURL, f, s)
			case kindEmail:
				c.matchString(m.emails, TypeEmail, f, s)
			case kindFile:
				c.matchString(m.files, TypeFilename, f, s)
			case kindHash:
				c.matchHash(f, s)
			}
		})
	}
	for _, p := range m.patterns {
		if p.pat.Match(ev) {
			c.emit(p.idx, "pattern", "", func() string { return p.src })
		}
	}
	if len(c.hits) > 1 {
		sort.Slice(c.hits, func(i, j int) bool {
			a, b := c.hits[i], c.hits[j]
			if a.Field != b.Field {
				return a.Field < b.Field
			}
			if a.Indicator.Value != b.Indicator.Value {
				return a.Indicator.Value < b.Indicator.Value
			}
			return a.Indicator.Source < b.Indicator.Source
		})
	}
	return c.hits
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

func (c *matchCtx) matchIP(field, s string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return
	}
	a = a.Unmap().WithZone("")
	if c.m.opts.AllowList.AllowsAddr(a) {
		return
	}
	if a.Is4() {
		k := a.As4()
		if i, ok := c.m.ip4[uint32(k[0])<<24|uint32(k[1])<<16|uint32(k[2])<<8|uint32(k[3])]; ok {
			c.emit(i, field, s, a.String)
			return
		}
	} else if i, ok := c.m.ip6[a.As16()]; ok {
		c.emit(i, field, s, a.String)
		return
	}
	if _, ok := c.m.cidr.Lookup(a); ok {
		pfx, i, _ := c.m.cidr.LookupPrefixLPM(netip.PrefixFrom(a, a.BitLen()))
		c.emit(i, field, s, pfx.String)
	}
}

func (c *matchCtx) matchDomain(field, s string) {
	d := strings.TrimSuffix(s, ".")
	if !isLowerASCII(d) {
		d = strings.ToLower(d)
	}
	if c.m.opts.AllowList.AllowsDomain(d) {
		return
	}
	// Only suffixes with as many labels as some indicator are looked up:
	// each lookup in a large map is a cache miss, and a name such as
	// www.a.example.com would otherwise probe four times to find nothing.
	for cur, n := d, labelCount(d); ; n-- {
		if c.m.labels&(1<<n) != 0 {
			if i, ok := c.m.domains[cur]; ok {
				c.emit(i, field, s, func() string { return cur })
				return
			}
		}
		j := strings.IndexByte(cur, '.')
		if j < 0 {
			return
		}
		cur = cur[j+1:]
	}
}

// labelCount is the number of dot-separated labels of a domain, capped at 63.
func labelCount(d string) uint {
	return uint(min(strings.Count(d, ".")+1, 63)) // #nosec G115 -- at most 63
}

func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

func (c *matchCtx) matchString(idx map[string]uint32, t Type, field, s string) {
	if len(idx) == 0 {
		return
	}
	v, err := Normalize(t, s)
	if err != nil {
		return
	}
	if c.m.opts.AllowList.allows(t, v) {
		return
	}
	if i, ok := idx[v]; ok {
		c.emit(i, field, s, func() string { return v })
	}
}

func (c *matchCtx) matchHash(field, s string) {
	var buf [32]byte
	n := len(s) / 2
	if len(s)%2 != 0 || (n != 16 && n != 20 && n != 32) {
		return
	}
	if _, err := hex.Decode(buf[:n], []byte(s)); err != nil {
		return
	}
	var (
		i  uint32
		ok bool
	)
	switch n {
	case 16:
		i, ok = c.m.md5[[16]byte(buf[:16])]
	case 20:
		i, ok = c.m.sha1[[20]byte(buf[:20])]
	default:
		i, ok = c.m.sha256[buf]
	}
	if ok {
		c.emit(i, field, s, func() string { return hex.EncodeToString(buf[:n]) })
	}
}
