package discovery

import (
	"net/netip"
	"sync"
	"time"
)

// A connect scan adapts its wait to each host's round trip, as nmap does
// and TCP itself (RFC 6298): every handshake that completes or is refused
// times one round trip, and once a host has rttMinSamples of them a probe
// of that host waits its smoothed round-trip time plus four times the
// variation, at least rttMinTimeout and at most the scanner's Timeout.
// A probe that times out after such a shortened wait is sent once more
// with twice the wait (still within Timeout), and is not timed (Karn), so
// a slow answer or a congested moment costs a retry, not an open port. A
// silent (filtered) port on a fast network then costs a fraction of the
// Timeout, and a slow network keeps the waits it needs.
const (
	// rttMinTimeout is the shortest wait (nmap's default
	// --min-rtt-timeout).
	rttMinTimeout = 100 * time.Millisecond
	// rttMinSamples is how many round trips of a host are timed before
	// its waits are shortened; until then the scanner's Timeout applies.
	rttMinSamples = 4
)

// rttEstimate is the round-trip estimate of one host.
type rttEstimate struct {
	srtt, rttvar time.Duration
	samples      int
}

// rttTable holds the estimates of one scan's hosts.
type rttTable struct {
	max   time.Duration
	mu    sync.Mutex
	hosts map[netip.Addr]*rttEstimate
}

func newRTTTable(max time.Duration) *rttTable {
	return &rttTable{max: max, hosts: map[netip.Addr]*rttEstimate{}}
}

// timeout returns how long a first probe of host waits.
func (t *rttTable) timeout(host netip.Addr) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.hosts[host]
	if e == nil || e.samples < rttMinSamples {
		return t.max
	}
	return min(max(e.srtt+4*e.rttvar, rttMinTimeout), t.max)
}

// sample feeds one timed round trip of host.
func (t *rttTable) sample(host netip.Addr, rtt time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.hosts[host]
	if e == nil {
		e = &rttEstimate{}
		t.hosts[host] = e
	}
	if e.samples == 0 {
		e.srtt, e.rttvar = rtt, rtt/2
	} else {
		diff := e.srtt - rtt
		if diff < 0 {
			diff = -diff
		}
		e.rttvar = (3*e.rttvar + diff) / 4
		e.srtt = (7*e.srtt + rtt) / 8
	}
	e.samples++
}
