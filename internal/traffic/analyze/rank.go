package analyze

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// classWeight is how much a class says about an internal host being
// compromised or misused when the host is the finding's source.
var classWeight = map[Class]float64{
	ClassBeacon: 1, ClassDNSTunnel: 1, ClassDGA: 0.9, ClassIntelMatch: 1, ClassLongConnection: 0.6,
	ClassLateralMovement: 1, ClassScanHorizontal: 0.8, ClassScanVertical: 0.7, ClassBruteForce: 0.8,
	ClassViolation: 0.5, ClassRareDestination: 0.3, ClassExternalAttack: 0.4,
}

// HostRisk is an internal host's combined risk.
type HostRisk struct {
	Host        netip.Addr     `json:"host"`
	Score       float64        `json:"score"`
	Findings    int            `json:"findings"`
	ByClass     map[Class]int  `json:"by_class"`
	Top         []Contribution `json:"top"`
	Explanation string         `json:"explanation"`
}

// Contribution is one finding's part in a host's score.
type Contribution struct {
	Class  Class   `json:"class"`
	Target string  `json:"target"`
	Value  float64 `json:"value"` // finding score x class weight
}

// RankHosts combines findings per internal host: a host is the source of
// outbound and internal findings, and the destination of external
// attacks. Its score is 1 - Π(1 - score×weight) over its findings, so
// independent evidence adds up without exceeding 1. Hosts are returned
// highest score first.
func RankHosts(fs []Finding, zones *Zones) []HostRisk {
	type acc struct {
		keep float64
		hr   HostRisk
	}
	hosts := map[netip.Addr]*acc{}
	for _, f := range fs {
		h := f.Src
		if f.Class == ClassExternalAttack {
			h = f.Dst
		}
		if !zones.Internal(h) {
			continue
		}
		a := hosts[h]
		if a == nil {
			a = &acc{keep: 1, hr: HostRisk{Host: h, ByClass: map[Class]int{}}}
			hosts[h] = a
		}
		v := f.Score * classWeight[f.Class]
		a.keep *= 1 - v
		a.hr.Findings++
		a.hr.ByClass[f.Class]++
		target := f.Domain
		if target == "" && f.Dst.IsValid() {
			target = f.Dst.String()
		}
		if target == "" && f.DstPort != 0 {
			target = fmt.Sprintf("port %d", f.DstPort)
		}
		a.hr.Top = append(a.hr.Top, Contribution{Class: f.Class, Target: target, Value: round3(v)})
	}
	out := make([]HostRisk, 0, len(hosts))
	for _, a := range hosts {
		hr := a.hr
		hr.Score = round3(1 - a.keep)
		sort.SliceStable(hr.Top, func(i, j int) bool { return hr.Top[i].Value > hr.Top[j].Value })
		if len(hr.Top) > 5 {
			hr.Top = hr.Top[:5]
		}
		parts := make([]string, 0, len(hr.Top))
		for _, c := range hr.Top {
			parts = append(parts, fmt.Sprintf("%s %s %.2f", c.Class, c.Target, c.Value))
		}
		hr.Explanation = fmt.Sprintf("%d findings; strongest: %s", hr.Findings, strings.Join(parts, ", "))
		out = append(out, hr)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Host.Less(out[j].Host)
	})
	return out
}

// Event is one line of a host's timeline.
type Event struct {
	Time    time.Time  `json:"time"`
	Kind    string     `json:"kind"` // conn, dns, http, tls, alert, file
	Src     netip.Addr `json:"src"`
	Dst     netip.Addr `json:"dst,omitzero"`
	DstPort uint16     `json:"dst_port,omitempty"`
	Summary string     `json:"summary"`
}

// MaxTraceEvents caps the events Trace returns; the earliest are kept.
const MaxTraceEvents = 10_000

// Trace rebuilds the timeline of one host within window either side of
// around: read re-reads the input into the handler it is given (for
// example a closure over traffic.ReadZeekDir). Events are sorted by time;
// at most MaxTraceEvents are returned and truncated says whether more
// matched.
func Trace(ctx context.Context, host netip.Addr, around time.Time, window time.Duration,
	read func(ctx context.Context, h traffic.Handler) error) (events []Event, truncated bool, err error) {
	t := &tracer{host: host.Unmap(), from: around.Add(-window), to: around.Add(window)}
	if err := read(ctx, t); err != nil {
		return nil, false, fmt.Errorf("trace: %w", err)
	}
	slices.SortStableFunc(t.events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return t.events, t.truncated, nil
}

type tracer struct {
	host      netip.Addr
	from, to  time.Time
	events    []Event
	truncated bool
}

func (t *tracer) keep(ts time.Time, src, dst netip.Addr) bool {
	if src.Unmap() != t.host && dst.Unmap() != t.host {
		return false
	}
	if ts.Before(t.from) || ts.After(t.to) {
		return false
	}
	if len(t.events) >= MaxTraceEvents {
		t.truncated = true
		return false
	}
	return true
}

func (t *tracer) Conn(c *traffic.Conn) {
	if t.keep(c.TS, c.Src, c.Dst) {
		t.events = append(t.events, Event{c.TS, "conn", c.Src, c.Dst, c.DstPort,
			fmt.Sprintf("%s %s state %s, %s, %d/%d bytes", c.Proto, c.Service, c.State, c.Duration, c.OrigBytes, c.RespBytes)})
	}
}

func (t *tracer) DNS(d *traffic.DNS) {
	if t.keep(d.TS, d.Src, d.Dst) {
		t.events = append(t.events, Event{d.TS, "dns", d.Src, d.Dst, d.DstPort,
			fmt.Sprintf("%s %s -> %s %s", d.QType, d.Query, d.RCode, strings.Join(d.Answers, ","))})
	}
}

func (t *tracer) HTTP(h *traffic.HTTP) {
	if t.keep(h.TS, h.Src, h.Dst) {
		t.events = append(t.events, Event{h.TS, "http", h.Src, h.Dst, h.DstPort,
			fmt.Sprintf("%s %s %s -> %d", h.Method, h.Host, h.URI, h.Status)})
	}
}

func (t *tracer) TLS(x *traffic.TLS) {
	if t.keep(x.TS, x.Src, x.Dst) {
		t.events = append(t.events, Event{x.TS, "tls", x.Src, x.Dst, x.DstPort,
			fmt.Sprintf("%s SNI %s subject %s ja3 %s", x.Version, x.ServerName, x.Subject, x.JA3)})
	}
}

func (t *tracer) Alert(a *traffic.Alert) {
	if t.keep(a.TS, a.Src, a.Dst) {
		t.events = append(t.events, Event{a.TS, "alert", a.Src, a.Dst, a.DstPort,
			fmt.Sprintf("%s %d %s (%s)", a.Source, a.SignatureID, a.Signature, a.Category)})
	}
}

func (t *tracer) File(f *traffic.File) {
	if t.keep(f.TS, f.Src, f.Dst) {
		t.events = append(t.events, Event{f.TS, "file", f.Src, f.Dst, 0,
			fmt.Sprintf("%s %s %s %d bytes sha256 %s", f.Protocol, f.Name, f.MIME, f.Size, f.SHA256)})
	}
}

// Zones returns the analyzer's internal/external classifier.
func (a *Analyzer) Zones() *Zones { return a.zones }

// Period returns the first and last connection start times read; zero
// times when no connection was read.
func (a *Analyzer) Period() (from, to time.Time) {
	if !a.span.seen {
		return time.Time{}, time.Time{}
	}
	return time.Unix(a.span.first, 0).UTC(), time.Unix(a.span.last, 0).UTC()
}
