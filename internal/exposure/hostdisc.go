package exposure

import (
	"slices"
	"sync"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
)

// Host discovery in server runs: with Input.HostDiscovery the scanner
// first asks every target whether it is up, by ARP on the directly
// attached Ethernet segments (packet sockets: root or CAP_NET_RAW), by
// ICMP echo (raw, or the kernel's unprivileged ping socket) and by a TCP
// ping of ports 80 and 443 (SYN with raw sockets, else connect), and
// port-scans only the hosts that answered. What could not be used, and
// why, is kept in Methods and shown on the run page.

// maxHostsUp bounds the hosts kept in a run's host discovery result.
const maxHostsUp = 4096

// HostUp is a host that answered host discovery, and how.
type HostUp struct {
	Host string `json:"host"`
	// Reason is the first answer: "echo-reply", "arp-reply/MAC",
	// "syn-ack/PORT", "reset/PORT", "connect/PORT" or "refused/PORT".
	Reason string `json:"reason"`
}

// HostDiscoveryResult is what host discovery found in a run.
type HostDiscoveryResult struct {
	Hosts uint64   `json:"hosts"`
	Up    uint64   `json:"up"`
	Found []HostUp `json:"found,omitempty"`
	// Truncated: more hosts were up than maxHostsUp.
	Truncated bool `json:"truncated,omitempty"`
	// Methods says how hosts were asked, and why a method was not used
	// (the fallback note: no packet socket, not Ethernet, ...).
	Methods []string `json:"methods,omitempty"`

	mu sync.Mutex
}

// add records one target's result (discovery.Options.OnHost).
func (h *HostDiscoveryResult) add(r discovery.HostResult) {
	if h == nil || !r.Up {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.Found) >= maxHostsUp {
		h.Truncated = true
		return
	}
	h.Found = append(h.Found, HostUp{Host: r.Host.String(), Reason: clipReason(r.Reason)})
}

// summarise adds a scan's host discovery summary.
func (h *HostDiscoveryResult) summarise(s *discovery.HostSummary) {
	if h == nil || s == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Hosts += s.Hosts
	h.Up += s.Up
	for _, m := range s.Methods {
		if m != "" && !slices.Contains(h.Methods, m) && len(h.Methods) < 16 {
			h.Methods = append(h.Methods, m)
		}
	}
}

func clipReason(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}
