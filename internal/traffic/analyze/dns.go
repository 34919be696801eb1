package analyze

import (
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// DNS caps: distinct subdomains are counted exactly up to maxSubs per
// registered domain, then by adaptive hash sampling (keeping hashes whose
// low bits are zero), so the count stays an estimate with bounded memory;
// each host keeps at most maxDGADomains DGA-like domains as examples.
const (
	maxSubs       = 256
	maxDGADomains = 64
	maxSources    = 4
)

// usualQTypes are the query types most clients send; other known types
// (TXT, NULL, KEY, ANY, private numbers...) count as unusual.
var usualQTypes = map[string]bool{"A": true, "AAAA": true, "PTR": true, "HTTPS": true, "SVCB": true,
	"SOA": true, "NS": true, "SRV": true, "CNAME": true, "MX": true, "DS": true, "DNSKEY": true}

type tunnelDomain struct {
	n           int64
	subs        map[uint64]struct{}
	level       uint
	sumLen      float64
	sumEnt      float64
	withSub     int64
	maxLen      int
	unusual     int64
	typed       int64
	srcs        []netip.Addr
	first, last time.Time
	example     string
}

func (t *tunnelDomain) addSub(h uint64) {
	if h&(1<<t.level-1) != 0 {
		return
	}
	t.subs[h] = struct{}{}
	for len(t.subs) > maxSubs {
		t.level++
		for k := range t.subs {
			if k&(1<<t.level-1) != 0 {
				delete(t.subs, k)
			}
		}
	}
}

func (t *tunnelDomain) unique() int64 {
	return int64(len(t.subs)) << t.level
}

type dgaHost struct {
	domains     map[string]float64 // registered domain -> DGA score
	distinct    int64
	nx          int64
	queries     int64
	first, last time.Time
}

type dnsAnalysis struct {
	max     int
	seed    maphash.Seed
	domains *table[string, tunnelDomain]
	dga     *dgaModel
	hosts   *table[netip.Addr, dgaHost]
	scored  map[string]float64 // registered domain -> DGA score cache (bounded)
}

func newDNSAnalysis(maxDomains int, dga *dgaModel) *dnsAnalysis {
	return &dnsAnalysis{max: maxDomains, seed: maphash.MakeSeed(),
		domains: newTable[string](maxDomains, func(t *tunnelDomain) int64 { return t.unique()*4 + t.n }),
		dga:     dga, hosts: newTable[netip.Addr](maxDomains, func(h *dgaHost) int64 { return h.distinct }),
		scored: map[string]float64{}}
}

// registered returns the registered domain (eTLD+1) of a name and the
// part before it; ok is false for names that have no registered domain
// (single labels, public suffixes, reverse-lookup and local names).
func registered(q string) (reg, sub string, ok bool) {
	if strings.HasSuffix(q, ".arpa") || strings.HasSuffix(q, ".local") || !strings.Contains(q, ".") {
		return "", "", false
	}
	// Names with empty labels ("a..example.org") still have a registered
	// domain: the one after the last empty label.
	tail := q
	if i := strings.LastIndex(q, ".."); i >= 0 {
		tail = q[i+2:]
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(tail)
	if err != nil {
		return "", "", false
	}
	sub = strings.TrimRight(strings.TrimSuffix(q, reg), ".")
	return reg, sub, true
}

func (d *dnsAnalysis) add(r *traffic.DNS, q string, srcInternal bool) {
	reg, sub, ok := registered(q)
	if !ok {
		return
	}
	t, added := d.domains.getOrAdd(reg)
	if added {
		*t = tunnelDomain{subs: map[uint64]struct{}{}, first: r.TS, last: r.TS}
	}
	t.n++
	if r.TS.Before(t.first) {
		t.first = r.TS
	}
	if r.TS.After(t.last) {
		t.last = r.TS
	}
	if qt := strings.ToUpper(r.QType); qt != "" {
		t.typed++
		if !usualQTypes[qt] {
			t.unusual++
		}
	}
	if sub != "" {
		t.addSub(maphash.String(d.seed, sub))
		label := strings.ReplaceAll(sub, ".", "")
		t.withSub++
		t.sumLen += float64(len(sub))
		t.sumEnt += entropy(label)
		t.maxLen = max(t.maxLen, len(sub))
		if len(sub) > len(t.example) && len(sub) <= 255 {
			t.example = q
		}
	}
	if len(t.srcs) < maxSources && r.Src.IsValid() && !slices.Contains(t.srcs, r.Src) {
		t.srcs = append(t.srcs, r.Src)
	}
	if srcInternal {
		d.addDGA(r, reg)
	}
}

func (d *dnsAnalysis) addDGA(r *traffic.DNS, reg string) {
	s, ok := d.scored[reg]
	if !ok {
		s = d.dga.score(reg)
		if len(d.scored) >= d.max {
			clear(d.scored)
		}
		d.scored[reg] = s
	}
	if s < dgaDomainThreshold {
		return
	}
	h, added := d.hosts.getOrAdd(r.Src)
	if added {
		*h = dgaHost{domains: map[string]float64{}, first: r.TS, last: r.TS}
	}
	h.queries++
	if r.RCode == "NXDOMAIN" {
		h.nx++
	}
	if r.TS.Before(h.first) {
		h.first = r.TS
	}
	if r.TS.After(h.last) {
		h.last = r.TS
	}
	if _, seen := h.domains[reg]; !seen {
		h.distinct++
		if len(h.domains) < maxDGADomains {
			h.domains[reg] = s
		}
	}
}

// Tunnel score weights and minimum evidence.
const (
	minTunnelSubdomains = 10
	minDGADomains       = 3
)

// tunnelScore scores a registered domain's query statistics.
func tunnelScore(unique int64, avgLen, avgEnt, unusual float64) (float64, []SubScore) {
	u := clamp01(math.Log10(float64(max(unique, 1))) / 3) // 1000 distinct subdomains -> 1
	l := clamp01((avgLen - 10) / 30)
	e := clamp01((avgEnt - 2.5) / 2)
	score := 0.4*u + 0.25*l + 0.2*e + 0.15*unusual
	return score, []SubScore{
		{Name: "distinct subdomains", Value: u, Detail: fmt.Sprintf("%d", unique)},
		{Name: "subdomain length", Value: l, Detail: fmt.Sprintf("mean %.1f characters", avgLen)},
		{Name: "subdomain entropy", Value: e, Detail: fmt.Sprintf("mean %.2f bits per character", avgEnt)},
		{Name: "unusual query types", Value: unusual, Detail: "share of TXT, NULL and other rarely used types"},
	}
}

func (d *dnsAnalysis) findings(ctx *scoreCtx) []Finding {
	var out []Finding
	d.domains.each(func(reg string, t *tunnelDomain) {
		if t.unique() < minTunnelSubdomains || ctx.safe.Domain(reg) {
			return
		}
		avgLen := t.sumLen / float64(max(t.withSub, 1))
		avgEnt := t.sumEnt / float64(max(t.withSub, 1))
		unusual := 0.0
		if t.typed > 0 {
			unusual = float64(t.unusual) / float64(t.typed)
		}
		score, sub := tunnelScore(t.unique(), avgLen, avgEnt, unusual)
		for _, src := range t.srcs {
			out = append(out, Finding{Class: ClassDNSTunnel, Src: src, Domain: reg, Score: score,
				First: t.first.UTC(), Last: t.last.UTC(), Count: t.n, Distinct: t.unique(), SubScores: sub,
				Explanation: fmt.Sprintf("%d queries for %d distinct subdomains of %s (longest %d characters, e.g. %s). %s",
					t.n, t.unique(), reg, t.maxLen, t.example, explain(sub))})
		}
	})
	d.hosts.each(func(src netip.Addr, h *dgaHost) {
		if h.distinct < minDGADomains {
			return
		}
		var sum float64
		var doms []string
		for dom, s := range h.domains {
			if ctx.safe.Domain(dom) {
				continue
			}
			sum += s
			doms = append(doms, dom)
		}
		if len(doms) < minDGADomains {
			return
		}
		slices.Sort(doms)
		mean := sum / float64(len(doms))
		vol := clamp01(math.Log2(float64(h.distinct)) / 5) // 32 domains -> 1
		nx := float64(h.nx) / float64(max(h.queries, 1))
		score := 0.5*mean + 0.3*vol + 0.2*nx
		sub := []SubScore{
			{Name: "domain randomness", Value: mean, Detail: "mean character-statistics score of the DGA-like domains"},
			{Name: "volume", Value: vol, Detail: fmt.Sprintf("%d distinct DGA-like registered domains", h.distinct)},
			{Name: "NXDOMAIN share", Value: nx},
		}
		ex := doms
		if len(ex) > 5 {
			ex = ex[:5]
		}
		out = append(out, Finding{Class: ClassDGA, Src: src, Domain: strings.Join(ex, ","), Score: score,
			First: h.first.UTC(), Last: h.last.UTC(), Count: h.queries, Distinct: h.distinct, SubScores: sub,
			Explanation: fmt.Sprintf("%s queried %d DGA-like domains (%s). %s", src, h.distinct, strings.Join(ex, ", "), explain(sub))})
	})
	return out
}
