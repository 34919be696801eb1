package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// minTrackedDuration: connections shorter than this are not tracked for
// long connections, which bounds the table to pairs that matter.
const minTrackedDuration = time.Minute

type longKey struct {
	src, dst netip.Addr
	port     uint16
}

type longPair struct {
	total, longest time.Duration
	n              int64
	bytes          int64
	first, last    time.Time
	proto          string
}

type longConns struct {
	threshold time.Duration
	pairs     *table[longKey, longPair]
}

func newLongConns(maxPairs int, threshold time.Duration) *longConns {
	return &longConns{threshold: threshold,
		pairs: newTable[longKey](maxPairs, func(p *longPair) int64 { return int64(p.total / time.Second) })}
}

// add tracks connections that cross the internal/external boundary, as
// RITA does: long sessions between internal hosts (remote desktops, file
// shares, jump hosts) are the network's ordinary work.
func (l *longConns) add(c *traffic.Conn, srcIn, dstIn bool) {
	if c.Duration < minTrackedDuration || srcIn == dstIn {
		return
	}
	k := longKey{c.Src, c.Dst, c.DstPort}
	p, added := l.pairs.getOrAdd(k)
	if added {
		*p = longPair{first: c.TS, last: c.TS, proto: c.Proto}
	}
	p.n++
	p.total += c.Duration
	p.longest = max(p.longest, c.Duration)
	p.bytes += c.OrigBytes + c.RespBytes
	if c.TS.Before(p.first) {
		p.first = c.TS
	}
	if end := c.TS.Add(c.Duration); end.After(p.last) {
		p.last = end
	}
}

func (l *longConns) findings(ctx *scoreCtx) []Finding {
	var out []Finding
	l.pairs.each(func(k longKey, p *longPair) {
		if p.total < l.threshold {
			return
		}
		domain := ctx.names.nameOf(k.dst)
		if ctx.safe.Dst(k.dst, domain) {
			return
		}
		// 0.5 at the threshold, 1 at 8x the threshold.
		ratio := float64(p.total) / float64(l.threshold)
		cum := clamp01(0.5 + math.Log2(ratio)/6)
		single := clamp01(float64(p.longest) / float64(l.threshold) / 2)
		score := 0.7*cum + 0.3*single
		sub := []SubScore{
			{Name: "cumulative duration", Value: cum, Detail: fmt.Sprintf("%s over %d connections, threshold %s", p.total.Round(time.Second), p.n, l.threshold)},
			{Name: "longest connection", Value: single, Detail: p.longest.Round(time.Second).String()},
		}
		out = append(out, Finding{Class: ClassLongConnection, Src: k.src, Dst: k.dst, DstPort: k.port, Proto: p.proto,
			Domain: domain, Score: score, First: p.first.UTC(), Last: p.last.UTC(), Count: p.n, Bytes: p.bytes, SubScores: sub,
			Explanation: fmt.Sprintf("%s connected to %s port %d for %s in total (longest %s). %s",
				k.src, k.dst, k.port, p.total.Round(time.Second), p.longest.Round(time.Second), explain(sub))})
	})
	return out
}
