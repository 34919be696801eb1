package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
)

// dnsResolver is the system resolver, or one that asks only server
// (host:port) when it is set.
func dnsResolver(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

// readWordlist reads one label per line, bounded.
func readWordlist(path string) ([]string, error) {
	f, err := os.Open(path) // #nosec G304 -- the operator names the wordlist
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var words []string
	sc := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			if len(words) == discovery.MaxSubdomainWords {
				return nil, fmt.Errorf("%s: %w: more than %d words", path, discovery.ErrWordlist, discovery.MaxSubdomainWords)
			}
			words = append(words, w)
		}
	}
	return words, sc.Err()
}

// domainArgs are the targets that are names with a dot, not addresses,
// prefixes or ranges.
func domainArgs(args []string) []string {
	var out []string
	for _, a := range args {
		for _, s := range strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == ' ' }) {
			if _, err := netip.ParseAddr(s); err == nil || strings.ContainsAny(s, "/-:") || !strings.Contains(s, ".") {
				continue
			}
			out = append(out, strings.ToLower(strings.TrimSuffix(s, ".")))
		}
	}
	return out
}

// expandSubdomains enumerates subdomains of each domain and returns the
// addresses to scan: inside scope and not in skip. Found names and
// addresses left out are reported on w.
func expandSubdomains(ctx context.Context, w io.Writer, domains []string, opts discovery.SubdomainOptions, scope discovery.Scope, skip map[netip.Addr]bool) ([]string, error) {
	var out []string
	seen := map[netip.Addr]bool{}
	for _, d := range domains {
		subs, err := discovery.EnumerateSubdomains(ctx, d, opts)
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			var in, outside []string
			for _, a := range s.Addrs {
				switch {
				case !scope.ContainsAddr(a):
					outside = append(outside, a.String())
				case !skip[a] && !seen[a]:
					seen[a] = true
					in = append(in, a.String())
					out = append(out, a.String())
				}
			}
			fmt.Fprintf(w, "discover: subdomain %s (%s): %s", s.Name, s.Source, strings.Join(in, " "))
			if len(outside) > 0 {
				fmt.Fprintf(w, " [outside scope, not scanned: %s]", strings.Join(outside, " "))
			}
			fmt.Fprintln(w)
		}
	}
	return out, nil
}
