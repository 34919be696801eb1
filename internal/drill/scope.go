package drill

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// Scope is what the attacking teams may touch. A target is in scope when at
// least one of its identifiers is listed here, every identifier it gives is
// in scope for its kind (when that kind has a list), and none is excluded.
// Hosts are names compared without case and trailing dot; "*.corp.example"
// covers every name below corp.example.
type Scope struct {
	CIDRs           []string `json:"cidrs,omitempty" yaml:"cidrs,omitempty"`
	Hosts           []string `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	AssetIDs        []string `json:"asset_ids,omitempty" yaml:"asset_ids,omitempty"`
	ExcludeCIDRs    []string `json:"exclude_cidrs,omitempty" yaml:"exclude_cidrs,omitempty"`
	ExcludeHosts    []string `json:"exclude_hosts,omitempty" yaml:"exclude_hosts,omitempty"`
	ExcludeAssetIDs []string `json:"exclude_asset_ids,omitempty" yaml:"exclude_asset_ids,omitempty"`
}

// Target is what an attack action is aimed at: an asset id, a host name
// and/or an address (an IP, or a prefix for a sweep).
type Target struct {
	AssetID string `json:"asset_id,omitempty" yaml:"asset_id,omitempty"`
	Host    string `json:"host,omitempty" yaml:"host,omitempty"`
	Address string `json:"address,omitempty" yaml:"address,omitempty"`
}

// String names the target for messages and reports.
func (t Target) String() string {
	var parts []string
	for _, s := range []string{t.Host, t.Address, t.AssetID} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "(no target)"
	}
	return strings.Join(parts, " / ")
}

// hostSet matches host names exactly or by "*." suffix.
type hostSet struct {
	exact    map[string]bool
	suffixes []string // ".corp.example"
}

func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".") }

func newHostSet(field string, hosts []string) (hostSet, error) {
	hs := hostSet{exact: map[string]bool{}}
	for i, h := range hosts {
		if err := checkText(fmt.Sprintf("%s[%d]", field, i), h, 253, true); err != nil {
			return hs, err
		}
		n := normHost(h)
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if rest == "" || strings.Contains(rest, "*") {
				return hs, invalid(fmt.Sprintf("%s[%d]", field, i), "bad wildcard %q (use *.domain)", h)
			}
			hs.suffixes = append(hs.suffixes, "."+rest)
			continue
		}
		if strings.Contains(n, "*") {
			return hs, invalid(fmt.Sprintf("%s[%d]", field, i), "bad wildcard %q (use *.domain)", h)
		}
		hs.exact[n] = true
	}
	return hs, nil
}

func (hs hostSet) empty() bool { return len(hs.exact) == 0 && len(hs.suffixes) == 0 }

func (hs hostSet) has(h string) bool {
	n := normHost(h)
	if hs.exact[n] {
		return true
	}
	for _, s := range hs.suffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// Guard answers whether a target is in a drill's scope. It is built once
// from a Scope and is safe for concurrent use.
type Guard struct {
	in, out           *bart.Table[struct{}]
	hosts, exHosts    hostSet
	assets, exAssets  map[string]bool
	hasCIDR, hasAsset bool
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func prefixTable(field string, list []string) (*bart.Table[struct{}], error) {
	t := &bart.Table[struct{}]{}
	for i, s := range list {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not an address or CIDR", s)
		}
		if p.Addr().Zone() != "" {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%q has a zone", s)
		}
		t.Insert(p, struct{}{})
	}
	return t, nil
}

func idSet(field string, list []string) (map[string]bool, error) {
	m := make(map[string]bool, len(list))
	for i, s := range list {
		if err := checkText(fmt.Sprintf("%s[%d]", field, i), s, MaxName, true); err != nil {
			return nil, err
		}
		m[s] = true
	}
	return m, nil
}

// NewGuard builds the guard of a scope. A scope with nothing in it is
// refused: a drill must say what may be attacked.
func NewGuard(s Scope) (*Guard, error) {
	for name, l := range map[string][]string{"cidrs": s.CIDRs, "hosts": s.Hosts, "asset_ids": s.AssetIDs,
		"exclude_cidrs": s.ExcludeCIDRs, "exclude_hosts": s.ExcludeHosts, "exclude_asset_ids": s.ExcludeAssetIDs} {
		if len(l) > MaxScopeItems {
			return nil, invalid("scope."+name, "%d entries, more than %d", len(l), MaxScopeItems)
		}
	}
	if len(s.CIDRs)+len(s.Hosts)+len(s.AssetIDs) == 0 {
		return nil, invalid("scope", "nothing is in scope (give cidrs, hosts or asset_ids)")
	}
	g := &Guard{hasCIDR: len(s.CIDRs) > 0, hasAsset: len(s.AssetIDs) > 0}
	var err error
	if g.in, err = prefixTable("scope.cidrs", s.CIDRs); err != nil {
		return nil, err
	}
	if g.out, err = prefixTable("scope.exclude_cidrs", s.ExcludeCIDRs); err != nil {
		return nil, err
	}
	if g.hosts, err = newHostSet("scope.hosts", s.Hosts); err != nil {
		return nil, err
	}
	if g.exHosts, err = newHostSet("scope.exclude_hosts", s.ExcludeHosts); err != nil {
		return nil, err
	}
	if g.assets, err = idSet("scope.asset_ids", s.AssetIDs); err != nil {
		return nil, err
	}
	if g.exAssets, err = idSet("scope.exclude_asset_ids", s.ExcludeAssetIDs); err != nil {
		return nil, err
	}
	return g, nil
}

// refuse returns the error of an out-of-scope target.
func refuse(t Target, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrOutOfScope, t, fmt.Sprintf(format, args...))
}

// Check returns nil when target is in scope, otherwise an error wrapping
// ErrOutOfScope that says why.
func (g *Guard) Check(t Target) error {
	if t.AssetID == "" && t.Host == "" && t.Address == "" {
		return refuse(t, "a target needs an asset id, a host or an address")
	}
	matched := false
	if t.AssetID != "" {
		if g.exAssets[t.AssetID] {
			return refuse(t, "asset %q is excluded from the drill", t.AssetID)
		}
		switch {
		case g.assets[t.AssetID]:
			matched = true
		case g.hasAsset:
			return refuse(t, "asset %q is not in scope", t.AssetID)
		}
	}
	if t.Host != "" {
		if g.exHosts.has(t.Host) {
			return refuse(t, "host %q is excluded from the drill", t.Host)
		}
		switch {
		case g.hosts.has(t.Host):
			matched = true
		case !g.hosts.empty():
			return refuse(t, "host %q is not in scope", t.Host)
		}
	}
	if t.Address != "" {
		p, err := parsePrefix(t.Address)
		if err != nil {
			return refuse(t, "%q is not an address or CIDR", t.Address)
		}
		if g.out.OverlapsPrefix(p) {
			return refuse(t, "%s touches an excluded range", p)
		}
		_, covered := g.in.LookupPrefix(p)
		switch {
		case covered:
			matched = true
		case g.hasCIDR:
			return refuse(t, "%s is not inside an in-scope range", p)
		}
	}
	if !matched {
		return refuse(t, "nothing about the target is listed in the scope")
	}
	return nil
}
