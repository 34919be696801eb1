// Package runner holds the campaign runners: a TLS configuration check
// over crypto/tls handshakes, an exposed-port check with the discovery
// connect scanner compared with the declared design, a thin adapter
// running a baseline policy on a local filesystem root, and the runners
// over Vigil's own services, each behind a small interface defined here —
// discovery runs (Discoverer), vulnerability scans (TargetScanner and
// FindingLister), stored and scheduled baseline runs (BaselineRuns) and
// the verdicts of web log analyses (WeblogRuns). Each implements
// campaign.Runner; the application registers them in a campaign.Engine.
package runner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/campaign"
)

// Interface guards.
var (
	_ campaign.Runner = (*TLS)(nil)
	_ campaign.Runner = (*Ports)(nil)
	_ campaign.Runner = (*Baseline)(nil)
	_ campaign.Runner = (*Discovery)(nil)
	_ campaign.Runner = (*VulnScan)(nil)
	_ campaign.Runner = (*StoredBaseline)(nil)
	_ campaign.Runner = (*WebLog)(nil)
)

// maxPortsParam bounds the ports named in a task parameter.
const maxPortsParam = 4096

// portList parses a comma-separated port list or nmap-style spec.
func portList(spec string) ([]uint16, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	ps, err := discovery.ParsePorts(spec)
	if err != nil {
		return nil, fmt.Errorf("ports %q: %w", spec, err)
	}
	if len(ps) > maxPortsParam {
		return nil, fmt.Errorf("ports %q: %d ports, limit %d", spec, len(ps), maxPortsParam)
	}
	return ps, nil
}

func portName(p uint16) string {
	if n := discovery.PortName(p); n != "" {
		return strconv.Itoa(int(p)) + "/" + n
	}
	return strconv.Itoa(int(p))
}
