package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Subdomain enumeration bounds.
const (
	// MaxSubdomainWords bounds the wordlist of one enumeration.
	MaxSubdomainWords = 20_000
	// DefaultMaxSubdomains bounds the names one enumeration resolves.
	DefaultMaxSubdomains = 5000
	defaultSubConc       = 16
)

// Subdomain sources.
const (
	SubdomainWordlist    = "wordlist"
	SubdomainCertificate = "certificate"
)

// SubdomainOptions configures EnumerateSubdomains.
type SubdomainOptions struct {
	// Resolver answers the lookups; nil means net.DefaultResolver.
	Resolver Resolver
	// Words are labels to try under the domain ("www", "mail", "vpn").
	Words []string
	// SANs are names seen in certificates (TLS probes); those under the
	// domain are resolved too.
	SANs []string
	// MaxNames bounds the candidate names; 0 means DefaultMaxSubdomains.
	MaxNames int
	// Concurrency bounds lookups in flight; 0 means 16.
	Concurrency int
}

// Subdomain is a name under the domain that resolved.
type Subdomain struct {
	Name   string       `json:"name"`
	Addrs  []netip.Addr `json:"addrs"`
	Source string       `json:"source"` // wordlist or certificate
}

// ErrWordlist is returned for a wordlist over MaxSubdomainWords or with a
// word that cannot be a DNS label sequence.
var ErrWordlist = errors.New("invalid subdomain wordlist")

// EnumerateSubdomains resolves word.domain for every word and every
// certificate name under domain, and returns those that resolved, sorted
// by name. A domain with a wildcard record (a random label resolves) keeps
// only names whose addresses differ from the wildcard's. Lookups that fail
// are skipped; a cancelled context stops the enumeration with its error.
func EnumerateSubdomains(ctx context.Context, domain string, opts SubdomainOptions) ([]Subdomain, error) {
	domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	if !validHostname(domain) || !strings.Contains(domain, ".") {
		return nil, fmt.Errorf("%q is not a domain name", domain)
	}
	if len(opts.Words) > MaxSubdomainWords {
		return nil, fmt.Errorf("%w: %d words, at most %d", ErrWordlist, len(opts.Words), MaxSubdomainWords)
	}
	res := opts.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	limit := opts.MaxNames
	if limit <= 0 {
		limit = DefaultMaxSubdomains
	}
	conc := opts.Concurrency
	if conc <= 0 {
		conc = defaultSubConc
	}
	source := map[string]string{}
	var names []string
	add := func(name, src string) {
		if _, dup := source[name]; dup || len(names) >= limit {
			return
		}
		source[name] = src
		names = append(names, name)
	}
	for _, w := range opts.Words {
		w = strings.Trim(strings.ToLower(strings.TrimSpace(w)), ".")
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		name := w + "." + domain
		if !validHostname(name) {
			return nil, fmt.Errorf("%w: %q does not make a host name", ErrWordlist, w)
		}
		add(name, SubdomainWordlist)
	}
	for _, s := range opts.SANs {
		if n := cleanHostname(s); n != "" && n != domain && strings.HasSuffix(n, "."+domain) {
			add(n, SubdomainCertificate)
		}
	}

	var wildcard []netip.Addr
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	if as, err := res.LookupNetIP(ctx, "ip", "vigil-"+hex.EncodeToString(rnd[:])+"."+domain); err == nil {
		wildcard = normAddrs(as)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var (
		mu  sync.Mutex
		out []Subdomain
		wg  sync.WaitGroup
		sem = make(chan struct{}, conc)
	)
	for _, name := range names {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			as, err := res.LookupNetIP(ctx, "ip", name)
			if err != nil || len(as) == 0 {
				return
			}
			as = normAddrs(as)
			if wildcard != nil && slices.Equal(as, wildcard) {
				return
			}
			mu.Lock()
			out = append(out, Subdomain{Name: name, Addrs: as, Source: source[name]})
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Subdomain) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func normAddrs(as []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		out = append(out, a.Unmap())
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
