package analyze

import (
	_ "embed"
	"strings"
)

//go:embed policy.example.yaml
var examplePolicy string

// ExamplePolicy is the shipped example policy (no plaintext protocols to
// the internet, no direct database access from office subnets, no mining
// pool ports), for a tenant to copy and adapt.
func ExamplePolicy() string { return examplePolicy }

// DefaultSafelistText is the shipped safelist as text.
func DefaultSafelistText() string { return defaultSafelist }

// NoSafelist is a safelist that keeps everything: an analysis whose
// findings are safelisted later, when they are read (see Safelisted),
// runs with it.
func NoSafelist() *Safelist { return &Safelist{domains: map[string]bool{}} }

// TenantSafelist reads a tenant's safelist and, when withDefault, adds the
// shipped one.
func TenantSafelist(text string, withDefault bool) (*Safelist, error) {
	if withDefault {
		return ParseSafelistWithDefault(strings.NewReader(text))
	}
	return ParseSafelist(strings.NewReader(text))
}

// Safelisted reports whether s removes a finding, as the analyses do when
// they produce it: the destination (address or name) of a beacon, long
// connection or rare destination, the registered domain of a DNS tunnel,
// every example domain of a DGA finding. Other classes are never
// safelisted: a scan, a policy violation or an intelligence match to a
// CDN is still reported.
func (s *Safelist) Safelisted(f Finding) bool {
	if s == nil {
		return false
	}
	switch f.Class {
	case ClassBeacon, ClassLongConnection, ClassRareDestination:
		return s.Dst(f.Dst, f.Domain)
	case ClassDNSTunnel:
		return s.Domain(f.Domain)
	case ClassDGA:
		if f.Domain == "" {
			return false
		}
		for _, d := range strings.Split(f.Domain, ",") {
			if !s.Domain(d) {
				return false
			}
		}
		return true
	}
	return false
}
