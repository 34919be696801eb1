// Package intel owns Vigil's threat intelligence: the indicator model
// (normalised values, confidence, TLP, validity, decay), the feed parsers
// (STIX 2.1 bundles and patterns, MISP feeds and events, plain CSV/TXT
// lists) and the matcher that checks ECS-style events against millions of
// indicators.
//
// Parsers never fail a whole feed because of one bad object: each rejected
// object is reported with its position and a reason, and the rest is kept.
// Every input is size-bounded.
package intel

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gaissmai/bart"
)

// Type is the kind of an indicator value.
type Type string

// Indicator types.
const (
	TypeIPv4        Type = "ipv4"
	TypeIPv6        Type = "ipv6"
	TypeCIDR        Type = "cidr"
	TypeDomain      Type = "domain"
	TypeURL         Type = "url"
	TypeMD5         Type = "md5"
	TypeSHA1        Type = "sha1"
	TypeSHA256      Type = "sha256"
	TypeEmail       Type = "email"
	TypeFilename    Type = "filename"
	TypeSTIXPattern Type = "stix-pattern"
)

// Types lists every indicator type, in a stable order.
func Types() []Type { return append([]Type(nil), allTypes...) }

var allTypes = []Type{TypeIPv4, TypeIPv6, TypeCIDR, TypeDomain, TypeURL, TypeMD5, TypeSHA1, TypeSHA256, TypeEmail, TypeFilename, TypeSTIXPattern}

// TLP is a Traffic Light Protocol label: "clear" (also written white),
// "green", "amber", "amber+strict" or "red"; empty when unknown.
type TLP string

// TLP labels.
const (
	TLPClear       TLP = "clear"
	TLPGreen       TLP = "green"
	TLPAmber       TLP = "amber"
	TLPAmberStrict TLP = "amber+strict"
	TLPRed         TLP = "red"
)

// ParseTLP reads "TLP:GREEN", "tlp:white", "amber+strict" and the like.
func ParseTLP(s string) (TLP, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "tlp:")
	s = strings.TrimPrefix(s, "tlp-")
	switch s {
	case "white", "clear":
		return TLPClear, true
	case "green":
		return TLPGreen, true
	case "amber":
		return TLPAmber, true
	case "amber+strict":
		return TLPAmberStrict, true
	case "red":
		return TLPRed, true
	}
	return "", false
}

// Indicator is one normalised indicator of compromise.
type Indicator struct {
	Type       Type      `json:"type"`
	Value      string    `json:"value"`
	Confidence int       `json:"confidence"`
	TLP        TLP       `json:"tlp,omitempty"`
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	Source     string    `json:"source,omitempty"`
	FirstSeen  time.Time `json:"first_seen,omitzero"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	Tags       []string  `json:"tags,omitempty"`
	// Refs are identifiers of the objects the indicator came from, such
	// as a STIX id or "misp-event:<uuid>".
	Refs []string `json:"refs,omitempty"`

	pattern *Pattern // set for TypeSTIXPattern
}

// Pattern returns the parsed STIX pattern of a TypeSTIXPattern indicator.
func (in *Indicator) Pattern() *Pattern { return in.pattern }

// Active reports whether the indicator is inside its validity window at now:
// not before ValidFrom and strictly before ValidUntil (zero bounds are open).
func (in *Indicator) Active(now time.Time) bool {
	if !in.ValidFrom.IsZero() && now.Before(in.ValidFrom) {
		return false
	}
	if !in.ValidUntil.IsZero() && !now.Before(in.ValidUntil) {
		return false
	}
	return true
}

// DecayMode selects how confidence falls with age.
type DecayMode string

// Decay modes.
const (
	// DecayNone keeps the stated confidence.
	DecayNone DecayMode = ""
	// DecayLinear falls linearly from the stated confidence to 0 over
	// Decay.Lifetime after the reference time.
	DecayLinear DecayMode = "linear"
	// DecayHalfLife halves the confidence every Decay.HalfLife after the
	// reference time.
	DecayHalfLife DecayMode = "half-life"
)

// Decay is the confidence decay policy. The reference time is LastSeen, else
// FirstSeen, else ValidFrom; an indicator with none of them does not decay.
// Before the reference time the stated confidence applies.
type Decay struct {
	Mode     DecayMode
	Lifetime time.Duration // DecayLinear: age at which confidence reaches 0
	HalfLife time.Duration // DecayHalfLife
}

// EffectiveConfidence is the confidence at now under the decay policy d,
// rounded down to an integer in 0..100.
func (in *Indicator) EffectiveConfidence(now time.Time, d Decay) int {
	return decayed(in.Confidence, refTime(in.LastSeen, in.FirstSeen, in.ValidFrom), now, d)
}

func refTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func decayed(conf int, ref, now time.Time, d Decay) int {
	if d.Mode == DecayNone || ref.IsZero() || !now.After(ref) {
		return conf
	}
	age := now.Sub(ref)
	switch d.Mode {
	case DecayLinear:
		if d.Lifetime <= 0 {
			return conf
		}
		if age >= d.Lifetime {
			return 0
		}
		return int(float64(conf) * (1 - float64(age)/float64(d.Lifetime)))
	case DecayHalfLife:
		if d.HalfLife <= 0 {
			return conf
		}
		return int(float64(conf) * math.Pow(0.5, float64(age)/float64(d.HalfLife)))
	}
	return conf
}

// Limits on single values.
const (
	maxValueLen  = 8 << 10
	maxDomainLen = 253
)

// ErrInvalidValue is wrapped by Normalize for values that are not of their type.
var ErrInvalidValue = errors.New("invalid indicator value")

// Normalize returns the canonical form of v for type t: addresses in
// netip form (CIDRs masked; a /32 or /128 becomes an address), domains
// lower-case without a trailing dot (IDNA is not applied), URLs per
// NormalizeURL, hashes lower-case hex of the right length, e-mail addresses
// lower-case, file names as given (trimmed).
func Normalize(t Type, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("%w: empty %s", ErrInvalidValue, t)
	}
	if len(v) > maxValueLen {
		return "", fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidValue, t, maxValueLen)
	}
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %s %q: %s", ErrInvalidValue, t, clip(v), why)
	}
	switch t {
	case TypeIPv4, TypeIPv6:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return bad("not an address")
		}
		a = a.Unmap()
		if (t == TypeIPv4) != a.Is4() {
			return bad("wrong address family")
		}
		return a.WithZone("").String(), nil
	case TypeCIDR:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return bad("not a CIDR prefix")
		}
		return p.Masked().String(), nil
	case TypeDomain:
		d, ok := normalizeDomain(v)
		if !ok {
			return bad("not a domain name")
		}
		return d, nil
	case TypeURL:
		u, err := NormalizeURL(v)
		if err != nil {
			return bad(err.Error())
		}
		return u, nil
	case TypeMD5, TypeSHA1, TypeSHA256:
		want := map[Type]int{TypeMD5: 32, TypeSHA1: 40, TypeSHA256: 64}[t]
		v = strings.ToLower(v)
		if len(v) != want {
			return bad(fmt.Sprintf("want %d hex digits", want))
		}
		if _, err := hex.DecodeString(v); err != nil {
			return bad("not hex")
		}
		return v, nil
	case TypeEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
			return bad("not an e-mail address")
		}
		return strings.ToLower(a.Address), nil
	case TypeFilename:
		if strings.ContainsAny(v, "\x00/") {
			return bad("not a file name")
		}
		return v, nil
	case TypeSTIXPattern:
		return v, nil
	}
	return "", fmt.Errorf("%w: unknown type %q", ErrInvalidValue, t)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func normalizeDomain(v string) (string, bool) {
	v = strings.TrimSuffix(strings.ToLower(v), ".")
	if v == "" || len(v) > maxDomainLen || !strings.Contains(v, ".") {
		return "", false
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return "", false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return "", false
			}
		}
	}
	return v, true
}

// NormalizeURL returns u with scheme and host lower-cased, the scheme's
// default port removed, the fragment dropped, percent-encoded unreserved
// characters (ALPHA, DIGIT, "-", ".", "_", "~") decoded, other percent
// escapes upper-cased, and an empty path written as "/". A URL without a
// scheme is read as http.
func NormalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxValueLen {
		return "", errors.New("URL too long")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return "", errors.New("URL without host")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == defaultPort[scheme] {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	b.WriteString(host)
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	b.WriteString(normalizeEscapes(p))
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteByte('?')
		b.WriteString(normalizeEscapes(u.RawQuery))
	}
	if b.Len() > maxValueLen {
		return "", errors.New("URL too long")
	}
	return b.String(), nil
}

var defaultPort = map[string]string{"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}

func normalizeEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err == nil {
				c := byte(n)
				if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
					b.WriteByte(c)
				} else {
					b.WriteString(strings.ToUpper(s[i : i+3]))
				}
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// DetectType guesses the type of a bare value: address, CIDR, hash by
// length, URL (has "://"), e-mail (has "@"), else domain. It returns false
// for values that fit no type.
func DetectType(v string) (Type, bool) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Unmap().Is4() {
			return TypeIPv4, true
		}
		return TypeIPv6, true
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return TypeCIDR, true
	}
	if isHex(v) {
		switch len(v) {
		case 32:
			return TypeMD5, true
		case 40:
			return TypeSHA1, true
		case 64:
			return TypeSHA256, true
		}
	}
	if strings.Contains(v, "://") {
		return TypeURL, true
	}
	if strings.Contains(v, "@") {
		return TypeEmail, true
	}
	if _, ok := normalizeDomain(v); ok {
		return TypeDomain, true
	}
	return "", false
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// NewIndicator normalises value for type t and returns an indicator with
// the given confidence and source; a /32 or /128 CIDR becomes an address.
func NewIndicator(t Type, value string, confidence int, source string) (Indicator, error) {
	n, err := Normalize(t, value)
	if err != nil {
		return Indicator{}, err
	}
	if t == TypeCIDR {
		p, _ := netip.ParsePrefix(n)
		if p.IsSingleIP() {
			n = p.Addr().String()
			t = TypeIPv4
			if !p.Addr().Is4() {
				t = TypeIPv6
			}
		}
	}
	return Indicator{Type: t, Value: n, Confidence: clampConf(confidence), Source: source}, nil
}

func clampConf(c int) int {
	return min(max(c, 0), 100)
}

// AllowList suppresses matches on the tenant's own or well-known benign
// ranges and domains. A domain entry also covers its subdomains.
type AllowList struct {
	prefixes *bart.Lite
	domains  map[string]struct{}
}

// NewAllowList reads entries that are addresses, CIDR prefixes or domains.
func NewAllowList(entries []string) (*AllowList, error) {
	a := &AllowList{prefixes: new(bart.Lite), domains: map[string]struct{}{}}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" || strings.HasPrefix(e, "#") {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			a.prefixes.Insert(p.Masked())
			continue
		}
		if ad, err := netip.ParseAddr(e); err == nil {
			a.prefixes.Insert(netip.PrefixFrom(ad.Unmap(), ad.Unmap().BitLen()))
			continue
		}
		d, ok := normalizeDomain(e)
		if !ok {
			return nil, fmt.Errorf("allow-list entry %q: not an address, prefix or domain", clip(e))
		}
		a.domains[d] = struct{}{}
	}
	return a, nil
}

// AllowsAddr reports whether ip is inside an allowed prefix.
func (a *AllowList) AllowsAddr(ip netip.Addr) bool {
	if a == nil {
		return false
	}
	return a.prefixes.Lookup(ip.Unmap())
}

// AllowsDomain reports whether d (normalised) or one of its parents is allowed.
func (a *AllowList) AllowsDomain(d string) bool {
	if a == nil || len(a.domains) == 0 {
		return false
	}
	for {
		if _, ok := a.domains[d]; ok {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
	}
}

// hostOf returns the host of a normalised URL or an e-mail domain.
func hostOf(t Type, v string) string {
	switch t {
	case TypeURL:
		u, err := url.Parse(v)
		if err != nil {
			return ""
		}
		return u.Hostname()
	case TypeEmail:
		if i := strings.LastIndexByte(v, '@'); i >= 0 {
			return v[i+1:]
		}
	}
	return ""
}

// allows reports whether the allow-list suppresses a hit on value v of type t.
func (a *AllowList) allows(t Type, v string) bool {
	if a == nil {
		return false
	}
	switch t {
	case TypeIPv4, TypeIPv6:
		ad, err := netip.ParseAddr(v)
		return err == nil && a.AllowsAddr(ad)
	case TypeDomain:
		return a.AllowsDomain(v)
	case TypeURL, TypeEmail:
		h := hostOf(t, v)
		if ad, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			return a.AllowsAddr(ad)
		}
		if net.ParseIP(h) == nil && h != "" {
			return a.AllowsDomain(h)
		}
	}
	return false
}
