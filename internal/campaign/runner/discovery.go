package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
)

// Discoverer is the part of Vigil's discovery service (exposure.Service)
// the Discovery and VulnScan runners use: Start checks the targets against
// the tenant's declared address space and stores a pending run, Run
// executes it (a run another worker already took is left to it), Get and
// List read runs back. Each call checks the caller's permission.
type Discoverer interface {
	Start(ctx context.Context, tenantID string, in exposure.Input) (store.DiscoveryRun, error)
	Run(ctx context.Context, tenantID, runID string) error
	Get(ctx context.Context, tenantID, id string) (store.DiscoveryRun, exposure.RunResult, error)
	List(ctx context.Context, tenantID string, p store.Page) ([]store.DiscoveryRun, error)
}

// scoreExposedRisky is the score of an exposed risky service the design
// does not declare (CVSS-like, set by Vigil).
const scoreExposedRisky = 7.5

// DiscoveryOptions configure the Discovery runner.
type DiscoveryOptions struct {
	// Poll is how often a run that another worker took is looked at
	// (default 500ms); Wait bounds the wait for it (default 30 minutes).
	Poll, Wait time.Duration
	Logger     *slog.Logger
}

// Discovery runs an asset discovery over a target's address (an address
// or a CIDR block of the tenant's declared space) with Vigil's discovery
// service, so the run is kept, merged into the inventory and audited like
// any other, then judges what it found: an open risky port (the task's
// risky_ports, else the ports discovery itself calls risky) fails the
// task unless the target's design declares it, which makes it a medium
// finding that needs a risk acceptance.
type Discovery struct {
	svc  Discoverer
	opts DiscoveryOptions
}

// NewDiscovery returns a Discovery runner over svc.
func NewDiscovery(svc Discoverer, opts DiscoveryOptions) *Discovery {
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Wait <= 0 {
		opts.Wait = 30 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Discovery{svc: svc, opts: opts}
}

// Run implements campaign.Runner.
func (d *Discovery) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	risky, err := portList(task.Params[ParamRiskyPorts])
	if err != nil {
		return campaign.Result{}, fmt.Errorf("discovery: %s: %w", ParamRiskyPorts, err)
	}
	run, res, err := d.discover(ctx, task, target, risky)
	if err != nil {
		return campaign.Result{}, err
	}
	out := campaign.Result{Status: campaign.StatusPassed, Evidence: []string{fmt.Sprintf("discovery run %s: %d hosts, %d probes, %d open ports, %d new assets",
		run.ID, res.Hosts, res.Probed, len(res.Open), len(res.New))}}
	for _, p := range res.Open {
		why := p.Risky
		if len(risky) > 0 {
			why = ""
			if slices.Contains(risky, p.Port) {
				why = "listed as risky by the task"
			}
		}
		if why == "" {
			continue
		}
		f := campaign.Finding{Key: "discovery/" + p.Host + "/" + strconv.Itoa(int(p.Port)), Severity: campaign.SeverityHigh,
			Score: scoreExposedRisky, Ref: campaign.RefRiskyPort,
			Title:    fmt.Sprintf("Risky service exposed: %s port %s (%s)", p.Host, portName(p.Port), why),
			Evidence: []string{"discovery run " + run.ID}}
		if slices.Contains(target.DeclaredPorts, p.Port) {
			f.Severity, f.Score = campaign.SeverityMedium, scoreRiskyDeclared
			f.Title = fmt.Sprintf("Risky service exposed by design: %s port %s (%s); restrict it or accept the risk", p.Host, portName(p.Port), why)
		}
		if s := strings.TrimSpace(p.Service + " " + p.Banner); s != "" {
			f.Evidence = append(f.Evidence, clip(s, 200))
		}
		out.Findings = append(out.Findings, f)
	}
	for _, a := range res.New {
		out.Findings = append(out.Findings, campaign.Finding{Key: "discovery/new/" + a.Address, Severity: campaign.SeverityInfo,
			Title: "Unknown host found and added to the inventory: " + a.Address, Evidence: []string{"discovery run " + run.ID, "asset " + a.AssetID}})
	}
	if slices.ContainsFunc(out.Findings, func(f campaign.Finding) bool { return f.Severity != campaign.SeverityInfo }) {
		out.Status = campaign.StatusFailed
	}
	return out, nil
}

// discover starts a discovery run over the target and waits for its end.
// The ports are the task's spec (default top 100) plus the risky and
// declared ports, so the ones the decision is about are always probed.
func (d *Discovery) discover(ctx context.Context, task campaign.Task, target campaign.Target, risky []uint16) (store.DiscoveryRun, exposure.RunResult, error) {
	host := strings.TrimSpace(target.Host)
	if _, err := netip.ParseAddr(host); err != nil {
		if _, err := netip.ParsePrefix(host); err != nil {
			return store.DiscoveryRun{}, exposure.RunResult{}, fmt.Errorf("discovery: target %q is neither an IP address nor a CIDR block", host)
		}
	}
	if target.Tenant == "" {
		return store.DiscoveryRun{}, exposure.RunResult{}, errors.New("discovery: the target has no tenant")
	}
	spec := strings.TrimSpace(task.Params[ParamPorts])
	if spec == "" {
		spec = exposure.DefaultPorts
	}
	if _, err := portList(spec); err != nil {
		return store.DiscoveryRun{}, exposure.RunResult{}, fmt.Errorf("discovery: %s: %w", ParamPorts, err)
	}
	for _, p := range slices.Concat(risky, target.DeclaredPorts, target.TLSPorts) {
		spec += "," + strconv.Itoa(int(p))
	}
	run, err := d.svc.Start(ctx, target.Tenant, exposure.Input{Targets: host, Ports: spec})
	if err != nil {
		return run, exposure.RunResult{}, fmt.Errorf("discovery: %w", err)
	}
	// Run it here unless a worker took it first; then wait for it.
	if err := d.svc.Run(ctx, target.Tenant, run.ID); err != nil {
		return run, exposure.RunResult{}, fmt.Errorf("discovery run %s: %w", run.ID, err)
	}
	deadline := time.NewTimer(d.opts.Wait)
	defer deadline.Stop()
	for {
		got, res, err := d.svc.Get(ctx, target.Tenant, run.ID)
		if err != nil {
			return run, res, fmt.Errorf("discovery run %s: %w", run.ID, err)
		}
		switch got.Status {
		case exposure.StatusDone:
			return got, res, nil
		case exposure.StatusFailed:
			return got, res, fmt.Errorf("discovery run %s failed: %s", run.ID, clip(got.Error, 300))
		}
		select {
		case <-ctx.Done():
			return got, res, ctx.Err()
		case <-deadline.C:
			return got, res, fmt.Errorf("discovery run %s did not finish within %s", run.ID, d.opts.Wait)
		case <-time.After(d.opts.Poll):
		}
	}
}

// clip bounds a text copied into a result.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
