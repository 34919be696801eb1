package analyze

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-sec/vigil/internal/traffic"
)

type intelKey struct {
	src, dst  netip.Addr
	indicator string
	domain    string
}

type intelHit struct {
	n           int64
	first, last time.Time
	port        uint16
}

type intelMatches struct {
	hits *table[intelKey, intelHit]
}

func newIntelMatches(maxPairs int) *intelMatches {
	return &intelMatches{hits: newTable[intelKey](maxPairs, func(h *intelHit) int64 { return h.n })}
}

func (m *intelMatches) hit(k intelKey, ts time.Time, port uint16) {
	h, added := m.hits.getOrAdd(k)
	if added {
		h.first, h.last = ts, ts
	}
	h.n++
	h.port = port
	if ts.Before(h.first) {
		h.first = ts
	}
	if ts.After(h.last) {
		h.last = ts
	}
}

func (m *intelMatches) conn(ind Indicators, c *traffic.Conn, srcIn, dstIn bool) {
	if !dstIn {
		if d, ok := ind.MatchIP(c.Dst); ok {
			m.hit(intelKey{src: c.Src, dst: c.Dst, indicator: d}, c.TS, c.DstPort)
		}
	}
	if !srcIn {
		if d, ok := ind.MatchIP(c.Src); ok {
			m.hit(intelKey{src: c.Src, dst: c.Dst, indicator: d}, c.TS, c.DstPort)
		}
	}
}

func (m *intelMatches) domain(ind Indicators, src, dst netip.Addr, name string, ts time.Time) {
	if d, ok := ind.MatchDomain(name); ok {
		m.hit(intelKey{src: src, indicator: d, domain: name}, ts, 0)
	}
}

func (m *intelMatches) findings(*scoreCtx) []Finding {
	var out []Finding
	m.hits.each(func(k intelKey, h *intelHit) {
		what := k.dst.String()
		if k.domain != "" {
			what = k.domain
		}
		sub := []SubScore{{Name: "indicator match", Value: 0.9, Detail: k.indicator}}
		out = append(out, Finding{Class: ClassIntelMatch, Src: k.src, Dst: k.dst, DstPort: h.port, Domain: k.domain,
			Indicator: k.indicator, Score: 0.9, First: h.first.UTC(), Last: h.last.UTC(), Count: h.n, SubScores: sub,
			Explanation: fmt.Sprintf("%s and %s matched the indicator %s %d times", k.src, what, k.indicator, h.n)})
	})
	return out
}

// alertKey aggregates IDS alerts by source, destination and signature.
type alertKey struct {
	src, dst netip.Addr
	sig      string
}

type alertAgg struct {
	n           int64
	severity    int
	blocked     int64
	first, last time.Time
	port        uint16
	source      string
	category    string
}

// alerts turns IDS alerts from external sources against internal hosts
// into external_attack findings.
type alerts struct {
	aggs *table[alertKey, alertAgg]
}

func newAlerts(maxPairs int) *alerts {
	return &alerts{aggs: newTable[alertKey](maxPairs, func(g *alertAgg) int64 { return g.n })}
}

func (a *alerts) add(al *traffic.Alert, srcIn, dstIn bool) {
	if srcIn || !dstIn {
		return
	}
	k := alertKey{al.Src, al.Dst, al.Signature}
	g, added := a.aggs.getOrAdd(k)
	if added {
		*g = alertAgg{first: al.TS, last: al.TS, severity: al.Severity}
	}
	g.n++
	if al.Action == "blocked" {
		g.blocked++
	}
	if al.Severity > 0 && (g.severity == 0 || al.Severity < g.severity) {
		g.severity = al.Severity
	}
	g.port, g.source, g.category = al.DstPort, al.Source, al.Category
	if al.TS.Before(g.first) {
		g.first = al.TS
	}
	if al.TS.After(g.last) {
		g.last = al.TS
	}
}

func (a *alerts) findings(*scoreCtx) []Finding {
	var out []Finding
	a.aggs.each(func(k alertKey, g *alertAgg) {
		sev := 0.5
		if g.severity >= 1 && g.severity <= 4 {
			sev = 1 - float64(g.severity-1)/4
		}
		allowed := 1 - float64(g.blocked)/float64(g.n)
		score := sev * (0.5 + 0.5*allowed)
		sub := []SubScore{{Name: "signature severity", Value: sev, Detail: fmt.Sprintf("severity %d", g.severity)},
			{Name: "not blocked", Value: allowed}}
		out = append(out, Finding{Class: ClassExternalAttack, Src: k.src, Dst: k.dst, DstPort: g.port, Rule: k.sig,
			Score: score, First: g.first.UTC(), Last: g.last.UTC(), Count: g.n, SubScores: sub,
			Explanation: fmt.Sprintf("%s alert %q (%s) from %s against %s, %d times. %s", g.source, k.sig, g.category, k.src, k.dst, g.n, explain(sub))})
	})
	return out
}
