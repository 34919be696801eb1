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

// scanInline members are kept in the set itself before a map is made:
// most keys (a host pair, a source and port) only ever have one.
const scanInline = 2

// minScanFailedShare is the share of a key's connections that must have
// gone unanswered or been rejected for it to be reported as a scan. A
// client that talks to hundreds of web servers in a day reaches many
// distinct hosts on one port, but they answer; a scan mostly meets
// silence and resets.
const minScanFailedShare = 0.2

// scanSet counts the distinct members (destinations or ports, as 64-bit
// ids: addrID or the port) of one scan key and whether each answered.
type scanSet struct {
	inline      [scanInline]uint64
	inlineFail  [scanInline]bool
	members     map[uint64]bool // member -> failed, once more than scanInline
	distinct    int64           // members kept, inline or in the map
	weighted    float64
	failed      int64
	n           int64
	first, last time.Time
	proto       string
}

// addrID is a 64-bit id of an address for scan sets; two addresses share
// one with a probability of about 2^-64, which at most undercounts a set.
func addrID(a netip.Addr) uint64 {
	b := a.As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	return splitmix(hi ^ splitmix(lo))
}

func (s *scanSet) add(m uint64, c *traffic.Conn, failed bool) {
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
	prev, seen := s.lookup(m)
	if !seen && s.distinct >= maxScanSet {
		return
	}
	switch {
	case !seen:
		s.insert(m, failed)
		s.distinct++
		s.weighted += scanWeight(failed)
	case prev && !failed:
		// A member first seen failing later answered.
		s.insert(m, false)
		s.weighted += scanWeight(false) - scanWeight(true)
	}
}

func (s *scanSet) lookup(m uint64) (failed, seen bool) {
	if s.members != nil {
		failed, seen = s.members[m]
		return failed, seen
	}
	for i := range min(s.distinct, scanInline) {
		if s.inline[i] == m {
			return s.inlineFail[i], true
		}
	}
	return false, false
}

// insert sets the failed state of m, a member or (when distinct is not
// yet incremented) a new one.
func (s *scanSet) insert(m uint64, failed bool) {
	if s.members != nil {
		s.members[m] = failed
		return
	}
	for i := range min(s.distinct, scanInline) {
		if s.inline[i] == m {
			s.inlineFail[i] = failed
			return
		}
	}
	if s.distinct < scanInline {
		s.inline[s.distinct], s.inlineFail[s.distinct] = m, failed
		return
	}
	s.members = make(map[uint64]bool, 2*scanInline)
	for i := range scanInline {
		s.members[s.inline[i]] = s.inlineFail[i]
	}
	s.members[m] = failed
}

// each calls fn for every member kept.
func (s *scanSet) each(fn func(m uint64)) {
	if s.members != nil {
		for m := range s.members {
			fn(m)
		}
		return
	}
	for i := range min(s.distinct, scanInline) {
		fn(s.inline[i])
	}
}

// sharedServerSources: an internal host that this many internal hosts
// reach on an administration port is a shared server (a domain
// controller, a file server, a jump host), and reaching it is not
// lateral movement.
const sharedServerSources = 10

type serverKey struct {
	dst  uint64 // addrID
	port uint16
}

// serverSources counts distinct sources up to sharedServerSources.
type serverSources struct {
	srcs [sharedServerSources]uint64
	n    uint8
}

func (s *serverSources) add(src uint64) {
	if int(s.n) >= sharedServerSources {
		return
	}
	for _, x := range s.srcs[:s.n] {
		if x == src {
			return
		}
	}
	s.srcs[s.n] = src
	s.n++
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
	horizontal *table[portKey, scanSet]
	vertical   *table[hostPair, scanSet]
	lateral    *table[portKey, scanSet]
	// servers counts the internal sources reaching each internal
	// destination on an administration port, to tell shared servers
	// (domain controllers, file servers, jump hosts) from peers.
	servers *table[serverKey, serverSources]
	brute   *table[bruteKey, brute]
}

func newScans(maxPairs int) *scans {
	return &scans{horizontal: newTable[portKey](maxPairs, setWeight),
		vertical: newTable[hostPair](maxPairs, setWeight),
		lateral:  newTable[portKey](maxPairs, setWeight),
		servers:  newTable[serverKey](maxPairs, func(s *serverSources) int64 { return int64(s.n) }),
		brute:    newTable[bruteKey](maxPairs, func(b *brute) int64 { return b.short })}
}

// setWeight: scan keys with the fewest distinct members are evicted first.
func setWeight(s *scanSet) int64 { return s.distinct }

func getSet[K comparable](t *table[K, scanSet], k K) *scanSet {
	s, _ := t.getOrAdd(k)
	return s
}

func (s *scans) add(c *traffic.Conn, srcIn, dstIn bool) {
	if c.Proto == "icmp" || !usefulDst(c.Dst) {
		return
	}
	failed := failedState(c)
	dst := addrID(c.Dst)
	getSet(s.horizontal, portKey{c.Src, c.DstPort}).add(dst, c, failed)
	getSet(s.vertical, hostPair{c.Src, c.Dst}).add(uint64(c.DstPort), c, failed)
	if _, ok := lateralPorts[c.DstPort]; ok && srcIn && dstIn && c.Proto == "tcp" {
		getSet(s.lateral, portKey{c.Src, c.DstPort}).add(dst, c, failed)
		srv, _ := s.servers.getOrAdd(serverKey{dst, c.DstPort})
		srv.add(addrID(c.Src))
	}
	if _, ok := authPorts[c.DstPort]; ok && c.Proto == "tcp" {
		k := bruteKey{c.Src, c.Dst, c.DstPort}
		b, added := s.brute.getOrAdd(k)
		if added {
			b.first, b.last = c.TS, c.TS
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
	s.horizontal.each(func(k portKey, v *scanSet) {
		fail := float64(v.failed) / float64(v.n)
		if v.weighted < opt.ScanThreshold || fail < minScanFailedShare {
			return
		}
		vol := scanScore(v.weighted, opt.ScanThreshold)
		score := 0.7*vol + 0.3*fail
		sub := []SubScore{
			{Name: "destinations", Value: vol, Detail: fmt.Sprintf("%d distinct hosts on port %d, weighted %.1f (unanswered 1, answered 0.25)", v.distinct, k.port, v.weighted)},
			{Name: "failed share", Value: fail, Detail: fmt.Sprintf("%d of %d connections unanswered or rejected", v.failed, v.n)},
		}
		out = append(out, Finding{Class: ClassScanHorizontal, Src: k.src, DstPort: k.port, Proto: v.proto, Score: score,
			First: v.first.UTC(), Last: v.last.UTC(), Count: v.n, Distinct: v.distinct, SubScores: sub,
			Explanation: fmt.Sprintf("%s probed port %d on %d hosts. %s", k.src, k.port, v.distinct, explain(sub))})
	})
	s.vertical.each(func(k hostPair, v *scanSet) {
		fail := float64(v.failed) / float64(v.n)
		if v.weighted < opt.ScanThreshold || fail < minScanFailedShare {
			return
		}
		vol := scanScore(v.weighted, opt.ScanThreshold)
		score := 0.7*vol + 0.3*fail
		sub := []SubScore{
			{Name: "ports", Value: vol, Detail: fmt.Sprintf("%d distinct ports, weighted %.1f", v.distinct, v.weighted)},
			{Name: "failed share", Value: fail, Detail: fmt.Sprintf("%d of %d connections unanswered or rejected", v.failed, v.n)},
		}
		out = append(out, Finding{Class: ClassScanVertical, Src: k.src, Dst: k.dst, Proto: v.proto, Score: score,
			First: v.first.UTC(), Last: v.last.UTC(), Count: v.n, Distinct: v.distinct, SubScores: sub,
			Explanation: fmt.Sprintf("%s probed %d ports of %s. %s", k.src, v.distinct, k.dst, explain(sub))})
	})
	s.lateral.each(func(k portKey, v *scanSet) {
		if v.distinct < int64(opt.LateralThreshold) {
			return
		}
		peers, shared := int64(0), int64(0)
		v.each(func(m uint64) {
			if srv := s.servers.get(serverKey{m, k.port}); srv != nil && srv.n >= sharedServerSources {
				shared++
			} else {
				peers++
			}
		})
		if peers < int64(opt.LateralThreshold) {
			return
		}
		vol := clamp01(0.5 + math.Log2(float64(peers)/float64(opt.LateralThreshold))/6)
		fail := float64(v.failed) / float64(v.n)
		// Successful sessions to many hosts are worse than failed ones.
		score := 0.7*vol + 0.3*(1-fail)
		sub := []SubScore{
			{Name: "internal hosts", Value: vol, Detail: fmt.Sprintf("%d internal hosts on %s (port %d), not counting %d servers that %d or more internal hosts use",
				peers, lateralPorts[k.port], k.port, shared, sharedServerSources)},
			{Name: "established share", Value: 1 - fail},
		}
		out = append(out, Finding{Class: ClassLateralMovement, Src: k.src, DstPort: k.port, Proto: "tcp", Score: score,
			First: v.first.UTC(), Last: v.last.UTC(), Count: v.n, Distinct: peers, SubScores: sub,
			Explanation: fmt.Sprintf("internal host %s reached %d internal hosts on %s. %s", k.src, peers, lateralPorts[k.port], explain(sub))})
	})
	s.brute.each(func(k bruteKey, b *brute) {
		if b.short < int64(opt.BruteForceThreshold) {
			return
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
	})
	return out
}
