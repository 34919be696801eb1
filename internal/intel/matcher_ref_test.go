package intel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// refMatcher is the reference for the differential tests: plain maps of
// normalised values, a linear scan for the longest prefix, a parent walk
// over substrings, and Indicator.Active / EffectiveConfidence for validity
// and decay. It is written for clarity, not speed.
type refMatcher struct {
	opts   MatcherOptions
	exact  map[string][]Indicator // "ip|1.2.3.4", "domain|x.example", "hash|..."
	cidrs  map[netip.Prefix][]Indicator
	pats   []Indicator
	parsed []*Pattern
}

func newRefMatcher(opts MatcherOptions) *refMatcher {
	return &refMatcher{opts: opts, exact: map[string][]Indicator{}, cidrs: map[netip.Prefix][]Indicator{}}
}

// refKind maps an indicator type to the key space it is looked up in.
func refKind(t Type) string {
	switch t {
	case TypeIPv4, TypeIPv6:
		return "ip"
	case TypeMD5, TypeSHA1, TypeSHA256:
		return "hash"
	}
	return string(t)
}

// add keeps what the matcher keeps: the normalised value, confidence
// clamped to 0..100, times in whole seconds.
func (r *refMatcher) add(in Indicator) {
	sec := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return time.Unix(t.Unix(), 0).UTC()
	}
	in.ValidFrom, in.ValidUntil, in.FirstSeen, in.LastSeen = sec(in.ValidFrom), sec(in.ValidUntil), sec(in.FirstSeen), sec(in.LastSeen)
	in.Confidence = clampConf(in.Confidence)
	in.pattern = nil
	if len(in.Tags) == 0 {
		in.Tags = nil
	}
	if len(in.Refs) == 0 {
		in.Refs = nil
	}
	if in.Type == TypeSTIXPattern {
		p, err := ParsePattern(in.Value)
		if err != nil {
			panic(err)
		}
		r.pats = append(r.pats, in)
		r.parsed = append(r.parsed, p)
		return
	}
	v, err := Normalize(in.Type, in.Value)
	if err != nil {
		panic(err)
	}
	in.Value = v
	if in.Type == TypeCIDR {
		p := netip.MustParsePrefix(v)
		r.cidrs[p] = append(r.cidrs[p], in)
		return
	}
	k := refKind(in.Type) + "|" + v
	r.exact[k] = append(r.exact[k], in)
}

func (r *refMatcher) match(ev Event) []Hit {
	now := r.opts.Now()
	var hits []Hit
	emit := func(ins []Indicator, field, value string) {
		for _, in := range ins {
			if !in.Active(now) {
				continue
			}
			conf := in.EffectiveConfidence(now, r.opts.Decay)
			if conf < r.opts.MinConfidence {
				continue
			}
			hits = append(hits, Hit{Indicator: in, Field: field, Value: value, Confidence: conf})
		}
	}
	al := r.opts.AllowList
	hashSeen := map[string]bool{} // related.hash is in every hash type's list
	for typ, fields := range matchFields {
		for _, f := range fields {
			if typ == TypeMD5 || typ == TypeSHA1 || typ == TypeSHA256 {
				if hashSeen[f] {
					continue
				}
				hashSeen[f] = true
			}
			for _, s := range ev.Values(f) {
				switch typ {
				case TypeIPv4: // TypeIPv6 and TypeCIDR read the same fields
					a, err := netip.ParseAddr(s)
					if err != nil {
						continue
					}
					a = a.Unmap().WithZone("")
					if al.AllowsAddr(a) {
						continue
					}
					if ins, ok := r.exact["ip|"+a.String()]; ok {
						emit(ins, f, s)
						continue
					}
					var best netip.Prefix
					for p := range r.cidrs {
						if p.Contains(a) && (!best.IsValid() || p.Bits() > best.Bits()) {
							best = p
						}
					}
					if best.IsValid() {
						emit(r.cidrs[best], f, s)
					}
				case TypeDomain:
					d := strings.ToLower(strings.TrimSuffix(s, "."))
					if al.AllowsDomain(d) {
						continue
					}
					for cur := d; ; {
						if ins, ok := r.exact["domain|"+cur]; ok {
							emit(ins, f, s)
							break
						}
						i := strings.IndexByte(cur, '.')
						if i < 0 {
							break
						}
						cur = cur[i+1:]
					}
				case TypeURL, TypeEmail, TypeFilename:
					v, err := Normalize(typ, s)
					if err != nil || al.allows(typ, v) {
						continue
					}
					emit(r.exact[string(typ)+"|"+v], f, s)
				case TypeMD5, TypeSHA1, TypeSHA256:
					// A digest in any hash field is looked up as the type
					// its length implies.
					if n := len(s); n == 32 || n == 40 || n == 64 {
						emit(r.exact["hash|"+strings.ToLower(s)], f, s)
					}
				}
			}
		}
	}
	for i, in := range r.pats {
		if r.parsed[i].Match(ev) {
			emit([]Indicator{in}, "pattern", "")
		}
	}
	return hits
}

// sameHits compares two hit lists as multisets.
func sameHits(t *testing.T, what string, got, want []Hit) {
	t.Helper()
	key := func(h Hit) string { return fmt.Sprintf("%+v", h) }
	norm := func(hs []Hit) []string {
		out := make([]string, len(hs))
		for i, h := range hs {
			if len(h.Indicator.Tags) == 0 {
				h.Indicator.Tags = nil
			}
			if len(h.Indicator.Refs) == 0 {
				h.Indicator.Refs = nil
			}
			out[i] = key(h)
		}
		slices.Sort(out)
		return out
	}
	if d := cmp.Diff(norm(want), norm(got)); d != "" {
		t.Fatalf("%s: hits differ from the reference (-want +got):\n%s", what, d)
	}
}

// refGen generates indicators and event values from small pools, so that
// values repeat, prefixes nest, domains have listed parents and queries
// hit, miss and vary in case and form.
type refGen struct {
	r   *rand.Rand
	now time.Time
}

func (g refGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g refGen) ipv4() netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(g.r.IntN(4)), byte(g.r.IntN(8)), byte(g.r.IntN(16))})
}

func (g refGen) ipv6() netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(g.r.IntN(16))})
}

func (g refGen) domain() string {
	n := 1 + g.r.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.pick("a", "b", "evil", "mail", "cdn", "x-1")
	}
	return strings.Join(parts, ".") + "." + g.pick("example", "test")
}

// hash returns a digest from a small pool, so that values repeat; the
// digests of the pool use every hex digit (TestRefGenHashDigits).
func (g refGen) hash() string {
	n := []int{16, 20, 32}[g.r.IntN(3)]
	sum := sha256.Sum256([]byte{byte(g.r.IntN(6))})
	return hex.EncodeToString(sum[:n])
}

func (g refGen) url() string {
	return g.pick("http", "https", "HTTP", "HtTpS") + "://" + g.pick("evil.example", "Evil.Example", "cdn.test", "evil.example:8080", "evil.example:80",
		"EVIL.EXAMPLE:443", "evil.example:", "10.0.0.1", "u@evil.example", "[2001:db8::1]") +
		g.pick("", "/", "/a", "/a%7eb", "/a%7Eb", "/a~b", "/A", "/x?q=1", "/x?q=%2f", "/x?Q=%2F", "/x#frag", "/x#%zz", "/a%2fb", "/a?", "?q=1", "/a b")
}

func (g refGen) time(spread time.Duration) time.Time {
	switch g.r.IntN(6) {
	case 0, 1:
		return time.Time{}
	case 2: // the edges of a validity window
		return g.now.Add(time.Duration(g.r.IntN(3)-1) * time.Second)
	}
	return g.now.Add(time.Duration(g.r.Int64N(int64(2*spread))) - spread).Truncate(time.Second)
}

func (g refGen) indicator() Indicator {
	day := 24 * time.Hour
	in := Indicator{
		Confidence: g.r.IntN(130) - 10,
		Source:     g.pick("feed-a", "feed-b", "feed-c"),
		TLP:        TLP(g.pick("", "clear", "green", "amber", "red")),
		ValidFrom:  g.time(30 * day),
		ValidUntil: g.time(30 * day),
		FirstSeen:  g.time(60 * day),
		LastSeen:   g.time(60 * day),
	}
	if g.r.IntN(2) == 0 {
		in.Tags = []string{g.pick("apt", "botnet", "phishing")}
	}
	if g.r.IntN(3) == 0 {
		in.Refs = []string{fmt.Sprintf("indicator--%d", g.r.IntN(1000))}
	}
	switch g.r.IntN(9) {
	case 0:
		in.Type, in.Value = TypeIPv4, g.ipv4().String()
	case 1:
		in.Type, in.Value = TypeIPv6, g.ipv6().String()
	case 2:
		a := g.ipv4()
		in.Type, in.Value = TypeCIDR, netip.PrefixFrom(a, 8+g.r.IntN(25)).String()
		if g.r.IntN(4) == 0 {
			in.Value = netip.PrefixFrom(g.ipv6(), 32+g.r.IntN(97)).String()
		}
	case 3:
		in.Type, in.Value = TypeDomain, g.domain()
		if g.r.IntN(4) == 0 {
			in.Value = strings.ToUpper(in.Value) + "."
		}
	case 4:
		in.Type, in.Value = TypeURL, g.url()
	case 5:
		h := g.hash()
		in.Type, in.Value = map[int]Type{32: TypeMD5, 40: TypeSHA1, 64: TypeSHA256}[len(h)], h
		if g.r.IntN(2) == 0 {
			in.Value = strings.ToUpper(h)
		}
	case 6:
		in.Type, in.Value = TypeEmail, g.pick("boss", "IT", "x.y")+"@"+g.domain()
	case 7:
		in.Type, in.Value = TypeFilename, g.pick("invoice.pdf.exe", "a.dll", "Run.ps1")
	default:
		in.Type, in.Value = TypeSTIXPattern, g.pick(
			"[ipv4-addr:value = '10.0.1.2']",
			"[domain-name:value = 'evil.example'] OR [url:value = 'http://cdn.test/a']",
			"[file:name = 'a.dll' AND file:hashes.MD5 = '00000000000000000000000000000000']")
	}
	return in
}

// query returns an event value for kind, mostly near the indexed pools.
func (g refGen) query() (string, any) {
	switch g.r.IntN(7) {
	case 0:
		a := g.ipv4()
		v := g.pick(a.String(), "::ffff:"+a.String(), g.ipv6().String(), g.ipv6().String()+"%eth0", "not-an-ip", "10.0.0.256")
		return g.pick("source.ip", "destination.ip", "related.ip"), v
	case 1:
		d := g.domain()
		d = g.pick(d, "www."+d, strings.ToUpper(d), d+".", "Www.Evil.Example", "evil.example.", "example", "a..evil.example", "ÉVIL.example")
		return g.pick("dns.question.name", "url.domain", "related.hosts"), d
	case 2:
		return g.pick("url.full", "url.original"), g.url()
	case 3:
		h := g.hash()
		return g.pick("file.hash.md5", "process.hash.sha256", "related.hash"), g.pick(h, strings.ToUpper(h), h[1:], "zz"+h[2:])
	case 4:
		e := g.pick("boss", "it", "X.Y", "BOSS") + "@" + g.domain()
		return g.pick("email.from.address", "user.email"), g.pick(e, strings.ToUpper(e), " "+e, "Boss <"+e+">", `"boss"@`+g.domain(), "x..y@"+g.domain())
	case 5:
		return "file.name", g.pick("invoice.pdf.exe", "a.dll", "run.ps1", "Run.ps1", " a.dll ")
	default:
		// several values in one field, of mixed types
		return "related.ip", []any{g.ipv4().String(), 10.0, true, g.ipv6().String()}
	}
}

func (g refGen) event() Event {
	ev := Event{}
	for range 1 + g.r.IntN(3) {
		f, v := g.query()
		ev[f] = v
	}
	return ev
}

// TestMatcherReference compares Match with refMatcher on random
// indicators (duplicates, nested prefixes, listed parents, expired and
// future validity, decay, allow-lists) and random events.
func TestMatcherReference(t *testing.T) {
	day := 24 * time.Hour
	al, err := NewAllowList([]string{"10.0.3.0/24", "10.1.0.7", "mail.example", "2001:db8::/124"})
	if err != nil {
		t.Fatal(err)
	}
	optsets := map[string]MatcherOptions{
		"plain":       {Now: fixedNow},
		"allow+decay": {Now: fixedNow, AllowList: al, MinConfidence: 25, Decay: Decay{Mode: DecayHalfLife, HalfLife: 20 * day}},
		"linear":      {Now: fixedNow, MinConfidence: 10, Decay: Decay{Mode: DecayLinear, Lifetime: 40 * day}},
	}
	for name, opts := range optsets {
		t.Run(name, func(t *testing.T) {
			g := refGen{r: rand.New(rand.NewPCG(7, uint64(len(name)))), now: testNow}
			m, ref := NewMatcher(opts), newRefMatcher(opts)
			hits := 0
			for round := range 4 {
				for range 400 {
					in := g.indicator()
					if err := m.Add(in); err != nil {
						continue // not evaluable or not valid: the reference skips it too
					}
					ref.add(in)
				}
				for range 1500 {
					ev := g.event()
					got := m.Match(ev)
					sameHits(t, fmt.Sprintf("round %d, %v", round, ev), got, ref.match(ev))
					hits += len(got)
				}
			}
			if hits == 0 {
				t.Fatal("no hits: the generator does not exercise the matcher")
			}
			t.Logf("%d indicators, %d hits", m.Len(), hits)
		})
	}
}

// TestRefGenHashDigits checks that the reference tests' digests use every
// hex digit, so decodeHex and the binary tables see all of them.
func TestRefGenHashDigits(t *testing.T) {
	g := refGen{r: rand.New(rand.NewPCG(1, 2)), now: testNow}
	seen := map[rune]bool{}
	for range 200 {
		for _, c := range g.hash() {
			seen[c] = true
		}
	}
	for _, c := range "0123456789abcdef" {
		if !seen[c] {
			t.Errorf("no generated digest has the digit %c", c)
		}
	}
}

// TestMatcherDomainManyLabels compares the matcher with the reference on
// names of up to 127 labels, where the label counts kept per indicator
// stop at 63.
func TestMatcherDomainManyLabels(t *testing.T) {
	opts := MatcherOptions{Now: fixedNow}
	m, ref := NewMatcher(opts), newRefMatcher(opts)
	for _, k := range []int{2, 60, 64, 66, 124} {
		in := Indicator{Type: TypeDomain, Value: strings.Repeat("a.", k-1) + "example", Confidence: 50, Source: "t"}
		if err := m.Add(in); err != nil {
			t.Fatal(err)
		}
		ref.add(in)
	}
	hits := 0
	for k := 1; k <= 127; k++ {
		ev := Event{"dns.question.name": strings.Repeat("a.", k-1) + "example"}
		got := m.Match(ev)
		sameHits(t, fmt.Sprintf("%d labels", k), got, ref.match(ev))
		hits += len(got)
	}
	if hits == 0 {
		t.Fatal("no hits")
	}
}

// corpusIndicators reads the STIX examples of the shared corpus and the
// CSV and MISP samples.
func corpusIndicators(t *testing.T) []Indicator {
	t.Helper()
	requireSTIXCorpus(t)
	var in []Indicator
	err := filepath.WalkDir(filepath.Join(stixDir, "examples"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		f, err := os.Open(p) // #nosec G304 -- corpus file
		if err != nil {
			return err
		}
		defer f.Close()
		feed, err := stixParser{}.Parse(context.Background(), f, ParseOptions{Observables: true})
		if err != nil {
			return err
		}
		in = append(in, feed.Indicators...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	for _, p := range []string{"testdata/feed.csv", "testdata/misp-event.json", "testdata/misp-feed"} {
		f, err := reg.LoadPath(context.Background(), p, "", ParseOptions{CSV: CSVMapping{Header: true}})
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, f.Indicators...)
	}
	return in
}

// TestMatcherReferenceCorpus loads the corpus indicators and matches events
// built from their values (as given, upper-cased, as a subdomain, an
// address inside a prefix), comparing hits and the metadata they carry
// (confidence, TLP, tags, validity, refs) with the reference.
func TestMatcherReferenceCorpus(t *testing.T) {
	ins := corpusIndicators(t)
	for _, now := range []time.Time{testNow, time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)} {
		opts := MatcherOptions{Now: func() time.Time { return now }, Decay: Decay{Mode: DecayHalfLife, HalfLife: 365 * 24 * time.Hour}}
		m, ref := NewMatcher(opts), newRefMatcher(opts)
		for _, in := range ins {
			if err := m.Add(in); err != nil {
				continue
			}
			ref.add(in)
		}
		var events []Event
		for _, in := range ins {
			v := in.Value
			switch in.Type {
			case TypeIPv4, TypeIPv6:
				events = append(events, Event{"source.ip": v})
			case TypeCIDR:
				if p, err := netip.ParsePrefix(v); err == nil {
					events = append(events, Event{"destination.ip": p.Masked().Addr().Next().String()})
				}
			case TypeDomain:
				events = append(events, Event{"dns.question.name": v}, Event{"dns.question.name": "www." + strings.ToUpper(v) + "."})
			case TypeURL:
				events = append(events, Event{"url.full": v}, Event{"url.original": strings.ToUpper(v)})
			case TypeMD5, TypeSHA1, TypeSHA256:
				events = append(events, Event{"related.hash": []any{strings.ToUpper(v)}})
			case TypeEmail:
				events = append(events, Event{"email.from.address": v})
			case TypeFilename:
				events = append(events, Event{"file.name": v})
			}
		}
		hits := 0
		for _, ev := range events {
			got := m.Match(ev)
			sameHits(t, fmt.Sprintf("%s %v", now.Format(time.DateOnly), ev), got, ref.match(ev))
			hits += len(got)
		}
		t.Logf("%s: %d corpus indicators, %d events, %d hits", now.Format(time.DateOnly), m.Len(), len(events), hits)
		if hits == 0 {
			t.Error("no corpus event hit")
		}
	}
}
