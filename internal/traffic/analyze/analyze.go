// Package analyze owns Vigil's traffic analyses: beacons, long
// connections, DNS tunnelling, DGA-like domains, rare destinations,
// threat-intelligence matches, scans, brute force, lateral movement,
// external attacks seen in IDS alerts and policy violations. Each
// analysis is fed by a traffic reader through traffic.Handler, keeps
// bounded aggregates (caps documented on Options) and produces Findings
// with a score in [0,1] and an explanation made of named sub-scores. Hosts
// are ranked by combining their findings, Trace rebuilds one host's
// timeline by re-reading the input, and ReportDocument turns a period's
// findings into the traffic risk report (internal/report renders it).
//
// Every pair-keyed aggregate lives in a bounded table (see table) whose
// eviction costs O(1) per record, so a day of tens of millions of flows
// is analysed in bounded memory.
//
// Direction (internal or external) comes from the configured internal
// prefixes, never from the flags a log carries.
package analyze

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/gaissmai/bart"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// Class names what a finding is.
type Class string

// Finding classes.
const (
	ClassBeacon          Class = "beacon"
	ClassLongConnection  Class = "long_connection"
	ClassDNSTunnel       Class = "dns_tunnel"
	ClassDGA             Class = "dga"
	ClassRareDestination Class = "rare_destination"
	ClassIntelMatch      Class = "intel_match"
	ClassScanHorizontal  Class = "scan_horizontal"
	ClassScanVertical    Class = "scan_vertical"
	ClassBruteForce      Class = "brute_force"
	ClassLateralMovement Class = "lateral_movement"
	ClassViolation       Class = "violation"
	ClassExternalAttack  Class = "external_attack"
)

// SubScore is one named part of a finding's score.
type SubScore struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Detail says in plain words what was measured.
	Detail string `json:"detail,omitempty"`
}

// Finding is one result of an analysis.
type Finding struct {
	Class    Class      `json:"class"`
	Src      netip.Addr `json:"src"`
	SrcZone  string     `json:"src_zone"`
	Dst      netip.Addr `json:"dst,omitzero"`
	DstZone  string     `json:"dst_zone,omitempty"`
	DstPort  uint16     `json:"dst_port,omitempty"`
	Proto    string     `json:"proto,omitempty"`
	Domain   string     `json:"domain,omitempty"`
	Score    float64    `json:"score"`
	Severity string     `json:"severity"`
	First    time.Time  `json:"first_seen"`
	Last     time.Time  `json:"last_seen"`
	Count    int64      `json:"count"`
	Bytes    int64      `json:"bytes,omitempty"`
	// Distinct counts destinations, ports, subdomains or domains, as the
	// class says in its explanation.
	Distinct    int64      `json:"distinct,omitempty"`
	Rule        string     `json:"rule,omitempty"`
	Indicator   string     `json:"indicator,omitempty"`
	SubScores   []SubScore `json:"sub_scores,omitempty"`
	Explanation string     `json:"explanation"`
}

// Zones tells internal from external addresses.
type Zones struct {
	t bart.Lite
}

// DefaultInternal are the prefixes treated as internal when none are
// configured: RFC 1918, shared address space, loopback, link-local and
// IPv6 unique-local and link-local addresses.
var DefaultInternal = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"}

// NewZones builds Zones from prefixes; with none, DefaultInternal.
func NewZones(prefixes []netip.Prefix) *Zones {
	z := &Zones{}
	if len(prefixes) == 0 {
		for _, s := range DefaultInternal {
			z.t.Insert(netip.MustParsePrefix(s))
		}
		return z
	}
	for _, p := range prefixes {
		z.t.Insert(p.Masked())
	}
	return z
}

// Internal reports whether a is in an internal prefix.
func (z *Zones) Internal(a netip.Addr) bool {
	return a.IsValid() && z.t.Contains(a.Unmap())
}

// Zone is "internal" or "external".
func (z *Zones) Zone(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	if z.Internal(a) {
		return "internal"
	}
	return "external"
}

// Indicators is the threat intelligence the caller supplies; each match
// returns a description of the indicator (feed, name...).
type Indicators interface {
	MatchIP(netip.Addr) (string, bool)
	MatchDomain(string) (string, bool)
}

// Options configure an Analyzer. Zero values take the documented defaults.
type Options struct {
	// Internal prefixes; empty means DefaultInternal.
	Internal []netip.Prefix
	// Safelist removes findings to well-known services; nil means the
	// embedded default (DefaultSafelist).
	Safelist *Safelist
	// Policy holds violation rules; nil means none.
	Policy *Policy
	// Intel is matched against addresses and names; nil means none.
	Intel Indicators
	// MinScore drops findings scoring below it.
	MinScore float64
	// MaxPairs caps the host pairs each pair-keyed analysis tracks
	// (beacons, long connections, scans, brute force, violations, intel);
	// default 200,000. When a table is full, a new pair replaces the
	// lightest (fewest connections, destinations or seconds, as the
	// analysis weighs them) of a few sampled pairs: O(1) per flow, and
	// pairs seen repeatedly outlive one-off ones (see table).
	MaxPairs int
	// MaxNames caps the host names remembered to name connections: HTTP
	// Host and TLS SNI by connection uid, DNS answers by address; default
	// 1,000,000 or twice MaxPairs if larger. A Zeek directory's ssl and
	// http logs are read before its conn log, so this must cover the
	// directory's named connections for conn records to get their names.
	MaxNames int
	// MaxDomains caps the registered domains tracked for DNS tunnelling
	// and the hosts tracked for DGA and rare destinations; default 100,000.
	MaxDomains int
	// LongConnection is the duration from which a connection (or the
	// cumulative time of a pair) between an internal and an external
	// host is long; default 1 hour.
	LongConnection time.Duration
	// ScanThreshold is the weighted count of distinct destinations (or
	// ports) from which a scan is reported; default 10.
	ScanThreshold float64
	// BruteForceThreshold is the count of short, small connections to an
	// authentication port of one host from which brute force is reported;
	// default 20.
	BruteForceThreshold int
	// LateralThreshold is the count of distinct internal hosts one internal
	// host reaches on an administration port from which lateral movement
	// is reported; default 5.
	LateralThreshold int
	Logger           *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxPairs <= 0 {
		o.MaxPairs = 200_000
	}
	if o.MaxNames <= 0 {
		o.MaxNames = max(1_000_000, 2*o.MaxPairs)
	}
	if o.MaxDomains <= 0 {
		o.MaxDomains = 100_000
	}
	if o.LongConnection <= 0 {
		o.LongConnection = time.Hour
	}
	if o.ScanThreshold <= 0 {
		o.ScanThreshold = 10
	}
	if o.BruteForceThreshold <= 0 {
		o.BruteForceThreshold = 20
	}
	if o.LateralThreshold <= 0 {
		o.LateralThreshold = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Analyzer runs every analysis over the records it is handed. It is a
// traffic.Handler; call Findings once the input is read.
type Analyzer struct {
	opt   Options
	zones *Zones
	names *names
	span  span

	beacons *beacons
	longs   *longConns
	dns     *dnsAnalysis
	scans   *scans
	rare    *rare
	intel   *intelMatches
	viol    *violations
	alerts  *alerts
}

var _ traffic.Handler = (*Analyzer)(nil)

// New builds an Analyzer.
func New(opt Options) (*Analyzer, error) {
	opt.defaults()
	if opt.Safelist == nil {
		sl, err := DefaultSafelist()
		if err != nil {
			return nil, err
		}
		opt.Safelist = sl
	}
	if opt.MinScore < 0 || opt.MinScore > 1 {
		return nil, errors.New("analyze: min score must be within 0..1")
	}
	z := NewZones(opt.Internal)
	a := &Analyzer{opt: opt, zones: z, names: newNames(opt.MaxNames)}
	a.beacons = newBeacons(opt.MaxPairs)
	a.longs = newLongConns(opt.MaxPairs, opt.LongConnection)
	dg, err := newDGAModel()
	if err != nil {
		return nil, err
	}
	a.dns = newDNSAnalysis(opt.MaxDomains, dg)
	a.scans = newScans(opt.MaxPairs)
	a.rare = newRare(opt.MaxDomains)
	a.intel = newIntelMatches(opt.MaxPairs)
	a.viol = newViolations(opt.MaxPairs)
	a.alerts = newAlerts(opt.MaxPairs)
	return a, nil
}

// Conn implements traffic.Handler.
func (a *Analyzer) Conn(c *traffic.Conn) {
	if !c.Src.IsValid() || !c.Dst.IsValid() {
		return
	}
	a.span.add(c.TS)
	srcIn, dstIn := a.zones.Internal(c.Src), a.zones.Internal(c.Dst)
	host := a.names.hostOf(c.UID, c.Dst)
	if srcIn && usefulDst(c.Dst) {
		a.beacons.add(c, host, a.span.base)
		a.rare.add(c.Src, c.Dst, dstIn, c.TS)
	}
	a.longs.add(c, srcIn, dstIn)
	a.scans.add(c, srcIn, dstIn)
	if a.opt.Intel != nil {
		a.intel.conn(a.opt.Intel, c, srcIn, dstIn)
	}
	if a.opt.Policy != nil {
		a.viol.add(a.opt.Policy, a.zones, c, srcIn, dstIn)
	}
}

// usefulDst is false for broadcast, multicast and unspecified addresses,
// which cannot be a command-and-control peer.
func usefulDst(d netip.Addr) bool {
	d = d.Unmap()
	if d.IsMulticast() || d.IsUnspecified() || d.IsLinkLocalMulticast() {
		return false
	}
	if d.Is4() {
		b := d.As4()
		if b[3] == 255 || d == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return false
		}
	}
	return true
}

// DNS implements traffic.Handler.
func (a *Analyzer) DNS(d *traffic.DNS) {
	if d.Query == "" {
		return
	}
	q := strings.ToLower(d.Query)
	for _, ans := range d.Answers {
		if ip, err := netip.ParseAddr(ans); err == nil {
			a.names.ip(ip, q)
		}
	}
	// Multicast name resolution (LLMNR, mDNS) is local chatter.
	if d.Dst.IsValid() && d.Dst.IsMulticast() {
		return
	}
	a.dns.add(d, q, a.zones.Internal(d.Src))
	if a.opt.Intel != nil {
		a.intel.domain(a.opt.Intel, d.Src, d.Dst, q, d.TS)
	}
}

// HTTP implements traffic.Handler.
func (a *Analyzer) HTTP(h *traffic.HTTP) {
	host := normHost(h.Host)
	if host == "" {
		return
	}
	a.names.uid(h.UID, host)
	if a.opt.Intel != nil {
		a.intel.domain(a.opt.Intel, h.Src, h.Dst, host, h.TS)
	}
}

// TLS implements traffic.Handler.
func (a *Analyzer) TLS(t *traffic.TLS) {
	host := normHost(t.ServerName)
	if host == "" {
		return
	}
	a.names.uid(t.UID, host)
	if a.opt.Intel != nil {
		a.intel.domain(a.opt.Intel, t.Src, t.Dst, host, t.TS)
	}
}

// Alert implements traffic.Handler.
func (a *Analyzer) Alert(al *traffic.Alert) {
	a.alerts.add(al, a.zones.Internal(al.Src), a.zones.Internal(al.Dst))
}

// File implements traffic.Handler.
func (a *Analyzer) File(*traffic.File) {}

// normHost lower-cases a host name and drops a port and a trailing dot.
func normHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i > 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// Findings returns every finding scoring at least MinScore and not
// safelisted, highest score first.
func (a *Analyzer) Findings() []Finding {
	var out []Finding
	ctx := &scoreCtx{zones: a.zones, span: a.span, safe: a.opt.Safelist, names: a.names,
		internalHosts: a.rare.internalHosts()}
	out = append(out, a.beacons.findings(ctx)...)
	out = append(out, a.longs.findings(ctx)...)
	out = append(out, a.dns.findings(ctx)...)
	out = append(out, a.scans.findings(ctx, a.opt)...)
	out = append(out, a.rare.findings(ctx)...)
	out = append(out, a.intel.findings(ctx)...)
	out = append(out, a.viol.findings(ctx)...)
	out = append(out, a.alerts.findings(ctx)...)
	kept := out[:0]
	for _, f := range out {
		if f.Score < a.opt.MinScore {
			continue
		}
		f.Score = round3(f.Score)
		for i := range f.SubScores {
			f.SubScores[i].Value = round3(f.SubScores[i].Value)
		}
		f.Severity = severity(f.Score)
		f.SrcZone = a.zones.Zone(f.Src)
		f.DstZone = a.zones.Zone(f.Dst)
		kept = append(kept, f)
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Score != kept[j].Score {
			return kept[i].Score > kept[j].Score
		}
		if kept[i].Class != kept[j].Class {
			return kept[i].Class < kept[j].Class
		}
		return kept[i].Src.Less(kept[j].Src)
	})
	return kept
}

// severity maps a score to a severity word.
func severity(s float64) string {
	switch {
	case s >= 0.85:
		return "critical"
	case s >= 0.7:
		return "high"
	case s >= 0.5:
		return "medium"
	case s >= 0.3:
		return "low"
	}
	return "info"
}

// scoreCtx is what analyses need when they produce findings.
type scoreCtx struct {
	zones         *Zones
	span          span
	safe          *Safelist
	names         *names
	internalHosts int
}

// span is the time covered by the connections read.
type span struct {
	base        int64 // unix seconds of the first record, the origin of relative times
	first, last int64
	seen        bool
}

func (s *span) add(t time.Time) {
	if t.IsZero() {
		return
	}
	u := t.Unix()
	if !s.seen {
		s.base, s.first, s.last, s.seen = u, u, u, true
		return
	}
	s.first = min(s.first, u)
	s.last = max(s.last, u)
}

// seconds is the covered duration, at least one second.
func (s span) seconds() float64 {
	return max(1, float64(s.last-s.first))
}

func explain(sub []SubScore) string {
	parts := make([]string, 0, len(sub))
	for _, s := range sub {
		p := fmt.Sprintf("%s %.2f", s.Name, s.Value)
		if s.Detail != "" {
			p += " (" + s.Detail + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
