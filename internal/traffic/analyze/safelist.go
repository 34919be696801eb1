package analyze

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

//go:embed safelist.txt
var defaultSafelist string

// Safelist holds destinations never reported: domains (with their
// subdomains) and address prefixes.
type Safelist struct {
	domains map[string]bool
	nets    bart.Lite
}

// DefaultSafelist returns the embedded safelist (CDNs, OS update
// services, NTP, certificate status and connectivity checks).
func DefaultSafelist() (*Safelist, error) {
	return ParseSafelist(strings.NewReader(defaultSafelist))
}

// Safelist limits.
const (
	maxSafelistLine    = 1024
	maxSafelistEntries = 1_000_000
)

// ParseSafelist reads a safelist: one domain or CIDR per line, '#'
// comments and blank lines ignored.
func ParseSafelist(r io.Reader) (*Safelist, error) {
	s := &Safelist{domains: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSafelistLine)
	n := 0
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = strings.TrimSpace(t[:i])
		}
		if t == "" {
			continue
		}
		if n++; n > maxSafelistEntries {
			return nil, fmt.Errorf("safelist line %d: more than %d entries", line, maxSafelistEntries)
		}
		if strings.Contains(t, "/") {
			p, err := netip.ParsePrefix(t)
			if err != nil {
				return nil, fmt.Errorf("safelist line %d: %w", line, err)
			}
			s.nets.Insert(p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(t); err == nil {
			s.nets.Insert(netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		d := strings.TrimSuffix(strings.ToLower(t), ".")
		if strings.ContainsAny(d, " \t/:") {
			return nil, fmt.Errorf("safelist line %d: %q is neither a domain nor a CIDR", line, t)
		}
		s.domains[d] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("safelist: %w", err)
	}
	return s, nil
}

// Domain reports whether name or one of its parent domains is safelisted.
func (s *Safelist) Domain(name string) bool {
	if s == nil || name == "" {
		return false
	}
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	for {
		if s.domains[name] {
			return true
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[i+1:]
	}
}

// Dst reports whether a destination (address and/or name) is safelisted.
func (s *Safelist) Dst(a netip.Addr, name string) bool {
	if s == nil {
		return false
	}
	if a.IsValid() && s.nets.Contains(a.Unmap()) {
		return true
	}
	return s.Domain(name)
}

// ParseSafelistWithDefault reads a safelist and adds the embedded default
// to it.
func ParseSafelistWithDefault(r io.Reader) (*Safelist, error) {
	s, err := ParseSafelist(io.MultiReader(r, strings.NewReader("\n"+defaultSafelist)))
	if err != nil {
		return nil, err
	}
	return s, nil
}
