package exposure

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// RunDiff is what changed between two runs over the same targets and
// ports: hosts and ports that appeared or went silent, and ports whose
// service answered differently.
type RunDiff struct {
	PreviousID string       `json:"previous_id"`
	NewHosts   []string     `json:"new_hosts,omitempty"`
	GoneHosts  []string     `json:"gone_hosts,omitempty"`
	Opened     []Port       `json:"opened,omitempty"`
	Closed     []Port       `json:"closed,omitempty"`
	Changed    []PortChange `json:"changed,omitempty"`
}

// PortChange is one port whose service, product, version, TLS
// certificate, HTTP answer or icon changed.
type PortChange struct {
	Before Port `json:"before"`
	After  Port `json:"after"`
}

// Empty reports whether nothing changed.
func (d RunDiff) Empty() bool {
	return len(d.NewHosts)+len(d.GoneHosts)+len(d.Opened)+len(d.Closed)+len(d.Changed) == 0
}

// portKey identifies a port across runs.
func portKey(p Port) string { return p.Host + "/" + strconv.Itoa(int(p.Port)) }

// Diff compares the open ports of prev and cur, two runs over the same
// targets and ports: a host with open ports in cur but none in prev is
// new, the reverse is gone; single ports opened and closed are listed
// too, and a port open in both whose service answered differently (see
// serviceChanged) is changed. Lists are in host and port order.
func Diff(prev, cur RunResult) RunDiff {
	var d RunDiff
	before := map[string]Port{}
	hostsBefore, hostsAfter := map[string]bool{}, map[string]bool{}
	for _, p := range prev.Open {
		before[portKey(p)] = p
		hostsBefore[p.Host] = true
	}
	after := map[string]bool{}
	for _, p := range cur.Open {
		after[portKey(p)] = true
		hostsAfter[p.Host] = true
		b, ok := before[portKey(p)]
		switch {
		case !ok:
			d.Opened = append(d.Opened, p)
		case serviceChanged(b, p):
			d.Changed = append(d.Changed, PortChange{Before: b, After: p})
		}
	}
	for _, p := range prev.Open {
		if !after[portKey(p)] {
			d.Closed = append(d.Closed, p)
		}
	}
	for h := range hostsAfter {
		if !hostsBefore[h] {
			d.NewHosts = append(d.NewHosts, h)
		}
	}
	for h := range hostsBefore {
		if !hostsAfter[h] {
			d.GoneHosts = append(d.GoneHosts, h)
		}
	}
	byHostPort := func(a, b Port) int {
		if c := compareHosts(a.Host, b.Host); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	}
	slices.SortFunc(d.Opened, byHostPort)
	slices.SortFunc(d.Closed, byHostPort)
	slices.SortFunc(d.Changed, func(a, b PortChange) int { return byHostPort(a.After, b.After) })
	slices.SortFunc(d.NewHosts, compareHosts)
	slices.SortFunc(d.GoneHosts, compareHosts)
	return d
}

// serviceChanged reports whether a port open in two runs answered
// differently: another service name, TLS subject or HTTP status and
// Server header, or another product, version or icon where both runs
// name one (a run that could not tell, or one stored before Vigil kept
// them, is no change).
func serviceChanged(b, a Port) bool {
	differ := func(x, y string) bool { return x != "" && y != "" && x != y }
	switch {
	case b.Service != a.Service || b.TLS != a.TLS || b.HTTP != a.HTTP:
		return true
	case differ(b.Product, a.Product) || differ(b.Version, a.Version):
		return true
	case b.FaviconHash != nil && a.FaviconHash != nil && *b.FaviconHash != *a.FaviconHash:
		return true
	}
	return false
}

// compareHosts orders addresses numerically when both parse, else as text.
func compareHosts(a, b string) int {
	pa, ea := netip.ParseAddr(a)
	pb, eb := netip.ParseAddr(b)
	if ea == nil && eb == nil {
		return pa.Compare(pb)
	}
	return strings.Compare(a, b)
}

// maxDiffLookback bounds the runs read to find the previous comparable one.
const maxDiffLookback = 200

// Changes compares a finished run with the latest earlier finished run of
// the tenant over the same targets and ports. ok is false when there is
// no such run.
func (s *Service) Changes(ctx context.Context, tenantID string, run store.DiscoveryRun, res RunResult) (RunDiff, bool, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return RunDiff{}, false, err
	}
	if run.Status != StatusDone {
		return RunDiff{}, false, nil
	}
	runs, err := s.store.DiscoveryRuns().List(ctx, tenantID, store.Page{Limit: maxDiffLookback})
	if err != nil {
		return RunDiff{}, false, err
	}
	for _, r := range runs {
		if r.ID == run.ID || r.Status != StatusDone || !r.CreatedAt.Before(run.CreatedAt) || r.Targets != run.Targets || r.Ports != run.Ports {
			continue
		}
		_, prev, err := s.Get(ctx, tenantID, r.ID)
		if err != nil {
			return RunDiff{}, false, err
		}
		d := Diff(prev, res)
		d.PreviousID = r.ID
		return d, true, nil // List is newest first
	}
	return RunDiff{}, false, nil
}
