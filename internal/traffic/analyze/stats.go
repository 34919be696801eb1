package analyze

import (
	"math"
	"net/netip"
	"slices"
)

// quantile returns the q-quantile of sorted xs by linear interpolation.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return xs[lo]
	}
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// bowley returns the Bowley (quartile) skewness of sorted xs, in [-1,1];
// 0 when the quartiles coincide.
func bowley(xs []float64) float64 {
	q1, q2, q3 := quantile(xs, 0.25), quantile(xs, 0.5), quantile(xs, 0.75)
	if q3-q1 == 0 {
		return 0
	}
	return (q1 + q3 - 2*q2) / (q3 - q1)
}

// mad returns the median and the median absolute deviation of sorted xs.
func mad(xs []float64) (median, dev float64) {
	median = quantile(xs, 0.5)
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - median)
	}
	slices.Sort(d)
	return median, quantile(d, 0.5)
}

// regularity scores how regular sorted xs are: the mean of 1-|Bowley skew|
// and 1-MAD/median. tolerance is the absolute MAD always forgiven (clock
// jitter, header size noise).
func regularity(xs []float64, tolerance float64) (skewScore, madScore, median, dev float64) {
	skewScore = 1 - math.Abs(bowley(xs))
	median, dev = mad(xs)
	if median <= 0 {
		if dev == 0 {
			return skewScore, 1, median, dev
		}
		return skewScore, 0, median, dev
	}
	madScore = clamp01(1 - math.Max(0, dev-tolerance)/median)
	return skewScore, madScore, median, dev
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func round3(x float64) float64 {
	return math.Round(x*1000) / 1000
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	e := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}

// names remembers host names learned from HTTP Host and TLS SNI (by
// connection uid) and from DNS answers (by address), so that conn.log
// records get a name. Each table holds two generations of at most cap/2
// entries: when the young one is full the old one is dropped, so memory
// is bounded and recent names win.
type names struct {
	cap      int
	uids     [2]map[string]string
	ips      [2]map[netip.Addr]string
	interned map[string]string
}

func newNames(capacity int) *names {
	if capacity < 2 {
		capacity = 2
	}
	return &names{cap: capacity,
		uids:     [2]map[string]string{{}, {}},
		ips:      [2]map[netip.Addr]string{{}, {}},
		interned: map[string]string{}}
}

// intern returns one shared copy of s; the table is bounded like the
// others (it is reset when full).
func (n *names) intern(s string) string {
	if v, ok := n.interned[s]; ok {
		return v
	}
	if len(n.interned) >= n.cap {
		n.interned = map[string]string{}
	}
	s = string([]byte(s)) // detach from the reader's buffer
	n.interned[s] = s
	return s
}

func (n *names) uid(uid, host string) {
	if uid == "" {
		return
	}
	if len(n.uids[0]) >= n.cap/2 {
		n.uids[1], n.uids[0] = n.uids[0], map[string]string{}
	}
	n.uids[0][string([]byte(uid))] = n.intern(host)
}

func (n *names) ip(ip netip.Addr, host string) {
	if len(n.ips[0]) >= n.cap/2 {
		n.ips[1], n.ips[0] = n.ips[0], map[netip.Addr]string{}
	}
	n.ips[0][ip.Unmap()] = n.intern(host)
}

// hostOf returns the name a connection was made to: its HTTP Host or TLS
// SNI when known by uid, "" otherwise.
func (n *names) hostOf(uid string, _ netip.Addr) string {
	if uid == "" {
		return ""
	}
	for _, m := range n.uids {
		if h, ok := m[uid]; ok {
			return h
		}
	}
	return ""
}

// nameOf returns the DNS name last resolved to ip, "" if unknown.
func (n *names) nameOf(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, m := range n.ips {
		if h, ok := m[ip]; ok {
			return h
		}
	}
	return ""
}
