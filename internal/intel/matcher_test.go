package intel

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

func mustAdd(t testing.TB, m *Matcher, typ Type, v string) {
	t.Helper()
	if err := m.Add(Indicator{Type: typ, Value: v, Confidence: 80, Source: "test"}); err != nil {
		t.Fatal(err)
	}
}

// TestMatcherCIDROracle checks longest-prefix matching against a linear scan
// over random prefixes and addresses.
func TestMatcherCIDROracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := NewMatcher(MatcherOptions{Now: fixedNow})
	var prefixes []netip.Prefix
	addrs := map[netip.Addr]bool{}
	seen := map[netip.Prefix]bool{}
	for range 3000 {
		// cluster in 10.0.0.0/12 so prefixes nest
		a := netip.AddrFrom4([4]byte{10, byte(r.IntN(16)), byte(r.IntN(256)), byte(r.IntN(256))})
		bits := 8 + r.IntN(25)
		p := netip.PrefixFrom(a, bits).Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		if bits == 32 {
			addrs[p.Addr()] = true
			mustAdd(t, m, TypeIPv4, p.Addr().String())
		} else {
			mustAdd(t, m, TypeCIDR, p.String())
		}
		prefixes = append(prefixes, p)
	}
	for range 20000 {
		a := netip.AddrFrom4([4]byte{10, byte(r.IntN(16)), byte(r.IntN(256)), byte(r.IntN(256))})
		var best netip.Prefix
		for _, p := range prefixes {
			if p.Contains(a) && (!best.IsValid() || p.Bits() > best.Bits()) {
				best = p
			}
		}
		hits := m.Match(Event{"source.ip": a.String()})
		switch {
		case !best.IsValid() && len(hits) != 0:
			t.Fatalf("%s: hits %v, oracle none", a, hits)
		case best.IsValid() && len(hits) != 1:
			t.Fatalf("%s: %d hits, oracle %s", a, len(hits), best)
		case best.IsValid():
			want := best.String()
			if best.Bits() == 32 {
				want = best.Addr().String()
			}
			if hits[0].Indicator.Value != want {
				t.Fatalf("%s: hit %s, oracle %s", a, hits[0].Indicator.Value, want)
			}
		}
	}
}

// TestMatcherDomainOracle checks subdomain matching (longest listed parent)
// against a brute-force suffix check.
func TestMatcherDomainOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	labels := []string{"a", "b", "c", "mail", "cdn", "x-1"}
	rnd := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = labels[r.IntN(len(labels))]
		}
		return strings.Join(parts, ".") + ".example"
	}
	m := NewMatcher(MatcherOptions{Now: fixedNow})
	listed := map[string]bool{}
	for range 200 {
		d := rnd(1 + r.IntN(3))
		if !listed[d] {
			listed[d] = true
			mustAdd(t, m, TypeDomain, d)
		}
	}
	for range 5000 {
		q := rnd(1 + r.IntN(5))
		want := ""
		for d := range listed {
			if (q == d || strings.HasSuffix(q, "."+d)) && len(d) > len(want) {
				want = d
			}
		}
		if r.IntN(2) == 0 {
			q = strings.ToUpper(q) + "."
		}
		hits := m.Match(Event{"dns.question.name": q})
		got := ""
		if len(hits) == 1 {
			got = hits[0].Indicator.Value
		} else if len(hits) > 1 {
			t.Fatalf("%s: %d hits", q, len(hits))
		}
		if got != want {
			t.Fatalf("%s: hit %q, oracle %q", q, got, want)
		}
	}
}

func TestMatcherTypes(t *testing.T) {
	m := NewMatcher(MatcherOptions{Now: fixedNow})
	mustAdd(t, m, TypeMD5, "44D88612FEA8A8F36DE82E1F37ADE8DF")
	mustAdd(t, m, TypeSHA1, "3395856ce81f2b7382dee72602f798b642f14140")
	mustAdd(t, m, TypeSHA256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f")
	mustAdd(t, m, TypeURL, "HTTP://Evil.Example:80/a%7eb?q=1#frag")
	mustAdd(t, m, TypeEmail, "Boss@Evil.Example")
	mustAdd(t, m, TypeFilename, "invoice.pdf.exe")
	mustAdd(t, m, TypeIPv6, "2001:db8::1")
	mustAdd(t, m, TypeCIDR, "2001:db8:1::/48")
	p, err := ParsePattern("[email-message:subject MATCHES '^Urgent']")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(Indicator{Type: TypeSTIXPattern, Value: p.Source, Confidence: 60, pattern: p}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(Indicator{Type: TypeSTIXPattern, Value: "[a:b = 1] AND [c:d = 2]"}); err == nil {
		t.Error("non-evaluable pattern accepted")
	}
	cases := []struct {
		ev   Event
		want string
	}{
		{Event{"file.hash.md5": "44d88612fea8a8f36de82e1f37ade8df"}, "md5"},
		{Event{"process.hash.sha1": "3395856CE81F2B7382DEE72602F798B642F14140"}, "sha1"},
		{Event{"related.hash": []any{"zz", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"}}, "sha256"},
		{Event{"url.full": "http://evil.example/a~b?q=1"}, "url"},
		{Event{"url.original": "http://EVIL.example/a%7Eb?q=1#other"}, "url"},
		{Event{"email.from.address": "boss@evil.example"}, "email"},
		{Event{"file.name": "invoice.pdf.exe"}, "filename"},
		{Event{"destination.ip": "2001:db8::1"}, "ipv6"},
		{Event{"destination.ip": "2001:db8:1::99"}, "cidr"},
		{Event{"email.subject": "Urgent: wire transfer"}, "stix-pattern"},
		{Event{"url.full": "https://evil.example/a~b?q=1"}, ""},
		{Event{"file.name": "INVOICE.pdf.exe"}, ""},
	}
	for _, c := range cases {
		hits := m.Match(c.ev)
		got := ""
		if len(hits) > 0 {
			got = string(hits[0].Indicator.Type)
		}
		if len(hits) > 1 || got != c.want {
			t.Errorf("%v: hits %v, want type %q", c.ev, hits, c.want)
		}
	}
}

func TestMatcherAllowList(t *testing.T) {
	al, err := NewAllowList([]string{"# own ranges", "10.0.0.0/8", "2001:db8::/32", "corp.example", "192.0.2.5"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAllowList([]string{"not an entry!"}); err == nil {
		t.Error("bad allow-list entry accepted")
	}
	m := NewMatcher(MatcherOptions{Now: fixedNow, AllowList: al})
	mustAdd(t, m, TypeCIDR, "10.1.0.0/16")
	mustAdd(t, m, TypeIPv4, "192.0.2.5")
	mustAdd(t, m, TypeIPv4, "192.0.2.6")
	mustAdd(t, m, TypeDomain, "vpn.corp.example")
	mustAdd(t, m, TypeDomain, "evil.example")
	mustAdd(t, m, TypeURL, "http://mail.corp.example/login")
	mustAdd(t, m, TypeEmail, "it@corp.example")
	suppressed := []Event{
		{"source.ip": "10.1.2.3"}, {"source.ip": "192.0.2.5"}, {"dns.question.name": "a.vpn.corp.example"},
		{"url.full": "http://mail.corp.example/login"}, {"email.from.address": "it@corp.example"},
	}
	for _, ev := range suppressed {
		if hits := m.Match(ev); len(hits) != 0 {
			t.Errorf("%v: allowed value matched: %v", ev, hits)
		}
	}
	for _, ev := range []Event{{"source.ip": "192.0.2.6"}, {"dns.question.name": "evil.example"}} {
		if hits := m.Match(ev); len(hits) != 1 {
			t.Errorf("%v: %d hits, want 1", ev, len(hits))
		}
	}
}

func TestMatcherExpiryAndDecay(t *testing.T) {
	day := 24 * time.Hour
	m := NewMatcher(MatcherOptions{Now: fixedNow, MinConfidence: 30, Decay: Decay{Mode: DecayHalfLife, HalfLife: 10 * day}})
	add := func(v string, conf int, from, until, last time.Time) {
		t.Helper()
		if err := m.Add(Indicator{Type: TypeDomain, Value: v, Confidence: conf, ValidFrom: from, ValidUntil: until, LastSeen: last}); err != nil {
			t.Fatal(err)
		}
	}
	add("expired.example", 90, testNow.Add(-30*day), testNow.Add(-day), time.Time{})
	add("future.example", 90, testNow.Add(day), time.Time{}, time.Time{})
	add("fresh.example", 80, time.Time{}, time.Time{}, testNow.Add(-10*day))
	add("stale.example", 80, time.Time{}, time.Time{}, testNow.Add(-30*day))
	add("until-now.example", 80, time.Time{}, testNow, time.Time{})
	want := map[string]int{"fresh.example": 40}
	for _, d := range []string{"expired.example", "future.example", "fresh.example", "stale.example", "until-now.example"} {
		hits := m.Match(Event{"dns.question.name": d})
		c, ok := want[d]
		if ok != (len(hits) == 1) || ok && hits[0].Confidence != c {
			t.Errorf("%s: hits %+v, want confidence %d (hit %v)", d, hits, c, ok)
		}
	}
	in := Indicator{Confidence: 100, LastSeen: testNow.Add(-5 * day)}
	if got := in.EffectiveConfidence(testNow, Decay{Mode: DecayLinear, Lifetime: 10 * day}); got != 50 {
		t.Errorf("linear decay: %d, want 50", got)
	}
	if got := in.EffectiveConfidence(testNow, Decay{Mode: DecayLinear, Lifetime: 4 * day}); got != 0 {
		t.Errorf("linear decay past lifetime: %d, want 0", got)
	}
	if got := in.EffectiveConfidence(testNow, Decay{}); got != 100 {
		t.Errorf("no decay: %d", got)
	}
}

func TestMatcherDuplicateValues(t *testing.T) {
	m := NewMatcher(MatcherOptions{Now: fixedNow})
	for i := range 3 {
		if err := m.Add(Indicator{Type: TypeIPv4, Value: "192.0.2.1", Confidence: 10 * (i + 1), Source: fmt.Sprintf("feed%d", i), Refs: []string{fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	hits := m.Match(Event{"source.ip": "192.0.2.1", "destination.ip": "192.0.2.1"})
	if len(hits) != 6 {
		t.Fatalf("%d hits, want 3 sources x 2 fields", len(hits))
	}
	srcs := map[string]bool{}
	for _, h := range hits {
		srcs[h.Indicator.Source+h.Field] = true
	}
	if len(srcs) != 6 {
		t.Errorf("hits not distinct: %v", hits)
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		t        Type
		in, want string
	}{
		{TypeURL, "HTTPS://Example.COM:443", "https://example.com/"},
		{TypeURL, "http://example.com:8080/a%2fb%41#x", "http://example.com:8080/a%2FbA"},
		{TypeURL, "example.com/x", "http://example.com/x"},
		{TypeDomain, "Example.COM.", "example.com"},
		{TypeIPv4, "::ffff:192.0.2.1", "192.0.2.1"},
		{TypeCIDR, "192.0.2.77/24", "192.0.2.0/24"},
		{TypeEmail, "Alice@Example.COM", "alice@example.com"},
		{TypeSHA1, "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"},
	}
	for _, c := range cases {
		got, err := Normalize(c.t, c.in)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%s, %q) = %q, %v; want %q", c.t, c.in, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		t Type
		v string
	}{{TypeIPv4, "2001:db8::1"}, {TypeDomain, "localhost"}, {TypeDomain, "a b.example"}, {TypeMD5, "xyz"}, {TypeEmail, "Bob <b@x.example>"}, {TypeURL, "http://"}} {
		if _, err := Normalize(bad.t, bad.v); err == nil {
			t.Errorf("Normalize(%s, %q) accepted", bad.t, bad.v)
		}
	}
}

// TestMatchFieldsTable checks that every documented field is read by Match.
func TestMatchFieldsTable(t *testing.T) {
	for typ, fields := range MatchFields() {
		for _, f := range fields {
			if fieldKinds[f] == 0 {
				t.Errorf("%s field %s is documented but not matched", typ, f)
			}
		}
	}
	for path, fields := range PathFields() {
		if len(fields) == 0 {
			t.Errorf("%s maps to no field", path)
		}
	}
}
