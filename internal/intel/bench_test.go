package intel

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuSeconds is the user+system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// The matcher benchmark builds N mixed indicators (N from
// VIGIL_INTEL_BENCH_N, default 10,000,000: 30% IPv4, 5% IPv6, 10% IPv4
// CIDRs /16../28, 20% domains, 5% URLs, 10% MD5, 5% SHA-1, 15% SHA-256)
// once, then measures AppendMatch (reusing the hit slice) on single-field
// events, one lookup each, for two query sets of 65,536 events:
//
//   - mixed50: the kinds in the proportions of the indicators, half of
//     them values that were loaded (an address inside a CIDR, www. under a
//     domain), half values that were not;
//   - traffic: closer to what a sensor sends: 45% IPv4 (half of them in
//     223/8, which no indicator covers; half in 1..222/8, where the
//     generated prefixes cover most addresses), 5% IPv6, 30% DNS names
//     (www. under a generated name), 10% URLs with a query, 10% hashes;
//     2% of all are loaded values. The benchmark logs the hit count.
//
// It reports load time, Go heap and process RSS after the load, and
// lookups/s and lookups per CPU second (user+system time of the process,
// which does not depend on how loaded the machine is) on one goroutine.
// The peer in the same run is a naive matcher: one map[string] of
// "type|value" keys for every non-CIDR indicator and a linear scan over
// NaiveCIDRs prefixes (10,000, not the full CIDR share, so that it
// finishes), on the mixed50 set. Run it with:
//
//	go test ./internal/intel/ -run '^$' -bench BenchmarkMatcher -cpu 1 -benchmem
//	VIGIL_INTEL_BENCH_N=1000000 go test ./internal/intel/ -run '^$' -bench BenchmarkMatcher -cpu 1
//
// With VIGIL_INTEL_BENCH_KINDS=1 it also measures one query set per kind of
// lookup (benchKindSets), to break the cost of mixed50 down.

const benchNaiveCIDRs = 10_000

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// benchValue returns the deterministic i-th benchmark indicator.
func benchValue(i uint64) (Type, string) {
	h := splitmix(i)
	var buf [32]byte
	for k := 0; k < 4; k++ {
		binary.LittleEndian.PutUint64(buf[k*8:], splitmix(h+uint64(k)))
	}
	switch b := i % 20; {
	case b < 6: // 30% IPv4
		return TypeIPv4, netip.AddrFrom4([4]byte{1 + buf[0]%222, buf[1], buf[2], buf[3]}).String()
	case b < 7: // 5% IPv6
		var a [16]byte
		copy(a[:], buf[:16])
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
		return TypeIPv6, netip.AddrFrom16(a).String()
	case b < 9: // 10% CIDR
		bits := 16 + int(buf[4]%13)
		return TypeCIDR, netip.PrefixFrom(netip.AddrFrom4([4]byte{1 + buf[0]%222, buf[1], buf[2], buf[3]}), bits).Masked().String()
	case b < 13: // 20% domains
		return TypeDomain, benchDomain(h)
	case b < 14: // 5% URLs
		return TypeURL, "http://" + benchDomain(h) + "/p/" + strconv.FormatUint(h>>20, 36)
	case b < 16: // 10% MD5
		return TypeMD5, hex.EncodeToString(buf[:16])
	case b < 17: // 5% SHA-1
		return TypeSHA1, hex.EncodeToString(buf[:20])
	default: // 15% SHA-256
		return TypeSHA256, hex.EncodeToString(buf[:32])
	}
}

var benchTLDs = []string{"com", "net", "org", "info", "xyz", "top", "ru", "cn"}

func benchDomain(h uint64) string {
	return strconv.FormatUint(h, 36) + ".example." + benchTLDs[h%uint64(len(benchTLDs))]
}

func benchEventFor(t Type, v string) Event {
	switch t {
	case TypeIPv4, TypeIPv6:
		return Event{"destination.ip": v}
	case TypeCIDR:
		p := netip.MustParsePrefix(v)
		return Event{"destination.ip": p.Addr().Next().String()}
	case TypeDomain:
		return Event{"dns.question.name": "www." + v}
	case TypeURL:
		return Event{"url.full": v}
	}
	return Event{"file.hash." + string(t): v}
}

// benchTrafficEvent is the j-th event of the traffic query set: 2% values
// among the n loaded indicators, the rest generated the same way but not
// loaded.
func benchTrafficEvent(j, n uint64) Event {
	h := splitmix(j ^ 0x5bd1e995)
	if h%50 == 0 {
		return benchEventFor(benchValue(splitmix(h) % n))
	}
	i := n + j // beyond the loaded indicators
	switch k := h % 20; {
	case k < 9:
		// Half in 1..222/8 like the indicators, where the generated
		// prefixes cover most addresses, half in 223/8, which no indicator
		// covers.
		first := byte(223)
		if h&(1<<40) != 0 {
			first = byte(1 + h%222)
		}
		return Event{"destination.ip": netip.AddrFrom4([4]byte{first, byte(h >> 16), byte(h >> 24), byte(h >> 32)}).String()}
	case k < 10:
		_, v := benchValue(i - i%20 + 6)
		return Event{"destination.ip": v}
	case k < 16:
		return Event{"dns.question.name": "www." + benchDomain(splitmix(i))}
	case k < 18:
		return Event{"url.full": "https://" + benchDomain(splitmix(i)) + "/index.html?id=" + strconv.FormatUint(h>>40, 10)}
	default:
		t, v := benchValue(i - i%20 + 15 + h%5) // md5, sha1 or sha256
		return Event{"file.hash." + string(t): v}
	}
}

// benchKindSets are single-kind query sets of nev events each: loaded
// values ("hit") and values generated the same way but not loaded
// ("miss"). ipv4-miss223 is in 223/8, where neither an address nor a
// prefix is loaded; ipv4-miss is in 1..222/8, where most addresses fall
// in some generated prefix, so it measures the prefix lookup; cidr-hit is
// the address after the network address of a loaded prefix. url-norm is a
// loaded URL with an upper-case scheme and host, which must be normalised
// before the lookup.
func benchKindSets(n uint64, nev int) []struct {
	name string
	evs  []Event
} {
	// loaded returns the j-th loaded indicator whose i%20 is in [lo, hi).
	loaded := func(j, lo, hi uint64) (Type, string) {
		h := splitmix(j ^ 0x2545f491)
		i := (h % (n / 20)) * 20
		return benchValue(i + lo + (h>>32)%(hi-lo))
	}
	// fresh returns the j-th indicator beyond the loaded ones whose i%20
	// is in [lo, hi).
	fresh := func(j, lo, hi uint64) (Type, string) {
		h := splitmix(j ^ 0x2545f491)
		i := n - n%20 + 20*(j+1)
		return benchValue(i + lo + (h>>32)%(hi-lo))
	}
	gen := func(f func(j uint64) Event) []Event {
		evs := make([]Event, nev)
		for j := range evs {
			evs[j] = f(uint64(j))
		}
		return evs
	}
	kinds := []struct {
		name   string
		lo, hi uint64
	}{{"ipv4", 0, 6}, {"ipv6", 6, 7}, {"domain", 9, 13}, {"url", 13, 14}, {"md5", 14, 16}, {"sha1", 16, 17}, {"sha256", 17, 20}}
	var out []struct {
		name string
		evs  []Event
	}
	add := func(name string, evs []Event) {
		out = append(out, struct {
			name string
			evs  []Event
		}{name, evs})
	}
	for _, k := range kinds {
		add(k.name+"-hit", gen(func(j uint64) Event { return benchEventFor(loaded(j, k.lo, k.hi)) }))
		if k.name == "ipv4" {
			add("ipv4-miss223", gen(func(j uint64) Event {
				h := splitmix(j ^ 0x77)
				return Event{"destination.ip": netip.AddrFrom4([4]byte{223, byte(h), byte(h >> 8), byte(h >> 16)}).String()}
			}))
		}
		add(k.name+"-miss", gen(func(j uint64) Event { return benchEventFor(fresh(j, k.lo, k.hi)) }))
	}
	add("cidr-hit", gen(func(j uint64) Event { return benchEventFor(loaded(j, 7, 9)) }))
	add("url-norm", gen(func(j uint64) Event {
		_, v := loaded(j, 13, 14)
		scheme, rest, _ := strings.Cut(v, "://")
		host, path, _ := strings.Cut(rest, "/")
		return Event{"url.full": strings.ToUpper(scheme) + "://" + strings.ToUpper(host) + "/" + path}
	}))
	return out
}

func vmRSSMiB() float64 { return procStatusMiB("VmRSS:") }

// vmHWMMiB is the peak RSS of the process so far.
func vmHWMMiB() float64 { return procStatusMiB("VmHWM:") }

func procStatusMiB(key string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

func heapMiB() float64 {
	debug.FreeOSMemory() // a collection, and the freed pages returned to the OS
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

func BenchmarkMatcher(b *testing.B) {
	n := uint64(10_000_000)
	if s := os.Getenv("VIGIL_INTEL_BENCH_N"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v == 0 {
			b.Fatalf("VIGIL_INTEL_BENCH_N=%q", s)
		}
		n = v
	}
	heap0, rss0 := heapMiB(), vmRSSMiB()
	start, loadCPU0 := time.Now(), cpuSeconds()
	m := NewMatcher(MatcherOptions{})
	for i := range n {
		t, v := benchValue(i)
		if err := m.Add(Indicator{Type: t, Value: v, Confidence: 70, Source: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	load, loadCPU := time.Since(start), cpuSeconds()-loadCPU0
	hwm := vmHWMMiB() // the peak of the build, before heapMiB returns its garbage
	heap1, rss1 := heapMiB(), vmRSSMiB()
	b.Logf("matcher: %d indicators loaded in %s (%.1f CPU s, generating them included); Go heap %.0f MiB (+%.0f), VmRSS %.0f MiB (+%.0f), peak RSS during the build %.0f MiB", n, load.Round(time.Millisecond), loadCPU, heap1, heap1-heap0, rss1, rss1-rss0, hwm)

	const nev = 1 << 16
	events := make([]Event, nev)
	for j := range events {
		i := splitmix(uint64(j)) % n
		if j%2 == 1 {
			i = n + uint64(j) // not loaded: a miss (a random address may still fall in a CIDR)
		}
		events[j] = benchEventFor(benchValue(i))
	}
	traffic := make([]Event, nev)
	for j := range traffic {
		traffic[j] = benchTrafficEvent(uint64(j), n)
	}
	sets := []struct {
		name string
		evs  []Event
	}{{"mixed50", events}, {"traffic", traffic}}
	if os.Getenv("VIGIL_INTEL_BENCH_KINDS") != "" {
		for _, k := range benchKindSets(n, nev) {
			sets = append(sets, struct {
				name string
				evs  []Event
			}{"kind-" + k.name, k.evs})
		}
	}
	for _, set := range sets {
		hits := 0
		for _, ev := range set.evs {
			if len(m.Match(ev)) > 0 {
				hits++
			}
		}
		b.Logf("query set %s: %d single-field events, %d hit", set.name, nev, hits)
		b.Run("matcher-"+set.name, func(b *testing.B) {
			var dst []Hit
			i := 0
			cpu0 := cpuSeconds()
			for b.Loop() {
				dst = m.AppendMatch(dst[:0], set.evs[i&(nev-1)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
			b.ReportMetric(float64(b.N)/(cpuSeconds()-cpu0), "lookups/cpu-s")
			b.ReportMetric(load.Seconds(), "load-s")
			b.ReportMetric(loadCPU, "load-cpu-s")
			b.ReportMetric(heap1-heap0, "heap-MiB")
			b.ReportMetric(rss1, "rss-MiB")
			b.ReportMetric(hwm, "peak-rss-MiB")
		})
	}

	// The floor under every lookup of these sets: reading the event (a
	// map, the boxed value and its bytes, cold in the cache since the
	// 65,536 events take tens of MiB) and finding the field's kind, with
	// no matcher at all.
	b.Run("floor-event-read-mixed50", func(b *testing.B) {
		i, sum := 0, 0
		cpu0 := cpuSeconds()
		for b.Loop() {
			for f, v := range events[i&(nev-1)] {
				if s, ok := v.(string); ok && len(s) > 0 {
					sum += int(fieldKinds[f]) + int(s[len(s)-1])
				}
			}
			i++
		}
		b.ReportMetric(float64(b.N)/(cpuSeconds()-cpu0), "lookups/cpu-s")
		runtime.KeepAlive(sum)
	})

	// Naive peer: map of "type|value" strings plus a linear CIDR scan.
	start = time.Now()
	naive := make(map[string]int32)
	var cidrs []netip.Prefix
	for i := range n {
		t, v := benchValue(i)
		if t == TypeCIDR {
			if len(cidrs) < benchNaiveCIDRs {
				cidrs = append(cidrs, netip.MustParsePrefix(v))
			}
			continue
		}
		naive[string(t)+"|"+v] = int32(i % (1 << 31)) // #nosec G115 -- bounded
	}
	naiveLoad := time.Since(start)
	b.Logf("naive: map of %d strings + %d CIDRs scanned linearly (of %d CIDR indicators) built in %s", len(naive), len(cidrs), n/10, naiveLoad.Round(time.Millisecond))
	b.Run("naive", func(b *testing.B) {
		i := 0
		cpu0 := cpuSeconds()
		for b.Loop() {
			ev := events[i&(nev-1)]
			i++
			for k, v := range ev {
				s := v.(string)
				switch k {
				case "destination.ip":
					a, err := netip.ParseAddr(s)
					if err != nil {
						continue
					}
					if _, ok := naive["ipv4|"+s]; ok {
						continue
					}
					if _, ok := naive["ipv6|"+s]; ok {
						continue
					}
					for _, p := range cidrs {
						if p.Contains(a) {
							break
						}
					}
				case "dns.question.name":
					for d := strings.ToLower(s); ; {
						if _, ok := naive["domain|"+d]; ok {
							break
						}
						j := strings.IndexByte(d, '.')
						if j < 0 {
							break
						}
						d = d[j+1:]
					}
				case "url.full":
					_ = naive["url|"+s]
				default:
					_ = naive[strings.TrimPrefix(k, "file.hash.")+"|"+strings.ToLower(s)]
				}
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		b.ReportMetric(float64(b.N)/(cpuSeconds()-cpu0), "lookups/cpu-s")
	})
	runtime.KeepAlive(m)
}

// BenchmarkHashStore compares two compact stores for SHA-256 indicators:
// a map keyed by [32]byte and a sorted slice searched by binary search.
func BenchmarkHashStore(b *testing.B) {
	const n = 1 << 20
	keys := make([][32]byte, n)
	for i := range keys {
		for k := 0; k < 4; k++ {
			binary.LittleEndian.PutUint64(keys[i][k*8:], splitmix(uint64(i*4+k)))
		}
	}
	h0 := heapMiB()
	mp := make(map[[32]byte]uint32)
	for i, k := range keys {
		mp[k] = uint32(i) // #nosec G115 -- n < 2^32
	}
	h1 := heapMiB()
	sorted := append([][32]byte(nil), keys...)
	sort.Slice(sorted, func(i, j int) bool { return string(sorted[i][:]) < string(sorted[j][:]) })
	idx := make([]uint32, n)
	h2 := heapMiB()
	b.Logf("%d keys: map %.1f B/key, sorted slice+index %.1f B/key", n, (h1-h0)*(1<<20)/n, (h2-h1)*(1<<20)/n)
	b.Run("map", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_ = mp[keys[splitmix(uint64(i))%n]]
			i++
		}
	})
	b.Run("sorted", func(b *testing.B) {
		i := 0
		for b.Loop() {
			k := keys[splitmix(uint64(i))%n]
			j := sort.Search(n, func(x int) bool { return string(sorted[x][:]) >= string(k[:]) })
			_ = idx[j]
			i++
		}
	})
	runtime.KeepAlive(idx)
	runtime.KeepAlive(sorted)
}
