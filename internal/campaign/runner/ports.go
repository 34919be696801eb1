package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/campaign"
)

// Task parameters read by the Ports runner.
const (
	// ParamRiskyPorts lists ports that must not be exposed (e.g.
	// "135,137,139,445,3389"): open and undeclared, each is a high finding.
	ParamRiskyPorts = "risky_ports"
	// ParamPorts is an extra port spec to scan ("1-1024", "top:100");
	// declared and risky ports are always scanned.
	ParamPorts = "ports"
)

// Scores of the exposed-port findings (CVSS-like, set by Vigil).
const (
	scoreRiskyUndeclared = 7.5
	scoreRiskyDeclared   = 5.3
	scoreUndeclared      = 5.3
)

// PortsOptions configure the Ports runner.
type PortsOptions struct {
	// Rate, Concurrency and Timeout are passed to the discovery scanner
	// (its defaults when zero).
	Rate        float64
	Concurrency int
	Timeout     time.Duration
	Logger      *slog.Logger
}

// Ports compares the open TCP ports of a target with its declared design
// using the discovery connect scanner. The scan is confined to the
// target's own address.
type Ports struct{ opts PortsOptions }

// NewPorts returns a Ports runner.
func NewPorts(opts PortsOptions) *Ports { return &Ports{opts: opts} }

// Run implements campaign.Runner. Open ports not in Target.DeclaredPorts
// are findings: high for a risky port, medium otherwise; a risky port that
// the design declares is medium (it needs a risk acceptance); a declared
// port found closed is noted at info level.
func (p *Ports) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	addr, err := netip.ParseAddr(target.Host)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("exposed ports: target host %q is not an IP address", target.Host)
	}
	addr = addr.Unmap()
	risky, err := portList(task.Params[ParamRiskyPorts])
	if err != nil {
		return campaign.Result{}, fmt.Errorf("exposed ports: %s: %w", ParamRiskyPorts, err)
	}
	extra, err := portList(task.Params[ParamPorts])
	if err != nil {
		return campaign.Result{}, fmt.Errorf("exposed ports: %s: %w", ParamPorts, err)
	}
	ports := slices.Concat(target.DeclaredPorts, risky, extra)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	if len(ports) == 0 {
		return campaign.Result{}, errors.New("exposed ports: nothing to scan (no declared, risky or extra ports)")
	}
	scope := discovery.NewScope(netip.PrefixFrom(addr, addr.BitLen()))
	sc, err := discovery.New(discovery.Options{Scope: scope, Rate: p.opts.Rate, Concurrency: p.opts.Concurrency,
		Timeout: p.opts.Timeout, Logger: p.opts.Logger})
	if err != nil {
		return campaign.Result{}, fmt.Errorf("exposed ports: %w", err)
	}
	targets, err := discovery.ParseTargets(ctx, []string{addr.String()}, discovery.TargetOptions{Scope: scope})
	if err != nil {
		return campaign.Result{}, fmt.Errorf("exposed ports: %w", err)
	}
	var mu sync.Mutex
	open := map[uint16]bool{}
	sum, err := sc.Scan(ctx, targets, ports, func(r discovery.Result) {
		if r.State == discovery.Open {
			mu.Lock()
			open[r.Port] = true
			mu.Unlock()
		}
	})
	if err != nil {
		return campaign.Result{}, fmt.Errorf("exposed ports: scan %s: %w", addr, err)
	}
	if sum.Filtered == sum.Probed && sum.Probed > 0 {
		return campaign.Result{}, fmt.Errorf("exposed ports: %s did not answer on any of %d ports (unreachable or filtered)", addr, sum.Probed)
	}
	return comparePorts(open, target.DeclaredPorts, risky, sum), nil
}

// comparePorts turns the open ports into findings against the design.
func comparePorts(open map[uint16]bool, declared, risky []uint16, sum discovery.Summary) campaign.Result {
	res := campaign.Result{Status: campaign.StatusPassed,
		Evidence: []string{fmt.Sprintf("probed %d ports: %d open, %d closed, %d filtered", sum.Probed, sum.Open, sum.Closed, sum.Filtered)}}
	for _, port := range slices.Sorted(maps.Keys(open)) {
		isDeclared, isRisky := slices.Contains(declared, port), slices.Contains(risky, port)
		var f campaign.Finding
		switch {
		case isRisky && !isDeclared:
			f = campaign.Finding{Key: fmt.Sprintf("port/%d", port), Severity: campaign.SeverityHigh, Score: scoreRiskyUndeclared, Ref: campaign.RefRiskyPort,
				Title: fmt.Sprintf("Risky port %s is open and not in the declared design", portName(port))}
		case isRisky:
			f = campaign.Finding{Key: fmt.Sprintf("port/%d", port), Severity: campaign.SeverityMedium, Score: scoreRiskyDeclared, Ref: campaign.RefRiskyPort,
				Title: fmt.Sprintf("Risky port %s is open by design; restrict it or accept the risk", portName(port))}
		case !isDeclared:
			f = campaign.Finding{Key: fmt.Sprintf("port/%d", port), Severity: campaign.SeverityMedium, Score: scoreUndeclared,
				Title: fmt.Sprintf("Port %s is open and not in the declared design", portName(port))}
		default:
			continue
		}
		f.Evidence = []string{"tcp connect accepted"}
		res.Findings = append(res.Findings, f)
	}
	for _, port := range declared {
		if !open[port] {
			res.Findings = append(res.Findings, campaign.Finding{Key: fmt.Sprintf("port/%d/closed", port), Severity: campaign.SeverityInfo,
				Title: fmt.Sprintf("Declared port %s is not open", portName(port))})
		}
	}
	for _, f := range res.Findings {
		if f.Severity != campaign.SeverityInfo {
			res.Status = campaign.StatusFailed
		}
	}
	return res
}
