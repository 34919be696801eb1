package exposure

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/store"
)

// Subdomain enumeration in server runs. A run may look for names under
// the tenant's declared domains (its "domain" assets): word.domain for
// every word of a wordlist, and the names under the domains that the
// certificates of the run's TLS services carry. A name that resolves into
// the tenant's declared address space is scanned (when the run's targets
// did not already cover it) and its names are kept on the host's asset; an
// address outside the declared space is recorded with the name and never
// scanned.

// Bounds of a run's subdomain enumeration.
const (
	// MaxRunWords bounds the wordlist of one run.
	MaxRunWords = 5000
	// MaxRunDomains bounds the domains one run enumerates.
	MaxRunDomains = 50
	maxHostnames  = 16
)

// defaultWords is the built-in wordlist of scheduled runs: common host
// labels, one a line.
//
//go:embed subdomains.txt
var defaultWords string

// DefaultSubdomainWords returns the built-in wordlist.
func DefaultSubdomainWords() []string {
	var out []string
	for _, l := range strings.Split(defaultWords, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Subdomains asks a run to enumerate subdomains.
type Subdomains struct {
	// Domains are declared domains of the tenant (or names under one);
	// empty means all of them when Words or Certificates is set.
	Domains []string `json:"domains,omitempty"`
	// Words are labels to try under every domain.
	Words []string `json:"words,omitempty"`
	// Certificates resolves the names under the domains that the run's
	// TLS certificates carry, and scans the new addresses in scope.
	Certificates bool `json:"certificates,omitempty"`
}

// Enabled reports whether anything is asked.
func (sd Subdomains) Enabled() bool { return len(sd.Words) > 0 || sd.Certificates }

// SubdomainFound is a name the run resolved.
type SubdomainFound struct {
	Name   string `json:"name"`
	Source string `json:"source"` // wordlist or certificate
	// Addrs are the addresses inside the tenant's declared space (scanned);
	// OutOfScope those outside it (recorded, not scanned).
	Addrs      []string `json:"addrs,omitempty"`
	OutOfScope []string `json:"out_of_scope,omitempty"`
}

// ParseWordlist reads a wordlist as typed in a form or an API body: one
// label (or dotted labels) a line or separated by spaces or commas; lines
// starting with # are comments.
func ParseWordlist(s string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, splitSpecs(line)...)
	}
	if len(out) > MaxRunWords {
		return nil, invalid("subdomain_words", store.CodeTooMany, map[string]any{"max": MaxRunWords}, "at most %d words", MaxRunWords)
	}
	return out, nil
}

// declaredDomains returns the tenant's domain assets, lower case, without
// a trailing dot.
func (s *Service) declaredDomains(ctx context.Context, tenantID string) ([]string, error) {
	var out []string
	for off := 0; ; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Kind: "domain", Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a.Address)), "."); d != "" {
				out = append(out, d)
			}
		}
		if len(as) < store.MaxPageSize {
			break
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// checkSubdomains validates sd against the tenant's declared domains and
// fills in Domains; a domain the tenant did not declare is refused.
func (s *Service) checkSubdomains(ctx context.Context, tenantID string, sd Subdomains) (Subdomains, error) {
	if !sd.Enabled() {
		if len(sd.Domains) > 0 {
			return sd, invalid("subdomain_words", store.CodeRequired, nil, "give a wordlist or use certificate names to enumerate subdomains")
		}
		return Subdomains{}, nil
	}
	if len(sd.Words) > MaxRunWords {
		return sd, invalid("subdomain_words", store.CodeTooMany, map[string]any{"max": MaxRunWords}, "at most %d words", MaxRunWords)
	}
	if len(sd.Domains) > MaxRunDomains {
		return sd, invalid("subdomain_domains", store.CodeTooMany, map[string]any{"max": MaxRunDomains}, "at most %d domains", MaxRunDomains)
	}
	declared, err := s.declaredDomains(ctx, tenantID)
	if err != nil {
		return sd, err
	}
	if len(sd.Domains) == 0 {
		if len(declared) == 0 {
			return sd, invalid("subdomain_domains", store.CodeRequired, nil,
				"declare the organisation's domains first: add them as assets of kind domain")
		}
		sd.Domains = declared
		if len(sd.Domains) > MaxRunDomains {
			sd.Domains = sd.Domains[:MaxRunDomains]
		}
	}
	for i, d := range sd.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if !slices.ContainsFunc(declared, func(x string) bool { return d == x || strings.HasSuffix(d, "."+x) }) {
			return sd, invalid("subdomain_domains", store.CodeNotInTenant, map[string]any{"reason": d},
				"%q is not one of the organisation's declared domains", d)
		}
		sd.Domains[i] = d
	}
	// The words are checked as the engine will use them.
	if _, err := discovery.EnumerateSubdomains(ctx, sd.Domains[0], discovery.SubdomainOptions{Words: sd.Words, MaxNames: 1,
		Resolver: noResolver{}}); err != nil {
		return sd, invalid("subdomain_words", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	return sd, nil
}

// noResolver answers nothing: used to check a wordlist without lookups.
type noResolver struct{}

func (noResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, fmt.Errorf("no lookups while checking")
}

func encodeOptions(sd Subdomains, hostDiscovery bool) (string, error) {
	o := runOptions{HostDiscovery: hostDiscovery}
	if sd.Enabled() {
		o.Subdomains = &sd
	}
	if o == (runOptions{}) {
		return "", nil
	}
	b, err := json.Marshal(o)
	return string(b), err
}

// runOptions is the JSON of store.DiscoveryRun.Options.
type runOptions struct {
	Subdomains *Subdomains `json:"subdomains,omitempty"`
	// HostDiscovery: see Input.HostDiscovery.
	HostDiscovery bool `json:"host_discovery,omitempty"`
}

func (o runOptions) subdomains() Subdomains {
	if o.Subdomains == nil {
		return Subdomains{}
	}
	return *o.Subdomains
}

// RunHostDiscovery reports whether a run asked for host discovery.
func RunHostDiscovery(r store.DiscoveryRun) bool {
	o, err := decodeRunOptions(r.Options)
	return err == nil && o.HostDiscovery
}

func decodeRunOptions(s string) (runOptions, error) {
	var o runOptions
	if s == "" {
		return o, nil
	}
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return runOptions{}, fmt.Errorf("run options: %w", err)
	}
	return o, nil
}

// RunSubdomains returns the subdomain enumeration a run was asked for.
func RunSubdomains(r store.DiscoveryRun) (Subdomains, error) { return decodeOptions(r.Options) }

func decodeOptions(s string) (Subdomains, error) {
	o, err := decodeRunOptions(s)
	return o.subdomains(), err
}

// enumerate resolves the names sd asks for (words, or sans when given),
// records them in res, and returns the in-scope addresses not in skip,
// with the names of every in-scope address added to names.
func (s *Service) enumerate(ctx context.Context, p prepared, sd Subdomains, sans []string, skip func(netip.Addr) bool,
	names map[string][]string, res *RunResult) ([]string, error) {
	opts := discovery.SubdomainOptions{Resolver: s.resolver, Words: sd.Words}
	if sans != nil {
		opts = discovery.SubdomainOptions{Resolver: s.resolver, SANs: sans}
	}
	var extra []string
	seen := map[netip.Addr]bool{}
	for _, d := range sd.Domains {
		subs, err := discovery.EnumerateSubdomains(ctx, d, opts)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			if slices.ContainsFunc(res.Subdomains, func(f SubdomainFound) bool { return f.Name == sub.Name }) {
				continue
			}
			f := SubdomainFound{Name: sub.Name, Source: sub.Source}
			for _, a := range sub.Addrs {
				if !p.scope.ContainsAddr(a) {
					f.OutOfScope = append(f.OutOfScope, a.String())
					continue
				}
				f.Addrs = append(f.Addrs, a.String())
				if n := names[a.String()]; len(n) < maxHostnames && !slices.Contains(n, sub.Name) {
					names[a.String()] = append(n, sub.Name)
				}
				if !skip(a) && !seen[a] {
					seen[a] = true
					extra = append(extra, a.String())
				}
			}
			res.Subdomains = append(res.Subdomains, f)
		}
	}
	slices.SortFunc(res.Subdomains, func(a, b SubdomainFound) int { return strings.Compare(a.Name, b.Name) })
	return extra, nil
}
