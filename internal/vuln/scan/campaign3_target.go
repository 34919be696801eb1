package scan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// MaxScopePorts bounds the ports one targeted scan probes.
const MaxScopePorts = 4096

// TargetScope limits a scan to one target of the tenant: an asset, an IP
// address or a URL. The address (the URL's host when it is one, else
// Address, else the asset's address) must be an IP address in the
// tenant's declared space. With a URL only that web service is checked;
// otherwise Ports (default exposure.DefaultPorts) are probed on the
// address with the discovery connect scanner, confined to that address,
// and every open one is checked. No discovery run is created and the
// inventory is not changed.
type TargetScope struct {
	AssetID string
	Address string
	URL     string
	Ports   []uint16
	// ServerName is sent as SNI and checked against certificates; a URL
	// whose host is a name sets it.
	ServerName string
}

// scopeError is a refused TargetScope field.
func scopeError(field, code, format string, a ...any) error {
	return store.NewFieldError(field, code, nil, format, a...)
}

// resolve returns the address and the URL service of a scope.
func (s *Service) resolve(ctx context.Context, tenantID string, ts *TargetScope) (netip.Addr, *Target, error) {
	var addr netip.Addr
	if v := strings.TrimSpace(ts.Address); v != "" {
		a, err := netip.ParseAddr(v)
		if err != nil || len(v) > 64 {
			return addr, nil, scopeError("address", store.CodeInvalidAttribute, "%q is not an IP address", clipStr(v, 64))
		}
		addr = a.Unmap()
	}
	if id := strings.TrimSpace(ts.AssetID); id != "" {
		a, err := s.store.Assets().Get(ctx, tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			return addr, nil, scopeError("asset", store.CodeNotInTenant, "choose an asset of this organisation")
		}
		if err != nil {
			return addr, nil, err
		}
		if !addr.IsValid() {
			if ip, err := netip.ParseAddr(assetHost(a.Address)); err == nil {
				addr = ip.Unmap()
			}
		}
	}
	var web *Target
	if v := strings.TrimSpace(ts.URL); v != "" {
		u, err := url.Parse(v)
		if err != nil || len(v) > 2048 || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			return addr, nil, scopeError("url", store.CodeInvalidAttribute, "the URL is an http or https URL with a host")
		}
		port := map[string]int{"http": 80, "https": 443}[u.Scheme]
		if p := u.Port(); p != "" {
			if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
				return addr, nil, scopeError("url", store.CodeInvalidAttribute, "the URL's port is 1 to 65535")
			}
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if addr.IsValid() && addr != ip.Unmap() {
				return addr, nil, scopeError("url", store.CodeInvalidAttribute, "the URL is not on the target's address %s", addr)
			}
			addr = ip.Unmap()
		} else if ts.ServerName == "" {
			ts.ServerName = u.Hostname() // connect to the address, name the host
		}
		web = &Target{Port: port, Service: u.Scheme}
	}
	if !addr.IsValid() {
		return addr, nil, scopeError("address", store.CodeRequired, "the target needs an IP address (an asset with one, an address or a URL on one)")
	}
	return addr, web, nil
}

// assetHost is the host part of an asset's address (an IP, a host:port or
// a URL).
func assetHost(a string) string {
	a = strings.TrimSpace(a)
	if u, err := url.Parse(a); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return a
}

// ScanTarget runs the checks of Scan on one target only (see TargetScope)
// and imports the findings as one scan of that target. The scheduled and
// on-demand tenant scans (Scan) are unchanged. An address that answers on
// none of the probed ports (all filtered) is an error, not a clean scan.
func (s *Service) ScanTarget(ctx context.Context, tenantID string, ts TargetScope) (Result, error) {
	var res Result
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return res, err
	}
	if len(ts.Ports) > MaxScopePorts {
		return res, store.NewFieldError("ports", store.CodeTooMany, map[string]any{"max": MaxScopePorts}, "at most %d ports", MaxScopePorts)
	}
	addr, web, err := s.resolve(ctx, tenantID, &ts)
	if err != nil {
		return res, err
	}
	scope, err := s.scope(ctx, tenantID)
	if err != nil {
		return res, err
	}
	if !inScope(scope, addr.String()) {
		return res, scopeError("address", store.CodeNotInTenant, "%s is outside the tenant's declared address space", addr)
	}
	var targets []Target
	switch {
	case web != nil:
		t := *web
		t.Host = addr.String()
		banner, err := grabBanner(ctx, t, s.client, s.opts.Timeout)
		if err != nil {
			return res, fmt.Errorf("vulnerability scan of %s: %w", t.baseURL(), err)
		}
		t.Banner = banner
		targets = append(targets, t)
	case s.opts.Targets != nil:
		all, err := s.opts.Targets(ctx, tenantID)
		if err != nil {
			return res, err
		}
		for _, t := range all {
			if a, err := netip.ParseAddr(t.Host); err == nil && a.Unmap() == addr {
				targets = append(targets, t)
			}
		}
	default:
		if targets, err = s.probe(ctx, addr, ts.Ports); err != nil {
			return res, err
		}
	}
	for i := range targets {
		if ts.ServerName != "" {
			targets[i].ServerName = ts.ServerName
		}
	}
	res.Targets = len(targets)
	var found []lifecycle.ScannedFinding
	for _, t := range targets {
		fs, errs := s.check(ctx, t)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		for _, f := range fs {
			found = append(found, lifecycle.ScannedFinding{Finding: f.Finding, Layer: f.Layer})
		}
		res.Errors = append(res.Errors, errs...)
	}
	label := fmt.Sprintf("vigil scan of %s (%d services)", addr, len(targets))
	if web != nil {
		label = "vigil scan of " + targets[0].baseURL()
	}
	sc, err := s.vulns.ImportScanned(ctx, tenantID, Scanner, label, found, true)
	if err != nil {
		return res, err
	}
	res.Findings += sc.Total
	res.Scans = append(res.Scans, sc)
	s.external(ctx, tenantID, targets, &res)
	for _, sc := range res.Scans {
		res.ScanIDs = append(res.ScanIDs, sc.ID)
	}
	return res, nil
}

// probe finds the open services of one address with the discovery connect
// scanner, confined to that address, identifying each service.
func (s *Service) probe(ctx context.Context, addr netip.Addr, ports []uint16) ([]Target, error) {
	if len(ports) == 0 {
		ps, err := discovery.ParsePorts(exposure.DefaultPorts)
		if err != nil {
			return nil, err
		}
		ports = ps
	}
	sc := discovery.NewScope(netip.PrefixFrom(addr, addr.BitLen()))
	scanner, err := discovery.New(discovery.Options{Scope: sc, Timeout: s.opts.Timeout, Fingerprint: true, Logger: s.log})
	if err != nil {
		return nil, err
	}
	ts, err := discovery.ParseTargets(ctx, []string{addr.String()}, discovery.TargetOptions{Scope: sc})
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []Target
	sum, err := scanner.Scan(ctx, ts, ports, func(r discovery.Result) {
		if r.State != discovery.Open {
			return
		}
		t := Target{Host: r.Host.Unmap().String(), Port: int(r.Port)}
		if sv := r.Service; sv != nil {
			t.Service, t.Banner = sv.Name, sv.Banner
			if sv.HTTP != nil {
				t.Banner = strings.TrimSpace(t.Banner + " " + strings.TrimSpace(sv.HTTP.Status+" "+sv.HTTP.Server))
			}
		}
		mu.Lock()
		out = append(out, t)
		mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("vulnerability scan: probing %s: %w", addr, err)
	}
	slices.SortFunc(out, func(a, b Target) int { return a.Port - b.Port })
	if sum.Probed > 0 && sum.Filtered == sum.Probed {
		return nil, fmt.Errorf("vulnerability scan: %s did not answer on any of %d ports (unreachable or filtered)", addr, sum.Probed)
	}
	return out, nil
}
