package traffic

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// ExporterMap tells which tenant owns the flow records of an exporter:
// the tenant of the longest prefix holding the exporter's address, or the
// fallback tenant when none does (empty: the exporter is unknown). It is
// read-only once built, so a collector may share it between goroutines
// and replace it whole when the mapping changes.
type ExporterMap struct {
	t        bart.Table[string]
	fallback string
	n        int
}

// ParseExporterPrefix reads an exporter address or CIDR as a masked
// prefix; an address is a /32 (or /128).
func ParseExporterPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("exporter %q: not an address or CIDR", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("exporter %q: not an address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// NewExporterMap builds a map from prefix → tenant entries and a fallback
// tenant (may be empty).
func NewExporterMap(entries map[netip.Prefix]string, fallback string) *ExporterMap {
	m := &ExporterMap{fallback: fallback}
	for p, t := range entries {
		m.t.Insert(p.Masked(), t)
		m.n++
	}
	return m
}

// Tenant returns the tenant that owns exporter's records, and false for
// an unknown exporter.
func (m *ExporterMap) Tenant(exporter netip.Addr) (string, bool) {
	if m == nil {
		return "", false
	}
	if t, ok := m.t.Lookup(exporter.Unmap()); ok {
		return t, true
	}
	return m.fallback, m.fallback != ""
}

// Len is the number of mapped prefixes (the fallback not counted).
func (m *ExporterMap) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}
