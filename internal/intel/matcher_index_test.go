package intel

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"testing"
)

// TestMatcherIPv4PrefixTable compares IPv4 prefix lookups, which go
// through the /16 and /24 tables in front of the routing table, with the
// reference's linear scan. Prefixes of every length 0..32 are added in
// rounds between queries (so blocks of the /24 table are made, filled
// and overwritten after lookups), some twice (a second indicator with the
// same prefix heads its chain), and they nest: they are drawn around a
// few addresses spread over the whole address space.
func TestMatcherIPv4PrefixTable(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	opts := MatcherOptions{Now: fixedNow}
	m, ref := NewMatcher(opts), newRefMatcher(opts)
	var centres [][4]byte
	for range 6 {
		centres = append(centres, [4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
	}
	// near is an address that shares a random number of leading bits
	// with one of the centres.
	near := func() netip.Addr {
		c := centres[r.IntN(len(centres))]
		keep := r.IntN(33)
		var b [4]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		for bit := range keep {
			mask := byte(0x80) >> (bit % 8)
			b[bit/8] = b[bit/8]&^mask | c[bit/8]&mask
		}
		return netip.AddrFrom4(b)
	}
	var added []netip.Prefix
	hits := 0
	for round := range 6 {
		for range 150 {
			var p netip.Prefix
			if len(added) > 0 && r.IntN(8) == 0 {
				p = added[r.IntN(len(added))]
			} else {
				bits := r.IntN(33)
				if r.IntN(3) == 0 {
					bits = 17 + r.IntN(8) // the /24 table's own lengths
				}
				p = netip.PrefixFrom(near(), bits).Masked()
			}
			added = append(added, p)
			in := Indicator{Type: TypeCIDR, Value: p.String(), Confidence: 50 + r.IntN(50), Source: fmt.Sprintf("feed-%d", round)}
			if err := m.Add(in); err != nil {
				t.Fatal(err)
			}
			ref.add(in)
		}
		for range 1500 {
			ev := Event{"destination.ip": near().String()}
			got := m.Match(ev)
			sameHits(t, fmt.Sprintf("round %d, %v", round, ev), got, ref.match(ev))
			hits += len(got)
		}
	}
	if hits == 0 {
		t.Fatal("no hits")
	}
	if len(m.cidr4.mid) == 0 {
		t.Fatal("no /24 blocks: the test does not reach the second level")
	}
	t.Logf("%d prefixes, %d /16 blocks, %d hits", len(added), len(m.cidr4.mid)/256, hits)
}

// TestMatcherHashForms checks digests of the three lengths in the forms
// events write them: lower, upper and mixed case hit with the stored
// lower-case value, other lengths and non-hex digits miss.
func TestMatcherHashForms(t *testing.T) {
	m := NewMatcher(MatcherOptions{Now: fixedNow})
	r := rand.New(rand.NewPCG(3, 4))
	var digests []string
	for _, n := range []int{16, 20, 32} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		d := hex.EncodeToString(b)
		typ := map[int]Type{16: TypeMD5, 20: TypeSHA1, 32: TypeSHA256}[n]
		mustAdd(t, m, typ, strings.ToUpper(d))
		digests = append(digests, d)
	}
	for _, d := range digests {
		mixed := []byte(d)
		for i := range mixed {
			if i%3 == 0 {
				mixed[i] = strings.ToUpper(string(mixed[i]))[0]
			}
		}
		for _, form := range []string{d, strings.ToUpper(d), string(mixed)} {
			hits := m.Match(Event{"related.hash": form})
			if len(hits) != 1 || hits[0].Indicator.Value != d || hits[0].Value != form {
				t.Errorf("%s: hits %+v, want one of %s", form, hits, d)
			}
		}
		for _, miss := range []string{d[1:], d + "0", "g" + d[1:], d[:len(d)-1] + "-", " " + d[1:]} {
			if hits := m.Match(Event{"related.hash": miss}); len(hits) != 0 {
				t.Errorf("%q: hits %+v, want none", miss, hits)
			}
		}
	}
}

// FuzzDecodeHex checks decodeHex against encoding/hex on the lower-cased
// input.
func FuzzDecodeHex(f *testing.F) {
	for _, s := range []string{"", "00", "aF", "0g", "Zz", "d41d8cd98f00b204e9800998ecf8427e", "D41D8CD98F00B204E9800998ECF8427E", "\xff\xfe", "é1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 128 || len(s)%2 != 0 {
			return
		}
		dst := make([]byte, len(s)/2)
		lower, ok := decodeHex(dst, s)
		// encoding/hex reads either case; lower-case only ASCII letters
		// to learn whether s had an upper-case one.
		folded := []byte(s)
		for i, c := range folded {
			if c >= 'A' && c <= 'Z' {
				folded[i] = c + 'a' - 'A'
			}
		}
		want, err := hex.DecodeString(s)
		if ok != (err == nil) {
			t.Fatalf("decodeHex(%q) ok %v, encoding/hex err %v", s, ok, err)
		}
		if !ok {
			return
		}
		if string(dst) != string(want) {
			t.Fatalf("decodeHex(%q) = %x, want %x", s, dst, want)
		}
		if lower != (string(folded) == s) {
			t.Fatalf("decodeHex(%q) lower %v", s, lower)
		}
	})
}

// FuzzMatcherReference matches one fuzzed value in every kind of field
// against a fixed set of generated indicators and compares the hits with
// the reference.
func FuzzMatcherReference(f *testing.F) {
	for _, s := range []string{
		"10.0.1.2", "::ffff:10.0.1.2", "2001:db8::3", "10.0.3.9", "evil.example", "WWW.EVIL.EXAMPLE.", "mail.a.test",
		"http://evil.example/a", "HTTP://Evil.Example:80/a%7eb", "boss@evil.example", "a.dll",
		"00000000000000000000000000000000", "0001000100010000000100000101010001000100", "ÉVIL.example",
	} {
		f.Add(s)
	}
	al, err := NewAllowList([]string{"10.0.3.0/24", "mail.example"})
	if err != nil {
		f.Fatal(err)
	}
	opts := MatcherOptions{Now: fixedNow, AllowList: al}
	m, ref := NewMatcher(opts), newRefMatcher(opts)
	g := refGen{r: rand.New(rand.NewPCG(5, 6)), now: testNow}
	for range 800 {
		in := g.indicator()
		if in.Type == TypeSTIXPattern {
			continue
		}
		if err := m.Add(in); err != nil {
			continue
		}
		ref.add(in)
	}
	fields := []string{"source.ip", "dns.question.name", "url.full", "email.from.address", "file.name", "related.hash"}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2*maxValueLen {
			return
		}
		for _, field := range fields {
			ev := Event{field: s}
			sameHits(t, fmt.Sprintf("%v", ev), m.Match(ev), ref.match(ev))
		}
	})
}

// TestMatcherLargeTables adds enough IPv4 indicators for the records and
// the address table to outgrow the heap (on Linux they are then mapped
// outside it, and each outgrown array is unmapped) and checks values
// against a map.
func TestMatcherLargeTables(t *testing.T) {
	const n = 300_000
	addr := func(i uint64) string {
		h := splitmix(i)
		return netip.AddrFrom4([4]byte{10 + byte(h%8), byte(h >> 8), byte(h >> 16), byte(h >> 24)}).String()
	}
	m := NewMatcher(MatcherOptions{Now: fixedNow})
	want := map[string]Indicator{}
	for i := range uint64(n) {
		in := Indicator{Type: TypeIPv4, Value: addr(i), Confidence: 1 + int(i%100), Source: fmt.Sprintf("feed-%d", i%3)}
		if _, dup := want[in.Value]; dup {
			continue // one indicator per address, to know its hit
		}
		if err := m.Add(in); err != nil {
			t.Fatal(err)
		}
		want[in.Value] = in
	}
	if mapped := hugeMapped(m.mem); runtime.GOOS == "linux" && mapped == 0 {
		t.Error("no array is mapped outside the heap")
	}
	hits := 0
	for i := uint64(0); i < n+n/10; i += 7 { // the values from n on were not added
		v := addr(i)
		got := m.Match(Event{"source.ip": v})
		in, listed := want[v]
		if (len(got) > 0) != listed {
			t.Fatalf("%q: hits %+v, want a hit: %v", v, got, listed)
		}
		for _, h := range got {
			if h.Indicator.Value != v || h.Indicator.Type != TypeIPv4 || h.Confidence != in.Confidence || h.Indicator.Source != in.Source {
				t.Fatalf("%q: hit %+v, want %+v", v, h, in)
			}
		}
		hits += len(got)
	}
	if hits == 0 {
		t.Fatal("no hits")
	}
}
