package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// Beacon caps: timestamps and sizes kept per pair. Past maxBeaconTS
// timestamps a pair keeps every other one and from then on samples every
// 2^k-th connection, which keeps a regular series regular; sizes are a
// reservoir sample.
const (
	maxBeaconTS    = 512
	maxBeaconSizes = 128
	maxHours       = 256 // hours of hourly coverage tracked from the first record
	minBeaconTS    = 4
)

type beaconKey struct {
	src, dst netip.Addr
	host     string // HTTP Host / TLS SNI; dst is zero when set
}

type beaconSeries struct {
	ts          []int32 // seconds relative to the analyzer's base
	stride      uint32
	arrivals    uint32
	sizes       []uint32
	n           int64
	bytes       int64
	first, last int64
	hours       [maxHours / 64]uint64
	lastDst     netip.Addr
	port        uint16
	proto       string
}

type beacons struct {
	pairs *table[beaconKey, beaconSeries]
}

func newBeacons(maxPairs int) *beacons {
	return &beacons{pairs: newTable[beaconKey](maxPairs, func(s *beaconSeries) int64 { return s.n })}
}

func (b *beacons) add(c *traffic.Conn, host string, base int64) {
	b.addKey(beaconKey{src: c.Src, dst: c.Dst}, c, base)
	if host != "" {
		b.addKey(beaconKey{src: c.Src, host: host}, c, base)
	}
}

func (b *beacons) addKey(k beaconKey, c *traffic.Conn, base int64) {
	s, added := b.pairs.getOrAdd(k)
	if added {
		s.stride = 1
	}
	u := c.TS.Unix()
	if s.n == 0 {
		s.first, s.last = u, u
	}
	s.first, s.last = min(s.first, u), max(s.last, u)
	s.n++
	size := c.OrigBytes + c.RespBytes
	s.bytes += size
	s.lastDst, s.port, s.proto = c.Dst, c.DstPort, c.Proto
	rel := u - base
	if h := (rel + 3600*24) / 3600; h >= 0 && h < maxHours { // a day of slack before the base
		s.hours[h/64] |= 1 << (h % 64)
	}
	s.arrivals++
	if s.arrivals%s.stride == 0 {
		s.ts = append(s.ts, int32(max(math.MinInt32, min(math.MaxInt32, rel))))
		if len(s.ts) >= maxBeaconTS {
			slices.Sort(s.ts)
			k := 0
			for i := 0; i < len(s.ts); i += 2 {
				s.ts[k] = s.ts[i]
				k++
			}
			s.ts = s.ts[:k]
			s.stride *= 2
		}
	}
	sz := uint32(max(0, min(size, math.MaxUint32))) // #nosec G115 -- clamped to the uint32 range
	n := uint64(max(s.n, 1))                        // #nosec G115 -- s.n counts up from 1
	if len(s.sizes) < maxBeaconSizes {
		s.sizes = append(s.sizes, sz)
	} else if j := splitmix(n) % n; j < maxBeaconSizes {
		s.sizes[j] = sz
	}
}

// splitmix is a fixed mixing function used for deterministic reservoir
// sampling.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Beacon score weights. The weighted sum is multiplied by a
// connection-count factor (0.5 + 0.5×count score) so that a handful of
// connections cannot look as regular as hundreds.
const (
	wBeaconTiming   = 0.45
	wBeaconSize     = 0.2
	wBeaconHourly   = 0.2
	wBeaconCoverage = 0.15
	// beaconFullCount connections give a count score of 1 (log scale).
	beaconFullCount = 96
)

func (b *beacons) findings(ctx *scoreCtx) []Finding {
	// How many internal sources reach each destination (for the
	// prevalence penalty).
	sources := map[beaconKey]int{}
	// Connections of an address pair that a named pair explains (a proxy
	// or a shared front end): such an address pair is reported through
	// its names only.
	named := map[hostPair]int64{}
	b.pairs.each(func(k beaconKey, s *beaconSeries) {
		sources[beaconKey{dst: k.dst, host: k.host}]++
		if k.host != "" {
			named[hostPair{k.src, s.lastDst}] += s.n
		}
	})
	spanS := ctx.span.seconds()
	spanHours := math.Max(1, math.Ceil(spanS/3600))
	var out []Finding
	b.pairs.each(func(k beaconKey, s *beaconSeries) {
		if k.host == "" && named[hostPair{k.src, k.dst}]*2 >= s.n {
			return
		}
		ts := slices.Clone(s.ts)
		slices.Sort(ts)
		ts = slices.Compact(ts)
		if len(ts) < minBeaconTS {
			return
		}
		domain := k.host
		if domain == "" {
			domain = ctx.names.nameOf(k.dst)
		}
		if ctx.safe.Dst(k.dst, domain) {
			return
		}
		iv := make([]float64, 0, len(ts)-1)
		for i := 1; i < len(ts); i++ {
			iv = append(iv, float64(ts[i]-ts[i-1]))
		}
		slices.Sort(iv)
		tSkew, tMad, tMedian, tDev := regularity(iv, 1)
		sz := make([]float64, len(s.sizes))
		for i, v := range s.sizes {
			sz[i] = float64(v)
		}
		slices.Sort(sz)
		dSkew, dMad, dMedian, _ := regularity(sz, 32)
		hours := 0
		for _, w := range s.hours {
			hours += popcount(w)
		}
		hourly := clamp01(float64(hours) / spanHours)
		coverage := clamp01(float64(s.last-s.first) / spanS)
		timing := (tSkew + tMad) / 2
		size := (dSkew + dMad) / 2
		count := clamp01(math.Log2(float64(s.n)) / math.Log2(beaconFullCount))
		score := (wBeaconTiming*timing + wBeaconSize*size + wBeaconHourly*hourly + wBeaconCoverage*coverage) * (0.5 + 0.5*count)
		sub := []SubScore{
			{Name: "interval skew", Value: tSkew, Detail: "1 - |Bowley skew| of the intervals between connections"},
			{Name: "interval dispersion", Value: tMad, Detail: fmt.Sprintf("median interval %s, median absolute deviation %s", secs(tMedian), secs(tDev))},
			{Name: "hourly spread", Value: hourly, Detail: fmt.Sprintf("connections in %d of %.0f hours", hours, spanHours)},
			{Name: "size skew", Value: dSkew},
			{Name: "size dispersion", Value: dMad, Detail: fmt.Sprintf("median %0.f bytes per connection", dMedian)},
			{Name: "duration coverage", Value: coverage, Detail: "first to last connection over the observed time"},
			{Name: "connection count", Value: count, Detail: fmt.Sprintf("%d connections, %d distinct timestamps kept", s.n, len(ts))},
		}
		nsrc := sources[beaconKey{dst: k.dst, host: k.host}]
		if ctx.internalHosts >= 5 && nsrc > 1 {
			prev := clamp01(float64(nsrc) / float64(ctx.internalHosts))
			factor := 1 - 0.6*math.Sqrt(prev)
			score *= factor
			sub = append(sub, SubScore{Name: "prevalence factor", Value: factor,
				Detail: fmt.Sprintf("%d of %d internal hosts contact this destination", nsrc, ctx.internalHosts)})
		}
		f := Finding{Class: ClassBeacon, Src: k.src, Dst: k.dst, DstPort: s.port, Proto: s.proto, Domain: domain,
			Score: score, First: time.Unix(s.first, 0).UTC(), Last: time.Unix(s.last, 0).UTC(),
			Count: s.n, Bytes: s.bytes, Distinct: int64(len(ts)), SubScores: sub}
		if k.host != "" {
			f.Dst = s.lastDst
		}
		what := f.Dst.String()
		if k.host != "" {
			what = k.host + " (via " + s.lastDst.String() + ")"
		}
		f.Explanation = fmt.Sprintf("%d connections to %s at a median interval of %s: timing %.2f, data size %.2f, hourly spread %.2f, coverage %.2f, count %.2f. %s",
			s.n, what, secs(tMedian), timing, size, hourly, coverage, count, explain(sub))
		out = append(out, f)
	})
	return out
}

func popcount(w uint64) int {
	n := 0
	for w != 0 {
		w &= w - 1
		n++
	}
	return n
}

func secs(s float64) string {
	return (time.Duration(s) * time.Second).String()
}
