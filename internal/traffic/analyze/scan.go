package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// maxScanSet caps the distinct destinations (or ports) remembered per
// scan key; counts keep growing past it but new members are no longer
// told from repeats.
const maxScanSet = 512

// authPorts are ports where repeated short connections mean password
// guessing: SSH, RDP, FTP, Telnet, SMB, VNC, MySQL, SQL Server, PostgreSQL.
var authPorts = map[uint16]string{22: "SSH", 3389: "RDP", 21: "FTP", 23: "Telnet", 445: "SMB",
	5900: "VNC", 3306: "MySQL", 1433: "SQL Server", 5432: "PostgreSQL"}

// lateralPorts are administration ports used to move between internal
// hosts: SMB, RDP, WinRM, SSH, RPC.
var lateralPorts = map[uint16]string{445: "SMB", 3389: "RDP", 5985: "WinRM", 5986: "WinRM over TLS", 22: "SSH", 135: "RPC"}

// failedState reports whether a connection got no real answer: a
// rejected or unanswered handshake, or a reset before any data.
func failedState(c *traffic.Conn) bool {
	switch c.State {
	case "S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR":
		return true
	case "":
		return c.RespBytes == 0 && c.RespPkts == 0
	}
	return c.OrigBytes == 0 && c.RespBytes == 0
}

type scanSet[T comparable] struct {
	members     map[T]bool // member -> failed
	distinct    int64
	weighted    float64
	failed      int64
	n           int64
	first, last time.Time
	proto       string
}

func (s *scanSet[T]) add(m T, c *traffic.Conn, failed bool) {
	s.n++
	if failed {
		s.failed++
	}
	if s.n == 1 || c.TS.Before(s.first) {
		s.first = c.TS
	}
	if c.TS.After(s.last) {
		s.last = c.TS
	}
	s.proto = c.Proto
	prev, seen := s.members[m]
	if !seen && len(s.members) >= maxScanSet {
		return
	}
	switch {
	case !seen:
		s.distinct++
		s.members[m] = failed
		s.weighted += scanWeight(failed)
	case prev && !failed:
		// A member first seen failing later answered.
		s.members[m] = false
		s.weighted += scanWeight(false) - scanWeight(true)
	}
}

// scanWeight: an unanswered probe counts fully, an answered one a quarter.
func scanWeight(failed bool) float64 {
	if failed {
		return 1
	}
	return 0.25
}

type portKey struct {
	src  netip.Addr
	port uint16
}

type hostPair struct{ src, dst netip.Addr }

type bruteKey struct {
	src, dst netip.Addr
	port     uint16
}

type brute struct {
	n, short    int64
	bytes       int64
	first, last time.Time
}

type scans struct {
	max        int
	horizontal map[portKey]*scanSet[netip.Addr]
	vertical   map[hostPair]*scanSet[uint16]
	lateral    map[portKey]*scanSet[netip.Addr]
	brute      map[bruteKey]*brute
}

func newScans(maxPairs int) *scans {
	return &scans{max: maxPairs, horizontal: map[portKey]*scanSet[netip.Addr]{},
		vertical: map[hostPair]*scanSet[uint16]{}, lateral: map[portKey]*scanSet[netip.Addr]{},
		brute: map[bruteKey]*brute{}}
}

func getSet[K comparable, T comparable](mp *map[K]*scanSet[T], k K, maxKeys int) *scanSet[T] {
	m := *mp
	s := m[k]
	if s == nil {
		if len(m) >= maxKeys {
			m = evict(m, maxKeys, func(s *scanSet[T]) int64 { return s.distinct })
		}
		s = &scanSet[T]{members: map[T]bool{}}
		m[k] = s
		*mp = m
	}
	return s
}

func (s *scans) add(c *traffic.Conn, srcIn, dstIn bool) {
	if c.Proto == "icmp" || !usefulDst(c.Dst) {
		return
	}
	failed := failedState(c)
	getSet(&s.horizontal, portKey{c.Src, c.DstPort}, s.max).add(c.Dst, c, failed)
	getSet(&s.vertical, hostPair{c.Src, c.Dst}, s.max).add(c.DstPort, c, failed)
	if _, ok := lateralPorts[c.DstPort]; ok && srcIn && dstIn && c.Proto == "tcp" {
		getSet(&s.lateral, portKey{c.Src, c.DstPort}, s.max).add(c.Dst, c, failed)
	}
	if _, ok := authPorts[c.DstPort]; ok && c.Proto == "tcp" {
		k := bruteKey{c.Src, c.Dst, c.DstPort}
		b := s.brute[k]
		if b == nil {
			if len(s.brute) >= s.max {
				s.brute = evict(s.brute, s.max, func(b *brute) int64 { return b.short })
			}
			b = &brute{first: c.TS, last: c.TS}
			s.brute[k] = b
		}
		b.n++
		b.bytes += c.OrigBytes + c.RespBytes
		if c.Duration < 30*time.Second && c.OrigBytes < 20_000 {
			b.short++
		}
		if c.TS.Before(b.first) {
			b.first = c.TS
		}
		if c.TS.After(b.last) {
			b.last = c.TS
		}
	}
}

// scanScore: 0.5 at the threshold, 1 at 8x the threshold.
func scanScore(weighted, threshold float64) float64 {
	return clamp01(0.5 + math.Log2(weighted/threshold)/6)
}

func (s *scans) findings(ctx *scoreCtx, opt Options) []Finding {
	var out []Finding
	for k, v := range s.horizontal {
		if v.weighted < opt.ScanThreshold {
			continue
		}
		vol := scanScore(v.weighted, opt.ScanThreshold)
		fail := float64(v.failed) / float64(v.n)
		score := 0.7*vol + 0.3*fail
		sub := []SubScore{
			{Name: "destinations", Value: vol, Detail: fmt.Sprintf("%d distinct hosts on port %d, weighted %.1f (unanswered 1, answered 0.25)", v.distinct, k.port, v.weighted)},
			{Name: "failed share", Value: fail, Detail: fmt.Sprintf("%d of %d connections unanswered or rejected", v.failed, v.n)},
		}
		out = append(out, Finding{Class: ClassScanHorizontal, Src: k.src, DstPort: k.port, Proto: v.proto, Score: score,
			First: v.first.UTC(), Last: v.last.UTC(), Count: v.n, Distinct: v.distinct, SubScores: sub,
			Explanation: fmt.Sprintf("%s probed port %d on %d hosts. %s", k.src, k.port, v.distinct, explain(sub))})
	}
	for k, v := range s.vertical {
		if v.weighted < opt.ScanThreshold {
			continue
		}
		vol := scanScore(v.weighted, opt.ScanThreshold)
		fail := float64(v.failed) / float64(v.n)
		score := 0.7*vol + 0.3*fail
		sub := []SubScore{
			{Name: "ports", Value: vol, Detail: fmt.Sprintf("%d distinct ports, weighted %.1f", v.distinct, v.weighted)},
			{Name: "failed share", Value: fail, Detail: fmt.Sprintf("%d of %d connections unanswered or rejected", v.failed, v.n)},
		}
		out = append(out, Finding{Class: ClassScanVertical, Src: k.src, Dst: k.dst, Proto: v.proto, Score: score,
			First: v.first.UTC(), Last: v.last.UTC(), Count: v.n, Distinct: v.distinct, SubScores: sub,
			Explanation: fmt.Sprintf("%s probed %d ports of %s. %s", k.src, v.distinct, k.dst, explain(sub))})
	}
	for k, v := range s.lateral {
		if v.distinct < int64(opt.LateralThreshold) {
			continue
		}
		vol := clamp01(0.5 + math.Log2(float64(v.distinct)/float64(opt.LateralThreshold))/6)
		fail := float64(v.failed) / float64(v.n)
		// Successful sessions to many hosts are worse than failed ones.
		score := 0.7*vol + 0.3*(1-fail)
		sub := []SubScore{
			{Name: "internal hosts", Value: vol, Detail: fmt.Sprintf("%d internal hosts on %s (port %d)", v.distinct, lateralPorts[k.port], k.port)},
			{Name: "established share", Value: 1 - fail},
		}
		out = append(out, Finding{Class: ClassLateralMovement, Src: k.src, DstPort: k.port, Proto: "tcp", Score: score,
			First: v.first.UTC(), Last: v.last.UTC(), Count: v.n, Distinct: v.distinct, SubScores: sub,
			Explanation: fmt.Sprintf("internal host %s reached %d internal hosts on %s. %s", k.src, v.distinct, lateralPorts[k.port], explain(sub))})
	}
	for k, b := range s.brute {
		if b.short < int64(opt.BruteForceThreshold) {
			continue
		}
		vol := clamp01(0.5 + math.Log2(float64(b.short)/float64(opt.BruteForceThreshold))/6)
		rate := float64(b.short) / math.Max(1, b.last.Sub(b.first).Minutes())
		rs := clamp01(rate / 10) // 10 attempts a minute -> 1
		score := 0.7*vol + 0.3*rs
		sub := []SubScore{
			{Name: "attempts", Value: vol, Detail: fmt.Sprintf("%d short, small connections to %s", b.short, authPorts[k.port])},
			{Name: "rate", Value: rs, Detail: fmt.Sprintf("%.1f a minute", rate)},
		}
		out = append(out, Finding{Class: ClassBruteForce, Src: k.src, Dst: k.dst, DstPort: k.port, Proto: "tcp", Score: score,
			First: b.first.UTC(), Last: b.last.UTC(), Count: b.n, Bytes: b.bytes, SubScores: sub,
			Explanation: fmt.Sprintf("%s made %d short connections to %s on %s (port %d). %s", k.src, b.short, k.dst, authPorts[k.port], k.port, explain(sub))})
	}
	return out
}
